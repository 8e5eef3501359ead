/* record: Postfix's queue-file record format. A record is one type byte,
 * the length as a little-endian base-128 varint (high bit = more bytes),
 * then the data. Used for queue files and for the cleanup stream. */
#ifndef FACTEUR_RECORD_H
#define FACTEUR_RECORD_H

#include <stddef.h>
#include "buf.h"
#include "stream.h"

#define REC_TYPE_SIZE    'C'   /* six %15ld fields, first record, fixed width */
#define REC_TYPE_TIME    'T'   /* arrival "sec usec" */
#define REC_TYPE_CTIME   'c'
#define REC_TYPE_FULL    'F'   /* sender full name */
#define REC_TYPE_FROM    'S'   /* sender; empty = <> */
#define REC_TYPE_RCPT    'R'   /* recipient to do */
#define REC_TYPE_DONE    'D'   /* recipient done */
#define REC_TYPE_DRCP    '/'   /* recipient cancelled */
#define REC_TYPE_ORCP    'O'   /* original recipient */
#define REC_TYPE_ATTR    'A'   /* name=value */
#define REC_TYPE_WARN    'W'   /* %15ld next delay-warning time */
#define REC_TYPE_DSN_RET '<'
#define REC_TYPE_DSN_ENVID 'i'
#define REC_TYPE_DSN_ORCPT 'o'
#define REC_TYPE_DSN_NOTIFY 'n'
#define REC_TYPE_VERP    'V'
#define REC_TYPE_FLGS    'f'   /* cleanup flags (decimal CLEANUP_FLAG_* bits) */
#define REC_TYPE_RDR     '>'   /* redirect: the one recipient of the message */
#define REC_TYPE_PTR     'p'
#define REC_TYPE_PAD     'w'
#define REC_TYPE_MESG    'M'   /* start of content */
#define REC_TYPE_NORM    'N'   /* a text line (no newline stored) */
#define REC_TYPE_CONT    'L'   /* leading piece of a long line */
#define REC_TYPE_XTRA    'X'   /* start of extracted segment */
#define REC_TYPE_END     'E'   /* end, required */

#define REC_EOF   (-1)         /* clean end of input between records */
#define REC_ERROR (-2)         /* truncated, oversize or malformed record */

/* Width and count of the fixed-size fields in the C record. */
#define REC_SIZE_FIELDS   6
#define REC_SIZE_WIDTH    15
#define REC_SIZE_LEN      (REC_SIZE_FIELDS * REC_SIZE_WIDTH + REC_SIZE_FIELDS - 1)

/* Writes one record to a stream; returns the number of bytes it takes. */
size_t rec_put(stream_t *s, int type, const void *data, size_t len);
size_t rec_puts(stream_t *s, int type, const char *text);
size_t rec_printf(stream_t *s, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Encodes a record header (type + varint) into hdr (>= 6 bytes); returns its size. */
size_t rec_header(unsigned char *hdr, int type, size_t len);

/* Reads one record from a stream into data (reset first). Records longer
 * than maxlen are an error. Returns the type, REC_EOF or REC_ERROR. */
int rec_get(stream_t *s, buf_t *data, size_t maxlen);

/* A record parsed in place from memory (e.g. an mmap'd queue file). */
typedef struct rec {
    int         type;
    const char *data;      /* not NUL-terminated */
    size_t      len;
    size_t      offset;    /* offset of the type byte in the file */
} rec_t;

/* Parses the record at *pos; advances *pos. Returns 1, 0 at end of buffer,
 * -1 when the record is truncated or malformed. */
int rec_parse(const char *buf, size_t size, size_t *pos, rec_t *rec);

/* The C record's fields. */
typedef struct rec_size_info {
    long content_size;     /* bytes of message content */
    long data_offset;      /* offset of the first content record after M */
    long rcpt_count;
    long qmgr_flags;
    long content_length;
    long smtputf8;
} rec_size_info_t;

void rec_size_format(buf_t *out, const rec_size_info_t *info);   /* REC_SIZE_LEN bytes */
int  rec_size_parse(const char *data, size_t len, rec_size_info_t *info);

#endif
