/* runtime/kernels/norm_neon.c — groupnorm.c's loops (instance, group and layer norm) on AArch64
 * Advanced SIMD, with the portable loops' bits:
 *
 *   lane sums      s[l] += x[i] for i % 16 == l: the 16 lanes are four vectors, each lane
 *                  still adds its elements in order
 *   squared devs   s[l] += (x[i] - mean) * (x[i] - mean): subtract, multiply, add
 *   affine         y = x * k + c (group / instance norm), y = ((x - mean) * rstd) * scale
 *                  + bias (layer norm; scale and bias optional): multiply and add apart
 *
 * Built with -ffp-contract=off (CMakeLists.txt) like groupnorm.c: no multiply and add fuse
 * into one rounding, so every element is rounded as in the scalar loop
 * (tests/unit/test_neon.c compares the bits).
 */
#include "neon.h"

#if defined(AFK_NEON)
#include <arm_neon.h>

int64_t afk_neon_lane_sums16(const float *x, int64_t n, float *s)
{
    float32x4_t a0 = vld1q_f32(s), a1 = vld1q_f32(s + 4), a2 = vld1q_f32(s + 8),
                a3 = vld1q_f32(s + 12);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vaddq_f32(a0, vld1q_f32(x + i)), a1 = vaddq_f32(a1, vld1q_f32(x + i + 4));
        a2 = vaddq_f32(a2, vld1q_f32(x + i + 8)), a3 = vaddq_f32(a3, vld1q_f32(x + i + 12));
    }
    vst1q_f32(s, a0), vst1q_f32(s + 4, a1), vst1q_f32(s + 8, a2), vst1q_f32(s + 12, a3);
    return i;
}

static inline float32x4_t sqdev(float32x4_t acc, const float *x, float32x4_t m)
{
    float32x4_t d = vsubq_f32(vld1q_f32(x), m);
    return vaddq_f32(acc, vmulq_f32(d, d));
}

int64_t afk_neon_lane_sqdev16(const float *x, int64_t n, float mean, float *s)
{
    const float32x4_t m = vdupq_n_f32(mean);
    float32x4_t a0 = vld1q_f32(s), a1 = vld1q_f32(s + 4), a2 = vld1q_f32(s + 8),
                a3 = vld1q_f32(s + 12);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = sqdev(a0, x + i, m), a1 = sqdev(a1, x + i + 4, m);
        a2 = sqdev(a2, x + i + 8, m), a3 = sqdev(a3, x + i + 12, m);
    }
    vst1q_f32(s, a0), vst1q_f32(s + 4, a1), vst1q_f32(s + 8, a2), vst1q_f32(s + 12, a3);
    return i;
}

int64_t afk_neon_scale_shift(const float *x, float *y, int64_t n, float k, float c)
{
    const float32x4_t vk = vdupq_n_f32(k), vc = vdupq_n_f32(c);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(y + i, vaddq_f32(vmulq_f32(vld1q_f32(x + i), vk), vc));
        vst1q_f32(y + i + 4, vaddq_f32(vmulq_f32(vld1q_f32(x + i + 4), vk), vc));
    }
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vmulq_f32(vld1q_f32(x + i), vk), vc));
    return i;
}

int64_t afk_neon_ln_row(const float *x, float *y, int64_t n, float mean, float rstd,
                        const float *scale, const float *bias)
{
    const float32x4_t vm = vdupq_n_f32(mean), vr = vdupq_n_f32(rstd);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vmulq_f32(vsubq_f32(vld1q_f32(x + i), vm), vr);
        if (scale) v = vmulq_f32(v, vld1q_f32(scale + i));
        if (bias) v = vaddq_f32(v, vld1q_f32(bias + i));
        vst1q_f32(y + i, v);
    }
    return i;
}

#endif
