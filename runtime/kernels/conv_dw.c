/* runtime/kernels/conv_dw.c — depthwise convs (group == C == M) for conv.c, one channel at a
 * time: the reference loop (interior columns without bounds checks, AVX2 blocks with the
 * reference's bits) and the padded-plane loops (AVX2; AVX-512 with the fused epilogue). The
 * direct register blocks for 3x3 to 7x7 are dw_fast.c's. */
#include "internal.h"
#include "conv_dw.h"
#include "simd512.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define TGT512 AFK_TGT512

/* pad (PH, PW) = x's plane (H, W) at the conv's top/left pads, zeros around; fresh: the
 * border must be (re)written, else it still holds the previous channel's zeros and only the
 * data rows are copied. */
static void fill_pad(const conv_geom *g, const float *x, float *pad, int64_t PH, int64_t PW,
                     int fresh)
{
    const int64_t top = g->pb[1], left = g->pb[2], right = PW - left - g->in[2];
    if (fresh) {
        memset(pad, 0, (size_t)(top * PW) * sizeof *pad);
        memset(pad + (top + g->in[1]) * PW, 0, (size_t)((PH - top - g->in[1]) * PW) * sizeof *pad);
    }
    for (int64_t ih = 0; ih < g->in[1]; ih++) {
        float *row = pad + (ih + top) * PW;
        if (fresh) {
            memset(row, 0, (size_t)left * sizeof *row);
            memset(row + left + g->in[2], 0, (size_t)right * sizeof *row);
        }
        memcpy(row + left, x + ih * g->in[2], (size_t)g->in[2] * sizeof *pad);
    }
}
#endif

/* Output columns [lo, hi) whose whole kernel row lies inside the input (no bounds checks). */
static void interior_cols(const conv_geom *g, int64_t *lo, int64_t *hi)
{
    int64_t s = g->s[2], span = g->d[2] * (g->k[2] - 1);
    *lo = (g->pb[2] + s - 1) / s;
    *hi = g->in[2] - 1 - span + g->pb[2] < 0 ? 0 : (g->in[2] - 1 - span + g->pb[2]) / s + 1;
    if (*hi > g->out[2]) *hi = g->out[2];
    if (*lo > *hi) *lo = *hi;
}

/* One output row of a 2-D depthwise conv, columns [lo, hi) all interior:
 *  y[ow] = sum over (kh, kw) of x[ih(kh), ow*s - pb + kw*d] * w[kh, kw]. */
static void dw_row_interior(const conv_geom *g, const float *x, const float *w, int64_t oh, int64_t lo,
                int64_t hi, float *y)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2];
    for (int64_t ow = lo; ow < hi; ow++) y[ow] = 0.0f;
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
        if (ih < 0 || ih >= g->in[1]) continue;
        const float *row = x + ih * g->in[2] - g->pb[2];
        for (int64_t kw = 0; kw < KW; kw++) {
            const float wk = w[kh * KW + kw], *r = row + kw * d;
            if (s == 1)
                for (int64_t ow = lo; ow < hi; ow++) y[ow] += r[ow] * wk;
            else
                for (int64_t ow = lo; ow < hi; ow++) y[ow] += r[ow * s] * wk;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* 8 floats x[0], x[s], ..., x[7s] for s = 1 or 2 (s = 2 reads x[0..15]). */
__attribute__((target("avx2"))) static inline __m256 load_strided8(const float *x, int64_t s)
{
    if (s == 1) return _mm256_loadu_ps(x);
    __m256 a = _mm256_loadu_ps(x), b = _mm256_loadu_ps(x + 8);
    __m256 ev = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* dw_row_interior with 8 outputs in a register: the same products added in the same (kh, kw)
 * order, with separate multiply and add, so the bits equal the reference loop's. Stride 1 or
 * 2, at most 16 kernel rows; returns the first column it did not compute. */
__attribute__((target("avx2"))) static int64_t dw_row_avx2(const conv_geom *g, const float *x,
                                                          const float *w, int64_t oh,
                                                          int64_t lo, int64_t hi, float *y)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2], W = g->in[2], off = -g->pb[2];
    const float *rows[16], *wr[16];
    int nr = 0;
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
        if (ih < 0 || ih >= g->in[1]) continue;
        rows[nr] = x + ih * W + off;
        wr[nr++] = w + kh * KW;
    }
    int64_t ow = lo;
    /* the last block's furthest read, x[(ow+7)s + (s-1) + (KW-1)d + off], must be < W */
    for (; ow + 8 <= hi && (ow + 7) * s + (s - 1) + (KW - 1) * d + off < W; ow += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int r = 0; r < nr; r++)
            for (int64_t kw = 0; kw < KW; kw++)
                acc = _mm256_add_ps(acc, _mm256_mul_ps(load_strided8(rows[r] + ow * s + kw * d, s),
                                                       _mm256_set1_ps(wr[r][kw])));
        _mm256_storeu_ps(y + ow, acc);
    }
    return ow;
}

/* Depthwise on a zero-padded copy of the plane: every output column takes the AVX2 path (the
 * padding adds exact zero products, as ONNX Runtime's im2col does). */

__attribute__((target("avx2"))) static __m256 dw_finish(__m256 v, const dw_epi *e)
{
    if (e->kind < 0) return v;
    v = _mm256_add_ps(v, _mm256_set1_ps(e->bias));
    if (e->kind == AFK_ACT_RELU) {
        __m256 z = _mm256_setzero_ps();
        v = _mm256_blendv_ps(v, z, _mm256_cmp_ps(v, z, _CMP_LT_OQ));
    } else if (e->kind == AFK_ACT_CLIP) {
        __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
        __m256 below = _mm256_cmp_ps(v, lo, _CMP_LT_OQ);
        v = _mm256_blendv_ps(v, hi, _mm256_cmp_ps(v, hi, _CMP_GT_OQ));
        v = _mm256_blendv_ps(v, lo, below);
    }
    return v;
}

/* fresh: the padding border of pad must be (re)written; otherwise it still holds zeros from
 * the previous channel of the same task and only the data rows are copied. */
__attribute__((target("avx2"))) void afk_dw_padded_avx2(const conv_geom *g, const float *x,
                                                          const float *w, float *y, float *pad,
                                                          int64_t PH, int64_t PW, float *rowbuf,
                                                          int fresh, const dw_epi *e)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2], OW = g->out[2];
    fill_pad(g, x, pad, PH, PW, fresh);
    for (int64_t oh = 0; oh < g->out[1]; oh++) {
        const float *rows[16];
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            rows[kh] = pad + (oh * g->s[1] + kh * g->d[1]) * PW;
        for (int64_t ow = 0; ow < OW; ow += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    acc = _mm256_add_ps(acc, _mm256_mul_ps(load_strided8(rows[kh] + ow * s + kw * d, s),
                                                           _mm256_set1_ps(w[kh * KW + kw])));
            acc = dw_finish(acc, e);
            if (ow + 8 <= OW) {
                _mm256_storeu_ps(y + oh * OW + ow, acc);
            } else { /* the row's last, partial block */
                _mm256_storeu_ps(rowbuf, acc);
                memcpy(y + oh * OW + ow, rowbuf, (size_t)(OW - ow) * sizeof *y);
            }
        }
    }
}
#endif

#if defined(__x86_64__) || defined(__i386__)
/* 16 floats x[0], x[s], ..., x[15s] for s = 1 or 2 (s = 2 reads x[0..31]). */
TGT512 static inline __m512 load_strided16(const float *x, int64_t s)
{
    if (s == 1) return _mm512_loadu_ps(x);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(x), even, _mm512_loadu_ps(x + 16));
}

/* Output rows oh .. oh+nr-1, nv blocks of 16 columns from ow, from the padded plane: nr * nv
 * independent accumulators hide the FMA latency; each lane's FMAs still run from 0 in (kh, kw)
 * order, so the bits do not depend on the tiling. */
typedef struct dw_tile {
    const conv_geom *g;
    const float *pad, *w;
    int64_t PW;
    int act;
    const pg_epi *e;
    float *y;
} dw_tile;

TGT512 __attribute__((always_inline)) static inline void
dw_tile512(const dw_tile *t, int64_t oh, int64_t ow, const int nr, const int nv)
{
    const conv_geom *g = t->g;
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2], OW = g->out[2];
    __m512 acc[8][4];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        const float *row = t->pad + (oh * g->s[1] + kh * g->d[1]) * t->PW + ow * s;
        for (int64_t kw = 0; kw < KW; kw++) {
            __m512 wv = _mm512_set1_ps(t->w[kh * KW + kw]);
#pragma GCC unroll 8
            for (int r = 0; r < nr; r++) {
                const float *p = row + r * g->s[1] * t->PW + kw * d;
#pragma GCC unroll 4
                for (int v = 0; v < nv; v++)
                    acc[r][v] = _mm512_fmadd_ps(load_strided16(p + 16 * v * s, s), wv, acc[r][v]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            int64_t left = OW - ow - 16 * v;
            __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            if (t->act >= 0) acc[r][v] = epi_short512(acc[r][v], t->e, 0);
            _mm512_mask_storeu_ps(t->y + (oh + r) * OW + ow + 16 * v, m, acc[r][v]);
        }
    /* sigmoid, SiLU, GELU on the stored vectors (a call per vector would spill the rest) */
    for (int r = 0; t->act >= 0 && afk_act_long(t->e->act) && r < nr; r++)
        for (int v = 0; v < nv; v++) {
            int64_t left = OW - ow - 16 * v;
            __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            float *o = t->y + (oh + r) * OW + ow + 16 * v;
            _mm512_mask_storeu_ps(o, m, act_full512(_mm512_maskz_loadu_ps(m, o), t->e));
        }
}

/* nv blocks (1, 2 or 4) of columns from ow for every output row: groups of 8 / nv rows, then
 * the rest in halving groups (up to 8 accumulators: FMA latency x 2 ports). */
TGT512 static void dw_cols512(const dw_tile *t, int64_t ow, int nv)
{
    const int64_t OH = t->g->out[1];
    int64_t oh = 0;
#define DW_GROUP(R, NV) for (; oh + (R) <= OH; oh += (R)) dw_tile512(t, oh, ow, R, NV)
    if (nv == 1) {
        DW_GROUP(8, 1);
        DW_GROUP(4, 1);
        DW_GROUP(2, 1);
        DW_GROUP(1, 1);
    } else if (nv == 2) {
        DW_GROUP(4, 2);
        DW_GROUP(2, 2);
        DW_GROUP(1, 2);
    } else {
        DW_GROUP(2, 4);
        DW_GROUP(1, 4);
    }
#undef DW_GROUP
}

/* dw_padded_avx2 with 16 outputs per register and one FMA per product (within the sum bound
 * of the reference, not its bits); bias + act (afk_pgemm_act's kinds) per finished row. */
TGT512 void afk_dw_padded_avx512(const conv_geom *g, const float *x, const float *w, float *y,
                                    float *pad, int64_t PH, int64_t PW, int fresh, int act,
                                    float bias, float lo, float hi)
{
    const int64_t OW = g->out[2];
    const pg_epi e = {.bias = &bias, .act = act, .lo = lo, .hi = hi};
    fill_pad(g, x, pad, PH, PW, fresh);
    const dw_tile t = {g, pad, w, PW, act, &e, y};
    for (int64_t ow = 0; ow < OW;) { /* 64, 32 or 16 columns at a time */
        int64_t nv = (OW - ow + 15) / 16;
        nv = nv >= 4 ? 4 : nv >= 2 ? 2 : 1;
        dw_cols512(&t, ow, (int)nv);
        ow += 16 * nv;
    }
}
#endif

/* Padded-plane depthwise: 2-D, stride 1 or 2 along W, <= 16 kernel rows, and a padded plane
 * below 2^28 floats. Fills its height, width and the scratch floats it needs. */
int afk_dw_padded_geom(const conv_geom *g, int64_t *PH, int64_t *PW, int64_t *floats)
{
    if (g->k[0] != 1 || g->in[0] != 1 || g->out[0] != 1 || (g->s[2] != 1 && g->s[2] != 2) ||
        g->k[1] > 16 || g->out[2] < 1)
        return 0;
    const int64_t lim = (int64_t)1 << 28;
    if (g->in[1] > lim || g->in[2] > lim || g->pb[1] + g->pe[1] > lim || g->pb[2] + g->pe[2] > lim ||
        g->out[2] > lim || g->k[2] > lim || g->d[2] > lim)
        return 0;
    int64_t ow8 = (g->out[2] + 15) / 16 * 16; /* whole 8- or 16-wide blocks */
    int64_t need = ow8 * g->s[2] + (g->k[2] - 1) * g->d[2] + 1; /* the last block's reads */
    *PH = g->in[1] + g->pb[1] + g->pe[1];
    *PW = g->in[2] + g->pb[2] + g->pe[2];
    if (need > *PW) *PW = need;
    if (*PH > lim / *PW) return 0;
    *floats = *PH * *PW + ow8;
    return 1;
}

/* Interior columns [lo, hi) of one output row: AVX2 blocks where they apply, then the
 * reference loop for the rest. */
static void dw_row_fast(const conv_geom *g, const float *x, const float *w, int64_t oh,
                        int64_t lo, int64_t hi, float *y)
{
#if defined(__x86_64__) || defined(__i386__)
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx2") ? 1 : 0;
    if (have && !afk_vec_force_portable && (g->s[2] == 1 || g->s[2] == 2) && g->k[1] <= 16)
        lo = dw_row_avx2(g, x, w, oh, lo, hi, y);
#endif
    if (hi > lo) dw_row_interior(g, x, w, oh, lo, hi, y);
}

/* y (OD, OH, OW) = sum over the kernel of x (D, H, W) * w (K), one channel. */
void afk_dw_channel(const conv_geom *g, const float *x, const float *w, float *y)
{
    int64_t lo = 0, hi = 0;
    if (g->k[0] == 1 && g->in[0] == 1 && g->out[0] == 1) interior_cols(g, &lo, &hi);
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++) {
            if (hi > lo) dw_row_fast(g, x, w, oh, lo, hi, y + oh * g->out[2]);
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                if (ow >= lo && ow < hi) continue;
                float s = 0.0f;
                const float *wk = w;
                for (int64_t kd = 0; kd < g->k[0]; kd++) {
                    int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                    int okd = id >= 0 && id < g->in[0];
                    for (int64_t kh = 0; kh < g->k[1]; kh++) {
                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        int ok = okd && ih >= 0 && ih < g->in[1];
                        const float *row = ok ? x + (id * g->in[1] + ih) * g->in[2] : x;
                        for (int64_t kw = 0; kw < g->k[2]; kw++, wk++) {
                            int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];
                            if (ok && iw >= 0 && iw < g->in[2]) s += row[iw] * *wk;
                        }
                    }
                }
                y[(od * g->out[1] + oh) * g->out[2] + ow] = s;
            }
        }
}

