/* lowering/fuse.c — BatchNormalization folded into Conv, activations fused into Conv/Gemm,
 * bias Adds fused into the preceding MatMul, residual Adds (and the activation after them)
 * fused into the preceding Conv or MatMul. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

/* The single node that reads tensor t, or -1 (none, several, or t is a graph output). */
static int sole_reader(const af_graph *g, int t)
{
    if (g->tensors[t].flags & AF_TENSOR_OUTPUT) return -1;
    int reader = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] != t) continue;
            if (reader >= 0 && reader != i) return -1;
            reader = i;
        }
    }
    return reader;
}

static int is_f32_const(const af_graph *g, int t, int64_t numel)
{
    if (t < 0) return 0;
    const af_tensor *x = &g->tensors[t];
    return x->data && x->dtype == AF_DTYPE_F32 && (numel < 0 || af_tensor_numel(x) == numel);
}

/* Makes node input slot k point at a private copy of its constant, so that rewriting it
 * cannot affect other readers. Returns the copy's data. */
static float *own_copy(af_graph *g, af_node *n, int k, const char *suffix)
{
    const af_tensor *src = &g->tensors[n->in[k]];
    int64_t bytes = af_tensor_nbytes(src);
    char name[300];
    snprintf(name, sizeof name, "%s%s", src->name, suffix);
    float *data = malloc((size_t)bytes);
    if (!data) return NULL;
    memcpy(data, src->data, (size_t)bytes);
    int64_t dims[AF_MAX_RANK]; /* src points into g->tensors, which adding a tensor may move */
    memcpy(dims, src->dims, sizeof dims);
    int t = af_graph_add_tensor_unique(g, name, src->dtype, src->rank, dims);
    if (t < 0) {
        free(data);
        return NULL;
    }
    g->tensors[t].data = data;
    n->in[k] = t;
    return data;
}

/* Gives conv node ci a zero bias input of m channels; returns its data. */
static float *add_zero_bias(af_graph *g, int ci, int64_t m)
{
    char name[300];
    snprintf(name, sizeof name, "%s_bias", g->nodes[ci].name);
    int t = af_graph_add_tensor_unique(g, name, AF_DTYPE_F32, 1, &m);
    float *bd = t >= 0 ? calloc((size_t)m, sizeof(float)) : NULL;
    int *in = bd ? realloc(g->nodes[ci].in, sizeof(int) * 3) : NULL;
    if (!in) {
        free(bd);
        return NULL;
    }
    g->tensors[t].data = bd;
    in[2] = t;
    g->nodes[ci].in = in;
    g->nodes[ci].n_in = 3;
    return bd;
}

/* Conv(x, W, b) → BN(scale, bias, mean, var): W' = W·s, b' = (b − mean)·s + bias, with
 * s = scale / sqrt(var + eps) per output channel. */
static af_status fold_one(af_graph *g, int ci, int bi, af_err *err)
{
    af_node *bn = &g->nodes[bi];
    af_node *conv = &g->nodes[ci];
    const af_tensor *w = &g->tensors[conv->in[1]];
    int64_t m = w->dims[0], per = af_tensor_numel(w) / (m ? m : 1);
    const float *scale = g->tensors[bn->in[1]].data, *bias = g->tensors[bn->in[2]].data;
    const float *mean = g->tensors[bn->in[3]].data, *var = g->tensors[bn->in[4]].data;
    float eps = bn->p.batchnorm.eps;
    int has_b = conv->n_in > 2 && conv->in[2] >= 0;
    float *wd = own_copy(g, conv, 1, "_bnfold");
    float *bd = NULL;
    if (wd && has_b) bd = own_copy(g, conv, 2, "_bnfold");
    if (wd && !has_b) bd = add_zero_bias(g, ci, m);
    if (!wd || !bd) return af_err_set(err, AF_ERR_NOMEM, "out of memory folding batchnorm");
    for (int64_t o = 0; o < m; o++) {
        float s = scale[o] / sqrtf(var[o] + eps);
        for (int64_t j = 0; j < per; j++) wd[o * per + j] *= s;
        bd[o] = (bd[o] - mean[o]) * s + bias[o];
    }
    conv = &g->nodes[ci];
    bn = &g->nodes[bi];
    int y = bn->out[0];
    af_graph_remove_node(g, bi);
    conv->out[0] = y;
    g->tensors[y].producer = ci;
    return AF_OK;
}

static int bn_foldable(const af_graph *g, const af_node *bn, int *conv_index)
{
    int x = bn->in[0];
    int ci = g->tensors[x].producer;
    if (ci < 0) return 0;
    const af_node *c = &g->nodes[ci];
    if (c->op != AF_OP_CONV || c->p.conv.act.fn != AF_UNARY_IDENTITY) return 0;
    if (sole_reader(g, x) < 0) return 0;
    const af_tensor *w = &g->tensors[c->in[1]];
    int64_t m = w->dims[0];
    if (!is_f32_const(g, c->in[1], -1) || (c->n_in > 2 && c->in[2] >= 0 && !is_f32_const(g, c->in[2], m)))
        return 0;
    for (int k = 1; k < 5; k++)
        if (!is_f32_const(g, bn->in[k], m)) return 0;
    *conv_index = ci;
    return 1;
}

af_status af_lower_bn_fold(af_graph *g, af_lower_stats *st, af_err *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        int ci;
        if (g->nodes[i].op != AF_OP_BATCHNORM || !bn_foldable(g, &g->nodes[i], &ci)) continue;
        if (fold_one(g, ci, i, err) != AF_OK) return err->code;
        if (st) st->bn_folded++;
    }
    return af_graph_compact(g, err);
}

static int fusable_act(int fn)
{
    switch (fn) {
    case AF_UNARY_RELU: case AF_UNARY_LEAKY_RELU: case AF_UNARY_CLIP: case AF_UNARY_SIGMOID:
    case AF_UNARY_HARD_SIGMOID: case AF_UNARY_HARD_SWISH: case AF_UNARY_TANH: case AF_UNARY_SILU:
    case AF_UNARY_GELU: case AF_UNARY_ELU:
    /* a half graph's rounding after a Conv/Gemm/norm with no activation */
    case AF_UNARY_ROUND_F16: case AF_UNARY_ROUND_BF16:
        return 1;
    default:
        return 0;
    }
}

static af_unary_params *epilogue_of(af_node *n)
{
    if (n->op == AF_OP_CONV || n->op == AF_OP_CONV_TRANSPOSE) return &n->p.conv.act;
    if (n->op == AF_OP_GEMM) return &n->p.gemm.act;
    if (n->op == AF_OP_GROUP_NORM || n->op == AF_OP_LAYER_NORM || n->op == AF_OP_INSTANCE_NORM)
        return &n->p.norm.act;
    return NULL;
}

af_status af_lower_fuse_act(af_graph *g, af_lower_stats *st, af_err *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        af_node *u = &g->nodes[i];
        if (u->op != AF_OP_UNARY || u->n_in != 1 || !fusable_act(u->p.unary.fn)) continue;
        int x = u->in[0], pi = g->tensors[x].producer;
        if (pi < 0 || g->tensors[x].dtype != AF_DTYPE_F32 || sole_reader(g, x) != i) continue;
        af_unary_params *act = epilogue_of(&g->nodes[pi]);
        if (!act || act->fn != AF_UNARY_IDENTITY) continue;
        *act = u->p.unary;
        int y = u->out[0];
        af_graph_remove_node(g, i);
        g->nodes[pi].out[0] = y;
        g->tensors[y].producer = pi;
        if (st) st->act_fused++;
    }
    return af_graph_compact(g, err);
}

/* ---- dead taps: kernel rows/columns that only ever read padding -------------------------- */

/* Along one spatial axis (input n, output o, kernel K, stride s, dilation d, pads pb, pe): the
 * first and last kernel taps that read the input for some output position. 0 when none do. */
static int live_taps(int64_t n, int64_t o, int64_t K, int64_t s, int64_t d, int64_t pb,
                     int64_t *kmin, int64_t *kmax)
{
    *kmin = -1, *kmax = -1;
    for (int64_t k = 0; k < K; k++) {
        /* some output j in [0, o) with 0 <= j*s - pb + k*d < n */
        int64_t c = k * d - pb, lo = c >= 0 ? 0 : (-c + s - 1) / s;
        if (lo < o && lo * s + c < n) {
            if (*kmin < 0) *kmin = k;
            *kmax = k;
        }
    }
    return *kmin >= 0;
}

/* A conv whose kernel reaches only padding with some of its rows or columns (DeepLabV3's ASPP:
 * 3x3 at dilation 24 and 36 on a 14x14 or 28x28 map is a 1x1 conv) gets the live part of its
 * weights and pads reduced by the dropped taps: the dropped products were all x·0 on padding,
 * so the sums are those of the smaller conv. 2-D, constant f32 weights, explicit pads. */
static af_status trim_one(af_graph *g, int ci, af_err *err)
{
    af_node *n = &g->nodes[ci];
    af_conv_params *cp = &n->p.conv;
    const af_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    const af_tensor *w = &g->tensors[n->in[1]];
    if (cp->nsp != 2 || cp->auto_pad != AF_AUTO_PAD_NOTSET || x->rank != 4 || y->rank != 4 ||
        !is_f32_const(g, n->in[1], -1) || w->rank != 4)
        return AF_OK;
    int64_t lo[2], hi[2];
    int trim = 0;
    for (int i = 0; i < 2; i++) {
        if (!live_taps(x->dims[2 + i], y->dims[2 + i], cp->kernel[i], cp->stride[i],
                       cp->dilation[i], cp->pad_begin[i], &lo[i], &hi[i]))
            return AF_OK; /* an output of zeros and bias only: leave it */
        int64_t pb = cp->pad_begin[i] - lo[i] * cp->dilation[i];
        int64_t pe = cp->pad_end[i] - (cp->kernel[i] - 1 - hi[i]) * cp->dilation[i];
        if (pb < 0 || pe < 0) return AF_OK; /* the live taps read outside the pads: no rule */
        trim |= lo[i] > 0 || hi[i] < cp->kernel[i] - 1;
    }
    if (!trim) return AF_OK;
    int64_t M = w->dims[0], Cg = w->dims[1], KH = w->dims[2], KW = w->dims[3];
    int64_t nd[4] = {M, Cg, hi[0] - lo[0] + 1, hi[1] - lo[1] + 1};
    float *d = malloc(sizeof(float) * (size_t)(M * Cg * nd[2] * nd[3]));
    if (!d) return af_err_set(err, AF_ERR_NOMEM, "lowering: out of memory trimming a conv");
    const float *src = w->data;
    for (int64_t mc = 0; mc < M * Cg; mc++)
        for (int64_t a = 0; a < nd[2]; a++)
            for (int64_t b = 0; b < nd[3]; b++)
                d[(mc * nd[2] + a) * nd[3] + b] = src[(mc * KH + lo[0] + a) * KW + lo[1] + b];
    char name[300];
    snprintf(name, sizeof name, "%s_live", w->name);
    int t = af_graph_add_tensor_unique(g, name, AF_DTYPE_F32, 4, nd);
    if (t < 0) {
        free(d);
        return af_err_set(err, AF_ERR_NOMEM, "lowering: out of memory trimming a conv");
    }
    g->tensors[t].data = d;
    n = &g->nodes[ci], cp = &n->p.conv;
    n->in[1] = t;
    for (int i = 0; i < 2; i++) {
        cp->pad_begin[i] -= (int32_t)(lo[i] * cp->dilation[i]);
        cp->pad_end[i] -= (int32_t)((cp->kernel[i] - 1 - hi[i]) * cp->dilation[i]);
        cp->kernel[i] = (int32_t)(hi[i] - lo[i] + 1);
        if (cp->kernel[i] == 1) cp->dilation[i] = 1;
    }
    return AF_OK;
}

af_status af_lower_trim_conv_taps(af_graph *g, af_lower_stats *st, af_err *err)
{
    (void)st;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == AF_OP_CONV && g->nodes[i].n_in >= 2 &&
            trim_one(g, i, err) != AF_OK)
            return err->code;
    return af_graph_compact(g, err);
}

/* ---- Pad by zeros → AveragePool: the pads move into the pool, counted ------------------- */

/* Pad node pi can be taken by average pool node qi: constant zeros on the spatial axes only
 * (non-negative), read only by the pool, whose own pads are explicit and either absent or
 * counted (count_include_pad): the pool then sees the same padded extent and count. */
static int pad_into_pool(const af_graph *g, int pi, int qi)
{
    const af_node *pn = &g->nodes[pi], *qn = &g->nodes[qi];
    const af_pad_params *pp = &pn->p.pad;
    const af_pool_params *q = &qn->p.pool;
    int x = pn->in[0], rank = g->tensors[x].rank;
    if (pn->n_in != 1 || pp->mode != AF_PAD_CONSTANT || pp->value != 0.0f || rank < 3 ||
        q->kind != AF_POOL_AVG || q->auto_pad != AF_AUTO_PAD_NOTSET || q->nsp != rank - 2 ||
        g->tensors[x].dtype != AF_DTYPE_F32 || sole_reader(g, pn->out[0]) != qi)
        return 0;
    int own = 0;
    for (int i = 0; i < q->nsp; i++) own |= q->pad_begin[i] || q->pad_end[i];
    if (own && !q->count_include_pad) return 0;
    for (int i = 0; i < rank; i++) {
        int64_t b = pp->begin[i], e = pp->end[i];
        if (b < 0 || e < 0 || (i < 2 && (b || e)) || b > INT32_MAX / 2 || e > INT32_MAX / 2)
            return 0;
    }
    return 1;
}

af_status af_lower_fuse_pad_pool(af_graph *g, af_lower_stats *st, af_err *err)
{
    (void)st;
    for (int qi = 0; qi < g->n_nodes; qi++) {
        af_node *q = &g->nodes[qi];
        if (q->op != AF_OP_POOL || q->n_in != 1) continue;
        int pi = g->tensors[q->in[0]].producer;
        if (pi < 0 || g->nodes[pi].op != AF_OP_PAD || !pad_into_pool(g, pi, qi)) continue;
        const af_pad_params pp = g->nodes[pi].p.pad;
        int x = g->nodes[pi].in[0];
        for (int i = 0; i < q->p.pool.nsp; i++) {
            q->p.pool.pad_begin[i] += (int32_t)pp.begin[i + 2];
            q->p.pool.pad_end[i] += (int32_t)pp.end[i + 2];
        }
        q->p.pool.count_include_pad = 1;
        q->in[0] = x;
        af_graph_remove_node(g, pi);
    }
    return af_graph_compact(g, err);
}

static void absorb(af_graph *g, int ci, int i);

/* ---- MatMul bias: MatMul(A, W (K,N)) → Add(·, b) into one MatMul with in[2] = b ---------- */

/* Add node ai's operand k when it is the f32 output of a two-input MatMul with a 2-D B, read
 * only by the Add, and the other operand is an f32 constant of the MatMul's N columns (its
 * other dims 1) that does not widen the output. Returns the MatMul's index, or -1. */
static int bias_matmul(const af_graph *g, int ai, int k, int *b)
{
    const af_node *add = &g->nodes[ai];
    int y = add->in[k], c = add->in[1 - k];
    if (y < 0 || c < 0) return -1;
    int mi = g->tensors[y].producer;
    if (mi < 0 || sole_reader(g, y) != ai) return -1;
    const af_node *m = &g->nodes[mi];
    if (m->op != AF_OP_MATMUL || m->n_in != 2 || g->tensors[m->in[1]].rank != 2) return -1;
    const af_tensor *ty = &g->tensors[y], *tc = &g->tensors[c];
    int64_t n = g->tensors[m->in[1]].dims[1];
    if (ty->dtype != AF_DTYPE_F32 || !is_f32_const(g, c, n) || tc->rank < 1 ||
        tc->dims[tc->rank - 1] != n || tc->rank > ty->rank ||
        !af_tensor_same_shape(ty, &g->tensors[add->out[0]]))
        return -1;
    *b = c;
    return mi;
}

af_status af_lower_fuse_matmul_bias(af_graph *g, af_lower_stats *st, af_err *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op != AF_OP_BINARY || n->p.binary.fn != AF_BINARY_ADD || n->n_in != 2) continue;
        int b = -1, mi = bias_matmul(g, i, 0, &b);
        if (mi < 0) mi = bias_matmul(g, i, 1, &b);
        if (mi < 0) continue;
        int *in = realloc(g->nodes[mi].in, sizeof(int) * 3);
        if (!in) return af_err_set(err, AF_ERR_NOMEM, "out of memory fusing a MatMul bias");
        in[2] = b;
        g->nodes[mi].in = in;
        g->nodes[mi].n_in = 3;
        absorb(g, mi, i);
        if (st) st->bias_fused++;
    }
    return af_graph_compact(g, err);
}

/* ---- residual additions: Conv/MatMul → Add(·, r) [→ act] into one node with in[3] = r ----- */

/* Add node ai's operand k when it is the output of a Conv (no activation, no residual yet)
 * whose only reader is the Add, and the other operand r is an f32 activation of the same shape
 * (no broadcast) produced before that Conv runs. Returns the conv's index, or -1. */
static int residual_conv(const af_graph *g, int ai, int k, int *r)
{
    const af_node *add = &g->nodes[ai];
    int y = add->in[k], o = add->in[1 - k];
    if (y < 0 || o < 0 || y == o) return -1;
    int ci = g->tensors[y].producer;
    if (ci < 0 || sole_reader(g, y) != ai) return -1;
    const af_node *c = &g->nodes[ci];
    if (c->op == AF_OP_MATMUL ? c->n_in > 3
                              : c->op != AF_OP_CONV || c->p.conv.act.fn != AF_UNARY_IDENTITY ||
                                    c->n_in > 3)
        return -1;
    const af_tensor *ty = &g->tensors[y], *to = &g->tensors[o], *tz = &g->tensors[add->out[0]];
    if (ty->dtype != AF_DTYPE_F32 || to->dtype != AF_DTYPE_F32 || to->data ||
        !af_tensor_shape_known(to) || !af_tensor_same_shape(ty, to) || !af_tensor_same_shape(ty, tz))
        return -1;
    if (g->tensors[o].producer >= ci) return -1; /* the conv would read it before it exists */
    *r = o;
    return ci;
}

/* Conv or MatMul node ci gets r as in[3] (in[2] the bias, or -1 when it had none). */
static af_status add_residual_input(af_graph *g, int ci, int r, af_err *err)
{
    af_node *c = &g->nodes[ci];
    int *in = realloc(c->in, sizeof(int) * 4);
    if (!in) return af_err_set(err, AF_ERR_NOMEM, "out of memory fusing a residual add");
    if (c->n_in < 3) in[2] = -1;
    in[3] = r;
    c->in = in;
    c->n_in = 4;
    return AF_OK;
}

/* Node i's output now comes from conv ci; node i is removed. */
static void absorb(af_graph *g, int ci, int i)
{
    int z = g->nodes[i].out[0];
    af_graph_remove_node(g, i);
    g->nodes[ci].out[0] = z;
    g->tensors[z].producer = ci;
}

static af_status fuse_one_residual(af_graph *g, int ai, af_lower_stats *st, af_err *err)
{
    int r0 = -1, r1 = -1, c0 = residual_conv(g, ai, 0, &r0), c1 = residual_conv(g, ai, 1, &r1);
    int ci = c0 > c1 ? c0 : c1, r = c0 > c1 ? r0 : r1; /* both legal: the later conv */
    if (ci < 0) return AF_OK;
    if (add_residual_input(g, ci, r, err) != AF_OK) return err->code;
    absorb(g, ci, ai);
    if (st) st->residual_fused++;
    int z = g->nodes[ci].out[0], ui = sole_reader(g, z);
    const af_node *u = ui >= 0 && g->nodes[ci].op == AF_OP_CONV ? &g->nodes[ui] : NULL;
    if (!u || u->op != AF_OP_UNARY || u->n_in != 1 || !fusable_act(u->p.unary.fn)) return AF_OK;
    g->nodes[ci].p.conv.act = u->p.unary;
    absorb(g, ci, ui);
    if (st) st->act_fused++;
    return AF_OK;
}

af_status af_lower_fuse_residual(af_graph *g, af_lower_stats *st, af_err *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op != AF_OP_BINARY || n->p.binary.fn != AF_BINARY_ADD || n->n_in != 2) continue;
        if (fuse_one_residual(g, i, st, err) != AF_OK) return err->code;
    }
    return af_graph_compact(g, err);
}
