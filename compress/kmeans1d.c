/* compress/kmeans1d.c — histogram of fp16 values and 1-D k-means (see kmeans1d.h). */
#include "kmeans1d.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/dtype.h"
#include "simd.h"

/* ---- histogram ---------------------------------------------------------------------------- */

static int hist_reserve(af_hist *h, uint32_t n)
{
    if (!h->bins && !(h->bins = calloc(65536, sizeof *h->bins))) return 0;
    n = (n < 65536 ? n : 65536) + 8; /* distinct keys, + the read-out's spare writes */
    if (n <= h->cap) return 1;
    uint32_t cap = n < 1024 ? 1024 : n;
    uint16_t *k = realloc(h->keys, cap * sizeof *k);
    if (k) h->keys = k;
    double *v = k ? realloc(h->value, cap * sizeof *v) : NULL;
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
    free(h->bins);
    free(h->wbins);
    free(h->value);
    free(h->count);
    memset(h, 0, sizeof *h);
}

/* The occupied bins of h->bins in key order -> (keys, value, count); the bins are re-zeroed. */
static void hist_read(af_hist *h)
{
    uint32_t *bins = h->bins;
    h->n = 0;
    for (unsigned k = 0; k < 65536; k += 8) {
        uint64_t any[4];
        memcpy(any, bins + k, sizeof any);
        if (!(any[0] | any[1] | any[2] | any[3])) continue;
        for (unsigned j = k; j < k + 8; j++) { /* branch-free: half the bins here are empty */
            h->keys[h->n] = af_f16_unkey((uint16_t)j); /* codes for now, keys below */
            h->count[h->n] = (double)bins[j];
            h->n += bins[j] != 0;
            bins[j] = 0;
        }
    }
    af_f16_to_f64_n(h->keys, h->value, (size_t)h->n);
    for (int i = 0; i < h->n; i++) h->keys[i] = af_f16_key(h->keys[i]);
}

// keys (n,) -> bins[key] counts -> the histogram
int af_kmeans1d_hist_keys(af_hist *h, const uint16_t *keys, uint32_t n)
{
    h->n = 0;
    if (!hist_reserve(h, n ? n : 1)) return 0;
    for (uint32_t i = 0; i < n; i++) h->bins[keys[i]]++;
    hist_read(h);
    return 1;
}

/* The occupied weight bins in key order -> (keys, value, count = weight); re-zeroed. */
static void hist_read_w(af_hist *h)
{
    double *bins = h->wbins;
    h->n = 0;
    for (unsigned k = 0; k < 65536; k += 4) {
        uint64_t any[4]; /* sums of weights >= 0 are +0 (all bits clear) or positive */
        memcpy(any, bins + k, sizeof any);
        if (!(any[0] | any[1] | any[2] | any[3])) continue;
        for (unsigned j = k; j < k + 4; j++) {
            if (!(bins[j] > 0)) continue;
            h->keys[h->n] = af_f16_unkey((uint16_t)j); /* codes for now, keys below */
            h->count[h->n++] = bins[j];
            bins[j] = 0;
        }
    }
    af_f16_to_f64_n(h->keys, h->value, (size_t)h->n);
    for (int i = 0; i < h->n; i++) h->keys[i] = af_f16_key(h->keys[i]);
}

// keys (n,), weights w (n,) -> wbins[key] += w -> the weighted histogram
int af_kmeans1d_hist_keys_w(af_hist *h, const uint16_t *keys, const float *w, uint32_t n)
{
    h->n = 0;
    if (!hist_reserve(h, n ? n : 1)) return 0;
    if (!h->wbins && !(h->wbins = calloc(65536, sizeof *h->wbins))) return 0;
    for (uint32_t i = 0; i < n; i++) h->wbins[keys[i]] += w[i];
    hist_read_w(h);
    return 1;
}

int af_kmeans1d_hist(af_hist *h, const uint16_t *codes, uint32_t n)
{
    h->n = 0;
    if (!hist_reserve(h, n ? n : 1)) return 0;
    for (uint32_t i = 0; i < n; i++) h->bins[af_f16_key(codes[i])]++;
    hist_read(h);
    return 1;
}

/* ---- prefix sums ---------------------------------------------------------------------------- */

/* In double (long double made the DP 2.2x slower): x is centred on its median, so q - s^2/w
 * cancels at most the spread of the values, and the brute-force comparison in the unit tests
 * holds to 1e-9. */
typedef struct prefix {
    double *w, *s, *q; /* sums of w, w*x, w*x^2 over [0, i), x shifted by `shift` */
    const double *x;   /* the values (a segment whose weight sum cancels to 0 takes its middle) */
    double shift;
} prefix;

static int prefix_init(prefix *p, const double *x, const double *w, int n)
{
    p->w = malloc((size_t)(n + 1) * 3 * sizeof(double));
    if (!p->w) return 0;
    p->s = p->w + n + 1;
    p->q = p->s + n + 1;
    p->x = x;
    p->shift = n ? x[n / 2] : 0.0; /* centring limits cancellation in q - s^2/w */
    p->w[0] = p->s[0] = p->q[0] = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)x[i] - p->shift;
        p->w[i + 1] = p->w[i] + w[i];
        p->s[i + 1] = p->s[i] + w[i] * d;
        p->q[i + 1] = p->q[i] + w[i] * d * d;
    }
    return 1;
}

/* Weighted SSE of points [i, j) around their mean. */
static double seg_cost(const prefix *p, int i, int j)
{
    double W = p->w[j] - p->w[i];
    if (W <= 0) return 0.0;
    double S = p->s[j] - p->s[i];
    double c = (p->q[j] - p->q[i]) - S * S / W;
    return c > 0 ? (double)c : 0.0;
}

static double seg_mean(const prefix *p, int i, int j)
{
    double W = p->w[j] - p->w[i];
    return W > 0 ? (p->s[j] - p->s[i]) / W + p->shift : p->x[i + (j - i) / 2];
}

/* ---- exact: dynamic programming with divide and conquer ------------------------------------ */

typedef struct dp {
    const prefix *p;
    const double *prev; /* D(k-1, i) */
    double *cur;        /* D(k, j) */
    int *arg;           /* argmin i for each j at this k */
} dp;

/* argmin over i in [lo, hi] (first on ties) of prev[i] + SSE(i, j); i < j, so every segment
 * has positive weight. One tight loop: the DP's whole cost is here. */
static int best_split(const prefix *p, const double *prev, int lo, int hi, int j, double *bv)
{
    const double Wj = p->w[j], Sj = p->s[j], Qj = p->q[j];
    double best = DBL_MAX;
    int arg = -1;
    for (int i = lo; i <= hi; i++) {
        double W = Wj - p->w[i], S = Sj - p->s[i];
        double c = (Qj - p->q[i]) - S * S / W;
        double v = prev[i] + (c > 0 ? c : 0.0);
        if (v < best) best = v, arg = i;
    }
    *bv = best;
    return arg;
}

static void dp_solve(dp *d, int lo, int hi, int optlo, int opthi)
{
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        double bv;
        int end = opthi < mid - 1 ? opthi : mid - 1;
        int best = best_split(d->p, d->prev, optlo, end, mid, &bv);
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
    for (int c = 0; c < AF_KMEANS_MAX_K; c++) r->centroid[c] = n ? x[c < n ? c : n - 1] : 0.0;
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
    for (int c = k; c < AF_KMEANS_MAX_K; c++) r->centroid[c] = r->centroid[k - 1];
    r->n_centroids = k;
    r->exact = r->converged = 1;
    free(D), free(arg), free(p.w);
    return 1;
}

/* ---- Lloyd on sorted weighted values --------------------------------------------------------- */

/* First index in [lo, n) with x > t (n if none), searched outward from hint (the boundary of
 * the previous iteration, usually a few places off): galloping, then binary search. */
static int upper_bound_near(const double *x, int lo, int n, int hint, double t)
{
    int a, b, step = 1;
    hint = hint < lo ? lo : hint > n ? n : hint;
    if (hint < n && x[hint] <= t) { /* the answer is right of hint */
        a = hint + 1;
        for (;;) {
            b = a - 1 + step;
            if (b >= n) { b = n; break; }
            if (x[b] > t) break;
            a = b + 1, step *= 2;
        }
    } else { /* the answer is at or left of hint */
        b = hint;
        for (;;) {
            a = b - step;
            if (a <= lo) { a = lo; break; }
            if (x[a] <= t) { a++; break; }
            b = a, step *= 2;
        }
    }
    while (a < b) { /* the answer is in [a, b] */
        int m = a + (b - a) / 2;
        if (x[m] > t) b = m;
        else a = m + 1;
    }
    return a;
}

/* Means of the clusters [b[i], b[i+1]); only those whose bounds differ from ob (the previous
 * bounds, or NULL) are recomputed (an empty cluster repeats its left neighbour). */
static void means_of(const prefix *p, const int *b, const int *ob, int k, double *c)
{
    for (int i = 0, dirty = 0; i < k; i++) {
        dirty |= !ob || ob[i] != b[i] || ob[i + 1] != b[i + 1];
        if (!dirty) continue;
        int lo = b[i], hi = b[i + 1];
        double W = hi > lo ? p->w[hi] - p->w[lo] : 0;
        c[i] = W > 0 ? (p->s[hi] - p->s[lo]) / W + p->shift
                     : hi > lo ? p->x[lo + (hi - lo) / 2] : (i ? c[i - 1] : c[i]);
        dirty = i + 2 <= k && b[i + 1] == b[i + 2]; /* an empty right neighbour copies c[i] */
    }
}

/* Equal-weight quantiles: every cluster non-empty. */
static void init_quantiles(const prefix *p, int n, int k, int *b)
{
    double W = p->w[n];
    b[0] = 0, b[k] = n;
    for (int i = 1; i < k; i++) {
        int j = b[i - 1] + 1;
        while (j < n - (k - i) && p->w[j] < W * i / k) j++;
        b[i] = j;
    }
}

#define COMPAND_BINS_PER_K 4

/* The weighted median and mean absolute deviation around it (1 when the weight sits at one
 * point). */
static void centre_spread(const double *x, const double *w, int n, double *m, double *sd)
{
    double W = 0, acc = 0, dev = 0;
    for (int i = 0; i < n; i++) W += w[i];
    int i = 0;
    while (i < n - 1 && acc + w[i] < 0.5 * W) acc += w[i++];
    *m = x[i];
    for (int j = 0; j < n; j++) dev += w[j] * fabs(x[j] - *m);
    *sd = W > 0 && dev > 0 ? dev / W : 1.0;
}

/* Equal quantiles of the cube root of the weight density: the centroid density of an optimal
 * quantizer at high resolution (Panter and Dite), which puts centroids into the tails that
 * equal-weight quantiles starve. The density is estimated on 4k bins of equal width in
 * asinh((x - median) / spread), fine near the centre and wide in heavy tails. Every cluster
 * non-empty. Returns 0 on OOM. */
static int init_companded(const double *x, const double *w, int n, int k, int *b)
{
    int nb = COMPAND_BINS_PER_K * k;
    double *g = calloc((size_t)2 * nb + 2, sizeof *g), *edge = g + nb + 1, m, sd;
    if (!g) return 0;
    centre_spread(x, w, n, &m, &sd);
    double y0 = asinh((x[0] - m) / sd), dy = (asinh((x[n - 1] - m) / sd) - y0) / nb;
    for (int j = 0; j <= nb; j++) edge[j] = m + sd * sinh(y0 + dy * j);
    edge[0] = x[0], edge[nb] = x[n - 1];
    for (int i = 0, j = 0; i < n; i++) { /* x ascending: walk the edges */
        while (j < nb - 1 && x[i] >= edge[j + 1]) j++;
        g[j] += w[i];
    }
    double G = 0; /* density^(1/3) * width = mass^(1/3) * width^(2/3) */
    for (int j = 0; j < nb; j++) G += g[j] = cbrt(g[j]) * cbrt((edge[j + 1] - edge[j]) * (edge[j + 1] - edge[j]));
    b[0] = 0, b[k] = n;
    double acc = 0;
    for (int i = 1, j = 0, u = 0; i < k; i++) {
        double t = G * i / k;
        while (j < nb - 1 && acc + g[j] < t) acc += g[j++];
        double f = g[j] > 0 ? (t - acc) / g[j] : 0.0;
        double v = edge[j] + (f < 1 ? f : 1) * (edge[j + 1] - edge[j]);
        while (u < n && x[u] <= v) u++;
        b[i] = u < b[i - 1] + 1 ? b[i - 1] + 1 : u > n - (k - i) ? n - (k - i) : u;
    }
    free(g);
    return 1;
}

/* Lloyd iterations from the partition b to a fixed point; the result in r. */
static void lloyd_from(const prefix *p, const double *x, int n, int k, int *b,
                       af_kmeans_result *r)
{
    int nb[AF_KMEANS_MAX_K + 1];
    double *c = r->centroid;
    means_of(p, b, NULL, k, c);
    for (r->iters = 0; r->iters < AF_KMEANS_MAX_ITERS; r->iters++) {
        nb[0] = 0, nb[k] = n;
        for (int i = 1; i < k; i++)
            nb[i] = upper_bound_near(x, nb[i - 1], n, b[i], 0.5 * (c[i - 1] + c[i]));
        if (!memcmp(nb, b, sizeof(int) * (size_t)(k + 1))) {
            r->converged = 1;
            break;
        }
        means_of(p, nb, b, k, c);
        memcpy(b, nb, sizeof(int) * (size_t)(k + 1));
    }
    r->cost = 0; /* each cluster's SSE around its mean, which its centroid is */
    for (int i = 0; i < k; i++) r->cost += seg_cost(p, b[i], b[i + 1]);
    for (int i = k; i < AF_KMEANS_MAX_K; i++) c[i] = c[k - 1];
    r->n_centroids = k;
}

#define COARSE_PER_K 4    /* coarse points per centroid for the DP start */
#define COARSE_MAX_K 64   /* beyond, the DP on the coarse points costs too much per group */

/* The exact DP on a coarsened histogram: consecutive values merge into chunks of at most 1/M of
 * the weight and 1/M of the value span (so sparse tails keep their points), M = 4k (8k gave the
 * same SNR to 0.02 dB at twice the time, 2k 0.05 dB less); the optimal k segments of the chunks
 * give the start. Returns 0 on OOM or when there are not k chunks. */
static int init_coarse_dp(const double *x, const double *w, int n, int k, int *b)
{
    int M = COARSE_PER_K * k, m = 0;
    int *start = malloc((size_t)(2 * M + 2) * sizeof *start);
    double *cx = malloc((size_t)(2 * M + 2) * 2 * sizeof *cx), W = 0;
    if (!start || !cx) {
        free(start), free(cx);
        return 0;
    }
    double *cw = cx + 2 * M + 2, span = x[n - 1] - x[0];
    for (int i = 0; i < n; i++) W += w[i];
    for (int i = 0; i < n && m < 2 * M + 1;) { /* chunk [i, j) */
        int j = i;
        double cwt = 0, s = 0;
        do s += w[j] * x[j], cwt += w[j], j++;
        while (j < n && cwt + w[j] <= W / M && x[j] - x[i] <= span / M);
        start[m] = i, cx[m] = s / cwt, cw[m] = cwt, m++;
        i = j;
    }
    int ok = m >= k && m <= 2 * M; /* at most 2M chunks: each closes on weight or on span */
    af_kmeans_result r;
    if (ok) ok = af_kmeans1d_exact(cx, cw, m, k, &r) == 1;
    if (ok) { /* segment boundaries: the first chunk whose mean is past the midpoint */
        b[0] = 0, b[k] = n;
        for (int i = 1, c = 0; i < k; i++) {
            double mid = 0.5 * (r.centroid[i - 1] + r.centroid[i]);
            while (c < m - 1 && cx[c] <= mid) c++;
            int u = start[c];
            b[i] = u < b[i - 1] + 1 ? b[i - 1] + 1 : u > n - (k - i) ? n - (k - i) : u;
        }
    }
    free(start), free(cx);
    return ok;
}

/* Lloyd from up to three starts: equal-weight quantiles, companded quantiles and (k <= 64) the
 * coarse DP; the lowest cost wins (ties: the earlier start). */
static int lloyd(const double *x, const double *w, int n, int k, af_kmeans_result *r)
{
    prefix p;
    if (!prefix_init(&p, x, w, n)) return 0;
    int b[AF_KMEANS_MAX_K + 1];
    init_quantiles(&p, n, k, b);
    lloyd_from(&p, x, n, k, b, r);
    af_kmeans_result alt;
    for (int start = 0; start < 2; start++) {
        if (start == 1 && k > COARSE_MAX_K) break;
        if (!(start ? init_coarse_dp(x, w, n, k, b) : init_companded(x, w, n, k, b))) continue;
        memset(&alt, 0, sizeof alt);
        lloyd_from(&p, x, n, k, b, &alt);
        if (alt.cost < r->cost) *r = alt;
    }
    free(p.w);
    return 1;
}

int af_kmeans1d(const double *x, const double *w, int n, int k, af_kmeans_result *r)
{
    if (n <= k || (int64_t)n * k <= 16 * AF_KMEANS_EXACT_MAX) return af_kmeans1d_exact(x, w, n, k, r);
    memset(r, 0, sizeof *r);
    return lloyd(x, w, n, k, r);
}

int af_kmeans1d_lloyd(const double *x, const double *w, int n, int k, af_kmeans_result *r)
{
    if (n <= k) return af_kmeans1d_exact(x, w, n, k, r);
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
