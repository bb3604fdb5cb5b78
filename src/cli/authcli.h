/* What the account commands share (`meditrack user`, `meditrack token`,
 * cli/user.c and cli/token.c): the state of one run and the sub-command
 * table that drives it, opening a database that has the access-control
 * tables, the exit code for a store error, ids, and finding an account by
 * login with a message that says what is wrong. Only cli/ includes it. */
#ifndef MT_CLI_AUTHCLI_H
#define MT_CLI_AUTHCLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "db/db.h"
#include "store/auth.h"

/* Opens DATABASE_URL and checks that the access-control revision has run.
 * Returns MT_EXIT_OK with *out open (close it with db_close), or the exit
 * code after printing "<prog>: <why>" on stderr. */
int cli_auth_open(const struct mt_config *cfg, const char *prog, struct db_conn **out);

/* The exit code for a failed store call: MT_EXIT_USAGE for bad input
 * (MT_EINVAL), MT_EXIT_FAIL otherwise (not found, refused, database). */
int cli_auth_exit(const struct mt_err *err);

/* A row id (1 .. INT64_MAX) from text; -1 for anything else. */
int cli_auth_parse_id(const char *s, int64_t *out);

/* The account with that login into *acc (strings in a). Prints why on
 * stderr and returns the exit code when there is none (1) or the login
 * cannot be one (2); MT_EXIT_OK otherwise. */
int cli_auth_account(struct db_conn *c, struct mt_arena *a, const char *prog, const char *login,
                     struct store_account *acc);

/* The actor the audit trail names for changes made with these commands:
 * whoever can run them can already write to the database directly. */
extern const struct store_actor cli_actor;

/* The state of one run of an account command. */
struct cli_authcmd {
    const char *prog; /* "meditrack user add": the start of every message */
    const char *name; /* "user": for "see meditrack user --help" */
    const struct mt_config *cfg;
    struct db_conn *c; /* NULL until cli_authcmd_db */
    struct mt_arena *a;
};

/* One sub-command: argv[0] is its name. Returns the exit code. */
struct cli_authsub {
    const char *name;
    int (*run)(struct cli_authcmd *x, int argc, char **argv);
};

/* The whole of `meditrack <name>`: --help / -h (before "--") prints usage
 * to stdout; otherwise argv[1] picks the sub-command of subs, which runs
 * with its own arguments and a fresh state whose arena and connection are
 * released here afterwards. Returns the sub-command's exit code, or
 * MT_EXIT_USAGE for a missing or unknown sub-command. */
int cli_authcmd_main(const char *name, const struct cli_authsub *subs, size_t n_subs,
                     void (*usage)(FILE *out), int argc, char **argv,
                     const struct mt_config *cfg);

/* Says "<prog>: <what> (see meditrack <name> --help)" on stderr; returns
 * MT_EXIT_USAGE. */
int cli_authcmd_usage(const struct cli_authcmd *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens the database the first time a sub-command needs it, after its
 * arguments were checked: a bad command line is exit code 2 even when the
 * database is unreachable. MT_EXIT_OK or the exit code of cli_auth_open. */
int cli_authcmd_db(struct cli_authcmd *x);

/* cli_authcmd_db, then cli_auth_account with the run's arena. */
int cli_authcmd_account(struct cli_authcmd *x, const char *login, struct store_account *acc);

/* Says "<prog>: <err->msg>" on stderr for a failed store call; returns
 * cli_auth_exit(err). */
int cli_authcmd_failed(const struct cli_authcmd *x, const struct mt_err *err);

#endif
