/* `meditrack audit`: checks the tamper-evident audit trail (docs/audit.md).
 * `audit verify` recomputes the hash chain from the first row to the head
 * record and names the first row that was altered, removed or moved (exit
 * 1), or says that the chain holds (exit 0); with --anchor SEQ:HASH it also
 * checks a hash exported earlier (for example with each nightly backup,
 * from `audit head`), which catches a rewrite of the whole chain. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/start.h"
#include "core/log.h"
#include "store/audit.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: meditrack audit verify [--anchor SEQ:HASH]\n"
            "       meditrack audit head\n\n"
            "verify  recomputes the audit trail's hash chain (SHA-256 over each row and the\n"
            "        hash of the row before it) and compares it with the chain's head record.\n"
            "        Exit 0: the chain holds. Exit 1: it does not; the first row that was\n"
            "        altered, removed or moved is named. --anchor SEQ:HASH also requires\n"
            "        row SEQ to still have HASH (a value printed by `audit head` earlier and\n"
            "        kept elsewhere), which a rewrite of the whole chain cannot keep.\n"
            "head    prints the last row's number and hash (\"SEQ:HASH\"), to keep with a\n"
            "        backup or elsewhere outside the database.\n\n"
            "Other exit codes as for every command: 2 bad command line, 3 bad configuration,\n"
            "4 the database cannot be read (unreachable, or not migrated), 5 authentication\n"
            "refused.\n");
}

/* SEQ:HASH with a positive SEQ and 64 hex digits. */
static bool parse_anchor(const char *s, int64_t *seq, char hash[65])
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || strlen(colon + 1) != 64)
        return false;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end != colon || v < 1)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char ch = colon[1 + i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return false;
        hash[i] = ch >= 'A' && ch <= 'F' ? (char)(ch - 'A' + 'a') : ch;
    }
    hash[64] = '\0';
    *seq = v;
    return true;
}

/* The exit code of a database failure after the connection was made. */
static int read_failed(const char *what, const struct mt_err *err)
{
    fprintf(stderr, "meditrack audit: cannot read %s: %s\n", what, err->msg);
    if (err->code == MT_EAUTH || err->code == MT_ENODB || err->code == MT_EPERM)
        return cli_exit_for_connect_error(err);
    return MT_EXIT_DB_UNREACHABLE;
}

static int verify(struct db_conn *c, bool has_anchor, int64_t anchor_seq, const char *anchor)
{
    struct mt_err err = {0};
    struct store_audit_verdict v;
    if (store_audit_verify(c, &v, &err) < 0)
        return read_failed("the audit trail (is the database migrated?)", &err);
    if (!v.ok) {
        if (v.bad_seq)
            printf("audit trail broken at row %" PRId64 ": %s\n", v.bad_seq, v.problem);
        else
            printf("audit trail broken: %s\n", v.problem);
        if (v.bad_seq > 1)
            printf("(rows 1 to %" PRId64 " hold)\n", v.bad_seq - 1);
        return MT_EXIT_FAIL;
    }
    if (has_anchor) {
        char stored[65];
        bool found = false;
        if (store_audit_row_hash(c, anchor_seq, stored, &found, &err) < 0)
            return read_failed("the audit trail", &err);
        if (!found || strcmp(stored, anchor) != 0) {
            printf("audit trail broken at row %" PRId64 ": %s the anchor's hash: the chain was "
                   "rewritten from that row on, or before it\n",
                   anchor_seq, found ? "its hash is not" : "it is missing, so it cannot have");
            return MT_EXIT_FAIL;
        }
    }
    printf("audit trail holds: %" PRId64 " rows, head %" PRId64 ":%s%s\n", v.rows, v.head_seq,
           v.head_hash, has_anchor ? " (anchor found)" : "");
    return MT_EXIT_OK;
}

static int head(struct db_conn *c)
{
    struct mt_err err = {0};
    struct store_audit_verdict v;
    if (store_audit_verify(c, &v, &err) < 0)
        return read_failed("the audit trail (is the database migrated?)", &err);
    if (!v.ok) {
        printf("audit trail broken at row %" PRId64 ": %s\n", v.bad_seq, v.problem);
        return MT_EXIT_FAIL;
    }
    printf("%" PRId64 ":%s\n", v.head_seq, v.head_hash);
    return MT_EXIT_OK;
}

int cmd_audit(int argc, char **argv, const struct mt_config *cfg)
{
    const char *sub = NULL;
    bool has_anchor = false;
    int64_t anchor_seq = 0;
    char anchor[65] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return MT_EXIT_OK;
        }
        if (strcmp(argv[i], "--anchor") == 0 || strncmp(argv[i], "--anchor=", 9) == 0) {
            const char *value = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : "");
            if (!parse_anchor(value, &anchor_seq, anchor)) {
                fprintf(stderr, "meditrack audit: --anchor takes SEQ:HASH (64 hex digits)\n");
                return MT_EXIT_USAGE;
            }
            has_anchor = true;
            continue;
        }
        if (!sub && argv[i][0] != '-') {
            sub = argv[i];
            continue;
        }
        fprintf(stderr, "meditrack audit: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return MT_EXIT_USAGE;
    }
    if (!sub || (strcmp(sub, "verify") != 0 && strcmp(sub, "head") != 0) ||
        (has_anchor && strcmp(sub, "verify") != 0)) {
        usage(stderr);
        return MT_EXIT_USAGE;
    }
    struct mt_err err = {0};
    struct db_conn *c = NULL;
    if (cli_db_open(cfg, &c, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Cannot open the database: %s", err.msg);
        return cli_exit_for_connect_error(&err);
    }
    int rc = strcmp(sub, "verify") == 0 ? verify(c, has_anchor, anchor_seq, anchor) : head(c);
    db_close(c);
    return rc;
}
