/* queue_scan: finds work for the active queue. Walks incoming/ and
 * deferred/ (and their hashed subfolders) lazily, one entry at a time, so
 * that memory stays bounded and a scan never blocks the loop for long;
 * takes the files named by 'N' triggers first; alternates incoming and
 * deferred within qmgr_message_active_limit. */
#include <dirent.h>
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

#define SCAN_DEPTH_MAX      4       /* the queue folder plus hashed levels */
#define FEED_BATCH          100     /* messages taken per loop turn */
#define NEW_IDS_MAX         10000   /* 'N' triggers remembered */
#define LOCKED_RETRY_MS     61000   /* a locked file comes back after 60s */

typedef struct scanner {
    const char *queue;
    int    running;
    int    again;                   /* restart when this pass ends */
    int    ignore_mtime;            /* this pass takes future files too */
    int    depth;
    DIR   *dirs[SCAN_DEPTH_MAX];
    buf_t  paths[SCAN_DEPTH_MAX];
} scanner_t;

static scanner_t incoming_scan = { .queue = QUEUE_INCOMING };
static scanner_t deferred_scan = { .queue = QUEUE_DEFERRED };
static int ignore_mtime_next;       /* 'A' seen: for the next deferred pass */
static int feed_deferred_turn;

/* Queue IDs from 'N' triggers, oldest first. */
static char **new_ids;
static size_t new_head, new_count, new_cap;

static int scan_push_dir(scanner_t *sc, const char *path)
{
    DIR *d = opendir(path);

    if (d == NULL) {
        if (errno != ENOENT)
            msg_warn("open directory %s: %m", path);
        return -1;
    }
    buf_set(&sc->paths[sc->depth], path);
    sc->dirs[sc->depth++] = d;
    return 0;
}

static void scan_pop_dir(scanner_t *sc)
{
    sc->depth--;
    if (closedir(sc->dirs[sc->depth]) < 0)
        msg_warn("close directory %s: %m", buf_str(&sc->paths[sc->depth]));
    sc->dirs[sc->depth] = NULL;
}

static void scan_start(scanner_t *sc)
{
    while (sc->depth > 0)
        scan_pop_dir(sc);
    sc->again = 0;
    sc->running = scan_push_dir(sc, sc->queue) == 0;
    if (sc == &deferred_scan) {
        sc->ignore_mtime = ignore_mtime_next;
        ignore_mtime_next = 0;
    }
}

/* A scan that is under way restarts from the top when it ends, so that
 * files added behind its position are not missed. */
static void scan_request(scanner_t *sc)
{
    if (sc->running)
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

static int is_hash_dir_name(const char *name)
{
    return name[0] != 0 && name[1] == 0
        && ((name[0] >= '0' && name[0] <= '9') || (name[0] >= 'A' && name[0] <= 'F'));
}

/* Whether a folder entry is a queue file qmgr may take now. */
static int file_ready(const char *path, int ignore_mtime, time_t now)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        if (errno != ENOENT)
            msg_warn("stat %s: %m", path);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    /* Not yet committed: cleanup may still be writing it. */
    if (!queue_mode_complete(st.st_mode))
        return 0;
    /* The mtime of a deferred (or put back) file is its next-retry time. */
    if (!ignore_mtime && st.st_mtime > now)
        return 0;
    return 1;
}

static int scan_descend(scanner_t *sc, const char *path, const struct dirent *de)
{
    struct stat st;

    if (sc->depth >= SCAN_DEPTH_MAX)
        return 0;
    if (de->d_type != DT_DIR) {
        if (de->d_type != DT_UNKNOWN || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            return 0;
    }
    return scan_push_dir(sc, path) == 0;
}

/* Next queue ID of this pass in id; 0 when the pass is over. */
static int scan_next(scanner_t *sc, buf_t *id, time_t now)
{
    buf_t path = BUF_INIT;
    int found = 0;

    while (!found && sc->running) {
        struct dirent *de;

        if (sc->depth == 0) {
            sc->running = 0;
            if (sc->again)
                scan_start(sc);
            continue;
        }
        errno = 0;
        de = readdir(sc->dirs[sc->depth - 1]);
        if (de == NULL) {
            if (errno != 0)
                msg_warn("read directory %s: %m", buf_str(&sc->paths[sc->depth - 1]));
            scan_pop_dir(sc);
            continue;
        }
        if (de->d_name[0] == '.')
            continue;
        buf_reset(&path);
        buf_printf(&path, "%s/%s", buf_str(&sc->paths[sc->depth - 1]), de->d_name);
        if (is_hash_dir_name(de->d_name)) {
            (void) scan_descend(sc, path.data, de);
            continue;
        }
        if (queue_id_valid(de->d_name) && file_ready(path.data, sc->ignore_mtime, now)) {
            buf_set(id, de->d_name);
            found = 1;
        }
    }
    buf_release(&path);
    return found;
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
    char *nid;
    int ready = 0;

    while (!ready && (nid = new_id_pop()) != NULL) {
        buf_reset(&path);
        queue_path(&path, QUEUE_INCOMING, nid);
        ready = file_ready(path.data, 0, now);
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
    scanner_t active_scan = { .queue = QUEUE_ACTIVE };
    buf_t id = BUF_INIT;
    int moved = 0;
    int i;

    scan_start(&active_scan);
    active_scan.ignore_mtime = 1;
    while (scan_next(&active_scan, &id, time(NULL))) {
        if (queue_move(QUEUE_ACTIVE, QUEUE_INCOMING, id.data) < 0)
            msg_warn("%s: move from active to incoming: %m", id.data);
        else
            moved++;
    }
    for (i = 0; i < SCAN_DEPTH_MAX; i++)
        buf_release(&active_scan.paths[i]);
    buf_release(&id);
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
