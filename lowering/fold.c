/* lowering/fold.c — shape inference and constant folding, one node at a time in order.
 * Because nodes are topologically ordered, every node sees its inputs already inferred and,
 * where possible, already folded to constants; so one pass resolves torch's shape chains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/shape.h"
#include "../runtime/kernels/kernels.h"
#include "half.h"
#include "lower.h"

/* Constants larger than this are not materialised by folding (e.g. an Expand to a huge
 * shape); the node stays in the program instead. */
#define AF_FOLD_MAX_BYTES (64ll << 20)

static af_tview view_of(const af_tensor *t)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    v.dtype = t->dtype;
    v.rank = t->rank;
    memcpy(v.dims, t->dims, sizeof v.dims);
    v.data = t->data;
    return v;
}

static int all_inputs_const(const af_graph *g, const af_node *n)
{
    int any = 0;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        if (!af_tensor_is_const(&g->tensors[n->in[k]])) return 0;
        any = 1;
    }
    return any;
}

static int outputs_const(const af_graph *g, const af_node *n)
{
    for (int k = 0; k < n->n_out; k++)
        if (!af_tensor_is_const(&g->tensors[n->out[k]])) return 0;
    return 1;
}

static int foldable(const af_graph *g, const af_node *n)
{
    if (!af_op_table[n->op].runtime || !all_inputs_const(g, n)) return 0;
    for (int k = 0; k < n->n_out; k++) {
        int64_t b = af_tensor_nbytes(&g->tensors[n->out[k]]);
        if (b < 0 || b > AF_FOLD_MAX_BYTES) return 0;
    }
    return 1;
}

/* Evaluates node i with the runtime kernels and turns its outputs into constants. */
static af_status eval_node(af_graph *g, int i, af_err *err)
{
    af_node *n = &g->nodes[i];
    af_tview in[16], out[16];
    if (n->n_in > 16 || n->n_out > 16) return AF_OK; /* leave wide nodes to the runtime */
    memset(out, 0, sizeof out); /* the clean-up below frees what was allocated, nothing else */
    for (int k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        if (n->in[k] >= 0) in[k] = view_of(&g->tensors[n->in[k]]);
    }
    af_status st = AF_OK;
    for (int k = 0; k < n->n_out && st == AF_OK; k++) {
        af_tensor *t = &g->tensors[n->out[k]];
        out[k] = view_of(t);
        int64_t b = af_tensor_nbytes(t);
        out[k].data = calloc(1, (size_t)(b > 0 ? b : 1));
        if (!out[k].data) st = af_err_set(err, AF_ERR_NOMEM, "out of memory folding '%s'", n->name);
    }
    /* half-typed nodes are evaluated in f32 (lowering/half.c) */
    if (st == AF_OK) st = af_half_kernel_run(n, in, out, err);
    for (int k = 0; k < n->n_out; k++) {
        if (!out[k].data) continue;
        if (st == AF_OK)
            af_tensor_set_data(&g->tensors[n->out[k]], out[k].data);
        else
            free(out[k].data);
    }
    if (st != AF_OK) return af_err_prefix(err, n->name);
    af_graph_remove_node(g, i);
    return AF_OK;
}

/* ---- values computed from data-dependent extents (docs/dynamic-shapes.md) ---------------- */

#define AF_CAP_MAX_ELEMS 64 /* shape arithmetic: small integer tensors only */

/* A node reading constants and data-dependent values (capval) only, at least one of those,
 * whose outputs have static shapes and few elements. */
static int cap_evaluable(const af_graph *g, const af_node *n)
{
    int any = 0;
    if (!af_op_table[n->op].runtime || n->n_in > 16 || n->n_out > 16) return 0;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        const af_tensor *t = &g->tensors[n->in[k]];
        if (t->dyn || (!t->data && !t->capval) || t->vbound) return 0; /* bounds: bounds.c */
        any |= !t->data;
    }
    for (int k = 0; k < n->n_out; k++) {
        const af_tensor *t = &g->tensors[n->out[k]];
        int64_t m = af_tensor_numel(t);
        if (t->dyn || m < 0 || m > AF_CAP_MAX_ELEMS) return 0;
    }
    return any;
}

static uint64_t all_bits(int64_t m) { return m >= 64 ? ~0ull : (1ull << m) - 1; }

static uint64_t dynel_of(const af_graph *g, int id)
{
    const af_tensor *t = id >= 0 ? &g->tensors[id] : NULL;
    return t && !t->data && t->capval ? t->dynel : 0;
}

/* Which elements of output k depend on the data: exact through the moves of shape arithmetic
 * (reshape, cast, gather by constant indices, 1-D concat, elementwise), every element else. */
static uint64_t out_dynel(const af_graph *g, const af_node *n, int k)
{
    const af_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[k]];
    int64_t m = af_tensor_numel(y);
    uint64_t any = 0, r = 0;
    for (int j = 0; j < n->n_in; j++) any |= dynel_of(g, n->in[j]);
    if (!any) return 0;
    if (n->op == AF_OP_RESHAPE || n->op == AF_OP_IDENTITY || n->op == AF_OP_CAST ||
        n->op == AF_OP_UNARY)
        return dynel_of(g, n->in[0]) & all_bits(m);
    if (n->op == AF_OP_GATHER && x->rank == 1 && g->tensors[n->in[1]].data) {
        const af_tensor *ix = &g->tensors[n->in[1]];
        for (int64_t e = 0; e < m; e++) {
            int64_t v = ix->dtype == AF_DTYPE_I64 ? ((const int64_t *)ix->data)[e]
                                                  : ((const int32_t *)ix->data)[e];
            if (v < 0) v += x->dims[0];
            if (v >= 0 && v < 64 && (dynel_of(g, n->in[0]) >> v & 1u)) r |= 1ull << e;
        }
        return r;
    }
    if (n->op == AF_OP_CONCAT && y->rank == 1) {
        int at = 0;
        for (int j = 0; j < n->n_in; j++) {
            r |= dynel_of(g, n->in[j]) << at;
            at += (int)g->tensors[n->in[j]].dims[0];
        }
        return r & all_bits(m);
    }
    if (n->op == AF_OP_BINARY) {
        for (int j = 0; j < 2; j++) {
            int64_t mj = af_tensor_numel(&g->tensors[n->in[j]]);
            uint64_t dj = dynel_of(g, n->in[j]);
            if (mj == m) r |= dj;
            else if (mj == 1 && dj) r |= all_bits(m);
            else if (dj) return all_bits(m);
        }
        return r;
    }
    return all_bits(m);
}

/* Evaluates node i on the values at capacity: outputs none of whose elements depends on the
 * data become constants (the node is removed), else they keep those values as capval and the
 * node stays to recompute them on every run. */
static af_status eval_cap(af_graph *g, int i, int *folded, af_err *err)
{
    af_node *n = &g->nodes[i];
    af_tview in[16], out[16];
    memset(out, 0, sizeof out);
    for (int k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        if (n->in[k] < 0) continue;
        const af_tensor *t = &g->tensors[n->in[k]];
        in[k] = view_of(t);
        if (!t->data) in[k].data = t->capval;
    }
    af_status st = AF_OK;
    for (int k = 0; k < n->n_out && st == AF_OK; k++) {
        af_tensor *t = &g->tensors[n->out[k]];
        out[k] = view_of(t);
        out[k].data = calloc(1, (size_t)af_tensor_nbytes(t) + 1);
        if (!out[k].data) st = af_err_set(err, AF_ERR_NOMEM, "out of memory folding '%s'", n->name);
    }
    if (st == AF_OK) st = af_half_kernel_run(n, in, out, err);
    uint64_t dyn_any = 0, dynel[16];
    for (int k = 0; k < n->n_out && st == AF_OK; k++) dyn_any |= dynel[k] = out_dynel(g, n, k);
    for (int k = 0; k < n->n_out; k++) {
        af_tensor *t = &g->tensors[n->out[k]];
        if (st != AF_OK || !out[k].data) {
            free(out[k].data);
            continue;
        }
        if (!dyn_any) {
            af_tensor_set_data(t, out[k].data);
            continue;
        }
        free(t->capval);
        t->capval = out[k].data;
        t->dynel = dynel[k];
    }
    if (st != AF_OK) return af_err_prefix(err, n->name);
    *folded = !dyn_any;
    if (!dyn_any) af_graph_remove_node(g, i);
    return AF_OK;
}

/* replaces control node i by the nodes its expansion appends (they land
 * where node i was, so the fold goes on with them). */
static af_status expand_control(af_graph *g, int i, af_err *err)
{
    int id = g->nodes[i].p.control.id, from = g->n_nodes;
    if (id < 0 || id >= g->n_deferred || !g->deferred[id].expand)
        return af_err_set(err, AF_ERR_INTERNAL, "node '%s': no expansion", g->nodes[i].name);
    af_deferred *d = &g->deferred[id];
    af_status st = d->expand(g, i, d->ctx, err);
    if (st) return st;
    af_graph_remove_node(g, i);
    af_graph_move_tail(g, i, from);
    return AF_OK;
}

af_status af_lower_fold(af_graph *g, af_lower_stats *stats, af_err *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        if (n->op == AF_OP_CONTROL) {
            if (expand_control(g, i, err) != AF_OK) return err->code;
            continue; /* node i is now removed; the expansion follows it */
        }
        if (af_shape_infer_node(g, i, err) != AF_OK) return err->code;
        n = &g->nodes[i];
        int is_out = 0;
        for (int k = 0; k < n->n_out; k++)
            is_out |= (g->tensors[n->out[k]].flags & AF_TENSOR_OUTPUT) != 0;
        if (outputs_const(g, n)) { /* Shape / ConstantOfShape resolved to data */
            af_graph_remove_node(g, i);
            if (stats) stats->folded++;
        } else if (!is_out && foldable(g, n)) {
            if (eval_node(g, i, err) != AF_OK) return err->code;
            if (stats) stats->folded++;
        } else if (cap_evaluable(g, n)) {
            int folded = 0;
            if (eval_cap(g, i, &folded, err) != AF_OK) return err->code;
            if (stats) stats->folded += folded;
        }
        if (g->nodes[i].op != AF_OP_NONE) af_bounds_node(g, i);
    }
    return AF_OK;
}

/* A graph output that folded to a constant is produced by a copy from that constant, so that
 * outputs always live in the arena. */
af_status af_lower_materialize_const_outputs(af_graph *g, af_err *err)
{
    for (int k = 0; k < g->n_outputs; k++) {
        int t = g->outputs[k];
        if (!af_tensor_is_const(&g->tensors[t])) continue;
        char name[300];
        snprintf(name, sizeof name, "%s__const", g->tensors[t].name);
        int c = af_graph_add_tensor_unique(g, name, g->tensors[t].dtype, g->tensors[t].rank,
                                           g->tensors[t].dims);
        if (c < 0) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        g->tensors[c].data = g->tensors[t].data;
        g->tensors[t].data = NULL;
        if (af_graph_add_node(g, AF_OP_IDENTITY, name, &c, 1, &t, 1) < 0)
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    return AF_OK;
}
