/* tests/unit/test_pgemm_inplace.c — the packed GEMM reading B in place (afk_pgemm.Bd, as a
 * pointwise conv hands it its image's rows) against the same GEMM on B packed by pack_b.
 *
 * Both run the same FMAs in the same order, so C must be equal bit for bit: for M across whole
 * and partial 14-row panels (1, 13, 16, 31), N across whole and partial 32-column panels (1, 31,
 * 32, 33, 100), K over one and several 256-row k blocks (1, 64, 257, 600), A packed per call or
 * pre-packed, C overwritten or accumulated, and every epilogue kind (none, bias + relu, clip,
 * hard swish, SiLU on the stored tile). B's rows are ldb > N floats apart with NaN in the gap,
 * and the buffer ends right after the last row's N-th column: a read past a row's N columns
 * would put NaN into C (or, under AddressSanitizer, fault). Without AVX-512 the in-place field
 * is ignored and both runs pack: the comparison still holds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

/* C (M,N) from the GEMM g with B packed (inplace 0) or read in place (1); same work buffer. */
static void run(afk_pgemm g, const test_bmat *bm, int inplace)
{
    g.pack_b = test_pack_b, g.b_arg = bm;
    if (inplace) g.Bd = bm->B, g.ldb = bm->ldb;
    afk_pgemm_run(&g);
}

static void one_case(int64_t M, int64_t N, int64_t K, int prepack, int acc, int act)
{
    const int64_t ldb = N + 7;
    const size_t nb = (size_t)((K - 1) * ldb + N); /* ends at the last row's column N */
    float *B = malloc(nb * sizeof(float)), *A = frand_buf(M * K), *bias = frand_buf(M);
    for (size_t i = 0; i < nb; i++) B[i] = (int64_t)(i % (size_t)ldb) < N ? frand() : NAN;
    float *Ap = prepack ? aligned_alloc(64, (size_t)(M * K + 16 + 15) / 16 * 64) : NULL;
    if (Ap) afk_pgemm_pack_a(M, K, A, K, Ap);
    float *C0 = frand_buf(M * N), *C1 = malloc((size_t)(M * N) * sizeof(float));
    memcpy(C1, C0, (size_t)(M * N) * sizeof(float));
    float *work = aligned_alloc(64, (afk_pgemm_work_floats(N) * sizeof(float) + 63) / 64 * 64);
    test_bmat bm = {B, ldb, N};
    afk_pgemm g = {.M = M, .N = N, .K = K, .A = A, .lda = K, .Ap = Ap, .ap_rows = M,
                   .C = C0, .ldc = N, .bias = act ? bias : NULL, .act = act, .lo = 0.0f,
                   .hi = 6.0f, .work = work, .acc = acc};
    run(g, &bm, 0);
    g.C = C1;
    run(g, &bm, 1);
    int64_t diff = 0, nan = 0;
    for (int64_t i = 0; i < M * N; i++) {
        diff += memcmp(&C0[i], &C1[i], sizeof(float)) != 0;
        nan += isnan(C1[i]);
    }
    CHECK(diff == 0 && nan == 0,
          "M %lld N %lld K %lld prepacked %d acc %d act %d: %lld of %lld differ, %lld NaN",
          (long long)M, (long long)N, (long long)K, prepack, acc, act, (long long)diff,
          (long long)(M * N), (long long)nan);
    free(B), free(A), free(bias), free(Ap), free(C0), free(C1), free(work);
}

int main(void)
{
    static const int64_t Ms[] = {1, 13, 16, 31}, Ns[] = {1, 31, 32, 33, 100},
                         Ks[] = {1, 64, 257, 600};
    static const int acts[] = {AFK_ACT_NONE, AFK_ACT_RELU, AFK_ACT_CLIP, AFK_ACT_HSWISH,
                               AFK_ACT_SILU};
    int n = 0;
    for (int mi = 0; mi < 4; mi++)
        for (int ni = 0; ni < 5; ni++)
            for (int ki = 0; ki < 4; ki++, n++)
                one_case(Ms[mi], Ns[ni], Ks[ki], n % 2, n % 3 == 0, acts[n % 5]);
    return check_report("test_pgemm_inplace");
}
