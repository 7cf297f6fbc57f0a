/* runtime/kernels/conv_glanes.c — grouped convs with few output channels per group, a
 * group's output channels in 16-lane blocks.
 *
 * With 16 output channels per group (RegNet's group width 16, ResNeXt's narrow stages) the
 * im2col + GEMM path packs every input value once per kernel tap for only 16 rows of products:
 * on a stride-2 conv the packing costs as much as the products. Here a group's Cg input planes
 * are copied once into zero-padded planes P, per band of output rows; each output position is
 * then one vector per 16 output channels, the sum over (kh, kw, ci) of a broadcast input value
 * times that tap's weight vector, 8 positions sharing each weight load and each broadcast
 * serving up to three channel blocks (ONNX Runtime's NCHWc convolutions work the same way). The
 * outputs O (positions, Mp) are transposed back into the group's planes.
 *   P: (Cg, PH, PW); weights (KH*KW*Cg, Mp) per group, Mp = Mg rounded up to 16; O: (rows*OW, Mp).
 */
#include "conv_glanes.h"

#include <string.h>

#include "simd512.h"

enum { BLK = 8, CG_MAX = 64, MG_MAX = 64 };

static int64_t mpad(const conv_geom *g) { return (g->Mg + 15) / 16 * 16; }

/* The shapes this kernel pays on, Zen 4, one thread, against im2col + GEMM or per-group
 * Winograd (ms; more in conv.c's glanes_geom): groups of 9-16 output channels (4 groups of 16
 * at 112 -> 56 0.95 / 0.64); of 17-64 at stride 2 (32 groups of 32 at 28 -> 14 1.73 / 1.31;
 * Zen 5, three blocks per broadcast: 2 groups of 48 at 112 -> 56 1.62-1.92 / 1.29-1.43, 9 of
 * 48 at 28 -> 14 0.61 / 0.42, 4 of 56 at 112 -> 56 5.9-6.4 / 4.5-5.3), not at stride 1 (10
 * groups of 24 at 14x14 0.234 / 0.285, 18 of 24 at 28x28 1.18 / 1.94; Zen 5, 8 of 56 at 28x28
 * 1.2-1.4 / 2.0).
 * Fewer than 9 waste half the lanes (64 ch in 8 groups at 112 -> 56 0.70 / 0.91); stems (one
 * group of 3 input channels) ran no faster (3 -> 32 at 224 -> 112 0.30 / 0.34). */
static int geom_fits(const conv_geom *g)
{
    const int shape = g->G >= 2 && g->Mg > 8 &&
                      (g->Mg <= 16 || (g->Mg <= MG_MAX && g->s[1] == 2));
    return shape && g->Cg <= CG_MAX && g->k[0] == 1 && g->in[0] == 1 &&
           g->out[0] == 1 && g->k[1] <= 7 && g->k[2] <= 7 && g->d[1] == 1 && g->d[2] == 1 &&
           g->s[1] == g->s[2] && (g->s[1] == 1 || g->s[1] == 2) && g->pb[1] <= 6 &&
           g->pe[1] <= 6 && g->pb[2] <= 6 && g->pe[2] <= 6 && g->in[1] <= 4096 &&
           g->in[2] <= 4096 && g->out[1] >= 1 && g->out[2] >= 1;
}

size_t afk_glanes_pack_floats(const conv_geom *g)
{
    return geom_fits(g) ? (size_t)(g->G * g->k[1] * g->k[2] * g->Cg * mpad(g)) : 0;
}

void afk_glanes_pack(const conv_geom *g, const float *w, float *dst)
{
    const int64_t KK = g->k[1] * g->k[2], Mp = mpad(g);
    memset(dst, 0, afk_glanes_pack_floats(g) * sizeof(float));
    for (int64_t gi = 0; gi < g->G; gi++)
        for (int64_t m = 0; m < g->Mg; m++)
            for (int64_t ci = 0; ci < g->Cg; ci++)
                for (int64_t t = 0; t < KK; t++)
                    dst[((gi * KK + t) * g->Cg + ci) * Mp + m] =
                        w[((gi * g->Mg + m) * g->Cg + ci) * KK + t];
}

/* Output rows per task: about BAND_OUT positions (a stem's map splits over threads; a small
 * map is one band). */
enum { BAND_OUT = 2048 };
int64_t afk_glanes_band_rows(const conv_geom *g) { return afk_conv_band_rows(g, BAND_OUT); }

size_t afk_glanes_floats(const conv_geom *g)
{
    if (!geom_fits(g)) return 0;
    const int64_t rows = afk_glanes_band_rows(g), pw = g->in[2] + g->pb[2] + g->pe[2];
    return (size_t)(afk_conv_band_in_rows(g, rows) * pw * g->Cg) +
           (size_t)(mpad(g) * rows * g->out[2]) + 32;
}

#if defined(__x86_64__) || defined(__i386__)
#define TGT512 AFK_TGT512

int afk_glanes_ok(const conv_geom *g)
{
    return afk_pgemm_nr() == 32 && geom_fits(g);
}

/* The group's Cg planes (H, W), input rows ih0 .. ih0+PH-1 -> zero-padded planes P (Cg, PH,
 * PW): rows outside the image and the left/right pads zero. */
static void planes_in(const conv_geom *g, const float *x, int64_t ih0, float *P, int64_t PH,
                      int64_t PW)
{
    const int64_t H = g->in[1], W = g->in[2], pl = g->pb[2];
    for (int64_t c = 0; c < g->Cg; c++)
        for (int64_t r = 0; r < PH; r++) {
            float *row = P + (c * PH + r) * PW;
            const int64_t ih = ih0 + r;
            if (ih < 0 || ih >= H) {
                memset(row, 0, (size_t)PW * sizeof(float));
                continue;
            }
            memset(row, 0, (size_t)pl * sizeof(float));
            memcpy(row + pl, x + (c * H + ih) * W, (size_t)W * sizeof(float));
            memset(row + pl + W, 0, (size_t)(PW - pl - W) * sizeof(float));
        }
}

/* NB outputs of row oh from column ow (stride s), NC channel blocks (1 to 3) from block j: FMAs
 * from 0 over (kh, kw, ci), then + bias, act. */
typedef struct gl_run {
    const conv_geom *g;
    const float *P, *w, *bias; /* P planes, the group's packed weights and bias (or NULL) */
    int64_t PH, PW, Mp;
    const pg_epi *e;
    float *O;   /* (rows * OW, Mp) */
    int64_t rows; /* output rows of the band (P's row 0: the band's first output row's) */
} gl_run;

TGT512 __attribute__((always_inline)) static inline void
glanes_block(const gl_run *r, int64_t oh, int64_t ow, int64_t j, const int NB, const int NC,
             const int s)
{
    const conv_geom *g = r->g;
    const int64_t KH = g->k[1], KW = g->k[2], Cg = g->Cg, OW = g->out[2], plane = r->PH * r->PW;
    __m512 acc[3][BLK];
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) acc[0][b] = acc[1][b] = acc[2][b] = _mm512_setzero_ps();
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            const float *p = r->P + (oh * s + kh) * r->PW + ow * s + kw;
            const float *w = r->w + (kh * KW + kw) * Cg * r->Mp + j * 16;
            for (int64_t ci = 0; ci < Cg; ci++, p += plane, w += r->Mp) {
                const __m512 w0 = _mm512_load_ps(w);
                const __m512 w1 = NC >= 2 ? _mm512_load_ps(w + 16) : w0;
                const __m512 w2 = NC == 3 ? _mm512_load_ps(w + 32) : w0;
#pragma GCC unroll 8
                for (int b = 0; b < NB; b++) {
                    const __m512 xb = _mm512_set1_ps(p[b * s]);
                    acc[0][b] = _mm512_fmadd_ps(xb, w0, acc[0][b]);
                    if (NC >= 2) acc[1][b] = _mm512_fmadd_ps(xb, w1, acc[1][b]);
                    if (NC == 3) acc[2][b] = _mm512_fmadd_ps(xb, w2, acc[2][b]);
                }
            }
        }
    const int long_act = afk_act_long(r->e->act);
    for (int c = 0; c < NC; c++) {
        const __m512 bias = r->bias ? _mm512_loadu_ps(r->bias + (j + c) * 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int b = 0; b < NB; b++) {
            __m512 v = acc[c][b];
            if (r->e->act >= 0) v = _mm512_add_ps(v, bias);
            if (r->e->act > AFK_ACT_NONE && !long_act) v = act_short512(v, r->e);
            _mm512_store_ps(r->O + (oh * OW + ow + b) * r->Mp + (j + c) * 16, v);
        }
    }
    /* sigmoid, SiLU, GELU on the stored vectors, not by a call per vector with the other
     * accumulators live (spilled around it) */
    for (int c = 0; long_act && c < NC; c++)
        for (int b = 0; b < NB; b++) {
            float *o = r->O + (oh * OW + ow + b) * r->Mp + (j + c) * 16;
            _mm512_store_ps(o, act_full512(_mm512_load_ps(o), r->e));
        }
}

/* Every output row in blocks of up to BLK positions, for channel blocks [j, j + NC). */
TGT512 __attribute__((always_inline)) static inline void glanes_rows(const gl_run *r, int64_t j,
                                                                     const int NC, const int s)
{
    const int64_t OW = r->g->out[2];
    for (int64_t oh = 0; oh < r->rows; oh++)
        for (int64_t ow = 0; ow < OW;) {
            const int64_t nb = OW - ow < BLK ? OW - ow : BLK;
            switch (nb) {
#define GB(N) case N: glanes_block(r, oh, ow, j, N, NC, s); break
                GB(8); GB(7); GB(6); GB(5); GB(4); GB(3); GB(2); default: GB(1);
#undef GB
            }
            ow += nb;
        }
}

TGT512 void afk_glanes_group(const conv_geom *g, const float *x, const float *wp,
                             const float *bias, float *y, int64_t gi, int64_t oh0, int64_t oh1,
                             float *scratch, int act, float lo, float hi)
{
    const int64_t PH = afk_conv_band_in_rows(g, oh1 - oh0), PW = g->in[2] + g->pb[2] + g->pe[2];
    const int64_t Mp = mpad(g), KK = g->k[1] * g->k[2], n = (oh1 - oh0) * g->out[2];
    float *O = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); /* (n, Mp) */
    float *P = O + n * Mp;                                              /* (Cg, PH, PW) */
    planes_in(g, x + gi * g->Cg * g->isp, oh0 * g->s[1] - g->pb[1], P, PH, PW);
    float bp[MG_MAX] = {0}; /* the group's bias, zero past Mg */
    if (bias) memcpy(bp, bias + gi * g->Mg, (size_t)g->Mg * sizeof(float));
    const pg_epi e = {.bias = NULL, .act = act, .lo = lo, .hi = hi};
    const gl_run r = {g, P, wp + gi * KK * g->Cg * Mp, bias ? bp : NULL, PH, PW, Mp, &e, O,
                      oh1 - oh0};
    for (int64_t j = 0, nc; j < Mp / 16; j += nc) { /* channel blocks in threes or pairs */
        const int64_t left = Mp / 16 - j;
        nc = left == 4 ? 2 : left < 3 ? left : 3;
        switch ((g->s[1] - 1) * 3 + nc - 1) {
        case 0: glanes_rows(&r, j, 1, 1); break;
        case 1: glanes_rows(&r, j, 2, 1); break;
        case 2: glanes_rows(&r, j, 3, 1); break;
        case 3: glanes_rows(&r, j, 1, 2); break;
        case 4: glanes_rows(&r, j, 2, 2); break;
        default: glanes_rows(&r, j, 3, 2); break;
        }
    }
    float *yg = y + gi * g->Mg * g->osp + oh0 * g->out[2];
    for (int64_t c0 = 0; c0 < g->Mg; c0 += 16) /* 16 channels at a time */
        afk_lanes_to_planes(O + c0, Mp, n, g->Mg - c0 < 16 ? g->Mg - c0 : 16, yg + c0 * g->osp,
                            g->osp);
}
#else
int afk_glanes_ok(const conv_geom *g)
{
    (void)g;
    return 0;
}

void afk_glanes_group(const conv_geom *g, const float *x, const float *wp, const float *bias,
                      float *y, int64_t gi, int64_t oh0, int64_t oh1, float *scratch, int act,
                      float lo, float hi)
{
    (void)g, (void)x, (void)wp, (void)bias, (void)y, (void)gi, (void)oh0, (void)oh1;
    (void)scratch, (void)act;
    (void)lo, (void)hi;
}
#endif
