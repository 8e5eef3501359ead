/* headers: the primary header block. Reassembles lines (L pieces) and folded
 * headers, drops message_drop_headers, counts Received: hops, logs the
 * message-id, and in the local header context appends the missing
 * Message-Id/Date/From at the end of the block. The block is bounded by
 * header_size_limit: past it, the rest of the message is body. */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "address.h"
#include "cleanup.h"
#include "cleanup_client.h"
#include "log.h"
#include "maildate.h"
#include "record.h"

#define LOGGED_VALUE_MAX 1000

/* Length of the header name when text starts a header ("Name:" or the
 * obsolete "Name :"), else 0. */
static size_t header_name_len(const char *text, size_t len)
{
    size_t n = 0, i;

    while (n < len && text[n] > 32 && text[n] < 127 && text[n] != ':')
        n++;
    if (n == 0)
        return 0;
    for (i = n; i < len && (text[i] == ' ' || text[i] == '\t'); i++)
        ;
    return (i < len && text[i] == ':') ? n : 0;
}

static int name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static int name_dropped(const char *name, size_t len)
{
    const argv_t *drop = cleanup_settings.drop_headers;

    for (size_t i = 0; i < drop->argc; i++)
        if (name_is(name, len, drop->argv[i]))
            return 1;
    return 0;
}

/* The value after the colon, unfolded, for the log. */
static void header_value(const buf_t *header, buf_t *value)
{
    const char *p = memchr(header->data, ':', header->len) + 1;
    const char *end = header->data + header->len;

    buf_reset(value);
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
        p++;
    for (; p < end && value->len < LOGGED_VALUE_MAX; p++)
        if (*p != '\n')
            buf_putc(value, *p);
    buf_trim_right(value);
}

static void log_message_id(cleanup_state_t *st, const char *prefix)
{
    header_value(&st->header, &st->scratch);
    msg_info("%s: %smessage-id=%s", st->queue_id, prefix, buf_str(&st->scratch));
}

/* Notes what a complete header means for the message. */
static void classify_header(cleanup_state_t *st, const char *name, size_t len)
{
    if (name_is(name, len, "received")) {
        if (++st->hop_count > cleanup_settings.hopcount_limit
            && !(st->errs & CLEANUP_STAT_HOPS)) {
            msg_warn("%s: message rejected: hopcount exceeded", st->queue_id);
            cleanup_fail(st, CLEANUP_STAT_HOPS, "too many hops");
        }
    } else if (name_is(name, len, "message-id")) {
        st->headers_seen |= HDR_SEEN_MESSAGE_ID;
        log_message_id(st, "");
    } else if (name_is(name, len, "date")) {
        st->headers_seen |= HDR_SEEN_DATE;
    } else if (name_is(name, len, "from")) {
        st->headers_seen |= HDR_SEEN_FROM;
    } else if (len > 7 && strncasecmp(name, "resent-", 7) == 0) {
        st->headers_seen |= HDR_SEEN_RESENT_ANY;
        if (name_is(name, len, "resent-message-id")) {
            st->headers_seen |= HDR_SEEN_RESENT_MESSAGE_ID;
            log_message_id(st, "resent-");
        } else if (name_is(name, len, "resent-date")) {
            st->headers_seen |= HDR_SEEN_RESENT_DATE;
        } else if (name_is(name, len, "resent-from")) {
            st->headers_seen |= HDR_SEEN_RESENT_FROM;
        }
    }
}

/* A logical header is complete: classify it, then write its physical lines
 * unless it is one to drop. */
static void flush_header(cleanup_state_t *st)
{
    const char *p, *end, *nl;
    size_t name_len;

    if (st->header.len == 0)
        return;
    name_len = header_name_len(st->header.data, st->header.len);
    classify_header(st, st->header.data, name_len);
    if (!name_dropped(st->header.data, name_len)) {
        cleanup_header_addresses(st, name_len);
        p = st->header.data;
        end = p + st->header.len;
        for (; (nl = memchr(p, '\n', (size_t) (end - p))) != NULL; p = nl + 1)
            cleanup_out_line(st, p, (size_t) (nl - p));
        cleanup_out_line(st, p, (size_t) (end - p));
    }
    buf_reset(&st->header);
}

static void out_header_text(cleanup_state_t *st, const buf_t *text)
{
    cleanup_out_line(st, text->data, text->len);
}

/* "Full Name" needs quotes when it holds RFC 5322 specials. */
static void append_phrase(buf_t *out, const char *phrase)
{
    if (strpbrk(phrase, "()<>[]:;@\\,.\"") == NULL) {
        buf_puts(out, phrase);
        return;
    }
    buf_putc(out, '"');
    for (; *phrase; phrase++) {
        if (*phrase == '"' || *phrase == '\\')
            buf_putc(out, '\\');
        buf_putc(out, *phrase);
    }
    buf_putc(out, '"');
}

static void add_message_id(cleanup_state_t *st, const char *resent)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    buf_t *text = &st->scratch;

    if (gmtime_r(&now, &tm) == NULL || strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
        msg_fatal("cannot format the current time");
    buf_reset(text);
    buf_printf(text, "%sMessage-Id: <%s.%s@%s>", resent, stamp, st->queue_id,
               cleanup_settings.myhostname);
    out_header_text(st, text);
    msg_info("%s: %smessage-id=<%s.%s@%s>", st->queue_id, *resent ? "resent-" : "",
             stamp, st->queue_id, cleanup_settings.myhostname);
}

static void add_date(cleanup_state_t *st, const char *resent)
{
    buf_t *text = &st->scratch;

    buf_reset(text);
    buf_printf(text, "%sDate: ", resent);
    mail_date(text, st->seen_time ? st->arrival : time(NULL));
    out_header_text(st, text);
}

static void add_from(cleanup_state_t *st, const char *resent)
{
    buf_t *text = &st->scratch;
    buf_t quoted = BUF_INIT;

    if (st->sender.len > 0)
        addr_quote(&quoted, buf_str(&st->sender));
    else
        buf_puts(&quoted, "MAILER-DAEMON");
    buf_reset(text);
    buf_printf(text, "%sFrom: ", resent);
    if (st->fullname.len > 0) {
        append_phrase(text, buf_str(&st->fullname));
        buf_printf(text, " <%s>", buf_str(&quoted));
    } else {
        buf_puts(text, buf_str(&quoted));
    }
    buf_release(&quoted);
    out_header_text(st, text);
}

/* Appends, at the end of the block, what the local header context must
 * have (the Resent- forms when the message is being resent). */
static void add_missing_headers(cleanup_state_t *st)
{
    int resending = (st->headers_seen & HDR_SEEN_RESENT_ANY) != 0;
    const char *resent = resending ? "Resent-" : "";
    unsigned want_id = resending ? HDR_SEEN_RESENT_MESSAGE_ID : HDR_SEEN_MESSAGE_ID;
    unsigned want_date = resending ? HDR_SEEN_RESENT_DATE : HDR_SEEN_DATE;
    unsigned want_from = resending ? HDR_SEEN_RESENT_FROM : HDR_SEEN_FROM;

    if (!(st->headers_seen & want_id)) {
        add_message_id(st, resent);
        st->headers_seen |= want_id;
    }
    if (!(st->headers_seen & want_date))
        add_date(st, resent);
    if (!(st->headers_seen & want_from))
        add_from(st, resent);
}

static void end_header_block(cleanup_state_t *st)
{
    flush_header(st);
    st->in_header = 0;
    if ((st->flags & CLEANUP_FLAG_LOCAL_CTX) || cleanup_settings.always_add_missing_headers)
        add_missing_headers(st);
    /* Log analysers expect a message-id line for every message. */
    if (!(st->headers_seen & HDR_SEEN_MESSAGE_ID))
        msg_info("%s: message-id=<>", st->queue_id);
}

/* One complete physical line while in the header block. */
static void header_line(cleanup_state_t *st, const char *text, size_t len)
{
    if (len == 0) {                             /* the blank line: body follows */
        end_header_block(st);
        cleanup_out_content(st, REC_TYPE_NORM, "", 0);
        return;
    }
    if ((text[0] == ' ' || text[0] == '\t') && st->header.len > 0) {
        buf_putc(&st->header, '\n');            /* a folded continuation */
        buf_append(&st->header, text, len);
        st->header_bytes += (long) len + 1;
        return;
    }
    if (header_name_len(text, len) > 0) {
        flush_header(st);
        buf_append(&st->header, text, len);
        st->header_bytes += (long) len + 1;
        return;
    }
    end_header_block(st);                       /* not a header: the body starts here */
    cleanup_out_line(st, text, len);
}

/* Past header_size_limit: the line being assembled and everything after it
 * is body. */
static void header_overflow(cleanup_state_t *st, int type)
{
    size_t max = (size_t) cleanup_settings.line_length_limit;
    const char *p = st->line.data;
    size_t len = st->line.len;

    end_header_block(st);
    if (type == REC_TYPE_NORM) {
        cleanup_out_line(st, p, len);
    } else {
        while (len > 0) {                       /* all L: the line goes on */
            size_t piece = len < max ? len : max;

            cleanup_out_content(st, REC_TYPE_CONT, p, piece);
            p += piece;
            len -= piece;
        }
        st->open_line = 1;
    }
    buf_reset(&st->line);
}

void cleanup_header_piece(cleanup_state_t *st, int type, const char *data, size_t len)
{
    long limit = cleanup_settings.header_size_limit;

    buf_append(&st->line, data, len);
    if ((long) st->line.len + (type == REC_TYPE_NORM) > limit - st->header_bytes) {
        header_overflow(st, type);
        return;
    }
    if (type == REC_TYPE_CONT)
        return;                                 /* more of this line follows */
    header_line(st, st->line.data, st->line.len);
    buf_reset(&st->line);
}

void cleanup_header_finish(cleanup_state_t *st)
{
    if (!st->in_header)
        return;
    if (st->line.len > 0) {                     /* a last line without its final N */
        header_line(st, st->line.data, st->line.len);
        buf_reset(&st->line);
    }
    if (st->in_header)
        end_header_block(st);
}
