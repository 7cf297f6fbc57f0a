/* tests/unit/test_sd_kernels.c — group_norm, instance_norm, layer_norm and attention kernels
 * against naive references written here in double, plus shape errors and the large feature
 * maps the SD blocks need (640×64×64 and 512×128×128 group norms, 4096-token attention rows in
 * chunks).
 *
 * Tolerance: 1e-4 relative, |got-ref|/(1+|ref|). The kernels' f32 statistics over ≤ 1M
 * elements use f32 tiles of 1024 combined in f64 (error ~1e-6 relative); attention sums ≤ 4096
 * products in f32 through sgemm (~1e-6). An indexing bug (wrong group, wrong chunk offset,
 * missing max subtraction overflowing expf) changes values by O(0.1) or gives NaN/Inf. */
#include "test_kernels_util.h"

#define TOL 1e-4

/* ---- references ---- */

// x (N,C,S) with G groups; scale/bias per channel (ns == C) or per group
static void ref_group_norm(const float *x, float *y, int64_t N, int64_t C, int64_t S, int64_t G,
                           const float *sc, int64_t ns, const float *bi, float eps, int silu)
{
    int64_t cg = C / G, m = cg * S;
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *xb = x + (n * C + g * cg) * S;
            double mean = 0, var = 0;
            for (int64_t i = 0; i < m; i++) mean += xb[i];
            mean /= (double)m;
            for (int64_t i = 0; i < m; i++) var += (xb[i] - mean) * (xb[i] - mean);
            double rstd = 1.0 / sqrt(var / (double)m + eps);
            for (int64_t i = 0; i < m; i++) {
                int64_t c = g * cg + i / S, k = ns == C ? c : g;
                double v = (xb[i] - mean) * rstd * sc[k] + bi[k];
                if (silu) v = v / (1.0 + exp(-v));
                y[(n * C + g * cg) * S + i] = (float)v;
            }
        }
}

// q (B,Tq,d) k (B,Tk,d) v (B,Tk,dv) -> o (B,Tq,dv)
static void ref_attention(const float *q, const float *k, const float *v, float *o, int64_t B,
                          int64_t tq, int64_t tk, int64_t d, int64_t dv, float scale)
{
    double *s = malloc(sizeof(double) * (size_t)tk);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < tq; i++) {
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < tk; j++) {
                double acc = 0;
                for (int64_t e = 0; e < d; e++)
                    acc += (double)q[(b * tq + i) * d + e] * k[(b * tk + j) * d + e];
                s[j] = acc * scale;
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < tk; j++) sum += (s[j] = exp(s[j] - mx));
            for (int64_t e = 0; e < dv; e++) {
                double acc = 0;
                for (int64_t j = 0; j < tk; j++) acc += s[j] / sum * v[(b * tk + j) * dv + e];
                o[(b * tq + i) * dv + e] = (float)acc;
            }
        }
    free(s);
}

/* ---- group / instance norm ---- */

static void gn_case(int64_t C, int64_t H, int64_t G, int per_group, int silu, float offset)
{
    int64_t S = H * H, n = C * S, ns = per_group ? G : C;
    float *x = frand_buf(n), *y = malloc(sizeof(float) * (size_t)n), *r = malloc(sizeof(float) * (size_t)n);
    float *sc = frand_buf(ns), *bi = frand_buf(ns);
    for (int64_t i = 0; i < n; i++) x[i] = x[i] * 3.0f + offset; /* a large mean tests the 2-pass */
    af_params p = {0};
    p.norm.eps = 1e-5f;
    p.norm.num_groups = (int32_t)G;
    if (silu) p.norm.act.fn = AF_UNARY_SILU;
    af_tview in[3] = {TV(AF_DTYPE_F32, x, 1, C, H, H), TV(AF_DTYPE_F32, sc, ns), TV(AF_DTYPE_F32, bi, ns)};
    af_tview out = TV(AF_DTYPE_F32, y, 1, C, H, H);
    CHECK(run_node(AF_OP_GROUP_NORM, &p, in, 3, &out, 1) == AF_OK, "group_norm C=%lld", (long long)C);
    ref_group_norm(x, r, 1, C, S, G, sc, ns, bi, 1e-5f, silu);
    double e = max_rel_err(y, r, n);
    CHECK(e < TOL, "group_norm C=%lld H=%lld G=%lld: err %g", (long long)C, (long long)H, (long long)G, e);
    free(x), free(y), free(r), free(sc), free(bi);
}

static void test_group_norm(void)
{
    gn_case(64, 8, 32, 0, 0, 0.0f);
    gn_case(64, 8, 32, 1, 1, 0.0f);     /* GroupNormalization-18: per-group scale, SiLU epilogue */
    gn_case(96, 5, 32, 0, 1, 100.0f);   /* 3 channels per group, odd spatial, large mean */
    gn_case(640, 64, 32, 0, 1, 0.5f);   /* SD resnet 640 @ 64×64: 81920 values per group */
    gn_case(512, 128, 32, 0, 0, 0.5f);  /* VAE 512 @ 128×128: 262144 values per group */
    /* bad group count */
    float x[12] = {0}, s[6] = {0};
    af_params p = {0};
    p.norm.num_groups = 4;
    af_tview in[3] = {TV(AF_DTYPE_F32, x, 1, 6, 2), TV(AF_DTYPE_F32, s, 6), TV(AF_DTYPE_F32, s, 6)};
    af_tview out = TV(AF_DTYPE_F32, x, 1, 6, 2);
    CHECK(check_node(AF_OP_GROUP_NORM, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "6 channels in 4 groups");
    p.norm.num_groups = 3;
    in[1] = TV(AF_DTYPE_F32, s, 5);
    CHECK(check_node(AF_OP_GROUP_NORM, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "scale of 5");
}

static void test_instance_norm(void)
{
    int64_t C = 6, S = 10, n = C * S;
    float *x = frand_buf(n), *y = malloc(sizeof(float) * (size_t)n), *r = malloc(sizeof(float) * (size_t)n);
    float *sc = frand_buf(C), *bi = frand_buf(C);
    af_params p = {0};
    p.norm.eps = 1e-3f;
    af_tview in[3] = {TV(AF_DTYPE_F32, x, 1, C, S), TV(AF_DTYPE_F32, sc, C), TV(AF_DTYPE_F32, bi, C)};
    af_tview out = TV(AF_DTYPE_F32, y, 1, C, S);
    CHECK(run_node(AF_OP_INSTANCE_NORM, &p, in, 3, &out, 1) == AF_OK, "instance_norm");
    ref_group_norm(x, r, 1, C, S, C, sc, C, bi, 1e-3f, 0);
    CHECK(max_rel_err(y, r, n) < TOL, "instance_norm err %g", max_rel_err(y, r, n));
    free(x), free(y), free(r), free(sc), free(bi);
}

static void test_layer_norm(void)
{
    int64_t R = 7, D = 320, n = R * D;
    float *x = frand_buf(n), *y = malloc(sizeof(float) * (size_t)n), *r = malloc(sizeof(float) * (size_t)n);
    float *sc = frand_buf(D), *bi = frand_buf(D);
    af_params p = {0};
    p.norm.eps = 1e-5f;
    p.norm.axis = 1;
    af_tview in[3] = {TV(AF_DTYPE_F32, x, R, D), TV(AF_DTYPE_F32, sc, D), TV(AF_DTYPE_F32, bi, D)};
    af_tview out = TV(AF_DTYPE_F32, y, R, D);
    CHECK(run_node(AF_OP_LAYER_NORM, &p, in, 3, &out, 1) == AF_OK, "layer_norm");
    /* each row is one group of D "channels" of size 1 with per-element scale */
    ref_group_norm(x, r, R, D, 1, 1, sc, D, bi, 1e-5f, 0);
    CHECK(max_rel_err(y, r, n) < TOL, "layer_norm err %g", max_rel_err(y, r, n));
    p.norm.axis = 2;
    CHECK(check_node(AF_OP_LAYER_NORM, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "axis 2 of rank 2");
    free(x), free(y), free(r), free(sc), free(bi);
}

/* ---- attention ---- */

static void attn_case(int64_t B, int64_t tq, int64_t tk, int64_t d, int64_t dv, int kt, float big)
{
    float *q = frand_buf(B * tq * d), *k = frand_buf(B * tk * d), *v = frand_buf(B * tk * dv);
    float *kT = malloc(sizeof(float) * (size_t)(B * tk * d));
    float *o = malloc(sizeof(float) * (size_t)(B * tq * dv)), *r = malloc(sizeof(float) * (size_t)(B * tq * dv));
    for (int64_t i = 0; i < B * tq * d; i++) q[i] *= big; /* large scores: needs max subtraction */
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < tk; j++)
            for (int64_t e = 0; e < d; e++) kT[(b * d + e) * tk + j] = k[(b * tk + j) * d + e];
    af_params p = {0};
    p.attention.scale = 1.0f / sqrtf((float)d);
    p.attention.k_transposed = kt;
    af_tview in[3] = {TV(AF_DTYPE_F32, q, B, tq, d),
                      kt ? TV(AF_DTYPE_F32, kT, B, d, tk) : TV(AF_DTYPE_F32, k, B, tk, d),
                      TV(AF_DTYPE_F32, v, B, tk, dv)};
    af_tview out = TV(AF_DTYPE_F32, o, B, tq, dv);
    size_t scratch = af_kernel_scratch_bytes(AF_OP_ATTENTION, &p, in, 3, &out, 1);
    /* never the whole (Tq, Tk) score matrix: 256 score rows, or the fused kernel's tiles */
    CHECK(scratch <= (size_t)256 * (size_t)tk * sizeof(float) || scratch <= ((size_t)1 << 20),
          "scratch %zu bytes for Tk %lld", scratch, (long long)tk);
    CHECK(run_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_OK, "attention");
    ref_attention(q, k, v, r, B, tq, tk, d, dv, p.attention.scale);
    double e = max_rel_err(o, r, B * tq * dv);
    CHECK(e < TOL, "attention B=%lld Tq=%lld Tk=%lld kt=%d: err %g", (long long)B, (long long)tq,
          (long long)tk, kt, e);
    free(q), free(k), free(v), free(kT), free(o), free(r);
}

static void test_attention(void)
{
    attn_case(2, 5, 7, 4, 3, 0, 1.0f);
    attn_case(2, 5, 7, 4, 3, 1, 1.0f);
    attn_case(1, 300, 77, 8, 8, 1, 30.0f);   /* cross-attention shape, scores up to ~1e3 */
    attn_case(1, 600, 4096, 8, 8, 0, 1.0f);  /* SD 64×64 keys: 256-row chunks, 3 chunks */
    /* mismatched head size */
    float z[64] = {0};
    af_params p = {0};
    af_tview in[3] = {TV(AF_DTYPE_F32, z, 1, 2, 4), TV(AF_DTYPE_F32, z, 1, 3, 5), TV(AF_DTYPE_F32, z, 1, 3, 2)};
    af_tview out = TV(AF_DTYPE_F32, z, 1, 2, 2);
    CHECK(check_node(AF_OP_ATTENTION, &p, in, 3, &out, 1) == AF_ERR_SHAPE, "d 4 vs 5");
}

int main(void)
{
    test_group_norm();
    test_instance_norm();
    test_layer_norm();
    test_attention();
    return check_report("sd_kernels");
}
