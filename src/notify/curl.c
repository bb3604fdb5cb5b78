/* The transport of notifications on libcurl, built as the loadable module
 * meditrack-notify.so (notify_module.h): one HTTP POST or one SMTP mail per
 * call, each on its own easy handle with a hard timeout, no redirects, only
 * the protocols the channel type allows, and no signals (the worker is a
 * thread). Errors name the endpoint by its label and use curl's generic
 * texts, never its error buffer, which may quote the URL. */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "core/module.h"
#include "notify/notify_module.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The body handed to libcurl piece by piece (SMTP uploads). */
struct upload {
    const char *p;
    size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ctx)
{
    struct upload *u = ctx;
    size_t room = size * nmemb;
    size_t n = u->left < room ? u->left : room;
    memcpy(dst, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* Response bodies are not needed: they are read and dropped. */
static size_t discard_cb(char *p, size_t size, size_t nmemb, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * nmemb;
}

static CURL *easy_new(int timeout_ms, struct mt_err *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        mt_fail(err, MT_EUNAVAIL, "libcurl cannot start: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        mt_fail(err, MT_EUNAVAIL, "libcurl cannot start: out of memory");
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
    return h;
}

/* The failure of a transfer that got no usable answer. */
static int transfer_failed(CURLcode rc, const char *what, const char *label, struct mt_err *err)
{
    /* Refused credentials will not get better by waiting; the rest might. */
    enum mt_code code = rc == CURLE_LOGIN_DENIED ? MT_ECONFLICT : MT_EUNAVAIL;
    return mt_fail(err, code, "%s %s failed: %s", what, label, curl_easy_strerror(rc));
}

static int http_post(const struct notify_http_request *r, long *status, struct mt_err *err)
{
    *status = 0;
    CURL *h = easy_new(r->timeout_ms, err);
    if (!h)
        return -1;
    struct curl_slist *hdrs = NULL;
    /* One header per line; curl copies each string. */
    const char *p = r->headers ? r->headers : "";
    char line[2048];
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 0 && n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = '\0';
            struct curl_slist *next = curl_slist_append(hdrs, line);
            if (next)
                hdrs = next;
        }
        p += n + (nl ? 1 : 0);
    }
    /* No "Expect: 100-continue" round trip for small bodies. */
    struct curl_slist *next = curl_slist_append(hdrs, "Expect:");
    if (next)
        hdrs = next;
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "meditrack/" MT_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
    /* A receiver must not be able to make us hold a huge answer. */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(1 << 20));
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        ret = transfer_failed(rc, "POST to", r->label, err);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return ret;
}

static int smtp_send(const struct notify_smtp_request *r, struct mt_err *err)
{
    CURL *h = easy_new(r->timeout_ms, err);
    if (!h)
        return -1;
    struct curl_slist *rcpt = curl_slist_append(NULL, r->rcpt);
    if (!rcpt) {
        curl_easy_cleanup(h);
        return mt_fail(err, MT_EUNAVAIL, "out of memory");
    }
    struct upload up = {.p = r->message, .left = r->message_len};
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* smtp://: STARTTLS when offered, or required (credentials on a
     * non-loopback host, decided by the caller); smtps:// is TLS from the
     * first byte anyway. */
    curl_easy_setopt(h, CURLOPT_USE_SSL, r->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, r->mail_from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->message_len);
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 400)
            ret = mt_fail(err, MT_ECONFLICT, "mail to %s refused: SMTP %ld", r->label, code);
        else
            ret = transfer_failed(rc, "mail to", r->label, err);
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return ret;
}

static const struct notify_transport notify_transport_ops = {
    .http_post = http_post,
    .smtp_send = smtp_send,
};

MT_MODULE_EXPORT(NOTIFY_MODULE, notify_transport_ops);
