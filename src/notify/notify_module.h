/* The seam between the binary and the transport module (meditrack-notify.so):
 * curl.c is built into the module, whose exported table (core/module.h) is a
 * struct notify_transport; send.c reaches it through mt_module_get on the
 * first send, so that no command, and no server without channels, loads
 * libcurl (about 4.6 ms at every start, docs/reminders.md). The binary
 * formats every message; the module only moves bytes. Included by
 * src/notify only. */
#ifndef MT_NOTIFY_NOTIFY_MODULE_H
#define MT_NOTIFY_NOTIFY_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define NOTIFY_MODULE "meditrack-notify.so"

/* One HTTP POST. Borrowed strings. */
struct notify_http_request {
    const char *url;
    const char *label;   /* scheme://host:port, the only name errors may use */
    const char *headers; /* "Name: value" lines joined by '\n' (no trailing one needed) */
    const char *body;
    size_t body_len;
    int timeout_ms;
};

/* One mail over SMTP. Borrowed strings. */
struct notify_smtp_request {
    const char *url;   /* SMTP_URL, credentials included: never quoted */
    const char *label; /* scheme://host:port */
    const char *mail_from;
    const char *rcpt;
    const char *message; /* RFC 5322, CRLF line ends */
    size_t message_len;
    bool require_tls; /* smtp:// only: refuse to go on without STARTTLS */
    int timeout_ms;
};

struct notify_transport {
    /* Posts; fills *status with the HTTP status received. 0 on any answer
     * (the caller judges the status), -1 with MT_EUNAVAIL when none came. */
    int (*http_post)(const struct notify_http_request *r, long *status, struct mt_err *err);
    /* 0 when the server accepted the mail; -1 with MT_EUNAVAIL (no
     * connection, timeout, TLS) or MT_ECONFLICT (refused by the server). */
    int (*smtp_send)(const struct notify_smtp_request *r, struct mt_err *err);
};

#endif
