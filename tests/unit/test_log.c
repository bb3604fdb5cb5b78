/* Unit tests of src/core/log.c: the text and JSON line formats, the level
 * filter (arguments not evaluated), verbatim messages and truncation,
 * per-thread request ids, escaping, and whole lines under concurrent writers. */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "../check.h"
#include "core/log.h"

static char *captured;
static size_t captured_len;
static FILE *capture;

static void start_capture(void)
{
    capture = open_memstream(&captured, &captured_len);
    mt_log_set_stream(capture);
}

/* Stops capturing; returns the text (caller frees). */
static char *stop_capture(void)
{
    mt_log_set_stream(NULL);
    fclose(capture);
    return captured;
}

/* True when s starts with YYYY-MM-DDTHH:MM:SS.mmmZ. */
static bool timestamp_ok(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    }
    return true;
}

static int evaluated;

static int side_effect(void)
{
    evaluated++;
    return 1;
}

static void test_text(void)
{
    mt_log_setup(MT_LOG_INFO, MT_LOG_TEXT);
    start_capture();
    mt_log(MT_LOG_INFO, "listening host=%s port=%d", "127.0.0.1", 8000);
    mt_log(MT_LOG_WARN, "slow");
    mt_log(MT_LOG_ERROR, "broken");
    mt_log(MT_LOG_DEBUG, "hidden %d", side_effect());
    char *out = stop_capture();
    CHECK_EQ(evaluated, 0);
    CHECK(timestamp_ok(out));
    CHECK(strncmp(out + 24, " INFO listening host=127.0.0.1 port=8000\n", 41) == 0);
    char *second = strchr(out, '\n') + 1;
    CHECK(timestamp_ok(second));
    CHECK(strncmp(second + 24, " WARN slow\n", 11) == 0);
    CHECK(strstr(out, " ERROR broken\n") != NULL);
    CHECK(strstr(out, "hidden") == NULL);
    free(out);

    mt_log_setup(MT_LOG_DEBUG, MT_LOG_TEXT);
    start_capture();
    mt_log(MT_LOG_DEBUG, "shown %d", side_effect());
    mt_log(MT_LOG_INFO, "two\nlines\tand\x01 control");
    out = stop_capture();
    CHECK_EQ(evaluated, 1);
    CHECK(strstr(out, " DEBUG shown 1\n") != NULL);
    CHECK(strstr(out, " INFO two\\nlines\\tand\\x01 control\n") != NULL);
    /* Exactly two lines. */
    int lines = 0;
    for (char *c = out; *c; c++)
        lines += *c == '\n';
    CHECK_EQ(lines, 2);
    free(out);

    mt_log_setup(MT_LOG_OFF, MT_LOG_TEXT);
    start_capture();
    mt_log(MT_LOG_ERROR, "nothing");
    out = stop_capture();
    CHECK_STR(out, "");
    free(out);
}

static json_t *json_line(const char *line)
{
    json_error_t jerr;
    json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, &jerr);
    if (!j)
        fprintf(stderr, "not JSON: %s (%s)\n", line, jerr.text);
    return j;
}

static void test_json(void)
{
    mt_log_setup(MT_LOG_INFO, MT_LOG_JSON);
    start_capture();
    mt_log(MT_LOG_INFO, "request done method=GET route=/health status=200 ms=1.5 id=007 "
                        "note=\"a \\\"quoted\\\" value\"");
    char *out = stop_capture();
    CHECK(out[strlen(out) - 1] == '\n');
    json_t *j = json_line(out);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(json_string_value(json_object_get(j, "msg")), "request done");
        CHECK_STR(json_string_value(json_object_get(j, "level")), "info");
        CHECK(timestamp_ok(json_string_value(json_object_get(j, "time"))));
        CHECK_STR(json_string_value(json_object_get(j, "method")), "GET");
        CHECK_STR(json_string_value(json_object_get(j, "route")), "/health");
        CHECK(json_is_integer(json_object_get(j, "status")));
        CHECK_EQ(json_integer_value(json_object_get(j, "status")), 200);
        CHECK(json_is_real(json_object_get(j, "ms")));
        CHECK_STR(json_string_value(json_object_get(j, "id")), "007");
        CHECK_STR(json_string_value(json_object_get(j, "note")), "a \"quoted\" value");
        CHECK(json_object_get(j, "request_id") == NULL);
        json_decref(j);
    }
    free(out);

    /* Words with '=' followed by free text are not fields; bad UTF-8 and
     * control characters still give valid JSON on one line. */
    start_capture();
    mt_log(MT_LOG_WARN, "a=b then text");
    mt_log(MT_LOG_ERROR, "bad \xff\xfe utf8 \xc3\xa9 and\nnewline");
    out = stop_capture();
    char *nl = strchr(out, '\n');
    CHECK(nl != NULL);
    j = json_line(out);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(json_string_value(json_object_get(j, "msg")), "a=b then text");
        CHECK_STR(json_string_value(json_object_get(j, "level")), "warn");
        CHECK(json_object_get(j, "a") == NULL);
        json_decref(j);
    }
    j = nl ? json_line(nl + 1) : NULL;
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(json_string_value(json_object_get(j, "msg")),
                  "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9 and\nnewline");
        json_decref(j);
    }
    free(out);
    mt_log_setup(MT_LOG_INFO, MT_LOG_TEXT);
}

/* The logger prints what it is given. It used to search every line for the
 * registered passwords, which turned "unsupported" into "unsu***orted" for a
 * password "p" and so told the reader the password; secrets are now kept out
 * of messages where they are built (core/redact.h). */
static void test_verbatim(void)
{
    mt_log_setup(MT_LOG_INFO, MT_LOG_TEXT);
    start_capture();
    mt_log(MT_LOG_ERROR, "unsupported driver exit_code=%d database=p user=x", 3);
    char *out = stop_capture();
    CHECK(strstr(out, " ERROR unsupported driver exit_code=3 database=p user=x\n") != NULL);
    free(out);

    /* A message beyond the 16 KiB ceiling is cut and says so. */
    size_t n = 20000;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    start_capture();
    mt_log(MT_LOG_INFO, "%s", big);
    out = stop_capture();
    char *nl = strchr(out, '\n');
    CHECK(nl != NULL && nl - out > 16000 && nl - out < 16500);
    CHECK(nl != NULL && nl - out >= 12 && memcmp(nl - 12, " (truncated)", 12) == 0);
    free(out);
    free(big);
}

static void *other_thread(void *arg)
{
    mt_log_set_request_id(arg);
    mt_log(MT_LOG_INFO, "from thread");
    return NULL;
}

static void test_request_id(void)
{
    mt_log_setup(MT_LOG_INFO, MT_LOG_TEXT);
    start_capture();
    mt_log_set_request_id("req-1");
    mt_log(MT_LOG_INFO, "first");
    pthread_t t;
    pthread_create(&t, NULL, other_thread, "req-2");
    pthread_join(t, NULL);
    mt_log(MT_LOG_INFO, "again");
    mt_log_set_request_id("bad id\n\"x\"");
    mt_log(MT_LOG_INFO, "sanitised");
    mt_log_set_request_id(NULL);
    mt_log(MT_LOG_INFO, "none");
    char *out = stop_capture();
    CHECK(strstr(out, " INFO first request_id=req-1\n") != NULL);
    CHECK(strstr(out, " INFO from thread request_id=req-2\n") != NULL);
    CHECK(strstr(out, " INFO again request_id=req-1\n") != NULL);
    CHECK(strstr(out, " INFO sanitised request_id=bad_id__x_\n") != NULL);
    CHECK(strstr(out, " INFO none\n") != NULL);
    free(out);

    mt_log_setup(MT_LOG_INFO, MT_LOG_JSON);
    start_capture();
    mt_log_set_request_id("abc");
    mt_log(MT_LOG_INFO, "x");
    mt_log_set_request_id(NULL);
    out = stop_capture();
    json_t *j = json_line(out);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(json_string_value(json_object_get(j, "request_id")), "abc");
        json_decref(j);
    }
    free(out);
    mt_log_setup(MT_LOG_INFO, MT_LOG_TEXT);
}

#define THREADS 4
#define PER_THREAD 200

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++)
        mt_log(MT_LOG_INFO, "writer=%d line=%d padding=%s", id, i,
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    return NULL;
}

static void test_threads(void)
{
    mt_log_setup(MT_LOG_INFO, MT_LOG_JSON);
    start_capture();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = stop_capture();
    int lines = 0, good = 0;
    for (char *line = out; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        lines++;
        json_t *j = json_line(line);
        good += j && json_integer_value(json_object_get(j, "line")) < PER_THREAD;
        json_decref(j);
        line = nl + 1;
    }
    CHECK_EQ(lines, THREADS * PER_THREAD);
    CHECK_EQ(good, THREADS * PER_THREAD);
    free(out);
    mt_log_setup(MT_LOG_INFO, MT_LOG_TEXT);
}

static void test_names(void)
{
    CHECK_EQ(mt_log_level_parse("debug"), MT_LOG_DEBUG);
    CHECK_EQ(mt_log_level_parse("INFO"), MT_LOG_INFO);
    CHECK_EQ(mt_log_level_parse("warning"), MT_LOG_WARN);
    CHECK_EQ(mt_log_level_parse("Warn"), MT_LOG_WARN);
    CHECK_EQ(mt_log_level_parse("error"), MT_LOG_ERROR);
    CHECK_EQ(mt_log_level_parse("off"), MT_LOG_OFF);
    CHECK_EQ(mt_log_level_parse("loud"), -1);
    CHECK_EQ(mt_log_level_parse(""), -1);
    CHECK_EQ(mt_log_format_parse("json"), MT_LOG_JSON);
    CHECK_EQ(mt_log_format_parse("TEXT"), MT_LOG_TEXT);
    CHECK_EQ(mt_log_format_parse("xml"), -1);
    CHECK_STR(mt_log_level_name(MT_LOG_WARN), "warning");
    CHECK_STR(mt_log_format_name(MT_LOG_JSON), "json");
}

int main(void)
{
    test_text();
    test_json();
    test_verbatim();
    test_request_id();
    test_threads();
    test_names();
    return check_report();
}
