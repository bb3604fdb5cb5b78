/* What a database failure means beyond its code: messages scrubbed of
 * anything that looks like a password, the process-wide "storage is full"
 * state (set by an ENOSPC failure, ended by a committed write or free space),
 * and whether a server connection's link is gone (the drivers' socket
 * checks). Every db/ file that reports a failure passes it through here. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/clock.h"
#include "core/redact.h"
#include "db/db_int.h"

/* Free space on the SQLite file system that ends a "storage full" state. */
#define STORAGE_FREE_MIN ((unsigned long long)1 << 20)
/* How long a server database counts as full after its last ENOSPC failure. */
#define STORAGE_FULL_HOLD_US (60LL * 1000000)

void db_scrub(struct mt_err *err)
{
    if (err)
        mt_redact_text(err->msg, sizeof err->msg);
}

/* ---- the storage state ---- */

/* CLOCK_MONOTONIC microseconds of the last MT_ENOSPC failure; 0: none known
 * since the last successful write. */
static _Atomic long long storage_full_at;

static long long mono_us(void)
{
    return mt_mono_us() + 1; /* never 0, which means "not full" */
}

void db_after_fail(const struct db_conn *c, struct mt_err *err)
{
    (void)c;
    db_scrub(err);
    if (err && err->code == MT_ENOSPC)
        atomic_store(&storage_full_at, mono_us());
}

/* Free bytes for unprivileged users on the file system of an SQLite file;
 * false when that cannot be known (:memory:, statvfs failing). */
static bool sqlite_free_bytes(const struct db_conn *c, unsigned long long *out)
{
    const char *path = c->url.path;
    if (!path || strcmp(path, ":memory:") == 0)
        return false;
    char *dir = mt_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, strlen(dir) + 1, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct statvfs sv;
    int rc = statvfs(dir, &sv);
    free(dir);
    if (rc < 0)
        return false;
    *out = (unsigned long long)sv.f_bavail * (unsigned long long)sv.f_frsize;
    return true;
}

void db_storage_written(void)
{
    /* Loaded first: writers would otherwise all store to one line. */
    if (atomic_load(&storage_full_at) != 0)
        atomic_store(&storage_full_at, 0);
}

bool db_storage_full(struct db_conn *c)
{
    long long at = atomic_load(&storage_full_at);
    if (at == 0)
        return false;
    bool over;
    unsigned long long avail = 0;
    if (c && c->drv->dialect == DB_SQLITE && sqlite_free_bytes(c, &avail))
        over = avail >= STORAGE_FREE_MIN;
    else
        over = mono_us() - at > STORAGE_FULL_HOLD_US;
    if (over) {
        /* Only clear the failure seen, not a newer one. */
        atomic_compare_exchange_strong(&storage_full_at, &at, 0);
        return false;
    }
    return true;
}

/* ---- the link to the server ---- */

int db_sock_peek(int fd)
{
    if (fd < 0)
        return -1;
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&pfd, 1, 0) <= 0)
        return 0;
    if (pfd.revents & (POLLERR | POLLNVAL))
        return -1;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return -1;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    return 1;
}

int db_sock_wait(int fd, int timeout_ms)
{
    uint64_t start = mt_mono_ms();
    int left = timeout_ms;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, left < 0 ? 0 : left);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
        left = timeout_ms - (int)(mt_mono_ms() - start);
    }
}

bool db_conn_broken(struct db_conn *c)
{
    return c->broken || c->drv->is_broken(c);
}

bool db_link_lost(struct db_conn *c, const struct mt_err *err)
{
    return err->code == MT_EUNAVAIL && db_conn_broken(c);
}
