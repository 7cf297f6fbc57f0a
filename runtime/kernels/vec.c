/* runtime/kernels/vec.c — vectorised f32 loops for the hot elementwise work: bias + activation
 * epilogues and same-shape / scalar-operand binary rows.
 *
 * Each loop has a portable version and an AVX2 version (256-bit, selected once at run time with
 * __builtin_cpu_supports). The operations here (add, sub, mul, max, min, compare-select) are
 * exact per element in IEEE f32 and no FMA contraction is used, so both versions give the same
 * bits as the scalar reference (tests/unit/test_kernels_fast.c checks this).
 */
#include "internal.h"
#include "neon.h"
#include "simd512.h"

#if defined(__x86_64__) || defined(__i386__)
#define AFK_X86 1
#include <cpuid.h>
#include <immintrin.h>
/* F16C via cpuid: clang 14 rejects __builtin_cpu_supports("f16c") (the fuzz/TSan builds) */
static int afk_cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}
#endif

/* ---- portable ------------------------------------------------------------------------------ */

static void bias_act_portable(float *x, int64_t n, float bias, int kind, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] + bias;
        if (kind == AFK_ACT_RELU) v = v < 0 ? 0.0f : v;
        else if (kind == AFK_ACT_CLIP) v = v < lo ? lo : (v > hi ? hi : v);
        x[i] = v;
    }
}

static void add_act_portable(float *x, const float *r, int64_t n, int kind, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) x[i] = afk_act1(x[i] + r[i], kind, lo, hi);
}

static void binary_portable(int fn, const float *a, const float *b, int b_scalar, float *o,
                            int64_t n)
{
    for (int64_t i = 0; i < n; i++) o[i] = afk_bin1(fn, a[i], b_scalar ? b[0] : b[i]);
}

/* ---- AVX2 ---------------------------------------------------------------------------------- */

#ifdef AFK_X86
__attribute__((target("avx2"))) static void bias_act_avx2(float *x, int64_t n, float bias,
                                                          int kind, float lo, float hi)
{
    const __m256 vb = _mm256_set1_ps(bias), vz = _mm256_setzero_ps();
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + i), vb);
        /* blends reproduce the reference's comparisons exactly (NaN and -0 included) */
        if (kind == AFK_ACT_RELU) v = _mm256_blendv_ps(v, vz, _mm256_cmp_ps(v, vz, _CMP_LT_OQ));
        else if (kind == AFK_ACT_CLIP) { /* v < lo ? lo : (v > hi ? hi : v) */
            __m256 below = _mm256_cmp_ps(v, vlo, _CMP_LT_OQ);
            v = _mm256_blendv_ps(v, vhi, _mm256_cmp_ps(v, vhi, _CMP_GT_OQ));
            v = _mm256_blendv_ps(v, vlo, below);
        }
        _mm256_storeu_ps(x + i, v);
    }
    bias_act_portable(x + i, n - i, bias, kind, lo, hi);
}

// x (n) = act(x (n) + r (n)), the comparisons of bias_act_avx2
__attribute__((target("avx2"))) static void add_act_avx2(float *x, const float *r, int64_t n,
                                                         int kind, float lo, float hi)
{
    const __m256 vz = _mm256_setzero_ps(), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(r + i));
        if (kind == AFK_ACT_RELU) v = _mm256_blendv_ps(v, vz, _mm256_cmp_ps(v, vz, _CMP_LT_OQ));
        else if (kind == AFK_ACT_CLIP) {
            __m256 below = _mm256_cmp_ps(v, vlo, _CMP_LT_OQ);
            v = _mm256_blendv_ps(v, vhi, _mm256_cmp_ps(v, vhi, _CMP_GT_OQ));
            v = _mm256_blendv_ps(v, vlo, below);
        }
        _mm256_storeu_ps(x + i, v);
    }
    add_act_portable(x + i, r + i, n - i, kind, lo, hi);
}

__attribute__((target("avx2"))) static __m256 bin8(int fn, __m256 x, __m256 y)
{
    switch (fn) {
    case AF_BINARY_ADD: return _mm256_add_ps(x, y);
    case AF_BINARY_SUB: return _mm256_sub_ps(x, y);
    case AF_BINARY_MUL: return _mm256_mul_ps(x, y);
    case AF_BINARY_MAX: return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, y, _CMP_GT_OQ));
    default: return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, y, _CMP_LT_OQ));
    }
}

__attribute__((target("avx2"))) static void binary_avx2(int fn, const float *a, const float *b,
                                                        int b_scalar, float *o, int64_t n)
{
    int64_t i = 0;
    if (b_scalar) {
        const __m256 vb = _mm256_set1_ps(b[0]);
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, bin8(fn, _mm256_loadu_ps(a + i), vb));
    } else {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(o + i, bin8(fn, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    }
    binary_portable(fn, a + i, b_scalar ? b : b + i, b_scalar, o + i, n - i);
}

// o (n) = a (scalar) (fn) b (n)
__attribute__((target("avx2"))) static void binary_sa_avx2(int fn, float a, const float *b,
                                                           float *o, int64_t n)
{
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, bin8(fn, va, _mm256_loadu_ps(b + i)));
    for (; i < n; i++) o[i] = afk_bin1(fn, a, b[i]);
}

/* e^x for 8 lanes: x = n ln2 + r, |r| <= ln2/2, e^r by its degree-7 Taylor polynomial
 * (truncation < 1e-8 relative), times 2^n applied as two halves so that n in [-150, 128]
 * (denormal results) stays exact; x > 88.72 gives +inf like expf. Relative error a few ulp
 * (tests/unit/test_kernels_fast.c bounds it). NaN stays NaN: maxps/minps return their second
 * operand when either is NaN, so x goes second in the clamps. */
__attribute__((target("avx2,fma"))) static __m256 exp8(__m256 x)
{
    __m256 big = _mm256_cmp_ps(x, _mm256_set1_ps(88.72f), _CMP_GT_OQ);
    x = _mm256_min_ps(_mm256_set1_ps(88.72f), _mm256_max_ps(_mm256_set1_ps(-103.9f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x); /* ln2 hi */
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);    /* ln2 lo */
    static const float c[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f,
                               1.0f, 1.0f};
    __m256 p = _mm256_set1_ps(c[0]);
    for (int i = 1; i < 8; i++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[i]));
    __m256i ni = _mm256_cvtps_epi32(n), h = _mm256_srai_epi32(ni, 1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    __m256 e2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), bias), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, e1), e2);
    return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), big);
}

/* x = sigmoid(x) (silu = 0) or x * sigmoid(x) (silu = 1); the tail uses the reference. */
__attribute__((target("avx2,fma"))) static void sigmoid_avx2(float *x, int64_t n, int silu,
                                                             const af_unary_params *u)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        /* as the reference: e = exp(-|v|); sigmoid = 1/(1+e) for v >= 0, e/(1+e) below */
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        __m256 e = exp8(_mm256_blendv_ps(_mm256_sub_ps(_mm256_setzero_ps(), v), v, neg));
        __m256 sg = _mm256_div_ps(_mm256_blendv_ps(one, e, neg), _mm256_add_ps(one, e));
        _mm256_storeu_ps(x + i, silu ? _mm256_mul_ps(v, sg) : sg);
    }
    for (; i < n; i++) x[i] = afk_unary_f32(u, x[i]);
}

/* erf(x), 8 lanes: Abramowitz & Stegun 7.1.26, erf|x| = 1 - t·P(t)·e^{-x²} with
 * t = 1/(1 + 0.3275911|x|) and P of degree 4 (|error| <= 1.5e-7 in exact arithmetic; in float
 * within 5e-7, measured by tests/unit/test_kernels_fast2.c); the sign put back, NaN stays NaN */
__attribute__((target("avx2,fma"))) static __m256 erf8(__m256 x)
{
    const __m256 sgn = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_andnot_ps(sgn, x);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, one));
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(1.061405429f), t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    __m256 e = exp8(_mm256_mul_ps(_mm256_xor_ps(ax, sgn), ax)); /* e^{-x²} */
    __m256 y = _mm256_fnmadd_ps(_mm256_mul_ps(p, t), e, one);
    return _mm256_or_ps(y, _mm256_and_ps(x, sgn));
}

/* x = erf(x) (gelu = 0) or the erf form of GELU, 0.5 x (1 + erf(x/√2)); the tail uses the
 * reference. */
__attribute__((target("avx2,fma"))) static void erf_avx2(float *x, int64_t n, int gelu,
                                                         const af_unary_params *u)
{
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (!gelu) {
            _mm256_storeu_ps(x + i, erf8(v));
            continue;
        }
        __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) x[i] = afk_unary_f32(u, x[i]);
}

/* x = hard sigmoid, hard swish or leaky relu of x, 8 lanes, with the reference's operations in
 * its order (no FMA: a*x then + b; x/6 a true division), so the same bits as afk_unary_f32;
 * fminf(1, v) is min(v, 1) (a NaN v gives 1, as fminf), fmaxf(0, m) is max(m, 0). */
__attribute__((target("avx2"))) static __m256 piecewise8(__m256 v, int fn, __m256 a, __m256 b)
{
    const __m256 z = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    if (fn == AF_UNARY_LEAKY_RELU) /* x < 0 ? a*x : x */
        return _mm256_blendv_ps(v, _mm256_mul_ps(a, v), _mm256_cmp_ps(v, z, _CMP_LT_OQ));
    if (fn == AF_UNARY_HARD_SIGMOID)
        return _mm256_max_ps(_mm256_min_ps(_mm256_add_ps(_mm256_mul_ps(a, v), b), one), z);
    __m256 t = _mm256_add_ps(_mm256_div_ps(v, _mm256_set1_ps(6.0f)), _mm256_set1_ps(0.5f));
    return _mm256_mul_ps(v, _mm256_max_ps(_mm256_min_ps(t, one), z)); /* HARD_SWISH */
}

__attribute__((target("avx2"))) static void piecewise_avx2(float *x, int64_t n,
                                                           const af_unary_params *u)
{
    const __m256 a = _mm256_set1_ps(u->alpha), b = _mm256_set1_ps(u->beta);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, piecewise8(_mm256_loadu_ps(x + i), u->fn, a, b));
    for (; i < n; i++) x[i] = afk_unary_f32(u, x[i]);
}

/* dst = widen(src) with F16C: exact, like af_f16_to_f32 (signalling NaNs come out quiet). */
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint16_t *src, float *dst,
                                                                 size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = af_f16_to_f32(src[i]);
}
#endif

/* ---- selection ------------------------------------------------------------------------------ */

static int use_avx2(void)
{
#ifdef AFK_X86
    static int have = -1; /* a benign race: every thread computes the same value */
    if (have < 0) have = __builtin_cpu_supports("avx2") ? 1 : 0;
    return have && !afk_vec_force_portable;
#else
    return 0;
#endif
}

int afk_vec_force_portable = 0;

#ifdef AFK_X86
__attribute__((target("avx512f"))) static void affine512(const float *x, float *y, int64_t n,
                                                          float a, float b)
{
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), va);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(v, vb));
    }
}
#endif

int afk_vec_affine512(const float *x, float *y, int64_t n, float a, float b)
{
#ifdef AFK_X86
    if (afk_vec_have512()) {
        affine512(x, y, n, a, b);
        return 1;
    }
#else
    (void)x, (void)y, (void)n, (void)a, (void)b;
#endif
    return 0;
}

int afk_vec_have512(void)
{
#ifdef AFK_X86
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx512f");
    return have && !afk_vec_force_portable;
#else
    return 0;
#endif
}

const char *afk_vec_isa(void)
{
#ifdef AFK_NEON
    if (afk_neon_on()) return "neon";
#endif
    return use_avx2() ? "avx2" : "portable";
}

int afk_act_kind(const af_unary_params *u)
{
    switch (u->fn) {
    case AF_UNARY_IDENTITY: return AFK_ACT_NONE;
    case AF_UNARY_RELU: return AFK_ACT_RELU;
    case AF_UNARY_CLIP: return AFK_ACT_CLIP;
    default: return -1;
    }
}

void afk_vec_bias_act(float *x, int64_t n, float bias, int kind, float lo, float hi)
{
#ifdef AFK_X86
    if (use_avx2()) {
        bias_act_avx2(x, n, bias, kind, lo, hi);
        return;
    }
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) {
        afk_neon_bias_act(x, n, bias, kind, lo, hi);
        return;
    }
#endif
    bias_act_portable(x, n, bias, kind, lo, hi);
}

void afk_vec_add_act(float *x, const float *r, int64_t n, int kind, float lo, float hi)
{
#ifdef AFK_X86
    if (use_avx2()) {
        add_act_avx2(x, r, n, kind, lo, hi);
        return;
    }
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) {
        afk_neon_add_act(x, r, n, kind, lo, hi);
        return;
    }
#endif
    add_act_portable(x, r, n, kind, lo, hi);
}

int afk_vec_binary_ok(int fn)
{
    return fn == AF_BINARY_ADD || fn == AF_BINARY_SUB || fn == AF_BINARY_MUL ||
           fn == AF_BINARY_MAX || fn == AF_BINARY_MIN;
}

void afk_vec_binary(int fn, const float *a, const float *b, int b_scalar, float *o, int64_t n)
{
#ifdef AFK_X86
    if (use_avx2()) {
        binary_avx2(fn, a, b, b_scalar, o, n);
        return;
    }
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) {
        afk_neon_binary(fn, a, b, b_scalar, o, n);
        return;
    }
#endif
    binary_portable(fn, a, b, b_scalar, o, n);
}

void afk_vec_binary_sa(int fn, float a, const float *b, float *o, int64_t n)
{
#ifdef AFK_X86
    if (use_avx2()) {
        binary_sa_avx2(fn, a, b, o, n);
        return;
    }
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) {
        afk_neon_binary_sa(fn, a, b, o, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) o[i] = afk_bin1(fn, a, b[i]);
}

void afk_f16_to_f32_n(const uint16_t *src, float *dst, size_t n)
{
#ifdef AFK_X86
    static int have = -1;
    if (have < 0) have = afk_cpu_has_f16c() && __builtin_cpu_supports("avx");
    if (have && !afk_vec_force_portable) {
        f16_to_f32_f16c(src, dst, n);
        return;
    }
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) {
        afk_neon_f16_to_f32(src, dst, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = af_f16_to_f32(src[i]);
}

int afk_vec_piecewise(const af_unary_params *u, float *x, int64_t n)
{
#ifdef AFK_X86
    if (use_avx2() && (u->fn == AF_UNARY_HARD_SIGMOID || u->fn == AF_UNARY_HARD_SWISH ||
                       u->fn == AF_UNARY_LEAKY_RELU)) {
        piecewise_avx2(x, n, u);
        return 1;
    }
#else
    (void)u, (void)x, (void)n;
#endif
    return 0;
}

#ifdef AFK_X86
/* x = sigmoid, silu, erf or GELU (erf form) of x, 16 lanes (simd512.h: the packed GEMM's
 * epilogue functions); the tail uses the reference, as the AVX2 loops do. */
AFK_TGT512 static void sigmoid512(float *x, int64_t n, const af_unary_params *u)
{
    const int fn = u->fn;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i), y;
        if (fn == AF_UNARY_SIGMOID) y = sigmoid16(v);
        else if (fn == AF_UNARY_SILU) y = _mm512_mul_ps(v, sigmoid16(v));
        else if (fn == AF_UNARY_ERF) y = erf16(v);
        else y = gelu16(v);
        _mm512_storeu_ps(x + i, y);
    }
    for (; i < n; i++) x[i] = afk_unary_f32(u, x[i]);
}
#endif

int afk_vec_sigmoid(const af_unary_params *u, float *x, int64_t n)
{
#ifdef AFK_X86
    static int have = -1;
    if (afk_vec_have512() && afk_pgemm_force != 1 &&
        (u->fn == AF_UNARY_SIGMOID || u->fn == AF_UNARY_SILU || u->fn == AF_UNARY_ERF ||
         (u->fn == AF_UNARY_GELU && u->alpha == 0.0f))) {
        sigmoid512(x, n, u);
        return 1;
    }
    if (have < 0) have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (have && !afk_vec_force_portable &&
        (u->fn == AF_UNARY_SIGMOID || u->fn == AF_UNARY_SILU)) {
        sigmoid_avx2(x, n, u->fn == AF_UNARY_SILU, u);
        return 1;
    }
    if (have && !afk_vec_force_portable &&
        (u->fn == AF_UNARY_ERF || (u->fn == AF_UNARY_GELU && u->alpha == 0.0f))) {
        erf_avx2(x, n, u->fn == AF_UNARY_GELU, u);
        return 1;
    }
#endif
#ifdef AFK_NEON
    if (afk_neon_on() && (u->fn == AF_UNARY_SIGMOID || u->fn == AF_UNARY_SILU)) {
        afk_neon_sigmoid(x, n, u->fn == AF_UNARY_SILU);
        return 1;
    }
    if (afk_neon_on() && (u->fn == AF_UNARY_ERF || (u->fn == AF_UNARY_GELU && u->alpha == 0.0f))) {
        afk_neon_erf(x, n, u->fn == AF_UNARY_GELU);
        return 1;
    }
#endif
    (void)u, (void)x, (void)n;
    return 0;
}
