/* tests/unit/test_npy.c — .npy reader/writer: files made by numpy (tests/data/npy/make_npy.py),
 * the malformed suite, every truncation and byte corruption of a valid file, round trips of
 * every dtype, byte-identity with np.save, atomic writes and the file naming rule.
 * All comparisons are exact (no tolerance): .npy stores raw bytes. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "graph/dtype.h"
#include "importers/npy/npy.h"

#define DATA "data/npy/"

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 16);
    *size = buf ? fread(buf, 1, 1 << 16, f) : 0;
    fclose(f);
    return buf;
}

static int dims_are(const af_npy *n, int rank, const int64_t *dims)
{
    if (n->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (n->dims[i] != dims[i]) return 0;
    return 1;
}

/* ---- files written by numpy ---- */

typedef struct valid_case {
    const char *file;
    af_dtype dtype;
    int rank;
    int64_t dims[3];
    size_t nbytes;
    const void *expect;
} valid_case;

static void test_numpy_files(void)
{
    static const float f32[] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f};
    static const uint16_t f16[] = {0x3c00, 0xc000, 0x3800, 0x7bff};
    static const uint8_t u8[] = {0, 1, 128, 255};
    static const int8_t i8[] = {-128, -1, 0, 1, 127};
    static const int32_t i32[] = {INT32_MIN, 0, INT32_MAX};
    static const int64_t i64[] = {INT64_MIN, -1, 0, INT64_MAX};
    static const uint8_t b1[] = {1, 0, 0, 1};
    static const float scalar[] = {3.25f};
    static const int64_t v3[] = {7, -7};
    static const uint8_t reordered[] = {1, 2, 3, 4};
    static const float nopad[] = {1.5f};
    static const uint8_t be_i1[] = {255, 1};
    const valid_case cases[] = {
        {"valid_f32_2x3.npy", AF_DTYPE_F32, 2, {2, 3}, 24, f32},
        {"valid_v2_f32_2x3.npy", AF_DTYPE_F32, 2, {2, 3}, 24, f32},
        {"valid_f16_4.npy", AF_DTYPE_F16, 1, {4}, 8, f16},
        {"valid_u8_2x2.npy", AF_DTYPE_U8, 2, {2, 2}, 4, u8},
        {"valid_i8_5.npy", AF_DTYPE_I8, 1, {5}, 5, i8},
        {"valid_i32_3.npy", AF_DTYPE_I32, 1, {3}, 12, i32},
        {"valid_i64_1x2x2.npy", AF_DTYPE_I64, 3, {1, 2, 2}, 32, i64},
        {"valid_bool_4.npy", AF_DTYPE_BOOL, 1, {4}, 4, b1},
        {"valid_f32_scalar.npy", AF_DTYPE_F32, 0, {0}, 4, scalar},
        {"valid_f32_0x3.npy", AF_DTYPE_F32, 2, {0, 3}, 0, NULL},
        {"valid_v3_i64_2.npy", AF_DTYPE_I64, 1, {2}, 16, v3},
        {"hand_keys_reordered.npy", AF_DTYPE_U8, 2, {2, 2}, 4, reordered},
        {"hand_no_padding.npy", AF_DTYPE_F32, 1, {1}, 4, nopad},
        {"hand_be_mark_i1.npy", AF_DTYPE_I8, 1, {2}, 2, be_i1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const valid_case *c = &cases[k];
        char path[256];
        snprintf(path, sizeof path, DATA "%s", c->file);
        af_npy n;
        af_err err = {0};
        af_status st = af_npy_read_file(path, &n, &err);
        CHECK(st == AF_OK, "%s: %s", c->file, err.msg);
        if (st != AF_OK) continue;
        CHECK(n.dtype == c->dtype, "%s: dtype %s", c->file, af_dtype_name(n.dtype));
        CHECK(dims_are(&n, c->rank, c->dims), "%s: rank %d", c->file, n.rank);
        CHECK(n.nbytes == c->nbytes, "%s: nbytes %zu", c->file, n.nbytes);
        CHECK(n.data != NULL, "%s: data NULL", c->file);
        if (c->expect && n.nbytes == c->nbytes)
            CHECK(memcmp(n.data, c->expect, c->nbytes) == 0, "%s: values differ", c->file);
        af_npy_free(&n);
        CHECK(n.data == NULL && n.rank == 0, "%s: free did not zero", c->file);
    }
}

/* ---- the malformed suite ---- */

static void test_bad_files(void)
{
    static const struct {
        const char *file;
        af_status want;
    } cases[] = {
        {"bad_magic.npy", AF_ERR_FORMAT},
        {"bad_truncated_header.npy", AF_ERR_FORMAT},
        {"bad_header_len_beyond.npy", AF_ERR_FORMAT},
        {"bad_missing_descr.npy", AF_ERR_FORMAT},
        {"bad_missing_shape.npy", AF_ERR_FORMAT},
        {"bad_missing_fortran.npy", AF_ERR_FORMAT},
        {"bad_extra_key.npy", AF_ERR_FORMAT},
        {"bad_duplicate_key.npy", AF_ERR_FORMAT},
        {"bad_shape_not_tuple.npy", AF_ERR_FORMAT},
        {"bad_shape_list.npy", AF_ERR_FORMAT},
        {"bad_shape_unclosed.npy", AF_ERR_FORMAT},
        {"bad_shape_float.npy", AF_ERR_FORMAT},
        {"bad_negative_dim.npy", AF_ERR_FORMAT},
        {"bad_huge_dims.npy", AF_ERR_FORMAT},
        {"bad_dim_over_int64.npy", AF_ERR_FORMAT},
        {"bad_fortran_value.npy", AF_ERR_FORMAT},
        {"bad_unterminated_string.npy", AF_ERR_FORMAT},
        {"bad_not_a_dict.npy", AF_ERR_FORMAT},
        {"bad_trailing_garbage.npy", AF_ERR_FORMAT},
        {"bad_data_short.npy", AF_ERR_FORMAT},
        {"bad_data_long.npy", AF_ERR_FORMAT},
        {"bad_fortran_order.npy", AF_ERR_UNSUPPORTED},
        {"bad_big_endian_f4.npy", AF_ERR_UNSUPPORTED},
        {"bad_structured.npy", AF_ERR_UNSUPPORTED},
        {"bad_rank9.npy", AF_ERR_UNSUPPORTED},
        {"bad_version_4.npy", AF_ERR_UNSUPPORTED},
        {"does_not_exist.npy", AF_ERR_IO},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", cases[k].file);
        af_npy n;
        af_err err = {0};
        af_status st = af_npy_read_file(path, &n, &err);
        CHECK(st == cases[k].want, "%s: got %s, want %s (%s)", cases[k].file, af_status_str(st),
              af_status_str(cases[k].want), err.msg);
        CHECK(err.code == st, "%s: err.code %d", cases[k].file, err.code);
        CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", cases[k].file, err.msg);
        CHECK(n.data == NULL, "%s: data set on failure", cases[k].file);
    }
    /* spot-check wording: the unsupported descr is named */
    af_npy n;
    af_err err = {0};
    af_npy_read_file(DATA "bad_big_endian_f4.npy", &n, &err);
    CHECK(strstr(err.msg, ">f4") != NULL, "descr not named: %s", err.msg);
    af_err_clear(&err);
    af_err_clear(&err);
    af_npy_read_file(DATA, &n, &err); /* a directory */
    CHECK(err.code == AF_ERR_IO, "directory: %s", err.msg);
}

/* Every prefix of a valid file is refused as a format error; every single-byte corruption either
 * parses to something self-consistent or fails with a message (and never crashes). */
static void test_truncations_and_corruptions(const char *file)
{
    size_t size = 0;
    unsigned char *buf = slurp(file, &size);
    CHECK(buf && size > 64, "%s: cannot read fixture", file);
    if (!buf) return;
    int wrong = 0;
    for (size_t len = 0; len < size; len++) {
        af_npy n;
        af_err err = {0};
        af_status st = af_npy_parse(buf, len, "trunc.npy", &n, &err);
        if (st != AF_ERR_FORMAT || !strstr(err.msg, "trunc.npy")) {
            wrong++;
            fprintf(stderr, "truncation %zu: %s %s\n", len, af_status_str(st), err.msg);
        }
        af_npy_free(&n);
    }
    CHECK(wrong == 0, "%s: %d truncations not refused as format errors", file, wrong);
    static const unsigned char vals[] = {0x00, 0xff, '(', ')', ',', '\'', '9', '-', ' ', '}'};
    int inconsistent = 0;
    for (size_t pos = 0; pos < size; pos++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            unsigned char saved = buf[pos];
            buf[pos] = vals[v];
            af_npy n;
            af_err err = {0};
            af_status st = af_npy_parse(buf, size, "fuzz.npy", &n, &err);
            if (st == AF_OK) {
                size_t want = af_dtype_size(n.dtype);
                for (int i = 0; i < n.rank; i++) want *= (size_t)n.dims[i];
                inconsistent += n.data == NULL || n.rank > AF_MAX_RANK || want != n.nbytes;
            } else {
                inconsistent += err.msg[0] == '\0' || err.code != st;
            }
            af_npy_free(&n);
            buf[pos] = saved;
        }
    }
    CHECK(inconsistent == 0, "%s: %d corrupted variants inconsistent", file, inconsistent);
    free(buf);
}

/* ---- writer ---- */

static char tmpdir[64];

static int dir_entry_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) count++;
    closedir(d);
    return count;
}

static void roundtrip(af_dtype dt, int rank, const int64_t *dims, const char *name)
{
    size_t count = 1;
    for (int i = 0; i < rank; i++) count *= (size_t)dims[i];
    size_t nbytes = count * af_dtype_size(dt);
    unsigned char *data = malloc(nbytes + 1);
    for (size_t i = 0; i < nbytes; i++) data[i] = (unsigned char)(i * 37 + 11);
    if (dt == AF_DTYPE_BOOL)
        for (size_t i = 0; i < nbytes; i++) data[i] &= 1;
    char path[128];
    snprintf(path, sizeof path, "%s/%s.npy", tmpdir, name);
    af_err err = {0};
    af_status st = af_npy_write_file(path, dt, rank, dims, data, &err);
    CHECK(st == AF_OK, "%s: write: %s", name, err.msg);
    af_npy n;
    st = af_npy_read_file(path, &n, &err);
    CHECK(st == AF_OK, "%s: read back: %s", name, err.msg);
    if (st == AF_OK) {
        CHECK(n.dtype == dt && dims_are(&n, rank, dims), "%s: dtype/shape changed", name);
        CHECK(n.nbytes == nbytes && memcmp(n.data, data, nbytes) == 0, "%s: data changed", name);
    }
    size_t fsize = 0;
    unsigned char *file = slurp(path, &fsize);
    CHECK(file && (fsize - nbytes) % 64 == 0, "%s: data does not start at a multiple of 64", name);
    free(file);
    af_npy_free(&n);
    free(data);
}

static void test_roundtrip(void)
{
    static const int64_t d1[] = {5}, d2[] = {3, 7}, d4[] = {1, 3, 4, 5}, d8[] = {2, 1, 2, 1, 3, 1, 1, 2};
    static const int64_t empty[] = {4, 0, 2};
    for (int dt = 0; dt < AF_DTYPE_COUNT; dt++) {
        if (!af_dtype_table[dt].npy_descr) continue;
        char name[64];
        snprintf(name, sizeof name, "%s_r0", af_dtype_name(dt));
        roundtrip(dt, 0, NULL, name);
        snprintf(name, sizeof name, "%s_r1", af_dtype_name(dt));
        roundtrip(dt, 1, d1, name);
        snprintf(name, sizeof name, "%s_r2", af_dtype_name(dt));
        roundtrip(dt, 2, d2, name);
        snprintf(name, sizeof name, "%s_r4", af_dtype_name(dt));
        roundtrip(dt, 4, d4, name);
        snprintf(name, sizeof name, "%s_r8", af_dtype_name(dt));
        roundtrip(dt, 8, d8, name);
        snprintf(name, sizeof name, "%s_empty", af_dtype_name(dt));
        roundtrip(dt, 3, empty, name);
    }
    CHECK(dir_entry_count(tmpdir) == 6 * (AF_DTYPE_COUNT - 1), "temp files left behind: %d entries",
          dir_entry_count(tmpdir));
}

/* The writer's bytes equal numpy 1.24's np.save output for the same array. */
static void test_same_bytes_as_numpy(void)
{
    static const struct {
        const char *file;
        af_dtype dt;
        int rank;
        int64_t dims[3];
    } cases[] = {
        {"valid_f32_2x3.npy", AF_DTYPE_F32, 2, {2, 3}},  {"valid_f16_4.npy", AF_DTYPE_F16, 1, {4}},
        {"valid_u8_2x2.npy", AF_DTYPE_U8, 2, {2, 2}},    {"valid_i8_5.npy", AF_DTYPE_I8, 1, {5}},
        {"valid_i32_3.npy", AF_DTYPE_I32, 1, {3}},       {"valid_bool_4.npy", AF_DTYPE_BOOL, 1, {4}},
        {"valid_i64_1x2x2.npy", AF_DTYPE_I64, 3, {1, 2, 2}},
        {"valid_f32_scalar.npy", AF_DTYPE_F32, 0, {0}},  {"valid_f32_0x3.npy", AF_DTYPE_F32, 2, {0, 3}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char src[128], dst[128];
        snprintf(src, sizeof src, DATA "%s", cases[k].file);
        snprintf(dst, sizeof dst, "%s/same_%s", tmpdir, cases[k].file);
        af_npy n;
        af_err err = {0};
        if (af_npy_read_file(src, &n, &err) != AF_OK) {
            CHECK(0, "%s: %s", src, err.msg);
            continue;
        }
        CHECK(af_npy_write_file(dst, cases[k].dt, cases[k].rank, cases[k].dims, n.data, &err) == AF_OK,
              "%s: %s", dst, err.msg);
        size_t a = 0, b = 0;
        unsigned char *ref = slurp(src, &a), *ours = slurp(dst, &b);
        CHECK(ref && ours && a == b && memcmp(ref, ours, a) == 0, "%s: bytes differ from numpy's", cases[k].file);
        free(ref);
        free(ours);
        af_npy_free(&n);
        remove(dst);
    }
}

static void test_write_errors(void)
{
    float x[2] = {1, 2};
    int64_t d[1] = {2}, neg[1] = {-1};
    char path[128];
    af_err err = {0};
    snprintf(path, sizeof path, "%s/no_such_dir/x.npy", tmpdir);
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 1, d, x, &err) == AF_ERR_IO, "missing folder: %s", err.msg);
    CHECK(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    /* the target is a non-empty directory: rename fails, the temp file must be removed */
    char sub[128], inner[160];
    snprintf(sub, sizeof sub, "%s/occupied", tmpdir);
    snprintf(inner, sizeof inner, "%s/keep", sub);
    mkdir(sub, 0777);
    FILE *f = fopen(inner, "w");
    if (f) fclose(f);
    int before = dir_entry_count(tmpdir);
    af_err_clear(&err);
    CHECK(af_npy_write_file(sub, AF_DTYPE_F32, 1, d, x, &err) == AF_ERR_IO, "dir target: %s", err.msg);
    CHECK(dir_entry_count(tmpdir) == before, "temp file left behind after a failed rename");
    remove(inner);
    remove(sub);
    snprintf(path, sizeof path, "%s/w.npy", tmpdir);
    af_err_clear(&err);
    CHECK(af_npy_write_file(path, AF_DTYPE_BF16, 1, d, x, &err) == AF_ERR_UNSUPPORTED, "bf16: %s", err.msg);
    af_err_clear(&err);
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 1, neg, x, &err) == AF_ERR_USAGE, "neg dim: %s", err.msg);
    af_err_clear(&err);
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 9, d, x, &err) == AF_ERR_USAGE, "rank 9: %s", err.msg);
    af_err_clear(&err);
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 1, d, NULL, &err) == AF_ERR_USAGE, "NULL data: %s", err.msg);
    /* overwriting an existing file replaces it */
    af_err_clear(&err);
    float y[2] = {3, 4};
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 1, d, x, &err) == AF_OK, "write: %s", err.msg);
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 1, d, y, &err) == AF_OK, "overwrite: %s", err.msg);
    af_npy n;
    CHECK(af_npy_read_file(path, &n, &err) == AF_OK && n.nbytes == 8 && memcmp(n.data, y, 8) == 0,
          "overwrite did not replace: %s", err.msg);
    af_npy_free(&n);
    remove(path);
}

static void test_names(void)
{
    char out[64];
    CHECK(strcmp(af_npy_file_name("input", out, sizeof out), "input") == 0, "%s", out);
    CHECK(strcmp(af_npy_file_name("input:0", out, sizeof out), "input_0") == 0, "%s", out);
    CHECK(strcmp(af_npy_file_name("a/b c\\d", out, sizeof out), "a_b_c_d") == 0, "%s", out);
    CHECK(strcmp(af_npy_file_name("x.y-Z_9", out, sizeof out), "x.y-Z_9") == 0, "%s", out);
    CHECK(strcmp(af_npy_file_name("caf\xc3\xa9", out, sizeof out), "caf__") == 0, "%s", out);
    CHECK(strcmp(af_npy_file_name("abcdef", out, 4), "abc") == 0, "truncation: %s", out);
    CHECK(strcmp(af_npy_file_name("", out, sizeof out), "") == 0, "empty: %s", out);
    af_err err = {0};
    CHECK(af_npy_path("dir", "onnx::Conv_1", out, sizeof out, &err) == AF_OK &&
              strcmp(out, "dir/onnx__Conv_1.npy") == 0, "path: %s", out);
    CHECK(af_npy_path("dir/", "y", out, sizeof out, &err) == AF_OK && strcmp(out, "dir/y.npy") == 0, "path: %s", out);
    CHECK(af_npy_path("dir", "a_long_name", out, 12, &err) == AF_ERR_USAGE, "overflow not refused");
}

/* The committed model inputs and ONNX Runtime references (written by tests/oracle/run_ort.js's
 * own .npy writer) parse with the expected shapes. */
/* '<f8' is read narrowed to f32 (the fixture holds 0.0, 1.0, 2.0: exact in f32). */
static void test_f8_narrowed(void)
{
    af_npy n;
    af_err err = {0};
    af_status st = af_npy_read_file(DATA "bad_f8.npy", &n, &err);
    CHECK(st == AF_OK, "<f8 refused: %s", err.msg);
    if (st) return;
    CHECK(n.dtype == AF_DTYPE_F32 && n.from_f64 && n.rank == 1 && n.dims[0] == 3 &&
          n.nbytes == 12, "<f8 read as %s rank %d nbytes %zu", af_dtype_name(n.dtype), n.rank,
          n.nbytes);
    const float *x = n.data;
    CHECK(x[0] == 0.0f && x[1] == 1.0f && x[2] == 2.0f, "<f8 values %g %g %g", x[0], x[1], x[2]);
    af_npy_free(&n);
}

/* af_npy_read_input: the sanitized name first, then the exact tensor name. */
static void test_read_input_names(void)
{
    char path[512], got[512];
    const int64_t d[1] = {2};
    const float a[2] = {1, 2}, b[2] = {3, 4};
    af_err err = {0};
    snprintf(path, sizeof path, "%s/x:0.npy", tmpdir);
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 1, d, a, &err) == AF_OK, "%s", err.msg);
    af_npy n;
    CHECK(af_npy_read_input(tmpdir, "x:0", &n, got, sizeof got, &err) == AF_OK, "exact: %s",
          err.msg);
    CHECK(n.data && ((float *)n.data)[0] == 1.0f && strstr(got, "x:0.npy"), "exact name: %s", got);
    af_npy_free(&n);
    snprintf(path, sizeof path, "%s/x_0.npy", tmpdir);
    CHECK(af_npy_write_file(path, AF_DTYPE_F32, 1, d, b, &err) == AF_OK, "%s", err.msg);
    CHECK(af_npy_read_input(tmpdir, "x:0", &n, got, sizeof got, &err) == AF_OK, "%s", err.msg);
    CHECK(n.data && ((float *)n.data)[0] == 3.0f, "sanitized name not preferred: %s", got);
    af_npy_free(&n);
    af_err_clear(&err);
    CHECK(af_npy_read_input(tmpdir, "y:0", &n, got, sizeof got, &err) == AF_ERR_IO &&
          strstr(err.msg, "y_0.npy: cannot open") && strstr(err.msg, "(nor "),
          "missing input: %s", err.msg);
}

static void test_committed_model_files(void)
{
    static const struct {
        const char *file;
        int rank;
        int64_t dims[4];
    } cases[] = {
        {"../models/small_cnn/inputs/input.npy", 4, {1, 3, 64, 64}},
        {"../models/small_cnn/reference/output.npy", 2, {1, 10}},
        {"../models/tiny_mlp/inputs/input.npy", 2, {2, 16}},
        {"../models/tiny_mlp/reference/output.npy", 2, {2, 8}},
        {"../models/tiny_mlp/reference/logits_0.npy", 2, {2, 8}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        af_npy n;
        af_err err = {0};
        af_status st = af_npy_read_file(cases[k].file, &n, &err);
        CHECK(st == AF_OK, "%s", err.msg);
        if (st != AF_OK) continue;
        CHECK(n.dtype == AF_DTYPE_F32 && dims_are(&n, cases[k].rank, cases[k].dims), "%s: dtype/shape",
              cases[k].file);
        af_npy_free(&n);
    }
}

int main(void)
{
    strcpy(tmpdir, "/tmp/af_test_npy_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_numpy_files();
    test_bad_files();
    test_truncations_and_corruptions(DATA "valid_f32_2x3.npy");
    test_truncations_and_corruptions(DATA "valid_v2_f32_2x3.npy");
    test_roundtrip();
    test_same_bytes_as_numpy();
    test_write_errors();
    test_names();
    test_f8_narrowed();
    test_read_input_names();
    test_committed_model_files();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report("npy");
}
