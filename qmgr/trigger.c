/* trigger: the public/qmgr listener. A client connects, writes a few
 * trigger bytes and closes; each connection is read without blocking the
 * event loop, bounded in size and time, then acted upon. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "qmgr.h"
#include "queue_file.h"

#define TRIGGER_MAX_BYTES    1024
#define TRIGGER_TIMEOUT_MS   2000
#define TRIGGER_MAX_CLIENTS  64

typedef struct trigger_client {
    int    fd;
    size_t len;
    char   data[TRIGGER_MAX_BYTES];
} trigger_client_t;

static size_t client_count;

/* What one connection asked for. */
typedef struct trigger_request {
    int scan_all;
    int forget_dead;
    int scan_deferred;
    int scan_incoming;
} trigger_request_t;

/* 'N' ID '\n': returns the index of the byte that ends the ID. */
static size_t parse_new_id(const char *data, size_t len, size_t start, trigger_request_t *req)
{
    const char *nl = memchr(data + start, '\n', len - start);
    size_t end = nl ? (size_t) (nl - data) : len;
    char id[QUEUE_ID_MAX + 1];
    size_t idlen = end - start;

    if (nl == NULL || idlen == 0 || idlen > QUEUE_ID_MAX) {
        /* Cut short or garbled: a scan finds the file anyway. */
        req->scan_incoming = 1;
        return end;
    }
    memcpy(id, data + start, idlen);
    id[idlen] = 0;
    if (queue_id_valid(id))
        scan_add_new(id);
    else
        msg_warn("trigger: ignoring bad queue ID in new-file trigger");
    return end;
}

static void trigger_parse(const char *data, size_t len, trigger_request_t *req)
{
    size_t i;

    for (i = 0; i < len; i++) {
        switch (data[i]) {
        case QMGR_TRIGGER_NEW:
            i = parse_new_id(data, len, i + 1, req);
            break;
        case QMGR_TRIGGER_SCAN_ALL:
            req->scan_all = 1;
            break;
        case QMGR_TRIGGER_FLUSH_DEAD:
            req->forget_dead = 1;
            break;
        case QMGR_TRIGGER_DEFERRED:
            req->scan_deferred = 1;
            break;
        case QMGR_TRIGGER_INCOMING:
        case QMGR_TRIGGER_WAKEUP:
            req->scan_incoming = 1;
            break;
        default:
            break;              /* newlines and unknown bytes */
        }
    }
}

/* A and F act before D and I, whatever order the bytes came in. */
static void trigger_process(const char *data, size_t len)
{
    trigger_request_t req = { 0, 0, 0, 0 };

    trigger_parse(data, len, &req);
    if (req.scan_all)
        scan_ignore_mtime_next();
    if (req.forget_dead)
        sched_forget_dead();
    if (req.scan_deferred)
        scan_request_deferred();
    if (req.scan_incoming)
        scan_request_incoming();
    scan_feed_kick();
}

static void client_timeout(void *ctx);

static void client_finish(trigger_client_t *c)
{
    event_unwatch(c->fd);
    event_cancel(client_timeout, c);
    if (close(c->fd) < 0)
        msg_warn("trigger: close: %m");
    trigger_process(c->data, c->len);
    free(c);
    client_count--;
}

static void client_timeout(void *ctx)
{
    client_finish(ctx);
}

/* Returns 1 when the connection is finished (EOF, error, or full). */
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
    if (client_count > TRIGGER_MAX_CLIENTS) {
        /* Too many slow clients: take what is there now and move on. */
        (void) client_read(c);
        client_finish(c);
        return;
    }
    event_watch(fd, EVENT_READ, client_ready, c);
    event_timer(TRIGGER_TIMEOUT_MS, client_timeout, c);
}

static void listener_ready(int lfd, void *ctx)
{
    (void) ctx;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

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

void trigger_listen(int fd)
{
    /* Non-blocking so that a client that went away between poll and
     * accept never stalls the loop. */
    if (fd_set_nonblock(fd, 1) < 0)
        msg_fatal("trigger: set listener non-blocking: %m");
    event_watch(fd, EVENT_READ, listener_ready, NULL);
}
