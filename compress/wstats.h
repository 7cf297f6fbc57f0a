/* compress/wstats.h — what calibration data says about each weight's inputs: the second moments
 * H = sum over samples of x x^T along the weight's reduction axis (the input channels a weight
 * row multiplies), for data-aware encoding (compress/gptq.h).
 *
 * Which axis: a Conv weight (Cout, Cin/g, k...) reduces over its cols (Cin/g * prod(k), the
 * im2col order); one H per group, the rows of group b being rows [b*Cout/g, (b+1)*Cout/g).
 * Gemm with transB=1 (N, K): the cols. MatMul's B and Gemm with transB=0 (K, N): the rows
 * (in_rows = 1). ConvTranspose (group 1), W (C, M/g, k...): the rows, as its col2im GEMM reduces
 * over C. Grouped ConvTranspose, Gather and rank > 2 MatMul weights get no statistics.
 *
 * The full n x n matrix is kept when n <= max_full (else only its diagonal): it costs n^2
 * floats per group while calibrating and O(n^3) to factor (gptq.c).
 */
#ifndef AF_COMPRESS_WSTATS_H
#define AF_COMPRESS_WSTATS_H

#include "../graph/graph.h"
#include "calib.h"

typedef struct af_wstats {
    int valid;        /* 0: no statistics (not collected, or consumers disagree on the axis) */
    int in_rows;      /* 1: the reduction axis is dim 0 of the stored weight; 0: the cols */
    int64_t n;        /* length of the reduction axis */
    int n_h;          /* groups: one H per band of rows (conv groups), else 1 */
    int full;         /* 1: h holds n_h full n x n matrices; 0: n_h diagonals of n */
    float *h;         /* row-major, symmetric; after af_gptq_factor the GPTQ factors instead */
    int factored;     /* 1: h holds the factors (gptq.h); -1: factoring failed, h unusable */
    int32_t *perm;    /* with the factors: per group, the order the inputs are quantized in */
    float *importance;/* n: E[x_j^2], the mean H[j][j] per sample over the groups */
    double samples;   /* input vectors accumulated (per group) */
} af_wstats;

#define AF_WSTATS_MAX_FULL 4608 /* the default max_full: 512 channels x 3x3 */

/* For each of the n_w weight tensors w[i], accumulates its statistics over every calibration
 * set (the fp32 program run once per set). stats: n_w entries, zeroed by the caller. */
af_status af_wstats_collect(const af_graph *g, const af_calib *cal, const int *w, int n_w,
                            int64_t max_full, af_wstats *stats, af_err *err);
void af_wstats_free(af_wstats *s);

/* The importance to weight each stored column by (af_cparams.col_importance: palette k-means),
 * or NULL: no statistics, or the reduction axis is the rows (then the columns are outputs). */
const float *af_wstats_col_importance(const af_wstats *s);

/* Per reduction index j, the mean of H[j][j] over groups and samples (>= 0): the importance of
 * the weights that multiply input j, E[x_j^2]. Set by af_wstats_collect (n floats). */

#endif
