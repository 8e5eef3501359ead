/* qmgr: the queue manager's private declarations, shared by the files of
 * this program only (settings, messages in the active queue, scheduler
 * entries, agent conversations, queue scans, notices). */
#ifndef FACTEUR_QMGR_H
#define FACTEUR_QMGR_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "delivery.h"
#include "dsn_log.h"

/* Settings read once at start-up (master restarts qmgr on reload). */
typedef struct qmgr_settings {
    long queue_run_delay;          /* seconds between deferred scans */
    long minimal_backoff_time;
    long maximal_backoff_time;
    long maximal_queue_lifetime;
    long bounce_queue_lifetime;
    long transport_retry_time;
    long active_limit;             /* qmgr_message_active_limit */
    long process_limit;            /* default_process_limit: agents per transport */
    long default_concurrency;      /* default_destination_concurrency_limit */
    long default_rcpt_limit;       /* default_destination_recipient_limit */
    long bounce_size_limit;
    long agent_timeout;            /* daemon_timeout: give up on a silent agent */
    int  soft_bounce;
    char *myhostname;
    char *myorigin;
    char *mail_name;
    char *double_bounce_sender;
} qmgr_settings_t;

extern qmgr_settings_t qmgr_conf;

void qmgr_settings_load(void);
/* Seconds as an event_timer delay, capped at a day (timers re-arm). */
int  qmgr_timer_ms(long seconds);

/* One recipient still to do, as read from the queue file. */
typedef struct qmgr_rcpt {
    long  offset;
    char *address;
    char *orig_rcpt;               /* "" when unknown */
    char *dsn_orig_rcpt;           /* "" when absent */
    long  notify_flags;
} qmgr_rcpt_t;

/* A message in the active queue. */
typedef struct qmgr_message {
    char   *id;
    char   *sender;
    char   *envid;
    char   *client;                /* "host[addr]" or "" */
    long    dsn_ret;
    long    arrival_sec;
    long    arrival_usec;
    long    create_time;
    long    data_offset;
    long    content_size;
    double  active_since;          /* when qmgr took it (for delays=) */
    qmgr_rcpt_t *rcpts;
    size_t  rcpt_count;
    size_t  refcount;              /* outstanding delivery entries, +1 while set up */
    int     deferred;              /* some recipient must be tried again */
} qmgr_message_t;

/* A delivery request waiting for, or being served by, an agent: some
 * recipients of one message for one (transport, nexthop). */
typedef struct qmgr_entry {
    qmgr_message_t     *msg;
    struct qmgr_dest   *dest;
    char               *nexthop;
    size_t             *rcpt_index;  /* into msg->rcpts */
    size_t              count;
    struct qmgr_entry  *next;        /* in the destination's waiting list */
} qmgr_entry_t;

/* message.c */
/* Moves queue/id to active, reads it and schedules its recipients. A file
 * that vanished is ignored, a locked one goes back to incoming for 60s, a
 * malformed one goes to corrupt/. */
void message_activate(const char *queue, const char *id);
void message_release(qmgr_message_t *msg);   /* one entry finished */
size_t message_active_count(void);
double qmgr_now(void);

/* scheduler.c */
void sched_add(qmgr_message_t *msg);         /* resolves and queues every recipient */
void sched_entry_done(qmgr_entry_t *e);      /* agent finished (any outcome) */
void sched_kick(void);                       /* dispatch soon (from the loop) */
void sched_forget_dead(void);                /* 'F': unthrottle every transport */
/* Defers every recipient of an entry with the reason, from qmgr itself
 * (defer/ID + the to=<> log line). Recipients already marked done in the
 * queue file are skipped when check_done is set. */
void sched_defer_entry(qmgr_entry_t *e, const char *dsn, const char *reason, int check_done);
const char *sched_entry_transport(const qmgr_entry_t *e);

/* deliver.c */
/* Connects to private/<transport> and starts the conversation. 0 when
 * started (sched_entry_done follows later), -1 when the agent is
 * unavailable (nothing started). */
int  deliver_start(qmgr_entry_t *e);
/* Fills req from an entry; strings are borrowed; free with deliver_request_release. */
void deliver_request_fill(delivery_request_t *req, const qmgr_entry_t *e);
void deliver_request_release(delivery_request_t *req);

/* queue_scan.c */
void scan_startup(void);                     /* active -> incoming, first scans */
void scan_request_incoming(void);
void scan_request_deferred(void);
void scan_ignore_mtime_next(void);           /* 'A': next deferred scan takes all */
void scan_add_new(const char *id);           /* 'N' trigger */
void scan_feed_kick(void);                   /* room may have freed: feed soon */
void scan_retry_locked_later(void);

/* trigger.c */
void trigger_listen(int fd);

/* One failed recipient of a notice (owned copies of a dsn_log entry). */
typedef struct notice_rcpt {
    char *recipient;
    char *orig_rcpt;
    char *dsn_orig_rcpt;
    char *status;
    char *reason;
    long  offset;
    long  notify_flags;
} notice_rcpt_t;

/* bounce.c */
/* Submits a non-delivery notice about rcpts to msg->sender. Returns 0
 * with the new queue ID in new_id, or -1 (logged) to retry later. */
int  bounce_send_notice(const qmgr_message_t *msg, const notice_rcpt_t *rcpts,
                        size_t count, buf_t *new_id);

#endif
