/* runtime/kernels/resize_neon.c — resize.c's plane rows on AArch64 Advanced SIMD:
 *
 *   nearest 2x  dst[i] = src[i / 2] for 4-byte elements, 4 source elements widened to 8 by
 *               ZIP1/ZIP2 of the vector with itself (a copy: the bits of any 4-byte dtype)
 *   linear      4 output columns per vector: the taps' weights and the corners' source values
 *               read lane by lane (LD1 lane), then the reference's products and sums in its
 *               order, from 0 (built with -ffp-contract=off, as resize.c: the same bits)
 */
#include "neon.h"

#if defined(AFK_NEON)
#include <arm_neon.h>

void afk_neon_dup2_u32(const uint32_t *src, int64_t n, uint32_t *dst)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) { /* reads src[i/2 .. i/2 + 3]: all below (n + 1) / 2 */
        uint32x4_t v = vld1q_u32(src + i / 2);
        vst1q_u32(dst + i, vzip1q_u32(v, v)), vst1q_u32(dst + i + 4, vzip2q_u32(v, v));
    }
    for (; i < n; i++) dst[i] = src[i / 2];
}

/* r[t[0].o], r[t[1].o], r[t[2].o], r[t[3].o] for o = o0 (hi 0) or o1 (hi 1) */
static inline float32x4_t corner4(const float *r, const afk_rtap *t, int hi)
{
    float32x4_t v = vld1q_dup_f32(r + (hi ? t[0].o1 : t[0].o0));
    v = vld1q_lane_f32(r + (hi ? t[1].o1 : t[1].o0), v, 1);
    v = vld1q_lane_f32(r + (hi ? t[2].o1 : t[2].o0), v, 2);
    return vld1q_lane_f32(r + (hi ? t[3].o1 : t[3].o0), v, 3);
}

int64_t afk_neon_lin_row(const float *r0, const float *r1, float a0, float a1, int lh, int lw,
                         const afk_rtap *tw, int64_t n, float *y)
{
    const float32x4_t va0 = vdupq_n_f32(a0), va1 = vdupq_n_f32(a1), one = vdupq_n_f32(1.0f);
    int64_t ow = 0;
    for (; ow + 4 <= n; ow += 4) {
        const afk_rtap *t = tw + ow;
        float32x4_t w = vld1q_dup_f32(&t[0].w), acc = vdupq_n_f32(0.0f);
        w = vld1q_lane_f32(&t[1].w, w, 1), w = vld1q_lane_f32(&t[2].w, w, 2);
        w = vld1q_lane_f32(&t[3].w, w, 3);
        const float32x4_t omw = vsubq_f32(one, w);
        if (lh && lw) { /* corners 00, 10 (H), 01 (W), 11 */
            acc = vaddq_f32(acc, vmulq_f32(vmulq_f32(va0, omw), corner4(r0, t, 0)));
            acc = vaddq_f32(acc, vmulq_f32(vmulq_f32(va1, omw), corner4(r1, t, 0)));
            acc = vaddq_f32(acc, vmulq_f32(vmulq_f32(va0, w), corner4(r0, t, 1)));
            acc = vaddq_f32(acc, vmulq_f32(vmulq_f32(va1, w), corner4(r1, t, 1)));
        } else if (lh) {
            acc = vaddq_f32(acc, vmulq_f32(va0, corner4(r0, t, 0)));
            acc = vaddq_f32(acc, vmulq_f32(va1, corner4(r1, t, 0)));
        } else { /* 1.0f * (1 - w) and 1.0f * w are exact */
            acc = vaddq_f32(acc, vmulq_f32(omw, corner4(r0, t, 0)));
            acc = vaddq_f32(acc, vmulq_f32(w, corner4(r0, t, 1)));
        }
        vst1q_f32(y + ow, acc);
    }
    return ow;
}

#endif
