/* session: offers a message's recipients to the servers of its nexthop in
 * turn. A 2xx settles a recipient as sent and a 5xx as bounced at once; a
 * 4xx, a failed connection or a server that will not talk keeps it for the
 * next server, and whatever is left after the last one (or after
 * smtp_mx_session_limit sessions) is deferred with the last reason. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "address.h"
#include "alloc.h"
#include "log.h"
#include "smtp.h"

/* One recipient while the servers are tried. */
typedef struct rcpt_state {
    const delivery_rcpt_t *rcpt;
    int    settled;
    int    soft;               /* a soft failure is kept in dsn/reason/relay */
    char   dsn[16];
    buf_t  reason;
    buf_t  relay;
    double ready;              /* when the session that last tried it was set up */
} rcpt_state_t;

typedef struct delivery {
    agent_msg_t       *msg;
    rcpt_state_t      *st;
    size_t             n;
    delivery_result_t *res;
    char              *nexthop;     /* the nexthop's domain or host, for TLS "secure" */
} delivery_t;

double time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static size_t pending(const delivery_t *d)
{
    size_t count = 0;

    for (size_t i = 0; i < d->n; i++)
        count += !d->st[i].settled;
    return count;
}

/* delivery_record with Postfix's four delays: before the agent, in qmgr
 * (not known here), connection setup, transmission. */
static void settle(delivery_t *d, size_t i, int result, const char *dsn, const char *relay,
                   const char *reason)
{
    const delivery_request_t *req = d->msg->req;
    rcpt_state_t *st = &d->st[i];
    double arrival = (double) req->arrival_time + req->arrival_usec / 1e6;
    double ready = st->ready > 0 ? st->ready : time_now();
    double delays[4];

    delays[0] = d->msg->start - arrival;
    delays[1] = 0;
    delays[2] = ready - d->msg->start;
    delays[3] = time_now() - ready;
    for (int k = 0; k < 4; k++)
        if (delays[k] < 0)
            delays[k] = 0;
    delivery_record(req, st->rcpt, d->msg->queue_fd, result, dsn, relay, reason, delays,
                    &d->res[i]);
    st->settled = 1;
}

/* Keeps a soft failure for the end, unless a later server does better. */
static void soften(rcpt_state_t *st, const char *dsn, const char *relay, const char *reason)
{
    size_t len = strlen(dsn);

    st->soft = 1;
    if (len >= sizeof(st->dsn))
        len = 0;
    memcpy(st->dsn, dsn, len);
    st->dsn[len] = 0;
    buf_set(&st->reason, reason);
    buf_set(&st->relay, relay);
}

/* One outcome for every recipient still pending: a permanent one settles
 * them, a temporary one waits for the next server. */
static void outcome_all(delivery_t *d, const char *dsn, const char *relay, const char *reason,
                        double ready)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->st[i].settled)
            continue;
        d->st[i].ready = ready;
        if (dsn[0] == '5')
            settle(d, i, DELIVERY_BOUNCED, dsn, relay, reason);
        else
            soften(&d->st[i], dsn, relay, reason);
    }
}

static smtp_conn_t *server_connect(const server_t *srv, buf_t *why)
{
    if (srv->path != NULL)
        return smtp_connect_unix(srv->host, srv->path, &smtp_cfg.client, why);
    return smtp_connect_inet(srv->host, &srv->addr, srv->port, smtp_cfg.lmtp,
                             &smtp_cfg.client, why);
}

/* Runs the transaction for the pending recipients and settles or keeps
 * each one by its reply. */
static int transact(delivery_t *d, smtp_conn_t *c, const char *relay, double ready)
{
    const delivery_request_t *req = d->msg->req;
    smtp_rcpt_t *rcpts = xcalloc(d->n, sizeof(*rcpts));
    size_t *index = xcalloc(d->n, sizeof(*index));
    smtp_message_t m;
    buf_t reason = BUF_INIT;
    size_t count = 0;
    int rc;

    for (size_t i = 0; i < d->n; i++) {
        if (d->st[i].settled)
            continue;
        rcpts[count].address = d->st[i].rcpt->address;
        rcpts[count].orcpt = d->st[i].rcpt->dsn_orig_rcpt;
        rcpts[count].notify = d->st[i].rcpt->notify_flags;
        index[count++] = i;
    }
    memset(&m, 0, sizeof(m));
    m.sender = req->sender;
    m.size = req->data_size;
    m.body_8bit = d->msg->body_8bit;
    m.dsn_ret = (int) req->dsn_ret;
    m.envid = req->envid;
    m.rcpts = rcpts;
    m.rcpt_count = count;
    m.content = content_write;
    m.ctx = d->msg;
    rc = smtp_transaction(c, &m);
    for (size_t k = 0; k < count; k++) {
        const smtp_reply_t *r = &rcpts[k].reply;
        size_t i = index[k];

        d->st[i].ready = ready;
        if (r->code / 100 == 2) {
            settle(d, i, DELIVERY_SENT, r->dsn, relay, buf_str(&r->text));
            continue;
        }
        smtp_reply_reason(c, r, rcpts[k].command, &reason);
        if (r->dsn[0] == '5')
            settle(d, i, DELIVERY_BOUNCED, r->dsn, relay, buf_str(&reason));
        else
            soften(&d->st[i], r->dsn, relay, buf_str(&reason));
    }
    for (size_t k = 0; k < count; k++)
        smtp_reply_release(&rcpts[k].reply);
    buf_release(&reason);
    free(rcpts);
    free(index);
    return rc;
}

/* One server: connect, handshake, transaction. Returns 1 when a session
 * was held (it counts against smtp_mx_session_limit), else 0; last gets
 * the reason of a failure that leaves recipients for the next server. */
static int session(delivery_t *d, const server_t *srv, buf_t *last)
{
    buf_t why = BUF_INIT, relay = BUF_INIT;
    smtp_reply_t r;
    smtp_conn_t *c = server_connect(srv, &why);
    int held = 0;

    buf_reset(last);
    if (c == NULL) {
        outcome_all(d, "4.4.1", "none", buf_str(&why), time_now());
        buf_set(last, buf_str(&why));
        buf_release(&why);
        return 0;
    }
    smtp_conn_name(c, &relay);
    smtp_conn_set_nexthop(c, d->nexthop);
    smtp_reply_init(&r);
    if (smtp_handshake(c, &r) < 0) {
        outcome_all(d, r.dsn, buf_str(&relay), buf_str(&r.text), time_now());
        buf_set(last, buf_str(&r.text));
    } else {
        held = 1;
        if (transact(d, c, buf_str(&relay), time_now()) == 0)
            smtp_quit(c);
        for (size_t i = 0; i < d->n && last->len == 0; i++)
            if (!d->st[i].settled)
                buf_set(last, buf_str(&d->st[i].reason));
    }
    smtp_reply_release(&r);
    smtp_conn_close(c);
    buf_release(&why);
    buf_release(&relay);
    return held;
}

/* The nexthop qmgr chose, or the recipient domain when it gave none. */
static const char *request_nexthop(const delivery_request_t *req)
{
    const char *domain;

    if (req->nexthop != NULL && *req->nexthop)
        return req->nexthop;
    domain = req->rcpt_count > 0 ? addr_domain(req->rcpts[0].address) : NULL;
    return domain ? domain : "";
}

/* "example.com" from "example.com:587" or "[mx.example.com]"; NULL for an
 * address or a list. */
static char *nexthop_domain(const char *nexthop)
{
    smtp_dest_t dest;
    buf_t why = BUF_INIT;
    char *domain = NULL;

    if (smtp_dest_parse(nexthop, smtp_cfg.lmtp, &dest, &why) == 0) {
        if (dest.kind == SMTP_DEST_MX || dest.kind == SMTP_DEST_HOST)
            domain = xstrdup(dest.host);
        smtp_dest_free(&dest);
    }
    buf_release(&why);
    return domain;
}

static void try_servers(delivery_t *d, const server_list_t *servers)
{
    buf_t last = BUF_INIT;
    long sessions = 0;

    for (size_t i = 0; i < servers->n && pending(d) > 0; i++) {
        if (smtp_cfg.mx_session_limit > 0 && sessions >= smtp_cfg.mx_session_limit)
            break;
        sessions += session(d, &servers->v[i], &last);
        /* Postfix logs a failure that is not final on a line of its own. */
        if (pending(d) > 0 && i + 1 < servers->n && last.len > 0)
            msg_info("%s", buf_str(&last));
    }
    buf_release(&last);
}

void deliver_message(agent_msg_t *msg, delivery_result_t *res)
{
    const delivery_request_t *req = msg->req;
    delivery_t d;
    server_list_t servers;
    agent_outcome_t fail;

    d.msg = msg;
    d.n = req->rcpt_count;
    d.res = res;
    d.nexthop = nexthop_domain(request_nexthop(req));
    d.st = xcalloc(d.n ? d.n : 1, sizeof(*d.st));
    for (size_t i = 0; i < d.n; i++) {
        d.st[i].rcpt = &req->rcpts[i];
        buf_init(&d.st[i].reason);
        buf_init(&d.st[i].relay);
    }
    outcome_init(&fail);
    if (route_servers(request_nexthop(req), &servers, &fail) < 0) {
        for (size_t i = 0; i < d.n; i++)
            settle(&d, i, fail.result, fail.dsn, "none", buf_str(&fail.reason));
    } else {
        try_servers(&d, &servers);
        server_list_free(&servers);
    }
    for (size_t i = 0; i < d.n; i++) {
        rcpt_state_t *st = &d.st[i];

        if (!st->settled)
            settle(&d, i, DELIVERY_DEFERRED, st->soft ? st->dsn : "4.4.1",
                   st->soft ? buf_str(&st->relay) : "none",
                   st->soft ? buf_str(&st->reason) : "delivery temporarily suspended");
        buf_release(&st->reason);
        buf_release(&st->relay);
    }
    outcome_release(&fail);
    free(d.nexthop);
    free(d.st);
}
