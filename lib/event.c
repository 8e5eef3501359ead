/* event: a poll(2) loop with fd callbacks and one-shot timers, for master
 * and qmgr. Callbacks may watch, unwatch and add timers freely: a ready fd
 * whose registration changed during the same round is not called. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "event.h"
#include "log.h"

typedef struct watch {
    int                fd;
    int                events;
    event_fn           fn;
    void              *ctx;
    unsigned long long serial;   /* identifies this registration */
} watch_t;

typedef struct timer {
    long long          due_ms;
    timer_fn           fn;
    void              *ctx;
    unsigned long long serial;   /* order of insertion */
} ev_timer_t;

static watch_t  *watches;
static size_t    watch_count, watch_cap;
static ev_timer_t *timers;
static size_t    timer_count, timer_cap;
static unsigned long long next_serial = 1;

long long event_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        msg_fatal("clock_gettime: %m");
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static watch_t *watch_find(int fd)
{
    for (size_t i = 0; i < watch_count; i++)
        if (watches[i].fd == fd)
            return &watches[i];
    return NULL;
}

void event_watch(int fd, int events, event_fn fn, void *ctx)
{
    watch_t *w = watch_find(fd);

    if (fd < 0 || (events & (EVENT_READ | EVENT_WRITE)) == 0 || fn == NULL)
        msg_panic("event_watch: bad request for fd %d", fd);
    if (w == NULL) {
        if (watch_count == watch_cap) {
            watch_cap = watch_cap ? size_mul(watch_cap, 2) : 16;
            watches = xreallocarray(watches, watch_cap, sizeof(*watches));
        }
        w = &watches[watch_count++];
        w->fd = fd;
    }
    /* A new serial on every change: a readiness seen for the old
     * registration must not reach the new callback. */
    w->events = events;
    w->fn = fn;
    w->ctx = ctx;
    w->serial = next_serial++;
}

void event_unwatch(int fd)
{
    for (size_t i = 0; i < watch_count; i++) {
        if (watches[i].fd == fd) {
            watches[i] = watches[--watch_count];
            return;
        }
    }
}

static ev_timer_t *timer_find(timer_fn fn, void *ctx)
{
    for (size_t i = 0; i < timer_count; i++)
        if (timers[i].fn == fn && timers[i].ctx == ctx)
            return &timers[i];
    return NULL;
}

void event_timer(int delay_ms, timer_fn fn, void *ctx)
{
    ev_timer_t *t = timer_find(fn, ctx);

    if (fn == NULL)
        msg_panic("event_timer: null callback");
    if (delay_ms < 0)
        delay_ms = 0;
    if (t == NULL) {
        if (timer_count == timer_cap) {
            timer_cap = timer_cap ? size_mul(timer_cap, 2) : 16;
            timers = xreallocarray(timers, timer_cap, sizeof(*timers));
        }
        t = &timers[timer_count++];
        t->fn = fn;
        t->ctx = ctx;
    }
    t->due_ms = event_now_ms() + delay_ms;
    t->serial = next_serial++;
}

void event_cancel(timer_fn fn, void *ctx)
{
    ev_timer_t *t = timer_find(fn, ctx);

    if (t != NULL)
        *t = timers[--timer_count];
}

/* Milliseconds until the earliest timer, capped by max_wait_ms (-1 = none). */
static int wait_time(int max_wait_ms)
{
    long long now = event_now_ms();
    long long wait = max_wait_ms;

    for (size_t i = 0; i < timer_count; i++) {
        long long left = timers[i].due_ms - now;

        if (left < 0)
            left = 0;
        if (wait < 0 || left < wait)
            wait = left;
    }
    if (wait > 24LL * 3600 * 1000)
        wait = 24LL * 3600 * 1000;
    return (int) wait;
}

/* Runs the timers that are due, earliest first. Only timers that existed
 * before this round run, so a timer that re-arms itself with delay 0
 * cannot starve the descriptors. */
static void run_timers(void)
{
    unsigned long long limit = next_serial;
    long long now = event_now_ms();

    for (;;) {
        ev_timer_t *best = NULL;
        timer_fn fn;
        void *ctx;

        for (size_t i = 0; i < timer_count; i++) {
            ev_timer_t *t = &timers[i];

            if (t->serial < limit && t->due_ms <= now
                && (best == NULL || t->due_ms < best->due_ms))
                best = t;
        }
        if (best == NULL)
            return;
        fn = best->fn;
        ctx = best->ctx;
        *best = timers[--timer_count];
        fn(ctx);
    }
}

static int poll_to_events(short revents)
{
    int ev = 0;

    if (revents & (POLLIN | POLLHUP | POLLERR))
        ev |= EVENT_READ;
    if (revents & (POLLOUT | POLLHUP | POLLERR))
        ev |= EVENT_WRITE;
    return ev;
}

/* Calls the callbacks of the descriptors poll found ready, skipping any
 * registration that changed since the poll started. */
static void dispatch(const struct pollfd *pfds, const unsigned long long *serials, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        watch_t *w;

        if (pfds[i].revents == 0)
            continue;
        w = watch_find(pfds[i].fd);
        if (w == NULL || w->serial != serials[i])
            continue;
        if (pfds[i].revents & POLLNVAL) {
            msg_warn("event: descriptor %d is not open; no longer watched", pfds[i].fd);
            event_unwatch(pfds[i].fd);
            continue;
        }
        if (poll_to_events(pfds[i].revents) & w->events)
            w->fn(w->fd, w->ctx);
    }
}

void event_run_once(int max_wait_ms)
{
    size_t n = watch_count;
    struct pollfd *pfds = xcalloc(n ? n : 1, sizeof(*pfds));
    unsigned long long *serials = xcalloc(n ? n : 1, sizeof(*serials));
    int wait = wait_time(max_wait_ms);
    int ready;

    for (size_t i = 0; i < n; i++) {
        pfds[i].fd = watches[i].fd;
        pfds[i].events = (short) (((watches[i].events & EVENT_READ) ? POLLIN : 0)
                                  | ((watches[i].events & EVENT_WRITE) ? POLLOUT : 0));
        serials[i] = watches[i].serial;
    }
    ready = poll(pfds, (nfds_t) n, wait);
    if (ready < 0 && errno != EINTR)
        msg_fatal("event: poll: %m");
    if (ready > 0)
        dispatch(pfds, serials, n);
    run_timers();
    free(pfds);
    free(serials);
}
