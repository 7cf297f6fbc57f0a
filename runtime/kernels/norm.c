/* runtime/kernels/norm.c — BATCHNORM (inference): y = (x - mean) / sqrt(var + eps) * scale + bias,
 * folded per channel into y = x * a + b. */
#include "internal.h"

#include <math.h>

af_status afk_batchnorm_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    static const char *const names[5] = {"X", "scale", "bias", "mean", "var"};
    for (int i = 0; i < 5; i++) {
        af_status st = afk_need_dtype("batchnorm", names[i], &in[i], AF_DTYPE_F32, err);
        if (st) return st;
    }
    af_status st = afk_need_dtype("batchnorm", "Y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    if (in[0].rank < 2 || !afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "batchnorm: X must be (N,C,...) and Y the same");
    for (int i = 1; i < 5; i++)
        if (af_tview_numel(&in[i]) != in[0].dims[1])
            return af_err_set(err, AF_ERR_SHAPE, "batchnorm: %s must have %lld elements",
                              names[i], (long long)in[0].dims[1]);
    return AF_OK;
}

// X (N,C,*) -> Y (N,C,*)
af_status afk_batchnorm_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const float *x = in[0].data, *scale = in[1].data, *bias = in[2].data;
    const float *mean = in[3].data, *var = in[4].data;
    float *y = out[0].data;
    int64_t N = in[0].dims[0], C = in[0].dims[1], S = afk_prod(&in[0], 2, in[0].rank);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            float a = scale[c] / sqrtf(var[c] + p->batchnorm.eps);
            float b = bias[c] - mean[c] * a;
            const float *xr = x + (n * C + c) * S;
            float *yr = y + (n * C + c) * S;
            for (int64_t i = 0; i < S; i++) yr[i] = xr[i] * a + b;
        }
    return AF_OK;
}
