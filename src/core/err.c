/* The program's one error type (struct mt_err) and the allocation and size
 * helpers every module uses. Lower layers fill an mt_err; the place that
 * handles the error logs it once. */
#include "core/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"

int mt_fail(struct mt_err *err, enum mt_code code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    /* A message longer than msg is cut; the start says what failed, which is
     * what matters. */
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        err->msg[0] = '\0';
    return -1;
}

int mt_err_wrap(struct mt_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    char joined[2 * sizeof(err->msg) + 2];
    err->msg[sizeof(err->msg) - 1] = '\0';
    if (err->msg[0] == '\0')
        n = snprintf(joined, sizeof(joined), "%s", prefix);
    else
        n = snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
    if (n < 0)
        return -1;
    /* A cut keeps the context, which is the new information. */
    size_t len = strnlen(joined, sizeof(err->msg) - 1);
    memcpy(err->msg, joined, len);
    err->msg[len] = '\0';
    return -1;
}

void mt_err_clear(struct mt_err *err)
{
    if (!err)
        return;
    err->code = MT_OK;
    err->msg[0] = '\0';
}

const char *mt_code_name(enum mt_code code)
{
    switch (code) {
    case MT_OK:
        return "ok";
    case MT_EINVAL:
        return "invalid input";
    case MT_ENOTFOUND:
        return "not found";
    case MT_ECONFLICT:
        return "conflict";
    case MT_ELIMIT:
        return "limit exceeded";
    case MT_EDB:
        return "database error";
    case MT_EDB_RETRY:
        return "database busy";
    case MT_EUNAVAIL:
        return "unavailable";
    case MT_EAUTH:
        return "authentication failed";
    case MT_ENODB:
        return "database missing";
    case MT_ETIMEOUT:
        return "database timeout";
    case MT_ENOSPC:
        return "storage full";
    case MT_EPERM:
        return "permission denied";
    case MT_EINTERNAL:
        return "internal error";
    }
    return "unknown error";
}

/* Out of memory: write a fixed message without allocating and stop. */
static void oom(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof(msg), "meditrack: out of memory (allocating %zu bytes)\n", n);
    if (len > 0 && (size_t)len < sizeof(msg)) {
        ssize_t w = write(STDERR_FILENO, msg, (size_t)len);
        (void)w;
    }
    abort();
}

void *mt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *mt_xcalloc(size_t n, size_t size)
{
    size_t total;
    if (!mt_size_mul(n, size, &total))
        oom(SIZE_MAX);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(total);
    return p;
}

void *mt_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

void *mt_xreallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (!mt_size_mul(n, size, &total))
        oom(SIZE_MAX);
    return mt_xrealloc(p, total);
}

void *mt_xgrow(void *items, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return items;
    /* Doubling cannot overflow before the array's bytes do, and
     * mt_xreallocarray checks those. */
    size_t slots = *cap ? *cap * 2 : 8;
    items = mt_xreallocarray(items, slots, elem);
    *cap = slots;
    return items;
}

char *mt_xstrdup(const char *s)
{
    return mt_xstrndup(s, strlen(s));
}

char *mt_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    size_t total;
    if (!mt_size_add(len, 1, &total))
        oom(SIZE_MAX);
    char *p = mt_xmalloc(total);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *mt_xvasprintf(const char *fmt, va_list ap)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    mt_buf_vaddf(&b, fmt, ap);
    return mt_buf_detach(&b, NULL);
}

char *mt_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = mt_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

bool mt_size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

bool mt_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}
