/* importers/onnx/onnx_ops_extra.c — ONNX → IR for the conformance op set beyond the CNN core:
 * Expand, Where, Tile, CumSum, DepthToSpace, SpaceToDepth, GatherElements, LRN, Range, Trilu,
 * Size, ThresholdedRelu, CastLike, Einsum (1-2 operands, matmul-like) and Dropout's mask. */
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nodes whose inputs map 1:1 (min..max present) and that carry no attributes. */
af_status onnx_map_plain(onnx_ctx *c, const onnx_node *nd)
{
    static const struct { af_op op; int min, max; } rows[] = {
        {AF_OP_EXPAND, 2, 2}, {AF_OP_WHERE, 3, 3}, {AF_OP_TILE, 2, 2},
        {AF_OP_RANGE, 3, 3},  {AF_OP_SIZE, 1, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (rows[i].op != (af_op)nd->arg) continue;
        int in[3], n;
        af_status st = onnx_need(c, nd, in, rows[i].min, rows[i].max, &n);
        return st ? st : onnx_emit(c, nd, rows[i].op, in, n, 1, NULL, NULL);
    }
    return onnx_node_err(c, nd, AF_ERR_INTERNAL, "no plain mapping");
}

af_status onnx_map_cumsum(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    p.cumsum.exclusive = onnx_attr_i(c, nd, "exclusive", 0) != 0;
    p.cumsum.reverse = onnx_attr_i(c, nd, "reverse", 0) != 0;
    return onnx_emit(c, nd, AF_OP_CUMSUM, in, 2, 1, &p, NULL);
}

af_status onnx_map_d2s(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    int64_t bs = onnx_attr_i(c, nd, "blocksize", 0);
    if (bs < 1 || bs > 4096)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "blocksize %lld out of range", (long long)bs);
    p.d2s.blocksize = (int32_t)bs;
    char mode[16];
    onnx_attr_s(c, nd, "mode", "DCR", mode, sizeof mode);
    if (!strcmp(mode, "CRD")) p.d2s.mode = AF_D2S_CRD;
    else if (strcmp(mode, "DCR"))
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    return onnx_emit(c, nd, (af_op)nd->arg, in, 1, 1, &p, NULL);
}

af_status onnx_map_gather_elements(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    int64_t axis = onnx_attr_i(c, nd, "axis", 0);
    if (axis < -AF_MAX_RANK || axis >= AF_MAX_RANK)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "axis %lld out of range", (long long)axis);
    p.axis.axis = (int32_t)axis;
    return onnx_emit(c, nd, AF_OP_GATHER_ELEMENTS, in, 2, 1, &p, NULL);
}

af_status onnx_map_lrn(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    int64_t size = onnx_attr_i(c, nd, "size", 0);
    if (size < 1 || size > 1024)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "size %lld out of range", (long long)size);
    p.lrn.size = (int32_t)size;
    p.lrn.alpha = onnx_attr_f(c, nd, "alpha", 1e-4f);
    p.lrn.beta = onnx_attr_f(c, nd, "beta", 0.75f);
    p.lrn.bias = onnx_attr_f(c, nd, "bias", 1.0f);
    return onnx_emit(c, nd, AF_OP_LRN, in, 1, 1, &p, NULL);
}

af_status onnx_map_trilu(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 1, 2, &n);
    if (st) return st;
    af_params p = {0};
    p.trilu.upper = onnx_attr_i(c, nd, "upper", 1) != 0;
    return onnx_emit(c, nd, AF_OP_TRILU, in, in[1] >= 0 ? 2 : 1, 1, &p, NULL);
}

af_status onnx_map_thresholded_relu(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.unary.fn = AF_UNARY_THRESHOLDED_RELU;
    p.unary.alpha = onnx_attr_f(c, nd, "alpha", 1.0f);
    return onnx_emit(c, nd, AF_OP_UNARY, in, 1, 1, &p, NULL);
}

/* CastLike: a Cast to the dtype of the second input, which must be known here (a graph input
 * or a constant). */
af_status onnx_map_cast_like(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    const af_tensor *t = &c->g->tensors[in[1]];
    if (t->producer >= 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "target_type '%s' must be a graph input "
                             "or a constant", t->name);
    af_params p = {0};
    p.cast.to = t->dtype;
    return onnx_emit(c, nd, AF_OP_CAST, in, 1, 1, &p, NULL);
}

/* Dropout (inference): y = x; the optional mask output is all true (ones of x's shape). */
af_status onnx_map_dropout(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 1, 3, &n);
    if (st) return st;
    const Onnx__NodeProto *p = nd->p;
    int want_mask = p->n_output > 1 && onnx_consumed(c, p->output[1]);
    if (!want_mask) return onnx_emit(c, nd, AF_OP_IDENTITY, in, 1, 1, NULL, NULL);
    int out[2], shape;
    char base[300];
    snprintf(base, sizeof base, "%s_shape", nd->name);
    st = onnx_define(c, p->output[0], AF_DTYPE_F32, -1, NULL, &out[0]);
    if (!st) st = onnx_define(c, p->output[1], AF_DTYPE_BOOL, -1, NULL, &out[1]);
    if (!st) st = onnx_define_unique(c, base, AF_DTYPE_I64, -1, NULL, &shape);
    if (st) return st;
    af_params sp = {0}, cp = {0};
    sp.shape.end = INT32_MAX;
    cp.const_of_shape.dtype = AF_DTYPE_BOOL;
    cp.const_of_shape.value = 1.0;
    int a = af_graph_add_node(c->g, AF_OP_IDENTITY, nd->name, in, 1, &out[0], 1);
    int b = af_graph_add_node(c->g, AF_OP_SHAPE, base, in, 1, &shape, 1);
    int d = af_graph_add_node(c->g, AF_OP_CONSTANT_OF_SHAPE, p->output[1], &shape, 1, &out[1], 1);
    if (a < 0 || b < 0 || d < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[b].p = sp;
    c->g->nodes[d].p = cp;
    return AF_OK;
}

/* ---- Einsum ------------------------------------------------------------------------------ */

typedef struct einsum_eq {
    char op[2][AF_MAX_RANK + 1], out[AF_MAX_RANK + 1];
    int n_ops;
} einsum_eq;

/* Parses "ab,bc->ac" or "ab,bc" (implicit output); letters only. Returns 0 or -1. */
static int einsum_parse(const char *s, einsum_eq *e)
{
    memset(e, 0, sizeof *e);
    char *dst = e->op[0];
    int len = 0, arrow = 0;
    for (; *s; s++) {
        if (*s == ' ') continue;
        if (*s == ',' && !arrow && e->n_ops == 0) {
            e->n_ops = 1;
            dst = e->op[1];
            len = 0;
        } else if (s[0] == '-' && s[1] == '>' && !arrow) {
            arrow = 1;
            s++;
            dst = e->out;
            len = 0;
        } else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
            if (len >= AF_MAX_RANK || strchr(dst, *s)) return -1;
            dst[len++] = *s;
        } else {
            return -1; /* ellipsis and anything else */
        }
    }
    e->n_ops++;
    if (arrow) return 0;
    /* implicit output: the letters used once, in alphabetical order */
    int len2 = 0;
    for (int ch = 'A'; ch <= 'z'; ch++) {
        int uses = (strchr(e->op[0], ch) != NULL) + (strchr(e->op[1], ch) != NULL);
        if (ch && uses == 1 && len2 < AF_MAX_RANK) e->out[len2++] = (char)ch;
    }
    return 0;
}

/* The permutation that orders letters `from` as `to` (same letter set). */
static int perm_of(const char *from, const char *to, af_params *p)
{
    int r = (int)strlen(from);
    if ((int)strlen(to) != r) return -1;
    memset(p, 0, sizeof *p);
    p->transpose.n_perm = r;
    for (int i = 0; i < r; i++) {
        const char *q = strchr(from, to[i]);
        if (!q) return -1;
        p->transpose.perm[i] = (int32_t)(q - from);
    }
    return 0;
}

static af_status einsum_step(onnx_ctx *c, const onnx_node *nd, int step, af_op op,
                             const int *in, int n_in, const af_params *p, int last, int *out)
{
    if (last) {
        int i;
        af_status st = onnx_emit(c, nd, op, in, n_in, 1, p, &i);
        if (!st) *out = c->g->nodes[i].out[0];
        return st;
    }
    char name[300];
    snprintf(name, sizeof name, "%s_%d", nd->name, step);
    af_status st = onnx_define_unique(c, name, AF_DTYPE_F32, -1, NULL, out);
    if (st) return st;
    int i = af_graph_add_node(c->g, op, name, in, n_in, out, 1);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (p) c->g->nodes[i].p = *p;
    return AF_OK;
}

/* One operand: a transpose ("ij->ji") or a sum over the dropped letters ("ij->i", "ij->"). */
static af_status einsum_unary(onnx_ctx *c, const onnx_node *nd, const einsum_eq *e, int x)
{
    af_params p;
    const char *a = e->op[0];
    int64_t axes[AF_MAX_RANK];
    int na = 0;
    char kept[AF_MAX_RANK + 1] = "";
    for (int i = 0; a[i]; i++) {
        if (strchr(e->out, a[i])) kept[strlen(kept)] = a[i];
        else axes[na++] = i;
    }
    for (int i = 0; e->out[i]; i++)
        if (!strchr(a, e->out[i])) return AF_ERR_UNSUPPORTED;
    int need_t = strcmp(kept, e->out) != 0, cur = x;
    if (na) {
        int in[2] = {x, -1};
        char base[300];
        snprintf(base, sizeof base, "%s_axes", nd->name);
        af_status st = onnx_const_i64(c, base, axes, na, &in[1]);
        memset(&p, 0, sizeof p);
        p.reduce.fn = AF_REDUCE_SUM;
        if (!st) st = einsum_step(c, nd, 0, AF_OP_REDUCE, in, 2, &p, !need_t, &cur);
        if (st) return st;
    }
    if (!need_t && na) return AF_OK;
    if (perm_of(kept, e->out, &p)) return AF_ERR_UNSUPPORTED;
    return einsum_step(c, nd, 1, AF_OP_TRANSPOSE, &cur, 1, &p, 1, &cur);
}

/* Two operands, matmul-like: letters are batch (both + out), m (A + out), n (B + out) or
 * k (A + B, summed); at most one m, n and k each, and a missing m/n only without batch. */
static af_status einsum_binary(onnx_ctx *c, const onnx_node *nd, const einsum_eq *e, int a,
                               int b)
{
    char bat[AF_MAX_RANK + 1] = "", m[2] = "", nn[2] = "", k[2] = "";
    const char *A = e->op[0], *B = e->op[1], *O = e->out;
    for (int i = 0; A[i]; i++) {
        int inb = strchr(B, A[i]) != NULL, ino = strchr(O, A[i]) != NULL;
        char *dst = inb && ino ? bat : ino ? m : inb ? k : NULL;
        if (!dst || (dst != bat && *dst)) return AF_ERR_UNSUPPORTED;
        dst[strlen(dst)] = A[i];
    }
    for (int i = 0; B[i]; i++) {
        if (strchr(A, B[i])) continue;
        if (!strchr(O, B[i]) || *nn) return AF_ERR_UNSUPPORTED;
        nn[0] = B[i];
    }
    for (int i = 0; O[i]; i++)
        if (!strchr(A, O[i]) && !strchr(B, O[i])) return AF_ERR_UNSUPPORTED;
    if (!*k || ((!*m || !*nn) && *bat)) return AF_ERR_UNSUPPORTED;
    char pa[AF_MAX_RANK + 1], pb[AF_MAX_RANK + 1], po[AF_MAX_RANK + 1];
    snprintf(pa, sizeof pa, "%s%s%s", bat, m, k);
    snprintf(pb, sizeof pb, "%s%s%s", bat, k, nn);
    snprintf(po, sizeof po, "%s%s%s", bat, m, nn);
    af_params p;
    af_status st = AF_OK;
    int step = 0, ops[2] = {a, b};
    const char *src[2] = {A, B}, *dst[2] = {pa, pb};
    for (int i = 0; i < 2 && !st; i++)
        if (strcmp(src[i], dst[i])) {
            if (perm_of(src[i], dst[i], &p)) return AF_ERR_UNSUPPORTED;
            st = einsum_step(c, nd, step++, AF_OP_TRANSPOSE, &ops[i], 1, &p, 0, &ops[i]);
        }
    int last = !strcmp(po, O), mm;
    if (!st) st = einsum_step(c, nd, step++, AF_OP_MATMUL, ops, 2, NULL, last, &mm);
    if (st || last) return st;
    if (perm_of(po, O, &p)) return AF_ERR_UNSUPPORTED;
    return einsum_step(c, nd, step, AF_OP_TRANSPOSE, &mm, 1, &p, 1, &mm);
}

af_status onnx_map_einsum(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 1, 2, &n);
    if (st) return st;
    char eq[128];
    einsum_eq e;
    onnx_attr_s(c, nd, "equation", "", eq, sizeof eq);
    if (einsum_parse(eq, &e) || e.n_ops != n)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "equation '%s' is not supported (letters "
                             "only, one or two operands)", eq);
    st = n == 1 ? einsum_unary(c, nd, &e, in[0]) : einsum_binary(c, nd, &e, in[0], in[1]);
    if (st == AF_ERR_UNSUPPORTED && c->err->code == AF_OK)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "equation '%s' is not matmul-like "
                             "(supported: transposes, sums over dropped letters, and two-operand "
                             "products with one contracted letter)", eq);
    return st;
}
