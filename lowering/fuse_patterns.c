/* lowering/fuse_patterns.c — recognises the decomposed forms that torch.onnx (opset ≤ 17) emits
 * for transformer / diffusion building blocks and replaces each by one op of the common graph:
 *
 *   SiLU       Mul(x, Sigmoid(x))                                        → unary silu
 *   GELU erf   Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)  (also x·0.5 first, or Mul by 1/√2)
 *   GELU tanh  0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))  (x³ as Pow(x,3) or Mul(x,Mul(x,x)))
 *                                                                        → unary gelu
 *   LayerNorm  ReduceMean → Sub → Pow 2 → ReduceMean → Add eps → Sqrt → Div [→ Mul γ] [→ Add β]
 *                                                                        → layer_norm
 *   GroupNorm  Reshape (N,G,-1) → InstanceNormalization → Reshape back [→ Mul γ] [→ Add β]
 *                                                                        → group_norm
 *   attention  MatMul(q, kᵀ) [→ Mul/Div by a scalar] → Softmax(last axis) → MatMul(·, v)
 *                                                                        → attention
 *   heads      attention whose q, k, v are Reshape (N,T,h·d) → (N,T,h,d) → Transpose to
 *              (N,h,T,d) (k: (N,h,d,T)) and whose output goes Transpose → Reshape (N,T,h·dv)
 *                                                     → attention on (N,T,h·d), params heads h
 *   GEGLU      Mul(Slice(x, last axis, [0,h)), gelu(Slice(x, last axis, [h,2h)))  → geglu
 *
 * A pattern fuses only when it matches exactly: every intermediate has no reader outside the
 * chain and is not a graph output, constants have the expected values and shapes. Anything
 * else is left as it is and runs unfused. The fused node takes the place (and name) of the
 * chain's last node and writes its output tensor, so the ONNX name of the last absorbed op is
 * kept for per-layer validation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

#define MAX_CHAIN 16

/* ---- graph queries ---- */

/* Node producing t, or -1. */
static int prod(const af_graph *g, int t)
{
    return t >= 0 ? g->tensors[t].producer : -1;
}

/* Readers of t (up to max, counting each node once); -1 when t is a graph output. */
static int readers(const af_graph *g, int t, int *r, int max)
{
    if (t < 0 || (g->tensors[t].flags & AF_TENSOR_OUTPUT)) return -1;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *nd = &g->nodes[i];
        if (nd->op == AF_OP_NONE) continue;
        for (int k = 0; k < nd->n_in; k++)
            if (nd->in[k] == t) {
                if (n < max) r[n] = i;
                n++;
                break;
            }
    }
    return n;
}

/* The only reader of t (output of a chain node), or -1. */
static int sole(const af_graph *g, int t)
{
    int r[1] = {-1};
    return readers(g, t, r, 1) == 1 ? r[0] : -1;
}

static int is_unary(const af_graph *g, int i, int fn)
{
    return i >= 0 && g->nodes[i].op == AF_OP_UNARY && g->nodes[i].n_in == 1 &&
           g->nodes[i].p.unary.fn == fn;
}

static int is_binary(const af_graph *g, int i, int fn)
{
    return i >= 0 && g->nodes[i].op == AF_OP_BINARY && g->nodes[i].p.binary.fn == fn;
}

static const af_tensor *f32_const(const af_graph *g, int t)
{
    if (t < 0) return NULL;
    const af_tensor *c = &g->tensors[t];
    return c->data && c->dtype == AF_DTYPE_F32 ? c : NULL;
}

/* t is a one-element f32 constant; its value in *v. */
static int scalar(const af_graph *g, int t, float *v)
{
    const af_tensor *c = f32_const(g, t);
    if (!c || af_tensor_numel(c) != 1) return 0;
    *v = *(const float *)c->data;
    return 1;
}

static int near(float v, double want)
{
    return fabs((double)v - want) <= 1e-4 * fabs(want);
}

/* Binary node i has operand t on one side; returns the other operand (or -2). */
static int other(const af_graph *g, int i, int t)
{
    const af_node *n = &g->nodes[i];
    if (n->in[0] == t) return n->in[1];
    if (n->in[1] == t) return n->in[0];
    return -2;
}

/* Binary node i has a scalar constant operand ≈ want; the other operand in *rest. */
static int has_scalar(const af_graph *g, int i, double want, int *rest)
{
    const af_node *n = &g->nodes[i];
    float v;
    for (int k = 0; k < 2; k++)
        if (scalar(g, n->in[k], &v) && near(v, want)) {
            *rest = n->in[1 - k];
            return 1;
        }
    return 0;
}

/* ---- rewriting ---- */

typedef struct chain {
    int nodes[MAX_CHAIN];
    int n;
} chain;

static void chain_add(chain *c, int i)
{
    if (c->n < MAX_CHAIN) c->nodes[c->n++] = i;
}

/* Turns node `last` into op(in[0..n_in)) and removes the other nodes of the chain. */
static af_status rewrite(af_graph *g, const chain *c, int last, af_op op, const af_params *p,
                         const int *in, int n_in, af_err *err)
{
    af_node *n = &g->nodes[last];
    int *ins = realloc(n->in, sizeof(int) * (size_t)n_in);
    if (!ins) return af_err_set(err, AF_ERR_NOMEM, "out of memory fusing '%s'", n->name);
    memcpy(ins, in, sizeof(int) * (size_t)n_in);
    n->in = ins;
    n->n_in = n_in;
    n->op = op;
    memset(&n->p, 0, sizeof n->p);
    memcpy(&n->p, p, af_op_table[op].param_size);
    for (int k = 0; k < c->n; k++)
        if (c->nodes[k] != last) af_graph_remove_node(g, c->nodes[k]);
    return AF_OK;
}

/* A new f32 constant of n values named after base. Returns its index or -1. */
static int new_const(af_graph *g, const char *base, const float *v, int64_t n)
{
    float *d = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!d) return -1;
    memcpy(d, v, sizeof(float) * (size_t)n);
    int t = af_graph_add_tensor_unique(g, base, AF_DTYPE_F32, 1, &n);
    if (t < 0) {
        free(d);
        return -1;
    }
    g->tensors[t].data = d;
    return t;
}

/* ---- SiLU and hard swish: x · gate(x) ---- */

/* The one-input op x · gate(x) is: SiLU for a Sigmoid gate, hard swish for a HardSigmoid with
 * alpha 1/6 and beta 1/2 (torch's Hardswish at opset < 14); else -1. */
static int gated_fn(const af_graph *g, int s)
{
    if (is_unary(g, s, AF_UNARY_SIGMOID)) return AF_UNARY_SILU;
    if (is_unary(g, s, AF_UNARY_HARD_SIGMOID) && near(g->nodes[s].p.unary.alpha, 1.0 / 6) &&
        near(g->nodes[s].p.unary.beta, 0.5))
        return AF_UNARY_HARD_SWISH;
    return -1;
}

static af_status try_silu(af_graph *g, int m, int *hit, af_err *err)
{
    const af_node *n = &g->nodes[m];
    for (int k = 0; k < 2; k++) {
        int s = prod(g, n->in[k]), x = n->in[1 - k], fn = gated_fn(g, s);
        if (fn < 0 || g->nodes[s].in[0] != x) continue;
        if (sole(g, n->in[k]) != m) continue;
        chain c = {{s, m}, 2};
        af_params p = {0};
        p.unary.fn = fn;
        *hit = 1;
        return rewrite(g, &c, m, AF_OP_UNARY, &p, &x, 1, err);
    }
    return AF_OK;
}

/* ---- GELU ---- */

/* From a = 1 + f(x): the two Muls forming x·a·0.5, in any of torch's orders. Adds the nodes to
 * c and returns the last one, or -1. */
static int half_x_times(const af_graph *g, int a, int x, chain *c)
{
    int at = g->nodes[a].out[0], r = sole(g, at), rest, rest2;
    if (!is_binary(g, r, AF_BINARY_MUL)) return -1;
    int o = other(g, r, at);
    int r2 = sole(g, g->nodes[r].out[0]);
    if (o == x) { /* (x·a)·0.5 */
        if (!is_binary(g, r2, AF_BINARY_MUL) || !has_scalar(g, r2, 0.5, &rest)) return -1;
        chain_add(c, r);
        chain_add(c, r2);
        return r2;
    }
    if (has_scalar(g, r, 0.5, &rest) && rest == at) { /* (a·0.5)·x */
        if (!is_binary(g, r2, AF_BINARY_MUL) || other(g, r2, g->nodes[r].out[0]) != x) return -1;
        chain_add(c, r);
        chain_add(c, r2);
        return r2;
    }
    int h = prod(g, o); /* (x·0.5)·a */
    if (is_binary(g, h, AF_BINARY_MUL) && has_scalar(g, h, 0.5, &rest2) && rest2 == x &&
        sole(g, o) == r) {
        chain_add(c, h);
        chain_add(c, r);
        return r;
    }
    return -1;
}

static af_status fuse_gelu(af_graph *g, chain *c, int a, int x, float approx, int *hit,
                           af_err *err)
{
    int rest;
    if (!is_binary(g, a, AF_BINARY_ADD) || !has_scalar(g, a, 1.0, &rest)) return AF_OK;
    chain_add(c, a);
    int last = half_x_times(g, a, x, c);
    if (last < 0) return AF_OK;
    af_params p = {0};
    p.unary.fn = AF_UNARY_GELU;
    p.unary.alpha = approx;
    *hit = 1;
    return rewrite(g, c, last, AF_OP_UNARY, &p, &x, 1, err);
}

static af_status try_gelu_erf(af_graph *g, int e, int *hit, af_err *err)
{
    int in = g->nodes[e].in[0], pre = prod(g, in), x;
    if (sole(g, in) != e) return AF_OK;
    if (is_binary(g, pre, AF_BINARY_DIV)) {
        float v;
        if (!scalar(g, g->nodes[pre].in[1], &v) || !near(v, sqrt(2.0))) return AF_OK;
        x = g->nodes[pre].in[0];
    } else if (!is_binary(g, pre, AF_BINARY_MUL) || !has_scalar(g, pre, sqrt(0.5), &x)) {
        return AF_OK;
    }
    chain c = {{pre, e}, 2};
    int a = sole(g, g->nodes[e].out[0]);
    return a < 0 ? AF_OK : fuse_gelu(g, &c, a, x, 0.0f, hit, err);
}

/* c is x³: Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x); adds its nodes to ch. */
static int is_cube(const af_graph *g, int t, int x, chain *ch)
{
    int i = prod(g, t), rest;
    if (i < 0 || sole(g, t) < 0) return 0;
    if (is_binary(g, i, AF_BINARY_POW)) {
        if (g->nodes[i].in[0] != x || !has_scalar(g, i, 3.0, &rest) || rest != x) return 0;
        chain_add(ch, i);
        return 1;
    }
    if (!is_binary(g, i, AF_BINARY_MUL)) return 0;
    int sq = other(g, i, x), s = prod(g, sq);
    if (sq < 0 || !is_binary(g, s, AF_BINARY_MUL)) return 0;
    if (g->nodes[s].in[0] != x || g->nodes[s].in[1] != x || sole(g, sq) != i) return 0;
    chain_add(ch, s);
    chain_add(ch, i);
    return 1;
}

static af_status try_gelu_tanh(af_graph *g, int t, int *hit, af_err *err)
{
    int in = g->nodes[t].in[0], inner = prod(g, in), s;
    if (sole(g, in) != t || !is_binary(g, inner, AF_BINARY_MUL) ||
        !has_scalar(g, inner, sqrt(2.0 / M_PI), &s))
        return AF_OK;
    int add = prod(g, s);
    if (!is_binary(g, add, AF_BINARY_ADD) || sole(g, s) != inner) return AF_OK;
    for (int k = 0; k < 2; k++) {
        int x = g->nodes[add].in[k], kk = g->nodes[add].in[1 - k], km = prod(g, kk), cube;
        chain c = {{inner, t}, 2};
        if (!is_binary(g, km, AF_BINARY_MUL) || sole(g, kk) != add ||
            !has_scalar(g, km, 0.044715, &cube) || !is_cube(g, cube, x, &c))
            continue;
        chain_add(&c, km);
        chain_add(&c, add);
        int a = sole(g, g->nodes[t].out[0]);
        return a < 0 ? AF_OK : fuse_gelu(g, &c, a, x, 1.0f, hit, err);
    }
    return AF_OK;
}

/* ---- LayerNorm ---- */

/* Reduce node i is a keepdims mean over the trailing axes [a, rank) of its input. */
static int trailing_mean(const af_graph *g, int i, int *a)
{
    if (i < 0 || g->nodes[i].op != AF_OP_REDUCE || g->nodes[i].n_in != 1) return 0;
    const af_reduce_params *rp = &g->nodes[i].p.reduce;
    int r = g->tensors[g->nodes[i].in[0]].rank;
    if (rp->fn != AF_REDUCE_MEAN || !rp->keepdims || r < 1 || r > 31) return 0;
    uint32_t m = rp->axes_mask;
    for (int k = 0; k < r; k++)
        if (m == (((1u << r) - 1) & ~((1u << k) - 1))) {
            *a = k;
            return 1;
        }
    return 0;
}

/* An f32 constant broadcasting over x's axes [a, rank) only (or a scalar): its values
 * expanded to inner elements into out. */
static int trailing_const(const af_graph *g, int t, const af_tensor *x, int a, int64_t inner,
                          float *out)
{
    const af_tensor *c = f32_const(g, t);
    if (!c || c->rank > x->rank) return 0;
    int64_t n = af_tensor_numel(c);
    if (n == 1) {
        for (int64_t i = 0; i < inner; i++) out[i] = *(const float *)c->data;
        return 1;
    }
    if (n != inner) return 0;
    for (int i = 0; i < c->rank; i++) {
        int xa = i + x->rank - c->rank;
        if (c->dims[i] != (xa >= a ? x->dims[xa] : 1)) return 0;
    }
    memcpy(out, c->data, sizeof(float) * (size_t)inner);
    return 1;
}

/* Optional Mul/Add by a per-element constant after node *last; updates *last and c. */
static int affine_step(const af_graph *g, int fn, int *last, chain *c, const af_tensor *x,
                       int a, int64_t inner, float *vals)
{
    int y = g->nodes[*last].out[0], r = sole(g, y);
    if (!is_binary(g, r, fn)) return 0;
    if (!trailing_const(g, other(g, r, y), x, a, inner, vals)) return 0;
    chain_add(c, r);
    *last = r;
    return 1;
}

/* ReduceMean m1 → Sub → Pow 2 → ReduceMean → Add eps → Sqrt → Div; returns Div (or -1) and
 * eps. */
static int ln_core(const af_graph *g, int m1, int a, chain *c, float *eps)
{
    int x = g->nodes[m1].in[0], sub = sole(g, g->nodes[m1].out[0]), rd[3], a2;
    if (!is_binary(g, sub, AF_BINARY_SUB) || g->nodes[sub].in[0] != x) return -1;
    int d = g->nodes[sub].out[0];
    if (readers(g, d, rd, 3) != 2) return -1;
    int pw = is_binary(g, rd[0], AF_BINARY_POW) ? rd[0] : rd[1], dv = pw == rd[0] ? rd[1] : rd[0];
    float two;
    if (!is_binary(g, pw, AF_BINARY_POW) || g->nodes[pw].in[0] != d ||
        !scalar(g, g->nodes[pw].in[1], &two) || two != 2.0f)
        return -1;
    int m2 = sole(g, g->nodes[pw].out[0]);
    if (!trailing_mean(g, m2, &a2) || a2 != a) return -1;
    int ad = sole(g, g->nodes[m2].out[0]);
    if (!is_binary(g, ad, AF_BINARY_ADD)) return -1;
    int ve = g->nodes[m2].out[0];
    if (!scalar(g, other(g, ad, ve), eps) || !(*eps >= 0.0f)) return -1;
    int sq = sole(g, g->nodes[ad].out[0]);
    if (!is_unary(g, sq, AF_UNARY_SQRT)) return -1;
    if (!is_binary(g, dv, AF_BINARY_DIV) || g->nodes[dv].in[0] != d ||
        g->nodes[dv].in[1] != g->nodes[sq].out[0] || sole(g, g->nodes[sq].out[0]) != dv)
        return -1;
    int parts[7] = {m1, sub, pw, m2, ad, sq, dv};
    for (int k = 0; k < 7; k++) chain_add(c, parts[k]);
    return dv;
}

static af_status try_layer_norm(af_graph *g, int m1, int *hit, af_err *err)
{
    int a;
    if (!trailing_mean(g, m1, &a)) return AF_OK;
    chain c = {{0}, 0};
    float eps;
    int last = ln_core(g, m1, a, &c, &eps);
    if (last < 0) return AF_OK;
    int x = g->nodes[m1].in[0];
    const af_tensor *xt = &g->tensors[x];
    int64_t inner = 1;
    for (int k = a; k < xt->rank; k++) inner *= xt->dims[k]; /* ≤ numel: shapes are checked */
    if (inner < 1 || xt->dtype != AF_DTYPE_F32) return AF_OK;
    float *gamma = malloc(sizeof(float) * (size_t)inner), *beta = calloc((size_t)inner, sizeof(float));
    af_status st = AF_OK;
    if (!gamma || !beta) st = af_err_set(err, AF_ERR_NOMEM, "out of memory fusing layer_norm");
    if (!st && !affine_step(g, AF_BINARY_MUL, &last, &c, xt, a, inner, gamma))
        for (int64_t i = 0; i < inner; i++) gamma[i] = 1.0f;
    if (!st) affine_step(g, AF_BINARY_ADD, &last, &c, xt, a, inner, beta);
    char base[300];
    snprintf(base, sizeof base, "%s_ln", g->nodes[last].name);
    int in[3] = {x, st ? -1 : new_const(g, base, gamma, inner), -1};
    if (!st && in[1] >= 0) in[2] = new_const(g, base, beta, inner);
    if (!st && (in[1] < 0 || in[2] < 0)) st = af_err_set(err, AF_ERR_NOMEM, "out of memory");
    free(gamma);
    free(beta);
    if (st) return st;
    af_params p = {0};
    p.norm.eps = eps;
    p.norm.axis = a;
    *hit = 1;
    return rewrite(g, &c, last, AF_OP_LAYER_NORM, &p, in, 3, err);
}

/* ---- GroupNorm ---- */

static int is_reshape(const af_graph *g, int i)
{
    return i >= 0 && g->nodes[i].op == AF_OP_RESHAPE && g->nodes[i].n_in == 1;
}

/* An f32 per-channel constant for x (N,C,...): C values on axis 1 (or one value). */
static int channel_const(const af_graph *g, int t, const af_tensor *x, float *out)
{
    const af_tensor *c = f32_const(g, t);
    int64_t C = x->dims[1];
    if (!c || c->rank > x->rank) return 0;
    int64_t n = af_tensor_numel(c);
    if (n == 1) {
        for (int64_t i = 0; i < C; i++) out[i] = *(const float *)c->data;
        return 1;
    }
    for (int i = 0; i < c->rank; i++)
        if (c->dims[i] != (i + x->rank - c->rank == 1 ? C : 1)) return 0;
    memcpy(out, c->data, sizeof(float) * (size_t)C);
    return 1;
}

static int channel_step(const af_graph *g, int fn, int *last, chain *c, const af_tensor *x,
                        float *vals)
{
    int y = g->nodes[*last].out[0], r = sole(g, y);
    if (!is_binary(g, r, fn) || !channel_const(g, other(g, r, y), x, vals)) return 0;
    chain_add(c, r);
    *last = r;
    return 1;
}

/* Reshape x (N,C,*) → (N,G,-1) → InstanceNorm → Reshape to x's shape: checks the frame. */
static int gn_frame(const af_graph *g, int in_i, int *x, int *r2, int64_t *G)
{
    const af_node *n = &g->nodes[in_i];
    int r1 = prod(g, n->in[0]);
    if (!is_reshape(g, r1) || sole(g, n->in[0]) != in_i) return 0;
    *x = g->nodes[r1].in[0];
    const af_tensor *xt = &g->tensors[*x], *mid = &g->tensors[n->in[0]];
    if (xt->rank < 3 || mid->rank != 3 || xt->dtype != AF_DTYPE_F32 || mid->dims[0] != xt->dims[0])
        return 0;
    *G = mid->dims[1];
    if (*G < 1 || *G > INT32_MAX || xt->dims[1] % *G) return 0;
    *r2 = sole(g, n->out[0]);
    if (!is_reshape(g, *r2)) return 0;
    const af_tensor *y = &g->tensors[g->nodes[*r2].out[0]];
    return y->rank == xt->rank && !memcmp(y->dims, xt->dims, sizeof(int64_t) * (size_t)y->rank);
}

static af_status try_group_norm(af_graph *g, int in_i, int *hit, af_err *err)
{
    int x, r2;
    int64_t G;
    const af_node *n = &g->nodes[in_i];
    if (n->n_in != 3 || !gn_frame(g, in_i, &x, &r2, &G)) return AF_OK;
    const af_tensor *s = f32_const(g, n->in[1]), *b = f32_const(g, n->in[2]);
    if (!s || !b || af_tensor_numel(s) != G || af_tensor_numel(b) != G) return AF_OK;
    const af_tensor *xt = &g->tensors[x];
    int64_t C = xt->dims[1], cg = C / G;
    float *gamma = malloc(sizeof(float) * (size_t)C * 2);
    if (!gamma) return af_err_set(err, AF_ERR_NOMEM, "out of memory fusing group_norm");
    float *beta = gamma + C;
    chain c = {{prod(g, n->in[0]), in_i, r2}, 3};
    int last = r2;
    if (!channel_step(g, AF_BINARY_MUL, &last, &c, xt, gamma))
        for (int64_t i = 0; i < C; i++) gamma[i] = 1.0f;
    if (!channel_step(g, AF_BINARY_ADD, &last, &c, xt, beta))
        for (int64_t i = 0; i < C; i++) beta[i] = 0.0f;
    /* ((x̂·s_g + b_g)·γ_c + β_c = x̂·(s_g γ_c) + (b_g γ_c + β_c) */
    const float *sg = s->data, *bg = b->data;
    for (int64_t ch = 0; ch < C; ch++) {
        beta[ch] += bg[ch / cg] * gamma[ch];
        gamma[ch] *= sg[ch / cg];
    }
    char base[300];
    snprintf(base, sizeof base, "%s_gn", g->nodes[last].name);
    int in[3] = {x, new_const(g, base, gamma, C), new_const(g, base, beta, C)};
    free(gamma);
    if (in[1] < 0 || in[2] < 0) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    af_params p = {0};
    p.norm.eps = g->nodes[in_i].p.norm.eps;
    p.norm.num_groups = (int32_t)G;
    *hit = 1;
    return rewrite(g, &c, last, AF_OP_GROUP_NORM, &p, in, 3, err);
}

/* ---- attention ---- */

static int same_batch(const af_tensor *a, const af_tensor *b)
{
    if (a->rank != b->rank || a->rank < 2) return 0;
    for (int i = 0; i < a->rank - 2; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

static af_status try_attention(af_graph *g, int sm, int *hit, af_err *err)
{
    const af_node *s = &g->nodes[sm];
    const af_tensor *st = &g->tensors[s->in[0]];
    if (s->p.softmax.log || st->rank < 2 || s->p.softmax.axis != st->rank - 1) return AF_OK;
    float scale = 1.0f, v;
    chain c = {{0}, 0};
    int pre = prod(g, s->in[0]), mm1 = pre, rest;
    if (sole(g, s->in[0]) != sm) return AF_OK;
    if (is_binary(g, pre, AF_BINARY_MUL) || is_binary(g, pre, AF_BINARY_DIV)) {
        int div = g->nodes[pre].p.binary.fn == AF_BINARY_DIV;
        const af_node *pn = &g->nodes[pre];
        int k = div ? 1 : (scalar(g, pn->in[0], &v) ? 0 : 1);
        if (!scalar(g, pn->in[k], &v) || v == 0.0f || !isfinite(v)) return AF_OK;
        scale = div ? 1.0f / v : v;
        rest = pn->in[1 - k];
        mm1 = prod(g, rest);
        if (sole(g, rest) != pre) return AF_OK;
        chain_add(&c, pre);
    }
    if (mm1 < 0 || g->nodes[mm1].op != AF_OP_MATMUL) return AF_OK;
    int mm2 = sole(g, s->out[0]);
    if (mm2 < 0 || g->nodes[mm2].op != AF_OP_MATMUL || g->nodes[mm2].in[0] != s->out[0])
        return AF_OK;
    int in[3] = {g->nodes[mm1].in[0], g->nodes[mm1].in[1], g->nodes[mm2].in[1]};
    const af_tensor *q = &g->tensors[in[0]], *k = &g->tensors[in[1]], *vv = &g->tensors[in[2]];
    if (!same_batch(q, k) || !same_batch(q, vv) || q->dtype != AF_DTYPE_F32) return AF_OK;
    chain_add(&c, mm1);
    chain_add(&c, sm);
    chain_add(&c, mm2);
    af_params p = {0};
    p.attention.scale = scale;
    p.attention.k_transposed = 1;
    *hit = 1;
    return rewrite(g, &c, mm2, AF_OP_ATTENTION, &p, in, 3, err);
}

/* ---- attention heads: the head split and merge folded into the kernel's strides ---- */

static int perm_is(const af_node *n, int32_t a, int32_t b, int32_t c, int32_t d)
{
    const af_transpose_params *t = &n->p.transpose;
    return n->op == AF_OP_TRANSPOSE && n->n_in == 1 && t->n_perm == 4 && t->perm[0] == a &&
           t->perm[1] == b && t->perm[2] == c && t->perm[3] == d;
}

/* t = Transpose(perm)(Reshape (N,T,h·w) → (N,T,h,w)) read only by attention node at:
 * returns the Reshape's input x (N,T,h·w) and h, w, and adds both nodes to c; else -1. */
static int head_split(const af_graph *g, int t, int at, const int32_t *perm, int64_t *h,
                      int64_t *w, chain *c)
{
    int tr = prod(g, t);
    if (tr < 0 || sole(g, t) != at || !perm_is(&g->nodes[tr], perm[0], perm[1], perm[2], perm[3]))
        return -1;
    int mid = g->nodes[tr].in[0], rs = prod(g, mid);
    if (!is_reshape(g, rs) || sole(g, mid) != tr) return -1;
    int x = g->nodes[rs].in[0];
    const af_tensor *xt = &g->tensors[x], *mt = &g->tensors[mid];
    if (xt->rank != 3 || mt->rank != 4 || xt->dtype != AF_DTYPE_F32 ||
        mt->dims[0] != xt->dims[0] || mt->dims[1] != xt->dims[1] ||
        mt->dims[2] * mt->dims[3] != xt->dims[2])
        return -1;
    *h = mt->dims[2], *w = mt->dims[3];
    chain_add(c, rs);
    chain_add(c, tr);
    return x;
}

/* Attention output t (N,h,T,w) → Transpose (0,2,1,3) → Reshape (N,T,h·w), both sole readers:
 * returns the Reshape node (added to c with the Transpose), else -1. */
static int head_merge(const af_graph *g, int t, int64_t h, int64_t w, chain *c)
{
    int tr = sole(g, t);
    if (tr < 0 || !perm_is(&g->nodes[tr], 0, 2, 1, 3)) return -1;
    int mid = g->nodes[tr].out[0], rs = sole(g, mid);
    if (!is_reshape(g, rs)) return -1;
    const af_tensor *y = &g->tensors[g->nodes[rs].out[0]], *mt = &g->tensors[mid];
    if (y->rank != 3 || mt->rank != 4 || y->dims[0] != mt->dims[0] || y->dims[1] != mt->dims[1] ||
        mt->dims[2] != h || mt->dims[3] != w || y->dims[2] != h * w)
        return -1;
    chain_add(c, tr);
    chain_add(c, rs);
    return rs;
}

/* q, k, v split into heads by Reshape (N,T,h·d) → (N,T,h,d) → Transpose (N,h,T,d) — k's to
 * (N,h,d,T) when the attention reads it transposed —, and the output merged back by
 * Transpose → Reshape (N,T,h·dv): one attention on the unsplit tensors (params heads = h). */
static af_status try_attention_heads(af_graph *g, int at, int *hit, af_err *err)
{
    const af_node *a = &g->nodes[at];
    if (a->n_in != 3 || a->p.attention.heads != 0 || a->in[0] == a->in[1] ||
        a->in[0] == a->in[2] || a->in[1] == a->in[2] || g->tensors[a->in[0]].rank != 4)
        return AF_OK;
    static const int32_t rows[4] = {0, 2, 1, 3}, cols[4] = {0, 2, 3, 1};
    chain c = {{0}, 0};
    int64_t h[3], w[3];
    int x[3];
    for (int i = 0; i < 3; i++) {
        x[i] = head_split(g, a->in[i], at, i == 1 && a->p.attention.k_transposed ? cols : rows,
                          &h[i], &w[i], &c);
        if (x[i] < 0) return AF_OK;
    }
    if (h[1] != h[0] || h[2] != h[0] || w[1] != w[0] || h[0] < 1 || h[0] > INT32_MAX) return AF_OK;
    chain_add(&c, at);
    int last = head_merge(g, a->out[0], h[0], w[2], &c);
    if (last < 0) return AF_OK;
    af_params p = {0};
    p.attention.scale = a->p.attention.scale;
    p.attention.k_transposed = 0;
    p.attention.heads = (int32_t)h[0];
    *hit = 1;
    return rewrite(g, &c, last, AF_OP_ATTENTION, &p, x, 3, err);
}

/* ---- GEGLU: x[..., :h] · gelu(x[..., h:]) ---- */

/* Node i is a unit-step Slice of x keeping all of every axis but the last, where it keeps
 * [start, start + h) of 2h; its output read only by node r. */
static int half_slice(const af_graph *g, int i, int x, int64_t start, int r)
{
    if (i < 0 || g->nodes[i].op != AF_OP_SLICE || g->nodes[i].n_in != 1 ||
        g->nodes[i].in[0] != x || sole(g, g->nodes[i].out[0]) != r)
        return 0;
    const af_tensor *xt = &g->tensors[x], *o = &g->tensors[g->nodes[i].out[0]];
    const af_slice_params *sp = &g->nodes[i].p.slice;
    int rank = xt->rank;
    if (rank < 1 || o->rank != rank || xt->dims[rank - 1] % 2 ||
        o->dims[rank - 1] != xt->dims[rank - 1] / 2)
        return 0;
    for (int d = 0; d < rank; d++) {
        int64_t want = d == rank - 1 ? start : 0;
        if (sp->step[d] != 1 || sp->start[d] != want || (d < rank - 1 && o->dims[d] != xt->dims[d]))
            return 0;
    }
    return 1;
}

/* m = Mul(a, g): a = x's first half, g = Gelu(x's second half), as diffusers' GEGLU exports. */
static af_status try_geglu(af_graph *g, int m, int *hit, af_err *err)
{
    const af_node *n = &g->nodes[m];
    for (int k = 0; k < 2; k++) {
        int gl = prod(g, n->in[k]), sa = prod(g, n->in[1 - k]);
        if (!is_unary(g, gl, AF_UNARY_GELU) || sole(g, n->in[k]) != m || sa < 0) continue;
        int x = g->nodes[sa].in[0], sb = prod(g, g->nodes[gl].in[0]);
        if (x < 0 || g->tensors[x].dtype != AF_DTYPE_F32 || g->tensors[x].rank < 1) continue;
        int64_t h = g->tensors[x].dims[g->tensors[x].rank - 1] / 2;
        if (!half_slice(g, sa, x, 0, m) || !half_slice(g, sb, x, h, gl)) continue;
        chain c = {{sa, sb, gl, m}, 4};
        af_params p = {0};
        p.unary = g->nodes[gl].p.unary;
        *hit = 1;
        return rewrite(g, &c, m, AF_OP_GEGLU, &p, &x, 1, err);
    }
    return AF_OK;
}

/* ---- driver ---- */

typedef af_status (*matcher)(af_graph *g, int i, int *hit, af_err *err);

/* Pattern table: the op (and unary/binary fn, -1 = any) a match starts from. */
static const struct {
    af_op op;
    int fn;
    matcher fn_match;
} patterns[] = {
    {AF_OP_BINARY, AF_BINARY_MUL, try_silu},
    {AF_OP_UNARY, AF_UNARY_ERF, try_gelu_erf},
    {AF_OP_UNARY, AF_UNARY_TANH, try_gelu_tanh},
    {AF_OP_REDUCE, -1, try_layer_norm},
    {AF_OP_INSTANCE_NORM, -1, try_group_norm},
    {AF_OP_SOFTMAX, -1, try_attention},
    {AF_OP_ATTENTION, -1, try_attention_heads},
    {AF_OP_BINARY, AF_BINARY_MUL, try_geglu}, /* after the GELU patterns */
};

static int starts(const af_node *n, af_op op, int fn)
{
    if (n->op != op) return 0;
    if (fn < 0) return 1;
    return op == AF_OP_UNARY ? n->p.unary.fn == fn : n->p.binary.fn == fn;
}

af_status af_lower_fuse_patterns(af_graph *g, af_lower_stats *st, af_err *err)
{
    for (size_t k = 0; k < sizeof patterns / sizeof *patterns; k++)
        for (int i = 0; i < g->n_nodes; i++) {
            if (!starts(&g->nodes[i], patterns[k].op, patterns[k].fn)) continue;
            int hit = 0;
            if (patterns[k].fn_match(g, i, &hit, err) != AF_OK) return err->code;
            if (hit && st) st->patterns_fused++;
        }
    return af_graph_compact(g, err);
}
