/* tests/unit/test_dense_asa.c — MATMUL with its constant f32 weight pre-packed as the broadcast
 * operand (afk_sgemm_packw: op(B)^T's row panels; X^T packed per call; C tiles stored transposed
 * with the bias and residual epilogue) against the same MatMul with B unpacked (the B-panel
 * path, packed per block from the stored weight).
 *
 * Both sum every output's k in order with one FMA per product, starting from zero, then add the
 * bias and then the residual, so they must agree bit for bit: on 1, 2 and 3 threads (tiles cut
 * along either side), with partial 16×16 transpose blocks on both sides, token counts past one
 * block of activation rows (512, or fewer when K is long), weight rows past one block of 168,
 * and K past one k block. The test also checks that the pre-pack took this layout where it
 * should (long K, rows ≥ 32 and ≤ twice the width, on AVX-512) and not elsewhere. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

typedef struct mcase {
    int64_t batch, M, K, N;
    int bias, res;
} mcase;

/* y = x @ w (+ bias) (+ res); w pre-packed (packed = 1) or read as stored. Returns whether the
 * pre-pack chose the weight-as-A layout (header word 2). */
static int run(const mcase *c, const float *x, const float *w, const float *bias,
               const float *res, float *y, int threads, int packed)
{
    af_params p;
    memset(&p, 0, sizeof p);
    af_tview in[4], out = TV(AF_DTYPE_F32, y, c->batch, c->M, c->N);
    in[0] = TV(AF_DTYPE_F32, (void *)x, c->batch, c->M, c->K);
    in[1] = TV(AF_DTYPE_F32, (void *)w, c->K, c->N);
    in[2] = TV(AF_DTYPE_F32, (void *)bias, c->N);
    in[3] = TV(AF_DTYPE_F32, (void *)res, c->batch, c->M, c->N);
    if (!c->bias) in[2].data = NULL, in[2].rank = 0;
    int n_in = c->res ? 4 : c->bias ? 3 : 2;
    af_err err = {0};
    size_t need = (af_kernel_scratch_bytes(AF_OP_MATMUL, &p, in, n_in, &out, 1) + 63) / 64 * 64;
    void *scratch = aligned_alloc(64, need * (size_t)threads + 64), *pk = NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need * (size_t)threads,
                   .n_threads = threads};
    afk_pool_create(threads, &ctx.pool, &err);
    int as_a = 0;
    size_t pb = packed ? af_kernel_prepack_bytes(AF_OP_MATMUL, &p, in, n_in, &out, 1) : 0;
    if (pb) {
        pk = aligned_alloc(64, (pb + 63) / 64 * 64);
        af_kernel_prepack(AF_OP_MATMUL, &p, in, n_in, &out, 1, pk);
        ctx.packed = pk;
        as_a = ((const int32_t *)pk)[2] != 0;
        in[1].data = NULL; /* the weight exists only packed */
    }
    af_status st = af_kernel_run(AF_OP_MATMUL, &p, in, n_in, &out, 1, &ctx, &err);
    CHECK(st == AF_OK, "run: %s", err.msg);
    afk_pool_free(ctx.pool);
    free(scratch), free(pk);
    return as_a;
}

static void one(const mcase *c)
{
    int64_t ny = c->batch * c->M * c->N;
    float *x = frand_buf(c->batch * c->M * c->K), *w = frand_buf(c->K * c->N);
    float *bias = frand_buf(c->N), *res = frand_buf(ny);
    float *ref = malloc(sizeof(float) * (size_t)ny), *y = malloc(sizeof(float) * (size_t)ny);
    run(c, x, w, bias, res, ref, 1, 0);
    int want = afk_sgemm_packw_ok(c->batch * c->M, c->K, c->N);
    /* the rule: long K, rows >= 32 and <= twice the width, and no more padded products than
     * the B-panel order (rows in 32-wide panels, the width in MR rows, against the reverse) */
    const int64_t m = c->batch * c->M, mr = afk_pgemm_mr();
    const int pads = (m + 31) / 32 * 32 * ((c->N + mr - 1) / mr * mr) <=
                     (m + mr - 1) / mr * mr * ((c->N + 31) / 32 * 32);
    CHECK(want == (afk_pgemm_nr() == 32 && m >= 32 && c->K >= 1024 && m <= 2 * c->N && pads),
          "M=%lld K=%lld N=%lld: afk_sgemm_packw_ok says %d", (long long)c->M, (long long)c->K,
          (long long)c->N, want);
    for (int nt = 1; nt <= 3; nt++) {
        memset(y, 0xff, sizeof(float) * (size_t)ny);
        int as_a = run(c, x, w, bias, res, y, nt, 1);
        CHECK(as_a == want, "M=%lld K=%lld N=%lld: pre-packed as A = %d, expected %d",
              (long long)c->M, (long long)c->K, (long long)c->N, as_a, want);
        CHECK(!memcmp(y, ref, sizeof(float) * (size_t)ny),
              "batch %lld M=%lld K=%lld N=%lld bias %d res %d, %d threads: the pre-packed "
              "weight's output differs from the B-panel path", (long long)c->batch,
              (long long)c->M, (long long)c->K, (long long)c->N, c->bias, c->res, nt);
    }
    free(x), free(w), free(bias), free(res), free(ref), free(y);
}

int main(void)
{
    static const mcase cases[] = {
        {1, 32, 1024, 28, 0, 0},   /* the smallest eligible product: one 32-row block */
        {2, 40, 1100, 45, 1, 0},   /* batch folded into 80 rows, a short last k block, ragged */
        {1, 77, 1024, 600, 1, 1},  /* 77 rows: B panels pad less (84 against 96 rows) */
        {1, 95, 1024, 600, 1, 1},  /* partial transpose blocks both ways, bias and residual */
        {1, 600, 1024, 500, 0, 1}, /* two 512-row blocks, weight rows past two 224-row calls */
        {1, 300, 4000, 170, 1, 0}, /* a long K: 256-row blocks of X^T, 16 k blocks */
        {1, 16, 1024, 64, 1, 1},   /* too few rows: stays on B panels */
        {1, 256, 320, 320, 1, 0},  /* a short K: stays on B panels */
        {1, 700, 1024, 300, 0, 0}, /* taller than twice the width: stays on B panels */
    };
    if (!afk_pgemm_nr()) return check_report("dense_asa (no packed GEMM here)");
    /* under an emulator (AF_TEST_SMALL: qemu-aarch64) on a kernel without this layout (every
     * case on B panels both ways) the products past 50 M multiply-adds are left out */
    const int small = test_small() && afk_pgemm_nr() != 32;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const mcase *c = &cases[i];
        if (small && (double)(c->batch * c->M) * (double)c->K * (double)c->N > 50e6) continue;
        one(c);
    }
    return check_report("dense_asa");
}
