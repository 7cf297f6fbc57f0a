/* convert/metrics.h — accuracy measures (names as in docs/validation.md), used by tests and validate.
 *   PSNR       = 20·log10(max|ref| / RMSE) dB (+inf when equal)
 *   max_abs    = max |out − ref|
 *   rel_l2     = ‖out − ref‖₂ / ‖ref‖₂
 *   cosine     = ⟨out, ref⟩ / (‖out‖₂ ‖ref‖₂)
 * plus NaN/Inf counts in out and fp16 overflow (reference values with |x| > 65504). */
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

#endif
