/* importers/onnx/onnx_import.h — ONNX model → common IR graph (graph/graph.h).
 *
 * Reads a ModelProto (protobuf-c code generated from the system onnx.proto), default-domain
 * opsets 1..21, into the canonical "as imported" form of graph/ops.h: older attribute forms
 * (Squeeze axes, Slice starts/ends, Pad pads, Clip min/max, Reduce axes, Split sizes, Upsample
 * scales) become i64/f32 constant input tensors; Constant nodes become constant tensors;
 * initializers (also those listed as graph inputs) become constants; external data is read
 * from files next to the model. Node and tensor names are kept (unnamed nodes become
 * "<OpType>_<index>"). Output shapes are left unknown: graph/shape.h infers them. Nodes are
 * sorted topologically (stable); If/Loop/Scan become AF_OP_CONTROL placeholders that lowering's
 * fold expands once their condition / trip count is constant (onnx_control.c).
 *
 * Every graph input must end up with a fully known shape: dims given as parameters ('N') are
 * overridden by af_onnx_options.shapes (the CLI's --input-shape NAME=D0,D1,...).
 *
 * Errors: one line starting with the file (display) name, e.g.
 *   "model.onnx: node 'uniq' uses unsupported op 'Unique'" (AF_ERR_UNSUPPORTED),
 *   "x.onnx is not a valid ONNX model: ..." (AF_ERR_FORMAT), missing external file (AF_ERR_IO),
 *   unknown input dims (AF_ERR_SHAPE), a shape override for a non-input (AF_ERR_USAGE).
 */
#ifndef AF_ONNX_IMPORT_H
#define AF_ONNX_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

typedef struct af_input_shape {
    const char *name;
    int rank;
    int64_t dims[AF_MAX_RANK];
} af_input_shape;

/* --freeze NAME=FILE.npy: graph input NAME becomes a constant holding this tensor. dtype must
 * be the input's; rank and every declared (known) dim must match. data is copied. */
typedef struct af_onnx_freeze {
    const char *name;
    af_dtype dtype;
    int rank;
    int64_t dims[AF_MAX_RANK];
    const void *data;
} af_onnx_freeze;

typedef struct af_onnx_options {
    const af_input_shape *shapes; /* overrides for graph inputs, matched by name */
    int n_shapes;
    int allow_unknown_dims;       /* keep unknown input dims (-1) instead of failing: inspect */
    const af_onnx_freeze *freeze; /* inputs made constants (a name that is no input: AF_ERR_USAGE;
                                   * a dtype/shape mismatch: AF_ERR_SHAPE) */
    int n_freeze;
} af_onnx_options;

/* Reads path (and external data relative to its folder) into g (initialised by the caller with
 * af_graph_init). opt may be NULL. On failure the message starts with the file path; g then
 * holds a partial graph that the caller frees with af_graph_free. */
af_status af_onnx_import_file(const char *path, const af_onnx_options *opt, af_graph *g,
                              af_err *err);

/* Same from a buffer. base_dir is the folder external data is relative to (NULL: a model with
 * external data is refused). display_name names the model in messages (NULL: "<memory>"). */
af_status af_onnx_import_memory(const void *buf, size_t size, const char *base_dir,
                                const char *display_name, const af_onnx_options *opt,
                                af_graph *g, af_err *err);

/* A tensor read from a serialized TensorProto file (e.g. the ONNX test data's input_0.pb). */
typedef struct af_onnx_tensor {
    char name[256];
    int32_t onnx_type; /* the file's ONNX data type (DOUBLE data arrives narrowed to f32) */
    af_dtype dtype;
    int rank;
    int64_t dims[AF_MAX_RANK];
    void *data;        /* owned: af_onnx_tensor_free */
} af_onnx_tensor;

/* Reads path with the initializer decoding rules; unsupported data types are
 * AF_ERR_UNSUPPORTED, external data AF_ERR_FORMAT. */
af_status af_onnx_read_tensor_file(const char *path, af_onnx_tensor *t, af_err *err);
void af_onnx_tensor_free(af_onnx_tensor *t);

#endif
