/* tests/tools/npycmp.c — compares every .npy in REF_DIR with the same file in OUT_DIR and
 * prints the accuracy measures ('<f4', or '<f2' widened to f32); exits 1 when any PSNR is below --min-psnr, 3 on bad files.
 *   af_npycmp REF_DIR OUT_DIR [--min-psnr DB] */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../convert/metrics.h"
#include "../../graph/dtype.h"
#include "../../importers/npy/npy.h"

/* '<f2' files (fp16 graphs) are compared as f32: widening is exact. */
static int widen_f16(af_npy *a)
{
    if (a->dtype != AF_DTYPE_F16) return 0;
    size_t n = a->nbytes / 2;
    float *f = malloc(n * sizeof *f + 1);
    if (!f) return -1;
    for (size_t i = 0; i < n; i++) f[i] = af_f16_to_f32(((const uint16_t *)a->data)[i]);
    free(a->data);
    a->data = f;
    a->nbytes = n * sizeof *f;
    a->dtype = AF_DTYPE_F32;
    return 0;
}

static int compare_file(const char *ref_dir, const char *out_dir, const char *name, double min_psnr)
{
    char rp[4096], op[4096];
    snprintf(rp, sizeof rp, "%s/%s", ref_dir, name);
    snprintf(op, sizeof op, "%s/%s", out_dir, name);
    af_npy r, o;
    af_err err = {0};
    if (af_npy_read_file(rp, &r, &err) != AF_OK || af_npy_read_file(op, &o, &err) != AF_OK) {
        fprintf(stderr, "af_npycmp: %s\n", err.msg);
        return 3;
    }
    int rc = 0;
    if (widen_f16(&r) || widen_f16(&o)) {
        fprintf(stderr, "af_npycmp: %s: out of memory\n", name);
        rc = 3;
    } else if (r.dtype != AF_DTYPE_F32 || o.dtype != AF_DTYPE_F32 || r.nbytes != o.nbytes) {
        fprintf(stderr, "af_npycmp: %s: dtype or size differs\n", name);
        rc = 3;
    } else {
        af_metrics m;
        af_metrics_compute(r.data, o.data, r.nbytes / 4, &m);
        int ok = m.psnr >= min_psnr;
        printf("%s: PSNR %.2f dB, max abs %.3g, rel L2 %.3g, cosine %.9f, NaN %lld, Inf %lld  %s\n",
               name, m.psnr, m.max_abs, m.rel_l2, m.cosine, (long long)m.nan_count,
               (long long)m.inf_count, ok ? "ok" : "BELOW THRESHOLD");
        rc = ok ? 0 : 1;
    }
    af_npy_free(&r);
    af_npy_free(&o);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: af_npycmp REF_DIR OUT_DIR [--min-psnr DB]\n");
        return 2;
    }
    double min_psnr = -INFINITY;
    if (argc == 5 && !strcmp(argv[3], "--min-psnr")) min_psnr = atof(argv[4]);
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "af_npycmp: cannot open %s\n", argv[1]);
        return 3;
    }
    int rc = 0, files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".npy")) continue;
        int r = compare_file(argv[1], argv[2], e->d_name, min_psnr);
        if (r > rc) rc = r;
        files++;
    }
    closedir(d);
    if (!files) {
        fprintf(stderr, "af_npycmp: no .npy files in %s\n", argv[1]);
        return 3;
    }
    return rc;
}
