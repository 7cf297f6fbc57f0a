/* Channel-lane tiles of the packed AVX-512 GEMM (runtime/kernels/sgemm_packed.c: lanes hold
 * output channels, registers positions; for maps of at most 256 positions where 32-column
 * panels waste lanes, e.g. 7×7) against the 14 × 32 tiles they replace.
 *
 * Both compute every output as the same chain of FMAs over k in order, then the same bias and
 * activation operations, so the bound is 0: the outputs must be bit-identical — for f32 and
 * half weights, groups, rows not a multiple of 16, K over one lane block (512 rows), every
 * activation the GEMM fuses, a fused residual, and 1, 2 and 3 threads. A naive double-precision
 * conv guards against both paths being wrong alike: relative L2 error below 1e-5 (f32 sums of
 * at most 2304 products of values in [-1, 1): ~sqrt(K) * 2^-24 relative, far below). The
 * cases are checked to take the lane tiles (afk_pgemm_lanes_ok) so the test cannot pass by
 * running the old path twice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/dtype.h"
#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

typedef struct lcase {
    int64_t C, H, M, group, k, stride;
    int act, residual, half;
    const char *what;
} lcase;

static int64_t out_hw(const lcase *c) { return (c->H + 2 * (c->k / 2) - c->k) / c->stride + 1; }

static void params(const lcase *c, af_params *p)
{
    memset(p, 0, sizeof *p);
    af_conv_params *cp = &p->conv;
    cp->nsp = 2, cp->group = (int32_t)c->group;
    for (int j = 0; j < 2; j++) {
        cp->kernel[j] = (int32_t)c->k, cp->stride[j] = (int32_t)c->stride, cp->dilation[j] = 1;
        cp->pad_begin[j] = cp->pad_end[j] = (int32_t)(c->k / 2);
    }
    cp->act.fn = c->act;
    cp->act.alpha = c->act == AF_UNARY_CLIP ? -0.25f : 0.125f; /* clip's bounds, leaky's slope */
    cp->act.beta = 0.5f;
}

/* Runs c with pre-packed weights cut with lanes (afk_pgemm_lanes) on `threads` threads; half
 * weights are handed over as halves to the packer and exist only packed at run time. */
static af_status run(const lcase *c, const void *x, const void *w, const float *b,
                     const float *r, float *y, int threads, int lanes)
{
    af_params p;
    params(c, &p);
    const int64_t OH = out_hw(c);
    af_tview in[4] = {TV(AF_DTYPE_F32, (void *)x, 1, c->C, c->H, c->H),
                      TV(c->half ? AF_DTYPE_F16 : AF_DTYPE_F32, (void *)w, c->M,
                         c->C / c->group, c->k, c->k),
                      TV(AF_DTYPE_F32, (void *)b, c->M),
                      TV(AF_DTYPE_F32, (void *)r, 1, c->M, OH, OH)};
    int n_in = r ? 4 : 3;
    af_tview out = TV(AF_DTYPE_F32, y, 1, c->M, OH, OH);
    af_tview pin[4] = {in[0], in[1], in[2], in[3]};
    if (c->half) in[1].dtype = AF_DTYPE_F32, in[1].data = NULL;
    af_err err = {0};
    afk_pgemm_lanes = lanes;
    size_t need = (af_kernel_scratch_bytes(AF_OP_CONV, &p, in, n_in, &out, 1) + 63) / 64 * 64;
    void *scratch = aligned_alloc(64, need ? need * (size_t)threads : 64);
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need * (size_t)threads, .n_threads = threads};
    size_t pb = af_kernel_prepack_bytes(AF_OP_CONV, &p, pin, n_in, &out, 1);
    void *packed = pb ? aligned_alloc(64, (pb + 63) / 64 * 64) : NULL;
    if (packed) af_kernel_prepack(AF_OP_CONV, &p, pin, n_in, &out, 1, packed);
    ctx.packed = packed;
    af_status st = packed ? AF_OK : AF_ERR_USAGE;
    if (!st) st = afk_pool_create(threads, &ctx.pool, &err);
    if (!st) st = af_kernel_run(AF_OP_CONV, &p, in, n_in, &out, 1, &ctx, &err);
    if (st) fprintf(stderr, "  (conv said: %s)\n", err.msg);
    afk_pgemm_lanes = 1;
    afk_pool_free(ctx.pool);
    free(scratch);
    free(packed);
    return st;
}

static double act_ref(int act, double v)
{
    switch (act) {
    case AF_UNARY_RELU: return v < 0 ? 0 : v;
    case AF_UNARY_CLIP: return v < -0.25 ? -0.25 : v > 0.5 ? 0.5 : v;
    case AF_UNARY_SILU: return v / (1 + exp(-v));
    case AF_UNARY_HARD_SWISH: return v * fmin(1, fmax(0, v / 6 + 0.5));
    case AF_UNARY_LEAKY_RELU: return v < 0 ? 0.125 * v : v;
    default: return v;
    }
}

/* Relative L2 error of y against a naive conv of x, wf (the weights as f32), b, r. */
static double ref_err(const lcase *c, const float *x, const float *wf, const float *b,
                      const float *r, const float *y)
{
    const int64_t OH = out_hw(c), Cg = c->C / c->group, Mg = c->M / c->group, pad = c->k / 2;
    double num = 0, den = 0;
    for (int64_t m = 0; m < c->M; m++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OH; ow++) {
                double s = b[m];
                for (int64_t ci = 0; ci < Cg; ci++)
                    for (int64_t kh = 0; kh < c->k; kh++)
                        for (int64_t kw = 0; kw < c->k; kw++) {
                            int64_t ih = oh * c->stride + kh - pad, iw = ow * c->stride + kw - pad;
                            if (ih < 0 || iw < 0 || ih >= c->H || iw >= c->H) continue;
                            int64_t cin = m / Mg * Cg + ci;
                            s += (double)wf[((m * Cg + ci) * c->k + kh) * c->k + kw] *
                                 x[(cin * c->H + ih) * c->H + iw];
                        }
                int64_t i = (m * OH + oh) * OH + ow;
                double want = act_ref(c->act, s + (r ? r[i] : 0));
                num += (y[i] - want) * (y[i] - want), den += want * want;
            }
    return sqrt(num / (den > 0 ? den : 1));
}

static void test_case(const lcase *c)
{
    const int64_t OH = out_hw(c), Cg = c->C / c->group;
    const int64_t nx = c->C * c->H * c->H, nw = c->M * Cg * c->k * c->k, ny = c->M * OH * OH;
    CHECK(afk_pgemm_lanes_ok(c->M / c->group, OH * OH, Cg * c->k * c->k), "%s: takes the lane tiles",
          c->what);
    float *x = frand_buf(nx), *wf = frand_buf(nw), *b = frand_buf(c->M);
    float *r = c->residual ? frand_buf(ny) : NULL;
    uint16_t *wh = malloc((size_t)nw * 2);
    for (int64_t i = 0; i < nw; i++) { /* half weights: the f32 reference uses their values */
        wh[i] = af_f32_to_f16(wf[i]);
        if (c->half) wf[i] = af_f16_to_f32(wh[i]);
    }
    const void *w = c->half ? (const void *)wh : (const void *)wf;
    float *cols = malloc((size_t)ny * 4), *y[3];
    int ok = run(c, x, w, b, r, cols, 1, 0) == AF_OK;
    for (int t = 0; t < 3; t++) {
        y[t] = malloc((size_t)ny * 4);
        ok &= run(c, x, w, b, r, y[t], t + 1, 1) == AF_OK;
    }
    CHECK(ok, "%s: ran", c->what);
    for (int t = 0; ok && t < 3; t++)
        CHECK(!memcmp(cols, y[t], (size_t)ny * 4),
              "%s: lane tiles on %d thread(s) equal the 14x32 tiles bit for bit", c->what, t + 1);
    double e = ok ? ref_err(c, x, wf, b, r, y[0]) : 1;
    CHECK(e < 1e-5, "%s: relative L2 error %.2e against a naive conv", c->what, e);
    for (int t = 0; t < 3; t++) free(y[t]);
    free(x), free(wf), free(wh), free(b), free(r), free(cols);
}

int main(void)
{
    afk_pgemm_force = 2, afk_wino_mode = 0; /* AVX-512F's packed GEMM, if the CPU has it */
    if (afk_pgemm_nr() != 32 || !afk_pgemm_lanes_ok(64, 49, 64)) {
        printf("test_conv_lanes: skipped, no AVX-512F\n");
        return 0;
    }
    static const lcase cases[] = {
        {320, 7, 1280, 1, 1, 1, AF_UNARY_IDENTITY, 0, 0, "1x1 320->1280 @7x7"},
        {1152, 7, 200, 1, 1, 1, AF_UNARY_RELU, 0, 0, "1x1 1152->200 @7x7 (2 k blocks, M%16)"},
        {256, 7, 136, 1, 3, 1, AF_UNARY_CLIP, 0, 0, "3x3 256->136 @7x7 (K 2304)"},
        {96, 14, 72, 1, 3, 2, AF_UNARY_SILU, 0, 0, "3x3 s2 96->72 14->7 silu"},
        {64, 6, 96, 1, 1, 1, AF_UNARY_HARD_SWISH, 0, 0, "1x1 @6x6 hard swish"},
        {48, 10, 44, 1, 1, 1, AF_UNARY_LEAKY_RELU, 0, 0, "1x1 @10x10 leaky relu, M 44"},
        {128, 7, 256, 2, 3, 1, AF_UNARY_RELU, 1, 0, "3x3 2 groups + residual + relu"},
        {64, 1, 48, 1, 1, 1, AF_UNARY_SILU, 0, 0, "1x1 @1x1 (squeeze-excitation)"},
        {192, 7, 1152, 1, 1, 1, AF_UNARY_IDENTITY, 0, 1, "1x1 192->1152 @7x7 half weights"},
        {1100, 7, 84, 1, 1, 1, AF_UNARY_SILU, 1, 1, "1x1 half, 3 k blocks, residual"},
        {600, 14, 320, 1, 1, 1, AF_UNARY_RELU, 0, 0, "1x1 600->320 @14x14 (2 k blocks)"},
        {64, 15, 48, 1, 3, 1, AF_UNARY_SILU, 1, 1, "3x3 half @15x15 silu + residual"},
        {256, 14, 128, 1, 1, 1, AF_UNARY_CLIP, 0, 0, "1x1 256->128 @14x14 (K 256, the least)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(&cases[i]);
    afk_pgemm_force = -1, afk_wino_mode = -1;
    return check_report("test_conv_lanes");
}
