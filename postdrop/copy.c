/* copy: the records a local submission may carry, checked one by one on
 * their way into the maildrop file. The caller is an ordinary user: record
 * types are limited per segment (envelope F S R A i n < M, content N L X,
 * extracted R n A E), sizes are bounded, and attributes are limited to the
 * two a user may choose. pickup checks all of it again. */
#include <string.h>

#include "buf.h"
#include "cleanup_client.h"
#include "log.h"
#include "postdrop.h"
#include "record.h"

typedef enum { SEG_ENVELOPE, SEG_CONTENT, SEG_EXTRACTED } segment_t;

typedef struct copy_state {
    stream_t           *in;
    queue_file_t       *qf;
    const postdrop_limits_t *lim;
    long                uid;
    segment_t           segment;
    long                bytes;          /* written to the file so far */
    int                 senders;
    int                 recipients;
    int                 status;         /* CLEANUP_STAT_* once refused */
} copy_state_t;

static const char *allowed_types(segment_t seg)
{
    switch (seg) {
    case SEG_ENVELOPE:  return "FSRAin<M";
    case SEG_CONTENT:   return "NLX";
    case SEG_EXTRACTED: return "RnAE";
    }
    return "";
}

/* Attributes a user may set: the body type (sendmail -B) and the address
 * rewriting context (sendmail -G). Anything else could forge what logs and
 * policies believe about a message's origin. */
static int attribute_allowed(const char *data, size_t len)
{
    static const char *const ok[] = {
        "encoding=7bit", "encoding=8bit", "rewrite_context=local", "rewrite_context=remote", NULL,
    };

    for (size_t i = 0; ok[i] != NULL; i++)
        if (strlen(ok[i]) == len && memcmp(ok[i], data, len) == 0)
            return 1;
    return 0;
}

static size_t record_limit(const copy_state_t *st)
{
    return st->segment == SEG_CONTENT ? st->lim->line_max : st->lim->envelope_max;
}

/* Writes a record unless the submission is already refused. */
static void put_record(copy_state_t *st, int type, const char *data, size_t len)
{
    unsigned char hdr[8];
    long size = (long) (rec_header(hdr, type, len) + len);

    if (st->status != 0)
        return;
    if (st->lim->file_max > 0 && size > st->lim->file_max - st->bytes) {
        st->status = CLEANUP_STAT_SIZE;
        return;
    }
    queue_file_put(st->qf, type, data, len);
    st->bytes += size;
    if (stream_status(st->qf->out) != STREAM_OK) {
        msg_warn("uid=%ld: error writing %s: %m", st->uid, st->qf->path);
        st->status = CLEANUP_STAT_WRITE;
    }
}

/* One record; returns 1 after E. */
static int copy_record(copy_state_t *st, int type, const char *data, size_t len)
{
    if (strchr(allowed_types(st->segment), type) == NULL || type == 0)
        msg_fatal("uid=%ld: unexpected record type: %d", st->uid, type);
    if (st->segment != SEG_CONTENT && memchr(data, 0, len) != NULL)
        msg_fatal("uid=%ld: malformed input: NUL byte in record type %d", st->uid, type);
    switch (type) {
    case REC_TYPE_ATTR:
        if (!attribute_allowed(data, len)) {
            msg_warn("uid=%ld: ignoring attribute record: %.200s", st->uid, data);
            return 0;
        }
        break;
    case REC_TYPE_FROM:
        st->senders++;
        break;
    case REC_TYPE_RCPT:
        st->recipients++;
        break;
    case REC_TYPE_MESG:
        st->segment = SEG_CONTENT;
        break;
    case REC_TYPE_XTRA:
        st->segment = SEG_EXTRACTED;
        break;
    default:
        break;
    }
    put_record(st, type, data, len);
    return type == REC_TYPE_END;
}

int postdrop_copy(stream_t *in, queue_file_t *qf, const postdrop_limits_t *lim,
                  uid_t uid, int *status)
{
    copy_state_t st;
    buf_t data = BUF_INIT;
    int ret = POSTDROP_CANCELLED;

    memset(&st, 0, sizeof(st));
    st.in = in;
    st.qf = qf;
    st.lim = lim;
    st.uid = (long) uid;
    st.segment = SEG_ENVELOPE;
    for (;;) {
        int type = rec_get(in, &data, record_limit(&st));

        if (type == REC_EOF)
            break;              /* the caller gave up: no message */
        if (type == REC_ERROR) {
            /* Cut off in the middle of a record: the caller gave up too. */
            if (stream_status(in) == STREAM_EOF)
                break;
            msg_fatal("uid=%ld: malformed input", st.uid);
        }
        if (copy_record(&st, type, buf_str(&data), data.len)) {
            ret = POSTDROP_DONE;
            break;
        }
    }
    buf_release(&data);
    /* Checked here so that the submitter hears it now, not at pickup. */
    if (ret == POSTDROP_DONE && st.status == 0 && (st.senders != 1 || st.recipients == 0))
        st.status = CLEANUP_STAT_BAD;
    *status = st.status;
    return ret;
}
