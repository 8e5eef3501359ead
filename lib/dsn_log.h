/* dsn_log: the per-message logs defer/ID and bounce/ID (hashed like the
 * queue), in Postfix's plain format: per recipient a blank line, a human
 * line "<rcpt>: reason", then recipient= orig_rcpt= offset= dsn_orig_rcpt=
 * notify_flags= status= action= reason= lines and a blank line. Appends
 * are locked, fsync'd and truncated back on a failed write. mailq reads
 * reasons from defer/ID; bounce notices are built from bounce/ID. */
#ifndef FACTEUR_DSN_LOG_H
#define FACTEUR_DSN_LOG_H

typedef struct dsn_entry {
    const char *recipient;
    const char *orig_rcpt;       /* "" or NULL when the same */
    long        offset;
    const char *dsn_orig_rcpt;   /* "" or NULL */
    long        notify_flags;
    const char *status;          /* "4.4.1" */
    const char *action;          /* "delayed", "failed", "delivered" */
    const char *reason;
} dsn_entry_t;

/* queue is QUEUE_DEFER or QUEUE_BOUNCE. 0 or -1 (errno). */
int dsn_log_append(const char *queue, const char *id, const dsn_entry_t *e);
/* Calls fn for each complete entry (strings valid during the call).
 * 0, or -1 if the file cannot be read (ENOENT: no entries). */
int dsn_log_read(const char *queue, const char *id,
                 void (*fn)(const dsn_entry_t *e, void *ctx), void *ctx);
/* Removes the log; a missing file is not an error. */
int dsn_log_remove(const char *queue, const char *id);

#endif
