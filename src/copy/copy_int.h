/* Internals shared by the files of src/copy: one column value read in its
 * canonical form (canon.c), identifier quoting, and the helpers the copy,
 * the backups and the scheduler all use. Included by nothing outside
 * src/copy. */
#ifndef MT_COPY_COPY_INT_H
#define MT_COPY_COPY_INT_H

#include "copy/copy.h"
#include "core/buf.h"

/* One value of the current row, read through copy_field. For the text-like
 * classes (TEXT, BLOB, JSON) p/len are the raw bytes as stored, which is what
 * the target gets; canon (JSON only) is the canonical form that is summed.
 * For the others p/len is the canonical text, which is also what is bound
 * (as a number where the class is numeric). */
struct copy_field {
    bool null;
    const char *p;
    size_t len;
    int64_t i;   /* INT, BOOL */
    double d;    /* FLOAT, FLOAT4 */
    char *canon; /* JSON: malloc'ed canonical text, or NULL (then the raw text counts) */
    char buf[64];
};

/* Reads column i of st's current row as class cls of table.column (for
 * messages). Release with copy_field_release. MT_ECONFLICT when the value
 * cannot be represented exactly in its class. */
int copy_field_read(struct db_stmt *st, int i, enum copy_class cls, const char *table,
                    const char *column, struct copy_field *f, struct mt_err *err);
void copy_field_release(struct copy_field *f);
/* Appends f's canonical text (escaped; BLOB as \x and hex) to row. */
void copy_field_canon(const struct copy_field *f, enum copy_class cls, struct mt_buf *row);

/* Appends name quoted as an identifier of dialect d ("..." or `...`). */
void copy_quote_ident(struct mt_buf *b, enum db_dialect d, const char *name);

/* Now as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), for records and manifests. */
void copy_utc_now(char *buf, size_t cap);

#endif
