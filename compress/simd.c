/* compress/simd.c — portable and AVX2+F16C versions of the encoders' hot loops (simd.h). */
#include "simd.h"

#include <string.h>

#include "../graph/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#define AFC_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

int af_csimd_force_portable = 0;

static int use_x86(void)
{
#ifdef AFC_X86
    static int have = -1; /* a benign race: every thread computes the same value */
    if (have < 0) {
        unsigned a, b, c, d; /* F16C via cpuid: clang rejects __builtin_cpu_supports("f16c") */
        int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
        have = f16c && __builtin_cpu_supports("avx2");
    }
    return have && !af_csimd_force_portable;
#else
    return 0;
#endif
}

const char *af_csimd_isa(void) { return use_x86() ? "avx2+f16c" : "portable"; }

static inline double rne(double v)
{
    int64_t t = (int64_t)v;            /* trunc, then floor; exact for |v| < 2^52 */
    t -= (double)t > v;
    double d = v - (double)t;
    t += (d > 0.5) | ((d == 0.5) & (int)(t & 1)); /* no branch: the outcome is random */
    return (double)t;
}

double af_round_half_even(double v) { return rne(v); }

/* ---- portable ------------------------------------------------------------------------------ */

/* h = fp16(x); returns the first index whose code is Inf/NaN, or n */
static size_t f16_portable(const float *x, uint16_t *h, size_t n)
{
    size_t bad = n;
    for (size_t i = 0; i < n; i++) {
        h[i] = af_f32_to_f16(x[i]);
        if (bad == n && (h[i] & 0x7c00u) == 0x7c00u) bad = i;
    }
    return bad;
}

static void f64_portable(const uint16_t *h, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = af_f16_to_f32(h[i]);
}

/* Four interleaved accumulators (the min/max chains are the loop's latency); replacing only on
 * strictly smaller/larger keeps the result exactly the sequential loop's, signed zeros too. */
static int minmax_portable(const float *x, size_t n, float *lo, float *hi)
{
    float l[4] = {*lo, *lo, *lo, *lo}, u[4] = {*hi, *hi, *hi, *hi};
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &x[i], sizeof b);
        bad |= (b & 0x7f800000u) == 0x7f800000u;
        l[i & 3] = x[i] < l[i & 3] ? x[i] : l[i & 3];
        u[i & 3] = x[i] > u[i & 3] ? x[i] : u[i & 3];
    }
    if (bad) return 0;
    for (int k = 1; k < 4; k++) {
        if (l[k] < l[0]) l[0] = l[k];
        if (u[k] > u[0]) u[0] = u[k];
    }
    *lo = l[0], *hi = u[0];
    return 1;
}

static void quant_i8_portable(const float *x, size_t n, double s, int z, int qlo, int qhi,
                              int8_t *q)
{
    for (size_t i = 0; i < n; i++) {
        int v = (int)rne(x[i] / s) + z;
        q[i] = (int8_t)(v < qlo ? qlo : v > qhi ? qhi : v);
    }
}

static inline uint16_t f16_key(uint16_t h) /* af_f16_key (kmeans1d.h) without branches */
{
    unsigned c = h & (0u - ((h & 0x7fffu) != 0)); /* -0 -> +0 */
    return (uint16_t)(c ^ ((0u - (c >> 15)) | 0x8000u));
}

static size_t keys_portable(const float *x, uint16_t *k, size_t n)
{
    size_t bad = f16_portable(x, k, n);
    for (size_t i = 0; i < n; i++) k[i] = f16_key(k[i]);
    return bad;
}

static void assign_portable(const uint16_t *keys, size_t n, const uint16_t tkey[15],
                            uint8_t *idx, uint64_t e0)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 15; j++) v += keys[i] >= tkey[j];
        uint64_t e = e0 + i;
        idx[e >> 1] |= (uint8_t)(v << (4 * (e & 1)));
    }
}

/* ---- AVX2 + F16C ------------------------------------------------------------------------- */

#ifdef AFC_X86
#define AFC_TARGET __attribute__((target("avx2,f16c")))

// x (n,) f32 -> h (n,) fp16 codes (round to nearest even); returns the first non-finite or n
AFC_TARGET static size_t f16_x86(const float *x, uint16_t *h, size_t n)
{
    const __m128i e = _mm_set1_epi16(0x7c00);
    __m128i bad = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        __m128i b = _mm256_cvtps_ph(_mm256_loadu_ps(x + i + 8), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(h + i), a);
        _mm_storeu_si128((__m128i *)(h + i + 8), b);
        bad = _mm_or_si128(bad, _mm_cmpeq_epi16(_mm_and_si128(a, e), e));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi16(_mm_and_si128(b, e), e));
    }
    size_t first = n;
    if (!_mm_testz_si128(bad, bad))
        for (size_t k = 0; k < i && first == n; k++)
            if ((h[k] & 0x7c00u) == 0x7c00u) first = k;
    size_t rest = f16_portable(x + i, h + i, n - i);
    return first < n ? first : rest < n - i ? i + rest : n;
}

AFC_TARGET static void f64_x86(const uint16_t *h, double *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i)));
        _mm256_storeu_pd(out + i, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
        _mm256_storeu_pd(out + i + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
    }
    f64_portable(h + i, out + i, n - i);
}

/* 8 fp16 codes -> order keys: -0 -> +0, then h ^ 0xffff (negative) or h ^ 0x8000 */
AFC_TARGET static inline __m128i key8(__m128i h)
{
    __m128i zero = _mm_cmpeq_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7fff)), _mm_setzero_si128());
    h = _mm_andnot_si128(zero, h);
    return _mm_xor_si128(h, _mm_or_si128(_mm_srai_epi16(h, 15), _mm_set1_epi16((short)0x8000)));
}

AFC_TARGET static size_t keys_x86(const float *x, uint16_t *k, size_t n)
{
    size_t bad = f16_x86(x, k, n), i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(k + i), key8(_mm_loadu_si128((const __m128i *)(k + i))));
    for (; i < n; i++) k[i] = f16_key(k[i]);
    return bad;
}

AFC_TARGET static int minmax_x86(const float *x, size_t n, float *lo, float *hi)
{
    const __m256i e = _mm256_set1_epi32(0x7f800000);
    __m256 l = _mm256_set1_ps(*lo), u = _mm256_set1_ps(*hi);
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        l = _mm256_min_ps(v, l); /* min_ps(v, l) = v < l ? v : l, as the portable loop */
        u = _mm256_max_ps(v, u);
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), e), e));
    }
    if (!_mm256_testz_si256(bad, bad)) return 0;
    float lv[8], uv[8];
    _mm256_storeu_ps(lv, l);
    _mm256_storeu_ps(uv, u);
    float rl = *lo, ru = *hi;
    for (int k = 0; k < 8; k++) {
        if (lv[k] < rl) rl = lv[k];
        if (uv[k] > ru) ru = uv[k];
    }
    if (!minmax_portable(x + i, n - i, &rl, &ru)) return 0;
    *lo = rl, *hi = ru;
    return 1;
}

/* 4 floats / s in double, rounded half to even -> 4 int32 + z */
AFC_TARGET static inline __m128i quant4(__m128 v, __m256d s, __m128i z)
{
    __m256d d = _mm256_div_pd(_mm256_cvtps_pd(v), s);
    d = _mm256_round_pd(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm_add_epi32(_mm256_cvttpd_epi32(d), z);
}

AFC_TARGET static void quant_i8_x86(const float *x, size_t n, double s, int z, int qlo, int qhi,
                                    int8_t *q)
{
    const __m256d sv = _mm256_set1_pd(s);
    const __m128i zv = _mm_set1_epi32(z), lo = _mm_set1_epi32(qlo), hi = _mm_set1_epi32(qhi);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        __m128i r[4] = {quant4(_mm256_castps256_ps128(a), sv, zv),
                        quant4(_mm256_extractf128_ps(a, 1), sv, zv),
                        quant4(_mm256_castps256_ps128(b), sv, zv),
                        quant4(_mm256_extractf128_ps(b, 1), sv, zv)};
        for (int k = 0; k < 4; k++) r[k] = _mm_min_epi32(_mm_max_epi32(r[k], lo), hi);
        __m128i p = _mm_packs_epi16(_mm_packs_epi32(r[0], r[1]), _mm_packs_epi32(r[2], r[3]));
        _mm_storeu_si128((__m128i *)(q + i), p);
    }
    quant_i8_portable(x + i, n - i, s, z, qlo, qhi, q + i);
}

/* 16 order keys -> their int4 indices (one per u16 lane): 15 + sum_j -(t_j > key), signed
 * compares on key ^ 0x8000 (t holds tkey ^ 0x8000) */
AFC_TARGET static inline __m256i index16(__m256i k, const __m256i t[15])
{
    k = _mm256_xor_si256(k, _mm256_set1_epi16((short)0x8000));
    __m256i v = _mm256_set1_epi16(15);
    for (int j = 0; j < 15; j++) v = _mm256_add_epi16(v, _mm256_cmpgt_epi16(t[j], k));
    return v;
}

AFC_TARGET static void assign_x86(const uint16_t *keys, size_t n, const uint16_t tkey[15],
                                  uint8_t *idx, uint64_t e0)
{
    if (n && (e0 & 1)) { /* the odd first element shares its byte with the previous group */
        assign_portable(keys, 1, tkey, idx, e0);
        keys++, n--, e0++;
    }
    __m256i t[15];
    for (int j = 0; j < 15; j++) t[j] = _mm256_set1_epi16((short)(tkey[j] ^ 0x8000u));
    const __m256i pair = _mm256_set1_epi32(0x00100001); /* even + 16 * odd */
    uint8_t *o = idx + (e0 >> 1);
    size_t i = 0;
    for (; i + 32 <= n; i += 32, o += 16) {
        __m256i a = _mm256_madd_epi16(index16(_mm256_loadu_si256((const __m256i *)(keys + i)), t), pair);
        __m256i b = _mm256_madd_epi16(index16(_mm256_loadu_si256((const __m256i *)(keys + i + 16)), t), pair);
        __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
        __m128i bytes = _mm_packus_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        _mm_storeu_si128((__m128i *)o, bytes);
    }
    assign_portable(keys + i, n - i, tkey, idx, e0 + i);
}
#endif

/* ---- dispatch ------------------------------------------------------------------------------ */

size_t af_f32_to_f16_finite(const float *x, uint16_t *h, size_t n)
{
#ifdef AFC_X86
    if (use_x86()) return f16_x86(x, h, n);
#endif
    return f16_portable(x, h, n);
}

void af_f32_to_f16_n(const float *x, uint16_t *h, size_t n) { (void)af_f32_to_f16_finite(x, h, n); }

void af_f16_to_f64_n(const uint16_t *h, double *out, size_t n)
{
#ifdef AFC_X86
    if (use_x86()) {
        f64_x86(h, out, n);
        return;
    }
#endif
    f64_portable(h, out, n);
}

int af_minmax_f32(const float *x, size_t n, float *lo, float *hi)
{
#ifdef AFC_X86
    if (use_x86()) return minmax_x86(x, n, lo, hi);
#endif
    return minmax_portable(x, n, lo, hi);
}

void af_quant_i8(const float *x, size_t n, double s, int z, int qlo, int qhi, int8_t *q)
{
#ifdef AFC_X86
    if (use_x86()) {
        quant_i8_x86(x, n, s, z, qlo, qhi, q);
        return;
    }
#endif
    quant_i8_portable(x, n, s, z, qlo, qhi, q);
}

void af_int4_assign(const uint16_t *keys, size_t n, const uint16_t tkey[15], uint8_t *idx,
                    uint64_t e0)
{
#ifdef AFC_X86
    if (use_x86()) {
        assign_x86(keys, n, tkey, idx, e0);
        return;
    }
#endif
    assign_portable(keys, n, tkey, idx, e0);
}

size_t af_f32_to_f16_keys(const float *x, uint16_t *keys, size_t n)
{
#ifdef AFC_X86
    if (use_x86()) return keys_x86(x, keys, n);
#endif
    return keys_portable(x, keys, n);
}
