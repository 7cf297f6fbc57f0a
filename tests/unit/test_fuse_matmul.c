/* MatMul epilogue fusion (lowering/fuse.c): MatMul(x, W (K,N)) → Add(·, b (N)) → Add(·, r)
 * becomes one MatMul(x, W, b, r); the fused graph computes the same bits as the unfused one
 * (run here with the runtime kernels: the kernel adds b, then r, to each tile it computed, the
 * separate ops' sums in the same order). Left alone: a bias that broadcasts along rows, a
 * MatMul output read twice, a batched (3-D) B. */
#include <stdlib.h>
#include <string.h>

#include "../../compress/calib.h"
#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "check.h"
#include "geval_util.h"

enum { T = 37, K = 300, N = 70 };

typedef struct spec {
    int bias_rows;    /* the "bias" is (T,1): broadcast along columns, not a column bias */
    int extra_reader; /* the MatMul output is also a graph output */
    int batched_b;    /* W is (1,K,N) */
    int residual;     /* Add(·, r) after the bias */
} spec;

static int add_const(af_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = af_graph_add_tensor(g, name, AF_DTYPE_F32, rank, dims);
    int64_t n = af_tensor_numel(&g->tensors[t]);
    float *d = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = (float)((i * 7919) % 113) / 113.0f - 0.5f;
    g->tensors[t].data = d;
    return t;
}

static int add_op(af_graph *g, af_op op, const char *name, int a, int b, int y)
{
    int in[2] = {a, b};
    int n = af_graph_add_node(g, op, name, in, 2, &y, 1);
    if (op == AF_OP_BINARY) g->nodes[n].p.binary.fn = AF_BINARY_ADD;
    return n;
}

static af_status build(af_graph *g, const spec *s, int no_fuse, af_lower_stats *st, af_err *err)
{
    af_graph_init(g);
    int64_t xd[3] = {1, T, K}, wd[3] = {1, K, N}, bd[2] = {T, 1}, nd[1] = {N};
    int x = af_graph_add_tensor(g, "x", AF_DTYPE_F32, 3, xd);
    int r = af_graph_add_tensor(g, "r", AF_DTYPE_F32, 3, (int64_t[]){1, T, N});
    af_graph_add_input(g, x);
    af_graph_add_input(g, r);
    int w = s->batched_b ? add_const(g, "W", 3, wd) : add_const(g, "W", 2, wd + 1);
    int b = s->bias_rows ? add_const(g, "b", 2, bd) : add_const(g, "b", 1, nd);
    int y = af_graph_add_tensor(g, "mm_out", AF_DTYPE_F32, -1, NULL);
    int z = af_graph_add_tensor(g, "bias_out", AF_DTYPE_F32, -1, NULL);
    add_op(g, AF_OP_MATMUL, "mm", x, w, y);
    add_op(g, AF_OP_BINARY, "add_b", y, b, z);
    if (s->extra_reader) af_graph_add_output(g, y);
    if (s->residual) {
        int o = af_graph_add_tensor(g, "res_out", AF_DTYPE_F32, -1, NULL);
        add_op(g, AF_OP_BINARY, "add_r", r, z, o); /* residual first: order must not matter */
        af_graph_add_output(g, o);
    } else {
        af_graph_add_output(g, z);
    }
    af_lower_options opt = {.no_fuse = no_fuse};
    return af_lower_run(g, &opt, st, err);
}

/* The graph output's values after one evaluation with fixed inputs (malloc'd). */
static float *evaluate(const af_graph *g)
{
    return eval_graph(g, 1, 29, 0.03f, -0.4f, NULL);
}

static void expect(const char *what, const spec *s, int want_inputs)
{
    af_graph g, ref;
    af_lower_stats st = {0};
    af_err err = {0};
    CHECK(build(&g, s, 0, &st, &err) == AF_OK, "%s: %s", what, err.msg);
    CHECK(build(&ref, s, 1, NULL, &err) == AF_OK, "%s (unfused): %s", what, err.msg);
    int mm = -1;
    for (int i = 0; i < g.n_nodes; i++)
        if (g.nodes[i].op == AF_OP_MATMUL) mm = i;
    CHECK(mm >= 0 && g.nodes[mm].n_in == want_inputs, "%s: MatMul has %d inputs, want %d", what,
          mm >= 0 ? g.nodes[mm].n_in : -1, want_inputs);
    CHECK(st.bias_fused == (want_inputs >= 3), "%s: bias_fused %d", what, st.bias_fused);
    float *a = evaluate(&g), *b = evaluate(&ref);
    CHECK(a && b && !memcmp(a, b, sizeof(float) * T * N), "%s: fused and unfused differ", what);
    free(a), free(b);
    af_graph_free(&g);
    af_graph_free(&ref);
}

int main(void)
{
    expect("bias", &(spec){0}, 3);
    expect("bias + residual", &(spec){.residual = 1}, 4);
    expect("row-broadcast add", &(spec){.bias_rows = 1}, 2);
    expect("MatMul output read twice", &(spec){.extra_reader = 1}, 2);
    expect("batched B", &(spec){.batched_b = 1}, 2);
    return check_report("fuse_matmul");
}
