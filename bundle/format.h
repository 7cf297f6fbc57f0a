/* bundle/format.h — private: the on-disk records of the .afb file and their little-endian
 * encoders/decoders. docs/bundle-format.md is the normative description; the structs below
 * mirror it field by field and are pinned by static_assert so the two cannot drift apart.
 *
 * The structs are never read by casting a pointer into the file: afb_get_*() decode each
 * field from bytes (little-endian), afb_put_*() encode them, so host layout and alignment do
 * not matter for untrusted data. Param structs and weight blobs ARE used in place (they are
 * little-endian raw bytes), hence the little-endian host requirement below.
 */
#ifndef AF_BUNDLE_FORMAT_H
#define AF_BUNDLE_FORMAT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bundle.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "aneforge bundles are little-endian and used in place: big-endian hosts are not supported"
#endif

/* 'A' 'F' 'B' NUL CR LF SUB LF: NUL stops C-string readers, CR LF / LF catch text-mode
 * line-ending conversion, SUB stops DOS `type` (the PNG trick). */
#define AFB_MAGIC "AFB\0\r\n\x1a\n"
#define AFB_MAGIC_SIZE 8u
#define AFB_MAX_SECTIONS 8u

#define AFB_KIND_PROG "PROG"
#define AFB_KIND_META "META"
#define AFB_KIND_WGHT "WGHT"

/* ---- file header (offset 0, 32 bytes) ---- */
typedef struct afb_disk_header {
    uint8_t magic[8];     /* AFB_MAGIC */
    uint32_t version;     /* AFB_VERSION */
    uint32_t flags;       /* 0 in version 1 */
    uint64_t file_size;   /* total bytes of the file */
    uint32_t n_sections;  /* directory entries that follow the header, 1..AFB_MAX_SECTIONS */
    uint32_t header_crc;  /* crc32(bytes [0,28)) continued over the directory */
} afb_disk_header;
#define AFB_HEADER_SIZE 32u
#define AFB_HEADER_CRC_OFFSET 28u
static_assert(sizeof(afb_disk_header) == AFB_HEADER_SIZE, "header layout");
static_assert(offsetof(afb_disk_header, header_crc) == AFB_HEADER_CRC_OFFSET, "header layout");

/* ---- section directory entry (32 bytes each, right after the header) ---- */
typedef struct afb_disk_dirent {
    char kind[4];         /* "PROG", "META", "WGHT" (unknown kinds are skipped) */
    uint32_t flags;       /* 0 */
    uint64_t offset;      /* from the file start, multiple of AFB_ALIGN */
    uint64_t size;        /* bytes, excluding any padding after the section */
    uint32_t crc32;       /* zlib crc32 of the section's size bytes */
    uint32_t reserved;    /* 0 */
} afb_disk_dirent;
#define AFB_DIRENT_SIZE 32u
static_assert(sizeof(afb_disk_dirent) == AFB_DIRENT_SIZE, "dirent layout");
static_assert(offsetof(afb_disk_dirent, crc32) == 24, "dirent layout");

/* ---- PROG section header (32 bytes at the section start) ---- */
typedef struct afb_disk_prog {
    uint32_t n_tensors;
    uint32_t n_nodes;
    uint32_t n_inputs;
    uint32_t n_outputs;
    uint64_t arena_bytes;
    uint32_t nodes_bytes;   /* size of the node record area */
    uint32_t strings_bytes; /* size of the string table */
} afb_disk_prog;
#define AFB_PROG_HEADER_SIZE 32u
static_assert(sizeof(afb_disk_prog) == AFB_PROG_HEADER_SIZE, "prog layout");

/* ---- tensor record (96 bytes each, after the PROG header) ---- */
typedef struct afb_disk_tensor {
    uint32_t name;        /* offset into the string table */
    uint8_t dtype;        /* af_dtype */
    uint8_t rank;         /* 0..AF_MAX_RANK */
    uint8_t storage;      /* afb_storage */
    uint8_t encoding;     /* afb_encoding (RAW for arena tensors) */
    int64_t dims[AF_MAX_RANK]; /* dims[i] >= 0 for i < rank, 0 beyond */
    uint64_t offset;      /* ARENA: arena byte offset; CONST: byte offset from the WGHT start */
    uint64_t data_bytes;  /* ARENA: numel*dtype size; CONST: stored bytes */
    uint64_t dyn_axes;    /* ARENA: bit i = dims[i] is a capacity, each run sets the extent
                           * (data-dependent extents); bits >= rank and CONST: 0 */
} afb_disk_tensor;
#define AFB_TENSOR_REC_SIZE 96u
static_assert(sizeof(afb_disk_tensor) == AFB_TENSOR_REC_SIZE, "tensor layout");
static_assert(offsetof(afb_disk_tensor, dims) == 8, "tensor layout");
static_assert(offsetof(afb_disk_tensor, offset) == 72, "tensor layout");
static_assert(offsetof(afb_disk_tensor, data_bytes) == 80, "tensor layout");

/* ---- node record head (24 bytes), then params padded to 8, then in[] out[] padded to 8 ---- */
typedef struct afb_disk_node {
    uint32_t op;          /* af_op */
    uint32_t name;        /* offset into the string table */
    uint32_t n_in;
    uint32_t n_out;
    uint32_t param_size;  /* == af_op_table[op].param_size */
    uint32_t reserved;    /* 0 */
} afb_disk_node;
#define AFB_NODE_HEAD_SIZE 24u
static_assert(sizeof(afb_disk_node) == AFB_NODE_HEAD_SIZE, "node layout");

static inline uint64_t afb_align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Bytes of one node record: head + params (padded to 8) + indices (padded to 8). Inputs are
 * bounded by the caller (all three < 2^32), so this cannot overflow a uint64_t. */
static inline uint64_t afb_node_rec_size(uint64_t param_size, uint64_t n_in, uint64_t n_out)
{
    return AFB_NODE_HEAD_SIZE + afb_align_up(param_size, 8) + afb_align_up(4 * (n_in + n_out), 8);
}

/* ---- little-endian field access ---- */
static inline uint32_t afb_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t afb_rd64(const uint8_t *p)
{
    return (uint64_t)afb_rd32(p) | (uint64_t)afb_rd32(p + 4) << 32;
}
static inline void afb_wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void afb_wr64(uint8_t *p, uint64_t v)
{
    afb_wr32(p, (uint32_t)v);
    afb_wr32(p + 4, (uint32_t)(v >> 32));
}

static inline void afb_get_header(const uint8_t *p, afb_disk_header *h)
{
    memcpy(h->magic, p, 8);
    h->version = afb_rd32(p + 8);
    h->flags = afb_rd32(p + 12);
    h->file_size = afb_rd64(p + 16);
    h->n_sections = afb_rd32(p + 24);
    h->header_crc = afb_rd32(p + 28);
}
static inline void afb_put_header(uint8_t *p, const afb_disk_header *h)
{
    memcpy(p, h->magic, 8);
    afb_wr32(p + 8, h->version);
    afb_wr32(p + 12, h->flags);
    afb_wr64(p + 16, h->file_size);
    afb_wr32(p + 24, h->n_sections);
    afb_wr32(p + 28, h->header_crc);
}

static inline void afb_get_dirent(const uint8_t *p, afb_disk_dirent *d)
{
    memcpy(d->kind, p, 4);
    d->flags = afb_rd32(p + 4);
    d->offset = afb_rd64(p + 8);
    d->size = afb_rd64(p + 16);
    d->crc32 = afb_rd32(p + 24);
    d->reserved = afb_rd32(p + 28);
}
static inline void afb_put_dirent(uint8_t *p, const afb_disk_dirent *d)
{
    memcpy(p, d->kind, 4);
    afb_wr32(p + 4, d->flags);
    afb_wr64(p + 8, d->offset);
    afb_wr64(p + 16, d->size);
    afb_wr32(p + 24, d->crc32);
    afb_wr32(p + 28, d->reserved);
}

static inline void afb_get_prog(const uint8_t *p, afb_disk_prog *h)
{
    h->n_tensors = afb_rd32(p);
    h->n_nodes = afb_rd32(p + 4);
    h->n_inputs = afb_rd32(p + 8);
    h->n_outputs = afb_rd32(p + 12);
    h->arena_bytes = afb_rd64(p + 16);
    h->nodes_bytes = afb_rd32(p + 24);
    h->strings_bytes = afb_rd32(p + 28);
}
static inline void afb_put_prog(uint8_t *p, const afb_disk_prog *h)
{
    afb_wr32(p, h->n_tensors);
    afb_wr32(p + 4, h->n_nodes);
    afb_wr32(p + 8, h->n_inputs);
    afb_wr32(p + 12, h->n_outputs);
    afb_wr64(p + 16, h->arena_bytes);
    afb_wr32(p + 24, h->nodes_bytes);
    afb_wr32(p + 28, h->strings_bytes);
}

static inline void afb_get_tensor(const uint8_t *p, afb_disk_tensor *t)
{
    t->name = afb_rd32(p);
    t->dtype = p[4];
    t->rank = p[5];
    t->storage = p[6];
    t->encoding = p[7];
    for (int i = 0; i < AF_MAX_RANK; i++) t->dims[i] = (int64_t)afb_rd64(p + 8 + 8 * i);
    t->offset = afb_rd64(p + 72);
    t->data_bytes = afb_rd64(p + 80);
    t->dyn_axes = afb_rd64(p + 88);
}
static inline void afb_put_tensor(uint8_t *p, const afb_disk_tensor *t)
{
    afb_wr32(p, t->name);
    p[4] = t->dtype;
    p[5] = t->rank;
    p[6] = t->storage;
    p[7] = t->encoding;
    for (int i = 0; i < AF_MAX_RANK; i++) afb_wr64(p + 8 + 8 * i, (uint64_t)t->dims[i]);
    afb_wr64(p + 72, t->offset);
    afb_wr64(p + 80, t->data_bytes);
    afb_wr64(p + 88, t->dyn_axes);
}

static inline void afb_get_node(const uint8_t *p, afb_disk_node *n)
{
    n->op = afb_rd32(p);
    n->name = afb_rd32(p + 4);
    n->n_in = afb_rd32(p + 8);
    n->n_out = afb_rd32(p + 12);
    n->param_size = afb_rd32(p + 16);
    n->reserved = afb_rd32(p + 20);
}
static inline void afb_put_node(uint8_t *p, const afb_disk_node *n)
{
    afb_wr32(p, n->op);
    afb_wr32(p + 4, n->name);
    afb_wr32(p + 8, n->n_in);
    afb_wr32(p + 12, n->n_out);
    afb_wr32(p + 16, n->param_size);
    afb_wr32(p + 20, n->reserved);
}

/* ---- shared helpers (defined in reader.c, used by the writer too) ---- */

/* zlib crc32 over any length (zlib's uInt length is fed in chunks). */
uint32_t afb_crc32(uint32_t crc, const void *data, uint64_t len);
/* The same CRC, PCLMUL-folded when the CPU has it (bundle/crc32_fast.c); afb_crc32 uses it. */
uint32_t afb_crc32_fast(uint32_t crc, const void *data, uint64_t len);
/* The header CRC: header bytes [0,28) then n_sections directory entries. p = file start. */
uint32_t afb_header_crc(const uint8_t *p, uint32_t n_sections);
/* 1 if [p, p+n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int afb_utf8_valid(const uint8_t *p, uint64_t n);
/* NULL if the enum-like fields of op's params are in range, else what is wrong. */
const char *afb_params_problem(af_op op, const af_params *p);

#endif
