/* local: what the files of the local delivery agent share. One request
 * is one message (a mapped queue file) and its recipients; each recipient
 * is resolved in recipient.c (aliases, ~/.forward, mailbox) and ends in one
 * outcome (sent/deferred/bounced), combined from the outcomes of every
 * destination its expansion reached. */
#ifndef FACTEUR_LOCAL_LOCAL_H
#define FACTEUR_LOCAL_LOCAL_H

#include <sys/types.h>

#include "argv.h"
#include "buf.h"
#include "delivery.h"
#include "stream.h"
#include "service.h"

/* main.cf settings, read once at start-up (main.c). */
typedef struct local_settings {
    const char *home_mailbox;          /* "" = spool mailbox */
    const char *mail_spool_directory;
    const char *recipient_delimiter;   /* "" = no extensions */
    long        mailbox_size_limit;    /* bytes, 0 = no limit */
    int         lock_fcntl;            /* mailbox_delivery_lock methods */
    int         lock_flock;
    int         lock_dotlock;
    long        lock_attempts;         /* deliver_lock_attempts */
    long        lock_delay;            /* deliver_lock_delay, seconds */
    long        stale_lock_time;       /* seconds */
    int         started_as_root;
    uid_t       owner_uid;             /* mail_owner: writes defer/ and bounce/ logs */
    gid_t       owner_gid;
    /* Aliases, forwarding, commands and files. */
    int         allow_commands;        /* LOCAL_CLASS_* where |command may appear */
    int         allow_files;           /* LOCAL_CLASS_* where /file may appear */
    int         propagate_ext;         /* LOCAL_CLASS_* of propagate_unmatched_extensions */
    int         delivered_hdr;         /* LOCAL_HDR_* of prepend_delivered_header */
    uid_t       default_uid;           /* default_privs: never root */
    gid_t       default_gid;
    long        command_time_limit;    /* seconds */
    int         owner_request_special;
    int         expand_owner_alias;
    const char *forward_path;          /* as written: expanded per recipient */
    const char *exec_directory;        /* command_execution_directory, as written */
    const char *command_shell;         /* local_command_shell, "" = none */
    const char *command_filter;        /* command_expansion_filter */
    const char *forward_filter;        /* forward_expansion_filter */
    const char *exec_dir_filter;       /* execution_directory_expansion_filter */
    argv_t     *export_environment;
} local_settings_t;

/* Where a destination was found: the classes of allow_mail_to_commands,
 * allow_mail_to_files and propagate_unmatched_extensions. */
#define LOCAL_CLASS_ALIAS    (1 << 0)
#define LOCAL_CLASS_FORWARD  (1 << 1)
#define LOCAL_CLASS_INCLUDE  (1 << 2)

/* prepend_delivered_header contexts (the mailbox always gets one). */
#define LOCAL_HDR_COMMAND    (1 << 0)
#define LOCAL_HDR_FILE       (1 << 1)
#define LOCAL_HDR_FORWARD    (1 << 2)

/* Bounds on one recipient's expansion. */
#define LOCAL_EXPANSION_DEPTH   20          /* nested aliases/includes */
#define LOCAL_EXPANSION_LIMIT   1000        /* destinations in all */
#define LOCAL_LIST_FILE_MAX     (1024 * 1024)   /* .forward, :include: bytes */
#define LOCAL_LIST_LINE_MAX     (64 * 1024)     /* one logical line of them */

extern local_settings_t local_cfg;

/* One message: the mapped queue file and what every recipient shares. */
typedef struct local_msg {
    const delivery_request_t *req;
    const char *map;                   /* whole queue file, read-only */
    size_t      map_size;
    size_t      data_offset;           /* first content record */
    argv_t     *delivered_to;          /* Delivered-To: values, lower-cased */
} local_msg_t;

/* The fate of one recipient. */
typedef struct local_outcome {
    int   result;                      /* DELIVERY_* */
    char  dsn[16];
    buf_t reason;
} local_outcome_t;

void outcome_set(local_outcome_t *out, int result, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets a write/create failure: EFBIG and EDQUOT bounce with 5.2.2 (the
 * mailbox is full), anything else defers with 4.3.0 or 4.2.0. */
void outcome_set_errno(local_outcome_t *out, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A local user from the passwd database. */
typedef struct local_user {
    char  *name;
    uid_t  uid;
    gid_t  gid;
    char  *home;
    char  *shell;
} local_user_t;

/* One delivery to a mailbox: which message, for whom, with which headers. */
typedef struct local_delivery {
    const local_msg_t     *msg;
    const delivery_rcpt_t *rcpt;
    const char            *sender;         /* Return-Path (internal form); NULL = the request's */
    const char            *delivered_to;   /* Delivered-To: value (lower-case, quoted); NULL = none */
    const char            *original_to;    /* X-Original-To: value */
    const local_user_t    *user;
    local_outcome_t       *out;
} local_delivery_t;

/* Fills d and out for the current recipient of st: the message, sender,
 * X-Original-To, and Delivered-To unless hdr_flag (a LOCAL_HDR_* bit) is
 * off in prepend_delivered_header (0 = always, for mailboxes). out starts as
 * a 4.3.0 deferral so that no path can report an unset outcome. */
struct local_state;
struct expansion;
void local_delivery_init(local_delivery_t *d, local_outcome_t *out,
                         const struct local_state *st, const struct expansion *exp,
                         int hdr_flag);

/* user.c: passwd lookups. 1 found, 0 unknown, -1 error (errno). */
int  local_user_by_name(const char *name, local_user_t *u);
int  local_user_by_uid(uid_t uid, local_user_t *u);
void local_user_free(local_user_t *u);

/* A recipient's name in the forms the steps need. */
typedef struct rcpt_name {
    buf_t address;       /* quoted, lower-cased: the Delivered-To: value */
    buf_t localpart;     /* lower-cased, with its extension */
    buf_t user;          /* localpart without the extension */
    buf_t extension;     /* "" when none */
    buf_t domain;
    char  delimiter;     /* the recipient_delimiter character found, 0 = none */
} rcpt_name_t;

/* Who |command and /file deliveries run as. uid 0 means "no one chosen
 * yet" (a root-owned alias table, or root's own .forward): the deliveries
 * then use default_privs, never root. home/shell may be NULL. */
typedef struct local_ident {
    uid_t  uid;
    gid_t  gid;
    char  *home;
    char  *shell;
} local_ident_t;

/* Addresses forwarded in one new message, with one envelope sender. */
typedef struct forward_group {
    char   *sender;
    int     owner;           /* the sender is an owner- alias: no DSN data passed on */
    argv_t *rcpts;
} forward_group_t;

/* One top-level recipient being resolved: its name, the results of the
 * destinations reached so far, and the addresses to forward. */
typedef struct local_state {
    const local_msg_t     *msg;
    const delivery_rcpt_t *rcpt;
    rcpt_name_t            name;
    local_outcome_t       *out;
    int                    sent, deferred, bounced;
    buf_t                  sent_text;      /* "delivered to ...; forwarded as ..." */
    local_outcome_t        first_defer;    /* the deferral that decides, if any */
    local_outcome_t        first_bounce;
    argv_t                *seen;           /* destinations done (duplicates) */
    size_t                 destinations;   /* against LOCAL_EXPANSION_LIMIT */
    forward_group_t       *fwd;
    size_t                 fwd_count;
} local_state_t;

/* What naming the expanded name again means inside its own expansion. */
#define LOCAL_SKIP_ALIAS    (1 << 0)   /* an alias lists itself: .forward, mailbox */
#define LOCAL_SKIP_FORWARD  (1 << 1)   /* a .forward lists its user: mailbox */

/* One level of expansion (alias, .forward or :include: list). */
typedef struct expansion {
    int                  class;      /* LOCAL_CLASS_* of the list, 0 = top level */
    const char          *from;       /* the name being expanded */
    int                  skip;       /* LOCAL_SKIP_* when the list names it */
    const local_ident_t *ident;      /* for files and commands */
    const char          *sender;     /* envelope sender (internal form) */
    int                  owner;      /* sender replaced by an owner- alias */
    const char          *unmatched;  /* extension to propagate, or NULL */
    int                  depth;
} expansion_t;

/* recipient.c: the steps for a local name after those in skip; and one
 * destination's result, combined into the recipient's outcome. */
void local_deliver_name(local_state_t *st, const expansion_t *exp, int skip);
void leaf_result(local_state_t *st, int result, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A destination not seen before in this expansion (and now remembered);
 * 0 for a duplicate. Counts it against LOCAL_EXPANSION_LIMIT (bounce). */
int  destination_new(local_state_t *st, const char *key);

/* alias.c: alias_maps. */
void alias_init(void);
/* Delivers the recipient's alias ("user+ext", then "user") if it has one:
 * 1 handled (results recorded, also a deferral when a table failed), 0 no
 * alias. */
int  alias_deliver(local_state_t *st, const expansion_t *parent);

/* expand.c: destination lists. */
/* Delivers every destination of a list (alias value, lines of a file);
 * returns how many destinations it named. */
size_t expand_list(local_state_t *st, const expansion_t *exp, const char *list);
/* ~/.forward: 1 when a non-empty forward file was found and delivered. */
int  forward_file_deliver(local_state_t *st, const expansion_t *parent, const local_user_t *u);
/* Expands $user, $home, $shell, $recipient, $local, $domain,
 * ${extension}, ${recipient_delimiter} (also ${name?text}, ${name:text},
 * $$) for forward_path and command_execution_directory; in the values,
 * characters outside filter become '_'. *used_ext (may be NULL) tells
 * whether the extension went into the result. 0, or -1 when text names an
 * undefined attribute (as $extension without one) or an unknown one. */
int  local_expand(buf_t *out, const char *text, const local_state_t *st,
                  const local_ident_t *ident, const char *filter, int *used_ext);

/* command.c, file.c: one |command or /file destination. */
void command_deliver(local_state_t *st, const expansion_t *exp, const char *command);
void file_deliver(local_state_t *st, const expansion_t *exp, const char *path);
/* The identity files and commands run as (default_privs for uid 0). */
void ident_effective(const local_ident_t *ident, uid_t *uid, gid_t *gid);

/* forward.c: addresses forwarded as new messages through cleanup. */
void forward_add(local_state_t *st, const expansion_t *exp, const char *address);
/* Submits the collected forwards (one message per sender); records the
 * results. */
void forward_flush(local_state_t *st);
void forward_free(local_state_t *st);

/* request.c: one connection from qmgr. */
void local_serve(service_t *svc, stream_t *client);

/* recipient.c: resolves one recipient and delivers it; fills out. */
void recipient_deliver(const local_msg_t *msg, const delivery_rcpt_t *rcpt,
                       local_outcome_t *out);

/* message.c: a bounded, counting writer over a file descriptor. */
typedef struct mail_out {
    int    fd;
    off_t  base;         /* file size before this message */
    off_t  written;      /* bytes accepted so far */
    long   limit;        /* base + written may not pass this; 0 = none */
    int    err;          /* first errno, sticky */
    size_t used;
    char   buf[65536];
} mail_out_t;

#define COPY_OK        0
#define COPY_WRITE_ERR (-1)  /* out->err holds the errno */
#define COPY_CORRUPT   (-2)  /* the queue file's content is malformed */

#define COPY_FROM_LINE (1 << 0)  /* "From sender  date" first */
#define COPY_QUOTE     (1 << 1)  /* ">" before body lines that begin with "From " */
#define COPY_BLANK     (1 << 2)  /* an empty line at the end */
#define COPY_MBOX      (COPY_FROM_LINE | COPY_QUOTE | COPY_BLANK)

void mail_out_init(mail_out_t *out, int fd, off_t base, long limit);
/* Writes the delivery headers and the message content; flushes. */
int  message_copy(mail_out_t *out, const local_delivery_t *d, int flags);
/* Collects the Delivered-To: values of the message header into
 * msg->delivered_to. 0, or -1 when the content is malformed. */
int  message_scan_delivered_to(local_msg_t *msg);

/* mailbox.c / maildir.c: one delivery; fill d->out. */
void mbox_deliver(const local_delivery_t *d, const char *path, int in_spool);
void maildir_deliver(const local_delivery_t *d, const char *dir);
/* fsync of a directory, so a new name in it survives a crash. 0 or -1. */
int  fsync_dir(const char *dir);

/* lock.c: mailbox locks, each retried local_cfg.lock_attempts times. */
int  lock_dotlock_acquire(const char *lock_path, buf_t *why);   /* 0 or -1 */
void lock_dotlock_release(const char *lock_path);
int  lock_file(int fd, buf_t *why);                             /* fcntl/flock per config */

#endif
