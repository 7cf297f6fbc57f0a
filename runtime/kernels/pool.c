/* runtime/kernels/pool.c — POOL (max / average, 1-3 spatial dims, pads, dilations,
 * count_include_pad, ceil_mode output sizes) and GLOBAL_POOL. Max pooling also runs on u8 and
 * i8 and may produce ONNX MaxPool's Indices (i64 flat positions in the row-major X; the
 * importer handles storage_order 1 by transposing around the node).
 *
 * Average divisor (as ONNX Runtime): with count_include_pad, the window positions that lie in
 * the padded extent [-pad_begin, in + pad_end); otherwise the positions inside the input. A
 * ceil_mode window that runs past the padded extent is clipped, not counted.
 *
 * The 2-D interior rows and the global pools take AVX-512F (pool_fast.c) or NEON (pool_neon.c)
 * loops where the CPU has them; both give these loops' bits except the global average's sum
 * (doubles in another order).
 */
#include "internal.h"
#include "neon.h"
#include "pool_fast.h"

#include <math.h>

typedef struct pool_geom {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t isp, osp;
} pool_geom;

static void geom_init(pool_geom *g, const af_pool_params *pp, const af_tview *x,
                      const af_tview *y)
{
    int off = 3 - pp->nsp;
    g->isp = g->osp = 1;
    for (int i = 0; i < 3; i++) {
        int j = i - off;
        g->in[i] = j >= 0 ? x->dims[2 + j] : 1;
        g->out[i] = j >= 0 ? y->dims[2 + j] : 1;
        g->k[i] = j >= 0 ? pp->kernel[j] : 1;
        g->s[i] = j >= 0 ? pp->stride[j] : 1;
        g->d[i] = j >= 0 ? pp->dilation[j] : 1;
        g->pb[i] = j >= 0 ? pp->pad_begin[j] : 0;
        g->pe[i] = j >= 0 ? pp->pad_end[j] : 0;
        g->isp *= g->in[i];
        g->osp *= g->out[i];
    }
}

/* Output size along one axis for floor or ceil mode (ceil: the last window must start inside
 * the input or the begin pad). */
static int64_t out_size(const pool_geom *g, int i, int ceil_mode)
{
    int64_t span = g->d[i] * (g->k[i] - 1) + 1, room = g->in[i] + g->pb[i] + g->pe[i] - span;
    if (room < 0) return 0;
    if (!ceil_mode) return room / g->s[i] + 1;
    int64_t o = (room + g->s[i] - 1) / g->s[i] + 1;
    if ((o - 1) * g->s[i] >= g->in[i] + g->pb[i]) o--;
    return o;
}

/* X f32 (max also u8, i8), Y of X's dtype; max pooling's optional Indices i64 of Y's shape. */
static af_status check_dtypes(const af_pool_params *pp, const af_tview *in, const af_tview *out,
                              int n_out, af_err *err)
{
    af_dtype dt = in[0].dtype;
    int ok = dt == AF_DTYPE_F32 || (pp->kind == AF_POOL_MAX && (dt == AF_DTYPE_U8 ||
                                                                dt == AF_DTYPE_I8));
    if (!ok)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "pool: X is %s, %s", af_dtype_name(dt),
                          pp->kind == AF_POOL_MAX ? "only f32, u8 and i8 are supported"
                                                  : "only f32 is supported");
    af_status st = afk_need_dtype("pool", "Y", &out[0], dt, err);
    if (st || n_out < 2) return st;
    if (pp->kind != AF_POOL_MAX)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "pool: only max pooling has Indices");
    st = afk_need_dtype("pool", "Indices", &out[1], AF_DTYPE_I64, err);
    if (!st && !afk_same_shape(&out[0], &out[1]))
        return af_err_set(err, AF_ERR_SHAPE, "pool: Indices must have the shape of Y");
    return st;
}

af_status afk_pool_check(AFK_CHECK_ARGS)
{
    (void)n_in;
    const af_pool_params *pp = &p->pool;
    if (pp->kind != AF_POOL_MAX && pp->kind != AF_POOL_AVG)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "pool: unknown kind %d", pp->kind);
    if (pp->nsp < 1 || pp->nsp > AF_MAX_SPATIAL)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "pool: %d spatial dims", pp->nsp);
    af_status st = check_dtypes(pp, in, out, n_out, err);
    if (st) return st;
    if (in[0].rank != pp->nsp + 2 || out[0].rank != pp->nsp + 2 ||
        in[0].dims[0] != out[0].dims[0] || in[0].dims[1] != out[0].dims[1])
        return af_err_set(err, AF_ERR_SHAPE, "pool: X and Y must be (N,C,...) of rank %d",
                          pp->nsp + 2);
    for (int j = 0; j < pp->nsp; j++)
        if (pp->kernel[j] < 1 || pp->stride[j] < 1 || pp->dilation[j] < 1 ||
            pp->pad_begin[j] < 0 || pp->pad_end[j] < 0)
            return af_err_set(err, AF_ERR_UNSUPPORTED,
                              "pool: bad kernel/stride/dilation/pad on spatial axis %d", j);
    pool_geom g;
    geom_init(&g, pp, &in[0], &out[0]);
    for (int i = 0; i < 3; i++) {
        int64_t want = out_size(&g, i, pp->ceil_mode);
        if (g.out[i] != want && !(pp->ceil_mode && g.out[i] == out_size(&g, i, 0)))
            return af_err_set(err, AF_ERR_SHAPE, "pool: output spatial size %lld, expected %lld",
                              (long long)g.out[i], (long long)want);
    }
    return AF_OK;
}

/* One output value of one channel x (D, H, W) at output position (od, oh, ow). */
static float pool_one(const pool_geom *g, const af_pool_params *pp, const float *x, int64_t od,
                      int64_t oh, int64_t ow)
{
    int64_t o[3] = {od, oh, ow};
    int64_t lo[3], cnt_pad = 1;
    for (int i = 0; i < 3; i++) {
        lo[i] = o[i] * g->s[i] - g->pb[i];
        int64_t n = 0; /* window positions inside the padded extent */
        for (int64_t k = 0; k < g->k[i]; k++) {
            int64_t q = lo[i] + k * g->d[i];
            n += q >= -g->pb[i] && q < g->in[i] + g->pe[i];
        }
        cnt_pad *= n;
    }
    float best = -INFINITY, sum = 0.0f;
    int64_t cnt = 0;
    for (int64_t kd = 0; kd < g->k[0]; kd++) {
        int64_t id = lo[0] + kd * g->d[0];
        if (id < 0 || id >= g->in[0]) continue;
        for (int64_t kh = 0; kh < g->k[1]; kh++) {
            int64_t ih = lo[1] + kh * g->d[1];
            if (ih < 0 || ih >= g->in[1]) continue;
            const float *row = x + (id * g->in[1] + ih) * g->in[2];
            for (int64_t kw = 0; kw < g->k[2]; kw++) {
                int64_t iw = lo[2] + kw * g->d[2];
                if (iw < 0 || iw >= g->in[2]) continue;
                float v = row[iw];
                best = v > best ? v : best;
                sum += v;
                cnt++;
            }
        }
    }
    if (pp->kind == AF_POOL_MAX) return best;
    int64_t div = pp->count_include_pad ? cnt_pad : cnt;
    return div > 0 ? sum / (float)div : 0.0f;
}

enum { WHOLE_OW = 1024 }; /* widest output rows pool_fast.c averages (counts on the stack) */

typedef struct pool_job {
    pool_geom g;
    const af_pool_params *pp;
    const float *X;
    float *Y;
    int64_t nc, cpt; /* channels (N*C) and channels per task */
    int plane;        /* plane_ok: pool_fast.c may take it */
    const void *tab;  /* afk_pool_plane_tab's tables (NULL: none) */
    const float *cnt; /* plane, average: window columns counted per output column */
} pool_job;

/* Channels per task: enough for POOL_OUTPUTS outputs (a rule on the shape), so small maps do
 * not cost more in claiming tasks than in pooling. */
enum { POOL_OUTPUTS = 4096 };
static int64_t pool_cpt(int64_t osp)
{
    int64_t c = POOL_OUTPUTS / (osp > 0 ? osp : 1);
    return c < 1 ? 1 : c > 64 ? 64 : c;
}

#ifdef AFK_NEON
enum { MAX_KH = 32 }; /* window rows the NEON row loops take */

/* The window rows of output row oh inside the map (rows, in kh order; their count returned),
 * and how many lie in the padded extent (*npad). */
static int window_rows(const pool_geom *g, const float *x, int64_t oh, const float **rows,
                       int64_t *npad)
{
    int nr = 0;
    *npad = 0;
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
        *npad += ih >= -g->pb[1] && ih < g->in[1] + g->pe[1];
        if (ih >= 0 && ih < g->in[1]) rows[nr++] = x + ih * g->in[2];
    }
    return nr;
}
#endif

/* Max pooling's interior columns [lo, hi) of output row oh on NEON (same bits); 0: not taken. */
static int max_row_fast(const pool_geom *g, const float *x, int64_t oh, int64_t lo, int64_t hi,
                        float *y)
{
#ifdef AFK_NEON
    const float *rows[MAX_KH];
    int64_t npad;
    if (g->k[1] > MAX_KH || lo >= hi || !afk_neon_on()) return 0;
    int nr = window_rows(g, x, oh, rows, &npad);
    afk_neon_pool_row(0, rows, nr, lo, hi, g->s[2], g->d[2], g->k[2], g->pb[2], g->in[2], 0, y);
    return 1;
#else
    (void)g, (void)x, (void)oh, (void)lo, (void)hi, (void)y;
    return 0;
#endif
}

/* Average pooling's interior columns [lo, hi) of output row oh on NEON (same bits); 0: not
 * taken. */
static int avg_row_fast(const pool_geom *g, const af_pool_params *pp, const float *x, int64_t oh,
                        int64_t lo, int64_t hi, float *y)
{
#ifdef AFK_NEON
    const float *rows[MAX_KH];
    int64_t npad;
    if (g->k[1] > MAX_KH || lo >= hi || !afk_neon_on()) return 0;
    int nr = window_rows(g, x, oh, rows, &npad);
    afk_neon_pool_row(1, rows, nr, lo, hi, g->s[2], g->d[2], g->k[2], g->pb[2], g->in[2],
                      (pp->count_include_pad ? npad : nr) * g->k[2], y);
    return 1;
#else
    (void)g, (void)pp, (void)x, (void)oh, (void)lo, (void)hi, (void)y;
    return 0;
#endif
}

/* The channel plane's geometry for pool_fast.c. */
static afk_pool2d plane_geom(const pool_geom *g, const af_pool_params *pp)
{
    afk_pool2d p = {.avg = pp->kind == AF_POOL_AVG, .count_pad = pp->count_include_pad,
                    .H = g->in[1], .W = g->in[2], .OH = g->out[1], .OW = g->out[2]};
    for (int i = 0; i < 2; i++)
        p.k[i] = g->k[1 + i], p.s[i] = g->s[1 + i], p.d[i] = g->d[1 + i], p.pb[i] = g->pb[1 + i],
        p.pe[i] = g->pe[1 + i];
    return p;
}

/* 2-D max pooling, one channel, where pool_fast.c does not run: columns whose window lies
 * inside the row skip the bounds checks; the others take pool_one. Same comparisons in the same
 * order, so the same bits. */
static void max_pool_2d(const pool_geom *g, const af_pool_params *pp, const float *x, float *y)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2], W = g->in[2];
    int64_t lo = (g->pb[2] + s - 1) / s, last = W - 1 - d * (KW - 1) + g->pb[2];
    int64_t hi = last < 0 ? 0 : last / s + 1;
    if (hi > g->out[2]) hi = g->out[2];
    if (lo > hi) lo = hi;
    for (int64_t oh = 0; oh < g->out[1]; oh++, y += g->out[2]) {
        if (max_row_fast(g, x, oh, lo, hi, y)) {
            for (int64_t ow = 0; ow < lo; ow++) y[ow] = pool_one(g, pp, x, 0, oh, ow);
            for (int64_t ow = hi; ow < g->out[2]; ow++) y[ow] = pool_one(g, pp, x, 0, oh, ow);
            continue;
        }
        for (int64_t ow = 0; ow < g->out[2]; ow++) {
            if (ow < lo || ow >= hi) {
                y[ow] = pool_one(g, pp, x, 0, oh, ow);
                continue;
            }
            float best = -INFINITY;
            for (int64_t kh = 0; kh < g->k[1]; kh++) {
                int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                if (ih < 0 || ih >= g->in[1]) continue;
                const float *row = x + ih * W + ow * s - g->pb[2];
                for (int64_t kw = 0; kw < KW; kw++) {
                    float v = row[kw * d];
                    best = v > best ? v : best;
                }
            }
            y[ow] = best;
        }
    }
}

/* Output columns ow in [*a, *b) whose input column ow*s + off lies in [0, W). */
static void cols_inside(int64_t off, int64_t s, int64_t W, int64_t OW, int64_t *a, int64_t *b)
{
    *a = off >= 0 ? 0 : (-off + s - 1) / s;
    *b = W - 1 - off < 0 ? 0 : (W - 1 - off) / s + 1;
    if (*b > OW) *b = OW;
    if (*a > *b) *a = *b;
}

/* The divisor of output column ow given its window rows (nr inside the map, npad inside the
 * padded extent): pool_one's count, the window's columns counted the same way. */
static int64_t avg_div(const pool_geom *g, const af_pool_params *pp, int64_t ow, int64_t nr,
                       int64_t npad)
{
    int64_t in = 0, pad = 0;
    for (int64_t kw = 0; kw < g->k[2]; kw++) {
        int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];
        in += iw >= 0 && iw < g->in[2];
        pad += iw >= -g->pb[2] && iw < g->in[2] + g->pe[2];
    }
    return pp->count_include_pad ? npad * pad : nr * in;
}

/* 2-D average pooling, one channel: a whole output row at a time, y as the accumulator, one
 * window row and tap (kh, kw) after another over the columns whose input lies in the map (so
 * the loop over columns vectorises, edges included); each output still adds its values in
 * pool_one's order (kh, then kw, from 0, skipping what lies outside) and divides by the same
 * count, so the bits match. */
static void avg_pool_2d(const pool_geom *g, const af_pool_params *pp, const float *x, float *y)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2], W = g->in[2], OW = g->out[2];
    int64_t lo = (g->pb[2] + s - 1) / s, last = W - 1 - d * (KW - 1) + g->pb[2];
    int64_t hi = last < 0 ? 0 : last / s + 1;
    if (hi > OW) hi = OW;
    if (lo > hi) lo = hi;
    for (int64_t oh = 0; oh < g->out[1]; oh++, y += OW) {
        if (avg_row_fast(g, pp, x, oh, lo, hi, y)) {
            for (int64_t ow = 0; ow < lo; ow++) y[ow] = pool_one(g, pp, x, 0, oh, ow);
            for (int64_t ow = hi; ow < OW; ow++) y[ow] = pool_one(g, pp, x, 0, oh, ow);
            continue;
        }
        int64_t nr = 0, npad = 0; /* window rows inside the map / the padded extent */
        for (int64_t ow = 0; ow < OW; ow++) y[ow] = 0.0f;
        for (int64_t kh = 0; kh < g->k[1]; kh++) {
            int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
            npad += ih >= -g->pb[1] && ih < g->in[1] + g->pe[1];
            if (ih < 0 || ih >= g->in[1]) continue;
            nr++;
            const float *row = x + ih * W;
            for (int64_t kw = 0; kw < KW; kw++) {
                int64_t off = kw * d - g->pb[2], a, b; /* column ow reads row[ow*s + off] */
                cols_inside(off, s, W, OW, &a, &b);
                for (int64_t ow = a; ow < b; ow++) y[ow] += row[ow * s + off];
            }
        }
        int64_t div = (pp->count_include_pad ? npad : nr) * KW; /* the interior columns' */
        if (div <= 0 || hi <= lo || !afk_div_row_fast(y + lo, hi - lo, (float)div))
            for (int64_t ow = lo; ow < hi; ow++) y[ow] = div > 0 ? y[ow] / (float)div : 0.0f;
        for (int64_t ow = 0; ow < OW; ow++) {
            if (ow >= lo && ow < hi) continue;
            int64_t e = avg_div(g, pp, ow, nr, npad);
            y[ow] = e > 0 ? y[ow] / (float)e : 0.0f;
        }
    }
}

// one channel: X (D,H,W) -> Y (D',H',W')
static void pool_channel(const pool_job *j, int64_t c)
{
    const float *x = j->X + c * j->g.isp;
    float *y = j->Y + c * j->g.osp;
    int flat = j->g.k[0] == 1 && j->g.in[0] == 1 && j->g.out[0] == 1; /* 2-D */
    if (j->pp->kind == AF_POOL_MAX && flat) {
        max_pool_2d(&j->g, j->pp, x, y);
        return;
    }
    if (j->pp->kind == AF_POOL_AVG && flat) {
        avg_pool_2d(&j->g, j->pp, x, y);
        return;
    }
    for (int64_t od = 0; od < j->g.out[0]; od++)
        for (int64_t oh = 0; oh < j->g.out[1]; oh++)
            for (int64_t ow = 0; ow < j->g.out[2]; ow++)
                *y++ = pool_one(&j->g, j->pp, x, od, oh, ow);
}

/* Channels [c0, c1) of a 2-D pooling by pool_fast.c (same bits); 0: not taken. The average's
 * divisor of output (oh, ow) is (window rows counted) x (window columns counted), each as
 * pool_one counts them: cnt[ow] is the second, pool_one's count for one row. */
static int plane_channels(const pool_job *j, int64_t c0, int64_t c1)
{
    const pool_geom *g = &j->g;
    if (!j->plane) return 0;
    const afk_pool2d p2 = plane_geom(g, j->pp);
    return afk_pool_plane_fast(&p2, j->tab, j->X + c0 * g->isp, c1 - c0, g->isp, g->osp, j->cnt,
                               j->Y + c0 * g->osp);
}

/* pool_cpt(osp) channels per task: each output value is computed alone, so any thread count
 * agrees. */
static void pool_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const pool_job *j = arg;
    int64_t c0 = t * j->cpt, c1 = c0 + j->cpt < j->nc ? c0 + j->cpt : j->nc;
    if (plane_channels(j, c0, c1)) return;
    for (int64_t c = c0; c < c1; c++) pool_channel(j, c);
}

/* ---- max pooling with Indices, or on u8 / i8 ---- */

typedef struct argmax_job {
    pool_geom g;
    af_dtype dt;
    const void *X;
    void *Y;
    int64_t *I; /* NULL: no Indices output */
} argmax_job;

/* Max of one window of channel c and its flat index in X (N,C,D,H,W row-major, the first
 * maximum on ties, NaN skipped as in the f32 path; -1 when the window holds no input position or
 * only NaN). */
static double window_max(const argmax_job *j, int64_t c, const int64_t o[3], int64_t *at)
{
    const pool_geom *g = &j->g;
    double best = -INFINITY;
    *at = -1;
    for (int64_t kd = 0; kd < g->k[0]; kd++) {
        int64_t id = o[0] * g->s[0] - g->pb[0] + kd * g->d[0];
        if (id < 0 || id >= g->in[0]) continue;
        for (int64_t kh = 0; kh < g->k[1]; kh++) {
            int64_t ih = o[1] * g->s[1] - g->pb[1] + kh * g->d[1];
            if (ih < 0 || ih >= g->in[1]) continue;
            for (int64_t kw = 0; kw < g->k[2]; kw++) {
                int64_t iw = o[2] * g->s[2] - g->pb[2] + kw * g->d[2];
                if (iw < 0 || iw >= g->in[2]) continue;
                int64_t i = c * g->isp + (id * g->in[1] + ih) * g->in[2] + iw;
                double v = af_dtype_get(j->dt, j->X, (size_t)i);
                if (v > best || (*at < 0 && v == best)) best = v, *at = i; /* NaN skipped */
            }
        }
    }
    return best;
}

// one channel: X (D,H,W) -> Y (D',H',W') of X's dtype, Indices (D',H',W') i64
static void argmax_task(void *arg, int64_t c, int tid)
{
    (void)tid;
    const argmax_job *j = arg;
    int64_t o[3], y = c * j->g.osp, at;
    for (o[0] = 0; o[0] < j->g.out[0]; o[0]++)
        for (o[1] = 0; o[1] < j->g.out[1]; o[1]++)
            for (o[2] = 0; o[2] < j->g.out[2]; o[2]++, y++) {
                double v = window_max(j, c, o, &at);
                af_dtype_set(j->dt, j->Y, (size_t)y, at < 0 && j->dt != AF_DTYPE_F32 ? 0.0 : v);
                if (j->I) j->I[y] = at;
            }
}

/* u8 / i8 max pooling over at most 2 spatial axes without dilation: pool_q8.c (0: not taken). */
static int q8_pool(const af_params *p, const af_tview *x, af_tview *y, const af_kctx *ctx)
{
    pool_geom g;
    geom_init(&g, &p->pool, x, y);
    if (p->pool.kind != AF_POOL_MAX || g.in[0] != 1 || g.out[0] != 1 || g.k[0] != 1 ||
        g.d[1] != 1 || g.d[2] != 1)
        return 0;
    return afk_maxpool_q8(x->data, y->data, x->dtype == AF_DTYPE_I8, x->dims[0] * x->dims[1],
                          g.in + 1, g.out + 1, g.k + 1, g.s + 1, g.pb + 1, ctx);
}

/* 2-D f32 pooling (an average's output rows up to WHOLE_OW): pool_fast.c's geometry. */
static int plane_ok(const pool_geom *g, const af_pool_params *pp)
{
    return g->k[0] == 1 && g->in[0] == 1 && g->out[0] == 1 &&
           (pp->kind != AF_POOL_AVG || g->out[2] <= WHOLE_OW);
}

/* Bytes of pool_fast.c's tables for this node (the kernel's scratch). */
size_t afk_pool_scratch(const af_params *p, const af_tview *in, const af_tview *out)
{
    pool_geom g;
    if (in[0].dtype != AF_DTYPE_F32 || in[0].rank < 3 || in[0].rank > 5 ||
        p->pool.nsp != in[0].rank - 2)
        return 0;
    geom_init(&g, &p->pool, &in[0], &out[0]);
    if (!plane_ok(&g, &p->pool)) return 0;
    const afk_pool2d p2 = plane_geom(&g, &p->pool);
    return afk_pool_plane_tab_bytes(&p2);
}

/* What every task of a 2-D pooling shares, made once: the average's column counts (into cnt,
 * WHOLE_OW floats) and pool_fast.c's tables (in ctx's scratch, when it holds them). */
static void plane_prep(pool_job *j, const af_kctx *ctx, float *cnt)
{
    const pool_geom *g = &j->g;
    if (!(j->plane = plane_ok(g, j->pp))) return;
    for (int64_t ow = 0; j->pp->kind == AF_POOL_AVG && ow < g->out[2]; ow++)
        cnt[ow] = (float)avg_div(g, j->pp, ow, 1, 1);
    j->cnt = cnt;
    const afk_pool2d p2 = plane_geom(g, j->pp);
    if (ctx->scratch && ctx->scratch_bytes >= afk_pool_plane_tab_bytes(&p2) &&
        afk_pool_plane_tab(&p2, cnt, ctx->scratch))
        j->tab = ctx->scratch;
}

// X (N,C,*) -> Y (N,C,*'), Indices? (N,C,*') (max pooling only)
af_status afk_pool_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)err;
    if (n_out == 1 && in[0].dtype != AF_DTYPE_F32 && q8_pool(p, &in[0], &out[0], ctx))
        return AF_OK;
    if (n_out > 1 || in[0].dtype != AF_DTYPE_F32) {
        argmax_job a = {.dt = in[0].dtype, .X = in[0].data, .Y = out[0].data,
                        .I = n_out > 1 ? out[1].data : NULL};
        geom_init(&a.g, &p->pool, &in[0], &out[0]);
        afk_parallel(ctx, in[0].dims[0] * in[0].dims[1], argmax_task, &a);
        return AF_OK;
    }
    pool_job j = {.pp = &p->pool, .X = in[0].data, .Y = out[0].data,
                  .nc = in[0].dims[0] * in[0].dims[1]};
    float cnt[WHOLE_OW];
    geom_init(&j.g, &p->pool, &in[0], &out[0]);
    j.cpt = pool_cpt(j.g.osp);
    plane_prep(&j, ctx, cnt);
    afk_parallel(ctx, (j.nc + j.cpt - 1) / j.cpt, pool_task, &j);
    return AF_OK;
}

af_status afk_global_pool_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    int kind = p->global_pool.kind;
    if (kind != AF_POOL_MAX && kind != AF_POOL_AVG)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "global_pool: unknown kind %d", kind);
    af_status st = afk_need_dtype("global_pool", "X", &in[0], AF_DTYPE_F32, err);
    if (!st) st = afk_need_dtype("global_pool", "Y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    int ok = in[0].rank >= 2 && out[0].rank == in[0].rank && out[0].dims[0] == in[0].dims[0] &&
             out[0].dims[1] == in[0].dims[1];
    for (int i = 2; ok && i < out[0].rank; i++) ok = out[0].dims[i] == 1;
    if (!ok) return af_err_set(err, AF_ERR_SHAPE, "global_pool: X (N,C,...) -> Y (N,C,1,...)");
    return AF_OK;
}

typedef struct gpool_job {
    int kind;
    int64_t NC, S;
    const float *X;
    float *Y;
} gpool_job;

enum { GPOOL_CHUNK = 16 }; /* channels per task: a rule of the shape only */

// channels [16t, 16t+16): X (S) -> Y (1) each
static void gpool_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const gpool_job *j = arg;
    int64_t c1 = (t + 1) * GPOOL_CHUNK < j->NC ? (t + 1) * GPOOL_CHUNK : j->NC, S = j->S;
    for (int64_t c = t * GPOOL_CHUNK; c < c1; c++) {
        const float *x = j->X + c * S;
#ifdef AFK_NEON
        if (afk_neon_on()) {
            j->Y[c] = j->kind == AF_POOL_MAX ? afk_neon_max_f32(x, S)
                    : S > 0 ? (float)(afk_neon_sum_f64(x, S) / (double)S) : 0.0f;
            continue;
        }
#endif
        if (j->kind == AF_POOL_MAX) {
            float best = -INFINITY;
            for (int64_t i = 0; i < S; i++) best = x[i] > best ? x[i] : best;
            j->Y[c] = best;
        } else {
            double sum = 0.0;
            if (!afk_sum_f64_fast(x, S, &sum))
                for (int64_t i = 0; i < S; i++) sum += x[i];
            j->Y[c] = S > 0 ? (float)(sum / (double)S) : 0.0f;
        }
    }
}

// X (N,C,*) -> Y (N,C,1,...)
af_status afk_global_pool_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    gpool_job j = {.kind = p->global_pool.kind, .NC = in[0].dims[0] * in[0].dims[1],
                   .S = afk_prod(&in[0], 2, in[0].rank), .X = in[0].data, .Y = out[0].data};
    afk_parallel(ctx, (j.NC + GPOOL_CHUNK - 1) / GPOOL_CHUNK, gpool_task, &j);
    return AF_OK;
}
