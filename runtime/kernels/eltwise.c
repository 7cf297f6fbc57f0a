/* runtime/kernels/eltwise.c — UNARY (every af_unary_fn) and BINARY (every af_binary_fn, numpy
 * broadcasting over up to AF_MAX_RANK dims).
 *
 * f32 ⊕ f32 → f32 runs a typed row loop over coalesced broadcast strides (same-shape, scalar
 * and per-channel operands all become stride-1/stride-0 rows). Everything else (integers,
 * comparisons, logic, mixed Pow) takes a per-element path through int64 or double.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#include "../fp16_round.h"

/* ---- unary ------------------------------------------------------------------------------ */

static float sigmoidf(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

float afk_unary_f32(const af_unary_params *u, float x)
{
    float a = u->alpha, b = u->beta;
    switch ((af_unary_fn)u->fn) {
    case AF_UNARY_IDENTITY: return x;
    case AF_UNARY_RELU: return x < 0 ? 0.0f : x;
    case AF_UNARY_LEAKY_RELU: return x < 0 ? a * x : x;
    case AF_UNARY_CLIP: return x < a ? a : (x > b ? b : x);
    case AF_UNARY_SIGMOID: return sigmoidf(x);
    case AF_UNARY_HARD_SIGMOID: return fmaxf(0.0f, fminf(1.0f, a * x + b));
    case AF_UNARY_HARD_SWISH: return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
    case AF_UNARY_TANH: return tanhf(x);
    case AF_UNARY_SQRT: return sqrtf(x);
    case AF_UNARY_EXP: return expf(x);
    case AF_UNARY_LOG: return logf(x);
    case AF_UNARY_ABS: return fabsf(x);
    case AF_UNARY_NEG: return -x;
    case AF_UNARY_ERF: return erff(x);
    case AF_UNARY_RECIPROCAL: return 1.0f / x;
    case AF_UNARY_FLOOR: return floorf(x);
    case AF_UNARY_CEIL: return ceilf(x);
    case AF_UNARY_ELU: return x < 0 ? a * expm1f(x) : x;
    case AF_UNARY_SELU: return x <= 0 ? b * (a * expf(x) - a) : b * x;
    case AF_UNARY_CELU: return fmaxf(0.0f, x) + fminf(0.0f, a * expm1f(x / a));
    case AF_UNARY_SOFTPLUS: return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
    case AF_UNARY_SOFTSIGN: return x / (1.0f + fabsf(x));
    case AF_UNARY_SIN: return sinf(x);
    case AF_UNARY_COS: return cosf(x);
    case AF_UNARY_NOT: return x == 0.0f ? 1.0f : 0.0f;
    case AF_UNARY_SIGN: return x > 0 ? 1.0f : (x < 0 ? -1.0f : x);
    case AF_UNARY_ROUND: return rintf(x); /* default rounding mode: half to even */
    case AF_UNARY_GELU:
        if (a != 0.0f) {
            const float k = 0.7978845608028654f; /* sqrt(2/pi) */
            return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
        }
        return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case AF_UNARY_SILU: return x * sigmoidf(x);
    case AF_UNARY_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    /* losses, trigonometry and other elementwise ops */
    case AF_UNARY_TAN: return tanf(x);
    case AF_UNARY_ASIN: return asinf(x);
    case AF_UNARY_ACOS: return acosf(x);
    case AF_UNARY_ATAN: return atanf(x);
    case AF_UNARY_SINH: return sinhf(x);
    case AF_UNARY_COSH: return coshf(x);
    case AF_UNARY_ASINH: return asinhf(x);
    case AF_UNARY_ACOSH: return acoshf(x);
    case AF_UNARY_ATANH: return atanhf(x);
    case AF_UNARY_SHRINK: return x < -a ? x + b : (x > a ? x - b : 0.0f);
    case AF_UNARY_ISNAN: return isnan(x) ? 1.0f : 0.0f;
    case AF_UNARY_ISINF: return isinf(x) && ((x < 0 && a != 0.0f) || (x > 0 && b != 0.0f));
    /* half-precision graphs */
    case AF_UNARY_ROUND_F16: return af_f16_round(x);
    case AF_UNARY_ROUND_BF16: return af_bf16_to_f32(af_f32_to_bf16(x));
    default: return x;
    }
}

int afk_act_valid(const af_unary_params *u)
{
    return u->fn >= 0 && u->fn < AF_UNARY_COUNT && u->fn != AF_UNARY_NOT &&
           u->fn != AF_UNARY_ISNAN && u->fn != AF_UNARY_ISINF; /* → bool */
}

void afk_act_apply(const af_unary_params *u, float *x, int64_t n)
{
    switch (u->fn) {
    case AF_UNARY_IDENTITY: return;
    case AF_UNARY_RELU:
    case AF_UNARY_CLIP: /* vec.c: the same comparisons, vectorised */
        afk_vec_bias_act(x, n, 0.0f, afk_act_kind(u), u->alpha, u->beta);
        return;
    case AF_UNARY_SIGMOID:
    case AF_UNARY_SILU:
    case AF_UNARY_ERF:
    case AF_UNARY_GELU:
        if (afk_vec_sigmoid(u, x, n)) return;
        for (int64_t i = 0; i < n; i++) x[i] = afk_unary_f32(u, x[i]);
        return;
    case AF_UNARY_HARD_SIGMOID:
    case AF_UNARY_HARD_SWISH:
    case AF_UNARY_LEAKY_RELU:
        if (afk_vec_piecewise(u, x, n)) return;
        for (int64_t i = 0; i < n; i++) x[i] = afk_unary_f32(u, x[i]);
        return;
    case AF_UNARY_ROUND_F16: /* the vectorisable loop */
        af_f16_round_buf(x, (size_t)n);
        return;
    default:
        for (int64_t i = 0; i < n; i++) x[i] = afk_unary_f32(u, x[i]);
    }
}

static int64_t unary_i64(int fn, int64_t x)
{
    switch (fn) {
    case AF_UNARY_ABS: return x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
    case AF_UNARY_NEG: return (int64_t)(0 - (uint64_t)x);
    case AF_UNARY_SIGN: return (x > 0) - (x < 0);
    case AF_UNARY_RELU: return x < 0 ? 0 : x;
    default: return x; /* IDENTITY */
    }
}

static int unary_int_fn(int fn)
{
    return fn == AF_UNARY_IDENTITY || fn == AF_UNARY_ABS || fn == AF_UNARY_NEG ||
           fn == AF_UNARY_SIGN || fn == AF_UNARY_RELU || fn == AF_UNARY_CLIP;
}

af_status afk_unary_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_unary_params *u = &p->unary;
    if (u->fn < 0 || u->fn >= AF_UNARY_COUNT)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "unary: unknown function %d", u->fn);
    const char *nm = af_unary_names[u->fn];
    if (n_in > 1 && u->fn != AF_UNARY_CLIP)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "unary %s: %d inputs (resolved form has 1)",
                          nm, n_in);
    for (int i = 1; i < n_in; i++)
        if (!afk_omitted(&in[i]) && (in[i].dtype != AF_DTYPE_F32 || af_tview_numel(&in[i]) != 1))
            return af_err_set(err, AF_ERR_UNSUPPORTED, "unary clip: bound %d must be a f32 scalar",
                              i);
    if (!afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "unary %s: output shape differs from input", nm);
    af_dtype t = in[0].dtype;
    int ok;
    if (u->fn == AF_UNARY_NOT)
        ok = t == AF_DTYPE_BOOL && out[0].dtype == AF_DTYPE_BOOL;
    else if (u->fn == AF_UNARY_ISNAN || u->fn == AF_UNARY_ISINF) /* losses, trigonometry and other elementwise ops */
        ok = t == AF_DTYPE_F32 && out[0].dtype == AF_DTYPE_BOOL;
    else if (u->fn == AF_UNARY_IDENTITY)
        ok = out[0].dtype == t;
    else if (afk_is_int(t))
        ok = unary_int_fn(u->fn) && out[0].dtype == t;
    else
        ok = t == AF_DTYPE_F32 && out[0].dtype == AF_DTYPE_F32;
    if (!ok)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "unary %s: %s -> %s not supported", nm,
                          af_dtype_name(t), af_dtype_name(out[0].dtype));
    return AF_OK;
}

/* A float unary op over chunks of UN_CHUNK elements (a multiple of 16: every chunk but the
 * last runs whole vectors, the last ends where one pass would, so the bits do not depend on
 * the thread count). */
enum { UN_CHUNK = 16384 };
typedef struct un_job {
    const af_unary_params *u;
    const float *x;
    float *y;
    int64_t n;
} un_job;

static void un_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const un_job *j = arg;
    int64_t i0 = t * UN_CHUNK, m = j->n - i0 < UN_CHUNK ? j->n - i0 : UN_CHUNK;
    if (j->y != j->x) memmove(j->y + i0, j->x + i0, (size_t)m * sizeof(float));
    afk_act_apply(j->u, j->y + i0, m);
}

af_status afk_unary_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    af_unary_params u = p->unary;
    int64_t n = af_tview_numel(&in[0]);
    af_dtype t = in[0].dtype;
    if (u.fn == AF_UNARY_CLIP) { /* Clip as imported: optional min/max inputs */
        if (n_in > 1 && in[1].data && af_tview_numel(&in[1]) == 1) u.alpha = *(float *)in[1].data;
        if (n_in > 2 && in[2].data && af_tview_numel(&in[2]) == 1) u.beta = *(float *)in[2].data;
    }
    if (u.fn == AF_UNARY_IDENTITY) {
        if (out[0].data != in[0].data) memmove(out[0].data, in[0].data, (size_t)n * af_dtype_size(t));
    } else if (u.fn == AF_UNARY_NOT) {
        const uint8_t *x = in[0].data;
        uint8_t *y = out[0].data;
        for (int64_t i = 0; i < n; i++) y[i] = !x[i];
    } else if (u.fn == AF_UNARY_ISNAN || u.fn == AF_UNARY_ISINF) { /* losses, trigonometry and other elementwise ops */
        const float *x = in[0].data;
        uint8_t *y = out[0].data;
        for (int64_t i = 0; i < n; i++) y[i] = afk_unary_f32(&u, x[i]) != 0.0f;
    } else if (afk_is_int(t) && u.fn == AF_UNARY_CLIP) { /* bounds are exact in f32 for i8/u8 */
        for (int64_t i = 0; i < n; i++) {
            int64_t x = afk_get_i64(t, in[0].data, i);
            if (afk_int_to_f64(t, x) < u.alpha) x = (int64_t)u.alpha;
            if (afk_int_to_f64(t, x) > u.beta) x = (int64_t)u.beta;
            afk_set_i64(t, out[0].data, i, x);
        }
    } else if (afk_is_unsigned(t)) { /* |x| = relu(x) = x, sign is 0 or 1 */
        for (int64_t i = 0; i < n; i++) {
            int64_t x = afk_get_i64(t, in[0].data, i);
            int64_t y = u.fn == AF_UNARY_SIGN ? x != 0 : u.fn == AF_UNARY_NEG ? unary_i64(u.fn, x) : x;
            afk_set_i64(t, out[0].data, i, y);
        }
    } else if (afk_is_int(t)) {
        for (int64_t i = 0; i < n; i++)
            afk_set_i64(t, out[0].data, i, unary_i64(u.fn, afk_get_i64(t, in[0].data, i)));
    } else { /* in place or into y, chunks on the pool */
        un_job j = {&u, in[0].data, out[0].data, n};
        afk_parallel(ctx, (n + UN_CHUNK - 1) / UN_CHUNK, un_task, &j);
    }
    return AF_OK;
}

/* ---- geglu: x (..., 2h) -> y (..., h) = x[..., :h] * gelu(x[..., h:]) ---------------------- */

af_status afk_geglu_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    if (p->unary.fn != AF_UNARY_GELU)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "geglu: the gate must be gelu");
    const af_tview *x = &in[0], *y = &out[0];
    int ok = x->dtype == AF_DTYPE_F32 && y->dtype == AF_DTYPE_F32 && x->rank >= 1 &&
             x->rank == y->rank && x->dims[x->rank - 1] == 2 * y->dims[y->rank - 1];
    for (int d = 0; ok && d + 1 < x->rank; d++) ok = x->dims[d] == y->dims[d];
    if (!ok)
        return af_err_set(err, AF_ERR_SHAPE, "geglu: y must be f32 x with its last dim halved");
    return AF_OK;
}

typedef struct geglu_job {
    const float *x;
    float *y;
    int64_t h, rows, per; /* half width; rows in all; rows per task */
    const af_unary_params *u;
} geglu_job;

/* Rows [t*per, ...): the gate half copied out, gelu'd in place by the unary op's own kernel,
 * times the other half — the unfused Slice, Slice, Gelu and Mul's values (Mul commutes). */
static void geglu_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const geglu_job *j = arg;
    int64_t end = (t + 1) * j->per < j->rows ? (t + 1) * j->per : j->rows;
    for (int64_t r = t * j->per; r < end; r++) {
        const float *a = j->x + r * 2 * j->h;
        float *y = j->y + r * j->h;
        memcpy(y, a + j->h, sizeof(float) * (size_t)j->h);
        afk_act_apply(j->u, y, j->h);
        for (int64_t i = 0; i < j->h; i++) y[i] *= a[i];
    }
}

// x (..., 2h) -> y (..., h)
af_status afk_geglu_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    geglu_job j = {in[0].data, out[0].data, out[0].dims[out[0].rank - 1], 0, 1, &p->unary};
    j.rows = j.h ? af_tview_numel(&out[0]) / j.h : 0;
    j.per = j.h ? (8192 + j.h - 1) / j.h : 1; /* tasks of at least 8K outputs */
    if (j.rows) afk_parallel(ctx, (j.rows + j.per - 1) / j.per, geglu_task, &j);
    return AF_OK;
}

/* ---- binary: broadcasting ------------------------------------------------------------------ */

typedef struct bcast {
    int rank;
    int64_t dims[AF_MAX_RANK];
    int64_t sa[AF_MAX_RANK], sb[AF_MAX_RANK]; /* element strides, 0 on broadcast dims */
} bcast;

/* Output dims of numpy broadcasting a with b; 0 if incompatible. */
static int bcast_shape(const af_tview *a, const af_tview *b, int *rank, int64_t *dims)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        dims[i] = da == 1 ? db : da;
    }
    *rank = r;
    return 1;
}

static void operand_strides(const af_tview *v, const af_tview *out, int64_t *s)
{
    int64_t vs[AF_MAX_RANK];
    afk_strides(v, vs);
    int off = out->rank - v->rank;
    for (int i = 0; i < out->rank; i++) {
        int iv = i - off;
        s[i] = (iv >= 0 && v->dims[iv] != 1) ? vs[iv] : 0;
    }
}

/* Drops size-1 dims and merges neighbours that both operands walk contiguously. */
static void bcast_plan(const af_tview *a, const af_tview *b, const af_tview *out, bcast *bc)
{
    int64_t sa[AF_MAX_RANK], sb[AF_MAX_RANK];
    operand_strides(a, out, sa);
    operand_strides(b, out, sb);
    bc->rank = 0;
    for (int i = 0; i < out->rank; i++) {
        int64_t d = out->dims[i];
        if (d == 1) continue;
        int r = bc->rank;
        if (r > 0 && bc->sa[r - 1] == sa[i] * d && bc->sb[r - 1] == sb[i] * d) {
            bc->dims[r - 1] *= d;
            bc->sa[r - 1] = sa[i];
            bc->sb[r - 1] = sb[i];
            continue;
        }
        bc->dims[r] = d;
        bc->sa[r] = sa[i];
        bc->sb[r] = sb[i];
        bc->rank++;
    }
    if (bc->rank == 0) { /* a single element */
        bc->rank = 1;
        bc->dims[0] = 1;
        bc->sa[0] = bc->sb[0] = 0;
    }
}

typedef void (*row_fn)(int fn, const af_tview *a, int64_t ia, int64_t sa, const af_tview *b,
                       int64_t ib, int64_t sb, af_tview *o, int64_t io, int64_t n);

/* Calls row() for every innermost row of the broadcast iteration. */
static void bcast_walk(const bcast *bc, int fn, const af_tview *a, const af_tview *b,
                       af_tview *o, row_fn row)
{
    int r = bc->rank, last = r - 1;
    int64_t idx[AF_MAX_RANK] = {0};
    int64_t n = bc->dims[last], ia = 0, ib = 0, io = 0;
    int64_t rows = 1;
    for (int i = 0; i < last; i++) rows *= bc->dims[i];
    for (int64_t k = 0; k < rows; k++) {
        row(fn, a, ia, bc->sa[last], b, ib, bc->sb[last], o, io, n);
        io += n;
        for (int d = last - 1; d >= 0; d--) { /* odometer over the outer dims */
            ia += bc->sa[d];
            ib += bc->sb[d];
            if (++idx[d] < bc->dims[d]) break;
            ia -= bc->sa[d] * bc->dims[d];
            ib -= bc->sb[d] * bc->dims[d];
            idx[d] = 0;
        }
    }
}

/* ---- binary: f32 rows ---------------------------------------------------------------------- */

#define ROW_LOOP(expr)                                                         \
    do {                                                                       \
        if (sa == 1 && sb == 1) {                                              \
            for (int64_t i = 0; i < n; i++) { float x = A[i], y = B[i]; O[i] = (expr); } \
        } else if (sb == 0) {                                                  \
            float y = B[0];                                                    \
            for (int64_t i = 0; i < n; i++) { float x = A[i * sa]; O[i] = (expr); } \
        } else {                                                               \
            for (int64_t i = 0; i < n; i++) {                                  \
                float x = A[i * sa], y = B[i * sb];                            \
                O[i] = (expr);                                                 \
            }                                                                  \
        }                                                                      \
    } while (0)

static float mod_f32(float x, float y)
{
    float r = fmodf(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}

static void row_f32(int fn, const af_tview *a, int64_t ia, int64_t sa, const af_tview *b,
                    int64_t ib, int64_t sb, af_tview *o, int64_t io, int64_t n)
{
    const float *A = (const float *)a->data + ia, *B = (const float *)b->data + ib;
    float *O = (float *)o->data + io;
    if (sa == 1 && (sb == 1 || sb == 0) && afk_vec_binary_ok(fn)) {
        afk_vec_binary(fn, A, B, sb == 0, O, n);
        return;
    }
    if (sa == 0 && sb == 1 && afk_vec_binary_ok(fn)) {
        afk_vec_binary_sa(fn, A[0], B, O, n);
        return;
    }
    switch (fn) {
    case AF_BINARY_ADD: ROW_LOOP(x + y); break;
    case AF_BINARY_SUB: ROW_LOOP(x - y); break;
    case AF_BINARY_MUL: ROW_LOOP(x * y); break;
    case AF_BINARY_DIV: ROW_LOOP(x / y); break;
    case AF_BINARY_POW: ROW_LOOP(powf(x, y)); break;
    case AF_BINARY_MAX: ROW_LOOP(x > y ? x : y); break;
    case AF_BINARY_MIN: ROW_LOOP(x < y ? x : y); break;
    case AF_BINARY_PRELU: ROW_LOOP(x < 0 ? x * y : x); break;
    case AF_BINARY_MOD: ROW_LOOP(mod_f32(x, y)); break;
    case AF_BINARY_FMOD: ROW_LOOP(fmodf(x, y)); break;
    default: break;
    }
}

/* ---- binary: generic per-element rows -------------------------------------------------------- */

static int64_t div_i64(int64_t x, int64_t y)
{
    if (y == 0) return 0;                      /* undefined in ONNX; never trap */
    if (y == -1) return (int64_t)(0 - (uint64_t)x); /* avoids INT64_MIN / -1 */
    return x / y;
}

static int64_t mod_i64(int64_t x, int64_t y, int c_fmod)
{
    if (y == 0 || y == -1) return 0;
    int64_t r = x % y;
    if (!c_fmod && r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}

static int64_t pow_i64(int64_t x, int64_t y)
{
    if (y < 0) return x == 1 ? 1 : (x == -1 ? ((y & 1) ? -1 : 1) : 0);
    uint64_t r = 1, base = (uint64_t)x;
    for (; y; y >>= 1) {
        if (y & 1) r *= base;
        base *= base;
    }
    return (int64_t)r;
}

static int64_t arith_i64(int fn, int64_t x, int64_t y)
{
    switch (fn) {
    case AF_BINARY_ADD: return (int64_t)((uint64_t)x + (uint64_t)y);
    case AF_BINARY_SUB: return (int64_t)((uint64_t)x - (uint64_t)y);
    case AF_BINARY_MUL: return (int64_t)((uint64_t)x * (uint64_t)y);
    case AF_BINARY_DIV: return div_i64(x, y);
    case AF_BINARY_POW: return pow_i64(x, y);
    case AF_BINARY_MAX: return x > y ? x : y;
    case AF_BINARY_MIN: return x < y ? x : y;
    case AF_BINARY_MOD: return mod_i64(x, y, 0);
    case AF_BINARY_FMOD: return mod_i64(x, y, 1);
    /* unsigned shifts; a count outside [0, 64) shifts everything out */
    case AF_BINARY_SHIFT_LEFT: return y < 0 || y >= 64 ? 0 : (int64_t)((uint64_t)x << y);
    case AF_BINARY_SHIFT_RIGHT: return y < 0 || y >= 64 ? 0 : (int64_t)((uint64_t)x >> y);
    default: return 0;
    }
}

/* the ops whose result depends on signedness, for u64 bit patterns
 * (u8/u16/u32 values are non-negative in int64, where signed and unsigned agree). */
static int64_t arith_u64(int fn, uint64_t x, uint64_t y)
{
    switch (fn) {
    case AF_BINARY_DIV: return y ? (int64_t)(x / y) : 0; /* undefined in ONNX; never trap */
    case AF_BINARY_MAX: return (int64_t)(x > y ? x : y);
    case AF_BINARY_MIN: return (int64_t)(x < y ? x : y);
    case AF_BINARY_MOD:
    case AF_BINARY_FMOD: return y ? (int64_t)(x % y) : 0;
    default: return arith_i64(fn, (int64_t)x, (int64_t)y);
    }
}

static int is_compare(int fn) { return fn >= AF_BINARY_EQUAL && fn <= AF_BINARY_GREATER_EQUAL; }
static int is_logic(int fn) { return fn >= AF_BINARY_AND && fn <= AF_BINARY_XOR; }

static int compare(int fn, double x, double y)
{
    switch (fn) {
    case AF_BINARY_EQUAL: return x == y;
    case AF_BINARY_LESS: return x < y;
    case AF_BINARY_LESS_EQUAL: return x <= y;
    case AF_BINARY_GREATER: return x > y;
    default: return x >= y;
    }
}

static int compare_i64(int fn, int64_t x, int64_t y)
{
    switch (fn) {
    case AF_BINARY_EQUAL: return x == y;
    case AF_BINARY_LESS: return x < y;
    case AF_BINARY_LESS_EQUAL: return x <= y;
    case AF_BINARY_GREATER: return x > y;
    default: return x >= y;
    }
}

static int logic(int fn, int x, int y)
{
    return fn == AF_BINARY_AND ? (x && y) : fn == AF_BINARY_OR ? (x || y) : (x != y);
}

static void row_generic(int fn, const af_tview *a, int64_t ia, int64_t sa, const af_tview *b,
                        int64_t ib, int64_t sb, af_tview *o, int64_t io, int64_t n)
{
    int ints = !af_dtype_table[a->dtype].is_float && !af_dtype_table[b->dtype].is_float;
    for (int64_t i = 0; i < n; i++, ia += sa, ib += sb, io++) {
        if (ints) {
            int64_t x = afk_get_i64(a->dtype, a->data, ia), y = afk_get_i64(b->dtype, b->data, ib);
            int64_t r;
            if (is_compare(fn))
                r = compare_i64(fn, afk_int_key(a->dtype, x), afk_int_key(b->dtype, y));
            else if (is_logic(fn)) r = logic(fn, x != 0, y != 0);
            else if (a->dtype == AF_DTYPE_U64) r = arith_u64(fn, (uint64_t)x, (uint64_t)y);
            else r = arith_i64(fn, x, y);
            afk_set_i64(o->dtype, o->data, io, r);
        } else {
            double x = af_dtype_get(a->dtype, a->data, (size_t)ia);
            double y = af_dtype_get(b->dtype, b->data, (size_t)ib);
            if (is_compare(fn)) ((uint8_t *)o->data)[io] = (uint8_t)compare(fn, x, y);
            else if (is_logic(fn)) ((uint8_t *)o->data)[io] = (uint8_t)logic(fn, x != 0, y != 0);
            else af_dtype_set(o->dtype, o->data, (size_t)io, pow(x, y)); /* only Pow gets here */
        }
    }
}

/* ---- binary: check and run ---------------------------------------------------------------- */

static int binary_types_ok(int fn, af_dtype a, af_dtype b, af_dtype o)
{
    int ia = afk_is_int(a);
    if (is_compare(fn))
        return a == b && o == AF_DTYPE_BOOL;
    if (is_logic(fn))
        return a == b && (a == AF_DTYPE_BOOL || ia) && o == AF_DTYPE_BOOL;
    if (fn == AF_BINARY_POW && a == AF_DTYPE_F32 && o == AF_DTYPE_F32)
        return b == AF_DTYPE_F32 || afk_is_int(b);
    if (fn == AF_BINARY_POW && ia && o == a && b == AF_DTYPE_F32)
        return 1; /* integer base, float exponent: computed in double, result of the base type */
    if (fn == AF_BINARY_PRELU)
        return a == AF_DTYPE_F32 && b == a && o == a;
    if (fn == AF_BINARY_SHIFT_LEFT || fn == AF_BINARY_SHIFT_RIGHT) /* losses, trigonometry and other elementwise ops */
        return afk_is_unsigned(a) && b == a && o == a; /* u8..u64 */
    return a == b && o == a && (a == AF_DTYPE_F32 || ia);
}

af_status afk_binary_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    int fn = p->binary.fn;
    if (fn < 0 || fn >= AF_BINARY_COUNT)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "binary: unknown function %d", fn);
    const char *nm = af_binary_names[fn];
    if (!binary_types_ok(fn, in[0].dtype, in[1].dtype, out[0].dtype))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "binary %s: %s, %s -> %s not supported", nm,
                          af_dtype_name(in[0].dtype), af_dtype_name(in[1].dtype),
                          af_dtype_name(out[0].dtype));
    af_tview want = out[0];
    char sa[96], sb[96], so[96];
    if (!bcast_shape(&in[0], &in[1], &want.rank, want.dims) || !afk_same_shape(&want, &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "binary %s: %s and %s do not broadcast to %s", nm,
                          afk_shape_str(&in[0], sa, sizeof sa),
                          afk_shape_str(&in[1], sb, sizeof sb),
                          afk_shape_str(&out[0], so, sizeof so));
    return AF_OK;
}

/* ---- binary on the thread pool: fixed chunks of output elements ---- */

typedef struct bin_job {
    const bcast *bc;
    int fn;
    const af_tview *a, *b;
    af_tview *o;
    row_fn row;
    int64_t total;
} bin_job;

enum { BIN_CHUNK = 1 << 15 }; /* output elements per task: a rule of the shape only */

/* Output elements [t * BIN_CHUNK, +BIN_CHUNK) as row segments; row() works per element, so
 * the bits do not depend on where the segments are cut. */
static void bin_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const bin_job *j = arg;
    const bcast *bc = j->bc;
    int last = bc->rank - 1;
    int64_t n = bc->dims[last], e = t * BIN_CHUNK, e1 = e + BIN_CHUNK;
    if (e1 > j->total) e1 = j->total;
    while (e < e1) {
        int64_t k = e / n, off = e % n, len = n - off < e1 - e ? n - off : e1 - e;
        int64_t ia = off * bc->sa[last], ib = off * bc->sb[last];
        for (int d = last - 1; d >= 0; d--) { /* row k -> its index over the outer dims */
            int64_t i = k % bc->dims[d];
            k /= bc->dims[d];
            ia += i * bc->sa[d];
            ib += i * bc->sb[d];
        }
        j->row(j->fn, j->a, ia, bc->sa[last], j->b, ib, bc->sb[last], j->o, e, len);
        e += len;
    }
}

// a (broadcast) ⊕ b (broadcast) -> out (broadcast shape)
af_status afk_binary_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    int fn = p->binary.fn;
    if (af_tview_numel(&out[0]) == 0) return AF_OK;
    bcast bc;
    bcast_plan(&in[0], &in[1], &out[0], &bc);
    int f32 = in[0].dtype == AF_DTYPE_F32 && in[1].dtype == AF_DTYPE_F32 &&
              out[0].dtype == AF_DTYPE_F32;
    row_fn row = f32 ? row_f32 : row_generic;
    int64_t total = af_tview_numel(&out[0]);
    if (ctx && ctx->pool && total > BIN_CHUNK && bc.dims[bc.rank - 1] >= 16) {
        bin_job j = {&bc, fn, &in[0], &in[1], &out[0], row, total};
        afk_parallel(ctx, (total + BIN_CHUNK - 1) / BIN_CHUNK, bin_task, &j);
        return AF_OK;
    }
    bcast_walk(&bc, fn, &in[0], &in[1], &out[0], row);
    return AF_OK;
}
