/* runtime/kernels/neon_math.h — 4-lane float helpers shared by the NEON kernels: e^x, sigmoid,
 * erf and the fused bias + activation epilogue. Include only under __aarch64__.
 *
 * The methods are vec.c's AVX2 ones lane for lane (the same polynomials, the same reduction), so
 * the error bounds documented there hold; they are not the reference's bits.
 */
#ifndef AF_RUNTIME_KERNELS_NEON_MATH_H
#define AF_RUNTIME_KERNELS_NEON_MATH_H

#include <arm_neon.h>

#include "neon.h"

/* v < lo ? lo : (v > hi ? hi : v) and v < 0 ? 0 : v: the reference's comparisons, selects
 * (NaN and -0 come out as from the scalar loops). */
static inline float32x4_t afn_relu(float32x4_t v)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    return vbslq_f32(vcltq_f32(v, z), z, v);
}

static inline float32x4_t afn_clip(float32x4_t v, float32x4_t lo, float32x4_t hi)
{
    uint32x4_t below = vcltq_f32(v, lo);
    v = vbslq_f32(vcgtq_f32(v, hi), hi, v);
    return vbslq_f32(below, lo, v);
}

/* e^x: x = n ln2 + r, |r| <= ln2/2, e^r by its degree-7 Taylor polynomial, times 2^n applied as
 * two halves (n in [-150, 128]: denormal results exact); x > 88.72 gives +inf like expf. */
static inline float32x4_t afn_exp(float32x4_t x)
{
    uint32x4_t big = vcgtq_f32(x, vdupq_n_f32(88.72f));
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-103.9f)), vdupq_n_f32(88.72f));
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f)); /* ln2 hi */
    r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187e-06f));         /* ln2 lo */
    static const float c[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f,
                               1.0f, 1.0f};
    float32x4_t p = vdupq_n_f32(c[0]);
    for (int i = 1; i < 8; i++) p = vfmaq_f32(vdupq_n_f32(c[i]), p, r);
    int32x4_t ni = vcvtnq_s32_f32(n), h = vshrq_n_s32(ni, 1);
    const int32x4_t bias = vdupq_n_s32(127);
    float32x4_t e1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, bias), 23));
    float32x4_t e2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, h), bias), 23));
    float32x4_t y = vmulq_f32(vmulq_f32(p, e1), e2);
    return vbslq_f32(big, vdupq_n_f32(__builtin_inff()), y);
}

/* e^x for x <= 0 (or NaN), the attention's softmax weights: attention.c's AVX2 expneg8 lane for
 * lane (the same FMAs, so the same bits for the same x). x = n ln2 + r with n = round(x log2e)
 * (by the 1.5·2^23 shift), |r| <= ln2/2 (ln2 in two parts), e^r by a degree-5 polynomial, times
 * 2^n built in the exponent field. x is clamped to -87 (2^n stays normal; the result is then
 * ~1.6e-38 instead of smaller). Relative error below 3e-7 for x in [-87, 0] (test_neon.c
 * measures it against exp over that range); NaN stays NaN. */
static inline float32x4_t afn_expneg(float32x4_t x)
{
    x = vmaxq_f32(vdupq_n_f32(-87.0f), x);
    const float32x4_t magic = vdupq_n_f32(12582912.0f);
    float32x4_t n = vsubq_f32(vfmaq_f32(magic, x, vdupq_n_f32(1.44269504088896341f)), magic);
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f));
    r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187e-06f));
    float32x4_t p = vfmaq_f32(vdupq_n_f32(0.0419153832f), vdupq_n_f32(0.0082976548f), r);
    p = vfmaq_f32(vdupq_n_f32(0.166675746f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.499988943f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.999999702f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.00000012f), p, r);
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

/* As the reference: e = e^-|v|; 1/(1+e) for v >= 0, e/(1+e) below. */
static inline float32x4_t afn_sigmoid(float32x4_t v)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    uint32x4_t neg = vcltq_f32(v, vdupq_n_f32(0.0f));
    float32x4_t e = afn_exp(vnegq_f32(vabsq_f32(v)));
    return vdivq_f32(vbslq_f32(neg, e, one), vaddq_f32(one, e));
}

/* erf(x): Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7 exact, ~5e-7 in float), the sign put
 * back; NaN stays NaN. */
static inline float32x4_t afn_erf(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t ax = vabsq_f32(x);
    float32x4_t t = vdivq_f32(one, vfmaq_f32(one, vdupq_n_f32(0.3275911f), ax));
    float32x4_t p = vfmaq_f32(vdupq_n_f32(-1.453152027f), vdupq_n_f32(1.061405429f), t);
    p = vfmaq_f32(vdupq_n_f32(1.421413741f), p, t);
    p = vfmaq_f32(vdupq_n_f32(-0.284496736f), p, t);
    p = vfmaq_f32(vdupq_n_f32(0.254829592f), p, t);
    float32x4_t e = afn_exp(vmulq_f32(vnegq_f32(ax), ax)); /* e^{-x^2} */
    float32x4_t y = vfmsq_f32(one, vmulq_f32(p, t), e);
    const uint32x4_t sgn = vdupq_n_u32(0x80000000u);
    return vreinterpretq_f32_u32(
        vorrq_u32(vreinterpretq_u32_f32(y), vandq_u32(vreinterpretq_u32_f32(x), sgn)));
}

/* The activation of AFK_ACT_* on 4 lanes. */
static inline float32x4_t afn_act(float32x4_t v, int act, float lo, float hi)
{
    if (act == AFK_ACT_RELU) return afn_relu(v);
    if (act == AFK_ACT_CLIP) return afn_clip(v, vdupq_n_f32(lo), vdupq_n_f32(hi));
    if (act == AFK_ACT_SIGMOID) return afn_sigmoid(v);
    if (act == AFK_ACT_SILU) return vmulq_f32(v, afn_sigmoid(v));
    return v;
}

#endif
