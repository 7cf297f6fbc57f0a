/* tools/inspect_auto.c — inspect's line for --compress auto bundles: the whole-model gate's
 * outcome from the metadata's "compression" object (convert/compress_step.c writes it flat:
 * scalar fields, then "task_measures":[...] and "tensors":[...]). Bundles converted without task
 * gates have no "decided_by"; PSNR was then the only gate, so it is shown as "psnr" (promotions)
 * or "layer_gate" (none). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

typedef struct span {
    const char *s, *end;
} span;

static const char *find(span m, const char *needle)
{
    size_t k = strlen(needle);
    for (const char *p = m.s; p + k <= m.end; p++)
        if (!memcmp(p, needle, k)) return p;
    return NULL;
}

/* The number after "key": (NaN when absent or null). */
static double num(span m, const char *key)
{
    char pat[64], buf[48];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *v = find(m, pat);
    if (!v) return NAN;
    v += strlen(pat);
    size_t i = 0;
    while (v + i < m.end && i + 1 < sizeof buf && strchr("0123456789+-.eE", v[i])) buf[i] = v[i], i++;
    buf[i] = '\0';
    return i ? strtod(buf, NULL) : NAN;
}

static void str(span m, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *v = find(m, pat);
    size_t i = 0;
    if (v)
        for (v += strlen(pat); v < m.end && *v != '"' && i + 1 < size; v++) out[i++] = *v;
    out[i] = '\0';
}

void inspect_print_auto(const char *meta, size_t len)
{
    span all = {meta, meta + len};
    const char *c = meta ? find(all, "\"compression\":{\"mode\":\"auto\"") : NULL;
    if (!c) return;
    span m = {c, all.end};
    const char *stop = find(m, "\"task_measures\":");
    if (!stop) stop = find(m, "\"tensors\":");
    if (stop) m.end = stop;
    char decided[48];
    str(m, "decided_by", decided, sizeof decided);
    double promotions = num(m, "promotions"), met = num(m, "gates_met");
    if (!decided[0]) snprintf(decided, sizeof decided, promotions > 0 ? "psnr" : "layer_gate");
    printf("  auto: decided by %s%s; model PSNR %.2f dB (min %.2f), %.0f promotions", decided,
           met == 0 ? " (gates NOT met)" : "", num(m, "model_psnr_db"), num(m, "min_psnr_db"),
           promotions);
    static const char *const keys[][2] = {{"model_cosine", "min_cosine"}, {"model_top1", ""},
                                          {"model_topk", "min_topk"}, {"model_argmax", "min_argmax"},
                                          {"model_iou", "min_iou"}};
    static const char *const names[] = {"cosine", "top-1", "top-K", "argmax", "IoU"};
    for (int k = 0; k < 5; k++) {
        double v = num(m, keys[k][0]), lo = keys[k][1][0] ? num(m, keys[k][1]) : NAN;
        if (isnan(v)) continue;
        printf(", %s %.9g", names[k], v);
        if (!isnan(lo)) printf(" (min %g)", lo);
    }
    printf("\n");
}
