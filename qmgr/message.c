/* message: a queue file in the active queue. Takes a file from incoming/
 * or deferred/, reads its envelope (lib/queue_info) under an exclusive
 * lock, hands the recipients to the scheduler (unless postsuper -e marked
 * it), and once every delivery request is done has the sender's notices
 * sent (notify.c), then removes, expires or defers it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
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

static void message_free(qmgr_message_t *msg)
{
    queue_info_free(&msg->env);
    free(msg->id);
    free(msg->client);
    free(msg);
}

int message_rcpt_todo(int fd, long offset)
{
    char type;

    if (fd < 0 || pread(fd, &type, 1, (off_t) offset) != 1)
        return 1;
    return type == REC_TYPE_RCPT;
}

/* ---- From the envelope to a message ---- */

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

static void rcpt_free(qmgr_rcpt_t *r)
{
    free(r->address);
    free(r->orig_rcpt);
    free(r->dsn_orig_rcpt);
}

/* Keeps the recipients still to do, in file order; double-bounce ones are
 * marked done in the file (fd: the locked queue file) and dropped. */
static void keep_recipients_to_do(qmgr_message_t *msg, int fd)
{
    queue_info_t *env = &msg->env;
    size_t i, kept = 0;

    for (i = 0; i < env->rcpt_count; i++) {
        qmgr_rcpt_t *r = &env->rcpts[i];

        if (!r->done && is_double_bounce(r->address)) {
            msg_warn("%s: undeliverable postmaster notification discarded", msg->id);
            if (queue_mark_done(fd, r->offset) < 0)
                msg_warn("%s: mark recipient done at offset %ld: %m", msg->id, r->offset);
            r->done = 1;
        }
        if (r->done)
            rcpt_free(r);
        else
            env->rcpts[kept++] = *r;
    }
    env->rcpt_count = env->rcpt_todo = kept;
}

/* Builds the message from a mapped, locked queue file; NULL when the file
 * is not a whole queue file (no C record first, a broken record, no E). */
static qmgr_message_t *message_from_file(const char *id, const queue_map_t *qm)
{
    qmgr_message_t *msg;
    queue_info_t env;

    if (queue_info_parse(qm->data, qm->size, &qm->st, &env) < 0)
        return NULL;
    if (!env.has_size) {
        queue_info_free(&env);
        return NULL;
    }
    msg = xcalloc(1, sizeof(*msg));
    msg->id = xstrdup(id);
    msg->env = env;
    msg->active_since = qmgr_now();
    if (*env.client_name && *env.client_address) {
        buf_t client = BUF_INIT;

        buf_printf(&client, "%s[%s]", env.client_name, env.client_address);
        msg->client = buf_steal(&client);
    } else {
        msg->client = xstrdup("");
    }
    keep_recipients_to_do(msg, qm->fd);
    return msg;
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
    qmgr_message_t *msg;

    if (open_locked(id, path, &qm) < 0)
        return NULL;
    msg = message_from_file(id, &qm);
    /* The lock goes with the descriptor: agents open the file themselves. */
    queue_map_close(&qm);
    if (msg == NULL)
        save_corrupt(id);
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
    /* soft_bounce returns nothing: such a message is simply tried again. */
    msg->force_expire = queue_info_forced_expire(&msg->env) && !qmgr_conf.soft_bounce;
    /* Reasons are logged afresh by this attempt; older ones would make
     * mailq and expiry notices show stale text. A force-expired message
     * is not tried again: its last reasons go into the notice. */
    if (!msg->force_expire && dsn_log_remove(QUEUE_DEFER, id) < 0)
        msg_warn("%s: remove defer log: %m", id);
    msg_info("%s: from=<%s>, size=%ld, nrcpt=%zu (queue active)",
             msg->id, msg->env.sender, msg->env.size.content_size, msg->env.rcpt_count);
    active_count++;
    /* Hold the message while the scheduler takes its recipients, so that
     * immediate deferrals cannot finish it under our feet. */
    msg->refcount = 1;
    if (msg->force_expire)
        msg->deferred = msg->env.rcpt_count > 0;
    else
        sched_add(msg);
    message_release(msg);
}

/* ---- When every delivery request is done ---- */

static int message_expired(const qmgr_message_t *msg, time_t now)
{
    long lifetime = *msg->env.sender ? qmgr_conf.maximal_queue_lifetime
                                     : qmgr_conf.bounce_queue_lifetime;

    return (long) now >= msg->env.create_time + lifetime;
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
    if (dsn_log_remove(QUEUE_TRACE, msg->id) < 0)
        msg_warn("%s: remove trace log: %m", msg->id);
    msg_info("%s: removed", msg->id);
}

/* The next attempt waits as long as the message has been queued, within
 * [minimal_backoff_time, maximal_backoff_time]: the interval doubles. */
static void message_defer(const qmgr_message_t *msg, time_t now)
{
    buf_t path = BUF_INIT;
    long delay = (long) now - msg->env.create_time;

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

/* postsuper -e may mark the file while it is being delivered. */
static int expire_mark_now(const qmgr_message_t *msg)
{
    buf_t path = BUF_INIT;
    struct stat st;
    int marked;

    queue_path(&path, QUEUE_ACTIVE, msg->id);
    marked = lstat(path.data, &st) == 0 && (st.st_mode & QUEUE_MODE_EXPIRE) != 0;
    buf_release(&path);
    return marked;
}

/* The attempt is over: notices first (a message is kept until they are
 * sent), then expire, defer or remove. */
static void message_finish(qmgr_message_t *msg)
{
    time_t now = time(NULL);
    int forced = msg->deferred && (msg->force_expire || expire_mark_now(msg));
    int expire = msg->deferred && !qmgr_conf.soft_bounce && (forced || message_expired(msg, now));
    int notices_ok;

    if (expire)
        msg_info("%s: from=<%s>, status=%s, returned to sender", msg->id, msg->env.sender,
                 forced ? "force-expired" : "expired");
    notices_ok = notify_failures(msg, expire, forced) == 0;
    /* Not &&: a failed non-delivery notice must not hold back the others. */
    notices_ok &= notify_successes(msg) == 0;
    if (msg->deferred && !expire)
        notify_delay(msg, now);

    if (!notices_ok || (msg->deferred && !expire))
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
