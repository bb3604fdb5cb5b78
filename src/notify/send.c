/* Formatting one notification per channel type and handing it to the
 * transport module: ntfy's headers (Title, Priority, Tags, Actions,
 * Authorization), Gotify's JSON with X-Gotify-Key, the webhook's signed JSON
 * document and the RFC 5322 mail. Everything that decides what is sent is
 * here, in the binary, so that the unit tests check it without a network;
 * the module (curl.c) only moves the bytes. */
#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/module.h"
#include "core/secret.h"
#include "notify/notify.h"
#include "notify/notify_module.h"

static struct mt_module transport = MT_MODULE_INIT(NOTIFY_MODULE, struct notify_transport);

/* Ceilings of what one message may grow to; all inputs are bounded by the
 * channel and message limits, these only make the bound explicit. */
enum { HEADERS_MAX = 16384, BODY_MAX = 65536, URL_MAX = 2000, LABEL_MAX = 300 };

static const char *const type_names[] = {[NOTIFY_NTFY] = "ntfy",
                                         [NOTIFY_GOTIFY] = "gotify",
                                         [NOTIFY_WEBHOOK] = "webhook",
                                         [NOTIFY_EMAIL] = "email"};

const char *notify_type_name(enum notify_type t)
{
    return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

bool notify_type_parse(const char *s, enum notify_type *out)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (s && strcmp(s, type_names[i]) == 0) {
            *out = (enum notify_type)i;
            return true;
        }
    }
    return false;
}

/* The parts of an http(s) URL that checks and labels need. */
struct url_parts {
    bool https;
    const char *host; /* after the user-info */
    size_t host_len;  /* host and port */
    bool userinfo, query, fragment;
};

static bool url_split(const char *url, struct url_parts *u)
{
    memset(u, 0, sizeof(*u));
    const char *rest;
    if (!url)
        return false;
    if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        u->https = true;
        rest = url + 8;
    } else {
        return false;
    }
    size_t auth_len = strcspn(rest, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (rest[i] == '@')
            at = rest + i;
    u->userinfo = at != NULL;
    u->host = at ? at + 1 : rest;
    u->host_len = auth_len - (size_t)(u->host - rest);
    u->query = strchr(rest, '?') != NULL;
    u->fragment = strchr(rest, '#') != NULL;
    return u->host_len > 0;
}

int notify_smtp_url_check(const char *url, struct mt_err *err)
{
    if (!url || !url[0])
        return 0;
    bool smtps = strncmp(url, "smtps://", 8) == 0;
    if (!smtps && strncmp(url, "smtp://", 7) != 0)
        return mt_fail(err, MT_EINVAL, "SMTP_URL must start with smtp:// or smtps://");
    const char *auth = url + (smtps ? 8 : 7);
    const char *at = strrchr(auth, '@');
    if (at && strcspn(auth, "/?#") < (size_t)(at - auth))
        return mt_fail(err, MT_EINVAL,
                       "SMTP_URL: the user or password holds an unencoded '/', '?' or '#' "
                       "(write them as %%2F, %%3F, %%23)");
    const char *host = at ? at + 1 : auth;
    if (!host[0] || host[0] == '/' || host[0] == ':')
        return mt_fail(err, MT_EINVAL, "SMTP_URL has no host");
    return 0;
}

void notify_url_label(const char *url, char *out, size_t cap)
{
    struct url_parts u;
    if (cap == 0)
        return;
    /* smtp(s):// URLs are labelled the same way. */
    const char *scheme_end = url ? strstr(url, "://") : NULL;
    if (!scheme_end || scheme_end == url || (size_t)(scheme_end - url) > 10) {
        snprintf(out, cap, "(invalid URL)");
        return;
    }
    char tmp[16];
    size_t sl = (size_t)(scheme_end - url);
    memcpy(tmp, url, sl);
    tmp[sl] = '\0';
    char as_http[LABEL_MAX];
    /* Reuse the http splitter on "http://" + authority. An smtp(s):// URL
     * has no path, so its host follows the last '@' whatever comes before
     * it: a password with an unencoded '/', '?' or '#' must not end the
     * authority early and turn up in the label. */
    const char *auth = scheme_end + 3;
    bool is_smtp = strcmp(tmp, "smtp") == 0 || strcmp(tmp, "smtps") == 0;
    const char *last_at = is_smtp ? strrchr(auth, '@') : NULL;
    if (last_at)
        auth = last_at + 1;
    int n = snprintf(as_http, sizeof(as_http), "http://%.*s", LABEL_MAX - 8, auth);
    if (n < 0 || !url_split(as_http, &u)) {
        snprintf(out, cap, "(invalid URL)");
        return;
    }
    snprintf(out, cap, "%s://%.*s", tmp, (int)u.host_len, u.host);
}

/* True when s holds only printable characters and UTF-8 (no control
 * characters, so nothing can split a header or a line). */
static bool clean_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool ascii_printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

/* One plain address: local@domain, no spaces, brackets, commas or quotes. */
static bool plain_address(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > 320 || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>,;:\"()[]\\", *p))
            return false;
    return true;
}

int notify_target_check(enum notify_type type, const char *url, const char *email_to,
                        struct mt_err *err)
{
    if (type == NOTIFY_EMAIL) {
        if (!email_to || !plain_address(email_to))
            return mt_fail(err, MT_EINVAL,
                           "invalid \"to\": expected one e-mail address like name@example.org");
        return 0;
    }
    struct url_parts u;
    if (!url || strlen(url) > URL_MAX || !ascii_printable(url) || strchr(url, ' ') ||
        !url_split(url, &u))
        return mt_fail(err, MT_EINVAL,
                       "invalid \"url\": expected an http:// or https:// URL of at most %d "
                       "characters",
                       URL_MAX);
    if (u.userinfo)
        return mt_fail(err, MT_EINVAL,
                       "invalid \"url\": a user or password in the URL is not accepted; give "
                       "the secret as \"token\" or \"secret\", which are stored encrypted");
    if (type != NOTIFY_WEBHOOK && (u.query || u.fragment))
        return mt_fail(err, MT_EINVAL,
                       "invalid \"url\": no query or fragment for %s; give a token as "
                       "\"token\", which is stored encrypted",
                       notify_type_name(type));
    return 0;
}

/* An RFC 2047 encoded word (or several, for long texts) of UTF-8 text:
 * each word carries at most 45 bytes, cut at character boundaries, so it
 * stays within 75 characters; fold is put between words. */
static void add_encoded_words(struct mt_buf *b, const char *s, const char *fold)
{
    size_t n = strlen(s), i = 0;
    bool first = true;
    while (i < n) {
        size_t take = n - i < 45 ? n - i : 45;
        /* Do not split a UTF-8 sequence: back off continuation bytes. */
        while (i + take < n && take > 0 && ((unsigned char)s[i + take] & 0xc0) == 0x80)
            take--;
        char enc[sodium_base64_ENCODED_LEN(45, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)s + i, take,
                          sodium_base64_VARIANT_ORIGINAL);
        if (!first)
            mt_buf_adds(b, fold);
        mt_buf_addf(b, "=?UTF-8?B?%s?=", enc);
        first = false;
        i += take;
    }
}

/* A header value from our own text: ASCII as it is, anything else as
 * encoded words (ntfy reads RFC 2047 in its headers). */
static void add_header_text(struct mt_buf *b, const char *s, const char *fold)
{
    if (ascii_printable(s))
        mt_buf_adds(b, s);
    else
        add_encoded_words(b, s, fold);
}

static int check_message(const struct notify_message *m, struct mt_err *err)
{
    if (!m->title || !m->body || !clean_text(m->title))
        return mt_fail(err, MT_EINVAL, "a notification needs a one-line title and a body");
    if ((m->tags && !ascii_printable(m->tags)) ||
        (m->action_url && (!ascii_printable(m->action_url) || strchr(m->action_url, ','))) ||
        (m->action_label && !clean_text(m->action_label)))
        return mt_fail(err, MT_EINVAL, "a notification's tags and action must be plain text");
    return 0;
}

static int check_token(const char *token, struct mt_err *err)
{
    if (token && (!ascii_printable(token) || strchr(token, ' ')))
        return mt_fail(err, MT_EINVAL, "the channel's token holds characters a header cannot");
    return 0;
}

int notify_format_ntfy(const struct notify_target *t, const struct notify_message *m,
                       struct mt_buf *headers, struct mt_buf *body, struct mt_err *err)
{
    if (check_message(m, err) < 0 || check_token(t->token, err) < 0)
        return -1;
    int prio = m->priority < 1 ? 3 : m->priority > 5 ? 5 : m->priority;
    mt_buf_adds(headers, "Content-Type: text/plain; charset=utf-8\nTitle: ");
    add_header_text(headers, m->title, " ");
    mt_buf_addf(headers, "\nPriority: %d", prio);
    if (m->tags && m->tags[0])
        mt_buf_addf(headers, "\nTags: %s", m->tags);
    if (m->action_url && m->action_url[0]) {
        /* An "http" action: the ntfy app calls the link in the background,
         * so snoozing needs no browser; the label is quoted as ntfy's
         * action syntax wants for text with commas. */
        mt_buf_adds(headers, "\nActions: http, \"");
        struct mt_buf label;
        mt_buf_init(&label, 512);
        for (const char *p = m->action_label ? m->action_label : "Snooze"; *p; p++)
            if (*p != '"')
                mt_buf_addc(&label, *p);
        add_header_text(headers, label.data, " ");
        mt_buf_release(&label);
        mt_buf_addf(headers, "\", %s, method=GET, clear=true", m->action_url);
    }
    if (t->token && t->token[0])
        mt_buf_addf(headers, "\nAuthorization: Bearer %s", t->token);
    mt_buf_adds(body, m->body);
    if (headers->failed || body->failed)
        return mt_fail(err, MT_ELIMIT, "the notification is too large");
    return 0;
}

/* Serialises doc (stolen) compactly into body. */
static int dump_json(json_t *doc, struct mt_buf *body, struct mt_err *err)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (!text)
        return mt_fail(err, MT_EINTERNAL, "cannot serialise the notification");
    mt_buf_adds(body, text);
    free(text);
    if (body->failed)
        return mt_fail(err, MT_ELIMIT, "the notification is too large");
    return 0;
}

int notify_format_gotify(const struct notify_target *t, const struct notify_message *m,
                         struct mt_buf *headers, struct mt_buf *body, struct mt_err *err)
{
    if (check_message(m, err) < 0 || check_token(t->token, err) < 0)
        return -1;
    if (!t->token || !t->token[0])
        return mt_fail(err, MT_EINVAL, "a gotify channel needs its application token");
    /* Gotify's priorities run 0..10; ntfy's 1..5 map onto its usual steps. */
    static const int gotify_prio[] = {0, 1, 4, 5, 8, 10};
    int prio = m->priority < 1 ? 3 : m->priority > 5 ? 5 : m->priority;
    json_t *doc = json_object();
    json_object_set_new(doc, "title", json_string(m->title));
    json_object_set_new(doc, "message", json_string(m->body));
    json_object_set_new(doc, "priority", json_integer(gotify_prio[prio]));
    if (m->action_url && m->action_url[0])
        json_object_set_new(
            doc, "extras",
            json_pack("{s:{s:{s:s}}}", "client::notification", "click", "url", m->action_url));
    mt_buf_addf(headers, "Content-Type: application/json\nX-Gotify-Key: %s", t->token);
    return dump_json(doc, body, err);
}

int notify_format_webhook(const struct notify_target *t, const struct notify_message *m,
                          struct mt_buf *headers, struct mt_buf *body, struct mt_err *err)
{
    if (check_message(m, err) < 0)
        return -1;
    if (!t->secret || !t->secret[0])
        return mt_fail(err, MT_EINVAL, "a webhook channel needs its shared secret");
    json_t *doc = json_object();
    if (m->event_json) {
        json_t *ev = json_loads(m->event_json, 0, NULL);
        if (json_is_object(ev))
            json_object_update(doc, ev);
        json_decref(ev);
    }
    json_object_set_new(doc, "title", json_string(m->title));
    json_object_set_new(doc, "message", json_string(m->body));
    json_object_set_new(doc, "priority", json_integer(m->priority < 1 ? 3 : m->priority));
    if (m->action_url && m->action_url[0])
        json_object_set_new(doc, "snooze_url", json_string(m->action_url));
    /* The timestamp is inside the signed body too, so a receiver that checks
     * the signature and the age of the timestamp refuses replays. */
    json_object_set_new(doc, "timestamp", json_integer(m->sent_at_s));
    if (dump_json(doc, body, err) < 0)
        return -1;
    char sig[NOTIFY_SIG_BUF];
    notify_webhook_signature(t->secret, body->data, body->len, sig);
    mt_buf_addf(headers,
                "Content-Type: application/json\nX-MediTrack-Timestamp: %lld\n"
                "X-MediTrack-Signature: %s",
                (long long)m->sent_at_s, sig);
    return headers->failed ? mt_fail(err, MT_ELIMIT, "the notification is too large") : 0;
}

/* RFC 5322 date-time in UTC, independent of the locale. */
static void rfc5322_date(int64_t t_s, char *out, size_t cap)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t_s;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, cap, "Thu, 01 Jan 1970 00:00:00 +0000");
        return;
    }
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The address inside SMTP_FROM ("Name <addr>" or "addr") into out. */
static bool from_address(const char *from, char *out, size_t cap)
{
    const char *lt = strrchr(from, '<');
    const char *start = lt ? lt + 1 : from;
    size_t n = lt ? strcspn(start, ">") : strlen(start);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, start, n);
    out[n] = '\0';
    return plain_address(out);
}

int notify_format_email(const struct notify_settings *s, const struct notify_target *t,
                        const struct notify_message *m, struct mt_buf *out, struct mt_err *err)
{
    if (check_message(m, err) < 0)
        return -1;
    char from_addr[330];
    if (!s->smtp_from || !s->smtp_from[0] || !clean_text(s->smtp_from) ||
        !from_address(s->smtp_from, from_addr, sizeof(from_addr)))
        return mt_fail(err, MT_EINVAL,
                       "e-mail channels need SMTP_FROM (an address, or "
                       "\"Name <address>\")");
    if (!t->email_to || !plain_address(t->email_to))
        return mt_fail(err, MT_EINVAL, "the channel's e-mail address cannot be used");
    char date[64];
    rfc5322_date(m->sent_at_s, date, sizeof(date));
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof(rnd));
    char rnd_hex[33];
    sodium_bin2hex(rnd_hex, sizeof(rnd_hex), rnd, sizeof(rnd));
    /* The display name of SMTP_FROM goes out as written when it is ASCII,
     * else as encoded words; the address itself is always plain. */
    mt_buf_adds(out, "From: ");
    const char *lt = strrchr(s->smtp_from, '<');
    if (lt && lt > s->smtp_from) {
        char name[256];
        size_t n = (size_t)(lt - s->smtp_from);
        while (n > 0 && s->smtp_from[n - 1] == ' ')
            n--;
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, s->smtp_from, n);
        name[n] = '\0';
        add_header_text(out, name, "\r\n ");
        mt_buf_addf(out, " <%s>\r\n", from_addr);
    } else {
        mt_buf_addf(out, "%s\r\n", from_addr);
    }
    mt_buf_addf(out, "To: %s\r\nSubject: ", t->email_to);
    add_header_text(out, m->title, "\r\n ");
    mt_buf_addf(out,
                "\r\nDate: %s\r\nMessage-ID: <%s.%lld@%s>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: base64\r\n"
                "Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n\r\n",
                date, rnd_hex, (long long)m->sent_at_s, strchr(from_addr, '@') + 1);
    /* The text, with the snooze link when there is one, in base64 lines of
     * 76 characters (any UTF-8 and any line length survive every relay). */
    struct mt_buf text;
    mt_buf_init(&text, BODY_MAX);
    mt_buf_adds(&text, m->body);
    if (m->action_url && m->action_url[0])
        mt_buf_addf(&text, "\n\n%s: %s\n", m->action_label ? m->action_label : "Snooze",
                    m->action_url);
    for (size_t i = 0; i < text.len; i += 57) {
        size_t n = text.len - i < 57 ? text.len - i : 57;
        char line[sodium_base64_ENCODED_LEN(57, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(line, sizeof(line), (const unsigned char *)text.data + i, n,
                          sodium_base64_VARIANT_ORIGINAL);
        mt_buf_addf(out, "%s\r\n", line);
    }
    bool too_big = text.failed || out->failed;
    mt_buf_release(&text);
    return too_big ? mt_fail(err, MT_ELIMIT, "the notification is too large") : 0;
}

/* True when the host of an smtp URL is the loopback interface, where
 * credentials may go without TLS (a local relay). */
static bool loopback_host(const char *label)
{
    const char *h = strstr(label, "://");
    h = h ? h + 3 : label;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
           strncmp(h, "[::1]", 5) == 0;
}

static int send_email(const struct notify_settings *s, const struct notify_target *t,
                      const struct notify_message *m, struct mt_err *err)
{
    if (!s->smtp_url || !s->smtp_url[0])
        return mt_fail(err, MT_EINVAL, "e-mail channels need SMTP_URL");
    bool smtps = strncmp(s->smtp_url, "smtps://", 8) == 0;
    if (!smtps && strncmp(s->smtp_url, "smtp://", 7) != 0)
        return mt_fail(err, MT_EINVAL, "SMTP_URL must start with smtp:// or smtps://");
    char label[LABEL_MAX];
    notify_url_label(s->smtp_url, label, sizeof(label));
    struct mt_buf msg;
    mt_buf_init(&msg, BODY_MAX * 2);
    if (notify_format_email(s, t, m, &msg, err) < 0) {
        mt_buf_release(&msg);
        return -1;
    }
    char from_addr[330];
    from_address(s->smtp_from, from_addr, sizeof(from_addr));
    const struct notify_transport *ops = mt_module_get(&transport, err);
    int rc = -1;
    if (ops) {
        /* Credentials over a network in clear text are refused: with a user in
         * SMTP_URL, smtp:// must get STARTTLS unless the relay is local. */
        const char *auth = s->smtp_url + (smtps ? 8 : 7);
        bool has_user = strchr(auth, '@') != NULL;
        struct notify_smtp_request r = {.url = s->smtp_url,
                                        .label = label,
                                        .mail_from = from_addr,
                                        .rcpt = t->email_to,
                                        .message = msg.data,
                                        .message_len = msg.len,
                                        .require_tls = !smtps && has_user && !loopback_host(label),
                                        .timeout_ms = s->timeout_ms,
                                        .ca_file = s->ca_file && s->ca_file[0] ? s->ca_file : NULL,
                                        .cancel = s->cancel};
        rc = ops->smtp_send(&r, err);
    }
    mt_buf_release(&msg);
    return rc;
}

/* The URL posted to: ntfy and webhooks as given; Gotify's /message under
 * the base URL. */
static void post_url(const struct notify_target *t, char *out, size_t cap)
{
    if (t->type != NOTIFY_GOTIFY) {
        snprintf(out, cap, "%s", t->url);
        return;
    }
    size_t n = strlen(t->url);
    while (n > 0 && t->url[n - 1] == '/')
        n--;
    snprintf(out, cap, "%.*s/message", (int)n, t->url);
}

int notify_send(const struct notify_settings *s, const struct notify_target *t,
                const struct notify_message *m, struct mt_err *err)
{
    if (t->type == NOTIFY_EMAIL)
        return send_email(s, t, m, err);
    if (notify_target_check(t->type, t->url, NULL, err) < 0)
        return -1;
    struct mt_buf headers, body;
    mt_buf_init(&headers, HEADERS_MAX);
    mt_buf_init(&body, BODY_MAX);
    int rc;
    if (t->type == NOTIFY_NTFY)
        rc = notify_format_ntfy(t, m, &headers, &body, err);
    else if (t->type == NOTIFY_GOTIFY)
        rc = notify_format_gotify(t, m, &headers, &body, err);
    else
        rc = notify_format_webhook(t, m, &headers, &body, err);
    const struct notify_transport *ops = rc == 0 ? mt_module_get(&transport, err) : NULL;
    if (ops) {
        char url[URL_MAX + 16], label[LABEL_MAX];
        post_url(t, url, sizeof(url));
        notify_url_label(t->url, label, sizeof(label));
        struct notify_http_request r = {.url = url,
                                        .label = label,
                                        .headers = headers.data,
                                        .body = body.data,
                                        .body_len = body.len,
                                        .timeout_ms = s->timeout_ms,
                                        .ca_file = s->ca_file && s->ca_file[0] ? s->ca_file : NULL,
                                        .cancel = s->cancel};
        long status = 0;
        rc = ops->http_post(&r, &status, err);
        if (rc == 0 && (status < 200 || status > 299))
            rc = mt_fail(err, MT_ECONFLICT, "%s at %s answered HTTP %ld", notify_type_name(t->type),
                         label, status);
        sodium_memzero(url, sizeof(url));
    } else {
        rc = -1;
    }
    /* The headers may hold a token: wipe them before they are freed. */
    sodium_memzero(headers.data, headers.len);
    mt_buf_release(&headers);
    mt_buf_release(&body);
    return rc;
}
