/* importers/onnx/onnx_ops_quant.c — ONNX → IR for quantized graphs:
 * QuantizeLinear, DequantizeLinear (per-tensor, per-axis, opset 21 blocked),
 * DynamicQuantizeLinear, ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul.
 *
 * A DequantizeLinear of constant int8/uint8 codes (a QDQ weight) also gets the INT8 blob of
 * the model's own codes, scales and zero points on its output (compress/enc_qdq.c); lowering
 * folds the node to the f32 weight and the converter stores that blob instead of re-encoding. */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../../compress/enc_qdq.h"

/* opset 21 output_dtype: 0 (from the zero point, else uint8), UINT8 (2) or INT8 (3). */
static af_status out_dtype(onnx_ctx *c, const onnx_node *nd, int32_t *to)
{
    int64_t t = onnx_attr_i(c, nd, "output_dtype", 0);
    if (t == 0 || t == 2) *to = AF_DTYPE_U8;
    else if (t == 3) *to = AF_DTYPE_I8;
    else return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "output_dtype %lld: only int8 and "
                              "uint8 are supported", (long long)t);
    return AF_OK;
}

/* The pre-quantized weight blob of a DequantizeLinear with constant inputs. */
static af_status attach_weight_blob(onnx_ctx *c, int node, const int *in, int n)
{
    af_graph *g = c->g;
    const af_node *dq = &g->nodes[node];
    const af_tensor *q = &g->tensors[in[0]], *s = &g->tensors[in[1]];
    const af_tensor *z = n > 2 && in[2] >= 0 ? &g->tensors[in[2]] : NULL;
    if (!q->data || !s->data || (z && !z->data)) return AF_OK;
    af_cblob b;
    if (af_enc_qdq(q, s, z, dq->p.quant.axis, dq->p.quant.block_size, &b, c->err) != AF_OK)
        return c->err->code;
    af_tensor *y = &g->tensors[dq->out[0]];
    free(y->blob);
    y->blob = b.data;
    y->blob_bytes = b.bytes;
    return AF_OK;
}

/* Scales and zero points are stored exactly (never rounded to fp16): a rounded activation
 * scale would move quantization codes, which the model fixes. */
static void keep_raw(onnx_ctx *c, const int *in, int n, unsigned skip_mask)
{
    for (int k = 0; k < n; k++)
        if (in[k] >= 0 && !((skip_mask >> k) & 1u) && c->g->tensors[in[k]].data)
            c->g->tensors[in[k]].flags |= AF_TENSOR_KEEP_RAW;
}

af_status onnx_map_quantize(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n, node;
    af_status st = onnx_need(c, nd, in, 2, 3, &n);
    if (st) return st;
    af_params p = {0};
    int64_t axis = onnx_attr_i(c, nd, "axis", 1), block = onnx_attr_i(c, nd, "block_size", 0);
    if (axis < -AF_MAX_RANK || axis >= AF_MAX_RANK || block < 0 || block > INT32_MAX)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "axis %lld or block_size %lld out of range",
                             (long long)axis, (long long)block);
    p.quant.axis = (int32_t)axis;
    p.quant.block_size = (int32_t)block;
    if ((af_op)nd->arg == AF_OP_QUANTIZE && (st = out_dtype(c, nd, &p.quant.to))) return st;
    if (n == 3 && in[2] < 0) n = 2;
    keep_raw(c, in, n, 1u);
    st = onnx_emit(c, nd, (af_op)nd->arg, in, n, 1, &p, &node);
    if (st || (af_op)nd->arg != AF_OP_DEQUANTIZE) return st;
    const af_tensor *x = &c->g->tensors[in[0]];
    if (x->data && x->dtype == AF_DTYPE_I32) /* a QDQ bias: kept exact, never fp16 */
        c->g->tensors[c->g->nodes[node].out[0]].flags |= AF_TENSOR_KEEP_RAW;
    return attach_weight_blob(c, node, in, n);
}

af_status onnx_map_dyn_quantize(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    return st ? st : onnx_emit(c, nd, AF_OP_DYN_QUANTIZE, in, 1, 3, NULL, NULL);
}

af_status onnx_map_qconv(onnx_ctx *c, const onnx_node *nd)
{
    int lin = (af_op)nd->arg == AF_OP_QLINEAR_CONV, in[9], n;
    af_status st = onnx_need(c, nd, in, lin ? 8 : 2, lin ? 9 : 4, &n);
    if (st) return st;
    af_params p;
    st = onnx_conv_attrs(c, nd, &p.conv);
    if (st) return st;
    while (n > 2 && in[n - 1] < 0) n--; /* trailing omitted optionals */
    if (lin) keep_raw(c, in, n, 1u | 8u);
    return onnx_emit(c, nd, (af_op)nd->arg, in, n, 1, &p, NULL);
}

af_status onnx_map_qmatmul(onnx_ctx *c, const onnx_node *nd)
{
    int lin = (af_op)nd->arg == AF_OP_QLINEAR_MATMUL, in[8], n;
    af_status st = onnx_need(c, nd, in, lin ? 8 : 2, lin ? 8 : 4, &n);
    if (st) return st;
    while (n > 2 && in[n - 1] < 0) n--;
    if (lin) keep_raw(c, in, n, 1u | 8u);
    return onnx_emit(c, nd, (af_op)nd->arg, in, n, 1, NULL, NULL);
}
