/* tests/unit/test_attention.c — the ATTENTION kernel against a double-precision reference:
 * SD head sizes (40/64/80/160), dv ≠ d, cross-attention's Tk = 77, Tk and Tq off the kernel's
 * blocks, Tq = 1, k stored transposed, 0..3 batch dims, heads side by side in the last axis
 * (params heads), Tk = 0; threads 1/2/3 byte-identical;
 * the best packed GEMM, AVX2 forced, and the portable path (afk_vec_force_portable). On
 * AArch64 the first is the fused kernel on NEON (the 12x8 GEMM, attention_neon.c's softmax).
 * With AF_TEST_SMALL (tests run under an emulator) at most 130 queries and 1100 keys per case:
 * still two query blocks and five key blocks where the case has them.
 *
 * Error bound (checked per output, scaled by max|v|). Write u = 2^-24 and, for the case,
 * S = max over (query, key) of scale·Σ_i |q_i k_i|. In f32:
 *  - a score (scale·q, then a d-term FMA chain) is off by at most E_s = (d + 2)·u·S;
 *  - each weight p_j = e^(s_j − m) is then off by a relative δ_j ≤ E_s + ε_exp + u, with
 *    ε_exp = 5e-7 for the vector exponential (its polynomial is ~2e-7, the same on AVX2 and
 *    NEON: test_neon.c measures 2.0e-7 and checks 3e-7; expf is ~1 ulp) and u
 *    for rounding the argument (a shift of m is common to all weights and cancels);
 *  - out = Σ p_j v_j / Σ p_j: perturbing every weight by ≤ δ moves the ratio by ≤ 2δ·max|v|;
 *  - both sums have Tk positive-weighted terms, accumulated in f32 partial sums plus one
 *    rescale per key block (the running max grows): ≤ (Tk + 2·blocks)·u relative each, so
 *    ≤ 2·(Tk + 2·blocks + 1)·u·max|v| on the ratio, with one more u for the division.
 * tol = max|v|·(2·(E_s + ε_exp + u) + 2·(Tk + 2·blocks + 2)·u), blocks = ceil(Tk / 256).
 * It is a first-order worst case (every rounding in the same direction); the measured error
 * is printed with -v and stays 100-1000× below it. A wrong block offset, a missing rescale or an
 * unmasked edge column moves outputs by O(max|v|), far above it. */
#include <float.h>

#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

static int verbose;

typedef struct attn_case {
    int nb;                 /* batch dims (0..3), each of size bdim[i] */
    int64_t bdim[3];
    int64_t tq, tk, d, dv;
    int kt;                 /* k stored (..., d, Tk) */
    float big;              /* q scaled up: large scores need the max subtraction */
    int heads;              /* > 0: heads side by side in the last axis (params heads) */
} attn_case;

/* Batch indices of the problem: outer indices × heads. */
static int64_t batch_of(const attn_case *c)
{
    int64_t b = c->heads > 0 ? c->heads : 1;
    for (int i = 0; i < c->nb; i++) b *= c->bdim[i];
    return b;
}

/* x (B = outer·h, rows, w) one head per batch index -> y (outer, rows, h·w) heads side by
 * side, or back (y -> x). */
static void interleave(float *x, float *y, int64_t B, int64_t h, int64_t rows, int64_t w,
                       int back)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < rows; r++) {
            float *px = x + (b * rows + r) * w, *py = y + ((b / h * rows + r) * h + b % h) * w;
            memcpy(back ? px : py, back ? py : px, sizeof(float) * (size_t)w);
        }
}

// q (B,Tq,d) k (B,Tk,d) v (B,Tk,dv) -> o (B,Tq,dv) in double; *smax = max scale·Σ|q k|
static void ref_attention(const attn_case *c, const float *q, const float *k, const float *v,
                          float scale, double *o, double *smax)
{
    int64_t B = batch_of(c), tq = c->tq, tk = c->tk, d = c->d, dv = c->dv;
    double *s = malloc(sizeof(double) * (size_t)(tk > 0 ? tk : 1));
    *smax = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < tq; i++) {
            double mx = -INFINITY, sum = 0;
            const float *qi = q + (b * tq + i) * d;
            for (int64_t j = 0; j < tk; j++) {
                const float *kj = k + (b * tk + j) * d;
                double acc = 0, aabs = 0;
                for (int64_t e = 0; e < d; e++) {
                    acc += (double)qi[e] * kj[e];
                    aabs += fabs((double)qi[e] * kj[e]);
                }
                s[j] = acc * scale;
                if (aabs * scale > *smax) *smax = aabs * scale;
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < tk; j++) sum += (s[j] = exp(s[j] - mx));
            for (int64_t e = 0; e < dv; e++) {
                double acc = 0;
                for (int64_t j = 0; j < tk; j++) acc += s[j] * v[(b * tk + j) * dv + e];
                o[(b * tq + i) * dv + e] = tk > 0 ? acc / sum : 0.0;
            }
        }
    free(s);
}

/* Views of the case: batch dims, then the two matrix dims (r1 is per head). */
static af_tview view(const attn_case *c, float *data, int64_t r0, int64_t r1)
{
    if (c->heads > 0) r1 *= c->heads;
    int64_t dims[AF_MAX_RANK];
    for (int i = 0; i < c->nb; i++) dims[i] = c->bdim[i];
    dims[c->nb] = r0, dims[c->nb + 1] = r1;
    return mkview(AF_DTYPE_F32, data, c->nb + 2, dims);
}

/* Runs the node with `threads` (a pool when > 1) and a scratch slice per thread. */
static af_status run_threads(const af_params *p, af_tview *in, af_tview *out, int threads,
                             size_t slice_bytes, af_err *err)
{
    size_t slice = (slice_bytes + 63) / 64 * 64, total = slice * (size_t)threads;
    af_kctx ctx = {.scratch = total ? aligned_alloc(64, total) : NULL, .scratch_bytes = total,
                   .n_threads = threads};
    afk_pool_create(threads, &ctx.pool, err);
    af_status st = af_kernel_run(AF_OP_ATTENTION, p, in, 3, out, 1, &ctx, err);
    afk_pool_free(ctx.pool);
    free(ctx.scratch);
    return st;
}

/* mode: 0 best packed GEMM, 1 at most AVX2, 2 portable */
static void set_mode(int mode)
{
    afk_pgemm_force = mode == 1 ? 1 : -1;
    afk_vec_force_portable = mode == 2;
}

static void run_case(const attn_case *c0)
{
    attn_case cs = *c0;
    const attn_case *c = &cs;
    if (test_small()) { /* fewer queries and keys, still off the blocks and across several */
        cs.tq = cs.tq > 130 ? 130 : cs.tq;
        cs.tk = cs.tk > 1100 ? 1100 : cs.tk;
    }
    int64_t B = batch_of(c), nq = B * c->tq * c->d, nk = B * c->tk * c->d;
    int64_t nv = B * c->tk * c->dv, no = B * c->tq * c->dv;
    float *q = frand_buf(nq), *k = frand_buf(nk), *v = frand_buf(nv);
    float *kT = malloc(sizeof(float) * (size_t)(nk > 0 ? nk : 1));
    double *ref = malloc(sizeof(double) * (size_t)(no > 0 ? no : 1));
    float *o[3];
    for (int t = 0; t < 3; t++) o[t] = malloc(sizeof(float) * (size_t)(no > 0 ? no : 1));
    for (int64_t i = 0; i < nq; i++) q[i] *= c->big;
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < c->tk; j++)
            for (int64_t e = 0; e < c->d; e++)
                kT[(b * c->d + e) * c->tk + j] = k[(b * c->tk + j) * c->d + e];
    af_params p = {0};
    p.attention.scale = c->d > 0 ? 1.0f / sqrtf((float)c->d) : 1.0f;
    p.attention.k_transposed = c->kt;
    p.attention.heads = c->heads;
    int64_t h = c->heads > 0 ? c->heads : 1;
    float *qi = q, *ki = k, *vi = v; /* the kernel's operands: heads side by side */
    if (c->heads > 0) {
        qi = malloc(sizeof(float) * (size_t)(nq ? nq : 1)), ki = malloc(sizeof(float) * (size_t)(nk ? nk : 1));
        vi = malloc(sizeof(float) * (size_t)(nv ? nv : 1));
        interleave(q, qi, B, h, c->tq, c->d, 0);
        interleave(k, ki, B, h, c->tk, c->d, 0);
        interleave(v, vi, B, h, c->tk, c->dv, 0);
    }
    af_tview in[3] = {view(c, qi, c->tq, c->d), c->kt ? view(c, kT, c->d, c->tk) : view(c, ki, c->tk, c->d),
                      view(c, vi, c->tk, c->dv)};
    double smax, vmax = 0;
    ref_attention(c, q, k, v, p.attention.scale, ref, &smax);
    for (int64_t i = 0; i < nv; i++) vmax = fabs(v[i]) > vmax ? fabs(v[i]) : vmax;
    const double u = 0x1p-24, eps_exp = 5e-7;
    double blocks = (double)((c->tk + 255) / 256);
    double tol = vmax * (2 * ((double)(c->d + 2) * u * smax + eps_exp + u) +
                         2 * ((double)c->tk + 2 * blocks + 2) * u);
    char what[160];
    snprintf(what, sizeof what, "B=%lld(nb %d) Tq=%lld Tk=%lld d=%lld dv=%lld kt=%d", (long long)B,
             c->nb, (long long)c->tq, (long long)c->tk, (long long)c->d, (long long)c->dv, c->kt);
    const char *isa0 = NULL;
    for (int mode = 0; mode < 3; mode++) {
        set_mode(mode);
        if (mode == 0) isa0 = afk_pgemm_isa();
        if (mode == 1 && !strcmp(isa0, afk_pgemm_isa())) continue; /* AArch64: NEON again */
        af_tview out = view(c, NULL, c->tq, c->dv);
        CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_OK, "check %s", what);
        size_t slice = af_kernel_scratch_bytes(AF_OP_ATTENTION, &p, in, 3, &out, 1);
        static const int threads[3] = {1, 2, 3};
        for (int t = 0; t < 3; t++) {
            af_err err = {0};
            for (int64_t i = 0; i < no; i++) o[t][i] = NAN;
            out.data = o[t];
            CHECK(run_threads(&p, in, &out, threads[t], slice, &err) == AF_OK, "%s: %s", what,
                  err.msg);
        }
        if (c->heads > 0) /* back to one head per batch index */
            for (int t = 0; t < 3; t++) {
                float *tmp = malloc(sizeof(float) * (size_t)(no ? no : 1));
                interleave(tmp, o[t], B, h, c->tq, c->dv, 1);
                free(o[t]);
                o[t] = tmp;
            }
        double worst = 0;
        for (int64_t i = 0; i < no; i++) {
            double e = fabs((double)o[0][i] - ref[i]);
            if (!(e <= worst)) worst = e;
        }
        CHECK(worst <= tol, "%s mode %d: error %g > bound %g", what, mode, worst, tol);
        if (verbose)
            printf("  %s mode %d (%s): error %.3g, bound %.3g\n", what, mode, afk_pgemm_isa(),
                   worst, tol);
        CHECK(!memcmp(o[0], o[1], sizeof(float) * (size_t)no) &&
                  !memcmp(o[0], o[2], sizeof(float) * (size_t)no),
              "%s mode %d: threads 1/2/3 differ", what, mode);
    }
    set_mode(0);
    if (c->heads > 0) free(qi), free(ki), free(vi);
    free(q), free(k), free(v), free(kT), free(ref);
    for (int t = 0; t < 3; t++) free(o[t]);
}

static void test_shapes(void)
{
    static const attn_case cases[] = {
        /* SD head sizes, self-attention off the 128-query / 256-key blocks */
        {1, {2}, 200, 300, 40, 40, 0, 1.0f, 0},
        {1, {2}, 130, 513, 64, 64, 1, 1.0f, 0},
        {1, {1}, 129, 257, 80, 80, 0, 3.0f, 0},
        {1, {2}, 70, 260, 160, 160, 1, 1.0f, 0},
        /* SD's 64×64 latents: 4096 keys, 16 key blocks (running-max rescales) */
        {2, {1, 1}, 130, 4096, 40, 40, 1, 4.0f, 0},
        /* cross-attention: 77 keys, large scores */
        {2, {2, 2}, 150, 77, 40, 40, 1, 30.0f, 0},
        {0, {0}, 33, 77, 160, 160, 0, 10.0f, 0},
        /* dv ≠ d, odd sizes, a d beyond one k block of the GEMM (VAE: 512) */
        {1, {3}, 17, 19, 3, 5, 0, 1.0f, 0},
        {1, {1}, 40, 300, 40, 72, 1, 1.0f, 0},
        {1, {1}, 45, 100, 300, 8, 0, 0.3f, 0},
        {0, {0}, 20, 40, 512, 512, 1, 0.2f, 0},
        /* one query, one key, three batch dims */
        {3, {2, 1, 3}, 1, 77, 40, 40, 0, 1.0f, 0},
        {3, {1, 2, 2}, 5, 1, 8, 8, 1, 1.0f, 0},
        {1, {2}, 1, 600, 64, 32, 1, 5.0f, 0},
        /* a zero head size: uniform weights, the mean of v */
        {1, {2}, 5, 7, 0, 4, 0, 1.0f, 0},
        /* heads side by side in the last axis (the projections before the head split) */
        {1, {1}, 300, 300, 40, 40, 0, 1.0f, 8},
        {1, {2}, 130, 77, 40, 40, 0, 10.0f, 8},
        {0, {0}, 33, 260, 16, 24, 0, 1.0f, 3},
        {2, {2, 1}, 1, 5, 3, 5, 0, 1.0f, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* Tk = 0: every output 0; Tq = 0 and dv = 0: nothing written. */
static void test_empty(void)
{
    float q[2 * 3 * 4], o[2 * 3 * 5], z[1];
    for (int i = 0; i < 24; i++) q[i] = 1.0f;
    for (int mode = 0; mode < 3; mode++) {
        set_mode(mode);
        for (int i = 0; i < 30; i++) o[i] = NAN;
        af_params p = {0};
        p.attention.scale = 1.0f;
        af_tview in[3] = {TV(AF_DTYPE_F32, q, 2, 3, 4), TV(AF_DTYPE_F32, z, 2, 0, 4),
                          TV(AF_DTYPE_F32, z, 2, 0, 5)};
        af_tview out = TV(AF_DTYPE_F32, o, 2, 3, 5);
        CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_OK, "Tk 0 check");
        CHECK(run_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_OK, "Tk 0 run");
        int zero = 1;
        for (int i = 0; i < 30; i++) zero &= o[i] == 0.0f;
        CHECK(zero, "Tk 0 gives 0 (mode %d)", mode);
        af_tview in0[3] = {TV(AF_DTYPE_F32, z, 2, 0, 4), TV(AF_DTYPE_F32, q, 2, 3, 4),
                           TV(AF_DTYPE_F32, z, 2, 3, 0)};
        af_tview out0 = TV(AF_DTYPE_F32, z, 2, 0, 0);
        CHECK(run_node(AF_OP_ATTENTION, &p, in0, 3, &out0, 1) == AF_OK, "Tq 0 run");
    }
    set_mode(0);
}

/* A slice smaller than the fused kernel's tiles (scratch sized for one thread, 16 claimed):
 * the portable chunks, as many score rows as fit, still right. */
static void test_small_slice(void)
{
    attn_case c = {1, {2}, 50, 300, 40, 40, 0, 1.0f, 0};
    int64_t nq = 2 * 50 * 40, nk = 2 * 300 * 40, no = nq;
    float *q = frand_buf(nq), *k = frand_buf(nk), *v = frand_buf(nk), *o = malloc(sizeof(float) * (size_t)no);
    double *ref = malloc(sizeof(double) * (size_t)no), smax;
    af_params p = {0};
    p.attention.scale = 0.25f;
    af_tview in[3] = {view(&c, q, 50, 40), view(&c, k, 300, 40), view(&c, v, 300, 40)};
    af_tview out = view(&c, o, 50, 40);
    size_t need = af_kernel_scratch_bytes(AF_OP_ATTENTION, &p, in, 3, &out, 1);
    af_kctx ctx = {.scratch = aligned_alloc(64, (need + 63) / 64 * 64), .scratch_bytes = need,
                   .n_threads = 16};
    af_err err = {0};
    CHECK(af_kernel_run(AF_OP_ATTENTION, &p, in, 3, &out, 1, &ctx, &err) == AF_OK, "%s", err.msg);
    ref_attention(&c, q, k, v, p.attention.scale, ref, &smax);
    double worst = 0;
    for (int64_t i = 0; i < no; i++) worst = fmax(worst, fabs(o[i] - ref[i]));
    CHECK(worst < 1e-5, "small slice: error %g", worst);
    free(ctx.scratch), free(q), free(k), free(v), free(o), free(ref);
}

/* heads must split q's and v's last axis, and k is then not transposed. */
static void test_heads_errors(void)
{
    float z[64] = {0};
    af_params p = {0};
    p.attention.heads = 3;
    af_tview in[3] = {TV(AF_DTYPE_F32, z, 1, 2, 6), TV(AF_DTYPE_F32, z, 1, 4, 6),
                      TV(AF_DTYPE_F32, z, 1, 4, 9)};
    af_tview out = TV(AF_DTYPE_F32, z, 1, 2, 9);
    CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_OK, "3 heads of 2 and 3");
    p.attention.heads = 4;
    CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "4 heads of 6");
    p.attention.heads = 3;
    in[0] = TV(AF_DTYPE_F32, z, 1, 2, 0), in[1] = TV(AF_DTYPE_F32, z, 1, 4, 0);
    CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "3 heads of 0");
    in[0] = TV(AF_DTYPE_F32, z, 1, 2, 6), in[1] = TV(AF_DTYPE_F32, z, 1, 4, 6);
    p.attention.heads = -1;
    CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "-1 heads");
    p.attention.heads = 3, p.attention.k_transposed = 1;
    in[1] = TV(AF_DTYPE_F32, z, 1, 6, 4);
    CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "heads, k transposed");
}

int main(int argc, char **argv)
{
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    test_shapes();
    test_empty();
    test_small_slice();
    test_heads_errors();
    return check_report("attention");
}
