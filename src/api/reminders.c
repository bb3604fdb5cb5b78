/* The reminders API (issue 16, docs/reminders.md): notification channels of
 * a person and of the signed-in account, a channel's test message, a
 * person's reminder settings, the delivery log (GET /api/v1/notifications),
 * the signed snooze link and the signed-in snooze of the due list. Channel
 * secrets are sealed before they reach the store and never leave it again:
 * replies say "has_secret". */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "core/log.h"
#include "core/schedule.h"
#include "remind/remind.h"
#include "store/auth.h"
#include "store/reminders.h"

const char *const api_channel_types[] = {"ntfy", "gotify", "webhook", "email", NULL};

/* Longest token or webhook secret accepted. */
enum { SECRET_MAX = 512 };

static json_t *time_json(struct store_time t)
{
    char buf[MT_TIME_BUF];
    if (!t.present)
        return json_null();
    if (!t.parsed)
        return json_string(t.raw ? t.raw : "");
    return json_string(mt_format_iso(t.us, buf, sizeof(buf)));
}

static json_t *opt_int(bool has, int64_t v)
{
    return has ? json_integer(v) : json_null();
}

static json_t *opt_text(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const struct remind_ctx *remind_of(struct api_call *call)
{
    return call->r->app->remind;
}

/* A channel as answered: its URL only in the display form (also for a row
 * stored before URLs were sealed), "has_secret" for a token or secret. */
static json_t *channel_json(const struct remind_ctx *rc, const struct store_channel *ch)
{
    char shown[300];
    if (ch->url)
        remind_url_display(ch->url, shown, sizeof(shown));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ch->id));
    json_object_set_new(o, "person_id", opt_int(ch->has_person, ch->person_id));
    json_object_set_new(o, "account_id", opt_int(ch->has_account, ch->account_id));
    json_object_set_new(o, "type", json_string(ch->type));
    json_object_set_new(o, "url", ch->url ? json_string(shown) : json_null());
    json_object_set_new(o, "to", opt_text(ch->email_to));
    json_object_set_new(o, "enabled", json_boolean(ch->enabled));
    json_object_set_new(o, "has_secret",
                        json_boolean(rc ? remind_has_secret(rc, ch->type, ch->secret_sealed)
                                        : ch->secret_sealed != NULL));
    json_object_set_new(o, "created_at", time_json(ch->created_at));
    return o;
}

/* Checks the fields of a new channel by its type and seals its secrets
 * into ch. */
static int build_channel(struct api_call *call, const struct api_in_channel *in,
                         struct store_channel *ch, struct mt_err *err)
{
    const struct remind_ctx *rc = remind_of(call);
    enum notify_type type = (enum notify_type)in->type.value;
    const char *url = in->url.set ? in->url.value : NULL;
    const char *to = in->to.set ? in->to.value : NULL;
    const char *token =
        in->token.set && in->token.value && in->token.value[0] ? in->token.value : NULL;
    const char *secret =
        in->secret.set && in->secret.value && in->secret.value[0] ? in->secret.value : NULL;
    if (!rc)
        return mt_fail(err, MT_EINTERNAL, "reminders are not set up in this process");
    if (type == NOTIFY_EMAIL) {
        if (url || token || secret)
            return mt_fail(err, MT_EINVAL,
                           "an email channel takes \"to\" only (the mail server is SMTP_URL)");
        if (!rc->cfg->smtp_url[0] || !rc->cfg->smtp_from[0])
            return mt_fail(err, MT_EINVAL,
                           "email channels need SMTP_URL and SMTP_FROM in the server's "
                           "configuration");
    } else {
        if (to)
            return mt_fail(err, MT_EINVAL, "\"to\" is for email channels only");
        if (!url)
            return mt_fail(err, MT_EINVAL, "a %s channel needs \"url\"", notify_type_name(type));
    }
    if (type == NOTIFY_GOTIFY && !token)
        return mt_fail(err, MT_EINVAL, "a gotify channel needs \"token\" (an application token)");
    if (type == NOTIFY_WEBHOOK && !secret)
        return mt_fail(err, MT_EINVAL,
                       "a webhook channel needs \"secret\" (the shared secret of its signature)");
    if (type != NOTIFY_WEBHOOK && secret)
        return mt_fail(err, MT_EINVAL, "\"secret\" is for webhook channels only");
    if (type == NOTIFY_WEBHOOK && token)
        return mt_fail(err, MT_EINVAL, "\"token\" is not used by webhook channels");
    if (token) {
        for (const char *p = token; *p; p++)
            if (*p <= 0x20 || *p >= 0x7f)
                return mt_fail(err, MT_EINVAL,
                               "invalid \"token\": printable ASCII without spaces expected");
    }
    if (notify_target_check(type, url, to, err) < 0)
        return -1;
    char *sealed = NULL;
    if (remind_seal(rc, url, token, secret, &sealed, err) < 0)
        return -1;
    ch->type = notify_type_name(type);
    /* In clear only the display form: the full URL is sealed. */
    char shown[300];
    if (url)
        remind_url_display(url, shown, sizeof(shown));
    ch->url = url ? mt_arena_strdup(call->r->arena, shown) : NULL;
    ch->email_to = to;
    ch->secret_sealed = sealed ? mt_arena_strdup(call->r->arena, sealed) : NULL;
    free(sealed);
    ch->enabled = !in->enabled.set || in->enabled.value != 0;
    return 0;
}

static int create_reply(struct api_call *call, struct store_channel *ch, struct mt_err *err)
{
    if (store_channel_create(call->db, ch, err) < 0)
        return -1;
    mt_log(MT_LOG_INFO, "notification channel %lld created type=%s", (long long)ch->id, ch->type);
    http_reply_json(call->r, call->op->status, channel_json(remind_of(call), ch));
    return 0;
}

int api_channel_create(struct api_call *call, struct mt_err *err)
{
    const struct api_in_channel *in = call->in;
    if (api_who_person(call->who, in->owner_id.value, err) < 0)
        return -1;
    struct store_channel ch = {.has_person = true, .person_id = in->owner_id.value};
    if (build_channel(call, in, &ch, err) < 0)
        return -1;
    return create_reply(call, &ch, err);
}

int api_my_channel_create(struct api_call *call, struct mt_err *err)
{
    const struct api_in_channel *in = call->in;
    struct store_channel ch = {.has_account = true, .account_id = call->who->account.id};
    if (build_channel(call, in, &ch, err) < 0)
        return -1;
    return create_reply(call, &ch, err);
}

static int reply_channels(struct api_call *call, bool account, int64_t owner, struct mt_err *err)
{
    struct store_channel *items = NULL;
    size_t n = 0;
    if (store_channels_list(call->db, call->r->arena, account, owner, &items, &n, err) < 0)
        return -1;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, channel_json(remind_of(call), &items[i]));
    http_reply_json(call->r, call->op->status, arr);
    return 0;
}

int api_channels_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (api_who_person(call->who, in->id.value, err) < 0)
        return -1;
    return reply_channels(call, false, in->id.value, err);
}

int api_my_channels_list(struct api_call *call, struct mt_err *err)
{
    return reply_channels(call, true, call->who->account.id, err);
}

/* The channel of the path, when the caller may change it: a person's
 * channel with MANAGE for that person, an account's by its owner or an
 * admin. Others get the 404 of a channel that does not exist. */
static int channel_for_change(struct api_call *call, int64_t id, struct store_channel *ch,
                              struct mt_err *err)
{
    if (store_channel_get(call->db, call->r->arena, id, ch, err) < 0)
        return -1;
    const struct api_principal *who = call->who;
    bool ok;
    if (ch->has_person) {
        struct mt_err ignored = {0};
        ok = api_who_person(who, ch->person_id, &ignored) == 0 && api_perm_allows(who, API_MANAGE);
    } else {
        ok = who->method == API_AUTH_OPEN ||
             (who->signed_in &&
              (who->account.id == ch->account_id || api_perm_allows(who, API_ADMIN)));
    }
    return ok ? 0 : mt_fail(err, MT_ENOTFOUND, "Channel not found");
}

/* Tests per channel: at most one per TEST_EVERY_S, so that the test
 * cannot be used to scan a network quickly. Counted in the shared sign-in
 * throttle table (store_throttle_claim), so every replica sees it. */
enum { TEST_EVERY_S = 10 };

static int64_t test_lock_us(int64_t tests)
{
    (void)tests;
    return (int64_t)TEST_EVERY_S * MT_USEC_PER_SEC;
}

static void test_key(int64_t channel_id, char key[48])
{
    snprintf(key, 48, "chtest:%lld", (long long)channel_id);
}

int api_channel_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    struct store_channel ch;
    if (channel_for_change(call, in->id.value, &ch, err) < 0)
        return -1;
    char key[48];
    test_key(in->id.value, key);
    /* SQLite hands a deleted row's id (the highest) to the next channel,
     * which is a new channel all the same: its tests start afresh. */
    if (store_channel_delete(call->db, in->id.value, err) < 0 ||
        store_throttle_clear(call->db, key, err) < 0)
        return -1;
    return api_reply_done(call, 0);
}

int api_channel_test(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    struct store_channel ch;
    if (channel_for_change(call, in->id.value, &ch, err) < 0)
        return -1;
    const struct remind_ctx *rc = remind_of(call);
    if (!rc)
        return mt_fail(err, MT_EINTERNAL, "reminders are not set up in this process");
    /* Real time, not the test clock: the limit is against a person at a
     * keyboard. Each test locks the key for TEST_EVERY_S (as a failed
     * sign-in locks a login); the claim refuses while it is locked. */
    char key[48];
    test_key(ch.id, key);
    int64_t now = mt_real_now_us();
    bool granted = false;
    struct store_throttle held;
    if (store_throttle_claim(call->db, key, now, test_lock_us, &granted, &held, err) < 0)
        return -1;
    if (!granted)
        return api_reply_refusal(
            call->r, 429, "this channel was tested a moment ago: one test per 10 seconds",
            (held.locked_until_us - now + MT_USEC_PER_SEC - 1) / MT_USEC_PER_SEC);
    if (store_throttle_fail(call->db, key, now, test_lock_us, &held, err) < 0)
        return -1;
    struct mt_err why = {0};
    bool sent = remind_send_test(rc, &ch, &why) == 0;
    /* The exact failure (refused, timed out, TLS, an HTTP status) would
     * let anyone who may add a channel probe hosts and ports the server
     * reaches: it goes to the log and to admins, others get a generic
     * text (and so does the delivery log, which READ users see). */
    static const char generic[] =
        "the test message could not be delivered (an administrator finds the reason in the "
        "server's log)";
    if (!sent)
        mt_log(MT_LOG_WARN, "notification channel %lld test failed: %s", (long long)ch.id, why.msg);
    bool detailed = api_perm_allows(call->who, API_ADMIN);
    int64_t id = 0;
    if (store_delivery_test_record(call->db, ch.id, sent, sent ? NULL : generic, &id, err) < 0)
        return -1;
    json_t *o = json_object();
    json_object_set_new(o, "delivery_id", json_integer(id));
    json_object_set_new(o, "channel_id", json_integer(ch.id));
    json_object_set_new(o, "status", json_string(sent ? "sent" : "failed"));
    json_object_set_new(o, "detail",
                        sent ? json_null() : json_string(detailed ? why.msg : generic));
    http_reply_json(call->r, call->op->status, o);
    return 0;
}

static json_t *settings_json(int64_t person_id, const struct store_reminder_settings *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "person_id", json_integer(person_id));
    json_object_set_new(o, "repeat_minutes", opt_int(s->has_repeat, s->repeat_minutes));
    json_object_set_new(o, "max_repeats", json_integer(s->max_repeats));
    json_object_set_new(o, "quiet_start", opt_text(s->quiet_start));
    json_object_set_new(o, "quiet_end", opt_text(s->quiet_end));
    json_object_set_new(o, "escalate_after_minutes",
                        opt_int(s->has_escalate, s->escalate_after_minutes));
    json_object_set_new(o, "updated_at", time_json(s->updated_at));
    return o;
}

int api_reminder_settings_get(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (api_who_person(call->who, in->id.value, err) < 0)
        return -1;
    struct store_reminder_settings s;
    if (store_reminder_settings_get(call->db, call->r->arena, in->id.value, &s, err) < 0)
        return -1;
    http_reply_json(call->r, call->op->status, settings_json(in->id.value, &s));
    return 0;
}

/* The minutes after midnight of a quiet-hours bound "HH:MM" (00:00 to
 * 23:59); -1 for anything else, NULL included. */
static int quiet_minute(const char *s)
{
    return s ? mt_parse_hhmm(s, strlen(s)) : -1;
}

/* Refuses settings that could never take effect: the worker gives up on
 * a slot, and on a delivery, REMINDER_HORIZON_MINUTES after it fell due, so
 * a repeat, an escalation or a hold for quiet hours as long as that never
 * happens; and escalation goes to accounts, which exist with AUTH=on only. */
static int settings_effective(const struct remind_ctx *rc, const struct store_reminder_settings *s,
                              struct mt_err *err)
{
    if (!rc)
        return 0;
    int64_t horizon = rc->cfg->reminder_horizon_minutes;
    if (s->has_repeat && s->repeat_minutes >= horizon)
        return mt_fail(err, MT_EINVAL,
                       "repeat_minutes must be less than REMINDER_HORIZON_MINUTES (%lld): a slot "
                       "is given up that long after it, so the repeat would never go out",
                       (long long)horizon);
    if (s->has_escalate && s->escalate_after_minutes >= horizon)
        return mt_fail(err, MT_EINVAL,
                       "escalate_after_minutes must be less than REMINDER_HORIZON_MINUTES (%lld): "
                       "a slot is given up that long after it, so the escalation would never go "
                       "out",
                       (long long)horizon);
    if (s->has_escalate && !rc->cfg->auth)
        return mt_fail(err, MT_EINVAL,
                       "escalate_after_minutes needs AUTH=on: escalations go to the channels of "
                       "carer and admin accounts, which exist only with accounts");
    if (s->quiet_start && s->quiet_end) {
        int qs = quiet_minute(s->quiet_start), qe = quiet_minute(s->quiet_end);
        int len = ((qe - qs) % 1440 + 1440) % 1440;
        if (len >= horizon)
            return mt_fail(err, MT_EINVAL,
                           "quiet hours must be shorter than REMINDER_HORIZON_MINUTES (%lld "
                           "minutes): a reminder held longer is given up as missed",
                           (long long)horizon);
    }
    return 0;
}

int api_reminder_settings_put(struct api_call *call, struct mt_err *err)
{
    const struct api_in_reminder_settings *in = call->in;
    if (api_who_person(call->who, in->person_id.value, err) < 0)
        return -1;
    const char *qs = in->quiet_start.set ? in->quiet_start.value : NULL;
    const char *qe = in->quiet_end.set ? in->quiet_end.value : NULL;
    if ((qs && quiet_minute(qs) < 0) || (qe && quiet_minute(qe) < 0))
        return mt_fail(err, MT_EINVAL, "invalid quiet hours: expected HH:MM (00:00 to 23:59)");
    if ((qs == NULL) != (qe == NULL))
        return mt_fail(err, MT_EINVAL, "quiet_start and quiet_end go together: give both or none");
    if (qs && strcmp(qs, qe) == 0)
        return mt_fail(err, MT_EINVAL, "quiet_start and quiet_end must differ");
    /* Nullable integers read as 0 when null; their bounds exclude 0. */
    struct store_reminder_settings s = {
        .has_repeat = in->repeat_minutes.set && in->repeat_minutes.value > 0,
        .repeat_minutes = in->repeat_minutes.value,
        .max_repeats = in->max_repeats.set ? in->max_repeats.value : 3,
        .quiet_start = qs,
        .quiet_end = qe,
        .has_escalate = in->escalate_after_minutes.set && in->escalate_after_minutes.value > 0,
        .escalate_after_minutes = in->escalate_after_minutes.value,
    };
    if (!s.has_repeat)
        s.max_repeats = in->max_repeats.set ? in->max_repeats.value : 0;
    if (settings_effective(remind_of(call), &s, err) < 0)
        return -1;
    if (store_reminder_settings_put(call->db, in->person_id.value, &s, err) < 0)
        return -1;
    http_reply_json(call->r, call->op->status, settings_json(in->person_id.value, &s));
    return 0;
}

static json_t *delivery_json(const struct store_delivery *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "channel_id", json_integer(d->channel_id));
    json_object_set_new(o, "channel_type", opt_text(d->channel_type));
    json_object_set_new(o, "channel_person_id",
                        d->channel_person_id ? json_integer(d->channel_person_id) : json_null());
    json_object_set_new(o, "kind", opt_text(d->kind));
    json_object_set_new(o, "seq", json_integer(d->seq));
    json_object_set_new(o, "status", opt_text(d->status));
    json_object_set_new(o, "attempts", json_integer(d->attempts));
    json_object_set_new(o, "due_at", time_json(d->due_at));
    json_object_set_new(o, "next_attempt_at", time_json(d->next_attempt_at));
    json_object_set_new(o, "sent_at", time_json(d->sent_at));
    json_object_set_new(o, "last_error", opt_text(d->last_error));
    json_object_set_new(o, "created_at", time_json(d->created_at));
    if (d->has_slot) {
        json_t *slot = json_object();
        json_object_set_new(slot, "id", json_integer(d->slot_id));
        json_object_set_new(slot, "person_id", json_integer(d->person_id));
        json_object_set_new(slot, "medication_id", json_integer(d->medication_id));
        json_object_set_new(slot, "slot_at", time_json(d->slot_at));
        json_object_set_new(slot, "state", opt_text(d->slot_state));
        json_object_set_new(o, "slot", slot);
    } else {
        json_object_set_new(o, "slot", json_null());
    }
    return o;
}

int api_notifications_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_page *in = call->in;
    struct store_delivery *items = NULL;
    size_t n = 0;
    if (store_deliveries_list(call->db, call->r->arena, api_who_sees(call->who), in->skip.value,
                              in->limit.value, &items, &n, err) < 0)
        return -1;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, delivery_json(&items[i]));
    http_reply_json(call->r, call->op->status, arr);
    return 0;
}

/* The SnoozeOutcome of both snoozes. */
static int snooze_reply(struct api_call *call, int64_t slot_id, int64_t until_us)
{
    char buf[MT_TIME_BUF];
    json_t *o = json_object();
    json_object_set_new(o, "slot_id", json_integer(slot_id));
    json_object_set_new(o, "state", json_string("snoozed"));
    json_object_set_new(o, "snoozed_until", json_string(mt_format_iso(until_us, buf, sizeof(buf))));
    http_reply_json(call->r, call->op->status, o);
    return 0;
}

int api_reminder_snooze(struct api_call *call, struct mt_err *err)
{
    const struct api_in_snooze *in = call->in;
    const struct remind_ctx *rc = remind_of(call);
    int64_t now_s = mt_now_us() / MT_USEC_PER_SEC;
    /* One answer for every bad link, so a link cannot be probed. */
    if (!rc || !rc->has_key || !in->sig.value ||
        !notify_link_verify(&rc->key, in->slot_id.value, in->minutes.value, in->expires.value,
                            in->sig.value))
        return mt_fail(err, MT_ENOTFOUND, "Reminder not found");
    if (in->expires.value < now_s)
        return mt_fail(err, MT_EINVAL, "this snooze link has expired");
    /* The link carries a duration: a click that comes late still snoozes
     * for the whole interval from now, rather than reopening at once. */
    int64_t until_us = (now_s + in->minutes.value * 60) * MT_USEC_PER_SEC;
    if (store_remind_snooze(call->db, in->slot_id.value, until_us, err) < 0)
        return -1;
    mt_log(MT_LOG_INFO, "reminder slot %lld snoozed by link", (long long)in->slot_id.value);
    return snooze_reply(call, in->slot_id.value, until_us);
}

/* The due list's snooze: the caller may record doses of the person (the
 * operation's permission) and sees them; a slot of another person is the
 * same 404 as a missing one. Like the link, it counts from now. Reminder
 * state is not part of the audit trail (docs/audit.md), so the change is
 * logged, with the account that made it. */
int api_person_reminder_snooze(struct api_call *call, struct mt_err *err)
{
    const struct api_in_person_snooze *in = call->in;
    if (api_who_person(call->who, in->person_id.value, err) < 0)
        return -1;
    int64_t now_s = mt_now_us() / MT_USEC_PER_SEC;
    int64_t until_us = (now_s + in->minutes.value * 60) * MT_USEC_PER_SEC;
    if (store_remind_snooze_of(call->db, in->person_id.value, in->slot_id.value, until_us, err) < 0)
        return -1;
    mt_log(MT_LOG_INFO, "reminder slot %lld of person %lld snoozed for %lld min by account %lld",
           (long long)in->slot_id.value, (long long)in->person_id.value,
           (long long)in->minutes.value,
           (long long)(call->who->signed_in ? call->who->account.id : 0));
    return snooze_reply(call, in->slot_id.value, until_us);
}
