/* runtime/kernels/winograd_neon.c — winograd.c's input and output transforms on AArch64 Advanced
 * SIMD (4 lanes), for the NEON packed GEMM (8-wide B panels). Same slots, same formulas and
 * the same operation order per element (FMLA/FMLS where the x86 transforms fuse) as the
 * AVX-512 and AVX2 transforms, 4 tile slots per vector:
 *
 *   F(4x4): slots s0..s0+3 lie in one tile row (the slots per row are a multiple of 4). Input
 *           row i of the group is 5 4-float pieces (columns 4t..4t+3, t = 0..4, of its 20); a
 *           4x4 transpose deals element 4t + j to lane t (j = 0..3; j = 4, 5 from pieces
 *           1..4). Output row i of the 4 tiles is a 4x4 transpose of the 4 columns.
 *   F(2x2): slots s0..s0+3 are 4 tiles of one row; element 2t + j of 10 input columns to lane
 *           t by even/odd deinterleaves (UZP1/UZP2), output columns by interleaves (ZIP1/ZIP2).
 *
 * Map edges are handled lane by lane (zeros outside the map on input, no store outside it on
 * output); bias, residual and activation (relu, clip, sigmoid, silu: the NEON GEMM's
 * epilogues, neon_math.h) are fused into the output transform as on x86.
 */
#include "internal.h"
#include "neon.h"

#if defined(AFK_NEON)
#include "neon_math.h"

#include <string.h>

enum { PANEL = AFK_NEON_NR, KC = AFK_PGEMM_KC };

/* 4 floats from column col of input row y of plane xc; zeros outside the map. */
static inline float32x4_t load4(const afk_wino *w, const float *xc, int64_t y, int64_t col)
{
    if (y < 0 || y >= w->H || col >= w->W || col + 4 <= 0) return vdupq_n_f32(0.0f);
    const float *p = xc + y * w->W + col;
    if (col >= 0 && col + 4 <= w->W) return vld1q_f32(p);
    float t[4] = {0};
    for (int i = 0; i < 4; i++)
        if (col + i >= 0 && col + i < w->W) t[i] = p[i];
    return vld1q_f32(t);
}

/* o[j] lane t = r[t] lane j (a 4x4 transpose). */
static inline void tr4(float32x4_t r0, float32x4_t r1, float32x4_t r2, float32x4_t r3,
                       float32x4_t o[4])
{
    float32x4x2_t a = vtrnq_f32(r0, r1), b = vtrnq_f32(r2, r3);
    o[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
    o[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
    o[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
    o[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
}

/* ---- input: V = B^T d B -------------------------------------------------------------------- */

/* o = B^T d for one line of 6 (B^T in winograd.c). */
static inline void bt6(const float32x4_t d[6], float32x4_t o[6])
{
    float32x4_t a = vfmsq_n_f32(d[4], d[2], 4.0f); /* d4 - 4 d2 */
    float32x4_t b = vfmsq_n_f32(d[3], d[1], 4.0f); /* d3 - 4 d1 */
    float32x4_t c = vsubq_f32(d[4], d[2]);
    float32x4_t e = vsubq_f32(d[3], d[1]);
    o[0] = vfmaq_n_f32(c, vsubq_f32(d[0], d[2]), 4.0f);
    o[1] = vaddq_f32(a, b);
    o[2] = vsubq_f32(a, b);
    o[3] = vfmaq_n_f32(c, e, 2.0f);
    o[4] = vfmsq_n_f32(c, e, 2.0f);
    o[5] = vfmaq_n_f32(vsubq_f32(d[5], d[3]), vsubq_f32(d[1], d[3]), 4.0f);
}

/* Slots [s0, s0+4) of channel plane xc into v: lane t of k-plane k at v[k*ks + t]. */
static void input_group(const afk_wino *w, int64_t S, const float *xc, int64_t s0, float *v,
                        size_t ks)
{
    const int64_t y0 = 4 * (s0 / S) - w->pt, x0 = 4 * (s0 % S) - w->pl;
    float32x4_t t[6][6]; /* t[i] = B^T along input row i of the 4 tiles */
    for (int i = 0; i < 6; i++) {
        float32x4_t R[5], X[6], X45[4];
        for (int p = 0; p < 5; p++) R[p] = load4(w, xc, y0 + i, x0 + 4 * p);
        tr4(R[0], R[1], R[2], R[3], X);
        tr4(R[1], R[2], R[3], R[4], X45);
        X[4] = X45[0], X[5] = X45[1];
        bt6(X, t[i]);
    }
    for (int j = 0; j < 6; j++) { /* then B^T down each column */
        float32x4_t d[6] = {t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]}, o[6];
        bt6(d, o);
        for (int i = 0; i < 6; i++) vst1q_f32(v + (size_t)(i * 6 + j) * ks, o[i]);
    }
}

/* F(2x2): o = B^T d for a line of 4. */
static inline void bt4(const float32x4_t d[4], float32x4_t o[4])
{
    o[0] = vsubq_f32(d[0], d[2]);
    o[1] = vaddq_f32(d[1], d[2]);
    o[2] = vsubq_f32(d[2], d[1]);
    o[3] = vsubq_f32(d[1], d[3]);
}

/* input_group for F(2x2): 4 tiles of one row, 4x4 on a step of 2. */
static void input_group2(const afk_wino *w, int64_t S, const float *xc, int64_t s0, float *v,
                         size_t ks)
{
    const int64_t y0 = 2 * (s0 / S) - w->pt, x0 = 2 * (s0 % S) - w->pl;
    float32x4_t t[4][4];
    for (int i = 0; i < 4; i++) {
        float32x4_t a = load4(w, xc, y0 + i, x0), b = load4(w, xc, y0 + i, x0 + 4);
        float32x4_t c = load4(w, xc, y0 + i, x0 + 2), d = load4(w, xc, y0 + i, x0 + 6);
        float32x4_t X[4] = {vuzp1q_f32(a, b), vuzp2q_f32(a, b), vuzp1q_f32(c, d), vuzp2q_f32(c, d)};
        bt4(X, t[i]);
    }
    for (int j = 0; j < 4; j++) {
        float32x4_t d[4] = {t[0][j], t[1][j], t[2][j], t[3][j]}, o[4];
        bt4(d, o);
        for (int i = 0; i < 4; i++) vst1q_f32(v + (size_t)(i * 4 + j) * ks, o[i]);
    }
}

// slots [p0, p0+nb) of x -> V in 8-wide B panels (layout: winograd.c's input_block)
void afk_wino_input128(const afk_wino *w, int64_t S, int64_t p0, int64_t nb, int64_t NB,
                       float *V, size_t ks)
{
    for (int64_t c = 0; c < w->C; c++) {
        const int64_t k0 = c / KC * KC, kc = w->C - k0 < KC ? w->C - k0 : KC;
        const float *xc = w->x + c * w->H * w->W;
        float *vc = V + k0 * NB + (c - k0) * PANEL;
        for (int64_t q = 0; q < (nb + PANEL - 1) / PANEL * PANEL; q += 4) {
            float *v = vc + q / PANEL * kc * PANEL + q % PANEL;
            if (w->m == 4) input_group(w, S, xc, p0 + q, v, ks);
            else input_group2(w, S, xc, p0 + q, v, ks);
        }
    }
}

/* ---- output: y = A^T Z A ------------------------------------------------------------------- */

/* o (4) = A^T m (6) (A^T in winograd.c). */
static inline void at6(const float32x4_t m[6], float32x4_t o[4])
{
    float32x4_t s12 = vaddq_f32(m[1], m[2]), d12 = vsubq_f32(m[1], m[2]);
    float32x4_t s34 = vaddq_f32(m[3], m[4]), d34 = vsubq_f32(m[3], m[4]);
    o[0] = vaddq_f32(vaddq_f32(m[0], s12), s34);
    o[1] = vfmaq_n_f32(d12, d34, 2.0f);
    o[2] = vfmaq_n_f32(s12, s34, 4.0f);
    o[3] = vaddq_f32(vfmaq_n_f32(d12, d34, 8.0f), m[5]);
}

/* F(2x2): o (2) = A^T m (4). */
static inline void at4(const float32x4_t m[4], float32x4_t o[2])
{
    o[0] = vaddq_f32(vaddq_f32(m[0], m[1]), m[2]);
    o[1] = vsubq_f32(vsubq_f32(m[1], m[2]), m[3]);
}

/* bias (one value or none), then the activation */
static inline float32x4_t epi4(float32x4_t v, const float *bias, const afk_wino *w, int act)
{
    if (bias) v = vaddq_f32(v, vdupq_n_f32(*bias));
    return afn_act(v, act, w->lo, w->hi);
}

/* 4 output columns from col of row `row` (plane y, residual r or NULL), masked at the map's
 * edges; with r: act(v + r). */
static void store4(const afk_wino *w, float *y, const float *r, int64_t row, int64_t col,
                   float32x4_t v)
{
    if (row >= w->OH || col >= w->OW) return;
    const int64_t at = row * w->OW + col, n = w->OW - col < 4 ? w->OW - col : 4;
    float t[4] = {0};
    if (r) {
        if (n == 4) vst1q_f32(t, vld1q_f32(r + at));
        else memcpy(t, r + at, (size_t)n * sizeof *t);
        v = epi4(vaddq_f32(v, vld1q_f32(t)), NULL, w, w->act);
    }
    if (n == 4) {
        vst1q_f32(y + at, v);
        return;
    }
    vst1q_f32(t, v);
    memcpy(y + at, t, (size_t)n * sizeof *t);
}

/* 4 slots of a Z plane at z (the first n valid; zeros past them) */
static inline float32x4_t zload(const float *z, int n)
{
    if (n >= 4) return vld1q_f32(z);
    float t[4] = {0};
    memcpy(t, z, (size_t)n * sizeof *t);
    return vld1q_f32(t);
}

/* Output channel m, slots [s0, s0+4) (the first n hold GEMM results): lane t of k-plane k at
 * z[k*ks + t]. */
static void output_group(const afk_wino *w, int64_t S, int64_t m, const float *z, size_t ks,
                         int64_t s0, int n)
{
    float32x4_t h[6][4];
    for (int i = 0; i < 6; i++) { /* A^T along each row of Z */
        float32x4_t r[6];
        for (int j = 0; j < 6; j++) r[j] = zload(z + (size_t)(i * 6 + j) * ks, n);
        at6(r, h[i]);
    }
    const float *bias = w->bias ? w->bias + m : NULL;
    const int act = w->res ? AFK_ACT_NONE : w->act;
    float32x4_t o[4][4];
    for (int j = 0; j < 4; j++) { /* then down each column */
        float32x4_t c[6] = {h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j]}, r[4];
        at6(c, r);
        for (int i = 0; i < 4; i++) o[i][j] = epi4(r[i], bias, w, act);
    }
    float *y = w->y + m * w->OH * w->OW;
    const float *res = w->res ? w->res + m * w->OH * w->OW : NULL;
    const int64_t ty = s0 / S, tx = s0 % S;
    for (int i = 0; i < 4; i++) {
        float32x4_t T[4]; /* T[t]: row i of tile t */
        tr4(o[i][0], o[i][1], o[i][2], o[i][3], T);
        for (int t = 0; t < 4; t++) store4(w, y, res, 4 * ty + i, 4 * (tx + t), T[t]);
    }
}

/* output_group for F(2x2): 4 tiles of one row, 8 output columns per row. */
static void output_group2(const afk_wino *w, int64_t S, int64_t m, const float *z, size_t ks,
                          int64_t s0, int n)
{
    float32x4_t h[4][2];
    for (int i = 0; i < 4; i++) {
        float32x4_t r[4];
        for (int j = 0; j < 4; j++) r[j] = zload(z + (size_t)(i * 4 + j) * ks, n);
        at4(r, h[i]);
    }
    const float *bias = w->bias ? w->bias + m : NULL;
    const int act = w->res ? AFK_ACT_NONE : w->act;
    float32x4_t o[2][2];
    for (int j = 0; j < 2; j++) {
        float32x4_t c[4] = {h[0][j], h[1][j], h[2][j], h[3][j]}, r[2];
        at4(c, r);
        for (int i = 0; i < 2; i++) o[i][j] = epi4(r[i], bias, w, act);
    }
    float *y = w->y + m * w->OH * w->OW;
    const float *res = w->res ? w->res + m * w->OH * w->OW : NULL;
    const int64_t row = 2 * (s0 / S), col = 2 * (s0 % S);
    for (int i = 0; i < 2; i++) {
        store4(w, y, res, row + i, col, vzip1q_f32(o[i][0], o[i][1]));
        store4(w, y, res, row + i, col + 4, vzip2q_f32(o[i][0], o[i][1]));
    }
}

// rows [m0, m0+mc) of Z (planes zs apart, rows NB apart) for slots [p0, p0+nb) -> y
void afk_wino_output128(const afk_wino *w, int64_t S, int64_t m0, int64_t mc, int64_t p0,
                        int64_t nb, int64_t NB, const float *Z, size_t zs)
{
    for (int64_t m = 0; m < mc; m++)
        for (int64_t q = 0; q < nb; q += 4) {
            int n = (int)(nb - q < 4 ? nb - q : 4);
            if (w->m == 4) output_group(w, S, m0 + m, Z + m * NB + q, zs, p0 + q, n);
            else output_group2(w, S, m0 + m, Z + m * NB + q, zs, p0 + q, n);
        }
}

#endif
