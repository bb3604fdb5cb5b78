/* The helpers of the account commands (cli/authcli.h): the sub-command
 * runner, connecting to a database that has the access-control tables, ids,
 * exit codes and looking an account up by login. Messages go to stderr and never contain a
 * password or a token. */
#include "cli/authcli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/start.h"
#include "core/parse.h"
#include "core/secret.h"

/* The arena of one command: a household's accounts, grants and tokens fit
 * easily. */
#define CLI_AUTH_ARENA_BYTES (8u << 20)

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

const struct store_actor cli_actor = {0, "cli"};

int cli_auth_exit(const struct mt_err *err)
{
    return err->code == MT_EINVAL ? MT_EXIT_USAGE : MT_EXIT_FAIL;
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

int cli_authcmd_main(const char *name, const struct cli_authsub *subs, size_t n_subs,
                     void (*usage)(FILE *out), int argc, char **argv,
                     const struct mt_config *cfg)
{
    if (argc < 2) {
        usage(stderr);
        return MT_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return MT_EXIT_OK;
        }
    }
    size_t k = 0;
    while (k < n_subs && strcmp(argv[1], subs[k].name) != 0)
        k++;
    if (k == n_subs) {
        fprintf(stderr, "meditrack %s: unknown command \"%s\" (see meditrack %s --help)\n", name,
                argv[1], name);
        return MT_EXIT_USAGE;
    }
    char prog[48];
    snprintf(prog, sizeof(prog), "meditrack %s %s", name, subs[k].name);
    struct mt_err err = {0};
    if (mt_secret_init(&err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return MT_EXIT_FAIL;
    }
    struct cli_authcmd x = {.prog = prog, .name = name, .cfg = cfg, .a = mt_arena_new(CLI_AUTH_ARENA_BYTES)};
    int rc = subs[k].run(&x, argc - 1, argv + 1);
    mt_arena_free(x.a);
    if (x.c)
        db_close(x.c);
    return rc;
}

int cli_authcmd_usage(const struct cli_authcmd *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", x->prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see meditrack %s --help)\n", x->name);
    va_end(ap);
    return MT_EXIT_USAGE;
}

int cli_authcmd_db(struct cli_authcmd *x)
{
    return x->c ? MT_EXIT_OK : cli_auth_open(x->cfg, x->prog, &x->c);
}

int cli_authcmd_account(struct cli_authcmd *x, const char *login, struct store_account *acc)
{
    int rc = cli_authcmd_db(x);
    return rc != MT_EXIT_OK ? rc : cli_auth_account(x->c, x->a, x->prog, login, acc);
}

int cli_authcmd_failed(const struct cli_authcmd *x, const struct mt_err *err)
{
    fprintf(stderr, "%s: %s\n", x->prog, err->msg);
    return cli_auth_exit(err);
}
