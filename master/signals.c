/* master signals: handlers only write the signal number into a pipe; the
 * event loop reads it and does the work (reap, reload, terminate) outside
 * signal context. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "master.h"

static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    unsigned char c = (unsigned char) sig;
    int saved = errno;

    /* A full pipe already holds a pending wake-up: dropping is fine. */
    if (write(signal_pipe[1], &c, 1) < 0) {
        /* nothing to do */
    }
    errno = saved;
}

static void terminate(int sig) __attribute__((noreturn));
static void terminate(int sig)
{
    master.terminating = 1;
    msg_info("terminating on signal %d", sig);
    spawn_signal_all(SIGTERM);
    lockfile_remove_pid();
    exit(0);
}

static void signal_ready(int fd, void *ctx)
{
    unsigned char sigs[64];
    ssize_t n;

    (void) ctx;
    while ((n = read(fd, sigs, sizeof(sigs))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            switch (sigs[i]) {
            case SIGCHLD:
                spawn_reap();
                break;
            case SIGHUP:
                services_reload();
                break;
            case SIGTERM:
            case SIGINT:
                terminate(sigs[i]);
            default:
                break;
            }
        }
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        msg_fatal("read signal pipe: %m");
}

static void catch(int sig)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
    if (sigaction(sig, &sa, NULL) < 0)
        msg_fatal("sigaction(%d): %m", sig);
}

void signals_init(void)
{
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        msg_fatal("signal pipe: %m");
    event_watch(signal_pipe[0], EVENT_READ, signal_ready, NULL);
    catch(SIGCHLD);
    catch(SIGHUP);
    catch(SIGTERM);
    catch(SIGINT);
    /* A vanished peer or a full disk must be an error code, not death. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}
