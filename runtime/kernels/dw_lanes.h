/* runtime/kernels/dw_lanes.h — depthwise convs on small maps with 16 channels in the lanes
 * (dw_lanes.c, AVX-512F). */
#ifndef AF_RUNTIME_KERNELS_DW_LANES_H
#define AF_RUNTIME_KERNELS_DW_LANES_H

#include <stddef.h>
#include <stdint.h>

#include "conv_dw.h"

/* -1: the rule below decides; 0: never (tests: the plane loops' bits). */
extern int afk_dw_lanes_mode;

/* 1: depthwise g runs 16 channels at a time here: 2-D, kernel <= 7x7 and undilated, equal
 * strides 1 or 2, a small output map (the rule, measured: dw_lanes.c), AVX-512F in use. */
int afk_dw_lanes_ok(const conv_geom *g);
/* Scratch floats per thread: the padded 16-lane input, the 16-lane output, the weights. */
size_t afk_dw_lanes_floats(const conv_geom *g);
/* Floats of g's weights packed for this kernel: (ceil(C/16), KH*KW, 16). */
size_t afk_dw_lanes_pack_floats(const conv_geom *g);
/* w (C, KH*KW) -> dst[c/16][k][c%16], zero lanes past C. */
void afk_dw_lanes_pack(const conv_geom *g, const float *w, float *dst);
/* Channels c0 .. c0+nc-1 (nc <= 16) of one image: x (C, H, W) and y (C, OH, OW) at channel 0,
 * w (C, KH*KW), or wp packed by afk_dw_lanes_pack (then w is not read); bias (C) or NULL; act
 * AFK_ACT_* (fused with lo, hi), or -1: neither bias nor act applied (the caller's epilogue).
 * Each output is the FMA chain from 0 over (kh, kw), then + bias and act: the AVX-512
 * padded-plane loop's operations, so its bits. scratch: 64-byte alignable,
 * afk_dw_lanes_floats floats. */
void afk_dw_lanes16(const conv_geom *g, const float *x, const float *w, const float *wp,
                    const float *bias, float *y, int64_t c0, int64_t nc, float *scratch, int act,
                    float lo, float hi);

#endif
