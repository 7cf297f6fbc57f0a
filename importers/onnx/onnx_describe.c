/* importers/onnx/onnx_describe.c — see onnx_describe.h. Walks the ModelProto only. */
#include "onnx_internal.h"
#include "onnx_depth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SUBGRAPH_DEPTH 16

const char *af_onnx_dtype_name(int32_t t) { return onnx_dtype_name(t); }

static void note_dtype(af_onnx_desc *d, int32_t t)
{
    if (t > 0 && t < 32) d->dtypes |= 1u << t;
}

/* ---- values ---- */

static char *dims_str(const Onnx__TensorShapeProto *sp)
{
    size_t cap = 2 + sp->n_dim * 24, n = 0;
    char *s = malloc(cap + 256);
    if (!s) return NULL;
    s[n++] = '[';
    for (size_t i = 0; i < sp->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = sp->dim[i];
        const char *sep = i ? "," : "";
        if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            n += (size_t)snprintf(s + n, cap + 256 - n, "%s%lld", sep, (long long)dm->dim_value);
        else if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                 dm->dim_param && *dm->dim_param && strlen(dm->dim_param) < 20)
            n += (size_t)snprintf(s + n, cap + 256 - n, "%s%s", sep, dm->dim_param);
        else n += (size_t)snprintf(s + n, cap + 256 - n, "%s?", sep);
    }
    snprintf(s + n, cap + 256 - n, "]");
    return s;
}

static int value_desc(af_onnx_desc *d, const Onnx__ValueInfoProto *vi, af_onnx_value_desc *v)
{
    const Onnx__TypeProto *tp = vi->type;
    const char *kind = "unknown";
    v->rank = -1;
    v->name = strdup(vi->name ? vi->name : "");
    if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type) {
        const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
        af_dtype dt;
        note_dtype(d, tt->elem_type);
        kind = onnx_dtype(tt->elem_type, &dt) == 0 ? af_dtype_name(dt)
                                                   : onnx_dtype_name(tt->elem_type);
        if (tt->shape) {
            v->rank = (int)tt->shape->n_dim;
            v->shape = dims_str(tt->shape);
            v->dims = calloc(tt->shape->n_dim + 1, sizeof *v->dims);
            if (!v->dims) return -1;
            for (size_t i = 0; i < tt->shape->n_dim; i++) {
                const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
                v->dims[i] = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                                 ? dm->dim_value : -1;
            }
        }
    } else if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) kind = "sequence";
    else if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) kind = "optional";
    else if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE) kind = "map";
    else if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE) kind = "sparse";
    v->type = strdup(kind);
    if (!v->shape) v->shape = strdup("");
    return v->name && v->type && v->shape ? 0 : -1;
}

static int is_initializer(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (gp->initializer[i]->name && !strcmp(gp->initializer[i]->name, name)) return 1;
    return 0;
}

static int graph_values(af_onnx_desc *d, const Onnx__GraphProto *gp)
{
    d->inputs = calloc(gp->n_input + 1, sizeof *d->inputs);
    d->outputs = calloc(gp->n_output + 1, sizeof *d->outputs);
    if (!d->inputs || !d->outputs) return -1;
    for (size_t i = 0; i < gp->n_input; i++)
        if (!is_initializer(gp, gp->input[i]->name ? gp->input[i]->name : "") &&
            value_desc(d, gp->input[i], &d->inputs[d->n_inputs++]))
            return -1;
    for (size_t i = 0; i < gp->n_output; i++)
        if (value_desc(d, gp->output[i], &d->outputs[d->n_outputs++])) return -1;
    return 0;
}

/* ---- ops and nodes ---- */

static af_onnx_op_desc *op_slot(af_onnx_desc *d, const char *domain, const char *op)
{
    for (int i = 0; i < d->n_ops; i++)
        if (!strcmp(d->ops[i].op_type, op) && !strcmp(d->ops[i].domain, domain)) return &d->ops[i];
    af_onnx_op_desc *ops = realloc(d->ops, sizeof *ops * (size_t)(d->n_ops + 1));
    if (!ops) return NULL;
    d->ops = ops;
    af_onnx_op_desc *o = &ops[d->n_ops];
    memset(o, 0, sizeof *o);
    o->op_type = strdup(op);
    o->domain = strdup(domain);
    o->supported = af_onnx_op_supported(domain, op);
    if (!o->op_type || !o->domain) {
        free(o->op_type);
        free(o->domain);
        return NULL;
    }
    d->n_ops++;
    return o;
}

static int add_node(af_onnx_desc *d, const char *domain, const char *op, const char *name)
{
    af_onnx_op_desc *o = op_slot(d, domain, op);
    if (!o) return -1;
    char **nodes = realloc(o->nodes, sizeof *nodes * (size_t)(o->count + 1));
    if (!nodes) return -1;
    o->nodes = nodes;
    if (!(nodes[o->count] = strdup(name))) return -1;
    o->count++;
    d->n_unsupported_nodes += !o->supported;
    return 0;
}

static void node_dtypes(af_onnx_desc *d, const Onnx__NodeProto *p)
{
    for (size_t a = 0; a < p->n_attribute; a++) {
        const Onnx__AttributeProto *at = p->attribute[a];
        if (at->t) note_dtype(d, at->t->data_type);
        if (at->name && !strcmp(at->name, "to") && at->has_i && at->i > 0 && at->i < 32)
            note_dtype(d, (int32_t)at->i);
    }
}

static int walk_graph(af_onnx_desc *d, const Onnx__GraphProto *gp, const char *prefix, int depth);

static int walk_subgraphs(af_onnx_desc *d, const Onnx__NodeProto *p, const char *name, int depth)
{
    for (size_t a = 0; a < p->n_attribute; a++) {
        const Onnx__AttributeProto *at = p->attribute[a];
        const Onnx__GraphProto *one[1] = {at->g};
        const Onnx__GraphProto *const *gs = at->g ? one : (const Onnx__GraphProto *const *)at->graphs;
        size_t n = at->g ? 1 : at->n_graphs;
        for (size_t k = 0; k < n; k++) {
            char prefix[512];
            snprintf(prefix, sizeof prefix, "%s/%s/", name, at->name ? at->name : "");
            if (walk_graph(d, gs[k], prefix, depth + 1)) return -1;
        }
    }
    return 0;
}

static int walk_graph(af_onnx_desc *d, const Onnx__GraphProto *gp, const char *prefix, int depth)
{
    if (!gp || depth > MAX_SUBGRAPH_DEPTH) return 0;
    for (size_t i = 0; i < gp->n_initializer; i++) note_dtype(d, gp->initializer[i]->data_type);
    for (size_t i = 0; i < gp->n_value_info; i++)
        if (gp->value_info[i]->type && gp->value_info[i]->type->value_case ==
                                           ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
            gp->value_info[i]->type->tensor_type)
            note_dtype(d, gp->value_info[i]->type->tensor_type->elem_type);
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *p = gp->node[i];
        const char *op = p->op_type ? p->op_type : "";
        const char *dom = p->domain && strcmp(p->domain, "ai.onnx") ? p->domain : "";
        char name[768];
        if (p->name && *p->name) snprintf(name, sizeof name, "%s%s", prefix, p->name);
        else snprintf(name, sizeof name, "%s%s_%zu", prefix, op, i);
        if (add_node(d, dom, op, name)) return -1;
        if (depth) d->n_subgraph_nodes++;
        else d->n_nodes++;
        node_dtypes(d, p);
        if (walk_subgraphs(d, p, name, depth)) return -1;
    }
    return 0;
}

/* ---- model ---- */

/* Element count of an initializer's declared dims (0 for a negative dim, INT64_MAX on
 * overflow). */
static int64_t elements(const Onnx__TensorProto *t)
{
    int64_t n = 1;
    for (size_t k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0) return 0;
        if (__builtin_mul_overflow(n, t->dims[k], &n)) return INT64_MAX;
    }
    return n;
}

static int model_desc(af_onnx_desc *d, const Onnx__ModelProto *m)
{
    d->ir_version = m->ir_version;
    char prod[256];
    snprintf(prod, sizeof prod, "%s%s%s", m->producer_name ? m->producer_name : "",
             m->producer_version && *m->producer_version ? " " : "",
             m->producer_version ? m->producer_version : "");
    d->producer = strdup(prod);
    d->opset_domains = calloc(m->n_opset_import + 1, sizeof *d->opset_domains);
    d->opset_versions = calloc(m->n_opset_import + 1, sizeof *d->opset_versions);
    if (!d->producer || !d->opset_domains || !d->opset_versions) return -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *dom = m->opset_import[i]->domain ? m->opset_import[i]->domain : "";
        if (!(d->opset_domains[i] = strdup(!strcmp(dom, "ai.onnx") ? "" : dom))) return -1;
        d->opset_versions[i] = m->opset_import[i]->version;
        d->n_opsets++;
    }
    const Onnx__GraphProto *gp = m->graph;
    d->n_initializers = (int)gp->n_initializer;
    for (size_t i = 0; i < gp->n_initializer; i++) /* saturating: dims are the file's word */
        if (__builtin_add_overflow(d->parameters, elements(gp->initializer[i]), &d->parameters))
            d->parameters = INT64_MAX;
    if (graph_values(d, gp)) return -1;
    return walk_graph(d, gp, "", 0);
}

af_status af_onnx_describe_memory(const void *buf, size_t size, const char *display_name,
                                  af_onnx_desc *d, af_err *err)
{
    const char *disp = display_name ? display_name : "<memory>";
    memset(d, 0, sizeof *d);
    if (!buf && size) return af_err_set(err, AF_ERR_USAGE, "%s: no buffer", disp);
    if (!onnx_nesting_ok(buf, size, &onnx__model_proto__descriptor, ONNX_MAX_NESTING))
        return af_err_set(err, AF_ERR_FORMAT, "%s is not a valid ONNX model: its messages "
                          "nest deeper than %d levels", disp, ONNX_MAX_NESTING);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, buf);
    if (!m || !m->graph) {
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return af_err_set(err, AF_ERR_FORMAT, "%s is not a valid ONNX model: %s", disp,
                          m ? "no graph" : "the protobuf cannot be parsed (truncated or not ONNX)");
    }
    af_status st = AF_OK;
    if (model_desc(d, m)) st = af_err_set(err, AF_ERR_NOMEM, "%s: out of memory", disp);
    onnx__model_proto__free_unpacked(m, NULL);
    if (st) af_onnx_desc_free(d);
    return st;
}

af_status af_onnx_describe_file(const char *path, af_onnx_desc *d, af_err *err)
{
    memset(d, 0, sizeof *d);
    uint8_t *buf = NULL;
    size_t size = 0;
    af_status st = onnx_read_file(path, (void **)&buf, &size, err);
    if (st) return st;
    st = af_onnx_describe_memory(buf, size, path, d, err);
    free(buf);
    return st;
}

static void free_values(af_onnx_value_desc *v, int n)
{
    for (int i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].type);
        free(v[i].shape);
        free(v[i].dims);
    }
    free(v);
}

void af_onnx_desc_free(af_onnx_desc *d)
{
    if (!d) return;
    free(d->producer);
    for (int i = 0; d->opset_domains && i < d->n_opsets; i++) free(d->opset_domains[i]);
    free(d->opset_domains);
    free(d->opset_versions);
    free_values(d->inputs, d->n_inputs);
    free_values(d->outputs, d->n_outputs);
    for (int i = 0; i < d->n_ops; i++) {
        for (int k = 0; k < d->ops[i].count; k++) free(d->ops[i].nodes[k]);
        free(d->ops[i].nodes);
        free(d->ops[i].op_type);
        free(d->ops[i].domain);
    }
    free(d->ops);
    memset(d, 0, sizeof *d);
}
