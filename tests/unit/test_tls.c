/* Unit tests for lib/tls and the stream hooks it uses: levels and protocol
 * lists, purging read-ahead input, the handshake over a socketpair with a
 * freshly made self-signed certificate, trust and name checks, reads of a
 * record larger than the stream buffer, and deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "stream.h"
#include "tls.h"

static char dir[] = "/tmp/test_tls.XXXXXX";
static char cert_path[256], key_path[256], both_path[256];
static int fds[2];

/* ---- A self-signed certificate for mx.example.test ---- */

static void write_pem(const char *path, EVP_PKEY *key, X509 *cert)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    if (key != NULL)
        assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    if (cert != NULL)
        assert_int_equal(PEM_write_X509(f, cert), 1);
    fclose(f);
}

static void make_certificate(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_NAME *name = X509_get_subject_name(cert);
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    assert_non_null(key);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) "mx.example.test",
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:mx.example.test");
    assert_non_null(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
    write_pem(cert_path, NULL, cert);
    write_pem(key_path, key, NULL);
    write_pem(both_path, key, cert);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static int group_setup(void **state)
{
    (void) state;
    signal(SIGPIPE, SIG_IGN);
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
    snprintf(both_path, sizeof(both_path), "%s/both.pem", dir);
    make_certificate();
    return 0;
}

static int group_teardown(void **state)
{
    (void) state;
    unlink(cert_path);
    unlink(key_path);
    unlink(both_path);
    rmdir(dir);
    return 0;
}

static int setup(void **state)
{
    (void) state;
    return socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
}

static int teardown(void **state)
{
    (void) state;
    close(fds[0]);
    close(fds[1]);
    return 0;
}

/* ---- Settings ---- */

static void test_levels(void **state)
{
    (void) state;
    assert_int_equal(tls_level_parse(""), TLS_LEVEL_NONE);
    assert_int_equal(tls_level_parse("none"), TLS_LEVEL_NONE);
    assert_int_equal(tls_level_parse("may"), TLS_LEVEL_MAY);
    assert_int_equal(tls_level_parse("Encrypt"), TLS_LEVEL_ENCRYPT);
    assert_int_equal(tls_level_parse("verify"), TLS_LEVEL_VERIFY);
    assert_int_equal(tls_level_parse("secure"), TLS_LEVEL_SECURE);
    assert_int_equal(tls_level_parse("dane"), TLS_LEVEL_MAY);
    assert_int_equal(tls_level_parse("sometimes"), -1);
}

static unsigned protocols(const char *spec)
{
    buf_t why = BUF_INIT;
    unsigned mask = 0;

    assert_int_equal(tls_protocols_parse(spec, &mask, &why), 0);
    buf_release(&why);
    return mask;
}

static void test_protocols(void **state)
{
    buf_t why = BUF_INIT;
    unsigned mask;

    (void) state;
    assert_int_equal(protocols(""), TLS_PROTO_ALL);
    assert_int_equal(protocols(">=TLSv1"), TLS_PROTO_ALL);
    assert_int_equal(protocols(">=TLSv1.2"), TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3);
    assert_int_equal(protocols("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"),
                     TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3);
    assert_int_equal(protocols("TLSv1.2 TLSv1.3"), TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3);
    assert_int_equal(protocols("<=TLSv1.2:>=TLSv1.1"), TLS_PROTO_TLSv1_1 | TLS_PROTO_TLSv1_2);
    assert_int_equal(protocols("!TLSv1.2"), TLS_PROTO_ALL & ~TLS_PROTO_TLSv1_2);
    assert_int_equal(protocols(">=SSLv3"), TLS_PROTO_ALL);
    assert_int_equal(tls_protocols_parse(">=TLSv9", &mask, &why), -1);
    assert_non_null(strstr(buf_str(&why), "TLSv9"));
    buf_reset(&why);
    assert_int_equal(tls_protocols_parse("SSLv3", &mask, &why), -1);   /* nothing left */
    buf_release(&why);
}

static void test_server_ctx_errors(void **state)
{
    buf_t why = BUF_INIT;
    tls_ctx_t *ctx;

    (void) state;
    assert_null(tls_server_ctx("", "", "", ">=TLSv1", &why));
    assert_string_equal(buf_str(&why), "no server certificate configured");
    buf_reset(&why);
    assert_null(tls_server_ctx("/nonexistent/cert.pem", "", "", ">=TLSv1", &why));
    assert_non_null(strstr(buf_str(&why), "/nonexistent/cert.pem"));
    buf_reset(&why);
    /* The certificate file holds no key, and no key file is given. */
    assert_null(tls_server_ctx(cert_path, "", "", ">=TLSv1", &why));
    buf_reset(&why);
    ctx = tls_server_ctx(cert_path, key_path, "", ">=TLSv1.2", &why);
    assert_non_null(ctx);
    tls_ctx_free(ctx);
    ctx = tls_server_ctx("", "", both_path, ">=TLSv1.2", &why);     /* chain_files */
    assert_non_null(ctx);
    tls_ctx_free(ctx);
    ctx = tls_server_ctx("", "", "", "", &why);
    assert_null(ctx);
    buf_release(&why);
}

/* ---- Stream hooks ---- */

static void test_purge_input(void **state)
{
    stream_t *s = stream_fdopen(fds[0]);
    buf_t b = BUF_INIT;

    (void) state;
    /* The STARTTLS injection: two commands in one write. */
    assert_int_equal(write(fds[1], "STARTTLS\r\nRSET\r\n", 16), 16);
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE);
    assert_string_equal(buf_str(&b), "STARTTLS\r\n");
    assert_int_equal(stream_purge_input(s), 6);
    assert_int_equal(stream_buffered(s), 0);
    assert_int_equal(stream_purge_input(s), 0);
    assert_int_equal(write(fds[1], "NOOP\r\n", 6), 6);
    buf_reset(&b);
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE);
    assert_string_equal(buf_str(&b), "NOOP\r\n");
    buf_release(&b);
    stream_free(s);
}

static ssize_t refuse_read(void *ctx, int fd, void *buf, size_t len)
{
    (void) ctx; (void) fd; (void) buf; (void) len;
    errno = ETIMEDOUT;
    return -1;
}

static ssize_t refuse_write(void *ctx, int fd, const void *buf, size_t len)
{
    (void) ctx; (void) fd; (void) buf; (void) len;
    errno = EIO;
    return -1;
}

static void test_ops_reset_and_timeout_errno(void **state)
{
    static const stream_ops_t refuse = { refuse_read, refuse_write };
    stream_t *s = stream_fdopen(fds[0]);
    buf_t b = BUF_INIT;

    (void) state;
    stream_set_timeout(s, 7);
    assert_int_equal(stream_get_timeout(s), 7);
    assert_int_equal(write(fds[1], "one\r\n", 5), 5);
    stream_set_ops(s, &refuse, NULL);
    /* An op that gives up on its deadline is a timeout, not an I/O error. */
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE_ERR);
    assert_int_equal(stream_status(s), STREAM_TIMEOUT);
    stream_clear_status(s);
    stream_puts(s, "x");
    assert_int_equal(stream_flush(s), -1);
    assert_int_equal(stream_status(s), STREAM_IOERR);
    stream_clear_status(s);
    /* NULL puts the plain primitives back. */
    stream_set_ops(s, NULL, NULL);
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE);
    assert_string_equal(buf_str(&b), "one\r\n");
    stream_puts(s, "two\r\n");
    assert_int_equal(stream_flush(s), 0);
    buf_release(&b);
    stream_free(s);
}

/* ---- Handshakes over a socketpair ---- */

#define BIG_LINE 12000        /* one TLS record, more than the stream's 8 KB buffer */

static void child_fail(const char *what)
{
    fprintf(stderr, "server child: %s\n", what);
    _exit(1);
}

/* The server side, in a child: echoes one line, then sends one big line
 * and waits for "BYE" before ending TLS. */
static pid_t start_server(int mode)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        buf_t why = BUF_INIT, line = BUF_INIT, out = BUF_INIT;
        tls_ctx_t *ctx = tls_server_ctx(cert_path, key_path, "", ">=TLSv1.2", &why);
        stream_t *s;
        tls_sess_t *t;

        close(fds[1]);
        s = stream_fdopen(fds[0]);
        stream_set_timeout(s, 10);
        if (ctx == NULL || (t = tls_server_start(ctx, s, 10, &why)) == NULL)
            child_fail(buf_str(&why));
        if (mode == 1) {              /* silent: the client's read must time out */
            if (stream_get_line(s, &line, 100) != STREAM_LINE)
                child_fail("no BYE");
            tls_end(t);
            _exit(0);
        }
        if (stream_get_line(s, &line, 100) != STREAM_LINE)
            child_fail("no line");
        stream_printf(s, "got: %s", buf_str(&line));
        for (int i = 0; i < BIG_LINE - 1; i++)
            buf_putc(&out, 'x');
        buf_putc(&out, '\n');
        stream_write(s, out.data, out.len);
        if (stream_flush(s) < 0)
            child_fail("flush");
        buf_reset(&line);
        if (stream_get_line(s, &line, 100) != STREAM_LINE || strcmp(buf_str(&line), "BYE\r\n"))
            child_fail("no BYE");
        tls_end(t);
        _exit(0);
    }
    close(fds[0]);
    fds[0] = dup(fds[1]);      /* keep teardown simple */
    return pid;
}

static void wait_child(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static tls_sess_t *client_start(const char *ca_file, const char *const *names, stream_t **sp)
{
    buf_t why = BUF_INIT;
    tls_ctx_t *ctx = tls_client_ctx(ca_file, "", ">=TLSv1.2", &why);
    stream_t *s = stream_fdopen(fds[1]);
    tls_sess_t *t;

    assert_non_null(ctx);
    stream_set_timeout(s, 10);
    t = tls_client_start(ctx, s, 10, "mx.example.test", names, &why);
    if (t == NULL)
        fail_msg("handshake: %s", buf_str(&why));
    tls_ctx_free(ctx);          /* the session keeps what it needs */
    buf_release(&why);
    *sp = s;
    return t;
}

static void test_handshake_and_big_record(void **state)
{
    static const char *const names[] = { "mx.example.test", NULL };
    pid_t pid = start_server(0);
    stream_t *s;
    tls_sess_t *t = client_start(cert_path, names, &s);
    const tls_info_t *info = tls_session_info(t);
    buf_t line = BUF_INIT, summary = BUF_INIT;

    (void) state;
    assert_string_equal(info->protocol, "TLSv1.3");
    assert_true(info->peer_cert);
    assert_true(info->peer_trusted);
    assert_true(info->peer_name_ok);
    tls_info_summary(info, &summary);
    assert_non_null(strstr(buf_str(&summary), "TLSv1.3 with cipher TLS_"));
    assert_non_null(strstr(buf_str(&summary), " bits)"));

    stream_puts(s, "hello\r\n");
    assert_int_equal(stream_flush(s), 0);
    assert_int_equal(stream_get_line(s, &line, 100), STREAM_LINE);
    assert_string_equal(buf_str(&line), "got: hello\r\n");
    /* The big line comes in one record: after the first 8 KB the rest is
     * inside OpenSSL and the socket is quiet. The stream must not wait on
     * the socket for it (it would time out). */
    stream_set_timeout(s, 2);
    buf_reset(&line);
    assert_int_equal(stream_get_line(s, &line, BIG_LINE + 10), STREAM_LINE);
    assert_int_equal(line.len, BIG_LINE);
    assert_int_equal(stream_status(s), STREAM_OK);
    stream_puts(s, "BYE\r\n");
    assert_int_equal(stream_flush(s), 0);
    /* close_notify from the server: a clean end of input. */
    buf_reset(&line);
    assert_int_equal(stream_get_line(s, &line, 100), STREAM_LINE_EOF);
    tls_end(t);
    wait_child(pid);
    buf_release(&line);
    buf_release(&summary);
    stream_free(s);
}

/* The client's half of start_server(0)'s conversation. */
static void converse(stream_t *s)
{
    buf_t line = BUF_INIT;

    stream_puts(s, "a\r\n");
    assert_int_equal(stream_flush(s), 0);
    assert_int_equal(stream_get_line(s, &line, 100), STREAM_LINE);
    buf_reset(&line);
    assert_int_equal(stream_get_line(s, &line, BIG_LINE + 10), STREAM_LINE);
    stream_puts(s, "BYE\r\n");
    assert_int_equal(stream_flush(s), 0);
    buf_release(&line);
}

static void test_trust_and_names(void **state)
{
    static const char *const other[] = { "other.example.net", NULL };
    static const char *const parent[] = { "nomatch.example.test", ".example.test", NULL };
    static const char *const wrong[] = { "mx.example.net", ".mx.example.test", NULL };
    stream_t *s;
    pid_t pid;
    tls_sess_t *t;

    (void) state;
    /* No trust anchors: encrypted, but untrusted. */
    pid = start_server(0);
    t = client_start("", other, &s);
    assert_true(tls_session_info(t)->peer_cert);
    assert_false(tls_session_info(t)->peer_trusted);
    assert_false(tls_session_info(t)->peer_name_ok);
    assert_non_null(strstr(tls_session_info(t)->verify_error, "self-signed"));
    converse(s);
    tls_end(t);
    stream_free(s);
    wait_child(pid);

    /* Trusted; the name is a subdomain of ".example.test". */
    teardown(state);
    setup(state);
    pid = start_server(0);
    t = client_start(cert_path, parent, &s);
    assert_true(tls_session_info(t)->peer_trusted);
    assert_true(tls_session_info(t)->peer_name_ok);
    assert_string_equal(tls_session_info(t)->verify_error, "");
    converse(s);
    tls_end(t);
    stream_free(s);
    wait_child(pid);

    /* Trusted, but not for these names. */
    teardown(state);
    setup(state);
    pid = start_server(0);
    t = client_start(cert_path, wrong, &s);
    assert_true(tls_session_info(t)->peer_trusted);
    assert_false(tls_session_info(t)->peer_name_ok);
    converse(s);
    tls_end(t);
    stream_free(s);
    wait_child(pid);
}

static void test_read_timeout_under_tls(void **state)
{
    static const char *const names[] = { "mx.example.test", NULL };
    pid_t pid = start_server(1);
    stream_t *s;
    tls_sess_t *t = client_start(cert_path, names, &s);
    buf_t line = BUF_INIT;
    time_t start = time(NULL);

    (void) state;
    stream_set_timeout(s, 1);
    assert_int_equal(stream_get_line(s, &line, 100), STREAM_LINE_ERR);
    assert_int_equal(stream_status(s), STREAM_TIMEOUT);
    assert_true(time(NULL) - start <= 3);
    stream_clear_status(s);
    stream_puts(s, "BYE\r\n");
    assert_int_equal(stream_flush(s), 0);
    tls_end(t);
    wait_child(pid);
    buf_release(&line);
    stream_free(s);
}

static void test_handshake_timeout_and_garbage(void **state)
{
    buf_t why = BUF_INIT;
    tls_ctx_t *ctx = tls_server_ctx(cert_path, key_path, "", ">=TLSv1.2", &why);
    stream_t *s = stream_fdopen(fds[0]);
    time_t start = time(NULL);
    buf_t line = BUF_INIT;

    (void) state;
    assert_non_null(ctx);
    /* A client that never starts the handshake. */
    assert_null(tls_server_start(ctx, s, 1, &why));
    assert_string_equal(buf_str(&why), "timed out");
    assert_true(time(NULL) - start <= 3);
    /* A client that sends plaintext instead: refused, and the stream is
     * plain again. */
    buf_reset(&why);
    assert_int_equal(write(fds[1], "RSET\r\nQUIT\r\n", 12), 12);
    assert_null(tls_server_start(ctx, s, 5, &why));
    assert_int_equal(write(fds[1], "NOOP\r\n", 6), 6);
    /* OpenSSL took the first bytes; what it left is read plainly. */
    for (int i = 0; i < 3 && strstr(buf_str(&line), "NOOP") == NULL; i++)
        assert_int_equal(stream_get_line(s, &line, 100), STREAM_LINE);
    assert_non_null(strstr(buf_str(&line), "NOOP"));
    /* A client that hangs up. */
    buf_reset(&why);
    close(fds[1]);
    fds[1] = -1;
    assert_null(tls_server_start(ctx, s, 5, &why));
    assert_string_equal(buf_str(&why), "lost connection");
    fds[1] = dup(fds[0]);
    tls_ctx_free(ctx);
    stream_free(s);
    buf_release(&why);
    buf_release(&line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_server_ctx_errors),
        cmocka_unit_test_setup_teardown(test_purge_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_reset_and_timeout_errno, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_and_big_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trust_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_timeout_under_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout_and_garbage, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
