/* runtime/kernels/softmax.c — SOFTMAX and LogSoftmax on any axis.
 * Opset >= 13: normalise along `axis` alone. legacy (opset < 13): the input is flattened to
 * (prod dims < axis, prod dims >= axis) and each row is normalised. */
#include "internal.h"
#include "simd512.h"

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

#if defined(__x86_64__) || defined(__i386__)
/* Softmax of one contiguous row of n, 16 lanes: the max (NaN skipped, as above), e^(x - max)
 * by expneg16 (within 2.1e-7 relative of e^, simd512.h), their f32 lane sums, then y = e / sum
 * (LogSoftmax: x - max - log sum). */
AFK_TGT512 static void row512(const float *x, float *y, int64_t n, int log_form)
{
    __m512 vm = _mm512_set1_ps(-INFINITY), vs = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        vm = _mm512_mask_max_ps(vm, k, _mm512_maskz_loadu_ps(k, x + i), vm);
    }
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 e = expneg16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mx));
        vs = _mm512_mask_add_ps(vs, k, vs, e);
        if (!log_form) _mm512_mask_storeu_ps(y + i, k, e);
    }
    float sum = _mm512_reduce_add_ps(vs);
    if (log_form) {
        const __m512 lse = _mm512_add_ps(mx, _mm512_set1_ps(logf(sum)));
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
            _mm512_mask_storeu_ps(y + i, k, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), lse));
        }
        return;
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), inv));
    }
}
#endif

typedef struct sm_job {
    const float *x;
    float *y;
    int64_t outer, n, inner, rows; /* rows: outer rows per task */
    int log_form;
} sm_job;

/* Rows [t*rows, (t+1)*rows) of the outer index: each line alone, so any thread count agrees. */
static void sm_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const sm_job *j = arg;
    for (int64_t o = t * j->rows; o < (t + 1) * j->rows && o < j->outer; o++)
        for (int64_t i = 0; i < j->inner; i++) {
            int64_t base = o * j->n * j->inner + i;
#if defined(__x86_64__) || defined(__i386__)
            if (j->inner == 1 && afk_vec_have512()) {
                row512(j->x + base, j->y + base, j->n, j->log_form);
                continue;
            }
#endif
            softmax_line(j->x + base, j->y + base, j->n, j->inner, j->log_form);
        }
}

// x (outer, n, inner) -> y, normalised along n
af_status afk_softmax_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    const af_softmax_params *sp = &p->softmax;
    int r = in[0].rank, axis = sp->axis;
    sm_job j = {.x = in[0].data, .y = out[0].data, .log_form = sp->log,
                .outer = afk_prod(&in[0], 0, axis < r ? axis : r)};
    j.n = axis < r ? (sp->legacy ? afk_prod(&in[0], axis, r) : in[0].dims[axis]) : 1;
    j.inner = sp->legacy || axis >= r ? 1 : afk_prod(&in[0], axis + 1, r);
    /* tasks of at least 16K values, so small softmaxes do not pay the pool's hand-off */
    int64_t per = j.n * j.inner > 0 ? j.n * j.inner : 1;
    j.rows = (16384 + per - 1) / per;
    if (j.outer > 0) afk_parallel(ctx, (j.outer + j.rows - 1) / j.rows, sm_task, &j);
    return AF_OK;
}
