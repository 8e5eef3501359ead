/* file: one maildrop file into the queue. The file comes from an ordinary
 * user through postdrop, so every record is checked again: types per
 * segment, sizes, attributes. The copy goes to cleanup in the local
 * context with our Received: header first; the maildrop file is removed
 * only after cleanup has committed its copy, so a crash or a cleanup
 * failure never loses a message (at worst it is queued twice). A file that
 * is not a submission is moved to corrupt/ for the administrator. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "buf.h"
#include "cleanup_client.h"
#include "log.h"
#include "maildate.h"
#include "pickup.h"
#include "queue_file.h"
#include "record.h"
#include "stream.h"

#define CLEANUP_SERVICE     "public/cleanup"
#define RECORD_READ_MAX     (1024 * 1024)   /* any record read from a maildrop file */
#define ENVELOPE_RECORD_MAX 4096            /* what cleanup accepts */
#define CLOCK_SKEW_MAX      (2 * 3600)      /* files dated later than this are skipped */
#define DAY_SECONDS         86400
#define EARLY_ATTRS_MAX     16

typedef enum { SEG_ENVELOPE, SEG_CONTENT, SEG_EXTRACTED, SEG_DONE } segment_t;

/* How copying ended. */
typedef enum {
    COPY_DONE,              /* E sent: ask cleanup for its verdict */
    COPY_MALFORMED,         /* not a submission: move it aside */
    COPY_NO_CLEANUP,        /* cleanup unavailable: try again later */
    COPY_READ_ERROR,        /* I/O error on the file: try again later */
} copy_result_t;

typedef struct pickup_msg {
    const char       *name;          /* the maildrop file's queue ID */
    buf_t             path;          /* "maildrop/ID" */
    struct stat       st;
    stream_t         *in;
    cleanup_client_t *cl;            /* NULL until the first record that needs it */
    segment_t         segment;
    int               local_ctx;     /* rewrite_context=local (the default) */
    buf_t             time;          /* the file's T record, or "" */
    argv_t           *early_attrs;   /* allowed A records read before cleanup opened */
    char             *sender;        /* NULL until S */
    int               content_seen;
    buf_t             why;           /* what made the file malformed */
} pickup_msg_t;

/* ---------- opening ---------- */

/* Opens the file when it is ready: regular, complete (owner rwx), one
 * link, not dated in the future. PICKUP_TAKEN when it vanished. */
static int open_ready(pickup_msg_t *m)
{
    struct stat lst;
    time_t now = time(NULL);
    int fd;

    if (lstat(m->path.data, &lst) < 0) {
        if (errno == ENOENT)
            return PICKUP_TAKEN;            /* someone else took it */
        msg_warn("lstat %s: %m", m->path.data);
        return PICKUP_LEFT;
    }
    if (!S_ISREG(lst.st_mode) || !queue_mode_complete(lst.st_mode))
        return PICKUP_LEFT;                 /* still being written, or not ours */
    if (lst.st_nlink > 1) {
        msg_warn("%s: uid=%ld: file has %ld links", m->path.data, (long) lst.st_uid,
                 (long) lst.st_nlink);
        return PICKUP_LEFT;
    }
    if (lst.st_mtime > now + CLOCK_SKEW_MAX) {
        msg_warn("%s: file dated %ld seconds into the future: skipped", m->path.data,
                 (long) (lst.st_mtime - now));
        return PICKUP_LEFT;
    }
    fd = open(m->path.data, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return PICKUP_TAKEN;
        msg_warn("open %s: %m", m->path.data);
        return PICKUP_LEFT;
    }
    /* The name must still be the file we checked. */
    if (fstat(fd, &m->st) < 0 || m->st.st_ino != lst.st_ino || m->st.st_dev != lst.st_dev) {
        close(fd);
        return PICKUP_LEFT;
    }
    if (m->st.st_mtime < now - DAY_SECONDS)
        msg_warn("%s: message has been queued for %ld days", m->path.data,
                 (long) ((now - m->st.st_mtime) / DAY_SECONDS));
    m->in = stream_fdopen(fd);
    return -1;
}

/* ---------- to cleanup ---------- */

static void put(pickup_msg_t *m, int type, const char *data, size_t len)
{
    rec_put(m->cl->s, type, data, len);
}

/* Content goes to cleanup in pieces it accepts (line_length_limit may
 * have shrunk since the file was written). */
static void put_content(pickup_msg_t *m, int type, const char *data, size_t len)
{
    while (len > pickup_conf.line_max) {
        put(m, REC_TYPE_CONT, data, pickup_conf.line_max);
        data += pickup_conf.line_max;
        len -= pickup_conf.line_max;
    }
    put(m, type, data, len);
}

/* Connects to cleanup at the first record that must go there; the file's
 * T and rewrite_context come first. 0, or -1 when cleanup is unavailable. */
static int need_cleanup(pickup_msg_t *m)
{
    buf_t why = BUF_INIT;

    if (m->cl != NULL)
        return 0;
    m->cl = cleanup_open(CLEANUP_SERVICE, m->local_ctx ? CLEANUP_FLAG_LOCAL_CTX : CLEANUP_FLAG_NONE,
                         &why);
    if (m->cl == NULL) {
        msg_warn("%s", buf_str(&why));
        buf_release(&why);
        return -1;
    }
    buf_release(&why);
    if (m->time.len > 0)
        put(m, REC_TYPE_TIME, m->time.data, m->time.len);
    else
        rec_printf(m->cl->s, REC_TYPE_TIME, "%ld 0", (long) m->st.st_mtime);
    rec_printf(m->cl->s, REC_TYPE_ATTR, "rewrite_context=%s", m->local_ctx ? "local" : "remote");
    for (size_t i = 0; i < m->early_attrs->argc; i++)
        rec_puts(m->cl->s, REC_TYPE_ATTR, m->early_attrs->argv[i]);
    return 0;
}

/* M: the log line, then our Received: header before the user's text. */
static void start_content(pickup_msg_t *m)
{
    buf_t date = BUF_INIT;

    msg_info("%s: uid=%ld from=<%s>", m->cl->queue_id, (long) m->st.st_uid, m->sender);
    put(m, REC_TYPE_MESG, "", 0);
    rec_printf(m->cl->s, REC_TYPE_NORM, "Received: by %s (%s, from userid %ld)",
               pickup_conf.myhostname, pickup_conf.mail_name, (long) m->st.st_uid);
    mail_date(&date, m->st.st_mtime);
    rec_printf(m->cl->s, REC_TYPE_NORM, "\tid %s; %s", m->cl->queue_id, buf_str(&date));
    buf_release(&date);
    m->segment = SEG_CONTENT;
}

/* ---------- checking records ---------- */

static int malformed(pickup_msg_t *m, int type, const char *what)
{
    buf_reset(&m->why);
    buf_printf(&m->why, "%s record type %d", what, type);
    return COPY_MALFORMED;
}

/* "sec" or "sec usec", digits only. */
static int time_valid(const char *data, size_t len)
{
    size_t i = 0, digits = 0;

    while (i < len && data[i] >= '0' && data[i] <= '9')
        i++, digits++;
    if (digits == 0 || digits > 18)
        return 0;
    if (i == len)
        return 1;
    if (data[i++] != ' ')
        return 0;
    for (digits = 0; i < len && data[i] >= '0' && data[i] <= '9'; i++)
        digits++;
    return i == len && digits > 0 && digits <= 6;
}

static int attr_is(const char *data, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(data, want, len) == 0;
}

/* A: only what postdrop lets a user say. Returns 1 to forward it. */
static int attribute_record(pickup_msg_t *m, const char *data, size_t len)
{
    if (attr_is(data, len, "rewrite_context=remote") || attr_is(data, len, "rewrite_context=local")) {
        if (m->cl == NULL)
            m->local_ctx = attr_is(data, len, "rewrite_context=local");
        return 0;
    }
    if (!attr_is(data, len, "encoding=7bit") && !attr_is(data, len, "encoding=8bit")) {
        msg_debug("%s: ignoring attribute %.100s", m->path.data, data);
        return 0;
    }
    if (m->cl == NULL) {
        if (m->early_attrs->argc < EARLY_ATTRS_MAX)
            argv_addn(m->early_attrs, data, len);
        return 0;
    }
    return 1;
}

static int envelope_record(pickup_msg_t *m, int type, const char *data, size_t len)
{
    if (len > ENVELOPE_RECORD_MAX || memchr(data, 0, len) != NULL)
        return malformed(m, type, "oversized or binary envelope");
    switch (type) {
    case REC_TYPE_TIME:
        if (m->cl != NULL || m->time.len > 0 || !time_valid(data, len))
            return malformed(m, type, "misplaced or bad");
        buf_append(&m->time, data, len);
        return -1;
    case REC_TYPE_ATTR:
        if (!attribute_record(m, data, len))
            return -1;
        break;
    case REC_TYPE_FROM:
        if (m->sender != NULL)
            return malformed(m, type, "repeated sender");
        m->sender = xstrndup(data, len);
        break;
    case REC_TYPE_RCPT:
    case REC_TYPE_DSN_NOTIFY:
    case REC_TYPE_DSN_ORCPT:
        if (m->sender == NULL)
            return malformed(m, type, "recipient before sender");
        break;
    case REC_TYPE_FULL:
    case REC_TYPE_DSN_RET:
    case REC_TYPE_DSN_ENVID:
        break;
    case REC_TYPE_MESG:
        if (m->sender == NULL)
            return malformed(m, type, "no envelope sender before");
        if (need_cleanup(m) < 0)
            return COPY_NO_CLEANUP;
        start_content(m);
        return -1;
    default:
        return malformed(m, type, "unexpected envelope");
    }
    if (need_cleanup(m) < 0)
        return COPY_NO_CLEANUP;
    put(m, type, data, len);
    return -1;
}

static int content_record(pickup_msg_t *m, int type, const char *data, size_t len)
{
    switch (type) {
    case REC_TYPE_NORM:
    case REC_TYPE_CONT:
        /* A first line that starts with white space would continue our
         * Received: header; an empty line keeps it the user's. */
        if (!m->content_seen && len > 0 && (data[0] == ' ' || data[0] == '\t'))
            put(m, REC_TYPE_NORM, "", 0);
        m->content_seen = 1;
        put_content(m, type, data, len);
        return -1;
    case REC_TYPE_XTRA:
        put(m, type, "", 0);
        m->segment = SEG_EXTRACTED;
        return -1;
    default:
        return malformed(m, type, "unexpected content");
    }
}

static int extracted_record(pickup_msg_t *m, int type, const char *data, size_t len)
{
    if (len > ENVELOPE_RECORD_MAX || memchr(data, 0, len) != NULL)
        return malformed(m, type, "oversized or binary extracted");
    switch (type) {
    case REC_TYPE_ATTR:
        if (!attribute_record(m, data, len))
            return -1;
        break;
    case REC_TYPE_RCPT:
    case REC_TYPE_DSN_NOTIFY:
    case REC_TYPE_DSN_ORCPT:
        break;
    case REC_TYPE_END:
        m->segment = SEG_DONE;
        break;
    default:
        return malformed(m, type, "unexpected extracted");
    }
    put(m, type, data, len);
    return -1;
}

/* Reads the file through E; every record is checked before it is sent.
 * Each record handler returns -1 to go on, or how copying ended. */
static copy_result_t copy_file(pickup_msg_t *m)
{
    buf_t data = BUF_INIT;
    int r = -1;

    while (r < 0 && m->segment != SEG_DONE) {
        int type = rec_get(m->in, &data, RECORD_READ_MAX);
        const char *p = buf_str(&data);

        if (type == REC_ERROR && stream_status(m->in) == STREAM_IOERR) {
            msg_warn("read %s: %m", m->path.data);
            r = COPY_READ_ERROR;
        } else if (type == REC_EOF) {
            buf_set(&m->why, "truncated file: no end record");
            r = COPY_MALFORMED;
        } else if (type == REC_ERROR) {
            buf_set(&m->why, "malformed or oversized record");
            r = COPY_MALFORMED;
        } else if (m->segment == SEG_ENVELOPE) {
            r = envelope_record(m, type, p, data.len);
        } else if (m->segment == SEG_CONTENT) {
            r = content_record(m, type, p, data.len);
        } else {
            r = extracted_record(m, type, p, data.len);
        }
    }
    buf_release(&data);
    return r < 0 ? COPY_DONE : (copy_result_t) r;
}

/* ---------- outcomes ---------- */

static int move_aside(pickup_msg_t *m, const char *why)
{
    msg_warn("%s: uid=%ld: %s: moved to %s/%s", m->path.data, (long) m->st.st_uid, why,
             QUEUE_CORRUPT, m->name);
    if (queue_move(QUEUE_MAILDROP, QUEUE_CORRUPT, m->name) < 0) {
        msg_warn("move %s to %s: %m", m->path.data, QUEUE_CORRUPT);
        return PICKUP_LEFT;
    }
    return PICKUP_TAKEN;
}

static int remove_file(pickup_msg_t *m)
{
    if (unlink(m->path.data) < 0 && errno != ENOENT) {
        /* It will be queued again at the next scan. */
        msg_warn("remove %s: %m", m->path.data);
        return PICKUP_LEFT;
    }
    return PICKUP_TAKEN;
}

/* What cleanup's status means for the maildrop file. */
static int cleanup_verdict(pickup_msg_t *m, int status, const char *reason)
{
    if (status == CLEANUP_STAT_OK)
        return remove_file(m);
    if (status & (CLEANUP_STAT_WRITE | CLEANUP_STAT_DEFER)) {
        msg_warn("%s: error writing %s: %s: will try again", m->path.data, m->cl->queue_id, reason);
        return PICKUP_STOP;
    }
    if (status == CLEANUP_STAT_RCPT) {
        /* As Postfix: a submission without recipients is discarded. */
        msg_warn("%s: uid=%ld: %s: discarded", m->path.data, (long) m->st.st_uid, reason);
        return remove_file(m);
    }
    /* Refused for good (too big, content, hops) or not understood. There
     * is no bounce from here yet: keep it for the administrator. */
    return move_aside(m, *reason ? reason : "rejected by cleanup");
}

static int finish(pickup_msg_t *m, copy_result_t r)
{
    buf_t reason = BUF_INIT;
    int ret;

    switch (r) {
    case COPY_DONE:
        ret = cleanup_verdict(m, cleanup_finish(m->cl, &reason), buf_str(&reason));
        m->cl = NULL;
        break;
    case COPY_MALFORMED:
        ret = move_aside(m, buf_str(&m->why));
        break;
    case COPY_NO_CLEANUP:
        ret = PICKUP_STOP;
        break;
    default:
        ret = PICKUP_LEFT;
        break;
    }
    /* Without E, cleanup removes its unfinished file. */
    cleanup_abort(m->cl);
    m->cl = NULL;
    buf_release(&reason);
    return ret;
}

int pickup_file(const char *name)
{
    pickup_msg_t m;
    int ret;

    memset(&m, 0, sizeof(m));
    m.name = name;
    m.local_ctx = 1;
    m.segment = SEG_ENVELOPE;
    m.early_attrs = argv_new();
    buf_printf(&m.path, "%s/%s", QUEUE_MAILDROP, name);
    ret = open_ready(&m);
    if (ret < 0) {
        ret = finish(&m, copy_file(&m));
        stream_close(m.in);
    }
    argv_free(m.early_attrs);
    free(m.sender);
    buf_release(&m.path);
    buf_release(&m.time);
    buf_release(&m.why);
    return ret;
}
