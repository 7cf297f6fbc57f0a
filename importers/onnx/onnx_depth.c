/* importers/onnx/onnx_depth.c — walks the protobuf wire format with the message descriptors
 * (no decoding) to refuse nesting protobuf-c could not unpack without overflowing the stack.
 * The walk's own recursion is bounded by the limit. */
#include "onnx_depth.h"

#include <stdint.h>

/* Reads a varint at *p (< end); 0 on a truncated or overlong one. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

/* -1: too deep; 0: ok or malformed (left to protobuf-c). */
static int walk(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *d,
                int depth, int limit)
{
    if (depth > limit) return -1;
    while (p < end) {
        uint64_t key, v;
        if (!varint(&p, end, &key)) return 0;
        switch (key & 7) {
        case 0:
            if (!varint(&p, end, &v)) return 0;
            break;
        case 1:
            if (end - p < 8) return 0;
            p += 8;
            break;
        case 5:
            if (end - p < 4) return 0;
            p += 4;
            break;
        case 2: {
            if (!varint(&p, end, &v) || v > (uint64_t)(end - p)) return 0;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                walk(p, p + v, f->descriptor, depth + 1, limit) < 0)
                return -1;
            p += v;
            break;
        }
        default: return 0; /* groups (3, 4) are not in ONNX: protobuf-c decides */
        }
    }
    return 0;
}

int onnx_nesting_ok(const void *buf, size_t size, const ProtobufCMessageDescriptor *d, int limit)
{
    const uint8_t *p = buf;
    return !p || walk(p, p + size, d, 1, limit) == 0;
}
