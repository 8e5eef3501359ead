/* delivery: the qmgr <-> delivery agent protocol, and what every agent does
 * with a recipient's fate (mark done, per-message logs, the log line).
 *
 *   agent -> {protocol=delivery_request_protocol}
 *   qmgr  -> request list (below), then rcpt_count recipient lists
 *   agent -> one result list per recipient, in request order
 *            {offset, result, dsn, reason}, then {status=0|1}
 *
 * The agent marks delivered and bounced recipients done in the queue file
 * ('R' -> 'D' in place), appends deferred ones to defer/ID and bounced ones
 * to bounce/ID, before it replies: a crash repeats at most the deliveries
 * in flight, and never loses one. */
#ifndef FACTEUR_DELIVERY_H
#define FACTEUR_DELIVERY_H

#include "buf.h"
#include "queue_file.h"
#include "stream.h"

#define DELIVERY_MAX_RCPT  1000

typedef struct delivery_rcpt {
    long  offset;            /* of the R record in the queue file */
    char *address;           /* internal form */
    char *orig_rcpt;         /* as received ("" when unknown) */
    char *dsn_orig_rcpt;     /* "rfc822;addr" or "" */
    long  notify_flags;      /* DSN_NOTIFY_* bits, 0 = default */
} delivery_rcpt_t;

#define DSN_NOTIFY_NEVER    (1 << 0)
#define DSN_NOTIFY_SUCCESS  (1 << 1)
#define DSN_NOTIFY_FAILURE  (1 << 2)
#define DSN_NOTIFY_DELAY    (1 << 3)

typedef struct delivery_request {
    char  *queue_name;       /* "active" */
    char  *queue_id;
    long   data_offset;      /* of the first content record */
    long   data_size;        /* content size from the C record */
    char  *transport;        /* "local" */
    char  *nexthop;
    char  *sender;           /* "" = null sender */
    char  *envid;            /* DSN ENVID or "" */
    long   dsn_ret;          /* 0, 1 = FULL, 2 = HDRS */
    long   arrival_time;     /* seconds */
    long   arrival_usec;
    char  *client;           /* "host[addr]" for logs, or "" */
    long   flags;
    size_t rcpt_count;
    delivery_rcpt_t *rcpts;
} delivery_request_t;

#define DELIVERY_SENT      0
#define DELIVERY_DEFERRED  1
#define DELIVERY_BOUNCED   2

typedef struct delivery_result {
    long  offset;
    int   result;            /* DELIVERY_* */
    char *dsn;               /* "2.0.0" */
    char *reason;            /* human text */
} delivery_result_t;

/* qmgr side. The request may be sent at once after connecting: the agent
 * reads it after announcing itself. */
void delivery_request_send(stream_t *s, const delivery_request_t *req);
/* Optional: waits for the agent's announcement (to know it is ready).
 * 0, or -1 when the agent went away or announced another protocol. */
int  delivery_announcement_read(stream_t *s);
/* Reads the announcement if delivery_announcement_read did not, then
 * rcpt_count results into res (array of req->rcpt_count) and the final
 * status. 0, or -1 when the agent broke the protocol or went away. */
int  delivery_results_read(stream_t *s, const delivery_request_t *req,
                           delivery_result_t *res);

/* agent side: sends the announcement, then reads one request. 0, or -1 on
 * a malformed/missing request (fatal for the conversation). */
int  delivery_request_read(stream_t *s, delivery_request_t *req);
void delivery_request_free(delivery_request_t *req);   /* contents only */
void delivery_results_send(stream_t *s, const delivery_request_t *req,
                           const delivery_result_t *res);
void delivery_result_free(delivery_result_t *res);     /* contents only */

/* Agent side, one whole conversation: reads the request (after announcing
 * the protocol), lets deliver fill one result per recipient, sends the
 * results. Timeouts: ipc_timeout. */
void delivery_serve(stream_t *client,
                    void (*deliver)(const delivery_request_t *req, delivery_result_t *res));

/* Agent side: maps the request's queue file with a shared lock, waiting a
 * little while qmgr holds its exclusive one. The queue name and ID come from
 * a less privileged process and become a path opened by root: only
 * well-formed ones are accepted. 0, or -1 with the reason in why. */
int  delivery_queue_open(const delivery_request_t *req, queue_map_t *qm, buf_t *why);

/* Records one recipient's fate the way every agent must: soft_bounce turns a
 * bounce into a deferral; sent/bounced -> queue_mark_done(queue_fd);
 * deferred -> defer/ID, bounced -> bounce/ID (dsn_log); then logs
 *   ID: to=<rcpt>, [orig_to=<o>,] relay=R, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=sent (text)
 * and fills res. If the log or mark cannot be written the result becomes a
 * deferral (never a silent loss). */
void delivery_record(const delivery_request_t *req, const delivery_rcpt_t *rcpt,
                     int queue_fd, int result, const char *dsn, const char *relay,
                     const char *reason, double delays[4], delivery_result_t *res);

#endif
