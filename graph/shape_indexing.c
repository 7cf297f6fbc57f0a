/* graph/shape_indexing.c — shape inference for indexing and selection: TopK,
 * ScatterND, ScatterElements, GatherND, OneHot, ReverseSequence, MaxUnpool. */
#include "shape_impl.h"

#include <string.h>

static int is_index(af_dtype t) { return t == AF_DTYPE_I32 || t == AF_DTYPE_I64; }

/* One integer from a constant (rank <= 1, one value) input; any numeric dtype (OneHot's depth
 * may be a float). */
static af_status const_scalar(af_graph *g, af_node *n, int k, const char *what, int64_t *out,
                              af_err *err)
{
    double v[1];
    int c;
    af_status st = sh_const_floats(g, n, k, what, v, 1, &c, err);
    if (st) return st;
    if (c != 1) return sh_err(n, err, AF_ERR_SHAPE, "the %s input must hold one value", what);
    if (!(v[0] >= -1e15 && v[0] <= 1e15)) /* NaN, inf or beyond int64 is UB to convert */
        return sh_err(n, err, AF_ERR_SHAPE, "the %s input %g is out of range", what, v[0]);
    *out = (int64_t)v[0];
    return AF_OK;
}

// x (..., n, ...) [k] -> values, indices (..., k, ...)
af_status af_shape_topk(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    af_topk_params *p = &n->p.topk;
    char s[96];
    int a;
    if (x->rank < 1) return sh_err(n, err, AF_ERR_SHAPE, "input must have rank >= 1");
    if (sh_axis(p->axis, x->rank, &a))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d", (int)p->axis,
                      x->rank);
    af_tensor *kt = sh_in(g, n, 1);
    int dyn_k = kt && !af_tensor_is_const(kt) && kt->capval;
    if (dyn_k) { /* k computed on every run (min(K, rows)): sized for its value at capacity */
        int64_t v[1];
        int c;
        uint64_t dynel;
        af_status st = sh_cap_ints(g, n, 1, "k", v, 1, &c, &dynel, err);
        if (st) return st;
        if (c != 1) return sh_err(n, err, AF_ERR_SHAPE, "the k input must hold one value");
        p->k = v[0];
    } else if (n->n_in > 1) {
        af_status st = const_scalar(g, n, 1, "k", &p->k, err);
        if (st) return st;
        n->n_in = 1;
    }
    if (p->k < 0 || p->k > x->dims[a])
        return sh_err(n, err, AF_ERR_SHAPE, "k = %lld does not fit axis %d of %s",
                      (long long)p->k, a, sh_str(x, s));
    p->axis = a;
    int64_t dims[AF_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[a] = p->k;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    if (n->n_out > 1) sh_set_out(g, n, 1, AF_DTYPE_I64, x->rank, dims);
    for (int k = 0; k < n->n_out; k++) g->tensors[n->out[k]].dyn = dyn_k ? (uint8_t)(1u << a) : 0;
    return AF_OK;
}

// data (d...), indices (i..., q), updates (i..., d[q:]...) -> data's shape
static af_status scatter_nd(af_graph *g, af_node *n, const af_tensor *d, const af_tensor *ix,
                            const af_tensor *u, af_err *err)
{
    char s1[96], s2[96], s3[96];
    int64_t q = ix->rank ? ix->dims[ix->rank - 1] : -1;
    int ok = ix->rank >= 1 && q <= d->rank && u->rank == ix->rank - 1 + d->rank - q;
    for (int i = 0; ok && i < ix->rank - 1; i++) ok = u->dims[i] == ix->dims[i];
    for (int i = 0; ok && i < d->rank - q; i++) ok = u->dims[ix->rank - 1 + i] == d->dims[q + i];
    if (!ok)
        return sh_err(n, err, AF_ERR_SHAPE, "data %s, indices %s and updates %s do not fit",
                      sh_str(d, s1), sh_str(ix, s2), sh_str(u, s3));
    sh_set_out(g, n, 0, d->dtype, d->rank, d->dims);
    return AF_OK;
}

// data (d...), indices (i...), updates (i...) -> data's shape
af_status af_shape_scatter(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *d = sh_in(g, n, 0), *ix = sh_in(g, n, 1), *u = sh_in(g, n, 2);
    char s1[96], s2[96];
    if (!ix || !u) return sh_err(n, err, AF_ERR_SHAPE, "indices and updates are required");
    if (!is_index(ix->dtype))
        return sh_err(n, err, AF_ERR_SHAPE, "indices must be i32 or i64, not %s",
                      af_dtype_name(ix->dtype));
    if (u->dtype != d->dtype)
        return sh_err(n, err, AF_ERR_SHAPE, "updates (%s) and data (%s) differ in dtype",
                      af_dtype_name(u->dtype), af_dtype_name(d->dtype));
    if ((unsigned)n->p.scatter.reduction > AF_SCATTER_MIN)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad reduction %d", (int)n->p.scatter.reduction);
    if (n->op == AF_OP_SCATTER_ND) return scatter_nd(g, n, d, ix, u, err);
    int a;
    if (d->rank < 1 || sh_axis(n->p.scatter.axis, d->rank, &a))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for %s",
                      (int)n->p.scatter.axis, sh_str(d, s1));
    int ok = ix->rank == d->rank && u->rank == ix->rank;
    for (int i = 0; ok && i < ix->rank; i++) ok = u->dims[i] == ix->dims[i];
    for (int i = 0; ok && i < ix->rank; i++) ok = i == a || ix->dims[i] <= d->dims[i];
    if (!ok)
        return sh_err(n, err, AF_ERR_SHAPE, "indices %s and updates %s do not fit data %s",
                      sh_str(ix, s1), sh_str(u, s2), sh_str(d, s2));
    n->p.scatter.axis = a;
    sh_set_out(g, n, 0, d->dtype, d->rank, d->dims);
    return AF_OK;
}

// data (b..., d...), indices (b..., i..., q) -> (b..., i..., d[b+q:]...)
af_status af_shape_gather_nd(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *d = sh_in(g, n, 0), *ix = sh_in(g, n, 1);
    char s1[96], s2[96];
    int b = n->p.scatter.axis;
    if (!is_index(ix->dtype))
        return sh_err(n, err, AF_ERR_SHAPE, "indices must be i32 or i64, not %s",
                      af_dtype_name(ix->dtype));
    int64_t q = ix->rank ? ix->dims[ix->rank - 1] : -1;
    int ok = b >= 0 && ix->rank >= 1 && b < ix->rank && b < d->rank && q >= 1 &&
             b + q <= d->rank;
    for (int i = 0; ok && i < b; i++) ok = d->dims[i] == ix->dims[i];
    int r = ok ? ix->rank - 1 + d->rank - b - (int)q : 0;
    if (!ok || r > AF_MAX_RANK)
        return sh_err(n, err, AF_ERR_SHAPE, "indices %s do not fit data %s with batch_dims %d",
                      sh_str(ix, s1), sh_str(d, s2), b);
    int64_t dims[AF_MAX_RANK];
    for (int i = 0; i < ix->rank - 1; i++) dims[i] = ix->dims[i];
    for (int i = b + (int)q; i < d->rank; i++) dims[ix->rank - 1 + i - b - (int)q] = d->dims[i];
    sh_set_out(g, n, 0, d->dtype, r, dims);
    return AF_OK;
}

// indices (i...) [depth, values (2)] -> (i[:axis]..., depth, i[axis:]...)
af_status af_shape_one_hot(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *ix = sh_in(g, n, 0);
    af_one_hot_params *p = &n->p.one_hot;
    int a;
    if (n->n_in == 3) {
        af_status st = const_scalar(g, n, 1, "depth", &p->depth, err);
        if (st) return st;
        n->in[1] = n->in[2];
        n->n_in = 2;
    }
    af_tensor *v = sh_in(g, n, 1);
    if (!v || af_tensor_numel(v) != 2 || v->rank > 1)
        return sh_err(n, err, AF_ERR_SHAPE, "values must hold two values (off, on)");
    if (p->depth < 1 || p->depth > ((int64_t)1 << 31))
        return sh_err(n, err, AF_ERR_SHAPE, "depth %lld out of range", (long long)p->depth);
    if (ix->rank + 1 > AF_MAX_RANK || sh_axis(p->axis, ix->rank + 1, &a))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d", (int)p->axis,
                      ix->rank + 1);
    p->axis = a;
    int64_t dims[AF_MAX_RANK];
    for (int i = 0, j = 0; i <= ix->rank; i++) dims[i] = i == a ? p->depth : ix->dims[j++];
    sh_set_out(g, n, 0, v->dtype, ix->rank + 1, dims);
    return AF_OK;
}

// x (T, B, ...) or (B, T, ...), sequence_lens (B) -> x's shape
af_status af_shape_reverse_sequence(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *l = sh_in(g, n, 1);
    const af_reverse_seq_params *p = &n->p.reverse_seq;
    char s1[96], s2[96];
    int ok = x->rank >= 2 && ((p->batch_axis == 0 && p->time_axis == 1) ||
                              (p->batch_axis == 1 && p->time_axis == 0));
    if (!ok)
        return sh_err(n, err, AF_ERR_SHAPE, "needs rank >= 2 and batch/time axes 0 and 1");
    if (!l || !is_index(l->dtype) || l->rank != 1 || l->dims[0] != x->dims[p->batch_axis])
        return sh_err(n, err, AF_ERR_SHAPE, "sequence_lens %s must be i64 (%lld) for input %s",
                      l ? sh_str(l, s1) : "missing", (long long)x->dims[p->batch_axis],
                      sh_str(x, s2));
    sh_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return AF_OK;
}

/* The unpooled size is (in-1)*stride + kernel - pads; a larger output_shape pads it at the end
 * (ONNX's reference). */
// X (N,C,*), I (N,C,*) [output_shape] -> Y (N,C,out_size...)
af_status af_shape_max_unpool(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *ix = sh_in(g, n, 1);
    af_unpool_params *p = &n->p.unpool;
    char s1[96], s2[96];
    if (x->rank != p->nsp + 2 || p->nsp < 1 || p->nsp > AF_MAX_SPATIAL || !ix ||
        ix->dtype != AF_DTYPE_I64 || ix->rank != x->rank ||
        memcmp(ix->dims, x->dims, sizeof(int64_t) * (size_t)x->rank))
        return sh_err(n, err, AF_ERR_SHAPE, "X %s and I %s must have the same (N,C,%d-D) shape, "
                      "I i64", sh_str(x, s1), ix ? sh_str(ix, s2) : "missing", (int)p->nsp);
    for (int s = 0; s < p->nsp; s++)
        if (p->kernel[s] < 1 || p->stride[s] < 1 || p->kernel[s] > (1 << 20) ||
            p->stride[s] > (1 << 20) || p->pad_begin[s] < 0 || p->pad_end[s] < 0 ||
            p->pad_begin[s] > (1 << 20) || p->pad_end[s] > (1 << 20) ||
            x->dims[2 + s] > ((int64_t)1 << 30))
            return sh_err(n, err, AF_ERR_SHAPE, "kernel, strides, pads or X %s out of range",
                          sh_str(x, s1));
    int64_t dims[AF_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int s = 0; s < p->nsp; s++) {
        int64_t def = (x->dims[2 + s] - 1) * p->stride[s] + p->kernel[s] - p->pad_begin[s] -
                      p->pad_end[s];
        dims[2 + s] = p->out_size[s] ? p->out_size[s] : def;
    }
    if (n->n_in > 2 && n->in[2] >= 0) {
        int64_t os[AF_MAX_RANK];
        int c;
        af_status st = sh_const_ints(g, n, 2, "output_shape", os, AF_MAX_RANK, &c, err);
        if (st) return st;
        if (c != x->rank || os[0] != x->dims[0] || os[1] != x->dims[1])
            return sh_err(n, err, AF_ERR_SHAPE, "output_shape does not fit X %s", sh_str(x, s1));
        for (int s = 0; s < p->nsp; s++) {
            if (os[2 + s] < dims[2 + s] || os[2 + s] > INT32_MAX)
                return sh_err(n, err, AF_ERR_SHAPE, "output_shape dim %d = %lld is below the "
                              "unpooled size %lld", 2 + s, (long long)os[2 + s],
                              (long long)dims[2 + s]);
            dims[2 + s] = os[2 + s];
            p->out_size[s] = (int32_t)os[2 + s];
        }
    }
    n->n_in = 2;
    for (int s = 0; s < p->nsp; s++)
        if (dims[2 + s] < 1)
            return sh_err(n, err, AF_ERR_SHAPE, "output dim %d is %lld", 2 + s,
                          (long long)dims[2 + s]);
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

/* Optional scalar input k of NonMaxSuppression into *out (1 when present). */
static af_status nms_scalar(af_graph *g, af_node *n, int k, const char *what, double *out,
                            int *present, af_err *err)
{
    *present = 0;
    if (!sh_in(g, n, k)) return AF_OK;
    double v[1];
    int c;
    af_status st = sh_const_floats(g, n, k, what, v, 1, &c, err);
    if (st) return st;
    if (c > 1) return sh_err(n, err, AF_ERR_SHAPE, "the %s input must hold one value", what);
    if (c == 1) *out = v[0], *present = 1;
    return AF_OK;
}


// boxes (B,S,4), scores (B,C,S) [max_output, iou, score_threshold] -> (B*C*min(max,S), 3) i64
af_status af_shape_nms(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *b = sh_in(g, n, 0), *sc = sh_in(g, n, 1);
    af_nms_params *p = &n->p.nms;
    char s1[96], s2[96];
    if (!sc || b->rank != 3 || b->dims[2] != 4 || sc->rank != 3 || sc->dims[0] != b->dims[0] ||
        sc->dims[2] != b->dims[1] || b->dtype != AF_DTYPE_F32 || sc->dtype != AF_DTYPE_F32)
        return sh_err(n, err, AF_ERR_SHAPE, "boxes %s must be (B,S,4) and scores %s (B,C,S), "
                      "both f32", sh_str(b, s1), sc ? sh_str(sc, s2) : "missing");
    if (af_tensor_is_const(b) && af_tensor_is_const(sc)) /* folding would fix the capacity */
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "constant boxes and scores are not supported");
    if (p->center_point_box != 0 && p->center_point_box != 1)
        return sh_err(n, err, AF_ERR_SHAPE, "center_point_box must be 0 or 1");
    if (n->n_in > 2) {
        double v[3] = {0, 0, 0};
        int have[3];
        static const char *const what[3] = {"max_output_boxes_per_class", "iou_threshold",
                                            "score_threshold"};
        for (int k = 0; k < 3; k++) {
            af_status st = nms_scalar(g, n, 2 + k, what[k], &v[k], &have[k], err);
            if (st) return st;
        }
        p->max_output = v[0] > 0 ? (v[0] < 1e12 ? (int64_t)v[0] : (int64_t)1e12) : 0;
        p->iou_threshold = (float)v[1];
        p->score_threshold = (float)v[2];
        p->has_score_threshold = have[2];
        n->n_in = 2;
    }
    int64_t per = p->max_output < b->dims[1] ? p->max_output : b->dims[1];
    int64_t dims[2] = {b->dims[0] * sc->dims[1] * per, 3};
    sh_set_out(g, n, 0, AF_DTYPE_I64, 2, dims);
    g->tensors[n->out[0]].dyn = 1; /* the rows: a capacity, each run sets its count */
    return AF_OK;
}

// x (d...) -> (rank, nnz) i64; nnz = numel(x) as the capacity unless x is constant
af_status af_shape_nonzero(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (x->rank < 1) return sh_err(n, err, AF_ERR_SHAPE, "needs an input of rank >= 1");
    int64_t dims[2] = {x->rank, af_tensor_numel(x)};
    if (af_tensor_is_const(x)) {
        dims[1] = 0;
        for (int64_t i = 0; i < af_tensor_numel(x); i++)
            dims[1] += af_dtype_get(x->dtype, x->data, (size_t)i) != 0;
    }
    sh_set_out(g, n, 0, AF_DTYPE_I64, 2, dims);
    g->tensors[n->out[0]].dyn = af_tensor_is_const(x) ? 0 : 2; /* nnz: set per run */
    return AF_OK;
}

// x (d...), condition (L) bool -> x with axis (or flattened x) cut to min(L, dim) as capacity,
// or to the number of true entries when the condition is constant
af_status af_shape_compress(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *c = sh_in(g, n, 1);
    af_compress_params *p = &n->p.compress;
    char s1[96];
    int a = 0;
    if (!c || c->rank != 1 || c->dtype != AF_DTYPE_BOOL)
        return sh_err(n, err, AF_ERR_SHAPE, "condition must be a 1-D bool tensor");
    if (!p->flatten && (x->rank < 1 || sh_axis(p->axis, x->rank, &a)))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for %s", (int)p->axis,
                      sh_str(x, s1));
    int64_t dims[AF_MAX_RANK], len = p->flatten ? af_tensor_numel(x) : x->dims[a];
    int r = p->flatten ? 1 : x->rank;
    if (!p->flatten) memcpy(dims, x->dims, sizeof dims);
    int64_t cap = c->dims[0] < len ? c->dims[0] : len;
    if (c->dims[0] > len)
        return sh_err(n, err, AF_ERR_SHAPE, "condition has %lld entries for %lld", 
                      (long long)c->dims[0], (long long)len);
    if (af_tensor_is_const(c)) {
        int64_t k = 0;
        for (int64_t i = 0; i < cap; i++) k += ((const uint8_t *)c->data)[i] != 0;
        cap = k;
    }
    p->axis = a;
    dims[p->flatten ? 0 : a] = cap;
    sh_set_out(g, n, 0, x->dtype, r, dims);
    af_tensor *y = &g->tensors[n->out[0]];
    y->dyn = af_tensor_is_const(c) ? 0 : (uint8_t)(1u << (p->flatten ? 0 : a));
    if (!p->flatten) y->dyn |= x->dyn & (uint8_t)~(1u << a);
    return AF_OK;
}
