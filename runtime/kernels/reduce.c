/* runtime/kernels/reduce.c — REDUCE: every af_reduce_fn over the axes in axes_mask, keepdims or
 * not; ArgMax/ArgMin over one axis → i64 (first or last index of the extreme).
 *
 * Resolved axes_mask == 0 means "all axes", unless noop_with_empty_axes (then a copy).
 * f32 sums accumulate in double; i32/i64 inputs support sum, prod, max, min (in int64). */
#include "internal.h"
#include "pool_fast.h"

#include <math.h>
#include <string.h>

static int is_arg(int fn) { return fn == AF_REDUCE_ARGMAX || fn == AF_REDUCE_ARGMIN; }

static uint32_t eff_mask(const af_reduce_params *rp, int rank)
{
    uint32_t all = rank >= 32 ? 0xffffffffu : ((1u << rank) - 1);
    if (rp->axes_mask == 0 && !rp->noop_with_empty_axes) return all;
    return rp->axes_mask;
}

static int popcount(uint32_t m)
{
    int n = 0;
    for (; m; m &= m - 1) n++;
    return n;
}

static af_status check_dtypes(const af_reduce_params *rp, af_dtype in, af_dtype out,
                              af_err *err)
{
    int fn = rp->fn, ok;
    if (is_arg(fn))
        ok = (in == AF_DTYPE_F32 || afk_is_int(in)) && out == AF_DTYPE_I64;
    else if (afk_is_int(in))
        ok = out == in && (fn == AF_REDUCE_SUM || fn == AF_REDUCE_PROD || fn == AF_REDUCE_MAX ||
                           fn == AF_REDUCE_MIN);
    else
        ok = in == AF_DTYPE_F32 && out == AF_DTYPE_F32;
    if (!ok)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "reduce %s: %s -> %s not supported",
                          af_reduce_names[fn], af_dtype_name(in), af_dtype_name(out));
    return AF_OK;
}

af_status afk_reduce_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_reduce_params *rp = &p->reduce;
    if (rp->fn < 0 || rp->fn >= AF_REDUCE_COUNT)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "reduce: unknown function %d", rp->fn);
    const char *nm = af_reduce_names[rp->fn];
    if (n_in != 1)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "reduce %s: %d inputs (resolved form has 1)",
                          nm, n_in);
    af_status st = check_dtypes(rp, in[0].dtype, out[0].dtype, err);
    if (st) return st;
    int r = in[0].rank;
    uint32_t m = eff_mask(rp, r);
    if (r < 32 && (m >> r))
        return af_err_set(err, AF_ERR_SHAPE, "reduce %s: axes mask 0x%x beyond rank %d", nm, m, r);
    /* an empty axis gives index 0 (ONNX leaves it undefined; a data-dependent extent makes
     * one: an unrolled loop's iteration past the run's count, whose results are dropped) */
    if (is_arg(rp->fn) && popcount(m) != 1)
        return af_err_set(err, AF_ERR_SHAPE, "reduce %s: needs exactly one axis", nm);
    af_tview want = {.rank = 0};
    for (int i = 0; i < r; i++) {
        if (!(m >> i & 1)) want.dims[want.rank++] = in[0].dims[i];
        else if (rp->keepdims) want.dims[want.rank++] = 1;
    }
    if (!afk_same_shape(&want, &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "reduce %s: output shape does not match", nm);
    return AF_OK;
}

/* One axis group (kept or reduced): dims and input strides, walked by an odometer. */
typedef struct walk {
    int n;
    int64_t dims[AF_MAX_RANK], strides[AF_MAX_RANK], idx[AF_MAX_RANK];
    int64_t off, count;
} walk;

static void walk_step(walk *w)
{
    for (int d = w->n - 1; d >= 0; d--) {
        w->off += w->strides[d];
        if (++w->idx[d] < w->dims[d]) return;
        w->off -= w->strides[d] * w->dims[d];
        w->idx[d] = 0;
    }
}

static float reduce_f32(int fn, const float *x, walk *rw)
{
    double acc = fn == AF_REDUCE_PROD ? 1.0 : 0.0;
    float ext = fn == AF_REDUCE_MAX ? -INFINITY : INFINITY, mx = -INFINITY;
    if (fn == AF_REDUCE_LOG_SUM_EXP) { /* pass 1: the max, for a stable log-sum-exp */
        for (int64_t k = 0; k < rw->count; k++, walk_step(rw))
            mx = x[rw->off] > mx ? x[rw->off] : mx;
        if (!isfinite(mx)) mx = 0.0f;
    }
    for (int64_t k = 0; k < rw->count; k++, walk_step(rw)) {
        float v = x[rw->off];
        switch (fn) {
        case AF_REDUCE_MAX: ext = v > ext ? v : ext; break;
        case AF_REDUCE_MIN: ext = v < ext ? v : ext; break;
        case AF_REDUCE_PROD: acc *= v; break;
        case AF_REDUCE_L1: acc += fabsf(v); break;
        case AF_REDUCE_L2:
        case AF_REDUCE_SUM_SQUARE: acc += (double)v * v; break;
        case AF_REDUCE_LOG_SUM_EXP: acc += exp((double)v - mx); break;
        default: acc += v; break; /* SUM, MEAN, LOG_SUM */
        }
    }
    switch (fn) {
    case AF_REDUCE_MAX:
    case AF_REDUCE_MIN: return ext;
    case AF_REDUCE_MEAN: return rw->count ? (float)(acc / (double)rw->count) : NAN;
    case AF_REDUCE_L2: return (float)sqrt(acc);
    case AF_REDUCE_LOG_SUM: return (float)log(acc);
    case AF_REDUCE_LOG_SUM_EXP: return (float)(log(acc) + mx);
    default: return (float)acc;
    }
}

static int64_t reduce_i64(int fn, af_dtype t, const void *x, walk *rw)
{
    int64_t acc = fn == AF_REDUCE_PROD ? 1 : fn == AF_REDUCE_MAX ? INT64_MIN
                : fn == AF_REDUCE_MIN ? INT64_MAX : 0;
    for (int64_t k = 0; k < rw->count; k++, walk_step(rw)) {
        int64_t v = afk_get_i64(t, x, rw->off);
        int64_t kv = afk_int_key(t, v); /* u64 order; acc is a key */
        switch (fn) {
        case AF_REDUCE_MAX: acc = kv > acc ? kv : acc; break;
        case AF_REDUCE_MIN: acc = kv < acc ? kv : acc; break;
        case AF_REDUCE_PROD: acc = (int64_t)((uint64_t)acc * (uint64_t)v); break;
        default: acc = (int64_t)((uint64_t)acc + (uint64_t)v); break;
        }
    }
    return fn == AF_REDUCE_MAX || fn == AF_REDUCE_MIN ? afk_int_key(t, acc) : acc;
}

static int64_t arg_extreme(int fn, int last, af_dtype t, const void *x, walk *rw)
{
    int64_t best_k = 0, ibest = 0;
    double best = 0;
    int ints = afk_is_int(t); /* integers compared exactly (u64 as keys) */
    for (int64_t k = 0; k < rw->count; k++, walk_step(rw)) {
        double v = ints ? 0 : af_dtype_get(t, x, (size_t)rw->off);
        int64_t iv = ints ? afk_int_key(t, afk_get_i64(t, x, rw->off)) : 0;
        int gt = ints ? iv > ibest : v > best, lt = ints ? iv < ibest : v < best;
        int eq = ints ? iv == ibest : v == best;
        int better = k == 0 || (fn == AF_REDUCE_ARGMAX ? (gt || (last && eq)) : (lt || (last && eq)));
        if (better) best = v, ibest = iv, best_k = k;
    }
    return best_k;
}

// x (d..) -> y (d.. with the masked axes reduced, kept as 1 if keepdims)
/* SUM / MEAN / L2 / SUM_SQUARE over the trailing axes (mask m: bits r-k..r-1, e.g. a CNN's
 * ReduceMean over H and W, Swin-V2's ReduceL2 over a head's 32 channels): each output sums one
 * contiguous block in double, 16 lanes at a time (pool_fast.c, as the global average pool; the
 * squares exact in double), blocks of rows threaded (each output alone: any thread count
 * agrees); 0 when m is not such a mask or that loop is not available (then the walk). */
typedef struct tsum_job {
    int fn;
    const float *x;
    float *y;
    int64_t block, outer, rows; /* rows: outputs per task */
} tsum_job;

static void tsum_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const tsum_job *j = arg;
    const int sq = j->fn == AF_REDUCE_L2 || j->fn == AF_REDUCE_SUM_SQUARE;
    for (int64_t o = t * j->rows; o < (t + 1) * j->rows && o < j->outer; o++) {
        double acc = 0.0;
        const float *xo = j->x + o * j->block;
        if (sq) afk_sumsq_f64_fast(xo, j->block, &acc);
        else afk_sum_f64_fast(xo, j->block, &acc);
        j->y[o] = j->fn == AF_REDUCE_MEAN ? (float)(acc / (double)j->block)
                  : j->fn == AF_REDUCE_L2 ? (float)sqrt(acc)
                                          : (float)acc;
    }
}

static int trailing_sums(int fn, const af_tview *x, uint32_t m, float *y, const af_kctx *ctx)
{
    int lo = __builtin_ctz(m);
    double probe;
    if ((m >> lo) != (1u << (x->rank - lo)) - 1 || !afk_sum_f64_fast(x->data, 0, &probe))
        return 0;
    tsum_job j = {fn, x->data, y, 1, 1, 1};
    for (int i = 0; i < x->rank; i++) *(i >= lo ? &j.block : &j.outer) *= x->dims[i];
    if (j.block <= 0) return 0;
    j.rows = (16384 + j.block - 1) / j.block; /* tasks of at least 16K values */
    afk_parallel(ctx, (j.outer + j.rows - 1) / j.rows, tsum_task, &j);
    return 1;
}

af_status afk_reduce_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    const af_reduce_params *rp = &p->reduce;
    const af_tview *x = &in[0];
    uint32_t m = eff_mask(rp, x->rank);
    if (m == 0) { /* noop_with_empty_axes */
        size_t bytes = (size_t)af_tview_numel(x) * af_dtype_size(x->dtype);
        if (bytes && out[0].data != x->data) memmove(out[0].data, x->data, bytes);
        return AF_OK;
    }
    if (x->dtype == AF_DTYPE_F32 &&
        (rp->fn == AF_REDUCE_SUM || rp->fn == AF_REDUCE_MEAN || rp->fn == AF_REDUCE_L2 ||
         rp->fn == AF_REDUCE_SUM_SQUARE) &&
        trailing_sums(rp->fn, x, m, out[0].data, ctx))
        return AF_OK;
    int64_t st[AF_MAX_RANK];
    afk_strides(x, st);
    walk kw = {.count = 1}, rw = {.count = 1};
    for (int i = 0; i < x->rank; i++) {
        walk *w = (m >> i & 1) ? &rw : &kw;
        w->dims[w->n] = x->dims[i];
        w->strides[w->n++] = st[i];
        w->count *= x->dims[i];
    }
    for (int64_t o = 0; o < kw.count; o++, walk_step(&kw)) {
        rw.off = kw.off; /* rw's odometer returns to all-zero after count steps */
        if (is_arg(rp->fn))
            ((int64_t *)out[0].data)[o] =
                arg_extreme(rp->fn, rp->select_last_index, x->dtype, x->data, &rw);
        else if (afk_is_int(x->dtype))
            afk_set_i64(x->dtype, out[0].data, o, reduce_i64(rp->fn, x->dtype, x->data, &rw));
        else
            ((float *)out[0].data)[o] = reduce_f32(rp->fn, x->data, &rw);
    }
    return AF_OK;
}
