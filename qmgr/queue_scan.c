/* queue_scan: finds work for the active queue. Walks incoming/ and
 * deferred/ (and their hashed subfolders) lazily, one entry at a time, so
 * that memory stays bounded and a scan never blocks the loop for long;
 * takes the files named by 'N' triggers first; alternates incoming and
 * deferred within qmgr_message_active_limit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"
#include "buf.h"
#include "event.h"
#include "log.h"
#include "qmgr.h"
#include "queue_file.h"
#include "queue_scan.h"

#define FEED_BATCH          100     /* messages taken per loop turn */
#define NEW_IDS_MAX         10000   /* 'N' triggers remembered */
#define LOCKED_RETRY_MS     61000   /* a locked file comes back after 60s */

/* One pass over a queue folder (lib/queue_scan does the walk: complete
 * files with a queue-ID name, and, unless this pass ignores time stamps,
 * only those whose mtime is due: a deferred or put-back file's mtime is
 * its next-attempt time). */
typedef struct scanner {
    const char   *queue;
    int           again;            /* restart when this pass ends */
    int           ignore_mtime;     /* this pass takes future files too */
    queue_scan_t *walk;             /* NULL when no pass is under way */
} scanner_t;

static scanner_t incoming_scan = { .queue = QUEUE_INCOMING };
static scanner_t deferred_scan = { .queue = QUEUE_DEFERRED };
static int ignore_mtime_next;       /* 'A' seen: for the next deferred pass */
static int feed_deferred_turn;

/* Queue IDs from 'N' triggers, oldest first. */
static char **new_ids;
static size_t new_head, new_count, new_cap;

static void scan_stop(scanner_t *sc)
{
    queue_scan_close(sc->walk);
    sc->walk = NULL;
}

static void scan_start(scanner_t *sc)
{
    scan_stop(sc);
    sc->again = 0;
    if (sc == &deferred_scan) {
        sc->ignore_mtime = ignore_mtime_next;
        ignore_mtime_next = 0;
    }
    sc->walk = queue_scan_open(sc->queue, sc->ignore_mtime ? 0 : QUEUE_SCAN_DUE);
    if (queue_scan_error(sc->walk) != 0) {
        errno = queue_scan_error(sc->walk);
        msg_warn("open directory %s: %m", sc->queue);
    }
}

/* A scan that is under way restarts from the top when it ends, so that
 * files added behind its position are not missed. */
static void scan_request(scanner_t *sc)
{
    if (sc->walk != NULL)
        sc->again = 1;
    else
        scan_start(sc);
}

void scan_request_incoming(void)
{
    scan_request(&incoming_scan);
}

void scan_request_deferred(void)
{
    scan_request(&deferred_scan);
}

void scan_ignore_mtime_next(void)
{
    ignore_mtime_next = 1;
}

/* Next queue ID of this pass in id; 0 when the pass is over. */
static int scan_next(scanner_t *sc, buf_t *id, time_t now)
{
    queue_scan_entry_t entry;

    while (sc->walk != NULL) {
        queue_scan_set_due(sc->walk, now);
        if (queue_scan_next(sc->walk, &entry)) {
            buf_set(id, entry.id);
            return 1;
        }
        scan_stop(sc);
        if (sc->again)
            scan_start(sc);
    }
    return 0;
}

void scan_add_new(const char *id)
{
    if (new_count >= NEW_IDS_MAX) {
        /* Too many to remember: the incoming scan finds them all. */
        scan_request_incoming();
        return;
    }
    if (new_head + new_count == new_cap) {
        if (new_head > 0) {
            memmove(new_ids, new_ids + new_head, new_count * sizeof(*new_ids));
            new_head = 0;
        } else {
            new_cap = new_cap ? size_mul(new_cap, 2) : 64;
            new_ids = xreallocarray(new_ids, new_cap, sizeof(*new_ids));
        }
    }
    new_ids[new_head + new_count++] = xstrdup(id);
}

static char *new_id_pop(void)
{
    char *id;

    if (new_count == 0)
        return NULL;
    id = new_ids[new_head++];
    if (--new_count == 0)
        new_head = 0;
    return id;
}

/* A file named by an 'N' trigger, taken only if a scan would take it. */
static int new_id_next(buf_t *id, time_t now)
{
    buf_t path = BUF_INIT;
    struct stat st;
    char *nid;
    int ready = 0;

    while (!ready && (nid = new_id_pop()) != NULL) {
        buf_reset(&path);
        queue_path(&path, QUEUE_INCOMING, nid);
        ready = queue_scan_file(path.data, QUEUE_SCAN_DUE, now, &st);
        buf_set(id, nid);
        free(nid);
    }
    buf_release(&path);
    return ready;
}

/* The next file to take: incoming (files named by triggers first, then
 * the scan) and deferred in turn, Postfix's fairness between new and old
 * mail. */
static int feed_next(buf_t *id, const char **queue, time_t now)
{
    int tries;

    for (tries = 0; tries < 2; tries++) {
        int deferred_turn = feed_deferred_turn;

        feed_deferred_turn = !feed_deferred_turn;
        if (deferred_turn) {
            if (scan_next(&deferred_scan, id, now)) {
                *queue = QUEUE_DEFERRED;
                return 1;
            }
        } else if (new_id_next(id, now) || scan_next(&incoming_scan, id, now)) {
            *queue = QUEUE_INCOMING;
            return 1;
        }
    }
    return 0;
}

static void feed(void *ctx)
{
    buf_t id = BUF_INIT;
    const char *queue;
    /* Not time(): that clock is coarse, and file systems with fine-grained
     * time stamps can give a file just committed an mtime a few
     * milliseconds "ahead" of it, which would read as a future file. */
    time_t now = (time_t) qmgr_now();
    int budget;

    (void) ctx;
    for (budget = FEED_BATCH; budget > 0; budget--) {
        if (message_active_count() >= (size_t) qmgr_conf.active_limit)
            break;
        if (!feed_next(&id, &queue, now))
            break;
        message_activate(queue, id.data);
    }
    buf_release(&id);
    /* A full batch: let triggers and agent replies in, then go on. */
    if (budget == 0)
        scan_feed_kick();
}

void scan_feed_kick(void)
{
    event_timer(0, feed, NULL);
}

static void locked_retry(void *ctx)
{
    (void) ctx;
    scan_request_incoming();
    scan_feed_kick();
}

void scan_retry_locked_later(void)
{
    event_timer(LOCKED_RETRY_MS, locked_retry, NULL);
}

static void deferred_timer(void *ctx)
{
    (void) ctx;
    scan_request_deferred();
    scan_feed_kick();
    event_timer(qmgr_timer_ms(qmgr_conf.queue_run_delay), deferred_timer, NULL);
}

/* Whatever was active when the previous qmgr stopped goes back to
 * incoming: its deliveries may or may not have finished, and the done
 * marks in the files say which. */
static void recover_active(void)
{
    queue_scan_t *walk = queue_scan_open(QUEUE_ACTIVE, 0);
    queue_scan_entry_t entry;
    int moved = 0;

    if (queue_scan_error(walk) != 0) {
        errno = queue_scan_error(walk);
        msg_warn("open directory %s: %m", QUEUE_ACTIVE);
    }
    while (queue_scan_next(walk, &entry)) {
        if (queue_move(QUEUE_ACTIVE, QUEUE_INCOMING, entry.id) < 0)
            msg_warn("%s: move from active to incoming: %m", entry.id);
        else
            moved++;
    }
    queue_scan_close(walk);
    if (moved > 0)
        msg_debug("moved %d file(s) from active back to incoming", moved);
}

void scan_startup(void)
{
    recover_active();
    scan_request_incoming();
    scan_request_deferred();
    scan_feed_kick();
    event_timer(qmgr_timer_ms(qmgr_conf.queue_run_delay), deferred_timer, NULL);
}
