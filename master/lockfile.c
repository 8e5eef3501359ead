/* master lock and pid files: $data_directory/master.lock stays locked
 * (flock) while master runs, and both it and $queue_directory/pid/master.pid
 * hold the PID right-aligned in 32 characters plus a newline. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "master.h"

#define PID_FILE "pid/master.pid"   /* relative to queue_directory */

static int lock_fd = -1;

static void lock_path(buf_t *path)
{
    buf_printf(path, "%s/master.lock", config_str("data_directory"));
}

static void pid_text(buf_t *text)
{
    buf_printf(text, "%*lu\n", 32, (unsigned long) getpid());
}

void lockfile_acquire(void)
{
    buf_t path = BUF_INIT, text = BUF_INIT;

    lock_path(&path);
    lock_fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        msg_fatal("open lock file %s: %m", path.data);
    /* The lock, not the PID, says whether a master runs: it goes away
     * with the process, however the process ends. */
    if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0)
        msg_fatal("open lock file %s: unable to set exclusive lock: %m", path.data);
    pid_text(&text);
    if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, text.data, text.len, 0) != (ssize_t) text.len)
        msg_fatal("write lock file %s: %m", path.data);
    buf_release(&path);
    buf_release(&text);
}

void lockfile_write_pid(void)
{
    buf_t text = BUF_INIT;
    int fd = open(PID_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        msg_fatal("open pid file %s/%s: %m", config_str("queue_directory"), PID_FILE);
    pid_text(&text);
    if (write_all(fd, text.data, text.len) < 0 || close(fd) < 0)
        msg_fatal("write pid file %s/%s: %m", config_str("queue_directory"), PID_FILE);
    buf_release(&text);
}

void lockfile_remove_pid(void)
{
    if (unlink(PID_FILE) < 0 && errno != ENOENT)
        msg_warn("remove %s/%s: %m", config_str("queue_directory"), PID_FILE);
}

int lockfile_held_by_other(void)
{
    buf_t path = BUF_INIT;
    int fd, held;

    lock_path(&path);
    fd = open(path.data, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        held = errno != ENOENT;
        if (held)
            msg_warn("open lock file %s: %m", path.data);
        buf_release(&path);
        return held;
    }
    held = flock(fd, LOCK_EX | LOCK_NB) < 0;
    close(fd);
    buf_release(&path);
    return held;
}
