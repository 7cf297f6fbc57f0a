/* tests/unit/test_freeze.c — the user path in the library: af_onnx_options.freeze (a
 * graph input becomes a constant; dtype/shape checks; errors), the --freeze hint appended to
 * lowering's "not a constant" errors (af_freeze_hint), and af_onnx_describe_file on models with
 * supported and unsupported ops. Fixtures: tests/data/onnx (make_test_models.py). Runs from
 * tests/. All checks are exact. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "convert/freeze.h"
#include "importers/onnx/onnx_describe.h"
#include "importers/onnx/onnx_import.h"
#include "lowering/lower.h"

#define D "data/onnx/"

static af_status import_frozen(const char *path, const af_onnx_freeze *f, int n, af_graph *g,
                               af_err *err)
{
    af_onnx_options o = {.freeze = f, .n_freeze = n};
    af_graph_init(g);
    af_err_clear(err);
    return af_onnx_import_file(path, &o, g, err);
}

static void test_freeze_import(void)
{
    const float w[3] = {4, 5, 6}, x[3] = {7, 8, 9};
    af_onnx_freeze f[2] = {{.name = "w", .dtype = AF_DTYPE_F32, .rank = 1, .dims = {3}, .data = w},
                           {.name = "x", .dtype = AF_DTYPE_F32, .rank = 1, .dims = {3}, .data = x}};
    af_graph g;
    af_err err;
    /* w is an initializer listed as an input (a default): --freeze replaces it; x leaves the
     * inputs and holds its data */
    af_status st = import_frozen(D "init_as_input.onnx", f, 2, &g, &err);
    CHECK(st == AF_OK, "freeze w, x: %s", err.msg);
    int tw = af_graph_find_tensor(&g, "w"), tx = af_graph_find_tensor(&g, "x");
    CHECK(tw >= 0 && tx >= 0 && g.n_inputs == 0, "inputs left: %d", g.n_inputs);
    if (tw >= 0 && tx >= 0) {
        const float *dw = g.tensors[tw].data, *dx = g.tensors[tx].data;
        CHECK(dw && dw[0] == 4 && dw[2] == 6, "w not replaced");
        CHECK(dx && dx[1] == 8 && !(g.tensors[tx].flags & AF_TENSOR_INPUT), "x not frozen");
    }
    af_graph_free(&g);
    /* errors: unknown name (usage), dtype and shape mismatches (shape), the same name twice */
    const int32_t xi[3] = {1, 2, 3};
    af_onnx_freeze bad[] = {
        {.name = "nope", .dtype = AF_DTYPE_F32, .rank = 1, .dims = {3}, .data = x},
        {.name = "x", .dtype = AF_DTYPE_I32, .rank = 1, .dims = {3}, .data = xi},
        {.name = "x", .dtype = AF_DTYPE_F32, .rank = 2, .dims = {1, 3}, .data = x},
        {.name = "x", .dtype = AF_DTYPE_F32, .rank = 1, .dims = {2}, .data = x},
    };
    const af_status want[] = {AF_ERR_USAGE, AF_ERR_SHAPE, AF_ERR_SHAPE, AF_ERR_SHAPE};
    for (int i = 0; i < 4; i++) {
        st = import_frozen(D "init_as_input.onnx", &bad[i], 1, &g, &err);
        CHECK(st == want[i] && strstr(err.msg, "--freeze") && strstr(err.msg, bad[i].name),
              "bad freeze %d: %s %s", i, af_status_str(st), err.msg);
        af_graph_free(&g);
    }
    st = import_frozen(D "init_as_input.onnx", (af_onnx_freeze[]){f[1], f[1]}, 2, &g, &err);
    CHECK(st == AF_ERR_USAGE && strstr(err.msg, "twice"), "twice: %s", err.msg);
    af_graph_free(&g);
    /* a frozen input with a dim parameter ('N') takes the file's size: no --input-shape needed */
    float *y = calloc(2 * 3 * 4 * 4, sizeof *y);
    af_onnx_freeze dyn = {.name = "x", .dtype = AF_DTYPE_F32, .rank = 4, .dims = {2, 3, 4, 4},
                          .data = y};
    st = import_frozen(D "dynamic_batch.onnx", &dyn, 1, &g, &err);
    CHECK(st == AF_OK, "dynamic dim frozen: %s", err.msg);
    af_graph_free(&g);
    free(y);
}

/* x f32[2,6], s i64[2] → Reshape(x, s + one) or Reshape(x, s) */
static void hint_graph(af_graph *g, int computed)
{
    int64_t d2[1] = {2}, dx[2] = {2, 6};
    af_graph_init(g);
    int x = af_graph_add_tensor(g, "x", AF_DTYPE_F32, 2, dx);
    int s = af_graph_add_tensor(g, "s", AF_DTYPE_I64, 1, d2);
    af_graph_add_input(g, x);
    af_graph_add_input(g, s);
    int target = s;
    if (computed) {
        int one = af_graph_add_tensor(g, "one", AF_DTYPE_I64, 1, d2);
        int64_t *v = malloc(2 * sizeof *v);
        v[0] = v[1] = 1;
        af_tensor_set_data(&g->tensors[one], v);
        target = af_graph_add_tensor(g, "s1", AF_DTYPE_I64, -1, NULL);
        int in[2] = {s, one};
        int n = af_graph_add_node(g, AF_OP_BINARY, "add", in, 2, &target, 1);
        g->nodes[n].p.binary.fn = AF_BINARY_ADD;
    }
    int y = af_graph_add_tensor(g, "y", AF_DTYPE_F32, -1, NULL);
    int in[2] = {x, target};
    int n = af_graph_add_node(g, AF_OP_RESHAPE, "reshape", in, 2, &y, 1);
    g->nodes[n].p.reshape.kind = AF_RESHAPE_RESHAPE;
    af_graph_add_output(g, y);
}

static void test_hint(void)
{
    for (int computed = 0; computed < 2; computed++) {
        af_graph g;
        af_err err = {0};
        hint_graph(&g, computed);
        af_status st = af_lower_run(&g, NULL, NULL, &err);
        CHECK(st != AF_OK && strstr(err.msg, "not a constant"), "lowering: %s", err.msg);
        af_freeze_hint(&g, &err);
        const char *want = computed ? "; it is computed from graph input 's'; fix it with "
                                      "--freeze s=FILE.npy"
                                    : "is not a constant; fix it with --freeze s=FILE.npy";
        CHECK(strstr(err.msg, want) && !strstr(err.msg, "--freeze x="), "hint: %s", err.msg);
        af_graph_free(&g);
    }
    /* no hint for other errors */
    af_graph g;
    af_err err = {0};
    hint_graph(&g, 1);
    af_err_set(&err, AF_ERR_SHAPE, "node 'reshape' (reshape): the tensor 's1' has a bad shape");
    af_freeze_hint(&g, &err);
    CHECK(!strstr(err.msg, "--freeze"), "hint on an unrelated error: %s", err.msg);
    af_graph_free(&g);
}

static const af_onnx_op_desc *find_op(const af_onnx_desc *d, const char *op)
{
    for (int i = 0; i < d->n_ops; i++)
        if (!strcmp(d->ops[i].op_type, op)) return &d->ops[i];
    return NULL;
}

static void test_describe(void)
{
    af_onnx_desc d;
    af_err err = {0};
    CHECK(af_onnx_describe_file(D "custom_domain.onnx", &d, &err) == AF_OK, "%s", err.msg);
    const af_onnx_op_desc *o = find_op(&d, "Gelu");
    CHECK(o && !o->supported && !strcmp(o->domain, "com.microsoft") && o->count == 1 &&
          !strcmp(o->nodes[0], "ms_gelu") && d.n_unsupported_nodes == 1, "custom domain op");
    CHECK(d.n_opsets == 2 && d.n_inputs == 1 && !strcmp(d.inputs[0].type, "f32") &&
          !strcmp(d.inputs[0].shape, "[2]"), "opsets %d, inputs %d", d.n_opsets, d.n_inputs);
    af_onnx_desc_free(&d);
    CHECK(af_onnx_describe_file(D "dynamic_batch.onnx", &d, &err) == AF_OK, "%s", err.msg);
    o = find_op(&d, "Relu");
    CHECK(o && o->supported && d.n_unsupported_nodes == 0, "Relu supported");
    CHECK(d.n_inputs == 1 && !strcmp(d.inputs[0].shape, "[N,3,4,4]") && d.inputs[0].dims[0] == -1,
          "dim param: %s", d.n_inputs ? d.inputs[0].shape : "");
    CHECK(d.dtypes == (1u << 1), "dtypes 0x%x (want FLOAT only)", d.dtypes);
    af_onnx_desc_free(&d);
    CHECK(af_onnx_describe_file(D "init_as_input.onnx", &d, &err) == AF_OK, "%s", err.msg);
    CHECK(d.n_inputs == 1 && !strcmp(d.inputs[0].name, "x") && d.n_initializers == 1 &&
          d.parameters == 3, "initializers listed as inputs are not inputs");
    af_onnx_desc_free(&d);
    af_err_clear(&err);
    CHECK(af_onnx_describe_file(D "truncated.onnx", &d, &err) == AF_ERR_FORMAT, "truncated: %s",
          err.msg);
    af_err_clear(&err);
    CHECK(af_onnx_describe_file(D "no_such.onnx", &d, &err) == AF_ERR_IO, "missing: %s", err.msg);
    CHECK(af_onnx_op_supported("", "Conv") && af_onnx_op_supported("ai.onnx", "Constant") &&
          !af_onnx_op_supported("com.microsoft", "Conv") && !af_onnx_op_supported("", "Frob"),
          "af_onnx_op_supported");
}

int main(void)
{
    test_freeze_import();
    test_hint();
    test_describe();
    return check_report("freeze");
}
