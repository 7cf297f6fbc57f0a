/* compress/kmeans1d.h — 1-D k-means for int4 palettes, over a histogram of fp16 values.
 *
 * Weights are rounded to fp16 first, so a tensor (or group) has at most 63,488 distinct finite
 * values. af_kmeans1d_hist() counts their 16-bit order keys in a 65536-bin table (one pass,
 * linear in the element count) and reads the occupied bins back in key order as (value, count)
 * pairs. af_kmeans1d() then
 * clusters the U distinct weighted values into at most K centroids:
 *   - U <= K: every value is its own centroid (exact, zero error);
 *   - U <= AF_KMEANS_EXACT_MAX: the optimal clustering by dynamic programming over contiguous
 *     segments (1-D optimal clusters are contiguous in sorted order), D(k, j) = min_i D(k-1, i)
 *     + SSE(i, j), with the divide-and-conquer speed-up (the optimal split point is monotone
 *     in j): O(K U log U), exact;
 *   - larger U: weighted Lloyd iterations started from equal-weight quantiles, run until the
 *     assignment stops changing (a fixed point: a local optimum, provably converged; the cost
 *     is non-increasing at every step and the partitions are finite). With the values sorted
 *     and prefix sums, one iteration costs O(K log U), so the whole clustering is independent
 *     of the element count.
 * Total cost: O(n) for the histogram plus a bounded amount per group. Deterministic.
 */
#ifndef AF_COMPRESS_KMEANS1D_H
#define AF_COMPRESS_KMEANS1D_H

#include <stdint.h>

#define AF_KMEANS_EXACT_MAX 2048
#define AF_KMEANS_MAX_ITERS 10000

typedef struct af_hist {
    uint16_t *keys;  /* sorted order keys of the distinct fp16 values (see af_f16_key) */
    double *value;   /* the values, ascending */
    double *count;   /* occurrences */
    int n;           /* distinct values */
    uint32_t *bins;  /* 65536 counters by key, all zero between calls */
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
void af_hist_free(af_hist *h);

typedef struct af_kmeans_result {
    double centroid[16]; /* ascending; entries >= n_centroids repeat the last one */
    int n_centroids;
    double cost;         /* weighted sum of squared distances to the nearest centroid */
    int exact;           /* 1: optimal (U <= K or dynamic programming) */
    int iters;           /* Lloyd iterations (0 when exact) */
    int converged;       /* 1: exact, or Lloyd reached a fixed point */
} af_kmeans_result;

/* Clusters the weighted sorted values (x ascending, w > 0) into k <= 16 centroids. Returns 0 on
 * OOM. */
int af_kmeans1d(const double *x, const double *w, int n, int k, af_kmeans_result *r);
/* The optimum by dynamic programming regardless of n (tests compare it with brute force). */
int af_kmeans1d_exact(const double *x, const double *w, int n, int k, af_kmeans_result *r);
/* Weighted cost of assigning each x to its nearest of the k sorted centroids. */
double af_kmeans1d_cost(const double *x, const double *w, int n, const double *c, int k);

#endif
