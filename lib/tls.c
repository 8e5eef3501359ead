/* tls: OpenSSL contexts and sessions, and the stream primitives that carry
 * a session's I/O. The socket is non-blocking while TLS runs, so that every
 * wait is a poll() bounded by the stream's timeout (or the handshake's
 * deadline), never a read stuck in the middle of a record.
 * OpenSSL writes to the socket with write(2): processes using this module
 * must ignore SIGPIPE, as service_init does. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "alloc.h"
#include "argv.h"
#include "log.h"
#include "tls.h"

#define TLS_END_WAIT_MS  1000      /* how long close_notify may take to go out */

struct tls_ctx {
    SSL_CTX *ssl_ctx;
};

struct tls_sess {
    SSL        *ssl;
    stream_t   *stream;
    int         fd;
    int         fd_flags;          /* fcntl flags to put back at the end */
    int         installed;         /* the stream's I/O goes through us */
    tls_info_t  info;
};

/* ---------------------------------------------------------------- */
/* Levels and protocol lists                                        */
/* ---------------------------------------------------------------- */

int tls_level_parse(const char *text)
{
    static const struct { const char *name; int level; } levels[] = {
        { "", TLS_LEVEL_NONE }, { "none", TLS_LEVEL_NONE }, { "may", TLS_LEVEL_MAY },
        { "encrypt", TLS_LEVEL_ENCRYPT }, { "verify", TLS_LEVEL_VERIFY },
        { "secure", TLS_LEVEL_SECURE }, { "dane", TLS_LEVEL_MAY },
        { "dane-only", TLS_LEVEL_ENCRYPT },
    };

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcasecmp(text, levels[i].name) == 0)
            return levels[i].level;
    return -1;
}

/* A version name: 0..3 for TLSv1..TLSv1.3, -1 for SSLv3, -2 for SSLv2,
 * -3 when unknown. */
static int version_index(const char *name)
{
    static const char *const names[] = { "SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2",
                                         "TLSv1.3" };

    for (int i = 0; i < 6; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i - 2;
    return -3;
}

/* The versions at or above (above = 1) or at or below (above = 0) index. */
static unsigned versions_from(int index, int above)
{
    unsigned mask = 0;

    for (int i = 0; i < 4; i++)
        if (above ? i >= index : i <= index)
            mask |= 1u << i;
    return mask;
}

int tls_protocols_parse(const char *spec, unsigned *mask, buf_t *why)
{
    argv_t *words = argv_split(spec, ", \t:");
    unsigned include = 0, exclude = 0, bound = TLS_PROTO_ALL;
    int named = 0, rc = 0;

    for (size_t i = 0; i < words->argc && rc == 0; i++) {
        const char *w = words->argv[i];
        int op = (w[0] == '>' || w[0] == '<') && w[1] == '=' ? w[0] : w[0] == '!' ? '!' : 0;
        int index = version_index(w + (op == '!' ? 1 : op ? 2 : 0));

        if (index == -3) {
            buf_printf(why, "invalid TLS protocol name \"%s\" in \"%s\"", w, spec);
            rc = -1;
        } else if (op == '>') {
            bound &= versions_from(index, 1);
        } else if (op == '<') {
            bound &= versions_from(index, 0);
        } else if (op == '!') {
            exclude |= index >= 0 ? 1u << index : 0;
        } else {
            named = 1;
            include |= index >= 0 ? 1u << index : 0;
        }
    }
    argv_free(words);
    if (rc < 0)
        return -1;
    *mask = (named ? include : TLS_PROTO_ALL) & ~exclude & bound;
    if (*mask == 0) {
        buf_printf(why, "no TLS protocol version left in \"%s\"", spec);
        return -1;
    }
    return 0;
}

/* Lowest and highest enabled version, holes switched off by option. */
static void apply_protocols(SSL_CTX *c, unsigned mask)
{
    static const long holes[] = { SSL_OP_NO_TLSv1, SSL_OP_NO_TLSv1_1, SSL_OP_NO_TLSv1_2,
                                  SSL_OP_NO_TLSv1_3 };
    int low = -1, high = -1;

    for (int i = 0; i < 4; i++)
        if (mask & (1u << i)) {
            if (low < 0)
                low = i;
            high = i;
        }
    SSL_CTX_set_min_proto_version(c, TLS1_VERSION + low);
    SSL_CTX_set_max_proto_version(c, TLS1_VERSION + high);
    for (int i = low; i <= high; i++)
        if (!(mask & (1u << i)))
            SSL_CTX_set_options(c, (uint64_t) holes[i]);
}

/* ---------------------------------------------------------------- */
/* Contexts                                                         */
/* ---------------------------------------------------------------- */

/* Every queued OpenSSL error, as Postfix logs them. */
static void log_library_errors(void)
{
    unsigned long e;
    const char *file, *data;
    int line, flags;
    char text[256];

    while ((e = ERR_get_error_all(&file, &line, NULL, &data, &flags)) != 0) {
        ERR_error_string_n(e, text, sizeof(text));
        msg_warn("TLS library problem: %s:%s:%d:%s", text, file ? file : "", line,
                 (flags & ERR_TXT_STRING) && data ? data : "");
    }
}

static SSL_CTX *new_ssl_ctx(int server, const char *protocols, buf_t *why)
{
    unsigned mask;
    SSL_CTX *c;

    if (tls_protocols_parse(protocols, &mask, why) < 0)
        return NULL;
    if ((c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())) == NULL) {
        log_library_errors();
        buf_puts(why, "cannot create a TLS context");
        return NULL;
    }
    apply_protocols(c, mask);
    /* No compression (CRIME), no renegotiation; a peer that closes without
     * close_notify (most SMTP clients) is an ordinary end of input. */
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                        | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (server) {
        /* One connection per process: a session cache would never be hit. */
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(c, 0);
        SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
    }
    return c;
}

static tls_ctx_t *wrap_ctx(SSL_CTX *c)
{
    tls_ctx_t *ctx = xcalloc(1, sizeof(*ctx));

    ctx->ssl_ctx = c;
    return ctx;
}

/* smtpd_tls_chain_files: each file may hold a key, certificates, or both. */
static int load_chain_files(SSL_CTX *c, const char *chain_files, buf_t *why)
{
    argv_t *files = argv_split(chain_files, ", \t");
    int rc = 0;

    for (size_t i = 0; i < files->argc && rc == 0; i++) {
        const char *f = files->argv[i];
        int got_key = SSL_CTX_use_PrivateKey_file(c, f, SSL_FILETYPE_PEM) == 1;
        int got_chain;

        ERR_clear_error();              /* a file without a key is fine */
        got_chain = SSL_CTX_use_certificate_chain_file(c, f) == 1;
        if (!got_chain)
            ERR_clear_error();
        if (!got_key && !got_chain) {
            buf_printf(why, "cannot load a key or certificate from file \"%s\"", f);
            rc = -1;
        }
    }
    argv_free(files);
    return rc;
}

static int load_cert_and_key(SSL_CTX *c, const char *cert_file, const char *key_file,
                             buf_t *why)
{
    if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
        log_library_errors();
        buf_printf(why, "cannot get certificate from file \"%s\"", cert_file);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(c, *key_file ? key_file : cert_file,
                                    SSL_FILETYPE_PEM) != 1) {
        log_library_errors();
        buf_printf(why, "cannot get private key from file \"%s\"",
                   *key_file ? key_file : cert_file);
        return -1;
    }
    return 0;
}

tls_ctx_t *tls_server_ctx(const char *cert_file, const char *key_file,
                          const char *chain_files, const char *protocols, buf_t *why)
{
    SSL_CTX *c;
    int rc;

    if ((chain_files == NULL || *chain_files == 0) && (cert_file == NULL || *cert_file == 0)) {
        buf_puts(why, "no server certificate configured");
        return NULL;
    }
    if ((c = new_ssl_ctx(1, protocols, why)) == NULL)
        return NULL;
    if (chain_files != NULL && *chain_files)
        rc = load_chain_files(c, chain_files, why);
    else
        rc = load_cert_and_key(c, cert_file, key_file ? key_file : "", why);
    if (rc == 0 && SSL_CTX_check_private_key(c) != 1) {
        log_library_errors();
        buf_puts(why, "the private key does not match the certificate");
        rc = -1;
    }
    if (rc < 0) {
        SSL_CTX_free(c);
        return NULL;
    }
    return wrap_ctx(c);
}

/* Every error in the chain is noted and the handshake goes on: the level
 * decides afterwards what an untrusted peer means. */
static int note_verify_error(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_sess_t *t = ssl ? SSL_get_app_data(ssl) : NULL;

    if (!ok && t != NULL && t->info.verify_error[0] == 0) {
        int err = X509_STORE_CTX_get_error(store);

        snprintf(t->info.verify_error, sizeof(t->info.verify_error), "num=%d:%s", err,
                 X509_verify_cert_error_string(err));
    }
    return 1;
}

tls_ctx_t *tls_client_ctx(const char *ca_file, const char *ca_path, const char *protocols,
                          buf_t *why)
{
    SSL_CTX *c = new_ssl_ctx(0, protocols, why);
    const char *file = ca_file && *ca_file ? ca_file : NULL;
    const char *path = ca_path && *ca_path ? ca_path : NULL;

    if (c == NULL)
        return NULL;
    if ((file || path) && SSL_CTX_load_verify_locations(c, file, path) != 1) {
        log_library_errors();
        buf_printf(why, "cannot load Certification Authority data, CAfile=\"%s\" "
                   "CApath=\"%s\"", file ? file : "", path ? path : "");
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, note_verify_error);
    return wrap_ctx(c);
}

void tls_ctx_free(tls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---------------------------------------------------------------- */
/* Waiting                                                          */
/* ---------------------------------------------------------------- */

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for what OpenSSL wants: 1 ready, 0 timeout, -1 error (errno). */
static int wait_for(int fd, int ssl_error, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };

    for (;;) {
        int n = poll(&pfd, 1, timeout_ms);

        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -1 : n > 0;
    }
}

/* The stream's timeout for one step of a read or write. */
static int step_timeout_ms(const tls_sess_t *t)
{
    int seconds = stream_get_timeout(t->stream);

    return seconds > 0 ? seconds * 1000 : -1;
}

/* ---------------------------------------------------------------- */
/* The stream primitives                                            */
/* ---------------------------------------------------------------- */

/* After an SSL_read/SSL_write failure: -2 = wait and retry, else -1 with
 * errno, or 0 at a clean end of input. */
static int io_failure(tls_sess_t *t, int rc)
{
    int e = SSL_get_error(t->ssl, rc);

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        int w = wait_for(t->fd, e, step_timeout_ms(t));

        if (w > 0)
            return -2;
        if (w == 0)
            errno = ETIMEDOUT;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        if (errno == 0)
            errno = ECONNRESET;
        return -1;
    }
    log_library_errors();
    errno = EPROTO;
    return -1;
}

static ssize_t tls_read(void *ctx, int fd, void *buf, size_t len)
{
    tls_sess_t *t = ctx;

    (void) fd;
    for (;;) {
        size_t n = 0;
        int rc, f;

        ERR_clear_error();
        errno = 0;
        if ((rc = SSL_read_ex(t->ssl, buf, len, &n)) == 1)
            return (ssize_t) n;
        if ((f = io_failure(t, rc)) != -2)
            return f;
    }
}

static ssize_t tls_write(void *ctx, int fd, const void *buf, size_t len)
{
    tls_sess_t *t = ctx;

    (void) fd;
    for (;;) {
        size_t n = 0;
        int rc, f;

        ERR_clear_error();
        errno = 0;
        if ((rc = SSL_write_ex(t->ssl, buf, len, &n)) == 1)
            return (ssize_t) n;
        /* The same buffer is offered again after the wait, as OpenSSL needs. */
        if ((f = io_failure(t, rc)) == -2)
            continue;
        if (f == 0)
            errno = EPIPE;              /* the peer closed: nothing more goes out */
        return -1;
    }
}

/* Plaintext OpenSSL already holds: the fd may be quiet while it waits. */
static size_t tls_pending(void *ctx)
{
    tls_sess_t *t = ctx;
    int n = SSL_pending(t->ssl);

    return n > 0 ? (size_t) n : (size_t) SSL_has_pending(t->ssl);
}

static const stream_ops_t tls_ops = { tls_read, tls_write };

/* ---------------------------------------------------------------- */
/* Sessions                                                         */
/* ---------------------------------------------------------------- */

static void free_session(tls_sess_t *t)
{
    if (t->installed)
        stream_set_ops(t->stream, NULL, NULL);
    if (t->fd_flags >= 0)
        (void) fcntl(t->fd, F_SETFL, t->fd_flags);
    SSL_free(t->ssl);
    free(t);
}

static tls_sess_t *new_session(tls_ctx_t *ctx, stream_t *s, buf_t *why)
{
    tls_sess_t *t = xcalloc(1, sizeof(*t));

    t->stream = s;
    t->fd = stream_fd(s);
    t->fd_flags = fcntl(t->fd, F_GETFL);
    if (t->fd_flags < 0 || fcntl(t->fd, F_SETFL, t->fd_flags | O_NONBLOCK) < 0) {
        buf_printf(why, "fcntl: %s", strerror(errno));
        t->fd_flags = -1;
        free(t);
        return NULL;
    }
    if ((t->ssl = SSL_new(ctx->ssl_ctx)) == NULL || SSL_set_fd(t->ssl, t->fd) != 1) {
        log_library_errors();
        buf_puts(why, "-1");
        free_session(t);
        return NULL;
    }
    SSL_set_app_data(t->ssl, t);
    return t;
}

/* Runs SSL_accept/SSL_connect to the end within timeout seconds. */
static int run_handshake(tls_sess_t *t, int (*step)(SSL *), int timeout, buf_t *why)
{
    long deadline = now_ms() + (long) timeout * 1000;

    for (;;) {
        int rc, e, w;

        ERR_clear_error();
        errno = 0;
        if ((rc = step(t->ssl)) == 1)
            return 0;
        e = SSL_get_error(t->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            long left = timeout > 0 ? deadline - now_ms() : -1;

            if (timeout > 0 && left <= 0) {
                buf_puts(why, "timed out");
                return -1;
            }
            w = wait_for(t->fd, e, timeout > 0 ? (int) left : -1);
            if (w > 0)
                continue;
            buf_puts(why, w == 0 ? "timed out" : strerror(errno));
            return -1;
        }
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
            buf_puts(why, errno != 0 ? strerror(errno) : "lost connection");
            return -1;
        }
        log_library_errors();
        buf_printf(why, "%d", rc);
        return -1;
    }
}

static void fill_info(tls_sess_t *t)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(t->ssl);
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    tls_info_t *info = &t->info;

    snprintf(info->protocol, sizeof(info->protocol), "%s", SSL_get_version(t->ssl));
    snprintf(info->cipher, sizeof(info->cipher), "%s",
             cipher ? SSL_CIPHER_get_name(cipher) : "unknown");
    info->bits = cipher ? SSL_CIPHER_get_bits(cipher, &info->alg_bits) : 0;
    info->peer_cert = peer != NULL;
    info->peer_trusted = peer != NULL && info->verify_error[0] == 0
        && SSL_get_verify_result(t->ssl) == X509_V_OK;
    X509_free(peer);
}

/* Whether the peer's certificate names one of names. */
static int peer_names_match(tls_sess_t *t, const char *const *names)
{
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    int ok = 0;

    for (size_t i = 0; peer != NULL && names != NULL && names[i] != NULL && !ok; i++)
        ok = *names[i] && X509_check_host(peer, names[i], 0, 0, NULL) == 1;
    X509_free(peer);
    return ok;
}

static void install(tls_sess_t *t)
{
    stream_set_ops(t->stream, &tls_ops, t);
    stream_set_pending(t->stream, tls_pending);
    t->installed = 1;
}

tls_sess_t *tls_server_start(tls_ctx_t *ctx, stream_t *s, int timeout, buf_t *why)
{
    tls_sess_t *t = new_session(ctx, s, why);

    if (t == NULL)
        return NULL;
    if (run_handshake(t, SSL_accept, timeout, why) < 0) {
        free_session(t);
        return NULL;
    }
    fill_info(t);
    install(t);
    return t;
}

/* SNI carries host names only, never an address (RFC 6066). */
static int sni_usable(const char *name)
{
    unsigned char addr[16];

    return name != NULL && *name && strchr(name, ':') == NULL
        && inet_pton(AF_INET, name, addr) != 1 && strlen(name) < 256;
}

tls_sess_t *tls_client_start(tls_ctx_t *ctx, stream_t *s, int timeout, const char *sni,
                             const char *const *names, buf_t *why)
{
    tls_sess_t *t = new_session(ctx, s, why);

    if (t == NULL)
        return NULL;
    if (sni_usable(sni) && SSL_set_tlsext_host_name(t->ssl, sni) != 1) {
        log_library_errors();
        buf_puts(why, "-1");
        free_session(t);
        return NULL;
    }
    if (run_handshake(t, SSL_connect, timeout, why) < 0) {
        free_session(t);
        return NULL;
    }
    fill_info(t);
    t->info.peer_name_ok = t->info.peer_trusted && peer_names_match(t, names);
    install(t);
    return t;
}

const tls_info_t *tls_session_info(const tls_sess_t *t)
{
    return &t->info;
}

void tls_info_summary(const tls_info_t *info, buf_t *out)
{
    buf_printf(out, "%s with cipher %s (%d/%d bits)", info->protocol, info->cipher,
               info->bits, info->alg_bits);
}

void tls_end(tls_sess_t *t)
{
    long deadline;

    if (t == NULL)
        return;
    deadline = now_ms() + TLS_END_WAIT_MS;
    /* close_notify only on a healthy stream: after an error the peer is gone
     * or out of step, and waiting for it would only delay the exit. */
    while (stream_status(t->stream) == STREAM_OK) {
        int rc, e;
        long left;

        ERR_clear_error();
        if ((rc = SSL_shutdown(t->ssl)) >= 0)
            break;                      /* sent; the peer's reply is not awaited */
        e = SSL_get_error(t->ssl, rc);
        left = deadline - now_ms();
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || left <= 0
            || wait_for(t->fd, e, (int) left) <= 0)
            break;
    }
    ERR_clear_error();
    free_session(t);
}
