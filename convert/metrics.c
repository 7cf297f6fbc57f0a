#include "metrics.h"

#include <math.h>
#include <string.h>

void af_metrics_add(af_metrics_acc *a, const float *ref, const float *out, size_t n)
{
    a->n += (int64_t)n;
    for (size_t i = 0; i < n; i++) {
        double r = ref[i], o = out[i];
        if (isnan(o)) a->nan_count++;
        else if (isinf(o)) a->inf_count++;
        if (fabs(r) > 65504.0) a->fp16_overflow++;
        double d = o - r;
        a->se += d * d;
        if (fabs(d) > a->max_abs || isnan(d)) a->max_abs = fabs(d);
        if (fabs(r) > a->peak) a->peak = fabs(r);
        a->rr += r * r;
        a->oo += o * o;
        a->ro += r * o;
    }
}

void af_metrics_finish(const af_metrics_acc *a, af_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = a->n;
    m->nan_count = a->nan_count;
    m->inf_count = a->inf_count;
    m->fp16_overflow = a->fp16_overflow;
    m->max_abs = a->max_abs;
    double se = a->se, rr = a->rr, oo = a->oo;
    double rmse = a->n ? sqrt(se / (double)a->n) : 0;
    m->psnr = rmse == 0 ? INFINITY : (a->peak == 0 ? -INFINITY : 20.0 * log10(a->peak / rmse));
    if (isnan(se)) m->psnr = NAN;
    m->rel_l2 = rr > 0 ? sqrt(se / rr) : (se > 0 ? INFINITY : 0);
    m->cosine = (rr > 0 && oo > 0) ? a->ro / sqrt(rr * oo) : (rr == oo ? 1.0 : 0.0);
}

void af_metrics_compute(const float *ref, const float *out, size_t n, af_metrics *m)
{
    af_metrics_acc a;
    memset(&a, 0, sizeof a);
    af_metrics_add(&a, ref, out, n);
    af_metrics_finish(&a, m);
}

/* ---- task measures ------------------------------------------------------------------------ */

/* Argmax of x[0], x[s], ... x[(n-1)s], the lowest index on ties; -1 when x holds a NaN. */
static int64_t argmax_strided(const float *x, int64_t n, int64_t s)
{
    int64_t best = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i * s])) return -1;
        if (x[i * s] > x[best * s]) best = i;
    }
    return best;
}

/* Place of x[j] in x sorted descending, ties by index: 0 = the top-1; -1 when x holds a NaN. */
static int64_t rank_of(const float *x, int64_t n, int64_t j)
{
    int64_t above = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i])) return -1;
        above += x[i] > x[j] || (i < j && x[i] == x[j]);
    }
    return above;
}

void af_topk_count(const float *ref, const float *out, int64_t rows, int64_t classes, int k,
                   int64_t *top1, int64_t *topk)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *x = ref + r * classes, *y = out + r * classes;
        int64_t c = argmax_strided(x, classes, 1);
        int64_t place = c < 0 ? -1 : rank_of(y, classes, c);
        *top1 += place == 0;
        *topk += place >= 0 && place < k;
    }
}

int64_t af_argmax_count(const float *ref, const float *out, int64_t outer, int64_t len,
                        int64_t inner)
{
    int64_t agree = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t at = o * len * inner + i;
            int64_t a = argmax_strided(ref + at, len, inner);
            agree += a >= 0 && a == argmax_strided(out + at, len, inner);
        }
    return agree;
}

void af_iou_count(const float *ref, const float *out, size_t n, double t, int64_t *inter,
                  int64_t *uni)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(ref[i]) || isnan(out[i])) {
            (*uni)++;
            continue;
        }
        int r = ref[i] > t, b = out[i] > t;
        *inter += r && b;
        *uni += r || b;
    }
}

int af_task_any(const af_task_plan *p) { return p->topk > 0 || p->argmax_axis >= 0 || p->iou; }

void af_task_add(const af_task_plan *p, int rank, const int64_t *dims, const float *ref,
                 const float *out, af_task_counts *c)
{
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= dims[k];
    if (p->topk > 0 && rank >= 1 && dims[rank - 1] > 0) {
        int64_t classes = dims[rank - 1], rows = n / classes;
        c->rows += rows;
        af_topk_count(ref, out, rows, classes, p->topk, &c->top1, &c->topk);
    }
    if (p->argmax_axis >= 0 && p->argmax_axis < rank && dims[p->argmax_axis] > 0) {
        int64_t outer = 1, inner = 1, len = dims[p->argmax_axis];
        for (int k = 0; k < p->argmax_axis; k++) outer *= dims[k];
        for (int k = p->argmax_axis + 1; k < rank; k++) inner *= dims[k];
        c->positions += outer * inner;
        c->argmax += af_argmax_count(ref, out, outer, len, inner);
    }
    if (p->iou) af_iou_count(ref, out, (size_t)n, p->iou_threshold, &c->inter, &c->uni);
}

static double fraction(int64_t num, int64_t den) { return den ? (double)num / (double)den : 1.0; }

void af_task_finish(const af_task_plan *p, const af_task_counts *c, af_task_metrics *m)
{
    m->plan = *p;
    m->c = *c;
    m->top1 = p->topk > 0 ? fraction(c->top1, c->rows) : NAN;
    m->topk = p->topk > 0 ? fraction(c->topk, c->rows) : NAN;
    m->argmax = p->argmax_axis >= 0 ? fraction(c->argmax, c->positions) : NAN;
    m->iou = p->iou ? fraction(c->inter, c->uni) : NAN;
}
