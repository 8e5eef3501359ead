/* file: delivery to a "/file/name" destination of an alias, :include: or
 * .forward list (allow_mail_to_files). The file is opened, created 0600
 * when missing, locked and appended to in mbox format as the list's
 * identity (default_privs instead of root), so that a list can only write
 * where its owner may; a name ending in '/' is a Maildir. Executable and
 * multiply-linked files are refused; a failed append is cut back off. */
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

/* Postfix's classes for file errors: a full disk or a lock held waits, a
 * full quota bounces as "mailbox full", the rest (permissions...) bounce. */
static void file_error(local_state_t *st, int err, const char *path, const char *what)
{
    const char *dsn = "5.2.0";
    int result = DELIVERY_BOUNCED;

    if (err == EAGAIN || err == EWOULDBLOCK || err == ESTALE || err == EINTR) {
        dsn = "4.2.0";
        result = DELIVERY_DEFERRED;
    } else if (err == ENOSPC || err == EIO || err == ENOMEM || err == EMFILE || err == ENFILE) {
        dsn = "4.3.0";
        result = DELIVERY_DEFERRED;
    } else if (err == EDQUOT || err == EFBIG) {
        dsn = "5.2.2";
    }
    leaf_result(st, result, dsn, "cannot append message to file %s: %s: %s", path, what,
                strerror(err));
}

/* The checks Postfix makes before appending. "" when fine. */
static const char *file_refused(const struct stat *sb)
{
    if (S_ISREG(sb->st_mode) && (sb->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
        return "file is executable";
    if (S_ISREG(sb->st_mode) && sb->st_nlink > 1)
        return "file has multiple hard links";
    if (S_ISDIR(sb->st_mode))
        return "file is a directory";
    return "";
}

/* Appends the message to the open file; on failure cuts it back. */
static void append_to_file(local_state_t *st, const expansion_t *exp, const char *path,
                           int fd, const struct stat *sb)
{
    int regular = S_ISREG(sb->st_mode);
    local_outcome_t out;
    local_delivery_t d;
    mail_out_t *mo = xmalloc(sizeof(*mo));
    int rc;

    local_delivery_init(&d, &out, st, exp, LOCAL_HDR_FILE);
    mail_out_init(mo, fd, regular ? sb->st_size : 0, regular ? local_cfg.mailbox_size_limit : 0);
    rc = message_copy(mo, &d, COPY_MBOX);
    /* Delivered only once it is on disk. */
    if (rc == COPY_OK && regular && fsync(fd) < 0) {
        mo->err = errno;
        rc = COPY_WRITE_ERR;
    }
    if (rc != COPY_OK && regular && ftruncate(fd, sb->st_size) < 0)
        msg_warn("cannot truncate %s back to %lld bytes: %s", path,
                 (long long) sb->st_size, strerror(errno));
    if (rc == COPY_OK)
        leaf_result(st, DELIVERY_SENT, "2.0.0", "delivered to file: %s", path);
    else if (rc == COPY_CORRUPT)
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "error reading queue file: malformed content");
    else
        file_error(st, mo->err, path, "error writing message");
    free(mo);
    buf_release(&out.reason);
}

/* Opens (or creates), checks, locks and appends, as the current identity. */
static void deliver_mbox_file(local_state_t *st, const expansion_t *exp, const char *path)
{
    buf_t why = BUF_INIT;
    struct stat sb;
    const char *refused;
    int flags;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                  0600);

    if (fd < 0) {
        file_error(st, errno, path, "cannot open file");
        return;
    }
    if (fstat(fd, &sb) < 0) {
        file_error(st, errno, path, "cannot stat file");
    } else if (*(refused = file_refused(&sb)) != 0) {
        leaf_result(st, DELIVERY_BOUNCED, "5.7.1", "cannot append message to file %s: %s",
                    path, refused);
    } else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        file_error(st, errno, path, "cannot set file flags");
    } else if (S_ISREG(sb.st_mode) && lock_file(fd, &why) < 0) {
        leaf_result(st, DELIVERY_DEFERRED, "4.2.0", "cannot append message to file %s: %s",
                    path, buf_str(&why));
    } else if (S_ISREG(sb.st_mode) && fstat(fd, &sb) < 0) {
        file_error(st, errno, path, "cannot stat file");
    } else {
        append_to_file(st, exp, path, fd, &sb);
    }
    if (close(fd) < 0)
        msg_warn("close %s: %s", path, strerror(errno));
    buf_release(&why);
}

/* A Maildir destination, through the mailbox code, as the identity. */
static void deliver_maildir_file(local_state_t *st, const expansion_t *exp, const char *path,
                                 uid_t uid, gid_t gid)
{
    local_outcome_t out;
    local_delivery_t d;
    local_user_t as;

    memset(&as, 0, sizeof(as));
    as.name = (char *) buf_str(&st->name.user);
    as.uid = uid;
    as.gid = gid;
    local_delivery_init(&d, &out, st, exp, LOCAL_HDR_FILE);
    d.user = &as;
    maildir_deliver(&d, path);
    leaf_result(st, out.result, out.dsn, "%s", buf_str(&out.reason));
    buf_release(&out.reason);
}

void file_deliver(local_state_t *st, const expansion_t *exp, const char *path)
{
    buf_t key = BUF_INIT;
    uid_t uid;
    gid_t gid;

    if (!(local_cfg.allow_files & exp->class)) {
        leaf_result(st, DELIVERY_BOUNCED, "5.7.1", "mail to file is restricted");
        return;
    }
    ident_effective(exp->ident, &uid, &gid);
    buf_printf(&key, "file %ld %s", (long) uid, path);
    if (!destination_new(st, buf_str(&key))) {
        buf_release(&key);
        return;
    }
    if (path[strlen(path) - 1] == '/') {
        deliver_maildir_file(st, exp, path, uid, gid);
    } else {
        if (local_cfg.started_as_root)
            privilege_become(uid, gid);
        deliver_mbox_file(st, exp, path);
        if (local_cfg.started_as_root)
            privilege_restore();
    }
    buf_release(&key);
}
