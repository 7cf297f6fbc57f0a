/* Dead conv taps (lowering/fuse.c af_lower_trim_conv_taps): kernel rows/columns that read only
 * padding for every output position are dropped and the pads reduced to match. Dropped taps
 * only ever added x·0 products, so the trimmed conv computes the same sums: bound 1e-6 of the
 * output's peak (a GEMM of another depth may block its sums differently; a wrong tap or pad
 * shows as errors of the order of the values). Cases: 3x3 at dilation 24 on 8x9 (1x1 left),
 * dilation 8 on 9x5 (rows live, columns dead: 3x1), dilation 2 (nothing dead). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/calib.h"
#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "check.h"
#include "geval_util.h"

enum { C = 5, M = 7 };

static af_status build(af_graph *g, int64_t H, int64_t W, int dil, int no_fuse, af_err *err)
{
    af_graph_init(g);
    int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, 3, 3};
    int x = af_graph_add_tensor(g, "x", AF_DTYPE_F32, 4, xd);
    af_graph_add_input(g, x);
    int w = af_graph_add_tensor(g, "W", AF_DTYPE_F32, 4, wd);
    float *d = malloc(sizeof(float) * M * C * 9);
    for (int i = 0; i < M * C * 9; i++) d[i] = (float)((i * 7919) % 113) / 113.0f - 0.45f;
    g->tensors[w].data = d;
    int y = af_graph_add_tensor(g, "y", AF_DTYPE_F32, -1, NULL);
    int in[2] = {x, w};
    int cn = af_graph_add_node(g, AF_OP_CONV, "conv", in, 2, &y, 1);
    af_conv_params *cp = &g->nodes[cn].p.conv;
    cp->nsp = 2, cp->group = 1, cp->act.fn = AF_UNARY_IDENTITY;
    for (int j = 0; j < 2; j++)
        cp->kernel[j] = 3, cp->stride[j] = 1, cp->dilation[j] = dil,
        cp->pad_begin[j] = cp->pad_end[j] = dil;
    af_graph_add_output(g, y);
    af_lower_options opt = {.no_fuse = no_fuse};
    return af_lower_run(g, &opt, NULL, err);
}

static float *evaluate(const af_graph *g, int64_t *n_out)
{
    return eval_graph(g, 37, 23, 0.1f, -1.1f, n_out);
}

static void expect(int64_t H, int64_t W, int dil, int kh, int kw)
{
    af_graph g, ref;
    af_err err = {0};
    CHECK(build(&g, H, W, dil, 0, &err) == AF_OK, "%lldx%lld d%d: %s", (long long)H,
          (long long)W, dil, err.msg);
    CHECK(build(&ref, H, W, dil, 1, &err) == AF_OK, "unfused: %s", err.msg);
    const af_conv_params *cp = &g.nodes[0].p.conv;
    CHECK(g.n_nodes == 1 && cp->kernel[0] == kh && cp->kernel[1] == kw,
          "%lldx%lld d%d: kernel %dx%d, want %dx%d", (long long)H, (long long)W, dil,
          cp->kernel[0], cp->kernel[1], kh, kw);
    int64_t na = 0, nb = 0;
    float *a = evaluate(&g, &na), *b = evaluate(&ref, &nb);
    double peak = 0, e = 0;
    for (int64_t i = 0; a && b && na == nb && i < na; i++) {
        peak = fmax(peak, fabs(b[i]));
        e = fmax(e, fabs((double)a[i] - b[i]));
    }
    CHECK(a && b && na == nb && na == M * H * W && e <= 1e-6 * peak,
          "%lldx%lld d%d: trimmed and full differ by %g (peak %g)", (long long)H, (long long)W,
          dil, e, peak);
    free(a), free(b);
    af_graph_free(&g);
    af_graph_free(&ref);
}

int main(void)
{
    expect(8, 9, 24, 1, 1);
    expect(9, 5, 8, 3, 1);
    expect(9, 9, 2, 3, 3);
    return check_report("trim_taps");
}
