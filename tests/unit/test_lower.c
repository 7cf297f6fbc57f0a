/* Unit tests for lowering: folding of shape chains, BatchNorm folding, activation fusion,
 * identity removal, and the memory plan's central invariant (tensors alive at the same time
 * never share bytes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../graph/graph.h"
#include "../../importers/onnx/onnx_import.h"
#include "../../lowering/lower.h"
#include "check.h"

static int add_const_f32(af_graph *g, const char *name, int rank, const int64_t *dims, const float *v)
{
    int t = af_graph_add_tensor(g, name, AF_DTYPE_F32, rank, dims);
    int64_t n = af_tensor_numel(&g->tensors[t]);
    float *d = malloc(sizeof(float) * (size_t)n);
    memcpy(d, v, sizeof(float) * (size_t)n);
    g->tensors[t].data = d;
    return t;
}

/* Lifetimes [def, last] of every arena tensor; overlapping lifetimes must not share bytes,
 * except a reshape's output taking over its dying input. */
static void check_plan(const af_graph *g, const char *what)
{
    int n = g->n_tensors;
    int *def = malloc(sizeof(int) * (size_t)n), *last = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        def[i] = (g->tensors[i].flags & AF_TENSOR_INPUT) ? -1 : g->tensors[i].producer;
        last[i] = (g->tensors[i].flags & AF_TENSOR_OUTPUT) ? g->n_nodes : def[i];
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0 && last[g->nodes[i].in[k]] < i) last[g->nodes[i].in[k]] = i;
    int bad = 0, planned = 0;
    for (int a = 0; a < n; a++) {
        const af_tensor *ta = &g->tensors[a];
        if (ta->data) continue;
        planned += ta->mem_offset >= 0;
        if (ta->mem_offset < 0) bad++;
        for (int b = a + 1; b < n; b++) {
            const af_tensor *tb = &g->tensors[b];
            if (tb->data || ta->mem_offset < 0 || tb->mem_offset < 0) continue;
            int live_together = def[a] < last[b] && def[b] < last[a];
            int64_t ea = ta->mem_offset + af_tensor_nbytes(ta), eb = tb->mem_offset + af_tensor_nbytes(tb);
            int overlap = ta->mem_offset < eb && tb->mem_offset < ea;
            int alias = ta->mem_offset == tb->mem_offset &&
                        ((tb->producer >= 0 && g->nodes[tb->producer].op == AF_OP_RESHAPE) ||
                         (ta->producer >= 0 && g->nodes[ta->producer].op == AF_OP_RESHAPE));
            if (live_together && overlap && !alias) bad++;
        }
    }
    CHECK(bad == 0 && planned > 0, "%s: %d plan violations (%d planned tensors)", what, bad, planned);
    free(def);
    free(last);
}

/* x (1,2,3,3) → Conv(W 2x2x1x1) → BN → Relu → Reshape(shape from Shape→Gather chain) → y */
static void test_bn_fold_and_fusion(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {2, 2, 1, 1}, cd[1] = {2};
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F32, 4, xd);
    af_graph_add_input(&g, x);
    float w[4] = {1, 2, 3, 4}, one[2] = {2, 0.5f}, zero[2] = {0.1f, -0.2f}, mean[2] = {1, -1}, var[2] = {3, 0.25f};
    int W = add_const_f32(&g, "W", 4, wd, w);
    int sc = add_const_f32(&g, "scale", 1, cd, one), bi = add_const_f32(&g, "bias", 1, cd, zero);
    int mu = add_const_f32(&g, "mean", 1, cd, mean), va = add_const_f32(&g, "var", 1, cd, var);
    int c = af_graph_add_tensor(&g, "conv_out", AF_DTYPE_F32, -1, NULL);
    int b = af_graph_add_tensor(&g, "bn_out", AF_DTYPE_F32, -1, NULL);
    int r = af_graph_add_tensor(&g, "relu_out", AF_DTYPE_F32, -1, NULL);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_F32, -1, NULL);
    int in_c[2] = {x, W};
    int n = af_graph_add_node(&g, AF_OP_CONV, "conv", in_c, 2, &c, 1);
    g.nodes[n].p.conv = (af_conv_params){.nsp = 2, .group = 1, .kernel = {1, 1}, .stride = {1, 1}, .dilation = {1, 1}};
    int in_b[5] = {c, sc, bi, mu, va};
    n = af_graph_add_node(&g, AF_OP_BATCHNORM, "bn", in_b, 5, &b, 1);
    g.nodes[n].p.batchnorm.eps = 1e-5f;
    n = af_graph_add_node(&g, AF_OP_UNARY, "relu", &b, 1, &r, 1);
    g.nodes[n].p.unary.fn = AF_UNARY_RELU;
    int64_t sd[1] = {2};
    int shape = af_graph_add_tensor(&g, "shape", AF_DTYPE_I64, 1, sd);
    int64_t *sv = malloc(16);
    sv[0] = 1;
    sv[1] = -1;
    g.tensors[shape].data = sv;
    int in_r[2] = {r, shape};
    n = af_graph_add_node(&g, AF_OP_RESHAPE, "flatten", in_r, 2, &y, 1);
    g.nodes[n].p.reshape.kind = AF_RESHAPE_RESHAPE;
    af_graph_add_output(&g, y);

    af_err err = {0};
    af_lower_stats st = {0};
    af_status s = af_lower_run(&g, NULL, &st, &err);
    CHECK(s == AF_OK, "lower: %s", err.msg);
    if (s != AF_OK) return;
    CHECK(st.bn_folded == 1 && st.act_fused == 1, "bn_folded %d act_fused %d", st.bn_folded, st.act_fused);
    CHECK(g.n_nodes == 2, "expected conv + reshape, got %d nodes", g.n_nodes);
    const af_node *conv = &g.nodes[0];
    CHECK(conv->op == AF_OP_CONV && conv->p.conv.act.fn == AF_UNARY_RELU, "conv with fused relu");
    CHECK(!strcmp(g.tensors[conv->out[0]].name, "relu_out"), "fused output keeps the last name, got %s",
          g.tensors[conv->out[0]].name);
    /* W'[o] = W[o] * scale/sqrt(var+eps); b'[o] = (0 - mean)*s + bias */
    const float *wf = g.tensors[conv->in[1]].data, *bf = g.tensors[conv->in[2]].data;
    float s0 = 2 / sqrtf(3 + 1e-5f), s1 = 0.5f / sqrtf(0.25f + 1e-5f);
    CHECK(fabsf(wf[0] - 1 * s0) < 1e-6f && fabsf(wf[3] - 4 * s1) < 1e-6f, "folded weights %g %g", wf[0], wf[3]);
    CHECK(fabsf(bf[0] - (-1 * s0 + 0.1f)) < 1e-6f && fabsf(bf[1] - (1 * s1 - 0.2f)) < 1e-6f,
          "folded bias %g %g", bf[0], bf[1]);
    const af_tensor *ty = &g.tensors[g.outputs[0]];
    CHECK(ty->rank == 2 && ty->dims[0] == 1 && ty->dims[1] == 18, "reshape resolved to [1,18]");
    check_plan(&g, "bn graph");
    af_graph_free(&g);
}

/* The committed small CNN: folding must remove the Shape chain, and the plan must hold. */
static void test_small_cnn(void)
{
    af_graph g;
    af_graph_init(&g);
    af_err err = {0};
    af_onnx_options opt = {0};
    if (af_onnx_import_file("../models/small_cnn/model.onnx", &opt, &g, &err) != AF_OK) {
        CHECK(0, "import small_cnn: %s", err.msg);
        af_graph_free(&g);
        return;
    }
    af_lower_stats st = {0};
    CHECK(af_lower_run(&g, NULL, &st, &err) == AF_OK, "lower small_cnn: %s", err.msg);
    int shape_ops = 0;
    for (int i = 0; i < g.n_nodes; i++)
        shape_ops += g.nodes[i].op == AF_OP_SHAPE || g.nodes[i].op == AF_OP_GATHER ||
                     (g.nodes[i].op == AF_OP_CONCAT &&
                      g.tensors[g.nodes[i].out[0]].dtype == AF_DTYPE_I64);
    CHECK(shape_ops == 0, "%d shape-computing nodes left after folding", shape_ops);
    CHECK(st.folded > 0 && st.bn_folded > 0 && st.act_fused > 0, "folded %d bn %d act %d", st.folded,
          st.bn_folded, st.act_fused);
    CHECK(st.arena_bytes < st.naive_bytes, "arena %llu should beat no-reuse %llu",
          (unsigned long long)st.arena_bytes, (unsigned long long)st.naive_bytes);
    check_plan(&g, "small_cnn");
    af_graph_free(&g);
}

/* y = Reshape(x (N,T,C) → shape) as a node named nm; returns y. */
static int add_reshape(af_graph *g, const char *nm, int x, int rank, const int64_t *shape)
{
    char sn[64];
    snprintf(sn, sizeof sn, "%s_shape", nm);
    int64_t sd[1] = {rank};
    int st = af_graph_add_tensor(g, sn, AF_DTYPE_I64, 1, sd);
    int64_t *v = malloc(sizeof(int64_t) * (size_t)rank);
    memcpy(v, shape, sizeof(int64_t) * (size_t)rank);
    g->tensors[st].data = v;
    int y = af_graph_add_tensor(g, nm, AF_DTYPE_F32, -1, NULL), in[2] = {x, st};
    int n = af_graph_add_node(g, AF_OP_RESHAPE, nm, in, 2, &y, 1);
    g->nodes[n].p.reshape.kind = AF_RESHAPE_RESHAPE;
    return y;
}

static int add_transpose(af_graph *g, const char *nm, int x, int a, int b, int c, int d)
{
    int y = af_graph_add_tensor(g, nm, AF_DTYPE_F32, -1, NULL);
    int n = af_graph_add_node(g, AF_OP_TRANSPOSE, nm, &x, 1, &y, 1);
    g->nodes[n].p.transpose = (af_transpose_params){.n_perm = 4, .perm = {a, b, c, d}};
    return y;
}

/* Multi-head attention as torch exports it: q, k, v (1,6,8) split into 2 heads of 4
 * (Reshape → Transpose, k to (N,h,d,T)), MatMul → Mul → Softmax → MatMul, merged back
 * (Transpose → Reshape). It lowers to one attention with heads 2 on the (1,6,8) tensors —
 * unless a transposed q is read elsewhere (extra = 1): then the heads stay split. (Tensor
 * indices change when lowering compacts the graph: compared by name.) */
static void test_attention_heads(int extra)
{
    af_graph g;
    af_graph_init(&g);
    int64_t xd[3] = {1, 6, 8}, split[4] = {1, 6, 2, 4}, merged[3] = {1, 6, 8}, one[1] = {1};
    int x[3];
    static const char *const names[3] = {"xq", "xk", "xv"};
    for (int i = 0; i < 3; i++) {
        x[i] = af_graph_add_tensor(&g, names[i], AF_DTYPE_F32, 3, xd);
        af_graph_add_input(&g, x[i]);
    }
    int q = add_transpose(&g, "q", add_reshape(&g, "rq", x[0], 4, split), 0, 2, 1, 3);
    int kt = add_transpose(&g, "kt", add_reshape(&g, "rk", x[1], 4, split), 0, 2, 3, 1);
    int v = add_transpose(&g, "v", add_reshape(&g, "rv", x[2], 4, split), 0, 2, 1, 3);
    int s = af_graph_add_tensor(&g, "s", AF_DTYPE_F32, -1, NULL), in[2] = {q, kt};
    af_graph_add_node(&g, AF_OP_MATMUL, "qk", in, 2, &s, 1);
    float half = 0.5f;
    int c = add_const_f32(&g, "scale", 1, one, &half), ss = af_graph_add_tensor(&g, "ss", AF_DTYPE_F32, -1, NULL);
    int in_m[2] = {s, c};
    int n = af_graph_add_node(&g, AF_OP_BINARY, "mul", in_m, 2, &ss, 1);
    g.nodes[n].p.binary.fn = AF_BINARY_MUL;
    int pr = af_graph_add_tensor(&g, "p", AF_DTYPE_F32, -1, NULL);
    n = af_graph_add_node(&g, AF_OP_SOFTMAX, "softmax", &ss, 1, &pr, 1);
    g.nodes[n].p.softmax.axis = -1;
    int o = af_graph_add_tensor(&g, "o", AF_DTYPE_F32, -1, NULL), in_o[2] = {pr, v};
    af_graph_add_node(&g, AF_OP_MATMUL, "pv", in_o, 2, &o, 1);
    af_graph_add_output(&g, add_reshape(&g, "y", add_transpose(&g, "ot", o, 0, 2, 1, 3), 3, merged));
    if (extra) af_graph_add_output(&g, q);
    af_err err = {0};
    af_lower_stats st = {0};
    af_status rc = af_lower_run(&g, NULL, &st, &err);
    CHECK(rc == AF_OK, "lower attention heads: %s", err.msg);
    if (rc != AF_OK) return;
    int att = -1, transposes = 0;
    for (int i = 0; i < g.n_nodes; i++) {
        if (g.nodes[i].op == AF_OP_ATTENTION) att = i;
        transposes += g.nodes[i].op == AF_OP_TRANSPOSE;
    }
    CHECK(att >= 0, "an attention node");
    if (att < 0) return;
    const af_node *a = &g.nodes[att];
    if (!extra) {
        CHECK(g.n_nodes == 1 && a->p.attention.heads == 2 && !a->p.attention.k_transposed &&
                  !strcmp(g.tensors[a->in[0]].name, "xq") && !strcmp(g.tensors[a->in[1]].name, "xk") &&
                  !strcmp(g.tensors[a->in[2]].name, "xv") && !strcmp(g.tensors[a->out[0]].name, "y"),
              "one attention on xq, xk, xv with 2 heads: %d nodes, heads %d, kt %d", g.n_nodes,
              a->p.attention.heads, a->p.attention.k_transposed);
        CHECK(fabsf(a->p.attention.scale - 0.5f) < 1e-7f, "scale %g", a->p.attention.scale);
    } else {
        CHECK(a->p.attention.heads == 0 && a->p.attention.k_transposed && transposes == 4,
              "q read elsewhere: heads stay split (heads %d, %d transposes)",
              a->p.attention.heads, transposes);
    }
    check_plan(&g, "attention heads");
    af_graph_free(&g);
}

/* Expand(s (1,4,1) -> (1,4,6)) read by x / e: the Div broadcasts s itself, the Expand goes;
 * kept when the expanded value is also a graph output (keep 1) or the Div's other operand is
 * smaller than the expanded shape (keep 2). */
static void test_expand_into_binary(int keep)
{
    af_graph g;
    af_graph_init(&g);
    int64_t xd[3] = {1, 4, 6}, sd[3] = {1, 4, 1}, td[3] = {1, 1, 6}, three = 3;
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F32, 3, keep == 2 ? td : xd);
    int sv = af_graph_add_tensor(&g, "s", AF_DTYPE_F32, 3, sd);
    af_graph_add_input(&g, x), af_graph_add_input(&g, sv);
    int shp = af_graph_add_tensor(&g, "shape", AF_DTYPE_I64, 1, &three);
    int64_t *sh = malloc(3 * sizeof *sh);
    memcpy(sh, xd, 3 * sizeof *sh);
    g.tensors[shp].data = sh;
    int e = af_graph_add_tensor(&g, "e", AF_DTYPE_F32, -1, NULL), in_e[2] = {sv, shp};
    af_graph_add_node(&g, AF_OP_EXPAND, "expand", in_e, 2, &e, 1);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_F32, -1, NULL), in_d[2] = {x, e};
    int n = af_graph_add_node(&g, AF_OP_BINARY, "div", in_d, 2, &y, 1);
    g.nodes[n].p.binary.fn = AF_BINARY_DIV;
    af_graph_add_output(&g, y);
    if (keep == 1) af_graph_add_output(&g, e);
    af_err err = {0};
    af_lower_stats st = {0};
    af_status rc = af_lower_run(&g, NULL, &st, &err);
    CHECK(rc == AF_OK, "lower expand + div: %s", err.msg);
    int expands = 0, div = -1;
    for (int i = 0; rc == AF_OK && i < g.n_nodes; i++) {
        expands += g.nodes[i].op == AF_OP_EXPAND;
        if (g.nodes[i].op == AF_OP_BINARY) div = i;
    }
    if (!keep)
        CHECK(expands == 0 && div >= 0 && g.nodes[div].in[1] >= 0 &&
                  !strcmp(g.tensors[g.nodes[div].in[1]].name, "s"),
              "expand into div: %d expands left, div reads s", expands);
    else
        CHECK(expands == 1, "expand kept (case %d): %d expands", keep, expands);
    af_graph_free(&g);
}

int main(void)
{
    test_expand_into_binary(0);
    test_expand_into_binary(1);
    test_expand_into_binary(2);
    test_bn_fold_and_fusion();
    test_small_cnn();
    test_attention_heads(0);
    test_attention_heads(1);
    return check_report("lower");
}
