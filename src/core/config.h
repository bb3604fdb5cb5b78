/* The effective configuration, read and validated once at start-up from, lowest
 * first: built-in defaults, a .env file (./.env or $ENV_FILE), the process
 * environment, and command-line flags. Every variable is declared once in the
 * table in config.c (name, type, default, bounds, secret flag, help). Nothing
 * outside config.c (and the .env reader in dotenv.c, which it drives) calls
 * getenv(). Owned by core; `meditrack config --list` prints the table. */
#ifndef MT_CORE_CONFIG_H
#define MT_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/log.h"

/* Where a value came from, lowest precedence first. */
enum mt_config_source { MT_SRC_DEFAULT, MT_SRC_DOTENV, MT_SRC_ENV, MT_SRC_FLAG };

/* Upper bound on the number of variables in the table (checked at compile
 * time in config.c). */
#define MT_CONFIG_MAX_VARS 96

struct mt_config {
    /* Reference settings (same names and defaults as the Python service). */
    char *database_url;  /* DATABASE_URL */
    char *environment;   /* ENVIRONMENT */
    bool debug;          /* DEBUG */
    char **cors_origins; /* CORS_ORIGINS, parsed; NULL-terminated array */
    size_t n_cors_origins;
    int timezone_offset; /* TIMEZONE_OFFSET, minutes, JavaScript sign (300 = UTC-5) */
    char *secret_key;    /* SECRET_KEY (secret) */
    char *project_name;  /* PROJECT_NAME */
    char *version;       /* VERSION (reported API version, "1.0.0") */

    /* Server. */
    char *host;                    /* HOST */
    int port;                      /* PORT */
    enum mt_log_level log_level;   /* LOG_LEVEL */
    enum mt_log_format log_format; /* LOG_FORMAT */
    char *static_dir;              /* STATIC_DIR ("" = embedded UI, "none" = no UI) */
    int http_threads;              /* HTTP_THREADS */
    int db_pool_size;              /* DB_POOL_SIZE */
    int db_statement_timeout;      /* DB_STATEMENT_TIMEOUT, ms per statement of a request, 0: none */
    int db_lock_timeout;           /* DB_LOCK_TIMEOUT, ms of lock waits, 0: the statement timeout */
    int db_health_timeout;         /* DB_HEALTH_TIMEOUT, ms /api/v1/health waits for the database */
    int sqlite_busy_timeout;       /* SQLITE_BUSY_TIMEOUT, ms a statement may wait for a lock */
    int64_t max_body_bytes;        /* MAX_BODY_BYTES */
    int max_connections;           /* MAX_CONNECTIONS */
    int max_connections_per_ip;    /* MAX_CONNECTIONS_PER_IP */
    int connection_timeout;        /* CONNECTION_TIMEOUT, seconds of inactivity */
    int request_deadline;          /* REQUEST_DEADLINE, seconds for a whole request */
    int head_timeout;              /* HEAD_TIMEOUT, seconds to receive a request head */
    int shutdown_grace;            /* SHUTDOWN_GRACE, seconds to finish in-flight requests */
    int heavy_concurrency;         /* HEAVY_CONCURRENCY: PDFs and exports made at once */
    int heavy_queue_wait_ms;       /* HEAVY_QUEUE_WAIT_MS: how long one may wait for its turn */
    char *tls_cert_file;           /* TLS_CERT_FILE: "" = plain HTTP */
    char *tls_key_file;            /* TLS_KEY_FILE: set exactly when TLS_CERT_FILE is */

    /* Start-up sequence and migrations. */
    bool auto_migrate;          /* AUTO_MIGRATE */
    int db_wait_attempts;       /* DB_WAIT_ATTEMPTS */
    int db_wait_interval;       /* DB_WAIT_INTERVAL, seconds */
    bool db_create;             /* DB_CREATE */
    int migrate_lock_timeout;   /* MIGRATE_LOCK_TIMEOUT, seconds */
    bool backup_before_migrate; /* BACKUP_BEFORE_MIGRATE */
    bool seed_on_empty;         /* SEED_ON_EMPTY */
    bool seed_demo_data;        /* SEED_DEMO_DATA */
    char *migrations_dir;       /* MIGRATIONS_DIR: "" = the revisions embedded in the binary */

    /* Backups (docs/backup.md). */
    char *backup_dir;      /* BACKUP_DIR: where `meditrack backup` and the schedule write */
    char *backup_schedule; /* BACKUP_SCHEDULE: "" = none; daily@HH:MM[:SS], ... */
    int backup_keep;       /* BACKUP_KEEP: scheduled backups kept in BACKUP_DIR */
    /* Access control (docs/auth.md). */
    bool auth;                      /* AUTH: false = the reference's open API */
    char *auth_proxy_header;        /* AUTH_PROXY_HEADER: "" = no single sign-on by proxy */
    char *auth_proxy_groups_header; /* AUTH_PROXY_GROUPS_HEADER: "" = no group mapping */
    char *auth_proxy_admin_group;   /* AUTH_PROXY_ADMIN_GROUP: "" = none */
    char *auth_proxy_carer_group;   /* AUTH_PROXY_CARER_GROUP */
    char *auth_proxy_viewer_group;  /* AUTH_PROXY_VIEWER_GROUP */
    char **trusted_proxies;         /* TRUSTED_PROXIES: CIDRs, each checked by mt_cidr_parse */
    size_t n_trusted_proxies;
    int session_idle_timeout;       /* SESSION_IDLE_TIMEOUT, seconds */
    int session_max_age;            /* SESSION_MAX_AGE, seconds */

    /* Time zones and the test clock (docs/timezones.md). */
    char *timezone;           /* TIMEZONE: IANA name; "" = from TZ, else UTC */
    char *timezone_effective; /* TIMEZONE, else TZ (without a leading ':'), else "UTC" */
    bool timezone_offset_set; /* TIMEZONE_OFFSET was given: it, not TZ, is the server's zone */
    bool allow_test_clock;    /* ALLOW_TEST_CLOCK */
    char *test_clock_start;   /* TEST_CLOCK_START: ISO instant; "" = the real now */
    char *test_clock_speed;   /* TEST_CLOCK_SPEED: factor, as text */
    bool test_clock;          /* the test clock is to be started (checked by the loader) */
    int64_t test_clock_start_us; /* parsed TEST_CLOCK_START; 0 when "" */
    double test_clock_speed_x;   /* parsed TEST_CLOCK_SPEED */

    /* Schedules (docs/schedules.md). */
    int slot_window_minutes;   /* SLOT_WINDOW_MINUTES */
    int slot_late_max_minutes; /* SLOT_LATE_MAX_MINUTES */

    /* Reminders and notification channels (docs/reminders.md). */
    bool reminders;               /* REMINDERS */
    int reminder_horizon_minutes; /* REMINDER_HORIZON_MINUTES */
    char *notify_secret_key;      /* NOTIFY_SECRET_KEY (secret): "" = none */
    int notify_timeout;           /* NOTIFY_TIMEOUT, seconds per send */
    char *smtp_url;               /* SMTP_URL (password masked when printed) */
    char *smtp_from;              /* SMTP_FROM */
    char *public_url;             /* PUBLIC_URL: "" = no snooze links */

    /* Where the values came from. */
    char *env_file;                           /* ENV_FILE: "" = ./.env if it exists */
    char *dotenv_path;                        /* the .env file actually read, NULL if none */
    unsigned char source[MT_CONFIG_MAX_VARS]; /* enum mt_config_source, by table index */
};

/* One command-line override, NAME=VALUE, as gathered by the CLI from flags
 * such as --port 8001 or --database-url=... (flag = variable name in lower
 * case with dashes). */
struct mt_config_override {
    const char *name;
    const char *value;
};

/* Fills cfg from defaults, .env, environment, then overrides (later wins).
 * On failure cfg needs no release and err names the variable and the accepted
 * values (never quoting a secret). On success release with mt_config_release.
 * Whoever prints DATABASE_URL prints it masked (mt_redact_url, or
 * db_url_label of the parsed URL); SECRET_KEY is never printed. */
int mt_config_load(struct mt_config *cfg, const struct mt_config_override *ov, size_t n_ov,
                   struct mt_err *err);
/* Fills cfg with the built-in defaults only (no .env, no environment, no
 * flags), e.g. for `meditrack <command> --help` when the real configuration is
 * invalid. Cannot fail; release with mt_config_release. */
void mt_config_load_defaults(struct mt_config *cfg);
void mt_config_release(struct mt_config *cfg);

/* Maps a flag like "--database-url" (without value) to its variable name
 * ("DATABASE_URL"); returns NULL when no variable has that flag. VERSION has
 * no flag, since --version asks for the program's version. Static storage. */
const char *mt_config_flag_name(const char *flag);
/* True when the variable is a boolean, so that a bare flag (--debug) can
 * mean true. */
bool mt_config_is_bool(const char *name);

/* Prints NAME=value lines, one per variable, each followed by "# default",
 * "# .env", "# env" or "# flag". Secrets and the DATABASE_URL password are
 * shown as *** (the URL through mt_redact_url). The output is itself a valid
 * .env file (but for the masks). */
void mt_config_print(const struct mt_config *cfg, FILE *out);

/* Prints the table as help text (name, flag, accepted values, default,
 * description). */
void mt_config_print_help(FILE *out);

/* .env files (dotenv.c), in the syntax of python-dotenv, which the Python
 * service read: KEY=VALUE lines, optional `export `, blank lines and # comments,
 * single quotes (literal, may span lines), double quotes (backslash escapes,
 * may span lines), unquoted values ending at a ` #` comment, and ${NAME} or
 * ${NAME:-default} expanded in unquoted and double-quoted values from lookup
 * first, then from earlier entries of the file. */
struct mt_dotenv_entry {
    char *key;
    char *value;
    int line;
};

struct mt_dotenv {
    struct mt_dotenv_entry *entries;
    size_t n;
};

/* Looks up a variable for ${NAME} expansion; returns NULL when it is unset. */
typedef const char *(*mt_env_lookup_fn)(const char *name, void *ctx);

/* Parses len bytes of .env text; label names the file in errors ("./.env
 * line 3: ..."), which never quote values since they may be secrets. lookup
 * may be NULL. On success release out with mt_dotenv_release. */
int mt_dotenv_parse(const char *text, size_t len, const char *label, mt_env_lookup_fn lookup,
                    void *ctx, struct mt_dotenv *out, struct mt_err *err);
/* Reads and parses the file at path. A missing file fails with MT_ENOTFOUND,
 * any other read problem with MT_EINVAL. */
int mt_dotenv_read(const char *path, mt_env_lookup_fn lookup, void *ctx, struct mt_dotenv *out,
                   struct mt_err *err);
/* The last entry for key (exact name first, then ignoring ASCII case, as
 * pydantic-settings did), or NULL. Borrowed from d. */
const struct mt_dotenv_entry *mt_dotenv_find(const struct mt_dotenv *d, const char *key);
void mt_dotenv_release(struct mt_dotenv *d);

#endif
