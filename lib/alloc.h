/* alloc: memory allocation that never returns NULL.
 * Every allocation failure and size overflow ends the process through
 * one fatal path, so callers never test for NULL. */
#ifndef FACTEUR_ALLOC_H
#define FACTEUR_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Like xrealloc(ptr, count * size) with the multiplication checked. */
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
void *xmemdup(const void *p, size_t len);

/* Overflow-checked size arithmetic: fatal on overflow. */
size_t size_add(size_t a, size_t b);
size_t size_mul(size_t a, size_t b);

#endif
