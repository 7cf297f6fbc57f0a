/* aneforge/runtime.h — the minimal runtime: load a .afb bundle and run inference.
 *
 *   af_bundle *b;  char msg[256];
 *   if (af_bundle_open("model.afb", &b, msg, sizeof msg) != AF_OK) { puts(msg); return; }
 *   af_session *s;
 *   af_session_create(b, NULL, &s, msg, sizeof msg);       // owns one activation arena
 *   af_session_set_input(s, 0, pixels, nbytes);            // inputs by index (see _find_input)
 *   af_session_run(s);                                     // allocates nothing
 *   const void *out; af_tensor_info info;
 *   af_session_get_output(s, 0, &out, &info);              // valid until the next run
 *   af_session_free(s);  af_bundle_close(b);
 *
 * A bundle is opened once (memory-mapped and fully verified; encoded weights the kernels do not
 * pack are widened once into aligned buffers) and shared read-only: several sessions, one per
 * thread, may run on it at the same time. A session packs the weights of its convs, MatMuls and
 * Gemms once when it is created (weights stored in halves stay halves); those weights are then
 * resident only in packed form. A session is not thread-safe by itself. Every call returns an af_status; nothing
 * aborts. Functions that create a handle take an optional message buffer; functions on a
 * session leave their message in af_session_error().
 */
#ifndef ANEFORGE_RUNTIME_H
#define ANEFORGE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "aneforge/status.h"
#include "aneforge/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct af_bundle af_bundle;
typedef struct af_session af_session;

typedef struct af_tensor_info {
    const char *name;   /* owned by the bundle */
    af_dtype dtype;
    int rank;
    int64_t dims[AF_MAX_RANK];
    size_t nbytes;
} af_tensor_info;

/* Precision of a program node under fp16 emulation (docs/sd-fp16.md "Precision placement"). */
enum {
    AF_PREC_FP16 = 0,    /* on the ANE: its f32 outputs are stored as halves */
    AF_PREC_FP32 = 1,    /* on the CPU in fp32 (convert --keep-fp32) */
    AF_PREC_PAIRED = 2   /* paired fp16 (convert --paired-fp16): each activation carried as an
                          * unevaluated sum hi + lo of two halves, hi = half(x), lo = half(x − hi) */
};

typedef struct af_session_options {
    int n_threads;       /* 0 = default (1); outputs are bit-identical for any count */
    int fp16;            /* 1: emulate the ANE's fp16 dataplane — every f32 activation (inputs
                          * included) is rounded to IEEE half after each op (|x| > 65504 → Inf);
                          * kernels keep their f32 accumulators, weights are used as stored.
                          * A tensor is stored at the lowest precision of the node that writes it
                          * and the nodes that read it (fp16 < paired < fp32; the caller, which
                          * gives inputs and reads outputs, counts as fp32; in-place reshapes
                          * pass their readers through), per the nodes' AF_PREC_* placement */
    const uint8_t *node_precision; /* with fp16: AF_PREC_* per program node
                          * (af_bundle_node_count entries); NULL = the placement the bundle's
                          * metadata records ("precision", convert --keep-fp32/--paired-fp16) */
    int fp16_weights;    /* with fp16: the f32 constants read by a node placed fp16 or paired are
                          * rounded to half for it (per-session copies): a bundle stored with
                          * fp32 weights runs as the same bundle stored in halves would, but for
                          * its fp32 nodes' weights — how convert --keep-fp32 auto measures a
                          * placement. Ignored for weights streamed (stream_weights) */
    int int8_compute;    /* 1: convolutions whose weight is stored int8 (compress int8, an ONNX
                          * model's QDQ/QLinear int8 weights; kept compressed: not with
                          * stream_weights or expand_weights) multiply in int8: each k block of
                          * 256 of every im2col column is quantized to uint8 on the fly and the
                          * dot products run as int32 (AVX512-VNNI), dequantized into the f32
                          * epilogue. Faster, not exact: docs/compression.md "int8 compute"
                          * gives the accuracy cost; bench --int8-compute measures it. Ignored
                          * on CPUs without AVX512-VNNI (the f32 path runs). Outputs stay
                          * bit-identical for any thread count. 0 (default): f32 compute */
} af_session_options;

/* What an observer sees right after a node ran, once per output of the node (after fp16
 * rounding when that is on). data points into the arena and is valid only during the call;
 * the memory plan reuses buffers, so copy what you want to keep. The observer may overwrite
 * the values (same size): later nodes then read them (validate uses this to feed each layer
 * the fp32 program's tensors and measure that layer's own error). */
typedef struct af_node_event {
    int node_index;       /* position in the program, 0-based */
    const char *node;     /* node name (fused nodes keep the last absorbed op's name) */
    const char *op;       /* op name, e.g. "conv" */
    int output_index;
    af_tensor_info info;  /* the output tensor (name, dtype, shape) */
    void *data;
    int rounding;         /* how the values were stored: AF_PREC_FP16 (rounded to halves),
                           * AF_PREC_PAIRED (to hi + lo pairs), AF_PREC_FP32 (as computed: no
                           * emulation, a placement keeping it fp32, or not an f32 tensor) */
} af_node_event;
typedef void (*af_session_observer)(void *user, const af_node_event *ev);

typedef struct af_bundle_options {
    /* 0 (default): encoded constants (fp16, compressed) are decoded once at open into aligned
     * f32 buffers, except weights that only packing kernels read: those are packed at session
     * creation in their stored form where the kernel can read it (halves as halves; int8,
     * 4-bit palette and blockwise conv, MatMul and Gemm weights as compressed panels decoded
     * inside the GEMM, docs/performance.md), else decoded into f32 panels. 1: they stay in their stored encoding in
     * the mmap and each node's encoded weights are decoded into a per-session scratch buffer
     * just before the node runs — at the cost of decoding on every run. Raw f32 constants are
     * always used in place from the mmap. */
    int stream_weights;
    /* 1: compressed weights are never kept compressed: decoded to f32 for packing (as before
     * compressed panels existed; the same outputs bit for bit where both use the packed GEMM,
     * Winograd allowed again). For comparisons. */
    int expand_weights;
} af_bundle_options;

af_status af_bundle_open(const char *path, af_bundle **out, char *msg, size_t msg_size);
/* af_bundle_open with options (opt may be NULL: the defaults). */
af_status af_bundle_open_ex(const char *path, const af_bundle_options *opt, af_bundle **out,
                            char *msg, size_t msg_size);
/* buf must stay valid until af_bundle_close and be 64-byte aligned. */
af_status af_bundle_open_memory(const void *buf, size_t size, af_bundle **out, char *msg,
                                size_t msg_size);
void af_bundle_close(af_bundle *b);

int af_bundle_input_count(const af_bundle *b);
int af_bundle_output_count(const af_bundle *b);
af_status af_bundle_input_info(const af_bundle *b, int index, af_tensor_info *info);
af_status af_bundle_output_info(const af_bundle *b, int index, af_tensor_info *info);
/* Index of the input/output with that name, or -1. */
int af_bundle_find_input(const af_bundle *b, const char *name);
int af_bundle_find_output(const af_bundle *b, const char *name);
/* Program nodes, in execution order (node_precision arrays follow it). */
int af_bundle_node_count(const af_bundle *b);
/* Name of program node i (fused nodes keep the last absorbed op's name), NULL out of range. */
const char *af_bundle_node_name(const af_bundle *b, int i);
/* Fills prec[af_bundle_node_count] with the placement the metadata records (AF_PREC_FP16 for
 * every node without one). AF_ERR_FORMAT when it names a node the program lacks. */
af_status af_bundle_node_precision(const af_bundle *b, uint8_t *prec, char *msg, size_t msg_size);
/* The META section (JSON text, not NUL-terminated). */
const char *af_bundle_metadata(const af_bundle *b, size_t *len);

af_status af_session_create(af_bundle *b, const af_session_options *opt, af_session **out,
                            char *msg, size_t msg_size);
void af_session_free(af_session *s);
/* Copies nbytes (must equal the input's size) into the session's arena. */
af_status af_session_set_input(af_session *s, int index, const void *data, size_t nbytes);
af_status af_session_run(af_session *s);
/* Points *data at the output inside the arena (valid until the next run or free). info has
 * the shape of this run: an output whose size depends on the data (NonMaxSuppression's rows,
 * NonZero's columns, Compress's cut axis) has its capacity in af_bundle_output_info and what
 * the last run wrote here (the capacity before the first run). */
af_status af_session_get_output(af_session *s, int index, const void **data,
                                af_tensor_info *info);
/* Calls fn(user, event) after every node of every later run (per-layer validation, debugging);
 * fn NULL removes it. The observer must not call back into this session. */
af_status af_session_set_observer(af_session *s, af_session_observer fn, void *user);
/* Bytes of the activation arena and of kernel scratch this session holds. */
size_t af_session_arena_bytes(const af_session *s);
/* Bytes of weights this session keeps resident: its packed weights (compressed panels, half
 * or f32 panels, Winograd-transformed), the constants decoded to f32 at open, and the
 * constants it reads in place from the bundle (raw ones not packed; with stream_weights, the
 * stored blobs). Constants whose pages were released after packing are not counted twice. */
size_t af_session_weight_bytes(const af_session *s);
/* How constant `tensor` of b runs: "compressed" (kept in its stored encoding: compressed
 * panels decoded inside the packed GEMM), "halves" (fp16 panels), "expanded" (an f32 copy:
 * decoded at open or into f32 panels), "streamed" (decoded per run), "raw" (stored f32) or
 * NULL (not a constant). *why (may be NULL) gets a reason for "expanded", else "". */
const char *af_bundle_weight_form(const af_bundle *b, const char *tensor, const char **why);
const char *af_session_error(const af_session *s);

#ifdef __cplusplus
}
#endif
#endif
