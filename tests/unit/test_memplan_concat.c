/* Unit tests for the in-place Concat memory plan (lowering/memplan.h): an input produced into
 * the arena and last read by a Concat whose axis has outer extent 1 is placed inside the
 * output; refused for the same tensor twice, graph inputs/outputs, later readers, reshape
 * producers and outer extent > 1; chains of Concats and in-place reshapes keep working; and
 * tensors alive at the same time never share bytes outside those aliases. */
#include <stdlib.h>
#include <string.h>

#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "check.h"

static int tensor(af_graph *g, const char *name, int64_t n, int64_t c)
{
    int64_t d[4] = {n, c, 5, 5};
    return af_graph_add_tensor(g, name, AF_DTYPE_F32, 4, d);
}

static void relu(af_graph *g, int x, int y)
{
    int i = af_graph_add_node(g, AF_OP_UNARY, g->tensors[y].name, &x, 1, &y, 1);
    g->nodes[i].p.unary.fn = AF_UNARY_RELU;
}

static void concat(af_graph *g, const int *in, int n, int y, int axis)
{
    int i = af_graph_add_node(g, AF_OP_CONCAT, g->tensors[y].name, in, n, &y, 1);
    g->nodes[i].p.axis.axis = axis;
}

static int64_t off(const af_graph *g, int t) { return g->tensors[t].mem_offset; }
static int64_t nbytes(const af_graph *g, int t) { return af_tensor_nbytes(&g->tensors[t]); }

/* 1 when a lies inside b through Concats at its planned position (chains followed). */
static int inside(const af_graph *g, int a, int b)
{
    int p = g->tensors[b].producer;
    if (p < 0 || g->nodes[p].op != AF_OP_CONCAT) return 0;
    int64_t at = off(g, b);
    for (int k = 0; k < g->nodes[p].n_in; k++) {
        int x = g->nodes[p].in[k];
        if (off(g, x) == at && (x == a || inside(g, a, x))) return 1;
        at += nbytes(g, x);
    }
    return 0;
}

/* Tensors whose lifetimes [producer, last reader] overlap never share bytes, except a part
 * inside its Concat and a reshape taking over its input. */
static int plan_violations(const af_graph *g)
{
    int n = g->n_tensors, bad = 0;
    int *def = malloc(sizeof(int) * (size_t)n), *last = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        def[i] = (g->tensors[i].flags & AF_TENSOR_INPUT) ? -1 : g->tensors[i].producer;
        last[i] = (g->tensors[i].flags & AF_TENSOR_OUTPUT) ? g->n_nodes : def[i];
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (last[g->nodes[i].in[k]] < i) last[g->nodes[i].in[k]] = i;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            if (off(g, a) < 0 || off(g, b) < 0) {
                bad += off(g, a) < 0 || off(g, b) < 0;
                continue;
            }
            int together = def[a] <= last[b] && def[b] <= last[a];
            int overlap = off(g, a) < off(g, b) + nbytes(g, b) && off(g, b) < off(g, a) + nbytes(g, a);
            int reshape = off(g, a) == off(g, b) &&
                          ((g->tensors[b].producer >= 0 && g->nodes[g->tensors[b].producer].op == AF_OP_RESHAPE) ||
                           (g->tensors[a].producer >= 0 && g->nodes[g->tensors[a].producer].op == AF_OP_RESHAPE));
            if (together && overlap && !reshape && !inside(g, a, b) && !inside(g, b, a)) bad++;
        }
    free(def);
    free(last);
    return bad;
}

static int plan(af_graph *g, int no_inplace, af_lower_stats *st)
{
    af_err err = {0};
    af_lower_options o = {.no_inplace_concat = no_inplace};
    memset(st, 0, sizeof *st);
    af_status s = af_lower_plan_ex(g, &o, st, &err);
    CHECK(s == AF_OK, "plan: %s", err.msg);
    CHECK(plan_violations(g) == 0, "plan violations");
    return s == AF_OK;
}

/* x -> relu e1, relu e2 -> concat c (axis 1) -> relu y: both parts live inside c. Also with
 * the copying path: no part inside c, and the arena is larger. */
static void test_fire(void)
{
    for (int copy = 0; copy < 2; copy++) {
        af_graph g;
        af_graph_init(&g);
        int x = tensor(&g, "x", 1, 3), e1 = tensor(&g, "e1", 1, 3), e2 = tensor(&g, "e2", 1, 3);
        int c = tensor(&g, "c", 1, 6), y = tensor(&g, "y", 1, 6);
        af_graph_add_input(&g, x);
        relu(&g, x, e1);
        relu(&g, x, e2);
        int parts[2] = {e1, e2};
        concat(&g, parts, 2, c, 1);
        relu(&g, c, y);
        af_graph_add_output(&g, y);
        af_lower_stats st;
        if (!plan(&g, copy, &st)) return;
        if (!copy) {
            CHECK(st.concat_aliased == 2, "aliased %d", st.concat_aliased);
            CHECK(off(&g, e1) == off(&g, c) && off(&g, e2) == off(&g, c) + nbytes(&g, e1),
                  "e1 %lld e2 %lld c %lld", (long long)off(&g, e1), (long long)off(&g, e2),
                  (long long)off(&g, c));
            CHECK(off(&g, c) != off(&g, x), "c does not overlap the live input");
        } else {
            CHECK(st.concat_aliased == 0, "copying path aliased %d", st.concat_aliased);
            CHECK(!inside(&g, e1, c) && !inside(&g, e2, c), "copying path: parts outside");
        }
        af_graph_free(&g);
    }
}

/* Refusals: x (graph input) and e1 twice, e2 a graph output, e3 read again after the concat,
 * e4 produced by a reshape; e5 is the only legal part. */
static void test_refused(void)
{
    af_graph g;
    af_graph_init(&g);
    int x = tensor(&g, "x", 1, 1), e1 = tensor(&g, "e1", 1, 1), e2 = tensor(&g, "e2", 1, 1);
    int e3 = tensor(&g, "e3", 1, 1), r = tensor(&g, "r", 1, 1), e4 = tensor(&g, "e4", 1, 1);
    int e5 = tensor(&g, "e5", 1, 1), c = tensor(&g, "c", 1, 7), y = tensor(&g, "y", 1, 1);
    int y2 = tensor(&g, "y2", 1, 7);
    af_graph_add_input(&g, x);
    relu(&g, x, e1);
    relu(&g, x, e2);
    relu(&g, x, e3);
    relu(&g, x, r);
    int ri = af_graph_add_node(&g, AF_OP_RESHAPE, "reshape", &r, 1, &e4, 1);
    g.nodes[ri].p.reshape.kind = AF_RESHAPE_RESHAPE;
    relu(&g, x, e5);
    int parts[7] = {x, e1, e2, e1, e3, e4, e5};
    concat(&g, parts, 7, c, 1);
    relu(&g, e3, y);
    relu(&g, c, y2);
    af_graph_add_output(&g, e2);
    af_graph_add_output(&g, y);
    af_graph_add_output(&g, y2);
    af_lower_stats st;
    if (!plan(&g, 0, &st)) return;
    CHECK(st.concat_aliased == 1, "only e5 may be aliased, got %d", st.concat_aliased);
    CHECK(off(&g, e5) == off(&g, c) + 6 * nbytes(&g, e1), "e5 inside c");
    CHECK(!inside(&g, x, c) && !inside(&g, e1, c) && !inside(&g, e2, c) && !inside(&g, e3, c) &&
              !inside(&g, e4, c), "refused parts stay outside");
    CHECK(off(&g, e4) == off(&g, r), "the reshape still aliases its input");
    af_graph_free(&g);
}

/* Outer extent > 1: (2,1,5,5) + (2,1,5,5) along axis 1 is refused; along axis 0 it is not. */
static void test_outer_extent(void)
{
    for (int axis = 0; axis < 2; axis++) {
        af_graph g;
        af_graph_init(&g);
        int x = tensor(&g, "x", 2, 1), e1 = tensor(&g, "e1", 2, 1), e2 = tensor(&g, "e2", 2, 1);
        int c = axis ? tensor(&g, "c", 2, 2) : tensor(&g, "c", 4, 1);
        int y = axis ? tensor(&g, "y", 2, 2) : tensor(&g, "y", 4, 1);
        af_graph_add_input(&g, x);
        relu(&g, x, e1);
        relu(&g, x, e2);
        int parts[2] = {e1, e2};
        concat(&g, parts, 2, c, axis);
        relu(&g, c, y);
        af_graph_add_output(&g, y);
        af_lower_stats st;
        if (!plan(&g, 0, &st)) return;
        CHECK(st.concat_aliased == (axis ? 0 : 2), "axis %d: aliased %d", axis, st.concat_aliased);
        af_graph_free(&g);
    }
}

/* c1 = concat(e1, e2); c2 = concat(c1, e3), reshaped in place into the graph output z: e1, e2
 * inside c1 inside c2; z takes over c2's block. */
static void test_chain(void)
{
    af_graph g;
    af_graph_init(&g);
    int x = tensor(&g, "x", 1, 1), e1 = tensor(&g, "e1", 1, 1), e2 = tensor(&g, "e2", 1, 2);
    int e3 = tensor(&g, "e3", 1, 1), c1 = tensor(&g, "c1", 1, 3), c2 = tensor(&g, "c2", 1, 4);
    int64_t zd[2] = {1, 100};
    int z = af_graph_add_tensor(&g, "z", AF_DTYPE_F32, 2, zd);
    af_graph_add_input(&g, x);
    relu(&g, x, e1);
    relu(&g, x, e2);
    int p1[2] = {e1, e2};
    concat(&g, p1, 2, c1, 1);
    relu(&g, x, e3);
    int p2[2] = {c1, e3};
    concat(&g, p2, 2, c2, 1);
    int ri = af_graph_add_node(&g, AF_OP_RESHAPE, "flatten", &c2, 1, &z, 1);
    g.nodes[ri].p.reshape.kind = AF_RESHAPE_RESHAPE;
    af_graph_add_output(&g, z);
    af_lower_stats st;
    if (!plan(&g, 0, &st)) return;
    CHECK(st.concat_aliased == 4, "aliased %d", st.concat_aliased);
    CHECK(off(&g, c1) == off(&g, c2) && off(&g, e1) == off(&g, c2) &&
              off(&g, e2) == off(&g, c2) + nbytes(&g, e1) &&
              off(&g, e3) == off(&g, c2) + nbytes(&g, c1),
          "chain offsets");
    CHECK(off(&g, z) == off(&g, c2), "z takes over c2's block");
    CHECK(off(&g, x) + nbytes(&g, x) <= off(&g, c2) || off(&g, c2) + nbytes(&g, c2) <= off(&g, x),
          "c2's block is apart from the live input");
    af_graph_free(&g);
}

int main(void)
{
    test_fire();
    test_refused();
    test_outer_extent();
    test_chain();
    return check_report("memplan_concat");
}
