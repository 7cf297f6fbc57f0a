/* runtime/kernels/wino_weights.c — Winograd's transformed weights U = G g G^T (winograd.c):
 * once per session from f32 weights (afk_wino_pack), or on every run from a 3x3 conv weight's
 * compressed panels (cpanel.h) when the transformed copy is too big to keep (conv.c,
 * afk_cw_wino_run_max; afk_wino_cw_transform).
 *
 * Both take a row panel of the weight as the packed GEMM's A panel holds it — k-major,
 * p[k * mr + r] = W[i0 + r][k] with k = c * 9 + tap — and transform its mr rows lane-parallel,
 * one weight per lane, in f32: G g by columns, then by rows. Every step is one correctly
 * rounded IEEE operation (an add, or a multiply by a rounded constant; this file is compiled
 * without FMA contraction), in the same order on every path (16-lane AVX-512, scalar), so both
 * sources give the same U, bit for bit, on every ISA: a compressed weight's outputs are those
 * of its decoded f32 weight. (Each entry of U is within a few f32 roundings of G g G^T, the
 * size of the rounding the GEMM on U adds anyway; doubles cost the per-run transform twice
 * the time.) Each task of the per-run
 * transform decodes one row panel (afk_cw_decode: the floats the reference decoder gives) and
 * transforms it; per weight about the cost of 16 of the 36 GEMMs' multiply-adds per output
 * tile column (docs/performance.md). */
#include "internal.h"
#include "cpanel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <stdint.h>
#include <string.h>

enum { LANES = 16 }; /* rows transformed per call, at most (>= every kernel's MR) */

static const float R6 = 1.0f / 6, R12 = 1.0f / 12, R24 = 1.0f / 24;

/* o (6) = G v (3), G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
 * 1/24 -1/12 1/6; 0 0 1] (F(4x4)). */
static void g6(const float v[3], float *o, int os)
{
    o[0] = v[0] * 0.25f;
    o[os] = (v[0] + v[1] + v[2]) * -R6;
    o[2 * os] = (v[0] - v[1] + v[2]) * -R6;
    float a = v[0] * R24, b = v[1] * R12, c = v[2] * R6;
    o[3 * os] = a + b + c;
    o[4 * os] = a - b + c;
    o[5 * os] = v[2];
}

/* o (4) = G v (3) for F(2x2): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static void g4(const float v[3], float *o, int os)
{
    o[0] = v[0];
    o[os] = (v[0] + v[1] + v[2]) * 0.5f;
    o[2 * os] = (v[0] - v[1] + v[2]) * 0.5f;
    o[3 * os] = v[2];
}

// lanes [0, n) of p (9 taps, ld floats apart) -> d[(i*a + j) * MC + lane] = (G g G^T)[i][j]
static void lanes_scalar(int a, const float *p, int64_t ld, int n, float *d, int64_t MC)
{
    void (*gt)(const float *, float *, int) = a == 6 ? g6 : g4;
    for (int l = 0; l < n; l++) {
        float t[6][3], u[6][6];
        for (int j = 0; j < 3; j++) { /* t = G g: columns of g */
            float col[3] = {p[j * ld + l], p[(3 + j) * ld + l], p[(6 + j) * ld + l]};
            gt(col, &t[0][j], 3);
        }
        for (int i = 0; i < a; i++) gt(t[i], u[i], 1); /* u = t G^T: rows of t */
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++) d[(i * a + j) * MC + l] = u[i][j];
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define TGT __attribute__((target("avx512f,avx2")))

/* g6 / g4 on 16 weights (one per lane): the same operations in the same order. */
TGT static inline void g6x16(const __m512 v[3], __m512 *o, int os)
{
    const __m512 r6 = _mm512_set1_ps(R6), m6 = _mm512_set1_ps(-R6);
    o[0] = _mm512_mul_ps(v[0], _mm512_set1_ps(0.25f));
    o[os] = _mm512_mul_ps(_mm512_add_ps(_mm512_add_ps(v[0], v[1]), v[2]), m6);
    o[2 * os] = _mm512_mul_ps(_mm512_add_ps(_mm512_sub_ps(v[0], v[1]), v[2]), m6);
    __m512 a = _mm512_mul_ps(v[0], _mm512_set1_ps(R24)), b = _mm512_mul_ps(v[1], _mm512_set1_ps(R12));
    __m512 c = _mm512_mul_ps(v[2], r6);
    o[3 * os] = _mm512_add_ps(_mm512_add_ps(a, b), c);
    o[4 * os] = _mm512_add_ps(_mm512_sub_ps(a, b), c);
    o[5 * os] = v[2];
}

TGT static inline void g4x16(const __m512 v[3], __m512 *o, int os)
{
    const __m512 h = _mm512_set1_ps(0.5f);
    o[0] = v[0];
    o[os] = _mm512_mul_ps(_mm512_add_ps(_mm512_add_ps(v[0], v[1]), v[2]), h);
    o[2 * os] = _mm512_mul_ps(_mm512_add_ps(_mm512_sub_ps(v[0], v[1]), v[2]), h);
    o[3 * os] = v[2];
}

// lanes_scalar for n <= 16 lanes
TGT static void lanes16(int a, const float *p, int64_t ld, int n, float *d, int64_t MC)
{
    const __mmask16 k = (__mmask16)((1u << n) - 1);
    __m512 g[9], t[6][3], u[6][6];
    for (int i = 0; i < 9; i++) g[i] = _mm512_maskz_loadu_ps(k, p + i * ld);
    for (int j = 0; j < 3; j++) {
        __m512 col[3] = {g[j], g[3 + j], g[6 + j]};
        (a == 6 ? g6x16 : g4x16)(col, &t[0][j], 3);
    }
    for (int i = 0; i < a; i++) (a == 6 ? g6x16 : g4x16)(t[i], u[i], 1);
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) _mm512_mask_storeu_ps(d + (i * a + j) * MC, k, u[i][j]);
}
#endif

// n (<= LANES) weights, tap t of lane l at p[t * ld + l] -> U's entries d + l, d + MC + l, ...
static void lanes(int a, const float *p, int64_t ld, int n, float *d, int64_t MC)
{
#if defined(__x86_64__) || defined(__i386__)
    static int x512 = -1;
    if (x512 < 0) x512 = __builtin_cpu_supports("avx512f");
    if (x512 && afk_pgemm_force != 1) { /* the AVX2 kernel forced (tests): the scalar loop */
        lanes16(a, p, ld, n, d, MC);
        return;
    }
#endif
    lanes_scalar(a, p, ld, n, d, MC);
}

// W (M,C,3,3) rows [m_lo, m_hi) -> dst[k*M*C + packed index of (m, c)] = (G g G^T)[k]
void afk_wino_pack_rows(const afk_wino *w, const float *weights, int64_t m_lo, int64_t m_hi,
                        float *dst)
{
    const int a = w->m + 2;
    const int64_t MR = afk_pgemm_mr(), MC = w->M * w->C;
    float p[9 * LANES];
    /* in the packed order (k block, row panel, c): sequential writes to every plane */
    for (int64_t k0 = 0; k0 < w->C; k0 += AFK_PGEMM_KC)
        for (int64_t i0 = m_lo; i0 < m_hi; i0 += MR)
            for (int64_t c = k0; c < w->C && c < k0 + AFK_PGEMM_KC; c++)
                for (int64_t r0 = i0; r0 < m_hi && r0 < i0 + MR; r0 += LANES) {
                    int n = (int)(m_hi - r0 < LANES ? m_hi - r0 : LANES);
                    n = i0 + MR - r0 < n ? (int)(i0 + MR - r0) : n;
                    for (int r = 0; r < n; r++) /* p (9, n): the panel's taps */
                        for (int t = 0; t < 9; t++)
                            p[t * n + r] = weights[((r0 - m_lo + r) * w->C + c) * 9 + t];
                    lanes(a, p, n, n, dst + afk_pgemm_a_index(w->M, w->C, r0, c), MC);
                }
}

void afk_wino_pack(const afk_wino *w, const float *weights, float *dst)
{
    afk_wino_pack_rows(w, weights, 0, w->M, dst);
}

// one output channel's weights (C,3,3) -> dst[k*C + c] = (G g G^T)[k] of channel c
void afk_wino_row(const afk_wino *w, const float *wrow, float *dst)
{
    float p[9 * LANES];
    for (int64_t c0 = 0; c0 < w->C; c0 += LANES) {
        int n = (int)(w->C - c0 < LANES ? w->C - c0 : LANES);
        for (int l = 0; l < n; l++)
            for (int t = 0; t < 9; t++) p[t * n + l] = wrow[(c0 + l) * 9 + t];
        lanes(w->m + 2, p, n, n, dst + c0, w->C);
    }
}

/* ---- on every run, from compressed panels ----------------------------------------------- */

enum { CB = 16 }; /* channels per flush: a divisor of AFK_PGEMM_KC */

/* Floats of the per-thread buffer: one decoded row panel of the whole (M, C*9) weight, and
 * the transformed weights of CB channels of it. */
size_t afk_wino_cw_thread_floats(const afk_wino *w)
{
    return (size_t)(afk_pgemm_mr() * w->C * 9 + 16 + 36 * CB * LANES);
}

typedef struct cw_xf {
    const afk_wino *w;
    const afk_cw *cw;
    float *U;
} cw_xf;

// rows [i0, i0+mr) of W (M, C*9): compressed panels -> p (C*9, mr) -> their entries of U, CB
// channels at a time through t (a*a planes of CB*mr floats): each plane's entries for those
// channels are adjacent in U (one k block), so U is written in whole runs (its planes are
// M*C floats apart, often a multiple of 4 KiB: stored lane group by lane group they would
// contend for the same cache sets)
static void xf_task(void *arg, int64_t task, int tid)
{
    const cw_xf *x = arg;
    const afk_wino *w = x->w;
    const int a = w->m + 2;
    const int64_t MR = afk_pgemm_mr(), K = w->C * 9, i0 = task * MR, MC = w->M * w->C;
    const int mr = (int)(w->M - i0 < MR ? w->M - i0 : MR);
    float *p = w->scratch + (size_t)tid * w->slice;
    p = (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
    float *t = p + (K * mr + 15) / 16 * 16;
    for (int64_t k0 = 0; k0 < K; k0 += AFK_PGEMM_KC)
        afk_cw_decode(x->cw, 0, k0, K - k0 < AFK_PGEMM_KC ? K - k0 : AFK_PGEMM_KC, i0, mr,
                      p + k0 * mr);
    for (int64_t c0 = 0; c0 < w->C; c0 += CB) {
        const int64_t cb = w->C - c0 < CB ? w->C - c0 : CB, run = cb * mr;
        for (int64_t c = c0; c < c0 + cb; c++)
            for (int r0 = 0; r0 < mr; r0 += LANES)
                lanes(a, p + c * 9 * mr + r0, mr, mr - r0 < LANES ? mr - r0 : LANES,
                      t + (c - c0) * mr + r0, CB * LANES);
        float *u = x->U + afk_pgemm_a_index(w->M, w->C, i0, c0);
        for (int k = 0; k < a * a; k++)
            memcpy(u + k * MC, t + k * CB * LANES, (size_t)run * sizeof(float));
    }
}

// compressed W (M,C,3,3) -> U (afk_wino_pack_floats(w) floats); w->scratch, slice per thread
void afk_wino_cw_transform(const afk_wino *w, const afk_cw *cw, float *U, const af_kctx *ctx)
{
    cw_xf x = {w, cw, U};
    afk_parallel(ctx, (w->M + afk_pgemm_mr() - 1) / afk_pgemm_mr(), xf_task, &x);
}
