/* runtime/kernels/dw_fast.c — direct AVX-512F depthwise conv, 3x3, 5x5 and 7x7, stride 1 and 2.
 *
 * No padded copy of the plane: a block of R output rows x NV*16 output columns keeps R*NV
 * accumulators; each input row the block touches is loaded once per (kw, vector) and added
 * into every output row whose kernel covers it. Rows above/below the image read a row of zeros,
 * columns left/right of it are masked-off lanes (zeros), so every output gets the same K*K
 * FMAs in (kh, kw) order as from a zero-padded plane: the bits do not depend on the tiling.
 * Each input row is loaded once per block: its 16*S*NV columns from the block's first, plus a
 * tail of K - 1; tap kw is then those vectors moved kw lanes on (valignd, the next vector's
 * first lanes shifted in). Stride 2 first splits each 32 columns into even and odd lanes (two
 * permutes): tap kw is parity kw & 1 moved kw / 2 lanes on. Loads per row and vector drop from
 * K (stride 2: 2K, and K permutes) to 1 (2).
 */
#include "dw_fast.h"

#include "internal.h"
#include "simd512.h"

#if defined(__x86_64__) || defined(__i386__)

/* The lane masks of one column block: the row loads from the block's first column c0 on,
 * m[vector][half] (half 1: stride 2's second 16 columns), and the tail's (the K - 1 columns
 * after them). Lanes outside the row are not read (zeros). */
typedef struct dw_masks {
    __mmask16 m[2][2];
    __mmask16 tail;
} dw_masks;

static void dw_masks_of(const afk_dw2d *d, int64_t ow0, int K, int S, int NV, dw_masks *mk)
{
    const int64_t c0 = ow0 * S - d->pl, t = c0 + 16 * S * NV;
    const int inside = c0 >= 0 && t <= d->W; /* every lane of every vector load */
    for (int v = 0; v < NV; v++) {
        int64_t c = c0 + 16 * S * v;
        mk->m[v][0] = inside ? 0xffff : afk_lane_range(-c, d->W - c);
        mk->m[v][1] = S == 1 ? 0 : inside ? 0xffff : afk_lane_range(-c - 16, d->W - c - 16);
    }
    mk->tail = afk_lane_range(-t, d->W - t < K - 1 ? d->W - t : K - 1);
}

/* The masks of column block i (32 columns per pair): cached[i] when i < n_cached, else
 * computed into *tmp (out of line: no branch in the block loops for the compiler to unswitch
 * into a second copy of every block). */
__attribute__((noinline)) static const dw_masks *
dw_masks_at(const afk_dw2d *d, const dw_masks *cached, int n_cached, int64_t i, int K, int S,
            int NV, dw_masks *tmp)
{
    if (i < n_cached) return &cached[i];
    dw_masks_of(d, i * 32, K, S, NV, tmp);
    return tmp;
}

/* Rows [oh0, oh0+R) x columns [ow0, ow0 + 16*NV) of y = buf (R x NV vectors) with bias + act
 * when fused; out of line, so the blocks' unrolled copies do not each carry the epilogue. */
AFK_TGT512 __attribute__((noinline)) static void dw_store(const afk_dw2d *d, const __m512 *buf,
                                                         int R, int NV, int64_t oh0, int64_t ow0)
{
    const pg_epi e = {.bias = &d->bias, .act = d->act, .lo = d->lo, .hi = d->hi};
    float *y = d->y + oh0 * d->OW + ow0;
    for (int v = 0; v < NV; v++) {
        int64_t left = d->OW - ow0 - 16 * v;
        __mmask16 sm = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1u);
        for (int r = 0; r < R; r++) {
            __m512 x = buf[r * NV + v];
            if (d->act >= 0) x = epi_full512(x, &e, 0);
            _mm512_mask_storeu_ps(y + r * d->OW + 16 * v, sm, x);
        }
    }
}

/* Output rows [oh0, oh0+R) x columns [ow0, ow0 + 16*NV) from the input rows rows[0..J) (the
 * block's rows, zero rows outside the image); K, S, R, NV compile-time after inlining. */
AFK_TGT512 __attribute__((always_inline)) static inline void
dw_block(const afk_dw2d *d, const float *const *rows, int64_t oh0, int64_t ow0,
         const dw_masks *mk, const int K, const int S, const int R, const int NV)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const float *w = d->w;
    const int64_t c0 = ow0 * S - d->pl;
    __m512 acc[7][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    const int J = (R - 1) * S + K; /* input rows under the block */
#pragma GCC unroll 17
    for (int j = 0; j < J; j++) {
        const float *row = rows[j] + c0;
        /* q[0..NV]: the row's vectors (stride 1), or its even lanes and o[0..NV] its odd ones
         * (stride 2); [NV] from the tail */
        __m512 q[3], o[3];
        if (S == 2) {
            const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) {
                __m512 a = _mm512_maskz_loadu_ps(mk->m[v][0], row + 32 * v);
                __m512 b = _mm512_maskz_loadu_ps(mk->m[v][1], row + 32 * v + 16);
                q[v] = _mm512_permutex2var_ps(a, even, b);
                o[v] = _mm512_permutex2var_ps(a, odd, b);
            }
            __m512 t = _mm512_maskz_loadu_ps(mk->tail, row + 32 * NV);
            q[NV] = _mm512_permutexvar_ps(even, t);
            o[NV] = _mm512_permutexvar_ps(odd, t);
        } else {
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) q[v] = _mm512_maskz_loadu_ps(mk->m[v][0], row + 16 * v);
            q[NV] = _mm512_maskz_loadu_ps(mk->tail, row + 16 * NV);
        }
#pragma GCC unroll 7
        for (int kw = 0; kw < K; kw++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) {
                const __m512 *p = S == 2 && (kw & 1) ? o : q;
                const int sh = S == 2 ? kw >> 1 : kw;
                const __m512 xv = afk_shift_in(p[v], p[v + 1], sh);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    const int kh = j - r * S;
                    if (kh < 0 || kh >= K) continue;
                    acc[r][v] = _mm512_fmadd_ps(xv, _mm512_set1_ps(w[kh * K + kw]), acc[r][v]);
                }
            }
    }
    __m512 buf[14];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) buf[r * NV + v] = acc[r][v];
    dw_store(d, buf, R, NV, oh0, ow0);
}

/* Every output row in blocks of R (the last block moved up to end at OH: it recomputes a few
 * rows with the same FMAs, so the same bits); per row block, pairs of 16-column vectors, then
 * one. Row-major, so the block's input rows stay in L1 across its columns. */
AFK_TGT512 __attribute__((always_inline)) static inline void
dw_plane_r(const afk_dw2d *d, const int K, const int S, const int R)
{
    enum { CACHED = 5 }; /* masks of the first column blocks, computed once per plane */
    const float *rows[19]; /* (R - 1) * S + K <= 6 * 2 + 7 */
    const int J = (R - 1) * S + K;
    const int64_t blocks = (d->OW + 15) / 16, pairs = blocks / 2;
    dw_masks mk[CACHED], tmp;
    for (int64_t i = 0; i < pairs + 1 && i < CACHED; i++)
        dw_masks_of(d, i * 32, K, S, i < pairs ? 2 : 1, &mk[i]);
    for (int64_t oh = 0;; oh += R) {
        if (oh + R > d->OH) oh = d->OH - R;
        for (int j = 0; j < J; j++) {
            int64_t ih = oh * S - d->pt + j;
            rows[j] = ih >= 0 && ih < d->H ? d->x + ih * d->W : d->zero;
        }
        /* the R * S rows after the next block's (past the plane: the next plane's first): in
         * a model the input is the op before's output, mostly in L3, and the loads stalled */
        afk_prefetch_bytes(d->x + ((oh + R) * S - d->pt + J) * d->W,
                           R * S * d->W * (int64_t)sizeof(float));
        for (int64_t i = 0; i < (R > 4 ? 0 : pairs); i++) /* R > 4: maps <= 16 wide */
            dw_block(d, rows, oh, i * 32, dw_masks_at(d, mk, CACHED, i, K, S, 2, &tmp), K, S, R, 2);
        if (blocks % 2)
            dw_block(d, rows, oh, pairs * 32, dw_masks_at(d, mk, CACHED, pairs, K, S, 1, &tmp), K,
                     S, R, 1);
        if (oh + R >= d->OH) break;
    }
}

/* One plane: 4-row blocks (8 accumulators with column pairs); maps up to 16 columns wide
 * (one vector) in 7-row blocks (7x7 and 14x14 maps without recomputed rows). */
#define DW_PLANE(K, S)                                                                           \
    AFK_TGT512 static void dw_plane_##K##_##S(const afk_dw2d *d)                                 \
    {                                                                                            \
        if (d->OW <= 16 && d->OH >= 7) dw_plane_r(d, K, S, 7);                                   \
        else dw_plane_r(d, K, S, 4);                                                             \
    }

DW_PLANE(3, 1)
DW_PLANE(3, 2)
DW_PLANE(5, 1)
DW_PLANE(5, 2)
DW_PLANE(7, 1)
DW_PLANE(7, 2)
#undef DW_PLANE

typedef void (*dw_plane_fn)(const afk_dw2d *d);
/* [k / 2 - 1][s == 2] */
static const dw_plane_fn dw_plane_tab[3][2] = {{dw_plane_3_1, dw_plane_3_2},
                                               {dw_plane_5_1, dw_plane_5_2},
                                               {dw_plane_7_1, dw_plane_7_2}};

int afk_dw2d_applies(int64_t k, int64_t s, int64_t oh)
{
    return (k == 3 || k == 5 || k == 7) && (s == 1 || s == 2) && oh >= 4 &&
           afk_pgemm_nr() == 32 && !afk_vec_force_portable;
}

void afk_dw2d_run(const afk_dw2d *d)
{
    if (d->OH > 0 && d->OW > 0) dw_plane_tab[d->k / 2 - 1][d->s == 2](d);
}

#elif !defined(__aarch64__) /* AArch64: dw_neon.c */

int afk_dw2d_applies(int64_t k, int64_t s, int64_t oh)
{
    (void)k, (void)s, (void)oh;
    return 0;
}

void afk_dw2d_run(const afk_dw2d *d) { (void)d; }

#endif
