/* Unit tests for lib/attr: round trip over a socketpair, strict rejection
 * of duplicate, oversize, unterminated and badly named lists, attr_check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "attr.h"

static int fds[2];

static int setup(void **state)
{
    (void) state;
    return socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
}

static int teardown(void **state)
{
    (void) state;
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return 0;
}

/* Writes raw bytes, closes the writing end, and reads one list. */
static int read_raw(const void *bytes, size_t len, attr_list_t *a)
{
    stream_t *r = stream_fdopen(fds[1]);
    int ret;

    assert_int_equal(write(fds[0], bytes, len), (ssize_t) len);
    close(fds[0]);
    fds[0] = -1;
    ret = attr_read(r, a);
    stream_free(r);
    return ret;
}

static void test_round_trip(void **state)
{
    stream_t *w = stream_fdopen(fds[0]);
    stream_t *r = stream_fdopen(fds[1]);
    attr_list_t *a = attr_list_new();
    long v;

    (void) state;
    attr_put_str(w, "protocol", "cleanup_protocol");
    attr_put_str(w, "queue_id", "4F2A724A3");
    attr_put_str(w, "empty", "");
    attr_put_long(w, "size", 1234);
    attr_put_long(w, "neg", -5);
    attr_put_end(w);
    attr_put_long(w, "status", 0);
    attr_put_end(w);
    assert_int_equal(stream_status(w), STREAM_OK);

    assert_int_equal(attr_read(r, a), 0);
    assert_int_equal(a->count, 5);
    assert_string_equal(attr_get(a, "protocol"), "cleanup_protocol");
    assert_string_equal(attr_get(a, "queue_id"), "4F2A724A3");
    assert_string_equal(attr_get(a, "empty"), "");
    assert_null(attr_get(a, "missing"));
    assert_int_equal(attr_get_long(a, "size", &v), 0);
    assert_int_equal(v, 1234);
    assert_int_equal(attr_get_long(a, "neg", &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(attr_get_long(a, "protocol", &v), -1);
    assert_int_equal(attr_get_long(a, "empty", &v), -1);
    assert_int_equal(attr_get_long(a, "missing", &v), -1);

    /* The second list replaces the first. */
    assert_int_equal(attr_read(r, a), 0);
    assert_int_equal(a->count, 1);
    assert_null(attr_get(a, "protocol"));
    assert_int_equal(attr_get_long(a, "status", &v), 0);
    assert_int_equal(v, 0);
    attr_list_free(a);
    stream_free(w);
    stream_free(r);
}

static void test_empty_list(void **state)
{
    attr_list_t *a = attr_list_new();

    (void) state;
    assert_int_equal(read_raw("", 1, a), 0);
    assert_int_equal(a->count, 0);
    attr_list_free(a);
}

static void test_duplicate_rejected(void **state)
{
    static const char raw[] = "a\0001\0b\0002\0a\0003\0";
    attr_list_t *a = attr_list_new();

    (void) state;
    assert_int_equal(read_raw(raw, sizeof(raw), a), -1);
    assert_int_equal(a->count, 0);
    attr_list_free(a);
}

static void test_unterminated_rejected(void **state)
{
    static const char raw[] = "a\0001\0b\0002";    /* no NUL after 2, no end */
    attr_list_t *a = attr_list_new();

    (void) state;
    assert_int_equal(read_raw(raw, sizeof(raw) - 1, a), -1);
    attr_list_free(a);
}

static void test_missing_end_rejected(void **state)
{
    static const char raw[] = "a\0001\0";           /* pairs but no empty name */
    attr_list_t *a = attr_list_new();

    (void) state;
    assert_int_equal(read_raw(raw, sizeof(raw) - 1, a), -1);
    attr_list_free(a);
}

static void test_bad_name_rejected(void **state)
{
    static const char raw[] = "a b\0001\0";
    attr_list_t *a = attr_list_new();

    (void) state;
    assert_int_equal(read_raw(raw, sizeof(raw), a), -1);
    attr_list_free(a);
}

static void test_long_name_rejected(void **state)
{
    char raw[ATTR_MAX_NAME + 10];
    attr_list_t *a = attr_list_new();

    (void) state;
    memset(raw, 'n', ATTR_MAX_NAME + 1);
    memcpy(raw + ATTR_MAX_NAME + 1, "\0v\0\0", 4);
    assert_int_equal(read_raw(raw, ATTR_MAX_NAME + 5, a), -1);
    attr_list_free(a);
}

static void test_value_bound(void **state)
{
    stream_t *w = stream_fdopen(fds[0]);
    stream_t *r = stream_fdopen(fds[1]);
    attr_list_t *a = attr_list_new();
    buf_t big = BUF_INIT;
    size_t i;

    (void) state;
    for (i = 0; i < ATTR_MAX_VALUE; i++)
        buf_putc(&big, 'x');
    /* Exactly at the bound is accepted, one byte more is not. A child
     * writes so that the socket buffer size does not matter. */
    if (fork() == 0) {
        close(fds[1]);
        stream_set_timeout(w, 5);
        attr_put_str(w, "v", big.data);
        attr_put_end(w);
        buf_putc(&big, 'x');
        attr_put_str(w, "v", big.data);
        attr_put_end(w);
        _exit(0);
    }
    stream_free(w);
    assert_int_equal(attr_read(r, a), 0);
    assert_int_equal(strlen(attr_get(a, "v")), ATTR_MAX_VALUE);
    assert_int_equal(attr_read(r, a), -1);
    attr_list_free(a);
    stream_free(r);
    buf_release(&big);
}

static void test_count_bound(void **state)
{
    stream_t *w = stream_fdopen(fds[0]);
    stream_t *r = stream_fdopen(fds[1]);
    attr_list_t *a = attr_list_new();
    buf_t name = BUF_INIT;
    int i;

    (void) state;
    if (fork() == 0) {
        close(fds[1]);
        for (i = 0; i <= ATTR_MAX_COUNT; i++) {
            buf_reset(&name);
            buf_printf(&name, "n%d", i);
            attr_put_str(w, name.data, "v");
        }
        attr_put_end(w);
        _exit(0);
    }
    assert_int_equal(attr_read(r, a), -1);
    attr_list_free(a);
    stream_free(w);
    stream_free(r);
    buf_release(&name);
}

static void test_check(void **state)
{
    static const char raw[] = "status\0000\0reason\0ok\0";
    static const char *const req[] = { "status", NULL };
    static const char *const opt[] = { "reason", NULL };
    static const char *const req2[] = { "status", "reason", NULL };
    static const char *const req3[] = { "status", "queue_id", NULL };
    attr_list_t *a = attr_list_new();

    (void) state;
    assert_int_equal(read_raw(raw, sizeof(raw), a), 0);
    assert_int_equal(attr_check(a, req, opt), 0);
    assert_int_equal(attr_check(a, req2, NULL), 0);
    assert_int_equal(attr_check(a, req, NULL), -1);    /* reason is extra */
    assert_int_equal(attr_check(a, req3, opt), -1);    /* queue_id missing */
    assert_int_equal(attr_check(a, NULL, req2), 0);
    attr_list_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_end_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_name_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_name_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
