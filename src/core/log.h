/* Logging: one line per event on stderr, as text or as one JSON object per
 * line, filtered by level. Messages are printed as given: callers keep
 * secrets out of them (a URL is printed masked, see core/redact.h). The level
 * check happens before the arguments are evaluated. Thread-safe.
 *
 * A message is free text followed by optional `key=value` fields (a value with
 * spaces is written key="a b"); the trailing run of such words becomes the
 * fields. Text:  2026-11-29T18:00:00.123Z INFO listening host=127.0.0.1 port=8000
 * JSON:  {"time":"2026-11-29T18:00:00.123Z","level":"info","msg":"listening",
 *         "host":"127.0.0.1","port":8000}
 * A thread's request id (mt_log_set_request_id) is added as request_id. Field
 * values that are JSON numbers are written as numbers. Control characters are
 * escaped, so an event is always exactly one line. */
#ifndef MT_CORE_LOG_H
#define MT_CORE_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum mt_log_level { MT_LOG_DEBUG, MT_LOG_INFO, MT_LOG_WARN, MT_LOG_ERROR, MT_LOG_OFF };
enum mt_log_format { MT_LOG_TEXT, MT_LOG_JSON };

extern enum mt_log_level mt_log_threshold;

/* Sets level and format; may be called again after the configuration is read. */
void mt_log_setup(enum mt_log_level level, enum mt_log_format format);
/* Parses "debug|info|warning|warn|error|off" (any case); -1 if unknown. */
int mt_log_level_parse(const char *s);
/* Parses "text|json" (any case); -1 if unknown. */
int mt_log_format_parse(const char *s);
/* "debug", "info", "warning", "error", "off": the canonical spellings. */
const char *mt_log_level_name(enum mt_log_level level);
const char *mt_log_format_name(enum mt_log_format format);

/* Sends log lines to f instead of stderr (NULL: back to stderr). The stream
 * stays the caller's; for tests and embedding. */
void mt_log_set_stream(FILE *f);

/* Sets the request id that this thread's log lines carry (NULL clears it).
 * The id is copied (at most 63 bytes); bytes other than letters, digits and
 * "._:-" become "_", so a client-chosen id cannot forge log lines. */
void mt_log_set_request_id(const char *id);

/* Writes one event at level (dropped below the threshold). Use the mt_log
 * macro instead, which checks the level before evaluating the arguments. */
void mt_log_write(enum mt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define mt_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= mt_log_threshold)                                                           \
            mt_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

#endif
