/* policy.h: the restriction engine's insides, shared by policy.c (lists,
 * stages, replies), restrictions.c (the built-in restrictions), access.c
 * (check_*_access and table actions) and recipient.c (unknown users). */
#ifndef FACTEUR_SMTPD_POLICY_H
#define FACTEUR_SMTPD_POLICY_H

#include "smtpd.h"

/* What a restriction says. */
#define CHECK_DUNNO   0           /* no opinion: next restriction */
#define CHECK_PERMIT  1           /* this list passes */
#define CHECK_REJECT  2           /* refused; the reply is in check->reply */

/* Who a reply is about: "<name>: what rejected: ...". */
typedef struct subject {
    const char *name;
    const char *what;             /* "Client host", "Recipient address"... */
} subject_t;

/* One evaluation: a command's stages with what is known at that point. */
typedef struct check {
    session_t  *s;
    const char *verb;             /* "RCPT", "CONNECT"...: for log lines */
    const char *helo;             /* NULL when not given */
    const char *sender;           /* as given; NULL outside a transaction */
    buf_t       sender_canon;
    const char *rcpt;             /* as given; NULL when none */
    buf_t       rcpt_canon;
    subject_t   stage;            /* what plain "reject" is about */
    const subject_t *nested;      /* a table's subject while its result runs */
    int         depth;            /* restriction classes and table results */
    int         warn_now;         /* warn_if_reject applies to this restriction */
    int         warn_next;
    int         defer_if_permit;
    buf_t       defer_if_permit_reply;
    int         defer_if_reject;
    buf_t       defer_if_reject_reply;
    int         rcpt_checked;     /* reject_unlisted_recipient already ran */
    int         sender_checked;
    buf_t      *reply;
} check_t;

/* policy.c */
int  check_list(check_t *c, const argv_t *list);
/* The subject of plain reject/defer: the stage's, or a table's. */
const subject_t *check_subject(const check_t *c);
/* "CODE DSN <name>: what rejected: text", or a warning under
 * warn_if_reject, or the pending defer_if_reject reply for a 5xx. */
int  check_reject(check_t *c, const subject_t *who, int code, const char *dsn,
                  const char *text);
/* The same with the text after the DSN given whole. */
int  check_reject_fmt(check_t *c, int code, const char *dsn, const char *fmt, ...)
         __attribute__((format(printf, 4, 5)));
/* Remembers a defer_if_permit / defer_if_reject reply. */
void check_defer_if(check_t *c, int if_permit, const subject_t *who, int code,
                    const char *dsn, const char *text);
/* 451 4.3.0 <name>: Temporary lookup failure. */
int  check_lookup_error(check_t *c, const char *name);
/* 451 4.3.5 Server configuration error. */
int  check_config_error(check_t *c);
/* A log line for this command: "NOQUEUE: action: RCPT from ...: text; ...". */
void check_log(check_t *c, const char *action, const char *text);

/* restrictions.c */
#define NEEDS_HELO    (1 << 0)
#define NEEDS_SENDER  (1 << 1)
#define NEEDS_RCPT    (1 << 2)
#define TAKES_TABLE   (1 << 3)

typedef struct restriction {
    const char *name;
    int         flags;
    int       (*fn)(check_t *c, const char *table);
} restriction_t;

const restriction_t *restriction_find(const char *name);
/* A Postfix restriction facteur does not have yet: how many arguments it
 * takes (0 or 1), or -1 when the name is not one. */
int  restriction_unsupported(const char *name);
/* Is the recipient a destination we accept mail for without relay
 * permission? 1, 0, or -1 when a table could not be searched. */
int  check_auth_destination(check_t *c);

/* access.c: check_{client,reverse_client_hostname,helo,sender,recipient}_access. */
#define ACCESS_CLIENT     1
#define ACCESS_REVERSE    2
#define ACCESS_HELO       3
#define ACCESS_SENDER     4
#define ACCESS_RECIPIENT  5
int  check_access(check_t *c, const char *table, int what);

/* recipient.c: is the address a known user (reject_unlisted_*)? */
int  check_unlisted_recipient(check_t *c);
int  check_unlisted_sender(check_t *c);

/* Subjects. */
subject_t subject_client(const check_t *c);
subject_t subject_helo(const check_t *c);
subject_t subject_sender(const check_t *c);
subject_t subject_rcpt(const check_t *c);

#endif
