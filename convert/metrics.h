/* convert/metrics.h — accuracy measures (names as in docs/validation.md), used by tests, validate
 * and --compress auto's whole-model gate.
 *   PSNR       = 20·log10(max|ref| / RMSE) dB (+inf when equal)
 *   max_abs    = max |out − ref|
 *   rel_l2     = ‖out − ref‖₂ / ‖ref‖₂
 *   cosine     = ⟨out, ref⟩ / (‖out‖₂ ‖ref‖₂)
 * plus NaN/Inf counts in out and fp16 overflow (reference values with |x| > 65504).
 *
 * Task measures (docs/validation.md "Task measures"), agreement of decisions rather than values:
 *   top-K      the tensor viewed as [rows, C] (C = the last axis, the class axis; rows = the
 *              product of the other axes): the fraction of rows whose reference top-1 class is
 *              among the bundle's K highest classes (top-1 agreement = K 1)
 *   argmax     the tensor viewed as [outer, L, inner] around axis A (L = dims[A]): the fraction
 *              of the outer·inner positions whose argmax over A is the same in both
 *   IoU        |R ∩ B| / |R ∪ B| of the masks R = {ref > T}, B = {out > T}; 1 when both are empty
 * Ties: the lowest index wins (argmax, and the order of the top K). NaN disagrees: a row or
 * position where either tensor holds a NaN counts as a miss, and an element where either holds
 * NaN is in the union, not in the intersection. Counts accumulate (several input sets). */
#ifndef AF_CONVERT_METRICS_H
#define AF_CONVERT_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct af_metrics {
    double psnr, max_abs, rel_l2, cosine;
    int64_t nan_count, inf_count, fp16_overflow;
    int64_t n;
} af_metrics;

void af_metrics_compute(const float *ref, const float *out, size_t n, af_metrics *m);

/* The same measures over several tensors (auto's calibration sets): zero the accumulator, add
 * each (ref, out) pair, finish. One add then finish equals af_metrics_compute bit for bit. */
typedef struct af_metrics_acc {
    double se, peak, rr, oo, ro, max_abs;
    int64_t nan_count, inf_count, fp16_overflow, n;
} af_metrics_acc;

void af_metrics_add(af_metrics_acc *a, const float *ref, const float *out, size_t n);
void af_metrics_finish(const af_metrics_acc *a, af_metrics *m);

/* Which task measures an output gets (convert/gates.h resolves them from the flags). */
typedef struct af_task_plan {
    int topk;            /* K >= 1, 0 = not measured */
    int argmax_axis;     /* normalised axis, -1 = not measured */
    int iou;             /* 1: IoU at iou_threshold */
    double iou_threshold;
} af_task_plan;

typedef struct af_task_counts {
    int64_t rows, top1, topk;   /* top-K: rows, and rows agreeing at 1 and at K */
    int64_t positions, argmax;  /* argmax: positions, and positions agreeing */
    int64_t inter, uni;         /* IoU: |R ∩ B|, |R ∪ B| */
} af_task_counts;

typedef struct af_task_metrics {
    af_task_plan plan;
    af_task_counts c;
    double top1, topk, argmax, iou; /* fractions in [0, 1]; NaN when not measured */
} af_task_metrics;

/* out viewed as [rows, classes]: adds the rows whose reference argmax is out's argmax (*top1)
 * and within out's k highest (*topk). */
void af_topk_count(const float *ref, const float *out, int64_t rows, int64_t classes, int k,
                   int64_t *top1, int64_t *topk);
/* Viewed as [outer, len, inner]: the positions whose argmax over len agrees. */
int64_t af_argmax_count(const float *ref, const float *out, int64_t outer, int64_t len,
                        int64_t inner);
/* Adds |R ∩ B| and |R ∪ B| for threshold t. */
void af_iou_count(const float *ref, const float *out, size_t n, double t, int64_t *inter,
                  int64_t *uni);

/* Adds one (ref, out) pair of shape dims[rank] to c, for the measures p asks for (p must fit
 * the shape: gates.h checks). */
void af_task_add(const af_task_plan *p, int rank, const int64_t *dims, const float *ref,
                 const float *out, af_task_counts *c);
void af_task_finish(const af_task_plan *p, const af_task_counts *c, af_task_metrics *m);
/* 1 when p asks for any measure. */
int af_task_any(const af_task_plan *p);

#endif
