/* queue_scan: walks one queue folder (relative to the current directory,
 * or absolute) and its hashed subfolders, one file at a time. By default it
 * returns only complete queue files (regular, mode & 0700 == 0700, a valid
 * queue-ID name): what qmgr, mailq, qshape and postsuper may act on. With
 * QUEUE_SCAN_DUE it also skips files whose mtime is after a due limit
 * (qmgr: a deferred file's mtime is its next-attempt time). The walk is
 * lazy: one directory entry per step, so a scan may span many calls. */
#ifndef FACTEUR_QUEUE_SCAN_H
#define FACTEUR_QUEUE_SCAN_H

#include <sys/stat.h>
#include <time.h>

#define QUEUE_SCAN_ALL        (1 << 0)  /* every regular file: temporary names, incomplete files */
#define QUEUE_SCAN_DUE        (1 << 1)  /* only files with mtime <= the due limit */
#define QUEUE_SCAN_DEPTH_MAX  4         /* the folder plus hashed levels followed */

typedef struct queue_scan queue_scan_t;

typedef struct queue_scan_entry {
    const char *id;      /* the file name; valid until the next call */
    const char *path;    /* "deferred/5/501F2A724A3": the folder as given, then the name */
    struct stat st;      /* lstat() of path */
} queue_scan_entry_t;

/* Never NULL. A missing folder is an empty scan; a folder that cannot be
 * opened for another reason is an empty scan with queue_scan_error() set
 * (no warning: the caller decides what it means). */
queue_scan_t *queue_scan_open(const char *queue, int flags);
/* 1 with entry filled, 0 when the walk is over. Subfolders that cannot be
 * read are skipped with a warning. */
int  queue_scan_next(queue_scan_t *scan, queue_scan_entry_t *entry);
/* errno of a failed open of the top folder (ENOENT is not an error: 0). */
int  queue_scan_error(const queue_scan_t *scan);
void queue_scan_close(queue_scan_t *scan);
/* The due limit for QUEUE_SCAN_DUE (0 until set); may change between
 * calls of queue_scan_next. */
void queue_scan_set_due(queue_scan_t *scan, time_t due);

/* The same test for one file: 1 when path (its last component is the
 * name) is a file the walk would return with these flags and due limit,
 * with st filled; 0 otherwise (a stat error other than ENOENT warns). */
int  queue_scan_file(const char *path, int flags, time_t due, struct stat *st);

#endif
