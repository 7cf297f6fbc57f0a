/* lowering/lower.c — the pass pipeline (see lower.h for what each pass does). */
#include "lower.h"

af_status af_lower_run(af_graph *g, const af_lower_options *opt, af_lower_stats *st,
                       af_err *err)
{
    af_lower_stats local = {0};
    if (!st) st = &local;
    if (af_graph_verify(g, 0, err) != AF_OK) return err->code;
    if (af_lower_fold(g, st, err) != AF_OK) return err->code;
    if (af_lower_materialize_const_outputs(g, err) != AF_OK) return err->code;
    /* half-precision graphs */
    if (af_lower_legalize_half(g, err) != AF_OK) return err->code;
    if (af_lower_simplify(g, st, err) != AF_OK) return err->code;
    /* not a speed-up but the integer semantics of QDQ groups: also under no_fuse */
    int fused = st->qdq_fused;
    if (af_lower_fuse_qdq(g, st, err) != AF_OK) return err->code;
    /* the DequantizeLinear nodes that only fed fused groups are dead now */
    if (st->qdq_fused > fused && af_lower_simplify(g, st, err) != AF_OK) return err->code;
    if (!(opt && opt->no_fuse)) {
        if (af_lower_fuse_patterns(g, st, err) != AF_OK) return err->code;
        if (af_lower_bn_fold(g, st, err) != AF_OK) return err->code;
        if (af_lower_fuse_act(g, st, err) != AF_OK) return err->code;
        if (af_lower_fuse_pad_pool(g, st, err) != AF_OK) return err->code;
        if (af_lower_trim_conv_taps(g, st, err) != AF_OK) return err->code;
        if (af_lower_fuse_matmul_bias(g, st, err) != AF_OK) return err->code;
        if (af_lower_fuse_residual(g, st, err) != AF_OK) return err->code;
    }
    if (af_graph_verify(g, 1, err) != AF_OK) return err->code;
    return af_lower_plan_ex(g, opt, st, err);
}
