/* runtime/kernels/dense.c — GEMM (alpha, beta, transposes, broadcast C, fused activation) and
 * MATMUL (numpy semantics: batch broadcasting, 1-D operands). Both run on the threaded
 * packed SGEMM (sgemm.c). */
#include "internal.h"

#include <string.h>

af_status afk_gemm_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_gemm_params *gp = &p->gemm;
    static const char *const names[3] = {"A", "B", "C"};
    int has_c = n_in == 3 && !afk_omitted(&in[2]);
    for (int i = 0; i < 2 + has_c; i++) {
        af_status st = afk_need_dtype("gemm", names[i], &in[i], AF_DTYPE_F32, err);
        if (st) return st;
    }
    af_status st = afk_need_dtype("gemm", "Y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    if (in[0].rank != 2 || in[1].rank != 2 || out[0].rank != 2)
        return af_err_set(err, AF_ERR_SHAPE, "gemm: A, B and Y must be 2-D");
    int64_t M = in[0].dims[gp->trans_a ? 1 : 0], K = in[0].dims[gp->trans_a ? 0 : 1];
    int64_t KB = in[1].dims[gp->trans_b ? 1 : 0], N = in[1].dims[gp->trans_b ? 0 : 1];
    if (K != KB || out[0].dims[0] != M || out[0].dims[1] != N)
        return af_err_set(err, AF_ERR_SHAPE, "gemm: op(A) (%lld,%lld) @ op(B) (%lld,%lld) != Y",
                          (long long)M, (long long)K, (long long)KB, (long long)N);
    if (has_c) {
        const af_tview *c = &in[2];
        int ok = c->rank <= 2;
        if (c->rank == 2) ok = (c->dims[0] == 1 || c->dims[0] == M) && (c->dims[1] == 1 || c->dims[1] == N);
        if (c->rank == 1) ok = c->dims[0] == 1 || c->dims[0] == N;
        if (!ok) return af_err_set(err, AF_ERR_SHAPE, "gemm: C does not broadcast to (M,N)");
    }
    if (!afk_act_valid(&gp->act))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "gemm: bad fused activation %d", gp->act.fn);
    return AF_OK;
}

/* ---- B packed once per session (a constant weight): K, N and whether B is stored (N,K);
 * returns 0 when the node does not pre-pack (B batched; one output row of an f32 or f16 B: the
 * GEMV reads B as it is), 1 for panels, 2 for one output row of a compressed B. B is f32 (as
 * B panels, or for a tall MatMul as op(B)^T's row panels: afk_sgemm_packw), or
 * f16 when the runtime hands over a weight stored in halves (packed as halves), or U8: the
 * blob of a compressed weight (runtime/wdecode.h), kept compressed (cpanel.h): as panels, or
 * for one output row as rows for the AVX-512 GEMV (as panels where the f32 path also takes
 * the packed GEMM), or I8: an int8 blob for int8 compute (qgemm.h; more than one output row;
 * 0 bytes when it cannot, the caller tries U8). */
static int dense_b(af_op op, const af_params *p, const af_tview *in, const af_tview *out,
                   int64_t *K, int64_t *N, int *tb)
{
    if (in[1].rank != 2 || out[0].rank < 1 ||
        (in[1].dtype != AF_DTYPE_F32 && in[1].dtype != AF_DTYPE_F16 &&
         in[1].dtype != AF_DTYPE_U8 && in[1].dtype != AF_DTYPE_I8))
        return 0;
    *tb = op == AF_OP_GEMM && p->gemm.trans_b;
    *K = in[1].dims[*tb ? 1 : 0];
    *N = in[1].dims[*tb ? 0 : 1];
    int64_t n = af_tview_numel(&out[0]);
    if (*N <= 0 || n / *N < 1) return 0;
    return n / *N > 1 ? 1 : in[1].dtype == AF_DTYPE_U8 ? 2 : 0;
}

/* A compressed B for one output row: rows where the f32 path takes the GEMV (AVX-512), else
 * panels (the packed GEMM, as the f32 path) — so both sum alike. */
static int rows_form(int mode)
{
    return mode == 2 && afk_sgemm_has_gemv();
}

/* A MatMul's f32 weight runs as the broadcast operand (afk_sgemm_packw) when its output rows
 * make a tall product; Gemm (alpha, beta, C, transposed A) keeps B panels. */
static int as_a(af_op op, const af_tview *out, int64_t K, int64_t N)
{
    return op == AF_OP_MATMUL && afk_sgemm_packw_ok(af_tview_numel(&out[0]) / N, K, N);
}

size_t afk_dense_prepack_bytes(af_op op, const af_params *p, const af_tview *in,
                               const af_tview *out)
{
    int64_t K, N;
    int tb, mode = dense_b(op, p, in, out, &K, &N, &tb);
    if (!mode) return 0;
    if (rows_form(mode)) return afk_sgemm_packb_cw_rows_bytes(tb, in[1].data, in[1].dims);
    if (in[1].dtype == AF_DTYPE_I8) return afk_sgemm_packb_q8_bytes(tb, in[1].data, in[1].dims);
    if (in[1].dtype == AF_DTYPE_U8) return afk_sgemm_packb_cw_bytes(tb, in[1].data, in[1].dims);
    if (in[1].dtype == AF_DTYPE_F32 && as_a(op, out, K, N)) return afk_sgemm_packw_bytes(K, N);
    return in[1].dtype == AF_DTYPE_F16 ? afk_sgemm_packb16_bytes(K, N)
                                       : afk_sgemm_packb_floats(K, N) * sizeof(float);
}

void afk_dense_prepack(af_op op, const af_params *p, const af_tview *in, const af_tview *out,
                       void *dst)
{
    int64_t K, N;
    int tb, mode = dense_b(op, p, in, out, &K, &N, &tb);
    if (!mode) return;
    if (rows_form(mode)) afk_sgemm_packb_cw_rows(in[1].data, in[1].dims, dst);
    else if (in[1].dtype == AF_DTYPE_I8) afk_sgemm_packb_q8(tb, in[1].data, in[1].dims, dst);
    else if (in[1].dtype == AF_DTYPE_U8) afk_sgemm_packb_cw(tb, in[1].data, in[1].dims, dst);
    else if (in[1].dtype == AF_DTYPE_F32 && as_a(op, out, K, N))
        afk_sgemm_packw(tb, K, N, in[1].data, in[1].dims[1], dst);
    else if (in[1].dtype == AF_DTYPE_F16) afk_sgemm_packb16(tb, K, N, in[1].data, in[1].dims[1], dst);
    else afk_sgemm_packb(tb, K, N, in[1].data, in[1].dims[1], dst);
}

/* y (M,N) = beta * C broadcast. */
static void fill_c(const af_tview *c, float beta, float *y, int64_t M, int64_t N)
{
    const float *cd = c->data;
    int64_t rs = 0, cs = 0; /* C's row and column strides, 0 where broadcast */
    if (c->rank == 2) {
        rs = c->dims[0] == 1 ? 0 : c->dims[1];
        cs = c->dims[1] == 1 ? 0 : 1;
    } else if (c->rank == 1) {
        cs = c->dims[0] == 1 ? 0 : 1;
    }
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) y[i * N + j] = beta * cd[i * rs + j * cs];
}

// alpha * op(A) (M,K) @ op(B) (K,N) + beta * C -> Y (M,N)
af_status afk_gemm_run(AFK_RUN_ARGS)
{
    (void)n_out;
    const af_gemm_params *gp = &p->gemm;
    int64_t M = out[0].dims[0], N = out[0].dims[1], K = in[0].dims[gp->trans_a ? 0 : 1];
    float *y = out[0].data;
    if (!in[1].data && !afk_sgemm_packed_ok(ctx ? ctx->packed : NULL))
        return af_err_set(err, AF_ERR_USAGE, "gemm: B exists only packed, for another kernel");
    int has_c = n_in == 3 && in[2].data && gp->beta != 0.0f;
    if (has_c) fill_c(&in[2], gp->beta, y, M, N);
    afk_sgemm_par sp = {.ta = gp->trans_a, .tb = gp->trans_b, .M = M, .N = N, .K = K,
                        .batch = 1, .alpha = gp->alpha, .beta = has_c ? 1.0f : 0.0f,
                        .A = in[0].data, .B = in[1].data, .C = y, .lda = in[0].dims[1],
                        .ldb = in[1].dims[1], .ldc = N, .Bp = ctx ? ctx->packed : NULL};
    afk_sgemm_par_run(ctx, &sp);
    afk_act_apply(&gp->act, y, M * N);
    return AF_OK;
}

/* ---- matmul --------------------------------------------------------------------------------- */

typedef struct mm_geom {
    int64_t M, K, N;
    int nb;                    /* batch rank (of the output) */
    int64_t bdims[AF_MAX_RANK];
    int64_t sa[AF_MAX_RANK], sb[AF_MAX_RANK]; /* batch strides in matrices, 0 if broadcast */
    int64_t batches;
} mm_geom;

/* Fills g; returns 0 if the shapes do not match or do not broadcast. */
static int mm_geom_init(mm_geom *g, const af_tview *a, const af_tview *b)
{
    if (a->rank < 1 || b->rank < 1) return 0;
    g->M = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
    g->K = a->dims[a->rank - 1];
    int64_t kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    g->N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    if (kb != g->K) return 0;
    int ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
    g->nb = ra > rb ? ra : rb;
    int64_t stride_a = 1, stride_b = 1;
    g->batches = 1;
    for (int i = g->nb - 1; i >= 0; i--) {
        int ia = i - (g->nb - ra), ib = i - (g->nb - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        g->bdims[i] = da == 1 ? db : da;
        g->sa[i] = da == 1 ? 0 : stride_a;
        g->sb[i] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
        g->batches *= g->bdims[i];
    }
    return 1;
}

/* The fused epilogue's inputs: bias in[2] (N floats, its last dim N) and residual in[3]
 * (Y's shape), each f32 or omitted. */
static af_status matmul_check_epilogue(const af_tview *in, int n_in, const af_tview *out,
                                       af_err *err)
{
    int64_t N = out[0].rank ? out[0].dims[out[0].rank - 1] : 1;
    if (n_in > 2 && !afk_omitted(&in[2])) {
        af_status st = afk_need_dtype("matmul", "bias", &in[2], AF_DTYPE_F32, err);
        if (st) return st;
        if (in[1].rank < 2 || in[2].rank < 1 || in[2].dims[in[2].rank - 1] != N ||
            af_tview_numel(&in[2]) != N)
            return af_err_set(err, AF_ERR_SHAPE, "matmul: bias must hold the %lld output "
                              "columns of a 2-D B", (long long)N);
    }
    if (n_in > 3 && !afk_omitted(&in[3])) {
        af_status st = afk_need_dtype("matmul", "residual", &in[3], AF_DTYPE_F32, err);
        if (st) return st;
        if (!afk_same_shape(&in[3], &out[0]))
            return af_err_set(err, AF_ERR_SHAPE, "matmul: residual must have the output's shape");
    }
    return AF_OK;
}

af_status afk_matmul_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_out;
    af_status st = afk_need_dtype("matmul", "A", &in[0], AF_DTYPE_F32, err);
    if (!st) st = afk_need_dtype("matmul", "B", &in[1], AF_DTYPE_F32, err);
    if (!st) st = afk_need_dtype("matmul", "Y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    mm_geom g;
    char sa[96], sb[96], so[96];
    int ok = mm_geom_init(&g, &in[0], &in[1]);
    if (ok) { /* expected output: batch + (M if A is not 1-D) + (N if B is not 1-D) */
        af_tview want = {.dtype = AF_DTYPE_F32, .rank = g.nb};
        memcpy(want.dims, g.bdims, sizeof(int64_t) * (size_t)g.nb);
        if (in[0].rank >= 2) want.dims[want.rank++] = g.M;
        if (in[1].rank >= 2) want.dims[want.rank++] = g.N;
        ok = want.rank <= AF_MAX_RANK && afk_same_shape(&want, &out[0]);
    }
    if (!ok)
        return af_err_set(err, AF_ERR_SHAPE, "matmul: %s @ %s -> %s does not match",
                          afk_shape_str(&in[0], sa, sizeof sa), afk_shape_str(&in[1], sb, sizeof sb),
                          afk_shape_str(&out[0], so, sizeof so));
    return matmul_check_epilogue(in, n_in, out, err);
}

/* Batch element t's operands: the odometer over the broadcast batch dims, by division. */
static void mm_at(const void *arg, int64_t t, const float **A, const float **B, float **C)
{
    const mm_geom *g = arg;
    int64_t oa = 0, ob = 0, rest = t;
    for (int d = g->nb - 1; d >= 0; d--) {
        int64_t i = rest % g->bdims[d];
        rest /= g->bdims[d];
        oa += i * g->sa[d];
        ob += i * g->sb[d];
    }
    *A += oa * g->M * g->K;
    if (*B) *B += ob * g->K * g->N; /* NULL: B exists only packed */
    *C += t * g->M * g->N;
}

// A (...,M,K) @ B (...,K,N) -> Y (...,M,N)
af_status afk_matmul_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    mm_geom g;
    mm_geom_init(&g, &in[0], &in[1]);
    if (!in[1].data && !afk_sgemm_packed_ok(ctx ? ctx->packed : NULL))
        return af_err_set(err, AF_ERR_USAGE, "matmul: B exists only packed, for another kernel");
    afk_sgemm_par sp = {.M = g.M, .N = g.N, .K = g.K, .batch = g.batches, .alpha = 1.0f,
                        .A = in[0].data, .B = in[1].data, .C = out[0].data, .lda = g.K,
                        .ldb = g.N, .ldc = g.N, .sc = g.M * g.N, .at = mm_at, .at_arg = &g};
    if (n_in > 2 && !afk_omitted(&in[2])) sp.bias = in[2].data;
    if (n_in > 3 && !afk_omitted(&in[3])) sp.res = in[3].data;
    int b_shared = 1, a_full = 1; /* B not batched and A not broadcast: one tall gemm */
    for (int i = 0; i < g.nb; i++) {
        if (g.sb[i]) b_shared = 0;
        if (!g.sa[i] && g.bdims[i] != 1) a_full = 0;
    }
    if (b_shared && a_full) {
        sp.M = g.batches * g.M;
        sp.batch = 1;
        sp.at = NULL;
        sp.Bp = in[1].rank == 2 && ctx ? ctx->packed : NULL;
    }
    afk_sgemm_par_run(ctx, &sp);
    return AF_OK;
}
