/* tests/unit/test_onnx_graph.c — graph structure at ONNX import (models made by
 * tests/data/onnx/make_graph_models.py): nodes out of order are sorted (stable), cycles and
 * undefined inputs are format errors naming the node and the tensor. Runs from tests/. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "importers/onnx/onnx_import.h"
#include "lowering/lower.h"

#define D "data/onnx/"

static af_status load(const char *path, af_graph *g, af_err *err)
{
    af_graph_init(g);
    af_err_clear(err);
    return af_onnx_import_file(path, NULL, g, err);
}

/* Expects failure with code and a message containing the words. */
static void expect_fail(const char *path, af_status code, const char *w1, const char *w2)
{
    af_graph g;
    af_err err;
    af_status st = load(path, &g, &err);
    CHECK(st == code, "%s: status %s, want %s (%s)", path, af_status_str(st),
          af_status_str(code), err.msg);
    CHECK(!w1 || strstr(err.msg, w1), "%s: message lacks '%s': %s", path, w1, err.msg);
    CHECK(!w2 || strstr(err.msg, w2), "%s: message lacks '%s': %s", path, w2, err.msg);
    CHECK(!strchr(err.msg, '\n'), "%s: one line: %s", path, err.msg);
    af_graph_free(&g);
}

static void test_unsorted(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "unsorted.onnx", &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    /* file order relu, add, cast_out, cast_in → cast_in first, the rest in file order */
    static const char *const want[4] = {"cast_in", "relu", "add", "cast_out"};
    CHECK(g.n_nodes == 4, "nodes %d", g.n_nodes);
    for (int i = 0; i < 4 && i < g.n_nodes; i++)
        CHECK(!strcmp(g.nodes[i].name, want[i]), "node %d is %s, want %s", i, g.nodes[i].name,
              want[i]);
    CHECK(af_graph_verify(&g, 0, &err) == AF_OK, "verify: %s", err.msg);
    af_graph_free(&g);
    /* an If whose branch reads 'r' comes after r's producer, though listed before it */
    st = load(D "if_unsorted.onnx", &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    CHECK(g.n_nodes == 2 && !strcmp(g.nodes[0].name, "relu") && !strcmp(g.nodes[1].name, "pick"),
          "relu, then the If");
    af_graph_free(&g);
}

static void test_bad_structure(void)
{
    expect_fail(D "cyclic.onnx", AF_ERR_FORMAT, "cycle", "'a'");
    expect_fail(D "undefined_input.onnx", AF_ERR_FORMAT, "node 'add' (Add)", "'nowhere'");
}

static int count_op(const af_graph *g, af_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
    return n;
}

static int has_node(const af_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op != AF_OP_NONE && !strcmp(g->nodes[i].name, name)) return 1;
    return 0;
}

/* If on Greater(sample_rate, 16000) with sample_rate an initializer: the then branch is
 * imported when fold reaches the placeholder; the else branch (another shape) never is. */
static void test_if_folds(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "if_init.onnx", &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    CHECK(count_op(&g, AF_OP_CONTROL) == 1, "one placeholder, got %d",
          count_op(&g, AF_OP_CONTROL));
    CHECK(af_graph_verify(&g, 0, &err) == AF_OK, "verify: %s", err.msg);
    st = af_lower_fold(&g, NULL, &err);
    CHECK(st == AF_OK, "fold: %s", err.msg);
    CHECK(count_op(&g, AF_OP_CONTROL) == 0, "placeholder expanded");
    CHECK(has_node(&g, "then_mul") && !has_node(&g, "else_reshape"), "only the then branch");
    CHECK(af_graph_verify(&g, 1, &err) == AF_OK, "verify: %s", err.msg);
    af_graph_free(&g);
    /* the same graph with sample_rate a graph input: exit-3 class error naming it */
    st = load(D "if_input.onnx", &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    st = af_lower_run(&g, NULL, NULL, &err);
    CHECK(st == AF_ERR_UNSUPPORTED, "status %s: %s", af_status_str(st), err.msg);
    /* the graph inputs to freeze are named by the converter (convert/freeze.c, e2e graph_structure) */
    CHECK(strstr(err.msg, "node 'pick' (If)") && strstr(err.msg, "'hi' is not a constant"),
          "message: %s", err.msg);
    af_graph_free(&g);
    /* frozen after import (what convert --freeze does) to 8000: the else branch, with its own
     * initializer, reshapes x to (2,2) */
    st = load(D "if_input.onnx", &g, &err);
    int sr = af_graph_find_tensor(&g, "sample_rate");
    int64_t *v = malloc(sizeof *v);
    CHECK(st == AF_OK && sr >= 0 && v, "%s", err.msg);
    if (st == AF_OK && sr >= 0 && v) {
        *v = 8000;
        af_tensor_set_data(&g.tensors[sr], v);
        g.tensors[sr].flags &= ~AF_TENSOR_INPUT;
        g.inputs[0] = g.inputs[0] == sr ? g.inputs[1] : g.inputs[0];
        g.n_inputs = 1;
        st = af_lower_run(&g, NULL, NULL, &err);
        CHECK(st == AF_OK, "%s", err.msg);
        static const int64_t yd[2] = {2, 2};
        int y = af_graph_find_tensor(&g, "y");
        CHECK(y >= 0 && g.tensors[y].rank == 2 && !memcmp(g.tensors[y].dims, yd, sizeof yd),
              "y is (2,2)");
    } else {
        free(v);
    }
    af_graph_free(&g);
}

/* The then branch's own 'x' shadows the graph input x; 'w' comes from the outer scope. */
static void test_scoping(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "if_scoping.onnx", &g, &err);
    if (!st) st = af_lower_fold(&g, NULL, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    int y = af_graph_find_tensor(&g, "y");
    const af_node *out = y >= 0 && g.tensors[y].producer >= 0 ? &g.nodes[g.tensors[y].producer]
                                                               : NULL;
    const af_tensor *v = out ? &g.tensors[out->in[0]] : NULL;
    CHECK(v && af_tensor_is_const(v) && v->dtype == AF_DTYPE_F32 && af_tensor_numel(v) == 2,
          "y's input folds to a constant");
    if (v && v->data)
        CHECK(((float *)v->data)[0] == 3.0f && ((float *)v->data)[1] == 5.0f, "y = %g %g",
              ((float *)v->data)[0], ((float *)v->data)[1]);
    af_graph_free(&g);
}

/* Loop, trip count 3, with an If on the iteration number inside: unrolled per iteration. */
static void test_loop_unrolled(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "loop_if.onnx", &g, &err);
    if (!st) st = af_lower_run(&g, NULL, NULL, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    CHECK(count_op(&g, AF_OP_CONTROL) == 0, "expanded");
    CHECK(has_node(&g, "addx__it0") && has_node(&g, "dbl__it1") && has_node(&g, "addx__it2") &&
              !has_node(&g, "dbl__it0") && !has_node(&g, "addx__it1"),
          "iteration 1 doubles, 0 and 2 add x");
    static const int64_t sd[3] = {3, 1, 4};
    int s = af_graph_find_tensor(&g, "scans");
    CHECK(s >= 0 && g.tensors[s].rank == 3 && !memcmp(g.tensors[s].dims, sd, sizeof sd),
          "scan output stacked to (3,1,4)");
    af_graph_free(&g);
}

static void test_bad_subgraphs(void)
{
    expect_fail(D "if_undefined.onnx", AF_ERR_FORMAT, "node 'pick' (If)", "'ghost'");
    expect_fail(D "if_no_else.onnx", AF_ERR_FORMAT, "node 'pick' (If)", "'else_branch'");
}

int main(void)
{
    test_unsorted();
    test_bad_structure();
    test_if_folds();
    test_scoping();
    test_loop_unrolled();
    test_bad_subgraphs();
    return check_report("onnx_graph");
}
