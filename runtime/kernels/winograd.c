/* runtime/kernels/winograd.c — 3×3 stride-1 convolution by Winograd F(4×4, 3×3) or F(2×2, 3×3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) on sgemm_packed.c's
 * packed GEMM: AVX-512F (32-wide panels, transforms below), AVX2+FMA (16-wide panels, the
 * same transforms on 8 lanes in winograd_avx2.c) or NEON (8-wide panels, 4 lanes in
 * winograd_neon.c); "32-wide" and "16 slots at once" below read 16 and 8, or 8 and 4, there. Written below for F(4×4) (6×6 tiles, 36 matrices); F(2×2) is the
 * same with 4×4 tiles on a step of 2 and 16 matrices: 2.25× fewer multiplies than direct
 * instead of 4×, but 16 instead of 36 transformed weight matrices to stream, which wins on
 * maps of about 14×14 with AVX-512 (AVX2 multiplies slowly enough for F(4×4) to win there).
 *
 *   U[k] (M, C)  = (G g G^T)[k]   k = 0..35, per (output, input) channel pair, once per session
 *   V[k] (C, nb) = (B^T d B)[k]   per input channel and 6×6 input tile d (step 4, zero padded)
 *   Z[k] (M, nb) = U[k] @ V[k]
 *   y 4×4        = A^T Z A, then bias, a fused residual (if any) and activation
 *
 * 36 products per 16 outputs instead of 144: 4× fewer multiplies than the direct conv; the
 * transforms cost a fraction of the GEMMs that shrinks as channels grow.
 *
 * The GEMMs' columns are tile slots: tile (ty, tx) is slot ty*S + tx, with S (4, 8 or a
 * multiple of 16) at least the tiles per row, so 16 consecutive slots are 1, 2 or 4 whole tile
 * rows or a 16-part of one, and every 4 slots share a row (slots past a row's end are computed
 * and dropped). A task takes one block of NB slots (a multiple of the 32-wide panel) and a
 * range of output channels: it transforms the block's input into V (written straight in the
 * GEMM's B-panel layout), then per chunk of output channels runs the 36 GEMMs into Z and the
 * output transform. The transforms work on 16 slots at once, one per lane; 4 slots (16 input
 * or output columns) come from one row by a deinterleave, and map edges are masked. Each
 * output depends only on the shapes (never on the task split), so results do not depend on
 * the thread count.
 *
 * Rounding: the transforms add and scale by small integers and 1/4, 1/6, 1/24 (G), so errors
 * are a few times a direct sum's (bound in test_kernels_fast.c). F(6×6) would save more
 * multiplies but loses ~2 more decimal digits.
 */
#include "internal.h"
#include "qgemm.h"
#include "neon.h"
#include "simd512.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <string.h>

enum { PANEL = 32, KC = AFK_PGEMM_KC, PAD = 16, MEM_SLOTS = 56, V_BYTES = 3 << 19, U_SMALL = 1 << 20,
       U_BIG = 32 << 20 };

int afk_wino_mode = -1;
int afk_wino_int8 = 1;

/* Transformed matrices: (m + 2)^2, 36 for F(4x4), 16 for F(2x2). */
static int nk(const afk_wino *w) { return (w->m + 2) * (w->m + 2); }

/* Slots per tile row (S above) and in all; slots per task block. A 16-float input row load
 * covers 16/m tiles, so S is 16/m, twice that (below 16), or a multiple of 16. */
static int64_t slot_w(const afk_wino *w)
{
    int64_t tw = (w->OW + w->m - 1) / w->m, L = 16 / w->m;
    return tw <= L ? L : tw <= 2 * L && 2 * L < 16 ? 2 * L : (tw + 15) / 16 * 16;
}
static int64_t tiles(const afk_wino *w) { return (w->OH + w->m - 1) / w->m * slot_w(w); }
/* The GEMM's B panel width: 32 (AVX-512F), 16 (AVX2+FMA, transforms in winograd_avx2.c) or 8
 * (NEON, winograd_neon.c). */
static int64_t panel(void)
{
    int nr = afk_pgemm_nr();
    return nr == 16 || nr == 8 ? nr : PANEL;
}
/* As few blocks as keep a block's V within V_BYTES (each block streams all of U once), of
 * equal size in whole panels. */
static int64_t block_tiles(const afk_wino *w)
{
    if (w->nb > 0) return w->nb;
    const int64_t P = panel();
    int64_t most = V_BYTES / ((int64_t)sizeof(float) * nk(w) * w->C) / P * P;
    most = most < P ? P : most;
    int64_t blocks = (tiles(w) + most - 1) / most;
    return ((tiles(w) + blocks - 1) / blocks + P - 1) / P * P;
}
/* Output channels per GEMM chunk: 4 micro-tiles of the AVX-512 kernel; int8 compute (w->Uq8)
 * quantizes V[k] once per chunk, so takes QCHUNK of them. */
enum { QCHUNK = 8 };
static int64_t mchunk_of(int q8) { return (q8 ? QCHUNK : 4) * (int64_t)afk_pgemm_mr(); }
static int64_t mchunk(const afk_wino *w) { return mchunk_of(w->Uq8 != NULL); }

/* Floats between consecutive k-planes of V (C rows) and Z (MCH rows): padded by 64 bytes so
 * the planes do not share cache sets. */
static size_t vstride(const afk_wino *w) { return (size_t)(w->C * block_tiles(w) + PAD); }
static size_t zstride(const afk_wino *w) { return (size_t)(mchunk(w) * block_tiles(w) + PAD); }

static int64_t pad_panel(int64_t n) { return (n + panel() - 1) / panel() * panel(); }

/* At least this many columns' worth per GEMM: the time to stream its weights from memory
 * when the map is small (calibrated: F(4x4) on ResNet's 14x14 maps measured no faster than
 * the direct conv). AVX-512 only: see avx2_cols. */
static int64_t mem_slots(void) { return panel() < PANEL ? 0 : MEM_SLOTS; }

/* AVX2 multiplies at half the AVX-512 rate, so the weights stream in the shadow of the
 * products and the transforms' share shrinks with the channels: the columns plus 16/min(C, M)
 * of them, and 8 more when the transformed weights (nk matrices) outgrow a last-level cache
 * (U_BIG). Measured on Zen 3, one thread (docs/performance.md): 64 ch @ 56x56 F(4x4) 1.45x
 * its columns' worth, 512 ch @ 7x7 F(2x2) 1.0x (its weights cached), 1280 ch @ 8x8 F(2x2)
 * 1.15x (streamed from memory). */
static int64_t avx2_cols(const afk_wino *w, int64_t cols)
{
    int64_t ch = w->C < w->M ? w->C : w->M;
    int64_t big = (int64_t)sizeof(float) * nk(w) * w->M * w->C > U_BIG ? 8 : 0;
    return cols + cols * 16 / ch + big;
}

/* Cost in GEMM slots per (output, input) channel pair: products per column times the
 * columns (whole panels), the transforms a quarter more (AVX2, and NEON, whose 4-lane FMA
 * rate is of AVX2's order: avx2_cols; not measured on ARM hardware, docs/arm64.md); at least
 * mem_slots() columns. */
static int64_t wino_cost(const afk_wino *w0, int m)
{
    afk_wino w = *w0;
    w.m = m;
    int64_t cols = panel() < PANEL ? avx2_cols(&w, pad_panel(tiles(&w)))
                                 : pad_panel(tiles(&w)) * 5 / 4;
    return nk(&w) * (cols > mem_slots() ? cols : mem_slots()) + w.wcost;
}

enum { BIG_U_MAP = 32 * 32 };
#define BIG_U (64.0 * 1024 * 1024)

static double u_bytes(const afk_wino *w, int m)
{
    return (m == 4 ? 36.0 : 16.0) * (double)w->M * (double)w->C * sizeof(float);
}

int afk_wino_applies(afk_wino *w)
{
    w->m = 4;
    const int nr = afk_pgemm_nr();
    if (afk_wino_mode == 0 || (nr != 32 && nr != 16 && nr != 8) || w->act < 0) return 0;
    /* bounds keep every size below far from overflow */
    if (w->C < 1 || w->M < 1 || w->C > 16384 || w->M > 16384 || w->OH < 1 || w->OW < 1 ||
        w->OH > 65536 || w->OW > 65536 || w->H > 65536 || w->W > 65536 || w->pt > 2 || w->pl > 2)
        return 0;
    if (afk_wino_mode == 1 || afk_wino_mode == 2) {
        w->m = afk_wino_mode == 1 ? 4 : 2;
        w->gain2 = 9.0f;
        return 1;
    }
    /* the direct conv packs 9 rows per channel for every output (its weights stream too) */
    int64_t p = pad_panel(w->dout > 0 ? w->dout : w->OH * w->OW);
    int64_t direct = 9 * (p > mem_slots() ? p : mem_slots());
    int64_t c4 = wino_cost(w, 4), c2 = wino_cost(w, 2);
    w->m = c2 < c4 ? 2 : 4;
    w->gain2 = (float)direct / (float)c2;
    /* memory: the transformed weights are 36 (F(4x4)) or 16 (F(2x2)) floats per 3x3 weight of
     * 9. A layer whose transformed weights pass BIG_U bytes takes them only on maps of at least
     * BIG_U_MAP outputs, where each weight serves enough of them: on smaller maps they cost more
     * memory than their time is worth (the SD UNet's 1280-channel convs at 16x16: 236 MB each,
     * 2.1 GB over the UNet, for ~0.75 s of a 8 s run). There, F(2x2) when its weights, 16/36 of
     * F(4x4)'s, fit and still beat the direct conv (FCN's 2048->512 head at 28x28: 64 MiB,
     * bench/conv_paths.c 78 against 160 ms direct on Zen 4). */
    if (w->OH * w->OW < BIG_U_MAP && u_bytes(w, w->m) > BIG_U) {
        if (w->m == 2 || u_bytes(w, 2) > BIG_U) return 0;
        w->m = 2;
        return c2 < direct;
    }
    return (c2 < c4 ? c2 : c4) < direct;
}

size_t afk_wino_pack_floats(const afk_wino *w) { return (size_t)(nk(w) * w->M * w->C); }

/* V and Z per thread; int8 compute (q8): larger Z chunks and qgemm's work buffer besides. */
static size_t thread_floats(const afk_wino *w, int q8)
{
    size_t z = (size_t)(mchunk_of(q8) * block_tiles(w) + PAD);
    size_t q = q8 ? afk_pgemm_work_floats(block_tiles(w)) + PAD : 0;
    return (size_t)nk(w) * (vstride(w) + z) + PAD + q;
}

size_t afk_wino_thread_floats(const afk_wino *w) { return thread_floats(w, w->Uq8 != NULL); }

/* int8 makes the direct conv's products 4x cheaper, not Winograd's transforms: it pays where
 * the f32 model gives F(2x2) 1.7x and both channel counts are >= 160 (on Zen 4,
 * bench/conv_paths.c int8 against int8w2: 640->640 at 16x16 (model 1.8) 5.09 against 4.44 ms,
 * 320->320 at 64x64 25.1 against 14.6-16.6; 64->64 at 56x56 (1.76) 1.13 against 1.29,
 * 256->256 at 14x14 (1.58) 0.81 against 0.86). F(2x2), whatever w's tile: F(4x4)'s output
 * transform (coefficients up to 8 per axis) multiplies the quantization error of its 36
 * products ~30-fold (the SD ResnetBlock2D read 41.7 dB against f32 compute with F(4x4), 57.2 dB
 * with F(2x2); direct int8: 62). */
int afk_wino_int8_ok(const afk_wino *w)
{
    return afk_wino_int8 && afk_q8_available() && w->gain2 >= 1.7f && w->C >= 160 && w->M >= 160;
}

size_t afk_wino_int8_thread_floats(const afk_wino *w)
{
    afk_wino t = *w;
    t.m = 2, t.nb = 0;
    return thread_floats(&t, 1);
}

#if defined(__x86_64__) || defined(__i386__)
#define TGT AFK_TGT512

/* ---- input: V = B^T d B -------------------------------------------------------------------- */

/* o = B^T d for one line of 6, B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 * 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]. */
TGT static inline void bt6(const __m512 d[6], __m512 o[6])
{
    const __m512 four = _mm512_set1_ps(4.0f), two = _mm512_set1_ps(2.0f);
    __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]); /* d4 - 4 d2 */
    __m512 b = _mm512_fnmadd_ps(four, d[1], d[3]); /* d3 - 4 d1 */
    __m512 c = _mm512_sub_ps(d[4], d[2]);
    __m512 e = _mm512_sub_ps(d[3], d[1]);
    o[0] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[0], d[2]), c);
    o[1] = _mm512_add_ps(a, b);
    o[2] = _mm512_sub_ps(a, b);
    o[3] = _mm512_fmadd_ps(two, e, c);
    o[4] = _mm512_fnmadd_ps(two, e, c);
    o[5] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[3]), _mm512_sub_ps(d[5], d[3]));
}

/* Lanes 0..7 from a|b, 8..15 from c|d: lane t of each half = element 4t + j of its pair. */
TGT static inline __m512 deal4(__m512 a, __m512 b, __m512 c, __m512 d, int j)
{
    const __m512i idx = _mm512_add_epi32(
        _mm512_set1_epi32(j), _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28));
    return _mm512_mask_blend_ps(0xff00, _mm512_permutex2var_ps(a, idx, b),
                                _mm512_permutex2var_ps(c, idx, d));
}

/* 16 floats from column col of input row y of plane xc; zeros outside the map. */
TGT static inline __m512 load16(const afk_wino *w, const float *xc, int64_t y, int64_t col)
{
    if (y < 0 || y >= w->H) return _mm512_setzero_ps();
    __mmask16 m = afk_lane_range(-col, w->W - col);
    return m ? _mm512_maskz_loadu_ps(m, xc + y * w->W + col) : _mm512_setzero_ps();
}

/* Slots [s0, s0+16) of channel plane xc into v: lane t of k-plane k at v[k*ks + t]. Input row
 * i of the 4 tiles at slots s0+4q..: 16 columns from 4tx - pl (elements j = 0..3 of each)
 * and 16 from 4 further (j = 4, 5). */
TGT static void input_group(const afk_wino *w, const float *xc, int64_t s0, float *v, size_t ks)
{
    const int64_t S = slot_w(w);
    int64_t y0[4], x0[4];
    for (int q = 0; q < 4; q++) {
        int64_t s = s0 + 4 * q;
        y0[q] = 4 * (s / S) - w->pt, x0[q] = 4 * (s % S) - w->pl;
    }
    __m512 t[6][6]; /* t[i] = B^T along input row i of the 16 tiles */
    for (int i = 0; i < 6; i++) {
        __m512 a[4], b[4], X[6];
        for (int q = 0; q < 4; q++) {
            a[q] = load16(w, xc, y0[q] + i, x0[q]);
            b[q] = load16(w, xc, y0[q] + i, x0[q] + 4);
        }
        for (int j = 0; j < 4; j++) X[j] = deal4(a[0], a[1], a[2], a[3], j);
        X[4] = deal4(b[0], b[1], b[2], b[3], 0);
        X[5] = deal4(b[0], b[1], b[2], b[3], 1);
        bt6(X, t[i]);
    }
    for (int j = 0; j < 6; j++) { /* then B^T down each column */
        __m512 d[6] = {t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]}, o[6];
        bt6(d, o);
        for (int i = 0; i < 6; i++) _mm512_store_ps(v + (size_t)(i * 6 + j) * ks, o[i]);
    }
}

/* F(2x2): o = B^T d for a line of 4, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. */
TGT static inline void bt4(const __m512 d[4], __m512 o[4])
{
    o[0] = _mm512_sub_ps(d[0], d[2]);
    o[1] = _mm512_add_ps(d[1], d[2]);
    o[2] = _mm512_sub_ps(d[2], d[1]);
    o[3] = _mm512_sub_ps(d[1], d[3]);
}

/* Element 2t + j of the pair a|b in lane t (t < 8: a, else b, each from its own start). */
TGT static inline __m512 deal2(__m512 a, __m512 b, int j)
{
    const __m512i idx = _mm512_add_epi32(
        _mm512_set1_epi32(j), _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    return _mm512_permutex2var_ps(a, idx, b);
}

/* input_group for F(2x2): 4x4 tiles on a step of 2, 8 tiles per 16-column load; lanes
 * 0..7 from the row at slot s0, 8..15 from the row at slot s0+8. */
TGT static void input_group2(const afk_wino *w, const float *xc, int64_t s0, float *v, size_t ks)
{
    const int64_t S = slot_w(w);
    int64_t y0[2], x0[2];
    for (int q = 0; q < 2; q++) {
        int64_t s = s0 + 8 * q;
        y0[q] = 2 * (s / S) - w->pt, x0[q] = 2 * (s % S) - w->pl;
    }
    __m512 t[4][4];
    for (int i = 0; i < 4; i++) {
        __m512 a0 = load16(w, xc, y0[0] + i, x0[0]), a1 = load16(w, xc, y0[1] + i, x0[1]);
        __m512 b0 = load16(w, xc, y0[0] + i, x0[0] + 2), b1 = load16(w, xc, y0[1] + i, x0[1] + 2);
        __m512 X[4] = {deal2(a0, a1, 0), deal2(a0, a1, 1), deal2(b0, b1, 0), deal2(b0, b1, 1)};
        bt4(X, t[i]);
    }
    for (int j = 0; j < 4; j++) {
        __m512 d[4] = {t[0][j], t[1][j], t[2][j], t[3][j]}, o[4];
        bt4(d, o);
        for (int i = 0; i < 4; i++) _mm512_store_ps(v + (size_t)(i * 4 + j) * ks, o[i]);
    }
}

/* V for slots [p0, p0+nb) of one image: channel c, block slot q lands in k-plane k at
 * V + k*vstride + k0*NB + (q/32)*kc*32 + (c-k0)*32 + q%32 (k0, kc: c's k block). Lanes past
 * nb are written too, up to the panel's end (zeros past the map, or tiles never stored). */
TGT static void input_block(const afk_wino *w, int64_t p0, int64_t nb, float *V)
{
    const int64_t NB = block_tiles(w);
    const size_t ks = vstride(w);
    for (int64_t c = 0; c < w->C; c++) {
        const int64_t k0 = c / KC * KC, kc = w->C - k0 < KC ? w->C - k0 : KC;
        const float *xc = w->x + c * w->H * w->W;
        float *vc = V + k0 * NB + (c - k0) * PANEL;
        for (int64_t q = 0; q < (nb + PANEL - 1) / PANEL * PANEL; q += 16)
            (w->m == 4 ? input_group : input_group2)(w, xc, p0 + q,
                                                     vc + q / PANEL * kc * PANEL + q % PANEL, ks);
    }
}

/* ---- output: y = A^T Z A ------------------------------------------------------------------- */

/* o (4) = A^T m (6), A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]. */
TGT static inline void at6(const __m512 m[6], __m512 o[4])
{
    __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
    o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m[5]);
}

/* Output row i of the 16 tiles at slots s0..: lane t of o[j] to column 4tx + j of the
 * tile's row 4ty + i; 4 slots (16 columns) per store, masked at the map's edges. */
TGT static void store_rows(const afk_wino *w, float *y, const float *r, int64_t s0, int i,
                           const __m512 o[4])
{
    /* with a residual r: act(y + r) here */
    const pg_epi ea = {.bias = NULL, .act = w->act, .lo = w->lo, .hi = w->hi};
    const __m512i base = _mm512_setr_epi32(0, 16, 0, 16, 1, 17, 1, 17, 2, 18, 2, 18, 3, 19, 3, 19);
    const int64_t S = slot_w(w);
    for (int q = 0; q < 4; q++) {
        int64_t s = s0 + 4 * q, row = 4 * (s / S) + i, col = 4 * (s % S);
        __mmask16 m = row < w->OH ? afk_lane_range(0, w->OW - col) : 0;
        if (!m) continue;
        __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32(4 * q));
        __m512 v = _mm512_mask_blend_ps(0xcccc, _mm512_permutex2var_ps(o[0], idx, o[1]),
                                        _mm512_permutex2var_ps(o[2], idx, o[3]));
        if (r) v = epi_full512(_mm512_add_ps(v, _mm512_maskz_loadu_ps(m, r + row * w->OW + col)), &ea, 0);
        _mm512_mask_storeu_ps(y + row * w->OW + col, m, v);
    }
}

/* Output channel m, slots [s0, s0+16) (the first n hold GEMM results): lane t of k-plane k
 * at z[k*ks + t]. */
TGT static void output_group(const afk_wino *w, int64_t m, const float *z, size_t ks, int64_t s0,
                             int n)
{
    const __mmask16 lanes = afk_lane_range(0, n);
    __m512 h[6][4];
    for (int i = 0; i < 6; i++) { /* A^T along each row of Z */
        __m512 r[6];
        for (int j = 0; j < 6; j++) r[j] = _mm512_maskz_loadu_ps(lanes, z + (size_t)(i * 6 + j) * ks);
        at6(r, h[i]);
    }
    const pg_epi e = {.bias = w->bias ? w->bias + m : NULL,
                      .act = w->res ? AFK_ACT_NONE : w->act, .lo = w->lo, .hi = w->hi};
    __m512 o[4][4];
    for (int j = 0; j < 4; j++) { /* then down each column */
        __m512 c[6] = {h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j]}, r[4];
        at6(c, r);
        for (int i = 0; i < 4; i++) o[i][j] = epi_full512(r[i], &e, 0);
    }
    const float *r = w->res ? w->res + m * w->OH * w->OW : NULL;
    for (int i = 0; i < 4; i++) store_rows(w, w->y + m * w->OH * w->OW, r, s0, i, o[i]);
}

/* F(2x2): o (2) = A^T m (4), A^T = [1 1 1 0; 0 1 -1 -1]. */
TGT static inline void at4(const __m512 m[4], __m512 o[2])
{
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
    o[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

/* output_group for F(2x2): output row i of the 16 tiles, 8 tiles (16 columns) per store. */
TGT static void output_group2(const afk_wino *w, int64_t m, const float *z, size_t ks, int64_t s0,
                              int n)
{
    const __mmask16 lanes = afk_lane_range(0, n);
    __m512 h[4][2];
    for (int i = 0; i < 4; i++) {
        __m512 r[4];
        for (int j = 0; j < 4; j++) r[j] = _mm512_maskz_loadu_ps(lanes, z + (size_t)(i * 4 + j) * ks);
        at4(r, h[i]);
    }
    const pg_epi e = {.bias = w->bias ? w->bias + m : NULL,
                      .act = w->res ? AFK_ACT_NONE : w->act, .lo = w->lo, .hi = w->hi};
    /* with a residual r: act(y + r) */
    const pg_epi ea = {.bias = NULL, .act = w->act, .lo = w->lo, .hi = w->hi};
    __m512 o[2][2];
    for (int j = 0; j < 2; j++) {
        __m512 c[4] = {h[0][j], h[1][j], h[2][j], h[3][j]}, r[2];
        at4(c, r);
        for (int i = 0; i < 2; i++) o[i][j] = epi_full512(r[i], &e, 0);
    }
    const __m512i base = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const int64_t S = slot_w(w);
    float *y = w->y + m * w->OH * w->OW;
    const float *res = w->res ? w->res + m * w->OH * w->OW : NULL;
    for (int q = 0; q < 2; q++) {
        int64_t s = s0 + 8 * q, col = 2 * (s % S);
        __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32(8 * q));
        for (int i = 0; i < 2; i++) {
            int64_t row = 2 * (s / S) + i;
            __mmask16 mk = row < w->OH ? afk_lane_range(0, w->OW - col) : 0;
            if (!mk) continue;
            __m512 v = _mm512_permutex2var_ps(o[i][0], idx, o[i][1]);
            if (res) v = epi_full512(_mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, res + row * w->OW + col)), &ea, 0);
            _mm512_mask_storeu_ps(y + row * w->OW + col, mk, v);
        }
    }
}

/* Rows [m0, m0+mc) of Z (planes zs apart, rows NB apart) for slots [p0, p0+nb) into y. */
TGT static void output_block(const afk_wino *w, int64_t m0, int64_t mc, int64_t p0, int64_t nb,
                             const float *Z)
{
    const int64_t NB = block_tiles(w);
    for (int64_t m = 0; m < mc; m++)
        for (int64_t q = 0; q < nb; q += 16)
            (w->m == 4 ? output_group : output_group2)(w, m0 + m, Z + m * NB + q, zstride(w),
                                                       p0 + q, (int)(nb - q < 16 ? nb - q : 16));
}

#endif

#if defined(__x86_64__) || defined(__i386__) || defined(AFK_NEON)
/* ---- tasks ---------------------------------------------------------------------------------- */

/* V for slots [p0, p0+nb) with the transforms of the kernel in use. */
static void input_xf(const afk_wino *w, int64_t p0, int64_t nb, float *V)
{
#if defined(AFK_NEON)
    afk_wino_input128(w, slot_w(w), p0, nb, block_tiles(w), V, vstride(w));
#else
    if (panel() == 16) afk_wino_input256(w, slot_w(w), p0, nb, block_tiles(w), V, vstride(w));
    else input_block(w, p0, nb, V);
#endif
}

/* y from Z rows [m0, m0+mc) for slots [p0, p0+nb), the same way. */
static void output_xf(const afk_wino *w, int64_t m0, int64_t mc, int64_t p0, int64_t nb,
                      const float *Z)
{
#if defined(AFK_NEON)
    afk_wino_output128(w, slot_w(w), m0, mc, p0, nb, block_tiles(w), Z, zstride(w));
#else
    if (panel() == 16)
        afk_wino_output256(w, slot_w(w), m0, mc, p0, nb, block_tiles(w), Z, zstride(w));
    else output_block(w, m0, mc, p0, nb, Z);
#endif
}

typedef struct wino_job {
    const afk_wino *w;
    int64_t parts, mp; /* output channels cut into `parts` ranges of mp (threads) */
} wino_job;

/* Task = (tile block, channel range): V for the block, then per chunk of output channels the
 * 36 (or 16) GEMMs Z[k] = U[k] @ V[k] and the output transform. */
static void wino_task(void *arg, int64_t task, int tid)
{
    const wino_job *j = arg;
    const afk_wino *w = j->w;
    const int64_t NB = block_tiles(w), blk = task / j->parts, part = task % j->parts;
    const int64_t p0 = blk * NB, nb = tiles(w) - p0 < NB ? tiles(w) - p0 : NB;
    const int64_t mlo = part * j->mp, mhi = mlo + j->mp < w->M ? mlo + j->mp : w->M;
    float *V = w->scratch + (size_t)tid * w->slice;
    V = (float *)(((uintptr_t)V + 63) & ~(uintptr_t)63);
    float *Z = V + nk(w) * vstride(w);
    input_xf(w, p0, nb, V);
    for (int64_t m0 = mlo; m0 < mhi; m0 += mchunk(w)) {
        int64_t mc = mhi - m0 < mchunk(w) ? mhi - m0 : mchunk(w);
        for (int k = 0; k < nk(w); k++) { // U[k] (mc, C) @ V[k] (C, nb) -> Z[k] (mc, nb)
            afk_pgemm pg = {.M = mc, .N = nb, .K = w->C, .ap_rows = w->M, .ap_row0 = m0,
                            .Bp = V + k * vstride(w), .bp_ld = NB, .C = Z + k * zstride(w),
                            .ldc = NB, .act = AFK_ACT_NONE};
            if (w->Uq8) /* int8 U[k]: V[k] quantized per k block in the work buffer */
                pg.Aq8 = w->Uq8, pg.acw_group = k, pg.work = Z + nk(w) * zstride(w);
            else
                pg.Ap = w->U + (size_t)k * w->M * w->C;
            afk_pgemm_run(&pg);
        }
        output_xf(w, m0, mc, p0, nb, Z);
    }
}

// X (C,H,W) ⊛ W (M,C,3,3) + B (M), stride 1 -> Y (M,OH,OW), one image
void afk_wino_run(const afk_wino *w0, const af_kctx *ctx)
{
    int nt = ctx && ctx->pool && ctx->n_threads > 1 ? ctx->n_threads : 1;
    afk_wino wb = *w0, *w = &wb;
    w->nb = 0;
    int64_t blocks = (tiles(w) + block_tiles(w) - 1) / block_tiles(w), mr = afk_pgemm_mr();
    int64_t P = panel(), panels = (tiles(w) + P - 1) / P;
    if (nt > 1 && blocks < 2 * nt && panels > blocks &&
        (int64_t)sizeof(float) * nk(w) * w->M * w->C <= U_SMALL) {
        /* few blocks for the threads and a small U (streamed once per block): more, smaller
         * blocks (a smaller block fits the scratch sized for the default) */
        blocks = panels < 2 * nt ? panels : 2 * nt;
        w->nb = (panels + blocks - 1) / blocks * P;
        blocks = (tiles(w) + w->nb - 1) / w->nb;
    }
    /* still few blocks for the threads: cut the output channels too (each part redoes the
     * input transform, a small share of its work) */
    wino_job j = {w, blocks >= 4 * nt || blocks % nt == 0 ? 1 : nt, w->M};
    j.mp = ((w->M + j.parts - 1) / j.parts + mr - 1) / mr * mr;
    j.parts = (w->M + j.mp - 1) / j.mp;
    afk_parallel(ctx, blocks * j.parts, wino_task, &j);
}

#else
void afk_wino_run(const afk_wino *w, const af_kctx *ctx) { (void)w, (void)ctx; }
#endif
