/* The seam between the binary and the TLS module (meditrack-tls.so):
 * tls_gnutls.c is built into the module, whose exported table
 * (core/module.h) is a struct tls_ops; the binary and the test programs
 * reach it through tls.c, which loads the module on first use. Callers only
 * see api/tls.h. Included by tls.c and tls_gnutls.c only. */
#ifndef MT_API_TLS_MODULE_H
#define MT_API_TLS_MODULE_H

#include "api/tls.h"

#define TLS_MODULE "meditrack-tls.so"

/* Same contracts as the functions of the same names in api/tls.h. */
struct tls_ops {
    int (*creds_load)(const char *cert_file, const char *key_file, struct tls_creds **out,
                      struct mt_err *err);
    void (*creds_ref)(struct tls_creds *c);
    void (*creds_unref)(struct tls_creds *c);
    void (*creds_info)(const struct tls_creds *c, struct tls_creds_info *out);
    struct tls_session *(*session_server)(struct tls_creds *creds, int fd, struct mt_err *err);
    struct tls_session *(*session_client)(int fd, struct mt_err *err);
    int (*handshake)(struct tls_session *s, struct mt_err *err);
    ssize_t (*recv)(struct tls_session *s, void *buf, size_t len);
    ssize_t (*send)(struct tls_session *s, const void *buf, size_t len);
    size_t (*pending)(struct tls_session *s);
    void (*bye)(struct tls_session *s);
    void (*session_free)(struct tls_session *s);
};

#endif
