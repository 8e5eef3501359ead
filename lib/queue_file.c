/* queue_file: Postfix queue IDs, hashed queue paths, and the durable life
 * cycle of a queue file (create under its final name, commit by mode bit
 * and fsync, map for reading, mark recipients done, move between queues). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "config.h"
#include "log.h"
#include "queue_file.h"

#define QUEUE_CREATE_TRIES  20
#define QUEUE_HASH_DEPTH_MAX 16

/* ------------------------------------------------------------------ */
/* IDs and paths                                                      */
/* ------------------------------------------------------------------ */

void queue_id_make(buf_t *id, ino_t inode, long usec)
{
    buf_reset(id);
    buf_printf(id, "%05lX%lX", (unsigned long) usec & 0xFFFFFUL, (unsigned long) inode);
}

int queue_id_valid(const char *id)
{
    size_t n;

    for (n = 0; id[n] != 0; n++) {
        char c = id[n];

        if (n >= QUEUE_ID_MAX)
            return 0;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return 0;
    }
    return n >= 6;
}

int queue_mode_complete(mode_t mode)
{
    return (mode & 0700) == 0700;
}

/* hash_queue_names and hash_queue_depth, read once per process. */
static argv_t *hash_names;
static long    hash_depth;

static void hash_config_load(void)
{
    if (hash_names != NULL)
        return;
    hash_names = config_list("hash_queue_names");
    hash_depth = config_int("hash_queue_depth");
    if (hash_depth < 0 || hash_depth > QUEUE_HASH_DEPTH_MAX)
        msg_fatal("bad hash_queue_depth: %ld", hash_depth);
}

static int queue_is_hashed(const char *queue)
{
    size_t i;

    hash_config_load();
    for (i = 0; i < hash_names->argc; i++)
        if (strcmp(hash_names->argv[i], queue) == 0)
            return 1;
    return 0;
}

/* The hashed subfolders of queue for id ("deferred/5/0"), without the file. */
static void queue_dir_of(buf_t *dir, const char *queue, const char *id)
{
    size_t idlen = strlen(id);
    long level;

    buf_set(dir, queue);
    if (!queue_is_hashed(queue))
        return;
    for (level = 0; level < hash_depth && (size_t) level < idlen; level++) {
        buf_putc(dir, '/');
        buf_putc(dir, id[level]);
    }
}

void queue_path(buf_t *path, const char *queue, const char *id)
{
    queue_dir_of(path, queue, id);
    buf_putc(path, '/');
    buf_puts(path, id);
}

/* Creates the hashed subfolders of queue for id (0700) where missing. */
static int queue_mkdirs(const char *queue, const char *id)
{
    buf_t dir = BUF_INIT;
    size_t i;
    int ret = 0;

    queue_dir_of(&dir, queue, id);
    for (i = strlen(queue) + 1; ret == 0 && i <= dir.len; i++) {
        if (i < dir.len && dir.data[i] != '/')
            continue;
        dir.data[i] = 0;
        if (mkdir(dir.data, 0700) < 0 && errno != EEXIST)
            ret = -1;
        if (i < dir.len)
            dir.data[i] = '/';
    }
    buf_release(&dir);
    return ret;
}

/* rename() that never replaces an existing file: a queue ID names one
 * message, and an old file restored under another inode may hold the
 * same name. Falls back to plain rename() where the file system lacks
 * RENAME_NOREPLACE. */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    return rename(from, to);
}

/* Renames into a queue, creating its missing hashed subfolders. */
static int rename_into(const char *from, const char *to, const char *to_queue,
                       const char *id, int noreplace)
{
    int (*move)(const char *, const char *) = noreplace ? rename_noreplace : rename;

    if (move(from, to) == 0)
        return 0;
    if (errno != ENOENT || !queue_is_hashed(to_queue))
        return -1;
    if (queue_mkdirs(to_queue, id) < 0)
        return -1;
    return move(from, to);
}

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

/* Opens queue/<usec>.<pid> exclusively. fd or -1. */
static int open_temp(const char *queue, buf_t *temp)
{
    int tries;

    for (tries = 0; tries < QUEUE_CREATE_TRIES; tries++) {
        struct timeval tv;
        int fd;

        gettimeofday(&tv, NULL);
        buf_reset(temp);
        buf_printf(temp, "%s/%ld.%ld", queue, (long) tv.tv_usec, (long) getpid());
        fd = open(temp->data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Renames temp to its inode-based name at once. When that name already
 * exists, a fresh microsecond value gives another one. 0 or -1. */
static int name_by_inode(queue_file_t *qf, const char *temp, ino_t inode, buf_t *path)
{
    buf_t id = BUF_INIT;
    int tries, ret = -1;

    for (tries = 0; tries < QUEUE_CREATE_TRIES; tries++) {
        struct timeval tv;

        gettimeofday(&tv, NULL);
        queue_id_make(&id, inode, (long) tv.tv_usec);
        queue_path(path, qf->queue, id.data);
        if (rename_into(temp, path->data, qf->queue, id.data, 1) == 0) {
            memcpy(qf->id, id.data, id.len + 1);
            ret = 0;
            break;
        }
        if (errno != EEXIST)
            break;
    }
    buf_release(&id);
    return ret;
}

queue_file_t *queue_file_create(const char *queue)
{
    queue_file_t *qf = xcalloc(1, sizeof(*qf));
    buf_t temp = BUF_INIT, path = BUF_INIT;
    struct stat st;
    int saved;

    qf->queue = xstrdup(queue);
    qf->fd = open_temp(queue, &temp);
    if (qf->fd < 0)
        goto fail;
    if (fstat(qf->fd, &st) < 0 || name_by_inode(qf, temp.data, st.st_ino, &path) < 0) {
        saved = errno;
        (void) unlink(temp.data);
        errno = saved;
        goto fail;
    }
    qf->path = buf_steal(&path);
    qf->out = stream_fdopen(qf->fd);
    qf->offset = 0;
    buf_release(&temp);
    return qf;

fail:
    saved = errno;
    buf_release(&temp);
    buf_release(&path);
    queue_file_free(qf);
    errno = saved;
    return NULL;
}

void queue_file_put(queue_file_t *qf, int type, const void *data, size_t len)
{
    qf->offset += (long) rec_put(qf->out, type, data, len);
}

void queue_file_puts(queue_file_t *qf, int type, const char *text)
{
    queue_file_put(qf, type, text, strlen(text));
}

void queue_file_printf(queue_file_t *qf, int type, const char *fmt, ...)
{
    buf_t text = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    queue_file_put(qf, type, buf_str(&text), text.len);
    buf_release(&text);
}

/* Rewrites the C record at offset 0, after checking that the file starts
 * with a C placeholder of the same size. 0 or -1. */
static int rewrite_size_record(int fd, const rec_size_info_t *info)
{
    unsigned char hdr[8], old[8];
    buf_t rec = BUF_INIT;
    size_t hlen;
    ssize_t n;
    int ret = -1;

    rec_size_format(&rec, info);
    hlen = rec_header(hdr, REC_TYPE_SIZE, rec.len);
    n = pread(fd, old, hlen, 0);
    if (n != (ssize_t) hlen || memcmp(old, hdr, hlen) != 0) {
        if (n >= 0)
            errno = EINVAL;
        msg_warn("queue file has no size record placeholder");
    } else if (pwrite(fd, hdr, hlen, 0) == (ssize_t) hlen
               && pwrite(fd, rec.data, rec.len, (off_t) hlen) == (ssize_t) rec.len) {
        ret = 0;
    } else if (errno == 0) {
        errno = EIO;
    }
    buf_release(&rec);
    return ret;
}

int queue_file_commit(queue_file_t *qf, const rec_size_info_t *info)
{
    int saved;

    errno = 0;
    if (stream_flush(qf->out) < 0) {
        if (errno == 0)
            errno = EIO;
        goto fail;
    }
    if (rewrite_size_record(qf->fd, info) < 0)
        goto fail;
    /* Order matters. The owner-execute bit is set only now that every
     * record and the final C record are written, so no reader ever takes a
     * partial file for a complete one. fsync comes after fchmod so that the
     * one fsync makes both the data and the "complete" mode durable before
     * the caller may answer "queued"; a crash before it leaves either no
     * file or a 0600 one that is ignored and cleaned up. */
    if (fchmod(qf->fd, 0700) < 0 || fsync(qf->fd) < 0)
        goto fail;
    stream_free(qf->out);
    qf->out = NULL;
    if (close(qf->fd) < 0) {                /* NFS reports write errors here */
        qf->fd = -1;
        goto fail;
    }
    qf->fd = -1;
    return 0;

fail:
    saved = errno;
    if (unlink(qf->path) < 0)
        msg_warn("remove %s: %m", qf->path);
    errno = saved;
    return -1;
}

void queue_file_abort(queue_file_t *qf)
{
    if (qf == NULL)
        return;
    if (qf->path != NULL && unlink(qf->path) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", qf->path);
    queue_file_free(qf);
}

void queue_file_free(queue_file_t *qf)
{
    if (qf == NULL)
        return;
    stream_free(qf->out);
    if (qf->fd >= 0)
        close(qf->fd);
    free(qf->queue);
    free(qf->path);
    free(qf);
}

/* ------------------------------------------------------------------ */
/* Reading and marking                                                */
/* ------------------------------------------------------------------ */

int queue_map_open(const char *path, int lock, queue_map_t *qm)
{
    int saved;

    memset(qm, 0, sizeof(*qm));
    qm->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (qm->fd < 0)
        return -1;
    if (lock != 0 && flock(qm->fd, (lock == 2 ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
        goto fail;
    if (fstat(qm->fd, &qm->st) < 0)
        goto fail;
    if (!S_ISREG(qm->st.st_mode)) {
        errno = EINVAL;
        goto fail;
    }
    qm->size = (size_t) qm->st.st_size;
    if (qm->size == 0) {
        qm->data = "";
        return 0;
    }
    /* MAP_SHARED: done-marks written with pwrite show in the mapping. */
    qm->data = mmap(NULL, qm->size, PROT_READ, MAP_SHARED, qm->fd, 0);
    if (qm->data == MAP_FAILED)
        goto fail;
    return 0;

fail:
    saved = errno;
    close(qm->fd);
    memset(qm, 0, sizeof(*qm));
    qm->fd = -1;
    errno = saved;
    return -1;
}

void queue_map_close(queue_map_t *qm)
{
    if (qm->data != NULL && qm->size > 0 && munmap((void *) qm->data, qm->size) < 0)
        msg_warn("munmap: %m");
    if (qm->fd >= 0)
        close(qm->fd);
    memset(qm, 0, sizeof(*qm));
    qm->fd = -1;
}

int queue_mark_done(int fd, long offset)
{
    char type;
    ssize_t n;

    if (offset <= 0) {
        errno = EINVAL;
        return -1;
    }
    n = pread(fd, &type, 1, (off_t) offset);
    if (n != 1) {
        if (n == 0)
            errno = EINVAL;
        return -1;
    }
    if (type != REC_TYPE_RCPT) {
        msg_warn("queue file offset %ld: record type '%c', not a recipient",
                 offset, type >= 0x20 && type < 0x7f ? type : '?');
        errno = EINVAL;
        return -1;
    }
    /* No fsync: if this byte is lost in a crash the recipient stays 'R'
     * and is delivered once more on the next attempt. A crash can thus
     * repeat at most the deliveries in flight, and never loses one; an
     * fsync per recipient would cost a disk flush for no better promise. */
    type = REC_TYPE_DONE;
    n = pwrite(fd, &type, 1, (off_t) offset);
    if (n != 1) {
        if (n == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Moving and creating folders                                        */
/* ------------------------------------------------------------------ */

int queue_move(const char *from_queue, const char *to_queue, const char *id)
{
    buf_t from = BUF_INIT, to = BUF_INIT;
    int ret, saved;

    if (!queue_id_valid(id)) {
        errno = EINVAL;
        return -1;
    }
    queue_path(&from, from_queue, id);
    queue_path(&to, to_queue, id);
    ret = rename_into(from.data, to.data, to_queue, id, 0);
    saved = errno;
    buf_release(&from);
    buf_release(&to);
    errno = saved;
    return ret;
}

typedef struct queue_dir_spec {
    const char *name;
    mode_t      mode;
    int         owner;     /* DIR_OWNER_* */
} queue_dir_spec_t;

#define DIR_OWNER_MAIL     0   /* mail_owner:gid */
#define DIR_OWNER_POSTDROP 1   /* mail_owner:postdrop */
#define DIR_OWNER_ROOT     2   /* root:root */

static const queue_dir_spec_t queue_dirs[] = {
    { QUEUE_ACTIVE,   0700, DIR_OWNER_MAIL },
    { QUEUE_BOUNCE,   0700, DIR_OWNER_MAIL },
    { QUEUE_CORRUPT,  0700, DIR_OWNER_MAIL },
    { QUEUE_DEFER,    0700, DIR_OWNER_MAIL },
    { QUEUE_DEFERRED, 0700, DIR_OWNER_MAIL },
    { "flush",        0700, DIR_OWNER_MAIL },
    { QUEUE_HOLD,     0700, DIR_OWNER_MAIL },
    { QUEUE_INCOMING, 0700, DIR_OWNER_MAIL },
    { QUEUE_SAVED,    0700, DIR_OWNER_MAIL },
    { QUEUE_TRACE,    0700, DIR_OWNER_MAIL },
    { "private",      0700, DIR_OWNER_MAIL },
    { QUEUE_MAILDROP, 01730, DIR_OWNER_POSTDROP },   /* Debian: sticky */
    { "public",       02710, DIR_OWNER_POSTDROP },   /* Debian: set-gid */
    { "pid",          0755, DIR_OWNER_ROOT },
    { NULL, 0, 0 },
};

/* Creates path with owner and mode when it does not exist yet. Works on
 * an fd opened with O_NOFOLLOW so a symlink planted in place of the folder
 * never gets its target's owner or mode changed. */
static int make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    int fd;

    if (mkdir(path, 0700) < 0) {
        if (errno == EEXIST)
            return 0;
        msg_warn("mkdir %s: %m", path);
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        msg_warn("open %s: %m", path);
        return -1;
    }
    /* chown before chmod: chown clears the set-gid bit that public needs.
     * An ordinary user keeps the folders as its own. */
    if (geteuid() == 0 && fchown(fd, uid, gid) < 0) {
        msg_warn("chown %s: %m", path);
        close(fd);
        return -1;
    }
    if (fchmod(fd, mode) < 0) {
        msg_warn("chmod %s: %m", path);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int queue_dirs_create(const char *queue_directory, uid_t uid, gid_t gid, gid_t gid_postdrop)
{
    const queue_dir_spec_t *d;
    buf_t path = BUF_INIT;
    int ret = 0;

    if (gid_postdrop == (gid_t) -1)
        gid_postdrop = gid;
    if (make_dir(queue_directory, 0755, 0, 0) < 0) {
        buf_release(&path);
        return -1;
    }
    for (d = queue_dirs; d->name != NULL; d++) {
        uid_t owner = d->owner == DIR_OWNER_ROOT ? 0 : uid;
        gid_t group = d->owner == DIR_OWNER_ROOT ? 0
                    : d->owner == DIR_OWNER_POSTDROP ? gid_postdrop : gid;

        buf_reset(&path);
        buf_printf(&path, "%s/%s", queue_directory, d->name);
        if (make_dir(path.data, d->mode, owner, group) < 0)
            ret = -1;
    }
    buf_release(&path);
    return ret;
}
