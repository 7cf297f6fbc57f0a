/* bundle/reader.c — opens and verifies a .afb bundle (layout: docs/bundle-format.md).
 *
 * Nothing in the file is trusted: the header, the directory, every section's CRC, every
 * count, offset, enum and index are checked (with overflow-checked arithmetic) before the
 * afb_file is handed out. A bundle that fails any check is refused with AF_ERR_FORMAT (or
 * AF_ERR_UNSUPPORTED for a newer format version) and a one-line message; it is never used.
 * Constant data and names point into the mapping (zero copy); params and tensor indices are
 * decoded into owned, aligned storage.
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Every refusal of a damaged or foreign file reads "corrupt bundle: <what is wrong>" (the
 * format string is always a literal, so the prefix concatenates). */
#define BAD(...) af_err_set(err, AF_ERR_FORMAT, "corrupt bundle: " __VA_ARGS__)

typedef unsigned long long ull;

/* ---- shared helpers ------------------------------------------------------------------- */

uint32_t afb_crc32(uint32_t crc, const void *data, uint64_t len)
{
    return afb_crc32_fast(crc, data, len); /* zlib's CRC-32, folded with PCLMUL where it can */
}

uint32_t afb_header_crc(const uint8_t *p, uint32_t n_sections)
{
    uint32_t c = afb_crc32(0, p, AFB_HEADER_CRC_OFFSET);
    return afb_crc32(c, p + AFB_HEADER_SIZE, (uint64_t)n_sections * AFB_DIRENT_SIZE);
}

int afb_utf8_valid(const uint8_t *p, uint64_t n)
{
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        unsigned len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (n - i < len) return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static int in_range(int32_t v, int32_t lo, int32_t hi) { return v >= lo && v <= hi; }

static const char *conv_problem(const af_conv_params *c)
{
    if (!in_range(c->nsp, 1, AF_MAX_SPATIAL)) return "conv spatial rank out of range";
    if (c->group < 1) return "conv group < 1";
    if (!in_range(c->auto_pad, 0, AF_AUTO_PAD_VALID)) return "conv auto_pad out of range";
    if (!in_range(c->act.fn, 0, AF_UNARY_COUNT - 1)) return "fused activation out of range";
    return NULL;
}

static const char *transpose_problem(const af_transpose_params *t)
{
    if (!in_range(t->n_perm, 0, AF_MAX_RANK)) return "transpose perm length out of range";
    for (int i = 0; i < t->n_perm; i++)
        if (!in_range(t->perm[i], 0, t->n_perm - 1)) return "transpose perm entry out of range";
    return NULL;
}

const char *afb_params_problem(af_op op, const af_params *p)
{
    switch (op) {
    case AF_OP_UNARY:
        return in_range(p->unary.fn, 0, AF_UNARY_COUNT - 1) ? NULL : "unary function out of range";
    case AF_OP_GEGLU: return p->unary.fn == AF_UNARY_GELU ? NULL : "geglu gate is not gelu";
    case AF_OP_BINARY:
        return in_range(p->binary.fn, 0, AF_BINARY_COUNT - 1) ? NULL
                                                              : "binary function out of range";
    case AF_OP_CONV:
    case AF_OP_CONV_TRANSPOSE: return conv_problem(&p->conv);
    case AF_OP_GEMM:
        return in_range(p->gemm.act.fn, 0, AF_UNARY_COUNT - 1) ? NULL
                                                               : "fused activation out of range";
    case AF_OP_POOL:
        if (!in_range(p->pool.kind, 0, AF_POOL_AVG)) return "pool kind out of range";
        return in_range(p->pool.nsp, 1, AF_MAX_SPATIAL) ? NULL : "pool spatial rank out of range";
    case AF_OP_GLOBAL_POOL:
        return in_range(p->global_pool.kind, 0, AF_POOL_AVG) ? NULL : "pool kind out of range";
    case AF_OP_RESHAPE:
        return in_range(p->reshape.kind, 0, AF_RESHAPE_UNSQUEEZE) ? NULL
                                                                  : "reshape kind out of range";
    case AF_OP_TRANSPOSE: return transpose_problem(&p->transpose);
    case AF_OP_REDUCE:
        return in_range(p->reduce.fn, 0, AF_REDUCE_COUNT - 1) ? NULL
                                                              : "reduce function out of range";
    case AF_OP_PAD: return in_range(p->pad.mode, 0, AF_PAD_WRAP) ? NULL : "pad mode out of range";
    case AF_OP_RESIZE:
        if (!in_range(p->resize.mode, 0, AF_RESIZE_CUBIC)) return "resize mode out of range";
        if (!in_range(p->resize.coord, 0, AF_COORD_HALF_PIXEL_SYMMETRIC))
            return "resize coordinate mode out of range";
        return in_range(p->resize.nearest, 0, AF_NEAREST_CEIL) ? NULL
                                                               : "resize rounding out of range";
    case AF_OP_CAST:
        return in_range(p->cast.to, 0, AF_DTYPE_COUNT - 1) ? NULL : "cast dtype out of range";
    default: return NULL;
    }
}

static int all_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* ---- header and directory -------------------------------------------------------------- */

static af_status check_min_size(uint64_t size, af_err *err)
{
    if (size >= AFB_HEADER_SIZE) return AF_OK;
    return BAD("truncated: %llu bytes, smaller than the %u-byte header", (ull)size,
               AFB_HEADER_SIZE);
}

/* Magic, then version (before the CRC: a newer version may lay its header out differently),
 * then the directory's extent and the header CRC, then flags and the recorded file size. */
static af_status check_header(const uint8_t *base, uint64_t size, afb_disk_header *h,
                              af_err *err)
{
    afb_get_header(base, h);
    if (memcmp(h->magic, AFB_MAGIC, AFB_MAGIC_SIZE) != 0)
        return BAD("not an aneforge bundle (bad magic)");
    if (h->version > AFB_VERSION)
        return af_err_set(err, AF_ERR_UNSUPPORTED,
                          "bundle format version %u, this build reads up to %u", h->version,
                          AFB_VERSION);
    if (h->version == 0) return BAD("bundle format version 0 is invalid");
    if (h->n_sections == 0 || h->n_sections > AFB_MAX_SECTIONS)
        return BAD("header: %u sections (1..%u allowed)", h->n_sections, AFB_MAX_SECTIONS);
    uint64_t dir_end = AFB_HEADER_SIZE + (uint64_t)h->n_sections * AFB_DIRENT_SIZE;
    if (dir_end > size)
        return BAD("truncated: %llu bytes, the section directory needs %llu", (ull)size,
                   (ull)dir_end);
    if (afb_header_crc(base, h->n_sections) != h->header_crc)
        return BAD("header: CRC mismatch (file corrupt)");
    if (h->flags != 0) return BAD("header: unknown flags 0x%x", h->flags);
    if (h->file_size > size)
        return BAD("truncated: %llu bytes, the header says %llu", (ull)size, (ull)h->file_size);
    if (h->file_size < size)
        return BAD("%llu trailing bytes after the end of the bundle", (ull)(size - h->file_size));
    return AF_OK;
}

static af_status read_dirent(const uint8_t *p, uint64_t dir_end, uint64_t size,
                             afb_section_info *s, af_err *err)
{
    afb_disk_dirent d;
    afb_get_dirent(p, &d);
    for (int i = 0; i < 4; i++)
        if (d.kind[i] < 0x20 || d.kind[i] > 0x7e)
            return BAD("section directory: kind is not printable ASCII");
    memcpy(s->kind, d.kind, 4);
    s->kind[4] = '\0';
    s->offset = d.offset;
    s->size = d.size;
    s->crc32 = d.crc32;
    if (d.flags != 0 || d.reserved != 0)
        return BAD("section %s: nonzero flags or reserved field", s->kind);
    if (d.offset % AFB_ALIGN != 0)
        return BAD("section %s: offset %llu not %u-byte aligned", s->kind, (ull)d.offset,
                   AFB_ALIGN);
    if (d.offset < dir_end || d.offset > size || d.size > size - d.offset)
        return BAD("section %s: bytes [%llu, +%llu) outside the file (%llu bytes)", s->kind,
                   (ull)d.offset, (ull)d.size, (ull)size);
    return AF_OK;
}

/* Sections must not overlap, and every byte between them (and after the last) is zero. */
static af_status check_layout(const uint8_t *base, uint64_t size, uint64_t dir_end,
                              const afb_file *f, af_err *err)
{
    int order[AFB_MAX_SECTIONS];
    for (int i = 0; i < f->n_sections; i++) {
        int j = i;
        while (j > 0 && f->sections[order[j - 1]].offset > f->sections[i].offset) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    uint64_t pos = dir_end;
    for (int k = 0; k < f->n_sections; k++) {
        const afb_section_info *s = &f->sections[order[k]];
        if (s->offset < pos) return BAD("section %s overlaps the previous one", s->kind);
        if (!all_zero(base + pos, s->offset - pos))
            return BAD("nonzero padding before section %s (file corrupt)", s->kind);
        pos = s->offset + s->size;
    }
    if (!all_zero(base + pos, size - pos)) return BAD("nonzero padding at the end (file corrupt)");
    return AF_OK;
}

static af_status find_section(const afb_file *f, const char *kind, const afb_section_info **out,
                              af_err *err)
{
    *out = NULL;
    for (int i = 0; i < f->n_sections; i++) {
        if (memcmp(f->sections[i].kind, kind, 4) != 0) continue;
        if (*out) return BAD("section %s appears twice", kind);
        *out = &f->sections[i];
    }
    return *out ? AF_OK : BAD("section %s missing", kind);
}

static af_status read_directory(const uint8_t *base, uint64_t size, const afb_disk_header *h,
                                afb_file *f, af_err *err)
{
    uint64_t dir_end = AFB_HEADER_SIZE + (uint64_t)h->n_sections * AFB_DIRENT_SIZE;
    f->n_sections = (int)h->n_sections;
    for (int i = 0; i < f->n_sections; i++) {
        af_status st = read_dirent(base + AFB_HEADER_SIZE + (size_t)i * AFB_DIRENT_SIZE,
                                   dir_end, size, &f->sections[i], err);
        if (st) return st;
    }
    af_status st = check_layout(base, size, dir_end, f, err);
    for (int i = 0; i < f->n_sections && st == AF_OK; i++) {
        const afb_section_info *s = &f->sections[i];
        if (afb_crc32(0, base + s->offset, s->size) != s->crc32)
            st = BAD("section %s: CRC mismatch (file corrupt)", s->kind);
    }
    return st;
}

/* ---- PROG ------------------------------------------------------------------------------ */

typedef struct prog_view {
    afb_disk_prog h;
    const uint8_t *tensors, *nodes, *io, *strings;
    const uint8_t *wght;
    uint64_t wght_size;
} prog_view;

static const char *str_at(const prog_view *v, uint32_t off)
{
    return off < v->h.strings_bytes ? (const char *)v->strings + off : NULL;
}

static af_status split_prog(const uint8_t *p, uint64_t size, prog_view *v, af_err *err)
{
    if (size < AFB_PROG_HEADER_SIZE)
        return BAD("section PROG: %llu bytes, smaller than its %u-byte header", (ull)size,
                   AFB_PROG_HEADER_SIZE);
    afb_get_prog(p, &v->h);
    const afb_disk_prog *h = &v->h;
    if (h->n_tensors > INT32_MAX) return BAD("section PROG: %u tensors", h->n_tensors);
    /* every term is < 2^40, so the sum cannot overflow */
    uint64_t need = AFB_PROG_HEADER_SIZE + (uint64_t)h->n_tensors * AFB_TENSOR_REC_SIZE +
                    h->nodes_bytes + 4 * ((uint64_t)h->n_inputs + h->n_outputs) +
                    h->strings_bytes;
    if (need != size)
        return BAD("section PROG: counts (%u tensors, %u node bytes, %u inputs, %u outputs, %u "
                   "string bytes) need %llu bytes, the section has %llu",
                   h->n_tensors, h->nodes_bytes, h->n_inputs, h->n_outputs, h->strings_bytes,
                   (ull)need, (ull)size);
    if (h->n_nodes > h->nodes_bytes / AFB_NODE_HEAD_SIZE)
        return BAD("section PROG: %u nodes cannot fit in %u node bytes", h->n_nodes,
                   h->nodes_bytes);
    v->tensors = p + AFB_PROG_HEADER_SIZE;
    v->nodes = v->tensors + (size_t)h->n_tensors * AFB_TENSOR_REC_SIZE;
    v->io = v->nodes + h->nodes_bytes;
    v->strings = v->io + 4 * ((size_t)h->n_inputs + h->n_outputs);
    if (h->strings_bytes > 0 && v->strings[h->strings_bytes - 1] != '\0')
        return BAD("section PROG: string table not NUL-terminated");
    if (!afb_utf8_valid(v->strings, h->strings_bytes))
        return BAD("section PROG: string table is not valid UTF-8");
    return AF_OK;
}

static af_status check_dims(uint32_t i, const char *name, const afb_disk_tensor *d,
                            uint64_t *numel, af_err *err)
{
    if (d->rank > AF_MAX_RANK) return BAD("tensor %u '%s': rank %u > %d", i, name, d->rank,
                                          AF_MAX_RANK);
    uint64_t n = 1;
    for (int k = 0; k < AF_MAX_RANK; k++) {
        int64_t dim = d->dims[k];
        if (k >= d->rank) {
            if (dim != 0) return BAD("tensor %u '%s': unused dim %d is not 0", i, name, k);
            continue;
        }
        if (dim < 0) return BAD("tensor %u '%s': dim %d is negative", i, name, k);
        if (dim != 0 && n > (uint64_t)INT64_MAX / (uint64_t)dim)
            return BAD("tensor %u '%s': element count overflows", i, name);
        n *= (uint64_t)dim;
    }
    *numel = n;
    return AF_OK;
}

static af_status check_arena_tensor(uint32_t i, const char *name, const afb_disk_tensor *d,
                                    uint64_t bytes, uint64_t arena, af_err *err)
{
    uint64_t es = af_dtype_size((af_dtype)d->dtype);
    if (d->encoding != AFB_ENC_RAW)
        return BAD("tensor %u '%s': arena tensor with an encoding", i, name);
    if (d->offset % es != 0)
        return BAD("tensor %u '%s': arena offset %llu not aligned to its element size", i, name,
                   (ull)d->offset);
    if (bytes > arena || d->offset > arena - bytes)
        return BAD("tensor %u '%s': arena bytes [%llu, +%llu) beyond arena_bytes %llu", i,
                   name, (ull)d->offset, (ull)bytes, (ull)arena);
    return AF_OK;
}

static af_status check_const_tensor(uint32_t i, const char *name, const afb_disk_tensor *d,
                                    uint64_t wsize, af_err *err)
{
    if (d->offset % AFB_ALIGN != 0)
        return BAD("tensor %u '%s': weight offset %llu not %u-byte aligned", i, name,
                   (ull)d->offset, AFB_ALIGN);
    if (d->offset > wsize || d->data_bytes > wsize - d->offset)
        return BAD("tensor %u '%s': weight bytes [%llu, +%llu) outside section WGHT (%llu "
                   "bytes)", i, name, (ull)d->offset, (ull)d->data_bytes, (ull)wsize);
    return AF_OK;
}

static af_status check_enums(uint32_t i, const char *name, const afb_disk_tensor *d,
                             af_err *err)
{
    if (d->dtype >= AF_DTYPE_COUNT) return BAD("tensor %u '%s': dtype %u out of range", i, name,
                                               d->dtype);
    if (d->storage > AFB_STORAGE_CONST)
        return BAD("tensor %u '%s': storage %u out of range", i, name, d->storage);
    if (d->encoding >= AFB_ENC_COUNT)
        return BAD("tensor %u '%s': encoding %u out of range", i, name, d->encoding);
    static const char *const enc_names[AFB_ENC_COUNT] = {"raw", "fp16", "int8", "int4",
                                                         "sparse", "blockwise", "palette"};
    if (d->encoding != AFB_ENC_RAW && d->dtype != AF_DTYPE_F32)
        return BAD("tensor %u '%s': %s encoding of a %s tensor", i, name, enc_names[d->encoding],
                   af_dtype_name((af_dtype)d->dtype));
    if (d->dyn_axes >> (d->rank < AF_MAX_RANK ? d->rank : AF_MAX_RANK) ||
        (d->dyn_axes && d->storage != AFB_STORAGE_ARENA))
        return BAD("tensor %u '%s': data-dependent axes 0x%llx do not fit a rank-%u %s tensor",
                   i, name, (unsigned long long)d->dyn_axes, d->rank,
                   d->storage == AFB_STORAGE_ARENA ? "activation" : "constant");
    return AF_OK;
}

static af_status parse_tensor(const prog_view *v, uint32_t i, afb_tensor *t, af_err *err)
{
    afb_disk_tensor d;
    afb_get_tensor(v->tensors + (size_t)i * AFB_TENSOR_REC_SIZE, &d);
    const char *name = str_at(v, d.name);
    if (!name) return BAD("tensor %u: name offset %u outside the string table (%u bytes)", i,
                          d.name, v->h.strings_bytes);
    uint64_t numel = 0;
    af_status st = check_enums(i, name, &d, err);
    if (!st) st = check_dims(i, name, &d, &numel, err);
    if (st) return st;
    uint64_t es = d.encoding == AFB_ENC_FP16 ? 2 : af_dtype_size((af_dtype)d.dtype);
    int blob = d.encoding >= AFB_ENC_INT8; /* compressed: only the extent is checked here */
    if (blob && d.data_bytes < AFB_BLOB_HEADER_SIZE)
        return BAD("tensor %u '%s': compressed blob of %llu bytes is shorter than its header",
                   i, name, (ull)d.data_bytes);
    if (!blob && (numel > UINT64_MAX / es || numel * es != d.data_bytes))
        return BAD("tensor %u '%s': data_bytes %llu, shape and encoding need %llu", i, name,
                   (ull)d.data_bytes, numel > UINT64_MAX / es ? 0ull : (ull)(numel * es));
    st = d.storage == AFB_STORAGE_ARENA
             ? check_arena_tensor(i, name, &d, d.data_bytes, v->h.arena_bytes, err)
             : check_const_tensor(i, name, &d, v->wght_size, err);
    if (st) return st;
    t->name = name;
    t->dtype = (af_dtype)d.dtype;
    t->rank = d.rank;
    memcpy(t->dims, d.dims, sizeof t->dims);
    t->storage = (afb_storage)d.storage;
    t->encoding = (afb_encoding)d.encoding;
    t->data_bytes = d.data_bytes;
    t->dyn = (uint8_t)d.dyn_axes;
    t->arena_offset = d.storage == AFB_STORAGE_ARENA ? d.offset : 0;
    t->data = d.storage == AFB_STORAGE_CONST ? v->wght + d.offset : NULL;
    return AF_OK;
}

/* The size an op's params had before fields were appended (older bundles store that many
 * bytes; the rest reads as zero), or 0. attention: `heads` appended to 8 bytes. */
static uint32_t legacy_param_size(uint32_t op)
{
    return op == AF_OP_ATTENTION ? 8 : 0;
}

static af_status check_node_head(uint32_t i, const char *name, const afb_disk_node *d,
                                 af_err *err)
{
    if (d->op == AF_OP_NONE || d->op >= AF_OP_COUNT)
        return BAD("node %u '%s': op %u out of range", i, name, d->op);
    const af_op_info *info = &af_op_table[d->op];
    if (!info->runtime) return BAD("node %u '%s': op %s cannot appear in a bundle", i, name,
                                   info->name);
    if (d->reserved != 0) return BAD("node %u '%s' (%s): nonzero reserved field", i, name,
                                     info->name);
    if (d->param_size != info->param_size && d->param_size != legacy_param_size(d->op))
        return BAD("node %u '%s' (%s): param_size %u, the op's params are %u bytes", i, name,
                   info->name, d->param_size, info->param_size);
    if (d->n_in < (uint32_t)info->min_in || (info->max_in >= 0 && d->n_in > (uint32_t)info->max_in) ||
        d->n_out < (uint32_t)info->min_out ||
        (info->max_out >= 0 && d->n_out > (uint32_t)info->max_out))
        return BAD("node %u '%s' (%s): %u inputs and %u outputs, outside the op's arity", i,
                   name, info->name, d->n_in, d->n_out);
    return AF_OK;
}

/* Decodes one node record at rec (avail bytes left in the node area) into n, its indices
 * into idx. Returns the record's size in *rec_size. */
static af_status parse_node(const prog_view *v, uint32_t i, const uint8_t *rec, uint64_t avail,
                            afb_node *n, int32_t *idx, uint64_t *rec_size, af_err *err)
{
    afb_disk_node d;
    if (avail < AFB_NODE_HEAD_SIZE) return BAD("node %u: record truncated", i);
    afb_get_node(rec, &d);
    const char *name = str_at(v, d.name);
    if (!name) return BAD("node %u: name offset %u outside the string table (%u bytes)", i,
                          d.name, v->h.strings_bytes);
    af_status st = check_node_head(i, name, &d, err);
    if (st) return st;
    const char *opn = af_op_name((af_op)d.op);
    uint64_t size = afb_node_rec_size(d.param_size, d.n_in, d.n_out);
    if (size > avail) return BAD("node %u '%s' (%s): record truncated", i, name, opn);
    const uint8_t *pp = rec + AFB_NODE_HEAD_SIZE;
    uint64_t pbytes = afb_align_up(d.param_size, 8);
    const uint8_t *ip = pp + pbytes;
    uint64_t nidx = (uint64_t)d.n_in + d.n_out;
    if (!all_zero(pp + d.param_size, pbytes - d.param_size) ||
        !all_zero(ip + 4 * nidx, afb_align_up(4 * nidx, 8) - 4 * nidx))
        return BAD("node %u '%s' (%s): nonzero padding", i, name, opn);
    memset(&n->p, 0, sizeof n->p);
    memcpy(&n->p, pp, d.param_size);
    const char *problem = afb_params_problem((af_op)d.op, &n->p);
    if (problem) return BAD("node %u '%s' (%s): %s", i, name, opn, problem);
    for (uint64_t k = 0; k < nidx; k++) idx[k] = (int32_t)afb_rd32(ip + 4 * k);
    n->op = (af_op)d.op;
    n->name = name;
    n->n_in = (int)d.n_in;
    n->n_out = (int)d.n_out;
    n->in = idx;
    n->out = idx + d.n_in;
    *rec_size = size;
    return AF_OK;
}

/* Every node's indices and the graph inputs/outputs go into one owned array: the node area
 * spends 4 bytes per index, so nodes_bytes/4 bounds the node part. */
static af_status parse_nodes_io(const prog_view *v, afb_file *f, af_err *err)
{
    const afb_disk_prog *h = &v->h;
    size_t cap = h->nodes_bytes / 4 + (size_t)h->n_inputs + h->n_outputs + 1;
    f->index_storage = malloc(cap * sizeof(int32_t));
    f->nodes = calloc((size_t)h->n_nodes + 1, sizeof(afb_node));
    if (!f->index_storage || !f->nodes) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    int32_t *idx = f->index_storage;
    uint64_t pos = 0;
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        uint64_t size = 0;
        af_status st = parse_node(v, i, v->nodes + pos, h->nodes_bytes - pos, &f->nodes[i],
                                  idx, &size, err);
        if (st) return st;
        idx += f->nodes[i].n_in + f->nodes[i].n_out;
        pos += size;
    }
    if (pos != h->nodes_bytes)
        return BAD("section PROG: %llu unused bytes after the last node", (ull)(h->nodes_bytes - pos));
    f->n_nodes = h->n_nodes;
    for (uint64_t k = 0; k < (uint64_t)h->n_inputs + h->n_outputs; k++)
        idx[k] = (int32_t)afb_rd32(v->io + 4 * k);
    f->inputs = idx;
    f->n_inputs = h->n_inputs;
    f->outputs = idx + h->n_inputs;
    f->n_outputs = h->n_outputs;
    return AF_OK;
}

/* ---- graph structure -------------------------------------------------------------------- */

enum { DEF_PRODUCED = 1, DEF_OUTPUT = 2 };

static af_status check_io_list(const afb_file *f, const int32_t *list, uint32_t n,
                               int is_output, uint8_t *def, af_err *err)
{
    const char *what = is_output ? "output" : "input";
    for (uint32_t k = 0; k < n; k++) {
        int32_t t = list[k];
        if (t < 0 || (uint32_t)t >= f->n_tensors)
            return BAD("graph %s %u: tensor index %d out of range (%u tensors)", what, k, t,
                       f->n_tensors);
        const afb_tensor *ts = &f->tensors[t];
        if (ts->storage != AFB_STORAGE_ARENA)
            return BAD("graph %s '%s' is a constant, not an arena tensor", what, ts->name);
        uint8_t flag = is_output ? DEF_OUTPUT : DEF_PRODUCED;
        if (is_output && !(def[t] & DEF_PRODUCED))
            return BAD("graph output '%s' is never produced", ts->name);
        if (def[t] & flag) return BAD("graph %s '%s' listed twice", what, ts->name);
        def[t] |= flag;
    }
    return AF_OK;
}

static af_status check_node_flow(const afb_file *f, uint32_t i, uint8_t *def, af_err *err)
{
    const afb_node *n = &f->nodes[i];
    const af_op_info *info = &af_op_table[n->op];
    for (int k = 0; k < n->n_in; k++) {
        int32_t t = n->in[k];
        if (t == -1 && k >= info->min_in) continue;
        if (t < 0 || (uint32_t)t >= f->n_tensors)
            return BAD("node %u '%s' (%s): input %d is tensor %d, out of range (%u tensors)", i,
                       n->name, info->name, k, t, f->n_tensors);
        if (!(def[t] & DEF_PRODUCED))
            return BAD("node %u '%s' (%s): reads '%s' before it is produced", i, n->name,
                       info->name, f->tensors[t].name);
    }
    for (int k = 0; k < n->n_out; k++) {
        int32_t t = n->out[k];
        if (t < 0 || (uint32_t)t >= f->n_tensors)
            return BAD("node %u '%s' (%s): output %d is tensor %d, out of range (%u tensors)", i,
                       n->name, info->name, k, t, f->n_tensors);
        if (f->tensors[t].storage != AFB_STORAGE_ARENA)
            return BAD("node %u '%s' (%s): writes constant '%s'", i, n->name, info->name,
                       f->tensors[t].name);
        if (def[t] & DEF_PRODUCED)
            return BAD("node %u '%s' (%s): tensor '%s' is produced twice", i, n->name,
                       info->name, f->tensors[t].name);
        def[t] |= DEF_PRODUCED;
    }
    return AF_OK;
}

/* Topological order and single assignment: constants and graph inputs are defined first,
 * each node reads only defined tensors and defines its outputs exactly once. */
static af_status check_flow(const afb_file *f, af_err *err)
{
    uint8_t *def = calloc((size_t)f->n_tensors + 1, 1);
    if (!def) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (uint32_t t = 0; t < f->n_tensors; t++)
        if (f->tensors[t].storage == AFB_STORAGE_CONST) def[t] = DEF_PRODUCED;
    af_status st = check_io_list(f, f->inputs, f->n_inputs, 0, def, err);
    for (uint32_t i = 0; i < f->n_nodes && st == AF_OK; i++) st = check_node_flow(f, i, def, err);
    if (!st) st = check_io_list(f, f->outputs, f->n_outputs, 1, def, err);
    free(def);
    return st;
}

static af_status parse_prog(const uint8_t *base, const afb_section_info *prog,
                            const afb_section_info *wght, afb_file *f, af_err *err)
{
    prog_view v;
    memset(&v, 0, sizeof v);
    v.wght = base + wght->offset;
    v.wght_size = wght->size;
    af_status st = split_prog(base + prog->offset, prog->size, &v, err);
    if (st) return st;
    f->arena_bytes = v.h.arena_bytes;
    f->tensors = calloc((size_t)v.h.n_tensors + 1, sizeof(afb_tensor));
    if (!f->tensors) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < v.h.n_tensors; i++)
        if ((st = parse_tensor(&v, i, &f->tensors[i], err))) return st;
    f->n_tensors = v.h.n_tensors;
    if ((st = parse_nodes_io(&v, f, err))) return st;
    return check_flow(f, err);
}

static af_status parse_meta(const uint8_t *base, const afb_section_info *meta, afb_file *f,
                            af_err *err)
{
    const uint8_t *p = base + meta->offset;
    if (memchr(p, 0, meta->size) || !afb_utf8_valid(p, meta->size))
        return BAD("section META: not UTF-8 text");
    f->meta_json = (const char *)p;
    f->meta_len = meta->size;
    return AF_OK;
}

/* ---- entry points ---------------------------------------------------------------------- */

static af_status verify(const uint8_t *base, uint64_t size, afb_file *f, af_err *err)
{
    afb_disk_header h;
    const afb_section_info *prog, *meta, *wght;
    af_status st = check_min_size(size, err);
    if (!st) st = check_header(base, size, &h, err);
    if (!st) st = read_directory(base, size, &h, f, err);
    if (!st) st = find_section(f, AFB_KIND_PROG, &prog, err);
    if (!st) st = find_section(f, AFB_KIND_META, &meta, err);
    if (!st) st = find_section(f, AFB_KIND_WGHT, &wght, err);
    if (!st) st = parse_prog(base, prog, wght, f, err);
    if (!st) st = parse_meta(base, meta, f, err);
    if (!st) {
        f->version = h.version;
        f->file_size = size;
    }
    return st;
}

static af_status open_common(const void *buf, uint64_t size, afb_file **out, af_err *err)
{
    afb_file *f = calloc(1, sizeof *f);
    if (!f) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    af_status st = verify(buf, size, f, err);
    if (st) {
        afb_close(f);
        return st;
    }
    *out = f;
    return AF_OK;
}

af_status afb_open_memory(const void *buf, size_t size, afb_file **out, af_err *err)
{
    if (!out) return af_err_set(err, AF_ERR_USAGE, "afb_open_memory: out is NULL");
    *out = NULL;
    if (!buf && size) return af_err_set(err, AF_ERR_USAGE, "afb_open_memory: buffer is NULL");
    if ((uintptr_t)buf % AFB_ALIGN != 0)
        return af_err_set(err, AF_ERR_USAGE, "afb_open_memory: buffer not %u-byte aligned",
                          AFB_ALIGN);
    return open_common(buf, size, out, err);
}

static af_status map_file(const char *path, void **base, uint64_t *size, af_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return af_err_set(err, AF_ERR_IO, "cannot open: %s", strerror(errno));
    struct stat sb;
    af_status st = AF_OK;
    if (fstat(fd, &sb) != 0) st = af_err_set(err, AF_ERR_IO, "cannot stat: %s", strerror(errno));
    else if (!S_ISREG(sb.st_mode)) st = af_err_set(err, AF_ERR_IO, "not a regular file");
    else if ((uint64_t)sb.st_size > SIZE_MAX) st = af_err_set(err, AF_ERR_NOMEM, "too large to map");
    else st = check_min_size((uint64_t)sb.st_size, err);
    if (!st) {
        *size = (uint64_t)sb.st_size;
        *base = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*base == MAP_FAILED) st = af_err_set(err, AF_ERR_IO, "cannot map: %s", strerror(errno));
    }
    close(fd);
    return st;
}

af_status afb_open_file(const char *path, afb_file **out, af_err *err)
{
    if (!path || !out) return af_err_set(err, AF_ERR_USAGE, "afb_open_file: NULL argument");
    *out = NULL;
    af_err local;
    af_err_clear(&local);
    void *base = NULL;
    uint64_t size = 0;
    af_status st = map_file(path, &base, &size, &local);
    if (!st) {
        st = open_common(base, size, out, &local);
        if (st) munmap(base, (size_t)size);
    }
    if (st) return af_err_set(err, st, "%s: %s", path, local.msg);
    (*out)->map_base = base;
    (*out)->map_size = (size_t)size;
    (*out)->mapped = 1;
    return AF_OK;
}

void afb_close(afb_file *f)
{
    if (!f) return;
    if (f->mapped) munmap(f->map_base, f->map_size);
    free(f->tensors);
    free(f->nodes);
    free(f->index_storage);
    free(f);
}
