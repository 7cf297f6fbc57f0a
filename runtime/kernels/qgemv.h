/* runtime/kernels/qgemv.h — an integer MatMul's rows against a constant B packed for
 * AVX512-VNNI (qgemv_vnni.c): the reference's 32-bit sums, to the bit, one row at a time. */
#ifndef AF_RUNTIME_KERNELS_QGEMV_H
#define AF_RUNTIME_KERNELS_QGEMV_H

#include "internal.h"

/* Bytes of B (K, N) int8 / uint8 packed (0: not this kernel's shape); the packing into dst
 * (64-byte aligned). The form does not depend on the CPU; running it needs VNNI. */
size_t afk_qgemv_pack_bytes(const af_tview *b);
void afk_qgemv_pack(const af_tview *b, void *dst);
int afk_qgemv_available(void);

/* acc[n] = sum_k (a[k] - azp) * B[k, n] and *sa = sum_k (a[k] - azp), both modulo 2^32, for
 * one row a (K codes, int8 when a_signed); ua4: scratch of K rounded up to 4 bytes. Returns 0
 * (nothing done) when packed is not this kernel's or the CPU lacks VNNI. Runs the column
 * groups on ctx's pool. */
int afk_qgemv_row(const void *packed, const uint8_t *a, int a_signed, int32_t azp,
                  uint32_t *acc, uint32_t *ua4, const af_kctx *ctx, uint32_t *sa);

#endif
