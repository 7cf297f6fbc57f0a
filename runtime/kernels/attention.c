/* runtime/kernels/attention.c — ATTENTION: out = softmax(q·kᵀ·scale)·v per batch index.
 *
 *   q (...,Tq,d), k (...,Tk,d) — or (...,d,Tk) when k_transposed —, v (...,Tk,dv)
 *   -> out (...,Tq,dv); the batch dims (...) of all four are equal.
 *
 * The (Tq × Tk) score matrix is never materialised: query rows are processed in chunks of at
 * most afk_attention_rows() rows, whose scores (rows × Tk f32) live in the scratch buffer. For
 * SD's 64×64 latents (Tq = Tk = 4096) that is 256 × 4096 floats = 4 MiB per chunk instead of
 * 64 MiB per head. Softmax subtracts the row maximum before exponentiating.
 */
#include "internal.h"

#include <math.h>

/* Score budget per chunk, in floats (4 MiB). */
#define AFK_ATTN_SCORE_BUDGET (256 * 4096)
#define AFK_ATTN_MAX_ROWS 256

static int64_t attn_rows(int64_t tq, int64_t tk)
{
    int64_t r = tk > 0 ? AFK_ATTN_SCORE_BUDGET / tk : AFK_ATTN_MAX_ROWS;
    if (r > AFK_ATTN_MAX_ROWS) r = AFK_ATTN_MAX_ROWS;
    if (r < 1) r = 1;
    return r < tq ? r : (tq > 0 ? tq : 1);
}

/* Tq, d, Tk, dv of a (checked) node. */
static void attn_dims(const af_params *p, const af_tview *in, int64_t *tq, int64_t *d,
                      int64_t *tk, int64_t *dv)
{
    int r = in[0].rank;
    *tq = in[0].dims[r - 2];
    *d = in[0].dims[r - 1];
    *tk = p->attention.k_transposed ? in[1].dims[r - 1] : in[1].dims[r - 2];
    *dv = in[2].dims[r - 1];
}

size_t afk_attention_scratch(const af_params *p, const af_tview *in, int n_in)
{
    if (n_in < 3 || in[0].rank < 2 || in[1].rank != in[0].rank || in[2].rank != in[0].rank)
        return 0;
    int64_t tq, d, tk, dv;
    attn_dims(p, in, &tq, &d, &tk, &dv);
    if (tq < 0 || tk < 0 || tk > INT64_MAX / (4 * AFK_ATTN_MAX_ROWS)) return 0;
    return (size_t)(attn_rows(tq, tk) * tk) * sizeof(float);
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
    int64_t tq, d, tk, dv;
    attn_dims(p, in, &tq, &d, &tk, &dv);
    int64_t dk = p->attention.k_transposed ? in[1].dims[r - 2] : in[1].dims[r - 1];
    if (dk != d || in[2].dims[r - 2] != tk || out[0].dims[r - 2] != tq || out[0].dims[r - 1] != dv)
        return af_err_set(err, AF_ERR_SHAPE, "attention: q (%lld,%lld), k (%lld keys of %lld), "
                          "v (%lld,%lld) and out do not fit", (long long)tq, (long long)d,
                          (long long)tk, (long long)dk, (long long)in[2].dims[r - 2],
                          (long long)dv);
    return AF_OK;
}

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

// q (...,Tq,d) k (...,Tk,d | ...,d,Tk) v (...,Tk,dv) -> out (...,Tq,dv)
af_status afk_attention_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    const af_attention_params *ap = &p->attention;
    int64_t tq, d, tk, dv;
    attn_dims(p, in, &tq, &d, &tk, &dv);
    int64_t batch = afk_prod(&in[0], 0, in[0].rank - 2), rows = attn_rows(tq, tk);
    const float *q = in[0].data, *k = in[1].data, *v = in[2].data;
    float *o = out[0].data, *s = ctx->scratch;
    int kt = ap->k_transposed;
    if (tk == 0) { /* softmax over no keys: define the result as 0 */
        for (int64_t i = 0; i < batch * tq * dv; i++) o[i] = 0.0f;
        return AF_OK;
    }
    for (int64_t b = 0; b < batch; b++) {
        const float *qb = q + b * tq * d, *kb = k + b * tk * d, *vb = v + b * tk * dv;
        float *ob = o + b * tq * dv;
        for (int64_t r0 = 0; r0 < tq; r0 += rows) {
            int64_t m = tq - r0 < rows ? tq - r0 : rows;
            // S (m,Tk) = scale * Q[r0:r0+m] (m,d) @ Kᵀ (d,Tk)
            afk_sgemm(0, !kt, m, tk, d, ap->scale, qb + r0 * d, d, kb, kt ? tk : d, 0.0f, s, tk);
            softmax_rows(s, m, tk);
            // O[r0:r0+m] (m,dv) = P (m,Tk) @ V (Tk,dv)
            afk_sgemm(0, 0, m, dv, tk, 1.0f, s, tk, vb, dv, 0.0f, ob + r0 * dv, dv);
        }
    }
    return AF_OK;
}
