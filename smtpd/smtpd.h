/* smtpd: the SMTP server's shared state. One session_t per client
 * connection; one transaction (MAIL..DATA) at a time inside it. */
#ifndef FACTEUR_SMTPD_H
#define FACTEUR_SMTPD_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "argv.h"
#include "buf.h"
#include "cleanup_client.h"
#include "match_list.h"
#include "service.h"
#include "stream.h"
#include "table.h"
#include "tls.h"

/* smtpd_forbid_bare_newline modes. */
#define BARE_LF_NO         0     /* LF alone ends lines, even the final dot */
#define BARE_LF_NORMALIZE  1     /* LF ends content lines; only CRLF.CRLF ends DATA */
#define BARE_LF_REJECT     2     /* any bare LF is refused */

/* Settings read once per process from main.cf (settings.c). */
typedef struct smtpd_settings {
    char   *myhostname;
    char   *mail_name;
    char   *banner;
    long    message_size_limit;
    int     disable_vrfy;
    int     helo_required;
    argv_t *discard_ehlo;          /* lower-cased keywords */
    long    recipient_limit;
    long    recipient_overshoot_limit;
    long    soft_error_limit;
    long    hard_error_limit;
    long    error_sleep_time;
    long    junk_command_limit;
    long    timeout;
    long    line_length_limit;
    int     bare_lf_mode;
    match_list_t *bare_lf_exclusions;
    long    bare_lf_reject_code;
    match_list_t *mynetworks;
    argv_t *fast_flush_domains;

    /* The restriction lists (policy.c), split as Postfix does. */
    int     delay_reject;
    argv_t *client_restrictions;
    argv_t *helo_restrictions;
    argv_t *sender_restrictions;
    argv_t *relay_restrictions;
    argv_t *recipient_restrictions;
    argv_t *data_restrictions;
    argv_t *eod_restrictions;
    argv_t *restriction_classes;
    /* Reply codes. */
    long    reject_code;
    long    defer_code;
    long    relay_code;
    long    access_reject_code;
    long    access_defer_code;
    long    non_fqdn_code;
    long    invalid_hostname_code;
    long    unknown_client_code;
    long    unknown_local_code;
    long    unknown_virtual_alias_code;
    long    unknown_virtual_mailbox_code;
    long    unknown_relay_code;
    long    multi_bounce_code;
    int     soft_bounce;
    /* Recipient (and sender) validity (recipient.c). */
    int     reject_unlisted_recipient;
    int     reject_unlisted_sender;
    int     show_unknown_table;
    char   *double_bounce_sender;
    maps_t *local_recipient_maps;        /* empty: every local name is fine */
    maps_t *virtual_alias_maps;
    maps_t *virtual_mailbox_maps;
    maps_t *relay_recipient_maps;
    maps_t *canonical_maps;
    maps_t *recipient_canonical_maps;
    maps_t *sender_canonical_maps;
    match_list_t *virtual_alias_domains;
    match_list_t *virtual_mailbox_domains;
    argv_t *local_rewrite_clients;
    argv_t *inet_interfaces;
    argv_t *forbidden_commands;
    int     peername_lookup;
} smtpd_settings_t;

extern smtpd_settings_t smtpd_var;
void smtpd_settings_load(void);

/* EHLO keyword bits (also used to honour smtpd_discard_ehlo_keywords). */
#define EHLO_PIPELINING   (1 << 0)
#define EHLO_SIZE         (1 << 1)
#define EHLO_VRFY         (1 << 2)
#define EHLO_ETRN         (1 << 3)
#define EHLO_ENHANCED     (1 << 4)
#define EHLO_8BITMIME     (1 << 5)
#define EHLO_DSN          (1 << 6)
#define EHLO_STARTTLS     (1 << 7)

/* How a session ended, when not by QUIT. */
#define END_NONE     0
#define END_EOF      1            /* lost connection */
#define END_TIMEOUT  2            /* smtpd_timeout */
#define END_DROP     3            /* we hung up (421, 521, forbidden command) */

#define SMTPD_CMD_MAX 16

/* What MAIL/RCPT checks parsed, for their actions to commit. */
typedef struct smtpd_pending {
    buf_t       addr;             /* internal form */
    long        size;
    const char *encoding;
    int         ret;
    int         has_envid;
    buf_t       envid;
    int         notify;
    int         has_orcpt;
    buf_t       orcpt;            /* "type;decoded-address" */
} smtpd_pending_t;

typedef struct session {
    service_t *svc;
    stream_t  *in;
    stream_t  *out;                 /* == in for a socket */

    /* The client (peer.c). */
    char      *name;                /* verified reverse name or "unknown" */
    char      *reverse_name;        /* PTR name, verified or not, or "unknown" */
    char      *addr;                /* printable address */
    char      *rfc_addr;            /* for Received: "1.2.3.4" or "IPv6:::1" */
    char      *port;
    char      *namaddr;             /* "name[addr]" */
    struct sockaddr_storage sa;     /* numeric address (port ignored) */
    socklen_t  sa_len;
    int        standalone;          /* -S: stdin/stdout */

    /* Conversation state. */
    char      *helo_name;           /* NULL until HELO/EHLO */
    const char *protocol;           /* "SMTP" or "ESMTP" */
    int        ehlo_discard;        /* EHLO_* bits hidden from this client */
    const char *where;              /* last command, for "timeout after X" */
    int        error_count;
    int        junk_count;
    long       where_bytes;         /* bytes of DATA so far, or -1 */
    int        quit;                /* QUIT seen or the session must end */
    int        end;                 /* END_* */
    int        bare_lf_strict;      /* reject mode applies to this client */
    int        local_submission;    /* -S without -a: "sendmail -bs" */
    int        mynetworks_cached;   /* -2 not yet, else a MATCH_* answer */
    char      *access_denied;       /* client refused at connect (delay_reject=no) */
    int        cmd_ok[SMTPD_CMD_MAX];       /* per command-table entry */
    int        cmd_total[SMTPD_CMD_MAX];
    int        unknown_total;
    smtpd_pending_t pending;

    /* The MAIL transaction. */
    char      *sender;              /* NULL outside a transaction */
    struct timeval arrival;
    long       declared_size;       /* MAIL SIZE= */
    const char *encoding;           /* "7bit", "8bit" or NULL */
    int        dsn_ret;             /* 0, 1 FULL, 2 HDRS */
    char      *dsn_envid;
    char      *first_rcpt;          /* internal form, for Received: "for" */
    int        rcpt_count;          /* accepted recipients */
    int        rcpt_overshoot;
    cleanup_client_t *cleanup;      /* open from the first accepted RCPT */
    char       queue_id[64];        /* "" before cleanup_open */
    /* Whole-message actions from access tables, for cleanup ('f', '>' and
     * extra R records before M). */
    int        discard;             /* accept, then throw the message away */
    int        hold;                /* commit into hold/ (CLEANUP_FLAG_HOLD) */
    int        hold_sent;           /* the 'f' record went to cleanup */
    char      *redirect;            /* REDIRECT user@domain: the last one wins */
    argv_t    *bcc;                 /* BCC user@domain: extra recipients */
    argv_t    *prepend;             /* headers to put before our Received: */

    /* STARTTLS (tls.c). */
    tls_sess_t *tls;                /* NULL until the handshake succeeded */

    /* Scratch. */
    buf_t      line;                /* current command line */
    buf_t      reply;
    buf_t      check_reply;         /* the last refusal from policy.c */
} session_t;

/* session.c */
void smtpd_session(service_t *svc, stream_t *in, stream_t *out, int standalone,
                   const char *fake_addr);
void smtpd_transaction_reset(session_t *s);

/* commands.c: the command table. */
typedef struct smtpd_cmd {
    const char *verb;
    int         flags;
    /* Validates state and syntax; replies and returns -1 on refusal. */
    int       (*check)(session_t *s, const char *args);
    /* Does the work and replies; -1 when the command failed. */
    int       (*action)(session_t *s, const char *args);
} smtpd_cmd_t;

#define CMD_LIMIT   (1 << 0)      /* counts towards smtpd_junk_command_limit */
#define CMD_QUIT    (1 << 1)      /* ends the session after its reply */
#define CMD_PRE_TLS (1 << 2)      /* allowed before STARTTLS at level encrypt */

const smtpd_cmd_t *smtpd_cmd_find(const char *verb, size_t len);
extern const smtpd_cmd_t smtpd_cmd_table[];

/* data.c */
int  smtpd_data(session_t *s);
int  smtpd_cleanup_start(session_t *s);   /* opens cleanup, sends the envelope head */
void smtpd_cleanup_recipient(session_t *s, const char *rcpt, const char *orig,
                             const char *dsn_orcpt, int notify);

/* reply.c */
void smtpd_reply(session_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void smtpd_reply_lines(session_t *s, argv_t *lines);      /* 250-a / 250 b */
int  smtpd_flush(session_t *s);
void smtpd_log_reject(session_t *s, const char *stage, const char *reply,
                      const char *rcpt);
/* "ID|NOQUEUE: action: VERB from host[addr]: text; from=<s> to=<r>
 * proto=P helo=<h>"; sender, rcpt and helo are left out when NULL. */
void smtpd_log_action(session_t *s, const char *action, const char *verb, const char *text,
                      const char *sender, const char *rcpt, const char *helo);
void smtpd_printable(buf_t *out, const char *text, size_t len);

/* peer.c */
void smtpd_peer_init(session_t *s, int fd, const char *fake_addr);
void smtpd_peer_free(session_t *s);

/* policy.c: the restriction lists. Each check returns NULL when the
 * command may go on, else the whole reply (already logged; s->end is set
 * when the reply is a 421 or 521, which ends the session). */
void        smtpd_check_config(void);        /* fatal without a relay restriction */
const char *smtpd_check_connect(session_t *s);
const char *smtpd_check_helo(session_t *s, const char *verb, const char *helo);
const char *smtpd_check_mail(session_t *s, const char *sender);
/* verb: "RCPT" or "VRFY", for the log line. */
const char *smtpd_check_rcpt(session_t *s, const char *verb, const char *rcpt);
const char *smtpd_check_data(session_t *s);
const char *smtpd_check_eod(session_t *s);

/* client.c: who the client is, for lists. */
int  smtpd_client_in_mynetworks(session_t *s);          /* a MATCH_* answer */
int  smtpd_client_in_list(session_t *s, match_list_t *list);   /* 1 = MATCH_FOUND */
int  smtpd_client_local_context(session_t *s);

/* tls.c: STARTTLS. Settings and the server keys are loaded once, before
 * the privilege drop (the keys are often readable by root only). */
typedef struct smtpd_tls_settings {
    int         level;             /* TLS_LEVEL_NONE, _MAY or _ENCRYPT */
    tls_ctx_t  *ctx;               /* NULL: no usable certificate */
    long        handshake_timeout; /* smtpd_starttls_timeout */
    int         received_header;   /* smtpd_tls_received_header */
    int         loglevel;          /* smtpd_tls_loglevel */
    int         wrappermode;       /* smtpd_tls_wrappermode: TLS from the start (465) */
} smtpd_tls_settings_t;

extern smtpd_tls_settings_t smtpd_tls;
void smtpd_tls_init(void);
int  smtpd_tls_offered(const session_t *s);      /* STARTTLS in EHLO now */
int  smtpd_tls_required(const session_t *s);     /* level encrypt, TLS not active */
int  smtpd_starttls_check(session_t *s, const char *args);
int  smtpd_starttls_action(session_t *s, const char *args);
void smtpd_tls_received(session_t *s, stream_t *out);   /* "(using ...)" lines */
const char *smtpd_received_protocol(const session_t *s); /* ESMTPS under TLS */
/* smtpd_tls_wrappermode: the handshake before the greeting. 0, or -1 when
 * the session must end (logged). */
int  smtpd_tls_wrapper_start(session_t *s);
void smtpd_tls_end(session_t *s);

/* esmtp.c: parameter helpers. */
int  xtext_decode(buf_t *out, const char *in, size_t len);
int  dsn_notify_parse(const char *value);
int  dsn_ret_parse(const char *value);

/* commands.c: a non-empty string of decimal digits (SIZE=, access OK values). */
int smtpd_all_digits(const char *p);

#endif
