/* targets/fp16.c — fp16 divergence prediction.
 *
 * Runs the lowered fp32 program node by node with the runtime's kernels (one buffer per live
 * tensor, freed after its last reader) and looks at every float tensor it produces:
 *   overflow      some |x| > 65504, the largest fp16 value: becomes ±inf on the ANE;
 *   precision     more than 1% of the non-zero values lie below 6.1e-5, fp16's smallest normal
 *                 (a large dynamic range): they keep fewer than 10 significant bits or flush to 0;
 *   cancellation  a subtraction (sub, or add of opposite signs) where more than 1% of the results
 *                 satisfy |a − b| < 2⁻⁸·max(|a|,|b|): a and b are rounded to 11 significant bits,
 *                 so such a result keeps fewer than 3 correct bits (relative error > 12.5%).
 * Inputs and constants are checked for overflow too (a weight above 65504 cannot be stored).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../importers/npy/npy.h"
#include "../runtime/kernels/kernels.h"
#include "targets_internal.h"

#define FP16_MAX 65504.0
#define FP16_MIN_NORMAL 6.103515625e-05
#define SHARE_LIMIT 0.01          /* flag when more than 1% of the elements are concerned */
#define CANCEL_RATIO (1.0 / 256)  /* 2^-8: fewer than 3 of fp16's 11 bits survive */

const char *af_fp16_kind_name(af_fp16_kind k)
{
    static const char *const names[] = {"overflow", "precision", "cancellation"};
    return (unsigned)k < 3 ? names[k] : "?";
}

typedef struct tstats {
    double min, max, min_nz; /* min_nz: smallest non-zero |x| */
    int64_t n, nonzero, over, tiny;
} tstats;

static void stats_f32(const float *x, int64_t n, tstats *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->min = INFINITY;
    s->max = -INFINITY;
    s->min_nz = INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], a = fabs(v);
        if (v < s->min) s->min = v;
        if (v > s->max) s->max = v;
        if (a > FP16_MAX) s->over++;
        if (a > 0) {
            s->nonzero++;
            if (a < s->min_nz) s->min_nz = a;
            if (a < FP16_MIN_NORMAL) s->tiny++;
        }
    }
}

static af_status push_flag(af_fp16_report *r, const af_graph *g, int node, int tensor,
                           af_fp16_kind kind, const tstats *s, double fraction, af_err *err,
                           const char *fmt, ...) __attribute__((format(printf, 9, 10)));

static af_status push_flag(af_fp16_report *r, const af_graph *g, int node, int tensor,
                           af_fp16_kind kind, const tstats *s, double fraction, af_err *err,
                           const char *fmt, ...)
{
    if (r->n == r->cap) {
        int ncap = r->cap ? r->cap * 2 : 8;
        af_fp16_flag *f = realloc(r->flags, (size_t)ncap * sizeof *f);
        if (!f) return af_err_set(err, AF_ERR_NOMEM, "out of memory listing fp16 flags");
        r->flags = f;
        r->cap = ncap;
    }
    af_fp16_flag *f = &r->flags[r->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->tensor, sizeof f->tensor, "%s", g->tensors[tensor].name);
    if (node >= 0) {
        snprintf(f->node, sizeof f->node, "%s", g->nodes[node].name);
        snprintf(f->op, sizeof f->op, "%s", af_target_op_name(g->nodes[node].op, &g->nodes[node].p));
    } else {
        snprintf(f->op, sizeof f->op, "%s",
                 af_tensor_is_const(&g->tensors[tensor]) ? "constant" : "input");
    }
    f->kind = kind;
    f->min = s->min;
    f->max = s->max;
    f->fraction = fraction;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    return AF_OK;
}

/* Overflow and precision flags for one f32 tensor. */
static af_status flag_tensor(af_fp16_report *r, const af_graph *g, int node, int t,
                             const float *x, af_err *err)
{
    int64_t n = af_tensor_numel(&g->tensors[t]);
    if (n <= 0) return AF_OK;
    tstats s;
    stats_f32(x, n, &s);
    r->n_tensors++;
    double amax = fmax(fabs(s.min), fabs(s.max));
    if (s.over)
        if (push_flag(r, g, node, t, AF_FP16_OVERFLOW, &s, (double)s.over / (double)n, err,
                      "%lld of %lld values exceed fp16's largest 65504 (max |x| %.4g): they "
                      "become inf", (long long)s.over, (long long)n, amax) != AF_OK)
            return err->code;
    if (node >= 0 && s.nonzero && (double)s.tiny / (double)s.nonzero > SHARE_LIMIT)
        return push_flag(r, g, node, t, AF_FP16_PRECISION, &s,
                         (double)s.tiny / (double)s.nonzero, err,
                         "%.1f%% of non-zero values are below fp16's smallest normal 6.1e-05 "
                         "(|x| from %.3g to %.3g): they lose bits or flush to 0",
                         100.0 * (double)s.tiny / (double)s.nonzero, s.min_nz, amax);
    return AF_OK;
}

/* Element offsets of a broadcast input for output element i (numpy right-aligned rules). */
static int64_t bcast_offset(const af_tensor *in, const af_tensor *out, int64_t i)
{
    int64_t off = 0, stride = 1;
    for (int d = out->rank - 1, k = in->rank - 1; d >= 0; d--, k--) {
        int64_t idx = i % out->dims[d];
        i /= out->dims[d];
        if (k < 0) continue;
        if (in->dims[k] != 1) off += idx * stride;
        stride *= in->dims[k];
    }
    return off;
}

/* Cancellation in a sub (or an add of opposite signs). */
static af_status flag_cancellation(af_fp16_report *r, const af_graph *g, int node,
                                   void *const *buf, af_err *err)
{
    const af_node *nd = &g->nodes[node];
    if (nd->op != AF_OP_BINARY || (nd->p.binary.fn != AF_BINARY_SUB && nd->p.binary.fn != AF_BINARY_ADD))
        return AF_OK;
    const af_tensor *a = &g->tensors[nd->in[0]], *b = &g->tensors[nd->in[1]],
                    *o = &g->tensors[nd->out[0]];
    if (a->dtype != AF_DTYPE_F32 || b->dtype != AF_DTYPE_F32 || o->dtype != AF_DTYPE_F32) return AF_OK;
    const float *pa = buf[nd->in[0]], *pb = buf[nd->in[1]], *po = buf[nd->out[0]];
    int64_t n = af_tensor_numel(o), hit = 0, worst = -1;
    double worst_ratio = 1.0;
    for (int64_t i = 0; i < n; i++) {
        double x = pa[bcast_offset(a, o, i)], y = pb[bcast_offset(b, o, i)];
        double m = fmax(fabs(x), fabs(y)), res = fabs((double)po[i]);
        if (m < 1e-30 || x == (nd->p.binary.fn == AF_BINARY_SUB ? y : -y)) continue;
        if (res < CANCEL_RATIO * m) {
            hit++;
            if (res / m < worst_ratio) worst_ratio = res / m, worst = i;
        }
    }
    if (!n || (double)hit / (double)n <= SHARE_LIMIT) return AF_OK;
    tstats s;
    stats_f32(po, n, &s);
    return push_flag(r, g, node, nd->out[0], AF_FP16_CANCELLATION, &s, (double)hit / (double)n,
                     err,
                     "%.1f%% of results have |a-b| < 2^-8 max(|a|,|b|) (worst at %lld: ratio "
                     "%.2g): fewer than 3 correct bits in fp16",
                     100.0 * (double)hit / (double)n, (long long)worst, worst_ratio);
}

typedef struct exec_state {
    void **buf;      /* per tensor: data while live */
    uint8_t *owned;  /* per tensor: buf was allocated here */
    int *last_use;   /* per tensor: last reading node (n_nodes for graph outputs) */
    void *scratch;
    size_t scratch_bytes;
} exec_state;

static void exec_free(exec_state *e, const af_graph *g)
{
    for (int t = 0; e->buf && t < g->n_tensors; t++)
        if (e->owned[t]) free(e->buf[t]);
    free(e->buf);
    free(e->owned);
    free(e->last_use);
    free(e->scratch);
}

static af_status exec_init(exec_state *e, const af_graph *g, void *const *inputs, af_err *err)
{
    size_t nt = (size_t)(g->n_tensors ? g->n_tensors : 1);
    e->buf = calloc(nt, sizeof *e->buf);
    e->owned = calloc(nt, 1);
    e->last_use = calloc(nt, sizeof *e->last_use);
    if (!e->buf || !e->owned || !e->last_use) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int t = 0; t < g->n_tensors; t++) {
        e->buf[t] = g->tensors[t].data;
        e->last_use[t] = -1;
    }
    for (int i = 0; i < g->n_inputs; i++) e->buf[g->inputs[i]] = inputs[i];
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) e->last_use[g->nodes[i].in[k]] = i;
    for (int i = 0; i < g->n_outputs; i++) e->last_use[g->outputs[i]] = g->n_nodes;
    return AF_OK;
}

static af_tview view_of(const af_graph *g, const exec_state *e, int t)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    if (t < 0) return v;
    v.dtype = g->tensors[t].dtype;
    v.rank = g->tensors[t].rank;
    memcpy(v.dims, g->tensors[t].dims, sizeof v.dims);
    v.data = e->buf[t];
    return v;
}

/* Allocates the node's outputs and runs it. */
static af_status exec_node(exec_state *e, const af_graph *g, int i, af_err *err)
{
    const af_node *n = &g->nodes[i];
    af_tview v[64];
    if (n->n_in + n->n_out > 64)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "node '%s': too many inputs for fp16 prediction", n->name);
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        int64_t bytes = af_tensor_nbytes(&g->tensors[t]);
        if (bytes < 0) return af_err_set(err, AF_ERR_SHAPE, "tensor '%s': unknown size", g->tensors[t].name);
        if (!e->owned[t]) {
            e->buf[t] = malloc(bytes ? (size_t)bytes : 1);
            if (!e->buf[t]) return af_err_set(err, AF_ERR_NOMEM, "out of memory for '%s'", g->tensors[t].name);
            e->owned[t] = 1;
        }
    }
    for (int k = 0; k < n->n_in; k++) v[k] = view_of(g, e, n->in[k]);
    for (int k = 0; k < n->n_out; k++) v[n->n_in + k] = view_of(g, e, n->out[k]);
    if (af_kernel_check(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out, err) != AF_OK)
        return af_err_prefix(err, n->name);
    size_t need = af_kernel_scratch_bytes(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out);
    if (need > e->scratch_bytes) {
        free(e->scratch);
        e->scratch_bytes = (need + 63) & ~(size_t)63;
        e->scratch = aligned_alloc(64, e->scratch_bytes);
        if (!e->scratch) return af_err_set(err, AF_ERR_NOMEM, "out of memory for scratch");
    }
    af_kctx ctx = {.scratch = e->scratch, .scratch_bytes = e->scratch_bytes, .n_threads = 1};
    if (af_kernel_run(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out, &ctx, err) != AF_OK)
        return af_err_prefix(err, n->name);
    return AF_OK;
}

static void release_inputs(exec_state *e, const af_graph *g, int i)
{
    const af_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t >= 0 && e->owned[t] && e->last_use[t] == i) {
            free(e->buf[t]);
            e->buf[t] = NULL;
            e->owned[t] = 0;
        }
    }
}

static af_status flag_sources(af_fp16_report *r, const af_graph *g, void *const *inputs,
                              af_err *err)
{
    for (int t = 0; t < g->n_tensors; t++)
        if (af_tensor_is_const(&g->tensors[t]) && g->tensors[t].dtype == AF_DTYPE_F32 &&
            flag_tensor(r, g, -1, t, g->tensors[t].data, err) != AF_OK)
            return err->code;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->tensors[g->inputs[i]].dtype == AF_DTYPE_F32 &&
            flag_tensor(r, g, -1, g->inputs[i], inputs[i], err) != AF_OK)
            return err->code;
    return AF_OK;
}

af_status af_fp16_predict_graph(const af_graph *g, void *const *inputs, af_fp16_report *r,
                                af_err *err)
{
    exec_state e;
    memset(&e, 0, sizeof e);
    af_status st = exec_init(&e, g, inputs, err);
    if (st == AF_OK) st = flag_sources(r, g, inputs, err);
    for (int i = 0; st == AF_OK && i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        st = exec_node(&e, g, i, err);
        for (int k = 0; st == AF_OK && k < n->n_out; k++)
            if (g->tensors[n->out[k]].dtype == AF_DTYPE_F32)
                st = flag_tensor(r, g, i, n->out[k], e.buf[n->out[k]], err);
        if (st == AF_OK) st = flag_cancellation(r, g, i, e.buf, err);
        release_inputs(&e, g, i);
    }
    exec_free(&e, g);
    return st;
}

/* ---- file-level entry ---------------------------------------------------------------- */

/* Seeded N(0,1) (Box-Muller over a 64-bit LCG) so runs without --calib are reproducible. */
void af_target_fill_normal(float *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (int64_t i = 0; i < n; i += 2) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u1 = ((double)(s >> 11) + 1.0) / 9007199254740993.0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(r * cos(6.283185307179586 * u2));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(6.283185307179586 * u2));
    }
}

static af_status load_input(const af_graph *g, int i, const char *dir, void **out, af_err *err)
{
    const af_tensor *t = &g->tensors[g->inputs[i]];
    int64_t bytes = af_tensor_nbytes(t);
    if (bytes < 0) return af_err_set(err, AF_ERR_SHAPE, "input '%s': unknown shape", t->name);
    if (!dir) {
        *out = calloc((size_t)bytes + 1, 1);
        if (!*out) return af_err_set(err, AF_ERR_NOMEM, "out of memory for input '%s'", t->name);
        if (t->dtype == AF_DTYPE_F32) af_target_fill_normal(*out, af_tensor_numel(t), (uint64_t)i + 1);
        return AF_OK;
    }
    char path[4096];
    af_npy n;
    if (af_npy_path(dir, t->name, path, sizeof path, err) != AF_OK ||
        af_npy_read_file(path, &n, err) != AF_OK)
        return err->code;
    int same = n.dtype == t->dtype && n.rank == t->rank && (int64_t)n.nbytes == bytes;
    for (int d = 0; same && d < t->rank; d++) same = n.dims[d] == t->dims[d];
    if (!same) {
        char a[128], b[128];
        af_err_set(err, AF_ERR_USAGE, "%s: input '%s' must be %s%s, file holds %s%s", path,
                   t->name, af_dtype_name(t->dtype), af_shape_str(t->rank, t->dims, a, sizeof a),
                   af_dtype_name(n.dtype), af_shape_str(n.rank, n.dims, b, sizeof b));
        af_npy_free(&n);
        return err->code;
    }
    *out = n.data; /* ownership moves to the caller */
    return AF_OK;
}

af_status af_fp16_predict_file(const char *model_path, const af_shape_spec *shapes,
                               int n_shapes, const char *calib_dir, af_fp16_report *r,
                               char *msg, size_t msg_size)
{
    af_err err = {0};
    memset(r, 0, sizeof *r);
    af_graph g;
    af_graph_init(&g);
    void **in = NULL;
    if (af_target_load_model(model_path, shapes, n_shapes, &g, &err) == AF_OK) {
        in = calloc((size_t)g.n_inputs + 1, sizeof *in);
        if (!in) af_err_set(&err, AF_ERR_NOMEM, "out of memory");
        for (int i = 0; in && i < g.n_inputs && err.code == AF_OK; i++)
            load_input(&g, i, calib_dir, &in[i], &err);
        if (err.code == AF_OK && af_fp16_predict_graph(&g, in, r, &err) != AF_OK)
            af_err_prefix(&err, model_path);
    }
    for (int i = 0; in && i < g.n_inputs; i++) free(in[i]);
    free(in);
    af_graph_free(&g);
    if (err.code != AF_OK && msg && msg_size) snprintf(msg, msg_size, "%s", err.msg);
    return err.code;
}

void af_fp16_report_free(af_fp16_report *r)
{
    if (!r) return;
    free(r->flags);
    memset(r, 0, sizeof *r);
}
