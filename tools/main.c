/* tools/main.c — the aneforge command line: help, flag checking, and dispatch to one file per
 * subcommand (the table is in help.c). */
#include <stdio.h>
#include <string.h>

#include "../graph/names.h"
#include "cli.h"
#include "help.h"

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

static int unknown_command(const char *name)
{
    const char *names[32];
    for (int i = 0; i < cli_n_commands && i < 32; i++) names[i] = cli_commands[i].name;
    const char *near = af_nearest_name(name, names, (size_t)cli_n_commands);
    return cli_error(CLI_USAGE, "unknown command '%s'%s%s%s (try 'aneforge --help')", name,
                     near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
}

static int help(int argc, char **argv)
{
    if (argc < 3) {
        cli_print_overview(stdout);
        return CLI_OK;
    }
    const cli_command *c = cli_find_command(argv[2]);
    if (!c) return unknown_command(argv[2]);
    cli_print_command_help(c);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_overview(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return help(argc, argv);
    if (!strcmp(argv[1], "--version")) {
        puts("aneforge " AF_VERSION_STRING);
        return CLI_OK;
    }
    const cli_command *c = cli_find_command(argv[1]);
    if (!c) return unknown_command(argv[1]);
    if (wants_help(argc - 1, argv + 1)) {
        cli_print_command_help(c);
        return CLI_OK;
    }
    int rc = cli_check_flags(c, argc - 1, argv + 1);
    return rc != CLI_OK ? rc : c->fn(argc - 1, argv + 1);
}
