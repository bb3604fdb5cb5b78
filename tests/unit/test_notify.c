/* Unit tests of src/notify without a network: the key forms of
 * NOTIFY_SECRET_KEY, sealing and opening channel secrets, the webhook's
 * HMAC against a value computed independently (RFC 4231 test case 2), snooze
 * link signatures, endpoint labels that never show a path or token, channel
 * checks, and the formatted ntfy, Gotify, webhook and e-mail messages. The
 * real sends are covered by tests/http/t094-reminders.py. */
#include <sodium.h>

#include "../check.h"
#include "notify/notify.h"

static void test_key(void)
{
    struct notify_key k;
    struct mt_err err = {0};
    CHECK_EQ(notify_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                              &k, &err),
             0);
    CHECK_EQ(k.k[0], 0);
    CHECK_EQ(k.k[31], 31);
    /* The same 32 bytes in base64. */
    CHECK_EQ(notify_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", &k, &err), 0);
    CHECK_EQ(k.k[31], 31);
    CHECK_EQ(notify_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", &k, &err), 0);
    CHECK_EQ(notify_key_parse("c2hvcnQ=", &k, &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK(strstr(err.msg, "c2hvcnQ") == NULL);
    CHECK_EQ(notify_key_parse("", &k, &err), -1);
    CHECK_EQ(notify_key_parse("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                              &k, &err),
             -1);
}

static void test_seal(void)
{
    struct notify_key k, other;
    struct mt_err err = {0};
    memset(k.k, 7, sizeof(k.k));
    memset(other.k, 8, sizeof(other.k));
    char *a = notify_seal(&k, "{\"token\":\"tk_secret\"}", &err);
    char *b = notify_seal(&k, "{\"token\":\"tk_secret\"}", &err);
    CHECK(a && b);
    if (!a || !b)
        return;
    /* A fresh nonce each time: equal secrets do not give equal texts. */
    CHECK(strcmp(a, b) != 0);
    CHECK(strstr(a, "tk_secret") == NULL);
    char *plain = notify_unseal(&k, a, &err);
    CHECK_STR(plain, "{\"token\":\"tk_secret\"}");
    notify_free_secret(plain);
    CHECK(notify_unseal(&other, a, &err) == NULL);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK(strstr(err.msg, "another NOTIFY_SECRET_KEY") != NULL);
    /* A flipped byte is refused (the box is authenticated). */
    a[30] = a[30] == 'A' ? 'B' : 'A';
    CHECK(notify_unseal(&k, a, &err) == NULL);
    CHECK(notify_unseal(&k, "not base64 at all!", &err) == NULL);
    CHECK(notify_unseal(&k, "", &err) == NULL);
    free(a);
    free(b);
}

static void test_signatures(void)
{
    /* RFC 4231, test case 2: key "Jefe". */
    char sig[NOTIFY_SIG_BUF];
    const char *data = "what do ya want for nothing?";
    notify_webhook_signature("Jefe", data, strlen(data), sig);
    CHECK_STR(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    struct notify_key k, other;
    memset(k.k, 1, sizeof(k.k));
    memset(other.k, 2, sizeof(other.k));
    char link[NOTIFY_LINK_SIG_BUF];
    notify_link_sign(&k, 42, 1000, 2000, link);
    CHECK_EQ(strlen(link), 43);
    CHECK(notify_link_verify(&k, 42, 1000, 2000, link));
    CHECK(!notify_link_verify(&k, 43, 1000, 2000, link));
    CHECK(!notify_link_verify(&k, 42, 1001, 2000, link));
    CHECK(!notify_link_verify(&k, 42, 1000, 2001, link));
    CHECK(!notify_link_verify(&other, 42, 1000, 2000, link));
    CHECK(!notify_link_verify(&k, 42, 1000, 2000, ""));
}

static void test_labels_and_checks(void)
{
    char label[128];
    notify_url_label("https://ntfy.example.org/secret-topic?auth=abc", label, sizeof(label));
    CHECK_STR(label, "https://ntfy.example.org");
    notify_url_label("smtps://user:pa%40ss@mail.example.org:465", label, sizeof(label));
    CHECK_STR(label, "smtps://mail.example.org:465");
    notify_url_label("http://127.0.0.1:8080/message?token=xyz", label, sizeof(label));
    CHECK_STR(label, "http://127.0.0.1:8080");
    notify_url_label("garbage", label, sizeof(label));
    CHECK_STR(label, "(invalid URL)");

    struct mt_err err = {0};
    CHECK_EQ(notify_target_check(NOTIFY_NTFY, "https://ntfy.sh/my-topic", NULL, &err), 0);
    CHECK_EQ(notify_target_check(NOTIFY_NTFY, "ftp://x/y", NULL, &err), -1);
    CHECK_EQ(notify_target_check(NOTIFY_NTFY, "https://u:p@ntfy.sh/t", NULL, &err), -1);
    CHECK(strstr(err.msg, "u:p") == NULL);
    CHECK_EQ(notify_target_check(NOTIFY_GOTIFY, "https://g.example/message?token=abc", NULL, &err),
             -1);
    CHECK(strstr(err.msg, "abc") == NULL);
    CHECK_EQ(notify_target_check(NOTIFY_WEBHOOK, "https://hooks.example/x?y=1", NULL, &err), 0);
    CHECK_EQ(notify_target_check(NOTIFY_WEBHOOK, "https://hooks.example/a b", NULL, &err), -1);
    CHECK_EQ(notify_target_check(NOTIFY_EMAIL, NULL, "anna@example.org", &err), 0);
    CHECK_EQ(notify_target_check(NOTIFY_EMAIL, NULL, "anna@example.org, bob@x.org", &err), -1);
    CHECK_EQ(notify_target_check(NOTIFY_EMAIL, NULL, "anna@example.org\r\nBcc: x@y.z", &err), -1);
    CHECK_EQ(notify_target_check(NOTIFY_EMAIL, NULL, "nobody", &err), -1);

    enum notify_type t;
    CHECK(notify_type_parse("gotify", &t) && t == NOTIFY_GOTIFY);
    CHECK(!notify_type_parse("telegram", &t));
    CHECK_STR(notify_type_name(NOTIFY_EMAIL), "email");
}

static void test_formats(void)
{
    struct mt_err err = {0};
    struct mt_buf h, b;
    struct notify_message m = {.title = "Zeit für Aspirin",
                               .body = "08:00: Aspirin 100 mg",
                               .priority = 4,
                               .tags = "pill",
                               .action_label = "Snooze 15 min",
                               .action_url = "https://mt.example/api/v1/reminders/5/snooze?sig=x",
                               .event_json = "{\"kind\":\"reminder\",\"slot_id\":5}",
                               .sent_at_s = 1780000000};
    struct notify_target nt = {.type = NOTIFY_NTFY, .url = "https://ntfy.sh/t", .token = "tk_1"};
    mt_buf_init(&h, 0);
    mt_buf_init(&b, 0);
    CHECK_EQ(notify_format_ntfy(&nt, &m, &h, &b, &err), 0);
    CHECK(strstr(h.data, "Title: =?UTF-8?B?") != NULL);
    CHECK(strstr(h.data, "Priority: 4") != NULL);
    CHECK(strstr(h.data, "Tags: pill") != NULL);
    CHECK(strstr(h.data, "Actions: http, \"Snooze 15 min\", https://mt.example/") != NULL);
    CHECK(strstr(h.data, "Authorization: Bearer tk_1") != NULL);
    CHECK_STR(b.data, "08:00: Aspirin 100 mg");
    /* A title that would split the header is refused. */
    struct notify_message bad = m;
    bad.title = "x\r\nX-Evil: 1";
    mt_buf_reset(&h);
    CHECK_EQ(notify_format_ntfy(&nt, &bad, &h, &b, &err), -1);

    struct notify_target gt = {.type = NOTIFY_GOTIFY, .url = "https://g.example", .token = "AppTk"};
    mt_buf_reset(&h);
    mt_buf_reset(&b);
    CHECK_EQ(notify_format_gotify(&gt, &m, &h, &b, &err), 0);
    CHECK(strstr(h.data, "X-Gotify-Key: AppTk") != NULL);
    CHECK(strstr(b.data, "\"priority\":8") != NULL);
    CHECK(strstr(b.data, "client::notification") != NULL);
    gt.token = NULL;
    CHECK_EQ(notify_format_gotify(&gt, &m, &h, &b, &err), -1);

    struct notify_target wt = {
        .type = NOTIFY_WEBHOOK, .url = "https://h.example/x", .secret = "s3"};
    mt_buf_reset(&h);
    mt_buf_reset(&b);
    CHECK_EQ(notify_format_webhook(&wt, &m, &h, &b, &err), 0);
    char sig[NOTIFY_SIG_BUF], line[128];
    notify_webhook_signature("s3", b.data, b.len, sig);
    snprintf(line, sizeof(line), "X-MediTrack-Signature: %s", sig);
    CHECK(strstr(h.data, line) != NULL);
    CHECK(strstr(h.data, "X-MediTrack-Timestamp: 1780000000") != NULL);
    CHECK(strstr(b.data, "\"timestamp\":1780000000") != NULL);
    CHECK(strstr(b.data, "\"slot_id\":5") != NULL);
    CHECK(strstr(b.data, "\"kind\":\"reminder\"") != NULL);
    CHECK(strstr(b.data, "s3") == NULL);
    wt.secret = "";
    CHECK_EQ(notify_format_webhook(&wt, &m, &h, &b, &err), -1);

    struct notify_settings s = {.smtp_url = "smtp://127.0.0.1:2525",
                                .smtp_from = "MediTrack <meditrack@home.example>",
                                .timeout_ms = 1000};
    struct notify_target et = {.type = NOTIFY_EMAIL, .email_to = "anna@example.org"};
    mt_buf_reset(&b);
    CHECK_EQ(notify_format_email(&s, &et, &m, &b, &err), 0);
    CHECK(strncmp(b.data, "From: MediTrack <meditrack@home.example>\r\n", 42) == 0);
    CHECK(strstr(b.data, "\r\nTo: anna@example.org\r\n") != NULL);
    CHECK(strstr(b.data, "\r\nSubject: =?UTF-8?B?") != NULL);
    /* 1780000000 is Thursday 2026-05-28 20:26:40 UTC. */
    CHECK(strstr(b.data, "\r\nDate: Thu, 28 May 2026 20:26:40 +0000\r\n") != NULL);
    CHECK(strstr(b.data, "\r\nMessage-ID: <") != NULL);
    CHECK(strstr(b.data, "@home.example>\r\n") != NULL);
    CHECK(strstr(b.data, "\r\n\r\n") != NULL);
    s.smtp_from = "";
    CHECK_EQ(notify_format_email(&s, &et, &m, &b, &err), -1);
    mt_buf_release(&h);
    mt_buf_release(&b);
}

/* A password with an unencoded '/' must not reach a label (the host is
 * after the last '@'), and SMTP_URL with one is refused at start-up. */
static void test_smtp_url(void)
{
    char label[128];
    notify_url_label("smtp://mtuser:Pa55/word@mail.example:587", label, sizeof(label));
    CHECK_STR(label, "smtp://mail.example:587");
    notify_url_label("smtps://u:p?q#r@mx.example", label, sizeof(label));
    CHECK_STR(label, "smtps://mx.example");
    notify_url_label("smtp://mail.example:25", label, sizeof(label));
    CHECK_STR(label, "smtp://mail.example:25");
    struct mt_err err = {0};
    CHECK_EQ(notify_smtp_url_check("smtp://mtuser:Pa55/word@mail.example", &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK(strstr(err.msg, "Pa55") == NULL && strstr(err.msg, "mtuser") == NULL);
    CHECK(strstr(err.msg, "%2F") != NULL);
    CHECK_EQ(notify_smtp_url_check("smtp://mtuser:Pa55%2Fword@mail.example:587", &err), 0);
    CHECK_EQ(notify_smtp_url_check("smtps://mail.example", &err), 0);
    CHECK_EQ(notify_smtp_url_check("", &err), 0);
    CHECK_EQ(notify_smtp_url_check("http://mail.example", &err), -1);
    CHECK_EQ(notify_smtp_url_check("smtp://u:p@", &err), -1);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_key();
    test_seal();
    test_signatures();
    test_labels_and_checks();
    test_formats();
    test_smtp_url();
    return check_report();
}
