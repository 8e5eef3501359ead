/* event: a small poll(2) event loop with one-shot timers, for the
 * processes that juggle many descriptors (master, qmgr). Not thread-safe. */
#ifndef FACTEUR_EVENT_H
#define FACTEUR_EVENT_H

typedef void (*event_fn)(int fd, void *ctx);
typedef void (*timer_fn)(void *ctx);

#define EVENT_READ   1
#define EVENT_WRITE  2

/* Watches fd for the given events (replacing an earlier registration). */
void event_watch(int fd, int events, event_fn fn, void *ctx);
void event_unwatch(int fd);
/* One-shot timer after delay_ms; (fn, ctx) identifies it: adding it again
 * moves it. */
void event_timer(int delay_ms, timer_fn fn, void *ctx);
void event_cancel(timer_fn fn, void *ctx);
/* Runs due timers and ready callbacks once, waiting at most max_wait_ms
 * (-1 = until something happens). A signal interrupts the wait. */
void event_run_once(int max_wait_ms);
/* Milliseconds of a monotonic clock. */
long long event_now_ms(void);

#endif
