/* runtime/kernels/dw_lanes.c — depthwise 2-D convs on small maps, 16 channels in the lanes.
 *
 * On a 7x7 or 14x14 map a channel's plane is a few vectors, so the plane-at-a-time loops
 * (conv_dw.c, dw_fast.c) spend most of their time on per-channel setup and partial vectors.
 * Here 16 channels are transposed into one padded buffer P (PH, PW, 16): every output position
 * is then one vector, the sum over the kernel of P[oh*s + kh, ow*s + kw] * W[kh, kw] (a lane's
 * weights), up to 8 positions of a row sharing each weight load; the 16-lane outputs O (OH*OW,
 * 16) are transposed back into the channels' planes.
 *   P: (PH, PW, 16), PH = H + pads; O: (OH*OW, 16); Wt: (KH*KW, 16).
 */
#include "dw_lanes.h"

#include <string.h>

#include "simd512.h"

int afk_dw_lanes_mode = -1;

/* The rule: output maps up to 8x8, and 7x7 kernels up to 28x28. On Zen 4, one thread, weights
 * packed once (the plane loops against this, ms): 1152 ch 5x5 at 7x7 0.114 / 0.061, 3x3
 * 0.069 / 0.043, 768 ch 7x7 at 7x7 0.126 / 0.058, 672 ch 5x5 stride 2 onto 7x7 (silu) 0.120 /
 * 0.077; 7x7 kernels 384 ch at 14x14 0.120 / 0.105, 192 ch at 28x28 0.230 / 0.210; but on
 * larger maps smaller kernels stay faster on the plane loops' whole-row vectors (672 ch 5x5 at
 * 14x14 0.122 / 0.132, 480 ch 3x3 0.050 / 0.063, 240 ch 5x5 at 28x28 0.167 / 0.189). */
enum { LANES_MAX_OUT = 8 * 8, LANES_MAX_OUT_K7 = 28 * 28, BLK = 8 };

static int geom_fits(const conv_geom *g)
{
    return g->k[0] == 1 && g->in[0] == 1 && g->out[0] == 1 && g->k[1] <= 7 && g->k[2] <= 7 &&
           g->d[1] == 1 && g->d[2] == 1 && g->s[1] == g->s[2] && (g->s[1] == 1 || g->s[1] == 2) &&
           g->pb[1] <= 6 && g->pe[1] <= 6 && g->pb[2] <= 6 && g->pe[2] <= 6 && g->in[1] <= 64 &&
           g->in[2] <= 64 && g->out[1] >= 1 && g->out[2] >= 1;
}

size_t afk_dw_lanes_floats(const conv_geom *g)
{
    if (!geom_fits(g)) return 0;
    size_t ph = (size_t)(g->in[1] + g->pb[1] + g->pe[1]);
    size_t pw = (size_t)(g->in[2] + g->pb[2] + g->pe[2]);
    return 16 * (ph * pw + (size_t)(g->out[1] * g->out[2]) + (size_t)(g->k[1] * g->k[2])) + 16;
}

size_t afk_dw_lanes_pack_floats(const conv_geom *g)
{
    return geom_fits(g) ? (size_t)((g->C + 15) / 16 * 16 * g->k[1] * g->k[2]) : 0;
}

void afk_dw_lanes_pack(const conv_geom *g, const float *w, float *dst)
{
    const int64_t K = g->k[1] * g->k[2];
    memset(dst, 0, afk_dw_lanes_pack_floats(g) * sizeof(float));
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t k = 0; k < K; k++) dst[(c / 16 * K + k) * 16 + c % 16] = w[c * K + k];
}

#if defined(__x86_64__) || defined(__i386__)
#define TGT512 AFK_TGT512

int afk_dw_lanes_ok(const conv_geom *g)
{
    if (afk_dw_lanes_mode == 0 || afk_pgemm_nr() != 32 || !geom_fits(g)) return 0;
    const int64_t out = g->out[1] * g->out[2];
    return out <= LANES_MAX_OUT || (g->k[1] * g->k[2] >= 49 && out <= LANES_MAX_OUT_K7);
}

/* 16 planes (rows c < nc of src, stride ld floats) -> 16-lane vectors at positions [0, n):
 * dst(p) = out + pos(p) * 16 via the caller's row/column split (W columns, row pitch pw). */
TGT512 static void planes_to_lanes(const float *src, int64_t ld, int64_t nc, int64_t n,
                                   int64_t W, float *dst, int64_t pw)
{
    int64_t y = 0, x = 0;
    for (int64_t p0 = 0; p0 < n; p0 += 16) {
        const int64_t k = n - p0 < 16 ? n - p0 : 16;
        const __mmask16 m = (__mmask16)((1u << k) - 1);
        __m512 r[16];
        for (int c = 0; c < 16; c++)
            r[c] = c < nc ? _mm512_maskz_loadu_ps(m, src + c * ld + p0) : _mm512_setzero_ps();
        afk_tr16(r);
        for (int64_t i = 0; i < k; i++) { /* position p0 + i at row y, column x */
            _mm512_store_ps(dst + (y * pw + x) * 16, r[i]);
            if (++x == W) x = 0, y++;
        }
    }
}

/* The padded buffer's border (the pads around the H x W interior) set to zero. */
TGT512 static void zero_border(const conv_geom *g, float *P, int64_t PH, int64_t PW)
{
    const __m512 z = _mm512_setzero_ps();
    const int64_t pt = g->pb[1], pl = g->pb[2], H = g->in[1], W = g->in[2];
    for (int64_t r = 0; r < PH; r++) {
        const int interior = r >= pt && r < pt + H;
        for (int64_t c = 0; c < PW; c++)
            if (!interior || c < pl || c >= pl + W) _mm512_store_ps(P + (r * PW + c) * 16, z);
    }
}

/* NB outputs of row oh from column ow: the FMA chain over (kh, kw) from 0, + bias, act. */
TGT512 __attribute__((always_inline)) static inline void
lanes_block(const conv_geom *g, const float *P, int64_t PW, const float *Wt, int64_t oh,
            int64_t ow, const int NB, const int s, __m512 bias, const pg_epi *e, float *O)
{
    const int64_t KH = g->k[1], KW = g->k[2], OW = g->out[2];
    __m512 acc[BLK];
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) acc[b] = _mm512_setzero_ps();
    for (int64_t kh = 0; kh < KH; kh++) {
        const float *row = P + ((oh * s + kh) * PW + ow * s) * 16;
        for (int64_t kw = 0; kw < KW; kw++) {
            const __m512 wv = _mm512_load_ps(Wt + (kh * KW + kw) * 16);
            const float *p = row + kw * 16;
#pragma GCC unroll 8
            for (int b = 0; b < NB; b++)
                acc[b] = _mm512_fmadd_ps(_mm512_load_ps(p + b * s * 16), wv, acc[b]);
        }
    }
    float *o = O + (oh * OW + ow) * 16;
    const int long_act = afk_act_long(e->act);
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) {
        __m512 v = acc[b];
        if (e->act >= 0) v = _mm512_add_ps(v, bias);
        if (e->act > AFK_ACT_NONE && !long_act) v = act_short512(v, e);
        _mm512_store_ps(o + b * 16, v);
    }
    /* sigmoid, SiLU, GELU on the stored block, not by a call per vector with the other
     * accumulators live (spilled around it) */
    if (long_act)
        for (int b = 0; b < NB; b++) _mm512_store_ps(o + b * 16, act_full512(_mm512_load_ps(o + b * 16), e));
}

/* Every output row in blocks of up to BLK positions (stride s, a constant once inlined). */
TGT512 __attribute__((always_inline)) static inline void
lanes_rows(const conv_geom *g, const float *P, int64_t PW, const float *Wt, const int s,
           __m512 bias, const pg_epi *e, float *O)
{
    const int64_t OH = g->out[1], OW = g->out[2];
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW;) {
            const int64_t nb = OW - ow < BLK ? OW - ow : BLK;
            switch (nb) {
#define LB(N) case N: lanes_block(g, P, PW, Wt, oh, ow, N, s, bias, e, O); break
                LB(8); LB(7); LB(6); LB(5); LB(4); LB(3); LB(2); default: LB(1);
#undef LB
            }
            ow += nb;
        }
}

TGT512 void afk_dw_lanes16(const conv_geom *g, const float *x, const float *w, const float *wp,
                           const float *bias, float *y, int64_t c0, int64_t nc, float *scratch,
                           int act, float lo, float hi)
{
    const int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
    const int64_t PH = H + g->pb[1] + g->pe[1], PW = W + g->pb[2] + g->pe[2], K = g->k[1] * g->k[2];
    float *P = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); /* (PH, PW, 16) */
    float *O = P + PH * PW * 16, *Wt = O + OH * OW * 16;              /* (OH*OW, 16), (K, 16) */
    const __mmask16 cm = (__mmask16)((1u << nc) - 1);
    if (wp) Wt = (float *)wp + c0 / 16 * K * 16; /* packed once per session */
    else planes_to_lanes(w + c0 * K, K, nc, K, K, Wt, K); /* rows of K as K positions */
    zero_border(g, P, PH, PW);
    planes_to_lanes(x + c0 * H * W, H * W, nc, H * W, W, P + (g->pb[1] * PW + g->pb[2]) * 16, PW);
    const __m512 bv = bias ? _mm512_maskz_loadu_ps(cm, bias + c0) : _mm512_setzero_ps();
    const pg_epi e = {.bias = NULL, .act = act, .lo = lo, .hi = hi};
    if (g->s[1] == 1) lanes_rows(g, P, PW, Wt, 1, bv, &e, O);
    else lanes_rows(g, P, PW, Wt, 2, bv, &e, O);
    afk_lanes_to_planes(O, 16, OH * OW, nc, y + c0 * OH * OW, OH * OW);
}
#else
int afk_dw_lanes_ok(const conv_geom *g)
{
    (void)g;
    return 0;
}

void afk_dw_lanes16(const conv_geom *g, const float *x, const float *w, const float *wp,
                    const float *bias, float *y, int64_t c0, int64_t nc, float *scratch, int act,
                    float lo, float hi)
{
    (void)g, (void)x, (void)w, (void)wp, (void)bias, (void)y, (void)c0, (void)nc, (void)scratch;
    (void)act, (void)lo, (void)hi;
}
#endif
