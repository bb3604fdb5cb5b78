/* Checked parsers for text that comes from users, clients and files: they
 * reject empty strings, trailing junk and out-of-range values instead of
 * guessing. Inputs carry their length and need not be NUL-terminated. */
#ifndef MT_CORE_PARSE_H
#define MT_CORE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Decimal integer with optional sign, within [min, max]. */
int mt_parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out,
                 struct mt_err *err);
/* true/false/1/0/yes/no/on/off, case-insensitive. */
int mt_parse_bool(const char *s, size_t len, bool *out, struct mt_err *err);

#endif
