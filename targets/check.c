/* targets/check.c — the static preflight: a family's caps against every node of a lowered graph.
 *
 * A node runs off the ANE when its op is below the family's floor or never runs there, when it
 * reads or writes a non-float activation, or when a shape or parameter exceeds a cap. Each broken
 * cap is one violation naming the node, its op and the limit with its source. A bundle's META
 * keeps the resulting placement and the target; the scanners at the end read them back. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../convert/json.h"
#include "targets_internal.h"

const char *af_target_op_name(af_op op, const af_params *p)
{
    if (op == AF_OP_UNARY && (unsigned)p->unary.fn < AF_UNARY_COUNT) return af_unary_names[p->unary.fn];
    if (op == AF_OP_BINARY && (unsigned)p->binary.fn < AF_BINARY_COUNT) return af_binary_names[p->binary.fn];
    if (op == AF_OP_REDUCE && (unsigned)p->reduce.fn < AF_REDUCE_COUNT) return af_reduce_names[p->reduce.fn];
    return af_op_name(op);
}

int af_target_name_in(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = list; s && *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && !strncmp(s, name, n)) return 1;
        s = e ? e + 1 : NULL;
    }
    return 0;
}

typedef struct check_ctx {
    const af_graph *g;
    const af_target_family *fam;
    af_target_check_result *r;
    int node;
    int hits; /* violations of the current node */
    af_err *err;
} check_ctx;

static af_status push(check_ctx *c, const char *cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static af_status push(check_ctx *c, const char *cap, const char *fmt, ...)
{
    af_target_check_result *r = c->r;
    if (r->n == r->cap) {
        int ncap = r->cap ? r->cap * 2 : 16;
        af_target_violation *v = realloc(r->v, (size_t)ncap * sizeof *v);
        if (!v) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory listing violations");
        r->v = v;
        r->cap = ncap;
    }
    const af_node *n = &c->g->nodes[c->node];
    af_target_violation *v = &r->v[r->n++];
    snprintf(v->node, sizeof v->node, "%s", n->name ? n->name : "");
    snprintf(v->op, sizeof v->op, "%s", af_target_op_name(n->op, &n->p));
    snprintf(v->cap, sizeof v->cap, "%s", cap);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
    c->hits++;
    return AF_OK;
}

static int is_float(af_dtype t) { return t == AF_DTYPE_F32 || t == AF_DTYPE_F16 || t == AF_DTYPE_BF16; }

/* Op-level caps: never on the ANE, below the family's floor. */
static af_status check_op(check_ctx *c, const af_node *n)
{
    const char *name = af_target_op_name(n->op, &n->p);
    if (af_target_name_in(af_target_never_ops, name))
        return push(c, "never_ane", "'%s' never runs on the ANE (%s)", name,
                    af_target_never_ops_source);
    if (af_target_name_in(c->fam->missing_ops, name))
        return push(c, "missing_op", "'%s' is below %s's floor (%s)", name, c->fam->name,
                    c->fam->missing_ops_source);
    return AF_OK;
}

/* Tensor-level caps on every activation the node reads or writes. */
static af_status check_tensor(check_ctx *c, int id, const char *role)
{
    if (id < 0) return AF_OK;
    const af_tensor *t = &c->g->tensors[id];
    if (af_tensor_is_const(t)) return AF_OK;
    const af_target_family *f = c->fam;
    af_status st = AF_OK;
    if (!is_float(t->dtype))
        st = push(c, "dtype", "%s '%s' is %s (%s)", role, t->name, af_dtype_name(t->dtype),
                  af_target_dtype_source);
    if (st == AF_OK && t->rank > (int)f->max_rank.value)
        st = push(c, "max_rank", "%s '%s' has rank %d > %g (%s)", role, t->name, t->rank,
                  f->max_rank.value, f->max_rank.source);
    for (int d = 0; st == AF_OK && d < t->rank; d++)
        if ((double)t->dims[d] > f->max_dim.value) {
            st = push(c, "max_dim", "%s '%s' dim %d is %lld > %g (%s)", role, t->name, d,
                      (long long)t->dims[d], f->max_dim.value, f->max_dim.source);
            break;
        }
    return st;
}

static af_status check_spatial(check_ctx *c, const char *cap, const char *what, int nsp,
                               const int32_t *v, const af_figure *limit)
{
    for (int i = 0; i < nsp && i < AF_MAX_SPATIAL; i++)
        if ((double)v[i] > limit->value)
            return push(c, cap, "%s %d > %g (%s)", what, v[i], limit->value, limit->source);
    return AF_OK;
}

/* Parameter caps: pooling window, dilation, upsampling factor. */
static af_status check_params(check_ctx *c, const af_node *n)
{
    const af_target_family *f = c->fam;
    af_status st = AF_OK;
    if (n->op == AF_OP_POOL) {
        const af_pool_params *p = &n->p.pool;
        st = check_spatial(c, "pool_kernel", "pooling kernel", p->nsp, p->kernel, &f->pool_kernel_max);
        if (st == AF_OK)
            st = check_spatial(c, "pool_stride", "pooling stride", p->nsp, p->stride, &f->pool_stride_max);
        if (st == AF_OK)
            st = check_spatial(c, "dilation", "pooling dilation", p->nsp, p->dilation, &f->dilation_max);
    } else if (n->op == AF_OP_CONV || n->op == AF_OP_CONV_TRANSPOSE) {
        const af_conv_params *p = &n->p.conv;
        st = check_spatial(c, "dilation", "dilation", p->nsp, p->dilation, &f->dilation_max);
    } else if (n->op == AF_OP_RESIZE && n->n_in > 0 && n->in[0] >= 0) {
        int rank = c->g->tensors[n->in[0]].rank;
        for (int d = 0; d < rank && d < AF_MAX_RANK; d++)
            if ((double)n->p.resize.scale[d] > f->upsample_max.value) {
                st = push(c, "upsample", "resize factor %g on axis %d > %g (%s)",
                          n->p.resize.scale[d], d, f->upsample_max.value, f->upsample_max.source);
                break;
            }
    }
    return st;
}

static af_status check_node(check_ctx *c)
{
    const af_node *n = &c->g->nodes[c->node];
    af_status st = check_op(c, n);
    for (int k = 0; st == AF_OK && k < n->n_in; k++) st = check_tensor(c, n->in[k], "input");
    for (int k = 0; st == AF_OK && k < n->n_out; k++) st = check_tensor(c, n->out[k], "output");
    if (st == AF_OK) st = check_params(c, n);
    return st;
}

af_status af_target_check_graph(const af_graph *g, const af_target_family *fam,
                                af_target_check_result *r, uint8_t *cpu_nodes, af_err *err)
{
    if (!fam) return af_err_set(err, AF_ERR_USAGE, "no target family given");
    check_ctx c = {g, fam, r, 0, 0, err};
    for (c.node = 0; c.node < g->n_nodes; c.node++) {
        if (g->nodes[c.node].op == AF_OP_NONE) continue;
        c.hits = 0;
        if (check_node(&c) != AF_OK) return err->code;
        r->n_nodes++;
        if (c.hits) r->n_cpu_nodes++;
        if (cpu_nodes) cpu_nodes[c.node] = c.hits ? 1 : 0;
    }
    return AF_OK;
}

void af_target_check_free(af_target_check_result *r)
{
    if (!r) return;
    free(r->v);
    memset(r, 0, sizeof *r);
}

af_status af_target_check_file(const char *model_path, const af_shape_spec *shapes,
                               int n_shapes, const af_target_family *fam,
                               af_target_check_result *r, char *msg, size_t msg_size)
{
    af_err err = {0};
    memset(r, 0, sizeof *r);
    af_graph g;
    af_graph_init(&g);
    if (af_target_load_model(model_path, shapes, n_shapes, &g, &err) == AF_OK &&
        af_target_check_graph(&g, fam, r, NULL, &err) != AF_OK)
        af_err_prefix(&err, model_path);
    af_graph_free(&g);
    if (err.code != AF_OK && msg && msg_size) snprintf(msg, msg_size, "%s", err.msg);
    return err.code;
}

/* ---- placement in the bundle's META ---------------------------------------------------- */

char *af_target_placement_json(const af_graph *g, const uint8_t *cpu_nodes)
{
    af_json j;
    json_init(&j);
    json_open(&j, '[');
    int first = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == AF_OP_NONE) continue;
        json_raw(&j, first ? "{" : ",{");
        first = 0;
        j.need_comma = 0;
        json_kv_str(&j, "node", g->nodes[i].name);
        json_kv_str(&j, "device", cpu_nodes && cpu_nodes[i] ? "cpu" : "ane");
        json_close(&j, '}');
    }
    json_close(&j, ']');
    if (!json_ok(&j)) {
        json_free(&j);
        return NULL;
    }
    return j.buf;
}

/* Reads the JSON string starting at s (just after its opening quote) into out; returns the
 * position after the closing quote or NULL. */
static const char *read_string(const char *s, const char *end, char *out, size_t size)
{
    size_t k = 0;
    while (s < end && *s != '"') {
        char ch = *s++;
        if (ch == '\\' && s < end) {
            ch = *s++;
            if (ch == 'n') ch = '\n';
            else if (ch == 't') ch = '\t';
            else if (ch == 'u') { /* \u00XX from json_string: keep a placeholder */
                s += (end - s >= 4) ? 4 : end - s;
                ch = '?';
            }
        }
        if (k + 1 < size) out[k++] = ch;
    }
    if (size) out[k] = '\0';
    return s < end ? s + 1 : NULL;
}

int af_target_placement_scan(const char *meta, size_t len, int *n_ane, int *n_cpu,
                             void (*each_cpu)(const char *node, void *ctx), void *ctx)
{
    static const char key[] = "\"placement\":[";
    static const char nkey[] = "{\"node\":\"";
    static const char dkey[] = ",\"device\":\"";
    *n_ane = *n_cpu = 0;
    const char *end = meta + len, *s = meta;
    const char *hit = NULL;
    for (; s + sizeof key - 1 <= end; s++)
        if (!memcmp(s, key, sizeof key - 1)) {
            hit = s + sizeof key - 1;
            break;
        }
    if (!hit) return 0;
    s = hit;
    char node[256], dev[16];
    while (s && s + sizeof nkey - 1 <= end && !memcmp(s, nkey, sizeof nkey - 1)) {
        s = read_string(s + sizeof nkey - 1, end, node, sizeof node);
        if (!s || s + sizeof dkey - 1 > end || memcmp(s, dkey, sizeof dkey - 1)) break;
        s = read_string(s + sizeof dkey - 1, end, dev, sizeof dev);
        if (!s) break;
        if (!strcmp(dev, "cpu")) {
            (*n_cpu)++;
            if (each_cpu) each_cpu(node, ctx);
        } else {
            (*n_ane)++;
        }
        if (s < end && *s == '}') s++;
        if (s < end && *s == ',') s++;
    }
    return 1;
}

/* The string value of "key" in a META object, copied into out; NULL when absent or not a string. */
static const char *meta_string(const char *meta, size_t len, const char *key, char *out, size_t size)
{
    char pat[48];
    int k = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *end = meta + len;
    for (const char *s = meta; k > 0 && k < (int)sizeof pat && s + k <= end; s++)
        if (!memcmp(s, pat, (size_t)k)) return read_string(s + k, end, out, size) ? out : NULL;
    return NULL;
}

int af_target_meta_read(const char *meta, size_t len, af_target *out, char *recorded,
                        size_t recorded_size)
{
    char dev[64], fam[64];
    const char *name = meta ? meta_string(meta, len, "target_device", dev, sizeof dev) : NULL;
    if (!name && meta) name = meta_string(meta, len, "target", fam, sizeof fam);
    if (recorded_size) snprintf(recorded, recorded_size, "%s", name ? name : "");
    if (!name) return 0;
    return af_target_resolve(name, out, NULL, 0) == AF_OK ? 1 : -1;
}
