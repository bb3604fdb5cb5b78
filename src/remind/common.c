/* What the reminder worker and the channels API share: the context read
 * from the configuration, sealing and opening a channel's secrets (a small
 * JSON object {"token", "secret"} sealed under NOTIFY_SECRET_KEY), turning a
 * stored channel into a notify target, and the test message. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "remind/remind_int.h"

int remind_ctx_init(struct remind_ctx *ctx, const struct mt_config *cfg, struct mt_tz zone,
                    double clock_speed, struct mt_err *err)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = cfg;
    ctx->server_zone = zone;
    ctx->clock_speed = clock_speed > 0 ? clock_speed : 1;
    /* The due view's matching window (docs/schedules.md): a dose this
     * close before a slot closes it, as the due view counts it taken. */
    ctx->slot_window_minutes = cfg->slot_window_minutes;
    if (notify_smtp_url_check(cfg->smtp_url, err) < 0)
        return -1;
    if (cfg->notify_secret_key && cfg->notify_secret_key[0]) {
        if (notify_key_parse(cfg->notify_secret_key, &ctx->key, err) < 0)
            return -1;
        ctx->has_key = true;
    }
    return 0;
}

int remind_seal(const struct remind_ctx *ctx, const char *url, const char *token,
                const char *secret, char **out, struct mt_err *err)
{
    *out = NULL;
    if (!url && !token && !secret)
        return 0;
    if (!ctx->has_key)
        return mt_fail(err, MT_EINVAL,
                       "this server cannot store channel secrets (the URL, token or secret of "
                       "a channel): NOTIFY_SECRET_KEY is not set");
    json_t *doc = json_object();
    if (url)
        json_object_set_new(doc, "url", json_string(url));
    if (token)
        json_object_set_new(doc, "token", json_string(token));
    if (secret)
        json_object_set_new(doc, "secret", json_string(secret));
    char *plain = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!plain)
        return mt_fail(err, MT_EINVAL, "the channel's secret must be UTF-8 text");
    *out = notify_seal(&ctx->key, plain, err);
    notify_free_secret(plain);
    return *out ? 0 : -1;
}

int remind_open_secrets(const struct remind_ctx *ctx, const char *sealed, struct remind_secrets *s,
                        struct mt_err *err)
{
    memset(s, 0, sizeof(*s));
    if (!sealed)
        return 0;
    if (!ctx->has_key)
        return mt_fail(err, MT_EINVAL,
                       "the channel's secret cannot be opened: NOTIFY_SECRET_KEY is not set");
    s->plain = notify_unseal(&ctx->key, sealed, err);
    if (!s->plain)
        return -1;
    json_t *doc = json_loads(s->plain, 0, NULL);
    const char *token = json_string_value(json_object_get(doc, "token"));
    const char *secret = json_string_value(json_object_get(doc, "secret"));
    const char *url = json_string_value(json_object_get(doc, "url"));
    /* Copies that are wiped with the plain text (remind_secrets_release). */
    s->url = url ? strdup(url) : NULL;
    s->token = token ? strdup(token) : NULL;
    s->secret = secret ? strdup(secret) : NULL;
    json_decref(doc);
    return 0;
}

void remind_secrets_release(struct remind_secrets *s)
{
    notify_free_secret(s->plain);
    notify_free_secret(s->token);
    notify_free_secret(s->secret);
    notify_free_secret(s->url);
    memset(s, 0, sizeof(*s));
}

void remind_url_display(const char *url, char *out, size_t cap)
{
    char label[256];
    notify_url_label(url, label, sizeof(label));
    if (strstr(label, "://"))
        snprintf(out, cap, "%s/\u2026", label);
    else
        snprintf(out, cap, "%s", label);
}

bool remind_has_secret(const struct remind_ctx *ctx, const char *type, const char *sealed)
{
    if (!sealed)
        return false;
    /* A gotify channel is never stored without its token, nor a webhook
     * without its secret (the channels API refuses them), so their sealed
     * text holds one: no need to open it (and a text that would not open
     * answers true as well). Only ntfy's token is optional, and the sealed
     * text of every ntfy channel holds its URL, so that one must be looked
     * into. */
    enum notify_type t;
    if (type && notify_type_parse(type, &t) && (t == NOTIFY_GOTIFY || t == NOTIFY_WEBHOOK))
        return true;
    struct remind_secrets s;
    struct mt_err err = {0};
    if (remind_open_secrets(ctx, sealed, &s, &err) < 0)
        return true;
    bool has = s.token || s.secret;
    remind_secrets_release(&s);
    return has;
}

int remind_target(const char *type, const char *url, const char *email_to,
                  const struct remind_secrets *s, struct notify_target *t, struct mt_err *err)
{
    memset(t, 0, sizeof(*t));
    if (!notify_type_parse(type, &t->type))
        return mt_fail(err, MT_EINVAL, "unknown channel type");
    /* The full URL is sealed; the column holds it only in channels stored
     * before URLs were sealed. */
    t->url = s->url ? s->url : url;
    t->email_to = email_to;
    t->token = s->token;
    t->secret = s->secret;
    return 0;
}

void remind_settings(const struct remind_ctx *ctx, struct notify_settings *out)
{
    out->smtp_url = ctx->cfg->smtp_url;
    out->smtp_from = ctx->cfg->smtp_from;
    out->timeout_ms = ctx->cfg->notify_timeout * 1000;
    out->ca_file = ctx->cfg->notify_ca_file;
    out->cancel = NULL;
}

int remind_send_test(const struct remind_ctx *ctx, const struct store_channel *ch,
                     struct mt_err *err)
{
    struct remind_secrets s;
    if (remind_open_secrets(ctx, ch->secret_sealed, &s, err) < 0)
        return -1;
    struct notify_target t;
    int rc = remind_target(ch->type, ch->url, ch->email_to, &s, &t, err);
    if (rc == 0) {
        struct notify_settings ns;
        remind_settings(ctx, &ns);
        char event[128];
        snprintf(event, sizeof(event), "{\"kind\":\"test\",\"channel_id\":%lld}",
                 (long long)ch->id);
        struct notify_message m = {.title = "MediTrack test message",
                                   .body = "This channel works: reminders will arrive here.",
                                   .priority = 3,
                                   .tags = "white_check_mark",
                                   .event_json = event,
                                   .sent_at_s = mt_real_now_us() / MT_USEC_PER_SEC};
        rc = notify_send(&ns, &t, &m, err);
    }
    remind_secrets_release(&s);
    return rc;
}
