/* Reminders (issue 16, docs/reminders.md): the worker that `serve` runs in
 * every replica, which plans reminder slots from the medication schedules a
 * bounded time ahead, closes slots when a dose is recorded, plans repeats
 * and escalations, and claims and sends due deliveries under a lease; and
 * the pieces the API shares with it (sealing a channel's secrets, sending a
 * channel's test message, snooze links). Uses store and notify; the worker
 * follows the server's clock (mt_now_us), so the test clock makes a day of
 * reminders pass in seconds. */
#ifndef MT_REMIND_REMIND_H
#define MT_REMIND_REMIND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/tz.h"
#include "db/db.h"
#include "notify/notify.h"
#include "store/reminders.h"

/* What the worker and the API need of the configuration, read once. */
struct remind_ctx {
    const struct mt_config *cfg; /* borrowed; outlives the context */
    bool has_key;                /* NOTIFY_SECRET_KEY is set */
    struct notify_key key;
    struct mt_tz server_zone; /* persons without a zone of their own */
    double clock_speed;       /* the test clock's factor; 1 otherwise */
    int slot_window_minutes;  /* a dose this close before a slot closes it */
};

/* Fills ctx from cfg. MT_EINVAL when NOTIFY_SECRET_KEY is set but not 32
 * bytes of hex or base64. */
int remind_ctx_init(struct remind_ctx *ctx, const struct mt_config *cfg, struct mt_tz zone,
                    double clock_speed, struct mt_err *err);

/* The sealed secrets of a channel (its full URL, token and/or secret; NULL
 * when none): malloc'ed into *out (the caller frees). The URL is a secret
 * too: an ntfy topic URL is the credential, a webhook URL may carry a
 * token in its path or query. MT_EINVAL (a 400 for the client) when there
 * is one but NOTIFY_SECRET_KEY is not set. */
int remind_seal(const struct remind_ctx *ctx, const char *url, const char *token,
                const char *secret, char **out, struct mt_err *err);

/* What a channel's URL is shown and stored in clear as: "scheme://host/…"
 * ("scheme://host:port/…" with a port), never its path or query. Into out
 * (cap bytes). */
void remind_url_display(const char *url, char *out, size_t cap);

/* Whether the sealed secrets of a channel of that type ("ntfy", ...) hold a
 * token or a secret (its "has_secret"); true when they cannot be opened.
 * Opens them only when the type does not answer it (ntfy, whose token is
 * optional). */
bool remind_has_secret(const struct remind_ctx *ctx, const char *type, const char *sealed);

/* Sends the channel's test message now. 0 when it was delivered; -1 with
 * the reason (no secret in it) otherwise. */
int remind_send_test(const struct remind_ctx *ctx, const struct store_channel *ch,
                     struct mt_err *err);

/* The worker: one thread per process. */
struct remind_worker;

/* Starts the worker on pool (borrowed: it must outlive the worker). ctx is
 * copied. NULL with err when the thread cannot start. */
struct remind_worker *remind_worker_start(const struct remind_ctx *ctx, struct db_pool *pool,
                                          struct mt_err *err);
/* Asks the worker to stop; it does so after the send in flight, if any
 * (bounded by NOTIFY_TIMEOUT). NULL is accepted. */
void remind_worker_request_stop(struct remind_worker *w);
/* Stops, waits for the thread and frees. NULL is accepted. */
void remind_worker_free(struct remind_worker *w);

#endif
