/* tests/unit/test_reliability_bundle.c — bundle integrity, enumerated (docs/reliability.md).
 *
 * A real bundle (models/tiny_mlp converted with af_convert, fp16 and fp32) is damaged in every
 * way the issue lists, and every damaged copy must be refused by af_bundle_open_memory with
 * AF_ERR_FORMAT and a message starting "corrupt bundle" — never accepted, never a crash:
 *   - every truncation (all lengths 0 .. size-1);
 *   - a sweep of single-byte corruptions (three bit patterns) over every byte of the header,
 *     the section directory, the padding and the PROG and META sections;
 *   - 4000 random single-byte corruptions in the WGHT section (fixed seed).
 * The only other acceptable answer is for the version field: a corrupted version above the
 * supported one is refused as AF_ERR_UNSUPPORTED ("bundle format version N, this build reads
 * up to 1"), because the version is read before the CRC on purpose (docs/bundle-format.md).
 * CRC32 detects every error confined to 32 consecutive bits, so a single-byte corruption that
 * got through would be a reader bug (e.g. a byte outside every CRC'd range).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "bundle/format.h"
#include "check.h"

static char dir[] = "/tmp/af_reliability_XXXXXX";
static unsigned long cases, refused;

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* 1 when the bytes are refused the way a damaged bundle must be. */
static int refused_ok(const uint8_t *p, size_t n, int version_field, char *msg, size_t msz)
{
    uint8_t *b = aligned_alloc(64, n ? (n + 63) / 64 * 64 : 64);
    if (!b) return 0;
    memcpy(b, p, n);
    af_bundle *bd = NULL;
    msg[0] = '\0';
    af_status st = af_bundle_open_memory(b, n, &bd, msg, msz);
    af_bundle_close(bd);
    free(b);
    cases++;
    int ok = st == AF_ERR_FORMAT && strncmp(msg, "corrupt bundle: ", 16) == 0;
    if (version_field && st == AF_ERR_UNSUPPORTED && strstr(msg, "bundle format version"))
        ok = 1;
    refused += (unsigned long)ok;
    return ok;
}

static void sweep_truncations(const uint8_t *good, size_t size, const char *what)
{
    char msg[512];
    size_t bad = 0, first = 0;
    for (size_t n = 0; n < size; n++)
        if (!refused_ok(good, n, 0, msg, sizeof msg) && bad++ == 0) first = n;
    CHECK(bad == 0, "%s: %zu of %zu truncations not refused as corrupt (first at %zu: '%s')",
          what, bad, size, first, msg);
}

static void sweep_bytes(const uint8_t *good, size_t size, size_t from, size_t to,
                        const char *what)
{
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    uint8_t *b = malloc(size);
    char msg[512];
    size_t bad = 0, first = 0;
    memcpy(b, good, size);
    for (size_t k = from; k < to; k++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            b[k] ^= flips[f];
            int version = k >= 8 && k < 12;
            if (!refused_ok(b, size, version, msg, sizeof msg) && bad++ == 0) first = k;
            b[k] ^= flips[f];
        }
    }
    CHECK(bad == 0, "%s: %zu corruptions in bytes [%zu, %zu) accepted or misreported (first at "
          "byte %zu: '%s')", what, bad, from, to, first, msg);
    free(b);
}

static void random_weight_bytes(const uint8_t *good, size_t size, size_t from, size_t to,
                                const char *what)
{
    uint8_t *b = malloc(size);
    char msg[512];
    size_t bad = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    memcpy(b, good, size);
    for (int i = 0; i < 4000 && to > from; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t k = from + (size_t)((x >> 33) % (to - from));
        uint8_t v = (uint8_t)((x >> 24) | 1); /* nonzero: a real change */
        b[k] ^= v;
        if (!refused_ok(b, size, 0, msg, sizeof msg)) bad++;
        b[k] ^= v;
    }
    CHECK(bad == 0, "%s: %zu random weight corruptions accepted ('%s')", what, bad, msg);
    free(b);
}

static void check_bundle(const char *compress)
{
    char out[256], msg[512], what[64];
    snprintf(out, sizeof out, "%s/mlp.%s.afb", dir, compress);
    snprintf(what, sizeof what, "tiny_mlp %s", compress);
    af_convert_options o = {0};
    o.model_path = "../models/tiny_mlp/model.onnx";
    o.out_path = out;
    o.compress = compress;
    af_convert_report r;
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    CHECK(st == AF_OK, "convert %s: %s", what, msg);
    if (st) return;
    size_t size = 0;
    uint8_t *good = read_file(out, &size);
    CHECK(good && size > AFB_HEADER_SIZE, "read back %s", out);
    if (!good) return;
    unlink(out);

    uint8_t *b = aligned_alloc(64, (size + 63) / 64 * 64);
    memcpy(b, good, size);
    af_bundle *bd = NULL;
    CHECK(af_bundle_open_memory(b, size, &bd, msg, sizeof msg) == AF_OK, "%s intact: %s", what,
          msg);
    af_bundle_close(bd);
    free(b);

    afb_disk_header h;
    afb_get_header(good, &h);
    size_t wght_from = size, wght_to = size;
    for (uint32_t s = 0; s < h.n_sections; s++) {
        afb_disk_dirent d;
        afb_get_dirent(good + AFB_HEADER_SIZE + s * AFB_DIRENT_SIZE, &d);
        if (memcmp(d.kind, AFB_KIND_WGHT, 4) == 0) {
            wght_from = (size_t)d.offset;
            wght_to = (size_t)(d.offset + d.size);
        }
    }
    CHECK(wght_to == size && wght_from < wght_to, "%s: WGHT is the last, non-empty section",
          what);
    unsigned long before = cases;
    sweep_truncations(good, size, what);
    unsigned long truncs = cases - before;
    sweep_bytes(good, size, 0, wght_from, what); /* header, directory, padding, PROG, META */
    unsigned long sweeps = cases - before - truncs;
    random_weight_bytes(good, size, wght_from, wght_to, what);
    printf("%s: %zu-byte bundle: %lu truncations, %lu single-byte corruptions of header, "
           "directory, PROG and META (bytes [0, %zu)), %lu random WGHT corruptions\n",
           what, size, truncs, sweeps, wght_from, cases - before - truncs - sweeps);
    free(good);
}

/* Rewrites each section's CRC and the header CRC (only structural checks can object then). */
static void refresh_crcs(uint8_t *p)
{
    afb_disk_header h;
    afb_get_header(p, &h);
    for (uint32_t i = 0; i < h.n_sections; i++) {
        uint8_t *de = p + AFB_HEADER_SIZE + (size_t)i * AFB_DIRENT_SIZE;
        afb_disk_dirent d;
        afb_get_dirent(de, &d);
        afb_wr32(de + 24, afb_crc32(0, p + d.offset, d.size));
    }
    afb_wr32(p + AFB_HEADER_CRC_OFFSET, afb_header_crc(p, h.n_sections));
}

/* A compressed weight whose record claims 2^40 more rows than its blob holds (CRCs made valid,
 * as a crafted file would have them) must be refused as a format error before the runtime
 * sizes its decode buffer from the shape (found by fuzz_bundle: a 125 KB file made it
 * allocate 1.9 GB). */
static void check_blob_shape_lie(void)
{
    char out[256], msg[512];
    snprintf(out, sizeof out, "%s/cnn.int8.afb", dir);
    af_convert_options o = {0};
    o.model_path = "../models/small_cnn/model.onnx";
    o.out_path = out;
    o.compress = "int8";
    af_convert_report r;
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    if (st == AF_ERR_USAGE) return; /* no int8 in this build */
    CHECK(st == AF_OK, "convert small_cnn int8: %s", msg);
    size_t size = 0;
    uint8_t *b = st ? NULL : read_file(out, &size);
    unlink(out);
    if (!b) return;
    afb_disk_dirent prog;
    afb_get_dirent(b + AFB_HEADER_SIZE, &prog); /* the writer puts PROG first */
    afb_disk_prog ph;
    afb_get_prog(b + prog.offset, &ph);
    int found = 0;
    for (uint32_t i = 0; i < ph.n_tensors && !found; i++) {
        uint8_t *rec = b + prog.offset + AFB_PROG_HEADER_SIZE + (size_t)i * AFB_TENSOR_REC_SIZE;
        afb_disk_tensor t;
        afb_get_tensor(rec, &t);
        if (t.storage != AFB_STORAGE_CONST || t.encoding < AFB_ENC_INT8) continue;
        t.dims[0] <<= 40;
        afb_put_tensor(rec, &t);
        found = 1;
    }
    CHECK(memcmp(prog.kind, AFB_KIND_PROG, 4) == 0 && found, "an int8 tensor in small_cnn");
    refresh_crcs(b);
    uint8_t *a = aligned_alloc(64, (size + 63) / 64 * 64);
    memcpy(a, b, size);
    af_bundle *bd = NULL;
    st = af_bundle_open_memory(a, size, &bd, msg, sizeof msg);
    CHECK(st == AF_ERR_FORMAT && strstr(msg, "blob"),
          "blob shape lie: got %s '%s', want a format error about the blob", af_status_str(st),
          msg);
    af_bundle_close(bd);
    free(a);
    free(b);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    check_bundle("fp16");
    check_bundle("fp32");
    check_blob_shape_lie();
    printf("reliability_bundle: %lu damaged bundles tried, %lu refused as corrupt\n", cases,
           refused);
    CHECK(cases == refused, "%lu damaged bundles were not refused", cases - refused);
    rmdir(dir);
    return check_report("reliability_bundle");
}
