/* The secrets of notifications, on libsodium: NOTIFY_SECRET_KEY read from
 * hex or base64, channel secrets sealed with secretbox (a fresh random nonce
 * each time, stored in front of the box), the webhook's HMAC-SHA256
 * signature, and the signatures of snooze links under a key derived for that
 * purpose alone, so a link signature can never be mistaken for anything
 * else made with NOTIFY_SECRET_KEY. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "notify/notify.h"

/* Sealed texts above this are not ours (a sealed secret is a few hundred
 * bytes): refused before any allocation. */
enum { SEALED_MAX = 8192 };

int notify_key_parse(const char *text, struct notify_key *out, struct mt_err *err)
{
    size_t n = text ? strlen(text) : 0;
    size_t got = 0;
    const char *end = NULL;
    struct notify_key k;
    if (n == 2 * NOTIFY_KEY_BYTES &&
        sodium_hex2bin(k.k, sizeof(k.k), text, n, NULL, &got, &end) == 0 && got == sizeof(k.k) &&
        end == text + n) {
        *out = k;
        sodium_memzero(&k, sizeof(k));
        return 0;
    }
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        if (n > 0 &&
            sodium_base642bin(k.k, sizeof(k.k), text, n, NULL, &got, &end, variants[i]) == 0 &&
            got == sizeof(k.k) && end == text + n) {
            *out = k;
            sodium_memzero(&k, sizeof(k));
            return 0;
        }
    }
    sodium_memzero(&k, sizeof(k));
    return mt_fail(err, MT_EINVAL,
                   "invalid NOTIFY_SECRET_KEY: expected 32 bytes as 64 hex digits or as base64 "
                   "(e.g. the output of `openssl rand -base64 32`)");
}

char *notify_seal(const struct notify_key *key, const char *plain, struct mt_err *err)
{
    struct mt_err ierr = {0};
    if (mt_secret_init(&ierr) < 0) {
        mt_fail(err, MT_EINTERNAL, "%s", ierr.msg);
        return NULL;
    }
    size_t plen = strlen(plain);
    if (plen > SEALED_MAX / 2) {
        mt_fail(err, MT_EINVAL, "the secret is too long");
        return NULL;
    }
    size_t raw_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
    unsigned char *raw = malloc(raw_len);
    if (!raw) {
        mt_fail(err, MT_EINTERNAL, "out of memory");
        return NULL;
    }
    randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, plen,
                          raw, key->k);
    size_t b64_len = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(b64_len);
    if (out)
        sodium_bin2base64(out, b64_len, raw, raw_len, sodium_base64_VARIANT_ORIGINAL);
    else
        mt_fail(err, MT_EINTERNAL, "out of memory");
    free(raw);
    return out;
}

char *notify_unseal(const struct notify_key *key, const char *sealed, struct mt_err *err)
{
    size_t n = sealed ? strlen(sealed) : 0;
    if (n == 0 || n > SEALED_MAX) {
        mt_fail(err, MT_EINVAL, "the stored secret is not a sealed secret");
        return NULL;
    }
    unsigned char *raw = malloc(n);
    char *plain = NULL;
    size_t raw_len = 0;
    if (!raw) {
        mt_fail(err, MT_EINTERNAL, "out of memory");
        return NULL;
    }
    if (sodium_base642bin(raw, n, sealed, n, NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        raw_len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        mt_fail(err, MT_EINVAL, "the stored secret is not a sealed secret");
        goto done;
    }
    size_t plen = raw_len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    plain = malloc(plen + 1);
    if (!plain) {
        mt_fail(err, MT_EINTERNAL, "out of memory");
        goto done;
    }
    if (crypto_secretbox_open_easy((unsigned char *)plain, raw + crypto_secretbox_NONCEBYTES,
                                   raw_len - crypto_secretbox_NONCEBYTES, raw, key->k) != 0) {
        free(plain);
        plain = NULL;
        mt_fail(err, MT_EINVAL,
                "the stored secret cannot be opened: it was sealed under another "
                "NOTIFY_SECRET_KEY");
        goto done;
    }
    plain[plen] = '\0';
done:
    free(raw);
    return plain;
}

void notify_free_secret(char *s)
{
    if (!s)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

void notify_webhook_signature(const char *secret, const char *body, size_t len,
                              char out[NOTIFY_SIG_BUF])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, NOTIFY_SIG_BUF - 7, mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}

/* The link key: HMAC-SHA256 of a fixed label under NOTIFY_SECRET_KEY. */
static void link_key(const struct notify_key *key, unsigned char out[32])
{
    static const char label[] = "meditrack snooze link v2";
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->k, sizeof(key->k));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof(label) - 1);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

static void link_mac(const struct notify_key *key, int64_t slot_id, int64_t minutes,
                     int64_t expires_s, unsigned char mac[32])
{
    unsigned char k[32];
    char text[96];
    link_key(key, k);
    int n = snprintf(text, sizeof(text), "snooze:%" PRId64 ":%" PRId64 ":%" PRId64, slot_id,
                     minutes, expires_s);
    crypto_auth_hmacsha256(mac, (const unsigned char *)text, (unsigned long long)n, k);
    sodium_memzero(k, sizeof(k));
}

void notify_link_sign(const struct notify_key *key, int64_t slot_id, int64_t minutes,
                      int64_t expires_s, char out[NOTIFY_LINK_SIG_BUF])
{
    unsigned char mac[32];
    link_mac(key, slot_id, minutes, expires_s, mac);
    sodium_bin2base64(out, NOTIFY_LINK_SIG_BUF, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool notify_link_verify(const struct notify_key *key, int64_t slot_id, int64_t minutes,
                        int64_t expires_s, const char *sig)
{
    char want[NOTIFY_LINK_SIG_BUF];
    notify_link_sign(key, slot_id, minutes, expires_s, want);
    return mt_secret_equal(want, sig);
}
