/* tests/unit/test_sgemm.c — the runtime's own SGEMM (sgemm.c): afk_sgemm_w against a double
 * reference for every transpose, alpha/beta, GEMV rows, edge tiles and several k and n blocks,
 * on each kernel the CPU has (AVX-512, AVX2 forced, portable); the threaded driver through the
 * MATMUL and GEMM ops at 1, 2 and 3 threads, byte-identical.
 *
 * Tolerance 1e-4 relative, |got-ref|/(1+|ref|): sums of at most 600 products of values in
 * [-1, 1) in float with FMA; the rounding error of such a sum is ~sqrt(K)·eps·|terms| ≈ 1e-5 at
 * most, while a wrong index, panel edge or missed k block changes values by O(0.1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/dtype.h"
#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

#define TOL 1e-4

/* P = op(A) @ op(B) in double. */
static void naive_p(int ta, int tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                    const float *B, int64_t ldb, double *P)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                     (tb ? B[j * ldb + k] : B[k * ldb + j]);
            P[i * N + j] = s;
        }
}

/* C = alpha P + beta C0 (beta 0: C0 ignored) */
static void naive_c(int64_t n, float alpha, const double *P, float beta, const float *C0,
                    float *C)
{
    for (int64_t i = 0; i < n; i++)
        C[i] = (float)(alpha * P[i] + (beta == 0.0f ? 0.0 : beta * C0[i]));
}

static void naive(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, const float *C0,
                  float *C)
{
    double *P = malloc(sizeof(double) * (size_t)(M * N > 0 ? M * N : 1));
    naive_p(ta, tb, M, N, K, A, lda, B, ldb, P);
    naive_c(M * N, alpha, P, beta, C0, C);
    free(P);
}

static double max_err(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (!(e <= m)) m = e; /* NaN counts as the worst */
    }
    return m;
}

/* The kernels of test_shapes: 0 the best, 1 AVX2 forced (AArch64: NEON again, skipped),
 * 2 portable. */
static void set_mode(int mode)
{
    afk_pgemm_force = mode == 1 ? 1 : -1;
    afk_vec_force_portable = mode == 2;
}

/* One shape, every transpose and three betas on each kernel; leading dimensions wider than
 * the rows; the double reference once per transpose. */
static void one_shape(int64_t M, int64_t N, int64_t K, float *work)
{
    static const char *const names[3] = {"best", "avx2", "portable"};
    const int64_t pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad;
            float *A = frand_buf((ta ? K : M) * lda), *B = frand_buf((tb ? N : K) * ldb);
            float *C0 = frand_buf(M * N), *C = malloc(sizeof(float) * (size_t)(M * N));
            float *ref = malloc(sizeof(float) * (size_t)(M * N));
            double *P = malloc(sizeof(double) * (size_t)(M * N));
            naive_p(ta, tb, M, N, K, A, lda, B, ldb, P);
            const float betas[3] = {0.0f, 1.0f, 0.3f};
            const char *isa0 = NULL;
            for (int mode = 0; mode < 3; mode++) {
                set_mode(mode);
                if (mode == 0) isa0 = afk_pgemm_isa();
                if (mode == 1 && !strcmp(isa0, afk_pgemm_isa())) continue; /* the same kernel */
                for (int bi = 0; bi < 3; bi++) {
                    memcpy(C, C0, sizeof(float) * (size_t)(M * N));
                    if (betas[bi] == 0.0f)
                        for (int64_t i = 0; i < M * N; i++) C[i] = NAN; /* must be ignored */
                    naive_c(M * N, 0.7f, P, betas[bi], C0, ref);
                    afk_sgemm_w(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, betas[bi], C, N, work);
                    double e = max_err(C, ref, M * N);
                    CHECK(e < TOL, "%s M=%lld N=%lld K=%lld ta=%d tb=%d beta=%g: err %g",
                          names[mode], (long long)M, (long long)N, (long long)K, ta, tb,
                          betas[bi], e);
                }
            }
            set_mode(0);
            free(A), free(B), free(C0), free(C), free(ref), free(P);
        }
}

static void test_shapes(void)
{
    /* the last: 3 row blocks of MC = 168, 2 column blocks of NC = 512, 2 k blocks
     * (sgemm.c); with AF_TEST_SMALL 2 of each (the same paths, 40 % of the products) */
    static const int64_t shapes[][3] = {
        {1, 1, 1},   {1, 1000, 512}, {1, 77, 301}, {2, 5, 3},     {14, 32, 256},
        {15, 33, 257}, {37, 53, 301}, {29, 600, 40}, {6, 1100, 7}, {100, 1, 20},
        {43, 64, 513}, {200, 70, 300}, {340, 600, 300},
    };
    const size_t n = sizeof shapes / sizeof shapes[0];
    float *work = aligned_alloc(64, afk_sgemm_work_floats() * sizeof(float));
    for (size_t s = 0; s < n; s++) {
        if (s == n - 1 && test_small()) one_shape(170, 520, 260, work);
        else one_shape(shapes[s][0], shapes[s][1], shapes[s][2], work);
    }
    /* K = 0: C = beta C; alpha = 0 likewise */
    float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {0}, B[1] = {0};
    afk_sgemm_w(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3, work);
    CHECK(C[0] == 0.5f && C[5] == 3.0f, "K=0 scales C by beta");
    free(work);
}

/* Runs op at `threads` with per-thread scratch as a session gives it, B pre-packed when
 * `packed` (as a session does for a constant B). */
static void run_packed(af_op op, const af_params *p, af_tview *in, int n_in, af_tview *out,
                       int threads, int packed)
{
    af_err err = {0};
    size_t one = af_kernel_scratch_bytes(op, p, in, n_in, out, 1);
    size_t slice = (one + 63) / 64 * 64;
    void *scratch = slice ? aligned_alloc(64, slice * (size_t)threads) : NULL;
    size_t pb = packed ? af_kernel_prepack_bytes(op, p, in, n_in, out, 1) : 0;
    void *pk = pb ? aligned_alloc(64, (pb + 63) / 64 * 64) : NULL;
    if (pk) af_kernel_prepack(op, p, in, n_in, out, 1, pk);
    CHECK(!packed || pb || !afk_pgemm_nr(), "%s: a 2-D constant B is pre-packed", af_op_name(op));
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = slice * (size_t)threads,
                   .n_threads = threads, .packed = pk};
    afk_pool_create(threads, &ctx.pool, &err);
    af_status st = af_kernel_run(op, p, in, n_in, out, 1, &ctx, &err);
    CHECK(st == AF_OK, "%s at %d threads: %s", af_op_name(op), threads, err.msg);
    afk_pool_free(ctx.pool);
    free(scratch);
    free(pk);
}

static void run_threads(af_op op, const af_params *p, af_tview *in, int n_in, af_tview *out,
                        int threads)
{
    run_packed(op, p, in, n_in, out, threads, 0);
}

/* Batched MATMUL with a broadcast batch dim (A (2,3,M,K) @ B (3,K,N)) and a tall GEMM with
 * transposed B: 1, 2 and 3 threads give the same bytes, and match the reference. */
static void test_threads(void)
{
    const int64_t M = 50, K = 70, N = 90;
    float *A = frand_buf(6 * M * K), *B = frand_buf(3 * K * N);
    float *Y[3], *ref = malloc(sizeof(float) * (size_t)(6 * M * N));
    for (int b = 0; b < 6; b++)
        naive(0, 0, M, N, K, 1.0f, A + b * M * K, K, B + (b % 3) * K * N, N, 0.0f, NULL,
              ref + b * M * N);
    af_params p;
    memset(&p, 0, sizeof p);
    for (int t = 0; t < 3; t++) {
        Y[t] = malloc(sizeof(float) * (size_t)(6 * M * N));
        af_tview in[2] = {TV(AF_DTYPE_F32, A, 2, 3, M, K), TV(AF_DTYPE_F32, B, 3, K, N)};
        af_tview out = TV(AF_DTYPE_F32, Y[t], 2, 3, M, N);
        run_threads(AF_OP_MATMUL, &p, in, 2, &out, t + 1);
    }
    CHECK(max_err(Y[0], ref, 6 * M * N) < TOL, "batched matmul vs reference");
    CHECK(!memcmp(Y[0], Y[1], sizeof(float) * (size_t)(6 * M * N)) &&
              !memcmp(Y[0], Y[2], sizeof(float) * (size_t)(6 * M * N)),
          "batched matmul: 1, 2 and 3 threads differ");
    /* Gemm (600,K) @ (N,K)^T: tiles over both M and N */
    const int64_t TM = 600;
    float *X = frand_buf(TM * K), *W = frand_buf(N * K), *G[2];
    float *gref = malloc(sizeof(float) * (size_t)(TM * N));
    naive(0, 1, TM, N, K, 1.0f, X, K, W, K, 0.0f, NULL, gref);
    p.gemm.alpha = 1.0f;
    p.gemm.trans_b = 1;
    for (int t = 0; t < 2; t++) {
        G[t] = malloc(sizeof(float) * (size_t)(TM * N));
        af_tview in[2] = {TV(AF_DTYPE_F32, X, TM, K), TV(AF_DTYPE_F32, W, N, K)};
        af_tview out = TV(AF_DTYPE_F32, G[t], TM, N);
        run_threads(AF_OP_GEMM, &p, in, 2, &out, t + 1);
    }
    CHECK(max_err(G[0], gref, TM * N) < TOL, "gemm transB vs reference");
    CHECK(!memcmp(G[0], G[1], sizeof(float) * (size_t)(TM * N)), "gemm: 1 and 2 threads differ");
    /* B pre-packed (Gemm transB, and a MatMul (TM,K) @ (K,N)): the same bytes at 1 and 2
     * threads as packing on the fly */
    for (int t = 1; t <= 2; t++) {
        af_tview in[2] = {TV(AF_DTYPE_F32, X, TM, K), TV(AF_DTYPE_F32, W, N, K)};
        af_tview out = TV(AF_DTYPE_F32, G[1], TM, N);
        run_packed(AF_OP_GEMM, &p, in, 2, &out, t, 1);
        CHECK(!memcmp(G[0], G[1], sizeof(float) * (size_t)(TM * N)), "gemm packed B, %d threads", t);
    }
    memset(&p, 0, sizeof p);
    for (int t = 0; t < 3; t++) {
        af_tview in[2] = {TV(AF_DTYPE_F32, X, TM, K), TV(AF_DTYPE_F32, B, K, N)};
        af_tview out = TV(AF_DTYPE_F32, t ? G[1] : G[0], TM, N);
        run_packed(AF_OP_MATMUL, &p, in, 2, &out, t ? t : 1, t > 0);
        if (t) CHECK(!memcmp(G[0], G[1], sizeof(float) * (size_t)(TM * N)),
                     "matmul packed B, %d threads", t);
    }
    for (int t = 0; t < 3; t++) free(Y[t]);
    free(G[0]), free(G[1]), free(A), free(B), free(ref), free(X), free(W), free(gref);
}

/* A weight stored in halves, packed as halves (the runtime hands it over as an F16 view and
 * then gives the kernel no B data at all): the same bytes as f32 packing of the widened
 * halves, at 1 and 2 threads, Gemm transB and MatMul. */
static void test_half_panels(void)
{
    const int64_t M = 300, K = 333, N = 70;
    float *X = frand_buf(M * K), *W = frand_buf(K * N), *Y0 = malloc(sizeof(float) * M * N);
    float *Y1 = malloc(sizeof(float) * M * N);
    uint16_t *H = malloc(sizeof(uint16_t) * K * N);
    for (int64_t i = 0; i < K * N; i++) W[i] = af_f16_to_f32(H[i] = af_f32_to_f16(W[i]));
    for (int op = 0; op < 2; op++) {
        af_params p;
        memset(&p, 0, sizeof p);
        af_op o = op ? AF_OP_GEMM : AF_OP_MATMUL;
        if (op) p.gemm.alpha = 1.0f, p.gemm.trans_b = 1; /* W read as (N,K) */
        int64_t d0 = op ? N : K, d1 = op ? K : N;
        af_tview in[2] = {TV(AF_DTYPE_F32, X, M, K), TV(AF_DTYPE_F32, W, d0, d1)};
        af_tview out = TV(AF_DTYPE_F32, Y0, M, N);
        run_packed(o, &p, in, 2, &out, 1, 0);
        for (int t = 1; t <= 2; t++) {
            af_err err = {0};
            af_tview hin[2] = {in[0], TV(AF_DTYPE_F16, H, d0, d1)};
            size_t pb = af_kernel_prepack_bytes(o, &p, hin, 2, &out, 1);
            CHECK(!afk_pgemm_nr() || (pb && pb < K * N * sizeof(float)),
                  "%s: halves packed in fewer bytes than floats", af_op_name(o));
            if (!pb) continue;
            void *pk = aligned_alloc(64, (pb + 63) / 64 * 64), *sc;
            af_kernel_prepack(o, &p, hin, 2, &out, 1, pk);
            in[1].data = NULL; /* the weight exists only packed */
            size_t one = (af_kernel_scratch_bytes(o, &p, in, 2, &out, 1) + 63) / 64 * 64;
            sc = aligned_alloc(64, one * (size_t)t);
            af_kctx ctx = {.scratch = sc, .scratch_bytes = one * (size_t)t, .n_threads = t,
                           .packed = pk};
            afk_pool_create(t, &ctx.pool, &err);
            af_tview o1 = TV(AF_DTYPE_F32, Y1, M, N);
            CHECK(af_kernel_run(o, &p, in, 2, &o1, 1, &ctx, &err) == AF_OK, "%s", err.msg);
            CHECK(!memcmp(Y0, Y1, sizeof(float) * (size_t)(M * N)), "%s half panels, %d threads",
                  af_op_name(o), t);
            afk_pool_free(ctx.pool);
            free(pk), free(sc);
            in[1].data = W;
        }
    }
    free(X), free(W), free(Y0), free(Y1), free(H);
}

int main(void)
{
    test_half_panels();
    test_shapes();
    test_threads();
    return check_report("test_sgemm");
}
