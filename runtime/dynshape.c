/* runtime/dynshape.c — output extents of nodes reading or writing data-dependent tensors, on
 * each run (see dynshape.h). The rules mirror graph/shape*.c for the ops graph/shape_dyn.c
 * lets into a data-dependent region; what the converter fixed (axes, static dims) is taken
 * from the capacity views, what the data decide from the input views of this run. */
#include "dynshape.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

int af_dyn_sets_own(af_op op)
{
    return op == AF_OP_NMS || op == AF_OP_NONZERO || op == AF_OP_COMPRESS;
}

static int64_t int_at(const af_tview *v, int64_t i)
{
    return v->dtype == AF_DTYPE_I64 ? ((const int64_t *)v->data)[i]
                                    : ((const int32_t *)v->data)[i];
}

/* A run-time parameter input (a shape, TopK's k): i32/i64 with data and at least n values. */
static int int_input(const af_tview *v, int64_t n)
{
    return v->data && (v->dtype == AF_DTYPE_I64 || v->dtype == AF_DTYPE_I32) &&
           af_tview_numel(v) >= n;
}

static void copy_dims(af_tview *o, const af_tview *x)
{
    for (int i = 0; i < o->rank && i < x->rank; i++) o->dims[i] = x->dims[i];
}

/* numpy broadcasting of every input into out (same rank as the widest input). */
static af_status broadcast(const af_tview *in, int n_in, af_tview *o, af_err *err)
{
    for (int i = 0; i < o->rank; i++) {
        int64_t d = 1;
        for (int k = 0; k < n_in; k++) {
            int j = i - (o->rank - in[k].rank);
            if (j < 0 || !in[k].data) continue;
            int64_t e = in[k].dims[j];
            if (e != d && d != 1 && e != 1)
                return af_err_set(err, AF_ERR_SHAPE, "extents %lld and %lld do not broadcast "
                                  "on axis %d", (long long)d, (long long)e, i);
            if (e != 1) d = e;
        }
        o->dims[i] = d;
    }
    return AF_OK;
}

/* Reshape: the shape input of this run (0 copies, -1 infers), or the one data-dependent
 * output axis taking what the static ones leave. */
static af_status reshape(const af_params *p, const af_tview *in, int n_in, uint8_t in_dyn,
                         af_tview *o, uint8_t dyn, af_err *err)
{
    if (__builtin_popcount(dyn) > 1 && !(n_in > 1 && in[1].data)) {
        /* axes of extent 1 added or dropped: the k-th data-dependent axis of the output takes
         * the k-th of the input (graph/shape_dyn.c ones_only) */
        int j = 0;
        for (int i = 0; i < o->rank; i++) {
            if (!(dyn >> i & 1u)) continue;
            while (j < in[0].rank && !(in_dyn >> j & 1u)) j++;
            if (j >= in[0].rank)
                return af_err_set(err, AF_ERR_SHAPE, "reshape: data-dependent axes differ");
            o->dims[i] = in[0].dims[j++];
        }
        return AF_OK;
    }
    int64_t total = af_tview_numel(&in[0]), known = 1;
    int infer = -1;
    if (n_in > 1 && in[1].data && p->reshape.kind == AF_RESHAPE_RESHAPE) {
        if (!int_input(&in[1], 0) || af_tview_numel(&in[1]) != o->rank)
            return af_err_set(err, AF_ERR_SHAPE, "reshape: the shape has %lld entries for rank %d",
                              (long long)af_tview_numel(&in[1]), o->rank);
        for (int i = 0; i < o->rank; i++) {
            int64_t v = int_at(&in[1], i);
            if (v == 0 && !p->reshape.allowzero && i < in[0].rank) v = in[0].dims[i];
            if (v == -1) infer = i;
            else o->dims[i] = v;
        }
    } else {
        for (int i = 0; i < o->rank; i++)
            if (dyn >> i & 1u) infer = i;
    }
    for (int i = 0; i < o->rank; i++)
        if (i != infer && (o->dims[i] < 0 || __builtin_mul_overflow(known, o->dims[i], &known)))
            return af_err_set(err, AF_ERR_SHAPE, "reshape: bad target extent %lld",
                              (long long)o->dims[i]);
    if (infer >= 0) o->dims[infer] = known > 0 ? total / known : 0;
    if ((infer >= 0 ? known * o->dims[infer] : known) != total) /* <= total: no overflow */
        return af_err_set(err, AF_ERR_SHAPE, "reshape: %lld elements do not fill the shape",
                          (long long)total);
    return AF_OK;
}

/* Slice whose starts/ends are read on every run: [x, starts, ends, axes?, steps?]. */
static af_status slice_inputs(af_params *p, const af_tview *in, int n_in, af_tview *o,
                              af_err *err)
{
    int64_t c = af_tview_numel(&in[1]);
    int ok = c <= o->rank && int_input(&in[1], c) && int_input(&in[2], c) &&
             (n_in < 4 || !in[3].data || int_input(&in[3], c)) &&
             (n_in < 5 || !in[4].data || int_input(&in[4], c));
    copy_dims(o, &in[0]); /* the axes not sliced keep this run's extents */
    for (int a = 0; a < o->rank; a++) p->slice.start[a] = 0, p->slice.step[a] = 1;
    for (int64_t i = 0; ok && i < c; i++) {
        int64_t a = n_in > 3 && in[3].data ? int_at(&in[3], i) : i;
        int64_t step = n_in > 4 && in[4].data ? int_at(&in[4], i) : 1;
        if (a < 0) a += o->rank;
        ok = a >= 0 && a < o->rank && step != 0 && step != INT64_MIN;
        if (ok) {
            int64_t dim = in[0].dims[a], s = int_at(&in[1], i), e = int_at(&in[2], i);
            s = s < -dim ? -dim : s > dim ? dim : s; /* no overflow below */
            e = e < -dim - 1 ? -dim - 1 : e > dim ? dim : e;
            o->dims[a] = af_slice_extent(dim, s, e, step, &p->slice.start[a]);
            p->slice.step[a] = step;
        }
    }
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "slice: bad starts, ends, axes or steps");
}

static void slice(const af_params *p, const af_tview *x, af_tview *o, uint8_t dyn)
{
    for (int a = 0; a < o->rank; a++) {
        if (!(dyn >> a & 1u)) continue;
        int64_t s = p->slice.start[a], step = p->slice.step[a];
        if (s < 0 || step <= 0) { /* never converted so (graph/shape_data.c refuses it) */
            o->dims[a] = 0;
            continue;
        }
        int64_t end; /* the capacity's end: the bound as converted */
        if (__builtin_mul_overflow(o->dims[a], step, &end) || __builtin_add_overflow(end, s, &end))
            end = INT64_MAX;
        int64_t e = end < x->dims[a] ? end : x->dims[a];
        o->dims[a] = step > 0 && e > s ? (e - s + step - 1) / step : 0;
    }
}

// data (d...), indices (i...) -> (d[:a]..., i..., d[a+1:]...)
static void gather(int a, const af_tview *x, const af_tview *ix, af_tview *o)
{
    int j = 0;
    for (int i = 0; i < a; i++) o->dims[j++] = x->dims[i];
    for (int i = 0; i < ix->rank; i++) o->dims[j++] = ix->dims[i];
    for (int i = a + 1; i < x->rank; i++) o->dims[j++] = x->dims[i];
}

// data (b..., d...), indices (b..., i..., q) -> (b..., i..., d[b+q:]...)
static void gather_nd(int b, const af_tview *x, const af_tview *ix, af_tview *o)
{
    int r1 = ix->rank - 1, q = (int)ix->dims[r1];
    for (int i = 0; i < r1; i++) o->dims[i] = ix->dims[i];
    for (int i = b + q; i < x->rank; i++) o->dims[r1 + i - b - q] = x->dims[i];
}

static void reduce(const af_params *p, const af_tview *x, af_tview *o)
{
    for (int i = 0, j = 0; i < x->rank; i++) {
        int r = p->reduce.axes_mask >> i & 1u;
        if (r && !p->reduce.keepdims) continue;
        o->dims[j++] = r ? 1 : x->dims[i];
    }
}

static af_status topk(af_params *p, const af_tview *in, int n_in, af_tview *out, int n_out,
                      af_err *err)
{
    int a = p->topk.axis;
    if (a < 0 || a >= in[0].rank || (n_in > 1 && in[1].data && !int_input(&in[1], 1)))
        return af_err_set(err, AF_ERR_SHAPE, "topk: bad axis or k input");
    int64_t k = n_in > 1 && in[1].data ? int_at(&in[1], 0) : p->topk.k;
    if (k < 0 || k > in[0].dims[a])
        return af_err_set(err, AF_ERR_SHAPE, "topk: k = %lld for an axis of %lld", (long long)k,
                          (long long)in[0].dims[a]);
    p->topk.k = k;
    for (int o = 0; o < n_out; o++) {
        copy_dims(&out[o], &in[0]);
        out[o].dims[a] = k;
    }
    return AF_OK;
}

static af_status const_of_shape(const af_tview *s, af_tview *o, af_err *err)
{
    if (!int_input(s, 0) || af_tview_numel(s) != o->rank)
        return af_err_set(err, AF_ERR_SHAPE, "constant_of_shape: %lld extents for rank %d",
                          (long long)af_tview_numel(s), o->rank);
    for (int i = 0; i < o->rank; i++) o->dims[i] = int_at(s, i);
    return AF_OK;
}

/* Range with a data-dependent limit: ceil((limit - start) / delta) values, none below 0. */
static af_status range(const af_tview *in, int n_in, af_tview *o, af_err *err)
{
    if (n_in != 3 || !in[0].data || !in[1].data || !in[2].data || af_tview_numel(&in[0]) != 1 ||
        af_tview_numel(&in[1]) != 1 || af_tview_numel(&in[2]) != 1)
        return af_err_set(err, AF_ERR_SHAPE, "range: start, limit and delta must be one value each");
    double s = af_dtype_get(in[0].dtype, in[0].data, 0), l = af_dtype_get(in[1].dtype, in[1].data, 0);
    double d = af_dtype_get(in[2].dtype, in[2].data, 0), c = ceil((l - s) / d);
    if (d == 0 || !(c < 1e18)) /* NaN fails too */
        return af_err_set(err, AF_ERR_SHAPE, "range: bad start %g, limit %g or delta %g", s, l, d);
    o->dims[0] = c > 0 ? (int64_t)c : 0;
    return AF_OK;
}

/* 1 when the views fit what the rules index: axes in range, result ranks that match. */
static int rule_fits(af_op op, const af_params *p, const af_tview *in, int n_in,
                     const af_tview *out)
{
    int a = p->axis.axis, r = in[0].rank;
    switch (op) {
    case AF_OP_CONCAT:
        for (int k = 0; k < n_in; k++)
            if (in[k].rank != r) return 0;
        return a >= 0 && a < r;
    case AF_OP_SPLIT: return a >= 0 && a < r;
    case AF_OP_GATHER:
        return n_in == 2 && a >= 0 && a < r && r - 1 + in[1].rank == out[0].rank;
    case AF_OP_GATHER_ND: {
        int r1 = in[1].rank - 1, b = p->scatter.axis;
        int64_t q = r1 >= 0 ? in[1].dims[r1] : -1;
        return n_in == 2 && b >= 0 && q >= 1 && b + q <= r && r1 + (r - b - q) == out[0].rank;
    }
    case AF_OP_GATHER_ELEMENTS: return n_in == 2 && in[1].rank == out[0].rank;
    case AF_OP_REDUCE: return out[0].rank <= r;
    case AF_OP_SELECT:
        return n_in == 3 && in[0].data && in[0].dtype == AF_DTYPE_BOOL &&
               af_tview_numel(&in[0]) == 1 && in[1].rank == out[0].rank &&
               in[2].rank == out[0].rank;
    case AF_OP_ROI_ALIGN: return n_in == 3 && in[1].rank >= 1;
    default: return 1;
    }
}

/* Expand: to this run's shape input (kept when it depends on the data) broadcast with x, or
 * (a constant shape) x's extents on the data-dependent axes. */
static af_status expand(const af_tview *in, int n_in, af_tview *o, uint8_t dyn, af_err *err)
{
    const af_tview *x = &in[0];
    if (n_in > 1 && in[1].data) {
        int64_t r = af_tview_numel(&in[1]);
        if (!int_input(&in[1], 0) || r > o->rank)
            return af_err_set(err, AF_ERR_SHAPE, "expand: the shape has %lld entries for rank %d",
                              (long long)r, o->rank);
        for (int i = 0; i < o->rank; i++) {
            int j = i - (o->rank - (int)r), k = i - (o->rank - x->rank);
            int64_t s = j >= 0 ? int_at(&in[1], j) : 1, e = k >= 0 ? x->dims[k] : 1;
            if (s != e && s != 1 && e != 1)
                return af_err_set(err, AF_ERR_SHAPE, "expand: extent %lld does not broadcast "
                                  "to %lld", (long long)e, (long long)s);
            o->dims[i] = s == 1 ? e : s;
        }
        return AF_OK;
    }
    for (int i = 0; i < o->rank; i++) {
        int k = i - (o->rank - x->rank);
        if ((dyn >> i & 1u) && k >= 0) o->dims[i] = x->dims[k];
    }
    return AF_OK;
}

/* Resize with the sizes of this run (input 3): the output's extents, and the scales ONNX
 * derives from them (size / input extent, in f32) in p. */
static af_status resize(af_params *p, const af_tview *in, af_tview *o, af_err *err)
{
    if (!int_input(&in[3], 0) || af_tview_numel(&in[3]) != o->rank || in[0].rank != o->rank)
        return af_err_set(err, AF_ERR_SHAPE, "resize: %lld sizes for rank %d",
                          (long long)af_tview_numel(&in[3]), o->rank);
    for (int i = 0; i < o->rank; i++) {
        int64_t v = int_at(&in[3], i), x = in[0].dims[i];
        if (v < 0)
            return af_err_set(err, AF_ERR_SHAPE, "resize: size %lld on axis %d", (long long)v, i);
        o->dims[i] = v;
        /* an empty axis (a loop iteration past the run's count) keeps a valid scale */
        p->resize.scale[i] = x > 0 && v > 0 ? (float)v / (float)x : 1.0f;
    }
    return AF_OK;
}

/* Sets out's extents by op's rule (the static ones stay as converted). */
static af_status rule(af_op op, af_params *p, const af_tview *in, int n_in,
                      const uint8_t *in_dyn, af_tview *out, int n_out, const uint8_t *dyn,
                      af_err *err)
{
    if (!rule_fits(op, p, in, n_in, out))
        return af_err_set(err, AF_ERR_SHAPE, "%s: inputs do not fit its data-dependent "
                          "extents", af_op_name(op));
    switch (op) {
    case AF_OP_IDENTITY:
    case AF_OP_UNARY:
    case AF_OP_CAST:
    case AF_OP_SOFTMAX:
    case AF_OP_HARDMAX: copy_dims(&out[0], &in[0]); return AF_OK;
    case AF_OP_BINARY:
    case AF_OP_WHERE: return broadcast(in, n_in, &out[0], err);
    case AF_OP_RESHAPE: return reshape(p, in, n_in, in_dyn[0], &out[0], dyn[0], err);
    case AF_OP_TRANSPOSE:
        for (int i = 0; i < out[0].rank; i++) out[0].dims[i] = in[0].dims[p->transpose.perm[i]];
        return AF_OK;
    case AF_OP_CONCAT: {
        int a = p->axis.axis;
        int64_t sum = 0;
        for (int k = 0; k < n_in; k++)
            if (__builtin_add_overflow(sum, in[k].dims[a], &sum))
                return af_err_set(err, AF_ERR_SHAPE, "concat: extents overflow");
        copy_dims(&out[0], &in[0]);
        out[0].dims[a] = sum;
        return AF_OK;
    }
    case AF_OP_SPLIT:
        for (int k = 0; k < n_out; k++) {
            int64_t keep = out[k].dims[p->axis.axis];
            copy_dims(&out[k], &in[0]);
            out[k].dims[p->axis.axis] = keep;
        }
        return AF_OK;
    case AF_OP_SLICE:
        if (n_in >= 3) return slice_inputs(p, in, n_in, &out[0], err);
        slice(p, &in[0], &out[0], dyn[0]);
        return AF_OK;
    case AF_OP_GATHER: gather(p->axis.axis, &in[0], &in[1], &out[0]); return AF_OK;
    case AF_OP_GATHER_ELEMENTS: copy_dims(&out[0], &in[1]); return AF_OK;
    case AF_OP_GATHER_ND: gather_nd(p->scatter.axis, &in[0], &in[1], &out[0]); return AF_OK;
    case AF_OP_REDUCE: reduce(p, &in[0], &out[0]); return AF_OK;
    case AF_OP_TOPK: return topk(p, in, n_in, out, n_out, err);
    case AF_OP_CONSTANT_OF_SHAPE: return const_of_shape(&in[0], &out[0], err);
    case AF_OP_RANGE: return range(in, n_in, &out[0], err);
    case AF_OP_ROI_ALIGN: out[0].dims[0] = in[1].dims[0]; return AF_OK;
    case AF_OP_SCATTER_ND:
    case AF_OP_SCATTER_ELEMENTS: copy_dims(&out[0], &in[0]); return AF_OK;
    case AF_OP_EXPAND: return expand(in, n_in, &out[0], dyn[0], err);
    case AF_OP_PAD: /* constant pads, none on a data-dependent axis (graph/shape_dyn.c) */
        for (int i = 0; i < out[0].rank && i < in[0].rank; i++)
            out[0].dims[i] = in[0].dims[i] + p->pad.begin[i] + p->pad.end[i];
        return AF_OK;
    case AF_OP_GEMM:
    case AF_OP_MATMUL:
    case AF_OP_CONV:
    case AF_OP_CONV_TRANSPOSE:
    case AF_OP_POOL:
    case AF_OP_GLOBAL_POOL:
    case AF_OP_BATCHNORM:
        for (int k = 0; k < n_out; k++) out[k].dims[0] = in[0].dims[0];
        return AF_OK;
    case AF_OP_RESIZE:
        if (n_in >= 4 && in[3].data) return resize(p, in, &out[0], err);
        out[0].dims[0] = in[0].dims[0];
        return AF_OK;
    case AF_OP_SHAPE: return AF_OK; /* static shape; its kernel reads this run's extents */
    case AF_OP_SELECT:
        copy_dims(&out[0], *(const uint8_t *)in[0].data ? &in[1] : &in[2]);
        return AF_OK;
    default:
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s has no rule for data-dependent extents",
                          af_op_name(op));
    }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* NMS, NonZero, Compress: their kernels write at most the output view's extent and set it;
 * the view gets the capacity these inputs allow (at most the bundle's). */
static void own_capacity(af_op op, const af_params *p, const af_tview *in, af_tview *o)
{
    if (op == AF_OP_NMS) {
        int64_t per = min64(p->nms.max_output, in[0].dims[1]), rows;
        if (__builtin_mul_overflow(in[0].dims[0], in[1].dims[1], &rows) ||
            __builtin_mul_overflow(rows, per > 0 ? per : 0, &rows))
            return; /* more than the capacity anyway */
        o->dims[0] = min64(o->dims[0], rows);
    } else if (op == AF_OP_NONZERO) {
        o->dims[1] = min64(o->dims[1], af_tview_numel(&in[0]));
    } else if (p->compress.flatten) {
        o->dims[0] = min64(o->dims[0], min64(in[1].dims[0], af_tview_numel(&in[0])));
    } else {
        int a = p->compress.axis;
        if (a < 0 || a >= o->rank) return; /* the kernel's check refuses it */
        int64_t cap = o->dims[a];
        copy_dims(o, &in[0]);
        o->dims[a] = min64(cap, min64(in[1].dims[0], in[0].dims[a]));
    }
}

af_status af_dyn_out_shapes(af_op op, af_params *p, const af_tview *in, int n_in,
                            const uint8_t *in_dyn, af_tview *out, int n_out, const uint8_t *dyn,
                            af_err *err)
{
    if (af_dyn_sets_own(op)) {
        own_capacity(op, p, in, &out[0]);
        return AF_OK;
    }
    int64_t cap[16][AF_MAX_RANK];
    if (n_out > 16) return af_err_set(err, AF_ERR_UNSUPPORTED, "too many outputs");
    for (int k = 0; k < n_out; k++) memcpy(cap[k], out[k].dims, sizeof cap[k]);
    af_status st = rule(op, p, in, n_in, in_dyn, out, n_out, dyn, err);
    if (st) return st;
    for (int k = 0; k < n_out; k++)
        for (int i = 0; i < out[k].rank; i++) {
            int64_t d = out[k].dims[i], c = cap[k][i];
            int ok = (dyn[k] >> i & 1u) ? d >= 0 && d <= c : d == c;
            if (!ok)
                return af_err_set(err, AF_ERR_SHAPE, "output %d axis %d: extent %lld this run, "
                                  "%s %lld at conversion", k, i, (long long)d,
                                  (dyn[k] >> i & 1u) ? "capacity" : "fixed at", (long long)c);
        }
    return AF_OK;
}
