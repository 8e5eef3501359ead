/* scheduler: per-transport queues of delivery requests. Recipients are
 * resolved to (transport, nexthop), grouped into requests of at most
 * <transport>_destination_recipient_limit recipients, and handed to agents
 * round-robin across destinations, within
 * <transport>_destination_concurrency_limit per destination and
 * default_process_limit per transport. A transport whose agent cannot be
 * reached is throttled for transport_retry_time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "delivery.h"
#include "event.h"
#include "log.h"
#include "qmgr.h"
#include "queue_file.h"
#include "record.h"
#include "resolve.h"

#define DEST_BUCKETS_MIN  64

typedef struct qmgr_transport qmgr_transport_t;

typedef struct qmgr_dest {
    char              *key;          /* "nexthop" or "nexthop\nrecipient" */
    qmgr_transport_t  *transport;
    size_t             busy;         /* requests with an agent */
    qmgr_entry_t      *head, *tail;  /* requests waiting */
    int                in_ready;
    struct qmgr_dest  *ready_next, *ready_prev;
    struct qmgr_dest  *hash_next;
} qmgr_dest_t;

struct qmgr_transport {
    char              *name;
    size_t             rcpt_limit;
    size_t             dest_limit;
    size_t             proc_limit;
    size_t             busy;
    int                throttled;
    qmgr_dest_t       *ready_head, *ready_tail;
    qmgr_dest_t      **buckets;
    size_t             nbuckets;
    size_t             ndests;
    qmgr_transport_t  *next;
};

static qmgr_transport_t *transports;

/* ---- Transports and their limits ---- */

/* "<transport>_<suffix>" when main.cf or the table has it (the table
 * lists local_*), else the "default_<suffix>" value that qmgr read. */
static long transport_param(const char *transport, const char *suffix, long def)
{
    buf_t name = BUF_INIT;
    long value = def;

    buf_printf(&name, "%s_%s", transport, suffix);
    if (config_get(name.data) != NULL)
        value = config_int(name.data);
    buf_release(&name);
    return value;
}

/* Postfix's 0 means "no limit". */
static size_t limit_or(long value, size_t unlimited)
{
    return value <= 0 || (unsigned long) value > unlimited ? unlimited : (size_t) value;
}

static qmgr_transport_t *transport_new(const char *name)
{
    qmgr_transport_t *t = xcalloc(1, sizeof(*t));
    t->name = xstrdup(name);
    t->proc_limit = (size_t) qmgr_conf.process_limit;
    t->rcpt_limit = limit_or(transport_param(name, "destination_recipient_limit",
                                             qmgr_conf.default_rcpt_limit),
                             DELIVERY_MAX_RCPT);
    t->dest_limit = limit_or(transport_param(name, "destination_concurrency_limit",
                                             qmgr_conf.default_concurrency),
                             t->proc_limit);
    t->nbuckets = DEST_BUCKETS_MIN;
    t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
    t->next = transports;
    transports = t;
    return t;
}

static qmgr_transport_t *transport_get(const char *name)
{
    qmgr_transport_t *t;

    for (t = transports; t != NULL; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return transport_new(name);
}

/* ---- Destinations: a hash per transport, and a ready ring ---- */

static size_t key_hash(const char *key)
{
    size_t h = 2166136261u;

    for (; *key; key++)
        h = (h ^ (unsigned char) *key) * 16777619u;
    return h;
}

static void dest_table_grow(qmgr_transport_t *t)
{
    size_t nb = size_mul(t->nbuckets, 2);
    qmgr_dest_t **b = xcalloc(nb, sizeof(*b));
    size_t i;

    for (i = 0; i < t->nbuckets; i++) {
        qmgr_dest_t *d, *next;

        for (d = t->buckets[i]; d != NULL; d = next) {
            size_t slot = key_hash(d->key) & (nb - 1);

            next = d->hash_next;
            d->hash_next = b[slot];
            b[slot] = d;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

static qmgr_dest_t *dest_get(qmgr_transport_t *t, const char *key)
{
    size_t slot = key_hash(key) & (t->nbuckets - 1);
    qmgr_dest_t *d;

    for (d = t->buckets[slot]; d != NULL; d = d->hash_next)
        if (strcmp(d->key, key) == 0)
            return d;
    if (t->ndests >= t->nbuckets * 2) {
        dest_table_grow(t);
        slot = key_hash(key) & (t->nbuckets - 1);
    }
    d = xcalloc(1, sizeof(*d));
    d->key = xstrdup(key);
    d->transport = t;
    d->hash_next = t->buckets[slot];
    t->buckets[slot] = d;
    t->ndests++;
    return d;
}

static void ready_push(qmgr_dest_t *d)
{
    qmgr_transport_t *t = d->transport;

    if (d->in_ready)
        return;
    d->in_ready = 1;
    d->ready_next = NULL;
    d->ready_prev = t->ready_tail;
    if (t->ready_tail)
        t->ready_tail->ready_next = d;
    else
        t->ready_head = d;
    t->ready_tail = d;
}

static void ready_remove(qmgr_dest_t *d)
{
    qmgr_transport_t *t = d->transport;

    if (!d->in_ready)
        return;
    if (d->ready_prev)
        d->ready_prev->ready_next = d->ready_next;
    else
        t->ready_head = d->ready_next;
    if (d->ready_next)
        d->ready_next->ready_prev = d->ready_prev;
    else
        t->ready_tail = d->ready_prev;
    d->in_ready = 0;
    d->ready_next = d->ready_prev = NULL;
}

/* A destination with nothing waiting and nothing in flight is forgotten. */
static void dest_maybe_free(qmgr_dest_t *d)
{
    qmgr_transport_t *t = d->transport;
    qmgr_dest_t **pp;

    if (d->busy > 0 || d->head != NULL)
        return;
    ready_remove(d);
    for (pp = &t->buckets[key_hash(d->key) & (t->nbuckets - 1)]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == d) {
            *pp = d->hash_next;
            break;
        }
    }
    t->ndests--;
    free(d->key);
    free(d);
}

static void dest_update_ready(qmgr_dest_t *d)
{
    if (d->head != NULL && d->busy < d->transport->dest_limit)
        ready_push(d);
    else
        ready_remove(d);
}

/* ---- Entries ---- */

static qmgr_entry_t *entry_new(qmgr_message_t *msg, qmgr_dest_t *dest, const char *nexthop)
{
    qmgr_entry_t *e = xcalloc(1, sizeof(*e));

    e->msg = msg;
    e->dest = dest;
    e->nexthop = xstrdup(nexthop);
    e->rcpt_index = xcalloc(dest ? dest->transport->rcpt_limit : 1, sizeof(*e->rcpt_index));
    msg->refcount++;
    return e;
}

/* Frees the entry and lets its message finish when it was the last. */
static void entry_finish(qmgr_entry_t *e)
{
    qmgr_message_t *msg = e->msg;

    free(e->nexthop);
    free(e->rcpt_index);
    free(e);
    message_release(msg);
}

const char *sched_entry_transport(const qmgr_entry_t *e)
{
    return e->dest ? e->dest->transport->name : "";
}

static double non_negative(double x)
{
    return x > 0 ? x : 0;
}

void sched_defer_entry(qmgr_entry_t *e, const char *dsn, const char *reason, int check_done)
{
    qmgr_message_t *msg = e->msg;
    delivery_request_t req;
    double now = qmgr_now();
    double arrival = (double) msg->env.arrival + (double) msg->env.arrival_usec / 1e6;
    double delays[4];
    buf_t path = BUF_INIT;
    int fd = -1;
    size_t i;

    delays[0] = non_negative(msg->active_since - arrival);
    delays[1] = non_negative(now - msg->active_since);
    delays[2] = delays[3] = 0;
    if (check_done) {
        queue_path(&path, QUEUE_ACTIVE, msg->id);
        fd = open(path.data, O_RDONLY | O_CLOEXEC);
        buf_release(&path);
    }
    deliver_request_fill(&req, e);
    for (i = 0; i < req.rcpt_count; i++) {
        delivery_result_t res;

        if (!message_rcpt_todo(fd, req.rcpts[i].offset))
            continue;
        memset(&res, 0, sizeof(res));
        delivery_record(&req, &req.rcpts[i], -1, DELIVERY_DEFERRED, dsn, "none",
                        reason, delays, &res);
        delivery_result_free(&res);
        msg->deferred = 1;
    }
    deliver_request_release(&req);
    if (fd >= 0)
        close(fd);
}

/* ---- Throttling ---- */

static void transport_unthrottle(void *ctx)
{
    qmgr_transport_t *t = ctx;

    t->throttled = 0;
    sched_kick();
}

/* Every request waiting for a throttled transport is deferred now; new
 * ones are deferred as they come, until the retry time. */
static void transport_defer_waiting(qmgr_transport_t *t, const char *reason)
{
    size_t i;

    for (i = 0; i < t->nbuckets; i++) {
        qmgr_dest_t *d = t->buckets[i];

        while (d != NULL) {
            qmgr_dest_t *next = d->hash_next;

            while (d->head != NULL) {
                qmgr_entry_t *e = d->head;

                d->head = e->next;
                if (d->head == NULL)
                    d->tail = NULL;
                sched_defer_entry(e, "4.3.0", reason, 0);
                entry_finish(e);
            }
            dest_maybe_free(d);
            d = next;
        }
    }
}

static void transport_throttle(qmgr_transport_t *t)
{
    t->throttled = 1;
    event_timer(qmgr_timer_ms(qmgr_conf.transport_retry_time), transport_unthrottle, t);
    transport_defer_waiting(t, "mail transport unavailable");
}

void sched_forget_dead(void)
{
    qmgr_transport_t *t;

    for (t = transports; t != NULL; t = t->next) {
        if (t->throttled) {
            event_cancel(transport_unthrottle, t);
            t->throttled = 0;
        }
    }
    sched_kick();
}

/* ---- Taking a message's recipients ---- */

static void enqueue(qmgr_entry_t *e)
{
    qmgr_dest_t *d = e->dest;

    if (d->transport->throttled) {
        sched_defer_entry(e, "4.3.0", "mail transport unavailable", 0);
        entry_finish(e);
        dest_maybe_free(d);
        return;
    }
    e->next = NULL;
    if (d->tail)
        d->tail->next = e;
    else
        d->head = e;
    d->tail = e;
    dest_update_ready(d);
}

/* Splits "transport:nexthop" when resolve left it joined. */
static void split_transport(buf_t *transport, buf_t *nexthop)
{
    char *colon = strchr(transport->data ? transport->data : "", ':');

    if (colon == NULL)
        return;
    if (nexthop->len == 0)
        buf_set(nexthop, colon + 1);
    buf_truncate(transport, (size_t) (colon - transport->data));
}

static void defer_unresolved(qmgr_message_t *msg, size_t index)
{
    qmgr_entry_t *e = entry_new(msg, NULL, "");

    e->rcpt_index[0] = index;
    e->count = 1;
    sched_defer_entry(e, "4.3.0", "address resolver failure", 0);
    entry_finish(e);
}

/* The open (not yet full) entry of this message for d, if any. */
static qmgr_entry_t *open_entry(qmgr_entry_t **open, size_t nopen, const qmgr_dest_t *d)
{
    size_t i;

    for (i = nopen; i > 0; i--)
        if (open[i - 1]->dest == d && open[i - 1]->count < d->transport->rcpt_limit)
            return open[i - 1];
    return NULL;
}

void sched_add(qmgr_message_t *msg)
{
    buf_t transport = BUF_INIT, nexthop = BUF_INIT, key = BUF_INIT;
    qmgr_entry_t **open = xcalloc(msg->env.rcpt_count ? msg->env.rcpt_count : 1, sizeof(*open));
    size_t nopen = 0, i;

    for (i = 0; i < msg->env.rcpt_count; i++) {
        const char *addr = msg->env.rcpts[i].address;
        qmgr_transport_t *t;
        qmgr_dest_t *d;
        qmgr_entry_t *e;

        buf_reset(&transport);
        buf_reset(&nexthop);
        if (resolve_address(addr, &transport, &nexthop) <= 0 || transport.len == 0) {
            defer_unresolved(msg, i);
            continue;
        }
        split_transport(&transport, &nexthop);
        t = transport_get(transport.data);
        buf_set(&key, buf_str(&nexthop));
        /* With one recipient per request, the recipient is the destination. */
        if (t->rcpt_limit == 1) {
            buf_putc(&key, '\n');
            buf_puts(&key, addr);
        }
        d = dest_get(t, key.data);
        e = open_entry(open, nopen, d);
        if (e == NULL) {
            e = entry_new(msg, d, buf_str(&nexthop));
            open[nopen++] = e;
        }
        e->rcpt_index[e->count++] = i;
    }
    for (i = 0; i < nopen; i++)
        enqueue(open[i]);
    free(open);
    buf_release(&transport);
    buf_release(&nexthop);
    buf_release(&key);
    sched_kick();
}

/* ---- Dispatch ---- */

static void transport_dispatch(qmgr_transport_t *t)
{
    while (!t->throttled && t->busy < t->proc_limit && t->ready_head != NULL) {
        qmgr_dest_t *d = t->ready_head;
        qmgr_entry_t *e = d->head;

        /* Round-robin: the destination goes to the back of the ring. */
        ready_remove(d);
        d->head = e->next;
        if (d->head == NULL)
            d->tail = NULL;
        e->next = NULL;
        d->busy++;
        t->busy++;
        dest_update_ready(d);
        if (deliver_start(e) == 0)
            continue;
        d->busy--;
        t->busy--;
        sched_defer_entry(e, "4.3.0", "mail transport unavailable", 0);
        entry_finish(e);
        dest_maybe_free(d);
        transport_throttle(t);
    }
}

static void dispatch(void *ctx)
{
    qmgr_transport_t *t;

    (void) ctx;
    for (t = transports; t != NULL; t = t->next)
        transport_dispatch(t);
}

void sched_kick(void)
{
    event_timer(0, dispatch, NULL);
}

void sched_entry_done(qmgr_entry_t *e)
{
    qmgr_dest_t *d = e->dest;
    qmgr_transport_t *t = d->transport;

    d->busy--;
    t->busy--;
    dest_update_ready(d);
    dest_maybe_free(d);
    entry_finish(e);
    sched_kick();
}
