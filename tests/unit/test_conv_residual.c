/* CONV with a fused residual (in[3], lowering/fuse.c) on every path the CPU has: im2col +
 * afk_sgemm, the packed AVX2 / AVX-512 GEMMs (weights packed per run and pre-packed),
 * depthwise loops and Winograd F(4x4,3x3).
 *
 * The reference is the same kernel on the same path without the residual and with no
 * activation (conv + bias, checked against a naive conv in test_kernels_fast.c), followed by
 * act(y + r) written out here. The fused kernel adds the residual to exactly those conv + bias
 * values and applies the same comparisons, so for identity / relu / clip the bound is 0 (the
 * bits must match). Sigmoid goes through afk_act_apply's vector sigmoid (relative error ~1e-7,
 * test_kernels_fast.c), so it is checked to 4e-6 relative. Results must also be byte-identical
 * for 1 and 3 threads, and the check function must refuse a residual of the wrong shape or
 * dtype. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

typedef struct rcase {
    int64_t C, H, M, group, k, stride;
    int act, bias;
    int wino; /* 1: Winograd F(4x4) forced, 2: F(2x2) forced (AVX-512, AVX2) */
    const char *what;
    int64_t dil; /* 0: 1; > 1: pads = dil (a dilated conv, on Winograd through its mosaic) */
} rcase;

static void params(const rcase *c, int act, af_params *p, int64_t *OH)
{
    memset(p, 0, sizeof *p);
    af_conv_params *cp = &p->conv;
    cp->nsp = 2, cp->group = (int32_t)c->group;
    const int64_t d = c->dil > 1 ? c->dil : 1;
    for (int j = 0; j < 2; j++) {
        cp->kernel[j] = (int32_t)c->k, cp->stride[j] = (int32_t)c->stride;
        cp->dilation[j] = (int32_t)d, cp->pad_begin[j] = cp->pad_end[j] = (int32_t)(d * (c->k / 2));
    }
    cp->act.fn = act, cp->act.alpha = -0.25f, cp->act.beta = 0.5f; /* clip bounds */
    *OH = (c->H + 2 * d * (c->k / 2) - d * (c->k - 1) - 1) / c->stride + 1;
}

/* Runs conv c (act, residual r or NULL) with `threads` threads; prepack: pre-packed weights. */
static af_status run(const rcase *c, int act, const float *x, const float *w, const float *b,
                     const float *r, float *y, int threads, int prepack)
{
    af_params p;
    int64_t OH;
    params(c, act, &p, &OH);
    af_tview in[4] = {TV(AF_DTYPE_F32, (void *)x, 1, c->C, c->H, c->H),
                      TV(AF_DTYPE_F32, (void *)w, c->M, c->C / c->group, c->k, c->k),
                      TV(AF_DTYPE_F32, (void *)b, c->M),
                      TV(AF_DTYPE_F32, (void *)r, 1, c->M, OH, OH)};
    if (!b) memset(&in[2], 0, sizeof in[2]); /* an omitted bias (afk_omitted) */
    int n_in = r ? 4 : 3;
    af_tview out = TV(AF_DTYPE_F32, y, 1, c->M, OH, OH);
    af_err err = {0};
    af_status st = af_kernel_check(AF_OP_CONV, &p, in, n_in, &out, 1, &err);
    size_t need = (af_kernel_scratch_bytes(AF_OP_CONV, &p, in, n_in, &out, 1) + 63) / 64 * 64;
    void *scratch = need ? aligned_alloc(64, need * (size_t)threads) : NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need * (size_t)threads, .n_threads = threads};
    size_t pb = prepack ? af_kernel_prepack_bytes(AF_OP_CONV, &p, in, n_in, &out, 1) : 0;
    void *packed = pb ? aligned_alloc(64, (pb + 63) / 64 * 64) : NULL;
    if (packed) af_kernel_prepack(AF_OP_CONV, &p, in, n_in, &out, 1, packed);
    ctx.packed = packed;
    size_t sb = packed ? af_kernel_shared_bytes(AF_OP_CONV, packed) : 0; /* a dilated conv's mosaics */
    ctx.shared = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
    ctx.shared_bytes = ctx.shared ? sb : 0;
    if (!st) st = afk_pool_create(threads, &ctx.pool, &err);
    if (!st) st = af_kernel_run(AF_OP_CONV, &p, in, n_in, &out, 1, &ctx, &err);
    if (st) fprintf(stderr, "  (conv said: %s)\n", err.msg);
    afk_pool_free(ctx.pool);
    free(scratch);
    free(packed);
    free(ctx.shared);
    return st;
}

static float act_ref(int act, float v)
{
    if (act == AF_UNARY_RELU) return v < 0 ? 0.0f : v;
    if (act == AF_UNARY_CLIP) return v < -0.25f ? -0.25f : (v > 0.5f ? 0.5f : v);
    if (act == AF_UNARY_SIGMOID) return 1.0f / (1.0f + expf(-v));
    return v;
}

static void test_path(const rcase *c, const char *path, int prepack)
{
    int64_t OH;
    af_params p;
    params(c, c->act, &p, &OH);
    int64_t nx = c->C * c->H * c->H, nw = c->M * c->C / c->group * c->k * c->k, ny = c->M * OH * OH;
    float *x = frand_buf(nx), *w = frand_buf(nw), *b = c->bias ? frand_buf(c->M) : NULL;
    float *r = frand_buf(ny), *plain = malloc((size_t)ny * 4), *y1 = malloc((size_t)ny * 4);
    float *y3 = malloc((size_t)ny * 4);
    int ok = run(c, AF_UNARY_IDENTITY, x, w, b, NULL, plain, 1, prepack) == AF_OK;
    ok &= run(c, c->act, x, w, b, r, y1, 1, prepack) == AF_OK;
    ok &= run(c, c->act, x, w, b, r, y3, 3, prepack) == AF_OK;
    CHECK(ok, "%s (%s): ran", c->what, path);
    int64_t bad = 0;
    for (int64_t i = 0; ok && i < ny; i++) {
        float want = act_ref(c->act, plain[i] + r[i]);
        if (c->act == AF_UNARY_SIGMOID) bad += !(fabsf(y1[i] - want) <= 4e-6f * fabsf(want));
        else bad += memcmp(&want, &y1[i], sizeof want) != 0;
    }
    CHECK(bad == 0, "%s (%s%s): %lld of %lld differ from act(conv + bias + r)", c->what, path,
          prepack ? ", pre-packed" : "", (long long)bad, (long long)ny);
    CHECK(!ok || !memcmp(y1, y3, (size_t)ny * 4), "%s (%s): 3 threads differ from 1", c->what,
          path);
    free(x), free(w), free(b), free(r), free(plain), free(y1), free(y3);
}

static void test_case(const rcase *c)
{
    if (c->wino) { /* on each kernel present: AVX-512F, then AVX2+FMA (16-wide panels); NEON */
#if defined(__aarch64__)
        static const char *const wnames[3] = {"", "", "winograd neon"};
        static const int nrs[3] = {0, -1, 8}, paths = 1;
#else
        static const char *const wnames[3] = {"", "winograd avx2", "winograd avx512"};
        static const int nrs[3] = {0, 16, 32}, paths = 2;
#endif
        for (int path = 2; path > 2 - paths; path--) {
            afk_pgemm_force = path, afk_wino_mode = c->wino;
            if (afk_pgemm_nr() == nrs[path]) test_path(c, wnames[path], 1);
            else printf("  %s: skipped, no %s\n", c->what, path == 2 ? "AVX-512" : "AVX2");
            afk_pgemm_force = -1, afk_wino_mode = -1;
        }
        return;
    }
    static const char *const names[3] = {"sgemm", "avx2", "avx512"};
    afk_wino_mode = 0;
    for (int path = 0; path <= 2; path++)
        for (int pre = 0; pre <= (path > 0); pre++) {
            afk_pgemm_force = path;
            if (path == 0 || afk_pgemm_nr() > 0) test_path(c, names[path], pre);
            afk_pgemm_force = -1;
        }
    afk_wino_mode = -1;
}

/* The check refuses a residual whose shape or dtype differs from Y's. */
static void test_check(void)
{
    const rcase c = {8, 6, 8, 1, 3, 1, AF_UNARY_RELU, 1, 0, "check", 1};
    af_params p;
    int64_t OH;
    params(&c, c.act, &p, &OH);
    af_tview in[4] = {TV(AF_DTYPE_F32, NULL, 1, 8, 6, 6), TV(AF_DTYPE_F32, NULL, 8, 8, 3, 3),
                      TV(AF_DTYPE_F32, NULL, 8), TV(AF_DTYPE_F32, NULL, 1, 8, 6, 6)};
    af_tview out = TV(AF_DTYPE_F32, NULL, 1, 8, 6, 6);
    CHECK(check_node(AF_OP_CONV, &p, in, 4, &out, 1) == AF_OK, "a matching residual passes");
    in[3] = TV(AF_DTYPE_F32, NULL, 1, 8, 1, 1);
    CHECK(check_node(AF_OP_CONV, &p, in, 4, &out, 1) == AF_ERR_SHAPE, "a broadcast residual");
    in[3] = TV(AF_DTYPE_F16, NULL, 1, 8, 6, 6);
    CHECK(check_node(AF_OP_CONV, &p, in, 4, &out, 1) != AF_OK, "an f16 residual");
    memset(&in[3], 0, sizeof in[3]);
    CHECK(check_node(AF_OP_CONV, &p, in, 4, &out, 1) == AF_OK, "an omitted residual");
    CHECK(check_node(AF_OP_CONV_TRANSPOSE, &p, in, 4, &out, 1) != AF_OK,
          "conv_transpose takes no residual");
}

int main(void)
{
    static const rcase cases[] = {
        /* C   H   M   g  k  s  act  bias wino what dilation */
        {16, 23, 24, 1, 3, 1, AF_UNARY_RELU, 1, 0, "3x3 im2col, several tiles", 1},
        {24, 21, 45, 1, 3, 2, AF_UNARY_IDENTITY, 0, 0, "3x3 stride 2, no bias", 1},
        {32, 30, 40, 1, 1, 1, AF_UNARY_CLIP, 1, 0, "pointwise", 1},
        {64, 7, 300, 1, 1, 1, AF_UNARY_RELU, 1, 0, "pointwise 7x7 (small map)", 1},
        {8, 12, 12, 4, 3, 1, AF_UNARY_SIGMOID, 1, 0, "grouped, sigmoid", 1},
        {32, 15, 32, 2, 3, 2, AF_UNARY_RELU, 1, 0, "16 per group, stride 2 (lanes)", 1},
        {48, 9, 48, 3, 3, 1, AF_UNARY_CLIP, 0, 0, "16 per group (lanes), no bias", 1},
        {24, 19, 24, 24, 3, 1, AF_UNARY_CLIP, 1, 0, "depthwise 3x3", 1},
        {40, 7, 40, 40, 5, 1, AF_UNARY_CLIP, 1, 0, "depthwise 5x5 on 7x7 (channels in lanes)", 1},
        {10, 20, 10, 10, 5, 2, AF_UNARY_RELU, 0, 0, "depthwise 5x5 s2, no bias", 1},
        {40, 22, 36, 1, 3, 1, AF_UNARY_RELU, 1, 1, "winograd", 1},
        {20, 9, 30, 1, 3, 1, AF_UNARY_IDENTITY, 0, 1, "winograd, partial tiles, no bias", 1},
        {24, 15, 20, 1, 3, 1, AF_UNARY_RELU, 1, 2, "winograd F(2x2), partial tiles", 1},
        {32, 14, 48, 2, 3, 1, AF_UNARY_CLIP, 1, 1, "winograd, 2 groups", 1},
        {24, 16, 40, 1, 3, 1, AF_UNARY_RELU, 1, 1, "winograd, dilation 2 (mosaic)", 2},
        {16, 12, 20, 1, 3, 1, AF_UNARY_CLIP, 0, 2, "winograd F(2x2), dilation 4 (mosaic)", 4},
        {3, 37, 32, 1, 3, 2, AF_UNARY_RELU, 1, 0, "stem 3x3 stride 2 (positions in lanes)", 1},
        {3, 21, 24, 1, 7, 1, AF_UNARY_CLIP, 0, 0, "stem 7x7, 16 + 8 channels, no bias", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(&cases[i]);
    test_check();
    return check_report("conv_residual");
}
