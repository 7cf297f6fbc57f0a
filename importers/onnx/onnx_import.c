/* importers/onnx/onnx_import.c — entry points: parse the ModelProto, check it, then initializers,
 * graph inputs (with --input-shape overrides), nodes (onnx_ops*.c) and graph outputs. */
#include "onnx_internal.h"
#include "onnx_depth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ONNX_MIN_OPSET 1
#define ONNX_MAX_OPSET 21

/* ---- model-level checks ---- */

static af_status find_opset(onnx_ctx *c, const Onnx__ModelProto *m, int *opset)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (o->domain && *o->domain && strcmp(o->domain, "ai.onnx")) continue;
        if (o->version < ONNX_MIN_OPSET || o->version > ONNX_MAX_OPSET)
            return af_err_set(c->err, AF_ERR_UNSUPPORTED, "opset %lld of the default domain is "
                              "not supported (%d to %d are)", (long long)o->version,
                              ONNX_MIN_OPSET, ONNX_MAX_OPSET);
        *opset = (int)o->version;
        return AF_OK;
    }
    return af_err_set(c->err, AF_ERR_UNSUPPORTED, "the model imports no opset of the default "
                      "ONNX domain");
}

/* Names every value the model defines, so generated names never take one. */
static af_status reserve_names(onnx_ctx *c, const Onnx__GraphProto *gp)
{
    af_status st = AF_OK;
    for (size_t i = 0; i < gp->n_input && !st; i++)
        if (gp->input[i]->name) st = onnx_name_put(c, gp->input[i]->name, ONNX_RESERVED);
    for (size_t i = 0; i < gp->n_initializer && !st; i++)
        if (gp->initializer[i]->name)
            st = onnx_name_put(c, gp->initializer[i]->name, ONNX_RESERVED);
    for (size_t i = 0; i < gp->n_node && !st; i++)
        for (size_t k = 0; k < gp->node[i]->n_output && !st; k++)
            if (gp->node[i]->output[k][0])
                st = onnx_name_put(c, gp->node[i]->output[k], ONNX_RESERVED);
    return st;
}

static af_status load_initializers(onnx_ctx *c, const Onnx__GraphProto *gp)
{
    if (gp->n_sparse_initializer)
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        int idx;
        if (!tp->name || !*tp->name)
            return af_err_set(c->err, AF_ERR_FORMAT, "initializer %zu has no name", i);
        af_status st = onnx_load_tensor(c, tp, tp->name, &idx);
        if (st) return st;
        c->g->tensors[idx].flags |= AF_TENSOR_INITIALIZER;
    }
    return AF_OK;
}

/* ---- graph inputs ---- */

static af_status add_input(onnx_ctx *c, const Onnx__ValueInfoProto *vi)
{
    const char *name = vi->name;
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "input '%s' is not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    af_dtype dt;
    if (onnx_dtype(tt->elem_type, &dt) < 0) /* DOUBLE inputs are narrowed to f32 */
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "input '%s' has data type %s, which is "
                          "not supported", name, onnx_dtype_name(tt->elem_type));
    int rank = -1;
    int64_t dims[AF_MAX_RANK];
    if (tt->shape) {
        if (tt->shape->n_dim > AF_MAX_RANK)
            return af_err_set(c->err, AF_ERR_UNSUPPORTED, "input '%s' has rank %zu (at most %d)",
                              name, tt->shape->n_dim, AF_MAX_RANK);
        rank = (int)tt->shape->n_dim;
        for (int i = 0; i < rank; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            int fixed = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dims[i] = fixed && d->dim_value >= 0 ? d->dim_value : -1;
        }
    }
    int idx;
    af_status st = onnx_define(c, name, dt, rank, dims, &idx);
    if (!st && af_graph_add_input(c->g, idx))
        st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    return st;
}

static af_status add_inputs(onnx_ctx *c, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !*vi->name)
            return af_err_set(c->err, AF_ERR_FORMAT, "graph input %zu has no name", i);
        if (onnx_name_get(c, vi->name) >= 0) continue; /* an initializer: a constant */
        af_status st = add_input(c, vi);
        if (st) return st;
    }
    return AF_OK;
}

static af_status apply_override(onnx_ctx *c, const af_input_shape *s)
{
    int t = s->name ? onnx_name_get(c, s->name) : -1;
    if (t < 0 || !(c->g->tensors[t].flags & AF_TENSOR_INPUT))
        return af_err_set(c->err, AF_ERR_USAGE, "--input-shape names '%s', which is not an input "
                          "of the model", s->name ? s->name : "");
    af_tensor *x = &c->g->tensors[t];
    if (s->rank < 0 || s->rank > AF_MAX_RANK)
        return af_err_set(c->err, AF_ERR_USAGE, "--input-shape %s: rank %d out of range",
                          s->name, s->rank);
    if (x->rank >= 0 && x->rank != s->rank)
        return af_err_set(c->err, AF_ERR_USAGE, "--input-shape %s gives %d dims, the input has "
                          "rank %d", s->name, s->rank, x->rank);
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0)
            return af_err_set(c->err, AF_ERR_USAGE, "--input-shape %s: dim %d is negative",
                              s->name, i);
    x->rank = s->rank;
    for (int i = 0; i < AF_MAX_RANK; i++) x->dims[i] = i < s->rank ? s->dims[i] : -1;
    return AF_OK;
}

static const char *dim_param(const Onnx__GraphProto *gp, const char *name, int i)
{
    for (size_t k = 0; k < gp->n_input; k++) {
        const Onnx__ValueInfoProto *vi = gp->input[k];
        if (strcmp(vi->name, name) || !vi->type || !vi->type->tensor_type ||
            vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
            !vi->type->tensor_type->shape || (size_t)i >= vi->type->tensor_type->shape->n_dim)
            continue;
        const Onnx__TensorShapeProto__Dimension *d = vi->type->tensor_type->shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param)
            return d->dim_param;
    }
    return "?";
}

static af_status check_input_shapes(onnx_ctx *c)
{
    for (int k = 0; k < c->g->n_inputs; k++) {
        const af_tensor *x = &c->g->tensors[c->g->inputs[k]];
        if (x->rank < 0)
            return af_err_set(c->err, AF_ERR_SHAPE, "input '%s' has an unknown rank; fix it with "
                              "--input-shape %s=D0,D1,...", x->name, x->name);
        for (int i = 0; i < x->rank; i++)
            if (x->dims[i] < 0)
                return af_err_set(c->err, AF_ERR_SHAPE, "input '%s' has an unknown dimension %d "
                                  "('%s'); fix it with --input-shape %s=D0,D1,...", x->name, i,
                                  dim_param(c->gp, x->name, i), x->name);
    }
    return AF_OK;
}

/* ---- outputs ---- */

static af_status add_outputs(onnx_ctx *c, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name;
        int t = name ? onnx_name_get(c, name) : -1;
        if (t < 0)
            return af_err_set(c->err, AF_ERR_FORMAT, "graph output '%s' is not produced by any "
                              "node, input or initializer", name ? name : "");
        if (af_graph_add_output(c->g, t)) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    }
    return AF_OK;
}

/* ---- driver ---- */

static af_status import_graph(onnx_ctx *c, const Onnx__GraphProto *gp, const af_onnx_options *o)
{
    af_status st = reserve_names(c, gp);
    if (!st) st = load_initializers(c, gp);
    if (!st) st = add_inputs(c, gp);
    for (int i = 0; o && !st && i < o->n_shapes; i++) st = apply_override(c, &o->shapes[i]);
    if (!st) st = onnx_apply_freeze(c, o);
    if (!st && !(o && o->allow_unknown_dims)) st = check_input_shapes(c);
    int *order = NULL;
    if (!st) st = onnx_sort_nodes(c, gp, &order);
    for (size_t i = 0; i < gp->n_node && !st; i++)
        st = onnx_map_node(c, gp->node[order[i]], order[i]);
    free(order);
    if (!st) st = add_outputs(c, gp);
    return st;
}

/* Returns a reason when m is not a usable ONNX model, else NULL. */
static const char *model_problem(const Onnx__ModelProto *m)
{
    if (!m->has_ir_version || m->ir_version < 1) return "no ir_version";
    if (!m->graph) return "no graph";
    if (m->graph->n_node == 0 && m->graph->n_output == 0) return "the graph is empty";
    return NULL;
}

af_status af_onnx_import_memory(const void *buf, size_t size, const char *base_dir,
                                const char *display_name, const af_onnx_options *opt,
                                af_graph *g, af_err *err)
{
    af_err local;
    if (!err) err = &local;
    af_err_clear(err);
    const char *disp = display_name ? display_name : "<memory>";
    if (!buf && size) return af_err_set(err, AF_ERR_USAGE, "%s: no buffer", disp);
    if (!onnx_nesting_ok(buf, size, &onnx__model_proto__descriptor, ONNX_MAX_NESTING))
        return af_err_set(err, AF_ERR_FORMAT, "%s is not a valid ONNX model: its messages "
                          "nest deeper than %d levels", disp, ONNX_MAX_NESTING);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, buf);
    if (!m)
        return af_err_set(err, AF_ERR_FORMAT, "%s is not a valid ONNX model: the protobuf "
                          "cannot be parsed (truncated or not ONNX)", disp);
    const char *why = model_problem(m);
    if (why) {
        onnx__model_proto__free_unpacked(m, NULL);
        return af_err_set(err, AF_ERR_FORMAT, "%s is not a valid ONNX model: %s", disp, why);
    }
    onnx_ctx c = {.g = g, .err = err, .base_dir = base_dir, .gp = m->graph};
    free(g->source);
    g->source = strdup(disp);
    af_status st = g->source ? find_opset(&c, m, &c.opset) : AF_ERR_NOMEM;
    if (!st) {
        g->opset = c.opset;
        st = import_graph(&c, m->graph, opt);
    }
    if (st == AF_ERR_NOMEM && err->code == AF_OK) af_err_set(err, st, "out of memory");
    if (st) af_err_prefix(err, disp);
    free(c.slots);
    onnx__model_proto__free_unpacked(m, NULL);
    return st;
}

/* The folder of path ("." when it has none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static af_status read_file(const char *path, void **buf, size_t *size, af_err *err)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f) return af_err_set(err, AF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return af_err_set(err, AF_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size > INT32_MAX) { /* protobuf messages are limited to 2 GiB */
        fclose(f);
        return af_err_set(err, AF_ERR_FORMAT, "%s is not a valid ONNX model: larger than 2 GiB "
                          "(large weights must use external data)", path);
    }
    *size = (size_t)sb.st_size;
    *buf = malloc(*size ? *size : 1);
    if (!*buf) {
        fclose(f);
        return af_err_set(err, AF_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(*buf, 1, *size, f);
    fclose(f);
    if (got != *size) {
        free(*buf);
        return af_err_set(err, AF_ERR_IO, "%s: read failed", path);
    }
    return AF_OK;
}

af_status af_onnx_import_file(const char *path, const af_onnx_options *opt, af_graph *g,
                              af_err *err)
{
    af_err local;
    if (!err) err = &local;
    af_err_clear(err);
    if (!path) return af_err_set(err, AF_ERR_USAGE, "no model path");
    void *buf = NULL;
    size_t size = 0;
    af_status st = read_file(path, &buf, &size, err);
    if (st) return st;
    char *dir = dir_of(path);
    if (!dir) st = af_err_set(err, AF_ERR_NOMEM, "%s: out of memory", path);
    else st = af_onnx_import_memory(buf, size, dir, path, opt, g, err);
    free(dir);
    free(buf);
    return st;
}
