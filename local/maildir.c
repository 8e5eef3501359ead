/* maildir: Maildir delivery as the recipient. The message is written and
 * fsync'd under tmp/, then linked into new/ under a name no other delivery
 * can take (device, inode, microseconds), so a reader never sees a partial
 * message and a crash leaves at most a stray file in tmp/. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "privilege.h"

/* The host part of Maildir names; '/' and ':' would break the name. */
static const char *maildir_hostname(void)
{
    static buf_t host = BUF_INIT;
    char name[256];

    if (host.len > 0)
        return buf_str(&host);
    if (gethostname(name, sizeof(name)) < 0 || memchr(name, '\0', sizeof(name)) == NULL
        || name[0] == '\0')
        buf_set(&host, "localhost");
    else
        for (const char *p = name; *p; p++) {
            if (*p == '/')
                buf_puts(&host, "\\057");
            else if (*p == ':')
                buf_puts(&host, "\\072");
            else
                buf_putc(&host, *p);
        }
    return buf_str(&host);
}

/* Creates dir (0700) when missing. 0, or -1 with errno. */
static int make_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
    if (errno != ENOENT)
        return -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Creates every missing directory of path, then tmp, new and cur. */
static int make_maildir(const char *dir, buf_t *failed)
{
    static const char *const subdirs[] = { "tmp", "new", "cur" };

    buf_set(failed, dir);
    for (size_t i = 1; i < failed->len; i++) {
        if (failed->data[i] != '/')
            continue;
        failed->data[i] = '\0';
        if (make_dir(failed->data) < 0)
            return -1;
        failed->data[i] = '/';
    }
    if (make_dir(dir) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        buf_reset(failed);
        buf_printf(failed, "%s/%s", dir, subdirs[i]);
        if (make_dir(buf_str(failed)) < 0)
            return -1;
    }
    return 0;
}

/* Writes the message into the open tmp file and makes it durable. */
static int write_tmp_file(const local_delivery_t *d, int fd, struct stat *st)
{
    mail_out_t *out = xmalloc(sizeof(*out));
    int rc;

    mail_out_init(out, fd, 0, local_cfg.mailbox_size_limit);
    rc = message_copy(out, d, 0);
    /* fsync before the link: new/ may only ever hold complete messages. */
    if (rc == COPY_OK && (fsync(fd) < 0 || fstat(fd, st) < 0)) {
        out->err = errno;
        rc = COPY_WRITE_ERR;
    }
    if (rc == COPY_CORRUPT)
        outcome_set(d->out, DELIVERY_DEFERRED, "4.3.0",
                    "error reading queue file: malformed content");
    else if (rc != COPY_OK)
        outcome_set_errno(d->out, out->err, "maildir delivery failed: error writing message: %s",
                          strerror(out->err));
    free(out);
    return rc == COPY_OK ? 0 : -1;
}

/* Links the written tmp file into new/. 0 or -1 (outcome set). */
static int publish(const local_delivery_t *d, const char *dir, const char *tmp_path,
                   const struct stat *st, const struct timeval *tv)
{
    buf_t new_path = BUF_INIT;
    buf_t new_dir = BUF_INIT;
    int rc = 0;

    buf_printf(&new_path, "%s/new/%lld.V%llxI%llxM%ld.%s", dir, (long long) tv->tv_sec,
               (unsigned long long) st->st_dev, (unsigned long long) st->st_ino,
               (long) tv->tv_usec, maildir_hostname());
    if (link(tmp_path, buf_str(&new_path)) < 0) {
        outcome_set_errno(d->out, errno, "maildir delivery failed: link to %s: %s",
                          buf_str(&new_path), strerror(errno));
        rc = -1;
    } else {
        buf_printf(&new_dir, "%s/new", dir);
        /* The link is the delivery: make it survive a crash. */
        if (fsync_dir(buf_str(&new_dir)) < 0)
            msg_warn("fsync directory %s: %s", buf_str(&new_dir), strerror(errno));
        outcome_set(d->out, DELIVERY_SENT, "2.0.0", "delivered to maildir");
    }
    buf_release(&new_path);
    buf_release(&new_dir);
    return rc;
}

static void deliver_as_user(const local_delivery_t *d, const char *dir)
{
    buf_t tmp_path = BUF_INIT;
    struct timeval tv;
    struct stat st;
    int fd;

    if (make_maildir(dir, &tmp_path) < 0) {
        outcome_set_errno(d->out, errno, "maildir delivery failed: create directory %s: %s",
                          buf_str(&tmp_path), strerror(errno));
        buf_release(&tmp_path);
        return;
    }
    gettimeofday(&tv, NULL);
    buf_reset(&tmp_path);
    buf_printf(&tmp_path, "%s/tmp/%lld.P%ld.%s", dir, (long long) tv.tv_sec, (long) getpid(),
               maildir_hostname());
    fd = open(buf_str(&tmp_path), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        outcome_set_errno(d->out, errno, "maildir delivery failed: create maildir file %s: %s",
                          buf_str(&tmp_path), strerror(errno));
        buf_release(&tmp_path);
        return;
    }
    if (write_tmp_file(d, fd, &st) == 0) {
        if (close(fd) < 0)
            outcome_set_errno(d->out, errno, "maildir delivery failed: close %s: %s",
                              buf_str(&tmp_path), strerror(errno));
        else
            (void) publish(d, dir, buf_str(&tmp_path), &st, &tv);
    } else {
        (void) close(fd);
    }
    if (unlink(buf_str(&tmp_path)) < 0)
        msg_warn("remove %s: %s", buf_str(&tmp_path), strerror(errno));
    buf_release(&tmp_path);
}

void maildir_deliver(const local_delivery_t *d, const char *dir_with_slash)
{
    buf_t dir = BUF_INIT;

    buf_set(&dir, dir_with_slash);
    while (dir.len > 1 && dir.data[dir.len - 1] == '/')
        buf_truncate(&dir, dir.len - 1);
    if (local_cfg.started_as_root)
        privilege_become(d->user->uid, d->user->gid);
    deliver_as_user(d, buf_str(&dir));
    if (local_cfg.started_as_root)
        privilege_restore();
    buf_release(&dir);
}
