/* convert/gates.h — accuracy gates on the measures of convert/metrics.h, shared by `aneforge
 * validate` (exit 1 when an output fails one) and --compress auto's whole-model gate (promote
 * while one fails), and the per-output choice of task measures from af_task_spec flags.
 *
 * An output fails a gate when its measure is below the minimum or NaN; a gate whose measure an
 * output does not get (no top-K spec fits it, ...) does not apply to that output. */
#ifndef AF_CONVERT_GATES_H
#define AF_CONVERT_GATES_H

#include <stddef.h>
#include <stdint.h>

#include "../graph/error.h"
#include "aneforge/converter.h"
#include "metrics.h"

typedef struct af_gates {
    double min_psnr;            /* dB; -inf = none (a NaN PSNR still fails), NaN = not judged */
    double min_cosine;          /* 0 = none, else (0, 1] */
    double min_topk, min_argmax, min_iou; /* fractions; 0 = none */
} af_gates;

/* Bits of a failed-gate mask, in report order. */
enum {
    AF_GATE_PSNR = 1,
    AF_GATE_COSINE = 2,
    AF_GATE_TOPK = 4,
    AF_GATE_ARGMAX = 8,
    AF_GATE_IOU = 16,
    AF_GATE_ALL = 31
};

/* No gate at all (validate's default). */
void af_gates_none(af_gates *g);
/* Mask of the gates set (min_psnr finite, others > 0). */
int af_gates_set(const af_gates *g);
/* Mask of the gates one output fails (t may be NULL: no task measures). */
int af_gates_failed(const af_gates *g, const af_metrics *m, const af_task_metrics *t);
/* "psnr", "cosine", "topk", "argmax", "iou" joined by ','; "" for 0. */
const char *af_gates_str(int mask, char *buf, size_t size);
/* The flag of one gate bit ("--min-psnr", ...) and its minimum in g. */
const char *af_gate_flag(int bit);
double af_gate_min(const af_gates *g, int bit);

/* Checks a spec list: values in range, no two specs of one kind for the same output (or both
 * unnamed), and a spec of the right kind for each task gate set (--min-topk needs --topk ...).
 * AF_ERR_USAGE with a one-line message. */
af_status af_task_specs_check(const af_task_spec *s, int n, const af_gates *g, af_err *err);
/* The measures output name of shape dims[rank] gets. A named spec that does not fit it is
 * AF_ERR_USAGE. */
af_status af_task_plan_for(const af_task_spec *s, int n, const char *name, int rank,
                           const int64_t *dims, af_task_plan *p, af_err *err);
/* AF_ERR_USAGE when a named spec names none of the outputs, or a task gate is set but no output
 * gets its measure (plans[i] for output i). where names the model or bundle in the message. */
af_status af_task_plans_check(const af_task_spec *s, int n, const af_gates *g,
                              const char *const *names, const af_task_plan *plans, int n_outputs,
                              const char *where, af_err *err);

#endif
