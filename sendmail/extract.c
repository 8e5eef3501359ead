/* extract: sendmail -t. Watches the message's header block as it streams
 * by and collects the addresses of To:, Cc: and Bcc: (or, once any
 * Resent-To/Cc/Bcc header shows up, of those only). Bounded by
 * header_size_limit; the message itself is never held. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "alloc.h"
#include "buf.h"
#include "record.h"
#include "sendmail.h"

struct sm_extract {
    long    limit;        /* header_size_limit */
    long    used;         /* header bytes seen */
    int     in_header;
    buf_t   line;         /* the physical line being assembled (L pieces) */
    buf_t   header;       /* the logical header being assembled (folding) */
    int     resent;       /* a Resent- recipient header was seen */
    argv_t *plain;        /* from To/Cc/Bcc */
    argv_t *resent_rcpt;  /* from Resent-To/Cc/Bcc */
};

sm_extract_t *sm_extract_new(long header_limit)
{
    sm_extract_t *x = xcalloc(1, sizeof(*x));

    x->limit = header_limit > 0 ? header_limit : 102400;
    x->in_header = 1;
    x->plain = argv_new();
    x->resent_rcpt = argv_new();
    return x;
}

/* Length of the header name when line starts "Name:" (blanks allowed
 * before the colon, as in obsolete syntax); 0 when it is not a header. */
static size_t header_name_len(const char *line, size_t len)
{
    size_t n = 0, end;

    while (n < len && line[n] > ' ' && line[n] < 0x7f && line[n] != ':')
        n++;
    if (n == 0)
        return 0;
    end = n;
    while (n < len && (line[n] == ' ' || line[n] == '\t'))
        n++;
    return n < len && line[n] == ':' ? end : 0;
}

static int name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Adds the addresses of a complete header when it names recipients. */
static void header_done(sm_extract_t *x)
{
    const char *h = buf_str(&x->header);
    size_t nlen = header_name_len(h, x->header.len);
    argv_t *dest, *found;

    if (nlen == 0)
        return;
    if (name_is(h, nlen, "resent-to") || name_is(h, nlen, "resent-cc")
        || name_is(h, nlen, "resent-bcc")) {
        dest = x->resent_rcpt;
        x->resent = 1;
    } else if (!x->resent && (name_is(h, nlen, "to") || name_is(h, nlen, "cc")
                              || name_is(h, nlen, "bcc"))) {
        dest = x->plain;
    } else {
        return;
    }
    found = header_addresses_parse(strchr(h, ':') + 1);
    for (size_t i = 0; i < found->argc; i++)
        if (*found->argv[i])
            argv_add(dest, found->argv[i]);
    argv_free(found);
}

static void flush_header(sm_extract_t *x)
{
    if (x->header.len > 0)
        header_done(x);
    buf_reset(&x->header);
}

/* One complete physical line of the header block. */
static void header_line(sm_extract_t *x, const char *text, size_t len)
{
    if (len == 0) {                                  /* the blank line */
        flush_header(x);
        x->in_header = 0;
    } else if ((text[0] == ' ' || text[0] == '\t') && x->header.len > 0) {
        /* Unfolding removes only the line break. */
        buf_append(&x->header, text, len);
    } else if (header_name_len(text, len) > 0) {
        flush_header(x);
        buf_append(&x->header, text, len);
    } else {                                         /* the body starts here */
        flush_header(x);
        x->in_header = 0;
    }
}

int sm_extract_record(sm_extract_t *x, int type, const char *data, size_t len)
{
    if (!x->in_header)
        return 0;
    if ((long) len > x->limit - x->used)
        return -1;
    x->used += (long) len + (type == REC_TYPE_NORM);
    buf_append(&x->line, data, len);
    if (type == REC_TYPE_CONT)
        return 0;                                    /* more of this line follows */
    header_line(x, x->line.data ? x->line.data : "", x->line.len);
    buf_reset(&x->line);
    return 0;
}

argv_t *sm_extract_finish(sm_extract_t *x)
{
    argv_t *out;

    if (x->in_header) {
        if (x->line.len > 0)
            header_line(x, x->line.data, x->line.len);
        flush_header(x);
    }
    out = x->resent ? x->resent_rcpt : x->plain;
    argv_free(x->resent ? x->plain : x->resent_rcpt);
    buf_release(&x->line);
    buf_release(&x->header);
    free(x);
    return out;
}
