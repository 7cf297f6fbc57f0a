/* convert/validate_cfg.c — guidance under the deployed precision (see validate_cfg.h). */
#include "validate_cfg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/graph.h"
#include "../runtime/fp16_round.h"

/* ---- per-layer slots: one tensor both programs compute ------------------------------------ */

typedef struct cfg_slot {
    char *name;
    size_t n;
    float *rc, *ru;  /* fp32 program on cond / uncond */
    float *bc;       /* the bundle's cond tensor of the current pair of runs */
    int layer;       /* index in r->layers, -1 until the bundle computes it */
} cfg_slot;

typedef struct cfg_state {
    const af_cfg_options *o;
    af_cfg_result *r;
    cfg_slot *slots;
    int n_slots, cap;
    int phase;       /* 0 ref cond, 1 ref uncond, 2 bundle cond, 3 bundle uncond (deployed),
                      * 4, 5 the same isolated (own) */
    int oom;
} cfg_state;

static char *dup_str(const char *s, int *oom)
{
    char *d = strdup(s ? s : "");
    if (!d) *oom = 1;
    return d;
}

static float *copy_floats(const float *x, size_t n, int *oom)
{
    float *d = malloc(n ? n * sizeof(float) : 1);
    if (!d) *oom = 1;
    else memcpy(d, x, n * sizeof(float));
    return d;
}

static cfg_slot *find_slot(cfg_state *v, const char *name, size_t n)
{
    for (int i = 0; i < v->n_slots; i++)
        if (v->slots[i].n == n && !strcmp(v->slots[i].name, name)) return &v->slots[i];
    return NULL;
}

static void add_slot(cfg_state *v, const af_node_event *ev, size_t n)
{
    if (v->n_slots == v->cap) {
        int cap = v->cap ? v->cap * 2 : 64;
        cfg_slot *p = realloc(v->slots, sizeof *p * (size_t)cap);
        if (!p) {
            v->oom = 1;
            return;
        }
        v->slots = p;
        v->cap = cap;
    }
    cfg_slot *s = &v->slots[v->n_slots++];
    memset(s, 0, sizeof *s);
    s->layer = -1;
    s->name = dup_str(ev->info.name, &v->oom);
    s->n = n;
    s->rc = copy_floats(ev->data, n, &v->oom);
}

/* (b1 − b2) vs (r1 − r2), differences taken in f32. */
static void diff_metrics(const float *r1, const float *r2, const float *b1, const float *b2,
                         size_t n, af_metrics *m, double *ratio)
{
    af_metrics_acc a;
    memset(&a, 0, sizeof a);
    double dd = 0, cc = 0;
    for (size_t i = 0; i < n; i++) {
        float rd = r1[i] - r2[i], bd = b1[i] - b2[i];
        af_metrics_add(&a, &rd, &bd, 1);
        dd += (double)rd * rd;
        cc += (double)r1[i] * r1[i];
    }
    af_metrics_finish(&a, m);
    if (ratio) *ratio = cc > 0 ? sqrt(dd / cc) : 0;
}

static af_cfg_layer *new_layer(cfg_state *v, cfg_slot *s, const af_node_event *ev)
{
    af_cfg_result *r = v->r;
    af_cfg_layer *p = realloc(r->layers, sizeof *p * (size_t)(r->n_layers + 1));
    if (!p) {
        v->oom = 1;
        return NULL;
    }
    r->layers = p;
    s->layer = r->n_layers;
    af_cfg_layer *l = &p[r->n_layers++];
    memset(l, 0, sizeof *l);
    l->name = dup_str(ev->info.name, &v->oom);
    l->node = dup_str(ev->node, &v->oom);
    l->op = ev->op;
    l->depth = ev->node_index;
    l->rounding = ev->rounding;
    return l;
}

/* The bundle's side of one slot in phases 2..5. */
static void on_bundle_slot(cfg_state *v, cfg_slot *s, const af_node_event *ev)
{
    size_t n = s->n;
    float *x = ev->data;
    if (v->phase == 2) {
        af_cfg_layer *l = new_layer(v, s, ev);
        if (l) af_metrics_compute(s->rc, x, n, &l->c);
    }
    if (s->layer < 0) return;
    af_cfg_layer *l = &v->r->layers[s->layer];
    if (v->phase == 2 || v->phase == 4) {
        if (!s->bc) s->bc = malloc(n ? n * sizeof(float) : 1);
        if (!s->bc) v->oom = 1;
        else memcpy(s->bc, x, n * sizeof(float));
        if (v->phase == 4) af_metrics_compute(s->rc, x, n, &l->own_c);
    } else if (s->bc) {
        diff_metrics(s->rc, s->ru, s->bc, x, n, v->phase == 3 ? &l->d : &l->own_d,
                     v->phase == 3 ? &l->d_ratio : NULL);
        l->has_own |= v->phase == 5;
    }
    if (v->phase >= 4) { /* isolated: the exact tensor, stored as the bundle stores it */
        memcpy(x, v->phase == 4 ? s->rc : s->ru, n * sizeof(float));
        af_prec_round_buf(ev->rounding, x, n);
    }
}

static void on_event(void *user, const af_node_event *ev)
{
    cfg_state *v = user;
    if (ev->info.dtype != AF_DTYPE_F32 || v->oom) return;
    size_t n = ev->info.nbytes / sizeof(float);
    cfg_slot *s = find_slot(v, ev->info.name, n);
    if (v->phase == 0) {
        if (!s) add_slot(v, ev, n);
    } else if (v->phase == 1) {
        if (s && !s->ru) s->ru = copy_floats(ev->data, n, &v->oom);
    } else if (s && s->ru && (v->phase == 2 || s->layer >= 0)) {
        on_bundle_slot(v, s, ev);
    }
}

static void free_slots(cfg_state *v)
{
    for (int i = 0; i < v->n_slots; i++) {
        free(v->slots[i].name);
        free(v->slots[i].rc);
        free(v->slots[i].ru);
        free(v->slots[i].bc);
    }
    free(v->slots);
    v->slots = NULL;
    v->n_slots = v->cap = 0;
}

/* ---- runs -------------------------------------------------------------------------------- */

/* One run of p (the fp32 program or the bundle) on the input set in dir. */
static af_status run_on(const af_cfg_options *o, af_val_prog *p, int is_ref, const char *dir,
                        af_err *err)
{
    af_val_options vo = o->base;
    vo.inputs_dir = dir;
    if (af_val_set_inputs(&vo, NULL, p, NULL, err) != AF_OK) return err->code;
    af_status st = af_session_run(p->s);
    if (st != AF_OK)
        return af_err_set(err, st, "%s: %s", is_ref ? o->base.model_path : o->base.bundle_path,
                          af_session_error(p->s));
    return AF_OK;
}

/* Copies every output of p as floats into out[] (n[] elements; NULL n: check against it). */
static af_status grab_outputs(af_val_prog *p, const af_cfg_ref *ref, float **out, size_t *n,
                              af_err *err)
{
    for (int i = 0; i < ref->n_outputs; i++) {
        int k = af_bundle_find_output(p->b, ref->names[i]);
        const void *data;
        af_tensor_info info;
        if (k < 0 || af_session_get_output(p->s, k, &data, &info) != AF_OK)
            return af_err_set(err, AF_ERR_USAGE, "output '%s' missing", ref->names[i]);
        size_t m = info.nbytes / af_dtype_size(info.dtype);
        if (n) n[i] = m;
        else if (m != ref->n[i])
            return af_err_set(err, AF_ERR_SHAPE, "output '%s': %zu elements in the bundle, %zu in "
                              "the fp32 program", ref->names[i], m, ref->n[i]);
        if (!(out[i] = af_val_as_floats(info.dtype, data, m)))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    return AF_OK;
}

void af_cfg_ref_free(af_cfg_ref *ref)
{
    for (int i = 0; i < ref->n_outputs; i++) {
        if (ref->names) free(ref->names[i]);
        if (ref->c) free(ref->c[i]);
        if (ref->u) free(ref->u[i]);
    }
    free(ref->names);
    free(ref->c);
    free(ref->u);
    free(ref->n);
    memset(ref, 0, sizeof *ref);
}

/* The bundle's output names, storage for the reference's outputs. */
static af_status ref_alloc(const af_cfg_options *o, af_bundle *b, af_cfg_ref *ref, af_err *err)
{
    int n = af_bundle_output_count(b);
    ref->n_outputs = n;
    ref->names = calloc((size_t)n + 1, sizeof *ref->names);
    ref->c = calloc((size_t)n + 1, sizeof *ref->c);
    ref->u = calloc((size_t)n + 1, sizeof *ref->u);
    ref->n = calloc((size_t)n + 1, sizeof *ref->n);
    if (!ref->names || !ref->c || !ref->u || !ref->n) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    int oom = 0;
    for (int i = 0; i < n; i++) {
        af_tensor_info info;
        af_bundle_output_info(b, i, &info);
        ref->names[i] = dup_str(info.name, &oom);
    }
    if (oom) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    (void)o;
    return AF_OK;
}

/* The fp32 program on cond then uncond (observer v: per-layer slots, phases 0 and 1). */
static af_status run_reference(const af_cfg_options *o, af_val_prog *rp, af_cfg_ref *ref,
                               cfg_state *v, af_err *err)
{
    for (int k = 0; k < 2; k++) {
        if (v) v->phase = k;
        af_session_set_observer(rp->s, v ? on_event : NULL, v);
        if (run_on(o, rp, 1, k ? o->uncond_dir : o->cond_dir, err) != AF_OK ||
            grab_outputs(rp, ref, k ? ref->u : ref->c, k ? NULL : ref->n, err) != AF_OK)
            return af_err_prefix(err, o->base.model_path);
        if (v && v->oom) return af_err_set(err, AF_ERR_NOMEM, "out of memory keeping tensors");
    }
    return AF_OK;
}

af_status af_cfg_references(const af_cfg_options *o, int n, af_cfg_ref *refs, af_err *err)
{
    memset(refs, 0, sizeof *refs * (size_t)n);
    af_val_prog bun = {0}, rp = {0};
    if (n > 0 && af_val_prog_open(&bun, o[0].base.bundle_path, 0, 1, NULL, 0, err) == AF_OK &&
        af_val_open_reference(&o[0].base, &rp, err) == AF_OK)
        for (int p = 0; p < n && err->code == AF_OK; p++)
            if (ref_alloc(&o[p], bun.b, &refs[p], err) == AF_OK)
                run_reference(&o[p], &rp, &refs[p], NULL, err);
    af_val_prog_close(&rp);
    af_val_prog_close(&bun);
    for (int p = 0; err->code != AF_OK && p < n; p++) af_cfg_ref_free(&refs[p]);
    return err->code;
}

static void output_metrics(const af_cfg_ref *ref, int i, const float *bc, const float *bu,
                           double s, af_cfg_output *out, int *oom)
{
    size_t n = ref->n[i];
    const float *rc = ref->c[i], *ru = ref->u[i];
    af_metrics_compute(rc, bc, n, &out->c);
    af_metrics_compute(ru, bu, n, &out->u);
    diff_metrics(rc, ru, bc, bu, n, &out->d, &out->d_ratio);
    float *rg = malloc(n ? n * sizeof(float) : 1), *bg = malloc(n ? n * sizeof(float) : 1);
    if (!rg || !bg) *oom = 1;
    for (size_t k = 0; rg && bg && k < n; k++) {
        rg[k] = (float)((double)ru[k] + s * ((double)rc[k] - ru[k]));
        bg[k] = (float)((double)bu[k] + s * ((double)bc[k] - bu[k]));
    }
    if (rg && bg) af_metrics_compute(rg, bg, n, &out->g);
    free(rg);
    free(bg);
}

/* The bundle session on cond and uncond, observed by v in phases p0, p0 + 1 (v NULL: outputs
 * only); the outputs are measured into outs when given. */
static af_status run_bundle_pair(const af_cfg_options *o, af_val_prog *bp, const af_cfg_ref *ref,
                                 cfg_state *v, int p0, af_cfg_output *outs, af_err *err)
{
    float **bc = calloc((size_t)ref->n_outputs + 1, sizeof *bc);
    float **bu = calloc((size_t)ref->n_outputs + 1, sizeof *bu);
    if (!bc || !bu) af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int k = 0; err->code == AF_OK && k < 2; k++) {
        if (v) v->phase = p0 + k;
        af_session_set_observer(bp->s, v ? on_event : NULL, v);
        if (run_on(o, bp, 0, k ? o->uncond_dir : o->cond_dir, err) == AF_OK)
            grab_outputs(bp, ref, k ? bu : bc, NULL, err);
        if (v && v->oom) af_err_set(err, AF_ERR_NOMEM, "out of memory keeping tensors");
    }
    int oom = 0;
    for (int i = 0; outs && err->code == AF_OK && i < ref->n_outputs; i++) {
        outs[i].name = ref->names[i];
        output_metrics(ref, i, bc[i], bu[i], o->scale, &outs[i], &oom);
    }
    if (oom) af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < ref->n_outputs; i++) {
        if (bc) free(bc[i]);
        if (bu) free(bu[i]);
    }
    free(bc);
    free(bu);
    return err->code;
}

af_status af_cfg_measure(const af_cfg_options *o, af_bundle *b, const af_cfg_ref *ref,
                         const uint8_t *prec, af_cfg_output *outs, af_err *err)
{
    af_session_options so = {0};
    so.n_threads = o->base.n_threads;
    so.fp16 = o->base.fp16;
    so.node_precision = prec;
    so.fp16_weights = o->fp16_weights;
    char msg[512];
    af_val_prog bp = {b, NULL};
    af_status st = af_session_create(b, &so, &bp.s, msg, sizeof msg);
    if (st != AF_OK) return af_err_set(err, st, "%s: %s", o->base.bundle_path, msg);
    run_bundle_pair(o, &bp, ref, NULL, 0, outs, err);
    af_session_free(bp.s);
    return err->code;
}

/* ---- the whole measure ------------------------------------------------------------------- */

static void count_placement(const af_cfg_options *o, af_bundle *b, af_cfg_result *r)
{
    int n = af_bundle_node_count(b);
    uint8_t *prec = malloc(n ? (size_t)n : 1);
    if (!prec) return;
    const uint8_t *p = o->base.node_precision;
    if (!p && af_bundle_node_precision(b, prec, NULL, 0) == AF_OK) p = prec;
    for (int i = 0; p && o->base.fp16 && i < n; i++) {
        r->n_fp32 += p[i] == AF_PREC_FP32;
        r->n_paired += p[i] == AF_PREC_PAIRED;
    }
    free(prec);
}

static af_status cfg_runs(const af_cfg_options *o, af_val_prog *rp, af_val_prog *bp,
                          af_cfg_ref *ref, cfg_state *v, af_err *err)
{
    af_cfg_result *r = v->r;
    if (ref_alloc(o, bp->b, ref, err) != AF_OK ||
        run_reference(o, rp, ref, o->base.per_layer ? v : NULL, err) != AF_OK)
        return err->code;
    r->n_outputs = ref->n_outputs;
    r->outputs = calloc((size_t)r->n_outputs + 1, sizeof *r->outputs);
    if (!r->outputs) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (run_bundle_pair(o, bp, ref, o->base.per_layer ? v : NULL, 2, r->outputs, err) != AF_OK)
        return err->code;
    int oom = 0;
    for (int i = 0; i < r->n_outputs; i++) r->outputs[i].name = dup_str(ref->names[i], &oom);
    if (oom) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (!o->base.per_layer) return AF_OK;
    return run_bundle_pair(o, bp, ref, v, 4, NULL, err);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

af_status af_validate_cfg_run(const af_cfg_options *o, af_cfg_result *r, af_err *err)
{
    memset(r, 0, sizeof *r);
    if (!o->cond_dir || !o->uncond_dir)
        return af_err_set(err, AF_ERR_USAGE, "guidance needs --cond DIR and --uncond DIR");
    int oom = 0;
    r->name = dup_str(o->base.name ? o->base.name : base_name(o->base.bundle_path), &oom);
    r->model = dup_str(o->base.model_path, &oom);
    r->bundle = dup_str(o->base.bundle_path, &oom);
    r->fp16 = o->base.fp16;
    r->scale = o->scale;
    if (oom) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    af_val_prog rp = {0}, bp = {0};
    af_cfg_ref ref = {0};
    cfg_state v = {o, r, NULL, 0, 0, 0, 0};
    if (af_val_prog_open(&bp, o->base.bundle_path, o->base.fp16, o->base.n_threads,
                         o->base.node_precision, o->base.int8_compute, err) == AF_OK &&
        af_val_open_reference(&o->base, &rp, err) == AF_OK) {
        count_placement(o, bp.b, r);
        cfg_runs(o, &rp, &bp, &ref, &v, err);
    }
    free_slots(&v);
    af_cfg_ref_free(&ref);
    af_val_prog_close(&rp);
    af_val_prog_close(&bp);
    return err->code;
}

void af_cfg_result_free(af_cfg_result *r)
{
    if (!r) return;
    for (int i = 0; r->outputs && i < r->n_outputs; i++) free(r->outputs[i].name);
    for (int i = 0; i < r->n_layers; i++) {
        free(r->layers[i].name);
        free(r->layers[i].node);
    }
    free(r->outputs);
    free(r->layers);
    free(r->name);
    free(r->model);
    free(r->bundle);
    memset(r, 0, sizeof *r);
}

static double own_d_err(const af_cfg_layer *l)
{
    return l->has_own ? l->own_d.rel_l2 : l->d.rel_l2;
}

int af_cfg_worst_layer(const af_cfg_result *r)
{
    int w = -1;
    for (int i = 0; i < r->n_layers; i++) {
        double e = own_d_err(&r->layers[i]);
        if (w < 0 || (isnan(e) && !isnan(own_d_err(&r->layers[w]))) || e > own_d_err(&r->layers[w]))
            w = i;
    }
    return w;
}

double af_cfg_guided_psnr(const af_cfg_result *r)
{
    double p = INFINITY;
    for (int i = 0; i < r->n_outputs; i++) {
        if (isnan(r->outputs[i].g.psnr)) return NAN;
        if (r->outputs[i].g.psnr < p) p = r->outputs[i].g.psnr;
    }
    return p;
}
