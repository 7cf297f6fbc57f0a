/* Residual-add fusion (lowering/fuse.c, af_lower_fuse_residual): Conv → Add(·, r) [→ act]
 * becomes one conv with in[3] = r when legal, and is left alone when r broadcasts, the conv
 * output has other readers or is a graph output, the conv already has an activation, or r is
 * produced after the conv. An activation after the Add is fused only when the conv epilogue
 * takes it. */
#include <stdlib.h>
#include <string.h>

#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "check.h"

enum { C = 4, H = 5 };

typedef struct spec {
    int r_channels_only; /* r is (1,C,1,1): a broadcasting Add */
    int swap;            /* Add(r, y) instead of Add(y, r) */
    int act;             /* unary after the Add (-1: none) */
    int extra_reader;    /* a second reader of the conv output (a graph output) */
    int conv_out_output; /* the conv output is itself a graph output */
    int add_out_output;  /* the Add output is a graph output as well as read by act */
    int conv_act;        /* Relu between conv and Add (fused into the conv first) */
    int bias;            /* the conv has a bias */
} spec;

static int add_f32_const(af_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = af_graph_add_tensor(g, name, AF_DTYPE_F32, rank, dims);
    int64_t n = af_tensor_numel(&g->tensors[t]);
    float *d = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = (float)(i % 7) * 0.125f - 0.3f;
    g->tensors[t].data = d;
    return t;
}

static int conv_node(af_graph *g, const char *name, int x, int has_bias, int y)
{
    int64_t wd[4] = {C, C, 3, 3}, bd[1] = {C};
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.W", name);
    snprintf(bn, sizeof bn, "%s.B", name);
    int in[3] = {x, add_f32_const(g, wn, 4, wd), has_bias ? add_f32_const(g, bn, 1, bd) : -1};
    int n = af_graph_add_node(g, AF_OP_CONV, name, in, has_bias ? 3 : 2, &y, 1);
    g->nodes[n].p.conv = (af_conv_params){.nsp = 2, .group = 1, .kernel = {3, 3},
                                          .stride = {1, 1}, .dilation = {1, 1},
                                          .pad_begin = {1, 1}, .pad_end = {1, 1}};
    return n;
}

static int unary_node(af_graph *g, const char *name, int fn, int x, int y)
{
    int n = af_graph_add_node(g, AF_OP_UNARY, name, &x, 1, &y, 1);
    g->nodes[n].p.unary.fn = fn;
    return n;
}

/* x, r → conv(x) [→ relu] → add(·, r) [→ act] → outputs; lowered with every pass. */
static af_status build_and_lower(af_graph *g, const spec *s, af_lower_stats *st, af_err *err)
{
    af_graph_init(g);
    int64_t xd[4] = {1, C, H, H}, rd[4] = {1, C, H, H};
    if (s->r_channels_only) rd[2] = rd[3] = 1;
    int x = af_graph_add_tensor(g, "x", AF_DTYPE_F32, 4, xd);
    int r = af_graph_add_tensor(g, "r", AF_DTYPE_F32, 4, rd);
    af_graph_add_input(g, x);
    af_graph_add_input(g, r);
    int y = af_graph_add_tensor(g, "conv_out", AF_DTYPE_F32, -1, NULL);
    conv_node(g, "conv", x, s->bias, y);
    if (s->conv_act) {
        int yr = af_graph_add_tensor(g, "relu0_out", AF_DTYPE_F32, -1, NULL);
        unary_node(g, "relu0", AF_UNARY_RELU, y, yr);
        y = yr;
    }
    if (s->extra_reader) {
        int e = af_graph_add_tensor(g, "side", AF_DTYPE_F32, -1, NULL);
        unary_node(g, "side", AF_UNARY_NEG, y, e);
        af_graph_add_output(g, e);
    }
    if (s->conv_out_output) af_graph_add_output(g, y);
    int z = af_graph_add_tensor(g, "add_out", AF_DTYPE_F32, -1, NULL);
    int in[2] = {s->swap ? r : y, s->swap ? y : r};
    int n = af_graph_add_node(g, AF_OP_BINARY, "add", in, 2, &z, 1);
    g->nodes[n].p.binary.fn = AF_BINARY_ADD;
    if (s->act >= 0) {
        int o = af_graph_add_tensor(g, "act_out", AF_DTYPE_F32, -1, NULL);
        unary_node(g, "act", s->act, z, o);
        af_graph_add_output(g, o);
        if (s->add_out_output) af_graph_add_output(g, z);
    } else {
        af_graph_add_output(g, z);
    }
    return af_lower_run(g, NULL, st, err);
}

static int count_op(const af_graph *g, af_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
    return n;
}

/* The conv that absorbed the Add, or NULL. */
static const af_node *fused_conv(const af_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == AF_OP_CONV && g->nodes[i].n_in == 4) return &g->nodes[i];
    return NULL;
}

static void expect(const char *what, const spec *s, int fused, int act_fn, const char *out_name)
{
    af_graph g;
    af_lower_stats st = {0};
    af_err err = {0};
    af_status rc = build_and_lower(&g, s, &st, &err);
    CHECK(rc == AF_OK, "%s: lowering failed: %s", what, err.msg);
    if (rc != AF_OK) {
        af_graph_free(&g);
        return;
    }
    const af_node *c = fused_conv(&g);
    CHECK(st.residual_fused == fused && (c != NULL) == fused, "%s: residual_fused %d, want %d",
          what, st.residual_fused, fused);
    CHECK(count_op(&g, AF_OP_BINARY) == !fused, "%s: %d Add nodes left", what,
          count_op(&g, AF_OP_BINARY));
    if (c) {
        int r = -1;
        for (int t = 0; t < g.n_tensors; t++)
            if (!strcmp(g.tensors[t].name, "r")) r = t;
        CHECK(c->in[3] == r, "%s: in[3] is not the residual input", what);
        CHECK(s->bias ? c->in[2] >= 0 : c->in[2] == -1, "%s: bias slot %d", what, c->in[2]);
        CHECK(c->p.conv.act.fn == act_fn, "%s: fused act %d, want %d", what, c->p.conv.act.fn,
              act_fn);
        CHECK(!strcmp(g.tensors[c->out[0]].name, out_name), "%s: conv writes '%s', want '%s'",
              what, g.tensors[c->out[0]].name, out_name);
        CHECK(g.tensors[c->out[0]].mem_offset >= 0 && g.tensors[c->in[3]].mem_offset >= 0 &&
                  g.tensors[c->out[0]].mem_offset != g.tensors[c->in[3]].mem_offset,
              "%s: residual and output must be planned in separate buffers", what);
    }
    af_graph_free(&g);
}

/* Add(conv_a(x), conv_b(x)): conv_b runs second, so it takes conv_a's output as its residual
 * (conv_a cannot: conv_b's output does not exist yet when conv_a runs). */
static void test_two_convs(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t xd[4] = {1, C, H, H};
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F32, 4, xd);
    af_graph_add_input(&g, x);
    int a = af_graph_add_tensor(&g, "a", AF_DTYPE_F32, -1, NULL);
    int b = af_graph_add_tensor(&g, "b", AF_DTYPE_F32, -1, NULL);
    int z = af_graph_add_tensor(&g, "z", AF_DTYPE_F32, -1, NULL);
    conv_node(&g, "conv_a", x, 1, a);
    conv_node(&g, "conv_b", x, 0, b);
    int in[2] = {b, a}; /* the later conv's output first: operand order must not matter */
    int n = af_graph_add_node(&g, AF_OP_BINARY, "add", in, 2, &z, 1);
    g.nodes[n].p.binary.fn = AF_BINARY_ADD;
    af_graph_add_output(&g, z);
    af_lower_stats st = {0};
    af_err err = {0};
    af_status rc = af_lower_run(&g, NULL, &st, &err); /* verifies topological order */
    CHECK(rc == AF_OK, "two convs: %s", err.msg);
    const af_node *c = rc == AF_OK ? fused_conv(&g) : NULL;
    CHECK(c && !strcmp(c->name, "conv_b") && c->in[3] >= 0 &&
              !strcmp(g.tensors[c->in[3]].name, "a"),
          "two convs: conv_b should take conv_a's output as its residual");
    af_graph_free(&g);
}

int main(void)
{
    const spec base = {.act = AF_UNARY_RELU};
    expect("conv + add + relu", &base, 1, AF_UNARY_RELU, "act_out");
    spec s = base;
    s.swap = 1, s.bias = 1;
    expect("add(r, conv) with bias", &s, 1, AF_UNARY_RELU, "act_out");
    s = base, s.act = -1;
    expect("conv + add (MobileNetV2)", &s, 1, AF_UNARY_IDENTITY, "add_out");
    s = base, s.act = AF_UNARY_CLIP;
    expect("conv + add + clip", &s, 1, AF_UNARY_CLIP, "act_out");
    s = base, s.act = AF_UNARY_EXP;
    expect("activation the epilogue does not take", &s, 1, AF_UNARY_IDENTITY, "add_out");
    s = base, s.add_out_output = 1;
    expect("add output is a graph output", &s, 1, AF_UNARY_IDENTITY, "add_out");
    s = base, s.r_channels_only = 1;
    expect("broadcasting add", &s, 0, 0, "");
    s = base, s.extra_reader = 1;
    expect("conv output read twice", &s, 0, 0, "");
    s = base, s.conv_out_output = 1;
    expect("conv output is a graph output", &s, 0, 0, "");
    s = base, s.conv_act = 1;
    expect("conv already has an activation", &s, 0, 0, "");
    test_two_convs();
    return check_report("fuse_residual");
}
