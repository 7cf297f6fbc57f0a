/* compress/compress.h — the converter's compression pass over a lowered graph.
 *
 *   af_compress_options o;  af_compress_options_init(&o);
 *   o.mode = AF_CMODE_AUTO;  o.family = af_target_find("h14");
 *   af_compress_result r;
 *   af_compress_graph(&g, &o, &r, &err);   // sets t->encoding / t->blob on weight tensors
 *   ... write the bundle, r.choices → metadata ...
 *   af_compress_result_free(&r);
 *
 * Which tensors are weights: f32 constants with more than AF_COMPRESS_MIN_ELEMS elements and
 * rank >= 2 read by the weight input of Conv, ConvTranspose, Gemm or MatMul, or by the data input
 * of Gather (embedding-like: never pruned). Everything else stays fp16 (or raw for fp32).
 *
 * Modes: a single encoding applies it to every weight (never filtered by family: with a family
 * that does not stream it natively a warning says it is a footprint lever only); sparse without
 * --sparsity takes only naturally sparse weights (smaller than fp16). auto: candidates are the
 * family's native streams, per tensor from smallest to largest; each is judged on its layer's
 * output over calibration activations (layer PSNR >= layer_psnr), the first passing wins, else
 * fp16; then the whole model's outputs must reach min_psnr against the fp32 program (and the
 * task gates given: cosine, top-K, argmax, IoU agreement), and while one fails, the most
 * sensitive layer (lowest layer PSNR) moves to its next larger candidate (how many moves: by
 * bisection over that fixed sequence, auto.c).
 */
#ifndef AF_COMPRESS_COMPRESS_H
#define AF_COMPRESS_COMPRESS_H

#include "../graph/graph.h"
#include "aneforge/converter.h"
#include "aneforge/targets.h"
#include "encodings.h"

typedef enum af_cmode {
    AF_CMODE_FP32 = 0,
    AF_CMODE_FP16,
    AF_CMODE_INT8,
    AF_CMODE_INT4,
    AF_CMODE_SPARSE,
    AF_CMODE_BLOCKWISE,
    AF_CMODE_PALETTE,
    AF_CMODE_AUTO,
    AF_CMODE_COUNT
} af_cmode;

extern const char *const af_cmode_names[AF_CMODE_COUNT];

typedef void (*af_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

typedef struct af_compress_options {
    af_cmode mode;
    af_cparams p;
    int block_bits;                   /* blockwise mode: 4 (default) or 8 */
    int palette_bits;                 /* palette mode: 1, 2, 3, 4 (default), 6 or 8 */
    const af_target_family *family;   /* NULL: none given */
    const char *calib_dir;            /* DIR/<input>.npy, or DIR/<set>/<input>.npy: auto's judging,
                                         and data-aware codes (gptq.h) unless data_free */
    int data_free;                    /* 1: no data-aware codes even with calib_dir */
    double max_size;                  /* auto: > 0 = size-first: the weights' stored bytes at most
                                         this fraction of their fp32 bytes (auto.c "budget") */
    double min_psnr;                  /* auto: whole-model gate, dB (default 35) */
    double layer_psnr;                /* auto: per-layer gate, dB (default min_psnr + 5) */
    /* auto: whole-model gates on task measures next to min_psnr (convert/gates.h; 0 = none),
     * and which outputs get which task measure */
    double min_cosine, min_topk, min_argmax, min_iou;
    const af_task_spec *tasks;
    int n_tasks;
    uint32_t seed;                    /* auto without calibration: random inputs' seed */
    af_progress_fn progress;
    void *progress_user;
} af_compress_options;

void af_compress_options_init(af_compress_options *o);

typedef struct af_compress_choice {
    int tensor;          /* graph tensor index */
    af_ckind kind;
    double psnr_db;      /* auto: the layer output's PSNR with this encoding (inf = exact);
                            single modes: the weights' own PSNR against fp32 */
    uint64_t bytes;      /* stored */
    uint64_t fp32_bytes;
    int native;          /* 1 when the family streams it natively (or no family given) */
    /* auto only: the layer gate's choice and its layer PSNR, before the whole-model gate, and
     * the 1-based step at which the whole-model gate first promoted this tensor (0 = never) */
    af_ckind gate_kind;
    double gate_psnr_db;
    int promotion;
} af_compress_choice;

typedef struct af_compress_result {
    af_compress_choice *choices; /* one per weight tensor */
    int n;
    double model_psnr_db;        /* auto: final whole-model PSNR (min over outputs); else NaN */
    int promotions;              /* auto: layers moved up by the whole-model gate */
    int decided_by;              /* auto: gates (convert/gates.h AF_GATE_* mask) that failed
                                  * before the last promotion; 0 = no promotion was needed */
    int gates_failed;            /* auto: gates still failing at the end (every layer at its
                                  * most accurate candidate); 0 = all met */
    /* auto: final whole-model measures, worst output (NaN: not measured) */
    double model_cosine, model_top1, model_topk, model_argmax, model_iou;
    int n_calib_sets;
    int random_calib;            /* 1: no --calib, seeded random inputs were used */
    int data_aware;              /* single modes with --calib: weights whose codes GPTQ chose */
    double size_ratio;           /* auto: the weights' stored bytes / their fp32 bytes */
    char warning[320];           /* "" or a one-line warning for the user */
} af_compress_result;

/* Applies o to g (lowered, shapes known). Weights get t->encoding (and t->blob for compressed
 * ones); other f32 constants are left to the caller's fp16/raw choice. */
af_status af_compress_graph(af_graph *g, const af_compress_options *o, af_compress_result *r,
                            af_err *err);
void af_compress_result_free(af_compress_result *r);

/* Encodes t as k (or takes *keep when it holds a blob already made for k) and attaches the blob
 * (fp16: only the encoding is set). */
af_status af_compress_apply(af_tensor *t, af_ckind k, const af_cparams *p, af_cblob *keep,
                            af_err *err);

/* The palette scale a single int4/palette mode uses for n-bit tables: --palette-scale if given,
 * else a scale and offset per row, except for 4 bits under a family that streams only plain palettes
 * (h13), where the plain int4 layout is the native one. AF_PSCALE_NONE or AF_PSCALE_ROW. */
int af_compress_palette_scale(const af_compress_options *o, int bits);

/* 1 if tensor t is a compressible weight (see above); *embedding = read by Gather. */
int af_compress_is_weight(const af_graph *g, int t, int *embedding);
/* node_w[i] (g->n_nodes entries) = k when node i reads w[k] in its weight slot, else -1. */
af_status af_compress_node_weights(const af_graph *g, const int *w, int n_w, int *node_w,
                                   af_err *err);

/* ---- auto's calibration and judging (auto.c / calib.c) ---- */
af_status af_compress_auto(af_graph *g, const af_compress_options *o, const int *weights,
                           int n_weights, af_compress_result *r, af_err *err);

/* PSNR = 20 log10(max|ref| / RMSE) from accumulated sums (inf when sse == 0). */
double af_psnr_db(double peak, double sse, double n);

#endif
