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
    AF_OP_MATMUL,             /* in: [A (...,M,K), B (...,K,N), bias? (N), residual? (Y's shape)]
                               * numpy matmul semantics; Y = A@B + bias + residual (lowering) */
    AF_OP_POOL,               /* in: [X (N,C,*)] MaxPool / AveragePool; out: [Y, Indices? (i64, max)] */
    AF_OP_GLOBAL_POOL,        /* in: [X (N,C,*)] → (N,C,1,...) */
    AF_OP_RESHAPE,            /* as imported: [data, shape|axes?]; resolved: [data] (a copy), or
                                 [data, shape] when shape depends on data-dependent extents */
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
    AF_OP_SHAPE,              /* in: [x] → i64 shape; folded to a constant unless x has
                                 data-dependent extents (then run: docs/dynamic-shapes.md) */
    AF_OP_CONSTANT_OF_SHAPE,  /* in: [shape]; folded when shape is constant (else run) */
    AF_OP_EXPAND,             /* as imported: [x, shape]; resolved: [x] (numpy broadcast), or
                                 [x, shape] when shape depends on data-dependent extents */
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
    AF_OP_RANGE,              /* in: [start, limit, delta]; folded unless limit is data-dependent */
    AF_OP_TRILU,              /* as imported: [x, k?]; resolved: [x] */
    AF_OP_ATTENTION,          /* in: [q (...,Tq,d), k (...,Tk,d), v (...,Tk,dv)] softmax(q·kᵀ·scale)·v */
    AF_OP_SIZE,               /* in: [x] → i64 scalar; always folded */
    /* recurrent ops */
    AF_OP_LSTM,               /* in: [X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?];
                                 out: [Y, Y_h?, Y_c?] (af_rnn_params; ONNX LSTM) */
    AF_OP_GRU,                /* in: [X, W, R, B?, sequence_lens?, initial_h?]; out: [Y, Y_h?] */
    AF_OP_RNN,                /* in: [X, W, R, B?, sequence_lens?, initial_h?]; out: [Y, Y_h?] */
    /* sampling and signal ops */
    AF_OP_GRID_SAMPLE,        /* in: [X (N,C,H,W), grid (N,oh,ow,2) (x, y in [-1, 1])] → (N,C,oh,ow) */
    AF_OP_ROI_ALIGN,          /* in: [X (N,C,H,W), rois (R,4) (x1,y1,x2,y2), batch_indices (R)] → (R,C,oh,ow) */
    AF_OP_DFT,                /* as imported: [x (...,1|2), dft_length?, axis?]; resolved: [x] */
    AF_OP_STFT,               /* as imported: [signal (B,L,1|2), frame_step, window?, frame_length?];
                                 resolved: [signal, window?] → (B,frames,bins,2) */
    AF_OP_MEL_WEIGHT_MATRIX,  /* as imported: [num_mel_bins, dft_length, sample_rate, lower_hz,
                                 upper_hz]; resolved: [lower_hz, upper_hz] → (dft_length/2+1, mels) */
    /* indexing and selection ops */
    AF_OP_TOPK,               /* as imported: [x, k]; resolved: [x], or [x, k] when k depends on
                                 data-dependent extents (p.k: its value at capacity);
                                 out: [values, indices (i64)] */
    AF_OP_SCATTER_ND,         /* in: [data, indices (i32|i64), updates] */
    AF_OP_SCATTER_ELEMENTS,   /* in: [data, indices (i32|i64), updates]; also opset-9 Scatter */
    AF_OP_GATHER_ND,          /* in: [data, indices (i32|i64)] */
    AF_OP_ONE_HOT,            /* as imported: [indices, depth, values]; resolved: [indices, values] */
    AF_OP_REVERSE_SEQUENCE,   /* in: [x, sequence_lens (i32|i64)] */
    AF_OP_MAX_UNPOOL,         /* as imported: [X (N,C,*), I (i64), output_shape?]; resolved: [X, I] */
    /* losses, trigonometry and other elementwise ops */
    AF_OP_NLL_LOSS,           /* in: [logp (N,C,d...), target (N,d...) i32|i64, weight? (C)] →
                                 loss (N,d...) or scalar (af_nll_params) */
    AF_OP_HARDMAX,            /* in: [x] one-hot of the first maximum along axis (af_softmax_params;
                                 legacy: the axes >= axis flattened, opset < 13) */
    AF_OP_EYE_LIKE,           /* in: [x (R,C)] → ones on diagonal k; always computed at shape
                                 inference (only x's shape matters) */
    AF_OP_DET,                /* in: [x (...,M,M)] → (...) determinant */
    AF_OP_WINDOW,             /* in: [size] → (size) Hann/Hamming/Blackman; always folded */
    /* quantized graphs (runtime/kernels/quant.c, docs/onnx-support.md) */
    AF_OP_QUANTIZE,           /* in: [x (f32), scale, zp? (i8|u8)] → i8|u8 (QuantizeLinear) */
    AF_OP_DEQUANTIZE,         /* in: [x (i8|u8|i32), scale, zp?] → f32 (DequantizeLinear) */
    AF_OP_DYN_QUANTIZE,       /* in: [x (f32)] → [y (u8), scale (f32 scalar), zp (u8 scalar)] */
    AF_OP_CONV_INTEGER,       /* in: [X, W, x_zp?, w_zp? (scalar | (M))] → i32 (ConvInteger) */
    AF_OP_QLINEAR_CONV,       /* in: [X, xs, xzp, W, ws, wzp, ys, yzp, B? (i32)] → i8|u8 */
    AF_OP_MATMUL_INTEGER,     /* in: [A, B, a_zp?, b_zp?] → i32 (MatMulInteger) */
    AF_OP_QLINEAR_MATMUL,     /* in: [A, as, azp, B, bs, bzp, ys, yzp, bias? (N) i32] → i8|u8
                                 (the bias: lowering's fused QDQ Gemm) */
    AF_OP_NMS,                /* as imported: [boxes (B,S,4), scores (B,C,S), max_output?, iou?,
                                 score_threshold?]; resolved: [boxes, scores]; out: selected
                                 (capacity, 3) i64 whose leading dim is a bound: each run sets the
                                 rows it wrote (NonMaxSuppression) */
    AF_OP_NONZERO,            /* in: [x]; out: (rank, capacity numel(x)) i64, dim 1 set per run
                                 (exact when x is constant) */
    AF_OP_COMPRESS,           /* in: [x, condition (bool, 1-D)]; out: x's shape with the axis (or
                                 the flattened x) cut to a capacity, set per run (exact when the
                                 condition is constant) */
    /* control flow */
    AF_OP_CONTROL,            /* If/Loop/Scan as imported: [explicit inputs..., outer-scope values
                               * its subgraphs read...]; expanded by fold (graph.h af_deferred) */
    /* fused by lowering */
    AF_OP_GEGLU,              /* in: [x (..., 2h)] → (..., h) = x[..., :h] · gelu(x[..., h:])
                                 (af_unary_params: fn GELU, alpha ≠ 0 the tanh form) */
    /* data-dependent extents (docs/dynamic-shapes.md) */
    AF_OP_SELECT,             /* in: [cond (bool scalar), a, b] → a copy of a when cond, else of
                                 b, with its extents (an ONNX If whose condition depends on
                                 data-dependent extents: both branches run) */
    /* quantized graphs, fused by lowering (lowering/fuse_qdq.c) */
    AF_OP_QLINEAR_GLOBAL_AVGPOOL, /* in: [X (N,C,*) i8|u8, xs, xzp, ys, yzp] → (N,C,1,...) i8|u8:
                                 requant(sum(X − xzp) in int32, xs / (ys · numel(*))) */
    AF_OP_QLINEAR_BINARY,     /* in: [A, as, azp, B, bs, bzp, ys, yzp] → i8|u8 (af_binary_params:
                                 ADD with A, B of Y's shape, or MUL broadcasting): ONNX Runtime's
                                 QLinearAdd / QLinearMul (runtime/kernels/quant.c) */
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
    /* losses, trigonometry and other elementwise ops */
    AF_UNARY_TAN,
    AF_UNARY_ASIN,
    AF_UNARY_ACOS,
    AF_UNARY_ATAN,
    AF_UNARY_SINH,
    AF_UNARY_COSH,
    AF_UNARY_ASINH,
    AF_UNARY_ACOSH,
    AF_UNARY_ATANH,
    AF_UNARY_SHRINK,       /* x < -alpha ? x + beta : x > alpha ? x - beta : 0 (alpha = lambd) */
    AF_UNARY_ISNAN,        /* f32 → bool */
    AF_UNARY_ISINF,        /* f32 → bool; alpha != 0: detect -inf, beta != 0: detect +inf */
    /* half-precision graphs */
    AF_UNARY_ROUND_F16,    /* x rounded to the nearest IEEE half (even; overflow → ±inf), as f32 */
    AF_UNARY_ROUND_BF16,   /* x rounded to the nearest bfloat16 (even), as f32 */
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
    /* losses, trigonometry and other elementwise ops */
    AF_BINARY_SHIFT_LEFT,    /* BitShift on u8/u16/u32/u64; a shift >= the width gives 0 */
    AF_BINARY_SHIFT_RIGHT,
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
    int32_t heads;       /* 0: as above. h > 0: q (...,Tq,h·d), k (...,Tk,h·d), v (...,Tk,h·dv) and
                          * out (...,Tq,h·dv) hold h heads side by side in the last axis (the
                          * projections before the head split); k_transposed is then 0.
                          * Appended: 8-byte records of older bundles read 0. */
} af_attention_params;

/* recurrent ops */
/* LSTM, GRU, RNN as ONNX defines them. Activations per direction: LSTM f, g, h; GRU f, g; RNN
 * f; the forward direction's first, then the reverse one's (bidirectional). Every entry is
 * filled once imported (defaults: Sigmoid/Tanh/Tanh, Sigmoid/Tanh, Tanh). */
typedef enum af_rnn_act {
    AF_RNN_ACT_SIGMOID = 0,
    AF_RNN_ACT_TANH,
    AF_RNN_ACT_RELU,
    AF_RNN_ACT_AFFINE,           /* alpha*x + beta */
    AF_RNN_ACT_LEAKY_RELU,       /* alpha */
    AF_RNN_ACT_THRESHOLDED_RELU, /* alpha */
    AF_RNN_ACT_SCALED_TANH,      /* alpha*tanh(beta*x) */
    AF_RNN_ACT_HARD_SIGMOID,     /* max(0, min(1, alpha*x + beta)) */
    AF_RNN_ACT_ELU,              /* alpha */
    AF_RNN_ACT_SOFTSIGN,
    AF_RNN_ACT_SOFTPLUS,
    AF_RNN_ACT_COUNT
} af_rnn_act;

typedef enum af_rnn_direction {
    AF_RNN_FORWARD = 0,
    AF_RNN_REVERSE,
    AF_RNN_BIDIRECTIONAL,
} af_rnn_direction;

#define AF_RNN_MAX_ACTS 6

typedef struct af_rnn_params {
    int32_t direction;           /* af_rnn_direction */
    int32_t hidden_size;         /* 0 as imported without the attribute; resolved from R */
    int32_t layout;              /* 0: X (S,B,I), Y (S,D,B,H); 1: X (B,S,I), Y (B,S,D,H) */
    int32_t input_forget;        /* LSTM: f = 1 - i */
    int32_t linear_before_reset; /* GRU */
    int32_t has_clip;            /* clip gate pre-activations to [-clip, clip] */
    float clip;
    int32_t act[AF_RNN_MAX_ACTS]; /* af_rnn_act */
    float alpha[AF_RNN_MAX_ACTS], beta[AF_RNN_MAX_ACTS];
} af_rnn_params;
/* spatial sampling and signal processing */
typedef enum af_grid_mode {
    AF_GRID_BILINEAR = 0,
    AF_GRID_NEAREST,      /* round half to even, as torch and ONNX Runtime */
    AF_GRID_BICUBIC,      /* cubic convolution with A = -0.75 over 4x4 taps */
} af_grid_mode;

typedef enum af_grid_padding {
    AF_GRID_PAD_ZEROS = 0,
    AF_GRID_PAD_BORDER,
    AF_GRID_PAD_REFLECTION,
} af_grid_padding;

typedef struct af_grid_sample_params {
    int32_t mode;          /* af_grid_mode */
    int32_t padding;       /* af_grid_padding */
    int32_t align_corners; /* 1: -1 and 1 are the centres of the corner pixels */
} af_grid_sample_params;

typedef struct af_roi_align_params {
    int32_t max_mode;       /* 0 avg, 1 max (ONNX: the max of the weighted corner values) */
    int32_t out_h, out_w;
    int32_t sampling_ratio; /* samples per bin along each axis; 0: ceil(roi size / bins) */
    float spatial_scale;
    int32_t half_pixel;     /* 1: half_pixel (coordinates shifted by -0.5); 0: output_half_pixel */
} af_roi_align_params;

typedef struct af_dft_params {
    int32_t axis;     /* the signal axis of the input; resolved: in [0, rank-2] */
    int32_t inverse;  /* 1/N scaling and e^{+i} */
    int32_t onesided; /* forward only: bins 0..length/2 */
    int32_t reserved;
    int64_t length;   /* dft_length; 0 as imported without it, resolved: > 0 */
} af_dft_params;

typedef struct af_stft_params {
    int32_t onesided;
    int32_t reserved;
    int64_t frame_step;   /* resolved from the frame_step input */
    int64_t frame_length; /* resolved: the frame_length input, else the window's length */
} af_stft_params;

typedef struct af_mel_params {
    int32_t dtype; /* af_dtype of the output */
    int32_t reserved;
    int64_t num_mel_bins, dft_length, sample_rate; /* resolved from the constant inputs */
} af_mel_params;
/* ---- indexing and selection ----------------------------------------- */

typedef struct af_topk_params {
    int32_t axis;    /* resolved: in [0, rank) */
    int32_t largest;
    int32_t sorted;  /* results are always sorted (ONNX leaves sorted=0's order open) */
    int32_t reserved;
    int64_t k;       /* resolved from the k input */
} af_topk_params;

typedef enum af_scatter_reduction {
    AF_SCATTER_NONE = 0,
    AF_SCATTER_ADD,
    AF_SCATTER_MUL,
    AF_SCATTER_MAX,
    AF_SCATTER_MIN,
} af_scatter_reduction;

/* ScatterND, ScatterElements (axis), GatherND (batch_dims in axis). */
typedef struct af_scatter_params {
    int32_t axis;      /* ScatterElements: resolved in [0, rank); GatherND: batch_dims */
    int32_t reduction; /* af_scatter_reduction */
} af_scatter_params;

typedef struct af_one_hot_params {
    int32_t axis;      /* resolved: in [0, rank of the output) */
    int32_t reserved;
    int64_t depth;     /* resolved from the depth input */
} af_one_hot_params;

typedef struct af_reverse_seq_params {
    int32_t batch_axis, time_axis; /* 0 and 1 in some order */
} af_reverse_seq_params;

/* MaxUnpool: the pooling geometry that produced the indices, and the output's spatial size
 * (resolved from output_shape, or the default (in-1)*stride + kernel - pads). */
typedef struct af_unpool_params {
    int32_t nsp;
    int32_t kernel[AF_MAX_SPATIAL];
    int32_t stride[AF_MAX_SPATIAL];
    int32_t pad_begin[AF_MAX_SPATIAL];
    int32_t pad_end[AF_MAX_SPATIAL];
    int32_t out_size[AF_MAX_SPATIAL]; /* 0 until resolved */
} af_unpool_params;
/* losses, trigonometry and other elementwise ops */
typedef enum af_reduction {
    AF_REDUCTION_NONE = 0,
    AF_REDUCTION_SUM,
    AF_REDUCTION_MEAN, /* sum(loss) / sum(weight[target]) over the samples not ignored */
} af_reduction;

typedef struct af_nll_params {
    int32_t reduction;  /* af_reduction */
    int32_t has_ignore; /* 1: samples whose target is ignore_index contribute nothing */
    int64_t ignore_index;
} af_nll_params;

typedef struct af_eye_params {
    int32_t dtype; /* af_dtype of the output */
    int32_t reserved;
    int64_t k;     /* diagonal offset: ones at (i, i + k) */
} af_eye_params;

typedef enum af_window_kind {
    AF_WINDOW_HANN = 0,
    AF_WINDOW_HAMMING,
    AF_WINDOW_BLACKMAN,
} af_window_kind;

typedef struct af_window_params {
    int32_t kind;     /* af_window_kind */
    int32_t periodic; /* 1: period N (the DFT's), 0: symmetric (period N - 1) */
    int32_t dtype;    /* af_dtype of the output */
} af_window_params;
/* QuantizeLinear / DequantizeLinear. Resolved: axis normalised to [0, rank)
 * (ignored when the scale is a scalar), block_size 0 = per-tensor or per-axis. */
typedef struct af_quant_params {
    int32_t axis;
    int32_t block_size; /* opset 21 blocked quantization: elements per scale along axis */
    int32_t to;         /* QUANTIZE: output af_dtype (i8/u8) when there is no zero point */
    int32_t reserved;
} af_quant_params;

/* NonMaxSuppression; resolved from the optional inputs (absent: 0 boxes, iou 0, no score
 * threshold). Capacity of the output: B * C * min(max_output, S) rows. */
typedef struct af_nms_params {
    int32_t center_point_box;    /* 0: [y1,x1,y2,x2] corners, 1: [xc,yc,w,h] */
    int32_t has_score_threshold;
    float iou_threshold;         /* suppress when IoU > this */
    float score_threshold;       /* keep when score > this (if has_score_threshold) */
    int64_t max_output;          /* boxes per batch and class */
} af_nms_params;

typedef struct af_compress_params {
    int32_t axis;    /* resolved: in [0, rank) unless flatten */
    int32_t flatten; /* no axis attribute: select from the flattened input */
} af_compress_params;
/* control flow */
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
    af_rnn_params rnn; /* recurrent ops */
    /* sampling and signal ops */
    af_grid_sample_params grid_sample;
    af_roi_align_params roi_align;
    af_dft_params dft;
    af_stft_params stft;
    af_mel_params mel;
    /* indexing and selection ops */
    af_topk_params topk;
    af_scatter_params scatter;
    af_one_hot_params one_hot;
    af_reverse_seq_params reverse_seq;
    af_unpool_params unpool;
    /* losses, trigonometry and other elementwise ops */
    af_nll_params nll;
    af_eye_params eye;
    af_window_params window;
    af_quant_params quant; /* quantized graphs */
    af_nms_params nms;
    af_compress_params compress;
    /* control flow */
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
/* ONNX Slice's clamping of one axis (graph/ops.c): the element count, *start the first index;
 * shared by the converter's shape inference and the runtime's per-run extents. */
int64_t af_slice_extent(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *start);
extern const char *const af_binary_names[AF_BINARY_COUNT];
extern const char *const af_reduce_names[AF_REDUCE_COUNT];

static inline const char *af_op_name(af_op op)
{
    return (unsigned)op < AF_OP_COUNT ? af_op_table[op].name : "?";
}

#endif
