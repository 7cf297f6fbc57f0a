/* tests/unit/test_cast_int.c — the integer types added to the IR (i16,
 * u16, u32, u64). Cast between every integer type and float (float→int out of range as ONNX
 * Runtime gives it on x86-64: values below were produced by onnxruntime-node, see
 * tests/tools/dtypes_models.py), u64 values above 2^63 through Max/Min/comparisons/Div/Mod/
 * ReduceMax/Where without passing through signed order, BitShift on u16/u32/u64, Abs/Sign on
 * unsigned, and the .npy descr of each new type. All comparisons are exact: integers. */
#include <unistd.h>

#include "graph/dtype.h"
#include "importers/npy/npy.h"
#include "test_kernels_util.h"

static af_params P(void)
{
    af_params p;
    memset(&p, 0, sizeof p);
    return p;
}

#define TOP 0x8000000000000000ull /* 2^63 */

/* ---- cast --------------------------------------------------------------------------------- */

static const float FX[] = {-1.7f, 200.6f, -300.2f, 70000.5f, 5e9f, -5e9f, 1e19f, NAN};
enum { NF = sizeof FX / sizeof FX[0] };

static void cast_f32_to(af_dtype to, void *y)
{
    af_params p = P();
    p.cast.to = to;
    af_tview in = TV(AF_DTYPE_F32, (void *)FX, NF), out = TV(to, y, NF);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK, "cast f32 -> %s", af_dtype_name(to));
}

static void test_cast_from_float(void)
{
    int16_t i16[NF];
    uint16_t u16[NF];
    uint32_t u32[NF];
    uint64_t u64[NF];
    int8_t i8[NF];
    cast_f32_to(AF_DTYPE_I16, i16);
    cast_f32_to(AF_DTYPE_U16, u16);
    cast_f32_to(AF_DTYPE_U32, u32);
    cast_f32_to(AF_DTYPE_U64, u64);
    cast_f32_to(AF_DTYPE_I8, i8);
    /* ONNX Runtime: truncation toward zero, then wrap; beyond int32, the 32-bit convert's
     * minimum (whose low 16 bits are 0); NaN likewise */
    const int16_t w16[NF] = {-1, 200, -300, 4464, 0, 0, 0, 0};
    const uint16_t wu16[NF] = {65535, 200, 65236, 4464, 0, 0, 0, 0};
    const uint32_t wu32[NF] = {4294967295u, 200, 4294966996u, 70000, 0, 2147483648u, 0,
                               2147483648u};
    const uint64_t wu64[NF] = {18446744073709551615ull, 200, 18446744073709551316ull, 70000,
                               5000000000ull, 18446744068709551616ull, 9999999980506447872ull,
                               TOP};
    const int8_t w8[NF] = {-1, -56, -44, 112, 0, 0, 0, 0};
    for (int i = 0; i < NF; i++) {
        CHECK(i16[i] == w16[i], "f32 %g -> i16 %d, want %d", FX[i], i16[i], w16[i]);
        CHECK(u16[i] == wu16[i], "f32 %g -> u16 %u, want %u", FX[i], u16[i], wu16[i]);
        CHECK(u32[i] == wu32[i], "f32 %g -> u32 %u, want %u", FX[i], u32[i], wu32[i]);
        CHECK(u64[i] == wu64[i], "f32 %g -> u64 %llu, want %llu", FX[i],
              (unsigned long long)u64[i], (unsigned long long)wu64[i]);
        CHECK(i8[i] == w8[i], "f32 %g -> i8 %d, want %d", FX[i], i8[i], w8[i]);
    }
}

static void test_cast_between_ints(void)
{
    af_params p = P();
    uint64_t u[4] = {TOP + 5, 2 * (TOP - 1) + 1, 65537, 1};
    int16_t s[4];
    uint32_t u32[4];
    int64_t i64[4];
    float f[4];
    af_tview in = TV(AF_DTYPE_U64, u, 4), out = TV(AF_DTYPE_I16, s, 4);
    p.cast.to = AF_DTYPE_I16;
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && s[0] == 5 && s[1] == -1 && s[2] == 1,
          "u64 -> i16 wraps: %d %d %d", s[0], s[1], s[2]);
    p.cast.to = AF_DTYPE_U32, out = TV(AF_DTYPE_U32, u32, 4);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && u32[0] == 5 && u32[1] == 4294967295u,
          "u64 -> u32 wraps: %u %u", u32[0], u32[1]);
    p.cast.to = AF_DTYPE_I64, out = TV(AF_DTYPE_I64, i64, 4);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && i64[0] == INT64_MIN + 5 && i64[1] == -1,
          "u64 -> i64 keeps the bits: %lld", (long long)i64[0]);
    p.cast.to = AF_DTYPE_F32, out = TV(AF_DTYPE_F32, f, 4);
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && f[0] == 9223372036854775808.0f &&
          f[1] == 18446744073709551616.0f, "u64 -> f32 is unsigned: %g %g", f[0], f[1]);
    int16_t neg[2] = {-2, -32768};
    uint64_t back[2];
    in = TV(AF_DTYPE_I16, neg, 2), out = TV(AF_DTYPE_U64, back, 2);
    p.cast.to = AF_DTYPE_U64;
    CHECK(run_node(AF_OP_CAST, &p, &in, 1, &out, 1) == AF_OK && back[0] == 2 * (TOP - 1) &&
          back[1] == 2 * (TOP - 1) + 1 - 32767, "i16 -> u64 sign-extends then wraps");
}

/* ---- u64 order ------------------------------------------------------------------------------ */

static void binary_u64(int fn, const uint64_t *a, const uint64_t *b, af_dtype out_t, void *y, int n)
{
    af_params p = P();
    p.binary.fn = fn;
    af_tview in[2] = {TV(AF_DTYPE_U64, (void *)a, n), TV(AF_DTYPE_U64, (void *)b, n)};
    af_tview out = TV(out_t, y, n);
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK, "binary %s u64",
          af_binary_names[fn]);
}

static void test_u64_order(void)
{
    const uint64_t a[4] = {TOP, TOP - 1, 2 * (TOP - 1) + 1, 3};
    const uint64_t b[4] = {TOP - 1, TOP, 7, TOP + 3};
    uint64_t mx[4], mn[4], dv[4], md[4];
    uint8_t lt[4], eq[4];
    binary_u64(AF_BINARY_MAX, a, b, AF_DTYPE_U64, mx, 4);
    binary_u64(AF_BINARY_MIN, a, b, AF_DTYPE_U64, mn, 4);
    binary_u64(AF_BINARY_DIV, a, b, AF_DTYPE_U64, dv, 4);
    binary_u64(AF_BINARY_MOD, a, b, AF_DTYPE_U64, md, 4);
    binary_u64(AF_BINARY_LESS, a, b, AF_DTYPE_BOOL, lt, 4);
    binary_u64(AF_BINARY_EQUAL, a, a, AF_DTYPE_BOOL, eq, 4);
    for (int i = 0; i < 4; i++) {
        uint64_t x = a[i], y = b[i];
        CHECK(mx[i] == (x > y ? x : y) && mn[i] == (x < y ? x : y), "u64 max/min %d", i);
        CHECK(dv[i] == x / y && md[i] == x % y, "u64 div/mod %d: %llu %llu", i,
              (unsigned long long)dv[i], (unsigned long long)md[i]);
        CHECK(lt[i] == (x < y) && eq[i] == 1, "u64 less %d: %d", i, lt[i]);
    }
    /* ReduceMax / ReduceMin over one axis */
    af_params p = P();
    uint64_t r;
    p.reduce.fn = AF_REDUCE_MAX, p.reduce.axes_mask = 1, p.reduce.keepdims = 1;
    af_tview in = TV(AF_DTYPE_U64, (void *)a, 4), out = TV(AF_DTYPE_U64, &r, 1);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && r == a[2], "u64 reduce max");
    p.reduce.fn = AF_REDUCE_MIN;
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && r == 3, "u64 reduce min");
    /* ArgMax tells 2^63 + 1 from 2^63 (equal as doubles) */
    const uint64_t close[3] = {TOP, TOP + 1, TOP};
    int64_t at = -1;
    p = P();
    p.reduce.fn = AF_REDUCE_ARGMAX, p.reduce.axes_mask = 1, p.reduce.keepdims = 1;
    in = TV(AF_DTYPE_U64, (void *)close, 3), out = TV(AF_DTYPE_I64, &at, 1);
    CHECK(run_node(AF_OP_REDUCE, &p, &in, 1, &out, 1) == AF_OK && at == 1, "u64 argmax %lld",
          (long long)at);
    /* Where moves the bits */
    uint8_t c[4] = {1, 0, 1, 0};
    uint64_t w[4];
    p = P();
    af_tview win[3] = {TV(AF_DTYPE_BOOL, c, 4), TV(AF_DTYPE_U64, (void *)a, 4),
                       TV(AF_DTYPE_U64, (void *)b, 4)};
    out = TV(AF_DTYPE_U64, w, 4);
    CHECK(run_node(AF_OP_WHERE, &p, win, 3, &out, 1) == AF_OK && w[0] == a[0] && w[1] == b[1] &&
          w[2] == a[2] && w[3] == b[3], "u64 where");
}

/* ---- shifts and unary on the new types -------------------------------------------------------- */

static void test_shift_unary(void)
{
    af_params p = P();
    uint16_t x16[3] = {0x8001, 3, 1}, s16[3] = {1, 15, 16}, y16[3];
    p.binary.fn = AF_BINARY_SHIFT_LEFT;
    af_tview in[2] = {TV(AF_DTYPE_U16, x16, 3), TV(AF_DTYPE_U16, s16, 3)};
    af_tview out = TV(AF_DTYPE_U16, y16, 3);
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && y16[0] == 2 && y16[1] == 0x8000 &&
          y16[2] == 0, "u16 << wraps at 16 bits: %x %x %x", y16[0], y16[1], y16[2]);
    uint64_t x64[2] = {2 * (TOP - 1) + 1, TOP}, s64[2] = {63, 1}, y64[2];
    p.binary.fn = AF_BINARY_SHIFT_RIGHT;
    in[0] = TV(AF_DTYPE_U64, x64, 2), in[1] = TV(AF_DTYPE_U64, s64, 2), out = TV(AF_DTYPE_U64, y64, 2);
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && y64[0] == 1 && y64[1] == TOP / 2,
          "u64 >> is logical");
    int32_t bad[1] = {1}, bady[1];
    in[0] = TV(AF_DTYPE_I32, bad, 1), in[1] = TV(AF_DTYPE_I32, bad, 1), out = TV(AF_DTYPE_I32, bady, 1);
    CHECK(check_node(AF_OP_BINARY, &p, in, 2, &out, 1) != AF_OK, "shift of a signed type refused");
    /* Abs/Sign of an unsigned value with the top bit set: itself / 1 */
    uint64_t u[2] = {TOP + 9, 0}, v[2];
    p = P();
    p.unary.fn = AF_UNARY_ABS;
    af_tview ui = TV(AF_DTYPE_U64, u, 2), uo = TV(AF_DTYPE_U64, v, 2);
    CHECK(run_node(AF_OP_UNARY, &p, &ui, 1, &uo, 1) == AF_OK && v[0] == TOP + 9, "u64 abs");
    p.unary.fn = AF_UNARY_SIGN;
    CHECK(run_node(AF_OP_UNARY, &p, &ui, 1, &uo, 1) == AF_OK && v[0] == 1 && v[1] == 0, "u64 sign");
    int16_t m[3] = {-32768, -5, 7}, r[3];
    p.unary.fn = AF_UNARY_ABS;
    ui = TV(AF_DTYPE_I16, m, 3), uo = TV(AF_DTYPE_I16, r, 3);
    CHECK(run_node(AF_OP_UNARY, &p, &ui, 1, &uo, 1) == AF_OK && r[0] == -32768 && r[1] == 5 && r[2] == 7,
          "i16 abs wraps like ONNX Runtime's: %d", r[0]);
    /* i16 Mod: the sign of the divisor; Div truncates */
    int16_t a[2] = {-7, 7}, b[2] = {3, -3}, q[2];
    p = P();
    p.binary.fn = AF_BINARY_MOD;
    in[0] = TV(AF_DTYPE_I16, a, 2), in[1] = TV(AF_DTYPE_I16, b, 2), out = TV(AF_DTYPE_I16, q, 2);
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && q[0] == 2 && q[1] == -2, "i16 mod");
    p.binary.fn = AF_BINARY_DIV;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && q[0] == -2 && q[1] == -2, "i16 div");
}

/* ---- .npy ------------------------------------------------------------------------------------ */

static void test_npy(void)
{
    const char *descr[] = {"<i2", "<u2", "<u4", "<u8"};
    af_dtype dts[] = {AF_DTYPE_I16, AF_DTYPE_U16, AF_DTYPE_U32, AF_DTYPE_U64};
    char path[64];
    snprintf(path, sizeof path, "/tmp/af_cast_int_%ld.npy", (long)getpid());
    for (int k = 0; k < 4; k++) {
        CHECK(!strcmp(af_dtype_table[dts[k]].npy_descr, descr[k]), "descr of %s",
              af_dtype_name(dts[k]));
        uint64_t data[2] = {TOP + 1, 0xfedcba9876543210ull};
        int64_t dims[1] = {(int64_t)(16 / af_dtype_size(dts[k]))};
        af_err err = {0};
        af_npy n = {0};
        CHECK(af_npy_write_file(path, dts[k], 1, dims, data, &err) == AF_OK, "%s", err.msg);
        CHECK(af_npy_read_file(path, &n, &err) == AF_OK && n.dtype == dts[k] && n.nbytes == 16 &&
              !memcmp(n.data, data, 16), "npy %s round trip", descr[k]);
        af_npy_free(&n);
    }
    unlink(path);
}

int main(void)
{
    test_cast_from_float();
    test_cast_between_ints();
    test_u64_order();
    test_shift_unary();
    test_npy();
    return check_report("cast_int");
}
