/* importers/onnx/onnx_ops_norm.c — InstanceNormalization, LayerNormalization (opset 17) and
 * GroupNormalization (opset 18) → INSTANCE_NORM, LAYER_NORM, GROUP_NORM. */
#include "onnx_internal.h"

#include <stdint.h>

static af_status eps_attr(onnx_ctx *c, const onnx_node *nd, float *eps)
{
    *eps = onnx_attr_f(c, nd, "epsilon", 1e-5f);
    if (!(*eps >= 0.0f))
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "epsilon must be >= 0");
    return AF_OK;
}

/* InstanceNormalization [input, scale, B] */
af_status onnx_map_instance_norm(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 3, 3, &n);
    af_params p = {0};
    if (!st) st = eps_attr(c, nd, &p.norm.eps);
    if (st) return st;
    return onnx_emit(c, nd, AF_OP_INSTANCE_NORM, in, 3, 1, &p, NULL);
}

/* LayerNormalization [X, Scale, B?] → [Y, Mean?, InvStdDev?] (statistics in f32). */
af_status onnx_map_layer_norm(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 2, 3, &n);
    af_params p = {0};
    if (!st) st = eps_attr(c, nd, &p.norm.eps);
    if (st) return st;
    st = onnx_attr_i32_in(c, nd, "axis", -1, -AF_MAX_RANK, AF_MAX_RANK - 1, &p.norm.axis);
    if (st) return st;
    int64_t stash = onnx_attr_i(c, nd, "stash_type", 1);
    if (stash != 1)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "stash_type %lld is not supported "
                             "(statistics are computed in f32)", (long long)stash);
    return onnx_emit(c, nd, AF_OP_LAYER_NORM, in, n > 2 && in[2] >= 0 ? 3 : 2,
                     onnx_used_outputs(c, nd, 3), &p, NULL);
}

/* GroupNormalization-18 [X, scale (G), bias (G)] (per group; the kernel also takes (C)). */
af_status onnx_map_group_norm(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 3, 3, &n);
    af_params p = {0};
    if (!st) st = eps_attr(c, nd, &p.norm.eps);
    if (st) return st;
    if (!onnx_attr(nd->p, "num_groups"))
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'num_groups' is missing");
    int64_t groups = onnx_attr_i(c, nd, "num_groups", 1);
    if (groups < 1 || groups > INT32_MAX)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "bad num_groups %lld", (long long)groups);
    p.norm.num_groups = (int32_t)groups;
    return onnx_emit(c, nd, AF_OP_GROUP_NORM, in, 3, 1, &p, NULL);
}
