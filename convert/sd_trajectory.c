/* convert/sd_trajectory.c — DDIM with classifier-free guidance, reference vs deployed (see
 * sd_trajectory.h). Compiled with -ffp-contract=off (CMakeLists.txt): the step's arithmetic is
 * the numpy loop's (bench/sd_trajectory.py), rounding for rounding. */
#include "sd_trajectory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/dtype.h"
#include "../graph/graph.h"
#include "../importers/npy/npy.h"
#include "../targets/targets_internal.h"
#include "json.h"
#include "validate.h"

/* ---- the schedule ------------------------------------------------------------------------- */

void af_ddim_schedule(int steps, double *abar, int *ts)
{
    /* numpy: linspace(√0.00085, √0.012, 1000) ** 2, cumprod(1 − β) — i·step + start, the last
     * exactly the stop */
    double lo = pow(0.00085, 0.5), hi = pow(0.012, 0.5), step = (hi - lo) / 999.0, prod = 1.0;
    for (int i = 0; i < 1000; i++) {
        double b = i == 999 ? hi : (double)i * step + lo;
        prod *= 1.0 - b * b;
        abar[i] = prod;
    }
    for (int k = 0; k < steps; k++) ts[k] = 1000 / steps * (steps - 1 - k) + 1;
}

/* x ← one DDIM step (eta 0) from ε = u + s·(c − u); the result rounded to f32. x, c, u: [n]. */
static void ddim_step(float *x, const float *c, const float *u, size_t n, double s, double a,
                      double a_prev)
{
    double sa = sqrt(a), s1a = sqrt(1 - a), sp = sqrt(a_prev), s1p = sqrt(1 - a_prev);
    for (size_t i = 0; i < n; i++) {
        double e = (double)u[i] + s * ((double)c[i] - (double)u[i]);
        double x0 = ((double)x[i] - s1a * e) / sa;
        x[i] = (float)(sp * x0 + s1p * e);
    }
}

/* ---- the UNet's inputs and output --------------------------------------------------------- */

typedef struct unet_io {
    int sample, timestep, context, output;
    af_tensor_info si, ti, ci, oi;
} unet_io;

static int64_t numel(const af_tensor_info *i) { return (int64_t)(i->nbytes / af_dtype_size(i->dtype)); }

static int is_sample(const af_tensor_info *i) { return i->dtype == AF_DTYPE_F32 && i->rank == 4; }
static int is_context(const af_tensor_info *i) { return i->dtype == AF_DTYPE_F32 && i->rank == 3; }
static int is_timestep(const af_tensor_info *i)
{
    return numel(i) == 1 && (i->dtype == AF_DTYPE_F32 || i->dtype == AF_DTYPE_F16 ||
                             i->dtype == AF_DTYPE_I32 || i->dtype == AF_DTYPE_I64);
}

/* The input called name, else the only unclaimed input fitting pred (-1: none or several). */
static int find_input(const af_bundle *b, const char *name, int (*pred)(const af_tensor_info *),
                      const int *taken)
{
    int k = af_bundle_find_input(b, name), hit = -1;
    if (k >= 0) return k;
    for (int i = 0; i < af_bundle_input_count(b); i++) {
        af_tensor_info info;
        af_bundle_input_info(b, i, &info);
        if (taken[0] == i || taken[1] == i || !pred(&info)) continue;
        if (hit >= 0) return -1;
        hit = i;
    }
    return hit;
}

/* "a f32(1,4,16,16), b f32(1,)" — the bundle's inputs, for messages. */
static void list_inputs(const af_bundle *b, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < af_bundle_input_count(b) && used < size; i++) {
        af_tensor_info info;
        char ds[96];
        af_bundle_input_info(b, i, &info);
        used += (size_t)snprintf(buf + used, size - used, "%s%s %s%s", i ? ", " : "", info.name,
                                 af_dtype_name(info.dtype), af_shape_str(info.rank, info.dims, ds, sizeof ds));
    }
}

static af_status not_unet(const af_bundle *b, const char *path, const char *what, af_err *err)
{
    char have[300];
    list_inputs(b, have, sizeof have);
    return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: not a UNet-shaped model: %s (sd-trajectory "
                      "needs inputs sample (f32 latent, rank 4), timestep (one value) and "
                      "encoder_hidden_states (f32, rank 3); the bundle has %s)", path, what, have);
}

static int output_fits(const af_bundle *b, int i, int64_t n)
{
    af_tensor_info info;
    return i >= 0 && af_bundle_output_info(b, i, &info) == AF_OK && info.dtype == AF_DTYPE_F32 &&
           numel(&info) == n;
}

/* The output: "output" when it is an f32 tensor of n elements (the sample's), else the first
 * such; -1 when none is. */
static int find_output(const af_bundle *b, int64_t n)
{
    int k = af_bundle_find_output(b, "output");
    if (output_fits(b, k, n)) return k;
    for (int i = 0; i < af_bundle_output_count(b); i++)
        if (output_fits(b, i, n)) return i;
    return -1;
}

static af_status find_io(const af_bundle *b, const char *path, unet_io *io, af_err *err)
{
    int none[2] = {-1, -1};
    io->sample = find_input(b, "sample", is_sample, none);
    if (io->sample < 0) return not_unet(b, path, "no sample input", err);
    int t1[2] = {io->sample, -1};
    io->timestep = find_input(b, "timestep", is_timestep, t1);
    if (io->timestep < 0) return not_unet(b, path, "no timestep input", err);
    int t2[2] = {io->sample, io->timestep};
    io->context = find_input(b, "encoder_hidden_states", is_context, t2);
    if (io->context < 0) return not_unet(b, path, "no encoder_hidden_states input", err);
    af_bundle_input_info(b, io->sample, &io->si);
    af_bundle_input_info(b, io->timestep, &io->ti);
    af_bundle_input_info(b, io->context, &io->ci);
    if (io->si.dtype != AF_DTYPE_F32) return not_unet(b, path, "sample is not f32", err);
    if (!is_timestep(&io->ti)) return not_unet(b, path, "timestep is not one number", err);
    if (io->ci.dtype != AF_DTYPE_F32) return not_unet(b, path, "encoder_hidden_states is not f32", err);
    if (af_bundle_input_count(b) > 3) {
        char what[200];
        snprintf(what, sizeof what, "%d inputs, not 3", af_bundle_input_count(b));
        return not_unet(b, path, what, err);
    }
    io->output = find_output(b, numel(&io->si));
    if (io->output < 0) return not_unet(b, path, "no f32 output of the sample's size", err);
    af_bundle_output_info(b, io->output, &io->oi);
    return AF_OK;
}

static int same_shape(const af_tensor_info *a, const af_tensor_info *b)
{
    if (a->rank != b->rank || a->dtype != b->dtype) return 0;
    for (int k = 0; k < a->rank; k++)
        if (a->dims[k] != b->dims[k]) return 0;
    return 1;
}

/* The reference bundle must take and give the same tensors. */
static af_status match_io(const unet_io *a, const unet_io *r, const char *path, af_err *err)
{
    const af_tensor_info *x[3] = {&a->si, &a->ci, &a->oi}, *y[3] = {&r->si, &r->ci, &r->oi};
    for (int k = 0; k < 3; k++) {
        if (same_shape(x[k], y[k])) continue;
        char s1[96], s2[96];
        return af_err_set(err, AF_ERR_SHAPE, "%s: the reference's %s is %s%s, the UNet bundle's "
                          "%s is %s%s", path, y[k]->name, af_dtype_name(y[k]->dtype),
                          af_shape_str(y[k]->rank, y[k]->dims, s1, sizeof s1), x[k]->name,
                          af_dtype_name(x[k]->dtype), af_shape_str(x[k]->rank, x[k]->dims, s2, sizeof s2));
    }
    return AF_OK;
}

/* DIR/<encoder_hidden_states>.npy into ctx (f32, the input's shape). */
static af_status load_context(const char *dir, const af_tensor_info *ci, float *ctx, af_err *err)
{
    char path[4096];
    af_npy n;
    if (af_npy_read_input(dir, ci->name, &n, path, sizeof path, err) != AF_OK) return err->code;
    af_tensor_info got = *ci;
    got.dtype = n.dtype;
    got.rank = n.rank;
    memcpy(got.dims, n.dims, sizeof got.dims);
    if (!same_shape(&got, ci)) {
        char s1[96], s2[96];
        af_err_set(err, AF_ERR_SHAPE, "%s: must be %s%s (the bundle's %s), the file holds %s%s",
                   path, af_dtype_name(ci->dtype), af_shape_str(ci->rank, ci->dims, s1, sizeof s1),
                   ci->name, af_dtype_name(n.dtype), af_shape_str(n.rank, n.dims, s2, sizeof s2));
    } else {
        memcpy(ctx, n.data, ci->nbytes);
    }
    af_npy_free(&n);
    return err->code;
}

/* ---- one trajectory ----------------------------------------------------------------------- */

typedef struct traj_run {
    const char *path;
    af_val_prog p;
    unet_io io;
    float *x, *c, *u; /* latent, cond and uncond outputs [latent_elems] */
} traj_run;

typedef struct traj {
    const af_traj_options *o;
    traj_run ref, dep;
    float *cond, *uncond; /* [context elements] */
    void *tbuf;           /* the timestep input */
    size_t n;             /* latent elements */
    double abar[1000];
    int *ts;
} traj;

/* The UNet on (x, t, ctx) into out. */
static af_status unet(traj *tr, traj_run *r, int t, const float *ctx, float *out, af_err *err)
{
    af_session *s = r->p.s;
    for (int64_t k = 0; k < numel(&r->io.ti); k++) af_dtype_set(r->io.ti.dtype, tr->tbuf, (size_t)k, t);
    const void *data;
    af_tensor_info info;
    af_status st = af_session_set_input(s, r->io.sample, r->x, r->io.si.nbytes);
    if (st == AF_OK) st = af_session_set_input(s, r->io.timestep, tr->tbuf, r->io.ti.nbytes);
    if (st == AF_OK) st = af_session_set_input(s, r->io.context, ctx, r->io.ci.nbytes);
    if (st == AF_OK) st = af_session_run(s);
    if (st == AF_OK) st = af_session_get_output(s, r->io.output, &data, &info);
    if (st != AF_OK) return af_err_set(err, st, "%s: %s", r->path, af_session_error(s));
    memcpy(out, data, tr->n * sizeof(float));
    return AF_OK;
}

/* Step k of run r: the guided prediction, then the DDIM update of r->x. */
static af_status step(traj *tr, traj_run *r, int k, af_err *err)
{
    int t = tr->ts[k];
    double a_prev = k + 1 < tr->o->steps ? tr->abar[tr->ts[k + 1]] : tr->abar[0];
    if (unet(tr, r, t, tr->cond, r->c, err) != AF_OK || unet(tr, r, t, tr->uncond, r->u, err) != AF_OK)
        return err->code;
    ddim_step(r->x, r->c, r->u, tr->n, tr->o->cfg_scale, tr->abar[t], a_prev);
    return AF_OK;
}

static af_status open_run(traj *tr, traj_run *r, const char *path, int fp16, af_err *err)
{
    r->path = path;
    int threads = tr->o->n_threads > 0 ? tr->o->n_threads : 1;
    if (af_val_prog_open(&r->p, path, fp16, threads, NULL, 0, err) != AF_OK ||
        find_io(r->p.b, path, &r->io, err) != AF_OK)
        return err->code;
    size_t n = (size_t)numel(&r->io.si);
    r->x = malloc(n * sizeof(float));
    r->c = malloc(n * sizeof(float));
    r->u = malloc(n * sizeof(float));
    if (!r->x || !r->c || !r->u) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    return AF_OK;
}

static void close_run(traj_run *r)
{
    af_val_prog_close(&r->p);
    free(r->x);
    free(r->c);
    free(r->u);
}

static af_status check_options(const af_traj_options *o, af_err *err)
{
    if (!o->bundle_path) return af_err_set(err, AF_ERR_USAGE, "sd-trajectory needs a UNet bundle");
    if (o->steps < 1 || o->steps > AF_TRAJ_MAX_STEPS)
        return af_err_set(err, AF_ERR_USAGE, "--steps %d: want 1 to %d (t = 1000/N·k + 1 must "
                          "index the 1000 training steps)", o->steps, AF_TRAJ_MAX_STEPS);
    if (!isfinite(o->cfg_scale))
        return af_err_set(err, AF_ERR_USAGE, "--cfg-scale must be a finite number");
    if (!o->cond_dir != !o->uncond_dir)
        return af_err_set(err, AF_ERR_USAGE, "--cond DIR and --uncond DIR go together");
    return AF_OK;
}

/* Both runs open, the conditioning and the initial latent in place. */
static af_status prepare(traj *tr, af_traj_result *r, af_err *err)
{
    const af_traj_options *o = tr->o;
    const char *ref_path = o->reference_path ? o->reference_path : o->bundle_path;
    if (open_run(tr, &tr->dep, o->bundle_path, o->fp16, err) != AF_OK ||
        open_run(tr, &tr->ref, ref_path, 0, err) != AF_OK ||
        match_io(&tr->dep.io, &tr->ref.io, ref_path, err) != AF_OK)
        return err->code;
    const unet_io *io = &tr->dep.io;
    tr->n = (size_t)numel(&io->si);
    size_t nc = (size_t)numel(&io->ci);
    tr->cond = calloc(nc, sizeof(float));
    tr->uncond = calloc(nc, sizeof(float));
    tr->tbuf = calloc(1, io->ti.nbytes > tr->ref.io.ti.nbytes ? io->ti.nbytes : tr->ref.io.ti.nbytes);
    tr->ts = calloc((size_t)o->steps, sizeof *tr->ts);
    r->step = calloc((size_t)o->steps, sizeof *r->step);
    if (!tr->cond || !tr->uncond || !tr->tbuf || !tr->ts || !r->step)
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (o->cond_dir) {
        if (load_context(o->cond_dir, &io->ci, tr->cond, err) != AF_OK ||
            load_context(o->uncond_dir, &io->ci, tr->uncond, err) != AF_OK)
            return err->code;
    } else {
        af_target_fill_normal(tr->cond, (int64_t)nc, AF_TRAJ_COND_SEED);
    }
    af_target_fill_normal(tr->dep.x, (int64_t)tr->n, o->seed);
    memcpy(tr->ref.x, tr->dep.x, tr->n * sizeof(float));
    af_ddim_schedule(o->steps, tr->abar, tr->ts);
    snprintf(r->sample, sizeof r->sample, "%s", io->si.name);
    snprintf(r->timestep, sizeof r->timestep, "%s", io->ti.name);
    snprintf(r->context, sizeof r->context, "%s", io->ci.name);
    snprintf(r->output, sizeof r->output, "%s", io->oi.name);
    r->latent_elems = (int64_t)tr->n;
    return AF_OK;
}

static void count_placement(const af_bundle *b, af_traj_result *r)
{
    int n = af_bundle_node_count(b);
    uint8_t *prec = malloc((size_t)n + 1);
    if (prec && af_bundle_node_precision(b, prec, NULL, 0) == AF_OK)
        for (int i = 0; i < n; i++) {
            r->n_fp32 += prec[i] == AF_PREC_FP32;
            r->n_paired += prec[i] == AF_PREC_PAIRED;
        }
    free(prec);
}

af_status af_sd_trajectory(const af_traj_options *o, af_traj_result *r, af_err *err)
{
    memset(r, 0, sizeof *r);
    if (check_options(o, err) != AF_OK) return err->code;
    traj tr;
    memset(&tr, 0, sizeof tr);
    tr.o = o;
    if (prepare(&tr, r, err) == AF_OK) {
        if (o->fp16) count_placement(tr.dep.p.b, r);
        for (int k = 0; k < o->steps && err->code == AF_OK; k++) {
            if (step(&tr, &tr.ref, k, err) != AF_OK || step(&tr, &tr.dep, k, err) != AF_OK) break;
            af_traj_step *st = &r->step[r->steps++];
            st->t = tr.ts[k];
            af_metrics_compute(tr.ref.x, tr.dep.x, tr.n, &st->m);
            st->ref_max_abs = 0;
            for (size_t i = 0; i < tr.n; i++)
                if (fabs((double)tr.ref.x[i]) > st->ref_max_abs) st->ref_max_abs = fabs((double)tr.ref.x[i]);
        }
    }
    close_run(&tr.ref);
    close_run(&tr.dep);
    free(tr.cond);
    free(tr.uncond);
    free(tr.tbuf);
    free(tr.ts);
    if (err->code != AF_OK) af_traj_result_free(r);
    return err->code;
}

void af_traj_result_free(af_traj_result *r)
{
    if (!r) return;
    free(r->step);
    memset(r, 0, sizeof *r);
}

/* ---- the JSON report ---------------------------------------------------------------------- */

static void json_psnr(af_json *j, double p)
{
    if (isfinite(p)) json_kv_num(j, "psnr_db", p);
    else json_kv_str(j, "psnr_db", isnan(p) ? "nan" : p > 0 ? "inf" : "-inf");
}

static void json_measures(af_json *j, const af_traj_step *s)
{
    json_psnr(j, s->m.psnr);
    json_kv_num(j, "rel_drift", s->m.rel_l2);
    json_kv_num(j, "max_abs", s->m.max_abs);
    json_kv_num(j, "cosine", s->m.cosine);
    json_kv_int(j, "nan", s->m.nan_count);
    json_kv_num(j, "ref_max_abs", s->ref_max_abs);
}

char *af_traj_json(const af_traj_options *o, const af_traj_result *r, double min_psnr)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "bundle", o->bundle_path);
    json_kv_str(&j, "reference", o->reference_path ? o->reference_path : o->bundle_path);
    json_kv_str(&j, "deployed", o->fp16 ? "fp16" : "fp32");
    json_kv_int(&j, "fp32_nodes", r->n_fp32);
    json_kv_int(&j, "paired_fp16_nodes", r->n_paired);
    json_kv_str(&j, "scheduler", "ddim");
    json_kv_int(&j, "steps", o->steps);
    json_kv_num(&j, "cfg_scale", o->cfg_scale);
    json_kv_int(&j, "seed", (int64_t)o->seed);
    json_kv_str(&j, "cond", o->cond_dir ? o->cond_dir : "seeded");
    json_kv_str(&j, "uncond", o->uncond_dir ? o->uncond_dir : "zeros");
    json_kv_str(&j, "sample", r->sample);
    json_kv_str(&j, "timestep", r->timestep);
    json_kv_str(&j, "encoder_hidden_states", r->context);
    json_kv_str(&j, "output", r->output);
    json_key(&j, "per_step");
    json_open(&j, '[');
    for (int k = 0; k < r->steps; k++) {
        if (k) json_raw(&j, ","); /* json_open does not separate array elements */
        json_open(&j, '{');
        json_kv_int(&j, "step", k + 1);
        json_kv_int(&j, "t", r->step[k].t);
        json_measures(&j, &r->step[k]);
        json_close(&j, '}');
    }
    json_close(&j, ']');
    if (r->steps) {
        json_key(&j, "final");
        json_open(&j, '{');
        json_measures(&j, &r->step[r->steps - 1]);
        json_close(&j, '}');
    }
    if (min_psnr != 0 && r->steps) {
        json_kv_num(&j, "min_psnr_db", min_psnr);
        json_kv_int(&j, "passed", r->step[r->steps - 1].m.psnr >= min_psnr);
    }
    json_close(&j, '}');
    if (json_ok(&j)) return j.buf;
    json_free(&j);
    return NULL;
}
