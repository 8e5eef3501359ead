/* notify: the sender's notices at the end of an attempt, built from the
 * per-message logs the agents wrote: non-delivery (bounce/ID, plus
 * defer/ID when the message expires), delivery status for NOTIFY=SUCCESS
 * (trace/ID), and the one delay warning when the W record falls due. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "dsn_log.h"
#include "log.h"
#include "qmgr.h"
#include "queue_file.h"

#define EXPIRED_STATUS  "4.7.0"
#define EXPIRED_REASON  "message is administratively expired"

typedef struct notice_list {
    notice_rcpt_t *items;
    size_t         count;
    size_t         cap;
} notice_list_t;

/* ---- Lists of recipients ---- */

static void notice_rcpt_free(notice_rcpt_t *n)
{
    free(n->recipient);
    free(n->orig_rcpt);
    free(n->dsn_orig_rcpt);
    free(n->status);
    free(n->reason);
}

static void notice_list_release(notice_list_t *list)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        notice_rcpt_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

static notice_rcpt_t *list_find(notice_list_t *list, long offset, const char *recipient)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        if (list->items[i].offset == offset && strcmp(list->items[i].recipient, recipient) == 0)
            return &list->items[i];
    return NULL;
}

static notice_rcpt_t *list_add(notice_list_t *list)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? size_mul(list->cap, 2) : 8;
        list->items = xreallocarray(list->items, list->cap, sizeof(*list->items));
    }
    return &list->items[list->count++];
}

/* Keeps the last entry per recipient: a log may hold several attempts. */
static void collect_entry(const dsn_entry_t *e, void *ctx)
{
    notice_list_t *list = ctx;
    notice_rcpt_t *n;

    if (e->recipient == NULL)
        return;
    n = list_find(list, e->offset, e->recipient);
    if (n != NULL)
        notice_rcpt_free(n);
    else
        n = list_add(list);
    n->recipient = xstrdup(e->recipient);
    n->orig_rcpt = dup_or_empty(e->orig_rcpt);
    n->dsn_orig_rcpt = dup_or_empty(e->dsn_orig_rcpt);
    n->status = dup_or_empty(e->status);
    n->reason = dup_or_empty(e->reason);
    n->offset = e->offset;
    n->notify_flags = e->notify_flags;
}

/* Reads a per-message log; -1 when it exists but cannot be read. */
static int collect_log(const char *queue, const char *id, notice_list_t *list)
{
    if (dsn_log_read(queue, id, collect_entry, list) == 0 || errno == ENOENT)
        return 0;
    msg_warn("%s: read %s log: %m", id, queue);
    return -1;
}

/* RFC 3461: NOTIFY=NEVER asks for nothing; no NOTIFY means FAILURE,DELAY. */
static int wants(long flags, long kind_flag)
{
    if (flags & DSN_NOTIFY_NEVER)
        return 0;
    if (flags == 0)
        return kind_flag != DSN_NOTIFY_SUCCESS;
    return (flags & kind_flag) != 0;
}

static void keep_wanted(notice_list_t *list, long kind_flag)
{
    size_t i, kept = 0;

    for (i = 0; i < list->count; i++) {
        if (wants(list->items[i].notify_flags, kind_flag))
            list->items[kept++] = list->items[i];
        else
            notice_rcpt_free(&list->items[i]);
    }
    list->count = kept;
}

/* ---- Sending ---- */

static const char *const notice_log_text[] = {
    [NOTICE_FAILURE] = "sender non-delivery notification",
    [NOTICE_DELAY] = "sender delay notification",
    [NOTICE_SUCCESS] = "sender delivery status notification",
};

/* Sends the notice when there is one to send. 0 when done with (sent or
 * nothing to send), -1 to keep the message and try again later. */
static int send_notice(const qmgr_message_t *msg, notice_kind_t kind, notice_list_t *list)
{
    buf_t new_id = BUF_INIT;

    if (list->count == 0)
        return 0;
    if (*msg->env.sender == 0) {
        /* A notice about a notice would loop: log it and drop it. */
        if (kind == NOTICE_FAILURE)
            msg_info("%s: undeliverable non-delivery notification discarded (null sender)",
                     msg->id);
        return 0;
    }
    if (notice_send(msg, kind, list->items, list->count, &new_id) < 0) {
        buf_release(&new_id);
        return -1;
    }
    msg_info("%s: %s: %s", msg->id, notice_log_text[kind], buf_str(&new_id));
    buf_release(&new_id);
    return 0;
}

/* ---- Non-delivery ---- */

/* A force-expired message returns every recipient still to do; those
 * without a deferral reason get the administrative one. */
static void add_expired_recipients(const qmgr_message_t *msg, notice_list_t *list)
{
    buf_t path = BUF_INIT;
    int fd;
    size_t i;

    queue_path(&path, QUEUE_ACTIVE, msg->id);
    fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    buf_release(&path);
    for (i = 0; i < msg->env.rcpt_count; i++) {
        const qmgr_rcpt_t *r = &msg->env.rcpts[i];
        notice_rcpt_t *n;

        if (list_find(list, r->offset, r->address) != NULL || !message_rcpt_todo(fd, r->offset))
            continue;
        n = list_add(list);
        n->recipient = xstrdup(r->address);
        n->orig_rcpt = xstrdup(r->orig_rcpt);
        n->dsn_orig_rcpt = xstrdup(r->dsn_orig_rcpt);
        n->status = xstrdup(EXPIRED_STATUS);
        n->reason = xstrdup(EXPIRED_REASON);
        n->offset = r->offset;
        n->notify_flags = r->notify_flags;
    }
    if (fd >= 0)
        close(fd);
}

int notify_failures(const qmgr_message_t *msg, int expire, int forced)
{
    notice_list_t list = { NULL, 0, 0 };
    int ok = collect_log(QUEUE_BOUNCE, msg->id, &list) == 0;

    if (expire)
        ok &= collect_log(QUEUE_DEFER, msg->id, &list) == 0;
    if (ok && expire && forced)
        add_expired_recipients(msg, &list);
    keep_wanted(&list, DSN_NOTIFY_FAILURE);
    ok = ok && send_notice(msg, NOTICE_FAILURE, &list) == 0;
    notice_list_release(&list);
    if (ok && dsn_log_remove(QUEUE_BOUNCE, msg->id) < 0)
        msg_warn("%s: remove bounce log: %m", msg->id);
    return ok ? 0 : -1;
}

/* ---- Delivery status (NOTIFY=SUCCESS) ---- */

int notify_successes(const qmgr_message_t *msg)
{
    notice_list_t list = { NULL, 0, 0 };
    int ok = collect_log(QUEUE_TRACE, msg->id, &list) == 0;

    keep_wanted(&list, DSN_NOTIFY_SUCCESS);
    ok = ok && send_notice(msg, NOTICE_SUCCESS, &list) == 0;
    notice_list_release(&list);
    if (ok && dsn_log_remove(QUEUE_TRACE, msg->id) < 0)
        msg_warn("%s: remove trace log: %m", msg->id);
    return ok ? 0 : -1;
}

/* ---- Delay warning ---- */

/* Rewrites the W record's number in place, same width: the file keeps
 * its size and every offset. 0 = no further warning. */
static int warn_update(const qmgr_message_t *msg, long when)
{
    buf_t path = BUF_INIT, text = BUF_INIT;
    int fd, ret = -1;

    buf_printf(&text, "%*ld", (int) msg->env.warn_len, when);
    if (text.len != msg->env.warn_len) {
        errno = EOVERFLOW;
        goto out;
    }
    queue_path(&path, QUEUE_ACTIVE, msg->id);
    fd = open(path.data, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        goto out;
    /* fsync: a crash must not bring the warning back. */
    if (pwrite(fd, text.data, text.len, (off_t) msg->env.warn_offset) == (ssize_t) text.len
        && fsync(fd) == 0)
        ret = 0;
    if (close(fd) < 0)
        ret = -1;
out:
    buf_release(&path);
    buf_release(&text);
    return ret;
}

static int warning_due(const qmgr_message_t *msg, time_t now)
{
    const queue_info_t *env = &msg->env;

    return qmgr_conf.delay_warning_time > 0 && env->warn_offset > 0 && env->warn_len > 0
        && env->warn_time > 0 && (long) now >= env->warn_time;
}

void notify_delay(const qmgr_message_t *msg, time_t now)
{
    notice_list_t list = { NULL, 0, 0 };
    int ok;

    if (!warning_due(msg, now))
        return;
    /* defer/ID holds this attempt's reasons: one entry per delayed recipient. */
    ok = collect_log(QUEUE_DEFER, msg->id, &list) == 0;
    keep_wanted(&list, DSN_NOTIFY_DELAY);
    ok = ok && send_notice(msg, NOTICE_DELAY, &list) == 0;
    notice_list_release(&list);
    /* Not sent (cleanup unavailable): W stays due, the next attempt tries again. */
    if (ok && warn_update(msg, 0) < 0)
        msg_warn("%s: update the delay warning time: %m", msg->id);
}
