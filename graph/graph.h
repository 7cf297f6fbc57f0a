/* graph/graph.h — the common IR: a graph of tensors and nodes.
 *
 * Tensors and nodes live in growable arrays and are referred to by index (int). A node is
 * removed by setting its op to AF_OP_NONE; af_graph_compact() drops removed nodes and
 * unreferenced tensors and renumbers. Nodes are kept in topological order (the verifier checks
 * it). Every tensor has exactly one producer: a node, a graph input, or constant data (SSA).
 *
 * Ownership: the graph owns every name and every constant buffer.
 */
#ifndef AF_GRAPH_GRAPH_H
#define AF_GRAPH_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dtype.h"
#include "error.h"
#include "ops.h"

#define AF_TENSOR_INPUT 0x1u  /* a graph input */
#define AF_TENSOR_OUTPUT 0x2u /* a graph output */
#define AF_TENSOR_INITIALIZER 0x8u /* an ONNX initializer (weights are bound to these by name) */
#define AF_TENSOR_KEEP_RAW 0x4u /* a constant that must be stored exactly (no fp16/compression) */

/* How a constant tensor is encoded in a bundle (compress/ picks; fp32 and fp16 for now).
 * Values are stored in bundles: append only. */
typedef enum af_encoding {
    AF_ENC_RAW = 0,  /* stored in its own dtype, unchanged */
    AF_ENC_FP16 = 1, /* f32 data stored as IEEE half, widened at load */
    /* compressed f32 weights: the bytes are t->blob (a self-describing blob with a 16-byte
     * header, docs/bundle-format.md "Compressed weight blobs"), made by compress/ */
    AF_ENC_INT8 = 2,      /* int8 + fp16 scale (+ int8 zero point), per tensor or per dim-0 row */
    AF_ENC_INT4_LUT = 3,  /* 4-bit indices into 16-entry fp16 tables, per group of dim-0 rows */
    AF_ENC_SPARSE = 4,    /* 1-bit mask + fp16 non-zeros */
    AF_ENC_BLOCKWISE = 5, /* int4/int8 blocks along the trailing extent, fp16 scale + offset */
    AF_ENC_PALETTE = 6,   /* 1..8-bit indices into fp16 tables per group of dim-0 rows, optional
                             fp16 scale per row (INT4_LUT is its 4-bit unscaled case) */
    AF_ENC_COUNT
} af_encoding;

typedef struct af_tensor {
    char *name;
    af_dtype dtype;
    int rank;                   /* -1 while unknown */
    int64_t dims[AF_MAX_RANK];  /* -1 for a dimension not yet known */
    void *data;                 /* constant data (owned), NULL for activations */
    uint32_t flags;             /* AF_TENSOR_* */
    int producer;               /* node index, -1 for inputs and constants */
    /* set by lowering's memory plan / compress */
    int64_t mem_offset;         /* byte offset in the activation arena, -1 if none */
    af_encoding encoding;       /* for constants */
    uint8_t *blob;              /* owned: stored bytes for the compressed encodings, else NULL */
    uint64_t blob_bytes;
    /* data-dependent extents (docs/dynamic-shapes.md): bit i set = dims[i] is a capacity (an
     * upper bound) and each run sets the actual extent */
    uint8_t dyn;
    /* a small integer activation whose values depend on data-dependent extents (Shape of such a
     * tensor and what is computed from it): its values when every extent is at capacity
     * (owned, numel elements of dtype), and bit e of dynel = element e (e < 64) depends on the
     * data; the node stays in the program and recomputes them on every run */
    void *capval;
    uint64_t dynel;
    /* value bounds (lowering/bounds.c): a non-constant activation whose values lie in
     * [vb[2e], vb[2e+1]] for element e (vb_n = its element count) or in [vb[0], vb[1]] for
     * every element (vb_n = 1); owned, NULL (vb_n = 0) when unbounded. vbound: its capval holds
     * the bounds' hi (an upper bound from the data, not values at capacity) */
    double *vb;
    int64_t vb_n;
    uint8_t vbound;
} af_tensor;

typedef struct af_node {
    char *name;
    af_op op;
    int n_in, n_out;
    int *in;   /* tensor indices; -1 for an omitted optional input */
    int *out;
    af_params p;
} af_node;

typedef struct af_graph {
    af_tensor *tensors;
    int n_tensors, cap_tensors;
    af_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs, n_inputs;   /* tensor indices, in declaration order */
    int *outputs, n_outputs;
    int opset;               /* ONNX default-domain opset the graph came from (0 if none) */
    char *source;            /* e.g. the model file name, for messages and metadata */
    /* control flow the importer left for lowering's fold to expand */
    struct af_deferred *deferred;
    int n_deferred;
} af_graph;

/* an AF_OP_CONTROL node's expansion (If/Loop/Scan). expand appends nodes
 * that produce the placeholder node's outputs from its inputs (they may include further
 * AF_OP_CONTROL nodes); fold (lowering/fold.c) then removes the placeholder and moves the new
 * nodes into its place. It fails naming the node when what it needs is not constant. */
typedef struct af_deferred {
    af_status (*expand)(af_graph *g, int node, void *ctx, af_err *err);
    void (*free)(void *ctx);
    void *ctx; /* owned: freed with free() by af_graph_free */
} af_deferred;

void af_graph_init(af_graph *g);
void af_graph_free(af_graph *g);

/* Adds a tensor (rank -1 = unknown; dims may be NULL). Returns its index, or -1 on OOM.
 * Names need not be unique in the input, but importers keep them unique. */
int af_graph_add_tensor(af_graph *g, const char *name, af_dtype dtype, int rank,
                        const int64_t *dims);
/* Adds a tensor with a name derived from base that is unique in the graph. */
int af_graph_add_tensor_unique(af_graph *g, const char *base, af_dtype dtype, int rank,
                               const int64_t *dims);
int af_graph_find_tensor(const af_graph *g, const char *name); /* -1 if absent */

/* Gives constant data to tensor t (takes ownership of data, frees any old data). */
void af_tensor_set_data(af_tensor *t, void *data);

/* Appends a node. in/out are copied. Returns the node index or -1 on OOM. Sets the
 * producer of each output. */
int af_graph_add_node(af_graph *g, af_op op, const char *name, const int *in, int n_in,
                      const int *out, int n_out);

int af_graph_add_input(af_graph *g, int tensor);
int af_graph_add_output(af_graph *g, int tensor);

/* Element count (product of dims; 1 for rank 0), or -1 if any dim unknown or on overflow. */
int64_t af_tensor_numel(const af_tensor *t);
/* Bytes of data, or -1 on unknown/overflow. */
int64_t af_tensor_nbytes(const af_tensor *t);
static inline int af_tensor_is_const(const af_tensor *t) { return t->data != NULL; }
int af_tensor_shape_known(const af_tensor *t);
/* Same rank and dims (unknown dims compare as their -1). */
int af_tensor_same_shape(const af_tensor *a, const af_tensor *b);
/* "[1,3,224,224]" into buf. */
const char *af_shape_str(int rank, const int64_t *dims, char *buf, size_t size);

/* Removes node i (op = NONE); its outputs lose their producer. */
void af_graph_remove_node(af_graph *g, int i);
/* Replaces every use of tensor `from` by tensor `to` (node inputs and graph outputs). */
void af_graph_replace_uses(af_graph *g, int from, int to);
/* Number of node inputs that read tensor t, plus 1 if t is a graph output. */
int af_graph_use_count(const af_graph *g, int t);
/* Drops removed nodes and unreferenced tensors (keeping inputs and outputs), renumbers. */
af_status af_graph_compact(af_graph *g, af_err *err);

/* Checks the structural invariants: indices in range, topological order, single producer,
 * arity per the op table, and (if require_shapes) every tensor's shape known. */
af_status af_graph_verify(const af_graph *g, int require_shapes, af_err *err);

/* registers d (the graph takes ctx; on failure d->free(ctx) is called);
 * returns its id for af_control_params, or -1 on OOM. */
int af_graph_add_deferred(af_graph *g, const af_deferred *d);
/* Moves nodes [from, n_nodes) to just after node `at` (at < from), keeping their order, and
 * renumbers producers. */
void af_graph_move_tail(af_graph *g, int at, int from);

/* Human-readable dump (one line per node). */
void af_graph_dump(const af_graph *g, FILE *f);

#endif
