/* Unit tests for lib/alloc: the x* allocators copy, zero and keep data as
 * promised, and overflow or exhaustion ends the process through msg_fatal
 * (checked in forked children: exit status 1, "fatal: ..." on stderr). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "alloc.h"
#include "buf.h"

#ifdef __SANITIZE_ADDRESS__
/* Under ASan a huge malloc/calloc aborts inside the allocator unless told
 * to return NULL; the code under test must see the NULL, as in production. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

/* memset through a volatile pointer: the compiler may not drop the
 * stores into a block that is freed right after. */
static void *(*volatile fill_block)(void *, int, size_t) = memset;

/* Sizes kept in volatile objects so the compiler cannot see (and warn
 * about, or fold) the overflowing arithmetic. */
static volatile size_t huge = SIZE_MAX;
static volatile size_t half_plus_one = SIZE_MAX / 2 + 1;

/* ------------------------------------------------------------------ */
/* Fatal paths, each in a forked child                                 */
/* ------------------------------------------------------------------ */

typedef void (*fatal_case_fn)(void);

/* Runs fn in a child with stderr captured; returns the raw wait status
 * and leaves what the child wrote to stderr in err. */
static int run_child(fatal_case_fn fn, buf_t *err)
{
    char path[] = "/tmp/test_alloc.err.XXXXXX";
    int fd = mkstemp(path);
    int status = -1;
    pid_t pid;

    assert_true(fd >= 0);
    /* Unflushed cmocka output must not be written twice by the child. */
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(fd, 2) < 0)
            _exit(90);
        fn();
        _exit(91);                      /* fn was supposed to end the process */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    buf_reset(err);
    assert_int_equal(buf_read_file(err, path, 65536), 0);
    unlink(path);
    close(fd);
    return status;
}

static void expect_fatal(fatal_case_fn fn, const char *message)
{
    buf_t err = BUF_INIT;
    int status = run_child(fn, &err);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || strstr(buf_str(&err), message) == NULL)
        print_error("child status %#x, stderr: \"%s\", wanted exit 1 and \"%s\"\n",
                    status, buf_str(&err), message);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(buf_str(&err), message));
    buf_release(&err);
}

static void add_overflow(void)
{
    (void) size_add(huge, 1);
}

static void add_overflow_large(void)
{
    (void) size_add(half_plus_one, half_plus_one);
}

static void mul_overflow(void)
{
    (void) size_mul(half_plus_one, 2);
}

static void reallocarray_overflow(void)
{
    (void) xreallocarray(NULL, half_plus_one, 4);
}

static void calloc_overflow(void)
{
    (void) xcalloc(huge, 16);
}

static void malloc_exhausted(void)
{
    (void) xmalloc(huge - 4096);
}

static void *realloc_victim;    /* reachable, so LeakSanitizer stays quiet */

static void realloc_exhausted(void)
{
    realloc_victim = xmalloc(16);
    (void) xrealloc(realloc_victim, huge - 4096);
}

static void test_size_overflow_is_fatal(void **state)
{
    char want[128];

    (void) state;
    snprintf(want, sizeof(want), "fatal: size overflow: %zu + 1", (size_t) SIZE_MAX);
    expect_fatal(add_overflow, want);
    expect_fatal(add_overflow_large, "fatal: size overflow: ");
    snprintf(want, sizeof(want), "fatal: size overflow: %zu * 2", (size_t) (SIZE_MAX / 2 + 1));
    expect_fatal(mul_overflow, want);
    expect_fatal(reallocarray_overflow, "fatal: size overflow: ");
    expect_fatal(calloc_overflow, "fatal: size overflow: ");
}

static void test_exhaustion_is_fatal(void **state)
{
    char want[128];

    (void) state;
    snprintf(want, sizeof(want), "fatal: out of memory (requested %zu bytes)",
             (size_t) SIZE_MAX - 4096);
    expect_fatal(malloc_exhausted, want);
    expect_fatal(realloc_exhausted, want);
}

/* The stderr line has the program-name prefix msg_fatal promises. */
static void test_fatal_line_shape(void **state)
{
    buf_t err = BUF_INIT;
    int status;

    (void) state;
    status = run_child(mul_overflow, &err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    /* One line, ending in a newline, starting with "<progname>: fatal: ". */
    assert_non_null(strstr(buf_str(&err), ": fatal: size overflow: "));
    assert_int_equal(err.data[err.len - 1], '\n');
    assert_ptr_equal(strchr(err.data, '\n'), err.data + err.len - 1);
    buf_release(&err);
}

/* ------------------------------------------------------------------ */
/* Ordinary behaviour                                                  */
/* ------------------------------------------------------------------ */

static void test_size_arithmetic(void **state)
{
    (void) state;
    assert_int_equal(size_add(2, 3), 5);
    assert_true(size_add(SIZE_MAX - 1, 1) == SIZE_MAX);
    assert_true(size_add(SIZE_MAX, 0) == SIZE_MAX);
    assert_int_equal(size_mul(6, 7), 42);
    assert_int_equal(size_mul(0, SIZE_MAX), 0);
    assert_true(size_mul(SIZE_MAX, 1) == SIZE_MAX);
    assert_true(size_mul(SIZE_MAX / 2, 2) == SIZE_MAX - 1);
}

static void test_xmalloc(void **state)
{
    unsigned char *p, *q, *z1, *z2;

    (void) state;
    p = xmalloc(1000);
    assert_non_null(p);
    memset(p, 0xab, 1000);              /* all of it is writable (ASan checks) */
    q = xmalloc(1000);
    assert_ptr_not_equal(p, q);
    /* Zero bytes still gives a distinct, freeable pointer, never NULL. */
    z1 = xmalloc(0);
    z2 = xmalloc(0);
    assert_non_null(z1);
    assert_non_null(z2);
    assert_ptr_not_equal(z1, z2);
    assert_int_equal(p[999], 0xab);
    free(p);
    free(q);
    free(z1);
    free(z2);
}

static void test_xcalloc(void **state)
{
    unsigned char *p, *z, *guard;
    size_t i;

    (void) state;
    /* Dirty the heap first so zeroing is not a coincidence: a freed
     * block of the same size, kept away from the top of the heap by a
     * guard block so that it is reused rather than merged. */
    p = xmalloc(4096);
    guard = xmalloc(16);
    fill_block(p, 0xff, 4096);
    free(p);
    p = xcalloc(512, 8);
    for (i = 0; i < 4096; i++)
        if (p[i] != 0)
            break;
    assert_int_equal(i, 4096);
    free(p);
    free(guard);
    z = xcalloc(0, 0);
    assert_non_null(z);
    free(z);
    z = xcalloc(0, 16);
    assert_non_null(z);
    free(z);
}

static void test_xrealloc(void **state)
{
    char *p;
    size_t i;

    (void) state;
    p = xrealloc(NULL, 10);             /* NULL: like xmalloc */
    assert_non_null(p);
    memcpy(p, "0123456789", 10);
    p = xrealloc(p, 100000);            /* growing keeps the content */
    assert_memory_equal(p, "0123456789", 10);
    memset(p + 10, 'x', 100000 - 10);
    p = xrealloc(p, 5);                 /* shrinking keeps the prefix */
    assert_memory_equal(p, "01234", 5);
    p = xrealloc(p, 0);                 /* zero: still a valid pointer */
    assert_non_null(p);
    free(p);

    p = xreallocarray(NULL, 4, sizeof(int));
    ((int *) p)[3] = 77;
    p = xreallocarray(p, 1000, sizeof(int));
    assert_int_equal(((int *) p)[3], 77);
    for (i = 0; i < 1000; i++)
        ((int *) p)[i] = (int) i;       /* the full count * size is usable */
    assert_int_equal(((int *) p)[999], 999);
    free(p);
}

static void test_xstrdup(void **state)
{
    const char *orig = "gaston@mon_domaine.net";
    char *copy, *empty;

    (void) state;
    copy = xstrdup(orig);
    assert_ptr_not_equal(copy, orig);
    assert_string_equal(copy, orig);
    copy[0] = 'G';                      /* a real copy, not an alias */
    assert_int_equal(orig[0], 'g');
    free(copy);
    empty = xstrdup("");
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
}

static void test_xstrndup(void **state)
{
    /* Not NUL-terminated: xstrndup must not read past len. */
    const char unterminated[3] = { 'a', 'b', 'c' };
    char *p;

    (void) state;
    p = xstrndup("hello world", 5);
    assert_string_equal(p, "hello");
    free(p);
    p = xstrndup("hi", 100);            /* shorter than len: stops at NUL */
    assert_string_equal(p, "hi");
    assert_int_equal(strlen(p), 2);
    free(p);
    p = xstrndup(unterminated, sizeof(unterminated));
    assert_string_equal(p, "abc");
    free(p);
    p = xstrndup("abc", 0);
    assert_string_equal(p, "");
    free(p);
    p = xstrndup("a\0b", 3);            /* an inner NUL ends the copy */
    assert_string_equal(p, "a");
    free(p);
}

static void test_xmemdup(void **state)
{
    const char bytes[6] = { 'a', 0, 'b', 0, (char) 0xff, 'z' };
    char *p;

    (void) state;
    p = xmemdup(bytes, sizeof(bytes));
    assert_ptr_not_equal(p, bytes);
    assert_memory_equal(p, bytes, sizeof(bytes));   /* inner NULs kept */
    free(p);
    p = xmemdup(bytes, 0);
    assert_non_null(p);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_arithmetic),
        cmocka_unit_test(test_xmalloc),
        cmocka_unit_test(test_xcalloc),
        cmocka_unit_test(test_xrealloc),
        cmocka_unit_test(test_xstrdup),
        cmocka_unit_test(test_xstrndup),
        cmocka_unit_test(test_xmemdup),
        cmocka_unit_test(test_size_overflow_is_fatal),
        cmocka_unit_test(test_exhaustion_is_fatal),
        cmocka_unit_test(test_fatal_line_shape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
