/* importers/npy/npy.h — reading and writing numpy `.npy` tensor files.
 *
 * Format (numpy's NEP 1 / numpy.lib.format): the magic "\x93NUMPY", a major and a minor version
 * byte, a little-endian header length (uint16 for version 1.0, uint32 for 2.0 and 3.0), then a
 * header that is a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
 * padded with spaces and a final '\n', then the raw C-order element data.
 *
 * Supported element types (descr → dtype): '<f4' f32, '<f2' f16, '|u1' u8, '|i1' i8, '<i4' i32,
 * '<i8' i64, '|b1' bool; '<f8' is read as f32 (each value rounded to nearest, from_f64 set:
 * the ANE has no fp64; callers warn). For one-byte types any byte-order mark ('|', '<', '>', '=') is accepted.
 * Big-endian multi-byte data, other dtypes, structured dtypes and fortran_order True are refused
 * with AF_ERR_UNSUPPORTED; a malformed, truncated or oversized file with AF_ERR_FORMAT. Rank is
 * at most AF_MAX_RANK. Every message names the file.
 *
 * The writer emits version 1.0 headers byte-identical to numpy 1.24's np.save (the same key
 * order and spacing, the spare room numpy leaves for growing the first axis, padding so the data
 * starts at a multiple of 64 bytes).
 */
#ifndef AF_IMPORTERS_NPY_H
#define AF_IMPORTERS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "aneforge/types.h"
#include "graph/error.h"

typedef struct af_npy {
    af_dtype dtype;
    int rank;                  /* 0 for a scalar */
    int64_t dims[AF_MAX_RANK]; /* dims[0..rank) ; the rest are 0 */
    void *data;                /* malloc'd, C order, little-endian; never NULL after success */
    size_t nbytes;             /* element count * dtype size (0 when a dim is 0) */
    int from_f64;              /* the file held '<f8' data, narrowed to f32 */
} af_npy;

/* Parses a whole .npy file held in memory; copies the data. display_name names the file in
 * messages (NULL → "<memory>"). On failure *out is zeroed (nothing to free). */
af_status af_npy_parse(const void *buf, size_t size, const char *display_name, af_npy *out,
                       af_err *err);

/* Reads and parses a file (AF_ERR_IO when it cannot be opened or read). */
af_status af_npy_read_file(const char *path, af_npy *out, af_err *err);

/* Writes atomically (temp file in the same folder + rename; nothing left behind on failure).
 * dtype must have a .npy descr (not bf16); rank 0..AF_MAX_RANK; dims >= 0; data holds
 * product(dims) elements (may be NULL when that product is 0). */
af_status af_npy_write_file(const char *path, af_dtype dtype, int rank, const int64_t *dims,
                            const void *data, af_err *err);

/* Frees the data and zeroes the record. NULL-safe; safe on a zeroed record. */
void af_npy_free(af_npy *n);

/* The .npy file naming rule (docs/cli.md): out receives the tensor name with every byte outside [A-Za-z0-9_.-]
 * replaced by '_' (no folder, no ".npy" suffix), truncated to size-1 bytes; returns out. */
char *af_npy_file_name(const char *tensor_name, char *out, size_t size);

/* Convenience: out receives "DIR/<sanitized name>.npy". AF_ERR_USAGE when it does not fit. */
af_status af_npy_path(const char *dir, const char *tensor_name, char *out, size_t size,
                      af_err *err);

/* Reads graph input tensor_name from dir: DIR/<sanitized>.npy, or DIR/<exact name>.npy when
 * the former is absent. path (path_size bytes) receives the file tried (for messages). */
af_status af_npy_read_input(const char *dir, const char *tensor_name, af_npy *out, char *path,
                            size_t path_size, af_err *err);

#endif
