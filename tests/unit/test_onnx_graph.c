/* tests/unit/test_onnx_graph.c — graph structure at ONNX import (models made by
 * tests/data/onnx/make_graph_models.py): nodes out of order are sorted (stable), cycles and
 * undefined inputs are format errors naming the node and the tensor. Runs from tests/. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "importers/onnx/onnx_import.h"

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
}

static void test_bad_structure(void)
{
    expect_fail(D "cyclic.onnx", AF_ERR_FORMAT, "cycle", "'a'");
    expect_fail(D "undefined_input.onnx", AF_ERR_FORMAT, "node 'add' (Add)", "'nowhere'");
}

int main(void)
{
    test_unsorted();
    test_bad_structure();
    return check_report("onnx_graph");
}
