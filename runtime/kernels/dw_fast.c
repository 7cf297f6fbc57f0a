/* runtime/kernels/dw_fast.c — direct AVX-512F depthwise conv, 3x3, 5x5 and 7x7, stride 1 and 2.
 *
 * No padded copy of the plane: a block of R output rows x NV*16 output columns keeps R*NV
 * accumulators; each input row the block touches is loaded once per (kw, vector) and added
 * into every output row whose kernel covers it. Rows above/below the image read a row of zeros,
 * columns left/right of it are masked-off lanes (zeros), so every output gets the same K*K
 * FMAs in (kh, kw) order as from a zero-padded plane: the bits do not depend on the tiling.
 * Stride 2 gathers the even lanes of two loads with one permute.
 */
#include "dw_fast.h"

#include "internal.h"
#include "simd512.h"

#if defined(__x86_64__) || defined(__i386__)

/* The lane masks of one column block: [kw][vector][half] (half 1: stride 2's second load). */
typedef struct dw_masks {
    __mmask16 m[7][2][2];
} dw_masks;

static void dw_masks_of(const afk_dw2d *d, int64_t ow0, int K, int S, int NV, dw_masks *mk)
{
    int64_t c0 = ow0 * S - d->pl, last = (ow0 + 16 * NV) * S + K - 2 + (S == 2) - d->pl;
    for (int kw = 0; kw < K; kw++)
        for (int v = 0; v < NV; v++) {
            int64_t c = c0 + 16 * v * S + kw;
            int inside = c0 >= 0 && last < d->W; /* every lane of every load */
            mk->m[kw][v][0] = inside ? 0xffff : afk_lane_range(-c, d->W - c);
            mk->m[kw][v][1] = inside ? 0xffff : afk_lane_range(-c - 16, d->W - c - 16);
        }
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
    const pg_epi e = {&d->bias, d->act, d->lo, d->hi, NULL};
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
#pragma GCC unroll 5
        for (int kw = 0; kw < K; kw++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) {
                const float *p = row + 16 * v * S + kw;
                __m512 xv = _mm512_maskz_loadu_ps(mk->m[kw][v][0], p);
                if (S == 2)
                    xv = _mm512_permutex2var_ps(xv, even,
                                                _mm512_maskz_loadu_ps(mk->m[kw][v][1], p + 16));
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
