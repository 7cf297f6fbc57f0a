/* runtime/kernels/winograd_avx2.c — winograd.c's input and output transforms on AVX2+FMA
 * (8 lanes), for the packed GEMM's AVX2 kernel (16-wide B panels). Same slots, same formulas
 * and the same operation order per element as the AVX-512 transforms, 8 tile slots per ymm
 * instead of 16:
 *
 *   F(4x4): slots s0..s0+7 are 2 groups of 4 consecutive slots (each group in one tile row,
 *           the slots per row being a multiple of 4). Input row i of a group is 5 4-float
 *           pieces (columns 4t..4t+3, t = 0..4, of its 20); the two groups' pieces share a
 *           ymm (group 0 low half, group 1 high) and a 4x4 transpose per half deals element
 *           4t + j of each group to lane t (j = 0..3; j = 4, 5 from pieces 1..4).
 *   F(2x2): slots s0..s0+7 are one tile row (a multiple of 8 slots per row); element 2t + j
 *           of 16 input columns to lane t by an even/odd deinterleave.
 *
 * Map edges are masked (zeros outside the map on input, no store outside it on output).
 */
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))

enum { PANEL = 16, KC = AFK_PGEMM_KC };

/* Lanes [lo, hi) of 8 set (all ones), clamped to 0..8. */
TGT static inline __m256i lanes8(int64_t lo, int64_t hi)
{
    lo = lo < 0 ? 0 : lo > 8 ? 8 : lo;
    hi = hi < 0 ? 0 : hi > 8 ? 8 : hi;
    const __m256i t = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), t),
                            _mm256_cmpgt_epi32(t, _mm256_set1_epi32((int)lo - 1)));
}

/* 4 floats from column col of input row y of plane xc; zeros outside the map. */
TGT static inline __m128 load4(const afk_wino *w, const float *xc, int64_t y, int64_t col)
{
    if (y < 0 || y >= w->H || col >= w->W || col + 4 <= 0) return _mm_setzero_ps();
    const float *p = xc + y * w->W + col;
    if (col >= 0 && col + 4 <= w->W) return _mm_loadu_ps(p);
    return _mm_maskload_ps(p, _mm256_castsi256_si128(lanes8(-col, w->W - col)));
}

/* 8 floats the same way. */
TGT static inline __m256 load8(const afk_wino *w, const float *xc, int64_t y, int64_t col)
{
    if (y < 0 || y >= w->H || col >= w->W || col + 8 <= 0) return _mm256_setzero_ps();
    const float *p = xc + y * w->W + col;
    if (col >= 0 && col + 8 <= w->W) return _mm256_loadu_ps(p);
    return _mm256_maskload_ps(p, lanes8(-col, w->W - col));
}

/* Per 128-bit half: o[j] lane t = r[t] lane j (a 4x4 transpose). */
TGT static inline void tr4(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 o[4])
{
    __m256d t0 = _mm256_castps_pd(_mm256_unpacklo_ps(r0, r1));
    __m256d t1 = _mm256_castps_pd(_mm256_unpackhi_ps(r0, r1));
    __m256d t2 = _mm256_castps_pd(_mm256_unpacklo_ps(r2, r3));
    __m256d t3 = _mm256_castps_pd(_mm256_unpackhi_ps(r2, r3));
    o[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
    o[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
    o[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
    o[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
}

/* bias (one value or none), then relu/clip: the epilogues the AVX2 GEMM fuses. */
TGT static inline __m256 epi8(__m256 v, const float *bias, const afk_wino *w, int act)
{
    if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(*bias));
    if (act == AFK_ACT_RELU) v = _mm256_max_ps(_mm256_setzero_ps(), v);
    else if (act == AFK_ACT_CLIP)
        v = _mm256_max_ps(_mm256_set1_ps(w->lo), _mm256_min_ps(_mm256_set1_ps(w->hi), v));
    return v;
}

/* ---- input: V = B^T d B -------------------------------------------------------------------- */

/* o = B^T d for one line of 6 (B^T in winograd.c). */
TGT static inline void bt6(const __m256 d[6], __m256 o[6])
{
    const __m256 four = _mm256_set1_ps(4.0f), two = _mm256_set1_ps(2.0f);
    __m256 a = _mm256_fnmadd_ps(four, d[2], d[4]); /* d4 - 4 d2 */
    __m256 b = _mm256_fnmadd_ps(four, d[1], d[3]); /* d3 - 4 d1 */
    __m256 c = _mm256_sub_ps(d[4], d[2]);
    __m256 e = _mm256_sub_ps(d[3], d[1]);
    o[0] = _mm256_fmadd_ps(four, _mm256_sub_ps(d[0], d[2]), c);
    o[1] = _mm256_add_ps(a, b);
    o[2] = _mm256_sub_ps(a, b);
    o[3] = _mm256_fmadd_ps(two, e, c);
    o[4] = _mm256_fnmadd_ps(two, e, c);
    o[5] = _mm256_fmadd_ps(four, _mm256_sub_ps(d[1], d[3]), _mm256_sub_ps(d[5], d[3]));
}

/* Slots [s0, s0+8) of channel plane xc into v: lane t of k-plane k at v[k*ks + t]. */
TGT static void input_group(const afk_wino *w, int64_t S, const float *xc, int64_t s0, float *v,
                            size_t ks)
{
    int64_t y0[2], x0[2];
    for (int q = 0; q < 2; q++) {
        int64_t s = s0 + 4 * q;
        y0[q] = 4 * (s / S) - w->pt, x0[q] = 4 * (s % S) - w->pl;
    }
    __m256 t[6][6]; /* t[i] = B^T along input row i of the 8 tiles */
    for (int i = 0; i < 6; i++) {
        __m256 R[5], X[6], X45[4];
        for (int p = 0; p < 5; p++)
            R[p] = _mm256_insertf128_ps(_mm256_castps128_ps256(load4(w, xc, y0[0] + i, x0[0] + 4 * p)),
                                        load4(w, xc, y0[1] + i, x0[1] + 4 * p), 1);
        tr4(R[0], R[1], R[2], R[3], X);
        tr4(R[1], R[2], R[3], R[4], X45);
        X[4] = X45[0], X[5] = X45[1];
        bt6(X, t[i]);
    }
    for (int j = 0; j < 6; j++) { /* then B^T down each column */
        __m256 d[6] = {t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]}, o[6];
        bt6(d, o);
        for (int i = 0; i < 6; i++) _mm256_store_ps(v + (size_t)(i * 6 + j) * ks, o[i]);
    }
}

/* F(2x2): o = B^T d for a line of 4. */
TGT static inline void bt4(const __m256 d[4], __m256 o[4])
{
    o[0] = _mm256_sub_ps(d[0], d[2]);
    o[1] = _mm256_add_ps(d[1], d[2]);
    o[2] = _mm256_sub_ps(d[2], d[1]);
    o[3] = _mm256_sub_ps(d[1], d[3]);
}

/* Element 2t + j (j = 0, 1) of the 16 floats a|b in lane t. */
TGT static inline __m256 deal2(__m256 a, __m256 b, int j)
{
    __m256 s = j ? _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))
                 : _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xd8));
}

/* input_group for F(2x2): the 8 tiles of one row, 4x4 on a step of 2. */
TGT static void input_group2(const afk_wino *w, int64_t S, const float *xc, int64_t s0, float *v,
                             size_t ks)
{
    const int64_t y0 = 2 * (s0 / S) - w->pt, x0 = 2 * (s0 % S) - w->pl;
    __m256 t[4][4];
    for (int i = 0; i < 4; i++) {
        __m256 a = load8(w, xc, y0 + i, x0), b = load8(w, xc, y0 + i, x0 + 8);
        __m256 c = load8(w, xc, y0 + i, x0 + 2), d = load8(w, xc, y0 + i, x0 + 10);
        __m256 X[4] = {deal2(a, b, 0), deal2(a, b, 1), deal2(c, d, 0), deal2(c, d, 1)};
        bt4(X, t[i]);
    }
    for (int j = 0; j < 4; j++) {
        __m256 d[4] = {t[0][j], t[1][j], t[2][j], t[3][j]}, o[4];
        bt4(d, o);
        for (int i = 0; i < 4; i++) _mm256_store_ps(v + (size_t)(i * 4 + j) * ks, o[i]);
    }
}

// slots [p0, p0+nb) of x -> V in 16-wide B panels (layout: winograd.c's input_block)
TGT void afk_wino_input256(const afk_wino *w, int64_t S, int64_t p0, int64_t nb, int64_t NB,
                           float *V, size_t ks)
{
    for (int64_t c = 0; c < w->C; c++) {
        const int64_t k0 = c / KC * KC, kc = w->C - k0 < KC ? w->C - k0 : KC;
        const float *xc = w->x + c * w->H * w->W;
        float *vc = V + k0 * NB + (c - k0) * PANEL;
        for (int64_t q = 0; q < (nb + PANEL - 1) / PANEL * PANEL; q += 8) {
            float *v = vc + q / PANEL * kc * PANEL + q % PANEL;
            if (w->m == 4) input_group(w, S, xc, p0 + q, v, ks);
            else input_group2(w, S, xc, p0 + q, v, ks);
        }
    }
}

/* ---- output: y = A^T Z A ------------------------------------------------------------------- */

/* o (4) = A^T m (6) (A^T in winograd.c). */
TGT static inline void at6(const __m256 m[6], __m256 o[4])
{
    __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), d34, d12);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), s34, s12);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), d34, d12), m[5]);
}

/* 16 output columns from col of row `row` (plane y, residual r or NULL): v0 | v1, masked at
 * the map's right edge; with r: act(v + r). */
TGT static void store16(const afk_wino *w, float *y, const float *r, int64_t row, int64_t col,
                        __m256 v0, __m256 v1)
{
    if (row >= w->OH || col >= w->OW) return;
    const int64_t at = row * w->OW + col;
    if (col + 16 <= w->OW) {
        if (r) {
            v0 = epi8(_mm256_add_ps(v0, _mm256_loadu_ps(r + at)), NULL, w, w->act);
            v1 = epi8(_mm256_add_ps(v1, _mm256_loadu_ps(r + at + 8)), NULL, w, w->act);
        }
        _mm256_storeu_ps(y + at, v0);
        _mm256_storeu_ps(y + at + 8, v1);
        return;
    }
    __m256i m0 = lanes8(0, w->OW - col), m1 = lanes8(0, w->OW - col - 8);
    if (r) {
        v0 = epi8(_mm256_add_ps(v0, _mm256_maskload_ps(r + at, m0)), NULL, w, w->act);
        v1 = epi8(_mm256_add_ps(v1, _mm256_maskload_ps(r + at + 8, m1)), NULL, w, w->act);
    }
    _mm256_maskstore_ps(y + at, m0, v0);
    _mm256_maskstore_ps(y + at + 8, m1, v1);
}

/* Z planes at z (ks apart) of 8 slots (the first n valid) -> k-plane rows r[k] */
TGT static inline __m256 zload(const float *z, __m256i lanes, int n)
{
    return n >= 8 ? _mm256_loadu_ps(z) : _mm256_maskload_ps(z, lanes);
}

/* Output channel m, slots [s0, s0+8) (the first n hold GEMM results): lane t of k-plane k at
 * z[k*ks + t]. */
TGT static void output_group(const afk_wino *w, int64_t S, int64_t m, const float *z, size_t ks,
                             int64_t s0, int n)
{
    const __m256i lanes = lanes8(0, n);
    __m256 h[6][4];
    for (int i = 0; i < 6; i++) { /* A^T along each row of Z */
        __m256 r[6];
        for (int j = 0; j < 6; j++) r[j] = zload(z + (size_t)(i * 6 + j) * ks, lanes, n);
        at6(r, h[i]);
    }
    const float *bias = w->bias ? w->bias + m : NULL;
    const int act = w->res ? AFK_ACT_NONE : w->act;
    __m256 o[4][4];
    for (int j = 0; j < 4; j++) { /* then down each column */
        __m256 c[6] = {h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j]}, r[4];
        at6(c, r);
        for (int i = 0; i < 4; i++) o[i][j] = epi8(r[i], bias, w, act);
    }
    float *y = w->y + m * w->OH * w->OW;
    const float *res = w->res ? w->res + m * w->OH * w->OW : NULL;
    for (int i = 0; i < 4; i++) {
        __m256 T[4]; /* T[t]: row i of tile t (low half) and of tile 4 + t (high half) */
        tr4(o[i][0], o[i][1], o[i][2], o[i][3], T);
        for (int q = 0; q < 2; q++) { /* low halves (tiles 0-3), then high (4-7) */
            int64_t s = s0 + 4 * q;
            __m256 a = q ? _mm256_permute2f128_ps(T[0], T[1], 0x31)
                         : _mm256_permute2f128_ps(T[0], T[1], 0x20);
            __m256 b = q ? _mm256_permute2f128_ps(T[2], T[3], 0x31)
                         : _mm256_permute2f128_ps(T[2], T[3], 0x20);
            store16(w, y, res, 4 * (s / S) + i, 4 * (s % S), a, b);
        }
    }
}

/* F(2x2): o (2) = A^T m (4). */
TGT static inline void at4(const __m256 m[4], __m256 o[2])
{
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], m[1]), m[2]);
    o[1] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
}

/* output_group for F(2x2): the 8 tiles of one row, 16 output columns per row. */
TGT static void output_group2(const afk_wino *w, int64_t S, int64_t m, const float *z, size_t ks,
                              int64_t s0, int n)
{
    const __m256i lanes = lanes8(0, n);
    __m256 h[4][2];
    for (int i = 0; i < 4; i++) {
        __m256 r[4];
        for (int j = 0; j < 4; j++) r[j] = zload(z + (size_t)(i * 4 + j) * ks, lanes, n);
        at4(r, h[i]);
    }
    const float *bias = w->bias ? w->bias + m : NULL;
    const int act = w->res ? AFK_ACT_NONE : w->act;
    __m256 o[2][2];
    for (int j = 0; j < 2; j++) {
        __m256 c[4] = {h[0][j], h[1][j], h[2][j], h[3][j]}, r[2];
        at4(c, r);
        for (int i = 0; i < 2; i++) o[i][j] = epi8(r[i], bias, w, act);
    }
    float *y = w->y + m * w->OH * w->OW;
    const float *res = w->res ? w->res + m * w->OH * w->OW : NULL;
    for (int i = 0; i < 2; i++) {
        __m256 lo = _mm256_unpacklo_ps(o[i][0], o[i][1]), hi = _mm256_unpackhi_ps(o[i][0], o[i][1]);
        store16(w, y, res, 2 * (s0 / S) + i, 2 * (s0 % S), _mm256_permute2f128_ps(lo, hi, 0x20),
                _mm256_permute2f128_ps(lo, hi, 0x31));
    }
}

// rows [m0, m0+mc) of Z (planes zs apart, rows NB apart) for slots [p0, p0+nb) -> y
TGT void afk_wino_output256(const afk_wino *w, int64_t S, int64_t m0, int64_t mc, int64_t p0,
                            int64_t nb, int64_t NB, const float *Z, size_t zs)
{
    for (int64_t m = 0; m < mc; m++)
        for (int64_t q = 0; q < nb; q += 8) {
            int n = (int)(nb - q < 8 ? nb - q : 8);
            if (w->m == 4) output_group(w, S, m0 + m, Z + m * NB + q, zs, p0 + q, n);
            else output_group2(w, S, m0 + m, Z + m * NB + q, zs, p0 + q, n);
        }
}

#else
void afk_wino_input256(const afk_wino *w, int64_t S, int64_t p0, int64_t nb, int64_t NB,
                       float *V, size_t ks)
{
    (void)w, (void)S, (void)p0, (void)nb, (void)NB, (void)V, (void)ks;
}
void afk_wino_output256(const afk_wino *w, int64_t S, int64_t m0, int64_t mc, int64_t p0,
                        int64_t nb, int64_t NB, const float *Z, size_t zs)
{
    (void)w, (void)S, (void)m0, (void)mc, (void)p0, (void)nb, (void)NB, (void)Z, (void)zs;
}
#endif
