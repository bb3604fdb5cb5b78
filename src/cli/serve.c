/* `meditrack serve`: listens first (answering 503 "starting" while the
 * start-up sequence runs), then serves the API until SIGTERM or SIGINT, and
 * shuts down gracefully: stop accepting, let requests in flight finish for up
 * to SHUTDOWN_GRACE seconds, close the connection pool. With TLS_CERT_FILE
 * and TLS_KEY_FILE it serves HTTPS, and SIGHUP rereads the two files. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "api/auth.h"
#include "api/server.h"
#include "api/tls.h"
#include "cli/cli.h"
#include "cli/start.h"
#include "copy/copy.h"
#include "core/log.h"
#include "core/mtime.h"
#include "core/tz.h"
#include "db/db.h"
#include "migrate/migrate.h"
#include "remind/remind.h"
#include "schema/schema.h"

/* How long the readiness check waits for a pooled connection. */
#define READY_CHECK_WAIT_MS 10000

static void usage(FILE *out)
{
    fprintf(out, "usage: meditrack serve [--print-config] [--help]\n\n"
                 "Serves the MediTrack HTTP API on HOST:PORT (default 127.0.0.1:8000).\n"
                 "The server listens at once; until the database is ready GET /health\n"
                 "answers 503 {\"status\":\"starting\",\"step\":...} and other requests 503.\n\n"
                 "options:\n"
                 "  --print-config  print the effective configuration (secrets masked) and exit\n"
                 "  --help          this text\n\n"
                 "settings (environment, .env, or flags such as --port 8001):\n"
                 "  HOST, PORT, DATABASE_URL, DB_POOL_SIZE, DB_STATEMENT_TIMEOUT,\n"
                 "  DB_LOCK_TIMEOUT, DB_HEALTH_TIMEOUT, SQLITE_BUSY_TIMEOUT, HTTP_THREADS,\n"
                 "  MAX_BODY_BYTES, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP, CONNECTION_TIMEOUT,\n"
                 "  HEAD_TIMEOUT, REQUEST_DEADLINE, SHUTDOWN_GRACE, HEAVY_CONCURRENCY,\n"
                 "  HEAVY_QUEUE_WAIT_MS, CORS_ORIGINS, STATIC_DIR, LOG_LEVEL, LOG_FORMAT,\n"
                 "  TLS_CERT_FILE, TLS_KEY_FILE, BACKUP_SCHEDULE, BACKUP_DIR, BACKUP_KEEP,\n"
                 "  access control (docs/auth.md): AUTH (on|off, default on),\n"
                 "  AUTH_PROXY_HEADER, AUTH_PROXY_GROUPS_HEADER, AUTH_PROXY_ADMIN_GROUP,\n"
                 "  AUTH_PROXY_CARER_GROUP, AUTH_PROXY_VIEWER_GROUP, TRUSTED_PROXIES,\n"
                 "  SESSION_IDLE_TIMEOUT, SESSION_MAX_AGE\n"
                 "  (see `meditrack config --help`).\n\n"
                 "With AUTH=on and no account yet, the log shows a one-time setup token for\n"
                 "the web UI's first-run page (or run `meditrack user add NAME --role admin`).\n\n"
                 "TLS: with TLS_CERT_FILE (PEM certificate chain, leaf first) and\n"
                 "TLS_KEY_FILE (its unencrypted PEM key), both or neither, PORT speaks HTTPS\n"
                 "only (TLS 1.3 and 1.2); a plain HTTP request there gets a 400 saying so.\n\n"
                 "BACKUP_SCHEDULE (daily@HH:MM[:SS], hourly@MM[:SS], weekly@DAY@HH:MM[:SS],\n"
                 "on the server's wall clock: TIMEZONE, or TIMEZONE_OFFSET when set) makes\n"
                 "the server write a backup into BACKUP_DIR at those times, once across\n"
                 "replicas, keeping BACKUP_KEEP of them; the outcome is in GET /api/v1/health\n"
                 "and the log (docs/backup.md).\n\n"
                 "SIGTERM or SIGINT: stop accepting, let requests in flight finish for up to\n"
                 "SHUTDOWN_GRACE seconds (a running backup is cancelled), then exit 0.\n"
                 "SIGHUP: reread TLS_CERT_FILE and TLS_KEY_FILE; new connections get the new\n"
                 "pair, open ones keep theirs; if the files are unusable the old pair stays\n"
                 "and the error is logged. Without TLS, SIGHUP is logged and ignored.\n\n"
                 "exit codes: 0 stopped by a signal, 1 failed, 2 bad command line,\n"
                 "  3 bad configuration: DATABASE_URL, a database file the process may not\n"
                 "    write, a TLS certificate or key that cannot be read or used,\n"
                 "  4 database unreachable, 5 database refused us,\n"
                 "  8 the server could not listen (e.g. the port is in use)\n");
}

/* What the start-up callbacks need. */
struct serve_state {
    struct http_server *srv;
    struct db_pool *pool;
    bool memory;           /* DATABASE_URL is sqlite:///:memory: */
    sigset_t stop_signals; /* SIGTERM, SIGINT */
    sigset_t signals;      /* those and SIGHUP: what the main thread waits for */
};

static void report_step(void *ctx, const char *step)
{
    struct serve_state *st = ctx;
    http_server_set_ready(st->srv, false, step);
}

/* The stop signals are blocked in every thread, so a SIGTERM during start-up
 * stays pending until sigwait; this peeks at it. */
static bool stop_requested(void *ctx)
{
    (void)ctx;
    sigset_t pending;
    if (sigpending(&pending) < 0)
        return false;
    return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

/* The start-up sequence runs here, while the server already answers 503:
 * mt_start_sequence (cli/start.c) waits for the database, migrates and seeds.
 * With AUTO_MIGRATE=false it is skipped (an init container or an operator
 * runs `meditrack init`), and serve only checks that the database answers. */
static int run_start_sequence(const struct mt_config *cfg, struct serve_state *st,
                              const struct mt_start_opts *opts)
{
    if (cfg->auto_migrate)
        return mt_start_sequence(cfg, opts);
    if (st->memory) {
        mt_log(MT_LOG_INFO, "AUTO_MIGRATE=false does not apply to sqlite:///:memory: (no other "
                            "process can migrate it): running the start-up sequence");
        return mt_start_sequence(cfg, opts);
    }
    mt_log(MT_LOG_INFO, "AUTO_MIGRATE=false: skipping the start-up sequence");
    opts->progress(opts->ctx, "connecting to the database");
    if (opts->should_stop(opts->ctx))
        return MT_EXIT_FAIL;
    struct mt_err err = {0};
    struct db_conn *c = db_pool_get(st->pool, READY_CHECK_WAIT_MS, &err);
    if (!c) {
        mt_log(MT_LOG_ERROR, "database not ready: %s", err.msg);
        return cli_exit_for_connect_error(&err);
    }
    db_pool_put(st->pool, c);
    mt_log(MT_LOG_INFO, "Starting application server...");
    return MT_EXIT_OK;
}

/* The backup scheduler of BACKUP_SCHEDULE, started before the server so
 * that GET /api/v1/health can report it from the first request. *out stays
 * NULL when no schedule is set. Returns MT_EXIT_OK or the exit code. */
static int start_backups(const struct mt_config *cfg, const struct db_url *url, struct mt_tz zone,
                         struct mig_chain **ch, struct copy_scheduler **out)
{
    *out = NULL;
    struct copy_schedule sched;
    struct mt_err err = {0};
    if (copy_schedule_parse(cfg->backup_schedule, &sched, &err) < 0) {
        mt_log(MT_LOG_ERROR, "configuration error: %s", err.msg);
        return MT_EXIT_CONFIG;
    }
    if (sched.every == COPY_NEVER)
        return MT_EXIT_OK;
    /* Backups of server databases create the backup file's schema through
     * the migration engine, whose revisions name MediTrack's repair hook. */
    if (schema_register(&err) < 0 || mig_chain_load(cfg, ch, &err) < 0) {
        mt_log(MT_LOG_ERROR, "cannot set up the backup schedule: %s", err.msg);
        return MT_EXIT_FAIL;
    }
    struct copy_scheduler_config sc = {.url = url,
                                       .ch = *ch,
                                       .schedule = sched,
                                       .schedule_text = cfg->backup_schedule,
                                       .dir = cfg->backup_dir,
                                       .keep = cfg->backup_keep,
                                       .zone = zone};
    *out = copy_scheduler_start(&sc, &err);
    if (!*out) {
        mt_log(MT_LOG_ERROR, "%s", err.msg);
        mig_chain_free(*ch);
        *ch = NULL;
        return MT_EXIT_FAIL;
    }
    mt_log(MT_LOG_INFO, "backups scheduled: %s into %s, keeping %d", cfg->backup_schedule,
           cfg->backup_dir, cfg->backup_keep);
    return MT_EXIT_OK;
}

/* The server's zone (struct app's zone): the fixed TIMEZONE_OFFSET when it
 * was given or when the zone is UTC, so that default settings compute
 * exactly what they always did, else the IANA zone of TIMEZONE or TZ. */
static int server_zone(const struct mt_config *cfg, struct mt_tz *out, struct mt_err *err)
{
    if (cfg->timezone_offset_set || strcmp(cfg->timezone_effective, "UTC") == 0) {
        *out = mt_tz_fixed(cfg->timezone_offset);
        return 0;
    }
    return mt_tz_load(cfg->timezone_effective, out, err);
}

/* Lets the server hold MAX_CONNECTIONS sockets: the soft limit on open files
 * (often 1024) is raised as far as the hard limit allows. */
static void raise_fd_limit(int max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = (rlim_t)max_connections + 64 + 256; /* + pool, logs, listen, slack */
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        want = rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        mt_log(MT_LOG_WARN, "could not raise the open-file limit to %llu",
               (unsigned long long)want);
}

static void log_listening(const char *host, int port, bool tls)
{
    bool v6 = strchr(host, ':') != NULL;
    mt_log(MT_LOG_INFO, "Listening on %s://%s%s%s:%d", tls ? "https" : "http", v6 ? "[" : "", host,
           v6 ? "]" : "", port);
}

/* Reads the TLS pair named by the configuration and logs which certificate
 * it is (serial, fingerprint, validity: never anything about the key). */
static int load_tls(const struct mt_config *cfg, struct tls_creds **out, struct mt_err *err)
{
    if (tls_creds_load(cfg->tls_cert_file, cfg->tls_key_file, out, err) < 0)
        return -1;
    struct tls_creds_info info;
    tls_creds_info(*out, &info);
    char until[32] = "?";
    struct tm tm;
    if (gmtime_r(&info.not_after, &tm))
        strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
    mt_log(MT_LOG_INFO, "TLS certificate file=%s serial=%s sha256=%s not_after=%s",
           cfg->tls_cert_file, info.serial, info.sha256, until);
    time_t now = time(NULL);
    if (now > info.not_after || now < info.not_before)
        mt_log(MT_LOG_WARN, "the TLS certificate in %s is %s: browsers will refuse it",
               cfg->tls_cert_file, now > info.not_after ? "expired" : "not valid yet");
    return 0;
}

/* SIGHUP: the certificate and key are read again (renewed by certbot or an
 * operator); new connections get the new pair. A pair that cannot be used
 * leaves the old one in place, so a botched renewal never takes the
 * service down. */
static void reload_tls(const struct mt_config *cfg, struct http_server *srv)
{
    if (!cfg->tls_cert_file[0]) {
        mt_log(MT_LOG_INFO, "received SIGHUP: TLS is not configured, nothing to reload");
        return;
    }
    mt_log(MT_LOG_INFO, "received SIGHUP: reloading the TLS certificate and key");
    struct mt_err err = {0};
    struct tls_creds *creds = NULL;
    if (load_tls(cfg, &creds, &err) < 0) {
        mt_log(MT_LOG_ERROR, "TLS reload failed, still serving the previous certificate: %s",
               err.msg);
        return;
    }
    http_server_set_tls(srv, creds);
    tls_creds_unref(creds);
    mt_log(MT_LOG_INFO, "TLS certificate reloaded: new connections use it");
}

int cmd_serve(int argc, char **argv, const struct mt_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return MT_EXIT_OK;
        }
        if (strcmp(argv[i], "--print-config") == 0) {
            mt_config_print(cfg, stdout);
            return MT_EXIT_OK;
        }
        fprintf(stderr, "meditrack serve: unknown argument '%s' (see meditrack serve --help)\n",
                argv[i]);
        return MT_EXIT_USAGE;
    }

    /* Block the stop signals before any thread exists so that every thread
     * inherits the mask and only sigwait below sees them. */
    struct serve_state st = {0};
    sigemptyset(&st.stop_signals);
    sigaddset(&st.stop_signals, SIGTERM);
    sigaddset(&st.stop_signals, SIGINT);
    st.signals = st.stop_signals;
    sigaddset(&st.signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &st.signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(cfg->max_connections);

    struct mt_err err = {0};
    /* Before any thread exists: the clock's state is then only read. */
    if (cfg->test_clock) {
        char at[MT_TIME_BUF];
        mt_clock_set(cfg->test_clock_start_us, cfg->test_clock_speed_x);
        mt_log(MT_LOG_WARN,
               "test clock: now is %s, running %g times as fast as real time "
               "(ALLOW_TEST_CLOCK=true: never in production)",
               mt_format_iso(cfg->test_clock_start_us, at, sizeof(at)), cfg->test_clock_speed_x);
    }
    struct mt_tz zone;
    if (server_zone(cfg, &zone, &err) < 0) {
        mt_log(MT_LOG_ERROR, "configuration error: %s (TIMEZONE, or TZ)", err.msg);
        return MT_EXIT_CONFIG;
    }
    struct db_url url;
    if (cli_db_url(cfg, &url, &err) < 0) {
        mt_log(MT_LOG_ERROR, "cannot use DATABASE_URL: %s", err.msg);
        return MT_EXIT_CONFIG;
    }
    /* An in-memory database lives in this process only: nobody else could
     * have migrated it, so the start-up sequence always runs for it. */
    st.memory = url.dialect == DB_SQLITE && url.path && strcmp(url.path, ":memory:") == 0;
    struct mig_chain *backup_chain = NULL;
    struct copy_scheduler *backups = NULL;
    int brc = start_backups(cfg, &url, zone, &backup_chain, &backups);
    if (brc != MT_EXIT_OK) {
        db_url_release(&url);
        return brc;
    }
    int prc = db_pool_new_url(&url, cfg->db_pool_size, &st.pool, &err);
    db_url_release(&url);
    if (prc < 0) {
        mt_log(MT_LOG_ERROR, "cannot use DATABASE_URL: %s", err.msg);
        copy_scheduler_free(backups);
        mig_chain_free(backup_chain);
        return err.code == MT_EINVAL ? MT_EXIT_CONFIG : MT_EXIT_FAIL;
    }
    /* Every request's statements get a deadline; the start-up sequence's
     * migrations run on connections of their own, without one. */
    int lock_ms = cfg->db_lock_timeout ? cfg->db_lock_timeout : cfg->db_statement_timeout;
    if (db_pool_set_timeouts(st.pool, cfg->db_statement_timeout, lock_ms, &err) < 0) {
        mt_log(MT_LOG_ERROR, "cannot use the database timeouts: %s", err.msg);
        db_pool_free(st.pool);
        copy_scheduler_free(backups);
        mig_chain_free(backup_chain);
        return MT_EXIT_CONFIG;
    }
    struct app app = {.cfg = cfg, .pool = st.pool, .backups = backups, .zone = zone};
    /* Reminders: a bad NOTIFY_SECRET_KEY is a configuration error, found
     * before the port is opened. */
    struct remind_ctx reminders;
    if (remind_ctx_init(&reminders, cfg, zone, cfg->test_clock ? cfg->test_clock_speed_x : 1.0,
                        &err) < 0) {
        mt_log(MT_LOG_ERROR, "configuration error: %s", err.msg);
        db_pool_free(st.pool);
        copy_scheduler_free(backups);
        mig_chain_free(backup_chain);
        return MT_EXIT_CONFIG;
    }
    app.remind = &reminders;
    struct remind_worker *worker = NULL;
    if (api_auth_new(cfg, &app.auth, &err) < 0) {
        mt_log(MT_LOG_ERROR, "cannot set up access control: %s", err.msg);
        db_pool_free(st.pool);
        copy_scheduler_free(backups);
        mig_chain_free(backup_chain);
        return MT_EXIT_FAIL;
    }

    /* A certificate that cannot be used is a configuration error, found
     * before the port is opened. */
    struct tls_creds *tls = NULL;
    if (cfg->tls_cert_file[0] && load_tls(cfg, &tls, &err) < 0) {
        mt_log(MT_LOG_ERROR, "cannot serve HTTPS: %s", err.msg);
        api_auth_free(app.auth);
        db_pool_free(st.pool);
        copy_scheduler_free(backups);
        mig_chain_free(backup_chain);
        return MT_EXIT_CONFIG;
    }
    st.srv = http_server_start(&app, cfg->host, cfg->port, tls, &err);
    tls_creds_unref(tls);
    if (!st.srv) {
        mt_log(MT_LOG_ERROR, "cannot start the HTTP server: %s", err.msg);
        api_auth_free(app.auth);
        db_pool_free(st.pool);
        copy_scheduler_free(backups);
        mig_chain_free(backup_chain);
        return MT_EXIT_SERVE;
    }
    log_listening(cfg->host, http_server_port(st.srv), cfg->tls_cert_file[0] != '\0');

    struct mt_start_opts opts = {
        .progress = report_step, .should_stop = stop_requested, .ctx = &st, .serving = true};
    int rc = run_start_sequence(cfg, &st, &opts);
    if (rc != MT_EXIT_OK && stop_requested(&st)) {
        /* Stopped on purpose while starting (the signal is still pending and
         * sigwait below takes it at once): not a failure. */
        mt_log(MT_LOG_INFO, "stop requested during start-up");
        rc = MT_EXIT_OK;
    }
    if (rc == MT_EXIT_OK && !stop_requested(&st)) {
        /* The setup token (or the warning of an open API) is the last
         * thing said before the server answers. */
        api_auth_start(&app);
        /* The worker starts on a migrated database; it idles while no
         * channel exists. A failure to start it is logged, not fatal: the
         * API still serves. */
        if (cfg->reminders) {
            worker = remind_worker_start(&reminders, st.pool, &err);
            if (!worker)
                mt_log(MT_LOG_ERROR, "reminders are off: %s", err.msg);
        } else {
            mt_log(MT_LOG_INFO, "REMINDERS=off: this process sends no reminders");
        }
        http_server_set_ready(st.srv, true, "ready");
        mt_log(MT_LOG_INFO, "ready");
    }

    if (rc == MT_EXIT_OK) {
        int sig = 0;
        for (;;) {
            sigwait(&st.signals, &sig);
            if (sig != SIGHUP)
                break;
            reload_tls(cfg, st.srv);
        }
        mt_log(MT_LOG_INFO, "received %s, shutting down (grace %d s)",
               sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->shutdown_grace);
        /* A backup in progress stops at its next batch while requests
         * finish; its partial file is removed and its slot marked failed. */
        copy_scheduler_request_stop(backups);
        remind_worker_request_stop(worker);
        http_server_stop(st.srv, cfg->shutdown_grace);
    } else {
        copy_scheduler_request_stop(backups);
        http_server_stop(st.srv, 0);
    }
    remind_worker_free(worker);
    http_server_free(st.srv);
    api_auth_free(app.auth);
    copy_scheduler_free(backups);
    mig_chain_free(backup_chain);
    db_pool_free(st.pool);
    mt_log(MT_LOG_INFO, "stopped");
    return rc;
}
