/* smtp_client: the client side of SMTP and LMTP, shared by the smtp, relay
 * and lmtp delivery agents. Nexthop parsing, connecting with a deadline,
 * the greeting and EHLO/LHLO (HELO fallback), and one mail transaction:
 * MAIL, RCPT..., DATA, content and the final dot, pipelined when the server
 * offers PIPELINING, with dot-stuffing, CRLF line ends and long lines folded
 * at smtp_line_length_limit. Every recipient comes back with the reply
 * that decided its fate. I/O goes through lib/stream; STARTTLS (lib/tls)
 * slots in through its operations table. */
#ifndef FACTEUR_SMTP_CLIENT_H
#define FACTEUR_SMTP_CLIENT_H

#include <stddef.h>

#include "buf.h"
#include "dns.h"
#include "stream.h"
#include "tls.h"

/* ---- Nexthop ---- */

#define SMTP_DEST_MX    1    /* "domain", "domain:port": MX lookup */
#define SMTP_DEST_HOST  2    /* "[host]", "[host]:port": address lookup only */
#define SMTP_DEST_ADDR  3    /* "[1.2.3.4]", "[ipv6:2001:db8::1]" (port optional) */
#define SMTP_DEST_UNIX  4    /* LMTP "unix:path" */

typedef struct smtp_dest {
    int        kind;
    char      *host;         /* domain, host name, address text or socket path */
    unsigned   port;         /* 0 = the protocol's default port */
    dns_addr_t addr;         /* SMTP_DEST_ADDR */
} smtp_dest_t;

/* Parses one nexthop. SMTP: domain, domain:port, [host], [host]:port,
 * [1.2.3.4], [ipv6:...]:port. LMTP (lmtp != 0): unix:path, inet:host,
 * inet:host:port, inet:[host]:port, host:port, [host]:port; LMTP never
 * looks up MX records (a bare host is SMTP_DEST_HOST). Ports are numbers
 * or service names. 0, or -1 with why ("bad port", ...). */
int  smtp_dest_parse(const char *text, int lmtp, smtp_dest_t *dest, buf_t *why);
void smtp_dest_free(smtp_dest_t *dest);
/* A port number or /etc/services name ("smtp", "lmtp" has a fallback of
 * 24). 0, or -1. */
int  smtp_port_parse(const char *text, unsigned *port);

/* ---- Connection ---- */

#define SMTP_FEATURE_ESMTP        (1 << 0)
#define SMTP_FEATURE_PIPELINING   (1 << 1)
#define SMTP_FEATURE_8BITMIME     (1 << 2)
#define SMTP_FEATURE_SIZE         (1 << 3)
#define SMTP_FEATURE_DSN          (1 << 4)
#define SMTP_FEATURE_ENHANCED     (1 << 5)   /* ENHANCEDSTATUSCODES */
#define SMTP_FEATURE_STARTTLS     (1 << 6)
#define SMTP_FEATURE_SMTPUTF8     (1 << 7)

/* Seconds per stage (smtp_*_timeout or lmtp_*_timeout). 0 = no limit. */
typedef struct smtp_timeouts {
    int connect;
    int helo;            /* greeting and EHLO/HELO/LHLO */
    int mail;
    int rcpt;
    int data_init;       /* DATA command */
    int data_xfer;       /* each write of the content */
    int data_done;       /* the reply to the final dot */
    int quit;
} smtp_timeouts_t;

typedef struct smtp_settings {
    smtp_timeouts_t timeouts;
    const char *helo_name;        /* smtp_helo_name / lmtp_lhlo_name */
    int         line_limit;       /* smtp_line_length_limit; 0 = no folding */
    int         skip_5xx_greeting;
    int         never_send_ehlo;
    int         skip_quit_response;
    /* STARTTLS (SMTP only, never LMTP). */
    int         tls_level;        /* TLS_LEVEL_*: smtp_tls_security_level */
    tls_ctx_t  *tls_ctx;          /* NULL: no TLS engine (a level >= encrypt defers) */
    int         tls_timeout;      /* smtp_starttls_timeout */
    int         tls_loglevel;     /* smtp_tls_loglevel: 1 logs each TLS session */
} smtp_settings_t;

/* A server reply, or a failure of ours in the same shape. */
typedef struct smtp_reply {
    int   code;          /* 250 ...; 0 = not a server reply (lost connection, local error) */
    char  dsn[16];       /* "5.1.1": from the reply text, else derived from the code */
    buf_t text;          /* all reply lines joined with one space, or our own text */
} smtp_reply_t;

void smtp_reply_init(smtp_reply_t *r);
void smtp_reply_release(smtp_reply_t *r);
/* Sets a non-server outcome: code 0, dsn and text. */
void smtp_reply_set(smtp_reply_t *r, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void smtp_reply_copy(smtp_reply_t *to, const smtp_reply_t *from);

typedef struct smtp_conn {
    stream_t              *stream;
    char                  *host;       /* name for logs: MX host, [host] name, address */
    char                  *addr;       /* address text, or the socket path */
    unsigned               port;       /* 0 for UNIX sockets */
    int                    lmtp;
    int                    features;   /* SMTP_FEATURE_* after the handshake */
    long                   size_limit; /* from SIZE; 0 = none announced */
    const smtp_settings_t *set;
    int                    broken;     /* lost or out of sync: never reuse */
    size_t                 column;     /* content output position in the line */
    tls_sess_t            *tls;        /* after STARTTLS */
    char                  *nexthop;    /* for tls_level secure; NULL = host */
} smtp_conn_t;

/* Connects to addr:port within set->timeouts.connect. NULL with why
 * "connect to host[addr]:port: Connection refused". */
smtp_conn_t *smtp_connect_inet(const char *host, const dns_addr_t *addr, unsigned port,
                               int lmtp, const smtp_settings_t *set, buf_t *why);
/* LMTP over a UNIX socket; the path is relative to the current directory
 * (the queue directory) unless absolute. */
smtp_conn_t *smtp_connect_unix(const char *host, const char *path,
                               const smtp_settings_t *set, buf_t *why);
/* Wraps a connected descriptor (tests use a socketpair). */
smtp_conn_t *smtp_conn_from_fd(int fd, const char *host, const char *addr, unsigned port,
                               int lmtp, const smtp_settings_t *set);
/* Closes and frees. */
void smtp_conn_close(smtp_conn_t *c);
/* The nexthop domain a certificate must name at tls_level secure (the
 * domain itself or a subdomain); without it, the server's host name. */
void smtp_conn_set_nexthop(smtp_conn_t *c, const char *domain);
/* "host[addr]:port" (or "host[path]") for relay= and reasons. */
void smtp_conn_name(const smtp_conn_t *c, buf_t *out);

/* Reads one (multi-line) reply within timeout seconds. 0, or -1 when the
 * connection was lost or timed out (r is then a 4.4.2 text naming what,
 * with "while receiving the initial server greeting" style context from
 * stage) and c->broken is set. */
int  smtp_read_reply(smtp_conn_t *c, int timeout, const char *stage, smtp_reply_t *r);

/* Greeting, then EHLO (LHLO for LMTP; HELO after a 5xx to EHLO, or with
 * never_send_ehlo), features recorded in c. 0 when the server is ready for
 * a transaction. Otherwise -1 and r holds the outcome for every recipient:
 * a reason in Postfix's words ("host H[A] refused to talk to me: 554 ...",
 * "host H[A] said: ... (in reply to EHLO command)", "lost connection ...");
 * a 5xx greeting becomes a 4.x.x deferral when skip_5xx_greeting is set.
 * With set->tls_level, STARTTLS follows when offered (then EHLO again):
 * at "may" a server without STARTTLS or refusing it is used in plaintext;
 * a failed handshake, and at "encrypt" and above a server without TLS,
 * is a 4.7.x deferral; "verify"/"secure" also need a trusted certificate
 * naming the server host / the nexthop domain. */
int  smtp_handshake(smtp_conn_t *c, smtp_reply_t *r);

/* ---- The mail transaction ---- */

typedef struct smtp_rcpt {
    const char  *address;     /* internal form */
    const char  *orcpt;       /* DSN ORCPT value "rfc822;addr", or "" / NULL */
    long         notify;      /* DSN_NOTIFY_* bits (lib/delivery.h); 0 = not given */
    /* Filled by smtp_transaction: */
    smtp_reply_t reply;       /* the reply that decided this recipient */
    const char  *command;     /* "MAIL FROM", "RCPT TO", "DATA", "end of DATA" */
} smtp_rcpt_t;

typedef struct smtp_message {
    const char  *sender;      /* internal form, "" = null sender */
    long         size;        /* content bytes, for SIZE=; 0 = unknown */
    int          body_8bit;   /* BODY=8BITMIME when offered */
    int          dsn_ret;     /* 0, 1 = FULL, 2 = HDRS */
    const char  *envid;       /* "" / NULL = none */
    smtp_rcpt_t *rcpts;
    size_t       rcpt_count;
    /* Writes the content with smtp_data_put. 0, or -1 with why when the
     * content cannot be read: the connection is then dropped before the
     * final dot, so the server discards the message. */
    int        (*content)(smtp_conn_t *c, void *ctx, buf_t *why);
    void        *ctx;
} smtp_message_t;

/* Runs one transaction over a ready connection. Every recipient gets a
 * reply: a server's (2xx sent, 4xx try later, 5xx bounce) or a code-0
 * outcome of ours (lost connection 4.4.2, content error 4.3.0, message
 * larger than the server's SIZE 5.3.4). Returns 0 when the connection can
 * carry another transaction, -1 when it is broken. */
int  smtp_transaction(smtp_conn_t *c, smtp_message_t *m);

/* Writes content: data is part of a line; end_of_line ends it with CRLF.
 * Dot-stuffs a line that starts with '.', and folds lines at
 * set->line_limit with CRLF SPACE. */
void smtp_data_put(smtp_conn_t *c, const char *data, size_t len, int end_of_line);

/* Sends QUIT (waits for its reply unless skip_quit_response). */
void smtp_quit(smtp_conn_t *c);

/* The reason text for a recipient's reply: "host H[A] said: 550 5.1.1 ...
 * (in reply to RCPT TO command)", or the reply text itself for code 0. */
void smtp_reply_reason(const smtp_conn_t *c, const smtp_reply_t *r, const char *command,
                       buf_t *out);

#endif
