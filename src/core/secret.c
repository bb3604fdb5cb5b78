/* The secrets of access control on top of libsodium: random prefixed
 * secrets, their SHA-256, argon2id password hashes and the password policy
 * (core/secret.h). Nothing here logs: the callers decide what may be said,
 * and a secret never is. */
#include "core/secret.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "core/str.h"

_Static_assert(MT_PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES,
               "MT_PASSWORD_HASH_MAX must be libsodium's crypto_pwhash_STRBYTES");
_Static_assert(MT_SECRET_HASH_HEX == crypto_hash_sha256_BYTES * 2 + 1,
               "MT_SECRET_HASH_HEX must hold a hex SHA-256");
_Static_assert(MT_SECRET_RANDOM_CHARS + 1 ==
                   sodium_base64_ENCODED_LEN(MT_SECRET_RANDOM_BYTES,
                                             sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "MT_SECRET_RANDOM_CHARS must be the base64url length of the random bytes");
_Static_assert(sizeof(MT_SECRET_SETUP_PREFIX) - 1 + MT_SECRET_RANDOM_CHARS < MT_SECRET_MAX,
               "MT_SECRET_MAX must hold the longest secret");

/* What mt_password_verify checks a password against when there is no hash:
 * the argon2id hash, with this version's parameters, of 32 random bytes
 * that were thrown away, so nothing matches it. mt_secret_init refuses to
 * start when its parameters are no longer MT_PASSWORD_OPSLIMIT and
 * MT_PASSWORD_MEMLIMIT: a change of them must replace it, or an unknown
 * login would answer faster than a wrong password. */
static const char dummy_hash[MT_PASSWORD_HASH_MAX] =
    "$argon2id$v=19$m=65536,t=3,p=1$m+DYa9xH5X+yPRPkc8Ab2g$"
    "mAVWpWNnx2wnCX4I9r4yQdmv1t8I6FjQBi5p5yB9a+I";

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void init_sodium(void)
{
    if (sodium_init() < 0)
        init_rc = -1;
    else if (crypto_pwhash_str_needs_rehash(dummy_hash, MT_PASSWORD_OPSLIMIT,
                                            MT_PASSWORD_MEMLIMIT) != 0)
        init_rc = -2;
    else
        init_rc = 0;
}

static bool ready(void)
{
    pthread_once(&init_once, init_sodium);
    return init_rc == 0;
}

int mt_secret_init(struct mt_err *err)
{
    if (ready())
        return 0;
    if (init_rc == -2)
        return mt_fail(err, MT_EINTERNAL,
                       "the fixed password hash of core/secret.c does not have the current "
                       "argon2id parameters");
    return mt_fail(err, MT_EINTERNAL, "libsodium cannot start (no source of randomness?)");
}

int mt_secret_random(const char *prefix, char *out, size_t cap)
{
    size_t plen = strlen(prefix);
    if (cap > 0)
        out[0] = '\0';
    if (!ready() || cap < plen + MT_SECRET_RANDOM_CHARS + 1)
        return -1;
    unsigned char raw[MT_SECRET_RANDOM_BYTES];
    randombytes_buf(raw, sizeof(raw));
    memcpy(out, prefix, plen);
    sodium_bin2base64(out + plen, cap - plen, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

void mt_secret_hash(const char *secret, char out[MT_SECRET_HASH_HEX])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)secret, strlen(secret));
    sodium_bin2hex(out, MT_SECRET_HASH_HEX, digest, sizeof(digest));
}

void mt_secret_shown_prefix(const char *secret, char out[MT_SECRET_SHOWN_PREFIX + 1])
{
    size_t n = strnlen(secret, MT_SECRET_SHOWN_PREFIX);
    memcpy(out, secret, n);
    out[n] = '\0';
}

bool mt_secret_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t n = strlen(a);
    if (strlen(b) != n)
        return false;
    return sodium_memcmp(a, b, n) == 0;
}

int mt_password_hash(const char *pw, char *out, size_t cap, struct mt_err *err)
{
    if (cap < MT_PASSWORD_HASH_MAX)
        return mt_fail(err, MT_EINVAL, "a password hash needs %d bytes, got %zu",
                       MT_PASSWORD_HASH_MAX, cap);
    size_t len = strlen(pw);
    if (len > MT_PASSWORD_MAX_BYTES)
        return mt_fail(err, MT_EINVAL, "the password is too long: at most %d bytes",
                       MT_PASSWORD_MAX_BYTES);
    if (!ready())
        return mt_fail(err, MT_EINTERNAL, "libsodium cannot start (no source of randomness?)");
    /* crypto_pwhash_str_alg fails only when it cannot have its memory. */
    if (crypto_pwhash_str_alg(out, pw, len, MT_PASSWORD_OPSLIMIT, MT_PASSWORD_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return mt_fail(err, MT_ELIMIT,
                       "not enough memory to hash a password (argon2id needs %u MiB)",
                       MT_PASSWORD_MEMLIMIT / (1024u * 1024u));
    return 0;
}

/* libsodium takes a hash as an array of crypto_pwhash_STRBYTES: a stored
 * hash is copied into one (zero-filled), so that no call can read past a
 * shorter string. False for a text too long to be a password hash. */
static bool hash_buffer(const char *hash, char buf[MT_PASSWORD_HASH_MAX])
{
    size_t n = strnlen(hash, MT_PASSWORD_HASH_MAX);
    if (n == MT_PASSWORD_HASH_MAX)
        return false;
    memset(buf, 0, MT_PASSWORD_HASH_MAX);
    memcpy(buf, hash, n);
    return true;
}

int mt_password_verify(const char *hash, const char *pw)
{
    size_t len = strlen(pw);
    char buf[MT_PASSWORD_HASH_MAX];
    if (len > MT_PASSWORD_MAX_BYTES || !ready())
        return -1;
    /* A stored text that cannot be a hash costs the same as a wrong password. */
    bool usable = hash && hash_buffer(hash, buf);
    int rc = crypto_pwhash_str_verify(usable ? buf : dummy_hash, pw, len);
    /* The fixed hash is never a match, whatever the password. */
    return rc == 0 && usable ? 0 : -1;
}

bool mt_password_needs_rehash(const char *hash)
{
    char buf[MT_PASSWORD_HASH_MAX];
    if (!hash || !ready() || !hash_buffer(hash, buf))
        return true;
    /* 1: other parameters or algorithm; -1: not an argon2id string at all. */
    return crypto_pwhash_str_needs_rehash(buf, MT_PASSWORD_OPSLIMIT, MT_PASSWORD_MEMLIMIT) != 0;
}

int mt_password_acceptable(const char *pw, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    if (!pw) {
        *why = "no password was given";
        return -1;
    }
    size_t len = strlen(pw);
    if (len > MT_PASSWORD_MAX_BYTES) {
        *why = "the password is too long: use at most 1024 bytes";
        return -1;
    }
    size_t chars = 0;
    for (size_t i = 0; i < len;) {
        size_t n = mt_utf8_seq(pw + i, len - i);
        if (n == 0) {
            *why = "the password is not valid UTF-8 text";
            return -1;
        }
        /* A control character cannot be typed into a sign-in form the same
         * way everywhere (a newline ends --password-stdin's line). */
        unsigned char b = (unsigned char)pw[i];
        if (n == 1 && (b < 0x20 || b == 0x7f)) {
            *why = "the password contains a control character (such as a tab or a line break)";
            return -1;
        }
        i += n;
        chars++;
    }
    if (chars < MT_PASSWORD_MIN_CHARS) {
        *why = "the password is too short: use at least 10 characters";
        return -1;
    }
    return 0;
}
