/* runtime/kernels/simd512.h — AVX-512F helpers shared by the packed GEMM and the depthwise
 * loop: the fused bias + activation epilogue on 16 lanes (identity, relu, clip, sigmoid, silu,
 * hard sigmoid, hard swish, leaky relu, GELU).
 * Include only from x86 files; every function carries its own target attribute.
 */
#ifndef AF_RUNTIME_KERNELS_SIMD512_H
#define AF_RUNTIME_KERNELS_SIMD512_H

#include "internal.h"

/* The epilogue of one tile: bias of its first row, AFK_ACT_* and CLIP's bounds. */
typedef struct pg_epi {
    const float *bias; /* bias of the tile's first row, or NULL */
    int act;           /* AFK_ACT_* */
    float lo, hi;
    const float *pf;   /* the packed A panel the GEMM reads next (prefetched), or NULL */
    int pfs;           /* channel-lane tiles: bytes of pf prefetched per k step, times 256 */
    const char *pfb;   /* 14x32 tiles: a share of the next B block, pfbs / 256 bytes per k */
    int pfbs;          /* step, or NULL */
    const float *res;  /* the 14x32 tile's residual (C's layout), added after the activation, */
    int ract;          /* then this short AFK_ACT_* (rlo, rhi its clip bounds); NULL: none */
    float rlo, rhi;
} pg_epi;

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AFK_TGT512 __attribute__((target("avx512f,fma,avx2")))

/* Prefetch (into L1) the lines of [p, p + bytes): what a kernel reads next that a model keeps
 * outside the caches (the op before's output, mostly in L3). A prefetch never faults, so the
 * range may run past the data. */
static inline void afk_prefetch_bytes(const void *p, int64_t bytes)
{
    for (int64_t b = 0; b < bytes; b += 64) _mm_prefetch((const char *)p + b, _MM_HINT_T0);
}

/* Lanes [lo, hi) set, clamped to 0..16 (the lanes of a vector at column c inside [0, W):
 * afk_lane_range(-c, W - c)). */
static inline __mmask16 afk_lane_range(int64_t lo, int64_t hi)
{
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return hi <= lo ? 0 : (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* r[16] (rows of 16) transposed in place: unpacks within 128-bit lanes, then lane shuffles. */
AFK_TGT512 __attribute__((always_inline)) static inline void afk_tr16(__m512 *r)
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* u[4i+j], lane L: column 4L+j of rows 4i..4i+3 */
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int j = 0; j < 4; j++) {
        __m512 e = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
        __m512 f = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
        __m512 g = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        __m512 h = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
        r[j] = _mm512_shuffle_f32x4(e, g, 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(e, g, 0xdd);
        r[4 + j] = _mm512_shuffle_f32x4(f, h, 0x88);
        r[12 + j] = _mm512_shuffle_f32x4(f, h, 0xdd);
    }
}

/* Lanes [s, 16) of a then lanes [0, s) of b, for s in 0..7 (valignd: its shift must be a literal,
 * one per case; with s a constant after inlining the switch folds away). */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 afk_shift_in(__m512 a, __m512 b,
                                                                            int s)
{
    const __m512i x = _mm512_castps_si512(a), y = _mm512_castps_si512(b);
    switch (s) {
    case 1: return _mm512_castsi512_ps(_mm512_alignr_epi32(y, x, 1));
    case 2: return _mm512_castsi512_ps(_mm512_alignr_epi32(y, x, 2));
    case 3: return _mm512_castsi512_ps(_mm512_alignr_epi32(y, x, 3));
    case 4: return _mm512_castsi512_ps(_mm512_alignr_epi32(y, x, 4));
    case 5: return _mm512_castsi512_ps(_mm512_alignr_epi32(y, x, 5));
    case 6: return _mm512_castsi512_ps(_mm512_alignr_epi32(y, x, 6));
    case 7: return _mm512_castsi512_ps(_mm512_alignr_epi32(y, x, 7));
    default: return a;
    }
}

/* Positions [0, n) of 16-lane vectors (position p at src + p * ps floats, 64-byte aligned)
 * -> lanes c < nc as planes: dst[c * ld + p] (the channels-in-lanes kernels' output). */
AFK_TGT512 static inline void afk_lanes_to_planes(const float *src, int64_t ps, int64_t n,
                                                  int64_t nc, float *dst, int64_t ld)
{
    for (int64_t p0 = 0; p0 < n; p0 += 16) {
        const int64_t k = n - p0 < 16 ? n - p0 : 16;
        const __mmask16 m = (__mmask16)((1u << k) - 1);
        __m512 r[16];
        for (int64_t i = 0; i < 16; i++)
            r[i] = i < k ? _mm512_load_ps(src + (p0 + i) * ps) : _mm512_setzero_ps();
        afk_tr16(r);
        for (int64_t c = 0; c < nc; c++) _mm512_mask_storeu_ps(dst + c * ld + p0, m, r[c]);
    }
}

/* e^x for x <= 0 (or NaN), 16 lanes: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an
 * exact n ln2), e^r by a degree-5 polynomial fitted for relative error on [-ln2/2, ln2/2]
 * (7.5e-8 in exact arithmetic, 2.1e-7 with float Horner steps, measured over 2e5 points), times
 * 2^n by scalef (denormals / 0 at the far left). NaN stays NaN (max returns its 2nd operand). */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 expneg16(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    /* n = round(x log2 e): adding 1.5 * 2^23 leaves the integer part (|x log2 e| < 2^22) */
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic),
                             magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0.0082976548f), r, _mm512_set1_ps(0.0419153832f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.166675746f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.499988943f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.999999702f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.00000012f));
    return _mm512_scalef_ps(p, n);
}

/* sigmoid(v) as the reference computes it: e = e^-|v|; 1/(1+e) for v >= 0, e/(1+e) below.
 * -|v| is v with its sign bit set (one integer or). */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 sigmoid16(__m512 v)
{
    __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    __m512 e = expneg16(_mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), sign)));
    __m512 one = _mm512_set1_ps(1.0f), den = _mm512_add_ps(one, e);
    __m512 r = _mm512_rcp14_ps(den); /* 2^-14, then one Newton step: ~2^-27 relative */
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(den, r, _mm512_set1_ps(2.0f)));
    return _mm512_mask_mul_ps(r, neg, r, e); /* e/(1+e) where v < 0 */
}

/* erf(x), 16 lanes, as vec.c's erf8 (Abramowitz & Stegun 7.1.26: erf|x| = 1 - t·P(t)·e^{-x²},
 * t = 1/(1 + 0.3275911|x|), P of degree 4; 1.5e-7 in exact arithmetic), e^{-x²} by expneg16;
 * the sign put back, NaN stays NaN. */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 erf16(__m512 x)
{
    const __m512i sgn = _mm512_set1_epi32((int)0x80000000u);
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512i xi = _mm512_castps_si512(x);
    __m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(sgn, xi));
    __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, one));
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.061405429f), t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    __m512 e = expneg16(_mm512_mul_ps(_mm512_castsi512_ps(_mm512_or_si512(
                                          _mm512_castps_si512(ax), sgn)), ax)); /* e^{-x²} */
    __m512 y = _mm512_fnmadd_ps(_mm512_mul_ps(p, t), e, one);
    return _mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(y), _mm512_and_si512(xi, sgn)));
}

/* GELU, erf form: 0.5 v (1 + erf(v/√2)), as vec.c's erf_avx2 computes it. */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 gelu16(__m512 v)
{
    __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v),
                         _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/* Hard sigmoid max(0, min(1, lo*v + hi)), hard swish v * max(0, min(1, v/6 + 1/2)) or leaky
 * relu (v < 0 ? lo*v : v) with the reference's operations (no FMA, a true division), so its
 * bits: min(t, 1) gives 1 for a NaN t as fminf(1, t) does. */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 piecewise16(__m512 v,
                                                                           const pg_epi *e)
{
    const __m512 z = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    if (e->act == AFK_ACT_LEAKY)
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, z, _CMP_LT_OQ), v,
                                  _mm512_set1_ps(e->lo));
    __m512 t = e->act == AFK_ACT_HSIGMOID
                   ? _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(e->lo), v), _mm512_set1_ps(e->hi))
                   : _mm512_add_ps(_mm512_div_ps(v, _mm512_set1_ps(6.0f)), _mm512_set1_ps(0.5f));
    t = _mm512_max_ps(_mm512_min_ps(t, one), z);
    return e->act == AFK_ACT_HSIGMOID ? t : _mm512_mul_ps(v, t);
}

/* 1 for the activations computed by a polynomial (sigmoid, SiLU, GELU): tens of instructions. */
static inline int afk_act_long(int act)
{
    return act == AFK_ACT_SIGMOID || act == AFK_ACT_SILU || act == AFK_ACT_GELU;
}

/* The activations of a few instructions (identity, relu, clip, hard sigmoid / swish, leaky
 * relu), always inlined: kernels call this with a tile of accumulators live in registers, and
 * a call would spill them all (no zmm register survives a call). Long ones: v unchanged. */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 act_short512(__m512 v,
                                                                            const pg_epi *e)
{
    if (e->act == AFK_ACT_RELU) v = _mm512_max_ps(_mm512_setzero_ps(), v); /* 0 > v ? 0 : v */
    else if (e->act == AFK_ACT_CLIP)
        v = _mm512_max_ps(_mm512_set1_ps(e->lo), _mm512_min_ps(_mm512_set1_ps(e->hi), v));
    else if (e->act >= AFK_ACT_HSIGMOID && e->act <= AFK_ACT_LEAKY) v = piecewise16(v, e);
    return v;
}

/* The activation of e on 16 lanes (after any bias), everything inlined: for loops over a
 * stored tile or row (a kernel with accumulators live takes act_short512, then such a loop). */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 act_full512(__m512 v,
                                                                           const pg_epi *e)
{
    if (e->act == AFK_ACT_SIGMOID) return sigmoid16(v);
    if (e->act == AFK_ACT_SILU) return _mm512_mul_ps(v, sigmoid16(v));
    if (e->act == AFK_ACT_GELU) return gelu16(v);
    return act_short512(v, e);
}

/* Row i of a tile: + bias[i], then a short activation (a long one is left to a pass over the
 * stored tile: act_full512). */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 epi_short512(__m512 v,
                                                                            const pg_epi *e, int i)
{
    if (e->bias) v = _mm512_add_ps(v, _mm512_set1_ps(e->bias[i]));
    return act_short512(v, e);
}

/* v + the residual r (lanes m read), then e's residual activation: a conv's fused Add (and
 * ReLU), as conv.c's conv_residual computes it. */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 res_add512(__m512 v,
                                                                          const pg_epi *e,
                                                                          const float *r,
                                                                          __mmask16 m)
{
    const pg_epi ra = {.bias = NULL, .act = e->ract, .lo = e->rlo, .hi = e->rhi};
    return act_short512(_mm512_add_ps(v, _mm512_maskz_loadu_ps(m, r)), &ra);
}

/* Row i of a tile: + bias[i], then the activation, every one inlined (act_full512). */
AFK_TGT512 __attribute__((always_inline)) static inline __m512 epi_full512(__m512 v,
                                                                           const pg_epi *e, int i)
{
    if (e->bias) v = _mm512_add_ps(v, _mm512_set1_ps(e->bias[i]));
    return act_full512(v, e);
}

#endif
#endif
