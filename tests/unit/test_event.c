/* Unit tests for lib/event: one-shot timers (order, moving, cancelling,
 * no starvation), fd callbacks, registrations changed mid-round, and a
 * signal cutting a wait short. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "event.h"

static char fired[32];
static size_t nfired;

static void mark(void *ctx)
{
    if (nfired < sizeof(fired) - 1)
        fired[nfired++] = *(const char *) ctx;
    fired[nfired] = 0;
}

static void reset_marks(void)
{
    nfired = 0;
    fired[0] = 0;
}

/* Runs the loop until cond() holds or limit_ms passes. */
static void run_for(int limit_ms, int (*cond)(void))
{
    long long end = event_now_ms() + limit_ms;

    while (event_now_ms() < end && !(cond && cond()))
        event_run_once(10);
}

static void test_timers_fire_in_order_and_not_early(void **state)
{
    static const char a = 'a', b = 'b';
    long long start = event_now_ms();

    (void) state;
    reset_marks();
    event_timer(60, mark, (void *) &b);
    event_timer(20, mark, (void *) &a);
    event_run_once(0);
    assert_int_equal(nfired, 0);             /* nothing is due yet */
    run_for(300, NULL);
    assert_string_equal(fired, "ab");
    assert_true(event_now_ms() - start >= 60);
}

static void test_timer_moves_and_cancels(void **state)
{
    static const char a = 'a', b = 'b';

    (void) state;
    reset_marks();
    event_timer(10, mark, (void *) &a);
    event_timer(200, mark, (void *) &a);      /* same (fn, ctx): moved, not doubled */
    event_timer(10, mark, (void *) &b);
    event_cancel(mark, (void *) &b);
    run_for(100, NULL);
    assert_int_equal(nfired, 0);
    run_for(300, NULL);
    assert_string_equal(fired, "a");
}

static int rearm_count;

static void rearm_zero(void *ctx)
{
    (void) ctx;
    rearm_count++;
    event_timer(0, rearm_zero, NULL);
}

static void test_zero_delay_rearm_does_not_starve(void **state)
{
    (void) state;
    rearm_count = 0;
    event_timer(0, rearm_zero, NULL);
    event_run_once(0);
    assert_int_equal(rearm_count, 1);         /* one round runs it once */
    event_run_once(0);
    assert_int_equal(rearm_count, 2);
    event_cancel(rearm_zero, NULL);
    event_run_once(0);
    assert_int_equal(rearm_count, 2);
}

static int read_calls;
static char last_byte;

static void on_readable(int fd, void *ctx)
{
    (void) ctx;
    read_calls++;
    assert_int_equal(read(fd, &last_byte, 1), 1);
}

static void test_fd_callback(void **state)
{
    int p[2];

    (void) state;
    assert_int_equal(pipe(p), 0);
    read_calls = 0;
    event_watch(p[0], EVENT_READ, on_readable, NULL);
    event_run_once(0);
    assert_int_equal(read_calls, 0);          /* not readable: not called */
    assert_int_equal(write(p[1], "x", 1), 1);
    event_run_once(1000);
    assert_int_equal(read_calls, 1);
    assert_int_equal(last_byte, 'x');
    event_unwatch(p[0]);
    assert_int_equal(write(p[1], "y", 1), 1);
    event_run_once(50);
    assert_int_equal(read_calls, 1);          /* unwatched: not called */
    close(p[0]);
    close(p[1]);
}

static int writable_calls;

static void on_writable(int fd, void *ctx)
{
    (void) ctx;
    writable_calls++;
    event_unwatch(fd);
}

static void test_write_event(void **state)
{
    int p[2];

    (void) state;
    assert_int_equal(pipe(p), 0);
    writable_calls = 0;
    event_watch(p[1], EVENT_WRITE, on_writable, NULL);
    event_run_once(1000);
    assert_int_equal(writable_calls, 1);
    close(p[0]);
    close(p[1]);
}

/* Two ready pipes; whichever callback runs first unwatches the other, so
 * exactly one runs in that round. */
static int pa[2], pb[2];
static int ab_calls;

static void unwatch_other(int fd, void *ctx)
{
    (void) ctx;
    ab_calls++;
    event_unwatch(fd == pa[0] ? pb[0] : pa[0]);
    event_unwatch(fd);
}

static void test_unwatch_during_round(void **state)
{
    (void) state;
    assert_int_equal(pipe(pa), 0);
    assert_int_equal(pipe(pb), 0);
    assert_int_equal(write(pa[1], "1", 1), 1);
    assert_int_equal(write(pb[1], "2", 1), 1);
    ab_calls = 0;
    event_watch(pa[0], EVENT_READ, unwatch_other, NULL);
    event_watch(pb[0], EVENT_READ, unwatch_other, NULL);
    event_run_once(1000);
    assert_int_equal(ab_calls, 1);
    event_run_once(20);
    assert_int_equal(ab_calls, 1);
    close(pa[0]); close(pa[1]); close(pb[0]); close(pb[1]);
}

static void test_wait_is_bounded(void **state)
{
    long long start = event_now_ms();

    (void) state;
    event_run_once(50);
    assert_true(event_now_ms() - start >= 45);
    assert_true(event_now_ms() - start < 1000);
}

static void on_alarm(int sig)
{
    (void) sig;
}

static void test_signal_interrupts_wait(void **state)
{
    struct sigaction sa;
    struct itimerval it;
    long long start;

    (void) state;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    memset(&it, 0, sizeof(it));
    it.it_value.tv_usec = 50000;
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    start = event_now_ms();
    event_run_once(-1);                       /* nothing watched, no timer */
    assert_true(event_now_ms() - start < 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_order_and_not_early),
        cmocka_unit_test(test_timer_moves_and_cancels),
        cmocka_unit_test(test_zero_delay_rearm_does_not_starve),
        cmocka_unit_test(test_fd_callback),
        cmocka_unit_test(test_write_event),
        cmocka_unit_test(test_unwatch_during_round),
        cmocka_unit_test(test_wait_is_bounded),
        cmocka_unit_test(test_signal_interrupts_wait),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
