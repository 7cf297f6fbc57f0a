/* tests/unit/test_kernels_indexing.c — topk, scatter_nd, scatter_elements, gather_nd, one_hot,
 * reverse_sequence, max_unpool, nonzero, compress and run-time range kernels against hand-computed values: ties, NaN,
 * duplicate indices under reductions, negative and out-of-range indices, batch_dims.
 * Every expected value is a copy or one f32 operation on exactly representable numbers, so the
 * comparisons are exact. */
#include "runtime/dynshape.h"
#include "test_kernels_util.h"

static af_params P(void)
{
    af_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static void test_topk(void)
{
    /* ties keep the lower index first; largest and smallest */
    float x[5] = {1, 3, 3, 1, 2}, v[3];
    int64_t ix[3];
    af_params p = P();
    p.topk = (af_topk_params){.axis = 0, .largest = 1, .sorted = 1, .k = 3};
    af_tview in = TV(AF_DTYPE_F32, x, 5);
    af_tview out[2] = {TV(AF_DTYPE_F32, v, 3), TV(AF_DTYPE_I64, ix, 3)};
    CHECK(run_node(AF_OP_TOPK, &p, &in, 1, out, 2) == AF_OK && v[0] == 3 && v[1] == 3 &&
              v[2] == 2 && ix[0] == 1 && ix[1] == 2 && ix[2] == 4,
          "largest: %g %g %g / %lld %lld %lld", v[0], v[1], v[2], (long long)ix[0],
          (long long)ix[1], (long long)ix[2]);
    p.topk.largest = 0;
    p.topk.k = 2;
    out[0] = TV(AF_DTYPE_F32, v, 2), out[1] = TV(AF_DTYPE_I64, ix, 2);
    CHECK(run_node(AF_OP_TOPK, &p, &in, 1, out, 2) == AF_OK && v[0] == 1 && v[1] == 1 &&
              ix[0] == 0 && ix[1] == 3, "smallest: %lld %lld", (long long)ix[0], (long long)ix[1]);
    /* axis 0 of a (3,2) tensor; NaN sorts as the largest value */
    float y[6] = {1, NAN, 5, 2, 5, 7}, yv[4];
    int64_t yi[4];
    p.topk = (af_topk_params){.axis = 0, .largest = 1, .sorted = 1, .k = 2};
    in = TV(AF_DTYPE_F32, y, 3, 2);
    out[0] = TV(AF_DTYPE_F32, yv, 2, 2), out[1] = TV(AF_DTYPE_I64, yi, 2, 2);
    CHECK(run_node(AF_OP_TOPK, &p, &in, 1, out, 2) == AF_OK && yv[0] == 5 && isnan(yv[1]) &&
              yv[2] == 5 && yv[3] == 7 && yi[0] == 1 && yi[1] == 0 && yi[2] == 2 && yi[3] == 2,
          "axis 0: %lld %lld %lld %lld", (long long)yi[0], (long long)yi[1], (long long)yi[2],
          (long long)yi[3]);
    /* int64 data, values only */
    int64_t a[4] = {-5, 9, 9, 0}, av[2];
    p.topk = (af_topk_params){.axis = 0, .largest = 1, .sorted = 1, .k = 2};
    in = TV(AF_DTYPE_I64, a, 4);
    out[0] = TV(AF_DTYPE_I64, av, 2);
    CHECK(run_node(AF_OP_TOPK, &p, &in, 1, out, 1) == AF_OK && av[0] == 9 && av[1] == 9, "i64");
    p.topk.k = 5; /* k larger than the axis */
    out[0] = TV(AF_DTYPE_I64, av, 5);
    CHECK(check_node(AF_OP_TOPK, &p, &in, 1, out, 1) == AF_ERR_SHAPE, "k > n accepted");
}

static void test_scatter_nd(void)
{
    /* data (3,2), indices (3,1) with a duplicate row under add: row 1 gets both updates */
    float d[6] = {1, 2, 3, 4, 5, 6}, u[6] = {10, 20, 30, 40, 50, 60}, y[6];
    int64_t ix[3] = {1, -2, 2}; /* -2 is row 1 again */
    af_params p = P();
    p.scatter.reduction = AF_SCATTER_ADD;
    af_tview in[3] = {TV(AF_DTYPE_F32, d, 3, 2), TV(AF_DTYPE_I64, ix, 3, 1),
                      TV(AF_DTYPE_F32, u, 3, 2)};
    af_tview out = TV(AF_DTYPE_F32, y, 3, 2);
    CHECK(run_node(AF_OP_SCATTER_ND, &p, in, 3, &out, 1) == AF_OK && y[0] == 1 && y[1] == 2 &&
              y[2] == 3 + 10 + 30 && y[3] == 4 + 20 + 40 && y[4] == 5 + 50 && y[5] == 6 + 60,
          "add: %g %g %g %g", y[2], y[3], y[4], y[5]);
    p.scatter.reduction = AF_SCATTER_MIN;
    float u2[6] = {0, 9, 7, 1, 9, 9};
    in[2] = TV(AF_DTYPE_F32, u2, 3, 2);
    CHECK(run_node(AF_OP_SCATTER_ND, &p, in, 3, &out, 1) == AF_OK && y[2] == 0 && y[3] == 1 &&
              y[4] == 5 && y[5] == 6, "min: %g %g %g %g", y[2], y[3], y[4], y[5]);
    /* full-index tuples (q = rank) into i32 data, i32 indices, mul */
    int32_t di[4] = {1, 2, 3, 4}, ui[2] = {5, 7}, yi[4], ti[4] = {1, 1, 1, 1};
    p.scatter.reduction = AF_SCATTER_MUL;
    af_tview in2[3] = {TV(AF_DTYPE_I32, di, 2, 2), TV(AF_DTYPE_I32, ti, 2, 2),
                       TV(AF_DTYPE_I32, ui, 2)};
    out = TV(AF_DTYPE_I32, yi, 2, 2);
    CHECK(run_node(AF_OP_SCATTER_ND, &p, in2, 3, &out, 1) == AF_OK && yi[3] == 4 * 5 * 7 &&
              yi[0] == 1, "mul i32: %d", yi[3]);
    ix[1] = 3; /* out of range: an error, not a write */
    out = TV(AF_DTYPE_F32, y, 3, 2);
    CHECK(run_node(AF_OP_SCATTER_ND, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "index 3 accepted");
}

static void test_scatter_elements(void)
{
    /* (2,3) axis 1, duplicates under max, a negative index */
    float d[6] = {0, 0, 0, 0, 0, 0}, u[4] = {4, -1, 2, 8}, y[6];
    int64_t ix[4] = {2, -1, 0, 0};
    af_params p = P();
    p.scatter = (af_scatter_params){.axis = 1, .reduction = AF_SCATTER_MAX};
    af_tview in[3] = {TV(AF_DTYPE_F32, d, 2, 3), TV(AF_DTYPE_I64, ix, 2, 2),
                      TV(AF_DTYPE_F32, u, 2, 2)};
    af_tview out = TV(AF_DTYPE_F32, y, 2, 3);
    CHECK(run_node(AF_OP_SCATTER_ELEMENTS, &p, in, 3, &out, 1) == AF_OK && y[2] == 4 &&
              y[0] == 0 && y[1] == 0 && y[3] == 8 && y[4] == 0 && y[5] == 0,
          "max: %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5]);
    ix[0] = -4;
    CHECK(run_node(AF_OP_SCATTER_ELEMENTS, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "-4 accepted");
}

static void test_gather_nd(void)
{
    /* data (2,3,2), batch_dims 1, indices (2,2,1): per batch, rows by index (one negative) */
    float d[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, y[8];
    int64_t ix[4] = {2, 0, -1, 1};
    af_params p = P();
    p.scatter.axis = 1;
    af_tview in[2] = {TV(AF_DTYPE_F32, d, 2, 3, 2), TV(AF_DTYPE_I64, ix, 2, 2, 1)};
    af_tview out = TV(AF_DTYPE_F32, y, 2, 2, 2);
    float want[8] = {4, 5, 0, 1, 10, 11, 8, 9};
    CHECK(run_node(AF_OP_GATHER_ND, &p, in, 2, &out, 1) == AF_OK && !memcmp(y, want, sizeof y),
          "batch_dims 1: %g %g %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]);
    /* batch_dims 2, scalar elements: indices (2,3,1) -> (2,3) */
    int64_t i2[6] = {1, 0, 1, 0, -1, -2};
    float y2[6], w2[6] = {1, 2, 5, 6, 9, 10};
    p.scatter.axis = 2;
    in[1] = TV(AF_DTYPE_I64, i2, 2, 3, 1);
    out = TV(AF_DTYPE_F32, y2, 2, 3);
    CHECK(run_node(AF_OP_GATHER_ND, &p, in, 2, &out, 1) == AF_OK && !memcmp(y2, w2, sizeof y2),
          "batch_dims 2: %g %g %g %g %g %g", y2[0], y2[1], y2[2], y2[3], y2[4], y2[5]);
    i2[5] = 2;
    CHECK(run_node(AF_OP_GATHER_ND, &p, in, 2, &out, 1) == AF_ERR_SHAPE, "index 2 accepted");
    /* batch dims that differ between data and indices */
    p.scatter.axis = 1;
    in[1] = TV(AF_DTYPE_I64, ix, 1, 4, 1);
    out = TV(AF_DTYPE_F32, y, 1, 4, 2);
    CHECK(check_node(AF_OP_GATHER_ND, &p, in, 2, &out, 1) == AF_ERR_SHAPE, "batch mismatch");
}

static void test_one_hot(void)
{
    /* indices (3) with a negative and an out-of-range one, axis 0: (depth 3, 3) */
    int64_t ix[3] = {-1, 0, 3};
    float vals[2] = {-1, 5}, y[9];
    af_params p = P();
    p.one_hot = (af_one_hot_params){.axis = 0, .depth = 3};
    af_tview in[2] = {TV(AF_DTYPE_I64, ix, 3), TV(AF_DTYPE_F32, vals, 2)};
    af_tview out = TV(AF_DTYPE_F32, y, 3, 3);
    float want[9] = {-1, 5, -1, -1, -1, -1, 5, -1, -1};
    CHECK(run_node(AF_OP_ONE_HOT, &p, in, 2, &out, 1) == AF_OK && !memcmp(y, want, sizeof y),
          "axis 0: %g %g %g / %g %g %g / %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5], y[6],
          y[7], y[8]);
    /* float indices: -2.0 wraps, 0.5 is never hot */
    float fx[2] = {-2, 0.5f}, fy[6];
    p.one_hot.axis = 1;
    in[0] = TV(AF_DTYPE_F32, fx, 2);
    out = TV(AF_DTYPE_F32, fy, 2, 3);
    float fw[6] = {-1, 5, -1, -1, -1, -1};
    CHECK(run_node(AF_OP_ONE_HOT, &p, in, 2, &out, 1) == AF_OK && !memcmp(fy, fw, sizeof fy),
          "float indices");
}

static void test_reverse_sequence(void)
{
    /* x (T=3, B=2), time_axis 0: batch 0 reverses 3 steps, batch 1 two */
    float x[6] = {0, 10, 1, 11, 2, 12}, y[6], want[6] = {2, 11, 1, 10, 0, 12};
    int64_t lens[2] = {3, 2};
    af_params p = P();
    p.reverse_seq = (af_reverse_seq_params){.batch_axis = 1, .time_axis = 0};
    af_tview in[2] = {TV(AF_DTYPE_F32, x, 3, 2), TV(AF_DTYPE_I64, lens, 2)};
    af_tview out = TV(AF_DTYPE_F32, y, 3, 2);
    CHECK(run_node(AF_OP_REVERSE_SEQUENCE, &p, in, 2, &out, 1) == AF_OK &&
              !memcmp(y, want, sizeof y), "time major: %g %g %g %g %g %g", y[0], y[1], y[2],
          y[3], y[4], y[5]);
    lens[1] = 4;
    CHECK(run_node(AF_OP_REVERSE_SEQUENCE, &p, in, 2, &out, 1) == AF_ERR_SHAPE, "len 4 > T");
}

static void test_max_unpool(void)
{
    /* X (1,1,1,2) from a 2x2/2 pool of a (2,4) map, output_shape (1,1,3,5): padded at the end */
    float x[2] = {7, 9}, y[15];
    int64_t ix[2] = {4, 3}; /* (1,0) and (0,3) of the unpooled 2x4 */
    af_params p = P();
    p.unpool = (af_unpool_params){.nsp = 2, .kernel = {2, 2}, .stride = {2, 2}};
    af_tview in[2] = {TV(AF_DTYPE_F32, x, 1, 1, 1, 2), TV(AF_DTYPE_I64, ix, 1, 1, 1, 2)};
    af_tview out = TV(AF_DTYPE_F32, y, 1, 1, 3, 5);
    float want[15] = {0, 0, 0, 9, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(run_node(AF_OP_MAX_UNPOOL, &p, in, 2, &out, 1) == AF_OK && !memcmp(y, want, sizeof y),
          "unpool padded");
    ix[1] = 8; /* beyond the unpooled 2x4 */
    CHECK(run_node(AF_OP_MAX_UNPOOL, &p, in, 2, &out, 1) == AF_ERR_SHAPE, "index 8 accepted");
    out = TV(AF_DTYPE_F32, y, 1, 1, 1, 4); /* smaller than the unpooled size */
    CHECK(check_node(AF_OP_MAX_UNPOOL, &p, in, 2, &out, 1) == AF_ERR_SHAPE, "small output");
}

/* NonZero and Compress write a compact result into a view holding a capacity and shrink it;
 * a view smaller than the result is an error, never an overflow. */
static void test_nonzero_compress(void)
{
    float x[6] = {0, 2, -0.0f, 0, 5, 1}; /* (2,3): non-zero at (0,1), (1,1), (1,2) */
    int64_t y[12];
    af_params p = P();
    af_tview in = TV(AF_DTYPE_F32, x, 2, 3), out = TV(AF_DTYPE_I64, y, 2, 6);
    int64_t want[6] = {0, 1, 1, 1, 1, 2}, zeros[6] = {0};
    memset(y, 0x5a, sizeof y);
    CHECK(run_node(AF_OP_NONZERO, &p, &in, 1, &out, 1) == AF_OK && out.dims[1] == 3 &&
              !memcmp(y, want, sizeof want) && !memcmp(y + 6, zeros, sizeof zeros),
          "nonzero: %lld columns (unused capacity zeroed)", (long long)out.dims[1]);
    out = TV(AF_DTYPE_I64, y, 2, 2);
    CHECK(run_node(AF_OP_NONZERO, &p, &in, 1, &out, 1) == AF_ERR_SHAPE, "nonzero overflow");
    /* Compress axis 1 with a condition shorter than the axis */
    uint8_t c[2] = {0, 1};
    float z[6];
    p.compress = (af_compress_params){.axis = 1, .flatten = 0};
    af_tview cin[2] = {TV(AF_DTYPE_F32, x, 2, 3), TV(AF_DTYPE_BOOL, c, 2)};
    out = TV(AF_DTYPE_F32, z, 2, 2);
    CHECK(run_node(AF_OP_COMPRESS, &p, cin, 2, &out, 1) == AF_OK && out.dims[1] == 1 &&
              z[0] == 2 && z[1] == 5, "compress axis 1: %lld", (long long)out.dims[1]);
    /* flattened, every element kept, into a view of 2: an error */
    uint8_t all[6] = {1, 1, 1, 1, 1, 1};
    p.compress.flatten = 1;
    cin[1] = TV(AF_DTYPE_BOOL, all, 6);
    out = TV(AF_DTYPE_F32, z, 2);
    CHECK(run_node(AF_OP_COMPRESS, &p, cin, 2, &out, 1) == AF_ERR_SHAPE, "compress overflow");
}

/* Range with a data-dependent limit: runtime/dynshape.c sets the length from this run's
 * limit (ceil, none below 0, at most the capacity), then the kernel fills it. */
static void test_range(void)
{
    af_params p = P();
    af_err err = {0};
    int64_t start = 1, delta = 2, limit = 6, y[4];
    uint8_t in_dyn[3] = {0}, dyn = 1;
    af_tview in[3] = {TV(AF_DTYPE_I64, &start), TV(AF_DTYPE_I64, &limit),
                      TV(AF_DTYPE_I64, &delta)};
    af_tview out = TV(AF_DTYPE_I64, y, 4); /* capacity 4 */
    memset(y, 0x5a, sizeof y);
    CHECK(af_dyn_out_shapes(AF_OP_RANGE, &p, in, 3, in_dyn, &out, 1, &dyn, &err) == AF_OK &&
              out.dims[0] == 3, "range length %lld, want 3", (long long)out.dims[0]);
    CHECK(check_node(AF_OP_RANGE, &p, in, 3, &out, 1) == AF_OK &&
              run_node(AF_OP_RANGE, &p, in, 3, &out, 1) == AF_OK && y[0] == 1 && y[1] == 3 &&
              y[2] == 5, "range values %lld %lld %lld", (long long)y[0], (long long)y[1],
          (long long)y[2]);
    limit = -3; /* below start: empty */
    out = TV(AF_DTYPE_I64, y, 4);
    CHECK(af_dyn_out_shapes(AF_OP_RANGE, &p, in, 3, in_dyn, &out, 1, &dyn, &err) == AF_OK &&
              out.dims[0] == 0, "empty range: %lld", (long long)out.dims[0]);
    limit = 10; /* 5 values for a capacity of 4: a clear error, nothing written */
    out = TV(AF_DTYPE_I64, y, 4);
    CHECK(af_dyn_out_shapes(AF_OP_RANGE, &p, in, 3, in_dyn, &out, 1, &dyn, &err) ==
                  AF_ERR_SHAPE && strstr(err.msg, "extent 5 this run, capacity 4"),
          "range above capacity: %s", err.msg);
    delta = 0;
    err = (af_err){0}; /* the first error set is kept */
    out = TV(AF_DTYPE_I64, y, 4);
    CHECK(af_dyn_out_shapes(AF_OP_RANGE, &p, in, 3, in_dyn, &out, 1, &dyn, &err) ==
                  AF_ERR_SHAPE && strstr(err.msg, "range: bad"), "range delta 0: %s", err.msg);
    float fs = 0.5f, fl = 2.0f, fd = 0.5f, fy[4];
    af_tview fin[3] = {TV(AF_DTYPE_F32, &fs), TV(AF_DTYPE_F32, &fl), TV(AF_DTYPE_F32, &fd)};
    out = TV(AF_DTYPE_F32, fy, 4);
    CHECK(af_dyn_out_shapes(AF_OP_RANGE, &p, fin, 3, in_dyn, &out, 1, &dyn, &err) == AF_OK &&
              out.dims[0] == 3 && run_node(AF_OP_RANGE, &p, fin, 3, &out, 1) == AF_OK &&
              fy[0] == 0.5f && fy[1] == 1.0f && fy[2] == 1.5f, "float range");
    CHECK(check_node(AF_OP_RANGE, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "range dtype mismatch");
}

int main(void)
{
    test_range();
    test_nonzero_compress();
    test_topk();
    test_scatter_nd();
    test_scatter_elements();
    test_gather_nd();
    test_one_hot();
    test_reverse_sequence();
    test_max_unpool();
    return check_report("test_kernels_indexing");
}
