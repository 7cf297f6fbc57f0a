/* Unit tests for FLOAT16/BFLOAT16 graphs (lowering/half.c): half graphs lowered, written as a
 * bundle and run through the runtime API must compute what the half graph means — every op's
 * half output rounded to the nearest half (even, overflow to inf) — with f16 I/O at the
 * interface (bf16 I/O as f32), half constants folded in f32 and rounded, and no rounding node
 * where rounding is a no-op. Expected values are computed here one op at a time with
 * af_f32_to_f16 / af_f32_to_bf16, independently of the pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bundle/bundle.h"
#include "../../graph/graph.h"
#include "../../lowering/lower.h"
#include "aneforge/runtime.h"
#include "check.h"

#define N 6

static float h(float x) { return af_f16_to_f32(af_f32_to_f16(x)); }
static float b16(float x) { return af_bf16_to_f32(af_f32_to_bf16(x)); }

static int add_half_const(af_graph *g, const char *name, af_dtype dt, int n, const float *v)
{
    int64_t d = n;
    int t = af_graph_add_tensor(g, name, dt, 1, &d);
    uint16_t *p = malloc(2 * (size_t)n);
    for (int i = 0; i < n; i++) p[i] = dt == AF_DTYPE_F16 ? af_f32_to_f16(v[i]) : af_f32_to_bf16(v[i]);
    af_tensor_set_data(&g->tensors[t], p);
    return t;
}

static int add_node(af_graph *g, af_op op, int fn, int a, int b, int out)
{
    int in[2] = {a, b};
    int i = af_graph_add_node(g, op, g->tensors[out].name, in, b < 0 ? 1 : 2, &out, 1);
    if (op == AF_OP_UNARY) g->nodes[i].p.unary.fn = fn;
    if (op == AF_OP_BINARY) g->nodes[i].p.binary.fn = fn;
    return i;
}

static int count_op(const af_graph *g, af_op op, int fn)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += g->nodes[i].op == op && (fn < 0 || g->nodes[i].p.unary.fn == fn);
    return c;
}

/* Lowers g, writes it, runs it on in (n_in bytes); copies output 0 into out. Returns the
 * bundle's input/output dtypes through di/dout. */
static int lower_run(af_graph *g, const void *in, size_t n_in, void *out, size_t n_out,
                     af_dtype *di, af_dtype *dout)
{
    af_err err = {0};
    af_lower_stats ls = {0};
    if (af_lower_run(g, NULL, &ls, &err) != AF_OK) {
        fprintf(stderr, "lower: %s\n", err.msg);
        return -1;
    }
    char path[] = "/tmp/af_test_half_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    afb_meta meta = {"{}"};
    af_bundle *b = NULL;
    af_session *s = NULL;
    char msg[256];
    int rc = -1;
    af_tensor_info ii, oi;
    const void *y;
    if (afb_write(g, ls.arena_bytes, &meta, path, &err) == AF_OK &&
        af_bundle_open(path, &b, msg, sizeof msg) == AF_OK &&
        af_session_create(b, NULL, &s, msg, sizeof msg) == AF_OK &&
        af_bundle_input_info(b, 0, &ii) == AF_OK && af_session_set_input(s, 0, in, n_in) == AF_OK &&
        af_session_run(s) == AF_OK && af_session_get_output(s, 0, &y, &oi) == AF_OK &&
        oi.nbytes == n_out) {
        memcpy(out, y, n_out);
        *di = ii.dtype;
        *dout = oi.dtype;
        rc = 0;
    }
    if (s) af_session_free(s);
    if (b) af_bundle_close(b);
    unlink(path);
    return rc;
}

static const float xs[N] = {-1.2f, 0.37f, 3.3f, 1000.7f, -0.001f, 250.0f};

/* x (f16) → Add(x, 1024) → Sub(·, 1024) → Relu → Mul(·, 300) → y (f16): each op rounds. */
static void test_f16_chain(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t d = N;
    const float k1024 = 1024.0f, k300 = 300.0f;
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F16, 1, &d);
    af_graph_add_input(&g, x);
    int k = add_half_const(&g, "k", AF_DTYPE_F16, 1, &k1024);
    int m = add_half_const(&g, "m", AF_DTYPE_F16, 1, &k300);
    int a = af_graph_add_tensor(&g, "a", AF_DTYPE_F16, -1, NULL);
    int s = af_graph_add_tensor(&g, "s", AF_DTYPE_F16, -1, NULL);
    int r = af_graph_add_tensor(&g, "r", AF_DTYPE_F16, -1, NULL);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_F16, -1, NULL);
    add_node(&g, AF_OP_BINARY, AF_BINARY_ADD, x, k, a);
    add_node(&g, AF_OP_BINARY, AF_BINARY_SUB, a, k, s);
    add_node(&g, AF_OP_UNARY, AF_UNARY_RELU, s, -1, r);
    add_node(&g, AF_OP_BINARY, AF_BINARY_MUL, r, m, y);
    af_graph_add_output(&g, y);
    uint16_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = af_f32_to_f16(xs[i]);
    af_dtype di = AF_DTYPE_COUNT, dout = AF_DTYPE_COUNT;
    int rc = lower_run(&g, in, sizeof in, out, sizeof out, &di, &dout);
    CHECK(rc == 0, "f16 chain: lower/write/run failed");
    CHECK(di == AF_DTYPE_F16 && dout == AF_DTYPE_F16, "f16 chain: I/O is %s -> %s, want f16",
          af_dtype_name(di), af_dtype_name(dout));
    /* Sub's rounding is deferred to after Relu (rounding commutes with it): one round node for
     * Add and one for Relu; Mul's output is narrowed by the output Cast. */
    CHECK(count_op(&g, AF_OP_UNARY, AF_UNARY_ROUND_F16) == 2, "f16 chain: %d round nodes, want 2",
          count_op(&g, AF_OP_UNARY, AF_UNARY_ROUND_F16));
    for (int i = 0; i < N && rc == 0; i++) {
        float v = h(h(h(af_f16_to_f32(in[i]) + 1024.0f) - 1024.0f));
        v = h(v < 0 ? 0 : v);
        float want = h(v * 300.0f);
        float got = af_f16_to_f32(out[i]);
        CHECK(got == want, "f16 chain: y[%d] = %.9g, want %.9g", i, got, want);
    }
    /* 1000.7 → 1001 → 301 * 300 = 90300 > 65504: the half graph overflows to +inf */
    CHECK(rc == 0 && isinf(af_f16_to_f32(out[3])) && out[3] == 0x7c00, "f16 chain: no overflow");
    /* -1.2 + 1024 rounds to 1023 in half, so s = -1 and relu gives 0 (f32 math gives 0 too);
     * 0.37 + 1024 rounds to 1024: the half graph gives 0, f32 math would give 0.37 */
    CHECK(rc == 0 && out[1] == 0, "f16 chain: y[1] = %g, the half graph gives 0",
          af_f16_to_f32(out[1]));
    af_graph_free(&g);
}

/* x (bf16, so f32 at the interface) → Mul(x, c) → y (bf16): rounded to bfloat16. */
static void test_bf16_io(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t d = N;
    const float c = 1.37f;
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_BF16, 1, &d);
    af_graph_add_input(&g, x);
    int k = add_half_const(&g, "c", AF_DTYPE_BF16, 1, &c);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_BF16, -1, NULL);
    add_node(&g, AF_OP_BINARY, AF_BINARY_MUL, x, k, y);
    af_graph_add_output(&g, y);
    float in[N], out[N];
    memcpy(in, xs, sizeof in);
    af_dtype di = AF_DTYPE_COUNT, dout = AF_DTYPE_COUNT;
    int rc = lower_run(&g, in, sizeof in, out, sizeof out, &di, &dout);
    CHECK(rc == 0, "bf16: lower/write/run failed");
    CHECK(di == AF_DTYPE_F32 && dout == AF_DTYPE_F32, "bf16: I/O is %s -> %s, want f32",
          af_dtype_name(di), af_dtype_name(dout));
    for (int i = 0; i < N && rc == 0; i++) {
        float want = b16(b16(xs[i]) * b16(c));
        CHECK(out[i] == want, "bf16: y[%d] = %.9g, want %.9g", i, out[i], want);
    }
    af_graph_free(&g);
}

/* Constant half subgraphs fold with the half rounding: y = x + (c1 * c2), x f32 through a
 * Cast to f16, output Cast back to f32 (fp32 I/O kept, as converters write it). */
static void test_fold_and_casts(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t d = N;
    const float c1[N] = {0.1f, 0.2f, 0.3f, 3.14159f, 100.1f, 1e-3f};
    const float c2[N] = {3.0f, 7.0f, 0.7f, 2.71828f, 1000.0f, 1e-3f};
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F32, 1, &d);
    af_graph_add_input(&g, x);
    int a = add_half_const(&g, "c1", AF_DTYPE_F16, N, c1);
    int b = add_half_const(&g, "c2", AF_DTYPE_F16, N, c2);
    int p = af_graph_add_tensor(&g, "p", AF_DTYPE_F16, -1, NULL);
    int xh = af_graph_add_tensor(&g, "xh", AF_DTYPE_F16, -1, NULL);
    int s = af_graph_add_tensor(&g, "s", AF_DTYPE_F16, -1, NULL);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_F32, -1, NULL);
    add_node(&g, AF_OP_BINARY, AF_BINARY_MUL, a, b, p);
    int ci = af_graph_add_node(&g, AF_OP_CAST, "to_half", &x, 1, &xh, 1);
    g.nodes[ci].p.cast.to = AF_DTYPE_F16;
    add_node(&g, AF_OP_BINARY, AF_BINARY_ADD, xh, p, s);
    int co = af_graph_add_node(&g, AF_OP_CAST, "to_float", &s, 1, &y, 1);
    g.nodes[co].p.cast.to = AF_DTYPE_F32;
    af_graph_add_output(&g, y);
    float out[N];
    af_dtype di = AF_DTYPE_COUNT, dout = AF_DTYPE_COUNT;
    int rc = lower_run(&g, xs, sizeof xs, out, sizeof out, &di, &dout);
    CHECK(rc == 0, "fold: lower/write/run failed");
    CHECK(di == AF_DTYPE_F32 && dout == AF_DTYPE_F32, "fold: I/O is %s -> %s, want f32",
          af_dtype_name(di), af_dtype_name(dout));
    CHECK(count_op(&g, AF_OP_CAST, -1) == 0, "fold: %d casts left", count_op(&g, AF_OP_CAST, -1));
    CHECK(count_op(&g, AF_OP_BINARY, -1) == 1, "fold: the constant Mul was not folded");
    for (int i = 0; i < N && rc == 0; i++) {
        float want = h(h(xs[i]) + h(h(c1[i]) * h(c2[i])));
        CHECK(out[i] == want, "fold: y[%d] = %.9g, want %.9g", i, out[i], want);
    }
    af_graph_free(&g);
}

/* x (f16) → Neg → Max(·, c) → y (f16): only exact ops on halves, so no rounding node. */
static void test_exact_ops(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t d = N;
    const float c = -0.3f;
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F16, 1, &d);
    af_graph_add_input(&g, x);
    int k = add_half_const(&g, "c", AF_DTYPE_F16, 1, &c);
    int a = af_graph_add_tensor(&g, "a", AF_DTYPE_F16, -1, NULL);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_F16, -1, NULL);
    add_node(&g, AF_OP_UNARY, AF_UNARY_NEG, x, -1, a);
    add_node(&g, AF_OP_BINARY, AF_BINARY_MAX, a, k, y);
    af_graph_add_output(&g, y);
    uint16_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = af_f32_to_f16(xs[i]);
    af_dtype di, dout;
    int rc = lower_run(&g, in, sizeof in, out, sizeof out, &di, &dout);
    CHECK(rc == 0, "exact ops: lower/write/run failed");
    CHECK(count_op(&g, AF_OP_UNARY, AF_UNARY_ROUND_F16) == 0, "exact ops: %d round nodes",
          count_op(&g, AF_OP_UNARY, AF_UNARY_ROUND_F16));
    for (int i = 0; i < N && rc == 0; i++) {
        float v = -af_f16_to_f32(in[i]), want = v > h(c) ? v : h(c);
        CHECK(af_f16_to_f32(out[i]) == want, "exact ops: y[%d] = %g, want %g", i,
              af_f16_to_f32(out[i]), want);
    }
    af_graph_free(&g);
}

int main(void)
{
    test_exact_ops();
    test_f16_chain();
    test_bf16_io();
    test_fold_and_casts();
    return check_report("test_half");
}
