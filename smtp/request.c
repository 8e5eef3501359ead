/* request: one connection from qmgr. Announce the protocol, read the
 * request, map the queue file under a shared lock, deliver, and reply once
 * every recipient's fate is recorded (done mark or defer/bounce log, and
 * the log line). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "queue_file.h"
#include "smtp.h"


/* Every recipient gets the same deferral (the message could not be read). */
static void defer_all(const delivery_request_t *req, int queue_fd, const char *reason,
                      double start, delivery_result_t *res)
{
    for (size_t i = 0; i < req->rcpt_count; i++) {
        double delays[4] = { 0, 0, 0, time_now() - start };

        delivery_record(req, &req->rcpts[i], queue_fd, DELIVERY_DEFERRED, "4.3.0", "none",
                        reason, delays, &res[i]);
    }
}

static void deliver_request(const delivery_request_t *req, delivery_result_t *res)
{
    double start = time_now();
    queue_map_t qm;
    agent_msg_t msg;
    buf_t why = BUF_INIT;
    int content_ok = 0;

    memset(&qm, 0, sizeof(qm));
    if (delivery_queue_open(req, &qm, &why) < 0) {
        msg_warn("%s: %s", req->queue_id, buf_str(&why));
        defer_all(req, -1, buf_str(&why), start, res);
        buf_release(&why);
        return;
    }
    memset(&msg, 0, sizeof(msg));
    msg.req = req;
    msg.map = qm.data;
    msg.map_size = qm.size;
    msg.queue_fd = qm.fd;
    msg.start = start;
    if (req->data_offset > 0 && (unsigned long) req->data_offset < qm.size) {
        msg.data_offset = (size_t) req->data_offset;
        content_ok = content_scan(&msg) == 0;
    }
    if (!content_ok) {
        msg_warn("%s: malformed queue file content", req->queue_id);
        defer_all(req, qm.fd, "error reading queue file: malformed content", start, res);
    } else {
        deliver_message(&msg, res);
    }
    queue_map_close(&qm);
    buf_release(&why);
}

void smtp_serve(service_t *svc, stream_t *client)
{
    (void) svc;
    delivery_serve(client, deliver_request);
}
