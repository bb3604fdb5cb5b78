/* Unit tests of src/api/validate.c and src/api/coerce.c without a server:
 * each case builds a raw request, validates it by an operation of the
 * table (src/api/operations.c), and compares the typed input, or the exact
 * 422 body, with what the reference answered (api-contract-samples.md) or
 * what our decisions say. */
#include "api/validate.h"

#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "api/coerce.h"
#include "api/handlers.h"

static struct mt_arena *arena;

/* Validates q by the operation the table lists under op_id. */
static int validate(const char *op_id, const struct api_request *q, void *in, struct api_vctx *v)
{
    for (size_t i = 0; i < api_n_routes; i++)
        if (api_routes[i].op && strcmp(api_routes[i].op->op_id, op_id) == 0)
            return api_validate(api_routes[i].op, q, in, v);
    fprintf(stderr, "  no operation %s\n", op_id);
    CHECK(false);
    return 0;
}

/* A request with up to two path parameters, a query "a=b&c=d" (decoded),
 * an optional content type and an optional body. */
struct fake {
    struct api_request q;
    const char *params[2];
    struct http_kv query[16];
};

static struct api_request *fake(struct fake *f, const char *p0, const char *p1, const char *query,
                                const char *ctype, const char *body)
{
    memset(f, 0, sizeof(*f));
    f->params[0] = p0 ? p0 : "";
    f->params[1] = p1 ? p1 : "";
    size_t n = 0;
    if (query) {
        char *qs = mt_arena_strdup(arena, query);
        char *p = qs;
        while (p && *p && n < 16) {
            char *amp = strchr(p, '&');
            if (amp)
                *amp = '\0';
            char *eq = strchr(p, '=');
            if (eq)
                *eq = '\0';
            f->query[n].name = p;
            f->query[n].value = eq ? eq + 1 : "";
            n++;
            p = amp ? amp + 1 : NULL;
        }
    }
    f->q.arena = arena;
    f->q.params = f->params;
    f->q.n_params = 2;
    f->q.query = f->query;
    f->q.n_query = n;
    f->q.content_type = ctype;
    f->q.body = body;
    f->q.body_len = body ? strlen(body) : 0;
    return &f->q;
}

/* The 422 body as compact text (caller frees), or NULL. */
static char *body_of(struct api_vctx *v)
{
    if (v->status != 422)
        return NULL;
    json_t *b = api_vctx_take_body(v);
    char *text = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);
    return text;
}

static void want_422(const char *label, int rc, struct api_vctx *v, const char *want)
{
    CHECK_EQ(rc, -1);
    char *got = body_of(v);
    CHECK_STR(got, want);
    if (!got || strcmp(got, want) != 0)
        fprintf(stderr, "  case: %s\n", label);
    free(got);
    api_vctx_release(v);
    api_vctx_init(v);
}

#define J "application/json"

static void test_persons(void)
{
    struct fake f;
    struct api_vctx v;
    struct api_in_person pc;
    api_vctx_init(&v);
    CHECK_EQ(validate("create_person",
                      fake(&f, 0, 0, 0, J,
                           "{\"first_name\":\"Alice\",\"last_name\":\"Smith\","
                           "\"date_of_birth\":\"1980-05-06\",\"notes\":\"Primary\"}"),
                      &pc, &v),
             0);
    CHECK_STR(pc.first_name.value, "Alice");
    CHECK_STR(pc.last_name.value, "Smith");
    CHECK(pc.date_of_birth.set && !pc.date_of_birth.null && pc.date_of_birth.value.year == 1980 &&
          pc.date_of_birth.value.month == 5 && pc.date_of_birth.value.day == 6);
    CHECK_EQ(validate("create_person",
                      fake(&f, 0, 0, 0, NULL, "{\"name\":\"N\",\"last_name\":\"L\"}"), &pc, &v),
             0);
    CHECK_STR(pc.first_name.value, "N");
    CHECK(pc.last_name.value == NULL);

    want_422("#18", validate("create_person", fake(&f, 0, 0, 0, J, "{}"), &pc, &v), &v,
             "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\"],\"msg\":\"Value error, "
             "Either first_name or name must be provided\",\"input\":{},\"ctx\":{\"error\":{}}}]}");
    want_422("#25", validate("create_person", fake(&f, 0, 0, 0, NULL, NULL), &pc, &v), &v,
             "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\"],\"msg\":\"Field required\","
             "\"input\":null}]}");
    want_422("#26", validate("create_person", fake(&f, 0, 0, 0, J, "{\"first_name\":"), &pc, &v),
             &v,
             "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",14],\"msg\":\"JSON decode "
             "error\",\"input\":{},\"ctx\":{\"error\":\"Expecting value\"}}]}");
    want_422("#28",
             validate("create_person", fake(&f, 0, 0, 0, "text/plain", "{\"a\":1}"), &pc, &v), &v,
             "{\"detail\":[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input "
             "should be a valid dictionary or object to extract fields from\",\"input\":"
             "\"{\\\"a\\\":1}\"}]}");

    struct api_in_person pu;
    CHECK_EQ(validate("update_person",
                      fake(&f, "2", 0, 0, J, "{\"name\":\"Robert\",\"notes\":null}"), &pu, &v),
             0);
    CHECK(pu.id.value == 2 && pu.first_name.set && strcmp(pu.first_name.value, "Robert") == 0);
    CHECK(!pu.last_name.set && pu.notes.set && pu.notes.value == NULL && !pu.date_of_birth.set);
    want_422("update first_name null",
             validate("update_person", fake(&f, "2", 0, 0, J, "{\"first_name\":null}"), &pu, &v),
             &v,
             "{\"detail\":[{\"type\":\"string_type\",\"loc\":[\"body\",\"first_name\"],\"msg\":"
             "\"Input should be a valid string\",\"input\":null}]}");
    /* A decode error is reported alone, before the path is looked at. */
    want_422("decode error first",
             validate("update_person", fake(&f, "abc", 0, 0, J, "[1,"), &pu, &v), &v,
             "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",3],\"msg\":\"JSON decode "
             "error\",\"input\":{},\"ctx\":{\"error\":\"Expecting value\"}}]}");

    /* Bodies that cannot be read at all. */
    CHECK_EQ(validate("create_person", fake(&f, 0, 0, 0, J, "\"\xff\""), &pc, &v), -1);
    CHECK_EQ(v.status, 400);
    CHECK_STR(v.detail, "There was an error parsing the body");
    api_vctx_release(&v);
    api_vctx_init(&v);
}

static void test_integers(void)
{
    struct fake f;
    struct api_vctx v;
    struct api_in_page pg;
    const char *ok[] = {"skip= 3", "skip=1_0", "skip=%2B5", "skip=1.0",
                        "skip=-0", "skip=007", "skip=1.",   "skip=1_0.00"};
    const int64_t want[] = {3, 10, -1, 1, 0, 7, 1, 10};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        api_vctx_init(&v);
        if (want[i] < 0)
            continue; /* "%2B5" is a URL form; the decoded "+5" is tested below */
        CHECK_EQ(validate("get_persons", fake(&f, 0, 0, ok[i], 0, 0), &pg, &v), 0);
        CHECK_EQ(pg.skip.value, want[i]);
        api_vctx_release(&v);
    }
    api_vctx_init(&v);
    CHECK_EQ(validate("get_persons", fake(&f, 0, 0, "skip=+5", 0, 0), &pg, &v), 0);
    CHECK_EQ(pg.skip.value, 5);
    CHECK_EQ(pg.limit.value, 100);
    const char *bad[] = {"skip=1e3", "skip=",   "skip=0x1", "skip=true", "skip=1__0",
                         "skip=_1",  "skip=1_", "skip=1.5", "skip=.0",   "skip=- 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        api_vctx_init(&v);
        CHECK_EQ(validate("get_persons", fake(&f, 0, 0, bad[i], 0, 0), &pg, &v), -1);
        char *got = body_of(&v);
        CHECK(got && strstr(got, "\"int_parsing\""));
        free(got);
        api_vctx_release(&v);
    }
    api_vctx_init(&v);
    want_422("skip beyond 64 bits",
             validate("get_persons", fake(&f, 0, 0, "skip=99999999999999999999", 0, 0), &pg, &v),
             &v,
             "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"skip\"],\"msg\":"
             "\"Input should be less than or equal to 9223372036854775807\",\"input\":"
             "\"99999999999999999999\",\"ctx\":{\"le\":9223372036854775807}}]}");
    api_vctx_init(&v);
    CHECK_EQ(validate("get_persons", fake(&f, 0, 0, "skip=9223372036854775807&limit=1000", 0, 0),
                      &pg, &v),
             0);
    CHECK_EQ(pg.skip.value, INT64_MAX);
    CHECK_EQ(pg.limit.value, 1000);
    api_vctx_release(&v);

    struct api_in_med mc;
    api_vctx_init(&v);
    CHECK_EQ(validate("create_medication",
                      fake(&f, 0, 0, 0, J,
                           "{\"person_id\":\"1\",\"name\":\"a\",\"dosage\":\"b\","
                           "\"frequency\":\"c\",\"max_doses_per_day\":true}"),
                      &mc, &v),
             0);
    CHECK(mc.person_id.value == 1 && mc.max_doses_per_day.value == 1 &&
          mc.instructions.value == NULL);
    CHECK_EQ(validate("create_medication",
                      fake(&f, 0, 0, 0, J,
                           "{\"person_id\":1,\"name\":\"a\",\"dosage\":\"b\","
                           "\"frequency\":\"c\",\"max_doses_per_day\":2.0}"),
                      &mc, &v),
             0);
    CHECK_EQ(mc.max_doses_per_day.value, 2);
    want_422("#74 all missing", validate("create_medication", fake(&f, 0, 0, 0, J, "{}"), &mc, &v),
             &v,
             "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field "
             "required\",\"input\":{}},{\"type\":\"missing\",\"loc\":[\"body\",\"dosage\"],"
             "\"msg\":\"Field required\",\"input\":{}},{\"type\":\"missing\",\"loc\":[\"body\","
             "\"frequency\"],\"msg\":\"Field required\",\"input\":{}},{\"type\":\"missing\","
             "\"loc\":[\"body\",\"max_doses_per_day\"],\"msg\":\"Field required\",\"input\":{}},"
             "{\"type\":\"missing\",\"loc\":[\"body\",\"person_id\"],\"msg\":\"Field required\","
             "\"input\":{}}]}");
    api_vctx_init(&v);
    want_422("#70",
             validate("create_medication",
                      fake(&f, 0, 0, 0, J,
                           "{\"person_id\":1,\"name\":\"X\",\"dosage\":\"1\","
                           "\"frequency\":\"d\",\"max_doses_per_day\":0}"),
                      &mc, &v),
             &v,
             "{\"detail\":[{\"type\":\"greater_than\",\"loc\":[\"body\",\"max_doses_per_day\"],"
             "\"msg\":\"Input should be greater than 0\",\"input\":0,\"ctx\":{\"gt\":0}}]}");
}

static void test_doses(void)
{
    struct fake f;
    struct api_vctx v;
    struct api_in_dose_for_date in;
    api_vctx_init(&v);
    want_422(
        "several errors in order",
        validate("record_dose_for_date", fake(&f, "0", "bad", "timezone_offset=x", 0, 0), &in, &v),
        &v,
        "{\"detail\":[{\"type\":\"greater_than_equal\",\"loc\":[\"path\",\"medication_id\"],"
        "\"msg\":\"Input should be greater than or equal to 1\",\"input\":\"0\",\"ctx\":"
        "{\"ge\":1}},{\"type\":\"date_from_datetime_parsing\",\"loc\":[\"path\",\"date\"],"
        "\"msg\":\"Input should be a valid date or datetime, input is too short\",\"input\":"
        "\"bad\",\"ctx\":{\"error\":\"input is too short\"}},{\"type\":\"missing\",\"loc\":"
        "[\"query\",\"time\"],\"msg\":\"Field required\",\"input\":null},{\"type\":"
        "\"int_parsing\",\"loc\":[\"query\",\"timezone_offset\"],\"msg\":\"Input should be "
        "a valid integer, unable to parse string as an integer\",\"input\":\"x\"}]}");
    api_vctx_init(&v);
    CHECK_EQ(validate("record_dose_for_date",
                      fake(&f, "2", "2026-11-28", "time=8:5&timezone_offset=300", 0, 0), &in, &v),
             0);
    CHECK(in.medication_id.value == 2 && in.date.value.day == 28 && in.tz.set &&
          in.tz.value == 300);
    CHECK_STR(in.time.value, "8:5");

    struct api_in_dose_now dn;
    CHECK_EQ(validate("record_dose", fake(&f, "1", 0, 0, J, "null"), &dn, &v), 0);
    CHECK(!dn.tz.set);
    CHECK_EQ(validate("record_dose", fake(&f, "1", 0, 0, NULL, NULL), &dn, &v), 0);
    CHECK(!dn.tz.set);
    CHECK_EQ(
        validate("record_dose", fake(&f, "1", 0, 0, J, "{\"timezone_offset\":\"-600\"}"), &dn, &v),
        0);
    CHECK(dn.tz.set && dn.tz.value == -600);
    want_422("offset 1440",
             validate("record_dose", fake(&f, "1", 0, 0, J, "{\"timezone_offset\":1440}"), &dn, &v),
             &v,
             "{\"detail\":[{\"type\":\"less_than\",\"loc\":[\"body\",\"timezone_offset\"],\"msg\":"
             "\"Input should be less than 1440\",\"input\":1440,\"ctx\":{\"lt\":1440}}]}");

    struct api_in_summary su;
    api_vctx_init(&v);
    CHECK_EQ(validate("get_daily_summary_by_date",
                      fake(&f, "2024-01-01 00:00:00+05:30", 0, "person_id=3", 0, 0), &su, &v),
             0);
    CHECK(su.date.set && su.date.value.year == 2024 && su.person_id.set && su.person_id.value == 3);
    want_422("summary date inexact",
             validate("get_daily_summary_by_date", fake(&f, "1700000000", 0, 0, 0, 0), &su, &v), &v,
             "{\"detail\":[{\"type\":\"date_from_datetime_inexact\",\"loc\":[\"path\",\"date\"],"
             "\"msg\":\"Datetimes provided to dates should have zero time - e.g. be exact "
             "dates\",\"input\":\"1700000000\"}]}");

    struct api_in_form pdf;
    api_vctx_init(&v);
    CHECK_EQ(validate("generate_medication_pdf", fake(&f, "2026-11-29", 0, "person_id=0", 0, 0),
                      &pdf, &v),
             0);
    CHECK(pdf.person_id.set && pdf.person_id.value == 0 && pdf.days.value == 1);
    want_422(
        "#151",
        validate("generate_medication_pdf", fake(&f, "2026-11-29", 0, "days=8", 0, 0), &pdf, &v),
        &v,
        "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"days\"],\"msg\":"
        "\"Input should be less than or equal to 7\",\"input\":\"8\",\"ctx\":{\"le\":7}}]}");
}

/* The report parameters: the form's own (a valid date in its path), and the
 * export's, with its rule across "from" and "to". */
static void test_reports(void)
{
    struct fake f;
    struct api_vctx v;
    struct api_in_form o;
    api_vctx_init(&v);
    CHECK_EQ(validate("generate_medication_pdf", fake(&f, "2026-11-29", 0, 0, 0, 0), &o, &v), 0);
    CHECK(o.paper.value == API_PAPER_LETTER && !o.prefill.value);
    CHECK_EQ(validate("generate_medication_pdf",
                      fake(&f, "2026-11-29", 0, "paper=a4&prefill=YES", 0, 0), &o, &v),
             0);
    CHECK(o.paper.value == API_PAPER_A4 && o.prefill.value);
    CHECK_EQ(validate("generate_medication_pdf",
                      fake(&f, "2026-11-29", 0, "paper=letter&prefill=off", 0, 0), &o, &v),
             0);
    CHECK(o.paper.value == API_PAPER_LETTER && !o.prefill.value);
    want_422("paper and prefill",
             validate("generate_medication_pdf",
                      fake(&f, "2026-11-29", 0, "paper=A4&prefill=maybe", 0, 0), &o, &v),
             &v,
             "{\"detail\":[{\"type\":\"literal_error\",\"loc\":[\"query\",\"paper\"],\"msg\":"
             "\"Input should be 'letter' or 'a4'\",\"input\":\"A4\",\"ctx\":{\"expected\":"
             "\"'letter' or 'a4'\"}},{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"prefill\"],"
             "\"msg\":\"Input should be a valid boolean, unable to interpret input\",\"input\":"
             "\"maybe\"}]}");

    struct api_in_export e;
    CHECK_EQ(validate("export_doses_csv",
                      fake(&f, 0, 0,
                           "person_id=2&from=2026-11-01&to=2026-11-29&timezone_offset=-60", 0, 0),
                      &e, &v),
             0);
    CHECK(e.person_id.value == 2 && e.from.value.day == 1 && e.to.value.day == 29);
    CHECK(e.tz.set && e.tz.value == -60);
    CHECK_EQ(validate("export_doses_csv",
                      fake(&f, 0, 0, "person_id=1.0&from=2026-11-29&to=2026-11-29", 0, 0), &e, &v),
             0);
    CHECK(e.person_id.value == 1 && !e.tz.set);
    want_422("export missing", validate("export_doses_csv", fake(&f, 0, 0, 0, 0, 0), &e, &v), &v,
             "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"query\",\"person_id\"],\"msg\":"
             "\"Field required\",\"input\":null},{\"type\":\"missing\",\"loc\":[\"query\","
             "\"from\"],\"msg\":\"Field required\",\"input\":null},{\"type\":\"missing\","
             "\"loc\":[\"query\",\"to\"],\"msg\":\"Field required\",\"input\":null}]}");
    want_422("export bounds",
             validate("export_doses_csv",
                      fake(&f, 0, 0, "person_id=0&from=2026-11-29&to=2026-11-28", 0, 0), &e, &v),
             &v,
             "{\"detail\":[{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"person_id\"],"
             "\"msg\":\"Input should be greater than or equal to 1\",\"input\":\"0\",\"ctx\":"
             "{\"ge\":1}},{\"type\":\"value_error\",\"loc\":[\"query\",\"to\"],\"msg\":"
             "\"Value error, \\\"to\\\" must not be before \\\"from\\\" (2026-11-29)\",\"input\":"
             "\"2026-11-28\",\"ctx\":{\"error\":{}}}]}");
    want_422(
        "export tz",
        validate("export_doses_csv",
                 fake(&f, 0, 0,
                      "person_id=99999999999999999999&from=x&to=2026-11-28&timezone_offset=1440", 0,
                      0),
                 &e, &v),
        &v,
        "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"person_id\"],"
        "\"msg\":\"Input should be less than or equal to 9223372036854775807\",\"input\":"
        "\"99999999999999999999\",\"ctx\":{\"le\":9223372036854775807}},"
        "{\"type\":\"date_from_datetime_parsing\",\"loc\":[\"query\",\"from\"],"
        "\"msg\":\"Input should be a valid date or datetime, input is too short\",\"input\":"
        "\"x\",\"ctx\":{\"error\":\"input is too short\"}},{\"type\":\"less_than\","
        "\"loc\":[\"query\",\"timezone_offset\"],\"msg\":\"Input should be less than "
        "1440\",\"input\":\"1440\",\"ctx\":{\"lt\":1440}}]}");
}

static void test_hhmm(void)
{
    int h = -1, m = -1;
    CHECK_EQ(api_parse_hhmm("08:30", &h, &m), 0);
    CHECK(h == 8 && m == 30);
    CHECK_EQ(api_parse_hhmm("8:5", &h, &m), 0);
    CHECK(h == 8 && m == 5);
    CHECK_EQ(api_parse_hhmm(" 23 : 59 ", &h, &m), 0);
    CHECK(h == 23 && m == 59);
    CHECK_EQ(api_parse_hhmm("+0:0_0", &h, &m), 0);
    const char *bad[] = {"25:00", "abc",    "08:30:15", "",    "8",      "12:60",
                         "-1:00", "1e1:00", ":30",      "08:", "0x1:00", "99999999999999999999:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(api_parse_hhmm(bad[i], &h, &m), -1);
}

int main(void)
{
    arena = mt_arena_new(16u << 20);
    test_persons();
    test_integers();
    test_doses();
    test_hhmm();
    test_reports();
    mt_arena_free(arena);
    return check_report();
}
