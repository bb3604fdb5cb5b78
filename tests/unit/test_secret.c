/* Unit tests of core/secret.c: the form and randomness of generated secrets,
 * their SHA-256, constant-time comparison, argon2id hashes with this
 * version's parameters (and the rehash of older ones), the fixed hash used
 * for unknown accounts, and the password policy in code points. libsodium is
 * used directly only to make hashes with other parameters. */
#include <sodium.h>
#include <string.h>

#include "../check.h"
#include "core/secret.h"

static bool base64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void test_random(void)
{
    struct mt_err err = {0};
    CHECK(mt_secret_init(&err) == 0);
    CHECK(mt_secret_init(&err) == 0);
    char a[MT_SECRET_MAX], b[MT_SECRET_MAX];
    CHECK(mt_secret_random(MT_SECRET_TOKEN_PREFIX, a, sizeof(a)) == 0);
    CHECK(mt_secret_random(MT_SECRET_TOKEN_PREFIX, b, sizeof(b)) == 0);
    CHECK_EQ(strlen(a), 4 + MT_SECRET_RANDOM_CHARS);
    CHECK(strncmp(a, "mtt_", 4) == 0);
    CHECK(base64url(a + 4, MT_SECRET_RANDOM_CHARS));
    CHECK(strcmp(a, b) != 0);
    CHECK(mt_secret_random(MT_SECRET_SETUP_PREFIX, a, sizeof(a)) == 0);
    CHECK_EQ(strlen(a), 8 + MT_SECRET_RANDOM_CHARS);
    CHECK(strncmp(a, "mtsetup_", 8) == 0);
    CHECK(mt_secret_random(MT_SECRET_SESSION_PREFIX, a, sizeof(a)) == 0);
    CHECK(strncmp(a, "mts_", 4) == 0 && base64url(a + 4, strlen(a) - 4));
    /* Exactly large enough, and one byte short. */
    char exact[4 + MT_SECRET_RANDOM_CHARS + 1];
    CHECK(mt_secret_random("mts_", exact, sizeof(exact)) == 0);
    CHECK_EQ(strlen(exact), sizeof(exact) - 1);
    char small[4 + MT_SECRET_RANDOM_CHARS];
    small[0] = 'x';
    CHECK(mt_secret_random("mts_", small, sizeof(small)) == -1);
    CHECK_STR(small, "");
    /* 200 secrets: every character of the alphabet position varies (no
     * constant byte), a cheap guard against a broken source. */
    bool varies[MT_SECRET_RANDOM_CHARS] = {false};
    char first[MT_SECRET_MAX];
    CHECK(mt_secret_random("", first, sizeof(first)) == 0);
    for (int i = 0; i < 200; i++) {
        CHECK(mt_secret_random("", a, sizeof(a)) == 0);
        for (int k = 0; k < MT_SECRET_RANDOM_CHARS; k++)
            varies[k] = varies[k] || a[k] != first[k];
    }
    int constant = 0;
    for (int k = 0; k < MT_SECRET_RANDOM_CHARS; k++)
        constant += !varies[k];
    CHECK_EQ(constant, 0);
}

static void test_hash_and_equal(void)
{
    char h[MT_SECRET_HASH_HEX];
    mt_secret_hash("abc", h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    mt_secret_hash("", h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mt_secret_hash("mtt_\xc3\xa4", h);
    CHECK_EQ(strlen(h), 64);

    char p[MT_SECRET_SHOWN_PREFIX + 1];
    mt_secret_shown_prefix("mtt_AbCdEfGhIjKlMnOp", p);
    CHECK_STR(p, "mtt_AbCdEfGh");
    mt_secret_shown_prefix("mtt_ab", p);
    CHECK_STR(p, "mtt_ab");

    CHECK(mt_secret_equal("same text", "same text"));
    CHECK(!mt_secret_equal("same text", "same texT"));
    CHECK(!mt_secret_equal("short", "shorter"));
    CHECK(!mt_secret_equal("", "x"));
    CHECK(mt_secret_equal("", ""));
    CHECK(!mt_secret_equal(NULL, "x"));
    CHECK(!mt_secret_equal("x", NULL));
}

static void test_passwords(void)
{
    struct mt_err err = {0};
    char h1[MT_PASSWORD_HASH_MAX], h2[MT_PASSWORD_HASH_MAX];
    const char *pw = "correct horse battery \xc3\xa4";
    CHECK(mt_password_hash(pw, h1, sizeof(h1), &err) == 0);
    CHECK(strncmp(h1, "$argon2id$v=19$m=65536,t=3,p=1$", 31) == 0);
    CHECK(mt_password_hash(pw, h2, sizeof(h2), &err) == 0);
    CHECK(strcmp(h1, h2) != 0); /* a salt of its own */
    CHECK(mt_password_verify(h1, pw) == 0);
    CHECK(mt_password_verify(h2, pw) == 0);
    CHECK(mt_password_verify(h1, "correct horse battery a") == -1);
    CHECK(mt_password_verify(h1, "") == -1);
    CHECK(!mt_password_needs_rehash(h1));

    /* No hash (unknown account): never a match, not even the empty text. */
    CHECK(mt_password_verify(NULL, pw) == -1);
    CHECK(mt_password_verify(NULL, "") == -1);
    CHECK(mt_password_verify("not a password hash", pw) == -1);
    CHECK(mt_password_verify("", pw) == -1);
    char long_text[300];
    memset(long_text, '$', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    CHECK(mt_password_verify(long_text, pw) == -1);
    CHECK(mt_password_needs_rehash(long_text));

    /* Older parameters and argon2i still verify, and ask for a rehash. */
    char weak[crypto_pwhash_STRBYTES];
    CHECK(crypto_pwhash_str_alg(weak, pw, strlen(pw), 2, 19u * 1024u * 1024u,
                                crypto_pwhash_ALG_ARGON2ID13) == 0);
    CHECK(mt_password_verify(weak, pw) == 0);
    CHECK(mt_password_needs_rehash(weak));
    CHECK(crypto_pwhash_str_alg(weak, pw, strlen(pw), 3, 32u * 1024u * 1024u,
                                crypto_pwhash_ALG_ARGON2I13) == 0);
    CHECK(strncmp(weak, "$argon2i$", 9) == 0);
    CHECK(mt_password_verify(weak, pw) == 0);
    CHECK(mt_password_needs_rehash(weak));
    CHECK(mt_password_needs_rehash("$2b$12$notargon"));
    CHECK(mt_password_needs_rehash(NULL));

    /* What cannot be hashed. */
    char big[MT_PASSWORD_MAX_BYTES + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mt_err_clear(&err);
    CHECK(mt_password_hash(big, h1, sizeof(h1), &err) == -1);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK(mt_password_verify(h2, big) == -1);
    mt_err_clear(&err);
    CHECK(mt_password_hash(pw, h1, 64, &err) == -1);
    CHECK_EQ(err.code, MT_EINVAL);
}

static void test_policy(void)
{
    const char *why = NULL;
    CHECK(mt_password_acceptable("1234567890", &why) == 0);
    CHECK(mt_password_acceptable("123456789", &why) == -1);
    CHECK(why && strstr(why, "too short"));
    /* Ten code points of two bytes each pass; nine (18 bytes) do not. */
    CHECK(mt_password_acceptable("\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
                                 "\xc3\xa4\xc3\xa4",
                                 &why) == 0);
    CHECK(mt_password_acceptable("\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
                                 "\xc3\xa4",
                                 &why) == -1);
    /* Four-byte sequences (emoji) count once each. */
    CHECK(mt_password_acceptable("\xf0\x9f\x94\x91\xf0\x9f\x94\x91\xf0\x9f\x94\x91\xf0\x9f\x94\x91"
                                 "abcdef",
                                 &why) == 0);
    CHECK(mt_password_acceptable("spaces are fine too", &why) == 0);
    char max[MT_PASSWORD_MAX_BYTES + 2];
    memset(max, 'x', MT_PASSWORD_MAX_BYTES);
    max[MT_PASSWORD_MAX_BYTES] = '\0';
    CHECK(mt_password_acceptable(max, &why) == 0);
    max[MT_PASSWORD_MAX_BYTES] = 'x';
    max[MT_PASSWORD_MAX_BYTES + 1] = '\0';
    CHECK(mt_password_acceptable(max, &why) == -1);
    CHECK(why && strstr(why, "too long"));
    /* Malformed UTF-8: a stray byte, an overlong "/", a surrogate, a cut
     * sequence, a code point above U+10FFFF. */
    static const char *const bad[] = {"abcdefghij\xff", "abcdefghij\xc0\xaf",
                                      "abcdefghij\xed\xa0\x80", "abcdefghij\xe2\x82",
                                      "abcdefghij\xf4\x90\x80\x80"};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad); i++) {
        why = NULL;
        CHECK(mt_password_acceptable(bad[i], &why) == -1);
        CHECK(why && strstr(why, "UTF-8"));
    }
    CHECK(mt_password_acceptable("tab\tin the middle", &why) == -1);
    CHECK(why && strstr(why, "control character"));
    CHECK(mt_password_acceptable("line break\n at end", &why) == -1);
    CHECK(mt_password_acceptable("delete\x7f character", &why) == -1);
    CHECK(mt_password_acceptable(NULL, &why) == -1);
    CHECK(mt_password_acceptable("short", NULL) == -1);
}

int main(void)
{
    test_random();
    test_hash_and_equal();
    test_passwords();
    test_policy();
    return check_report();
}
