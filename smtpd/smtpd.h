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
#include "service.h"
#include "stream.h"

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
    argv_t *bare_lf_exclusions;
    long    bare_lf_reject_code;
    long    unknown_local_code;
    char   *local_recipient_maps;
    char   *recipient_delimiter;
    argv_t *mynetworks;
    argv_t *relay_restrictions;
    argv_t *recipient_restrictions;
    argv_t *fast_flush_domains;
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
    int        mynetworks_cached;   /* -1 unknown, 0 no, 1 yes */
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

    /* Scratch. */
    buf_t      line;                /* current command line */
    buf_t      reply;
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
void smtpd_printable(buf_t *out, const char *text, size_t len);

/* peer.c */
void smtpd_peer_init(session_t *s, int fd, const char *fake_addr);
void smtpd_peer_free(session_t *s);

/* policy.c: recipient checks (the seed of the restriction lists). */
/* NULL when the recipient may be accepted; else the whole reply text. */
const char *smtpd_check_rcpt(session_t *s, const char *rcpt, buf_t *reply);
int  smtpd_client_in_mynetworks(session_t *s);
int  smtpd_client_in_list(session_t *s, const argv_t *patterns);
int  smtpd_client_local_context(session_t *s);

/* esmtp.c: parameter helpers. */
int  xtext_decode(buf_t *out, const char *in, size_t len);
int  dsn_notify_parse(const char *value);
int  dsn_ret_parse(const char *value);

#endif
