/* message: a queue file in the active queue. Takes a file from incoming/
 * or deferred/, reads its envelope under an exclusive lock, hands the
 * recipients to the scheduler, and once every delivery request is done
 * sends the non-delivery notice, then removes, expires or defers it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "dsn_log.h"
#include "log.h"
#include "qmgr.h"
#include "queue_file.h"
#include "record.h"
#include "resolve.h"

#define LOCKED_DELAY      60        /* seconds before a locked file is retried */
#define POINTER_JUMPS_MAX 10000     /* 'p' records followed per file */

static size_t active_count;

size_t message_active_count(void)
{
    return active_count;
}

double qmgr_now(void)
{
    struct timeval tv;

    if (gettimeofday(&tv, NULL) < 0)
        return (double) time(NULL);
    return (double) tv.tv_sec + (double) tv.tv_usec / 1e6;
}

static qmgr_message_t *message_new(const char *id)
{
    qmgr_message_t *msg = xcalloc(1, sizeof(*msg));

    msg->id = xstrdup(id);
    msg->sender = xstrdup("");
    msg->envid = xstrdup("");
    msg->client = xstrdup("");
    msg->active_since = qmgr_now();
    return msg;
}

static void message_free(qmgr_message_t *msg)
{
    size_t i;

    for (i = 0; i < msg->rcpt_count; i++) {
        free(msg->rcpts[i].address);
        free(msg->rcpts[i].orig_rcpt);
        free(msg->rcpts[i].dsn_orig_rcpt);
    }
    free(msg->rcpts);
    free(msg->id);
    free(msg->sender);
    free(msg->envid);
    free(msg->client);
    free(msg);
}

/* ---- Reading the envelope ---- */

/* What precedes a recipient record and belongs to it. */
typedef struct rcpt_pending {
    char *orig_rcpt;
    char *dsn_orig_rcpt;
    long  notify_flags;
} rcpt_pending_t;

typedef struct envelope_reader {
    qmgr_message_t *msg;
    int             queue_fd;
    rcpt_pending_t  pending;
    size_t          rcpt_cap;
    char           *client_name;
    char           *client_addr;
    rec_size_info_t size;
} envelope_reader_t;

static void pending_clear(rcpt_pending_t *p)
{
    free(p->orig_rcpt);
    free(p->dsn_orig_rcpt);
    p->orig_rcpt = NULL;
    p->dsn_orig_rcpt = NULL;
    p->notify_flags = 0;
}

static void replace_str(char **dst, const rec_t *rec)
{
    free(*dst);
    *dst = xstrndup(rec->data, rec->len);
}

/* A decimal number in a record, whole; -1 when it is not one. */
static int rec_long(const rec_t *rec, long *value)
{
    char text[32];
    char *end;

    if (rec->len == 0 || rec->len >= sizeof(text))
        return -1;
    memcpy(text, rec->data, rec->len);
    text[rec->len] = 0;
    errno = 0;
    *value = strtol(text, &end, 10);
    while (*end == ' ')
        end++;
    return errno == 0 && *end == 0 ? 0 : -1;
}

static void read_time(envelope_reader_t *r, const rec_t *rec)
{
    char text[64];
    long sec = 0, usec = 0;

    if (rec->len == 0 || rec->len >= sizeof(text))
        return;
    memcpy(text, rec->data, rec->len);
    text[rec->len] = 0;
    if (sscanf(text, "%ld %ld", &sec, &usec) >= 1 && sec > 0) {
        r->msg->arrival_sec = sec;
        r->msg->arrival_usec = usec >= 0 && usec < 1000000 ? usec : 0;
    }
}

static void read_attr(envelope_reader_t *r, const rec_t *rec)
{
    const char *eq = memchr(rec->data, '=', rec->len);
    size_t nlen, vlen;
    const char *value;

    if (eq == NULL)
        return;
    nlen = (size_t) (eq - rec->data);
    value = eq + 1;
    vlen = rec->len - nlen - 1;
    if (nlen == 11 && memcmp(rec->data, "create_time", 11) == 0) {
        rec_t v = { REC_TYPE_ATTR, value, vlen, rec->offset };
        long t;

        if (rec_long(&v, &t) == 0 && t > 0)
            r->msg->create_time = t;
    } else if (nlen == 11 && memcmp(rec->data, "client_name", 11) == 0) {
        free(r->client_name);
        r->client_name = xstrndup(value, vlen);
    } else if (nlen == 14 && memcmp(rec->data, "client_address", 14) == 0) {
        free(r->client_addr);
        r->client_addr = xstrndup(value, vlen);
    }
}

/* Mail to the local double-bounce address is dropped here: it is a
 * postmaster notice that could not be delivered, and must not loop. */
static int is_double_bounce(const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t lplen = at ? (size_t) (at - addr) : strlen(addr);
    const char *db = qmgr_conf.double_bounce_sender;

    if (strlen(db) != lplen || strncasecmp(addr, db, lplen) != 0)
        return 0;
    return at == NULL || resolve_local_domain(at + 1);
}

static void read_recipient(envelope_reader_t *r, const rec_t *rec)
{
    qmgr_message_t *msg = r->msg;
    qmgr_rcpt_t *rcpt;
    char *addr = xstrndup(rec->data, rec->len);

    if (is_double_bounce(addr)) {
        msg_warn("%s: undeliverable postmaster notification discarded", msg->id);
        if (queue_mark_done(r->queue_fd, (long) rec->offset) < 0)
            msg_warn("%s: mark recipient done at offset %zu: %m", msg->id, rec->offset);
        free(addr);
        pending_clear(&r->pending);
        return;
    }
    if (msg->rcpt_count == r->rcpt_cap) {
        r->rcpt_cap = r->rcpt_cap ? size_mul(r->rcpt_cap, 2) : 8;
        msg->rcpts = xreallocarray(msg->rcpts, r->rcpt_cap, sizeof(*msg->rcpts));
    }
    rcpt = &msg->rcpts[msg->rcpt_count++];
    rcpt->offset = (long) rec->offset;
    rcpt->address = addr;
    rcpt->orig_rcpt = r->pending.orig_rcpt ? r->pending.orig_rcpt : xstrdup("");
    rcpt->dsn_orig_rcpt = r->pending.dsn_orig_rcpt ? r->pending.dsn_orig_rcpt : xstrdup("");
    rcpt->notify_flags = r->pending.notify_flags;
    r->pending.orig_rcpt = NULL;
    r->pending.dsn_orig_rcpt = NULL;
    r->pending.notify_flags = 0;
}

/* Envelope records, in either the envelope or the extracted segment. */
static void read_envelope_record(envelope_reader_t *r, const rec_t *rec)
{
    long value;

    switch (rec->type) {
    case REC_TYPE_TIME:
        read_time(r, rec);
        break;
    case REC_TYPE_ATTR:
        read_attr(r, rec);
        break;
    case REC_TYPE_FROM:
        replace_str(&r->msg->sender, rec);
        break;
    case REC_TYPE_DSN_RET:
        if (rec_long(rec, &value) == 0)
            r->msg->dsn_ret = value;
        break;
    case REC_TYPE_DSN_ENVID:
        replace_str(&r->msg->envid, rec);
        break;
    case REC_TYPE_DSN_ORCPT:
        replace_str(&r->pending.dsn_orig_rcpt, rec);
        break;
    case REC_TYPE_DSN_NOTIFY:
        if (rec_long(rec, &value) == 0)
            r->pending.notify_flags = value;
        break;
    case REC_TYPE_ORCP:
        replace_str(&r->pending.orig_rcpt, rec);
        break;
    case REC_TYPE_RCPT:
        read_recipient(r, rec);
        break;
    case REC_TYPE_DONE:
    case REC_TYPE_DRCP:
        pending_clear(&r->pending);
        break;
    default:
        break;
    }
}

/* A 'p' record points where reading goes on (0 = placeholder). */
static int follow_pointer(const rec_t *rec, size_t size, size_t *pos, int *jumps)
{
    long target;

    if (rec_long(rec, &target) < 0)
        return -1;
    if (target == 0)
        return 0;
    if (target < 0 || (size_t) target >= size || ++*jumps > POINTER_JUMPS_MAX)
        return -1;
    *pos = (size_t) target;
    return 0;
}

/* Walks every record. 0, or -1 when the file is malformed (no C record
 * first, a broken record, no E at the end). */
static int read_envelope(envelope_reader_t *r, const queue_map_t *qm)
{
    size_t pos = 0;
    rec_t rec;
    int in_content = 0;
    int jumps = 0;
    int got;

    if (rec_parse(qm->data, qm->size, &pos, &rec) != 1 || rec.type != REC_TYPE_SIZE
        || rec_size_parse(rec.data, rec.len, &r->size) < 0)
        return -1;
    while ((got = rec_parse(qm->data, qm->size, &pos, &rec)) == 1) {
        if (rec.type == REC_TYPE_END)
            return 0;
        if (rec.type == REC_TYPE_PTR) {
            if (follow_pointer(&rec, qm->size, &pos, &jumps) < 0)
                return -1;
        } else if (rec.type == REC_TYPE_MESG) {
            in_content = 1;
        } else if (rec.type == REC_TYPE_XTRA) {
            in_content = 0;
        } else if (!in_content) {
            read_envelope_record(r, &rec);
        }
    }
    return -1;
}

/* Fills what the records did not say. */
static void envelope_finish(envelope_reader_t *r, const queue_map_t *qm)
{
    qmgr_message_t *msg = r->msg;

    if (msg->arrival_sec == 0)
        msg->arrival_sec = (long) qm->st.st_mtime;
    if (msg->create_time == 0)
        msg->create_time = msg->arrival_sec;
    msg->data_offset = r->size.data_offset;
    msg->content_size = r->size.content_size;
    if (r->client_name && r->client_addr) {
        buf_t client = BUF_INIT;

        buf_printf(&client, "%s[%s]", r->client_name, r->client_addr);
        free(msg->client);
        msg->client = buf_steal(&client);
    }
}

static void reader_release(envelope_reader_t *r)
{
    pending_clear(&r->pending);
    free(r->client_name);
    free(r->client_addr);
}

/* ---- Taking a file ---- */

static void save_corrupt(const char *id)
{
    msg_warn("saving corrupt file \"%s\" from queue \"%s\" to queue \"%s\"",
             id, QUEUE_ACTIVE, QUEUE_CORRUPT);
    if (queue_move(QUEUE_ACTIVE, QUEUE_CORRUPT, id) < 0)
        msg_warn("%s: move to %s: %m", id, QUEUE_CORRUPT);
}

/* Sets a file's atime and mtime: for deferred and put-back files the
 * mtime is when the next attempt is due. */
static int set_next_attempt(const char *path, time_t when)
{
    struct timeval tv[2];

    tv[0].tv_sec = tv[1].tv_sec = when;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    return utimes(path, tv);
}

/* Someone else still holds the file (an agent of an earlier qmgr, or
 * a shortage of descriptors): put it back and look again later. */
static void put_back(const char *id, const char *path)
{
    if (set_next_attempt(path, time(NULL) + LOCKED_DELAY) < 0)
        msg_warn("%s: set time stamps: %m", path);
    if (queue_move(QUEUE_ACTIVE, QUEUE_INCOMING, id) < 0)
        msg_warn("%s: move from %s to %s: %m", id, QUEUE_ACTIVE, QUEUE_INCOMING);
    scan_retry_locked_later();
}

static int open_locked(const char *id, const char *path, queue_map_t *qm)
{
    if (queue_map_open(path, 2, qm) == 0)
        return 0;
    if (errno == ENOENT)
        return -1;              /* removed meanwhile (postsuper) */
    if (errno == EWOULDBLOCK || errno == EAGAIN || errno == EMFILE
        || errno == ENFILE || errno == ENOMEM) {
        msg_debug("%s: busy (%m): retrying later", id);
        put_back(id, path);
        return -1;
    }
    msg_warn("%s: open %s: %m", id, path);
    save_corrupt(id);
    return -1;
}

static qmgr_message_t *message_read(const char *id, const char *path)
{
    queue_map_t qm;
    envelope_reader_t r;
    qmgr_message_t *msg;
    int ok;

    if (open_locked(id, path, &qm) < 0)
        return NULL;
    memset(&r, 0, sizeof(r));
    msg = message_new(id);
    r.msg = msg;
    r.queue_fd = qm.fd;
    ok = read_envelope(&r, &qm) == 0;
    if (ok)
        envelope_finish(&r, &qm);
    reader_release(&r);
    /* The lock goes with the descriptor: agents open the file themselves. */
    queue_map_close(&qm);
    if (!ok) {
        save_corrupt(id);
        message_free(msg);
        return NULL;
    }
    return msg;
}

void message_activate(const char *queue, const char *id)
{
    buf_t path = BUF_INIT;
    qmgr_message_t *msg;

    if (queue_move(queue, QUEUE_ACTIVE, id) < 0) {
        if (errno != ENOENT)
            msg_warn("%s: move from %s to %s: %m", id, queue, QUEUE_ACTIVE);
        return;
    }
    queue_path(&path, QUEUE_ACTIVE, id);
    msg = message_read(id, path.data);
    buf_release(&path);
    if (msg == NULL)
        return;
    /* Reasons are logged afresh by this attempt; older ones would make
     * mailq and expiry notices show stale text. */
    if (dsn_log_remove(QUEUE_DEFER, id) < 0)
        msg_warn("%s: remove defer log: %m", id);
    msg_info("%s: from=<%s>, size=%ld, nrcpt=%zu (queue active)",
             msg->id, msg->sender, msg->content_size, msg->rcpt_count);
    active_count++;
    /* Hold the message while the scheduler takes its recipients, so that
     * immediate deferrals cannot finish it under our feet. */
    msg->refcount = 1;
    sched_add(msg);
    message_release(msg);
}

/* ---- When every delivery request is done ---- */

typedef struct notice_list {
    notice_rcpt_t *items;
    size_t         count;
    size_t         cap;
} notice_list_t;

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

/* Keeps the last entry per recipient: a log may hold several attempts. */
static void collect_entry(const dsn_entry_t *e, void *ctx)
{
    notice_list_t *list = ctx;
    notice_rcpt_t *n = NULL;
    size_t i;

    if (e->recipient == NULL)
        return;
    for (i = 0; i < list->count && n == NULL; i++) {
        if (list->items[i].offset == e->offset
            && strcmp(list->items[i].recipient, e->recipient) == 0) {
            n = &list->items[i];
            notice_rcpt_free(n);
        }
    }
    if (n == NULL) {
        if (list->count == list->cap) {
            list->cap = list->cap ? size_mul(list->cap, 2) : 8;
            list->items = xreallocarray(list->items, list->cap, sizeof(*list->items));
        }
        n = &list->items[list->count++];
    }
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

/* NOTIFY=NEVER, or NOTIFY without FAILURE, means no failure notice. */
static int wants_failure_notice(long flags)
{
    if (flags & DSN_NOTIFY_NEVER)
        return 0;
    return flags == 0 || (flags & DSN_NOTIFY_FAILURE) != 0;
}

static void drop_unwanted(notice_list_t *list)
{
    size_t i, kept = 0;

    for (i = 0; i < list->count; i++) {
        if (wants_failure_notice(list->items[i].notify_flags))
            list->items[kept++] = list->items[i];
        else
            notice_rcpt_free(&list->items[i]);
    }
    list->count = kept;
}

/* Sends the notice when there is one to send. 0 when done with (sent or
 * nothing to send), -1 to keep the message and try again later. */
static int send_notice(const qmgr_message_t *msg, notice_list_t *list)
{
    buf_t new_id = BUF_INIT;

    drop_unwanted(list);
    if (list->count == 0)
        return 0;
    if (*msg->sender == 0) {
        /* A bounce of a bounce would loop: log it and drop it. */
        msg_info("%s: undeliverable non-delivery notification discarded (null sender)", msg->id);
        return 0;
    }
    if (bounce_send_notice(msg, list->items, list->count, &new_id) < 0) {
        buf_release(&new_id);
        return -1;
    }
    msg_info("%s: sender non-delivery notification: %s", msg->id, buf_str(&new_id));
    buf_release(&new_id);
    return 0;
}

static int message_expired(const qmgr_message_t *msg, time_t now)
{
    long lifetime = *msg->sender ? qmgr_conf.maximal_queue_lifetime
                                 : qmgr_conf.bounce_queue_lifetime;

    return (long) now >= msg->create_time + lifetime;
}

static void message_remove(const qmgr_message_t *msg)
{
    buf_t path = BUF_INIT;

    queue_path(&path, QUEUE_ACTIVE, msg->id);
    if (unlink(path.data) < 0 && errno != ENOENT) {
        msg_warn("%s: remove %s: %m", msg->id, path.data);
        buf_release(&path);
        return;
    }
    buf_release(&path);
    if (dsn_log_remove(QUEUE_DEFER, msg->id) < 0)
        msg_warn("%s: remove defer log: %m", msg->id);
    if (dsn_log_remove(QUEUE_BOUNCE, msg->id) < 0)
        msg_warn("%s: remove bounce log: %m", msg->id);
    msg_info("%s: removed", msg->id);
}

/* The next attempt waits as long as the message has been queued, within
 * [minimal_backoff_time, maximal_backoff_time]: the interval doubles. */
static void message_defer(const qmgr_message_t *msg, time_t now)
{
    buf_t path = BUF_INIT;
    long delay = (long) now - msg->create_time;

    if (delay < qmgr_conf.minimal_backoff_time)
        delay = qmgr_conf.minimal_backoff_time;
    if (delay > qmgr_conf.maximal_backoff_time)
        delay = qmgr_conf.maximal_backoff_time;
    queue_path(&path, QUEUE_ACTIVE, msg->id);
    /* Stamp first, then move: a deferred file must never look due early. */
    if (set_next_attempt(path.data, now + delay) < 0)
        msg_warn("%s: set time stamps: %m", path.data);
    if (queue_move(QUEUE_ACTIVE, QUEUE_DEFERRED, msg->id) < 0)
        msg_warn("%s: move from %s to %s: %m", msg->id, QUEUE_ACTIVE, QUEUE_DEFERRED);
    buf_release(&path);
}

static void message_finish(qmgr_message_t *msg)
{
    notice_list_t list = { NULL, 0, 0 };
    time_t now = time(NULL);
    int expire = msg->deferred && !qmgr_conf.soft_bounce && message_expired(msg, now);
    int logs_ok = collect_log(QUEUE_BOUNCE, msg->id, &list) == 0;
    int notice_ok;

    if (expire) {
        msg_info("%s: from=<%s>, status=expired, returned to sender", msg->id, msg->sender);
        logs_ok &= collect_log(QUEUE_DEFER, msg->id, &list) == 0;
    }
    notice_ok = logs_ok && send_notice(msg, &list) == 0;
    notice_list_release(&list);
    if (notice_ok && dsn_log_remove(QUEUE_BOUNCE, msg->id) < 0)
        msg_warn("%s: remove bounce log: %m", msg->id);

    if (!notice_ok || (msg->deferred && !expire))
        message_defer(msg, now);
    else
        message_remove(msg);
    active_count--;
    message_free(msg);
    scan_feed_kick();
}

void message_release(qmgr_message_t *msg)
{
    if (msg->refcount == 0)
        msg_panic("%s: message_release: no reference left", msg->id);
    if (--msg->refcount == 0)
        message_finish(msg);
}
