/* graph/shape.h — shape inference and parameter resolution for the common IR.
 *
 * af_shape_infer_node() takes one node whose input shapes are known and
 *  - checks its inputs against the op's rules (ONNX semantics: numpy broadcasting, conv/pool
 *    output sizes, reshape 0/-1, slice clamping, ...), failing with AF_ERR_SHAPE and a message
 *    naming the node, e.g. "node 'Conv_0' (conv): input channels 3 != weight channels 4*1";
 *  - sets dtype, rank and dims of its outputs;
 *  - "resolves" its parameter inputs (see graph/ops.h): constant values move into node->p and
 *    the inputs are dropped (n_in shrinks). A parameter input that is not constant is
 *    AF_ERR_UNSUPPORTED ("node 'X' (reshape): the shape input 'foo' is not a constant").
 *    Axes are normalised to [0, rank); conv/pool auto_pad becomes NOTSET with explicit pads and
 *    kernel[] filled; Clip's min/max become alpha/beta.
 * Resolution is idempotent: running it again on a resolved node changes nothing.
 *
 * SHAPE and CONSTANT_OF_SHAPE compute their output's constant data directly (the caller then
 * removes the node; af_shape_infer_graph does so itself), unless their input has
 * data-dependent extents (docs/dynamic-shapes.md; graph/shape_dyn.c): then they stay.
 */
#ifndef AF_GRAPH_SHAPE_H
#define AF_GRAPH_SHAPE_H

#include "graph.h"

af_status af_shape_infer_node(af_graph *g, int node, af_err *err);

/* Runs af_shape_infer_node over all nodes in order and removes SHAPE / CONSTANT_OF_SHAPE
 * nodes once their output is constant. (Lowering has its own driver that also folds constants
 * between nodes; this one is for tests and graphs without foldable subgraphs.) */
af_status af_shape_infer_graph(af_graph *g, af_err *err);

#endif
