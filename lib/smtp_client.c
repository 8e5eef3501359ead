/* smtp_client: the SMTP/LMTP client engine of the smtp, relay and lmtp
 * agents: nexthop parsing, connecting with a deadline, the handshake and
 * one (pipelined) mail transaction with per-recipient replies. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "address.h"
#include "alloc.h"
#include "argv.h"
#include "delivery.h"
#include "ipc.h"
#include "log.h"
#include "smtp_client.h"

#define REPLY_LINE_MAX    2048      /* longer reply lines are cut */
#define REPLY_LINES_MAX   1000      /* a reply longer than this is an attack */
#define REPLY_TEXT_MAX    8192      /* text kept from one reply */
#define MIN_LINE_LIMIT    16        /* smallest smtp_line_length_limit honoured */
#define LMTP_DEFAULT_PORT 24
#define SMTP_DEFAULT_PORT 25

/* ---------------------------------------------------------------- */
/* Nexthop                                                          */
/* ---------------------------------------------------------------- */

int smtp_port_parse(const char *text, unsigned *port)
{
    struct servent *se;

    if (*text == 0)
        return -1;
    if (strspn(text, "0123456789") == strlen(text)) {
        unsigned long v = strlen(text) <= 5 ? strtoul(text, NULL, 10) : 0;

        if (v == 0 || v > 65535)
            return -1;
        *port = (unsigned) v;
        return 0;
    }
    if ((se = getservbyname(text, "tcp")) != NULL) {
        *port = ntohs((unsigned short) se->s_port);
        return 0;
    }
    /* Not every /etc/services lists these two. */
    if (strcasecmp(text, "smtp") == 0) {
        *port = SMTP_DEFAULT_PORT;
        return 0;
    }
    if (strcasecmp(text, "lmtp") == 0) {
        *port = LMTP_DEFAULT_PORT;
        return 0;
    }
    return -1;
}

/* A host name: letters, digits, '-', '_' and dots, not empty. */
static int host_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* "[...]" and what follows: an address literal or a host name. */
static int parse_bracketed(const char *text, smtp_dest_t *dest, const char **rest,
                           buf_t *why)
{
    const char *close = strchr(text, ']');
    const char *inner = text + 1;
    size_t len;

    if (close == NULL) {
        buf_printf(why, "missing \"]\" in nexthop \"%s\"", text);
        return -1;
    }
    len = (size_t) (close - inner);
    *rest = close + 1;
    dest->host = xstrndup(inner, len);
    if (strncasecmp(dest->host, "ipv6:", 5) == 0) {
        if (dns_addr_parse(dest->host + 5, &dest->addr) < 0 || dest->addr.family != AF_INET6) {
            buf_printf(why, "bad IPv6 address in nexthop \"%s\"", text);
            return -1;
        }
        dest->kind = SMTP_DEST_ADDR;
        return 0;
    }
    if (dns_addr_parse(dest->host, &dest->addr) == 0) {
        dest->kind = SMTP_DEST_ADDR;
        return 0;
    }
    if (!host_name_ok(dest->host, len)) {
        buf_printf(why, "bad host name in nexthop \"%s\"", text);
        return -1;
    }
    dest->kind = SMTP_DEST_HOST;
    return 0;
}

static int parse_port_suffix(const char *rest, const char *text, smtp_dest_t *dest,
                             buf_t *why)
{
    if (*rest == 0)
        return 0;
    if (*rest != ':' || smtp_port_parse(rest + 1, &dest->port) < 0) {
        buf_printf(why, "bad port in nexthop \"%s\"", text);
        return -1;
    }
    return 0;
}

/* "host" or "host:port" without brackets; kind for a name. */
static int parse_plain(const char *text, int name_kind, smtp_dest_t *dest, buf_t *why)
{
    const char *colon = strchr(text, ':');
    size_t len = colon ? (size_t) (colon - text) : strlen(text);

    dest->host = xstrndup(text, len);
    if (dns_addr_parse(dest->host, &dest->addr) == 0 && dest->addr.family == AF_INET) {
        dest->kind = SMTP_DEST_ADDR;
    } else if (host_name_ok(dest->host, len)) {
        dest->kind = name_kind;
    } else {
        buf_printf(why, "bad host name in nexthop \"%s\"", text);
        return -1;
    }
    return parse_port_suffix(colon ? colon : "", text, dest, why);
}

int smtp_dest_parse(const char *text, int lmtp, smtp_dest_t *dest, buf_t *why)
{
    const char *rest;
    int rc;

    memset(dest, 0, sizeof(dest[0]));
    buf_reset(why);
    if (lmtp && strncasecmp(text, "unix:", 5) == 0) {
        if (text[5] == 0) {
            buf_printf(why, "empty socket path in nexthop \"%s\"", text);
            return -1;
        }
        dest->kind = SMTP_DEST_UNIX;
        dest->host = xstrdup(text + 5);
        return 0;
    }
    if (lmtp && strncasecmp(text, "inet:", 5) == 0)
        text += 5;
    if (*text == 0) {
        buf_puts(why, "empty nexthop");
        return -1;
    }
    if (*text == '[') {
        rc = parse_bracketed(text, dest, &rest, why);
        if (rc == 0)
            rc = parse_port_suffix(rest, text, dest, why);
    } else {
        /* LMTP never looks up MX records. */
        rc = parse_plain(text, lmtp ? SMTP_DEST_HOST : SMTP_DEST_MX, dest, why);
    }
    if (rc < 0)
        smtp_dest_free(dest);
    return rc;
}

void smtp_dest_free(smtp_dest_t *dest)
{
    free(dest->host);
    memset(dest, 0, sizeof(dest[0]));
}

/* ---------------------------------------------------------------- */
/* Replies                                                          */
/* ---------------------------------------------------------------- */

void smtp_reply_init(smtp_reply_t *r)
{
    r->code = 0;
    memcpy(r->dsn, "4.0.0", 6);
    buf_init(&r->text);
}

void smtp_reply_release(smtp_reply_t *r)
{
    buf_release(&r->text);
}

static void set_dsn(smtp_reply_t *r, const char *dsn)
{
    size_t len = strlen(dsn);

    if (len >= sizeof(r->dsn))
        msg_panic("smtp_reply: bad dsn %s", dsn);
    memcpy(r->dsn, dsn, len + 1);
}

void smtp_reply_set(smtp_reply_t *r, const char *dsn, const char *fmt, ...)
{
    va_list ap;

    r->code = 0;
    set_dsn(r, dsn);
    buf_reset(&r->text);
    va_start(ap, fmt);
    buf_vprintf(&r->text, fmt, ap);
    va_end(ap);
}

void smtp_reply_copy(smtp_reply_t *to, const smtp_reply_t *from)
{
    to->code = from->code;
    memcpy(to->dsn, from->dsn, sizeof(to->dsn));
    buf_set(&to->text, buf_str(&from->text));
}

/* An enhanced status code "c.s.d" at p whose class matches the reply
 * code; its length, or 0. */
static size_t enhanced_code_len(const char *p, int code)
{
    const char *q = p;

    if (*q != '0' + code / 100 || q[1] != '.')
        return 0;
    q += 2;
    for (int part = 0; part < 2; part++) {
        size_t n = strspn(q, "0123456789");

        if (n < 1 || n > 3)
            return 0;
        q += n;
        if (part == 0 && *q++ != '.')
            return 0;
    }
    if (*q != 0 && *q != ' ')
        return 0;
    return (size_t) (q - p);
}

/* The DSN of a reply: its enhanced code, else the class with .0.0. */
static void reply_take_dsn(smtp_reply_t *r, const char *first_line_text)
{
    size_t n = enhanced_code_len(first_line_text, r->code);
    char dsn[16];

    if (n > 0 && n < sizeof(dsn)) {
        memcpy(dsn, first_line_text, n);
        dsn[n] = 0;
    } else {
        dsn[0] = (char) ('0' + r->code / 100);
        memcpy(dsn + 1, ".0.0", 5);
    }
    set_dsn(r, dsn);
}

static void conn_hostaddr(const smtp_conn_t *c, buf_t *out)
{
    buf_printf(out, "%s[%s]", c->host, c->addr);
}

void smtp_conn_name(const smtp_conn_t *c, buf_t *out)
{
    conn_hostaddr(c, out);
    if (c->port != 0)
        buf_printf(out, ":%u", c->port);
}

/* The connection failed while doing stage: 4.4.2, and never again. */
static void reply_lost(smtp_conn_t *c, const char *stage, smtp_reply_t *r)
{
    buf_t name = BUF_INIT;

    conn_hostaddr(c, &name);
    if (stream_status(c->stream) == STREAM_TIMEOUT)
        smtp_reply_set(r, "4.4.2", "conversation with %s timed out while %s",
                       buf_str(&name), stage);
    else
        smtp_reply_set(r, "4.4.2", "lost connection with %s while %s", buf_str(&name), stage);
    buf_release(&name);
    c->broken = 1;
}

/* One reply line without its line end, cut at REPLY_LINE_MAX (the rest of
 * an over-long line is read and dropped). 0, or -1 at EOF/error. */
static int read_reply_line(smtp_conn_t *c, buf_t *line)
{
    int rc;

    buf_reset(line);
    rc = stream_get_line(c->stream, line, REPLY_LINE_MAX);
    if (rc == STREAM_LINE_PART) {
        buf_t skip = BUF_INIT;
        int more;

        do {
            buf_reset(&skip);
            more = stream_get_line(c->stream, &skip, REPLY_LINE_MAX);
        } while (more == STREAM_LINE_PART);
        buf_release(&skip);
        if (more != STREAM_LINE)
            return -1;
        rc = STREAM_LINE;
    }
    if (rc != STREAM_LINE)
        return -1;
    while (line->len > 0 && (line->data[line->len - 1] == '\n' || line->data[line->len - 1] == '\r'))
        buf_truncate(line, line->len - 1);
    return 0;
}

/* "250-" / "250 " / "250": the code and whether more lines follow. */
static int reply_line_code(const char *line, size_t len, int *more)
{
    if (len < 3 || strspn(line, "0123456789") < 3 || line[0] < '2' || line[0] > '5')
        return -1;
    if (len > 3 && line[3] != ' ' && line[3] != '-')
        return -1;
    *more = len > 3 && line[3] == '-';
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* Reads a reply; every line (without code) goes to lines when not NULL. */
static int read_reply(smtp_conn_t *c, int timeout, const char *stage, smtp_reply_t *r,
                      argv_t *lines)
{
    buf_t line = BUF_INIT;
    int more = 1, count = 0, code = 0;

    stream_set_timeout(c->stream, timeout);
    buf_reset(&r->text);
    while (more) {
        int this_code;

        if (c->broken || read_reply_line(c, &line) < 0 || ++count > REPLY_LINES_MAX) {
            buf_release(&line);
            reply_lost(c, stage, r);
            return -1;
        }
        this_code = reply_line_code(line.data, line.len, &more);
        if (this_code < 0 || (code != 0 && this_code != code)) {
            buf_t name = BUF_INIT;

            conn_hostaddr(c, &name);
            smtp_reply_set(r, "4.5.0", "host %s said: %s (malformed reply while %s)",
                           buf_str(&name), buf_str(&line), stage);
            buf_release(&name);
            buf_release(&line);
            c->broken = 1;           /* out of step with the server */
            return -1;
        }
        if (code == 0) {
            r->code = code = this_code;
            reply_take_dsn(r, line.len > 4 ? line.data + 4 : "");
        }
        if (r->text.len + line.len < REPLY_TEXT_MAX) {
            if (r->text.len > 0)
                buf_putc(&r->text, ' ');
            buf_append(&r->text, line.data, line.len);
        }
        if (lines != NULL)
            argv_add(lines, line.len > 4 ? line.data + 4 : "");
    }
    buf_release(&line);
    return 0;
}

int smtp_read_reply(smtp_conn_t *c, int timeout, const char *stage, smtp_reply_t *r)
{
    return read_reply(c, timeout, stage, r, NULL);
}

void smtp_reply_reason(const smtp_conn_t *c, const smtp_reply_t *r, const char *command,
                       buf_t *out)
{
    buf_reset(out);
    if (r->code == 0) {
        buf_puts(out, buf_str(&r->text));
        return;
    }
    buf_puts(out, "host ");
    conn_hostaddr(c, out);
    buf_printf(out, " said: %s", buf_str(&r->text));
    if (command != NULL)
        buf_printf(out, " (in reply to %s command)", command);
}

/* ---------------------------------------------------------------- */
/* Connecting                                                       */
/* ---------------------------------------------------------------- */

smtp_conn_t *smtp_conn_from_fd(int fd, const char *host, const char *addr, unsigned port,
                               int lmtp, const smtp_settings_t *set)
{
    smtp_conn_t *c = xcalloc(1, sizeof(*c));

    c->stream = stream_fdopen(fd);
    c->host = xstrdup(host);
    c->addr = xstrdup(addr);
    c->port = port;
    c->lmtp = lmtp;
    c->set = set;
    return c;
}

void smtp_conn_close(smtp_conn_t *c)
{
    if (c == NULL)
        return;
    tls_end(c->tls);
    stream_close(c->stream);
    free(c->host);
    free(c->addr);
    free(c->nexthop);
    free(c);
}

void smtp_conn_set_nexthop(smtp_conn_t *c, const char *domain)
{
    free(c->nexthop);
    c->nexthop = domain != NULL && *domain ? xstrdup(domain) : NULL;
}

/* connect() on a non-blocking socket, waiting at most timeout seconds
 * (0 = the kernel's own limit). 0, or -1 with errno. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len, int timeout)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int err = 0, n;
    socklen_t errlen = sizeof(err);

    if (fd_set_nonblock(fd, 1) < 0)
        return -1;
    if (connect(fd, sa, len) == 0)
        return fd_set_nonblock(fd, 0);
    if (errno != EINPROGRESS)
        return -1;
    do {
        n = poll(&pfd, 1, timeout > 0 ? timeout * 1000 : -1);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if (n == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
        return -1;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return fd_set_nonblock(fd, 0);
}

/* A blocking socket whose writes give up after the transfer timeout: the
 * stream polls before writing, and this bounds a write that then blocks. */
static void set_send_timeout(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

    if (seconds > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        msg_warn("setsockopt SO_SNDTIMEO: %s", strerror(errno));
}

smtp_conn_t *smtp_connect_inet(const char *host, const dns_addr_t *addr, unsigned port,
                               int lmtp, const smtp_settings_t *set, buf_t *why)
{
    struct sockaddr_storage ss;
    socklen_t len;
    buf_t text = BUF_INIT;
    smtp_conn_t *c = NULL;
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (addr->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((unsigned short) port);
        memcpy(&sin->sin_addr, addr->bytes, 4);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((unsigned short) port);
        memcpy(&sin6->sin6_addr, addr->bytes, 16);
        len = sizeof(*sin6);
    }
    dns_addr_format(addr, &text);
    buf_reset(why);
    fd = socket(addr->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect_within(fd, (struct sockaddr *) &ss, len, set->timeouts.connect) < 0) {
        buf_printf(why, "connect to %s[%s]:%u: %s", host, buf_str(&text), port,
                   strerror(errno));
        if (fd >= 0)
            close(fd);
    } else {
        set_send_timeout(fd, set->timeouts.data_xfer);
        c = smtp_conn_from_fd(fd, host, buf_str(&text), port, lmtp, set);
    }
    buf_release(&text);
    return c;
}

smtp_conn_t *smtp_connect_unix(const char *host, const char *path,
                               const smtp_settings_t *set, buf_t *why)
{
    struct sockaddr_un sun;
    int fd;

    buf_reset(why);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        buf_printf(why, "connect to %s[%s]: %s", host, path, strerror(ENAMETOOLONG));
        return NULL;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect_within(fd, (struct sockaddr *) &sun, sizeof(sun),
                                 set->timeouts.connect) < 0) {
        buf_printf(why, "connect to %s[%s]: %s", host, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    set_send_timeout(fd, set->timeouts.data_xfer);
    return smtp_conn_from_fd(fd, host, path, 0, 1, set);
}

/* ---------------------------------------------------------------- */
/* Handshake                                                        */
/* ---------------------------------------------------------------- */

/* Sends one command line; 0, or -1 (r set, connection broken). */
static int send_command(smtp_conn_t *c, int timeout, const char *stage, smtp_reply_t *r,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int send_command(smtp_conn_t *c, int timeout, const char *stage, smtp_reply_t *r,
                        const char *fmt, ...)
{
    va_list ap;
    buf_t line = BUF_INIT;

    va_start(ap, fmt);
    buf_vprintf(&line, fmt, ap);
    va_end(ap);
    buf_puts(&line, "\r\n");
    stream_set_timeout(c->stream, timeout);
    stream_write(c->stream, line.data, line.len);
    buf_release(&line);
    if (stream_flush(c->stream) < 0) {
        reply_lost(c, stage, r);
        return -1;
    }
    return 0;
}

static void parse_features(smtp_conn_t *c, const argv_t *lines)
{
    static const struct { const char *name; int bit; } known[] = {
        { "PIPELINING", SMTP_FEATURE_PIPELINING },
        { "8BITMIME", SMTP_FEATURE_8BITMIME },
        { "DSN", SMTP_FEATURE_DSN },
        { "ENHANCEDSTATUSCODES", SMTP_FEATURE_ENHANCED },
        { "STARTTLS", SMTP_FEATURE_STARTTLS },
        { "SMTPUTF8", SMTP_FEATURE_SMTPUTF8 },
    };

    c->features = SMTP_FEATURE_ESMTP;
    c->size_limit = 0;
    /* The first line is the server's name, the others its extensions. */
    for (size_t i = 1; i < lines->argc; i++) {
        const char *kw = lines->argv[i];
        size_t len = strcspn(kw, " ");

        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (len == strlen(known[k].name) && strncasecmp(kw, known[k].name, len) == 0)
                c->features |= known[k].bit;
        if (len == 4 && strncasecmp(kw, "SIZE", 4) == 0) {
            c->features |= SMTP_FEATURE_SIZE;
            if (kw[4] == ' ' && strspn(kw + 5, "0123456789") == strlen(kw + 5)
                && strlen(kw + 5) < 19)
                c->size_limit = strtol(kw + 5, NULL, 10);
        }
    }
}

/* The greeting: 2xx, or the outcome for everyone. */
static int read_greeting(smtp_conn_t *c, smtp_reply_t *r)
{
    buf_t name = BUF_INIT, text = BUF_INIT;

    if (read_reply(c, c->set->timeouts.helo, "receiving the initial server greeting", r,
                   NULL) < 0)
        return -1;
    if (r->code / 100 == 2)
        return 0;
    conn_hostaddr(c, &name);
    buf_set(&text, buf_str(&r->text));
    smtp_reply_set(r, r->dsn, "host %s refused to talk to me: %s", buf_str(&name),
                   buf_str(&text));
    /* smtp_skip_5xx_greeting: a server that will not talk is a reason to
     * try the next one, not to return the mail. */
    if (r->dsn[0] == '5' && c->set->skip_5xx_greeting)
        r->dsn[0] = '4';
    buf_release(&name);
    buf_release(&text);
    return -1;
}

/* EHLO/LHLO/HELO and its reply; 0 on 2xx. */
static int hello(smtp_conn_t *c, const char *verb, smtp_reply_t *r, argv_t *lines)
{
    buf_t stage = BUF_INIT;
    int rc;

    buf_printf(&stage, "performing the %s handshake", verb);
    rc = send_command(c, c->set->timeouts.helo, buf_str(&stage), r, "%s %s", verb,
                      c->set->helo_name);
    if (rc == 0)
        rc = read_reply(c, c->set->timeouts.helo, buf_str(&stage), r, lines);
    buf_release(&stage);
    if (rc < 0)
        return -1;
    return r->code / 100 == 2 ? 0 : 1;
}

/* Turns a refused hello into the outcome for everyone. */
static void hello_refused(smtp_conn_t *c, const char *verb, smtp_reply_t *r)
{
    buf_t reason = BUF_INIT;

    smtp_reply_reason(c, r, verb, &reason);
    smtp_reply_set(r, r->dsn, "%s", buf_str(&reason));
    buf_release(&reason);
}

/* ---- STARTTLS ---- */

/* A TLS outcome for everyone: dsn and our own reason. */
static int tls_fail(smtp_conn_t *c, smtp_reply_t *r, const char *dsn, const char *reason)
{
    smtp_reply_set(r, dsn, "%s", reason);
    c->broken = 1;
    return -1;
}

/* "Verified", "Trusted", "Untrusted" or "Anonymous", as Postfix logs. */
static const char *tls_trust_word(const smtp_conn_t *c, const tls_info_t *info)
{
    if (!info->peer_cert)
        return "Anonymous";
    if (!info->peer_trusted)
        return "Untrusted";
    if (c->set->tls_level >= TLS_LEVEL_VERIFY && info->peer_name_ok)
        return "Verified";
    return "Trusted";
}

/* verify/secure: the certificate must be trusted and name the server. */
static int tls_check_peer(smtp_conn_t *c, smtp_reply_t *r, const buf_t *name)
{
    const tls_info_t *info = tls_session_info(c->tls);

    if (c->set->tls_level < TLS_LEVEL_VERIFY)
        return 0;
    if (!info->peer_trusted) {
        msg_info("server certificate verification failed for %s: %s", buf_str(name),
                 info->verify_error[0] ? info->verify_error : "no certificate");
        return tls_fail(c, r, "4.7.5", "Server certificate not trusted");
    }
    if (!info->peer_name_ok) {
        msg_info("server certificate verification failed for %s: certificate does not "
                 "name %s", buf_str(name), c->set->tls_level == TLS_LEVEL_SECURE && c->nexthop
                 ? c->nexthop : c->host);
        return tls_fail(c, r, "4.7.5", "Server certificate not verified");
    }
    return 0;
}

/* The handshake after "220 Ready to start TLS". */
static int tls_handshake(smtp_conn_t *c, smtp_reply_t *r)
{
    buf_t why = BUF_INIT, name = BUF_INIT, summary = BUF_INIT, dot = BUF_INIT;
    const char *secure = c->nexthop != NULL ? c->nexthop : c->host;
    const char *names[3] = { NULL, NULL, NULL };
    int rc = 0;

    if (c->set->tls_level == TLS_LEVEL_SECURE) {
        buf_printf(&dot, ".%s", secure);
        names[0] = secure;
        names[1] = buf_str(&dot);
    } else {
        names[0] = c->host;
    }
    smtp_conn_name(c, &name);
    /* Why: a reply line the server sent after its 220 came in plaintext
     * and must never be read as if it had come over TLS. */
    (void) stream_purge_input(c->stream);
    c->tls = tls_client_start(c->set->tls_ctx, c->stream, c->set->tls_timeout, c->host, names,
                              &why);
    if (c->tls == NULL) {
        msg_info("SSL_connect error to %s: %s", buf_str(&name), buf_str(&why));
        rc = tls_fail(c, r, "4.7.5", "Cannot start TLS: handshake failure");
    } else if ((rc = tls_check_peer(c, r, &name)) == 0 && c->set->tls_loglevel >= 1) {
        tls_info_summary(tls_session_info(c->tls), &summary);
        msg_info("%s TLS connection established to %s: %s",
                 tls_trust_word(c, tls_session_info(c->tls)), buf_str(&name), buf_str(&summary));
    }
    buf_release(&why);
    buf_release(&name);
    buf_release(&summary);
    buf_release(&dot);
    return rc;
}

/* STARTTLS after a successful EHLO, as the level asks. 0: go on (over TLS
 * or, at "may", in plaintext); 1: TLS is up, EHLO must be sent again;
 * -1: r holds the outcome. */
static int start_tls(smtp_conn_t *c, smtp_reply_t *r)
{
    int required = c->set->tls_level >= TLS_LEVEL_ENCRYPT;
    buf_t host = BUF_INIT, reason = BUF_INIT;
    int rc;

    if (c->set->tls_level == TLS_LEVEL_NONE || c->lmtp || c->tls != NULL)
        return 0;
    conn_hostaddr(c, &host);
    if (!(c->features & SMTP_FEATURE_STARTTLS) || c->set->tls_ctx == NULL) {
        if (required)
            buf_printf(&reason, c->set->tls_ctx == NULL
                       ? "TLS is required, but our TLS engine is unavailable"
                       : "TLS is required, but was not offered by host %s", buf_str(&host));
        rc = required ? tls_fail(c, r, "4.7.4", buf_str(&reason)) : 0;
    } else if (send_command(c, c->set->timeouts.helo, "sending STARTTLS", r, "STARTTLS") < 0
               || read_reply(c, c->set->timeouts.helo, "sending STARTTLS", r, NULL) < 0) {
        rc = -1;
    } else if (r->code / 100 != 2) {
        /* At "may" the server keeps us in plaintext, as Postfix allows. */
        buf_printf(&reason, "TLS is required, but host %s refused to start TLS: %s",
                   buf_str(&host), buf_str(&r->text));
        rc = required ? tls_fail(c, r, r->dsn[0] == '5' ? "5.7.4" : "4.7.4", buf_str(&reason))
            : 0;
    } else {
        rc = tls_handshake(c, r) < 0 ? -1 : 1;
    }
    buf_release(&host);
    buf_release(&reason);
    return rc;
}

int smtp_handshake(smtp_conn_t *c, smtp_reply_t *r)
{
    argv_t *lines = argv_new();
    const char *verb = c->lmtp ? "LHLO" : c->set->never_send_ehlo ? "HELO" : "EHLO";
    int rc = read_greeting(c, r);

    c->features = 0;
    c->size_limit = 0;
    if (rc == 0)
        rc = hello(c, verb, r, lines);
    /* Only an SMTP server that rejects EHLO gets HELO. */
    if (rc > 0 && !c->lmtp && strcmp(verb, "EHLO") == 0 && r->code / 100 == 5) {
        verb = "HELO";
        rc = hello(c, verb, r, NULL);
    }
    if (rc == 0 && strcmp(verb, "HELO") != 0)
        parse_features(c, lines);
    if (rc == 0 && (rc = start_tls(c, r)) == 1) {
        /* Over TLS the server is asked again: its extensions may differ. */
        c->features = 0;
        c->size_limit = 0;
        argv_free(lines);
        lines = argv_new();
        if ((rc = hello(c, verb, r, lines)) == 0)
            parse_features(c, lines);
    }
    if (rc > 0)
        hello_refused(c, verb, r);
    argv_free(lines);
    return rc == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- */
/* Content                                                          */
/* ---------------------------------------------------------------- */

static void put_raw(smtp_conn_t *c, const char *data, size_t len)
{
    /* A CR or LF inside a line would end it early on the wire: it goes out
     * as a space (cleanup already replaces them; this keeps it so). */
    while (len > 0) {
        size_t n = 0;

        while (n < len && data[n] != '\r' && data[n] != '\n')
            n++;
        stream_write(c->stream, data, n);
        if (n == len)
            break;
        stream_putc(c->stream, ' ');
        data += n + 1;
        len -= n + 1;
    }
}

void smtp_data_put(smtp_conn_t *c, const char *data, size_t len, int end_of_line)
{
    size_t limit = c->set->line_limit > 0 ? (size_t) c->set->line_limit : 0;

    if (limit > 0 && limit < MIN_LINE_LIMIT)
        limit = MIN_LINE_LIMIT;
    while (len > 0) {
        size_t take = len;

        if (c->column == 0 && data[0] == '.') {
            stream_putc(c->stream, '.');        /* dot-stuffing */
            c->column = 1;
        }
        if (limit > 0 && c->column + take > limit) {
            take = limit - c->column;
            put_raw(c, data, take);
            /* Folded: the rest continues on a line that starts with a
             * space, so it is never mistaken for the end of data. */
            stream_write(c->stream, "\r\n ", 3);
            c->column = 1;
        } else {
            put_raw(c, data, take);
            c->column += take;
        }
        data += take;
        len -= take;
    }
    if (end_of_line) {
        stream_write(c->stream, "\r\n", 2);
        c->column = 0;
    }
}

/* ---------------------------------------------------------------- */
/* The transaction                                                  */
/* ---------------------------------------------------------------- */

/* RFC 3461 xtext: '+', '=' and anything outside '!'..'~' as "+HH". */
static void xtext(buf_t *out, const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (*p < '!' || *p > '~' || *p == '+' || *p == '=')
            buf_printf(out, "+%02X", *p);
        else
            buf_putc(out, *p);
    }
}

static void mail_command(const smtp_conn_t *c, const smtp_message_t *m, buf_t *cmd)
{
    buf_t quoted = BUF_INIT;

    addr_quote(&quoted, m->sender);
    buf_printf(cmd, "MAIL FROM:<%s>", buf_str(&quoted));
    if ((c->features & SMTP_FEATURE_SIZE) && m->size > 0)
        buf_printf(cmd, " SIZE=%ld", m->size);
    if ((c->features & SMTP_FEATURE_8BITMIME) && m->body_8bit)
        buf_puts(cmd, " BODY=8BITMIME");
    if (c->features & SMTP_FEATURE_DSN) {
        if (m->dsn_ret == 1 || m->dsn_ret == 2)
            buf_puts(cmd, m->dsn_ret == 1 ? " RET=FULL" : " RET=HDRS");
        if (m->envid != NULL && *m->envid) {
            buf_puts(cmd, " ENVID=");
            xtext(cmd, m->envid);
        }
    }
    buf_release(&quoted);
}

static void rcpt_command(const smtp_conn_t *c, const smtp_rcpt_t *rc, buf_t *cmd)
{
    buf_t quoted = BUF_INIT;

    addr_quote(&quoted, rc->address);
    buf_printf(cmd, "RCPT TO:<%s>", buf_str(&quoted));
    if (c->features & SMTP_FEATURE_DSN) {
        if (rc->notify & DSN_NOTIFY_NEVER) {
            buf_puts(cmd, " NOTIFY=NEVER");
        } else if (rc->notify != 0) {
            const char *sep = " NOTIFY=";

            if (rc->notify & DSN_NOTIFY_SUCCESS) {
                buf_printf(cmd, "%sSUCCESS", sep);
                sep = ",";
            }
            if (rc->notify & DSN_NOTIFY_FAILURE) {
                buf_printf(cmd, "%sFAILURE", sep);
                sep = ",";
            }
            if (rc->notify & DSN_NOTIFY_DELAY)
                buf_printf(cmd, "%sDELAY", sep);
        }
        if (rc->orcpt != NULL && *rc->orcpt) {
            const char *semi = strchr(rc->orcpt, ';');

            buf_puts(cmd, " ORCPT=");
            if (semi != NULL) {
                buf_append(cmd, rc->orcpt, (size_t) (semi - rc->orcpt) + 1);
                xtext(cmd, semi + 1);
            } else {
                buf_puts(cmd, "rfc822;");
                xtext(cmd, rc->orcpt);
            }
        }
    }
    buf_release(&quoted);
}

/* Queues one command line (sent at the next flush). */
static void queue_command(smtp_conn_t *c, const buf_t *cmd)
{
    stream_write(c->stream, cmd->data, cmd->len);
    stream_write(c->stream, "\r\n", 2);
}

/* Every recipient not decided yet gets r with command. */
static void decide_rest(smtp_message_t *m, const smtp_reply_t *r, const char *command)
{
    for (size_t i = 0; i < m->rcpt_count; i++)
        if (m->rcpts[i].command == NULL) {
            smtp_reply_copy(&m->rcpts[i].reply, r);
            m->rcpts[i].command = command;
        }
}

static void decide(smtp_rcpt_t *rc, const smtp_reply_t *r, const char *command)
{
    smtp_reply_copy(&rc->reply, r);
    rc->command = command;
}

/* A reply where another class was due: the server is out of step. */
static void unexpected(smtp_conn_t *c, smtp_reply_t *r, const char *command)
{
    buf_t reason = BUF_INIT;

    smtp_reply_reason(c, r, command, &reason);
    smtp_reply_set(r, "4.5.0", "%s (unexpected reply)", buf_str(&reason));
    buf_release(&reason);
    c->broken = 1;
}

/* MAIL and RCPT replies, in order. Returns the number of recipients
 * accepted, or -1 when the connection broke (everyone undecided has r). */
static int read_envelope_replies(smtp_conn_t *c, smtp_message_t *m, smtp_reply_t *r,
                                 int *mail_ok)
{
    int accepted = 0;

    if (read_reply(c, c->set->timeouts.mail, "sending MAIL FROM", r, NULL) < 0)
        return -1;
    *mail_ok = r->code / 100 == 2;
    if (!*mail_ok)
        decide_rest(m, r, "MAIL FROM");
    for (size_t i = 0; i < m->rcpt_count; i++) {
        if (read_reply(c, c->set->timeouts.rcpt, "sending RCPT TO", r, NULL) < 0)
            return -1;
        if (!*mail_ok)
            continue;
        if (r->code / 100 == 2)
            accepted++;
        else
            decide(&m->rcpts[i], r, "RCPT TO");
    }
    return accepted;
}

/* Sends MAIL and every RCPT, one at a time or all at once. */
static int send_envelope(smtp_conn_t *c, smtp_message_t *m, smtp_reply_t *r, int *accepted,
                         int *mail_ok)
{
    buf_t cmd = BUF_INIT;

    mail_command(c, m, &cmd);
    queue_command(c, &cmd);
    if (c->features & SMTP_FEATURE_PIPELINING) {
        for (size_t i = 0; i < m->rcpt_count; i++) {
            buf_reset(&cmd);
            rcpt_command(c, &m->rcpts[i], &cmd);
            queue_command(c, &cmd);
        }
        /* DATA goes with the envelope; its reply is read after theirs. */
        stream_write(c->stream, "DATA\r\n", 6);
        buf_release(&cmd);
        stream_set_timeout(c->stream, c->set->timeouts.mail);
        if (stream_flush(c->stream) < 0) {
            reply_lost(c, "sending MAIL FROM", r);
            return -1;
        }
        *accepted = read_envelope_replies(c, m, r, mail_ok);
        return *accepted < 0 ? -1 : 0;
    }
    stream_set_timeout(c->stream, c->set->timeouts.mail);
    *accepted = 0;
    if (stream_flush(c->stream) < 0) {
        buf_release(&cmd);
        reply_lost(c, "sending MAIL FROM", r);
        return -1;
    }
    if (read_reply(c, c->set->timeouts.mail, "sending MAIL FROM", r, NULL) < 0) {
        buf_release(&cmd);
        return -1;
    }
    *mail_ok = r->code / 100 == 2;
    if (!*mail_ok) {
        decide_rest(m, r, "MAIL FROM");
        buf_release(&cmd);
        return 0;
    }
    for (size_t i = 0; i < m->rcpt_count; i++) {
        buf_reset(&cmd);
        rcpt_command(c, &m->rcpts[i], &cmd);
        if (send_command(c, c->set->timeouts.rcpt, "sending RCPT TO", r, "%s",
                         buf_str(&cmd)) < 0
            || read_reply(c, c->set->timeouts.rcpt, "sending RCPT TO", r, NULL) < 0) {
            buf_release(&cmd);
            return -1;
        }
        if (r->code / 100 == 2)
            (*accepted)++;
        else
            decide(&m->rcpts[i], r, "RCPT TO");
    }
    buf_release(&cmd);
    return 0;
}

/* The content and the final dot. 0, or -1 (r set, connection broken). */
static int send_content(smtp_conn_t *c, smtp_message_t *m, smtp_reply_t *r)
{
    buf_t why = BUF_INIT;

    stream_set_timeout(c->stream, c->set->timeouts.data_xfer);
    c->column = 0;
    if (m->content != NULL && m->content(c, m->ctx, &why) < 0) {
        /* Never the final dot: dropping the connection makes the server
         * discard what it got. */
        smtp_reply_set(r, "4.3.0", "%s", buf_str(&why));
        c->broken = 1;
        buf_release(&why);
        return -1;
    }
    buf_release(&why);
    if (c->column != 0)
        smtp_data_put(c, "", 0, 1);
    stream_write(c->stream, ".\r\n", 3);
    if (stream_flush(c->stream) < 0) {
        reply_lost(c, "sending message body", r);
        return -1;
    }
    return 0;
}

/* The replies to the final dot: one for all (SMTP), or one per accepted
 * recipient in order (LMTP). */
static int read_final_replies(smtp_conn_t *c, smtp_message_t *m, smtp_reply_t *r)
{
    static const char stage[] = "sending end of data -- message may be sent more than once";

    for (size_t i = 0; i < m->rcpt_count; i++) {
        if (m->rcpts[i].command != NULL)
            continue;
        if (read_reply(c, c->set->timeouts.data_done, stage, r, NULL) < 0)
            return -1;
        if (!c->lmtp) {
            decide_rest(m, r, "end of DATA");
            return 0;
        }
        decide(&m->rcpts[i], r, "end of DATA");
    }
    return 0;
}

/* SIZE: a message the server already said it will not take. */
static int too_big(smtp_conn_t *c, smtp_message_t *m, smtp_reply_t *r)
{
    buf_t name = BUF_INIT;

    if (!(c->features & SMTP_FEATURE_SIZE) || c->size_limit <= 0 || m->size <= c->size_limit)
        return 0;
    conn_hostaddr(c, &name);
    smtp_reply_set(r, "5.3.4", "message size %ld exceeds size limit %ld of server %s",
                   m->size, c->size_limit, buf_str(&name));
    buf_release(&name);
    decide_rest(m, r, NULL);
    return 1;
}

static int data_phase(smtp_conn_t *c, smtp_message_t *m, smtp_reply_t *r, int accepted,
                      int pipelined)
{
    /* Without pipelining DATA is sent only when someone was accepted. */
    if (!pipelined) {
        if (accepted == 0)
            return 0;
        if (send_command(c, c->set->timeouts.data_init, "sending DATA command", r, "DATA") < 0)
            return -1;
    }
    if (read_reply(c, c->set->timeouts.data_init, "sending DATA command", r, NULL) < 0)
        return -1;
    if (r->code / 100 != 3) {
        if (accepted > 0 && r->code / 100 == 2)
            unexpected(c, r, "DATA");
        decide_rest(m, r, "DATA");
        return c->broken ? -1 : 0;
    }
    if (accepted == 0) {
        /* A server that says 354 with no recipient gets an empty message
         * ended at once; nobody is waiting for its reply. */
        stream_write(c->stream, ".\r\n", 3);
        if (stream_flush(c->stream) < 0
            || read_reply(c, c->set->timeouts.data_done, "sending end of data", r, NULL) < 0)
            return -1;
        return 0;
    }
    if (send_content(c, m, r) < 0)
        return -1;
    return read_final_replies(c, m, r);
}

int smtp_transaction(smtp_conn_t *c, smtp_message_t *m)
{
    smtp_reply_t r;
    int accepted = 0, mail_ok = 0, rc = 0;
    int pipelined = (c->features & SMTP_FEATURE_PIPELINING) != 0;

    for (size_t i = 0; i < m->rcpt_count; i++) {
        smtp_reply_init(&m->rcpts[i].reply);
        m->rcpts[i].command = NULL;
    }
    if (m->rcpt_count == 0)
        return c->broken ? -1 : 0;
    smtp_reply_init(&r);
    if (c->broken) {
        smtp_reply_set(&r, "4.4.2", "connection with %s[%s] is unusable", c->host, c->addr);
        rc = -1;
    } else if (too_big(c, m, &r)) {
        rc = 0;
    } else if (send_envelope(c, m, &r, &accepted, &mail_ok) < 0) {
        rc = -1;
    } else if (!mail_ok && !pipelined) {
        rc = 0;
    } else if (!mail_ok) {
        /* The pipelined DATA still has a reply coming. */
        smtp_reply_t ignored;

        smtp_reply_init(&ignored);
        rc = read_reply(c, c->set->timeouts.data_init, "sending DATA command", &ignored, NULL);
        if (rc == 0 && ignored.code / 100 == 3) {
            stream_write(c->stream, ".\r\n", 3);
            rc = stream_flush(c->stream) < 0 ? -1
                : read_reply(c, c->set->timeouts.data_done, "sending end of data", &ignored, NULL);
        }
        smtp_reply_release(&ignored);
    } else {
        rc = data_phase(c, m, &r, accepted, pipelined);
    }
    /* Whoever is still undecided lost with the connection (never with an
     * empty reason, whatever path got here). */
    if (r.text.len == 0)
        smtp_reply_set(&r, "4.4.2", "conversation with %s[%s] ended unexpectedly",
                       c->host, c->addr);
    decide_rest(m, &r, NULL);
    smtp_reply_release(&r);
    if (c->broken)
        rc = -1;
    return rc;
}

void smtp_quit(smtp_conn_t *c)
{
    smtp_reply_t r;

    if (c->broken)
        return;
    smtp_reply_init(&r);
    if (send_command(c, c->set->timeouts.quit, "sending QUIT", &r, "QUIT") == 0
        && !c->set->skip_quit_response)
        (void) read_reply(c, c->set->timeouts.quit, "sending QUIT", &r, NULL);
    smtp_reply_release(&r);
}
