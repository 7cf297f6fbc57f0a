/* graph/shape_extra.c — shape inference for expand, where, tile, cumsum, depth/space,
 * gather_elements, lrn, trilu, and the always-folded range and size. */
#include "shape_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* numpy broadcast of dims a (ra) into out (rank *r, initially holding b); -1 if impossible. */
static int bcast_into(int ra, const int64_t *a, int *r, int64_t *out)
{
    int rr = ra > *r ? ra : *r;
    int64_t res[AF_MAX_RANK];
    for (int i = 0; i < rr; i++) {
        int ia = i - (rr - ra), ib = i - (rr - *r);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? out[ib] : 1;
        if (da != db && da != 1 && db != 1) return -1;
        res[i] = da == 1 ? db : da;
    }
    memcpy(out, res, sizeof(int64_t) * (size_t)rr);
    *r = rr;
    return 0;
}

static int resolved(const af_graph *g, const af_node *n)
{
    return n->n_in == 1 && af_tensor_shape_known(&g->tensors[n->out[0]]);
}

af_status af_shape_expand(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (resolved(g, n)) {
        g->tensors[n->out[0]].dtype = x->dtype;
        return AF_OK;
    }
    int64_t dims[AF_MAX_RANK];
    int r;
    uint64_t dynel;
    af_status st = sh_cap_ints(g, n, 1, "shape", dims, AF_MAX_RANK, &r, &dynel, err);
    if (st) return st;
    for (int i = 0; i < r; i++)
        if (dims[i] < 0) return sh_err(n, err, AF_ERR_SHAPE, "negative dim %lld", (long long)dims[i]);
    int rs = r;
    if (bcast_into(x->rank, x->dims, &r, dims))
        return sh_err(n, err, AF_ERR_SHAPE, "input %s does not broadcast to the shape",
                      sh_str(x, s));
    if (!dynel) n->n_in = 1;
    sh_set_out(g, n, 0, x->dtype, r, dims);
    /* a shape computed on every run: its data-dependent entries and x's extents */
    if (dynel)
        g->tensors[n->out[0]].dyn = (uint8_t)((dynel << (r - rs)) | ((unsigned)x->dyn << (r - x->rank)));
    return AF_OK;
}

af_status af_shape_where(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *c = sh_in(g, n, 0), *x = sh_in(g, n, 1), *y = sh_in(g, n, 2);
    if (!x || !y) return sh_err(n, err, AF_ERR_SHAPE, "x and y are required");
    if (c->dtype != AF_DTYPE_BOOL)
        return sh_err(n, err, AF_ERR_SHAPE, "condition '%s' must be bool", c->name);
    if (x->dtype != y->dtype)
        return sh_err(n, err, AF_ERR_SHAPE, "x and y differ in dtype (%s, %s)",
                      af_dtype_name(x->dtype), af_dtype_name(y->dtype));
    int64_t dims[AF_MAX_RANK];
    int r = c->rank;
    memcpy(dims, c->dims, sizeof dims);
    if (bcast_into(x->rank, x->dims, &r, dims) || bcast_into(y->rank, y->dims, &r, dims))
        return sh_err(n, err, AF_ERR_SHAPE, "condition, x and y do not broadcast");
    sh_set_out(g, n, 0, x->dtype, r, dims);
    return AF_OK;
}

af_status af_shape_tile(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (resolved(g, n)) {
        g->tensors[n->out[0]].dtype = x->dtype;
        return AF_OK;
    }
    int64_t rep[AF_MAX_RANK], dims[AF_MAX_RANK];
    int c;
    af_status st = sh_const_ints(g, n, 1, "repeats", rep, AF_MAX_RANK, &c, err);
    if (st) return st;
    if (c != x->rank)
        return sh_err(n, err, AF_ERR_SHAPE, "%d repeats for rank %d", c, x->rank);
    for (int i = 0; i < c; i++) {
        if (rep[i] < 0 || (x->dims[i] && rep[i] > ((int64_t)1 << 40) / x->dims[i]))
            return sh_err(n, err, AF_ERR_SHAPE, "bad repeat %lld on axis %d", (long long)rep[i], i);
        dims[i] = x->dims[i] * rep[i];
    }
    n->n_in = 1;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

af_status af_shape_cumsum(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (n->n_in > 1) {
        int64_t ax[1];
        int c, a;
        af_status st = sh_const_ints(g, n, 1, "axis", ax, 1, &c, err);
        if (st) return st;
        if (c != 1 || sh_axis(ax[0], x->rank, &a))
            return sh_err(n, err, AF_ERR_SHAPE, "bad axis for rank %d", x->rank);
        n->p.cumsum.axis = a;
        n->n_in = 1;
    }
    if (n->p.cumsum.axis < 0 || n->p.cumsum.axis >= (x->rank ? x->rank : 1))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range", (int)n->p.cumsum.axis);
    sh_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return AF_OK;
}

af_status af_shape_d2s(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int64_t b = n->p.d2s.blocksize, dims[4];
    char s[96];
    if (x->rank != 4 || b < 1)
        return sh_err(n, err, AF_ERR_SHAPE, "needs a 4-D input, got %s", sh_str(x, s));
    memcpy(dims, x->dims, sizeof dims);
    if (n->op == AF_OP_DEPTH_TO_SPACE) {
        if (x->dims[1] % (b * b))
            return sh_err(n, err, AF_ERR_SHAPE, "channels %lld not divisible by %lld",
                          (long long)x->dims[1], (long long)(b * b));
        dims[1] /= b * b;
        dims[2] *= b;
        dims[3] *= b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return sh_err(n, err, AF_ERR_SHAPE, "spatial dims %s not divisible by %lld",
                          sh_str(x, s), (long long)b);
        dims[1] *= b * b;
        dims[2] /= b;
        dims[3] /= b;
    }
    sh_set_out(g, n, 0, x->dtype, 4, dims);
    return AF_OK;
}

af_status af_shape_gather_elements(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *idx = sh_in(g, n, 1);
    int a;
    if (!idx || idx->rank != x->rank || sh_axis(n->p.axis.axis, x->rank, &a))
        return sh_err(n, err, AF_ERR_SHAPE, "indices must have the data's rank and axis must fit");
    if (idx->dtype != AF_DTYPE_I32 && idx->dtype != AF_DTYPE_I64)
        return sh_err(n, err, AF_ERR_SHAPE, "indices must be i32 or i64");
    n->p.axis.axis = a;
    sh_set_out(g, n, 0, x->dtype, idx->rank, idx->dims);
    return AF_OK;
}

af_status af_shape_lrn(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (x->rank < 2) return sh_err(n, err, AF_ERR_SHAPE, "needs rank >= 2");
    sh_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return AF_OK;
}

af_status af_shape_trilu(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (x->rank < 2) return sh_err(n, err, AF_ERR_SHAPE, "needs rank >= 2");
    if (n->n_in > 1) {
        int64_t k[1];
        int c;
        af_status st = sh_const_ints(g, n, 1, "k", k, 1, &c, err);
        if (st) return st;
        n->p.trilu.k = c ? k[0] : 0;
        n->n_in = 1;
    }
    sh_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return AF_OK;
}

/* Range's limit when it depends on a data-dependent extent (Mask R-CNN's arange(rows)): its
 * value at capacity in *v; 0 when it is a constant. */
static af_status range_cap_limit(af_graph *g, af_node *n, double *v, uint64_t *dynel,
                                 af_err *err)
{
    af_tensor *t = sh_in(g, n, 1);
    *dynel = 0;
    if (!t || af_tensor_is_const(t) || !t->capval) return AF_OK;
    if (af_tensor_numel(t) != 1 || (t->dtype != AF_DTYPE_I64 && t->dtype != AF_DTYPE_I32))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "the limit '%s' depends on a data-dependent "
                      "extent: it must then be one i32/i64 value", t->name);
    *v = (double)sh_int_at(t, t->capval, 0);
    *dynel = t->dynel;
    return AF_OK;
}

/* Range: computed here (its output shape depends on the values), unless the limit depends on
 * a data-dependent extent: then the output's length is data-dependent, its capacity the
 * length at the limit's capacity, and the node stays to fill each run's (runtime/dynshape.c;
 * a positive delta keeps the capacity an upper bound). */
af_status af_shape_range(af_graph *g, af_node *n, af_err *err)
{
    double v[3];
    static const char *const what[3] = {"start", "limit", "delta"};
    af_dtype dt = sh_in(g, n, 0)->dtype;
    uint64_t dynel;
    af_status st = range_cap_limit(g, n, &v[1], &dynel, err);
    if (st) return st;
    for (int k = 0; k < 3; k++) {
        int c;
        if (k == 1 && dynel) continue;
        st = sh_const_floats(g, n, k, what[k], &v[k], 1, &c, err);
        if (st) return st;
        if (c != 1) return sh_err(n, err, AF_ERR_SHAPE, "%s must hold one value", what[k]);
    }
    if (v[2] == 0) return sh_err(n, err, AF_ERR_SHAPE, "delta is 0");
    if (dynel && (v[2] < 0 || sh_in(g, n, 1)->dtype != dt))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "a limit that depends on a data-dependent "
                      "extent needs a positive delta and the start's dtype");
    double cnt = ceil((v[1] - v[0]) / v[2]);
    if (!(cnt < 1e8)) return sh_err(n, err, AF_ERR_SHAPE, "range too long");
    int64_t m = cnt > 0 ? (int64_t)cnt : 0;
    sh_set_out(g, n, 0, dt, 1, &m);
    if (dynel) {
        g->tensors[n->out[0]].dyn = 1;
        return AF_OK;
    }
    void *data = malloc((size_t)(m ? m : 1) * af_dtype_size(dt));
    if (!data) return sh_err(n, err, AF_ERR_NOMEM, "out of memory");
    int is_float = af_dtype_table[dt].is_float;
    for (int64_t i = 0; i < m; i++) {
        double x = is_float ? (double)(float)v[0] + (double)i * (double)(float)v[2]
                            : v[0] + (double)i * v[2];
        af_dtype_set(dt, data, (size_t)i, x);
    }
    af_tensor_set_data(&g->tensors[n->out[0]], data);
    return AF_OK;
}

af_status af_shape_size(af_graph *g, af_node *n, af_err *err)
{
    int64_t *data = malloc(sizeof *data);
    if (!data) return sh_err(n, err, AF_ERR_NOMEM, "out of memory");
    *data = af_tensor_numel(sh_in(g, n, 0));
    sh_set_out(g, n, 0, AF_DTYPE_I64, 0, NULL);
    af_tensor_set_data(&g->tensors[n->out[0]], data);
    return AF_OK;
}
