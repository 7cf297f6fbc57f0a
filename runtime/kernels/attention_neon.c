/* runtime/kernels/attention_neon.c — the fused attention kernel's online softmax on AArch64
 * Advanced SIMD (attention.c runs the rest: packing, the two packed GEMMs on the 12x8 NEON
 * micro-kernel, the output transpose).
 *
 * Per key block and per 8 query columns (two 4-lane vectors), exactly the x86 kernel's steps:
 *   m' = max(m, column max of Sᵀ)          two max chains per vector (even / odd keys)
 *   f  = m' == m ? 1 : e^(m − m')
 *   P  = e^(Sᵀ − m')  into the B panels    two sum chains per vector, added at the end
 *   l  = l·f + Σ P                         one FMA
 * e^x is afn_expneg (neon_math.h): the x86 kernel's expneg8 lane for lane, relative error
 * below 3e-7 on [-87, 0] (tests/unit/test_neon.c checks it). Nothing here depends on the task
 * split or the thread count.
 */
#include "neon.h"

#if defined(AFK_NEON)
#include "neon_math.h"

/* Column max of 8 query columns over kb keys (s: kb rows, ld apart) and the running max m:
 * two chains per vector, combined at the end. NaN scores propagate (FMAX). */
static inline void col_max8(const float *s, int64_t ld, int64_t kb, float32x4_t *mx0,
                            float32x4_t *mx1)
{
    float32x4_t a0 = *mx0, a1 = *mx1, b0 = *mx0, b1 = *mx1;
    int64_t kk = 0;
    for (; kk + 2 <= kb; kk += 2) {
        a0 = vmaxq_f32(a0, vld1q_f32(s + kk * ld)), a1 = vmaxq_f32(a1, vld1q_f32(s + kk * ld + 4));
        b0 = vmaxq_f32(b0, vld1q_f32(s + (kk + 1) * ld));
        b1 = vmaxq_f32(b1, vld1q_f32(s + (kk + 1) * ld + 4));
    }
    if (kk < kb)
        a0 = vmaxq_f32(a0, vld1q_f32(s + kk * ld)), a1 = vmaxq_f32(a1, vld1q_f32(s + kk * ld + 4));
    *mx0 = vmaxq_f32(a0, b0), *mx1 = vmaxq_f32(a1, b1);
}

/* P = e^(s − mx) for 8 columns over kb keys into dst (rows nr apart); returns Σ P per column
 * (even and odd keys in two chains, added at the end). */
static inline void exp_rows8(const float *s, int64_t ld, int64_t kb, float32x4_t mx0,
                             float32x4_t mx1, float *dst, int nr, float32x4_t *sum0,
                             float32x4_t *sum1)
{
    float32x4_t u0 = vdupq_n_f32(0.0f), u1 = u0, w0 = u0, w1 = u0;
    int64_t kk = 0;
    for (; kk + 2 <= kb; kk += 2) {
        float32x4_t p0 = afn_expneg(vsubq_f32(vld1q_f32(s + kk * ld), mx0));
        float32x4_t p1 = afn_expneg(vsubq_f32(vld1q_f32(s + kk * ld + 4), mx1));
        float32x4_t p2 = afn_expneg(vsubq_f32(vld1q_f32(s + (kk + 1) * ld), mx0));
        float32x4_t p3 = afn_expneg(vsubq_f32(vld1q_f32(s + (kk + 1) * ld + 4), mx1));
        vst1q_f32(dst + kk * nr, p0), vst1q_f32(dst + kk * nr + 4, p1);
        vst1q_f32(dst + (kk + 1) * nr, p2), vst1q_f32(dst + (kk + 1) * nr + 4, p3);
        u0 = vaddq_f32(u0, p0), u1 = vaddq_f32(u1, p1);
        w0 = vaddq_f32(w0, p2), w1 = vaddq_f32(w1, p3);
    }
    if (kk < kb) {
        float32x4_t p0 = afn_expneg(vsubq_f32(vld1q_f32(s + kk * ld), mx0));
        float32x4_t p1 = afn_expneg(vsubq_f32(vld1q_f32(s + kk * ld + 4), mx1));
        vst1q_f32(dst + kk * nr, p0), vst1q_f32(dst + kk * nr + 4, p1);
        u0 = vaddq_f32(u0, p0), u1 = vaddq_f32(u1, p1);
    }
    *sum0 = vaddq_f32(u0, w0), *sum1 = vaddq_f32(u1, w1);
}

/* f = m_old == m_new ? 1 : e^(m_old − m_new) */
static inline float32x4_t rescale_factor(float32x4_t mo, float32x4_t mx)
{
    return vbslq_f32(vceqq_f32(mo, mx), vdupq_n_f32(1.0f), afn_expneg(vsubq_f32(mo, mx)));
}

int afk_neon_attn_softmax(const float *s, int64_t ld, int64_t kb, int64_t nw, int nr, float *pp,
                          float *m, float *l, float *f)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    uint32x4_t changed = vdupq_n_u32(0);
    for (int64_t n = 0; n < nw; n += 8) {
        float32x4_t mo0 = vld1q_f32(m + n), mo1 = vld1q_f32(m + n + 4), mx0 = mo0, mx1 = mo1;
        col_max8(s + n, ld, kb, &mx0, &mx1);
        float32x4_t f0 = rescale_factor(mo0, mx0), f1 = rescale_factor(mo1, mx1);
        changed = vorrq_u32(changed, vmvnq_u32(vceqq_f32(f0, one))); /* NaN counts as changed */
        changed = vorrq_u32(changed, vmvnq_u32(vceqq_f32(f1, one)));
        float32x4_t sum0, sum1;
        exp_rows8(s + n, ld, kb, mx0, mx1, pp + n / nr * nr * kb + n % nr, nr, &sum0, &sum1);
        vst1q_f32(l + n, vfmaq_f32(sum0, vld1q_f32(l + n), f0));
        vst1q_f32(l + n + 4, vfmaq_f32(sum1, vld1q_f32(l + n + 4), f1));
        vst1q_f32(m + n, mx0), vst1q_f32(m + n + 4, mx1);
        vst1q_f32(f + n, f0), vst1q_f32(f + n + 4, f1);
    }
    return vmaxvq_u32(changed) != 0;
}

void afk_neon_attn_rescale(float *ot, int64_t ld, int64_t dv, int64_t nw, const float *f)
{
    for (int64_t c = 0; c < dv; c++) {
        float *row = ot + c * ld;
        for (int64_t n = 0; n < nw; n += 4)
            vst1q_f32(row + n, vmulq_f32(vld1q_f32(row + n), vld1q_f32(f + n)));
    }
}

#endif
