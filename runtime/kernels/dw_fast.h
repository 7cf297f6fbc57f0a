/* runtime/kernels/dw_fast.h — direct depthwise conv for conv.c: AVX-512F (dw_fast.c) or NEON
 * (dw_neon.c). */
#ifndef AF_RUNTIME_KERNELS_DW_FAST_H
#define AF_RUNTIME_KERNELS_DW_FAST_H

#include <stdint.h>

/* One channel of a 2-D depthwise conv: square kernel k (3, 5; AVX-512 also 7), stride s (1 or 2) on both
 * axes, dilation 1, any pads. zero: at least W floats of 0.0f (stands in for padding rows). */
typedef struct afk_dw2d {
    const float *x;    /* (H, W) */
    const float *w;    /* (k, k) */
    float *y;          /* (OH, OW) */
    const float *zero;
    int64_t H, W, OH, OW, pt, pl; /* input and output sizes, top and left pads */
    int k, s;
    int act;           /* AFK_ACT_* fused with bias, or -1: neither (the caller applies them) */
    float bias, lo, hi;
} afk_dw2d;

/* 1 when afk_dw2d_run takes these sizes (k, s in range, at least 4 output rows; CPU and
 * afk_pgemm_nr() == 32, i.e. the AVX-512 kernels are in use; AArch64: any rows, NEON on). */
int afk_dw2d_applies(int64_t k, int64_t s, int64_t oh);

/* y[oh, ow] = sum over (kh, kw), in that order, of x[oh*s - pt + kh, ow*s - pl + kw] * w[kh, kw]
 * with one FMA per product from 0, positions outside x adding 0 * w (exactly what the
 * zero-padded plane of conv.c's dw_padded_avx512 gives); then bias + act when act >= 0. */
void afk_dw2d_run(const afk_dw2d *d);

#endif
