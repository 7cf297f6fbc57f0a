/* runtime/kernels/pool_fast.c — AVX-512F inner loops for max pooling and global average
 * pooling (pool.c chooses them; portable loops remain the reference).
 *
 * Max pooling: 16 output columns per vector; for stride 1 each window column is one masked
 * load, for stride 2 two masked loads and a lane permutation pick the even (or odd) inputs.
 * Each lane folds its window with _mm512_max_ps(v, best), which is exactly the reference's
 * `best = v > best ? v : best` (vmaxps returns its second operand unless the first is greater:
 * NaN is skipped and, among equal values such as -0 and +0, the earlier stays), in the
 * reference's kh-then-kw order: the output bits are the reference's.
 */
#include "pool_fast.h"

#include "internal.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT512 __attribute__((target("avx512f")))


static __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* the inputs p[2i], i < n (n <= 16): reads p[0 .. 2n-2] only */
TGT512 static inline __m512 even16(const float *p, int64_t n)
{
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                          28, 30);
    __m512 lo = _mm512_maskz_loadu_ps(lanes(2 * n - 1), p);
    __m512 hi = _mm512_maskz_loadu_ps(lanes(2 * n - 1 - 16), p + 16);
    return _mm512_permutex2var_ps(lo, idx, hi);
}

/* 3-wide windows, stride 2, dilation 1 (SqueezeNet's and ResNet's 3x3/2 pools): each input
 * row is loaded once per 16 outputs (columns 2i, 2i+1, 2i+2 of 33 columns: even and odd lanes
 * by two permutations, the shifted evens by one lane rotation) and folded across its window
 * first, then the row results are folded in row order. The reference keeps the first maximum
 * of the window in row-major order (NaN skipped); a row's fold keeps the first maximum of that
 * row and the fold over rows the first row holding the window's maximum, so the bits are the
 * reference's. The rows' folds are independent, so the dependency chain is 3 + nr - 1 max
 * operations instead of 3 nr. */
TGT512 static void maxpool_row512_k3s2(const float *const *rows, int nr, int64_t o0, int64_t o1,
                                       int64_t pb, float *y)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t ow = o0; ow < o1; ow += 16) {
        int64_t n = o1 - ow < 16 ? o1 - ow : 16, cols = 2 * n + 1; /* reads p[0 .. 2n] */
        __m512 best = ninf;
        for (int r = 0; r < nr; r++) {
            const float *p = rows[r] + ow * 2 - pb;
            __m512 lo = _mm512_maskz_loadu_ps(lanes(cols), p);
            __m512 hi = _mm512_maskz_loadu_ps(lanes(cols - 16), p + 16);
            __m512 c32 = _mm512_maskz_loadu_ps(lanes(cols - 32), p + 32);
            __m512 e = _mm512_permutex2var_ps(lo, ev, hi), o = _mm512_permutex2var_ps(lo, od, hi);
            __m512 e2 = _mm512_castsi512_ps(
                _mm512_alignr_epi32(_mm512_castps_si512(c32), _mm512_castps_si512(e), 1));
            __m512 m = _mm512_max_ps(e2, _mm512_max_ps(o, _mm512_max_ps(e, ninf)));
            best = r ? _mm512_max_ps(m, best) : m; /* m is never NaN: max(m, -inf) == m */
        }
        _mm512_mask_storeu_ps(y + ow, lanes(n), best);
    }
}

// rows (nr, W) -> y[o0..o1), stride s in {1, 2}
TGT512 static void maxpool_row512(const float *const *rows, int nr, int64_t o0, int64_t o1,
                                  int64_t s, int64_t d, int64_t KW, int64_t pb, float *y)
{
    for (int64_t ow = o0; ow < o1; ow += 16) {
        int64_t n = o1 - ow < 16 ? o1 - ow : 16;
        __mmask16 m = lanes(n);
        __m512 best = _mm512_set1_ps(-INFINITY);
        for (int r = 0; r < nr; r++) {
            const float *p = rows[r] + ow * s - pb;
            for (int64_t kw = 0; kw < KW; kw++, p += d) {
                __m512 v = s == 1 ? _mm512_maskz_loadu_ps(m, p) : even16(p, n);
                best = _mm512_max_ps(v, best);
            }
        }
        _mm512_mask_storeu_ps(y + ow, m, best);
    }
}

int afk_maxpool_row_fast(const float *const *rows, int nr, int64_t o0, int64_t o1, int64_t s,
                         int64_t d, int64_t KW, int64_t pb, float *y)
{
    if (s > 2 || !afk_vec_have512()) return 0;
    if (s == 2 && d == 1 && KW == 3) maxpool_row512_k3s2(rows, nr, o0, o1, pb, y);
    else maxpool_row512(rows, nr, o0, o1, s, d, KW, pb, y);
    return 1;
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

// rows (nr, W) -> y (OW): y[ow] = (sum over r, then kw of rows[r][ow + kw - pb] inside the
// row) / divs[ow], 16 outputs at a time in one register (stride 1, no dilation)
TGT512 static void avgpool_row512(const float *const *rows, int nr, int64_t OW, int64_t W,
                                  int64_t KW, int64_t pb, const float *divs, float *y)
{
    for (int64_t o = 0; o < OW; o += 16) {
        const __mmask16 out = lanes(OW - o);
        __m512 acc = _mm512_setzero_ps();
        for (int r = 0; r < nr; r++)
            for (int64_t kw = 0; kw < KW; kw++) {
                int64_t i0 = o + kw - pb; /* lane l reads column i0 + l, if inside the row */
                int64_t lo = i0 < 0 ? -i0 : 0, hi = W - i0 < 16 ? W - i0 : 16;
                if (hi <= lo) continue;
                __mmask16 m = (__mmask16)(out & (lanes(hi) & ~lanes(lo)));
                /* outside lanes add +0: the sum, started at +0, is never -0, so no bit moves */
                acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, rows[r] + i0));
            }
        _mm512_mask_storeu_ps(y + o, out, _mm512_div_ps(acc, _mm512_maskz_loadu_ps(out, divs + o)));
    }
}

int afk_avgpool_row_fast(const float *const *rows, int nr, int64_t OW, int64_t W, int64_t KW,
                         int64_t pb, const float *divs, float *y)
{
    if (!afk_vec_have512()) return 0;
    avgpool_row512(rows, nr, OW, W, KW, pb, divs, y);
    return 1;
}

int afk_div_row_fast(float *y, int64_t n, float d)
{
    if (!afk_vec_have512()) return 0;
    div_row512(y, n, d);
    return 1;
}

#else

int afk_maxpool_row_fast(const float *const *rows, int nr, int64_t o0, int64_t o1, int64_t s,
                         int64_t d, int64_t KW, int64_t pb, float *y)
{
    (void)rows, (void)nr, (void)o0, (void)o1, (void)s, (void)d, (void)KW, (void)pb, (void)y;
    return 0;
}

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

int afk_avgpool_row_fast(const float *const *rows, int nr, int64_t OW, int64_t W, int64_t KW,
                         int64_t pb, const float *divs, float *y)
{
    (void)rows, (void)nr, (void)OW, (void)W, (void)KW, (void)pb, (void)divs, (void)y;
    return 0;
}

int afk_div_row_fast(float *y, int64_t n, float d)
{
    (void)y, (void)n, (void)d;
    return 0;
}

#endif
