/* runtime/kernels/wino_mosaic.c — dilated 3x3 convs on Winograd through a mosaic.
 *
 * A 3x3 conv with dilation d, stride 1 and pads d on a map whose sides are multiples of d is
 * d*d undilated 3x3 convs with pads 1: output (qy + d i, qx + d j) reads input rows
 * qy + d (i - 1 + kh), i.e. row i - 1 + kh of the phase image x[qy::d, qx::d] (h = H/d rows,
 * w = W/d columns), and likewise for columns. The d*d phase images laid side by side with one
 * zero line between neighbours make one mosaic (C, d(h+1) - 1, d(w+1) - 1) that a single
 * undilated conv with pads 1 covers: a phase image's border outputs read the zero line it
 * shares with its neighbour as they would read padding. So one Winograd run (its tiles, one
 * pass over the transformed weights) serves every phase; the outputs on the zero lines are
 * computed and dropped.
 *   DeepLabV3 / FCN ResNet backbones at 224x224: dilation 2 on 28x28 maps (mosaic 29x29),
 *   dilation 4 on 28x28 (31x31), 3x3 convs that would otherwise run as a direct im2col GEMM.
 */
#include "wino_mosaic.h"

#include <string.h>

enum { ALIGN = 16 }; /* floats: the three mosaics start 64-byte aligned */

int afk_mosaic_geom(const conv_geom *g, int64_t *mh, int64_t *mw)
{
    const int64_t d = g->d[1];
    if (g->G != 1 || g->k[0] != 1 || g->in[0] != 1 || g->k[1] != 3 || g->k[2] != 3 ||
        g->s[1] != 1 || g->s[2] != 1 || d < 2 || g->d[2] != d || d > 4096)
        return 0;
    for (int i = 1; i < 3; i++)
        if (g->pb[i] != d || g->pe[i] != d || g->in[i] % d || g->out[i] != g->in[i]) return 0;
    *mh = d * (g->in[1] / d + 1) - 1, *mw = d * (g->in[2] / d + 1) - 1;
    return 1;
}

static size_t aligned(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

size_t afk_mosaic_shared_floats(int64_t C, int64_t M, int64_t mh, int64_t mw)
{
    size_t plane = (size_t)mh * (size_t)mw;
    return aligned((size_t)C * plane) + 2 * aligned((size_t)M * plane);
}

/* One channel plane, image (H, W) <-> mosaic (mh, mw) of phase d. */
typedef struct mosaic_copy {
    const conv_geom *g;
    int64_t mh, mw;
    const float *src;
    float *dst;
    int to_mosaic; /* 1: image -> mosaic (zero lines written); 0: mosaic -> image */
} mosaic_copy;

static void copy_plane(void *arg, int64_t c, int tid)
{
    (void)tid;
    const mosaic_copy *a = arg;
    const int64_t d = a->g->d[1], H = a->g->in[1], W = a->g->in[2];
    const int64_t h = H / d, w = W / d, mh = a->mh, mw = a->mw;
    const float *src = a->src + c * (a->to_mosaic ? H * W : mh * mw);
    float *dst = a->dst + c * (a->to_mosaic ? mh * mw : H * W);
    for (int64_t r = 0; r < mh; r++) {
        const int64_t qy = r / (h + 1), i = r % (h + 1);
        if (i == h) { /* a zero line between phase rows (mosaic side only) */
            if (a->to_mosaic) memset(dst + r * mw, 0, (size_t)mw * sizeof(float));
            continue;
        }
        const int64_t y = qy + d * i; /* the image row */
        float *mrow = a->to_mosaic ? dst + r * mw : NULL;
        const float *mrow_in = a->to_mosaic ? NULL : src + r * mw;
        for (int64_t qx = 0; qx < d; qx++) {
            const int64_t m0 = qx * (w + 1);
            if (a->to_mosaic) {
                const float *in = src + y * W + qx;
                for (int64_t j = 0; j < w; j++) mrow[m0 + j] = in[d * j];
                if (qx + 1 < d) mrow[m0 + w] = 0.0f;
            } else {
                float *out = dst + y * W + qx;
                for (int64_t j = 0; j < w; j++) out[d * j] = mrow_in[m0 + j];
            }
        }
    }
}

static void copy_planes(const conv_geom *g, int64_t mh, int64_t mw, const float *src,
                        float *dst, int64_t planes, int to_mosaic, const af_kctx *ctx)
{
    mosaic_copy a = {g, mh, mw, src, dst, to_mosaic};
    afk_parallel(ctx, planes, copy_plane, &a);
}

void afk_mosaic_run(const conv_geom *g, const afk_wino *w0, const float *x, const float *r,
                    float *y, float *shared, const af_kctx *ctx)
{
    afk_wino w = *w0;
    const int64_t mh = w.H, mw = w.W;
    float *xm = shared, *ym = xm + aligned((size_t)(g->C * mh * mw));
    float *rm = ym + aligned((size_t)(g->M * mh * mw));
    copy_planes(g, mh, mw, x, xm, g->C, 1, ctx);
    if (r) copy_planes(g, mh, mw, r, rm, g->M, 1, ctx);
    w.x = xm, w.y = ym, w.res = r ? rm : NULL;
    afk_wino_run(&w, ctx);
    copy_planes(g, mh, mw, ym, y, g->M, 0, ctx);
}
