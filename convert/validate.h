/* convert/validate.h — what conversion and compression did to accuracy (`aneforge validate`).
 *
 * One component = (ONNX model, bundle, one input set). af_validate_run():
 *   1. converts the model into its fp32 program (--compress fp32, no fusion) in a temporary
 *      bundle — the reference;
 *   2. takes one input set: DIR/<input>.npy for every bundle input, or seeded random tensors of
 *      the declared shapes (f32 ~ N(0,1), uint8 uniform 0..255, integers 0, bool random);
 *   3. runs the reference and the bundle as deployed (optionally with fp16 activations) through
 *      the same runtime, with a node observer on each;
 *   4. measures (convert/metrics.h) every output of the bundle against the reference, and
 *      against expected outputs from elsewhere when a reference folder is given; outputs the
 *      task specs (--topk, --argmax-axis, --iou; convert/gates.h) fit get those measures too;
 *   5. per layer: every f32 tensor the bundle computes whose name the reference also computes
 *      (lowering keeps ONNX names where it fuses) with the same element count is measured,
 *      twice: as deployed (errors accumulate along the depth) and isolated (a second bundle run
 *      where each measured tensor is then overwritten by the reference's, so every layer reads
 *      exact inputs and shows its own error: compression of its weights plus fp16 rounding);
 *      layers are ranked by the isolated PSNR; with fp16 activations a third run (f32, same
 *      injection) gives the weights-only PSNR, the measure --compress auto judges weights by;
 *      each layer's weight, its stored encoding and auto's decisions (bundle metadata) are
 *      attached by validate_weights.c;
 *   6. fp16 overflow: every reference tensor holding values with |x| > 65504 is listed (always,
 *      per-layer mode or not), as is every bundle tensor holding NaN/Inf.
 * Reports (table, JSON, SVG plot of per-layer PSNR along the depth) are in validate_report.c.
 */
#ifndef AF_CONVERT_VALIDATE_H
#define AF_CONVERT_VALIDATE_H

#include <stdint.h>
#include <stdio.h>

#include "../graph/error.h"
#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "gates.h"
#include "metrics.h"

typedef struct af_val_options {
    const char *name;           /* component name for reports (NULL → the bundle's file name) */
    const char *model_path;
    const char *bundle_path;
    const char *inputs_dir;     /* NULL → seeded random inputs */
    uint64_t seed;
    const char *reference_dir;  /* expected outputs produced elsewhere, or NULL */
    int fp16;                   /* run the bundle with fp16 activation emulation */
    int per_layer;              /* compare intermediate tensors by name */
    int n_threads;
    const af_shape_spec *shapes; /* for the reference conversion (dynamic dims) */
    int n_shapes;
    const af_image_input_spec *image_inputs; /* the bundle's --image-input, for the reference */
    int n_image_inputs;
    const af_freeze_spec *freeze; /* the bundle's --freeze, for the reference */
    int n_freeze;
    const af_task_spec *tasks;  /* task measures per output (--topk, --argmax-axis, --iou) */
    int n_tasks;
    const af_gates *gates;      /* NULL = none; a task gate no output gets a measure for is
                                 * AF_ERR_USAGE (the gates themselves are judged by the caller) */
    const uint8_t *node_precision; /* with fp16: AF_PREC_* per bundle node, NULL = the bundle's
                                 * recorded placement (af_session_options.node_precision) */
    int int8_compute;           /* run the bundle with af_session_options.int8_compute */
} af_val_options;

typedef struct af_val_output {
    char *name;
    af_metrics m;               /* bundle vs fp32 program */
    af_task_metrics t;          /* task measures, bundle vs fp32 program (t.plan: which) */
    int has_expected;
    af_metrics m_expected;      /* bundle vs the expected output (reference_dir) */
    af_metrics m_ref_expected;  /* fp32 program vs the expected output */
    af_task_metrics t_expected, t_ref_expected;
} af_val_output;

/* A layer's weight: how the bundle stores it and, for --compress auto bundles, what auto
 * decided (bundle metadata "compression.tensors[]", validate_weights.c). */
typedef struct af_val_weight {
    char *tensor;               /* weight tensor name, NULL when the node reads none */
    char encoding[24];          /* as stored: "fp16", "int8", "blockwise-int8", ... */
    int has_auto;
    char gate_encoding[24];     /* auto's layer-gate choice */
    double gate_psnr;           /* its layer PSNR on auto's calibration inputs (inf: exact) */
    double auto_psnr;           /* the final choice's layer PSNR */
    int promotion;              /* 1-based step of auto's first promotion, 0 = never */
} af_val_weight;

typedef struct af_val_layer {
    char *name;                 /* tensor name */
    char *node;                 /* the bundle node that produced it */
    const char *op;             /* static op name */
    int depth;                  /* that node's index in the bundle program */
    af_metrics m;               /* bundle vs fp32 program (m.fp16_overflow: reference |x|>65504) */
    int has_own;
    af_metrics own;             /* this layer's own error: the bundle run again with every
                                 * compared tensor replaced by the fp32 program's after it is
                                 * measured, so each layer reads exact inputs */
    int has_wonly;
    af_metrics wonly;           /* the same isolated run with f32 activations: the error its
                                 * weights' encoding costs alone (= own without --fp16) — the
                                 * criterion --compress auto judges a tensor by */
    af_val_weight w;            /* the weight the node reads (w.tensor NULL: none) */
} af_val_layer;

typedef struct af_val_overflow {
    char *name;                 /* tensor name in the fp32 program */
    char *node;
    const char *op;
    int64_t count;              /* values with |x| > 65504 */
    double max_abs;             /* largest |x| */
} af_val_overflow;

typedef struct af_val_result {
    char *name, *model, *bundle;
    int fp16;
    int int8_compute;           /* the bundle ran with int8 compute */
    uint64_t seed;
    int random_inputs;
    af_val_output *outputs;
    int n_outputs;
    af_val_layer *layers;       /* program order of the bundle */
    int n_layers;
    int n_bundle_tensors;       /* f32 tensors the bundle computed */
    af_val_overflow *overflow;  /* reference tensors beyond the fp16 range, program order */
    int n_overflow;
    char *first_nonfinite;      /* first bundle tensor holding NaN/Inf (NULL if none) */
    char *first_nonfinite_node;
    int auto_bundle;            /* the bundle's metadata holds auto's per-tensor decisions */
    int inputs_from_f64;        /* --inputs files given as '<f8', narrowed to f32 */
} af_val_result;

af_status af_validate_run(const af_val_options *o, af_val_result *r, af_err *err);

/* Pieces validate_cfg.c and placement.c share: one program (bundle + session). */
typedef struct af_val_prog {
    af_bundle *b;
    af_session *s;
} af_val_prog;
/* int8: af_session_options.int8_compute */
af_status af_val_prog_open(af_val_prog *p, const char *path, int fp16, int n_threads,
                           const uint8_t *node_precision, int int8, af_err *err);
void af_val_prog_close(af_val_prog *p);
/* The fp32 program of o->model_path (temporary bundle, unlinked once mapped). */
af_status af_val_open_reference(const af_val_options *o, af_val_prog *p, af_err *err);
/* o->inputs_dir's tensors (or seeded random ones) into both programs (bundle inputs by name; ref NULL: the bundle only). */
af_status af_val_set_inputs(const af_val_options *o, af_val_prog *ref, af_val_prog *bun,
                            int *narrowed, af_err *err);
/* A float copy of n elements of any numeric dtype (NULL: out of memory). */
float *af_val_as_floats(af_dtype dt, const void *data, size_t n);
void af_val_result_free(af_val_result *r);

/* Index of the layer with the lowest own (isolated) PSNR (NaN counts lowest), or -1. */
int af_val_worst_layer(const af_val_result *r);
/* Index of the weighted layer with the lowest weights-only PSNR, or -1. */
int af_val_worst_weights(const af_val_result *r);
/* Index of the layer whose weight auto promoted first (promotion 1), or -1. */
int af_val_first_promoted(const af_val_result *r);
/* Fills every layer's w from the bundle's program and metadata (validate_weights.c). */
af_status af_val_attach_weights(const char *bundle_path, af_val_result *r, af_err *err);
/* The PSNR layers are ranked by: own (isolated) when measured, else as deployed. */
double af_val_layer_rank_psnr(const af_val_layer *l);
/* Mask of the gates (convert/gates.h) any output fails, bundle vs fp32 program (NaN fails);
 * 0 = passes. */
int af_val_failed(const af_val_result *r, const af_gates *g);
/* 1 when every output's PSNR (bundle vs fp32 program) is >= min_psnr (NaN fails). */
int af_val_passes(const af_val_result *r, double min_psnr);

/* Reports. Several components make one table / one JSON document / one plot (which draws
 * g->min_psnr). */
void af_val_print_table(FILE *f, const af_val_result *r, int n, const af_gates *g, int per_layer,
                        int top);
/* The JSON document af_val_write_json writes, NUL-terminated, malloc'd (the caller frees it). */
af_status af_val_json_text(const af_val_result *r, int n, const af_gates *g, char **text,
                           af_err *err);
af_status af_val_write_json(const char *path, const af_val_result *r, int n, const af_gates *g,
                            af_err *err);
af_status af_val_write_svg(const char *path, const af_val_result *r, int n, double min_psnr,
                           af_err *err);

#endif
