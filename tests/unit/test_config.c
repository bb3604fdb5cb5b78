/* Unit tests of src/core/config.c and dotenv.c: defaults, precedence
 * (default < .env < environment < flag), ENV_FILE, every kind of bad value,
 * CORS_ORIGINS in both forms, masking in mt_config_print and in the log, and
 * the .env syntax. Environment variables are set in-process and cleared. */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "core/config.h"
#include "core/redact.h"

static const char *const names[] = {"DATABASE_URL",
                                    "ENVIRONMENT",
                                    "DEBUG",
                                    "CORS_ORIGINS",
                                    "TIMEZONE_OFFSET",
                                    "SECRET_KEY",
                                    "PROJECT_NAME",
                                    "VERSION",
                                    "HOST",
                                    "PORT",
                                    "LOG_LEVEL",
                                    "LOG_FORMAT",
                                    "STATIC_DIR",
                                    "HTTP_THREADS",
                                    "DB_POOL_SIZE",
                                    "DB_STATEMENT_TIMEOUT",
                                    "DB_LOCK_TIMEOUT",
                                    "DB_HEALTH_TIMEOUT",
                                    "MAX_BODY_BYTES",
                                    "MAX_CONNECTIONS",
                                    "MAX_CONNECTIONS_PER_IP",
                                    "CONNECTION_TIMEOUT",
                                    "REQUEST_DEADLINE",
                                    "SHUTDOWN_GRACE",
                                    "AUTO_MIGRATE",
                                    "DB_WAIT_ATTEMPTS",
                                    "DB_WAIT_INTERVAL",
                                    "DB_CREATE",
                                    "MIGRATE_LOCK_TIMEOUT",
                                    "BACKUP_BEFORE_MIGRATE",
                                    "SEED_ON_EMPTY",
                                    "SEED_DEMO_DATA",
                                    "MIGRATIONS_DIR",
                                    "ENV_FILE",
                                    "TIMEZONE",
                                    "ALLOW_TEST_CLOCK",
                                    "TEST_CLOCK_START",
                                    "TEST_CLOCK_SPEED",
                                    "port",
                                    "Port",
                                    "TZ"};

static char dir[64];

static void clear_env(void)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(names); i++)
        unsetenv(names[i]);
    unlink(".env");
    unlink("other.env");
    unlink("printed.env");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static char *print_cfg(const struct mt_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mt_config_print(cfg, f);
    fclose(f);
    return text;
}

/* Loads and expects success; the caller releases cfg. */
static bool load(struct mt_config *cfg, const struct mt_config_override *ov, size_t n)
{
    struct mt_err err = {0};
    if (mt_config_load(cfg, ov, n, &err) < 0) {
        fprintf(stderr, "unexpected configuration error: %s\n", err.msg);
        return false;
    }
    return true;
}

/* Loads and expects failure; returns the message in a static buffer. */
static const char *load_error(const struct mt_config_override *ov, size_t n)
{
    static struct mt_err err;
    struct mt_config cfg;
    mt_err_clear(&err);
    if (mt_config_load(&cfg, ov, n, &err) == 0) {
        mt_config_release(&cfg);
        return "(no error)";
    }
    return err.msg;
}

static bool contains(const char *hay, const char *needle)
{
    bool ok = hay && strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "  \"%s\" does not contain \"%s\"\n", hay ? hay : "(null)", needle);
    return ok;
}

static void test_defaults(void)
{
    clear_env();
    struct mt_config cfg;
    CHECK(load(&cfg, NULL, 0));
    CHECK_STR(cfg.database_url, "sqlite:///./data/meditrack.db");
    CHECK_STR(cfg.environment, "production");
    CHECK(!cfg.debug);
    /* Same-origin only by default (issue 11). */
    CHECK_EQ(cfg.n_cors_origins, 0);
    CHECK_EQ(cfg.timezone_offset, 0);
    CHECK(strlen(cfg.secret_key) > 0);
    CHECK_STR(cfg.project_name, "MediTrack");
    CHECK_STR(cfg.version, "1.0.0");
    CHECK_STR(cfg.host, "127.0.0.1");
    CHECK_EQ(cfg.port, 8000);
    CHECK_EQ(cfg.log_level, MT_LOG_INFO);
    CHECK_EQ(cfg.log_format, MT_LOG_TEXT);
    CHECK_STR(cfg.static_dir, "");
    CHECK_EQ(cfg.http_threads, 6);
    CHECK_EQ(cfg.db_pool_size, 8);
    CHECK_EQ(cfg.max_body_bytes, 1048576);
    CHECK_EQ(cfg.max_connections, 4096);
    CHECK_EQ(cfg.max_connections_per_ip, 256);
    CHECK_EQ(cfg.connection_timeout, 30);
    CHECK_EQ(cfg.request_deadline, 60);
    CHECK_EQ(cfg.shutdown_grace, 10);
    CHECK(cfg.auto_migrate);
    CHECK_EQ(cfg.db_wait_attempts, 30);
    CHECK_EQ(cfg.db_wait_interval, 2);
    CHECK(!cfg.db_create);
    CHECK_EQ(cfg.migrate_lock_timeout, 60);
    CHECK(cfg.backup_before_migrate);
    CHECK(cfg.seed_on_empty);
    CHECK(!cfg.seed_demo_data);
    CHECK_STR(cfg.migrations_dir, "");
    CHECK(cfg.dotenv_path == NULL);
    char *text = print_cfg(&cfg);
    CHECK(contains(text, "\nPORT=8000  # default\n"));
    CHECK(contains(text, "\nDATABASE_URL=sqlite:///./data/meditrack.db  # default\n"));
    CHECK(contains(text, "\nSECRET_KEY=***  # default (development value: set your own)\n"));
    CHECK(contains(text, "\nCORS_ORIGINS=''  # default\n"));
    CHECK(contains(text, "\nLOG_LEVEL=info  # default\n"));
    CHECK(contains(text, "\nSTATIC_DIR=''  # default\n"));
    CHECK(contains(text, "# .env file read: none\n"));
    /* Every variable of the table appears once. */
    for (size_t i = 0; i < MT_ARRAY_LEN(names) - 3; i++) {
        char line[64];
        snprintf(line, sizeof(line), "\n%s=", names[i]);
        CHECK(contains(text, line));
    }
    free(text);
    mt_config_release(&cfg);

    struct mt_config d;
    mt_config_load_defaults(&d);
    CHECK_EQ(d.port, 8000);
    CHECK_STR(d.database_url, "sqlite:///./data/meditrack.db");
    mt_config_release(&d);
}

static void test_precedence(void)
{
    clear_env();
    write_file(".env", "# deployment file\n"
                       "PORT=9000\n"
                       "export HOST=0.0.0.0\n"
                       "PROJECT_NAME='Medi Track'   # inline comment\n"
                       "DEBUG=true\n"
                       "LOG_LEVEL=debug\n"
                       "TESTING=1\n");
    struct mt_config cfg;
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 9000);
    CHECK_STR(cfg.host, "0.0.0.0");
    CHECK_STR(cfg.project_name, "Medi Track");
    CHECK(cfg.debug);
    CHECK_STR(cfg.dotenv_path, "./.env");
    char *text = print_cfg(&cfg);
    CHECK(contains(text, "\nPORT=9000  # .env\n"));
    CHECK(contains(text, "\nHTTP_THREADS=6  # default\n"));
    CHECK(contains(text, "\nDB_STATEMENT_TIMEOUT=5000  # default\n"));
    CHECK(contains(text, "\nDB_LOCK_TIMEOUT=0  # default\n"));
    CHECK(contains(text, "\nDB_HEALTH_TIMEOUT=2000  # default\n"));
    CHECK(contains(text, "# .env file read: ./.env\n"));
    free(text);
    mt_config_release(&cfg);

    /* The environment beats .env; a .env entry never overrides a variable
     * that is really set, even to a "weaker" value. */
    setenv("PORT", "9100", 1);
    setenv("DEBUG", "false", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 9100);
    CHECK(!cfg.debug);
    CHECK_STR(cfg.host, "0.0.0.0");
    text = print_cfg(&cfg);
    CHECK(contains(text, "\nPORT=9100  # env\n"));
    CHECK(contains(text, "\nHOST=0.0.0.0  # .env\n"));
    free(text);
    mt_config_release(&cfg);

    /* Flags beat the environment; the last flag wins. */
    struct mt_config_override ov[] = {{"PORT", "9200"}, {"LOG_LEVEL", "error"}, {"PORT", "9201"}};
    CHECK(load(&cfg, ov, MT_ARRAY_LEN(ov)));
    CHECK_EQ(cfg.port, 9201);
    CHECK_EQ(cfg.log_level, MT_LOG_ERROR);
    text = print_cfg(&cfg);
    CHECK(contains(text, "\nPORT=9201  # flag\n"));
    CHECK(contains(text, "\nLOG_LEVEL=error  # flag\n"));
    free(text);
    mt_config_release(&cfg);

    /* An empty environment variable is a value, not "unset". */
    setenv("PROJECT_NAME", "", 1);
    CHECK(contains(load_error(NULL, 0),
                   "invalid PROJECT_NAME in the environment: must not be empty"));
    unsetenv("PROJECT_NAME");

    /* Names are matched ignoring case, as pydantic-settings did; the exact
     * name wins. */
    clear_env();
    write_file(".env", "port=9400\n");
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 9400);
    mt_config_release(&cfg);
    setenv("Port", "9401", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 9401);
    mt_config_release(&cfg);
    setenv("PORT", "9402", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 9402);
    mt_config_release(&cfg);
    clear_env();
}

static void test_env_file(void)
{
    clear_env();
    write_file(".env", "PORT=9000\n");
    write_file("other.env", "PORT=9300\nENV_FILE=ignored.env\n");
    setenv("ENV_FILE", "other.env", 1);
    struct mt_config cfg;
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 9300);
    CHECK_STR(cfg.dotenv_path, "other.env");
    CHECK_STR(cfg.env_file, "other.env");
    mt_config_release(&cfg);

    /* A file that was named explicitly must exist. */
    setenv("ENV_FILE", "missing.env", 1);
    const char *msg = load_error(NULL, 0);
    CHECK(contains(msg, "ENV_FILE"));
    CHECK(contains(msg, "missing.env"));
    unsetenv("ENV_FILE");

    /* --env-file works too, and beats the environment. */
    setenv("ENV_FILE", "missing.env", 1);
    struct mt_config_override ov[] = {{"ENV_FILE", "other.env"}};
    CHECK(load(&cfg, ov, 1));
    CHECK_EQ(cfg.port, 9300);
    mt_config_release(&cfg);
    unsetenv("ENV_FILE");

    /* Without ENV_FILE a missing ./.env is fine. */
    unlink(".env");
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 8000);
    CHECK(cfg.dotenv_path == NULL);
    mt_config_release(&cfg);

    /* ENV_FILE=/dev/null reads nothing. */
    write_file(".env", "PORT=9000\n");
    setenv("ENV_FILE", "/dev/null", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.port, 8000);
    mt_config_release(&cfg);

    /* A broken .env is an error naming the file and line, not the value. */
    clear_env();
    write_file(".env", "PORT=9000\nSECRET_KEY=\"unterminated s3cr3t\n");
    msg = load_error(NULL, 0);
    CHECK(contains(msg, "./.env line 2: unterminated double quote"));
    CHECK(strstr(msg, "s3cr3t") == NULL);
    /* A directory cannot be read. */
    setenv("ENV_FILE", "/", 1);
    msg = load_error(NULL, 0);
    CHECK(contains(msg, "cannot read /: "));
    clear_env();
}

static void expect_env_error(const char *name, const char *value, const char *want1,
                             const char *want2)
{
    setenv(name, value, 1);
    const char *msg = load_error(NULL, 0);
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "invalid %s in the environment: ", name);
    CHECK(contains(msg, prefix));
    CHECK(contains(msg, want1));
    if (want2)
        CHECK(contains(msg, want2));
    unsetenv(name);
}

static void test_errors(void)
{
    clear_env();
    expect_env_error("PORT", "abc", "expected an integer from 1 to 65535", "got \"abc\"");
    expect_env_error("PORT", "0", "from 1 to 65535", "got \"0\"");
    expect_env_error("PORT", "65536", "from 1 to 65535", NULL);
    expect_env_error("PORT", "-1", "from 1 to 65535", NULL);
    expect_env_error("PORT", "80 80", "from 1 to 65535", NULL);
    expect_env_error("PORT", "9223372036854775808", "from 1 to 65535", NULL);
    expect_env_error("PORT", "", "from 1 to 65535", "got \"\"");
    expect_env_error("TIMEZONE_OFFSET", "UTC+1", "from -840 to 720", NULL);
    expect_env_error("TIMEZONE_OFFSET", "3000", "from -840 to 720", NULL);
    expect_env_error("TIMEZONE_OFFSET", "-841", "from -840 to 720", NULL);
    expect_env_error("MAX_BODY_BYTES", "1e6", "from 1024 to 1073741824", NULL);
    expect_env_error("HTTP_THREADS", "0", "from 1 to 256", NULL);
    expect_env_error("DB_STATEMENT_TIMEOUT", "5s", "from 0 to 86400000", NULL);
    expect_env_error("DB_STATEMENT_TIMEOUT", "-1", "from 0 to 86400000", NULL);
    expect_env_error("DB_LOCK_TIMEOUT", "86400001", "from 0 to 86400000", NULL);
    expect_env_error("DB_HEALTH_TIMEOUT", "0", "from 100 to 600000", NULL);
    expect_env_error("DEBUG", "maybe", "expected true/false, 1/0, yes/no or on/off",
                     "got \"maybe\"");
    expect_env_error("AUTO_MIGRATE", "2", "expected true/false", NULL);
    expect_env_error("LOG_LEVEL", "loud", "expected debug, info, warning, error or off",
                     "got \"loud\"");
    expect_env_error("LOG_FORMAT", "xml", "expected text or json", "got \"xml\"");
    expect_env_error("CORS_ORIGINS", "[\"http://a\",", "expected a JSON list of origins", NULL);
    expect_env_error("CORS_ORIGINS", "[1,2]", "expected a JSON list", NULL);
    expect_env_error("CORS_ORIGINS", "[\"\"]", "expected a JSON list", NULL);
    expect_env_error("CORS_ORIGINS", "[\"http://a b\"]", "expected a JSON list", NULL);
    expect_env_error("CORS_ORIGINS", "{\"a\":1}", "or a comma-separated list", NULL);
    expect_env_error("CORS_ORIGINS", "http://a b", "expected a JSON list", NULL);
    expect_env_error("DATABASE_URL", "", "must not be empty", NULL);
    expect_env_error("SECRET_KEY", "", "must not be empty", NULL);
    expect_env_error("HOST", "", "must not be empty", NULL);

    /* Errors say where the value came from. */
    write_file(".env", "\n\nPORT=seventy\n");
    CHECK(contains(load_error(NULL, 0), "invalid PORT in ./.env line 3: expected an integer"));
    struct mt_config_override ov[] = {{"PORT", "x"}};
    CHECK(contains(load_error(ov, 1), "invalid PORT given as --port: expected an integer"));
    struct mt_config_override unknown[] = {{"NOPE", "1"}};
    CHECK(contains(load_error(unknown, 1), "unknown configuration variable NOPE"));
    clear_env();
}

static void test_values(void)
{
    clear_env();
    struct mt_config cfg;
    static const char *const yes[] = {"true", "1", "yes", "on", "TRUE", " On "};
    static const char *const no[] = {"false", "0", "no", "off", "False", "OFF"};
    for (size_t i = 0; i < MT_ARRAY_LEN(yes); i++) {
        setenv("SEED_DEMO_DATA", yes[i], 1);
        setenv("AUTO_MIGRATE", no[i], 1);
        CHECK(load(&cfg, NULL, 0));
        CHECK(cfg.seed_demo_data);
        CHECK(!cfg.auto_migrate);
        mt_config_release(&cfg);
    }
    unsetenv("SEED_DEMO_DATA");
    unsetenv("AUTO_MIGRATE");

    /* Numbers: signs, white space around them, the bounds themselves. */
    setenv("TIMEZONE_OFFSET", "-60", 1);
    setenv("PORT", " 65535 ", 1);
    setenv("MAX_BODY_BYTES", "1073741824", 1);
    setenv("SHUTDOWN_GRACE", "+0", 1);
    setenv("LOG_LEVEL", "WARN", 1);
    setenv("LOG_FORMAT", "JSON", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_EQ(cfg.timezone_offset, -60);
    CHECK_EQ(cfg.port, 65535);
    CHECK_EQ(cfg.max_body_bytes, 1073741824);
    CHECK_EQ(cfg.shutdown_grace, 0);
    CHECK_EQ(cfg.log_level, MT_LOG_WARN);
    CHECK_EQ(cfg.log_format, MT_LOG_JSON);
    mt_config_release(&cfg);
    clear_env();
}

static void check_cors(const char *value, size_t n, const char *first, const char *last)
{
    setenv("CORS_ORIGINS", value, 1);
    struct mt_config cfg;
    if (!load(&cfg, NULL, 0)) {
        CHECK(false);
        return;
    }
    CHECK_EQ(cfg.n_cors_origins, n);
    CHECK(cfg.cors_origins != NULL && cfg.cors_origins[n] == NULL);
    if (n) {
        CHECK_STR(cfg.cors_origins[0], first);
        CHECK_STR(cfg.cors_origins[n - 1], last);
    }
    mt_config_release(&cfg);
    unsetenv("CORS_ORIGINS");
}

static void test_cors(void)
{
    clear_env();
    check_cors("[\"http://a\",\"http://b\"]", 2, "http://a", "http://b");
    check_cors(" [ \"https://x.example:8443\" ] ", 1, "https://x.example:8443",
               "https://x.example:8443");
    check_cors("[\"*\"]", 1, "*", "*");
    check_cors("[]", 0, NULL, NULL);
    check_cors("http://a,http://b", 2, "http://a", "http://b");
    check_cors(" http://a , http://b ,", 2, "http://a", "http://b");
    check_cors("*", 1, "*", "*");
    check_cors("http://localhost:3000", 1, "http://localhost:3000", "http://localhost:3000");
    check_cors("", 0, NULL, NULL);

    /* Printed comma-separated, which reads back the same. */
    setenv("CORS_ORIGINS", "[\"http://a\",\"http://b\"]", 1);
    struct mt_config cfg;
    CHECK(load(&cfg, NULL, 0));
    char *text = print_cfg(&cfg);
    CHECK(contains(text, "\nCORS_ORIGINS=http://a,http://b  # env\n"));
    free(text);
    mt_config_release(&cfg);
    clear_env();
}

static void test_masking(void)
{
    clear_env();
    setenv("SECRET_KEY", "topsecretvalue", 1);
    setenv("DATABASE_URL", "postgresql://u:s3cret@h/db", 1);
    struct mt_config cfg;
    CHECK(load(&cfg, NULL, 0));
    CHECK_STR(cfg.secret_key, "topsecretvalue");
    CHECK_STR(cfg.database_url, "postgresql://u:s3cret@h/db");
    char *text = print_cfg(&cfg);
    CHECK(strstr(text, "topsecretvalue") == NULL);
    CHECK(strstr(text, "s3cret") == NULL);
    CHECK(contains(text, "\nSECRET_KEY=***  # env\n"));
    CHECK(contains(text, "\nDATABASE_URL=postgresql://u:***@h/db  # env\n"));
    free(text);
    mt_config_release(&cfg);

    /* Percent-encoded passwords are masked as written, without decoding. */
    setenv("DATABASE_URL", "mysql+pymysql://app:p%40ss%2Fw0rd@db:3306/meditrack", 1);
    CHECK(load(&cfg, NULL, 0));
    text = print_cfg(&cfg);
    CHECK(strstr(text, "w0rd") == NULL);
    CHECK(contains(text, "\nDATABASE_URL=mysql+pymysql://app:***@db:3306/meditrack  # env\n"));
    free(text);
    mt_config_release(&cfg);

    /* A password that is also a word, the user or the database name hides
     * nothing but itself: the printer masks the URL's password field. */
    setenv("DATABASE_URL", "postgresql://p:p@localhost/p?sslmode=prefer", 1);
    setenv("ENVIRONMENT", "unsupported", 1);
    CHECK(load(&cfg, NULL, 0));
    text = print_cfg(&cfg);
    CHECK(contains(text, "\nDATABASE_URL=postgresql://p:***@localhost/p?sslmode=prefer  # env\n"));
    CHECK(contains(text, "\nENVIRONMENT=unsupported  # env\n"));
    free(text);
    mt_config_release(&cfg);
    clear_env();
}

static void check_mask(const char *url, const char *want)
{
    char *m = mt_redact_url(url);
    CHECK_STR(m, want);
    free(m);
}

static void test_mask_url(void)
{
    check_mask("postgresql://u:s3cret@h/db", "postgresql://u:***@h/db");
    check_mask("postgresql+psycopg2://u:s3cret@h:5432/db?sslmode=require",
               "postgresql+psycopg2://u:***@h:5432/db?sslmode=require");
    check_mask("mysql://u:p%40ss@h/db", "mysql://u:***@h/db");
    check_mask("mysql://u:p@ss@h/db", "mysql://u:***@h/db");
    check_mask("postgresql://u:pa?ss@h/db", "postgresql://u:***@h/db");
    /* The URL parser ends the user-info at the last '@', so it reads this
     * password as "pw@h/db?unix_socket=/tmp/a": all of that is masked. */
    check_mask("mysql://u:pw@h/db?unix_socket=/tmp/a@b.sock", "mysql://u:***@b.sock");
    check_mask("postgresql://u@h/db", "postgresql://u@h/db");
    check_mask("postgresql://u:@h/db", "postgresql://u:@h/db");
    check_mask("postgresql://h:5432/db", "postgresql://h:5432/db");
    check_mask("postgresql://h/db?user=u&password=s3cret&sslmode=disable",
               "postgresql://h/db?user=u&password=***&sslmode=disable");
    check_mask("postgresql://u:one@h/db?password=two", "postgresql://u:***@h/db?password=***");
    check_mask("sqlite:///./data/meditrack.db", "sqlite:///./data/meditrack.db");
    check_mask("sqlite:////srv/a:b@c.db", "sqlite:////srv/a:b@c.db");
    check_mask("sqlite:///:memory:", "sqlite:///:memory:");
    check_mask("", "");
    check_mask("not a url", "not a url");
}

static void test_flags(void)
{
    CHECK_STR(mt_config_flag_name("--database-url"), "DATABASE_URL");
    CHECK_STR(mt_config_flag_name("--port"), "PORT");
    CHECK_STR(mt_config_flag_name("--max-connections-per-ip"), "MAX_CONNECTIONS_PER_IP");
    CHECK_STR(mt_config_flag_name("--env-file"), "ENV_FILE");
    CHECK(mt_config_flag_name("--version") == NULL);
    CHECK(mt_config_flag_name("--help") == NULL);
    CHECK(mt_config_flag_name("--nope") == NULL);
    CHECK(mt_config_flag_name("port") == NULL);
    CHECK(mt_config_flag_name("-port") == NULL);
    CHECK(mt_config_flag_name("--PORT") == NULL);
    CHECK(mt_config_is_bool("DEBUG"));
    CHECK(!mt_config_is_bool("PORT"));
    CHECK(!mt_config_is_bool("NOPE"));

    char *help = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&help, &len);
    mt_config_print_help(f);
    fclose(f);
    for (size_t i = 0; i < MT_ARRAY_LEN(names) - 3; i++)
        CHECK(contains(help, names[i]));
    CHECK(contains(help, "PORT  (--port)"));
    CHECK(contains(help, "an integer from 1 to 65535; default: 8000"));
    CHECK(contains(help, "SECRET_KEY  (--secret-key)  [secret: shown as ***]"));
    CHECK(contains(help, "\nVERSION\n"));
    free(help);
}

/* What `meditrack config` prints is a valid .env file giving the same values
 * back (but for the masked secrets). */
static void test_print_round_trip(void)
{
    clear_env();
    setenv("PROJECT_NAME", "Medi Track #1 'x'", 1);
    setenv("ENVIRONMENT", "it's \"quoted\"", 1);
    setenv("STATIC_DIR", "/srv/${HOME}/www", 1);
    setenv("CORS_ORIGINS", "[\"http://a\",\"http://b\"]", 1);
    setenv("DEBUG", "yes", 1);
    setenv("PORT", "8123", 1);
    struct mt_config cfg;
    CHECK(load(&cfg, NULL, 0));
    char *text = print_cfg(&cfg);
    mt_config_release(&cfg);
    clear_env();
    write_file("printed.env", text);
    free(text);

    setenv("ENV_FILE", "printed.env", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_STR(cfg.project_name, "Medi Track #1 'x'");
    CHECK_STR(cfg.environment, "it's \"quoted\"");
    CHECK_STR(cfg.static_dir, "/srv/${HOME}/www");
    CHECK_EQ(cfg.n_cors_origins, 2);
    CHECK(cfg.debug);
    CHECK_EQ(cfg.port, 8123);
    text = print_cfg(&cfg);
    CHECK(contains(text, "\nPORT=8123  # .env\n"));
    free(text);
    mt_config_release(&cfg);
    clear_env();
}

static const char *fake_env(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "PGUSER") == 0)
        return "meditrack";
    if (strcmp(name, "EMPTY") == 0)
        return "";
    return NULL;
}

static const char *dotenv_value(const struct mt_dotenv *d, const char *key)
{
    const struct mt_dotenv_entry *e = mt_dotenv_find(d, key);
    return e ? e->value : NULL;
}

static void test_dotenv_syntax(void)
{
    static const char text[] = "\xef\xbb\xbf# comment\r\n"
                               "   \n"
                               "A=plain value   # comment\r\n"
                               "B = spaced\n"
                               "export C=exported\n"
                               "D='single # not a comment ${PGUSER}'\n"
                               "E=\"double \\\"q\\\" \\n ${PGUSER}\"  # comment\n"
                               "F=url#fragment\n"
                               "G=\n"
                               "H=${PGUSER}:${NOPE:-fallback}@${EMPTY:-x}${UNSET}\n"
                               "I=\"multi\n"
                               "line\"\n"
                               "J=${A}-${B}\n"
                               "K=its\n"
                               "database_url=lower\n"
                               "L=$PGUSER ${unterminated\n"
                               "A=second\n";
    struct mt_dotenv d;
    struct mt_err err = {0};
    int rc = mt_dotenv_parse(text, sizeof(text) - 1, "t.env", fake_env, NULL, &d, &err);
    CHECK_EQ(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_STR(dotenv_value(&d, "A"), "second");
    CHECK_STR(dotenv_value(&d, "B"), "spaced");
    CHECK_STR(dotenv_value(&d, "C"), "exported");
    CHECK_STR(dotenv_value(&d, "D"), "single # not a comment ${PGUSER}");
    CHECK_STR(dotenv_value(&d, "E"), "double \"q\" \n meditrack");
    CHECK_STR(dotenv_value(&d, "F"), "url#fragment");
    CHECK_STR(dotenv_value(&d, "G"), "");
    CHECK_STR(dotenv_value(&d, "H"), "meditrack:fallback@x");
    CHECK_STR(dotenv_value(&d, "I"), "multi\nline");
    CHECK_STR(dotenv_value(&d, "J"), "plain value-spaced");
    CHECK_STR(dotenv_value(&d, "K"), "its");
    CHECK_STR(dotenv_value(&d, "DATABASE_URL"), "lower");
    CHECK_STR(dotenv_value(&d, "L"), "$PGUSER ${unterminated");
    CHECK(dotenv_value(&d, "missing") == NULL);
    const struct mt_dotenv_entry *e = mt_dotenv_find(&d, "I");
    CHECK(e && e->line == 11);
    e = mt_dotenv_find(&d, "J");
    CHECK(e && e->line == 13);
    mt_dotenv_release(&d);

    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"JUSTAKEY\n", "t.env line 1: expected KEY=VALUE"},
        {"A=1\n\nPORT 8000\n", "t.env line 3: expected KEY=VALUE"},
        {"=value\n", "t.env line 1: expected KEY=VALUE"},
        {"A=1\nB='open\n\n", "t.env line 2: unterminated single quote"},
        {"B=\"open\\\"\n", "t.env line 1: unterminated double quote"},
        {"C='x' y\n", "t.env line 1: unexpected text after the closing quote"},
    };
    for (size_t i = 0; i < MT_ARRAY_LEN(bad); i++) {
        mt_err_clear(&err);
        CHECK_EQ(mt_dotenv_parse(bad[i].text, strlen(bad[i].text), "t.env", NULL, NULL, &d, &err),
                 -1);
        CHECK_STR(err.msg, bad[i].msg);
    }
    /* Unterminated quotes do not read past the given length. */
    const char cut[] = {'A', '=', '"', 'x'};
    CHECK_EQ(mt_dotenv_parse(cut, sizeof(cut), "t.env", NULL, NULL, &d, &err), -1);
    CHECK_EQ(mt_dotenv_parse("", 0, "t.env", NULL, NULL, &d, &err), 0);
    CHECK_EQ(d.n, 0);
    mt_dotenv_release(&d);

    mt_err_clear(&err);
    CHECK_EQ(mt_dotenv_read("does-not-exist.env", NULL, NULL, &d, &err), -1);
    CHECK_EQ(err.code, MT_ENOTFOUND);
}

/* The test clock is refused unless explicitly allowed; TIMEZONE comes
 * from TZ unless given, and cannot be given together with TIMEZONE_OFFSET. */
static void test_clock_and_zone(void)
{
    clear_env();
    struct mt_config cfg;
    CHECK(load(&cfg, NULL, 0));
    CHECK(!cfg.test_clock);
    CHECK_STR(cfg.timezone_effective, "UTC");
    CHECK(!cfg.timezone_offset_set);
    mt_config_release(&cfg);

    setenv("TEST_CLOCK_START", "2026-03-08T06:00:00Z", 1);
    CHECK(
        contains(load_error(NULL, 0), "TEST_CLOCK_START is set but ALLOW_TEST_CLOCK is not true"));
    unsetenv("TEST_CLOCK_START");
    setenv("TEST_CLOCK_SPEED", "60", 1);
    CHECK(
        contains(load_error(NULL, 0), "TEST_CLOCK_SPEED is set but ALLOW_TEST_CLOCK is not true"));
    setenv("ALLOW_TEST_CLOCK", "true", 1);
    setenv("TEST_CLOCK_START", "2026-03-08T06:00:00Z", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK(cfg.test_clock);
    CHECK_EQ(cfg.test_clock_start_us, INT64_C(1772949600) * 1000000);
    CHECK(cfg.test_clock_speed_x == 60.0);
    mt_config_release(&cfg);
    static const char *const bad_speed[] = {"0", "-1", "fast", "1e7", "2x", ""};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad_speed); i++) {
        setenv("TEST_CLOCK_SPEED", bad_speed[i], 1);
        CHECK(contains(load_error(NULL, 0), "invalid TEST_CLOCK_SPEED"));
    }
    setenv("TEST_CLOCK_SPEED", "1", 1);
    static const char *const bad_start[] = {"2026-03-08", "2026-03-08T06:00:00", "tomorrow"};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad_start); i++) {
        setenv("TEST_CLOCK_START", bad_start[i], 1);
        CHECK(contains(load_error(NULL, 0), "invalid TEST_CLOCK_START"));
    }
    clear_env();

    setenv("TZ", ":Europe/Berlin", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_STR(cfg.timezone_effective, "Europe/Berlin");
    mt_config_release(&cfg);
    setenv("TIMEZONE", "America/New_York", 1);
    CHECK(load(&cfg, NULL, 0));
    CHECK_STR(cfg.timezone_effective, "America/New_York");
    mt_config_release(&cfg);
    setenv("TIMEZONE_OFFSET", "300", 1);
    CHECK(contains(load_error(NULL, 0), "TIMEZONE and TIMEZONE_OFFSET are both set"));
    unsetenv("TIMEZONE");
    CHECK(load(&cfg, NULL, 0));
    CHECK(cfg.timezone_offset_set);
    mt_config_release(&cfg);
    clear_env();
}

int main(void)
{
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    snprintf(dir, sizeof(dir), "/tmp/mt-test-config.XXXXXX");
    if (!mkdtemp(dir) || chdir(dir) != 0) {
        perror("temporary directory");
        return 1;
    }
    test_defaults();
    test_precedence();
    test_env_file();
    test_errors();
    test_values();
    test_cors();
    test_masking();
    test_mask_url();
    test_flags();
    test_print_round_trip();
    test_clock_and_zone();
    test_dotenv_syntax();
    clear_env();
    if (chdir(cwd) != 0 || rmdir(dir) != 0)
        perror("removing the temporary directory");
    return check_report();
}
