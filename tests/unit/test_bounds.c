/* tests/unit/test_bounds.c — value bounds (lowering/bounds.c) through lowering's fold, on a
 * graph built here: Mask R-CNN's box arithmetic cut down. x f32[5,4] is data (unbounded);
 * Clip(x, 0, 320) and Min(Max(x, 0), 320) (one-sided, then closed) bound it to [0, 320]; row 2
 * of it (Gather), times 30/28 (f32), cast to i64: [0, 342]; w = ReduceMax(Concat(x1 - x0 + 1,
 * 1)): [1, 343], a small integer whose bound's hi becomes its capval (vbound, dynel set).
 * Abs(x) (no rule) and a Div by an interval holding 0 stay unbounded. Bounds are exact but
 * for the product, computed in f32 (checked within 1e-3 of the real 320 * 30 / 28). A Concat
 * of 20 bounded inputs (more than the kernel rule's 16 slots) gets the hull, [0, 320]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lowering/lower.h"

static int tensor(af_graph *g, const char *name, af_dtype dt, int rank, const int64_t *dims)
{
    return af_graph_add_tensor(g, name, dt, rank, dims);
}

static int const_f32(af_graph *g, const char *name, float v)
{
    int t = tensor(g, name, AF_DTYPE_F32, 0, NULL);
    float *d = malloc(sizeof *d);
    *d = v;
    af_tensor_set_data(&g->tensors[t], d);
    return t;
}

static int const_i64(af_graph *g, const char *name, int rank, int64_t v)
{
    int64_t one = 1;
    int t = tensor(g, name, AF_DTYPE_I64, rank, rank ? &one : NULL);
    int64_t *d = malloc(sizeof *d);
    *d = v;
    af_tensor_set_data(&g->tensors[t], d);
    return t;
}

static int node(af_graph *g, af_op op, const int *in, int n_in, const char *out, af_params p)
{
    int y = tensor(g, out, AF_DTYPE_F32, -1, NULL);
    int i = af_graph_add_node(g, op, out, in, n_in, &y, 1);
    g->nodes[i].p = p;
    return y;
}

static af_params binary(int fn) { af_params p = {0}; p.binary.fn = fn; return p; }

static af_params unary(int fn) { af_params p = {0}; p.unary.fn = fn; return p; }

static void check_hull(const af_graph *g, int t, double lo, double hi, double tol)
{
    const af_tensor *x = &g->tensors[t];
    CHECK(x->vb_n > 0, "'%s' has no bounds", x->name);
    if (!x->vb_n) return;
    double a = INFINITY, b = -INFINITY;
    for (int64_t e = 0; e < x->vb_n; e++) a = fmin(a, x->vb[2 * e]), b = fmax(b, x->vb[2 * e + 1]);
    CHECK(fabs(a - lo) <= tol && fabs(b - hi) <= tol, "'%s': [%g, %g], want [%g, %g]", x->name,
          a, b, lo, hi);
}

int main(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t dx[2] = {5, 4};
    int x = tensor(&g, "x", AF_DTYPE_F32, 2, dx);
    af_graph_add_input(&g, x);
    int zero = const_f32(&g, "zero", 0.0f), top = const_f32(&g, "top", 320.0f);
    int clip = node(&g, AF_OP_UNARY, (int[]){x, zero, top}, 3, "clip", unary(AF_UNARY_CLIP));
    int mx = node(&g, AF_OP_BINARY, (int[]){x, zero}, 2, "max0", binary(AF_BINARY_MAX));
    int mn = node(&g, AF_OP_BINARY, (int[]){mx, top}, 2, "min320", binary(AF_BINARY_MIN));
    af_params pg = {0};
    pg.axis.axis = 0;
    int row = node(&g, AF_OP_GATHER, (int[]){clip, const_i64(&g, "two", 0, 2)}, 2, "row", pg);
    int k = const_f32(&g, "k", 30.0f / 28.0f);
    int big = node(&g, AF_OP_BINARY, (int[]){row, k}, 2, "big", binary(AF_BINARY_MUL));
    af_params pc = {0};
    pc.cast.to = AF_DTYPE_I64;
    int ib = node(&g, AF_OP_CAST, (int[]){big}, 1, "ibox", pc);
    int x0 = node(&g, AF_OP_GATHER, (int[]){ib, const_i64(&g, "i0", 1, 0)}, 2, "x0", pg);
    int x1 = node(&g, AF_OP_GATHER, (int[]){ib, const_i64(&g, "i2", 1, 2)}, 2, "x1", pg);
    int one = const_i64(&g, "one", 1, 1);
    int dw = node(&g, AF_OP_BINARY, (int[]){x1, x0}, 2, "dw", binary(AF_BINARY_SUB));
    int w1 = node(&g, AF_OP_BINARY, (int[]){dw, one}, 2, "w1", binary(AF_BINARY_ADD));
    int wc = node(&g, AF_OP_CONCAT, (int[]){w1, one}, 2, "wc", pg);
    af_params pr = {0};
    pr.reduce.fn = AF_REDUCE_MAX;
    pr.reduce.keepdims = 1;
    int w = node(&g, AF_OP_REDUCE, (int[]){wc}, 1, "w", pr);
    int ab = node(&g, AF_OP_UNARY, (int[]){x}, 1, "abs", unary(AF_UNARY_ABS));
    int dv = node(&g, AF_OP_BINARY, (int[]){clip, clip}, 2, "div", binary(AF_BINARY_DIV));
    int many[20]; /* more inputs than the corner set holds: the hull rule, no overrun */
    for (int i = 0; i < 20; i++) many[i] = clip;
    int cat = node(&g, AF_OP_CONCAT, many, 20, "cat20", pg);
    int outs[] = {mn, w, ab, dv, cat};
    for (int i = 0; i < 5; i++) af_graph_add_output(&g, outs[i]);
    af_err err = {0};
    af_status st = af_lower_fold(&g, NULL, &err);
    CHECK(st == AF_OK, "fold: %s", err.msg);
    if (st) return check_report("test_bounds");
    check_hull(&g, clip, 0, 320, 0);
    check_hull(&g, mn, 0, 320, 0);
    check_hull(&g, row, 0, 320, 0);
    check_hull(&g, big, 0, 320.0 * 30 / 28, 1e-3); /* the f32 product */
    check_hull(&g, ib, 0, 342, 0);
    check_hull(&g, dw, -342, 342, 0);
    check_hull(&g, w, 1, 343, 0);
    check_hull(&g, cat, 0, 320, 0);
    const af_tensor *tw = &g.tensors[w];
    CHECK(tw->vbound && tw->capval && tw->dynel == 1 && *(const int64_t *)tw->capval == 343,
          "w: vbound %d, capval %lld, dynel %llx", tw->vbound,
          tw->capval ? (long long)*(const int64_t *)tw->capval : -1LL,
          (unsigned long long)tw->dynel);
    CHECK(g.tensors[mx].vb_n == 1 && g.tensors[mx].vb[0] == 0 && isinf(g.tensors[mx].vb[1]),
          "max0: one-sided [0, inf]");
    CHECK(!g.tensors[ab].vb_n && !g.tensors[ab].capval, "abs: no rule, no bounds");
    CHECK(!g.tensors[dv].vb_n, "div by [0, 320]: no bounds");
    CHECK(!g.tensors[x].vb_n, "the input: no bounds");
    af_graph_free(&g);
    return check_report("test_bounds");
}
