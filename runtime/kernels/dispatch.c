/* runtime/kernels/dispatch.c — the kernel entry points: one switch from op to kernel family,
 * plus small shape/dtype helpers shared by the kernels. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

int64_t af_tview_numel(const af_tview *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++) n *= v->dims[i];
    return n;
}

int afk_same_shape(const af_tview *a, const af_tview *b)
{
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

void afk_strides(const af_tview *v, int64_t *strides)
{
    int64_t s = 1;
    for (int i = v->rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= v->dims[i];
    }
}

int64_t afk_prod(const af_tview *v, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= v->dims[i];
    return n;
}

const char *afk_shape_str(const af_tview *v, char *buf, size_t size)
{
    size_t at = 0;
    int n = snprintf(buf, size, "[");
    at = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < v->rank && at < size; i++) {
        n = snprintf(buf + at, size - at, "%s%lld", i ? "," : "", (long long)v->dims[i]);
        if (n > 0) at += (size_t)n;
    }
    if (at < size) snprintf(buf + at, size - at, "]");
    return buf;
}

af_status afk_need_dtype(const char *op, const char *what, const af_tview *v, af_dtype dt,
                         af_err *err)
{
    if (v->dtype == dt) return AF_OK;
    return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: %s is %s, only %s is supported", op, what,
                      af_dtype_name(v->dtype), af_dtype_name(dt));
}

af_status afk_need_data(const char *op, const af_tview *in, int n_in, af_err *err)
{
    for (int i = 0; i < n_in; i++)
        if (!in[i].data)
            return af_err_set(err, AF_ERR_USAGE, "%s: input %d has no data", op, i);
    return AF_OK;
}

int afk_is_int(af_dtype t)
{
    return t == AF_DTYPE_I8 || t == AF_DTYPE_U8 || t == AF_DTYPE_I32 || t == AF_DTYPE_I64 ||
           afk_is_int16_plus(t);
}

int64_t afk_get_i64(af_dtype t, const void *data, int64_t i)
{
    switch (t) {
    case AF_DTYPE_I8: return ((const int8_t *)data)[i];
    case AF_DTYPE_U8: return ((const uint8_t *)data)[i];
    case AF_DTYPE_BOOL: return ((const uint8_t *)data)[i] != 0;
    case AF_DTYPE_I32: return ((const int32_t *)data)[i];
    case AF_DTYPE_I64: return ((const int64_t *)data)[i];
    /* u64 as its bit pattern (afk_int_key orders it) */
    case AF_DTYPE_I16: return ((const int16_t *)data)[i];
    case AF_DTYPE_U16: return ((const uint16_t *)data)[i];
    case AF_DTYPE_U32: return ((const uint32_t *)data)[i];
    case AF_DTYPE_U64: return (int64_t)((const uint64_t *)data)[i];
    default: return 0;
    }
}

void afk_set_i64(af_dtype t, void *data, int64_t i, int64_t v)
{
    /* Narrowing goes through the unsigned type: defined modulo-2^n wrap-around. */
    switch (t) {
    case AF_DTYPE_I8: ((int8_t *)data)[i] = (int8_t)(uint8_t)(uint64_t)v; break;
    case AF_DTYPE_U8: ((uint8_t *)data)[i] = (uint8_t)(uint64_t)v; break;
    case AF_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case AF_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)(uint32_t)(uint64_t)v; break;
    case AF_DTYPE_I64: ((int64_t *)data)[i] = v; break;
    /* 16/32/64-bit integer types */
    case AF_DTYPE_I16: ((int16_t *)data)[i] = (int16_t)(uint16_t)(uint64_t)v; break;
    case AF_DTYPE_U16: ((uint16_t *)data)[i] = (uint16_t)(uint64_t)v; break;
    case AF_DTYPE_U32: ((uint32_t *)data)[i] = (uint32_t)(uint64_t)v; break;
    case AF_DTYPE_U64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    default: break;
    }
}

/* 16/32/64-bit integer types */
int afk_is_int16_plus(af_dtype t)
{
    return t == AF_DTYPE_I16 || t == AF_DTYPE_U16 || t == AF_DTYPE_U32 || t == AF_DTYPE_U64;
}

int afk_is_unsigned(af_dtype t)
{
    return t == AF_DTYPE_U8 || t == AF_DTYPE_U16 || t == AF_DTYPE_U32 || t == AF_DTYPE_U64;
}

int64_t afk_int_key(af_dtype t, int64_t v)
{
    return t == AF_DTYPE_U64 ? (int64_t)((uint64_t)v ^ 0x8000000000000000u) : v;
}

double afk_int_to_f64(af_dtype t, int64_t v)
{
    return t == AF_DTYPE_U64 ? (double)(uint64_t)v : (double)v;
}

/* ---- entry points ---------------------------------------------------------------------- */

static af_status check_views(af_op op, const af_tview *in, int n_in, const af_tview *out,
                             int n_out, af_err *err)
{
    const af_op_info *info = &af_op_table[op];
    if (n_in < info->min_in || (info->max_in >= 0 && n_in > info->max_in) ||
        n_out < info->min_out || (info->max_out >= 0 && n_out > info->max_out))
        return af_err_set(err, AF_ERR_USAGE, "%s: %d inputs / %d outputs out of range",
                          info->name, n_in, n_out);
    for (int i = 0; i < n_in + n_out; i++) {
        const af_tview *v = i < n_in ? &in[i] : &out[i - n_in];
        if ((unsigned)v->dtype >= AF_DTYPE_COUNT || v->rank < 0 || v->rank > AF_MAX_RANK)
            return af_err_set(err, AF_ERR_USAGE, "%s: %s %d has a bad dtype or rank",
                              info->name, i < n_in ? "input" : "output",
                              i < n_in ? i : i - n_in);
        int64_t n = 1; /* numel * 16 must fit int64: byte offsets never overflow */
        for (int d = 0; d < v->rank; d++) {
            if (v->dims[d] < 0 || (v->dims[d] > 0 && n > (INT64_MAX / 16) / v->dims[d]))
                return af_err_set(err, AF_ERR_SHAPE, "%s: %s %d has a bad dimension",
                                  info->name, i < n_in ? "input" : "output",
                                  i < n_in ? i : i - n_in);
            n *= v->dims[d];
        }
    }
    return AF_OK;
}

af_status af_kernel_check(af_op op, const af_params *p, const af_tview *in, int n_in,
                          const af_tview *out, int n_out, af_err *err)
{
    if ((unsigned)op >= AF_OP_COUNT || !af_op_table[op].runtime)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "op %s has no runtime kernel",
                          af_op_name(op));
    af_status st = check_views(op, in, n_in, out, n_out, err);
    if (st) return st;
    switch (op) {
    case AF_OP_IDENTITY:
    case AF_OP_RESHAPE: return afk_copy_check(p, in, n_in, out, n_out, err);
    case AF_OP_CONV: return afk_conv_check(p, in, n_in, out, n_out, err);
    case AF_OP_CONV_TRANSPOSE: return afk_convt_check(p, in, n_in, out, n_out, err);
    case AF_OP_BATCHNORM: return afk_batchnorm_check(p, in, n_in, out, n_out, err);
    case AF_OP_UNARY: return afk_unary_check(p, in, n_in, out, n_out, err);
    case AF_OP_BINARY: return afk_binary_check(p, in, n_in, out, n_out, err);
    case AF_OP_GEMM: return afk_gemm_check(p, in, n_in, out, n_out, err);
    case AF_OP_MATMUL: return afk_matmul_check(p, in, n_in, out, n_out, err);
    case AF_OP_POOL: return afk_pool_check(p, in, n_in, out, n_out, err);
    case AF_OP_GLOBAL_POOL: return afk_global_pool_check(p, in, n_in, out, n_out, err);
    case AF_OP_TRANSPOSE: return afk_transpose_check(p, in, n_in, out, n_out, err);
    case AF_OP_CONCAT: return afk_concat_check(p, in, n_in, out, n_out, err);
    case AF_OP_SPLIT: return afk_split_check(p, in, n_in, out, n_out, err);
    case AF_OP_SLICE: return afk_slice_check(p, in, n_in, out, n_out, err);
    case AF_OP_GATHER: return afk_gather_check(p, in, n_in, out, n_out, err);
    case AF_OP_SOFTMAX: return afk_softmax_check(p, in, n_in, out, n_out, err);
    case AF_OP_REDUCE: return afk_reduce_check(p, in, n_in, out, n_out, err);
    case AF_OP_PAD: return afk_pad_check(p, in, n_in, out, n_out, err);
    case AF_OP_RESIZE: return afk_resize_check(p, in, n_in, out, n_out, err);
    case AF_OP_CAST: return afk_cast_check(p, in, n_in, out, n_out, err);
    case AF_OP_EXPAND: return afk_expand_check(p, in, n_in, out, n_out, err);
    case AF_OP_WHERE: return afk_where_check(p, in, n_in, out, n_out, err);
    case AF_OP_TILE: return afk_tile_check(p, in, n_in, out, n_out, err);
    case AF_OP_TRILU: return afk_trilu_check(p, in, n_in, out, n_out, err);
    case AF_OP_DEPTH_TO_SPACE:
    case AF_OP_SPACE_TO_DEPTH: return afk_d2s_check(p, in, n_in, out, n_out, err);
    case AF_OP_GATHER_ELEMENTS: return afk_gather_elements_check(p, in, n_in, out, n_out, err);
    case AF_OP_CUMSUM: return afk_cumsum_check(p, in, n_in, out, n_out, err);
    case AF_OP_LRN: return afk_lrn_check(p, in, n_in, out, n_out, err);
    case AF_OP_INSTANCE_NORM: return afk_instance_norm_check(p, in, n_in, out, n_out, err);
    case AF_OP_GROUP_NORM: return afk_group_norm_check(p, in, n_in, out, n_out, err);
    case AF_OP_LAYER_NORM: return afk_layer_norm_check(p, in, n_in, out, n_out, err);
    case AF_OP_ATTENTION: return afk_attention_check(p, in, n_in, out, n_out, err);
    /* recurrent ops */
    case AF_OP_LSTM:
    case AF_OP_GRU:
    case AF_OP_RNN: return afk_rnn_check(op, p, in, n_in, out, n_out, err);
    /* sampling and signal ops */
    case AF_OP_GRID_SAMPLE: return afk_grid_sample_check(p, in, n_in, out, n_out, err);
    case AF_OP_ROI_ALIGN: return afk_roi_align_check(p, in, n_in, out, n_out, err);
    case AF_OP_DFT: return afk_dft_check(p, in, n_in, out, n_out, err);
    case AF_OP_STFT: return afk_stft_check(p, in, n_in, out, n_out, err);
    case AF_OP_MEL_WEIGHT_MATRIX: return afk_mel_check(p, in, n_in, out, n_out, err);
    /* indexing and selection ops */
    case AF_OP_TOPK: return afk_topk_check(p, in, n_in, out, n_out, err);
    case AF_OP_SCATTER_ND: return afk_scatter_nd_check(p, in, n_in, out, n_out, err);
    case AF_OP_SCATTER_ELEMENTS: return afk_scatter_elements_check(p, in, n_in, out, n_out, err);
    case AF_OP_GATHER_ND: return afk_gather_nd_check(p, in, n_in, out, n_out, err);
    case AF_OP_ONE_HOT: return afk_one_hot_check(p, in, n_in, out, n_out, err);
    case AF_OP_REVERSE_SEQUENCE: return afk_reverse_sequence_check(p, in, n_in, out, n_out, err);
    case AF_OP_MAX_UNPOOL: return afk_max_unpool_check(p, in, n_in, out, n_out, err);
    /* losses, trigonometry and other elementwise ops */
    case AF_OP_NLL_LOSS: return afk_nll_loss_check(p, in, n_in, out, n_out, err);
    case AF_OP_HARDMAX: return afk_hardmax_check(p, in, n_in, out, n_out, err);
    case AF_OP_DET: return afk_det_check(p, in, n_in, out, n_out, err);
    /* quantized graphs */
    case AF_OP_QUANTIZE: return afk_quant_check(p, in, n_in, out, n_out, err);
    case AF_OP_DEQUANTIZE: return afk_dequant_check(p, in, n_in, out, n_out, err);
    case AF_OP_DYN_QUANTIZE: return afk_dyn_quant_check(p, in, n_in, out, n_out, err);
    case AF_OP_CONV_INTEGER: return afk_conv_integer_check(p, in, n_in, out, n_out, err);
    case AF_OP_QLINEAR_CONV: return afk_qlinear_conv_check(p, in, n_in, out, n_out, err);
    case AF_OP_MATMUL_INTEGER: return afk_matmul_integer_check(p, in, n_in, out, n_out, err);
    case AF_OP_QLINEAR_MATMUL: return afk_qlinear_matmul_check(p, in, n_in, out, n_out, err);
    case AF_OP_QLINEAR_GLOBAL_AVGPOOL: return afk_qlinear_gap_check(p, in, n_in, out, n_out, err);
    case AF_OP_QLINEAR_BINARY: return afk_qlinear_binary_check(p, in, n_in, out, n_out, err);
    case AF_OP_NMS: return afk_nms_check(p, in, n_in, out, n_out, err);
    case AF_OP_NONZERO: return afk_nonzero_check(p, in, n_in, out, n_out, err);
    case AF_OP_SHAPE: return afk_shape_check(p, in, n_in, out, n_out, err);
    case AF_OP_CONSTANT_OF_SHAPE: return afk_const_of_shape_check(p, in, n_in, out, n_out, err);
    case AF_OP_RANGE: return afk_range_check(p, in, n_in, out, n_out, err);
    case AF_OP_SELECT: return afk_select_check(p, in, n_in, out, n_out, err);
    case AF_OP_COMPRESS: return afk_compress_check(p, in, n_in, out, n_out, err);
    case AF_OP_GEGLU: return afk_geglu_check(p, in, n_in, out, n_out, err);
    default:
        return af_err_set(err, AF_ERR_UNSUPPORTED, "op %s has no runtime kernel",
                          af_op_name(op));
    }
}

size_t af_kernel_scratch_bytes(af_op op, const af_params *p, const af_tview *in, int n_in,
                               const af_tview *out, int n_out)
{
    if (n_in < 1 || n_out < 1) return 0;
    switch (op) {
    case AF_OP_CONV: return n_in >= 2 ? afk_conv_scratch(p, in, out) : 0;
    case AF_OP_CONV_TRANSPOSE: return n_in >= 2 ? afk_convt_scratch(p, in, out) : 0;
    case AF_OP_RESIZE: return afk_resize_scratch(p, in, out);
    case AF_OP_POOL: return afk_pool_scratch(p, in, out);
    case AF_OP_ATTENTION: return afk_attention_scratch(p, in, n_in);
    case AF_OP_GEMM:
    case AF_OP_MATMUL: return afk_sgemm_work_floats() * sizeof(float);
    /* recurrent ops */
    case AF_OP_LSTM:
    case AF_OP_GRU:
    case AF_OP_RNN: return afk_rnn_scratch(op, p, in, n_in);
    /* sampling and signal ops */
    case AF_OP_DFT: return afk_dft_scratch(p, in, out);
    case AF_OP_STFT: return afk_stft_scratch(p, in, out);
    /* indexing and selection ops */
    case AF_OP_TOPK: return afk_topk_scratch(p, in);
    /* quantized graphs */
    case AF_OP_CONV_INTEGER:
    case AF_OP_QLINEAR_CONV: return afk_qconv_scratch(op, p, in, n_in, out);
    case AF_OP_MATMUL_INTEGER:
    case AF_OP_QLINEAR_MATMUL: return afk_qmm_scratch(&in[0], out);
    case AF_OP_NMS: return afk_nms_scratch(p, in);
    default: return 0;
    }
}

size_t af_kernel_prepack_bytes(af_op op, const af_params *p, const af_tview *in, int n_in,
                               const af_tview *out, int n_out)
{
    if (n_in < 2 || n_out < 1) return 0;
    if (op == AF_OP_MATMUL || op == AF_OP_GEMM) return afk_dense_prepack_bytes(op, p, in, out);
    if (op == AF_OP_CONV_INTEGER || op == AF_OP_QLINEAR_CONV)
        return afk_qconv_prepack_bytes(op, p, in, n_in, out);
    if (op == AF_OP_QLINEAR_MATMUL) return afk_qmm_prepack_bytes(in, n_in, out);
    return op == AF_OP_CONV ? afk_conv_prepack_bytes(p, in, out) : 0;
}

int af_kernel_weight_input(af_op op)
{
    return op == AF_OP_QLINEAR_CONV || op == AF_OP_QLINEAR_MATMUL ? 3 : 1;
}

size_t af_kernel_shared_bytes(af_op op, const void *packed)
{
    if ((op == AF_OP_CONV_INTEGER || op == AF_OP_QLINEAR_CONV) && packed)
        return afk_qconv_shared_bytes(packed);
    return op == AF_OP_CONV && packed ? afk_conv_shared_bytes(packed) : 0;
}

void af_kernel_prepack(af_op op, const af_params *p, const af_tview *in, int n_in,
                       const af_tview *out, int n_out, void *dst)
{
    if (!af_kernel_prepack_bytes(op, p, in, n_in, out, n_out)) return;
    if (op == AF_OP_CONV) afk_conv_prepack(p, in, out, dst);
    else if (op == AF_OP_CONV_INTEGER || op == AF_OP_QLINEAR_CONV)
        afk_qconv_prepack(op, p, in, n_in, out, dst);
    else if (op == AF_OP_QLINEAR_MATMUL) afk_qmm_prepack(in, n_in, out, dst);
    else afk_dense_prepack(op, p, in, out, dst);
}

af_status af_kernel_run(af_op op, const af_params *p, const af_tview *in, int n_in,
                        af_tview *out, int n_out, const af_kctx *ctx, af_err *err)
{
    af_status st = af_kernel_check(op, p, in, n_in, out, n_out, err);
    if (st) return st;
    size_t need = af_kernel_scratch_bytes(op, p, in, n_in, out, n_out);
    size_t have = ctx && ctx->scratch ? ctx->scratch_bytes : 0;
    if (need > have)
        return af_err_set(err, AF_ERR_USAGE, "%s: needs %zu scratch bytes, given %zu",
                          af_op_name(op), need, have);
    for (int i = 0; i < n_in && i < af_op_table[op].min_in; i++)
        if (!in[i].data && af_tview_numel(&in[i]) > 0 && !(i == 1 && ctx && ctx->packed))
            return af_err_set(err, AF_ERR_USAGE, "%s: input %d has no data", af_op_name(op), i);
    for (int i = 0; i < n_out; i++)
        if (!out[i].data && af_tview_numel(&out[i]) > 0)
            return af_err_set(err, AF_ERR_USAGE, "%s: output %d has no data", af_op_name(op),
                              i);
    switch (op) {
    case AF_OP_IDENTITY:
    case AF_OP_RESHAPE: return afk_copy_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_CONV: return afk_conv_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_CONV_TRANSPOSE: return afk_convt_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_BATCHNORM: return afk_batchnorm_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_UNARY: return afk_unary_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_BINARY: return afk_binary_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_GEMM: return afk_gemm_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_MATMUL: return afk_matmul_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_POOL: return afk_pool_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_GLOBAL_POOL: return afk_global_pool_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_TRANSPOSE: return afk_transpose_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_CONCAT: return afk_concat_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SPLIT: return afk_split_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SLICE: return afk_slice_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_GATHER: return afk_gather_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SOFTMAX: return afk_softmax_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_REDUCE: return afk_reduce_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_PAD: return afk_pad_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_RESIZE: return afk_resize_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_CAST: return afk_cast_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_EXPAND: return afk_expand_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_WHERE: return afk_where_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_TILE: return afk_tile_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_TRILU: return afk_trilu_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_DEPTH_TO_SPACE: return afk_d2s_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SPACE_TO_DEPTH: return afk_s2d_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_GATHER_ELEMENTS: return afk_gather_elements_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_CUMSUM: return afk_cumsum_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_LRN: return afk_lrn_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_INSTANCE_NORM: return afk_instance_norm_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_GROUP_NORM: return afk_group_norm_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_LAYER_NORM: return afk_layer_norm_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_ATTENTION: return afk_attention_run(p, in, n_in, out, n_out, ctx, err);
    /* recurrent ops */
    case AF_OP_LSTM:
    case AF_OP_GRU:
    case AF_OP_RNN: return afk_rnn_run(op, p, in, n_in, out, n_out, ctx, err);
    /* sampling and signal ops */
    case AF_OP_GRID_SAMPLE: return afk_grid_sample_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_ROI_ALIGN: return afk_roi_align_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_DFT: return afk_dft_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_STFT: return afk_stft_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_MEL_WEIGHT_MATRIX: return afk_mel_run(p, in, n_in, out, n_out, ctx, err);
    /* indexing and selection ops */
    case AF_OP_TOPK: return afk_topk_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SCATTER_ND: return afk_scatter_nd_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SCATTER_ELEMENTS: return afk_scatter_elements_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_GATHER_ND: return afk_gather_nd_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_ONE_HOT: return afk_one_hot_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_REVERSE_SEQUENCE: return afk_reverse_sequence_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_MAX_UNPOOL: return afk_max_unpool_run(p, in, n_in, out, n_out, ctx, err);
    /* losses, trigonometry and other elementwise ops */
    case AF_OP_NLL_LOSS: return afk_nll_loss_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_HARDMAX: return afk_hardmax_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_DET: return afk_det_run(p, in, n_in, out, n_out, ctx, err);
    /* quantized graphs */
    case AF_OP_QUANTIZE: return afk_quant_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_DEQUANTIZE: return afk_dequant_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_DYN_QUANTIZE: return afk_dyn_quant_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_CONV_INTEGER: return afk_conv_integer_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_QLINEAR_CONV: return afk_qlinear_conv_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_MATMUL_INTEGER: return afk_matmul_integer_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_QLINEAR_MATMUL: return afk_qlinear_matmul_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_QLINEAR_GLOBAL_AVGPOOL:
        return afk_qlinear_gap_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_QLINEAR_BINARY: return afk_qlinear_binary_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_NMS: return afk_nms_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_NONZERO: return afk_nonzero_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SHAPE: return afk_shape_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_CONSTANT_OF_SHAPE: return afk_const_of_shape_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_RANGE: return afk_range_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_SELECT: return afk_select_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_COMPRESS: return afk_compress_run(p, in, n_in, out, n_out, ctx, err);
    case AF_OP_GEGLU: return afk_geglu_run(p, in, n_in, out, n_out, ctx, err);
    default:
        return af_err_set(err, AF_ERR_UNSUPPORTED, "op %s has no runtime kernel",
                          af_op_name(op));
    }
}
