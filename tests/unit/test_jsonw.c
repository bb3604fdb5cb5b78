/* Unit tests for src/api/jsonw.c and the rows of src/api/row_json.c written
 * with it: every string (all bytes, control characters, quotes, multi-byte
 * UTF-8, malformed UTF-8, random byte strings) and integer must come out
 * exactly as jansson writes the same value (through api_json_text, as the
 * replies did before), and persons, medications, doses and lists exactly as
 * the jansson trees of the reference's shapes, so that clients see the same
 * bytes. */
#include <string.h>

#include "../check.h"
#include "api/jsonin.h"
#include "api/jsonw.h"
#include "api/row_json.h"
#include "core/arena.h"

static const size_t dump_flags = JSON_COMPACT | JSON_PRESERVE_ORDER;

/* jansson's text of j (stolen); malloc'ed. */
static char *jansson_text(json_t *j)
{
    char *s = json_dumps(j, dump_flags | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

static int n_str_mismatches;

/* The writer's string of s against jansson's of api_json_text(s). */
static void same_string(const char *s, size_t n)
{
    struct mt_arena *a = mt_arena_new(1 << 20);
    char *copy = mt_arena_strndup(a, s, n);
    struct api_jw w;
    api_jw_init(&w, a, 0);
    api_jw_str(&w, copy);
    char *want = jansson_text(api_json_text(copy, strlen(copy)));
    check_total++;
    if (w.failed || !want || strlen(want) != w.len || memcmp(want, w.data, w.len) != 0) {
        check_failed++;
        if (n_str_mismatches++ < 5)
            fprintf(stderr, "string mismatch: want %s, got %.*s\n", want ? want : "(null)",
                    (int)w.len, w.data ? w.data : "");
    }
    free(want);
    mt_arena_free(a);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_strings(void)
{
    char buf[64];
    /* Every byte alone and between letters (a lone byte >= 0x80 is malformed). */
    for (int c = 1; c < 256; c++) {
        buf[0] = (char)c;
        same_string(buf, 1);
        snprintf(buf, sizeof buf, "a%cb", c);
        same_string(buf, 3);
    }
    static const char *const samples[] = {
        "",
        "plain text",
        "say \"hi\" \\ back\\slash / slash",
        "tab\there, newline\nthere, cr\r, bell\a, nul-less \x01\x1f \x7f",
        "\b\f",
        "ä ü é € 𝄞 中文 😀",
        "\xC3\xA4\xC3",      /* truncated at the end */
        "\xE2\x82",          /* truncated three-byte form */
        "\xC0\xAF overlong", /* overlong '/' */
        "\xED\xA0\x80 surrogate",
        "\xF4\x90\x80\x80 beyond U+10FFFF",
        "\xFF\xFE bytes that never occur",
        "mixed \xE2\x82\xAC ok, \x80 bad, \"quote\"",
    };
    for (size_t i = 0; i < MT_ARRAY_LEN(samples); i++)
        same_string(samples[i], strlen(samples[i]));
    /* Random byte strings, mostly malformed, and random valid text. */
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(next_random() % 40);
        for (size_t k = 0; k < n; k++) {
            unsigned char c = (unsigned char)(next_random() & 0xFF);
            buf[k] = (char)(c ? c : 'x');
        }
        same_string(buf, n);
    }
    static const char *const pieces[] = {"a", "\"", "\\", "\n", "\x02", "é", "€", "😀", " "};
    for (int round = 0; round < 2000; round++) {
        size_t len = 0;
        int parts = (int)(next_random() % 10);
        for (int k = 0; k < parts; k++) {
            const char *p = pieces[next_random() % MT_ARRAY_LEN(pieces)];
            memcpy(buf + len, p, strlen(p));
            len += strlen(p);
        }
        same_string(buf, len);
    }
    /* NULL is null; the writer separates values with commas itself. */
    struct mt_arena *a = mt_arena_new(1024);
    struct api_jw w;
    api_jw_init(&w, a, 0);
    api_jw_str(&w, NULL);
    api_jw_bool(&w, true);
    api_jw_bool(&w, false);
    CHECK(w.len == 15 && memcmp(w.data, "null,true,false", 15) == 0);
    mt_arena_free(a);
}

static void same_int(int64_t v)
{
    struct mt_arena *a = mt_arena_new(1024);
    struct api_jw w;
    api_jw_init(&w, a, 0);
    api_jw_int(&w, v);
    char *want = jansson_text(json_integer((json_int_t)v));
    CHECK(want && strlen(want) == w.len && memcmp(want, w.data, w.len) == 0);
    free(want);
    mt_arena_free(a);
}

static void test_ints(void)
{
    static const int64_t fixed[] = {0,         1,         -1,           9,          10,
                                    -10,       99,        100,          2147483647, -2147483648LL,
                                    INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < MT_ARRAY_LEN(fixed); i++)
        same_int(fixed[i]);
    for (int i = 0; i < 2000; i++)
        same_int((int64_t)next_random() >> (next_random() % 64));
}

/* The arena's ceiling: failed is set, and stays set. */
static void test_ceiling(void)
{
    struct mt_arena *a = mt_arena_new(4096);
    struct api_jw w;
    api_jw_init(&w, a, 0);
    for (int i = 0; i < 1000 && !w.failed; i++)
        api_jw_str(&w, "0123456789");
    CHECK(w.failed);
    size_t len = w.len;
    api_jw_str(&w, "more");
    CHECK_EQ(w.len, len);
    mt_arena_free(a);
}

/* Containers and keys: the writer places every comma and colon, nested and
 * empty containers included, and a key is escaped like a string. */
static void test_structure(void)
{
    struct mt_arena *a = mt_arena_new(1 << 16);
    struct api_jw w;
    api_jw_init(&w, a, 0);
    api_jw_obj(&w);
    api_jw_int_at(&w, "a", 1);
    api_jw_key(&w, "empty");
    api_jw_obj(&w);
    api_jw_obj_end(&w);
    api_jw_key(&w, "list");
    api_jw_arr(&w);
    api_jw_arr(&w);
    api_jw_arr_end(&w);
    api_jw_obj(&w);
    api_jw_str_at(&w, "k\"ey\n", "v");
    api_jw_obj_end(&w);
    api_jw_null(&w);
    api_jw_bool(&w, false);
    api_jw_arr_end(&w);
    api_jw_bool_at(&w, "last", true);
    api_jw_obj_end(&w);
    char *want = jansson_text(json_pack("{s:i, s:{}, s:[[], {s:s}, n, b], s:b}", "a", 1, "empty",
                                        "list", "k\"ey\n", "v", 0, "last", 1));
    CHECK(!w.failed && want && strlen(want) == w.len && memcmp(want, w.data, w.len) == 0);
    if (want && (strlen(want) != w.len || memcmp(want, w.data, w.len) != 0))
        fprintf(stderr, "structure: want %s, got %.*s\n", want, (int)w.len, w.data);

    /* A document handed on in chunks: after a reset the writer continues
     * where it was, so the chunks together are the whole document. */
    struct api_jw s;
    api_jw_init(&s, a, 0);
    char joined[256];
    size_t len = 0;
    api_jw_obj(&s);
    api_jw_key(&s, "rows");
    api_jw_arr(&s);
    for (int i = 0; i < 3; i++) {
        api_jw_int(&s, i);
        memcpy(joined + len, s.data, s.len);
        len += s.len;
        api_jw_reset(&s);
    }
    api_jw_arr_end(&s);
    api_jw_obj_end(&s);
    memcpy(joined + len, s.data, s.len);
    len += s.len;
    CHECK(len == 16 && memcmp(joined, "{\"rows\":[0,1,2]}", 16) == 0);
    free(want);
    mt_arena_free(a);
}

/* ---- rows, against the jansson trees of the reference's shapes ---- */

static struct http_req req(void)
{
    struct http_req r = {0};
    r.arena = mt_arena_new(1 << 20);
    r.method = "GET";
    r.path = "/";
    return r;
}

/* The reply body of r against jansson's text of want (stolen). */
static void body_matches(struct http_req *r, int status, json_t *want, const char *what)
{
    char *text = jansson_text(want);
    check_total++;
    if (r->status != status || !r->has_body || !text || r->resp_len != strlen(text) ||
        memcmp(r->resp_body, text, r->resp_len) != 0) {
        check_failed++;
        fprintf(stderr, "%s: status %d, body\n  %.*s\nwant\n  %s\n", what, r->status,
                (int)r->resp_len, r->resp_body ? (const char *)r->resp_body : "",
                text ? text : "(null)");
    }
    free(text);
}

static json_t *time_json(const struct store_time *t)
{
    if (!t->present)
        return json_null();
    if (!t->parsed)
        return api_json_text(t->raw, strlen(t->raw));
    char buf[MT_TIME_BUF];
    return json_string(mt_format_iso(t->us, buf, sizeof buf));
}

static json_t *str_json(const char *s)
{
    return s ? api_json_text(s, strlen(s)) : json_null();
}

static json_t *dose_json(const struct store_dose *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "medication_id",
                        d->has_medication ? json_integer(d->medication_id) : json_null());
    json_object_set_new(o, "medication_name", str_json(d->medication_name));
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "taken_at", time_json(&d->taken_at));
    return o;
}

static json_t *med_json(const struct store_medication *m, bool with_day)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", str_json(m->name));
    json_object_set_new(o, "dosage", str_json(m->dosage));
    json_object_set_new(o, "frequency", str_json(m->frequency));
    json_object_set_new(o, "max_doses_per_day", json_integer(m->max_doses_per_day));
    json_object_set_new(o, "instructions", str_json(m->instructions));
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "person_id", json_integer(m->person_id));
    json_object_set_new(o, "created_at", time_json(&m->created_at));
    json_object_set_new(o, "updated_at", time_json(&m->updated_at));
    if (with_day) {
        json_object_set_new(o, "doses_taken_today",
                            json_integer(m->doses_in_day < 0 ? 0 : m->doses_in_day));
        json_object_set_new(o, "last_taken_at", time_json(&m->last_taken_at));
    }
    return o;
}

static json_t *person_json(const struct store_person *p, bool with_count)
{
    json_t *o = json_object();
    json_object_set_new(o, "first_name", str_json(p->first_name));
    json_object_set_new(o, "last_name", str_json(p->last_name));
    json_object_set_new(o, "date_of_birth", str_json(p->date_of_birth));
    json_object_set_new(o, "notes", str_json(p->notes));
    json_object_set_new(o, "id", json_integer(p->id));
    json_object_set_new(o, "is_default", json_boolean(p->is_default));
    json_object_set_new(o, "created_at", time_json(&p->created_at));
    json_object_set_new(o, "updated_at", time_json(&p->updated_at));
    if (with_count)
        json_object_set_new(o, "medication_count",
                            json_integer(p->medication_count < 0 ? 0 : p->medication_count));
    char name[256];
    if (p->last_name && p->last_name[0])
        snprintf(name, sizeof name, "%s %s", p->first_name, p->last_name);
    else
        snprintf(name, sizeof name, "%s", p->first_name);
    json_object_set_new(o, "name", str_json(name));
    return o;
}

static void test_rows(void)
{
    const struct store_time none = {false, false, 0, NULL};
    const struct store_time when = {true, true, 1765000000123456LL, NULL};
    const struct store_time whole = {true, true, 1765000000000000LL, NULL};
    const struct store_time odd = {true, false, 0, "yesterday \"noon\""};
    struct store_dose doses[] = {
        {.id = 1, .has_medication = true, .medication_id = 7, .taken_at = when},
        {.id = 2, .medication_name = "Old \"pill\" \xC3", .taken_at = whole},
        {.id = INT64_MAX, .has_medication = true, .medication_id = -3, .taken_at = odd},
        {.id = 4, .medication_name = "", .taken_at = none},
    };
    struct http_req r = req();
    json_t *list = json_array();
    for (size_t i = 0; i < MT_ARRAY_LEN(doses); i++)
        json_array_append_new(list, dose_json(&doses[i]));
    api_reply_doses(&r, doses, MT_ARRAY_LEN(doses));
    body_matches(&r, 200, list, "dose list");
    api_reply_doses(&r, doses, 0);
    body_matches(&r, 200, json_array(), "empty dose list");
    api_reply_dose(&r, 201, &doses[1]);
    body_matches(&r, 201, dose_json(&doses[1]), "one dose");

    struct store_medication meds[] = {
        {.id = 3,
         .person_id = 1,
         .name = "Aspirin",
         .dosage = "100 mg",
         .frequency = "daily",
         .max_doses_per_day = 2,
         .instructions = NULL,
         .created_at = when,
         .updated_at = none,
         .doses_in_day = 1,
         .last_taken_at = whole},
        {.id = 4,
         .person_id = 2,
         .name = "Tab\tname ✓",
         .dosage = "1/2",
         .frequency = "\n",
         .max_doses_per_day = 20,
         .instructions = "with \\ water",
         .created_at = odd,
         .updated_at = when,
         .doses_in_day = -1,
         .last_taken_at = none},
    };
    list = json_array();
    for (size_t i = 0; i < MT_ARRAY_LEN(meds); i++)
        json_array_append_new(list, med_json(&meds[i], true));
    api_reply_meds(&r, meds, NULL, MT_ARRAY_LEN(meds));
    body_matches(&r, 200, list, "medication list");
    api_reply_med(&r, 201, &meds[1], NULL, false);
    body_matches(&r, 201, med_json(&meds[1], false), "one medication");
    api_reply_med(&r, 200, &meds[0], NULL, true);
    body_matches(&r, 200, med_json(&meds[0], true), "one medication with its day");

    struct store_person persons[] = {
        {.id = 1,
         .first_name = "Default",
         .last_name = "User",
         .is_default = true,
         .created_at = when,
         .updated_at = none,
         .medication_count = 3},
        {.id = 2,
         .first_name = "Zoë",
         .last_name = NULL,
         .date_of_birth = "1990-01-02",
         .notes = "a \"note\"\nline 2",
         .created_at = whole,
         .updated_at = odd,
         .medication_count = -1},
        {.id = 3,
         .first_name = "Ann\x80",
         .last_name = "",
         .created_at = none,
         .updated_at = none,
         .medication_count = 0},
    };
    list = json_array();
    for (size_t i = 0; i < MT_ARRAY_LEN(persons); i++)
        json_array_append_new(list, person_json(&persons[i], true));
    api_reply_persons(&r, persons, MT_ARRAY_LEN(persons));
    body_matches(&r, 200, list, "person list");
    api_reply_person(&r, 200, &persons[1], false);
    body_matches(&r, 200, person_json(&persons[1], false), "one person");
    api_reply_person(&r, 200, &persons[0], true);
    body_matches(&r, 200, person_json(&persons[0], true), "one person with stats");
    mt_arena_free(r.arena);

    /* A list larger than the arena allows: the memory-limit answer. */
    struct http_req small = {0};
    small.arena = mt_arena_new(2048);
    api_reply_doses(&small, doses, MT_ARRAY_LEN(doses));
    struct store_dose many[64];
    for (size_t i = 0; i < MT_ARRAY_LEN(many); i++)
        many[i] = doses[0];
    api_reply_doses(&small, many, MT_ARRAY_LEN(many));
    /* The memory-limit error's status is http_reply_err's to choose. */
    CHECK(small.status >= 400);
    CHECK(small.has_body && small.resp_len < 200 &&
          memmem(small.resp_body, small.resp_len, "memory limit", 12) != NULL);
    mt_arena_free(small.arena);
}

int main(void)
{
    test_strings();
    test_ints();
    test_ceiling();
    test_structure();
    test_rows();
    return check_report();
}
