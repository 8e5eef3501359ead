/* Unit tests for lib/mastercf.c: columns, '-' defaults, continuation
 * lines, { } groups, repeated services, and error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "mastercf.h"

static char tmpdir[] = "/tmp/test_mastercf.XXXXXX";
static char path[600];

static master_table_t *load_text(const char *text, char **err)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return mastercf_load(path, 100, err);
}

static const master_entry_t *find(const master_table_t *t, const char *name, const char *type)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->entries[i]->name, name) == 0 && strcmp(t->entries[i]->type, type) == 0)
            return t->entries[i];
    return NULL;
}

/* The error for text must be "path, line N: why". */
static void expect_error(const char *text, int line, const char *why)
{
    char *err = NULL;
    char expect[1024];

    assert_null(load_text(text, &err));
    assert_non_null(err);
    snprintf(expect, sizeof(expect), "%s, line %d: %s", path, line, why);
    if (strncmp(err, expect, strlen(expect)) != 0)
        fail_msg("got \"%s\", want \"%s...\"", err, expect);
    free(err);
}

static void test_shipped_entries(void **state)
{
    (void) state;
    char *err = (char *) "untouched";
    master_table_t *t = load_text(
        "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
        "#               (yes)   (yes)   (no)    (never) (100)\n"
        "smtp      inet  n       -       n       -       -       smtpd\n"
        "cleanup   unix  n       -       n       -       0       cleanup\n"
        "qmgr      unix  n       -       n       300     1       qmgr\n"
        "local     unix  -       n       n       -       -       local\n", &err);
    const master_entry_t *e;

    assert_non_null(t);
    assert_null(err);
    assert_int_equal(t->count, 4);
    assert_string_equal(t->entries[0]->name, "smtp");
    assert_string_equal(t->entries[3]->name, "local");

    e = find(t, "smtp", "inet");
    assert_non_null(e);
    assert_int_equal(e->private_, 0);
    assert_int_equal(e->unpriv, 1);
    assert_int_equal(e->chroot, 0);
    assert_int_equal(e->wakeup, 0);
    assert_int_equal(e->wakeup_on_use, 0);
    assert_int_equal(e->maxproc, 100);
    assert_string_equal(e->command, "smtpd");
    assert_int_equal(e->args->argc, 0);
    assert_int_equal(e->line, 3);

    e = find(t, "cleanup", "unix");
    assert_int_equal(e->maxproc, 0);
    e = find(t, "qmgr", "unix");
    assert_int_equal(e->wakeup, 300);
    assert_int_equal(e->maxproc, 1);
    e = find(t, "local", "unix");
    assert_int_equal(e->private_, 1);
    assert_int_equal(e->unpriv, 0);
    assert_int_equal(e->line, 6);
    mastercf_free(t);
}

static void test_continuation_and_groups(void **state)
{
    (void) state;
    char *err = NULL;
    master_table_t *t = load_text(
        "submission inet n - y - - smtpd\n"
        "  -o syslog_name=postfix/$service_name\n"
        "#  -o smtpd_tls_security_level=encrypt\n"
        "\n"
        "\t-o { smtpd_banner = $myhostname  hello there }\n"
        "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
        "maildrop  unix  -       n       n       -       -       pipe\r\n"
        "  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} { two words }\r\n"
        "pickup    fifo  n       -       -       60?     1       pickup\n"
        "127.0.0.1:2525 inet n - n - 10 smtpd -v\n", &err);
    const master_entry_t *e;

    assert_non_null(t);
    assert_int_equal(t->count, 4);
    e = find(t, "submission", "inet");
    assert_int_equal(e->chroot, 1);
    assert_int_equal(e->args->argc, 6);
    assert_string_equal(e->args->argv[0], "-o");
    assert_string_equal(e->args->argv[1], "syslog_name=postfix/$service_name");
    assert_string_equal(e->args->argv[2], "-o");
    assert_string_equal(e->args->argv[3], "smtpd_banner=$myhostname  hello there");
    assert_string_equal(e->args->argv[5],
                        "smtpd_client_restrictions=permit_sasl_authenticated,reject");

    e = find(t, "maildrop", "unix");
    assert_int_equal(e->line, 7);
    assert_string_equal(e->command, "pipe");
    assert_int_equal(e->args->argc, 6);
    assert_string_equal(e->args->argv[0], "flags=DRXhu");
    assert_string_equal(e->args->argv[4], "${recipient}");
    assert_string_equal(e->args->argv[5], "two words");

    e = find(t, "pickup", "fifo");
    assert_int_equal(e->wakeup, 60);
    assert_int_equal(e->wakeup_on_use, 1);
    assert_int_equal(e->chroot, 0);

    e = find(t, "127.0.0.1:2525", "inet");
    assert_int_equal(e->maxproc, 10);
    assert_string_equal(e->args->argv[0], "-v");
    mastercf_free(t);
}

static void test_repeat_last_wins(void **state)
{
    (void) state;
    char *err = NULL;
    master_table_t *t = load_text(
        "smtp inet n - n - - smtpd\n"
        "local unix - n n - - local\n"
        "smtp unix - - n - - smtp\n"
        "smtp inet n - n - 5 smtpd -o a=b\n", &err);
    const master_entry_t *e;

    assert_non_null(t);
    assert_int_equal(t->count, 3);
    e = find(t, "smtp", "inet");
    assert_ptr_equal(e, t->entries[0]);
    assert_int_equal(e->maxproc, 5);
    assert_int_equal(e->line, 4);
    assert_int_equal(e->args->argc, 2);
    assert_non_null(find(t, "smtp", "unix"));
    mastercf_free(t);
}

static void test_errors(void **state)
{
    (void) state;
    expect_error("smtp inet n - n - - smtpd\n\n# c\nfoo tcp n - n - - bar\n", 4,
                 "bad transport type: tcp");
    expect_error("smtp inet n - n - -\n", 1, "missing command field");
    expect_error("smtp\n", 1, "missing type field");
    expect_error("cleanup unix x - n - 0 cleanup\n", 1, "bad private field: \"x\"");
    expect_error("cleanup unix n yes n - 0 cleanup\n", 1, "bad unpriv field: \"yes\"");
    expect_error("cleanup unix n - N - 0 cleanup\n", 1, "bad chroot field: \"N\"");
    expect_error("qmgr unix n - n 3x 1 qmgr\n", 1, "bad wakeup field: \"3x\"");
    expect_error("qmgr unix n - n ? 1 qmgr\n", 1, "bad wakeup field: \"?\"");
    expect_error("qmgr unix n - n 300 -1 qmgr\n", 1, "bad maxproc field: \"-1\"");
    expect_error("qmgr unix n - n 300 99999999999 qmgr\n", 1,
                 "bad maxproc field: \"99999999999\"");
    expect_error("smtp inet y - n - - smtpd\n", 1, "inet service smtp cannot be private");
    expect_error("smtp inet n - n - - smtpd\n  -o { a = b\n", 1, "missing '}'");
    expect_error("x unix n - n - - pipe\n  argv=x { a }b\n", 1, "text after '}'");

    char *err = NULL;

    assert_null(mastercf_load("/nonexistent/master.cf", 100, &err));
    assert_string_equal(err, "open /nonexistent/master.cf: No such file or directory");
    free(err);
}

static void test_leading_continuation_and_empty(void **state)
{
    (void) state;
    char *err = NULL;
    master_table_t *t = load_text("   -o stray=1\nsmtp inet n - n - - smtpd\n", &err);

    assert_non_null(t);
    assert_int_equal(t->count, 1);
    assert_int_equal(t->entries[0]->args->argc, 0);
    mastercf_free(t);

    t = load_text("# only comments\n\n", &err);
    assert_non_null(t);
    assert_int_equal(t->count, 0);
    mastercf_free(t);
}

/* Found by fuzz/fuzz_mastercf: "{}" gave an empty column, so an entry
 * could have an empty service name or command. */
static void test_empty_brace_columns(void **state)
{
    (void) state;
    expect_error("smtp inet n - n - - {}\n", 1, "empty command field");
    expect_error("{ } inet n - n - - smtpd\n", 1, "empty service field");
    expect_error("smtp {} n - n - - smtpd\n", 1, "empty type field");
    expect_error("smtp inet n - n {} - smtpd\n", 1, "empty wakeup field");

    char *err = NULL;
    master_table_t *t = load_text("x unix n - n - - pipe\n  flags= {} argv=/bin/cat\n", &err);

    assert_non_null(t);                     /* an empty argument is still fine */
    assert_int_equal(t->entries[0]->args->argc, 3);
    assert_string_equal(t->entries[0]->args->argv[1], "");
    mastercf_free(t);
}

static int setup(void **state)
{
    (void) state;
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/master.cf", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void) state;
    unlink(path);
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_entries),
        cmocka_unit_test(test_continuation_and_groups),
        cmocka_unit_test(test_repeat_last_wins),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_leading_continuation_and_empty),
        cmocka_unit_test(test_empty_brace_columns),
    };

    log_init("test_mastercf", LOG_FLAG_STDERR);
    return cmocka_run_group_tests(tests, setup, teardown);
}
