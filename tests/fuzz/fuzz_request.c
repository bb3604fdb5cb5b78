/* libFuzzer target over the request -> validated-input layer
 * (src/api/validate.c and src/api/coerce.c by the operation table of
 * src/api/operations.c, the JSON reader src/api/jsonin.c, and the date
 * rules of src/core/mtime.c): arbitrary bytes become a raw request (which
 * operation, path parameters, query, content type, body), the operation's
 * parameters are validated, and any 422 body is serialised. Built by `make fuzz`
 * with clang -fsanitize=fuzzer,address,undefined; the seed corpus is in
 * tests/fuzz/corpus/.
 *
 * Input format: fields separated by the byte 0x1E, in this order: operation
 * (its first byte picks one of the table's operations), path parameter 0, path
 * parameter 1, query ("a=b&c=d", already decoded), content type (empty: none),
 * body (the rest, may contain 0x1E). Missing fields are absent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/coerce.h"
#include "api/handlers.h"
#include "api/jsonin.h"
#include "api/validate.h"
#include "core/arena.h"
#include "core/mtime.h"

#define SEP 0x1E
#define MAX_QUERY 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A field copied into the arena as a C string (inner NULs cut it short, as
 * they would arrive through the HTTP server's C strings). */
static char *field(struct mt_arena *a, const uint8_t *p, size_t n)
{
    return mt_arena_strndup(a, (const char *)p, n);
}

static void serialise(struct api_vctx *v)
{
    if (v->status == 422) {
        json_t *body = api_vctx_take_body(v);
        char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        /* The 422 body must always serialise: a NULL here is a bug. */
        if (body && !text)
            abort();
        free(text);
        json_decref(body);
    }
    api_vctx_release(v);
}

/* The n-th operation of the table (modulo their number). */
static const struct api_op *nth_op(unsigned n)
{
    size_t count = 0;
    for (size_t i = 0; i < api_n_routes; i++)
        count += api_routes[i].op != NULL;
    size_t want = n % count;
    for (size_t i = 0; i < api_n_routes; i++)
        if (api_routes[i].op && want-- == 0)
            return api_routes[i].op;
    abort();
}

static void run_op(unsigned n, const struct api_request *q)
{
    const struct api_op *op = nth_op(n);
    struct api_vctx v;
    api_vctx_init(&v);
    void *in = mt_arena_alloc(q->arena, op->in_size ? op->in_size : 1);
    if (!in)
        return;
    int rc = api_validate(op, q, in, &v);
    /* Invariants the handlers rely on. */
    if (rc == 0 && v.status != 0)
        abort();
    if (rc < 0 && v.status == 0)
        abort();
    if (rc == 0 && op->handler == api_dose_for_date) {
        const struct api_in_dose_for_date *dfd = in;
        int h, m;
        if (!dfd->time.value)
            abort();
        if (api_parse_hhmm(dfd->time.value, &h, &m) == 0 && (h < 0 || h > 23 || m < 0 || m > 59))
            abort();
    }
    if (rc == 0 && op->handler == api_person_create &&
        !((const struct api_in_person *)in)->first_name.value)
        abort();
    serialise(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *fields[6] = {0};
    size_t lens[6] = {0};
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 6; i++) {
        if (i == size || (data[i] == SEP && n < 5)) {
            fields[n] = data + start;
            lens[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    if (n == 0 || lens[0] == 0)
        return 0;

    struct mt_arena *a = mt_arena_new(4u << 20);
    const char *params[2] = {"", ""};
    for (size_t k = 0; k < 2 && 1 + k < n; k++)
        params[k] = field(a, fields[1 + k], lens[1 + k]);

    struct http_kv query[MAX_QUERY];
    size_t n_query = 0;
    if (n > 3) {
        char *qs = field(a, fields[3], lens[3]);
        char *save = qs;
        while (qs && *save && n_query < MAX_QUERY) {
            char *amp = strchr(save, '&');
            if (amp)
                *amp = '\0';
            char *eq = strchr(save, '=');
            if (eq)
                *eq = '\0';
            query[n_query].name = save;
            query[n_query].value = eq ? eq + 1 : "";
            n_query++;
            if (!amp)
                break;
            save = amp + 1;
        }
    }
    const char *ctype = NULL;
    if (n > 4 && lens[4] > 0)
        ctype = field(a, fields[4], lens[4]);

    struct api_request q = {
        .arena = a,
        .params = params,
        .n_params = 2,
        .query = query,
        .n_query = n_query,
        .content_type = ctype,
        .body = n > 5 ? (const char *)fields[5] : NULL,
        .body_len = n > 5 ? lens[5] : 0,
    };
    run_op(fields[0][0], &q);

    /* The pieces on their own. */
    struct mt_date d;
    const char *reason;
    mt_pydate_from_str(params[0], strlen(params[0]), &d, &reason);
    int64_t ts;
    mt_parse_timestamp(params[1], strlen(params[1]), &ts);
    if (q.body) {
        struct api_jresult res;
        api_json_parse(a, q.body, q.body_len, &res);
        if (res.status == API_JSON_OK) {
            json_t *j = api_json_to_jansson(res.value);
            char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            free(text);
            json_decref(j);
        }
    }
    mt_arena_free(a);
    return 0;
}
