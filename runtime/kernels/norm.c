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

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* y = x * a + b over n floats, 16 lanes: the multiply and the add rounded apart, as the scalar
 * loop (x86-64's baseline has no FMA to contract it into), so its bits. */
__attribute__((target("avx512f"))) static void affine512(const float *x, float *y, int64_t n,
                                                          float a, float b)
{
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), va);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(v, vb));
    }
}
#endif

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
#if defined(__x86_64__) || defined(__i386__)
        if (afk_vec_have512()) {
            affine512(xr, yr, j->S, a, b);
            continue;
        }
#endif
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
