/* importers/onnx/onnx_ops_indexing.c — ONNX → IR for indexing and selection:
 * TopK, ScatterND, ScatterElements, Scatter (opset 9/10), GatherND, OneHot, ReverseSequence,
 * MaxUnpool. */
#include "onnx_internal.h"

#include <stdio.h>
#include <string.h>

af_status onnx_map_topk(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, c->opset < 10 ? 1 : 2, c->opset < 10 ? 1 : 2, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "axis", -1, -AF_MAX_RANK, AF_MAX_RANK - 1, &p.topk.axis);
    if (st) return st;
    p.topk.largest = onnx_attr_i(c, nd, "largest", 1) != 0;
    p.topk.sorted = onnx_attr_i(c, nd, "sorted", 1) != 0;
    if (c->opset < 10) { /* k was an attribute: make it the input of the later opsets */
        int64_t k = onnx_attr_i(c, nd, "k", -1);
        char base[300];
        snprintf(base, sizeof base, "%s_k", nd->name);
        if (k < 0) return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'k' is missing");
        st = onnx_const_i64(c, base, &k, 1, &in[1]);
        if (st) return st;
    }
    int n_out = onnx_used_outputs(c, nd, 2);
    if (n_out > 1 && !nd->p->output[0][0])
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "output 0 has no name");
    return onnx_emit(c, nd, AF_OP_TOPK, in, 2, n_out, &p, NULL);
}

static af_status reduction_attr(onnx_ctx *c, const onnx_node *nd, int32_t *out)
{
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    char r[16];
    onnx_attr_s(c, nd, "reduction", "none", r, sizeof r);
    for (int i = 0; i < 5; i++)
        if (!strcmp(r, names[i])) {
            *out = i;
            return AF_OK;
        }
    return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "reduction '%s' is not supported", r);
}

/* ScatterND (arg AF_OP_SCATTER_ND), ScatterElements and Scatter (AF_OP_SCATTER_ELEMENTS). */
af_status onnx_map_scatter(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 3, 3, &n);
    if (st) return st;
    af_params p = {0};
    st = reduction_attr(c, nd, &p.scatter.reduction);
    if (!st && (af_op)nd->arg == AF_OP_SCATTER_ELEMENTS)
        st = onnx_attr_i32_in(c, nd, "axis", 0, -AF_MAX_RANK, AF_MAX_RANK - 1, &p.scatter.axis);
    return st ? st : onnx_emit(c, nd, (af_op)nd->arg, in, 3, 1, &p, NULL);
}

af_status onnx_map_gather_nd(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "batch_dims", 0, 0, AF_MAX_RANK - 1, &p.scatter.axis);
    return st ? st : onnx_emit(c, nd, AF_OP_GATHER_ND, in, 2, 1, &p, NULL);
}

af_status onnx_map_one_hot(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 3, 3, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "axis", -1, -AF_MAX_RANK, AF_MAX_RANK - 1, &p.one_hot.axis);
    return st ? st : onnx_emit(c, nd, AF_OP_ONE_HOT, in, 3, 1, &p, NULL);
}

af_status onnx_map_reverse_sequence(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "batch_axis", 1, 0, 1, &p.reverse_seq.batch_axis);
    if (!st) st = onnx_attr_i32_in(c, nd, "time_axis", 0, 0, 1, &p.reverse_seq.time_axis);
    if (!st && p.reverse_seq.batch_axis == p.reverse_seq.time_axis)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "batch_axis and time_axis are both %d",
                             (int)p.reverse_seq.time_axis);
    return st ? st : onnx_emit(c, nd, AF_OP_REVERSE_SEQUENCE, in, 2, 1, &p, NULL);
}

/* An ints attribute of count values (1..3 spatial dims, or 2x that for pads) into dst; def
 * fills every entry when absent. */
static af_status unpool_list(onnx_ctx *c, const onnx_node *nd, const char *attr, int count,
                             int32_t def, int32_t *dst)
{
    size_t n;
    const int64_t *v = onnx_attr_ints(c, nd, attr, &n);
    if (!v) {
        for (int i = 0; i < count; i++) dst[i] = def;
        return AF_OK;
    }
    if (n != (size_t)count)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute '%s' has %zu values, expected %d",
                             attr, n, count);
    for (int i = 0; i < count; i++) {
        if (v[i] < 0 || v[i] > INT32_MAX / 4)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute '%s' value out of range",
                                 attr);
        dst[i] = (int32_t)v[i];
    }
    return AF_OK;
}

af_status onnx_map_max_unpool(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 2, 3, &n);
    if (st) return st;
    size_t nk;
    if (!onnx_attr_ints(c, nd, "kernel_shape", &nk) || nk < 1 || nk > AF_MAX_SPATIAL)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "kernel_shape must list 1-3 spatial "
                             "dims");
    af_params p = {0};
    af_unpool_params *u = &p.unpool;
    int32_t pads[2 * AF_MAX_SPATIAL];
    u->nsp = (int32_t)nk;
    st = unpool_list(c, nd, "kernel_shape", u->nsp, 1, u->kernel);
    if (!st) st = unpool_list(c, nd, "strides", u->nsp, 1, u->stride);
    if (!st) st = unpool_list(c, nd, "pads", 2 * u->nsp, 0, pads);
    if (st) return st;
    for (int s = 0; s < u->nsp; s++) {
        if (u->kernel[s] < 1 || u->stride[s] < 1)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "kernel and strides must be >= 1");
        u->pad_begin[s] = pads[s];
        u->pad_end[s] = pads[u->nsp + s];
    }
    return onnx_emit(c, nd, AF_OP_MAX_UNPOOL, in, n > 2 && in[2] >= 0 ? 3 : 2, 1, &p, NULL);
}

/* NonMaxSuppression: its optional inputs must fold to constants (shape inference reads them). */
af_status onnx_map_nms(onnx_ctx *c, const onnx_node *nd)
{
    int in[5] = {-1, -1, -1, -1, -1}, n;
    af_status st = onnx_need(c, nd, in, 2, 5, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "center_point_box", 0, 0, 1, &p.nms.center_point_box);
    while (n > 2 && in[n - 1] < 0) n--; /* trailing omitted inputs */
    return st ? st : onnx_emit(c, nd, AF_OP_NMS, in, n, 1, &p, NULL);
}

af_status onnx_map_nonzero(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    return st ? st : onnx_emit(c, nd, AF_OP_NONZERO, in, 1, 1, NULL, NULL);
}

af_status onnx_map_compress(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    p.compress.flatten = onnx_attr(nd->p, "axis") == NULL;
    st = onnx_attr_i32_in(c, nd, "axis", 0, -AF_MAX_RANK, AF_MAX_RANK - 1, &p.compress.axis);
    return st ? st : onnx_emit(c, nd, AF_OP_COMPRESS, in, 2, 1, &p, NULL);
}
