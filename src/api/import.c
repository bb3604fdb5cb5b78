/* Reading the portable record (api/portable.h, docs/export-format.md): one
 * walker over the document, pulled token by token (api/jsonpull.h) so that
 * a file of any size is read in bounded memory, run twice: first to check
 * the whole document (types, lengths, references, the order the format
 * prescribes, the version) and compare its persons with the target's, then,
 * unless it is a dry run, inside one write transaction to insert it with new
 * ids. Each kind of object has one field table below (person_fields,
 * medication_fields, dose_fields, and the small lists' limit_fields and
 * ingredient_fields): the fields of later format revisions are added there
 * and in the matching store_import_* row. Since issue 15 they hold the
 * dosing rules, ingredients and limits, and every dose with its status and
 * who recorded it; a document without them (as written before) imports as
 * before; so does one without issue 16's person timezone and medication
 * schedule, which are checked with the API's own code (core/tz.h,
 * core/schedule.h). Unknown members are skipped with a warning, so a document of a
 * later revision of the same version still imports. The import appends an
 * audit row for every row it creates, naming the importing actor. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonin.h"
#include "api/jsonpull.h"
#include "api/portable.h"
#include "core/schedule.h"
#include "core/tz.h"
#include "store/portable.h"

/* ---- the fields of each kind of object --------------------------------------------------------
 */

/* F_WORD: a text from choices. F_AMOUNT: a number above 0 and at most
 * 1,000,000 (the API's amounts). F_LIST: an array of at most hi objects
 * with the fields sub (the items' names must differ, as ingredient names
 * compare). F_SCHEDULE: a medication's schedule in the API's form, read
 * and checked by core/schedule.c, the code the API uses. */
enum fkind { F_TEXT, F_INT, F_BOOL, F_DATE, F_TIME, F_WORD, F_AMOUNT, F_LIST, F_SCHEDULE };

struct field {
    const char *name;
    enum fkind kind;
    bool required;
    bool nullable;
    size_t max_chars;           /* F_TEXT */
    int64_t lo, hi;             /* F_INT; F_LIST: hi items at most */
    const char *const *choices; /* F_WORD, NULL-terminated */
    const struct field *sub;    /* F_LIST */
    size_t n_sub;
};

/* VARCHAR(255) columns hold 255 characters on MariaDB; TEXT columns 65535
 * bytes, which any 16383 characters fit. */
#define SHORT 255
#define LONG 16383
#define ID_MAX INT64_C(2147483647)
/* The columns of units and of an override's rules. */
#define UNIT 32
#define RULES 64

/* An ingredient of a medication or of a dose's snapshot; a limit of a
 * person. Their name comes first (the duplicate check reads it there). */
enum { I_NAME, I_AMOUNT, I_UNIT, I_N };
static const struct field ingredient_fields[I_N] = {
    [I_NAME] = {"name", F_TEXT, true, false, SHORT, 0, 0, NULL, NULL, 0},
    [I_AMOUNT] = {"amount", F_AMOUNT, true, false, 0, 0, 0, NULL, NULL, 0},
    [I_UNIT] = {"unit", F_TEXT, true, false, UNIT, 0, 0, NULL, NULL, 0},
};
enum { L_NAME, L_MAX, L_UNIT, L_CREATED, L_UPDATED, L_N };
static const struct field limit_fields[L_N] = {
    [L_NAME] = {"name", F_TEXT, true, false, SHORT, 0, 0, NULL, NULL, 0},
    [L_MAX] = {"max_per_24h", F_AMOUNT, true, false, 0, 0, 0, NULL, NULL, 0},
    [L_UNIT] = {"unit", F_TEXT, true, false, UNIT, 0, 0, NULL, NULL, 0},
    [L_CREATED] = {"created_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
    [L_UPDATED] = {"updated_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
};
enum { SUB_MAX = 5 };
_Static_assert((int)I_N <= (int)SUB_MAX && (int)L_N <= (int)SUB_MAX,
               "SUB_MAX must hold the longest list item");
/* The API takes up to 20 ingredients; a person may have a limit for many. */
#define MAX_INGREDIENTS 100
#define MAX_LIMITS 1000

static const char *const windows[] = {"calendar_day", "rolling_24h", NULL};
static const char *const statuses[] = {"taken", "skipped", "entered_in_error", NULL};

enum {
    P_ID,
    P_FIRST,
    P_LAST,
    P_DOB,
    P_NOTES,
    P_DEFAULT,
    P_CREATED,
    P_UPDATED,
    P_TZ,
    P_LIMITS,
    P_N
};
/* The column of a person's zone (issue 16). */
#define TZ_NAME 64
static const struct field person_fields[P_N] = {
    [P_ID] = {"id", F_INT, true, false, 0, 1, INT64_MAX, NULL, NULL, 0},
    [P_FIRST] = {"first_name", F_TEXT, true, false, SHORT, 0, 0, NULL, NULL, 0},
    [P_LAST] = {"last_name", F_TEXT, false, true, SHORT, 0, 0, NULL, NULL, 0},
    [P_DOB] = {"date_of_birth", F_DATE, false, true, 0, 0, 0, NULL, NULL, 0},
    [P_NOTES] = {"notes", F_TEXT, false, true, LONG, 0, 0, NULL, NULL, 0},
    [P_DEFAULT] = {"is_default", F_BOOL, false, false, 0, 0, 0, NULL, NULL, 0},
    [P_CREATED] = {"created_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
    [P_UPDATED] = {"updated_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
    /* Issue 16; checked as the API checks it (finish_person). */
    [P_TZ] = {"timezone", F_TEXT, false, true, TZ_NAME, 0, 0, NULL, NULL, 0},
    [P_LIMITS] = {"ingredient_limits", F_LIST, false, true, 0, 0, MAX_LIMITS, NULL, limit_fields,
                  L_N},
};

/* max_doses_per_day takes any value a database may hold (the API allows 1
 * to 20 for new ones). The dosing rules are optional: without them a
 * medication gets the defaults (calendar_day, no interval, no amount). */
enum {
    M_ID,
    M_NAME,
    M_DOSAGE,
    M_FREQ,
    M_MAX,
    M_INSTR,
    M_WINDOW,
    M_INTERVAL,
    M_AMOUNT,
    M_UNIT,
    M_INGS,
    M_SCHED,
    M_CREATED,
    M_UPDATED,
    M_N
};
static const struct field medication_fields[M_N] = {
    [M_ID] = {"id", F_INT, false, false, 0, 1, INT64_MAX, NULL, NULL, 0},
    [M_NAME] = {"name", F_TEXT, true, false, SHORT, 0, 0, NULL, NULL, 0},
    [M_DOSAGE] = {"dosage", F_TEXT, true, false, SHORT, 0, 0, NULL, NULL, 0},
    [M_FREQ] = {"frequency", F_TEXT, true, false, SHORT, 0, 0, NULL, NULL, 0},
    [M_MAX] = {"max_doses_per_day", F_INT, true, false, 0, 0, ID_MAX, NULL, NULL, 0},
    [M_INSTR] = {"instructions", F_TEXT, false, true, LONG, 0, 0, NULL, NULL, 0},
    [M_WINDOW] = {"limit_window", F_WORD, false, false, 0, 0, 0, windows, NULL, 0},
    [M_INTERVAL] = {"min_interval_minutes", F_INT, false, true, 0, 1, 10080, NULL, NULL, 0},
    [M_AMOUNT] = {"dose_amount", F_AMOUNT, false, true, 0, 0, 0, NULL, NULL, 0},
    [M_UNIT] = {"dose_unit", F_TEXT, false, true, UNIT, 0, 0, NULL, NULL, 0},
    [M_INGS] = {"ingredients", F_LIST, false, true, 0, 0, MAX_INGREDIENTS, NULL, ingredient_fields,
                I_N},
    /* Issue 16: null or absent, taken as needed. */
    [M_SCHED] = {"schedule", F_SCHEDULE, false, true, 0, 0, 0, NULL, NULL, 0},
    [M_CREATED] = {"created_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
    [M_UPDATED] = {"updated_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
};

/* A dose of a document without a status is taken (the documents written
 * before issue 15 held taken doses only). recorded_by is the text of who
 * recorded it (an account's login, "anonymous"), kept as text: no account
 * of the target is needed or looked up. */
enum {
    D_ID,
    D_PERSON,
    D_NAME,
    D_TAKEN,
    D_STATUS,
    D_REASON,
    D_NOTE,
    D_BY,
    D_RECORDED,
    D_ORULE,
    D_OREASON,
    D_UPDATED,
    D_INGS,
    D_N
};
static const struct field dose_fields[D_N] = {
    [D_ID] = {"id", F_INT, false, false, 0, 1, INT64_MAX, NULL, NULL, 0},
    /* Doses of deleted medications only: the document id of the person. */
    [D_PERSON] = {"person_id", F_INT, false, true, 0, 1, INT64_MAX, NULL, NULL, 0},
    [D_NAME] = {"medication_name", F_TEXT, false, true, SHORT, 0, 0, NULL, NULL, 0},
    [D_TAKEN] = {"taken_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
    [D_STATUS] = {"status", F_WORD, false, false, 0, 0, 0, statuses, NULL, 0},
    [D_REASON] = {"status_reason", F_TEXT, false, true, LONG, 0, 0, NULL, NULL, 0},
    [D_NOTE] = {"note", F_TEXT, false, true, LONG, 0, 0, NULL, NULL, 0},
    [D_BY] = {"recorded_by", F_TEXT, false, true, SHORT, 0, 0, NULL, NULL, 0},
    [D_RECORDED] = {"recorded_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
    [D_ORULE] = {"override_rule", F_TEXT, false, true, RULES, 0, 0, NULL, NULL, 0},
    [D_OREASON] = {"override_reason", F_TEXT, false, true, LONG, 0, 0, NULL, NULL, 0},
    [D_UPDATED] = {"updated_at", F_TIME, false, true, 0, 0, 0, NULL, NULL, 0},
    [D_INGS] = {"ingredients", F_LIST, false, true, 0, 0, MAX_INGREDIENTS, NULL, ingredient_fields,
                I_N},
};

enum { MAX_FIELDS = 16 };
_Static_assert((int)P_N <= (int)MAX_FIELDS && (int)M_N <= (int)MAX_FIELDS &&
                   (int)D_N <= (int)MAX_FIELDS,
               "MAX_FIELDS must hold the longest field table");

struct value {
    bool set;  /* the member was there */
    bool null; /* its value was null */
    char *s;   /* F_TEXT, F_WORD: malloc'ed */
    int64_t i;
    bool b;
    struct mt_date date;
    int64_t us;
    double d; /* F_AMOUNT */
    /* F_LIST: n_items items of SUB_MAX values each, malloc'ed. */
    struct value *items;
    size_t n_items;
    struct mt_schedule *sched; /* F_SCHEDULE: malloc'ed */
};

/* ---- the walker ----------------------------------------------------------------------------- */

/* A document person, for references and the conflict rule. */
struct doc_person {
    int64_t doc_id;
    int64_t new_id; /* pass 2 */
};

struct walk {
    struct api_jpull *jp;
    struct api_import_result *res;
    struct api_import_path path;
    bool importing; /* pass 2 */
    enum api_import_conflict on_conflict;
    struct db_conn *c;
    const struct store_import_existing *existing;
    size_t n_existing;
    /* The document's persons, in document order (looked up by doc id). */
    struct doc_person *persons;
    size_t n_persons, cap_persons;
    int64_t defaults;            /* persons marked is_default, so far */
    int64_t doc_defaults;        /* in the whole document (from pass 1) */
    int64_t cur_person, cur_med; /* pass 2: the target's ids */
    /* Pass 2: doses waiting for their INSERT, with the values their
     * strings point into and their ingredients. */
    struct store_import_dose_row batch[STORE_IMPORT_DOSE_BATCH];
    struct value batch_values[STORE_IMPORT_DOSE_BATCH][D_N];
    struct store_ingredient *batch_ings[STORE_IMPORT_DOSE_BATCH];
    size_t n_batch;
    /* Pass 2: the audit rows of what the import creates, and who imports. */
    struct store_audit_batch *audit;
    const struct store_actor *actor;
    /* The document's counts, when it states them. */
    bool has_counts;
    int64_t counts[5];
    /* A conflict found in pass 2 (a person added since pass 1). */
    bool late_conflict;
    struct mt_err *err;
};

static void path_push_key(struct walk *x, const char *key)
{
    if (x->path.n < API_IMPORT_MAX_PATH) {
        /* A longer (unknown) member's name is cut in the path. */
        char *k = x->path.seg[x->path.n].key;
        size_t n = strnlen(key, sizeof(x->path.seg[0].key) - 1);
        memcpy(k, key, n);
        k[n] = '\0';
        x->path.seg[x->path.n].index = -1;
    }
    x->path.n++;
}

static void path_push_index(struct walk *x, int64_t i)
{
    if (x->path.n < API_IMPORT_MAX_PATH) {
        x->path.seg[x->path.n].key[0] = '\0';
        x->path.seg[x->path.n].index = i;
    }
    x->path.n++;
}

static void path_pop(struct walk *x)
{
    x->path.n--;
}

static struct api_import_path path_now(const struct walk *x)
{
    struct api_import_path p = x->path;
    if (p.n > API_IMPORT_MAX_PATH)
        p.n = API_IMPORT_MAX_PATH;
    return p;
}

char *api_import_path_text(const struct api_import_path *p, char *buf, size_t cap)
{
    size_t len = 0;
    int n = snprintf(buf, cap, "$");
    len = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < p->n && len < cap; i++) {
        if (p->seg[i].key[0])
            n = snprintf(buf + len, cap - len, ".%s", p->seg[i].key);
        else
            n = snprintf(buf + len, cap - len, "[%lld]", (long long)p->seg[i].index);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    return buf;
}

/* The document is refused: the first problem, where it is. Returns false. */
__attribute__((format(printf, 3, 4))) static bool invalid(struct walk *x, const char *type,
                                                          const char *fmt, ...)
{
    struct api_import_result *r = x->res;
    if (r->fault != API_IMPORT_OK)
        return false;
    r->fault = API_IMPORT_INVALID;
    snprintf(r->type, sizeof(r->type), "%s", type);
    r->where = path_now(x);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    return false;
}

/* The reader met something that is not JSON. */
static bool syntax(struct walk *x)
{
    struct api_import_result *r = x->res;
    if (r->fault != API_IMPORT_OK)
        return false;
    r->fault = API_IMPORT_SYNTAX;
    snprintf(r->type, sizeof(r->type), "json_invalid");
    r->where = path_now(x);
    snprintf(r->msg, sizeof(r->msg), "%s", x->jp->msg);
    r->line = x->jp->err_line;
    r->column = x->jp->err_column;
    return false;
}

static void note(struct api_import_note *list, size_t *n, int64_t *total,
                 const struct api_import_path *path, int64_t existing_id, const char *msg)
{
    (*total)++;
    if (*n >= API_IMPORT_MAX_NOTES)
        return;
    struct api_import_note *e = &list[(*n)++];
    e->path = *path;
    e->existing_id = existing_id;
    snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

static void warn(struct walk *x, const char *msg)
{
    /* Pass 2 reads the same document: its warnings were noted in pass 1. */
    if (x->importing)
        return;
    struct api_import_path p = path_now(x);
    note(x->res->warnings, &x->res->n_warnings, &x->res->total_warnings, &p, 0, msg);
}

/* The next token; false (with the fault) when the input is not JSON. */
static bool next(struct walk *x, enum api_jtok *t)
{
    *t = api_jp_next(x->jp);
    if (*t == API_JT_ERROR)
        return syntax(x);
    return true;
}

/* Skips a member's value that is not read, with a warning. */
static bool skip_unknown(struct walk *x, const char *key)
{
    enum api_jtok t;
    path_push_key(x, key);
    warn(x, "unknown member, ignored");
    bool ok = next(x, &t) && (api_jp_skip(x->jp, t) || syntax(x));
    path_pop(x);
    return ok;
}

/* ---- values ---------------------------------------------------------------------------------- */

/* An instant in RFC 3339 with a time zone. */
static bool parse_instant(const char *s, size_t len, int64_t *us)
{
    struct mt_timestamp_text t;
    if (mt_scan_timestamp(s, len, MT_TS_SPEEDATE, &t) || !t.has_time || t.zone_len == 0)
        return false;
    int64_t v = mt_date_to_days(t.date) * MT_USEC_PER_DAY +
                ((int64_t)t.hour * 3600 + t.minute * 60 + t.second) * MT_USEC_PER_SEC + t.usec -
                (int64_t)t.zone_min * 60 * MT_USEC_PER_SEC;
    if (!mt_instant_valid(v))
        return false;
    *us = v;
    return true;
}

static bool read_value(struct walk *x, const struct field *f, struct value *v);
static bool check_required(struct walk *x, const struct field *fields, const struct value *v,
                           size_t n, const char *before);
static const struct field *find_field(const struct field *fields, size_t n, const char *key,
                                      size_t *at);

/* Two items of a list with the same name (as ingredient names compare:
 * store_name_key) would break the target's unique keys: the second is
 * refused, with its path. */
static bool list_unique(struct walk *x, const struct value *items, size_t n)
{
    struct mt_arena *a = mt_arena_new((size_t)4 << 20);
    const char **keys = mt_arena_calloc(a, n ? n : 1, sizeof(*keys));
    bool ok = keys != NULL;
    for (size_t i = 0; i < n && ok; i++) {
        keys[i] = store_name_key(a, items[i * SUB_MAX].s);
        if (!keys[i]) {
            ok = invalid(x, "internal", "out of memory");
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(keys[i], keys[j]) == 0) {
                path_push_index(x, (int64_t)i);
                path_push_key(x, "name");
                ok = invalid(x, "duplicate_name", "the name is already item %zu's", j);
                path_pop(x);
                path_pop(x);
                break;
            }
        }
    }
    mt_arena_free(a);
    return ok;
}

/* The items of an F_LIST value: objects of the fields f->sub. */
static bool read_list(struct walk *x, const struct field *f, struct value *v)
{
    enum api_jtok t;
    size_t cap = 0;
    for (int64_t i = 0;; i++) {
        if (!next(x, &t))
            return false;
        if (t == API_JT_ARR_END)
            break;
        path_push_index(x, i);
        if (t != API_JT_OBJ) {
            invalid(x, "object_type", "expected an object");
            path_pop(x);
            return false;
        }
        if (v->n_items >= (size_t)f->hi) {
            invalid(x, "too_many", "at most %lld items", (long long)f->hi);
            path_pop(x);
            return false;
        }
        v->items = mt_xgrow(v->items, v->n_items, &cap, sizeof(*v->items) * SUB_MAX);
        struct value *item = &v->items[v->n_items * SUB_MAX];
        memset(item, 0, sizeof(*item) * SUB_MAX);
        v->n_items++;
        bool ok = true;
        while (ok) {
            if (!next(x, &t)) {
                ok = false;
                break;
            }
            if (t == API_JT_OBJ_END)
                break;
            char key[64];
            snprintf(key, sizeof(key), "%s", x->jp->str);
            size_t at;
            const struct field *sf = find_field(f->sub, f->n_sub, key, &at);
            if (!sf) {
                ok = skip_unknown(x, key);
                continue;
            }
            path_push_key(x, key);
            ok = read_value(x, sf, &item[at]);
            path_pop(x);
        }
        if (ok)
            ok = check_required(x, f->sub, item, f->n_sub, NULL);
        path_pop(x);
        if (!ok)
            return false;
    }
    return list_unique(x, v->items, v->n_items);
}

/* A schedule is a handful of tokens; these bound what a document can make
 * the reader build before core/schedule.c refuses it. */
#define TREE_MAX_TOKENS 256
#define TREE_MAX_DEPTH 4

/* Builds the jansson value whose first token t was just read (its place is
 * on the path), for core/schedule.c to read. *budget counts the tokens
 * left. NULL, with the fault, when the input is not JSON or too large. */
static json_t *read_tree(struct walk *x, enum api_jtok t, int depth, int *budget)
{
    struct api_jpull *jp = x->jp;
    if (--*budget < 0 || depth > TREE_MAX_DEPTH) {
        invalid(x, "too_large", "too large or too deeply nested for a schedule");
        return NULL;
    }
    switch (t) {
    case API_JT_STR:
        if (memchr(jp->str, '\0', jp->str_len)) {
            invalid(x, "string_nul", "must not contain U+0000");
            return NULL;
        }
        return json_stringn(jp->str, jp->str_len);
    case API_JT_INT:
        return json_integer((json_int_t)jp->i);
    case API_JT_NUM:
        return json_real(jp->d);
    case API_JT_TRUE:
        return json_true();
    case API_JT_FALSE:
        return json_false();
    case API_JT_NULL:
        return json_null();
    case API_JT_ARR: {
        json_t *a = json_array();
        for (int64_t i = 0;; i++) {
            enum api_jtok u;
            if (!next(x, &u)) {
                json_decref(a);
                return NULL;
            }
            if (u == API_JT_ARR_END)
                return a;
            path_push_index(x, i);
            json_t *item = read_tree(x, u, depth + 1, budget);
            path_pop(x);
            if (!item || json_array_append_new(a, item) < 0) {
                json_decref(a);
                return NULL;
            }
        }
    }
    case API_JT_OBJ: {
        json_t *o = json_object();
        for (;;) {
            enum api_jtok u;
            if (!next(x, &u)) {
                json_decref(o);
                return NULL;
            }
            if (u == API_JT_OBJ_END)
                return o;
            char key[64];
            snprintf(key, sizeof(key), "%s", jp->str);
            path_push_key(x, key);
            json_t *item = NULL;
            if (json_object_get(o, jp->str))
                invalid(x, "duplicate", "the member appears twice");
            else if (next(x, &u))
                item = read_tree(x, u, depth + 1, budget);
            path_pop(x);
            if (!item || json_object_set_new(o, key, item) < 0) {
                json_decref(o);
                return NULL;
            }
        }
    }
    default:
        syntax(x);
        return NULL;
    }
}

/* A schedule in the API's form (the object's first token t was just
 * read), checked by mt_schedule_from_json as the API checks it. */
static bool read_schedule(struct walk *x, enum api_jtok t, struct value *v)
{
    if (t != API_JT_OBJ)
        return invalid(x, "object_type",
                       "expected a schedule (an object with \"times\" and \"days\") or null");
    int budget = TREE_MAX_TOKENS;
    json_t *j = read_tree(x, t, 0, &budget);
    if (!j)
        return false;
    struct mt_schedule s;
    struct mt_err err = {0};
    int rc = mt_schedule_from_json(j, &s, &err);
    json_decref(j);
    if (rc < 0)
        return invalid(x, "schedule", "%s", err.msg);
    v->sched = mt_xmalloc(sizeof(*v->sched));
    *v->sched = s;
    return true;
}

/* Reads the value of field f (its key is on the path) into v. */
static bool read_value(struct walk *x, const struct field *f, struct value *v)
{
    enum api_jtok t;
    if (!next(x, &t))
        return false;
    if (v->set)
        return invalid(x, "duplicate", "the member appears twice");
    v->set = true;
    if (t == API_JT_NULL) {
        if (!f->nullable)
            return invalid(x, "null_not_allowed", "must not be null");
        v->null = true;
        return true;
    }
    struct api_jpull *jp = x->jp;
    switch (f->kind) {
    case F_TEXT:
        if (t != API_JT_STR)
            return invalid(x, "string_type", "expected a string");
        if (memchr(jp->str, '\0', jp->str_len))
            return invalid(x, "string_nul", "must not contain U+0000");
        if (api_utf8_chars(jp->str, jp->str_len) > f->max_chars)
            return invalid(x, "string_too_long", "longer than %zu characters", f->max_chars);
        v->s = mt_xstrndup(jp->str, jp->str_len);
        return true;
    case F_INT:
        if (t != API_JT_INT)
            return invalid(x, "int_type", "expected an integer");
        if (jp->i < f->lo || jp->i > f->hi)
            return invalid(x, "out_of_range", "expected an integer from %lld to %lld, got %lld",
                           (long long)f->lo, (long long)f->hi, (long long)jp->i);
        v->i = jp->i;
        return true;
    case F_BOOL:
        if (t != API_JT_TRUE && t != API_JT_FALSE)
            return invalid(x, "bool_type", "expected true or false");
        v->b = t == API_JT_TRUE;
        return true;
    case F_DATE:
        if (t != API_JT_STR || mt_parse_date(jp->str, jp->str_len, &v->date) < 0)
            return invalid(x, "date_format", "expected a date YYYY-MM-DD");
        return true;
    case F_TIME:
        if (t != API_JT_STR || !parse_instant(jp->str, jp->str_len, &v->us))
            return invalid(x, "datetime_format",
                           "expected an RFC 3339 timestamp with a time zone between years 1 and "
                           "9999, e.g. 2025-05-17T05:35:37Z");
        return true;
    case F_WORD:
        if (t == API_JT_STR)
            for (size_t i = 0; f->choices[i]; i++)
                if (strlen(f->choices[i]) == jp->str_len &&
                    memcmp(f->choices[i], jp->str, jp->str_len) == 0) {
                    v->s = mt_xstrdup(f->choices[i]);
                    return true;
                }
        return f->choices[2]
                   ? invalid(x, "enum", "expected one of \"%s\", \"%s\", \"%s\"", f->choices[0],
                             f->choices[1], f->choices[2])
                   : invalid(x, "enum", "expected \"%s\" or \"%s\"", f->choices[0], f->choices[1]);
    case F_AMOUNT:
        if (t == API_JT_INT)
            v->d = (double)jp->i;
        else if (t == API_JT_NUM)
            v->d = jp->d;
        else
            return invalid(x, "number_type", "expected a number");
        if (!(v->d > 0 && v->d <= 1000000))
            return invalid(x, "out_of_range", "expected a number above 0 and at most 1000000");
        return true;
    case F_LIST:
        if (t != API_JT_ARR)
            return invalid(x, "array_type", "expected an array");
        return read_list(x, f, v);
    case F_SCHEDULE:
        return read_schedule(x, t, v);
    }
    return invalid(x, "internal", "unknown field kind");
}

static void values_release(struct value *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].s);
        for (size_t k = 0; k < v[i].n_items; k++)
            values_release(&v[i].items[k * SUB_MAX], SUB_MAX);
        free(v[i].items);
        free(v[i].sched);
        v[i] = (struct value){0};
    }
}

static const struct field *find_field(const struct field *fields, size_t n, const char *key,
                                      size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, key) == 0) {
            *at = i;
            return &fields[i];
        }
    return NULL;
}

/* The required fields are there (the path is the object's); before is the
 * nested array's name when they are checked as it starts. */
static bool check_required(struct walk *x, const struct field *fields, const struct value *v,
                           size_t n, const char *before)
{
    for (size_t i = 0; i < n; i++) {
        if (fields[i].required && !v[i].set) {
            path_push_key(x, fields[i].name);
            if (before)
                invalid(x, "missing", "required member missing (it must come before \"%s\")",
                        before);
            else
                invalid(x, "missing", "required member missing");
            path_pop(x);
            return false;
        }
    }
    return true;
}

static struct store_import_time time_of(const struct value *v)
{
    return (struct store_import_time){v->set && !v->null, v->us};
}

static const char *text_of(const struct value *v)
{
    return v->set && !v->null ? v->s : NULL;
}

/* ---- an object with fields and one nested array ------------------------------------------ */

/* What to do with an object once its fields are read (before its nested
 * array, or at its end when it has none). */
typedef bool (*finish_fn)(struct walk *x, struct value *v);
/* Reads the nested array's items. */
typedef bool (*items_fn)(struct walk *x);

struct object_kind {
    const char *what; /* "a person", ... for messages */
    const struct field *fields;
    size_t n_fields;
    const char *nested; /* the nested array's member, or NULL */
    finish_fn finish;
    items_fn items;
};

static bool walk_object(struct walk *x, const struct object_kind *k, enum api_jtok first);

/* Reads an array (the member named what) of objects of kind k. Each item's
 * index is on the path from its first token on, so that an error in it,
 * even a syntax error, names the item. */
static bool walk_array(struct walk *x, const char *what, const struct object_kind *k)
{
    enum api_jtok t;
    if (!next(x, &t))
        return false;
    if (t != API_JT_ARR)
        return invalid(x, "array_type", "expected an array of %s", what);
    for (int64_t i = 0;; i++) {
        path_push_index(x, i);
        bool ok = next(x, &t) && (t == API_JT_ARR_END || walk_object(x, k, t));
        path_pop(x);
        if (!ok || t == API_JT_ARR_END)
            return ok;
    }
}

/* Reads one object of kind k whose first token (first) was just read;
 * leaves the reader after its end. */
static bool walk_object(struct walk *x, const struct object_kind *k, enum api_jtok first)
{
    if (first != API_JT_OBJ)
        return invalid(x, "object_type", "expected %s (an object)", k->what);
    struct value v[MAX_FIELDS] = {0};
    bool finished = false, ok = true;
    enum api_jtok t;
    while (ok) {
        if (!next(x, &t)) {
            ok = false;
            break;
        }
        if (t == API_JT_OBJ_END)
            break;
        char key[64];
        snprintf(key, sizeof(key), "%s", x->jp->str);
        size_t at;
        const struct field *f = find_field(k->fields, k->n_fields, x->jp->str, &at);
        if (k->nested && strcmp(x->jp->str, k->nested) == 0) {
            if (finished) {
                path_push_key(x, key);
                ok = invalid(x, "duplicate", "the member appears twice");
                path_pop(x);
                break;
            }
            ok = check_required(x, k->fields, v, k->n_fields, k->nested) && k->finish(x, v);
            finished = true;
            if (ok) {
                path_push_key(x, key);
                ok = k->items(x);
                path_pop(x);
            }
        } else if (f) {
            path_push_key(x, key);
            if (finished)
                ok = invalid(x, "member_order", "must come before \"%s\"", k->nested);
            else
                ok = read_value(x, f, &v[at]);
            path_pop(x);
        } else {
            ok = skip_unknown(x, key);
        }
    }
    if (ok && !finished)
        ok = check_required(x, k->fields, v, k->n_fields, NULL) && k->finish(x, v);
    values_release(v, k->n_fields);
    return ok;
}

/* ---- doses ------------------------------------------------------------------------------------
 */

/* Frees what the waiting doses hold. */
static void batch_release(struct walk *x)
{
    for (size_t i = 0; i < x->n_batch; i++) {
        values_release(x->batch_values[i], D_N);
        free(x->batch_ings[i]);
        x->batch_ings[i] = NULL;
    }
    x->n_batch = 0;
}

static bool flush_doses(struct walk *x)
{
    if (x->n_batch == 0)
        return true;
    int rc = store_import_doses(x->c, x->audit, x->batch, x->n_batch, x->err);
    batch_release(x);
    return rc == 0;
}

/* The items of an F_LIST of ingredients as the store takes them (pointing
 * into v's strings), malloc'ed; NULL when there are none. */
static struct store_ingredient *ingredients_of(const struct value *v, size_t *n)
{
    *n = v->set && !v->null ? v->n_items : 0;
    if (*n == 0)
        return NULL;
    struct store_ingredient *g = mt_xcalloc(*n, sizeof(*g));
    for (size_t i = 0; i < *n; i++) {
        const struct value *item = &v->items[i * SUB_MAX];
        g[i].name = item[I_NAME].s;
        g[i].amount = item[I_AMOUNT].d;
        g[i].unit = item[I_UNIT].s;
    }
    return g;
}

static enum store_dose_status status_of(const struct value *v)
{
    if (!v->set || !v->s)
        return STORE_TAKEN;
    if (strcmp(v->s, "skipped") == 0)
        return STORE_SKIPPED;
    if (strcmp(v->s, "entered_in_error") == 0)
        return STORE_ENTERED_IN_ERROR;
    return STORE_TAKEN;
}

static bool add_dose(struct walk *x, bool has_med, bool has_person, int64_t person, struct value *v)
{
    if (!x->importing)
        return true;
    size_t i = x->n_batch;
    /* The batch keeps the values (and so their strings) until its INSERT. */
    struct value *kept = x->batch_values[i];
    memcpy(kept, v, sizeof(*kept) * D_N);
    memset(v, 0, sizeof(*v) * D_N);
    struct store_import_dose_row *d = &x->batch[i];
    memset(d, 0, sizeof(*d));
    d->has_medication = has_med;
    d->medication_id = x->cur_med;
    d->has_person = has_person;
    d->person_id = person;
    d->medication_name = text_of(&kept[D_NAME]);
    d->taken_at = time_of(&kept[D_TAKEN]);
    d->status = status_of(&kept[D_STATUS]);
    d->status_reason = text_of(&kept[D_REASON]);
    d->note = text_of(&kept[D_NOTE]);
    d->recorded_by = text_of(&kept[D_BY]);
    d->recorded_at = time_of(&kept[D_RECORDED]);
    d->override_rule = text_of(&kept[D_ORULE]);
    d->override_reason = text_of(&kept[D_OREASON]);
    d->updated_at = time_of(&kept[D_UPDATED]);
    x->batch_ings[i] = ingredients_of(&kept[D_INGS], &d->n_ingredients);
    d->ingredients = x->batch_ings[i];
    x->n_batch++;
    if (x->n_batch == STORE_IMPORT_DOSE_BATCH)
        return flush_doses(x);
    return true;
}

static bool finish_dose(struct walk *x, struct value *v)
{
    if (v[D_PERSON].set) {
        path_push_key(x, "person_id");
        invalid(x, "unexpected_member",
                "only a dose of a deleted medication names its person (here it is the "
                "medication's)");
        path_pop(x);
        return false;
    }
    x->res->doses++;
    return add_dose(x, true, true, x->cur_person, v);
}

static struct doc_person *find_doc_person(struct walk *x, int64_t doc_id)
{
    for (size_t i = 0; i < x->n_persons; i++)
        if (x->persons[i].doc_id == doc_id)
            return &x->persons[i];
    return NULL;
}

static bool finish_deleted_dose(struct walk *x, struct value *v)
{
    bool has_person = v[D_PERSON].set && !v[D_PERSON].null;
    int64_t person = 0;
    if (has_person) {
        struct doc_person *p = find_doc_person(x, v[D_PERSON].i);
        if (!p) {
            path_push_key(x, "person_id");
            invalid(x, "unknown_person", "no person of the document has id %lld",
                    (long long)v[D_PERSON].i);
            path_pop(x);
            return false;
        }
        person = p->new_id;
    }
    x->res->deleted_doses++;
    return add_dose(x, false, has_person, person, v);
}

static const struct object_kind dose_kind = {"a dose", dose_fields, D_N, NULL, finish_dose, NULL};
static const struct object_kind deleted_dose_kind = {"a dose", dose_fields,         D_N,
                                                     NULL,     finish_deleted_dose, NULL};

/* ---- medications ------------------------------------------------------------------------------
 */

static bool doses_items(struct walk *x)
{
    return walk_array(x, "doses", &dose_kind);
}

static bool finish_medication(struct walk *x, struct value *v)
{
    x->res->medications++;
    if (!x->importing)
        return true;
    struct store_import_medication_row m = {
        .person_id = x->cur_person,
        .name = v[M_NAME].s,
        .dosage = v[M_DOSAGE].s,
        .frequency = v[M_FREQ].s,
        .max_doses_per_day = v[M_MAX].i,
        .instructions = text_of(&v[M_INSTR]),
        .created_at = time_of(&v[M_CREATED]),
        .updated_at = time_of(&v[M_UPDATED]),
        .rolling_24h = v[M_WINDOW].set && strcmp(v[M_WINDOW].s, "rolling_24h") == 0,
        .min_interval_minutes = v[M_INTERVAL].set && !v[M_INTERVAL].null ? v[M_INTERVAL].i : 0,
        .has_dose_amount = v[M_AMOUNT].set && !v[M_AMOUNT].null,
        .dose_amount = v[M_AMOUNT].d,
        .dose_unit = text_of(&v[M_UNIT]),
        .schedule = v[M_SCHED].set && !v[M_SCHED].null ? v[M_SCHED].sched : NULL,
    };
    struct store_ingredient *ings = ingredients_of(&v[M_INGS], &m.n_ingredients);
    m.ingredients = ings;
    int rc = store_import_medication(x->c, x->audit, &m, &x->cur_med, x->err);
    free(ings);
    return rc == 0;
}

static const struct object_kind medication_kind = {"a medication", medication_fields, M_N,
                                                   "doses",        finish_medication, doses_items};

/* ---- persons ----------------------------------------------------------------------------------
 */

static bool medications_items(struct walk *x)
{
    return walk_array(x, "medications", &medication_kind);
}

static bool same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The target's person with the same first name, last name and date of
 * birth, or NULL. */
static const struct store_import_existing *conflict_of(struct walk *x, struct value *v)
{
    char dob[16];
    const char *d =
        v[P_DOB].set && !v[P_DOB].null ? mt_format_date(v[P_DOB].date, dob, sizeof(dob)) : NULL;
    for (size_t i = 0; i < x->n_existing; i++) {
        const struct store_import_existing *e = &x->existing[i];
        if (same_text(e->first_name, v[P_FIRST].s) &&
            same_text(e->last_name, text_of(&v[P_LAST])) && same_text(e->date_of_birth, d))
            return e;
    }
    return NULL;
}

/* Pass 2: the person's ingredient limits. */
static bool import_limits(struct walk *x, const struct value *v)
{
    size_t n = v->set && !v->null ? v->n_items : 0;
    if (n == 0)
        return true;
    struct store_import_limit_row *l = mt_xcalloc(n, sizeof(*l));
    for (size_t i = 0; i < n; i++) {
        const struct value *item = &v->items[i * SUB_MAX];
        l[i].name = item[L_NAME].s;
        l[i].max_per_24h = item[L_MAX].d;
        l[i].unit = item[L_UNIT].s;
        l[i].created_at = time_of(&item[L_CREATED]);
        l[i].updated_at = time_of(&item[L_UPDATED]);
    }
    int rc = store_import_limits(x->c, x->audit, x->cur_person, l, n, x->err);
    free(l);
    return rc == 0;
}

/* The person's zone, checked as the API checks it (a name this server's
 * zone files know); an empty one is none, as in the API. */
static bool check_timezone(struct walk *x, const struct value *v)
{
    const char *name = text_of(v);
    if (!name || !name[0])
        return true;
    struct mt_tz z;
    struct mt_err err = {0};
    if (mt_tz_name_ok(name) && mt_tz_load(name, &z, &err) == 0)
        return true;
    path_push_key(x, "timezone");
    invalid(x, "timezone",
            "not a time zone this server knows (an IANA name such as Europe/Berlin), got \"%.64s\"",
            name);
    path_pop(x);
    return false;
}

static bool finish_person(struct walk *x, struct value *v)
{
    struct api_import_result *r = x->res;
    if (!check_timezone(x, &v[P_TZ]))
        return false;
    if (find_doc_person(x, v[P_ID].i)) {
        path_push_key(x, "id");
        invalid(x, "duplicate_id", "another person of the document has id %lld",
                (long long)v[P_ID].i);
        path_pop(x);
        return false;
    }
    bool is_default = v[P_DEFAULT].set && v[P_DEFAULT].b;
    if (is_default && ++x->defaults > 1) {
        path_push_key(x, "is_default");
        invalid(x, "two_defaults", "only one person of the document may be the default");
        path_pop(x);
        return false;
    }
    x->persons = mt_xgrow(x->persons, x->n_persons, &x->cap_persons, sizeof(*x->persons));
    struct doc_person *dp = &x->persons[x->n_persons++];
    dp->doc_id = v[P_ID].i;
    dp->new_id = 0;
    r->persons++;
    if (v[P_LIMITS].set && !v[P_LIMITS].null)
        r->limits += (int64_t)v[P_LIMITS].n_items;

    const struct store_import_existing *e = conflict_of(x, v);
    if (e && !x->importing) {
        struct api_import_path p = path_now(x);
        note(r->conflicts, &r->n_conflicts, &r->total_conflicts, &p, e->id,
             x->on_conflict == API_IMPORT_ADD
                 ? "a person with this name and date of birth is already on the target: added "
                   "as another person"
                 : "a person with this name and date of birth is already on the target");
    }
    if (!x->importing) {
        if (is_default && !r->target_empty)
            warn(x, "is_default ignored: the target already has its default person");
        return true;
    }
    if (e && x->on_conflict == API_IMPORT_REFUSE) {
        /* Added on the target since the check: refuse, and roll back. */
        x->late_conflict = true;
        mt_fail(x->err, MT_ECONFLICT, "a person of the document is already on the target");
        return false;
    }
    /* On an empty target the document's default stays the default (the
     * first person when the document names none); otherwise the target
     * keeps its own. */
    bool make_default =
        r->target_empty && (is_default || (x->doc_defaults == 0 && r->persons == 1));
    struct store_import_person_row row = {
        .first_name = v[P_FIRST].s,
        .last_name = text_of(&v[P_LAST]),
        .has_dob = v[P_DOB].set && !v[P_DOB].null,
        .dob = v[P_DOB].date,
        .notes = text_of(&v[P_NOTES]),
        .timezone = text_of(&v[P_TZ]) && v[P_TZ].s[0] ? v[P_TZ].s : NULL,
        .is_default = make_default,
        .created_at = time_of(&v[P_CREATED]),
        .updated_at = time_of(&v[P_UPDATED]),
    };
    if (store_import_person(x->c, x->audit, &row, &x->cur_person, x->err) < 0)
        return false;
    if (!import_limits(x, &v[P_LIMITS]))
        return false;
    dp->new_id = x->cur_person;
    if (r->n_mapped < API_IMPORT_MAX_NOTES) {
        r->mapped[r->n_mapped].document_id = dp->doc_id;
        r->mapped[r->n_mapped].id = x->cur_person;
        r->n_mapped++;
    }
    return true;
}

static const struct object_kind person_kind = {"a person",    person_fields, P_N,
                                               "medications", finish_person, medications_items};

/* ---- the document -----------------------------------------------------------------------------
 */

enum { N_COUNTS = 5 };
static const char *const count_names[N_COUNTS] = {"persons", "medications", "doses",
                                                  "deleted_medication_doses", "ingredient_limits"};

static bool read_counts(struct walk *x)
{
    enum api_jtok t;
    if (!next(x, &t))
        return false;
    if (t != API_JT_OBJ)
        return invalid(x, "object_type", "expected an object of counts");
    x->has_counts = true;
    for (int k = 0; k < N_COUNTS; k++)
        x->counts[k] = -1;
    for (;;) {
        if (!next(x, &t))
            return false;
        if (t == API_JT_OBJ_END)
            return true;
        char key[64];
        snprintf(key, sizeof(key), "%s", x->jp->str);
        int k = 0;
        while (k < N_COUNTS && strcmp(count_names[k], key) != 0)
            k++;
        if (k == N_COUNTS) {
            if (!skip_unknown(x, key))
                return false;
            continue;
        }
        path_push_key(x, key);
        if (!next(x, &t))
            return false;
        if (t != API_JT_INT || x->jp->i < 0) {
            path_pop(x);
            return invalid(x, "int_type", "expected a count (an integer, 0 or more)");
        }
        x->counts[k] = x->jp->i;
        path_pop(x);
    }
}

static bool check_counts(struct walk *x)
{
    if (!x->has_counts)
        return true;
    const int64_t got[N_COUNTS] = {x->res->persons, x->res->medications, x->res->doses,
                                   x->res->deleted_doses, x->res->limits};
    for (int k = 0; k < N_COUNTS; k++) {
        if (x->counts[k] >= 0 && x->counts[k] != got[k]) {
            path_push_key(x, "counts");
            path_push_key(x, count_names[k]);
            invalid(x, "count_mismatch",
                    "the document states %lld but holds %lld: it is incomplete or was edited",
                    (long long)x->counts[k], (long long)got[k]);
            path_pop(x);
            path_pop(x);
            return false;
        }
    }
    return true;
}

/* A member that must be an object, read past unchecked (source, scope). */
static bool skip_object(struct walk *x, const char *key)
{
    enum api_jtok t;
    path_push_key(x, key);
    bool ok = next(x, &t);
    if (ok && t != API_JT_OBJ)
        ok = invalid(x, "object_type", "expected an object");
    if (ok)
        ok = api_jp_skip(x->jp, t) || syntax(x);
    path_pop(x);
    return ok;
}

/* "format" and "version" come first, so that a document of another
 * format or a newer version is refused before its body is read. */
static bool read_header(struct walk *x)
{
    enum api_jtok t;
    if (!next(x, &t))
        return false;
    if (t != API_JT_OBJ)
        return invalid(x, "object_type", "the document must be a JSON object");
    if (!next(x, &t))
        return false;
    if (t != API_JT_KEY || strcmp(x->jp->str, "format") != 0)
        return invalid(x, "format", "the document must begin with \"format\": \"%s\"",
                       API_EXPORT_FORMAT);
    path_push_key(x, "format");
    if (!next(x, &t))
        return false;
    if (t != API_JT_STR || strcmp(x->jp->str, API_EXPORT_FORMAT) != 0)
        return invalid(x, "format", "expected \"%s\": this is not a MediTrack export",
                       API_EXPORT_FORMAT);
    path_pop(x);
    if (!next(x, &t))
        return false;
    if (t != API_JT_KEY || strcmp(x->jp->str, "version") != 0)
        return invalid(x, "version", "\"version\" must follow \"format\"");
    path_push_key(x, "version");
    if (!next(x, &t))
        return false;
    if (t != API_JT_INT || x->jp->i < 1)
        return invalid(x, "version", "expected the format version, an integer from 1");
    if (x->jp->i > API_EXPORT_VERSION) {
        struct api_import_result *r = x->res;
        r->fault = API_IMPORT_NEWER;
        snprintf(r->type, sizeof(r->type), "newer_version");
        r->where = path_now(x);
        snprintf(r->msg, sizeof(r->msg),
                 "the document has format version %lld; this meditrack (%s) reads versions up "
                 "to %d: import it with a newer meditrack",
                 (long long)x->jp->i, MT_VERSION, API_EXPORT_VERSION);
        return false;
    }
    x->res->version = (int)x->jp->i;
    path_pop(x);
    return true;
}

static bool walk_document(struct walk *x)
{
    if (!read_header(x))
        return false;
    bool seen_persons = false, seen_deleted = false;
    enum api_jtok t;
    for (;;) {
        if (!next(x, &t))
            return false;
        if (t == API_JT_OBJ_END)
            break;
        char key[64];
        snprintf(key, sizeof(key), "%s", x->jp->str);
        bool ok;
        if (strcmp(key, "persons") == 0 || strcmp(key, "deleted_medication_doses") == 0) {
            bool persons = key[0] == 'p';
            path_push_key(x, key);
            if (persons ? seen_persons : seen_deleted)
                ok = invalid(x, "duplicate", "the member appears twice");
            else if (!persons && !seen_persons)
                ok = invalid(x, "member_order", "must come after \"persons\"");
            else
                ok = persons ? walk_array(x, "persons", &person_kind)
                             : walk_array(x, "doses", &deleted_dose_kind);
            path_pop(x);
            if (persons)
                seen_persons = true;
            else
                seen_deleted = true;
        } else if (strcmp(key, "exported_at") == 0) {
            static const struct field f = {"exported_at", F_TIME, false, false, 0, 0, 0,
                                           NULL,          NULL,   0};
            struct value v = {0};
            path_push_key(x, key);
            ok = read_value(x, &f, &v);
            path_pop(x);
        } else if (strcmp(key, "source") == 0 || strcmp(key, "scope") == 0 ||
                   strcmp(key, "audit") == 0) {
            /* Informational, never read back: the source's audit trail is
             * not the target's, whose own rows record the import. */
            ok = skip_object(x, key);
        } else if (strcmp(key, "counts") == 0) {
            path_push_key(x, key);
            ok = read_counts(x);
            path_pop(x);
        } else {
            ok = skip_unknown(x, key);
        }
        if (!ok)
            return false;
    }
    if (!seen_persons) {
        path_push_key(x, "persons");
        invalid(x, "missing", "required member missing");
        path_pop(x);
        return false;
    }
    if (!next(x, &t))
        return false;
    if (!check_counts(x))
        return false;
    return flush_doses(x);
}

/* ---- the two passes ---------------------------------------------------------------------------
 */

static void walk_reset(struct walk *x, const struct api_import_src *src, bool importing)
{
    struct api_import_result *r = x->res;
    r->persons = r->medications = r->doses = r->deleted_doses = r->limits = 0;
    r->n_mapped = 0;
    x->path.n = 0;
    x->importing = importing;
    x->n_persons = 0;
    x->defaults = 0;
    x->cur_person = x->cur_med = 0;
    x->has_counts = false;
    x->late_conflict = false;
    batch_release(x);
    api_jp_release(x->jp);
    if (src->file) {
        rewind(src->file);
        api_jp_init_file(x->jp, src->file);
    } else {
        api_jp_init_mem(x->jp, src->data, src->len);
    }
}

struct import_tx {
    struct walk *x;
    const struct api_import_src *src;
};

/* Pass 2, inside the transaction: the target's persons again (under the
 * lock), then the document from the start. Safe to run again. */
static int import_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct import_tx *t = vctx;
    struct walk *x = t->x;
    x->err = err;
    if (store_import_lock(c, err) < 0)
        return -1;
    struct store_import_existing *existing = NULL;
    size_t n_existing = 0;
    if (store_import_existing(c, &existing, &n_existing, err) < 0)
        return -1;
    x->existing = existing;
    x->n_existing = n_existing;
    x->res->target_empty = n_existing == 0;
    walk_reset(x, t->src, true);
    store_audit_batch_release(x->audit);
    store_audit_batch_init(x->audit, c, x->actor);
    bool ok = walk_document(x) && store_audit_batch_finish(x->audit, err) == 0;
    x->existing = NULL;
    x->n_existing = 0;
    store_import_existing_free(existing, n_existing);
    if (ok)
        return 0;
    if (err->code == MT_OK)
        mt_fail(err, MT_EINTERNAL,
                "import: the document changed between its check and its import: %s", x->res->msg);
    return -1;
}

int api_import_run(struct db_conn *c, const struct store_actor *actor,
                   const struct api_import_src *src, bool dry_run,
                   enum api_import_conflict on_conflict, struct api_import_result *res,
                   struct mt_err *err)
{
    memset(res, 0, sizeof(*res));
    struct api_jpull *jp = mt_xmalloc(sizeof(*jp));
    api_jp_init_mem(jp, NULL, 0);
    struct walk *x = mt_xcalloc(1, sizeof(*x));
    x->jp = jp;
    x->res = res;
    x->c = c;
    x->on_conflict = on_conflict;
    x->actor = actor;
    x->audit = mt_xcalloc(1, sizeof(*x->audit));
    store_audit_batch_init(x->audit, c, actor);
    struct mt_err local;
    mt_err_clear(&local);
    x->err = &local;

    int rc = 0;
    struct store_import_existing *existing = NULL;
    size_t n_existing = 0;
    if (store_import_existing(c, &existing, &n_existing, err) < 0) {
        rc = -1;
        goto out;
    }
    x->existing = existing;
    x->n_existing = n_existing;
    res->target_empty = n_existing == 0;

    /* Pass 1: the whole document, checked; nothing is written. */
    walk_reset(x, src, false);
    walk_document(x);
    x->existing = NULL;
    x->doc_defaults = x->defaults;
    if (res->fault != API_IMPORT_OK)
        goto out;
    if (res->total_conflicts && on_conflict == API_IMPORT_REFUSE) {
        res->fault = API_IMPORT_CONFLICT;
        snprintf(res->type, sizeof(res->type), "conflict");
        snprintf(res->msg, sizeof(res->msg),
                 "%lld person(s) of the document are already on the target (same name and date "
                 "of birth): nothing was imported",
                 (long long)res->total_conflicts);
        goto out;
    }
    if (dry_run)
        goto out;

    /* Pass 2: the import, all or nothing. */
    struct import_tx t = {x, src};
    if (store_import_in_tx(c, import_tx, &t, err) < 0) {
        if (x->late_conflict) {
            res->fault = API_IMPORT_CONFLICT;
            snprintf(res->type, sizeof(res->type), "conflict");
            snprintf(res->msg, sizeof(res->msg),
                     "a person of the document was added to the target meanwhile: nothing was "
                     "imported");
        } else {
            rc = -1;
        }
        goto out;
    }
    res->imported = true;
out:
    batch_release(x);
    store_audit_batch_release(x->audit);
    free(x->audit);
    store_import_existing_free(existing, n_existing);
    free(x->persons);
    free(x);
    api_jp_release(jp);
    free(jp);
    return rc;
}
