/* `meditrack token`: API tokens for scripts and home automation from the
 * command line (docs/auth.md): create (the new token alone on standard
 * output, shown this once; only its SHA-256 is stored), list and revoke.
 * Token events are logged as "auth: token ..." lines, never the token. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/authcli.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/mtime.h"
#include "core/secret.h"

/* The longest lifetime --expires-days accepts: ten years. */
#define MAX_EXPIRES_DAYS 3650
#define DEFAULT_NAME "command line"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: meditrack token <command> [arguments]\n\n"
            "API tokens: `Authorization: Bearer mtt_...` for scripts and home automation\n"
            "(docs/auth.md). A token acts for its account, capped by its scope.\n\n"
            "commands:\n"
            "  create --user LOGIN --scope read|write|admin [--person ID]\n"
            "         [--expires-days N] [--name TEXT]\n"
            "                     print a new token, alone, on standard output. It is shown\n"
            "                     only this once: only its SHA-256 is kept. read: look only;\n"
            "                     write: also record doses and manage medications; admin:\n"
            "                     everything the account's role allows. --person restricts\n"
            "                     it to one person the account may see; --expires-days ends\n"
            "                     it after N days (1-%d; default: never); --name says what\n"
            "                     it is for (default \"%s\")\n"
            "  list [--user LOGIN]\n"
            "                     every token (of one account): id, account, name, prefix,\n"
            "                     scope, person, created, expires, last used, state\n"
            "  revoke ID          revoke a token at once\n\n"
            "exit codes: 0 done, 1 failed (unknown login, person or token, a token already\n"
            "revoked, the database), 2 bad command line, 3 bad DATABASE_URL, 4/5 database\n"
            "unreachable / refused.\n",
            MAX_EXPIRES_DAYS, DEFAULT_NAME);
}

static bool granted(const struct store_account *acc, int64_t person)
{
    for (size_t i = 0; i < acc->n_persons; i++)
        if (acc->persons[i] == person)
            return true;
    return false;
}

static int sub_create(struct cli_authcmd *x, int argc, char **argv)
{
    const char *login = NULL, *scope_text = NULL, *person_text = NULL, *days_text = NULL;
    const char *name = DEFAULT_NAME, *v;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        const char *opt = argv[i];
        if (cli_option(argc, argv, &i, NULL, "--user", &v))
            slot = &login;
        else if (cli_option(argc, argv, &i, NULL, "--scope", &v))
            slot = &scope_text;
        else if (cli_option(argc, argv, &i, NULL, "--person", &v))
            slot = &person_text;
        else if (cli_option(argc, argv, &i, NULL, "--expires-days", &v))
            slot = &days_text;
        else if (cli_option(argc, argv, &i, NULL, "--name", &v))
            slot = &name;
        else
            return cli_authcmd_usage(x, "unexpected argument \"%s\"", opt);
        if (!v)
            return cli_authcmd_usage(x, "%s needs a value", opt);
        *slot = v;
    }
    if (!login)
        return cli_authcmd_usage(x, "missing --user LOGIN");
    struct store_token_fields f = {.name = name};
    if (!scope_text)
        return cli_authcmd_usage(x, "missing --scope read|write|admin");
    if (store_scope_parse(scope_text, &f.scope) < 0)
        return cli_authcmd_usage(x, "invalid --scope \"%s\": expected read, write or admin",
                         scope_text);
    if (person_text) {
        if (cli_auth_parse_id(person_text, &f.person_id) < 0)
            return cli_authcmd_usage(x, "invalid --person \"%s\": expected a person id", person_text);
        f.has_person = true;
        /* The server caps such a token below admin (api_perm_allows). */
        if (f.scope == STORE_SCOPE_ADMIN)
            return cli_authcmd_usage(x, "a token restricted to one person cannot have the admin "
                                        "scope: use --scope write");
    }
    int64_t days = 0;
    if (days_text && (cli_auth_parse_id(days_text, &days) < 0 || days > MAX_EXPIRES_DAYS))
        return cli_authcmd_usage(x, "invalid --expires-days \"%s\": expected 1 to %d", days_text,
                         MAX_EXPIRES_DAYS);
    if (!*name)
        return cli_authcmd_usage(x, "--name must not be empty");
    struct store_account acc;
    int rc = cli_authcmd_account(x, login, &acc);
    if (rc != MT_EXIT_OK)
        return rc;
    if (!acc.enabled) {
        fprintf(stderr,
                "%s: the account %s is disabled, so its tokens would not work (`meditrack user "
                "enable %s` first)\n",
                x->prog, acc.login, acc.login);
        return MT_EXIT_FAIL;
    }
    /* A non-admin token bound to a person the account may not see could
     * see nothing at all: refuse it rather than hand out a useless token. */
    if (f.has_person && acc.role != STORE_ROLE_ADMIN && !granted(&acc, f.person_id)) {
        fprintf(stderr,
                "%s: the account %s may not see person %lld (`meditrack user grant %s %lld` "
                "first)\n",
                x->prog, acc.login, (long long)f.person_id, acc.login, (long long)f.person_id);
        return MT_EXIT_FAIL;
    }
    char secret[MT_SECRET_MAX], hash[MT_SECRET_HASH_HEX], prefix[MT_SECRET_SHOWN_PREFIX + 1];
    if (mt_secret_random(MT_SECRET_TOKEN_PREFIX, secret, sizeof(secret)) < 0) {
        fprintf(stderr, "%s: cannot make a random token\n", x->prog);
        return MT_EXIT_FAIL;
    }
    mt_secret_hash(secret, hash);
    mt_secret_shown_prefix(secret, prefix);
    f.account_id = acc.id;
    f.hash = hash;
    f.prefix = prefix;
    if (days > 0) {
        f.has_expiry = true;
        f.expires_us = mt_now_us() + days * MT_USEC_PER_DAY;
    }
    struct store_token t;
    struct mt_err err = {0};
    if (store_token_create(x->c, &cli_actor, x->a, &f, &t, &err) < 0) {
        explicit_bzero(secret, sizeof(secret));
        return cli_authcmd_failed(x, &err);
    }
    mt_log(MT_LOG_INFO, "auth: token created id=%lld login=%s scope=%s source=cli", (long long)t.id,
           acc.login, store_scope_name(t.scope));
    /* The token alone, so that `TOKEN=$(meditrack token create ...)` works. */
    printf("%s\n", secret);
    fflush(stdout);
    explicit_bzero(secret, sizeof(secret));
    return MT_EXIT_OK;
}

/* "YYYY-MM-DD HH:MM" in UTC, or "-" when absent. */
static const char *when(const struct store_time *t, char buf[MT_TIME_BUF])
{
    if (!t->present)
        return "-";
    if (!t->parsed)
        return t->raw ? t->raw : "?";
    mt_format_db(t->us, buf, MT_TIME_BUF);
    buf[16] = '\0';
    return buf;
}

static int sub_list(struct cli_authcmd *x, int argc, char **argv)
{
    const char *login = NULL, *v;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!cli_option(argc, argv, &i, NULL, "--user", &v))
            return cli_authcmd_usage(x, "unexpected argument \"%s\"", opt);
        if (!v)
            return cli_authcmd_usage(x, "%s needs a value", opt);
        login = v;
    }
    int64_t account = 0;
    int rc = cli_authcmd_db(x);
    if (rc != MT_EXIT_OK)
        return rc;
    if (login) {
        struct store_account acc;
        rc = cli_authcmd_account(x, login, &acc);
        if (rc != MT_EXIT_OK)
            return rc;
        account = acc.id;
    }
    struct store_token *t = NULL;
    size_t n = 0;
    struct mt_err err = {0};
    if (store_tokens_list(x->c, x->a, account, &t, &n, &err) < 0) {
        fprintf(stderr, "%s: %s\n", x->prog, err.msg);
        return MT_EXIT_FAIL;
    }
    if (n == 0) {
        printf("No API tokens%s.\n", login ? " for this account" : "");
        return MT_EXIT_OK;
    }
    int64_t now = mt_now_us();
    printf("%-5s %-16s %-13s %-6s %-7s %-16s %-16s %-16s %-8s %s\n", "ID", "LOGIN", "PREFIX",
           "SCOPE", "PERSON", "CREATED (UTC)", "EXPIRES", "LAST USED", "STATE", "NAME");
    for (size_t i = 0; i < n; i++) {
        char b1[MT_TIME_BUF], b2[MT_TIME_BUF], b3[MT_TIME_BUF], person[24] = "-";
        if (t[i].has_person)
            snprintf(person, sizeof(person), "%lld", (long long)t[i].person_id);
        const char *state =
            t[i].revoked_at.present ? "revoked"
            : t[i].expires_at.present && (!t[i].expires_at.parsed || t[i].expires_at.us <= now)
                ? "expired"
                : "active";
        printf("%-5lld %-16s %-13s %-6s %-7s %-16s %-16s %-16s %-8s %s\n", (long long)t[i].id,
               t[i].login, t[i].prefix, store_scope_name(t[i].scope), person,
               when(&t[i].created_at, b1), when(&t[i].expires_at, b2), when(&t[i].last_used_at, b3),
               state, t[i].name);
    }
    return MT_EXIT_OK;
}

static int sub_revoke(struct cli_authcmd *x, int argc, char **argv)
{
    if (argc != 2)
        return cli_authcmd_usage(x, "expected the token's ID (see meditrack token list)");
    int64_t id = 0;
    if (cli_auth_parse_id(argv[1], &id) < 0)
        return cli_authcmd_usage(x, "invalid ID \"%s\": expected a token id", argv[1]);
    int rc = cli_authcmd_db(x);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    if (store_token_revoke(x->c, &cli_actor, 0, id, &err) < 0) {
        if (err.code != MT_ENOTFOUND)
            return cli_authcmd_failed(x, &err);
        fprintf(stderr, "%s: no active token has the id %lld (see meditrack token list)\n",
                x->prog, (long long)id);
        return cli_auth_exit(&err);
    }
    mt_log(MT_LOG_INFO, "auth: token revoked id=%lld source=cli", (long long)id);
    printf("Revoked token %lld.\n", (long long)id);
    return MT_EXIT_OK;
}

int cmd_token(int argc, char **argv, const struct mt_config *cfg)
{
    static const struct cli_authsub subs[] = {
        {"create", sub_create},
        {"list", sub_list},
        {"revoke", sub_revoke},
    };
    return cli_authcmd_main("token", subs, MT_ARRAY_LEN(subs), usage, argc, argv, cfg);
}
