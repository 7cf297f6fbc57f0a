/* runtime/kernels/vec_neon.c — vec.c's loops on AArch64 Advanced SIMD, 4 lanes (8 per step):
 * bias + activation epilogues, residual adds, same-shape / scalar-operand binary rows, the
 * transcendental activations and IEEE half <-> float conversion.
 *
 * Add/sub/mul and the compare-selects are exact per element without FMA contraction, so those
 * loops give the scalar reference's bits (tests/unit/test_neon.c checks it); sigmoid/silu/erf/
 * gelu use neon_math.h's polynomials (bounded there), halves convert with FCVTL/FCVTN.
 */
#include "neon.h"

#if defined(AFK_NEON)
#include "neon_math.h"

#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif

int afk_neon_on(void)
{
    static int have = -1; /* a benign race: every thread computes the same value */
#if defined(__linux__)
    if (have < 0) have = (getauxval(AT_HWCAP) & HWCAP_ASIMD) ? 1 : 0;
#else
    have = 1; /* Apple: always present */
#endif
    return have && !afk_vec_force_portable;
}

/* v after bias: relu / clip with the reference's comparisons, else as is */
static inline float32x4_t cheap_act(float32x4_t v, int kind, float32x4_t lo, float32x4_t hi)
{
    if (kind == AFK_ACT_RELU) return afn_relu(v);
    if (kind == AFK_ACT_CLIP) return afn_clip(v, lo, hi);
    return v;
}

void afk_neon_bias_act(float *x, int64_t n, float bias, int kind, float lo, float hi)
{
    const float32x4_t vb = vdupq_n_f32(bias), vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t a = vaddq_f32(vld1q_f32(x + i), vb), b = vaddq_f32(vld1q_f32(x + i + 4), vb);
        vst1q_f32(x + i, cheap_act(a, kind, vlo, vhi));
        vst1q_f32(x + i + 4, cheap_act(b, kind, vlo, vhi));
    }
    for (; i < n; i++) x[i] = afk_act1(x[i] + bias, kind, lo, hi);
}

void afk_neon_add_act(float *x, const float *r, int64_t n, int kind, float lo, float hi)
{
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, cheap_act(vaddq_f32(vld1q_f32(x + i), vld1q_f32(r + i)), kind, vlo, vhi));
    for (; i < n; i++) x[i] = afk_act1(x[i] + r[i], kind, lo, hi);
}

/* x > y ? x : y and x < y ? x : y as selects: NaN and -0 as the scalar reference gives them */
static inline float32x4_t bin4(int fn, float32x4_t x, float32x4_t y)
{
    switch (fn) {
    case AF_BINARY_ADD: return vaddq_f32(x, y);
    case AF_BINARY_SUB: return vsubq_f32(x, y);
    case AF_BINARY_MUL: return vmulq_f32(x, y);
    case AF_BINARY_MAX: return vbslq_f32(vcgtq_f32(x, y), x, y);
    default: return vbslq_f32(vcltq_f32(x, y), x, y);
    }
}

void afk_neon_binary(int fn, const float *a, const float *b, int b_scalar, float *o, int64_t n)
{
    int64_t i = 0;
    if (b_scalar) {
        const float32x4_t vb = vdupq_n_f32(b[0]);
        for (; i + 4 <= n; i += 4) vst1q_f32(o + i, bin4(fn, vld1q_f32(a + i), vb));
    } else {
        for (; i + 4 <= n; i += 4)
            vst1q_f32(o + i, bin4(fn, vld1q_f32(a + i), vld1q_f32(b + i)));
    }
    for (; i < n; i++) o[i] = afk_bin1(fn, a[i], b_scalar ? b[0] : b[i]);
}

void afk_neon_binary_sa(int fn, float a, const float *b, float *o, int64_t n)
{
    const float32x4_t va = vdupq_n_f32(a);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(o + i, bin4(fn, va, vld1q_f32(b + i)));
    for (; i < n; i++) o[i] = afk_bin1(fn, a, b[i]);
}

/* The tail (n % 4 values) through one padded vector: the same function as the body. */
#define TAIL(x, n, i, F)                                                                       \
    if (i < n) {                                                                               \
        float t_[4] = {0};                                                                     \
        for (int64_t k_ = i; k_ < n; k_++) t_[k_ - i] = x[k_];                                 \
        float32x4_t v = vld1q_f32(t_);                                                         \
        vst1q_f32(t_, F);                                                                      \
        for (int64_t k_ = i; k_ < n; k_++) x[k_] = t_[k_ - i];                                 \
    }

void afk_neon_sigmoid(float *x, int64_t n, int silu)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i), s = afn_sigmoid(v);
        vst1q_f32(x + i, silu ? vmulq_f32(v, s) : s);
    }
    TAIL(x, n, i, silu ? vmulq_f32(v, afn_sigmoid(v)) : afn_sigmoid(v))
}

/* gelu (erf form): 0.5 x (1 + erf(x / sqrt 2)) */
static inline float32x4_t gelu4(float32x4_t v)
{
    float32x4_t e = afn_erf(vmulq_f32(v, vdupq_n_f32(0.70710678118654752f)));
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), v), vaddq_f32(vdupq_n_f32(1.0f), e));
}

void afk_neon_erf(float *x, int64_t n, int gelu)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        vst1q_f32(x + i, gelu ? gelu4(v) : afn_erf(v));
    }
    TAIL(x, n, i, gelu ? gelu4(v) : afn_erf(v))
}

void afk_neon_act(float *x, int64_t n, int act, float lo, float hi)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, afn_act(vld1q_f32(x + i), act, lo, hi));
    TAIL(x, n, i, afn_act(v, act, lo, hi))
}
#undef TAIL

void afk_neon_f16_to_f32(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(src + i));
        vst1q_f32(dst + i, vcvt_f32_f16(vget_low_f16(h)));
        vst1q_f32(dst + i + 4, vcvt_high_f32_f16(h));
    }
    for (; i < n; i++) dst[i] = af_f16_to_f32(src[i]);
}

void afk_neon_f32_to_f16(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x4_t lo = vcvt_f16_f32(vld1q_f32(src + i));
        float16x8_t h = vcvt_high_f16_f32(lo, vld1q_f32(src + i + 4));
        vst1q_u16(dst + i, vreinterpretq_u16_f16(h));
    }
    for (; i < n; i++) dst[i] = af_f32_to_f16(src[i]);
}

#endif
