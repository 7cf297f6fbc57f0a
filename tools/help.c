/* tools/help.c — help texts and flag lists of every subcommand (see help.h). */
#include "help.h"

#include <stdio.h>
#include <string.h>

#include "../graph/names.h"
#include "cli.h"

const cli_command cli_commands[] = {
    {"convert", cmd_convert, "convert an ONNX model into a bundle",
     "aneforge convert MODEL.onnx -o OUT.afb [--compress MODE] [--target TARGET [--allow-fallback]]\n"
     "        [--input-shape NAME=D0,D1,...]... [--freeze NAME=FILE.npy]...\n"
     "        [--weights W.safetensors|INDEX.json]... [--image-input NAME:scale=S,bias=B0,B1,B2] [--calib DIR] [--min-psnr DB] [--json] [-q]\n"
     "        [--min-cosine C] [--min-topk P --topk [OUT=]K] [--min-argmax P --argmax-axis [OUT=]A]\n"
     "        [--min-iou P --iou [OUT=]T]\n"
     "        [--keep-fp32 auto|NAME,... [--paired-fp16 auto|NAME,...] [--cfg-calib DIR]\n"
     "         [--min-cfg-psnr DB] [--cfg-scale S]]",
     "  -o, --output FILE     the bundle to write (atomically: an old file survives any failure)\n"
     "  --compress MODE       fp16 (default), fp32, int8, int4, sparse, blockwise, palette or auto\n"
     "  --group-size N        int4/palette: one table per N output channels (default 16; 0: one)\n"
     "  --palette-bits N      palette: index bits 1, 2, 3, 4 (default), 6 or 8\n"
     "  --palette-scale none|row  int4/palette: fp16 scale+offset per output channel (default row)\n"
     "  --block-size N        blockwise: block length along the input axis (power of 2 >= 8; 32)\n"
     "  --block-bits 4|8      blockwise: bits per weight (default 4)\n"
     "  --sparsity S          sparse: prune the smallest fraction S in [0,1) first\n"
     "  --int8-asymmetric     int8 with a zero point;  --int8-per-tensor: one scale per tensor\n"
     "  --target TARGET       check against a family, chip or iPhone (see `aneforge targets`)\n"
     "  --allow-fallback      keep ops the family cannot run, placed on the CPU\n"
     "  --calib DIR           calibration inputs (.npy per input): auto judges on them, and\n"
     "                        int8/int4/blockwise/auto codes become data-aware (GPTQ)\n"
     "  --data-free           with --calib, encode without its statistics (judging only)\n"
     "  --min-psnr DB         auto: whole-model accuracy gate (default 35)\n"
     "  --max-size R          auto, size first: weights at most R of fp32, least error within\n"
     "  --min-cosine C        auto: also every output's cosine >= C (C in [0,1])\n"
     "  --min-topk P, --min-argmax P, --min-iou P   auto: also agreement >= P (fraction 0..1)\n"
     "                        of the measures --topk [OUT=]K, --argmax-axis [OUT=]A, --iou [OUT=]T\n"
     "  --input-shape N=D,..  fix the dynamic dimensions of input N\n"
     "  --freeze N=FILE.npy   make input N a constant holding the file's tensor\n"
     "  --weights FILE        take initializers from safetensors files (or a shard index)\n"
     "  --weight-map FILE     rename/prefix rules from file names to ONNX names\n"
     "  --allow-partial       accept weights files that do not cover every initializer\n"
     "  --image-input SPEC    declare a uint8 image input dequantised inside the program\n"
     "  --no-fuse             keep BatchNorm, activations and residual adds as separate ops\n"
     "  --no-inplace-concat   Concat copies its inputs (no in-place planning; debugging)\n"
     "  --json                print the conversion report as JSON\n"
     "  -q, --quiet           print nothing on success\n"
     "  --keep-fp32 auto|N,.. nodes run fp32 on the CPU (fp16 guidance; docs/sd-fp16.md)\n"
     "  --paired-fp16 auto|N,..  nodes carry activations as hi+lo halves (emulated)\n"
     "  --cfg-calib DIR       DIR/cond/ and DIR/uncond/ inputs: auto meets --min-cfg-psnr\n"
     "                        (default 40) on u + S(c - u), --cfg-scale S (default 7.5)",
     "aneforge convert models/small_cnn/model.onnx -o small.afb\n"
     "aneforge convert resnet18.onnx -o r18.afb --compress auto --target h14 --calib calib/\n"
     "aneforge convert det.onnx -o det.afb --input-shape images=1,3,640,640",
     "-o= --output= --compress= --group-size= --palette-bits= --palette-scale= --block-size= --block-bits= --sparsity= "
     "--int8-asymmetric --int8-per-tensor --target= --allow-fallback --calib= --data-free "
     "--max-size= "
     "--min-psnr= "
     "--min-cosine= --min-topk= --min-argmax= --min-iou= --topk= --argmax-axis= --iou= "
     "--input-shape= --weights= --weight-map= --allow-partial --image-input= --no-fuse --json "
     "--no-inplace-concat -q --quiet --freeze= --keep-fp32= --paired-fp16= --cfg-calib= "
     "--min-cfg-psnr= --cfg-scale="},
    {"run", cmd_run, "run a bundle on .npy inputs",
     "aneforge run BUNDLE.afb --inputs DIR [--outputs DIR] [--threads N] [--fp16] [--stream-weights]\n"
     "        [--expand-weights] [--int8-compute]",
     "  --inputs DIR          one DIR/<input name>.npy per graph input\n"
     "  --outputs DIR         write DIR/<output name>.npy (else print a summary per output)\n"
     "  --threads N           worker threads (results are identical for any N)\n"
     "  --fp16                round every activation to fp16, as the ANE's dataplane does\n"
     "  --stream-weights      keep weights as stored and decode each layer when it runs\n"
     "  --expand-weights      widen every compressed weight to f32 (no compressed panels)\n"
     "  --int8-compute        convs with int8 weights multiply in int8 (AVX512-VNNI): faster,\n"
     "                        not exact (bench --int8-compute reports the cost)",
     "aneforge run small.afb --inputs models/small_cnn/inputs --outputs out/",
     "--inputs= --outputs= --threads= --fp16 --stream-weights --expand-weights --int8-compute"},
    {"inspect", cmd_inspect, "describe a bundle, an ONNX model or a safetensors file",
     "aneforge inspect FILE(.afb|.onnx|.safetensors) [--json]",
     "  --json                machine-readable output",
     "aneforge inspect small.afb\naneforge inspect model.onnx --json",
     "--json"},
    {"validate", cmd_validate, "accuracy of a bundle against the model's fp32 program",
     "aneforge validate MODEL.onnx BUNDLE.afb [--inputs DIR | --seed N] [--reference DIR] [--fp16]\n"
     "        [--int8-compute] [--per-layer] [--min-psnr DB] [--json FILE] [--plot FILE.svg]\n"
     "        [--freeze N=FILE.npy]...\n"
     "        [--topk [OUT=]K] [--argmax-axis [OUT=]A] [--iou [OUT=]T] [--min-cosine C]\n"
     "        [--min-topk P] [--min-argmax P] [--min-iou P]\n"
     "aneforge validate MODEL.onnx BUNDLE.afb --cond DIR --uncond DIR [--cfg-scale S] [--fp16]\n"
     "        [--per-layer] [--min-psnr DB] [--json FILE]\n"
     "aneforge validate --manifest FILE [...]",
     "  --inputs DIR          inputs as .npy (else --seed N random inputs)\n"
     "  --reference DIR       also compare with outputs produced elsewhere (e.g. ONNX Runtime)\n"
     "  --fp16                run the bundle with fp16 activations (ANE dataplane)\n"
     "  --int8-compute        run the bundle with int8 compute (run --int8-compute)\n"
     "  --per-layer           compare every intermediate tensor by name, worst first\n"
     "  --min-psnr DB         exit 1 when an output is below DB\n"
     "  --topk [OUT=]K        top-1 and top-K agreement over the last (class) axis\n"
     "  --argmax-axis [OUT=]A argmax agreement along axis A (e.g. -1 for CTC [N,T,C])\n"
     "  --iou [OUT=]T         IoU of the masks ref > T and bundle > T (probability maps)\n"
     "                        (without OUT=: every output the measure fits)\n"
     "  --min-cosine C, --min-topk P, --min-argmax P, --min-iou P\n"
     "                        exit 1 when an output is below (fractions in [0,1])\n"
     "  --json FILE, --plot FILE.svg   reports; --manifest FILE: several components\n"
     "  --freeze N=FILE.npy   the bundle's convert --freeze (for the fp32 reference)\n"
     "  --cond DIR, --uncond DIR   classifier-free guidance: both input sets; reports c, u,\n"
     "                        d = c - u and u + S(c - u) (--min-psnr then gates the guided one)\n"
     "  --cfg-scale S         guidance scale (default 7.5)",
     "aneforge validate model.onnx small_i8.afb --inputs in/ --per-layer --fp16 --plot layers.svg",
     "--inputs= --seed= --reference= --fp16 --int8-compute --per-layer --min-psnr= --json= --plot= --manifest= "
     "--threads= --top= --image-input= --input-shape= --freeze= --topk= --argmax-axis= --iou= "
     "--min-cosine= --min-topk= --min-argmax= --min-iou= --cond= --uncond= --cfg-scale="},
    {"bench", cmd_bench, "time load, first run and median run; report peak RSS",
     "aneforge bench BUNDLE.afb [--inputs DIR] [--threads N] [--runs N] [--stream-weights] [--json]"
     " [--profile]\n        [--expand-weights] [--int8-compute]",
     "  --runs N              timed runs after the first (default 10)\n"
     "  --json                one JSON object: load_ms, first_run_ms, run_ms_median, peak_rss_kb,\n"
     "                        weight_bytes (resident weights), ...\n"
     "  --expand-weights      widen every compressed weight to f32 (no compressed panels)\n"
     "  --int8-compute        convs with int8 weights multiply in int8 (AVX512-VNNI); also runs\n"
     "                        the bundle once with f32 compute and reports each output's PSNR,\n"
     "                        cosine, max abs and relative L2 error against it\n"
     "  --profile             also time every node (fastest run): the 25 slowest and totals per op\n"
     "                        (the timed runs then include the observer's small cost)",
     "aneforge bench small.afb --runs 20 --json",
     "--inputs= --threads= --runs= --stream-weights --expand-weights --int8-compute --json "
     "--profile"},
    {"check", cmd_check, "list what keeps ops off a family's ANE; predict fp16 trouble",
     "aneforge check MODEL.onnx --target TARGET [--fp16 [--calib DIR]] [--input-shape N=D,...] [--json]",
     "  --target TARGET       a family h13..h17s, a chip a11..m5max or an iPhone (iphone13); exit 1\n"
     "                        when any cap of its family is violated\n"
     "  --fp16                run the fp32 program and flag overflow, precision loss, cancellation",
     "aneforge check models/small_cnn/model.onnx --target h14",
     "--target= --fp16 --calib= --input-shape= --json"},
    {"estimate", cmd_estimate, "roofline latency estimate per op and in total",
     "aneforge estimate BUNDLE.afb|MODEL.onnx [--target TARGET|host] [--assume-weights ENC] [--json]\n"
     "        [--measure [--inputs DIR] [--runs N]] [--top N]",
     "  --target TARGET       a family (h14), chip (a15, m2ultra) or iPhone (iphone13): the device's\n"
     "                        own peak and bandwidth on its family row, each figure's source printed;\n"
     "                        a bundle's recorded target (convert --target) when left out\n"
     "  --target host         use figures measured on this machine by a short probe\n"
     "  --assume-weights ENC  price weights as int8/int4/... instead of as stored\n"
     "  --measure             also time the bundle here (with --target host)",
     "aneforge estimate small.afb --target h14",
     "--target= --assume-weights= --json --measure --inputs= --runs= --top= --input-shape="},
    {"targets", cmd_targets, "ANE families and Apple devices, every figure sourced; detect this chip",
     "aneforge targets [--json] [--peak | --provenance TARGET | --detect [--hw-model S] [--brand S]]",
     "  --json                machine-readable output\n"
     "  --peak                the generational peak table (Apple's figure and the fp16 peak per chip)\n"
     "  --provenance TARGET   which figures of TARGET are sourced or assumed, and its family anchor\n"
     "  --detect              this machine's chip and family (sysctl on Apple; 'no ANE' elsewhere)\n"
     "  --hw-model S, --brand S  with --detect: resolve recorded sysctl strings instead",
     "aneforge targets --provenance iphone13",
     "--json --peak --provenance= --detect --hw-model= --brand="},
    {"sd-trajectory", cmd_sd_trajectory, "DDIM denoising trajectory of a SD UNet: deployed vs fp32",
     "aneforge sd-trajectory UNET.afb [--steps N] [--cfg-scale S] [--scheduler ddim] [--seed K] [--fp16]\n"
     "        [--reference FP32.afb] [--cond DIR --uncond DIR] [--min-psnr DB] [--threads N] [--json]",
     "  --steps N             DDIM steps (eta 0, SD-1.5's scaled-linear schedule; default 20)\n"
     "  --cfg-scale S         guidance scale: eps = u + S(c - u) (default 7.5)\n"
     "  --scheduler ddim      the sampler (ddim, the only one)\n"
     "  --seed K              the initial latent's N(0,1) seed (default 0)\n"
     "  --fp16                the deployed run emulates the ANE's fp16 dataplane (and the bundle's\n"
     "                        --keep-fp32/--paired-fp16 placement); without it, fp32 as well\n"
     "  --reference FP32.afb  the fp32 trajectory from this bundle (default: UNET.afb itself)\n"
     "  --cond DIR, --uncond DIR   encoder_hidden_states.npy of each (default: seeded N(0,1)\n"
     "                        cond, all-zeros uncond)\n"
     "  --min-psnr DB         exit 1 when the final latent's PSNR is below DB\n"
     "  --json                print the report as one JSON object",
     "aneforge sd-trajectory unet.afb --steps 20 --fp16\n"
     "aneforge sd-trajectory unet_h16.afb --fp16 --reference unet_fp32.afb --json",
     "--steps= --cfg-scale= --scheduler= --seed= --fp16 --reference= --cond= --uncond= "
     "--min-psnr= --threads= --json"},
};
const int cli_n_commands = (int)(sizeof cli_commands / sizeof cli_commands[0]);

const cli_command *cli_find_command(const char *name)
{
    for (int i = 0; i < cli_n_commands; i++)
        if (!strcmp(cli_commands[i].name, name)) return &cli_commands[i];
    return NULL;
}

void cli_print_overview(void *file)
{
    FILE *f = file;
    fputs("usage: aneforge <command> [options]      (aneforge help <command> for details)\n\n"
          "commands:\n", f);
    for (int i = 0; i < cli_n_commands; i++)
        fprintf(f, "  %-13s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fputs("\nexit codes: 0 ok, 1 check failed, 2 usage, 3 bad input file or model, "
          "4 internal error\n", f);
}

void cli_print_command_help(const cli_command *c)
{
    printf("aneforge %s — %s\n\nusage:\n  %s\n\noptions:\n%s\n\nexamples:\n", c->name, c->summary,
           c->usage, c->details);
    for (const char *p = c->examples; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        printf("  %.*s\n", (int)n, p);
        p += n + (e ? 1 : 0);
    }
}

/* Looks flag up in c->flags: 0 unknown, 1 boolean, 2 takes a value. Fills names for hints. */
static int flag_kind(const cli_command *c, const char *flag, const char **names, char *store,
                     size_t store_size, size_t *n_names)
{
    snprintf(store, store_size, "%s", c->flags);
    int kind = 0;
    *n_names = 0;
    for (char *tok = strtok(store, " "); tok; tok = strtok(NULL, " ")) {
        size_t len = strlen(tok);
        int takes = len && tok[len - 1] == '=';
        if (takes) tok[len - 1] = '\0';
        if (!strcmp(tok, flag)) kind = takes ? 2 : 1;
        if (*n_names < 64) names[(*n_names)++] = tok;
    }
    return kind;
}

int cli_check_flags(const cli_command *c, int argc, char **argv)
{
    char store[1024];
    const char *names[64];
    size_t n_names;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9')) continue;
        int kind = flag_kind(c, a, names, store, sizeof store, &n_names);
        if (kind == 2) {
            if (i + 1 >= argc)
                return cli_error(CLI_USAGE, "%s: option '%s' needs a value (see 'aneforge help %s')",
                                 c->name, a, c->name);
            i++;
        } else if (kind == 0) {
            const char *near = af_nearest_name(a, names, n_names);
            return cli_error(CLI_USAGE, "%s: unknown option '%s'%s%s%s (see 'aneforge help %s')",
                             c->name, a, near ? "; did you mean '" : "", near ? near : "",
                             near ? "'?" : "", c->name);
        }
    }
    return CLI_OK;
}
