/* runtime/kernels/transpose2d.c — the transposes that are batched 2-D ones, for 4-byte
 * elements: y[b][c][r] = x[b][r][c], x (B, R, C) -> y (B, C, R). After dropping size-1 axes and
 * merging axes that stay neighbours, NCHW <-> NHWC (perm 0,2,3,1 / 0,3,1,2 around an SD
 * transformer block's 1×1 convs) and a matrix transpose are of this form.
 *
 * Output rows are written left to right in 16×16 blocks (AVX-512: 16 loads, the in-register
 * transpose of simd512.h, 16 stores; else the same blocks by scalar loops), threaded over
 * strips of output rows. A copy: the same bits as the generic strided loop, any thread count.
 */
#include "internal.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include "simd512.h"
#define AFK_T2_X86 1
#endif

/* Collapses x's shape `dims` (rank r) under perm (output axis i = input axis perm[i]) to
 * x (B, R, C) -> y (B, C, R); returns 0 when the transpose is not of that form. */
int afk_transpose_as_2d(int r, const int64_t *dims, const int *perm, int64_t *B, int64_t *R,
                        int64_t *C)
{
    int newax[AF_MAX_RANK], kept = 0, seq[AF_MAX_RANK], n = 0;
    for (int a = 0; a < r; a++) newax[a] = dims[a] == 1 ? -1 : kept++;
    for (int i = 0; i < r; i++)
        if (newax[perm[i]] >= 0) seq[n++] = newax[perm[i]];
    /* groups: runs of consecutive input axes in output order; g[k] = first input axis of run k */
    int64_t gdim[AF_MAX_RANK];
    int gfirst[AF_MAX_RANK], ng = 0;
    for (int i = 0; i < n; i++) {
        int64_t d = 1;
        for (int a = 0; a < r; a++)
            if (newax[a] == seq[i]) d = dims[a];
        if (i > 0 && seq[i] == seq[i - 1] + 1) {
            gdim[ng - 1] *= d;
        } else {
            gfirst[ng] = seq[i];
            gdim[ng++] = d;
        }
    }
    if (ng == 2 && gfirst[0] > gfirst[1]) { /* (R, C) -> (C, R) */
        *B = 1, *R = gdim[1], *C = gdim[0];
        return 1;
    }
    if (ng == 3 && gfirst[0] < gfirst[2] && gfirst[2] < gfirst[1]) { /* (B, R, C) -> (B, C, R) */
        *B = gdim[0], *R = gdim[2], *C = gdim[1];
        return 1;
    }
    return 0;
}

typedef struct t2_job {
    const uint32_t *x;
    uint32_t *y;
    int64_t R, C, strips, per; /* strips of 16 output rows per batch index; strips per task */
    int wide;                  /* AVX-512 blocks */
} t2_job;

#ifdef AFK_T2_X86
/* y rows [c0, c0+16) of one batch index, columns [0, r16): full 16×16 blocks. */
AFK_TGT512 static void strip512(const float *x, float *y, int64_t R, int64_t C, int64_t c0,
                                int64_t r16)
{
    for (int64_t r0 = 0; r0 < r16; r0 += 16) {
        __m512 v[16];
        for (int q = 0; q < 16; q++) v[q] = _mm512_loadu_ps(x + (r0 + q) * C + c0);
        afk_tr16(v); /* v[q]: column c0+q of rows r0..r0+15 */
        for (int q = 0; q < 16; q++) _mm512_storeu_ps(y + (c0 + q) * R + r0, v[q]);
    }
}
#endif

/* y rows [c0, c1) of one batch index, columns [r0, R), in 16×16 blocks. */
static void strip_ref(const uint32_t *x, uint32_t *y, int64_t R, int64_t C, int64_t c0,
                      int64_t c1, int64_t r0)
{
    for (; r0 < R; r0 += 16) {
        int64_t re = R - r0 < 16 ? R : r0 + 16;
        for (int64_t c = c0; c < c1; c++)
            for (int64_t r = r0; r < re; r++) y[c * R + r] = x[r * C + c];
    }
}

static void t2_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const t2_job *j = arg;
    for (int64_t s = t * j->per; s < (t + 1) * j->per && s < j->strips; s++) {
        int64_t b = s / ((j->C + 15) / 16), c0 = s % ((j->C + 15) / 16) * 16;
        int64_t c1 = j->C - c0 < 16 ? j->C : c0 + 16, r16 = 0;
        const uint32_t *x = j->x + b * j->R * j->C;
        uint32_t *y = j->y + b * j->R * j->C;
#ifdef AFK_T2_X86
        if (j->wide && c1 - c0 == 16) {
            r16 = j->R / 16 * 16;
            strip512((const float *)x, (float *)y, j->R, j->C, c0, r16);
        }
#endif
        strip_ref(x, y, j->R, j->C, c0, c1, r16);
    }
}

// x (B, R, C) -> y (B, C, R), 4-byte elements
void afk_transpose2d_u32(const af_kctx *ctx, const void *x, void *y, int64_t B, int64_t R,
                         int64_t C)
{
    t2_job j = {x, y, R, C, B * ((C + 15) / 16), 1, 0};
#ifdef AFK_T2_X86
    j.wide = afk_vec_have512();
#endif
    if (j.strips == 0 || R == 0) return;
    j.per = (16384 + 16 * R - 1) / (16 * R); /* tasks of at least 16K elements */
    afk_parallel(ctx, (j.strips + j.per - 1) / j.per, t2_task, &j);
}
