/* importers/onnx/onnx_internal.h — private to importers/onnx: the import context, the value-name
 * map, attribute readers and node emitters shared by onnx_import.c, onnx_tensor.c and
 * onnx_ops.c. */
#ifndef AF_ONNX_INTERNAL_H
#define AF_ONNX_INTERNAL_H

#include "onnx.pb-c.h"
#include "onnx_import.h"

typedef struct onnx_slot {
    const char *key; /* not owned: a protobuf string or a graph tensor name */
    int value;       /* tensor index, or ONNX_RESERVED */
} onnx_slot;

#define ONNX_RESERVED (-2) /* a name the model defines later (kept free for it) */

/* a name → int map (keys not owned) */
typedef struct onnx_names {
    onnx_slot *slots;
    size_t cap, used;
    int next; /* the next "__N" suffix to try for a taken name */
} onnx_names;

typedef struct onnx_ctx {
    af_graph *g;
    af_err *err; /* never NULL */
    const char *base_dir;
    int opset;
    const Onnx__GraphProto *gp;
    onnx_slot *slots;
    size_t cap, used;
    /* a subgraph being expanded at lowering time (onnx_control.c) */
    const struct onnx_ctx *outer; /* enclosing scope: names not defined here are looked up there */
    onnx_names *all;              /* every tensor name of the graph (NULL at top level) */
    const char *suffix;           /* appended to the tensor names defined in this scope */
    char **keys;                  /* owned copies of this scope's names (with all) */
    size_t n_keys, cap_keys;
    struct onnx_names_reg *reg;   /* the graph's tensor names, shared by its placeholders */
} onnx_ctx;

/* One ONNX node being mapped. */
typedef struct onnx_node {
    const Onnx__NodeProto *p;
    const char *name; /* the IR node name */
    int arg;          /* the op table's argument (an af_unary_fn, af_op, ...) */
} onnx_node;

/* ---- names (onnx_util.c) ---- */
int onnx_name_get(const onnx_ctx *c, const char *name); /* index, ONNX_RESERVED, or -1 */
af_status onnx_name_put(onnx_ctx *c, const char *name, int value);
/* Adds tensor `name` (must not be defined yet) to the graph and the map; returns its index
 * in *idx. */
af_status onnx_define(onnx_ctx *c, const char *name, af_dtype dt, int rank, const int64_t *dims,
                      int *idx);
/* Adds a tensor named after base that collides with no model value; returns its index. */
af_status onnx_define_unique(onnx_ctx *c, const char *base, af_dtype dt, int rank,
                             const int64_t *dims, int *idx);
/* New constant tensors (data copied) with unique names derived from base. */
af_status onnx_const_i64(onnx_ctx *c, const char *base, const int64_t *v, int n, int *idx);
af_status onnx_const_f32(onnx_ctx *c, const char *base, const float *v, int n, int rank,
                         int *idx);
/* 1 if some node reads `name` or it is a graph output. */
int onnx_consumed(const onnx_ctx *c, const char *name);
/* How many of the node's outputs to map: up to the last one that is named and read (at least 1,
 * at most max). */
int onnx_used_outputs(const onnx_ctx *c, const onnx_node *nd, int max);

/* ---- attributes (onnx_util.c). A wrong attribute type records AF_ERR_FORMAT in c->err and
 * returns the default; mappers return c->err->code at the end. ---- */
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t onnx_attr_i(onnx_ctx *c, const onnx_node *nd, const char *name, int64_t def);
/* An int attribute that must lie in [lo, hi]; else AF_ERR_FORMAT "<name> N out of range". */
af_status onnx_attr_i32_in(onnx_ctx *c, const onnx_node *nd, const char *name, int64_t def,
                           int64_t lo, int64_t hi, int32_t *out);
float onnx_attr_f(onnx_ctx *c, const onnx_node *nd, const char *name, float def);
/* Copies a string attribute into buf (def when absent). */
void onnx_attr_s(onnx_ctx *c, const onnx_node *nd, const char *name, const char *def, char *buf,
                 size_t size);
/* Integer / float lists; NULL and *count 0 when absent. */
const int64_t *onnx_attr_ints(onnx_ctx *c, const onnx_node *nd, const char *name,
                              size_t *count);
const float *onnx_attr_floats(onnx_ctx *c, const onnx_node *nd, const char *name,
                              size_t *count);

/* ---- node helpers (onnx_util.c) ---- */
/* Fills err with "node 'NAME' (OpType): <message>". */
af_status onnx_node_err(onnx_ctx *c, const onnx_node *nd, af_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps the node's inputs to tensor indices (-1 for "" or absent, up to max). Fails when more
 * than max are given or a name is not defined before this node. */
af_status onnx_inputs(onnx_ctx *c, const onnx_node *nd, int *in, int max, int *n_in);
/* Adds the IR node with the node's first n_out outputs (further outputs must be unnamed or
 * unused; an unnamed one among the first n_out, after output 0, gets a fresh name). Returns its
 * index in *node (may be NULL). */
af_status onnx_emit(onnx_ctx *c, const onnx_node *nd, af_op op, const int *in, int n_in,
                    int n_out, const af_params *p, int *node);

/* Reads a whole regular file of at most 2 GiB (a protobuf message limit) into a fresh buffer
 * (onnx_tensor_file.c). */
af_status onnx_read_file(const char *path, void **buf, size_t *size, af_err *err);

/* ---- tensors (onnx_tensor.c) ---- */
/* ONNX data type → IR dtype: 0 direct, 1 DOUBLE (converted to f32), -1 unsupported. */
int onnx_dtype(int32_t onnx_type, af_dtype *out);
const char *onnx_dtype_name(int32_t onnx_type);
/* Defines `name` as a constant from tp (raw_data, typed fields or external data). */
af_status onnx_load_tensor(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name, int *idx);
/* Decodes tp into a fresh buffer of its IR dtype without defining a tensor. */
af_status onnx_decode_tensor(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name,
                             af_dtype *dt, int *rank, int64_t *dims, void **data);

/* ---- nodes (onnx_ops.c, onnx_ops_data.c) ---- */
typedef af_status (*onnx_map_fn)(onnx_ctx *c, const onnx_node *nd);
/* Maps ONNX node `index` (a Constant becomes a constant tensor, anything else one or more IR
 * nodes). Unknown ops and domains are AF_ERR_UNSUPPORTED. */
af_status onnx_map_node(onnx_ctx *c, const Onnx__NodeProto *p, int index);
/* Maps the inputs (at least min present, at most max) or fails naming the node. */
af_status onnx_need(onnx_ctx *c, const onnx_node *nd, int *in, int min, int max, int *n_in);
/* Converts an attribute list into a new i64 constant input named "<node>_<what>". */
af_status onnx_attr_input(onnx_ctx *c, const onnx_node *nd, const char *attr, const char *what,
                          int *idx);

af_status onnx_map_flatten(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_reshape(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_squeeze(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_transpose(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_concat(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_split(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_slice(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_gather(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_reduce(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_argreduce(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_pad(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_resize(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_upsample(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_shape(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_const_of_shape(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_plain(onnx_ctx *c, const onnx_node *nd); /* onnx_ops_extra.c */
af_status onnx_map_cumsum(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_d2s(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_gather_elements(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_lrn(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_trilu(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_thresholded_relu(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_cast_like(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_dropout(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_einsum(onnx_ctx *c, const onnx_node *nd); /* onnx_ops_einsum.c */
af_status onnx_map_instance_norm(onnx_ctx *c, const onnx_node *nd); /* onnx_ops_norm.c */
af_status onnx_map_layer_norm(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_group_norm(onnx_ctx *c, const onnx_node *nd);
/* recurrent ops */
af_status onnx_map_rnn(onnx_ctx *c, const onnx_node *nd); /* onnx_ops_rnn.c: LSTM, GRU, RNN */
/* onnx_ops_signal.c */
af_status onnx_map_grid_sample(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_roi_align(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_dft(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_stft(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_mel_weight_matrix(onnx_ctx *c, const onnx_node *nd);
/* onnx_ops_indexing.c */
af_status onnx_map_topk(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_scatter(onnx_ctx *c, const onnx_node *nd); /* arg: the IR op */
af_status onnx_map_gather_nd(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_one_hot(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_reverse_sequence(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_max_unpool(onnx_ctx *c, const onnx_node *nd);
/* onnx_ops_ops1.c */
af_status onnx_map_unary_ops1(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_bitshift(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_eye_like(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_det(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_window(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_nll_loss(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_sce_loss(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_mvn(onnx_ctx *c, const onnx_node *nd);
/* --freeze and model description */
#include "onnx_describe.h"
af_status onnx_apply_freeze(onnx_ctx *c, const af_onnx_options *o); /* onnx_freeze.c */

/* onnx_ops_quant.c */
af_status onnx_map_quantize(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_dyn_quantize(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_qconv(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_qmatmul(onnx_ctx *c, const onnx_node *nd);
/* Conv's attributes (group, auto_pad, kernel_shape, strides, dilations, pads) into cp. */
af_status onnx_conv_attrs(onnx_ctx *c, const onnx_node *nd, af_conv_params *cp);
af_status onnx_map_nms(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_nonzero(onnx_ctx *c, const onnx_node *nd);
af_status onnx_map_compress(onnx_ctx *c, const onnx_node *nd);

/* ---- graph structure (onnx_graph.c, onnx_control.c) ---- */
int onnx_names_get(const onnx_names *m, const char *name); /* -1 if absent */
int onnx_names_put(onnx_names *m, const char *name, int value); /* -1 on OOM */
void onnx_names_free(onnx_names *m);
/* Names a subgraph reads from its enclosing scopes (inputs of its nodes, and of nested
 * subgraphs, that it does not define), each once, into *names (malloc'd; strings point into
 * sg). */
af_status onnx_subgraph_refs(onnx_ctx *c, const Onnx__GraphProto *sg, const char ***names,
                             int *n);
/* The file indices of gp's nodes in a stable topological order (file order where legal):
 * *order is malloc'd. Inputs no node of gp produces must already be defined in c (graph
 * inputs, initializers, outer scopes). A cycle or an undefined input is AF_ERR_FORMAT naming
 * the node and the tensor. */
af_status onnx_sort_nodes(onnx_ctx *c, const Onnx__GraphProto *gp, int **order);
/* 1 if node p reads name, directly or from inside one of its subgraphs. */
int onnx_node_reads(const Onnx__NodeProto *p, const char *name);
/* If, Loop and Scan: a placeholder node that lowering's fold expands (onnx_control.c). */
af_status onnx_map_control(onnx_ctx *c, const onnx_node *nd);
/* Frees the scope's own map and key copies (not c->all). */
void onnx_scope_free(onnx_ctx *c);

#endif
