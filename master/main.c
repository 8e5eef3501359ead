/* master: the resident process that opens every master.cf endpoint and
 * runs the daemons on demand. Usage: master [-c dir] [-d] [-t] [-v] [-w]
 *   -d  stay in the foreground    -t  exit 0 when no master runs
 *   -w  wait until the daemon is initialised (exit 0) or failed (exit 1) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "log.h"
#include "master.h"

#define WAIT_INIT_MS       (500 * 1000)   /* how long -w waits for the daemon */

master_state_t master;

/* Descriptors 0-2 must exist, or a socket could land there and a stray
 * write to "stderr" would go to a client. */
static void ensure_stdio(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        if (open("/dev/null", O_RDWR) != fd)
            msg_fatal("open /dev/null: %m");
    }
}

static void stdio_to_devnull(void)
{
    int fd = open("/dev/null", O_RDWR);

    if (fd < 0)
        msg_fatal("open /dev/null: %m");
    for (int i = 0; i < 3; i++)
        if (fd != i && dup2(fd, i) < 0)
            msg_fatal("dup2 /dev/null: %m");
    if (fd > 2)
        close(fd);
    log_set_stderr(0);
}

/* -w: the parent stays in the foreground until the daemon child reports
 * (one byte on the pipe) or dies (EOF). Returns the pipe in the child. */
static int wait_for_daemon(void)
{
    int fds[2];
    pid_t pid;
    struct pollfd pfd;
    char c;

    if (pipe2(fds, O_CLOEXEC) < 0)
        msg_fatal("pipe: %m");
    pid = fork();
    if (pid < 0)
        msg_fatal("fork: %m");
    if (pid == 0) {
        close(fds[0]);
        return fds[1];
    }
    close(fds[1]);
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    while (poll(&pfd, 1, WAIT_INIT_MS) < 0 && errno == EINTR)
        ;
    if (read(fds[0], &c, 1) == 1)
        exit(0);
    msg_fatal_status(1, "mail system startup failed");
}

static void detach(int wait_mode, int *ready_fd)
{
    pid_t pid;

    if (wait_mode) {
        *ready_fd = wait_for_daemon();
    } else {
        pid = fork();
        if (pid < 0)
            msg_fatal("fork: %m");
        if (pid > 0)
            exit(0);
    }
    /* Our own session and process group: `postfix stop` can end the
     * whole family with one kill, and no terminal signal reaches us. */
    if (setsid() < 0)
        msg_fatal("setsid: %m");
}

static void report_ready(int ready_fd)
{
    char c = 0;

    if (ready_fd < 0)
        return;
    if (write(ready_fd, &c, 1) != 1)
        msg_warn("tell the waiting parent: %m");
    close(ready_fd);
}

static void start_services(void)
{
    for (mservice_t *s = master.services; s != NULL; s = s->next) {
        spawn_update_listen(s);
        spawn_start_resident(s);
    }
}

int main(int argc, char **argv)
{
    int c, test_mode = 0, wait_mode = 0, ready_fd = -1;
    const char *dir = NULL;

    /* Whatever the caller left open is not ours to keep or to pass on. */
    (void) close_range(3, ~0U, 0);
    log_init("master", LOG_FLAG_SYSLOG | LOG_FLAG_STDERR);
    ensure_stdio();
    umask(022);
    while ((c = getopt(argc, argv, "c:dDtvw")) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'd': master.foreground = 1; break;
        case 'D': break;
        case 't': test_mode = 1; break;
        case 'v': msg_verbose++; break;
        case 'w': wait_mode = 1; break;
        default: msg_fatal("usage: master [-c config_dir] [-d] [-t] [-v] [-w]");
        }
    }
    master.generation = 1;
    config_load(dir);           /* -c, else $MAIL_CONFIG, else the default */
    master.config_dir = config_dir();
    log_configure(config_str("syslog_name"), config_str("maillog_file"));
    if (test_mode)
        exit(lockfile_held_by_other());
    if (!master.foreground)
        detach(wait_mode, &ready_fd);
    if (chdir(config_str("queue_directory")) < 0)
        msg_fatal("chdir %s: %m", config_str("queue_directory"));
    lockfile_acquire();
    signals_init();
    services_load();
    lockfile_write_pid();
    msg_info("daemon started -- version %s, configuration %s",
             config_str("mail_version"),
             master.config_dir);
    /* Only now let go of the caller's terminal or pipes: until here a
     * start-up error must reach whoever runs `postfix start`. */
    if (!master.foreground)
        stdio_to_devnull();
    report_ready(ready_fd);
    start_services();
    for (;;)
        event_run_once(-1);
}
