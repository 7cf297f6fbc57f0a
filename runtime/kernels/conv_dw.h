/* runtime/kernels/conv_dw.h — conv.c's geometry (shared with conv_transpose.c) and the
 * depthwise loops of conv_dw.c. */
#ifndef AF_RUNTIME_KERNELS_CONV_DW_H
#define AF_RUNTIME_KERNELS_CONV_DW_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef struct conv_geom {
    int64_t N, C, M, G;     /* batch, in channels, out channels, groups */
    int64_t Cg, Mg, K;      /* channels per group, kernel volume */
    int64_t in[3], out[3];  /* spatial sizes (D, H, W) */
    int64_t k[3], s[3], d[3], pb[3], pe[3], op[3];
    int64_t isp, osp;       /* spatial volumes */
} conv_geom;

/* conv.c: g from views and params (transpose: W is (C, M/G, *) instead of (M, C/G, *)); the
 * checks Conv and ConvTranspose share (op names the node kind in messages); positions per
 * tile whose col buffer (rows, tile) stays within COL_BYTES, and that buffer's bytes. */
void afk_conv_geom(conv_geom *g, const af_conv_params *cp, const af_tview *x, const af_tview *w,
                   const af_tview *y, int transpose);
af_status afk_conv_check_common(const char *op, const af_conv_params *cp, const af_tview *in,
                                int n_in, const af_tview *out, af_err *err);
int64_t afk_conv_tile_len(int64_t rows, int64_t positions);
size_t afk_conv_col_bytes(int64_t rows, int64_t positions);
/* Bands of output rows (the lanes and stem kernels' tasks): rows for about `outputs` positions
 * per band (1 to all), and the input rows a band of `rows` output rows reads. */
int64_t afk_conv_band_rows(const conv_geom *g, int64_t outputs);
int64_t afk_conv_band_in_rows(const conv_geom *g, int64_t rows);

/* The epilogue of one channel, fused: kind AFK_ACT_* (then bias and act are applied here, the
 * same operations as vec.c's bias_act) or -1 (the caller applies them). */
typedef struct dw_epi {
    int kind;
    float bias, lo, hi;
} dw_epi;

/* Padded-plane depthwise: 2-D, stride 1 or 2 along W, <= 16 kernel rows, and a padded plane
 * below 2^28 floats. Fills its height, width and the scratch floats it needs. */
int afk_dw_padded_geom(const conv_geom *g, int64_t *PH, int64_t *PW, int64_t *floats);

/* y (OD, OH, OW) = sum over the kernel of x (D, H, W) * w (K), one channel (the reference). */
void afk_dw_channel(const conv_geom *g, const float *x, const float *w, float *y);

#if defined(__x86_64__) || defined(__i386__)
/* One channel on a zero-padded copy pad (PH, PW) of its plane; fresh: the border must be
 * (re)written. AVX2: e's bias and activation fused when e->kind >= 0, rowbuf 8 floats; AVX-512:
 * act (AFK_ACT_*, or -1: none) with bias, lo, hi. */
void afk_dw_padded_avx2(const conv_geom *g, const float *x, const float *w, float *y, float *pad,
                        int64_t PH, int64_t PW, float *rowbuf, int fresh, const dw_epi *e);
void afk_dw_padded_avx512(const conv_geom *g, const float *x, const float *w, float *y,
                          float *pad, int64_t PH, int64_t PW, int fresh, int act, float bias,
                          float lo, float hi);
#endif

#endif
