/* convert/validate_cfg_report.c — reports of the guidance measure (validate_cfg.h): a table
 * on stdout and a JSON document. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "validate_cfg.h"

static const char *fmt_db(double p, char *buf, size_t size)
{
    if (isnan(p)) snprintf(buf, size, "nan");
    else if (isinf(p)) snprintf(buf, size, p > 0 ? "inf" : "-inf");
    else snprintf(buf, size, "%.2f", p);
    return buf;
}

static const char *fmt_g(double v, const char *fmt, char *buf, size_t size)
{
    if (isnan(v)) snprintf(buf, size, "nan");
    else snprintf(buf, size, fmt, v);
    return buf;
}

static const char *prec_name(int p)
{
    return p == AF_PREC_FP32 ? "fp32" : p == AF_PREC_PAIRED ? "paired" : "fp16";
}

static void print_row(FILE *f, const char *label, const af_metrics *m, const char *note)
{
    char p[32], a[32], c[32];
    fprintf(f, "  %-30s %9s %10s %10s %s\n", label, fmt_db(m->psnr, p, sizeof p),
            fmt_g(m->rel_l2, "%.3g", a, sizeof a), fmt_g(m->cosine, "%.6f", c, sizeof c), note);
}

static const af_cfg_layer *g_layers;

static int by_own_d(const void *a, const void *b)
{
    const af_cfg_layer *x = &g_layers[*(const int *)a], *y = &g_layers[*(const int *)b];
    double p = x->has_own ? x->own_d.rel_l2 : x->d.rel_l2, q = y->has_own ? y->own_d.rel_l2 : y->d.rel_l2;
    if (isnan(p) != isnan(q)) return isnan(p) ? -1 : 1;
    if (!isnan(p) && p != q) return p > q ? -1 : 1;
    return x->depth - y->depth;
}

static void print_layers(FILE *f, const af_cfg_result *r, int top)
{
    int *idx = malloc(sizeof(int) * (size_t)(r->n_layers + 1));
    if (!idx) return;
    for (int i = 0; i < r->n_layers; i++) idx[i] = i;
    g_layers = r->layers;
    qsort(idx, (size_t)r->n_layers, sizeof(int), by_own_d);
    int shown = top > 0 && top < r->n_layers ? top : r->n_layers;
    fprintf(f, "per layer: %d tensors, largest own error of the difference first (own: the layer "
            "fed the fp32 program's tensors; deployed: accumulated; rel = relative L2; d/c = "
            "‖c − u‖/‖c‖ of the fp32 program)\n", r->n_layers);
    fprintf(f, "  %4s %5s %-40s %-12s %-6s %8s %10s %10s %10s %10s\n", "rank", "depth", "tensor",
            "op", "stored", "d/c", "own_c_rel", "own_d_rel", "dep_c_rel", "dep_d_rel");
    for (int k = 0; k < shown; k++) {
        const af_cfg_layer *l = &r->layers[idx[k]];
        char a[32], b[32], c[32], d[32], e[32];
        fprintf(f, "  %4d %5d %-40.40s %-12s %-6s %8s %10s %10s %10s %10s\n", k + 1, l->depth,
                l->name, l->op, prec_name(l->rounding), fmt_g(l->d_ratio, "%.3g", e, sizeof e),
                l->has_own ? fmt_g(l->own_c.rel_l2, "%.3g", a, sizeof a) : "-",
                l->has_own ? fmt_g(l->own_d.rel_l2, "%.3g", b, sizeof b) : "-",
                fmt_g(l->c.rel_l2, "%.3g", c, sizeof c), fmt_g(l->d.rel_l2, "%.3g", d, sizeof d));
    }
    if (shown < r->n_layers) fprintf(f, "  ... %d more (--top N, or --json)\n", r->n_layers - shown);
    free(idx);
}

void af_cfg_print_table(FILE *f, const af_cfg_result *r, double min_psnr, int per_layer, int top)
{
    fprintf(f, "%s: %s vs %s%s, guidance scale %g", r->name, r->bundle, r->model,
            r->fp16 ? " (bundle with fp16 activations)" : "", r->scale);
    if (r->n_fp32 || r->n_paired)
        fprintf(f, ", placement: %d nodes fp32, %d paired fp16", r->n_fp32, r->n_paired);
    fprintf(f, "\n  %-30s %9s %10s %10s\n", "output", "psnr_db", "rel_l2", "cosine");
    for (int i = 0; i < r->n_outputs; i++) {
        const af_cfg_output *o = &r->outputs[i];
        char lab[300], note[64];
        snprintf(lab, sizeof lab, "%s: c (cond)", o->name);
        print_row(f, lab, &o->c, "");
        snprintf(lab, sizeof lab, "%s: u (uncond)", o->name);
        print_row(f, lab, &o->u, "");
        snprintf(lab, sizeof lab, "%s: d = c - u", o->name);
        snprintf(note, sizeof note, "(‖d‖/‖c‖ = %.3g)", o->d_ratio);
        print_row(f, lab, &o->d, note);
        snprintf(lab, sizeof lab, "%s: u + %g(c - u)", o->name, r->scale);
        int fail = isfinite(min_psnr) && min_psnr > 0 && !(o->g.psnr >= min_psnr);
        print_row(f, lab, &o->g, fail ? "FAIL" : min_psnr > 0 ? "ok" : "");
    }
    if (per_layer) print_layers(f, r, top);
    if (min_psnr > 0) {
        double g = af_cfg_guided_psnr(r);
        char b[32];
        if (g >= min_psnr) fprintf(f, "PASS: the guided output meets --min-psnr %.2f dB\n", min_psnr);
        else fprintf(f, "FAIL: %s: guided output PSNR %s dB < --min-psnr %.2f dB\n", r->name,
                     fmt_db(g, b, sizeof b), min_psnr);
    }
}

static void json_m(af_json *j, const char *key, const af_metrics *m)
{
    json_key(j, key);
    json_open(j, '{');
    if (isfinite(m->psnr)) json_kv_num(j, "psnr_db", m->psnr);
    else json_kv_str(j, "psnr_db", isnan(m->psnr) ? "nan" : m->psnr > 0 ? "inf" : "-inf");
    json_kv_num(j, "max_abs", m->max_abs);
    json_kv_num(j, "rel_l2", m->rel_l2);
    json_kv_num(j, "cosine", m->cosine);
    json_kv_int(j, "nan", m->nan_count);
    json_kv_int(j, "inf", m->inf_count);
    json_close(j, '}');
}

static void json_layers(af_json *j, const af_cfg_result *r)
{
    json_key(j, "layers");
    json_open(j, '[');
    for (int i = 0; i < r->n_layers; i++) {
        const af_cfg_layer *l = &r->layers[i];
        if (j->need_comma) json_raw(j, ",");
        json_open(j, '{');
        json_kv_int(j, "depth", l->depth);
        json_kv_str(j, "tensor", l->name);
        json_kv_str(j, "node", l->node);
        json_kv_str(j, "op", l->op);
        json_kv_str(j, "stored", prec_name(l->rounding));
        json_kv_num(j, "d_ratio", l->d_ratio);
        json_m(j, "c", &l->c);
        json_m(j, "d", &l->d);
        if (l->has_own) {
            json_m(j, "own_c", &l->own_c);
            json_m(j, "own_d", &l->own_d);
        }
        json_close(j, '}');
    }
    json_close(j, ']');
    int w = af_cfg_worst_layer(r);
    json_kv_str(j, "worst_difference_layer", w >= 0 ? r->layers[w].name : NULL);
}

af_status af_cfg_json_text(const af_cfg_result *r, double min_psnr, char **text, af_err *err)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "component", r->name);
    json_kv_str(&j, "model", r->model);
    json_kv_str(&j, "bundle", r->bundle);
    json_kv_int(&j, "fp16", r->fp16);
    json_kv_num(&j, "cfg_scale", r->scale);
    json_kv_int(&j, "fp32_nodes", r->n_fp32);
    json_kv_int(&j, "paired_fp16_nodes", r->n_paired);
    json_kv_num(&j, "min_psnr_db", min_psnr);
    double g = af_cfg_guided_psnr(r);
    json_key(&j, "pass");
    json_raw(&j, min_psnr > 0 && !(g >= min_psnr) ? "false" : "true");
    j.need_comma = 1;
    json_key(&j, "outputs");
    json_open(&j, '[');
    for (int i = 0; i < r->n_outputs; i++) {
        const af_cfg_output *o = &r->outputs[i];
        if (j.need_comma) json_raw(&j, ",");
        json_open(&j, '{');
        json_kv_str(&j, "name", o->name);
        json_kv_num(&j, "d_ratio", o->d_ratio);
        json_m(&j, "cond", &o->c);
        json_m(&j, "uncond", &o->u);
        json_m(&j, "difference", &o->d);
        json_m(&j, "guided", &o->g);
        json_close(&j, '}');
    }
    json_close(&j, ']');
    if (r->n_layers) json_layers(&j, r);
    json_close(&j, '}');
    json_raw(&j, "\n");
    *text = NULL;
    if (!json_ok(&j)) {
        json_free(&j);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory writing the report");
    }
    *text = j.buf;
    return AF_OK;
}

af_status af_cfg_write_json(const char *path, const af_cfg_result *r, double min_psnr,
                            af_err *err)
{
    char *text;
    if (af_cfg_json_text(r, min_psnr, &text, err) != AF_OK) return err->code;
    size_t len = strlen(text);
    FILE *f = fopen(path, "w");
    af_status st = AF_OK;
    if (!f) st = af_err_set(err, AF_ERR_IO, "%s: cannot write the report", path);
    else {
        if (fwrite(text, 1, len, f) != len) st = af_err_set(err, AF_ERR_IO, "%s: write failed", path);
        if (fclose(f) != 0 && st == AF_OK) st = af_err_set(err, AF_ERR_IO, "%s: write failed", path);
    }
    free(text);
    return st;
}
