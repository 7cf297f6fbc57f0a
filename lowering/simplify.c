/* lowering/simplify.c — removes nodes that compute nothing: identities, reshapes to the same
 * shape, pads by zero elements, Expands that only feed broadcasting binary ops, and nodes none
 * of whose outputs are read (dead code). */
#include "lower.h"

static int is_noop(const af_graph *g, const af_node *n)
{
    if (n->op == AF_OP_IDENTITY) return n->in[0] >= 0;
    if (n->op == AF_OP_PAD && n->n_in == 1) { /* torch's AvgPool export: Pad by zeros */
        for (int i = 0; i < AF_MAX_RANK; i++)
            if (n->p.pad.begin[i] || n->p.pad.end[i]) return 0;
        return af_tensor_same_shape(&g->tensors[n->in[0]], &g->tensors[n->out[0]]);
    }
    if (n->op != AF_OP_RESHAPE || n->n_in != 1) return 0;
    return af_tensor_same_shape(&g->tensors[n->in[0]], &g->tensors[n->out[0]]) &&
           g->tensors[n->in[0]].dyn == g->tensors[n->out[0]].dyn;
}

/* An Expand (resolved: [x]) each of whose readers is a BINARY node whose other operand has the
 * expanded shape: the binary op broadcasts x itself, so the copy is dropped (Swin-V2's
 * normalize: x / expand(max(||x||, eps)) materialised every norm at full size). */
static int expand_into_binary(const af_graph *g, const af_node *n)
{
    if (n->op != AF_OP_EXPAND || n->n_in != 1 || n->in[0] < 0) return 0;
    const int y = n->out[0];
    const af_tensor *ty = &g->tensors[y];
    if (ty->flags & AF_TENSOR_OUTPUT || ty->dyn || g->tensors[n->in[0]].dyn) return 0;
    int uses = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *m = &g->nodes[i];
        if (m->op == AF_OP_NONE) continue;
        for (int k = 0; k < m->n_in; k++) {
            if (m->in[k] != y) continue;
            if (m->op != AF_OP_BINARY || m->n_in != 2 || m->in[1 - k] == y ||
                m->in[1 - k] < 0 || !af_tensor_same_shape(&g->tensors[m->in[1 - k]], ty) ||
                g->tensors[m->in[1 - k]].dyn)
                return 0;
            uses++;
        }
    }
    return uses > 0;
}

/* Bypasses a copy node x → y. Readers of y read x instead; when y is a graph output (its name
 * is part of the interface) x's producer writes y directly and x's readers read y. */
static int bypass(af_graph *g, int i)
{
    af_node *n = &g->nodes[i];
    int x = n->in[0], y = n->out[0];
    af_tensor *tx = &g->tensors[x], *ty = &g->tensors[y];
    if (!(ty->flags & AF_TENSOR_OUTPUT)) {
        af_graph_remove_node(g, i);
        af_graph_replace_uses(g, y, x);
        return 1;
    }
    if (tx->producer < 0 || (tx->flags & (AF_TENSOR_OUTPUT | AF_TENSOR_INPUT))) return 0;
    af_node *p = &g->nodes[tx->producer];
    af_graph_remove_node(g, i);
    for (int k = 0; k < p->n_out; k++)
        if (p->out[k] == x) p->out[k] = y;
    ty->producer = tx->producer;
    tx->producer = -1;
    af_graph_replace_uses(g, x, y);
    return 1;
}

static int remove_dead(af_graph *g)
{
    int removed = 0;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        int used = 0;
        for (int k = 0; k < n->n_out && !used; k++) used = af_graph_use_count(g, n->out[k]) > 0;
        if (!used) {
            af_graph_remove_node(g, i);
            removed++;
        }
    }
    return removed;
}

af_status af_lower_simplify(af_graph *g, af_lower_stats *st, af_err *err)
{
    int removed = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op != AF_OP_NONE &&
            (is_noop(g, &g->nodes[i]) || expand_into_binary(g, &g->nodes[i])))
            removed += bypass(g, i);
    removed += remove_dead(g);
    if (st) st->removed += removed;
    return af_graph_compact(g, err);
}
