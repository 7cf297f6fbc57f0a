/* lowering/bounds.c — value bounds of non-constant tensors (docs/dynamic-shapes.md, "Shapes
 * computed from values").
 *
 * A detection's box is data, yet Mask R-CNN and Keypoint R-CNN size a Resize, a ConstantOfShape
 * and Slices from it. What makes that plannable is a bound: clip_boxes_to_image puts every
 * coordinate in [0, W]. Interval arithmetic carries such bounds from the ops that make them
 * (Clip, Min/Max/ReduceMin/ReduceMax against constants, Shape: an extent lies in [0, capacity])
 * through moves (Gather, Slice, Concat, Reshape, ...), monotone arithmetic (Add, Sub, Neg, Mul
 * and Div, Ceil/Floor/Round, Cast, Relu, Exp, ...) to the parameter that needs them.
 *
 * The arithmetic is done by the runtime's own kernels at capacity: for an op non-decreasing in
 * every input, the kernel on all the inputs' lower bounds gives the output's lower bound, on the
 * upper bounds its upper bound (Sub takes the other bound of its second input, Neg of its only
 * one; Mul and Div, monotone in each input separately, take the extremes of every corner).
 * Rounding is monotone too, so the bounds hold for the runtime's own f32 and integer results.
 * Bounds are per element for small tensors without data-dependent axes (their elements keep
 * their places on every run) and one interval for the whole tensor otherwise.
 *
 * A small integer tensor with a bound (lo < hi somewhere) also gets capval = hi and vbound = 1:
 * the parameters that take values computed from extents (graph/shape_dyn.c sh_cap_ints) then
 * size their output by hi and read the value on every run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"
#include "lower.h"

#define VB_PER_ELEM 64        /* at most this many elements: a bound per element */
#define VB_MAX_ELEMS (1 << 22) /* larger tensors are not evaluated (moves still take the hull) */
#define VB_EXACT 9007199254740992.0 /* 2^53: integers exact in a double */

enum { STRUCT = 0, UP = 1, DOWN = 2, BOTH = 3 }; /* how an input moves the output */
enum { RULE_NONE, RULE_KERNEL, RULE_HULL };

static double bound_at(const af_tensor *t, int64_t e, int hi)
{
    if (t->data) return af_dtype_get(t->dtype, t->data, (size_t)e);
    return t->vb[2 * (t->vb_n == 1 ? 0 : e) + hi];
}

/* The whole tensor's interval ([-inf, inf] when it has none). */
static void hull_of(const af_tensor *t, double *lo, double *hi)
{
    int64_t m = t->data ? af_tensor_numel(t) : t->vb_n;
    *lo = m ? INFINITY : -INFINITY, *hi = m ? -INFINITY : INFINITY;
    for (int64_t e = 0; e < m; e++) {
        double a = bound_at(t, e, 0), b = bound_at(t, e, 1);
        *lo = a < *lo ? a : *lo;
        *hi = b > *hi ? b : *hi;
    }
}

static int numeric(af_dtype t)
{
    return t == AF_DTYPE_F32 || t == AF_DTYPE_I64 || t == AF_DTYPE_I32 || t == AF_DTYPE_I16 ||
           t == AF_DTYPE_I8 || t == AF_DTYPE_U8;
}

static int unary_dir(int fn)
{
    switch (fn) {
    case AF_UNARY_IDENTITY: case AF_UNARY_RELU: case AF_UNARY_CLIP: case AF_UNARY_SIGMOID:
    case AF_UNARY_EXP: case AF_UNARY_FLOOR: case AF_UNARY_CEIL: case AF_UNARY_ROUND:
    case AF_UNARY_TANH:
        return UP;
    case AF_UNARY_NEG: return DOWN;
    default: return -1;
    }
}

/* The rule for node n and how each input moves its output (dir[k]); RULE_HULL: the output's
 * values are some of the inputs' in dir[k] != STRUCT (any place), so their hull bounds it. */
static int rule_of(const af_graph *g, const af_node *n, int *dir)
{
    for (int k = 0; k < n->n_in; k++) dir[k] = STRUCT;
    switch (n->op) {
    case AF_OP_IDENTITY: case AF_OP_RESHAPE: case AF_OP_TRANSPOSE: case AF_OP_SPLIT:
    case AF_OP_SLICE: case AF_OP_GATHER: case AF_OP_GATHER_ELEMENTS: case AF_OP_GATHER_ND:
    case AF_OP_EXPAND: case AF_OP_TILE:
        dir[0] = UP;
        return RULE_KERNEL;
    case AF_OP_CONCAT:
        for (int k = 0; k < n->n_in; k++) dir[k] = UP;
        return RULE_KERNEL;
    case AF_OP_CAST:
        dir[0] = UP;
        return numeric(g->tensors[n->out[0]].dtype) ? RULE_KERNEL : RULE_NONE;
    case AF_OP_WHERE: case AF_OP_SELECT:
        dir[1] = dir[2] = UP;
        return n->n_in == 3 ? RULE_HULL : RULE_NONE;
    case AF_OP_TOPK:
        dir[0] = UP;
        return RULE_HULL; /* values only: the indices output stays unbounded */
    case AF_OP_UNARY:
        dir[0] = unary_dir(n->p.unary.fn);
        return dir[0] < 0 || n->n_in != 1 ? RULE_NONE : RULE_KERNEL;
    case AF_OP_REDUCE:
        dir[0] = UP;
        return (n->p.reduce.fn == AF_REDUCE_MAX || n->p.reduce.fn == AF_REDUCE_MIN) &&
                       n->n_in == 1 && !g->tensors[n->in[0]].dyn ? RULE_KERNEL : RULE_NONE;
    case AF_OP_BINARY:
        if (n->n_in != 2) return RULE_NONE;
        switch (n->p.binary.fn) {
        case AF_BINARY_ADD: case AF_BINARY_MAX: case AF_BINARY_MIN:
            dir[0] = dir[1] = UP;
            return RULE_KERNEL;
        case AF_BINARY_SUB:
            dir[0] = UP, dir[1] = DOWN;
            return RULE_KERNEL;
        case AF_BINARY_MUL: case AF_BINARY_DIV:
            dir[0] = dir[1] = BOTH;
            return RULE_KERNEL;
        default: return RULE_NONE;
        }
    default: return RULE_NONE;
    }
}

/* A copy of t's lower (hi = 0) or upper bounds as a tensor of its dtype and shape. */
static void *corner_data(const af_tensor *t, int hi)
{
    int64_t m = af_tensor_numel(t);
    if (t->data) return NULL; /* the constant itself */
    void *d = malloc((size_t)(m > 0 ? m : 1) * af_dtype_size(t->dtype));
    for (int64_t e = 0; d && e < m; e++) af_dtype_set(t->dtype, d, (size_t)e, bound_at(t, e, hi));
    return d;
}

enum { CORNER_IO = 16 }; /* inputs and outputs a corner set holds; larger nodes take the hull */

typedef struct corner_set { /* one run of the kernel per corner, outputs folded in lo/hi */
    af_tview in[CORNER_IO], out[CORNER_IO];
    void *lo_in[CORNER_IO], *hi_in[CORNER_IO];
    double *lo[CORNER_IO], *hi[CORNER_IO];
    int64_t m[CORNER_IO];
} corner_set;

/* Runs the kernel with input k on its upper bounds where (pick >> k) & 1, else its lower, and
 * folds the outputs into lo (side 0) or hi (side 1). 0 when the kernel fails. */
static int run_corner(const af_graph *g, const af_node *n, corner_set *c, unsigned pick,
                      int side)
{
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        const af_tensor *t = &g->tensors[n->in[k]];
        c->in[k].data = t->data ? t->data : ((pick >> k & 1u) ? c->hi_in[k] : c->lo_in[k]);
    }
    af_err err = {0};
    if (af_half_kernel_run(n, c->in, c->out, &err) != AF_OK) return 0;
    for (int k = 0; k < n->n_out; k++) {
        const af_tview *o = &c->out[k];
        for (int64_t e = 0; e < c->m[k]; e++) {
            double v = af_dtype_get(o->dtype, o->data, (size_t)e);
            if (side == 0 && !(v >= c->lo[k][e])) c->lo[k][e] = v; /* NaN poisons the bound */
            if (side == 1 && !(v <= c->hi[k][e])) c->hi[k][e] = v;
        }
    }
    return 1;
}

/* The picks of one side: UP inputs at that side's bound, DOWN at the other, BOTH at either. */
static int eval_corners(const af_graph *g, const af_node *n, const int *dir, corner_set *c)
{
    int both[CORNER_IO], nb = 0;
    unsigned base[2] = {0, 0};
    for (int k = 0; k < n->n_in; k++) {
        if (dir[k] == UP) base[1] |= 1u << k;
        if (dir[k] == DOWN) base[0] |= 1u << k;
        if (dir[k] == BOTH) both[nb++] = k;
    }
    for (int side = 0; side < 2; side++)
        for (unsigned b = 0; b < (1u << nb); b++) {
            unsigned pick = base[side];
            for (int j = 0; j < nb; j++)
                if (b >> j & 1u) pick |= 1u << both[j];
            if (!run_corner(g, n, c, pick, side)) return 0;
        }
    return 1;
}

/* Division by an interval holding 0 has no bound (and an integer one would trap). */
static int divisor_ok(const af_graph *g, const af_node *n)
{
    if (n->op != AF_OP_BINARY || n->p.binary.fn != AF_BINARY_DIV) return 1;
    double lo, hi;
    hull_of(&g->tensors[n->in[1]], &lo, &hi);
    return lo > 0 || hi < 0;
}

static void set_bounds(af_tensor *t, double *lo, double *hi, int64_t m, int per_elem);

/* n_in / n_out may exceed the set's slots (the node was refused): free what exists. */
static void corner_free(corner_set *c, int n_in, int n_out)
{
    if (n_in > CORNER_IO) n_in = CORNER_IO;
    if (n_out > CORNER_IO) n_out = CORNER_IO;
    for (int k = 0; k < n_in; k++) free(c->lo_in[k]), free(c->hi_in[k]);
    for (int k = 0; k < n_out; k++) free(c->out[k].data), free(c->lo[k]), free(c->hi[k]);
}

static int kernel_rule(af_graph *g, af_node *n, const int *dir)
{
    corner_set c;
    int ok = n->n_in <= CORNER_IO && n->n_out <= CORNER_IO && divisor_ok(g, n), small = 1;
    memset(&c, 0, sizeof c);
    for (int k = 0; ok && k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        const af_tensor *t = &g->tensors[n->in[k]];
        int64_t m = af_tensor_numel(t);
        ok = (t->data || (dir[k] != STRUCT && t->vb_n > 0)) && m >= 0 && m <= VB_MAX_ELEMS;
        c.in[k] = (af_tview){t->dtype, t->rank, {0}, NULL};
        memcpy(c.in[k].dims, t->dims, sizeof t->dims);
        small &= !t->dyn;
        if (ok && !t->data) {
            c.lo_in[k] = corner_data(t, 0), c.hi_in[k] = corner_data(t, 1);
            ok = c.lo_in[k] && c.hi_in[k];
        }
    }
    for (int k = 0; ok && k < n->n_out; k++) {
        const af_tensor *t = &g->tensors[n->out[k]];
        int64_t m = af_tensor_numel(t);
        ok = m >= 0 && m <= VB_MAX_ELEMS && numeric(t->dtype);
        c.out[k] = (af_tview){t->dtype, t->rank, {0}, NULL};
        memcpy(c.out[k].dims, t->dims, sizeof t->dims);
        c.m[k] = m;
        small &= !t->dyn && m <= VB_PER_ELEM;
        if (!ok) break;
        c.out[k].data = calloc((size_t)(m > 0 ? m : 1), af_dtype_size(t->dtype));
        c.lo[k] = malloc(sizeof(double) * (size_t)(m > 0 ? m : 1));
        c.hi[k] = malloc(sizeof(double) * (size_t)(m > 0 ? m : 1));
        ok = c.out[k].data && c.lo[k] && c.hi[k];
        for (int64_t e = 0; ok && e < m; e++) c.lo[k][e] = INFINITY, c.hi[k][e] = -INFINITY;
    }
    if (ok) ok = eval_corners(g, n, dir, &c);
    for (int k = 0; ok && k < n->n_out; k++)
        set_bounds(&g->tensors[n->out[k]], c.lo[k], c.hi[k], c.m[k], small);
    corner_free(&c, n->n_in, n->n_out);
    return ok;
}

/* Shape of a tensor with data-dependent axes: each extent in [0, capacity]. */
static void shape_rule(af_graph *g, af_node *n)
{
    af_tensor *y = &g->tensors[n->out[0]];
    int64_t m = af_tensor_numel(y);
    double lo[VB_PER_ELEM], hi[VB_PER_ELEM];
    if (!y->capval || y->vbound || m < 1 || m > VB_PER_ELEM) return;
    for (int64_t e = 0; e < m; e++) {
        hi[e] = (double)((const int64_t *)y->capval)[e];
        lo[e] = (y->dynel >> e & 1u) ? 0 : hi[e];
    }
    set_bounds(y, lo, hi, m, 1);
}

/* Stores [lo, hi] on t (one interval when !per_elem; an infinite end: one-sided). A small
 * integer tensor whose finite bounds leave room gets capval = hi (see the top of the file). */
static void set_bounds(af_tensor *t, double *lo, double *hi, int64_t m, int per_elem)
{
    double a = INFINITY, b = -INFINITY;
    int finite = 1;
    for (int64_t e = 0; e < m; e++) {
        if (lo[e] <= -VB_EXACT) lo[e] = -INFINITY;
        if (hi[e] >= VB_EXACT) hi[e] = INFINITY;
        if (!(lo[e] <= hi[e])) return; /* NaN, or an empty interval: something is off */
        finite &= isfinite(lo[e]) && isfinite(hi[e]);
        a = lo[e] < a ? lo[e] : a;
        b = hi[e] > b ? hi[e] : b;
    }
    int64_t nb = per_elem ? m : 1;
    if (m < 1 || t->data || (isinf(a) && isinf(b))) return;
    double *vb = malloc(sizeof(double) * 2 * (size_t)nb);
    if (!vb) return;
    for (int64_t e = 0; e < nb; e++) {
        vb[2 * e] = per_elem ? lo[e] : a;
        vb[2 * e + 1] = per_elem ? hi[e] : b;
    }
    free(t->vb);
    t->vb = vb;
    t->vb_n = nb;
    int ints = t->dtype == AF_DTYPE_I64 || t->dtype == AF_DTYPE_I32;
    m = af_tensor_numel(t);
    if (!finite || !ints || t->dyn || m < 1 || m > VB_PER_ELEM || (t->capval && !t->vbound))
        return;
    uint64_t del = 0;
    for (int64_t e = 0; e < m; e++)
        if (vb[2 * (nb == 1 ? 0 : e)] < vb[2 * (nb == 1 ? 0 : e) + 1]) del |= 1ull << e;
    void *cv = del ? malloc((size_t)m * af_dtype_size(t->dtype)) : NULL;
    if (!cv) return;
    for (int64_t e = 0; e < m; e++)
        af_dtype_set(t->dtype, cv, (size_t)e, vb[2 * (nb == 1 ? 0 : e) + 1]);
    free(t->capval);
    t->capval = cv;
    t->dynel = del;
    t->vbound = 1;
}

static int finite_bounds(const af_tensor *t)
{
    if (t->data) return 1;
    for (int64_t e = 0; e < 2 * t->vb_n; e++)
        if (!isfinite(t->vb[e])) return 0;
    return t->vb_n > 0;
}

static double unary_at(int fn, double v, const af_unary_params *p)
{
    switch (fn) {
    case AF_UNARY_RELU: return v > 0 ? v : 0;
    case AF_UNARY_CLIP: return v < p->alpha ? p->alpha : v > p->beta ? p->beta : v;
    case AF_UNARY_SIGMOID: return 1 / (1 + exp(-v));
    case AF_UNARY_EXP: return exp(v);
    case AF_UNARY_FLOOR: return floor(v);
    case AF_UNARY_CEIL: return ceil(v);
    case AF_UNARY_ROUND: return nearbyint(v);
    case AF_UNARY_TANH: return tanh(v);
    case AF_UNARY_NEG: return -v;
    default: return v;
    }
}

/* The f32 values nearest v from below and from above (an f32 result of monotone arithmetic on
 * f32 values within bounds lies within the same arithmetic, rounded the same, on the bounds). */
static double f32_down(double v)
{
    float f = (float)v;
    return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

static double f32_up(double v)
{
    float f = (float)v;
    return (double)f < v ? nextafterf(f, INFINITY) : f;
}

/* a op b, in f32 when f32 (as the kernel computes it), else in doubles. */
static double arith(int fn, double a, double b, int f32)
{
    switch (fn) {
    case AF_BINARY_ADD: return f32 ? (double)((float)a + (float)b) : a + b;
    case AF_BINARY_SUB: return f32 ? (double)((float)a - (float)b) : a - b;
    case AF_BINARY_MUL: return f32 ? (double)((float)a * (float)b) : a * b;
    default: return f32 ? (double)((float)a / (float)b) : a / b;
    }
}

/* [lo, hi] of a op b over the corners of two intervals (NaN: none, as 0 * inf). */
static int corners(int fn, const double *a, const double *b, int f32, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < 4; i++) {
        double v = arith(fn, a[i >> 1], b[i & 1], f32);
        if (isnan(v)) return 0;
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
    return 1;
}

/* One interval for the whole output from the inputs' hulls, in doubles: the path for bounds
 * that are one-sided (Max(x, 0): [0, inf]) or inputs with none (Clip of anything). */
static void interval_rule(af_graph *g, af_node *n, const int *dir, int r)
{
    double lo[2] = {0, 0}, hi[2] = {0, 0}, a = INFINITY, b = -INFINITY;
    int v = 0;
    for (int k = 0; k < n->n_in; k++) {
        if (dir[k] == STRUCT) continue;
        const af_tensor *t = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
        double x = -INFINITY, y = INFINITY;
        if (t) hull_of(t, &x, &y);
        if (v < 2) lo[v] = x, hi[v] = y;
        v++;
        a = x < a ? x : a;
        b = y > b ? y : b;
    }
    af_tensor *o = &g->tensors[n->out[0]];
    int f32 = o->dtype == AF_DTYPE_F32, approx = 0;
    for (int k = 0; f32 && k < 2; k++) lo[k] = f32_down(lo[k]), hi[k] = f32_up(hi[k]);
    if (n->op == AF_OP_UNARY) {
        int fn = n->p.unary.fn;
        double p = unary_at(fn, lo[0], &n->p.unary), q = unary_at(fn, hi[0], &n->p.unary);
        a = p < q ? p : q, b = p < q ? q : p;
        approx = fn == AF_UNARY_EXP || fn == AF_UNARY_SIGMOID || fn == AF_UNARY_TANH;
    } else if (n->op == AF_OP_CAST) { /* to an integer: truncated; to f32: rounded */
        a = f32 ? f32_down(a) : trunc(a), b = f32 ? f32_up(b) : trunc(b);
    } else if (n->op == AF_OP_BINARY) {
        int fn = n->p.binary.fn;
        if (fn == AF_BINARY_ADD) a = arith(fn, lo[0], lo[1], f32), b = arith(fn, hi[0], hi[1], f32);
        else if (fn == AF_BINARY_SUB)
            a = arith(fn, lo[0], hi[1], f32), b = arith(fn, hi[0], lo[1], f32);
        else if (fn == AF_BINARY_MAX) a = fmax(lo[0], lo[1]), b = fmax(hi[0], hi[1]);
        else if (fn == AF_BINARY_MIN) a = fmin(lo[0], lo[1]), b = fmin(hi[0], hi[1]);
        else if (fn == AF_BINARY_DIV && !(lo[1] > 0 || hi[1] < 0)) return;
        else {
            double x[2] = {lo[0], hi[0]}, y[2] = {lo[1], hi[1]};
            if (!corners(fn, x, y, f32, &a, &b)) return;
            if (!f32) a = trunc(a), b = trunc(b);
        }
    } else if (r != RULE_HULL && n->op != AF_OP_CONCAT && dir[0] != UP) {
        return;
    } else if (n->op == AF_OP_REDUCE) {
        if (g->tensors[n->in[0]].dyn) return; /* over no rows: the identity */
    }
    if (approx) { /* the kernels' exp/sigmoid/tanh are within a few ulps, not rounded exactly */
        a -= fabs(a) * 1e-6;
        b += fabs(b) * 1e-6;
    }
    if (isnan(a) || isnan(b) || (isinf(a) && isinf(b))) return;
    set_bounds(o, &a, &b, 1, 0);
}

void af_bounds_node(af_graph *g, int i)
{
    af_node *n = &g->nodes[i];
    int dir[64], any = 0;
    if (n->op == AF_OP_SHAPE) {
        shape_rule(g, n);
        return;
    }
    if (n->n_in > 64) return;
    int r = rule_of(g, n, dir);
    if (r == RULE_NONE) return;
    for (int k = 0; k < n->n_in; k++) {
        const af_tensor *t = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
        if (dir[k] == STRUCT || !t || t->data) continue;
        any |= finite_bounds(t) ? 1 : 3;
    }
    if (!any) return; /* constants only: folded */
    if (r == RULE_KERNEL && any == 1 && kernel_rule(g, n, dir)) return;
    interval_rule(g, n, dir, r);
}
