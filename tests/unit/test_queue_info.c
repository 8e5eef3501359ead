/* Unit tests for lib/queue_info: the envelope summary (size, arrival,
 * create time, sender, DSN and client attributes, the W record and where
 * it is, recipients to do and done with their DSN records, from both
 * envelope and extracted segments), pointer records followed and checked, malformed
 * files refused, the read-only map and its refusal of symlinks. */
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
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "queue_info.h"
#include "record.h"

static char tmpdir[] = "/tmp/test_queue_info.XXXXXX";

static size_t put(buf_t *b, int type, const char *text)
{
    unsigned char hdr[8];
    size_t at = b->len, len = strlen(text);

    buf_append(b, hdr, rec_header(hdr, type, len));
    buf_append(b, text, len);
    return at;
}

static void put_size(buf_t *b, long content_size)
{
    rec_size_info_t info = { content_size, 100, 2, 0, content_size, 0 };
    buf_t text = BUF_INIT;

    rec_size_format(&text, &info);
    put(b, REC_TYPE_SIZE, text.data);
    buf_release(&text);
}

static struct stat fake_stat(time_t mtime, mode_t mode, off_t size)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_mtime = mtime;
    st.st_mode = S_IFREG | mode;
    st.st_size = size;
    return st;
}

/* cleanup's layout with one recipient done and one from sendmail -t. */
static void sample(buf_t *b, size_t *done_offset)
{
    put_size(b, 42);
    put(b, REC_TYPE_TIME, "1700000000 123456");
    put(b, REC_TYPE_ATTR, "create_time=1700000100");
    put(b, REC_TYPE_ATTR, "client_address=127.0.0.1");
    put(b, REC_TYPE_FROM, "robert@example.test");
    put(b, REC_TYPE_ORCP, "Alice@Example.test");
    put(b, REC_TYPE_RCPT, "alice@example.test");
    *done_offset = put(b, REC_TYPE_DONE, "bob@example.test");
    put(b, REC_TYPE_MESG, "");
    put(b, REC_TYPE_NORM, "Subject: hi");
    put(b, REC_TYPE_NORM, "R: not a recipient record");
    put(b, REC_TYPE_XTRA, "");
    put(b, REC_TYPE_RCPT, "carol@example.test");
    put(b, REC_TYPE_END, "");
}

static void test_summary(void **state)
{
    buf_t b = BUF_INIT;
    struct stat st;
    queue_info_t info;
    size_t done_offset;

    (void) state;
    sample(&b, &done_offset);
    st = fake_stat(1800000000, 0700, (off_t) b.len);
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), 0);
    assert_true(info.has_size);
    assert_int_equal(info.size.content_size, 42);
    assert_int_equal(queue_info_message_size(&info), 42);
    assert_int_equal(info.arrival, 1700000000);
    assert_int_equal(info.create_time, 1700000100);
    assert_string_equal(info.sender, "robert@example.test");
    assert_int_equal(info.rcpt_count, 3);
    assert_int_equal(info.rcpt_todo, 2);
    assert_string_equal(info.rcpts[0].address, "alice@example.test");
    assert_string_equal(info.rcpts[0].orig_rcpt, "Alice@Example.test");
    assert_false(info.rcpts[0].done);
    assert_string_equal(info.rcpts[1].address, "bob@example.test");
    assert_string_equal(info.rcpts[1].orig_rcpt, "");
    assert_true(info.rcpts[1].done);
    assert_int_equal(info.rcpts[1].offset, (long) done_offset);
    assert_string_equal(info.rcpts[2].address, "carol@example.test");
    assert_false(queue_info_forced_expire(&info));
    queue_info_free(&info);

    st = fake_stat(1800000000, 0710, (off_t) b.len);
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), 0);
    assert_true(queue_info_forced_expire(&info));
    queue_info_free(&info);
    buf_release(&b);
}

/* What qmgr needs: arrival microseconds, DSN RET/ENVID, the client, the
 * first W record with its data offset, 'o'/'n' records bound to the
 * recipient that follows them (also a done one), reset after it. */
static void test_dsn_and_warn(void **state)
{
    buf_t b = BUF_INIT;
    struct stat st;
    queue_info_t info;
    size_t warn_at, carol_at;

    (void) state;
    put_size(&b, 10);
    put(&b, REC_TYPE_TIME, "1700000000 250000");
    put(&b, REC_TYPE_ATTR, "create_time=1700000001");
    warn_at = put(&b, REC_TYPE_WARN, "     1700003601");
    put(&b, REC_TYPE_WARN, "              7");
    put(&b, REC_TYPE_ATTR, "client_name=mail.example.org");
    put(&b, REC_TYPE_ATTR, "client_address=192.0.2.7");
    put(&b, REC_TYPE_ATTR, "client_name_extra=ignored");
    put(&b, REC_TYPE_DSN_RET, "2");
    put(&b, REC_TYPE_DSN_ENVID, "env-42");
    put(&b, REC_TYPE_FROM, "robert@example.test");
    put(&b, REC_TYPE_DSN_ORCPT, "rfc822;Alice@example.test");
    put(&b, REC_TYPE_DSN_NOTIFY, "10");
    put(&b, REC_TYPE_RCPT, "alice@example.test");
    put(&b, REC_TYPE_DSN_NOTIFY, "1");
    put(&b, REC_TYPE_DONE, "bob@example.test");
    carol_at = put(&b, REC_TYPE_RCPT, "carol@example.test");
    put(&b, REC_TYPE_MESG, "");
    put(&b, REC_TYPE_NORM, "n: 4");
    put(&b, REC_TYPE_XTRA, "");
    put(&b, REC_TYPE_END, "");
    st = fake_stat(1800000000, 0700, (off_t) b.len);
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), 0);
    assert_int_equal(info.arrival, 1700000000);
    assert_int_equal(info.arrival_usec, 250000);
    assert_int_equal(info.dsn_ret, 2);
    assert_string_equal(info.envid, "env-42");
    assert_string_equal(info.client_name, "mail.example.org");
    assert_string_equal(info.client_address, "192.0.2.7");
    assert_int_equal(info.warn_time, 1700003601);
    assert_int_equal(info.warn_len, 15);
    /* The data follows a type byte and a one-byte length. */
    assert_int_equal(info.warn_offset, (long) warn_at + 2);
    assert_memory_equal(b.data + info.warn_offset, "     1700003601", 15);
    assert_int_equal(info.rcpt_count, 3);
    assert_string_equal(info.rcpts[0].dsn_orig_rcpt, "rfc822;Alice@example.test");
    assert_int_equal(info.rcpts[0].notify_flags, 10);
    assert_string_equal(info.rcpts[1].dsn_orig_rcpt, "");
    assert_int_equal(info.rcpts[1].notify_flags, 1);
    assert_true(info.rcpts[1].done);
    assert_string_equal(info.rcpts[2].dsn_orig_rcpt, "");
    assert_int_equal(info.rcpts[2].notify_flags, 0);
    assert_int_equal(info.rcpts[2].offset, (long) carol_at);
    queue_info_free(&info);
    buf_release(&b);
}

/* A maildrop-style file: no C, no T, null sender. */
static void test_defaults(void **state)
{
    buf_t b = BUF_INIT;
    struct stat st;
    queue_info_t info;

    (void) state;
    put(&b, REC_TYPE_FROM, "");
    put(&b, REC_TYPE_RCPT, "x@example.test");
    put(&b, REC_TYPE_MESG, "");
    put(&b, REC_TYPE_XTRA, "");
    put(&b, REC_TYPE_END, "");
    st = fake_stat(1750000000, 0744, 1234);
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), 0);
    assert_false(info.has_size);
    assert_int_equal(queue_info_message_size(&info), 1234);
    assert_int_equal(info.arrival, 1750000000);
    assert_int_equal(info.create_time, 1750000000);
    assert_string_equal(info.sender, "");
    assert_string_equal(info.envid, "");
    assert_string_equal(info.client_name, "");
    assert_string_equal(info.client_address, "");
    assert_int_equal(info.arrival_usec, 0);
    assert_int_equal(info.dsn_ret, 0);
    assert_int_equal(info.warn_time, 0);
    assert_int_equal(info.warn_offset, 0);
    assert_string_equal(info.rcpts[0].dsn_orig_rcpt, "");
    queue_info_free(&info);
    buf_release(&b);
}

static void test_malformed(void **state)
{
    buf_t b = BUF_INIT;
    struct stat st = fake_stat(1, 0700, 0);
    queue_info_t info;
    size_t done_offset;

    (void) state;
    /* No E record: still being written, or cut short. */
    put_size(&b, 1);
    put(&b, REC_TYPE_FROM, "a@b");
    put(&b, REC_TYPE_RCPT, "c@d");
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), -1);
    assert_int_equal(errno, EINVAL);
    /* A length that runs past the end. */
    buf_reset(&b);
    sample(&b, &done_offset);
    b.data[b.len - 2] = 0x7f;                  /* E's length byte */
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), -1);
    /* A C record that is no size record. */
    buf_reset(&b);
    put(&b, REC_TYPE_SIZE, "garbage");
    put(&b, REC_TYPE_END, "");
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), -1);
    buf_release(&b);
}

static void test_pointers(void **state)
{
    buf_t b = BUF_INIT, ptr = BUF_INIT;
    struct stat st = fake_stat(1, 0700, 0);
    queue_info_t info;
    queue_walk_t walk;
    rec_t rec;
    size_t p_at, target;
    char *pos;

    (void) state;
    put_size(&b, 1);
    put(&b, REC_TYPE_FROM, "a@b");
    put(&b, REC_TYPE_PTR, "0");                /* placeholder: read on */
    p_at = put(&b, REC_TYPE_PTR, "000000000000000");
    put(&b, REC_TYPE_RCPT, "skipped@x");       /* jumped over */
    target = put(&b, REC_TYPE_RCPT, "taken@x");
    put(&b, REC_TYPE_MESG, "");
    put(&b, REC_TYPE_XTRA, "");
    put(&b, REC_TYPE_END, "");
    buf_printf(&ptr, "%15zu", target);
    pos = b.data + p_at + 2;
    memcpy(pos, ptr.data, ptr.len);
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), 0);
    assert_int_equal(info.rcpt_count, 1);
    assert_string_equal(info.rcpts[0].address, "taken@x");
    queue_info_free(&info);

    /* Raw: the pointer records show, and nothing is skipped. */
    queue_walk_init(&walk, b.data, b.len, 0, QUEUE_WALK_RAW);
    int ptrs = 0, rcpts = 0;
    while (queue_walk_next(&walk, &rec) == 1) {
        ptrs += rec.type == REC_TYPE_PTR;
        rcpts += rec.type == REC_TYPE_RCPT;
    }
    assert_int_equal(ptrs, 2);
    assert_int_equal(rcpts, 2);

    /* A pointer to itself is a loop; one past the end is out of range. */
    buf_reset(&ptr);
    buf_printf(&ptr, "%15zu", p_at);
    memcpy(pos, ptr.data, ptr.len);
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), -1);
    buf_reset(&ptr);
    buf_printf(&ptr, "%15zu", b.len);
    memcpy(pos, ptr.data, ptr.len);
    assert_int_equal(queue_info_parse(b.data, b.len, &st, &info), -1);
    buf_release(&ptr);
    buf_release(&b);
}

static void test_read_file(void **state)
{
    buf_t b = BUF_INIT, path = BUF_INIT, link = BUF_INIT;
    queue_info_t info;
    queue_view_t view;
    size_t done_offset;
    int fd;

    (void) state;
    sample(&b, &done_offset);
    buf_printf(&path, "%s/A1B2C3", tmpdir);
    fd = open(path.data, O_WRONLY | O_CREAT | O_EXCL, 0700);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t) b.len);
    close(fd);
    assert_int_equal(queue_info_read(path.data, &info), 0);
    assert_int_equal(info.rcpt_todo, 2);
    assert_int_equal(info.st.st_size, (off_t) b.len);
    queue_info_free(&info);

    assert_int_equal(queue_view_open(path.data, &view), 0);
    assert_int_equal(view.size, b.len);
    assert_memory_equal(view.data, b.data, b.len);
    queue_view_close(&view);

    buf_printf(&link, "%s/link", tmpdir);
    assert_int_equal(symlink(path.data, link.data), 0);
    assert_int_equal(queue_view_open(link.data, &view), -1);
    assert_int_equal(queue_info_read(tmpdir, &info), -1);           /* a folder */
    assert_int_equal(errno, EINVAL);
    buf_printf(&path, ".gone");
    assert_int_equal(queue_info_read(path.data, &info), -1);
    assert_int_equal(errno, ENOENT);
    buf_release(&b);
    buf_release(&path);
    buf_release(&link);
}

static int group_setup(void **state)
{
    (void) state;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_dsn_and_warn),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_pointers),
        cmocka_unit_test(test_read_file),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
