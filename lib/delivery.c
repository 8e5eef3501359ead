/* delivery: the qmgr <-> delivery agent conversation, and delivery_record,
 * which every agent calls to settle one recipient (mark done, defer/bounce
 * log, trace/ID for NOTIFY=SUCCESS, the Postfix "to=<...>, relay=...,
 * status=..." log line).
 *
 * Wire format (attribute lists, lib/attr.h), every name required:
 *   agent -> {protocol=delivery_request_protocol}
 *   qmgr  -> {queue_name, queue_id, data_offset, data_size, transport,
 *             nexthop, sender, envid, dsn_ret, arrival_time, arrival_usec,
 *             client, flags, rcpt_count}
 *   qmgr  -> rcpt_count x {offset, address, orig_rcpt, dsn_orig_rcpt, notify_flags}
 *   agent -> rcpt_count x {offset, result, dsn, reason}   (request order)
 *   agent -> {status}   0 = nothing to retry, 1 = some recipient deferred */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "config.h"
#include "delivery.h"
#include "dsn_log.h"
#include "log.h"
#include "queue_file.h"

#define DELIVERY_PROTOCOL "delivery_request_protocol"

static const char *const request_names[] = {
    "queue_name", "queue_id", "data_offset", "data_size", "transport", "nexthop",
    "sender", "envid", "dsn_ret", "arrival_time", "arrival_usec", "client",
    "flags", "rcpt_count", NULL,
};
static const char *const rcpt_names[] = {
    "offset", "address", "orig_rcpt", "dsn_orig_rcpt", "notify_flags", NULL,
};
static const char *const result_names[] = { "offset", "result", "dsn", "reason", NULL };
static const char *const status_names[] = { "status", NULL };
static const char *const announce_names[] = { "protocol", NULL };

static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* "X.Y.Z" with X in 2, 4, 5 and Y, Z of 1-3 digits. */
static int dsn_valid(const char *dsn)
{
    const char *p = dsn;
    int part;

    if (dsn == NULL || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
        return 0;
    p += 2;
    for (part = 0; part < 2; part++) {
        size_t n = strspn(p, "0123456789");

        if (n < 1 || n > 3)
            return 0;
        p += n;
        if (part == 0 && *p++ != '.')
            return 0;
    }
    return *p == 0;
}

/* ------------------------------------------------------------------ */
/* qmgr side                                                          */
/* ------------------------------------------------------------------ */

static void send_rcpt(stream_t *s, const delivery_rcpt_t *r)
{
    attr_put_long(s, "offset", r->offset);
    attr_put_str(s, "address", str_or_empty(r->address));
    attr_put_str(s, "orig_rcpt", str_or_empty(r->orig_rcpt));
    attr_put_str(s, "dsn_orig_rcpt", str_or_empty(r->dsn_orig_rcpt));
    attr_put_long(s, "notify_flags", r->notify_flags);
    attr_put_end(s);
}

void delivery_request_send(stream_t *s, const delivery_request_t *req)
{
    size_t i;

    attr_put_str(s, "queue_name", str_or_empty(req->queue_name));
    attr_put_str(s, "queue_id", str_or_empty(req->queue_id));
    attr_put_long(s, "data_offset", req->data_offset);
    attr_put_long(s, "data_size", req->data_size);
    attr_put_str(s, "transport", str_or_empty(req->transport));
    attr_put_str(s, "nexthop", str_or_empty(req->nexthop));
    attr_put_str(s, "sender", str_or_empty(req->sender));
    attr_put_str(s, "envid", str_or_empty(req->envid));
    attr_put_long(s, "dsn_ret", req->dsn_ret);
    attr_put_long(s, "arrival_time", req->arrival_time);
    attr_put_long(s, "arrival_usec", req->arrival_usec);
    attr_put_str(s, "client", str_or_empty(req->client));
    attr_put_long(s, "flags", req->flags);
    attr_put_long(s, "rcpt_count", (long) req->rcpt_count);
    attr_put_end(s);
    for (i = 0; i < req->rcpt_count; i++)
        send_rcpt(s, &req->rcpts[i]);
}

static int is_announcement(const attr_list_t *a)
{
    return attr_check(a, announce_names, NULL) == 0
        && strcmp(attr_get(a, "protocol"), DELIVERY_PROTOCOL) == 0;
}

int delivery_announcement_read(stream_t *s)
{
    attr_list_t *a = attr_list_new();
    int ret = attr_read(s, a) == 0 && is_announcement(a) ? 0 : -1;

    attr_list_free(a);
    return ret;
}

/* Reads one result list into res, checking it belongs to rcpt. 0 or -1. */
static int read_result(const attr_list_t *a, const delivery_rcpt_t *rcpt,
                       delivery_result_t *res)
{
    long offset, result;

    if (attr_check(a, result_names, NULL) < 0
        || attr_get_long(a, "offset", &offset) < 0 || offset != rcpt->offset
        || attr_get_long(a, "result", &result) < 0
        || result < DELIVERY_SENT || result > DELIVERY_BOUNCED
        || !dsn_valid(attr_get(a, "dsn")))
        return -1;
    res->offset = offset;
    res->result = (int) result;
    res->dsn = xstrdup(attr_get(a, "dsn"));
    res->reason = xstrdup(attr_get(a, "reason"));
    return 0;
}

static int read_final_status(const attr_list_t *a)
{
    long status;

    if (attr_check(a, status_names, NULL) < 0 || attr_get_long(a, "status", &status) < 0
        || (status != 0 && status != 1))
        return -1;
    return 0;
}

int delivery_results_read(stream_t *s, const delivery_request_t *req,
                          delivery_result_t *res)
{
    attr_list_t *a = attr_list_new();
    size_t i, done = 0;
    int ret = -1;

    memset(res, 0, req->rcpt_count * sizeof(*res));
    if (attr_read(s, a) < 0)
        goto out;
    if (is_announcement(a) && attr_read(s, a) < 0)
        goto out;
    for (done = 0; done < req->rcpt_count; done++) {
        if (done > 0 && attr_read(s, a) < 0)
            goto out;
        if (read_result(a, &req->rcpts[done], &res[done]) < 0)
            goto out;
    }
    if (attr_read(s, a) == 0 && read_final_status(a) == 0)
        ret = 0;

out:
    if (ret < 0)
        for (i = 0; i < done; i++)
            delivery_result_free(&res[i]);
    attr_list_free(a);
    return ret;
}

/* ------------------------------------------------------------------ */
/* agent side                                                         */
/* ------------------------------------------------------------------ */

/* A queue name is a plain lower-case word: it becomes part of a path. */
static int queue_name_valid(const char *name)
{
    return name[0] != 0 && strspn(name, "abcdefghijklmnopqrstuvwxyz") == strlen(name);
}

static int get_ranged(const attr_list_t *a, const char *name, long min, long max, long *v)
{
    return attr_get_long(a, name, v) == 0 && *v >= min && *v <= max ? 0 : -1;
}

static int parse_request(const attr_list_t *a, delivery_request_t *req)
{
    long rcpt_count;

    if (attr_check(a, request_names, NULL) < 0
        || !queue_name_valid(attr_get(a, "queue_name"))
        || !queue_id_valid(attr_get(a, "queue_id"))
        || get_ranged(a, "data_offset", 1, LONG_MAX, &req->data_offset) < 0
        || get_ranged(a, "data_size", 0, LONG_MAX, &req->data_size) < 0
        || get_ranged(a, "dsn_ret", 0, 2, &req->dsn_ret) < 0
        || get_ranged(a, "arrival_time", 0, LONG_MAX, &req->arrival_time) < 0
        || get_ranged(a, "arrival_usec", 0, 999999, &req->arrival_usec) < 0
        || get_ranged(a, "flags", 0, LONG_MAX, &req->flags) < 0
        || get_ranged(a, "rcpt_count", 1, DELIVERY_MAX_RCPT, &rcpt_count) < 0)
        return -1;
    req->queue_name = xstrdup(attr_get(a, "queue_name"));
    req->queue_id = xstrdup(attr_get(a, "queue_id"));
    req->transport = xstrdup(attr_get(a, "transport"));
    req->nexthop = xstrdup(attr_get(a, "nexthop"));
    req->sender = xstrdup(attr_get(a, "sender"));
    req->envid = xstrdup(attr_get(a, "envid"));
    req->client = xstrdup(attr_get(a, "client"));
    req->rcpt_count = (size_t) rcpt_count;
    return 0;
}

static int parse_rcpt(const attr_list_t *a, delivery_rcpt_t *r)
{
    if (attr_check(a, rcpt_names, NULL) < 0
        || get_ranged(a, "offset", 1, LONG_MAX, &r->offset) < 0
        || get_ranged(a, "notify_flags", 0,
                      DSN_NOTIFY_NEVER | DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE
                      | DSN_NOTIFY_DELAY, &r->notify_flags) < 0
        || attr_get(a, "address")[0] == 0)
        return -1;
    r->address = xstrdup(attr_get(a, "address"));
    r->orig_rcpt = xstrdup(attr_get(a, "orig_rcpt"));
    r->dsn_orig_rcpt = xstrdup(attr_get(a, "dsn_orig_rcpt"));
    return 0;
}

int delivery_request_read(stream_t *s, delivery_request_t *req)
{
    attr_list_t *a = attr_list_new();
    size_t i;
    int ret = -1;

    memset(req, 0, sizeof(*req));
    attr_put_str(s, "protocol", DELIVERY_PROTOCOL);
    attr_put_end(s);
    if (stream_status(s) != STREAM_OK || attr_read(s, a) < 0 || parse_request(a, req) < 0)
        goto out;
    req->rcpts = xcalloc(req->rcpt_count, sizeof(*req->rcpts));
    for (i = 0; i < req->rcpt_count; i++)
        if (attr_read(s, a) < 0 || parse_rcpt(a, &req->rcpts[i]) < 0)
            goto out;
    ret = 0;

out:
    if (ret < 0)
        delivery_request_free(req);
    attr_list_free(a);
    return ret;
}

void delivery_request_free(delivery_request_t *req)
{
    size_t i;

    for (i = 0; req->rcpts != NULL && i < req->rcpt_count; i++) {
        free(req->rcpts[i].address);
        free(req->rcpts[i].orig_rcpt);
        free(req->rcpts[i].dsn_orig_rcpt);
    }
    free(req->rcpts);
    free(req->queue_name);
    free(req->queue_id);
    free(req->transport);
    free(req->nexthop);
    free(req->sender);
    free(req->envid);
    free(req->client);
    memset(req, 0, sizeof(*req));
}

void delivery_results_send(stream_t *s, const delivery_request_t *req,
                           const delivery_result_t *res)
{
    int any_deferred = 0;
    size_t i;

    for (i = 0; i < req->rcpt_count; i++) {
        attr_put_long(s, "offset", res[i].offset);
        attr_put_long(s, "result", res[i].result);
        attr_put_str(s, "dsn", str_or_empty(res[i].dsn));
        attr_put_str(s, "reason", str_or_empty(res[i].reason));
        attr_put_end(s);
        if (res[i].result == DELIVERY_DEFERRED)
            any_deferred = 1;
    }
    attr_put_long(s, "status", any_deferred);
    attr_put_end(s);
}

void delivery_result_free(delivery_result_t *res)
{
    free(res->dsn);
    free(res->reason);
    res->dsn = NULL;
    res->reason = NULL;
}

/* ------------------------------------------------------------------ */
/* delivery_record                                                    */
/* ------------------------------------------------------------------ */

/* Postfix's delay style: at most two significant decimals and never more
 * than two ("0.12", "0.05", "1.5", "13"), trailing zeros dropped, "0" for
 * less than 0.005. */
static void format_delay(buf_t *out, double seconds)
{
    static const long unit_for_decimals[] = { 1000000, 100000, 10000 };
    long long usec, units, scale = 1;
    int decimals, i;

    if (!(seconds > 0))                      /* also catches NaN */
        seconds = 0;
    if (seconds > 1e12)
        seconds = 1e12;
    usec = (long long) (seconds * 1e6 + 0.5);
    decimals = usec >= 10000000 ? 0 : usec >= 1000000 ? 1 : 2;
    for (i = 0; i < decimals; i++)
        scale *= 10;
    units = (usec + unit_for_decimals[decimals] / 2) / unit_for_decimals[decimals];
    while (decimals > 0 && units % 10 == 0) {
        units /= 10;
        scale /= 10;
        decimals--;
    }
    if (decimals == 0)
        buf_printf(out, "%lld", units);
    else
        buf_printf(out, "%lld.%0*lld", units / scale, decimals, units % scale);
}

/* The delay since arrival, in seconds. */
static double delay_since_arrival(const delivery_request_t *req)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (double) (now.tv_sec - req->arrival_time)
        + (double) (now.tv_usec - req->arrival_usec) / 1e6;
}

/* The recipient's fate as it is being settled. */
typedef struct outcome {
    int   result;
    buf_t dsn;
    buf_t reason;
} outcome_t;

/* Makes the DSN class agree with the result (soft_bounce turns 5.x.y into
 * 4.x.y); a missing or malformed DSN gets the class's default. */
static void outcome_fix_dsn(outcome_t *o)
{
    static const char class_of[] = { '2', '4', '5' };
    char want = class_of[o->result];

    if (!dsn_valid(buf_str(&o->dsn))) {
        buf_reset(&o->dsn);
        buf_printf(&o->dsn, "%c.0.0", want);
    }
    o->dsn.data[0] = want;
}

/* Turns the outcome into a deferral after a failure to record it. */
static void outcome_defer(outcome_t *o, const delivery_request_t *req,
                          const char *what, int err)
{
    msg_warn("%s: %s: %s", req->queue_id, what, strerror(err));
    o->result = DELIVERY_DEFERRED;
    buf_set(&o->dsn, "4.3.0");
    buf_reset(&o->reason);
    buf_printf(&o->reason, "%s: %s", what, strerror(err));
}

static int append_log(const char *queue, const char *action, const delivery_request_t *req,
                      const delivery_rcpt_t *rcpt, const outcome_t *o)
{
    dsn_entry_t e = {
        .recipient = rcpt->address,
        .orig_rcpt = rcpt->orig_rcpt,
        .offset = rcpt->offset,
        .dsn_orig_rcpt = rcpt->dsn_orig_rcpt,
        .notify_flags = rcpt->notify_flags,
        .status = buf_str(&o->dsn),
        .action = action,
        .reason = buf_str(&o->reason),
    };

    return dsn_log_append(queue, req->queue_id, &e);
}

/* Writes what the outcome needs to survive a crash. Order matters for a
 * bounce, and for a delivery the sender asked to hear about (NOTIFY=SUCCESS,
 * trace/ID): the log entry is written before the recipient is marked
 * done, so a failure in between leaves a recipient that is retried (and
 * maybe reported twice), never one that is done with no notice. */
static void outcome_persist(outcome_t *o, const delivery_request_t *req,
                            const delivery_rcpt_t *rcpt, int queue_fd)
{
    if (o->result == DELIVERY_BOUNCED
        && append_log(QUEUE_BOUNCE, "failed", req, rcpt, o) < 0)
        outcome_defer(o, req, "cannot write bounce log", errno);
    if (o->result == DELIVERY_SENT && (rcpt->notify_flags & DSN_NOTIFY_SUCCESS)
        && append_log(QUEUE_TRACE, "delivered", req, rcpt, o) < 0)
        outcome_defer(o, req, "cannot write trace log", errno);
    if (o->result != DELIVERY_DEFERRED && queue_mark_done(queue_fd, rcpt->offset) < 0)
        outcome_defer(o, req, "cannot mark recipient done in queue file", errno);
    if (o->result == DELIVERY_DEFERRED
        && append_log(QUEUE_DEFER, "delayed", req, rcpt, o) < 0)
        msg_warn("%s: cannot write defer log for <%s>: %m", req->queue_id, rcpt->address);
}

static void log_outcome(const outcome_t *o, const delivery_request_t *req,
                        const delivery_rcpt_t *rcpt, const char *relay, double delays[4])
{
    static const char *const status_text[] = { "sent", "deferred", "bounced" };
    buf_t line = BUF_INIT;
    int i;

    buf_printf(&line, "%s: to=<%s>, ", req->queue_id, rcpt->address);
    if (rcpt->orig_rcpt != NULL && rcpt->orig_rcpt[0] != 0
        && strcasecmp(rcpt->orig_rcpt, rcpt->address) != 0)
        buf_printf(&line, "orig_to=<%s>, ", rcpt->orig_rcpt);
    buf_printf(&line, "relay=%s, delay=", relay != NULL && relay[0] ? relay : "none");
    format_delay(&line, delay_since_arrival(req));
    buf_puts(&line, ", delays=");
    for (i = 0; i < 4; i++) {
        if (i > 0)
            buf_putc(&line, '/');
        format_delay(&line, delays != NULL ? delays[i] : 0);
    }
    buf_printf(&line, ", dsn=%s, status=%s (%s)", buf_str(&o->dsn),
               status_text[o->result], buf_str(&o->reason));
    msg_info("%s", line.data);
    buf_release(&line);
}

void delivery_record(const delivery_request_t *req, const delivery_rcpt_t *rcpt,
                     int queue_fd, int result, const char *dsn, const char *relay,
                     const char *reason, double delays[4], delivery_result_t *res)
{
    outcome_t o = { .result = result, .dsn = BUF_INIT, .reason = BUF_INIT };

    if (result < DELIVERY_SENT || result > DELIVERY_BOUNCED)
        msg_panic("delivery_record: bad result %d", result);
    buf_set(&o.dsn, str_or_empty(dsn));
    buf_set(&o.reason, str_or_empty(reason));
    if (o.result == DELIVERY_BOUNCED && config_bool("soft_bounce"))
        o.result = DELIVERY_DEFERRED;
    outcome_fix_dsn(&o);
    outcome_persist(&o, req, rcpt, queue_fd);
    log_outcome(&o, req, rcpt, relay, delays);
    res->offset = rcpt->offset;
    res->result = o.result;
    res->dsn = buf_steal(&o.dsn);
    res->reason = buf_steal(&o.reason);
}

#define QUEUE_LOCK_ATTEMPTS    50      /* qmgr holds its lock only briefly */
#define QUEUE_LOCK_PAUSE_USEC  100000

static int request_names_valid(const delivery_request_t *req)
{
    static const char *const queues[] = {
        QUEUE_ACTIVE, QUEUE_INCOMING, QUEUE_DEFERRED, QUEUE_HOLD, NULL
    };

    if (!queue_id_valid(req->queue_id))
        return 0;
    for (int i = 0; queues[i] != NULL; i++)
        if (strcmp(req->queue_name, queues[i]) == 0)
            return 1;
    return 0;
}

int delivery_queue_open(const delivery_request_t *req, queue_map_t *qm, buf_t *why)
{
    buf_t path = BUF_INIT;
    int rc = -1;

    if (!request_names_valid(req)) {
        buf_printf(why, "malformed queue file name %s/%s", req->queue_name, req->queue_id);
        return -1;
    }
    queue_path(&path, req->queue_name, req->queue_id);
    for (int attempt = 0; attempt < QUEUE_LOCK_ATTEMPTS; attempt++) {
        if ((rc = queue_map_open(buf_str(&path), 1, qm)) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EAGAIN)
            break;
        usleep(QUEUE_LOCK_PAUSE_USEC);
    }
    if (rc < 0)
        buf_printf(why, "cannot open queue file %s: %s", buf_str(&path), strerror(errno));
    buf_release(&path);
    return rc;
}

void delivery_serve(stream_t *client,
                    void (*deliver)(const delivery_request_t *req, delivery_result_t *res))
{
    delivery_request_t req;
    delivery_result_t *res;

    stream_set_timeout(client, (int) config_time("ipc_timeout"));
    if (delivery_request_read(client, &req) < 0) {
        msg_warn("malformed or missing delivery request");
        return;
    }
    res = xcalloc(req.rcpt_count ? req.rcpt_count : 1, sizeof(*res));
    deliver(&req, res);
    delivery_results_send(client, &req, res);
    if (stream_flush(client) < 0)
        msg_warn("%s: cannot send delivery results to qmgr", req.queue_id);
    for (size_t i = 0; i < req.rcpt_count; i++)
        delivery_result_free(&res[i]);
    free(res);
    delivery_request_free(&req);
}
