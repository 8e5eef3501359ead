/* buf: growable byte string. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"

buf_t *buf_new(size_t hint)
{
    buf_t *b = xmalloc(sizeof(*b));

    buf_init(b);
    if (hint)
        buf_reserve(b, hint);
    return b;
}

void buf_free(buf_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    free(b);
}

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_release(buf_t *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void buf_reserve(buf_t *b, size_t extra)
{
    size_t need = size_add(size_add(b->len, extra), 1);
    size_t cap;

    if (need <= b->cap)
        return;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = size_mul(cap, 2);
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

void buf_puts(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(buf_t *b, int c)
{
    char ch = (char) c;

    buf_append(b, &ch, 1);
}

void buf_set(buf_t *b, const char *s)
{
    buf_reset(b);
    buf_puts(b, s);
}

void buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    buf_reserve(b, 64);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n < 0)
        msg_fatal("buf_vprintf: bad format \"%s\"", fmt);
    if ((size_t) n >= b->cap - b->len) {
        buf_reserve(b, (size_t) n);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t) n;
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_truncate(buf_t *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = 0;
    }
}

const char *buf_str(const buf_t *b)
{
    return b->data ? b->data : "";
}

char *buf_steal(buf_t *b)
{
    char *p;

    if (b->data == NULL)
        return xstrdup("");
    p = b->data;
    buf_init(b);
    return p;
}

void buf_lower(buf_t *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] >= 'A' && b->data[i] <= 'Z')
            b->data[i] = (char) (b->data[i] - 'A' + 'a');
}

void buf_trim_right(buf_t *b)
{
    while (b->len > 0 && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'
                          || b->data[b->len - 1] == '\r' || b->data[b->len - 1] == '\n'))
        b->len--;
    if (b->data)
        b->data[b->len] = 0;
}

int buf_read_file(buf_t *b, const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t start = b->len;
    char chunk[8192];
    ssize_t n;

    if (fd < 0)
        return -1;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || b->len - start + (size_t) n > max) {
            int saved = n < 0 ? errno : EFBIG;

            (void) close(fd);
            buf_truncate(b, start);
            errno = saved;
            return -1;
        }
        buf_append(b, chunk, (size_t) n);
    }
    (void) close(fd);
    return 0;
}
