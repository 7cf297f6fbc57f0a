/* runtime/kernels/internal.h — private helpers shared by the kernel files.
 *
 * Every op has a check function (dtypes, arity-independent shape consistency: everything the
 * run function relies on to stay in bounds) and a run function; dispatch.c calls check before
 * run, so run functions may assume a checked node.
 */
#ifndef AF_RUNTIME_KERNELS_INTERNAL_H
#define AF_RUNTIME_KERNELS_INTERNAL_H

#include "kernels.h"

#define AFK_CHECK_ARGS \
    const af_params *p, const af_tview *in, int n_in, const af_tview *out, int n_out, af_err *err
#define AFK_RUN_ARGS                                                                   \
    const af_params *p, const af_tview *in, int n_in, af_tview *out, int n_out,        \
        const af_kctx *ctx, af_err *err

/* One check/run pair per kernel family (the op is passed where one family serves several). */
af_status afk_conv_check(AFK_CHECK_ARGS);
af_status afk_conv_run(AFK_RUN_ARGS);
size_t afk_conv_scratch(const af_params *p, const af_tview *in, const af_tview *out);
size_t afk_conv_prepack_bytes(const af_params *p, const af_tview *in, const af_tview *out);
void afk_conv_prepack(const af_params *p, const af_tview *in, const af_tview *out, void *dst);
size_t afk_conv_shared_bytes(const void *packed);
af_status afk_convt_check(AFK_CHECK_ARGS);
af_status afk_convt_run(AFK_RUN_ARGS);
size_t afk_convt_scratch(const af_params *p, const af_tview *in, const af_tview *out);
af_status afk_batchnorm_check(AFK_CHECK_ARGS);
af_status afk_batchnorm_run(AFK_RUN_ARGS);
af_status afk_unary_check(AFK_CHECK_ARGS);
af_status afk_unary_run(AFK_RUN_ARGS);
af_status afk_geglu_check(AFK_CHECK_ARGS); /* eltwise.c */
af_status afk_geglu_run(AFK_RUN_ARGS);
af_status afk_binary_check(AFK_CHECK_ARGS);
af_status afk_binary_run(AFK_RUN_ARGS);
size_t afk_dense_prepack_bytes(af_op op, const af_params *p, const af_tview *in,
                               const af_tview *out); /* MATMUL/GEMM: constant B packed */
void afk_dense_prepack(af_op op, const af_params *p, const af_tview *in, const af_tview *out,
                       void *dst);
af_status afk_gemm_check(AFK_CHECK_ARGS);
af_status afk_gemm_run(AFK_RUN_ARGS);
af_status afk_matmul_check(AFK_CHECK_ARGS);
af_status afk_matmul_run(AFK_RUN_ARGS);
af_status afk_pool_check(AFK_CHECK_ARGS);
af_status afk_pool_run(AFK_RUN_ARGS);
af_status afk_global_pool_check(AFK_CHECK_ARGS);
af_status afk_global_pool_run(AFK_RUN_ARGS);
af_status afk_copy_check(AFK_CHECK_ARGS); /* IDENTITY, RESHAPE */
af_status afk_copy_run(AFK_RUN_ARGS);
af_status afk_transpose_check(AFK_CHECK_ARGS);
af_status afk_transpose_run(AFK_RUN_ARGS);
af_status afk_concat_check(AFK_CHECK_ARGS);
af_status afk_concat_run(AFK_RUN_ARGS);
af_status afk_split_check(AFK_CHECK_ARGS);
af_status afk_split_run(AFK_RUN_ARGS);
af_status afk_slice_check(AFK_CHECK_ARGS);
af_status afk_slice_run(AFK_RUN_ARGS);
af_status afk_gather_check(AFK_CHECK_ARGS);
af_status afk_gather_run(AFK_RUN_ARGS);
af_status afk_pad_check(AFK_CHECK_ARGS);
af_status afk_pad_run(AFK_RUN_ARGS);
af_status afk_cast_check(AFK_CHECK_ARGS);
af_status afk_cast_run(AFK_RUN_ARGS);
af_status afk_softmax_check(AFK_CHECK_ARGS);
af_status afk_softmax_run(AFK_RUN_ARGS);
af_status afk_reduce_check(AFK_CHECK_ARGS);
af_status afk_reduce_run(AFK_RUN_ARGS);
af_status afk_resize_check(AFK_CHECK_ARGS);
af_status afk_resize_run(AFK_RUN_ARGS);
size_t afk_resize_scratch(const af_params *p, const af_tview *in, const af_tview *out);
size_t afk_pool_scratch(const af_params *p, const af_tview *in, const af_tview *out);
af_status afk_instance_norm_check(AFK_CHECK_ARGS); /* groupnorm.c */
af_status afk_instance_norm_run(AFK_RUN_ARGS);
af_status afk_group_norm_check(AFK_CHECK_ARGS);
af_status afk_group_norm_run(AFK_RUN_ARGS);
af_status afk_layer_norm_check(AFK_CHECK_ARGS);
af_status afk_layer_norm_run(AFK_RUN_ARGS);
af_status afk_attention_check(AFK_CHECK_ARGS); /* attention.c */
af_status afk_attention_run(AFK_RUN_ARGS);
size_t afk_attention_scratch(const af_params *p, const af_tview *in, int n_in);

af_status afk_expand_check(AFK_CHECK_ARGS); /* extra.c */
af_status afk_expand_run(AFK_RUN_ARGS);
af_status afk_where_check(AFK_CHECK_ARGS);
af_status afk_where_run(AFK_RUN_ARGS);
af_status afk_tile_check(AFK_CHECK_ARGS);
af_status afk_tile_run(AFK_RUN_ARGS);
af_status afk_trilu_check(AFK_CHECK_ARGS);
af_status afk_trilu_run(AFK_RUN_ARGS);
af_status afk_d2s_check(AFK_CHECK_ARGS); /* DEPTH_TO_SPACE and SPACE_TO_DEPTH */
af_status afk_d2s_run(AFK_RUN_ARGS);
af_status afk_s2d_run(AFK_RUN_ARGS);
af_status afk_gather_elements_check(AFK_CHECK_ARGS);
af_status afk_gather_elements_run(AFK_RUN_ARGS);
af_status afk_cumsum_check(AFK_CHECK_ARGS);
af_status afk_cumsum_run(AFK_RUN_ARGS);
af_status afk_lrn_check(AFK_CHECK_ARGS);
af_status afk_lrn_run(AFK_RUN_ARGS);
/* recurrent ops */
af_status afk_rnn_check(af_op op, AFK_CHECK_ARGS); /* rnn.c: LSTM, GRU, RNN */
af_status afk_rnn_run(af_op op, AFK_RUN_ARGS);
size_t afk_rnn_scratch(af_op op, const af_params *p, const af_tview *in, int n_in);

/* sampling and signal ops */
af_status afk_grid_sample_check(AFK_CHECK_ARGS); /* sample.c */
af_status afk_grid_sample_run(AFK_RUN_ARGS);
af_status afk_roi_align_check(AFK_CHECK_ARGS);
af_status afk_roi_align_run(AFK_RUN_ARGS);
af_status afk_dft_check(AFK_CHECK_ARGS); /* signal.c */
af_status afk_dft_run(AFK_RUN_ARGS);
size_t afk_dft_scratch(const af_params *p, const af_tview *in, const af_tview *out);
af_status afk_stft_check(AFK_CHECK_ARGS);
af_status afk_stft_run(AFK_RUN_ARGS);
size_t afk_stft_scratch(const af_params *p, const af_tview *in, const af_tview *out);
af_status afk_mel_check(AFK_CHECK_ARGS);
af_status afk_mel_run(AFK_RUN_ARGS);

/* indexing.c */
af_status afk_topk_check(AFK_CHECK_ARGS);
af_status afk_topk_run(AFK_RUN_ARGS);
size_t afk_topk_scratch(const af_params *p, const af_tview *in);
af_status afk_scatter_nd_check(AFK_CHECK_ARGS);
af_status afk_scatter_nd_run(AFK_RUN_ARGS);
af_status afk_scatter_elements_check(AFK_CHECK_ARGS);
af_status afk_scatter_elements_run(AFK_RUN_ARGS);
af_status afk_gather_nd_check(AFK_CHECK_ARGS);
af_status afk_gather_nd_run(AFK_RUN_ARGS);
af_status afk_one_hot_check(AFK_CHECK_ARGS);
af_status afk_one_hot_run(AFK_RUN_ARGS);
af_status afk_reverse_sequence_check(AFK_CHECK_ARGS);
af_status afk_reverse_sequence_run(AFK_RUN_ARGS);
af_status afk_max_unpool_check(AFK_CHECK_ARGS);
af_status afk_max_unpool_run(AFK_RUN_ARGS);
/* ops1.c */
af_status afk_nll_loss_check(AFK_CHECK_ARGS);
af_status afk_nll_loss_run(AFK_RUN_ARGS);
af_status afk_hardmax_check(AFK_CHECK_ARGS);
af_status afk_hardmax_run(AFK_RUN_ARGS);
af_status afk_det_check(AFK_CHECK_ARGS);
af_status afk_det_run(AFK_RUN_ARGS);

/* quant.c */
af_status afk_quant_check(AFK_CHECK_ARGS);
af_status afk_quant_run(AFK_RUN_ARGS);
af_status afk_dequant_check(AFK_CHECK_ARGS);
af_status afk_dequant_run(AFK_RUN_ARGS);
af_status afk_dyn_quant_check(AFK_CHECK_ARGS);
af_status afk_dyn_quant_run(AFK_RUN_ARGS);
af_status afk_conv_integer_check(AFK_CHECK_ARGS);
size_t afk_qconv_scratch(af_op op, const af_params *p, const af_tview *in, int n_in,
                         const af_tview *out);
/* CONV_INTEGER / QLINEAR_CONV: the weight packed for the AVX512-VNNI path (0 bytes: none). */
size_t afk_qconv_prepack_bytes(af_op op, const af_params *p, const af_tview *in, int n_in,
                               const af_tview *out);
size_t afk_qconv_shared_bytes(const void *packed); /* of the packed weight above */
void afk_qconv_prepack(af_op op, const af_params *p, const af_tview *in, int n_in,
                       const af_tview *out, void *dst); /* CONV_INTEGER, QLINEAR_CONV */
af_status afk_conv_integer_run(AFK_RUN_ARGS);
af_status afk_qlinear_conv_check(AFK_CHECK_ARGS);
af_status afk_qlinear_conv_run(AFK_RUN_ARGS);
af_status afk_matmul_integer_check(AFK_CHECK_ARGS);
size_t afk_qmm_scratch(const af_tview *a, const af_tview *out); /* MATMUL_INTEGER, QLINEAR_MATMUL */
/* QLINEAR_MATMUL: a constant 2-D B packed for AVX512-VNNI rows (qgemv_vnni.c; 0 bytes: none). */
size_t afk_qmm_prepack_bytes(const af_tview *in, int n_in, const af_tview *out);
void afk_qmm_prepack(const af_tview *in, int n_in, const af_tview *out, void *dst);
af_status afk_matmul_integer_run(AFK_RUN_ARGS);
af_status afk_qlinear_matmul_check(AFK_CHECK_ARGS);
af_status afk_qlinear_matmul_run(AFK_RUN_ARGS);
af_status afk_qlinear_gap_check(AFK_CHECK_ARGS); /* QLINEAR_GLOBAL_AVGPOOL */
af_status afk_qlinear_gap_run(AFK_RUN_ARGS);
af_status afk_qlinear_binary_check(AFK_CHECK_ARGS); /* QLINEAR_BINARY */
af_status afk_qlinear_binary_run(AFK_RUN_ARGS);
af_status afk_nms_check(AFK_CHECK_ARGS); /* sets out[0].dims[0] to the rows written */
af_status afk_nms_run(AFK_RUN_ARGS);
size_t afk_nms_scratch(const af_params *p, const af_tview *in);
af_status afk_shape_check(AFK_CHECK_ARGS); /* shape_ops.c: data-dependent extents */
af_status afk_shape_run(AFK_RUN_ARGS);
af_status afk_const_of_shape_check(AFK_CHECK_ARGS);
af_status afk_const_of_shape_run(AFK_RUN_ARGS);
af_status afk_range_check(AFK_CHECK_ARGS);
af_status afk_range_run(AFK_RUN_ARGS);
af_status afk_select_check(AFK_CHECK_ARGS);
af_status afk_select_run(AFK_RUN_ARGS);
af_status afk_nonzero_check(AFK_CHECK_ARGS); /* sets out[0].dims[1] to the count */
af_status afk_nonzero_run(AFK_RUN_ARGS);
af_status afk_compress_check(AFK_CHECK_ARGS); /* sets the cut dim to the count */
af_status afk_compress_run(AFK_RUN_ARGS);

/* ---- sgemm (gemm.c). Row-major: C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C.
 * lda/ldb/ldc are row strides of the stored matrices. beta == 0 ignores C's old contents. */
void afk_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc);
/* The portable blocked implementation, always compiled (afk_sgemm uses it without CBLAS). */
void afk_sgemm_portable(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                        float *C, int64_t ldc);
int afk_have_cblas(void);
/* C (M,N) = beta * C (beta 0: zeros, whatever C held). */
void afk_scale_rows(int64_t M, int64_t N, float beta, float *C, int64_t ldc);

/* ---- the runtime's SGEMM (sgemm.c) on the packed micro-kernels below. afk_sgemm_w: one
 * thread, work = afk_sgemm_work_floats() floats (64-byte aligned is best); without work or a
 * SIMD kernel it is afk_sgemm. afk_sgemm_par_run: a batch of GEMMs cut into tiles by shape
 * alone and run on ctx's pool, each thread's work in its slice of ctx->scratch. */
size_t afk_sgemm_work_floats(void);
void afk_sgemm_w(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc, float *work);
/* Operands of batch element b: A + b*sa, B + b*sb, C + b*sc, or what at() makes of A, B, C.
 * A residual (res) is always at res + b*sc. */
typedef void (*afk_gemm_at_fn)(const void *arg, int64_t b, const float **A, const float **B,
                               float **C);
typedef struct afk_sgemm_par {
    int ta, tb;
    int64_t M, N, K, batch;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc, sa, sb, sc;
    afk_gemm_at_fn at; /* or NULL */
    const void *at_arg;
    const void *Bp;    /* op(B) from afk_sgemm_packb[16] (batch 1), or NULL */
    const float *bias; /* (N): added to every row of C after the product, or NULL */
    const float *res;  /* laid out like C (batch stride sc): added after the bias, or NULL */
} afk_sgemm_par;
void afk_sgemm_par_run(const af_kctx *ctx, const afk_sgemm_par *p);
/* A constant op(B) (K,N) packed once for afk_sgemm_par's Bp: afk_sgemm_packb_floats(K, N)
 * floats (0: no SIMD kernel, nothing to pack). */
size_t afk_sgemm_packb_floats(int64_t K, int64_t N);
void afk_sgemm_packb(int tb, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst);
/* The same from a B of IEEE halves, packed as halves (half the bytes; widened as it is used). */
size_t afk_sgemm_packb16_bytes(int64_t K, int64_t N);
void afk_sgemm_packb16(int tb, int64_t K, int64_t N, const uint16_t *B, int64_t ldb, void *dst);
/* The same from the blob of a compressed (K,N) weight ((N,K) when tb) as compressed panels
 * (cpanel.h), decoded per k block as they are used; 0 bytes: the blob cannot run so. */
size_t afk_sgemm_packb_cw_bytes(int tb, const uint8_t *blob, const int64_t *dims);
void afk_sgemm_packb_cw(int tb, const uint8_t *blob, const int64_t *dims, void *dst);
/* For one output row (a batch-1 classifier): the blob kept as compressed rows (cpanel.h's rows
 * form) for the AVX-512 GEMV, which decodes them as it reads and sums exactly as the f32 GEMV
 * does; 0 bytes: no AVX-512 GEMV here, or the blob cannot run so. */
size_t afk_sgemm_packb_cw_rows_bytes(int tb, const uint8_t *blob, const int64_t *dims);
void afk_sgemm_packb_cw_rows(const uint8_t *blob, const int64_t *dims, void *dst);
int afk_sgemm_has_gemv(void); /* one row of A takes the AVX-512 GEMV here (not the packed GEMM) */
/* The same as int8 panels for int8 compute (qgemm.h) from an int8 blob; 0 bytes: it cannot. */
size_t afk_sgemm_packb_q8_bytes(int tb, const uint8_t *blob, const int64_t *dims);
void afk_sgemm_packb_q8(int tb, const uint8_t *blob, const int64_t *dims, void *dst);
int afk_sgemm_packed_ok(const void *Bp); /* Bp was packed for the kernel in use */
/* Or a constant f32 op(B) (K,N) of a GEMM with M output rows, alpha 1, beta 0 and A not
 * transposed, packed as op(B)^T's A panels (the weight as the broadcast operand: the faster
 * order on AVX-512 for tall activations; same bits) when afk_sgemm_packw_ok(M, K, N). */
int afk_sgemm_packw_ok(int64_t M, int64_t K, int64_t N);
size_t afk_sgemm_packw_bytes(int64_t K, int64_t N);
void afk_sgemm_packw(int tb, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst);

/* ---- packed-panel GEMM for convs (sgemm_packed.c): AVX-512F or AVX2+FMA micro-kernels ----
 * C (M,N) = A (M,K) @ B (K,N); at the last k block C = act(C + bias[m]). B comes from pack_b,
 * which writes rows [k0, k0+kc) as ceil(N/nr) panels: B[k0+kk, j*nr + r] at
 * dst[(j*kc + kk)*nr + r], zeros past N. work: afk_pgemm_work_floats(N) floats. */
typedef void (*afk_pack_b_fn)(const void *arg, int64_t k0, int64_t kc, int nr, float *dst);
enum { AFK_PGEMM_KC = 256, /* rows of K per block */
       AFK_PGEMM_LR = 16,    /* rows of A per panel for channel-lane tiles (afk_pgemm_lanes_ok) */
       AFK_PGEMM_LKC = 512 }; /* and rows of K per block for them */
typedef struct afk_pgemm {
    int64_t M, N, K;
    const float *A;
    int64_t lda;
    const float *Ap;   /* A pre-packed by afk_pgemm_pack_a for ap_rows rows, or NULL; this */
    int64_t ap_rows, ap_row0; /* call's row 0 is its row ap_row0 (a multiple of afk_pgemm_mr) */
    afk_pack_b_fn pack_b;
    const void *b_arg;
    const float *Bp;   /* or B already packed (64-byte aligned): k block k0 at Bp + k0*bp_ld, */
    int64_t bp_ld;     /* its panels as pack_b writes them; bp_ld >= N, a multiple of 32 */
    float *C;
    int64_t ldc;
    const float *bias; /* (M) or NULL */
    int act;           /* AFK_ACT_* */
    float lo, hi;      /* CLIP bounds */
    float *work;       /* afk_pgemm_work_floats(N) floats; NULL when Ap and Bp are both given */
    int a_trans;       /* A (unpacked) is stored (K,M): A[m,k] at A[k*lda + m] */
    float alpha;       /* multiplies A (unpacked) while packing; 0 is read as 1 */
    int acc;           /* 1: C += A @ B (the first k block starts from C), 0: C = A @ B */
    int64_t bp_col0;   /* with Bp: this call's column 0 is Bp's column bp_col0 (a multiple of nr) */
    const uint16_t *Bp16; /* or B packed like Bp in IEEE halves (widened per k block into work) */
    const uint16_t *Ap16; /* or A pre-packed like Ap in halves (afk_pgemm_pack_a16), widened
                           * per panel into work */
    const struct afk_cw *Acw; /* or A as compressed panels (cpanel.h), sub-matrix acw_group, */
    int64_t acw_group;        /* decoded per panel into work (rows from ap_row0 as for Ap) */
    const struct afk_cw *Bcw; /* or B as compressed panels of NR lanes (cpanel.h; columns from
                               * bp_col0 as for Bp), decoded per k block into work */
    const struct afk_q8 *Aq8; /* or A as int8 panels (qgemm.h; sub-matrix acw_group, rows from
                               * ap_row0): int8 compute, B quantized per k block */
    const struct afk_q8 *Bq8; /* or B as int8 panels of 32 lanes (qgemm.h; columns from
                               * bp_col0): int8 compute, A quantized per k block */
    int lanes; /* Ap / Ap16 hold afk_pgemm_pack_lanes panels (ap_rows, ap_row0 multiples of
                * AFK_PGEMM_LR): run on channel-lane tiles (AVX-512 only) */
    const float *Bd;   /* or B row-major in place, B[k, j] at Bd[k*ldb + j] (a pointwise conv's
                        * image): the AVX-512 f32 kernel reads its whole panels there, unpacked
                        * (the same sums); every other case packs by pack_b as usual */
    int64_t ldb;
    const float *R;    /* or NULL: at the last k block, after the activation, C = ract(C + R) */
    int ract;          /* (R in C's layout, ldc; ract a short AFK_ACT_*, rlo/rhi CLIP's bounds) */
    float rlo, rhi;    /* only where afk_pgemm_res_ok(g): the caller adds R itself otherwise */
    const float *bp_next; /* with Bp: the packed B block the caller multiplies next (bp_next_n */
    int64_t bp_next_n;    /* floats), prefetched during the last k block; NULL: none */
} afk_pgemm;
int afk_pgemm_nr(void); /* panel width of the kernel in use; 0: none (use afk_sgemm) */
int afk_pgemm_mr(void); /* rows of its micro-tile (1 when none) */
/* 1: the kernel in use reads a row-major f32 A in place as fast as packed (AVX2), so there is
 * nothing to gain by packing a constant A ahead */
int afk_pgemm_a_in_place(void);
/* 1: afk_pgemm_run applies g->R in its epilogue (the AVX-512 f32 14x32 tiles: not channel-lane
 * tiles, not int8 compute, no long activation before or after the residual). */
int afk_pgemm_res_ok(const afk_pgemm *g);
/* The AFK_ACT_* the kernel in use fuses for u (also AFK_ACT_SIGMOID / AFK_ACT_SILU with
 * AVX-512 and NEON: same method and bound as afk_vec_sigmoid; on AVX-512 also GELU (erf form)
 * as its erf loop, and hard sigmoid, hard swish, leaky relu with the reference's bits), or -1. */
int afk_pgemm_act(const af_unary_params *u);
const char *afk_pgemm_isa(void);
size_t afk_pgemm_work_floats(int64_t N);
void afk_pgemm_run(const afk_pgemm *g);
/* dst (M*K floats) = A (M,K) cut into the panels afk_pgemm_run reads, k-block major so a
 * run streams it in order: rows [i0, i0+mr) (i0 a multiple of afk_pgemm_mr()) of the k block
 * [k0, k0+kc) at dst[k0*M + i0*kc], k-major within. */
void afk_pgemm_pack_a(int64_t M, int64_t K, const float *A, int64_t lda, float *dst);
/* The same from A stored (K,M) when a_trans, times alpha (0 or 1: as is). */
void afk_pgemm_pack_a_gen(int64_t M, int64_t K, const float *A, int64_t lda, int a_trans,
                          float alpha, float *dst);
void afk_pgemm_pack_a16(int64_t M, int64_t K, const uint16_t *A, int64_t lda, uint16_t *dst);
/* The f32 panel (kc, mr) of g's A rows [i0, i0+mr), k block k0: in g->Ap, or widened from
 * Ap16, decoded from Acw or packed from A (times alpha, transposed when a_trans) into ap —
 * what afk_pgemm_run multiplies. */
const float *afk_pgemm_a_panel(const afk_pgemm *g, int64_t i0, int mr, int64_t k0, int64_t kc,
                              float *ap);
/* 1: channel-lane tiles (lanes hold A's rows, registers C's columns) issue fewer FMAs than
 * the 14 × 32 ones for C (M, N) = A (M, K) B by over 8 % and pay for their transposes — narrow
 * maps such as 7×7's 49 columns, N at most 256 (past 128, K at least 256) — on the kernel in use (AVX-512F only); the bits are the same either way. They run when
 * A is pre-packed for them (g->lanes): afk_pgemm_pack_lanes's (M rounded up to AFK_PGEMM_LR)
 * × K floats, panels of AFK_PGEMM_LR rows, zeros past M, in k blocks of AFK_PGEMM_LKC rows;
 * ...16 in halves. B must then come from pack_b or be read in place (Bd; not Bp, Bp16, Bcw),
 * and the kernel in use must be AVX-512F's (afk_pgemm_lanes_ok held). */
int afk_pgemm_lanes_ok(int64_t M, int64_t N, int64_t K);
size_t afk_pgemm_lanes_floats(int64_t M, int64_t K);
/* Where afk_pgemm_pack_lanes puts A[m, k] of an (M, K) matrix. */
size_t afk_pgemm_lanes_index(int64_t M, int64_t K, int64_t m, int64_t k);
void afk_pgemm_pack_lanes(int64_t M, int64_t K, const float *A, int64_t lda, float *dst);
void afk_pgemm_pack_lanes16(int64_t M, int64_t K, const uint16_t *A, int64_t lda, uint16_t *dst);
/* Where afk_pgemm_pack_a puts A[m, k] of an (M, K) matrix. */
size_t afk_pgemm_a_index(int64_t M, int64_t K, int64_t m, int64_t k);
/* tests: -1 (default) the best the CPU has; 0 none (im2col + afk_sgemm), 1 at most AVX2+FMA,
 * 2 at most AVX-512F (AArch64: any value but 0 is NEON) */
extern int afk_pgemm_force;
/* tests: 0 keeps 14 × 32 tiles where afk_pgemm_lanes_ok would pick channel-lane ones */
extern int afk_pgemm_lanes;
/* tests: 0 keeps AVX-512's 14 × 32 tiles where channel-lane tiles would issue fewer FMAs
 * (maps of at most a few dozen positions); the bits are the same either way */
extern int afk_pgemm_lanes;

/* ---- elementwise helpers (eltwise.c) ---- */
float afk_unary_f32(const af_unary_params *u, float x);
/* x[i] = act(x[i]) for n floats; IDENTITY is a no-op. */
void afk_act_apply(const af_unary_params *u, float *x, int64_t n);
int afk_act_valid(const af_unary_params *u); /* fn is a float→float unary */

/* ---- Winograd F(4x4, 3x3) / F(2x2, 3x3), 3x3 stride-1 convs (winograd.c): AVX-512F, AVX2, NEON ----
 * conv.c fills the geometry and act, asks afk_wino_applies, pre-packs the weights once
 * (afk_wino_pack into afk_wino_pack_floats() floats) and runs one image at a time. */
typedef struct afk_wino {
    int64_t C, M, H, W, OH, OW, pt, pl; /* channels, input and output maps, top/left pads */
    int act;                            /* AFK_ACT_* fused (afk_pgemm_act), -1: none fits */
    int m;                              /* output tile 4 (F(4x4,3x3)) or 2: afk_wino_applies */
    float gain2;                        /* and the modelled direct conv cost over F(2x2)'s */
    int64_t nb;                         /* tile slots per task block; 0: afk_wino_run decides */
    int64_t wcost;                      /* per (output, input) channel pair, in GEMM slots: what
                                           transforming the weights on every run adds (0: once) */
    int64_t dout;                       /* the direct conv's output positions when not OH*OW (a
                                           dilated conv's mosaic, wino_mosaic.c), else 0 */
    float lo, hi;                       /* CLIP's bounds */
    const float *x, *U, *bias;          /* x (C,H,W), U from afk_wino_pack, bias (M) or NULL */
    const float *res;                   /* residual (M,OH,OW) added before act, or NULL */
    const struct afk_q8 *Uq8;           /* or U as int8 panels (qgemm.h; sub-matrix k = U[k]):
                                           int8 compute, V quantized per k block */
    float *y;                           /* y (M,OH,OW) */
    float *scratch;                     /* afk_wino_thread_floats() floats per thread, */
    size_t slice;                       /* slice floats apart (64-byte multiples) */
} afk_wino;
/* 1 when Winograd pays (or is forced) for w's geometry; sets w->m. */
int afk_wino_applies(afk_wino *w);
size_t afk_wino_pack_floats(const afk_wino *w);
// W (M,C,3,3) -> 36 matrices (G g G^T)[k] (M, C) in afk_pgemm_pack_a's layout
void afk_wino_pack(const afk_wino *w, const float *weights, float *dst);
/* One output channel's weights (C,3,3) -> dst[k*C + c] = (G g G^T)[k] of channel c (36 or 16
 * rows of C: int8 compute quantizes them per row). */
void afk_wino_row(const afk_wino *w, const float *wrow, float *dst);
/* The same for rows [m_lo, m_hi) only (m_lo a multiple of afk_pgemm_mr()), weights holding
 * those rows (row m at weights + (m - m_lo) * C * 9): the floats afk_wino_pack writes there. */
void afk_wino_pack_rows(const afk_wino *w, const float *weights, int64_t m_lo, int64_t m_hi,
                        float *dst);
size_t afk_wino_thread_floats(const afk_wino *w);
/* 1 when int8 compute runs w's conv as int8 Winograd F(2x2) (afk_wino_applies held: w->gain2
 * set), and that run's afk_wino_thread_floats (w->Uq8 set, tile 2). */
int afk_wino_int8_ok(const afk_wino *w);
size_t afk_wino_int8_thread_floats(const afk_wino *w);
void afk_wino_run(const afk_wino *w, const af_kctx *ctx);
/* wino_weights.c: U made on every run from compressed panels (struct afk_cw, cpanel.h) with
 * w->scratch slices of at least afk_wino_cw_thread_floats() floats (+ 64 bytes) per thread. */
struct afk_cw;
size_t afk_wino_cw_thread_floats(const afk_wino *w);
void afk_wino_cw_transform(const afk_wino *w, const struct afk_cw *cw, float *U,
                           const af_kctx *ctx);
/* The AVX2+FMA transforms (winograd_avx2.c), for 16-wide B panels: S slots per tile row,
 * NB slots per block, planes ks (V) or zs (Z) floats apart; see winograd.c. */
void afk_wino_input256(const afk_wino *w, int64_t S, int64_t p0, int64_t nb, int64_t NB,
                       float *V, size_t ks);
void afk_wino_output256(const afk_wino *w, int64_t S, int64_t m0, int64_t mc, int64_t p0,
                        int64_t nb, int64_t NB, const float *Z, size_t zs);
#if defined(__aarch64__)
/* The NEON transforms (winograd_neon.c), for 8-wide B panels; arguments as above. */
void afk_wino_input128(const afk_wino *w, int64_t S, int64_t p0, int64_t nb, int64_t NB,
                       float *V, size_t ks);
void afk_wino_output128(const afk_wino *w, int64_t S, int64_t m0, int64_t mc, int64_t p0,
                        int64_t nb, int64_t NB, const float *Z, size_t zs);
#endif
/* -1 (default): where the cost rule says it pays; 0: never; 1: F(4x4) wherever legal; 2: F(2x2)
 * wherever legal (tests) */
extern int afk_wino_mode;
/* 1 (default): int8 compute (PACK_Q8's int8 weights) runs the convs Winograd takes as int8
 * Winograd (PACK_WQ8); 0: as direct int8 GEMMs (tests, bench/conv_paths.c) */
extern int afk_wino_int8;

/* ---- vectorised f32 loops (vec.c): AVX2 chosen at run time, else portable; same bits ---- */
enum { AFK_ACT_NONE = 0, AFK_ACT_RELU = 1, AFK_ACT_CLIP = 2, AFK_ACT_SIGMOID = 3, AFK_ACT_SILU = 4,
       /* AVX-512 epilogues only (afk_pgemm_act): lo, hi carry alpha (and beta) */
       AFK_ACT_HSIGMOID = 5, AFK_ACT_HSWISH = 6, AFK_ACT_LEAKY = 7,
       AFK_ACT_GELU = 8 /* erf form, vec.c's method (afk_vec_sigmoid) */ };
/* The scalar references every vector loop (AVX2, AVX-512, NEON) matches bit for bit: relu and
 * clip by comparisons (NaN passes through), and the binary ops with max/min as selects. */
static inline float afk_act1(float v, int kind, float lo, float hi)
{
    if (kind == AFK_ACT_RELU) return v < 0 ? 0.0f : v;
    if (kind == AFK_ACT_CLIP) return v < lo ? lo : (v > hi ? hi : v);
    return v;
}

static inline float afk_bin1(int fn, float x, float y)
{
    switch (fn) {
    case AF_BINARY_ADD: return x + y;
    case AF_BINARY_SUB: return x - y;
    case AF_BINARY_MUL: return x * y;
    case AF_BINARY_MAX: return x > y ? x : y;
    default: return x < y ? x : y; /* MIN */
    }
}
/* AFK_ACT_* for identity/relu/clip, -1 for activations the vector loops do not cover. */
int afk_act_kind(const af_unary_params *u);
/* x[i] = act(x[i] + bias) for n floats; lo/hi are CLIP's bounds. */
void afk_vec_bias_act(float *x, int64_t n, float bias, int kind, float lo, float hi);
/* x[i] = act(x[i] + r[i]) for n floats (a conv's fused residual), the same comparisons. */
void afk_vec_add_act(float *x, const float *r, int64_t n, int kind, float lo, float hi);
/* o[i] = a[i] (fn) b[i or 0] for fn in ADD, SUB, MUL, MAX, MIN (afk_vec_binary_ok). */
int afk_vec_binary_ok(int fn);
void afk_vec_binary(int fn, const float *a, const float *b, int b_scalar, float *o, int64_t n);
/* o[i] = a (fn) b[i], the same fns: a scalar first operand (x(1,C,1,1) * y(1,C,H,W) rows). */
void afk_vec_binary_sa(int fn, float a, const float *b, float *o, int64_t n);
/* x = sigmoid(x) or silu(x) for u->fn SIGMOID / SILU with AVX2+FMA (relative error ~1e-7, not
 * the reference's bits); returns 0 (x untouched) when it cannot. */
/* x = u(x) in place for SIGMOID, SILU, ERF and GELU (erf form) with AVX2; 0: not taken. */
int afk_vec_sigmoid(const af_unary_params *u, float *x, int64_t n);
/* x = u(x) in place for HARD_SIGMOID, HARD_SWISH and LEAKY_RELU with AVX2, the reference's
 * bits; 0: not taken. */
int afk_vec_piecewise(const af_unary_params *u, float *x, int64_t n);
extern int afk_vec_force_portable; /* tests: 1 = never take the AVX2 loops */
/* 1 when the CPU has AVX-512F and afk_vec_force_portable is not set: the elementwise, norm,
 * pool and movement kernels' 16-lane loops (vec.c; 0 off x86). */
int afk_vec_have512(void);
/* y[i] = x[i] * a + b for i < n, the multiply and the add rounded apart (a scalar loop's bits
 * without FMA contraction), 16 lanes; 0 (nothing done) unless afk_vec_have512(). */
int afk_vec_affine512(const float *x, float *y, int64_t n, float a, float b);

/* transpose2d.c: a transpose of x (shape dims, rank r) by perm that is x (B, R, C) -> y (B, C, R)
 * once size-1 axes are dropped and neighbour axes merged (returns 0 when it is not), and that
 * copy for 4-byte elements in 16×16 blocks (AVX-512 unless afk_vec_force_portable), threaded. */
int afk_transpose_as_2d(int r, const int64_t *dims, const int *perm, int64_t *B, int64_t *R,
                        int64_t *C);
void afk_transpose2d_u32(const af_kctx *ctx, const void *x, void *y, int64_t B, int64_t R,
                         int64_t C);
const char *afk_vec_isa(void);      /* "avx2" or "portable": what the loops use now */

/* ---- shared helpers (dispatch.c) ---- */
int afk_same_shape(const af_tview *a, const af_tview *b);
/* Contiguous (row-major) element strides of v. */
void afk_strides(const af_tview *v, int64_t *strides);
/* Product of dims [from, to). */
int64_t afk_prod(const af_tview *v, int from, int to);
const char *afk_shape_str(const af_tview *v, char *buf, size_t size);
af_status afk_need_dtype(const char *op, const char *what, const af_tview *v, af_dtype dt,
                         af_err *err);
af_status afk_need_data(const char *op, const af_tview *in, int n_in, af_err *err);
/* Integer element i of an integer or bool buffer as int64. */
int64_t afk_get_i64(af_dtype t, const void *data, int64_t i);
void afk_set_i64(af_dtype t, void *data, int64_t i, int64_t v);
int afk_is_int(af_dtype t); /* i8, u8, i32, i64, i16, u16, u32, u64 */
/* afk_get_i64 returns a u64 as its bit pattern. Order-sensitive code
 * compares afk_int_key(t, v) (a u64 with its top bit flipped: signed order = unsigned order,
 * and applying it twice gives v back); afk_int_to_f64 converts with the type's signedness. */
int afk_is_int16_plus(af_dtype t); /* the wider integer types: i16, u16, u32, u64 */
int afk_is_unsigned(af_dtype t);   /* u8, u16, u32, u64 */
int64_t afk_int_key(af_dtype t, int64_t v);
double afk_int_to_f64(af_dtype t, int64_t v);
/* An omitted optional input: no data and no shape (data alone may be bound later). */
static inline int afk_omitted(const af_tview *v) { return !v->data && v->rank == 0; }

#endif
