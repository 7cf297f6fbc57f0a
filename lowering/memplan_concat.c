/* lowering/memplan_concat.c — choosing the Concat inputs that are written in place inside the
 * Concat's output (see memplan.h for the rules; memplan.c places the blocks). */
#include "memplan.h"

/* 1 when every part of Concat n matches its output y except along the axis, the axis extents
 * sum to y's and y's extent before the axis is 1: then part k is the byte range
 * [sum of the earlier parts' bytes, + its bytes) of y. */
static int concat_contiguous(const af_graph *g, const af_node *n)
{
    const af_tensor *y = &g->tensors[n->out[0]];
    int axis = n->p.axis.axis;
    if (y->data || y->dyn || y->rank < 1 || axis < 0 || axis >= y->rank ||
        af_tensor_nbytes(y) <= 0) /* data-dependent parts move with their extents */
        return 0;
    for (int i = 0; i < axis; i++)
        if (y->dims[i] != 1) return 0;
    int64_t sum = 0;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) return 0;
        const af_tensor *x = &g->tensors[n->in[k]];
        if (x->dtype != y->dtype || x->rank != y->rank || x->dims[axis] < 0 || x->dyn) return 0;
        for (int i = 0; i < y->rank; i++)
            if (i != axis && x->dims[i] != y->dims[i]) return 0;
        if (x->dims[axis] > y->dims[axis] - sum) return 0;
        sum += x->dims[axis];
    }
    return sum == y->dims[axis];
}

/* 1 when input slot k of Concat node i may live inside the output (memplan.h). */
static int may_alias(const af_graph *g, int i, int k, const int *last_use, const int *parent)
{
    const af_node *n = &g->nodes[i];
    int x = n->in[k];
    const af_tensor *t = &g->tensors[x];
    if (t->data || (t->flags & (AF_TENSOR_INPUT | AF_TENSOR_OUTPUT)) || t->producer < 0 ||
        parent[x] >= 0 || last_use[x] != i || af_tensor_nbytes(t) <= 0)
        return 0;
    af_op pop = g->nodes[t->producer].op;
    if (pop == AF_OP_RESHAPE || pop == AF_OP_IDENTITY) return 0;
    for (int j = 0; j < n->n_in; j++)
        if (j != k && n->in[j] == x) return 0; /* the same tensor twice */
    return 1;
}

int af_plan_concat_aliases(const af_graph *g, const int *last_use, int *parent, int64_t *off)
{
    int count = 0;
    for (int t = 0; t < g->n_tensors; t++) parent[t] = -1, off[t] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op != AF_OP_CONCAT || n->n_out != 1 || !concat_contiguous(g, n)) continue;
        int64_t at = 0;
        for (int k = 0; k < n->n_in; k++) {
            int x = n->in[k];
            if (may_alias(g, i, k, last_use, parent)) {
                parent[x] = n->out[0];
                off[x] = at;
                count++;
            }
            at += af_tensor_nbytes(&g->tensors[x]); /* <= y's bytes (concat_contiguous) */
        }
    }
    return count;
}
