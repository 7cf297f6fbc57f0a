/* runtime/kernels/winograd.c — 3×3 stride-1 convolution by Winograd F(2×2, 3×3) (Lavin & Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016): 16 GEMMs over 4×4 input tiles
 * instead of one GEMM over 9× im2col columns — 2.25× fewer multiplies and less memory traffic.
 *
 *   U[k] (M, C)  = (G g G^T)[k]        per output/input channel pair, once per call
 *   V[k] (C, Pt) = (B^T d B)[k]        per input channel and 4×4 tile d (step 2, zero padded)
 *   Z[k] (M, Pt) = U[k] @ V[k]         k = 0..15
 *   y 2×2        = A^T Z A  (+ bias, activation)
 *
 * Work is cut into tasks of TILES tiles (a rule on the shape alone), so results do not depend on
 * the thread count. conv.c decides when it applies (afk_wino_applies) and sizes scratch.
 * Status: correct and tested, but off by default (afk_wino_enable) until the transforms are
 * vectorised — measured slower than im2col + OpenBLAS below ~256 channels.
 */
#include "internal.h"

#include <string.h>

enum { TILES = 256, KPAD = 16 }; /* KPAD: the 16 k-planes must not sit 2^n bytes apart (cache
                                   * set conflicts), so each plane is padded by 64 bytes */

/* Floats between consecutive k-planes of V (C rows) and Z (M rows). */
static size_t vstride(const afk_wino *w) { return (size_t)(w->C * TILES + KPAD); }
static size_t zstride(const afk_wino *w) { return (size_t)(w->M * TILES + KPAD); }

/* Tiles per row and column, total tiles and tasks. */
static void tile_counts(const afk_wino *w, int64_t *tw, int64_t *th, int64_t *tasks)
{
    *tw = (w->OW + 1) / 2;
    *th = (w->OH + 1) / 2;
    *tasks = (*tw * *th + TILES - 1) / TILES;
}

/* Off by default: with scalar transforms it is slower than im2col + OpenBLAS on this machine's
 * shapes (docs/performance.md); tests turn it on to keep it correct. */
int afk_wino_enable = 0;

int afk_wino_applies(const afk_wino *w)
{
    if (!afk_wino_enable) return 0;
    /* worth it with enough channels and tiles; bounds keep the scratch sizes far from overflow */
    return w->C >= 16 && w->M >= 16 && w->C <= 8192 && w->M <= 8192 && w->OH * w->OW >= 256 &&
           w->H <= 65536 && w->W <= 65536 && w->OH <= 65536 && w->OW <= 65536;
}

/* floats: shared U (16 M C), then per thread V (16 C TILES) and Z (16 M TILES). */
size_t afk_wino_shared_floats(const afk_wino *w) { return (size_t)(16 * w->M * w->C); }
size_t afk_wino_thread_floats(const afk_wino *w) { return 16 * (vstride(w) + zstride(w)); }

/* U[k][m][c] = G g G^T for the 3×3 kernel g of (m, c); G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]. */
static void weight_task(void *arg, int64_t m, int tid)
{
    (void)tid;
    const afk_wino *w = arg;
    for (int64_t c = 0; c < w->C; c++) {
        const float *g = w->w + (m * w->C + c) * 9;
        float t[4][3], u[4][4];
        for (int j = 0; j < 3; j++) { /* t = G g (4×3) */
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++) { /* u = t G^T (4×4) */
            u[i][0] = t[i][0];
            u[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            u[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            u[i][3] = t[i][2];
        }
        for (int k = 0; k < 16; k++) w->U[(k * w->M + m) * w->C + c] = u[k / 4][k % 4];
    }
}

/* V[k][c][p] = B^T d B for the tiles [p0, p0 + np); B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. */
static void input_transform(const afk_wino *w, int64_t tw, int64_t p0, int64_t np, float *V)
{
    for (int64_t c = 0; c < w->C; c++) {
        const float *x = w->x + c * w->H * w->W;
        for (int64_t p = 0; p < np; p++) {
            int64_t ty = (p0 + p) / tw, tx = (p0 + p) % tw;
            int64_t y0 = 2 * ty - w->pt, x0 = 2 * tx - w->pl;
            float d[4][4], t[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    int64_t yy = y0 + i, xx = x0 + j;
                    d[i][j] = yy >= 0 && yy < w->H && xx >= 0 && xx < w->W ? x[yy * w->W + xx] : 0.0f;
                }
            for (int j = 0; j < 4; j++) { /* t = B^T d */
                t[0][j] = d[0][j] - d[2][j];
                t[1][j] = d[1][j] + d[2][j];
                t[2][j] = d[2][j] - d[1][j];
                t[3][j] = d[1][j] - d[3][j];
            }
            for (int i = 0; i < 4; i++) { /* v = t B */
                const size_t ks = vstride(w);
                float *v = V + (size_t)(i * 4) * ks + (size_t)(c * TILES + p);
                v[0] = t[i][0] - t[i][2];
                v[ks] = t[i][1] + t[i][2];
                v[2 * ks] = t[i][2] - t[i][1];
                v[3 * ks] = t[i][1] - t[i][3];
            }
        }
    }
}

/* y 2×2 per tile = A^T Z A, A^T = [1 1 1 0; 0 1 -1 -1]; then bias and activation. */
static void output_transform(const afk_wino *w, int64_t tw, int64_t p0, int64_t np,
                             const float *Z)
{
    int kind = afk_act_kind(w->act);
    for (int64_t m = 0; m < w->M; m++) {
        float *y = w->y + m * w->OH * w->OW;
        float b = w->bias ? w->bias[m] : 0.0f;
        for (int64_t p = 0; p < np; p++) {
            float z[4][4], t[2][4];
            for (int k = 0; k < 16; k++) z[k / 4][k % 4] = Z[(size_t)k * zstride(w) + (size_t)(m * TILES + p)];
            for (int j = 0; j < 4; j++) {
                t[0][j] = z[0][j] + z[1][j] + z[2][j];
                t[1][j] = z[1][j] - z[2][j] - z[3][j];
            }
            int64_t ty = (p0 + p) / tw, tx = (p0 + p) % tw;
            for (int i = 0; i < 2; i++) {
                float o[2] = {t[i][0] + t[i][1] + t[i][2], t[i][1] - t[i][2] - t[i][3]};
                int64_t oy = 2 * ty + i;
                for (int j = 0; j < 2 && oy < w->OH; j++) {
                    int64_t ox = 2 * tx + j;
                    if (ox >= w->OW) continue;
                    float v = o[j] + b;
                    if (kind == AFK_ACT_RELU) v = v < 0 ? 0.0f : v;
                    else if (kind == AFK_ACT_CLIP)
                        v = v < w->act->alpha ? w->act->alpha : (v > w->act->beta ? w->act->beta : v);
                    else if (kind < 0) v = afk_unary_f32(w->act, v);
                    y[oy * w->OW + ox] = v;
                }
            }
        }
    }
}

static void tile_task(void *arg, int64_t task, int tid)
{
    const afk_wino *w = arg;
    int64_t tw, th, tasks;
    tile_counts(w, &tw, &th, &tasks);
    int64_t p0 = task * TILES, np = tw * th - p0 < TILES ? tw * th - p0 : TILES;
    float *V = w->thread_scratch + (size_t)tid * afk_wino_thread_floats(w);
    float *Z = V + 16 * vstride(w);
    if (np < TILES) memset(V, 0, sizeof(float) * 16 * vstride(w));
    input_transform(w, tw, p0, np, V);
    for (int k = 0; k < 16; k++) /* Z[k] (M, TILES) = U[k] (M, C) @ V[k] (C, TILES) */
        afk_sgemm(0, 0, w->M, TILES, w->C, 1.0f, w->U + (size_t)k * w->M * w->C, w->C,
                  V + k * vstride(w), TILES, 0.0f, Z + k * zstride(w), TILES);
    output_transform(w, tw, p0, np, Z);
}

// X (C,H,W) ⊛ W (M,C,3,3) + B (M), stride 1 -> Y (M,OH,OW), one image
void afk_wino_run(const afk_wino *w, const af_kctx *ctx)
{
    int64_t tw, th, tasks;
    tile_counts(w, &tw, &th, &tasks);
    afk_parallel(ctx, w->M, weight_task, (void *)w);
    afk_parallel(ctx, tasks, tile_task, (void *)w);
}
