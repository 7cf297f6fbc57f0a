/* runtime/kernels/pool_fast.c — AVX-512F loops for 2-D max and average pooling and the global
 * pools' sums (pool.c chooses them; its portable loops remain the reference).
 *
 * 2-D pooling, one channel plane at a time: 16 output columns per vector, every window tap one
 * masked load (stride 2: two, and a permutation to the even lanes; 3-wide stride-2 windows read
 * each window row once, tap_mode), lanes whose column lies outside the row not read but filled
 * with -inf (max) or +0 (average), so edge columns and ceil-mode windows take the same loop as
 * the interior. The masks depend on the column block
 * and tap only, so they are made once per block for all rows. Up to 4 accumulators run side by
 * side (4 vectors of one row, or the same vector of 2 or 4 rows: short rows still fill the
 * pipeline). Two special cases: max pools with 3x3 windows at stride 2 (ResNet's, Inception's,
 * SqueezeNet's) fold each input row's 3 taps once and share the result between the two output
 * rows that read it (sep512); stride 1 with output rows as wide as the input's pools the plane
 * as one run of vectors across row ends (flat512).
 *
 * Bits: each lane folds its window in the reference's kh-then-kw order. Max: _mm512_max_ps(v,
 * best) is exactly `best = v > best ? v : best` (vmaxps returns its second operand unless the
 * first is greater: NaN is skipped and, among equal values such as -0 and +0, the earlier
 * stays), and a -inf fill never wins. Average: the sum starts at +0 and a filled lane adds +0,
 * which changes no sum (a sum started at +0 is never -0); the divisor is (window rows) x (window
 * columns), small integers whose float product is exact, so sum / divisor is pool_one's.
 */
#include "pool_fast.h"

#include "internal.h"
#include "simd512.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT512 __attribute__((target("avx512f")))


static __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

TGT512 static double sum512(const float *x, int64_t n)
{
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(
                                   _mm512_castps_pd(v), 1))));
    }
    if (i < n) {
        __m512 v = _mm512_maskz_loadu_ps(lanes(n - i), x + i);
        a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(
                                   _mm512_castps_pd(v), 1))));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
}

int afk_sum_f64_fast(const float *x, int64_t n, double *sum)
{
    if (!afk_vec_have512()) return 0;
    *sum = sum512(x, n);
    return 1;
}

/* sum512's lanes on the squares: each (double)v * v is exact (24-bit by 24-bit significands),
 * so only the additions round, as in the reference's double loop (in another order). */
TGT512 static double sumsq512(const float *x, int64_t n)
{
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(lanes(n - i < 16 ? n - i : 16), x + i);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d hi =
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        a0 = _mm512_add_pd(a0, _mm512_mul_pd(lo, lo));
        a1 = _mm512_add_pd(a1, _mm512_mul_pd(hi, hi));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
}

int afk_sumsq_f64_fast(const float *x, int64_t n, double *sum)
{
    if (!afk_vec_have512()) return 0;
    *sum = sumsq512(x, n);
    return 1;
}

TGT512 static void div_row512(float *y, int64_t n, float d)
{
    const __m512 v = _mm512_set1_ps(d);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_div_ps(_mm512_maskz_loadu_ps(m, y + i), v));
    }
}

enum { ACCS = 4, MAX_KW = 32 }; /* accumulators; widest window taken */

/* How a 16-column vector reads its window row: TAPS, one masked load per tap (stride 1) or two
 * and an even-lane permutation (stride 2); NARROW2 (stride 2, no dilation, at most 3 taps), the
 * row's 48 columns from the window's first by three masked loads, then tap 0 is their even
 * lanes, tap 1 the odd ones, tap 2 the even ones one lane on (as 3x3/2 pools need). */
enum { TAPS1, TAPS2, NARROW2 };

static int tap_mode(const afk_pool2d *p)
{
    return p->s[1] == 1 ? TAPS1 : p->d[1] == 1 && p->k[1] <= 3 ? NARROW2 : TAPS2;
}

/* One window tap of a 16-column vector (TAPS*; NARROW2: its window row): the columns from off,
 * masked to those inside the row (m0, m1, m2: 16 columns each). */
typedef struct tapm {
    int64_t off;
    __mmask16 m0, m1, m2;
} tapm;

/* The taps of vector v (columns o + 16 v ..) and tap kw: tm[kw * nv + v] (NARROW2: tm[v]). */
static void block_taps(const afk_pool2d *p, int64_t o, int nv, tapm *tm)
{
    const int64_t s = p->s[1], mode = tap_mode(p), K = mode == NARROW2 ? 1 : p->k[1];
    for (int64_t kw = 0; kw < K; kw++)
        for (int v = 0; v < nv; v++) {
            int64_t ow = o + 16 * v, n = p->OW - ow < 16 ? p->OW - ow : 16;
            int64_t c0 = ow * s - p->pb[1] + kw * p->d[1];
            int64_t span = mode == TAPS1 ? n : mode == TAPS2 ? 2 * n - 1 : 2 * n - 2 + p->k[1];
            int64_t lo = c0 < 0 ? -c0 : 0, hi = p->W - c0 < span ? p->W - c0 : span;
            tapm *t = &tm[kw * nv + v];
            t->off = c0;
            t->m0 = (__mmask16)(lanes(hi) & ~lanes(lo));
            t->m1 = (__mmask16)(lanes(hi - 16) & ~lanes(lo - 16));
            t->m2 = (__mmask16)(lanes(hi - 32) & ~lanes(lo - 32));
        }
}

TGT512 static inline __m512 tap_load(const float *row, const tapm *t, int s2, __m512 fill)
{
    const __m512 a = _mm512_mask_loadu_ps(fill, t->m0, row + t->off);
    if (!s2) return a;
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
    return _mm512_permutex2var_ps(a, ev, _mm512_mask_loadu_ps(fill, t->m1, row + t->off + 16));
}

/* acc = fold(acc, x): max (vmaxps(x, acc): x wins only when greater) or sum. */
TGT512 static inline __m512 fold(int avg, __m512 acc, __m512 x)
{
    return avg ? _mm512_add_ps(acc, x) : _mm512_max_ps(x, acc);
}

/* NARROW2: acc folded with one window row's taps (k of them), in kw order. */
TGT512 static inline __m512 narrow_row(int avg, __m512 acc, const float *row, const tapm *t,
                                       int64_t k, __m512 fill)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    const __m512 a = _mm512_mask_loadu_ps(fill, t->m0, row + t->off);
    const __m512 b = _mm512_mask_loadu_ps(fill, t->m1, row + t->off + 16);
    const __m512 e = _mm512_permutex2var_ps(a, ev, b);
    acc = fold(avg, acc, e);
    if (k < 2) return acc;
    acc = fold(avg, acc, _mm512_permutex2var_ps(a, od, b));
    if (k < 3) return acc;
    const __m512 c = _mm512_mask_loadu_ps(fill, t->m2, row + t->off + 32);
    return fold(avg, acc, _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(c),
                                                                  _mm512_castps_si512(e), 1)));
}

/* Output rows oh .. oh + R - 1 (the same window row count nr; row j's first window row at
 * base[j], the next ones rstep floats on), columns o + 16 v (v < nv): R * nv <= ACCS
 * accumulators; avg (average, else max), mode (tap_mode), R and nv constants where inlined.
 * rowmul[j]: average, row j's rows counted. */
TGT512 __attribute__((always_inline)) static inline void
block512(const int avg, const int mode, const int R, const int nv, const afk_pool2d *p,
         const float *const *base, int64_t nr, int64_t rstep, int64_t o, const tapm *tm,
         const float *rowmul, const float *cnt, float *y)
{
    const __m512 fill = avg ? _mm512_setzero_ps() : _mm512_set1_ps(-INFINITY);
    __m512 acc[ACCS];
#pragma GCC unroll 4
    for (int i = 0; i < R * nv; i++) acc[i] = fill;
    for (int64_t r = 0; r < nr; r++) {
        if (mode == NARROW2) {
#pragma GCC unroll 4
            for (int i = 0; i < R * nv; i++)
                acc[i] = narrow_row(avg, acc[i], base[i / nv] + r * rstep, &tm[i % nv], p->k[1],
                                    fill);
            continue;
        }
        for (int64_t kw = 0; kw < p->k[1]; kw++)
#pragma GCC unroll 4
            for (int i = 0; i < R * nv; i++)
                acc[i] = fold(avg, acc[i], tap_load(base[i / nv] + r * rstep,
                                                    &tm[kw * nv + i % nv], mode == TAPS2, fill));
    }
#pragma GCC unroll 4
    for (int i = 0; i < R * nv; i++) {
        int64_t ow = o + 16 * (i % nv), n = p->OW - ow < 16 ? p->OW - ow : 16;
        __mmask16 m = lanes(n);
        if (avg) {
            __m512 div = _mm512_mul_ps(_mm512_set1_ps(rowmul[i / nv]),
                                       _mm512_maskz_loadu_ps(m, cnt + ow));
            __mmask16 nz = _mm512_mask_cmp_ps_mask(m, div, _mm512_setzero_ps(), _CMP_GT_OQ);
            acc[i] = _mm512_maskz_div_ps(nz, acc[i], div);
        }
        _mm512_mask_storeu_ps(y + (i / nv) * p->OW + ow, m, acc[i]);
    }
}

/* Output row oh's window rows inside the map: the first's offset in the plane (*first), their
 * count (returned; consecutive rows d[0] rows apart) and, for the average's divisor, the rows
 * counted (*rowmul: those in the padded extent, or those inside). A window starts at or after
 * -pb[0], so its rows in the padded extent are a prefix of the kernel's. */
static int64_t win_rows(const afk_pool2d *p, int64_t oh, int64_t *first, float *rowmul)
{
    const int64_t i0 = oh * p->s[0] - p->pb[0], d = p->d[0], K = p->k[0];
    const int64_t top = -i0, bot = p->H - 1 - i0, pbot = p->H + p->pe[0] - 1 - i0;
    int64_t lo = top <= 0 ? 0 : d == 1 ? top : (top + d - 1) / d;
    int64_t hi = bot < 0 ? -1 : d == 1 ? bot : bot / d;
    int64_t ph = pbot < 0 ? -1 : d == 1 ? pbot : pbot / d;
    hi = hi > K - 1 ? K - 1 : hi;
    ph = ph > K - 1 ? K - 1 : ph;
    int64_t nr = hi >= lo ? hi - lo + 1 : 0;
    *first = (i0 + lo * d) * p->W;
    *rowmul = (float)(p->count_pad ? ph + 1 : nr);
    return nr;
}

/* Rows [oh, oh + R) of column block o by block512, its arguments as constants. */
TGT512 static void block_rows(int R, int nv, const afk_pool2d *p, const float *const *base,
                              int64_t nr, int64_t rstep, int64_t o, const tapm *tm,
                              const float *rowmul, const float *cnt, float *y)
{
#define B512(a_, s_, r_, v_) block512(a_, s_, r_, v_, p, base, nr, rstep, o, tm, rowmul, cnt, y)
#define SHAPES(a_, s_)                                                                        \
    switch (R * 8 + nv) {                                                                     \
    case 4 * 8 + 1: B512(a_, s_, 4, 1); break;                                                \
    case 2 * 8 + 2: B512(a_, s_, 2, 2); break;                                                \
    case 1 * 8 + 1: B512(a_, s_, 1, 1); break;                                                \
    case 1 * 8 + 2: B512(a_, s_, 1, 2); break;                                                \
    case 1 * 8 + 3: B512(a_, s_, 1, 3); break;                                                \
    default: B512(a_, s_, 1, 4); break;                                                       \
    }
    switch (p->avg * 3 + tap_mode(p)) {
    case 0: SHAPES(0, TAPS1); break;
    case 1: SHAPES(0, TAPS2); break;
    case 2: SHAPES(0, NARROW2); break;
    case 3: SHAPES(1, TAPS1); break;
    case 4: SHAPES(1, TAPS2); break;
    default: SHAPES(1, NARROW2); break;
    }
#undef SHAPES
#undef B512
}

/* ---- max, 3-row windows at row stride 2, 3-wide at column stride 2: separable ----------
 * Each input row's horizontal maxima (narrow_row from -inf) are made once and shared by the two
 * output rows whose windows hold that row (row 2 oh + 2 - pt is the next window's first). The
 * bits are the direct fold's: folding rows' maxima in kh order keeps the first row holding a
 * value equal to the window's maximum, and each row's maximum is its first such value, so the
 * result is the first in kh-then-kw order, as `best = v > best ? v : best` keeps (NaN never
 * enters: vmaxps(v, best) keeps best when v is NaN). */
static int sep_ok(const afk_pool2d *p)
{
    return !p->avg && tap_mode(p) == NARROW2 && p->k[0] == 3 && p->s[0] == 2 && p->d[0] == 1;
}

enum { SEP_PF = 4 }; /* output rows ahead that sep_block prefetches its input rows */

TGT512 __attribute__((always_inline)) static inline void
sep_block(const int nv, const afk_pool2d *p, const float *x, const tapm *tm, int64_t o, float *y)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 carry[ACCS] = {ninf, ninf, ninf, ninf}, acc[ACCS], h[ACCS];
    int64_t crow = INT64_MIN; /* the input row carry holds (none yet) */
    for (int64_t oh = 0; oh < p->OH; oh++) {
        const int64_t i0 = oh * 2 - p->pb[0];
        /* the two input rows SEP_PF output rows on (past the plane: the next one's first) */
        afk_prefetch_bytes(x + (i0 + 2 * SEP_PF) * p->W, 2 * p->W * (int64_t)sizeof(float));
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[v] = ninf;
        for (int64_t kh = 0; kh < 3; kh++) {
            const int64_t ih = i0 + kh;
            if (ih < 0 || ih >= p->H) continue;
            const float *row = x + ih * p->W;
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                h[v] = ih == crow ? carry[v] : narrow_row(0, ninf, row, &tm[v], p->k[1], ninf);
                acc[v] = _mm512_max_ps(h[v], acc[v]);
            }
            if (kh == 2) {
#pragma GCC unroll 4
                for (int v = 0; v < nv; v++) carry[v] = h[v];
                crow = ih;
            }
        }
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            const int64_t ow = o + 16 * v, n = p->OW - ow < 16 ? p->OW - ow : 16;
            _mm512_mask_storeu_ps(y + oh * p->OW + ow, lanes(n), acc[v]);
        }
    }
}

TGT512 static void sep512(const afk_pool2d *p, const float *x, int64_t nc, int64_t xs, int64_t ys,
                          float *y)
{
    tapm tm[ACCS];
    for (int64_t o = 0; o < p->OW; o += 16 * ACCS) {
        const int nv = p->OW - o >= 16 * ACCS ? ACCS : (int)((p->OW - o + 15) / 16);
        block_taps(p, o, nv, tm);
        for (int64_t c = 0; c < nc; c++)
            switch (nv) {
            case 1: sep_block(1, p, x + c * xs, tm, o, y + c * ys); break;
            case 2: sep_block(2, p, x + c * xs, tm, o, y + c * ys); break;
            case 3: sep_block(3, p, x + c * xs, tm, o, y + c * ys); break;
            default: sep_block(4, p, x + c * xs, tm, o, y + c * ys); break;
            }
    }
}

// nc channels x (H, W) (planes xs apart) -> y (OH, OW) (ys apart): column blocks of up to 4
// vectors, their taps' masks made once for all channels; within a block R rows at a time
// (R * nv <= 4) when their window row counts agree, else one
TGT512 static void plane512(const afk_pool2d *p, const float *x, int64_t nc, int64_t xs,
                            int64_t ys, const float *cnt, float *y)
{
    const float *base[ACCS];
    float rowmul[ACCS];
    int64_t first[ACCS];
    tapm tm[MAX_KW * ACCS];
    const int64_t rstep = p->d[0] * p->W;
    for (int64_t o = 0; o < p->OW; o += 16 * ACCS) {
        const int nv = p->OW - o >= 16 * ACCS ? ACCS : (int)((p->OW - o + 15) / 16);
        const int R = ACCS / nv;
        block_taps(p, o, nv, tm);
        for (int64_t c = 0; c < nc; c++)
            for (int64_t oh = 0; oh < p->OH;) {
                int64_t nr = win_rows(p, oh, &first[0], &rowmul[0]);
                int r = 1;
                while (r < R && oh + r < p->OH && win_rows(p, oh + r, &first[r], &rowmul[r]) == nr)
                    r++;
                if (r < R) r = 1;
                for (int j = 0; j < r; j++) base[j] = x + c * xs + first[j];
                block_rows(r, nv, p, base, nr, rstep, o, tm, rowmul, cnt, y + c * ys + oh * p->OW);
                oh += r;
            }
    }
}

/* ---- stride 1, output rows as wide as the input's: the plane as one run ------------------
 * Output f = oh * W + ow for f < OH * W, 16 per vector across row ends (a 7x7 or 17x17 plane
 * fills its lanes, where row vectors would leave half of them empty); tap (kh, kw) of the vector
 * at f0 reads x[f0 + (kh - pt) W + kw - pl], masked to the lanes whose window cell lies inside
 * the map (filled as the row loops fill). The masks and the average's divisors depend on the
 * position only: made once per node run (afk_pool_plane_tab, into the kernel's scratch) for all
 * its channels and tasks. Each lane folds its window in (kh, kw)
 * order, fills included, as block512 does: the same bits. */
enum { FLAT_VECS = 256, FLAT_TAPS = 49, FLAT_ACCS = 4 };

static int flat_ok(const afk_pool2d *p)
{
    return p->s[0] == 1 && p->s[1] == 1 && p->d[0] == 1 && p->d[1] == 1 && p->OW == p->W &&
           p->k[0] * p->k[1] <= FLAT_TAPS && (p->OH * p->OW + 15) / 16 <= FLAT_VECS;
}

/* mt[v * taps + kh * KW + kw]: the lanes of vector v inside the map at tap (kh, kw); dv[v * 16
 * + l] (average): lane l's divisor, its window rows counted times cnt[ow]. */
static void flat_tables(const afk_pool2d *p, const float *cnt, int64_t nv, uint16_t *mt, float *dv)
{
    const int64_t KH = p->k[0], KW = p->k[1], W = p->W, n = p->OH * p->OW;
    for (int64_t v = 0; v < nv; v++) {
        for (int64_t t = 0; t < KH * KW; t++) mt[v * KH * KW + t] = 0;
        for (int l = 0; l < 16; l++) {
            int64_t f = v * 16 + l, oh = f / W, ow = f % W;
            if (f >= n) {
                if (dv) dv[v * 16 + l] = 1.0f;
                continue;
            }
            for (int64_t kh = 0; kh < KH; kh++) {
                int64_t ih = oh - p->pb[0] + kh;
                for (int64_t kw = 0; kw < KW && ih >= 0 && ih < p->H; kw++) {
                    int64_t iw = ow - p->pb[1] + kw;
                    if (iw >= 0 && iw < W) mt[v * KH * KW + kh * KW + kw] |= (uint16_t)(1u << l);
                }
            }
            if (dv) {
                int64_t first;
                float rowmul;
                win_rows(p, oh, &first, &rowmul);
                dv[v * 16 + l] = rowmul * cnt[ow];
            }
        }
    }
}

/* Vectors [v0, v0 + A) of one plane (A accumulators side by side); k3: a 3x3 window (the
 * loops unrolled). */
TGT512 __attribute__((always_inline)) static inline void
flat_block(const int avg, const int A, const int k3, const afk_pool2d *p, const float *x,
           int64_t v0, const uint16_t *mt, const float *dv, float *y)
{
    const int64_t KH = k3 ? 3 : p->k[0], KW = k3 ? 3 : p->k[1], W = p->W, taps = KH * KW;
    const int64_t n = p->OH * p->OW;
    const __m512 fill = avg ? _mm512_setzero_ps() : _mm512_set1_ps(-INFINITY);
    __m512 acc[FLAT_ACCS];
#pragma GCC unroll 4
    for (int a = 0; a < A; a++) acc[a] = fill;
#pragma GCC unroll 3
    for (int64_t kh = 0; kh < KH; kh++)
#pragma GCC unroll 3
        for (int64_t kw = 0; kw < KW; kw++) {
            const float *src = x + v0 * 16 + (kh - p->pb[0]) * W + kw - p->pb[1];
#pragma GCC unroll 4
            for (int a = 0; a < A; a++) {
                __mmask16 m = mt[(v0 + a) * taps + kh * KW + kw];
                acc[a] = fold(avg, acc[a], _mm512_mask_loadu_ps(fill, m, src + a * 16));
            }
        }
#pragma GCC unroll 4
    for (int a = 0; a < A; a++) {
        int64_t f = (v0 + a) * 16;
        __mmask16 m = lanes(n - f);
        if (avg) {
            __m512 div = _mm512_loadu_ps(dv + f);
            __mmask16 nz = _mm512_mask_cmp_ps_mask(m, div, _mm512_setzero_ps(), _CMP_GT_OQ);
            acc[a] = _mm512_maskz_div_ps(nz, acc[a], div);
        }
        _mm512_mask_storeu_ps(y + f, m, acc[a]);
    }
}

/* One plane's nv vectors, FLAT_ACCS at a time. */
TGT512 __attribute__((always_inline)) static inline void
flat_plane(const int avg, const int k3, const afk_pool2d *p, const float *x, int64_t nv,
           const uint16_t *mt, const float *dv, float *y)
{
    int64_t v = 0;
    for (; v + FLAT_ACCS <= nv; v += FLAT_ACCS) flat_block(avg, FLAT_ACCS, k3, p, x, v, mt, dv, y);
    for (; v < nv; v++) flat_block(avg, 1, k3, p, x, v, mt, dv, y);
}

/* The tables' layout in tab: mt (nv * taps u16, 64-byte rounded), then dv (nv * 16 floats). */
static size_t flat_mt_bytes(const afk_pool2d *p)
{
    const int64_t nv = (p->OH * p->OW + 15) / 16;
    return ((size_t)(nv * p->k[0] * p->k[1]) * sizeof(uint16_t) + 63) / 64 * 64;
}

size_t afk_pool_plane_tab_bytes(const afk_pool2d *p)
{
    return flat_ok(p) ? flat_mt_bytes(p) + (size_t)((p->OH * p->OW + 15) / 16) * 16 * sizeof(float)
                      : 0;
}

int afk_pool_plane_tab(const afk_pool2d *p, const float *cnt, void *tab)
{
    if (!flat_ok(p) || !afk_vec_have512()) return 0;
    flat_tables(p, cnt, (p->OH * p->OW + 15) / 16, tab,
                p->avg ? (float *)((char *)tab + flat_mt_bytes(p)) : NULL);
    return 1;
}

TGT512 static void flat512(const afk_pool2d *p, const void *tab, const float *x, int64_t nc,
                           int64_t xs, int64_t ys, float *y)
{
    const uint16_t *mt = tab;
    const float *dv = (const float *)((const char *)tab + flat_mt_bytes(p));
    const int64_t nv = (p->OH * p->OW + 15) / 16;
    const int k3 = p->k[0] == 3 && p->k[1] == 3;
    for (int64_t c = 0; c < nc; c++) {
        /* the next plane (in a model the op before's output, mostly in L3: the loads stalled) */
        afk_prefetch_bytes(x + (c + 1) * xs, p->H * p->W * (int64_t)sizeof(float));
        switch (p->avg * 2 + k3) {
        case 0: flat_plane(0, 0, p, x + c * xs, nv, mt, dv, y + c * ys); break;
        case 1: flat_plane(0, 1, p, x + c * xs, nv, mt, dv, y + c * ys); break;
        case 2: flat_plane(1, 0, p, x + c * xs, nv, mt, dv, y + c * ys); break;
        default: flat_plane(1, 1, p, x + c * xs, nv, mt, dv, y + c * ys); break;
        }
    }
}

int afk_pool_plane_fast(const afk_pool2d *p, const void *tab, const float *x, int64_t nc,
                        int64_t xs, int64_t ys, const float *cnt, float *y)
{
    if (p->s[1] > 2 || p->k[1] > MAX_KW || !afk_vec_have512()) return 0;
    if (tab && flat_ok(p)) flat512(p, tab, x, nc, xs, ys, y);
    else if (sep_ok(p)) sep512(p, x, nc, xs, ys, y);
    else plane512(p, x, nc, xs, ys, cnt, y);
    return 1;
}

int afk_div_row_fast(float *y, int64_t n, float d)
{
    if (!afk_vec_have512()) return 0;
    div_row512(y, n, d);
    return 1;
}

#else

int afk_sum_f64_fast(const float *x, int64_t n, double *sum)
{
    (void)x, (void)n, (void)sum;
    return 0;
}

int afk_sumsq_f64_fast(const float *x, int64_t n, double *sum)
{
    (void)x, (void)n, (void)sum;
    return 0;
}

size_t afk_pool_plane_tab_bytes(const afk_pool2d *p)
{
    (void)p;
    return 0;
}

int afk_pool_plane_tab(const afk_pool2d *p, const float *cnt, void *tab)
{
    (void)p, (void)cnt, (void)tab;
    return 0;
}

int afk_pool_plane_fast(const afk_pool2d *p, const void *tab, const float *x, int64_t nc,
                        int64_t xs, int64_t ys, const float *cnt, float *y)
{
    (void)p, (void)tab, (void)x, (void)nc, (void)xs, (void)ys, (void)cnt, (void)y;
    return 0;
}

int afk_div_row_fast(float *y, int64_t n, float d)
{
    (void)y, (void)n, (void)d;
    return 0;
}

#endif
