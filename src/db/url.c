/* DATABASE_URL parsing and its masked rendering. Accepts the forms people already write
 * for SQLAlchemy (sqlite:///rel.db, postgresql+psycopg2://, mysql+pymysql://,
 * mariadb://, percent-encoded credentials, query parameters) and turns them
 * into a struct db_url; anything else is refused with a message that never
 * quotes the password. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/parse.h"
#include "core/redact.h"
#include "core/str.h"
#include "db/db_int.h"

/* Every accepted scheme, SQLAlchemy driver suffix included. The suffix only
 * names a Python driver; here it selects nothing but the dialect. */
static const struct {
    const char *scheme;
    enum db_dialect dialect;
} schemes[] = {
    {"sqlite", DB_SQLITE},
    {"sqlite+pysqlite", DB_SQLITE},
    {"sqlite+aiosqlite", DB_SQLITE},
    {"postgresql", DB_POSTGRES},
    {"postgres", DB_POSTGRES},
    {"postgresql+psycopg2", DB_POSTGRES},
    {"postgresql+psycopg", DB_POSTGRES},
    {"postgresql+asyncpg", DB_POSTGRES},
    {"postgresql+pg8000", DB_POSTGRES},
    {"mysql", DB_MYSQL},
    {"mysql+pymysql", DB_MYSQL},
    {"mysql+mysqldb", DB_MYSQL},
    {"mysql+mysqlconnector", DB_MYSQL},
    {"mysql+aiomysql", DB_MYSQL},
    {"mysql+asyncmy", DB_MYSQL},
    {"mariadb", DB_MYSQL},
    {"mariadb+mariadbconnector", DB_MYSQL},
    {"mariadb+pymysql", DB_MYSQL},
    {"mariadb+mysqldb", DB_MYSQL},
};

static const char *const sslmodes[] = {"disable", "allow",     "prefer",
                                       "require", "verify-ca", "verify-full"};

const char *db_dialect_name(enum db_dialect d)
{
    switch (d) {
    case DB_SQLITE:
        return "sqlite";
    case DB_POSTGRES:
        return "postgresql";
    case DB_MYSQL:
        return "mysql";
    }
    return "unknown";
}

void db_url_release(struct db_url *u)
{
    if (!u)
        return;
    free(u->user);
    if (u->password) {
        memset(u->password, 0, strlen(u->password));
        free(u->password);
    }
    free(u->host);
    free(u->dbname);
    free(u->path);
    free(u->sslmode);
    free(u->charset);
    free(u->unix_socket);
    memset(u, 0, sizeof *u);
}

static char *dup_or_null(const char *s)
{
    return s ? mt_xstrdup(s) : NULL;
}

void db_url_copy(struct db_url *dst, const struct db_url *src)
{
    /* Numbers by assignment, then every string as a copy of its own. */
    *dst = *src;
    dst->user = dup_or_null(src->user);
    dst->password = dup_or_null(src->password);
    dst->host = dup_or_null(src->host);
    dst->dbname = dup_or_null(src->dbname);
    dst->path = dup_or_null(src->path);
    dst->sslmode = dup_or_null(src->sslmode);
    dst->charset = dup_or_null(src->charset);
    dst->unix_socket = dup_or_null(src->unix_socket);
}

/* Percent-decodes s[0..n) into a new string; plus_space turns '+' into a
 * blank (query strings). NULL for a bad escape or an encoded NUL byte. */
static char *pct_decode(const char *s, size_t n, bool plus_space)
{
    char *out = mt_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 1 < n ? mt_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? mt_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus_space && s[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

char *db_url_label(const struct db_url *u)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    mt_buf_adds(&b, db_dialect_name(u->dialect));
    mt_buf_adds(&b, "://");
    if (u->dialect == DB_SQLITE) {
        mt_buf_addc(&b, '/');
        mt_buf_adds(&b, u->path ? u->path : ":memory:");
        return mt_buf_detach(&b, NULL);
    }
    if (u->user || u->password) {
        mt_buf_adds(&b, u->user ? u->user : "");
        if (u->password)
            mt_buf_adds(&b, ":***");
        mt_buf_addc(&b, '@');
    }
    if (u->host && strchr(u->host, ':') && u->host[0] != '/')
        mt_buf_addf(&b, "[%s]", u->host);
    else if (u->host && u->host[0] != '/')
        mt_buf_adds(&b, u->host);
    if (u->port)
        mt_buf_addf(&b, ":%d", u->port);
    mt_buf_addc(&b, '/');
    if (u->dbname)
        mt_buf_adds(&b, u->dbname);
    if (u->host && u->host[0] == '/')
        mt_buf_addf(&b, "?host=%s", u->host);
    if (u->unix_socket)
        mt_buf_addf(&b, "?unix_socket=%s", u->unix_socket);
    return mt_buf_detach(&b, NULL);
}

/* Context for one parse: the masked URL for messages, and the result. */
struct parse {
    char *masked;
    struct db_url u;
    struct mt_err *err;
};

static int bad(struct parse *ps, const char *why)
{
    return mt_fail(ps->err, MT_EINVAL, "invalid DATABASE_URL \"%.120s\": %s", ps->masked, why);
}

static int parse_port(struct parse *ps, const char *s, size_t n, int *out)
{
    int64_t v;
    struct mt_err perr;
    if (n == 0)
        return bad(ps, "empty port");
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return bad(ps, "the port must be a number from 1 to 65535");
    }
    if (mt_parse_i64(s, n, 1, 65535, &v, &perr) < 0)
        return bad(ps, "the port must be a number from 1 to 65535");
    *out = (int)v;
    return 0;
}

static void set_str(char **field, char *value)
{
    free(*field);
    *field = value;
}

static int parse_param(struct parse *ps, const char *key, size_t klen, char *val)
{
    struct db_url *u = &ps->u;
    char msg[160];
#define KEY_IS(k) (klen == strlen(k) && strncmp(key, k, klen) == 0)
    if (KEY_IS("connect_timeout") && u->dialect != DB_SQLITE) {
        int64_t v;
        struct mt_err perr;
        int rc = mt_parse_i64(val, strlen(val), 1, 3600, &v, &perr);
        free(val);
        if (rc < 0)
            return bad(ps, "connect_timeout must be a number of seconds from 1 to 3600");
        u->connect_timeout = (int)v;
        return 0;
    }
    switch (u->dialect) {
    case DB_SQLITE:
        /* A Python sqlite3 option that existing URLs may carry; meaningless here. */
        if (KEY_IS("check_same_thread")) {
            free(val);
            return 0;
        }
        break;
    case DB_POSTGRES:
        if (KEY_IS("sslmode")) {
            for (size_t i = 0; i < MT_ARRAY_LEN(sslmodes); i++) {
                if (strcmp(val, sslmodes[i]) == 0) {
                    set_str(&u->sslmode, val);
                    return 0;
                }
            }
            snprintf(msg, sizeof msg,
                     "sslmode \"%.40s\" is not one of disable, allow, prefer, require, "
                     "verify-ca, verify-full",
                     val);
            free(val);
            return bad(ps, msg);
        }
        if (KEY_IS("host")) {
            if (!*val) {
                free(val);
                return bad(ps, "empty host parameter");
            }
            set_str(&u->host, val);
            return 0;
        }
        if (KEY_IS("port")) {
            int rc = parse_port(ps, val, strlen(val), &u->port);
            free(val);
            return rc;
        }
        break;
    case DB_MYSQL:
        if (KEY_IS("charset")) {
            bool ok = *val != '\0';
            for (const char *p = val; *p; p++)
                ok = ok && (isalnum((unsigned char)*p) || *p == '_');
            if (!ok) {
                free(val);
                return bad(ps, "charset must be a name such as utf8mb4");
            }
            set_str(&u->charset, val);
            return 0;
        }
        if (KEY_IS("unix_socket")) {
            if (!*val) {
                free(val);
                return bad(ps, "empty unix_socket parameter");
            }
            set_str(&u->unix_socket, val);
            return 0;
        }
        break;
    }
#undef KEY_IS
    free(val);
    snprintf(msg, sizeof msg, "unknown query parameter \"%.*s\" for %s (accepted: %s)",
             (int)(klen > 40 ? 40 : klen), key, db_dialect_name(u->dialect),
             u->dialect == DB_SQLITE     ? "check_same_thread"
             : u->dialect == DB_POSTGRES ? "sslmode, host, port, connect_timeout"
                                         : "charset, unix_socket, connect_timeout");
    return bad(ps, msg);
}

static int parse_query(struct parse *ps, const char *q)
{
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 0) {
            const char *eq = memchr(q, '=', n);
            if (!eq)
                return bad(ps, "query parameters must look like name=value");
            char *val = pct_decode(eq + 1, n - (size_t)(eq + 1 - q), true);
            if (!val)
                return bad(ps, "invalid percent-encoding in a query parameter");
            if (parse_param(ps, q, (size_t)(eq - q), val) < 0)
                return -1;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return 0;
}

static int parse_sqlite(struct parse *ps, const char *rest)
{
    const char *q = strchr(rest, '?');
    size_t n = q ? (size_t)(q - rest) : strlen(rest);
    if (n > 0 && rest[0] != '/')
        return bad(ps, "a sqlite URL takes no host: write sqlite:///relative.db or "
                       "sqlite:////absolute/path.db");
    /* sqlite:// and sqlite:/// mean an in-memory database, as in SQLAlchemy. */
    if (n <= 1)
        ps->u.path = mt_xstrdup(":memory:");
    else
        ps->u.path = mt_xstrndup(rest + 1, n - 1);
    return q ? parse_query(ps, q + 1) : 0;
}

static int parse_userinfo(struct parse *ps, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;
    if (ulen > 0) {
        ps->u.user = pct_decode(s, ulen, false);
        if (!ps->u.user)
            return bad(ps, "invalid percent-encoding in the user name");
    }
    if (colon) {
        ps->u.password = pct_decode(colon + 1, n - ulen - 1, false);
        if (!ps->u.password)
            return bad(ps, "invalid percent-encoding in the password");
    }
    return 0;
}

static int parse_hostport(struct parse *ps, const char *s, size_t n)
{
    const char *port = NULL;
    size_t hlen = n;
    const char *h = s;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return bad(ps, "unterminated [ in the host");
        h = s + 1;
        hlen = (size_t)(close - h);
        size_t after = n - (size_t)(close + 1 - s);
        if (after > 0) {
            if (close[1] != ':')
                return bad(ps, "unexpected text after ] in the host");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon) {
            hlen = (size_t)(colon - s);
            port = colon + 1;
        }
    }
    if (hlen > 0) {
        ps->u.host = pct_decode(h, hlen, false);
        if (!ps->u.host)
            return bad(ps, "invalid percent-encoding in the host");
    }
    if (port)
        return parse_port(ps, port, n - (size_t)(port - s), &ps->u.port);
    return 0;
}

static int parse_server(struct parse *ps, const char *rest)
{
    /* The last '@' ends the credentials, so an unencoded '@', '/' or '?' in a
     * password still parses; the query starts at the first '?' after it. */
    const char *at = strrchr(rest, '@');
    const char *hp = rest;
    if (at) {
        if (parse_userinfo(ps, rest, (size_t)(at - rest)) < 0)
            return -1;
        hp = at + 1;
    }
    const char *q = strchr(hp, '?');
    size_t n = q ? (size_t)(q - hp) : strlen(hp);
    const char *slash = memchr(hp, '/', n);
    size_t hplen = slash ? (size_t)(slash - hp) : n;
    if (parse_hostport(ps, hp, hplen) < 0)
        return -1;
    if (slash) {
        const char *db = slash + 1;
        size_t dblen = n - hplen - 1;
        if (memchr(db, '/', dblen))
            return bad(ps, "unexpected '/' after the database name");
        if (dblen > 0) {
            ps->u.dbname = pct_decode(db, dblen, false);
            if (!ps->u.dbname)
                return bad(ps, "invalid percent-encoding in the database name");
        }
    }
    return q ? parse_query(ps, q + 1) : 0;
}

int db_url_parse(const char *url, struct db_url *out, struct mt_err *err)
{
    struct parse ps = {.err = err};
    if (!url || !*url)
        return mt_fail(err, MT_EINVAL, "DATABASE_URL is empty");
    ps.masked = mt_redact_url(url);
    int rc = -1;
    const char *sep = strstr(url, "://");
    size_t slen = sep ? (size_t)(sep - url) : 0;
    size_t k;
    if (!sep || slen == 0) {
        bad(&ps, "expected scheme://..., e.g. sqlite:///./data/meditrack.db");
        goto done;
    }
    for (k = 0; k < MT_ARRAY_LEN(schemes); k++) {
        if (strlen(schemes[k].scheme) == slen && strncasecmp(url, schemes[k].scheme, slen) == 0)
            break;
    }
    if (k == MT_ARRAY_LEN(schemes)) {
        char msg[160];
        const char *plus = memchr(url, '+', slen);
        size_t blen = plus ? (size_t)(plus - url) : slen;
        bool known_base = false;
        for (size_t j = 0; j < MT_ARRAY_LEN(schemes); j++) {
            known_base = known_base || (strlen(schemes[j].scheme) == blen &&
                                        strncasecmp(url, schemes[j].scheme, blen) == 0);
        }
        if (plus && known_base)
            snprintf(msg, sizeof msg, "unsupported driver \"%.*s\" for %.*s",
                     (int)(slen - blen - 1 > 40 ? 40 : slen - blen - 1), plus + 1,
                     (int)(blen > 20 ? 20 : blen), url);
        else
            snprintf(msg, sizeof msg,
                     "unsupported database \"%.*s\" (use sqlite, postgresql or mysql/mariadb)",
                     (int)(slen > 40 ? 40 : slen), url);
        bad(&ps, msg);
        goto done;
    }
    ps.u.dialect = schemes[k].dialect;
    if (ps.u.dialect == DB_SQLITE)
        rc = parse_sqlite(&ps, sep + 3);
    else
        rc = parse_server(&ps, sep + 3);
done:
    free(ps.masked);
    if (rc < 0) {
        db_url_release(&ps.u);
        return -1;
    }
    *out = ps.u;
    return 0;
}
