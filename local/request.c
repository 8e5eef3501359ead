/* request: one connection from qmgr. Announce the protocol, read the
 * request, map the queue file, deliver each recipient in order, record its
 * fate (done mark or defer/bounce log, and the log line), then reply. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "local.h"
#include "log.h"
#include "privilege.h"
#include "queue_file.h"


static double time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void outcome_set(local_outcome_t *out, int result, const char *dsn, const char *fmt, ...)
{
    va_list ap;

    out->result = result;
    if (strlen(dsn) >= sizeof(out->dsn))
        msg_panic("outcome_set: bad dsn %s", dsn);
    memcpy(out->dsn, dsn, strlen(dsn) + 1);
    buf_reset(&out->reason);
    va_start(ap, fmt);
    buf_vprintf(&out->reason, fmt, ap);
    va_end(ap);
}

void outcome_set_errno(local_outcome_t *out, int err, const char *fmt, ...)
{
    va_list ap;
    int result = DELIVERY_DEFERRED;
    const char *dsn = "4.3.0";

    if (err == EFBIG || err == EDQUOT) {
        result = DELIVERY_BOUNCED;        /* the mailbox is full: retrying won't help */
        dsn = "5.2.2";
    } else if (err == EAGAIN || err == EWOULDBLOCK || err == ESTALE) {
        dsn = "4.2.0";
    }
    outcome_set(out, result, dsn, "%s", "");
    va_start(ap, fmt);
    buf_vprintf(&out->reason, fmt, ap);
    va_end(ap);
}

/* Checks what the request says about the content against the file. */
static int content_offset_valid(const delivery_request_t *req, const queue_map_t *qm)
{
    return req->data_offset > 0 && (unsigned long) req->data_offset < qm->size;
}

/* delivery_record as mail_owner: the defer and bounce logs it creates
 * must stay readable and removable by qmgr, which runs as mail_owner. The
 * queue file itself is already open, so marking a recipient done works. */
static void record(const delivery_request_t *req, const delivery_rcpt_t *rcpt, int queue_fd,
                   int result, const char *dsn, const char *reason, double delays[4],
                   delivery_result_t *res)
{
    if (local_cfg.started_as_root)
        privilege_become(local_cfg.owner_uid, local_cfg.owner_gid);
    delivery_record(req, rcpt, queue_fd, result, dsn, "local", reason, delays, res);
    if (local_cfg.started_as_root)
        privilege_restore();
}

static void record_all(const delivery_request_t *req, int queue_fd, int result,
                       const char *dsn, const char *reason, double start,
                       delivery_result_t *res)
{
    for (size_t i = 0; i < req->rcpt_count; i++) {
        double delays[4] = { 0, 0, 0, time_now() - start };

        record(req, &req->rcpts[i], queue_fd, result, dsn, reason, delays, &res[i]);
    }
}

static void deliver_each(const local_msg_t *msg, int queue_fd, double start,
                         delivery_result_t *res)
{
    const delivery_request_t *req = msg->req;
    double before_agent = start - ((double) req->arrival_time + req->arrival_usec / 1e6);
    local_outcome_t out;

    if (before_agent < 0)
        before_agent = 0;
    buf_init(&out.reason);
    for (size_t i = 0; i < req->rcpt_count; i++) {
        double rcpt_start = time_now();
        double delays[4];

        outcome_set(&out, DELIVERY_DEFERRED, "4.3.0", "internal error");
        recipient_deliver(msg, &req->rcpts[i], &out);
        delays[0] = before_agent;
        delays[1] = 0;
        delays[2] = rcpt_start - start;     /* earlier recipients, opening the file */
        delays[3] = time_now() - rcpt_start;
        record(req, &req->rcpts[i], queue_fd, out.result, out.dsn, buf_str(&out.reason),
               delays, &res[i]);
    }
    buf_release(&out.reason);
}

/* Delivers every recipient of req, filling res (one per recipient). */
static void deliver_request(const delivery_request_t *req, delivery_result_t *res)
{
    double start = time_now();
    queue_map_t qm;
    local_msg_t msg;
    buf_t why = BUF_INIT;

    memset(&qm, 0, sizeof(qm));
    if (delivery_queue_open(req, &qm, &why) < 0) {
        msg_warn("%s: %s", req->queue_id, buf_str(&why));
        record_all(req, -1, DELIVERY_DEFERRED, "4.3.0", buf_str(&why), start, res);
        buf_release(&why);
        return;
    }
    memset(&msg, 0, sizeof(msg));
    msg.req = req;
    msg.map = qm.data;
    msg.map_size = qm.size;
    msg.data_offset = (size_t) req->data_offset;
    msg.delivered_to = argv_new();
    if (!content_offset_valid(req, &qm) || message_scan_delivered_to(&msg) < 0) {
        msg_warn("%s: malformed queue file content", req->queue_id);
        record_all(req, qm.fd, DELIVERY_DEFERRED, "4.3.0",
                   "error reading queue file: malformed content", start, res);
    } else {
        deliver_each(&msg, qm.fd, start, res);
    }
    argv_free(msg.delivered_to);
    queue_map_close(&qm);
    buf_release(&why);
}

void local_serve(service_t *svc, stream_t *client)
{
    (void) svc;
    delivery_serve(client, deliver_request);
}
