/* importers/onnx/onnx_ops_extra.c — ONNX → IR for the conformance op set beyond the CNN core:
 * Expand, Where, Tile, CumSum, DepthToSpace, SpaceToDepth, GatherElements, LRN, Range, Trilu,
 * Size, ThresholdedRelu, CastLike and Dropout's mask. Einsum: onnx_ops_einsum.c. */
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nodes whose inputs map 1:1 (min..max present) and that carry no attributes. */
af_status onnx_map_plain(onnx_ctx *c, const onnx_node *nd)
{
    static const struct { af_op op; int min, max; } rows[] = {
        {AF_OP_EXPAND, 2, 2}, {AF_OP_WHERE, 3, 3}, {AF_OP_TILE, 2, 2},
        {AF_OP_RANGE, 3, 3},  {AF_OP_SIZE, 1, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (rows[i].op != (af_op)nd->arg) continue;
        int in[3], n;
        af_status st = onnx_need(c, nd, in, rows[i].min, rows[i].max, &n);
        return st ? st : onnx_emit(c, nd, rows[i].op, in, n, 1, NULL, NULL);
    }
    return onnx_node_err(c, nd, AF_ERR_INTERNAL, "no plain mapping");
}

af_status onnx_map_cumsum(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    p.cumsum.exclusive = onnx_attr_i(c, nd, "exclusive", 0) != 0;
    p.cumsum.reverse = onnx_attr_i(c, nd, "reverse", 0) != 0;
    return onnx_emit(c, nd, AF_OP_CUMSUM, in, 2, 1, &p, NULL);
}

af_status onnx_map_d2s(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "blocksize", 0, 1, 4096, &p.d2s.blocksize);
    if (st) return st;
    char mode[16];
    onnx_attr_s(c, nd, "mode", "DCR", mode, sizeof mode);
    if (!strcmp(mode, "CRD")) p.d2s.mode = AF_D2S_CRD;
    else if (strcmp(mode, "DCR"))
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    return onnx_emit(c, nd, (af_op)nd->arg, in, 1, 1, &p, NULL);
}

af_status onnx_map_gather_elements(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "axis", 0, -AF_MAX_RANK, AF_MAX_RANK - 1, &p.axis.axis);
    if (st) return st;
    return onnx_emit(c, nd, AF_OP_GATHER_ELEMENTS, in, 2, 1, &p, NULL);
}

af_status onnx_map_lrn(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    st = onnx_attr_i32_in(c, nd, "size", 0, 1, 1024, &p.lrn.size);
    if (st) return st;
    p.lrn.alpha = onnx_attr_f(c, nd, "alpha", 1e-4f);
    p.lrn.beta = onnx_attr_f(c, nd, "beta", 0.75f);
    p.lrn.bias = onnx_attr_f(c, nd, "bias", 1.0f);
    return onnx_emit(c, nd, AF_OP_LRN, in, 1, 1, &p, NULL);
}

af_status onnx_map_trilu(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 1, 2, &n);
    if (st) return st;
    af_params p = {0};
    p.trilu.upper = onnx_attr_i(c, nd, "upper", 1) != 0;
    return onnx_emit(c, nd, AF_OP_TRILU, in, in[1] >= 0 ? 2 : 1, 1, &p, NULL);
}

af_status onnx_map_thresholded_relu(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.unary.fn = AF_UNARY_THRESHOLDED_RELU;
    p.unary.alpha = onnx_attr_f(c, nd, "alpha", 1.0f);
    return onnx_emit(c, nd, AF_OP_UNARY, in, 1, 1, &p, NULL);
}

/* CastLike: a Cast to the dtype of the second input, which must be known here (a graph input
 * or a constant). */
af_status onnx_map_cast_like(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    const af_tensor *t = &c->g->tensors[in[1]];
    if (t->producer >= 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "target_type '%s' must be a graph input "
                             "or a constant", t->name);
    af_params p = {0};
    p.cast.to = t->dtype;
    return onnx_emit(c, nd, AF_OP_CAST, in, 1, 1, &p, NULL);
}

/* Dropout (inference): y = x; the optional mask output is all true (ones of x's shape). */
af_status onnx_map_dropout(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 1, 3, &n);
    if (st) return st;
    const Onnx__NodeProto *p = nd->p;
    int want_mask = p->n_output > 1 && onnx_consumed(c, p->output[1]);
    if (!want_mask) return onnx_emit(c, nd, AF_OP_IDENTITY, in, 1, 1, NULL, NULL);
    int out[2], shape;
    char base[300];
    snprintf(base, sizeof base, "%s_shape", nd->name);
    st = onnx_define(c, p->output[0], AF_DTYPE_F32, -1, NULL, &out[0]);
    if (!st) st = onnx_define(c, p->output[1], AF_DTYPE_BOOL, -1, NULL, &out[1]);
    if (!st) st = onnx_define_unique(c, base, AF_DTYPE_I64, -1, NULL, &shape);
    if (st) return st;
    af_params sp = {0}, cp = {0};
    sp.shape.end = INT32_MAX;
    cp.const_of_shape.dtype = AF_DTYPE_BOOL;
    cp.const_of_shape.value = 1.0;
    int a = af_graph_add_node(c->g, AF_OP_IDENTITY, nd->name, in, 1, &out[0], 1);
    int b = af_graph_add_node(c->g, AF_OP_SHAPE, base, in, 1, &shape, 1);
    int d = af_graph_add_node(c->g, AF_OP_CONSTANT_OF_SHAPE, p->output[1], &shape, 1, &out[1], 1);
    if (a < 0 || b < 0 || d < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[b].p = sp;
    c->g->nodes[d].p = cp;
    return AF_OK;
}
