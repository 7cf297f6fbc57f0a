/* bundle/bundle.h — the .afb file: writer (converter side) and reader/verifier (runtime side).
 *
 * The byte layout is specified in docs/bundle-format.md. In short: a fixed header (magic,
 * version, section directory with 64-bit offsets/sizes and a CRC32 per section), then the
 * sections PROG (tensor table, node list with raw param structs, inputs/outputs, arena size),
 * META (UTF-8 JSON, informational) and WGHT (constant data, every blob 64-byte aligned).
 *
 * The reader verifies everything before anyone uses the bundle: magic, version, bounds,
 * CRCs, enum ranges, op arity, tensor indices, topological order, arena and weight extents.
 * A file that fails gets AF_ERR_FORMAT (or AF_ERR_UNSUPPORTED for a newer version) and a
 * message; it is never partially used. The writer is deterministic (same graph → same bytes)
 * and atomic (a temporary file renamed into place; nothing is left behind on failure).
 */
#ifndef AF_BUNDLE_BUNDLE_H
#define AF_BUNDLE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "../graph/dtype.h"
#include "../graph/error.h"
#include "../graph/ops.h"

#define AFB_VERSION 1u
#define AFB_ALIGN 64u

/* Tensor storage kinds. */
typedef enum afb_storage {
    AFB_STORAGE_ARENA = 0, /* activation: lives at arena_offset in the session arena */
    AFB_STORAGE_CONST = 1, /* constant: bytes in the WGHT section */
} afb_storage;

/* Must match af_encoding in graph/graph.h (values are the same on purpose). */
typedef enum afb_encoding {
    AFB_ENC_RAW = 0,  /* stored as dtype */
    AFB_ENC_FP16 = 1, /* dtype f32, stored as IEEE half */
    /* dtype f32, stored as a compressed blob with a 16-byte header (docs/bundle-format.md);
     * the reader checks only the blob's extent, runtime/wdecode.c validates and decodes it */
    AFB_ENC_INT8 = 2,
    AFB_ENC_INT4_LUT = 3,
    AFB_ENC_SPARSE = 4,
    AFB_ENC_BLOCKWISE = 5,
    AFB_ENC_PALETTE = 6, /* n-bit palettes other than plain 4-bit (INT4_LUT generalised) */
    AFB_ENC_COUNT
} afb_encoding;
#define AFB_BLOB_HEADER_SIZE 16u /* the header every compressed blob starts with */

typedef struct afb_tensor {
    const char *name;          /* NUL-terminated, points into the mapping */
    af_dtype dtype;            /* the dtype kernels see */
    int rank;
    int64_t dims[AF_MAX_RANK];
    afb_storage storage;
    uint64_t arena_offset;     /* ARENA */
    afb_encoding encoding;     /* CONST */
    const void *data;          /* CONST: stored bytes in the mapping, AFB_ALIGN-aligned */
    uint64_t data_bytes;       /* CONST: stored byte count */
    uint8_t dyn;               /* ARENA: bit i = dims[i] is a capacity whose extent each run
                                * sets (data-dependent extents; docs/dynamic-shapes.md) */
} afb_tensor;

typedef struct afb_node {
    af_op op;
    const char *name;
    af_params p;               /* copied out of the file (aligned) */
    int n_in, n_out;
    const int32_t *in;         /* tensor indices; -1 = omitted optional input */
    const int32_t *out;
} afb_node;

typedef struct afb_section_info {
    char kind[5];              /* "PROG", "META", "WGHT" */
    uint64_t offset, size;
    uint32_t crc32;
} afb_section_info;

typedef struct afb_file {
    uint32_t version;
    afb_tensor *tensors;
    uint32_t n_tensors;
    afb_node *nodes;
    uint32_t n_nodes;
    const int32_t *inputs;
    uint32_t n_inputs;
    const int32_t *outputs;
    uint32_t n_outputs;
    uint64_t arena_bytes;
    const char *meta_json;     /* not NUL-terminated; meta_len bytes */
    size_t meta_len;
    afb_section_info sections[8];
    int n_sections;
    uint64_t file_size;
    /* private */
    void *map_base;
    size_t map_size;
    int mapped;
    int32_t *index_storage;
} afb_file;

/* Opens and verifies a bundle by memory-mapping path (read-only, shared). */
af_status afb_open_file(const char *path, afb_file **out, af_err *err);
/* Verifies a bundle held in memory; the caller keeps buf alive until afb_close(). buf must be
 * AFB_ALIGN-aligned for zero-copy constant access (else AF_ERR_USAGE). */
af_status afb_open_memory(const void *buf, size_t size, afb_file **out, af_err *err);
void afb_close(afb_file *f);

/* ---- writer (converter side) ---- */
struct af_graph;

/* The temporary file afb_write creates in path's folder before renaming it over path:
 * "<path>.tmp.<pid>". Writes that name into buf; returns 0, or -1 when it does not fit. A
 * program interrupted mid-write (a SIGINT handler) unlinks it: nothing else is left behind and
 * path itself is only ever replaced by the final rename. */
int afb_temp_path(const char *path, char *buf, size_t size);

typedef struct afb_meta {
    const char *json; /* the META section: a UTF-8 JSON object written by the caller */
} afb_meta;

/* Writes a lowered, planned graph: every node resolved and runtime-capable, every non-constant
 * tensor with mem_offset >= 0 and nbytes within arena_bytes, constants with their encoding.
 * Writes path atomically. */
af_status afb_write(const struct af_graph *g, uint64_t arena_bytes, const afb_meta *meta,
                    const char *path, af_err *err);

#endif
