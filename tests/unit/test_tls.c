/* Unit tests of api/tls.h through the real TLS module of the build tree
 * (meditrack-tls.so, loaded by the seam as in the binary): loading a
 * certificate and key (every failure names the variable and the path, and
 * never quotes the key), and a server and a client session driving each other
 * over a non-blocking socket pair: the handshake's WANT_READ / WANT_WRITE
 * steps, data both ways, a send larger than one record, decrypted bytes held
 * in the session (tls_pending), close_notify and a close without it both
 * read as the end, and credentials that outlive their last reference holder
 * only as long as a session uses them. The certificates are made with
 * `openssl req` at run time; without openssl the test is skipped (77). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "api/tls.h"

static char dir[] = "/tmp/test_tls.XXXXXX";
static char cert_a[256], key_a[256], key_b[256];

static bool make_pair(const char *name, char *cert, char *key)
{
    snprintf(cert, 256, "%s/%s.crt", dir, name);
    snprintf(key, 256, "%s/%s.key", dir, name);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
             "-out %s -days 2 -subj /CN=localhost >/dev/null 2>&1",
             key, cert);
    return system(cmd) == 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static bool has(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

static void test_load_errors(void)
{
    struct tls_creds *c = NULL;
    struct mt_err err = {0};
    char missing[300], empty[300], garbage[300];
    snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
    snprintf(empty, sizeof(empty), "%s/empty.pem", dir);
    snprintf(garbage, sizeof(garbage), "%s/garbage.pem", dir);
    write_file(empty, "");
    write_file(garbage,
               "-----BEGIN PRIVATE KEY-----\nU0VDUkVUTUFSSw==\n-----END PRIVATE KEY-----\n");

    CHECK_EQ(tls_creds_load(missing, key_a, &c, &err), -1);
    CHECK(has(err.msg, "cannot read TLS_CERT_FILE") && has(err.msg, missing));
    CHECK_EQ(tls_creds_load(cert_a, dir, &c, &err), -1);
    CHECK(has(err.msg, "TLS_KEY_FILE") && has(err.msg, "not a regular file"));
    CHECK_EQ(tls_creds_load(cert_a, empty, &c, &err), -1);
    CHECK(has(err.msg, "TLS_KEY_FILE") && has(err.msg, "empty"));
    CHECK_EQ(tls_creds_load(garbage, key_a, &c, &err), -1);
    CHECK(has(err.msg, "TLS_CERT_FILE") && has(err.msg, "no usable PEM certificate"));
    CHECK_EQ(tls_creds_load(cert_a, garbage, &c, &err), -1);
    CHECK(has(err.msg, "no usable PEM private key") && !has(err.msg, "U0VDUkVUTUFSSw"));
    CHECK_EQ(tls_creds_load(cert_a, key_b, &c, &err), -1);
    CHECK(has(err.msg, "does not belong to the certificate"));
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK(c == NULL);
}

/* Steps both handshakes until both are done (or one fails). */
static bool handshake_both(struct tls_session *srv, struct tls_session *cli, int *wants)
{
    int s = 0, c = 0;
    struct mt_err err = {0};
    for (int i = 0; i < 100 && (s != 1 || c != 1); i++) {
        if (s != 1) {
            s = tls_handshake(srv, &err);
            if (s == TLS_WANT_READ || s == TLS_WANT_WRITE)
                (*wants)++;
        }
        if (c != 1)
            c = tls_handshake(cli, &err);
        if (s == TLS_FAIL || c == TLS_FAIL) {
            fprintf(stderr, "handshake failed: %s\n", err.msg);
            return false;
        }
    }
    return s == 1 && c == 1;
}

/* Reads up to len bytes from s, retrying while it would block (the peer's
 * bytes are already in the socket pair). */
static ssize_t read_some(struct tls_session *s, char *buf, size_t len)
{
    for (int i = 0; i < 100; i++) {
        ssize_t n = tls_recv(s, buf, len);
        if (n != TLS_WANT_READ && n != TLS_WANT_WRITE)
            return n;
    }
    return TLS_WANT_READ;
}

static void test_sessions(void)
{
    struct tls_creds *creds = NULL;
    struct mt_err err = {0};
    CHECK_EQ(tls_creds_load(cert_a, key_a, &creds, &err), 0);
    if (!creds) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    struct tls_creds_info info;
    tls_creds_info(creds, &info);
    CHECK(strlen(info.sha256) == 95 && info.serial[0] && info.not_after > info.not_before);

    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct tls_session *srv = tls_session_server(creds, sv[0], &err);
    struct tls_session *cli = tls_session_client(sv[1], &err);
    CHECK(srv && cli);
    /* The sessions hold their own reference: dropping ours must not free
     * the credentials under them (ASan would see it). */
    tls_creds_unref(creds);
    if (!srv || !cli) {
        tls_session_free(srv);
        tls_session_free(cli);
        return;
    }
    char buf[70000];
    /* Nothing from the client yet: the server waits to read. */
    CHECK_EQ(tls_handshake(srv, &err), TLS_WANT_READ);
    int wants = 0;
    CHECK(handshake_both(srv, cli, &wants));
    CHECK(wants > 0);

    CHECK_EQ(tls_send(cli, "GET / HTTP/1.1\r\n\r\n", 18), 18);
    CHECK_EQ(read_some(srv, buf, sizeof(buf)), 18);
    CHECK(memcmp(buf, "GET / HTTP/1.1\r\n\r\n", 18) == 0);

    /* One call sends one record (16 KiB at most); the rest is the caller's. */
    static char big[40000];
    memset(big, 'x', sizeof(big));
    ssize_t sent = tls_send(srv, big, sizeof(big));
    CHECK(sent > 0 && sent <= 16384);
    /* Reading less than the record leaves the rest decrypted in the session. */
    CHECK_EQ(read_some(cli, buf, 100), 100);
    CHECK_EQ(tls_pending(cli), (size_t)sent - 100);
    CHECK_EQ(read_some(cli, buf, sizeof(buf)), sent - 100);
    CHECK_EQ(tls_pending(cli), 0);

    /* close_notify: the end. */
    tls_bye(cli);
    CHECK_EQ(read_some(srv, buf, sizeof(buf)), 0);
    tls_session_free(srv);
    tls_session_free(cli);
    close(sv[0]);
    close(sv[1]);
}

static void test_close_without_notify(void)
{
    struct tls_creds *creds = NULL;
    struct mt_err err = {0};
    if (tls_creds_load(cert_a, key_a, &creds, &err) < 0)
        return;
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct tls_session *srv = tls_session_server(creds, sv[0], &err);
    struct tls_session *cli = tls_session_client(sv[1], &err);
    int wants = 0;
    CHECK(srv && cli && handshake_both(srv, cli, &wants));
    tls_session_free(cli);
    close(sv[1]);
    char buf[64];
    CHECK_EQ(read_some(srv, buf, sizeof(buf)), 0);
    /* Garbage instead of a handshake fails the handshake. */
    int gv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, gv), 0);
    struct tls_session *g = tls_session_server(creds, gv[0], &err);
    CHECK_EQ(write(gv[1], "GET / HTTP/1.1\r\n\r\n", 18), 18);
    CHECK_EQ(tls_handshake(g, &err), TLS_FAIL);
    CHECK(err.msg[0] != '\0');
    tls_session_free(g);
    close(gv[0]);
    close(gv[1]);
    tls_session_free(srv);
    close(sv[0]);
    tls_creds_unref(creds);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char unused[256];
    if (!make_pair("a", cert_a, key_a) || !make_pair("b", unused, key_b)) {
        SKIP("openssl cannot make a test certificate");
    }
    test_load_errors();
    test_sessions();
    test_close_without_notify();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return check_report();
}
