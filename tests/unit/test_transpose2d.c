/* tests/unit/test_transpose2d.c — TRANSPOSE's batched 2-D fast path (runtime/kernels/
 * transpose2d.c): which perms collapse to x (B, R, C) -> y (B, C, R), and every output element
 * equal to the index formula's (a copy: compared exactly), with AVX-512 blocks and forced
 * portable, 1-3 threads, ragged edges, size-1 axes, and perms that stay on the generic loop. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

static void test_classify(void)
{
    int64_t B, R, C;
    static const int64_t nchw[4] = {1, 320, 64, 64}, b4[4] = {2, 3, 4, 5};
    static const int p0231[4] = {0, 2, 3, 1}, p0312[4] = {0, 3, 1, 2}, p0213[4] = {0, 2, 1, 3};
    static const int p1023[4] = {1, 0, 2, 3}, p0132[4] = {0, 1, 3, 2};
    CHECK(afk_transpose_as_2d(4, nchw, p0231, &B, &R, &C) && B == 1 && R == 320 && C == 4096,
          "NCHW -> NHWC: %lld %lld %lld", (long long)B, (long long)R, (long long)C);
    CHECK(afk_transpose_as_2d(4, nchw, p0312, &B, &R, &C) && B == 1 && R == 320 * 64 && C == 64,
          "perm 0,3,1,2: %lld %lld %lld", (long long)B, (long long)R, (long long)C);
    CHECK(afk_transpose_as_2d(4, b4, p0132, &B, &R, &C) && B == 6 && R == 4 && C == 5,
          "last two axes: %lld %lld %lld", (long long)B, (long long)R, (long long)C);
    CHECK(!afk_transpose_as_2d(4, b4, p1023, &B, &R, &C), "1,0,2,3 keeps a trailing block");
    CHECK(!afk_transpose_as_2d(4, b4, p0213, &B, &R, &C), "0,2,1,3 keeps a trailing block");
}

/* y = transpose(x, perm) by the index formula. */
static void reference(int r, const int64_t *dims, const int *perm, const uint32_t *x, uint32_t *y)
{
    int64_t is[AF_MAX_RANK], od[AF_MAX_RANK], n = 1, idx[AF_MAX_RANK] = {0};
    is[r - 1] = 1;
    for (int i = r - 2; i >= 0; i--) is[i] = is[i + 1] * dims[i + 1];
    for (int i = 0; i < r; i++) od[i] = dims[perm[i]], n *= od[i];
    for (int64_t o = 0; o < n; o++) {
        int64_t off = 0;
        for (int i = 0; i < r; i++) off += idx[i] * is[perm[i]];
        y[o] = x[off];
        for (int i = r - 1; i >= 0 && ++idx[i] == od[i]; i--) idx[i] = 0;
    }
}

static void run_case(int r, const int64_t *dims, const int *perm, int threads, int portable)
{
    int64_t n = 1, od[AF_MAX_RANK];
    for (int i = 0; i < r; i++) n *= dims[i], od[i] = dims[perm[i]];
    uint32_t *x = malloc(sizeof(uint32_t) * (size_t)n), *y = malloc(sizeof(uint32_t) * (size_t)n),
             *want = malloc(sizeof(uint32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (uint32_t)(i * 2654435761u + 12345u);
    memset(y, 0xa5, sizeof(uint32_t) * (size_t)n);
    reference(r, dims, perm, x, want);
    af_params p;
    memset(&p, 0, sizeof p);
    p.transpose.n_perm = r;
    for (int i = 0; i < r; i++) p.transpose.perm[i] = perm[i];
    af_tview in = mkview(AF_DTYPE_F32, x, r, dims), out = mkview(AF_DTYPE_F32, y, r, od);
    af_err err = {0};
    af_kctx ctx = {.n_threads = threads};
    afk_pool_create(threads, &ctx.pool, &err);
    afk_vec_force_portable = portable;
    af_status st = af_kernel_run(AF_OP_TRANSPOSE, &p, &in, 1, &out, 1, &ctx, &err);
    afk_vec_force_portable = 0;
    afk_pool_free(ctx.pool);
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++)
        if (y[i] != want[i]) bad = i;
    CHECK(st == AF_OK && bad < 0, "rank %d dims %lld,%lld,... threads %d portable %d: first "
          "difference at %lld", r, (long long)dims[0], (long long)dims[1], threads, portable,
          (long long)bad);
    free(x), free(y), free(want);
}

int main(void)
{
    test_classify();
    static const struct {
        int r;
        int64_t dims[4];
        int perm[4];
    } cases[] = {
        {4, {1, 64, 16, 16}, {0, 2, 3, 1}},  /* NCHW -> NHWC, whole 16×16 blocks */
        {4, {1, 16, 16, 64}, {0, 3, 1, 2}},  /* and back */
        {4, {1, 37, 5, 7}, {0, 2, 3, 1}},    /* ragged in both directions */
        {3, {3, 33, 50}, {0, 2, 1}},         /* batched, edges past 32 and 48 */
        {2, {17, 300}, {1, 0}},              /* a matrix */
        {2, {1, 300}, {1, 0}},               /* a row: size-1 axis dropped, a copy */
        {4, {2, 3, 4, 5}, {0, 2, 1, 3}},     /* generic loop */
        {4, {2, 3, 40, 48}, {1, 0, 3, 2}},   /* generic loop */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int threads = 1; threads <= 3; threads++)
            for (int portable = 0; portable <= 1; portable++)
                run_case(cases[c].r, cases[c].dims, cases[c].perm, threads, portable);
    return check_report("test_transpose2d");
}
