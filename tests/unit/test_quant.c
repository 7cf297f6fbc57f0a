/* tests/unit/test_quant.c — quantized-graph ops: QuantizeLinear's rounding (half to
 * even) and saturation, the blocked (opset 21) form at kernel and shape level, the integer
 * conv/matmul accumulation and requantization, and the ONNX-form int8 weight blob (the model's
 * own codes, scales and zero points, decoded bit-exactly as (float)(q - zp) * scale).
 * Expected values are worked out by hand from the ONNX operator spec; comparisons are exact
 * (every value here is representable, and the spec fixes the rounding). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/enc_qdq.h"
#include "../../graph/shape.h"
#include "../../runtime/kernels/kernels.h"
#include "../../runtime/wdecode.h"
#include "check.h"

static af_tview tv(af_dtype dt, int rank, const int64_t *dims, const void *data)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    v.dtype = dt;
    v.rank = rank;
    for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
    v.data = (void *)data;
    return v;
}

static af_status run(af_op op, const af_params *p, const af_tview *in, int n_in, af_tview *out,
                     int n_out)
{
    af_err err = {0};
    size_t sb = af_kernel_scratch_bytes(op, p, in, n_in, out, n_out);
    void *scratch = sb ? aligned_alloc(64, (sb + 63) & ~(size_t)63) : NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = sb, .n_threads = 1};
    af_status st = af_kernel_run(op, p, in, n_in, out, n_out, &ctx, &err);
    if (st) fprintf(stderr, "  %s\n", err.msg);
    free(scratch);
    return st;
}

/* Round half to even and saturation, uint8 with a zero point and int8 without. */
static void test_quantize_rounding(void)
{
    const float x[8] = {0.5f, 1.5f, 2.5f, -2.5f, 3.49f, 1000.f, -1000.f, 0.0f};
    const float s[1] = {1.0f};
    const uint8_t zu[1] = {10};
    int64_t d[1] = {8}, one[1] = {1};
    uint8_t yu[8] = {0};
    int8_t yi[8] = {0};
    af_params p = {0};
    af_tview in[3] = {tv(AF_DTYPE_F32, 1, d, x), tv(AF_DTYPE_F32, 0, one, s),
                      tv(AF_DTYPE_U8, 0, one, zu)};
    af_tview out = tv(AF_DTYPE_U8, 1, d, yu);
    CHECK(run(AF_OP_QUANTIZE, &p, in, 3, &out, 1) == AF_OK, "quantize u8");
    /* rint(x) + 10: 0.5→0, 1.5→2, 2.5→2, -2.5→-2, 3.49→3; ±1000 saturate to 255 / 0 */
    const uint8_t want_u[8] = {10, 12, 12, 8, 13, 255, 0, 10};
    CHECK(!memcmp(yu, want_u, 8), "u8 %u %u %u %u %u %u %u %u", yu[0], yu[1], yu[2], yu[3],
          yu[4], yu[5], yu[6], yu[7]);
    p.quant.to = AF_DTYPE_I8;
    out = tv(AF_DTYPE_I8, 1, d, yi);
    CHECK(run(AF_OP_QUANTIZE, &p, in, 2, &out, 1) == AF_OK, "quantize i8");
    const int8_t want_i[8] = {0, 2, 2, -2, 3, 127, -128, 0};
    CHECK(!memcmp(yi, want_i, 8), "i8 %d %d %d %d %d %d", yi[0], yi[1], yi[2], yi[3], yi[5],
          yi[6]);
}

/* Blocked (opset 21): x (2, 4), axis 1, block 2 → scale (2, 2); each block its own scale and
 * zero point. DequantizeLinear then QuantizeLinear gives the codes back. */
static void test_blocked_kernels(void)
{
    const int8_t q[8] = {1, 2, 3, 4, -1, -2, -3, -4};
    const float s[4] = {0.5f, 2.0f, 1.0f, 0.25f};
    const int8_t z[4] = {0, 1, -1, 2};
    int64_t dx[2] = {2, 4}, ds[2] = {2, 2};
    float y[8] = {0};
    int8_t back[8] = {0};
    af_params p = {0};
    p.quant.axis = 1;
    p.quant.block_size = 2;
    af_tview in[3] = {tv(AF_DTYPE_I8, 2, dx, q), tv(AF_DTYPE_F32, 2, ds, s),
                      tv(AF_DTYPE_I8, 2, ds, z)};
    af_tview out = tv(AF_DTYPE_F32, 2, dx, y);
    CHECK(run(AF_OP_DEQUANTIZE, &p, in, 3, &out, 1) == AF_OK, "blocked dequantize");
    /* row 0: (1,2)·0.5, (3-1,4-1)·2; row 1: (-1+1,-2+1)·1, (-3-2,-4-2)·0.25 */
    const float want[8] = {0.5f, 1.0f, 4.0f, 6.0f, 0.0f, -1.0f, -1.25f, -1.5f};
    CHECK(!memcmp(y, want, sizeof y), "blocked y %g %g %g %g %g %g %g %g", y[0], y[1], y[2],
          y[3], y[4], y[5], y[6], y[7]);
    af_tview qin[3] = {tv(AF_DTYPE_F32, 2, dx, y), in[1], in[2]};
    af_tview qout = tv(AF_DTYPE_I8, 2, dx, back);
    CHECK(run(AF_OP_QUANTIZE, &p, qin, 3, &qout, 1) == AF_OK, "blocked quantize");
    CHECK(!memcmp(back, q, 8), "blocked round trip");
    int64_t bad[2] = {2, 3}; /* ceil(4/2) = 2 blocks per row, not 3 */
    in[1].dims[1] = bad[1];
    af_err err = {0};
    CHECK(af_kernel_check(AF_OP_DEQUANTIZE, &p, in, 2, &out, 1, &err) == AF_ERR_SHAPE,
          "a blocked scale of the wrong shape is refused");
}

/* ConvInteger 1x1x3x3 input, 2x2 kernel, per-channel w zero point; QLinearConv requantizes
 * with scale (xs*ws)/ys, round half to even. */
static void test_conv_integer(void)
{
    const uint8_t x[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10};
    const int8_t w[4] = {1, 1, 1, 1};
    const uint8_t xz[1] = {1};
    int64_t dx[4] = {1, 1, 3, 3}, dw[4] = {1, 1, 2, 2}, dy[4] = {1, 1, 2, 2}, one[1] = {1};
    int32_t y[4] = {0};
    af_params p = {0};
    p.conv.nsp = 2;
    p.conv.group = 1;
    for (int i = 0; i < 3; i++) p.conv.stride[i] = p.conv.dilation[i] = 1;
    af_tview in[9] = {tv(AF_DTYPE_U8, 4, dx, x), tv(AF_DTYPE_I8, 4, dw, w),
                      tv(AF_DTYPE_U8, 0, one, xz)};
    af_tview out = tv(AF_DTYPE_I32, 4, dy, y);
    CHECK(run(AF_OP_CONV_INTEGER, &p, in, 3, &out, 1) == AF_OK, "conv_integer");
    /* windows of x-1: {1,2,4,5}=12, {2,3,5,6}=16, {4,5,7,8}=24, {5,6,8,9}=28 */
    CHECK(y[0] == 12 && y[1] == 16 && y[2] == 24 && y[3] == 28, "y %d %d %d %d", y[0], y[1],
          y[2], y[3]);
    /* QLinearConv: xs 0.5, ws 0.25, ys 1 → scale 0.125: 12→1.5→2, 16→2, 24→3, 28→3.5→4 */
    const float xs[1] = {0.5f}, ws[1] = {0.25f}, ys[1] = {1.0f};
    const int8_t wz[1] = {0};
    const uint8_t yz[1] = {0};
    uint8_t yq[4] = {0};
    af_tview qin[8] = {in[0], tv(AF_DTYPE_F32, 0, one, xs), in[2], in[1],
                       tv(AF_DTYPE_F32, 0, one, ws), tv(AF_DTYPE_I8, 0, one, wz),
                       tv(AF_DTYPE_F32, 0, one, ys), tv(AF_DTYPE_U8, 0, one, yz)};
    af_tview qout = tv(AF_DTYPE_U8, 4, dy, yq);
    CHECK(run(AF_OP_QLINEAR_CONV, &p, qin, 8, &qout, 1) == AF_OK, "qlinear_conv");
    CHECK(yq[0] == 2 && yq[1] == 2 && yq[2] == 3 && yq[3] == 4, "yq %u %u %u %u", yq[0], yq[1],
          yq[2], yq[3]);
}

/* The tiled im2col path against a direct loop written from the spec: 2 groups, stride 2,
 * dilation 2, asymmetric pads, int8 x with a zero point, uint8 w with per-channel zero points;
 * 1-D (nsp 1) and 2-D. */
static void test_conv_integer_geometry(void)
{
    enum { N = 2, C = 4, M = 6, G = 2, H = 9, W = 7, KH = 3, KW = 2 };
    static int8_t x[N * C * H * W];
    static uint8_t w[M * (C / G) * KH * KW];
    const int8_t xz[1] = {-3};
    const uint8_t wz[M] = {0, 7, 128, 255, 1, 100};
    for (int i = 0; i < N * C * H * W; i++) x[i] = (int8_t)((i * 37) % 256 - 128);
    for (int i = 0; i < M * (C / G) * KH * KW; i++) w[i] = (uint8_t)((i * 91 + 5) % 256);
    for (int nsp = 1; nsp <= 2; nsp++) {
        int64_t h = nsp == 2 ? H : 1, kh = nsp == 2 ? KH : 1;
        int sh = 2, sw = 1, dh = 2, dw = 2, pt = 1, pl = 2, pbot = 0, pr = 1;
        if (nsp == 1) sh = 1, dh = 1, pt = pbot = 0;
        int64_t oh = (h + pt + pbot - (dh * (kh - 1) + 1)) / sh + 1;
        int64_t ow = (W + pl + pr - (dw * (KW - 1) + 1)) / sw + 1;
        int64_t dx[4] = {N, C, h, W}, dwt[4] = {M, C / G, kh, KW}, dy[4] = {N, M, oh, ow};
        af_params p = {0};
        p.conv.nsp = nsp;
        p.conv.group = G;
        for (int i = 0; i < 3; i++) p.conv.stride[i] = p.conv.dilation[i] = 1;
        int j = nsp == 2 ? 1 : 0;
        p.conv.stride[j] = sw, p.conv.dilation[j] = dw, p.conv.pad_begin[j] = pl,
        p.conv.pad_end[j] = pr;
        if (nsp == 2)
            p.conv.stride[0] = sh, p.conv.dilation[0] = dh, p.conv.pad_begin[0] = pt,
            p.conv.pad_end[0] = pbot;
        int64_t r = nsp + 2, one[1] = {1}, mz[1] = {M};
        int64_t dxr[4], dwr[4], dyr[4];
        for (int i = 0, k = 0; i < 4; i++) {
            if (nsp == 1 && i == 2) continue;
            dxr[k] = dx[i], dwr[k] = dwt[i], dyr[k] = dy[i], k++;
        }
        int32_t *y = calloc((size_t)(N * M * oh * ow), sizeof *y);
        af_tview in[4] = {tv(AF_DTYPE_I8, (int)r, dxr, x), tv(AF_DTYPE_U8, (int)r, dwr, w),
                          tv(AF_DTYPE_I8, 0, one, xz), tv(AF_DTYPE_U8, 1, mz, wz)};
        af_tview out = tv(AF_DTYPE_I32, (int)r, dyr, y);
        CHECK(run(AF_OP_CONV_INTEGER, &p, in, 4, &out, 1) == AF_OK, "grouped conv nsp %d", nsp);
        int bad = 0;
        for (int n = 0; n < N; n++)
            for (int m = 0; m < M; m++)
                for (int64_t a = 0; a < oh; a++)
                    for (int64_t b = 0; b < ow; b++) {
                        int64_t acc = 0, g = m / (M / G);
                        for (int c = 0; c < C / G; c++)
                            for (int64_t u = 0; u < kh; u++)
                                for (int v = 0; v < KW; v++) {
                                    int64_t ih = a * sh - pt + u * dh, iw = b * sw - pl + v * dw;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= W) continue;
                                    int xv = x[((n * C + g * (C / G) + c) * h + ih) * W + iw];
                                    int wv = w[((m * (C / G) + c) * kh + u) * KW + v];
                                    acc += (int64_t)(xv - xz[0]) * (wv - wz[m]);
                                }
                        bad += y[((n * M + m) * oh + a) * ow + b] != (int32_t)acc;
                    }
        CHECK(bad == 0, "nsp %d: %d outputs differ from the direct loop", nsp, bad);
        free(y);
    }
}

/* MatMulInteger with a per-column b zero point: A (1,2) u8, B (2,2) i8. */
static void test_matmul_integer(void)
{
    const uint8_t a[2] = {3, 5};
    const int8_t b[4] = {1, -1, 2, 4};
    const uint8_t az[1] = {1};
    const int8_t bz[2] = {0, 1};
    int64_t da[2] = {1, 2}, db[2] = {2, 2}, one[1] = {1}, two[1] = {2};
    int32_t y[2] = {0};
    af_params p = {0};
    af_tview in[4] = {tv(AF_DTYPE_U8, 2, da, a), tv(AF_DTYPE_I8, 2, db, b),
                      tv(AF_DTYPE_U8, 0, one, az), tv(AF_DTYPE_I8, 1, two, bz)};
    af_tview out = tv(AF_DTYPE_I32, 2, da, y);
    CHECK(run(AF_OP_MATMUL_INTEGER, &p, in, 4, &out, 1) == AF_OK, "matmul_integer");
    /* (2,4) · [[1,-2],[2,3]] = (2+8, -4+12) */
    CHECK(y[0] == 10 && y[1] == 8, "y %d %d", y[0], y[1]);
}

/* The ONNX-form int8 blob: uint8 codes, per-axis (axis 1) scales and zero points; decodes to
 * exactly (float)(q - z) * s; a wrong flag combination is refused. */
static void test_qdq_blob(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t dq[2] = {2, 3}, ds[1] = {3};
    int tq = af_graph_add_tensor(&g, "q", AF_DTYPE_U8, 2, dq);
    int ts = af_graph_add_tensor(&g, "s", AF_DTYPE_F32, 1, ds);
    int tz = af_graph_add_tensor(&g, "z", AF_DTYPE_U8, 1, ds);
    uint8_t *q = malloc(6), *z = malloc(3);
    float *s = malloc(12);
    const uint8_t qv[6] = {0, 128, 255, 7, 9, 200};
    const float sv[3] = {0.1f, 0.007f, 3.0f};
    memcpy(q, qv, 6), memcpy(s, sv, 12);
    z[0] = 0, z[1] = 128, z[2] = 255;
    af_tensor_set_data(&g.tensors[tq], q);
    af_tensor_set_data(&g.tensors[ts], s);
    af_tensor_set_data(&g.tensors[tz], z);
    af_cblob b;
    af_err err = {0};
    CHECK(af_enc_qdq(&g.tensors[tq], &g.tensors[ts], &g.tensors[tz], -1, 0, &b, &err) == AF_OK &&
              b.data, "encode");
    float out[6] = {0};
    CHECK(b.data && af_wdecode(AFB_ENC_INT8, b.data, b.bytes, 2, dq, out, "w", &err) == AF_OK,
          "decode: %s", err.msg);
    for (int e = 0; e < 6; e++) {
        float want = (float)((int)qv[e] - (int)z[e % 3]) * sv[e % 3];
        CHECK(memcmp(&out[e], &want, 4) == 0, "element %d: %g != %g", e, out[e], want);
    }
    if (b.data) {
        b.data[2] |= AF_WBLOB_BLOCKED; /* BLOCKED with PER_CHANNEL: not a valid combination */
        CHECK(af_wdecode(AFB_ENC_INT8, b.data, b.bytes, 2, dq, out, "w", &err) == AF_ERR_FORMAT,
              "bad flags refused");
    }
    af_cblob_drop(&b);
    int64_t ds2[1] = {2}; /* a scale per element of axis 0 given for axis 1: nothing kept */
    g.tensors[ts].dims[0] = 2;
    (void)ds2;
    CHECK(af_enc_qdq(&g.tensors[tq], &g.tensors[ts], NULL, 1, 0, &b, &err) == AF_OK && !b.data,
          "mismatched scale gives no blob");
    af_graph_free(&g);
}

/* The blocked ONNX form (opset 21): q (4, 6) int8, axis 1, blocks of 4 → scale (4, 2) (the last
 * block of each row is partial); and per-tensor without a zero point. */
static void test_qdq_blob_blocked(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t dq[2] = {4, 6}, ds[2] = {4, 2}, one[1] = {1};
    int tq = af_graph_add_tensor(&g, "q", AF_DTYPE_I8, 2, dq);
    int ts = af_graph_add_tensor(&g, "s", AF_DTYPE_F32, 2, ds);
    int tz = af_graph_add_tensor(&g, "z", AF_DTYPE_I8, 2, ds);
    int t1 = af_graph_add_tensor(&g, "s1", AF_DTYPE_F32, 0, one);
    int8_t *q = malloc(24), *z = malloc(8);
    float *s = malloc(8 * sizeof *s), *s1 = malloc(sizeof *s1);
    for (int e = 0; e < 24; e++) q[e] = (int8_t)(e * 11 - 128);
    for (int k = 0; k < 8; k++) s[k] = 0.01f * (float)(k + 1), z[k] = (int8_t)(k - 4);
    *s1 = 0.3f;
    af_tensor_set_data(&g.tensors[tq], q);
    af_tensor_set_data(&g.tensors[ts], s);
    af_tensor_set_data(&g.tensors[tz], z);
    af_tensor_set_data(&g.tensors[t1], s1);
    af_cblob b;
    af_err err = {0};
    float out[24] = {0};
    CHECK(af_enc_qdq(&g.tensors[tq], &g.tensors[ts], &g.tensors[tz], 1, 4, &b, &err) == AF_OK &&
              b.data, "encode blocked");
    CHECK(b.data && af_wdecode(AFB_ENC_INT8, b.data, b.bytes, 2, dq, out, "w", &err) == AF_OK,
          "decode blocked: %s", err.msg);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++) {
            int k = r * 2 + c / 4, e = r * 6 + c;
            float want = (float)(q[e] - z[k]) * s[k];
            CHECK(memcmp(&out[e], &want, 4) == 0, "blocked (%d,%d): %g != %g", r, c, out[e], want);
        }
    af_cblob_drop(&b);
    CHECK(af_enc_qdq(&g.tensors[tq], &g.tensors[t1], NULL, 0, 0, &b, &err) == AF_OK && b.data,
          "encode per-tensor");
    CHECK(b.data && af_wdecode(AFB_ENC_INT8, b.data, b.bytes, 2, dq, out, "w", &err) == AF_OK,
          "decode per-tensor");
    float w7 = (float)q[7] * 0.3f;
    CHECK(memcmp(&out[7], &w7, 4) == 0, "per-tensor %g != %g", out[7], w7);
    af_cblob_drop(&b);
    af_graph_free(&g);
}

/* Shape inference: blocked scale shapes, and a zero scale refused naming the node. */
static void test_shapes(void)
{
    af_graph g;
    af_graph_init(&g);
    int64_t dx[2] = {4, 6}, ds[2] = {4, 2};
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F32, 2, dx);
    af_graph_add_input(&g, x);
    int s = af_graph_add_tensor(&g, "s", AF_DTYPE_F32, 2, ds);
    float *sv = malloc(8 * sizeof *sv);
    for (int i = 0; i < 8; i++) sv[i] = 1.0f;
    af_tensor_set_data(&g.tensors[s], sv);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_F32, -1, NULL);
    int in[2] = {x, s};
    int n = af_graph_add_node(&g, AF_OP_QUANTIZE, "q0", in, 2, &y, 1);
    g.nodes[n].p.quant.axis = -1;
    g.nodes[n].p.quant.block_size = 3; /* ceil(6/3) = 2 */
    g.nodes[n].p.quant.to = AF_DTYPE_I8;
    af_err err = {0};
    CHECK(af_shape_infer_node(&g, n, &err) == AF_OK, "blocked shape: %s", err.msg);
    CHECK(g.tensors[y].dtype == AF_DTYPE_I8 && g.tensors[y].dims[1] == 6 &&
              g.nodes[n].p.quant.axis == 1, "blocked output");
    g.nodes[n].p.quant.block_size = 2; /* would need 3 blocks */
    memset(&err, 0, sizeof err);
    CHECK(af_shape_infer_node(&g, n, &err) == AF_ERR_SHAPE && strstr(err.msg, "q0"),
          "wrong blocked scale: %s", err.msg);
    g.nodes[n].p.quant.block_size = 3;
    sv[5] = 0.0f;
    memset(&err, 0, sizeof err);
    CHECK(af_shape_infer_node(&g, n, &err) == AF_ERR_FORMAT && strstr(err.msg, "q0") &&
              strstr(err.msg, "index 5"), "zero scale: %s", err.msg);
    af_graph_free(&g);
}

int main(void)
{
    test_quantize_rounding();
    test_blocked_kernels();
    test_conv_integer();
    test_conv_integer_geometry();
    test_matmul_integer();
    test_qdq_blob();
    test_qdq_blob_blocked();
    test_shapes();
    return check_report("test_quant");
}
