/* Entry point of the meditrack binary: the command table, global options, and
 * configuration loading. Invoked as `alembic` (a symlink), it behaves as
 * `meditrack db`, so the commands people already type keep working.
 * `meditrack <command> --help` must work even when the configuration is
 * invalid, so a command asked for help gets the built-in defaults instead of
 * the real configuration and only prints its usage. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"

#ifndef MT_VERSION
#define MT_VERSION "0.0.0"
#endif

struct command {
    const char *name;
    int (*fn)(int argc, char **argv, const struct mt_config *cfg);
    const char *summary;
};

/* One line per command, kept unwrapped so that additions stay one-line diffs. */
/* clang-format off */
static const struct command commands[] = {
    {.name = "config", .fn = cmd_config, .summary = "show the configuration, secrets masked"},
    {.name = "serve", .fn = cmd_serve, .summary = "serve the HTTP API until SIGTERM/SIGINT"},
    {.name = "init", .fn = cmd_init, .summary = "wait for the database, migrate, seed, then exit"},
    {.name = "seed", .fn = cmd_seed, .summary = "put the default person into an empty database"},
    {.name = "export", .fn = cmd_export, .summary = "write the whole record as a versioned JSON document (docs/export-format.md)"},
    {.name = "import", .fn = cmd_import, .summary = "read an export document into this database, all or nothing (--dry-run previews)"},
    {.name = "db", .fn = cmd_db, .summary = "schema migrations: current, history, upgrade, downgrade, stamp, check, ...; copy"},
    {.name = "healthcheck", .fn = cmd_healthcheck, .summary = "GET /health of the running server; exit 0 on 200"},
    {.name = "backup", .fn = cmd_backup, .summary = "write a consistent backup of the database into one SQLite file"},
    {.name = "restore", .fn = cmd_restore, .summary = "restore a backup file into an empty database of any engine"},
    {.name = "audit", .fn = cmd_audit, .summary = "audit verify: check the audit trail's hash chain; audit head"},
    {.name = "user", .fn = cmd_user, .summary = "accounts: add, list, passwd, disable, enable, grant, revoke, ..."},
    {.name = "token", .fn = cmd_token, .summary = "API tokens: create (printed once), list, revoke"},
};
/* clang-format on */

static void usage(FILE *out)
{
    fprintf(out, "usage: meditrack [--help] [--version] <command> [options] [args]\n\n"
                 "MediTrack, the self-hosted medication tracker for a household.\n\ncommands:\n");
    for (size_t i = 0; i < MT_ARRAY_LEN(commands); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nEvery command accepts configuration flags named after the variables,\n"
                 "e.g. --database-url URL, --port 8001, --debug (see `meditrack config --list`),\n"
                 "and `meditrack <command> --help` (or `meditrack help <command>`).\n\n"
                 "exit codes:\n"
                 "  0 success\n"
                 "  1 the command failed (db check: revisions pending; audit verify: the\n"
                 "    audit trail's chain does not hold)\n"
                 "  2 bad command line\n"
                 "  3 bad configuration value or DATABASE_URL, or a database file the\n"
                 "    process may not write (permissions, read-only)\n"
                 "  4 the database never became ready\n"
                 "  5 authentication refused or database missing (waiting cannot help)\n"
                 "  6 a migration failed (the database stays at its last good revision)\n"
                 "  7 an untracked database could not be matched to a known revision\n"
                 "  8 the HTTP server could not start\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* True for a word a boolean flag may take as its value. */
static bool bool_word(const char *s)
{
    static const char *const words[] = {"true", "false", "1", "0", "yes", "no", "on", "off"};
    for (size_t i = 0; i < MT_ARRAY_LEN(words); i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    return false;
}

/* Moves configuration flags (--port 8001, --database-url=URL) out of argv into
 * ov, compacting argv in place. A boolean flag without a value (--debug)
 * means true. Returns the new argc, or -1 on a flag that is missing its
 * value. Arguments after "--" are left alone. */
static int take_config_flags(int argc, char **argv, struct mt_config_override *ov, size_t *n_ov)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        char flag[64];
        const char *eq = strchr(a, '=');
        size_t flen = eq ? (size_t)(eq - a) : strlen(a);
        const char *name = NULL;
        if (a[0] == '-' && a[1] == '-' && flen < sizeof(flag)) {
            memcpy(flag, a, flen);
            flag[flen] = '\0';
            name = mt_config_flag_name(flag);
        }
        if (!name) {
            argv[out++] = a;
            continue;
        }
        if (eq) {
            ov[*n_ov].value = eq + 1;
        } else if (mt_config_is_bool(name) && (i + 1 >= argc || !bool_word(argv[i + 1]))) {
            ov[*n_ov].value = "true";
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "meditrack: option %s needs a value\n", a);
                return -1;
            }
            ov[*n_ov].value = argv[++i];
        }
        ov[*n_ov].name = name;
        (*n_ov)++;
    }
    return out;
}

/* True when the command's arguments ask for help (before any "--"). */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

static int run(const struct command *cmd, int argc, char **argv,
               const struct mt_config_override *ov, size_t n_ov)
{
    struct mt_config cfg;
    if (wants_help(argc, argv)) {
        mt_config_load_defaults(&cfg);
    } else {
        struct mt_err err = {0};
        if (mt_config_load(&cfg, ov, n_ov, &err) < 0) {
            fprintf(stderr, "meditrack: configuration error: %s\n", err.msg);
            fprintf(stderr, "(see `meditrack config --list` for every variable)\n");
            return MT_EXIT_CONFIG;
        }
    }
    mt_log_setup(cfg.log_level, cfg.log_format);
    int rc = cmd->fn(argc, argv, &cfg);
    mt_config_release(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];

    struct mt_config_override ov[64];
    size_t n_ov = 0;
    if (argc > (int)MT_ARRAY_LEN(ov)) {
        fprintf(stderr, "meditrack: too many arguments\n");
        return MT_EXIT_USAGE;
    }
    argc = take_config_flags(argc, argv, ov, &n_ov);
    if (argc < 0)
        return MT_EXIT_USAGE;

    if (strcmp(base, "alembic") == 0) {
        /* `alembic upgrade head` == `meditrack db upgrade head`. */
        const struct command *db = find_command("db");
        if (!db) {
            fprintf(stderr, "alembic: the db command is not built into this binary\n");
            return MT_EXIT_USAGE;
        }
        return run(db, argc, argv, ov, n_ov);
    }

    if (argc < 2) {
        usage(stderr);
        return MT_EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return MT_EXIT_OK;
        }
        /* `meditrack help serve` is `meditrack serve --help`. */
        const struct command *cmd = find_command(argv[2]);
        if (!cmd) {
            fprintf(stderr, "meditrack: unknown command '%s' (see meditrack --help)\n", argv[2]);
            return MT_EXIT_USAGE;
        }
        char help_flag[] = "--help";
        char *help_argv[] = {argv[2], help_flag, NULL};
        return run(cmd, 2, help_argv, ov, n_ov);
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0 ||
        strcmp(first, "version") == 0) {
        printf("meditrack %s\n", MT_VERSION);
        return MT_EXIT_OK;
    }
    if (first[0] == '-') {
        fprintf(stderr, "meditrack: unknown option '%s' (see meditrack --help)\n", first);
        return MT_EXIT_USAGE;
    }
    const struct command *cmd = find_command(first);
    if (!cmd) {
        fprintf(stderr, "meditrack: unknown command '%s' (see meditrack --help)\n", first);
        return MT_EXIT_USAGE;
    }
    return run(cmd, argc - 1, argv + 1, ov, n_ov);
}
