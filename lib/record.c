/* record: Postfix's record framing (type byte, little-endian base-128
 * length, data), written to streams and parsed from streams or memory. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "record.h"

/* A length takes at most five varint bytes (35 bits); we never write or
 * accept more than fits in 31 bits, like Postfix's int-sized lengths. */
#define REC_LEN_BYTES_MAX  5
#define REC_LEN_MAX        0x7fffffffUL
#define REC_READ_CHUNK     4096
/* What fits in a C record field of REC_SIZE_WIDTH (15) characters: the
 * record is rewritten in place, so a wider value must never be accepted. */
#define REC_SIZE_FIELD_MAX 999999999999999L
#define REC_SIZE_FIELD_MIN (-99999999999999L)

size_t rec_header(unsigned char *hdr, int type, size_t len)
{
    size_t n = 0;

    if (len > REC_LEN_MAX)
        msg_panic("rec_header: record length %zu too large", len);
    hdr[n++] = (unsigned char) type;
    do {
        unsigned char byte = len & 0x7f;

        len >>= 7;
        if (len != 0)
            byte |= 0x80;
        hdr[n++] = byte;
    } while (len != 0);
    return n;
}

size_t rec_put(stream_t *s, int type, const void *data, size_t len)
{
    unsigned char hdr[1 + REC_LEN_BYTES_MAX];
    size_t hlen = rec_header(hdr, type, len);

    stream_write(s, hdr, hlen);
    if (len > 0)
        stream_write(s, data, len);
    return hlen + len;
}

size_t rec_puts(stream_t *s, int type, const char *text)
{
    return rec_put(s, type, text, strlen(text));
}

size_t rec_printf(stream_t *s, int type, const char *fmt, ...)
{
    buf_t text = BUF_INIT;
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    n = rec_put(s, type, text.data ? text.data : "", text.len);
    buf_release(&text);
    return n;
}

/* Reads the varint length from a stream. 0 or REC_ERROR. */
static int get_length(stream_t *s, size_t *len)
{
    size_t value = 0;
    int shift;

    for (shift = 0; shift < 7 * REC_LEN_BYTES_MAX; shift += 7) {
        int c = stream_getc(s);

        if (c < 0)
            return REC_ERROR;
        value |= (size_t) (c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *len = value;
            return 0;
        }
    }
    return REC_ERROR;
}

/* Reads len data bytes in chunks, so a lying length costs no memory
 * before the bytes really arrive. */
static int get_data(stream_t *s, buf_t *data, size_t len)
{
    char chunk[REC_READ_CHUNK];

    while (len > 0) {
        size_t n = len < sizeof(chunk) ? len : sizeof(chunk);

        if (stream_read_exact(s, chunk, n) < 0)
            return REC_ERROR;
        buf_append(data, chunk, n);
        len -= n;
    }
    return 0;
}

int rec_get(stream_t *s, buf_t *data, size_t maxlen)
{
    size_t len;
    int type;

    buf_reset(data);
    buf_reserve(data, 0);                   /* data->data is never NULL after this */
    type = stream_getc(s);
    if (type < 0)
        return stream_status(s) == STREAM_EOF ? REC_EOF : REC_ERROR;
    if (get_length(s, &len) < 0)
        return REC_ERROR;
    if (len > maxlen || len > REC_LEN_MAX)
        return REC_ERROR;
    if (get_data(s, data, len) < 0)
        return REC_ERROR;
    return type;
}

int rec_parse(const char *buf, size_t size, size_t *pos, rec_t *rec)
{
    const unsigned char *p = (const unsigned char *) buf;
    size_t at = *pos;
    size_t len = 0;
    int shift;

    if (at == size)
        return 0;
    if (at > size)
        return -1;
    rec->type = p[at];
    rec->offset = at;
    at++;
    for (shift = 0;; shift += 7) {
        if (shift >= 7 * REC_LEN_BYTES_MAX || at >= size)
            return -1;
        len |= (size_t) (p[at] & 0x7f) << shift;
        if ((p[at++] & 0x80) == 0)
            break;
    }
    if (len > REC_LEN_MAX || len > size - at)
        return -1;
    rec->data = buf + at;
    rec->len = len;
    *pos = at + len;
    return 1;
}

void rec_size_format(buf_t *out, const rec_size_info_t *info)
{
    buf_reset(out);
    buf_printf(out, "%*ld %*ld %*ld %*ld %*ld %*ld",
               REC_SIZE_WIDTH, info->content_size, REC_SIZE_WIDTH, info->data_offset,
               REC_SIZE_WIDTH, info->rcpt_count, REC_SIZE_WIDTH, info->qmgr_flags,
               REC_SIZE_WIDTH, info->content_length, REC_SIZE_WIDTH, info->smtputf8);
    /* A wider field would shift everything after it: the record is
     * rewritten in place, so its size must never change. */
    if (out->len != REC_SIZE_LEN)
        msg_panic("rec_size_format: field too wide for the size record");
}

/* Parses one decimal field (leading blanks allowed). 0 or -1. */
static int size_field(const char **p, long *value)
{
    char *end;

    while (**p == ' ')
        (*p)++;
    if (**p != '-' && (**p < '0' || **p > '9'))
        return -1;
    errno = 0;
    *value = strtol(*p, &end, 10);
    if (errno != 0 || end == *p)
        return -1;
    if (*value > REC_SIZE_FIELD_MAX || *value < REC_SIZE_FIELD_MIN)
        return -1;
    *p = end;
    return 0;
}

/* Older Postfix versions wrote only the first three (then four, five)
 * fields; missing trailing fields are zero. */
int rec_size_parse(const char *data, size_t len, rec_size_info_t *info)
{
    long *fields[REC_SIZE_FIELDS] = {
        &info->content_size, &info->data_offset, &info->rcpt_count,
        &info->qmgr_flags, &info->content_length, &info->smtputf8,
    };
    char text[2 * REC_SIZE_LEN];
    const char *p = text;
    size_t i;

    if (len >= sizeof(text) || memchr(data, 0, len) != NULL)
        return -1;
    memcpy(text, data, len);
    text[len] = 0;
    memset(info, 0, sizeof(*info));
    for (i = 0; i < REC_SIZE_FIELDS; i++) {
        while (*p == ' ')
            p++;
        if (*p == 0 && i >= 3)
            break;
        if (size_field(&p, fields[i]) < 0)
            return -1;
        if (*p != ' ' && *p != 0)
            return -1;
    }
    while (*p == ' ')
        p++;
    if (*p != 0)
        return -1;
    if (info->content_size < 0 || info->data_offset <= 0 || info->rcpt_count < 0)
        return -1;
    return 0;
}
