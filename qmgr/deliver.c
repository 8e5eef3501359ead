/* deliver: conversations with delivery agents over private/<transport>.
 * The agent speaks first ({protocol=delivery_request_protocol}), qmgr
 * sends the request, the agent answers with one result per recipient and
 * a status. Replies are collected without blocking the event loop: bytes
 * are gathered per connection until the expected number of attribute
 * lists is complete, then parsed from memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "buf.h"
#include "delivery.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "qmgr.h"
#include "queue_file.h"
#include "stream.h"

#define AGENT_CONNECT_TIMEOUT  5       /* seconds */
#define AGENT_WRITE_TIMEOUT    60      /* seconds to hand over a request */
#define AGENT_READ_CHUNK       4096
#define AGENT_REPLY_BASE       (256 * 1024)
#define AGENT_REPLY_PER_RCPT   (16 * 1024)

typedef enum { AGENT_WAIT_HELLO, AGENT_WAIT_RESULTS } agent_state_t;

typedef struct agent_conn {
    qmgr_entry_t       *entry;
    int                 fd;
    agent_state_t       state;
    buf_t               in;          /* bytes received, not yet parsed */
    size_t              in_max;
    delivery_request_t  req;
} agent_conn_t;

static char active_queue_name[] = QUEUE_ACTIVE;

void deliver_request_fill(delivery_request_t *req, const qmgr_entry_t *e)
{
    qmgr_message_t *msg = e->msg;
    size_t i;

    memset(req, 0, sizeof(*req));
    req->queue_name = active_queue_name;
    req->queue_id = msg->id;
    req->data_offset = msg->env.size.data_offset;
    req->data_size = msg->env.size.content_size;
    req->transport = (char *) sched_entry_transport(e);
    req->nexthop = e->nexthop;
    req->sender = msg->env.sender;
    req->envid = msg->env.envid;
    req->dsn_ret = msg->env.dsn_ret;
    req->arrival_time = msg->env.arrival;
    req->arrival_usec = msg->env.arrival_usec;
    req->client = msg->client;
    req->flags = 0;
    req->rcpt_count = e->count;
    req->rcpts = xcalloc(e->count ? e->count : 1, sizeof(*req->rcpts));
    for (i = 0; i < e->count; i++) {
        const qmgr_rcpt_t *r = &msg->env.rcpts[e->rcpt_index[i]];

        req->rcpts[i].offset = r->offset;
        req->rcpts[i].address = r->address;
        req->rcpts[i].orig_rcpt = r->orig_rcpt;
        req->rcpts[i].dsn_orig_rcpt = r->dsn_orig_rcpt;
        req->rcpts[i].notify_flags = r->notify_flags;
    }
}

void deliver_request_release(delivery_request_t *req)
{
    free(req->rcpts);
    req->rcpts = NULL;
    req->rcpt_count = 0;
}

/* ---- Parsing from memory ---- */

typedef struct mem_reader {
    const char *data;
    size_t      len;
    size_t      pos;
} mem_reader_t;

static ssize_t mem_read(void *ctx, int fd, void *dst, size_t len)
{
    mem_reader_t *m = ctx;
    size_t n = m->len - m->pos;

    (void) fd;
    if (n > len)
        n = len;
    memcpy(dst, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t) n;
}

static ssize_t mem_write(void *ctx, int fd, const void *src, size_t len)
{
    (void) ctx;
    (void) fd;
    (void) src;
    (void) len;
    errno = EBADF;
    return -1;
}

static const stream_ops_t mem_ops = { mem_read, mem_write };

/* Where the first `want` complete attribute lists end in data (a list is
 * name NUL value NUL ... ended by an empty name). 1 and *end, or 0 when
 * more bytes are needed. */
static int lists_complete(const char *data, size_t len, size_t want, size_t *end)
{
    size_t pos = 0, found = 0;
    int expect_name = 1;

    while (found < want) {
        const char *nul;

        if (pos >= len)
            return 0;
        nul = memchr(data + pos, 0, len - pos);

        if (nul == NULL)
            return 0;
        if (expect_name && nul == data + pos)
            found++;
        else
            expect_name = !expect_name;
        pos = (size_t) (nul - data) + 1;
    }
    *end = pos;
    return 1;
}

static stream_t *mem_stream(mem_reader_t *m, const char *data, size_t len)
{
    stream_t *s = stream_fdopen(-1);

    m->data = data;
    m->len = len;
    m->pos = 0;
    stream_set_ops(s, &mem_ops, m);
    return s;
}

static int parse_hello(const char *data, size_t len)
{
    mem_reader_t m;
    stream_t *s = mem_stream(&m, data, len);
    attr_list_t *a = attr_list_new();
    static const char *const required[] = { "protocol", NULL };
    int ok;

    ok = attr_read(s, a) == 0 && attr_check(a, required, NULL) == 0
        && strcmp(attr_get(a, "protocol"), "delivery_request_protocol") == 0;
    attr_list_free(a);
    stream_free(s);
    return ok ? 0 : -1;
}

/* ---- The conversation ---- */

static void agent_timeout(void *ctx);

static void agent_close(agent_conn_t *c)
{
    event_unwatch(c->fd);
    event_cancel(agent_timeout, c);
    if (close(c->fd) < 0)
        msg_warn("close agent connection: %m");
    buf_release(&c->in);
    deliver_request_release(&c->req);
}

/* The agent went away or broke the protocol: whatever it did not mark
 * done stays to do, and is deferred by qmgr. */
static void agent_failed(agent_conn_t *c, const char *why)
{
    qmgr_entry_t *e = c->entry;

    msg_warn("%s: %s delivery agent (private/%s): %s", e->msg->id,
             sched_entry_transport(e), sched_entry_transport(e), why);
    agent_close(c);
    sched_defer_entry(e, "4.3.0", "unknown mail transport error", 1);
    free(c);
    sched_entry_done(e);
}

static void agent_succeeded(agent_conn_t *c, delivery_result_t *res)
{
    qmgr_entry_t *e = c->entry;
    size_t i;

    for (i = 0; i < c->req.rcpt_count; i++) {
        if (res[i].result == DELIVERY_DEFERRED)
            e->msg->deferred = 1;
        delivery_result_free(&res[i]);
    }
    agent_close(c);
    free(c);
    sched_entry_done(e);
}

static void agent_timeout(void *ctx)
{
    agent_failed(ctx, "timeout waiting for a reply");
}

static int send_request(agent_conn_t *c)
{
    stream_t *s = stream_fdopen(c->fd);
    int rc;

    stream_set_timeout(s, AGENT_WRITE_TIMEOUT);
    delivery_request_send(s, &c->req);
    rc = stream_flush(s);
    stream_free(s);
    return rc;
}

static void handle_results(agent_conn_t *c, size_t end)
{
    mem_reader_t m;
    stream_t *s = mem_stream(&m, c->in.data, end);
    delivery_result_t *res = xcalloc(c->req.rcpt_count, sizeof(*res));
    int rc = delivery_results_read(s, &c->req, res);

    stream_free(s);
    if (rc < 0) {
        size_t i;

        for (i = 0; i < c->req.rcpt_count; i++)
            delivery_result_free(&res[i]);
        free(res);
        agent_failed(c, "malformed reply");
        return;
    }
    agent_succeeded(c, res);
    free(res);
}

/* Acts on what has arrived; returns 1 when the connection is gone. */
static int agent_progress(agent_conn_t *c)
{
    size_t end;

    if (c->state == AGENT_WAIT_HELLO) {
        if (!lists_complete(c->in.data, c->in.len, 1, &end))
            return 0;
        if (parse_hello(c->in.data, end) < 0) {
            agent_failed(c, "bad protocol announcement");
            return 1;
        }
        memmove(c->in.data, c->in.data + end, c->in.len - end);
        buf_truncate(&c->in, c->in.len - end);
        if (send_request(c) < 0) {
            agent_failed(c, "cannot send the request");
            return 1;
        }
        c->state = AGENT_WAIT_RESULTS;
    }
    if (!lists_complete(c->in.data, c->in.len, c->req.rcpt_count + 1, &end))
        return 0;
    handle_results(c, end);
    return 1;
}

static void agent_readable(int fd, void *ctx)
{
    agent_conn_t *c = ctx;
    char chunk[AGENT_READ_CHUNK];
    ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        agent_failed(c, "read error");
        return;
    }
    if (n == 0) {
        agent_failed(c, "connection closed before the reply was complete");
        return;
    }
    if (c->in.len + (size_t) n > c->in_max) {
        agent_failed(c, "reply too large");
        return;
    }
    buf_append(&c->in, chunk, (size_t) n);
    (void) agent_progress(c);
}

/* Transport names come from main.cf, but they become a path: keep them
 * to a plain file name. */
static int transport_name_ok(const char *name)
{
    const char *p;

    if (*name == 0 || *name == '.')
        return 0;
    for (p = name; *p; p++)
        if (!(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

int deliver_start(qmgr_entry_t *e)
{
    const char *transport = sched_entry_transport(e);
    buf_t path = BUF_INIT;
    agent_conn_t *c;
    int fd;

    if (!transport_name_ok(transport)) {
        msg_warn("%s: bad transport name \"%s\"", e->msg->id, transport);
        return -1;
    }
    buf_printf(&path, "private/%s", transport);
    fd = unix_connect(path.data, AGENT_CONNECT_TIMEOUT);
    if (fd < 0) {
        msg_warn("connect to transport %s: %m", path.data);
        buf_release(&path);
        return -1;
    }
    buf_release(&path);
    if (fd_set_cloexec(fd, 1) < 0)
        msg_warn("set close-on-exec: %m");
    c = xcalloc(1, sizeof(*c));
    c->entry = e;
    c->fd = fd;
    c->state = AGENT_WAIT_HELLO;
    buf_init(&c->in);
    deliver_request_fill(&c->req, e);
    c->in_max = size_add(AGENT_REPLY_BASE, size_mul(c->req.rcpt_count, AGENT_REPLY_PER_RCPT));
    event_watch(fd, EVENT_READ, agent_readable, c);
    if (qmgr_conf.agent_timeout > 0)
        event_timer(qmgr_timer_ms(qmgr_conf.agent_timeout), agent_timeout, c);
    return 0;
}
