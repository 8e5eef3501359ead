/* queue_file: queue IDs, queue folders and the durable queue-file life cycle.
 * All paths are relative to queue_directory (every daemon chdir()s there).
 * A file is born with mode 0600 under its final inode-based name and only
 * counts once its owner-execute bit is set (mode 0700): commit sets that
 * bit, then fsyncs, before anyone may answer "250 ... queued as". */
#ifndef FACTEUR_QUEUE_FILE_H
#define FACTEUR_QUEUE_FILE_H

#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"
#include "record.h"
#include "stream.h"

#define QUEUE_MAILDROP  "maildrop"
#define QUEUE_INCOMING  "incoming"
#define QUEUE_ACTIVE    "active"
#define QUEUE_DEFERRED  "deferred"
#define QUEUE_HOLD      "hold"
#define QUEUE_CORRUPT   "corrupt"
#define QUEUE_DEFER     "defer"
#define QUEUE_BOUNCE    "bounce"
#define QUEUE_TRACE     "trace"
#define QUEUE_SAVED     "saved"

#define QUEUE_ID_MAX    32

/* Short Postfix IDs: 5 upper-case hex digits of microseconds, then the
 * inode number in upper-case hex. */
void queue_id_make(buf_t *id, ino_t inode, long usec);
int  queue_id_valid(const char *id);       /* [0-9A-Za-z]{6,QUEUE_ID_MAX} */
/* "deferred/5/501F2A724A3" for hashed queues (hash_queue_names, depth
 * hash_queue_depth), "incoming/501F2A724A3" otherwise. */
void queue_path(buf_t *path, const char *queue, const char *id);
/* Whether a mode marks a complete queue file. */
int  queue_mode_complete(mode_t mode);     /* (mode & 0700) == 0700 */

/* A queue file being written (by cleanup). */
typedef struct queue_file {
    int       fd;
    char      id[QUEUE_ID_MAX + 1];
    char     *queue;
    char     *path;
    stream_t *out;
    long      offset;      /* bytes written so far (records) */
} queue_file_t;

/* Creates queue/<usec>.<pid> with O_EXCL (0600), names it after its inode
 * and renames it to its final name at once. NULL with errno on failure. */
queue_file_t *queue_file_create(const char *queue);
/* Appends a record and advances offset. */
void queue_file_put(queue_file_t *qf, int type, const void *data, size_t len);
void queue_file_puts(queue_file_t *qf, int type, const char *text);
void queue_file_printf(queue_file_t *qf, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Flushes, rewrites the C record at offset 0 from info, fchmod 0700,
 * fsync, close. 0 on success; -1 (errno set) and the file is removed. */
int  queue_file_commit(queue_file_t *qf, const rec_size_info_t *info);
/* Removes and frees an unfinished file. */
void queue_file_abort(queue_file_t *qf);
void queue_file_free(queue_file_t *qf);

/* Read side: a whole queue file mapped read-only. */
typedef struct queue_map {
    int         fd;          /* open O_RDWR so done-marks can be written */
    const char *data;
    size_t      size;
    struct stat st;
} queue_map_t;

/* Opens and maps path. lock: 0 none, 1 shared, 2 exclusive (flock, non-blocking:
 * -1 with errno EWOULDBLOCK when someone else holds it). */
int  queue_map_open(const char *path, int lock, queue_map_t *qm);
void queue_map_close(queue_map_t *qm);
/* Overwrites the type byte of the recipient record at offset with 'D'
 * (delivered or bounced). Checks that an 'R' is there first. 0 or -1. */
int  queue_mark_done(int fd, long offset);

/* Moves id from one queue to another (rename, creating a hashed subfolder
 * when needed). 0 or -1 with errno. */
int  queue_move(const char *from_queue, const char *to_queue, const char *id);
/* Creates every queue folder that is missing with owner uid/gid and
 * Postfix's modes (maildrop 1730, public 2710, pid root 0755 ...). Used by
 * `postfix start/check`. gid_postdrop -1 = use gid. Returns 0 or -1. */
int  queue_dirs_create(const char *queue_directory, uid_t uid, gid_t gid, gid_t gid_postdrop);

#endif
