/* aneforge/validate.h — what conversion and compression did to accuracy, as data: the library
 * side of `aneforge validate MODEL.onnx BUNDLE.afb` (docs/validation.md) for programs and
 * language bindings (the Python package, docs/python.md).
 *
 *   af_validate_options o = {0};
 *   o.model_path = "model.onnx";  o.bundle_path = "model.afb";  o.inputs_dir = "inputs";
 *   af_validation *v;  char msg[512];
 *   if (af_validate(&o, &v, msg, sizeof msg) != AF_OK) { puts(msg); return; }
 *   puts(af_validation_json(v));             // the document `validate --json FILE` writes
 *   int ok = af_validation_passed(v);        // every output meets min_psnr
 *   af_validation_free(v);
 *
 * The model is converted into its fp32 program (the reference) and both run on the same inputs
 * through the runtime; every output (and, with per_layer, every layer) is measured: PSNR, max
 * abs error, relative L2, cosine. Nothing is printed.
 */
#ifndef ANEFORGE_VALIDATE_H
#define ANEFORGE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "aneforge/converter.h"
#include "aneforge/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct af_validate_options {
    const char *model_path;      /* the ONNX model */
    const char *bundle_path;     /* the bundle converted from it */
    const char *inputs_dir;      /* DIR/<input>.npy; NULL = seeded random inputs */
    uint64_t seed;               /* for random inputs; 0 = 1 (the CLI's default) */
    int fp16;                    /* run the bundle with fp16 activations (the ANE's dataplane) */
    int per_layer;               /* measure every intermediate tensor the two programs share */
    int n_threads;               /* 0 = 1 */
    double min_psnr;             /* the gate af_validation_passed judges, dB; 0 = no gate */
    const af_shape_spec *shapes; /* the bundle's --input-shape, for the reference */
    int n_shapes;
    const af_image_input_spec *image_inputs; /* the bundle's --image-input */
    int n_image_inputs;
    const af_freeze_spec *freeze;             /* the bundle's --freeze */
    int n_freeze;
    /* classifier-free guidance (validate --cond/--uncond, docs/sd-fp16.md): both set = the
     * bundle and the fp32 program run on both input sets (inputs_dir and seed unused); the
     * report holds c, u, c − u and u + cfg_scale·(c − u) per output (and per layer the error of
     * the difference), min_psnr gates the guided output; no plot */
    const char *cond_dir, *uncond_dir;
    double cfg_scale;            /* 0 = 7.5 */
    int int8_compute;            /* run the bundle with af_session_options.int8_compute (the
                                  * report then holds int8 weights and int8 compute together) */
} af_validate_options;

typedef struct af_validation af_validation;

/* Runs the validation. Errors (a missing file, a bundle that does not match the model, ...) are
 * one line in msg, with the status the CLI maps to its exit codes. */
af_status af_validate(const af_validate_options *o, af_validation **out, char *msg,
                      size_t msg_size);
/* The report as `aneforge validate --json FILE` writes it (NUL-terminated, owned by v). */
const char *af_validation_json(const af_validation *v);
/* 1 when every output's PSNR is >= min_psnr (always 1 without a gate; NaN fails). */
int af_validation_passed(const af_validation *v);
/* Writes the per-layer PSNR plot `aneforge validate --plot FILE.svg` draws (per_layer runs). */
af_status af_validation_write_svg(const af_validation *v, const char *path, char *msg,
                                  size_t msg_size);
void af_validation_free(af_validation *v);

#ifdef __cplusplus
}
#endif
#endif
