/* runtime/kernels/conv_stem.h — convs with few input channels (a network's stem: 3 -> 32,
 * 3x3 stride 2), output positions in the 16 lanes, read straight from prepared input rows
 * (conv_stem.c, AVX-512F). */
#ifndef AF_RUNTIME_KERNELS_CONV_STEM_H
#define AF_RUNTIME_KERNELS_CONV_STEM_H

#include <stddef.h>
#include <stdint.h>

#include "conv_dw.h"

/* 1: g can run here: 2-D, one group of at most 4 input channels, Cin*KH*KW <= 160, kernel
 * <= 7x7, equal strides 1 or 2, undilated, >= 8 output channels, AVX-512F in use. */
int afk_stem_ok(const conv_geom *g);
/* Floats of the packed weights: (Mp/16, Cin*KH*KW, 16), Mp = M rounded up to 16. */
size_t afk_stem_pack_floats(const conv_geom *g);
/* W (M, Cin, KH, KW) -> dst[m / 16][(ci*KH + kh)*KW + kw][m % 16], zeros past M. */
void afk_stem_pack(const conv_geom *g, const float *w, float *dst);
/* Output rows per band (a task: one band of one image). */
int64_t afk_stem_band_rows(const conv_geom *g);
/* Scratch floats per thread: a band's prepared input rows. */
size_t afk_stem_floats(const conv_geom *g);
/* Output rows [oh0, oh1) (at most a band) of one image: x (C, H, W), y (M, OH, OW) at the
 * image, wp from afk_stem_pack, bias (M) or NULL; act AFK_ACT_* (fused with lo, hi) or -1:
 * neither bias nor act (the caller's epilogue). Each output: FMAs from 0 over (ci, kh, kw) in
 * that order, then + bias, act: the GEMM path's sums. */
void afk_stem_band(const conv_geom *g, const float *x, const float *wp, const float *bias,
                   float *y, int64_t oh0, int64_t oh1, float *scratch, int act, float lo, float hi);

#endif
