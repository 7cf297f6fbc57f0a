/* runtime/kernels/sgemm.c — the runtime's own SGEMM for MatMul, Gemm and batched MatMul: the
 * packed micro-kernels of sgemm_packed.c behind a BLAS-shaped call, and a threaded driver.
 *
 *   C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C      row-major, op = transpose or not
 *
 * afk_sgemm_w runs on one thread in caller-given work memory: N is cut into blocks of NC
 * columns, each packed KC rows at a time into NR-wide panels (or taken from a B packed once per
 * session, in floats or halves), and rows go MC at a time through every k block so the C block
 * is still cached when the next k block adds to it. One row (M = 1) is a GEMV: B is read once,
 * unpacked. A tall MatMul's constant f32 weight is instead packed once as op(B)^T's row panels
 * and multiplied as the broadcast operand, C^T = op(B)^T @ A^T, its tiles stored transposed
 * (sgemm_wt; same sums, same bits). afk_sgemm_par_run cuts a (batched) GEMM into tiles and runs
 * them on the session's
 * pool; no tiling changes an element's arithmetic (k in order, one FMA per product, per KC
 * block), so every output is the same for any thread count.
 */
#include "internal.h"
#include "simd512.h"
#include "cpanel.h"
#include "qgemm.h"

#include <string.h>

/* NC columns of B per packed block; A_ONCE: an A of up to this many floats is packed once per
 * call and reused by every column block (else once per block). */
enum { KC = AFK_PGEMM_KC, NC = 512, A_ONCE = 1024 * 1024, MC = 168 /* 12 x 14, 28 x 6 */ };
/* weights as A: weight rows per GEMM call, 16 x 14 — whole 16-wide blocks for the transposed
 * store (else an 8-column scalar tail per call), and MW x NC within the work's first region */
enum { MW = 224 };

size_t afk_sgemm_work_floats(void) { return afk_pgemm_work_floats(NC) + A_ONCE + 16; }

/* ---- B panels --------------------------------------------------------------------------- */

typedef struct bsrc {
    const void *B;      /* floats, or IEEE halves when es == 2 */
    int64_t ldb, j0, n; /* columns [j0, j0+n) of op(B) */
    int tb;             /* B stored (N,K) */
    size_t es;          /* bytes per element: 4 or 2 (packed as they are) */
} bsrc;

/* dst: ceil(n/nr) panels of (kc, nr) = op(B)[k0:k0+kc, j0:j0+n], zeros past n, elements of
 * es bytes copied as they are. */
static void pack_b_any(const bsrc *s, int64_t k0, int64_t kc, int nr, void *dst)
{
    const size_t es = s->es;
    const uint8_t *B = s->B;
    uint8_t *d = dst;
    for (int64_t p0 = 0; p0 < s->n; p0 += nr, d += (size_t)(kc * nr) * es) {
        int w = s->n - p0 < nr ? (int)(s->n - p0) : nr;
        if (!s->tb) { /* rows of B are contiguous: one copy of w elements per k */
            const uint8_t *b = B + (size_t)(k0 * s->ldb + s->j0 + p0) * es;
            for (int64_t kk = 0; kk < kc; kk++, b += (size_t)s->ldb * es)
                memcpy(d + (size_t)(kk * nr) * es, b, (size_t)w * es);
        } else if (es == sizeof(float)) { /* B (N,K): panel column r is row j0+p0+r */
            for (int r = 0; r < w; r++) {
                const float *b = (const float *)B + (s->j0 + p0 + r) * s->ldb + k0;
                for (int64_t kk = 0; kk < kc; kk++) ((float *)d)[kk * nr + r] = b[kk];
            }
        } else {
            for (int r = 0; r < w; r++) {
                const uint16_t *b = (const uint16_t *)B + (s->j0 + p0 + r) * s->ldb + k0;
                for (int64_t kk = 0; kk < kc; kk++) ((uint16_t *)d)[kk * nr + r] = b[kk];
            }
        }
        for (int64_t kk = 0; w < nr && kk < kc; kk++)
            memset(d + (size_t)(kk * nr + w) * es, 0, (size_t)(nr - w) * es);
    }
}

static void pack_b_gen(const void *arg, int64_t k0, int64_t kc, int nr, float *dst)
{
    pack_b_any(arg, k0, kc, nr, dst);
}

static int64_t bp_ld(int64_t N)
{
    return (N + 31) / 32 * 32;
}

/* A packed B starts with a 64-byte header: (int32) the panel width it was packed for, then
 * the element size: 4 floats, 2 halves, PB_CW compressed panels, PB_CW_ROWS compressed rows
 * (the GEMV's, for one output row). */
enum { PB_HEAD = 64, PB_CW = 1, PB_CW_ROWS = 3 };

/* Writes the header of a packed B of element kind es at dst; returns where its panels go. */
static uint8_t *pb_head(void *dst, int32_t es)
{
    int32_t *h = dst;
    memset(h, 0, PB_HEAD);
    h[0] = afk_pgemm_nr(), h[1] = es;
    return (uint8_t *)dst + PB_HEAD;
}

static size_t packb_bytes(int64_t K, int64_t N, size_t es)
{
    if (!afk_pgemm_nr() || K <= 0 || N <= 0) return 0;
    return PB_HEAD + (size_t)(K * bp_ld(N)) * es;
}

size_t afk_sgemm_packb_floats(int64_t K, int64_t N)
{
    return packb_bytes(K, N, sizeof(float)) / sizeof(float);
}

size_t afk_sgemm_packb16_bytes(int64_t K, int64_t N)
{
    return packb_bytes(K, N, sizeof(uint16_t));
}

/* dst: the header, then every k block of op(B) as pack_b_any writes it, block k0 at
 * k0 * bp_ld(N) elements after the header. */
static void packb(int tb, int64_t K, int64_t N, const void *B, int64_t ldb, size_t es,
                  uint8_t *dst)
{
    const bsrc s = {B, ldb, 0, N, tb, es};
    uint8_t *d = pb_head(dst, (int32_t)es);
    for (int64_t k0 = 0; k0 < K; k0 += KC)
        pack_b_any(&s, k0, K - k0 < KC ? K - k0 : KC, afk_pgemm_nr(),
                   d + (size_t)(k0 * bp_ld(N)) * es);
}

void afk_sgemm_packb(int tb, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst)
{
    packb(tb, K, N, B, ldb, sizeof(float), (uint8_t *)dst);
}

void afk_sgemm_packb16(int tb, int64_t K, int64_t N, const uint16_t *B, int64_t ldb, void *dst)
{
    packb(tb, K, N, B, ldb, sizeof(uint16_t), dst);
}

size_t afk_sgemm_packb_cw_bytes(int tb, const uint8_t *blob, const int64_t *dims)
{
    int nr = afk_pgemm_nr();
    size_t b = !nr ? 0 : tb ? afk_cw_bytes(blob, 2, dims, 1, nr) : afk_cw_bytes_t(blob, 2, dims, nr);
    return b ? PB_HEAD + b : 0;
}

/* The header (element size 1: compressed), then the panels of cpanel.h: op(B)'s N columns are
 * their lanes, K their k — a (N,K) weight as stored, a (K,N) one read transposed. */
void afk_sgemm_packb_cw(int tb, const uint8_t *blob, const int64_t *dims, void *dst)
{
    uint8_t *d = pb_head(dst, PB_CW);
    if (tb) afk_cw_pack(blob, 2, dims, 1, afk_pgemm_nr(), d);
    else afk_cw_pack_t(blob, 2, dims, afk_pgemm_nr(), d);
}

/* int8 compute (qgemm.h): the header (element size PB_Q8), then int8 panels of 32 lanes: op(B)'s
 * N columns — a (N,K) weight as stored (per-column scales), a (K,N) one read transposed (its
 * per-k scales folded into A, one zero point). 0 bytes: it cannot run so. */
enum { PB_Q8 = 8 };

size_t afk_sgemm_packb_q8_bytes(int tb, const uint8_t *blob, const int64_t *dims)
{
    size_t b = afk_pgemm_nr() == 32 ? afk_q8_bytes(blob, 2, dims, 1, 32, !tb) : 0;
    return b ? PB_HEAD + b : 0;
}

void afk_sgemm_packb_q8(int tb, const uint8_t *blob, const int64_t *dims, void *dst)
{
    afk_q8_pack(blob, 2, dims, 1, 32, !tb, pb_head(dst, PB_Q8));
}


/* ---- a constant f32 op(B) as the A operand ------------------------------------------------
 * Y (M,N) = X (M,K) @ W (K,N) is also Y^T = W^T @ X^T: the weight as the broadcast operand
 * (pre-packed row panels of W^T, streamed once per call) and the activations as the vector one
 * (X^T packed per call, reused from L2 by every panel), the order the convolutions run in. On
 * AVX-512 it is the faster one for tall activations (a 256×1280 @ 1280×10240 product: 45 vs
 * 50 ms, one thread), and each output still sums k in order with one FMA per product from
 * zero, so both orders give the same bits. Header word 2 = 1 marks this layout. */
enum { PB_AS_A = 2 };

/* Where the order pays for its two transposes (X^T packed, C^T stored: a fixed cost per
 * input and output element, against K products per output): a long K and activations no
 * taller than twice the weight's width. Measured on AVX-512, one thread: 256×1280 @ 1280×1280
 * and @ 1280×10240, 256×5120 @ 5120×1280 0.77–0.9× the B-panel time; 4096×320 @ 320×320
 * 1.23×, 4096×1280 @ 1280×320 1.03× (so those stay on B panels). */
int afk_sgemm_packw_ok(int64_t M, int64_t K, int64_t N)
{
    if (afk_pgemm_nr() != 32 || M < 32 || N < 2 * afk_pgemm_mr() || K < 1024 || M > 2 * N ||
        K * 32 > A_ONCE)
        return 0;
    /* and no more padding than the B-panel order: the padded products M cut into 32-wide
     * column panels and N into MR-row panels, against M into MR rows and N into 32 columns
     * (ConvNeXt's 196 x 1536 @ 1536 x 384: 87.5 % of the products useful this way, 100 % the
     * other: 2.5 -> 2.2 ms on B panels, Zen 4) */
    const int64_t mr = afk_pgemm_mr();
    return (M + 31) / 32 * 32 * ((N + mr - 1) / mr * mr) <=
           (M + mr - 1) / mr * mr * ((N + 31) / 32 * 32);
}

size_t afk_sgemm_packw_bytes(int64_t K, int64_t N)
{
    return PB_HEAD + (size_t)(K * N) * sizeof(float);
}

void afk_sgemm_packw(int tb, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst)
{
    float *d = (float *)pb_head(dst, (int32_t)sizeof(float));
    ((int32_t *)dst)[PB_AS_A] = afk_pgemm_mr();
    /* op(B)^T (N,K): B as stored when tb, else B (K,N) read transposed */
    afk_pgemm_pack_a_gen(N, K, B, ldb, !tb, 1.0f, d);
}

/* The panels of a packed B if they fit the kernel in use (else NULL), their element size, and
 * (as_a) whether they are op(B)^T's A panels. */
static const void *packed_panels(const void *Bp, size_t *es)
{
    if (!Bp || !afk_pgemm_nr() || ((const int32_t *)Bp)[0] != afk_pgemm_nr()) return NULL;
    if (((const int32_t *)Bp)[PB_AS_A] && ((const int32_t *)Bp)[PB_AS_A] != afk_pgemm_mr())
        return NULL;
    *es = (size_t)((const int32_t *)Bp)[1];
    if (*es == PB_Q8 && !afk_q8_available()) return NULL;
    return (const uint8_t *)Bp + PB_HEAD;
}

static int packed_as_a(const void *Bp)
{
    return Bp && ((const int32_t *)Bp)[PB_AS_A] != 0;
}

int afk_sgemm_packed_ok(const void *Bp)
{
    size_t es;
    return packed_panels(Bp, &es) != NULL;
}

/* ---- GEMV (M = 1), AVX-512 ------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
#define AFK_SG_X86 1

/* Rows of B gemv_t512 reads side by side, and how far ahead (floats) each is prefetched: a
 * batch-1 layer reads its weights once, often from a mapped file's 4 KB pages, at whose
 * boundaries the hardware prefetchers stop; fewer streams, each prefetched 2 KB ahead, keep
 * more of them in flight. Zen 5, one thread, against 8 rows unprefetched (ms): 4096 -> 4096
 * 3.5 -> 2.1, 9216 -> 4096 8.7 -> 6.3, 2048 -> 1000 0.24 -> 0.18 (bench/compare-style
 * alternation of single-Gemm models; two rows were slower than four). */
enum { GV_ROWS = 4, GV_PF = 512 };

/* gemv_t512's steps on up to GV_ROWS rows of B (rows ldb apart): s[r] += x[k:k+16] *
 * B[r][k:k+16] for k = 0, 16, .. < n (a multiple of 16), in order; the masked tail; the
 * outputs. */
AFK_TGT512 static inline void t_acc(__m512 *s, int nj, const float *x, const float *B,
                                    int64_t ldb, int64_t n)
{
    for (int64_t k = 0; k < n; k += 16) {
        __m512 xv = _mm512_loadu_ps(x + k);
        for (int r = 0; r < nj; r++) {
            _mm_prefetch((const char *)(B + r * ldb + k + GV_PF), _MM_HINT_T0);
            s[r] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(B + r * ldb + k), s[r]);
        }
    }
}

AFK_TGT512 static inline void t_tail(__m512 *s, int nj, const float *x, const float *B,
                                     int64_t ldb, __mmask16 tail)
{
    __m512 xv = _mm512_maskz_loadu_ps(tail, x);
    for (int r = 0; r < nj; r++)
        s[r] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, B + r * ldb), s[r]);
}

AFK_TGT512 static inline void t_out(const __m512 *s, int nj, float alpha, float beta, float *c)
{
    for (int r = 0; r < nj; r++) {
        float v = alpha * _mm512_reduce_add_ps(s[r]);
        c[r] = beta == 0.0f ? v : v + beta * c[r];
    }
}

/* a (K) gathered into tmp when strided. */
static const float *gather_a(const float *a, int64_t inca, int64_t K, float *tmp)
{
    if (inca == 1) return a;
    for (int64_t k = 0; k < K; k++) tmp[k] = a[k * inca];
    return tmp;
}

/* c[j] = alpha * sum_k a[k*inca] * B[j*ldb + k] (+ beta * c[j]), B stored (N,K): GV_ROWS rows
 * of B at a time, 16 lanes of partial sums each, reduced in a fixed order; each row's sum is
 * the same chain whatever the rows beside it. */
AFK_TGT512 static void gemv_t512(int64_t N, int64_t K, float alpha, const float *a, int64_t inca,
                                 const float *B, int64_t ldb, float beta, float *c, float *tmp)
{
    const float *x = gather_a(a, inca, K, tmp);
    __mmask16 tail = (__mmask16)((1u << (K % 16)) - 1);
    int64_t kv = K - K % 16;
    for (int64_t j = 0; j < N; j += GV_ROWS) {
        int nj = N - j < GV_ROWS ? (int)(N - j) : GV_ROWS;
        __m512 s[GV_ROWS];
        for (int r = 0; r < GV_ROWS; r++) s[r] = _mm512_setzero_ps();
        t_acc(s, nj, x, B + j * ldb, ldb, kv);
        if (tail) t_tail(s, nj, x + kv, B + j * ldb + kv, ldb, tail);
        t_out(s, nj, alpha, beta, c + j);
    }
}

/* gemv_n512's steps on one block of up to 256 columns: its masks and zeroed sums (returns the
 * vectors, nv); s[v] += a[k*inca] * B[k][16v:16v+16] for nk rows of B (ldb apart), k in
 * order; the outputs. */
AFK_TGT512 static inline int n_init(__m512 *s, __mmask16 *m, int64_t cols)
{
    int nv = (int)((cols + 15) / 16 < 16 ? (cols + 15) / 16 : 16);
    for (int v = 0; v < nv; v++) {
        int64_t left = cols - 16 * v;
        m[v] = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        s[v] = _mm512_setzero_ps();
    }
    return nv;
}

AFK_TGT512 static inline void n_acc(__m512 *s, const __mmask16 *m, int nv, const float *a,
                                    int64_t inca, const float *B, int64_t ldb, int64_t nk)
{
    for (int64_t k = 0; k < nk; k++) {
        __m512 av = _mm512_set1_ps(a[k * inca]);
        const float *b = B + k * ldb;
        for (int v = 0; v < nv; v++)
            s[v] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m[v], b + 16 * v), s[v]);
    }
}

AFK_TGT512 static inline void n_out(const __m512 *s, const __mmask16 *m, int nv, float alpha,
                                    float beta, float *c)
{
    for (int v = 0; v < nv; v++) {
        __m512 r = _mm512_mul_ps(s[v], _mm512_set1_ps(alpha));
        if (beta != 0.0f)
            r = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m[v], c + 16 * v), r);
        _mm512_mask_storeu_ps(c + 16 * v, m[v], r);
    }
}

/* c[0:N] = alpha * sum_k a[k*inca] * B[k*ldb + j] (+ beta * c), B stored (K,N): 256 columns
 * at a time in 16 accumulators, k in order. */
AFK_TGT512 static void gemv_n512(int64_t N, int64_t K, float alpha, const float *a, int64_t inca,
                                 const float *B, int64_t ldb, float beta, float *c)
{
    for (int64_t j0 = 0; j0 < N; j0 += 256) {
        __m512 s[16];
        __mmask16 m[16];
        int nv = n_init(s, m, N - j0);
        n_acc(s, m, nv, a, inca, B + j0, ldb, K);
        n_out(s, m, nv, alpha, beta, c + j0);
    }
}

/* GV_CH: columns of 4 stored rows decoded per step (tb); GV_KB: rows of 256 columns (!tb). */
enum { GV_CH = 2048, GV_KB = 32 };

/* The GEMV on B kept compressed in the rows form (cpanel.h), columns [col0, col0+N) of op(B):
 * pieces of the stored rows are decoded into work (GV_CH columns of 4 rows; GV_KB rows of 256
 * columns), then summed by gemv_t512's / gemv_n512's very steps — the same FMAs in the same
 * order on the same floats — so c equals the f32 GEMV's on the decoded weight bit for bit.
 * work: K (a strided a, tb) + 4 * GV_CH floats. */
AFK_TGT512 static void gemv_cw512(int tb, int64_t N, int64_t K, float alpha, const float *a,
                                  int64_t inca, const afk_cw *cw, int64_t col0, float beta,
                                  float *c, float *work)
{
    if (!tb) { /* B (K,N): row k's 256 columns of the block, GV_KB rows at a time */
        for (int64_t j0 = 0; j0 < N; j0 += 256) {
            __m512 s[16];
            __mmask16 m[16];
            int nv = n_init(s, m, N - j0);
            for (int64_t k0 = 0; k0 < K; k0 += GV_KB) {
                int64_t nk = K - k0 < GV_KB ? K - k0 : GV_KB;
                afk_cw_decode_rows(cw, k0, nk, col0 + j0, N - j0 < 256 ? N - j0 : 256, work,
                                   256);
                n_acc(s, m, nv, a + k0 * inca, inca, work, 256, nk);
            }
            n_out(s, m, nv, alpha, beta, c + j0);
        }
        return;
    }
    const float *x = gather_a(a, inca, K, work); /* B (N,K): output j is stored row col0+j */
    float *w = inca == 1 ? work : work + K;
    __mmask16 tail = (__mmask16)((1u << (K % 16)) - 1);
    int64_t kv = K - K % 16;
    for (int64_t j = 0; j < N; j += 4) {
        int nj = N - j < 4 ? (int)(N - j) : 4;
        __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps()};
        for (int64_t k0 = 0; k0 < kv; k0 += GV_CH) {
            int64_t n = kv - k0 < GV_CH ? kv - k0 : GV_CH;
            afk_cw_decode_rows(cw, col0 + j, nj, k0, n, w, GV_CH);
            t_acc(s, nj, x + k0, w, GV_CH, n);
        }
        if (tail) {
            afk_cw_decode_rows(cw, col0 + j, nj, kv, K - kv, w, GV_CH);
            t_tail(s, nj, x + kv, w, GV_CH, tail);
        }
        t_out(s, nj, alpha, beta, c + j);
    }
}

static int have512(void)
{
    return afk_pgemm_nr() == 32;
}
#endif

int afk_sgemm_has_gemv(void)
{
#ifdef AFK_SG_X86
    return have512();
#else
    return 0;
#endif
}

/* Bytes of B kept compressed as rows for the AVX-512 GEMV (0: no such GEMV here, a K its
 * work cannot hold, or a blob cpanel.h does not take). */
size_t afk_sgemm_packb_cw_rows_bytes(int tb, const uint8_t *blob, const int64_t *dims)
{
#ifdef AFK_SG_X86
    int64_t K = dims[tb ? 1 : 0];
    if (!have512() || K + 4 * GV_CH + 16 > (int64_t)afk_sgemm_work_floats()) return 0;
    size_t b = afk_cw_bytes_rows(blob, dims);
    return b ? PB_HEAD + b : 0;
#else
    (void)tb, (void)blob, (void)dims;
    return 0;
#endif
}

/* The header (element size PB_CW_ROWS), then the rows form of cpanel.h. */
void afk_sgemm_packb_cw_rows(const uint8_t *blob, const int64_t *dims, void *dst)
{
    afk_cw_pack_rows(blob, dims, pb_head(dst, PB_CW_ROWS));
}

/* ---- one thread ------------------------------------------------------------------------- */

static void sgemm_w(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *A, int64_t lda, const float *B, int64_t ldb, const void *Bp,
                    size_t bp_es, int64_t col0, int64_t bp_n, float beta, float *C,
                    int64_t ldc, float *work);

void afk_sgemm_w(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                 float *work)
{
    sgemm_w(ta, tb, M, N, K, alpha, A, lda, B, ldb, NULL, 0, 0, 0, beta, C, ldc, work);
}

/* afk_sgemm_w, with B's columns [col0, col0+N) of pre-packed panels Bp (of bp_n columns,
 * elements of bp_es bytes) when Bp. */
static void sgemm_w(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *A, int64_t lda, const float *B, int64_t ldb, const void *Bp,
                    size_t bp_es, int64_t col0, int64_t bp_n, float beta, float *C,
                    int64_t ldc, float *work)
{
    if (M <= 0 || N <= 0) return;
    if (!work || !afk_pgemm_nr()) {
        afk_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (K <= 0 || alpha == 0.0f) {
        afk_scale_rows(M, N, beta, C, ldc);
        return;
    }
#ifdef AFK_SG_X86
    int64_t inca = ta ? lda : 1; /* tmp gathers a strided row into work */
    if (Bp && bp_es == PB_CW_ROWS) { /* compressed rows (packed for one row): a GEMV per row */
        for (int64_t m = 0; m < M && have512(); m++)
            gemv_cw512(tb, N, K, alpha, ta ? A + m : A + m * lda, inca, Bp, col0, beta,
                       C + m * ldc, work);
        return;
    }
    if (M == 1 && !Bp && have512() &&
        (!tb || inca == 1 || K <= (int64_t)afk_sgemm_work_floats())) {
        if (tb) gemv_t512(N, K, alpha, A, inca, B, ldb, beta, C, work);
        else gemv_n512(N, K, alpha, A, inca, B, ldb, beta, C);
        return;
    }
#endif
    if (beta != 0.0f && beta != 1.0f) afk_scale_rows(M, N, beta, C, ldc);
    float *ap = NULL; /* all of A packed once, after the per-block space */
    if (N > NC && M * K <= A_ONCE) {
        ap = work + afk_pgemm_work_floats(NC);
        ap = (float *)(((uintptr_t)ap + 63) & ~(uintptr_t)63);
        afk_pgemm_pack_a_gen(M, K, A, lda, ta, alpha, ap);
    }
    /* with several k blocks, rows go MC at a time through all of them, so each C block is
     * still in cache when the next k block adds to it */
    const int64_t mc = K > KC ? MC : M;
    for (int64_t j0 = 0; j0 < N; j0 += NC)
        for (int64_t m0 = 0; m0 < M; m0 += mc) {
            bsrc s = {B, ldb, j0, N - j0 < NC ? N - j0 : NC, tb, sizeof(float)};
            const float *a = ta ? A + m0 : A + m0 * lda;
            afk_pgemm g = {.M = M - m0 < mc ? M - m0 : mc, .N = s.n, .K = K, .A = a,
                           .lda = lda, .a_trans = ta, .alpha = alpha, .Ap = ap, .ap_rows = M,
                           .ap_row0 = m0, .pack_b = pack_b_gen, .b_arg = &s,
                           .C = C + m0 * ldc + j0, .ldc = ldc, .act = AFK_ACT_NONE,
                           .work = work, .acc = beta != 0.0f, .bp_ld = bp_ld(bp_n),
                           .bp_col0 = col0 + j0};
            if (Bp && bp_es == sizeof(float)) { /* and the next call's first k block */
                const int64_t kc0 = K < KC ? K : KC, jn = m0 + mc < M ? j0 : j0 + NC,
                              nr = afk_pgemm_nr();
                const int64_t nn = N - jn < NC ? N - jn : NC;
                g.Bp = Bp;
                if (jn < N) {
                    g.bp_next = (const float *)Bp + (col0 + jn) * kc0;
                    g.bp_next_n = kc0 * ((nn + nr - 1) / nr * nr);
                }
            }
            else if (Bp && bp_es == PB_CW) g.Bcw = Bp;
            else if (Bp && bp_es == PB_Q8) g.Bq8 = Bp;
            else if (Bp) g.Bp16 = Bp;
            afk_pgemm_run(&g);
        }
}

/* ---- weights as A (afk_sgemm_packw) ------------------------------------------------------ */

/* y (m,n) = t^T + bias (n) + r (m,n): t (n,m) rows ldt apart, y and r rows ldy apart. Each
 * output is t + bias, then + r: the sums add_rows makes, in its order. */
static void store_t_ref(const float *t, int64_t ldt, int64_t n, int64_t m, float *y,
                        int64_t ldy, const float *bias, const float *r)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float v = t[j * ldt + i];
            if (bias) v += bias[j];
            if (r) v += r[i * ldy + j];
            y[i * ldy + j] = v;
        }
}

#ifdef AFK_SG_X86
/* store_t_ref, 16×16 blocks transposed in registers; the edges by the reference. */
AFK_TGT512 static void store_t512(const float *t, int64_t ldt, int64_t n, int64_t m, float *y,
                                  int64_t ldy, const float *bias, const float *r)
{
    int64_t n16 = n / 16 * 16, m16 = m / 16 * 16;
    for (int64_t i = 0; i < m16; i += 16)
        for (int64_t j = 0; j < n16; j += 16) { /* output rows written left to right */
            __m512 bv = bias ? _mm512_loadu_ps(bias + j) : _mm512_setzero_ps();
            __m512 v[16];
            for (int q = 0; q < 16; q++) v[q] = _mm512_loadu_ps(t + (j + q) * ldt + i);
            afk_tr16(v); /* v[q]: output row i+q, columns j..j+15 */
            for (int q = 0; q < 16; q++) {
                float *yr = y + (i + q) * ldy + j;
                if (bias) v[q] = _mm512_add_ps(v[q], bv);
                if (r) v[q] = _mm512_add_ps(v[q], _mm512_loadu_ps(r + (i + q) * ldy + j));
                _mm512_storeu_ps(yr, v[q]);
            }
        }
    if (m16 < m) /* rows past the last full block */
        store_t_ref(t + m16, ldt, n16, m - m16, y + m16 * ldy, ldy, bias,
                    r ? r + m16 * ldy : NULL);
    if (n16 < n) /* columns past the last full block */
        store_t_ref(t + n16 * ldt, ldt, n - n16, m, y + n16, ldy, bias ? bias + n16 : NULL,
                    r ? r + n16 : NULL);
}

/* pack_b_any for a bsrc with tb (op(B)'s columns are rows of s->B) and f32 elements: 16×16
 * blocks transposed in registers; the edges by pack_b_any's own loop. */
AFK_TGT512 static void pack_bt512(const bsrc *s, int64_t k0, int64_t kc, float *dst)
{
    int64_t k16 = kc / 16 * 16;
    for (int64_t p0 = 0; p0 < s->n; p0 += 32, dst += kc * 32) {
        int64_t w = s->n - p0 < 32 ? s->n - p0 : 32;
        for (int64_t h = 0; h + 16 <= w; h += 16)
            for (int64_t kk = 0; kk < k16; kk += 16) {
                const float *b = (const float *)s->B + (s->j0 + p0 + h) * s->ldb + k0 + kk;
                __m512 v[16];
                for (int q = 0; q < 16; q++) v[q] = _mm512_loadu_ps(b + q * s->ldb);
                afk_tr16(v); /* v[q]: k = kk+q of the 16 columns */
                for (int q = 0; q < 16; q++) _mm512_store_ps(dst + (kk + q) * 32 + h, v[q]);
            }
        int64_t wf = w / 16 * 16; /* columns [wf, 32) and rows [k16, kc) by the loop */
        for (int64_t r = 0; r < 32; r++) {
            const float *b = (const float *)s->B + (s->j0 + p0 + r) * s->ldb + k0;
            for (int64_t kk = r < wf ? k16 : 0; kk < kc; kk++)
                dst[kk * 32 + r] = r < w ? b[kk] : 0.0f;
        }
    }
}
#endif

static void store_t(const float *t, int64_t ldt, int64_t n, int64_t m, float *y, int64_t ldy,
                    const float *bias, const float *r)
{
#ifdef AFK_SG_X86
    if (have512()) {
        store_t512(t, ldt, n, m, y, ldy, bias, r);
        return;
    }
#endif
    store_t_ref(t, ldt, n, m, y, ldy, bias, r);
}

/* X^T's k block [k0, k0+kc) as 32-wide panels (the rows s names are its columns). */
static void pack_bt(const bsrc *s, int64_t k0, int64_t kc, float *dst)
{
#ifdef AFK_SG_X86
    if (have512()) {
        pack_bt512(s, k0, kc, dst);
        return;
    }
#endif
    pack_b_any(s, k0, kc, 32, dst);
}

/* C (m,n) = A (m,K) @ op(B)[:, col0:col0+n] (+ bias[0:n]) (+ res, laid out like C), op(B)^T's
 * A panels Wp (ap_rows = its N): per block of activation rows, X^T packed once into work's
 * second region (k-block major, as pre-packed B panels), then MW weight rows at a time into a
 * (MW, rows) block of work's first region, stored transposed with the epilogue. */
static void sgemm_wt(int64_t m, int64_t n, int64_t K, const float *A, int64_t lda,
                     const float *Wp, int64_t ap_rows, int64_t col0, float *C, int64_t ldc,
                     const float *bias, const float *res, float *work)
{
    float *t = work, *xb = work + afk_pgemm_work_floats(NC);
    xb = (float *)(((uintptr_t)xb + 63) & ~(uintptr_t)63);
    int64_t rows = A_ONCE / K / 32 * 32; /* activation rows whose X^T fits the second region */
    rows = rows > NC ? NC : rows < 32 ? 32 : rows;
    for (int64_t i0 = 0; i0 < m; i0 += rows) {
        int64_t mb = m - i0 < rows ? m - i0 : rows, ld = bp_ld(mb);
        bsrc s = {A, lda, i0, mb, 1, sizeof(float)}; /* X rows are op(B)'s columns */
        for (int64_t k0 = 0; k0 < K; k0 += KC)
            pack_bt(&s, k0, K - k0 < KC ? K - k0 : KC, xb + k0 * ld);
        for (int64_t j0 = 0; j0 < n; j0 += MW) {
            int64_t nb = n - j0 < MW ? n - j0 : MW;
            afk_pgemm g = {.M = nb, .N = mb, .K = K, .Ap = Wp, .ap_rows = ap_rows,
                           .ap_row0 = col0 + j0, .Bp = xb, .bp_ld = ld, .C = t, .ldc = ld,
                           .act = AFK_ACT_NONE};
            afk_pgemm_run(&g);
            store_t(t, ld, nb, mb, C + i0 * ldc + j0, ldc, bias ? bias + j0 : NULL,
                    res ? res + i0 * ldc + j0 : NULL);
        }
    }
}

/* ---- threaded --------------------------------------------------------------------------- */

/* Tile sizes for a batch of (M,N) outputs on nt threads. Tiling never changes what an output
 * sums (each is k in order within the tile's GEMM), so it may follow the thread count: one
 * tile per batch element on one thread; else about 3 tiles per thread, cut evenly along the
 * longer side — columns when N >= M (the tiles then read disjoint parts of B, the larger
 * operand, and share A; in multiples of 32 columns), else rows (multiples of the kernel's MR)
 * — and along the other side when that side alone cannot give enough. */
static void tiles(int nt, int64_t batch, int64_t M, int64_t N, int as_a, int64_t *mb,
                  int64_t *nb)
{
    *mb = M;
    *nb = N;
    int64_t want = nt > 1 ? (3 * (int64_t)nt + batch - 1) / batch : 1, mr = afk_pgemm_mr();
    if (want <= 1) return;
    /* tile granules: rows of the broadcast operand's panels (A's, or op(B)^T's when as_a) and
     * the 32-wide vector panels */
    int64_t gm = as_a ? 32 : mr, gn = as_a ? mr : 32;
    int64_t cols = N >= M ? want : 1;
    for (int pass = 0; pass < 2; pass++, cols = want) {
        *nb = (N + cols - 1) / cols;
        *nb = *nb < 2 * gn ? 2 * gn : (*nb + gn - 1) / gn * gn;
        int64_t tn = (N + *nb - 1) / *nb, rows = (want + tn - 1) / tn;
        *mb = (M + rows - 1) / rows;
        *mb = (*mb + gm - 1) / gm * gm;
        if (*mb < 2 * gm) *mb = 2 * gm;
        if (pass == 0 && ((M + *mb - 1) / *mb) * tn >= want) return;
    }
}

/* c (m,n) += bias (n) per row, then += r (m,n); rows ldc apart (r laid out like c). */
static void add_rows(float *restrict c, int64_t ldc, int64_t m, int64_t n,
                     const float *restrict bias, const float *restrict r)
{
    for (int64_t i = 0; i < m; i++, c += ldc) {
        if (bias)
            for (int64_t j = 0; j < n; j++) c[j] += bias[j];
        if (r) {
            for (int64_t j = 0; j < n; j++) c[j] += r[j];
            r += ldc;
        }
    }
}

typedef struct par_job {
    const afk_sgemm_par *p;
    int64_t mb, nb, tm, tn;
    char *scratch;
    size_t slice;
} par_job;

static void par_task(void *arg, int64_t t, int tid)
{
    const par_job *j = arg;
    const afk_sgemm_par *p = j->p;
    int64_t b = t / (j->tm * j->tn), r = t % (j->tm * j->tn);
    int64_t i0 = r / j->tn * j->mb, j0 = r % j->tn * j->nb;
    int64_t m = p->M - i0 < j->mb ? p->M - i0 : j->mb, n = p->N - j0 < j->nb ? p->N - j0 : j->nb;
    const float *A = p->A, *B = p->B;
    float *C = p->C;
    if (p->at) {
        p->at(p->at_arg, b, &A, &B, &C);
    } else {
        A += b * p->sa, C += b * p->sc;
        if (B) B += b * p->sb;
    }
    A += p->ta ? i0 : i0 * p->lda;
    if (B) B += p->tb ? j0 * p->ldb : j0; /* NULL: only the packed copy exists */
    float *work = j->scratch ? (float *)(j->scratch + (size_t)tid * j->slice) : NULL;
    size_t es = 0;
    const void *Bp = work ? packed_panels(p->Bp, &es) : NULL;
    if (Bp && packed_as_a(p->Bp)) { /* afk_sgemm_packw: alpha 1, beta 0, A not transposed */
        sgemm_wt(m, n, p->K, A, p->lda, Bp, p->N, j0, C + i0 * p->ldc + j0, p->ldc,
                 p->bias ? p->bias + j0 : NULL, p->res ? p->res + b * p->sc + i0 * p->ldc + j0
                                                       : NULL, work);
        return;
    }
    sgemm_w(p->ta, p->tb, m, n, p->K, p->alpha, A, p->lda, B, p->ldb, Bp, es, j0, p->N,
            p->beta, C + i0 * p->ldc + j0, p->ldc, work);
    if (p->bias || p->res) /* the epilogue, while the tile is in cache: the separate ops' sums */
        add_rows(C + i0 * p->ldc + j0, p->ldc, m, n, p->bias ? p->bias + j0 : NULL,
                 p->res ? p->res + b * p->sc + i0 * p->ldc + j0 : NULL);
}

void afk_sgemm_par_run(const af_kctx *ctx, const afk_sgemm_par *p)
{
    if (p->batch <= 0 || p->M <= 0 || p->N <= 0) return;
    par_job j = {p, 0, 0, 0, 0, NULL, 0};
    int nt = ctx && ctx->n_threads > 0 ? ctx->n_threads : 1;
    if (ctx && ctx->scratch && ctx->scratch_bytes / (size_t)nt >= afk_sgemm_work_floats() * 4) {
        j.scratch = ctx->scratch;
        j.slice = ctx->scratch_bytes / (size_t)nt;
    }
    size_t es;
    tiles(nt, p->batch, p->M, p->N, packed_panels(p->Bp, &es) && packed_as_a(p->Bp), &j.mb,
          &j.nb);
    j.tm = (p->M + j.mb - 1) / j.mb;
    j.tn = (p->N + j.nb - 1) / j.nb;
    afk_parallel(ctx, p->batch * j.tm * j.tn, par_task, &j);
}
