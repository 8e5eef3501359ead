/* Unit tests for lib/buf (lib/argv has its own, test_argv.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void test_append_and_terminate(void **state)
{
    buf_t b = BUF_INIT;

    (void) state;
    assert_string_equal(buf_str(&b), "");
    buf_puts(&b, "hello");
    buf_putc(&b, ' ');
    buf_append(&b, "world!!", 5);
    assert_int_equal(b.len, 11);
    assert_string_equal(buf_str(&b), "hello world");
    buf_truncate(&b, 5);
    assert_string_equal(buf_str(&b), "hello");
    buf_truncate(&b, 100);                  /* longer: no change */
    assert_int_equal(b.len, 5);
    buf_release(&b);
}

static void test_binary_and_growth(void **state)
{
    buf_t *b = buf_new(0);

    (void) state;
    for (int i = 0; i < 100000; i++)
        buf_putc(b, i % 256);
    assert_int_equal(b->len, 100000);
    assert_int_equal((unsigned char) b->data[256], 0);
    assert_int_equal((unsigned char) b->data[257], 1);
    assert_int_equal(b->data[b->len], 0);
    buf_free(b);
}

static void test_printf(void **state)
{
    buf_t b = BUF_INIT;
    char big[5000];

    (void) state;
    buf_printf(&b, "%s=%d", "n", 42);
    assert_string_equal(buf_str(&b), "n=42");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    buf_printf(&b, "[%s]", big);            /* forces the second vsnprintf */
    assert_int_equal(b.len, 4 + 2 + sizeof(big) - 1);
    assert_int_equal(b.data[5], 'x');
    assert_int_equal(b.data[b.len - 1], ']');
    buf_release(&b);
}

static void test_lower_trim_steal(void **state)
{
    buf_t b = BUF_INIT;
    char *s;

    (void) state;
    buf_set(&b, "GaSTon@Mon_Domaine.NET \t\r\n");
    buf_trim_right(&b);
    buf_lower(&b);
    assert_string_equal(buf_str(&b), "gaston@mon_domaine.net");
    s = buf_steal(&b);
    assert_string_equal(s, "gaston@mon_domaine.net");
    assert_int_equal(b.len, 0);
    free(s);
}

static void test_read_file(void **state)
{
    char path[] = "/tmp/facteur-buf-XXXXXX";
    int fd = mkstemp(path);
    buf_t b = BUF_INIT;

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "line one\nline two\n", 18), 18);
    close(fd);
    buf_puts(&b, ">");
    assert_int_equal(buf_read_file(&b, path, 100), 0);
    assert_string_equal(buf_str(&b), ">line one\nline two\n");
    /* Over the bound: an error, and b keeps what it had. */
    assert_int_equal(buf_read_file(&b, path, 10), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(b.len, 19);
    unlink(path);
    assert_int_equal(buf_read_file(&b, path, 100), -1);
    assert_int_equal(errno, ENOENT);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminate),
        cmocka_unit_test(test_binary_and_growth),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_lower_trim_steal),
        cmocka_unit_test(test_read_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
