/* stream: buffered I/O over a file descriptor with per-operation deadlines.
 * Reads are always bounded by the caller; errors are sticky and reported by
 * stream_flush/stream_status. The read/write primitives go through a small
 * operations table so that TLS can be slotted in later without callers changing. */
#ifndef FACTEUR_STREAM_H
#define FACTEUR_STREAM_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

typedef struct stream stream_t;

/* Results of stream_get_line. */
#define STREAM_LINE       1   /* a whole line, ending in '\n', is in the buffer */
#define STREAM_LINE_PART  2   /* maxlen bytes and no '\n' yet: more of the line follows */
#define STREAM_LINE_EOF   0   /* end of input: the buffer holds any last bytes without '\n' */
#define STREAM_LINE_ERR  -1   /* timeout or I/O error (see stream_status) */

/* Sticky status. */
#define STREAM_OK         0
#define STREAM_EOF        1
#define STREAM_TIMEOUT    2
#define STREAM_IOERR      3

typedef struct stream_ops {
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
} stream_ops_t;

stream_t *stream_fdopen(int fd);
void      stream_close(stream_t *s);        /* flushes nothing; closes the fd */
void      stream_free(stream_t *s);         /* frees without closing the fd */
int       stream_fd(const stream_t *s);
/* Seconds for each read or write to make progress; 0 = wait forever. */
void      stream_set_timeout(stream_t *s, int seconds);
/* ops NULL puts back the plain fd primitives (and forgets any pending hook). */
void      stream_set_ops(stream_t *s, const stream_ops_t *ops, void *ctx);
/* For a layer (TLS) that holds input the fd cannot show: the number of bytes
 * it has ready for its read op. The stream waits on the fd only when the
 * hook says 0. A read or write op that gives up on its own deadline fails
 * with errno ETIMEDOUT, which the stream reports as STREAM_TIMEOUT; such an
 * op waits at most stream_get_timeout() seconds for each step. */
void      stream_set_pending(stream_t *s, size_t (*pending)(void *ctx));
int       stream_get_timeout(const stream_t *s);
int       stream_status(const stream_t *s);
void      stream_clear_status(stream_t *s);

/* Reading. */
int       stream_getc(stream_t *s);                 /* byte, or -1 at EOF/error */
int       stream_read_exact(stream_t *s, void *dst, size_t len);  /* 0 or -1 */
/* Appends to b (which is NOT reset) the bytes up to and including '\n',
 * at most maxlen bytes. */
int       stream_get_line(stream_t *s, buf_t *b, size_t maxlen);
size_t    stream_buffered(const stream_t *s);       /* bytes read ahead, not yet consumed */
/* Throws away the bytes read ahead; returns how many. STARTTLS needs this:
 * plaintext pipelined after the command must never be read as if it had
 * come over TLS. */
size_t    stream_purge_input(stream_t *s);
/* Waits until input is available or the timeout passes: 1, 0 (timeout), -1. */
int       stream_wait_readable(stream_t *s, int timeout_ms);

/* Writing (buffered; errors show at stream_flush). */
void      stream_write(stream_t *s, const void *data, size_t len);
void      stream_puts(stream_t *s, const char *str);
void      stream_putc(stream_t *s, int c);
void      stream_printf(stream_t *s, const char *fmt, ...)
              __attribute__((format(printf, 2, 3)));
int       stream_flush(stream_t *s);                /* 0 or -1 */

#endif
