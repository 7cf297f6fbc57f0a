/* compress/auto.c — --compress auto: per-tensor candidates judged on their layer's output over
 * calibration activations, then the whole-model gate (see compress.h for the rules).
 *
 * Layer gate: a candidate passes when its layer's output PSNR (against the same layer with fp32
 * weights, on the fp32 program's activations) is at least layer_psnr, by default min_psnr + 5 dB.
 * Why +5 dB: the layer errors of a network add up (roughly in power) at the output, so each
 * layer must be cleaner than the model as a whole; 5 dB is a first cut that rejects clearly too
 * lossy encodings without forcing everything to fp16. The whole-model gate is what guarantees
 * min_psnr; it promotes the most sensitive layers until the outputs pass.
 *
 * Task gates (--min-cosine, --min-topk, --min-argmax, --min-iou; convert/gates.h) join the
 * whole-model gate: the measures accumulate over the calibration sets per output, and while any
 * gate fails the same most sensitive layer is promoted. The layer gate stays PSNR only: a layer
 * cosine criterion (1 - cos <= (1 - min_cosine) / f) was measured on ResNet-18 and MobileNetV2
 * (h14, --min-cosine 1e-4 and 1e-5 from 1): f = 3.16 (the +5 dB analogue) made bundles larger
 * (0.452 -> 0.500 and 0.373 -> 0.490 of fp32), f = 1 saved promotions (42 -> 9) and ~1-2.5 s
 * but no bytes (0.373 -> 0.377), so it is not worth a second heuristic threshold.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../convert/gates.h"
#include "../runtime/kernels/internal.h"
#include "calib.h"
#include "compress.h"
#include "gptq.h"

#define MAX_CANDS AF_CK_COUNT

typedef struct wstate {
    int tensor;
    int n_cands;                 /* candidates, ascending stored size; fp16 is implicit last */
    int lazy;                    /* 1: blobs encoded on demand, held only while judged or chosen
                                    (data-free candidates: the encoders are deterministic) */
    af_ckind kind[MAX_CANDS];
    af_cblob blob[MAX_CANDS];
    uint64_t bytes[MAX_CANDS];
    double sse[MAX_CANDS + 1];   /* layer output error per candidate, [n_cands] = fp16 */
    double peak, count;          /* max |ref| and elements over all sets and consumers */
    double energy;               /* sum of ref^2 over the same */
    int pos;                     /* chosen candidate (n_cands = fp16) */
    int gate_pos;                /* the layer gate's choice, before the whole-model gate */
    int promotion;               /* 1-based whole-model gate step that first moved it, 0 = never */
} wstate;

typedef struct auto_ctx {
    af_graph *g;
    const af_compress_options *o;
    wstate *w;
    int nw;
    af_geval ev;
    af_calib cal;
    float **ref_out;             /* per set, per graph output: fp32 program outputs */
    float *tmp_w, *tmp_out;      /* scratch: one decoded weight, one layer output */
    int *node_w;                 /* per node: the weight (index into w) it reads, or -1 */
    af_gates gates;              /* the task gates (min_psnr is judged on the worst output) */
    af_task_plan *plans;         /* per graph output: its task measures */
    uint64_t done, total;
    int n_data_aware;            /* weights whose candidates GPTQ re-coded */
} auto_ctx;

static double cand_psnr(const wstate *s, int c)
{
    return af_psnr_db(s->peak, s->sse[c], s->count);
}

static void progress(auto_ctx *a, const char *stage)
{
    a->done++;
    if (a->o->progress) a->o->progress(a->o->progress_user, stage, a->done, a->total);
}

/* ---- candidates ------------------------------------------------------------------------------ */

static int family_streams(const af_compress_options *o, af_ckind k)
{
    if (!o->family) return 1; /* no family: every encoding is a candidate */
    return (o->family->native_streams >> af_ctraits_table[k].wenc) & 1u;
}

/* st: the weight's calibration statistics (data-aware candidates, gptq.h), or NULL */
/* The encoders' parameters for s (embeddings are never pruned). */
static af_cparams cand_params(const auto_ctx *a, const wstate *s)
{
    int emb = 0;
    af_compress_is_weight(a->g, s->tensor, &emb);
    af_cparams p = a->o->p;
    if (emb) p.sparsity = 0;
    return p;
}

/* Without statistics the candidates are only listed (sizes from the encoders' size rows) and
 * encoded when needed; with them (GPTQ codes) encoded now, while the statistics exist. */
static af_status make_cands(auto_ctx *a, wstate *s, af_wstats *st, af_err *err)
{
    const af_tensor *t = &a->g->tensors[s->tensor];
    af_cparams p = cand_params(a, s);
    p.col_importance = af_wstats_col_importance(st); /* palettes: data-aware k-means */
    uint64_t fp16 = af_ctraits_table[AF_CK_FP16].stored_size(t->data, t->rank, t->dims, &p);
    for (int k = AF_CK_FP16 + 1; k < AF_CK_COUNT; k++) {
        if (!af_ctraits_table[k].auto_candidate || !family_streams(a->o, (af_ckind)k)) continue;
        uint64_t b = af_ctraits_table[k].stored_size(t->data, t->rank, t->dims, &p);
        if (b >= fp16) continue; /* e.g. sparse on a dense tensor */
        int at = s->n_cands;     /* insertion sort by size (stable: table order on ties) */
        while (at > 0 && s->bytes[at - 1] > b) {
            s->kind[at] = s->kind[at - 1], s->bytes[at] = s->bytes[at - 1];
            at--;
        }
        s->kind[at] = (af_ckind)k, s->bytes[at] = b;
        s->n_cands++;
    }
    s->lazy = st == NULL || !st->valid;
    for (int c = 0; c < s->n_cands && !s->lazy; c++)
        if (af_ctraits_table[s->kind[c]].encode(t->data, t->rank, t->dims, &p, &s->blob[c], err) ||
            af_gptq_recode(s->kind[c], t->data, t->rank, t->dims, st, &s->blob[c], err))
            return af_err_prefix(err, t->name);
    for (int c = 0; c < s->n_cands && !s->lazy; c++) s->bytes[c] = s->blob[c].bytes;
    return AF_OK;
}

/* Candidate c's blob, encoded now when it is not held (lazy candidates). */
static af_status ensure_blob(auto_ctx *a, wstate *s, int c, af_err *err)
{
    if (c >= s->n_cands || s->blob[c].data) return AF_OK;
    const af_tensor *t = &a->g->tensors[s->tensor];
    af_cparams p = cand_params(a, s);
    if (af_ctraits_table[s->kind[c]].encode(t->data, t->rank, t->dims, &p, &s->blob[c], err))
        return af_err_prefix(err, t->name);
    s->bytes[c] = s->blob[c].bytes;
    return AF_OK;
}

/* Lazy candidates: every blob of s but candidate keep's is let go. */
static void release_blobs(wstate *s, int keep)
{
    for (int c = 0; s->lazy && c < s->n_cands; c++)
        if (c != keep) af_cblob_drop(&s->blob[c]);
}

/* ---- layer judging ------------------------------------------------------------------------- */

static af_status decode_cand(auto_ctx *a, wstate *s, int c, float *out, af_err *err)
{
    if (ensure_blob(a, s, c, err) != AF_OK) return err->code;
    const af_tensor *t = &a->g->tensors[s->tensor];
    af_ckind k = c < s->n_cands ? s->kind[c] : AF_CK_FP16;
    const af_cblob none = {0};
    return af_cenc_decode(k, t->data, c < s->n_cands ? &s->blob[c] : &none, t->rank, t->dims,
                          out, err);
}


typedef struct enc_job {
    auto_ctx *a;
    wstate *s;
    af_err *errs; /* per candidate */
} enc_job;

static void enc_task(void *arg, int64_t c, int tid)
{
    enc_job *j = arg;
    (void)tid;
    ensure_blob(j->a, j->s, (int)c, &j->errs[c]);
}

/* Lazy candidates: every blob of s encoded at once, one candidate per task on the calibration
 * program's threads (the encoders are single-threaded and dominate auto's time; each task writes
 * only its own candidate's slot). */
static af_status encode_all(auto_ctx *a, wstate *s, af_err *err)
{
    af_err errs[MAX_CANDS];
    memset(errs, 0, sizeof errs);
    enc_job j = {a, s, errs};
    afk_parallel(&a->ev.ctx, s->n_cands, enc_task, &j);
    for (int c = 0; c < s->n_cands; c++)
        if (errs[c].code != AF_OK) {
            *err = errs[c];
            release_blobs(s, -1);
            return err->code;
        }
    return AF_OK;
}

/* Runs consumer node i of s's weight with each candidate (node i's inputs and its fp32 output
 * are live); accumulates the errors against that output. */
static af_status judge_node(auto_ctx *a, wstate *s, int i, af_err *err)
{
    const af_node *n = &a->g->nodes[i];
    const af_tensor *o = &a->g->tensors[n->out[0]];
    const float *ref = a->ev.buf[n->out[0]];
    int64_t m = af_tensor_numel(o);
    if (o->dtype != AF_DTYPE_F32) return AF_OK;
    for (int64_t e = 0; e < m; e++) {
        if (fabsf(ref[e]) > s->peak) s->peak = fabsf(ref[e]);
        s->energy += (double)ref[e] * ref[e];
    }
    s->count += (double)m;
    if (s->lazy && encode_all(a, s, err) != AF_OK) return err->code;
    for (int c = 0; c <= s->n_cands; c++) {
        af_status st = decode_cand(a, s, c, a->tmp_w, err);
        a->ev.over[s->tensor] = a->tmp_w;
        if (st == AF_OK) st = af_geval_node(&a->ev, i, a->tmp_out, err);
        a->ev.over[s->tensor] = NULL;
        if (c == s->n_cands || st != AF_OK) release_blobs(s, -1);
        if (st != AF_OK) return st;
        double sse = 0;
        for (int64_t e = 0; e < m; e++) {
            double d = (double)a->tmp_out[e] - ref[e];
            sse += d * d;
        }
        s->sse[c] += sse;
    }
    return AF_OK;
}

static af_status judge_hook(void *user, int i, af_err *err)
{
    auto_ctx *a = user;
    if (a->node_w[i] < 0) return AF_OK;
    af_status st = judge_node(a, &a->w[a->node_w[i]], i, err);
    progress(a, "judging layers");
    return st;
}

static af_status judge_layers(auto_ctx *a, af_err *err)
{
    for (int set = 0; set < a->cal.n_sets; set++) {
        af_calib_set(&a->cal, set, &a->ev);
        if (af_geval_run_live(&a->ev, NULL, judge_hook, a, err) != AF_OK) return err->code;
        for (int k = 0; k < a->g->n_outputs; k++) {
            int t = a->g->outputs[k];
            int64_t b = af_tensor_nbytes(&a->g->tensors[t]);
            memcpy(a->ref_out[set * a->g->n_outputs + k], a->ev.buf[t], (size_t)b);
        }
    }
    double gate = a->o->layer_psnr > 0 ? a->o->layer_psnr : a->o->min_psnr + 5.0;
    for (int i = 0; i < a->nw; i++) {
        wstate *s = &a->w[i];
        s->pos = s->n_cands;
        for (int c = 0; c < s->n_cands && s->pos == s->n_cands; c++)
            if (cand_psnr(s, c) >= gate) s->pos = c;
        s->gate_pos = s->pos;
        /* promotions only move up: the candidates below the layer gate's choice are done with
         * (size first may pick any of them) */
        for (int c = 0; c < s->gate_pos && a->o->max_size <= 0; c++) af_cblob_drop(&s->blob[c]);
    }
    return AF_OK;
}

/* ---- whole-model gate ------------------------------------------------------------------------ */

/* The lower of a and b; NaN is the lowest. */
static double worst_of(double a, double b) { return isnan(a) ? a : (isnan(b) || b < a) ? b : a; }

/* Folds one output's measures into r's worst values (first: the first output measured). The
 * task values are NaN where the output has no such measure. */
static void note_measures(af_compress_result *r, const af_metrics *m, const af_task_metrics *t,
                          int first)
{
    double *dst[] = {&r->model_top1, &r->model_topk, &r->model_argmax, &r->model_iou};
    double v[] = {t->top1, t->topk, t->argmax, t->iou};
    r->model_cosine = first ? m->cosine : worst_of(r->model_cosine, m->cosine);
    for (int i = 0; i < 4; i++) {
        if (first) *dst[i] = NAN;
        if (!isnan(v[i])) *dst[i] = isnan(*dst[i]) ? v[i] : worst_of(*dst[i], v[i]);
    }
}

/* One run of the program with every weight at its current choice, each decoded into the
 * scratch just before the node that reads it (so no weight is held decoded: the memory of one
 * layer's f32 weights, not of the model's), activations freed once dead. */
static af_status choice_pre(void *user, int i, af_err *err)
{
    auto_ctx *a = user;
    wstate *s = a->node_w[i] >= 0 ? &a->w[a->node_w[i]] : NULL;
    if (s) release_blobs(s, s->pos); /* one blob per weight: the current choice's */
    if (s && decode_cand(a, s, s->pos, a->tmp_w, err) != AF_OK) return err->code;
    if (s) a->ev.over[s->tensor] = a->tmp_w;
    return AF_OK;
}

static af_status choice_post(void *user, int i, af_err *err)
{
    auto_ctx *a = user;
    (void)err;
    if (a->node_w[i] >= 0) a->ev.over[a->w[a->node_w[i]].tensor] = NULL;
    return AF_OK;
}

typedef struct choice_job {
    auto_ctx *a;
    int *todo;    /* weights whose current choice has no blob yet */
    af_err *errs; /* per entry of todo */
} choice_job;

static void choice_task(void *arg, int64_t k, int tid)
{
    choice_job *j = arg;
    (void)tid;
    wstate *s = &j->a->w[j->todo[k]];
    ensure_blob(j->a, s, s->pos, &j->errs[k]);
}

/* Every weight's current choice encoded before the run, weights spread over the calibration
 * program's threads (a choice's blob is held until the choice changes, so after the first run
 * only promoted weights are encoded). */
static af_status encode_choices(auto_ctx *a, af_err *err)
{
    int *todo = malloc((size_t)a->nw * sizeof *todo + 1);
    af_err *errs = calloc((size_t)a->nw + 1, sizeof *errs);
    int n = 0;
    if (!todo || !errs) {
        free(todo), free(errs);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < a->nw; i++) {
        wstate *s = &a->w[i];
        release_blobs(s, s->pos);
        if (s->pos < s->n_cands && !s->blob[s->pos].data) todo[n++] = i;
    }
    choice_job j = {a, todo, errs};
    afk_parallel(&a->ev.ctx, n, choice_task, &j);
    af_status st = AF_OK;
    for (int k = 0; k < n && st == AF_OK; k++)
        if (errs[k].code != AF_OK) *err = errs[k], st = err->code;
    free(todo), free(errs);
    return st;
}

static af_status run_choices(auto_ctx *a, af_err *err)
{
    if (encode_choices(a, err) != AF_OK) return err->code;
    return af_geval_run_live(&a->ev, choice_pre, choice_post, a, err);
}

/* Runs the model with every weight at its current choice over the calibration sets; the
 * measures accumulate over the sets per output. Returns the mask of failed gates (PSNR: the
 * lowest output PSNR, NaN outputs ignored, below min_psnr; the others per output, NaN fails). */
static af_status model_gates(auto_ctx *a, af_compress_result *r, int *failed, af_err *err)
{
    const af_graph *g = a->g;
    af_metrics_acc *acc = calloc((size_t)g->n_outputs + 1, sizeof *acc);
    af_task_counts *cnt = calloc((size_t)g->n_outputs + 1, sizeof *cnt);
    af_status st = acc && cnt ? AF_OK : af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int set = 0; set < a->cal.n_sets && st == AF_OK; set++) {
        af_calib_set(&a->cal, set, &a->ev);
        st = run_choices(a, err);
        for (int k = 0; k < g->n_outputs && st == AF_OK; k++) {
            const af_tensor *t = &g->tensors[g->outputs[k]];
            if (t->dtype != AF_DTYPE_F32) continue;
            const float *x = a->ev.buf[g->outputs[k]], *ref = a->ref_out[set * g->n_outputs + k];
            af_metrics_add(&acc[k], ref, x, (size_t)af_tensor_numel(t));
            af_task_add(&a->plans[k], t->rank, t->dims, ref, x, &cnt[k]);
        }
    }
    double psnr = INFINITY;
    int f = 0, first = 1;
    for (int k = 0; k < g->n_outputs && st == AF_OK; k++) {
        if (acc[k].n <= 0) continue;
        double p = af_psnr_db(acc[k].peak, acc[k].se, (double)acc[k].n);
        if (p < psnr) psnr = p;
        af_metrics m;
        af_task_metrics t;
        af_metrics_finish(&acc[k], &m);
        af_task_finish(&a->plans[k], &cnt[k], &t);
        f |= af_gates_failed(&a->gates, &m, &t);
        note_measures(r, &m, &t, first);
        first = 0;
    }
    r->model_psnr_db = psnr;
    *failed = f | (psnr < a->o->min_psnr ? AF_GATE_PSNR : 0);
    free(acc);
    free(cnt);
    return st;
}


/* Moves the layer with the lowest layer PSNR (not at fp16 yet) to its next larger candidate
 * that is more accurate. Returns 0 when every layer is at fp16. */
static int promote(auto_ctx *a, wstate **moved)
{
    wstate *worst = NULL;
    double wp = INFINITY;
    for (int i = 0; i < a->nw; i++) {
        wstate *s = &a->w[i];
        if (s->pos == s->n_cands) continue;
        double p = cand_psnr(s, s->pos);
        if (!worst || p < wp) worst = s, wp = p;
    }
    if (!worst) return 0;
    int c = worst->pos + 1;
    while (c < worst->n_cands && cand_psnr(worst, c) <= wp) c++;
    worst->pos = c;
    *moved = worst;
    return 1;
}

/* ---- size first (--max-size) ------------------------------------------------------------------
 * A multiple-choice knapsack: per weight one candidate (fp16 included), the sum of stored bytes
 * within the budget, the sum of the layers' relative output errors (sse / sum ref^2) least. Solved
 * by its Lagrangian: for a price lam per byte, each weight independently takes the candidate
 * minimising error + lam * bytes; the smallest lam whose choice fits is found by bisection (bytes
 * only fall as lam grows), then the bytes left over go, greedily, to the upgrades that remove the
 * most error per byte. */

static double rel_err(const wstate *s, int c) { return s->energy > 0 ? s->sse[c] / s->energy : 0; }

static uint64_t cand_bytes(const auto_ctx *a, const wstate *s, int c)
{
    return c < s->n_cands ? s->bytes[c] : 2 * (uint64_t)af_tensor_numel(&a->g->tensors[s->tensor]);
}

static uint64_t choose_at(auto_ctx *a, double lam)
{
    uint64_t total = 0;
    for (int i = 0; i < a->nw; i++) {
        wstate *s = &a->w[i];
        int best = s->n_cands;
        for (int c = 0; c < s->n_cands; c++)
            if (rel_err(s, c) + lam * (double)cand_bytes(a, s, c) <
                rel_err(s, best) + lam * (double)cand_bytes(a, s, best))
                best = c;
        s->pos = best;
        total += cand_bytes(a, s, best);
    }
    return total;
}

/* The best single upgrade within slack bytes (error removed per byte); 0 when none helps. */
static int upgrade(auto_ctx *a, uint64_t slack)
{
    wstate *bs = NULL;
    int bc = 0;
    double gain = 0;
    for (int i = 0; i < a->nw; i++) {
        wstate *s = &a->w[i];
        uint64_t b0 = cand_bytes(a, s, s->pos);
        for (int c = 0; c <= s->n_cands; c++) {
            uint64_t b = cand_bytes(a, s, c);
            double d = rel_err(s, s->pos) - rel_err(s, c);
            if (b <= b0 || b - b0 > slack || d <= 0) continue;
            if (d / (double)(b - b0) > gain) gain = d / (double)(b - b0), bs = s, bc = c;
        }
    }
    if (bs) bs->pos = bc;
    return bs != NULL;
}

static af_status size_first(auto_ctx *a, af_compress_result *r, af_err *err)
{
    uint64_t fp32 = 0, least = 0;
    for (int i = 0; i < a->nw; i++) {
        fp32 += 4 * (uint64_t)af_tensor_numel(&a->g->tensors[a->w[i].tensor]);
        least += cand_bytes(a, &a->w[i], 0);
    }
    double budget = a->o->max_size * (double)fp32;
    if ((double)least > budget)
        return af_err_set(err, AF_ERR_USAGE, "--max-size %g: the smallest encodings %s allows "
                          "take %.3f of the weights' fp32 bytes", a->o->max_size,
                          a->o->family ? a->o->family->name : "auto", (double)least / (double)fp32);
    double lo = 0, hi = 1;
    while ((double)choose_at(a, hi) > budget) hi *= 4; /* ends: all smallest fits */
    for (int it = 0; it < 100; it++) {
        double mid = 0.5 * (lo + hi);
        if ((double)choose_at(a, mid) > budget) lo = mid;
        else hi = mid;
    }
    uint64_t used = choose_at(a, hi);
    while (upgrade(a, (uint64_t)budget - used)) {
        used = 0;
        for (int i = 0; i < a->nw; i++) used += cand_bytes(a, &a->w[i], a->w[i].pos);
    }
    for (int i = 0; i < a->nw; i++) a->w[i].gate_pos = a->w[i].pos;
    r->size_ratio = fp32 ? (double)used / (double)fp32 : 0;
    return AF_OK;
}

/* The promotion sequence: promote() depends only on the layer PSNRs, never on a model run, so
 * the order in which the gate would move layers is known up front. steps[k] = (weight, its
 * position after step k + 1); returns the count (every layer at fp16 after the last). */
static int promotion_steps(auto_ctx *a, int **steps_out)
{
    int total = 0;
    for (int i = 0; i < a->nw; i++) total += a->w[i].n_cands - a->w[i].pos;
    int *steps = malloc(2 * (size_t)(total + 1) * sizeof *steps), n = 0;
    if (!steps) return -1;
    wstate *moved;
    while (promote(a, &moved)) {
        steps[2 * n] = (int)(moved - a->w), steps[2 * n + 1] = moved->pos;
        n++;
    }
    *steps_out = steps;
    return n;
}

/* Positions after the first k steps (from the layer gate's choice). */
static void apply_steps(auto_ctx *a, const int *steps, int k)
{
    for (int i = 0; i < a->nw; i++) a->w[i].pos = a->w[i].gate_pos, a->w[i].promotion = 0;
    for (int j = 0; j < k; j++) a->w[steps[2 * j]].pos = steps[2 * j + 1];
    for (int j = k - 1; j >= 0; j--) a->w[steps[2 * j]].promotion = j + 1; /* first step wins */
}

/* Measures the model after k steps; *failed: the gates failing there. */
static af_status gates_at(auto_ctx *a, const int *steps, int k, af_compress_result *r,
                          int *failed, af_err *err)
{
    apply_steps(a, steps, k);
    af_status st = model_gates(a, r, failed, err);
    progress(a, "whole-model gate");
    return st;
}

/* The fewest steps of the promotion sequence after which every gate passes, found by
 * bisection (one model run per halving instead of one per step; the result is the linear
 * scan's when passing is monotone in the step count, as more accurate layers make it). When
 * even the last step fails, all are taken and the failing gates stay in r->gates_failed.
 * r->decided_by: the gates that failed one step before the answer (they asked for its last
 * step). Size first (--max-size): the budget binds; the gates are only measured. */
static af_status model_gate(auto_ctx *a, af_compress_result *r, af_err *err)
{
    int failed;
    if (model_gates(a, r, &failed, err) != AF_OK) return err->code;
    progress(a, "whole-model gate");
    r->gates_failed = failed;
    if (a->o->max_size > 0 || !failed) return AF_OK;
    int *steps = NULL, n = promotion_steps(a, &steps);
    if (n < 0) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    int lo = 0, hi = n, lo_failed = failed, last = -1;
    af_status st = AF_OK;
    while (st == AF_OK && hi - lo > 1) {
        int mid = lo + (hi - lo) / 2, f;
        if ((st = gates_at(a, steps, mid, r, &f, err)) != AF_OK) break;
        if (f) lo = mid, lo_failed = f;
        else hi = mid, failed = 0;
        last = mid;
    }
    if (st == AF_OK && last != hi) st = gates_at(a, steps, hi, r, &failed, err); /* r at hi */
    r->gates_failed = failed;
    r->promotions = hi;
    r->decided_by = lo_failed;
    free(steps);
    return st;
}

/* ---- driver ---------------------------------------------------------------------------------- */

/* The task gates and, per graph output, the task measures the specs give it. */
static af_status setup_gates(auto_ctx *a, af_err *err)
{
    const af_graph *g = a->g;
    const af_compress_options *o = a->o;
    af_gates_none(&a->gates);
    a->gates.min_psnr = NAN; /* judged on the worst output, see model_gates */
    a->gates.min_cosine = o->min_cosine;
    a->gates.min_topk = o->min_topk;
    a->gates.min_argmax = o->min_argmax;
    a->gates.min_iou = o->min_iou;
    a->plans = calloc((size_t)g->n_outputs + 1, sizeof *a->plans);
    const char **names = calloc((size_t)g->n_outputs + 1, sizeof *names);
    af_status st = a->plans && names ? AF_OK : af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int k = 0; k < g->n_outputs && st == AF_OK; k++) {
        const af_tensor *t = &g->tensors[g->outputs[k]];
        names[k] = t->name;
        st = af_task_plan_for(o->tasks, o->n_tasks, t->name, t->rank, t->dims, &a->plans[k], err);
    }
    if (st == AF_OK)
        st = af_task_plans_check(o->tasks, o->n_tasks, &a->gates, names, a->plans, g->n_outputs,
                                 "the model", err);
    free(names);
    return st;
}

static af_status setup(auto_ctx *a, const int *weights, af_err *err)
{
    const af_graph *g = a->g;
    if (setup_gates(a, err) != AF_OK) return err->code;
    int64_t maxw = 1, maxo = 1;
    af_wstats *stats = NULL; /* with calibration files: data-aware candidates */
    if (!a->cal.random && !a->o->data_free) {
        if (!(stats = calloc((size_t)a->nw + 1, sizeof *stats)))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        if (af_wstats_collect(g, &a->cal, weights, a->nw, AF_WSTATS_MAX_FULL, stats, err)) {
            for (int i = 0; i < a->nw; i++) af_wstats_free(&stats[i]);
            free(stats);
            return err->code;
        }
    }
    af_status st = AF_OK;
    for (int i = 0; i < a->nw; i++) {
        a->w[i].tensor = weights[i];
        int64_t n = af_tensor_numel(&g->tensors[weights[i]]);
        if (n > maxw) maxw = n;
        if (st == AF_OK) st = make_cands(a, &a->w[i], stats ? &stats[i] : NULL, err);
        if (stats) {
            a->n_data_aware += stats[i].factored == 1;
            af_wstats_free(&stats[i]);
        }
        progress(a, "encoding candidates");
    }
    free(stats);
    if (st != AF_OK) return st;
    for (int i = 0; i < g->n_tensors; i++)
        if (!g->tensors[i].data && af_tensor_nbytes(&g->tensors[i]) > maxo * 4)
            maxo = af_tensor_nbytes(&g->tensors[i]) / 4 + 1;
    a->tmp_w = malloc((size_t)maxw * sizeof(float));
    a->tmp_out = malloc((size_t)maxo * sizeof(float));
    if (!(a->node_w = malloc((size_t)(g->n_nodes + 1) * sizeof *a->node_w)))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (af_compress_node_weights(g, weights, a->nw, a->node_w, err) != AF_OK) return err->code;
    a->ref_out = calloc((size_t)(a->cal.n_sets * g->n_outputs) + 1, sizeof(float *));
    if (!a->tmp_w || !a->tmp_out || !a->ref_out) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int set = 0; set < a->cal.n_sets; set++)
        for (int k = 0; k < g->n_outputs; k++) {
            int64_t b = af_tensor_nbytes(&g->tensors[g->outputs[k]]);
            if (!(a->ref_out[set * g->n_outputs + k] = malloc((size_t)(b > 0 ? b : 1))))
                return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        }
    return AF_OK;
}

static af_status apply_choices(auto_ctx *a, af_compress_result *r, af_err *err)
{
    for (int i = 0; i < a->nw; i++) {
        wstate *s = &a->w[i];
        af_tensor *t = &a->g->tensors[s->tensor];
        int fp16 = s->pos == s->n_cands;
        af_ckind k = fp16 ? AF_CK_FP16 : s->kind[s->pos];
        af_cparams p = a->o->p;
        release_blobs(s, s->pos);
        if (ensure_blob(a, s, s->pos, err) != AF_OK ||
            af_compress_apply(t, k, &p, fp16 ? NULL : &s->blob[s->pos], err) != AF_OK)
            return err->code;
        af_compress_choice *c = &r->choices[r->n++];
        c->tensor = s->tensor;
        c->kind = k;
        c->psnr_db = cand_psnr(s, s->pos);
        c->bytes = fp16 ? 2 * (uint64_t)af_tensor_numel(t) : t->blob_bytes;
        c->fp32_bytes = 4 * (uint64_t)af_tensor_numel(t);
        c->native = family_streams(a->o, k);
        c->gate_kind = s->gate_pos == s->n_cands ? AF_CK_FP16 : s->kind[s->gate_pos];
        c->gate_psnr_db = cand_psnr(s, s->gate_pos);
        c->promotion = s->promotion;
    }
    return AF_OK;
}

/* Every layer is at its most accurate candidate and a gate still fails: say which (appended to
 * any warning already there). */
static void warn_unmet(af_compress_result *r, const af_compress_options *o)
{
    char names[48];
    size_t len = strlen(r->warning);
    af_gates_str(r->gates_failed, names, sizeof names);
    if (o->max_size > 0)
        snprintf(r->warning + len, sizeof r->warning - len, "%s--compress auto --max-size %g: "
                 "within the budget the whole-model gate (%s) fails (model PSNR %.2f dB, "
                 "--min-psnr %.2f)", len ? "; " : "", o->max_size, names, r->model_psnr_db,
                 o->min_psnr);
    else
        snprintf(r->warning + len, sizeof r->warning - len, "%s--compress auto: the whole-model "
                 "gate (%s) still fails with every weight at its most accurate candidate (model "
                 "PSNR %.2f dB, --min-psnr %.2f)", len ? "; " : "", names, r->model_psnr_db,
                 o->min_psnr);
}

static void auto_free(auto_ctx *a)
{
    for (int i = 0; a->w && i < a->nw; i++) {
        for (int c = 0; c < a->w[i].n_cands; c++) free(a->w[i].blob[c].data);
    }
    for (int k = 0; a->ref_out && k < a->cal.n_sets * a->g->n_outputs; k++) free(a->ref_out[k]);
    free(a->ref_out);
    free(a->node_w);
    free(a->plans);
    free(a->w);
    free(a->tmp_w);
    free(a->tmp_out);
    af_calib_free(&a->cal, a->g->n_inputs);
    if (a->ev.g) af_geval_free(&a->ev);
}

af_status af_compress_auto(af_graph *g, const af_compress_options *o, const int *weights,
                           int n_weights, af_compress_result *r, af_err *err)
{
    auto_ctx a;
    memset(&a, 0, sizeof a);
    a.g = g;
    a.o = o;
    a.nw = n_weights;
    af_status st = af_calib_load(g, o->calib_dir, o->seed, &a.cal, err);
    if (st == AF_OK) {
        r->n_calib_sets = a.cal.n_sets;
        r->random_calib = a.cal.random;
        if (a.cal.random)
            snprintf(r->warning, sizeof r->warning, "--compress auto without --calib: judging "
                     "on seeded random N(0,1) inputs; pass --calib DIR for representative data");
        a.total = (uint64_t)n_weights * (1 + (uint64_t)a.cal.n_sets);
        a.w = calloc((size_t)(n_weights ? n_weights : 1), sizeof *a.w);
        st = a.w ? af_geval_init(&a.ev, g, err) : af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    if (st == AF_OK) st = setup(&a, weights, err);
    r->data_aware = a.n_data_aware;
    if (st == AF_OK) st = judge_layers(&a, err);
    if (st == AF_OK && o->max_size > 0) st = size_first(&a, r, err);
    if (st == AF_OK) st = model_gate(&a, r, err);
    if (st == AF_OK && r->gates_failed) warn_unmet(r, o);
    if (st == AF_OK) st = apply_choices(&a, r, err);
    auto_free(&a);
    return st;
}
