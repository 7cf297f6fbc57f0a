/* compress/auto.c — --compress auto: per-tensor candidates judged on their layer's output over
 * calibration activations, then the whole-model gate (see compress.h for the rules).
 *
 * Layer gate: a candidate passes when its layer's output PSNR (against the same layer with fp32
 * weights, on the fp32 program's activations) is at least layer_psnr, by default min_psnr + 5 dB.
 * Why +5 dB: the layer errors of a network add up (roughly in power) at the output, so each
 * layer must be cleaner than the model as a whole; 5 dB is a first cut that rejects clearly too
 * lossy encodings without forcing everything to fp16. The whole-model gate is what guarantees
 * min_psnr; it promotes the most sensitive layers until the outputs pass.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "compress.h"
#include "gptq.h"

#define MAX_CANDS AF_CK_COUNT

typedef struct wstate {
    int tensor;
    int n_cands;                 /* candidates, ascending stored size; fp16 is implicit last */
    af_ckind kind[MAX_CANDS];
    af_cblob blob[MAX_CANDS];
    uint64_t bytes[MAX_CANDS];
    double sse[MAX_CANDS + 1];   /* layer output error per candidate, [n_cands] = fp16 */
    double peak, count;          /* max |ref| and elements over all sets and consumers */
    int pos;                     /* chosen candidate (n_cands = fp16) */
    int gate_pos;                /* the layer gate's choice, before the whole-model gate */
    int promotion;               /* 1-based whole-model gate step that first moved it, 0 = never */
    float *decoded;              /* the chosen candidate's weights (for the model gate) */
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
    uint64_t done, total;
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
static af_status make_cands(auto_ctx *a, wstate *s, af_wstats *st, af_err *err)
{
    const af_tensor *t = &a->g->tensors[s->tensor];
    int emb = 0;
    af_compress_is_weight(a->g, s->tensor, &emb);
    af_cparams p = a->o->p;
    if (emb) p.sparsity = 0;
    uint64_t fp16 = af_ctraits_table[AF_CK_FP16].stored_size(t->data, t->rank, t->dims, &p);
    for (int k = AF_CK_FP16 + 1; k < AF_CK_COUNT; k++) {
        if (!family_streams(a->o, (af_ckind)k)) continue;
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
    for (int c = 0; c < s->n_cands; c++)
        if (af_ctraits_table[s->kind[c]].encode(t->data, t->rank, t->dims, &p, &s->blob[c], err) ||
            af_gptq_recode(s->kind[c], t->data, t->rank, t->dims, st, &s->blob[c], err))
            return af_err_prefix(err, t->name);
    for (int c = 0; c < s->n_cands; c++) s->bytes[c] = s->blob[c].bytes;
    return AF_OK;
}

/* ---- layer judging ------------------------------------------------------------------------- */

static af_status decode_cand(auto_ctx *a, const wstate *s, int c, float *out, af_err *err)
{
    const af_tensor *t = &a->g->tensors[s->tensor];
    af_ckind k = c < s->n_cands ? s->kind[c] : AF_CK_FP16;
    const af_cblob none = {0};
    return af_cenc_decode(k, t->data, c < s->n_cands ? &s->blob[c] : &none, t->rank, t->dims,
                          out, err);
}

static int reads_weight(const af_node *n, int t)
{
    int slot = n->op == AF_OP_GATHER ? 0 : 1;
    return (n->op == AF_OP_CONV || n->op == AF_OP_CONV_TRANSPOSE || n->op == AF_OP_GEMM ||
            n->op == AF_OP_MATMUL || n->op == AF_OP_GATHER) &&
           slot < n->n_in && n->in[slot] == t;
}

/* Runs every consumer of s's weight with each candidate; accumulates errors vs fp32. */
static af_status judge_one(auto_ctx *a, wstate *s, af_err *err)
{
    const af_graph *g = a->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (!reads_weight(n, s->tensor)) continue;
        const af_tensor *o = &g->tensors[n->out[0]];
        const float *ref = a->ev.buf[n->out[0]];
        int64_t m = af_tensor_numel(o);
        if (o->dtype != AF_DTYPE_F32) continue;
        for (int64_t e = 0; e < m; e++)
            if (fabsf(ref[e]) > s->peak) s->peak = fabsf(ref[e]);
        s->count += (double)m;
        for (int c = 0; c <= s->n_cands; c++) {
            if (decode_cand(a, s, c, a->tmp_w, err) != AF_OK) return err->code;
            a->ev.over[s->tensor] = a->tmp_w;
            af_status st = af_geval_node(&a->ev, i, a->tmp_out, err);
            a->ev.over[s->tensor] = NULL;
            if (st != AF_OK) return st;
            double sse = 0;
            for (int64_t e = 0; e < m; e++) {
                double d = (double)a->tmp_out[e] - ref[e];
                sse += d * d;
            }
            s->sse[c] += sse;
        }
    }
    return AF_OK;
}

static af_status judge_layers(auto_ctx *a, af_err *err)
{
    for (int set = 0; set < a->cal.n_sets; set++) {
        af_calib_set(&a->cal, set, &a->ev);
        if (af_geval_run(&a->ev, err) != AF_OK) return err->code;
        for (int k = 0; k < a->g->n_outputs; k++) {
            int t = a->g->outputs[k];
            int64_t b = af_tensor_nbytes(&a->g->tensors[t]);
            memcpy(a->ref_out[set * a->g->n_outputs + k], a->ev.buf[t], (size_t)b);
        }
        for (int i = 0; i < a->nw; i++) {
            if (judge_one(a, &a->w[i], err) != AF_OK) return err->code;
            progress(a, "judging layers");
        }
    }
    double gate = a->o->layer_psnr > 0 ? a->o->layer_psnr : a->o->min_psnr + 5.0;
    for (int i = 0; i < a->nw; i++) {
        wstate *s = &a->w[i];
        s->pos = s->n_cands;
        for (int c = 0; c < s->n_cands && s->pos == s->n_cands; c++)
            if (cand_psnr(s, c) >= gate) s->pos = c;
        s->gate_pos = s->pos;
    }
    return AF_OK;
}

/* ---- whole-model gate ------------------------------------------------------------------------ */

static af_status model_psnr(auto_ctx *a, double *psnr, af_err *err)
{
    const af_graph *g = a->g;
    *psnr = INFINITY;
    for (int i = 0; i < a->nw; i++) a->ev.over[a->w[i].tensor] = a->w[i].decoded;
    /* one run per set; every output accumulates over the sets */
    double *sse = calloc((size_t)g->n_outputs + 1, 3 * sizeof(double));
    if (!sse) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    double *peak = sse + g->n_outputs + 1, *cnt = peak + g->n_outputs + 1;
    af_status st = AF_OK;
    for (int set = 0; set < a->cal.n_sets && st == AF_OK; set++) {
        af_calib_set(&a->cal, set, &a->ev);
        st = af_geval_run(&a->ev, err);
        for (int k = 0; k < g->n_outputs && st == AF_OK; k++) {
            const af_tensor *t = &g->tensors[g->outputs[k]];
            if (t->dtype != AF_DTYPE_F32) continue;
            const float *x = a->ev.buf[g->outputs[k]], *r = a->ref_out[set * g->n_outputs + k];
            int64_t m = af_tensor_numel(t);
            for (int64_t e = 0; e < m; e++) {
                double d = (double)x[e] - r[e];
                sse[k] += d * d;
                if (fabsf(r[e]) > peak[k]) peak[k] = fabsf(r[e]);
            }
            cnt[k] += (double)m;
        }
    }
    for (int k = 0; k < g->n_outputs; k++) {
        double p = af_psnr_db(peak[k], sse[k], cnt[k]);
        if (cnt[k] > 0 && p < *psnr) *psnr = p;
    }
    free(sse);
    for (int i = 0; i < a->nw; i++) a->ev.over[a->w[i].tensor] = NULL;
    return st;
}

static af_status decode_choice(auto_ctx *a, wstate *s, af_err *err)
{
    if (!s->decoded) {
        int64_t n = af_tensor_numel(&a->g->tensors[s->tensor]);
        if (!(s->decoded = malloc((size_t)n * sizeof(float))))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    return decode_cand(a, s, s->pos, s->decoded, err);
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

static af_status model_gate(auto_ctx *a, af_compress_result *r, af_err *err)
{
    for (int i = 0; i < a->nw; i++)
        if (decode_choice(a, &a->w[i], err) != AF_OK) return err->code;
    for (;;) {
        double p;
        if (model_psnr(a, &p, err) != AF_OK) return err->code;
        r->model_psnr_db = p;
        progress(a, "whole-model gate");
        wstate *moved = NULL;
        if (p >= a->o->min_psnr || !promote(a, &moved)) break;
        r->promotions++;
        if (!moved->promotion) moved->promotion = r->promotions;
        if (decode_choice(a, moved, err) != AF_OK) return err->code;
    }
    return AF_OK;
}

/* ---- driver ---------------------------------------------------------------------------------- */

static af_status setup(auto_ctx *a, const int *weights, af_err *err)
{
    const af_graph *g = a->g;
    int64_t maxw = 1, maxo = 1;
    af_wstats *stats = NULL; /* with calibration files: data-aware candidates */
    if (!a->cal.random) {
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
        if (stats) af_wstats_free(&stats[i]);
        progress(a, "encoding candidates");
    }
    free(stats);
    if (st != AF_OK) return st;
    for (int i = 0; i < g->n_tensors; i++)
        if (!g->tensors[i].data && af_tensor_nbytes(&g->tensors[i]) > maxo * 4)
            maxo = af_tensor_nbytes(&g->tensors[i]) / 4 + 1;
    a->tmp_w = malloc((size_t)maxw * sizeof(float));
    a->tmp_out = malloc((size_t)maxo * sizeof(float));
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
        if (af_compress_apply(t, k, &p, fp16 ? NULL : &s->blob[s->pos], err) != AF_OK)
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

static void auto_free(auto_ctx *a)
{
    for (int i = 0; a->w && i < a->nw; i++) {
        for (int c = 0; c < a->w[i].n_cands; c++) free(a->w[i].blob[c].data);
        free(a->w[i].decoded);
    }
    for (int k = 0; a->ref_out && k < a->cal.n_sets * a->g->n_outputs; k++) free(a->ref_out[k]);
    free(a->ref_out);
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
    if (st == AF_OK) st = judge_layers(&a, err);
    if (st == AF_OK) st = model_gate(&a, r, err);
    if (st == AF_OK) st = apply_choices(&a, r, err);
    auto_free(&a);
    return st;
}
