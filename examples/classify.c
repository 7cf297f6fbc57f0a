/* examples/classify.c — classify an image with a converted model, using only libaneforge_rt.
 *
 *   classify MODEL.afb IMAGE.ppm [LABELS.txt]
 *
 * Reads a binary PPM (P6) or PGM (P5) image, resizes it (bilinear) to the model's input
 * (N=1, C=3 or 1, H, W), normalises it with the ImageNet mean/std, runs the model and prints
 * the top-5 classes of the first output. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aneforge/runtime.h>

typedef struct image { int w, h, c; unsigned char *px; } image;

static int read_pnm(const char *path, image *im)
{
    FILE *f = fopen(path, "rb");
    char magic[3] = {0};
    int maxval = 0;
    if (!f) return -1;
    if (fscanf(f, "%2s %d %d %d", magic, &im->w, &im->h, &maxval) != 4 || maxval != 255 ||
        (strcmp(magic, "P6") && strcmp(magic, "P5")) || im->w <= 0 || im->h <= 0 ||
        im->w > 16384 || im->h > 16384 || fgetc(f) == EOF) {
        fclose(f);
        return -1;
    }
    im->c = magic[1] == '6' ? 3 : 1;
    size_t n = (size_t)im->w * im->h * im->c;
    im->px = malloc(n);
    int ok = im->px && fread(im->px, 1, n, f) == n;
    fclose(f);
    return ok ? 0 : -1;
}

/* image (h,w,c) u8 → tensor (c,H,W) f32, bilinear, normalised per channel. */
static void to_tensor(const image *im, int C, int H, int W, float *out)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float sy = (y + 0.5f) * im->h / H - 0.5f, sx = (x + 0.5f) * im->w / W - 0.5f;
                int y0 = sy < 0 ? 0 : (int)sy, x0 = sx < 0 ? 0 : (int)sx;
                int y1 = y0 + 1 < im->h ? y0 + 1 : y0, x1 = x0 + 1 < im->w ? x0 + 1 : x0;
                float fy = sy - y0 < 0 ? 0 : sy - y0, fx = sx - x0 < 0 ? 0 : sx - x0;
                int ch = im->c == 3 ? c : 0;
#define PX(yy, xx) (im->px[((size_t)(yy) * im->w + (xx)) * im->c + ch] / 255.0f)
                float v = (1 - fy) * ((1 - fx) * PX(y0, x0) + fx * PX(y0, x1)) +
                          fy * ((1 - fx) * PX(y1, x0) + fx * PX(y1, x1));
#undef PX
                int k = c < 3 ? c : 0;
                out[((size_t)c * H + y) * W + x] = (v - mean[k]) / std[k];
            }
}

static void print_top5(const float *p, int n, char **labels, int n_labels)
{
    int used[5] = {-1, -1, -1, -1, -1};
    for (int r = 0; r < 5 && r < n; r++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int k = 0; k < r; k++) taken |= used[k] == i;
            if (!taken && (best < 0 || p[i] > p[best])) best = i;
        }
        used[r] = best;
        printf("%d. class %d %s score %.4f\n", r + 1, best,
               best < n_labels ? labels[best] : "", p[best]);
    }
}

static int read_labels(const char *path, char ***out)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char line[256];
    int n = 0;
    *out = NULL;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char **l = realloc(*out, sizeof(char *) * (size_t)(n + 1));
        if (!l) break;
        *out = l;
        l[n++] = strdup(line);
    }
    if (f) fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.afb IMAGE.ppm [LABELS.txt]\n", argv[0]);
        return 2;
    }
    char msg[512];
    af_bundle *b;
    af_session *s;
    image im;
    if (af_bundle_open(argv[1], &b, msg, sizeof msg) != AF_OK) {
        fprintf(stderr, "classify: %s\n", msg);
        return 3;
    }
    af_tensor_info in;
    af_bundle_input_info(b, 0, &in);
    if (in.rank != 4 || in.dims[0] != 1 || in.dtype != AF_DTYPE_F32 || read_pnm(argv[2], &im)) {
        fprintf(stderr, "classify: need a (1,C,H,W) f32 model and a binary PPM/PGM image\n");
        af_bundle_close(b);
        return 3;
    }
    float *x = malloc(in.nbytes);
    to_tensor(&im, (int)in.dims[1], (int)in.dims[2], (int)in.dims[3], x);
    int rc = af_session_create(b, NULL, &s, msg, sizeof msg) != AF_OK;
    if (!rc) rc = af_session_set_input(s, 0, x, in.nbytes) || af_session_run(s);
    if (!rc) {
        const void *y;
        af_tensor_info out;
        char **labels;
        int n_labels = read_labels(argc > 3 ? argv[3] : NULL, &labels);
        af_session_get_output(s, 0, &y, &out);
        print_top5(y, (int)(out.nbytes / sizeof(float)), labels, n_labels);
    } else {
        fprintf(stderr, "classify: %s\n", s ? af_session_error(s) : msg);
    }
    af_session_free(s);
    af_bundle_close(b);
    free(x);
    free(im.px);
    return rc ? 4 : 0;
}
