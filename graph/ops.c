#include "ops.h"

#include <assert.h>
#include <stddef.h>

#define ROW(op, nm, type, mi, ma, mo, xo, rt) [op] = {nm, sizeof(type), mi, ma, mo, xo, rt}

typedef struct af_no_params { int32_t unused; } af_no_params;

const af_op_info af_op_table[AF_OP_COUNT] = {
    ROW(AF_OP_NONE, "none", af_no_params, 0, -1, 0, -1, 0),
    ROW(AF_OP_IDENTITY, "identity", af_no_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_CONV, "conv", af_conv_params, 2, 4, 1, 1, 1), /* in[3]: fused residual */
    ROW(AF_OP_CONV_TRANSPOSE, "conv_transpose", af_conv_params, 2, 3, 1, 1, 1),
    ROW(AF_OP_BATCHNORM, "batchnorm", af_batchnorm_params, 5, 5, 1, 1, 1),
    ROW(AF_OP_UNARY, "unary", af_unary_params, 1, 3, 1, 1, 1),
    ROW(AF_OP_BINARY, "binary", af_binary_params, 2, 2, 1, 1, 1),
    ROW(AF_OP_GEMM, "gemm", af_gemm_params, 2, 3, 1, 1, 1),
    ROW(AF_OP_MATMUL, "matmul", af_no_params, 2, 4, 1, 1, 1),
    ROW(AF_OP_POOL, "pool", af_pool_params, 1, 1, 1, 2, 1),
    ROW(AF_OP_GLOBAL_POOL, "global_pool", af_global_pool_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_RESHAPE, "reshape", af_reshape_params, 1, 2, 1, 1, 1),
    ROW(AF_OP_TRANSPOSE, "transpose", af_transpose_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_CONCAT, "concat", af_axis_params, 1, -1, 1, 1, 1),
    ROW(AF_OP_SPLIT, "split", af_axis_params, 1, 2, 1, -1, 1),
    ROW(AF_OP_SLICE, "slice", af_slice_params, 1, 5, 1, 1, 1),
    ROW(AF_OP_GATHER, "gather", af_axis_params, 2, 2, 1, 1, 1),
    ROW(AF_OP_SOFTMAX, "softmax", af_softmax_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_REDUCE, "reduce", af_reduce_params, 1, 2, 1, 1, 1),
    ROW(AF_OP_PAD, "pad", af_pad_params, 1, 4, 1, 1, 1),
    ROW(AF_OP_RESIZE, "resize", af_resize_params, 1, 4, 1, 1, 1),
    ROW(AF_OP_CAST, "cast", af_cast_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_SHAPE, "shape", af_shape_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_CONSTANT_OF_SHAPE, "constant_of_shape", af_const_of_shape_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_EXPAND, "expand", af_no_params, 1, 2, 1, 1, 1),
    ROW(AF_OP_WHERE, "where", af_no_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_TILE, "tile", af_no_params, 1, 2, 1, 1, 1),
    ROW(AF_OP_CUMSUM, "cumsum", af_cumsum_params, 1, 2, 1, 1, 1),
    ROW(AF_OP_DEPTH_TO_SPACE, "depth_to_space", af_d2s_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_SPACE_TO_DEPTH, "space_to_depth", af_d2s_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_GATHER_ELEMENTS, "gather_elements", af_axis_params, 2, 2, 1, 1, 1),
    ROW(AF_OP_INSTANCE_NORM, "instance_norm", af_norm_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_LAYER_NORM, "layer_norm", af_norm_params, 2, 3, 1, 3, 1),
    ROW(AF_OP_GROUP_NORM, "group_norm", af_norm_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_LRN, "lrn", af_lrn_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_RANGE, "range", af_no_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_TRILU, "trilu", af_trilu_params, 1, 2, 1, 1, 1),
    ROW(AF_OP_ATTENTION, "attention", af_attention_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_SIZE, "size", af_no_params, 1, 1, 1, 1, 0),
    /* recurrent ops */
    ROW(AF_OP_LSTM, "lstm", af_rnn_params, 3, 8, 1, 3, 1),
    ROW(AF_OP_GRU, "gru", af_rnn_params, 3, 6, 1, 2, 1),
    ROW(AF_OP_RNN, "rnn", af_rnn_params, 3, 6, 1, 2, 1),
    /* sampling and signal ops */
    ROW(AF_OP_GRID_SAMPLE, "grid_sample", af_grid_sample_params, 2, 2, 1, 1, 1),
    ROW(AF_OP_ROI_ALIGN, "roi_align", af_roi_align_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_DFT, "dft", af_dft_params, 1, 3, 1, 1, 1),
    ROW(AF_OP_STFT, "stft", af_stft_params, 1, 4, 1, 1, 1),
    ROW(AF_OP_MEL_WEIGHT_MATRIX, "mel_weight_matrix", af_mel_params, 2, 5, 1, 1, 1),
    /* indexing and selection ops */
    ROW(AF_OP_TOPK, "topk", af_topk_params, 1, 2, 1, 2, 1),
    ROW(AF_OP_SCATTER_ND, "scatter_nd", af_scatter_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_SCATTER_ELEMENTS, "scatter_elements", af_scatter_params, 3, 3, 1, 1, 1),
    ROW(AF_OP_GATHER_ND, "gather_nd", af_scatter_params, 2, 2, 1, 1, 1),
    ROW(AF_OP_ONE_HOT, "one_hot", af_one_hot_params, 2, 3, 1, 1, 1),
    ROW(AF_OP_REVERSE_SEQUENCE, "reverse_sequence", af_reverse_seq_params, 2, 2, 1, 1, 1),
    ROW(AF_OP_MAX_UNPOOL, "max_unpool", af_unpool_params, 2, 3, 1, 1, 1),
    /* losses, trigonometry and other elementwise ops */
    ROW(AF_OP_NLL_LOSS, "nll_loss", af_nll_params, 2, 3, 1, 1, 1),
    ROW(AF_OP_HARDMAX, "hardmax", af_softmax_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_EYE_LIKE, "eye_like", af_eye_params, 1, 1, 1, 1, 0),
    ROW(AF_OP_DET, "det", af_no_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_WINDOW, "window", af_window_params, 1, 1, 1, 1, 0),
    /* quantized graphs */
    ROW(AF_OP_QUANTIZE, "quantize", af_quant_params, 2, 3, 1, 1, 1),
    ROW(AF_OP_DEQUANTIZE, "dequantize", af_quant_params, 2, 3, 1, 1, 1),
    ROW(AF_OP_DYN_QUANTIZE, "dyn_quantize", af_no_params, 1, 1, 3, 3, 1),
    ROW(AF_OP_CONV_INTEGER, "conv_integer", af_conv_params, 2, 4, 1, 1, 1),
    ROW(AF_OP_QLINEAR_CONV, "qlinear_conv", af_conv_params, 8, 9, 1, 1, 1),
    ROW(AF_OP_MATMUL_INTEGER, "matmul_integer", af_no_params, 2, 4, 1, 1, 1),
    ROW(AF_OP_QLINEAR_MATMUL, "qlinear_matmul", af_no_params, 8, 9, 1, 1, 1),
    ROW(AF_OP_NMS, "nms", af_nms_params, 2, 5, 1, 1, 1),
    ROW(AF_OP_NONZERO, "nonzero", af_no_params, 1, 1, 1, 1, 1),
    ROW(AF_OP_COMPRESS, "compress", af_compress_params, 2, 2, 1, 1, 1),
    /* control flow */
    ROW(AF_OP_CONTROL, "control", af_control_params, 0, -1, 0, -1, 0),
    /* fused by lowering */
    ROW(AF_OP_GEGLU, "geglu", af_unary_params, 1, 1, 1, 1, 1),
    /* data-dependent extents */
    ROW(AF_OP_SELECT, "select", af_no_params, 3, 3, 1, 1, 1),
    /* quantized graphs, fused by lowering */
    ROW(AF_OP_QLINEAR_GLOBAL_AVGPOOL, "qlinear_global_avgpool", af_no_params, 5, 5, 1, 1, 1),
    ROW(AF_OP_QLINEAR_BINARY, "qlinear_binary", af_binary_params, 8, 8, 1, 1, 1),
};
static_assert(AF_OP_COUNT == 74, "add a row to af_op_table");

/* Param structs are written raw into bundles: no padding allowed. */
static_assert(sizeof(af_unary_params) == 12, "padding");
static_assert(sizeof(af_conv_params) == 4 * (3 + 6 * AF_MAX_SPATIAL) + 12, "padding");
static_assert(sizeof(af_pool_params) == 4 * (5 + 5 * AF_MAX_SPATIAL), "padding");
static_assert(sizeof(af_gemm_params) == 16 + 12, "padding");
static_assert(sizeof(af_slice_params) == 16 * AF_MAX_RANK, "padding");
static_assert(sizeof(af_pad_params) == 8 + 16 * AF_MAX_RANK, "padding");
static_assert(sizeof(af_resize_params) == 24 + 4 * AF_MAX_RANK, "padding");
static_assert(sizeof(af_const_of_shape_params) == 16, "padding");
static_assert(sizeof(af_norm_params) == 12 + 12, "padding");
static_assert(sizeof(af_trilu_params) == 16, "padding");
static_assert(sizeof(af_attention_params) == 12, "padding");
/* recurrent ops */
static_assert(sizeof(af_rnn_params) == 4 * (7 + 3 * AF_RNN_MAX_ACTS), "padding");
/* sampling and signal ops */
static_assert(sizeof(af_grid_sample_params) == 12, "padding");
static_assert(sizeof(af_roi_align_params) == 24, "padding");
static_assert(sizeof(af_dft_params) == 24, "padding");
static_assert(sizeof(af_stft_params) == 24, "padding");
static_assert(sizeof(af_mel_params) == 32, "padding");
/* indexing and selection ops */
static_assert(sizeof(af_topk_params) == 24, "padding");
static_assert(sizeof(af_one_hot_params) == 16, "padding");
static_assert(sizeof(af_unpool_params) == 4 * (1 + 5 * AF_MAX_SPATIAL), "padding");
/* losses, trigonometry and other elementwise ops */
static_assert(sizeof(af_nll_params) == 16, "padding");
static_assert(sizeof(af_eye_params) == 16, "padding");
static_assert(sizeof(af_window_params) == 12, "padding");
static_assert(sizeof(af_quant_params) == 16, "padding"); /* quantized graphs */
static_assert(sizeof(af_nms_params) == 24, "padding");

const char *const af_unary_names[AF_UNARY_COUNT] = {
    "identity", "relu", "leaky_relu", "clip", "sigmoid", "hard_sigmoid", "hard_swish", "tanh",
    "sqrt", "exp", "log", "abs", "neg", "erf", "reciprocal", "floor", "ceil", "elu", "selu",
    "celu", "softplus", "softsign", "sin", "cos", "not", "sign", "round", "gelu", "silu",
    "thresholded_relu",
    /* losses, trigonometry and other elementwise ops */
    "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "shrink", "isnan",
    "isinf",
    /* half-precision graphs */
    "round_f16", "round_bf16",
};
static_assert(AF_UNARY_COUNT == 44, "update af_unary_names");

const char *const af_binary_names[AF_BINARY_COUNT] = {
    "add", "sub", "mul", "div", "pow", "max", "min", "prelu", "mod", "fmod", "equal", "less",
    "less_equal", "greater", "greater_equal", "and", "or", "xor",
    /* losses, trigonometry and other elementwise ops */
    "bitshift_left", "bitshift_right",
};
static_assert(AF_BINARY_COUNT == 20, "update af_binary_names");

const char *const af_reduce_names[AF_REDUCE_COUNT] = {
    "mean", "sum", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum", "log_sum_exp",
    "argmax", "argmin",
};
static_assert(AF_REDUCE_COUNT == 12, "update af_reduce_names");

/* ONNX Slice's clamping of one axis of extent dim (starts/ends past either end clamp, negative
 * ones count from the end): the element count; *start the first index (0 when empty). */
int64_t af_slice_extent(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *start)
{
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t count;
    if (step > 0) {
        s = s < 0 ? 0 : s > dim ? dim : s;
        e = e < 0 ? 0 : e > dim ? dim : e;
        count = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
        s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
        e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
        count = s > e ? (s - e - 1) / -step + 1 : 0;
    }
    *start = count ? s : 0;
    return count;
}
