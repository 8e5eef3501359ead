/* requeue: postsuper -r. Postfix moves the file to maildrop for pickup
 * and cleanup to process again; facteur has no pickup yet, so the file is
 * copied here into a new queue file in incoming/ (a new queue ID, the
 * arrival time kept, a fresh create_time, pointer records resolved), the
 * copy is committed (mode 0700 + fsync), and only then is the old file
 * removed with its defer/bounce/trace logs. A crash in between leaves two
 * copies, never none. qmgr resolves every recipient anew on the next
 * attempt, so fixed routing applies to the requeued message. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dsn_log.h"
#include "log.h"
#include "postsuper.h"
#include "queue_file.h"
#include "queue_info.h"
#include "record.h"

typedef struct copier {
    queue_file_t   *qf;
    rec_size_info_t old;          /* the old C record, when there was one */
    int             have_old;
    int             wrote_ctime;
    int             in_content;
    long            content_size; /* N: len + 1, L: len (cleanup's count) */
    long            rcpt_count;
    long            data_offset;
} copier_t;

static int is_create_time(const rec_t *rec)
{
    static const char name[] = "create_time=";

    return rec->type == REC_TYPE_ATTR && rec->len >= sizeof(name) - 1
        && memcmp(rec->data, name, sizeof(name) - 1) == 0;
}

static void write_size_placeholder(copier_t *c)
{
    rec_size_info_t zero;
    buf_t text = BUF_INIT;

    memset(&zero, 0, sizeof(zero));
    rec_size_format(&text, &zero);
    queue_file_put(c->qf, REC_TYPE_SIZE, text.data, text.len);
    buf_release(&text);
}

static void write_create_time(copier_t *c)
{
    queue_file_printf(c->qf, REC_TYPE_ATTR, "create_time=%ld", (long) time(NULL));
    c->wrote_ctime = 1;
}

/* One record of the old file, in logical order. 1 after E. */
static int copy_record(copier_t *c, const rec_t *rec)
{
    switch (rec->type) {
    case REC_TYPE_PAD:
    case REC_TYPE_CTIME:
        return 0;                        /* padding; the old create time */
    case REC_TYPE_MESG:
        if (!c->wrote_ctime)
            write_create_time(c);
        queue_file_put(c->qf, REC_TYPE_MESG, "", 0);
        c->data_offset = c->qf->offset;
        c->in_content = 1;
        return 0;
    case REC_TYPE_XTRA:
        c->in_content = 0;
        break;
    case REC_TYPE_NORM:
    case REC_TYPE_CONT:
        if (c->in_content)
            c->content_size += (long) rec->len + (rec->type == REC_TYPE_NORM);
        break;
    case REC_TYPE_RCPT:
        c->rcpt_count++;
        break;
    default:
        if (!c->in_content && is_create_time(rec))
            return 0;
        break;
    }
    queue_file_put(c->qf, rec->type, rec->data, rec->len);
    if (rec->type == REC_TYPE_TIME && !c->in_content && !c->wrote_ctime)
        write_create_time(c);          /* where cleanup puts it: after T */
    return rec->type == REC_TYPE_END;
}

/* 0 when the whole file up to E was copied. */
static int copy_records(copier_t *c, const queue_view_t *view)
{
    queue_walk_t walk;
    rec_t rec;
    int got, first = 1;

    queue_walk_init(&walk, view->data, view->size, 0, 0);
    write_size_placeholder(c);
    while ((got = queue_walk_next(&walk, &rec)) == 1) {
        if (first && rec.type == REC_TYPE_SIZE) {
            c->have_old = rec_size_parse(rec.data, rec.len, &c->old) == 0;
            first = 0;
            continue;
        }
        first = 0;
        if (copy_record(c, &rec))
            return 0;
    }
    return -1;
}

static void size_info(const copier_t *c, rec_size_info_t *info)
{
    memset(info, 0, sizeof(*info));
    if (c->have_old)
        *info = c->old;
    info->content_size = c->content_size;
    info->data_offset = c->data_offset;
    if (!c->have_old) {
        info->rcpt_count = c->rcpt_count;
        info->content_length = c->content_size;
    }
}

/* Writes the copy; the new ID in new_id. 0 or -1 (warned). */
static int write_copy(const target_t *t, const queue_view_t *view, buf_t *new_id)
{
    copier_t c;
    rec_size_info_t info;

    memset(&c, 0, sizeof(c));
    if ((c.qf = queue_file_create(QUEUE_INCOMING)) == NULL) {
        msg_warn("%s: create a file in %s: %m", t->id, QUEUE_INCOMING);
        return -1;
    }
    if (copy_records(&c, view) < 0) {
        msg_warn("%s: malformed queue file %s: not requeued", t->id, t->path);
        queue_file_abort(c.qf);
        return -1;
    }
    size_info(&c, &info);
    buf_set(new_id, c.qf->id);
    if (queue_file_commit(c.qf, &info) < 0) {
        msg_warn("%s: write %s/%s: %m", t->id, QUEUE_INCOMING, buf_str(new_id));
        queue_file_free(c.qf);
        return -1;
    }
    queue_file_free(c.qf);
    return 0;
}

static void remove_old(const target_t *t)
{
    static const char *const logs[] = { QUEUE_DEFER, QUEUE_BOUNCE, QUEUE_TRACE };
    size_t i;

    if (unlink(t->path) < 0)
        msg_warn("%s: remove %s: %m", t->id, t->path);
    for (i = 0; i < sizeof(logs) / sizeof(logs[0]); i++)
        if (dsn_log_remove(logs[i], t->id) < 0)
            msg_warn("%s: remove %s log: %m", t->id, logs[i]);
}

int op_requeue(const target_t *t)
{
    buf_t new_id = BUF_INIT;
    queue_view_t view;
    int fd, ok = 0;

    /* Locked during the copy: no agent marks a recipient done in the old
     * file after it was copied. */
    if ((fd = target_lock(t)) < 0)
        return 0;
    if (queue_view_open(t->path, &view) < 0) {
        if (errno != ENOENT)
            msg_warn("%s: open %s: %m", t->id, t->path);
    } else {
        if (write_copy(t, &view, &new_id) == 0) {
            remove_old(t);
            ok = 1;
        }
        queue_view_close(&view);
    }
    close(fd);
    if (ok) {
        msg_info("%s: requeued", t->id);
        /* Where the new file came from, for the log only (pickup's line). */
        log_set_stderr(0);
        msg_info("%s: orig_id=%s", buf_str(&new_id), t->id);
        log_set_stderr(1);
    }
    buf_release(&new_id);
    return ok;
}
