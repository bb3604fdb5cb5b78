/* The logger behind mt_log(): formats one event, splits trailing key=value
 * fields off the message, and writes one text or JSON line under a lock so
 * lines from HTTP threads never interleave. It prints what it is given:
 * secrets are kept out of messages where they are built (core/redact.h). */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

/* A longer message is cut; one event must not be able to flood the log. */
#define MAX_MESSAGE 16384
#define MAX_FIELDS 32

enum mt_log_level mt_log_threshold = MT_LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum mt_log_format log_format = MT_LOG_TEXT;
static FILE *log_stream; /* NULL: stderr */

static _Thread_local char request_id[64];

static const char *const level_names[] = {"debug", "info", "warning", "error", "off"};
static const char *const level_tags[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
static const char *const level_json[] = {"debug", "info", "warn", "error", "off"};

void mt_log_setup(enum mt_log_level level, enum mt_log_format format)
{
    pthread_mutex_lock(&log_lock);
    mt_log_threshold = level;
    log_format = format;
    pthread_mutex_unlock(&log_lock);
}

void mt_log_set_stream(FILE *f)
{
    pthread_mutex_lock(&log_lock);
    log_stream = f;
    pthread_mutex_unlock(&log_lock);
}

int mt_log_level_parse(const char *s)
{
    struct mt_str v = mt_str_c(s);
    if (mt_str_ieq(v, "warn"))
        return MT_LOG_WARN;
    for (size_t i = 0; i < MT_ARRAY_LEN(level_names); i++)
        if (mt_str_ieq(v, level_names[i]))
            return (int)i;
    return -1;
}

int mt_log_format_parse(const char *s)
{
    struct mt_str v = mt_str_c(s);
    if (mt_str_ieq(v, "text"))
        return MT_LOG_TEXT;
    if (mt_str_ieq(v, "json"))
        return MT_LOG_JSON;
    return -1;
}

const char *mt_log_level_name(enum mt_log_level level)
{
    return (unsigned)level < MT_ARRAY_LEN(level_names) ? level_names[level] : "unknown";
}

const char *mt_log_format_name(enum mt_log_format format)
{
    return format == MT_LOG_JSON ? "json" : "text";
}

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

void mt_log_set_request_id(const char *id)
{
    size_t i = 0;
    for (; id && id[i] && i < sizeof(request_id) - 1; i++)
        request_id[i] = id_char(id[i]) ? id[i] : '_';
    request_id[i] = '\0';
}

struct field {
    struct mt_str key;
    struct mt_str value; /* without the quotes of key="..." */
    bool quoted;
};

static bool key_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    return !first && ((c >= '0' && c <= '9') || c == '.' || c == '-');
}

static bool reserved_key(struct mt_str k)
{
    return mt_str_eq(k, "time") || mt_str_eq(k, "level") || mt_str_eq(k, "msg") ||
           mt_str_eq(k, "request_id");
}

/* Reads one key=value word at s[*pos]; a quoted value may contain spaces and
 * \" escapes. Returns false when the word is not a field. */
static bool read_field(const char *s, size_t len, size_t *pos, struct field *f)
{
    size_t i = *pos;
    size_t k0 = i;
    while (i < len && key_char(s[i], i == k0))
        i++;
    if (i == k0 || i >= len || s[i] != '=')
        return false;
    f->key = (struct mt_str){s + k0, i - k0};
    if (reserved_key(f->key))
        return false;
    i++;
    if (i < len && s[i] == '"') {
        size_t v0 = ++i;
        while (i < len && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < len)
                i++;
            i++;
        }
        if (i >= len)
            return false;
        f->value = (struct mt_str){s + v0, i - v0};
        f->quoted = true;
        i++;
        if (i < len && s[i] != ' ')
            return false;
    } else {
        size_t v0 = i;
        while (i < len && s[i] != ' ')
            i++;
        f->value = (struct mt_str){s + v0, i - v0};
        f->quoted = false;
    }
    *pos = i;
    return true;
}

/* Splits msg into free text and its trailing run of key=value words. */
static size_t split_fields(const char *s, size_t len, struct field *fields, size_t *n_fields)
{
    size_t text_end = len;
    *n_fields = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        size_t word = i;
        struct field f;
        size_t end = i;
        if (i < len && read_field(s, len, &end, &f)) {
            if (*n_fields == 0)
                text_end = word;
            if (*n_fields < MAX_FIELDS) {
                fields[(*n_fields)++] = f;
            } else {
                /* Too many fields: keep everything as text. */
                *n_fields = 0;
                return len;
            }
            i = end;
        } else {
            /* Free text after fields: those were not trailing after all. */
            *n_fields = 0;
            text_end = len;
            while (i < len && s[i] != ' ')
                i++;
        }
    }
    while (text_end > 0 && s[text_end - 1] == ' ')
        text_end--;
    return text_end;
}

/* Text format: control bytes as \n, \t or \xNN so an event stays one line. */
static void add_text(struct mt_buf *b, const char *s, size_t len)
{
    size_t plain = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        mt_buf_add(b, s + plain, i - plain);
        if (c == '\n')
            mt_buf_adds(b, "\\n");
        else if (c == '\t')
            mt_buf_adds(b, "\\t");
        else
            mt_buf_addf(b, "\\x%02x", c);
        plain = i + 1;
    }
    mt_buf_add(b, s + plain, len - plain);
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    size_t n;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string body: escapes as RFC 8259 asks; bytes that are not UTF-8
 * become U+FFFD so the line stays valid JSON. */
static void add_json_string(struct mt_buf *b, const char *s, size_t len, bool unescape)
{
    mt_buf_addc(b, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (unescape && c == '\\' && i + 1 < len) {
            /* key="a \"b\"" in a message: the escape belongs to the message. */
            i++;
            c = (unsigned char)s[i];
        }
        if (c == '"' || c == '\\') {
            mt_buf_addc(b, '\\');
            mt_buf_addc(b, (char)c);
            i++;
        } else if (c == '\n') {
            mt_buf_adds(b, "\\n");
            i++;
        } else if (c == '\t') {
            mt_buf_adds(b, "\\t");
            i++;
        } else if (c < 0x20) {
            mt_buf_addf(b, "\\u%04x", c);
            i++;
        } else {
            size_t n = utf8_len((const unsigned char *)s + i, len - i);
            if (n == 0) {
                mt_buf_adds(b, "\\ufffd");
                i++;
            } else {
                mt_buf_add(b, s + i, n);
                i += n;
            }
        }
    }
    mt_buf_addc(b, '"');
}

/* True for -?(0|[1-9][0-9]*)(\.[0-9]+)?, which JSON can carry as a number. */
static bool json_number(struct mt_str v)
{
    size_t i = 0;
    if (i < v.len && v.p[i] == '-')
        i++;
    if (i >= v.len || v.p[i] < '0' || v.p[i] > '9')
        return false;
    if (v.p[i] == '0') {
        i++;
    } else {
        while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9')
            i++;
    }
    if (i < v.len && v.p[i] == '.') {
        size_t d = ++i;
        while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == v.len && v.len <= 18;
}

static void add_timestamp(struct mt_buf *b)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    mt_buf_addf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
}

static void format_text(struct mt_buf *line, enum mt_log_level level, const char *msg, size_t len)
{
    add_timestamp(line);
    mt_buf_addc(line, ' ');
    mt_buf_adds(line, level_tags[level]);
    mt_buf_addc(line, ' ');
    add_text(line, msg, len);
    if (request_id[0]) {
        mt_buf_adds(line, " request_id=");
        mt_buf_adds(line, request_id);
    }
}

static void format_json(struct mt_buf *line, enum mt_log_level level, const char *msg, size_t len)
{
    struct field fields[MAX_FIELDS];
    size_t n_fields;
    size_t text_len = split_fields(msg, len, fields, &n_fields);
    mt_buf_adds(line, "{\"time\":\"");
    add_timestamp(line);
    mt_buf_adds(line, "\",\"level\":\"");
    mt_buf_adds(line, level_json[level]);
    mt_buf_adds(line, "\",\"msg\":");
    add_json_string(line, msg, text_len, false);
    if (request_id[0]) {
        mt_buf_adds(line, ",\"request_id\":");
        add_json_string(line, request_id, strlen(request_id), false);
    }
    for (size_t i = 0; i < n_fields; i++) {
        mt_buf_addc(line, ',');
        add_json_string(line, fields[i].key.p, fields[i].key.len, false);
        mt_buf_addc(line, ':');
        if (!fields[i].quoted && json_number(fields[i].value))
            mt_buf_add(line, fields[i].value.p, fields[i].value.len);
        else
            add_json_string(line, fields[i].value.p, fields[i].value.len, fields[i].quoted);
    }
    mt_buf_addc(line, '}');
}

void mt_log_write(enum mt_log_level level, const char *fmt, ...)
{
    if (level < mt_log_threshold || level >= MT_LOG_OFF)
        return;
    struct mt_buf msg, line;
    mt_buf_init(&msg, MAX_MESSAGE);
    mt_buf_init(&line, 4 * MAX_MESSAGE);
    va_list ap;
    va_start(ap, fmt);
    mt_buf_vaddf(&msg, fmt, ap);
    va_end(ap);
    if (msg.failed) {
        /* The message filled the buffer: make room for the marker. */
        static const char cut[] = " (truncated)";
        size_t keep = MAX_MESSAGE - (sizeof(cut) - 1);
        if (msg.len > keep) {
            msg.len = keep;
            msg.data[keep] = '\0';
        }
        msg.failed = false;
        mt_buf_adds(&msg, cut);
    }

    pthread_mutex_lock(&log_lock);
    if (log_format == MT_LOG_JSON)
        format_json(&line, level, msg.data, msg.len);
    else
        format_text(&line, level, msg.data, msg.len);
    mt_buf_addc(&line, '\n');
    FILE *f = log_stream ? log_stream : stderr;
    fwrite(line.data, 1, line.len, f);
    fflush(f);
    pthread_mutex_unlock(&log_lock);

    mt_buf_release(&msg);
    mt_buf_release(&line);
}
