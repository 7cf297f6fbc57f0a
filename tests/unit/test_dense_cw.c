/* tests/unit/test_dense_cw.c — MATMUL and GEMM with their constant B handed over as a compressed
 * blob (dtype U8) and packed as compressed B panels (int8, palette or blockwise codes, or a
 * sparse mask and non-zeros, decoded per k block inside the packed GEMM, cpanel.h; a (K,N) weight read transposed, a
 * Gemm's (N,K) weight as stored), run with no f32 weight at all.
 *
 * Reference: the decode-at-open path — the same blob through af_wdecode (the reference decoder)
 * into f32, pre-packed as f32 B panels. The decoded panels must hold the decoder's floats, and
 * the micro-kernel sums them in the same order, so outputs must match bit for bit, on both
 * GEMM ISAs (AVX-512: 32-wide panels, AVX2: 16-wide), both decoders (AVX-512, portable) and
 * 1, 2 and 3 threads. One output row (batch-1 classifier heads): with AVX-512 the f32 path
 * takes the GEMV on f32 B, the compressed one the GEMV on compressed rows (cpanel.h's rows
 * form, decoded a piece at a time into the same sums), on all three decoders (AVX-512, AVX2,
 * portable); with the AVX2 GEMM both take the packed GEMM. Shapes: K = 300
 * (two k blocks), N = 45 (a partial last panel) and 600 (two 512-column blocks), blockwise
 * blocks that straddle a k block; blobs from cw_blob.h (negative zeros included). */
#include <stdlib.h>
#include <string.h>

#include "graph/dtype.h"
#include "runtime/kernels/cpanel.h"
#include "runtime/kernels/internal.h"
#include "runtime/wdecode.h"
#include "test_kernels_util.h"
#include "cw_blob.h"
#include "blob_run_util.h"

static void one(const dcase *c, const benc *e)
{
    int64_t dims[2] = {c->tb ? c->N : c->K, c->tb ? c->K : c->N};
    int64_t ny = c->batch * c->M * c->N, nw = c->K * c->N;
    size_t nb;
    uint8_t *blob = make_blob_r(e, 2, dims, &nb);
    float *x = frand_buf(c->batch * c->M * c->K), *w = malloc(sizeof(float) * (size_t)nw);
    float *bias = frand_buf(c->N);
    af_err err = {0};
    af_status st = af_wdecode(e->enc, blob, nb, 2, dims, w, "w", &err);
    CHECK(st == AF_OK, "%s: decode: %s", e->name, err.msg);
    float *ref = malloc(sizeof(float) * (size_t)ny), *y = malloc(sizeof(float) * (size_t)ny);
    for (int pg = 2; pg >= 1; pg--) { /* GEMM ISA: AVX-512, AVX2 */
        afk_pgemm_force = pg;
        dense_run(c, x, w, NULL, AF_DTYPE_U8, bias, ref, 1);
        for (int dec = 0; dec <= 2; dec++) /* decoder: best, portable, at most AVX2 */
            for (int nt = 1; nt <= 3; nt++) {
                afk_cw_force_portable = dec;
                memset(y, 0xff, sizeof(float) * (size_t)ny);
                dense_run(c, x, w, blob, AF_DTYPE_U8, bias, y, nt);
                CHECK(!memcmp(y, ref, sizeof(float) * (size_t)ny),
                      "%s %s tb=%d M=%lld K=%lld N=%lld: gemm isa %d, decoder %d, %d threads: "
                      "compressed B panels differ from decoded f32", e->name,
                      c->op == AF_OP_GEMM ? "gemm" : "matmul", c->tb, (long long)c->M,
                      (long long)c->K, (long long)c->N, pg, dec, nt);
            }
        afk_cw_force_portable = 0;
    }
    afk_pgemm_force = -1;
    free(blob), free(x), free(w), free(bias), free(ref), free(y);
}

/* The rows form's decoder alone: every row window [c0, c0+n) of every row, on each ISA
 * (AVX-512, AVX2, portable; NEON and portable on AArch64), must hold af_wdecode's floats bit
 * for bit (blockwise segments split at block edges, odd 4-bit starts, 4/8/16-lane tails). */
static void rows_direct(const benc *e)
{
    int64_t dims[2] = {5, 301};
    size_t nb;
    uint8_t *blob = make_blob_r(e, 2, dims, &nb);
    float *w = malloc(sizeof(float) * 5 * 301), *d = malloc(sizeof(float) * 2 * 301);
    af_err err = {0};
    CHECK(af_wdecode(e->enc, blob, nb, 2, dims, w, "w", &err) == AF_OK, "%s: decode", e->name);
    size_t bytes = afk_cw_bytes_rows(blob, dims);
    CHECK(bytes > 0, "%s: rows form refused", e->name);
    void *cw = aligned_alloc(64, (bytes + 63) / 64 * 64);
    afk_cw_pack_rows(blob, dims, cw);
    static const int64_t win[][2] = {{0, 301}, {1, 16}, {3, 37}, {31, 270}, {300, 1}, {17, 9}};
    for (int dec = 0; dec <= 2; dec++) {
        afk_cw_force_portable = dec;
        for (size_t i = 0; i < sizeof win / sizeof win[0]; i++)
            for (int64_t r = 0; r + 2 <= 5; r += 3) {
                int64_t c0 = win[i][0], n = win[i][1];
                afk_cw_decode_rows(cw, r, 2, c0, n, d, 301);
                for (int64_t q = 0; q < 2; q++)
                    CHECK(!memcmp(d + q * 301, w + (r + q) * 301 + c0, sizeof(float) * (size_t)n),
                          "%s: rows [%lld, +2) cols [%lld, +%lld), decoder %d differ", e->name,
                          (long long)r, (long long)c0, (long long)n, dec);
            }
    }
    afk_cw_force_portable = 0;
    free(blob), free(w), free(d), free(cw);
}

int main(void)
{
    static const dcase cases[] = {
        {AF_OP_MATMUL, 0, 2, 9, 300, 45},   /* (2,9,300) @ (300,45): a tall GEMM of 18 rows */
        {AF_OP_MATMUL, 0, 1, 30, 40, 600},  /* two 512-column blocks, tiles across threads */
        {AF_OP_GEMM, 1, 1, 7, 300, 45},     /* B stored (N,K), alpha, broadcast C */
        {AF_OP_GEMM, 0, 1, 5, 72, 81},     /* a last panel of 17 lanes: odd 4-bit starts */
        /* one output row: the GEMV on compressed rows (AVX-512), the packed GEMM (AVX2) */
        {AF_OP_GEMM, 1, 1, 1, 300, 200},   /* (N,K) rows, a K tail of 12, 4 column tiles */
        {AF_OP_GEMM, 1, 1, 1, 2100, 37},   /* K in two decoded chunks (2048 + 48) and a tail */
        {AF_OP_MATMUL, 0, 1, 1, 70, 601},  /* (K,N): 3 blocks of 256 columns, rows 32 at a
                                              time, tiles at odd 4-bit starts */
        {AF_OP_GEMM, 0, 1, 1, 72, 81},     /* Gemm's (K,N) weight, alpha, beta, C */
    };
    size_t n_encs;
    const benc *encs = cw_encodings(&n_encs);
    for (size_t j = 0; j < n_encs; j++) rows_direct(&encs[j]);
    if (!afk_pgemm_nr()) return check_report("dense_cw (no packed GEMM here)");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t j = 0; j < n_encs; j++) one(&cases[i], &encs[j]);
    return check_report("dense_cw");
}
