/* runtime/kernels/ops1.c — reference kernels for the losses, trigonometry and small-op group: NLL_LOSS,
 * HARDMAX and DET. Plain loops; sums and the LU factorisation in double, results in f32. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- nll_loss ------------------------------------------------------------------------------ */

af_status afk_nll_loss_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_nll_params *q = &p->nll;
    const af_tview *x = &in[0], *t = &in[1];
    const af_tview *w = n_in > 2 && !afk_omitted(&in[2]) ? &in[2] : NULL;
    char sx[96], st[96];
    if (x->dtype != AF_DTYPE_F32 || out[0].dtype != AF_DTYPE_F32 ||
        (t->dtype != AF_DTYPE_I32 && t->dtype != AF_DTYPE_I64) || (w && w->dtype != AF_DTYPE_F32))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "nll_loss: needs f32 input and weight, i32 "
                          "or i64 target");
    if (q->reduction < AF_REDUCTION_NONE || q->reduction > AF_REDUCTION_MEAN)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "nll_loss: bad reduction %d", q->reduction);
    int ok = x->rank >= 2 && t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int i = 1; ok && i < t->rank; i++) ok = t->dims[i] == x->dims[i + 1];
    if (!ok)
        return af_err_set(err, AF_ERR_SHAPE, "nll_loss: target %s does not match input %s",
                          afk_shape_str(t, st, sizeof st), afk_shape_str(x, sx, sizeof sx));
    if (w && (w->rank != 1 || w->dims[0] != x->dims[1]))
        return af_err_set(err, AF_ERR_SHAPE, "nll_loss: weight %s is not (C)",
                          afk_shape_str(w, st, sizeof st));
    if (q->reduction == AF_REDUCTION_NONE ? !afk_same_shape(&out[0], t) : af_tview_numel(&out[0]) != 1)
        return af_err_set(err, AF_ERR_SHAPE, "nll_loss: output %s does not fit the reduction",
                          afk_shape_str(&out[0], st, sizeof st));
    return AF_OK;
}

// logp (N,C,D), target (N,D), weight? (C) -> loss (N,D) or a scalar; D = d1*...*dk
af_status afk_nll_loss_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)ctx;
    const af_nll_params *q = &p->nll;
    const float *x = in[0].data, *w = n_in > 2 && !afk_omitted(&in[2]) ? in[2].data : NULL;
    float *y = out[0].data;
    int64_t N = in[0].dims[0], C = in[0].dims[1], D = afk_prod(&in[0], 2, in[0].rank);
    double sum = 0, wsum = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
            int64_t i = n * D + d, c = afk_get_i64(in[1].dtype, in[1].data, i);
            float loss = 0.0f, wc = 0.0f;
            if (!q->has_ignore || c != q->ignore_index) {
                if (c < 0 || c >= C)
                    return af_err_set(err, AF_ERR_SHAPE, "nll_loss: target %lld at %lld is "
                                      "outside [0, %lld)", (long long)c, (long long)i,
                                      (long long)C);
                wc = w ? w[c] : 1.0f;
                loss = -x[(n * C + c) * D + d] * wc;
            }
            if (q->reduction == AF_REDUCTION_NONE) y[i] = loss;
            sum += loss;
            wsum += wc;
        }
    if (q->reduction == AF_REDUCTION_SUM) y[0] = (float)sum;
    if (q->reduction == AF_REDUCTION_MEAN) y[0] = (float)(sum / wsum); /* 0/0 = NaN: all ignored */
    return AF_OK;
}

/* ---- hardmax ------------------------------------------------------------------------------- */

af_status afk_hardmax_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    if (in[0].dtype != AF_DTYPE_F32 || out[0].dtype != AF_DTYPE_F32)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "hardmax: only f32 is supported");
    if (p->softmax.axis < 0 || p->softmax.axis >= in[0].rank)
        return af_err_set(err, AF_ERR_SHAPE, "hardmax: axis %d out of range", p->softmax.axis);
    if (!afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "hardmax: output shape differs from input");
    return AF_OK;
}

// x (outer, L, inner) -> y (outer, L, inner): 1 at the first maximum along L, 0 elsewhere.
// legacy (opset < 13): L is every axis from axis on, flattened (inner = 1).
af_status afk_hardmax_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_tview *v = &in[0];
    int ax = p->softmax.axis;
    int64_t outer = afk_prod(v, 0, ax), L = p->softmax.legacy ? afk_prod(v, ax, v->rank) : v->dims[ax];
    int64_t inner = p->softmax.legacy ? 1 : afk_prod(v, ax + 1, v->rank);
    const float *x = v->data;
    float *y = out[0].data;
    memset(y, 0, (size_t)af_tview_numel(v) * sizeof *y);
    if (L == 0) return AF_OK;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *row = x + o * L * inner + i;
            int64_t best = 0;
            for (int64_t k = 1; k < L; k++)
                if (row[k * inner] > row[best * inner]) best = k;
            y[o * L * inner + best * inner + i] = 1.0f;
        }
    return AF_OK;
}

/* ---- det ----------------------------------------------------------------------------------- */

af_status afk_det_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    const af_tview *x = &in[0];
    if (x->dtype != AF_DTYPE_F32 || out[0].dtype != AF_DTYPE_F32)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "det: only f32 is supported");
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2] || x->dims[x->rank - 1] > 4096)
        return af_err_set(err, AF_ERR_SHAPE, "det: input must be (...,M,M) with M <= 4096");
    if (out[0].rank != x->rank - 2 || af_tview_numel(&out[0]) != afk_prod(x, 0, x->rank - 2))
        return af_err_set(err, AF_ERR_SHAPE, "det: output must be the input's batch shape");
    return AF_OK;
}

/* Determinant of the (m,m) matrix a (overwritten) by LU with partial pivoting. */
static double det_lu(double *a, int64_t m)
{
    double det = 1.0;
    for (int64_t k = 0; k < m; k++) {
        int64_t piv = k;
        for (int64_t r = k + 1; r < m; r++)
            if (fabs(a[r * m + k]) > fabs(a[piv * m + k])) piv = r;
        if (a[piv * m + k] == 0.0) return 0.0;
        if (piv != k) {
            for (int64_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[piv * m + j];
                a[piv * m + j] = t;
            }
            det = -det;
        }
        double d = a[k * m + k];
        det *= d;
        for (int64_t r = k + 1; r < m; r++) {
            double f = a[r * m + k] / d;
            for (int64_t j = k + 1; j < m; j++) a[r * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

// x (B,M,M) -> y (B); B = the batch dims flattened
af_status afk_det_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx;
    const af_tview *v = &in[0];
    int64_t m = v->dims[v->rank - 1], mm = m * m, batch = afk_prod(v, 0, v->rank - 2);
    double small[64], *a = small;
    if (mm > 64 && !(a = malloc((size_t)mm * sizeof *a)))
        return af_err_set(err, AF_ERR_NOMEM, "det: out of memory for a %lldx%lld matrix",
                          (long long)m, (long long)m);
    const float *x = v->data;
    float *y = out[0].data;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t i = 0; i < mm; i++) a[i] = x[b * mm + i];
        y[b] = (float)det_lu(a, m);
    }
    if (a != small) free(a);
    return AF_OK;
}
