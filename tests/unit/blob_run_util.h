/* tests/unit/blob_run_util.h — one CONV, or one MATMUL/GEMM, run with its constant weight
 * pre-packed from f32 (blob NULL) or handed over as a blob of dtype bt (U8: compressed panels,
 * cpanel.h; I8: int8 panels for int8 compute, qgemm.h) with no f32 weight at all. Shared by
 * test_conv_cw.c, test_dense_cw.c and test_qgemm.c. Include after test_kernels_util.h. */
#ifndef AF_TEST_BLOB_RUN_UTIL_H
#define AF_TEST_BLOB_RUN_UTIL_H

#include <stdlib.h>
#include <string.h>

/* A 2-D conv, relu epilogue, square input and kernel, "same" padding. */
typedef struct ccase {
    int64_t C, H, M, group, k, stride;
} ccase;

/* A MatMul (batch, M, K) @ (K, N), or a Gemm (M, K) @ op(B) with alpha 0.5 and a broadcast C. */
typedef struct dcase {
    af_op op;
    int tb; /* Gemm: B stored (N,K) */
    int64_t batch, M, K, N;
} dcase;

static inline af_params conv_params(const ccase *c, int64_t *OH)
{
    af_params p;
    memset(&p, 0, sizeof p);
    af_conv_params *cp = &p.conv;
    cp->nsp = 2, cp->group = (int32_t)c->group;
    cp->act.fn = AF_UNARY_RELU;
    for (int j = 0; j < 2; j++) {
        cp->kernel[j] = (int32_t)c->k, cp->stride[j] = (int32_t)c->stride, cp->dilation[j] = 1;
        cp->pad_begin[j] = cp->pad_end[j] = (int32_t)(c->k / 2);
    }
    *OH = (c->H + 2 * (c->k / 2) - c->k) / c->stride + 1;
    return p;
}

/* Pre-packs in[1] (the blob as dtype bt when given), runs op and frees what it made. f32_plain:
 * an f32 weight may run unpacked (a conv path without panels; the f32 GEMV reads B as stored). */
static inline void blob_run(af_op op, const af_params *p, af_tview *in, int n_in,
                            af_tview *out, const uint8_t *blob, af_dtype bt, int threads,
                            int f32_plain)
{
    af_err err = {0};
    size_t need = (af_kernel_scratch_bytes(op, p, in, n_in, out, 1) + 63) / 64 * 64;
    void *scratch = aligned_alloc(64, need * (size_t)threads + 64), *packed = NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need * (size_t)threads,
                   .n_threads = threads};
    afk_pool_create(threads, &ctx.pool, &err);
    af_tview pin[3] = {in[0], in[1], n_in > 2 ? in[2] : in[1]};
    if (blob) pin[1].dtype = bt, pin[1].data = (void *)blob;
    size_t pb = af_kernel_prepack_bytes(op, p, pin, n_in, out, 1);
    CHECK(pb > 0 || (!blob && f32_plain), "%s: weight not pre-packed", af_op_name(op));
    if (pb) {
        packed = aligned_alloc(64, (pb + 63) / 64 * 64);
        af_kernel_prepack(op, p, pin, n_in, out, 1, packed);
        ctx.packed = packed;
        ctx.shared_bytes = af_kernel_shared_bytes(op, packed);
        ctx.shared = ctx.shared_bytes ? aligned_alloc(64, (ctx.shared_bytes + 63) / 64 * 64) : NULL;
    }
    if (blob) in[1].data = NULL; /* the weight exists only as the blob's panels */
    af_status st = af_kernel_run(op, p, in, n_in, out, 1, &ctx, &err);
    CHECK(st == AF_OK, "%s run: %s", af_op_name(op), err.msg);
    afk_pool_free(ctx.pool);
    free(scratch), free(packed), free(ctx.shared);
}

/* y = conv(x, w) + b, relu. */
static inline void conv_run(const ccase *c, const float *x, const float *w,
                            const uint8_t *blob, af_dtype bt, const float *b, float *y,
                            int threads)
{
    int64_t OH;
    af_params p = conv_params(c, &OH);
    af_tview in[3] = {TV(AF_DTYPE_F32, (void *)x, 1, c->C, c->H, c->H),
                      TV(AF_DTYPE_F32, (void *)w, c->M, c->C / c->group, c->k, c->k),
                      TV(AF_DTYPE_F32, (void *)b, c->M)};
    af_tview out = TV(AF_DTYPE_F32, y, 1, c->M, OH, OH);
    blob_run(AF_OP_CONV, &p, in, 3, &out, blob, bt, threads, 1);
}

/* y = op(x, w) (Gemm: 0.5 x op(w) + bias). */
static inline void dense_run(const dcase *c, const float *x, const float *w,
                             const uint8_t *blob, af_dtype bt, const float *bias, float *y,
                             int threads)
{
    af_params p;
    memset(&p, 0, sizeof p);
    int64_t bd0 = c->tb ? c->N : c->K, bd1 = c->tb ? c->K : c->N;
    af_tview in[3], out;
    int n_in = 2;
    if (c->op == AF_OP_GEMM) {
        p.gemm.trans_b = c->tb, p.gemm.alpha = 0.5f, p.gemm.beta = 1.0f;
        in[0] = TV(AF_DTYPE_F32, (void *)x, c->M, c->K);
        in[2] = TV(AF_DTYPE_F32, (void *)bias, c->N);
        out = TV(AF_DTYPE_F32, y, c->M, c->N);
        n_in = 3;
    } else {
        in[0] = TV(AF_DTYPE_F32, (void *)x, c->batch, c->M, c->K);
        out = TV(AF_DTYPE_F32, y, c->batch, c->M, c->N);
    }
    in[1] = TV(AF_DTYPE_F32, (void *)w, bd0, bd1);
    blob_run(c->op, &p, in, n_in, &out, blob, bt, threads, c->batch * c->M == 1);
}

#endif
