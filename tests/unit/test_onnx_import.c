/* tests/unit/test_onnx_import.c — the ONNX importer on the models made by
 * tests/data/onnx/make_test_models.py: graph structure, constants, dims, op mapping, and error
 * codes/messages for bad or unsupported models. Runs from tests/. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "graph/shape.h"
#include "importers/onnx/onnx_import.h"

#define D "data/onnx/"

static af_status load(const char *path, const af_onnx_options *o, af_graph *g, af_err *err)
{
    af_graph_init(g);
    af_err_clear(err);
    return af_onnx_import_file(path, o, g, err);
}

static const af_tensor *T(const af_graph *g, const char *name)
{
    int i = af_graph_find_tensor(g, name);
    return i >= 0 ? &g->tensors[i] : NULL;
}

static const af_node *N(const af_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
    return NULL;
}

static int dims_are(const af_tensor *t, int rank, const int64_t *d)
{
    if (!t || t->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != d[i]) return 0;
    return 1;
}

/* Expects failure with code, and a message containing each of the given words. */
static void expect_fail(const char *path, const af_onnx_options *o, af_status code,
                        const char *w1, const char *w2)
{
    af_graph g;
    af_err err;
    af_status st = load(path, o, &g, &err);
    CHECK(st == code, "%s: status %s, want %s (%s)", path, af_status_str(st), af_status_str(code),
          err.msg);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0, "%s: message does not start with the path: %s",
          path, err.msg);
    CHECK(!w1 || strstr(err.msg, w1), "%s: message lacks '%s': %s", path, w1, err.msg);
    CHECK(!w2 || strstr(err.msg, w2), "%s: message lacks '%s': %s", path, w2, err.msg);
    af_graph_free(&g);
}

static void test_tiny_cnn(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "tiny_cnn.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    CHECK(g.opset == 13, "opset %d", g.opset);
    CHECK(g.n_nodes == 6, "nodes %d", g.n_nodes);
    CHECK(g.n_inputs == 1 && g.n_outputs == 1, "io %d %d", g.n_inputs, g.n_outputs);
    CHECK(g.source && !strcmp(g.source, D "tiny_cnn.onnx"), "source");
    static const af_op ops[6] = {AF_OP_CONV, AF_OP_BATCHNORM, AF_OP_UNARY, AF_OP_POOL,
                                 AF_OP_RESHAPE, AF_OP_GEMM};
    for (int i = 0; i < 6 && i < g.n_nodes; i++)
        CHECK(g.nodes[i].op == ops[i], "node %d op %s", i, af_op_name(g.nodes[i].op));
    CHECK(N(&g, "Relu_2") != NULL, "unnamed node gets <OpType>_<index>");
    const af_node *conv = N(&g, "conv");
    CHECK(conv && conv->p.conv.nsp == 2 && conv->p.conv.pad_begin[0] == 1 &&
              conv->p.conv.pad_end[1] == 1 && conv->p.conv.kernel[0] == 3 &&
              conv->p.conv.stride[1] == 1 && conv->p.conv.group == 1, "conv params");
    const af_node *bn = N(&g, "bn");
    CHECK(bn && bn->p.batchnorm.eps == 1e-3f, "bn eps");
    const af_node *fc = N(&g, "fc");
    CHECK(fc && fc->p.gemm.trans_b == 1 && fc->p.gemm.alpha == 1.0f, "gemm params");
    const af_tensor *w = T(&g, "conv.w");
    static const int64_t wd[4] = {4, 3, 3, 3};
    CHECK(w && af_tensor_is_const(w) && dims_are(w, 4, wd) && w->dtype == AF_DTYPE_F32,
          "conv.w");
    static const int64_t xd[4] = {1, 3, 8, 8};
    CHECK(dims_are(&g.tensors[g.inputs[0]], 4, xd), "input dims");
    /* shape inference through the whole net */
    st = af_shape_infer_graph(&g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    static const int64_t yd[2] = {1, 10}, pd[4] = {1, 4, 4, 4};
    CHECK(dims_are(T(&g, "y"), 2, yd), "y dims");
    CHECK(dims_are(T(&g, "p"), 4, pd), "pool dims");
    CHECK(af_graph_verify(&g, 1, &err) == AF_OK, "verify: %s", err.msg);
    af_graph_free(&g);
}

static void test_constants(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "constants.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    CHECK(g.n_nodes == 1, "Constant nodes leave no node (%d nodes)", g.n_nodes);
    const af_tensor *t = T(&g, "c_tensor");
    static const int64_t d22[2] = {2, 2};
    CHECK(t && dims_are(t, 2, d22) && ((float *)t->data)[3] == 4.0f, "value tensor");
    t = T(&g, "c_float");
    CHECK(t && t->rank == 0 && t->dtype == AF_DTYPE_F32 && *(float *)t->data == 2.5f, "float");
    t = T(&g, "c_floats");
    CHECK(t && t->rank == 1 && t->dims[0] == 3 && ((float *)t->data)[1] == -1.0f, "floats");
    t = T(&g, "c_int");
    CHECK(t && t->rank == 0 && t->dtype == AF_DTYPE_I64 && *(int64_t *)t->data == 7, "int");
    t = T(&g, "c_ints");
    CHECK(t && t->dims[0] == 2 && ((int64_t *)t->data)[1] == -4, "ints");
    CHECK(g.n_outputs == 5, "outputs %d", g.n_outputs);
    af_graph_free(&g);
    expect_fail(D "constant_string.onnx", NULL, AF_ERR_UNSUPPORTED, "str_const", "value_string");
}

static void check_inits(const char *path)
{
    af_graph g;
    af_err err;
    af_status st = load(path, NULL, &g, &err);
    CHECK(st == AF_OK, "%s: %s", path, err.msg);
    const af_tensor *w = T(&g, "w"), *s = T(&g, "shape"), *h = T(&g, "h"), *b = T(&g, "bools"),
                    *i8 = T(&g, "i8"), *d = T(&g, "dbl");
    CHECK(w && w->dtype == AF_DTYPE_F32 && ((float *)w->data)[3] == 3.25f, "%s: w", path);
    CHECK(s && s->dtype == AF_DTYPE_I64 && ((int64_t *)s->data)[1] == 2, "%s: shape", path);
    CHECK(h && h->dtype == AF_DTYPE_F16 && af_f16_to_f32(((uint16_t *)h->data)[1]) == -2.0f &&
              af_f16_to_f32(((uint16_t *)h->data)[0]) == 1.0f, "%s: f16", path);
    CHECK(b && b->dtype == AF_DTYPE_BOOL && ((uint8_t *)b->data)[0] == 1 &&
              ((uint8_t *)b->data)[1] == 0, "%s: bool", path);
    CHECK(i8 && i8->dtype == AF_DTYPE_I8 && ((int8_t *)i8->data)[0] == -128 &&
              ((int8_t *)i8->data)[2] == 127, "%s: i8", path);
    /* double is narrowed to f32: 0.1 rounds to the nearest float */
    CHECK(d && d->dtype == AF_DTYPE_F32 && ((float *)d->data)[0] == 0.1f &&
              ((float *)d->data)[1] == 1e10f, "%s: double", path);
    CHECK(g.n_inputs == 1 && g.n_nodes == 2, "%s: structure", path);
    af_graph_free(&g);
}

static void test_initializers(void)
{
    check_inits(D "init_typed.onnx");
    check_inits(D "init_raw.onnx");
    expect_fail(D "init_short.onnx", NULL, AF_ERR_FORMAT, "'w'", "raw_data");
    expect_fail(D "init_string.onnx", NULL, AF_ERR_UNSUPPORTED, "'names'", "STRING");

    af_graph g;
    af_err err;
    af_status st = load(D "init_as_input.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    const af_tensor *w = T(&g, "w");
    CHECK(g.n_inputs == 1 && w && af_tensor_is_const(w) && !(w->flags & AF_TENSOR_INPUT),
          "an initializer listed as input is a constant");
    af_graph_free(&g);
}

static void test_external(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "ext/ext_good.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    const af_tensor *w = T(&g, "w");
    CHECK(w && w->data && ((float *)w->data)[0] == 0.0f && ((float *)w->data)[5] == 2.5f,
          "external weights read at offset 16");
    af_graph_free(&g);
    expect_fail(D "ext/ext_dotdot.onnx", NULL, AF_ERR_FORMAT, "'w'", "../tiny_cnn.onnx");
    expect_fail(D "ext/ext_sub_dotdot.onnx", NULL, AF_ERR_FORMAT, "'w'", "leaves");
    expect_fail(D "ext/ext_abs.onnx", NULL, AF_ERR_FORMAT, "'w'", "absolute");
    expect_fail(D "ext/ext_missing.onnx", NULL, AF_ERR_IO, "'w'", "nope.bin");
    expect_fail(D "ext/ext_offset.onnx", NULL, AF_ERR_FORMAT, "'w'", "weights.bin");

    /* a symlink inside the folder that points outside it is refused after realpath */
    char dir[] = "/tmp/af_onnx_XXXXXX", path[256], cwd[200], target[400];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    snprintf(target, sizeof target, "%s/" D "ext/weights.bin", cwd);
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    CHECK(symlink(target, path) == 0, "symlink");
    char model[256], cmd[700];
    snprintf(model, sizeof model, "%s/m.onnx", dir);
    snprintf(cmd, sizeof cmd, "cp " D "ext/ext_good.onnx %s", model);
    CHECK(system(cmd) == 0, "cp");
    expect_fail(model, NULL, AF_ERR_FORMAT, "'w'", "outside");
    unlink(model);
    unlink(path);
    rmdir(dir);

    /* from memory without a base folder: external data refused */
    FILE *f = fopen(D "ext/ext_good.onnx", "rb");
    char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    af_graph_init(&g);
    af_err_clear(&err);
    st = af_onnx_import_memory(buf, n, NULL, "mem", NULL, &g, &err);
    CHECK(st == AF_ERR_FORMAT && strstr(err.msg, "mem: ") == err.msg, "%s", err.msg);
    af_graph_free(&g);
}

static void test_unsupported(void)
{
    expect_fail(D "unsupported_op.onnx", NULL, AF_ERR_UNSUPPORTED,
                "node 'uniq' uses unsupported op 'Unique'", NULL);
    expect_fail(D "custom_domain.onnx", NULL, AF_ERR_UNSUPPORTED, "ms_gelu", "com.microsoft");
    expect_fail(D "bn_stats_output.onnx", NULL, AF_ERR_UNSUPPORTED, "'bn'", "bn_mean");
}

/* MaxPool's Indices output: a second POOL output, i64 with Y's shape. */
static void test_maxpool_indices(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "maxpool_indices.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    const af_node *mp = N(&g, "mp");
    CHECK(mp && mp->op == AF_OP_POOL && mp->n_out == 2, "pool with 2 outputs");
    if (st == AF_OK) st = af_shape_infer_graph(&g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    static const int64_t d[4] = {1, 1, 3, 3};
    const af_tensor *idx = T(&g, "idx");
    CHECK(idx && dims_are(idx, 4, d) && idx->dtype == AF_DTYPE_I64, "Indices i64 (1,1,3,3)");
    af_graph_free(&g);
}

static void test_dynamic_batch(void)
{
    expect_fail(D "dynamic_batch.onnx", NULL, AF_ERR_SHAPE, "input 'x' has an unknown dimension 0 "
                "('N'); fix it with --input-shape x=D0,D1,...", NULL);
    af_input_shape s = {"x", 4, {2, 3, 4, 4}};
    af_onnx_options o = {.shapes = &s, .n_shapes = 1};
    af_graph g;
    af_err err;
    af_status st = load(D "dynamic_batch.onnx", &o, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    static const int64_t d[4] = {2, 3, 4, 4};
    CHECK(g.n_inputs == 1 && dims_are(&g.tensors[g.inputs[0]], 4, d), "override applied");
    af_graph_free(&g);
    af_input_shape bad = {"nope", 1, {1}};
    o.shapes = &bad;
    expect_fail(D "dynamic_batch.onnx", &o, AF_ERR_USAGE, "'nope'", NULL);
    af_input_shape rank = {"x", 3, {1, 2, 3}};
    o.shapes = &rank;
    expect_fail(D "dynamic_batch.onnx", &o, AF_ERR_USAGE, "rank", NULL);
}

static void test_torch_reshape(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "torch_reshape.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    static const af_op ops[5] = {AF_OP_SHAPE, AF_OP_GATHER, AF_OP_RESHAPE, AF_OP_CONCAT,
                                 AF_OP_RESHAPE};
    CHECK(g.n_nodes == 5, "nodes %d", g.n_nodes);
    for (int i = 0; i < 5 && i < g.n_nodes; i++)
        CHECK(g.nodes[i].op == ops[i], "node %d op %s", i, af_op_name(g.nodes[i].op));
    const af_node *u = N(&g, "unsq");
    CHECK(u && u->p.reshape.kind == AF_RESHAPE_UNSQUEEZE && u->n_in == 2, "unsqueeze form");
    /* Shape becomes a constant; Gather on it is not folded here (lowering folds it), so the
     * plain driver stops at the Reshape whose shape input is not constant. */
    st = af_shape_infer_graph(&g, &err);
    const af_tensor *s = T(&g, "s");
    CHECK(s && s->data && ((int64_t *)s->data)[2] == 4, "Shape folded to [2,3,4]");
    CHECK(st == AF_ERR_UNSUPPORTED && strstr(err.msg, "reshape") && strstr(err.msg, "'target'"),
          "%s", err.msg);
    af_graph_free(&g);
}

static void test_old_opset(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "old_opset.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    CHECK(g.opset == 9, "opset");
    const af_node *clip = N(&g, "clip"), *pad = N(&g, "pad"), *sl = N(&g, "slice");
    CHECK(clip && clip->n_in == 3, "clip min/max become inputs");
    CHECK(pad && pad->n_in == 3, "pad pads/value become inputs");
    CHECK(sl && sl->n_in == 4, "slice attrs become inputs");
    const af_node *sm = N(&g, "softmax");
    CHECK(sm && sm->p.softmax.legacy == 1 && sm->p.softmax.axis == 1, "legacy softmax");
    st = af_shape_infer_graph(&g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    CHECK(clip && clip->n_in == 1 && clip->p.unary.alpha == 0.0f && clip->p.unary.beta == 6.0f,
          "clip resolved");
    CHECK(pad && pad->n_in == 1 && pad->p.pad.value == 0.5f && pad->p.pad.begin[2] == 1,
          "pad resolved");
    /* x (1,3,4,4) → pad (1,3,6,6) → slice [1:100, -3:-1] → (1,3,5,2) → upsample ×2 (1,3,10,4)
     * → split [1,2] → reduce (1,2,1,1) → squeeze (1,2) → unsqueeze (1,1,2) */
    static const int64_t sd[4] = {1, 3, 5, 2}, ud[4] = {1, 3, 10, 4}, yd[3] = {1, 1, 2},
                         zd[4] = {1, 1, 10, 4};
    CHECK(dims_are(T(&g, "s"), 4, sd), "slice dims");
    CHECK(dims_are(T(&g, "u"), 4, ud), "upsample dims");
    CHECK(dims_are(T(&g, "y"), 3, yd), "y dims");
    CHECK(dims_are(T(&g, "z"), 4, zd), "z dims");
    af_graph_free(&g);
}

static void test_misc(void)
{
    af_graph g;
    af_err err;
    af_status st = load(D "misc.onnx", NULL, &g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    /* Sum of 3 → 2 adds; Mean of 2 → add + div; Max of 1 → identity; ArgMax; pool; dropout */
    CHECK(g.n_nodes == 8, "nodes %d", g.n_nodes);
    const af_node *mean = N(&g, "mean2"), *mx = N(&g, "max1"), *am = N(&g, "argmax");
    CHECK(mean && mean->op == AF_OP_BINARY && mean->p.binary.fn == AF_BINARY_DIV, "mean divides");
    CHECK(mx && mx->op == AF_OP_IDENTITY, "max of one input");
    CHECK(am && am->op == AF_OP_REDUCE && am->p.reduce.fn == AF_REDUCE_ARGMAX && am->n_in == 2,
          "argmax");
    CHECK(T(&g, "mp_idx") == NULL && T(&g, "d_mask") == NULL, "unused extra outputs dropped");
    st = af_shape_infer_graph(&g, &err);
    CHECK(st == AF_OK, "%s", err.msg);
    static const int64_t amd[3] = {1, 2, 3};
    CHECK(dims_are(T(&g, "am"), 3, amd) && T(&g, "am")->dtype == AF_DTYPE_I64, "argmax out");
    CHECK(am && am->p.reduce.axes_mask == 8, "argmax axis -1 → mask bit 3");
    af_graph_free(&g);
}

static void test_bad_files(void)
{
    expect_fail(D "truncated.onnx", NULL, AF_ERR_FORMAT, "is not a valid ONNX model", NULL);
    expect_fail(D "text.onnx", NULL, AF_ERR_FORMAT, "is not a valid ONNX model", NULL);
    expect_fail(D "empty.onnx", NULL, AF_ERR_FORMAT, "is not a valid ONNX model", NULL);
    expect_fail(D "does_not_exist.onnx", NULL, AF_ERR_IO, "cannot open", NULL);
}

int main(void)
{
    test_tiny_cnn();
    test_constants();
    test_initializers();
    test_external();
    test_unsupported();
    test_maxpool_indices();
    test_dynamic_batch();
    test_torch_reshape();
    test_old_opset();
    test_misc();
    test_bad_files();
    return check_report("onnx_import");
}
