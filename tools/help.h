/* tools/help.h — the command table: one row per subcommand with its help text and the flags it
 * accepts (so main.c can answer --help, and refuse a misspelt flag with a suggestion, before the
 * subcommand parses anything). */
#ifndef AF_TOOLS_HELP_H
#define AF_TOOLS_HELP_H

typedef struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;  /* one line for `aneforge --help` */
    const char *usage;    /* synopsis lines */
    const char *details;  /* options and behaviour */
    const char *examples; /* command lines, one per line */
    /* accepted flags, space separated; a trailing '=' means the flag takes a value */
    const char *flags;
} cli_command;

extern const cli_command cli_commands[];
extern const int cli_n_commands;

const cli_command *cli_find_command(const char *name);
void cli_print_overview(void *file);
void cli_print_command_help(const cli_command *c);
/* Checks every flag in argv[1..] against c->flags; prints the error (with a suggestion) and
 * returns CLI_USAGE for an unknown one, else CLI_OK. */
int cli_check_flags(const cli_command *c, int argc, char **argv);

#endif
