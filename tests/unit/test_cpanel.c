/* tests/unit/test_cpanel.c — the compressed-panel decoders (runtime/kernels/cpanel.c) one panel
 * at a time: the vector decoder the CPU selects (NEON on AArch64; AVX-512F, and AVX2 forced,
 * on x86) against the portable loop, and the portable loop against the reference decoder
 * (af_wdecode) at the same weight positions. Each must give the same bits (bound 0: every
 * path does the reference's one multiply and one add, in its order, without contraction).
 *
 * Encodings: int8 (per-tensor symmetric, per-row asymmetric, the ONNX form with f32 scales
 * and uint8 codes), 4-bit tables (one row per table, 5 and 16 rows per table, one table),
 * palettes with a row scale (and offset), of 2 bits (held as nibbles) and 6 bits (bytes into
 * 64-entry tables: the portable loop on AArch64, a gather on x86), blockwise 8-bit and 4-bit
 * (blocks of 8, 16, 32), sparse at 0, 7, 50 and 97 % non-zeros (mask runs expanded: AVX-512
 * vexpandps, AVX2 a permute, NEON TBL; -0 and subnormal non-zeros).
 * Panels of 12 rows (the NEON micro-kernel's), 8, 16 and 5 (odd: nibbles from an odd start),
 * 29 rows (a partial last panel) in 1 and 2 sub-matrices, K = 300 (two k blocks); and the
 * transposed layout (a (K, N) weight read by columns: B panels of 8, 32, 12 and 5 lanes,
 * N = 45, rows from odd nibbles). On AArch64 it also fails when NEON is not the decoder in
 * use, and af_wdecode's row loops there are NEON too (wdec_neon.c: int8, 4-bit tables and
 * palettes, blockwise), so the second comparison checks them against the portable formulas.
 */
#include <stdlib.h>
#include <string.h>

#include "graph/dtype.h"
#include "runtime/kernels/cpanel.h"
#include "runtime/kernels/internal.h"
#include "runtime/wdecode.h"
#include "test_kernels_util.h"
#include "cw_blob.h"

static const benc encs[] = {
    {"int8 per tensor", AFB_ENC_INT8, 8, 0, 1},
    {"int8 per row, asymmetric", AFB_ENC_INT8, 8, AF_WBLOB_PER_CHANNEL | AF_WBLOB_ASYMMETRIC, 0},
    {"int8 onnx uint8", AFB_ENC_INT8, 8,
     AF_WBLOB_F32_SCALE | AF_WBLOB_UNSIGNED | AF_WBLOB_ASYMMETRIC | AF_WBLOB_PER_CHANNEL |
         AF_WBLOB_AXIS, 0},
    {"int4 table per row", AFB_ENC_INT4_LUT, 4, 0, 1},
    {"int4 5 rows per table", AFB_ENC_INT4_LUT, 4, 0, 5},
    {"int4 16 rows per table", AFB_ENC_INT4_LUT, 4, 0, 16},
    {"int4 one table", AFB_ENC_INT4_LUT, 4, 0, 1000},
    {"palette scale+offset", AFB_ENC_PALETTE, 4, AF_WBLOB_ROW_SCALE | AF_WBLOB_ROW_OFFSET, 3},
    {"palette scale", AFB_ENC_PALETTE, 4, AF_WBLOB_ROW_SCALE, 7},
    {"palette 2-bit (as nibbles)", AFB_ENC_PALETTE, 2, AF_WBLOB_ROW_SCALE, 4},
    {"palette 6-bit (bytes, 64-entry tables)", AFB_ENC_PALETTE, 6, AF_WBLOB_ROW_OFFSET, 9},
    {"blockwise 8-bit /8", AFB_ENC_BLOCKWISE, 8, 0, 8},
    {"blockwise 4-bit /16", AFB_ENC_BLOCKWISE, 4, 0, 16},
    {"blockwise 4-bit /32", AFB_ENC_BLOCKWISE, 4, 0, 32},
    {"sparse 50%", AFB_ENC_SPARSE, 16, 0, 50},
    {"sparse 7%", AFB_ENC_SPARSE, 16, 0, 7},
    {"sparse 97%", AFB_ENC_SPARSE, 16, 0, 97},
    {"sparse all zero", AFB_ENC_SPARSE, 16, 0, 0},
};

/* Every panel of the packed buffer decoded by each decoder; ref: the reference decoder's
 * weight (dims[0], dims[1]). Returns the panels that differ. */
static int check_panels(const afk_cw *cw, const float *ref, int64_t ld, int mr)
{
    const int64_t KC = AFK_PGEMM_KC;
    float *a = malloc(sizeof(float) * (size_t)(KC * mr)), *b = malloc(sizeof(float) * (size_t)(KC * mr));
    int bad = 0;
    for (int64_t gi = 0; gi < cw->G; gi++)
        for (int64_t k0 = 0; k0 < cw->K; k0 += KC)
            for (int64_t i0 = 0; i0 < cw->rows; i0 += mr) {
                int64_t kc = cw->K - k0 < KC ? cw->K - k0 : KC;
                int w = cw->rows - i0 < mr ? (int)(cw->rows - i0) : mr;
                afk_cw_force_portable = 1;
                afk_cw_decode(cw, gi, k0, kc, i0, w, a);
                int same_ref = 1; /* the portable loop: the reference decoder's floats */
                for (int64_t kk = 0; kk < kc; kk++)
                    for (int i = 0; i < w; i++) {
                        int64_t r = gi * cw->rows + i0 + i, k = k0 + kk;
                        const float *x = cw->tr ? &ref[k * ld + r] : &ref[r * ld + k];
                        same_ref &= !memcmp(x, &a[kk * w + i], sizeof *x);
                    }
                bad += !same_ref;
                for (int force = 0; force <= 2; force += 2) { /* best; at most AVX2 */
                    memset(b, 0xff, sizeof(float) * (size_t)(kc * w));
                    afk_cw_force_portable = force;
                    afk_cw_decode(cw, gi, k0, kc, i0, w, b);
                    bad += memcmp(a, b, sizeof(float) * (size_t)(kc * w)) != 0;
                }
            }
    afk_cw_force_portable = 0;
    free(a), free(b);
    return bad;
}

/* One encoding, one weight (rows, K) in G sub-matrices, or stored (K, N) read transposed. */
static void one(const benc *e, int64_t d0, int64_t d1, int64_t G, int tr, int mr)
{
    const int64_t dims[2] = {d0, d1};
    size_t bytes;
    uint8_t *blob = make_blob_r(e, 2, dims, &bytes);
    float *ref = malloc(sizeof(float) * (size_t)(d0 * d1));
    af_err err = {0};
    CHECK(af_wdecode(e->enc, blob, bytes, 2, dims, ref, "w", &err) == AF_OK, "%s: %s", e->name,
          err.msg);
    CHECK(afk_cw_why_not(blob, 2, dims) == NULL, "%s: runs compressed", e->name);
    size_t n = tr ? afk_cw_bytes_t(blob, 2, dims, mr) : afk_cw_bytes(blob, 2, dims, G, mr);
    CHECK(n > 0, "%s: panel bytes", e->name);
    void *buf = aligned_alloc(64, (n + 63) / 64 * 64);
    if (tr) afk_cw_pack_t(blob, 2, dims, mr, buf);
    else afk_cw_pack(blob, 2, dims, G, mr, buf);
    int bad = check_panels(buf, ref, d1, mr);
    CHECK(bad == 0, "%s (%lld, %lld)%s G %lld, %d-lane panels (%s): %d panels differ", e->name,
          (long long)d0, (long long)d1, tr ? " transposed" : "", (long long)G, mr, afk_cw_isa(),
          bad);
    free(buf), free(ref), free(blob);
}

int main(void)
{
#if defined(__aarch64__)
    CHECK(strcmp(afk_cw_isa(), "neon") == 0, "panel decoder is %s", afk_cw_isa());
#endif
    printf("panel decoder in use: %s\n", afk_cw_isa());
    static const int mrs[] = {12, 8, 16, 5}, mrs_t[] = {8, 32, 12, 5};
    for (size_t i = 0; i < sizeof encs / sizeof *encs; i++)
        for (int m = 0; m < 4; m++) {
            one(&encs[i], 29, 300, 1, 0, mrs[m]);
            one(&encs[i], 26, 300, 2, 0, mrs[m]);
            one(&encs[i], 300, 45, 1, 1, mrs_t[m]);
        }
    return check_report("cpanel");
}
