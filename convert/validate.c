/* convert/validate.c — the fp32 program vs the bundle as deployed (see validate.h). */
#include "validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../graph/graph.h"
#include "../importers/npy/npy.h"
#include "../runtime/fp16_round.h"
#include "aneforge/runtime.h"

/* ---- one program: bundle + session ------------------------------------------------------ */

typedef af_val_prog val_prog;

void af_val_prog_close(val_prog *p)
{
    af_session_free(p->s);
    af_bundle_close(p->b);
    p->s = NULL;
    p->b = NULL;
}

af_status af_val_prog_open(val_prog *p, const char *path, int fp16, int n_threads,
                           const uint8_t *node_precision, int int8, af_err *err)
{
    char msg[512];
    af_status st = af_bundle_open(path, &p->b, msg, sizeof msg);
    if (st != AF_OK) return af_err_set(err, st, "%s", msg);
    af_session_options so = {0};
    so.n_threads = n_threads;
    so.fp16 = fp16;
    so.node_precision = node_precision;
    so.int8_compute = int8;
    st = af_session_create(p->b, &so, &p->s, msg, sizeof msg);
    if (st != AF_OK) return af_err_set(err, st, "%s: %s", path, msg);
    return AF_OK;
}

/* The fp32 program of the model: --compress fp32, no fusion, in a temporary bundle that is
 * unlinked as soon as it is mapped. */
af_status af_val_open_reference(const af_val_options *o, val_prog *p, af_err *err)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/aneforge-validate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return af_err_set(err, AF_ERR_IO, "%s: cannot create a temporary file", path);
    close(fd);
    af_convert_options co = {0};
    co.model_path = o->model_path;
    co.out_path = path;
    co.compress = "fp32";
    co.no_fuse = 1;
    co.shapes = o->shapes;
    co.n_shapes = o->n_shapes;
    co.image_inputs = o->image_inputs;
    co.n_image_inputs = o->n_image_inputs;
    co.freeze = o->freeze;
    co.n_freeze = o->n_freeze;
    char msg[512];
    af_status st = af_convert(&co, NULL, msg, sizeof msg);
    if (st == AF_OK) st = af_val_prog_open(p, path, 0, o->n_threads, NULL, 0, err);
    else af_err_set(err, st, "%s", msg);
    unlink(path);
    return st;
}

/* ---- inputs ------------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1p-53; }

/* f32 ~ N(0,1) (Box–Muller), uint8 uniform 0..255, uint16 uniform 0..65535, bool random,
 * other integers 0. */
static void fill_random(const af_tensor_info *info, void *data, uint64_t *state)
{
    size_t n = info->nbytes / af_dtype_size(info->dtype);
    memset(data, 0, info->nbytes);
    for (size_t i = 0; i < n; i++) {
        if (info->dtype == AF_DTYPE_F32) {
            double u = uniform01(state), v = uniform01(state);
            ((float *)data)[i] = (float)(sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v));
        } else if (info->dtype == AF_DTYPE_U8) {
            ((uint8_t *)data)[i] = (uint8_t)(splitmix64(state) >> 56);
        } else if (info->dtype == AF_DTYPE_BOOL) {
            ((uint8_t *)data)[i] = (uint8_t)(splitmix64(state) >> 63);
        } else if (info->dtype == AF_DTYPE_F16) {
            ((uint16_t *)data)[i] = af_f32_to_f16((float)(uniform01(state) * 2 - 1));
        } else if (info->dtype == AF_DTYPE_U16) { /* 16-bit image data */
            ((uint16_t *)data)[i] = (uint16_t)(splitmix64(state) >> 48);
        }
    }
}

/* DIR/<sanitized name>.npy or DIR/<name>.npy; '<f8' files are narrowed to f32 (counted in
 * *narrowed when given). */
static af_status load_input(const char *dir, const af_tensor_info *info, void *data,
                            int *narrowed, af_err *err)
{
    char path[4096];
    af_npy n;
    if (af_npy_read_input(dir, info->name, &n, path, sizeof path, err) != AF_OK) return err->code;
    if (narrowed) *narrowed += n.from_f64;
    int same = n.dtype == info->dtype && n.rank == info->rank;
    for (int k = 0; same && k < n.rank; k++) same = n.dims[k] == info->dims[k];
    char a[128], b[128];
    if (!same)
        af_err_set(err, AF_ERR_SHAPE, "%s: input '%s' must be %s%s, file holds %s%s", path,
                   info->name, af_dtype_name(info->dtype),
                   af_shape_str(info->rank, info->dims, a, sizeof a), af_dtype_name(n.dtype),
                   af_shape_str(n.rank, n.dims, b, sizeof b));
    else memcpy(data, n.data, n.nbytes);
    af_npy_free(&n);
    return err->code;
}

/* Gives input i of the bundle to both programs (by name in the reference). */
static af_status set_input(const af_val_options *o, val_prog *ref, val_prog *bun, int i,
                           uint64_t *state, int *narrowed, af_err *err)
{
    af_tensor_info info, rinfo;
    af_bundle_input_info(bun->b, i, &info);
    int ri = ref ? af_bundle_find_input(ref->b, info.name) : -1;
    if (ref && ri < 0)
        return af_err_set(err, AF_ERR_USAGE, "%s: bundle input '%s' is not an input of %s",
                          o->bundle_path, info.name, o->model_path);
    if (ref) af_bundle_input_info(ref->b, ri, &rinfo);
    else rinfo = info;
    if (rinfo.nbytes != info.nbytes || rinfo.dtype != info.dtype)
        return af_err_set(err, AF_ERR_SHAPE, "%s: input '%s' is %s (%zu bytes) in the bundle but "
                          "%s (%zu bytes) in %s (converted with other --image-input or "
                          "--input-shape flags?)", o->bundle_path, info.name,
                          af_dtype_name(info.dtype), info.nbytes, af_dtype_name(rinfo.dtype),
                          rinfo.nbytes, o->model_path);
    void *data = malloc(info.nbytes ? info.nbytes : 1);
    if (!data) return af_err_set(err, AF_ERR_NOMEM, "out of memory for input '%s'", info.name);
    if (o->inputs_dir) load_input(o->inputs_dir, &info, data, narrowed, err);
    else fill_random(&info, data, state);
    if (err->code == AF_OK && ((ref && af_session_set_input(ref->s, ri, data, info.nbytes) != AF_OK) ||
                               af_session_set_input(bun->s, i, data, info.nbytes) != AF_OK))
        af_err_set(err, AF_ERR_INTERNAL, "setting input '%s' failed", info.name);
    free(data);
    return err->code;
}

/* ---- observers ------------------------------------------------------------------------- */

typedef struct ref_tensor {
    char *name;
    float *data; /* a copy (per-layer mode) */
    size_t n;
} ref_tensor;

typedef struct val_state {
    const af_val_options *o;
    af_val_result *r;
    ref_tensor *ref;
    int n_ref, cap_ref;
    int inject;  /* isolated runs: measure the layer's error, then overwrite with the reference;
                  * 1: own (as deployed, fp16 when asked), 2: weights only (f32 activations) */
    int oom;
} val_state;

static int grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap * 2 : 64;
    while (ncap < need) ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static char *val_dup(const char *s, int *oom)
{
    char *d = strdup(s ? s : "");
    if (!d) *oom = 1;
    return d;
}

static void note_overflow(val_state *v, const af_node_event *ev, const float *x, size_t n)
{
    int64_t count = 0;
    double peak = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (a > 65504.0) count++;
        if (a > peak) peak = a;
    }
    if (!count) return;
    af_val_result *r = v->r;
    int cap = r->n_overflow;
    af_val_overflow *p = realloc(r->overflow, sizeof *p * (size_t)(cap + 1));
    if (!p) {
        v->oom = 1;
        return;
    }
    r->overflow = p;
    af_val_overflow *e = &p[r->n_overflow++];
    e->name = val_dup(ev->info.name, &v->oom);
    e->node = val_dup(ev->node, &v->oom);
    e->op = ev->op;
    e->count = count;
    e->max_abs = peak;
}

static void on_reference(void *user, const af_node_event *ev)
{
    val_state *v = user;
    if (ev->info.dtype != AF_DTYPE_F32 || v->oom) return;
    size_t n = ev->info.nbytes / sizeof(float);
    note_overflow(v, ev, ev->data, n);
    if (!v->o->per_layer) return;
    if (grow((void **)&v->ref, &v->cap_ref, v->n_ref + 1, sizeof(ref_tensor))) {
        v->oom = 1;
        return;
    }
    ref_tensor *t = &v->ref[v->n_ref];
    t->name = val_dup(ev->info.name, &v->oom);
    t->data = malloc(n ? n * sizeof(float) : 1);
    t->n = n;
    if (!t->data) v->oom = 1;
    else memcpy(t->data, ev->data, n * sizeof(float));
    v->n_ref++;
}

static const ref_tensor *find_ref(const val_state *v, const char *name)
{
    for (int i = 0; i < v->n_ref; i++)
        if (v->ref[i].name && !strcmp(v->ref[i].name, name)) return &v->ref[i];
    return NULL;
}

static int has_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 1;
    return 0;
}

/* Isolated run: the layer's own error, then the exact tensor for the layers after it. */
static void inject_reference(val_state *v, const af_node_event *ev, const ref_tensor *t)
{
    af_val_result *r = v->r;
    for (int i = 0; i < r->n_layers; i++) {
        af_val_layer *l = &r->layers[i];
        if (l->depth != ev->node_index || strcmp(l->name, ev->info.name)) continue;
        if (v->inject == 1) af_metrics_compute(t->data, ev->data, t->n, &l->own);
        else af_metrics_compute(t->data, ev->data, t->n, &l->wonly);
        l->has_own |= v->inject == 1;
        l->has_wonly |= v->inject == 2;
    }
    memcpy(ev->data, t->data, t->n * sizeof(float));
    if (v->inject == 1) af_prec_round_buf(ev->rounding, ev->data, t->n);
}

static void on_bundle(void *user, const af_node_event *ev)
{
    val_state *v = user;
    if (ev->info.dtype != AF_DTYPE_F32 || v->oom) return;
    if (v->inject) {
        const ref_tensor *t = find_ref(v, ev->info.name);
        if (t && t->n == ev->info.nbytes / sizeof(float)) inject_reference(v, ev, t);
        return;
    }
    af_val_result *r = v->r;
    size_t n = ev->info.nbytes / sizeof(float);
    r->n_bundle_tensors++;
    if (!r->first_nonfinite && has_nonfinite(ev->data, n)) {
        r->first_nonfinite = val_dup(ev->info.name, &v->oom);
        r->first_nonfinite_node = val_dup(ev->node, &v->oom);
    }
    const ref_tensor *t = v->o->per_layer ? find_ref(v, ev->info.name) : NULL;
    if (!t || t->n != n) return;
    af_val_layer *p = realloc(r->layers, sizeof *p * (size_t)(r->n_layers + 1));
    if (!p) {
        v->oom = 1;
        return;
    }
    r->layers = p;
    af_val_layer *l = &p[r->n_layers++];
    memset(l, 0, sizeof *l);
    l->name = val_dup(ev->info.name, &v->oom);
    l->node = val_dup(ev->node, &v->oom);
    l->op = ev->op;
    l->depth = ev->node_index;
    af_metrics_compute(t->data, ev->data, n, &l->m);
}

/* ---- outputs ----------------------------------------------------------------------------- */

/* A float copy of n elements of any numeric dtype. */
float *af_val_as_floats(af_dtype dt, const void *data, size_t n)
{
    float *f = malloc(n ? n * sizeof(float) : 1);
    if (!f) return NULL;
    for (size_t i = 0; i < n; i++)
        f[i] = dt == AF_DTYPE_F32 ? ((const float *)data)[i] : (float)af_dtype_get(dt, data, i);
    return f;
}

/* The task measures plan asks for, of out against ref (shape of info). */
static void task_measure(const af_task_plan *plan, const af_tensor_info *info, const float *ref,
                         const float *out, af_task_metrics *t)
{
    af_task_counts c;
    memset(&c, 0, sizeof c);
    af_task_add(plan, info->rank, info->dims, ref, out, &c);
    af_task_finish(plan, &c, t);
}

static af_status compare_expected(const af_val_options *o, af_val_output *out,
                                  const af_tensor_info *info, const float *ref, const float *bun,
                                  size_t n, af_err *err)
{
    char path[4096];
    if (af_npy_path(o->reference_dir, out->name, path, sizeof path, err) != AF_OK)
        return err->code;
    af_npy e;
    if (af_npy_read_file(path, &e, err) != AF_OK) return err->code;
    size_t en = e.nbytes / af_dtype_size(e.dtype);
    float *ef = en == n ? af_val_as_floats(e.dtype, e.data, n) : NULL;
    if (en != n)
        af_err_set(err, AF_ERR_SHAPE, "%s: holds %zu elements, output '%s' has %zu", path, en,
                   out->name, n);
    else if (!ef)
        af_err_set(err, AF_ERR_NOMEM, "out of memory reading %s", path);
    else {
        af_metrics_compute(ef, bun, n, &out->m_expected);
        af_metrics_compute(ef, ref, n, &out->m_ref_expected);
        task_measure(&out->t.plan, info, ef, bun, &out->t_expected);
        task_measure(&out->t.plan, info, ef, ref, &out->t_ref_expected);
        out->has_expected = 1;
    }
    free(ef);
    af_npy_free(&e);
    return err->code;
}

static af_status compare_output(const af_val_options *o, val_prog *ref, val_prog *bun, int i,
                                af_val_output *out, af_err *err)
{
    const void *bd, *rd;
    af_tensor_info bi, ri;
    af_session_get_output(bun->s, i, &bd, &bi);
    int oom = 0;
    out->name = val_dup(bi.name, &oom);
    int k = af_bundle_find_output(ref->b, bi.name);
    if (k < 0)
        return af_err_set(err, AF_ERR_USAGE, "%s: bundle output '%s' is not an output of %s",
                          o->bundle_path, bi.name, o->model_path);
    af_session_get_output(ref->s, k, &rd, &ri);
    size_t n = bi.nbytes / af_dtype_size(bi.dtype);
    if (ri.nbytes / af_dtype_size(ri.dtype) != n)
        return af_err_set(err, AF_ERR_SHAPE, "output '%s': %zu elements in the bundle, %zu in %s",
                          bi.name, n, ri.nbytes / af_dtype_size(ri.dtype), o->model_path);
    af_task_plan plan;
    if (af_task_plan_for(o->tasks, o->n_tasks, bi.name, bi.rank, bi.dims, &plan, err) != AF_OK)
        return af_err_prefix(err, o->bundle_path);
    float *bf = af_val_as_floats(bi.dtype, bd, n), *rf = af_val_as_floats(ri.dtype, rd, n);
    if (!bf || !rf || oom) af_err_set(err, AF_ERR_NOMEM, "out of memory comparing '%s'", bi.name);
    else {
        af_metrics_compute(rf, bf, n, &out->m);
        task_measure(&plan, &bi, rf, bf, &out->t);
        if (o->reference_dir) compare_expected(o, out, &bi, rf, bf, n, err);
    }
    free(bf);
    free(rf);
    return err->code;
}

/* ---- the run ----------------------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The same input set into both programs (again before the isolated run: the memory plan may
 * reuse input buffers). */
af_status af_val_set_inputs(const af_val_options *o, val_prog *ref, val_prog *bun,
                           int *narrowed, af_err *err)
{
    uint64_t state = o->seed;
    for (int i = 0; i < af_bundle_input_count(bun->b); i++)
        if (set_input(o, ref, bun, i, &state, narrowed, err) != AF_OK) return err->code;
    return AF_OK;
}

static af_status run_isolated(const af_val_options *o, val_prog *ref, val_prog *bun,
                              val_state *v, int mode, af_err *err)
{
    if (af_val_set_inputs(o, ref, bun, NULL, err) != AF_OK) return err->code;
    v->inject = mode;
    af_session_set_observer(bun->s, on_bundle, v);
    af_status st = af_session_run(bun->s);
    if (st != AF_OK) return af_err_set(err, st, "%s: %s", o->bundle_path, af_session_error(bun->s));
    return AF_OK;
}

/* Own error, then the weights-only error: the same isolated run with f32 activations (a
 * second session of the bundle without fp16 emulation; without --fp16 it is the own run). */
static af_status run_per_layer(const af_val_options *o, val_prog *ref, val_prog *bun,
                               val_state *v, af_err *err)
{
    if (run_isolated(o, ref, bun, v, 1, err) != AF_OK) return err->code;
    af_val_result *r = v->r;
    if (!o->fp16) {
        for (int i = 0; i < r->n_layers; i++) {
            r->layers[i].wonly = r->layers[i].own;
            r->layers[i].has_wonly = r->layers[i].has_own;
        }
    } else {
        char msg[512];
        af_session_options so = {0};
        so.n_threads = o->n_threads;
        so.int8_compute = o->int8_compute;
        val_prog f32 = {bun->b, NULL};
        af_status st = af_session_create(bun->b, &so, &f32.s, msg, sizeof msg);
        if (st != AF_OK) return af_err_set(err, st, "%s: %s", o->bundle_path, msg);
        st = run_isolated(o, ref, &f32, v, 2, err);
        af_session_free(f32.s);
        if (st != AF_OK) return st;
    }
    return af_val_attach_weights(o->bundle_path, r, err);
}

/* Every named task spec names an output, and every task gate has a measured output. */
static af_status check_plans(const af_val_options *o, const af_val_result *r, af_err *err)
{
    if (!o->n_tasks && !o->gates) return AF_OK;
    af_gates none;
    af_gates_none(&none);
    const char **names = calloc((size_t)r->n_outputs + 1, sizeof *names);
    af_task_plan *plans = calloc((size_t)r->n_outputs + 1, sizeof *plans);
    if (!names || !plans) af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; names && plans && i < r->n_outputs; i++) {
        names[i] = r->outputs[i].name;
        plans[i] = r->outputs[i].t.plan;
    }
    if (names && plans)
        af_task_plans_check(o->tasks, o->n_tasks, o->gates ? o->gates : &none, names, plans,
                            r->n_outputs, o->bundle_path, err);
    free(names);
    free(plans);
    return err->code;
}

static af_status run_both(const af_val_options *o, val_prog *ref, val_prog *bun, val_state *v,
                          af_err *err)
{
    if (af_val_set_inputs(o, ref, bun, &v->r->inputs_from_f64, err) != AF_OK) return err->code;
    af_session_set_observer(ref->s, on_reference, v);
    af_session_set_observer(bun->s, on_bundle, v);
    af_status st = af_session_run(ref->s);
    if (st != AF_OK)
        return af_err_set(err, st, "%s (fp32 program): %s", o->model_path, af_session_error(ref->s));
    st = af_session_run(bun->s);
    if (st != AF_OK) return af_err_set(err, st, "%s: %s", o->bundle_path, af_session_error(bun->s));
    if (v->oom) return af_err_set(err, AF_ERR_NOMEM, "out of memory keeping per-layer tensors");
    af_val_result *r = v->r;
    r->n_outputs = af_bundle_output_count(bun->b);
    r->outputs = calloc((size_t)(r->n_outputs ? r->n_outputs : 1), sizeof *r->outputs);
    if (!r->outputs) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < r->n_outputs; i++)
        if (compare_output(o, ref, bun, i, &r->outputs[i], err) != AF_OK) return err->code;
    if (check_plans(o, r, err) != AF_OK) return err->code;
    return o->per_layer ? run_per_layer(o, ref, bun, v, err) : AF_OK;
}

af_status af_validate_run(const af_val_options *o, af_val_result *r, af_err *err)
{
    memset(r, 0, sizeof *r);
    int oom = 0;
    r->name = val_dup(o->name ? o->name : base_name(o->bundle_path), &oom);
    r->model = val_dup(o->model_path, &oom);
    r->bundle = val_dup(o->bundle_path, &oom);
    r->fp16 = o->fp16;
    r->int8_compute = o->int8_compute;
    r->seed = o->seed;
    r->random_inputs = o->inputs_dir == NULL;
    if (oom) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    val_prog ref = {0}, bun = {0};
    val_state v = {o, r, NULL, 0, 0, 0, 0};
    if (af_val_prog_open(&bun, o->bundle_path, o->fp16, o->n_threads, o->node_precision,
                         o->int8_compute, err) == AF_OK &&
        af_val_open_reference(o, &ref, err) == AF_OK)
        run_both(o, &ref, &bun, &v, err);
    for (int i = 0; i < v.n_ref; i++) {
        free(v.ref[i].name);
        free(v.ref[i].data);
    }
    free(v.ref);
    af_val_prog_close(&ref);
    af_val_prog_close(&bun);
    return err->code;
}

void af_val_result_free(af_val_result *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_outputs; i++) free(r->outputs[i].name);
    for (int i = 0; i < r->n_layers; i++) {
        free(r->layers[i].name);
        free(r->layers[i].node);
        free(r->layers[i].w.tensor);
    }
    for (int i = 0; i < r->n_overflow; i++) {
        free(r->overflow[i].name);
        free(r->overflow[i].node);
    }
    free(r->outputs);
    free(r->layers);
    free(r->overflow);
    free(r->first_nonfinite);
    free(r->first_nonfinite_node);
    free(r->name);
    free(r->model);
    free(r->bundle);
    memset(r, 0, sizeof *r);
}

/* NaN sorts below everything: a NaN PSNR is the worst possible. */
static int psnr_less(double a, double b)
{
    if (isnan(a)) return !isnan(b);
    if (isnan(b)) return 0;
    return a < b;
}

double af_val_layer_rank_psnr(const af_val_layer *l) { return l->has_own ? l->own.psnr : l->m.psnr; }

int af_val_worst_layer(const af_val_result *r)
{
    int w = -1;
    for (int i = 0; i < r->n_layers; i++)
        if (w < 0 || psnr_less(af_val_layer_rank_psnr(&r->layers[i]),
                               af_val_layer_rank_psnr(&r->layers[w])))
            w = i;
    return w;
}

int af_val_worst_weights(const af_val_result *r)
{
    int w = -1;
    for (int i = 0; i < r->n_layers; i++) {
        const af_val_layer *l = &r->layers[i];
        if (l->w.tensor && l->has_wonly &&
            (w < 0 || psnr_less(l->wonly.psnr, r->layers[w].wonly.psnr)))
            w = i;
    }
    return w;
}

int af_val_first_promoted(const af_val_result *r)
{
    for (int i = 0; i < r->n_layers; i++)
        if (r->layers[i].w.has_auto && r->layers[i].w.promotion == 1) return i;
    return -1;
}

int af_val_failed(const af_val_result *r, const af_gates *g)
{
    int f = 0;
    for (int i = 0; i < r->n_outputs; i++) f |= af_gates_failed(g, &r->outputs[i].m, &r->outputs[i].t);
    return f;
}

int af_val_passes(const af_val_result *r, double min_psnr)
{
    for (int i = 0; i < r->n_outputs; i++)
        if (isnan(r->outputs[i].m.psnr) || r->outputs[i].m.psnr < min_psnr) return 0;
    return 1;
}
