/* Unit tests for lib/dsn_log: the exact defer/bounce log format, reading
 * it back (including damaged files), and cutting back a failed append. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "dsn_log.h"
#include "queue_file.h"

#define ID "501F2A724A3"

static char topdir[] = "/tmp/test_dsn_log.XXXXXX";

/* ---------------------------------------------------------------- */
/* Helpers                                                          */
/* ---------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void read_whole(const char *path, buf_t *out)
{
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "r");

    buf_reset(out);
    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(out, chunk, n);
    fclose(f);
}

static void log_file(buf_t *path, const char *queue, const char *id)
{
    queue_path(path, queue, id);
}

/* Collected entries, each flattened to one comparable line. */
typedef struct collected {
    buf_t text;
    int   count;
} collected_t;

static void collect(const dsn_entry_t *e, void *ctx)
{
    collected_t *c = ctx;

    buf_printf(&c->text, "[%s|%s|%ld|%s|%ld|%s|%s|%s]", e->recipient, e->orig_rcpt,
               e->offset, e->dsn_orig_rcpt, e->notify_flags, e->status,
               e->action, e->reason);
    c->count++;
}

static int setup(void **state)
{
    buf_t cf = BUF_INIT;

    (void) state;
    assert_non_null(mkdtemp(topdir));
    assert_int_equal(chdir(topdir), 0);
    buf_printf(&cf, "%s/main.cf", topdir);
    write_file(buf_str(&cf), "hash_queue_names = deferred, defer\nhash_queue_depth = 1\n");
    config_load(topdir);
    buf_release(&cf);
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const dsn_entry_t alice = {
    "alice@remote.test", NULL, 242, "rfc822;alice@remote.test", 0, "4.4.1", "delayed",
    "connect to 127.0.0.1[127.0.0.1]:2598: Connection refused",
};

static const char alice_block[] =
    "\n"
    "<alice@remote.test>: connect to 127.0.0.1[127.0.0.1]:2598: Connection refused\n"
    "recipient=alice@remote.test\n"
    "offset=242\n"
    "dsn_orig_rcpt=rfc822;alice@remote.test\n"
    "status=4.4.1\n"
    "action=delayed\n"
    "reason=connect to 127.0.0.1[127.0.0.1]:2598: Connection refused\n"
    "\n";

/* ---------------------------------------------------------------- */
/* Tests                                                            */
/* ---------------------------------------------------------------- */

static void test_exact_format(void **state)
{
    buf_t path = BUF_INIT, text = BUF_INIT, want = BUF_INIT;
    struct stat st;
    dsn_entry_t bob = {
        "bob@local.test", "Bob@Local.test", 300, "", 5, "5.1.1", "failed",
        "unknown user: \"bob\"\r\nInjected=1",
    };

    (void) state;
    assert_int_equal(dsn_log_append(QUEUE_DEFER, ID, &alice), 0);
    assert_int_equal(dsn_log_append(QUEUE_DEFER, ID, &bob), 0);
    log_file(&path, QUEUE_DEFER, ID);
    assert_string_not_equal(buf_str(&path), "defer/" ID);   /* hashed */
    assert_int_equal(stat(buf_str(&path), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    read_whole(buf_str(&path), &text);
    buf_puts(&want, alice_block);
    buf_puts(&want,
             "\n"
             "<bob@local.test>: unknown user: \"bob\"  Injected=1\n"
             "recipient=bob@local.test\n"
             "orig_rcpt=Bob@Local.test\n"
             "offset=300\n"
             "notify_flags=5\n"
             "status=5.1.1\n"
             "action=failed\n"
             "reason=unknown user: \"bob\"  Injected=1\n"
             "\n");
    assert_string_equal(buf_str(&text), buf_str(&want));
    assert_int_equal(dsn_log_remove(QUEUE_DEFER, ID), 0);
    assert_int_equal(stat(buf_str(&path), &st), -1);
    buf_release(&path);
    buf_release(&text);
    buf_release(&want);
}

static void test_same_orig_rcpt_omitted(void **state)
{
    buf_t path = BUF_INIT, text = BUF_INIT;
    dsn_entry_t e = alice;

    (void) state;
    e.orig_rcpt = "alice@remote.test";
    assert_int_equal(dsn_log_append(QUEUE_BOUNCE, ID, &e), 0);
    log_file(&path, QUEUE_BOUNCE, ID);
    assert_string_equal(buf_str(&path), "bounce/" ID);       /* not hashed */
    read_whole(buf_str(&path), &text);
    assert_string_equal(buf_str(&text), alice_block);
    assert_int_equal(dsn_log_remove(QUEUE_BOUNCE, ID), 0);
    buf_release(&path);
    buf_release(&text);
}

static void test_read_back(void **state)
{
    collected_t c = { BUF_INIT, 0 };
    dsn_entry_t bob = {
        "bob@x.test", "orig@x.test", 7, "rfc822;orig@x.test", 14, "5.0.0", "failed",
        "line1\nline2",
    };

    (void) state;
    assert_int_equal(dsn_log_append(QUEUE_DEFER, ID, &alice), 0);
    assert_int_equal(dsn_log_append(QUEUE_DEFER, ID, &bob), 0);
    assert_int_equal(dsn_log_read(QUEUE_DEFER, ID, collect, &c), 0);
    assert_int_equal(c.count, 2);
    assert_string_equal(buf_str(&c.text),
        "[alice@remote.test||242|rfc822;alice@remote.test|0|4.4.1|delayed|"
        "connect to 127.0.0.1[127.0.0.1]:2598: Connection refused]"
        "[bob@x.test|orig@x.test|7|rfc822;orig@x.test|14|5.0.0|failed|line1 line2]");
    assert_int_equal(dsn_log_remove(QUEUE_DEFER, ID), 0);
    assert_int_equal(dsn_log_remove(QUEUE_DEFER, ID), 0);    /* missing is fine */
    buf_release(&c.text);
}

static void test_read_missing_and_bad_id(void **state)
{
    collected_t c = { BUF_INIT, 0 };

    (void) state;
    errno = 0;
    assert_int_equal(dsn_log_read(QUEUE_DEFER, "ABCDEF123", collect, &c), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(dsn_log_append(QUEUE_DEFER, "../../etc/x", &alice), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(dsn_log_read(QUEUE_DEFER, "a/b", collect, &c), -1);
    assert_int_equal(c.count, 0);
    buf_release(&c.text);
}

/* Damaged files: a block with an over-long line and one with a bad
 * number are skipped, a cut-off last block is dropped, the rest is read. */
static void test_read_damaged(void **state)
{
    collected_t c = { BUF_INIT, 0 };
    buf_t path = BUF_INIT, text = BUF_INIT;

    (void) state;
    assert_int_equal(dsn_log_append(QUEUE_DEFER, ID, &alice), 0);
    log_file(&path, QUEUE_DEFER, ID);
    read_whole(buf_str(&path), &text);
    buf_puts(&text, "\nrecipient=long@x\nreason=");
    for (int i = 0; i < 100000; i++)
        buf_putc(&text, 'x');
    buf_puts(&text, "\n\nrecipient=num@x\noffset=12abc\n\n");
    buf_puts(&text, "junk line without equals\n\n");
    buf_puts(&text, alice_block);
    buf_puts(&text, "\n<cut@x>: reason\nrecipient=cut@x\noffset=1\nstatus=4.0");
    write_file(buf_str(&path), buf_str(&text));
    assert_int_equal(dsn_log_read(QUEUE_DEFER, ID, collect, &c), 0);
    assert_int_equal(c.count, 2);
    assert_null(strstr(buf_str(&c.text), "long@x"));
    assert_null(strstr(buf_str(&c.text), "num@x"));
    assert_null(strstr(buf_str(&c.text), "cut@x"));
    assert_int_equal(dsn_log_remove(QUEUE_DEFER, ID), 0);
    buf_release(&c.text);
    buf_release(&path);
    buf_release(&text);
}

/* A write that fails half-way (file size limit) leaves the file as it was. */
static void test_failed_append_is_cut_back(void **state)
{
    buf_t path = BUF_INIT;
    struct rlimit old, lim;
    struct stat before, after;
    dsn_entry_t big = alice;
    buf_t reason = BUF_INIT;

    (void) state;
    assert_int_equal(dsn_log_append(QUEUE_DEFER, ID, &alice), 0);
    log_file(&path, QUEUE_DEFER, ID);
    assert_int_equal(stat(buf_str(&path), &before), 0);
    for (int i = 0; i < 5000; i++)
        buf_putc(&reason, 'r');
    big.reason = buf_str(&reason);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t) before.st_size + 1000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    errno = 0;
    assert_int_equal(dsn_log_append(QUEUE_DEFER, ID, &big), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(stat(buf_str(&path), &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(dsn_log_remove(QUEUE_DEFER, ID), 0);
    buf_release(&path);
    buf_release(&reason);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_format),
        cmocka_unit_test(test_same_orig_rcpt_omitted),
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_read_missing_and_bad_id),
        cmocka_unit_test(test_read_damaged),
        cmocka_unit_test(test_failed_append_is_cut_back),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
