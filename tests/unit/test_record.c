/* Unit tests for lib/record: varint framing, stream and memory parsing,
 * truncated and malformed records, the fixed-width C record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "record.h"

/* Encodes a header and checks its exact bytes. */
static void check_header(size_t len, const unsigned char *want, size_t want_len)
{
    unsigned char hdr[8];
    size_t n = rec_header(hdr, 'N', len);

    assert_int_equal(n, want_len + 1);
    assert_int_equal(hdr[0], 'N');
    assert_memory_equal(hdr + 1, want, want_len);
}

static void test_varint_edges(void **state)
{
    (void) state;
    check_header(0, (const unsigned char *) "\x00", 1);
    check_header(1, (const unsigned char *) "\x01", 1);
    check_header(95, (const unsigned char *) "\x5f", 1);
    check_header(127, (const unsigned char *) "\x7f", 1);
    check_header(128, (const unsigned char *) "\x80\x01", 2);
    check_header(300, (const unsigned char *) "\xac\x02", 2);
    check_header(16383, (const unsigned char *) "\xff\x7f", 2);
    check_header(16384, (const unsigned char *) "\x80\x80\x01", 3);
    check_header(2097151, (const unsigned char *) "\xff\xff\x7f", 3);
    check_header(2097152, (const unsigned char *) "\x80\x80\x80\x01", 4);
    check_header(0x7fffffff, (const unsigned char *) "\xff\xff\xff\xff\x07", 5);
}

/* Writes records through one end of a socketpair, reads them back. */
static void test_stream_round_trip(void **state)
{
    static const size_t sizes[] = { 0, 1, 127, 128, 16383, 16384, 100000 };
    int fds[2];
    stream_t *w, *r;
    buf_t data = BUF_INIT, big = BUF_INIT;
    size_t i, total = 0;
    pid_t pid;
    int status;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    w = stream_fdopen(fds[0]);
    r = stream_fdopen(fds[1]);
    for (i = 0; i < 100000; i++)
        buf_putc(&big, 'a' + (int) (i % 26));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
            total += rec_put(w, 'N', big.data, sizes[i]);
        total += rec_puts(w, 'S', "sender@example.test");
        total += rec_printf(w, 'T', "%ld %ld", 1700000000L, 123456L);
        (void) stream_flush(w);
        _exit(total == 0);
    }
    stream_close(w);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(rec_get(r, &data, 200000), 'N');
        assert_int_equal(data.len, sizes[i]);
        assert_memory_equal(data.data, big.data, sizes[i]);
    }
    assert_int_equal(rec_get(r, &data, 1000), 'S');
    assert_string_equal(data.data, "sender@example.test");
    assert_int_equal(rec_get(r, &data, 1000), 'T');
    assert_string_equal(data.data, "1700000000 123456");
    assert_int_equal(rec_get(r, &data, 1000), REC_EOF);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    stream_close(r);
    buf_release(&data);
    buf_release(&big);
}

/* Feeds raw bytes to rec_get and returns its first result. */
static int get_from_bytes(const void *bytes, size_t len, size_t maxlen, buf_t *data)
{
    int fds[2], ret;
    stream_t *r;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    assert_int_equal(write(fds[0], bytes, len), (ssize_t) len);
    close(fds[0]);
    r = stream_fdopen(fds[1]);
    ret = rec_get(r, data, maxlen);
    stream_close(r);
    return ret;
}

static void test_stream_malformed(void **state)
{
    buf_t data = BUF_INIT;

    (void) state;
    assert_int_equal(get_from_bytes("", 0, 10, &data), REC_EOF);
    assert_int_equal(get_from_bytes("N", 1, 10, &data), REC_ERROR);           /* no length */
    assert_int_equal(get_from_bytes("N\x05" "abc", 5, 10, &data), REC_ERROR); /* short data */
    assert_int_equal(get_from_bytes("N\x80", 2, 10, &data), REC_ERROR);       /* cut varint */
    assert_int_equal(get_from_bytes("N\x0b" "hello world", 13, 10, &data), REC_ERROR); /* > maxlen */
    assert_int_equal(get_from_bytes("N\x0a" "helloworld", 12, 10, &data), 'N');
    assert_string_equal(data.data, "helloworld");
    /* Six varint bytes: longer than any length we accept. */
    assert_int_equal(get_from_bytes("N\x80\x80\x80\x80\x80\x00", 7, 1U << 30, &data), REC_ERROR);
    /* A huge announced length is refused before any data is read. */
    assert_int_equal(get_from_bytes("N\xff\xff\xff\xff\x07", 6, 1U << 20, &data), REC_ERROR);
    assert_int_equal(get_from_bytes("N\x00", 2, 0, &data), 'N');
    assert_int_equal(data.len, 0);
    buf_release(&data);
}

static void test_parse_memory(void **state)
{
    const char file[] = "C\x03" "abc" "N\x00" "R\x80\x01";
    rec_t rec;
    size_t pos = 0;

    (void) state;
    assert_int_equal(rec_parse(file, 7, &pos, &rec), 1);
    assert_int_equal(rec.type, 'C');
    assert_int_equal(rec.len, 3);
    assert_memory_equal(rec.data, "abc", 3);
    assert_int_equal(rec.offset, 0);
    assert_int_equal(rec_parse(file, 7, &pos, &rec), 1);
    assert_int_equal(rec.type, 'N');
    assert_int_equal(rec.len, 0);
    assert_int_equal(rec.offset, 5);
    assert_int_equal(pos, 7);
    assert_int_equal(rec_parse(file, 7, &pos, &rec), 0);
    /* A 128-byte record announced with only 0 bytes left: truncated. */
    assert_int_equal(rec_parse(file, sizeof(file) - 1, &pos, &rec), -1);
    pos = 7;
    assert_int_equal(rec_parse(file, 9, &pos, &rec), -1);   /* varint cut */
    pos = 100;
    assert_int_equal(rec_parse(file, 7, &pos, &rec), -1);   /* beyond buffer */
}

static void test_parse_long_varint(void **state)
{
    const char bad[] = "N\x80\x80\x80\x80\x80\x00";
    const char huge[] = "N\xff\xff\xff\xff\x0f";
    size_t pos = 0;
    rec_t rec;

    (void) state;
    assert_int_equal(rec_parse(bad, sizeof(bad) - 1, &pos, &rec), -1);
    pos = 0;
    assert_int_equal(rec_parse(huge, sizeof(huge) - 1, &pos, &rec), -1);
    assert_int_equal(pos, 0);
}

static void test_size_record(void **state)
{
    rec_size_info_t in = { 1234, 567, 2, 0, 1234, 0 }, out;
    buf_t text = BUF_INIT;

    (void) state;
    rec_size_format(&text, &in);
    assert_int_equal(text.len, REC_SIZE_LEN);
    assert_int_equal(REC_SIZE_LEN, 95);
    assert_string_equal(text.data,
        "           1234             567               2               0            1234               0");
    assert_int_equal(rec_size_parse(text.data, text.len, &out), 0);
    assert_memory_equal(&in, &out, sizeof(in));
    /* Old three-field records still parse. */
    assert_int_equal(rec_size_parse("  10   20   1", 13, &out), 0);
    assert_int_equal(out.content_size, 10);
    assert_int_equal(out.data_offset, 20);
    assert_int_equal(out.rcpt_count, 1);
    assert_int_equal(out.qmgr_flags, 0);
    assert_int_equal(rec_size_parse("10 20", 5, &out), -1);
    assert_int_equal(rec_size_parse("10 20 1x", 8, &out), -1);
    assert_int_equal(rec_size_parse("10 0 1", 6, &out), -1);   /* data offset 0 */
    assert_int_equal(rec_size_parse("1 2 3 4 5 6 7", 13, &out), -1);
    assert_int_equal(rec_size_parse("10 20\0 1", 8, &out), -1);
    buf_release(&text);
}

/* Found by fuzz/fuzz_record: a field wider than 15 characters parsed, and
 * rewriting the record in place (rec_size_format) then panicked. */
static void test_size_record_field_width(void **state)
{
    const char wide[] = "10 6666666666666666 1";
    const char widest[] = "999999999999999 20 1 0 -99999999999999 0";
    const char too_negative[] = "10 20 1 0 -100000000000000 0";
    rec_size_info_t out;
    buf_t text = BUF_INIT;

    (void) state;
    assert_int_equal(rec_size_parse(wide, sizeof(wide) - 1, &out), -1);
    assert_int_equal(rec_size_parse(too_negative, sizeof(too_negative) - 1, &out), -1);
    assert_int_equal(rec_size_parse(widest, sizeof(widest) - 1, &out), 0);
    assert_int_equal(out.content_size, 999999999999999L);
    assert_int_equal(out.content_length, -99999999999999L);
    rec_size_format(&text, &out);
    assert_int_equal(text.len, REC_SIZE_LEN);
    buf_release(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_edges),
        cmocka_unit_test(test_stream_round_trip),
        cmocka_unit_test(test_stream_malformed),
        cmocka_unit_test(test_parse_memory),
        cmocka_unit_test(test_parse_long_varint),
        cmocka_unit_test(test_size_record),
        cmocka_unit_test(test_size_record_field_width),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
