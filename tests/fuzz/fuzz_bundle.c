/* tests/fuzz/fuzz_bundle.c — the bundle reader: open (full verification), then, when the
 * bundle is accepted, create a session, set every input to a small pattern, run, and read
 * every output. This is what an app does with a downloaded bundle.
 *
 * The activation arena is sized by the tensor shapes a bundle declares (activations are not
 * backed by file bytes), so bundles whose arena or inputs exceed FUZZ_MAX_ARENA are verified
 * but not run: running them is correct behaviour that only costs memory.
 *
 * A random mutation almost always breaks a CRC, which stops the reader at the first check.
 * So each input is tried twice: as is, and with every CRC the directory makes computable
 * recomputed, which lets mutations reach the PROG parser, the graph checks and the kernels. */
#include "fuzz_common.h"

#include <stdlib.h>

#include "aneforge/runtime.h"
#include "bundle/format.h"

#define FUZZ_MAX_ARENA ((uint64_t)64 << 20)

/* The metadata's precision placement (read by sessions with fp16 emulation): a refusal needs
 * a message. */
static void read_placement(af_bundle *b)
{
    char msg[512];
    int n = af_bundle_node_count(b);
    uint8_t *prec = malloc((size_t)n + 1);
    if (!prec) return;
    if (af_bundle_node_precision(b, prec, msg, sizeof msg) != AF_OK) fuzz_check_message(msg);
    for (int i = 0; i < n; i++) FUZZ_REQUIRE(prec[i] <= AF_PREC_PAIRED);
    free(prec);
}

/* Runs an accepted bundle (with fp16 emulation every other time, which honours the metadata's
 * placement; with int8 compute every other time, which packs int8 weights as int8 panels).
 * Kernel refusals are allowed (with a message); crashes are not. */
static void run_bundle(af_bundle *b, int fp16, int int8)
{
    char msg[512];
    af_session *s = NULL;
    af_session_options so = {0};
    so.fp16 = fp16;
    so.int8_compute = int8;
    read_placement(b);
    if (af_session_create(b, &so, &s, msg, sizeof msg) != AF_OK) {
        fuzz_check_message(msg);
        return;
    }
    for (int i = 0; i < af_bundle_input_count(b); i++) {
        af_tensor_info info;
        FUZZ_REQUIRE(af_bundle_input_info(b, i, &info) == AF_OK);
        uint8_t *buf = malloc(info.nbytes ? info.nbytes : 1);
        if (!buf) goto done;
        for (size_t k = 0; k < info.nbytes; k++) buf[k] = (uint8_t)(k * 7 + 1);
        af_status st = af_session_set_input(s, i, buf, info.nbytes);
        free(buf);
        FUZZ_REQUIRE(st == AF_OK);
    }
    if (af_session_run(s) != AF_OK) {
        fuzz_check_message(af_session_error(s));
        goto done;
    }
    for (int i = 0; i < af_bundle_output_count(b); i++) {
        const void *out;
        af_tensor_info info;
        FUZZ_REQUIRE(af_session_get_output(s, i, &out, &info) == AF_OK);
        volatile uint8_t sink = 0;
        for (size_t k = 0; k < info.nbytes; k++) sink ^= ((const uint8_t *)out)[k];
        (void)sink;
    }
done:
    af_session_free(s);
}

/* 1 when the verified file's arena (and so each input) is small enough to run here. */
static int small_enough(const void *buf, size_t size)
{
    afb_file *f = NULL;
    af_err err;
    af_err_clear(&err);
    if (afb_open_memory(buf, size, &f, &err) != AF_OK) {
        fuzz_check_message(err.msg);
        return 0;
    }
    int ok = f->arena_bytes <= FUZZ_MAX_ARENA;
    afb_close(f);
    return ok;
}

/* Rewrites each in-bounds section's CRC and then the header CRC. */
static void fix_crcs(uint8_t *p, size_t size)
{
    if (size < AFB_HEADER_SIZE) return;
    afb_disk_header h;
    afb_get_header(p, &h);
    if (h.n_sections == 0 || h.n_sections > AFB_MAX_SECTIONS ||
        AFB_HEADER_SIZE + (uint64_t)h.n_sections * AFB_DIRENT_SIZE > size)
        return;
    for (uint32_t i = 0; i < h.n_sections; i++) {
        uint8_t *de = p + AFB_HEADER_SIZE + (size_t)i * AFB_DIRENT_SIZE;
        afb_disk_dirent d;
        afb_get_dirent(de, &d);
        if (d.offset <= size && d.size <= size - d.offset)
            afb_wr32(de + 24, afb_crc32(0, p + d.offset, d.size));
    }
    afb_wr32(p + AFB_HEADER_CRC_OFFSET, afb_header_crc(p, h.n_sections));
}

static void one_input(const uint8_t *data, size_t size, int crc_fix)
{
    /* the reader wants a 64-byte aligned buffer (zero-copy weights) */
    uint8_t *buf = aligned_alloc(64, size ? (size + 63) / 64 * 64 : 64);
    if (!buf) return;
    memcpy(buf, data, size);
    if (crc_fix) fix_crcs(buf, size);
    char msg[512];
    af_bundle *b = NULL;
    af_status st = af_bundle_open_memory(buf, size, &b, msg, sizeof msg);
    if (st != AF_OK) {
        fuzz_check_message(msg);
    } else {
        if (small_enough(buf, size)) run_bundle(b, crc_fix ^ (int)(size & 1), (int)(size >> 1 & 1));
        af_bundle_close(b);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one_input(data, size, 0);
    one_input(data, size, 1);
    return 0;
}
