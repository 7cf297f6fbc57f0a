/* convert/freeze.c — see freeze.h. */
#include "freeze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

af_status af_freeze_parse(char *arg, af_freeze_spec *out, char *msg, size_t msg_size)
{
    char *eq = arg ? strchr(arg, '=') : NULL;
    if (!eq || eq == arg || !eq[1]) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "bad --freeze '%s' (want NAME=FILE.npy)", arg ? arg : "");
        return AF_ERR_USAGE;
    }
    *eq = '\0';
    out->name = arg;
    out->path = eq + 1;
    return AF_OK;
}

af_status af_freeze_read(const af_convert_options *o, af_npy *files, af_onnx_freeze *out,
                         af_err *err)
{
    for (int i = 0; i < o->n_freeze; i++) {
        const af_freeze_spec *f = &o->freeze[i];
        if (!f->name || !f->path)
            return af_err_set(err, AF_ERR_USAGE, "--freeze %d: no name or file", i);
        if (af_npy_read_file(f->path, &files[i], err) != AF_OK) return err->code;
        out[i].name = f->name;
        out[i].dtype = files[i].dtype;
        out[i].rank = files[i].rank;
        memcpy(out[i].dims, files[i].dims, sizeof out[i].dims);
        out[i].data = files[i].data;
    }
    return AF_OK;
}

/* Marks in `hit` the graph inputs tensor t is computed from (through non-constant tensors). */
static int collect_inputs(const af_graph *g, int t, uint8_t *seen, uint8_t *hit)
{
    int *stack = malloc(sizeof(int) * (size_t)(g->n_tensors + 1));
    if (!stack) return -1;
    int sp = 0, found = 0;
    stack[sp++] = t;
    seen[t] = 1;
    while (sp) {
        const af_tensor *x = &g->tensors[stack[--sp]];
        if (af_tensor_is_const(x)) continue;
        if (x->flags & AF_TENSOR_INPUT) {
            hit[x - g->tensors] = 1;
            found++;
            continue;
        }
        if (x->producer < 0 || x->producer >= g->n_nodes) continue;
        const af_node *n = &g->nodes[x->producer];
        for (int k = 0; k < n->n_in; k++) {
            int u = n->in[k];
            if (u < 0 || u >= g->n_tensors || seen[u]) continue;
            seen[u] = 1;
            stack[sp++] = u;
        }
    }
    free(stack);
    return found;
}

/* The nearest tensor t is computed from (breadth first, through non-constant tensors) that
 * has a data-dependent extent, or -1: t is then computed from the values of such rows (a
 * detection's box), which freezing an input would not make usable. seen: n_tensors bytes. */
static int nearest_dyn(const af_graph *g, int t, uint8_t *seen)
{
    int *queue = malloc(sizeof(int) * (size_t)(g->n_tensors + 1));
    if (!queue) return -1;
    int head = 0, tail = 0, found = -1;
    queue[tail++] = t;
    seen[t] = 1;
    while (head < tail && found < 0) {
        const af_tensor *x = &g->tensors[queue[head++]];
        if (af_tensor_is_const(x) || x->producer < 0 || x->producer >= g->n_nodes) continue;
        const af_node *n = &g->nodes[x->producer];
        for (int k = 0; k < n->n_in && found < 0; k++) {
            int u = n->in[k];
            if (u < 0 || u >= g->n_tensors || seen[u]) continue;
            seen[u] = 1;
            if (g->tensors[u].dyn) found = u;
            queue[tail++] = u;
        }
    }
    free(queue);
    /* rows with constant rows appended (a data-dependent Loop's reads) are named as the rows */
    for (;;) {
        const af_tensor *x = found >= 0 ? &g->tensors[found] : NULL;
        const af_node *n = x && x->producer >= 0 ? &g->nodes[x->producer] : NULL;
        if (!n || n->op != AF_OP_CONCAT) break;
        int rows = -1, others = 0;
        for (int k = 0; k < n->n_in; k++) {
            int u = n->in[k];
            if (u >= 0 && af_tensor_is_const(&g->tensors[u])) continue;
            if (u >= 0 && g->tensors[u].dyn) rows = u;
            others++;
        }
        if (others != 1 || rows < 0) break;
        found = rows;
    }
    return found;
}

/* The next '...'-quoted name in *p (skipping the one after "node "), or 0 when none. */
static int next_quoted(const char **p, const char *msg, char *out, size_t size)
{
    for (;;) {
        const char *a = strchr(*p, '\'');
        const char *b = a ? strchr(a + 1, '\'') : NULL;
        if (!b) return 0;
        *p = b + 1;
        int node = a - msg >= 5 && !strncmp(a - 5, "node ", 5);
        size_t n = (size_t)(b - a - 1);
        if (node || n == 0 || n >= size) continue;
        memcpy(out, a + 1, n);
        out[n] = '\0';
        return 1;
    }
}

static void append_hint(const af_graph *g, const uint8_t *hit, int t, af_err *err)
{
    size_t len = strlen(err->msg), cap = sizeof err->msg;
    int self = (g->tensors[t].flags & AF_TENSOR_INPUT) != 0;
    if (!self) {
        len += (size_t)snprintf(err->msg + len, cap - len, "; it is computed from graph input");
        int first = 1;
        for (int i = 0; i < g->n_inputs && len < cap; i++)
            if (hit[g->inputs[i]]) {
                len += (size_t)snprintf(err->msg + len, cap - len, "%s '%s'", first ? "" : ",",
                                        g->tensors[g->inputs[i]].name);
                first = 0;
            }
    }
    if (len < cap) len += (size_t)snprintf(err->msg + len, cap - len, "; fix it with");
    for (int i = 0; i < g->n_inputs && len < cap; i++)
        if (hit[g->inputs[i]])
            len += (size_t)snprintf(err->msg + len, cap - len, " --freeze %s=FILE.npy",
                                    g->tensors[g->inputs[i]].name);
}

void af_freeze_hint(const af_graph *g, af_err *err)
{
    if (!err || err->code == AF_OK || !strstr(err->msg, "constant") || !g->n_tensors) return;
    uint8_t *seen = calloc((size_t)g->n_tensors, 2);
    if (!seen) return;
    char name[256];
    const char *p = err->msg;
    while (next_quoted(&p, err->msg, name, sizeof name)) {
        int t = af_graph_find_tensor(g, name);
        if (t < 0 || af_tensor_is_const(&g->tensors[t])) continue;
        if (g->tensors[t].capval) { /* freezing an input would not make it constant */
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len, "; it depends on %s, which is not "
                     "supported there yet", g->tensors[t].vbound ? "bounded tensor values"
                                                                 : "a data-dependent extent");
            break;
        }
        memset(seen, 0, (size_t)g->n_tensors * 2);
        int d = nearest_dyn(g, t, seen);
        if (d >= 0) {
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len, "; it is computed from the values "
                     "of '%s' (rows of a data-dependent extent) with no upper bound on the way (a "
                     "Clip, or a Min against a bounded value): a shape computed from unbounded "
                     "tensor values has no capacity",
                     g->tensors[d].name);
            break;
        }
        memset(seen, 0, (size_t)g->n_tensors);
        if (collect_inputs(g, t, seen, seen + g->n_tensors) > 0) {
            append_hint(g, seen + g->n_tensors, t, err);
            break;
        }
    }
    free(seen);
}
