/* structure: postsuper -s and -p. A short queue ID ends in the file's
 * inode number, so a queue restored from a backup (new inodes) gets its
 * files renamed to match, their per-message logs too; a file found in the
 * wrong hashed folder (hash_queue_names or hash_queue_depth changed) is
 * moved to the right one. -p removes temporary files ("usec.pid" names)
 * and files never marked complete, once nobody has written them for an
 * hour: far longer than any client or daemon may stay silent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "postsuper.h"
#include "queue_file.h"
#include "queue_scan.h"

#define STALE_AGE_SECONDS  3600
#define RENAME_TRIES       20
#define SHORT_ID_USEC_LEN  5

static const char *const structure_queues[] = {
    QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
};
static const char *const purge_queues[] = {
    QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct found {
    char       *id;
    char       *path;
    struct stat st;
} found_t;

typedef struct found_list {
    found_t *items;
    size_t   count;
    size_t   cap;
} found_list_t;

/* The whole folder is listed before anything is renamed, so that a moved
 * file is never met twice. */
static void list_queue(const char *queue, int flags, found_list_t *list)
{
    queue_scan_t *scan = queue_scan_open(queue, flags);
    queue_scan_entry_t e;

    memset(list, 0, sizeof(*list));
    while (queue_scan_next(scan, &e)) {
        if (list->count == list->cap) {
            list->cap = list->cap ? size_mul(list->cap, 2) : 64;
            list->items = xreallocarray(list->items, list->cap, sizeof(*list->items));
        }
        list->items[list->count].id = xstrdup(e.id);
        list->items[list->count].path = xstrdup(e.path);
        list->items[list->count].st = e.st;
        list->count++;
    }
    queue_scan_close(scan);
}

static void list_free(found_list_t *list)
{
    size_t i;

    for (i = 0; i < list->count; i++) {
        free(list->items[i].id);
        free(list->items[i].path);
    }
    free(list->items);
}

/* ---- -s: inode names ---- */

static int is_short_id(const char *id)
{
    size_t n;

    for (n = 0; id[n]; n++)
        if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'A' && id[n] <= 'F')))
            return 0;
    return n > SHORT_ID_USEC_LEN;
}

static int name_matches_inode(const char *id, ino_t inode)
{
    char *end;
    unsigned long long value;

    errno = 0;
    value = strtoull(id + SHORT_ID_USEC_LEN, &end, 16);
    return errno == 0 && *end == 0 && value == (unsigned long long) inode;
}

/* Moves the defer/bounce/trace log of old_id to new_id, if there is one. */
static void rename_logs(const char *old_id, const char *new_id)
{
    static const char *const logs[] = { "defer", "bounce", "trace" };
    buf_t from = BUF_INIT;
    size_t i;

    for (i = 0; i < COUNT(logs); i++) {
        queue_path(&from, logs[i], old_id);
        if (move_to_queue(from.data, logs[i], new_id) < 0 && errno != ENOENT)
            msg_warn("%s: rename %s to match %s: %m", old_id, from.data, new_id);
    }
    buf_release(&from);
}

/* Keeps the microsecond part of the old name when it is free. */
static int rename_to_inode(const char *queue, const found_t *f)
{
    buf_t id = BUF_INIT;
    long usec;
    int tries, ret = -1;
    char prefix[SHORT_ID_USEC_LEN + 1];

    memcpy(prefix, f->id, SHORT_ID_USEC_LEN);
    prefix[SHORT_ID_USEC_LEN] = 0;
    usec = strtol(prefix, NULL, 16);
    for (tries = 0; tries < RENAME_TRIES; tries++) {
        struct timeval tv;

        queue_id_make(&id, f->st.st_ino, usec);
        if (move_to_queue(f->path, queue, id.data) == 0) {
            rename_logs(f->id, id.data);
            msg_info("%s: renamed to match inode number: %s", f->id, id.data);
            ret = 0;
            break;
        }
        if (errno != EEXIST) {
            msg_warn("%s: rename %s: %m", f->id, f->path);
            break;
        }
        gettimeofday(&tv, NULL);
        usec = (long) tv.tv_usec;
    }
    buf_release(&id);
    return ret;
}

/* ---- -s: hash placement ---- */

static void fix_placement(const char *queue, const found_t *f)
{
    buf_t want = BUF_INIT;

    queue_path(&want, queue, f->id);
    if (strcmp(want.data, f->path) != 0) {
        if (move_to_queue(f->path, queue, f->id) == 0)
            msg_info("%s: moved from %s to %s", f->id, f->path, want.data);
        else
            msg_warn("%s: move %s to %s: %m", f->id, f->path, want.data);
    }
    buf_release(&want);
}

static long structure_queue(const char *queue)
{
    found_list_t list;
    long renamed = 0;
    size_t i;

    list_queue(queue, 0, &list);
    for (i = 0; i < list.count; i++) {
        const found_t *f = &list.items[i];
        target_t t = { queue, f->id, f->path };
        int fd;

        if (is_short_id(f->id) && !name_matches_inode(f->id, f->st.st_ino)) {
            if ((fd = target_lock(&t)) < 0)
                continue;
            if (rename_to_inode(queue, f) == 0)
                renamed++;
            close(fd);
        } else {
            fix_placement(queue, f);
        }
    }
    list_free(&list);
    return renamed;
}

long structure_fix(void)
{
    long renamed = 0;
    size_t i;

    for (i = 0; i < COUNT(structure_queues); i++)
        renamed += structure_queue(structure_queues[i]);
    return renamed;
}

/* ---- -p ---- */

static void purge_queue(const char *queue, time_t now)
{
    found_list_t list;
    size_t i;

    list_queue(queue, QUEUE_SCAN_ALL, &list);
    for (i = 0; i < list.count; i++) {
        const found_t *f = &list.items[i];

        if (queue_id_valid(f->id) && queue_mode_complete(f->st.st_mode))
            continue;
        if ((long) (now - f->st.st_mtime) < STALE_AGE_SECONDS)
            continue;                       /* perhaps still being written */
        if (unlink(f->path) < 0) {
            if (errno != ENOENT)
                msg_warn("remove stale file %s: %m", f->path);
            continue;
        }
        msg_info("removed stale temporary file %s", f->path);
    }
    list_free(&list);
}

void purge_stale(void)
{
    time_t now = time(NULL);
    size_t i;

    for (i = 0; i < COUNT(purge_queues); i++)
        purge_queue(purge_queues[i], now);
}
