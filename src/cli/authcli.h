/* What the account commands share (`meditrack user`, `meditrack token`,
 * cli/user.c and cli/token.c): opening a database that has the
 * access-control tables, the exit code for a store error, options of the
 * form "--name value" / "--name=value", ids, and finding an account by
 * login with a message that says what is wrong. Only cli/ includes it. */
#ifndef MT_CLI_AUTHCLI_H
#define MT_CLI_AUTHCLI_H

#include <stdbool.h>
#include <stdint.h>

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

/* argv[*i] is the option name given as "--name value" or "--name=value":
 * true, *out the value (NULL when it is missing; *i moves past it). */
bool cli_auth_option(int argc, char **argv, int *i, const char *name, const char **out);

/* A row id (1 .. INT64_MAX) from text; -1 for anything else. */
int cli_auth_parse_id(const char *s, int64_t *out);

/* The account with that login into *acc (strings in a). Prints why on
 * stderr and returns the exit code when there is none (1) or the login
 * cannot be one (2); MT_EXIT_OK otherwise. */
int cli_auth_account(struct db_conn *c, struct mt_arena *a, const char *prog, const char *login,
                     struct store_account *acc);

#endif
