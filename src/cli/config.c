/* `meditrack config`: prints the effective configuration with secrets masked
 * and where each value came from, or (--list) every variable the program
 * understands. Handy before `serve` to see what a deployment really gets. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: meditrack config [--list] [--help]\n\n"
                 "Prints the effective configuration as NAME=value lines, each followed by\n"
                 "where the value came from (default, .env, env or flag). Secrets and the\n"
                 "password in DATABASE_URL are shown as ***.\n\n"
                 "  --list   describe every variable: flag, accepted values, default\n"
                 "  --help   show this text and that description\n");
}

int cmd_config(int argc, char **argv, const struct mt_config *cfg)
{
    bool list = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            fputc('\n', stdout);
            mt_config_print_help(stdout);
            return MT_EXIT_OK;
        }
        if (strcmp(argv[i], "--list") == 0) {
            list = true;
            continue;
        }
        fprintf(stderr, "meditrack config: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return MT_EXIT_USAGE;
    }
    if (list)
        mt_config_print_help(stdout);
    else
        mt_config_print(cfg, stdout);
    return fflush(stdout) == 0 ? MT_EXIT_OK : MT_EXIT_FAIL;
}
