/* compress/wstats.c — second moments of each weight's inputs over calibration data (wstats.h).
 * Inputs are gathered CHUNK sample vectors at a time into a (CHUNK, n) matrix X (for Conv, the
 * im2col patches of one group) and H += X^T X with the runtime's SGEMM. */
#include "wstats.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/internal.h"
#include "compress.h"

#define CHUNK 256

typedef struct wacc {
    af_wstats *s;
    float *x;       /* CHUNK x n gathered samples */
    float *work;    /* afk_sgemm_work_floats() */
    int64_t m;      /* rows of x filled */
    int band;       /* the group they belong to */
} wacc;

static void flush(wacc *a)
{
    af_wstats *s = a->s;
    int64_t n = s->n;
    if (!a->m) return;
    if (s->full) {
        float *h = s->h + (size_t)a->band * (size_t)(n * n);
        afk_sgemm_w(1, 0, n, n, a->m, 1.0f, a->x, n, a->x, n, 1.0f, h, n, a->work);
    } else {
        float *h = s->h + (size_t)a->band * (size_t)n;
        for (int64_t r = 0; r < a->m; r++)
            for (int64_t j = 0; j < n; j++) h[j] += a->x[r * n + j] * a->x[r * n + j];
    }
    s->samples += a->band == 0 ? (double)a->m : 0;
    a->m = 0;
}

static float *next_row(wacc *a)
{
    if (a->m == CHUNK) flush(a);
    return a->x + (a->m++) * a->s->n;
}

/* Conv: input (N, C, spatial...) with 1 or 2 spatial dims; the patch of output position p of
 * group b is (ci, ky, kx) -> x[nb, b*Cg + ci, oy*s - pad + ky*d, ...] (0 outside). */
static void conv_samples(wacc *a, const af_conv_params *cp, const float *x, const af_tensor *in,
                         const af_tensor *out)
{
    int nsp = cp->nsp;
    int64_t N = in->dims[0], C = in->dims[1], G = cp->group, Cg = C / G;
    int64_t IH = in->dims[2], IW = nsp == 2 ? in->dims[3] : 1;
    int64_t OH = out->dims[2], OW = nsp == 2 ? out->dims[3] : 1;
    int64_t KH = cp->kernel[0], KW = nsp == 2 ? cp->kernel[1] : 1;
    int64_t SH = cp->stride[0], SW = nsp == 2 ? cp->stride[1] : 1;
    int64_t DH = cp->dilation[0], DW = nsp == 2 ? cp->dilation[1] : 1;
    int64_t PH = cp->pad_begin[0], PW = nsp == 2 ? cp->pad_begin[1] : 0;
    for (int64_t b = 0; b < G; b++) {
        a->band = (int)b;
        for (int64_t nb = 0; nb < N; nb++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    float *row = next_row(a);
                    for (int64_t ci = 0; ci < Cg; ci++) {
                        const float *plane = x + ((nb * C) + b * Cg + ci) * IH * IW;
                        for (int64_t ky = 0; ky < KH; ky++) {
                            int64_t iy = oy * SH - PH + ky * DH;
                            for (int64_t kx = 0; kx < KW; kx++) {
                                int64_t ix = ox * SW - PW + kx * DW;
                                int in_b = iy >= 0 && iy < IH && ix >= 0 && ix < IW;
                                *row++ = in_b ? plane[iy * IW + ix] : 0.0f;
                            }
                        }
                    }
                }
        flush(a);
    }
}

/* Dense: x holds m vectors of length n, either as rows (x[r*n + j]) or, transposed, as
 * columns (x[j*m + r]: Gemm with transA). */
static void dense_samples(wacc *a, const float *x, int64_t m, int transposed)
{
    int64_t n = a->s->n;
    a->band = 0;
    for (int64_t r = 0; r < m; r++) {
        float *row = next_row(a);
        for (int64_t j = 0; j < n; j++) row[j] = transposed ? x[j * m + r] : x[r * n + j];
    }
    flush(a);
}

/* The reduction axis a consumer implies for weight tensor t, or 0 when it gives no stats. */
static int consumer_axis(const af_graph *g, const af_node *nd, int t, int *in_rows, int64_t *n,
                         int *n_h)
{
    const af_tensor *w = &g->tensors[t];
    if (nd->n_in < 2 || nd->in[1] != t || nd->in[0] < 0) return 0;
    const af_tensor *x = &g->tensors[nd->in[0]];
    if (x->dtype != AF_DTYPE_F32 || x->data) return 0;
    if (nd->op == AF_OP_CONV) {
        const af_conv_params *cp = &nd->p.conv;
        if ((cp->nsp != 1 && cp->nsp != 2) || w->rank != cp->nsp + 2 || cp->group < 1 ||
            w->dims[0] % cp->group || x->rank != cp->nsp + 2)
            return 0;
        *in_rows = 0, *n_h = cp->group;
        *n = af_tensor_numel(w) / w->dims[0];
        return 1;
    }
    if (nd->op == AF_OP_CONV_TRANSPOSE) {
        /* W (C, M, k...) as the col2im GEMM sees it: each input position's C channels times
         * the C x (M * prod(k)) matrix, then scattered; the reduction axis is W's rows */
        const af_conv_params *cp = &nd->p.conv;
        if (cp->group != 1 || w->rank != x->rank || x->rank < 3 || x->dims[1] != w->dims[0])
            return 0;
        *in_rows = 1, *n = w->dims[0], *n_h = 1;
        return 1;
    }
    if (w->rank != 2) return 0;
    if (nd->op == AF_OP_MATMUL) {
        *in_rows = 1, *n = w->dims[0], *n_h = 1;
        return x->rank >= 1 && x->dims[x->rank - 1] == w->dims[0];
    }
    if (nd->op == AF_OP_GEMM && x->rank == 2) {
        *in_rows = !nd->p.gemm.trans_b, *n_h = 1;
        *n = nd->p.gemm.trans_b ? w->dims[1] : w->dims[0];
        return 1;
    }
    return 0;
}

static int plan_one(const af_graph *g, int t, int64_t max_full, af_wstats *s)
{
    int seen = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *nd = &g->nodes[i];
        int in_rows, n_h;
        int64_t n;
        if (nd->n_in < 2 || nd->in[1] != t) continue;
        if (!consumer_axis(g, nd, t, &in_rows, &n, &n_h)) return 0;
        if (seen && (in_rows != s->in_rows || n != s->n || n_h != s->n_h)) return 0;
        s->in_rows = in_rows, s->n = n, s->n_h = n_h, seen = 1;
    }
    if (!seen || s->n < 1) return 0;
    s->full = s->n <= max_full;
    return 1;
}

/* Node i read the weight a->s is for: its input's samples (alive during the run's hook). */
static void accumulate(const af_graph *g, const af_geval *ev, int i, wacc *a)
{
    const af_node *nd = &g->nodes[i];
    const af_tensor *x = &g->tensors[nd->in[0]];
    const float *xd = ev->buf[nd->in[0]];
    if (nd->op == AF_OP_CONV)
        conv_samples(a, &nd->p.conv, xd, x, &g->tensors[nd->out[0]]);
    else if (nd->op == AF_OP_CONV_TRANSPOSE) {
        int64_t plane = af_tensor_numel(x) / x->dims[0] / a->s->n; /* positions per image */
        for (int64_t nb = 0; nb < x->dims[0]; nb++)
            dense_samples(a, xd + nb * a->s->n * plane, plane, 1);
    } else if (nd->op == AF_OP_MATMUL)
        dense_samples(a, xd, af_tensor_numel(x) / a->s->n, 0);
    else
        dense_samples(a, xd, af_tensor_numel(x) / a->s->n, nd->p.gemm.trans_a);
}

typedef struct collect {
    const af_graph *g;
    af_geval *ev;
    af_wstats *stats;
    int *node_w;   /* per node: the stats index of the weight it reads, or -1 */
    float *x, *work;
} collect;

static af_status collect_hook(void *user, int i, af_err *err)
{
    collect *c = user;
    (void)err;
    int k = c->node_w[i];
    if (k < 0 || !c->stats[k].valid) return AF_OK;
    wacc a = {&c->stats[k], c->x, c->work, 0, 0};
    accumulate(c->g, c->ev, i, &a);
    return AF_OK;
}

static af_status importance(af_wstats *s, af_err *err)
{
    int64_t n = s->n;
    if (!(s->importance = malloc((size_t)n * sizeof(float))))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int b = 0; b < s->n_h; b++)
            acc += s->full ? s->h[(size_t)b * (size_t)(n * n) + (size_t)(j * n + j)]
                           : s->h[(size_t)b * (size_t)n + (size_t)j];
        s->importance[j] = s->samples > 0 ? (float)(acc / (s->n_h * s->samples)) : 0.0f;
    }
    return AF_OK;
}

af_status af_wstats_collect(const af_graph *g, const af_calib *cal, const int *w, int n_w,
                            int64_t max_full, af_wstats *stats, af_err *err)
{
    int64_t maxn = 1;
    for (int i = 0; i < n_w; i++) {
        af_wstats *s = &stats[i];
        if (!plan_one(g, w[i], max_full, s)) {
            memset(s, 0, sizeof *s);
            continue;
        }
        size_t per = s->full ? (size_t)(s->n * s->n) : (size_t)s->n;
        if (!(s->h = calloc(per * (size_t)s->n_h, sizeof(float))))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory for calibration statistics");
        s->valid = 1;
        if (s->n > maxn) maxn = s->n;
    }
    af_geval ev;
    af_status st = af_geval_init(&ev, g, err);
    float *x = st == AF_OK ? malloc((size_t)(CHUNK * maxn) * sizeof(float)) : NULL;
    float *work = aligned_alloc(64, (afk_sgemm_work_floats() * sizeof(float) + 63) & ~(size_t)63);
    int *node_w = malloc((size_t)(g->n_nodes + 1) * sizeof *node_w);
    if (st == AF_OK && (!x || !work || !node_w)) st = af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (st == AF_OK) st = af_compress_node_weights(g, w, n_w, node_w, err);
    collect c = {g, &ev, stats, node_w, x, work};
    for (int set = 0; st == AF_OK && set < cal->n_sets; set++) {
        af_calib_set(cal, set, &ev);
        st = af_geval_run_live(&ev, NULL, collect_hook, &c, err);
    }
    free(node_w);
    for (int i = 0; st == AF_OK && i < n_w; i++)
        if (stats[i].valid) st = importance(&stats[i], err);
    free(x);
    free(work);
    if (ev.g) af_geval_free(&ev);
    return st;
}

const float *af_wstats_col_importance(const af_wstats *s)
{
    return s && s->valid && !s->in_rows ? s->importance : NULL;
}

void af_wstats_free(af_wstats *s)
{
    free(s->h);
    free(s->importance);
    free(s->perm);
    memset(s, 0, sizeof *s);
}

