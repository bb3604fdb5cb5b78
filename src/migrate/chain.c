/* Loading and validating the revision chain: the same parser reads the files
 * embedded at build time (embed.py) and a migrations directory at run time,
 * checks that the chain is linear and complete for every dialect, and orders
 * it from the base to the head. Also resolves Alembic's revision arguments
 * (head, base, prefixes, +N/-N) and computes SQL checksums. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/parse.h"
#include "migrate/mig_int.h"

/* A revision directory's files are small; this bounds a malformed one. */
#define MAX_FILE_BYTES (16u << 20)

/* One file of a revision directory, before parsing. */
struct rawfile {
    char *dir;
    char *name;
    char *data;
};
struct rawset {
    struct rawfile *v;
    size_t n, cap;
};

static const char *const dialect_files[MIG_N_DIALECTS] = {
    [DB_SQLITE] = "sqlite",
    [DB_POSTGRES] = "postgresql",
    [DB_MYSQL] = "mysql",
};

const char *mig_dialect_file_name(enum db_dialect d)
{
    return dialect_files[d];
}

static void rawset_add(struct rawset *s, const char *dir, const char *name, const char *data,
                       size_t len)
{
    s->v = mt_xgrow(s->v, s->n, &s->cap, sizeof *s->v);
    s->v[s->n].dir = mt_xstrdup(dir);
    s->v[s->n].name = mt_xstrdup(name);
    s->v[s->n].data = mt_xstrndup(data, len);
    s->n++;
}

static void rawset_release(struct rawset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].dir);
        free(s->v[i].name);
        free(s->v[i].data);
    }
    free(s->v);
}

static void revision_release(struct mig_revision *r)
{
    free(r->id);
    free(r->down_revision);
    free(r->message);
    free(r->create_date);
    free(r->dir);
    for (int d = 0; d < MIG_N_DIALECTS; d++) {
        free(r->up[d]);
        free(r->down[d]);
    }
    free(r->pre_upgrade);
    free(r->post_upgrade);
    free(r->pre_downgrade);
    free(r->post_downgrade);
}

void mig_chain_free(struct mig_chain *ch)
{
    if (!ch)
        return;
    for (size_t i = 0; i < ch->n; i++)
        revision_release(&ch->revs[i]);
    free(ch->revs);
    free(ch->source);
    free(ch);
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MIG_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

static bool valid_hook_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return false;
    return true;
}

static char *trimmed_dup(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    return mt_xstrndup(p, n);
}

/* The text keys of a revision file and the fields they fill. */
static const struct {
    const char *key;
    size_t offset;
} text_keys[] = {
    {"id", offsetof(struct mig_revision, id)},
    {"revision", offsetof(struct mig_revision, id)},
    {"down_revision", offsetof(struct mig_revision, down_revision)},
    {"message", offsetof(struct mig_revision, message)},
    {"create_date", offsetof(struct mig_revision, create_date)},
    {"pre_upgrade", offsetof(struct mig_revision, pre_upgrade)},
    {"post_upgrade", offsetof(struct mig_revision, post_upgrade)},
    {"pre_downgrade", offsetof(struct mig_revision, pre_downgrade)},
    {"post_downgrade", offsetof(struct mig_revision, post_downgrade)},
};

/* The field of r that the text key fills, or NULL for another key. */
static char **text_slot(struct mig_revision *r, const char *key)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(text_keys); i++) {
        if (strcmp(key, text_keys[i].key) == 0)
            return (char **)((char *)r + text_keys[i].offset);
    }
    return NULL;
}

/* Parses the `revision` file of directory dir into r (whose strings it
 * allocates; r is released by the caller even on failure). */
static int parse_revision_file(const char *dir, const char *text, struct mig_revision *r,
                               struct mt_err *err)
{
    bool have_down = false, have_tx = false;
    r->transactional = true;
    int lineno = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *next = end ? end + 1 : line + len;
        lineno++;
        char *l = trimmed_dup(line, len);
        line = next;
        if (!*l || *l == '#') {
            free(l);
            continue;
        }
        char *colon = strchr(l, ':');
        if (!colon) {
            mt_fail(err, MT_EINVAL, "%s/revision line %d: expected \"key: value\", got \"%.60s\"",
                    dir, lineno, l);
            free(l);
            return -1;
        }
        char *key = trimmed_dup(l, (size_t)(colon - l));
        char *val = trimmed_dup(colon + 1, strlen(colon + 1));
        free(l);
        char **slot = text_slot(r, key);
        int rc = 0;
        if (slot) {
            have_down = have_down || slot == &r->down_revision;
        } else if (strcmp(key, "transactional") == 0) {
            struct mt_err perr = {0};
            if (mt_parse_bool(val, strlen(val), &r->transactional, &perr) < 0)
                rc = mt_fail(err, MT_EINVAL, "%s/revision line %d: transactional: %s", dir, lineno,
                             perr.msg);
            have_tx = true;
        } else {
            rc = mt_fail(err, MT_EINVAL, "%s/revision line %d: unknown key \"%.40s\"", dir, lineno,
                         key);
        }
        if (slot && *slot)
            rc = mt_fail(err, MT_EINVAL, "%s/revision line %d: \"%s\" given twice", dir, lineno,
                         key);
        if (slot && rc == 0) {
            *slot = val;
            val = NULL;
        }
        free(key);
        free(val);
        if (rc < 0)
            return -1;
    }
    (void)have_tx;
    if (!r->id || !*r->id)
        return mt_fail(err, MT_EINVAL, "%s/revision: missing \"id\"", dir);
    if (!valid_id(r->id))
        return mt_fail(err, MT_EINVAL,
                       "%s/revision: invalid id \"%.40s\": expected 1 to %d letters, digits or _",
                       dir, r->id, MIG_ID_MAX);
    if (!have_down)
        return mt_fail(err, MT_EINVAL,
                       "%s/revision: missing \"down_revision\" (leave it empty for the base)", dir);
    if (!*r->down_revision) {
        free(r->down_revision);
        r->down_revision = NULL;
    } else if (!valid_id(r->down_revision)) {
        return mt_fail(err, MT_EINVAL, "%s/revision: invalid down_revision \"%.40s\"", dir,
                       r->down_revision);
    }
    char **hooks[] = {&r->pre_upgrade, &r->post_upgrade, &r->pre_downgrade, &r->post_downgrade};
    for (size_t i = 0; i < MT_ARRAY_LEN(hooks); i++) {
        if (*hooks[i] && !**hooks[i]) {
            free(*hooks[i]);
            *hooks[i] = NULL;
        } else if (*hooks[i] && !valid_hook_name(*hooks[i])) {
            return mt_fail(err, MT_EINVAL, "%s/revision: invalid hook name \"%.40s\"", dir,
                           *hooks[i]);
        }
    }
    if (!r->message)
        r->message = mt_xstrdup("");
    if (!r->create_date)
        r->create_date = mt_xstrdup("");
    return 0;
}

/* Which SQL slot a file name fills: 1 = up, 2 = down, dialect in *d (-1 for
 * the shared file); 0 = not an SQL file; -1 = an SQL file with a name we do
 * not know (a typo such as up.postgres.sql must not be ignored). */
static int sql_file_kind(const char *name, int *d)
{
    size_t n = strlen(name);
    if (n < 4 || strcmp(name + n - 4, ".sql") != 0)
        return 0;
    int kind;
    const char *rest;
    if (strncmp(name, "up.", 3) == 0) {
        kind = 1;
        rest = name + 3;
    } else if (strncmp(name, "down.", 5) == 0) {
        kind = 2;
        rest = name + 5;
    } else {
        return -1;
    }
    if (strcmp(rest, "sql") == 0) {
        *d = -1;
        return kind;
    }
    for (int i = 0; i < MIG_N_DIALECTS; i++) {
        size_t dl = strlen(dialect_files[i]);
        if (strncmp(rest, dialect_files[i], dl) == 0 && strcmp(rest + dl, ".sql") == 0) {
            *d = i;
            return kind;
        }
    }
    return -1;
}

static int cmp_rawfile(const void *a, const void *b)
{
    const struct rawfile *x = a, *y = b;
    int c = strcmp(x->dir, y->dir);
    return c ? c : strcmp(x->name, y->name);
}

/* Builds one revision from the files of directory files[0].dir (count k). */
static int build_revision(const struct rawfile *files, size_t k, struct mig_revision *r,
                          struct mt_err *err)
{
    const char *dir = files[0].dir;
    const char *revtext = NULL;
    const char *shared[2] = {NULL, NULL};
    const char *per[2][MIG_N_DIALECTS] = {{NULL}};
    for (size_t i = 0; i < k; i++) {
        int d = 0;
        if (strcmp(files[i].name, "revision") == 0) {
            revtext = files[i].data;
            continue;
        }
        int kind = sql_file_kind(files[i].name, &d);
        if (kind < 0)
            return mt_fail(err, MT_EINVAL,
                           "%s: unknown SQL file \"%s\" (expected up.sql, down.sql or "
                           "up|down.sqlite|postgresql|mysql.sql)",
                           dir, files[i].name);
        if (kind == 0)
            continue;
        if (d < 0)
            shared[kind - 1] = files[i].data;
        else
            per[kind - 1][d] = files[i].data;
    }
    r->dir = mt_xstrdup(dir);
    if (!revtext)
        return mt_fail(err, MT_EINVAL, "%s: no revision file", dir);
    if (parse_revision_file(dir, revtext, r, err) < 0)
        return -1;
    for (int d = 0; d < MIG_N_DIALECTS; d++) {
        for (int kind = 0; kind < 2; kind++) {
            const char *t = per[kind][d] ? per[kind][d] : shared[kind];
            if (!t)
                return mt_fail(err, MT_EINVAL,
                               "revision %s (%s): no %s SQL for %s (need %s.sql or %s.%s.sql)",
                               r->id, dir, kind ? "down" : "up", dialect_files[d],
                               kind ? "down" : "up", kind ? "down" : "up", dialect_files[d]);
            char **slot = kind ? &r->down[d] : &r->up[d];
            *slot = mt_xstrdup(t);
        }
    }
    return 0;
}

/* Orders and validates revs (n of them) into a linear chain. */
static int link_chain(struct mig_revision *revs, size_t n, struct mig_revision **ordered,
                      struct mt_err *err)
{
    size_t *child = mt_xcalloc(n ? n : 1, sizeof(*child));
    const size_t none = (size_t)-1;
    size_t base = none;
    int rc = -1;
    for (size_t i = 0; i < n; i++)
        child[i] = none;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(revs[i].id, revs[j].id) == 0) {
                mt_fail(err, MT_EINVAL, "duplicate revision id %s (in %s and %s)", revs[i].id,
                        revs[i].dir, revs[j].dir);
                goto out;
            }
    }
    for (size_t i = 0; i < n; i++) {
        if (!revs[i].down_revision) {
            if (base != none) {
                mt_fail(err, MT_EINVAL, "more than one base revision: %s and %s", revs[base].id,
                        revs[i].id);
                goto out;
            }
            base = i;
            continue;
        }
        size_t p = none;
        for (size_t j = 0; j < n; j++)
            if (strcmp(revs[j].id, revs[i].down_revision) == 0)
                p = j;
        if (p == none) {
            mt_fail(err, MT_EINVAL, "revision %s: unknown down_revision %s", revs[i].id,
                    revs[i].down_revision);
            goto out;
        }
        if (child[p] != none) {
            mt_fail(err, MT_EINVAL,
                    "more than one head: %s and %s both follow %s (branches are not supported)",
                    revs[child[p]].id, revs[i].id, revs[p].id);
            goto out;
        }
        child[p] = i;
    }
    if (n && base == none) {
        mt_fail(err, MT_EINVAL, "no base revision (every revision has a down_revision): a cycle");
        goto out;
    }
    size_t k = 0;
    for (size_t at = base; n && at != none && k <= n; at = child[at])
        ordered[k++] = &revs[at];
    if (k != n) {
        for (size_t i = 0; i < n; i++) {
            bool seen = false;
            for (size_t j = 0; j < k; j++)
                seen = seen || ordered[j] == &revs[i];
            if (!seen) {
                mt_fail(err, MT_EINVAL, "revision %s is part of a cycle", revs[i].id);
                goto out;
            }
        }
    }
    rc = 0;
out:
    free(child);
    return rc;
}

static int build_chain(struct rawset *s, const char *source, struct mig_chain **out,
                       struct mt_err *err)
{
    if (s->n)
        qsort(s->v, s->n, sizeof(*s->v), cmp_rawfile);
    size_t ndirs = 0;
    for (size_t i = 0; i < s->n; i++)
        if (i == 0 || strcmp(s->v[i].dir, s->v[i - 1].dir) != 0)
            ndirs++;
    struct mig_revision *revs = mt_xcalloc(ndirs ? ndirs : 1, sizeof(*revs));
    size_t nrev = 0;
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0;) {
        size_t j = i;
        while (j < s->n && strcmp(s->v[j].dir, s->v[i].dir) == 0)
            j++;
        bool has_revision = false;
        for (size_t k = i; k < j; k++)
            has_revision = has_revision || strcmp(s->v[k].name, "revision") == 0;
        /* Directories without a revision file (notes, caches) are not revisions. */
        if (has_revision)
            rc = build_revision(&s->v[i], j - i, &revs[nrev++], err);
        i = j;
    }
    struct mig_revision **ordered = mt_xcalloc(nrev ? nrev : 1, sizeof(*ordered));
    if (rc == 0)
        rc = link_chain(revs, nrev, ordered, err);
    if (rc < 0) {
        mt_err_wrap(err, "migrations in %s", source);
        for (size_t i = 0; i < nrev; i++)
            revision_release(&revs[i]);
        free(revs);
        free(ordered);
        return -1;
    }
    struct mig_chain *ch = mt_xcalloc(1, sizeof(*ch));
    ch->revs = mt_xcalloc(nrev ? nrev : 1, sizeof(*ch->revs));
    for (size_t i = 0; i < nrev; i++)
        ch->revs[i] = *ordered[i];
    ch->n = nrev;
    ch->source = mt_xstrdup(source);
    free(revs);
    free(ordered);
    *out = ch;
    return 0;
}

int mig_chain_load_embedded(struct mig_chain **out, struct mt_err *err)
{
    struct rawset s = {0};
    for (size_t i = 0; i < mig_embedded_n_files; i++) {
        const struct mig_embedded_file *f = &mig_embedded_files[i];
        const char *slash = strchr(f->path, '/');
        if (!slash) {
            rawset_release(&s);
            return mt_fail(err, MT_EINTERNAL, "embedded migration file %s has no directory",
                           f->path);
        }
        char *dir = mt_xstrndup(f->path, (size_t)(slash - f->path));
        rawset_add(&s, dir, slash + 1, f->data, f->len);
        free(dir);
    }
    int rc = build_chain(&s, "embedded", out, err);
    rawset_release(&s);
    return rc;
}

static int read_file(const char *path, char **out, size_t *len, struct mt_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mt_fail(err, MT_EINVAL, "cannot open %s: %s", path, strerror(errno));
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            data = mt_xrealloc(data, cap);
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (n > MAX_FILE_BYTES) {
            fclose(f);
            free(data);
            return mt_fail(err, MT_ELIMIT, "%s is larger than %u bytes", path, MAX_FILE_BYTES);
        }
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(data);
        return mt_fail(err, MT_EINVAL, "cannot read %s", path);
    }
    data[n] = '\0';
    if (strlen(data) != n) {
        free(data);
        return mt_fail(err, MT_EINVAL, "%s contains a NUL byte", path);
    }
    *out = data;
    *len = n;
    return 0;
}

static int read_revision_dir(const char *root, const char *name, struct rawset *s,
                             struct mt_err *err)
{
    char *path = mt_xasprintf("%s/%s", root, name);
    DIR *dh = opendir(path);
    if (!dh) {
        int rc = mt_fail(err, MT_EINVAL, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dh)) != NULL) {
        int d;
        if (strcmp(e->d_name, "revision") != 0 && sql_file_kind(e->d_name, &d) == 0)
            continue;
        char *fp = mt_xasprintf("%s/%s", path, e->d_name);
        char *data = NULL;
        size_t len = 0;
        rc = read_file(fp, &data, &len, err);
        if (rc == 0) {
            rawset_add(s, name, e->d_name, data, len);
            free(data);
        }
        free(fp);
    }
    closedir(dh);
    free(path);
    return rc;
}

int mig_chain_load_dir(const char *dir, struct mig_chain **out, struct mt_err *err)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return mt_fail(err, MT_EINVAL, "cannot open migrations directory %s: %s", dir,
                       strerror(errno));
    struct rawset s = {0};
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = mt_xasprintf("%s/%s/revision", dir, e->d_name);
        struct stat st;
        bool is_rev = stat(p, &st) == 0 && S_ISREG(st.st_mode);
        free(p);
        if (is_rev)
            rc = read_revision_dir(dir, e->d_name, &s, err);
    }
    closedir(dh);
    if (rc == 0)
        rc = build_chain(&s, dir, out, err);
    rawset_release(&s);
    return rc;
}

int mig_chain_load(const struct mt_config *cfg, struct mig_chain **out, struct mt_err *err)
{
    if (cfg && cfg->migrations_dir && cfg->migrations_dir[0])
        return mig_chain_load_dir(cfg->migrations_dir, out, err);
    return mig_chain_load_embedded(out, err);
}

const struct mig_revision *mig_chain_head(const struct mig_chain *ch)
{
    return ch->n ? &ch->revs[ch->n - 1] : NULL;
}

const struct mig_revision *mig_chain_find(const struct mig_chain *ch, const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < ch->n; i++)
        if (strcmp(ch->revs[i].id, id) == 0)
            return &ch->revs[i];
    return NULL;
}

long mig_chain_pos(const struct mig_chain *ch, const char *id)
{
    if (!id)
        return -1;
    const struct mig_revision *r = mig_chain_find(ch, id);
    return r ? (long)(r - ch->revs) : -2;
}

/* Prefix (or exact id) lookup; *out NULL never means base here. */
static int lookup(const struct mig_chain *ch, const char *spec, size_t len,
                  const struct mig_revision **out, struct mt_err *err)
{
    if (len == 0)
        return mt_fail(err, MT_EINVAL, "empty revision argument");
    for (size_t i = 0; i < ch->n; i++)
        if (strlen(ch->revs[i].id) == len && memcmp(ch->revs[i].id, spec, len) == 0) {
            *out = &ch->revs[i];
            return 0;
        }
    size_t hits = 0;
    char list[160] = "";
    for (size_t i = 0; i < ch->n; i++) {
        if (strncmp(ch->revs[i].id, spec, len) != 0)
            continue;
        if (hits++ == 0)
            *out = &ch->revs[i];
        size_t l = strlen(list);
        if (l + MIG_ID_MAX + 3 < sizeof(list))
            snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", ch->revs[i].id);
    }
    if (hits == 1)
        return 0;
    if (hits > 1)
        return mt_fail(err, MT_EINVAL, "ambiguous revision \"%.*s\": matches %s", (int)len, spec,
                       list);
    return mt_fail(err, MT_ENOTFOUND, "no such revision \"%.*s\"", (int)len, spec);
}

int mig_resolve(const struct mig_chain *ch, const char *spec, const char *current,
                const struct mig_revision **out, struct mt_err *err)
{
    if (!spec)
        return mt_fail(err, MT_EINVAL, "missing revision argument");
    if (strcmp(spec, "head") == 0 || strcmp(spec, "heads") == 0) {
        *out = mig_chain_head(ch);
        return 0;
    }
    if (strcmp(spec, "base") == 0) {
        *out = NULL;
        return 0;
    }
    /* A relative step: "+N", "-N", "REV+N", "REV-N", "head-N", "base+N". */
    const char *sign = NULL;
    for (const char *p = spec; *p; p++)
        if (*p == '+' || *p == '-')
            sign = p;
    long anchor;
    if (sign) {
        int64_t steps;
        struct mt_err perr = {0};
        if (mt_parse_i64(sign + 1, strlen(sign + 1), 0, 100000, &steps, &perr) < 0)
            return mt_fail(err, MT_EINVAL, "invalid relative revision \"%.60s\": %s", spec,
                           perr.msg);
        size_t alen = (size_t)(sign - spec);
        if (alen == 0) {
            anchor = mig_chain_pos(ch, current);
            if (anchor == -2)
                return mt_fail(err, MT_ENOTFOUND, "current revision %s is not in the chain",
                               current);
        } else if (alen == 4 && strncmp(spec, "head", 4) == 0) {
            anchor = (long)ch->n - 1;
        } else if (alen == 4 && strncmp(spec, "base", 4) == 0) {
            anchor = -1;
        } else {
            const struct mig_revision *r;
            if (lookup(ch, spec, alen, &r, err) < 0)
                return -1;
            anchor = (long)(r - ch->revs);
        }
        long pos = *sign == '+' ? anchor + (long)steps : anchor - (long)steps;
        if (pos < -1 || pos >= (long)ch->n)
            return mt_fail(err, MT_EINVAL,
                           "relative revision \"%.60s\" leaves the chain (%ld revisions %s the "
                           "starting point)",
                           spec, *sign == '+' ? (long)ch->n - 1 - anchor : anchor + 1,
                           *sign == '+' ? "above" : "at or below");
        *out = pos < 0 ? NULL : &ch->revs[pos];
        return 0;
    }
    return lookup(ch, spec, strlen(spec), out, err);
}

void mig_checksum(const char *sql, char out[MIG_CHECKSUM_LEN])
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    snprintf(out, MIG_CHECKSUM_LEN, "fnv1a64:%016" PRIx64, h);
}
