/* Safe dosing (issue 15, docs/dosing.md): the rules a medication carries
 * (its maximum per local calendar day or per any 24 hours, a minimum
 * interval, the per-person maximum per 24 hours of each active ingredient)
 * checked atomically with the insert of a dose; overrides with a reason;
 * skipped doses; corrections of a dose's time or note; marking a dose
 * entered in error; the per-person ingredient limits; and the stored first
 * responses of requests that carry an Idempotency-Key. Every change appends
 * its audit row (store/audit.h) in its own transaction. Ownership and
 * failures as in store.h. Owner: the store module. */
#ifndef MT_STORE_DOSING_H
#define MT_STORE_DOSING_H

#include "core/tz.h"
#include "store/store.h"

/* ---- rules ------------------------------------------------------------------------------ */

/* The rules a dose can break, in the order they are reported. */
enum store_rule {
    STORE_RULE_NONE = 0,
    STORE_RULE_DAY_MAX,     /* max_doses_per_day in the local calendar day (the reference's) */
    STORE_RULE_ROLLING_MAX, /* max_doses_per_day in some 24 hours */
    STORE_RULE_INTERVAL,    /* another dose less than min_interval_minutes away */
    STORE_RULE_INGREDIENT,  /* an ingredient's maximum per 24 hours for the person */
};
/* The API's word for a rule: "window_full" (both maxima), "interval",
 * "ingredient_limit"; NULL for STORE_RULE_NONE. */
const char *store_rule_word(enum store_rule r);
#define STORE_RULE_BIT(r) (1u << (unsigned)(r))

/* What the rules say of a dose at one instant. */
struct store_verdict {
    enum store_rule rule; /* the first rule broken, NONE when every rule allows it */
    unsigned broken;      /* STORE_RULE_BIT of every rule broken */
    int64_t max_doses;    /* the medication's maximum */
    int64_t min_interval_minutes;
    /* When a dose is allowed next, from the instant asked about (or from
     * now for a refusal): has_next false means never (one dose alone is
     * more than an ingredient's limit). */
    bool has_next;
    int64_t next_us;
    /* STORE_RULE_INGREDIENT: the first ingredient over its limit, the
     * amount already taken in the fullest 24 hours around the dose, this
     * dose's amount and the limit, all in the limit's unit. */
    const char *ingredient, *unit;
    double taken, dose, limit;
};

/* A medication's state now: whether a dose could be recorded at now_us,
 * and if not, why and when (medication responses' next_allowed_at and
 * blocked_by). Calendar days are the local days of zone tz. */
int store_med_verdict(struct db_conn *c, struct mt_arena *a, const struct store_medication *m,
                      int64_t now_us, struct mt_tz tz, struct store_verdict *out,
                      struct mt_err *err);

/* ---- recording ---------------------------------------------------------------------------- */

struct store_record_req {
    int64_t medication_id;
    int64_t taken_us;            /* the dose's instant (a skipped dose's slot) */
    struct mt_tz tz;             /* calendar days are local days of this zone */
    int64_t now_us;              /* for next_allowed_at */
    bool skip;                   /* a skipped dose: no rule applies */
    const char *reason;          /* the skip's reason */
    const char *note;            /* NULL: none */
    bool override;               /* record despite the rules... */
    const char *override_reason; /* ...for this reason (required with override) */
    struct store_actor actor;
};

struct store_record_out {
    bool refused;                 /* a rule refused the dose: nothing was written */
    struct store_verdict verdict; /* the rules' word at taken_us (also when overridden) */
    struct store_dose dose;       /* when recorded */
};

/* In one transaction: locks the medication row (SQLite: the write
 * transaction), and for a medication with ingredients the person's row,
 * before reading the doses the rules count, so that concurrent requests on
 * any number of processes cannot both pass a check; then inserts the dose
 * with its ingredients' snapshot and the audit row. MT_ENOTFOUND
 * "Medication not found". */
int store_dose_record(struct db_conn *c, struct mt_arena *a, const struct store_record_req *req,
                      struct store_record_out *out, struct mt_err *err);

/* ---- corrections ------------------------------------------------------------------------ */

/* One dose, any status (MT_ENOTFOUND "Dose not found"). */
int store_dose_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_dose *out,
                   struct mt_err *err);

struct store_dose_patch {
    bool set_taken, set_note;
    int64_t taken_us;
    const char *note; /* NULL: clear */
};

/* Changes a taken or skipped dose's time or note (no rule is checked: a
 * correction records what happened). MT_ENOTFOUND "Dose not found";
 * MT_ECONFLICT for a dose entered in error. */
int store_dose_correct(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                       int64_t id, const struct store_dose_patch *p, struct store_dose *out,
                       struct mt_err *err);

/* Marks the dose entered in error with reason: it leaves every count and
 * view but stays in the table and the audit trail. MT_ENOTFOUND "Dose not
 * found"; MT_ECONFLICT when it already is. */
int store_dose_mark_error(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                          int64_t id, const char *reason, struct store_dose *out,
                          struct mt_err *err);

/* ---- ingredient limits ---------------------------------------------------------------------- */

struct store_limit {
    int64_t id, person_id;
    const char *name;
    double max_per_24h;
    const char *unit;
    struct store_time created_at, updated_at;
};

/* The person's limits, by name (MT_ENOTFOUND "Person not found"). */
int store_limits_list(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                      struct store_limit **out, size_t *n, struct mt_err *err);
/* Creates or replaces the person's limit of the ingredient name (matched
 * case-insensitively). *created says which. MT_ENOTFOUND "Person not
 * found"; MT_ECONFLICT when unit cannot be compared with the unit of that
 * ingredient in one of the person's medications. */
int store_limit_set(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                    int64_t person_id, const char *name, double max_per_24h, const char *unit,
                    struct store_limit *out, bool *created, struct mt_err *err);
/* MT_ENOTFOUND "Ingredient limit not found". */
int store_limit_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                       int64_t person_id, int64_t id, struct mt_err *err);

/* ---- idempotency keys ---------------------------------------------------------------------- */

/* How long a stored response answers a repeated key. */
#define STORE_IDEM_TTL_US (INT64_C(24) * 3600 * 1000000)

struct store_idem {
    const char *owner;       /* "anonymous", "account:<id>" */
    const char *key;         /* the Idempotency-Key header, 1-255 printable characters */
    const char *fingerprint; /* hex SHA-256 of the request (method, path, query, body) */
};

/* Inside the caller's write transaction: claims the key, or finds the first
 * response to it. A concurrent request with the same key waits here until
 * the first one's transaction ends. *found: the key was used before (then
 * *same says whether by the same request, and *status / *body / *len give
 * the stored response). A key older than STORE_IDEM_TTL_US is forgotten
 * first. */
int store_idem_claim(struct db_conn *c, struct mt_arena *a, const struct store_idem *k, bool *found,
                     bool *same, int *status, const char **body, size_t *len, struct mt_err *err);
/* Stores the response of a claimed key, in the same transaction. */
int store_idem_save(struct db_conn *c, const struct store_idem *k, int status, const char *body,
                    size_t len, struct mt_err *err);
/* Gives a claimed key up, in the same transaction: the request ended in a
 * way a retry should not repeat (a server error). */
int store_idem_forget(struct db_conn *c, const struct store_idem *k, struct mt_err *err);

/* ---- units and names -------------------------------------------------------------------- */

/* The key an ingredient name is matched by: trimmed, runs of white space
 * as one space, ASCII letters in lower case. In a (NULL when full). */
char *store_name_key(struct mt_arena *a, const char *name);

/* An amount in a unit, made comparable: amounts of the same kind (mass:
 * mcg, ug, µg, mg, g; volume: ml, l; any other unit only with itself,
 * case-insensitively) compare through value, in millionths of the kind's
 * base unit (mg, ml, or the unit itself). */
struct store_qty {
    int kind;       /* 1 mass, 2 volume, 3 other */
    char other[33]; /* kind 3: the unit in lower case */
    int64_t value;
};
/* 0, or -1 when amount is out of range (more than 1,000,000 or negative). */
int store_qty_make(double amount, const char *unit, struct store_qty *out);
bool store_qty_comparable(const struct store_qty *a, const struct store_qty *b);
/* How many of a store_qty's value make one of unit (1,000,000 times the
 * unit's size in its kind's base unit): value / store_qty_per_unit(u) is
 * the amount in u. */
double store_qty_per_unit(const char *unit);

#endif
