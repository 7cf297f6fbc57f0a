/* runtime/kernels/gemm.c — single-precision GEMM: CBLAS when available, else a portable
 * cache-blocked loop nest (always compiled, so it can be tested against CBLAS).
 *
 * Row-major: C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C.
 */
#include "internal.h"

#include <limits.h>
#include <string.h>

#ifdef AF_HAVE_CBLAS
#include <cblas.h>
#endif

enum { KC = 256, NC = 1024 }; /* k and n block sizes: one KC×NC block of B is 1 MiB */

void afk_scale_rows(int64_t M, int64_t N, float beta, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f)
            for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
}

/* C[i, j0:j1] += alpha * A(i, k0:k1) @ B[k0:k1, j0:j1], B not transposed (row axpys). */
static void block_nn(int ta, int64_t M, int64_t k0, int64_t k1, int64_t j0, int64_t j1,
                     float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        for (int64_t k = k0; k < k1; k++) {
            float a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
            if (a == 0.0f) continue;
            const float *b = B + k * ldb;
            for (int64_t j = j0; j < j1; j++) c[j] += a * b[j];
        }
    }
}

/* C[i, j] += alpha * dot(A(i, :), B[j, :]), B transposed (stored N×K). */
static void block_nt(int ta, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            const float *b = B + j * ldb;
            float s = 0.0f;
            if (!ta) {
                const float *a = A + i * lda;
                for (int64_t k = 0; k < K; k++) s += a[k] * b[k];
            } else {
                for (int64_t k = 0; k < K; k++) s += A[k * lda + i] * b[k];
            }
            C[i * ldc + j] += alpha * s;
        }
    }
}

void afk_sgemm_portable(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                        float *C, int64_t ldc)
{
    if (M <= 0 || N <= 0) return;
    afk_scale_rows(M, N, beta, C, ldc);
    if (K <= 0 || alpha == 0.0f) return;
    if (trans_b) {
        block_nt(trans_a, M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    for (int64_t j0 = 0; j0 < N; j0 += NC) {
        int64_t j1 = j0 + NC < N ? j0 + NC : N;
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            int64_t k1 = k0 + KC < K ? k0 + KC : K;
            block_nn(trans_a, M, k0, k1, j0, j1, alpha, A, lda, B, ldb, C, ldc);
        }
    }
}

#ifdef AF_HAVE_CBLAS
/* OpenBLAS's own knob; weak, so another CBLAS (without it) still links. */
void openblas_set_num_threads(int n) __attribute__((weak));
#endif

void afk_blas_single_thread(void)
{
#ifdef AF_HAVE_CBLAS
    if (openblas_set_num_threads) openblas_set_num_threads(1);
#endif
}

int afk_have_cblas(void)
{
#ifdef AF_HAVE_CBLAS
    return 1;
#else
    return 0;
#endif
}

void afk_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc)
{
#ifdef AF_HAVE_CBLAS
    /* CBLAS takes int sizes and insists on leading dimensions >= the stored row length. */
    int fits = M > 0 && N > 0 && K > 0 && M < INT_MAX && N < INT_MAX && K < INT_MAX &&
               lda < INT_MAX && ldb < INT_MAX && ldc < INT_MAX &&
               lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N;
    if (fits && M == 1) { /* a row vector (batch-1 classifiers): GEMV reads B once, unpacked */
        int incx = trans_a ? (int)lda : 1;
        if (trans_b) // C (1,N) = B (N,K) @ a (K)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, alpha, B, (int)ldb, A, incx,
                        beta, C, 1);
        else // C (1,N) = B (K,N)^T @ a (K)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, alpha, B, (int)ldb, A, incx,
                        beta, C, 1);
        return;
    }
    if (fits) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
                    (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
#endif
    afk_sgemm_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
