/* graph/ops.h — the operator set of the common IR and its typed parameters.
 *
 * Two stages share these definitions:
 *  - as imported, an op may carry some of its parameters as extra input tensors (the latest ONNX
 *    opset's form: Reshape's shape, Slice's starts/ends/axes/steps, Pad's pads, Clip's min/max,
 *    Squeeze/Unsqueeze axes, Reduce axes, Resize scales/sizes, Split sizes). Importers convert
 *    older attribute forms into that input form, so there is one canonical form per op.
 *  - shape inference (graph/shape.c) "resolves" a node once those inputs are constant: it moves
 *    their values into the param struct, drops the inputs, and fixes the output shapes. Only
 *    resolved nodes reach lowering, the bundle and the runtime. The "resolved:" lines below say
 *    which inputs remain.
 *
 * Param structs hold only int32/int64/float fields with no padding (checked by static_assert in
 * ops.c), so the bundle stores them as raw little-endian bytes. Values of every enum here are
 * stored in bundles: append only, never renumber.
 */
#ifndef AF_GRAPH_OPS_H
#define AF_GRAPH_OPS_H

#include <stdint.h>

#include "aneforge/types.h" /* AF_MAX_RANK */
#define AF_MAX_SPATIAL 3

typedef enum af_op {
    AF_OP_NONE = 0,           /* a removed node (skipped everywhere, dropped by compaction) */
    AF_OP_IDENTITY,           /* in: [x] → copy. Identity, Dropout (inference) */
    AF_OP_CONV,               /* in: [X (N,C,*), W (M,C/g,*), B? (M), R? (N,M,*)]; R (lowering's
                                 residual fusion) is added before act: act(X⊛W + B + R) */
    AF_OP_CONV_TRANSPOSE,     /* in: [X (N,C,*), W (C,M/g,*), B? (M)] */
    AF_OP_BATCHNORM,          /* in: [X (N,C,*), scale, bias, mean, var] (all (C)) */
    AF_OP_UNARY,              /* in: [x] (Clip as imported: [x, min?, max?]) */
    AF_OP_BINARY,             /* in: [a, b] with numpy broadcasting */
    AF_OP_GEMM,               /* in: [A (M,K), B (K,N), C? broadcast to (M,N)] */
    AF_OP_MATMUL,             /* in: [A (...,M,K), B (...,K,N)] numpy matmul semantics */
    AF_OP_POOL,               /* in: [X (N,C,*)] MaxPool / AveragePool; out: [Y, Indices? (i64, max)] */
    AF_OP_GLOBAL_POOL,        /* in: [X (N,C,*)] → (N,C,1,...) */
    AF_OP_RESHAPE,            /* as imported: [data, shape|axes?]; resolved: [data] (a copy) */
    AF_OP_TRANSPOSE,          /* in: [x] */
    AF_OP_CONCAT,             /* in: [x0, x1, ...] */
    AF_OP_SPLIT,              /* as imported: [x, split?]; resolved: [x] */
    AF_OP_SLICE,              /* as imported: [data, starts, ends, axes?, steps?]; resolved: [data] */
    AF_OP_GATHER,             /* in: [data, indices (i32|i64)] */
    AF_OP_SOFTMAX,            /* in: [x] Softmax and LogSoftmax */
    AF_OP_REDUCE,             /* as imported: [data, axes?]; resolved: [data] */
    AF_OP_PAD,                /* as imported: [data, pads, value?, axes?]; resolved: [data] */
    AF_OP_RESIZE,             /* as imported: [X, roi?, scales?, sizes?]; resolved: [X], or
                                 [X, roi (f32, 2·rank)] for tf_crop_and_resize */
    AF_OP_CAST,               /* in: [x] */
    AF_OP_SHAPE,              /* in: [x] → i64 shape; always folded to a constant */
    AF_OP_CONSTANT_OF_SHAPE,  /* in: [shape]; folded when shape is constant */
    AF_OP_EXPAND,             /* as imported: [x, shape]; resolved: [x] (numpy broadcast) */
    AF_OP_WHERE,              /* in: [cond (bool), x, y] with broadcasting */
    AF_OP_TILE,               /* as imported: [x, repeats]; resolved: [x] */
    AF_OP_CUMSUM,             /* as imported: [x, axis]; resolved: [x] */
    AF_OP_DEPTH_TO_SPACE,     /* in: [x (N,C,H,W)] DepthToSpace (DCR/CRD) */
    AF_OP_SPACE_TO_DEPTH,     /* in: [x (N,C,H,W)] */
    AF_OP_GATHER_ELEMENTS,    /* in: [data, indices] */
    AF_OP_INSTANCE_NORM,      /* in: [x (N,C,*), scale (C), bias (C)] */
    AF_OP_LAYER_NORM,         /* in: [x, scale, bias?] normalised over axes >= axis; out: [Y, Mean?, InvStdDev?] */
    AF_OP_GROUP_NORM,         /* in: [x (N,C,*), scale (C), bias (C)] */
    AF_OP_LRN,                /* in: [x (N,C,*)] */
    AF_OP_RANGE,              /* in: [start, limit, delta]; always folded (shape needs them) */
    AF_OP_TRILU,              /* as imported: [x, k?]; resolved: [x] */
    AF_OP_ATTENTION,          /* in: [q (...,Tq,d), k (...,Tk,d), v (...,Tk,dv)] softmax(q·kᵀ·scale)·v */
    AF_OP_SIZE,               /* in: [x] → i64 scalar; always folded */
    /* issue 15 (infra) */
    AF_OP_CONTROL,            /* If/Loop/Scan as imported: [explicit inputs..., outer-scope values
                               * its subgraphs read...]; expanded by fold (graph.h af_deferred) */
    AF_OP_COUNT
} af_op;

/* ---- elementwise functions ------------------------------------------------------------ */

typedef enum af_unary_fn {
    AF_UNARY_IDENTITY = 0,
    AF_UNARY_RELU,
    AF_UNARY_LEAKY_RELU,   /* alpha */
    AF_UNARY_CLIP,         /* alpha = min, beta = max */
    AF_UNARY_SIGMOID,
    AF_UNARY_HARD_SIGMOID, /* max(0, min(1, alpha*x + beta)) */
    AF_UNARY_HARD_SWISH,   /* x * max(0, min(1, x/6 + 1/2)) */
    AF_UNARY_TANH,
    AF_UNARY_SQRT,
    AF_UNARY_EXP,
    AF_UNARY_LOG,
    AF_UNARY_ABS,
    AF_UNARY_NEG,
    AF_UNARY_ERF,
    AF_UNARY_RECIPROCAL,
    AF_UNARY_FLOOR,
    AF_UNARY_CEIL,
    AF_UNARY_ELU,          /* alpha */
    AF_UNARY_SELU,         /* alpha, beta = gamma */
    AF_UNARY_CELU,         /* alpha */
    AF_UNARY_SOFTPLUS,
    AF_UNARY_SOFTSIGN,
    AF_UNARY_SIN,
    AF_UNARY_COS,
    AF_UNARY_NOT,          /* bool → bool */
    AF_UNARY_SIGN,
    AF_UNARY_ROUND,        /* half to even */
    AF_UNARY_GELU,         /* erf form; alpha != 0 selects the tanh approximation */
    AF_UNARY_SILU,         /* x * sigmoid(x) */
    AF_UNARY_THRESHOLDED_RELU, /* x > alpha ? x : 0 */
    AF_UNARY_COUNT
} af_unary_fn;

typedef enum af_binary_fn {
    AF_BINARY_ADD = 0,
    AF_BINARY_SUB,
    AF_BINARY_MUL,
    AF_BINARY_DIV,
    AF_BINARY_POW,
    AF_BINARY_MAX,
    AF_BINARY_MIN,
    AF_BINARY_PRELU,         /* a < 0 ? a * b : a */
    AF_BINARY_MOD,           /* integer mod with the sign of the divisor (ONNX fmod=0) */
    AF_BINARY_FMOD,          /* C fmod (ONNX fmod=1) */
    AF_BINARY_EQUAL,         /* comparisons and logic produce bool */
    AF_BINARY_LESS,
    AF_BINARY_LESS_EQUAL,
    AF_BINARY_GREATER,
    AF_BINARY_GREATER_EQUAL,
    AF_BINARY_AND,
    AF_BINARY_OR,
    AF_BINARY_XOR,
    AF_BINARY_COUNT
} af_binary_fn;

typedef struct af_unary_params {
    int32_t fn; /* af_unary_fn */
    float alpha, beta;
} af_unary_params;

typedef struct af_binary_params {
    int32_t fn; /* af_binary_fn */
} af_binary_params;

/* ---- convolution and pooling ---------------------------------------------------------- */

typedef enum af_auto_pad {
    AF_AUTO_PAD_NOTSET = 0, /* explicit pads */
    AF_AUTO_PAD_SAME_UPPER,
    AF_AUTO_PAD_SAME_LOWER,
    AF_AUTO_PAD_VALID,
} af_auto_pad;

/* Spatial arrays hold nsp entries (1..3); 1-D convs use entry 0. Resolved: auto_pad is
 * NOTSET and pads are explicit; kernel[] matches W's spatial dims. */
typedef struct af_conv_params {
    int32_t nsp;
    int32_t group;
    int32_t auto_pad;                 /* af_auto_pad, as imported */
    int32_t kernel[AF_MAX_SPATIAL];
    int32_t stride[AF_MAX_SPATIAL];
    int32_t dilation[AF_MAX_SPATIAL];
    int32_t pad_begin[AF_MAX_SPATIAL];
    int32_t pad_end[AF_MAX_SPATIAL];
    int32_t out_pad[AF_MAX_SPATIAL];  /* ConvTranspose output_padding */
    af_unary_params act;              /* fused epilogue; fn IDENTITY when none */
} af_conv_params;

typedef enum af_pool_kind {
    AF_POOL_MAX = 0,
    AF_POOL_AVG,
} af_pool_kind;

typedef struct af_pool_params {
    int32_t kind; /* af_pool_kind */
    int32_t nsp;
    int32_t auto_pad;
    int32_t ceil_mode;
    int32_t count_include_pad;
    int32_t kernel[AF_MAX_SPATIAL];
    int32_t stride[AF_MAX_SPATIAL];
    int32_t dilation[AF_MAX_SPATIAL];
    int32_t pad_begin[AF_MAX_SPATIAL];
    int32_t pad_end[AF_MAX_SPATIAL];
} af_pool_params;

typedef struct af_global_pool_params {
    int32_t kind; /* af_pool_kind */
} af_global_pool_params;

/* ---- dense ---------------------------------------------------------------------------- */

typedef struct af_gemm_params {
    float alpha, beta;
    int32_t trans_a, trans_b;
    af_unary_params act; /* fused epilogue */
} af_gemm_params;

typedef struct af_batchnorm_params {
    float eps;
} af_batchnorm_params;

/* ---- data movement -------------------------------------------------------------------- */

typedef enum af_reshape_kind {
    AF_RESHAPE_RESHAPE = 0, /* in[1] = shape (i64), allowzero */
    AF_RESHAPE_FLATTEN,     /* axis */
    AF_RESHAPE_SQUEEZE,     /* in[1] = axes (i64), optional */
    AF_RESHAPE_UNSQUEEZE,   /* in[1] = axes (i64) */
} af_reshape_kind;

typedef struct af_reshape_params {
    int32_t kind; /* af_reshape_kind */
    int32_t axis;
    int32_t allowzero;
} af_reshape_params;

typedef struct af_transpose_params {
    int32_t n_perm;              /* 0 as imported without perm: reverse the axes */
    int32_t perm[AF_MAX_RANK];   /* out axis i takes in axis perm[i] */
} af_transpose_params;

typedef struct af_axis_params {
    int32_t axis;        /* normalised to [0, rank) once resolved */
    int32_t num_outputs; /* Split without sizes: equal parts (opset 18); else 0 */
} af_axis_params;

typedef struct af_softmax_params {
    int32_t axis;
    int32_t log;    /* LogSoftmax */
    int32_t legacy; /* opset < 13: softmax over all axes >= axis flattened together */
} af_softmax_params;

/* Resolved: out dim i = ceil((end_i - start_i) / step_i), elements start_i + k*step_i. */
typedef struct af_slice_params {
    int64_t start[AF_MAX_RANK];
    int64_t step[AF_MAX_RANK];
} af_slice_params;

typedef enum af_reduce_fn {
    AF_REDUCE_MEAN = 0,
    AF_REDUCE_SUM,
    AF_REDUCE_MAX,
    AF_REDUCE_MIN,
    AF_REDUCE_PROD,
    AF_REDUCE_L1,
    AF_REDUCE_L2,
    AF_REDUCE_SUM_SQUARE,
    AF_REDUCE_LOG_SUM,
    AF_REDUCE_LOG_SUM_EXP,
    AF_REDUCE_ARGMAX,        /* i64 output */
    AF_REDUCE_ARGMIN,
    AF_REDUCE_COUNT
} af_reduce_fn;

typedef struct af_reduce_params {
    int32_t fn;
    int32_t keepdims;
    int32_t noop_with_empty_axes;
    int32_t select_last_index; /* ArgMax/ArgMin */
    uint32_t axes_mask;        /* resolved: bit i set = reduce axis i */
} af_reduce_params;

typedef enum af_pad_mode {
    AF_PAD_CONSTANT = 0,
    AF_PAD_REFLECT,
    AF_PAD_EDGE,
    AF_PAD_WRAP,
} af_pad_mode;

typedef struct af_pad_params {
    int32_t mode; /* af_pad_mode */
    float value;
    int64_t begin[AF_MAX_RANK]; /* negative pads crop */
    int64_t end[AF_MAX_RANK];
} af_pad_params;

typedef enum af_resize_mode {
    AF_RESIZE_NEAREST = 0,
    AF_RESIZE_LINEAR,
    AF_RESIZE_CUBIC,
} af_resize_mode;

typedef enum af_resize_coord {
    AF_COORD_HALF_PIXEL = 0,
    AF_COORD_ASYMMETRIC,
    AF_COORD_ALIGN_CORNERS,
    AF_COORD_PYTORCH_HALF_PIXEL,
    AF_COORD_TF_HALF_PIXEL_FOR_NN,
    AF_COORD_TF_CROP_AND_RESIZE,
    AF_COORD_HALF_PIXEL_SYMMETRIC,
} af_resize_coord;

typedef enum af_resize_nearest {
    AF_NEAREST_ROUND_PREFER_FLOOR = 0,
    AF_NEAREST_ROUND_PREFER_CEIL,
    AF_NEAREST_FLOOR,
    AF_NEAREST_CEIL,
} af_resize_nearest;

typedef struct af_resize_params {
    int32_t mode;       /* af_resize_mode */
    int32_t coord;      /* af_resize_coord */
    int32_t nearest;    /* af_resize_nearest */
    int32_t exclude_outside;
    float cubic_coeff_a;
    float extrapolation_value;
    float scale[AF_MAX_RANK]; /* resolved: out = in * scale (per ONNX, scale = out/in when sizes given) */
} af_resize_params;

typedef struct af_cast_params {
    int32_t to; /* af_dtype */
} af_cast_params;

typedef struct af_shape_params {
    int32_t start, end; /* Shape opset 15 slice; end = INT32_MAX for "to the end" */
} af_shape_params;

typedef struct af_const_of_shape_params {
    int32_t dtype;  /* af_dtype of the fill value */
    int32_t reserved;
    double value;
} af_const_of_shape_params;

typedef struct af_cumsum_params {
    int32_t axis;      /* resolved: normalised */
    int32_t exclusive;
    int32_t reverse;
} af_cumsum_params;

typedef enum af_d2s_mode {
    AF_D2S_DCR = 0,
    AF_D2S_CRD,
} af_d2s_mode;

typedef struct af_d2s_params {
    int32_t blocksize;
    int32_t mode; /* af_d2s_mode (DepthToSpace only) */
} af_d2s_params;

/* InstanceNorm, LayerNorm, GroupNorm: statistics in f32 over the normalised extent. */
typedef struct af_norm_params {
    float eps;
    int32_t axis;       /* LayerNorm: first normalised axis (resolved: in [0, rank)) */
    int32_t num_groups; /* GroupNorm */
    af_unary_params act; /* fused epilogue (e.g. SiLU after GroupNorm) */
} af_norm_params;

typedef struct af_lrn_params {
    float alpha, beta, bias;
    int32_t size;
} af_lrn_params;

typedef struct af_trilu_params {
    int32_t upper;
    int32_t reserved;
    int64_t k; /* resolved from the optional k input */
} af_trilu_params;

typedef struct af_attention_params {
    float scale;         /* applied to q·kᵀ before the softmax */
    int32_t k_transposed; /* 1: k arrives as (..., d, Tk) */
} af_attention_params;

/* issue 15 (infra) */
typedef struct af_control_params {
    int32_t id; /* index into af_graph.deferred */
} af_control_params;

typedef union af_params {
    af_unary_params unary;
    af_binary_params binary;
    af_conv_params conv;
    af_pool_params pool;
    af_global_pool_params global_pool;
    af_gemm_params gemm;
    af_batchnorm_params batchnorm;
    af_reshape_params reshape;
    af_transpose_params transpose;
    af_axis_params axis;
    af_softmax_params softmax;
    af_slice_params slice;
    af_reduce_params reduce;
    af_pad_params pad;
    af_resize_params resize;
    af_cast_params cast;
    af_shape_params shape;
    af_const_of_shape_params const_of_shape;
    af_cumsum_params cumsum;
    af_d2s_params d2s;
    af_norm_params norm;
    af_lrn_params lrn;
    af_trilu_params trilu;
    af_attention_params attention;
    /* issue 15 (infra) */
    af_control_params control;
} af_params;

/* One row per op: name, size of its param struct, input/output arity (max -1 = variadic). */
typedef struct af_op_info {
    const char *name;
    uint32_t param_size;
    int8_t min_in, max_in;
    int8_t min_out, max_out;
    int8_t runtime; /* 1 if a resolved node of this op may appear in a bundle */
} af_op_info;

extern const af_op_info af_op_table[AF_OP_COUNT];
extern const char *const af_unary_names[AF_UNARY_COUNT];
extern const char *const af_binary_names[AF_BINARY_COUNT];
extern const char *const af_reduce_names[AF_REDUCE_COUNT];

static inline const char *af_op_name(af_op op)
{
    return (unsigned)op < AF_OP_COUNT ? af_op_table[op].name : "?";
}

#endif
