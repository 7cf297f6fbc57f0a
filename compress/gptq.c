/* compress/gptq.c — GPTQ error compensation over an encoded blob's fixed grid (gptq.h).
 *
 * Per group of rows sharing one H (n x n):
 *   1. H += damp * mean(diag H) * I; a dead input (H[j][j] == 0) gets H[j][j] = 1.
 *   2. U = the upper triangular factor with H^-1 = U^T U, as the inverse of the "reverse"
 *      Cholesky factor: H = V V^T with V upper (the Cholesky factor of H with its index order
 *      reversed), then U = V^-1.
 *   3. M (out x n) = the weights with the reduction axis last. For j = 0..n-1, in blocks of
 *      BLK columns: q = the grid's nearest value to M[o][j], e = (M[o][j] - q) / U[j][j],
 *      M[o][k] -= e * U[j][k] for k > j (inside the block at once, beyond it after the block as
 *      one GEMM: the paper's lazy batch update).
 */
#include "gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/internal.h"
#include "../runtime/wdecode.h"

#define BLK 64

/* ---- the grid of an encoded blob ------------------------------------------------------------ */

typedef struct grid {
    af_wblob_head h;
    af_wblob_layout l;
    uint8_t *b;
    /* INT4_LUT and PALETTE: per table, its K = 2^bits entries sorted ascending (as floats) and
     * the code of each (the encoder's tables are sorted already; this does not rely on it) */
    float *lut;
    uint8_t *code;
} grid;

static float f16(const uint8_t *p) { return af_f16_to_f32(af_wblob_rd16(p)); }

static int is_palette(af_ckind k)
{
    return af_ctraits_table[k].palette_bits > 0; /* int4 and paletteN */
}

/* Sorts each table's entries (insertion: K <= 256, once per blob) keeping their codes. */
static int palette_open(grid *q)
{
    uint64_t k = 1ull << q->h.bits, n = (uint64_t)q->h.a * k;
    q->lut = malloc((size_t)n * sizeof *q->lut);
    q->code = malloc((size_t)n);
    if (!q->lut || !q->code) return -1;
    for (uint64_t g = 0; g < q->h.a; g++) {
        float *t = q->lut + g * k;
        uint8_t *c = q->code + g * k;
        for (uint64_t i = 0; i < k; i++) {
            float v = f16(q->b + q->l.params_off + 2 * (g * k + i));
            uint64_t j = i;
            for (; j > 0 && t[j - 1] > v; j--) t[j] = t[j - 1], c[j] = c[j - 1];
            t[j] = v, c[j] = (uint8_t)i;
        }
    }
    return 1;
}

static int grid_open(grid *q, af_ckind k, af_cblob *blob, int rank, const int64_t *dims)
{
    memset(q, 0, sizeof *q);
    if (k != AF_CK_INT8 && k != AF_CK_BW4 && k != AF_CK_BW8 && !is_palette(k)) return 0;
    if (!blob->data || blob->bytes < AFB_BLOB_HEADER_SIZE) return 0;
    af_wblob_get_head(blob->data, &q->h);
    if (af_wblob_layout_of(&q->h, rank, dims, &q->l) || q->l.total != blob->bytes) return 0;
    if (q->h.enc == AFB_ENC_INT8 && (q->h.flags & ~(AF_WBLOB_PER_CHANNEL | AF_WBLOB_ASYMMETRIC)))
        return 0; /* the ONNX forms are a model's own quantization: kept as given */
    q->b = blob->data;
    if (q->h.enc == AFB_ENC_INT4_LUT || q->h.enc == AFB_ENC_PALETTE) return palette_open(q);
    return 1;
}

static void grid_close(grid *q)
{
    free(q->lut);
    free(q->code);
}


/* Palette element (r, c): the entry nearest (v - offset) / scale (ties to the lower), its code
 * written; returns scale * entry + offset, as the decoder computes it. */
static float palette_put(const grid *q, uint64_t r, uint64_t c, float v)
{
    uint64_t k = 1ull << q->h.bits, g = r / q->h.b;
    float s = (q->h.flags & AF_WBLOB_ROW_SCALE) ? f16(q->b + q->l.params2_off + 2 * r) : 1.0f;
    float o = (q->h.flags & AF_WBLOB_ROW_OFFSET) ? f16(q->b + q->l.params3_off + 2 * r) : 0.0f;
    const float *t = q->lut + g * k;
    float u = s != 0 ? (v - o) / s : 0.0f;
    uint64_t lo = 0, hi = k; /* first entry >= u */
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (t[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    uint64_t best = lo == k || (lo > 0 && u - t[lo - 1] <= t[lo] - u) ? lo - 1 : lo;
    af_wblob_put_code(q->b + q->l.data_off, r * q->l.cols + c, q->h.bits, q->code[g * k + best]);
    return s * t[best] + o;
}

/* Element (r, c) of the stored weight: the grid's value nearest v, its code written. */
static float grid_put(const grid *q, uint64_t r, uint64_t c, float v)
{
    uint64_t e = r * q->l.cols + c;
    uint8_t *data = q->b + q->l.data_off;
    if (q->h.enc == AFB_ENC_INT8) {
        uint64_t si = (q->h.flags & AF_WBLOB_PER_CHANNEL) ? r : 0;
        float s = f16(q->b + q->l.params_off + 2 * si);
        int asym = (q->h.flags & AF_WBLOB_ASYMMETRIC) != 0;
        int z = asym ? (int8_t)q->b[q->l.params2_off + si] : 0;
        long qv = s > 0 ? lrintf(v / s) + z : z;
        long lo = asym ? -128 : -127;
        qv = qv < lo ? lo : qv > 127 ? 127 : qv;
        data[e] = (uint8_t)(int8_t)qv;
        return s * (float)(qv - z);
    }
    if (q->h.enc == AFB_ENC_INT4_LUT || q->h.enc == AFB_ENC_PALETTE) return palette_put(q, r, c, v);
    /* blockwise: x = code * s + o */
    const uint8_t *so = q->b + q->l.params_off + 4 * (r * q->h.c + c / q->h.b);
    float s = f16(so), o = f16(so + 2), levels = q->h.bits == 8 ? 255.0f : 15.0f;
    float qv = s > 0 ? rintf((v - o) / s) : 0.0f;
    qv = qv < 0 ? 0 : qv > levels ? levels : qv;
    af_wblob_put_code(data, e, q->h.bits, (unsigned)qv);
    return qv * s + o;
}

/* ---- factorisation (recursive, the bulk in the runtime's SGEMM) ------------------------------ */

#define LEAF 64

typedef struct fwork {
    float *t;    /* n x n floats of temporaries */
    float *gemm; /* afk_sgemm_work_floats() */
} fwork;

static void gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                 int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                 const fwork *w)
{
    afk_sgemm_w(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, w->gemm);
}

// r (n, n) upper, ld -> its inverse, upper, in place. t: (n/2)^2 floats.
static void inv_upper(float *r, int64_t n, int64_t ld, float *t, const fwork *w)
{
    if (n <= LEAF) { /* rows from the last up: X[i][i+1:] = -(R[i][i+1:] X[i+1:][:]) / R[i][i] */
        for (int64_t i = n - 1; i >= 0; i--) {
            float *ri = r + i * ld, inv = 1.0f / ri[i];
            float acc[LEAF];
            for (int64_t j = i + 1; j < n; j++) acc[j - i] = 0;
            for (int64_t k = i + 1; k < n; k++)
                for (int64_t j = k; j < n; j++) acc[j - i] += ri[k] * r[k * ld + j];
            for (int64_t j = i + 1; j < n; j++) ri[j] = -acc[j - i] * inv;
            ri[i] = inv;
        }
        return;
    }
    int64_t n1 = n / 2, n2 = n - n1;
    float *r12 = r + n1, *r22 = r + n1 * ld + n1;
    inv_upper(r, n1, ld, t, w);
    inv_upper(r22, n2, ld, t, w);
    gemm(0, 0, n1, n2, n2, 1.0f, r12, ld, r22, ld, 0.0f, t, n2, w);  /* t = R12 X22 */
    gemm(0, 0, n1, n2, n1, -1.0f, r, ld, t, n2, 0.0f, r12, ld, w);   /* X12 = -X11 t */
}

// a (n, n) symmetric (upper part read), ld -> R upper with a = R^T R (upper part), 0 below.
// Returns 0 when a is not positive definite. t: n^2 floats.
static int chol_upper(float *a, int64_t n, int64_t ld, float *t, const fwork *w)
{
    if (n <= LEAF) {
        for (int64_t j = 0; j < n; j++) {
            float *rj = a + j * ld;
            if (!(rj[j] > 0) || !isfinite(rj[j])) return 0;
            float d = sqrtf(rj[j]), inv = 1.0f / d;
            for (int64_t k = j + 1; k < n; k++) rj[k] *= inv;
            rj[j] = d;
            for (int64_t i = j + 1; i < n; i++) { /* a[i][i:] -= R[j][i] R[j][i:] */
                float *ri = a + i * ld;
                for (int64_t k = i; k < n; k++) ri[k] -= rj[i] * rj[k];
            }
            for (int64_t k = 0; k < j; k++) rj[k] = 0;
        }
        return 1;
    }
    int64_t n1 = n / 2, n2 = n - n1;
    float *a12 = a + n1, *a22 = a + n1 * ld + n1, *x = t, *p = t + n1 * n1;
    if (!chol_upper(a, n1, ld, t, w)) return 0;
    for (int64_t i = 0; i < n1; i++) memcpy(x + i * n1, a + i * ld, (size_t)n1 * sizeof(float));
    inv_upper(x, n1, n1, p, w);
    gemm(1, 0, n1, n2, n1, 1.0f, x, n1, a12, ld, 0.0f, p, n2, w);     /* R12 = R11^-T A12 */
    for (int64_t i = 0; i < n1; i++) memcpy(a12 + i * ld, p + i * n2, (size_t)n2 * sizeof(float));
    gemm(1, 0, n2, n2, n1, -1.0f, a12, ld, a12, ld, 1.0f, a22, ld, w); /* A22 -= R12^T R12 */
    for (int64_t i = 0; i < n2; i++) memset(a + (n1 + i) * ld, 0, (size_t)n1 * sizeof(float));
    return chol_upper(a22, n2, ld, t, w);
}

/* h (n x n) -> U (upper, H^-1 = U^T U) in u. With P the index reversal and P H P = R^T R:
 * H^-1 = (P X P)(P X P)^T for X = R^-1, so U = P X^T P, U[i][j] = X[n-1-j][n-1-i].
 * Damping is raised tenfold (up to three times) while H is not definite. */
static int factor_damped(const float *h, int64_t n, float *u, const fwork *w)
{
    if (n < 1) return 0;
    double mean = 0;
    for (int64_t j = 0; j < n; j++) mean += h[j * n + j];
    mean = mean > 0 ? mean / (double)n : 1.0;
    for (double damp = AF_GPTQ_DAMP; damp <= AF_GPTQ_DAMP * 1000; damp *= 10) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) u[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
        for (int64_t j = 0; j < n; j++) {
            if (!(u[j * n + j] > 0)) u[j * n + j] = 1.0f; /* a dead input */
            u[j * n + j] += (float)(damp * mean);
        }
        if (!chol_upper(u, n, n, w->t, w)) continue;
        inv_upper(u, n, n, w->t, w);
        float *x = w->t;
        memcpy(x, u, (size_t)(n * n) * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) u[i * n + j] = x[(n - 1 - j) * n + (n - 1 - i)];
        return 1;
    }
    return 0;
}

/* ---- the column loop ------------------------------------------------------------------------ */

typedef struct band {
    const grid *q;
    const int32_t *perm; /* logical column j is input perm[j] */
    int in_rows;
    uint64_t r0, out, n; /* stored rows [r0, r0 + out) (or all rows when in_rows) */
} band;

/* Stored (row, col) of logical element (o, j). */
static void stored_at(const band *b, uint64_t o, uint64_t j, uint64_t *r, uint64_t *c)
{
    j = (uint64_t)b->perm[j];
    if (b->in_rows) *r = j, *c = o;
    else *r = b->r0 + o, *c = j;
}

// m (out, n): weights, reduction axis last; u (n, n) upper; e: out x BLK scratch
static void quantize_band(const band *b, float *m, const float *u, float *e, const fwork *w)
{
    int64_t n = (int64_t)b->n, out = (int64_t)b->out;
    for (int64_t j0 = 0; j0 < n; j0 += BLK) {
        int64_t j1 = j0 + BLK < n ? j0 + BLK : n, bw = j1 - j0;
        for (int64_t j = j0; j < j1; j++) {
            const float *uj = u + j * n;
            for (int64_t o = 0; o < out; o++) {
                float *mo = m + o * n;
                uint64_t r, c;
                stored_at(b, (uint64_t)o, (uint64_t)j, &r, &c);
                float err = (mo[j] - grid_put(b->q, r, c, mo[j])) / uj[j];
                e[o * BLK + (j - j0)] = err;
                for (int64_t k = j + 1; k < j1; k++) mo[k] -= err * uj[k];
            }
        }
        if (j1 < n) /* m[:, j1:] -= e (out, bw) @ u[j0:j1, j1:] */
            gemm(0, 0, out, n - j1, bw, -1.0f, e, BLK, u + j0 * n + j1, n, 1.0f, m + j1, n, w);
    }
}

static af_status fwork_alloc(fwork *w, int64_t n, af_err *err)
{
    w->t = malloc((size_t)(n * n) * sizeof(float));
    w->gemm = aligned_alloc(64, (afk_sgemm_work_floats() * sizeof(float) + 63) & ~(size_t)63);
    return w->t && w->gemm ? AF_OK : af_err_set(err, AF_ERR_NOMEM, "out of memory (gptq)");
}

typedef struct dkey {
    float d;
    int32_t j;
} dkey;

static int by_energy(const void *a, const void *b)
{
    const dkey *x = a, *y = b;
    if (x->d != y->d) return x->d > y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* perm: inputs by falling H[j][j] (ties by index), the "act order" of the GPTQ reference code:
 * the loudest inputs are quantized first, while every other column can still absorb their
 * error. h is permuted to that order in place (u: n x n scratch). */
static af_status act_order(float *h, int64_t n, int32_t *perm, float *u, af_err *err)
{
    dkey *k = malloc((size_t)n * sizeof *k);
    if (!k) return af_err_set(err, AF_ERR_NOMEM, "out of memory (gptq)");
    for (int64_t j = 0; j < n; j++) k[j].d = h[j * n + j], k[j].j = (int32_t)j;
    qsort(k, (size_t)n, sizeof *k, by_energy);
    for (int64_t j = 0; j < n; j++) perm[j] = k[j].j;
    free(k);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) u[i * n + j] = h[(int64_t)perm[i] * n + perm[j]];
    memcpy(h, u, (size_t)(n * n) * sizeof(float));
    return AF_OK;
}

af_status af_gptq_factor(af_wstats *s, af_err *err)
{
    if (!s->valid || !s->full || s->factored || s->samples <= 0) return AF_OK;
    int64_t n = s->n;
    fwork w;
    float *u = malloc((size_t)(n * n) * sizeof(float));
    af_status st = fwork_alloc(&w, n, err);
    if (st == AF_OK && !u) st = af_err_set(err, AF_ERR_NOMEM, "out of memory (gptq)");
    if (st == AF_OK && !(s->perm = malloc((size_t)(n * s->n_h) * sizeof *s->perm)))
        st = af_err_set(err, AF_ERR_NOMEM, "out of memory (gptq)");
    s->factored = 1;
    /* shrinkage toward the diagonal when the samples are few against the inputs (H then has
     * rank <= samples: the plain inverse would fit the calibration set, not the data); the
     * 0.5 measured on held-out inputs (docs/compression.md): full shrinkage n/(n+samples) lost
     * 4 dB of int4 on ResNet-18 (196 samples for its 4608-input layers), none overfit the
     * PP-OCRv4 recognizer (120 samples for 480 inputs: int8 cosine 0.98 instead of 0.9998) */
    float alpha = (float)(0.5 * (double)n / ((double)n + s->samples));
    for (int g = 0; st == AF_OK && g < s->n_h; g++) {
        float *h = s->h + (size_t)g * (size_t)(n * n);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                if (i != j) h[i * n + j] *= 1.0f - alpha;
        if ((st = act_order(h, n, s->perm + (size_t)g * (size_t)n, u, err)) != AF_OK) break;
        if (!factor_damped(h, n, u, &w)) {
            s->factored = -1; /* not definite even damped: the encoders' codes stay */
            break;
        }
        memcpy(h, u, (size_t)(n * n) * sizeof(float));
    }
    free(u), free(w.t), free(w.gemm);
    return st;
}

af_status af_gptq_recode(af_ckind k, const float *x, int rank, const int64_t *dims,
                         af_wstats *s, af_cblob *blob, af_err *err)
{
    if (!s || !s->valid || !s->full || s->samples <= 0) return AF_OK;
    if (af_gptq_factor(s, err) != AF_OK) return err->code;
    if (s->factored != 1) return AF_OK;
    grid q;
    int ok = grid_open(&q, k, blob, rank, dims);
    if (ok < 0) {
        grid_close(&q);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (gptq)");
    }
    uint64_t rows = q.l.rows, cols = q.l.cols, n = (uint64_t)s->n;
    if (!ok || (s->in_rows ? rows : cols) != n || rows % (uint64_t)s->n_h) {
        grid_close(&q);
        return AF_OK;
    }
    uint64_t out = s->in_rows ? cols : rows / (uint64_t)s->n_h;
    float *m = malloc((size_t)(out * n) * sizeof(float));
    float *e = malloc((size_t)(out * BLK) * sizeof(float));
    fwork w = {NULL, aligned_alloc(64, (afk_sgemm_work_floats() * sizeof(float) + 63) & ~(size_t)63)};
    af_status st = m && e && w.gemm ? AF_OK : af_err_set(err, AF_ERR_NOMEM, "out of memory (gptq)");
    for (int g = 0; st == AF_OK && g < s->n_h; g++) {
        band b = {&q, s->perm + (size_t)g * n, s->in_rows, (uint64_t)g * out, out, n};
        for (uint64_t o = 0; o < out; o++)
            for (uint64_t j = 0; j < n; j++) {
                uint64_t r, c;
                stored_at(&b, o, j, &r, &c);
                m[o * n + j] = x[r * cols + c];
            }
        quantize_band(&b, m, s->h + (size_t)g * (size_t)(n * n), e, &w);
    }
    free(m), free(e), free(w.gemm);
    grid_close(&q);
    return st;
}

int af_gptq_inverse_factor(const float *h, int64_t n, float *u)
{
    fwork w;
    af_err err = {0};
    int ok = fwork_alloc(&w, n, &err) == AF_OK ? factor_damped(h, n, u, &w) : -1;
    free(w.t), free(w.gemm);
    return ok;
}
