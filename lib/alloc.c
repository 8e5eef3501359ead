/* alloc: allocation with one fatal path. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

static void out_of_memory(size_t size)
{
    msg_fatal("out of memory (requested %zu bytes)", size);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (p == NULL)
        out_of_memory(size_mul(count, size));
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *xreallocarray(void *ptr, size_t count, size_t size)
{
    return xrealloc(ptr, size_mul(count, size));
}

char *xstrdup(const char *s)
{
    return xmemdup(s, size_add(strlen(s), 1));
}

char *xstrndup(const char *s, size_t len)
{
    size_t n = strnlen(s, len);
    char *p = xmalloc(size_add(n, 1));

    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void *xmemdup(const void *src, size_t len)
{
    void *p = xmalloc(len);

    memcpy(p, src, len);
    return p;
}

size_t size_add(size_t a, size_t b)
{
    size_t r;

    if (__builtin_add_overflow(a, b, &r))
        msg_fatal("size overflow: %zu + %zu", a, b);
    return r;
}

size_t size_mul(size_t a, size_t b)
{
    size_t r;

    if (__builtin_mul_overflow(a, b, &r))
        msg_fatal("size overflow: %zu * %zu", a, b);
    return r;
}
