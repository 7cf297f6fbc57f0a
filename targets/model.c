/* targets/model.c — import and lower a model the way the converter does, for check, fp16
 * prediction and estimates (so they see exactly the program convert would write). */
#include <string.h>

#include "../importers/onnx/onnx_import.h"
#include "../lowering/lower.h"
#include "targets_internal.h"

af_status af_target_load_model(const char *path, const af_shape_spec *shapes, int n_shapes,
                               af_graph *g, af_err *err)
{
    af_input_shape s[64];
    if (n_shapes > 64) return af_err_set(err, AF_ERR_USAGE, "too many --input-shape flags");
    for (int i = 0; i < n_shapes; i++) {
        s[i].name = shapes[i].name;
        s[i].rank = shapes[i].rank;
        memcpy(s[i].dims, shapes[i].dims, sizeof s[i].dims);
    }
    af_onnx_options io = {.shapes = s, .n_shapes = n_shapes};
    if (af_onnx_import_file(path, &io, g, err) != AF_OK) return err->code;
    af_lower_options lo = {0};
    af_lower_stats ls = {0};
    if (af_lower_run(g, &lo, &ls, err) != AF_OK) return af_err_prefix(err, path);
    return AF_OK;
}
