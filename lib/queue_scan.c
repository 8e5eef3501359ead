/* queue_scan: a depth-first walk over one queue folder and its one-letter
 * hashed subfolders (0-9, A-F), yielding regular files; by default only
 * the complete queue files that readers may take, and with QUEUE_SCAN_DUE
 * only those whose mtime is not after the due limit. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "queue_file.h"
#include "queue_scan.h"

struct queue_scan {
    int    flags;
    time_t due;
    int    error;
    int    depth;
    DIR   *dirs[QUEUE_SCAN_DEPTH_MAX];
    buf_t  paths[QUEUE_SCAN_DEPTH_MAX];
    buf_t  path;                 /* of the entry last returned */
    buf_t  name;
};

static int scan_push(queue_scan_t *scan, const char *path)
{
    DIR *d = opendir(path);

    if (d == NULL)
        return -1;
    buf_set(&scan->paths[scan->depth], path);
    scan->dirs[scan->depth++] = d;
    return 0;
}

static void scan_pop(queue_scan_t *scan)
{
    scan->depth--;
    if (closedir(scan->dirs[scan->depth]) < 0)
        msg_warn("close directory %s: %m", buf_str(&scan->paths[scan->depth]));
    scan->dirs[scan->depth] = NULL;
}

queue_scan_t *queue_scan_open(const char *queue, int flags)
{
    queue_scan_t *scan = xcalloc(1, sizeof(*scan));
    int i;

    scan->flags = flags;
    for (i = 0; i < QUEUE_SCAN_DEPTH_MAX; i++)
        buf_init(&scan->paths[i]);
    buf_init(&scan->path);
    buf_init(&scan->name);
    if (scan_push(scan, queue) < 0 && errno != ENOENT)
        scan->error = errno;
    return scan;
}

void queue_scan_set_due(queue_scan_t *scan, time_t due)
{
    scan->due = due;
}

int queue_scan_error(const queue_scan_t *scan)
{
    return scan->error;
}

void queue_scan_close(queue_scan_t *scan)
{
    int i;

    if (scan == NULL)
        return;
    while (scan->depth > 0)
        scan_pop(scan);
    for (i = 0; i < QUEUE_SCAN_DEPTH_MAX; i++)
        buf_release(&scan->paths[i]);
    buf_release(&scan->path);
    buf_release(&scan->name);
    free(scan);
}

/* Hashed subfolders are named by one upper-case hex digit of the ID. */
static int is_hash_dir_name(const char *name)
{
    return name[0] != 0 && name[1] == 0
        && ((name[0] >= '0' && name[0] <= '9') || (name[0] >= 'A' && name[0] <= 'F'));
}

static void scan_descend(queue_scan_t *scan, const char *path)
{
    if (scan->depth >= QUEUE_SCAN_DEPTH_MAX)
        return;
    if (scan_push(scan, path) < 0)
        msg_warn("open directory %s: %m", path);
}

/* Whether a regular file is one the caller asked for. */
static int wanted(int flags, time_t due, const char *name, const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return 0;
    if (flags & QUEUE_SCAN_ALL)
        return 1;
    if (!queue_id_valid(name) || !queue_mode_complete(st->st_mode))
        return 0;
    return !(flags & QUEUE_SCAN_DUE) || st->st_mtime <= due;
}

int queue_scan_file(const char *path, int flags, time_t due, struct stat *st)
{
    const char *slash = strrchr(path, '/');

    /* lstat, not stat: a symlink planted in a queue is never followed. */
    if (lstat(path, st) < 0) {
        if (errno != ENOENT)
            msg_warn("stat %s: %m", path);
        return 0;
    }
    return wanted(flags, due, slash ? slash + 1 : path, st);
}

int queue_scan_next(queue_scan_t *scan, queue_scan_entry_t *entry)
{
    while (scan->depth > 0) {
        DIR *d = scan->dirs[scan->depth - 1];
        struct dirent *de;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                msg_warn("read directory %s: %m", buf_str(&scan->paths[scan->depth - 1]));
            scan_pop(scan);
            continue;
        }
        if (de->d_name[0] == '.')
            continue;
        buf_reset(&scan->path);
        buf_printf(&scan->path, "%s/%s", buf_str(&scan->paths[scan->depth - 1]), de->d_name);
        /* lstat, not stat: a symlink planted in a queue is never followed. */
        if (lstat(scan->path.data, &entry->st) < 0) {
            if (errno != ENOENT)
                msg_warn("stat %s: %m", scan->path.data);
            continue;
        }
        if (S_ISDIR(entry->st.st_mode)) {
            if (is_hash_dir_name(de->d_name))
                scan_descend(scan, scan->path.data);
            continue;
        }
        if (!wanted(scan->flags, scan->due, de->d_name, &entry->st))
            continue;
        buf_set(&scan->name, de->d_name);
        entry->id = scan->name.data;
        entry->path = scan->path.data;
        return 1;
    }
    return 0;
}
