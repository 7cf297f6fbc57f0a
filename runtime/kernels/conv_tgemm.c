/* runtime/kernels/conv_tgemm.c — convs on small maps as a GEMM with output positions as rows:
 *
 *   C' (P, M) = col^T (P, K) @ W^T (K, M);   y (M, P) = act(C'^T + bias)
 *
 * The packed GEMM (sgemm_packed.c) computes MR × NR tiles (AVX-512: 14 × 32). conv.c's usual
 * orientation puts output channels on the 14-row side and positions on the 32-wide panels, so
 * a 7×7 map fills 49 of 64 panel columns; turned over, the 49 positions are row tiles of
 * 14, 14, 14 and 7 (short tiles cost in proportion) and 512 channels exactly 16 panels: 23%
 * fewer multiply slots at 7×7, 12% at 14×14. The weights
 * are pre-packed once as W^T panels (afk_tgemm_pack); each run packs col^T (all positions)
 * once, then one task per thread (a share of the output channels, so col^T is streamed once
 * per thread) runs the GEMM into a (P, mb) buffer and writes it transposed with the bias and
 * activation. Sums run in the GEMM's fixed order whatever the
 * task split, so results do not depend on the thread count.
 */
#include "internal.h"

#include <string.h>

enum { MAX_P = 1024 };

static int64_t up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

int afk_tgemm_mode = 0; /* off until measured to pay (bench/conv_paths.c) */

int afk_tgemm_pays(int64_t P, int64_t M, int64_t K)
{
    const int64_t nr = afk_pgemm_nr();
    if (!nr || afk_tgemm_mode == 0 || P < 1 || P > MAX_P || M < 1 || K < 1 ||
        K > ((int64_t)1 << 24) || M > ((int64_t)1 << 24))
        return 0;
    if (afk_tgemm_mode == 1) return 1;
    /* multiply slots: the kernel's short row tiles cost in proportion to their rows, the
     * panels always whole; this orientation also packs its col^T in a second pass, so it must
     * save at least 5% */
    return P * up(M, nr) * 21 < up(P, nr) * M * 20;
}

size_t afk_tgemm_pack_floats(int64_t M, int64_t K) { return (size_t)(K * up(M, 32)); }

// W (M, K) -> W^T (K, M) as the GEMM's B panels
void afk_tgemm_pack(int64_t M, int64_t K, const float *W, float *dst)
{
    afk_pgemm_pack_b_t(M, K, W, K, dst);
}

/* Shared: col^T packed (K * P floats). Per thread: C' (P, all M rounded to 32) at most. */
size_t afk_tgemm_shared_floats(int64_t P, int64_t K) { return (size_t)(K * P + 16); }
size_t afk_tgemm_thread_floats(int64_t P, int64_t M) { return (size_t)(P * up(M, 32) + 16); }

typedef struct tg_job {
    const afk_tgemm *t;
    const float *ap; /* col^T packed */
    int64_t mb;      /* output channels per task, a multiple of 32 */
} tg_job;

/* y rows [m0, m0+mb) = act(c^T + bias): c (P, mb) row-major. */
static void store_t(const afk_tgemm *t, const float *c, int64_t m0, int64_t mb)
{
    int kind = afk_act_kind(t->act_u);
    for (int64_t m = 0; m < mb; m++) {
        float *row = t->y + (m0 + m) * t->P;
        for (int64_t p = 0; p < t->P; p++) row[p] = c[p * mb + m];
        float b = t->bias ? t->bias[m0 + m] : 0.0f;
        if (kind >= 0) {
            afk_vec_bias_act(row, t->P, b, kind, t->act_u->alpha, t->act_u->beta);
            continue;
        }
        for (int64_t p = 0; p < t->P; p++) row[p] += b;
        afk_act_apply(t->act_u, row, t->P);
    }
}

static void tg_task(void *arg, int64_t task, int tid)
{
    const tg_job *j = arg;
    const afk_tgemm *t = j->t;
    const int64_t m0 = task * j->mb, mb = t->M - m0 < j->mb ? t->M - m0 : j->mb;
    float *c = (float *)(((uintptr_t)(t->scratch + (size_t)tid * t->slice) + 63) & ~(uintptr_t)63);
    // col^T (P, K) @ W^T[:, m0:m0+mb] (K, mb) -> c (P, mb)
    afk_pgemm pg = {.M = t->P, .N = mb, .K = t->K, .Ap = j->ap, .ap_rows = t->P, .ap_row0 = 0,
                    .Bp = t->Wt, .bp_ld = up(t->M, 32), .bp_col0 = m0, .C = c, .ldc = mb,
                    .act = AFK_ACT_NONE};
    afk_pgemm_run(&pg);
    store_t(t, c, m0, mb);
}

void afk_tgemm_run(const afk_tgemm *t, const af_kctx *ctx)
{
    float *ap = (float *)(((uintptr_t)t->shared + 63) & ~(uintptr_t)63);
    afk_pgemm_pack_a_t(t->P, t->K, t->col, t->ldcol, ap);
    int nt = ctx && ctx->pool && ctx->n_threads > 1 ? ctx->n_threads : 1;
    tg_job j = {t, ap, up((t->M + nt - 1) / nt, 32)};
    afk_parallel(ctx, (t->M + j.mb - 1) / j.mb, tg_task, &j);
}
