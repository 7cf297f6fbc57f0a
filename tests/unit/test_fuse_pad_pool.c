/* Pad (zeros, spatial) → AveragePool (lowering/fuse.c af_lower_fuse_pad_pool) becomes one pool
 * with the pads counted; the fused graph must compute the same values as the unfused one
 * (the padded zeros added nothing to the sums and the count is the same): bound 0 (==, which
 * also takes -0 for +0). Left alone: a MaxPool (its pads are -inf, not zeros), a non-zero pad
 * value, a pad on the channel axis, a pool with uncounted pads of its own. */
#include <stdlib.h>
#include <string.h>

#include "../../compress/calib.h"
#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "check.h"
#include "geval_util.h"

enum { C = 3, H = 9, W = 11 };

typedef struct spec {
    int kind;        /* AF_POOL_* */
    float value;     /* the pad value */
    int pad_c;       /* also pads the channel axis */
    int own_pads;    /* the pool has pads 1 of its own (count_include_pad 0) */
} spec;

static af_status build(af_graph *g, const spec *s, int no_fuse, af_err *err)
{
    af_graph_init(g);
    int64_t xd[4] = {1, C, H, W};
    int x = af_graph_add_tensor(g, "x", AF_DTYPE_F32, 4, xd);
    af_graph_add_input(g, x);
    int pt = af_graph_add_tensor(g, "padded", AF_DTYPE_F32, -1, NULL);
    int o = af_graph_add_tensor(g, "out", AF_DTYPE_F32, -1, NULL);
    int pn = af_graph_add_node(g, AF_OP_PAD, "pad", &x, 1, &pt, 1);
    af_pad_params *pp = &g->nodes[pn].p.pad;
    pp->mode = AF_PAD_CONSTANT, pp->value = s->value;
    pp->begin[2] = pp->end[2] = pp->begin[3] = 1, pp->end[3] = 2;
    if (s->pad_c) pp->begin[1] = 1;
    int qn = af_graph_add_node(g, AF_OP_POOL, "pool", &pt, 1, &o, 1);
    af_pool_params *q = &g->nodes[qn].p.pool;
    q->kind = s->kind, q->nsp = 2;
    for (int i = 0; i < 2; i++) {
        q->kernel[i] = 3, q->stride[i] = 1, q->dilation[i] = 1;
        q->pad_begin[i] = q->pad_end[i] = s->own_pads;
    }
    af_graph_add_output(g, o);
    af_lower_options opt = {.no_fuse = no_fuse};
    return af_lower_run(g, &opt, NULL, err);
}

static float *evaluate(const af_graph *g, int64_t *n_out)
{
    return eval_graph(g, 37, 23, 0.1f, -1.1f, n_out);
}

static void expect(const char *what, const spec *s, int fused)
{
    af_graph g, ref;
    af_err err = {0};
    CHECK(build(&g, s, 0, &err) == AF_OK, "%s: %s", what, err.msg);
    CHECK(build(&ref, s, 1, &err) == AF_OK, "%s (unfused): %s", what, err.msg);
    CHECK((g.n_nodes == 1) == fused, "%s: %d nodes after lowering", what, g.n_nodes);
    int64_t na = 0, nb = 0;
    float *a = evaluate(&g, &na), *b = evaluate(&ref, &nb);
    int same = a && b && na == nb;
    for (int64_t i = 0; same && i < na; i++) same = a[i] == b[i];
    CHECK(same, "%s: fused and unfused differ", what);
    free(a), free(b);
    af_graph_free(&g);
    af_graph_free(&ref);
}

int main(void)
{
    expect("avg pool", &(spec){.kind = AF_POOL_AVG}, 1);
    expect("max pool", &(spec){.kind = AF_POOL_MAX}, 0);
    expect("pad value 1", &(spec){.kind = AF_POOL_AVG, .value = 1.0f}, 0);
    expect("channel pad", &(spec){.kind = AF_POOL_AVG, .pad_c = 1}, 0);
    expect("own uncounted pads", &(spec){.kind = AF_POOL_AVG, .own_pads = 1}, 0);
    return check_report("fuse_pad_pool");
}
