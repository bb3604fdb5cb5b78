/* `meditrack export` and `meditrack import`: the portable record
 * (docs/export-format.md) on the command line. They write and read exactly
 * the document of GET /api/v1/export and POST /api/v1/import (api/portable.h),
 * without the HTTP body limit: a file of any size is read in bounded memory.
 * Both need a database at the head revision, since they read and write its
 * tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/portable.h"
#include "cli/authcli.h"
#include "cli/cli.h"
#include "cli/start.h"
#include "core/log.h"
#include "core/parse.h"
#include "migrate/migrate.h"

/* The request-sized memory the export's chunk buffer comes from. */
#define EXPORT_ARENA ((size_t)16 << 20)

/* Opens DATABASE_URL and checks that it is at the head revision. Returns 0,
 * or the exit status after saying why. */
static int open_at_head(const char *prog, const struct mt_config *cfg, struct db_conn **out)
{
    struct mt_err err = {0};
    if (cli_db_open(cfg, out, &err) < 0) {
        fprintf(stderr, "%s: cannot open the database: %s\n", prog, err.msg);
        return cli_exit_for_connect_error(&err);
    }
    struct mig_chain *chain = NULL;
    char *current = NULL;
    int rc = MT_EXIT_OK;
    if (mig_chain_load(cfg, &chain, &err) < 0 || mig_current(*out, &current, &err) < 0) {
        fprintf(stderr, "%s: cannot read the database's revision: %s\n", prog, err.msg);
        rc = MT_EXIT_FAIL;
    } else {
        const struct mig_revision *head = mig_chain_head(chain);
        if (!current || !head || strcmp(current, head->id) != 0) {
            fprintf(stderr,
                    "%s: the database is at revision %s, not at head (%s): run `meditrack db "
                    "upgrade` first\n",
                    prog, current ? current : "base (empty)", head ? head->id : "?");
            rc = MT_EXIT_FAIL;
        }
    }
    free(current);
    mig_chain_free(chain);
    if (rc != MT_EXIT_OK) {
        db_close(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- export ------------------------------------------------------------------------------- */

static void export_usage(FILE *out)
{
    fprintf(out, "usage: meditrack export [--person ID] [FILE]\n\n"
                 "Writes the whole record (every person, or one with --person), with medications,\n"
                 "doses and the doses of deleted medications, as the versioned JSON document of\n"
                 "GET /api/v1/export (docs/export-format.md), to FILE or to standard output.\n"
                 "FILE is written under a temporary name and renamed when complete, so a failed\n"
                 "export never leaves a document that looks whole. The database must be at head.\n"
                 "Exit status: 0 written, 1 failed (unknown person, database error), 2 bad\n"
                 "command line.\n");
}

struct file_sink {
    FILE *f;
};

static int file_write(void *ctx, const char *data, size_t len, struct mt_err *err)
{
    struct file_sink *s = ctx;
    if (fwrite(data, 1, len, s->f) != len)
        return mt_fail(err, MT_EINVAL, "cannot write: %s", strerror(errno));
    return 0;
}

int cmd_export(int argc, char **argv, const struct mt_config *cfg)
{
    const char *file = NULL;
    bool has_person = false;
    int64_t person = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            export_usage(stdout);
            return MT_EXIT_OK;
        }
        if (strcmp(a, "--person") == 0 || strncmp(a, "--person=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            struct mt_err perr = {0};
            if (!v || mt_parse_i64(v, strlen(v), 1, INT64_MAX, &person, &perr) < 0) {
                fprintf(stderr, "meditrack export: --person needs a person id (1 or more)\n");
                return MT_EXIT_USAGE;
            }
            has_person = true;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "meditrack export: unknown option '%s'\n", a);
            export_usage(stderr);
            return MT_EXIT_USAGE;
        }
        if (file) {
            fprintf(stderr, "meditrack export: more than one FILE\n");
            return MT_EXIT_USAGE;
        }
        file = a;
    }
    if (file && strcmp(file, "-") == 0)
        file = NULL;

    struct db_conn *c = NULL;
    int rc = open_at_head("meditrack export", cfg, &c);
    if (rc != MT_EXIT_OK)
        return rc;
    char *tmp = NULL;
    struct file_sink sink = {stdout};
    if (file) {
        tmp = mt_xasprintf("%s.tmp-%ld", file, (long)getpid());
        sink.f = fopen(tmp, "wb");
        if (!sink.f) {
            fprintf(stderr, "meditrack export: cannot create %s: %s\n", tmp, strerror(errno));
            free(tmp);
            db_close(c);
            return MT_EXIT_FAIL;
        }
    }
    struct mt_arena *a = mt_arena_new(EXPORT_ARENA);
    struct api_export_out out = {NULL, file_write, &sink};
    struct api_export_counts counts;
    struct mt_err err = {0};
    int wrc = api_export_write(c, a, has_person, person, &out, &counts, &err);
    mt_arena_free(a);
    db_close(c);
    if (wrc == 0 && fflush(sink.f) != 0)
        wrc = mt_fail(&err, MT_EINVAL, "cannot write: %s", strerror(errno));
    if (file) {
        if (fclose(sink.f) != 0 && wrc == 0)
            wrc = mt_fail(&err, MT_EINVAL, "cannot write %s: %s", tmp, strerror(errno));
        if (wrc == 0 && rename(tmp, file) != 0)
            wrc =
                mt_fail(&err, MT_EINVAL, "cannot rename %s to %s: %s", tmp, file, strerror(errno));
        if (wrc != 0)
            remove(tmp);
    }
    free(tmp);
    if (wrc != 0) {
        fprintf(stderr, "meditrack export: %s\n", err.msg);
        return MT_EXIT_FAIL;
    }
    fprintf(stderr,
            "Exported %lld person(s), %lld medication(s), %lld dose(s) and %lld dose(s) of deleted "
            "medications%s%s.\n",
            (long long)counts.persons, (long long)counts.medications, (long long)counts.doses,
            (long long)counts.deleted_doses, file ? " to " : "", file ? file : "");
    if (counts.unreadable_times)
        fprintf(stderr,
                "warning: %lld timestamp(s) the database holds as unreadable text were exported "
                "as null\n",
                (long long)counts.unreadable_times);
    if (counts.unreadable_schedules)
        fprintf(stderr,
                "warning: %lld stored schedule(s) that do not read back were exported as null "
                "(as needed)\n",
                (long long)counts.unreadable_schedules);
    return MT_EXIT_OK;
}

/* ---- import ------------------------------------------------------------------------------- */

static void import_usage(FILE *out)
{
    fprintf(out, "usage: meditrack import FILE [--dry-run] [--on-conflict refuse|add]\n\n"
                 "Reads an export document (docs/export-format.md; from `meditrack export` or\n"
                 "GET /api/v1/export) into this database: the whole document is checked first\n"
                 "(the JSON path of the first problem is shown; a document of a newer format\n"
                 "version is refused), then imported in one transaction, all or nothing, every\n"
                 "person, medication and dose with a new id. Persons are added to what the\n"
                 "database holds. A person of the document with the same first name, last name\n"
                 "and date of birth as one already here refuses the whole import, unless\n"
                 "--on-conflict add (then added as another person). --dry-run prints what would\n"
                 "be created, and the conflicts, and changes nothing. FILE has no size limit.\n"
                 "Exit status: 0 imported (or, with --dry-run, the import would succeed),\n"
                 "1 refused or failed (nothing was changed), 2 bad command line.\n");
}

static void print_notes(const char *title, const struct api_import_note *notes, size_t n,
                        int64_t total, bool conflicts)
{
    if (total == 0)
        return;
    fprintf(stderr, "%s (%lld):\n", title, (long long)total);
    char path[512];
    for (size_t i = 0; i < n; i++) {
        if (conflicts)
            fprintf(stderr, "  %s: %s (person %lld here)\n",
                    api_import_path_text(&notes[i].path, path, sizeof(path)), notes[i].msg,
                    (long long)notes[i].existing_id);
        else
            fprintf(stderr, "  %s: %s\n", api_import_path_text(&notes[i].path, path, sizeof(path)),
                    notes[i].msg);
    }
    if (total > (int64_t)n)
        fprintf(stderr, "  ... and %lld more\n", (long long)(total - (int64_t)n));
}

static int report(const char *file, const struct api_import_result *res, bool dry_run)
{
    char path[512];
    switch (res->fault) {
    case API_IMPORT_SYNTAX:
        fprintf(stderr, "meditrack import: %s is not valid JSON: %s at line %lld, column %lld\n",
                file, res->msg, (long long)res->line, (long long)res->column);
        return MT_EXIT_FAIL;
    case API_IMPORT_INVALID:
    case API_IMPORT_NEWER:
        fprintf(stderr, "meditrack import: %s is refused: %s: %s\n", file,
                api_import_path_text(&res->where, path, sizeof(path)), res->msg);
        return MT_EXIT_FAIL;
    case API_IMPORT_CONFLICT:
    case API_IMPORT_OK:
        break;
    }
    print_notes("Warnings", res->warnings, res->n_warnings, res->total_warnings, false);
    print_notes("Persons already here", res->conflicts, res->n_conflicts, res->total_conflicts,
                true);
    const char *verb = res->imported ? "Imported" : "Would import";
    if (res->fault == API_IMPORT_CONFLICT) {
        fprintf(stderr, "meditrack import: %s\n", res->msg);
        fprintf(stderr, "(use --on-conflict add to add them as other persons)\n");
        return MT_EXIT_FAIL;
    }
    printf("%s %lld person(s), %lld medication(s), %lld dose(s) and %lld dose(s) of deleted "
           "medications from %s (format version %d)%s.\n",
           verb, (long long)res->persons, (long long)res->medications, (long long)res->doses,
           (long long)res->deleted_doses, file, res->version,
           dry_run ? "; nothing was changed (--dry-run)" : "");
    for (size_t i = 0; i < res->n_mapped; i++)
        printf("  person %lld of the document is person %lld here\n",
               (long long)res->mapped[i].document_id, (long long)res->mapped[i].id);
    return MT_EXIT_OK;
}

int cmd_import(int argc, char **argv, const struct mt_config *cfg)
{
    const char *file = NULL;
    bool dry_run = false;
    enum api_import_conflict mode = API_IMPORT_REFUSE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            import_usage(stdout);
            return MT_EXIT_OK;
        }
        if (strcmp(a, "--dry-run") == 0) {
            dry_run = true;
            continue;
        }
        if (strcmp(a, "--on-conflict") == 0 || strncmp(a, "--on-conflict=", 14) == 0) {
            const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
            if (v && strcmp(v, "refuse") == 0) {
                mode = API_IMPORT_REFUSE;
            } else if (v && strcmp(v, "add") == 0) {
                mode = API_IMPORT_ADD;
            } else {
                fprintf(stderr, "meditrack import: --on-conflict takes refuse or add\n");
                return MT_EXIT_USAGE;
            }
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "meditrack import: unknown option '%s'\n", a);
            import_usage(stderr);
            return MT_EXIT_USAGE;
        }
        if (file) {
            fprintf(stderr, "meditrack import: more than one FILE\n");
            return MT_EXIT_USAGE;
        }
        file = a;
    }
    if (!file) {
        fprintf(stderr, "meditrack import: FILE is required\n");
        import_usage(stderr);
        return MT_EXIT_USAGE;
    }
    /* The file is read twice (checked, then imported), so it must be a
     * regular file, not a pipe. */
    FILE *f = fopen(file, "rb");
    if (!f) {
        fprintf(stderr, "meditrack import: cannot open %s: %s\n", file, strerror(errno));
        return MT_EXIT_FAIL;
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "meditrack import: %s cannot be read twice (a pipe?): give a file\n", file);
        fclose(f);
        return MT_EXIT_FAIL;
    }
    struct db_conn *c = NULL;
    int rc = open_at_head("meditrack import", cfg, &c);
    if (rc != MT_EXIT_OK) {
        fclose(f);
        return rc;
    }
    struct api_import_src src = {.data = NULL, .len = 0, .file = f};
    struct api_import_result *res = mt_xmalloc(sizeof(*res));
    struct mt_err err = {0};
    /* The audit rows of the import name the command line as their actor,
     * as `meditrack user` and `meditrack token` do. */
    if (api_import_run(c, &cli_actor, &src, dry_run, mode, res, &err) < 0) {
        fprintf(stderr, "meditrack import: nothing was imported: %s\n", err.msg);
        rc = MT_EXIT_FAIL;
    } else {
        rc = report(file, res, dry_run);
    }
    free(res);
    db_close(c);
    fclose(f);
    return rc;
}
