/* runtime/kernels/qgemm.c — int8 compute on AVX512-VNNI (see qgemm.h): the weight panels, the
 * per-k-block activation quantizer and the 14 x 32 vpdpbusd micro-kernel with its dequantizing
 * epilogue. Without VNNI nothing here runs (afk_q8_available() is 0: the f32 path is used). */
#include "qgemm.h"

#include <math.h>
#include <string.h>

#include "cpanel.h"
#include "simd512.h"

enum { KC = AFK_PGEMM_KC, MR_MAX = 14, NR = 32 };

static uint64_t up64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }
static int64_t up4(int64_t x) { return (x + 3) & ~(int64_t)3; }
static int64_t up32(int64_t x) { return (x + 31) / 32 * 32; }

/* ---- weights ---------------------------------------------------------------------------------- */

enum { W_MAX = 32 };

/* The header for G sub-matrices of `rows` lanes by K in W-lane panels (tr as afk_q8's). */
static void plan_dims(int64_t rows, int64_t K, int64_t G, int W, int tr, afk_q8 *q)
{
    memset(q, 0, sizeof *q);
    q->W = W, q->tr = tr, q->G = G;
    q->rows = rows, q->K = K;
    q->npan = (q->rows + W - 1) / W;
    q->lanes32 = up32(q->rows * G);
    int64_t full = q->K / KC, rest = q->K % KC, nkb = (q->K + KC - 1) / KC;
    q->sub_bytes = (uint64_t)(q->npan * W) * (uint64_t)(full * KC + up4(rest));
    uint64_t off = up64(sizeof *q), nl = (uint64_t)q->lanes32;
    q->scale_off = off, off = up64(off + 4 * nl);
    q->zero_off = off, off = up64(off + 4 * nl);
    q->sum_off = off, off = up64(off + 4 * nl * (uint64_t)nkb);
    q->kscale_off = off, off = up64(off + (tr ? 4 * (uint64_t)q->K : 0));
    q->code_off = off;
    q->total = off + q->sub_bytes * (uint64_t)G;
}

/* Fills the header for G sub-matrices of W-lane panels; 0 when the blob does not fit. */
static int plan(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int W, int tr,
                afk_q8 *q)
{
    memset(q, 0, sizeof *q);
    const uint8_t *codes;
    int64_t rows, cols;
    int uns;
    if (G < 1 || W < 1 || W > W_MAX || (tr && (G != 1 || rank != 2)) || !afk_q8_available() ||
        !afk_cw_int8_rows(blob, rank, dims, &codes, &rows, &cols, &uns, NULL, NULL) ||
        rows % G || cols < 1 || rows < 1)
        return 0;
    plan_dims(tr ? cols : rows / G, tr ? rows : cols, G, W, tr, q);
    return 1;
}

/* Byte offset of panel p (lanes [p*W, p*W + W)) of k block kb inside a sub-matrix. */
static uint64_t panel_at(const afk_q8 *q, int64_t kb, int64_t p)
{
    int64_t k0 = kb * KC, kc = q->K - k0 < KC ? q->K - k0 : KC;
    return (uint64_t)(kb * q->npan * q->W * KC + p * q->W * up4(kc));
}

size_t afk_q8_bytes(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int W, int tr)
{
    afk_q8 q;
    if (!plan(blob, rank, dims, G, W, tr, &q)) return 0;
    return !tr || afk_cw_int8_one_zero(blob, rank, dims) ? (size_t)q.total : 0;
}

// codes -> panels (kb, p): code (lane p*W + l, k0 + 4kq + t) at (kq*W + l)*4 + t, uint8 codes
// shifted by -128 (and their zero points): the same q - z
void afk_q8_pack(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int W, int tr,
                 void *dst)
{
    afk_q8 q;
    if (!plan(blob, rank, dims, G, W, tr, &q)) return;
    uint8_t *d = dst;
    memset(d, 0, q.total);
    const int64_t all = q.rows * G;
    float *s = (float *)(d + q.scale_off), *zf = (float *)(d + q.zero_off);
    float *sum = (float *)(d + q.sum_off), *ks = (float *)(d + q.kscale_off);
    int32_t *z = (int32_t *)(d + q.code_off); /* scratch (the codes come last): >= 4 * rows */
    const uint8_t *codes;
    int64_t rows, cols;
    int uns;
    afk_cw_int8_rows(blob, rank, dims, &codes, &rows, &cols, &uns, tr ? ks : s, z);
    for (int64_t r = 0; r < all; r++) { /* per lane */
        int32_t zr = tr ? z[0] : z[r];
        zf[r] = (float)(uns ? zr - 128 : zr);
        if (tr) s[r] = 1.0f;
        if (zf[r] != 0.0f) q.any_zero = 1;
    }
    memset(d + q.code_off, 0, q.sub_bytes * (uint64_t)G);
    for (int64_t r = 0; r < all; r++) { /* lane r: its panel, then its k in order */
        int64_t gi = r / q.rows, lr = r % q.rows, p = lr / W, l = lr % W;
        uint8_t *sub = d + q.code_off + (uint64_t)gi * q.sub_bytes;
        for (int64_t k0 = 0, kb = 0; k0 < q.K; k0 += KC, kb++) {
            int64_t kc = q.K - k0 < KC ? q.K - k0 : KC;
            uint8_t *pan = sub + panel_at(&q, kb, p) + 4 * l;
            int32_t tot = 0;
            for (int64_t kk = 0; kk < kc; kk++) {
                uint8_t c = tr ? codes[(k0 + kk) * q.rows + r] : codes[r * q.K + k0 + kk];
                int v = uns ? (int)c - 128 : (int8_t)c;
                pan[(kk / 4) * W * 4 + kk % 4] = (uint8_t)v;
                tot += v;
            }
            sum[kb * q.lanes32 + r] = (float)tot; /* |sum| <= 256 * 128: exact */
        }
    }
    memcpy(d, &q, sizeof q);
}

size_t afk_q8_f32_bytes(int64_t rows, int64_t K, int64_t G, int W)
{
    afk_q8 q;
    if (G < 1 || W < 1 || W > W_MAX || rows < 1 || K < 1 || !afk_q8_available()) return 0;
    plan_dims(rows, K, G, W, 0, &q);
    return (size_t)q.total;
}

// f32 rows -> symmetric int8 per lane (scale max|x| / 127, zero point 0), panels as afk_q8_pack
void afk_q8_pack_f32(int64_t rows, int64_t K, int64_t G, int W, afk_q8_rows_fn get, void *arg,
                     float *buf, void *dst)
{
    afk_q8 q;
    plan_dims(rows, K, G, W, 0, &q);
    uint8_t *d = dst;
    memset(d, 0, q.total);
    float *s = (float *)(d + q.scale_off), *sum = (float *)(d + q.sum_off);
    for (int64_t lr = 0; lr < rows; lr++) {
        get(arg, lr, buf); /* buf[gi * K + k]: lane lr of every sub-matrix */
        for (int64_t gi = 0; gi < G; gi++) {
            const float *x = buf + gi * K;
            float mx = 0.0f;
            for (int64_t k = 0; k < K; k++) mx = fabsf(x[k]) > mx ? fabsf(x[k]) : mx;
            const int64_t r = gi * rows + lr, p = lr / W, l = lr % W;
            s[r] = mx > 0.0f ? mx / 127.0f : 1.0f;
            uint8_t *sub = d + q.code_off + (uint64_t)gi * q.sub_bytes;
            for (int64_t k0 = 0, kb = 0; k0 < K; k0 += KC, kb++) {
                int64_t kc = K - k0 < KC ? K - k0 : KC;
                uint8_t *pan = sub + panel_at(&q, kb, p) + 4 * l;
                int32_t tot = 0;
                for (int64_t kk = 0; kk < kc; kk++) {
                    long v = lrintf(x[k0 + kk] / s[r]);
                    v = v > 127 ? 127 : v < -127 ? -127 : v;
                    pan[(kk / 4) * W * 4 + kk % 4] = (uint8_t)(int8_t)v;
                    tot += (int32_t)v;
                }
                sum[kb * q.lanes32 + r] = (float)tot;
            }
        }
    }
    memcpy(d, &q, sizeof q);
}

/* ---- CPU ------------------------------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
#define AFK_Q8_X86 1
#define TGTQ __attribute__((target("avx512f,avx512bw,avx512vnni,fma,avx2")))
#endif

int afk_q8_available(void)
{
#ifdef AFK_Q8_X86
    static int have = -1; /* a benign race: every thread computes the same value */
    if (have < 0)
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
    return have && afk_pgemm_nr() == NR && afk_pgemm_mr() == MR_MAX;
#else
    return 0;
#endif
}

size_t afk_qgemm_extra_floats(int64_t N)
{
    if (N <= 0 || N > ((int64_t)1 << 40) / KC) return 0;
    /* B's codes (KC x N bytes), 3 lane parameters, A's codes for one panel, 3 row parameters */
    return (size_t)(KC * up32(N) / 4 + 3 * up32(N) + MR_MAX * KC / 4 + 3 * 16 + 64);
}

#ifdef AFK_Q8_X86
/* ---- activations ------------------------------------------------------------------------------ */

TGTQ void afk_q8_quantize(const float *x, int L, int64_t kc, uint8_t *q, float *sa, float *za,
                          float *sq)
{
    for (int h = 0; h * 16 < L; h++) {
        const int n = L - 16 * h < 16 ? L - 16 * h : 16;
        const __mmask16 m = (__mmask16)((1u << n) - 1);
        const float *xh = x + 16 * h;
        __m512 mn = _mm512_setzero_ps(), mx = mn; /* the range includes 0 */
        for (int64_t kk = 0; kk < kc; kk++) {
            __m512 v = _mm512_maskz_loadu_ps(m, xh + kk * L);
            mn = _mm512_min_ps(mn, v), mx = _mm512_max_ps(mx, v);
        }
        __m512 range = _mm512_sub_ps(mx, mn), c255 = _mm512_set1_ps(255.0f);
        __mmask16 pos = _mm512_cmp_ps_mask(range, _mm512_setzero_ps(), _CMP_GT_OQ);
        __m512 inv = _mm512_maskz_div_ps(pos, c255, range);
        __m512 z = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), mn), inv),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        z = _mm512_min_ps(_mm512_max_ps(z, _mm512_setzero_ps()), c255);
        const __m512i lo = _mm512_setzero_si512(), hi = _mm512_set1_epi32(255);
        __m512i tot = _mm512_setzero_si512();
        for (int64_t k0 = 0; k0 < kc; k0 += 4) {
            __m512i w = _mm512_setzero_si512();
            for (int t = 0; t < 4 && k0 + t < kc; t++) {
                __m512 v = _mm512_maskz_loadu_ps(m, xh + (k0 + t) * L);
                __m512i c = _mm512_cvt_roundps_epi32(_mm512_fmadd_ps(v, inv, z),
                                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                c = _mm512_min_epi32(_mm512_max_epi32(c, lo), hi);
                tot = _mm512_add_epi32(tot, c);
                w = _mm512_or_si512(w, _mm512_slli_epi32(c, (unsigned)(8 * t)));
            }
            _mm512_mask_storeu_epi32(q + ((k0 / 4) * L + 16 * h) * 4, m, w);
        }
        /* sum (q - za): integers below 2^17, exact */
        __m512 s = _mm512_fnmadd_ps(_mm512_set1_ps((float)kc), z, _mm512_cvtepi32_ps(tot));
        _mm512_mask_storeu_ps(sa + 16 * h, m, _mm512_div_ps(range, c255));
        _mm512_mask_storeu_ps(za + 16 * h, m, z);
        _mm512_mask_storeu_ps(sq + 16 * h, m, s);
    }
}

/* ---- the micro-kernel --------------------------------------------------------------------- */

/* Lane (column) and row parameters of one tile's k block, and the final epilogue:
 * d = acc - lz * rz - lq * rq, C (=|+=) d * (ls * rs). Conv: lanes are activations (za, sa,
 * sum (qa - za)) and rows weights (sum of codes, scale, zero point); MatMul/Gemm the reverse:
 * lanes weights (sum of codes, scale, zero point), rows activations (za, sa, sum (qa - za)). */
typedef struct q_epi {
    const float *lz, *ls, *lq; /* 32 lanes each (lq NULL: no weight zero point) */
    const float *rz, *rs, *rq; /* per row of the tile */
    pg_epi e;                  /* bias of the tile's first row, activation (at the last block) */
} q_epi;

/* acc += u8 . s8, four products per int32 lane (vpdpbusd). GCC 12 ties the intrinsic's
 * accumulator to zmm0-15, so a 28-accumulator tile spills every step: inline asm lets it use
 * all 32 registers. */
TGTQ static inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8)
{
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, u8, s8);
#endif
}

/* c (mr, nr) (=|+=) dequant(a . b) for one k block of nq groups of 4: row i of group kq is
 * the 4 bytes at a + kq*as + 4i, the 32 lanes of group kq the 128 bytes at b + 128kq; aw: a
 * holds the weights (int8) and b the activations (uint8), else the reverse. mode bit 0: add to
 * C, bit 1: last block (bias, activation). */
TGTQ __attribute__((always_inline)) static inline void
ukq(const int mr, const int aw, int64_t nq, const uint8_t *a, int64_t as, const uint8_t *b,
    float *c, int64_t ldc, int nr, int mode, const q_epi *q)
{
    __m512i x[MR_MAX], y[MR_MAX];
#pragma GCC unroll 14
    for (int i = 0; i < mr; i++) x[i] = y[i] = _mm512_setzero_si512();
    for (int64_t kq = 0; kq < nq; kq++, a += as, b += 128) {
        __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 14
        for (int i = 0; i < mr; i++) {
            int32_t w;
            memcpy(&w, a + 4 * i, sizeof w);
            __m512i ai = _mm512_set1_epi32(w);
            x[i] = aw ? dpbusd(x[i], b0, ai) : dpbusd(x[i], ai, b0);
            y[i] = aw ? dpbusd(y[i], b1, ai) : dpbusd(y[i], ai, b1);
        }
    }
    const __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? 0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    const int long_act = afk_act_long(q->e.act);
    pg_epi cheap = {.bias = q->e.bias, .act = long_act ? AFK_ACT_NONE : q->e.act, .lo = q->e.lo,
                    .hi = q->e.hi};
#pragma GCC unroll 14
    for (int i = 0; i < mr; i++) {
        __m512 rz = _mm512_set1_ps(q->rz[i]), rs = _mm512_set1_ps(q->rs[i]);
        __m512 fx = _mm512_fnmadd_ps(_mm512_loadu_ps(q->lz), rz, _mm512_cvtepi32_ps(x[i]));
        __m512 fy = _mm512_fnmadd_ps(_mm512_loadu_ps(q->lz + 16), rz, _mm512_cvtepi32_ps(y[i]));
        if (q->lq) {
            __m512 rq = _mm512_set1_ps(q->rq[i]);
            fx = _mm512_fnmadd_ps(_mm512_loadu_ps(q->lq), rq, fx);
            fy = _mm512_fnmadd_ps(_mm512_loadu_ps(q->lq + 16), rq, fy);
        }
        __m512 sx = _mm512_mul_ps(_mm512_loadu_ps(q->ls), rs);
        __m512 sy = _mm512_mul_ps(_mm512_loadu_ps(q->ls + 16), rs);
        float *r = c + i * ldc;
        if (mode & 1) {
            fx = _mm512_fmadd_ps(fx, sx, _mm512_maskz_loadu_ps(m0, r));
            fy = _mm512_fmadd_ps(fy, sy, _mm512_maskz_loadu_ps(m1, r + 16));
        } else {
            fx = _mm512_mul_ps(fx, sx), fy = _mm512_mul_ps(fy, sy);
        }
        if (mode & 2) fx = epi_short512(fx, &cheap, i), fy = epi_short512(fy, &cheap, i);
        _mm512_mask_storeu_ps(r, m0, fx);
        _mm512_mask_storeu_ps(r + 16, m1, fy);
    }
    if (!(mode & 2) || !long_act) return;
    const pg_epi e = {.bias = NULL, .act = q->e.act, .lo = 0.0f, .hi = 0.0f};
    for (int i = 0; i < mr; i++) { /* sigmoid/silu/gelu on the stored tile */
        float *r = c + i * ldc;
        _mm512_mask_storeu_ps(r, m0, epi_full512(_mm512_maskz_loadu_ps(m0, r), &e, 0));
        _mm512_mask_storeu_ps(r + 16, m1, epi_full512(_mm512_maskz_loadu_ps(m1, r + 16), &e, 0));
    }
}

typedef void (*ukq_fn)(int64_t nq, const uint8_t *a, int64_t as, const uint8_t *b, float *c,
                       int64_t ldc, int nr, int mode, const q_epi *q);
#define UKQ(R)                                                                              \
    TGTQ static void ukqw_##R(int64_t nq, const uint8_t *a, int64_t as, const uint8_t *b,   \
                              float *c, int64_t ldc, int nr, int mode, const q_epi *q)      \
    {                                                                                       \
        ukq(R, 1, nq, a, as, b, c, ldc, nr, mode, q);                                       \
    }                                                                                       \
    TGTQ static void ukqa_##R(int64_t nq, const uint8_t *a, int64_t as, const uint8_t *b,   \
                              float *c, int64_t ldc, int nr, int mode, const q_epi *q)      \
    {                                                                                       \
        ukq(R, 0, nq, a, as, b, c, ldc, nr, mode, q);                                       \
    }
UKQ(1) UKQ(2) UKQ(3) UKQ(4) UKQ(5) UKQ(6) UKQ(7) UKQ(8) UKQ(9) UKQ(10) UKQ(11) UKQ(12) UKQ(13)
UKQ(14)
/* by rows: weights in A (conv), activations in A (MatMul/Gemm) */
static const ukq_fn ukqw[MR_MAX + 1] = {0, ukqw_1, ukqw_2, ukqw_3, ukqw_4, ukqw_5, ukqw_6,
                                        ukqw_7, ukqw_8, ukqw_9, ukqw_10, ukqw_11, ukqw_12,
                                        ukqw_13, ukqw_14};
static const ukq_fn ukqa[MR_MAX + 1] = {0, ukqa_1, ukqa_2, ukqa_3, ukqa_4, ukqa_5, ukqa_6,
                                        ukqa_7, ukqa_8, ukqa_9, ukqa_10, ukqa_11, ukqa_12,
                                        ukqa_13, ukqa_14};

/* ---- the drivers --------------------------------------------------------------------------- */

/* The work buffer's int8 parts, after afk_pgemm_run's f32 panels (B: KC x n32, A: MR x KC). */
typedef struct q_work {
    float *bp, *ap;      /* f32 panels */
    uint8_t *bq, *aq;    /* B's codes (KC x n32), one A panel's codes (KC x MR) */
    float *lz, *ls, *lq; /* B's lane parameters (n32 each) */
    float *rz, *rs, *rq; /* the A panel's row parameters (16 each) */
} q_work;

static q_work work_of(const afk_pgemm *g)
{
    const int64_t n32 = up32(g->N);
    q_work w;
    w.bp = (float *)(((uintptr_t)g->work + 63) & ~(uintptr_t)63);
    w.ap = w.bp + KC * n32;
    w.bq = (uint8_t *)(w.ap + MR_MAX * KC); /* 64-byte aligned */
    w.lz = (float *)(w.bq + KC * n32), w.ls = w.lz + n32, w.lq = w.ls + n32;
    w.aq = (uint8_t *)(w.lq + n32);
    w.rz = (float *)(w.aq + MR_MAX * KC), w.rs = w.rz + 16, w.rq = w.rs + 16;
    return w;
}

/* Conv: rows [0, M) of sub-matrix acw_group from ap_row0: per k block, B packed (f32) and
 * quantized panel by panel, then every (row panel, column panel) tile. */
static void run_aw(const afk_pgemm *g)
{
    const afk_q8 *w = g->Aq8;
    const uint8_t *base = (const uint8_t *)w;
    const q_work t = work_of(g);
    const uint8_t *sub = base + w->code_off + (uint64_t)g->acw_group * w->sub_bytes;
    const int64_t r0 = g->acw_group * w->rows + g->ap_row0; /* global row of this call's row 0 */
    for (int64_t k0 = 0, kb = 0; k0 < g->K; k0 += KC, kb++) {
        int64_t kc = g->K - k0 < KC ? g->K - k0 : KC, nq = (kc + 3) / 4;
        int mode = (k0 > 0 || g->acc ? 1 : 0) | (k0 + kc >= g->K ? 2 : 0);
        const float *b = g->Bp ? g->Bp + k0 * g->bp_ld + g->bp_col0 * kc : t.bp;
        if (!g->Bp) g->pack_b(g->b_arg, k0, kc, NR, t.bp);
        for (int64_t j0 = 0; j0 < g->N; j0 += NR)
            afk_q8_quantize(b + j0 * kc, NR, kc, t.bq + j0 * nq * 4, t.ls + j0, t.lz + j0,
                            t.lq + j0);
        const float *sums = (const float *)(base + w->sum_off) + kb * w->lanes32 + r0;
        for (int64_t i0 = 0; i0 < g->M; i0 += MR_MAX) {
            int mr = g->M - i0 < MR_MAX ? (int)(g->M - i0) : MR_MAX;
            const uint8_t *a = sub + panel_at(w, kb, (g->ap_row0 + i0) / w->W);
            q_epi e = {NULL, NULL, NULL, sums + i0,
                       (const float *)(base + w->scale_off) + r0 + i0,
                       (const float *)(base + w->zero_off) + r0 + i0,
                       {.bias = g->bias ? g->bias + i0 : NULL, .act = g->act, .lo = g->lo,
                        .hi = g->hi}};
            for (int64_t j0 = 0; j0 < g->N; j0 += NR) {
                int nr = g->N - j0 < NR ? (int)(g->N - j0) : NR;
                e.lz = t.lz + j0, e.ls = t.ls + j0, e.lq = w->any_zero ? t.lq + j0 : NULL;
                ukqw[mr](nq, a, (int64_t)w->W * 4, t.bq + j0 * nq * 4, g->C + i0 * g->ldc + j0,
                         g->ldc, nr, mode, &e);
            }
        }
    }
}

/* MatMul/Gemm: B's columns from bp_col0 as int8 panels of 32 lanes; per k block and row panel,
 * A's f32 panel (times the folded per-k scales of a transposed weight) is quantized per row. */
static void run_bw(const afk_pgemm *g)
{
    const afk_q8 *w = g->Bq8;
    const uint8_t *base = (const uint8_t *)w;
    const q_work t = work_of(g);
    const float *ks = w->tr ? (const float *)(base + w->kscale_off) : NULL;
    for (int64_t k0 = 0, kb = 0; k0 < g->K; k0 += KC, kb++) {
        int64_t kc = g->K - k0 < KC ? g->K - k0 : KC, nq = (kc + 3) / 4;
        int mode = (k0 > 0 || g->acc ? 1 : 0) | (k0 + kc >= g->K ? 2 : 0);
        const float *sums = (const float *)(base + w->sum_off) + kb * w->lanes32 + g->bp_col0;
        for (int64_t i0 = 0; i0 < g->M; i0 += MR_MAX) {
            int mr = g->M - i0 < MR_MAX ? (int)(g->M - i0) : MR_MAX;
            const float *a = afk_pgemm_a_panel(g, i0, mr, k0, kc, t.ap);
            if (ks) { /* x[i,k] * s[k]: the weight's per-k scales, folded */
                if (a != t.ap) memcpy(t.ap, a, sizeof(float) * (size_t)(kc * mr));
                for (int64_t kk = 0; kk < kc; kk++)
                    for (int i = 0; i < mr; i++) t.ap[kk * mr + i] *= ks[k0 + kk];
                a = t.ap;
            }
            afk_q8_quantize(a, mr, kc, t.aq, t.rs, t.rz, t.rq);
            q_epi e = {NULL, NULL, NULL, t.rz, t.rs, t.rq,
                       {.bias = g->bias ? g->bias + i0 : NULL, .act = g->act, .lo = g->lo,
                        .hi = g->hi}};
            for (int64_t j0 = 0; j0 < g->N; j0 += NR) {
                int nr = g->N - j0 < NR ? (int)(g->N - j0) : NR;
                int64_t lane = g->bp_col0 + j0;
                e.lz = sums + j0, e.ls = (const float *)(base + w->scale_off) + lane;
                e.lq = w->any_zero ? (const float *)(base + w->zero_off) + lane : NULL;
                ukqa[mr](nq, t.aq, (int64_t)mr * 4, base + w->code_off + panel_at(w, kb, lane / NR),
                         g->C + i0 * g->ldc + j0, g->ldc, nr, mode, &e);
            }
        }
    }
}

void afk_qgemm_run(const afk_pgemm *g)
{
    if (g->Aq8) run_aw(g);
    else run_bw(g);
}
#else
void afk_q8_quantize(const float *x, int L, int64_t kc, uint8_t *q, float *sa, float *za,
                     float *sq)
{
    (void)x, (void)L, (void)kc, (void)q, (void)sa, (void)za, (void)sq;
}

void afk_qgemm_run(const afk_pgemm *g) { (void)g; }
#endif
