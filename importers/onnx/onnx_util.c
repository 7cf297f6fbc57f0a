/* importers/onnx/onnx_util.c — value-name map, attribute readers and node emitters. */
#include "onnx_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- name map: open addressing, FNV-1a ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static onnx_slot *find_slot(const onnx_slot *slots, size_t cap, const char *name)
{
    size_t i = (size_t)hash_str(name) & (cap - 1);
    while (slots[i].key && strcmp(slots[i].key, name) != 0) i = (i + 1) & (cap - 1);
    return (onnx_slot *)&slots[i];
}

static int local_get(const onnx_ctx *c, const char *name)
{
    if (!c->cap) return -1;
    const onnx_slot *s = find_slot(c->slots, c->cap, name);
    return s->key ? s->value : -1;
}

int onnx_name_get(const onnx_ctx *c, const char *name)
{
    int v = local_get(c, name); /* a subgraph's own names shadow the enclosing scopes' */
    return v == -1 && c->outer ? onnx_name_get(c->outer, name) : v;
}

static af_status grow_map(onnx_ctx *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 256;
    onnx_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].key) *find_slot(ns, ncap, c->slots[i].key) = c->slots[i];
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return AF_OK;
}

af_status onnx_name_put(onnx_ctx *c, const char *name, int value)
{
    if ((c->used + 1) * 2 > c->cap && grow_map(c)) return c->err->code;
    onnx_slot *s = find_slot(c->slots, c->cap, name);
    if (!s->key) c->used++;
    s->key = name;
    s->value = value;
    return AF_OK;
}

/* in a subgraph expansion (c->all set) a value's tensor is named
 * "<name><suffix>", made unique in the whole graph, and the scope maps the ONNX name to it. */
static af_status define_scoped(onnx_ctx *c, const char *key, const char *tname, af_dtype dt,
                               int rank, const int64_t *dims, int *idx)
{
    char name[300];
    snprintf(name, sizeof name, "%s", tname);
    /* a counter shared by the whole graph: a name taken by every earlier loop iteration
     * costs one probe, not one per iteration */
    while (onnx_names_get(c->all, name) != -1 || (!key && onnx_name_get(c, name) != -1))
        snprintf(name, sizeof name, "%s__%d", tname, ++c->all->next);
    int t = af_graph_add_tensor(c->g, name, dt, rank, dims);
    if (t < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    *idx = t;
    if (onnx_names_put(c->all, c->g->tensors[t].name, t))
        return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (!key) return onnx_name_put(c, c->g->tensors[t].name, t);
    if (c->n_keys == c->cap_keys) {
        size_t ncap = c->cap_keys ? c->cap_keys * 2 : 32;
        char **nk = realloc(c->keys, sizeof *nk * ncap);
        if (!nk) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
        c->keys = nk;
        c->cap_keys = ncap;
    }
    char *own = strdup(key);
    if (!own) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->keys[c->n_keys++] = own;
    return onnx_name_put(c, own, t);
}

void onnx_scope_free(onnx_ctx *c)
{
    for (size_t i = 0; i < c->n_keys; i++) free(c->keys[i]);
    free(c->keys);
    free(c->slots);
    c->keys = NULL;
    c->slots = NULL;
    c->n_keys = c->cap_keys = c->cap = c->used = 0;
}

af_status onnx_define(onnx_ctx *c, const char *name, af_dtype dt, int rank, const int64_t *dims,
                      int *idx)
{
    if (local_get(c, name) >= 0)
        return af_err_set(c->err, AF_ERR_FORMAT, "value '%s' is defined twice", name);
    if (rank > AF_MAX_RANK)
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "value '%s' has rank %d (at most %d)",
                          name, rank, AF_MAX_RANK);
    if (c->all) {
        char tname[300];
        snprintf(tname, sizeof tname, "%s%s", name, c->suffix ? c->suffix : "");
        return define_scoped(c, name, tname, dt, rank, dims, idx);
    }
    int t = af_graph_add_tensor(c->g, name, dt, rank, dims);
    if (t < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    *idx = t;
    return onnx_name_put(c, c->g->tensors[t].name, t);
}

af_status onnx_define_unique(onnx_ctx *c, const char *base, af_dtype dt, int rank,
                             const int64_t *dims, int *idx)
{
    if (c->all) return define_scoped(c, NULL, base, dt, rank, dims, idx);
    char name[300];
    snprintf(name, sizeof name, "%s", base);
    for (int k = 1; onnx_name_get(c, name) != -1; k++)
        snprintf(name, sizeof name, "%s__%d", base, k);
    return onnx_define(c, name, dt, rank, dims, idx);
}

static af_status define_const(onnx_ctx *c, const char *base, af_dtype dt, const void *v, int n,
                              int rank, int *idx)
{
    int64_t dims[1] = {n};
    size_t bytes = af_dtype_size(dt) * (size_t)n;
    void *data = malloc(bytes ? bytes : 1);
    if (!data) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (bytes) memcpy(data, v, bytes);
    af_status st = onnx_define_unique(c, base, dt, rank, dims, idx);
    if (st) {
        free(data);
        return st;
    }
    af_tensor_set_data(&c->g->tensors[*idx], data);
    return AF_OK;
}

af_status onnx_const_i64(onnx_ctx *c, const char *base, const int64_t *v, int n, int *idx)
{
    return define_const(c, base, AF_DTYPE_I64, v, n, 1, idx);
}

af_status onnx_const_f32(onnx_ctx *c, const char *base, const float *v, int n, int rank,
                         int *idx)
{
    return define_const(c, base, AF_DTYPE_F32, v, n, rank, idx);
}

int onnx_consumed(const onnx_ctx *c, const char *name)
{
    if (!name || !*name) return 0;
    const Onnx__GraphProto *gp = c->gp;
    for (size_t i = 0; i < gp->n_node; i++)
        if (onnx_node_reads(gp->node[i], name)) return 1; /* also from its subgraphs */
    for (size_t k = 0; k < gp->n_output; k++)
        if (gp->output[k]->name && strcmp(gp->output[k]->name, name) == 0) return 1;
    return 0;
}

int onnx_used_outputs(const onnx_ctx *c, const onnx_node *nd, int max)
{
    int n = 1;
    for (int k = 1; k < max && (size_t)k < nd->p->n_output; k++)
        if (nd->p->output[k][0] && onnx_consumed(c, nd->p->output[k])) n = k + 1;
    return n;
}

/* ---- attributes ---- */

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

/* The attribute's type; IR v1 files may omit it, so guess from the field in use. */
static int attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type) return a->type;
    if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static const Onnx__AttributeProto *typed_attr(onnx_ctx *c, const onnx_node *nd, const char *name,
                                              int type, const char *type_name)
{
    const Onnx__AttributeProto *a = onnx_attr(nd->p, name);
    if (!a) return NULL;
    if (attr_type(a) != type) {
        onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute '%s' should be %s", name, type_name);
        return NULL;
    }
    return a;
}

int64_t onnx_attr_i(onnx_ctx *c, const onnx_node *nd, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a =
        typed_attr(c, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "an int");
    return a ? a->i : def;
}

af_status onnx_attr_i32_in(onnx_ctx *c, const onnx_node *nd, const char *name, int64_t def,
                           int64_t lo, int64_t hi, int32_t *out)
{
    int64_t a = onnx_attr_i(c, nd, name, def);
    if (a < lo || a > hi)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "%s %lld out of range", name, (long long)a);
    *out = (int32_t)a;
    return AF_OK;
}

float onnx_attr_f(onnx_ctx *c, const onnx_node *nd, const char *name, float def)
{
    const Onnx__AttributeProto *a =
        typed_attr(c, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a float");
    return a ? a->f : def;
}

void onnx_attr_s(onnx_ctx *c, const onnx_node *nd, const char *name, const char *def, char *buf,
                 size_t size)
{
    const Onnx__AttributeProto *a =
        typed_attr(c, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "a string");
    if (!a) {
        snprintf(buf, size, "%s", def);
        return;
    }
    size_t n = a->s.len < size - 1 ? a->s.len : size - 1;
    if (n) memcpy(buf, a->s.data, n);
    buf[n] = '\0';
}

const int64_t *onnx_attr_ints(onnx_ctx *c, const onnx_node *nd, const char *name, size_t *count)
{
    const Onnx__AttributeProto *a =
        typed_attr(c, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "a list of ints");
    *count = a ? a->n_ints : 0;
    return a ? a->ints : NULL;
}

const float *onnx_attr_floats(onnx_ctx *c, const onnx_node *nd, const char *name, size_t *count)
{
    const Onnx__AttributeProto *a = typed_attr(c, nd, name,
                                               ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
                                               "a list of floats");
    *count = a ? a->n_floats : 0;
    return a ? a->floats : NULL;
}

/* ---- nodes ---- */

af_status onnx_node_err(onnx_ctx *c, const onnx_node *nd, af_status code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return af_err_set(c->err, code, "node '%s' (%s): %s", nd->name, nd->p->op_type, msg);
}

af_status onnx_inputs(onnx_ctx *c, const onnx_node *nd, int *in, int max, int *n_in)
{
    const Onnx__NodeProto *p = nd->p;
    size_t n = p->n_input;
    while (n > 0 && p->input[n - 1][0] == '\0') n--; /* trailing omitted inputs */
    if (n > (size_t)max)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "%zu inputs given, at most %d handled",
                             n, max);
    for (size_t k = 0; k < n; k++) {
        if (p->input[k][0] == '\0') {
            in[k] = -1;
            continue;
        }
        in[k] = onnx_name_get(c, p->input[k]);
        if (in[k] < 0)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "input '%s' is not defined before this "
                                 "node (not an input, initializer or earlier output)",
                                 p->input[k]);
    }
    for (int k = (int)n; k < max; k++) in[k] = -1;
    *n_in = (int)n;
    return AF_OK;
}

af_status onnx_emit(onnx_ctx *c, const onnx_node *nd, af_op op, const int *in, int n_in,
                    int n_out, const af_params *p, int *node)
{
    const Onnx__NodeProto *pn = nd->p;
    int out[64];
    if (n_out > 64 || (size_t)n_out > pn->n_output)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "expected %d outputs, has %zu", n_out,
                             pn->n_output);
    for (size_t k = (size_t)n_out; k < pn->n_output; k++)
        if (onnx_consumed(c, pn->output[k]))
            return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "output %zu ('%s') is not supported "
                                 "(only the first %d)", k, pn->output[k], n_out);
    for (int k = 0; k < n_out; k++) {
        if (pn->output[k][0] == '\0' && k == 0)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "output %d has no name", k);
        char unused[300]; /* an omitted optional output before a used one */
        snprintf(unused, sizeof unused, "%s_out%d", nd->name, k);
        af_status st = pn->output[k][0]
                           ? onnx_define(c, pn->output[k], AF_DTYPE_F32, -1, NULL, &out[k])
                           : onnx_define_unique(c, unused, AF_DTYPE_F32, -1, NULL, &out[k]);
        if (st) return st;
    }
    int i = af_graph_add_node(c->g, op, nd->name, in, n_in, out, n_out);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (p) c->g->nodes[i].p = *p;
    if (node) *node = i;
    return AF_OK;
}

/* a standalone name → int map (toposort, subgraph scopes) */

int onnx_names_get(const onnx_names *m, const char *name)
{
    if (!m->cap) return -1;
    const onnx_slot *s = find_slot(m->slots, m->cap, name);
    return s->key ? s->value : -1;
}

int onnx_names_put(onnx_names *m, const char *name, int value)
{
    if ((m->used + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        onnx_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key) *find_slot(ns, ncap, m->slots[i].key) = m->slots[i];
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    onnx_slot *s = find_slot(m->slots, m->cap, name);
    if (!s->key) m->used++;
    s->key = name;
    s->value = value;
    return 0;
}

void onnx_names_free(onnx_names *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
