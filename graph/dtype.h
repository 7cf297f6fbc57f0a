/* graph/dtype.h — element types of the common IR (enum in aneforge/types.h) with a traits
 * table, one row per dtype, and the half/bfloat16 conversions. */
#ifndef AF_GRAPH_DTYPE_H
#define AF_GRAPH_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "aneforge/types.h"

typedef struct af_dtype_traits {
    const char *name;     /* "f32", "f16", ... */
    size_t size;          /* bytes per element */
    const char *npy_descr; /* numpy descr ("<f4"), NULL when .npy has no such type */
    int is_float;
} af_dtype_traits;

extern const af_dtype_traits af_dtype_table[AF_DTYPE_COUNT];

static inline size_t af_dtype_size(af_dtype t) { return af_dtype_table[t].size; }
static inline const char *af_dtype_name(af_dtype t)
{
    return (unsigned)t < AF_DTYPE_COUNT ? af_dtype_table[t].name : "?";
}

/* IEEE half and bfloat16 conversions (round to nearest even; NaN/Inf preserved). */
uint16_t af_f32_to_f16(float f);
float af_f16_to_f32(uint16_t h);
uint16_t af_f32_to_bf16(float f);
float af_bf16_to_f32(uint16_t h);

/* Reads element i of a buffer of dtype t as double / writes a double (saturating casts
 * are not attempted: callers only use these for shape-sized integer and small float data). */
double af_dtype_get(af_dtype t, const void *data, size_t i);
void af_dtype_set(af_dtype t, void *data, size_t i, double v);

#endif
