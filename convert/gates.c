/* convert/gates.c — see gates.h. */
#include "gates.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const gate_names[] = {"psnr", "cosine", "topk", "argmax", "iou"};
static const char *const gate_flags[] = {"--min-psnr", "--min-cosine", "--min-topk",
                                         "--min-argmax", "--min-iou"};
static const char *const task_flags[] = {"", "--topk", "--argmax-axis", "--iou"};

static int bit_index(int bit)
{
    int i = 0;
    while (i < 5 && bit != 1 << i) i++;
    return i < 5 ? i : 0;
}

void af_gates_none(af_gates *g)
{
    memset(g, 0, sizeof *g);
    g->min_psnr = -INFINITY;
}

double af_gate_min(const af_gates *g, int bit)
{
    switch (bit) {
    case AF_GATE_PSNR: return g->min_psnr;
    case AF_GATE_COSINE: return g->min_cosine;
    case AF_GATE_TOPK: return g->min_topk;
    case AF_GATE_ARGMAX: return g->min_argmax;
    default: return g->min_iou;
    }
}

const char *af_gate_flag(int bit) { return gate_flags[bit_index(bit)]; }

int af_gates_set(const af_gates *g)
{
    int mask = isfinite(g->min_psnr) ? AF_GATE_PSNR : 0;
    for (int b = AF_GATE_COSINE; b <= AF_GATE_IOU; b <<= 1)
        if (af_gate_min(g, b) > 0) mask |= b;
    return mask;
}

/* NaN fails. */
static int below(double v, double min) { return !(v >= min); }

int af_gates_failed(const af_gates *g, const af_metrics *m, const af_task_metrics *t)
{
    int set = af_gates_set(g), f = 0;
    if (!isnan(g->min_psnr) && below(m->psnr, g->min_psnr)) f |= AF_GATE_PSNR; /* -inf: NaN */
    if ((set & AF_GATE_COSINE) && below(m->cosine, g->min_cosine)) f |= AF_GATE_COSINE;
    if (!t) return f;
    if ((set & AF_GATE_TOPK) && t->plan.topk > 0 && below(t->topk, g->min_topk))
        f |= AF_GATE_TOPK;
    if ((set & AF_GATE_ARGMAX) && t->plan.argmax_axis >= 0 && below(t->argmax, g->min_argmax))
        f |= AF_GATE_ARGMAX;
    if ((set & AF_GATE_IOU) && t->plan.iou && below(t->iou, g->min_iou)) f |= AF_GATE_IOU;
    return f;
}

const char *af_gates_str(int mask, char *buf, size_t size)
{
    size_t len = 0;
    if (size) buf[0] = '\0';
    for (int i = 0; i < 5; i++)
        if (mask & (1 << i)) {
            int w = snprintf(buf + len, size > len ? size - len : 0, "%s%s", len ? "," : "",
                             gate_names[i]);
            if (w > 0) len += (size_t)w;
            if (len >= size) break;
        }
    return buf;
}

/* ---- specs -------------------------------------------------------------------------------- */

static int parse_long(const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return end != s && !*end && !errno && *v >= lo && *v <= hi;
}

af_status af_task_spec_parse(char *arg, af_task_kind kind, af_task_spec *out, char *msg,
                             size_t msg_size)
{
    memset(out, 0, sizeof out[0]);
    out->kind = kind;
    const char *flag = kind >= AF_TASK_TOPK && kind <= AF_TASK_IOU ? task_flags[kind] : "?";
    char *eq = arg ? strrchr(arg, '=') : NULL, *v = eq ? eq + 1 : arg;
    long n = 0;
    int ok = arg && *arg && eq != arg && v && *v;
    if (ok && kind == AF_TASK_TOPK) ok = parse_long(v, 1, 1L << 24, &n), out->k = (int)n;
    else if (ok && kind == AF_TASK_ARGMAX)
        ok = parse_long(v, -AF_MAX_RANK, AF_MAX_RANK - 1, &n), out->axis = (int)n;
    else if (ok && kind == AF_TASK_IOU) {
        char *end;
        errno = 0;
        out->threshold = strtod(v, &end);
        ok = end != v && !*end && !errno && isfinite(out->threshold);
    } else ok = 0;
    if (!ok) {
        static const char *const want[] = {"", "K: an integer >= 1", "A: an integer axis",
                                           "T: a number"};
        if (msg && msg_size)
            snprintf(msg, msg_size, "bad %s '%s' (want [OUTPUT=]%s)", flag, arg ? arg : "",
                     kind >= AF_TASK_TOPK && kind <= AF_TASK_IOU ? want[kind] : "?");
        return AF_ERR_USAGE;
    }
    if (eq) *eq = '\0', out->output = arg;
    return AF_OK;
}

static int same_target(const af_task_spec *a, const af_task_spec *b)
{
    if (!a->output || !b->output) return !a->output && !b->output;
    return !strcmp(a->output, b->output);
}

af_status af_task_specs_check(const af_task_spec *s, int n, const af_gates *g, af_err *err)
{
    int kinds = 0;
    for (int i = 0; i < n; i++) {
        const af_task_spec *x = &s[i];
        if (x->kind < AF_TASK_TOPK || x->kind > AF_TASK_IOU)
            return af_err_set(err, AF_ERR_USAGE, "task measure %d: unknown kind %d", i, x->kind);
        const char *f = task_flags[x->kind];
        if ((x->kind == AF_TASK_TOPK && x->k < 1) ||
            (x->kind == AF_TASK_ARGMAX && (x->axis < -AF_MAX_RANK || x->axis >= AF_MAX_RANK)) ||
            (x->kind == AF_TASK_IOU && !isfinite(x->threshold)))
            return af_err_set(err, AF_ERR_USAGE, "%s%s%s: value out of range", f,
                              x->output ? " " : "", x->output ? x->output : "");
        for (int j = 0; j < i; j++)
            if (s[j].kind == x->kind && same_target(&s[j], x))
                return af_err_set(err, AF_ERR_USAGE, "%s given twice for %s%s%s", f,
                                  x->output ? "output '" : "every output",
                                  x->output ? x->output : "", x->output ? "'" : "");
        kinds |= 1 << x->kind;
    }
    static const struct { int bit; af_task_kind kind; } need[] = {
        {AF_GATE_TOPK, AF_TASK_TOPK}, {AF_GATE_ARGMAX, AF_TASK_ARGMAX}, {AF_GATE_IOU, AF_TASK_IOU}};
    int set = g ? af_gates_set(g) : 0;
    for (int i = 0; i < 3; i++)
        if ((set & need[i].bit) && !(kinds & (1 << need[i].kind)))
            return af_err_set(err, AF_ERR_USAGE, "%s needs %s (which outputs, and K/axis/threshold)",
                              af_gate_flag(need[i].bit), task_flags[need[i].kind]);
    return AF_OK;
}

/* 1 when spec x can be measured on a tensor of shape dims[rank]; *axis gets argmax's axis. */
static int fits(const af_task_spec *x, int rank, const int64_t *dims, int *axis)
{
    if (x->kind == AF_TASK_TOPK) return rank >= 1 && dims[rank - 1] > x->k;
    if (x->kind == AF_TASK_IOU) return 1;
    *axis = x->axis < 0 ? x->axis + rank : x->axis;
    return *axis >= 0 && *axis < rank && dims[*axis] >= 2;
}

static const char *shape_str(int rank, const int64_t *dims, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int k = 0; k < rank && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", k ? "," : "", (long long)dims[k]);
    if (len < size) snprintf(buf + len, size - len, "]");
    return buf;
}

/* The spec of kind for output name: a named one wins over an unnamed one; NULL when none. */
static const af_task_spec *spec_for(const af_task_spec *s, int n, af_task_kind kind,
                                    const char *name)
{
    const af_task_spec *any = NULL;
    for (int i = 0; i < n; i++) {
        if (s[i].kind != kind) continue;
        if (s[i].output && !strcmp(s[i].output, name)) return &s[i];
        if (!s[i].output) any = &s[i];
    }
    return any;
}

af_status af_task_plan_for(const af_task_spec *s, int n, const char *name, int rank,
                           const int64_t *dims, af_task_plan *p, af_err *err)
{
    memset(p, 0, sizeof *p);
    p->argmax_axis = -1;
    for (int kind = AF_TASK_TOPK; kind <= AF_TASK_IOU; kind++) {
        const af_task_spec *x = spec_for(s, n, (af_task_kind)kind, name);
        int axis = -1;
        if (!x) continue;
        if (!fits(x, rank, dims, &axis)) {
            if (!x->output) continue; /* unnamed: only the outputs it fits */
            char sh[160];
            static const char *const why[] = {"", "its last axis must be longer than K",
                                              "the axis must exist and be at least 2 long", ""};
            return af_err_set(err, AF_ERR_USAGE, "%s %s=...: output '%s' is %s; %s",
                              task_flags[kind], name, name, shape_str(rank, dims, sh, sizeof sh),
                              why[kind]);
        }
        if (kind == AF_TASK_TOPK) p->topk = x->k;
        else if (kind == AF_TASK_ARGMAX) p->argmax_axis = axis;
        else p->iou = 1, p->iou_threshold = x->threshold;
    }
    return AF_OK;
}

af_status af_task_plans_check(const af_task_spec *s, int n, const af_gates *g,
                              const char *const *names, const af_task_plan *plans, int n_outputs,
                              const char *where, af_err *err)
{
    for (int i = 0; i < n; i++) {
        int found = !s[i].output;
        for (int k = 0; k < n_outputs && !found; k++) found = !strcmp(names[k], s[i].output);
        if (!found)
            return af_err_set(err, AF_ERR_USAGE, "%s %s=...: %s has no output '%s'",
                              task_flags[s[i].kind], s[i].output, where, s[i].output);
    }
    int set = af_gates_set(g), got = 0;
    for (int k = 0; k < n_outputs; k++)
        got |= (plans[k].topk > 0 ? AF_GATE_TOPK : 0) |
               (plans[k].argmax_axis >= 0 ? AF_GATE_ARGMAX : 0) | (plans[k].iou ? AF_GATE_IOU : 0);
    for (int b = AF_GATE_TOPK; b <= AF_GATE_IOU; b <<= 1)
        if ((set & b) && !(got & b))
            return af_err_set(err, AF_ERR_USAGE, "%s: no output of %s fits %s", af_gate_flag(b),
                              where, task_flags[b == AF_GATE_TOPK ? 1 : b == AF_GATE_ARGMAX ? 2 : 3]);
    return AF_OK;
}
