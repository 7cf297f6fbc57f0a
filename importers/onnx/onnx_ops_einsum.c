/* importers/onnx/onnx_ops_einsum.c — Einsum (1-2 operands) as IR nodes at import.
 *
 * The equation is parsed into letter strings, '...' expanded into fresh letters (which needs the
 * operand's rank at import: graph inputs with a declared shape and constants), an implicit
 * output filled in as numpy does (the ellipsis letters, then the letters used once, sorted).
 * Each operand is then rewritten step by step into IR nodes:
 *   diagonal   a letter repeated in an operand ("ii->i", "...ii->...i"): both axes moved last
 *              (TRANSPOSE), everything but the diagonal zeroed by TRILU lower then TRILU upper,
 *              and the last axis summed (REDUCE sum; exact, the other terms are zeros);
 *   sum out    a letter only one operand has and the output lacks: REDUCE sum;
 *   unary      what remains is a transpose;
 *   binary     matmul-like: letters are batch (both + out), m (A + out), n (B + out) or k
 *              (A + B, summed); at most one m, n and k each: TRANSPOSE both to (batch, m, k) @
 *              (batch, k, n) with a missing m/k/n as a size-1 axis (RESHAPE unsqueeze), MATMUL,
 *              squeeze those axes, TRANSPOSE to the output.
 */
#include "onnx_internal.h"

#include <stdio.h>
#include <string.h>

#define EQ_LEN (AF_MAX_RANK + 2)

typedef struct einsum_eq {
    char op[2][EQ_LEN], out[EQ_LEN]; /* '.' marks an ellipsis until einsum_expand */
    int n_ops, arrow;
} einsum_eq;

static int is_letter(int ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/* Parses "ab,bc->ac", "ab,bc" (implicit output) and '...' (once per term). Returns 0 or -1. */
static int einsum_parse(const char *s, einsum_eq *e)
{
    memset(e, 0, sizeof *e);
    char *dst = e->op[0];
    int len = 0;
    for (; *s; s++) {
        if (*s == ' ') continue;
        if (*s == ',' && !e->arrow && e->n_ops == 0) {
            e->n_ops = 1;
            dst = e->op[1];
            len = 0;
        } else if (s[0] == '-' && s[1] == '>' && !e->arrow) {
            e->arrow = 1;
            s++;
            dst = e->out;
            len = 0;
        } else if (!strncmp(s, "...", 3) && !strchr(dst, '.') && len < EQ_LEN - 1) {
            dst[len++] = '.';
            s += 2;
        } else if (is_letter(*s) && len < EQ_LEN - 1 && !(dst == e->out && strchr(dst, *s))) {
            dst[len++] = *s;
        } else {
            return -1; /* anything else, a repeated output letter, or too many axes */
        }
    }
    e->n_ops++;
    return 0;
}

static int count_of(const einsum_eq *e, int ch)
{
    int n = 0;
    for (int k = 0; k < e->n_ops; k++)
        for (const char *q = e->op[k]; *q; q++) n += *q == ch;
    return n;
}

/* Replaces '.' in term t by the last `take` of the nf fresh letters. Returns 0 or -1. */
static int splice(char *t, const char *fresh, int nf, int take)
{
    char buf[EQ_LEN];
    const char *dot = strchr(t, '.');
    if (!dot) return 0;
    int at = (int)(dot - t), n = snprintf(buf, sizeof buf, "%.*s%s%s", at, t, fresh + nf - take,
                                          dot + 1);
    if (n < 0 || n > AF_MAX_RANK) return -1;
    memcpy(t, buf, (size_t)n + 1);
    return 0;
}

/* Expands '...' given the operands' ranks (-1: unknown) and fills an implicit output.
 * Returns 0, -1 (does not fit the ranks) or -2 (an ellipsis on an operand of unknown rank). */
static int einsum_expand(einsum_eq *e, const int *rank)
{
    int ell[2] = {0, 0}, nf = 0, any = 0;
    if ((int)strlen(e->out) - (strchr(e->out, '.') != NULL) > AF_MAX_RANK) return -1;
    for (int k = 0; k < e->n_ops; k++) {
        int letters = (int)strlen(e->op[k]) - (strchr(e->op[k], '.') != NULL);
        if (letters > AF_MAX_RANK) return -1; /* more axes than any tensor has */
        if (!strchr(e->op[k], '.')) {
            if (rank[k] >= 0 && rank[k] != letters) return -1;
            continue;
        }
        if (rank[k] < 0) return -2;
        ell[k] = rank[k] - letters;
        if (ell[k] < 0) return -1;
        nf = ell[k] > nf ? ell[k] : nf;
        any = 1;
    }
    char fresh[AF_MAX_RANK + 1] = "";
    for (int ch = 'A', i = 0; i < nf && ch <= 'z'; ch++)
        if (is_letter(ch) && !count_of(e, ch) && !strchr(e->out, ch)) fresh[i++] = (char)ch;
    if ((int)strlen(fresh) < nf) return -1;
    if (!e->arrow) { /* numpy: the ellipsis, then the letters used once, sorted */
        int len = 0;
        if (any) e->out[len++] = '.';
        for (int ch = 'A'; ch <= 'z'; ch++)
            if (is_letter(ch) && count_of(e, ch) == 1 && len < EQ_LEN - 1) e->out[len++] = (char)ch;
    }
    for (int k = 0; k < e->n_ops; k++)
        if (splice(e->op[k], fresh, nf, ell[k])) return -1;
    if (splice(e->out, fresh, nf, nf)) return -1;
    return strlen(e->out) > AF_MAX_RANK ? -1 : 0;
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

/* Adds one IR node; the last step of the equation writes the ONNX output. */
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
    int t; /* out may alias in */
    af_status st = onnx_define_unique(c, name, AF_DTYPE_F32, -1, NULL, &t);
    if (st) return st;
    int i = af_graph_add_node(c->g, op, name, in, n_in, &t, 1);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (p) c->g->nodes[i].p = *p;
    *out = t;
    return AF_OK;
}

/* One step op(*x, axes) whose second input is the i64 constant axes[0..na). */
static af_status einsum_axes_step(onnx_ctx *c, const onnx_node *nd, int *step, af_op op,
                                  const af_params *p, const int64_t *axes, int na, int last,
                                  int *x)
{
    int in[2] = {*x, -1};
    char base[300];
    snprintf(base, sizeof base, "%s_axes", nd->name);
    af_status st = onnx_const_i64(c, base, axes, na, &in[1]);
    return st ? st : einsum_step(c, nd, (*step)++, op, in, 2, p, last, x);
}

/* REDUCE sum of *x over the given axes (never the last step: the caller maps the rest). */
static af_status einsum_sum(onnx_ctx *c, const onnx_node *nd, int *step, const int64_t *axes,
                            int na, int last, int *x)
{
    af_params p;
    memset(&p, 0, sizeof p);
    p.reduce.fn = AF_REDUCE_SUM;
    return einsum_axes_step(c, nd, step, AF_OP_REDUCE, &p, axes, na, last, x);
}

/* Takes diagonals until no letter repeats in l (the operand's letters, updated). */
static af_status einsum_diag(onnx_ctx *c, const onnx_node *nd, int *step, char *l, int *x)
{
    for (int q = 1; l[q]; q++) {
        const char *first = memchr(l, l[q], (size_t)q);
        if (!first) continue;
        int pos = (int)(first - l), r = (int)strlen(l), w = 0;
        char order[EQ_LEN];
        af_params p;
        memset(&p, 0, sizeof p);
        p.transpose.n_perm = r;
        for (int i = 0; i < r; i++)
            if (i != pos && i != q) order[w] = l[i], p.transpose.perm[w++] = i;
        order[w] = l[q], p.transpose.perm[w++] = pos;
        p.transpose.perm[w++] = q;
        order[w - 1] = '\0';
        af_status st = AF_OK;
        if (pos != r - 2 || q != r - 1)
            st = einsum_step(c, nd, (*step)++, AF_OP_TRANSPOSE, x, 1, &p, 0, x);
        for (int upper = 0; upper < 2 && !st; upper++) { /* keep j <= i, then j >= i */
            memset(&p, 0, sizeof p);
            p.trilu.upper = upper;
            st = einsum_step(c, nd, (*step)++, AF_OP_TRILU, x, 1, &p, 0, x);
        }
        int64_t last_axis = r - 1;
        if (!st) st = einsum_sum(c, nd, step, &last_axis, 1, 0, x);
        if (st) return st;
        memcpy(l, order, (size_t)w);
        q = 0; /* rescan the shorter string */
    }
    return AF_OK;
}

/* Sums out the letters of l found neither in `other` nor in the output (l updated); last: this
 * is the equation's final step. */
static af_status einsum_sum_out(onnx_ctx *c, const onnx_node *nd, int *step, char *l,
                                const char *other, const char *out, int last, int *x)
{
    int64_t axes[AF_MAX_RANK];
    int na = 0, w = 0;
    for (int i = 0; l[i]; i++) {
        if (strchr(other, l[i]) || strchr(out, l[i])) l[w++] = l[i];
        else axes[na++] = i;
    }
    l[w] = '\0';
    return na ? einsum_sum(c, nd, step, axes, na, last, x) : AF_OK;
}

/* One operand (diagonals taken): sums over the dropped letters, then a transpose. */
static af_status einsum_unary(onnx_ctx *c, const onnx_node *nd, einsum_eq *e, int *step, int x)
{
    char *a = e->op[0];
    for (int i = 0; e->out[i]; i++)
        if (!strchr(a, e->out[i])) return AF_ERR_UNSUPPORTED;
    size_t len = strlen(a);
    char kept[EQ_LEN];
    memcpy(kept, a, len + 1);
    int w = 0;
    for (int i = 0; kept[i]; i++) w += strchr(e->out, kept[i]) != NULL;
    int need_t = 0;
    for (int i = 0, j = 0; kept[i]; i++)
        if (strchr(e->out, kept[i])) need_t |= e->out[j++] != kept[i];
    int summed = w != (int)len;
    af_status st = einsum_sum_out(c, nd, step, kept, "", e->out, !need_t, &x);
    if (st || (summed && !need_t)) return st;
    af_params p;
    if (perm_of(kept, e->out, &p)) return AF_ERR_UNSUPPORTED;
    return einsum_step(c, nd, (*step)++, AF_OP_TRANSPOSE, &x, 1, &p, 1, &x);
}

/* RESHAPE squeeze / unsqueeze of *x over the given axes (kind af_reshape_kind). */
static af_status einsum_squeeze(onnx_ctx *c, const onnx_node *nd, int *step, int kind,
                                const int64_t *axes, int na, int last, int *x)
{
    af_params p;
    memset(&p, 0, sizeof p);
    p.reshape.kind = kind;
    return einsum_axes_step(c, nd, step, AF_OP_RESHAPE, &p, axes, na, last, x);
}

/* Sorts letters into batch (A, B and out), m (A and out), n (B and out) and k (A and B).
 * Returns -1 unless there is at most one m, n and k letter and every output letter is used. */
static int classify(const einsum_eq *e, char *bat, char *m, char *nn, char *k)
{
    const char *A = e->op[0], *B = e->op[1], *O = e->out;
    for (int i = 0; A[i]; i++) {
        int inb = strchr(B, A[i]) != NULL, ino = strchr(O, A[i]) != NULL;
        char *dst = inb && ino ? bat : ino ? m : inb ? k : NULL;
        if (!dst || (dst != bat && *dst)) return -1;
        dst[strlen(dst)] = A[i];
    }
    for (int i = 0; B[i]; i++) {
        if (strchr(A, B[i])) continue;
        if (!strchr(O, B[i]) || *nn) return -1;
        nn[0] = B[i];
    }
    for (int i = 0; O[i]; i++)
        if (!strchr(A, O[i]) && !strchr(B, O[i])) return -1;
    return 0;
}

/* Two operands (diagonals taken, single-operand letters summed out), as a batched matmul
 * (bat, m, k) @ (bat, k, n) -> (bat, m, n): a missing m, k or n letter becomes a size-1 axis
 * (unsqueezed before, squeezed after), so "ij,ij->i" and "i,j->ij" are products too. */
static af_status einsum_binary(onnx_ctx *c, const onnx_node *nd, const einsum_eq *e, int *step,
                               int a, int b)
{
    char bat[EQ_LEN] = "", m[2] = "", nn[2] = "", k[2] = "";
    if (classify(e, bat, m, nn, k)) return AF_ERR_UNSUPPORTED;
    char pa[EQ_LEN], pb[EQ_LEN], po[EQ_LEN];
    snprintf(pa, sizeof pa, "%s%s%s", bat, m, k);
    snprintf(pb, sizeof pb, "%s%s%s", bat, k, nn);
    snprintf(po, sizeof po, "%s%s%s", bat, m, nn);
    af_params p;
    af_status st = AF_OK;
    int ops[2] = {a, b}, nb = (int)strlen(bat);
    const char *src[2] = {e->op[0], e->op[1]}, *dst[2] = {pa, pb};
    int64_t ax[2][2] = {{nb, nb + 1}, {nb, nb + 1}}; /* size-1 axes per operand, then output */
    int miss[2][2] = {{!*m, !*k}, {!*k, !*nn}}, sq[2] = {!*m, !*nn};
    for (int i = 0; i < 2 && !st; i++) {
        if (strcmp(src[i], dst[i])) {
            if (perm_of(src[i], dst[i], &p)) return AF_ERR_UNSUPPORTED;
            st = einsum_step(c, nd, (*step)++, AF_OP_TRANSPOSE, &ops[i], 1, &p, 0, &ops[i]);
        }
        int64_t axes[2];
        int na = 0;
        for (int j = 0; j < 2; j++)
            if (miss[i][j]) axes[na++] = ax[i][j];
        if (!st && na)
            st = einsum_squeeze(c, nd, step, AF_RESHAPE_UNSQUEEZE, axes, na, 0, &ops[i]);
    }
    int64_t axes[2];
    int na = 0;
    for (int j = 0; j < 2; j++)
        if (sq[j]) axes[na++] = nb + j;
    int need_t = strcmp(po, e->out) != 0, mm;
    if (!st) st = einsum_step(c, nd, (*step)++, AF_OP_MATMUL, ops, 2, NULL, !na && !need_t, &mm);
    if (!st && na)
        st = einsum_squeeze(c, nd, step, AF_RESHAPE_SQUEEZE, axes, na, !need_t, &mm);
    if (st || !need_t) return st;
    if (perm_of(po, e->out, &p)) return AF_ERR_UNSUPPORTED;
    return einsum_step(c, nd, (*step)++, AF_OP_TRANSPOSE, &mm, 1, &p, 1, &mm);
}

static af_status einsum_map(onnx_ctx *c, const onnx_node *nd, einsum_eq *e, int *in)
{
    int step = 0;
    for (int k = 0; k < e->n_ops; k++) {
        af_status st = einsum_diag(c, nd, &step, e->op[k], &in[k]);
        if (st) return st;
    }
    if (e->n_ops == 1) return einsum_unary(c, nd, e, &step, in[0]);
    for (int k = 0; k < 2; k++) {
        af_status st = einsum_sum_out(c, nd, &step, e->op[k], e->op[1 - k], e->out, 0, &in[k]);
        if (st) return st;
    }
    return einsum_binary(c, nd, e, &step, in[0], in[1]);
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
                             "and '...', one or two operands)", eq);
    int rank[2] = {-1, -1};
    for (int k = 0; k < n; k++) rank[k] = c->g->tensors[in[k]].rank;
    int x = einsum_expand(&e, rank);
    if (x == -2)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "equation '%s': '...' needs the "
                             "operand's rank at import (a graph input with a shape or a "
                             "constant)", eq);
    if (x)
        return onnx_node_err(c, nd, AF_ERR_SHAPE, "equation '%s' does not fit the operands' "
                             "ranks", eq);
    st = einsum_map(c, nd, &e, in);
    if (st == AF_ERR_UNSUPPORTED && c->err->code == AF_OK)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "equation '%s' is not matmul-like "
                             "(supported: diagonals, transposes, sums over dropped letters, "
                             "and two-operand products with at most one letter of A only, of B "
                             "only, and contracted)", eq);
    return st;
}
