/* runtime/kernels/im2col_neon.c — the conv's implicit im2col (conv.c, pack_b_conv) writing the
 * NEON GEMM's 8-wide B panels: one run of consecutive output positions of one packed row,
 * copied from an input row at stride 1 (LD1), 2 (LD2, even lanes) or any other (lane by
 * lane), or zeroed. A copy: the same floats as the portable packer by construction.
 */
#include "neon.h"

#if defined(AFK_NEON)
#include <arm_neon.h>

/* 8 floats src[0], src[s], ..., src[7s]; reads nothing past src[7s]. */
static inline void lanes8(const float *src, int64_t s, float *dst)
{
    if (s == 1) {
        vst1q_f32(dst, vld1q_f32(src));
        vst1q_f32(dst + 4, vld1q_f32(src + 4));
    } else if (s == 2) { /* src[0..7] even lanes, then src[7..14] odd lanes (src[8..14] even) */
        vst1q_f32(dst, vld2q_f32(src).val[0]);
        vst1q_f32(dst + 4, vld2q_f32(src + 7).val[1]);
    } else {
        for (int i = 0; i < 8; i++) dst[i] = src[i * s];
    }
}

// positions [r, r+len) of a packed row (8-wide panels pstride floats apart from d) =
// src[0], src[s], ... (src NULL: zeros)
void afk_neon_put_run8(float *d, int64_t pstride, int64_t r, int64_t len, const float *src,
                       int64_t s)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    while (len > 0) {
        const int64_t o = r & 7, n = 8 - o < len ? 8 - o : len;
        float *dst = d + (r >> 3) * pstride + o;
        if (n == 8 && !src) {
            vst1q_f32(dst, z);
            vst1q_f32(dst + 4, z);
        } else if (n == 8) {
            lanes8(src, s, dst);
        } else {
            for (int64_t i = 0; i < n; i++) dst[i] = src ? src[i * s] : 0.0f;
        }
        if (src) src += n * s;
        r += n, len -= n;
    }
}

#endif
