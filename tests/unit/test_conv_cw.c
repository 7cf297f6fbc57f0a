/* tests/unit/test_conv_cw.c — CONV with its weight handed over as a compressed blob (dtype U8)
 * and packed as compressed panels (PACK_CW: int8, palette or blockwise codes, or a sparse mask
 * and its non-zeros, decoded per panel inside the packed GEMM, cpanel.h), run with no f32
 * weight at all.
 *
 * Reference: the decode-at-open path — the same blob through af_wdecode (the reference decoder)
 * into f32 weights, packed as f32 panels (Winograd off, so both take the packed GEMM). The
 * decoded panels must hold the decoder's floats and the sums the same order, so the outputs
 * must match bit for bit, for every encoding the panels cover, on every decoder ISA (AVX-512,
 * AVX2, portable) and GEMM ISA, and 1 and 2 threads (palettes of 1, 2, 3, 6 and 8 bits too).
 * Blobs are built here from random codes,
 * scales and tables (negative zeros included, which a fused multiply-add or a skipped "+ 0"
 * would turn into +0). Blockwise blocks of 8, 32 and 512 over K = 360, 32, 144 and 72 columns
 * (a last partial block; a block spanning two k blocks). Sparse at 10, 50 and 100 % non-zeros.
 * Blobs the reference decoder refuses (a non-finite non-zero or table entry, a mask whose count
 * differs from the header's) must be refused by the panels too (prepack 0).
 * A 3x3 conv that Winograd takes, its transformed weights too big to keep (afk_cw_wino_max
 * 0 here), is transformed from the compressed panels on every run (wino_weights.c): the same bits
 * as the decoded weight transformed once (F(4x4) and F(2x2)); a direct GEMM instead would
 * round otherwise and fail the comparison. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/dtype.h"
#include "runtime/kernels/cpanel.h"
#include "runtime/kernels/internal.h"
#include "runtime/wdecode.h"
#include "test_kernels_util.h"
#include "cw_blob.h"
#include "blob_run_util.h"

static void one(const ccase *c, const benc *e)
{
    int64_t OH, dims[4] = {c->M, c->C / c->group, c->k, c->k};
    int64_t nw = dims[0] * dims[1] * dims[2] * dims[3];
    conv_params(c, &OH);
    int64_t ny = c->M * OH * OH;
    size_t nb;
    uint8_t *blob = make_blob(e, dims, &nb);
    float *x = frand_buf(c->C * c->H * c->H), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = frand_buf(c->M);
    af_err err = {0};
    af_status st = af_wdecode(e->enc, blob, nb, 4, dims, w, "w", &err);
    CHECK(st == AF_OK, "%s: decode: %s", e->name, err.msg);
    CHECK(afk_cw_why_not(blob, 4, dims) == NULL, "%s: refused", e->name);
    float *ref = malloc(sizeof(float) * (size_t)ny), *y = malloc(sizeof(float) * (size_t)ny);
    afk_wino_mode = 0;
    conv_run(c, x, w, NULL, AF_DTYPE_U8, b, ref, 1);
    for (int pg = 2; pg >= 1; pg--) {      /* GEMM ISA: AVX-512, AVX2 */
        for (int dec = 0; dec <= 2; dec++) { /* decoder: best, portable, AVX2 */
            for (int nt = 1; nt <= 2; nt++) {
                afk_pgemm_force = pg, afk_cw_force_portable = dec;
                float *r = ref;
                float *r2 = NULL;
                if (pg != 2) { /* the reference on that GEMM ISA */
                    r2 = malloc(sizeof(float) * (size_t)ny);
                    afk_cw_force_portable = 0;
                    conv_run(c, x, w, NULL, AF_DTYPE_U8, b, r2, 1);
                    r = r2;
                }
                afk_cw_force_portable = dec;
                memset(y, 0xff, sizeof(float) * (size_t)ny);
                conv_run(c, x, w, blob, AF_DTYPE_U8, b, y, nt);
                CHECK(!memcmp(y, r, sizeof(float) * (size_t)ny),
                      "%s C=%lld M=%lld k=%lld s=%lld g=%lld: gemm isa %d, decoder %d, %d "
                      "threads: compressed panels differ from decoded f32", e->name,
                      (long long)c->C, (long long)c->M, (long long)c->k, (long long)c->stride,
                      (long long)c->group, pg, dec, nt);
                free(r2);
            }
        }
    }
    afk_pgemm_force = -1, afk_cw_force_portable = 0, afk_wino_mode = -1;
    free(blob), free(x), free(w), free(b), free(ref), free(y);
}

/* c on Winograd (mode 1: F(4x4), 2: F(2x2)): transformed per run from the blob, against the
 * decoded f32 weight transformed once. */
static void wino_one(const ccase *c, const benc *e, int mode)
{
    int64_t OH, dims[4] = {c->M, c->C, 3, 3}, nw = c->M * c->C * 9;
    conv_params(c, &OH);
    int64_t ny = c->M * OH * OH;
    size_t nb;
    uint8_t *blob = make_blob(e, dims, &nb);
    float *x = frand_buf(c->C * c->H * c->H), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = frand_buf(c->M), *ref = malloc(sizeof(float) * (size_t)ny);
    float *y = malloc(sizeof(float) * (size_t)ny);
    af_err err = {0};
    CHECK(af_wdecode(e->enc, blob, nb, 4, dims, w, "w", &err) == AF_OK, "%s: decode", e->name);
    afk_wino_mode = mode, afk_cw_wino_max = 0;
    for (int pg = 2; pg >= 1; pg--) {      /* GEMM ISA: AVX-512, AVX2 */
        afk_pgemm_force = pg, afk_cw_force_portable = 0;
        conv_run(c, x, w, NULL, AF_DTYPE_U8, b, ref, 1);
        for (int dec = 0; dec <= 2; dec++)   /* decoder: best, portable, AVX2 */
            for (int nt = 1; nt <= 2; nt++) {
                afk_cw_force_portable = dec;
                memset(y, 0xff, sizeof(float) * (size_t)ny);
                conv_run(c, x, w, blob, AF_DTYPE_U8, b, y, nt);
                CHECK(!memcmp(y, ref, sizeof(float) * (size_t)ny),
                      "%s C=%lld M=%lld F(%dx%d): gemm isa %d, decoder %d, %d threads: "
                      "Winograd from compressed panels differs from decoded f32", e->name,
                      (long long)c->C, (long long)c->M, mode == 1 ? 4 : 2, mode == 1 ? 4 : 2,
                      pg, dec, nt);
            }
    }
    afk_pgemm_force = -1, afk_cw_force_portable = 0, afk_wino_mode = -1;
    afk_cw_wino_max = (size_t)3 << 20;
    free(blob), free(x), free(w), free(b), free(ref), free(y);
}

/* Blobs the reference decoder refuses are refused by the panels too, so the session decodes
 * them instead and reports the decoder's error. */
static void refused(void)
{
    int64_t dims[4] = {20, 8, 3, 3};
    size_t nb;
    af_err err = {0};
    float *w = malloc(sizeof(float) * 20 * 8 * 9);
    benc sp = {"sparse", AFB_ENC_SPARSE, 16, 0, 40};
    uint8_t *b = make_blob(&sp, dims, &nb); /* a non-finite non-zero */
    CHECK(afk_cw_why_not(b, 4, dims) == NULL, "sparse refused");
    af_wblob_wr16(b + nb - 2, 0xfc00u);
    CHECK(af_wdecode(AFB_ENC_SPARSE, b, nb, 4, dims, w, "w", &err) != AF_OK, "decoder: -Inf");
    CHECK(afk_cw_why_not(b, 4, dims) != NULL, "sparse with -Inf accepted");
    CHECK(afk_cw_bytes(b, 4, dims, 1, afk_pgemm_mr()) == 0, "sparse with -Inf packed");
    free(b);
    b = make_blob(&sp, dims, &nb); /* one mask bit more than the header counts */
    uint8_t *m = b + AFB_BLOB_HEADER_SIZE;
    int e = 0;
    while ((m[e >> 3] >> (e & 7)) & 1) e++;
    m[e >> 3] |= (uint8_t)(1u << (e & 7));
    CHECK(af_wdecode(AFB_ENC_SPARSE, b, nb, 4, dims, w, "w", &err) != AF_OK, "decoder: mask");
    CHECK(afk_cw_why_not(b, 4, dims) != NULL, "sparse with a wrong mask count accepted");
    free(b), free(w);
    /* a non-finite table entry: the decoder refuses it, so must the panels */
    benc p4 = {"int4", AFB_ENC_INT4_LUT, 4, 0, 4};
    b = make_blob(&p4, dims, &nb);
    af_wblob_wr16(b + AFB_BLOB_HEADER_SIZE + 6, 0x7c00u);
    CHECK(afk_cw_why_not(b, 4, dims) != NULL, "int4 table with Inf accepted");
    free(b);
}

int main(void)
{
    static const ccase cases[] = {
        {40, 9, 45, 1, 3, 1},  /* 3x3 s1: K = 360 (two k blocks), 45 rows (a 3-row panel) */
        {32, 12, 30, 1, 1, 1}, /* pointwise */
        {16, 13, 20, 1, 3, 2}, /* 3x3 stride 2 */
        {24, 10, 18, 3, 3, 2}, /* grouped */
    };
    size_t n_encs;
    const benc *encs = cw_encodings(&n_encs);
    if (!afk_pgemm_nr()) return check_report("conv_cw (no packed GEMM here)");
    refused();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t j = 0; j < n_encs; j++) one(&cases[i], &encs[j]);
    /* 45 rows: a partial row panel; K = 333 (k blocks split a channel's 9 taps); 300
     * channels: two k blocks of the transformed weights */
    static const ccase wc[] = {{37, 10, 45, 1, 3, 1}, {300, 6, 20, 1, 3, 1}};
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < n_encs; j++)
            for (int mode = 1; mode <= 2; mode++) wino_one(&wc[i], &encs[j], mode);
    return check_report("conv_cw");
}
