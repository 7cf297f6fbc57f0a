/* tests/unit/test_bundle.c — the .afb writer and reader/verifier.
 *
 * A small planned graph (conv with an fp16-encoded weight and a raw bias, relu, flatten,
 * gemm with an omitted optional input, an unused constant) is written, read back from a file
 * and from memory, and compared field by field; written twice and compared byte for byte;
 * then corrupted in many ways (truncation, byte flips, foreign magic, newer version, and
 * structural damage with recomputed valid CRCs) — every one must be refused with the right
 * status and a message naming what is wrong. Writer refusals must leave no file behind.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../bundle/bundle.h"
#include "../../bundle/format.h"
#include "../../graph/graph.h"
#include "check.h"

static char g_dir[64];
static const char *META_JSON = "{\"source\":\"test\",\"target\":\"h14\",\"note\":\"\xc3\xa9\"}";

/* tensor indices of the test graph */
enum { T_X, T_W, T_B, T_Y, T_R, T_FLAT, T_WFC, T_OUT, T_UNUSED, T_COUNT };
#define ARENA_BYTES 512u

static char *path_in_dir(const char *name)
{
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", g_dir, name);
    return p;
}

static float *f32_data(size_t n, float scale, float phase)
{
    float *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = scale * sinf(0.7f * (float)i + phase);
    return d;
}

static int add_tensor(af_graph *g, const char *name, af_dtype dt, int rank, const int64_t *dims,
                      int64_t mem_offset)
{
    int t = af_graph_add_tensor(g, name, dt, rank, dims);
    g->tensors[t].mem_offset = mem_offset;
    return t;
}

static void add_tensors(af_graph *g)
{
    const int64_t dx[] = {1, 2, 4, 4}, dw[] = {3, 2, 3, 3}, db[] = {3}, dy[] = {1, 3, 4, 4},
                  dflat[] = {1, 48}, dwfc[] = {48, 4}, dout[] = {1, 4}, dun[] = {2};
    add_tensor(g, "x", AF_DTYPE_F32, 4, dx, 0);
    add_tensor(g, "conv.weight", AF_DTYPE_F32, 4, dw, -1);
    add_tensor(g, "conv.bias", AF_DTYPE_F32, 1, db, -1);
    add_tensor(g, "y", AF_DTYPE_F32, 4, dy, 128);
    add_tensor(g, "r\xc3\xbc", AF_DTYPE_F32, 4, dy, 320); /* UTF-8 name */
    add_tensor(g, "flat", AF_DTYPE_F32, 2, dflat, 0);
    add_tensor(g, "fc.weight", AF_DTYPE_F32, 2, dwfc, -1);
    add_tensor(g, "out", AF_DTYPE_F32, 2, dout, 192);
    add_tensor(g, "unused_shape", AF_DTYPE_I64, 1, dun, -1);
    af_tensor_set_data(&g->tensors[T_W], f32_data(54, 3.0f, 0.1f));
    g->tensors[T_W].encoding = AF_ENC_FP16;
    af_tensor_set_data(&g->tensors[T_B], f32_data(3, 0.5f, 1.0f));
    af_tensor_set_data(&g->tensors[T_WFC], f32_data(48 * 4, 0.25f, 2.0f));
    int64_t *un = malloc(2 * sizeof *un);
    un[0] = 7;
    un[1] = -3;
    af_tensor_set_data(&g->tensors[T_UNUSED], un);
}

static void add_nodes(af_graph *g)
{
    int in_conv[] = {T_X, T_W, T_B}, o_conv[] = {T_Y};
    int n = af_graph_add_node(g, AF_OP_CONV, "conv_0", in_conv, 3, o_conv, 1);
    af_conv_params *c = &g->nodes[n].p.conv;
    c->nsp = 2;
    c->group = 1;
    for (int k = 0; k < 2; k++) {
        c->kernel[k] = 3;
        c->stride[k] = c->dilation[k] = c->pad_begin[k] = c->pad_end[k] = 1;
    }
    c->act.fn = AF_UNARY_IDENTITY;
    int in_r[] = {T_Y}, o_r[] = {T_R};
    n = af_graph_add_node(g, AF_OP_UNARY, "relu_\xe2\x82\xac", in_r, 1, o_r, 1);
    g->nodes[n].p.unary.fn = AF_UNARY_RELU;
    int in_f[] = {T_R}, o_f[] = {T_FLAT};
    n = af_graph_add_node(g, AF_OP_RESHAPE, "flatten", in_f, 1, o_f, 1);
    g->nodes[n].p.reshape.kind = AF_RESHAPE_FLATTEN;
    g->nodes[n].p.reshape.axis = 1;
    int in_g[] = {T_FLAT, T_WFC, -1}, o_g[] = {T_OUT};
    n = af_graph_add_node(g, AF_OP_GEMM, "fc", in_g, 3, o_g, 1);
    g->nodes[n].p.gemm.alpha = 1.0f;
    g->nodes[n].p.gemm.beta = 1.0f;
}

static void build_graph(af_graph *g)
{
    af_graph_init(g);
    add_tensors(g);
    add_nodes(g);
    af_graph_add_input(g, T_X);
    af_graph_add_output(g, T_OUT);
    af_graph_add_output(g, T_FLAT);
}

static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *size = fread(b, 1, (size_t)n, fp);
    fclose(fp);
    return b;
}

static void write_all(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    fwrite(p, 1, n, fp);
    fclose(fp);
}

/* An exactly-sized 64-aligned copy, so sanitizers catch any read past n. */
static void *aligned_copy(const void *p, size_t n)
{
    void *b = NULL;
    if (posix_memalign(&b, AFB_ALIGN, n ? n : 1) != 0) return NULL;
    if (n) memcpy(b, p, n);
    return b;
}

static int count_tmp_files(void)
{
    int n = 0;
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

/* ---- round trip ------------------------------------------------------------------------ */

static void check_tensor(const af_tensor *gt, const afb_tensor *t, int i)
{
    CHECK(strcmp(gt->name, t->name) == 0, "tensor %d name '%s'", i, t->name);
    CHECK(gt->dtype == t->dtype && gt->rank == t->rank, "tensor %d dtype/rank", i);
    for (int k = 0; k < gt->rank; k++) CHECK(gt->dims[k] == t->dims[k], "tensor %d dim %d", i, k);
    if (!af_tensor_is_const(gt)) {
        CHECK(t->storage == AFB_STORAGE_ARENA && t->data == NULL, "tensor %d storage", i);
        CHECK(t->arena_offset == (uint64_t)gt->mem_offset, "tensor %d arena offset", i);
        return;
    }
    CHECK(t->storage == AFB_STORAGE_CONST, "tensor %d storage", i);
    CHECK((int)t->encoding == (int)gt->encoding, "tensor %d encoding", i);
    CHECK(t->data && (uintptr_t)t->data % AFB_ALIGN == 0, "tensor %d data not 64-aligned", i);
    int64_t numel = af_tensor_numel(gt);
    if (gt->encoding == AF_ENC_RAW) {
        CHECK(t->data_bytes == (uint64_t)af_tensor_nbytes(gt), "tensor %d data_bytes", i);
        CHECK(memcmp(t->data, gt->data, t->data_bytes) == 0, "tensor %d raw bytes differ", i);
        return;
    }
    CHECK(t->data_bytes == (uint64_t)numel * 2, "tensor %d fp16 data_bytes", i);
    /* Round-to-nearest into an 11-bit significand: relative error <= 2^-11 for values in
     * fp16's normal range (the test values are 0 or |v| in [1e-3, 3]). */
    const uint8_t *h = t->data;
    const float *ref = gt->data;
    int bad = 0;
    for (int64_t k = 0; k < numel; k++) {
        float v = af_f16_to_f32((uint16_t)(h[2 * k] | h[2 * k + 1] << 8));
        if (fabsf(v - ref[k]) > fabsf(ref[k]) * 0x1p-11f) bad++;
    }
    CHECK(bad == 0, "tensor %d: %d fp16 values outside 2^-11 relative", i, bad);
}

static void check_node(const af_node *gn, const afb_node *n, int i)
{
    uint32_t ps = af_op_table[gn->op].param_size;
    CHECK(gn->op == n->op && strcmp(gn->name, n->name) == 0, "node %d op/name", i);
    CHECK(gn->n_in == n->n_in && gn->n_out == n->n_out, "node %d arity", i);
    for (int k = 0; k < gn->n_in && k < n->n_in; k++)
        CHECK(gn->in[k] == n->in[k], "node %d input %d", i, k);
    for (int k = 0; k < gn->n_out && k < n->n_out; k++)
        CHECK(gn->out[k] == n->out[k], "node %d output %d", i, k);
    CHECK(memcmp(&gn->p, &n->p, ps) == 0, "node %d params differ", i);
    const uint8_t *rest = (const uint8_t *)&n->p + ps;
    int nonzero = 0;
    for (size_t k = ps; k < sizeof n->p; k++) nonzero |= rest[k - ps];
    CHECK(!nonzero, "node %d: af_params beyond param_size not zero-filled", i);
}

static void check_roundtrip(const af_graph *g, const afb_file *f, uint64_t file_size)
{
    CHECK(f->version == AFB_VERSION && f->file_size == file_size, "version/file size");
    CHECK(f->arena_bytes == ARENA_BYTES, "arena_bytes %llu", (unsigned long long)f->arena_bytes);
    CHECK(f->n_tensors == (uint32_t)g->n_tensors && f->n_nodes == (uint32_t)g->n_nodes,
          "counts %u %u", f->n_tensors, f->n_nodes);
    for (uint32_t i = 0; i < f->n_tensors && i < (uint32_t)g->n_tensors; i++)
        check_tensor(&g->tensors[i], &f->tensors[i], (int)i);
    for (uint32_t i = 0; i < f->n_nodes && i < (uint32_t)g->n_nodes; i++)
        check_node(&g->nodes[i], &f->nodes[i], (int)i);
    CHECK(f->n_inputs == 1 && f->inputs[0] == T_X, "inputs");
    CHECK(f->n_outputs == 2 && f->outputs[0] == T_OUT && f->outputs[1] == T_FLAT, "outputs");
    CHECK(f->meta_len == strlen(META_JSON) && memcmp(f->meta_json, META_JSON, f->meta_len) == 0,
          "meta");
    CHECK(f->n_sections == 3, "sections %d", f->n_sections);
    const char *kinds[] = {"PROG", "META", "WGHT"};
    for (int i = 0; i < 3 && i < f->n_sections; i++) {
        CHECK(strcmp(f->sections[i].kind, kinds[i]) == 0, "section %d kind", i);
        CHECK(f->sections[i].offset % AFB_ALIGN == 0, "section %d aligned", i);
    }
}

static int write_graph(const af_graph *g, const char *path, af_err *err)
{
    afb_meta meta = {.json = META_JSON};
    af_err_clear(err);
    return afb_write(g, ARENA_BYTES, &meta, path, err);
}

static void test_roundtrip(uint8_t **good, size_t *good_size)
{
    af_graph g;
    build_graph(&g);
    af_err err;
    const char *pa = path_in_dir("a.afb");
    int st = write_graph(&g, pa, &err);
    CHECK(st == AF_OK, "write: %s", err.msg);

    afb_file *f = NULL;
    af_err_clear(&err);
    st = afb_open_file(pa, &f, &err);
    CHECK(st == AF_OK, "open file: %s", err.msg);
    *good = read_all(pa, good_size);
    if (f) check_roundtrip(&g, f, *good_size);
    afb_close(f);

    void *mem = aligned_copy(*good, *good_size);
    f = NULL;
    af_err_clear(&err);
    st = afb_open_memory(mem, *good_size, &f, &err);
    CHECK(st == AF_OK, "open memory: %s", err.msg);
    if (f) {
        check_roundtrip(&g, f, *good_size);
        CHECK((const uint8_t *)f->tensors[T_B].data >= (const uint8_t *)mem &&
              (const uint8_t *)f->tensors[T_B].data < (const uint8_t *)mem + *good_size,
              "memory open is zero-copy");
    }
    afb_close(f);
    free(mem);
    af_graph_free(&g);
}

static void test_determinism(const uint8_t *good, size_t good_size)
{
    af_graph g; /* a fresh graph: different heap addresses, same content */
    build_graph(&g);
    af_err err;
    const char *pb = path_in_dir("b.afb");
    CHECK(write_graph(&g, pb, &err) == AF_OK, "write b: %s", err.msg);
    CHECK(write_graph(&g, pb, &err) == AF_OK, "overwrite b: %s", err.msg);
    size_t n = 0;
    uint8_t *b = read_all(pb, &n);
    CHECK(b && n == good_size && memcmp(b, good, n) == 0, "two writes differ (%zu vs %zu bytes)",
          n, good_size);
    CHECK(count_tmp_files() == 0, "temporary files left behind");
    free(b);
    af_graph_free(&g);
}

static void test_empty_graph(void)
{
    af_graph g;
    af_graph_init(&g);
    af_err err;
    af_err_clear(&err);
    const char *p = path_in_dir("empty.afb");
    CHECK(afb_write(&g, 0, NULL, p, &err) == AF_OK, "empty graph: %s", err.msg);
    afb_file *f = NULL;
    af_err_clear(&err);
    CHECK(afb_open_file(p, &f, &err) == AF_OK, "open empty: %s", err.msg);
    if (f) CHECK(f->n_tensors == 0 && f->n_nodes == 0 && f->meta_len == 2, "empty contents");
    afb_close(f);
    af_graph_free(&g);
}

/* ---- malformed files ------------------------------------------------------------------- */

static af_status open_bytes(const uint8_t *p, size_t n, af_err *err)
{
    void *b = aligned_copy(p, n);
    afb_file *f = NULL;
    af_err_clear(err);
    af_status st = afb_open_memory(b, n, &f, err);
    afb_close(f);
    free(b);
    return st;
}

static void test_truncation(const uint8_t *good, size_t size)
{
    af_err err;
    size_t bad = 0, first = 0, tried = 0;
    for (size_t n = 0; n < size; n += n < 512 ? 1 : 7) {
        af_status st = open_bytes(good, n, &err);
        tried++;
        if (st != AF_ERR_FORMAT && bad++ == 0) first = n;
    }
    CHECK(bad == 0, "%zu of %zu truncations not refused as format errors (first at %zu)", bad,
          tried, first);
    CHECK(open_bytes(good, size, &err) == AF_OK, "the untruncated copy: %s", err.msg);

    const char *p = path_in_dir("trunc.afb"); /* through the file path too */
    size_t cuts[] = {0, 5, 31, 100, size / 2, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        write_all(p, good, cuts[k]);
        afb_file *f = NULL;
        af_err_clear(&err);
        af_status st = afb_open_file(p, &f, &err);
        afb_close(f);
        CHECK(st == AF_ERR_FORMAT && strncmp(err.msg, p, strlen(p)) == 0,
              "truncated file at %zu: %d '%s'", cuts[k], st, err.msg);
    }
}

static void expect(const uint8_t *buf, size_t n, af_status want, const char *needle,
                   const char *what)
{
    af_err err;
    af_status st = open_bytes(buf, n, &err);
    CHECK(st == want && strstr(err.msg, needle), "%s: got %s '%s', want %s with '%s'", what,
          af_status_str(st), err.msg, af_status_str(want), needle);
}

static void test_flips(const uint8_t *good, size_t size)
{
    uint8_t *b = malloc(size);
    afb_disk_header h;
    afb_get_header(good, &h);
    for (uint32_t s = 0; s < h.n_sections; s++) {
        afb_disk_dirent d;
        afb_get_dirent(good + AFB_HEADER_SIZE + s * AFB_DIRENT_SIZE, &d);
        char want[32];
        snprintf(want, sizeof want, "section %.4s: CRC mismatch", d.kind);
        uint64_t where[3] = {d.offset, d.offset + d.size / 2, d.offset + d.size - 1};
        for (int k = 0; k < 3; k++) {
            memcpy(b, good, size);
            b[where[k]] ^= 0x20;
            expect(b, size, AF_ERR_FORMAT, want, want);
        }
        if (s + 1 < h.n_sections) { /* padding after this section, if any, must stay zero */
            afb_disk_dirent nx;
            afb_get_dirent(good + AFB_HEADER_SIZE + (s + 1) * AFB_DIRENT_SIZE, &nx);
            if (nx.offset > d.offset + d.size) {
                memcpy(b, good, size);
                b[nx.offset - 1] = 1;
                expect(b, size, AF_ERR_FORMAT, "padding", "padding byte");
            }
        }
    }
    for (size_t k = 12; k < AFB_HEADER_SIZE + 3 * AFB_DIRENT_SIZE; k += 5) {
        memcpy(b, good, size);
        b[k] ^= 0x01;
        expect(b, size, AF_ERR_FORMAT, "", "header/directory flip");
    }
    memcpy(b, good, size);
    b[20] ^= 0x01; /* file_size */
    expect(b, size, AF_ERR_FORMAT, "header: CRC mismatch", "header flip");
    memcpy(b, good, size);
    b[0] = 'X';
    expect(b, size, AF_ERR_FORMAT, "not an aneforge bundle", "magic");
    expect((const uint8_t *)"PK\3\4 this is a zip file, not a bundle....", 40, AF_ERR_FORMAT,
           "not an aneforge bundle", "foreign file");
    memcpy(b, good, size);
    afb_wr32(b + 8, 99);
    expect(b, size, AF_ERR_UNSUPPORTED, "bundle format version 99, this build reads up to 1",
           "version 99");
    free(b);

    uint8_t *longer = calloc(1, size + 64);
    memcpy(longer, good, size);
    expect(longer, size + 64, AF_ERR_FORMAT, "trailing", "trailing bytes");
    free(longer);
}

/* Recomputes every section CRC and the header CRC, so only structural checks can object. */
static void refresh_crcs(uint8_t *b, size_t size)
{
    afb_disk_header h;
    afb_get_header(b, &h);
    if (h.n_sections > AFB_MAX_SECTIONS) return; /* damaged: leave as is */
    for (uint32_t s = 0; s < h.n_sections; s++) {
        uint8_t *e = b + AFB_HEADER_SIZE + s * AFB_DIRENT_SIZE;
        afb_disk_dirent d;
        afb_get_dirent(e, &d);
        if (d.offset <= size && d.size <= size - d.offset)
            afb_wr32(e + 24, afb_crc32(0, b + d.offset, d.size));
    }
    afb_wr32(b + AFB_HEADER_CRC_OFFSET, afb_header_crc(b, h.n_sections));
}

typedef struct patch {
    const char *what;
    uint64_t at;   /* file offset */
    int width;     /* 1, 4 or 8 bytes */
    uint64_t value;
    const char *needle;
} patch;

static void test_structural(const uint8_t *good, size_t size)
{
    af_graph g;
    build_graph(&g);
    afb_disk_dirent prog, meta;
    afb_get_dirent(good + AFB_HEADER_SIZE, &prog);
    afb_get_dirent(good + AFB_HEADER_SIZE + AFB_DIRENT_SIZE, &meta);
    uint64_t P = prog.offset, tens = P + AFB_PROG_HEADER_SIZE;
    uint64_t nodes = tens + (uint64_t)T_COUNT * AFB_TENSOR_REC_SIZE;
    uint32_t conv_ps = af_op_table[AF_OP_CONV].param_size;
    uint64_t conv_idx = nodes + AFB_NODE_HEAD_SIZE + afb_align_up(conv_ps, 8);
    uint64_t relu = nodes + afb_node_rec_size(conv_ps, 3, 1);
    uint64_t relu_idx = relu + AFB_NODE_HEAD_SIZE + afb_align_up(sizeof(af_unary_params), 8);
    uint64_t io = nodes + afb_rd32(good + P + 24); /* after the node area */
    uint64_t t0 = tens, tw = tens + T_W * AFB_TENSOR_REC_SIZE;
    const patch patches[] = {
        {"op out of range", nodes, 4, 200, "op 200 out of range"},
        {"op without runtime", nodes, 4, AF_OP_SIZE, "cannot appear in a bundle"},
        {"param_size", nodes + 16, 4, 4, "param_size 4"},
        {"input index out of range", conv_idx, 4, T_COUNT + 5, "out of range"},
        {"required input omitted", conv_idx, 4, 0xFFFFFFFFu, "out of range"},
        {"not topological", conv_idx, 4, T_R, "before it is produced"},
        {"produced twice", relu_idx + 4, 4, T_Y, "produced twice"},
        {"node writes a constant", relu_idx + 4, 4, T_B, "writes constant"},
        {"unary fn", relu + AFB_NODE_HEAD_SIZE, 4, 99, "unary function out of range"},
        {"node name offset", relu + 4, 4, 1u << 30, "name offset"},
        {"arena tensor beyond arena", t0 + 72, 8, ARENA_BYTES, "beyond arena_bytes"},
        {"arena offset misaligned", t0 + 72, 8, 2, "not aligned"},
        {"dtype out of range", t0 + 4, 1, 50, "dtype 50 out of range"},
        {"storage out of range", t0 + 6, 1, 9, "storage 9"},
        {"rank > 8", t0 + 5, 1, 9, "rank 9"},
        {"negative dim", t0 + 8, 8, (uint64_t)-1, "negative"},
        {"huge dim", t0 + 8, 8, (uint64_t)1 << 62, ""},
        {"tensor name offset", t0, 4, 1u << 30, "name offset"},
        {"const misaligned", tw + 72, 8, 8, "not 64-byte aligned"},
        {"const outside WGHT", tw + 72, 8, (uint64_t)1 << 40, "outside section WGHT"},
        {"data_bytes", tw + 80, 8, 4, "data_bytes 4"},
        {"fp16 of i64", tens + T_UNUSED * AFB_TENSOR_REC_SIZE + 7, 1, AFB_ENC_FP16, "fp16"},
        {"dyn axes beyond rank", t0 + 88, 8, (uint64_t)1 << 40, "data-dependent axes"},
        {"dyn axes of a constant", tw + 88, 8, 1, "data-dependent axes"},
        {"tensor count", P, 4, T_COUNT + 1, "need"},
        {"graph input is constant", io, 4, T_W, "constant"},
        {"graph output listed twice", io + 4, 4, T_FLAT, "listed twice"},
        {"graph output out of range", io + 8, 4, 1000, "out of range"},
        {"section misaligned", AFB_HEADER_SIZE + 8, 8, P + 8, "aligned"},
        {"sections overlap", AFB_HEADER_SIZE + AFB_DIRENT_SIZE + 8, 8, P, "overlap"},
        {"section past the end", AFB_HEADER_SIZE + 16, 8, size, "outside the file"},
        {"duplicate section", AFB_HEADER_SIZE + AFB_DIRENT_SIZE, 4, 0x474F5250u, "twice"},
        {"meta not text", meta.offset, 1, 0xFF, "META"},
    };
    uint8_t *b = malloc(size);
    for (size_t i = 0; i < sizeof patches / sizeof *patches; i++) {
        const patch *pt = &patches[i];
        memcpy(b, good, size);
        if (pt->width == 1) b[pt->at] = (uint8_t)pt->value;
        else if (pt->width == 4) afb_wr32(b + pt->at, (uint32_t)pt->value);
        else afb_wr64(b + pt->at, pt->value);
        refresh_crcs(b, size);
        expect(b, size, AF_ERR_FORMAT, pt->needle, pt->what);
    }
    free(b);
    af_graph_free(&g);
}

/* Random byte damage with recomputed CRCs (a deterministic LCG): the verifier must answer
 * OK, FORMAT or UNSUPPORTED, never crash, and whatever it accepts must be self-consistent. */
static void test_random_damage(const uint8_t *good, size_t size)
{
    uint32_t seed = 12345;
    int bad_status = 0, inconsistent = 0, accepted = 0;
    uint8_t *b = aligned_copy(good, size);
    for (int it = 0; it < 4000; it++) {
        memcpy(b, good, size);
        for (int k = 0; k < 1 + it % 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            b[(seed >> 8) % size] ^= (uint8_t)(1u << (seed % 8));
        }
        if (it % 8) refresh_crcs(b, size);
        afb_file *f = NULL;
        af_err err;
        af_err_clear(&err);
        af_status st = afb_open_memory(b, size, &f, &err);
        if (st != AF_OK && st != AF_ERR_FORMAT && st != AF_ERR_UNSUPPORTED) bad_status++;
        for (uint32_t i = 0; f && i < f->n_nodes; i++) {
            accepted += i == 0;
            for (int k = 0; k < f->nodes[i].n_in + f->nodes[i].n_out; k++)
                inconsistent += f->nodes[i].in[k] >= (int32_t)f->n_tensors;
        }
        afb_close(f);
    }
    free(b);
    CHECK(bad_status == 0, "%d damaged files gave an unexpected status", bad_status);
    CHECK(inconsistent == 0, "%d out-of-range indices in accepted files", inconsistent);
    CHECK(accepted < 4000, "every damaged file was accepted");
}

/* ---- writer refusals ------------------------------------------------------------------- */

static void expect_write_fails(af_graph *g, uint64_t arena, const char *path, af_status want,
                               const char *needle, const char *what)
{
    af_err err;
    af_err_clear(&err);
    afb_meta meta = {.json = META_JSON};
    af_status st = afb_write(g, arena, &meta, path, &err);
    struct stat sb;
    CHECK(st == want && strstr(err.msg, needle), "%s: got %s '%s'", what, af_status_str(st),
          err.msg);
    CHECK(stat(path, &sb) != 0 || S_ISDIR(sb.st_mode), "%s: a file was left at %s", what, path);
    CHECK(count_tmp_files() == 0, "%s: temporary file left behind", what);
}

static void test_writer_refusals(void)
{
    const char *p = path_in_dir("refused.afb");
    af_graph g;
    build_graph(&g);
    g.tensors[T_Y].mem_offset = -1;
    expect_write_fails(&g, ARENA_BYTES, p, AF_ERR_INTERNAL, "'y'", "activation unplanned");
    g.tensors[T_Y].mem_offset = 128;
    expect_write_fails(&g, 300, p, AF_ERR_INTERNAL, "beyond arena_bytes", "arena too small");
    g.nodes[2].op = AF_OP_SIZE;
    expect_write_fails(&g, ARENA_BYTES, p, AF_ERR_INTERNAL, "no runtime", "op runtime=0");
    g.nodes[2].op = AF_OP_NONE;
    expect_write_fails(&g, ARENA_BYTES, p, AF_ERR_INTERNAL, "compacted", "op none");
    g.nodes[2].op = AF_OP_RESHAPE;
    int tmp = g.nodes[0].in[0];
    g.nodes[0].in[0] = T_R;
    expect_write_fails(&g, ARENA_BYTES, p, AF_ERR_INTERNAL, "conv_0", "not topological");
    g.nodes[0].in[0] = tmp;
    expect_write_fails(&g, ARENA_BYTES, path_in_dir("missing/dir/x.afb"), AF_ERR_IO, "missing",
                       "missing directory");
    char *isdir = path_in_dir("isdir");
    mkdir(isdir, 0755);
    expect_write_fails(&g, ARENA_BYTES, isdir, AF_ERR_IO, "rename", "path is a directory");
    rmdir(isdir);
    af_graph_free(&g);
}

static void test_api_misuse(const uint8_t *good, size_t size)
{
    af_err err;
    af_err_clear(&err);
    afb_file *f = NULL;
    uint8_t *b = aligned_copy(good, size + 1);
    memcpy(b + 1, good, size);
    CHECK(afb_open_memory(b + 1, size, &f, &err) == AF_ERR_USAGE && !f, "misaligned buffer");
    free(b);
    af_err_clear(&err);
    const char *p = path_in_dir("nope.afb");
    CHECK(afb_open_file(p, &f, &err) == AF_ERR_IO && strncmp(err.msg, p, strlen(p)) == 0,
          "missing file: '%s'", err.msg);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || e->d_name[1] == '.')) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/af_test_bundle_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    uint8_t *good = NULL;
    size_t size = 0;
    test_roundtrip(&good, &size);
    if (good && size) {
        test_determinism(good, size);
        test_truncation(good, size);
        test_flips(good, size);
        test_structural(good, size);
        test_random_damage(good, size);
        test_api_misuse(good, size);
    }
    test_empty_graph();
    test_writer_refusals();
    free(good);
    remove_dir(g_dir);
    return check_report("bundle");
}
