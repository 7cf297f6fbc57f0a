/* tests/unit/test_shape.c — shape inference and parameter resolution (graph/shape.h) on
 * hand-built graphs: the tricky cases of ONNX shape rules. Expected values are worked out by hand
 * from the ONNX operator spec (and PyTorch's ceil_mode rule), see the comments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph/shape.h"

static int input(af_graph *g, const char *name, int rank, const int64_t *d)
{
    int t = af_graph_add_tensor(g, name, AF_DTYPE_F32, rank, d);
    af_graph_add_input(g, t);
    return t;
}

static int const_t(af_graph *g, const char *name, af_dtype dt, int rank, const int64_t *d,
                   const void *v)
{
    int t = af_graph_add_tensor(g, name, dt, rank, d);
    size_t bytes = (size_t)af_tensor_nbytes(&g->tensors[t]);
    void *data = malloc(bytes ? bytes : 1);
    if (bytes) memcpy(data, v, bytes);
    af_tensor_set_data(&g->tensors[t], data);
    return t;
}

static int ci64(af_graph *g, const char *name, int n, const int64_t *v)
{
    int64_t d[1] = {n};
    return const_t(g, name, AF_DTYPE_I64, 1, d, v);
}

static int cf32(af_graph *g, const char *name, int n, const float *v)
{
    int64_t d[1] = {n};
    return const_t(g, name, AF_DTYPE_F32, 1, d, v);
}

/* Adds node `name` with one output "<name>.out"; returns the node index. */
static int node(af_graph *g, af_op op, const char *name, const int *in, int n_in, af_params p)
{
    char out[64];
    snprintf(out, sizeof out, "%s.out", name);
    int t = af_graph_add_tensor(g, out, AF_DTYPE_F32, -1, NULL);
    int i = af_graph_add_node(g, op, name, in, n_in, &t, 1);
    g->nodes[i].p = p;
    return i;
}

static const af_tensor *out0(const af_graph *g, int i) { return &g->tensors[g->nodes[i].out[0]]; }

static int dims_are(const af_tensor *t, int rank, const int64_t *d)
{
    if (t->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != d[i]) return 0;
    return 1;
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define EXPECT_DIMS(g, i, ...)                                                                  \
    do {                                                                                        \
        char b_[96];                                                                            \
        const af_tensor *t_ = out0(g, i);                                                       \
        CHECK(dims_are(t_, NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__)), "node %s: got %s",          \
              (g)->nodes[i].name, af_shape_str(t_->rank, t_->dims, b_, sizeof b_));             \
    } while (0)

static af_status infer(af_graph *g, int i, af_err *err)
{
    af_err_clear(err);
    return af_shape_infer_node(g, i, err);
}

static af_params conv_p(int nsp, int stride, int auto_pad)
{
    af_params p = {0};
    p.conv.nsp = nsp;
    p.conv.group = 1;
    p.conv.auto_pad = auto_pad;
    for (int i = 0; i < AF_MAX_SPATIAL; i++) p.conv.stride[i] = stride, p.conv.dilation[i] = 1;
    return p;
}

static void test_conv(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x = input(&g, "x", 4, DIMS(1, 3, 8, 7));
    int w = af_graph_add_tensor(&g, "w", AF_DTYPE_F32, 4, DIMS(8, 3, 3, 3));
    /* SAME_UPPER, stride 2: out = ceil(in/2) = (4,4); total pad = (4-1)*2+3-in = 1 (H=8), 2 (W=7)
     * → H: begin 0, end 1 (the extra pad goes at the end); W: 1, 1 */
    int in[2] = {x, w};
    int c = node(&g, AF_OP_CONV, "conv_su", in, 2, conv_p(0, 2, AF_AUTO_PAD_SAME_UPPER));
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 1, 8, 4, 4);
    const af_conv_params *p = &g.nodes[c].p.conv;
    CHECK(p->auto_pad == AF_AUTO_PAD_NOTSET && p->nsp == 2 && p->kernel[0] == 3 &&
              p->kernel[1] == 3, "resolved form");
    CHECK(p->pad_begin[0] == 0 && p->pad_end[0] == 1 && p->pad_begin[1] == 1 &&
              p->pad_end[1] == 1, "SAME_UPPER pads %d,%d %d,%d", p->pad_begin[0], p->pad_end[0],
          p->pad_begin[1], p->pad_end[1]);
    /* re-running on the resolved node changes nothing */
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 1, 8, 4, 4);
    /* SAME_LOWER puts the odd pad at the beginning */
    c = node(&g, AF_OP_CONV, "conv_sl", in, 2, conv_p(2, 2, AF_AUTO_PAD_SAME_LOWER));
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    p = &g.nodes[c].p.conv;
    CHECK(p->pad_begin[0] == 1 && p->pad_end[0] == 0, "SAME_LOWER pads");
    /* VALID: (8-3)/2+1 = 3, (7-3)/2+1 = 3 */
    c = node(&g, AF_OP_CONV, "conv_v", in, 2, conv_p(2, 2, AF_AUTO_PAD_VALID));
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 1, 8, 3, 3);
    /* channel mismatch */
    int w4 = af_graph_add_tensor(&g, "w4", AF_DTYPE_F32, 4, DIMS(4, 4, 3, 3));
    int in4[2] = {x, w4};
    c = node(&g, AF_OP_CONV, "conv_bad", in4, 2, conv_p(2, 1, 0));
    CHECK(infer(&g, c, &err) == AF_ERR_SHAPE &&
              strstr(err.msg, "node 'conv_bad' (conv): input channels 3 != weight channels 4*1"),
          "%s", err.msg);
    /* nsp from attributes disagreeing with the input */
    c = node(&g, AF_OP_CONV, "conv_nsp", in, 2, conv_p(1, 1, 0));
    CHECK(infer(&g, c, &err) == AF_ERR_SHAPE, "nsp mismatch: %s", err.msg);
    af_graph_free(&g);
}

static void test_conv_transpose(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x = input(&g, "x", 4, DIMS(1, 2, 3, 3));
    int w = af_graph_add_tensor(&g, "w", AF_DTYPE_F32, 4, DIMS(2, 4, 3, 3));
    int in[2] = {x, w};
    /* stride 2, pads 1, output_padding 1: 2*(3-1) + 1 + 3 - 2 = 6; channels W[1]*group = 4 */
    af_params p = conv_p(2, 2, 0);
    for (int i = 0; i < 2; i++) p.conv.pad_begin[i] = p.conv.pad_end[i] = 1, p.conv.out_pad[i] = 1;
    int c = node(&g, AF_OP_CONV_TRANSPOSE, "deconv", in, 2, p);
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 1, 4, 6, 6);
    /* SAME_UPPER: out = in*stride = 6; total = 2*2 + 0 + 3 - 6 = 1 → begin 0, end 1 */
    c = node(&g, AF_OP_CONV_TRANSPOSE, "deconv_same", in, 2, conv_p(2, 2, AF_AUTO_PAD_SAME_UPPER));
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 1, 4, 6, 6);
    CHECK(g.nodes[c].p.conv.pad_begin[0] == 0 && g.nodes[c].p.conv.pad_end[0] == 1,
          "deconv SAME_UPPER pads");
    /* group 2: W (C=2, M/g=4) → 8 output channels */
    p = conv_p(2, 1, 0);
    p.conv.group = 2;
    c = node(&g, AF_OP_CONV_TRANSPOSE, "deconv_g", in, 2, p);
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 1, 8, 5, 5);
    af_graph_free(&g);
}

static af_params pool_p(int k, int s, int pad, int ceil_mode)
{
    af_params p = {0};
    p.pool.kind = AF_POOL_MAX;
    p.pool.nsp = 1;
    p.pool.ceil_mode = ceil_mode;
    p.pool.kernel[0] = k;
    p.pool.stride[0] = s;
    p.pool.dilation[0] = 1;
    p.pool.pad_begin[0] = p.pool.pad_end[0] = pad;
    return p;
}

static void test_pool(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x6 = input(&g, "x6", 3, DIMS(1, 1, 6));
    int x5 = input(&g, "x5", 3, DIMS(1, 1, 5));
    /* in 6, k 3, s 2: floor((6-3)/2)+1 = 2; ceil: ceil(3/2)+1 = 3 */
    int a = node(&g, AF_OP_POOL, "floor", &x6, 1, pool_p(3, 2, 0, 0));
    int b = node(&g, AF_OP_POOL, "ceil", &x6, 1, pool_p(3, 2, 0, 1));
    /* in 5, k 3, s 3, pad 1: ceil((5+2-3)/3)+1 = 3, but window 3 would start at 6 >= 5+1,
     * inside the right padding only, so it is dropped → 2 (PyTorch's and ORT's rule) */
    int c = node(&g, AF_OP_POOL, "ceil_drop", &x5, 1, pool_p(3, 3, 1, 1));
    CHECK(infer(&g, a, &err) == AF_OK && infer(&g, b, &err) == AF_OK &&
              infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, a, 1, 1, 2);
    EXPECT_DIMS(&g, b, 1, 1, 3);
    EXPECT_DIMS(&g, c, 1, 1, 2);
    /* global pool */
    int gp = node(&g, AF_OP_GLOBAL_POOL, "gp", &x6, 1, (af_params){0});
    CHECK(infer(&g, gp, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, gp, 1, 1, 1);
    af_graph_free(&g);
}

static void test_reshape(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x = input(&g, "x", 3, DIMS(2, 3, 4));
    af_params p = {0};
    p.reshape.kind = AF_RESHAPE_RESHAPE;
    int in[2] = {x, ci64(&g, "s1", 2, DIMS(0, -1))};
    int a = node(&g, AF_OP_RESHAPE, "r0m1", in, 2, p); /* 0 copies dim 0 → (2,12) */
    in[1] = ci64(&g, "s2", 2, DIMS(-1, 0));
    int b = node(&g, AF_OP_RESHAPE, "rm10", in, 2, p); /* 0 copies dim 1 (3) → (8,3) */
    in[1] = ci64(&g, "s3", 2, DIMS(5, -1));
    int c = node(&g, AF_OP_RESHAPE, "rbad", in, 2, p);
    CHECK(infer(&g, a, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, a, 2, 12);
    CHECK(g.nodes[a].n_in == 1, "resolved reshape keeps only data");
    CHECK(infer(&g, a, &err) == AF_OK, "re-run: %s", err.msg);
    EXPECT_DIMS(&g, a, 2, 12);
    CHECK(infer(&g, b, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, b, 8, 3);
    CHECK(infer(&g, c, &err) == AF_ERR_SHAPE, "24 elements do not split by 5");
    /* allowzero: 0 is a real zero → 24 elements cannot become 0 */
    p.reshape.allowzero = 1;
    in[1] = ci64(&g, "s4", 2, DIMS(0, 24));
    int d = node(&g, AF_OP_RESHAPE, "rzero", in, 2, p);
    CHECK(infer(&g, d, &err) == AF_ERR_SHAPE, "allowzero");
    /* a shape that is not constant */
    p.reshape.allowzero = 0;
    in[1] = input(&g, "foo", 1, DIMS(2));
    g.tensors[in[1]].dtype = AF_DTYPE_I64;
    int e = node(&g, AF_OP_RESHAPE, "rdyn", in, 2, p);
    CHECK(infer(&g, e, &err) == AF_ERR_UNSUPPORTED &&
              strstr(err.msg, "node 'rdyn' (reshape): the shape input 'foo' is not a constant"),
          "%s", err.msg);
    /* flatten axis 2, squeeze / unsqueeze with negative axes */
    p.reshape.kind = AF_RESHAPE_FLATTEN;
    p.reshape.axis = -1;
    int f = node(&g, AF_OP_RESHAPE, "flat", &x, 1, p);
    CHECK(infer(&g, f, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, f, 6, 4);
    int x1 = input(&g, "x1", 3, DIMS(1, 3, 1));
    p.reshape.kind = AF_RESHAPE_SQUEEZE;
    int sq_in[2] = {x1, ci64(&g, "ax", 1, DIMS(-1))};
    int s = node(&g, AF_OP_RESHAPE, "sq", sq_in, 2, p);
    int s_all = node(&g, AF_OP_RESHAPE, "sq_all", &x1, 1, p);
    p.reshape.kind = AF_RESHAPE_UNSQUEEZE;
    int us_in[2] = {x1, ci64(&g, "ax2", 2, DIMS(0, -1))};
    int u = node(&g, AF_OP_RESHAPE, "usq", us_in, 2, p);
    CHECK(infer(&g, s, &err) == AF_OK && infer(&g, s_all, &err) == AF_OK &&
              infer(&g, u, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, s, 1, 3);
    EXPECT_DIMS(&g, s_all, 3);
    EXPECT_DIMS(&g, u, 1, 1, 3, 1, 1);
    CHECK(infer(&g, s, &err) == AF_OK, "re-run squeeze");
    EXPECT_DIMS(&g, s, 1, 3);
    af_graph_free(&g);
}

static void test_slice(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x = input(&g, "x", 2, DIMS(4, 10));
    /* axis -1, start -1, end INT64_MIN, step -2 → 9,7,5,3,1 (5 elements) */
    int in[5] = {x, ci64(&g, "st", 1, DIMS(-1)), ci64(&g, "en", 1, DIMS(INT64_MIN)),
                 ci64(&g, "ax", 1, DIMS(-1)), ci64(&g, "sp", 1, DIMS(-2))};
    int a = node(&g, AF_OP_SLICE, "neg", in, 5, (af_params){0});
    CHECK(infer(&g, a, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, a, 4, 5);
    const af_slice_params *p = &g.nodes[a].p.slice;
    CHECK(p->start[1] == 9 && p->step[1] == -2 && p->start[0] == 0 && p->step[0] == 1,
          "start %lld step %lld", (long long)p->start[1], (long long)p->step[1]);
    CHECK(g.nodes[a].n_in == 1, "resolved slice keeps only data");
    CHECK(infer(&g, a, &err) == AF_OK, "re-run: %s", err.msg);
    EXPECT_DIMS(&g, a, 4, 5);
    /* starts [1, 2], ends [INT64_MAX, 1000] clamp to the dims → (3, 8) */
    int in2[3] = {x, ci64(&g, "st2", 2, DIMS(1, 2)), ci64(&g, "en2", 2, DIMS(INT64_MAX, 1000))};
    int b = node(&g, AF_OP_SLICE, "clamp", in2, 3, (af_params){0});
    CHECK(infer(&g, b, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, b, 3, 8);
    /* step -1 from 100 (clamped to 9) down to -100 (clamped to -1): all 10 elements reversed */
    int in3[5] = {x, ci64(&g, "st3", 1, DIMS(100)), ci64(&g, "en3", 1, DIMS(-100)),
                  ci64(&g, "ax3", 1, DIMS(1)), ci64(&g, "sp3", 1, DIMS(-1))};
    int c = node(&g, AF_OP_SLICE, "rev", in3, 5, (af_params){0});
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 4, 10);
    CHECK(g.nodes[c].p.slice.start[1] == 9, "reverse starts at 9");
    /* empty result: start 5 end 2 step 1 */
    int in4[3] = {x, ci64(&g, "st4", 1, DIMS(5)), ci64(&g, "en4", 1, DIMS(2))};
    int d = node(&g, AF_OP_SLICE, "empty", in4, 3, (af_params){0});
    CHECK(infer(&g, d, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, d, 0, 10);
    af_graph_free(&g);
}

static void test_broadcast_and_dense(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int a = input(&g, "a", 3, DIMS(2, 1, 3)), b = input(&g, "b", 2, DIMS(4, 1));
    int c = input(&g, "c", 2, DIMS(2, 3)), d = input(&g, "d", 2, DIMS(4, 3));
    af_params p = {0};
    p.binary.fn = AF_BINARY_ADD;
    int ab[2] = {a, b}, cd[2] = {c, d};
    int n1 = node(&g, AF_OP_BINARY, "ok", ab, 2, p);
    int n2 = node(&g, AF_OP_BINARY, "bad", cd, 2, p);
    CHECK(infer(&g, n1, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, n1, 2, 4, 3);
    CHECK(infer(&g, n2, &err) == AF_ERR_SHAPE && strstr(err.msg, "'bad'") &&
              strstr(err.msg, "[2,3] and [4,3] do not broadcast"), "%s", err.msg);
    p.binary.fn = AF_BINARY_LESS;
    int n3 = node(&g, AF_OP_BINARY, "less", ab, 2, p);
    CHECK(infer(&g, n3, &err) == AF_OK && out0(&g, n3)->dtype == AF_DTYPE_BOOL, "bool out");
    /* matmul with 1-D operands (numpy): (3) @ (2,3,4) → (2,4); (2,3,4) @ (4) → (2,3) */
    int v3 = input(&g, "v3", 1, DIMS(3)), v4 = input(&g, "v4", 1, DIMS(4));
    int t = input(&g, "t", 3, DIMS(2, 3, 4));
    int m1[2] = {v3, t}, m2[2] = {t, v4};
    int mm1 = node(&g, AF_OP_MATMUL, "mm1", m1, 2, (af_params){0});
    int mm2 = node(&g, AF_OP_MATMUL, "mm2", m2, 2, (af_params){0});
    CHECK(infer(&g, mm1, &err) == AF_OK && infer(&g, mm2, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, mm1, 2, 4);
    EXPECT_DIMS(&g, mm2, 2, 3);
    /* gemm with transB: A (2,3) B^T where B (5,3) → (2,5) */
    int bt = input(&g, "bt", 2, DIMS(5, 3));
    af_params gp = {0};
    gp.gemm.trans_b = 1;
    int gi[2] = {c, bt};
    int ge = node(&g, AF_OP_GEMM, "gemm", gi, 2, gp);
    CHECK(infer(&g, ge, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, ge, 2, 5);
    /* clip with only max given: min stays -inf */
    af_params cp = {0};
    cp.unary.fn = AF_UNARY_CLIP;
    float six = 6.0f;
    int ci[3] = {c, -1, const_t(&g, "six", AF_DTYPE_F32, 0, NULL, &six)};
    int cl = node(&g, AF_OP_UNARY, "clip", ci, 3, cp);
    CHECK(infer(&g, cl, &err) == AF_OK, "%s", err.msg);
    CHECK(g.nodes[cl].n_in == 1 && isinf(g.nodes[cl].p.unary.alpha) &&
              g.nodes[cl].p.unary.alpha < 0 && g.nodes[cl].p.unary.beta == 6.0f, "clip bounds");
    af_graph_free(&g);
}

static void test_gather_concat_split(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x = input(&g, "x", 3, DIMS(5, 4, 3));
    int idx = af_graph_add_tensor(&g, "idx", AF_DTYPE_I64, 2, DIMS(2, 6));
    af_graph_add_input(&g, idx);
    af_params p = {0};
    p.axis.axis = -2;
    int in[2] = {x, idx};
    int a = node(&g, AF_OP_GATHER, "gather", in, 2, p);
    CHECK(infer(&g, a, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, a, 5, 2, 6, 3);
    CHECK(g.nodes[a].p.axis.axis == 1, "axis normalised");
    /* scalar constant index → the axis disappears; out-of-range constant index is an error */
    int64_t i3 = -3, i9 = 9;
    int in2[2] = {x, const_t(&g, "i3", AF_DTYPE_I64, 0, NULL, &i3)};
    p.axis.axis = 0;
    int b = node(&g, AF_OP_GATHER, "gather_s", in2, 2, p);
    CHECK(infer(&g, b, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, b, 4, 3);
    in2[1] = const_t(&g, "i9", AF_DTYPE_I64, 0, NULL, &i9);
    int c = node(&g, AF_OP_GATHER, "gather_bad", in2, 2, p);
    CHECK(infer(&g, c, &err) == AF_ERR_SHAPE && strstr(err.msg, "out of range"), "%s", err.msg);
    /* concat on axis -1 */
    int y = input(&g, "y", 3, DIMS(5, 4, 2));
    int ci[2] = {x, y};
    p.axis.axis = -1;
    int d = node(&g, AF_OP_CONCAT, "concat", ci, 2, p);
    CHECK(infer(&g, d, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, d, 5, 4, 5);
    /* split with sizes [1,3] on axis 1 (two outputs) */
    int outs[2] = {af_graph_add_tensor(&g, "s0", AF_DTYPE_F32, -1, NULL),
                   af_graph_add_tensor(&g, "s1", AF_DTYPE_F32, -1, NULL)};
    int si[2] = {x, ci64(&g, "sizes", 2, DIMS(1, 3))};
    int s = af_graph_add_node(&g, AF_OP_SPLIT, "split", si, 2, outs, 2);
    g.nodes[s].p.axis.axis = 1;
    CHECK(infer(&g, s, &err) == AF_OK, "%s", err.msg);
    CHECK(g.tensors[outs[0]].dims[1] == 1 && g.tensors[outs[1]].dims[1] == 3 &&
              g.nodes[s].n_in == 1, "split sizes");
    CHECK(infer(&g, s, &err) == AF_OK && g.tensors[outs[1]].dims[1] == 3, "split re-run");
    af_graph_free(&g);
}

static void test_resize(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x = input(&g, "x", 4, DIMS(1, 3, 5, 7));
    /* scales: out = floor(in * scale): 7 * 1.5 = 10.5 → 10 */
    int in[4] = {x, -1, cf32(&g, "sc", 4, (const float[]){1, 1, 2, 1.5f}), -1};
    int a = node(&g, AF_OP_RESIZE, "scales", in, 3, (af_params){0});
    CHECK(infer(&g, a, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, a, 1, 3, 10, 10);
    CHECK(g.nodes[a].p.resize.scale[3] == 1.5f && g.nodes[a].n_in == 1, "scale kept");
    /* sizes (with an empty scales tensor, as opset 11 exporters write): scale = size / in */
    int in2[4] = {x, -1, cf32(&g, "empty", 0, NULL), ci64(&g, "sz", 4, DIMS(1, 3, 7, 3))};
    int b = node(&g, AF_OP_RESIZE, "sizes", in2, 4, (af_params){0});
    CHECK(infer(&g, b, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, b, 1, 3, 7, 3);
    CHECK(g.nodes[b].p.resize.scale[2] == 7.0f / 5.0f && g.nodes[b].p.resize.scale[3] ==
              3.0f / 7.0f, "scale from sizes");
    CHECK(infer(&g, b, &err) == AF_OK, "re-run");
    EXPECT_DIMS(&g, b, 1, 3, 7, 3); /* not floor(7 * (3/7)) = 6 */
    /* both scales and sizes → error */
    int in3[4] = {x, -1, in[2], in2[3]};
    int c = node(&g, AF_OP_RESIZE, "both", in3, 4, (af_params){0});
    CHECK(infer(&g, c, &err) == AF_ERR_SHAPE, "both given");
    af_graph_free(&g);
}

static void test_reduce_pad_shape(void)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    int x = input(&g, "x", 4, DIMS(2, 3, 4, 5));
    af_params p = {0};
    p.reduce.fn = AF_REDUCE_MEAN;
    int in[2] = {x, ci64(&g, "ax", 2, DIMS(1, -1))};
    int a = node(&g, AF_OP_REDUCE, "rm", in, 2, p);
    CHECK(infer(&g, a, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, a, 2, 4);
    CHECK(g.nodes[a].p.reduce.axes_mask == 0xA, "mask 0x%x", (unsigned)g.nodes[a].p.reduce.axes_mask);
    p.reduce.keepdims = 1;
    int b = node(&g, AF_OP_REDUCE, "rall", &x, 1, p); /* no axes: all, keepdims */
    CHECK(infer(&g, b, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, b, 1, 1, 1, 1);
    p.reduce.noop_with_empty_axes = 1;
    int c = node(&g, AF_OP_REDUCE, "rnoop", &x, 1, p);
    CHECK(infer(&g, c, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, c, 2, 3, 4, 5);
    /* pad: layout [x1_begin, x2_begin, ..., x1_end, ...], negative pads crop; opset-18 axes */
    af_params pp = {0};
    int pin[4] = {x, ci64(&g, "pads", 4, DIMS(1, -1, 2, 0)), -1, ci64(&g, "pax", 2, DIMS(1, 3))};
    int d = node(&g, AF_OP_PAD, "pad", pin, 4, pp);
    CHECK(infer(&g, d, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, d, 2, 6, 4, 4);
    CHECK(g.nodes[d].p.pad.begin[3] == -1 && g.nodes[d].p.pad.end[1] == 2 && g.nodes[d].n_in == 1,
          "pad params");
    /* shape with start 1, end -1 → [3, 4] as constant data */
    af_params sp = {0};
    sp.shape.start = 1;
    sp.shape.end = -1;
    int s = node(&g, AF_OP_SHAPE, "shape", &x, 1, sp);
    CHECK(infer(&g, s, &err) == AF_OK, "%s", err.msg);
    const af_tensor *so = out0(&g, s);
    CHECK(so->data && so->dtype == AF_DTYPE_I64 && so->dims[0] == 2 &&
              ((int64_t *)so->data)[0] == 3 && ((int64_t *)so->data)[1] == 4, "shape data");
    /* constant_of_shape from that → (3,4) filled with 1.5 */
    af_params cp = {0};
    cp.const_of_shape.dtype = AF_DTYPE_F32;
    cp.const_of_shape.value = 1.5;
    int so_t = g.nodes[s].out[0];
    int k = node(&g, AF_OP_CONSTANT_OF_SHAPE, "cos", &so_t, 1, cp);
    CHECK(infer(&g, k, &err) == AF_OK, "%s", err.msg);
    EXPECT_DIMS(&g, k, 3, 4);
    CHECK(out0(&g, k)->data && ((float *)out0(&g, k)->data)[11] == 1.5f, "cos data");
    af_graph_free(&g);
}

int main(void)
{
    test_conv();
    test_conv_transpose();
    test_pool();
    test_reshape();
    test_slice();
    test_broadcast_and_dense();
    test_gather_concat_split();
    test_resize();
    test_reduce_pad_shape();
    return check_report("shape");
}
