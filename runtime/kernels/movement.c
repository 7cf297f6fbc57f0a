/* runtime/kernels/movement.c — data movement on any dtype, by element size: IDENTITY and
 * RESHAPE (a copy), TRANSPOSE, CONCAT, SPLIT, SLICE, GATHER, PAD; and CAST between all dtypes. */
#include "internal.h"

#include <math.h>
#include <string.h>

/* dst[i] = src[i], element size es (constant-size memcpy per element: compiles to a move). */
static void copy_elems(char *dst, const char *src, int64_t n, int64_t sstride, size_t es)
{
    if (sstride == 1) { /* a contiguous run (a slice of rows, a concat's part): one block copy */
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1: for (int64_t i = 0; i < n; i++) memcpy(dst + i, src + i * sstride, 1); break;
    case 2: for (int64_t i = 0; i < n; i++) memcpy(dst + 2 * i, src + 2 * i * sstride, 2); break;
    case 4: for (int64_t i = 0; i < n; i++) memcpy(dst + 4 * i, src + 4 * i * sstride, 4); break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(dst + es * (size_t)i, src + (int64_t)es * i * sstride, es);
    }
}

/* dst (contiguous, dims) = src walked with element strides ss (may be negative or 0). */
static void strided_copy(int rank, const int64_t *dims, const int64_t *ss, const char *src,
                         char *dst, size_t es)
{
    if (rank == 0) {
        memcpy(dst, src, es);
        return;
    }
    int last = rank - 1;
    int64_t rows = 1, n = dims[last], idx[AF_MAX_RANK] = {0}, off = 0;
    for (int i = 0; i < last; i++) rows *= dims[i];
    if (n == 0) return;
    for (int64_t r = 0; r < rows; r++, dst += (size_t)n * es) {
        copy_elems(dst, src + off * (int64_t)es, n, ss[last], es);
        for (int d = last - 1; d >= 0; d--) {
            off += ss[d];
            if (++idx[d] < dims[d]) break;
            off -= ss[d] * dims[d];
            idx[d] = 0;
        }
    }
}

/* ---- identity / reshape -------------------------------------------------------------------- */

af_status afk_copy_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    if (in[0].dtype != out[0].dtype || af_tview_numel(&in[0]) != af_tview_numel(&out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "copy: %s input of %lld elements -> %s output of %lld",
                          af_dtype_name(in[0].dtype), (long long)af_tview_numel(&in[0]),
                          af_dtype_name(out[0].dtype), (long long)af_tview_numel(&out[0]));
    return AF_OK;
}

// x -> y (same bytes, new shape)
af_status afk_copy_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    size_t bytes = (size_t)af_tview_numel(&in[0]) * af_dtype_size(in[0].dtype);
    if (bytes && out[0].data != in[0].data) memmove(out[0].data, in[0].data, bytes);
    return AF_OK;
}

/* ---- transpose ----------------------------------------------------------------------------- */

static void get_perm(const af_transpose_params *tp, int rank, int *perm)
{
    for (int i = 0; i < rank; i++) perm[i] = tp->n_perm ? tp->perm[i] : rank - 1 - i;
}

af_status afk_transpose_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    int r = in[0].rank, perm[AF_MAX_RANK], seen[AF_MAX_RANK] = {0};
    if (p->transpose.n_perm != 0 && p->transpose.n_perm != r)
        return af_err_set(err, AF_ERR_SHAPE, "transpose: perm has %d entries for rank %d",
                          p->transpose.n_perm, r);
    get_perm(&p->transpose, r, perm);
    int ok = out[0].rank == r && out[0].dtype == in[0].dtype;
    for (int i = 0; ok && i < r; i++) {
        ok = perm[i] >= 0 && perm[i] < r && !seen[perm[i]] && out[0].dims[i] == in[0].dims[perm[i]];
        if (ok) seen[perm[i]] = 1;
    }
    if (!ok) return af_err_set(err, AF_ERR_SHAPE, "transpose: bad perm or output shape");
    return AF_OK;
}

// x (d0..dr) -> y (d_perm[0]..d_perm[r])
af_status afk_transpose_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    int r = in[0].rank, perm[AF_MAX_RANK];
    int64_t is[AF_MAX_RANK], ss[AF_MAX_RANK];
    get_perm(&p->transpose, r, perm);
    afk_strides(&in[0], is);
    for (int i = 0; i < r; i++) ss[i] = is[perm[i]];
    if (af_tview_numel(&out[0]) == 0) return AF_OK;
    int64_t B, R, C;
    if (af_dtype_size(in[0].dtype) == 4 && afk_transpose_as_2d(r, in[0].dims, perm, &B, &R, &C)) {
        afk_transpose2d_u32(ctx, in[0].data, out[0].data, B, R, C); /* transpose2d.c */
        return AF_OK;
    }
    strided_copy(r, out[0].dims, ss, in[0].data, out[0].data, af_dtype_size(in[0].dtype));
    return AF_OK;
}

/* ---- concat / split ------------------------------------------------------------------------ */

/* The parts (n views) stacked along axis must make `whole`. */
static af_status check_parts(const char *op, int axis, const af_tview *whole, const af_tview *parts,
                             int n, af_err *err)
{
    if (axis < 0 || axis >= whole->rank)
        return af_err_set(err, AF_ERR_SHAPE, "%s: axis %d out of range for rank %d", op, axis,
                          whole->rank);
    int64_t sum = 0;
    for (int k = 0; k < n; k++) {
        const af_tview *v = &parts[k];
        if (v->dtype != whole->dtype || v->rank != whole->rank)
            return af_err_set(err, AF_ERR_SHAPE, "%s: part %d differs in dtype or rank", op, k);
        for (int i = 0; i < v->rank; i++)
            if (i != axis && v->dims[i] != whole->dims[i])
                return af_err_set(err, AF_ERR_SHAPE, "%s: part %d differs on axis %d", op, k, i);
        sum += v->dims[axis];
    }
    if (sum != whole->dims[axis])
        return af_err_set(err, AF_ERR_SHAPE, "%s: parts sum to %lld along axis %d, expected %lld",
                          op, (long long)sum, axis, (long long)whole->dims[axis]);
    return AF_OK;
}

af_status afk_concat_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    return check_parts("concat", p->axis.axis, &out[0], in, n_in, err);
}

af_status afk_split_check(AFK_CHECK_ARGS)
{
    if (n_in != 1)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "split: %d inputs (resolved form has 1)", n_in);
    return check_parts("split", p->axis.axis, &in[0], out, n_out, err);
}

/* Copies between whole (outer, dims[axis], inner) and its parts along axis. */
static void stack_parts(int axis, const af_tview *whole, const af_tview *parts, int n,
                        int to_whole)
{
    size_t es = af_dtype_size(whole->dtype);
    int64_t outer = afk_prod(whole, 0, axis), inner = afk_prod(whole, axis + 1, whole->rank);
    size_t wrow = (size_t)(whole->dims[axis] * inner) * es;
    size_t at = 0; /* byte offset of the current part inside one whole row */
    for (int k = 0; k < n; k++) {
        size_t prow = (size_t)(parts[k].dims[axis] * inner) * es;
        for (int64_t o = 0; o < outer && prow; o++) {
            char *w = (char *)whole->data + (size_t)o * wrow + at;
            char *q = (char *)parts[k].data + (size_t)o * prow;
            if (w == q) continue; /* planned in place (lowering/memplan.h): already there */
            if (to_whole) memcpy(w, q, prow);
            else memcpy(q, w, prow);
        }
        at += prow;
    }
}

// x0 (.., a0, ..), x1 (.., a1, ..) ... -> y (.., sum a, ..)
af_status afk_concat_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)ctx;
    af_status st = afk_need_data("concat", in, n_in, err);
    if (st) return st;
    stack_parts(p->axis.axis, &out[0], in, n_in, 1);
    return AF_OK;
}

// x (.., sum a, ..) -> y0 (.., a0, ..), y1 ...
af_status afk_split_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)ctx;
    for (int k = 0; k < n_out; k++)
        if (!out[k].data && af_tview_numel(&out[k]))
            return af_err_set(err, AF_ERR_USAGE, "split: output %d has no data", k);
    stack_parts(p->axis.axis, &in[0], out, n_out, 0);
    return AF_OK;
}

/* ---- slice ----------------------------------------------------------------------------------- */

af_status afk_slice_check(AFK_CHECK_ARGS)
{
    (void)n_out, (void)n_in; /* bounds read on every run (runtime/dynshape.c) are in p */
    if (out[0].rank != in[0].rank || out[0].dtype != in[0].dtype)
        return af_err_set(err, AF_ERR_SHAPE, "slice: output rank or dtype differs from input");
    for (int i = 0; i < in[0].rank; i++) {
        int64_t s = p->slice.start[i], st = p->slice.step[i], n = in[0].dims[i];
        int64_t m = out[0].dims[i];
        if (st == 0 || st == INT64_MIN)
            return af_err_set(err, AF_ERR_SHAPE, "slice: bad step on axis %d", i);
        if (m == 0) continue;
        /* last = s + (m-1)*st, computed so that it cannot overflow for in-range s */
        int ok = s >= 0 && s < n && (m - 1) <= (st > 0 ? (n - 1 - s) / st : s / -st);
        if (!ok)
            return af_err_set(err, AF_ERR_SHAPE, "slice: axis %d: %lld elements from %lld step "
                              "%lld leave [0,%lld)", i, (long long)m, (long long)s,
                              (long long)st, (long long)n);
    }
    return AF_OK;
}

// x -> y[k] = x[start + k*step] per axis
af_status afk_slice_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    int r = in[0].rank;
    int64_t is[AF_MAX_RANK], ss[AF_MAX_RANK], base = 0;
    if (af_tview_numel(&out[0]) == 0) return AF_OK;
    afk_strides(&in[0], is);
    for (int i = 0; i < r; i++) {
        base += p->slice.start[i] * is[i];
        /* one output element: the step is never applied (and may be huge); for more, the
         * check bounded |step| by the axis length, so this cannot overflow */
        ss[i] = out[0].dims[i] > 1 ? p->slice.step[i] * is[i] : 0;
    }
    size_t es = af_dtype_size(in[0].dtype);
    strided_copy(r, out[0].dims, ss, (const char *)in[0].data + base * (int64_t)es,
                 out[0].data, es);
    return AF_OK;
}

/* ---- gather ---------------------------------------------------------------------------------- */

af_status afk_gather_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *d = &in[0], *ix = &in[1], *o = &out[0];
    int axis = p->axis.axis;
    if (ix->dtype != AF_DTYPE_I32 && ix->dtype != AF_DTYPE_I64)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "gather: indices are %s, need i32 or i64",
                          af_dtype_name(ix->dtype));
    if (axis < 0 || axis >= d->rank)
        return af_err_set(err, AF_ERR_SHAPE, "gather: axis %d out of range for rank %d", axis,
                          d->rank);
    int ok = o->dtype == d->dtype && o->rank == d->rank + ix->rank - 1;
    for (int i = 0; ok && i < o->rank; i++) {
        int64_t want = i < axis ? d->dims[i]
                     : i < axis + ix->rank ? ix->dims[i - axis]
                     : d->dims[i - ix->rank + 1];
        ok = o->dims[i] == want;
    }
    if (!ok) return af_err_set(err, AF_ERR_SHAPE, "gather: output shape or dtype does not match");
    return AF_OK;
}

// data (A.., n, B..) [indices (I..)] -> y (A.., I.., B..)
af_status afk_gather_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *d = &in[0], *ix = &in[1];
    int axis = p->axis.axis;
    size_t es = af_dtype_size(d->dtype);
    int64_t outer = afk_prod(d, 0, axis), n = d->dims[axis];
    int64_t inner = afk_prod(d, axis + 1, d->rank), ni = af_tview_numel(ix);
    size_t chunk = (size_t)inner * es;
    char *y = out[0].data;
    if (n == 0) { /* an empty axis gives zeros: only a data-dependent extent makes one (an
                   * unrolled loop's iteration past the run's count, its result dropped) */
        memset(y, 0, (size_t)af_tview_numel(&out[0]) * es);
        return AF_OK;
    }
    for (int64_t j = 0; j < ni; j++) { /* validate every index before writing */
        int64_t k = afk_get_i64(ix->dtype, ix->data, j);
        if (k < -n || k >= n)
            return af_err_set(err, AF_ERR_SHAPE, "gather: index %lld out of range [-%lld,%lld)",
                              (long long)k, (long long)n, (long long)n);
    }
    for (int64_t o = 0; o < outer; o++) {
        const char *src = (const char *)d->data + (size_t)(o * n) * chunk;
        for (int64_t j = 0; j < ni; j++, y += chunk) {
            int64_t k = afk_get_i64(ix->dtype, ix->data, j);
            if (k < 0) k += n;
            memcpy(y, src + (size_t)k * chunk, chunk);
        }
    }
    return AF_OK;
}

/* ---- pad ------------------------------------------------------------------------------------- */

/* Source coordinate of output coordinate o along an axis of size n, or -1 for the constant. */
static int64_t pad_map(int64_t o, int64_t begin, int64_t n, int mode)
{
    int64_t c = o - begin;
    if (c >= 0 && c < n) return c;
    switch (mode) {
    case AF_PAD_EDGE: return c < 0 ? 0 : n - 1;
    case AF_PAD_WRAP: c %= n; return c < 0 ? c + n : c;
    case AF_PAD_REFLECT: {
        if (n == 1) return 0;
        int64_t period = 2 * (n - 1);
        c %= period;
        if (c < 0) c += period;
        return c < n ? c : period - c;
    }
    default: return -1;
    }
}

af_status afk_pad_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_pad_params *pp = &p->pad;
    if (n_in != 1)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "pad: %d inputs (resolved form has 1)", n_in);
    if (pp->mode < AF_PAD_CONSTANT || pp->mode > AF_PAD_WRAP)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "pad: unknown mode %d", pp->mode);
    if (out[0].rank != in[0].rank || out[0].dtype != in[0].dtype)
        return af_err_set(err, AF_ERR_SHAPE, "pad: output rank or dtype differs from input");
    for (int i = 0; i < in[0].rank; i++) {
        int64_t n = in[0].dims[i], b = pp->begin[i], e = pp->end[i];
        if (b < -n || e < -n || b > INT64_MAX / 4 || e > INT64_MAX / 4 || out[0].dims[i] != n + b + e)
            return af_err_set(err, AF_ERR_SHAPE, "pad: axis %d: %lld + %lld + %lld != %lld", i,
                              (long long)b, (long long)n, (long long)e, (long long)out[0].dims[i]);
        if (n == 0 && out[0].dims[i] > 0 && pp->mode != AF_PAD_CONSTANT)
            return af_err_set(err, AF_ERR_SHAPE, "pad: cannot %s-pad an empty axis %d",
                              pp->mode == AF_PAD_EDGE ? "edge" : "reflect/wrap", i);
    }
    return AF_OK;
}

/* n elements of es bytes at dst = the fill value (memset when its bytes are all zero). */
static void pad_fill(char *dst, const char *fill, size_t es, int64_t n)
{
    int zero = 1;
    for (size_t k = 0; k < es; k++) zero &= fill[k] == 0;
    if (zero) {
        memset(dst, 0, (size_t)n * es);
        return;
    }
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, fill, es);
}

/* One output row along the last axis: OW elements from the source row src (W elements; NULL:
 * the whole row is the constant), begin b. Constant mode copies the overlap in one memcpy. */
static void pad_row(char *y, const char *src, int64_t OW, int64_t W, int64_t b, int mode,
                    const char *fill, size_t es)
{
    if (!src) {
        pad_fill(y, fill, es, OW);
        return;
    }
    if (mode != AF_PAD_CONSTANT) {
        for (int64_t o = 0; o < OW; o++)
            memcpy(y + (size_t)o * es, src + (size_t)pad_map(o, b, W, mode) * es, es);
        return;
    }
    int64_t lo = b > 0 ? b : 0, hi = b + W < OW ? b + W : OW; /* output columns from src */
    if (hi <= lo) {
        pad_fill(y, fill, es, OW);
        return;
    }
    pad_fill(y, fill, es, lo);
    memcpy(y + (size_t)lo * es, src + (size_t)(lo - b) * es, (size_t)(hi - lo) * es);
    pad_fill(y + (size_t)hi * es, fill, es, OW - hi);
}

// x (d..) -> y (begin + d + end ..), a row of the last axis at a time
af_status afk_pad_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_pad_params *pp = &p->pad;
    const af_tview *x = &in[0];
    int r = out[0].rank;
    size_t es = af_dtype_size(x->dtype);
    char fill[8] = {0};
    af_dtype_set(x->dtype, fill, 0, pp->value);
    int64_t total = af_tview_numel(&out[0]), is[AF_MAX_RANK], idx[AF_MAX_RANK] = {0};
    if (r == 0) {
        if (total) memcpy(out[0].data, x->data, es);
        return AF_OK;
    }
    int64_t OW = out[0].dims[r - 1], W = x->dims[r - 1];
    if (total == 0 || OW == 0) return AF_OK;
    afk_strides(x, is);
    char *y = out[0].data;
    for (int64_t row = 0; row < total / OW; row++, y += (size_t)OW * es) {
        int64_t off = 0;
        for (int i = 0; i < r - 1 && off >= 0; i++) {
            int64_t c = pad_map(idx[i], pp->begin[i], x->dims[i], pp->mode);
            off = c < 0 ? -1 : off + c * is[i];
        }
        const char *src = off < 0 ? NULL : (const char *)x->data + (size_t)off * es;
        pad_row(y, src, OW, W, pp->begin[r - 1], pp->mode, fill, es);
        for (int d = r - 2; d >= 0; d--) {
            if (++idx[d] < out[0].dims[d]) break;
            idx[d] = 0;
        }
    }
    return AF_OK;
}

/* ---- cast ------------------------------------------------------------------------------------ */

af_status afk_cast_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    if (p->cast.to != (int32_t)out[0].dtype)
        return af_err_set(err, AF_ERR_SHAPE, "cast: to=%d but output is %s", p->cast.to,
                          af_dtype_name(out[0].dtype));
    if (!afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "cast: output shape differs from input");
    return AF_OK;
}

/* float → integer (16/32/64-bit integer types): truncation toward zero. ONNX leaves out-of-range
 * values undefined; this follows ONNX Runtime on x86-64, checked against it for every integer
 * type (tests/unit/test_cast_int.c): the conversion goes through a 32-bit (types up to 32 bits)
 * or 64-bit truncating convert whose out-of-range result (and NaN's) is the type's minimum,
 * then wraps to the target width; u32/u64 at or above 2^31/2^63 convert v - 2^31/2^63 and set
 * the top bit. Never UB: every C conversion below is in range. */
static int64_t cvtt32(double v)
{
    return v != v || v <= -2147483649.0 || v >= 2147483648.0 ? INT32_MIN : (int64_t)v;
}

static int64_t cvtt64(double v)
{
    return v != v || v < -9223372036854775808.0 || v >= 9223372036854775808.0 ? INT64_MIN
                                                                                : (int64_t)v;
}

static int64_t float_to_int(double v, af_dtype to)
{
    switch (to) {
    case AF_DTYPE_I64: return cvtt64(v);
    case AF_DTYPE_U64:
        if (!(v >= 9223372036854775808.0)) return cvtt64(v); /* NaN too */
        return (int64_t)((uint64_t)cvtt64(v - 9223372036854775808.0) ^ 0x8000000000000000u);
    case AF_DTYPE_U32:
        if (!(v >= 2147483648.0)) return cvtt32(v);
        return (int64_t)(((uint64_t)cvtt32(v - 2147483648.0) & 0xffffffffu) ^ 0x80000000u);
    default: return cvtt32(v); /* i8, u8, i16, u16, i32: wrapped by afk_set_i64 */
    }
}

// x (any dtype) -> y (to), same shape
af_status afk_cast_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    af_dtype from = in[0].dtype, to = out[0].dtype;
    int64_t n = af_tview_numel(&in[0]);
    const void *x = in[0].data;
    void *y = out[0].data;
    if (from == to) {
        if (n && x != y) memmove(y, x, (size_t)n * af_dtype_size(to));
        return AF_OK;
    }
    int ffrom = af_dtype_table[from].is_float, fto = af_dtype_table[to].is_float;
    for (int64_t i = 0; i < n; i++) {
        if (!ffrom) {
            int64_t v = afk_get_i64(from, x, i);
            if (fto) af_dtype_set(to, y, (size_t)i, afk_int_to_f64(from, v));
            else afk_set_i64(to, y, i, v);
        } else {
            double v = af_dtype_get(from, x, (size_t)i);
            if (fto) af_dtype_set(to, y, (size_t)i, v);
            else if (to == AF_DTYPE_BOOL) ((uint8_t *)y)[i] = v != 0;
            else afk_set_i64(to, y, i, float_to_int(v, to));
        }
    }
    return AF_OK;
}
