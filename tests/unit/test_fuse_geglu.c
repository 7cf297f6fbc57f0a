/* GEGLU as diffusers exports it (lowering/fuse_patterns.c): x (N,T,2h) → Slice [0,h) and Slice
 * [h,2h) of the last axis, GELU of the second half, Mul of the two (either operand order) becomes
 * one geglu node. Its kernel copies the gate half out, applies the unary op's own GELU kernel
 * and multiplies (Mul commutes), so with h a multiple of 8 (every element in the vector loop of
 * both) the fused output must equal the unfused graph's bit for bit. Left alone: slices that are
 * not the two halves, the gate on the first half, and a GELU output read outside the chain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/calib.h"
#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "check.h"
#include "geval_util.h"

enum { T = 5, H = 16 };

typedef struct spec {
    int64_t a0, a1, b0, b1; /* the two slices of the last axis (x has 2H) */
    int swap;               /* Mul(gelu(b), a) instead of Mul(a, gelu(b)) */
    int gelu_out;           /* the GELU's output is also a graph output */
} spec;

static int i64_const(af_graph *g, const char *name, int64_t v)
{
    int64_t d[1] = {1};
    int t = af_graph_add_tensor(g, name, AF_DTYPE_I64, 1, d);
    int64_t *p = malloc(sizeof *p);
    *p = v;
    g->tensors[t].data = p;
    return t;
}

/* out = Slice(x, axis -1, [s0, s1)); the constants named after tag. */
static int slice(af_graph *g, int x, int64_t s0, int64_t s1, const char *tag)
{
    char n0[32], n1[32], n2[32], no[32];
    snprintf(n0, sizeof n0, "%s_start", tag), snprintf(n1, sizeof n1, "%s_end", tag);
    snprintf(n2, sizeof n2, "%s_axis", tag), snprintf(no, sizeof no, "%s_out", tag);
    int in[4] = {x, i64_const(g, n0, s0), i64_const(g, n1, s1), i64_const(g, n2, -1)};
    int o = af_graph_add_tensor(g, no, AF_DTYPE_F32, -1, NULL);
    af_graph_add_node(g, AF_OP_SLICE, tag, in, 4, &o, 1);
    return o;
}

static af_status build(af_graph *g, const spec *s, int no_fuse, af_err *err)
{
    af_graph_init(g);
    int64_t xd[3] = {2, T, 2 * H};
    int x = af_graph_add_tensor(g, "x", AF_DTYPE_F32, 3, xd);
    af_graph_add_input(g, x);
    int a = slice(g, x, s->a0, s->a1, "sa"), b = slice(g, x, s->b0, s->b1, "sb");
    int ge = af_graph_add_tensor(g, "gelu_out", AF_DTYPE_F32, -1, NULL);
    int gn = af_graph_add_node(g, AF_OP_UNARY, "gelu", &b, 1, &ge, 1);
    g->nodes[gn].p.unary = (af_unary_params){.fn = AF_UNARY_GELU};
    int o = af_graph_add_tensor(g, "out", AF_DTYPE_F32, -1, NULL);
    int min[2] = {s->swap ? ge : a, s->swap ? a : ge};
    int mn = af_graph_add_node(g, AF_OP_BINARY, "mul", min, 2, &o, 1);
    g->nodes[mn].p.binary.fn = AF_BINARY_MUL;
    af_graph_add_output(g, o);
    if (s->gelu_out) af_graph_add_output(g, ge);
    af_lower_options opt = {.no_fuse = no_fuse};
    return af_lower_run(g, &opt, NULL, err);
}

static void expect(const char *what, const spec *s, int fused)
{
    af_graph g, ref;
    af_err err = {0};
    CHECK(build(&g, s, 0, &err) == AF_OK, "%s: %s", what, err.msg);
    CHECK(build(&ref, s, 1, &err) == AF_OK, "%s (unfused): %s", what, err.msg);
    int geglu = 0;
    for (int i = 0; i < g.n_nodes; i++) geglu += g.nodes[i].op == AF_OP_GEGLU;
    CHECK(geglu == fused && (!fused || g.n_nodes == 1), "%s: %d geglu of %d nodes", what, geglu,
          g.n_nodes);
    int64_t na = 0, nb = 0;
    float *ya = eval_graph(&g, 37, 101, 0.07f, -3.5f, &na);
    float *yb = eval_graph(&ref, 37, 101, 0.07f, -3.5f, &nb);
    CHECK(ya && yb && na == nb && !memcmp(ya, yb, sizeof(float) * (size_t)na),
          "%s: fused and unfused outputs differ", what);
    free(ya), free(yb);
    af_graph_free(&g);
    af_graph_free(&ref);
}

int main(void)
{
    expect("Mul(a, gelu(b))", &(spec){0, H, H, 2 * H, 0, 0}, 1);
    expect("Mul(gelu(b), a)", &(spec){0, H, H, 2 * H, 1, 0}, 1);
    expect("quarters, not halves", &(spec){0, H / 2, H / 2, H, 0, 0}, 0);
    expect("gate on the first half", &(spec){H, 2 * H, 0, H, 0, 0}, 0);
    expect("gelu output also read outside", &(spec){0, H, H, 2 * H, 0, 1}, 0);
    return check_report("fuse_geglu");
}
