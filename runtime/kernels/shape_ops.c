/* runtime/kernels/shape_ops.c — Shape, ConstantOfShape, Range and Select at run time. The first
 * three fold to constants at conversion unless an input has data-dependent extents
 * (docs/dynamic-shapes.md): then Shape reports this run's extents, ConstantOfShape fills this
 * run's shape and Range this run's length (set by runtime/dynshape.c from its limit). Select
 * (an If on such extents) copies the branch its condition picks. */
#include "internal.h"

#include <string.h>

/* [start, end) of Shape's slice of the dims, clamped as ONNX does (opset 15). */
static void shape_range(const af_params *p, int rank, int64_t *s, int64_t *e)
{
    *s = p->shape.start, *e = p->shape.end;
    if (*s < 0) *s += rank;
    if (*e < 0) *e += rank;
    *s = *s < 0 ? 0 : *s > rank ? rank : *s;
    *e = *e < *s ? *s : *e > rank ? rank : *e;
}

af_status afk_shape_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    int64_t s, e;
    shape_range(p, in[0].rank, &s, &e);
    if (out[0].dtype != AF_DTYPE_I64 || out[0].rank != 1 || out[0].dims[0] != e - s)
        return af_err_set(err, AF_ERR_SHAPE, "shape: the output must be i64 (%lld)",
                          (long long)(e - s));
    return AF_OK;
}

// x (d...) -> (e - s) i64: d[s..e) of this run
af_status afk_shape_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    int64_t s, e, *y = out[0].data;
    shape_range(p, in[0].rank, &s, &e);
    for (int64_t i = s; i < e; i++) y[i - s] = in[0].dims[i];
    return AF_OK;
}

af_status afk_const_of_shape_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    int ok = (in[0].dtype == AF_DTYPE_I64 || in[0].dtype == AF_DTYPE_I32) && in[0].rank <= 1 &&
             af_tview_numel(&in[0]) == out[0].rank && (int32_t)out[0].dtype == p->const_of_shape.dtype;
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "constant_of_shape: shapes do not fit");
}

// shape (r) -> (shape...) filled with the value
af_status afk_const_of_shape_run(AFK_RUN_ARGS)
{
    (void)in, (void)n_in, (void)n_out, (void)ctx, (void)err;
    int64_t n = af_tview_numel(&out[0]);
    size_t es = af_dtype_size(out[0].dtype);
    if (n <= 0) return AF_OK;
    af_dtype_set(out[0].dtype, out[0].data, 0, p->const_of_shape.value);
    for (int64_t i = 1; i < n; i++)
        memcpy((char *)out[0].data + (size_t)i * es, out[0].data, es);
    return AF_OK;
}

af_status afk_range_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    int ok = out[0].rank == 1 && out[0].dtype != AF_DTYPE_BOOL;
    for (int k = 0; ok && k < 3; k++)
        ok = in[k].dtype == out[0].dtype && af_tview_numel(&in[k]) == 1;
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "range: start, limit and delta must be "
                                   "single values of the output's dtype");
}

// start (), limit (), delta () -> (n) start + i * delta, n set for this run by the limit
af_status afk_range_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    af_dtype dt = out[0].dtype;
    double s = af_dtype_get(dt, in[0].data, 0), d = af_dtype_get(dt, in[2].data, 0);
    int is_float = af_dtype_table[dt].is_float;
    if (is_float) s = (double)(float)s, d = (double)(float)d; /* as folding does */
    for (int64_t i = 0; i < out[0].dims[0]; i++)
        af_dtype_set(dt, out[0].data, (size_t)i, s + (double)i * d);
    return AF_OK;
}

af_status afk_select_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    int ok = in[0].dtype == AF_DTYPE_BOOL && af_tview_numel(&in[0]) == 1 &&
             in[1].dtype == out[0].dtype && in[2].dtype == out[0].dtype &&
             in[1].rank == out[0].rank && in[2].rank == out[0].rank;
    /* the input copied must fit: with data-dependent extents the other one may be larger
     * than this run's output (a loop-carried value past the run's trip count) */
    const af_tview *x = ok && in[0].data && !*(const uint8_t *)in[0].data ? &in[2] : &in[1];
    for (int i = 0; ok && i < out[0].rank; i++) ok = x->dims[i] <= out[0].dims[i];
    if (ok) return AF_OK;
    char a[96], b[96], o[96];
    return af_err_set(err, AF_ERR_SHAPE, "select: shapes do not fit (%s and %s into %s)",
                      afk_shape_str(&in[1], a, sizeof a),
                      afk_shape_str(&in[2], b, sizeof b),
                      afk_shape_str(&out[0], o, sizeof o));
}

// cond (), a, b -> a copy of a (cond) or b, with its extents (set by runtime/dynshape.c)
af_status afk_select_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_tview *x = *(const uint8_t *)in[0].data ? &in[1] : &in[2];
    size_t bytes = (size_t)af_tview_numel(x) * af_dtype_size(x->dtype);
    if (bytes) memmove(out[0].data, x->data, bytes);
    for (int i = 0; i < x->rank; i++) out[0].dims[i] = x->dims[i];
    return AF_OK;
}
