/* runtime/kernels/kernels.h — the kernel layer: one reference kernel per op of graph/ops.h.
 *
 * Kernels see tensors as views (dtype, shape, data) and the resolved param struct of their
 * node. They allocate nothing: temporary space comes from ctx->scratch, sized beforehand by
 * af_kernel_scratch_bytes() for the same op, params and shapes. They never abort; a dtype
 * combination they do not implement returns AF_ERR_UNSUPPORTED with a message.
 *
 * The same entry point serves the runtime (executing a bundle) and lowering's constant folding
 * (evaluating nodes whose inputs are all constant), so both compute identical numbers.
 *
 * Conventions: activations are f32 unless an op says otherwise; integer tensors (indices,
 * shapes) are i32/i64; comparisons produce bool (one byte, 0/1). An omitted optional input is
 * a view with data == NULL. Output views have shape and dtype set by shape inference and data
 * pointing at writable memory that does not overlap the inputs (unless af_kernel_in_place()).
 * Three ops have an output whose size depends on the data (NMS's rows, NonZero's columns,
 * Compress's cut axis): the view arrives holding a capacity, the kernel writes the selected
 * part compactly (row-major for the smaller shape) and sets that dim of out[0] to its size.
 */
#ifndef AF_RUNTIME_KERNELS_H
#define AF_RUNTIME_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../../graph/dtype.h"
#include "../../graph/error.h"
#include "../../graph/ops.h"

typedef struct af_tview {
    af_dtype dtype;
    int rank;
    int64_t dims[AF_MAX_RANK];
    void *data;
} af_tview;

typedef struct afk_pool afk_pool;

typedef struct af_kctx {
    void *scratch;        /* 64-byte aligned, at least af_kernel_scratch_bytes() */
    size_t scratch_bytes;
    int n_threads;        /* a hint; 1 = single-threaded */
    afk_pool *pool;       /* worker threads (NULL: run on the caller only) */
    const void *packed;   /* this node's weights from af_kernel_prepack, or NULL; with it, a
                           * MATMUL/GEMM in[1].data may be NULL (the weight exists only packed) */
    void *shared;         /* 64-byte aligned, at least af_kernel_shared_bytes() for packed: one
                           * buffer the threads of one node share, reused node after node */
    size_t shared_bytes;
} af_kctx;

/* A pool of n_threads - 1 workers (*out stays NULL for n_threads <= 1). */
af_status afk_pool_create(int n_threads, afk_pool **out, af_err *err);
void afk_pool_free(afk_pool *p);
/* Runs fn(arg, t, tid) for t in [0, n_tasks) on the pool and the caller; returns when all are
 * done. tid in [0, n_threads) names the running thread (for per-thread scratch slices). What a
 * task computes must not depend on the thread count (see threads.c). */
typedef void (*afk_task_fn)(void *arg, int64_t task, int tid);
void afk_parallel(const af_kctx *ctx, int64_t n_tasks, afk_task_fn fn, void *arg);
/* Keeps the BLAS library on the calling thread (our pool does the threading); idempotent. */
void afk_blas_single_thread(void);
/* dst[i] = af_f16_to_f32(src[i]), vectorised (F16C) when the CPU has it. */
void afk_f16_to_f32_n(const uint16_t *src, float *dst, size_t n);

/* Scratch bytes the kernel needs for this node (0 for most ops). */
size_t af_kernel_scratch_bytes(af_op op, const af_params *p, const af_tview *in, int n_in,
                               const af_tview *out, int n_out);

/* Weights packed once ahead of the runs (CONV: GEMM panels, see sgemm_packed.c; MATMUL and
 * GEMM: a 2-D B's panels, sgemm.c; CONV_INTEGER / QLINEAR_CONV: int8 rows for VNNI,
 * qconv_vnni.c): the bytes for this node (0: nothing to pack), and the packing into dst
 * (64-byte aligned) from the constant weight (in[af_kernel_weight_input(op)]). Passing the
 * result as ctx->packed to af_kernel_run skips per-run packing. */
size_t af_kernel_prepack_bytes(af_op op, const af_params *p, const af_tview *in, int n_in,
                               const af_tview *out, int n_out);
void af_kernel_prepack(af_op op, const af_params *p, const af_tview *in, int n_in,
                       const af_tview *out, int n_out, void *dst);

/* The input af_kernel_prepack packs: 1 (CONV, MATMUL, GEMM, CONV_INTEGER), 3 for QLINEAR_CONV
 * (x, x_scale, x_zero_point, w, ...; its integer weight, for the AVX512-VNNI path). */
int af_kernel_weight_input(af_op op);

/* Bytes of ctx->shared a node needs with these pre-packed weights (CONV: a compressed 3x3
 * weight run by Winograd transforms it there on every run; CONV_INTEGER / QLINEAR_CONV: a
 * padded copy of the input image for stride-1 convs); 0 for most. */
size_t af_kernel_shared_bytes(af_op op, const void *packed);

/* Checks, before any run, that a kernel exists for this op, params and dtypes. */
af_status af_kernel_check(af_op op, const af_params *p, const af_tview *in, int n_in,
                          const af_tview *out, int n_out, af_err *err);

/* Runs one node. */
af_status af_kernel_run(af_op op, const af_params *p, const af_tview *in, int n_in,
                        af_tview *out, int n_out, const af_kctx *ctx, af_err *err);

/* Element count of a view. */
int64_t af_tview_numel(const af_tview *v);

#endif
