/* convert/validate_cfg.h — classifier-free guidance under the deployed precision
 * (`aneforge validate ... --cfg-scale S --cond DIR --uncond DIR`, docs/sd-fp16.md).
 *
 * A diffusion step with guidance runs the network twice, on the conditional input set (cond:
 * the prompt's text embedding) and the unconditional one (uncond: the empty prompt's), and uses
 * g = u + s·(c − u). The difference d = c − u is a small fraction of c or u, so errors that are
 * small next to c and u can be large next to d, and s amplifies them. af_validate_cfg_run():
 *   1. runs the fp32 program and the bundle as deployed (af_val_options: fp16 emulation, the
 *      bundle's precision placement or node_precision) on both input sets;
 *   2. measures (convert/metrics.h), per output, bundle vs fp32 program: c, u, d and g;
 *   3. per layer (o->per_layer): every f32 tensor both programs compute by name — deployed
 *      (errors accumulated) and own (a second pair of bundle runs fed the fp32 program's tensors,
 *      as validate --per-layer does): the error of the layer's c and of its difference c − u;
 *      the relative L2 of the difference is where guidance loses accuracy.
 * af_cfg_references() / af_cfg_measure() are the same measure split for a placement search:
 * the fp32 program's outputs once, then any number of placements of one bundle. */
#ifndef AF_CONVERT_VALIDATE_CFG_H
#define AF_CONVERT_VALIDATE_CFG_H

#include "validate.h"

typedef struct af_cfg_options {
    af_val_options base;        /* model, bundle, fp16, per_layer, n_threads, shapes, ...;
                                 * base.inputs_dir is ignored */
    const char *cond_dir, *uncond_dir; /* DIR/<input>.npy for every bundle input */
    double scale;               /* guidance scale s (7.5 in SD-1.5 pipelines) */
    int fp16_weights;           /* af_cfg_measure: af_session_options.fp16_weights */
} af_cfg_options;

typedef struct af_cfg_output {
    char *name;
    af_metrics c, u, d, g;      /* bundle vs fp32 program: cond, uncond, c − u, u + s·(c − u) */
    double d_ratio;             /* ‖d‖₂ / ‖c‖₂ of the fp32 program: how small the difference is */
} af_cfg_output;

typedef struct af_cfg_layer {
    char *name, *node;
    const char *op;
    int depth;
    int rounding;               /* how the bundle stored it (AF_PREC_*) */
    double d_ratio;             /* ‖d‖₂ / ‖c‖₂ of the fp32 program at this tensor */
    af_metrics c, d;            /* deployed: errors accumulated from the inputs */
    int has_own;
    af_metrics own_c, own_d;    /* own: the layer fed the fp32 program's tensors */
} af_cfg_layer;

typedef struct af_cfg_result {
    char *name, *model, *bundle;
    int fp16;
    double scale;
    int n_fp32, n_paired;       /* nodes the placement in use keeps fp32 / pairs */
    af_cfg_output *outputs;
    int n_outputs;
    af_cfg_layer *layers;       /* program order of the bundle */
    int n_layers;
} af_cfg_result;

af_status af_validate_cfg_run(const af_cfg_options *o, af_cfg_result *r, af_err *err);
void af_cfg_result_free(af_cfg_result *r);
/* Index of the layer whose own difference error is largest (relative L2; NaN first), or -1. */
int af_cfg_worst_layer(const af_cfg_result *r);
/* Lowest guided PSNR over the outputs (NaN when any is NaN). */
double af_cfg_guided_psnr(const af_cfg_result *r);

/* The fp32 program's outputs on both input sets, for af_cfg_measure. */
typedef struct af_cfg_ref {
    int n_outputs;
    char **names;
    float **c, **u;
    size_t *n;
} af_cfg_ref;

/* For n input-set pairs o[0..n) of one model and bundle (the fp32 program converted once):
 * refs[n] (freed on failure). */
af_status af_cfg_references(const af_cfg_options *o, int n, af_cfg_ref *refs, af_err *err);

/* --cfg-calib DIR (cfg_pairs.c): DIR/cond/ and DIR/uncond/ are one pair; else every subfolder of
 * DIR (sorted by name, at most AF_CFG_MAX_PAIRS) is one, DIR/<sub>/cond/ and DIR/<sub>/uncond/.
 * paths[2k] and paths[2k + 1] are pair k's cond and uncond folders. AF_ERR_IO when DIR cannot be
 * read or holds no pair. */
#define AF_CFG_MAX_PAIRS 64
af_status af_cfg_calib_pairs(const char *dir, char ***paths, int *n_pairs, af_err *err);
void af_cfg_calib_pairs_free(char **paths, int n_pairs);
void af_cfg_ref_free(af_cfg_ref *ref);
/* The bundle o->base.bundle_path (already open as b) with fp16 emulation and node placement
 * prec (NULL: the bundle's), on both input sets: fills outs[ref->n_outputs] (names borrowed
 * from ref: not freed by af_cfg_result_free). */
af_status af_cfg_measure(const af_cfg_options *o, af_bundle *b, const af_cfg_ref *ref,
                         const uint8_t *prec, af_cfg_output *outs, af_err *err);

/* Reports: a table (outputs, then with per_layer the layers by own difference error, top N)
 * and a JSON document. */
void af_cfg_print_table(FILE *f, const af_cfg_result *r, double min_psnr, int per_layer, int top);
af_status af_cfg_write_json(const char *path, const af_cfg_result *r, double min_psnr,
                            af_err *err);
/* The same document as text (NUL-terminated, malloc'd: the caller frees it). */
af_status af_cfg_json_text(const af_cfg_result *r, double min_psnr, char **text, af_err *err);

#endif
