/* runtime/kernels/sgemm_neon.c — the packed GEMM's micro-kernel for AArch64 Advanced SIMD.
 *
 *   c (mr, nr) (=|+=) a (kc, mr) @ b (kc, 8), mr <= 12, nr <= 8
 *
 * sgemm_packed.c owns the loops, the packing and the layout (A panels [k*mr + i], B panels
 * [k*8 + j]); this file is only the register tile: 12 rows x 8 columns = 24 accumulators of 4
 * lanes, 2 B vectors and 3 A vectors per k step (29 of the 32 vector registers), one FMA by
 * lane (FMLA v.4s, v.4s, v.s[i]) per 4 products. The summation order of an element is k in
 * order, one FMA per product, as in the x86 kernels, so threads never change the bits.
 * At the last k block: + bias[i], then relu/clip (selects, the reference's comparisons) or
 * sigmoid/silu (neon_math.h) in registers, then the store (partial at the N edge).
 */
#include "neon.h"

#if defined(AFK_NEON)
#include <string.h>

#include "neon_math.h"

/* Row i of C (nr <= 8 floats) into two vectors, zeros past nr. */
static inline void load_row(const float *c, int nr, float32x4_t *lo, float32x4_t *hi)
{
    if (nr == 8) {
        *lo = vld1q_f32(c), *hi = vld1q_f32(c + 4);
        return;
    }
    float t[8] = {0};
    memcpy(t, c, (size_t)nr * sizeof *c);
    *lo = vld1q_f32(t), *hi = vld1q_f32(t + 4);
}

static inline void store_row(float *c, int nr, float32x4_t lo, float32x4_t hi)
{
    if (nr == 8) {
        vst1q_f32(c, lo), vst1q_f32(c + 4, hi);
        return;
    }
    float t[8];
    vst1q_f32(t, lo), vst1q_f32(t + 4, hi);
    memcpy(c, t, (size_t)nr * sizeof *c);
}

/* x[i] += a[i] * b0, y[i] += a[i] * b1 for i < mr: lane FMAs from three A vectors when the
 * panel is full (12 floats a step, never read past it), broadcasts otherwise. */
__attribute__((always_inline)) static inline void
step(const int mr, const float *a, float32x4_t b0, float32x4_t b1, float32x4_t *x,
     float32x4_t *y)
{
    if (mr == AFK_NEON_MR) {
        const float32x4_t av[3] = {vld1q_f32(a), vld1q_f32(a + 4), vld1q_f32(a + 8)};
#define LANE(i)                                                                                \
    x[i] = vfmaq_laneq_f32(x[i], b0, av[(i) / 4], (i) % 4);                                   \
    y[i] = vfmaq_laneq_f32(y[i], b1, av[(i) / 4], (i) % 4);
        LANE(0) LANE(1) LANE(2) LANE(3) LANE(4) LANE(5) LANE(6) LANE(7) LANE(8) LANE(9)
        LANE(10) LANE(11)
#undef LANE
        return;
    }
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        x[i] = vfmaq_n_f32(x[i], b0, a[i]);
        y[i] = vfmaq_n_f32(y[i], b1, a[i]);
    }
}

__attribute__((always_inline)) static inline void
ukr(const int mr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int nr,
    int mode, const pg_epi *e)
{
    float32x4_t x[AFK_NEON_MR], y[AFK_NEON_MR];
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        if (mode & 1) load_row(c + i * ldc, nr, &x[i], &y[i]);
        else x[i] = y[i] = vdupq_n_f32(0.0f);
    }
    for (int64_t k = 0; k < kc; k++, a += mr, b += AFK_NEON_NR)
        step(mr, a, vld1q_f32(b), vld1q_f32(b + 4), x, y);
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        if (mode & 2) {
            if (e->bias) {
                const float32x4_t bi = vdupq_n_f32(e->bias[i]);
                x[i] = vaddq_f32(x[i], bi), y[i] = vaddq_f32(y[i], bi);
            }
            x[i] = afn_act(x[i], e->act, e->lo, e->hi);
            y[i] = afn_act(y[i], e->act, e->lo, e->hi);
        }
        store_row(c + i * ldc, nr, x[i], y[i]);
    }
}

#define UKR(R)                                                                                 \
    void afk_neon_ukr_##R(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,   \
                          int nr, int mode, const pg_epi *e)                                   \
    {                                                                                          \
        ukr(R, kc, a, b, c, ldc, nr, mode, e);                                                 \
    }
UKR(1) UKR(2) UKR(3) UKR(4) UKR(5) UKR(6) UKR(7) UKR(8) UKR(9) UKR(10) UKR(11) UKR(12)
#undef UKR

#endif
