/* aneforge/targets.h — Apple Neural Engine families: the family table, the static preflight
 * ("does every op run on this family's ANE?"), fp16 divergence prediction ("where will fp16
 * hurt?") and the roofline cost model ("roughly how fast?").
 *
 *   const af_target_family *f = af_target_find("m2");        // h14; NULL for an unknown name
 *   af_target t;  af_target_resolve("iphone13", &t, msg, sizeof msg);  // A15: h14 + its figures
 *   af_target_check_result r;  char msg[512];
 *   af_target_check_file("model.onnx", NULL, 0, f, &r, msg, sizeof msg);
 *   for (int i = 0; i < r.n; i++) printf("%s (%s): %s\n", r.v[i].node, r.v[i].op, r.v[i].detail);
 *   af_target_check_free(&r);
 *
 * Every figure of the table carries its source; a figure nobody published is marked assumed and
 * says what it is based on (docs/targets.md lists them). An unknown family name is an error for
 * every entry point (AF_ERR_USAGE naming the known names); nothing falls back to a default.
 *
 * The pseudo-family "host" is not in the table: af_target_host_probe() measures this machine
 * (GEMM throughput, memory bandwidth, per-op floor) so estimates can be checked against real runs.
 */
#ifndef ANEFORGE_TARGETS_H
#define ANEFORGE_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "aneforge/converter.h" /* af_shape_spec */
#include "aneforge/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One figure with where it comes from. assumed = 1: not published, an estimate (its source then
 * starts with "assumed:" and says what it is based on). */
typedef struct af_figure {
    double value;
    const char *source;
    int assumed;
} af_figure;

/* Weight encodings as the cost model sees them (a superset of what bundles hold today). */
typedef enum af_wenc {
    AF_WENC_FP32 = 0,   /* raw float32 */
    AF_WENC_FP16,
    AF_WENC_INT8,
    AF_WENC_INT4,       /* 4-bit palette: fp16 table per group of output channels */
    AF_WENC_SPARSE,
    AF_WENC_BLOCKWISE,
    AF_WENC_PALETTE,    /* other palettes: 1/2/3/6/8-bit, or a per-channel scale around the table */
    AF_WENC_COUNT
} af_wenc;

typedef struct af_wenc_info {
    const char *name;       /* "fp16", "int8", ... */
    double bits_per_weight; /* stored bits per element, metadata (scales, LUTs) amortised */
    int bundle_encoding;    /* af_encoding value a bundle stores it as (graph/graph.h) */
} af_wenc_info;

extern const af_wenc_info af_wenc_table[AF_WENC_COUNT];
/* AF_WENC_* for a name, -1 if unknown. */
int af_wenc_from_name(const char *name);

typedef struct af_target_family {
    const char *name;       /* "h13" */
    const char *alias;      /* "m1" */
    const char *chip;       /* "M1 (A14 generation ANE)" */
    /* throughput per class of work (see targets/cost.c for what each op counts) */
    af_figure peak_fp16_tops;  /* dense fp16 tera-ops/s (1 MAC = 2 ops) for GEMM-shaped work */
    af_figure gemm_half;       /* GEMM size min(M, K) at which half the peak is reached (0: none) */
    af_figure vector_tops;     /* tera-ops/s for elementwise arithmetic and depthwise conv */
    af_figure special_gops;    /* giga evaluations/s of exp-like functions (sigmoid, exp, ...) */
    af_figure tap_gops;        /* giga taps/s of indexed loops (pooling windows, resize, permutes) */
    af_figure dram_gbps;       /* DRAM bandwidth, GB/s (activations) */
    af_figure weight_gbps;     /* bandwidth weights are read at, GB/s (the ANE: DRAM too) */
    af_figure op_floor_us;     /* fixed cost per dispatched op, microseconds */
    af_figure act_bytes;       /* bytes per activation element moved (2 = fp16) */
    af_figure decompressed_bits; /* bits per weight when an encoding is not streamed natively */
    uint32_t native_streams;   /* bit (1 << AF_WENC_x): weights read from DRAM as stored */
    const char *native_streams_source;
    /* caps: a node breaking one runs off the ANE */
    af_figure max_dim;         /* largest dimension of an activation */
    af_figure max_rank;
    af_figure pool_kernel_max;
    af_figure pool_stride_max;
    af_figure upsample_max;    /* largest Resize factor along any axis */
    af_figure dilation_max;    /* 1 = dilated convolution unsupported */
    const char *missing_ops;   /* comma-separated op names below this family's floor */
    const char *missing_ops_source;
} af_target_family;

/* Ops that never run on any family's ANE (comma-separated names as in graph/ops.c, including
 * recurrences for when the importer learns them), with the source. */
extern const char *const af_target_never_ops;
extern const char *const af_target_never_ops_source;
/* The ANE computes fp16 only: a node reading or writing a non-float activation runs off it. */
extern const char *const af_target_dtype_source;

int af_target_count(void);
const af_target_family *af_target_at(int i);
/* The family row a target name runs on, case-sensitive: a family ("h14") or its alias ("m2"),
 * a chip ("a15", "m2ultra") or an unambiguous device alias ("iphone13"); NULL when unknown or
 * ambiguous. The caps, op floor and weight streams of a device are its family's. */
const af_target_family *af_target_find(const char *name);
/* "h13 (m1), h14 (m2), ..." into buf; returns buf. */
const char *af_target_known_names(char *buf, size_t size);
/* af_target_find or AF_ERR_USAGE with "unknown target 'x'; did you mean 'y'? (known: ...)" (or
 * "ambiguous target 'x' (...)") in msg. */
af_status af_target_lookup(const char *name, const af_target_family **out, char *msg,
                           size_t msg_size);

/* ---- devices: one row per Apple chip on top of the family rows (targets/devices.c) ----
 * A device maps to the family row whose caps and assumed rates it uses, and carries its own
 * public peak, memory bandwidth and ANE core count, each with its source. Its generation follows
 * the ladders A(n) = H(n - 1) and M(n) = H(n + 12); a generation without a family row (A11-A13,
 * A19) is "extrapolated" from the nearest family row (its anchor). */
typedef struct af_target_device {
    const char *name;          /* the --target spelling: "a15", "m2ultra" */
    const char *chip;          /* "A15 Bionic", "M2 Ultra" */
    const char *generation;    /* "H14": the ANE generation by the ladders */
    const char *family;        /* "h14": the family row used (the anchor when extrapolated) */
    const char *family_source; /* why this family, or "assumed: ..." */
    int extrapolated;          /* 1: no family row of its own generation; anchored on family */
    int year;                  /* first shipped */
    af_figure public_tops;     /* Apple's headline Neural Engine ops/s (int8 from A17 Pro/M4 on) */
    af_figure peak_fp16_tops;  /* the fp16 peak an estimate uses */
    af_figure dram_gbps;       /* memory bandwidth, GB/s */
    af_figure ane_cores;       /* Neural Engine cores (an Ultra: two 16-core dies) */
    const char *aliases;       /* comma-separated device aliases ("iphone13,iphone13mini,...") */
    const char *note;          /* a caveat for estimates ("" when none) */
} af_target_device;

int af_target_device_count(void);
const af_target_device *af_target_device_at(int i);
/* By chip name or device alias (case-sensitive); NULL when unknown. Family names and their
 * aliases m1..m5 are chips too: "m2" is the M2 device, whose figures are the h14 row's. */
const af_target_device *af_target_device_find(const char *name);

/* A target name resolved: the family row, the device (NULL when a family was named) and the
 * figures an estimate uses (the family row with the device's peak, bandwidth and the rates
 * derived from the peak put in; chip names the device). */
typedef struct af_target {
    const char *name;                /* canonical: "a15", "h14" */
    const af_target_family *family;  /* the table row */
    const af_target_device *device;  /* NULL for a family name */
    af_target_family figures;
} af_target;

/* AF_OK, or AF_ERR_USAGE with the af_target_lookup message. */
af_status af_target_resolve(const char *name, af_target *out, char *msg, size_t msg_size);
/* The device's figures on top of its family row (what af_target_resolve puts in figures). */
void af_target_device_figures(const af_target_device *d, af_target_family *out);

/* The generational peak of a target: Apple's headline figure and the fp16 peak estimates use
 * (for a family, both are its row's peak). AF_ERR_USAGE for an unknown name. */
af_status af_target_peak(const char *name, af_figure *public_tops, af_figure *fp16_tops,
                         char *msg, size_t msg_size);

/* Where each figure an estimate for a target uses comes from. */
#define AF_TARGET_N_FIGURES 12
typedef struct af_target_figure_row {
    const char *key;   /* "peak_fp16_tops", "dram_gbps", ... (the JSON keys of `targets`) */
    const char *unit;  /* "TOPS", "GB/s", "" */
    af_figure fig;
    const char *row;   /* the row it is read from: "a15" (device) or "h14" (family) */
} af_target_figure_row;

typedef struct af_target_provenance_info {
    const char *name, *chip, *generation, *family;
    int extrapolated;           /* the estimate extrapolates from the family row (the anchor) */
    const char *family_source;  /* why this family */
    const char *note;
    int n_sourced, n_assumed;
    int n;                      /* rows used in figures */
    af_target_figure_row figures[AF_TARGET_N_FIGURES];
} af_target_provenance_info;

af_status af_target_provenance(const char *name, af_target_provenance_info *out, char *msg,
                               size_t msg_size);

/* ---- detecting the running chip (targets/detect.c) ---- */
typedef struct af_detect_result {
    int has_ane;          /* 1: an Apple chip with a Neural Engine */
    char device[32];      /* "m2max", "a15"; "" when the variant is not known */
    char chip[64];        /* "M2 Max"; "M3 (variant unknown)" from hw.model alone */
    char generation[16];  /* "H14" */
    char family[16];      /* the family row: "h14" ("" without an ANE) */
    int extrapolated;     /* the generation has no row: family is the nearest anchor */
    char why[256];        /* how it was resolved, or why there is no ANE */
} af_detect_result;

/* Resolves recorded sysctl strings: hw_model is `sysctl hw.model` on macOS ("Mac14,2",
 * "MacBookPro18,3") or `hw.machine` on iOS ("iPhone14,2"); brand is
 * `machdep.cpu.brand_string` ("Apple M2 Max", "Intel(R) Core(TM) ..."); either may be NULL or
 * "". Pure parsing: compiled and tested on every platform. Always AF_OK (no ANE is a result). */
af_status af_detect_family(const char *hw_model, const char *brand, af_detect_result *out);
/* The running machine: sysctl on Apple platforms, "no ANE" elsewhere. */
af_status af_detect_host(af_detect_result *out, char *msg, size_t msg_size);

/* Measures this machine with the runtime's own kernels (~0.5 s): fills a family named "host"
 * whose figures' sources say "measured". */
af_status af_target_host_probe(af_target_family *out, char *msg, size_t msg_size);

/* ---- static preflight ---- */
typedef struct af_target_violation {
    char node[128];
    char op[32];
    char cap[32];        /* "max_dim", "max_rank", "pool_kernel", ... */
    char detail[192];    /* "kernel 15 > 13 (source: ...)" */
} af_target_violation;

typedef struct af_target_check_result {
    af_target_violation *v;
    int n, cap;
    int n_nodes;         /* nodes checked */
    int n_cpu_nodes;     /* distinct nodes with at least one violation */
} af_target_check_result;

/* Imports and lowers the model as convert does, then lists every violation. AF_OK with r->n
 * violations (the model is fine when r->n == 0). */
af_status af_target_check_file(const char *model_path, const af_shape_spec *shapes,
                               int n_shapes, const af_target_family *fam,
                               af_target_check_result *r, char *msg, size_t msg_size);
void af_target_check_free(af_target_check_result *r);

/* ---- fp16 divergence prediction ---- */
typedef enum af_fp16_kind {
    AF_FP16_OVERFLOW = 0, /* |x| > 65504 */
    AF_FP16_PRECISION,    /* many non-zero values below fp16's smallest normal (6.1e-5) */
    AF_FP16_CANCELLATION, /* a - b with |a - b| << max(|a|, |b|) */
} af_fp16_kind;

typedef struct af_fp16_flag {
    char tensor[128];
    char node[128];      /* producing node ("" for a graph input or constant) */
    char op[32];
    af_fp16_kind kind;
    double min, max;     /* measured range of the tensor */
    double fraction;     /* share of elements concerned */
    char why[192];
} af_fp16_flag;

typedef struct af_fp16_report {
    af_fp16_flag *flags;
    int n, cap;
    int n_tensors;       /* tensors examined */
} af_fp16_report;

/* Runs the model's fp32 program (lowered as convert does) on calibration inputs read from
 * calib_dir/<input>.npy, or on seeded N(0,1) inputs when calib_dir is NULL, and flags tensors. */
af_status af_fp16_predict_file(const char *model_path, const af_shape_spec *shapes,
                               int n_shapes, const char *calib_dir, af_fp16_report *r,
                               char *msg, size_t msg_size);
void af_fp16_report_free(af_fp16_report *r);
const char *af_fp16_kind_name(af_fp16_kind k);

/* ---- cost model ---- */
typedef struct af_op_cost {
    char node[128];
    char op[32];
    double macs;          /* multiply-accumulates (GEMM-shaped and depthwise) */
    double ops;           /* other arithmetic (elementwise, normalisation) */
    double special;       /* exp-like function evaluations (weighted, see cost.c) */
    double taps;          /* indexed-loop taps (pooling windows, resize, permutes) */
    double act_bytes;     /* activations read + written */
    double weight_bytes;  /* constants at the bytes the family reads */
    double time_us;       /* max(compute / peak, bytes / bandwidth) + floor */
    int memory_bound;
} af_op_cost;

typedef struct af_cost_report {
    af_op_cost *ops;
    int n, cap;
    double macs, act_bytes, weight_bytes, time_us;
    double floor_us;      /* the floors' share of time_us */
} af_cost_report;

typedef struct af_estimate_options {
    const af_shape_spec *shapes; /* for .onnx models */
    int n_shapes;
    int assume_weights;          /* -1: as stored (bundle) / fp16 (model); else AF_WENC_x */
} af_estimate_options;

/* Estimates a bundle (.afb) or a model (.onnx, imported and lowered as convert does). */
af_status af_estimate_file(const char *path, const af_target_family *fam,
                           const af_estimate_options *opt, af_cost_report *r, char *msg,
                           size_t msg_size);
void af_cost_report_free(af_cost_report *r);

#ifdef __cplusplus
}
#endif
#endif
