/* importers/onnx/onnx_control.c — If, Loop and Scan for a static (ANE) program.
 *
 * Import maps each to a placeholder node (AF_OP_CONTROL) whose inputs are the node's own inputs
 * plus every outer-scope value its subgraphs read (so node order and liveness see them), and
 * keeps the packed NodeProto. Lowering's fold reaches the placeholder once everything before it
 * is folded and calls expand() here, which needs the controlling values constant:
 *   If    the condition selects one branch; only that branch is imported (the other one is
 *         never looked at, so it cannot cause shape errors); a condition computed from
 *         data-dependent extents (docs/dynamic-shapes.md) imports both, joined by Selects;
 *   Loop  one iteration at a time: while the trip count and the condition allow, the body is
 *         imported with the iteration number as a constant, followed by a new placeholder for
 *         the rest of the loop (so a condition computed by the body folds before it is read);
 *         the end copies the loop-carried values out and stacks the scan outputs (Concat);
 *         a trip count computed from data-dependent extents (docs/dynamic-shapes.md) unrolls
 *         to its capacity: each loop-carried value is Select(k < M, body's, previous), the
 *         stacked scan outputs are cut to [0, M) on every run (M read through a Range
 *         sized by the capacity, which fails a run past it), and outer values with
 *         data-dependent rows, which the body may read only as Gather(rows, i), get zero
 *         rows appended so that iterations past this run's M read zeros;
 *   Scan  unrolled over the scan axis (known once the inputs' shapes are inferred): Slice +
 *         Squeeze per iteration, Unsqueeze + Concat for the scan outputs; opset 8's batched
 *         form without sequence_lens is unrolled over the batch too.
 * Subgraphs see the enclosing scopes' values (the placeholder's extra inputs) unless they
 * define the same name. A value that is not constant is AF_ERR_UNSUPPORTED naming the node and
 * the tensor ("... 'cond' is not a constant ..."), with --freeze as the fix for graph inputs. */
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_UNROLL 4096 /* iterations; more would make a program too large to be useful */

enum { CF_IF, CF_LOOP, CF_SCAN };

/* Every tensor name of the graph (for unique names), shared by the placeholders of one import
 * and brought up to date at each expansion (tensors are only appended while fold runs), so a
 * long loop does not index the whole graph once per iteration. */
typedef struct onnx_names_reg {
    int refs;
    const af_graph *g;
    int n_indexed;
    const char *last; /* the name of tensor n_indexed - 1 when it was indexed */
    onnx_names map;
} onnx_names_reg;

static void reg_release(onnx_names_reg *r)
{
    if (!r || --r->refs > 0) return;
    onnx_names_free(&r->map);
    free(r);
}

static int reg_sync(onnx_names_reg *r, const af_graph *g)
{
    if (r->g != g || r->n_indexed > g->n_tensors ||
        (r->n_indexed && g->tensors[r->n_indexed - 1].name != r->last)) {
        onnx_names_free(&r->map); /* another graph, or compacted: index it again */
        r->n_indexed = 0;
        r->g = g;
    }
    for (; r->n_indexed < g->n_tensors; r->n_indexed++)
        if (onnx_names_put(&r->map, g->tensors[r->n_indexed].name, r->n_indexed)) return -1;
    r->last = r->n_indexed ? g->tensors[r->n_indexed - 1].name : NULL;
    return 0;
}

typedef struct control {
    uint8_t *pb; /* the packed NodeProto */
    size_t pb_len;
    char *base_dir, *name;
    char *suffix;    /* of the scope the node is in (an unrolled iteration's "__itK") */
    int opset, kind;
    int n_explicit;  /* placeholder inputs before the outer-scope values */
    int n_implicit;
    char **implicit; /* their names, as the subgraphs read them */
    int iter;        /* Loop: iterations already imported */
    onnx_names_reg *reg;
} control;

static void control_free(void *p)
{
    control *cf = p;
    if (!cf) return;
    for (int i = 0; i < cf->n_implicit; i++) free(cf->implicit[i]);
    free(cf->implicit);
    free(cf->pb);
    free(cf->base_dir);
    free(cf->name);
    free(cf->suffix);
    reg_release(cf->reg);
    free(cf);
}

static af_status expand(af_graph *g, int node, void *ctx, af_err *err);

/* A copy of cf (for the next Loop iteration), or NULL on OOM. */
static control *control_dup(const control *cf)
{
    control *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    *d = *cf;
    d->pb = malloc(cf->pb_len ? cf->pb_len : 1);
    d->base_dir = cf->base_dir ? strdup(cf->base_dir) : NULL;
    d->name = strdup(cf->name);
    d->suffix = strdup(cf->suffix);
    d->reg->refs++;
    d->implicit = calloc((size_t)(cf->n_implicit ? cf->n_implicit : 1), sizeof *d->implicit);
    int ok = d->pb && d->name && d->suffix && d->implicit && (d->base_dir || !cf->base_dir);
    if (d->pb && cf->pb_len) memcpy(d->pb, cf->pb, cf->pb_len);
    for (int i = 0; ok && i < cf->n_implicit; i++) ok = (d->implicit[i] = strdup(cf->implicit[i])) != 0;
    if (!ok) {
        d->n_implicit = d->implicit ? d->n_implicit : 0;
        control_free(d);
        return NULL;
    }
    return d;
}

/* Adds node op(in) → outs under name with params p; registers cf as its expansion when op is
 * AF_OP_CONTROL (cf is then owned by the graph, also on failure). */
static af_status add_placeholder(onnx_ctx *c, const char *name, const int *in, int n_in,
                                 const int *out, int n_out, control *cf)
{
    af_deferred d = {expand, control_free, cf};
    int id = af_graph_add_deferred(c->g, &d);
    if (id < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    int i = af_graph_add_node(c->g, AF_OP_CONTROL, name, in, n_in, out, n_out);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[i].p.control.id = id;
    return AF_OK;
}

/* ---- import: the placeholder ---- */

static const Onnx__GraphProto *graph_attr(onnx_ctx *c, const onnx_node *nd, const char *name)
{
    const Onnx__AttributeProto *a = onnx_attr(nd->p, name);
    if (!a || !a->g) {
        onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute '%s' (a graph) is missing", name);
        return NULL;
    }
    return a->g;
}

/* Collects the outer-scope names of the node's subgraphs into cf->implicit (deduplicated). */
static af_status implicit_names(onnx_ctx *c, const onnx_node *nd, control *cf)
{
    static const char *const attrs[3][2] = {{"then_branch", "else_branch"}, {"body", NULL},
                                            {"body", NULL}};
    onnx_names seen = {0};
    af_status st = AF_OK;
    for (int a = 0; a < 2 && attrs[cf->kind][a] && !st; a++) {
        const Onnx__GraphProto *sg = graph_attr(c, nd, attrs[cf->kind][a]);
        const char **names = NULL;
        int n = 0;
        st = sg ? onnx_subgraph_refs(c, sg, &names, &n) : c->err->code;
        char **grown = st ? NULL : realloc(cf->implicit, sizeof *grown *
                                                           (size_t)(cf->n_implicit + n + 1));
        if (!st && !grown) st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
        if (grown) cf->implicit = grown;
        for (int k = 0; k < n && !st; k++) {
            if (onnx_names_get(&seen, names[k]) >= 0) continue;
            if (onnx_name_get(c, names[k]) < 0)
                st = onnx_node_err(c, nd, AF_ERR_FORMAT, "its subgraph reads '%s', which no "
                                   "enclosing scope defines", names[k]);
            else if (!(cf->implicit[cf->n_implicit] = strdup(names[k])) ||
                     onnx_names_put(&seen, cf->implicit[cf->n_implicit++], 1))
                st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
        }
        free(names);
    }
    onnx_names_free(&seen);
    return st;
}

static int kind_of(const char *op)
{
    return !strcmp(op, "If") ? CF_IF : !strcmp(op, "Loop") ? CF_LOOP : CF_SCAN;
}

/* The node's outputs as tensors (unnamed ones get fresh names). */
static af_status define_outputs(onnx_ctx *c, const onnx_node *nd, int *out)
{
    af_status st = AF_OK;
    for (size_t k = 0; k < nd->p->n_output && !st; k++) {
        char base[300];
        snprintf(base, sizeof base, "%s_out%zu", nd->name, k);
        st = nd->p->output[k][0]
                 ? onnx_define(c, nd->p->output[k], AF_DTYPE_F32, -1, NULL, &out[k])
                 : onnx_define_unique(c, base, AF_DTYPE_F32, -1, NULL, &out[k]);
    }
    return st;
}

static af_status check_arity(onnx_ctx *c, const onnx_node *nd, int kind)
{
    const Onnx__NodeProto *p = nd->p;
    if (p->n_output < 1 || p->n_output > 256 || p->n_input > 256)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "has %zu inputs and %zu outputs",
                             p->n_input, p->n_output);
    if (kind == CF_IF && p->n_input != 1)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "needs exactly 1 input (the condition)");
    if (kind == CF_LOOP && (p->n_input < 2 || p->n_output < p->n_input - 2))
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "needs inputs M, cond and the loop-carried "
                             "values, and an output for each of those");
    return AF_OK;
}

af_status onnx_map_control(onnx_ctx *c, const onnx_node *nd)
{
    const Onnx__NodeProto *p = nd->p;
    int kind = kind_of(p->op_type), n_in = 0;
    af_status st = check_arity(c, nd, kind);
    if (st) return st;
    control *cf = calloc(1, sizeof *cf);
    int *in = calloc(p->n_input + 1, sizeof *in), *out = calloc(p->n_output, sizeof *out);
    if (!cf || !in || !out) st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (!st && !c->reg && !(c->reg = calloc(1, sizeof *c->reg)))
        st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (!st) {
        cf->reg = c->reg;
        cf->reg->refs++;
        cf->kind = kind;
        cf->opset = c->opset;
        cf->pb_len = onnx__node_proto__get_packed_size(p);
        cf->pb = malloc(cf->pb_len ? cf->pb_len : 1);
        cf->name = strdup(nd->name);
        cf->suffix = strdup(c->suffix ? c->suffix : "");
        cf->base_dir = c->base_dir ? strdup(c->base_dir) : NULL;
        if (!cf->pb || !cf->name || !cf->suffix || (c->base_dir && !cf->base_dir))
            st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
        else onnx__node_proto__pack(p, cf->pb);
    }
    if (!st) st = onnx_inputs(c, nd, in, (int)p->n_input, &n_in);
    if (!st) st = implicit_names(c, nd, cf);
    int *all = NULL;
    if (!st) {
        cf->n_explicit = (int)p->n_input; /* trailing omitted inputs are -1 */
        all = malloc(sizeof *all * (size_t)(cf->n_explicit + cf->n_implicit + 1));
        if (!all) st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; !st && k < cf->n_explicit + cf->n_implicit; k++)
        all[k] = k < cf->n_explicit ? in[k] : onnx_name_get(c, cf->implicit[k - cf->n_explicit]);
    if (!st) st = define_outputs(c, nd, out);
    if (!st) {
        st = add_placeholder(c, nd->name, all, cf->n_explicit + cf->n_implicit, out,
                             (int)p->n_output, cf);
        cf = NULL; /* owned by the graph now */
    }
    control_free(cf);
    free(all);
    free(in);
    free(out);
    return st;
}

/* ---- expansion helpers ---- */

typedef struct xp {
    onnx_ctx *root; /* the placeholder's scope: its outer-scope values, all graph names */
    onnx_node nd;   /* the unpacked node, for messages */
    control *cf;
    int *in, n_in, *out, n_out; /* copies of the placeholder's (the node array may move) */
} xp;

/* The converter (convert/freeze.c) appends the graph inputs t is computed from as
 * "fix it with --freeze NAME=FILE.npy". */
static af_status not_const(xp *x, const char *what, int t)
{
    return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "%s '%s' is not a constant: "
                         "data-dependent control flow cannot be made static for the ANE", what,
                         x->root->g->tensors[t].name);
}

/* The first element of constant tensor t (what an If condition or a trip count is). */
static af_status const_value(xp *x, const char *what, int t, double *v)
{
    const af_tensor *tt = &x->root->g->tensors[t];
    if (!af_tensor_is_const(tt)) return not_const(x, what, t);
    if (af_tensor_numel(tt) < 1)
        return onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "%s '%s' is empty", what, tt->name);
    *v = af_dtype_get(tt->dtype, tt->data, 0);
    if (tt->dtype == AF_DTYPE_I64) *v = (double)((const int64_t *)tt->data)[0];
    return AF_OK;
}

/* A new node op(in) with one fresh output named after base. */
static af_status add_op(xp *x, af_op op, const char *base, const int *in, int n_in,
                        const af_params *p, int *out)
{
    af_status st = onnx_define_unique(x->root, base, AF_DTYPE_F32, -1, NULL, out);
    if (st) return st;
    int i = af_graph_add_node(x->root->g, op, base, in, n_in, out, 1);
    if (i < 0) return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    if (p) x->root->g->nodes[i].p = *p;
    return AF_OK;
}

static af_status copy_to(xp *x, int from, int to)
{
    if (from < 0)
        return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "an omitted (empty) input or "
                             "state is not supported");
    char name[300];
    snprintf(name, sizeof name, "%s__out", x->nd.name);
    if (af_graph_add_node(x->root->g, AF_OP_IDENTITY, name, &from, 1, &to, 1) < 0)
        return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    return AF_OK;
}

static af_status scalar(xp *x, const char *base, af_dtype dt, int64_t v, int *t)
{
    void *data = calloc(1, 8);
    if (!data) return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    if (dt == AF_DTYPE_I64) *(int64_t *)data = v;
    else *(uint8_t *)data = (uint8_t)(v != 0);
    af_status st = onnx_define_unique(x->root, base, dt, 0, NULL, t);
    if (st) free(data);
    else af_tensor_set_data(&x->root->g->tensors[*t], data);
    return st;
}

/* Squeeze (kind AF_RESHAPE_SQUEEZE) or Unsqueeze of x at axis. */
static af_status squeeze(xp *x, int kind, int v, int64_t axis, int *out)
{
    char base[300];
    snprintf(base, sizeof base, "%s_%s", x->nd.name, kind == AF_RESHAPE_SQUEEZE ? "sq" : "unsq");
    int in[2] = {v, -1};
    af_status st = onnx_const_i64(x->root, base, &axis, 1, &in[1]);
    af_params p = {0};
    p.reshape.kind = kind;
    return st ? st : add_op(x, AF_OP_RESHAPE, base, in, 2, &p, out);
}

/* x[idx] along axis, without that axis. */
static af_status take(xp *x, int v, int64_t axis, int64_t idx, int *out)
{
    char base[300];
    snprintf(base, sizeof base, "%s_slice", x->nd.name);
    int in[4] = {v, -1, -1, -1}, s;
    int64_t b = idx, e = idx + 1;
    af_status st = onnx_const_i64(x->root, base, &b, 1, &in[1]);
    if (!st) st = onnx_const_i64(x->root, base, &e, 1, &in[2]);
    if (!st) st = onnx_const_i64(x->root, base, &axis, 1, &in[3]);
    if (!st) st = add_op(x, AF_OP_SLICE, base, in, 4, NULL, &s);
    return st ? st : squeeze(x, AF_RESHAPE_SQUEEZE, s, axis, out);
}

/* Stacks vals[0..n) along a new axis (in reverse order when rev) into tensor `to`. */
static af_status stack_to(xp *x, const int *vals, int n, int64_t axis, int rev, int to)
{
    int *u = malloc(sizeof *u * (size_t)(n ? n : 1));
    if (!u) return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    af_status st = AF_OK;
    for (int k = 0; k < n && !st; k++) st = squeeze(x, AF_RESHAPE_UNSQUEEZE, vals[rev ? n - 1 - k : k], axis, &u[k]);
    af_params p = {0};
    p.axis.axis = (int32_t)axis;
    char name[300];
    snprintf(name, sizeof name, "%s_stack", x->nd.name);
    if (!st && af_graph_add_node(x->root->g, AF_OP_CONCAT, name, u, n, &to, 1) < 0)
        st = af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    if (!st) x->root->g->nodes[x->root->g->n_nodes - 1].p = p;
    free(u);
    return st;
}

/* Imports subgraph sg once: its inputs bound to bind[0..n_bind), its names suffixed; its
 * outputs' tensors into res (sg->n_output of them). */
static af_status import_body(xp *x, const Onnx__GraphProto *sg, const int *bind, int n_bind,
                             const char *suffix, int *res)
{
    onnx_ctx sc = {.g = x->root->g, .err = x->root->err, .base_dir = x->root->base_dir,
                   .opset = x->root->opset, .gp = sg, .outer = x->root, .all = x->root->all,
                   .suffix = suffix, .reg = x->root->reg};
    af_status st = AF_OK;
    if ((int)sg->n_input != n_bind)
        st = onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "its subgraph has %zu inputs, "
                           "expected %d", sg->n_input, n_bind);
    for (size_t i = 0; i < sg->n_input && !st; i++)
        if (!sg->input[i]->name || !*sg->input[i]->name) st = onnx_node_err(x->root, &x->nd,
                                                  AF_ERR_FORMAT, "subgraph input %zu has no name", i);
        else if (onnx_name_put(&sc, sg->input[i]->name, bind[i])) st = x->root->err->code;
    for (size_t i = 0; i < sg->n_node && !st; i++)
        for (size_t k = 0; k < sg->node[i]->n_output && !st; k++)
            if (sg->node[i]->output[k][0])
                st = onnx_name_put(&sc, sg->node[i]->output[k], ONNX_RESERVED);
    for (size_t i = 0; i < sg->n_initializer && !st; i++) {
        const Onnx__TensorProto *tp = sg->initializer[i];
        int idx;
        if (!tp->name || !*tp->name)
            st = onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "a subgraph initializer has no "
                               "name");
        else st = onnx_load_tensor(&sc, tp, tp->name, &idx);
    }
    int *order = NULL;
    if (!st) st = onnx_sort_nodes(&sc, sg, &order);
    for (size_t i = 0; i < sg->n_node && !st; i++)
        st = onnx_map_node(&sc, sg->node[order[i]], order[i]);
    free(order);
    for (size_t i = 0; i < sg->n_output && !st; i++) {
        const char *o = sg->output[i]->name;
        res[i] = o && *o ? onnx_name_get(&sc, o) : -1;
        if (res[i] < 0)
            st = onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "subgraph output '%s' is not "
                               "produced", o ? o : "");
    }
    onnx_scope_free(&sc);
    return st;
}

/* ---- If ---- */

/* A condition computed from data-dependent extents (docs/dynamic-shapes.md: torchvision's
 * "no boxes left?"): both branches are imported and each output is a Select of the two, so
 * both run on every run and the condition picks. */
static af_status expand_if_dynamic(xp *x)
{
    const Onnx__GraphProto *gt = graph_attr(x->root, &x->nd, "then_branch");
    const Onnx__GraphProto *ge = gt ? graph_attr(x->root, &x->nd, "else_branch") : NULL;
    if (!gt || !ge) return x->root->err->code;
    if ((int)gt->n_output != x->n_out || (int)ge->n_output != x->n_out)
        return onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "its branches have %zu and %zu "
                             "outputs, the node %d", gt->n_output, ge->n_output, x->n_out);
    int *res = malloc(sizeof *res * 2 * (size_t)x->n_out);
    if (!res) return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    char suffix[48], name[300];
    snprintf(suffix, sizeof suffix, "%.16s__then", x->cf->suffix);
    af_status st = import_body(x, gt, NULL, 0, suffix, res);
    if (!st) st = import_body(x, ge, NULL, 0, x->cf->suffix, res + x->n_out);
    snprintf(name, sizeof name, "%s__select", x->nd.name);
    for (int k = 0; k < x->n_out && !st; k++) {
        int in[3] = {x->in[0], res[k], res[x->n_out + k]};
        if (in[1] < 0 || in[2] < 0)
            st = onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "an omitted branch output "
                               "is not supported");
        else if (af_graph_add_node(x->root->g, AF_OP_SELECT, name, in, 3, &x->out[k], 1) < 0)
            st = af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    }
    free(res);
    return st;
}

static af_status expand_if(xp *x)
{
    double v;
    if (x->in[0] < 0) return onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "has no condition");
    const af_tensor *c = &x->root->g->tensors[x->in[0]];
    if (!af_tensor_is_const(c) && c->capval) return expand_if_dynamic(x);
    af_status st = const_value(x, "condition", x->in[0], &v);
    if (st) return st;
    const Onnx__GraphProto *sg = graph_attr(x->root, &x->nd, v != 0 ? "then_branch" : "else_branch");
    if (!sg) return x->root->err->code;
    if ((int)sg->n_output != x->n_out)
        return onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "its %s branch has %zu outputs, "
                             "the node %d", v != 0 ? "then" : "else", sg->n_output, x->n_out);
    int *res = malloc(sizeof *res * (size_t)x->n_out);
    if (!res) return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    st = import_body(x, sg, NULL, 0, x->cf->suffix, res);
    for (int k = 0; k < x->n_out && !st; k++) st = copy_to(x, res[k], x->out[k]);
    free(res);
    return st;
}

/* ---- Loop: [M?, cond?, v (N)..., scan values (iter*K)..., outer...] ---- */

/* Scan output j of a loop whose trip count m is known at run time only: the stacked
 * iterations cut to this run's count (Slice [0, m) along axis 0: a data-dependent extent). */
static af_status scan_cut(xp *x, const int *vals, int iters, int m, int to)
{
    char base[300];
    snprintf(base, sizeof base, "%s_scan", x->nd.name);
    int all, m1 = m, in[4] = {-1, -1, -1, -1};
    int64_t zero = 0;
    af_status st = onnx_define_unique(x->root, base, AF_DTYPE_F32, -1, NULL, &all);
    if (!st) st = stack_to(x, vals, iters, 0, 0, all);
    if (!st && x->root->g->tensors[m].rank == 0) st = squeeze(x, AF_RESHAPE_UNSQUEEZE, m, 0, &m1);
    if (!st) st = onnx_const_i64(x->root, base, &zero, 1, &in[1]);
    if (!st) st = onnx_const_i64(x->root, base, &zero, 1, &in[3]);
    in[0] = all, in[2] = m1;
    if (!st && af_graph_add_node(x->root->g, AF_OP_SLICE, base, in, 4, &to, 1) < 0)
        st = af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    return st;
}

/* Iteration k of a loop with a run-time trip count m: each loop-carried value becomes
 * Select(k < m, the body's, the one before), so iterations past this run's count change
 * nothing. res[1..n_carried] are replaced by the selected values. */
static af_status select_carried(xp *x, int *res, int n_carried, int m)
{
    char base[300];
    snprintf(base, sizeof base, "%s_active", x->nd.name);
    int64_t k = x->cf->iter;
    int kt, in[2], active;
    af_params p = {0};
    p.binary.fn = AF_BINARY_LESS;
    af_status st = onnx_const_i64(x->root, base, &k, 1, &kt);
    in[0] = kt, in[1] = m;
    if (!st) st = add_op(x, AF_OP_BINARY, base, in, 2, &p, &active);
    for (int j = 0; j < n_carried && !st; j++) {
        int sel[3] = {active, res[1 + j], x->in[2 + j]}, v;
        st = onnx_define_unique(x->root, base, AF_DTYPE_F32, -1, NULL, &v);
        if (!st && af_graph_add_node(x->root->g, AF_OP_SELECT, base, sel, 3, &v, 1) < 0)
            st = af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
        res[1 + j] = v;
    }
    return st;
}

/* dyn_m >= 0: the trip count tensor when it is known at run time only (scan outputs cut). */
static af_status loop_finish(xp *x, int n_carried, int n_scan, int dyn_m)
{
    af_status st = AF_OK;
    int iters = x->cf->iter;
    if (dyn_m >= 0 && !iters && n_carried) { /* no iteration: the count is still checked */
        int *res = malloc(sizeof *res * (size_t)(1 + n_carried));
        if (!res) return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
        for (int k = 0; k < n_carried; k++) res[1 + k] = x->in[2 + k];
        st = select_carried(x, res, n_carried, dyn_m);
        for (int k = 0; k < n_carried && !st; k++) x->in[2 + k] = res[1 + k];
        free(res);
    }
    for (int k = 0; k < n_carried && !st; k++) st = copy_to(x, x->in[2 + k], x->out[k]);
    if (n_scan && !iters)
        return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "runs zero iterations: its "
                             "scan outputs would be empty");
    int *vals = malloc(sizeof *vals * (size_t)(iters ? iters : 1));
    if (!vals) return af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    for (int j = 0; j < n_scan && !st; j++) {
        for (int t = 0; t < iters; t++) vals[t] = x->in[2 + n_carried + t * n_scan + j];
        st = dyn_m >= 0 ? scan_cut(x, vals, iters, dyn_m, x->out[n_carried + j])
                        : stack_to(x, vals, iters, 0, 0, x->out[n_carried + j]);
    }
    free(vals);
    return st;
}

static af_status loop_step(xp *x, const Onnx__GraphProto *body, int n_carried, int n_scan,
                           int cond, int dyn_m)
{
    int n_res = 1 + n_carried + n_scan, k = x->cf->iter;
    if ((int)body->n_output != n_res)
        return onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "its body has %zu outputs, "
                             "expected %d", body->n_output, n_res);
    int *bind = malloc(sizeof(int) * (size_t)(2 + n_carried)), *res = malloc(sizeof(int) * (size_t)n_res);
    int n_prev = k * n_scan, n_new = 2 + n_carried + n_prev + n_scan + x->cf->n_implicit;
    int *nin = malloc(sizeof(int) * (size_t)n_new);
    char base[300], suffix[48];
    snprintf(base, sizeof base, "%s_iter", x->nd.name);
    snprintf(suffix, sizeof suffix, "%.16s__it%d", x->cf->suffix, k);
    af_status st = bind && res && nin ? scalar(x, base, AF_DTYPE_I64, k, &bind[0])
                                      : af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    if (!st && cond < 0) st = scalar(x, base, AF_DTYPE_BOOL, 1, &cond);
    if (!st) {
        bind[1] = cond;
        for (int i = 0; i < n_carried; i++) bind[2 + i] = x->in[2 + i];
        st = import_body(x, body, bind, 2 + n_carried, suffix, res);
    }
    if (!st && dyn_m >= 0) st = select_carried(x, res, n_carried, dyn_m);
    control *next = st ? NULL : control_dup(x->cf);
    if (!st && !next) st = af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
    if (!st) { /* the rest of the loop: [M, cond', v'..., scan values..., outer...] */
        next->iter = k + 1;
        next->n_explicit = 2 + n_carried + n_prev + n_scan;
        nin[0] = x->in[0];
        for (int i = 0; i < 1 + n_carried; i++) nin[1 + i] = res[i];
        for (int i = 0; i < n_prev; i++) nin[2 + n_carried + i] = x->in[2 + n_carried + i];
        for (int i = 0; i < n_scan; i++) nin[2 + n_carried + n_prev + i] = res[1 + n_carried + i];
        for (int i = 0; i < x->cf->n_implicit; i++)
            nin[next->n_explicit + i] = x->in[x->cf->n_explicit + i];
        st = add_placeholder(x->root, x->nd.name, nin, n_new, x->out, x->n_out, next);
    }
    free(bind);
    free(res);
    free(nin);
    return st;
}

/* 1 when the body reads `name` only as Gather(name, iteration) along axis 0 (and has no
 * nested subgraphs, which would see the name too). */
static int rows_by_iteration(const Onnx__GraphProto *body, const char *name)
{
    const char *it = body->n_input ? body->input[0]->name : NULL;
    for (size_t i = 0; i < body->n_node; i++) {
        const Onnx__NodeProto *n = body->node[i];
        for (size_t a = 0; a < n->n_attribute; a++)
            if (n->attribute[a]->g || n->attribute[a]->n_graphs) return 0;
        for (size_t k = 0; k < n->n_input; k++) {
            if (!n->input[k] || strcmp(n->input[k], name)) continue; /* proto2: may be unset */
            const Onnx__AttributeProto *ax = onnx_attr(n, "axis");
            if (!n->op_type || strcmp(n->op_type, "Gather") || k != 0 || n->n_input != 2 ||
                !it || !n->input[1] || strcmp(n->input[1], it) || (ax && ax->i != 0))
                return 0;
        }
    }
    return 1;
}

/* A loop whose trip count is known at run time only is unrolled to the count's capacity
 * (docs/dynamic-shapes.md). The outer values with data-dependent rows that the body reads
 * (torchvision's masks[i], boxes[i]) are extended by `cap` zero rows, so that iterations past
 * this run's count read zeros instead of indexing past the rows; their results are dropped
 * (select_carried, scan_cut). */
static af_status pad_rows(xp *x, const Onnx__GraphProto *body, int64_t cap)
{
    af_graph *g = x->root->g;
    for (int i = 0; i < x->cf->n_implicit; i++) {
        int t = x->in[x->cf->n_explicit + i];
        const af_tensor *tt = &g->tensors[t];
        if (!tt->dyn) continue;
        const char *nm = x->cf->implicit[i];
        if (tt->dyn != 1u || !rows_by_iteration(body, nm))
            return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "its trip count is known "
                                 "at run time only: its body may read '%s' (data-dependent "
                                 "extent) only as Gather('%s', iteration number)", nm, nm);
        int64_t dims[AF_MAX_RANK];
        memcpy(dims, tt->dims, sizeof dims);
        dims[0] = cap;
        int64_t bytes = (int64_t)af_dtype_size(tt->dtype);
        for (int d = 0; d < tt->rank && bytes <= ((int64_t)64 << 20); d++) bytes *= dims[d];
        if (bytes < 0 || bytes > ((int64_t)64 << 20))
            return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "the %lld zero rows "
                                 "added to '%s' would take over 64 MiB", (long long)cap, nm);
        char base[300];
        snprintf(base, sizeof base, "%s_zero_rows", x->nd.name);
        int z, in[2], padded;
        void *data = calloc(1, (size_t)bytes + 1);
        af_status st = data ? onnx_define_unique(x->root, base, tt->dtype, tt->rank, dims, &z)
                            : af_err_set(x->root->err, AF_ERR_NOMEM, "out of memory");
        if (st) {
            free(data);
            return st;
        }
        af_tensor_set_data(&g->tensors[z], data);
        af_params p = {0};
        p.axis.axis = 0;
        in[0] = t, in[1] = z;
        st = add_op(x, AF_OP_CONCAT, base, in, 2, &p, &padded);
        if (!st) st = onnx_name_put(x->root, nm, padded);
        if (st) return st;
        x->in[x->cf->n_explicit + i] = padded;
    }
    return AF_OK;
}

/* *m becomes Shape(Range(0, m))[0]: the same count, but a run whose count exceeds the
 * capacity the loop was unrolled to (a count not monotone in the extents) fails there,
 * naming the Range, instead of running too few iterations. */
static af_status checked_count(xp *x, int *m)
{
    char base[300];
    snprintf(base, sizeof base, "%s_count", x->nd.name);
    int64_t zero = 0, one = 1;
    int in[3] = {-1, *m, -1}, r = -1, shp = -1, at = -1;
    af_params p = {0};
    af_status st = onnx_const_i64(x->root, base, &zero, 1, &in[0]);
    if (!st) st = onnx_const_i64(x->root, base, &one, 1, &in[2]);
    if (!st && x->root->g->tensors[*m].rank == 1) st = take(x, *m, 0, 0, &in[1]);
    if (!st) { /* scalars: Range takes rank-0 start, limit and delta */
        af_tensor *a = &x->root->g->tensors[in[0]], *c = &x->root->g->tensors[in[2]];
        a->rank = c->rank = 0;
    }
    if (!st) st = add_op(x, AF_OP_RANGE, base, in, 3, NULL, &r);
    p.shape.end = INT32_MAX;
    if (!st) st = add_op(x, AF_OP_SHAPE, base, &r, 1, &p, &shp);
    if (!st) st = onnx_const_i64(x->root, base, &zero, 1, &at);
    if (!st) x->root->g->tensors[at].rank = 0;
    int g[2] = {shp, at};
    if (!st) st = add_op(x, AF_OP_GATHER, base, g, 2, NULL, m);
    return st;
}

/* The trip count's value at capacity when it depends on data-dependent extents (-1 if not). */
static int64_t trip_capacity(const xp *x, int m)
{
    const af_tensor *t = m >= 0 ? &x->root->g->tensors[m] : NULL;
    if (!t || af_tensor_is_const(t) || !t->capval || af_tensor_numel(t) != 1 ||
        (t->dtype != AF_DTYPE_I64 && t->dtype != AF_DTYPE_I32))
        return -1;
    int64_t v = t->dtype == AF_DTYPE_I64 ? *(const int64_t *)t->capval
                                         : *(const int32_t *)t->capval;
    return v > 0 ? v : 0;
}

static af_status expand_loop(xp *x)
{
    const Onnx__GraphProto *body = graph_attr(x->root, &x->nd, "body");
    if (!body) return x->root->err->code;
    int n_carried = (int)body->n_input - 2, n_scan = x->n_out - n_carried;
    int n_prev = x->cf->iter * (n_scan > 0 ? n_scan : 0);
    if (n_carried < 0 || n_scan < 0 || x->cf->n_explicit != 2 + n_carried + n_prev)
        return onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "its body's inputs do not match "
                             "the node's (M, cond and %d loop-carried values)", x->n_out);
    int m = x->in[0], cond = x->in[1];
    double trip = -1, cv = 1;
    for (int k = 0; k < n_carried; k++)
        if (x->in[2 + k] < 0) return copy_to(x, -1, -1); /* the omitted-value error */
    if (m < 0 && cond < 0)
        return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "has neither a trip count "
                             "nor a condition (an endless loop)");
    int64_t cap = trip_capacity(x, m);
    af_status st = AF_OK;
    if (cap >= 0 && x->cf->iter == 0 && (st = checked_count(x, &x->in[0]))) return st;
    m = x->in[0];
    int dyn_m = cap >= 0 ? m : -1;
    if (cap >= 0) trip = (double)cap; /* unrolled to the capacity, cut on every run */
    else if (m >= 0) st = const_value(x, "trip count", m, &trip);
    if (!st && cond >= 0) st = const_value(x, "loop condition", cond, &cv);
    if (st) return st;
    if ((m >= 0 && x->cf->iter >= trip) || cv == 0) /* a negative M runs no iteration */
        return loop_finish(x, n_carried, n_scan, dyn_m);
    if (x->cf->iter >= MAX_UNROLL)
        return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "runs more than %d "
                             "iterations, too many to unroll", MAX_UNROLL);
    if (dyn_m >= 0 && x->cf->iter == 0 && (st = pad_rows(x, body, cap))) return st;
    return loop_step(x, body, n_carried, n_scan, cond, dyn_m);
}

/* ---- Scan ---- */

typedef struct scan_spec {
    int n_state, n_in, n_out;        /* N, M, K */
    const int64_t *in_axes, *in_dirs, *out_axes, *out_dirs;
    size_t n_in_axes, n_in_dirs, n_out_axes, n_out_dirs;
} scan_spec;

static int64_t list_at(const int64_t *v, size_t n, int i, int64_t def)
{
    return v && (size_t)i < n ? v[i] : def;
}

/* One scan over states[0..N) and xs[0..M) (axis/direction attributes apply); results into
 * final[0..N) and scan_out[0..K) (fresh tensors unless targets given). */
static af_status run_scan(xp *x, const Onnx__GraphProto *body, const scan_spec *s,
                          const int *states, const int *xs, const int *targets, int *final,
                          int *scan_out, int batch)
{
    const af_graph *g = x->root->g;
    int64_t len = -1, axes[64];
    for (int j = 0; j < s->n_in; j++) {
        /* batched (opset 8): xs are slices made just now; the length is the input's dim 1 */
        int off = batch >= 0;
        const af_tensor *t = &g->tensors[off ? x->in[1 + s->n_state + j] : xs[j]];
        int r = t->rank - off;
        int64_t a = list_at(s->in_axes, s->n_in_axes, j, 0);
        if (a < 0) a += r;
        if (t->rank < 0 || a < 0 || a >= r || t->dims[a + off] < 0)
            return onnx_node_err(x->root, &x->nd, AF_ERR_SHAPE, "scan input '%s' has an unknown "
                                 "shape or a bad axis", t->name);
        axes[j] = a;
        int64_t l = t->dims[a + off];
        if (len >= 0 && l != len)
            return onnx_node_err(x->root, &x->nd, AF_ERR_SHAPE, "scan inputs differ in length "
                                 "(%lld and %lld)", (long long)len, (long long)l);
        len = l;
    }
    if (len < 1 || len > MAX_UNROLL)
        return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "scans %lld iterations (1 to "
                             "%d can be unrolled)", (long long)len, MAX_UNROLL);
    int nb = s->n_state + s->n_in, nr = s->n_state + s->n_out;
    int *bind = malloc(sizeof(int) * (size_t)nb), *res = malloc(sizeof(int) * (size_t)nr);
    int *vals = malloc(sizeof(int) * (size_t)(len * (s->n_out ? s->n_out : 1)));
    af_status st = bind && res && vals ? AF_OK : af_err_set(x->root->err, AF_ERR_NOMEM,
                                                           "out of memory");
    for (int i = 0; i < s->n_state && !st; i++) bind[i] = states[i];
    for (int64_t t = 0; t < len && !st; t++) {
        char suffix[48];
        if (batch >= 0)
            snprintf(suffix, sizeof suffix, "%.16s__b%d_it%lld", x->cf->suffix, batch,
                     (long long)t);
        else snprintf(suffix, sizeof suffix, "%.16s__it%lld", x->cf->suffix, (long long)t);
        for (int j = 0; j < s->n_in && !st; j++) {
            int64_t idx = list_at(s->in_dirs, s->n_in_dirs, j, 0) ? len - 1 - t : t;
            st = take(x, xs[j], axes[j], idx, &bind[s->n_state + j]);
        }
        if (!st) st = import_body(x, body, bind, nb, suffix, res);
        for (int i = 0; i < s->n_state && !st; i++) bind[i] = res[i];
        for (int k = 0; k < s->n_out && !st; k++) vals[k * len + t] = res[s->n_state + k];
    }
    for (int i = 0; i < s->n_state && !st; i++) {
        if (targets) st = copy_to(x, bind[i], targets[i]);
        else final[i] = bind[i];
    }
    for (int k = 0; k < s->n_out && !st; k++) {
        char base[300];
        snprintf(base, sizeof base, "%s_scan", x->nd.name);
        int to;
        if (targets) to = targets[s->n_state + k];
        else if ((st = onnx_define_unique(x->root, base, AF_DTYPE_F32, -1, NULL, &to))) break;
        int64_t a = list_at(s->out_axes, s->n_out_axes, k, 0); /* checked >= 0 */
        st = stack_to(x, &vals[k * len], (int)len, a,
                      (int)list_at(s->out_dirs, s->n_out_dirs, k, 0), to);
        if (!targets) scan_out[k] = to;
    }
    free(bind);
    free(res);
    free(vals);
    return st;
}

static af_status scan_attrs(xp *x, scan_spec *s, int n_in_node)
{
    onnx_ctx *c = x->root;
    const onnx_node *nd = &x->nd;
    int64_t m = onnx_attr_i(c, nd, "num_scan_inputs", -1);
    int legacy = c->opset < 9; /* opset 8: [sequence_lens?, states..., inputs...] with batch */
    s->n_in = (int)m;
    s->n_state = n_in_node - legacy - (int)m;
    s->n_out = x->n_out - s->n_state;
    if (m < 1 || m > 64 || s->n_state < 0 || s->n_out < 0)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "num_scan_inputs %lld does not fit %d inputs "
                             "and %d outputs", (long long)m, n_in_node, x->n_out);
    s->in_dirs = onnx_attr_ints(c, nd, legacy ? "directions" : "scan_input_directions",
                                &s->n_in_dirs);
    s->in_axes = onnx_attr_ints(c, nd, "scan_input_axes", &s->n_in_axes);
    s->out_axes = onnx_attr_ints(c, nd, "scan_output_axes", &s->n_out_axes);
    s->out_dirs = onnx_attr_ints(c, nd, "scan_output_directions", &s->n_out_dirs);
    for (size_t i = 0; i < s->n_out_axes; i++)
        if (s->out_axes[i] < 0)
            return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "negative scan_output_axes are not "
                                 "supported");
    return c->err->code;
}

/* Opset 8: states (B, ...) and inputs (B, T, ...); the body sees one batch element. */
static af_status scan_batched(xp *x, const Onnx__GraphProto *body, scan_spec *s)
{
    const af_graph *g = x->root->g;
    if (x->in[0] >= 0)
        return onnx_node_err(x->root, &x->nd, AF_ERR_UNSUPPORTED, "sequence_lens is not "
                             "supported");
    const af_tensor *t0 = &g->tensors[x->in[1 + s->n_state]];
    int64_t nb = t0->rank > 0 ? t0->dims[0] : -1;
    if (nb < 1 || nb > MAX_UNROLL)
        return onnx_node_err(x->root, &x->nd, AF_ERR_SHAPE, "the batch size of '%s' is unknown "
                             "or too large", t0->name);
    int n = s->n_state + s->n_in, nr = s->n_state + s->n_out;
    int *sl = malloc(sizeof(int) * (size_t)n), *res = malloc(sizeof(int) * (size_t)(nr * nb));
    int *col = malloc(sizeof(int) * (size_t)nb);
    af_status st = sl && res && col ? AF_OK : af_err_set(x->root->err, AF_ERR_NOMEM,
                                                        "out of memory");
    for (int64_t b = 0; b < nb && !st; b++) {
        for (int i = 0; i < n && !st; i++) st = take(x, x->in[1 + i], 0, b, &sl[i]);
        if (!st) st = run_scan(x, body, s, sl, sl + s->n_state, NULL, &res[b * nr],
                               &res[b * nr + s->n_state], (int)b);
    }
    for (int i = 0; i < nr && !st; i++) {
        for (int64_t b = 0; b < nb; b++) col[b] = res[b * nr + i];
        st = stack_to(x, col, (int)nb, 0, 0, x->out[i]);
    }
    free(sl);
    free(res);
    free(col);
    return st;
}

static af_status expand_scan(xp *x)
{
    const Onnx__GraphProto *body = graph_attr(x->root, &x->nd, "body");
    scan_spec s = {0};
    af_status st = body ? scan_attrs(x, &s, x->cf->n_explicit) : x->root->err->code;
    if (st) return st;
    if (x->root->opset < 9) return scan_batched(x, body, &s);
    for (int i = 0; i < s.n_state + s.n_in; i++)
        if (x->in[i] < 0) return onnx_node_err(x->root, &x->nd, AF_ERR_FORMAT, "input %d is "
                                               "empty", i);
    return run_scan(x, body, &s, x->in, x->in + s.n_state, x->out, NULL, NULL, -1);
}

/* ---- the af_deferred callback ---- */

static af_status expand(af_graph *g, int node, void *ctx, af_err *err)
{
    control *cf = ctx;
    const af_node *n = &g->nodes[node];
    xp x = {.cf = cf, .n_in = n->n_in, .n_out = n->n_out};
    x.in = malloc(sizeof(int) * (size_t)(n->n_in + 1));
    x.out = malloc(sizeof(int) * (size_t)(n->n_out + 1));
    Onnx__NodeProto *p = onnx__node_proto__unpack(NULL, cf->pb_len, cf->pb);
    onnx_ctx root = {.g = g, .err = err, .base_dir = cf->base_dir, .opset = cf->opset,
                     .all = &cf->reg->map, .reg = cf->reg};
    af_status st = x.in && x.out && p ? AF_OK : af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (!st) {
        memcpy(x.in, n->in, sizeof(int) * (size_t)n->n_in);
        memcpy(x.out, n->out, sizeof(int) * (size_t)n->n_out);
    }
    if (!st && reg_sync(cf->reg, g)) st = af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < cf->n_implicit && !st; i++)
        if (onnx_name_put(&root, cf->implicit[i], x.in[cf->n_explicit + i])) st = err->code;
    if (!st && x.n_in != cf->n_explicit + cf->n_implicit)
        st = af_err_set(err, AF_ERR_INTERNAL, "node '%s': placeholder inputs changed", cf->name);
    x.root = &root;
    x.nd = (onnx_node){p, cf->name, 0};
    if (!st) {
        st = cf->kind == CF_IF ? expand_if(&x) : cf->kind == CF_LOOP ? expand_loop(&x)
                                                                     : expand_scan(&x);
        if (!st) st = err->code; /* attribute readers record their errors */
    }
    onnx_scope_free(&root);
    if (p) onnx__node_proto__free_unpacked(p, NULL);
    free(x.in);
    free(x.out);
    return st;
}
