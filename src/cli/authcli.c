/* The helpers of the account commands (cli/authcli.h): connecting to a
 * database that has the access-control tables, options, ids, exit codes and
 * looking an account up by login. Messages go to stderr and never contain a
 * password or a token. */
#include "cli/authcli.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/start.h"
#include "core/parse.h"

int cli_auth_open(const struct mt_config *cfg, const char *prog, struct db_conn **out)
{
    struct mt_err err = {0};
    struct db_conn *c = NULL;
    if (cli_db_open(cfg, &c, &err) < 0) {
        fprintf(stderr, "%s: cannot connect: %s\n", prog, err.msg);
        return cli_exit_for_connect_error(&err);
    }
    bool exists = false;
    if (db_table_exists(c, "accounts", &exists, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        db_close(c);
        return MT_EXIT_FAIL;
    }
    if (!exists) {
        fprintf(stderr,
                "%s: the database has no accounts yet (revision 5d2e8c1a9f37 has not run): "
                "run `meditrack db upgrade` first\n",
                prog);
        db_close(c);
        return MT_EXIT_FAIL;
    }
    *out = c;
    return MT_EXIT_OK;
}

int cli_auth_exit(const struct mt_err *err)
{
    return err->code == MT_EINVAL ? MT_EXIT_USAGE : MT_EXIT_FAIL;
}

bool cli_auth_option(int argc, char **argv, int *i, const char *name, const char **out)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return true;
    }
    if (strcmp(argv[*i], name) != 0)
        return false;
    *out = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

int cli_auth_parse_id(const char *s, int64_t *out)
{
    struct mt_err err;
    return s && mt_parse_i64(s, strlen(s), 1, INT64_MAX, out, &err) == 0 ? 0 : -1;
}

int cli_auth_account(struct db_conn *c, struct mt_arena *a, const char *prog, const char *login,
                     struct store_account *acc)
{
    struct mt_err err = {0};
    if (store_account_by_login(c, a, login, acc, NULL, &err) == 0)
        return MT_EXIT_OK;
    if (err.code == MT_ENOTFOUND)
        fprintf(stderr, "%s: no account has the login \"%s\" (see `meditrack user list`)\n", prog,
                login);
    else
        fprintf(stderr, "%s: %s\n", prog, err.msg);
    return cli_auth_exit(&err);
}
