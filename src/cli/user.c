/* `meditrack user`: the accounts of access control from the command line,
 * for a headless first setup and for recovering a lost administrator
 * password (docs/auth.md): add, list, passwd, disable, enable, grant,
 * revoke, role, delete. Passwords are asked for on the terminal with echo
 * off (twice), or read as one line with --password-stdin; they are checked
 * against the password policy, hashed with argon2id (core/secret.h) and
 * never printed or logged. Account changes are logged as "auth: account
 * ..." lines. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/authcli.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/secret.h"

/* One password line: the longest acceptable password, "\r\n" and the NUL. */
#define LINE_MAX_BYTES (MT_PASSWORD_MAX_BYTES + 3)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: meditrack user <command> [arguments]\n\n"
            "The accounts that may sign in (docs/auth.md). Logins are 1-64 characters of\n"
            "a-z, 0-9, '.', '_', '@' and '-' (upper case is taken as lower case).\n\n"
            "commands:\n"
            "  add LOGIN --role admin|carer|viewer [--admin] [--display-name TEXT]\n"
            "      [--person ID] [--password-stdin | --no-password]\n"
            "                            create an account; --admin is --role admin,\n"
            "                            --person links it to its own person (also granted),\n"
            "                            --no-password makes one that signs in only through\n"
            "                            the trusted proxy (AUTH_PROXY_HEADER)\n"
            "  list                      every account: id, login, role, enabled, password,\n"
            "                            persons granted (* the own person), display name\n"
            "  passwd LOGIN [--password-stdin]\n"
            "                            set a new password and end the account's sessions\n"
            "                            (also how a lost administrator password is reset)\n"
            "  disable LOGIN             refuse its sign-ins, sessions and tokens (its\n"
            "                            sessions end); the last enabled admin cannot be\n"
            "  enable LOGIN              allow it again (its tokens work again)\n"
            "  grant LOGIN PERSON_ID     let the account see (and, as a carer, change) a person\n"
            "  revoke LOGIN PERSON_ID    take that away again\n"
            "  role LOGIN admin|carer|viewer\n"
            "                            change the role\n"
            "  delete LOGIN              delete the account with its sessions and tokens\n\n"
            "Without --password-stdin the password is asked for twice on the terminal, with\n"
            "echo off; --password-stdin reads one line from standard input instead. A\n"
            "password has at least 10 characters and at most 1024 bytes.\n\n"
            "exit codes: 0 done, 1 failed (unknown login or person, login taken, the last\n"
            "administrator, the database), 2 bad command line or refused password, 3 bad\n"
            "DATABASE_URL, 4/5 database unreachable / refused.\n");
}

/* ---- reading a password ----------------------------------------------------------------- */

/* The terminal's settings while echo is off, so that a signal can put them
 * back before the process ends. */
static int tty_fd = -1;
static struct termios tty_saved;

static void restore_tty(int sig)
{
    if (tty_fd >= 0)
        tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line of at most LINE_MAX_BYTES - 1 bytes from f into buf,
 * without its "\n" or "\r\n". 0, or -1 with *why for a line too long or no
 * line at all. */
static int read_line(FILE *f, char *buf, const char **why)
{
    if (!fgets(buf, LINE_MAX_BYTES, f)) {
        *why = "no password was given";
        return -1;
    }
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '\r')
            buf[--n] = '\0';
    } else if (n == LINE_MAX_BYTES - 1) {
        *why = "the password is too long: use at most 1024 bytes";
        return -1;
    }
    return 0;
}

/* Asks on the terminal with echo off. Echo goes off before the prompt is
 * shown (discarding what was typed ahead, as getpass(3) does), so that an
 * answer to the prompt can never be echoed. */
static int prompt(FILE *tty, const char *text, char *buf, const char **why)
{
    struct termios off = tty_saved;
    off.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    tcsetattr(tty_fd, TCSAFLUSH, &off);
    fputs(text, tty);
    fflush(tty);
    int rc = read_line(tty, buf, why);
    tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
    fputs("\n", tty);
    fflush(tty);
    return rc;
}

/* The new password of login into buf (LINE_MAX_BYTES): one line of standard
 * input with from_stdin, else asked twice on the terminal. Returns
 * MT_EXIT_OK, or MT_EXIT_USAGE after saying why. */
static int read_password(const char *prog, const char *login, bool from_stdin, char *buf)
{
    const char *why = NULL;
    if (from_stdin) {
        if (read_line(stdin, buf, &why) < 0) {
            fprintf(stderr, "%s: %s on standard input\n", prog, why);
            return MT_EXIT_USAGE;
        }
    } else {
        int fd = isatty(STDIN_FILENO) ? open("/dev/tty", O_RDWR | O_CLOEXEC) : -1;
        if (fd < 0 || tcgetattr(fd, &tty_saved) < 0) {
            if (fd >= 0)
                close(fd);
            fprintf(stderr,
                    "%s: no terminal to ask for the password on: give it as one line on "
                    "standard input with --password-stdin\n",
                    prog);
            return MT_EXIT_USAGE;
        }
        FILE *tty = fdopen(fd, "r+");
        if (!tty) {
            close(fd);
            fprintf(stderr, "%s: cannot use the terminal: %s\n", prog, strerror(errno));
            return MT_EXIT_USAGE;
        }
        tty_fd = fd;
        void (*old_int)(int) = signal(SIGINT, restore_tty);
        void (*old_term)(int) = signal(SIGTERM, restore_tty);
        char again[LINE_MAX_BYTES];
        char text[STORE_LOGIN_MAX + 40];
        snprintf(text, sizeof(text), "New password for %s: ", login);
        int rc = prompt(tty, text, buf, &why);
        if (rc == 0)
            rc = prompt(tty, "Repeat it: ", again, &why);
        if (rc == 0 && strcmp(buf, again) != 0) {
            why = "the two passwords differ";
            rc = -1;
        }
        explicit_bzero(again, sizeof(again));
        signal(SIGINT, old_int);
        signal(SIGTERM, old_term);
        tty_fd = -1;
        fclose(tty);
        if (rc < 0) {
            fprintf(stderr, "%s: %s; nothing was changed\n", prog, why);
            return MT_EXIT_USAGE;
        }
    }
    if (mt_password_acceptable(buf, &why) < 0) {
        fprintf(stderr, "%s: %s; nothing was changed\n", prog, why);
        return MT_EXIT_USAGE;
    }
    return MT_EXIT_OK;
}

/* Reads, checks and hashes the new password of login into hash. */
static int new_password_hash(const char *prog, const char *login, bool from_stdin,
                             char hash[MT_PASSWORD_HASH_MAX])
{
    char pw[LINE_MAX_BYTES];
    int rc = read_password(prog, login, from_stdin, pw);
    struct mt_err err = {0};
    if (rc == MT_EXIT_OK && mt_password_hash(pw, hash, MT_PASSWORD_HASH_MAX, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        rc = MT_EXIT_FAIL;
    }
    explicit_bzero(pw, sizeof(pw));
    return rc;
}

/* ---- sub-commands ------------------------------------------------------------------------- */

static int sub_add(struct cli_authcmd *x, int argc, char **argv)
{
    const char *login = NULL, *role_text = NULL, *name = NULL, *person_text = NULL, *v;
    bool from_stdin = false, no_password = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--password-stdin") == 0) {
            from_stdin = true;
        } else if (strcmp(argv[i], "--no-password") == 0) {
            no_password = true;
        } else if (strcmp(argv[i], "--admin") == 0) {
            role_text = "admin";
        } else if (cli_option(argc, argv, &i, NULL, "--role", &v)) {
            if (!v)
                return cli_authcmd_usage(x, "%s needs a value", "--role");
            role_text = v;
        } else if (cli_option(argc, argv, &i, NULL, "--display-name", &v)) {
            if (!v)
                return cli_authcmd_usage(x, "%s needs a value", "--display-name");
            name = v;
        } else if (cli_option(argc, argv, &i, NULL, "--person", &v)) {
            if (!v)
                return cli_authcmd_usage(x, "%s needs a value", "--person");
            person_text = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_authcmd_usage(x, "unknown option \"%s\"", argv[i]);
        } else if (!login) {
            login = argv[i];
        } else {
            return cli_authcmd_usage(x, "unexpected argument \"%s\"", argv[i]);
        }
    }
    if (!login)
        return cli_authcmd_usage(x, "%s", "missing LOGIN");
    struct store_account_fields f = {.login = login, .display_name = name, .enabled = true};
    if (!role_text)
        return cli_authcmd_usage(x, "%s", "missing --role admin|carer|viewer");
    if (store_role_parse(role_text, &f.role) < 0)
        return cli_authcmd_usage(x, "invalid --role \"%s\": expected admin, carer or viewer",
                         role_text);
    if (person_text) {
        if (cli_auth_parse_id(person_text, &f.person_id) < 0)
            return cli_authcmd_usage(x, "invalid --person \"%s\": expected a person id", person_text);
        f.has_person = true;
    }
    if (from_stdin && no_password)
        return cli_authcmd_usage(x, "%s", "--password-stdin and --no-password exclude each other");
    char login_buf[STORE_LOGIN_MAX + 1];
    struct mt_err err = {0};
    if (store_login_normalize(login, login_buf, &err) < 0) {
        fprintf(stderr, "%s: %s\n", x->prog, err.msg);
        return MT_EXIT_USAGE;
    }
    int rc = cli_authcmd_db(x);
    if (rc != MT_EXIT_OK)
        return rc;
    /* Say that the login is taken before anyone types a password twice
     * (the store checks again when it creates the account). */
    struct store_account acc;
    if (store_account_by_login(x->c, x->a, login_buf, &acc, NULL, &err) == 0) {
        fprintf(stderr, "%s: the login \"%s\" is already taken\n", x->prog, login_buf);
        return MT_EXIT_FAIL;
    }
    char hash[MT_PASSWORD_HASH_MAX];
    if (!no_password) {
        rc = new_password_hash(x->prog, login_buf, from_stdin, hash);
        if (rc != MT_EXIT_OK)
            return rc;
        f.password_hash = hash;
    }
    mt_err_clear(&err);
    if (store_account_create(x->c, &cli_actor, x->a, &f, &acc, &err) < 0) {
        return cli_authcmd_failed(x, &err);
    }
    mt_log(MT_LOG_INFO, "auth: account created login=%s role=%s id=%lld source=cli", acc.login,
           store_role_name(acc.role), (long long)acc.id);
    printf("Created the %s account %s (id %lld)%s.\n", store_role_name(acc.role), acc.login,
           (long long)acc.id, acc.has_password ? "" : " without a password (proxy sign-in only)");
    return MT_EXIT_OK;
}

static int sub_list(struct cli_authcmd *x, int argc, char **argv)
{
    if (argc > 1)
        return cli_authcmd_usage(x, "unexpected argument \"%s\"", argv[1]);
    int rc = cli_authcmd_db(x);
    if (rc != MT_EXIT_OK)
        return rc;
    struct store_account *acc = NULL;
    size_t n = 0;
    struct mt_err err = {0};
    if (store_accounts_list(x->c, x->a, &acc, &n, &err) < 0) {
        fprintf(stderr, "%s: %s\n", x->prog, err.msg);
        return MT_EXIT_FAIL;
    }
    if (n == 0) {
        printf("No accounts yet: create the first administrator with\n"
               "  meditrack user add LOGIN --role admin\n");
        return MT_EXIT_OK;
    }
    printf("%-6s %-24s %-7s %-8s %-9s %-16s %s\n", "ID", "LOGIN", "ROLE", "ENABLED", "PASSWORD",
           "PERSONS", "DISPLAY NAME");
    for (size_t i = 0; i < n; i++) {
        char persons[256] = "-";
        size_t len = 0;
        for (size_t k = 0; k < acc[i].n_persons && len < sizeof(persons) - 24; k++) {
            int w = snprintf(persons + len, sizeof(persons) - len, "%s%lld%s", k ? "," : "",
                             (long long)acc[i].persons[k],
                             acc[i].has_person && acc[i].person_id == acc[i].persons[k] ? "*" : "");
            if (w < 0)
                break;
            len += (size_t)w;
        }
        if (acc[i].n_persons > 0 && len >= sizeof(persons) - 24)
            snprintf(persons + len, sizeof(persons) - len, ",...");
        printf("%-6lld %-24s %-7s %-8s %-9s %-16s %s\n", (long long)acc[i].id, acc[i].login,
               store_role_name(acc[i].role), acc[i].enabled ? "yes" : "no",
               acc[i].has_password ? "yes" : "no", persons, acc[i].display_name);
    }
    return MT_EXIT_OK;
}

/* LOGIN as the only argument (plus the flags in allowed, which are set). */
static int one_login(struct cli_authcmd *x, int argc, char **argv, const char **login,
                     bool *password_stdin)
{
    *login = NULL;
    for (int i = 1; i < argc; i++) {
        if (password_stdin && strcmp(argv[i], "--password-stdin") == 0)
            *password_stdin = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_authcmd_usage(x, "unknown option \"%s\"", argv[i]);
        else if (!*login)
            *login = argv[i];
        else
            return cli_authcmd_usage(x, "unexpected argument \"%s\"", argv[i]);
    }
    if (!*login)
        return cli_authcmd_usage(x, "%s", "missing LOGIN");
    return MT_EXIT_OK;
}

/* The account named by LOGIN, the only argument (see one_login). */
static int one_account(struct cli_authcmd *x, int argc, char **argv, struct store_account *acc,
                       bool *password_stdin)
{
    const char *login;
    int rc = one_login(x, argc, argv, &login, password_stdin);
    return rc != MT_EXIT_OK ? rc : cli_authcmd_account(x, login, acc);
}

static int sub_passwd(struct cli_authcmd *x, int argc, char **argv)
{
    bool from_stdin = false;
    struct store_account acc;
    int rc = one_account(x, argc, argv, &acc, &from_stdin);
    if (rc != MT_EXIT_OK)
        return rc;
    char hash[MT_PASSWORD_HASH_MAX];
    rc = new_password_hash(x->prog, acc.login, from_stdin, hash);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    if (store_account_set_password(x->c, &cli_actor, acc.id, hash, 0, &err) < 0) {
        return cli_authcmd_failed(x, &err);
    }
    mt_log(MT_LOG_INFO, "auth: account changed login=%s change=password sessions=ended source=cli",
           acc.login);
    printf("Set a new password for %s; every session of the account has ended.%s\n", acc.login,
           acc.enabled ? "" : " The account is disabled: `meditrack user enable` allows it again.");
    return MT_EXIT_OK;
}

static int set_enabled(struct cli_authcmd *x, int argc, char **argv, bool enable)
{
    struct store_account acc;
    int rc = one_account(x, argc, argv, &acc, NULL);
    if (rc != MT_EXIT_OK)
        return rc;
    struct store_account_fields f = {.set_enabled = true, .enabled = enable};
    struct mt_err err = {0};
    if (store_account_update(x->c, &cli_actor, x->a, acc.id, &f, &acc, &err) < 0) {
        return cli_authcmd_failed(x, &err);
    }
    if (enable)
        mt_log(MT_LOG_INFO, "auth: account changed login=%s change=enabled source=cli", acc.login);
    else
        mt_log(MT_LOG_INFO, "auth: account disabled login=%s source=cli", acc.login);
    printf(enable ? "Enabled %s.\n" : "Disabled %s; its sessions have ended.\n", acc.login);
    return MT_EXIT_OK;
}

static int change_grant(struct cli_authcmd *x, int argc, char **argv, bool grant)
{
    const char *args[2] = {NULL, NULL};
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return cli_authcmd_usage(x, "unknown option \"%s\"", argv[i]);
        if (n == 2)
            return cli_authcmd_usage(x, "unexpected argument \"%s\"", argv[i]);
        args[n++] = argv[i];
    }
    if (n < 2)
        return cli_authcmd_usage(x, "%s", "expected LOGIN PERSON_ID");
    int64_t person = 0;
    if (cli_auth_parse_id(args[1], &person) < 0)
        return cli_authcmd_usage(x, "invalid PERSON_ID \"%s\": expected a person id", args[1]);
    struct store_account acc;
    int rc = cli_authcmd_account(x, args[0], &acc);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    if ((grant ? store_grant_add(x->c, &cli_actor, acc.id, person, &err)
               : store_grant_remove(x->c, &cli_actor, acc.id, person, &err)) < 0) {
        return cli_authcmd_failed(x, &err);
    }
    mt_log(MT_LOG_INFO, "auth: account changed login=%s change=%s person_id=%lld source=cli",
           acc.login, grant ? "granted" : "revoked", (long long)person);
    if (grant)
        printf("%s may now see person %lld%s.\n", acc.login, (long long)person,
               acc.role == STORE_ROLE_ADMIN ? " (as an administrator it sees everyone anyway)"
                                            : "");
    else
        printf("%s no longer sees person %lld%s.\n", acc.login, (long long)person,
               acc.role == STORE_ROLE_ADMIN ? " through a grant (administrators see everyone)"
                                            : "");
    return MT_EXIT_OK;
}

static int sub_role(struct cli_authcmd *x, int argc, char **argv)
{
    if (argc != 3)
        return cli_authcmd_usage(x, "%s", "expected LOGIN admin|carer|viewer");
    struct store_account_fields f = {.set_role = true};
    if (store_role_parse(argv[2], &f.role) < 0)
        return cli_authcmd_usage(x, "invalid role \"%s\": expected admin, carer or viewer", argv[2]);
    struct store_account acc;
    int rc = cli_authcmd_account(x, argv[1], &acc);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    if (store_account_update(x->c, &cli_actor, x->a, acc.id, &f, &acc, &err) < 0) {
        return cli_authcmd_failed(x, &err);
    }
    mt_log(MT_LOG_INFO, "auth: account changed login=%s change=role role=%s source=cli", acc.login,
           store_role_name(acc.role));
    printf("%s is now %s %s.\n", acc.login, acc.role == STORE_ROLE_ADMIN ? "an" : "a",
           store_role_name(acc.role));
    return MT_EXIT_OK;
}

static int sub_delete(struct cli_authcmd *x, int argc, char **argv)
{
    struct store_account acc;
    int rc = one_account(x, argc, argv, &acc, NULL);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    if (store_account_delete(x->c, &cli_actor, acc.id, &err) < 0) {
        return cli_authcmd_failed(x, &err);
    }
    mt_log(MT_LOG_INFO, "auth: account deleted login=%s id=%lld source=cli", acc.login,
           (long long)acc.id);
    printf("Deleted the account %s with its sessions and tokens.\n", acc.login);
    return MT_EXIT_OK;
}

static int sub_disable(struct cli_authcmd *x, int argc, char **argv)
{
    return set_enabled(x, argc, argv, false);
}

static int sub_enable(struct cli_authcmd *x, int argc, char **argv)
{
    return set_enabled(x, argc, argv, true);
}

static int sub_grant(struct cli_authcmd *x, int argc, char **argv)
{
    return change_grant(x, argc, argv, true);
}

static int sub_revoke(struct cli_authcmd *x, int argc, char **argv)
{
    return change_grant(x, argc, argv, false);
}

int cmd_user(int argc, char **argv, const struct mt_config *cfg)
{
    static const struct cli_authsub subs[] = {
        {"add", sub_add},         {"list", sub_list},     {"passwd", sub_passwd},
        {"disable", sub_disable}, {"enable", sub_enable}, {"grant", sub_grant},
        {"revoke", sub_revoke},   {"role", sub_role},     {"delete", sub_delete},
    };
    return cli_authcmd_main("user", subs, MT_ARRAY_LEN(subs), usage, argc, argv, cfg);
}
