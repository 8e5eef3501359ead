/* session: one cleanup conversation. Creates incoming/ID, copies the client's
 * records into it as they arrive (never holding the message in memory),
 * commits it durably (then moves it into hold/ for a HOLD) and only then
 * answers, then wakes qmgr. Any failure removes the file: incoming/ never
 * keeps a partial message. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "cleanup.h"
#include "cleanup_client.h"
#include "ipc.h"
#include "log.h"
#include "record.h"

/* Envelope and extracted records are addresses and short attributes. */
#define CLEANUP_ENVELOPE_RECORD_MAX 4096

/* The file being written, for the fatal hook and the signal handler. The
 * path is copied into a fixed array so that the handler only calls unlink(). */
static char current_path[PATH_MAX];
static volatile sig_atomic_t have_current_path;

static void guard_set(const queue_file_t *qf)
{
    size_t len = strlen(qf->path);

    if (len >= sizeof(current_path))
        msg_fatal("queue file path too long: %s", qf->path);
    memcpy(current_path, qf->path, len + 1);
    have_current_path = 1;
}

static void guard_clear(void)
{
    have_current_path = 0;
}

static void remove_partial_file(void)
{
    if (have_current_path)
        (void) unlink(current_path);
    have_current_path = 0;
}

static void on_terminate(int sig)
{
    remove_partial_file();
    _exit(128 + sig);
}

void cleanup_signals_init(void)
{
    struct sigaction sa;

    log_set_fatal_hook(remove_partial_file);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_terminate;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        msg_fatal("sigaction: %m");
}

void cleanup_fail(cleanup_state_t *st, int status, const char *reason)
{
    if (st->errs == 0)
        buf_set(&st->reason, reason);
    st->errs |= status;
}

void cleanup_out(cleanup_state_t *st, int type, const void *data, size_t len)
{
    if (st->errs != 0)
        return;
    queue_file_put(st->qf, type, data, len);
    /* Fail now on a full disk rather than after reading the whole message. */
    if (stream_status(st->qf->out) != STREAM_OK) {
        msg_warn("%s: write queue file: %m", st->queue_id);
        cleanup_fail(st, CLEANUP_STAT_WRITE, "queue file write error");
    }
}

static void state_init(cleanup_state_t *st, queue_file_t *qf)
{
    memset(st, 0, sizeof(*st));
    st->qf = qf;
    memcpy(st->queue_id, qf->id, sizeof(st->queue_id));
    st->segment = SEG_ENVELOPE;
    buf_init(&st->reason);
    buf_init(&st->sender);
    buf_init(&st->fullname);
    buf_init(&st->dsn_orcpt);
    buf_init(&st->orig_rcpt);
    buf_init(&st->clean);
    buf_init(&st->line);
    buf_init(&st->header);
    buf_init(&st->scratch);
    buf_init(&st->redirect);
}

static void state_release(cleanup_state_t *st)
{
    buf_release(&st->reason);
    buf_release(&st->sender);
    buf_release(&st->fullname);
    buf_release(&st->dsn_orcpt);
    buf_release(&st->orig_rcpt);
    buf_release(&st->clean);
    buf_release(&st->line);
    buf_release(&st->header);
    buf_release(&st->scratch);
    buf_release(&st->redirect);
    cleanup_seen_free(&st->seen_rcpts);
    cleanup_rcpts_free(&st->envelope_rcpts);
}

/* The C record goes first with zero counts; commit rewrites it in place. */
static void write_size_placeholder(queue_file_t *qf)
{
    rec_size_info_t zero;
    buf_t text = BUF_INIT;

    memset(&zero, 0, sizeof(zero));
    rec_size_format(&text, &zero);
    if (text.len != REC_SIZE_LEN)
        msg_panic("rec_size_format: %zu bytes, expected %d", text.len, REC_SIZE_LEN);
    queue_file_put(qf, REC_TYPE_SIZE, text.data, text.len);
    buf_release(&text);
}

static int read_request_flags(stream_t *client, int *flags)
{
    static const char *const required[] = { "flags", NULL };
    attr_list_t *attrs = attr_list_new();
    long value;
    int ret = -1;

    if (attr_read(client, attrs) == 0 && attr_check(attrs, required, NULL) == 0
        && attr_get_long(attrs, "flags", &value) == 0 && value >= 0 && value <= INT_MAX) {
        *flags = (int) value;
        ret = 0;
    }
    attr_list_free(attrs);
    return ret;
}

static size_t record_limit(const cleanup_state_t *st)
{
    if (st->segment == SEG_CONTENT)
        return (size_t) cleanup_settings.line_length_limit;
    return CLEANUP_ENVELOPE_RECORD_MAX;
}

/* Routes one record by segment. Returns 1 after E. */
static int dispatch_record(cleanup_state_t *st, int type, const char *data, size_t len)
{
    if (type == REC_TYPE_END) {
        if (st->segment == SEG_ENVELOPE)
            cleanup_fail(st, CLEANUP_STAT_BAD, "internal protocol error");
        else if (st->segment == SEG_CONTENT)
            cleanup_content_end(st);        /* writes the X the client left out */
        return 1;
    }
    switch (st->segment) {
    case SEG_ENVELOPE:
        cleanup_envelope_record(st, type, data, len);
        break;
    case SEG_CONTENT:
        if (type == REC_TYPE_XTRA)
            cleanup_content_end(st);
        else
            cleanup_content_record(st, type, data, len);
        break;
    case SEG_EXTRACTED:
        cleanup_extracted_record(st, type, data, len);
        break;
    }
    return 0;
}

/* Reads records through E. After an error nothing more is written, but
 * reading goes on so that the client gets to hear the status. Returns 0
 * when E arrived, -1 when the client went away or sent garbage. */
static int read_records(cleanup_state_t *st, stream_t *client)
{
    buf_t data = BUF_INIT;
    int ret = -1;

    for (;;) {
        int type = rec_get(client, &data, record_limit(st));

        if (type == REC_EOF) {
            msg_debug("%s: client went away before the end of the message", st->queue_id);
            break;
        }
        if (type == REC_ERROR) {
            msg_warn("%s: %s from client", st->queue_id,
                     stream_status(client) == STREAM_TIMEOUT ? "timeout reading records"
                     : "malformed, oversized or truncated record");
            break;
        }
        if (st->errs != 0) {
            if (type == REC_TYPE_END) {
                ret = 0;
                break;
            }
            continue;
        }
        if (dispatch_record(st, type, data.data, data.len)) {
            ret = 0;
            break;
        }
    }
    buf_release(&data);
    return ret;
}

/* HOLD: the file moves into hold/, which qmgr never scans, while it is
 * still embryonic (mode 0600), and is committed there. Renaming after the
 * commit instead would leave a complete file in incoming/ for a moment, and
 * a qmgr scan at that moment would deliver it (and the rename would fail).
 * Crash order: before the rename, an embryonic file in incoming/; between
 * the rename and the fsync, an embryonic file in hold/ that nothing reads
 * (nothing is lost either way: the client got no reply and sends again);
 * after the fsync, a complete held file. hold/ itself is not fsync'ed:
 * rename() is atomic, so the file is in one folder or the other, never
 * lost, and the file's fsync comes after the rename (on journaling file
 * systems it commits the rename too); at worst a power cut would bring a
 * complete file back in incoming/ - delivered rather than held. */
static int move_to_hold(cleanup_state_t *st)
{
    queue_file_t *qf = st->qf;
    buf_t path = BUF_INIT;

    if (queue_move(QUEUE_INCOMING, QUEUE_HOLD, st->queue_id) < 0) {
        msg_warn("%s: cannot move %s to %s: %m", st->queue_id, qf->path, QUEUE_HOLD);
        cleanup_fail(st, CLEANUP_STAT_WRITE, "queue file write error");
        return -1;
    }
    queue_path(&path, QUEUE_HOLD, st->queue_id);
    free(qf->path);
    qf->path = buf_steal(&path);
    free(qf->queue);
    qf->queue = xstrdup(QUEUE_HOLD);
    guard_clear();                  /* never half a path in the signal handler */
    guard_set(qf);                  /* a failure from here removes hold/ID */
    return 0;
}

/* Writes E and makes the file durable (queue_file_commit: C rewritten,
 * mode 0700 = complete, fsync). Nothing is said to the client before. */
static void commit_message(cleanup_state_t *st)
{
    rec_size_info_t info;

    if (st->errs == 0 && st->rcpt_count == 0)
        cleanup_fail(st, CLEANUP_STAT_RCPT, "no recipients specified");
    if (st->errs == 0 && (st->flags & CLEANUP_FLAG_HOLD))
        (void) move_to_hold(st);
    if (st->errs != 0) {
        queue_file_abort(st->qf);
        st->qf = NULL;
        return;
    }
    queue_file_put(st->qf, REC_TYPE_END, "", 0);
    memset(&info, 0, sizeof(info));
    info.content_size = st->content_size;
    info.data_offset = st->data_offset;
    info.rcpt_count = st->rcpt_count;
    info.content_length = st->content_size;
    if (queue_file_commit(st->qf, &info) < 0) {
        msg_warn("%s: queue file write error: %m", st->queue_id);
        cleanup_fail(st, CLEANUP_STAT_WRITE, "queue file write error");
    }
    queue_file_free(st->qf);
    st->qf = NULL;
}

static void send_reply(cleanup_state_t *st, stream_t *client)
{
    attr_put_long(client, "status", st->errs);
    attr_put_str(client, "reason", st->errs ? buf_str(&st->reason) : "");
    attr_put_end(client);
    if (stream_flush(client) < 0)
        msg_warn("%s: lost connection while sending the status", st->queue_id);
}

/* A lost trigger only delays delivery: qmgr scans incoming/ when it starts. */
static void wake_qmgr(const char *queue_id)
{
    buf_t bytes = BUF_INIT;

    buf_printf(&bytes, "%c%s\n", QMGR_TRIGGER_NEW, queue_id);
    if (trigger_send("public/qmgr", bytes.data, bytes.len) < 0)
        msg_warn("%s: cannot wake up qmgr: public/qmgr: %m", queue_id);
    buf_release(&bytes);
}

static void converse(cleanup_state_t *st, stream_t *client)
{
    attr_put_str(client, "protocol", "cleanup_protocol");
    attr_put_str(client, "queue_id", st->queue_id);
    attr_put_end(client);
    if (stream_flush(client) < 0 || read_request_flags(client, &st->flags) < 0) {
        /* A client that gave up before its first write is not an error. */
        if (stream_status(client) == STREAM_EOF)
            msg_debug("%s: client went away before sending flags", st->queue_id);
        else
            msg_warn("%s: cleanup protocol error: no request flags from client", st->queue_id);
        return;
    }
    if (read_records(st, client) < 0)
        return;
    commit_message(st);
    if (st->errs == 0)
        guard_clear();              /* committed: the file is qmgr's now */
    send_reply(st, client);
    /* A held message is none of qmgr's business until postsuper -H. */
    if (st->errs == 0 && !(st->flags & CLEANUP_FLAG_HOLD))
        wake_qmgr(st->queue_id);
}

void cleanup_serve(service_t *svc, stream_t *client)
{
    cleanup_state_t st;
    queue_file_t *qf;

    (void) svc;
    stream_set_timeout(client, cleanup_settings.ipc_timeout);
    if ((qf = queue_file_create(QUEUE_INCOMING)) == NULL) {
        msg_warn("cannot create a file in %s: %m", QUEUE_INCOMING);
        return;                     /* the client sees no queue ID and gives up */
    }
    guard_set(qf);
    write_size_placeholder(qf);
    state_init(&st, qf);
    converse(&st, client);
    if (st.qf != NULL)              /* the conversation ended before E */
        queue_file_abort(st.qf);
    guard_clear();
    state_release(&st);
}
