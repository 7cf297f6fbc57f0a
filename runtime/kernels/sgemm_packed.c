/* runtime/kernels/sgemm_packed.c — register-blocked SGEMM on packed panels, for convs.
 *
 *   C (M,N) = A (M,K) @ B (K,N), then per row m: act(C + bias[m]) at the last k block.
 *
 * A is row-major (conv weights (M, Cg*K) as stored). B is never materialised: for each block of
 * KC rows the caller's packer writes B[k0:k0+kc, 0:N] as ceil(N/NR) panels, panel j holding
 * B[k0+kk, j*NR + r] at [(j*kc + kk)*NR + r] (zeros past N), straight from the image (implicit
 * im2col). A comes pre-packed (afk_pgemm_pack_a, once per session: k-block major, each
 * (MR rows, KC) panel as [kk*MR + i]) or is packed so per block, so the micro-kernel reads both
 * operands sequentially. The micro-kernel keeps an MR×NR tile of C in registers (AVX-512F:
 * 14×32 zmm; AVX2+FMA: 6×16 ymm), starts it from zero (first k block) or from C, and at the
 * last k block adds the bias, applies relu/clip (in registers; AVX-512 also hard sigmoid/swish,
 * leaky relu) or sigmoid/silu (on the stored tile, AVX-512 only) and stores (masked at the N edge).
 *
 * Summation order of an element: k blocks in order, within a block k in order, one FMA per
 * product. It depends only on K and KC, never on how callers split M or N into tasks, so
 * threads do not change the bits. The ISA is chosen once per process (cpuid), so a model's
 * results are reproducible on one machine; across ISAs they differ by FMA rounding only.
 */
#include "internal.h"
#include "cpanel.h"
#include "neon.h"
#include "qgemm.h"
#include "simd512.h"

#include <string.h>

enum { KC = AFK_PGEMM_KC, MR_MAX = 14, LR = AFK_PGEMM_LR, LKC = AFK_PGEMM_LKC, LN = 256 };

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AFK_PG_X86 1
#endif


/* ---- AVX-512F: 14 × 32 ------------------------------------------------------------------- */

#ifdef AFK_PG_X86
#define TGT512 AFK_TGT512
#define TGT256 __attribute__((target("avx2,fma")))

/* c (mr rows, lanes m0 | m1) = act(c) for AFK_ACT_SIGMOID / SILU / GELU. */
TGT512 __attribute__((noinline)) static void act_tile512(float *c, int64_t ldc, int mr,
                                                         __mmask16 m0, __mmask16 m1, int act)
{
    const pg_epi e = {.bias = NULL, .act = act, .lo = 0.0f, .hi = 0.0f};
    for (int i = 0; i < mr; i++) {
        float *r = c + i * ldc;
        _mm512_mask_storeu_ps(r, m0, epi_full512(_mm512_maskz_loadu_ps(m0, r), &e, 0));
        _mm512_mask_storeu_ps(r + 16, m1, epi_full512(_mm512_maskz_loadu_ps(m1, r + 16), &e, 0));
    }
}

/* c (mr, nr) (=|+=) a (kc, MR packed) @ b (kc rows of 32, ldb floats apart: 32 packed, or a
 * row-major B in place); mode bit 0: start from C, bit 1: last block (epilogue). */
TGT512 __attribute__((always_inline)) static inline void
ukr512(const int mr, int64_t kc, const float *a, const float *b, const int64_t ldb, float *c,
       int64_t ldc, int nr, int mode, const pg_epi *e)
{
    __m512 x[MR_MAX], y[MR_MAX];
    __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
#pragma GCC unroll 14
    for (int i = 0; i < mr; i++) {
        x[i] = (mode & 1) ? _mm512_maskz_loadu_ps(m0, c + i * ldc) : _mm512_setzero_ps();
        y[i] = (mode & 1) ? _mm512_maskz_loadu_ps(m1, c + i * ldc + 16) : _mm512_setzero_ps();
    }
    /* the next A panel, a line per step: weights read once per run (small maps: few column
     * panels per A panel) then arrive from memory while this one is multiplied */
    const char *pf = (const char *)(e->pf ? e->pf : a);
    const char *pfb = e->pfb ? e->pfb : (const char *)b; /* pre-packed B's next block */
    const int pfbs = e->pfb ? e->pfbs : 0;
    for (int64_t k = 0; k < kc; k++, a += mr, b += ldb) {
        _mm_prefetch(pf + k * mr * (int64_t)sizeof(float), _MM_HINT_T0);
        _mm_prefetch(pfb + ((k * pfbs) >> 8), _MM_HINT_T1);
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 14
        for (int i = 0; i < mr; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            x[i] = _mm512_fmadd_ps(ai, b0, x[i]);
            y[i] = _mm512_fmadd_ps(ai, b1, y[i]);
        }
    }
    /* bias, relu, clip, hard sigmoid/swish, leaky relu in registers; sigmoid/silu/gelu (long) on
     * the stored tile, out of line */
    const int long_act = afk_act_long(e->act);
    pg_epi cheap = {.bias = e->bias, .act = long_act ? AFK_ACT_NONE : e->act, .lo = e->lo,
                    .hi = e->hi};
#pragma GCC unroll 14
    for (int i = 0; i < mr; i++) {
        if (mode & 2) x[i] = epi_short512(x[i], &cheap, i), y[i] = epi_short512(y[i], &cheap, i);
        if ((mode & 2) && e->res) /* a residual: never with a long activation (afk_pgemm_res_ok) */
            x[i] = res_add512(x[i], e, e->res + i * ldc, m0),
            y[i] = res_add512(y[i], e, e->res + i * ldc + 16, m1);
        _mm512_mask_storeu_ps(c + i * ldc, m0, x[i]);
        _mm512_mask_storeu_ps(c + i * ldc + 16, m1, y[i]);
    }
    if ((mode & 2) && long_act) act_tile512(c, ldc, mr, m0, m1, e->act);
}

/* ukr512_R: B packed (rows 32 apart); ukrb512_R: B in place, rows ldb apart (whole panels) */
#define UKR512(R)                                                                          \
    TGT512 static void ukr512_##R(int64_t kc, const float *a, const float *b, float *c,    \
                                  int64_t ldc, int nr, int mode, const pg_epi *e)          \
    {                                                                                      \
        ukr512(R, kc, a, b, 32, c, ldc, nr, mode, e);                                      \
    }                                                                                      \
    TGT512 static void ukrb512_##R(int64_t kc, const float *a, const float *b, int64_t ldb, \
                                   float *c, int64_t ldc, const pg_epi *e, int mode)       \
    {                                                                                      \
        ukr512(R, kc, a, b, ldb, c, ldc, 32, mode, e);                                     \
    }
UKR512(1) UKR512(2) UKR512(3) UKR512(4) UKR512(5) UKR512(6) UKR512(7)
UKR512(8) UKR512(9) UKR512(10) UKR512(11) UKR512(12) UKR512(13) UKR512(14)

typedef void (*ukrb_fn)(int64_t kc, const float *a, const float *b, int64_t ldb, float *c,
                        int64_t ldc, const pg_epi *e, int mode);
static const ukrb_fn ukrb512[MR_MAX + 1] = {
    0,           ukrb512_1,  ukrb512_2,  ukrb512_3,  ukrb512_4,  ukrb512_5,  ukrb512_6, ukrb512_7,
    ukrb512_8,   ukrb512_9,  ukrb512_10, ukrb512_11, ukrb512_12, ukrb512_13, ukrb512_14};

/* ---- AVX-512F, channel lanes: 2 × 16 rows × up to 14 columns ------------------------------
 * For maps too narrow for 32-column panels (7×7: 49 columns fill 49 of 64 lanes) the tile turns
 * around: lanes hold rows (channels) of A, read from panels of LR rows (zeros past M:
 * afk_pgemm_pack_lanes), registers hold columns (positions) of one B panel, broadcast from it;
 * the tile is transposed (afk_tr16) when C is read or written. Each element is the same chain
 * of FMAs (a*b + c, k in order) and the same epilogue as ukr512's, so the bits are equal. */

/* c's rows [0, rows), columns [0, n) = act(c) (e's activation), out of line. */
TGT512 __attribute__((noinline)) static void act_rows512(float *c, int64_t ldc, int rows, int n,
                                                         const pg_epi *e)
{
    const __mmask16 m = (__mmask16)((1u << n) - 1);
    for (int i = 0; i < rows; i++, c += ldc)
        _mm512_mask_storeu_ps(c, m, act_full512(_mm512_maskz_loadu_ps(m, c), e));
}

static inline __mmask16 rmask(int n) { return (__mmask16)((1u << n) - 1); }

/* t[p] (p < np) = column p of c's rows [0, rows) as lanes; or, with store, the reverse. */
TGT512 __attribute__((always_inline)) static inline void tile_io(float *c, int64_t ldc, int rows,
                                                                 int np, __m512 *t, int store)
{
    const __mmask16 pm = (__mmask16)((1u << np) - 1);
    __m512 r[16];
    if (store) {
#pragma GCC unroll 16
        for (int p = 0; p < 16; p++) r[p] = p < np ? t[p] : _mm512_setzero_ps();
        afk_tr16(r);
#pragma GCC unroll 16
        for (int i = 0; i < rows; i++) _mm512_mask_storeu_ps(c + i * ldc, pm, r[i]);
        return;
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(pm, c + i * ldc) : _mm512_setzero_ps();
    afk_tr16(r);
#pragma GCC unroll 16
    for (int p = 0; p < np; p++) t[p] = r[p];
}

/* c (rows r0 then r1 (0: none) of a (two LR-row panels, the second kc*LR floats on), np
 * columns) (=|+=) a @ b, b's rows ldb floats apart (a 32-lane B panel, or B in place) from
 * its first column; mode as ukr512's. */
TGT512 __attribute__((always_inline)) static inline void
ukrt512(const int np, const int two, int64_t kc, const float *a, int r0, int r1, const float *b,
        int64_t ldb, float *c, int64_t ldc, int mode, const pg_epi *e)
{
    __m512 x[MR_MAX], y[MR_MAX];
    const float *a1 = a + kc * LR;
    float *c1 = c + r0 * ldc;
    if (mode & 1) {
        tile_io(c, ldc, r0, np, x, 0);
        if (two) tile_io(c1, ldc, r1, np, y, 0);
    } else {
#pragma GCC unroll 14
        for (int p = 0; p < np; p++) x[p] = y[p] = _mm512_setzero_ps();
    }
    /* this run's share of the next panel pair, e->pfs / 256 bytes per step (as ukr512: weights
     * arrive while these multiply) */
    const char *pf = (const char *)(e->pf ? e->pf : a);
    for (int64_t k = 0; k < kc; k++, a += LR, a1 += LR, b += ldb) {
        const char *p = pf + ((k * e->pfs) >> 8);
        _mm_prefetch(p, _MM_HINT_T0);
        if (e->pfs > 64 * 256) _mm_prefetch(p + 64, _MM_HINT_T0);
        __m512 u = _mm512_loadu_ps(a), v = two ? _mm512_loadu_ps(a1) : u;
#pragma GCC unroll 14
        for (int p = 0; p < np; p++) {
            __m512 bp = _mm512_set1_ps(b[p]);
            x[p] = _mm512_fmadd_ps(bp, u, x[p]);
            if (two) y[p] = _mm512_fmadd_ps(bp, v, y[p]);
        }
    }
    const int cheap = e->act == AFK_ACT_NONE || e->act == AFK_ACT_RELU || e->act == AFK_ACT_CLIP;
    if (mode & 2) { /* bias, relu, clip in registers (as epi_short512), the rest on the stored rows */
        const __m512 lo = e->act == AFK_ACT_RELU ? _mm512_setzero_ps() : _mm512_set1_ps(e->lo);
        const __m512 hi = _mm512_set1_ps(e->hi);
        const __m512 bx = e->bias ? _mm512_maskz_loadu_ps(rmask(r0), e->bias) : lo;
        const __m512 by = e->bias && two ? _mm512_maskz_loadu_ps(rmask(r1), e->bias + LR) : bx;
#pragma GCC unroll 14
        for (int p = 0; p < np; p++) {
            if (e->bias) x[p] = _mm512_add_ps(x[p], bx), y[p] = _mm512_add_ps(y[p], by);
            if (e->act == AFK_ACT_CLIP) x[p] = _mm512_min_ps(hi, x[p]), y[p] = _mm512_min_ps(hi, y[p]);
            if (e->act == AFK_ACT_RELU || e->act == AFK_ACT_CLIP)
                x[p] = _mm512_max_ps(lo, x[p]), y[p] = _mm512_max_ps(lo, y[p]);
        }
    }
    tile_io(c, ldc, r0, np, x, 1);
    if (two) tile_io(c1, ldc, r1, np, y, 1);
    if ((mode & 2) && !cheap) act_rows512(c, ldc, r0 + r1, np, e);
}

typedef void (*ukrt_fn)(int64_t kc, const float *a, int r0, int r1, const float *b,
                        int64_t ldb, float *c, int64_t ldc, int mode, const pg_epi *e);
#define UKRT512(P)                                                                            \
    TGT512 static void ukrt512_##P(int64_t kc, const float *a, int r0, int r1, const float *b, \
                                   int64_t ldb, float *c, int64_t ldc, int mode,             \
                                   const pg_epi *e)                                           \
    {                                                                                         \
        if (r1 > 0) ukrt512(P, 1, kc, a, r0, r1, b, ldb, c, ldc, mode, e);                    \
        else ukrt512(P, 0, kc, a, r0, r1, b, ldb, c, ldc, mode, e);                           \
    }
UKRT512(1) UKRT512(2) UKRT512(3) UKRT512(4) UKRT512(5) UKRT512(6) UKRT512(7)
UKRT512(8) UKRT512(9) UKRT512(10) UKRT512(11) UKRT512(12) UKRT512(13) UKRT512(14)
static const ukrt_fn ukrt[MR_MAX + 1] = {0, ukrt512_1, ukrt512_2, ukrt512_3, ukrt512_4,
                                         ukrt512_5, ukrt512_6, ukrt512_7, ukrt512_8, ukrt512_9,
                                         ukrt512_10, ukrt512_11, ukrt512_12, ukrt512_13,
                                         ukrt512_14};

/* ---- AVX2 + FMA: 6 × 16 ------------------------------------------------------------------ */

TGT256 static inline __m256 epi256(__m256 v, const pg_epi *e, int i)
{
    if (e->bias) v = _mm256_add_ps(v, _mm256_set1_ps(e->bias[i]));
    if (e->act == AFK_ACT_RELU) v = _mm256_max_ps(_mm256_setzero_ps(), v);
    else if (e->act == AFK_ACT_CLIP)
        v = _mm256_max_ps(_mm256_set1_ps(e->lo), _mm256_min_ps(_mm256_set1_ps(e->hi), v));
    return v;
}

TGT256 static inline __m256i mask8(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* A's element (i, k) is a[i*ras + k*kas]: packed panels (ras 1, kas mr) or, unpacked, rows of
 * the stored matrix (ras lda, kas 1) — the same products in the same order either way. */
TGT256 __attribute__((always_inline)) static inline void
ukr256(const int mr, int64_t kc, const float *a, const int64_t ras, const int64_t kas,
       const float *b, float *c, int64_t ldc, int nr, int mode, const pg_epi *e)
{
    __m256 x[6], y[6];
    __m256i m0 = mask8(nr), m1 = mask8(nr - 8);
    const int full = nr == 16; /* plain loads and stores: masked ones are slow on some cores */
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
        if (!(mode & 1)) {
            x[i] = y[i] = _mm256_setzero_ps();
        } else if (full) {
            x[i] = _mm256_loadu_ps(c + i * ldc);
            y[i] = _mm256_loadu_ps(c + i * ldc + 8);
        } else {
            x[i] = _mm256_maskload_ps(c + i * ldc, m0);
            y[i] = _mm256_maskload_ps(c + i * ldc + 8, m1);
        }
    }
    for (int64_t k = 0; k < kc; k++, a += kas, b += 16) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < mr; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i * ras);
            x[i] = _mm256_fmadd_ps(ai, b0, x[i]);
            y[i] = _mm256_fmadd_ps(ai, b1, y[i]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
        if (mode & 2) x[i] = epi256(x[i], e, i), y[i] = epi256(y[i], e, i);
        if (full) {
            _mm256_storeu_ps(c + i * ldc, x[i]);
            _mm256_storeu_ps(c + i * ldc + 8, y[i]);
        } else {
            _mm256_maskstore_ps(c + i * ldc, m0, x[i]);
            _mm256_maskstore_ps(c + i * ldc + 8, m1, y[i]);
        }
    }
}

#define UKR256(R)                                                                          \
    TGT256 static void ukr256_##R(int64_t kc, const float *a, const float *b, float *c,    \
                                  int64_t ldc, int nr, int mode, const pg_epi *e)          \
    {                                                                                      \
        ukr256(R, kc, a, 1, R, b, c, ldc, nr, mode, e);                                    \
    }                                                                                      \
    TGT256 static void ukr256d_##R(int64_t kc, const float *a, int64_t lda, const float *b,\
                                   float *c, int64_t ldc, int nr, int mode, const pg_epi *e)\
    {                                                                                      \
        ukr256(R, kc, a, lda, 1, b, c, ldc, nr, mode, e);                                  \
    }
UKR256(1) UKR256(2) UKR256(3) UKR256(4) UKR256(5) UKR256(6)
#endif

/* ---- selection ----------------------------------------------------------------------------- */

typedef void (*ukr_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                       int nr, int mode, const pg_epi *e);

/* The same on A unpacked: rows lda apart. */
typedef void (*ukrd_fn)(int64_t kc, const float *a, int64_t lda, const float *b, float *c,
                        int64_t ldc, int nr, int mode, const pg_epi *e);

typedef struct pg_isa {
    const char *name;
    int mr, nr;
    ukr_fn ukr[MR_MAX + 1];   /* by rows: ukr[r] computes r rows */
    ukrd_fn ukrd[MR_MAX + 1]; /* or NULL: A is always packed */
} pg_isa;

#ifdef AFK_PG_X86
static const pg_isa isa512 = {"avx512f", 14, 32,
                              {0, ukr512_1, ukr512_2, ukr512_3, ukr512_4, ukr512_5, ukr512_6,
                               ukr512_7, ukr512_8, ukr512_9, ukr512_10, ukr512_11, ukr512_12,
                               ukr512_13, ukr512_14},
                              {0}};
static const pg_isa isa256 = {"avx2+fma", 6, 16,
                              {0, ukr256_1, ukr256_2, ukr256_3, ukr256_4, ukr256_5, ukr256_6},
                              {0, ukr256d_1, ukr256d_2, ukr256d_3, ukr256d_4, ukr256d_5,
                               ukr256d_6}};
#endif
#ifdef AFK_NEON /* sgemm_neon.c: 12 x 8, every epilogue fused */
static const pg_isa isaneon = {"neon", AFK_NEON_MR, AFK_NEON_NR,
                               {0, afk_neon_ukr_1, afk_neon_ukr_2, afk_neon_ukr_3,
                                afk_neon_ukr_4, afk_neon_ukr_5, afk_neon_ukr_6, afk_neon_ukr_7,
                                afk_neon_ukr_8, afk_neon_ukr_9, afk_neon_ukr_10, afk_neon_ukr_11,
                                afk_neon_ukr_12},
                               {0}};
#endif

int afk_pgemm_force = -1;
int afk_pgemm_lanes = 1;

static const pg_isa *pick(void)
{
#ifdef AFK_PG_X86
    static int which = -1; /* a benign race: every thread computes the same value */
    if (which < 0)
        which = __builtin_cpu_supports("avx512f") ? 2
                : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    int use = afk_pgemm_force >= 0 && afk_pgemm_force < which ? afk_pgemm_force : which;
    if (afk_vec_force_portable) return NULL;
    return use == 2 ? &isa512 : use == 1 ? &isa256 : NULL;
#elif defined(AFK_NEON)
    return afk_pgemm_force != 0 && afk_neon_on() ? &isaneon : NULL;
#else
    return NULL;
#endif
}

int afk_pgemm_nr(void)
{
    const pg_isa *s = pick();
    return s ? s->nr : 0;
}

int afk_pgemm_act(const af_unary_params *u)
{
    int k = afk_act_kind(u);
    if (k >= 0) return k;
    const pg_isa *s = pick();
    if (!s || s->nr == 16) return -1; /* the AVX2 kernel fuses identity/relu/clip only */
    if (s->nr != 32) /* the NEON kernel: sigmoid and silu besides */
        return u->fn == AF_UNARY_SIGMOID ? AFK_ACT_SIGMOID : u->fn == AF_UNARY_SILU ? AFK_ACT_SILU : -1;
    switch (u->fn) {
    case AF_UNARY_SIGMOID: return AFK_ACT_SIGMOID;
    case AF_UNARY_SILU: return AFK_ACT_SILU;
    case AF_UNARY_HARD_SIGMOID: return AFK_ACT_HSIGMOID;
    case AF_UNARY_HARD_SWISH: return AFK_ACT_HSWISH;
    case AF_UNARY_LEAKY_RELU: return AFK_ACT_LEAKY;
    case AF_UNARY_GELU: return u->alpha == 0.0f ? AFK_ACT_GELU : -1; /* not the tanh form */
    default: return -1;
    }
}

int afk_pgemm_res_ok(const afk_pgemm *g)
{
#ifdef AFK_PG_X86
    return pick() == &isa512 && !g->lanes && !g->Aq8 && !g->Bq8 && g->act >= 0 &&
           !afk_act_long(g->act) && g->ract >= 0 && !afk_act_long(g->ract);
#else
    (void)g;
    return 0;
#endif
}

int afk_pgemm_a_in_place(void)
{
    const pg_isa *s = pick();
    return s && s->ukrd[1] != NULL;
}

int afk_pgemm_mr(void)
{
    const pg_isa *s = pick();
    return s ? s->mr : 1;
}

const char *afk_pgemm_isa(void)
{
    const pg_isa *s = pick();
    return s ? s->name : "none";
}

size_t afk_pgemm_work_floats(int64_t N)
{
    const int64_t nr = 32; /* the widest panel: enough for every ISA */
    if (N <= 0 || N > ((int64_t)1 << 40) / KC) return 0;
    const int64_t n32 = (N + nr - 1) / nr * nr;
    /* B panels and two A panels: of KC rows, or LKC for channel-lane tiles (N <= LN) */
    const int64_t f32 = N <= LN ? (LKC * n32 + 2 * LR * LKC) : (KC * n32 + 2 * MR_MAX * KC);
    /* int8 compute's codes and parameters after the f32 panels (qgemm.h) */
    return (size_t)(f32 + 32) + afk_qgemm_extra_floats(N);
}

/* ap (kc, mr) = A[0:mr, k0:k0+kc] transposed into k-major order. */
static void pack_a(const float *A, int64_t lda, int mr, int64_t k0, int64_t kc, float *ap)
{
    const float *a = A + k0;
    for (int64_t k = 0; k < kc; k++, ap += mr) /* sequential writes, mr read streams */
        for (int i = 0; i < mr; i++) ap[i] = a[i * lda + k];
}

/* The same panel from a GEMM's operand: A (M,K) row-major or, with a_trans, stored (K,M) —
 * then each k row of the panel is mr contiguous floats —, times alpha unless it is 1. */
static void pack_a_gen(const afk_pgemm *g, int64_t i0, int mr, int64_t k0, int64_t kc,
                       float *ap)
{
    if (g->a_trans) {
        const float *a = g->A + k0 * g->lda + i0;
        for (int64_t k = 0; k < kc; k++, a += g->lda)
            for (int i = 0; i < mr; i++) ap[k * mr + i] = a[i];
    } else {
        pack_a(g->A + i0 * g->lda, g->lda, mr, k0, kc, ap);
    }
    if (g->alpha != 0.0f && g->alpha != 1.0f)
        for (int64_t t = 0; t < kc * mr; t++) ap[t] *= g->alpha;
}

void afk_pgemm_pack_a(int64_t M, int64_t K, const float *A, int64_t lda, float *dst)
{
    const int MR = afk_pgemm_mr();
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        for (int64_t i0 = 0; i0 < M; i0 += MR)
            pack_a(A + i0 * lda, lda, M - i0 < MR ? (int)(M - i0) : MR, k0, kc,
                   dst + k0 * M + i0 * kc);
    }
}

void afk_pgemm_pack_a_gen(int64_t M, int64_t K, const float *A, int64_t lda, int a_trans,
                          float alpha, float *dst)
{
    const int MR = afk_pgemm_mr();
    afk_pgemm g = {.M = M, .K = K, .A = A, .lda = lda, .a_trans = a_trans, .alpha = alpha};
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        for (int64_t i0 = 0; i0 < M; i0 += MR)
            pack_a_gen(&g, i0, M - i0 < MR ? (int)(M - i0) : MR, k0, kc, dst + k0 * M + i0 * kc);
    }
}

/* The same layout in IEEE halves, copied as they are (a weight stored in halves stays so). */
void afk_pgemm_pack_a16(int64_t M, int64_t K, const uint16_t *A, int64_t lda, uint16_t *dst)
{
    const int MR = afk_pgemm_mr();
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        for (int64_t i0 = 0; i0 < M; i0 += MR) {
            int mr = M - i0 < MR ? (int)(M - i0) : MR;
            uint16_t *d = dst + k0 * M + i0 * kc;
            for (int64_t k = 0; k < kc; k++)
                for (int i = 0; i < mr; i++) d[k * mr + i] = A[(i0 + i) * lda + k0 + k];
        }
    }
}

size_t afk_pgemm_a_index(int64_t M, int64_t K, int64_t m, int64_t k)
{
    const int64_t MR = afk_pgemm_mr(), k0 = k / KC * KC, kc = K - k0 < KC ? K - k0 : KC;
    const int64_t i0 = m / MR * MR, mr = M - i0 < MR ? M - i0 : MR;
    return (size_t)(k0 * M + i0 * kc + (k - k0) * mr + (m - i0));
}

// compressed B, columns [col0, col0+n) of k block [k0, k0+kc) -> ceil(n/nr) panels (kc, nr)
static void decode_b(const afk_cw *cw, int64_t k0, int64_t kc, int64_t col0, int64_t n, int nr,
                     float *dst)
{
    for (int64_t j0 = 0; j0 < n; j0 += nr, dst += kc * nr) {
        int w = n - j0 < nr ? (int)(n - j0) : nr;
        afk_cw_decode(cw, 0, k0, kc, col0 + j0, w, dst);
        if (w == nr) continue;
        for (int64_t kk = kc - 1; kk >= 0; kk--) { /* (kc, w) -> (kc, nr) in place, zeros past w */
            for (int r = nr - 1; r >= w; r--) dst[kk * nr + r] = 0.0f;
            for (int r = w - 1; r >= 0; r--) dst[kk * nr + r] = dst[kk * w + r];
        }
    }
}

const float *afk_pgemm_a_panel(const afk_pgemm *g, int64_t i0, int mr, int64_t k0, int64_t kc,
                              float *ap)
{
    if (g->Ap) return g->Ap + k0 * g->ap_rows + (g->ap_row0 + i0) * kc;
    if (g->Ap16) /* a half panel, widened (the next column panels reuse it) */
        afk_f16_to_f32_n(g->Ap16 + k0 * g->ap_rows + (g->ap_row0 + i0) * kc, ap,
                         (size_t)(mr * kc));
    else if (g->Acw) /* a compressed panel, decoded (the next column panels reuse it) */
        afk_cw_decode(g->Acw, g->acw_group, k0, kc, g->ap_row0 + i0, mr, ap);
    else
        pack_a_gen(g, i0, mr, k0, kc, ap);
    return ap;
}

int afk_pgemm_lanes_ok(int64_t M, int64_t N, int64_t K)
{
#ifdef AFK_PG_X86
    /* zmm FMAs per k: one per position and LR-row panel, against two per row and 32 columns;
     * past 128 columns the saving (12 % at 14x14) pays for the transposes only over K >= 256
     * (96 -> 576 at 14x14: 9 % slower, 320 -> 320: 8 % faster) */
    return pick() == &isa512 && afk_pgemm_lanes && M > 0 && N > 0 && N <= LN &&
           (N <= 128 || K >= 256) && (M + LR - 1) / LR * N * 100 < 2 * M * ((N + 31) / 32) * 92;
#else
    (void)M, (void)N, (void)K;
    return 0;
#endif
}

size_t afk_pgemm_lanes_index(int64_t M, int64_t K, int64_t m, int64_t k)
{
    const int64_t Mp = (M + LR - 1) / LR * LR, k0 = k / LKC * LKC, kc = K - k0 < LKC ? K - k0 : LKC;
    return (size_t)(k0 * Mp + m / LR * LR * kc + (k - k0) * LR + m % LR);
}

size_t afk_pgemm_lanes_floats(int64_t M, int64_t K) { return (size_t)((M + LR - 1) / LR * LR * K); }

/* dst = A (M, K), elements of es bytes (4 or 2), as panels (kc, LR) per k block of LKC rows:
 * A[i0+i, k0+kk] at dst[k0*Mp + i0*kc + kk*LR + i], zeros past M. */
static void pack_lanes_es(int64_t M, int64_t K, const void *A, int64_t lda, int es, void *dst)
{
    const int64_t Mp = (M + LR - 1) / LR * LR;
    for (int64_t k0 = 0; k0 < K; k0 += LKC) {
        int64_t kc = K - k0 < LKC ? K - k0 : LKC;
        for (int64_t i0 = 0; i0 < M; i0 += LR)
            for (int64_t k = 0; k < kc; k++)
                for (int64_t i = 0; i < LR; i++) {
                    int64_t at = k0 * Mp + i0 * kc + k * LR + i, from = (i0 + i) * lda + k0 + k;
                    int in = i0 + i < M;
                    if (es == 4) ((float *)dst)[at] = in ? ((const float *)A)[from] : 0.0f;
                    else ((uint16_t *)dst)[at] = in ? ((const uint16_t *)A)[from] : 0;
                }
    }
}

void afk_pgemm_pack_lanes(int64_t M, int64_t K, const float *A, int64_t lda, float *dst)
{
    pack_lanes_es(M, K, A, lda, 4, dst);
}

void afk_pgemm_pack_lanes16(int64_t M, int64_t K, const uint16_t *A, int64_t lda, uint16_t *dst)
{
    pack_lanes_es(M, K, A, lda, 2, dst);
}

#ifdef AFK_PG_X86
/* Two LR-row panels of A (rows [i0, i0+2*LR), k block k0) for ukrt512: in place (Ap), or
 * widened from Ap16 into ap (2*LR*LKC floats). */
static const float *lanes_panels(const afk_pgemm *g, int64_t i0, int64_t k0, int64_t kc, float *ap)
{
    const int64_t at = k0 * g->ap_rows + (g->ap_row0 + i0) * kc;
    if (g->Ap) return g->Ap + at;
    afk_f16_to_f32_n(g->Ap16 + at, ap, (size_t)((g->M - i0 > LR ? 2 : 1) * LR * kc));
    return ap;
}

/* Runs of at most MR_MAX columns that run_lanes cuts N columns into, panels of w. */
static int lane_runs(int64_t N, int64_t w)
{
    int t = 0;
    for (int64_t j0 = 0; j0 < N; j0 += w) t += (int)(((N - j0 < w ? N - j0 : w) + MR_MAX - 1) / MR_MAX);
    return t;
}

/* afk_pgemm_run's f32 loop on channel-lane tiles: k blocks of LKC rows (fewer passes that
 * transpose C in and out), pairs of LR-row panels, B's columns cut into near-equal runs of at
 * most MR_MAX: all N at once where B is read in place (g->Bd), else per 32-column panel from
 * pack_b; bp has afk_pgemm_work_floats(N). */
static void run_lanes(const afk_pgemm *g, float *bp)
{
    float *ap = bp + LKC * ((g->N + 31) / 32 * 32);
    const int in_place = g->Bd && !g->Bp && !g->Bp16 && !g->Bcw;
    const int64_t w = in_place ? g->N : 32; /* a B panel's columns */
    const int runs = lane_runs(g->N, w);
    for (int64_t k0 = 0; k0 < g->K; k0 += LKC) {
        int64_t kc = g->K - k0 < LKC ? g->K - k0 : LKC;
        int mode = (k0 > 0 || g->acc ? 1 : 0) | (k0 + kc >= g->K ? 2 : 0);
        const float *b = in_place ? g->Bd + k0 * g->ldb : bp;
        const int64_t ldb = in_place ? g->ldb : 32;
        if (!in_place) g->pack_b(g->b_arg, k0, kc, 32, bp);
        for (int64_t i0 = 0; i0 < g->M; i0 += 2 * LR) {
            int r0 = g->M - i0 < LR ? (int)(g->M - i0) : LR;
            int r1 = g->M - i0 - r0 < LR ? (int)(g->M - i0 - r0) : LR;
            const float *a = lanes_panels(g, i0, k0, kc, ap);
            /* pre-packed: each run prefetches its share of the next pair (all of it in the
             * first run asked more of memory than one core gets: 7x7 maps 12-20 % slower) */
            const int64_t kn = g->K - k0 - kc < LKC ? g->K - k0 - kc : LKC; /* next k block */
            const char *next = !g->Ap               ? NULL
                               : i0 + 2 * LR < g->M ? (const char *)(a + 2 * LR * kc)
                               : kn > 0 ? (const char *)(g->Ap + (k0 + kc) * g->ap_rows +
                                                         g->ap_row0 * kn)
                                        : NULL;
            const int64_t share = 2 * LR * kc * (int64_t)sizeof(float) / runs;
            pg_epi e = {.bias = g->bias ? g->bias + i0 : NULL, .act = g->act, .lo = g->lo,
                        .hi = g->hi, .pfs = (int)(share * 256 / kc)};
            for (int64_t j0 = 0, t = 0; j0 < g->N; j0 += w) {
                const float *bj = in_place ? b + j0 : b + j0 * kc;
                int64_t nc = g->N - j0 < w ? g->N - j0 : w, nq = (nc + MR_MAX - 1) / MR_MAX;
                for (int64_t q = 0, p0 = 0; q < nq; q++, t++) {
                    int np = (int)((nc - p0) / (nq - q));
                    e.pf = next ? (const float *)(next + t * share) : NULL;
                    ukrt[np](kc, a, r0, r1, bj + p0, ldb, g->C + i0 * g->ldc + j0 + p0, g->ldc,
                             mode, &e);
                    p0 += np;
                }
            }
        }
    }
}

/* dst (kc rows of 32) = columns [0, n) of B's rows [0, kc) (ldb apart), zeros past n: B's
 * last, partial panel as pack_b writes it. */
TGT512 static void pack_edge512(const float *b, int64_t ldb, int64_t kc, int n, float *dst)
{
    const __mmask16 m0 = (__mmask16)((1u << (n < 16 ? n : 16)) - 1);
    const __mmask16 m1 = (__mmask16)(n > 16 ? (1u << (n - 16)) - 1 : 0);
    for (int64_t k = 0; k < kc; k++, b += ldb, dst += 32) {
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, b));
        _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, b + 16));
    }
}

/* afk_pgemm_run's AVX-512 f32 loop with B read in place (g->Bd): the whole 32-column panels
 * straight from B's rows, the partial last one packed (bp); A's panels as in the packed loop.
 * The same FMAs in the same order as on packed panels. */
static void run_b_in_place(const afk_pgemm *g, float *bp, float *ap)
{
    const int64_t full = g->N / 32 * 32;
    for (int64_t k0 = 0; k0 < g->K; k0 += KC) {
        int64_t kc = g->K - k0 < KC ? g->K - k0 : KC;
        int mode = (k0 > 0 || g->acc ? 1 : 0) | (k0 + kc >= g->K ? 2 : 0);
        const float *b = g->Bd + k0 * g->ldb;
        if (full < g->N) pack_edge512(b + full, g->ldb, kc, (int)(g->N - full), bp);
        for (int64_t i0 = 0; i0 < g->M; i0 += MR_MAX) {
            int mr = g->M - i0 < MR_MAX ? (int)(g->M - i0) : MR_MAX;
            const float *a = afk_pgemm_a_panel(g, i0, mr, k0, kc, ap);
            pg_epi e = {.bias = g->bias ? g->bias + i0 : NULL, .act = g->act, .lo = g->lo,
                        .hi = g->hi, .pf = g->Ap ? a + (int64_t)mr * kc : NULL,
                        .ract = g->ract, .rlo = g->rlo, .rhi = g->rhi};
            float *c = g->C + i0 * g->ldc;
            const float *r = g->R ? g->R + i0 * g->ldc : NULL;
            for (int64_t j0 = 0; j0 < full; j0 += 32) {
                e.res = r ? r + j0 : NULL;
                ukrb512[mr](kc, a, b + j0, g->ldb, c + j0, g->ldc, &e, mode);
            }
            e.res = r ? r + full : NULL;
            if (full < g->N)
                isa512.ukr[mr](kc, a, bp, c + full, g->ldc, (int)(g->N - full), mode, &e);
        }
    }
}
#endif

/* m rows [0, M): loops over k blocks, MR row panels and NR column panels. */
void afk_pgemm_run(const afk_pgemm *g)
{
    if (g->Aq8 || g->Bq8) { /* int8 compute (qgemm.c) */
        afk_qgemm_run(g);
        return;
    }
    const pg_isa *s = pick();
    const int MR = s->mr, NR = s->nr;
    float *bp = NULL, *ap = NULL;
    if (g->work) {
        bp = (float *)(((uintptr_t)g->work + 63) & ~(uintptr_t)63);
        ap = bp + KC * ((g->N + 31) / 32 * 32);
    }
    /* AVX2 reads a row-major A in place (its rows stay in L1 across the column panels); the
     * AVX-512 kernel's 14 rows would want more address registers than it has */
    const int direct = !g->Ap && !g->Ap16 && !g->Acw && !g->a_trans &&
                       (g->alpha == 0.0f || g->alpha == 1.0f) && s->ukrd[1] != NULL;
#ifdef AFK_PG_X86
    if (g->lanes) { /* A pre-packed for channel-lane tiles (where afk_pgemm_lanes_ok held) */
        run_lanes(g, bp);
        return;
    }
    if (g->Bd && s == &isa512 && !g->Bp && !g->Bp16 && !g->Bcw) {
        run_b_in_place(g, bp, ap);
        return;
    }
#endif
    for (int64_t k0 = 0; k0 < g->K; k0 += KC) {
        int64_t kc = g->K - k0 < KC ? g->K - k0 : KC;
        int mode = (k0 > 0 || g->acc ? 1 : 0) | (k0 + kc >= g->K ? 2 : 0);
        const float *b = g->Bp ? g->Bp + k0 * g->bp_ld + g->bp_col0 * kc : bp;
        if (g->Bcw) /* compressed panels, decoded for this k block */
            decode_b(g->Bcw, k0, kc, g->bp_col0, g->N, NR, bp);
        else if (g->Bp16) /* half panels, widened for this k block: (N rounded up to NR) × kc */
            afk_f16_to_f32_n(g->Bp16 + k0 * g->bp_ld + g->bp_col0 * kc, bp,
                             (size_t)((g->N + NR - 1) / NR * NR * kc));
        else if (!g->Bp)
            g->pack_b(g->b_arg, k0, kc, NR, bp);
        /* pre-packed B: every tile prefetches its share of the next k block (or the caller's
         * next block): a block streamed in by the first row panel alone ran at memory's pace */
        const int64_t kn = g->K - k0 - kc < KC ? g->K - k0 - kc : KC;
        const float *nb = !g->Bp ? NULL
                          : kn > 0 ? g->Bp + (k0 + kc) * g->bp_ld + g->bp_col0 * kn
                                   : g->bp_next;
        const int64_t nbytes = (kn > 0 ? kn * ((g->N + NR - 1) / NR * NR) : g->bp_next_n) * 4;
        const int64_t tiles = (g->M + MR - 1) / MR * ((g->N + NR - 1) / NR);
        const int64_t share = nb ? nbytes / tiles : 0;
        for (int64_t i0 = 0; i0 < g->M; i0 += MR) {
            int mr = g->M - i0 < MR ? (int)(g->M - i0) : MR;
            if (direct) { /* rows of A read in place: no packing */
                pg_epi e = {.bias = g->bias ? g->bias + i0 : NULL, .act = g->act, .lo = g->lo,
                            .hi = g->hi};
                for (int64_t j0 = 0; j0 < g->N; j0 += NR)
                    s->ukrd[mr](kc, g->A + i0 * g->lda + k0, g->lda, b + j0 * kc,
                                g->C + i0 * g->ldc + j0, g->ldc,
                                g->N - j0 < NR ? (int)(g->N - j0) : NR, mode, &e);
                continue;
            }
            const float *a = afk_pgemm_a_panel(g, i0, mr, k0, kc, ap);
            pg_epi e = {.bias = g->bias ? g->bias + i0 : NULL, .act = g->act, .lo = g->lo,
                        .hi = g->hi, .pf = g->Ap ? a + (int64_t)mr * kc : NULL,
                        .ract = g->ract, .rlo = g->rlo, .rhi = g->rhi,
                        .pfbs = (int)(share * 256 / kc)};
            for (int64_t j0 = 0; j0 < g->N; j0 += NR) {
                int nr = g->N - j0 < NR ? (int)(g->N - j0) : NR;
                const int64_t t = i0 / MR * ((g->N + NR - 1) / NR) + j0 / NR; /* tile index */
                e.pfb = nb ? (const char *)nb + t * share : NULL;
                e.res = g->R ? g->R + i0 * g->ldc + j0 : NULL; /* AVX-512 only (res_ok) */
                s->ukr[mr](kc, a, b + j0 * kc, g->C + i0 * g->ldc + j0, g->ldc, nr, mode, &e);
            }
        }
    }
}
