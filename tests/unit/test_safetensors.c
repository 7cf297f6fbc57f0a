/* tests/unit/test_safetensors.c — importers/safetensors/safetensors.h: the malformed suite
 * (tests/data/safetensors/expected.txt) refused with the listed status through both entry
 * points, the valid files read back exactly, every truncation refused, the index parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "importers/safetensors/bind.h"
#include "importers/safetensors/safetensors.h"

#define DIR "data/safetensors/"

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *size = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static st_status status_by_name(const char *name)
{
    for (int s = 0; s < ST_STATUS_COUNT; s++)
        if (!strcmp(st_status_name((st_status)s), name)) return (st_status)s;
    return ST_STATUS_COUNT;
}

/* Each bad file gives its status from memory and from the file, with the name in the message. */
static void test_suite(void)
{
    FILE *m = fopen(DIR "expected.txt", "r");
    CHECK(m != NULL, "cannot open " DIR "expected.txt");
    if (!m) return;
    int seen[ST_STATUS_COUNT] = {0}, files = 0;
    char line[256], file[200], name[64];
    while (fgets(line, sizeof line, m)) {
        if (line[0] == '#' || sscanf(line, "%199s %63s", file, name) != 2) continue;
        char path[256];
        snprintf(path, sizeof path, DIR "%s", file);
        st_status want = status_by_name(name);
        CHECK(want < ST_STATUS_COUNT, "%s: unknown status name %s", file, name);
        size_t size;
        unsigned char *buf = slurp(path, &size);
        CHECK(buf != NULL, "cannot read %s", path);
        if (!buf || want == ST_STATUS_COUNT) { free(buf); continue; }
        /* an exact-size copy so ASan sees any read past the end */
        unsigned char *exact = malloc(size ? size : 1);
        memcpy(exact, buf, size);
        st_file *f = (st_file *)1;
        st_error e;
        st_status st = st_parse_memory(exact, size, &f, &e);
        CHECK(st == want, "%s: memory: got %s, want %s (%s)", file, st_status_name(st), name, e.msg);
        CHECK(f == NULL, "%s: no file on failure", file);
        char tag[80];
        snprintf(tag, sizeof tag, "[%s]", name);
        CHECK(strstr(e.msg, tag) != NULL, "%s: message '%s' lacks %s", file, e.msg, tag);
        CHECK(strchr(e.msg, '\n') == NULL, "%s: message is not one line", file);
        st = st_open_file(path, &f, &e);
        CHECK(st == want, "%s: file: got %s, want %s (%s)", file, st_status_name(st), name, e.msg);
        seen[want] = 1;
        files++;
        free(exact);
        free(buf);
    }
    fclose(m);
    CHECK(files >= 20, "only %d malformed files", files);
    for (int s = ST_ERR_TOO_SMALL; s <= ST_ERR_EMPTY_NAME; s++)
        CHECK(seen[s], "no malformed file exercises %s", st_status_name((st_status)s));
}

static void test_basic(void)
{
    size_t size;
    unsigned char *buf = slurp(DIR "valid_basic.safetensors", &size);
    st_file *f;
    st_error e;
    CHECK(buf && st_parse_memory(buf, size, &f, &e) == ST_OK, "valid_basic: %s", e.msg);
    if (!buf || e.code) { free(buf); return; }
    CHECK(f->n_tensors == 2 && f->n_meta == 2, "counts %zu %zu", f->n_tensors, f->n_meta);
    const st_tensor *w = &f->tensors[0];
    CHECK(!strcmp(w->name, "w") && w->dtype == ST_F32 && w->rank == 2 && w->shape[0] == 2 &&
          w->shape[1] == 3 && w->numel == 6, "tensor w");
    float v[6];
    CHECK(st_read_tensor(f, w, v, sizeof v, &e) == ST_OK && v[0] == 1 && v[5] == 6, "w values");
    CHECK(st_read_tensor(f, w, v, 8, &e) == ST_ERR_USAGE, "short destination refused");
    CHECK(!strcmp(f->meta[1].key, "note") && !strcmp(f->meta[1].value, "caf\xc3\xa9"), "metadata");
    CHECK(st_find(f, "b") == 1 && st_find(f, "nope") == -1, "st_find");
    st_close(f);
    /* the same through the file reader, which reads tensors on demand */
    CHECK(st_open_file(DIR "valid_basic.safetensors", &f, &e) == ST_OK, "open: %s", e.msg);
    if (!e.code) {
        CHECK(f->data == NULL, "file mode does not map data");
        CHECK(st_read_tensor(f, &f->tensors[0], v, sizeof v, &e) == ST_OK && v[3] == 4, "file read");
        st_close(f);
    }
    /* every proper prefix is refused, never read past */
    int refused = 0;
    for (size_t n = 0; n < size; n++) {
        unsigned char *p = malloc(n ? n : 1);
        memcpy(p, buf, n);
        if (st_parse_memory(p, n, &f, &e) != ST_OK) refused++;
        else st_close(f);
        free(p);
    }
    CHECK(refused == (int)size, "%d of %zu truncations refused", refused, size);
    free(buf);
}

static void test_valid(void)
{
    static const char *const files[] = {"valid_empty", "valid_no_padding", "valid_all_dtypes",
                                        "valid_unordered"};
    static const size_t counts[] = {0, 1, ST_DTYPE_COUNT, 3};
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof path, DIR "%s.safetensors", files[i]);
        st_file *f;
        st_error e;
        CHECK(st_open_file(path, &f, &e) == ST_OK, "%s: %s", files[i], e.msg);
        if (e.code) continue;
        CHECK(f->n_tensors == counts[i], "%s: %zu tensors", files[i], f->n_tensors);
        st_close(f);
    }
    size_t size;
    unsigned char *buf = slurp(DIR "valid_unordered.safetensors", &size);
    st_file *f;
    st_error e;
    if (buf && st_parse_memory(buf, size, &f, &e) == ST_OK) {
        /* "s\u00e9\ud83d\ude00\n" decodes to UTF-8 with the surrogate pair joined */
        CHECK(!strcmp(f->tensors[0].name, "s\xc3\xa9\xf0\x9f\x98\x80\n"), "escaped name");
        CHECK(f->tensors[0].rank == 0 && f->tensors[0].numel == 1, "scalar");
        CHECK(f->tensors[1].numel == 0 && f->tensors[1].begin == 8, "zero-size tensor");
        st_close(f);
    } else CHECK(0, "valid_unordered");
    free(buf);
    st_error e2;
    CHECK(st_open_file(DIR "does_not_exist.safetensors", &f, &e2) == ST_ERR_IO, "missing file");
    CHECK(st_open_file(DIR, &f, &e2) == ST_ERR_IO, "a directory: %s", e2.msg);
}

static void test_index(void)
{
    static const char ok[] = "{\"metadata\": {\"total_size\": 1.5e3, \"x\": [true, null, {\"a\": -0}]},"
                             " \"weight_map\": {\"a.w\": \"m-1.safetensors\", \"b\": \"m-2.safetensors\"}}";
    st_index *ix;
    st_error e;
    CHECK(st_index_parse(ok, strlen(ok), &ix, &e) == ST_OK, "index: %s", e.msg);
    if (!e.code) {
        CHECK(ix->n_entries == 2 && !strcmp(ix->entries[1].file, "m-2.safetensors"), "entries");
        st_index_free(ix);
    }
    static const struct { const char *json; st_status want; } bad[] = {
        {"{\"metadata\": {}}", ST_ERR_INDEX},
        {"{\"weight_map\": {\"a\": 1}}", ST_ERR_INDEX},
        {"{\"weight_map\": {\"a\": \"x\", \"a\": \"y\"}}", ST_ERR_DUPLICATE_KEY},
        {"{\"weight_map\": {}, \"other\": 1}", ST_ERR_INDEX},
        {"{\"weight_map\": {}} x", ST_ERR_JSON},
        {"{\"metadata\": [1, 2,], \"weight_map\": {}}", ST_ERR_JSON},
        {"{\"metadata\": 01, \"weight_map\": {}}", ST_ERR_JSON},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st_status st = st_index_parse(bad[i].json, strlen(bad[i].json), &ix, &e);
        CHECK(st == bad[i].want, "index %zu: got %s (%s)", i, st_status_name(st), e.msg);
    }
    /* nesting beyond ST_MAX_DEPTH is refused, not recursed into */
    char deep[400] = "{\"metadata\": ";
    for (int k = 0; k < 100; k++) strcat(deep, "[");
    CHECK(st_index_parse(deep, strlen(deep), &ix, &e) == ST_ERR_JSON && strstr(e.msg, "nesting"),
          "deep nesting: %s", e.msg);
}

/* The --weight-map rules: exact rename beats prefixes, longest prefix wins, no chaining. */
static void test_map(void)
{
    static const char text[] = "# comment\n  strip model.   \nprefix model.enc. encoder.\n"
                               "rename model.enc.x onnx::Mul_5 # exact\n\n";
    af_st_map m;
    af_err err = {0};
    CHECK(af_st_map_parse(text, sizeof text - 1, "map.txt", &m, &err) == AF_OK, "%s", err.msg);
    static const char *const cases[][2] = {
        {"model.fc.w", "fc.w"}, {"model.enc.l0", "encoder.l0"}, {"model.enc.x", "onnx::Mul_5"},
        {"other", "other"}, {"model.", ""},
    };
    for (int i = 0; i < 5; i++) {
        char *got = af_st_map_apply(&m, cases[i][0]);
        CHECK(got && !strcmp(got, cases[i][1]), "%s -> %s, want %s", cases[i][0], got, cases[i][1]);
        free(got);
    }
    af_st_map_free(&m);
    static const char *const bad[] = {"rename a\n", "prefix a b c\n", "move a b\n",
                                      "rename a b\nrename a c\n"};
    static const char *const want[] = {"map.txt:1: 'rename' takes 2 names", "map.txt:1: 'prefix' takes 2 names, got 3",
                                       "map.txt:1: unknown rule 'move'", "map.txt:2: a second rule"};
    for (int i = 0; i < 4; i++) {
        af_err_clear(&err);
        CHECK(af_st_map_parse(bad[i], strlen(bad[i]), "map.txt", &m, &err) == AF_ERR_FORMAT &&
              strstr(err.msg, want[i]), "bad map %d: %s", i, err.msg);
    }
}

int main(void)
{
    test_map();
    test_suite();
    test_basic();
    test_valid();
    test_index();
    return check_report("safetensors");
}
