/* graph/shape_quant.h — shape functions of the quantized-graph ops (graph/shape_quant.c). */
#ifndef AF_GRAPH_SHAPE_QUANT_H
#define AF_GRAPH_SHAPE_QUANT_H

#include "shape_impl.h"

af_status af_shape_quantize(af_graph *g, af_node *n, af_err *err);
af_status af_shape_dequantize(af_graph *g, af_node *n, af_err *err);
af_status af_shape_dyn_quantize(af_graph *g, af_node *n, af_err *err);
af_status af_shape_conv_integer(af_graph *g, af_node *n, af_err *err);
af_status af_shape_qlinear_conv(af_graph *g, af_node *n, af_err *err);
af_status af_shape_matmul_integer(af_graph *g, af_node *n, af_err *err);
af_status af_shape_qlinear_matmul(af_graph *g, af_node *n, af_err *err);
af_status af_shape_qlinear_gap(af_graph *g, af_node *n, af_err *err);
af_status af_shape_qlinear_binary(af_graph *g, af_node *n, af_err *err);
/* Checks scale s and zero point z (may be NULL) against x for QuantizeLinear /
 * DequantizeLinear and normalises p->axis; constant scales must be finite and non-zero. */
af_status af_shape_qparams(af_node *n, const af_tensor *x, const af_tensor *s,
                           const af_tensor *z, af_quant_params *p, af_err *err);

#endif
