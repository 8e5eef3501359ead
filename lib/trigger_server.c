/* trigger_server: bounded, non-blocking reading of trigger connections. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "trigger_server.h"

#define TRIGGER_TIMEOUT_MS   2000
#define TRIGGER_MAX_CLIENTS  256

typedef struct trigger_client {
    int    fd;
    size_t len;
    char   data[TRIGGER_MAX_BYTES];
} trigger_client_t;

static void (*trigger_handler)(const char *data, size_t len);
static size_t client_count;
static int listen_fd = -1;
static int listener_paused;

static void listener_ready(int lfd, void *ctx);

static void client_timeout(void *ctx);

static void client_finish(trigger_client_t *c)
{
    event_unwatch(c->fd);
    event_cancel(client_timeout, c);
    if (close(c->fd) < 0)
        msg_warn("trigger: close: %m");
    trigger_handler(c->data, c->len);
    free(c);
    client_count--;
    if (listener_paused && client_count < TRIGGER_MAX_CLIENTS) {
        listener_paused = 0;
        event_watch(listen_fd, EVENT_READ, listener_ready, NULL);
    }
}

static void client_timeout(void *ctx)
{
    client_finish(ctx);
}

/* 1 when the connection is finished (EOF, error, or the buffer is full:
 * more bytes than a trigger ever needs are not read). */
static int client_read(trigger_client_t *c)
{
    ssize_t n = read(c->fd, c->data + c->len, sizeof(c->data) - c->len);

    if (n < 0)
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    if (n == 0)
        return 1;
    c->len += (size_t) n;
    return c->len >= sizeof(c->data);
}

static void client_ready(int fd, void *ctx)
{
    (void) fd;
    if (client_read(ctx))
        client_finish(ctx);
}

static void client_start(int fd)
{
    trigger_client_t *c = xcalloc(1, sizeof(*c));

    c->fd = fd;
    client_count++;
    event_watch(fd, EVENT_READ, client_ready, c);
    event_timer(TRIGGER_TIMEOUT_MS, client_timeout, c);
}

static void listener_ready(int lfd, void *ctx)
{
    (void) ctx;
    for (;;) {
        int fd;

        /* Too many clients at once: stop accepting until some finish, and
         * let the kernel's backlog hold the rest. Closing a client before it
         * has written would lose its wake-up (the writer gets EPIPE). */
        if (client_count >= TRIGGER_MAX_CLIENTS) {
            listener_paused = 1;
            event_unwatch(lfd);
            return;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd >= 0) {
            client_start(fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            msg_warn("trigger: accept: %m");
        return;
    }
}

void trigger_server_listen(int fd, void (*handler)(const char *data, size_t len))
{
    trigger_handler = handler;
    listen_fd = fd;
    /* Non-blocking so that a client that went away between poll and accept
     * never stalls the loop. */
    if (fd_set_nonblock(fd, 1) < 0)
        msg_fatal("trigger: set listener non-blocking: %m");
    event_watch(fd, EVENT_READ, listener_ready, NULL);
}
