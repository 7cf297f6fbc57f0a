/* compress/calib.h — in-memory evaluation of a lowered graph for auto's judging: every node run
 * with the runtime's kernels (af_kernel_run), every activation kept in its own buffer, and any
 * constant replaceable by other data (decoded candidate weights). Plus calibration inputs. */
#ifndef AF_COMPRESS_CALIB_H
#define AF_COMPRESS_CALIB_H

#include "../graph/graph.h"
#include "../runtime/kernels/kernels.h"

typedef struct af_geval {
    const af_graph *g;
    void **buf;           /* per tensor: activation buffer (NULL: a constant, or not live) */
    const void **over;    /* per tensor: replacement data for a constant (NULL = its own) */
    int *last_use;        /* per tensor: the last node reading it (INT_MAX: inputs, outputs) */
    void *scratch;
    size_t scratch_bytes;
    af_kctx ctx;
} af_geval;

af_status af_geval_init(af_geval *e, const af_graph *g, af_err *err);
void af_geval_free(af_geval *e);
af_tview af_geval_view(const af_geval *e, int t);
/* Runs node i; out_data (if not NULL) replaces its first output's buffer. */
af_status af_geval_node(af_geval *e, int i, void *out_data, af_err *err);
af_status af_geval_run(af_geval *e, af_err *err);
/* The same run, freeing each activation after the last node that reads it (graph inputs and
 * outputs stay): peak memory is the live set, not every tensor. pre/post (may be NULL) run
 * before and after node i, while its inputs are alive. Buffers are allocated as their
 * producers run; af_geval_run keeps all of them. */
typedef af_status (*af_geval_hook)(void *user, int node, af_err *err);
af_status af_geval_run_live(af_geval *e, af_geval_hook pre, af_geval_hook post, void *user,
                            af_err *err);

/* Calibration sets: inputs[s][k] is graph input k of set s (malloc'd, its dtype and shape). */
typedef struct af_calib {
    void ***inputs;
    int n_sets;
    int random;           /* 1: seeded random inputs (no directory given) */
} af_calib;

/* Reads DIR/<input>.npy (one set) or DIR/<sub>/<input>.npy for each subfolder (sorted by name,
 * at most 64), checking dtype and shape; with dir == NULL makes one seeded N(0,1) set. */
af_status af_calib_load(const af_graph *g, const char *dir, uint32_t seed, af_calib *c,
                        af_err *err);
void af_calib_free(af_calib *c, int n_inputs);
/* Copies set s into the evaluator's input buffers. */
void af_calib_set(const af_calib *c, int s, af_geval *e);

#endif
