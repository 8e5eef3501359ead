/* buf: the one growable, length-counted byte string.
 * The data is always NUL-terminated (the NUL is not counted in len), so a
 * buf holding text can be passed as a C string; binary data is fine too. */
#ifndef FACTEUR_BUF_H
#define FACTEUR_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char   *data;
    size_t  len;
    size_t  cap;
} buf_t;

#define BUF_INIT { NULL, 0, 0 }

buf_t  *buf_new(size_t hint);
void    buf_free(buf_t *b);            /* buf_new'd buffers */
void    buf_init(buf_t *b);            /* embedded/stack buffers */
void    buf_release(buf_t *b);         /* frees data of an embedded buffer */
void    buf_reset(buf_t *b);           /* len = 0, keeps memory */
void    buf_reserve(buf_t *b, size_t extra);
void    buf_append(buf_t *b, const void *data, size_t len);
void    buf_puts(buf_t *b, const char *s);
void    buf_putc(buf_t *b, int c);
void    buf_set(buf_t *b, const char *s); /* reset + puts */
void    buf_printf(buf_t *b, const char *fmt, ...)
            __attribute__((format(printf, 2, 3)));
void    buf_vprintf(buf_t *b, const char *fmt, va_list ap);
void    buf_truncate(buf_t *b, size_t len);
const char *buf_str(const buf_t *b);   /* "" when never written */
char   *buf_steal(buf_t *b);           /* caller frees; b becomes empty */
/* Lower-cases ASCII letters in place. */
void    buf_lower(buf_t *b);
/* Appends a whole file of at most max bytes (EFBIG beyond). 0, or -1 with
 * errno set. */
int     buf_read_file(buf_t *b, const char *path, size_t max);
/* Strips trailing ASCII whitespace. */
void    buf_trim_right(buf_t *b);

#endif
