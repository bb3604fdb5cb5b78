/* The portable record (docs/export-format.md): writing the versioned JSON
 * document of the whole record, or of one person, streamed in chunks to
 * whatever takes them (the HTTP reply of GET /api/v1/export, or the file of
 * `meditrack export`), and reading one back (`meditrack import`, POST
 * /api/v1/import): validation of the whole document with the JSON path of
 * the first problem, a preview, and the import in one transaction with new
 * ids. The command line and the HTTP handlers share these functions, so
 * both write and read exactly the same document. */
#ifndef MT_API_PORTABLE_H
#define MT_API_PORTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/err.h"

struct db_conn;
struct store_actor;

/* The document's name and the newest major version this binary reads and
 * writes (it reads every version from 1). A version is raised only by a
 * change an older reader would misread; new optional fields keep it (older
 * readers ignore them with a warning). Version 2 (issue 15): the doses are
 * every dose, whatever its status, which a reader of version 1 would take
 * for taken doses (it would ignore "status" with a warning). Issue 16's
 * person timezone and medication schedule are optional members of version
 * 2: an older reader drops them with a warning and misreads nothing. */
#define API_EXPORT_FORMAT "meditrack-export"
#define API_EXPORT_VERSION 2

/* ---- writing ------------------------------------------------------------------------------ */

/* Where the document goes: begin is called once, just before the first
 * chunk, after the reads that can fail in an ordinary way (an unknown
 * person) have passed, so that an HTTP reply can still be an error until
 * then; write takes each chunk (about 32 KiB). Both return 0 or -1 with
 * err filled. begin may be NULL. */
struct api_export_out {
    int (*begin)(void *ctx, struct mt_err *err);
    int (*write)(void *ctx, const char *data, size_t len, struct mt_err *err);
    void *ctx;
};

struct api_export_counts {
    int64_t persons, medications, doses, deleted_doses, limits;
    int64_t unreadable_times;     /* timestamps the database could not read: exported as null */
    int64_t unreadable_schedules; /* stored schedules that do not read back: exported as null */
};

/* Writes the document of every person, or of person_id (has_person; then
 * MT_ENOTFOUND "Person not found" before anything is written), from one
 * snapshot of c. a holds the chunk buffer (about 64 KiB in all, however
 * long the record). counts (may be NULL) receives what was written. */
int api_export_write(struct db_conn *c, struct mt_arena *a, bool has_person, int64_t person_id,
                     const struct api_export_out *out, struct api_export_counts *counts,
                     struct mt_err *err);

/* ---- reading ------------------------------------------------------------------------------ */

/* Where the document comes from: a block of memory (a request body), or a
 * seekable file (it is read twice: once to check it, once to import it). */
struct api_import_src {
    const char *data;
    size_t len;
    FILE *file;
};

enum api_import_conflict {
    API_IMPORT_REFUSE, /* a person of the document who is already on the target refuses the import
                        */
    API_IMPORT_ADD,    /* such a person is added as another person all the same */
};

/* A refusal of the document, with where it is. */
enum api_import_fault {
    API_IMPORT_OK,
    API_IMPORT_SYNTAX,   /* not JSON (HTTP 400) */
    API_IMPORT_INVALID,  /* JSON, but not a valid document (HTTP 422) */
    API_IMPORT_NEWER,    /* a version newer than this binary reads (HTTP 422) */
    API_IMPORT_CONFLICT, /* persons already on the target (HTTP 409): see conflicts */
};

#define API_IMPORT_MAX_PATH 16
#define API_IMPORT_MAX_NOTES 50

/* A JSON path: members and array indexes from the document's root. */
struct api_import_path {
    struct {
        char key[40]; /* "" for an index */
        int64_t index;
    } seg[API_IMPORT_MAX_PATH];
    size_t n;
};

/* A note about one place of the document: a warning (an unknown field
 * ignored), or a conflict (a person already on the target). */
struct api_import_note {
    struct api_import_path path;
    char msg[200];
    int64_t existing_id; /* conflicts: the person on the target */
};

struct api_import_result {
    enum api_import_fault fault;
    char type[32];                /* the kind of fault, a word ("missing", "string_type", ...) */
    struct api_import_path where; /* of the fault */
    char msg[256];                /* the fault, in words */
    int64_t line, column;         /* API_IMPORT_SYNTAX: where, counting from 1 */
    int version;                  /* the document's version, once read */
    bool target_empty;            /* the target had no person before */
    /* What the document holds (and, after an import, what was created). */
    int64_t persons, medications, doses, deleted_doses, limits;
    /* Warnings and conflicts: the first API_IMPORT_MAX_NOTES of each, and
     * how many there were. */
    struct api_import_note warnings[API_IMPORT_MAX_NOTES];
    size_t n_warnings;
    int64_t total_warnings;
    struct api_import_note conflicts[API_IMPORT_MAX_NOTES];
    size_t n_conflicts;
    int64_t total_conflicts;
    /* After an import: the new id of each person, in document order (the
     * first API_IMPORT_MAX_NOTES). */
    struct {
        int64_t document_id, id;
    } mapped[API_IMPORT_MAX_NOTES];
    size_t n_mapped;
    bool imported;
};

/* Checks the whole document and compares its persons with the target's;
 * then, unless dry_run, imports it in one transaction (all or nothing):
 * every person, medication and dose gets a new id on the target, and the
 * references between them follow; each row created appends its audit row
 * (action "import") naming actor (NULL: anonymous). Returns 0 with res->fault saying whether
 * the document was refused (and res->imported whether it was imported), or
 * -1 with err for anything else (the database, the file). res is large:
 * allocate it, do not put it on a small stack. */
int api_import_run(struct db_conn *c, const struct store_actor *actor,
                   const struct api_import_src *src, bool dry_run,
                   enum api_import_conflict on_conflict, struct api_import_result *res,
                   struct mt_err *err);

/* The path as text: "$.persons[0].medications[2].name". Returns buf. */
char *api_import_path_text(const struct api_import_path *p, char *buf, size_t cap);

#endif
