/* compress/gptq.h — data-aware codes: GPTQ-style error compensation (Frantar et al., "GPTQ:
 * Accurate Post-Training Quantization for Generative Pre-trained Transformers", ICLR 2023).
 *
 * A weight W (out x n, n along the reduction axis) feeds y = W x. Quantizing its inputs' columns
 * one at a time, in order, each column's rounding error is spread over the columns not yet
 * quantized through the inverse of H = sum x x^T (wstats.h), so the layer's output error
 * ||(W - Q) x||^2 over the calibration data is what gets minimised, not ||W - Q||^2.
 *
 * Two refinements of the reference code: inputs are quantized loudest first (act order), and H
 * is shrunk toward its diagonal by 0.5 n/(n + samples) when calibration is short (gptq.c).
 *
 * af_gptq_recode keeps an encoded blob's parameters (int8 scales and zero points, int4 tables,
 * blockwise scales and offsets, all chosen data-free or importance-weighted by the encoder) and
 * re-chooses its codes: a post-pass over the blob formats of docs/bundle-format.md, so the
 * encoders stay as they are. Deterministic. Only full statistics (n <= max_full) are used; other
 * encodings (fp16, sparse) and tensors without statistics are left unchanged.
 */
#ifndef AF_COMPRESS_GPTQ_H
#define AF_COMPRESS_GPTQ_H

#include "encodings.h"
#include "wstats.h"

/* Relative damping added to H's diagonal (a fraction of its mean), as in the paper. */
#define AF_GPTQ_DAMP 0.01

af_status af_gptq_recode(af_ckind k, const float *x, int rank, const int64_t *dims,
                         af_wstats *s, af_cblob *blob, af_err *err);
/* Replaces s->h by the factors the column loop uses (once; af_gptq_recode calls it): after it
 * s->factored is 1, or -1 when H is not definite even damped (recode then changes nothing). */
af_status af_gptq_factor(af_wstats *s, af_err *err);

/* The factor the column loop uses: u (n x n) = the upper U with (H + damping)^-1 = U^T U.
 * 1 done, 0 not positive definite even damped, -1 out of memory. (Exposed for tests.) */
int af_gptq_inverse_factor(const float *h, int64_t n, float *u);

#endif
