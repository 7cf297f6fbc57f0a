/* tests/unit/test_reliability_regress.c — the inputs the fuzzers found problems with
 * (tests/fuzz/corpus/{onnx,bundle}/regress_*, also fuzz seeds), replayed through the same path
 * as fuzz_convert (import from memory, then every lowering pass) or fuzz_bundle. Each must give its expected
 * status and a one-line message naming the problem. Under `make check-sanitize` this also
 * replays the memory errors themselves (docs/reliability.md, "Found and fixed"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aneforge/runtime.h"
#include "bundle/format.h"
#include "check.h"
#include "graph/graph.h"
#include "importers/onnx/onnx_import.h"
#include "lowering/lower.h"

static void *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

static void replay(const char *path, af_status want, const char *fragment)
{
    size_t size = 0;
    void *buf = slurp(path, &size);
    CHECK(buf != NULL, "cannot read %s", path);
    if (!buf) return;
    af_graph g;
    af_err err;
    af_graph_init(&g);
    af_err_clear(&err);
    af_status st = af_onnx_import_memory(buf, size, NULL, "fuzz.onnx", NULL, &g, &err);
    if (st == AF_OK) {
        af_lower_options lo = {0};
        af_lower_stats ls = {0};
        st = af_lower_run(&g, &lo, &ls, &err);
    }
    CHECK(st == want, "%s: status %s, want %s (%s)", path, af_status_str(st),
          af_status_str(want), err.msg);
    if (st != AF_OK)
        CHECK(strstr(err.msg, fragment) && !strchr(err.msg, '\n'),
              "%s: message '%s' should be one line with '%s'", path, err.msg, fragment);
    af_graph_free(&g);
    free(buf);
}

/* Like fuzz_bundle's second try: every CRC recomputed (the file was found that way), then
 * open, a session, pattern inputs, run. The run must succeed or fail with a message. */
static void replay_bundle(const char *path)
{
    size_t size = 0;
    uint8_t *raw = slurp(path, &size);
    CHECK(raw && size >= AFB_HEADER_SIZE, "cannot read %s", path);
    if (!raw || size < AFB_HEADER_SIZE) {
        free(raw);
        return;
    }
    uint8_t *b = aligned_alloc(64, (size + 63) / 64 * 64);
    memcpy(b, raw, size);
    free(raw);
    afb_disk_header h;
    afb_get_header(b, &h);
    for (uint32_t i = 0; i < h.n_sections && i < AFB_MAX_SECTIONS; i++) {
        uint8_t *de = b + AFB_HEADER_SIZE + (size_t)i * AFB_DIRENT_SIZE;
        afb_disk_dirent d;
        afb_get_dirent(de, &d);
        if (d.offset <= size && d.size <= size - d.offset)
            afb_wr32(de + 24, afb_crc32(0, b + d.offset, d.size));
    }
    afb_wr32(b + AFB_HEADER_CRC_OFFSET, afb_header_crc(b, h.n_sections));
    char msg[512];
    af_bundle *bd = NULL;
    af_session *s = NULL;
    af_status st = af_bundle_open_memory(b, size, &bd, msg, sizeof msg);
    CHECK(st == AF_OK, "%s: the recrafted bundle verifies: %s", path, msg);
    if (!st) st = af_session_create(bd, NULL, &s, msg, sizeof msg);
    for (int i = 0; !st && i < af_bundle_input_count(bd); i++) {
        af_tensor_info info;
        af_bundle_input_info(bd, i, &info);
        uint8_t *in = calloc(1, info.nbytes ? info.nbytes : 1);
        st = af_session_set_input(s, i, in, info.nbytes);
        free(in);
    }
    if (!st) {
        st = af_session_run(s);
        CHECK(st == AF_OK || af_session_error(s)[0], "%s: run failed without a message", path);
    }
    af_session_free(s);
    af_bundle_close(bd);
    free(b);
}

int main(void)
{
    /* a newline in a tensor name: messages stay one line (control bytes become '?') */
    replay("fuzz/corpus/onnx/regress_newline_name.onnx", AF_ERR_FORMAT,
           "graph output '?");
    /* Resize scale +inf on a zero-sized axis: floor(0 * inf) = NaN was cast to int64 (UB) */
    replay("fuzz/corpus/onnx/regress_resize_inf_scale.onnx", AF_ERR_SHAPE,
           "bad scale inf on axis 0");
    /* activation sizes near 2^62: the memory plan's offset sums overflowed int64 (UB) */
    replay("fuzz/corpus/onnx/regress_memplan_overflow.onnx", AF_ERR_SHAPE,
           "activation 'u' is too large: the arena would exceed 2^50 bytes");
    /* BatchNorm folding kept a pointer into the tensor array across a realloc
     * (use-after-free under ASan) */
    replay("data/onnx/tiny_cnn.onnx", AF_OK, "");
    /* the same in materializing a folded graph output (both fixed in af_graph_add_tensor) */
    replay("fuzz/corpus/onnx/regress_const_output_realloc.onnx", AF_OK, "");
    /* a Slice with one output element and a step of -(2^63-1): step x stride overflowed
     * int64 in the kernel (UBSan); the step is now ignored where it is never applied */
    replay_bundle("fuzz/corpus/bundle/regress_slice_huge_step.afb");
    /* 5000 If-style subgraphs nested in 54 KB (Graph > Node > Attribute > Graph ...):
     * protobuf-c recursed once per message and overflowed the stack (segfault at ~5000 in
     * `convert` and `inspect`); nesting is now bounded before unpacking */
    /* OneHot with a float depth of 1.8e31: converted to int64_t unchecked (UBSan, fuzz_onnx) */
    replay("fuzz/corpus/onnx/regress_onehot_huge_depth.onnx", AF_ERR_SHAPE,
           "node 'OneHot_0' (one_hot): the depth input 1.81926e+31 is out of range");
    replay("fuzz/corpus/onnx/regress_deep_nesting.onnx", AF_ERR_FORMAT,
           "its messages nest deeper than 100 levels");
    /* a Loop body node without op_type (proto2 leaves it NULL): strcmp(NULL) while checking
     * how the body reads a data-dependent input (UBSan, fuzz_convert) */
    replay("fuzz/corpus/onnx/regress_loop_null_op_type.onnx", AF_ERR_UNSUPPORTED,
           "only as Gather('box', iteration number)");
    /* a nearest Resize whose stored scale is finite but tiny (~1e-37): the source coordinate
     * (~4e37) was converted to int64_t (UBSan, fuzz_bundle); now clamped first, as it is to the
     * edge anyway */
    replay_bundle("fuzz/corpus/bundle/regress_resize_tiny_scale.afb");
    return check_report("reliability_regress");
}
