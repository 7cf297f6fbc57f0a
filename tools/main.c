/* tools/main.c — the aneforge command line: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: aneforge <command> [options]\n"
    "\n"
    "commands:\n"
    "  convert MODEL.onnx -o OUT.afb [--compress fp32|fp16] [--input-shape NAME=D0,D1,...]...\n"
    "          [--target FAMILY [--allow-fallback]] [--no-fuse]\n"
    "                       convert an ONNX model into a bundle\n"
    "  run BUNDLE.afb --inputs DIR [--outputs DIR] [--threads N] [--fp16]\n"
    "                       run a bundle on .npy inputs (DIR/<input name>.npy)\n"
    "  inspect FILE(.afb|.onnx) [--json]\n"
    "                       describe a bundle or a model\n"
    "  validate MODEL.onnx BUNDLE.afb [--inputs DIR | --seed N] [--reference DIR] [--fp16]\n"
    "          [--per-layer] [--min-psnr DB] [--json FILE] [--plot FILE.svg] | --manifest FILE\n"
    "                       accuracy of the bundle vs the model's fp32 program, per output\n"
    "                       and per layer\n"
    "  bench BUNDLE.afb [--inputs DIR] [--threads N] [--runs N] [--stream-weights] [--json]\n"
    "                       time load, first run and median run; report peak RSS\n"
    "  check MODEL.onnx --target FAMILY [--fp16 [--calib DIR]] [--json]\n"
    "                       list what keeps ops off the family's ANE; predict fp16 trouble\n"
    "  estimate BUNDLE.afb|MODEL.onnx --target FAMILY|host [--assume-weights ENC] [--json]\n"
    "          [--measure [--runs N]]\n"
    "                       roofline latency estimate per op and in total\n"
    "  targets [--json]     the ANE family table with the source of every figure\n"
    "\n"
    "exit codes: 0 ok, 1 check failed, 2 usage, 3 bad input file or model, 4 internal error\n";

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        puts("aneforge " AF_VERSION_STRING);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"convert", cmd_convert}, {"run", cmd_run}, {"inspect", cmd_inspect}, {"bench", cmd_bench},
       {"check", cmd_check}, {"estimate", cmd_estimate}, {"targets", cmd_targets},
       {"validate", cmd_validate}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    cli_error(CLI_USAGE, "unknown command '%s' (try 'aneforge --help')", argv[1]);
    return CLI_USAGE;
}
