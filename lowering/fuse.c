/* lowering/fuse.c — BatchNormalization folded into Conv, activations fused into Conv/Gemm. */
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
