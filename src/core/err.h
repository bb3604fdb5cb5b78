/* One error type for the whole program, and the checked allocation and size
 * helpers every module uses. Fallible functions return 0 / -1 (or a pointer /
 * NULL) and fill a caller-provided struct mt_err, which is left untouched on
 * success. */
#ifndef MT_CORE_ERR_H
#define MT_CORE_ERR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum mt_code {
    MT_OK = 0,
    MT_EINVAL,    /* bad input from a user or a client */
    MT_ENOTFOUND, /* the thing asked for does not exist */
    MT_ECONFLICT, /* a business rule or state refuses the operation */
    MT_ELIMIT,    /* a limit of our own was hit: a request's memory or a buffer ceiling,
                   * a full table. For HTTP a server condition (503), not the
                   * client's fault: request bodies over MAX_BODY_BYTES get their 413
                   * from the HTTP server, and a body too large to parse gets 413
                   * from validation, neither through this code. */
    MT_EDB,       /* hard database error */
    MT_EDB_RETRY, /* deadlock, serialization failure, SQLITE_BUSY: safe to rerun */
    MT_EUNAVAIL,  /* the database (or another peer) cannot be reached yet */
    MT_EAUTH,     /* authentication was refused: waiting cannot fix it */
    MT_ENODB,     /* the server is up but the named database does not exist */
    MT_ETIMEOUT,  /* the database did not finish in time (statement, lock or busy
                     timeout); the work was undone and may be retried later */
    MT_ENOSPC,    /* the database's storage is full: writes fail until space returns */
    MT_EPERM,     /* the system refuses access (file permissions, read-only file system or
                     database file): a configuration problem that waiting cannot fix */
    MT_EINTERNAL, /* a bug or an impossible state in our own code */
};

struct mt_err {
    enum mt_code code;
    char msg[256];
};

/* Fills err (if not NULL) with code and a printf-formatted message; returns -1
 * so that callers can write `return mt_fail(err, ...)`. */
int mt_fail(struct mt_err *err, enum mt_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message: "context: old message". Keeps the code.
 * Returns -1. */
int mt_err_wrap(struct mt_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resets err to MT_OK with an empty message. */
void mt_err_clear(struct mt_err *err);

/* Short lower-case name of a code, e.g. "not found". Static storage. */
const char *mt_code_name(enum mt_code code);

/* Allocation that logs and aborts on failure. Acceptable only because no
 * request can choose an allocation size (body limit, arena ceiling). The
 * results are freed with free(). */
void *mt_xmalloc(size_t n);
void *mt_xcalloc(size_t n, size_t size);
void *mt_xrealloc(void *p, size_t n);
/* mt_xrealloc for an array of n elements of size bytes, the product checked
 * (an overflow aborts like a failed allocation). */
void *mt_xreallocarray(void *p, size_t n, size_t size);
/* Makes room for element n of an array of elem-byte elements with *cap
 * slots: when n has reached *cap, doubles the slots (8 at first) and updates
 * *cap. Returns the array, which may have moved. */
void *mt_xgrow(void *items, size_t n, size_t *cap, size_t elem);
char *mt_xstrdup(const char *s);
char *mt_xstrndup(const char *s, size_t n);
/* printf into a new malloc'ed string; caller frees. */
char *mt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *mt_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Overflow-checked size arithmetic: false on overflow, *out untouched. */
bool mt_size_add(size_t a, size_t b, size_t *out);
bool mt_size_mul(size_t a, size_t b, size_t *out);

#define MT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
