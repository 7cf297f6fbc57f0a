/* compress/kmeans1d.h — 1-D k-means for palettes (2 to 256 entries), over a histogram of fp16
 * values.
 *
 * Weights are rounded to fp16 first, so a tensor (or group) has at most 63,488 distinct finite
 * values. af_kmeans1d_hist() counts their 16-bit order keys in a 65536-bin table (one pass,
 * linear in the element count) and reads the occupied bins back in key order as (value, count)
 * pairs; af_kmeans1d_hist_keys_w() sums a weight per element instead of counting (importance-
 * weighted palettes: the clustering then minimises the weighted squared error). af_kmeans1d()
 * then clusters the U distinct weighted values into at most K centroids:
 *   - U <= K: every value is its own centroid (exact, zero error);
 *   - U * K <= 16 * AF_KMEANS_EXACT_MAX: the optimal clustering by dynamic programming over
 *     contiguous
 *     segments (1-D optimal clusters are contiguous in sorted order), D(k, j) = min_i D(k-1, i)
 *     + SSE(i, j), with the divide-and-conquer speed-up (the optimal split point is monotone
 *     in j): O(K U log U), exact;
 *   - larger U: weighted Lloyd iterations run until the assignment stops changing (a fixed
 *     point: a local optimum, provably converged; the cost is non-increasing at every step and
 *     the partitions are finite), from three starts, the lowest cost kept: equal-weight
 *     quantiles; equal quantiles of the cube root of the density (the optimal quantizer's
 *     centroid density at high resolution, Panter and Dite 1951); and, for K <= 64, the optimal
 *     clustering of a coarsened histogram. Equal-weight quantiles alone starve the tails: on a
 *     64-row BatchNorm-folded conv the 8-bit palette's SNR goes from 36.7 to 44.9 dB, the 6-bit
 *     one's from 29.2 to 32.6. With the values sorted and prefix sums, one iteration costs
 *     O(K log U), so the clustering is independent of the element count.
 * Total cost: O(n) for the histogram plus a bounded amount per group. Deterministic.
 */
#ifndef AF_COMPRESS_KMEANS1D_H
#define AF_COMPRESS_KMEANS1D_H

#include <stdint.h>

#define AF_KMEANS_EXACT_MAX 2048 /* distinct values solved exactly at K = 16 (U K bounded) */
#define AF_KMEANS_MAX_ITERS 10000
#define AF_KMEANS_MAX_K 256

typedef struct af_hist {
    uint16_t *keys;  /* sorted order keys of the distinct fp16 values (see af_f16_key) */
    double *value;   /* the values, ascending */
    double *count;   /* occurrences */
    int n;           /* distinct values */
    uint32_t *bins;  /* 65536 counters by key, all zero between calls */
    double *wbins;   /* 65536 weight sums by key (weighted histograms), all zero between calls */
    uint32_t cap;
} af_hist;

/* Order-preserving key of an fp16 code (-0 is mapped to +0). */
static inline uint16_t af_f16_key(uint16_t h)
{
    if ((h & 0x7fffu) == 0) h = 0;
    return (h & 0x8000u) ? (uint16_t)~h : (uint16_t)(h | 0x8000u);
}
static inline uint16_t af_f16_unkey(uint16_t k)
{
    return (k & 0x8000u) ? (uint16_t)(k & 0x7fffu) : (uint16_t)~k;
}

/* Builds the histogram of codes[0..n) (fp16 codes, finite; not modified). Returns 0 on OOM. */
int af_kmeans1d_hist(af_hist *h, const uint16_t *codes, uint32_t n);
/* The same from order keys (af_f16_key of finite codes), as af_f32_to_f16_keys makes them. */
int af_kmeans1d_hist_keys(af_hist *h, const uint16_t *keys, uint32_t n);
/* Weighted: value keys[i] counts w[i] (finite, >= 0) instead of 1; values whose weights sum to
 * 0 are left out. */
int af_kmeans1d_hist_keys_w(af_hist *h, const uint16_t *keys, const float *w, uint32_t n);
void af_hist_free(af_hist *h);

typedef struct af_kmeans_result {
    double centroid[AF_KMEANS_MAX_K]; /* ascending; entries >= n_centroids repeat the last */
    int n_centroids;
    double cost;         /* weighted sum of squared distances to the nearest centroid */
    int exact;           /* 1: optimal (U <= K or dynamic programming) */
    int iters;           /* Lloyd iterations (0 when exact) */
    int converged;       /* 1: exact, or Lloyd reached a fixed point */
} af_kmeans_result;

/* Clusters the weighted sorted values (x ascending, w > 0) into k <= AF_KMEANS_MAX_K
 * centroids. Returns 0 on OOM. */
int af_kmeans1d(const double *x, const double *w, int n, int k, af_kmeans_result *r);
/* Lloyd from the better of two starts (quantiles, companded quantiles) regardless of n. */
int af_kmeans1d_lloyd(const double *x, const double *w, int n, int k, af_kmeans_result *r);
/* The optimum by dynamic programming regardless of n (tests compare it with brute force). */
int af_kmeans1d_exact(const double *x, const double *w, int n, int k, af_kmeans_result *r);
/* Weighted cost of assigning each x to its nearest of the k sorted centroids. */
double af_kmeans1d_cost(const double *x, const double *w, int n, const double *c, int k);

#endif
