/* convert/sd_trajectory.h — the denoising-trajectory check of a Stable Diffusion UNet under its
 * deployed precision (`aneforge sd-trajectory`, docs/sd-fp16.md "The denoising trajectory").
 *
 * af_sd_trajectory() runs N deterministic DDIM steps (eta 0) with classifier-free guidance from
 * one seeded latent twice, through the same runtime:
 *   reference  the reference bundle (o->reference_path, else the UNet bundle itself) in fp32:
 *              no fp16 emulation;
 *   deployed   the UNet bundle as deployed: with o->fp16 the ANE's fp16 dataplane emulated
 *              (af_session_options.fp16), honouring the placement its metadata records
 *              (convert --keep-fp32 / --paired-fp16); without it, in fp32 as well;
 * and measures the deployed latent against the reference latent after every step
 * (convert/metrics.h: PSNR, max abs, relative L2 = the relative drift, cosine).
 *
 * The sampler is SD-1.5's (diffusers' DDIMScheduler on SD-1.5's scheduler config): 1000
 * training steps, betas "scaled linear" (β_i = (√0.00085 + i·(√0.012 − √0.00085)/999)²),
 * ᾱ_t = Π_{i<=t} (1 − β_i); N inference steps spaced "leading" with offset 1:
 * t_k = ⌊1000/N⌋·k + 1 for k = N−1 … 0; the step after the last uses ᾱ = ᾱ_0 (set_alpha_to_one
 * false). Per step, with ε = u + s·(c − u) the guided prediction of the UNet on cond and uncond:
 *   x0 = (x − √(1 − ᾱ_t)·ε) / √ᾱ_t,   x ← √ᾱ_prev·x0 + √(1 − ᾱ_prev)·ε
 * computed in double and handed to the next step as f32 (the latent is an f32 input). The
 * initial latent is N(0,1) from the seeded generator of the project (af_target_fill_normal, seed
 * o->seed; init_noise_sigma is 1 for DDIM). bench/sd_trajectory.py is the same loop in numpy.
 *
 * The bundle must be UNet-shaped: inputs sample (N,C,H,W) f32, timestep (one value; f32, f16,
 * i32 or i64) and encoder_hidden_states (N,L,D) f32 — found by these names, else by shape (the
 * only rank-4 float input, the only one-element input, the only rank-3 float input) — and an
 * f32 output shaped like sample ("output", else the first such). Conditioning: cond_dir and
 * uncond_dir hold encoder_hidden_states.npy each; without them cond is N(0,1) from seed
 * AF_TRAJ_COND_SEED (fixed: o->seed changes the latent only, as a pipeline's seed does) and
 * uncond is all zeros. */
#ifndef AF_CONVERT_SD_TRAJECTORY_H
#define AF_CONVERT_SD_TRAJECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "../graph/error.h"
#include "metrics.h"

#define AF_TRAJ_MAX_STEPS 999   /* t_k = ⌊1000/N⌋·k + 1 stays below 1000 */
#define AF_TRAJ_COND_SEED 2024u /* the seeded default text embedding */

typedef struct af_traj_options {
    const char *bundle_path;    /* the UNet bundle (deployed) */
    const char *reference_path; /* NULL: the same bundle without fp16 emulation */
    int steps;                  /* 1 .. AF_TRAJ_MAX_STEPS */
    double cfg_scale;           /* guidance scale s (finite) */
    uint64_t seed;              /* the initial latent */
    int fp16;                   /* deployed run with fp16 emulation */
    const char *cond_dir, *uncond_dir; /* both or neither: DIR/encoder_hidden_states.npy */
    int n_threads;              /* 0 = 1 (results are identical for any count) */
} af_traj_options;

typedef struct af_traj_step {
    int t;                      /* the timestep fed to the UNet */
    af_metrics m;               /* deployed latent vs reference latent after this step */
    double ref_max_abs;         /* max |x| of the reference latent */
} af_traj_step;

typedef struct af_traj_result {
    int steps;
    af_traj_step *step;         /* [steps]; the last is the final latent */
    int n_fp32, n_paired;       /* the deployed run's placement (fp16 only) */
    char sample[128], timestep[128], context[128], output[128]; /* the names found */
    int64_t latent_elems;
} af_traj_result;

/* Runs the check. Errors are one line naming the file: AF_ERR_USAGE for bad options,
 * AF_ERR_UNSUPPORTED for a bundle that is not UNet-shaped (saying what is missing), AF_ERR_SHAPE
 * for a reference bundle or an .npy file that does not match, AF_ERR_IO/FORMAT for unreadable
 * files. r is zeroed first and holds nothing to free on failure. */
af_status af_sd_trajectory(const af_traj_options *o, af_traj_result *r, af_err *err);
void af_traj_result_free(af_traj_result *r);

/* The schedule: abar[1000] (ᾱ_t) and ts[steps] (t_k in the order they run). */
void af_ddim_schedule(int steps, double *abar, int *ts);

/* The report as JSON (NUL-terminated, malloc'd; NULL when out of memory); min_psnr != 0 adds
 * the gate on the final latent's PSNR and whether it passed. */
char *af_traj_json(const af_traj_options *o, const af_traj_result *r, double min_psnr);

#endif
