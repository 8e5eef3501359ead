/* local: what the files of the local delivery agent share. One request
 * is one message (a mapped queue file) and its recipients; each recipient
 * is resolved in recipient.c and ends in one outcome (sent/deferred/bounced). */
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
} local_settings_t;

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
    const char            *delivered_to;   /* Delivered-To: value (lower-case, quoted) */
    const char            *original_to;    /* X-Original-To: value */
    const local_user_t    *user;
    local_outcome_t       *out;
} local_delivery_t;

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

#define COPY_MBOX      (1 << 0)  /* From_ line, >From quoting, blank line at end */

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
