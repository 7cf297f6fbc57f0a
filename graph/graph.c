#include "graph.h"

#include <stdlib.h>
#include <string.h>

void af_graph_init(af_graph *g) { memset(g, 0, sizeof *g); }

static void node_free(af_node *n)
{
    free(n->name);
    free(n->in);
    free(n->out);
}

void af_graph_free(af_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_tensors; i++) {
        free(g->tensors[i].name);
        free(g->tensors[i].data);
        free(g->tensors[i].blob);
        free(g->tensors[i].capval);
        free(g->tensors[i].vb);
    }
    for (int i = 0; i < g->n_nodes; i++) node_free(&g->nodes[i]);
    free(g->tensors);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->source);
    for (int i = 0; i < g->n_deferred; i++)
        if (g->deferred[i].free) g->deferred[i].free(g->deferred[i].ctx);
    free(g->deferred);
    memset(g, 0, sizeof *g);
}

static int grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap * 2 : 16;
    while (ncap < need) ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

int af_graph_add_tensor(af_graph *g, const char *name, af_dtype dtype, int rank,
                        const int64_t *dims)
{
    if (rank > AF_MAX_RANK) return -1;
    int64_t d[AF_MAX_RANK]; /* callers may pass another tensor's dims, which grow() can move */
    for (int i = 0; i < AF_MAX_RANK; i++) d[i] = (dims && i < rank) ? dims[i] : -1;
    if (grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof(af_tensor)))
        return -1;
    af_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = strdup(name ? name : "");
    if (!t->name) return -1;
    t->dtype = dtype;
    t->rank = rank;
    memcpy(t->dims, d, sizeof d);
    t->producer = -1;
    t->mem_offset = -1;
    t->encoding = AF_ENC_RAW;
    return g->n_tensors++;
}

int af_graph_find_tensor(const af_graph *g, const char *name)
{
    for (int i = g->n_tensors - 1; i >= 0; i--)
        if (strcmp(g->tensors[i].name, name) == 0) return i;
    return -1;
}

int af_graph_add_tensor_unique(af_graph *g, const char *base, af_dtype dtype, int rank,
                               const int64_t *dims)
{
    char name[256];
    snprintf(name, sizeof name, "%s", base);
    for (int k = 1; af_graph_find_tensor(g, name) >= 0; k++)
        snprintf(name, sizeof name, "%s__%d", base, k);
    return af_graph_add_tensor(g, name, dtype, rank, dims);
}

void af_tensor_set_data(af_tensor *t, void *data)
{
    if (t->data != data) free(t->data);
    t->data = data;
}

int af_graph_add_node(af_graph *g, af_op op, const char *name, const int *in, int n_in,
                      const int *out, int n_out)
{
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(af_node))) return -1;
    af_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = strdup(name ? name : "");
    n->in = malloc(sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    n->out = malloc(sizeof(int) * (size_t)(n_out > 0 ? n_out : 1));
    if (!n->name || !n->in || !n->out) {
        node_free(n);
        return -1;
    }
    if (n_in) memcpy(n->in, in, sizeof(int) * (size_t)n_in);
    if (n_out) memcpy(n->out, out, sizeof(int) * (size_t)n_out);
    n->n_in = n_in;
    n->n_out = n_out;
    for (int k = 0; k < n_out; k++)
        if (out[k] >= 0) g->tensors[out[k]].producer = g->n_nodes;
    return g->n_nodes++;
}

static int append_index(int **arr, int *n, int v)
{
    int *p = realloc(*arr, sizeof(int) * (size_t)(*n + 1));
    if (!p) return -1;
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

int af_graph_add_input(af_graph *g, int t)
{
    g->tensors[t].flags |= AF_TENSOR_INPUT;
    return append_index(&g->inputs, &g->n_inputs, t);
}

int af_graph_add_output(af_graph *g, int t)
{
    g->tensors[t].flags |= AF_TENSOR_OUTPUT;
    return append_index(&g->outputs, &g->n_outputs, t);
}

int af_tensor_shape_known(const af_tensor *t)
{
    if (t->rank < 0) return 0;
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] < 0) return 0;
    return 1;
}

int af_tensor_same_shape(const af_tensor *a, const af_tensor *b)
{
    return a->rank == b->rank &&
           (a->rank <= 0 || !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank));
}

int64_t af_tensor_numel(const af_tensor *t)
{
    if (!af_tensor_shape_known(t)) return -1;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] != 0 && n > INT64_MAX / t->dims[i]) return -1;
        n *= t->dims[i];
    }
    return n;
}

int64_t af_tensor_nbytes(const af_tensor *t)
{
    int64_t n = af_tensor_numel(t);
    int64_t es = (int64_t)af_dtype_size(t->dtype);
    if (n < 0 || n > INT64_MAX / es) return -1;
    return n * es;
}

const char *af_shape_str(int rank, const int64_t *dims, char *buf, size_t size)
{
    if (rank < 0) {
        snprintf(buf, size, "[?]");
        return buf;
    }
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, size - pos, "[");
    for (int i = 0; i < rank && pos < size; i++) {
        if (dims[i] < 0)
            pos += (size_t)snprintf(buf + pos, size - pos, "%s?", i ? "," : "");
        else
            pos += (size_t)snprintf(buf + pos, size - pos, "%s%lld", i ? "," : "",
                                    (long long)dims[i]);
    }
    if (pos < size) snprintf(buf + pos, size - pos, "]");
    return buf;
}

void af_graph_remove_node(af_graph *g, int i)
{
    af_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && g->tensors[n->out[k]].producer == i)
            g->tensors[n->out[k]].producer = -1;
    n->op = AF_OP_NONE;
}

void af_graph_replace_uses(af_graph *g, int from, int to)
{
    for (int i = 0; i < g->n_nodes; i++) {
        af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == from) n->in[k] = to;
    }
    for (int k = 0; k < g->n_outputs; k++) {
        if (g->outputs[k] != from) continue;
        g->outputs[k] = to;
        g->tensors[to].flags |= AF_TENSOR_OUTPUT;
    }
}

int af_graph_use_count(const af_graph *g, int t)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        for (int k = 0; k < n->n_in; k++) c += n->in[k] == t;
    }
    for (int k = 0; k < g->n_outputs; k++) c += g->outputs[k] == t;
    return c;
}

static void mark_used(const af_graph *g, char *used)
{
    for (int i = 0; i < g->n_inputs; i++) used[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) used[n->in[k]] = 1;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) used[n->out[k]] = 1;
    }
}

static void remap(int *ids, int n, const int *map)
{
    for (int k = 0; k < n; k++)
        if (ids[k] >= 0) ids[k] = map[ids[k]];
}

af_status af_graph_compact(af_graph *g, af_err *err)
{
    char *used = calloc((size_t)g->n_tensors + 1, 1);
    int *map = malloc(sizeof(int) * ((size_t)g->n_tensors + 1));
    if (!used || !map) {
        free(used);
        free(map);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory compacting the graph");
    }
    mark_used(g, used);
    int nt = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        if (!used[i]) {
            free(g->tensors[i].name);
            free(g->tensors[i].data);
            free(g->tensors[i].blob);
            free(g->tensors[i].capval);
            free(g->tensors[i].vb);
            map[i] = -1;
            continue;
        }
        map[i] = nt;
        g->tensors[nt++] = g->tensors[i];
    }
    g->n_tensors = nt;
    int nn = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == AF_OP_NONE) {
            node_free(&g->nodes[i]);
            continue;
        }
        g->nodes[nn++] = g->nodes[i];
    }
    g->n_nodes = nn;
    for (int i = 0; i < nn; i++) {
        af_node *n = &g->nodes[i];
        remap(n->in, n->n_in, map);
        remap(n->out, n->n_out, map);
    }
    remap(g->inputs, g->n_inputs, map);
    remap(g->outputs, g->n_outputs, map);
    for (int i = 0; i < nt; i++) g->tensors[i].producer = -1;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0) g->tensors[g->nodes[i].out[k]].producer = i;
    free(used);
    free(map);
    return AF_OK;
}

static af_status verify_node(const af_graph *g, int i, char *defined, int require_shapes,
                             af_err *err)
{
    const af_node *n = &g->nodes[i];
    const af_op_info *info = &af_op_table[n->op];
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in) ||
        n->n_out < info->min_out || (info->max_out >= 0 && n->n_out > info->max_out))
        return af_err_set(err, AF_ERR_INTERNAL, "node '%s' (%s): %d inputs, %d outputs",
                          n->name, info->name, n->n_in, n->n_out);
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t < -1 || t >= g->n_tensors)
            return af_err_set(err, AF_ERR_INTERNAL, "node '%s': input %d out of range",
                              n->name, k);
        if (t >= 0 && !defined[t])
            return af_err_set(err, AF_ERR_FORMAT,
                              "node '%s' (%s) reads '%s' before it is produced (not in "
                              "topological order, or never produced)",
                              n->name, info->name, g->tensors[t].name);
    }
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        if (t < 0 || t >= g->n_tensors)
            return af_err_set(err, AF_ERR_INTERNAL, "node '%s': output %d out of range",
                              n->name, k);
        if (defined[t])
            return af_err_set(err, AF_ERR_FORMAT, "tensor '%s' is produced twice (node '%s')",
                              g->tensors[t].name, n->name);
        defined[t] = 1;
        if (require_shapes && !af_tensor_shape_known(&g->tensors[t]))
            return af_err_set(err, AF_ERR_SHAPE, "tensor '%s' (output of node '%s') has no "
                              "known shape", g->tensors[t].name, n->name);
    }
    return AF_OK;
}

af_status af_graph_verify(const af_graph *g, int require_shapes, af_err *err)
{
    char *defined = calloc((size_t)g->n_tensors + 1, 1);
    if (!defined) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    af_status st = AF_OK;
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].data || (g->tensors[i].flags & AF_TENSOR_INPUT)) defined[i] = 1;
    for (int i = 0; i < g->n_inputs && st == AF_OK; i++)
        if (require_shapes && !af_tensor_shape_known(&g->tensors[g->inputs[i]]))
            st = af_err_set(err, AF_ERR_SHAPE, "input '%s' has no known shape",
                            g->tensors[g->inputs[i]].name);
    for (int i = 0; i < g->n_nodes && st == AF_OK; i++)
        if (g->nodes[i].op != AF_OP_NONE) st = verify_node(g, i, defined, require_shapes, err);
    for (int k = 0; k < g->n_outputs && st == AF_OK; k++)
        if (!defined[g->outputs[k]])
            st = af_err_set(err, AF_ERR_FORMAT, "graph output '%s' is never produced",
                            g->tensors[g->outputs[k]].name);
    free(defined);
    return st;
}

void af_graph_dump(const af_graph *g, FILE *f)
{
    char buf[128];
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        fprintf(f, "%4d %-14s %-24s", i, af_op_name(n->op), n->name);
        for (int k = 0; k < n->n_out; k++) {
            const af_tensor *t = &g->tensors[n->out[k]];
            fprintf(f, " -> %s %s%s", t->name, af_dtype_name(t->dtype),
                    af_shape_str(t->rank, t->dims, buf, sizeof buf));
        }
        fputc('\n', f);
    }
}

/* control flow */

int af_graph_add_deferred(af_graph *g, const af_deferred *d)
{
    af_deferred *nd = realloc(g->deferred, sizeof *nd * (size_t)(g->n_deferred + 1));
    if (!nd) {
        if (d->free) d->free(d->ctx);
        return -1;
    }
    g->deferred = nd;
    nd[g->n_deferred] = *d;
    return g->n_deferred++;
}

void af_graph_move_tail(af_graph *g, int at, int from)
{
    int n = g->n_nodes - from;
    if (n <= 0 || at + 1 >= from) return;
    af_node *tmp = malloc(sizeof *tmp * (size_t)n);
    if (tmp) {
        memcpy(tmp, &g->nodes[from], sizeof *tmp * (size_t)n);
        memmove(&g->nodes[at + 1 + n], &g->nodes[at + 1], sizeof *tmp * (size_t)(from - at - 1));
        memcpy(&g->nodes[at + 1], tmp, sizeof *tmp * (size_t)n);
        free(tmp);
    } else { /* no memory for the block: rotate one node at a time */
        for (int k = 0; k < n; k++) {
            af_node last = g->nodes[from + k];
            memmove(&g->nodes[at + 2 + k], &g->nodes[at + 1 + k],
                    sizeof last * (size_t)(from - at - 1));
            g->nodes[at + 1 + k] = last;
        }
    }
    for (int i = at + 1; i < g->n_nodes; i++) { /* nodes before at + 1 did not move */
        af_node *nd = &g->nodes[i];
        if (nd->op == AF_OP_NONE) continue;
        for (int k = 0; k < nd->n_out; k++)
            if (nd->out[k] >= 0) g->tensors[nd->out[k]].producer = i;
    }
}
