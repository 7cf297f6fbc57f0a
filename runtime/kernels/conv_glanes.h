/* runtime/kernels/conv_glanes.h — grouped convs with few channels per group, a group's output
 * channels in the 16 lanes (conv_glanes.c, AVX-512F). */
#ifndef AF_RUNTIME_KERNELS_CONV_GLANES_H
#define AF_RUNTIME_KERNELS_CONV_GLANES_H

#include <stddef.h>
#include <stdint.h>

#include "conv_dw.h"

/* 1: g can run here: 2-D, kernel <= 7x7, equal strides 1 or 2, undilated, AVX-512F in use,
 * >= 2 groups of 9-16 output channels (17-32 at stride 2), <= 64 input channels per group. */
int afk_glanes_ok(const conv_geom *g);
/* Floats of the packed weights: per group (KH*KW*Cg, Mp), Mp = Mg rounded up to 16. */
size_t afk_glanes_pack_floats(const conv_geom *g);
/* W (M, Cg, KH, KW) -> dst[gi][(kh*KW + kw)*Cg + ci][m] = W[gi*Mg + m][ci][kh][kw], zero lanes
 * past Mg. */
void afk_glanes_pack(const conv_geom *g, const float *w, float *dst);
/* Output rows per band (a task: one band of one group of one image). */
int64_t afk_glanes_band_rows(const conv_geom *g);
/* Scratch floats per thread: a band's padded input planes and its outputs (rows * OW, Mp). */
size_t afk_glanes_floats(const conv_geom *g);
/* Output rows [oh0, oh1) (at most a band) of group gi of one image: x (C, H, W), y (M, OH, OW)
 * at the image, wp from afk_glanes_pack, bias (M) or NULL; act AFK_ACT_* (fused with lo, hi)
 * or -1: neither bias nor act (the caller's epilogue). Each output: FMAs from 0 over
 * (kh, kw, ci), then + bias, act. */
void afk_glanes_group(const conv_geom *g, const float *x, const float *wp, const float *bias,
                      float *y, int64_t gi, int64_t oh0, int64_t oh1, float *scratch, int act,
                      float lo, float hi);

#endif
