/* runtime/kernels/simd512.h — AVX-512F helpers shared by the packed GEMM and the depthwise
 * loop: the fused bias + activation epilogue on 16 lanes (identity, relu, clip, sigmoid, silu).
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
} pg_epi;

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AFK_TGT512 __attribute__((target("avx512f,fma,avx2")))


/* e^x, 16 lanes: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact n ln2),
 * e^r by its degree-7 Taylor polynomial (truncation < 1e-8 relative), times 2^n by scalef
 * (which gives inf / denormals / 0 at the ends). NaN stays NaN (the clamps keep it). */
AFK_TGT512 static inline __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    static const float c[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f,
                               1.0f, 1.0f};
    __m512 p = _mm512_set1_ps(c[0]);
    for (int i = 1; i < 8; i++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c[i]));
    return _mm512_scalef_ps(p, n);
}

/* sigmoid(v) as the reference computes it: e = e^-|v|; 1/(1+e) for v >= 0, e/(1+e) below. */
AFK_TGT512 static inline __m512 sigmoid16(__m512 v)
{
    __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 e = exp16(_mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_setzero_ps(), v), v));
    __m512 one = _mm512_set1_ps(1.0f), den = _mm512_add_ps(one, e);
    __m512 r = _mm512_rcp14_ps(den); /* 2^-14, then one Newton step: ~2^-27 relative */
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(den, r, _mm512_set1_ps(2.0f)));
    return _mm512_mul_ps(_mm512_mask_blend_ps(neg, one, e), r);
}

AFK_TGT512 static inline __m512 epi512(__m512 v, const pg_epi *e, int i)
{
    if (e->bias) v = _mm512_add_ps(v, _mm512_set1_ps(e->bias[i]));
    if (e->act == AFK_ACT_RELU) v = _mm512_max_ps(_mm512_setzero_ps(), v); /* 0 > v ? 0 : v */
    else if (e->act == AFK_ACT_CLIP)
        v = _mm512_max_ps(_mm512_set1_ps(e->lo), _mm512_min_ps(_mm512_set1_ps(e->hi), v));
    else if (e->act == AFK_ACT_SIGMOID) v = sigmoid16(v);
    else if (e->act == AFK_ACT_SILU) v = _mm512_mul_ps(v, sigmoid16(v));
    return v;
}

#endif
#endif
