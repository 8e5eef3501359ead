/* stream: buffered fd I/O with deadlines. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "stream.h"

#define STREAM_BUFSIZE 8192

struct stream {
    int     fd;
    int     timeout;            /* seconds, 0 = none */
    int     status;
    const stream_ops_t *ops;
    void   *ctx;
    size_t (*pending)(void *ctx);   /* input held by the ops layer, or NULL */
    char    rbuf[STREAM_BUFSIZE];
    size_t  rpos, rlen;
    buf_t   wbuf;
};

static ssize_t plain_read(void *ctx, int fd, void *b, size_t len)
{
    (void) ctx;
    return read(fd, b, len);
}

/* Sockets: a peer that went away is an I/O error, never a SIGPIPE that
 * kills the process; send() with MSG_NOSIGNAL says so. */
static ssize_t socket_write(void *ctx, int fd, const void *b, size_t len)
{
    (void) ctx;
    return send(fd, b, len, MSG_NOSIGNAL);
}

static ssize_t plain_write(void *ctx, int fd, const void *b, size_t len)
{
    (void) ctx;
    return write(fd, b, len);
}

static const stream_ops_t plain_ops = { plain_read, plain_write };
static const stream_ops_t socket_ops = { plain_read, socket_write };

/* Sockets and the rest (files, pipes) differ only in how they write. */
static const stream_ops_t *default_ops(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? &socket_ops : &plain_ops;
}

stream_t *stream_fdopen(int fd)
{
    stream_t *s = xcalloc(1, sizeof(*s));

    s->fd = fd;
    s->ops = default_ops(fd);
    buf_init(&s->wbuf);
    return s;
}

void stream_free(stream_t *s)
{
    if (s == NULL)
        return;
    buf_release(&s->wbuf);
    free(s);
}

void stream_close(stream_t *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    stream_free(s);
}

int stream_fd(const stream_t *s)
{
    return s->fd;
}

void stream_set_timeout(stream_t *s, int seconds)
{
    s->timeout = seconds;
}

void stream_set_ops(stream_t *s, const stream_ops_t *ops, void *ctx)
{
    s->ops = ops != NULL ? ops : default_ops(s->fd);
    s->ctx = ops != NULL ? ctx : NULL;
    s->pending = NULL;
}

void stream_set_pending(stream_t *s, size_t (*pending)(void *ctx))
{
    s->pending = pending;
}

int stream_get_timeout(const stream_t *s)
{
    return s->timeout;
}

/* The ops layer has input ready without the fd being readable. */
static int layer_pending(const stream_t *s)
{
    return s->pending != NULL && s->pending(s->ctx) > 0;
}

/* An op that gave up on its own deadline says ETIMEDOUT. */
static int error_status(int err)
{
    return err == ETIMEDOUT ? STREAM_TIMEOUT : STREAM_IOERR;
}

int stream_status(const stream_t *s)
{
    return s->status;
}

void stream_clear_status(stream_t *s)
{
    s->status = STREAM_OK;
}

/* Waits for the fd: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = events };

    for (;;) {
        int n = poll(&pfd, 1, timeout_ms);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        return n > 0;
    }
}

int stream_wait_readable(stream_t *s, int timeout_ms)
{
    if (s->rpos < s->rlen || layer_pending(s))
        return 1;
    return wait_fd(s->fd, POLLIN, timeout_ms);
}

static int fill(stream_t *s)
{
    ssize_t n;

    if (s->status != STREAM_OK)
        return -1;
    if (s->timeout > 0 && !layer_pending(s)) {
        int r = wait_fd(s->fd, POLLIN, s->timeout * 1000);

        if (r == 0) {
            s->status = STREAM_TIMEOUT;
            return -1;
        }
        if (r < 0) {
            s->status = STREAM_IOERR;
            return -1;
        }
    }
    do {
        n = s->ops->read(s->ctx, s->fd, s->rbuf, sizeof(s->rbuf));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        s->status = error_status(errno);
        return -1;
    }
    if (n == 0) {
        s->status = STREAM_EOF;
        return -1;
    }
    s->rpos = 0;
    s->rlen = (size_t) n;
    return 0;
}

int stream_getc(stream_t *s)
{
    if (s->rpos >= s->rlen && fill(s) < 0)
        return -1;
    return (unsigned char) s->rbuf[s->rpos++];
}

int stream_read_exact(stream_t *s, void *dst, size_t len)
{
    char *p = dst;

    while (len > 0) {
        size_t avail;

        if (s->rpos >= s->rlen && fill(s) < 0)
            return -1;
        avail = s->rlen - s->rpos;
        if (avail > len)
            avail = len;
        memcpy(p, s->rbuf + s->rpos, avail);
        s->rpos += avail;
        p += avail;
        len -= avail;
    }
    return 0;
}

int stream_get_line(stream_t *s, buf_t *b, size_t maxlen)
{
    size_t got = 0;

    while (got < maxlen) {
        char *nl;
        size_t avail, take;

        if (s->rpos >= s->rlen && fill(s) < 0)
            return s->status == STREAM_EOF ? STREAM_LINE_EOF : STREAM_LINE_ERR;
        avail = s->rlen - s->rpos;
        if (avail > maxlen - got)
            avail = maxlen - got;
        nl = memchr(s->rbuf + s->rpos, '\n', avail);
        take = nl ? (size_t) (nl - (s->rbuf + s->rpos)) + 1 : avail;
        buf_append(b, s->rbuf + s->rpos, take);
        s->rpos += take;
        got += take;
        if (nl)
            return STREAM_LINE;
    }
    return STREAM_LINE_PART;
}

size_t stream_buffered(const stream_t *s)
{
    return s->rlen - s->rpos;
}

size_t stream_purge_input(stream_t *s)
{
    size_t dropped = s->rlen - s->rpos;

    s->rpos = s->rlen = 0;
    return dropped;
}

void stream_write(stream_t *s, const void *data, size_t len)
{
    buf_append(&s->wbuf, data, len);
    if (s->wbuf.len >= STREAM_BUFSIZE * 8)
        (void) stream_flush(s);
}

void stream_puts(stream_t *s, const char *str)
{
    stream_write(s, str, strlen(str));
}

void stream_putc(stream_t *s, int c)
{
    buf_putc(&s->wbuf, c);
}

void stream_printf(stream_t *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(&s->wbuf, fmt, ap);
    va_end(ap);
}

int stream_flush(stream_t *s)
{
    size_t off = 0;

    if (s->status == STREAM_TIMEOUT || s->status == STREAM_IOERR) {
        buf_reset(&s->wbuf);
        return -1;
    }
    while (off < s->wbuf.len) {
        ssize_t n;

        if (s->timeout > 0) {
            int r = wait_fd(s->fd, POLLOUT, s->timeout * 1000);

            if (r <= 0) {
                s->status = r == 0 ? STREAM_TIMEOUT : STREAM_IOERR;
                buf_reset(&s->wbuf);
                return -1;
            }
        }
        n = s->ops->write(s->ctx, s->fd, s->wbuf.data + off, s->wbuf.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->status = n < 0 ? error_status(errno) : STREAM_IOERR;
            buf_reset(&s->wbuf);
            return -1;
        }
        off += (size_t) n;
    }
    buf_reset(&s->wbuf);
    return 0;
}
