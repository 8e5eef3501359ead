/* Unit tests for lib/stream: bounded lines, timeouts, partial reads, writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "stream.h"

static int fds[2];

static int setup(void **state)
{
    (void) state;
    return socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
}

static int teardown(void **state)
{
    (void) state;
    close(fds[0]);
    close(fds[1]);
    return 0;
}

static void test_lines(void **state)
{
    stream_t *s = stream_fdopen(fds[0]);
    buf_t b = BUF_INIT;

    (void) state;
    assert_int_equal(write(fds[1], "EHLO x\r\nMAIL FROM:<a@b>\r\nQU", 27), 27);
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE);
    assert_string_equal(buf_str(&b), "EHLO x\r\n");
    assert_int_equal(stream_buffered(s), 19);
    buf_reset(&b);
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE);
    assert_string_equal(buf_str(&b), "MAIL FROM:<a@b>\r\n");
    buf_reset(&b);
    close(fds[1]);
    fds[1] = -1;
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE_EOF);
    assert_string_equal(buf_str(&b), "QU");
    assert_int_equal(stream_status(s), STREAM_EOF);
    buf_release(&b);
    stream_free(s);
    fds[1] = dup(fds[0]);                   /* keep teardown simple */
}

static void test_line_bound(void **state)
{
    stream_t *s = stream_fdopen(fds[0]);
    buf_t b = BUF_INIT;
    char big[10000];

    (void) state;
    memset(big, 'A', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    assert_int_equal(write(fds[1], big, sizeof(big)), sizeof(big));
    assert_int_equal(stream_get_line(s, &b, 2048), STREAM_LINE_PART);
    assert_int_equal(b.len, 2048);
    buf_reset(&b);
    /* The caller drains the rest of the line in bounded pieces. */
    int r, pieces = 0;

    while ((r = stream_get_line(s, &b, 2048)) == STREAM_LINE_PART) {
        pieces++;
        buf_reset(&b);
    }
    assert_int_equal(r, STREAM_LINE);
    assert_int_equal(pieces, 3);
    buf_release(&b);
    stream_free(s);
}

static void test_timeout(void **state)
{
    stream_t *s = stream_fdopen(fds[0]);
    buf_t b = BUF_INIT;

    (void) state;
    stream_set_timeout(s, 1);
    assert_int_equal(stream_get_line(s, &b, 100), STREAM_LINE_ERR);
    assert_int_equal(stream_status(s), STREAM_TIMEOUT);
    buf_release(&b);
    stream_free(s);
}

static void test_write_and_exact(void **state)
{
    stream_t *w = stream_fdopen(fds[1]);
    stream_t *r = stream_fdopen(fds[0]);
    char got[12];

    (void) state;
    stream_printf(w, "%d%s", 12, "34");
    stream_puts(w, "5678");
    stream_putc(w, '9');
    stream_write(w, "0ab", 3);
    assert_int_equal(stream_flush(w), 0);
    assert_int_equal(stream_read_exact(r, got, 12), 0);
    assert_memory_equal(got, "1234567890ab", 12);
    assert_int_equal(stream_wait_readable(r, 0), 0);   /* nothing more was sent */
    stream_free(w);
    stream_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_and_exact, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
