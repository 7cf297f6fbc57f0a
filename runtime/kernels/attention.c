/* runtime/kernels/attention.c — ATTENTION: out = softmax(q·kᵀ·scale)·v per batch index.
 *
 *   q (...,Tq,d), k (...,Tk,d) — or (...,d,Tk) when k_transposed —, v (...,Tk,dv)
 *   -> out (...,Tq,dv); the batch dims (...) of all four are equal. With params heads = h > 0
 *   the h heads sit side by side in the last axis — q (...,Tq,h·d), k (...,Tk,h·d),
 *   v (...,Tk,h·dv), out (...,Tq,h·dv), the projections before the head split — and batch
 *   index (outer, head) reads every h·d-th row segment (lowering folds the split and merge
 *   transposes into this).
 *
 * The (Tq × Tk) score matrix is never materialised. With the packed GEMM (AVX2 or AVX-512) the
 * kernel is one fused, threaded pass in the flash-attention manner. A task is (batch index,
 * up to GB blocks of QB queries); each query block packs scale·Qᵀ (d × QB) once as the GEMM's
 * B panels, then the task walks the keys in blocks of KB (tiles that stay in L2), packs the
 * block's K and Vᵀ once as the GEMMs' A panels and, for each of its query blocks:
 *
 *   Sᵀ (kb × QB)  = K_blk (kb × d) @ scale·Qᵀ              (packed GEMM, N = queries)
 *   m' = max(m, column max of Sᵀ);  P = e^(Sᵀ − m')       (online softmax per query column,
 *   f = e^(m − m');  l = l·f + column sum of P             8 queries per AVX2 vector; P is
 *   Oᵀ (dv × QB) = Oᵀ·f + Vᵀ_blk (dv × kb) @ P             written straight into B panels)
 *
 * and finally out[q][:] = Oᵀ[:][q] / l[q]. With the AVX-512 GEMM, scale·Qᵀ is packed and Oᵀ
 * stored back in 16×16 blocks transposed in registers (the same products, scalar at the
 * edges). Every GEMM has N = QB columns, so d = 40 still fills
 * whole 16/32-lane panels. A query's arithmetic depends only on Tk, d, dv and KB (never on the
 * task split or the thread count), so any thread count gives the same bits. The rescale
 * factor's own error cancels: it multiplies Oᵀ and l alike.
 *
 * Without the packed GEMM (no AVX2, or afk_vec_force_portable) query rows are processed in
 * chunks of at most 256 rows whose full score rows (rows × Tk f32, 4 MiB at Tk = 4096) live in
 * the thread's scratch slice: S = scale·Q·Kᵀ and O = softmax(S)·V by afk_sgemm, threaded over
 * (batch index, chunk). Softmax subtracts the row maximum before exponentiating.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "simd512.h"
#define AFK_ATTN_X86 1
#endif

/* Fused path: queries per block (a multiple of 32, the widest panel), keys per block (at most
 * AFK_PGEMM_KC, so P is a single k block of the second GEMM), query blocks per task (they
 * share each packed key block). */
enum { QB = 128, KB = 256, GB = 4 };
/* Portable path: score budget per chunk in floats (4 MiB) and rows per chunk. */
enum { SCORE_BUDGET = 256 * 4096, MAX_ROWS = 256 };

typedef struct attn_dims {
    int64_t batch, tq, d, tk, dv; /* batch: outer indices × heads; d, dv per head */
    int64_t h;                    /* heads side by side in the last axis (1: one) */
    int64_t ldq, ldk, ldv, ldo;   /* row strides of q, k (d apart when transposed), v, out */
} attn_dims;

/* Tq, d, Tk, dv, the batch size and the strides of a node (d, dv 0 when the heads do not
 * divide them; the check rejects that, and heads beyond q's or v's last dim, so that
 * batch × heads stays within q's element count). */
static attn_dims dims_of(const af_params *p, const af_tview *in)
{
    int r = in[0].rank;
    attn_dims a;
    a.h = p->attention.heads > 0 ? p->attention.heads : 1;
    a.batch = afk_prod(&in[0], 0, r - 2) * a.h;
    a.tq = in[0].dims[r - 2];
    a.d = in[0].dims[r - 1] % a.h ? 0 : in[0].dims[r - 1] / a.h;
    a.tk = p->attention.k_transposed ? in[1].dims[r - 1] : in[1].dims[r - 2];
    a.dv = in[2].dims[r - 1] % a.h ? 0 : in[2].dims[r - 1] / a.h;
    a.ldq = a.h * a.d, a.ldv = a.ldo = a.h * a.dv;
    a.ldk = p->attention.k_transposed ? a.tk : a.h * a.d;
    return a;
}

/* Where batch index b (outer index b/h, head b%h) starts in a tensor holding `rows` rows of
 * h·w per outer index. */
static int64_t head_off(const attn_dims *a, int64_t b, int64_t rows, int64_t w)
{
    return (b / a->h * rows * a->h + b % a->h) * w;
}

static int64_t portable_rows(int64_t tq, int64_t tk)
{
    int64_t r = tk > 0 ? SCORE_BUDGET / tk : MAX_ROWS;
    if (r > MAX_ROWS) r = MAX_ROWS;
    if (r < 1) r = 1;
    return r < tq ? r : (tq > 0 ? tq : 1);
}

static size_t pad16(size_t n) { return (n + 15) / 16 * 16; }

/* Floats of one query block's state and of one fused task's buffers (each region a multiple
 * of 16 floats = 64 bytes). */
static size_t qblk_floats(int64_t d, int64_t dv)
{
    return pad16((size_t)d * QB) + pad16((size_t)dv * QB) + 3 * pad16(QB);
}

static size_t fused_floats(int64_t d, int64_t dv)
{
    return GB * qblk_floats(d, dv) + 2 * pad16((size_t)KB * QB) + pad16((size_t)KB * d) +
           pad16((size_t)KB * dv);
}

size_t afk_attention_scratch(const af_params *p, const af_tview *in, int n_in)
{
    if (n_in < 3 || in[0].rank < 2 || in[1].rank != in[0].rank || in[2].rank != in[0].rank)
        return 0;
    attn_dims a = dims_of(p, in);
    if (a.tq < 0 || a.tk < 0 || a.d < 0 || a.dv < 0) return 0;
    if (afk_pgemm_nr() > 0) {
        if (a.d > ((int64_t)1 << 32) || a.dv > ((int64_t)1 << 32)) return 0;
        return fused_floats(a.d, a.dv) * sizeof(float);
    }
    if (a.tk > INT64_MAX / (4 * MAX_ROWS)) return 0;
    return (size_t)(portable_rows(a.tq, a.tk) * a.tk) * sizeof(float);
}

af_status afk_attention_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    static const char *const names[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
        af_status st = afk_need_dtype("attention", names[i], &in[i], AF_DTYPE_F32, err);
        if (st) return st;
    }
    af_status st = afk_need_dtype("attention", "out", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    int r = in[0].rank;
    if (r < 2 || in[1].rank != r || in[2].rank != r || out[0].rank != r)
        return af_err_set(err, AF_ERR_SHAPE, "attention: q, k, v and out must have one rank >= 2");
    for (int i = 0; i < r - 2; i++)
        if (in[1].dims[i] != in[0].dims[i] || in[2].dims[i] != in[0].dims[i] ||
            out[0].dims[i] != in[0].dims[i])
            return af_err_set(err, AF_ERR_SHAPE, "attention: batch dimension %d differs", i);
    attn_dims a = dims_of(p, in);
    int32_t h = p->attention.heads;
    if (h < 0 || (h > 0 && (p->attention.k_transposed || in[0].dims[r - 1] < h ||
                            in[2].dims[r - 1] < h)) ||
        in[0].dims[r - 1] % a.h || in[2].dims[r - 1] % a.h)
        return af_err_set(err, AF_ERR_SHAPE, "attention: %d heads do not split q (%lld) and v "
                          "(%lld)%s", (int)h, (long long)in[0].dims[r - 1],
                          (long long)in[2].dims[r - 1], h > 0 && p->attention.k_transposed ?
                          " with k transposed" : "");
    int64_t dk = p->attention.k_transposed ? in[1].dims[r - 2] : in[1].dims[r - 1];
    if (dk != in[0].dims[r - 1] || in[2].dims[r - 2] != a.tk || out[0].dims[r - 2] != a.tq ||
        out[0].dims[r - 1] != in[2].dims[r - 1])
        return af_err_set(err, AF_ERR_SHAPE, "attention: q (%lld,%lld), k (%lld keys of %lld), "
                          "v (%lld,%lld) and out do not fit", (long long)a.tq, (long long)a.d,
                          (long long)a.tk, (long long)dk, (long long)in[2].dims[r - 2],
                          (long long)a.dv);
    return AF_OK;
}

/* One run's operands and how its tasks are cut. */
typedef struct attn_job {
    attn_dims a;
    const float *q, *k, *v;
    float *o;
    float scale;
    int kt;               /* k stored (d, Tk) */
    int64_t rows, n_blk;  /* queries per task, tasks per batch index */
    char *scratch;
    size_t slice;         /* bytes of scratch per thread */
    int nr;               /* panel width of the packed GEMM (fused path) */
} attn_job;

/* ---- portable path: chunks of full score rows through afk_sgemm ---- */

/* Row-wise softmax of s (rows, n) in place, max subtracted. */
static void softmax_rows(float *s, int64_t rows, int64_t n)
{
    for (int64_t i = 0; i < rows; i++) {
        float *row = s + i * n, mx = -INFINITY;
        for (int64_t j = 0; j < n; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0.0f;
        for (int64_t j = 0; j < n; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        for (int64_t j = 0; j < n; j++) row[j] *= inv;
    }
}

// task (b, chunk): out[b, r0:r0+m] (m,dv) = softmax(scale Q Kᵀ) (m,Tk) @ V (Tk,dv)
static void portable_task(void *arg, int64_t t, int tid)
{
    const attn_job *j = arg;
    const attn_dims *a = &j->a;
    int64_t b = t / j->n_blk, r0 = t % j->n_blk * j->rows;
    int64_t m = a->tq - r0 < j->rows ? a->tq - r0 : j->rows;
    const float *qb = j->q + head_off(a, b, a->tq, a->d) + r0 * a->ldq;
    const float *kb = j->k + (j->kt ? b * a->d * a->tk : head_off(a, b, a->tk, a->d));
    const float *vb = j->v + head_off(a, b, a->tk, a->dv);
    float *s = (float *)(j->scratch + (size_t)tid * j->slice);
    // S (m,Tk) = scale * Q[r0:r0+m] (m,d) @ Kᵀ (d,Tk)
    afk_sgemm(0, !j->kt, m, a->tk, a->d, j->scale, qb, a->ldq, kb, a->ldk, 0.0f, s, a->tk);
    softmax_rows(s, m, a->tk);
    // O[r0:r0+m] (m,dv) = P (m,Tk) @ V (Tk,dv)
    afk_sgemm(0, 0, m, a->dv, a->tk, 1.0f, s, a->tk, vb, a->ldv, 0.0f,
              j->o + head_off(a, b, a->tq, a->dv) + r0 * a->ldo, a->ldo);
}

/* ---- fused path (x86: the packed GEMM plus an AVX2 online softmax) ---- */

#ifdef AFK_ATTN_X86
#define TGT256 __attribute__((target("avx2,fma")))

/* e^x for x <= 0 (or NaN), 8 lanes: x = n ln2 + r, |r| <= ln2/2 (ln2 split in two), e^r by
 * the degree-5 polynomial of expneg16 (simd512.h; ~2e-7 relative), times 2^n built in the
 * exponent field. x is clamped to -87 (n >= -126 stays a normal number): below that the result
 * is ~1e-38 instead of smaller, an absolute error far under a float's resolution of the sums
 * it enters (they hold a 1 from the maximum). */
TGT256 static inline __m256 expneg8(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x); /* NaN (2nd operand) stays NaN */
    const __m256 magic = _mm256_set1_ps(12582912.0f); /* 1.5 * 2^23: round to integer */
    __m256 nm = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
    __m256 n = _mm256_sub_ps(nm, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(0.0082976548f), r, _mm256_set1_ps(0.0419153832f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.166675746f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.499988943f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.999999702f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.00000012f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
                                  23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* One query block: its queries and state. */
typedef struct qblk {
    int64_t q0, n, nw;  /* queries [q0, q0+n); GEMM columns padded to the panel width: nw */
    float *qp;          /* scale·Qᵀ as B panels of the first GEMM: (d, QB), bp_ld = QB */
    float *ot;          /* Oᵀ (dv, QB) row-major */
    float *m, *l, *f;   /* per query: running max, running sum, this block's rescale factor */
} qblk;

/* A task's shared buffers, carved from its thread's scratch slice after GB query blocks. */
typedef struct attn_tile {
    float *s;   /* Sᵀ (KB, QB) row-major */
    float *pp;  /* P as B panels of the second GEMM: (kn, QB), one k block */
    float *kp;  /* the key block as the first GEMM's packed A: (kn, d) */
    float *vp;  /* Vᵀ of the key block as the second GEMM's packed A: (dv, kn) */
} attn_tile;

static attn_tile carve(const attn_job *j, int tid, qblk *qb, int64_t nqb)
{
    float *p = (float *)(j->scratch + (size_t)tid * j->slice);
    for (int64_t i = 0; i < nqb; i++) {
        float *r = p + (size_t)i * qblk_floats(j->a.d, j->a.dv);
        qb[i].qp = r, r += pad16((size_t)j->a.d * QB);
        qb[i].ot = r, r += pad16((size_t)j->a.dv * QB);
        qb[i].m = r, r += pad16(QB);
        qb[i].l = r, r += pad16(QB);
        qb[i].f = r;
    }
    p += GB * qblk_floats(j->a.d, j->a.dv);
    attn_tile t;
    t.s = p, p += pad16((size_t)KB * QB);
    t.pp = p, p += pad16((size_t)KB * QB);
    t.kp = p, p += pad16((size_t)KB * j->a.d);
    t.vp = p;
    return t;
}

/* dst = A (M, K) in afk_pgemm_pack_a's layout for micro-tiles of mr_max rows, where A[m][k]
 * is a[m*sm + k*sk]: k block k0 at dst + k0*M, its rows [i0, i0+mr) at + i0*kc, [kk*mr + i].
 * sm = 1 (V, and K stored transposed) copies mr contiguous floats per k. */
static void pack_a(const float *a, int64_t sm, int64_t sk, int64_t M, int64_t K, int mr_max,
                   float *dst)
{
    for (int64_t k0 = 0; k0 < K; k0 += AFK_PGEMM_KC) {
        int64_t kc = K - k0 < AFK_PGEMM_KC ? K - k0 : AFK_PGEMM_KC;
        for (int64_t i0 = 0; i0 < M; i0 += mr_max) {
            int mr = M - i0 < mr_max ? (int)(M - i0) : mr_max;
            float *d = dst + k0 * M + i0 * kc;
            const float *src = a + i0 * sm + k0 * sk;
            if (sm == 1 && mr == 6)
                for (int64_t kk = 0; kk < kc; kk++) memcpy(d + kk * 6, src + kk * sk, 6 * sizeof(float));
            else if (sm == 1 && mr == 14)
                for (int64_t kk = 0; kk < kc; kk++) memcpy(d + kk * 14, src + kk * sk, 14 * sizeof(float));
            else if (sm == 1)
                for (int64_t kk = 0; kk < kc; kk++)
                    for (int i = 0; i < mr; i++) d[kk * mr + i] = src[kk * sk + i];
            else if (sk == 1 && mr == 6) /* K (kn, d) rows: 6 read streams, one write stream */
                for (int64_t kk = 0; kk < kc; kk++)
                    for (int i = 0; i < 6; i++) d[kk * 6 + i] = src[i * sm + kk];
            else if (sk == 1 && mr == 14)
                for (int64_t kk = 0; kk < kc; kk++)
                    for (int i = 0; i < 14; i++) d[kk * 14 + i] = src[i * sm + kk];
            else
                for (int i = 0; i < mr; i++)
                    for (int64_t kk = 0; kk < kc; kk++) d[kk * mr + i] = src[i * sm + kk * sk];
        }
    }
}

/* qp = scale·Q[0:n]ᵀ (d, n) in the packed GEMM's B layout with bp_ld = QB: k block k0 at
 * qp + k0*QB, its panel c at + c*nr*kc, B[k0+kk][c*nr+r] at [kk*nr + r]; zeros past n up to
 * the panel edge. q: n rows of d, ldq apart. */
/* Columns [0, n16) and k rows [0, kc16) of one k block as 16×16 blocks transposed in registers
 * (nr 32: the AVX-512 GEMM's panels); the same products scale·q. */
AFK_TGT512 static void pack_q512(const float *q, int64_t ldq, int64_t n16, int64_t k0,
                                 int64_t kc, int64_t kc16, float scale, float *blk)
{
    const __m512 sv = _mm512_set1_ps(scale);
    for (int64_t c = 0; c < n16; c += 16)
        for (int64_t kk = 0; kk < kc16; kk += 16) {
            __m512 v[16];
            for (int i = 0; i < 16; i++) v[i] = _mm512_loadu_ps(q + (c + i) * ldq + k0 + kk);
            afk_tr16(v); /* v[i]: k = kk+i of queries c..c+15 */
            float *dst = blk + c / 32 * 32 * kc + c % 32;
            for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + (kk + i) * 32, _mm512_mul_ps(sv, v[i]));
        }
}

static void pack_q(const float *q, int64_t ldq, int64_t n, int64_t d, float scale, int nr,
                   float *qp)
{
    int64_t nw = (n + nr - 1) / nr * nr;
    for (int64_t k0 = 0; k0 < d; k0 += AFK_PGEMM_KC) {
        int64_t kc = d - k0 < AFK_PGEMM_KC ? d - k0 : AFK_PGEMM_KC;
        float *blk = qp + k0 * QB;
        int64_t n16 = nr == 32 ? n / 16 * 16 : 0, kc16 = kc / 16 * 16;
        if (n16 && kc16) pack_q512(q, ldq, n16, k0, kc, kc16, scale, blk);
        for (int64_t c = 0; c < nw; c++) {
            float *dst = blk + c / nr * nr * kc + c % nr;
            const float *src = q + c * ldq + k0;
            if (c < n)
                for (int64_t kk = c < n16 ? kc16 : 0; kk < kc; kk++) dst[kk * nr] = scale * src[kk];
            else
                for (int64_t kk = 0; kk < kc; kk++) dst[kk * nr] = 0.0f;
        }
    }
}

/* Online softmax over one key block, for the query columns [0, nw) (nw a multiple of 16):
 * s (kb, QB) row-major scores -> pp (kb, nw) as B panels of width nr (P = e^(s − m')),
 * m = m' (new running max), f = e^(m − m') (1 exactly where the max stayed), l = l·f + Σ P.
 * Returns 1 when some f is not 1 (Oᵀ needs rescaling). */
TGT256 static int online_softmax(const float *s, int64_t kb, int64_t nw, int nr, float *pp,
                                 float *m, float *l, float *f)
{
    __m256 changed = _mm256_setzero_ps();
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t n = 0; n < nw; n += 16) {
        const float *sc = s + n;
        __m256 mo0 = _mm256_loadu_ps(m + n), mo1 = _mm256_loadu_ps(m + n + 8);
        __m256 a0 = mo0, a1 = mo1, b0 = mo0, b1 = mo1;
        int64_t kk = 0;
        for (; kk + 2 <= kb; kk += 2) { /* two chains per half: max latency hidden */
            a0 = _mm256_max_ps(a0, _mm256_loadu_ps(sc + kk * QB));
            a1 = _mm256_max_ps(a1, _mm256_loadu_ps(sc + kk * QB + 8));
            b0 = _mm256_max_ps(b0, _mm256_loadu_ps(sc + (kk + 1) * QB));
            b1 = _mm256_max_ps(b1, _mm256_loadu_ps(sc + (kk + 1) * QB + 8));
        }
        if (kk < kb) {
            a0 = _mm256_max_ps(a0, _mm256_loadu_ps(sc + kk * QB));
            a1 = _mm256_max_ps(a1, _mm256_loadu_ps(sc + kk * QB + 8));
        }
        __m256 mx0 = _mm256_max_ps(a0, b0), mx1 = _mm256_max_ps(a1, b1);
        __m256 same0 = _mm256_cmp_ps(mo0, mx0, _CMP_EQ_OQ), same1 = _mm256_cmp_ps(mo1, mx1, _CMP_EQ_OQ);
        __m256 f0 = _mm256_blendv_ps(expneg8(_mm256_sub_ps(mo0, mx0)), one, same0);
        __m256 f1 = _mm256_blendv_ps(expneg8(_mm256_sub_ps(mo1, mx1)), one, same1);
        changed = _mm256_or_ps(changed, _mm256_cmp_ps(f0, one, _CMP_NEQ_UQ));
        changed = _mm256_or_ps(changed, _mm256_cmp_ps(f1, one, _CMP_NEQ_UQ));
        float *dst = pp + n / nr * nr * kb + n % nr;
        __m256 u0 = _mm256_setzero_ps(), u1 = u0, w0 = u0, w1 = u0;
        for (kk = 0; kk + 2 <= kb; kk += 2) {
            __m256 p0 = expneg8(_mm256_sub_ps(_mm256_loadu_ps(sc + kk * QB), mx0));
            __m256 p1 = expneg8(_mm256_sub_ps(_mm256_loadu_ps(sc + kk * QB + 8), mx1));
            __m256 p2 = expneg8(_mm256_sub_ps(_mm256_loadu_ps(sc + (kk + 1) * QB), mx0));
            __m256 p3 = expneg8(_mm256_sub_ps(_mm256_loadu_ps(sc + (kk + 1) * QB + 8), mx1));
            _mm256_storeu_ps(dst + kk * nr, p0), _mm256_storeu_ps(dst + kk * nr + 8, p1);
            _mm256_storeu_ps(dst + (kk + 1) * nr, p2), _mm256_storeu_ps(dst + (kk + 1) * nr + 8, p3);
            u0 = _mm256_add_ps(u0, p0), u1 = _mm256_add_ps(u1, p1);
            w0 = _mm256_add_ps(w0, p2), w1 = _mm256_add_ps(w1, p3);
        }
        if (kk < kb) {
            __m256 p0 = expneg8(_mm256_sub_ps(_mm256_loadu_ps(sc + kk * QB), mx0));
            __m256 p1 = expneg8(_mm256_sub_ps(_mm256_loadu_ps(sc + kk * QB + 8), mx1));
            _mm256_storeu_ps(dst + kk * nr, p0), _mm256_storeu_ps(dst + kk * nr + 8, p1);
            u0 = _mm256_add_ps(u0, p0), u1 = _mm256_add_ps(u1, p1);
        }
        __m256 l0 = _mm256_loadu_ps(l + n), l1 = _mm256_loadu_ps(l + n + 8);
        _mm256_storeu_ps(l + n, _mm256_fmadd_ps(l0, f0, _mm256_add_ps(u0, w0)));
        _mm256_storeu_ps(l + n + 8, _mm256_fmadd_ps(l1, f1, _mm256_add_ps(u1, w1)));
        _mm256_storeu_ps(m + n, mx0), _mm256_storeu_ps(m + n + 8, mx1);
        _mm256_storeu_ps(f + n, f0), _mm256_storeu_ps(f + n + 8, f1);
    }
    return _mm256_movemask_ps(changed) != 0;
}

/* ot (dv, QB) columns [0, nw) *= f (nw a multiple of 16). */
TGT256 static void rescale(float *ot, int64_t dv, int64_t nw, const float *f)
{
    for (int64_t c = 0; c < dv; c++) {
        float *row = ot + c * QB;
        for (int64_t n = 0; n < nw; n += 8)
            _mm256_storeu_ps(row + n, _mm256_mul_ps(_mm256_loadu_ps(row + n), _mm256_loadu_ps(f + n)));
    }
}

/* store_out's rows [0, n16) and columns [0, dv16) as 16×16 blocks transposed in registers. */
AFK_TGT512 static void store_out512(const float *ot, const float *l, int64_t n16, int64_t dv16,
                                    float *out, int64_t ldo)
{
    for (int64_t q = 0; q < n16; q += 16) {
        float inv[16];
        for (int i = 0; i < 16; i++) inv[i] = 1.0f / l[q + i];
        for (int64_t c = 0; c < dv16; c += 16) {
            __m512 v[16];
            for (int i = 0; i < 16; i++) v[i] = _mm512_loadu_ps(ot + (c + i) * QB + q);
            afk_tr16(v); /* v[i]: query q+i, columns c..c+15 */
            for (int i = 0; i < 16; i++)
                _mm512_storeu_ps(out + (q + i) * ldo + c, _mm512_mul_ps(v[i], _mm512_set1_ps(inv[i])));
        }
    }
}

// out rows [0, n) (n, dv), ldo apart = Oᵀ (dv, QB) transposed, column q divided by l[q]
static void store_out(const float *ot, const float *l, int64_t n, int64_t dv, float *out,
                      int64_t ldo, int wide)
{
    int64_t n16 = wide ? n / 16 * 16 : 0, dv16 = dv / 16 * 16;
    if (n16 && dv16) store_out512(ot, l, n16, dv16, out, ldo);
    for (int64_t q = 0; q < n; q++) {
        float inv = 1.0f / l[q], *o = out + q * ldo;
        for (int64_t c = q < n16 ? dv16 : 0; c < dv; c++) o[c] = ot[c * QB + q] * inv;
    }
}

/* A query block's start: packed queries, empty state, edge columns zeroed. */
static void qblk_init(const attn_job *j, const float *qb, qblk *w, float *s)
{
    const attn_dims *a = &j->a;
    pack_q(qb + w->q0 * a->ldq, a->ldq, w->n, a->d, j->scale, j->nr, w->qp);
    for (int64_t i = 0; i < QB; i++) w->m[i] = -INFINITY, w->l[i] = 0.0f;
    /* columns [n, nw) are never written by the GEMMs: keep them finite (they never reach out) */
    for (int64_t r = 0; r < KB && w->n < w->nw; r++)
        memset(s + r * QB + w->n, 0, sizeof(float) * (size_t)(w->nw - w->n));
    for (int64_t r = 0; r < a->dv && w->n < w->nw; r++)
        memset(w->ot + r * QB + w->n, 0, sizeof(float) * (size_t)(w->nw - w->n));
}

/* One key block [k0, k0+kn) for one query block; the block's K and Vᵀ are packed in t. */
static void qblk_step(const attn_job *j, const attn_tile *t, qblk *w, int64_t k0, int64_t kn)
{
    const attn_dims *a = &j->a;
    // Sᵀ (kn, n) = K[k0:k0+kn] (kn, d) @ scale·Qᵀ (d, n)
    afk_pgemm g1 = {.M = kn, .N = w->n, .K = a->d, .Ap = t->kp, .ap_rows = kn, .Bp = w->qp,
                    .bp_ld = QB, .C = t->s, .ldc = QB};
    if (a->d > 0)
        afk_pgemm_run(&g1);
    else
        for (int64_t r = 0; r < kn; r++) memset(t->s + r * QB, 0, sizeof(float) * (size_t)w->n);
    int resc = online_softmax(t->s, kn, w->nw, j->nr, t->pp, w->m, w->l, w->f);
    if (k0 > 0 && resc) rescale(w->ot, a->dv, w->nw, w->f);
    // Oᵀ (dv, n) (+)= Vᵀ (dv, kn) @ P (kn, n)
    afk_pgemm g2 = {.M = a->dv, .N = w->n, .K = kn, .Ap = t->vp, .ap_rows = a->dv, .Bp = t->pp,
                    .bp_ld = QB, .C = w->ot, .ldc = QB, .acc = k0 > 0};
    afk_pgemm_run(&g2);
}

// task (b, group of up to GB query blocks): out[b, q0:q0+n] (n,dv) by the key-block loop above
static void fused_task(void *arg, int64_t t, int tid)
{
    const attn_job *j = arg;
    const attn_dims *a = &j->a;
    int64_t b = t / j->n_blk, g0 = t % j->n_blk * j->rows, nqb = 0;
    const float *kb = j->k + (j->kt ? b * a->d * a->tk : head_off(a, b, a->tk, a->d));
    const float *vb = j->v + head_off(a, b, a->tk, a->dv);
    const float *qbat = j->q + head_off(a, b, a->tq, a->d);
    qblk w[GB];
    for (int64_t q0 = g0; q0 < a->tq && q0 < g0 + j->rows; q0 += QB, nqb++) {
        w[nqb].q0 = q0;
        w[nqb].n = a->tq - q0 < QB ? a->tq - q0 : QB;
        w[nqb].nw = (w[nqb].n + j->nr - 1) / j->nr * j->nr;
    }
    attn_tile tl = carve(j, tid, w, nqb);
    for (int64_t i = 0; i < nqb; i++) qblk_init(j, qbat, &w[i], tl.s);
    const int mr = afk_pgemm_mr();
    for (int64_t k0 = 0; k0 < a->tk; k0 += KB) {
        int64_t kn = a->tk - k0 < KB ? a->tk - k0 : KB;
        /* K block (kn, d) — stored (d, Tk) when kt — and Vᵀ block (dv, kn), V stored (Tk, dv) */
        if (j->kt)
            pack_a(kb + k0, 1, a->ldk, kn, a->d, mr, tl.kp);
        else
            pack_a(kb + k0 * a->ldk, a->ldk, 1, kn, a->d, mr, tl.kp);
        pack_a(vb + k0 * a->ldv, 1, a->ldv, a->dv, kn, mr, tl.vp);
        for (int64_t i = 0; i < nqb; i++) qblk_step(j, &tl, &w[i], k0, kn);
    }
    for (int64_t i = 0; i < nqb; i++)
        store_out(w[i].ot, w[i].l, w[i].n, a->dv,
                  j->o + head_off(a, b, a->tq, a->dv) + w[i].q0 * a->ldo, a->ldo, j->nr == 32);
}
#endif

// q (...,Tq,d) k (...,Tk,d | ...,d,Tk) v (...,Tk,dv) -> out (...,Tq,dv)
af_status afk_attention_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out;
    attn_job j = {.a = dims_of(p, in), .q = in[0].data, .k = in[1].data, .v = in[2].data,
                  .o = out[0].data, .scale = p->attention.scale, .kt = p->attention.k_transposed,
                  .scratch = ctx->scratch};
    const attn_dims *a = &j.a;
    if (a->batch == 0 || a->tq == 0 || a->dv == 0) return AF_OK;
    if (a->tk == 0) { /* softmax over no keys: define the result as 0 */
        memset(j.o, 0, sizeof(float) * (size_t)(a->batch * a->tq * a->dv));
        return AF_OK;
    }
    int nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
    j.slice = ctx->scratch ? ctx->scratch_bytes / (size_t)nt / 64 * 64 : 0;
#ifdef AFK_ATTN_X86
    j.nr = afk_pgemm_nr();
    if (j.nr > 0 && j.slice >= fused_floats(a->d, a->dv) * sizeof(float)) {
        /* GB query blocks per task while that leaves >= 8 tasks (shape-only, like the result) */
        int64_t nqb = (a->tq + QB - 1) / QB, g = a->batch * nqb / 8;
        g = g < 1 ? 1 : g > GB ? GB : g;
        j.rows = g * QB, j.n_blk = (a->tq + j.rows - 1) / j.rows;
        afk_parallel(ctx, a->batch * j.n_blk, fused_task, &j);
        return AF_OK;
    }
#endif
    /* portable: as many score rows as the slice holds (the planned count when it was sized so) */
    int64_t fit = (int64_t)(j.slice / sizeof(float) / (size_t)a->tk);
    j.rows = portable_rows(a->tq, a->tk);
    if (fit < j.rows) j.rows = fit;
    if (j.rows < 1)
        return af_err_set(err, AF_ERR_INTERNAL, "attention: scratch of %zu bytes holds no score "
                          "row of %lld keys", j.slice, (long long)a->tk);
    j.n_blk = (a->tq + j.rows - 1) / j.rows;
    afk_parallel(ctx, a->batch * j.n_blk, portable_task, &j);
    return AF_OK;
}
