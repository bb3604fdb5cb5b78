/* api/tls.h as callers have it: a thin seam over the TLS module
 * (meditrack-tls.so), which core/module.h opens when the first credentials
 * are loaded or the first client session is made, once per process. Every
 * other call receives an object that the module made, so the module is
 * loaded by then. A process that never configures TLS never loads GnuTLS
 * and its eight libraries. */
#include <assert.h>

#include "api/tls_module.h"
#include "core/module.h"

static struct mt_module tls_module = MT_MODULE_INIT(TLS_MODULE, struct tls_ops);

/* The table, for calls on objects the module made. */
static const struct tls_ops *ops(void)
{
    const struct tls_ops *o = mt_module_loaded(&tls_module);
    assert(o && "a TLS object exists only once the module is loaded");
    return o;
}

int tls_creds_load(const char *cert_file, const char *key_file, struct tls_creds **out,
                   struct mt_err *err)
{
    const struct tls_ops *o = mt_module_get(&tls_module, err);
    if (!o)
        return mt_err_wrap(err, "TLS is not available");
    return o->creds_load(cert_file, key_file, out, err);
}

void tls_creds_ref(struct tls_creds *c)
{
    ops()->creds_ref(c);
}

void tls_creds_unref(struct tls_creds *c)
{
    if (c)
        ops()->creds_unref(c);
}

void tls_creds_info(const struct tls_creds *c, struct tls_creds_info *out)
{
    ops()->creds_info(c, out);
}

struct tls_session *tls_session_server(struct tls_creds *creds, int fd, struct mt_err *err)
{
    return ops()->session_server(creds, fd, err);
}

struct tls_session *tls_session_client(int fd, struct mt_err *err)
{
    const struct tls_ops *o = mt_module_get(&tls_module, err);
    if (!o) {
        mt_err_wrap(err, "TLS is not available");
        return NULL;
    }
    return o->session_client(fd, err);
}

int tls_handshake(struct tls_session *s, struct mt_err *err)
{
    return ops()->handshake(s, err);
}

ssize_t tls_recv(struct tls_session *s, void *buf, size_t len)
{
    return ops()->recv(s, buf, len);
}

ssize_t tls_send(struct tls_session *s, const void *buf, size_t len)
{
    return ops()->send(s, buf, len);
}

size_t tls_pending(struct tls_session *s)
{
    return ops()->pending(s);
}

void tls_bye(struct tls_session *s)
{
    ops()->bye(s);
}

void tls_session_free(struct tls_session *s)
{
    if (s)
        ops()->session_free(s);
}
