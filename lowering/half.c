/* lowering/half.c — FLOAT16 / BFLOAT16 graphs (see lower.h, pass "half").
 *
 * Import and shape inference keep F16/BF16 as the dtype of every tensor the model types so.
 * Folding evaluates half-typed constant nodes in f32 (af_half_kernel_run). Then the pass
 * af_lower_legalize_half makes the graph f32 with the model's rounding points made explicit:
 *   - half constants are widened to f32 (exact); bf16 constants that are not exact halves are
 *     flagged AF_TENSOR_KEEP_RAW so the fp16 bundle encoding does not re-round them;
 *   - an F16 graph input stays F16 (the caller passes halves) and is widened by a Cast; a BF16
 *     input becomes an f32 input rounded to bfloat16 by a unary round_bf16 node;
 *   - every half-typed node output becomes f32 followed by a round_f16 / round_bf16 node (the
 *     output keeps the ONNX name, the unrounded value gets "<name>__unrounded"), except where
 *     rounding is a no-op (ops that only move or select values of already-rounded inputs) or
 *     can be deferred (every reader is such an op, which then rounds its own output: rounding
 *     commutes with them, and Conv → Relu stays fusable; a BatchNormalization reader too, so
 *     that it folds into its Conv);
 *   - a Cast to a half type becomes an Identity (+ the rounding); an F16 graph output is written
 *     by a Cast f32 → f16, a BF16 graph output is f32 rounded to bfloat16.
 * Inserted nodes are placed right after their producer (or first, for inputs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/kernels.h"
#include "half.h"
#include "lower.h"

static int is_half(af_dtype t) { return t == AF_DTYPE_F16 || t == AF_DTYPE_BF16; }

/* ---- constant folding of half-typed nodes -------------------------------------------------- */

static void widen(af_dtype t, const void *src, float *dst, int64_t n)
{
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = t == AF_DTYPE_F16 ? af_f16_to_f32(h[i]) : af_bf16_to_f32(h[i]);
}

static void narrow(af_dtype t, const float *src, void *dst, int64_t n)
{
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = t == AF_DTYPE_F16 ? af_f32_to_f16(src[i]) : af_f32_to_bf16(src[i]);
}

/* Runs the kernel on views where half inputs are widened and half outputs computed in f32
 * then narrowed (a Cast handles half dtypes itself). */
af_status af_half_kernel_run(const af_node *n, const af_tview *in, af_tview *out, af_err *err)
{
    af_tview vi[16], vo[16];
    float *tmp[32] = {0};
    af_status st = AF_OK;
    int wide = n->op != AF_OP_CAST;
    for (int k = 0; k < n->n_in + n->n_out && st == AF_OK; k++) {
        af_tview *v = k < n->n_in ? &vi[k] : &vo[k - n->n_in];
        *v = k < n->n_in ? in[k] : out[k - n->n_in];
        if (!wide || !v->data || !is_half(v->dtype)) continue;
        int64_t m = af_tview_numel(v);
        tmp[k] = malloc((size_t)(m > 0 ? m : 1) * sizeof(float));
        if (!tmp[k]) st = af_err_set(err, AF_ERR_NOMEM, "out of memory folding '%s'", n->name);
        else if (k < n->n_in) widen(v->dtype, v->data, tmp[k], m);
        if (tmp[k]) v->dtype = AF_DTYPE_F32, v->data = tmp[k];
    }
    size_t sb = st ? 0 : af_kernel_scratch_bytes(n->op, &n->p, vi, n->n_in, vo, n->n_out);
    void *scratch = sb ? aligned_alloc(64, (sb + 63) & ~(size_t)63) : NULL;
    if (sb && !scratch) st = af_err_set(err, AF_ERR_NOMEM, "out of memory folding '%s'", n->name);
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = sb, .n_threads = 1};
    if (st == AF_OK) st = af_kernel_run(n->op, &n->p, vi, n->n_in, vo, n->n_out, &ctx, err);
    for (int k = 0; k < n->n_out && st == AF_OK; k++)
        if (tmp[n->n_in + k])
            narrow(out[k].dtype, tmp[n->n_in + k], out[k].data, af_tview_numel(&out[k]));
    free(scratch);
    for (int k = 0; k < 32; k++) free(tmp[k]);
    return st;
}

/* ---- the legalisation pass ------------------------------------------------------------------ */

typedef struct ins {
    int node, after; /* an inserted node and the original node it follows (-1: first) */
} ins;

typedef struct lctx {
    af_graph *g;
    af_err *err;
    ins *v;
    int nv, cap;
    uint8_t *rounded; /* per tensor: holds values already rounded to its half type */
    int n_rounded;
} lctx;

static af_status oom(lctx *c) { return af_err_set(c->err, AF_ERR_NOMEM, "out of memory"); }

static int is_rounded(lctx *c, int t) { return t < c->n_rounded && c->rounded[t]; }

static af_status set_rounded(lctx *c, int t)
{
    if (t >= c->n_rounded) {
        int n = c->g->n_tensors + 64;
        uint8_t *r = realloc(c->rounded, (size_t)n);
        if (!r) return oom(c);
        memset(r + c->n_rounded, 0, (size_t)(n - c->n_rounded));
        c->rounded = r;
        c->n_rounded = n;
    }
    c->rounded[t] = 1;
    return AF_OK;
}

/* A new f32 tensor shaped like t, named base + suffix; -1 on OOM. */
static int like(lctx *c, int t, const char *suffix)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", c->g->tensors[t].name, suffix);
    af_tensor *x = &c->g->tensors[t];
    int64_t dims[AF_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    return af_graph_add_tensor_unique(c->g, name, AF_DTYPE_F32, x->rank, dims);
}

/* Appends x → y (a Cast to y's dtype, or a unary rounding when fn >= 0), to be placed after
 * node `after`. */
static af_status emit(lctx *c, int fn, int x, int y, int after)
{
    af_params p;
    memset(&p, 0, sizeof p);
    af_op op = fn >= 0 ? AF_OP_UNARY : AF_OP_CAST;
    if (fn >= 0) p.unary.fn = fn;
    else p.cast.to = c->g->tensors[y].dtype;
    char name[512];
    snprintf(name, sizeof name, "%s__%s", c->g->tensors[y].name, fn >= 0 ? "round" : "cast");
    if (c->nv == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        ins *v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) return oom(c);
        c->v = v;
        c->cap = cap;
    }
    int i = af_graph_add_node(c->g, op, name, &x, 1, &y, 1);
    if (i < 0) return oom(c);
    c->g->nodes[i].p = p;
    c->v[c->nv++] = (ins){i, after};
    return set_rounded(c, y);
}

static int round_fn(af_dtype t)
{
    return t == AF_DTYPE_BF16 ? AF_UNARY_ROUND_BF16 : AF_UNARY_ROUND_F16;
}

/* Constants: widened to f32 (exact). */
static af_status widen_constants(lctx *c)
{
    for (int i = 0; i < c->g->n_tensors; i++) {
        af_tensor *t = &c->g->tensors[i];
        if (!t->data || !is_half(t->dtype)) continue;
        int64_t n = af_tensor_numel(t);
        float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
        if (!f) return oom(c);
        widen(t->dtype, t->data, f, n);
        for (int64_t k = 0; k < n && t->dtype == AF_DTYPE_BF16; k++)
            if (af_f16_to_f32(af_f32_to_f16(f[k])) != f[k] && f[k] == f[k]) {
                t->flags |= AF_TENSOR_KEEP_RAW; /* not an exact half: store as f32 */
                break;
            }
        af_tensor_set_data(t, f);
        t->dtype = AF_DTYPE_F32;
        if (set_rounded(c, i)) return c->err->code;
    }
    return AF_OK;
}

/* Node inputs reading `from` (among the first n0 nodes) read `to` instead. */
static void redirect(af_graph *g, int n0, int from, int to)
{
    for (int i = 0; i < n0; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == from) g->nodes[i].in[k] = to;
}

static af_status legalize_inputs(lctx *c, int n0)
{
    for (int k = 0; k < c->g->n_inputs; k++) {
        int x = c->g->inputs[k];
        af_dtype dt = c->g->tensors[x].dtype;
        if (!is_half(dt)) continue;
        int y = like(c, x, dt == AF_DTYPE_F16 ? "__f32" : "__bf16");
        if (y < 0) return oom(c);
        if (dt == AF_DTYPE_BF16) c->g->tensors[x].dtype = AF_DTYPE_F32; /* f32 I/O, see docs */
        af_status st = emit(c, dt == AF_DTYPE_F16 ? -1 : AF_UNARY_ROUND_BF16, x, y, -1);
        if (st) return st;
        redirect(c->g, n0, x, y);
    }
    return AF_OK;
}

/* Ops whose outputs only hold (signed) input values or exact constants: rounding their inputs
 * rounds their outputs, and rounding commutes with them. */
static int preserving(const af_node *n)
{
    switch (n->op) {
    case AF_OP_IDENTITY: case AF_OP_RESHAPE: case AF_OP_TRANSPOSE: case AF_OP_CONCAT:
    case AF_OP_SPLIT: case AF_OP_SLICE: case AF_OP_GATHER: case AF_OP_EXPAND: case AF_OP_TILE:
    case AF_OP_DEPTH_TO_SPACE: case AF_OP_SPACE_TO_DEPTH: case AF_OP_GATHER_ELEMENTS:
    case AF_OP_WHERE: case AF_OP_PAD: case AF_OP_CONSTANT_OF_SHAPE:
        return 1;
    case AF_OP_POOL: return n->p.pool.kind == AF_POOL_MAX;
    case AF_OP_GLOBAL_POOL: return n->p.global_pool.kind == AF_POOL_MAX;
    case AF_OP_REDUCE: return n->p.reduce.fn == AF_REDUCE_MAX || n->p.reduce.fn == AF_REDUCE_MIN;
    case AF_OP_BINARY: return n->p.binary.fn == AF_BINARY_MAX || n->p.binary.fn == AF_BINARY_MIN;
    case AF_OP_UNARY:
        switch (n->p.unary.fn) {
        case AF_UNARY_IDENTITY: case AF_UNARY_RELU: case AF_UNARY_CLIP: case AF_UNARY_NEG:
        case AF_UNARY_ABS: case AF_UNARY_FLOOR: case AF_UNARY_CEIL: case AF_UNARY_ROUND:
        case AF_UNARY_SIGN:
            return 1;
        default: return 0;
        }
    default: return 0;
    }
}

static int float_inputs_rounded(lctx *c, const af_node *n)
{
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t >= 0 && af_dtype_table[c->g->tensors[t].dtype].is_float && !is_rounded(c, t))
            return 0;
    }
    return 1;
}

/* t (output of node i) needs no rounding node of its own when every reader is a preserving op
 * with a half output of the same type, which rounds after itself; or a BatchNormalization of a
 * Conv's output t, which bn_fold merges into the Conv as every runtime does (the one rounding
 * dropped there is at most half a half-ulp before the affine BN). */
static int deferrable(lctx *c, int n0, int i, int t, af_dtype dt)
{
    const af_graph *g = c->g;
    int readers = 0;
    for (int r = i + 1; r < n0; r++) {
        const af_node *n = &g->nodes[r];
        int reads = 0;
        for (int k = 0; k < n->n_in; k++) reads |= n->in[k] == t;
        if (!reads) continue;
        int bn = n->op == AF_OP_BATCHNORM && n->in[0] == t && g->nodes[i].op == AF_OP_CONV;
        if (!(preserving(n) || bn) || n->n_out < 1 || g->tensors[n->out[0]].dtype != dt) return 0;
        readers++;
    }
    return readers > 0 && af_graph_use_count(g, t) == readers;
}

static af_status legalize_output(lctx *c, int n0, int i, int k)
{
    af_graph *g = c->g;
    int t = g->nodes[i].out[k];
    af_dtype dt = g->tensors[t].dtype;
    int is_out = (g->tensors[t].flags & AF_TENSOR_OUTPUT) != 0;
    if (g->nodes[i].op == AF_OP_CAST && dt == AF_DTYPE_F16 && is_out)
        return set_rounded(c, t); /* the Cast writes the f16 graph output itself */
    g->tensors[t].dtype = AF_DTYPE_F32;
    int exact = preserving(&g->nodes[i]) && float_inputs_rounded(c, &g->nodes[i]);
    if (exact && !(is_out && dt == AF_DTYPE_F16)) return set_rounded(c, t);
    if (!is_out && deferrable(c, n0, i, t, dt)) return AF_OK;
    int u = like(c, t, "__unrounded");
    if (u < 0) return oom(c);
    g->nodes[i].out[k] = u;
    g->tensors[u].producer = i;
    if (is_out && dt == AF_DTYPE_F16) {
        g->tensors[t].dtype = AF_DTYPE_F16;
        return emit(c, -1, u, t, i);
    }
    return emit(c, round_fn(dt), u, t, i);
}

static af_status legalize_node(lctx *c, int n0, int i)
{
    for (int k = 0; k < c->g->nodes[i].n_out; k++) {
        int t = c->g->nodes[i].out[k];
        if (!is_half(c->g->tensors[t].dtype) || c->g->tensors[t].data) continue;
        af_status st = legalize_output(c, n0, i, k);
        if (st) return st;
    }
    af_node *n = &c->g->nodes[i];
    if (n->op == AF_OP_CONSTANT_OF_SHAPE && is_half((af_dtype)n->p.const_of_shape.dtype))
        n->p.const_of_shape.dtype = AF_DTYPE_F32;
    if (n->op == AF_OP_CAST) {
        af_dtype to = c->g->tensors[n->out[0]].dtype;
        n->p.cast.to = to;
        if (n->in[0] >= 0 && c->g->tensors[n->in[0]].dtype == to) {
            n->op = AF_OP_IDENTITY; /* removed by simplify */
            memset(&n->p, 0, sizeof n->p);
        }
    }
    return AF_OK;
}

/* Puts every inserted node right after the node it follows; fixes tensor producers. */
static af_status reorder(lctx *c, int n0)
{
    af_graph *g = c->g;
    int n = g->n_nodes, w = 0, k = 0;
    int *order = malloc((size_t)n * sizeof *order), *pos = malloc((size_t)n * sizeof *pos);
    af_node *tmp = malloc((size_t)n * sizeof *tmp);
    if (!order || !pos || !tmp) {
        free(order), free(pos), free(tmp);
        return oom(c);
    }
    while (k < c->nv && c->v[k].after < 0) order[w++] = c->v[k++].node;
    for (int i = 0; i < n0; i++) {
        order[w++] = i;
        while (k < c->nv && c->v[k].after == i) order[w++] = c->v[k++].node;
    }
    for (int j = 0; j < n; j++) {
        tmp[j] = g->nodes[order[j]];
        pos[order[j]] = j;
    }
    memcpy(g->nodes, tmp, (size_t)n * sizeof *tmp);
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].producer >= 0) g->tensors[t].producer = pos[g->tensors[t].producer];
    free(order), free(pos), free(tmp);
    return AF_OK;
}

af_status af_lower_legalize_half(af_graph *g, af_err *err)
{
    lctx c = {.g = g, .err = err};
    int n0 = g->n_nodes;
    af_status st = widen_constants(&c);
    if (!st) st = legalize_inputs(&c, n0);
    for (int i = 0; i < n0 && !st; i++)
        if (g->nodes[i].op != AF_OP_NONE) st = legalize_node(&c, n0, i);
    if (!st && c.nv) st = reorder(&c, n0);
    free(c.v);
    free(c.rounded);
    return st;
}
