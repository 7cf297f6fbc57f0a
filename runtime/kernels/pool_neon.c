/* runtime/kernels/pool_neon.c — pool.c's 2-D max / average pooling rows and global pooling on
 * AArch64 Advanced SIMD, with the portable loops' bits:
 *
 *   max     4 output columns per vector, each lane folding its window in the reference's
 *           order (window rows, then columns) as best = v > best ? v : best from -inf (a
 *           compare and a select: NaN skipped, the first of equal values such as -0 and +0
 *           kept)
 *   avg     the same walk adding from 0 (each output's terms in the reference's order), then
 *           one division by the same count
 *   global  max: 4 lanes, then the lanes' maximum (never NaN); the reference keeps the first
 *           element equal to the maximum, which has the maximum's bits unless it is zero, so a
 *           zero maximum is taken from the first zero in x. avg: the sum in doubles, 8 lanes
 *           (four 2-lane accumulators) then a fixed order: within n·2^-53·Σ|x| of the portable
 *           sum, not its bits (nor the AVX-512 path's).
 *
 * Strides 1-4 read 4 outputs' columns with one LD1/LD2/LD3/LD4 where the structure load stays
 * inside the row (it reads 4·s floats); elsewhere, and for larger strides, lane by lane.
 */
#include "neon.h"

#if defined(AFK_NEON)
#include <arm_neon.h>
#include <math.h>

/* p[0], p[s], p[2s], p[3s]; wide: p[0 .. 4s) may be read */
static inline float32x4_t load4(const float *p, int64_t s, int wide)
{
    switch (wide ? s : 0) {
    case 1: return vld1q_f32(p);
    case 2: return vld2q_f32(p).val[0];
    case 3: return vld3q_f32(p).val[0];
    case 4: return vld4q_f32(p).val[0];
    default: {
        float32x4_t v = vld1q_dup_f32(p);
        v = vld1q_lane_f32(p + s, v, 1);
        v = vld1q_lane_f32(p + 2 * s, v, 2);
        return vld1q_lane_f32(p + 3 * s, v, 3);
    }
    }
}

/* Window of output ow, one row r: columns ow*s - pb + kw*d, kw = 0..KW-1. */
static inline float fold1(int avg, const float *const *rows, int nr, int64_t ow, int64_t s,
                          int64_t d, int64_t KW, int64_t pb)
{
    float acc = avg ? 0.0f : -INFINITY;
    for (int r = 0; r < nr; r++) {
        const float *p = rows[r] + ow * s - pb;
        for (int64_t kw = 0; kw < KW; kw++) {
            float v = p[kw * d];
            acc = avg ? acc + v : (v > acc ? v : acc);
        }
    }
    return acc;
}

void afk_neon_pool_row(int avg, const float *const *rows, int nr, int64_t o0, int64_t o1,
                       int64_t s, int64_t d, int64_t KW, int64_t pb, int64_t W, int64_t div,
                       float *y)
{
    const float32x4_t vdiv = vdupq_n_f32((float)div);
    int64_t ow = o0;
    for (; ow + 4 <= o1; ow += 4) {
        int wide = s == 1 || ow * s - pb + (KW - 1) * d + 4 * s <= W;
        float32x4_t acc = vdupq_n_f32(avg ? 0.0f : -INFINITY);
        for (int r = 0; r < nr; r++) {
            const float *p = rows[r] + ow * s - pb;
            for (int64_t kw = 0; kw < KW; kw++, p += d) {
                float32x4_t v = load4(p, s, wide);
                acc = avg ? vaddq_f32(acc, v) : vbslq_f32(vcgtq_f32(v, acc), v, acc);
            }
        }
        if (avg) acc = div > 0 ? vdivq_f32(acc, vdiv) : vdupq_n_f32(0.0f);
        vst1q_f32(y + ow, acc);
    }
    for (; ow < o1; ow++) {
        float v = fold1(avg, rows, nr, ow, s, d, KW, pb);
        y[ow] = !avg ? v : div > 0 ? v / (float)div : 0.0f;
    }
}

float afk_neon_max_f32(const float *x, int64_t n)
{
    float32x4_t b0 = vdupq_n_f32(-INFINITY), b1 = b0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t v = vld1q_f32(x + i), w = vld1q_f32(x + i + 4);
        b0 = vbslq_f32(vcgtq_f32(v, b0), v, b0), b1 = vbslq_f32(vcgtq_f32(w, b1), w, b1);
    }
    float best = vmaxvq_f32(vmaxq_f32(b0, b1)); /* lanes hold no NaN */
    for (; i < n; i++) best = x[i] > best ? x[i] : best;
    if (best == 0.0f) /* +0 or -0: the first zero, as the reference keeps it */
        for (i = 0; i < n; i++)
            if (x[i] == 0.0f) return x[i];
    return best;
}

double afk_neon_sum_f64(const float *x, int64_t n)
{
    float64x2_t a0 = vdupq_n_f64(0.0), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t v = vld1q_f32(x + i), w = vld1q_f32(x + i + 4);
        a0 = vaddq_f64(a0, vcvt_f64_f32(vget_low_f32(v)));
        a1 = vaddq_f64(a1, vcvt_high_f64_f32(v));
        a2 = vaddq_f64(a2, vcvt_f64_f32(vget_low_f32(w)));
        a3 = vaddq_f64(a3, vcvt_high_f64_f32(w));
    }
    double sum = vaddvq_f64(vaddq_f64(vaddq_f64(a0, a1), vaddq_f64(a2, a3)));
    for (; i < n; i++) sum += x[i];
    return sum;
}

#endif
