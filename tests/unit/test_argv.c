/* Unit tests for lib/argv: growable NULL-terminated string arrays, the
 * plain delimiter split and the Postfix parameter-list split with
 * "{ ... }" groups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "argv.h"

/* Checks a's elements against want (a NULL-terminated list), and that the
 * array itself is NULL-terminated right after the last element. */
static void assert_argv(const argv_t *a, const char *const *want)
{
    size_t n = 0;

    while (want[n] != NULL)
        n++;
    if (a->argc != n) {
        for (size_t i = 0; i < a->argc; i++)
            print_error("  got [%zu] \"%s\"\n", i, a->argv[i]);
    }
    assert_int_equal(a->argc, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(a->argv[i], want[i]);
    assert_null(a->argv[n]);
}

#define ASSERT_ARGV(a, ...) do { \
        static const char *const want_[] = { __VA_ARGS__, NULL }; \
        assert_argv((a), want_); \
    } while (0)

static void assert_empty(const argv_t *a)
{
    assert_int_equal(a->argc, 0);
    assert_non_null(a->argv);
    assert_null(a->argv[0]);
}

static void test_new_and_free(void **state)
{
    argv_t *a = argv_new();

    (void) state;
    assert_empty(a);
    argv_free(a);
    argv_free(NULL);                    /* allowed, does nothing */
}

static void test_add_copies(void **state)
{
    argv_t *a = argv_new();
    char word[] = "alpha";

    (void) state;
    argv_add(a, word);
    argv_add(a, "");
    word[0] = 'X';                      /* the array holds its own copy */
    argv_add(a, word);
    ASSERT_ARGV(a, "alpha", "", "Xlpha");
    assert_ptr_not_equal(a->argv[0], word);
    argv_free(a);
}

/* memset through a volatile pointer: the compiler may not drop the
 * stores into a block that is freed right after. */
static void *(*volatile fill_block)(void *, int, size_t) = memset;

/* Leaves freed, non-zero blocks of the sizes a growing array asks for,
 * so that a missing NULL terminator shows even without ASan. */
static void dirty_heap(void)
{
    void *blocks[16];
    int n = 0;

    for (size_t size = 8 * sizeof(char *); size <= 4096 * sizeof(char *) && n < 16; size *= 2) {
        blocks[n] = malloc(size);
        assert_non_null(blocks[n]);
        fill_block(blocks[n++], 0xff, size);
    }
    while (n-- > 0)
        free(blocks[n]);
}

/* Many additions: every element kept in order, terminated after each. */
static void test_add_grows(void **state)
{
    argv_t *a;
    char text[32];

    (void) state;
    dirty_heap();
    a = argv_new();
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "item%d", i);
        argv_add(a, text);
        assert_int_equal(a->argc, (size_t) i + 1);
        assert_null(a->argv[a->argc]);
        assert_true(a->cap > a->argc);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "item%d", i);
        assert_string_equal(a->argv[i], text);
    }
    argv_free(a);
}

static void test_addn(void **state)
{
    argv_t *a = argv_new();
    const char unterminated[4] = { 'w', 'x', 'y', 'z' };

    (void) state;
    argv_addn(a, "hello world", 5);
    argv_addn(a, "ignored", 0);
    argv_addn(a, "ab", 10);             /* stops at the NUL */
    argv_addn(a, unterminated, sizeof(unterminated));   /* reads only len bytes */
    argv_addn(a, "a\0b", 3);
    ASSERT_ARGV(a, "hello", "", "ab", "wxyz", "a");
    argv_free(a);
}

static void test_split(void **state)
{
    argv_t *a;

    (void) state;
    a = argv_split("a:b::c", ":");
    ASSERT_ARGV(a, "a", "b", "c");
    argv_free(a);

    a = argv_split("::lead and trail::", ":");
    ASSERT_ARGV(a, "lead and trail");
    argv_free(a);

    a = argv_split(" one\ttwo ,three", " \t,");
    ASSERT_ARGV(a, "one", "two", "three");
    argv_free(a);

    a = argv_split("nodelimiter", ",");
    ASSERT_ARGV(a, "nodelimiter");
    argv_free(a);

    a = argv_split("", ",");
    assert_empty(a);
    argv_free(a);

    a = argv_split(",,,", ",");
    assert_empty(a);
    argv_free(a);

    /* No grouping here: braces are ordinary characters. */
    a = argv_split("{ a b }", " ");
    ASSERT_ARGV(a, "{", "a", "b", "}");
    argv_free(a);
}

static void test_split_list_separators(void **state)
{
    argv_t *a;

    (void) state;
    a = argv_split_list("permit_mynetworks,\n permit_sasl_authenticated,  reject_unauth_destination"
                        " check_recipient_access hash:/etc/postfix/spam, permit");
    ASSERT_ARGV(a, "permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination",
                "check_recipient_access", "hash:/etc/postfix/spam", "permit");
    argv_free(a);

    /* Tabs, CR/LF, and runs of commas: empty fields are dropped. */
    a = argv_split_list("\t a,,b ,\r\n,c\t,\t");
    ASSERT_ARGV(a, "a", "b", "c");
    argv_free(a);

    a = argv_split_list("single");
    ASSERT_ARGV(a, "single");
    argv_free(a);

    a = argv_split_list("");
    assert_empty(a);
    argv_free(a);

    a = argv_split_list("  ,, \t\r\n ");
    assert_empty(a);
    argv_free(a);

    /* Other punctuation is part of an element. */
    a = argv_split_list("inet:127.0.0.1:10023;x=y|z");
    ASSERT_ARGV(a, "inet:127.0.0.1:10023;x=y|z");
    argv_free(a);
}

static void test_split_list_groups(void **state)
{
    argv_t *a;

    (void) state;
    /* A group is one element, braces and surrounding blanks removed. */
    a = argv_split_list("-o { smtpd_banner = hello world } , x");
    ASSERT_ARGV(a, "-o", "smtpd_banner = hello world", "x");
    argv_free(a);

    /* Commas and newlines inside a group do not split it. */
    a = argv_split_list("check_policy_service {\n inet:127.0.0.1:9998, timeout=10s }, permit");
    ASSERT_ARGV(a, "check_policy_service", "inet:127.0.0.1:9998, timeout=10s", "permit");
    argv_free(a);

    /* Without blanks around the text, and directly followed by a separator. */
    a = argv_split_list("{a b},{c}");
    ASSERT_ARGV(a, "a b", "c");
    argv_free(a);

    /* Nested braces stay inside the outer group. */
    a = argv_split_list("{ x { y z } w } last");
    ASSERT_ARGV(a, "x { y z } w", "last");
    argv_free(a);

    /* An explicitly empty group is one empty element. */
    a = argv_split_list("a { } b {}");
    ASSERT_ARGV(a, "a", "", "b", "");
    argv_free(a);

    /* Blank trimming inside a group covers tabs and newlines too. */
    a = argv_split_list("{\t\n value \r\n}");
    ASSERT_ARGV(a, "value");
    argv_free(a);
}

/* An unterminated group takes the rest of the text, without reading past
 * its end (ASan builds check that). */
/* Braces keep an element whole wherever they start in it. */
static void test_split_list_inline_table(void **state)
{
    argv_t *a = argv_split_list("check_client_access inline:{ 1.2.3.4=REJECT, 5.6.7.8=OK }, permit");

    (void) state;
    assert_int_equal(a->argc, 3);
    assert_string_equal(a->argv[0], "check_client_access");
    assert_string_equal(a->argv[1], "inline:{ 1.2.3.4=REJECT, 5.6.7.8=OK }");
    assert_string_equal(a->argv[2], "permit");
    argv_free(a);
}

static void test_split_list_unterminated(void **state)
{
    argv_t *a;

    (void) state;
    a = argv_split_list("{ unterminated");
    ASSERT_ARGV(a, "unterminated");
    argv_free(a);

    a = argv_split_list("a, { b c ,d  ");
    ASSERT_ARGV(a, "a", "b c ,d");
    argv_free(a);

    a = argv_split_list("{");
    ASSERT_ARGV(a, "");
    argv_free(a);

    a = argv_split_list("x { y { z }");
    ASSERT_ARGV(a, "x", "y { z }");
    argv_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_free),
        cmocka_unit_test(test_add_copies),
        cmocka_unit_test(test_add_grows),
        cmocka_unit_test(test_addn),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_list_separators),
        cmocka_unit_test(test_split_list_groups),
        cmocka_unit_test(test_split_list_unterminated),
        cmocka_unit_test(test_split_list_inline_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
