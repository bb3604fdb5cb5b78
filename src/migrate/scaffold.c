/* `db revision -m MESSAGE`: creates a new revision directory on top of the
 * chain's head, with a fresh random 12-hex id (as Alembic makes them), a
 * revision file and one up and one down SQL file per dialect to fill in. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "migrate/mig_int.h"

static int fresh_id(const struct mig_chain *ch, char out[13], struct mt_err *err)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned char b[6];
        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
            return mt_fail(err, MT_EINTERNAL, "getrandom failed: %s", strerror(errno));
        for (size_t i = 0; i < sizeof(b); i++)
            snprintf(out + 2 * i, 3, "%02x", b[i]);
        if (!mig_chain_find(ch, out))
            return 0;
    }
    return mt_fail(err, MT_EINTERNAL, "could not find an unused revision id");
}

/* "Add person table!" -> "add_person_table", at most 40 characters. */
static void slugify(const char *msg, char *out, size_t size)
{
    size_t n = 0;
    bool sep = false;
    for (const char *p = msg; *p && n + 1 < size && n < 40; p++) {
        if (isalnum((unsigned char)*p)) {
            if (sep && n)
                out[n++] = '_';
            if (n + 1 < size)
                out[n++] = (char)tolower((unsigned char)*p);
            sep = false;
        } else {
            sep = true;
        }
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, size, "revision");
}

static int write_file(const char *path, const char *text, struct mt_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return mt_fail(err, MT_EINVAL, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return mt_fail(err, MT_EINVAL, "cannot write %s: %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return mt_fail(err, MT_EINVAL, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

int mig_scaffold(const struct mig_chain *ch, const char *dir, const char *message, char **path,
                 struct mt_err *err)
{
    if (!message || !*message)
        return mt_fail(err, MT_EINVAL, "a revision needs a message (-m MESSAGE)");
    for (const char *p = message; *p; p++)
        if ((unsigned char)*p < 0x20)
            return mt_fail(err, MT_EINVAL, "the message must be one line of text");
    if (strlen(message) > 200)
        return mt_fail(err, MT_EINVAL, "the message is longer than 200 characters");
    char id[13], slug[48];
    if (fresh_id(ch, id, err) < 0)
        return -1;
    slugify(message, slug, sizeof(slug));
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return mt_fail(err, MT_EINVAL, "cannot create %s: %s", dir, strerror(errno));
    char *rdir = mt_xasprintf("%s/%s_%s", dir, id, slug);
    if (mkdir(rdir, 0755) != 0) {
        int rc = mt_fail(err, MT_EINVAL, "cannot create %s: %s", rdir, strerror(errno));
        free(rdir);
        return rc;
    }
    const struct mig_revision *head = mig_chain_head(ch);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char date[40];
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    char *text = mt_xasprintf("# Revision of the migration chain: see docs/migrations.md.\n"
                              "id: %s\n"
                              "down_revision: %s\n"
                              "message: %s\n"
                              "create_date: %s.%06ld\n",
                              id, head ? head->id : "", message, date, ts.tv_nsec / 1000);
    char *f = mt_xasprintf("%s/revision", rdir);
    int rc = write_file(f, text, err);
    free(f);
    free(text);
    for (int d = 0; rc == 0 && d < MIG_N_DIALECTS; d++) {
        for (int up = 1; rc == 0 && up >= 0; up--) {
            f = mt_xasprintf("%s/%s.%s.sql", rdir, up ? "up" : "down",
                             mig_dialect_file_name((enum db_dialect)d));
            text = mt_xasprintf("-- %s: %s SQL for %s (revision %s).\n", message,
                                up ? "upgrade" : "downgrade",
                                mig_dialect_file_name((enum db_dialect)d), id);
            rc = write_file(f, text, err);
            free(f);
            free(text);
        }
    }
    if (rc == 0 && path)
        *path = rdir;
    else
        free(rdir);
    return rc;
}
