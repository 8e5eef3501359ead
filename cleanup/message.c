/* message: the content segment. Body records are copied straight to the
 * queue file; the primary header block goes through headers.c. Every
 * content byte written is counted against message_size_limit. */
#include <string.h>

#include "cleanup.h"
#include "cleanup_client.h"
#include "log.h"
#include "record.h"

void cleanup_content_start(cleanup_state_t *st)
{
    /* Delivery agents seek straight here: the first record after M. */
    st->data_offset = st->qf->offset;
    st->in_header = 1;
    st->open_line = 0;
    buf_reset(&st->line);
    buf_reset(&st->header);
}

void cleanup_out_content(cleanup_state_t *st, int type, const char *data, size_t len)
{
    long limit = cleanup_settings.message_size_limit;
    long add = (long) len + (type == REC_TYPE_NORM ? 1 : 0);

    if (st->errs != 0)
        return;
    if (limit > 0 && add > limit - st->content_size) {
        cleanup_fail(st, CLEANUP_STAT_SIZE, "message file too big");
        return;
    }
    cleanup_out(st, type, data, len);
    st->content_size += add;
}

void cleanup_out_line(cleanup_state_t *st, const char *data, size_t len)
{
    size_t max = (size_t) cleanup_settings.line_length_limit;

    while (len > max) {
        cleanup_out_content(st, REC_TYPE_CONT, data, max);
        data += max;
        len -= max;
    }
    cleanup_out_content(st, REC_TYPE_NORM, data, len);
}

/* A bare CR or LF inside a line could be read as a line end by some later
 * program (SMTP smuggling): make it a space (cleanup_replace_stray_cr_lf). */
static const char *replace_stray_cr_lf(cleanup_state_t *st, const char *data, size_t len)
{
    if (!cleanup_settings.replace_stray_cr_lf
        || (memchr(data, '\r', len) == NULL && memchr(data, '\n', len) == NULL))
        return data;
    buf_reset(&st->clean);
    buf_append(&st->clean, data, len);
    for (size_t i = 0; i < len; i++)
        if (st->clean.data[i] == '\r' || st->clean.data[i] == '\n')
            st->clean.data[i] = ' ';
    return st->clean.data;
}

void cleanup_content_record(cleanup_state_t *st, int type, const char *data, size_t len)
{
    if (type != REC_TYPE_NORM && type != REC_TYPE_CONT) {
        msg_warn("%s: cleanup protocol error: unexpected content record type %d",
                 st->queue_id, type);
        cleanup_fail(st, CLEANUP_STAT_BAD, "internal protocol error");
        return;
    }
    data = replace_stray_cr_lf(st, data, len);
    if (st->in_header) {
        cleanup_header_piece(st, type, data, len);
        return;
    }
    cleanup_out_content(st, type, data, len);
    st->open_line = (type == REC_TYPE_CONT);
}

/* X (or E without X): finish the headers of a header-only message, close a
 * line left open by a last L piece, and start the extracted segment. */
void cleanup_content_end(cleanup_state_t *st)
{
    if (st->in_header)
        cleanup_header_finish(st);
    else if (st->open_line)
        cleanup_out_content(st, REC_TYPE_NORM, "", 0);
    st->open_line = 0;
    cleanup_out(st, REC_TYPE_XTRA, "", 0);
    st->segment = SEG_EXTRACTED;
}
