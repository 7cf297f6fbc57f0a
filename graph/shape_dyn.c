/* graph/shape_dyn.c — data-dependent extents (docs/dynamic-shapes.md).
 *
 * NonZero, NonMaxSuppression and Compress produce a tensor whose extent along one axis depends
 * on the data. Such a tensor keeps a static capacity in dims[] (an upper bound the arena is
 * planned for) and a bit in af_tensor.dyn per axis whose actual extent each run sets. After an
 * op's shape function has computed the capacity shape of its outputs, af_dyn_infer() says which
 * output axes are data-dependent, from which input axes are, by the op's own rule. An op
 * without a rule refuses such inputs in one line naming the node.
 *
 * Small integer tensors computed from such extents (Shape → Gather → Unsqueeze → Concat →
 * ReduceMin → TopK's k) are not constants: they carry their values at capacity (capval, used
 * to size what they parameterise) and a bit per element that depends on the data (dynel); the
 * nodes stay in the program and recompute them on every run. */
#include "shape_impl.h"

#include <stdlib.h>
#include <string.h>

int sh_is_dyn(const af_tensor *t) { return t && (t->dyn || t->capval); }

int sh_any_dyn_input(af_graph *g, const af_node *n)
{
    for (int k = 0; k < n->n_in; k++)
        if (sh_is_dyn(sh_in(g, n, k))) return 1;
    return 0;
}

/* The first input with a data-dependent extent, named in a one-line refusal. */
static af_status refuse(af_graph *g, af_node *n, af_err *err)
{
    for (int k = 0; k < n->n_in; k++) {
        const af_tensor *t = sh_in(g, n, k);
        if (!t || !t->dyn) continue;
        int d = 0;
        while (!(t->dyn & (1u << d))) d++;
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input '%s' has a data-dependent extent on "
                      "axis %d (at most %lld), which this op does not take yet", t->name, d,
                      (long long)t->dims[d]);
    }
    for (int k = 0; k < n->n_in; k++) {
        const af_tensor *t = sh_in(g, n, k);
        if (t && t->capval)
            return sh_err(n, err, AF_ERR_UNSUPPORTED, "input '%s' depends on %s, which this op "
                          "does not take yet", t->name,
                          t->vbound ? "bounded tensor values" : "a data-dependent extent");
    }
    return AF_OK;
}

/* x's mask aligned to the right of an output of rank r (numpy broadcasting). */
static uint8_t bcast_mask(const af_tensor *x, int r)
{
    return x ? (uint8_t)(x->dyn << (r - x->rank)) : 0;
}

/* Reshape of x with one data-dependent axis d into y: the y axis that takes it is the one
 * where the products before and after it divide those of x around d and its extent is d's
 * times the rest (the axis merged with neighbours). -1 when there is none. */
static int reshape_axis(const af_tensor *x, const af_tensor *y, int d)
{
    int64_t before = sh_prod(x->dims, 0, d), after = sh_prod(x->dims, d + 1, x->rank);
    for (int j = 0; j < y->rank; j++) {
        int64_t yb = sh_prod(y->dims, 0, j), ya = sh_prod(y->dims, j + 1, y->rank);
        if (yb <= 0 || ya <= 0 || before % yb || after % ya) continue;
        if (y->dims[j] == x->dims[d] * (before / yb) * (after / ya)) return j;
    }
    return -1;
}

/* A reshape that only adds or drops axes of extent 1: *m = x's data-dependent axes at their
 * places in y (the k-th data-dependent axis of y is the k-th of x). -1 for another reshape. */
static int ones_only(const af_tensor *x, const af_tensor *y, uint8_t *m)
{
    int j = 0;
    *m = 0;
    for (int i = 0; i < x->rank; i++) {
        int xd = x->dyn >> i & 1u;
        if (x->dims[i] == 1 && !xd) continue;
        while (j < y->rank && y->dims[j] == 1 && x->dims[i] != 1) j++;
        if (j >= y->rank || y->dims[j] != x->dims[i]) return -1;
        if (xd) *m |= (uint8_t)(1u << j);
        j++;
    }
    for (; j < y->rank; j++)
        if (y->dims[j] != 1) return -1;
    return 0;
}

/* Reshape of x with several data-dependent axes into y where one axis j of y is the product
 * of the run of x's axes from the first data-dependent one to the last (17×h×w → 17×(h·w);
 * compact data, so a view): j, or -1 when there is none. */
static int merged_axis(const af_tensor *x, const af_tensor *y)
{
    int a = -1, b = -1;
    for (int i = 0; i < x->rank; i++)
        if (x->dyn >> i & 1u) b = i, a = a < 0 ? i : a;
    if (a < 0) return -1;
    int64_t before = sh_prod(x->dims, 0, a), after = sh_prod(x->dims, b + 1, x->rank);
    int64_t mid = sh_prod(x->dims, a, b + 1);
    for (int j = 0; j < y->rank; j++)
        if (sh_prod(y->dims, 0, j) == before && sh_prod(y->dims, j + 1, y->rank) == after &&
            y->dims[j] == mid)
            return j;
    return -1;
}

static af_status dyn_reshape(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *y = &g->tensors[n->out[0]], *s = sh_in(g, n, 1);
    if (s && s->capval && n->p.reshape.kind == AF_RESHAPE_RESHAPE) { /* set by shape_reshape */
        return AF_OK;
    }
    if (!x->dyn) {
        y->dyn = 0;
        return AF_OK;
    }
    int d = 0, bits = 0;
    for (int i = 0; i < x->rank; i++)
        if (x->dyn & (1u << i)) d = i, bits++;
    uint8_t m;
    if (bits > 1 && ones_only(x, y, &m) == 0) { /* Squeeze/Unsqueeze-like: axes map in order */
        y->dyn = m;
        return AF_OK;
    }
    int j = bits == 1 ? reshape_axis(x, y, d) : merged_axis(x, y);
    if (j < 0)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "reshaping '%s' (data-dependent extent on "
                      "%d axis(es)) into a shape where that extent has no single axis is not "
                      "supported", x->name, bits);
    y->dyn = (uint8_t)(1u << j);
    return AF_OK;
}

// data (d...), indices (i...) -> (d[:a]..., i..., d[a+1:]...)
static uint8_t gather_mask(const af_tensor *x, const af_tensor *ix, int a)
{
    uint32_t lo = x->dyn & ((1u << a) - 1), hi = (uint32_t)x->dyn >> (a + 1);
    return (uint8_t)(lo | (uint32_t)ix->dyn << a | hi << (a + ix->rank));
}

// data (b..., d...), indices (b..., i..., q) -> (b..., i..., d[b+q:]...)
static af_status dyn_gather_nd(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *ix = sh_in(g, n, 1), *y = &g->tensors[n->out[0]];
    int r1 = ix->rank - 1;
    if (ix->dyn & (1u << r1))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "indices '%s' have a data-dependent last "
                      "axis", ix->name);
    int64_t q = ix->dims[r1];
    int from = n->p.scatter.axis + (int)q;
    uint32_t m = ix->dyn & ((1u << r1) - 1);
    m |= ((uint32_t)x->dyn >> from) << r1;
    y->dyn = (uint8_t)m;
    return AF_OK;
}

static af_status dyn_reduce(af_graph *g, af_node *n)
{
    af_tensor *x = sh_in(g, n, 0), *y = &g->tensors[n->out[0]];
    uint32_t axes = n->p.reduce.axes_mask, m = 0;
    for (int i = 0, j = 0; i < x->rank; i++) {
        if ((axes & (1u << i)) && !n->p.reduce.keepdims) continue;
        if (!(axes & (1u << i)) && (x->dyn & (1u << i))) m |= 1u << j;
        j++;
    }
    y->dyn = (uint8_t)m;
    return AF_OK;
}

/* Conv, pooling and the like over a batch of data-dependent size (Mask R-CNN's heads): only
 * axis 0 may be data-dependent; the output's axis 0 follows it. */
static af_status dyn_batch_only(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    for (int k = 1; k < n->n_in; k++)
        if (sh_is_dyn(sh_in(g, n, k))) return refuse(g, n, err);
    if (x->dyn & ~1u) return refuse(g, n, err);
    for (int k = 0; k < n->n_out; k++) g->tensors[n->out[k]].dyn = x->dyn;
    return AF_OK;
}

/* Pad (Mask R-CNN pads its masks by one pixel before pasting them): constant pads, none along
 * a data-dependent axis, which the output keeps. */
static af_status dyn_pad(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    for (int a = 0; a < x->rank; a++)
        if ((x->dyn >> a & 1u) && (n->p.pad.begin[a] || n->p.pad.end[a]))
            return sh_err(n, err, AF_ERR_UNSUPPORTED, "padding '%s' along its data-dependent "
                          "axis %d is not supported", x->name, a);
    g->tensors[n->out[0]].dyn = x->dyn;
    return AF_OK;
}

static af_status dyn_elementwise(af_graph *g, af_node *n)
{
    uint8_t m = 0;
    af_tensor *y = &g->tensors[n->out[0]];
    for (int k = 0; k < n->n_in; k++) m |= bcast_mask(sh_in(g, n, k), y->rank);
    for (int k = 0; k < n->n_out; k++) g->tensors[n->out[k]].dyn = m;
    return AF_OK;
}

static af_status dyn_concat(af_graph *g, af_node *n)
{
    uint8_t m = 0;
    for (int k = 0; k < n->n_in; k++) m |= sh_in(g, n, k)->dyn;
    g->tensors[n->out[0]].dyn = m;
    return AF_OK;
}

static af_status dyn_transpose(af_graph *g, af_node *n)
{
    af_tensor *x = sh_in(g, n, 0), *y = &g->tensors[n->out[0]];
    uint8_t m = 0;
    for (int i = 0; i < x->rank; i++)
        if (x->dyn & (1u << n->p.transpose.perm[i])) m |= (uint8_t)(1u << i);
    y->dyn = m;
    return AF_OK;
}

static af_status dyn_split(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (x->dyn & (1u << n->p.axis.axis))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "splitting '%s' along its data-dependent "
                      "axis %d is not supported", x->name, (int)n->p.axis.axis);
    for (int k = 0; k < n->n_out; k++) g->tensors[n->out[k]].dyn = x->dyn;
    return AF_OK;
}

static int any_dyn_extent(af_graph *g, const af_node *n)
{
    for (int k = 0; k < n->n_in; k++) {
        const af_tensor *t = sh_in(g, n, k);
        if (t && t->dyn) return 1;
    }
    return 0;
}

/* Ops that take inputs with data-dependent extents (their rules are in af_dyn_infer). */
static int takes_dyn(af_op op)
{
    switch (op) {
    case AF_OP_IDENTITY: case AF_OP_UNARY: case AF_OP_CAST: case AF_OP_BINARY:
    case AF_OP_WHERE: case AF_OP_SOFTMAX: case AF_OP_HARDMAX: case AF_OP_RESHAPE:
    case AF_OP_TRANSPOSE: case AF_OP_CONCAT: case AF_OP_SPLIT: case AF_OP_SLICE:
    case AF_OP_GATHER: case AF_OP_GATHER_ELEMENTS: case AF_OP_GATHER_ND: case AF_OP_REDUCE:
    case AF_OP_TOPK: case AF_OP_SHAPE: case AF_OP_NMS: case AF_OP_NONZERO:
    case AF_OP_ROI_ALIGN: case AF_OP_CONV: case AF_OP_CONV_TRANSPOSE: case AF_OP_POOL:
    case AF_OP_GLOBAL_POOL: case AF_OP_BATCHNORM: case AF_OP_RESIZE: case AF_OP_SELECT:
    case AF_OP_MATMUL: case AF_OP_GEMM: case AF_OP_SCATTER_ND: case AF_OP_SCATTER_ELEMENTS:
    case AF_OP_EXPAND: case AF_OP_PAD:
        return 1;
    default: return 0;
    }
}

af_status af_dyn_check(af_graph *g, af_node *n, af_err *err)
{
    return any_dyn_extent(g, n) && !takes_dyn(n->op) ? refuse(g, n, err) : AF_OK;
}

af_status af_dyn_infer(af_graph *g, af_node *n, af_err *err)
{
    if (!any_dyn_extent(g, n)) { /* values only (or nothing): static shapes */
        if (n->op == AF_OP_TOPK || n->op == AF_OP_RESHAPE || n->op == AF_OP_CONSTANT_OF_SHAPE ||
            n->op == AF_OP_NMS || n->op == AF_OP_NONZERO || n->op == AF_OP_COMPRESS ||
            n->op == AF_OP_SELECT || n->op == AF_OP_EXPAND || n->op == AF_OP_SLICE ||
            n->op == AF_OP_RANGE || n->op == AF_OP_RESIZE)
            return AF_OK; /* set by their shape functions */
        for (int k = 0; sh_any_dyn_input(g, n) && k < n->n_out; k++)
            g->tensors[n->out[k]].dyn = 0;
        return AF_OK;
    }
    af_tensor *x = sh_in(g, n, 0);
    switch (n->op) {
    case AF_OP_IDENTITY:
    case AF_OP_UNARY:
    case AF_OP_CAST:
    case AF_OP_BINARY:
    case AF_OP_WHERE: return dyn_elementwise(g, n);
    case AF_OP_SOFTMAX:
    case AF_OP_HARDMAX:
        g->tensors[n->out[0]].dyn = x->dyn;
        return AF_OK;
    case AF_OP_RESHAPE: return dyn_reshape(g, n, err);
    case AF_OP_TRANSPOSE: return dyn_transpose(g, n);
    case AF_OP_CONCAT: return dyn_concat(g, n);
    case AF_OP_SPLIT: return dyn_split(g, n, err);
    case AF_OP_SLICE: return AF_OK; /* set by af_shape_slice (bounds checked there) */
    case AF_OP_GATHER:
        g->tensors[n->out[0]].dyn = gather_mask(x, sh_in(g, n, 1), n->p.axis.axis);
        return AF_OK;
    case AF_OP_GATHER_ELEMENTS:
        g->tensors[n->out[0]].dyn = sh_in(g, n, 1)->dyn;
        return AF_OK;
    case AF_OP_GATHER_ND: return dyn_gather_nd(g, n, err);
    case AF_OP_REDUCE: return dyn_reduce(g, n);
    case AF_OP_TOPK: { /* the k axis is set by af_shape_topk when k is data-dependent */
        uint8_t a = (uint8_t)(1u << n->p.topk.axis), keep = g->tensors[n->out[0]].dyn & a;
        uint8_t m = (uint8_t)((x->dyn & ~a) | keep);
        for (int k = 0; k < n->n_out; k++) g->tensors[n->out[k]].dyn = m;
        return AF_OK;
    }
    case AF_OP_SHAPE:
    case AF_OP_SELECT:
    case AF_OP_NMS:
    case AF_OP_NONZERO:
    case AF_OP_COMPRESS: return AF_OK; /* their shape functions set what is data-dependent */
    case AF_OP_ROI_ALIGN: {
        af_tensor *r = sh_in(g, n, 1), *b = sh_in(g, n, 2);
        if (x->dyn || (r->dyn & ~1u) || r->capval || b->capval) return refuse(g, n, err);
        g->tensors[n->out[0]].dyn = (uint8_t)((r->dyn | b->dyn) & 1u);
        return AF_OK;
    }
    case AF_OP_CONV:
    case AF_OP_CONV_TRANSPOSE:
    case AF_OP_POOL:
    case AF_OP_GLOBAL_POOL:
    case AF_OP_BATCHNORM: return dyn_batch_only(g, n, err);
    case AF_OP_RESIZE: /* sizes read on every run: set by af_shape_resize */
        if (n->n_in >= 4 && sh_is_dyn(sh_in(g, n, 3)) && !(x->dyn & ~1u)) return AF_OK;
        return dyn_batch_only(g, n, err);
    case AF_OP_GEMM: /* rows of A (not transposed) */
        if (n->p.gemm.trans_a) return refuse(g, n, err);
        return dyn_batch_only(g, n, err);
    case AF_OP_MATMUL: /* rows of A, or its leading batch axis */
        if (x->rank < 2) return refuse(g, n, err);
        return dyn_batch_only(g, n, err);
    case AF_OP_EXPAND: { /* a kept (run-time) shape: set by af_shape_expand */
        af_tensor *y = &g->tensors[n->out[0]];
        if (n->n_in < 2) y->dyn = bcast_mask(x, y->rank);
        else y->dyn |= bcast_mask(x, y->rank);
        return AF_OK;
    }
    case AF_OP_PAD: return dyn_pad(g, n, err);
    case AF_OP_SCATTER_ND:
    case AF_OP_SCATTER_ELEMENTS: /* data's shape; indices and updates follow the data's run */
        g->tensors[n->out[0]].dyn = x->dyn;
        return AF_OK;
    default: return refuse(g, n, err); /* af_dyn_check refused it already */
    }
}

/* ---- values that depend on data-dependent extents ---------------------------------------- */

int64_t sh_int_at(const af_tensor *t, const void *data, int64_t i)
{
    return t->dtype == AF_DTYPE_I64 ? ((const int64_t *)data)[i] : ((const int32_t *)data)[i];
}

af_status sh_cap_ints(af_graph *g, const af_node *n, int k, const char *what, int64_t *vals,
                      int max, int *count, uint64_t *dynel, af_err *err)
{
    af_tensor *t = sh_in(g, n, k);
    *dynel = 0;
    if (!t || !t->capval || af_tensor_is_const(t))
        return sh_const_ints(g, n, k, what, vals, max, count, err);
    int64_t m = af_tensor_numel(t);
    if (t->rank > 1 || m < 0 || m > max ||
        (t->dtype != AF_DTYPE_I64 && t->dtype != AF_DTYPE_I32))
        return sh_err(n, err, AF_ERR_SHAPE, "the %s input '%s' must be 1-D i32/i64 with at "
                      "most %d values", what, t->name, max);
    for (int64_t i = 0; i < m; i++) vals[i] = sh_int_at(t, t->capval, i);
    *count = (int)m;
    *dynel = t->dynel;
    return AF_OK;
}

// cond (bool scalar), a, b -> a or b: capacities the larger of the two per axis
af_status af_shape_select(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *c = sh_in(g, n, 0), *a = sh_in(g, n, 1), *b = sh_in(g, n, 2);
    char s1[96], s2[96];
    if (!c || !a || !b || c->dtype != AF_DTYPE_BOOL || af_tensor_numel(c) != 1)
        return sh_err(n, err, AF_ERR_SHAPE, "needs a bool scalar condition and two values");
    if (a->dtype != b->dtype || a->rank != b->rank)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "the branches give %s %s and %s %s: "
                      "different dtypes or ranks are not supported", af_dtype_name(a->dtype),
                      sh_str(a, s1), af_dtype_name(b->dtype), sh_str(b, s2));
    int64_t dims[AF_MAX_RANK];
    uint8_t m = a->dyn | b->dyn;
    for (int i = 0; i < a->rank; i++) {
        dims[i] = a->dims[i] > b->dims[i] ? a->dims[i] : b->dims[i];
        if (a->dims[i] != b->dims[i]) m |= (uint8_t)(1u << i);
    }
    sh_set_out(g, n, 0, a->dtype, a->rank, dims);
    g->tensors[n->out[0]].dyn = m;
    return AF_OK;
}
