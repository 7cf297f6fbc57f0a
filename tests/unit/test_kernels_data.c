/* tests/unit/test_kernels_data.c — elementwise, movement, softmax, reduce, resize and cast
 * kernels against hand-computed values or naive loops written here.
 * Exact comparisons are used where the kernel does the same single float operation as the
 * reference (copies, one add, one compare); tolerances are stated where math functions or
 * sums are involved. */
#include "test_kernels_util.h"

static af_params P(void)
{
    af_params p;
    memset(&p, 0, sizeof p);
    return p;
}

/* ---- unary ----------------------------------------------------------------------------------- */

static float unary1(int fn, float alpha, float beta, float x)
{
    af_params p = P();
    p.unary = (af_unary_params){fn, alpha, beta};
    float y = NAN;
    af_tview in = TV(AF_DTYPE_F32, &x, 1), out = TV(AF_DTYPE_F32, &y, 1);
    if (run_node(AF_OP_UNARY, &p, &in, 1, &out, 1) != AF_OK) return NAN;
    return y;
}

static void test_unary(void)
{
    /* libm-based functions: 1e-6 relative covers float rounding of one libm call */
    struct { int fn; float a, b, x, want; } t[] = {
        {AF_UNARY_RELU, 0, 0, -2, 0}, {AF_UNARY_LEAKY_RELU, 0.1f, 0, -2, -0.2f},
        {AF_UNARY_CLIP, -1, 1, 3, 1}, {AF_UNARY_CLIP, -1, 1, -3, -1},
        {AF_UNARY_SIGMOID, 0, 0, 0, 0.5f}, {AF_UNARY_SIGMOID, 0, 0, -100, 0},
        {AF_UNARY_HARD_SIGMOID, 0.2f, 0.5f, 1, 0.7f}, {AF_UNARY_HARD_SWISH, 0, 0, 1, 1 * (1 / 6.0f + 0.5f)},
        {AF_UNARY_TANH, 0, 0, 0.5f, 0.46211716f}, {AF_UNARY_SQRT, 0, 0, 2, 1.41421356f},
        {AF_UNARY_EXP, 0, 0, 1, 2.7182818f}, {AF_UNARY_LOG, 0, 0, 2.7182818f, 1},
        {AF_UNARY_ABS, 0, 0, -3, 3}, {AF_UNARY_NEG, 0, 0, 3, -3}, {AF_UNARY_ERF, 0, 0, 1, 0.84270079f},
        {AF_UNARY_RECIPROCAL, 0, 0, 4, 0.25f}, {AF_UNARY_FLOOR, 0, 0, -1.5f, -2},
        {AF_UNARY_CEIL, 0, 0, -1.5f, -1}, {AF_UNARY_ELU, 1, 0, -1, -0.63212056f},
        {AF_UNARY_SELU, 1.6732632f, 1.0507010f, -1, -1.1113307f}, {AF_UNARY_CELU, 2, 0, -1, -0.78693868f},
        {AF_UNARY_SOFTPLUS, 0, 0, 0, 0.69314718f}, {AF_UNARY_SOFTPLUS, 0, 0, 100, 100},
        {AF_UNARY_SOFTSIGN, 0, 0, 3, 0.75f}, {AF_UNARY_SIN, 0, 0, 1, 0.84147098f},
        {AF_UNARY_COS, 0, 0, 1, 0.54030231f}, {AF_UNARY_SIGN, 0, 0, -5, -1},
        {AF_UNARY_ROUND, 0, 0, 2.5f, 2}, {AF_UNARY_ROUND, 0, 0, 3.5f, 4}, {AF_UNARY_ROUND, 0, 0, -0.5f, 0},
        {AF_UNARY_GELU, 0, 0, 1, 0.84134475f}, {AF_UNARY_GELU, 1, 0, 1, 0.84119199f},
        {AF_UNARY_SILU, 0, 0, 1, 0.73105858f}, {AF_UNARY_IDENTITY, 0, 0, 7, 7},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        float y = unary1(t[i].fn, t[i].a, t[i].b, t[i].x);
        CHECK(fabsf(y - t[i].want) <= 1e-6f * (1 + fabsf(t[i].want)), "%s(%g) = %.8g, want %.8g",
              af_unary_names[t[i].fn], t[i].x, y, t[i].want);
    }
    /* NOT on bool, NEG/ABS on i64 */
    af_params p = P();
    uint8_t b[3] = {0, 1, 1}, nb[3];
    p.unary.fn = AF_UNARY_NOT;
    af_tview in = TV(AF_DTYPE_BOOL, b, 3), out = TV(AF_DTYPE_BOOL, nb, 3);
    CHECK(run_node(AF_OP_UNARY, &p, &in, 1, &out, 1) == AF_OK && nb[0] == 1 && nb[1] == 0, "not");
    int64_t iv[2] = {-5, 7}, ov[2];
    p.unary.fn = AF_UNARY_ABS;
    in = TV(AF_DTYPE_I64, iv, 2), out = TV(AF_DTYPE_I64, ov, 2);
    CHECK(run_node(AF_OP_UNARY, &p, &in, 1, &out, 1) == AF_OK && ov[0] == 5 && ov[1] == 7, "abs i64");
    p.unary.fn = AF_UNARY_SIN;
    CHECK(check_node(AF_OP_UNARY, &p, &in, 1, &out, 1) == AF_ERR_UNSUPPORTED, "sin i64 accepted");
    /* Clip as imported: bounds as inputs */
    float x[3] = {-2, 0.5f, 9}, y[3], lo = 0, hi = 1;
    p.unary = (af_unary_params){AF_UNARY_CLIP, -100, 100};
    af_tview cin[3] = {TV(AF_DTYPE_F32, x, 3), TV(AF_DTYPE_F32, &lo, 1), TV(AF_DTYPE_F32, &hi, 1)};
    out = TV(AF_DTYPE_F32, y, 3);
    CHECK(run_node(AF_OP_UNARY, &p, cin, 3, &out, 1) == AF_OK && y[0] == 0 && y[1] == 0.5f && y[2] == 1,
          "clip with bound inputs %g %g %g", y[0], y[1], y[2]);
}

/* ---- binary ---------------------------------------------------------------------------------- */

static void test_binary(void)
{
    af_params p = P();
    /* (2,3,4) + (3,1) -> (2,3,4): b[j] added along the last axis */
    float a[24], b[3] = {10, 20, 30}, y[24], want[24];
    for (int i = 0; i < 24; i++) a[i] = (float)i, want[i] = (float)i + b[(i / 4) % 3];
    af_tview in[2] = {TV(AF_DTYPE_F32, a, 2, 3, 4), TV(AF_DTYPE_F32, b, 3, 1)};
    af_tview out = TV(AF_DTYPE_F32, y, 2, 3, 4);
    p.binary.fn = AF_BINARY_ADD;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK, "add bcast");
    CHECK(floats_eq(y, want, 24, 0), "(2,3,4)+(3,1)");
    /* (1,) - (2,2) */
    float s = 1, m[4] = {1, 2, 3, 4}, y4[4], w4[4] = {0, -1, -2, -3};
    in[0] = TV(AF_DTYPE_F32, &s, 1), in[1] = TV(AF_DTYPE_F32, m, 2, 2);
    out = TV(AF_DTYPE_F32, y4, 2, 2);
    p.binary.fn = AF_BINARY_SUB;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && floats_eq(y4, w4, 4, 0), "(1,)-(2,2)");
    /* per-channel (1,3,2,2) * (3,1,1) and (2,1) with (1,3) outer broadcast */
    float x12[12], c3[3] = {1, 2, 3}, y12[12], w12[12];
    for (int i = 0; i < 12; i++) x12[i] = (float)i, w12[i] = (float)i * c3[i / 4];
    in[0] = TV(AF_DTYPE_F32, x12, 1, 3, 2, 2), in[1] = TV(AF_DTYPE_F32, c3, 3, 1, 1);
    out = TV(AF_DTYPE_F32, y12, 1, 3, 2, 2);
    p.binary.fn = AF_BINARY_MUL;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && floats_eq(y12, w12, 12, 0), "per-channel mul");
    float col[2] = {1, 2}, row[3] = {10, 20, 30}, o6[6], w6[6] = {11, 21, 31, 12, 22, 32};
    in[0] = TV(AF_DTYPE_F32, col, 2, 1), in[1] = TV(AF_DTYPE_F32, row, 1, 3);
    out = TV(AF_DTYPE_F32, o6, 2, 3);
    p.binary.fn = AF_BINARY_ADD;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && floats_eq(o6, w6, 6, 0), "outer add");
    /* comparisons -> bool */
    float l[4] = {1, 5, 3, NAN}, r[4] = {2, 5, 1, 0};
    uint8_t bo[4];
    in[0] = TV(AF_DTYPE_F32, l, 4), in[1] = TV(AF_DTYPE_F32, r, 4);
    out = TV(AF_DTYPE_BOOL, bo, 4);
    p.binary.fn = AF_BINARY_LESS_EQUAL;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && bo[0] == 1 && bo[1] == 1 &&
          bo[2] == 0 && bo[3] == 0, "less_equal");
    p.binary.fn = AF_BINARY_EQUAL;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && bo[0] == 0 && bo[1] == 1, "equal");
    /* integer mod (sign of divisor) and fmod (sign of dividend), i32 div truncates */
    int32_t ia[4] = {7, -7, 7, -7}, ib[4] = {3, 3, -3, -3}, io[4];
    in[0] = TV(AF_DTYPE_I32, ia, 4), in[1] = TV(AF_DTYPE_I32, ib, 4);
    out = TV(AF_DTYPE_I32, io, 4);
    p.binary.fn = AF_BINARY_MOD;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && io[0] == 1 && io[1] == 2 &&
          io[2] == -2 && io[3] == -1, "mod %d %d %d %d", io[0], io[1], io[2], io[3]);
    p.binary.fn = AF_BINARY_FMOD;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && io[0] == 1 && io[1] == -1 &&
          io[2] == 1 && io[3] == -1, "fmod");
    p.binary.fn = AF_BINARY_DIV;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && io[0] == 2 && io[1] == -2, "div i32");
    /* i64 broadcast mul (shape arithmetic) */
    int64_t sh[3] = {2, 3, 4}, two = 2, so[3];
    in[0] = TV(AF_DTYPE_I64, sh, 3), in[1] = TV(AF_DTYPE_I64, &two, 1);
    out = TV(AF_DTYPE_I64, so, 3);
    p.binary.fn = AF_BINARY_MUL;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && so[0] == 4 && so[2] == 8, "mul i64");
    /* logic on bool */
    uint8_t ba[4] = {0, 0, 1, 1}, bb[4] = {0, 1, 0, 1}, bx[4];
    in[0] = TV(AF_DTYPE_BOOL, ba, 4), in[1] = TV(AF_DTYPE_BOOL, bb, 4);
    out = TV(AF_DTYPE_BOOL, bx, 4);
    p.binary.fn = AF_BINARY_XOR;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && !bx[0] && bx[1] && bx[2] && !bx[3], "xor");
    /* prelu and pow with an integer exponent */
    float px[3] = {-2, 3, -4}, slope[1] = {0.5f}, py[3];
    in[0] = TV(AF_DTYPE_F32, px, 3), in[1] = TV(AF_DTYPE_F32, slope, 1);
    out = TV(AF_DTYPE_F32, py, 3);
    p.binary.fn = AF_BINARY_PRELU;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && py[0] == -1 && py[1] == 3 && py[2] == -2, "prelu");
    int64_t e2 = 2;
    in[1] = TV(AF_DTYPE_I64, &e2, 1);
    p.binary.fn = AF_BINARY_POW;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && py[0] == 4 && py[2] == 16, "pow f32^i64");
    /* rejected: shapes that do not broadcast, f16 arithmetic */
    in[0] = TV(AF_DTYPE_F32, a, 2, 3, 4), in[1] = TV(AF_DTYPE_F32, b, 2, 1);
    out = TV(AF_DTYPE_F32, y, 2, 3, 4);
    p.binary.fn = AF_BINARY_ADD;
    CHECK(check_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_ERR_SHAPE, "bad broadcast accepted");
    in[0].dtype = in[1].dtype = out.dtype = AF_DTYPE_F16;
    in[1] = TV(AF_DTYPE_F16, b, 3, 1);
    CHECK(check_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_ERR_UNSUPPORTED, "f16 add accepted");
}

/* ---- movement -------------------------------------------------------------------------------- */

static void test_transpose(void)
{
    af_params p = P();
    int64_t x[24], y[24];
    for (int i = 0; i < 24; i++) x[i] = i;
    /* (2,3,4) perm (2,0,1) -> (4,2,3): y[k][i][j] = x[i][j][k] */
    p.transpose = (af_transpose_params){3, {2, 0, 1}};
    af_tview in = TV(AF_DTYPE_I64, x, 2, 3, 4), out = TV(AF_DTYPE_I64, y, 4, 2, 3);
    CHECK(run_node(AF_OP_TRANSPOSE, &p, &in, 1, &out, 1) == AF_OK, "transpose");
    int ok = 1;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) ok &= y[(k * 2 + i) * 3 + j] == x[(i * 3 + j) * 4 + k];
    CHECK(ok, "transpose (2,0,1) values");
    /* default perm reverses; u8 elements */
    uint8_t bx[6] = {0, 1, 2, 3, 4, 5}, by[6];
    p.transpose.n_perm = 0;
    in = TV(AF_DTYPE_U8, bx, 2, 3), out = TV(AF_DTYPE_U8, by, 3, 2);
    CHECK(run_node(AF_OP_TRANSPOSE, &p, &in, 1, &out, 1) == AF_OK && by[1] == 3 && by[2] == 1 &&
          by[5] == 5, "transpose reverse u8");
    out = TV(AF_DTYPE_U8, by, 2, 3);
    CHECK(check_node(AF_OP_TRANSPOSE, &p, &in, 1, &out, 1) == AF_ERR_SHAPE, "bad out accepted");
}

static void test_concat_split(void)
{
    af_params p = P();
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6}, y[6];
    /* (2,2) ++ (2,1) on axis 1 -> [[1,2,5],[3,4,6]] */
    p.axis.axis = 1;
    af_tview in[2] = {TV(AF_DTYPE_F32, a, 2, 2), TV(AF_DTYPE_F32, b, 2, 1)};
    af_tview out = TV(AF_DTYPE_F32, y, 2, 3);
    float want[6] = {1, 2, 5, 3, 4, 6};
    CHECK(run_node(AF_OP_CONCAT, &p, in, 2, &out, 1) == AF_OK && floats_eq(y, want, 6, 0), "concat");
    float s0[4], s1[2];
    af_tview parts[2] = {TV(AF_DTYPE_F32, s0, 2, 2), TV(AF_DTYPE_F32, s1, 2, 1)};
    CHECK(run_node(AF_OP_SPLIT, &p, &out, 1, parts, 2) == AF_OK && floats_eq(s0, a, 4, 0) &&
          floats_eq(s1, b, 2, 0), "split");
    parts[1].dims[1] = 2;
    CHECK(check_node(AF_OP_SPLIT, &p, &out, 1, parts, 2) == AF_ERR_SHAPE, "bad split accepted");
}

static void test_slice(void)
{
    af_params p = P();
    /* x (3,5) = 0..14; start (2,4) step (-1,-2) -> rows 2,1,0 x cols 4,2,0 */
    int32_t x[15], y[9];
    for (int i = 0; i < 15; i++) x[i] = i;
    p.slice.start[0] = 2, p.slice.step[0] = -1, p.slice.start[1] = 4, p.slice.step[1] = -2;
    af_tview in = TV(AF_DTYPE_I32, x, 3, 5), out = TV(AF_DTYPE_I32, y, 3, 3);
    CHECK(run_node(AF_OP_SLICE, &p, &in, 1, &out, 1) == AF_OK, "slice");
    int32_t want[9] = {14, 12, 10, 9, 7, 5, 4, 2, 0};
    CHECK(memcmp(y, want, sizeof want) == 0, "slice negative step values %d %d %d", y[0], y[1], y[8]);
    /* positive step 2 from 1 on axis 1 -> cols 1,3 */
    p.slice.start[0] = 0, p.slice.step[0] = 1, p.slice.start[1] = 1, p.slice.step[1] = 2;
    out = TV(AF_DTYPE_I32, y, 3, 2);
    CHECK(run_node(AF_OP_SLICE, &p, &in, 1, &out, 1) == AF_OK && y[0] == 1 && y[1] == 3 && y[5] == 13,
          "slice step 2");
    out = TV(AF_DTYPE_I32, y, 3, 3); /* cols 1,3,5: 5 is out of range */
    CHECK(check_node(AF_OP_SLICE, &p, &in, 1, &out, 1) == AF_ERR_SHAPE, "out-of-range slice accepted");
}

static void test_gather(void)
{
    af_params p = P();
    float d[12], y[12];
    for (int i = 0; i < 12; i++) d[i] = (float)i;
    /* data (3,4), axis 1, indices [-1, 0] (i64) -> (3,2) */
    int64_t ix[2] = {-1, 0};
    p.axis.axis = 1;
    af_tview in[2] = {TV(AF_DTYPE_F32, d, 3, 4), TV(AF_DTYPE_I64, ix, 2)};
    af_tview out = TV(AF_DTYPE_F32, y, 3, 2);
    float want[6] = {3, 0, 7, 4, 11, 8};
    CHECK(run_node(AF_OP_GATHER, &p, in, 2, &out, 1) == AF_OK && floats_eq(y, want, 6, 0), "gather axis 1");
    /* axis 0, i32 indices (2,1) -> (2,1,4) */
    int32_t i32[2] = {2, -3};
    p.axis.axis = 0;
    in[1] = TV(AF_DTYPE_I32, i32, 2, 1);
    out = TV(AF_DTYPE_F32, y, 2, 1, 4);
    float want2[8] = {8, 9, 10, 11, 0, 1, 2, 3};
    CHECK(run_node(AF_OP_GATHER, &p, in, 2, &out, 1) == AF_OK && floats_eq(y, want2, 8, 0), "gather axis 0");
    /* scalar index (rank 0) removes the axis */
    int64_t one = 1;
    in[1] = mkview(AF_DTYPE_I64, &one, 0, NULL);
    out = TV(AF_DTYPE_F32, y, 4);
    CHECK(run_node(AF_OP_GATHER, &p, in, 2, &out, 1) == AF_OK && y[0] == 4 && y[3] == 7, "gather scalar");
    int64_t bad = 3;
    in[1] = mkview(AF_DTYPE_I64, &bad, 0, NULL);
    CHECK(run_node(AF_OP_GATHER, &p, in, 2, &out, 1) == AF_ERR_SHAPE, "index 3 of 3 accepted");
}

static void pad1d(int mode, int64_t b, int64_t e, float value, const float *want, int64_t n)
{
    af_params p = P();
    float x[3] = {1, 2, 3}, y[16];
    p.pad.mode = mode, p.pad.value = value, p.pad.begin[0] = b, p.pad.end[0] = e;
    af_tview in = TV(AF_DTYPE_F32, x, 3), out = TV(AF_DTYPE_F32, y, n);
    CHECK(run_node(AF_OP_PAD, &p, &in, 1, &out, 1) == AF_OK, "pad mode %d", mode);
    CHECK(floats_eq(y, want, n, 0), "pad mode %d values", mode);
}

static void test_pad(void)
{
    const float refl[] = {3, 2, 1, 2, 3, 2, 1}, edge[] = {1, 1, 1, 2, 3, 3, 3};
    const float wrap[] = {2, 3, 1, 2, 3, 1, 2}, cons[] = {2, 3, 9}, refl_far[] = {2, 3, 2, 1, 2, 3, 2, 1};
    pad1d(AF_PAD_REFLECT, 2, 2, 0, refl, 7);
    pad1d(AF_PAD_EDGE, 2, 2, 0, edge, 7);
    pad1d(AF_PAD_WRAP, 2, 2, 0, wrap, 7);
    pad1d(AF_PAD_CONSTANT, -1, 1, 9, cons, 3); /* negative begin crops */
    pad1d(AF_PAD_REFLECT, 3, 2, 0, refl_far, 8); /* pad wider than the axis: numpy's reflect */
    /* 2-D reflect (numpy.pad(x, ((1,0),(0,2)), 'reflect') for x = [[1,2,3],[4,5,6]]) */
    af_params p = P();
    float x[6] = {1, 2, 3, 4, 5, 6}, y[15];
    p.pad.mode = AF_PAD_REFLECT, p.pad.begin[0] = 1, p.pad.end[1] = 2;
    af_tview in = TV(AF_DTYPE_F32, x, 2, 3), out = TV(AF_DTYPE_F32, y, 3, 5);
    const float want[15] = {4, 5, 6, 5, 4, 1, 2, 3, 2, 1, 4, 5, 6, 5, 4};
    CHECK(run_node(AF_OP_PAD, &p, &in, 1, &out, 1) == AF_OK && floats_eq(y, want, 15, 0), "pad 2-D reflect");
    /* constant pad of i64 data */
    int64_t ix[2] = {7, 8}, iy[4];
    memset(&p, 0, sizeof p);
    p.pad.value = -1, p.pad.begin[0] = 1, p.pad.end[0] = 1;
    in = TV(AF_DTYPE_I64, ix, 2), out = TV(AF_DTYPE_I64, iy, 4);
    CHECK(run_node(AF_OP_PAD, &p, &in, 1, &out, 1) == AF_OK && iy[0] == -1 && iy[1] == 7 && iy[3] == -1,
          "pad i64");
}

static void test_cast(void)
{
    af_params p = P();
    float x[6] = {-1.7f, 2.9f, 0.0f, -0.0f, 1.0f / 3.0f, NAN};
    int64_t i64[6];
    p.cast.to = AF_DTYPE_I64;
    af_tview in = TV(AF_DTYPE_F32, x, 6), out = TV(AF_DTYPE_I64, i64, 6);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && i64[0] == -1 && i64[1] == 2 && i64[4] == 0,
          "f32->i64 truncates: %lld %lld", (long long)i64[0], (long long)i64[1]);
    uint16_t h[6];
    p.cast.to = AF_DTYPE_F16;
    out = TV(AF_DTYPE_F16, h, 6);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK, "f32->f16");
    /* -1.7 -> 0xbecd, 1/3 -> 0x3555 (round to nearest even), -0.0 -> 0x8000, NaN stays NaN */
    CHECK(h[0] == 0xbecd && h[4] == 0x3555 && h[3] == 0x8000 && (h[5] & 0x7c00) == 0x7c00 && (h[5] & 0x3ff),
          "f16 bits %04x %04x %04x %04x", h[0], h[4], h[3], h[5]);
    uint8_t bo[6];
    p.cast.to = AF_DTYPE_BOOL;
    out = TV(AF_DTYPE_BOOL, bo, 6);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && bo[0] == 1 && bo[2] == 0 && bo[3] == 0 &&
          bo[5] == 1, "f32->bool");
    /* back: f16 -> f32, bool -> f32, i64 -> i32 */
    float f[6];
    p.cast.to = AF_DTYPE_F32;
    in = TV(AF_DTYPE_F16, h, 6), out = TV(AF_DTYPE_F32, f, 6);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && f[4] == 0.333251953125f, "f16->f32 %g", f[4]);
    in = TV(AF_DTYPE_BOOL, bo, 6);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && f[0] == 1 && f[2] == 0, "bool->f32");
    int32_t i32[6];
    p.cast.to = AF_DTYPE_I32;
    in = TV(AF_DTYPE_I64, i64, 6), out = TV(AF_DTYPE_I32, i32, 6);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && i32[0] == -1 && i32[1] == 2, "i64->i32");
    uint16_t bf;
    float one = 1.5f;
    p.cast.to = AF_DTYPE_BF16;
    in = TV(AF_DTYPE_F32, &one, 1), out = TV(AF_DTYPE_BF16, &bf, 1);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && bf == 0x3fc0, "f32->bf16 %04x", bf);
}

/* ---- softmax --------------------------------------------------------------------------------- */

static void test_softmax(void)
{
    af_params p = P();
    float x[24], y[24], ref[24];
    for (int i = 0; i < 24; i++) x[i] = frand() * 3;
    /* opset 13: axis 1 of (2,3,4) -> normalise the 3 values x[n][:][k] */
    p.softmax.axis = 1;
    af_tview in = TV(AF_DTYPE_F32, x, 2, 3, 4), out = TV(AF_DTYPE_F32, y, 2, 3, 4);
    CHECK(run_node(AF_OP_SOFTMAX, &p, &in, 1, &out, 1) == AF_OK, "softmax");
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 4; k++) {
            double s = 0;
            for (int c = 0; c < 3; c++) s += exp(x[n * 12 + c * 4 + k]);
            for (int c = 0; c < 3; c++) ref[n * 12 + c * 4 + k] = (float)(exp(x[n * 12 + c * 4 + k]) / s);
        }
    CHECK(floats_eq(y, ref, 24, 1e-6), "softmax axis 1"); /* probabilities ≤ 1: 1e-6 abs ≈ 8 ulp */
    /* legacy: axis 1 flattens (3,4) -> rows of 12 */
    p.softmax.legacy = 1;
    CHECK(run_node(AF_OP_SOFTMAX, &p, &in, 1, &out, 1) == AF_OK, "softmax legacy");
    for (int n = 0; n < 2; n++) {
        double s = 0;
        for (int i = 0; i < 12; i++) s += exp(x[n * 12 + i]);
        for (int i = 0; i < 12; i++) ref[n * 12 + i] = (float)(exp(x[n * 12 + i]) / s);
    }
    CHECK(floats_eq(y, ref, 24, 1e-6), "softmax legacy values");
    /* log-softmax on the last axis */
    p.softmax = (af_softmax_params){2, 1, 0};
    CHECK(run_node(AF_OP_SOFTMAX, &p, &in, 1, &out, 1) == AF_OK, "logsoftmax");
    for (int r = 0; r < 6; r++) {
        double s = 0;
        for (int i = 0; i < 4; i++) s += exp(x[r * 4 + i]);
        for (int i = 0; i < 4; i++) ref[r * 4 + i] = (float)(x[r * 4 + i] - log(s));
    }
    CHECK(floats_eq(y, ref, 24, 1e-5), "logsoftmax values"); /* |values| < 8: 1e-5 ≈ 16 ulp */
}

/* ---- reduce ---------------------------------------------------------------------------------- */

/* ReduceL2 / ReduceSumSquare over trailing axes (Swin-V2's normalize over a head's 32
 * channels): contiguous blocks summed in double 16 lanes at a time, blocks of rows threaded.
 * Each output is the double sum of exact squares rounded once to float: within one float ulp
 * (2^-23 relative; the double sums' order moves them by ~1e-16) of the reference, and the same
 * bits for 1 and 3 threads. 4096 rows of 32, and (3, 4, 5, 7) over its last two axes. */
static void test_reduce_l2_rows(void)
{
    static const int64_t shapes[2][4] = {{2, 64, 32, 32}, {3, 4, 5, 7}};
    for (int si = 0; si < 2; si++)
        for (int fn = 0; fn < 2; fn++) {
            const int64_t *d = shapes[si];
            int64_t n = d[0] * d[1] * d[2] * d[3], block = si == 0 ? d[3] : d[2] * d[3];
            int64_t rows = n / block;
            float *x = frand_buf(n), *y[2] = {malloc((size_t)rows * 4), malloc((size_t)rows * 4)};
            af_params p = P();
            p.reduce = (af_reduce_params){.fn = fn ? AF_REDUCE_SUM_SQUARE : AF_REDUCE_L2,
                                          .keepdims = 1, .axes_mask = si == 0 ? 0x8u : 0xcu};
            af_tview in = TV(AF_DTYPE_F32, x, d[0], d[1], d[2], d[3]);
            af_tview out = si == 0 ? TV(AF_DTYPE_F32, NULL, d[0], d[1], d[2], 1)
                                   : TV(AF_DTYPE_F32, NULL, d[0], d[1], 1, 1);
            int ok = 1;
            for (int t = 0; t < 2; t++) {
                af_err err = {0};
                af_kctx ctx = {.n_threads = t ? 3 : 1};
                out.data = y[t];
                ok &= afk_pool_create(t ? 3 : 1, &ctx.pool, &err) == AF_OK &&
                      af_kernel_run(AF_OP_REDUCE, &p, &in, 1, &out, 1, &ctx, &err) == AF_OK;
                afk_pool_free(ctx.pool);
            }
            int64_t bad = 0;
            for (int64_t r = 0; ok && r < rows; r++) {
                const float *xr = x + r * block;
                double ss = 0;
                for (int64_t i = 0; i < block; i++) ss += (double)xr[i] * xr[i];
                double want = fn ? ss : sqrt(ss);
                bad += !(fabs(y[0][r] - want) <= want * 0x1p-23);
            }
            CHECK(ok && bad == 0, "reduce %s rows of %lld: %lld outside one ulp",
                  fn ? "sumsq" : "l2", (long long)block, (long long)bad);
            CHECK(ok && !memcmp(y[0], y[1], (size_t)rows * 4), "reduce %s: 3 threads differ",
                  fn ? "sumsq" : "l2");
            free(x), free(y[0]), free(y[1]);
        }
}

static void test_reduce(void)
{
    af_params p = P();
    float x[120], y[24], ref[24];
    for (int i = 0; i < 120; i++) x[i] = frand();
    /* mean over {2,3} of (2,3,4,5), keepdims -> (2,3,1,1) */
    p.reduce = (af_reduce_params){.fn = AF_REDUCE_MEAN, .keepdims = 1, .axes_mask = 0xc};
    af_tview in = TV(AF_DTYPE_F32, x, 2, 3, 4, 5), out = TV(AF_DTYPE_F32, y, 2, 3, 1, 1);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK, "reduce mean");
    for (int c = 0; c < 6; c++) {
        double s = 0;
        for (int i = 0; i < 20; i++) s += x[c * 20 + i];
        ref[c] = (float)(s / 20);
    }
    CHECK(floats_eq(y, ref, 6, 1e-6), "mean {2,3}"); /* double accumulation: one final rounding */
    /* sum over axis 1 without keepdims -> (2,4,5) is too big for y; use max over axis 3 -> (2,3,4) */
    p.reduce = (af_reduce_params){.fn = AF_REDUCE_MAX, .keepdims = 0, .axes_mask = 0x8};
    out = TV(AF_DTYPE_F32, y, 2, 3, 4);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK, "reduce max");
    for (int r = 0; r < 24; r++) {
        float m = -INFINITY;
        for (int i = 0; i < 5; i++) m = x[r * 5 + i] > m ? x[r * 5 + i] : m;
        ref[r] = m;
    }
    CHECK(floats_eq(y, ref, 24, 0), "max axis 3");
    /* all axes (mask 0), L2 and log-sum-exp -> scalar */
    double ss = 0, se = 0;
    for (int i = 0; i < 120; i++) ss += (double)x[i] * x[i], se += exp(x[i]);
    p.reduce = (af_reduce_params){.fn = AF_REDUCE_L2};
    out = mkview(AF_DTYPE_F32, y, 0, NULL);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && fabs(y[0] - sqrt(ss)) < 1e-5, "l2 all");
    p.reduce.fn = AF_REDUCE_LOG_SUM_EXP;
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && fabs(y[0] - log(se)) < 1e-5, "lse all");
    /* noop_with_empty_axes: a copy */
    p.reduce = (af_reduce_params){.fn = AF_REDUCE_SUM, .noop_with_empty_axes = 1};
    float z[120];
    out = TV(AF_DTYPE_F32, z, 2, 3, 4, 5);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && floats_eq(z, x, 120, 0), "noop reduce");
    /* i64 prod (shape math) */
    int64_t dims[3] = {2, 3, 4}, prod;
    p.reduce = (af_reduce_params){.fn = AF_REDUCE_PROD, .axes_mask = 1};
    in = TV(AF_DTYPE_I64, dims, 3), out = mkview(AF_DTYPE_I64, &prod, 0, NULL);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && prod == 24, "prod i64");
    /* bad keepdims shape */
    p.reduce.keepdims = 1;
    CHECK(check_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_ERR_SHAPE, "bad reduce shape accepted");
}

static void test_argmax(void)
{
    af_params p = P();
    /* x (2,4): row 0 has a tie at 1 and 3; argmax over axis 1 keepdims -> (2,1) */
    float x[8] = {1, 5, 2, 5, -3, -1, -7, -2};
    int64_t y[4];
    p.reduce = (af_reduce_params){.fn = AF_REDUCE_ARGMAX, .keepdims = 1, .axes_mask = 2};
    af_tview in = TV(AF_DTYPE_F32, x, 2, 4), out = TV(AF_DTYPE_I64, y, 2, 1);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && y[0] == 1 && y[1] == 1, "argmax first");
    p.reduce.select_last_index = 1;
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && y[0] == 3 && y[1] == 1, "argmax last");
    p.reduce = (af_reduce_params){.fn = AF_REDUCE_ARGMIN, .axes_mask = 1};
    out = TV(AF_DTYPE_I64, y, 4);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && y[0] == 1 && y[1] == 1 && y[2] == 1 &&
          y[3] == 1, "argmin axis 0 %lld %lld", (long long)y[0], (long long)y[2]);
    p.reduce.axes_mask = 3;
    out = mkview(AF_DTYPE_I64, y, 0, NULL);
    CHECK(check_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_ERR_SHAPE, "argmax over 2 axes accepted");
}

/* ---- resize ---------------------------------------------------------------------------------- */

static void resize_case(const char *what, int mode, int coord, int nearest, int64_t oh,
                        int64_t ow, float sh, float sw, const float *want)
{
    af_params p = P();
    float x[4] = {1, 2, 3, 4}, y[64];
    p.resize = (af_resize_params){.mode = mode, .coord = coord, .nearest = nearest,
                                  .scale = {1, 1, sh, sw}};
    af_tview in = TV(AF_DTYPE_F32, x, 1, 1, 2, 2), out = TV(AF_DTYPE_F32, y, 1, 1, oh, ow);
    CHECK(run_node(AF_OP_RESIZE, &p, &in, 1, &out, 1) == AF_OK, "resize %s", what);
    CHECK(floats_eq(y, want, oh * ow, 1e-6), "resize %s values", what); /* ≤4 weighted terms */
}

static void test_resize(void)
{
    /* torch nn.Upsample(scale_factor=2, mode='nearest'): asymmetric + floor */
    const float up[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    resize_case("nearest asymmetric floor", AF_RESIZE_NEAREST, AF_COORD_ASYMMETRIC,
                AF_NEAREST_FLOOR, 4, 4, 2, 2, up);
    /* half_pixel + round_prefer_floor 2 -> 3: x_orig = (x+0.5)*2/3-0.5 = -1/6, 0.5, 7/6 -> 0,0,1 */
    const float nh[9] = {1, 1, 2, 1, 1, 2, 3, 3, 4};
    resize_case("nearest half_pixel prefer_floor", AF_RESIZE_NEAREST, AF_COORD_HALF_PIXEL,
                AF_NEAREST_ROUND_PREFER_FLOOR, 3, 3, 1.5f, 1.5f, nh);
    const float nc[9] = {1, 2, 2, 3, 4, 4, 3, 4, 4}; /* prefer_ceil: 0.5 -> 1 */
    resize_case("nearest half_pixel prefer_ceil", AF_RESIZE_NEAREST, AF_COORD_HALF_PIXEL,
                AF_NEAREST_ROUND_PREFER_CEIL, 3, 3, 1.5f, 1.5f, nc);
    /* torch bilinear align_corners=False (half_pixel) 2x2 -> 4x4 */
    const float bl[16] = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                          2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    resize_case("linear half_pixel", AF_RESIZE_LINEAR, AF_COORD_HALF_PIXEL, 0, 4, 4, 2, 2, bl);
    resize_case("linear pytorch_half_pixel", AF_RESIZE_LINEAR, AF_COORD_PYTORCH_HALF_PIXEL, 0, 4, 4, 2, 2, bl);
    /* align_corners 2x2 -> 3x3 */
    const float ac[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    resize_case("linear align_corners", AF_RESIZE_LINEAR, AF_COORD_ALIGN_CORNERS, 0, 3, 3, 1.5f, 1.5f, ac);
    /* linear asymmetric 2 -> 4 on one axis only (H unchanged): x/2 -> 0, .5, 1, 1.5 (clamped) */
    const float as[8] = {1, 1.5f, 2, 2, 3, 3.5f, 4, 4};
    resize_case("linear asymmetric W only", AF_RESIZE_LINEAR, AF_COORD_ASYMMETRIC, 0, 2, 4, 1, 2, as);
    /* cubic is f32 only (its values are checked by the conformance suite's resize cases) */
    af_params p = P();
    p.resize.mode = AF_RESIZE_CUBIC;
    int32_t x[4], y[16];
    af_tview in = TV(AF_DTYPE_I32, x, 1, 1, 2, 2), out = TV(AF_DTYPE_I32, y, 1, 1, 4, 4);
    CHECK(check_node(AF_OP_RESIZE, &p, &in, 1, &out, 1) == AF_ERR_UNSUPPORTED,
          "cubic of i32 accepted");
}

int main(void)
{
    test_unary();
    test_binary();
    test_transpose();
    test_concat_split();
    test_slice();
    test_gather();
    test_pad();
    test_cast();
    test_softmax();
    test_reduce();
    test_reduce_l2_rows();
    test_argmax();
    test_resize();
    return check_report("kernels_data");
}
