/* tests/unit/test_targets.c — the ANE family table, every cap of the preflight, the placement
 * recorded in bundles, fp16 divergence flags on models/fp16_overflow, and the cost model's
 * orderings (faster family → lower estimate; natively streamed int8/int4 → lower estimate for a
 * weight-bound model). Graphs are built by hand with explicit shapes (no shape inference needed:
 * the checker and the cost model only read shapes and params). */
#include <stdlib.h>
#include <string.h>

#include "../../targets/targets_internal.h"
#include "check.h"

static int add_t(af_graph *g, const char *name, af_dtype dt, int rank, const int64_t *dims)
{
    return af_graph_add_tensor(g, name, dt, rank, dims);
}

static int add_const(af_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = add_t(g, name, AF_DTYPE_F32, rank, dims);
    int64_t n = af_tensor_numel(&g->tensors[t]);
    float *d = calloc((size_t)n, sizeof(float));
    for (int64_t i = 0; i < n; i++) d[i] = 0.01f * (float)(i % 13);
    af_tensor_set_data(&g->tensors[t], d);
    return t;
}

/* One node `name` of op reading `in` (n_in), writing a new f32 tensor of the given shape. */
static int add_n(af_graph *g, af_op op, const char *name, const int *in, int n_in, int rank,
                 const int64_t *dims, af_dtype out_dt)
{
    char oname[64];
    snprintf(oname, sizeof oname, "%s_out", name);
    int out = add_t(g, oname, out_dt, rank, dims);
    return af_graph_add_node(g, op, name, in, n_in, &out, 1);
}

/* Checks g on family fam; returns the number of violations with cap `cap` at node `node`. */
static int count_cap(const af_graph *g, const char *fam, const char *node, const char *cap, int *total)
{
    af_target_check_result r = {0};
    af_err err = {0};
    CHECK(af_target_check_graph(g, af_target_find(fam), &r, NULL, &err) == AF_OK, "%s", err.msg);
    int n = 0;
    for (int i = 0; i < r.n; i++) n += !strcmp(r.v[i].node, node) && !strcmp(r.v[i].cap, cap);
    if (total) *total = r.n;
    af_target_check_free(&r);
    return n;
}

static void test_table(void)
{
    static const char *const names[][2] = {{"h13", "m1"}, {"h14", "m2"}, {"h15", "m3"}, {"h16", "m4"}, {"h17s", "m5"}};
    CHECK(af_target_count() == 5, "%d families", af_target_count());
    for (int i = 0; i < 5; i++) {
        const af_target_family *f = af_target_find(names[i][0]);
        CHECK(f && f == af_target_find(names[i][1]), "%s / %s", names[i][0], names[i][1]);
        CHECK(f && f->peak_fp16_tops.source && f->dram_gbps.source && f->op_floor_us.source &&
                  f->max_dim.source && f->native_streams_source, "%s sources", names[i][0]);
        const af_figure *figs[] = {&f->peak_fp16_tops, &f->gemm_half, &f->vector_tops, &f->special_gops,
                                   &f->tap_gops, &f->dram_gbps, &f->weight_gbps, &f->op_floor_us, &f->act_bytes,
                                   &f->decompressed_bits, &f->max_dim, &f->max_rank, &f->pool_kernel_max,
                                   &f->pool_stride_max, &f->upsample_max, &f->dilation_max};
        for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++)
            CHECK(figs[k]->source && figs[k]->source[0] &&
                      figs[k]->assumed == !strncmp(figs[k]->source, "assumed:", 8),
                  "%s figure %zu: assumed %d, source '%s'", f->name, k, figs[k]->assumed, figs[k]->source);
        if (i > 0) /* later families are not slower */
            CHECK(f->peak_fp16_tops.value >= af_target_at(i - 1)->peak_fp16_tops.value &&
                      f->dram_gbps.value >= af_target_at(i - 1)->dram_gbps.value, "%s order", f->name);
    }
    /* unknown names: NULL, and a usage error naming every known family; no default */
    CHECK(af_target_find("h12") == NULL && af_target_find("") == NULL && af_target_find(NULL) == NULL, "unknown");
    CHECK(af_target_find("H13") == NULL, "names are case-sensitive");
    const af_target_family *f = (const af_target_family *)1;
    char msg[512];
    CHECK(af_target_lookup("m9", &f, msg, sizeof msg) == AF_ERR_USAGE && f == NULL, "lookup m9");
    CHECK(strstr(msg, "'m9'") && strstr(msg, "h13 (m1)") && strstr(msg, "h17s (m5)"), "%s", msg);
    /* native streams: h13 int4 only, h14+ int8 too */
    CHECK((af_target_find("h13")->native_streams >> AF_WENC_INT8 & 1u) == 0, "h13 int8");
    CHECK((af_target_find("h13")->native_streams >> AF_WENC_INT4 & 1u) == 1, "h13 int4");
    CHECK((af_target_find("h14")->native_streams >> AF_WENC_INT8 & 1u) == 1, "h14 int8");
    CHECK(af_wenc_from_name("int4") == AF_WENC_INT4 && af_wenc_from_name("int3") == -1, "wenc names");
    /* palettes other than plain int4: assumed streamed from h14 on, not on h13 (family.c) */
    CHECK((af_target_find("h13")->native_streams >> AF_WENC_PALETTE & 1u) == 0, "h13 palette");
    CHECK((af_target_find("h14")->native_streams >> AF_WENC_PALETTE & 1u) == 1, "h14 palette");
    CHECK(af_wenc_from_name("palette") == AF_WENC_PALETTE &&
              af_wenc_table[AF_WENC_PALETTE].bundle_encoding == AF_ENC_PALETTE, "palette wenc");
}

static void test_tensor_caps(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t big[2] = {1, 20000}, edge[2] = {1, 16384}, r6[6] = {1, 2, 2, 2, 2, 2}, r5[5] = {1, 2, 2, 2, 2};
    int a = add_t(&g, "a", AF_DTYPE_F32, 2, big), b = add_t(&g, "b", AF_DTYPE_F32, 2, edge);
    int c = add_t(&g, "c", AF_DTYPE_F32, 6, r6), d = add_t(&g, "d", AF_DTYPE_F32, 5, r5);
    int n1 = add_n(&g, AF_OP_UNARY, "relu_big", &a, 1, 2, big, AF_DTYPE_F32);
    add_n(&g, AF_OP_UNARY, "relu_edge", &b, 1, 2, edge, AF_DTYPE_F32);
    add_n(&g, AF_OP_UNARY, "relu_r6", &c, 1, 6, r6, AF_DTYPE_F32);
    add_n(&g, AF_OP_UNARY, "relu_r5", &d, 1, 5, r5, AF_DTYPE_F32);
    int n5 = add_n(&g, AF_OP_CAST, "to_int", &d, 1, 5, r5, AF_DTYPE_I32);
    for (int i = 0; i < g.n_nodes; i++) g.nodes[i].p.unary.fn = AF_UNARY_RELU;
    g.nodes[n5].p.cast.to = AF_DTYPE_I32;
    (void)n1;
    const char *fams[] = {"h13", "h17s"};
    for (int k = 0; k < 2; k++) {
        int total;
        CHECK(count_cap(&g, fams[k], "relu_big", "max_dim", &total) == 2, "max_dim 20000 on %s", fams[k]);
        CHECK(count_cap(&g, fams[k], "relu_edge", "max_dim", NULL) == 0, "16384 is allowed");
        CHECK(count_cap(&g, fams[k], "relu_r6", "max_rank", NULL) == 2, "rank 6 on %s", fams[k]);
        CHECK(count_cap(&g, fams[k], "relu_r5", "max_rank", NULL) == 0, "rank 5 is allowed");
        CHECK(count_cap(&g, fams[k], "to_int", "dtype", NULL) == 1, "i32 output on %s", fams[k]);
        /* input and output each count: relu_big 2, relu_r6 2, to_int 1 */
        CHECK(total == 5, "total %d", total);
    }
    /* the violation names the node, the op and the limit */
    af_target_check_result r = {0};
    af_err err = {0};
    uint8_t cpu[8] = {0};
    af_target_check_graph(&g, af_target_find("h14"), &r, cpu, &err);
    CHECK(r.n > 0 && !strcmp(r.v[0].node, "relu_big") && !strcmp(r.v[0].op, "relu") &&
              strstr(r.v[0].detail, "20000 > 16384"), "%s", r.n ? r.v[0].detail : "");
    CHECK(r.n_nodes == 5 && r.n_cpu_nodes == 3, "%d/%d", r.n_cpu_nodes, r.n_nodes);
    CHECK(cpu[0] == 1 && cpu[1] == 0 && cpu[2] == 1 && cpu[3] == 0 && cpu[4] == 1, "cpu mask");
    /* placement JSON round trip (what convert stores and inspect reads) */
    char *pj = af_target_placement_json(&g, cpu);
    char meta[4096];
    snprintf(meta, sizeof meta, "{\"target\":\"h14\",\"placement\":%s}", pj ? pj : "");
    int n_ane, n_cpu;
    CHECK(af_target_placement_scan(meta, strlen(meta), &n_ane, &n_cpu, NULL, NULL) == 1 &&
              n_ane == 2 && n_cpu == 3, "scan %d/%d: %s", n_ane, n_cpu, meta);
    CHECK(af_target_placement_scan("{}", 2, &n_ane, &n_cpu, NULL, NULL) == 0, "no placement");
    free(pj);
    af_target_check_free(&r);
    af_graph_free(&g);
}

static void test_param_caps(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t x4[4] = {1, 4, 32, 32}, w[4] = {4, 4, 3, 3}, o4[4] = {1, 4, 30, 30}, up2[4] = {1, 4, 64, 64},
            up4[4] = {1, 4, 128, 128};
    int x = add_t(&g, "x", AF_DTYPE_F32, 4, x4), wt = add_const(&g, "w", 4, w);
    int cin[2] = {x, wt};
    int pk15 = add_n(&g, AF_OP_POOL, "pool_k15", &x, 1, 4, o4, AF_DTYPE_F32);
    int pk13 = add_n(&g, AF_OP_POOL, "pool_k13", &x, 1, 4, o4, AF_DTYPE_F32);
    int ps3 = add_n(&g, AF_OP_POOL, "pool_s3", &x, 1, 4, o4, AF_DTYPE_F32);
    int cd2 = add_n(&g, AF_OP_CONV, "conv_d2", cin, 2, 4, o4, AF_DTYPE_F32);
    int cd1 = add_n(&g, AF_OP_CONV, "conv_d1", cin, 2, 4, o4, AF_DTYPE_F32);
    int r2 = add_n(&g, AF_OP_RESIZE, "up2", &x, 1, 4, up2, AF_DTYPE_F32);
    int r4 = add_n(&g, AF_OP_RESIZE, "up4", &x, 1, 4, up4, AF_DTYPE_F32);
    int si = add_n(&g, AF_OP_UNARY, "sine", &x, 1, 4, x4, AF_DTYPE_F32);
    int64_t idx_d[1] = {2};
    int idx = add_t(&g, "idx", AF_DTYPE_I64, 1, idx_d);
    int64_t *iv = calloc(2, sizeof *iv);
    af_tensor_set_data(&g.tensors[idx], iv);
    int gin[2] = {x, idx};
    int ga = add_n(&g, AF_OP_GATHER, "gather", gin, 2, 4, x4, AF_DTYPE_F32);
    const int pools[3][2] = {{15, 1}, {13, 1}, {3, 3}};
    int pool_nodes[3] = {pk15, pk13, ps3};
    for (int k = 0; k < 3; k++) {
        af_pool_params *p = &g.nodes[pool_nodes[k]].p.pool;
        p->nsp = 2;
        for (int s = 0; s < 2; s++) p->kernel[s] = pools[k][0], p->stride[s] = pools[k][1], p->dilation[s] = 1;
    }
    for (int k = 0; k < 2; k++) {
        af_conv_params *p = &g.nodes[k ? cd1 : cd2].p.conv;
        p->nsp = 2;
        p->group = 1;
        for (int s = 0; s < 2; s++) p->kernel[s] = 3, p->stride[s] = 1, p->dilation[s] = k ? 1 : 2;
    }
    for (int d = 0; d < 4; d++) {
        g.nodes[r2].p.resize.scale[d] = d < 2 ? 1.0f : 2.0f;
        g.nodes[r4].p.resize.scale[d] = d < 2 ? 1.0f : 4.0f;
    }
    g.nodes[si].p.unary.fn = AF_UNARY_SIN;
    g.nodes[ga].p.axis.axis = 1;
    CHECK(count_cap(&g, "h14", "pool_k15", "pool_kernel", NULL) == 1, "pool kernel 15");
    CHECK(count_cap(&g, "h14", "pool_k13", "pool_kernel", NULL) == 0, "pool kernel 13 ok");
    CHECK(count_cap(&g, "h14", "pool_s3", "pool_stride", NULL) == 1, "pool stride 3");
    CHECK(count_cap(&g, "h14", "pool_k13", "pool_stride", NULL) == 0, "pool stride 1 ok");
    CHECK(count_cap(&g, "h16", "conv_d2", "dilation", NULL) == 1, "dilated conv");
    CHECK(count_cap(&g, "h16", "conv_d1", "dilation", NULL) == 0, "undilated conv ok");
    CHECK(count_cap(&g, "h15", "up4", "upsample", NULL) == 1, "4x upsample");
    CHECK(count_cap(&g, "h15", "up2", "upsample", NULL) == 0, "2x upsample ok");
    CHECK(count_cap(&g, "h13", "sine", "missing_op", NULL) == 1, "sin below h13's floor");
    CHECK(count_cap(&g, "h14", "sine", "missing_op", NULL) == 0, "sin on h14");
    CHECK(count_cap(&g, "h13", "gather", "never_ane", NULL) == 1 &&
              count_cap(&g, "h17s", "gather", "never_ane", NULL) == 1, "gather never on the ANE");
    af_graph_free(&g);
}

/* fp16 flags on the committed model built to overflow (see models/make_fp16_overflow.py). */
static int has_flag(const af_fp16_report *r, const char *node, af_fp16_kind k)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->flags[i].node, node) && r->flags[i].kind == k) return 1;
    return 0;
}

static void test_fp16(void)
{
    const char *model = "../models/fp16_overflow/model.onnx";
    const char *calibs[2] = {"../models/fp16_overflow/inputs", NULL};
    for (int c = 0; c < 2; c++) {
        af_fp16_report r;
        char msg[512] = "";
        af_status st = af_fp16_predict_file(model, NULL, 0, calibs[c], &r, msg, sizeof msg);
        CHECK(st == AF_OK, "%s", msg);
        CHECK(has_flag(&r, "big_matmul", AF_FP16_OVERFLOW), "overflow flagged (calib %d)", c);
        CHECK(has_flag(&r, "tiny_scale", AF_FP16_PRECISION), "precision flagged");
        CHECK(has_flag(&r, "cancel_sub", AF_FP16_CANCELLATION), "cancellation flagged");
        CHECK(r.n == 3, "exactly 3 flags, got %d", r.n); /* nothing on square, shift_up, wave, ok_relu */
        for (int i = 0; i < r.n; i++)
            if (r.flags[i].kind == AF_FP16_OVERFLOW)
                CHECK(r.flags[i].max > 65504 || r.flags[i].min < -65504, "range %g..%g", r.flags[i].min, r.flags[i].max);
        af_fp16_report_free(&r);
    }
    af_fp16_report r;
    char msg[512] = "";
    CHECK(af_fp16_predict_file(model, NULL, 0, "../models/small_cnn/inputs", &r, msg, sizeof msg) != AF_OK &&
              strstr(msg, "input"), "wrong calibration shape refused: %s", msg);
    /* the same model through the preflight: only the Sin, only on h13 */
    af_target_check_result cr;
    CHECK(af_target_check_file(model, NULL, 0, af_target_find("m1"), &cr, msg, sizeof msg) == AF_OK, "%s", msg);
    CHECK(cr.n == 1 && !strcmp(cr.v[0].node, "wave") && !strcmp(cr.v[0].cap, "missing_op"), "h13: %d", cr.n);
    af_target_check_free(&cr);
    CHECK(af_target_check_file(model, NULL, 0, af_target_find("m2"), &cr, msg, sizeof msg) == AF_OK && cr.n == 0,
          "h14: %d", cr.n);
    af_target_check_free(&cr);
}

/* conv (1,16,56,56) 3x3 -> 64 channels then a (1,4096) @ (4096,4096) Gemm, weights fp16. */
static void build_cost_graph(af_graph *g, int with_conv)
{
    af_graph_init(g);
    int64_t x4[4] = {1, 16, 56, 56}, w4[4] = {64, 16, 3, 3}, o4[4] = {1, 64, 56, 56};
    int64_t a2[2] = {1, 4096}, b2[2] = {4096, 4096};
    if (with_conv) {
        int x = add_t(g, "x", AF_DTYPE_F32, 4, x4), w = add_const(g, "w", 4, w4);
        int in[2] = {x, w};
        int n = add_n(g, AF_OP_CONV, "conv", in, 2, 4, o4, AF_DTYPE_F32);
        af_conv_params *p = &g->nodes[n].p.conv;
        p->nsp = 2, p->group = 1, p->kernel[0] = p->kernel[1] = 3;
    }
    int a = add_t(g, "a", AF_DTYPE_F32, 2, a2), b = add_const(g, "fc_w", 2, b2);
    int in[2] = {a, b};
    add_n(g, AF_OP_GEMM, "fc", in, 2, 2, a2, AF_DTYPE_F32);
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].data) g->tensors[i].encoding = AF_ENC_FP16;
}

static double estimate(const af_graph *g, const char *fam, int assume, af_cost_report *keep)
{
    af_cost_report r;
    af_err err = {0};
    CHECK(af_cost_graph(g, af_target_find(fam), assume, &r, &err) == AF_OK, "%s", err.msg);
    double t = r.time_us;
    if (keep) *keep = r;
    else af_cost_report_free(&r);
    return t;
}

static void test_cost(void)
{
    af_graph g;
    build_cost_graph(&g, 1);
    af_cost_report r;
    estimate(&g, "h14", -1, &r);
    CHECK(r.n == 2, "%d ops", r.n);
    /* conv: 64*56*56 outputs x 16*3*3 MACs; gemm: 4096*4096 */
    CHECK(r.ops[0].macs == 64.0 * 56 * 56 * 16 * 9, "conv MACs %g", r.ops[0].macs);
    CHECK(r.ops[1].macs == 4096.0 * 4096, "gemm MACs %g", r.ops[1].macs);
    CHECK(r.ops[1].weight_bytes == 4096.0 * 4096 * 2, "fp16 weight bytes %g", r.ops[1].weight_bytes);
    CHECK(r.ops[1].memory_bound, "a batch-1 gemm is memory bound");
    af_cost_report_free(&r);
    /* same model: estimates fall as families get faster */
    static const char *const fams[] = {"h13", "h14", "h15", "h16", "h17s"};
    double prev = 1e30;
    for (int i = 0; i < 5; i++) {
        double t = estimate(&g, fams[i], -1, NULL);
        CHECK(t <= prev, "%s %g after %g", fams[i], t, prev);
        prev = t;
    }
    CHECK(estimate(&g, "h17s", -1, NULL) < 0.7 * estimate(&g, "h13", -1, NULL), "h17s well below h13");
    af_graph_free(&g);
    /* weight-bound model: int8/int4 lower the estimate where streamed natively */
    build_cost_graph(&g, 0);
    double h14_16 = estimate(&g, "h14", -1, NULL), h14_8 = estimate(&g, "h14", AF_WENC_INT8, NULL),
           h14_4 = estimate(&g, "h14", AF_WENC_INT4, NULL);
    CHECK(h14_8 < 0.6 * h14_16 && h14_4 < 0.6 * h14_8, "h14: fp16 %g int8 %g int4 %g", h14_16, h14_8, h14_4);
    double h13_16 = estimate(&g, "h13", -1, NULL), h13_8 = estimate(&g, "h13", AF_WENC_INT8, NULL),
           h13_4 = estimate(&g, "h13", AF_WENC_INT4, NULL);
    CHECK(h13_8 == h13_16, "h13 does not stream int8: %g vs %g", h13_8, h13_16);
    CHECK(h13_4 < 0.6 * h13_16, "h13 streams int4: %g vs %g", h13_4, h13_16);
    af_graph_free(&g);
}

int main(void)
{
    test_table();
    test_tensor_caps();
    test_param_caps();
    test_fp16();
    test_cost();
    return check_report("targets");
}
