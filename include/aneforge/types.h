/* aneforge/types.h — element types shared by the public API and the common IR.
 * Values are stored in bundles: never renumber, only append before AF_DTYPE_COUNT. */
#ifndef ANEFORGE_TYPES_H
#define ANEFORGE_TYPES_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum af_dtype {
    AF_DTYPE_F32 = 0,
    AF_DTYPE_F16 = 1,
    AF_DTYPE_BF16 = 2,
    AF_DTYPE_I8 = 3,
    AF_DTYPE_U8 = 4,
    AF_DTYPE_I32 = 5,
    AF_DTYPE_I64 = 6,
    AF_DTYPE_BOOL = 7,
    /* 16/32/64-bit integer types */
    AF_DTYPE_I16 = 8,
    AF_DTYPE_U16 = 9,
    AF_DTYPE_U32 = 10,
    AF_DTYPE_U64 = 11,
    AF_DTYPE_COUNT
} af_dtype;

#define AF_MAX_RANK 8

#ifdef __cplusplus
}
#endif
#endif
