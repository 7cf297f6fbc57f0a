/* aneforge/converter.h — the converter: ONNX model → lowered, compressed .afb bundle.
 *
 *   af_convert_options o = {0};
 *   o.model_path = "resnet18.onnx";  o.out_path = "resnet18.afb";  o.compress = "fp16";
 *   af_convert_report r;  char msg[512];
 *   if (af_convert(&o, &r, msg, sizeof msg) != AF_OK) fprintf(stderr, "%s\n", msg);
 *
 * Conversion is deterministic (same model and options → byte-identical bundle) and atomic
 * (the bundle appears complete or not at all). Errors name the file and what is wrong. When
 * lowering needs a constant that is computed from graph inputs (a Reshape target, Slice starts,
 * ...), the message ends "; fix it with --freeze NAME=FILE.npy" naming those inputs.
 */
#ifndef ANEFORGE_CONVERTER_H
#define ANEFORGE_CONVERTER_H

#include <stddef.h>
#include <stdint.h>

#include "aneforge/status.h"
#include "aneforge/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct af_shape_spec {
    const char *name; /* graph input name */
    int rank;
    int64_t dims[AF_MAX_RANK];
} af_shape_spec;

/* Task-level accuracy measures (docs/validation.md "Task measures"): which outputs get a top-K,
 * an argmax or an IoU measure. --topk [NAME=]K, --argmax-axis [NAME=]A, --iou [NAME=]T. Without
 * NAME a spec applies to every output it fits (top-K: the last axis is longer than K; argmax:
 * axis A exists and is at least 2 long; IoU: any output); with NAME to that output only, which
 * must exist and fit, overriding an unnamed spec of the same kind. At most one spec per kind
 * and name. */
typedef enum af_task_kind { AF_TASK_TOPK = 1, AF_TASK_ARGMAX = 2, AF_TASK_IOU = 3 } af_task_kind;

typedef struct af_task_spec {
    const char *output;         /* output name, NULL = every output it fits */
    af_task_kind kind;
    int k;                      /* AF_TASK_TOPK: K >= 1 (top-1 is always reported too) */
    int axis;                   /* AF_TASK_ARGMAX: the axis; negative counts from the end */
    double threshold;           /* AF_TASK_IOU: the masks are value > threshold */
} af_task_spec;

/* Parses "[NAME=]VALUE" as a spec of kind (the last '=' splits; arg is cut there): an integer
 * K >= 1, an integer axis, or a finite threshold. AF_ERR_USAGE with a message when malformed. */
af_status af_task_spec_parse(char *arg, af_task_kind kind, af_task_spec *out, char *msg,
                             size_t msg_size);

typedef struct af_convert_options {
    const char *model_path;
    const char *out_path;
    const char *compress;       /* "fp32" or "fp16" (default) */
    const char *target;         /* ANE family name, or NULL */
    const af_shape_spec *shapes; /* fixes dynamic input dimensions */
    int n_shapes;
    int no_fuse;                /* keep BatchNorm and activations as separate ops */
    const struct af_image_input_spec *image_inputs; /* inputs declared uint8 images */
    int n_image_inputs;
    /* --weights: .safetensors files or *.index.json shard indexes whose tensors replace the
     * model's initializers by name (importers/safetensors/bind.h, docs/safetensors.md) */
    const char *const *weights;
    int n_weights;
    const char *weight_map;     /* --weight-map: rename rules for the files' tensor names */
    int allow_partial;          /* --allow-partial: unmatched/uncovered tensors are not errors */
    int allow_fallback;         /* --target: nodes breaking a family cap go to the CPU (placement
                                 * recorded in the metadata) instead of refusing the model */
    /* --compress int8|int4|sparse|blockwise|auto (docs/compression.md); 0 = the default */
    int group_size;             /* --group-size: int4/palette output channels per table; 0 = 16
                                 * when the tensor has >= 32, -1 = one table per tensor */
    int palette_bits;           /* --palette-bits: palette index width 1,2,3,4,6,8; 0 = 4 */
    const char *palette_scale;  /* --palette-scale: "none" or "row" (int4/palette); NULL = the
                                 * default (docs/compression.md) */
    int block_size;             /* --block-size: blockwise elements per block, power of two >= 8;
                                 * 0 = 32 */
    int block_bits;             /* --block-bits: blockwise code width, 4 or 8; 0 = 4 */
    double sparsity;            /* --sparsity S in [0,1): sparse prunes this fraction by magnitude */
    int int8_asymmetric;        /* --int8-asymmetric: int8 with a zero point */
    int int8_per_tensor;        /* --int8-per-tensor: one int8 scale per tensor, not per channel */
    const char *calib_dir;      /* --calib DIR: calibration inputs (.npy sets): auto's judging and
                                 * data-aware int8/int4/blockwise codes */
    double min_psnr;            /* --min-psnr: auto's whole-model gate in dB; 0 = 35 */
    void (*progress)(void *user, const char *stage, uint64_t done, uint64_t total);
    void *progress_user;        /* progress of long steps (auto's judging), NULL = silent */
    int no_inplace_concat;      /* --no-inplace-concat: Concat copies every input (debugging) */
    /* --freeze NAME=FILE.npy: graph input NAME becomes a constant holding the file's tensor
     * (dtype and declared dims must match), so parameters the ANE needs static fold away */
    const struct af_freeze_spec *freeze;
    int n_freeze;
    /* --compress auto: whole-model gates on task measures, next to min_psnr (all must pass;
     * docs/compression.md). Each 0 = no such gate; fractions in [0, 1]. */
    double min_cosine;          /* --min-cosine C: every output's cosine >= C */
    double min_topk;            /* --min-topk P: top-K agreement >= P (needs an AF_TASK_TOPK spec) */
    double min_argmax;          /* --min-argmax P: argmax agreement (needs an AF_TASK_ARGMAX spec) */
    double min_iou;             /* --min-iou P: IoU (needs an AF_TASK_IOU spec) */
    const af_task_spec *tasks;  /* --topk/--argmax-axis/--iou: which outputs get which measures */
    int n_tasks;
    /* --data-free: with calib_dir, encode without the calibration data's input statistics
     * (GPTQ, docs/compression.md "Data-aware encoding"); calibration then only judges auto */
    int data_free;
    /* --max-size R: auto, size first: the compressible weights take at most R of their fp32
     * bytes, with the least layer error the budget allows (docs/compression.md); 0 = off */
    double max_size;
    /* Precision placement under fp16 (docs/sd-fp16.md): NULL, "auto", or comma-separated node
     * names of the lowered program (as inspect and validate --per-layer name them).
     * --keep-fp32: these nodes run fp32 on the CPU (their weights stored fp32, a tensor between
     * two of them kept fp32); --paired-fp16: these nodes carry activations as hi + lo halves.
     * "auto" chooses the fewest nodes, by measured contribution to the guided output's error then
     * by estimated time, so that the guided output u + s·(c − u) on --cfg-calib meets
     * --min-cfg-psnr under fp16 emulation. At most one of them "auto". */
    const char *keep_fp32;
    const char *paired_fp16;
    const char *cfg_calib_dir;  /* --cfg-calib DIR: DIR/cond/ and DIR/uncond/ input sets */
    double min_cfg_psnr;        /* --min-cfg-psnr DB: the guided output's gate; 0 = 40 */
    double cfg_scale;           /* --cfg-scale S: guidance scale; 0 = 7.5 */
} af_convert_options;

typedef struct af_freeze_spec {
    const char *name;           /* graph input name */
    const char *path;           /* .npy file ('<f8' is narrowed to f32) */
} af_freeze_spec;

/* Parses "NAME=FILE.npy" (the first '=' splits; arg is cut there). AF_ERR_USAGE when malformed. */
af_status af_freeze_parse(char *arg, af_freeze_spec *out, char *msg, size_t msg_size);

/* --image-input NAME:scale=S,bias=B0,B1,B2 — the input becomes uint8 and the program starts with
 * x·scale + bias per channel (axis 1), computed in f32 as Cast → Mul → Add, so running the
 * bundle on bytes equals running it on (float)bytes·scale + bias computed on the host in f32.
 * scale and bias hold one value (all channels) or one per channel. */
#define AF_IMAGE_MAX_CHANNELS 16
typedef struct af_image_input_spec {
    char name[256];
    int n_scale, n_bias;
    float scale[AF_IMAGE_MAX_CHANNELS], bias[AF_IMAGE_MAX_CHANNELS];
} af_image_input_spec;

/* Parses "NAME:scale=S[,S1,...],bias=B0[,B1,...]" (either key optional: scale 1, bias 0). */
af_status af_image_input_parse(const char *arg, af_image_input_spec *out, char *msg,
                               size_t msg_size);

typedef struct af_convert_report {
    int opset;
    int nodes_imported;
    int nodes_lowered;
    int folded, removed, bn_folded, act_fused;
    uint64_t weight_bytes_fp32; /* constants as float32 */
    uint64_t weight_bytes;      /* constants as stored */
    uint64_t arena_bytes;       /* planned activation arena */
    uint64_t naive_arena_bytes; /* without buffer reuse */
    uint64_t file_bytes;
    int weights_files, weights_bound, weights_converted; /* --weights: files read, initializers */
    int weights_unmatched, weights_uncovered;            /* replaced, of which dtype-converted */
    char weights_note[512]; /* unmatched/uncovered names under --allow-partial, "" if none */
    int target_nodes, target_cpu_nodes; /* --target: nodes placed, of which off the ANE */
    int weights_compressed;     /* --compress: weight tensors given a compressed encoding */
    double model_psnr_db;       /* --compress auto: whole-model output PSNR on calibration data */
    int promotions;             /* --compress auto: layers moved up by the whole-model gate */
    char compress_warning[320]; /* "" or one line (family does not stream it, random calibration) */
    int concat_inplace;         /* Concat inputs planned in place inside their output */
    int residual_fused;         /* residual Adds fused into the preceding conv or MatMul */
    /* --compress auto: the whole-model gate(s) that needed the last promotion, comma-separated
     * in the order psnr,cosine,topk,argmax,iou ("layer_gate": no promotion was needed), whether
     * every gate passed in the end, and the final measures on the calibration data (worst
     * output; NaN when not measured) */
    char decided_by[48];
    int gates_met;
    double model_cosine, model_top1, model_topk, model_argmax, model_iou;
    /* --keep-fp32 / --paired-fp16: nodes placed, the guided output's PSNR on --cfg-calib under
     * fp16 emulation without and with the placement (NaN without --cfg-calib), the share of the
     * estimated time the fp32 nodes take off the ANE and the time pairing adds, on the --target
     * family's figures (h13 without --target) */
    int fp32_nodes, paired_nodes;
    double cfg_psnr_fp16, cfg_psnr_placed;
    double cpu_time_share, paired_time_extra;
    char cost_family[16];
} af_convert_report;

af_status af_convert(const af_convert_options *opt, af_convert_report *report, char *msg,
                     size_t msg_size);

/* "fp32" 0, "fp16" 1, "int8" 2, "int4" 3, "sparse" 4, "blockwise" 5, "auto" 6; -1 for an
 * unknown name (NULL → fp16). */
int af_compress_mode_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
