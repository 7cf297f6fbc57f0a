/* importers/onnx/onnx_graph.c — graph structure at import: the names a subgraph reads from its
 * enclosing scopes, and a stable topological sort of a graph's nodes (ONNX Runtime runs graphs
 * whose nodes are not in order, e.g. fp16 converters append their Cast nodes at the end). */
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_graph_attr(const Onnx__AttributeProto *a)
{
    return a->g || a->n_graphs;
}

static size_t n_subgraphs(const Onnx__AttributeProto *a)
{
    return a->g ? 1 : a->n_graphs;
}

static const Onnx__GraphProto *subgraph(const Onnx__AttributeProto *a, size_t i)
{
    return a->g ? a->g : a->graphs[i];
}

int onnx_node_reads(const Onnx__NodeProto *p, const char *name)
{
    for (size_t k = 0; k < p->n_input; k++)
        if (!strcmp(p->input[k], name)) return 1;
    for (size_t a = 0; a < p->n_attribute; a++) {
        const Onnx__AttributeProto *at = p->attribute[a];
        if (!is_graph_attr(at)) continue;
        for (size_t s = 0; s < n_subgraphs(at); s++) {
            const Onnx__GraphProto *sg = subgraph(at, s);
            for (size_t i = 0; i < sg->n_node; i++)
                if (onnx_node_reads(sg->node[i], name)) return 1;
            for (size_t i = 0; i < sg->n_output; i++)
                if (sg->output[i]->name && !strcmp(sg->output[i]->name, name)) return 1;
        }
    }
    return 0;
}

/* ---- outer-scope references ---- */

typedef struct refs {
    const char **v;
    int n, cap;
    onnx_names seen;
} refs;

static int ref_add(refs *r, const char *name)
{
    if (!*name || onnx_names_get(&r->seen, name) >= 0) return 0;
    if (r->n == r->cap) {
        int ncap = r->cap ? r->cap * 2 : 16;
        const char **nv = realloc(r->v, sizeof *nv * (size_t)ncap);
        if (!nv) return -1;
        r->v = nv;
        r->cap = ncap;
    }
    r->v[r->n++] = name;
    return onnx_names_put(&r->seen, name, 1);
}

static int collect(const Onnx__GraphProto *sg, refs *out, int depth);

/* Adds to out the names n (an input list of sg's nodes or nested refs) not defined in def. */
static int node_refs(const Onnx__NodeProto *p, const onnx_names *def, refs *out, int depth)
{
    for (size_t k = 0; k < p->n_input; k++)
        if (p->input[k][0] && onnx_names_get(def, p->input[k]) < 0 && ref_add(out, p->input[k]))
            return -1;
    for (size_t a = 0; a < p->n_attribute; a++) {
        const Onnx__AttributeProto *at = p->attribute[a];
        if (!is_graph_attr(at)) continue;
        for (size_t s = 0; s < n_subgraphs(at); s++) {
            refs inner = {0};
            int bad = collect(subgraph(at, s), &inner, depth + 1);
            for (int i = 0; !bad && i < inner.n; i++)
                if (onnx_names_get(def, inner.v[i]) < 0) bad = ref_add(out, inner.v[i]);
            free(inner.v);
            onnx_names_free(&inner.seen);
            if (bad) return bad;
        }
    }
    return 0;
}

/* -1 on OOM, -2 when nested too deep. */
static int collect(const Onnx__GraphProto *sg, refs *out, int depth)
{
    if (depth > 32) return -2;
    onnx_names def = {0};
    int bad = 0;
    for (size_t i = 0; i < sg->n_input && !bad; i++)
        if (sg->input[i]->name) bad = onnx_names_put(&def, sg->input[i]->name, 1);
    for (size_t i = 0; i < sg->n_initializer && !bad; i++)
        if (sg->initializer[i]->name) bad = onnx_names_put(&def, sg->initializer[i]->name, 1);
    for (size_t i = 0; i < sg->n_node && !bad; i++)
        for (size_t k = 0; k < sg->node[i]->n_output && !bad; k++)
            if (sg->node[i]->output[k][0]) bad = onnx_names_put(&def, sg->node[i]->output[k], 1);
    for (size_t i = 0; i < sg->n_node && !bad; i++) bad = node_refs(sg->node[i], &def, out, depth);
    for (size_t i = 0; i < sg->n_output && !bad; i++) {
        const char *o = sg->output[i]->name;
        if (o && *o && onnx_names_get(&def, o) < 0) bad = ref_add(out, o);
    }
    onnx_names_free(&def);
    return bad;
}

af_status onnx_subgraph_refs(onnx_ctx *c, const Onnx__GraphProto *sg, const char ***names,
                             int *n)
{
    refs r = {0};
    int bad = collect(sg, &r, 0);
    onnx_names_free(&r.seen);
    if (bad) {
        free(r.v);
        return bad == -2 ? af_err_set(c->err, AF_ERR_UNSUPPORTED, "subgraphs nested more than 32 "
                                      "deep")
                         : af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    }
    *names = r.v;
    *n = r.n;
    return AF_OK;
}

/* ---- topological sort ---- */

typedef struct sorter {
    onnx_ctx *c;
    const Onnx__GraphProto *gp;
    onnx_names producer; /* output name → node index */
    int **deps;          /* per node: producer indices of its inputs (may repeat) */
    int *n_deps;
    int *heap, n_heap;
} sorter;

static void node_label(const Onnx__GraphProto *gp, int i, char *buf, size_t n)
{
    const Onnx__NodeProto *p = gp->node[i];
    const char *op = p->op_type ? p->op_type : "";
    if (p->name && *p->name) snprintf(buf, n, "node '%s' (%s)", p->name, op);
    else snprintf(buf, n, "node '%s_%d' (%s)", op, i, op);
}

static af_status undefined(sorter *s, int i, const char *name, int nested)
{
    char who[400];
    node_label(s->gp, i, who, sizeof who);
    return af_err_set(s->c->err, AF_ERR_FORMAT, "%s: %s '%s'%s is not defined (no node, "
                      "initializer or graph input produces it)",
                      who, nested ? "its subgraph reads" : "input", name, nested ? ", which" : "");
}

/* Records that node i reads name: a dependency on its producer, or a check that it exists. */
static af_status add_dep(sorter *s, int i, const char *name, int nested, int *cap)
{
    if (!*name) return AF_OK;
    int p = onnx_names_get(&s->producer, name);
    if (p < 0) return onnx_name_get(s->c, name) >= 0 ? AF_OK : undefined(s, i, name, nested);
    if (s->n_deps[i] == *cap) {
        int ncap = *cap ? *cap * 2 : 4;
        int *nd = realloc(s->deps[i], sizeof *nd * (size_t)ncap);
        if (!nd) return af_err_set(s->c->err, AF_ERR_NOMEM, "out of memory");
        s->deps[i] = nd;
        *cap = ncap;
    }
    s->deps[i][s->n_deps[i]++] = p;
    return AF_OK;
}

static af_status node_deps(sorter *s, int i)
{
    const Onnx__NodeProto *p = s->gp->node[i];
    int cap = 0;
    af_status st = AF_OK;
    for (size_t k = 0; k < p->n_input && !st; k++) st = add_dep(s, i, p->input[k], 0, &cap);
    for (size_t a = 0; a < p->n_attribute && !st; a++) {
        const Onnx__AttributeProto *at = p->attribute[a];
        if (!is_graph_attr(at)) continue;
        for (size_t g = 0; g < n_subgraphs(at) && !st; g++) {
            const char **names = NULL;
            int n = 0;
            st = onnx_subgraph_refs(s->c, subgraph(at, g), &names, &n);
            for (int k = 0; k < n && !st; k++) st = add_dep(s, i, names[k], 1, &cap);
            free(names);
        }
    }
    return st;
}

static af_status build(sorter *s)
{
    size_t n = s->gp->n_node;
    s->deps = calloc(n ? n : 1, sizeof *s->deps);
    s->n_deps = calloc(n ? n : 1, sizeof *s->n_deps);
    s->heap = malloc(sizeof *s->heap * (n ? n : 1));
    if (!s->deps || !s->n_deps || !s->heap)
        return af_err_set(s->c->err, AF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const Onnx__NodeProto *p = s->gp->node[i];
        for (size_t k = 0; k < p->n_output; k++) {
            const char *o = p->output[k];
            if (!*o) continue;
            if (onnx_names_get(&s->producer, o) >= 0) {
                char who[400];
                node_label(s->gp, (int)i, who, sizeof who);
                return af_err_set(s->c->err, AF_ERR_FORMAT, "%s: output '%s' is also produced "
                                  "by an earlier node", who, o);
            }
            if (onnx_names_put(&s->producer, o, (int)i))
                return af_err_set(s->c->err, AF_ERR_NOMEM, "out of memory");
        }
    }
    af_status st = AF_OK;
    for (size_t i = 0; i < n && !st; i++) st = node_deps(s, (int)i);
    return st;
}

static void heap_push(sorter *s, int v)
{
    int i = s->n_heap++;
    while (i > 0 && s->heap[(i - 1) / 2] > v) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = v;
}

static int heap_pop(sorter *s)
{
    int top = s->heap[0], v = s->heap[--s->n_heap], i = 0;
    for (;;) {
        int l = 2 * i + 1, m = l + 1 < s->n_heap && s->heap[l + 1] < s->heap[l] ? l + 1 : l;
        if (l >= s->n_heap || s->heap[m] >= v) break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->n_heap) s->heap[i] = v;
    return top;
}

/* Names a node on a cycle among the nodes not emitted (done[i] == 0). */
static af_status cycle_err(sorter *s, const char *done)
{
    int n = (int)s->gp->n_node, v = 0;
    while (done[v]) v++;
    for (int step = 0; step < n; step++) /* walk back along unemitted producers: ends on a cycle */
        for (int k = 0; k < s->n_deps[v]; k++)
            if (!done[s->deps[v][k]]) {
                v = s->deps[v][k];
                break;
            }
    const Onnx__NodeProto *p = s->gp->node[v];
    const char *via = "?";
    for (size_t k = 0; k < p->n_input && !strcmp(via, "?"); k++) {
        int q = p->input[k][0] ? onnx_names_get(&s->producer, p->input[k]) : -1;
        if (q >= 0 && !done[q]) via = p->input[k];
    }
    char who[400];
    node_label(s->gp, v, who, sizeof who);
    return af_err_set(s->c->err, AF_ERR_FORMAT, "%s: input '%s' depends on the node's own "
                      "output (the graph has a cycle)", who, via);
}

static af_status kahn(sorter *s, int *order)
{
    int n = (int)s->gp->n_node, emitted = 0;
    int *indeg = calloc((size_t)(n ? n : 1), sizeof *indeg);
    int **users = calloc((size_t)(n ? n : 1), sizeof *users), *n_users = NULL;
    char *done = calloc((size_t)(n ? n : 1), 1);
    n_users = calloc((size_t)(n ? n : 1), sizeof *n_users);
    af_status st = AF_OK;
    if (!indeg || !users || !n_users || !done) st = af_err_set(s->c->err, AF_ERR_NOMEM,
                                                               "out of memory");
    for (int i = 0; i < n && !st; i++) /* count first, then fill */
        for (int k = 0; k < s->n_deps[i]; k++) n_users[s->deps[i][k]]++;
    for (int i = 0; i < n && !st; i++) {
        users[i] = malloc(sizeof(int) * (size_t)(n_users[i] ? n_users[i] : 1));
        if (!users[i]) st = af_err_set(s->c->err, AF_ERR_NOMEM, "out of memory");
        n_users[i] = 0;
    }
    for (int i = 0; i < n && !st; i++)
        for (int k = 0; k < s->n_deps[i]; k++) {
            int p = s->deps[i][k];
            users[p][n_users[p]++] = i;
            indeg[i]++;
        }
    for (int i = 0; i < n && !st; i++)
        if (!indeg[i]) heap_push(s, i);
    while (!st && s->n_heap) {
        int v = heap_pop(s);
        order[emitted++] = v;
        done[v] = 1;
        for (int k = 0; k < n_users[v]; k++)
            if (--indeg[users[v][k]] == 0) heap_push(s, users[v][k]);
    }
    if (!st && emitted < n) st = cycle_err(s, done);
    for (int i = 0; users && i < n; i++) free(users[i]);
    free(users);
    free(n_users);
    free(indeg);
    free(done);
    return st;
}

af_status onnx_sort_nodes(onnx_ctx *c, const Onnx__GraphProto *gp, int **order)
{
    sorter s = {.c = c, .gp = gp};
    *order = malloc(sizeof **order * (gp->n_node ? gp->n_node : 1));
    af_status st = *order ? build(&s) : af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (!st) st = kahn(&s, *order);
    for (size_t i = 0; s.deps && i < gp->n_node; i++) free(s.deps[i]);
    free(s.deps);
    free(s.n_deps);
    free(s.heap);
    onnx_names_free(&s.producer);
    if (st) {
        free(*order);
        *order = NULL;
    }
    return st;
}
