/* Sending one message to one notification channel (docs/reminders.md): ntfy,
 * Gotify, a signed webhook or e-mail over SMTP, and the secrets around them
 * (channel secrets sealed under NOTIFY_SECRET_KEY, webhook signatures,
 * signed snooze links). This part knows nothing of the database; the
 * reminder worker (src/remind) and the channels API use it. The messages are
 * formatted here, in the binary; only the transport (libcurl, with GnuTLS and
 * some thirty libraries) is the loadable module meditrack-notify.so, opened
 * on the first send. Every function is thread-safe. */
#ifndef MT_NOTIFY_NOTIFY_H
#define MT_NOTIFY_NOTIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum notify_type { NOTIFY_NTFY, NOTIFY_GOTIFY, NOTIFY_WEBHOOK, NOTIFY_EMAIL };

/* "ntfy", "gotify", "webhook", "email"; and back (false: unknown name). */
const char *notify_type_name(enum notify_type t);
bool notify_type_parse(const char *s, enum notify_type *out);

/* Bytes of NOTIFY_SECRET_KEY. */
#define NOTIFY_KEY_BYTES 32

/* NOTIFY_SECRET_KEY: 32 bytes as 64 hex digits or as base64 (standard or
 * URL-safe, padding optional). */
struct notify_key {
    unsigned char k[NOTIFY_KEY_BYTES];
};
/* Reads text into *out. MT_EINVAL naming the accepted forms (never quoting
 * text) when it is neither. */
int notify_key_parse(const char *text, struct notify_key *out, struct mt_err *err);

/* The server-wide settings a send needs; the strings are borrowed. */
struct notify_settings {
    const char *smtp_url;  /* SMTP_URL: smtp://[user:pass@]host[:port] or smtps://; "" = none */
    const char *smtp_from; /* SMTP_FROM: "Name <addr>" or "addr"; "" = none */
    int timeout_ms;        /* for the whole of one send, connecting included */
    const char *ca_file;   /* NOTIFY_CA_FILE: PEM CAs to verify TLS peers; NULL or "": the
                              system's */
    /* When set (may be NULL), a send in progress gives up within about a
     * second once it turns true (the worker's stop at shutdown). */
    const atomic_bool *cancel;
};

/* One channel as the sender needs it, secrets opened. Borrowed strings. */
struct notify_target {
    enum notify_type type;
    const char *url;      /* ntfy: topic URL; gotify: server base URL; webhook: URL */
    const char *email_to; /* email: the recipient address */
    const char *token;    /* ntfy: bearer token; gotify: application token; NULL: none */
    const char *secret;   /* webhook: the HMAC secret (required) */
};

/* One message. Borrowed strings; NULL for the optional ones. */
struct notify_message {
    const char *title;        /* one line */
    const char *body;         /* text */
    int priority;             /* 1 (min) .. 5 (max), ntfy's scale; 3 is the default */
    const char *tags;         /* ntfy tags, comma-separated: "pill,alarm_clock" */
    const char *action_label; /* a link the receiver can act on, e.g. "Snooze 15 min" */
    const char *action_url;
    const char *event_json; /* webhook: a JSON object with the event's fields, merged into
                               the document posted (kind, ids, slot_at, ...); NULL: none */
    int64_t sent_at_s;      /* the real time of sending, Unix seconds (Date, timestamps) */
};

/* Sends msg to target, within settings->timeout_ms. On failure MT_EUNAVAIL
 * (cannot connect, timed out, TLS failed), MT_ECONFLICT (the receiver
 * answered with a non-2xx status or refused the mail), MT_EINVAL (a target
 * that cannot be used, e.g. e-mail without SMTP_URL), or MT_EUNAVAIL when
 * the notify module cannot be loaded. The message names the receiver by
 * scheme, host and port only, never a path, query, token or password, so it
 * may be logged and stored as a delivery's last_error. */
int notify_send(const struct notify_settings *settings, const struct notify_target *target,
                const struct notify_message *msg, struct mt_err *err);

/* Checks a channel's public fields before it is stored: the URL is http(s)
 * with a host and no user-info (and for gotify, ntfy: no fragment), the
 * e-mail address is one plain address. MT_EINVAL saying what is wrong,
 * never quoting the URL (it may hold a token). */
int notify_target_check(enum notify_type type, const char *url, const char *email_to,
                        struct mt_err *err);

/* Checks SMTP_URL at start-up (empty: fine): smtp:// or smtps://, a host,
 * and no unencoded '/', '?' or '#' in the user or password (libcurl would
 * end the authority there). MT_EINVAL with a message that never quotes
 * the URL. */
int notify_smtp_url_check(const char *url, struct mt_err *err);

/* "scheme://host[:port]" of url into out (cap bytes): how errors and logs
 * name an endpoint. "(invalid URL)" for text that is not a URL. */
void notify_url_label(const char *url, char *out, size_t cap);

/* Sealing channel secrets (libsodium secretbox, XSalsa20-Poly1305): the
 * base64 of a fresh 24-byte nonce followed by the box of plain. Returns a
 * malloc'ed NUL-terminated text (the caller frees it) or NULL with
 * MT_EINTERNAL. */
char *notify_seal(const struct notify_key *key, const char *plain, struct mt_err *err);
/* Opens what notify_seal made. Returns a malloc'ed text the caller wipes
 * (notify_free_secret) or NULL: MT_EINVAL when sealed is not such a text or
 * was sealed under another key (the message says so, nothing more). */
char *notify_unseal(const struct notify_key *key, const char *sealed, struct mt_err *err);
/* Zeroes and frees a secret text; NULL is accepted. */
void notify_free_secret(char *s);

/* The webhook signature: "sha256=" and the lower-case hex HMAC-SHA256 of the
 * len bytes at body under secret, into out (NOTIFY_SIG_BUF bytes). */
#define NOTIFY_SIG_BUF (7 + 64 + 1)
void notify_webhook_signature(const char *secret, const char *body, size_t len,
                              char out[NOTIFY_SIG_BUF]);

/* Signed snooze links: sig is the base64url HMAC-SHA256, under a key derived
 * from NOTIFY_SECRET_KEY for this purpose only, of "snooze:<slot>:<minutes>:
 * <expires>" (a duration, counted from the click, and Unix seconds), into
 * out (NOTIFY_LINK_SIG_BUF bytes). */
#define NOTIFY_LINK_SIG_BUF 44
void notify_link_sign(const struct notify_key *key, int64_t slot_id, int64_t minutes,
                      int64_t expires_s, char out[NOTIFY_LINK_SIG_BUF]);
/* True when sig is the signature of those values (constant-time). */
bool notify_link_verify(const struct notify_key *key, int64_t slot_id, int64_t minutes,
                        int64_t expires_s, const char *sig);

/* The parts of one send, as formatted in the binary; exposed for the unit
 * tests (tests/unit/test_notify.c). Each fills the caller's initialised
 * buffers: headers as "Name: value" lines joined by '\n', and the body. */
int notify_format_ntfy(const struct notify_target *t, const struct notify_message *m,
                       struct mt_buf *headers, struct mt_buf *body, struct mt_err *err);
int notify_format_gotify(const struct notify_target *t, const struct notify_message *m,
                         struct mt_buf *headers, struct mt_buf *body, struct mt_err *err);
int notify_format_webhook(const struct notify_target *t, const struct notify_message *m,
                          struct mt_buf *headers, struct mt_buf *body, struct mt_err *err);
/* The RFC 5322 message (headers, blank line, base64 body, CRLF line ends). */
int notify_format_email(const struct notify_settings *s, const struct notify_target *t,
                        const struct notify_message *m, struct mt_buf *out, struct mt_err *err);

#endif
