/* runtime/kernels/softmax.c — SOFTMAX and LogSoftmax on any axis.
 * Opset >= 13: normalise along `axis` alone. legacy (opset < 13): the input is flattened to
 * (prod dims < axis, prod dims >= axis) and each row is normalised. */
#include "internal.h"

#include <math.h>

af_status afk_softmax_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    af_status st = afk_need_dtype("softmax", "x", &in[0], AF_DTYPE_F32, err);
    if (!st) st = afk_need_dtype("softmax", "y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    if (!afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "softmax: output shape differs from input");
    int axis = p->softmax.axis, r = in[0].rank;
    if (axis < 0 || (axis >= r && !(r == 0 && axis == 0)))
        return af_err_set(err, AF_ERR_SHAPE, "softmax: axis %d out of range for rank %d", axis, r);
    return AF_OK;
}

/* Softmax of n values spaced `stride` apart. */
static void softmax_line(const float *x, float *y, int64_t n, int64_t stride, int log_form)
{
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i * stride] > mx ? x[i * stride] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float e = expf(x[i * stride] - mx);
        if (!log_form) y[i * stride] = e;
        sum += e;
    }
    if (log_form) {
        float lse = mx + (float)log(sum);
        for (int64_t i = 0; i < n; i++) y[i * stride] = x[i * stride] - lse;
    } else {
        float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < n; i++) y[i * stride] *= inv;
    }
}

// x (outer, n, inner) -> y, normalised along n
af_status afk_softmax_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_softmax_params *sp = &p->softmax;
    int r = in[0].rank, axis = sp->axis;
    int64_t outer = afk_prod(&in[0], 0, axis < r ? axis : r);
    int64_t n = axis < r ? (sp->legacy ? afk_prod(&in[0], axis, r) : in[0].dims[axis]) : 1;
    int64_t inner = sp->legacy || axis >= r ? 1 : afk_prod(&in[0], axis + 1, r);
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            softmax_line(x + base, y + base, n, inner, sp->log);
        }
    return AF_OK;
}
