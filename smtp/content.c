/* content: the message content from the mapped queue file to the server.
 * N records are whole lines, L records leading pieces of a long line;
 * both are written with smtp_data_put, which adds CRLF, dot-stuffing and
 * folding. The content ends at the X record. */
#include <string.h>

#include "record.h"
#include "smtp.h"

/* Whether an envelope attribute record says "encoding=8bit". */
static int is_8bit_attr(const rec_t *rec)
{
    static const char want[] = "encoding=8bit";

    return rec->type == REC_TYPE_ATTR && rec->len == sizeof(want) - 1
        && memcmp(rec->data, want, rec->len) == 0;
}

static int has_8bit(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) data[i] & 0x80)
            return 1;
    return 0;
}

int content_scan(agent_msg_t *msg)
{
    size_t pos = 0;
    rec_t rec;
    int rc;

    msg->body_8bit = 0;
    /* The envelope: what the client declared with BODY=8BITMIME. */
    while ((rc = rec_parse(msg->map, msg->data_offset, &pos, &rec)) > 0)
        if (is_8bit_attr(&rec))
            msg->body_8bit = 1;
    if (rc < 0)
        return -1;
    /* The content: what it really holds, and whether it is well formed. */
    pos = msg->data_offset;
    while ((rc = rec_parse(msg->map, msg->map_size, &pos, &rec)) > 0) {
        if (rec.type == REC_TYPE_XTRA)
            return 0;
        if (rec.type != REC_TYPE_NORM && rec.type != REC_TYPE_CONT)
            return -1;
        if (!msg->body_8bit && has_8bit(rec.data, rec.len))
            msg->body_8bit = 1;
    }
    return -1;                      /* no X record: truncated */
}

int content_write(smtp_conn_t *c, void *ctx, buf_t *why)
{
    const agent_msg_t *msg = ctx;
    size_t pos = msg->data_offset;
    rec_t rec;
    int rc;

    while ((rc = rec_parse(msg->map, msg->map_size, &pos, &rec)) > 0) {
        if (rec.type == REC_TYPE_XTRA)
            return 0;
        if (rec.type != REC_TYPE_NORM && rec.type != REC_TYPE_CONT)
            break;
        smtp_data_put(c, rec.data, rec.len, rec.type == REC_TYPE_NORM);
        /* A connection that broke needs no more bytes; the caller sees it
         * when it flushes. */
        if (stream_status(c->stream) != STREAM_OK)
            return 0;
    }
    buf_set(why, "error reading queue file: malformed content");
    return -1;
}
