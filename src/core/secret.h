/* Secrets of access control (docs/auth.md): random session ids, API tokens
 * and setup tokens with a recognisable prefix, their hex SHA-256 (the only
 * form the database ever sees), argon2id password hashes with the
 * parameters of this version, and constant-time comparison. Built on
 * libsodium; callers never include sodium.h. Users: src/store/auth*.c (the
 * hashes it stores), src/api (sign-in, sessions, tokens), src/cli (user and
 * token commands). Every function is thread-safe. */
#ifndef MT_CORE_SECRET_H
#define MT_CORE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Prefixes of the generated secrets, so that secret scanners (and people)
 * recognise them. */
#define MT_SECRET_SESSION_PREFIX "mts_"
#define MT_SECRET_TOKEN_PREFIX "mtt_"
#define MT_SECRET_SETUP_PREFIX "mtsetup_"
/* Bytes of randomness in a secret, and the base64url characters they make. */
#define MT_SECRET_RANDOM_BYTES 32
#define MT_SECRET_RANDOM_CHARS 43
/* Room for any generated secret: the longest prefix, the random part, NUL. */
#define MT_SECRET_MAX 64
/* A hex SHA-256 and its NUL. */
#define MT_SECRET_HASH_HEX 65
/* Characters of an API token shown in lists ("mtt_" and 8 more): enough to
 * tell tokens apart, far too few to guess the rest (api_tokens.prefix). */
#define MT_SECRET_SHOWN_PREFIX 12

/* The password policy and parameters (docs/auth.md). */
#define MT_PASSWORD_MIN_CHARS 10   /* UTF-8 code points */
#define MT_PASSWORD_MAX_BYTES 1024 /* bounds the hashing work a client can ask for */
#define MT_PASSWORD_OPSLIMIT 3
#define MT_PASSWORD_MEMLIMIT (64u * 1024u * 1024u) /* bytes */
/* Room for an argon2id string (libsodium's crypto_pwhash_STRBYTES). */
#define MT_PASSWORD_HASH_MAX 128

/* Initialises libsodium once per process (later and concurrent calls only
 * wait for the first). Call it at start-up; the other functions also do it
 * themselves where they need randomness. MT_EINTERNAL when libsodium cannot
 * start (no source of randomness). */
int mt_secret_init(struct mt_err *err);

/* Writes prefix followed by MT_SECRET_RANDOM_CHARS base64url characters (no
 * padding) made from MT_SECRET_RANDOM_BYTES fresh random bytes into out
 * (cap bytes, NUL-terminated). Returns 0, or -1 when the text does not fit
 * or libsodium cannot start (out is then an empty string when cap > 0). */
int mt_secret_random(const char *prefix, char *out, size_t cap);

/* The lower-case hex SHA-256 of secret, as stored and looked up. */
void mt_secret_hash(const char *secret, char out[MT_SECRET_HASH_HEX]);

/* The first MT_SECRET_SHOWN_PREFIX characters of secret (all of it when it
 * is shorter) into out, NUL-terminated. */
void mt_secret_shown_prefix(const char *secret, char out[MT_SECRET_SHOWN_PREFIX + 1]);

/* True when a and b are the same text: constant-time for texts of equal
 * length (sodium_memcmp), false at once for different lengths or NULL. */
bool mt_secret_equal(const char *a, const char *b);

/* Hashes pw with argon2id (opslimit MT_PASSWORD_OPSLIMIT, memlimit
 * MT_PASSWORD_MEMLIMIT, a random salt) into out, a "$argon2id$v=19$..."
 * string of at most MT_PASSWORD_HASH_MAX bytes with its NUL. The caller
 * checks mt_password_acceptable first; this only refuses what cannot be
 * hashed. Fails with MT_EINVAL for cap < MT_PASSWORD_HASH_MAX or a password
 * over MT_PASSWORD_MAX_BYTES, MT_ELIMIT when the memory for hashing cannot be
 * had, MT_EINTERNAL when libsodium cannot start. */
int mt_password_hash(const char *pw, char *out, size_t cap, struct mt_err *err);

/* 0 when pw matches hash, -1 otherwise (also for a hash that is not a
 * password string). With hash NULL (an unknown account, or one without a
 * password) pw is checked against a fixed hash of the same parameters that
 * nothing matches, so that the answer takes as long as for a wrong
 * password. Passwords over MT_PASSWORD_MAX_BYTES are refused at once. */
int mt_password_verify(const char *hash, const char *pw);

/* True when hash was not made with this version's algorithm and parameters
 * (or is not a password string): the caller hashes the password again after
 * a successful sign-in and stores it (store_account_rehash). */
bool mt_password_needs_rehash(const char *hash);

/* 0 when pw may be set as a password: valid UTF-8 without control
 * characters, at least MT_PASSWORD_MIN_CHARS code points, at most
 * MT_PASSWORD_MAX_BYTES bytes. Otherwise -1 and *why (may be NULL) gets a
 * static sentence for the user, e.g. "the password is too short: use at
 * least 10 characters". */
int mt_password_acceptable(const char *pw, const char **why);

#endif
