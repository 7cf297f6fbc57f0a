/* tools/inspect_onnx.c — `aneforge inspect MODEL.onnx [--json]`: describes any model that parses
 * (opsets, declared inputs and outputs, ONNX op counts, data types, every op without a mapper
 * with its nodes) from the ModelProto itself, then tries the import: when it succeeds, the op
 * counts and parameters after import; when not, its one-line error. Exit 0 whenever the model
 * parses (an import failure is part of the description), 3 when it does not. */
#include <stdio.h>
#include <string.h>

#include "../convert/json.h"
#include "../graph/graph.h"
#include "../importers/onnx/onnx_describe.h"
#include "../importers/onnx/onnx_import.h"
#include "cli.h"
#include "inspect.h"

#define TEXT_NODES_PER_OP 8 /* the text lists this many node names per unsupported op; --json all */

typedef struct imported {
    int ok;
    af_err err;
    int opset, n_nodes;
    int64_t params, pbytes;
    op_count ops[64];
    int n_ops;
} imported;

static void try_import(const char *path, imported *im)
{
    af_graph g;
    af_graph_init(&g);
    af_onnx_options opt = {.allow_unknown_dims = 1};
    memset(im, 0, sizeof *im);
    im->ok = af_onnx_import_file(path, &opt, &g, &im->err) == AF_OK;
    if (im->ok) {
        im->opset = g.opset;
        im->n_nodes = g.n_nodes;
        for (int i = 0; i < g.n_nodes; i++)
            inspect_count_op(im->ops, &im->n_ops, inspect_display_op(g.nodes[i].op, &g.nodes[i].p));
        for (int i = 0; i < g.n_tensors; i++)
            if (g.tensors[i].data) {
                im->params += af_tensor_numel(&g.tensors[i]);
                im->pbytes += af_tensor_nbytes(&g.tensors[i]);
            }
    }
    af_graph_free(&g);
}

static int64_t default_opset(const af_onnx_desc *d)
{
    for (int i = 0; i < d->n_opsets; i++)
        if (!*d->opset_domains[i]) return d->opset_versions[i];
    return 0;
}

/* ---- text ---- */

static void print_values(const char *what, const af_onnx_value_desc *v, int n)
{
    for (int i = 0; i < n; i++)
        printf("  %-7s %s: %s%s\n", what, v[i].name, v[i].type, v[i].rank < 0 ? "[?]" : v[i].shape);
}

static void print_op_name(const af_onnx_op_desc *o)
{
    if (*o->domain) printf("%s.", o->domain);
    printf("%s", o->op_type);
}

static void print_unsupported(const af_onnx_desc *d)
{
    printf("  unsupported: %d node%s:", d->n_unsupported_nodes, d->n_unsupported_nodes == 1 ? "" : "s");
    for (int i = 0; i < d->n_ops; i++) {
        const af_onnx_op_desc *o = &d->ops[i];
        if (o->supported) continue;
        printf("\n    ");
        print_op_name(o);
        printf("×%d:", o->count);
        for (int k = 0; k < o->count && k < TEXT_NODES_PER_OP; k++) printf(" %s", o->nodes[k]);
        if (o->count > TEXT_NODES_PER_OP) printf(" ... (%d more)", o->count - TEXT_NODES_PER_OP);
    }
    putchar('\n');
}

static void print_text(const char *path, const af_onnx_desc *d, const imported *im)
{
    printf("%s: ONNX model, opset %lld, %d nodes", path, (long long)default_opset(d), d->n_nodes);
    if (d->n_subgraph_nodes) printf(" (+%d in subgraphs)", d->n_subgraph_nodes);
    if (im->ok) printf(", %lld parameters (%.2f MB)\n", (long long)im->params, im->pbytes / 1e6);
    else printf(", %lld parameters\n", (long long)d->parameters);
    printf("  ir_version %lld, producer '%s', opsets:", (long long)d->ir_version, d->producer);
    for (int i = 0; i < d->n_opsets; i++)
        printf(" %s %lld", *d->opset_domains[i] ? d->opset_domains[i] : "ai.onnx",
               (long long)d->opset_versions[i]);
    putchar('\n');
    print_values("input", d->inputs, d->n_inputs);
    print_values("output", d->outputs, d->n_outputs);
    printf("  onnx ops:");
    for (int i = 0; i < d->n_ops; i++) {
        putchar(' ');
        print_op_name(&d->ops[i]);
        printf("×%d", d->ops[i].count);
    }
    printf("\n  dtypes:");
    for (int t = 1; t < 32; t++)
        if (d->dtypes & (1u << t)) printf(" %s", af_onnx_dtype_name(t));
    putchar('\n');
    if (d->n_unsupported_nodes) print_unsupported(d);
    if (im->ok) {
        printf("  ops:");
        for (int i = 0; i < im->n_ops; i++) printf(" %s×%d", im->ops[i].name, im->ops[i].n);
        putchar('\n');
    } else {
        printf("  import: %s\n", im->err.msg);
    }
}

/* ---- json ---- */

static void json_values(af_json *j, const char *key, const af_onnx_value_desc *v, int n)
{
    json_key(j, key);
    json_open(j, '[');
    for (int i = 0; i < n; i++) {
        if (i) json_raw(j, ",");
        json_open(j, '{');
        json_kv_str(j, "name", v[i].name);
        json_kv_str(j, "dtype", v[i].type);
        json_key(j, "shape");
        if (v[i].rank < 0) {
            json_raw(j, "null");
            j->need_comma = 1;
        } else {
            json_open(j, '[');
            for (int k = 0; k < v[i].rank; k++) json_value_int(j, v[i].dims[k]);
            json_close(j, ']');
        }
        json_kv_str(j, "shape_text", v[i].rank < 0 ? NULL : v[i].shape);
        json_close(j, '}');
    }
    json_close(j, ']');
}

static void json_ops(af_json *j, const af_onnx_desc *d)
{
    json_key(j, "onnx_ops");
    json_open(j, '[');
    for (int i = 0; i < d->n_ops; i++) {
        const af_onnx_op_desc *o = &d->ops[i];
        if (i) json_raw(j, ",");
        json_open(j, '{');
        json_kv_str(j, "op", o->op_type);
        json_kv_str(j, "domain", o->domain);
        json_kv_int(j, "count", o->count);
        json_key(j, "supported");
        json_raw(j, o->supported ? "true" : "false");
        j->need_comma = 1;
        if (!o->supported) {
            json_key(j, "nodes");
            json_open(j, '[');
            for (int k = 0; k < o->count; k++) json_value_str(j, o->nodes[k]);
            json_close(j, ']');
        }
        json_close(j, '}');
    }
    json_close(j, ']');
}

static void json_head(af_json *j, const char *path, const af_onnx_desc *d)
{
    json_kv_str(j, "file", path);
    json_kv_str(j, "kind", "onnx");
    json_kv_int(j, "opset", default_opset(d));
    json_kv_int(j, "ir_version", d->ir_version);
    json_kv_str(j, "producer", d->producer);
    json_key(j, "opsets");
    json_open(j, '[');
    for (int i = 0; i < d->n_opsets; i++) {
        if (i) json_raw(j, ",");
        json_open(j, '{');
        json_kv_str(j, "domain", *d->opset_domains[i] ? d->opset_domains[i] : "ai.onnx");
        json_kv_int(j, "version", d->opset_versions[i]);
        json_close(j, '}');
    }
    json_close(j, ']');
    json_kv_int(j, "onnx_nodes", d->n_nodes);
    json_kv_int(j, "subgraph_nodes", d->n_subgraph_nodes);
    json_kv_int(j, "unsupported_nodes", d->n_unsupported_nodes);
    json_key(j, "dtypes");
    json_open(j, '[');
    for (int t = 1; t < 32; t++)
        if (d->dtypes & (1u << t)) json_value_str(j, af_onnx_dtype_name(t));
    json_close(j, ']');
}

static int print_json(const char *path, const af_onnx_desc *d, const imported *im)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_head(&j, path, d);
    json_values(&j, "inputs", d->inputs, d->n_inputs);
    json_values(&j, "outputs", d->outputs, d->n_outputs);
    json_ops(&j, d);
    json_key(&j, "imports");
    json_raw(&j, im->ok ? "true" : "false");
    j.need_comma = 1;
    json_kv_str(&j, "import_error", im->ok ? NULL : im->err.msg);
    json_kv_int(&j, "parameters", im->ok ? im->params : d->parameters);
    if (im->ok) { /* after import: the IR's op names */
        json_kv_int(&j, "nodes", im->n_nodes);
        json_kv_int(&j, "parameter_bytes", im->pbytes);
        json_key(&j, "ops");
        json_open(&j, '{');
        for (int i = 0; i < im->n_ops; i++) json_kv_int(&j, im->ops[i].name, im->ops[i].n);
        json_close(&j, '}');
    }
    json_close(&j, '}');
    int ok = json_ok(&j);
    if (ok) puts(j.buf);
    json_free(&j);
    return ok ? CLI_OK : cli_error(CLI_INTERNAL, "out of memory writing JSON");
}

int inspect_onnx(const char *path, int as_json)
{
    af_onnx_desc d;
    af_err err = {0};
    if (af_onnx_describe_file(path, &d, &err) != AF_OK)
        return cli_error(cli_exit_code(err.code), "%s", err.msg);
    imported im;
    try_import(path, &im);
    int rc = CLI_OK;
    if (as_json) rc = print_json(path, &d, &im);
    else print_text(path, &d, &im);
    af_onnx_desc_free(&d);
    return rc;
}
