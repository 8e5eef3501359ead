/* message: copies a queued message into a mailbox file (delivery headers,
 * content records joined back into lines, mbox quoting) and finds the
 * Delivered-To: headers for loop detection. Everything streams from the
 * mapped queue file: the message is never copied whole into memory. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "local.h"
#include "log.h"
#include "record.h"

/* A header longer than this cannot be a Delivered-To: of ours; it is
 * skipped, not stored. */
#define HEADER_SCAN_MAX 4096

void mail_out_init(mail_out_t *out, int fd, off_t base, long limit)
{
    out->fd = fd;
    out->base = base;
    out->written = 0;
    out->limit = limit;
    out->err = 0;
    out->used = 0;
}

/* Writes the buffer out, resuming after partial writes. */
static void out_flush(mail_out_t *out)
{
    size_t done = 0;

    while (done < out->used && out->err == 0) {
        ssize_t n = write(out->fd, out->buf + done, out->used - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            out->err = errno;
        else if (n == 0)
            out->err = EIO;
        else
            done += (size_t) n;
    }
    out->used = 0;
}

/* Appends bytes; passing mailbox_size_limit fails as the kernel's file
 * size limit would, with EFBIG, before anything beyond it is written. */
static void out_write(mail_out_t *out, const void *data, size_t len)
{
    const char *p = data;

    if (out->err != 0)
        return;
    if (out->limit > 0
        && (uintmax_t) out->base + (uintmax_t) out->written + len > (uintmax_t) out->limit) {
        out->err = EFBIG;
        return;
    }
    out->written += (off_t) len;
    while (len > 0 && out->err == 0) {
        size_t room = sizeof(out->buf) - out->used;
        size_t n = len < room ? len : room;

        if (room == 0) {
            out_flush(out);
            continue;
        }
        memcpy(out->buf + out->used, p, n);
        out->used += n;
        p += n;
        len -= n;
    }
}

static void out_puts(mail_out_t *out, const char *s)
{
    out_write(out, s, strlen(s));
}

/* Envelope text goes into header lines: control characters (a CR or LF
 * would start a new header) become '?'. */
static void out_header_value(mail_out_t *out, const char *value)
{
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        char c = (*p < 0x20 || *p == 0x7f) ? '?' : (char) *p;

        out_write(out, &c, 1);
    }
}

static void out_header(mail_out_t *out, const char *name, const char *value)
{
    out_puts(out, name);
    out_header_value(out, value);
    out_puts(out, "\n");
}

/* "From sender  Tue Nov 24 07:02:01 2026": two spaces, as every mbox reader expects. */
static void put_from_line(mail_out_t *out, const char *quoted_sender)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    if (strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
        msg_panic("put_from_line: strftime");
    out_puts(out, "From ");
    out_header_value(out, *quoted_sender ? quoted_sender : "MAILER-DAEMON");
    out_puts(out, "  ");
    out_puts(out, date);
    out_puts(out, "\n");
}

static void put_delivery_headers(mail_out_t *out, const local_delivery_t *d, int flags)
{
    buf_t sender = BUF_INIT;
    buf_t return_path = BUF_INIT;

    const char *envelope_sender = d->sender ? d->sender : d->msg->req->sender;

    if (*envelope_sender)
        addr_quote(&sender, envelope_sender);
    if (flags & COPY_FROM_LINE)
        put_from_line(out, buf_str(&sender));
    buf_printf(&return_path, "<%s>", buf_str(&sender));
    out_header(out, "Return-Path: ", buf_str(&return_path));
    out_header(out, "X-Original-To: ", d->original_to);
    if (d->delivered_to != NULL)
        out_header(out, "Delivered-To: ", d->delivered_to);
    buf_release(&sender);
    buf_release(&return_path);
}

static int is_content(const rec_t *rec)
{
    return rec->type == REC_TYPE_NORM || rec->type == REC_TYPE_CONT;
}

/* Whether the line starting with record first begins with "From ". A
 * line split into L pieces may need the pieces that follow (at next). */
static int line_begins_with_from(const local_msg_t *msg, const rec_t *first, size_t next)
{
    static const char from[] = "From ";
    const size_t want = sizeof(from) - 1;
    size_t have = 0;
    rec_t rec = *first;

    for (;;) {
        size_t n = rec.len < want - have ? rec.len : want - have;

        if (memcmp(rec.data, from + have, n) != 0)
            return 0;
        have += n;
        if (have == want)
            return 1;
        if (rec.type != REC_TYPE_CONT)
            return 0;
        if (rec_parse(msg->map, msg->map_size, &next, &rec) <= 0 || !is_content(&rec))
            return 0;
    }
}

int message_copy(mail_out_t *out, const local_delivery_t *d, int flags)
{
    const local_msg_t *msg = d->msg;
    size_t pos = msg->data_offset;
    int line_start = 1;
    rec_t rec;

    put_delivery_headers(out, d, flags);
    for (;;) {
        if (rec_parse(msg->map, msg->map_size, &pos, &rec) <= 0)
            return COPY_CORRUPT;
        if (rec.type == REC_TYPE_XTRA)
            break;
        if (!is_content(&rec))
            return COPY_CORRUPT;
        /* mbox readers split at "From " lines: quote those, and only those. */
        if ((flags & COPY_QUOTE) && line_start && line_begins_with_from(msg, &rec, pos))
            out_write(out, ">", 1);
        out_write(out, rec.data, rec.len);
        line_start = (rec.type == REC_TYPE_NORM);
        if (line_start)
            out_write(out, "\n", 1);
        if (out->err != 0)
            return COPY_WRITE_ERR;
    }
    if (flags & COPY_BLANK)
        out_write(out, "\n", 1);
    out_flush(out);
    return out->err != 0 ? COPY_WRITE_ERR : COPY_OK;
}

/* Header-scan state: the logical line being joined from L/N records and
 * the header being unfolded from continuation lines. */
typedef struct header_scan {
    buf_t line;
    int   line_long;
    buf_t header;
    int   header_long;
} header_scan_t;

static void append_bounded(buf_t *b, int *too_long, const char *data, size_t len)
{
    if (*too_long || b->len + len > HEADER_SCAN_MAX)
        *too_long = 1;
    else
        buf_append(b, data, len);
}

/* "Name:" with printable name characters (and blanks before the colon). */
static size_t header_name_len(const char *line, size_t len)
{
    size_t n = 0;

    while (n < len && line[n] > ' ' && line[n] < 0x7f && line[n] != ':')
        n++;
    if (n == 0)
        return 0;
    for (size_t i = n; i < len; i++) {
        if (line[i] == ':')
            return n;
        if (line[i] != ' ' && line[i] != '\t')
            return 0;
    }
    return 0;
}

static void finish_header(local_msg_t *msg, header_scan_t *hs)
{
    const char *h = hs->header.data;
    size_t len = hs->header.len;
    size_t name_len = header_name_len(h, len);
    buf_t value = BUF_INIT;
    const char *colon;
    size_t start, end;

    if (hs->header_long || name_len != strlen("Delivered-To")
        || strncasecmp(h, "Delivered-To", name_len) != 0
        || (colon = memchr(h, ':', len)) == NULL)
        return;
    start = (size_t) (colon - h) + 1;
    end = len;
    while (start < end && (h[start] == ' ' || h[start] == '\t'))
        start++;
    while (end > start && (h[end - 1] == ' ' || h[end - 1] == '\t' || h[end - 1] == '\r'))
        end--;
    if (end - start >= 2 && h[start] == '<' && h[end - 1] == '>') {
        start++;
        end--;
    }
    buf_append(&value, h + start, end - start);
    buf_lower(&value);
    argv_add(msg->delivered_to, buf_str(&value));
    buf_release(&value);
}

/* Handles one whole line of the header. 1 = more header follows, 0 = end. */
static int scan_line(local_msg_t *msg, header_scan_t *hs)
{
    const char *l = hs->line.data;
    size_t len = hs->line.len;

    if (len == 0 && !hs->line_long)
        return 0;                                   /* the blank line */
    if (len > 0 && (l[0] == ' ' || l[0] == '\t')) {
        if (hs->header.len > 0)
            append_bounded(&hs->header, &hs->header_long, l, len);
        return 1;
    }
    if (header_name_len(l, len) == 0 && !hs->line_long)
        return 0;                                   /* body text without a blank line */
    if (hs->header.len > 0)
        finish_header(msg, hs);
    buf_reset(&hs->header);
    hs->header_long = hs->line_long;
    if (!hs->line_long)
        buf_append(&hs->header, l, len);
    return 1;
}

int message_scan_delivered_to(local_msg_t *msg)
{
    header_scan_t hs;
    size_t pos = msg->data_offset;
    int rc = 0;
    rec_t rec;

    memset(&hs, 0, sizeof(hs));
    buf_init(&hs.line);
    buf_init(&hs.header);
    for (;;) {
        if (rec_parse(msg->map, msg->map_size, &pos, &rec) <= 0) {
            rc = -1;
            break;
        }
        if (rec.type == REC_TYPE_XTRA)
            break;
        if (!is_content(&rec)) {
            rc = -1;
            break;
        }
        append_bounded(&hs.line, &hs.line_long, rec.data, rec.len);
        if (rec.type == REC_TYPE_CONT)
            continue;
        if (!scan_line(msg, &hs))
            break;
        buf_reset(&hs.line);
        hs.line_long = 0;
    }
    if (rc == 0 && hs.header.len > 0)
        finish_header(msg, &hs);
    buf_release(&hs.line);
    buf_release(&hs.header);
    return rc;
}
