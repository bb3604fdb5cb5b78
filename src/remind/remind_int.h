/* Internals shared by the files of src/remind: a channel's opened secrets,
 * turning a stored channel into a notify target, and the send settings.
 * Included only by src/remind. */
#ifndef MT_REMIND_REMIND_INT_H
#define MT_REMIND_REMIND_INT_H

#include <stdio.h>

#include "remind/remind.h"

/* A channel's secrets, opened: malloc'ed, wiped by remind_secrets_release. */
struct remind_secrets {
    char *plain;
    char *token;
    char *secret;
    char *url; /* the channel's full URL */
};

/* Opens sealed (NULL: no secrets, s zeroed). On success release s with
 * remind_secrets_release; on failure there is nothing to release. */
int remind_open_secrets(const struct remind_ctx *ctx, const char *sealed, struct remind_secrets *s,
                        struct mt_err *err);
void remind_secrets_release(struct remind_secrets *s);

/* The target of a stored channel with its opened secrets (borrowed). */
int remind_target(const char *type, const char *url, const char *email_to,
                  const struct remind_secrets *s, struct notify_target *t, struct mt_err *err);

/* SMTP_URL, SMTP_FROM and NOTIFY_TIMEOUT as notify wants them. */
void remind_settings(const struct remind_ctx *ctx, struct notify_settings *out);

#endif
