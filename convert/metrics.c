#include "metrics.h"

#include <math.h>
#include <string.h>

void af_metrics_compute(const float *ref, const float *out, size_t n, af_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = (int64_t)n;
    double se = 0, peak = 0, rr = 0, oo = 0, ro = 0;
    for (size_t i = 0; i < n; i++) {
        double r = ref[i], o = out[i];
        if (isnan(o)) m->nan_count++;
        else if (isinf(o)) m->inf_count++;
        if (fabs(r) > 65504.0) m->fp16_overflow++;
        double d = o - r;
        se += d * d;
        if (fabs(d) > m->max_abs || isnan(d)) m->max_abs = fabs(d);
        if (fabs(r) > peak) peak = fabs(r);
        rr += r * r;
        oo += o * o;
        ro += r * o;
    }
    double rmse = n ? sqrt(se / (double)n) : 0;
    m->psnr = rmse == 0 ? INFINITY : (peak == 0 ? -INFINITY : 20.0 * log10(peak / rmse));
    if (isnan(se)) m->psnr = NAN;
    m->rel_l2 = rr > 0 ? sqrt(se / rr) : (se > 0 ? INFINITY : 0);
    m->cosine = (rr > 0 && oo > 0) ? ro / sqrt(rr * oo) : (rr == oo ? 1.0 : 0.0);
}
