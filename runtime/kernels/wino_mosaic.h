/* runtime/kernels/wino_mosaic.h — dilated 3x3 convs on Winograd through a mosaic of their
 * phase images (wino_mosaic.c). */
#ifndef AF_RUNTIME_KERNELS_WINO_MOSAIC_H
#define AF_RUNTIME_KERNELS_WINO_MOSAIC_H

#include <stddef.h>
#include <stdint.h>

#include "conv_dw.h"
#include "internal.h"

/* 1: g is a 2-D single-group 3x3 conv with dilation d >= 2 on both axes, stride 1, pads d
 * and sides that are multiples of d; *mh, *mw: its mosaic's sides (d*(side/d + 1) - 1). */
int afk_mosaic_geom(const conv_geom *g, int64_t *mh, int64_t *mw);

/* Floats of ctx->shared the mosaic run takes: input, output and residual mosaics (C, M, M). */
size_t afk_mosaic_shared_floats(int64_t C, int64_t M, int64_t mh, int64_t mw);

/* Runs g (afk_mosaic_geom held) on image x (C, H, W) -> y (M, H, W), residual r (M, H, W) or
 * NULL: w planned on the mosaic (w->U, bias, act and scratch set; x, y, res are filled in
 * here), shared holding afk_mosaic_shared_floats floats. */
void afk_mosaic_run(const conv_geom *g, const afk_wino *w, const float *x, const float *r,
                    float *y, float *shared, const af_kctx *ctx);

#endif
