/* qmgr: the queue manager's private declarations, shared by the files of
 * this program only (settings, messages in the active queue, scheduler
 * entries, agent conversations, queue scans, the sender's notices). */
#ifndef FACTEUR_QMGR_H
#define FACTEUR_QMGR_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "delivery.h"
#include "dsn_log.h"
#include "queue_info.h"

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
    long delay_warning_time;       /* 0: no delay warnings */
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

/* A message in the active queue. Its envelope is the queue file's, as
 * lib/queue_info reads it, with env.rcpts cut down to the recipients still
 * to do (env.rcpt_count of them, file order). */
typedef queue_info_rcpt_t qmgr_rcpt_t;

typedef struct qmgr_message {
    char        *id;
    queue_info_t env;
    char        *client;           /* "host[addr]" or "" */
    double       active_since;     /* when qmgr took it (for delays=) */
    size_t       refcount;         /* outstanding delivery entries, +1 while set up */
    int          deferred;         /* some recipient must be tried again */
    int          force_expire;     /* postsuper -e mark seen when it was taken */
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

/* Whether the recipient record at offset of an open queue file is still
 * to do ('R'); 1 also when it cannot be read or fd < 0 (never drop a
 * recipient). */
int  message_rcpt_todo(int fd, long offset);

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

/* One recipient of a notice (owned copies of a dsn_log entry). */
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
typedef enum {
    NOTICE_FAILURE,                /* "Undelivered Mail Returned to Sender" */
    NOTICE_DELAY,                  /* "Delayed Mail (still being retried)" */
    NOTICE_SUCCESS                 /* "Successful Mail Delivery Report" */
} notice_kind_t;

/* Submits a delivery status notice (RFC 3464) about rcpts to the sender
 * through cleanup. Returns 0 with the new queue ID in new_id, or -1
 * (logged) to retry later. */
int  notice_send(const qmgr_message_t *msg, notice_kind_t kind,
                 const notice_rcpt_t *rcpts, size_t count, buf_t *new_id);

/* notify.c: the notices at the end of an attempt. The first two return 0
 * when done with (sent, or nothing to send), -1 to keep the message and
 * try again later. */
/* bounce/ID, and with expire defer/ID too (forced: every recipient still
 * to do, "message is administratively expired" when it has no deferral
 * reason); removes bounce/ID once sent. */
int  notify_failures(const qmgr_message_t *msg, int expire, int forced);
/* trace/ID (NOTIFY=SUCCESS deliveries); removes it once sent. */
int  notify_successes(const qmgr_message_t *msg);
/* The one delay warning, when delay_warning_time is on and the W record
 * is due: this attempt's deferred recipients that want it; then W = 0. */
void notify_delay(const qmgr_message_t *msg, time_t now);

#endif
