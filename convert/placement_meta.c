/* convert/placement_meta.c — a precision placement in the metadata (writing it, reading it
 * back for inspect) and its shares of an estimate (estimate, convert). See placement.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aneforge/runtime.h"
#include "placement.h"

/* ---- the metadata -------------------------------------------------------------------------- */

static void json_names(af_json *j, const char *key, char **v, int n)
{
    json_key(j, key);
    json_open(j, '[');
    for (int i = 0; i < n; i++) json_value_str(j, v[i]);
    json_close(j, ']');
}

void af_placement_meta_json(af_json *j, const af_placement *pl)
{
    if (!pl) return;
    json_key(j, "precision");
    json_open(j, '{');
    json_names(j, "fp32", pl->fp32, pl->n_fp32); /* first: the runtime reads these two */
    json_names(j, "paired_fp16", pl->paired, pl->n_paired);
    json_kv_str(j, "fp32_mode", pl->mode_fp32);
    json_kv_str(j, "paired_fp16_mode", pl->mode_paired);
    json_kv_str(j, "cost_family", pl->family);
    json_kv_num(j, "cpu_time_share", pl->cpu_share);
    json_kv_num(j, "paired_time_extra", pl->paired_extra);
    if (pl->measured) {
        json_kv_num(j, "cfg_scale", pl->scale);
        json_kv_num(j, "min_cfg_psnr_db", pl->gate);
        json_kv_num(j, "guided_psnr_db_fp16", pl->psnr_fp16);
        json_kv_num(j, "guided_psnr_db", pl->psnr_placed);
        json_kv_int(j, "cfg_calib_pairs", pl->n_pairs);
    }
    json_close(j, '}');
}

/* ---- estimated time ------------------------------------------------------------------------ */

/* The estimated time of each node (by name; names longer than the report keeps are cut alike). */
void af_placement_node_times(const af_cost_report *cr, const char *const *names, int n, double *t)
{
    char cut[sizeof cr->ops[0].node];
    for (int i = 0; i < n; i++) {
        t[i] = 0;
        snprintf(cut, sizeof cut, "%s", names[i] ? names[i] : "");
        for (int k = 0; k < cr->n; k++)
            if (!strcmp(cr->ops[k].node, cut)) {
                t[i] = cr->ops[k].time_us;
                break;
            }
    }
}

void af_placement_shares(const af_cost_report *cr, const char *const *names, const uint8_t *prec,
                         int n, double *cpu_share, double *paired_extra)
{
    *cpu_share = *paired_extra = 0;
    double *t = malloc(sizeof(double) * (size_t)(n + 1));
    if (!t || !(cr->time_us > 0)) {
        free(t);
        return;
    }
    af_placement_node_times(cr, names, n, t);
    for (int i = 0; i < n; i++) {
        if (prec[i] == AF_PREC_FP32) *cpu_share += t[i];
        if (prec[i] == AF_PREC_PAIRED) *paired_extra += t[i];
    }
    *cpu_share /= cr->time_us;
    *paired_extra /= cr->time_us;
    free(t);
}

/* ---- reading it back ---------------------------------------------------------------------- */

/* The number after "key": inside obj (NaN when absent or null). */
static double meta_num(const char *obj, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(obj, k);
    if (!p) return NAN;
    char *end;
    double v = strtod(p + strlen(k), &end);
    return end == p + strlen(k) ? NAN : v;
}

static void meta_str(const char *obj, const char *key, char *out, size_t size)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":\"", key);
    const char *p = strstr(obj, k);
    out[0] = '\0';
    if (!p) return;
    p += strlen(k);
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < size) n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Strings in the array after "key":[ (node names hold no '"' unescaped: counts commas at depth 0
 * outside strings). */
static int meta_count(const char *obj, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":[", key);
    const char *p = strstr(obj, k);
    if (!p) return 0;
    int n = 0, in = 0;
    for (p += strlen(k); *p && (in || *p != ']'); p++) {
        if (in && *p == '\\' && p[1]) p++;
        else if (*p == '"') n += !in, in = !in;
    }
    return n;
}

int af_placement_read(const char *meta, size_t len, af_placement_info *out)
{
    memset(out, 0, sizeof *out);
    char *m = meta ? strndup(meta, len) : NULL;
    const char *obj = m ? strstr(m, "\"precision\":{") : NULL;
    if (!obj) {
        free(m);
        return 0;
    }
    out->n_fp32 = meta_count(obj, "fp32");
    out->n_paired = meta_count(obj, "paired_fp16");
    meta_str(obj, "fp32_mode", out->mode_fp32, sizeof out->mode_fp32);
    meta_str(obj, "paired_fp16_mode", out->mode_paired, sizeof out->mode_paired);
    meta_str(obj, "cost_family", out->family, sizeof out->family);
    out->cpu_share = meta_num(obj, "cpu_time_share");
    out->paired_extra = meta_num(obj, "paired_time_extra");
    out->scale = meta_num(obj, "cfg_scale");
    out->gate = meta_num(obj, "min_cfg_psnr_db");
    out->psnr_fp16 = meta_num(obj, "guided_psnr_db_fp16");
    out->psnr_placed = meta_num(obj, "guided_psnr_db");
    double pairs = meta_num(obj, "cfg_calib_pairs");
    out->n_pairs = pairs >= 1 && pairs <= 1e6 ? (int)pairs : 0;
    free(m);
    return 1;
}

int af_placement_bundle_shares(const char *bundle_path, const af_cost_report *cr,
                               double *cpu_share, double *paired_extra, int *n_fp32,
                               int *n_paired)
{
    *cpu_share = *paired_extra = 0;
    *n_fp32 = *n_paired = 0;
    af_bundle *b;
    if (af_bundle_open(bundle_path, &b, NULL, 0) != AF_OK) return 0;
    int n = af_bundle_node_count(b);
    uint8_t *prec = malloc((size_t)n + 1);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    if (prec && names && af_bundle_node_precision(b, prec, NULL, 0) == AF_OK) {
        for (int i = 0; i < n; i++) {
            names[i] = af_bundle_node_name(b, i);
            *n_fp32 += prec[i] == AF_PREC_FP32;
            *n_paired += prec[i] == AF_PREC_PAIRED;
        }
        af_placement_shares(cr, names, prec, n, cpu_share, paired_extra);
    }
    free(prec);
    free(names);
    af_bundle_close(b);
    return *n_fp32 + *n_paired > 0;
}
