/* TLS for the HTTP server (TLS_CERT_FILE / TLS_KEY_FILE) and for the
 * healthcheck probe that talks to it: certificate credentials shared by
 * reference count, and non-blocking sessions over a socket that the caller
 * drives from its own event loop. GnuTLS does the work inside the loadable
 * module meditrack-tls.so (tls_gnutls.c), which tls.c opens on first use, so
 * that a process without TLS never loads GnuTLS (README.md, "Loadable
 * modules"). Used by api/server.c, api/conn.c, cli/serve.c and
 * cli/healthcheck.c. */
#ifndef MT_API_TLS_H
#define MT_API_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/err.h"

/* The protocol versions and ciphers offered: TLS 1.3 and 1.2 only, GnuTLS's
 * NORMAL set otherwise (docs/http.md, "TLS"). */
#define TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Results of the session calls below besides byte counts. WANT_READ and
 * WANT_WRITE: the socket would block; wait until it is readable (writable)
 * and call again (after WANT_* from tls_send with the same arguments). */
enum {
    TLS_FAIL = -1,
    TLS_WANT_READ = -2,
    TLS_WANT_WRITE = -3,
};

/* A certificate chain with its private key, ready for server sessions.
 * Reference counted: every session holds a reference, so a replaced pair
 * (SIGHUP) stays valid until the last connection using it is closed. */
struct tls_creds;
struct tls_session;

/* What the log says about a certificate (never anything about the key). */
struct tls_creds_info {
    char serial[80];  /* hex */
    char sha256[100]; /* fingerprint of the leaf certificate, XX:XX:... */
    time_t not_before, not_after;
};

/* Reads the PEM certificate chain (leaf first) at cert_file and the PEM
 * private key at key_file (unencrypted; PKCS#1, PKCS#8 or SEC1) and checks
 * that they belong together. Loads the TLS module on the first call. *out
 * holds one reference; give it back with tls_creds_unref. Fails with
 * MT_EINVAL when a file cannot be read or holds no usable certificate or
 * key, or the two do not match (the message names TLS_CERT_FILE or
 * TLS_KEY_FILE and the path, never the key's content), and with MT_EUNAVAIL
 * when the module cannot be loaded. Thread-safe. */
int tls_creds_load(const char *cert_file, const char *key_file, struct tls_creds **out,
                   struct mt_err *err);
/* Takes another reference on c. Thread-safe. */
void tls_creds_ref(struct tls_creds *c);
/* Gives a reference back; the last one frees c. NULL is accepted. */
void tls_creds_unref(struct tls_creds *c);
/* Serial, fingerprint and validity of c's leaf certificate. */
void tls_creds_info(const struct tls_creds *c, struct tls_creds_info *out);

/* A server session on the connected, non-blocking socket fd, using creds
 * (the session takes its own reference). The socket stays the caller's to
 * close, after tls_session_free. NULL with err filled when GnuTLS cannot
 * set one up (out of memory). */
struct tls_session *tls_session_server(struct tls_creds *creds, int fd, struct mt_err *err);
/* A client session on fd that does NOT verify the server's certificate: for
 * `meditrack healthcheck`, which probes its own server on loopback. Loads the
 * module when needed; NULL with err filled (MT_EUNAVAIL) when it cannot. */
struct tls_session *tls_session_client(int fd, struct mt_err *err);

/* Advances the handshake: 1 when complete, TLS_WANT_READ / TLS_WANT_WRITE,
 * or TLS_FAIL with err saying why (the peer was sent the fitting alert where
 * the socket took it). */
int tls_handshake(struct tls_session *s, struct mt_err *err);
/* Decrypted application bytes into buf: a count above 0; 0 when the peer
 * closed the connection (with or without close_notify); TLS_WANT_*; TLS_FAIL
 * on a protocol error or a renegotiation attempt. */
ssize_t tls_recv(struct tls_session *s, void *buf, size_t len);
/* Encrypts and sends up to len bytes (at most one record, 16 KiB): a count
 * above 0, TLS_WANT_* (the record is kept: call again with the same buf and
 * len), or TLS_FAIL when the connection is broken. */
ssize_t tls_send(struct tls_session *s, const void *buf, size_t len);
/* Decrypted bytes held inside the session that a socket readiness check
 * cannot see. */
size_t tls_pending(struct tls_session *s);
/* Sends close_notify if the socket takes it at once (an orderly end of the
 * sending side); never waits. */
void tls_bye(struct tls_session *s);
/* Frees s and its reference on the credentials. NULL is accepted. */
void tls_session_free(struct tls_session *s);

#endif
