/* targets/family.c — the ANE family table (data, one row per family, every figure with its
 * source) and the weight-encoding rows the cost model reads. */
#include <stdio.h>
#include <string.h>

#include "../graph/graph.h" /* af_encoding: how bundles store each encoding */
#include "aneforge/targets.h"

/* ---- weight encodings: bits per stored weight (a new encoding only needs a row) ----------
 * bits_per_weight prices hypothetical encodings (--assume-weights) and models; a bundle's
 * constants are costed at their stored byte count. */
const af_wenc_info af_wenc_table[AF_WENC_COUNT] = {
    [AF_WENC_FP32] = {"fp32", 32.0, AF_ENC_RAW},  /* AF_ENC_RAW of an f32 tensor */
    [AF_WENC_FP16] = {"fp16", 16.0, AF_ENC_FP16},
    [AF_WENC_INT8] = {"int8", 8.0, AF_ENC_INT8},  /* + one fp16 scale per row (negligible) */
    [AF_WENC_INT4] = {"int4", 4.0, AF_ENC_INT4_LUT}, /* 4-bit indices; 16-entry fp16 LUT amortised */
    [AF_WENC_SPARSE] = {"sparse", 9.0, AF_ENC_SPARSE}, /* 1-bit mask + fp16 values at 50% density */
    [AF_WENC_BLOCKWISE] = {"blockwise", 4.5, AF_ENC_BLOCKWISE}, /* int4 blocks of 32 + fp16 scale */
    /* priced as the 6-bit palette Core ML's guides use for large models; a bundle's palettes
     * are costed at their stored bytes */
    [AF_WENC_PALETTE] = {"palette", 6.0, AF_ENC_PALETTE},
};

int af_wenc_from_name(const char *name)
{
    for (int i = 0; name && i < AF_WENC_COUNT; i++)
        if (!strcmp(af_wenc_table[i].name, name)) return i;
    return -1;
}

/* ---- sources --------------------------------------------------------------------------- */
#define SRC_M1_TOPS "Apple Newsroom, 'Apple unleashes M1' (2020-11-10): 11 trillion ops/s"
#define SRC_M2_TOPS "Apple Newsroom, 'Apple unveils M2' (2022-06-06): 15.8 trillion ops/s"
#define SRC_M3_TOPS "Apple M3 announcement (2023-10-30): 18 TOPS (some sources 15.8)"
#define SRC_M4_TOPS \
    "assumed: Apple M4 announcement (2024-05-07) quotes 38 TOPS, counted in int8 like A17 Pro's 35; fp16 taken as half"
#define SRC_M5_TOPS "assumed: no public ANE figure for M5; taken equal to M4 (fp16 19 TOPS)"
#define SRC_M1_BW "Apple M1 specifications: LPDDR4X-4266, 68.25 GB/s"
#define SRC_M2_BW "Apple Newsroom, 'Apple unveils M2' (2022-06-06): 100 GB/s"
#define SRC_M3_BW "Apple M3 specifications: 100 GB/s"
#define SRC_M4_BW "Apple M4 announcement (2024-05-07): 120 GB/s"
#define SRC_M5_BW "Apple M5 announcement (2025-10-15): 153 GB/s"
#define SRC_VECTOR "assumed: no public figure for non-GEMM work; taken as the peak"
#define SRC_SPECIAL "assumed: no public figure; one evaluation per op (lookup-table activations) at the peak"
#define SRC_TAP "assumed: no public figure; one tap per op at the peak"
#define SRC_HALF "assumed: no public figure; GEMM efficiency taken as independent of the layer size"
/* Activations and weights both stream from DRAM. */
#define BW(v, src) .dram_gbps = FIG(v, src), .weight_gbps = FIG(v, src)
/* The rates without public figures, derived from the peak (tera-ops/s) and marked assumed. */
#define RATES(p)                                                                               \
    .vector_tops = ASSUMED(p, SRC_VECTOR), .special_gops = ASSUMED(p * 1000, SRC_SPECIAL),     \
    .tap_gops = ASSUMED(p * 1000, SRC_TAP), .gemm_half = ASSUMED(0, SRC_HALF)
#define SRC_FLOOR \
    "assumed: no published figure; 2 us per dispatched layer so that tiny layers are not free"
#define SRC_ACT "ANEForge roadmap ('the two locks'): the ANE dataplane is fp16 only (2 bytes per activation element)"
#define SRC_DECOMP "Core ML Tools docs (optimization overview): weights not streamed natively are expanded to fp16 before use"
#define SRC_STREAM_H13                                                                         \
    "ANEForge roadmap ('weight-compression datapaths'), Core ML Tools docs: h13 streams int4 "   \
    "palettes only; other palettes assumed not native (Core ML Tools 'What's New' dates 1/2/4/6/8-bit " \
    "tables to iOS 16 and 3-bit, grouped tables and per-channel scales to iOS 18 by OS, not by chip)"
#define SRC_STREAM_H14                                                                         \
    "Core ML Tools docs (optimization overview): h14 and later stream int4, sparse, int8, "       \
    "blockwise; palettes of other widths or with per-channel scales and offsets assumed (Core "  \
    "ML Tools 'What's New': iOS 16 and iOS 18 palettization features, listed by OS not chip; "    \
    "Hugging Face "                                                                            \
    "'Faster Stable Diffusion with Core ML' (2023): 6-bit palettes on A15, the h14 generation)"
#define SRC_DIM "public report (hollance/neural-engine notes): Core ML's ANE path rejects input dims > 16384"
#define SRC_RANK "public report (hollance/neural-engine notes): ANE tensors have rank <= 5"
#define SRC_POOL "public report (hollance/neural-engine notes): pooling kernel > 13 or stride > 2 falls back off the ANE (partly guessed in the source)"
#define SRC_UP "public report (hollance/neural-engine notes): upsampling by more than 2x falls back off the ANE (partly guessed)"
#define SRC_DIL "public report (hollance/neural-engine notes): dilated convolution falls back off the ANE"
#define SRC_TRIG "assumed: the ANEForge roadmap ('cross-chip deployment') says the oldest families lack trig (Sin/Cos); taken as h13 only"
/* losses, trigonometry and other elementwise ops */
#define OPS1_TRIG ",tan,asin,acos,atan,sinh,cosh,asinh,acosh,atanh"
#define SRC_TRIG_OPS1 \
    "; assumed: no public source for tan, the inverse and the hyperbolic functions; taken as missing where sin/cos are"

#define FIG(v, s) {(v), s, 0}
#define ASSUMED(v, s) {(v), s, 1}
#define WBIT(e) (1u << (e))
#define STREAMS_H13 (WBIT(AF_WENC_FP16) | WBIT(AF_WENC_INT4))
#define STREAMS_H14                                                                            \
    (WBIT(AF_WENC_FP16) | WBIT(AF_WENC_INT4) | WBIT(AF_WENC_SPARSE) | WBIT(AF_WENC_INT8) |     \
     WBIT(AF_WENC_BLOCKWISE) | WBIT(AF_WENC_PALETTE))

/* Caps shared by every family (no family-specific public figures exist). */
#define COMMON_CAPS                                                                            \
    .max_dim = FIG(16384, SRC_DIM), .max_rank = FIG(5, SRC_RANK),                              \
    .pool_kernel_max = FIG(13, SRC_POOL), .pool_stride_max = FIG(2, SRC_POOL),                 \
    .upsample_max = FIG(2, SRC_UP), .dilation_max = FIG(1, SRC_DIL),                           \
    .op_floor_us = ASSUMED(2.0, SRC_FLOOR), .act_bytes = FIG(2, SRC_ACT),                      \
    .decompressed_bits = FIG(16, SRC_DECOMP)

static const af_target_family families[] = {
    {.name = "h13", .alias = "m1", .chip = "M1 (H13: the A14 and M1 generation)",
     .peak_fp16_tops = FIG(11.0, SRC_M1_TOPS), BW(68.25, SRC_M1_BW), RATES(11.0),
     .native_streams = STREAMS_H13, .native_streams_source = SRC_STREAM_H13,
     .missing_ops = "sin,cos" OPS1_TRIG, .missing_ops_source = SRC_TRIG SRC_TRIG_OPS1, COMMON_CAPS},
    {.name = "h14", .alias = "m2", .chip = "M2 (H14: the A15 and M2 generation)",
     .peak_fp16_tops = FIG(15.8, SRC_M2_TOPS), BW(100.0, SRC_M2_BW), RATES(15.8),
     .native_streams = STREAMS_H14, .native_streams_source = SRC_STREAM_H14,
     .missing_ops = "", .missing_ops_source = "", COMMON_CAPS},
    {.name = "h15", .alias = "m3", .chip = "M3 (H15: the A16 and M3 generation)",
     .peak_fp16_tops = FIG(18.0, SRC_M3_TOPS), BW(100.0, SRC_M3_BW), RATES(18.0),
     .native_streams = STREAMS_H14, .native_streams_source = SRC_STREAM_H14,
     .missing_ops = "", .missing_ops_source = "", COMMON_CAPS},
    {.name = "h16", .alias = "m4", .chip = "M4 (H16: the A17 Pro and M4 generation)",
     .peak_fp16_tops = ASSUMED(19.0, SRC_M4_TOPS), RATES(19.0), BW(120.0, SRC_M4_BW),
     .native_streams = STREAMS_H14, .native_streams_source = SRC_STREAM_H14,
     .missing_ops = "", .missing_ops_source = "", COMMON_CAPS},
    {.name = "h17s", .alias = "m5", .chip = "M5 (H17: the A18 and M5 generation)",
     .peak_fp16_tops = ASSUMED(19.0, SRC_M5_TOPS), RATES(19.0), BW(153.0, SRC_M5_BW),
     .native_streams = STREAMS_H14, .native_streams_source = SRC_STREAM_H14,
     .missing_ops = "", .missing_ops_source = "", COMMON_CAPS},
};

/* grid_sample from coremltools issue #1875 ("grid sample does not run on GPU or
 * ANE"; #2299 files its absence from the ANE under the macOS 15 beta on M2 as a regression, so
 * placement varies by OS: off is the safe answer); roi_align, dft, stft and
 * mel_weight_matrix assumed (no public report of Core ML placing them on the ANE; roi_align's
 * crops are data-dependent gathers, and mel_weight_matrix folds to a constant when its inputs do) */
#define OPS3_NEVER ",grid_sample,roi_align,dft,stft,mel_weight_matrix"
#define OPS3_NEVER_SOURCE                                                                      \
    "; grid_sample: public report, coremltools issue #1875 (runs on neither GPU nor ANE); "      \
    "roi_align, dft, stft, mel_weight_matrix: assumed (no public report of them on the ANE)"
/* gather_nd, scatter_nd, scatter_elements and max_unpool are gathers or
 * scatters (the public report on gather, extended: assumed); topk and reverse_sequence are
 * data-dependent permutations, nms, nonzero and compress data-dependent selections, with no
 * ANE layer known (assumed). one_hot stays eligible: it is a compare against an iota and a
 * select, both ANE layers (assumed; its integer indices already keep it off the ANE). */
#define OPS2_NEVER \
    ",gather_nd,scatter_nd,scatter_elements,max_unpool,topk,reverse_sequence,nms,nonzero,compress"
#define OPS2_NEVER_SOURCE "; assumed: other gathers, scatters and selections"

/* isnan/isinf (bool out) and bitshift (u8) are off the ANE by the dtype rule;
 * eye_like and the windows always fold to constants; shrink and the trig functions are
 * elementwise (on the ANE except below h13's floor). */
#define OPS1_NEVER ",nll_loss,hardmax,det"
#define OPS1_NEVER_SOURCE                                                                      \
    "; assumed (no public source): nll_loss gathers by class index like gather; hardmax "       \
    "(argmax + one-hot) and det (pivoted LU) have no ANE layer in any public report"

/* quantize/dequantize of activations and the integer conv/matmul ops run on
 * the CPU. The ANE computes fp16 only; int8 enters it only as weights, dequantized in its
 * datapath (the bundle's int8 weight encoding, which is how QDQ weights arrive), so int8
 * activation tensors, int32 accumulators and their round-half-even requantization have no
 * ANE form: the same public source as the dtype rule below. */
#define QUANT_NEVER \
    ",quantize,dequantize,dyn_quantize,conv_integer,qlinear_conv,matmul_integer,qlinear_matmul,"    \
    "qlinear_global_avgpool,qlinear_binary"
#define QUANT_NEVER_SOURCE                                                                     \
    "; quantize/dequantize and integer conv/matmul: the ANE computes fp16 only, int8 only as " \
    "weights dequantized in its datapath"

const char *const af_target_never_ops =
    "gather,gather_elements,lstm,gru,rnn" OPS3_NEVER OPS2_NEVER OPS1_NEVER QUANT_NEVER;
const char *const af_target_never_ops_source =
    "public report (hollance/neural-engine notes): gather and RNN/LSTM/GRU fall back off the ANE on every family"
    OPS3_NEVER_SOURCE OPS2_NEVER_SOURCE OPS1_NEVER_SOURCE QUANT_NEVER_SOURCE;
const char *const af_target_dtype_source =
    "ANEForge roadmap ('the two locks'): the ANE computes in fp16 only (no fp32/int32/bf16 compute)";

int af_target_count(void) { return (int)(sizeof families / sizeof families[0]); }

const af_target_family *af_target_at(int i)
{
    return i >= 0 && i < af_target_count() ? &families[i] : NULL;
}
