/* runtime/kernels/norm.c — BATCHNORM (inference): y = (x - mean) / sqrt(var + eps) * scale + bias,
 * folded per channel into y = x * a + b. */
#include "internal.h"

#include <math.h>

af_status afk_batchnorm_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    static const char *const names[5] = {"X", "scale", "bias", "mean", "var"};
    for (int i = 0; i < 5; i++) {
        af_status st = afk_need_dtype("batchnorm", names[i], &in[i], AF_DTYPE_F32, err);
        if (st) return st;
    }
    af_status st = afk_need_dtype("batchnorm", "Y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    if (in[0].rank < 2 || !afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "batchnorm: X must be (N,C,...) and Y the same");
    for (int i = 1; i < 5; i++)
        if (af_tview_numel(&in[i]) != in[0].dims[1])
            return af_err_set(err, AF_ERR_SHAPE, "batchnorm: %s must have %lld elements",
                              names[i], (long long)in[0].dims[1]);
    return AF_OK;
}

typedef struct bn_job {
    const float *x, *scale, *bias, *mean, *var;
    float *y, eps;
    int64_t C, S, cpt; /* channels, positions per channel, channels per task */
    int64_t nc;        /* N * C */
} bn_job;

/* Channels [t*cpt, (t+1)*cpt) of all images (n*C + c): each alone, so any thread count agrees. */
static void bn_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const bn_job *j = arg;
    for (int64_t k = t * j->cpt; k < (t + 1) * j->cpt && k < j->nc; k++) {
        int64_t c = k % j->C;
        float a = j->scale[c] / sqrtf(j->var[c] + j->eps);
        float b = j->bias[c] - j->mean[c] * a;
        const float *xr = j->x + k * j->S;
        float *yr = j->y + k * j->S;
        if (afk_vec_affine512(xr, yr, j->S, a, b)) continue;
        for (int64_t i = 0; i < j->S; i++) yr[i] = xr[i] * a + b;
    }
}

// X (N,C,*) -> Y (N,C,*)
af_status afk_batchnorm_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    bn_job j = {in[0].data, in[1].data, in[2].data, in[3].data, in[4].data, out[0].data,
                p->batchnorm.eps, in[0].dims[1], afk_prod(&in[0], 2, in[0].rank), 1,
                in[0].dims[0] * in[0].dims[1]};
    /* tasks of at least 16K values, so small maps do not pay the pool's hand-off */
    j.cpt = j.S > 0 ? (16384 + j.S - 1) / j.S : 1;
    if (j.nc > 0) afk_parallel(ctx, (j.nc + j.cpt - 1) / j.cpt, bn_task, &j);
    return AF_OK;
}
