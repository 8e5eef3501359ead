/* sendmail: the Sendmail-compatible front door. The command line says what
 * to do (modes.c runs other programs for most modes); enqueue.c turns a
 * message on stdin into records that postdrop writes into maildrop/. */
#ifndef FACTEUR_SENDMAIL_H
#define FACTEUR_SENDMAIL_H

#include <stddef.h>
#include <sysexits.h>      /* the exit statuses mail user agents understand */

#include "argv.h"

typedef enum {
    SM_MODE_ENQUEUE,       /* -bm, the default: read a message */
    SM_MODE_NEWALIAS,      /* -bi, -I, newaliases */
    SM_MODE_MAILQ,         /* -bp, mailq */
    SM_MODE_DAEMON,        /* -bd, -bl: start the mail system */
    SM_MODE_USER,          /* -bs: SMTP on stdin/stdout */
    SM_MODE_FLUSHQ,        /* -q */
    SM_MODE_VERIFY,        /* -bv */
    SM_MODE_IGNORE,        /* -bh, -bH, -q<interval> outside daemon mode */
} sm_mode_t;

typedef struct sm_opts {
    sm_mode_t   mode;
    int         extract;          /* -t: recipients from To/Cc/Bcc too */
    int         dot_ends;         /* no -i: a lone "." ends the message */
    const char *sender;           /* -f / -r; NULL = login name */
    const char *full_name;        /* -F */
    const char *config_dir;       /* -C, as given */
    const char *alias_db;         /* -oA */
    long        dsn_notify;       /* -N: DSN_NOTIFY_* bits, 0 = default */
    int         dsn_ret;          /* -R: 1 full, 2 hdrs, 0 default */
    const char *dsn_envid;        /* -V */
    const char *encoding;         /* -B: "7bit" or "8bit" */
    const char *rewrite_context;  /* "local", or "remote" with -G */
    const char *flush_site;       /* -qR */
    const char *flush_id;         /* -qI */
    int         verbose;          /* -v count */
    char      **recipients;       /* what is left of argv */
} sm_opts_t;

/* enqueue.c: posts the message on stdin; exits on every failure. */
void sm_enqueue(const sm_opts_t *o);

/* extract.c: the -t header scan. Fed every content record while the
 * header block lasts; collects To/Cc/Bcc addresses (Resent- ones win). */
typedef struct sm_extract sm_extract_t;
sm_extract_t *sm_extract_new(long header_limit);
/* Returns 0, or -1 when the header block grew past header_limit. */
int           sm_extract_record(sm_extract_t *x, int type, const char *data, size_t len);
/* Ends the scan; the recipients found (caller frees). */
argv_t       *sm_extract_finish(sm_extract_t *x);

/* modes.c: everything except enqueue; these do not return. */
void sm_run_mode(const sm_opts_t *o) __attribute__((noreturn));

/* main.c: the login name of the real user ID (fatal when there is none). */
const char *sm_login_name(void);

#endif
