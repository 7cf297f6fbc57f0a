/* bundle/writer.c — writes a lowered, planned af_graph as a .afb bundle
 * (layout: docs/bundle-format.md).
 *
 * Steps: check the graph is bundle-ready (resolved runtime ops, planned arena, encoded
 * constants) → lay out WGHT and build PROG in memory → stream header placeholder, PROG, META
 * and WGHT into `path.tmp.<pid>` (CRCs computed on the way) → write the real header → fsync →
 * re-open the temp file with the reader (the writer never emits a file the reader refuses) →
 * rename over path. On any failure the temp file is removed and path is untouched.
 * Deterministic: every padding byte is zero and nothing depends on time or host.
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../compress/simd.h"
#include "../graph/graph.h"

#define N_SECTIONS 3u /* PROG, META, WGHT, in this order */

static_assert((int)AF_ENC_COUNT == (int)AFB_ENC_COUNT, "af_encoding and afb_encoding agree");

typedef unsigned long long ull;

/* ---- graph checks ----------------------------------------------------------------------- */

static af_status check_tensor(const af_graph *g, int i, uint64_t arena, af_err *err)
{
    const af_tensor *t = &g->tensors[i];
    const char *nm = t->name ? t->name : "";
    if (!afb_utf8_valid((const uint8_t *)nm, strlen(nm)))
        return af_err_set(err, AF_ERR_USAGE, "tensor %d: name is not valid UTF-8", i);
    if ((unsigned)t->dtype >= AF_DTYPE_COUNT)
        return af_err_set(err, AF_ERR_INTERNAL, "tensor '%s': dtype out of range", nm);
    int64_t nbytes = af_tensor_nbytes(t);
    if (t->rank < 0 || t->rank > AF_MAX_RANK || nbytes < 0)
        return af_err_set(err, AF_ERR_INTERNAL, "tensor '%s': shape unknown or too large", nm);
    if (af_tensor_is_const(t)) {
        int blob = t->encoding >= AF_ENC_INT8;
        if ((unsigned)t->encoding >= AF_ENC_COUNT ||
            (t->encoding != AF_ENC_RAW && t->dtype != AF_DTYPE_F32) ||
            (blob && (!t->blob || t->blob_bytes < AFB_BLOB_HEADER_SIZE)))
            return af_err_set(err, AF_ERR_INTERNAL, "constant '%s': bad encoding for %s", nm,
                              af_dtype_name(t->dtype));
        return AF_OK;
    }
    uint64_t off = (uint64_t)t->mem_offset, nb = (uint64_t)nbytes;
    if (t->mem_offset < 0)
        return af_err_set(err, AF_ERR_INTERNAL, "tensor '%s': activation without an arena "
                          "offset (memory plan not run?)", nm);
    if (off % af_dtype_size(t->dtype) != 0)
        return af_err_set(err, AF_ERR_INTERNAL, "tensor '%s': arena offset %llu not aligned to "
                          "its element size", nm, (ull)off);
    if (nb > arena || off > arena - nb)
        return af_err_set(err, AF_ERR_INTERNAL, "tensor '%s': arena bytes [%llu, +%llu) beyond "
                          "arena_bytes %llu", nm, (ull)off, (ull)nb, (ull)arena);
    return AF_OK;
}

static af_status check_node_refs(const af_graph *g, const af_node *n, char *def, af_err *err)
{
    const af_op_info *info = &af_op_table[n->op];
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t == -1 && k >= info->min_in) continue;
        if (t < 0 || t >= g->n_tensors || !def[t])
            return af_err_set(err, AF_ERR_INTERNAL, "node '%s' (%s): input %d (%d) out of range "
                              "or not produced before use", n->name, info->name, k, t);
    }
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        if (t < 0 || t >= g->n_tensors || def[t] || af_tensor_is_const(&g->tensors[t]))
            return af_err_set(err, AF_ERR_INTERNAL, "node '%s' (%s): output %d (%d) out of "
                              "range, a constant, or produced twice", n->name, info->name, k, t);
        def[t] = 1;
    }
    return AF_OK;
}

static af_status check_node(const af_graph *g, int i, char *def, af_err *err)
{
    const af_node *n = &g->nodes[i];
    const char *nm = n->name ? n->name : "";
    if (!afb_utf8_valid((const uint8_t *)nm, strlen(nm)))
        return af_err_set(err, AF_ERR_USAGE, "node %d: name is not valid UTF-8", i);
    if (n->op == AF_OP_NONE || (unsigned)n->op >= AF_OP_COUNT)
        return af_err_set(err, AF_ERR_INTERNAL, "node '%s': op %d (graph not compacted?)", nm,
                          (int)n->op);
    const af_op_info *info = &af_op_table[n->op];
    if (!info->runtime)
        return af_err_set(err, AF_ERR_INTERNAL, "node '%s' (%s): op has no runtime kernel "
                          "(should have been folded)", nm, info->name);
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in) ||
        n->n_out < info->min_out || (info->max_out >= 0 && n->n_out > info->max_out))
        return af_err_set(err, AF_ERR_INTERNAL, "node '%s' (%s): %d inputs, %d outputs", nm,
                          info->name, n->n_in, n->n_out);
    const char *problem = afb_params_problem(n->op, &n->p);
    if (problem) return af_err_set(err, AF_ERR_INTERNAL, "node '%s' (%s): %s", nm, info->name,
                                   problem);
    return check_node_refs(g, n, def, err);
}

static af_status check_io(const af_graph *g, const int *list, int n, const char *what,
                          const char *def, af_err *err)
{
    for (int k = 0; k < n; k++) {
        int t = list[k];
        if (t < 0 || t >= g->n_tensors || af_tensor_is_const(&g->tensors[t]))
            return af_err_set(err, AF_ERR_INTERNAL, "graph %s %d: not an arena tensor", what, k);
        if (def && !def[t])
            return af_err_set(err, AF_ERR_INTERNAL, "graph output '%s' is never produced",
                              g->tensors[t].name);
        for (int j = 0; j < k; j++)
            if (list[j] == t)
                return af_err_set(err, AF_ERR_INTERNAL, "graph %s '%s' listed twice", what,
                                  g->tensors[t].name);
    }
    return AF_OK;
}

static af_status check_graph(const af_graph *g, uint64_t arena, af_err *err)
{
    af_status st = AF_OK;
    for (int i = 0; i < g->n_tensors && !st; i++) st = check_tensor(g, i, arena, err);
    if (!st) st = check_io(g, g->inputs, g->n_inputs, "input", NULL, err);
    if (st) return st;
    char *def = calloc((size_t)g->n_tensors + 1, 1);
    if (!def) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_tensors; i++) def[i] = af_tensor_is_const(&g->tensors[i]);
    for (int k = 0; k < g->n_inputs; k++) def[g->inputs[k]] = 1;
    for (int i = 0; i < g->n_nodes && !st; i++) st = check_node(g, i, def, err);
    if (!st) st = check_io(g, g->outputs, g->n_outputs, "output", def, err);
    free(def);
    return st;
}

/* ---- PROG in memory ----------------------------------------------------------------------- */

typedef struct membuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} membuf;

/* Appends n zero bytes and returns them (NULL after an allocation failure). */
static uint8_t *mb_grow(membuf *b, size_t n)
{
    if (b->oom) return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *r = b->p + b->len;
    memset(r, 0, n);
    b->len += n;
    return r;
}

static uint32_t mb_string(membuf *s, const char *str)
{
    const char *v = str ? str : "";
    size_t off = s->len, n = strlen(v) + 1;
    uint8_t *p = mb_grow(s, n);
    if (p) memcpy(p, v, n);
    return (uint32_t)off; /* the total is checked against UINT32_MAX by the caller */
}

static uint64_t stored_bytes(const af_tensor *t)
{
    if (t->encoding >= AF_ENC_INT8) return t->blob_bytes;
    uint64_t es = t->encoding == AF_ENC_FP16 ? 2 : af_dtype_size(t->dtype);
    return (uint64_t)af_tensor_numel(t) * es;
}

static void put_tensor_rec(membuf *b, membuf *s, const af_tensor *t, uint64_t woff)
{
    afb_disk_tensor d;
    memset(&d, 0, sizeof d);
    d.name = mb_string(s, t->name);
    d.dtype = (uint8_t)t->dtype;
    d.rank = (uint8_t)t->rank;
    for (int k = 0; k < t->rank; k++) d.dims[k] = t->dims[k];
    int is_const = af_tensor_is_const(t);
    d.storage = is_const ? AFB_STORAGE_CONST : AFB_STORAGE_ARENA;
    d.encoding = is_const ? (uint8_t)t->encoding : AFB_ENC_RAW;
    d.offset = is_const ? woff : (uint64_t)t->mem_offset;
    d.data_bytes = is_const ? stored_bytes(t) : (uint64_t)af_tensor_nbytes(t);
    d.dyn_axes = is_const ? 0 : t->dyn; /* data-dependent extents: 0 for static tensors */
    uint8_t *p = mb_grow(b, AFB_TENSOR_REC_SIZE);
    if (p) afb_put_tensor(p, &d);
}

static void put_node_rec(membuf *b, membuf *s, const af_node *n)
{
    afb_disk_node d = {
        .op = (uint32_t)n->op,
        .name = mb_string(s, n->name),
        .n_in = (uint32_t)n->n_in,
        .n_out = (uint32_t)n->n_out,
        .param_size = af_op_table[n->op].param_size,
        .reserved = 0,
    };
    uint8_t *p = mb_grow(b, afb_node_rec_size(d.param_size, d.n_in, d.n_out));
    if (!p) return;
    afb_put_node(p, &d);
    memcpy(p + AFB_NODE_HEAD_SIZE, &n->p, d.param_size);
    uint8_t *ip = p + AFB_NODE_HEAD_SIZE + afb_align_up(d.param_size, 8);
    for (int k = 0; k < n->n_in; k++) afb_wr32(ip + 4 * k, (uint32_t)n->in[k]);
    for (int k = 0; k < n->n_out; k++) afb_wr32(ip + 4 * (n->n_in + k), (uint32_t)n->out[k]);
}

static void put_index_list(membuf *b, const int *list, int n)
{
    uint8_t *p = mb_grow(b, 4 * (size_t)n);
    for (int k = 0; p && k < n; k++) afb_wr32(p + 4 * k, (uint32_t)list[k]);
}

/* PROG = header, tensor records, node records, inputs, outputs, string table. */
static af_status build_prog(const af_graph *g, uint64_t arena, const uint64_t *woff, membuf *out,
                            af_err *err)
{
    membuf nodes = {0}, strs = {0};
    uint8_t *hdr = mb_grow(out, AFB_PROG_HEADER_SIZE);
    for (int i = 0; i < g->n_tensors; i++) put_tensor_rec(out, &strs, &g->tensors[i], woff[i]);
    for (int i = 0; i < g->n_nodes; i++) put_node_rec(&nodes, &strs, &g->nodes[i]);
    af_status st = AF_OK;
    if (nodes.len > UINT32_MAX || strs.len > UINT32_MAX)
        st = af_err_set(err, AF_ERR_UNSUPPORTED, "graph too large for a bundle (node records "
                        "or names exceed 4 GiB)");
    afb_disk_prog h = {
        .n_tensors = (uint32_t)g->n_tensors, .n_nodes = (uint32_t)g->n_nodes,
        .n_inputs = (uint32_t)g->n_inputs, .n_outputs = (uint32_t)g->n_outputs,
        .arena_bytes = arena, .nodes_bytes = (uint32_t)nodes.len,
        .strings_bytes = (uint32_t)strs.len,
    };
    if (hdr) afb_put_prog(out->p, &h); /* out->p: hdr may have moved with realloc */
    uint8_t *p = mb_grow(out, nodes.len);
    if (p && nodes.len) memcpy(p, nodes.p, nodes.len);
    put_index_list(out, g->inputs, g->n_inputs);
    put_index_list(out, g->outputs, g->n_outputs);
    p = mb_grow(out, strs.len);
    if (p && strs.len) memcpy(p, strs.p, strs.len);
    if (!st && (out->oom || nodes.oom || strs.oom))
        st = af_err_set(err, AF_ERR_NOMEM, "out of memory building the bundle program");
    free(nodes.p);
    free(strs.p);
    return st;
}

/* WGHT offsets: constants in tensor order, each blob starting AFB_ALIGN-aligned. */
static uint64_t layout_weights(const af_graph *g, uint64_t *woff)
{
    uint64_t pos = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        woff[i] = 0;
        if (!af_tensor_is_const(&g->tensors[i])) continue;
        woff[i] = afb_align_up(pos, AFB_ALIGN);
        pos = woff[i] + stored_bytes(&g->tensors[i]);
    }
    return pos;
}

/* ---- file output -------------------------------------------------------------------------- */

typedef struct out_file {
    FILE *f;
    uint64_t pos;
    uint32_t crc; /* of the current section */
    int failed;
} out_file;

static void out_write(out_file *o, const void *p, size_t n)
{
    if (o->failed || n == 0) return;
    if (fwrite(p, 1, n, o->f) != n) o->failed = 1;
    o->crc = afb_crc32(o->crc, p, n);
    o->pos += n;
}

static void out_zeros(out_file *o, uint64_t n)
{
    static const uint8_t zero[4096];
    while (n > 0) {
        size_t k = n > sizeof zero ? sizeof zero : (size_t)n;
        out_write(o, zero, k);
        n -= k;
    }
}

static void out_fp16(out_file *o, const float *x, uint64_t n)
{
    uint16_t h[4096];
    uint8_t buf[8192];
    while (n > 0) {
        size_t k = n > 4096 ? 4096 : (size_t)n;
        af_f32_to_f16_n(x, h, k); /* vectorised, byte-identical to af_f32_to_f16 */
        for (size_t j = 0; j < k; j++) {
            buf[2 * j] = (uint8_t)h[j];
            buf[2 * j + 1] = (uint8_t)(h[j] >> 8);
        }
        out_write(o, buf, 2 * k);
        x += k;
        n -= k;
    }
}

static void out_weights(out_file *o, const af_graph *g, const uint64_t *woff, uint64_t base)
{
    for (int i = 0; i < g->n_tensors; i++) {
        const af_tensor *t = &g->tensors[i];
        if (!af_tensor_is_const(t)) continue;
        out_zeros(o, base + woff[i] - o->pos);
        if (t->encoding == AF_ENC_FP16)
            out_fp16(o, t->data, (uint64_t)af_tensor_numel(t));
        else if (t->encoding >= AF_ENC_INT8)
            out_write(o, t->blob, (size_t)t->blob_bytes);
        else
            out_write(o, t->data, (size_t)stored_bytes(t));
    }
}

typedef struct plan {
    afb_disk_dirent dir[N_SECTIONS];
    uint64_t file_size;
} plan;

static void set_dirent(afb_disk_dirent *d, const char *kind, uint64_t off, uint64_t size)
{
    memset(d, 0, sizeof *d);
    memcpy(d->kind, kind, 4);
    d->offset = off;
    d->size = size;
}

static void plan_sections(plan *pl, uint64_t prog, uint64_t meta, uint64_t wght)
{
    uint64_t off = afb_align_up(AFB_HEADER_SIZE + N_SECTIONS * AFB_DIRENT_SIZE, AFB_ALIGN);
    set_dirent(&pl->dir[0], AFB_KIND_PROG, off, prog);
    off = afb_align_up(off + prog, AFB_ALIGN);
    set_dirent(&pl->dir[1], AFB_KIND_META, off, meta);
    off = afb_align_up(off + meta, AFB_ALIGN);
    set_dirent(&pl->dir[2], AFB_KIND_WGHT, off, wght);
    pl->file_size = off + wght;
}

/* Header + directory with the section CRCs, written last at offset 0. */
static void out_header(out_file *o, plan *pl)
{
    uint8_t buf[AFB_HEADER_SIZE + N_SECTIONS * AFB_DIRENT_SIZE];
    afb_disk_header h;
    memcpy(h.magic, AFB_MAGIC, AFB_MAGIC_SIZE);
    h.version = AFB_VERSION;
    h.flags = 0;
    h.file_size = pl->file_size;
    h.n_sections = N_SECTIONS;
    h.header_crc = 0;
    afb_put_header(buf, &h);
    for (unsigned i = 0; i < N_SECTIONS; i++)
        afb_put_dirent(buf + AFB_HEADER_SIZE + i * AFB_DIRENT_SIZE, &pl->dir[i]);
    afb_wr32(buf + AFB_HEADER_CRC_OFFSET, afb_header_crc(buf, N_SECTIONS));
    if (fseek(o->f, 0, SEEK_SET) != 0) o->failed = 1;
    o->pos = 0;
    out_write(o, buf, sizeof buf);
}

typedef struct payload {
    const af_graph *g;
    const membuf *prog;
    const char *meta;
    size_t meta_len;
    const uint64_t *woff;
} payload;

/* Streams every section (each CRC'd as it goes), then the header. */
static void out_all(out_file *o, const payload *pl_in, plan *pl)
{
    out_zeros(o, pl->dir[0].offset);
    o->crc = 0;
    out_write(o, pl_in->prog->p, pl_in->prog->len);
    pl->dir[0].crc32 = o->crc;
    out_zeros(o, pl->dir[1].offset - o->pos);
    o->crc = 0;
    out_write(o, pl_in->meta, pl_in->meta_len);
    pl->dir[1].crc32 = o->crc;
    out_zeros(o, pl->dir[2].offset - o->pos);
    o->crc = 0;
    out_weights(o, pl_in->g, pl_in->woff, pl->dir[2].offset);
    pl->dir[2].crc32 = o->crc;
    out_header(o, pl);
}

static void fsync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the rename is already visible */
        close(fd);
    }
    free(dir);
}

static af_status write_temp(const char *tmp, const payload *pl_in, plan *pl, af_err *err)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return af_err_set(err, AF_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    out_file o = {.f = fdopen(fd, "wb")};
    if (!o.f) {
        close(fd);
        return af_err_set(err, AF_ERR_IO, "%s: cannot open: %s", tmp, strerror(errno));
    }
    out_all(&o, pl_in, pl);
    if (fflush(o.f) != 0 || fsync(fd) != 0) o.failed = 1;
    int saved = errno;
    if (fclose(o.f) != 0) o.failed = 1;
    if (o.failed)
        return af_err_set(err, AF_ERR_IO, "%s: write failed: %s", tmp,
                          strerror(saved ? saved : errno));
    return AF_OK;
}

/* Re-reads the temp file with the full verifier before it may replace path. */
static af_status self_check(const char *tmp, af_err *err)
{
    af_err local;
    af_err_clear(&local);
    afb_file *f = NULL;
    af_status st = afb_open_file(tmp, &f, &local);
    afb_close(f);
    if (st == AF_ERR_IO || st == AF_ERR_NOMEM) return af_err_set(err, st, "%s", local.msg);
    if (st) return af_err_set(err, AF_ERR_INTERNAL, "writer produced a bundle its reader "
                              "refuses: %s", local.msg);
    return AF_OK;
}

int afb_temp_path(const char *path, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s.tmp.%ld", path, (long)getpid());
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static af_status write_atomic(const char *path, const payload *pl_in, plan *pl, af_err *err)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    (void)afb_temp_path(path, tmp, n); /* n leaves room for ".tmp." and any pid */
    af_status st = write_temp(tmp, pl_in, pl, err);
    if (!st) st = self_check(tmp, err);
    if (!st && rename(tmp, path) != 0)
        st = af_err_set(err, AF_ERR_IO, "%s: cannot rename into place: %s", path,
                        strerror(errno));
    if (st) unlink(tmp); /* harmless if it was never created */
    else fsync_parent_dir(path);
    free(tmp);
    return st;
}

af_status afb_write(const struct af_graph *g, uint64_t arena_bytes, const afb_meta *meta,
                    const char *path, af_err *err)
{
    if (!g || !path || !*path) return af_err_set(err, AF_ERR_USAGE, "afb_write: no graph or path");
    const char *json = meta && meta->json ? meta->json : "{}";
    size_t json_len = strlen(json);
    if (!afb_utf8_valid((const uint8_t *)json, json_len))
        return af_err_set(err, AF_ERR_USAGE, "%s: metadata is not valid UTF-8", path);
    af_status st = check_graph(g, arena_bytes, err);
    if (st) return st;
    uint64_t *woff = calloc((size_t)g->n_tensors + 1, sizeof *woff);
    membuf prog = {0};
    if (!woff) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    uint64_t wsize = layout_weights(g, woff);
    st = build_prog(g, arena_bytes, woff, &prog, err);
    if (!st) {
        plan pl;
        plan_sections(&pl, prog.len, json_len, wsize);
        payload pay = {.g = g, .prog = &prog, .meta = json, .meta_len = json_len, .woff = woff};
        st = write_atomic(path, &pay, &pl, err);
    }
    free(prog.p);
    free(woff);
    return st;
}
