/* mailbox: mbox delivery. Takes the recipient's identity, locks (dotlock,
 * then fcntl/flock), appends the message after its From_ line, fsyncs, and
 * on any failure truncates the file back to its old size so that no half
 * message ever stays in a mailbox. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "privilege.h"

int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    (void) close(fd);
    return rc;
}

static void parent_dir(buf_t *dir, const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        buf_set(dir, ".");
    else if (slash == path)
        buf_set(dir, "/");
    else {
        buf_reset(dir);
        buf_append(dir, path, (size_t) (slash - path));
    }
}

/* Who creates the lock and the file (reference 6.1): the recipient, with
 * the spool directory's group when only the group may write there
 * (Debian's /var/mail is root:mail 2775); root when neither may, and then
 * the new file is given to the recipient. 1 when an identity was taken. */
static int become_mbox_writer(const local_user_t *u, const char *path, int in_spool,
                              int *as_root)
{
    buf_t dir = BUF_INIT;
    struct stat st;
    gid_t gid = u->gid;

    *as_root = 0;
    if (!local_cfg.started_as_root)
        return 0;
    if (in_spool) {
        parent_dir(&dir, path);
        if (stat(buf_str(&dir), &st) == 0 && !(st.st_mode & S_IWOTH)) {
            if (st.st_mode & S_IWGRP)
                gid = st.st_gid;
            else
                *as_root = 1;
        }
        buf_release(&dir);
        if (*as_root)
            return 0;
    }
    privilege_become(u->uid, gid);
    return 1;
}

/* The checks that keep root and users from being tricked into writing
 * through a link or into someone else's file. */
static int check_mailbox_file(int fd, const local_user_t *u, int created, int as_root,
                              buf_t *why)
{
    struct stat st;
    int flags;

    if (fstat(fd, &st) < 0) {
        buf_printf(why, "cannot stat file: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        buf_puts(why, "file is not a regular file");
        return -1;
    }
    if (st.st_nlink != 1) {
        buf_puts(why, "file has the wrong number of hard links");
        return -1;
    }
    if (created && as_root && fchown(fd, u->uid, u->gid) < 0) {
        buf_printf(why, "cannot change file ownership: %s", strerror(errno));
        return -1;
    }
    if (!created && local_cfg.started_as_root && st.st_uid != u->uid) {
        buf_puts(why, "file is not owned by the recipient");
        return -1;
    }
    /* O_NONBLOCK only kept a FIFO from hanging the open; writes should block. */
    if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        buf_printf(why, "cannot set file flags: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Opens the mailbox for appending, creating it mode 0600 when missing.
 * O_NOFOLLOW refuses a symbolic link in place of the mailbox. */
static int open_mailbox(const char *path, const local_user_t *u, int as_root,
                        int *created, buf_t *why)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

    *created = (fd >= 0);
    if (fd < 0 && errno == EEXIST)
        fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        buf_printf(why, "cannot open file: %s", strerror(errno));
        return -1;
    }
    if (check_mailbox_file(fd, u, *created, as_root, why) < 0) {
        (void) close(fd);
        if (*created)
            (void) unlink(path);
        return -1;
    }
    return fd;
}

/* Appends the message; on failure cuts the file back to old_size. */
static void append_message(const local_delivery_t *d, const char *path, int fd,
                           off_t old_size)
{
    mail_out_t *out = xmalloc(sizeof(*out));
    int rc;

    mail_out_init(out, fd, old_size, local_cfg.mailbox_size_limit);
    rc = message_copy(out, d, COPY_MBOX);
    /* The message counts as delivered only once it is on disk. */
    if (rc == COPY_OK && fsync(fd) < 0) {
        out->err = errno;
        rc = COPY_WRITE_ERR;
    }
    if (rc == COPY_OK) {
        outcome_set(d->out, DELIVERY_SENT, "2.0.0", "delivered to mailbox");
    } else {
        /* A partial message would merge with the next one: remove it. */
        if (ftruncate(fd, old_size) < 0)
            msg_warn("cannot truncate %s back to %lld bytes: %s", path,
                     (long long) old_size, strerror(errno));
        if (rc == COPY_CORRUPT)
            outcome_set(d->out, DELIVERY_DEFERRED, "4.3.0",
                        "error reading queue file: malformed content");
        else
            outcome_set_errno(d->out, out->err,
                              "cannot update mailbox %s for user %s. error writing message: %s",
                              path, d->user->name, strerror(out->err));
    }
    free(out);
}

static void deliver_locked(const local_delivery_t *d, const char *path, int as_root)
{
    buf_t why = BUF_INIT;
    struct stat st;
    int created;
    int fd = open_mailbox(path, d->user, as_root, &created, &why);

    if (fd >= 0 && lock_file(fd, &why) == 0) {
        if (fstat(fd, &st) < 0)
            buf_printf(&why, "cannot stat file: %s", strerror(errno));
        else
            append_message(d, path, fd, st.st_size);
    }
    if (why.len > 0)
        outcome_set(d->out, DELIVERY_DEFERRED, "4.2.0",
                    "cannot update mailbox %s for user %s. %s", path, d->user->name,
                    buf_str(&why));
    if (fd >= 0 && close(fd) < 0)
        msg_warn("close %s: %s", path, strerror(errno));
    if (fd >= 0 && created && d->out->result == DELIVERY_SENT) {
        buf_t dir = BUF_INIT;

        /* Make the new file's name durable too, not only its data. */
        parent_dir(&dir, path);
        if (fsync_dir(buf_str(&dir)) < 0)
            msg_warn("fsync directory %s: %s", buf_str(&dir), strerror(errno));
        buf_release(&dir);
    }
    buf_release(&why);
}

void mbox_deliver(const local_delivery_t *d, const char *path, int in_spool)
{
    buf_t lock_path = BUF_INIT;
    buf_t why = BUF_INIT;
    int as_root;
    int became = become_mbox_writer(d->user, path, in_spool, &as_root);

    buf_printf(&lock_path, "%s.lock", path);
    if (local_cfg.lock_dotlock && lock_dotlock_acquire(buf_str(&lock_path), &why) < 0) {
        outcome_set(d->out, DELIVERY_DEFERRED, "4.2.0",
                    "cannot update mailbox %s for user %s. %s", path, d->user->name,
                    buf_str(&why));
    } else {
        deliver_locked(d, path, as_root);
        if (local_cfg.lock_dotlock)
            lock_dotlock_release(buf_str(&lock_path));
    }
    if (became)
        privilege_restore();
    buf_release(&lock_path);
    buf_release(&why);
}
