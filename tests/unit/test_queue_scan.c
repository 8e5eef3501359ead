/* Unit tests for lib/queue_scan: complete files only by default, hashed
 * subfolders followed (and nothing else), every regular file with
 * QUEUE_SCAN_ALL, files not yet due skipped with QUEUE_SCAN_DUE (and the
 * same test for one file), symlinks never followed, a missing folder is
 * empty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "argv.h"
#include "buf.h"
#include "queue_scan.h"

static char tmpdir[] = "/tmp/test_queue_scan.XXXXXX";

static void make_file(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int group_setup(void **state)
{
    (void) state;
    if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) < 0)
        return -1;
    if (mkdir("deferred", 0700) < 0 || mkdir("deferred/A", 0700) < 0
        || mkdir("deferred/B", 0700) < 0 || mkdir("deferred/B/0", 0700) < 0
        || mkdir("deferred/notahash", 0700) < 0 || mkdir("deferred/a", 0700) < 0)
        return -1;
    make_file("deferred/A/A1234B", 0700);          /* complete, hashed */
    make_file("deferred/A/A1234C", 0600);          /* being written */
    make_file("deferred/B/0/B0FFFF", 0710);        /* complete, force-expired, two levels */
    make_file("deferred/C5678D", 0744);            /* complete, not hashed */
    make_file("deferred/123456.789", 0700);        /* temporary name */
    make_file("deferred/notahash/D12345", 0700);   /* not a hash folder */
    make_file("deferred/a/E12345", 0700);          /* hash folders are upper case */
    if (symlink("A/A1234B", "deferred/F12345") < 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    buf_t cmd = BUF_INIT;
    int r;

    (void) state;
    buf_printf(&cmd, "rm -rf %s", tmpdir);
    r = system(cmd.data);
    buf_release(&cmd);
    return r == 0 ? 0 : -1;
}

/* "id path" of every entry, sorted, joined with ";". */
static char *scan_all(const char *queue, int flags)
{
    queue_scan_t *scan = queue_scan_open(queue, flags);
    queue_scan_entry_t e;
    argv_t *found = argv_new();
    buf_t out = BUF_INIT;
    size_t i, j;

    assert_int_equal(queue_scan_error(scan), 0);
    while (queue_scan_next(scan, &e)) {
        buf_t item = BUF_INIT;

        assert_true(S_ISREG(e.st.st_mode));
        buf_printf(&item, "%s %s", e.id, e.path);
        argv_add(found, item.data);
        buf_release(&item);
    }
    assert_int_equal(queue_scan_next(scan, &e), 0);
    queue_scan_close(scan);
    for (i = 0; i < found->argc; i++)          /* a tiny sort: few entries */
        for (j = i + 1; j < found->argc; j++)
            if (strcmp(found->argv[i], found->argv[j]) > 0) {
                char *t = found->argv[i];

                found->argv[i] = found->argv[j];
                found->argv[j] = t;
            }
    for (i = 0; i < found->argc; i++)
        buf_printf(&out, "%s%s", i ? ";" : "", found->argv[i]);
    argv_free(found);
    return buf_steal(&out);
}

static void test_complete_only(void **state)
{
    char *got;

    (void) state;
    got = scan_all("deferred", 0);
    assert_string_equal(got, "A1234B deferred/A/A1234B;B0FFFF deferred/B/0/B0FFFF;"
                             "C5678D deferred/C5678D");
    free(got);
}

static void test_all_files(void **state)
{
    char *got;

    (void) state;
    got = scan_all("deferred", QUEUE_SCAN_ALL);
    assert_string_equal(got, "123456.789 deferred/123456.789;A1234B deferred/A/A1234B;"
                             "A1234C deferred/A/A1234C;B0FFFF deferred/B/0/B0FFFF;"
                             "C5678D deferred/C5678D");
    free(got);
}

static void test_absolute_and_missing(void **state)
{
    buf_t abs = BUF_INIT;
    queue_scan_t *scan;
    queue_scan_entry_t e;
    char *got;

    (void) state;
    buf_printf(&abs, "%s/deferred/A", tmpdir);
    got = scan_all(abs.data, 0);
    assert_true(strstr(got, "A1234B /tmp/test_queue_scan.") == got);
    assert_null(strchr(got, ';'));
    free(got);
    buf_release(&abs);

    scan = queue_scan_open("nosuchqueue", 0);
    assert_int_equal(queue_scan_error(scan), 0);
    assert_int_equal(queue_scan_next(scan, &e), 0);
    queue_scan_close(scan);

    scan = queue_scan_open("deferred/C5678D", 0);      /* not a folder */
    assert_int_equal(queue_scan_error(scan), ENOTDIR);
    assert_int_equal(queue_scan_next(scan, &e), 0);
    queue_scan_close(scan);
}

static void set_mtime(const char *path, time_t when)
{
    struct timeval tv[2] = { { when, 0 }, { when, 0 } };

    assert_int_equal(utimes(path, tv), 0);
}

/* A deferred file's mtime is its next-attempt time: with QUEUE_SCAN_DUE
 * only files due by the limit are returned, and the limit may move. */
static void test_due(void **state)
{
    time_t now = time(NULL);
    queue_scan_t *scan;
    queue_scan_entry_t e;
    struct stat st;
    char *got;

    (void) state;
    assert_int_equal(mkdir("due", 0700), 0);
    assert_int_equal(mkdir("due/A", 0700), 0);
    make_file("due/A/A11111", 0700);
    make_file("due/B22222", 0700);
    make_file("due/C33333", 0600);
    set_mtime("due/A/A11111", now - 10);
    set_mtime("due/B22222", now + 1000);
    set_mtime("due/C33333", now - 10);

    scan = queue_scan_open("due", QUEUE_SCAN_DUE);
    queue_scan_set_due(scan, now);
    assert_int_equal(queue_scan_next(scan, &e), 1);
    assert_string_equal(e.id, "A11111");
    assert_string_equal(e.path, "due/A/A11111");
    assert_int_equal(queue_scan_next(scan, &e), 0);
    queue_scan_close(scan);

    scan = queue_scan_open("due", QUEUE_SCAN_DUE);
    queue_scan_set_due(scan, now + 1000);
    got = NULL;
    while (queue_scan_next(scan, &e))
        if (strcmp(e.id, "B22222") == 0)
            got = "found";
    assert_non_null(got);
    queue_scan_close(scan);

    got = scan_all("due", 0);                  /* without the flag: all complete */
    assert_string_equal(got, "A11111 due/A/A11111;B22222 due/B22222");
    free(got);

    assert_int_equal(queue_scan_file("due/A/A11111", QUEUE_SCAN_DUE, now, &st), 1);
    assert_int_equal(st.st_mtime, now - 10);
    assert_int_equal(queue_scan_file("due/B22222", QUEUE_SCAN_DUE, now, &st), 0);
    assert_int_equal(queue_scan_file("due/B22222", 0, now, &st), 1);
    assert_int_equal(queue_scan_file("due/C33333", QUEUE_SCAN_DUE, now, &st), 0);
    assert_int_equal(queue_scan_file("due/C33333", QUEUE_SCAN_ALL, now, &st), 1);
    assert_int_equal(queue_scan_file("due/D44444", 0, now, &st), 0);
    assert_int_equal(queue_scan_file("deferred/F12345", 0, now, &st), 0);  /* symlink */
    assert_int_equal(queue_scan_file("deferred/123456.789", 0, now, &st), 0);
    assert_int_equal(system("rm -rf due"), 0);
}

static void test_unreadable(void **state)
{
    queue_scan_t *scan;

    (void) state;
    if (geteuid() == 0)
        skip();                                 /* root reads anything */
    assert_int_equal(mkdir("locked", 0), 0);
    scan = queue_scan_open("locked", 0);
    assert_int_equal(queue_scan_error(scan), EACCES);
    queue_scan_close(scan);
    assert_int_equal(rmdir("locked"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_only),
        cmocka_unit_test(test_all_files),
        cmocka_unit_test(test_absolute_and_missing),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_unreadable),
    };

    umask(022);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
