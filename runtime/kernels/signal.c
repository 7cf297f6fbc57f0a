/* runtime/kernels/signal.c — signal processing: DFT and STFT (radix-2 FFT for power-of-two
 * lengths, else the direct sum over the nonzero samples; double-precision twiddle table and
 * arithmetic, f32 in and out) and MEL_WEIGHT_MATRIX (the triangular filterbank of ONNX
 * MelWeightMatrix). */
#include "internal.h"

#include <math.h>
#include <string.h>

#define AFK_PI 3.14159265358979323846

/* Scratch of a transform of length N: the twiddle table (cos, sin of 2*pi*j/N) and one complex
 * line, both interleaved doubles. */
static size_t dft_scratch(int64_t N)
{
    return N > 0 && N <= ((int64_t)1 << 24) ? (size_t)N * 4 * sizeof(double) : 0;
}

static void twiddles(int64_t N, double *tw)
{
    for (int64_t j = 0; j < N; j++) {
        double a = 2 * AFK_PI * (double)j / (double)N;
        tw[2 * j] = cos(a), tw[2 * j + 1] = sin(a);
    }
}

/* The direct transform: y[k*ys] (re, im) for k < K of the N complex values of line
 * (interleaved; only the first `used` can be nonzero), forward (e^{-i}) or inverse (e^{+i},
 * scaled by 1/N). O(K * used). */
static void dft_direct(const double *tw, int64_t N, const double *line, int64_t used, int64_t K,
                       int inverse, float *y, int64_t ys)
{
    double sg = inverse ? -1.0 : 1.0;
    for (int64_t k = 0; k < K; k++) {
        double re = 0, im = 0;
        for (int64_t m = 0, j = 0; m < used; m++, j += k) {
            if (j >= N) j -= N; /* j = k*m mod N (k < N) */
            double c = tw[2 * j], s = sg * tw[2 * j + 1], xr = line[2 * m], xi = line[2 * m + 1];
            re += xr * c + xi * s;
            im += xi * c - xr * s;
        }
        if (inverse) re /= (double)N, im /= (double)N;
        y[k * ys] = (float)re, y[k * ys + 1] = (float)im;
    }
}

/* In place: the radix-2 FFT of the N complex values of line, N a power of two, forward
 * (e^{-i}) or inverse (e^{+i}, unscaled). O(N log N). */
static void fft_pow2(const double *tw, int64_t N, double *line, int inverse)
{
    for (int64_t i = 1, j = 0; i < N; i++) { /* bit-reversed order */
        int64_t bit = N >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j |= bit;
        if (i < j)
            for (int c = 0; c < 2; c++) {
                double t = line[2 * i + c];
                line[2 * i + c] = line[2 * j + c], line[2 * j + c] = t;
            }
    }
    double sg = inverse ? 1.0 : -1.0;
    for (int64_t len = 2; len <= N; len <<= 1) {
        int64_t stride = N / len, half = len / 2;
        for (int64_t s0 = 0; s0 < N; s0 += len)
            for (int64_t k = 0; k < half; k++) {
                double wr = tw[2 * k * stride], wi = sg * tw[2 * k * stride + 1];
                double *a = line + 2 * (s0 + k), *b = line + 2 * (s0 + k + half);
                double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br, b[1] = a[1] - bi;
                a[0] += br, a[1] += bi;
            }
    }
}

/* y[k*ys] for k < K: the transform of line (N values, zero past `used`; overwritten). A power-
 * of-two N takes the FFT, any other the direct sum. */
static void dft_line(const double *tw, int64_t N, double *line, int64_t used, int64_t K,
                     int inverse, float *y, int64_t ys)
{
    if (N & (N - 1)) {
        dft_direct(tw, N, line, used, K, inverse, y, ys);
        return;
    }
    fft_pow2(tw, N, line, inverse);
    double scale = inverse ? 1.0 / (double)N : 1.0;
    for (int64_t k = 0; k < K; k++)
        y[k * ys] = (float)(line[2 * k] * scale), y[k * ys + 1] = (float)(line[2 * k + 1] * scale);
}

/* ---- DFT --------------------------------------------------------------------------------- */

size_t afk_dft_scratch(const af_params *p, const af_tview *in, const af_tview *out)
{
    (void)in, (void)out;
    return dft_scratch(p->dft.length);
}

af_status afk_dft_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *x = &in[0], *y = &out[0];
    const af_dft_params *d = &p->dft;
    if (x->dtype != AF_DTYPE_F32 || y->dtype != AF_DTYPE_F32)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "dft: only f32 is supported");
    int r = x->rank;
    if (r < 2 || y->rank != r || d->axis < 0 || d->axis > r - 2 || d->length < 1 ||
        d->length > ((int64_t)1 << 24) || (d->onesided && (d->inverse || x->dims[r - 1] != 1)))
        return af_err_set(err, AF_ERR_FORMAT, "dft: bad axis or length, or onesided of a complex "
                          "or inverse transform");
    if ((x->dims[r - 1] != 1 && x->dims[r - 1] != 2) || y->dims[r - 1] != 2 ||
        y->dims[d->axis] != (d->onesided ? d->length / 2 + 1 : d->length))
        return af_err_set(err, AF_ERR_SHAPE, "dft: input and output shapes do not fit");
    for (int i = 0; i < r - 1; i++)
        if (i != d->axis && x->dims[i] != y->dims[i])
            return af_err_set(err, AF_ERR_SHAPE, "dft: input and output shapes do not fit");
    return AF_OK;
}

// x (outer, L, inner, c) with c = 1 or 2 -> y (outer, K, inner, 2); K = length or length/2+1
af_status afk_dft_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    const af_dft_params *d = &p->dft;
    const af_tview *x = &in[0];
    int r = x->rank, a = d->axis;
    int64_t outer = afk_prod(x, 0, a), L = x->dims[a], inner = afk_prod(x, a + 1, r - 1);
    int64_t c = x->dims[r - 1], N = d->length, K = out[0].dims[a], used = L < N ? L : N;
    double *tw = ctx->scratch, *line = tw + 2 * N;
    const float *src = x->data;
    float *y = out[0].data;
    twiddles(N, tw);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            memset(line, 0, (size_t)N * 2 * sizeof *line);
            for (int64_t m = 0; m < used; m++) {
                const float *v = src + ((o * L + m) * inner + i) * c;
                line[2 * m] = v[0], line[2 * m + 1] = c == 2 ? v[1] : 0.0;
            }
            dft_line(tw, N, line, used, K, d->inverse, y + (o * K * inner + i) * 2, inner * 2);
        }
    return AF_OK;
}

/* ---- STFT -------------------------------------------------------------------------------- */

size_t afk_stft_scratch(const af_params *p, const af_tview *in, const af_tview *out)
{
    (void)in, (void)out;
    return dft_scratch(p->stft.frame_length);
}

af_status afk_stft_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_tview *x = &in[0], *y = &out[0];
    const af_stft_params *s = &p->stft;
    int64_t fl = s->frame_length;
    if (x->dtype != AF_DTYPE_F32 || y->dtype != AF_DTYPE_F32 ||
        (n_in > 1 && in[1].dtype != AF_DTYPE_F32))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "stft: only f32 is supported");
    if (s->frame_step < 1 || fl < 1 || fl > ((int64_t)1 << 24) || x->rank != 3 ||
        (x->dims[2] != 1 && x->dims[2] != 2) || fl > x->dims[1] ||
        (n_in > 1 && (in[1].rank != 1 || in[1].dims[0] != fl)))
        return af_err_set(err, AF_ERR_SHAPE, "stft: signal, window and frame sizes do not fit");
    if (y->rank != 4 || y->dims[0] != x->dims[0] || y->dims[1] != 1 + (x->dims[1] - fl) / s->frame_step ||
        y->dims[2] != (s->onesided ? fl / 2 + 1 : fl) || y->dims[3] != 2)
        return af_err_set(err, AF_ERR_SHAPE, "stft: the output shape does not fit");
    return AF_OK;
}

// signal (B,L,c), window? (fl) -> Y (B, frames, bins, 2); frame f starts at f*frame_step
af_status afk_stft_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    const af_stft_params *s = &p->stft;
    int64_t B = in[0].dims[0], L = in[0].dims[1], c = in[0].dims[2], N = s->frame_length;
    int64_t F = out[0].dims[1], K = out[0].dims[2];
    const float *x = in[0].data, *w = n_in > 1 ? in[1].data : NULL;
    double *tw = ctx->scratch, *line = tw + 2 * N;
    float *y = out[0].data;
    twiddles(N, tw);
    for (int64_t b = 0; b < B; b++)
        for (int64_t f = 0; f < F; f++) {
            const float *v = x + (b * L + f * s->frame_step) * c;
            for (int64_t m = 0; m < N; m++) {
                double wm = w ? w[m] : 1.0;
                line[2 * m] = wm * v[m * c], line[2 * m + 1] = c == 2 ? wm * v[m * c + 1] : 0.0;
            }
            dft_line(tw, N, line, N, K, 0, y + (b * F + f) * K * 2, 2);
        }
    return AF_OK;
}

/* ---- MelWeightMatrix ------------------------------------------------------------------ */

af_status afk_mel_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_mel_params *m = &p->mel;
    if (n_in != 2 || af_tview_numel(&in[0]) != 1 || af_tview_numel(&in[1]) != 1 ||
        !af_dtype_table[in[0].dtype].is_float || !af_dtype_table[in[1].dtype].is_float)
        return af_err_set(err, AF_ERR_SHAPE, "mel_weight_matrix: needs two float scalars");
    if (m->num_mel_bins < 1 || m->dft_length < 1 || m->sample_rate < 1 ||
        out[0].dtype != (af_dtype)m->dtype || out[0].rank != 2 ||
        out[0].dims[0] != m->dft_length / 2 + 1 || out[0].dims[1] != m->num_mel_bins)
        return af_err_set(err, AF_ERR_SHAPE, "mel_weight_matrix: the output does not fit");
    return AF_OK;
}

static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

static void mel_put(af_tview *o, int64_t row, int64_t col, double v)
{
    if (row >= 0 && row < o->dims[0]) af_dtype_set(o->dtype, o->data, (size_t)(row * o->dims[1] + col), v);
}

// lower_hz (), upper_hz () -> W (dft_length/2 + 1, num_mel_bins): triangle i rises from
// spectrogram bin e[i] to 1 at e[i+1] and falls to 0 at e[i+2]; e[k] = floor((dft_length + 1) *
// hz(mel_lo + k * (mel_hi - mel_lo) / (num_mel_bins + 2)) / sample_rate)
af_status afk_mel_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_mel_params *m = &p->mel;
    double lo = hz_to_mel(af_dtype_get(in[0].dtype, in[0].data, 0));
    double hi = hz_to_mel(af_dtype_get(in[1].dtype, in[1].data, 0));
    double step = (hi - lo) / (double)(m->num_mel_bins + 2);
    af_tview *o = &out[0];
    int64_t S = o->dims[0], M = m->num_mel_bins;
    for (int64_t i = 0; i < S * M; i++) af_dtype_set(o->dtype, o->data, (size_t)i, 0.0);
    for (int64_t i = 0; i < M; i++) {
        int64_t e[3];
        for (int k = 0; k < 3; k++) {
            double hz = mel_to_hz((double)(i + k) * step + lo);
            double b = floor((double)(m->dft_length + 1) * hz / (double)m->sample_rate);
            e[k] = b > -1e12 && b < 1e12 ? (int64_t)b : -1;
        }
        if (e[1] == e[0]) mel_put(o, e[1], i, 1.0);
        for (int64_t j = e[0] > -1 ? e[0] : -1; e[1] > e[0] && j <= e[1] && j < S; j++)
            mel_put(o, j, i, (double)(j - e[0]) / (double)(e[1] - e[0]));
        for (int64_t j = e[1] > -1 ? e[1] : -1; e[2] > e[1] && j < e[2] && j < S; j++)
            mel_put(o, j, i, (double)(e[2] - j) / (double)(e[2] - e[1]));
    }
    return AF_OK;
}
