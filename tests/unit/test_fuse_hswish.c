/* Hard swish from torch's opset-13 export (lowering/fuse_patterns.c): Conv → y, HardSigmoid(y,
 * alpha 1/6, beta 1/2) → s, Mul(y, s) (either operand order) becomes one Conv with a fused
 * HARD_SWISH epilogue, which computes what the unfused graph does up to rounding: hard swish
 * is x·max(0, min(1, x/6 + 1/2)), the unfused HardSigmoid x·0.16666667 + 0.5 (one ulp apart
 * in the gate, slope <= 1.5), so 1e-6 relative to the output's peak is a few ulp and still
 * fails a wrong gate (differences of order 0.01 · |x|). Left alone: another alpha (a
 * HardSigmoid that is not torch's Hardswish) and a Mul by a different tensor (the SE gate). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/calib.h"
#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "check.h"
#include "geval_util.h"

enum { C = 8, M = 12, H = 9, W = 9 };

typedef struct spec {
    float alpha;   /* the HardSigmoid's alpha (beta 1/2) */
    int swap;      /* Mul(s, y) instead of Mul(y, s) */
    int other;     /* Mul(x2, s): the gate multiplies another tensor */
} spec;

static int add_const(af_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = af_graph_add_tensor(g, name, AF_DTYPE_F32, rank, dims);
    int64_t n = af_tensor_numel(&g->tensors[t]);
    float *d = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = (float)((i * 7919) % 113) / 113.0f - 0.45f;
    g->tensors[t].data = d;
    return t;
}

static af_status build(af_graph *g, const spec *s, int no_fuse, af_err *err)
{
    af_graph_init(g);
    int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, 3, 3}, bd[1] = {M}, x2d[4] = {1, M, H, W};
    int x = af_graph_add_tensor(g, "x", AF_DTYPE_F32, 4, xd);
    int x2 = af_graph_add_tensor(g, "x2", AF_DTYPE_F32, 4, x2d);
    af_graph_add_input(g, x);
    af_graph_add_input(g, x2);
    int w = add_const(g, "W", 4, wd), b = add_const(g, "B", 1, bd);
    int y = af_graph_add_tensor(g, "conv_out", AF_DTYPE_F32, -1, NULL);
    int sg = af_graph_add_tensor(g, "gate", AF_DTYPE_F32, -1, NULL);
    int o = af_graph_add_tensor(g, "out", AF_DTYPE_F32, -1, NULL);
    int cin[3] = {x, w, b};
    int cn = af_graph_add_node(g, AF_OP_CONV, "conv", cin, 3, &y, 1);
    af_conv_params *cp = &g->nodes[cn].p.conv;
    cp->nsp = 2, cp->group = 1;
    for (int j = 0; j < 2; j++)
        cp->kernel[j] = 3, cp->stride[j] = cp->dilation[j] = 1, cp->pad_begin[j] = cp->pad_end[j] = 1;
    cp->act.fn = AF_UNARY_IDENTITY;
    int hn = af_graph_add_node(g, AF_OP_UNARY, "hsig", &y, 1, &sg, 1);
    g->nodes[hn].p.unary = (af_unary_params){.fn = AF_UNARY_HARD_SIGMOID, .alpha = s->alpha,
                                             .beta = 0.5f};
    int a = s->other ? x2 : y;
    int min[2] = {s->swap ? sg : a, s->swap ? a : sg};
    int mn = af_graph_add_node(g, AF_OP_BINARY, "mul", min, 2, &o, 1);
    g->nodes[mn].p.binary.fn = AF_BINARY_MUL;
    af_graph_add_output(g, o);
    af_lower_options opt = {.no_fuse = no_fuse};
    return af_lower_run(g, &opt, NULL, err);
}

/* The graph output's values after one evaluation with fixed inputs (malloc'd). */
static float *evaluate(const af_graph *g)
{
    return eval_graph(g, 1, 29, 0.3f, -4.0f, NULL);
}

static void expect(const char *what, const spec *s, int fused)
{
    af_graph g, ref;
    af_err err = {0};
    CHECK(build(&g, s, 0, &err) == AF_OK, "%s: %s", what, err.msg);
    CHECK(build(&ref, s, 1, &err) == AF_OK, "%s (unfused): %s", what, err.msg);
    int conv = -1;
    for (int i = 0; i < g.n_nodes; i++)
        if (g.nodes[i].op == AF_OP_CONV) conv = i;
    int hswish = conv >= 0 && g.nodes[conv].p.conv.act.fn == AF_UNARY_HARD_SWISH;
    CHECK(hswish == fused && (!fused || g.n_nodes == 1), "%s: %d nodes, conv act %d", what,
          g.n_nodes, conv >= 0 ? g.nodes[conv].p.conv.act.fn : -1);
    float *a = evaluate(&g), *b = evaluate(&ref);
    double peak = 0, err_max = 0;
    for (int i = 0; a && b && i < M * H * W; i++) {
        peak = fmax(peak, fabs(b[i]));
        err_max = fmax(err_max, fabs((double)a[i] - b[i]));
    }
    CHECK(a && b && err_max <= 1e-6 * peak, "%s: fused and unfused differ by %g (peak %g)",
          what, err_max, peak);
    free(a), free(b);
    af_graph_free(&g);
    af_graph_free(&ref);
}

int main(void)
{
    expect("Mul(y, HardSigmoid(y))", &(spec){.alpha = 1.0f / 6}, 1);
    expect("Mul(HardSigmoid(y), y)", &(spec){.alpha = 1.0f / 6, .swap = 1}, 1);
    expect("alpha 0.2", &(spec){.alpha = 0.2f}, 0);
    expect("gate times another tensor", &(spec){.alpha = 1.0f / 6, .other = 1}, 0);
    return check_report("fuse_hswish");
}
