/* importers/onnx/onnx_depth.h — a bound on message nesting, checked before protobuf-c unpacks. */
#ifndef AF_ONNX_DEPTH_H
#define AF_ONNX_DEPTH_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* Deepest message nesting accepted (a model is 1, its graph 2, a node 3, an If branch 5,
 * ...): protobuf-c recurses once per level with no limit of its own, so thousands of nested
 * subgraphs in a small file would overflow the stack. */
#define ONNX_MAX_NESTING 100

/* 1 when buf, read as a message of type d, nests no deeper than limit (or is not valid wire
 * format, which protobuf-c then refuses itself); 0 when it nests deeper. */
int onnx_nesting_ok(const void *buf, size_t size, const ProtobufCMessageDescriptor *d, int limit);

#endif
