/* targets/resolve.c — target names to rows: a family ("h14", alias "m2"), a chip ("a15",
 * "m2ultra") or a device alias ("iphone13"); the figures a device puts on top of its family
 * row; the generational peak and the provenance of every figure an estimate uses. Unknown
 * names get the nearest spellings; names that fit several chips (a Mac product line) are
 * refused as ambiguous. */
#include <stdio.h>
#include <string.h>

#include "../graph/names.h"
#include "targets_internal.h"

/* Product names sold with several chips: refused with the chips to choose from. */
static const struct {
    const char *name, *what, *chips;
} ambiguous[] = {
    {"macbookair", "MacBook Air", "m1, m2, m3, m4, m5"},
    {"macbookpro", "MacBook Pro", "m1 ... m5max"},
    {"macmini", "Mac mini", "m1, m2, m2pro, m4, m4pro"},
    {"macstudio", "Mac Studio", "m1max, m1ultra, m2max, m2ultra, m3ultra, m4max"},
    {"macpro", "Mac Pro", "m2ultra"},
    {"imac", "iMac", "m1, m3, m4"},
    {"ipadpro", "iPad Pro", "a12, m1, m2, m4, m5"},
    {"ipadair", "iPad Air", "a12, a14, m1, m2, m3"},
    {"ipadmini", "iPad mini", "a12, a15, a17pro"},
    {"ipad", "iPad", "a12, a13, a14, a16"},
};
#define N_AMBIGUOUS (sizeof ambiguous / sizeof ambiguous[0])

static const af_target_family *family_named(const char *name)
{
    for (int i = 0; name && i < af_target_count(); i++)
        if (!strcmp(af_target_at(i)->name, name)) return af_target_at(i);
    return NULL;
}

const af_target_device *af_target_device_find(const char *name)
{
    for (int i = 0; name && name[0] && i < af_target_device_count(); i++)
        if (!strcmp(af_target_device_at(i)->name, name)) return af_target_device_at(i);
    for (int i = 0; name && name[0] && i < af_target_device_count(); i++)
        if (af_target_name_in(af_target_device_at(i)->aliases, name)) return af_target_device_at(i);
    return NULL;
}

/* The family row's anchor device (the M chip the row's figures are), NULL if none. */
static const af_target_device *anchor_of(const af_target_family *f)
{
    const af_target_device *d = af_target_device_find(f->alias);
    return d && !strcmp(d->family, f->name) ? d : NULL;
}

const af_target_family *af_target_find(const char *name)
{
    const af_target_family *f = family_named(name);
    if (f) return f;
    const af_target_device *d = af_target_device_find(name);
    if (d) return family_named(d->family);
    for (int i = 0; name && i < af_target_count(); i++)
        if (!strcmp(af_target_at(i)->alias, name)) return af_target_at(i);
    return NULL;
}

const char *af_target_known_names(char *buf, size_t size)
{
    size_t used = 0;
    if (!size) return buf;
    buf[0] = '\0';
    for (int i = 0; i < af_target_count() && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s (%s)", i ? ", " : "", af_target_at(i)->name,
                         af_target_at(i)->alias);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

/* ---- nearest spellings over every name (families, chips, aliases, product lines) ---------- */
typedef struct near_set {
    const char *word;
    char best[3][32];
    int dist[3], n;
} near_set;

static void near_offer(near_set *s, const char *name, size_t len)
{
    char cand[32];
    if (!len || len >= sizeof cand) return;
    memcpy(cand, name, len);
    cand[len] = '\0';
    int d = af_edit_distance(s->word, cand), limit = (int)strlen(s->word) / 3;
    if (d > (limit > 1 ? limit : 1)) return;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->best[i], cand)) return;
    int at;
    if (s->n < 3) at = s->n++;
    else if (d >= s->dist[2]) return;
    else at = 2; /* the worst of three falls off */
    while (at > 0 && s->dist[at - 1] > d) {
        s->dist[at] = s->dist[at - 1];
        memcpy(s->best[at], s->best[at - 1], sizeof s->best[at]);
        at--;
    }
    s->dist[at] = d;
    memcpy(s->best[at], cand, len + 1);
}

static void near_offer_list(near_set *s, const char *list)
{
    while (list && *list) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        near_offer(s, list, len);
        list = comma ? comma + 1 : NULL;
    }
}

static void nearest(const char *word, near_set *s)
{
    memset(s, 0, sizeof *s);
    s->word = word;
    for (int i = 0; i < af_target_count(); i++) near_offer(s, af_target_at(i)->name, strlen(af_target_at(i)->name));
    for (int i = 0; i < af_target_device_count(); i++) {
        near_offer(s, af_target_device_at(i)->name, strlen(af_target_device_at(i)->name));
        near_offer_list(s, af_target_device_at(i)->aliases);
    }
    for (size_t i = 0; i < N_AMBIGUOUS; i++) near_offer(s, ambiguous[i].name, strlen(ambiguous[i].name));
}

/* "; did you mean 'a', 'b' or 'c'?" (empty when nothing is close). */
static void did_you_mean(const char *word, char *buf, size_t size)
{
    near_set s;
    nearest(word, &s);
    buf[0] = '\0';
    if (!s.n) return;
    size_t used = (size_t)snprintf(buf, size, "; did you mean ");
    for (int i = 0; i < s.n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s'%s'", i == 0 ? "" : i == s.n - 1 ? " or " : ", ",
                                 s.best[i]);
    if (used < size) snprintf(buf + used, size - used, "?");
}

static af_status unknown(const char *name, char *msg, size_t msg_size)
{
    if (!msg || !msg_size) return AF_ERR_USAGE;
    for (size_t i = 0; name && i < N_AMBIGUOUS; i++)
        if (!strcmp(ambiguous[i].name, name)) {
            snprintf(msg, msg_size, "ambiguous target '%s': the %s ships with several chips (%s); name the chip",
                     name, ambiguous[i].what, ambiguous[i].chips);
            return AF_ERR_USAGE;
        }
    char known[160], near[128] = "";
    if (name) did_you_mean(name, near, sizeof near);
    snprintf(msg, msg_size,
             "unknown target '%s'%s (known: %s; chips a11 ... a19pro, m1 ... m5max; "
             "iPhone aliases such as iphone13; all: aneforge targets)",
             name ? name : "", near, af_target_known_names(known, sizeof known));
    return AF_ERR_USAGE;
}

af_status af_target_lookup(const char *name, const af_target_family **out, char *msg,
                           size_t msg_size)
{
    *out = af_target_find(name);
    return *out ? AF_OK : unknown(name, msg, msg_size);
}

/* ---- a device's figures on its family row -------------------------------------------------- */
void af_target_device_figures(const af_target_device *d, af_target_family *out)
{
    const af_target_family *f = family_named(d->family);
    if (!f) f = af_target_at(0); /* every row names a family (pinned by test_targets) */
    *out = *f;
    /* the rates without public figures are derived from the peak: they scale with it */
    double k = f->peak_fp16_tops.value > 0 ? d->peak_fp16_tops.value / f->peak_fp16_tops.value : 1.0;
    out->chip = d->chip;
    out->peak_fp16_tops = d->peak_fp16_tops;
    out->vector_tops.value *= k;
    out->special_gops.value *= k;
    out->tap_gops.value *= k;
    out->dram_gbps = d->dram_gbps;
    out->weight_gbps = d->dram_gbps; /* the ANE reads weights from DRAM too */
}

af_status af_target_resolve(const char *name, af_target *out, char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    const af_target_family *f = family_named(name);
    const af_target_device *d = f ? NULL : af_target_device_find(name);
    if (!f && d) f = family_named(d->family);
    if (!f) {
        for (int i = 0; name && i < af_target_count(); i++)
            if (!strcmp(af_target_at(i)->alias, name)) f = af_target_at(i);
        if (!f) return unknown(name, msg, msg_size);
    }
    out->name = d ? d->name : f->name;
    out->family = f;
    out->device = d;
    if (d) af_target_device_figures(d, &out->figures);
    else out->figures = *f;
    return AF_OK;
}

af_status af_target_peak(const char *name, af_figure *public_tops, af_figure *fp16_tops,
                         char *msg, size_t msg_size)
{
    af_target t;
    af_status st = af_target_resolve(name, &t, msg, msg_size);
    if (st != AF_OK) return st;
    const af_target_device *d = t.device ? t.device : anchor_of(t.family);
    if (public_tops) *public_tops = d ? d->public_tops : t.family->peak_fp16_tops;
    if (fp16_tops) *fp16_tops = t.figures.peak_fp16_tops;
    return AF_OK;
}

/* ---- provenance ---------------------------------------------------------------------------- */
static void prov_add(af_target_provenance_info *p, const char *key, const char *unit, af_figure fig,
                     const char *row)
{
    if (p->n >= AF_TARGET_N_FIGURES) return;
    p->figures[p->n++] = (af_target_figure_row){key, unit, fig, row};
    if (fig.assumed) p->n_assumed++;
    else p->n_sourced++;
}

af_status af_target_provenance(const char *name, af_target_provenance_info *out, char *msg,
                               size_t msg_size)
{
    af_target t;
    memset(out, 0, sizeof *out);
    af_status st = af_target_resolve(name, &t, msg, msg_size);
    if (st != AF_OK) return st;
    const af_target_family *f = t.family, *x = &t.figures;
    const af_target_device *d = t.device ? t.device : anchor_of(f);
    const char *dev = t.device ? t.device->name : f->name; /* the row device figures come from */
    out->name = t.name;
    out->chip = d ? d->chip : f->chip;
    out->generation = d ? d->generation : "";
    out->family = f->name;
    out->extrapolated = t.device ? t.device->extrapolated : 0;
    out->family_source = t.device ? t.device->family_source : "a family row (its figures are its anchor chip's)";
    out->note = t.device ? t.device->note : "";
    prov_add(out, "peak_fp16_tops", "TOPS", x->peak_fp16_tops, dev);
    if (d) prov_add(out, "public_tops", "TOPS", d->public_tops, d->name);
    prov_add(out, "dram_gbps", "GB/s", x->dram_gbps, dev);
    prov_add(out, "weight_gbps", "GB/s", x->weight_gbps, dev);
    if (d) prov_add(out, "ane_cores", "", d->ane_cores, d->name);
    prov_add(out, "vector_tops", "TOPS", x->vector_tops, dev);
    prov_add(out, "special_gops", "G/s", x->special_gops, dev);
    prov_add(out, "tap_gops", "G/s", x->tap_gops, dev);
    prov_add(out, "gemm_half", "", x->gemm_half, f->name);
    prov_add(out, "op_floor_us", "us", x->op_floor_us, f->name);
    prov_add(out, "act_bytes", "B", x->act_bytes, f->name);
    prov_add(out, "decompressed_bits", "bit", x->decompressed_bits, f->name);
    return AF_OK;
}
