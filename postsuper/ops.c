/* ops: what postsuper does to one message: delete, hold, release,
 * force-expire. Each takes an exclusive lock first without waiting: a
 * delivery agent holds a shared lock on the file it delivers, and a file
 * in delivery is skipped with a warning rather than pulled from under it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "dsn_log.h"
#include "log.h"
#include "postsuper.h"
#include "queue_file.h"
#include "queue_info.h"

int target_lock(const target_t *t)
{
    int fd = open(t->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        if (errno != ENOENT)
            msg_warn("%s: open %s: %m", t->id, t->path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            msg_warn("%s: skipped: the message is being delivered", t->id);
        else
            msg_warn("%s: lock %s: %m", t->id, t->path);
        close(fd);
        return -1;
    }
    return fd;
}

/* The per-message logs go with the message. */
static void remove_logs(const char *id)
{
    static const char *const logs[] = { QUEUE_DEFER, QUEUE_BOUNCE, QUEUE_TRACE };
    size_t i;

    for (i = 0; i < sizeof(logs) / sizeof(logs[0]); i++)
        if (dsn_log_remove(logs[i], id) < 0)
            msg_warn("%s: remove %s log: %m", id, logs[i]);
}

int op_delete(const target_t *t)
{
    int fd = target_lock(t);

    if (fd < 0)
        return 0;
    /* Unlinked while still locked: no agent can start on it in between. */
    if (unlink(t->path) < 0) {
        if (errno != ENOENT)
            msg_warn("%s: remove %s: %m", t->id, t->path);
        close(fd);
        return 0;
    }
    close(fd);
    remove_logs(t->id);
    msg_info("%s: removed", t->id);
    return 1;
}

int op_hold(const target_t *t)
{
    int fd;

    if (strcmp(t->queue, QUEUE_HOLD) == 0 || strcmp(t->queue, QUEUE_MAILDROP) == 0)
        return 0;
    if ((fd = target_lock(t)) < 0)
        return 0;
    if (queue_move(t->queue, QUEUE_HOLD, t->id) < 0) {
        if (errno != ENOENT)
            msg_warn("%s: move from %s to %s: %m", t->id, t->queue, QUEUE_HOLD);
        close(fd);
        return 0;
    }
    close(fd);
    msg_info("%s: placed on hold", t->id);
    return 1;
}

int op_release(const target_t *t)
{
    int fd;

    if (strcmp(t->queue, QUEUE_HOLD) != 0)
        return 0;
    if ((fd = target_lock(t)) < 0)
        return 0;
    /* A deferred file's mtime is its next-retry time: due now. Stamped
     * before the move so that it never looks due later than it is. */
    if (futimes(fd, NULL) < 0)
        msg_warn("%s: set time stamps: %m", t->id);
    if (queue_move(QUEUE_HOLD, QUEUE_DEFERRED, t->id) < 0) {
        if (errno != ENOENT)
            msg_warn("%s: move from %s to %s: %m", t->id, QUEUE_HOLD, QUEUE_DEFERRED);
        close(fd);
        return 0;
    }
    close(fd);
    msg_info("%s: released from hold", t->id);
    return 1;
}

/* The group-execute bit asks qmgr to return the message on its next
 * attempt ("message is administratively expired"). */
int op_expire(const target_t *t)
{
    struct stat st;
    int fd;

    if (strcmp(t->queue, QUEUE_MAILDROP) == 0)
        return 0;
    if ((fd = target_lock(t)) < 0)
        return 0;
    if (fstat(fd, &st) < 0 || fchmod(fd, (st.st_mode & 07777) | QUEUE_MODE_EXPIRE) < 0) {
        msg_warn("%s: set the expire bit on %s: %m", t->id, t->path);
        close(fd);
        return 0;
    }
    close(fd);
    msg_info("%s: expired", t->id);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Moving a file to its proper place (postsuper -s)                   */
/* ------------------------------------------------------------------ */

static int make_parents(const char *path)
{
    buf_t dir = BUF_INIT;
    const char *slash;
    int ret = 0;

    for (slash = strchr(path, '/'); ret == 0 && slash; slash = strchr(slash + 1, '/')) {
        buf_reset(&dir);
        buf_append(&dir, path, (size_t) (slash - path));
        if (mkdir(buf_str(&dir), 0700) < 0 && errno != EEXIST)
            ret = -1;
    }
    buf_release(&dir);
    return ret;
}

/* rename() that never replaces a file: a queue ID names one message. */
static int rename_noreplace(const char *from, const char *to)
{
    struct stat st;

    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (lstat(to, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

int move_to_queue(const char *path, const char *queue, const char *id)
{
    buf_t to = BUF_INIT;
    int ret;

    queue_path(&to, queue, id);
    ret = rename_noreplace(path, to.data);
    if (ret < 0 && errno == ENOENT && make_parents(to.data) == 0)
        ret = rename_noreplace(path, to.data);
    buf_release(&to);
    return ret;
}
