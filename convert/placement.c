/* convert/placement.c — precision placement under fp16 (see placement.h, docs/sd-fp16.md).
 *
 * Auto (--keep-fp32 auto or --paired-fp16 auto, with --cfg-calib DIR):
 *   1. the model is converted without a placement into a temporary bundle T (the deployment as
 *      it would be), and the fp32 program runs once on DIR/cond and DIR/uncond;
 *   2. a unit is a node together with the nodes that read its f32 outputs (in-place reshapes
 *      passed through): the smallest set whose placement keeps that node's output out of fp16
 *      (runtime/precision.c: a tensor is stored at the lowest precision of writer and readers);
 *   3. every unit is measured alone: the guided output u + s·(c − u) of T under fp16 emulation
 *      with that unit placed (fp32 or paired), vs the fp32 program's; units are ranked by that
 *      PSNR (the unit's measured contribution to the guided error), then by estimated time;
 *   4. the shortest prefix of that order meeting the gate is found (doubling its length, then
 *      bisecting: the whole placement measured each time); then each unit of it is dropped
 *      again, lowest ranked first, when the gate holds without it (fewest nodes);
 *   5. the model is converted again with the chosen nodes (fp32 nodes' weights stored fp32) and
 *      the placement and figures recorded in the metadata.
 * With --compress fp16 (the default) T stores fp32 weights and every measure rounds the weights
 * of the nodes left fp16 or paired to halves for them (af_session_options.fp16_weights): each
 * measure is the bundle that placement would give. With other encodings T has the deployed
 * weights, which placed nodes keep. Units have their estimated time on the cost family with
 * weights priced as deployed. */
#include "placement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bundle/bundle.h"
#include "../targets/targets_internal.h"
#include "validate_cfg.h"

/* ---- names -------------------------------------------------------------------------------- */

static void free_names(char **v, int n)
{
    for (int i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

/* "a,b, c" → names (spaces around names dropped; empty names are a usage error). */
static af_status split_names(const char *flag, const char *s, char ***out, int *n, af_err *err)
{
    *out = NULL;
    *n = 0;
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    char **v = calloc((size_t)cap, sizeof *v);
    if (!v) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (const char *p = s;; p++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && *p == ' ') p++, len--;
        while (len && p[len - 1] == ' ') len--;
        if (!len) {
            free_names(v, *n);
            *n = 0;
            return af_err_set(err, AF_ERR_USAGE, "%s: empty node name in '%s'", flag, s);
        }
        if (!(v[*n] = strndup(p, len))) {
            free_names(v, *n);
            *n = 0;
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        }
        (*n)++;
        if (!e) break;
        p = e;
    }
    *out = v;
    return AF_OK;
}

static int find_graph_node(const af_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op != AF_OP_NONE && g->nodes[i].name && !strcmp(g->nodes[i].name, name))
            return i;
    return -1;
}

/* Stores node i's float constants stored as halves as fp32 again. */
static void widen_weights(af_graph *g, int i, af_convert_report *r)
{
    const af_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        af_tensor *t = &g->tensors[n->in[k]];
        if (!t->data || t->blob || t->encoding != AF_ENC_FP16 || t->dtype != AF_DTYPE_F32) continue;
        t->encoding = AF_ENC_RAW;
        r->weight_bytes += (uint64_t)af_tensor_nbytes(t) / 2;
    }
}

af_status af_placement_apply(af_graph *g, const af_placement *pl, af_convert_report *r,
                             uint8_t *cpu, af_err *err)
{
    for (int k = 0; k < pl->n_fp32 + pl->n_paired; k++) {
        int fp32 = k < pl->n_fp32;
        const char *name = fp32 ? pl->fp32[k] : pl->paired[k - pl->n_fp32];
        int i = find_graph_node(g, name);
        if (i < 0)
            return af_err_set(err, AF_ERR_USAGE, "%s: no node '%s' in the lowered program (node "
                              "names as 'aneforge inspect' and 'validate --per-layer' show them)",
                              fp32 ? "--keep-fp32" : "--paired-fp16", name);
        if (!fp32) continue;
        widen_weights(g, i, r);
        if (cpu) cpu[i] = 1;
    }
    return AF_OK;
}

/* ---- estimated time ------------------------------------------------------------------------ */

const af_target_family *af_placement_family(const af_convert_options *o)
{
    const af_target_family *f = o->target ? af_target_find(o->target) : NULL;
    return f ? f : af_target_find("h13");
}

/* ---- the search ------------------------------------------------------------------------------ */

typedef struct unit {
    int node;
    int *nodes;      /* node and the non-alias readers of its f32 outputs */
    int n;
    double psnr;     /* guided PSNR with this unit alone placed */
    double cost;     /* estimated time of its nodes */
} unit;

typedef struct search {
    const af_convert_options *o;
    af_cfg_options *co;  /* one per --cfg-calib pair */
    af_cfg_ref *ref;     /* the fp32 program's outputs on each pair */
    int n_pairs;
    af_bundle *b;
    afb_file *f;
    int n_nodes;
    const char **names;
    double *time;    /* per node, estimated (microseconds) */
    double total_time;
    uint8_t value;   /* AF_PREC_FP32 or AF_PREC_PAIRED */
    unit *units;
    int n_units;
    uint64_t done, total;
} search;

static int is_alias(const afb_file *f, const afb_node *n)
{
    if (n->op != AF_OP_RESHAPE && n->op != AF_OP_IDENTITY) return 0;
    const afb_tensor *a = &f->tensors[n->in[0]], *b = &f->tensors[n->out[0]];
    return a->storage == AFB_STORAGE_ARENA && b->storage == AFB_STORAGE_ARENA &&
           a->arena_offset == b->arena_offset;
}

/* The guided PSNR of T with prec: the worst output of the worst calibration pair (NaN counts
 * lowest). */
static af_status measure(search *s, const uint8_t *prec, double *psnr, af_err *err)
{
    *psnr = INFINITY;
    for (int p = 0; p < s->n_pairs && err->code == AF_OK; p++) {
        af_cfg_output *outs = calloc((size_t)s->ref[p].n_outputs + 1, sizeof *outs);
        if (!outs) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        if (af_cfg_measure(&s->co[p], s->b, &s->ref[p], prec, outs, err) == AF_OK)
            for (int i = 0; i < s->ref[p].n_outputs; i++)
                if (!isnan(*psnr) && (isnan(outs[i].g.psnr) || outs[i].g.psnr < *psnr))
                    *psnr = outs[i].g.psnr;
        free(outs);
    }
    s->done++;
    if (s->o->progress && s->total)
        s->o->progress(s->o->progress_user, "placement", s->done, s->total);
    return err->code;
}

/* Units: each non-alias node writing an f32 arena tensor, with that tensor's readers. */
static af_status build_units(search *s, af_err *err)
{
    const afb_file *f = s->f;
    int32_t *root = malloc(sizeof(int32_t) * (f->n_tensors + 1));
    s->units = calloc(f->n_nodes + 1, sizeof *s->units);
    if (!root || !s->units) {
        free(root);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    for (uint32_t t = 0; t < f->n_tensors; t++) root[t] = (int32_t)t;
    for (uint32_t i = 0; i < f->n_nodes; i++)
        if (is_alias(f, &f->nodes[i])) root[f->nodes[i].out[0]] = root[f->nodes[i].in[0]];
    for (uint32_t i = 0; i < f->n_nodes && err->code == AF_OK; i++) {
        const afb_node *n = &f->nodes[i];
        int f32 = 0;
        for (int k = 0; k < n->n_out; k++)
            f32 |= n->out[k] >= 0 && f->tensors[n->out[k]].storage == AFB_STORAGE_ARENA &&
                   f->tensors[n->out[k]].dtype == AF_DTYPE_F32;
        if (is_alias(f, n) || !f32) continue;
        unit *u = &s->units[s->n_units++];
        u->node = (int)i;
        u->nodes = malloc(sizeof(int) * (f->n_nodes + 1));
        if (!u->nodes) {
            af_err_set(err, AF_ERR_NOMEM, "out of memory");
            break;
        }
        u->nodes[u->n++] = (int)i;
        for (uint32_t j = i + 1; j < f->n_nodes; j++) {
            const afb_node *m = &f->nodes[j];
            int reads = 0;
            for (int a = 0; !is_alias(f, m) && a < m->n_in && !reads; a++)
                for (int k = 0; m->in[a] >= 0 && k < n->n_out && !reads; k++)
                    reads = n->out[k] >= 0 && root[m->in[a]] == root[n->out[k]];
            if (reads) u->nodes[u->n++] = (int)j;
        }
        for (int k = 0; k < u->n; k++) u->cost += s->time[u->nodes[k]];
    }
    free(root);
    return err->code;
}

static int by_contribution(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    double p = isnan(x->psnr) ? -INFINITY : x->psnr, q = isnan(y->psnr) ? -INFINITY : y->psnr;
    if (fabs(p - q) > 0.05 && p != q) return p > q ? -1 : 1; /* 0.05 dB: measurement ties */
    if (x->cost != y->cost) return x->cost < y->cost ? -1 : 1;
    return x->node - y->node;
}

/* prec = the units whose flag is set, placed at s->value. */
static void compose(const search *s, const uint8_t *chosen, uint8_t *prec)
{
    memset(prec, AF_PREC_FP16, (size_t)s->n_nodes);
    for (int u = 0; u < s->n_units; u++)
        for (int k = 0; chosen[u] && k < s->units[u].n; k++) prec[s->units[u].nodes[k]] = s->value;
}

/* The guided PSNR with the first k ranked units placed (chosen[] left so). */
static af_status measure_prefix(search *s, uint8_t *chosen, uint8_t *prec, int k, double *psnr,
                                af_err *err)
{
    for (int u = 0; u < s->n_units; u++) chosen[u] = u < k;
    compose(s, chosen, prec);
    return measure(s, prec, psnr, err);
}

/* The fewest first ranked units meeting the gate: doubling k until it does, then bisecting
 * (the PSNR of a prefix grows with k nearly always; the answer is a measured prefix that meets
 * the gate, the whole list when none does). Returns k, *psnr its measure. */
static int shortest_prefix(search *s, uint8_t *chosen, uint8_t *prec, double gate, double *psnr,
                           af_err *err)
{
    int lo = 0, hi = 1; /* lo fails (nothing placed: the gate was not met), hi to be measured */
    double p = -INFINITY;
    for (;; hi = hi * 2 < s->n_units ? hi * 2 : s->n_units) {
        if (measure_prefix(s, chosen, prec, hi, &p, err) != AF_OK) return 0;
        if (p >= gate || hi == s->n_units) break;
        lo = hi;
    }
    *psnr = p;
    if (!(p >= gate)) return hi;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (measure_prefix(s, chosen, prec, mid, &p, err) != AF_OK) return 0;
        if (p >= gate) hi = mid, *psnr = p;
        else lo = mid;
    }
    for (int u = 0; u < s->n_units; u++) chosen[u] = u < hi;
    return hi;
}

/* Steps 3 and 4: *psnr is the measure of the final choice (prec). */
static af_status choose(search *s, uint8_t *prec, double *psnr, af_err *err)
{
    double gate = s->o->min_cfg_psnr > 0 ? s->o->min_cfg_psnr : 40;
    uint8_t *chosen = calloc((size_t)s->n_units + 1, 1);
    int n_added = 0;
    if (!chosen) af_err_set(err, AF_ERR_NOMEM, "out of memory");
    s->total = (uint64_t)s->n_units * 2 + 1; /* about: ranking, then the prefix and pruning */
    for (int u = 0; err->code == AF_OK && u < s->n_units; u++) {
        chosen[u] = 1;
        compose(s, chosen, prec);
        chosen[u] = 0;
        measure(s, prec, &s->units[u].psnr, err);
    }
    if (err->code == AF_OK) qsort(s->units, (size_t)s->n_units, sizeof *s->units, by_contribution);
    n_added = err->code == AF_OK ? shortest_prefix(s, chosen, prec, gate, psnr, err) : 0;
    if (err->code == AF_OK && !(*psnr >= gate))
        af_err_set(err, AF_ERR_UNSUPPORTED, "%s: --min-cfg-psnr %.2f dB not reachable: the guided "
                   "output is %.2f dB with every node placed %s", s->o->model_path, gate, *psnr,
                   s->value == AF_PREC_FP32 ? "fp32" : "paired");
    for (int k = n_added - 1; err->code == AF_OK && k >= 0; k--) { /* fewest: drop what is not needed */
        double p;
        chosen[k] = 0;
        compose(s, chosen, prec);
        if (measure(s, prec, &p, err) == AF_OK && p >= gate) *psnr = p;
        else chosen[k] = 1;
    }
    if (chosen) compose(s, chosen, prec);
    free(chosen);
    return err->code;
}

/* ---- the conversion ------------------------------------------------------------------------ */

static void search_free(search *s)
{
    for (int u = 0; s->units && u < s->n_units; u++) free(s->units[u].nodes);
    free(s->units);
    free(s->names);
    free(s->time);
    for (int p = 0; s->ref && p < s->n_pairs; p++) af_cfg_ref_free(&s->ref[p]);
    free(s->ref);
    free(s->co);
    if (s->f) afb_close(s->f);
    af_bundle_close(s->b);
}

/* T's node names, its estimated times on the cost family, and (with_ref) the fp32 program's
 * outputs. */
static af_status search_open(search *s, const char *tmp, int with_ref, af_err *err)
{
    char msg[512];
    af_status st = af_bundle_open(tmp, &s->b, msg, sizeof msg);
    if (st != AF_OK) return af_err_set(err, st, "%s", msg);
    if (afb_open_file(tmp, &s->f, err) != AF_OK) return err->code;
    s->n_nodes = af_bundle_node_count(s->b);
    s->names = calloc((size_t)s->n_nodes + 1, sizeof *s->names);
    s->time = calloc((size_t)s->n_nodes + 1, sizeof *s->time);
    if (!s->names || !s->time) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < s->n_nodes; i++) s->names[i] = af_bundle_node_name(s->b, i);
    af_cost_report cr = {0};
    af_err cerr = {0};
    if (af_cost_bundle(s->f, af_placement_family(s->o), s->co[0].fp16_weights ? AF_WENC_FP16 : -1,
                       &cr, &cerr) == AF_OK) {
        af_placement_node_times(&cr, s->names, s->n_nodes, s->time);
        s->total_time = cr.time_us;
    }
    af_cost_report_free(&cr);
    if (!with_ref) return AF_OK;
    if (!(s->ref = calloc((size_t)s->n_pairs, sizeof *s->ref)))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    return af_cfg_references(s->co, s->n_pairs, s->ref, err);
}

/* prec from the named nodes of pl (names checked against T). */
static af_status resolve(const search *s, const af_placement *pl, uint8_t *prec, af_err *err)
{
    memset(prec, AF_PREC_FP16, (size_t)s->n_nodes);
    for (int k = 0; k < pl->n_fp32 + pl->n_paired; k++) {
        int fp32 = k < pl->n_fp32;
        const char *name = fp32 ? pl->fp32[k] : pl->paired[k - pl->n_fp32];
        int i = 0;
        while (i < s->n_nodes && strcmp(s->names[i] ? s->names[i] : "", name)) i++;
        if (i == s->n_nodes)
            return af_err_set(err, AF_ERR_USAGE, "%s: no node '%s' in the lowered program (node "
                              "names as 'aneforge inspect' and 'validate --per-layer' show them)",
                              fp32 ? "--keep-fp32" : "--paired-fp16", name);
        if (prec[i] != AF_PREC_FP16)
            return af_err_set(err, AF_ERR_USAGE, "node '%s' is named twice in --keep-fp32 and "
                              "--paired-fp16", name);
        prec[i] = fp32 ? AF_PREC_FP32 : AF_PREC_PAIRED;
    }
    return AF_OK;
}

/* The chosen nodes of prec with value v into a name list. */
static af_status names_of(const search *s, const uint8_t *prec, uint8_t v, char ***out, int *n,
                          af_err *err)
{
    *n = 0;
    *out = calloc((size_t)s->n_nodes + 1, sizeof **out);
    if (!*out) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < s->n_nodes; i++)
        if (prec[i] == v && !((*out)[(*n)++] = strdup(s->names[i] ? s->names[i] : "")))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    return AF_OK;
}

/* Manual lists and/or auto on T, with the measures and shares, into pl. */
static af_status place(search *s, af_placement *pl, af_err *err)
{
    uint8_t *prec = calloc((size_t)s->n_nodes + 1, 1);
    if (!prec) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    int is_auto = pl->mode_fp32 && !strcmp(pl->mode_fp32, "auto");
    is_auto |= pl->mode_paired && !strcmp(pl->mode_paired, "auto");
    s->value = pl->mode_paired && !strcmp(pl->mode_paired, "auto") ? AF_PREC_PAIRED : AF_PREC_FP32;
    if (s->ref) measure(s, prec, &pl->psnr_fp16, err); /* nothing placed */
    if (err->code == AF_OK) resolve(s, pl, prec, err);
    if (err->code == AF_OK && is_auto && !(pl->psnr_fp16 >= pl->gate) &&
        build_units(s, err) == AF_OK) { /* nothing to place when all fp16 meets the gate */
        uint8_t *keep = malloc((size_t)s->n_nodes + 1);
        if (!keep) af_err_set(err, AF_ERR_NOMEM, "out of memory");
        else if (choose(s, keep, &pl->psnr_placed, err) == AF_OK)
            for (int i = 0; i < s->n_nodes; i++)
                if (keep[i] != AF_PREC_FP16 && prec[i] == AF_PREC_FP16) prec[i] = keep[i];
        free(keep);
    }
    if (err->code == AF_OK && s->ref) measure(s, prec, &pl->psnr_placed, err);
    if (err->code == AF_OK) {
        free_names(pl->fp32, pl->n_fp32);
        free_names(pl->paired, pl->n_paired);
        pl->fp32 = pl->paired = NULL;
        pl->n_fp32 = pl->n_paired = 0;
        if (names_of(s, prec, AF_PREC_FP32, &pl->fp32, &pl->n_fp32, err) == AF_OK)
            names_of(s, prec, AF_PREC_PAIRED, &pl->paired, &pl->n_paired, err);
    }
    free(prec);
    return err->code;
}

static af_status check_options(const af_convert_options *o, af_err *err)
{
    int a = o->keep_fp32 && !strcmp(o->keep_fp32, "auto");
    int b = o->paired_fp16 && !strcmp(o->paired_fp16, "auto");
    if (a && b)
        return af_err_set(err, AF_ERR_USAGE, "--keep-fp32 auto and --paired-fp16 auto together: "
                          "choose one by search, name the other's nodes");
    if ((a || b) && !o->cfg_calib_dir)
        return af_err_set(err, AF_ERR_USAGE, "%s auto needs --cfg-calib DIR (DIR/cond/ and "
                          "DIR/uncond/ input sets)", a ? "--keep-fp32" : "--paired-fp16");
    if (o->min_cfg_psnr < 0 || o->cfg_scale < 0 || isnan(o->min_cfg_psnr) || isnan(o->cfg_scale))
        return af_err_set(err, AF_ERR_USAGE, "--min-cfg-psnr and --cfg-scale must be positive");
    return AF_OK;
}

static af_status init_lists(const af_convert_options *o, af_placement *pl, af_err *err)
{
    const char *flags[2] = {"--keep-fp32", "--paired-fp16"}, *vals[2] = {o->keep_fp32, o->paired_fp16};
    for (int k = 0; k < 2; k++) {
        if (!vals[k]) continue;
        int is_auto = !strcmp(vals[k], "auto");
        *(k ? &pl->mode_paired : &pl->mode_fp32) = is_auto ? "auto" : "manual";
        if (!is_auto && split_names(flags[k], vals[k], k ? &pl->paired : &pl->fp32,
                                    k ? &pl->n_paired : &pl->n_fp32, err) != AF_OK)
            return err->code;
    }
    return AF_OK;
}

/* The measure's options for each --cfg-calib pair (paths[2k], paths[2k + 1]); one entry without
 * pairs (the cost's weight encoding reads it). */
static af_status pair_options(search *s, const af_val_options *vo, double scale, int halves,
                              char **paths, int n_pairs, af_err *err)
{
    s->n_pairs = n_pairs;
    if (!(s->co = calloc((size_t)n_pairs + 1, sizeof *s->co)))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    s->co[0] = (af_cfg_options){*vo, NULL, NULL, scale, halves};
    for (int p = 0; p < n_pairs; p++)
        s->co[p] = (af_cfg_options){*vo, paths[2 * p], paths[2 * p + 1], scale, halves};
    return AF_OK;
}

/* The fp16 program's options for the search (T, fp16 emulation). */
static af_val_options search_val_options(const af_convert_options *o, const char *tmp)
{
    af_val_options vo = {0};
    vo.model_path = o->model_path;
    vo.bundle_path = tmp;
    vo.fp16 = 1;
    vo.n_threads = 2;
    vo.shapes = o->shapes;
    vo.n_shapes = o->n_shapes;
    vo.image_inputs = o->image_inputs;
    vo.n_image_inputs = o->n_image_inputs;
    vo.freeze = o->freeze;
    vo.n_freeze = o->n_freeze;
    return vo;
}

/* The shares of T's estimate (the final bundle's differs by weights) the placement takes. */
static af_status shares(search *s, af_placement *pl, af_err *err)
{
    uint8_t *prec = calloc((size_t)s->n_nodes + 1, 1);
    if (!prec) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (resolve(s, pl, prec, err) == AF_OK && s->total_time > 0)
        for (int i = 0; i < s->n_nodes; i++) {
            pl->cpu_share += prec[i] == AF_PREC_FP32 ? s->time[i] / s->total_time : 0;
            pl->paired_extra += prec[i] == AF_PREC_PAIRED ? s->time[i] / s->total_time : 0;
        }
    free(prec);
    return err->code;
}

/* Step 1 and the search, on a temporary bundle removed before returning. */
static af_status search_run(const af_convert_options *o, af_placement *pl, af_err *err)
{
    char **paths = NULL;
    int n_pairs = 0;
    if (o->cfg_calib_dir && af_cfg_calib_pairs(o->cfg_calib_dir, &paths, &n_pairs, err) != AF_OK) {
        af_cfg_calib_pairs_free(paths, n_pairs);
        return err->code;
    }
    pl->n_pairs = n_pairs;
    const char *tdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/aneforge-place-XXXXXX", tdir && *tdir ? tdir : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        af_cfg_calib_pairs_free(paths, n_pairs);
        return af_err_set(err, AF_ERR_IO, "%s: cannot create a temporary file", tmp);
    }
    close(fd);
    af_convert_options to = *o;
    /* fp16 weights: T keeps them fp32 and the measure rounds those of the nodes left fp16, so
     * that a placed node reads fp32 weights as it will in the bundle; other encodings: T has
     * the deployed weights, which placed nodes keep too */
    int halves = af_compress_mode_from_name(o->compress) == 1;
    if (halves) to.compress = "fp32";
    to.out_path = tmp;
    to.keep_fp32 = to.paired_fp16 = NULL;
    to.progress = NULL;
    af_convert_report tr;
    search s;
    memset(&s, 0, sizeof s);
    s.o = o;
    af_val_options vo = search_val_options(o, tmp);
    if (pair_options(&s, &vo, pl->scale, halves, paths, n_pairs, err) == AF_OK &&
        af_convert_with(&to, &tr, NULL, err) == AF_OK &&
        search_open(&s, tmp, n_pairs > 0, err) == AF_OK && place(&s, pl, err) == AF_OK)
        shares(&s, pl, err);
    search_free(&s);
    af_cfg_calib_pairs_free(paths, n_pairs);
    unlink(tmp);
    return err->code;
}

af_status af_placement_convert(const af_convert_options *o, af_convert_report *r, af_err *err)
{
    memset(r, 0, sizeof *r);
    if (!o->model_path || !o->out_path)
        return af_err_set(err, AF_ERR_USAGE, "a model path and an output path are required");
    af_placement pl;
    memset(&pl, 0, sizeof pl);
    pl.scale = o->cfg_scale > 0 ? o->cfg_scale : 7.5;
    pl.gate = o->min_cfg_psnr > 0 ? o->min_cfg_psnr : 40;
    pl.psnr_fp16 = pl.psnr_placed = NAN;
    pl.measured = o->cfg_calib_dir != NULL;
    snprintf(pl.family, sizeof pl.family, "%s", af_placement_family(o)->name);
    if (check_options(o, err) == AF_OK && init_lists(o, &pl, err) == AF_OK &&
        search_run(o, &pl, err) == AF_OK && af_convert_with(o, r, &pl, err) == AF_OK) {
        r->fp32_nodes = pl.n_fp32;
        r->paired_nodes = pl.n_paired;
        r->cfg_psnr_fp16 = pl.psnr_fp16;
        r->cfg_psnr_placed = pl.psnr_placed;
        r->cpu_time_share = pl.cpu_share;
        r->paired_time_extra = pl.paired_extra;
        snprintf(r->cost_family, sizeof r->cost_family, "%s", pl.family);
    }
    free_names(pl.fp32, pl.n_fp32);
    free_names(pl.paired, pl.n_paired);
    return err->code;
}
