/* graph/shape_data.c — shape inference for data movement: reshape family, transpose, concat,
 * split, slice, gather. Resolved nodes keep only their data input; their output shapes carry
 * what the dropped parameter inputs said (re-running inference keeps them). */
#include "shape_impl.h"

#include <string.h>

/* A resolved node (only the data input left) whose outputs already have shapes. */
static int resolved_with_shapes(const af_graph *g, const af_node *n)
{
    if (n->n_in != 1) return 0;
    for (int k = 0; k < n->n_out; k++)
        if (!af_tensor_shape_known(&g->tensors[n->out[k]])) return 0;
    return 1;
}

static af_status reshape_to(af_graph *g, af_node *n, const af_tensor *x, const int64_t *shape,
                            int r, af_err *err)
{
    int64_t dims[AF_MAX_RANK], known = 1;
    int infer = -1;
    char s[96];
    for (int i = 0; i < r; i++) {
        dims[i] = shape[i];
        if (shape[i] == 0 && !n->p.reshape.allowzero) {
            if (i >= x->rank)
                return sh_err(n, err, AF_ERR_SHAPE, "shape entry %d is 0 but the input %s has "
                              "no dim %d", i, sh_str(x, s), i);
            dims[i] = x->dims[i];
        } else if (shape[i] == -1) {
            if (infer >= 0)
                return sh_err(n, err, AF_ERR_SHAPE, "more than one -1 in the target shape");
            infer = i;
            continue;
        } else if (shape[i] < 0) {
            return sh_err(n, err, AF_ERR_SHAPE, "negative target dim %lld", (long long)shape[i]);
        }
        if (dims[i] && known > INT64_MAX / dims[i])
            return sh_err(n, err, AF_ERR_SHAPE, "target shape overflows");
        known *= dims[i];
    }
    int64_t total = af_tensor_numel(x);
    if (infer >= 0) {
        if (known == 0 || total % known)
            return sh_err(n, err, AF_ERR_SHAPE, "cannot reshape %s (%lld elements) with a -1 "
                          "entry", sh_str(x, s), (long long)total);
        dims[infer] = total / known;
        known = total;
    }
    if (known != total)
        return sh_err(n, err, AF_ERR_SHAPE, "cannot reshape %s (%lld elements) into %lld "
                      "elements", sh_str(x, s), (long long)total, (long long)known);
    sh_set_out(g, n, 0, x->dtype, r, dims);
    return AF_OK;
}

static af_status shape_reshape(af_graph *g, af_node *n, const af_tensor *x, af_err *err)
{
    int64_t shape[AF_MAX_RANK];
    int r;
    uint64_t dynel;
    if (n->n_in < 2) return sh_err(n, err, AF_ERR_SHAPE, "the shape input is missing");
    af_status st = sh_cap_ints(g, n, 1, "shape", shape, AF_MAX_RANK, &r, &dynel, err);
    if (!st) st = reshape_to(g, n, x, shape, r, err);
    if (st || !dynel) return st;
    /* a shape computed on every run: its data-dependent entries and 0s copying a
     * data-dependent extent are data-dependent */
    uint8_t m = 0;
    int infer = -1;
    for (int i = 0; i < r; i++) {
        if ((dynel >> i & 1u) || (shape[i] == 0 && (x->dyn >> i & 1u))) m |= (uint8_t)(1u << i);
        if (shape[i] == -1) infer = i;
    }
    /* the -1 takes what is left: data-dependent when x has more such axes than the entries */
    if (infer >= 0 && __builtin_popcount(m) < __builtin_popcount(x->dyn))
        m |= (uint8_t)(1u << infer);
    g->tensors[n->out[0]].dyn = m;
    return AF_OK;
}

/* A Reshape whose shape input is computed on every run keeps it (its values at capacity sized
 * the output). */
static int keeps_shape_input(af_graph *g, const af_node *n)
{
    const af_tensor *t = sh_in(g, n, 1);
    return n->p.reshape.kind == AF_RESHAPE_RESHAPE && t && !af_tensor_is_const(t) && t->capval &&
           t->dynel;
}

static af_status shape_flatten(af_graph *g, af_node *n, const af_tensor *x, af_err *err)
{
    int a = n->p.reshape.axis;
    if (a < -x->rank || a > x->rank)
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d", a, x->rank);
    if (a < 0) a += x->rank;
    n->p.reshape.axis = a;
    int64_t dims[2] = {sh_prod(x->dims, 0, a), sh_prod(x->dims, a, x->rank)};
    sh_set_out(g, n, 0, x->dtype, 2, dims);
    return AF_OK;
}

af_status sh_axes_mask(af_graph *g, af_node *n, int k, int r, uint32_t *mask, int *count,
                       af_err *err)
{
    int64_t axes[AF_MAX_RANK];
    int c, a;
    af_status st = sh_const_ints(g, n, k, "axes", axes, AF_MAX_RANK, &c, err);
    if (st) return st;
    *mask = 0;
    for (int i = 0; i < c; i++) {
        if (sh_axis(axes[i], r, &a))
            return sh_err(n, err, AF_ERR_SHAPE, "axis %lld out of range for rank %d",
                          (long long)axes[i], r);
        if (*mask & (1u << a)) return sh_err(n, err, AF_ERR_SHAPE, "axis %d repeated", a);
        *mask |= 1u << a;
    }
    *count = c;
    return AF_OK;
}

static af_status shape_squeeze(af_graph *g, af_node *n, const af_tensor *x, af_err *err)
{
    uint32_t mask = 0;
    int c = 0;
    if (n->n_in > 1) {
        af_status st = sh_axes_mask(g, n, 1, x->rank, &mask, &c, err);
        if (st) return st;
    }
    if (!c)
        for (int i = 0; i < x->rank; i++)
            if (x->dims[i] == 1) mask |= 1u << i;
    int64_t dims[AF_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!(mask & (1u << i))) {
            dims[r++] = x->dims[i];
        } else if (x->dims[i] != 1) {
            return sh_err(n, err, AF_ERR_SHAPE, "cannot squeeze axis %d of size %lld", i,
                          (long long)x->dims[i]);
        }
    }
    sh_set_out(g, n, 0, x->dtype, r, dims);
    return AF_OK;
}

static af_status shape_unsqueeze(af_graph *g, af_node *n, const af_tensor *x, af_err *err)
{
    int64_t axes[AF_MAX_RANK];
    int c;
    if (n->n_in < 2) return sh_err(n, err, AF_ERR_SHAPE, "the axes input is missing");
    af_status st = sh_const_ints(g, n, 1, "axes", axes, AF_MAX_RANK, &c, err);
    if (st) return st;
    int r = x->rank + c;
    if (r > AF_MAX_RANK) return sh_err(n, err, AF_ERR_SHAPE, "result rank %d > 8", r);
    uint32_t mask;
    st = sh_axes_mask(g, n, 1, r, &mask, &c, err);
    if (st) return st;
    int64_t dims[AF_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) dims[i] = (mask & (1u << i)) ? 1 : x->dims[j++];
    sh_set_out(g, n, 0, x->dtype, r, dims);
    return AF_OK;
}

af_status af_shape_reshape(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    af_status st;
    char s[96];
    int kind = n->p.reshape.kind;
    if (kind != AF_RESHAPE_FLATTEN && resolved_with_shapes(g, n)) {
        if (af_tensor_numel(&g->tensors[n->out[0]]) != af_tensor_numel(x))
            return sh_err(n, err, AF_ERR_SHAPE, "input %s no longer matches the output size",
                          sh_str(x, s));
        g->tensors[n->out[0]].dtype = x->dtype;
        return AF_OK;
    }
    switch (kind) {
    case AF_RESHAPE_RESHAPE: st = shape_reshape(g, n, x, err); break;
    case AF_RESHAPE_FLATTEN: st = shape_flatten(g, n, x, err); break;
    case AF_RESHAPE_SQUEEZE: st = shape_squeeze(g, n, x, err); break;
    case AF_RESHAPE_UNSQUEEZE: st = shape_unsqueeze(g, n, x, err); break;
    default: return sh_err(n, err, AF_ERR_INTERNAL, "bad reshape kind %d", kind);
    }
    if (!st && !keeps_shape_input(g, n)) n->n_in = 1;
    return st;
}

af_status af_shape_transpose(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    af_transpose_params *p = &n->p.transpose;
    if (p->n_perm == 0) {
        p->n_perm = x->rank;
        for (int i = 0; i < x->rank; i++) p->perm[i] = x->rank - 1 - i;
    }
    if (p->n_perm != x->rank)
        return sh_err(n, err, AF_ERR_SHAPE, "perm has %d entries, input rank is %d",
                      (int)p->n_perm, x->rank);
    int64_t dims[AF_MAX_RANK];
    uint32_t seen = 0;
    for (int i = 0; i < x->rank; i++) {
        int a = p->perm[i];
        if (a < 0 || a >= x->rank || (seen & (1u << a)))
            return sh_err(n, err, AF_ERR_SHAPE, "perm is not a permutation of 0..%d",
                          x->rank - 1);
        seen |= 1u << a;
        dims[i] = x->dims[a];
    }
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

af_status af_shape_concat(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int ax;
    char s0[96], s1[96];
    if (sh_axis(n->p.axis.axis, x->rank, &ax))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d",
                      (int)n->p.axis.axis, x->rank);
    int64_t dims[AF_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int k = 1; k < n->n_in; k++) {
        af_tensor *t = sh_in(g, n, k);
        if (!t) return sh_err(n, err, AF_ERR_SHAPE, "input %d is missing", k);
        int ok = t->rank == x->rank && t->dtype == x->dtype;
        for (int i = 0; ok && i < x->rank; i++) ok = i == ax || t->dims[i] == x->dims[i];
        if (!ok)
            return sh_err(n, err, AF_ERR_SHAPE, "input '%s' %s %s does not fit '%s' %s %s on "
                          "axis %d", t->name, af_dtype_name(t->dtype), sh_str(t, s1), x->name,
                          af_dtype_name(x->dtype), sh_str(x, s0), ax);
        dims[ax] += t->dims[ax];
    }
    n->p.axis.axis = ax;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

#define MAX_SPLIT 1024

static af_status split_sizes(af_graph *g, af_node *n, int64_t dim, int64_t *sz, af_err *err)
{
    int c, no = n->n_out;
    if (n->n_in > 1) {
        af_status st = sh_const_ints(g, n, 1, "split", sz, MAX_SPLIT, &c, err);
        if (st) return st;
        if (c != no)
            return sh_err(n, err, AF_ERR_SHAPE, "%d split sizes for %d outputs", c, no);
        int64_t sum = 0;
        for (int k = 0; k < c; k++) {
            if (sz[k] < 0 || sz[k] > dim)
                return sh_err(n, err, AF_ERR_SHAPE, "bad split size %lld", (long long)sz[k]);
            sum += sz[k];
        }
        if (sum != dim)
            return sh_err(n, err, AF_ERR_SHAPE, "split sizes add up to %lld, axis has %lld",
                          (long long)sum, (long long)dim);
        return AF_OK;
    }
    int parts = n->p.axis.num_outputs ? n->p.axis.num_outputs : no;
    if (parts != no)
        return sh_err(n, err, AF_ERR_SHAPE, "num_outputs %d but %d outputs", parts, no);
    int64_t chunk = (dim + parts - 1) / parts;
    if (!n->p.axis.num_outputs && dim % parts)
        return sh_err(n, err, AF_ERR_SHAPE, "axis of size %lld does not split into %d equal "
                      "parts", (long long)dim, parts);
    if (chunk * (parts - 1) > dim)
        return sh_err(n, err, AF_ERR_SHAPE, "axis of size %lld cannot make %d parts",
                      (long long)dim, parts);
    for (int k = 0; k < parts; k++) sz[k] = k < parts - 1 ? chunk : dim - chunk * (parts - 1);
    return AF_OK;
}

af_status af_shape_split(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int ax;
    if (sh_axis(n->p.axis.axis, x->rank, &ax))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d",
                      (int)n->p.axis.axis, x->rank);
    if (n->n_out > MAX_SPLIT) return sh_err(n, err, AF_ERR_UNSUPPORTED, "too many outputs");
    n->p.axis.axis = ax;
    int64_t sz[MAX_SPLIT];
    if (resolved_with_shapes(g, n)) {
        for (int k = 0; k < n->n_out; k++) sz[k] = g->tensors[n->out[k]].dims[ax];
    } else {
        af_status st = split_sizes(g, n, x->dims[ax], sz, err);
        if (st) return st;
    }
    int64_t dims[AF_MAX_RANK], sum = 0;
    memcpy(dims, x->dims, sizeof dims);
    for (int k = 0; k < n->n_out; k++) {
        dims[ax] = sz[k];
        sum += sz[k];
        sh_set_out(g, n, k, x->dtype, x->rank, dims);
    }
    if (sum != x->dims[ax])
        return sh_err(n, err, AF_ERR_SHAPE, "outputs do not add up to the input axis");
    n->n_in = 1;
    return AF_OK;
}

/* 1 when slice i's start or end is a bounded value (lowering/bounds.c: capval is its upper
 * bound, not its value at capacity, so the extent at those values bounds nothing). */
static int bounded_by_data(af_graph *g, const af_node *n, uint64_t ds, uint64_t de, int i)
{
    const af_tensor *s = sh_in(g, n, 1), *e = sh_in(g, n, 2);
    return ((ds >> i & 1u) && s->vbound) || ((de >> i & 1u) && e->vbound);
}

/* *dynax: the axes whose starts or ends depend on data-dependent extents (computed on every
 * run: the node keeps those inputs; the values at capacity size the output). */
static af_status slice_params(af_graph *g, af_node *n, const af_tensor *x, int64_t *dims,
                              uint8_t *dynax, af_err *err)
{
    int64_t st_[AF_MAX_RANK], en[AF_MAX_RANK], ax[AF_MAX_RANK], sp[AF_MAX_RANK];
    int c, ce, ca, cs;
    uint64_t ds = 0, de = 0;
    af_status st = sh_cap_ints(g, n, 1, "starts", st_, AF_MAX_RANK, &c, &ds, err);
    if (!st) st = sh_cap_ints(g, n, 2, "ends", en, AF_MAX_RANK, &ce, &de, err);
    if (!st && sh_in(g, n, 3)) st = sh_const_ints(g, n, 3, "axes", ax, AF_MAX_RANK, &ca, err);
    else ca = c;
    if (!st && sh_in(g, n, 4)) st = sh_const_ints(g, n, 4, "steps", sp, AF_MAX_RANK, &cs, err);
    else cs = c;
    if (st) return st;
    if (ce != c || ca != c || cs != c)
        return sh_err(n, err, AF_ERR_SHAPE, "starts, ends, axes and steps differ in length");
    af_slice_params *p = &n->p.slice;
    uint32_t seen = 0;
    for (int i = 0; i < AF_MAX_RANK; i++) {
        p->start[i] = 0;
        p->step[i] = 1;
        dims[i] = x->dims[i];
    }
    for (int i = 0; i < c; i++) {
        int a;
        int64_t step = sh_in(g, n, 4) ? sp[i] : 1;
        if (sh_axis(sh_in(g, n, 3) ? ax[i] : i, x->rank, &a) || (seen & (1u << a)))
            return sh_err(n, err, AF_ERR_SHAPE, "bad or repeated axis in slice %d", i);
        if (step == 0) return sh_err(n, err, AF_ERR_SHAPE, "step 0 on axis %d", a);
        seen |= 1u << a;
        if ((ds | de) >> i & 1u) *dynax |= (uint8_t)(1u << a);
        if ((x->dyn >> a & 1u) && !((ds | de) >> i & 1u) && (st_[i] < 0 || en[i] < 0 || step < 0))
            return sh_err(n, err, AF_ERR_UNSUPPORTED, "slicing the data-dependent axis %d of "
                          "'%s' needs starts and ends >= 0 and a positive step (got %lld:%lld:%lld)",
                          a, x->name, (long long)st_[i], (long long)en[i], (long long)step);
        p->step[a] = step;
        dims[a] = af_slice_extent(x->dims[a], st_[i], en[i], step, &p->start[a]);
        if (bounded_by_data(g, n, ds, de, i)) /* any slice of the axis fits: its capacity */
            dims[a] = step > 0 ? (x->dims[a] + step - 1) / step
                               : (x->dims[a] + (-step) - 1) / (-step);
    }
    return AF_OK;
}

af_status af_shape_slice(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int64_t dims[AF_MAX_RANK];
    if (resolved_with_shapes(g, n)) {
        g->tensors[n->out[0]].dtype = x->dtype;
        return AF_OK;
    }
    if (n->n_in < 3) return sh_err(n, err, AF_ERR_SHAPE, "starts and ends inputs are missing");
    uint8_t dynax = 0;
    af_status st = slice_params(g, n, x, dims, &dynax, err);
    if (st) return st;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    g->tensors[n->out[0]].dyn = x->dyn | dynax;
    if (!dynax) n->n_in = 1; /* else the bounds are read on every run */
    return AF_OK;
}

static af_status gather_check_indices(af_node *n, const af_tensor *idx, int64_t dim, af_err *err)
{
    int64_t m = af_tensor_numel(idx);
    for (int64_t i = 0; idx->data && i < m; i++) {
        int64_t v = idx->dtype == AF_DTYPE_I64 ? ((const int64_t *)idx->data)[i]
                                               : ((const int32_t *)idx->data)[i];
        if (v < -dim || v >= dim)
            return sh_err(n, err, AF_ERR_SHAPE, "index %lld out of range for an axis of %lld",
                          (long long)v, (long long)dim);
    }
    return AF_OK;
}

af_status af_shape_gather(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *idx = sh_in(g, n, 1);
    int ax;
    if (!idx) return sh_err(n, err, AF_ERR_SHAPE, "the indices input is missing");
    if (x->rank < 1 || sh_axis(n->p.axis.axis, x->rank, &ax))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d",
                      (int)n->p.axis.axis, x->rank);
    if (idx->dtype != AF_DTYPE_I64 && idx->dtype != AF_DTYPE_I32)
        return sh_err(n, err, AF_ERR_SHAPE, "indices '%s' must be i32 or i64, not %s",
                      idx->name, af_dtype_name(idx->dtype));
    int r = x->rank - 1 + idx->rank;
    if (r > AF_MAX_RANK) return sh_err(n, err, AF_ERR_SHAPE, "result rank %d > 8", r);
    af_status st = gather_check_indices(n, idx, x->dims[ax], err);
    if (st) return st;
    int64_t dims[AF_MAX_RANK];
    int j = 0;
    for (int i = 0; i < ax; i++) dims[j++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) dims[j++] = idx->dims[i];
    for (int i = ax + 1; i < x->rank; i++) dims[j++] = x->dims[i];
    n->p.axis.axis = ax;
    sh_set_out(g, n, 0, x->dtype, r, dims);
    return AF_OK;
}
