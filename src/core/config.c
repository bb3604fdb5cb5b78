/* The configuration table and its loader. Every variable is declared once in
 * `vars` below (name, type, default, bounds, secret flag, help, field); the
 * loader, the validation, `meditrack config` and `meditrack config --list`
 * all come from that table. This is the only file that reads the
 * environment. */
#include "core/config.h"

#include <ctype.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cidr.h"
#include "core/mtime.h"
#include "core/parse.h"
#include "core/redact.h"
#include "core/str.h"

enum var_type {
    T_STRING,     /* char *; .required: must not be empty */
    T_BOOL,       /* bool */
    T_INT,        /* int, within [min, max] */
    T_INT64,      /* int64_t, within [min, max] */
    T_LOG_LEVEL,  /* enum mt_log_level */
    T_LOG_FORMAT, /* enum mt_log_format */
    T_LIST,       /* char ** (NULL-terminated) plus a size_t count at .count_offset */
    T_CIDRS,      /* as T_LIST: comma-separated CIDR ranges, each checked (core/cidr.h) */
};

struct var {
    const char *name;
    enum var_type type;
    const char *def;  /* the default, as text: it goes through the same parser */
    int64_t min, max; /* T_INT, T_INT64 */
    bool required;    /* T_STRING: empty is refused */
    bool secret;      /* printed as ***, never quoted */
    bool url;         /* a database URL: its password is masked when printed */
    bool no_flag;     /* no --flag (VERSION: --version means the program's) */
    const char *help;
    size_t offset;       /* of the field in struct mt_config */
    size_t count_offset; /* T_LIST only */
};

#define FIELD(f) offsetof(struct mt_config, f)

/* Bounds, for the record: TIMEZONE_OFFSET covers the real zones, UTC+14
 * (-840) to UTC-12 (720), so a typo such as 3000 is refused; MAX_BODY_BYTES
 * stays at or below 1 GiB since bodies are held in memory. */
/* clang-format off */
static const struct var vars[] = {
    {.name = "DATABASE_URL", .type = T_STRING, .def = "sqlite:///./data/meditrack.db",
     .required = true, .url = true, .offset = FIELD(database_url),
     .help = "database: sqlite:///file.db, postgresql://user:password@host/db, mysql://..."},
    {.name = "ENVIRONMENT", .type = T_STRING, .def = "production",
     .required = true, .offset = FIELD(environment),
     .help = "deployment name reported by /api/v1/health"},
    {.name = "DEBUG", .type = T_BOOL, .def = "false",
     .offset = FIELD(debug),
     .help = "debug mode of the Python service; kept for its deployment files"},
    {.name = "CORS_ORIGINS", .type = T_LIST, .def = "",
     .offset = FIELD(cors_origins), .count_offset = FIELD(n_cors_origins),
     .help = "origins other than the server's own allowed to call the API from a browser "
             "(with credentials); * allows any origin without credentials; empty: none"},
    {.name = "TIMEZONE_OFFSET", .type = T_INT, .def = "0",
     .min = -840, .max = 720, .offset = FIELD(timezone_offset),
     .help = "fallback time zone in minutes with JavaScript's sign: 300 = UTC-5, -60 = UTC+1"},
    {.name = "SECRET_KEY", .type = T_STRING, .def = "insecure-development-key-change-me",
     .required = true, .secret = true, .offset = FIELD(secret_key),
     .help = "secret key (the default is a development value: set your own)"},
    {.name = "PROJECT_NAME", .type = T_STRING, .def = "MediTrack",
     .required = true, .offset = FIELD(project_name),
     .help = "name shown by the API"},
    {.name = "VERSION", .type = T_STRING, .def = "1.0.0",
     .required = true, .no_flag = true, .offset = FIELD(version),
     .help = "API version reported by /health (no flag)"},
    {.name = "HOST", .type = T_STRING, .def = "127.0.0.1",
     .required = true, .offset = FIELD(host),
     .help = "address the HTTP server listens on (0.0.0.0: all)"},
    {.name = "PORT", .type = T_INT, .def = "8000",
     .min = 1, .max = 65535, .offset = FIELD(port),
     .help = "TCP port of the HTTP server"},
    {.name = "LOG_LEVEL", .type = T_LOG_LEVEL, .def = "info",
     .offset = FIELD(log_level),
     .help = "lowest level that is logged"},
    {.name = "LOG_FORMAT", .type = T_LOG_FORMAT, .def = "text",
     .offset = FIELD(log_format),
     .help = "log line format: text, or one JSON object per line"},
    {.name = "STATIC_DIR", .type = T_STRING, .def = "",
     .offset = FIELD(static_dir),
     .help = "web UI to serve: empty: the built-in one; a directory: its files; none: no UI"},
    {.name = "HTTP_THREADS", .type = T_INT, .def = "6",
     .min = 1, .max = 256, .offset = FIELD(http_threads),
     .help = "threads answering HTTP requests (all but one may wait on the database)"},
    {.name = "DB_POOL_SIZE", .type = T_INT, .def = "8",
     .min = 1, .max = 256, .offset = FIELD(db_pool_size),
     .help = "database connections kept for the HTTP threads"},
    {.name = "DB_STATEMENT_TIMEOUT", .type = T_INT, .def = "5000",
     .min = 0, .max = 86400000, .offset = FIELD(db_statement_timeout),
     .help = "milliseconds a database statement of an HTTP request may run (0: no limit); then 503"},
    {.name = "DB_LOCK_TIMEOUT", .type = T_INT, .def = "0",
     .min = 0, .max = 86400000, .offset = FIELD(db_lock_timeout),
     .help = "milliseconds a request's statement may wait for a lock (0: DB_STATEMENT_TIMEOUT)"},
    {.name = "DB_HEALTH_TIMEOUT", .type = T_INT, .def = "2000",
     .min = 100, .max = 600000, .offset = FIELD(db_health_timeout),
     .help = "milliseconds /api/v1/health waits for the database before reporting it unhealthy"},
    {.name = "SQLITE_BUSY_TIMEOUT", .type = T_INT, .def = "5000",
     .min = 1, .max = 600000, .offset = FIELD(sqlite_busy_timeout),
     .help = "SQLite: ms a statement may wait for a lock (queueing writers included; for "
             "requests the DB_*_TIMEOUT limits apply too, the shortest wins)"},
    {.name = "MAX_BODY_BYTES", .type = T_INT64, .def = "1048576",
     .min = 1024, .max = 1073741824, .offset = FIELD(max_body_bytes),
     .help = "largest request body accepted (larger: 413)"},
    {.name = "MAX_CONNECTIONS", .type = T_INT, .def = "4096",
     .min = 1, .max = 1000000, .offset = FIELD(max_connections),
     .help = "open HTTP connections at most"},
    {.name = "MAX_CONNECTIONS_PER_IP", .type = T_INT, .def = "256",
     .min = 1, .max = 1000000, .offset = FIELD(max_connections_per_ip),
     .help = "open HTTP connections per client address"},
    {.name = "CONNECTION_TIMEOUT", .type = T_INT, .def = "30",
     .min = 1, .max = 86400, .offset = FIELD(connection_timeout),
     .help = "seconds an idle connection is kept"},
    {.name = "HEAD_TIMEOUT", .type = T_INT, .def = "10",
     .min = 1, .max = 3600, .offset = FIELD(head_timeout),
     .help = "seconds a client has to send a complete request head (408 after)"},
    {.name = "REQUEST_DEADLINE", .type = T_INT, .def = "60",
     .min = 1, .max = 86400, .offset = FIELD(request_deadline),
     .help = "seconds a whole request may take, however slowly it trickles in"},
    {.name = "SHUTDOWN_GRACE", .type = T_INT, .def = "10",
     .min = 0, .max = 3600, .offset = FIELD(shutdown_grace),
     .help = "seconds in-flight requests may finish after SIGTERM/SIGINT"},
    {.name = "HEAVY_CONCURRENCY", .type = T_INT, .def = "2",
     .min = 1, .max = 256, .offset = FIELD(heavy_concurrency),
     .help = "PDF forms and dose exports made at once (and as many queued); cut to leave "
             "HTTP workers for other requests"},
    {.name = "HEAVY_QUEUE_WAIT_MS", .type = T_INT, .def = "3000",
     .min = 0, .max = 60000, .offset = FIELD(heavy_queue_wait_ms),
     .help = "milliseconds a queued PDF form or export waits for its turn before 503 with Retry-After"},
    {.name = "TLS_CERT_FILE", .type = T_STRING, .def = "",
     .offset = FIELD(tls_cert_file),
     .help = "PEM certificate chain (leaf first): serve HTTPS (TLS 1.2/1.3) instead of HTTP on "
             "PORT; needs TLS_KEY_FILE; reread on SIGHUP; empty: plain HTTP"},
    {.name = "TLS_KEY_FILE", .type = T_STRING, .def = "",
     .offset = FIELD(tls_key_file),
     .help = "PEM private key (unencrypted) of TLS_CERT_FILE; set both or neither; reread on SIGHUP"},
    {.name = "AUTO_MIGRATE", .type = T_BOOL, .def = "true",
     .offset = FIELD(auto_migrate),
     .help = "upgrade the database schema at start-up"},
    {.name = "DB_WAIT_ATTEMPTS", .type = T_INT, .def = "30",
     .min = 1, .max = 100000, .offset = FIELD(db_wait_attempts),
     .help = "connection attempts before giving up at start-up"},
    {.name = "DB_WAIT_INTERVAL", .type = T_INT, .def = "2",
     .min = 0, .max = 3600, .offset = FIELD(db_wait_interval),
     .help = "seconds between those attempts"},
    {.name = "DB_CREATE", .type = T_BOOL, .def = "false",
     .offset = FIELD(db_create),
     .help = "create the PostgreSQL/MariaDB database when it does not exist"},
    {.name = "MIGRATE_LOCK_TIMEOUT", .type = T_INT, .def = "60",
     .min = 0, .max = 86400, .offset = FIELD(migrate_lock_timeout),
     .help = "seconds to wait for another process's migration lock"},
    {.name = "BACKUP_BEFORE_MIGRATE", .type = T_BOOL, .def = "true",
     .offset = FIELD(backup_before_migrate),
     .help = "copy the SQLite file before a migration changes it"},
    {.name = "SEED_ON_EMPTY", .type = T_BOOL, .def = "true",
     .offset = FIELD(seed_on_empty),
     .help = "create the default person when the database has none"},
    {.name = "SEED_DEMO_DATA", .type = T_BOOL, .def = "false",
     .offset = FIELD(seed_demo_data),
     .help = "also add demo medications when seeding"},
    {.name = "MIGRATIONS_DIR", .type = T_STRING, .def = "",
     .offset = FIELD(migrations_dir),
     .help = "directory of revisions to use instead of those built in; empty: built in"},
    {.name = "BACKUP_DIR", .type = T_STRING, .def = "./backups",
     .required = true, .offset = FIELD(backup_dir),
     .help = "directory of `meditrack backup` without FILE and of the scheduled backups"},
    {.name = "BACKUP_SCHEDULE", .type = T_STRING, .def = "",
     .offset = FIELD(backup_schedule),
     .help = "when `meditrack serve` backs up, on the server's wall clock (TIMEZONE, or "
             "TIMEZONE_OFFSET when set): daily@HH:MM[:SS], hourly@MM[:SS], "
             "weekly@DAY@HH:MM[:SS] (DAY mon..sun); empty or off: never"},
    {.name = "BACKUP_KEEP", .type = T_INT, .def = "7",
     .min = 1, .max = 100000, .offset = FIELD(backup_keep),
     .help = "scheduled backups kept in BACKUP_DIR (the oldest beyond this are deleted)"},
    {.name = "ENV_FILE", .type = T_STRING, .def = "",
     .offset = FIELD(env_file),
     .help = ".env file to read (it must exist); empty: ./.env when present"},
    /* Access control (docs/auth.md). */
    {.name = "AUTH", .type = T_BOOL, .def = "on",
     .offset = FIELD(auth),
     .help = "access control: on (accounts, sessions, API tokens) or off (the reference's open "
             "API, for a trusted network only)"},
    {.name = "AUTH_PROXY_HEADER", .type = T_STRING, .def = "",
     .offset = FIELD(auth_proxy_header),
     .help = "header naming the signed-in user, set by a reverse proxy in TRUSTED_PROXIES "
             "(e.g. Remote-User); empty: off"},
    {.name = "AUTH_PROXY_GROUPS_HEADER", .type = T_STRING, .def = "",
     .offset = FIELD(auth_proxy_groups_header),
     .help = "header listing the proxy user's groups (e.g. Remote-Groups); empty: off"},
    {.name = "AUTH_PROXY_ADMIN_GROUP", .type = T_STRING, .def = "",
     .offset = FIELD(auth_proxy_admin_group),
     .help = "proxy group whose members get the admin role (an account is created at first "
             "sign-in); empty: none"},
    {.name = "AUTH_PROXY_CARER_GROUP", .type = T_STRING, .def = "",
     .offset = FIELD(auth_proxy_carer_group),
     .help = "proxy group whose members get the carer role; empty: none"},
    {.name = "AUTH_PROXY_VIEWER_GROUP", .type = T_STRING, .def = "",
     .offset = FIELD(auth_proxy_viewer_group),
     .help = "proxy group whose members get the viewer role; empty: none"},
    {.name = "TRUSTED_PROXIES", .type = T_CIDRS, .def = "",
     .offset = FIELD(trusted_proxies), .count_offset = FIELD(n_trusted_proxies),
     .help = "addresses of reverse proxies whose AUTH_PROXY_HEADER, X-Forwarded-For and "
             "X-Forwarded-Proto are believed; empty: none"},
    {.name = "SESSION_IDLE_TIMEOUT", .type = T_INT, .def = "604800",
     .min = 60, .max = 31536000, .offset = FIELD(session_idle_timeout),
     .help = "seconds a browser session may stay unused before it ends (default 7 days)"},
    {.name = "SESSION_MAX_AGE", .type = T_INT, .def = "2592000",
     .min = 60, .max = 31536000, .offset = FIELD(session_max_age),
     .help = "seconds a browser session lasts at most, however active (default 30 days)"},
    /* Time zones and the test clock (docs/timezones.md). */
    {.name = "TIMEZONE", .type = T_STRING, .def = "",
     .offset = FIELD(timezone),
     .help = "IANA time zone (e.g. Europe/Berlin) of requests without timezone_offset and of "
             "persons without a zone of their own; empty: TZ, else UTC (an explicit "
             "TIMEZONE_OFFSET wins over TZ)"},
    {.name = "ALLOW_TEST_CLOCK", .type = T_BOOL, .def = "false",
     .offset = FIELD(allow_test_clock),
     .help = "tests only: allow TEST_CLOCK_START and TEST_CLOCK_SPEED (refused otherwise)"},
    {.name = "TEST_CLOCK_START", .type = T_STRING, .def = "",
     .offset = FIELD(test_clock_start),
     .help = "tests only: the server's \"now\" at start-up, an ISO instant "
             "(2026-03-08T06:00:00Z); needs ALLOW_TEST_CLOCK=true; empty: the real time"},
    {.name = "TEST_CLOCK_SPEED", .type = T_STRING, .def = "1",
     .offset = FIELD(test_clock_speed),
     .help = "tests only: how many times faster than real time the server's clock runs "
             "(e.g. 3600: an hour a second); needs ALLOW_TEST_CLOCK=true"},
    /* Schedules (docs/schedules.md). */
    {.name = "SLOT_WINDOW_MINUTES", .type = T_INT, .def = "60",
     .min = 1, .max = 720, .offset = FIELD(slot_window_minutes),
     .help = "a dose this many minutes before or after a scheduled slot takes it on time"},
    {.name = "SLOT_LATE_MAX_MINUTES", .type = T_INT, .def = "240",
     .min = 1, .max = 1440, .offset = FIELD(slot_late_max_minutes),
     .help = "a slot not taken on time waits at most this long after it (and never past the "
             "next slot) for a late dose; then it is missed"},
    /* Reminders and notification channels (docs/reminders.md). */
    {.name = "REMINDERS", .type = T_BOOL, .def = "on",
     .offset = FIELD(reminders),
     .help = "send reminders through the notification channels (the worker of `serve` idles "
             "while no channel exists); off: no replica of this configuration sends"},
    {.name = "REMINDER_HORIZON_MINUTES", .type = T_INT, .def = "720",
     .min = 1, .max = 10080, .offset = FIELD(reminder_horizon_minutes),
     .help = "reminders that fell due longer ago than this (e.g. while every replica was down) "
             "are marked missed instead of sent"},
    {.name = "NOTIFY_SECRET_KEY", .type = T_STRING, .def = "",
     .secret = true, .offset = FIELD(notify_secret_key),
     .help = "32 bytes (64 hex digits or base64) sealing channel tokens and secrets and signing "
             "snooze links; empty: channels with a secret are refused"},
    {.name = "NOTIFY_TIMEOUT", .type = T_INT, .def = "10",
     .min = 1, .max = 300, .offset = FIELD(notify_timeout),
     .help = "seconds one notification may take to send, connecting included"},
    {.name = "NOTIFY_CA_FILE", .type = T_STRING, .def = "",
     .offset = FIELD(notify_ca_file),
     .help = "PEM file of the certificate authorities that notification receivers and the mail "
             "server are checked against (a private CA), instead of the system's; empty: the "
             "system's"},
    {.name = "SMTP_URL", .type = T_STRING, .def = "",
     .url = true, .offset = FIELD(smtp_url),
     .help = "mail server of e-mail channels: smtp://user:pass@host:587 (STARTTLS) or "
             "smtps://user:pass@host:465; empty: no e-mail channels"},
    {.name = "SMTP_FROM", .type = T_STRING, .def = "",
     .offset = FIELD(smtp_from),
     .help = "sender of reminder mails: address or \"Name <address>\""},
    {.name = "PUBLIC_URL", .type = T_STRING, .def = "",
     .offset = FIELD(public_url),
     .help = "the server's address as people's phones reach it (https://meds.example.org), for "
             "snooze links in reminders; empty: no links"},
};
/* clang-format on */

_Static_assert(MT_ARRAY_LEN(vars) <= MT_CONFIG_MAX_VARS, "raise MT_CONFIG_MAX_VARS");

static const char *const source_names[] = {"default", ".env", "env", "flag"};

/* One candidate value and where it came from. */
struct raw {
    const char *text;
    enum mt_config_source source;
    int line;         /* .env line */
    const char *file; /* .env path */
};

static void *field(struct mt_config *cfg, const struct var *v)
{
    return (char *)cfg + v->offset;
}

static const void *cfield(const struct mt_config *cfg, const struct var *v)
{
    return (const char *)cfg + v->offset;
}

static const struct var *find_var(const char *name)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++)
        if (strcmp(vars[i].name, name) == 0)
            return &vars[i];
    return NULL;
}

/* The environment, exact name first and then ignoring ASCII case, as
 * pydantic-settings matched names. */
static const char *env_get(const char *name)
{
    const char *v = getenv(name);
    if (v)
        return v;
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq && (size_t)(eq - *e) == n && mt_str_ieq((struct mt_str){*e, n}, name))
            return eq + 1;
    }
    return NULL;
}

/* For ${NAME} in .env files: only the exact name, like a shell. */
static const char *env_lookup(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

/* An origin is one word without white space, quotes or commas. */
static bool origin_ok(struct mt_str o)
{
    if (o.len == 0)
        return false;
    for (size_t i = 0; i < o.len; i++) {
        unsigned char c = (unsigned char)o.p[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == ',')
            return false;
    }
    return true;
}

static void list_free(char **items)
{
    for (size_t i = 0; items && items[i]; i++)
        free(items[i]);
    free(items);
}

static void list_add(char ***items, size_t *n, struct mt_str s)
{
    *items = mt_xrealloc(*items, (*n + 2) * sizeof(**items));
    (*items)[*n] = mt_xstrndup(s.p, s.len);
    (*items)[++*n] = NULL;
}

/* CORS_ORIGINS: ["http://a","http://b"] (what pydantic-settings read) or
 * http://a,http://b (what the Python service's example file showed). */
static int parse_list(const char *text, char ***out, size_t *n_out, struct mt_err *err)
{
    char q[MT_QUOTE_SIZE];
    struct mt_str all = mt_str_trim(mt_str_c(text));
    char **items = mt_xcalloc(1, sizeof(*items));
    size_t n = 0;
    if (all.len && all.p[0] == '[') {
        json_error_t jerr;
        json_t *j = json_loadb(all.p, all.len, 0, &jerr);
        bool ok = j && json_is_array(j);
        for (size_t i = 0; ok && i < json_array_size(j); i++) {
            json_t *e = json_array_get(j, i);
            struct mt_str s = {json_string_value(e), json_string_length(e)};
            ok = json_is_string(e) && origin_ok(s);
            if (ok)
                list_add(&items, &n, s);
        }
        json_decref(j);
        if (!ok)
            goto bad;
    } else {
        size_t i = 0;
        while (i < all.len) {
            size_t start = i;
            while (i < all.len && all.p[i] != ',')
                i++;
            struct mt_str s = mt_str_trim((struct mt_str){all.p + start, i - start});
            i++;
            if (s.len == 0)
                continue;
            if (!origin_ok(s))
                goto bad;
            list_add(&items, &n, s);
        }
    }
    *out = items;
    *n_out = n;
    return 0;
bad:
    list_free(items);
    return mt_fail(err, MT_EINVAL,
                   "expected a JSON list of origins like [\"http://a\",\"http://b\"] or a "
                   "comma-separated list, got %s",
                   mt_quote(q, sizeof(q), text, strlen(text)));
}

/* TRUSTED_PROXIES: comma-separated ranges, each a valid CIDR, so that a
 * typo stops the server instead of trusting nobody (or everybody). */
static int parse_cidrs(const char *text, char ***out, size_t *n_out, struct mt_err *err)
{
    struct mt_str all = mt_str_trim(mt_str_c(text));
    char **items = mt_xcalloc(1, sizeof(*items));
    size_t n = 0;
    size_t i = 0;
    while (i < all.len) {
        size_t start = i;
        while (i < all.len && all.p[i] != ',')
            i++;
        struct mt_str s = mt_str_trim((struct mt_str){all.p + start, i - start});
        i++;
        if (s.len == 0)
            continue;
        struct mt_cidr c;
        if (mt_cidr_parse(s.p, s.len, &c, err) < 0) {
            list_free(items);
            return -1;
        }
        list_add(&items, &n, s);
    }
    *out = items;
    *n_out = n;
    return 0;
}

/* Parses text as v's type into cfg. On failure cfg's field is unchanged and
 * err says what was expected (without the variable's name). */
static int set_value(struct mt_config *cfg, const struct var *v, const char *text,
                     struct mt_err *err)
{
    char q[MT_QUOTE_SIZE];
    struct mt_str t = mt_str_trim(mt_str_c(text));
    void *f = field(cfg, v);
    switch (v->type) {
    case T_STRING: {
        if (v->required && *text == '\0')
            return mt_fail(err, MT_EINVAL, "must not be empty");
        char **s = f;
        free(*s);
        *s = mt_xstrdup(text);
        return 0;
    }
    case T_BOOL:
        return mt_parse_bool(t.p, t.len, (bool *)f, err);
    case T_INT:
    case T_INT64: {
        int64_t x;
        if (mt_parse_i64(t.p, t.len, v->min, v->max, &x, err) < 0)
            return -1;
        if (v->type == T_INT)
            *(int *)f = (int)x;
        else
            *(int64_t *)f = x;
        return 0;
    }
    case T_LOG_LEVEL: {
        char *s = mt_xstrndup(t.p, t.len);
        int l = mt_log_level_parse(s);
        free(s);
        if (l < 0)
            return mt_fail(err, MT_EINVAL, "expected debug, info, warning, error or off, got %s",
                           mt_quote(q, sizeof(q), text, strlen(text)));
        *(enum mt_log_level *)f = (enum mt_log_level)l;
        return 0;
    }
    case T_LOG_FORMAT: {
        char *s = mt_xstrndup(t.p, t.len);
        int l = mt_log_format_parse(s);
        free(s);
        if (l < 0)
            return mt_fail(err, MT_EINVAL, "expected text or json, got %s",
                           mt_quote(q, sizeof(q), text, strlen(text)));
        *(enum mt_log_format *)f = (enum mt_log_format)l;
        return 0;
    }
    case T_LIST:
    case T_CIDRS: {
        char **items = NULL;
        size_t n = 0;
        if ((v->type == T_LIST ? parse_list(text, &items, &n, err)
                               : parse_cidrs(text, &items, &n, err)) < 0)
            return -1;
        list_free(*(char ***)f);
        *(char ***)f = items;
        *(size_t *)((char *)cfg + v->count_offset) = n;
        return 0;
    }
    }
    return mt_fail(err, MT_EINTERNAL, "unknown type");
}

/* Names the variable and where its value came from in err. */
static int blame(struct mt_err *err, const struct var *v, const struct raw *r)
{
    /* Only the emptiness check can fail for a secret string, and it quotes
     * nothing; anything else would, so it is dropped. */
    if (v->secret && v->type != T_STRING)
        err->msg[0] = '\0';
    switch (r->source) {
    case MT_SRC_DEFAULT:
        err->code = MT_EINTERNAL;
        return mt_err_wrap(err, "invalid built-in default of %s", v->name);
    case MT_SRC_DOTENV:
        return mt_err_wrap(err, "invalid %s in %s line %d", v->name, r->file, r->line);
    case MT_SRC_ENV:
        return mt_err_wrap(err, "invalid %s in the environment", v->name);
    case MT_SRC_FLAG:
        break;
    }
    char flag[64];
    size_t i = 0;
    for (; v->name[i] && i < sizeof(flag) - 1; i++)
        flag[i] = v->name[i] == '_' ? '-' : (char)tolower((unsigned char)v->name[i]);
    flag[i] = '\0';
    return mt_err_wrap(err, "invalid %s given as --%s", v->name, flag);
}

void mt_config_release(struct mt_config *cfg)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++) {
        const struct var *v = &vars[i];
        if (v->type == T_STRING) {
            char **s = field(cfg, v);
            free(*s);
            *s = NULL;
        } else if (v->type == T_LIST || v->type == T_CIDRS) {
            char ***l = field(cfg, v);
            list_free(*l);
            *l = NULL;
        }
    }
    free(cfg->dotenv_path);
    cfg->dotenv_path = NULL;
    free(cfg->timezone_effective);
    cfg->timezone_effective = NULL;
}

/* Sets every variable from raws[i]; on failure releases cfg. */
static int apply(struct mt_config *cfg, const struct raw *raws, struct mt_err *err)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++) {
        if (set_value(cfg, &vars[i], raws[i].text, err) < 0) {
            blame(err, &vars[i], &raws[i]);
            mt_config_release(cfg);
            return -1;
        }
        cfg->source[i] = (unsigned char)raws[i].source;
    }
    return 0;
}

static void defaults(struct raw *raws)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++)
        raws[i] = (struct raw){.text = vars[i].def, .source = MT_SRC_DEFAULT};
}

void mt_config_load_defaults(struct mt_config *cfg)
{
    struct raw raws[MT_ARRAY_LEN(vars)];
    struct mt_err err = {0};
    memset(cfg, 0, sizeof(*cfg));
    defaults(raws);
    if (apply(cfg, raws, &err) < 0) {
        /* Only a broken table gets here; the unit tests load the defaults. */
        fprintf(stderr, "meditrack: %s\n", err.msg);
        abort();
    }
    cfg->timezone_effective = mt_xstrdup("UTC");
    cfg->test_clock_speed_x = 1.0;
}

/* The last override for name, or NULL. */
static const char *override_for(const char *name, const struct mt_config_override *ov, size_t n_ov)
{
    for (size_t k = n_ov; k > 0; k--)
        if (strcmp(ov[k - 1].name, name) == 0)
            return ov[k - 1].value;
    return NULL;
}

/* Reads the .env file: ENV_FILE (flag or environment) names one that must
 * exist; otherwise ./.env is read when it is there. */
static int read_dotenv(const struct mt_config_override *ov, size_t n_ov, struct mt_dotenv *d,
                       char **path_out, struct mt_err *err)
{
    const char *named = override_for("ENV_FILE", ov, n_ov);
    if (!named)
        named = env_get("ENV_FILE");
    bool explicit = named && *named;
    const char *path = explicit ? named : "./.env";
    struct mt_err e2 = {0};
    if (mt_dotenv_read(path, env_lookup, NULL, d, &e2) < 0) {
        if (!explicit && e2.code == MT_ENOTFOUND) {
            *path_out = NULL;
            return 0;
        }
        *err = e2;
        if (explicit && e2.code == MT_ENOTFOUND)
            return mt_fail(err, MT_EINVAL, "ENV_FILE names %s, which does not exist", path);
        return mt_err_wrap(err, "invalid .env file");
    }
    *path_out = mt_xstrdup(path);
    return 0;
}

/* TEST_CLOCK_START and TEST_CLOCK_SPEED: parsed, and refused unless
 * ALLOW_TEST_CLOCK=true, so that a production server cannot be moved in
 * time by a stray variable. */
static int check_test_clock(struct mt_config *cfg, struct mt_err *err)
{
    char q[MT_QUOTE_SIZE];
    /* The default written out (`meditrack config` prints it into a .env
     * file) is not a request for the test clock. */
    struct mt_str sp_text = mt_str_trim(mt_str_c(cfg->test_clock_speed));
    bool speed_set = !(sp_text.len == 1 && sp_text.p[0] == '1');
    bool start_set = cfg->test_clock_start[0] != '\0';
    cfg->test_clock_speed_x = 1.0;
    if (!start_set && !speed_set)
        return 0;
    if (!cfg->allow_test_clock)
        return mt_fail(err, MT_EINVAL,
                       "%s is set but ALLOW_TEST_CLOCK is not true: the test clock is for "
                       "tests only",
                       start_set ? "TEST_CLOCK_START" : "TEST_CLOCK_SPEED");
    if (start_set) {
        struct mt_str t = mt_str_trim(mt_str_c(cfg->test_clock_start));
        struct mt_timestamp_text tt;
        if (mt_scan_timestamp(t.p, t.len, MT_TS_STORED, &tt) != NULL || !tt.has_time ||
            tt.zone_len == 0 || mt_parse_timestamp(t.p, t.len, &cfg->test_clock_start_us) < 0)
            return mt_fail(
                err, MT_EINVAL,
                "invalid TEST_CLOCK_START: expected an ISO instant with a zone "
                "such as 2026-03-08T06:00:00Z, got %s",
                mt_quote(q, sizeof(q), cfg->test_clock_start, strlen(cfg->test_clock_start)));
    } else {
        cfg->test_clock_start_us = mt_now_us();
    }
    const char *sp = cfg->test_clock_speed;
    char *end = NULL;
    double x = strtod(sp, &end);
    if (end == sp || mt_str_trim(mt_str_c(end)).len != 0 || !(x > 0.0) || x > 1e6)
        return mt_fail(err, MT_EINVAL,
                       "invalid TEST_CLOCK_SPEED: expected a factor above 0 and at most "
                       "1000000, got %s",
                       mt_quote(q, sizeof(q), sp, strlen(sp)));
    cfg->test_clock_speed_x = x;
    cfg->test_clock = true;
    return 0;
}

/* TIMEZONE, else TZ (the C library's variable, which may start with ':'),
 * else UTC. Whether the zone exists is checked where it is loaded
 * (core/tz.c, at the start of serve), since that reads the zone files. */
static void effective_timezone(struct mt_config *cfg)
{
    const char *z = cfg->timezone;
    if (!z[0]) {
        const char *tz = getenv("TZ");
        z = tz && tz[0] ? tz : "UTC";
        if (z[0] == ':')
            z++;
        if (!z[0])
            z = "UTC";
    }
    free(cfg->timezone_effective);
    cfg->timezone_effective = mt_xstrdup(z);
}

/* Rules between variables, checked once every value is parsed. */
static int check_pairs(struct mt_config *cfg, struct mt_err *err)
{
    if (check_test_clock(cfg, err) < 0)
        return -1;
    /* Two fixed zones for the same thing would leave the reader guessing
     * which one applies; TZ alone does not count, an explicit
     * TIMEZONE_OFFSET wins over it (docs/timezones.md). */
    const struct var *off = find_var("TIMEZONE_OFFSET");
    cfg->timezone_offset_set = cfg->source[off - vars] != MT_SRC_DEFAULT;
    if (cfg->timezone[0] && cfg->timezone_offset_set)
        return mt_fail(err, MT_EINVAL,
                       "TIMEZONE and TIMEZONE_OFFSET are both set: set TIMEZONE alone (it "
                       "follows daylight saving time), or TIMEZONE_OFFSET alone");
    effective_timezone(cfg);
    /* Half a TLS configuration must not fall back to plain HTTP silently. */
    bool cert = cfg->tls_cert_file[0] != '\0', key = cfg->tls_key_file[0] != '\0';
    if (cert != key)
        return mt_fail(err, MT_EINVAL,
                       "%s is set but %s is not: set both to serve HTTPS, or neither for plain "
                       "HTTP",
                       cert ? "TLS_CERT_FILE" : "TLS_KEY_FILE",
                       cert ? "TLS_KEY_FILE" : "TLS_CERT_FILE");
    return 0;
}

int mt_config_load(struct mt_config *cfg, const struct mt_config_override *ov, size_t n_ov,
                   struct mt_err *err)
{
    for (size_t k = 0; k < n_ov; k++)
        if (!find_var(ov[k].name))
            return mt_fail(err, MT_EINVAL, "unknown configuration variable %s", ov[k].name);

    struct mt_dotenv d = {0};
    char *dotenv_path = NULL;
    if (read_dotenv(ov, n_ov, &d, &dotenv_path, err) < 0)
        return -1;

    struct raw raws[MT_ARRAY_LEN(vars)];
    defaults(raws);
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++) {
        const struct var *v = &vars[i];
        const struct mt_dotenv_entry *e =
            dotenv_path && v->offset != FIELD(env_file) ? mt_dotenv_find(&d, v->name) : NULL;
        const char *env = env_get(v->name);
        const char *flag = override_for(v->name, ov, n_ov);
        if (e)
            raws[i] = (struct raw){e->value, MT_SRC_DOTENV, e->line, dotenv_path};
        if (env)
            raws[i] = (struct raw){env, MT_SRC_ENV, 0, NULL};
        if (flag)
            raws[i] = (struct raw){flag, MT_SRC_FLAG, 0, NULL};
    }

    memset(cfg, 0, sizeof(*cfg));
    int rc = apply(cfg, raws, err);
    if (rc == 0 && check_pairs(cfg, err) < 0) {
        mt_config_release(cfg);
        rc = -1;
    }
    if (dotenv_path)
        mt_dotenv_release(&d);
    if (rc < 0) {
        free(dotenv_path);
        return -1;
    }
    cfg->dotenv_path = dotenv_path;
    return 0;
}

/* "DATABASE_URL" -> "database-url". */
static void flag_of(const struct var *v, char *out, size_t cap)
{
    size_t i = 0;
    for (; v->name[i] && i < cap - 1; i++)
        out[i] = v->name[i] == '_' ? '-' : (char)tolower((unsigned char)v->name[i]);
    out[i] = '\0';
}

const char *mt_config_flag_name(const char *flag)
{
    if (strncmp(flag, "--", 2) != 0)
        return NULL;
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++) {
        char f[64];
        flag_of(&vars[i], f, sizeof(f));
        if (!vars[i].no_flag && strcmp(flag + 2, f) == 0)
            return vars[i].name;
    }
    return NULL;
}

bool mt_config_is_bool(const char *name)
{
    const struct var *v = find_var(name);
    return v && v->type == T_BOOL;
}

/* Writes value so that the .env reader gives it back: bare when it is one
 * plain word, in single quotes when possible, else in double quotes. */
static void put_value(FILE *out, const char *s)
{
    /* An empty value is written as '' since a bare one would take the
     * comment after it for its value when read back. */
    bool plain = *s != '\0', has_single = false;
    for (const char *c = s; *c; c++) {
        if (strchr(" \t\r\n#\"'\\$", *c))
            plain = false;
        if (*c == '\'' || *c == '\n' || *c == '\r')
            has_single = true;
    }
    if (plain) {
        fputs(s, out);
    } else if (!has_single) {
        fprintf(out, "'%s'", s);
    } else {
        fputc('"', out);
        for (const char *c = s; *c; c++) {
            if (*c == '\n')
                fputs("\\n", out);
            else if (*c == '\r')
                fputs("\\r", out);
            else if (*c == '"' || *c == '\\')
                fprintf(out, "\\%c", *c);
            else
                fputc(*c, out);
        }
        fputc('"', out);
    }
}

/* The effective value of v as text; the caller frees it. */
static char *value_text(const struct mt_config *cfg, const struct var *v)
{
    const void *f = cfield(cfg, v);
    switch (v->type) {
    case T_STRING: {
        const char *s = *(char *const *)f;
        if (v->secret)
            return mt_xstrdup("***");
        return v->url ? mt_redact_url(s) : mt_xstrdup(s);
    }
    case T_BOOL:
        return mt_xstrdup(*(const bool *)f ? "true" : "false");
    case T_INT:
        return mt_xasprintf("%d", *(const int *)f);
    case T_INT64:
        return mt_xasprintf("%lld", (long long)*(const int64_t *)f);
    case T_LOG_LEVEL:
        return mt_xstrdup(mt_log_level_name(*(const enum mt_log_level *)f));
    case T_LOG_FORMAT:
        return mt_xstrdup(mt_log_format_name(*(const enum mt_log_format *)f));
    case T_LIST:
    case T_CIDRS: {
        struct mt_buf b;
        mt_buf_init(&b, 0);
        char *const *items = *(char **const *)f;
        for (size_t i = 0; items && items[i]; i++) {
            if (i)
                mt_buf_addc(&b, ',');
            mt_buf_adds(&b, items[i]);
        }
        return mt_buf_detach(&b, NULL);
    }
    }
    return mt_xstrdup("");
}

void mt_config_print(const struct mt_config *cfg, FILE *out)
{
    fprintf(out, "# meditrack configuration (after each value: where it came from)\n");
    if (cfg->dotenv_path)
        fprintf(out, "# .env file read: %s\n", cfg->dotenv_path);
    else
        fprintf(out, "# .env file read: none\n");
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++) {
        const struct var *v = &vars[i];
        char *text = value_text(cfg, v);
        fprintf(out, "%s=", v->name);
        /* An empty value followed by the "  # source" comment reads back as
         * the comment (python-dotenv's rule); a list of ranges is checked,
         * so its empty value is written quoted. */
        if (v->type == T_CIDRS && !*text)
            fputs("''", out);
        else
            put_value(out, text);
        unsigned src = cfg->source[i];
        fprintf(out, "  # %s", src < MT_ARRAY_LEN(source_names) ? source_names[src] : "?");
        if (v->secret && src == MT_SRC_DEFAULT)
            fprintf(out, " (development value: set your own)");
        fputc('\n', out);
        free(text);
    }
}

static void print_accepts(const struct var *v, FILE *out)
{
    switch (v->type) {
    case T_STRING:
        fputs(v->required ? "any non-empty text" : "any text", out);
        break;
    case T_BOOL:
        fputs("true or false (also 1/0, yes/no, on/off)", out);
        break;
    case T_INT:
    case T_INT64:
        fprintf(out, "an integer from %lld to %lld", (long long)v->min, (long long)v->max);
        break;
    case T_LOG_LEVEL:
        fputs("debug, info, warning, error or off", out);
        break;
    case T_LOG_FORMAT:
        fputs("text or json", out);
        break;
    case T_LIST:
        fputs("a JSON list [\"http://a\",\"http://b\"] or a comma-separated list", out);
        break;
    case T_CIDRS:
        fputs("comma-separated IPv4/IPv6 addresses or CIDR ranges (10.0.0.0/8, fd00::/8)", out);
        break;
    }
}

void mt_config_print_help(FILE *out)
{
    fprintf(out, "Configuration variables. Each takes, lowest precedence first, its built-in\n"
                 "default, a value from the .env file (./.env, or the file ENV_FILE names),\n"
                 "the environment, and the command-line flag shown (--flag VALUE or\n"
                 "--flag=VALUE). A .env entry never overrides a variable that is really set.\n"
                 "A bad value stops the program with exit status 3.\n");
    for (size_t i = 0; i < MT_ARRAY_LEN(vars); i++) {
        const struct var *v = &vars[i];
        char flag[64];
        flag_of(v, flag, sizeof(flag));
        fprintf(out, "\n%s", v->name);
        if (!v->no_flag)
            fprintf(out, "  (--%s)", flag);
        if (v->secret)
            fprintf(out, "  [secret: shown as ***]");
        fprintf(out, "\n    %s\n    accepts: ", v->help);
        print_accepts(v, out);
        fprintf(out, "; default: %s\n", *v->def ? v->def : "(empty)");
    }
}
