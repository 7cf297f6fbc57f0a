/* runtime/kernels/conv_stem.c — convs with few input channels: a network's stem (3 -> 32,
 * 3x3 stride 2 at 224 -> 112), output positions in the 16 lanes.
 *
 * im2col + GEMM multiplies rows of K = Cin*KH*KW (27 for a 3x3 stem) products per output:
 * each packed value feeds few FMAs, and at stride 2 the packing gathers every other column, so
 * the GEMM runs well below its speed on wide K (and the Winograd cost model may pick F(4x4) for
 * a stride-1 stem, 3.5x slower still). Here a band of input rows is prepared once (each row
 * zero-padded left and right; at stride 2 split into its even and odd columns, so column
 * 2*ow + kw is phase kw % 2 at ow + kw / 2); a block of 16 consecutive outputs of one row is
 * one vector per output channel, 16 channels at a time (8 in a last block of at most 8), and
 * each of the Cin*KH*KW taps is one aligned load pair and a valignd (the tap's shifted vector)
 * times 16 broadcast weights. Outputs land in their planes directly, no transpose.
 *   prepared rows: (Cin, band rows, S phases, L); weights (Mp/16, Cin*KH*KW, 16).
 * Each output is the sum over (ci, kh, kw) in that order of one FMA per product from 0, then
 * + bias and the activation: the GEMM path's arithmetic, so the same bits.
 */
#include "conv_stem.h"

#include <string.h>

#include "simd512.h"

enum { CIN_MAX = 4, TAPS_MAX = 160, BAND_OUT = 1024 };

static int64_t mpad(const conv_geom *g) { return (g->M + 15) / 16 * 16; }

/* Floats per phase of a prepared row: the output vectors' columns, plus the vector the shifted
 * taps take their last lanes from ((KW - 1) / S < 16). */
static int64_t phase_len(const conv_geom *g) { return (g->out[2] + 15) / 16 * 16 + 16; }

/* The shapes this kernel takes (conv.c's stem_geom adds the rule against the GEMM). */
static int geom_fits(const conv_geom *g)
{
    const int64_t KH = g->k[1], KW = g->k[2], s = g->s[2];
    return g->G == 1 && g->C <= CIN_MAX && g->C * KH * KW <= TAPS_MAX && g->M >= 8 &&
           g->k[0] == 1 && g->in[0] == 1 && g->out[0] == 1 && KH <= 7 &&
           (KW == 3 || KW == 5 || KW == 7) && g->d[1] == 1 && g->d[2] == 1 &&
           g->s[1] == s && (s == 1 || s == 2) && g->pb[2] <= 6 && g->in[1] <= 8192 &&
           g->in[2] <= 8192 && g->out[1] >= 1 && g->out[2] >= 1;
}

size_t afk_stem_pack_floats(const conv_geom *g)
{
    return geom_fits(g) ? (size_t)(mpad(g) * g->C * g->k[1] * g->k[2]) : 0;
}

void afk_stem_pack(const conv_geom *g, const float *w, float *dst)
{
    const int64_t T = g->C * g->k[1] * g->k[2]; /* taps, (ci, kh, kw) in W's own order */
    memset(dst, 0, afk_stem_pack_floats(g) * sizeof(float));
    for (int64_t m = 0; m < g->M; m++)
        for (int64_t t = 0; t < T; t++) dst[(m / 16 * T + t) * 16 + m % 16] = w[m * T + t];
}

int64_t afk_stem_band_rows(const conv_geom *g) { return afk_conv_band_rows(g, BAND_OUT); }

size_t afk_stem_floats(const conv_geom *g)
{
    if (!geom_fits(g)) return 0;
    const int64_t rows = afk_conv_band_in_rows(g, afk_stem_band_rows(g));
    return (size_t)(g->C * rows * g->s[2] * phase_len(g)) + 16;
}

#if defined(__x86_64__) || defined(__i386__)
#define TGT512 AFK_TGT512

int afk_stem_ok(const conv_geom *g)
{
    return afk_pgemm_nr() == 32 && geom_fits(g);
}

/* src's 16 columns from c, zeros outside [0, W) (masked loads only at the edges). */
TGT512 static inline __m512 cols16(const float *src, int64_t c, int64_t W)
{
    return c >= 0 && c + 16 <= W ? _mm512_loadu_ps(src + c)
                                 : _mm512_maskz_loadu_ps(afk_lane_range(-c, W - c), src + c);
}

/* One prepared row: phase p, element i = src[S*i + p - pl] (0 outside the row); src NULL: a
 * row of zeros (above or below the image). dst 64-byte aligned, S*L floats. */
TGT512 static void prepare_row(const float *src, int64_t W, int64_t pl, int S, int64_t L,
                               float *dst)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int64_t i = 0; i < L; i += 16) {
        if (!src) {
            for (int p = 0; p < S; p++) _mm512_store_ps(dst + p * L + i, _mm512_setzero_ps());
        } else if (S == 1) {
            _mm512_store_ps(dst + i, cols16(src, i - pl, W));
        } else {
            const __m512 a = cols16(src, 2 * i - pl, W), b = cols16(src, 2 * i + 16 - pl, W);
            _mm512_store_ps(dst + i, _mm512_permutex2var_ps(a, even, b));
            _mm512_store_ps(dst + L + i, _mm512_permutex2var_ps(a, odd, b));
        }
    }
}

typedef struct st_run {
    const conv_geom *g;
    const float *R;      /* prepared rows (C, RH, S, L) */
    const float *w;      /* packed weights */
    float *y;            /* the image's output planes */
    int64_t RH, L, oh0;  /* rows per channel, phase length, the band's first output row */
    pg_epi e;            /* bias (M, or NULL) and act; act < 0: neither */
} st_run;

/* 16 outputs of row oh from column ow0, channels [mb*16, mb*16 + MB) (MB 16, or 8 for a last
 * block of at most 8; those below M stored). */
TGT512 __attribute__((always_inline)) static inline void
stem_block(const st_run *r, int64_t oh, int64_t ow0, int64_t mb, const int KW, const int S,
           const int MB)
{
    const conv_geom *g = r->g;
    const int64_t KH = g->k[1], T = g->C * KH * KW, L = r->L;
    const float *w = r->w + mb * T * 16;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int m = 0; m < MB; m++) acc[m] = _mm512_setzero_ps();
    for (int64_t ci = 0; ci < g->C; ci++)
        for (int64_t kh = 0; kh < KH; kh++, w += KW * 16) {
            const float *row = r->R + ((ci * r->RH + (oh - r->oh0) * S + kh) * S) * L + ow0;
            const __m512 e0 = _mm512_load_ps(row), e1 = _mm512_load_ps(row + 16);
            const __m512 o0 = S == 2 ? _mm512_load_ps(row + L) : e0;
            const __m512 o1 = S == 2 ? _mm512_load_ps(row + L + 16) : e1;
#pragma GCC unroll 7
            for (int kw = 0; kw < KW; kw++) {
                const __m512 xv = S == 1 ? afk_shift_in(e0, e1, kw)
                                  : kw % 2 ? afk_shift_in(o0, o1, kw / 2) : afk_shift_in(e0, e1, kw / 2);
#pragma GCC unroll 16
                for (int m = 0; m < MB; m++)
                    acc[m] = _mm512_fmadd_ps(xv, _mm512_set1_ps(w[kw * 16 + m]), acc[m]);
            }
        }
    const int64_t OW = g->out[2], left = OW - ow0, nm = g->M - mb * 16 < MB ? g->M - mb * 16 : MB;
    const __mmask16 sm = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1u);
    pg_epi e = r->e;
    if (e.bias) e.bias += mb * 16;
    float *y = r->y + (mb * 16 * g->out[1] + oh) * OW + ow0;
    for (int64_t m = 0; m < nm; m++) {
        const __m512 v = e.act >= 0 ? epi_short512(acc[m], &e, (int)m) : acc[m];
        _mm512_mask_storeu_ps(y + m * g->osp, sm, v);
    }
    /* sigmoid, SiLU, GELU on the stored vectors (a call per vector would spill the rest) */
    for (int64_t m = 0; afk_act_long(e.act) && m < nm; m++)
        _mm512_mask_storeu_ps(y + m * g->osp, sm,
                              act_full512(_mm512_maskz_loadu_ps(sm, y + m * g->osp), &e));
}

/* Every 16-column block of the band's rows, every channel block. */
TGT512 __attribute__((always_inline)) static inline void stem_rows(const st_run *r, int64_t oh1,
                                                                   const int KW, const int S)
{
    const int64_t blocks = (r->g->out[2] + 15) / 16, mbs = mpad(r->g) / 16;
    const int last8 = r->g->M - (mbs - 1) * 16 <= 8; /* the last block: 8 channels */
    for (int64_t oh = r->oh0; oh < oh1; oh++)
        for (int64_t b = 0; b < blocks; b++) {
            for (int64_t mb = 0; mb < mbs - last8; mb++) stem_block(r, oh, b * 16, mb, KW, S, 16);
            if (last8) stem_block(r, oh, b * 16, mbs - 1, KW, S, 8);
        }
}

#define STEM_ROWS(KW, S)                                                                       \
    TGT512 static void stem_rows_##KW##_##S(const st_run *r, int64_t oh1)                      \
    {                                                                                          \
        stem_rows(r, oh1, KW, S);                                                              \
    }
STEM_ROWS(3, 1) STEM_ROWS(3, 2) STEM_ROWS(5, 1) STEM_ROWS(5, 2) STEM_ROWS(7, 1) STEM_ROWS(7, 2)
#undef STEM_ROWS

void afk_stem_band(const conv_geom *g, const float *x, const float *wp, const float *bias,
                   float *y, int64_t oh0, int64_t oh1, float *scratch, int act, float lo, float hi)
{
    const int S = (int)g->s[2];
    const int64_t RH = afk_conv_band_in_rows(g, oh1 - oh0), L = phase_len(g), H = g->in[1];
    float *R = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    for (int64_t ci = 0; ci < g->C; ci++)
        for (int64_t rr = 0; rr < RH; rr++) {
            const int64_t ih = oh0 * g->s[1] - g->pb[1] + rr;
            prepare_row(ih >= 0 && ih < H ? x + (ci * H + ih) * g->in[2] : NULL, g->in[2],
                        g->pb[2], S, L, R + (ci * RH + rr) * S * L);
        }
    const st_run r = {g, R, wp, y, RH, L, oh0, {.bias = bias, .act = act, .lo = lo, .hi = hi}};
    static void (*const tab[3][2])(const st_run *, int64_t) = {
        {stem_rows_3_1, stem_rows_3_2}, {stem_rows_5_1, stem_rows_5_2},
        {stem_rows_7_1, stem_rows_7_2}};
    tab[g->k[2] / 2 - 1][S - 1](&r, oh1);
}
#else
int afk_stem_ok(const conv_geom *g)
{
    (void)g;
    return 0;
}

void afk_stem_band(const conv_geom *g, const float *x, const float *wp, const float *bias,
                   float *y, int64_t oh0, int64_t oh1, float *scratch, int act, float lo, float hi)
{
    (void)g, (void)x, (void)wp, (void)bias, (void)y, (void)oh0, (void)oh1, (void)scratch;
    (void)act, (void)lo, (void)hi;
}
#endif
