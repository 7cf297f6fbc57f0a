/* runtime/kernels/pool_fast.h — AVX-512F fast paths for pool.c (see pool_fast.c). */
#ifndef AF_RUNTIME_KERNELS_POOL_FAST_H
#define AF_RUNTIME_KERNELS_POOL_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* One channel of 2-D pooling: input (H, W), output (OH, OW); [0] rows, [1] columns. */
typedef struct afk_pool2d {
    int avg;       /* 0: max, 1: average */
    int count_pad; /* average: count_include_pad */
    int64_t H, W, OH, OW, k[2], s[2], d[2], pb[2], pe[2];
} afk_pool2d;

/* y (OH, OW) = the pooling of x (H, W) for nc channels (planes xs and ys floats apart), stride 1
 * or 2 along the row, any dilation, windows clipped to the map (edges and ceil-mode windows
 * included): each output folds the window's values inside the map in kh-then-kw order as
 * pool.c's pool_one does (max: best = v > best ? v : best from -inf; average: a sum from +0
 * divided by (window rows counted) x cnt[ow] (its window columns counted), or 0 where that is 0),
 * so its bits. tab: afk_pool_plane_tab's tables for p and cnt, or NULL (where they are needed,
 * the row loop runs instead). Returns 0 (nothing written) when the CPU lacks AVX-512F,
 * afk_vec_force_portable is set, the row stride is above 2 or the window wider than 32. */
int afk_pool_plane_fast(const afk_pool2d *p, const void *tab, const float *x, int64_t nc,
                        int64_t xs, int64_t ys, const float *cnt, float *y);

/* Bytes of the per-position tables afk_pool_plane_fast reads for geometry p (64-byte aligned
 * storage; 0: p needs none), depending on the shape only; afk_pool_plane_tab fills them once
 * for all channels (cnt as above, read for an average) and returns 1, or 0 (nothing written)
 * where p needs none or the AVX-512 loops are not in use. */
size_t afk_pool_plane_tab_bytes(const afk_pool2d *p);
int afk_pool_plane_tab(const afk_pool2d *p, const float *cnt, void *tab);

/* Sum of x[0..n) in double, 8 lanes x 2 accumulators then a fixed-order reduction (the order
 * depends on n only). Returns 0 (sum untouched) when the fast path is unavailable. */
int afk_sum_f64_fast(const float *x, int64_t n, double *sum);
/* The same for the sum of squares (ReduceL2, ReduceSumSquare). */
int afk_sumsq_f64_fast(const float *x, int64_t n, double *sum);

/* y[i] /= d (a true division) for i < n: the scalar loop's bits, 16 lanes. Returns 0 (nothing
 * done) as above. */
int afk_div_row_fast(float *y, int64_t n, float d);

/* 2-D max pooling of nc channels of uint8 (i8 0) or int8 (i8 1) codes, x (nc, in[0], in[1]) ->
 * y (nc, out[0], out[1]), window k, stride s, begin pads pb, no dilation (pool_q8.c): exact, the
 * same bytes as pool.c's loop. Returns 0 (nothing written) when a window holds no input or a
 * padded row is wider than its buffer. */
int afk_maxpool_q8(const void *x, void *y, int i8, int64_t nc, const int64_t in[2],
                   const int64_t out[2], const int64_t k[2], const int64_t s[2],
                   const int64_t pb[2], const af_kctx *ctx);

#endif
