/* runtime/kernels/dw_neon.c — dw_fast.h's direct depthwise conv (3x3 / 5x5, stride 1 / 2) on
 * AArch64 Advanced SIMD.
 *
 *   y (OH, OW) = sum over (kh, kw) of x (H, W)[oh*s - pt + kh, ow*s - pl + kw] * w (k, k)
 *
 * Four output columns per vector: where the four columns' reads all lie inside the row, one
 * load per (kh, kw) (stride 2: LD2 keeps the even lanes); other columns one at a time. Either
 * way each output is the same k*k FMAs from 0 in (kh, kw) order, rows outside the image read the
 * caller's zero row and columns outside it read 0, so the bits do not depend on the tiling (nor
 * on threads). Then bias + act per finished row (afk_neon_bias_act / afk_neon_act).
 */
#include "dw_fast.h"

#include "internal.h"
#include "neon.h"

#if defined(AFK_NEON)
#include <math.h>

#include "neon_math.h"

/* The input rows of output row oh (the zero row outside the image). */
static void rows_of(const afk_dw2d *d, int64_t oh, const float **rows)
{
    for (int kh = 0; kh < d->k; kh++) {
        int64_t ih = oh * d->s - d->pt + kh;
        rows[kh] = ih >= 0 && ih < d->H ? d->x + ih * d->W : d->zero;
    }
}

/* One output column, any position (0 outside the row). */
static float dw_one(const afk_dw2d *d, const float *const *rows, int64_t ow)
{
    float s = 0.0f;
    for (int kh = 0; kh < d->k; kh++)
        for (int kw = 0; kw < d->k; kw++) {
            int64_t iw = ow * d->s - d->pl + kw;
            float v = iw >= 0 && iw < d->W ? rows[kh][iw] : 0.0f;
            s = fmaf(v, d->w[kh * d->k + kw], s);
        }
    return s;
}

/* Four output columns from column c = ow*s - pl of the rows, all reads inside; K, S constant
 * after inlining. */
__attribute__((always_inline)) static inline float32x4_t
dw_four(const float *const *rows, const float *w, int64_t c, const int K, const int S)
{
    float32x4_t acc = vdupq_n_f32(0.0f);
#pragma GCC unroll 5
    for (int kh = 0; kh < K; kh++)
#pragma GCC unroll 5
        for (int kw = 0; kw < K; kw++) {
            const float *p = rows[kh] + c + kw;
            float32x4_t xv = S == 1 ? vld1q_f32(p) : vld2q_f32(p).val[0];
            acc = vfmaq_n_f32(acc, xv, w[kh * K + kw]);
        }
    return acc;
}

/* bias + act on one finished row (act >= 0) */
static void dw_epilogue(const afk_dw2d *d, float *y)
{
    if (d->act < 0) return;
    if (d->act <= AFK_ACT_CLIP) {
        afk_neon_bias_act(y, d->OW, d->bias, d->act, d->lo, d->hi);
        return;
    }
    afk_neon_bias_act(y, d->OW, d->bias, AFK_ACT_NONE, 0.0f, 0.0f);
    afk_neon_act(y, d->OW, d->act, d->lo, d->hi);
}

__attribute__((always_inline)) static inline void dw_plane(const afk_dw2d *d, const int K,
                                                           const int S)
{
    /* vectors start at ow >= first and end with their last read (lane 3, or lane 7 of LD2)
     * inside the row */
    const int64_t first = (d->pl + S - 1) / S, span = S == 1 ? 4 : 8;
    for (int64_t oh = 0; oh < d->OH; oh++) {
        const float *rows[5];
        rows_of(d, oh, rows);
        float *y = d->y + oh * d->OW;
        for (int64_t ow = 0; ow < d->OW;) {
            int64_t c = ow * S - d->pl;
            if (ow >= first && ow + 4 <= d->OW && c + K - 1 + span - 1 < d->W) {
                vst1q_f32(y + ow, dw_four(rows, d->w, c, K, S));
                ow += 4;
            } else {
                y[ow] = dw_one(d, rows, ow);
                ow++;
            }
        }
        dw_epilogue(d, y);
    }
}

#define DW_PLANE(K, S)                                                                         \
    static void dw_plane_##K##_##S(const afk_dw2d *d) { dw_plane(d, K, S); }
DW_PLANE(3, 1)
DW_PLANE(3, 2)
DW_PLANE(5, 1)
DW_PLANE(5, 2)
#undef DW_PLANE

int afk_dw2d_applies(int64_t k, int64_t s, int64_t oh)
{
    return (k == 3 || k == 5) && (s == 1 || s == 2) && oh >= 1 && afk_neon_on();
}

void afk_dw2d_run(const afk_dw2d *d)
{
    if (d->OH <= 0 || d->OW <= 0) return;
    if (d->k == 3) (d->s == 1 ? dw_plane_3_1 : dw_plane_3_2)(d);
    else (d->s == 1 ? dw_plane_5_1 : dw_plane_5_2)(d);
}

#endif
