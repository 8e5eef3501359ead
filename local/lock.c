/* lock: mailbox locks as mailbox_delivery_lock asks. The dotlock
 * (MAILBOX.lock, created with O_EXCL) serves readers that know only that
 * convention; fcntl and flock serve the others. Every lock is retried
 * deliver_lock_attempts times, deliver_lock_delay apart, then given up. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "log.h"

static void pause_between_attempts(void)
{
    if (local_cfg.lock_delay > 0)
        sleep((unsigned) local_cfg.lock_delay);
}

/* Whether the lock names its creator's PID and that process is gone. We
 * write our PID into the locks we make, so a local that was killed mid
 * delivery does not hold a mailbox for stale_lock_time; locks made by
 * other programs (often empty) only expire by age. */
static int dotlock_owner_dead(const char *lock_path)
{
    char text[32];
    char *end;
    ssize_t n;
    long pid;
    int fd = open(lock_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, text, sizeof(text) - 1);
    (void) close(fd);
    if (n <= 0)
        return 0;
    text[n] = 0;
    pid = strtol(text, &end, 10);
    if (pid <= 1 || end == text || (*end != '\n' && *end != 0))
        return 0;
    return kill((pid_t) pid, 0) < 0 && errno == ESRCH;
}

/* A lock left by a crashed writer is removed once it is older than
 * stale_lock_time, or at once when its creator is known to be dead.
 * 1 when it was removed. */
static int remove_stale_dotlock(const char *lock_path)
{
    struct stat st;

    if (lstat(lock_path, &st) < 0)
        return errno == ENOENT;        /* gone meanwhile: try again at once */
    if (time(NULL) - st.st_mtime <= local_cfg.stale_lock_time
        && !dotlock_owner_dead(lock_path))
        return 0;
    if (unlink(lock_path) < 0) {
        msg_warn("cannot remove stale lock file %s: %s", lock_path, strerror(errno));
        return 0;
    }
    msg_warn("removed stale lock file %s", lock_path);
    return 1;
}

int lock_dotlock_acquire(const char *lock_path, buf_t *why)
{
    long attempt = 0;

    while (attempt < local_cfg.lock_attempts) {
        int fd = open(lock_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd >= 0) {
            char pid[24];
            int len = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());

            /* The PID only helps a later stale check; the lock holds without it. */
            if (len > 0 && write(fd, pid, (size_t) len) != len)
                msg_warn("write lock file %s: %s", lock_path, strerror(errno));
            (void) close(fd);
            return 0;
        }
        if (errno != EEXIST) {
            buf_printf(why, "unable to create lock file %s: %s", lock_path, strerror(errno));
            return -1;
        }
        if (remove_stale_dotlock(lock_path))
            continue;
        if (++attempt < local_cfg.lock_attempts)
            pause_between_attempts();
    }
    buf_printf(why, "unable to create lock file %s: %s", lock_path, strerror(EEXIST));
    return -1;
}

void lock_dotlock_release(const char *lock_path)
{
    if (unlink(lock_path) < 0 && errno != ENOENT)
        msg_warn("cannot remove lock file %s: %s", lock_path, strerror(errno));
}

static int try_fcntl(int fd)
{
    struct flock fl;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;          /* start 0, length 0: the whole file */
    return fcntl(fd, F_SETLK, &fl);
}

static int try_flock(int fd)
{
    return flock(fd, LOCK_EX | LOCK_NB);
}

/* Retries one kind of lock while someone else holds it. */
static int lock_with_retries(int fd, int (*try_lock)(int fd), buf_t *why)
{
    for (long attempt = 0; attempt < local_cfg.lock_attempts; attempt++) {
        if (attempt > 0)
            pause_between_attempts();
        if (try_lock(fd) == 0)
            return 0;
        if (errno != EAGAIN && errno != EACCES && errno != EWOULDBLOCK && errno != EINTR)
            break;
    }
    buf_printf(why, "unable to lock for exclusive access: %s", strerror(errno));
    return -1;
}

int lock_file(int fd, buf_t *why)
{
    if (local_cfg.lock_fcntl && lock_with_retries(fd, try_fcntl, why) < 0)
        return -1;
    if (local_cfg.lock_flock && lock_with_retries(fd, try_flock, why) < 0)
        return -1;
    return 0;
}
