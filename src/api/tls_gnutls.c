/* The TLS module, meditrack-tls.so: api/tls.h on GnuTLS. Credentials are
 * read from PEM files (the key buffer is wiped once parsed), checked to
 * belong together and reference counted, so that a certificate replaced on
 * SIGHUP stays alive for the connections still using it. Sessions are
 * non-blocking and driven by the caller's event loop: every call returns at
 * once with what it needs next. Built as a module because loading GnuTLS
 * costs every command about 1.6 ms, more than half of what `meditrack db
 * current` takes (README.md, "Loadable modules"); tls.c opens it when TLS is
 * configured. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/tls_module.h"
#include "core/module.h"

/* Certificate and key files are small; a larger file is a wrong path. */
#define PEM_MAX ((size_t)1 << 20)
/* Non-fatal records (warning alerts, post-handshake messages) handled in a
 * row before a call gives up and reports "would block". */
#define NONFATAL_MAX 16

struct tls_creds {
    atomic_int refs;
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    struct tls_creds_info info;
};

struct tls_session {
    gnutls_session_t s;
    struct tls_creds *creds;               /* server: one reference */
    gnutls_certificate_credentials_t anon; /* client: no certificate of its own */
};

/* ---- credentials ---- */

/* Reads the file at path (named var in messages) into out, which the caller
 * frees (after wiping it, for a key). */
static int read_pem(const char *var, const char *path, gnutls_datum_t *out, struct mt_err *err)
{
    /* O_NONBLOCK: a FIFO given by mistake must not hang the start-up. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return mt_fail(err, errno == EACCES ? MT_EPERM : MT_EINVAL, "cannot read %s %s: %s", var,
                       path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > PEM_MAX) {
        close(fd);
        return mt_fail(err, MT_EINVAL, "cannot read %s %s: not a regular file of at most %zu bytes",
                       var, path, PEM_MAX);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    unsigned char *buf = mt_xmalloc(cap);
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            explicit_bzero(buf, cap);
            free(buf);
            close(fd);
            return mt_fail(err, e == EACCES ? MT_EPERM : MT_EINVAL, "cannot read %s %s: %s", var,
                           path, strerror(e));
        }
        if (n == 0 || (len += (size_t)n) == cap)
            break;
    }
    close(fd);
    if (len == cap || len == 0) {
        /* It grew while being read, or it is empty. */
        explicit_bzero(buf, cap);
        free(buf);
        return mt_fail(err, MT_EINVAL, "cannot read %s %s: %s", var, path,
                       len ? "the file changed while it was read" : "the file is empty");
    }
    out->data = buf;
    out->size = (unsigned)len;
    return 0;
}

static void fill_info(gnutls_x509_crt_t crt, struct tls_creds_info *info)
{
    unsigned char raw[40];
    size_t n = sizeof(raw);
    memset(info, 0, sizeof(*info));
    if (gnutls_x509_crt_get_serial(crt, raw, &n) == 0)
        for (size_t i = 0; i < n && 2 * i + 2 < sizeof(info->serial); i++)
            snprintf(info->serial + 2 * i, 3, "%02x", raw[i]);
    unsigned char fp[32];
    n = sizeof(fp);
    if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &n) == 0)
        for (size_t i = 0; i < n && 3 * i + 3 <= sizeof(info->sha256); i++)
            snprintf(info->sha256 + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", fp[i]);
    info->not_before = gnutls_x509_crt_get_activation_time(crt);
    info->not_after = gnutls_x509_crt_get_expiration_time(crt);
}

static void creds_free(struct tls_creds *c)
{
    if (c->cred)
        gnutls_certificate_free_credentials(c->cred);
    if (c->prio)
        gnutls_priority_deinit(c->prio);
    free(c);
}

/* Parses the two files' contents into c. */
static int creds_build(struct tls_creds *c, const char *cert_file, const gnutls_datum_t *cert,
                       const char *key_file, const gnutls_datum_t *key, struct mt_err *err)
{
    gnutls_x509_crt_t *crts = NULL;
    unsigned n_crts = 0;
    gnutls_x509_privkey_t pk = NULL;
    int rc = gnutls_x509_crt_list_import2(&crts, &n_crts, cert, GNUTLS_X509_FMT_PEM,
                                          GNUTLS_X509_CRT_LIST_SORT);
    if (rc < 0 || n_crts == 0) {
        mt_fail(err, MT_EINVAL, "TLS_CERT_FILE %s holds no usable PEM certificate: %s", cert_file,
                rc < 0 ? gnutls_strerror(rc) : "none found");
        goto out;
    }
    rc = gnutls_x509_privkey_init(&pk);
    if (rc >= 0)
        rc = gnutls_x509_privkey_import2(pk, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        bool encrypted = rc == GNUTLS_E_DECRYPTION_FAILED;
        mt_fail(err, MT_EINVAL, "TLS_KEY_FILE %s holds no usable PEM private key: %s%s", key_file,
                gnutls_strerror(rc),
                encrypted ? " (the key is encrypted: give it unencrypted, readable by this "
                            "user only)"
                          : "");
        goto out;
    }
    rc = gnutls_certificate_allocate_credentials(&c->cred);
    if (rc >= 0)
        rc = gnutls_certificate_set_x509_key(c->cred, crts, n_crts, pk);
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        mt_fail(err, MT_EINVAL,
                "the key in TLS_KEY_FILE %s does not belong to the certificate in TLS_CERT_FILE %s",
                key_file, cert_file);
        goto out;
    }
    if (rc < 0) {
        mt_fail(err, MT_EINVAL, "cannot use TLS_CERT_FILE %s with TLS_KEY_FILE %s: %s", cert_file,
                key_file, gnutls_strerror(rc));
        goto out;
    }
    const char *where = NULL;
    rc = gnutls_priority_init(&c->prio, TLS_PRIORITY, &where);
    if (rc < 0) {
        mt_fail(err, MT_EINTERNAL, "GnuTLS refuses the priority string %s: %s", TLS_PRIORITY,
                gnutls_strerror(rc));
        goto out;
    }
    fill_info(crts[0], &c->info);
    rc = 0;
out:
    if (pk)
        gnutls_x509_privkey_deinit(pk);
    for (unsigned i = 0; i < n_crts; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    return rc < 0 ? -1 : 0;
}

static int creds_load(const char *cert_file, const char *key_file, struct tls_creds **out,
                      struct mt_err *err)
{
    gnutls_datum_t cert = {0}, key = {0};
    if (read_pem("TLS_CERT_FILE", cert_file, &cert, err) < 0)
        return -1;
    if (read_pem("TLS_KEY_FILE", key_file, &key, err) < 0) {
        free(cert.data);
        return -1;
    }
    struct tls_creds *c = mt_xcalloc(1, sizeof(*c));
    atomic_init(&c->refs, 1);
    int rc = creds_build(c, cert_file, &cert, key_file, &key, err);
    /* GnuTLS keeps its own copy of the key: ours goes at once. */
    explicit_bzero(key.data, key.size);
    free(key.data);
    free(cert.data);
    if (rc < 0) {
        creds_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void creds_ref(struct tls_creds *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void creds_unref(struct tls_creds *c)
{
    /* acq_rel: the last owner sees every use by the others before freeing. */
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        creds_free(c);
}

static void creds_info(const struct tls_creds *c, struct tls_creds_info *out)
{
    *out = c->info;
}

/* ---- sessions ---- */

static struct tls_session *session_new(unsigned flags, int fd, struct mt_err *err)
{
    struct tls_session *t = mt_xcalloc(1, sizeof(*t));
    int rc = gnutls_init(&t->s, flags | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS);
    if (rc < 0) {
        free(t);
        mt_fail(err, MT_EINTERNAL, "cannot set up a TLS session: %s", gnutls_strerror(rc));
        return NULL;
    }
    /* The caller's deadlines bound the handshake (HEAD_TIMEOUT). */
    gnutls_handshake_set_timeout(t->s, 0);
    gnutls_transport_set_int(t->s, fd);
    return t;
}

static void session_free(struct tls_session *t)
{
    gnutls_deinit(t->s);
    if (t->creds)
        creds_unref(t->creds);
    if (t->anon)
        gnutls_certificate_free_credentials(t->anon);
    free(t);
}

static struct tls_session *session_server(struct tls_creds *creds, int fd, struct mt_err *err)
{
    struct tls_session *t = session_new(GNUTLS_SERVER, fd, err);
    if (!t)
        return NULL;
    creds_ref(creds);
    t->creds = creds;
    int rc = gnutls_priority_set(t->s, creds->prio);
    if (rc >= 0)
        rc = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, creds->cred);
    if (rc < 0) {
        mt_fail(err, MT_EINTERNAL, "cannot set up a TLS session: %s", gnutls_strerror(rc));
        session_free(t);
        return NULL;
    }
    return t;
}

static struct tls_session *session_client(int fd, struct mt_err *err)
{
    struct tls_session *t = session_new(GNUTLS_CLIENT, fd, err);
    if (!t)
        return NULL;
    int rc = gnutls_certificate_allocate_credentials(&t->anon);
    if (rc >= 0)
        rc = gnutls_priority_set_direct(t->s, TLS_PRIORITY, NULL);
    if (rc >= 0)
        rc = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->anon);
    if (rc < 0) {
        mt_fail(err, MT_EINTERNAL, "cannot set up a TLS session: %s", gnutls_strerror(rc));
        session_free(t);
        return NULL;
    }
    return t;
}

/* What GNUTLS_E_AGAIN means now: the direction the last I/O was blocked in. */
static int would_block(struct tls_session *t)
{
    return gnutls_record_get_direction(t->s) ? TLS_WANT_WRITE : TLS_WANT_READ;
}

static int handshake(struct tls_session *t, struct mt_err *err)
{
    for (int i = 0; i < NONFATAL_MAX; i++) {
        int rc = gnutls_handshake(t->s);
        if (rc == 0)
            return 1;
        if (rc == GNUTLS_E_AGAIN)
            return would_block(t);
        if (rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(rc))
            continue;
        /* Tells the client why (e.g. protocol_version for TLS 1.1), when the
         * socket takes the alert at once. */
        gnutls_alert_send_appropriate(t->s, rc);
        mt_fail(err, MT_EINVAL, "%s", gnutls_strerror(rc));
        return TLS_FAIL;
    }
    return would_block(t);
}

static ssize_t recv_(struct tls_session *t, void *buf, size_t len)
{
    for (int i = 0; i < NONFATAL_MAX; i++) {
        ssize_t n = gnutls_record_recv(t->s, buf, len);
        if (n >= 0)
            return n;
        if (n == GNUTLS_E_AGAIN)
            return would_block(t);
        /* A client that closes without close_notify has still ended its side;
         * HTTP's own framing tells whether anything was cut. */
        if (n == GNUTLS_E_PREMATURE_TERMINATION)
            return 0;
        /* Renegotiation is not offered: TLS 1.2 clients asking for it are
         * dropped rather than run through a second handshake mid-request. */
        if (n == GNUTLS_E_REHANDSHAKE)
            return TLS_FAIL;
        if (n == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)n))
            continue;
        return TLS_FAIL;
    }
    return would_block(t);
}

static ssize_t send_(struct tls_session *t, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = gnutls_record_send(t->s, buf, len);
        if (n >= 0)
            return n;
        if (n == GNUTLS_E_AGAIN)
            return would_block(t);
        if (n == GNUTLS_E_INTERRUPTED)
            continue;
        return TLS_FAIL;
    }
}

static size_t pending(struct tls_session *t)
{
    return gnutls_record_check_pending(t->s);
}

static void bye(struct tls_session *t)
{
    /* Non-blocking: either the alert goes out now or it is dropped. */
    (void)gnutls_bye(t->s, GNUTLS_SHUT_WR);
}

static const struct tls_ops tls_module_ops = {
    .creds_load = creds_load,
    .creds_ref = creds_ref,
    .creds_unref = creds_unref,
    .creds_info = creds_info,
    .session_server = session_server,
    .session_client = session_client,
    .handshake = handshake,
    .recv = recv_,
    .send = send_,
    .pending = pending,
    .bye = bye,
    .session_free = session_free,
};

MT_MODULE_EXPORT(TLS_MODULE, tls_module_ops);
