/* lowering/lower.h — passes that turn an imported graph into a runnable, planned one.
 *
 * af_lower_run() applies, in order:
 *   1. fold      shape inference node by node, resolving parameter inputs, and constant folding
 *                of every node whose inputs are all constant (Shape→Gather→Unsqueeze→Concat→
 *                Reshape chains collapse to a constant), evaluated with the runtime's kernels;
 *                If/Loop/Scan placeholders (AF_OP_CONTROL) are expanded where they stand
 *                once reached (graph.h af_deferred; importers/onnx/onnx_control.c);
 *   1b. half    FLOAT16/BFLOAT16 legalised to f32 with explicit rounding (lowering/half.c);
 *   2. simplify  Identity/Dropout removal, no-op reshapes, dead-code elimination;
 *   2b. qdq      QuantizeLinear(Conv/Gemm/GlobalAveragePool of DequantizeLinear'd codes) groups
 *                become the integer ops ONNX Runtime runs them as (fuse_qdq.c); always, also
 *                with no_fuse, since it fixes the arithmetic;
 *   3. patterns  decomposed SiLU, GELU, LayerNorm, GroupNorm and attention chains fused into
 *                one op each (fuse_patterns.c);
 *   4. bn_fold   BatchNormalization folded into the preceding Conv's weights and bias;
 *   5. fuse_act  Relu/Clip/LeakyRelu/Sigmoid/HardSwish... fused into the preceding Conv's
 *                (or GroupNorm/LayerNorm/InstanceNorm's) epilogue;
 *   6. residual  Conv → Add(·, r) with r an f32 activation of the conv output's exact shape
 *                (no broadcast), plus an activation reading only the Add, into one conv with
 *                in[3] = r: act(conv + bias + r) (ResNet, MobileNetV2 residual adds);
 *   7. plan      liveness-based memory plan: every activation gets an arena offset, buffers are
 *                reused once their last reader has run, reshapes alias their input in place,
 *                Concat inputs are written in place inside the output (lowering/memplan.h).
 * Names are kept: a fused node's output keeps the name of the last op it absorbed, so
 * per-layer validation can still compare tensors by their ONNX names.
 */
#ifndef AF_LOWERING_LOWER_H
#define AF_LOWERING_LOWER_H

#include <stdint.h>

#include "../graph/graph.h"

typedef struct af_lower_options {
    int no_fuse;         /* skip patterns, bn_fold, fuse_act and residual (for debugging and per-layer validation) */
    int no_inplace_concat; /* plan: every Concat input gets its own block (the copying path) */
} af_lower_options;

typedef struct af_lower_stats {
    int folded;          /* nodes evaluated at conversion time */
    int removed;         /* identity/dead nodes removed */
    int bn_folded;
    int act_fused;
    int patterns_fused;  /* fuse_patterns: GroupNorm, LayerNorm, GELU, SiLU, attention */
    uint64_t arena_bytes;
    uint64_t naive_bytes; /* sum of all activation sizes (what no reuse would cost) */
    int concat_aliased;   /* Concat inputs written in place inside the output (memplan.h) */
    int residual_fused;   /* residual Adds absorbed by the preceding conv or MatMul */
    int bias_fused;       /* bias Adds absorbed by the preceding MatMul */
    int qdq_fused;        /* QDQ groups run as integer ops (fuse_qdq.c) */
} af_lower_stats;

af_status af_lower_fold(af_graph *g, af_lower_stats *st, af_err *err);
/* Gives every graph output that folded to a constant a producing copy node. */
af_status af_lower_materialize_const_outputs(af_graph *g, af_err *err);
af_status af_lower_simplify(af_graph *g, af_lower_stats *st, af_err *err);
/* after fold, FLOAT16/BFLOAT16 tensors become f32 with explicit rounding
 * nodes where the graph produces half values; f16 graph inputs/outputs stay f16 at the
 * interface, bf16 ones become f32 (lowering/half.c says exactly what). */
af_status af_lower_legalize_half(af_graph *g, af_err *err);
/* Recognises decomposed SiLU, GELU (erf and tanh forms), LayerNorm, GroupNorm
 * (Reshape→InstanceNormalization→Reshape→Mul→Add) and scaled dot-product attention and
 * replaces each by one op (lowering/fuse_patterns.c). */
af_status af_lower_fuse_patterns(af_graph *g, af_lower_stats *st, af_err *err);
/* Q(Conv/Gemm/GlobalAveragePool(DQ(x), QDQ weight, int32 QDQ bias) [→ Relu]) groups into
 * qlinear_conv / qlinear_matmul / qlinear_global_avgpool, the integer ops ONNX Runtime runs
 * them as (lowering/fuse_qdq.c). */
af_status af_lower_fuse_qdq(af_graph *g, af_lower_stats *st, af_err *err);
af_status af_lower_bn_fold(af_graph *g, af_lower_stats *st, af_err *err);
af_status af_lower_fuse_act(af_graph *g, af_lower_stats *st, af_err *err);
/* Pad (constant zeros, spatial axes) → AveragePool becomes one pool with those pads counted
 * (count_include_pad), which is what the padded zeros were (torch exports AvgPool2d(padding)
 * this way; Inception-v3 has 9). lowering/fuse.c. */
af_status af_lower_fuse_pad_pool(af_graph *g, af_lower_stats *st, af_err *err);
/* Convs whose kernel rows/columns only ever read padding (large dilations on small maps, e.g.
 * DeepLabV3's ASPP) keep only the live taps, their pads reduced to match (lowering/fuse.c). */
af_status af_lower_trim_conv_taps(af_graph *g, af_lower_stats *st, af_err *err);
/* Pass 6 above (lowering/fuse.c); run after fuse_act so the conv's own activation is settled. */
af_status af_lower_fuse_residual(af_graph *g, af_lower_stats *st, af_err *err);
/* MatMul(A, W (K,N)) → Add(·, b of N) becomes MatMul(A, W, b): the kernel adds b to the tile it
 * just computed (the same sums as the separate Add). */
af_status af_lower_fuse_matmul_bias(af_graph *g, af_lower_stats *st, af_err *err);
af_status af_lower_plan(af_graph *g, af_lower_stats *st, af_err *err);
/* af_lower_plan honouring opt->no_inplace_concat (opt may be NULL). */
af_status af_lower_plan_ex(af_graph *g, const af_lower_options *opt, af_lower_stats *st,
                           af_err *err);

/* All passes in order; on success g is compacted, verified and planned. */
af_status af_lower_run(af_graph *g, const af_lower_options *opt, af_lower_stats *st,
                       af_err *err);

/* Value bounds of node i's outputs from its inputs' (lowering/bounds.c), for fold. */
void af_bounds_node(af_graph *g, int i);

#endif
