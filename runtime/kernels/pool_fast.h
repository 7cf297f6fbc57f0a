/* runtime/kernels/pool_fast.h — AVX-512F fast paths for pool.c (see pool_fast.c). */
#ifndef AF_RUNTIME_KERNELS_POOL_FAST_H
#define AF_RUNTIME_KERNELS_POOL_FAST_H

#include <stdint.h>

#include "kernels.h"

/* Max pooling of the interior output columns [o0, o1) of one output row: y[ow] is the max over
 * the rows rows[0..nr) (in that order) and the columns ow*s - pb + kw*d, kw in [0, KW) (in that
 * order), folded as the reference does (best = v > best ? v : best from -inf), so the bits
 * match pool_one's. Every such column must lie inside the row. Returns 0 (nothing written) when
 * the CPU lacks AVX-512F, afk_vec_force_portable is set, or s > 2. */
int afk_maxpool_row_fast(const float *const *rows, int nr, int64_t o0, int64_t o1, int64_t s,
                         int64_t d, int64_t KW, int64_t pb, float *y);

/* Sum of x[0..n) in double, 8 lanes x 2 accumulators then a fixed-order reduction (the order
 * depends on n only). Returns 0 (sum untouched) when the fast path is unavailable. */
int afk_sum_f64_fast(const float *x, int64_t n, double *sum);
/* The same for the sum of squares (ReduceL2, ReduceSumSquare). */
int afk_sumsq_f64_fast(const float *x, int64_t n, double *sum);

/* y[i] /= d (a true division) for i < n: the scalar loop's bits, 16 lanes. Returns 0 (nothing
 * done) as above. */
int afk_div_row_fast(float *y, int64_t n, float d);

/* Average pooling of one whole output row, stride 1 and no dilation: y[ow] = the sum over the
 * window rows rows[0..nr) (kh order), then kw in [0, KW), of rows[r][ow + kw - pb] where that
 * column lies in [0, W), divided by divs[ow] — pool_one's sums in its order and its division,
 * so its bits. Returns 0 (nothing written) as above. */
int afk_avgpool_row_fast(const float *const *rows, int nr, int64_t OW, int64_t W, int64_t KW,
                         int64_t pb, const float *divs, float *y);

/* 2-D max pooling of nc channels of uint8 (i8 0) or int8 (i8 1) codes, x (nc, in[0], in[1]) ->
 * y (nc, out[0], out[1]), window k, stride s, begin pads pb, no dilation (pool_q8.c): exact, the
 * same bytes as pool.c's loop. Returns 0 (nothing written) when a window holds no input or a
 * padded row is wider than its buffer. */
int afk_maxpool_q8(const void *x, void *y, int i8, int64_t nc, const int64_t in[2],
                   const int64_t out[2], const int64_t k[2], const int64_t s[2],
                   const int64_t pb[2], const af_kctx *ctx);

#endif
