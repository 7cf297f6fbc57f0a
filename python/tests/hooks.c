/* python/tests/hooks.c — a test-only library for python/tests (never installed):
 *   af_pyhooks_layout(): sizeof and every field offset of the public structs the package mirrors
 *     with ctypes (python/aneforge/_lib.py), so test_abi.py catches a header change the mirror
 *     missed;
 *   af_pyhooks_gate_observer(): a session observer that, after the first node, waits inside
 *     af_session_run until another thread sets gate->released: a Python thread can only do that
 *     if the run released the GIL (test_threads.py). The wait is bounded (20 s) so a held GIL
 *     fails the test instead of hanging it. */
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "aneforge/targets.h"
#include "aneforge/validate.h"

static char layout[16384];
static size_t used;

static void emit(const char *name, size_t value)
{
    if (used < sizeof layout)
        used += (size_t)snprintf(layout + used, sizeof layout - used, "%s %zu\n", name, value);
}

#define SIZE(T) emit(#T, sizeof(T))
#define OFF(T, f) emit(#T "." #f, offsetof(T, f))

const char *af_pyhooks_layout(void)
{
    used = 0;
    SIZE(af_tensor_info);
    OFF(af_tensor_info, name);
    OFF(af_tensor_info, dtype);
    OFF(af_tensor_info, rank);
    OFF(af_tensor_info, dims);
    OFF(af_tensor_info, nbytes);
    SIZE(af_session_options);
    OFF(af_session_options, n_threads);
    OFF(af_session_options, fp16);
    OFF(af_session_options, node_precision);
    OFF(af_session_options, fp16_weights);
    OFF(af_session_options, int8_compute);
    SIZE(af_bundle_options);
    OFF(af_bundle_options, stream_weights);
    OFF(af_bundle_options, expand_weights);
    SIZE(af_node_event);
    OFF(af_node_event, node_index);
    OFF(af_node_event, node);
    OFF(af_node_event, op);
    OFF(af_node_event, output_index);
    OFF(af_node_event, info);
    OFF(af_node_event, data);
    OFF(af_node_event, rounding);
    SIZE(af_shape_spec);
    OFF(af_shape_spec, name);
    OFF(af_shape_spec, rank);
    OFF(af_shape_spec, dims);
    SIZE(af_task_spec);
    OFF(af_task_spec, output);
    OFF(af_task_spec, kind);
    OFF(af_task_spec, k);
    OFF(af_task_spec, axis);
    OFF(af_task_spec, threshold);
    SIZE(af_freeze_spec);
    OFF(af_freeze_spec, name);
    OFF(af_freeze_spec, path);
    SIZE(af_image_input_spec);
    OFF(af_image_input_spec, name);
    OFF(af_image_input_spec, n_scale);
    OFF(af_image_input_spec, n_bias);
    OFF(af_image_input_spec, scale);
    OFF(af_image_input_spec, bias);
    SIZE(af_convert_options);
    OFF(af_convert_options, model_path);
    OFF(af_convert_options, out_path);
    OFF(af_convert_options, compress);
    OFF(af_convert_options, target);
    OFF(af_convert_options, shapes);
    OFF(af_convert_options, n_shapes);
    OFF(af_convert_options, no_fuse);
    OFF(af_convert_options, image_inputs);
    OFF(af_convert_options, n_image_inputs);
    OFF(af_convert_options, weights);
    OFF(af_convert_options, n_weights);
    OFF(af_convert_options, weight_map);
    OFF(af_convert_options, allow_partial);
    OFF(af_convert_options, allow_fallback);
    OFF(af_convert_options, group_size);
    OFF(af_convert_options, palette_bits);
    OFF(af_convert_options, palette_scale);
    OFF(af_convert_options, block_size);
    OFF(af_convert_options, block_bits);
    OFF(af_convert_options, sparsity);
    OFF(af_convert_options, int8_asymmetric);
    OFF(af_convert_options, int8_per_tensor);
    OFF(af_convert_options, calib_dir);
    OFF(af_convert_options, min_psnr);
    OFF(af_convert_options, progress);
    OFF(af_convert_options, progress_user);
    OFF(af_convert_options, no_inplace_concat);
    OFF(af_convert_options, freeze);
    OFF(af_convert_options, n_freeze);
    OFF(af_convert_options, min_cosine);
    OFF(af_convert_options, min_topk);
    OFF(af_convert_options, min_argmax);
    OFF(af_convert_options, min_iou);
    OFF(af_convert_options, tasks);
    OFF(af_convert_options, n_tasks);
    OFF(af_convert_options, data_free);
    OFF(af_convert_options, max_size);
    OFF(af_convert_options, keep_fp32);
    OFF(af_convert_options, paired_fp16);
    OFF(af_convert_options, cfg_calib_dir);
    OFF(af_convert_options, min_cfg_psnr);
    OFF(af_convert_options, cfg_scale);
    SIZE(af_convert_report);
    OFF(af_convert_report, opset);
    OFF(af_convert_report, nodes_imported);
    OFF(af_convert_report, nodes_lowered);
    OFF(af_convert_report, folded);
    OFF(af_convert_report, removed);
    OFF(af_convert_report, bn_folded);
    OFF(af_convert_report, act_fused);
    OFF(af_convert_report, weight_bytes_fp32);
    OFF(af_convert_report, weight_bytes);
    OFF(af_convert_report, arena_bytes);
    OFF(af_convert_report, naive_arena_bytes);
    OFF(af_convert_report, file_bytes);
    OFF(af_convert_report, weights_files);
    OFF(af_convert_report, weights_bound);
    OFF(af_convert_report, weights_converted);
    OFF(af_convert_report, weights_unmatched);
    OFF(af_convert_report, weights_uncovered);
    OFF(af_convert_report, weights_note);
    OFF(af_convert_report, target_nodes);
    OFF(af_convert_report, target_cpu_nodes);
    OFF(af_convert_report, weights_compressed);
    OFF(af_convert_report, model_psnr_db);
    OFF(af_convert_report, promotions);
    OFF(af_convert_report, compress_warning);
    OFF(af_convert_report, concat_inplace);
    OFF(af_convert_report, residual_fused);
    OFF(af_convert_report, decided_by);
    OFF(af_convert_report, gates_met);
    OFF(af_convert_report, model_cosine);
    OFF(af_convert_report, model_top1);
    OFF(af_convert_report, model_topk);
    OFF(af_convert_report, model_argmax);
    OFF(af_convert_report, model_iou);
    OFF(af_convert_report, fp32_nodes);
    OFF(af_convert_report, paired_nodes);
    OFF(af_convert_report, cfg_psnr_fp16);
    OFF(af_convert_report, cfg_psnr_placed);
    OFF(af_convert_report, cpu_time_share);
    OFF(af_convert_report, paired_time_extra);
    OFF(af_convert_report, cost_family);
    SIZE(af_figure);
    OFF(af_figure, value);
    OFF(af_figure, source);
    OFF(af_figure, assumed);
    SIZE(af_wenc_info);
    OFF(af_wenc_info, name);
    OFF(af_wenc_info, bits_per_weight);
    OFF(af_wenc_info, bundle_encoding);
    SIZE(af_target_family);
    OFF(af_target_family, name);
    OFF(af_target_family, alias);
    OFF(af_target_family, chip);
    OFF(af_target_family, peak_fp16_tops);
    OFF(af_target_family, gemm_half);
    OFF(af_target_family, vector_tops);
    OFF(af_target_family, special_gops);
    OFF(af_target_family, tap_gops);
    OFF(af_target_family, dram_gbps);
    OFF(af_target_family, weight_gbps);
    OFF(af_target_family, op_floor_us);
    OFF(af_target_family, act_bytes);
    OFF(af_target_family, decompressed_bits);
    OFF(af_target_family, native_streams);
    OFF(af_target_family, native_streams_source);
    OFF(af_target_family, max_dim);
    OFF(af_target_family, max_rank);
    OFF(af_target_family, pool_kernel_max);
    OFF(af_target_family, pool_stride_max);
    OFF(af_target_family, upsample_max);
    OFF(af_target_family, dilation_max);
    OFF(af_target_family, missing_ops);
    OFF(af_target_family, missing_ops_source);
    SIZE(af_target_device);
    OFF(af_target_device, name);
    OFF(af_target_device, chip);
    OFF(af_target_device, generation);
    OFF(af_target_device, family);
    OFF(af_target_device, family_source);
    OFF(af_target_device, extrapolated);
    OFF(af_target_device, year);
    OFF(af_target_device, public_tops);
    OFF(af_target_device, peak_fp16_tops);
    OFF(af_target_device, dram_gbps);
    OFF(af_target_device, ane_cores);
    OFF(af_target_device, aliases);
    OFF(af_target_device, note);
    SIZE(af_target);
    OFF(af_target, name);
    OFF(af_target, family);
    OFF(af_target, device);
    OFF(af_target, figures);
    SIZE(af_target_figure_row);
    OFF(af_target_figure_row, key);
    OFF(af_target_figure_row, unit);
    OFF(af_target_figure_row, fig);
    OFF(af_target_figure_row, row);
    SIZE(af_target_provenance_info);
    OFF(af_target_provenance_info, name);
    OFF(af_target_provenance_info, chip);
    OFF(af_target_provenance_info, generation);
    OFF(af_target_provenance_info, family);
    OFF(af_target_provenance_info, extrapolated);
    OFF(af_target_provenance_info, family_source);
    OFF(af_target_provenance_info, note);
    OFF(af_target_provenance_info, n_sourced);
    OFF(af_target_provenance_info, n_assumed);
    OFF(af_target_provenance_info, n);
    OFF(af_target_provenance_info, figures);
    SIZE(af_detect_result);
    OFF(af_detect_result, has_ane);
    OFF(af_detect_result, device);
    OFF(af_detect_result, chip);
    OFF(af_detect_result, generation);
    OFF(af_detect_result, family);
    OFF(af_detect_result, extrapolated);
    OFF(af_detect_result, why);
    SIZE(af_target_violation);
    OFF(af_target_violation, node);
    OFF(af_target_violation, op);
    OFF(af_target_violation, cap);
    OFF(af_target_violation, detail);
    SIZE(af_target_check_result);
    OFF(af_target_check_result, v);
    OFF(af_target_check_result, n);
    OFF(af_target_check_result, cap);
    OFF(af_target_check_result, n_nodes);
    OFF(af_target_check_result, n_cpu_nodes);
    SIZE(af_fp16_flag);
    OFF(af_fp16_flag, tensor);
    OFF(af_fp16_flag, node);
    OFF(af_fp16_flag, op);
    OFF(af_fp16_flag, kind);
    OFF(af_fp16_flag, min);
    OFF(af_fp16_flag, max);
    OFF(af_fp16_flag, fraction);
    OFF(af_fp16_flag, why);
    SIZE(af_fp16_report);
    OFF(af_fp16_report, flags);
    OFF(af_fp16_report, n);
    OFF(af_fp16_report, cap);
    OFF(af_fp16_report, n_tensors);
    SIZE(af_op_cost);
    OFF(af_op_cost, node);
    OFF(af_op_cost, op);
    OFF(af_op_cost, macs);
    OFF(af_op_cost, ops);
    OFF(af_op_cost, special);
    OFF(af_op_cost, taps);
    OFF(af_op_cost, act_bytes);
    OFF(af_op_cost, weight_bytes);
    OFF(af_op_cost, time_us);
    OFF(af_op_cost, memory_bound);
    SIZE(af_cost_report);
    OFF(af_cost_report, ops);
    OFF(af_cost_report, n);
    OFF(af_cost_report, cap);
    OFF(af_cost_report, macs);
    OFF(af_cost_report, act_bytes);
    OFF(af_cost_report, weight_bytes);
    OFF(af_cost_report, time_us);
    OFF(af_cost_report, floor_us);
    SIZE(af_estimate_options);
    OFF(af_estimate_options, shapes);
    OFF(af_estimate_options, n_shapes);
    OFF(af_estimate_options, assume_weights);
    SIZE(af_validate_options);
    OFF(af_validate_options, model_path);
    OFF(af_validate_options, bundle_path);
    OFF(af_validate_options, inputs_dir);
    OFF(af_validate_options, seed);
    OFF(af_validate_options, fp16);
    OFF(af_validate_options, per_layer);
    OFF(af_validate_options, n_threads);
    OFF(af_validate_options, min_psnr);
    OFF(af_validate_options, shapes);
    OFF(af_validate_options, n_shapes);
    OFF(af_validate_options, image_inputs);
    OFF(af_validate_options, n_image_inputs);
    OFF(af_validate_options, freeze);
    OFF(af_validate_options, n_freeze);
    OFF(af_validate_options, cond_dir);
    OFF(af_validate_options, uncond_dir);
    OFF(af_validate_options, cfg_scale);
    OFF(af_validate_options, int8_compute);
    return layout;
}

typedef struct af_pyhooks_gate {
    int entered;   /* set by the observer once it waits inside the run */
    int released;  /* set by the other thread */
    int saw_release; /* the observer saw released before giving up */
} af_pyhooks_gate;

void af_pyhooks_gate_observer(void *user, const af_node_event *ev)
{
    af_pyhooks_gate *g = user;
    if (ev->node_index != 0 || ev->output_index != 0 || __atomic_load_n(&g->entered, __ATOMIC_SEQ_CST))
        return;
    __atomic_store_n(&g->entered, 1, __ATOMIC_SEQ_CST);
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 20000 && !__atomic_load_n(&g->released, __ATOMIC_SEQ_CST); i++)
        nanosleep(&ms, NULL);
    __atomic_store_n(&g->saw_release, __atomic_load_n(&g->released, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
}
