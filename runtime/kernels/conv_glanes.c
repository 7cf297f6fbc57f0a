/* runtime/kernels/conv_glanes.c — grouped convs with few channels per group, a group's output
 * channels in the 16 lanes.
 *
 * With 16 output channels per group (RegNet's group width 16, ResNeXt's narrow stages) the
 * im2col + GEMM path packs every input value once per kernel tap for only 16 rows of products:
 * on a stride-2 conv the packing costs as much as the products. Here a group's Cg input planes
 * are transposed once into a padded buffer P (PH, PW, Cg); each output position is then one
 * vector of the group's Mg output channels, the sum over (kh, kw, ci) of a broadcast input
 * value times that tap's 16-lane weight vector, 8 positions sharing each weight load (ONNX
 * Runtime's NCHWc convolutions work the same way with channel blocks). The outputs O
 * (OH*OW, 16) are transposed back into the group's planes.
 *   P: (PH, PW, Cg); weights (KH*KW*Cg, 16) per group; O: (OH*OW, 16).
 */
#include "conv_glanes.h"

#include <string.h>

#include "simd512.h"

int afk_glanes_mode = -1;

enum { BLK = 8, CG_MAX = 64 };

static int geom_fits(const conv_geom *g)
{
    return g->G >= 2 && g->Mg > 8 && g->Mg <= 16 && g->Cg <= CG_MAX && g->k[0] == 1 && g->in[0] == 1 &&
           g->out[0] == 1 && g->k[1] <= 7 && g->k[2] <= 7 && g->d[1] == 1 && g->d[2] == 1 &&
           g->s[1] == g->s[2] && (g->s[1] == 1 || g->s[1] == 2) && g->pb[1] <= 6 &&
           g->pe[1] <= 6 && g->pb[2] <= 6 && g->pe[2] <= 6 && g->in[1] <= 4096 &&
           g->in[2] <= 4096 && g->out[1] >= 1 && g->out[2] >= 1;
}

size_t afk_glanes_pack_floats(const conv_geom *g)
{
    return geom_fits(g) ? (size_t)(g->G * g->k[1] * g->k[2] * g->Cg * 16) : 0;
}

void afk_glanes_pack(const conv_geom *g, const float *w, float *dst)
{
    const int64_t KK = g->k[1] * g->k[2];
    memset(dst, 0, afk_glanes_pack_floats(g) * sizeof(float));
    for (int64_t gi = 0; gi < g->G; gi++)
        for (int64_t m = 0; m < g->Mg; m++)
            for (int64_t ci = 0; ci < g->Cg; ci++)
                for (int64_t t = 0; t < KK; t++)
                    dst[((gi * KK + t) * g->Cg + ci) * 16 + m] =
                        w[((gi * g->Mg + m) * g->Cg + ci) * KK + t];
}

size_t afk_glanes_floats(const conv_geom *g)
{
    if (!geom_fits(g)) return 0;
    size_t ph = (size_t)(g->in[1] + g->pb[1] + g->pe[1]), pw = (size_t)(g->in[2] + g->pb[2] + g->pe[2]);
    return ph * pw * (size_t)g->Cg + 16 * (size_t)(g->out[1] * g->out[2]) + 32;
}

#if defined(__x86_64__) || defined(__i386__)
#define TGT512 AFK_TGT512

int afk_glanes_ok(const conv_geom *g)
{
    return afk_glanes_mode != 0 && afk_pgemm_nr() == 32 && geom_fits(g);
}

/* The group's Cg planes (H, W) -> P's interior, position-major with Cg floats per position;
 * 16 channels at a time through a 16x16 transpose. */
TGT512 static void planes_in(const conv_geom *g, const float *x, float *P, int64_t PW)
{
    const int64_t H = g->in[1], W = g->in[2], n = H * W, Cg = g->Cg;
    float *in0 = P + (g->pb[1] * PW + g->pb[2]) * Cg;
    for (int64_t c0 = 0; c0 < Cg; c0 += 16) {
        const int64_t nc = Cg - c0 < 16 ? Cg - c0 : 16;
        const __mmask16 cm = (__mmask16)((1u << nc) - 1);
        int64_t y = 0, xx = 0;
        for (int64_t p0 = 0; p0 < n; p0 += 16) {
            const int64_t k = n - p0 < 16 ? n - p0 : 16;
            const __mmask16 m = (__mmask16)((1u << k) - 1);
            __m512 r[16];
            for (int c = 0; c < 16; c++)
                r[c] = c < nc ? _mm512_maskz_loadu_ps(m, x + (c0 + c) * n + p0) : _mm512_setzero_ps();
            afk_tr16(r);
            for (int64_t i = 0; i < k; i++) {
                _mm512_mask_storeu_ps(in0 + (y * PW + xx) * Cg + c0, cm, r[i]);
                if (++xx == W) xx = 0, y++;
            }
        }
    }
}

/* P's border (the pads) set to zero. */
static void zero_border(const conv_geom *g, float *P, int64_t PH, int64_t PW)
{
    const int64_t pt = g->pb[1], pl = g->pb[2], H = g->in[1], W = g->in[2], Cg = g->Cg;
    for (int64_t r = 0; r < PH; r++) {
        if (r < pt || r >= pt + H) {
            memset(P + r * PW * Cg, 0, (size_t)(PW * Cg) * sizeof(float));
            continue;
        }
        memset(P + r * PW * Cg, 0, (size_t)(pl * Cg) * sizeof(float));
        memset(P + (r * PW + pl + W) * Cg, 0, (size_t)((PW - pl - W) * Cg) * sizeof(float));
    }
}

/* NB outputs of row oh from column ow (stride s): FMAs from 0 over (kh, kw, ci), + bias, act. */
TGT512 __attribute__((always_inline)) static inline void
glanes_block(const conv_geom *g, const float *P, int64_t PW, const float *wp, int64_t oh,
             int64_t ow, const int NB, const int s, __m512 bias, const pg_epi *e, float *O)
{
    const int64_t KH = g->k[1], KW = g->k[2], Cg = g->Cg, OW = g->out[2];
    __m512 acc[BLK];
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) acc[b] = _mm512_setzero_ps();
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            const float *p = P + ((oh * s + kh) * PW + ow * s + kw) * Cg;
            const float *w = wp + (kh * KW + kw) * Cg * 16;
            for (int64_t ci = 0; ci < Cg; ci++) {
                const __m512 wv = _mm512_load_ps(w + ci * 16);
#pragma GCC unroll 8
                for (int b = 0; b < NB; b++)
                    acc[b] = _mm512_fmadd_ps(_mm512_set1_ps(p[b * s * Cg + ci]), wv, acc[b]);
            }
        }
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) {
        __m512 v = acc[b];
        if (e->act >= 0) v = _mm512_add_ps(v, bias);
        if (e->act > AFK_ACT_NONE) v = act512(v, e);
        _mm512_store_ps(O + (oh * OW + ow + b) * 16, v);
    }
}

TGT512 __attribute__((always_inline)) static inline void
glanes_rows(const conv_geom *g, const float *P, int64_t PW, const float *wp, const int s,
            __m512 bias, const pg_epi *e, float *O)
{
    const int64_t OH = g->out[1], OW = g->out[2];
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW;) {
            const int64_t nb = OW - ow < BLK ? OW - ow : BLK;
            switch (nb) {
#define GB(N) case N: glanes_block(g, P, PW, wp, oh, ow, N, s, bias, e, O); break
                GB(8); GB(7); GB(6); GB(5); GB(4); GB(3); GB(2); default: GB(1);
#undef GB
            }
            ow += nb;
        }
}

/* O (n, 16) -> the group's Mg planes of y (n floats apart). */
TGT512 static void planes_out(const float *O, int64_t n, int64_t Mg, float *y)
{
    for (int64_t p0 = 0; p0 < n; p0 += 16) {
        const int64_t k = n - p0 < 16 ? n - p0 : 16;
        const __mmask16 m = (__mmask16)((1u << k) - 1);
        __m512 r[16];
        for (int64_t i = 0; i < 16; i++)
            r[i] = i < k ? _mm512_load_ps(O + (p0 + i) * 16) : _mm512_setzero_ps();
        afk_tr16(r);
        for (int64_t c = 0; c < Mg; c++) _mm512_mask_storeu_ps(y + c * n + p0, m, r[c]);
    }
}

TGT512 void afk_glanes_group(const conv_geom *g, const float *x, const float *wp,
                             const float *bias, float *y, int64_t gi, float *scratch, int act,
                             float lo, float hi)
{
    const int64_t PH = g->in[1] + g->pb[1] + g->pe[1], PW = g->in[2] + g->pb[2] + g->pe[2];
    float *O = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); /* (OH*OW, 16) */
    float *P = O + g->out[1] * g->out[2] * 16;                          /* (PH, PW, Cg) */
    zero_border(g, P, PH, PW);
    planes_in(g, x + gi * g->Cg * g->isp, P, PW);
    const __mmask16 mm = (__mmask16)((1u << g->Mg) - 1);
    const __m512 bv = bias ? _mm512_maskz_loadu_ps(mm, bias + gi * g->Mg) : _mm512_setzero_ps();
    const pg_epi e = {NULL, act, lo, hi, NULL};
    const float *w = wp + gi * g->k[1] * g->k[2] * g->Cg * 16;
    if (g->s[1] == 1) glanes_rows(g, P, PW, w, 1, bv, &e, O);
    else glanes_rows(g, P, PW, w, 2, bv, &e, O);
    planes_out(O, g->osp, g->Mg, y + gi * g->Mg * g->osp);
}
#else
int afk_glanes_ok(const conv_geom *g)
{
    (void)g;
    return 0;
}

void afk_glanes_group(const conv_geom *g, const float *x, const float *wp, const float *bias,
                      float *y, int64_t gi, float *scratch, int act, float lo, float hi)
{
    (void)g, (void)x, (void)wp, (void)bias, (void)y, (void)gi, (void)scratch, (void)act;
    (void)lo, (void)hi;
}
#endif
