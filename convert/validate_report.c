/* convert/validate_report.c — validate's reports: a table on stdout, JSON, and an SVG plot of
 * per-layer PSNR along the network depth (plain SVG 1.1 text, no plotting dependency). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "validate.h"

/* ---- table ------------------------------------------------------------------------------- */

static const char *fmt_psnr(double p, char *buf, size_t size)
{
    if (isnan(p)) snprintf(buf, size, "nan");
    else if (isinf(p)) snprintf(buf, size, p > 0 ? "inf" : "-inf");
    else snprintf(buf, size, "%.2f", p);
    return buf;
}

/* %.3g (or %.6f for cosine) with NaN printed as "nan" whatever its sign bit. */
static const char *fmt_num(double v, int cosine, char *buf, size_t size)
{
    if (isnan(v)) snprintf(buf, size, "nan");
    else snprintf(buf, size, cosine ? "%.6f" : "%.3g", v);
    return buf;
}

/* One output's row; g NULL: no status column (the "vs expected" rows). */
static void print_metrics_row(FILE *f, const char *label, const af_metrics *m,
                              const af_task_metrics *t, const af_gates *g)
{
    char p[32], a[32], b[32], c[32], st[64] = "";
    int failed = g ? af_gates_failed(g, m, t) : 0;
    if (g && af_gates_set(g)) {
        char names[48];
        snprintf(st, sizeof st, failed ? "FAIL %s" : "ok", af_gates_str(failed, names, sizeof names));
    }
    fprintf(f, "  %-28s %9s %10s %10s %10s %6lld %6lld %8lld  %s\n", label,
            fmt_psnr(m->psnr, p, sizeof p), fmt_num(m->max_abs, 0, a, sizeof a),
            fmt_num(m->rel_l2, 0, b, sizeof b), fmt_num(m->cosine, 1, c, sizeof c),
            (long long)m->nan_count, (long long)m->inf_count, (long long)m->fp16_overflow, st);
}

/* The task measures under their output's row: "top-1 0.7250, top-5 0.9875 of 80 rows; ...". */
static void print_task_row(FILE *f, const af_task_metrics *t)
{
    const af_task_plan *p = &t->plan;
    if (!af_task_any(p)) return;
    fprintf(f, "  %-28s", "");
    const char *sep = "";
    if (p->topk > 0) {
        fprintf(f, " top-1 %.4f", t->top1);
        if (p->topk > 1) fprintf(f, ", top-%d %.4f", p->topk, t->topk);
        fprintf(f, " of %lld rows", (long long)t->c.rows);
        sep = ";";
    }
    if (p->argmax_axis >= 0) {
        fprintf(f, "%s argmax(axis %d) %.4f of %lld positions", sep, p->argmax_axis, t->argmax,
                (long long)t->c.positions);
        sep = ";";
    }
    if (p->iou)
        fprintf(f, "%s IoU(>%g) %.4f (%lld/%lld)", sep, p->iou_threshold, t->iou,
                (long long)t->c.inter, (long long)t->c.uni);
    fputc('\n', f);
}

static void print_header(FILE *f, const char *first)
{
    fprintf(f, "  %-28s %9s %10s %10s %10s %6s %6s %8s\n", first, "psnr_db", "max_abs", "rel_l2",
            "cosine", "nan", "inf", "fp16_ovf");
}

/* The value an output shows for a gate bit. */
static double gate_value(int bit, const af_metrics *m, const af_task_metrics *t)
{
    switch (bit) {
    case AF_GATE_PSNR: return m->psnr;
    case AF_GATE_COSINE: return m->cosine;
    case AF_GATE_TOPK: return t->topk;
    case AF_GATE_ARGMAX: return t->argmax;
    default: return t->iou;
    }
}

/* "PASS: every output meets --min-psnr 40.00 dB, --min-cosine 0.999" or one FAIL line per
 * output and gate it fails. */
static void print_verdict(FILE *f, const af_val_result *r, int n, const af_gates *g)
{
    int set = af_gates_set(g), failed = 0;
    for (int c = 0; c < n; c++) failed |= af_val_failed(&r[c], g);
    if (!set) return;
    if (!(failed & set)) {
        fprintf(f, "PASS: every output meets");
        for (int b = 1, first = 1; b <= AF_GATE_IOU; b <<= 1)
            if (set & b) {
                fprintf(f, b == AF_GATE_PSNR ? "%s %s %.2f dB" : "%s %s %g", first ? "" : ",",
                        af_gate_flag(b), af_gate_min(g, b));
                first = 0;
            }
        fputc('\n', f);
        return;
    }
    char v[32], names[48];
    for (int c = 0; c < n; c++)
        for (int i = 0; i < r[c].n_outputs; i++) {
            const af_val_output *o = &r[c].outputs[i];
            int fo = af_gates_failed(g, &o->m, &o->t);
            for (int b = 1; b <= AF_GATE_IOU; b <<= 1)
                if (fo & b & set)
                    fprintf(f, "FAIL: %s: output '%s': %s %s < %s %g\n", r[c].name, o->name,
                            af_gates_str(b, names, sizeof names),
                            b == AF_GATE_PSNR ? fmt_psnr(gate_value(b, &o->m, &o->t), v, sizeof v)
                                              : fmt_num(gate_value(b, &o->m, &o->t), 1, v, sizeof v),
                            af_gate_flag(b), af_gate_min(g, b));
        }
}

static const af_val_layer *g_sort_layers;

static int by_psnr(const void *a, const void *b)
{
    const af_val_layer *x = &g_sort_layers[*(const int *)a], *y = &g_sort_layers[*(const int *)b];
    double p = af_val_layer_rank_psnr(x), q = af_val_layer_rank_psnr(y);
    int pn = isnan(p), qn = isnan(q);
    if (pn != qn) return pn ? -1 : 1;
    if (!pn && p != q) return p < q ? -1 : 1;
    return x->depth - y->depth;
}

/* Layer indices sorted worst PSNR first (caller frees). */
static int *rank_layers(const af_val_result *r)
{
    int *idx = malloc(sizeof(int) * (size_t)(r->n_layers ? r->n_layers : 1));
    if (!idx) return NULL;
    for (int i = 0; i < r->n_layers; i++) idx[i] = i;
    g_sort_layers = r->layers;
    qsort(idx, (size_t)r->n_layers, sizeof(int), by_psnr);
    return idx;
}

/* The auto column: "#N from E" when auto's whole-model gate promoted the weight (N-th), "gate"
 * when its layer-gate choice was kept, "-" without auto metadata. */
static const char *fmt_auto(const af_val_weight *w, char *buf, size_t size)
{
    if (!w->tensor || !w->has_auto) snprintf(buf, size, "-");
    else if (w->promotion) snprintf(buf, size, "#%d from %s", w->promotion, w->gate_encoding);
    else snprintf(buf, size, "gate");
    return buf;
}

static void print_layers(FILE *f, const af_val_result *r, double min_psnr, int top)
{
    fprintf(f, "per layer: %s — %d tensors compared by name of %d f32 tensors in the bundle, "
            "worst own PSNR first (own: the layer fed the fp32 program's inputs; deployed: "
            "errors accumulated from the input)\n", r->name, r->n_layers, r->n_bundle_tensors);
    int *idx = rank_layers(r);
    if (!idx) return;
    int shown = top > 0 && top < r->n_layers ? top : r->n_layers;
    int tw = 6; /* the tensor column fits the longest name shown */
    for (int k = 0; k < shown; k++)
        if ((int)strlen(r->layers[idx[k]].name) > tw) tw = (int)strlen(r->layers[idx[k]].name);
    if (tw > 80) tw = 80;
    fprintf(f, "  %4s %5s %-*s %-12s %8s %9s %10s %10s %10s %8s %10s %-14s %s\n", "rank",
            "depth", tw, "tensor", "op", "own_db", "deployed", "max_abs", "rel_l2", "cosine",
            "fp16_ovf", "weights_db", "encoding", "auto");
    for (int k = 0; k < shown; k++) {
        const af_val_layer *l = &r->layers[idx[k]];
        char p[32], a[32], b[32], c[32], q[32], wq[32], au[48];
        int wl = l->w.tensor && l->has_wonly;
        fprintf(f, "  %4d %5d %-*s %-12s %8s %9s %10s %10s %10s %8lld %10s %-14s %s%s\n", k + 1,
                l->depth, tw, l->name, l->op, l->has_own ? fmt_psnr(l->own.psnr, q, sizeof q) : "-",
                fmt_psnr(l->m.psnr, p, sizeof p), fmt_num(l->m.max_abs, 0, a, sizeof a),
                fmt_num(l->m.rel_l2, 0, b, sizeof b), fmt_num(l->m.cosine, 1, c, sizeof c),
                (long long)l->m.fp16_overflow, wl ? fmt_psnr(l->wonly.psnr, wq, sizeof wq) : "-",
                l->w.tensor ? l->w.encoding : "-", fmt_auto(&l->w, au, sizeof au),
                isfinite(min_psnr) && !(af_val_layer_rank_psnr(l) >= min_psnr) ? "  < min" : "");
    }
    if (shown < r->n_layers) fprintf(f, "  ... %d more (--top N, or --json)\n", r->n_layers - shown);
    free(idx);
}

/* The worst layer by each measure, and auto's first promotion when the bundle records it. */
static void print_summary(FILE *f, const af_val_result *r)
{
    char ps[32];
    int w = af_val_worst_layer(r);
    if (w >= 0)
        fprintf(f, "worst layer: %s: '%s' (node '%s', %s, depth %d, own PSNR %s dB)\n", r->name,
                r->layers[w].name, r->layers[w].node, r->layers[w].op, r->layers[w].depth,
                fmt_psnr(af_val_layer_rank_psnr(&r->layers[w]), ps, sizeof ps));
    if ((w = af_val_worst_weights(r)) >= 0)
        fprintf(f, "most sensitive weights: %s: '%s' (node '%s', weight '%s' as %s, weights-only "
                "PSNR %s dB)\n", r->name, r->layers[w].name, r->layers[w].node,
                r->layers[w].w.tensor, r->layers[w].w.encoding,
                fmt_psnr(r->layers[w].wonly.psnr, ps, sizeof ps));
    if (!r->auto_bundle) return;
    if ((w = af_val_first_promoted(r)) < 0) {
        fprintf(f, "auto promoted first: %s: none (every layer-gate choice kept)\n", r->name);
        return;
    }
    const af_val_weight *aw = &r->layers[w].w;
    fprintf(f, "auto promoted first: %s: '%s' (node '%s', weight '%s': %s at %s dB on auto's "
            "calibration inputs, now %s)\n", r->name, r->layers[w].name, r->layers[w].node,
            aw->tensor, aw->gate_encoding, fmt_psnr(aw->gate_psnr, ps, sizeof ps), aw->encoding);
}

static void print_overflow(FILE *f, const af_val_result *r)
{
    for (int i = 0; i < r->n_overflow; i++) {
        const af_val_overflow *o = &r->overflow[i];
        fprintf(f, "fp16 overflow: %s: tensor '%s' of node '%s' (%s) holds %lld values beyond "
                "±65504 in the fp32 program (max |x| = %.6g; Inf in fp16)\n", r->name, o->name, o->node, o->op,
                (long long)o->count, o->max_abs);
    }
    if (r->first_nonfinite)
        fprintf(f, "non-finite: %s: the bundle%s first holds Inf/NaN in tensor '%s' of node '%s'\n",
                r->name, r->fp16 ? " (fp16 activations)" : "", r->first_nonfinite,
                r->first_nonfinite_node);
}

void af_val_print_table(FILE *f, const af_val_result *r, int n, const af_gates *g, int per_layer,
                        int top)
{
    print_header(f, "component / output");
    for (int c = 0; c < n; c++) {
        fprintf(f, "%s: %s vs %s%s%s, %s inputs", r[c].name, r[c].bundle, r[c].model,
                r[c].fp16 ? " (bundle with fp16 activations)" : "",
                r[c].int8_compute ? " (bundle with int8 compute)" : "",
                r[c].random_inputs ? "random" : "given");
        if (r[c].random_inputs) fprintf(f, " (seed %llu)", (unsigned long long)r[c].seed);
        fputc('\n', f);
        for (int i = 0; i < r[c].n_outputs; i++) {
            const af_val_output *o = &r[c].outputs[i];
            print_metrics_row(f, o->name, &o->m, &o->t, g);
            print_task_row(f, &o->t);
            if (!o->has_expected) continue;
            print_metrics_row(f, "  vs expected: bundle", &o->m_expected, NULL, NULL);
            print_task_row(f, &o->t_expected);
            print_metrics_row(f, "  vs expected: fp32 prog", &o->m_ref_expected, NULL, NULL);
            print_task_row(f, &o->t_ref_expected);
        }
    }
    for (int c = 0; c < n; c++) print_overflow(f, &r[c]);
    if (per_layer)
        for (int c = 0; c < n; c++) {
            print_layers(f, &r[c], g->min_psnr, top);
            print_summary(f, &r[c]);
        }
    print_verdict(f, r, n, g);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void kv_psnr(af_json *j, double p)
{
    if (isfinite(p)) json_kv_num(j, "psnr_db", p);
    else json_kv_str(j, "psnr_db", isnan(p) ? "nan" : p > 0 ? "inf" : "-inf");
}

static void obj_open(af_json *j)
{
    if (j->need_comma) json_raw(j, ",");
    json_open(j, '{');
}

static void json_metrics(af_json *j, const af_metrics *m)
{
    kv_psnr(j, m->psnr);
    json_kv_num(j, "max_abs", m->max_abs);
    json_kv_num(j, "rel_l2", m->rel_l2);
    json_kv_num(j, "cosine", m->cosine);
    json_kv_int(j, "nan", m->nan_count);
    json_kv_int(j, "inf", m->inf_count);
    json_kv_int(j, "fp16_overflow", m->fp16_overflow);
    json_kv_int(j, "elements", m->n);
}

/* "task": {top1, topk, k, rows, argmax, argmax_axis, positions, iou, iou_threshold,
 * intersection, union} — the measures asked for only. */
static void json_task(af_json *j, const af_task_metrics *t)
{
    const af_task_plan *p = &t->plan;
    if (!af_task_any(p)) return;
    json_key(j, "task");
    json_open(j, '{');
    if (p->topk > 0) {
        json_kv_num(j, "top1", t->top1);
        json_kv_num(j, "topk", t->topk);
        json_kv_int(j, "k", p->topk);
        json_kv_int(j, "rows", t->c.rows);
    }
    if (p->argmax_axis >= 0) {
        json_kv_num(j, "argmax", t->argmax);
        json_kv_int(j, "argmax_axis", p->argmax_axis);
        json_kv_int(j, "positions", t->c.positions);
    }
    if (p->iou) {
        json_kv_num(j, "iou", t->iou);
        json_kv_num(j, "iou_threshold", p->iou_threshold);
        json_kv_int(j, "intersection", t->c.inter);
        json_kv_int(j, "union", t->c.uni);
    }
    json_close(j, '}');
}

/* "failed_gates": ["psnr", ...] */
static void json_failed(af_json *j, int mask)
{
    json_key(j, "failed_gates");
    json_open(j, '[');
    for (int b = 1; b <= AF_GATE_IOU; b <<= 1) {
        char name[16];
        if (mask & b) json_value_str(j, af_gates_str(b, name, sizeof name));
    }
    json_close(j, ']');
}

static void json_outputs(af_json *j, const af_val_result *r, const af_gates *g)
{
    json_key(j, "outputs");
    json_open(j, '[');
    for (int i = 0; i < r->n_outputs; i++) {
        const af_val_output *o = &r->outputs[i];
        obj_open(j);
        json_kv_str(j, "name", o->name);
        json_metrics(j, &o->m);
        json_task(j, &o->t);
        int failed = af_gates_failed(g, &o->m, &o->t);
        json_key(j, "pass");
        json_raw(j, failed ? "false" : "true");
        j->need_comma = 1;
        json_failed(j, failed);
        if (o->has_expected) {
            json_key(j, "expected_vs_bundle");
            json_open(j, '{');
            json_metrics(j, &o->m_expected);
            json_task(j, &o->t_expected);
            json_close(j, '}');
            json_key(j, "expected_vs_fp32_program");
            json_open(j, '{');
            json_metrics(j, &o->m_ref_expected);
            json_task(j, &o->t_ref_expected);
            json_close(j, '}');
        }
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* "weight": {tensor, encoding[, auto: {layer_gate_encoding, layer_gate_psnr_db, layer_psnr_db,
 * promotion}]} */
static void json_weight(af_json *j, const af_val_weight *w)
{
    json_key(j, "weight");
    json_open(j, '{');
    json_kv_str(j, "tensor", w->tensor);
    json_kv_str(j, "encoding", w->encoding);
    if (w->has_auto) {
        json_key(j, "auto");
        json_open(j, '{');
        json_kv_str(j, "layer_gate_encoding", w->gate_encoding);
        json_kv_num(j, "layer_gate_psnr_db", w->gate_psnr);
        json_kv_num(j, "layer_psnr_db", w->auto_psnr);
        json_kv_int(j, "promotion", w->promotion);
        json_close(j, '}');
    }
    json_close(j, '}');
}

static void json_layers(af_json *j, const af_val_result *r)
{
    json_key(j, "layers");
    json_open(j, '[');
    for (int i = 0; i < r->n_layers; i++) {
        const af_val_layer *l = &r->layers[i];
        obj_open(j);
        json_kv_int(j, "depth", l->depth);
        json_kv_str(j, "tensor", l->name);
        json_kv_str(j, "node", l->node);
        json_kv_str(j, "op", l->op);
        json_metrics(j, &l->m);
        if (l->has_own) {
            json_key(j, "own");
            json_open(j, '{');
            json_metrics(j, &l->own);
            json_close(j, '}');
        }
        if (l->has_wonly) {
            json_key(j, "weights_only");
            json_open(j, '{');
            json_metrics(j, &l->wonly);
            json_close(j, '}');
        }
        if (l->w.tensor) json_weight(j, &l->w);
        json_close(j, '}');
    }
    json_close(j, ']');
    int w = af_val_worst_layer(r);
    json_kv_str(j, "worst_layer", w >= 0 ? r->layers[w].name : NULL);
    w = af_val_worst_weights(r);
    json_kv_str(j, "most_sensitive_weights_layer", w >= 0 ? r->layers[w].name : NULL);
    w = af_val_first_promoted(r);
    json_kv_str(j, "auto_first_promoted_layer", w >= 0 ? r->layers[w].name : NULL);
    json_key(j, "fp16_overflow_layers");
    json_open(j, '[');
    for (int i = 0; i < r->n_overflow; i++) {
        obj_open(j);
        json_kv_str(j, "tensor", r->overflow[i].name);
        json_kv_str(j, "node", r->overflow[i].node);
        json_kv_str(j, "op", r->overflow[i].op);
        json_kv_int(j, "count", r->overflow[i].count);
        json_kv_num(j, "max_abs", r->overflow[i].max_abs);
        json_close(j, '}');
    }
    json_close(j, ']');
    json_kv_str(j, "first_nonfinite_tensor", r->first_nonfinite);
}

/* The JSON document into j (initialised by the caller). */
static void json_document(af_json *j, const af_val_result *r, int n, const af_gates *g)
{
    json_open(j, '{');
    json_kv_num(j, "min_psnr_db", g->min_psnr);
    static const char *const keys[] = {"min_cosine", "min_topk", "min_argmax", "min_iou"};
    for (int b = AF_GATE_COSINE, k = 0; b <= AF_GATE_IOU; b <<= 1, k++)
        if (af_gates_set(g) & b) json_kv_num(j, keys[k], af_gate_min(g, b));
    int failed = 0;
    for (int c = 0; c < n; c++) failed |= af_val_failed(&r[c], g);
    json_key(j, "pass");
    json_raw(j, failed ? "false" : "true");
    j->need_comma = 1;
    json_failed(j, failed);
    json_key(j, "components");
    json_open(j, '[');
    for (int c = 0; c < n; c++) {
        obj_open(j);
        json_kv_str(j, "name", r[c].name);
        json_kv_str(j, "model", r[c].model);
        json_kv_str(j, "bundle", r[c].bundle);
        json_kv_int(j, "fp16_activations", r[c].fp16);
        json_kv_int(j, "int8_compute", r[c].int8_compute);
        json_kv_int(j, "random_inputs", r[c].random_inputs);
        json_kv_int(j, "seed", (int64_t)r[c].seed);
        json_outputs(j, &r[c], g);
        json_layers(j, &r[c]);
        json_close(j, '}');
    }
    json_close(j, ']');
    json_close(j, '}');
    json_raw(j, "\n");
}

af_status af_val_json_text(const af_val_result *r, int n, const af_gates *g, char **text,
                           af_err *err)
{
    af_json j;
    json_init(&j);
    json_document(&j, r, n, g);
    *text = NULL;
    if (!json_ok(&j)) {
        json_free(&j);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory building the validation report");
    }
    *text = j.buf; /* NUL-terminated, owned by the caller now */
    return AF_OK;
}

af_status af_val_write_json(const char *path, const af_val_result *r, int n, const af_gates *g,
                            af_err *err)
{
    char *text;
    if (af_val_json_text(r, n, g, &text, err) != AF_OK)
        return af_err_set(err, AF_ERR_NOMEM, "out of memory writing %s", path);
    af_status st = AF_OK;
    size_t len = strlen(text);
    FILE *f = fopen(path, "w");
    if (!f) st = af_err_set(err, AF_ERR_IO, "%s: cannot open for writing", path);
    else {
        if (fwrite(text, 1, len, f) != len) st = af_err_set(err, AF_ERR_IO, "%s: write failed", path);
        if (fclose(f) != 0 && st == AF_OK) st = af_err_set(err, AF_ERR_IO, "%s: write failed", path);
    }
    free(text);
    return st;
}

/* ---- SVG plot ---------------------------------------------------------------------------- */

enum { SVG_W = 960, SVG_H = 480, PAD_L = 70, PAD_R = 200, PAD_T = 40, PAD_B = 60 };

static const char *const palette[] = {"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                                      "#17becf", "#e377c2", "#7f7f7f"};

typedef struct plot_frame {
    double x0, x1, y0, y1; /* data ranges */
} plot_frame;

static double px(const plot_frame *p, double x)
{
    return PAD_L + (x - p->x0) / (p->x1 - p->x0) * (SVG_W - PAD_L - PAD_R);
}

static double py(const plot_frame *p, double y)
{
    if (!(y >= p->y0)) y = p->y0; /* NaN and very low values sit on the bottom edge */
    if (y > p->y1) y = p->y1;     /* +inf (exact) sits on the top edge */
    return SVG_H - PAD_B - (y - p->y0) / (p->y1 - p->y0) * (SVG_H - PAD_T - PAD_B);
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
}

static double nice_step(double range, int target)
{
    double raw = range / target, mag = pow(10, floor(log10(raw)));
    double steps[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (steps[i] * mag >= raw) return steps[i] * mag;
    return 10 * mag;
}

static plot_frame frame_for(const af_val_result *r, int n, double min_psnr)
{
    plot_frame p = {0, 1, INFINITY, -INFINITY};
    for (int c = 0; c < n; c++)
        for (int i = 0; i < r[c].n_layers; i++) {
            const af_val_layer *l = &r[c].layers[i];
            if (l->depth > p.x1) p.x1 = l->depth;
            double v[2] = {l->m.psnr, l->has_own ? l->own.psnr : NAN};
            for (int k = 0; k < 2; k++)
                if (isfinite(v[k])) {
                    if (v[k] < p.y0) p.y0 = v[k];
                    if (v[k] > p.y1) p.y1 = v[k];
                }
        }
    if (isfinite(min_psnr)) {
        if (min_psnr < p.y0) p.y0 = min_psnr;
        if (min_psnr > p.y1) p.y1 = min_psnr;
    }
    if (!(p.y0 <= p.y1)) p.y0 = 0, p.y1 = 100;
    double step = nice_step(p.y1 - p.y0 + 1, 6);
    p.y0 = floor(p.y0 / step) * step - step;
    p.y1 = ceil(p.y1 / step) * step + step;
    return p;
}

static void svg_axes(FILE *f, const plot_frame *p)
{
    double ys = nice_step(p->y1 - p->y0, 8), xs = nice_step(p->x1 - p->x0, 10);
    if (xs < 1) xs = 1;
    fprintf(f, "<g font-family=\"sans-serif\" font-size=\"12\" fill=\"#333\">\n");
    for (double y = ceil(p->y0 / ys) * ys; y <= p->y1 + 1e-9; y += ys) {
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                PAD_L, py(p, y), SVG_W - PAD_R, py(p, y));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", PAD_L - 6,
                py(p, y) + 4, y);
    }
    for (double x = 0; x <= p->x1 + 1e-9; x += xs)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(p, x),
                SVG_H - PAD_B + 18, x);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#333\"/>\n", PAD_L, PAD_T, SVG_W - PAD_L - PAD_R, SVG_H - PAD_T - PAD_B);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">layer depth (node index in the "
            "bundle program)</text>\n", (PAD_L + SVG_W - PAD_R) / 2, SVG_H - 18);
    fprintf(f, "<text transform=\"translate(18,%d) rotate(-90)\" text-anchor=\"middle\">PSNR vs "
            "fp32 program (dB)</text>\n", (PAD_T + SVG_H - PAD_B) / 2);
    fprintf(f, "</g>\n");
}

/* A weight auto's whole-model gate promoted: an orange square, its order for the first three. */
static void svg_promoted(FILE *f, const plot_frame *p, const af_val_layer *l, double v)
{
    if (!l->w.tensor || !l->w.has_auto || !l->w.promotion) return;
    double x = px(p, l->depth), y = py(p, v);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"none\" "
            "stroke=\"#ff7f0e\" stroke-width=\"1.5\"/>\n", x - 5, y - 5);
    if (l->w.promotion <= 3)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-family=\"sans-serif\" font-size=\"10\" "
                "fill=\"#ff7f0e\" text-anchor=\"middle\">auto #%d</text>\n", x, y - 9,
                l->w.promotion);
}

/* The as-deployed PSNR as a thin dashed line; the ranked (own) PSNR as a line with points. */
static void svg_series(FILE *f, const plot_frame *p, const af_val_result *r, const char *color)
{
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray="
            "\"2,3\" points=\"", color);
    for (int i = 0; i < r->n_layers; i++)
        fprintf(f, "%.1f,%.1f ", px(p, r->layers[i].depth), py(p, r->layers[i].m.psnr));
    fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
    for (int i = 0; i < r->n_layers; i++)
        fprintf(f, "%.1f,%.1f ", px(p, r->layers[i].depth), py(p, af_val_layer_rank_psnr(&r->layers[i])));
    fprintf(f, "\"/>\n");
    for (int i = 0; i < r->n_layers; i++) {
        const af_val_layer *l = &r->layers[i];
        double v = af_val_layer_rank_psnr(l);
        char ps[32], pd[32];
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", px(p, l->depth),
                py(p, v), isfinite(v) ? color : "#d62728");
        xml_text(f, l->name);
        fprintf(f, " (%s, depth %d): own %s dB, deployed %s dB", l->op, l->depth,
                fmt_psnr(v, ps, sizeof ps), fmt_psnr(l->m.psnr, pd, sizeof pd));
        if (l->w.tensor) {
            char au[48];
            fprintf(f, "; weights %s: %s dB alone, auto %s", l->w.encoding,
                    fmt_psnr(l->wonly.psnr, ps, sizeof ps), fmt_auto(&l->w, au, sizeof au));
        }
        fprintf(f, "</title></circle>\n");
        svg_promoted(f, p, l, v);
    }
    int w = af_val_worst_layer(r);
    if (w < 0) return;
    const af_val_layer *l = &r->layers[w];
    double x = px(p, l->depth), y = py(p, af_val_layer_rank_psnr(l));
    char ps[32];
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"none\" stroke=\"#d62728\" "
            "stroke-width=\"2\"/>\n<text x=\"%.1f\" y=\"%.1f\" font-family=\"sans-serif\" "
            "font-size=\"11\" fill=\"#d62728\" text-anchor=\"%s\">worst: ", x, y,
            x > SVG_W / 2 ? x - 8 : x + 8, y > SVG_H - PAD_B - 20 ? y - 10 : y + 16,
            x > SVG_W / 2 ? "end" : "start");
    xml_text(f, l->name);
    fprintf(f, " (%s dB)</text>\n", fmt_psnr(af_val_layer_rank_psnr(l), ps, sizeof ps));
}

static void svg_legend(FILE *f, const af_val_result *r, int n, double min_psnr)
{
    int x = SVG_W - PAD_R + 14, y = PAD_T + 10;
    fprintf(f, "<g font-family=\"sans-serif\" font-size=\"12\" fill=\"#333\">\n");
    for (int c = 0; c < n; c++, y += 18) {
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\">", x, y, palette[c % 8], x + 18, y + 10);
        xml_text(f, r[c].name);
        fprintf(f, "%s</text>\n", r[c].fp16 ? " (fp16)" : "");
    }
    if (isfinite(min_psnr))
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d62728\" "
                "stroke-dasharray=\"6,4\" stroke-width=\"1.5\"/><text x=\"%d\" y=\"%d\">min PSNR "
                "%g dB</text>\n", x, y + 6, x + 12, y + 6, x + 18, y + 10, min_psnr);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">solid: layer's own error</text>\n"
            "<text x=\"%d\" y=\"%d\" font-size=\"10\">dotted: as deployed (accumulated)</text>\n"
            "<text x=\"%d\" y=\"%d\" font-size=\"10\">top edge: identical (inf)</text>\n",
            x, y + 30, x, y + 44, x, y + 58);
    int any_auto = 0;
    for (int c = 0; c < n; c++) any_auto |= r[c].auto_bundle;
    if (any_auto)
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"8\" height=\"8\" fill=\"none\" "
                "stroke=\"#ff7f0e\" stroke-width=\"1.5\"/><text x=\"%d\" y=\"%d\" "
                "font-size=\"10\">auto promoted (#order)</text>\n", x, y + 66, x + 12, y + 74);
    fprintf(f, "</g>\n");
}

af_status af_val_write_svg(const char *path, const af_val_result *r, int n, double min_psnr,
                           af_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f) return af_err_set(err, AF_ERR_IO, "%s: cannot open for writing", path);
    plot_frame p = frame_for(r, n, min_psnr);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/"
            "svg\" version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", SVG_W,
            SVG_H, SVG_W, SVG_H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"24\" "
            "font-family=\"sans-serif\" font-size=\"15\" fill=\"#111\">Per-layer PSNR: bundle vs "
            "fp32 program</text>\n", PAD_L);
    svg_axes(f, &p);
    if (isfinite(min_psnr))
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d62728\" "
                "stroke-dasharray=\"6,4\" stroke-width=\"1.5\"/>\n", PAD_L, py(&p, min_psnr),
                SVG_W - PAD_R, py(&p, min_psnr));
    for (int c = 0; c < n; c++) svg_series(f, &p, &r[c], palette[c % 8]);
    svg_legend(f, r, n, min_psnr);
    fprintf(f, "</svg>\n");
    if (ferror(f) | (fclose(f) != 0)) return af_err_set(err, AF_ERR_IO, "%s: write failed", path);
    return AF_OK;
}
