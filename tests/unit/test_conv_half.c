/* tests/unit/test_conv_half.c — CONV with its weight handed over in IEEE halves and packed as
 * half panels (PACK_GEMM16: a weight stored in halves stays halves, widened per panel inside
 * the packed GEMM), then run with no f32 weight at all (in[1].data NULL).
 *
 * Reference: the same conv on f32 weights equal to the widened halves, weights packed on the
 * fly. For convs the packed GEMM takes anyway (1x1, stride 2, grouped) the bits must match:
 * widening is exact and the products and their order are the same. For a 3x3 stride-1 conv
 * the f32 weights would go to Winograd (other sums), so it is checked against the f32 run to
 * 1e-5 relative (|got-ref|/(1+|ref|)); sums of <= 288 products in [-1,1) round at ~1e-6,
 * a wrong panel or offset shows as O(0.1). 1 and 2 threads byte-identical. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/dtype.h"
#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

typedef struct hcase {
    int64_t C, H, M, group, k, stride;
    int exact; /* 1: bits must match the f32 run */
} hcase;

static af_params conv_params(const hcase *c, int64_t *OH)
{
    af_params p;
    memset(&p, 0, sizeof p);
    af_conv_params *cp = &p.conv;
    cp->nsp = 2, cp->group = (int32_t)c->group;
    for (int j = 0; j < 2; j++) {
        cp->kernel[j] = (int32_t)c->k, cp->stride[j] = (int32_t)c->stride, cp->dilation[j] = 1;
        cp->pad_begin[j] = cp->pad_end[j] = (int32_t)(c->k / 2);
    }
    *OH = (c->H + 2 * (c->k / 2) - c->k) / c->stride + 1;
    return p;
}

/* y = conv(x, w); half: w given as halves h, pre-packed, and no f32 w at run time. */
static void run(const hcase *c, const float *x, const float *w, const uint16_t *h,
                const float *b, float *y, int threads, int half)
{
    int64_t OH;
    af_params p = conv_params(c, &OH);
    af_tview in[3] = {TV(AF_DTYPE_F32, (void *)x, 1, c->C, c->H, c->H),
                      TV(AF_DTYPE_F32, (void *)w, c->M, c->C / c->group, c->k, c->k),
                      TV(AF_DTYPE_F32, (void *)b, c->M)};
    af_tview out = TV(AF_DTYPE_F32, y, 1, c->M, OH, OH);
    af_err err = {0};
    size_t need = (af_kernel_scratch_bytes(AF_OP_CONV, &p, in, 3, &out, 1) + 63) / 64 * 64;
    void *scratch = aligned_alloc(64, need * (size_t)threads), *packed = NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need * (size_t)threads,
                   .n_threads = threads};
    afk_pool_create(threads, &ctx.pool, &err);
    if (half) {
        af_tview hin[3] = {in[0], in[1], in[2]};
        hin[1].dtype = AF_DTYPE_F16, hin[1].data = (void *)h;
        size_t pb = af_kernel_prepack_bytes(AF_OP_CONV, &p, hin, 3, &out, 1);
        CHECK(pb > 0 && pb < (size_t)af_tview_numel(&in[1]) * sizeof(float),
              "C=%lld k=%lld: half panels smaller than floats", (long long)c->C,
              (long long)c->k);
        packed = aligned_alloc(64, (pb + 63) / 64 * 64);
        af_kernel_prepack(AF_OP_CONV, &p, hin, 3, &out, 1, packed);
        ctx.packed = packed;
        in[1].data = NULL; /* the weight exists only packed */
    }
    af_status st = af_kernel_run(AF_OP_CONV, &p, in, 3, &out, 1, &ctx, &err);
    CHECK(st == AF_OK, "conv run: %s", err.msg);
    afk_pool_free(ctx.pool);
    free(scratch), free(packed);
}

static void one(const hcase *c)
{
    int64_t OH, nw = c->M * (c->C / c->group) * c->k * c->k;
    conv_params(c, &OH);
    int64_t ny = c->M * OH * OH;
    float *x = frand_buf(c->C * c->H * c->H), *w = frand_buf(nw), *b = frand_buf(c->M);
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t)nw);
    for (int64_t i = 0; i < nw; i++) w[i] = af_f16_to_f32(h[i] = af_f32_to_f16(w[i]));
    float *ref = malloc(sizeof(float) * (size_t)ny), *y1 = malloc(sizeof(float) * (size_t)ny);
    float *y2 = malloc(sizeof(float) * (size_t)ny);
    run(c, x, w, h, b, ref, 1, 0);
    run(c, x, w, h, b, y1, 1, 1);
    run(c, x, w, h, b, y2, 2, 1);
    double worst = 0;
    for (int64_t i = 0; i < ny; i++) {
        double e = fabs((double)y1[i] - ref[i]) / (1.0 + fabs((double)ref[i]));
        if (!(e <= worst)) worst = e;
    }
    if (c->exact)
        CHECK(!memcmp(y1, ref, sizeof(float) * (size_t)ny), "C=%lld M=%lld k=%lld s=%lld: "
              "half panels differ from f32 (worst %g)", (long long)c->C, (long long)c->M,
              (long long)c->k, (long long)c->stride, worst);
    else
        CHECK(worst < 1e-5, "3x3 s1 half panels vs f32: %g", worst);
    CHECK(!memcmp(y1, y2, sizeof(float) * (size_t)ny), "half panels: 1 and 2 threads differ");
    free(x), free(w), free(b), free(h), free(ref), free(y1), free(y2);
}

int main(void)
{
    static const hcase cases[] = {
        {32, 12, 40, 1, 1, 1, 1},  /* pointwise */
        {16, 13, 20, 1, 3, 2, 1},  /* 3x3 stride 2 */
        {24, 10, 18, 3, 3, 2, 1},  /* grouped */
        {32, 16, 24, 1, 3, 1, 0},  /* 3x3 stride 1: Winograd for f32 */
    };
    if (!afk_pgemm_nr()) return check_report("conv_half (no packed GEMM here)");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) one(&cases[i]);
    return check_report("conv_half");
}
