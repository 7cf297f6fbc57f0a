/* compress/kmeans1d.c — histogram of fp16 values and 1-D k-means (see kmeans1d.h). */
#include "kmeans1d.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/dtype.h"

/* ---- histogram ---------------------------------------------------------------------------- */

static int hist_reserve(af_hist *h, uint32_t n)
{
    if (n <= h->cap) return 1;
    uint32_t cap = n < 1024 ? 1024 : n;
    uint16_t *k = realloc(h->keys, cap * sizeof *k), *t = NULL;
    if (k) h->keys = k;
    t = k ? realloc(h->tmp, cap * sizeof *t) : NULL;
    if (t) h->tmp = t;
    double *v = t ? realloc(h->value, cap * sizeof *v) : NULL;
    if (v) h->value = v;
    double *c = v ? realloc(h->count, cap * sizeof *c) : NULL;
    if (c) h->count = c;
    if (!c) return 0;
    h->cap = cap;
    return 1;
}

void af_hist_free(af_hist *h)
{
    free(h->keys);
    free(h->tmp);
    free(h->value);
    free(h->count);
    memset(h, 0, sizeof *h);
}

/* LSD radix sort of 16-bit keys in two 8-bit passes: src → tmp → src. */
static void radix16(uint16_t *src, uint16_t *tmp, uint32_t n)
{
    for (int pass = 0; pass < 2; pass++) {
        uint32_t cnt[257] = {0};
        int sh = 8 * pass;
        uint16_t *from = pass ? tmp : src, *to = pass ? src : tmp;
        for (uint32_t i = 0; i < n; i++) cnt[((from[i] >> sh) & 255u) + 1]++;
        for (int b = 0; b < 256; b++) cnt[b + 1] += cnt[b];
        for (uint32_t i = 0; i < n; i++) to[cnt[(from[i] >> sh) & 255u]++] = from[i];
    }
}

int af_kmeans1d_hist(af_hist *h, uint16_t *codes, uint32_t n)
{
    h->n = 0;
    if (!hist_reserve(h, n ? n : 1)) return 0;
    for (uint32_t i = 0; i < n; i++) codes[i] = af_f16_key(codes[i]);
    radix16(codes, h->tmp, n);
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && codes[j] == codes[i]) j++;
        h->keys[h->n] = codes[i];
        h->value[h->n] = af_f16_to_f32(af_f16_unkey(codes[i]));
        h->count[h->n] = (double)(j - i);
        h->n++;
        i = j;
    }
    return 1;
}

/* ---- prefix sums ---------------------------------------------------------------------------- */

typedef struct prefix {
    long double *w, *s, *q; /* sums of w, w*x, w*x^2 over [0, i), x shifted by `shift` */
    double shift;
} prefix;

static int prefix_init(prefix *p, const double *x, const double *w, int n)
{
    p->w = malloc((size_t)(n + 1) * 3 * sizeof(long double));
    if (!p->w) return 0;
    p->s = p->w + n + 1;
    p->q = p->s + n + 1;
    p->shift = n ? x[n / 2] : 0.0; /* centring limits cancellation in q - s^2/w */
    p->w[0] = p->s[0] = p->q[0] = 0;
    for (int i = 0; i < n; i++) {
        long double d = (long double)x[i] - p->shift;
        p->w[i + 1] = p->w[i] + w[i];
        p->s[i + 1] = p->s[i] + w[i] * d;
        p->q[i + 1] = p->q[i] + w[i] * d * d;
    }
    return 1;
}

/* Weighted SSE of points [i, j) around their mean. */
static double seg_cost(const prefix *p, int i, int j)
{
    long double W = p->w[j] - p->w[i];
    if (W <= 0) return 0.0;
    long double S = p->s[j] - p->s[i];
    long double c = (p->q[j] - p->q[i]) - S * S / W;
    return c > 0 ? (double)c : 0.0;
}

static double seg_mean(const prefix *p, int i, int j)
{
    long double W = p->w[j] - p->w[i];
    return (double)((p->s[j] - p->s[i]) / W + p->shift);
}

/* ---- exact: dynamic programming with divide and conquer ------------------------------------ */

typedef struct dp {
    const prefix *p;
    const double *prev; /* D(k-1, i) */
    double *cur;        /* D(k, j) */
    int *arg;           /* argmin i for each j at this k */
} dp;

static void dp_solve(dp *d, int lo, int hi, int optlo, int opthi)
{
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, best = -1;
        double bv = DBL_MAX;
        int end = opthi < mid - 1 ? opthi : mid - 1;
        for (int i = optlo; i <= end; i++) {
            double v = d->prev[i] + seg_cost(d->p, i, mid);
            if (v < bv) bv = v, best = i;
        }
        if (best < 0) best = optlo;
        d->cur[mid] = bv;
        d->arg[mid] = best;
        dp_solve(d, lo, mid - 1, optlo, best); /* left half: splits <= best */
        lo = mid + 1;                           /* right half (loop): splits >= best */
        optlo = best;
    }
}

static void all_distinct(const double *x, int n, af_kmeans_result *r)
{
    for (int c = 0; c < 16; c++) r->centroid[c] = n ? x[c < n ? c : n - 1] : 0.0;
    r->n_centroids = n;
    r->cost = 0;
    r->exact = r->converged = 1;
}

int af_kmeans1d_exact(const double *x, const double *w, int n, int k, af_kmeans_result *r)
{
    memset(r, 0, sizeof *r);
    if (n <= k) {
        all_distinct(x, n, r);
        return 1;
    }
    prefix p;
    if (!prefix_init(&p, x, w, n)) return 0;
    double *D = malloc((size_t)2 * (n + 1) * sizeof *D);
    int *arg = malloc((size_t)k * (n + 1) * sizeof *arg);
    if (!D || !arg) {
        free(D), free(arg), free(p.w);
        return 0;
    }
    double *prev = D, *cur = D + n + 1;
    for (int j = 0; j <= n; j++) prev[j] = seg_cost(&p, 0, j), arg[j] = 0;
    for (int c = 1; c < k; c++) {
        dp d = {&p, prev, cur, arg + (size_t)c * (n + 1)};
        for (int j = 0; j <= c; j++) cur[j] = 0, d.arg[j] = j ? j - 1 : 0;
        dp_solve(&d, c + 1, n, c, n - 1);
        double *t = prev;
        prev = cur, cur = t;
    }
    r->cost = prev[n];
    int j = n;
    for (int c = k - 1; c >= 0; c--) {
        int i = c ? arg[(size_t)c * (n + 1) + j] : 0;
        r->centroid[c] = seg_mean(&p, i, j);
        j = i;
    }
    for (int c = k; c < 16; c++) r->centroid[c] = r->centroid[k - 1];
    r->n_centroids = k;
    r->exact = r->converged = 1;
    free(D), free(arg), free(p.w);
    return 1;
}

/* ---- Lloyd on sorted weighted values --------------------------------------------------------- */

/* First index in [lo, n) with x > t. */
static int upper_bound(const double *x, int lo, int n, double t)
{
    int hi = n;
    while (lo < hi) {
        int m = lo + (hi - lo) / 2;
        if (x[m] > t) hi = m;
        else lo = m + 1;
    }
    return lo;
}

static void means_of(const prefix *p, const int *b, int k, double *c)
{
    for (int i = 0; i < k; i++)
        c[i] = b[i + 1] > b[i] ? seg_mean(p, b[i], b[i + 1]) : (i ? c[i - 1] : c[i]);
}

static int lloyd(const double *x, const double *w, int n, int k, af_kmeans_result *r)
{
    prefix p;
    if (!prefix_init(&p, x, w, n)) return 0;
    int b[17], nb[17];
    b[0] = 0, b[k] = n;
    long double W = p.w[n];
    for (int i = 1; i < k; i++) { /* equal-weight quantiles, every cluster non-empty */
        int j = b[i - 1] + 1;
        while (j < n - (k - i) && p.w[j] < W * i / k) j++;
        b[i] = j;
    }
    double *c = r->centroid;
    means_of(&p, b, k, c);
    for (r->iters = 0; r->iters < AF_KMEANS_MAX_ITERS; r->iters++) {
        nb[0] = 0, nb[k] = n;
        for (int i = 1; i < k; i++) nb[i] = upper_bound(x, nb[i - 1], n, 0.5 * (c[i - 1] + c[i]));
        if (!memcmp(nb, b, sizeof(int) * (size_t)(k + 1))) {
            r->converged = 1;
            break;
        }
        memcpy(b, nb, sizeof(int) * (size_t)(k + 1));
        means_of(&p, b, k, c);
    }
    r->cost = 0;
    for (int i = 0; i < k; i++) r->cost += seg_cost(&p, b[i], b[i + 1]);
    for (int i = k; i < 16; i++) c[i] = c[k - 1];
    r->n_centroids = k;
    free(p.w);
    return 1;
}

int af_kmeans1d(const double *x, const double *w, int n, int k, af_kmeans_result *r)
{
    if (n <= k || n <= AF_KMEANS_EXACT_MAX) return af_kmeans1d_exact(x, w, n, k, r);
    memset(r, 0, sizeof *r);
    return lloyd(x, w, n, k, r);
}

double af_kmeans1d_cost(const double *x, const double *w, int n, const double *c, int k)
{
    double cost = 0;
    int j = 0;
    for (int i = 0; i < n; i++) {
        while (j + 1 < k && (x[i] - c[j]) * (x[i] - c[j]) > (x[i] - c[j + 1]) * (x[i] - c[j + 1])) j++;
        double d = x[i] - c[j];
        cost += w[i] * d * d;
    }
    return cost;
}
