/* Unit tests for lib/delivery: request and results round trip over a
 * socketpair, strict rejection of malformed lists, and delivery_record
 * (mark done, defer/bounce logs, soft_bounce, the Postfix log line). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "attr.h"
#include "config.h"
#include "delivery.h"
#include "dsn_log.h"
#include "log.h"
#include "queue_file.h"

static char tmpdir[] = "/tmp/test_delivery.XXXXXX";
static int fds[2];
static stream_t *qmgr_s, *agent_s;

static int pair_setup(void **state)
{
    (void) state;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
        return -1;
    qmgr_s = stream_fdopen(fds[0]);
    agent_s = stream_fdopen(fds[1]);
    stream_set_timeout(qmgr_s, 5);
    stream_set_timeout(agent_s, 5);
    return 0;
}

static int pair_teardown(void **state)
{
    (void) state;
    stream_close(qmgr_s);
    stream_close(agent_s);
    return 0;
}

static delivery_rcpt_t sample_rcpts[] = {
    { 150, "alice@example.test", "alice@example.test", "rfc822;alice@example.test",
      DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY },
    { 200, "bob@example.test", "Bobby@example.test", "", 0 },
};

static void sample_request(delivery_request_t *req)
{
    memset(req, 0, sizeof(*req));
    req->queue_name = "active";
    req->queue_id = "501F2A724A3";
    req->data_offset = 300;
    req->data_size = 1234;
    req->transport = "local";
    req->nexthop = "example.test";
    req->sender = "";
    req->envid = "env-1";
    req->dsn_ret = 2;
    req->arrival_time = 1700000000;
    req->arrival_usec = 123456;
    req->client = "client.example[192.0.2.1]";
    req->flags = 0;
    req->rcpt_count = 2;
    req->rcpts = sample_rcpts;
}

static void test_round_trip(void **state)
{
    delivery_request_t req, got;
    delivery_result_t out[2] = {
        { 150, DELIVERY_SENT, "2.0.0", "delivered to mailbox" },
        { 200, DELIVERY_DEFERRED, "4.2.2", "mailbox full" },
    };
    delivery_result_t in[2];
    size_t i;

    (void) state;
    sample_request(&req);
    delivery_request_send(qmgr_s, &req);
    assert_int_equal(stream_status(qmgr_s), STREAM_OK);
    assert_int_equal(delivery_request_read(agent_s, &got), 0);
    assert_string_equal(got.queue_name, "active");
    assert_string_equal(got.queue_id, "501F2A724A3");
    assert_int_equal(got.data_offset, 300);
    assert_int_equal(got.data_size, 1234);
    assert_string_equal(got.transport, "local");
    assert_string_equal(got.nexthop, "example.test");
    assert_string_equal(got.sender, "");
    assert_string_equal(got.envid, "env-1");
    assert_int_equal(got.dsn_ret, 2);
    assert_int_equal(got.arrival_time, 1700000000);
    assert_int_equal(got.arrival_usec, 123456);
    assert_string_equal(got.client, "client.example[192.0.2.1]");
    assert_int_equal(got.rcpt_count, 2);
    for (i = 0; i < 2; i++) {
        assert_int_equal(got.rcpts[i].offset, sample_rcpts[i].offset);
        assert_string_equal(got.rcpts[i].address, sample_rcpts[i].address);
        assert_string_equal(got.rcpts[i].orig_rcpt, sample_rcpts[i].orig_rcpt);
        assert_string_equal(got.rcpts[i].dsn_orig_rcpt, sample_rcpts[i].dsn_orig_rcpt);
        assert_int_equal(got.rcpts[i].notify_flags, sample_rcpts[i].notify_flags);
    }
    delivery_results_send(agent_s, &got, out);
    delivery_request_free(&got);
    assert_null(got.rcpts);

    assert_int_equal(delivery_results_read(qmgr_s, &req, in), 0);
    for (i = 0; i < 2; i++) {
        assert_int_equal(in[i].offset, out[i].offset);
        assert_int_equal(in[i].result, out[i].result);
        assert_string_equal(in[i].dsn, out[i].dsn);
        assert_string_equal(in[i].reason, out[i].reason);
        delivery_result_free(&in[i]);
    }
}

/* qmgr may wait for the announcement first; results_read then skips it. */
static void test_announcement_first(void **state)
{
    delivery_request_t req, got;
    delivery_result_t out[2] = {
        { 150, DELIVERY_BOUNCED, "5.1.1", "unknown user" },
        { 200, DELIVERY_SENT, "2.0.0", "ok" },
    };
    delivery_result_t in[2];

    (void) state;
    sample_request(&req);
    delivery_request_send(qmgr_s, &req);
    assert_int_equal(delivery_request_read(agent_s, &got), 0);
    assert_int_equal(delivery_announcement_read(qmgr_s), 0);
    delivery_results_send(agent_s, &got, out);
    assert_int_equal(delivery_results_read(qmgr_s, &req, in), 0);
    assert_int_equal(in[0].result, DELIVERY_BOUNCED);
    assert_string_equal(in[1].reason, "ok");
    delivery_result_free(&in[0]);
    delivery_result_free(&in[1]);
    delivery_request_free(&got);
}

/* Sends a request header with one attribute changed (or dropped/added). */
static void send_header(const char *name, const char *value, const char *extra)
{
    static const char *const names[] = {
        "queue_name", "queue_id", "data_offset", "data_size", "transport", "nexthop",
        "sender", "envid", "dsn_ret", "arrival_time", "arrival_usec", "client",
        "flags", "rcpt_count", NULL,
    };
    static const char *const values[] = {
        "active", "501F2A724A3", "300", "10", "local", "x", "", "", "0",
        "1700000000", "0", "", "0", "1",
    };
    size_t i;

    for (i = 0; names[i] != NULL; i++) {
        if (name != NULL && strcmp(names[i], name) == 0) {
            if (value != NULL)
                attr_put_str(qmgr_s, name, value);
        } else {
            attr_put_str(qmgr_s, names[i], values[i]);
        }
    }
    if (extra != NULL)
        attr_put_str(qmgr_s, extra, "1");
    attr_put_end(qmgr_s);
}

static void send_rcpt(long offset, const char *address, long notify)
{
    attr_put_long(qmgr_s, "offset", offset);
    attr_put_str(qmgr_s, "address", address);
    attr_put_str(qmgr_s, "orig_rcpt", "");
    attr_put_str(qmgr_s, "dsn_orig_rcpt", "");
    attr_put_long(qmgr_s, "notify_flags", notify);
    attr_put_end(qmgr_s);
}

static int agent_reads(void)
{
    delivery_request_t got;
    int ret = delivery_request_read(agent_s, &got);

    if (ret == 0)
        delivery_request_free(&got);
    return ret;
}

static void test_request_valid_baseline(void **state)
{
    (void) state;
    send_header(NULL, NULL, NULL);
    send_rcpt(100, "a@b.test", 0);
    assert_int_equal(agent_reads(), 0);
}

static void test_request_missing_attr(void **state)
{
    (void) state;
    send_header("nexthop", NULL, NULL);
    assert_int_equal(agent_reads(), -1);
}

static void test_request_extra_attr(void **state)
{
    (void) state;
    send_header(NULL, NULL, "surprise");
    assert_int_equal(agent_reads(), -1);
}

static void test_request_bad_values(void **state)
{
    static const char *const bad[][2] = {
        { "queue_name", "../etc" }, { "queue_name", "" }, { "queue_id", "x/y" },
        { "data_offset", "0" }, { "data_offset", "12x" }, { "dsn_ret", "3" },
        { "arrival_usec", "1000000" }, { "rcpt_count", "0" }, { "rcpt_count", "1001" },
        { "rcpt_count", "-1" },
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pair_teardown(NULL);
        assert_int_equal(pair_setup(NULL), 0);
        send_header(bad[i][0], bad[i][1], NULL);
        send_rcpt(100, "a@b.test", 0);
        if (agent_reads() != -1)
            fail_msg("accepted %s=%s", bad[i][0], bad[i][1]);
    }
}

static void test_request_max_rcpt(void **state)
{
    delivery_request_t got;
    buf_t count = BUF_INIT;
    int status;
    long i;
    pid_t pid;

    (void) state;
    buf_printf(&count, "%d", DELIVERY_MAX_RCPT);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        send_header("rcpt_count", count.data, NULL);
        for (i = 0; i < DELIVERY_MAX_RCPT; i++)
            send_rcpt(100 + i, "a@b.test", 0);
        _exit(stream_status(qmgr_s) == STREAM_OK ? 0 : 1);
    }
    assert_int_equal(delivery_request_read(agent_s, &got), 0);
    assert_int_equal(got.rcpt_count, DELIVERY_MAX_RCPT);
    assert_int_equal(got.rcpts[DELIVERY_MAX_RCPT - 1].offset, 100 + DELIVERY_MAX_RCPT - 1);
    delivery_request_free(&got);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(status, 0);
    buf_release(&count);
}

static void test_request_bad_rcpt(void **state)
{
    (void) state;
    send_header(NULL, NULL, NULL);
    send_rcpt(0, "a@b.test", 0);                /* offset 0 */
    assert_int_equal(agent_reads(), -1);
    pair_teardown(NULL);
    assert_int_equal(pair_setup(NULL), 0);
    send_header(NULL, NULL, NULL);
    send_rcpt(100, "a@b.test", 16);             /* unknown notify bit */
    assert_int_equal(agent_reads(), -1);
    pair_teardown(NULL);
    assert_int_equal(pair_setup(NULL), 0);
    send_header(NULL, NULL, NULL);              /* rcpt list missing: EOF */
    shutdown(fds[0], SHUT_WR);
    assert_int_equal(agent_reads(), -1);
}

/* Results that do not match the request are refused. */
static void check_bad_results(const delivery_result_t *out, const char *status)
{
    delivery_request_t req;
    delivery_result_t in[2];
    size_t i;

    sample_request(&req);
    attr_put_str(agent_s, "protocol", "delivery_request_protocol");
    attr_put_end(agent_s);
    for (i = 0; i < 2; i++) {
        attr_put_long(agent_s, "offset", out[i].offset);
        attr_put_long(agent_s, "result", out[i].result);
        attr_put_str(agent_s, "dsn", out[i].dsn);
        attr_put_str(agent_s, "reason", out[i].reason);
        attr_put_end(agent_s);
    }
    if (status != NULL) {
        attr_put_str(agent_s, "status", status);
        attr_put_end(agent_s);
    }
    shutdown(fds[1], SHUT_WR);
    assert_int_equal(delivery_results_read(qmgr_s, &req, in), -1);
    pair_teardown(NULL);
    assert_int_equal(pair_setup(NULL), 0);
}

static void test_results_rejected(void **state)
{
    delivery_result_t good[2] = {
        { 150, DELIVERY_SENT, "2.0.0", "ok" }, { 200, DELIVERY_SENT, "2.0.0", "ok" },
    };
    delivery_result_t wrong_offset[2] = {
        { 150, DELIVERY_SENT, "2.0.0", "ok" }, { 201, DELIVERY_SENT, "2.0.0", "ok" },
    };
    delivery_result_t bad_result[2] = {
        { 150, 3, "2.0.0", "ok" }, { 200, DELIVERY_SENT, "2.0.0", "ok" },
    };
    delivery_result_t bad_dsn[2] = {
        { 150, DELIVERY_SENT, "2.0", "ok" }, { 200, DELIVERY_SENT, "2.0.0", "ok" },
    };

    (void) state;
    check_bad_results(wrong_offset, "0");
    check_bad_results(bad_result, "0");
    check_bad_results(bad_dsn, "0");
    check_bad_results(good, NULL);              /* no final status */
    check_bad_results(good, "7");
}

/* ------------------------------------------------------------------ */
/* delivery_record                                                    */
/* ------------------------------------------------------------------ */

static long rcpt_offsets[2];

/* Writes a committed queue file with two recipients into active/. */
static void make_queue_file(char *id)
{
    queue_file_t *qf = queue_file_create(QUEUE_ACTIVE);
    rec_size_info_t info = { 5, 0, 2, 0, 0, 0 };
    buf_t ph = BUF_INIT;
    int i;

    assert_non_null(qf);
    rec_size_format(&ph, &info);
    queue_file_put(qf, REC_TYPE_SIZE, ph.data, ph.len);
    queue_file_puts(qf, REC_TYPE_FROM, "sender@example.test");
    for (i = 0; i < 2; i++) {
        rcpt_offsets[i] = qf->offset;
        queue_file_puts(qf, REC_TYPE_RCPT, sample_rcpts[i].address);
    }
    queue_file_put(qf, REC_TYPE_MESG, "", 0);
    info.data_offset = qf->offset;
    queue_file_puts(qf, REC_TYPE_NORM, "body");
    queue_file_put(qf, REC_TYPE_XTRA, "", 0);
    queue_file_put(qf, REC_TYPE_END, "", 0);
    assert_int_equal(queue_file_commit(qf, &info), 0);
    memcpy(id, qf->id, strlen(qf->id) + 1);
    queue_file_free(qf);
    buf_release(&ph);
}

/* Reads the maillog and empties it. */
static void take_log(buf_t *out)
{
    buf_t path = BUF_INIT;
    char chunk[4096];
    ssize_t n;
    int fd;

    buf_reset(out);
    buf_printf(&path, "%s/maillog", tmpdir);
    fd = open(path.data, O_RDWR);
    assert_true(fd >= 0);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        buf_append(out, chunk, (size_t) n);
    assert_int_equal(ftruncate(fd, 0), 0);
    close(fd);
    buf_release(&path);
}

typedef struct found_entry {
    int   count;
    char  status[16];
    char  action[16];
    char  reason[128];
    long  offset;
} found_entry_t;

static void on_entry(const dsn_entry_t *e, void *ctx)
{
    found_entry_t *f = ctx;

    f->count++;
    snprintf(f->status, sizeof(f->status), "%s", e->status);
    snprintf(f->action, sizeof(f->action), "%s", e->action);
    snprintf(f->reason, sizeof(f->reason), "%s", e->reason);
    f->offset = e->offset;
}

static found_entry_t read_dsn_log(const char *queue, const char *id)
{
    found_entry_t f;

    memset(&f, 0, sizeof(f));
    if (dsn_log_read(queue, id, on_entry, &f) < 0)
        assert_int_equal(errno, ENOENT);
    return f;
}

/* Sets up a request for a fresh queue file and maps it. */
static void record_setup(delivery_request_t *req, char *id, queue_map_t *qm)
{
    buf_t path = BUF_INIT;
    struct timeval now;

    make_queue_file(id);
    sample_request(req);
    req->queue_id = id;
    sample_rcpts[0].offset = rcpt_offsets[0];
    sample_rcpts[1].offset = rcpt_offsets[1];
    gettimeofday(&now, NULL);
    /* Arrived 13.4 seconds ago: "delay=13". */
    req->arrival_time = now.tv_sec - 13;
    req->arrival_usec = now.tv_usec;
    if (req->arrival_usec >= 400000) {
        req->arrival_usec -= 400000;
    } else {
        req->arrival_time--;
        req->arrival_usec += 600000;
    }
    queue_path(&path, QUEUE_ACTIVE, id);
    assert_int_equal(queue_map_open(path.data, 1, qm), 0);
    buf_release(&path);
}

static void test_record_sent(void **state)
{
    double delays[4] = { 0.004, 0.12, 1.53, 0.05 };
    delivery_request_t req;
    delivery_result_t res;
    queue_map_t qm;
    char id[QUEUE_ID_MAX + 1];
    buf_t log = BUF_INIT, want = BUF_INIT;

    (void) state;
    record_setup(&req, id, &qm);
    delivery_record(&req, &req.rcpts[0], qm.fd, DELIVERY_SENT, "2.0.0", "local",
                    "delivered to mailbox", delays, &res);
    assert_int_equal(res.result, DELIVERY_SENT);
    assert_int_equal(res.offset, rcpt_offsets[0]);
    assert_string_equal(res.dsn, "2.0.0");
    assert_string_equal(res.reason, "delivered to mailbox");
    assert_int_equal(qm.data[rcpt_offsets[0]], 'D');
    assert_int_equal(qm.data[rcpt_offsets[1]], 'R');
    assert_int_equal(read_dsn_log(QUEUE_DEFER, id).count, 0);
    assert_int_equal(read_dsn_log(QUEUE_BOUNCE, id).count, 0);
    take_log(&log);
    buf_printf(&want, "postfix/local[%ld]: %s: to=<alice@example.test>, relay=local, "
               "delay=13, delays=0/0.12/1.5/0.05, dsn=2.0.0, status=sent "
               "(delivered to mailbox)\n", (long) getpid(), id);
    if (strstr(log.data, want.data) == NULL)
        fail_msg("log:  %s\nwant: %s", log.data, want.data);
    delivery_result_free(&res);

    /* orig_to shows when the original recipient differs. */
    delivery_record(&req, &req.rcpts[1], qm.fd, DELIVERY_SENT, "2.0.0", "local",
                    "delivered to mailbox", delays, &res);
    take_log(&log);
    assert_non_null(strstr(log.data, "to=<bob@example.test>, orig_to=<Bobby@example.test>, relay=local"));
    delivery_result_free(&res);
    queue_map_close(&qm);
    buf_release(&log);
    buf_release(&want);
}

static void test_record_deferred(void **state)
{
    delivery_request_t req;
    delivery_result_t res;
    queue_map_t qm;
    char id[QUEUE_ID_MAX + 1];
    buf_t log = BUF_INIT;
    found_entry_t f;

    (void) state;
    record_setup(&req, id, &qm);
    delivery_record(&req, &req.rcpts[0], qm.fd, DELIVERY_DEFERRED, "4.2.2", "local",
                    "mailbox full", NULL, &res);
    assert_int_equal(res.result, DELIVERY_DEFERRED);
    assert_int_equal(qm.data[rcpt_offsets[0]], 'R');
    f = read_dsn_log(QUEUE_DEFER, id);
    assert_int_equal(f.count, 1);
    assert_string_equal(f.status, "4.2.2");
    assert_string_equal(f.action, "delayed");
    assert_string_equal(f.reason, "mailbox full");
    assert_int_equal(f.offset, rcpt_offsets[0]);
    take_log(&log);
    assert_non_null(strstr(log.data, "delays=0/0/0/0, dsn=4.2.2, status=deferred (mailbox full)"));
    delivery_result_free(&res);
    queue_map_close(&qm);
    buf_release(&log);
}

static void test_record_bounced(void **state)
{
    delivery_request_t req;
    delivery_result_t res;
    queue_map_t qm;
    char id[QUEUE_ID_MAX + 1];
    buf_t log = BUF_INIT;
    found_entry_t f;

    (void) state;
    record_setup(&req, id, &qm);
    delivery_record(&req, &req.rcpts[1], qm.fd, DELIVERY_BOUNCED, "5.1.1", "local",
                    "unknown user: \"bob\"", NULL, &res);
    assert_int_equal(res.result, DELIVERY_BOUNCED);
    assert_string_equal(res.dsn, "5.1.1");
    assert_int_equal(qm.data[rcpt_offsets[1]], 'D');
    f = read_dsn_log(QUEUE_BOUNCE, id);
    assert_int_equal(f.count, 1);
    assert_string_equal(f.action, "failed");
    assert_string_equal(f.status, "5.1.1");
    assert_int_equal(read_dsn_log(QUEUE_DEFER, id).count, 0);
    take_log(&log);
    assert_non_null(strstr(log.data, "dsn=5.1.1, status=bounced (unknown user: \"bob\")"));
    delivery_result_free(&res);
    queue_map_close(&qm);
    buf_release(&log);
}

/* NOTIFY=SUCCESS: a sent recipient gets a "delivered" entry in trace/ID
 * (qmgr's success report is built from it); others and deferrals do not.
 * A trace log that cannot be written defers the recipient. */
static void test_record_success_trace(void **state)
{
    delivery_request_t req;
    delivery_result_t res;
    queue_map_t qm;
    char id[QUEUE_ID_MAX + 1];
    buf_t log = BUF_INIT;
    found_entry_t f;
    long saved = sample_rcpts[0].notify_flags;

    (void) state;
    record_setup(&req, id, &qm);
    sample_rcpts[0].notify_flags = DSN_NOTIFY_SUCCESS;
    delivery_record(&req, &req.rcpts[1], qm.fd, DELIVERY_SENT, "2.0.0", "local",
                    "delivered to mailbox", NULL, &res);
    delivery_result_free(&res);
    assert_int_equal(read_dsn_log(QUEUE_TRACE, id).count, 0);
    delivery_record(&req, &req.rcpts[0], qm.fd, DELIVERY_DEFERRED, "4.2.2", "local",
                    "mailbox full", NULL, &res);
    delivery_result_free(&res);
    assert_int_equal(read_dsn_log(QUEUE_TRACE, id).count, 0);
    delivery_record(&req, &req.rcpts[0], qm.fd, DELIVERY_SENT, "2.0.0", "local",
                    "delivered to mailbox", NULL, &res);
    assert_int_equal(res.result, DELIVERY_SENT);
    delivery_result_free(&res);
    assert_int_equal(qm.data[rcpt_offsets[0]], 'D');
    f = read_dsn_log(QUEUE_TRACE, id);
    assert_int_equal(f.count, 1);
    assert_string_equal(f.action, "delivered");
    assert_string_equal(f.status, "2.0.0");
    assert_string_equal(f.reason, "delivered to mailbox");
    assert_int_equal(f.offset, rcpt_offsets[0]);
    assert_int_equal(dsn_log_remove(QUEUE_TRACE, id), 0);
    queue_map_close(&qm);

    /* trace/ is not a folder any more: the entry cannot be written. */
    record_setup(&req, id, &qm);
    assert_int_equal(rename(QUEUE_TRACE, "trace.saved"), 0);
    assert_int_equal(close(open(QUEUE_TRACE, O_WRONLY | O_CREAT, 0600)), 0);
    delivery_record(&req, &req.rcpts[0], qm.fd, DELIVERY_SENT, "2.0.0", "local",
                    "delivered to mailbox", NULL, &res);
    assert_int_equal(unlink(QUEUE_TRACE), 0);
    assert_int_equal(rename("trace.saved", QUEUE_TRACE), 0);
    assert_int_equal(res.result, DELIVERY_DEFERRED);
    assert_int_equal(qm.data[rcpt_offsets[0]], 'R');
    assert_int_equal(read_dsn_log(QUEUE_DEFER, id).count, 1);
    delivery_result_free(&res);
    take_log(&log);
    assert_non_null(strstr(log.data, "status=deferred (cannot write trace log: "));
    sample_rcpts[0].notify_flags = saved;
    queue_map_close(&qm);
    buf_release(&log);
}

/* A recipient that cannot be marked done is deferred, never lost. */
static void test_record_mark_failure(void **state)
{
    delivery_request_t req;
    delivery_result_t res;
    queue_map_t qm;
    char id[QUEUE_ID_MAX + 1];
    buf_t log = BUF_INIT;
    found_entry_t f;

    (void) state;
    record_setup(&req, id, &qm);
    assert_int_equal(queue_mark_done(qm.fd, rcpt_offsets[0]), 0);   /* already 'D' */
    delivery_record(&req, &req.rcpts[0], qm.fd, DELIVERY_SENT, "2.0.0", "local",
                    "delivered to mailbox", NULL, &res);
    assert_int_equal(res.result, DELIVERY_DEFERRED);
    assert_int_equal(res.dsn[0], '4');
    f = read_dsn_log(QUEUE_DEFER, id);
    assert_int_equal(f.count, 1);
    take_log(&log);
    assert_non_null(strstr(log.data, "warning: "));
    assert_non_null(strstr(log.data, "status=deferred"));
    delivery_result_free(&res);
    queue_map_close(&qm);
    buf_release(&log);
}

/* soft_bounce=yes turns the bounce into a deferral with a 4.x.y code. It
 * runs in a child so the override stays there. */
static void test_record_soft_bounce(void **state)
{
    delivery_request_t req;
    delivery_result_t res;
    queue_map_t qm;
    char id[QUEUE_ID_MAX + 1];
    buf_t log = BUF_INIT;
    found_entry_t f;
    int status;
    pid_t pid;

    (void) state;
    record_setup(&req, id, &qm);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        config_override("soft_bounce", "yes");
        delivery_record(&req, &req.rcpts[0], qm.fd, DELIVERY_BOUNCED, "5.1.1", "local",
                        "unknown user", NULL, &res);
        _exit(res.result == DELIVERY_DEFERRED && strcmp(res.dsn, "4.1.1") == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(status, 0);
    assert_int_equal(qm.data[rcpt_offsets[0]], 'R');
    assert_int_equal(read_dsn_log(QUEUE_BOUNCE, id).count, 0);
    f = read_dsn_log(QUEUE_DEFER, id);
    assert_int_equal(f.count, 1);
    assert_string_equal(f.status, "4.1.1");
    take_log(&log);
    assert_non_null(strstr(log.data, "dsn=4.1.1, status=deferred (unknown user)"));
    queue_map_close(&qm);
    buf_release(&log);
}

static int group_setup(void **state)
{
    buf_t path = BUF_INIT;
    FILE *fp;

    (void) state;
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    buf_printf(&path, "%s/main.cf", tmpdir);
    fp = fopen(path.data, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "queue_directory = %s/queue\n", tmpdir);
    fclose(fp);
    config_load(tmpdir);
    log_init("local", 0);
    buf_reset(&path);
    buf_printf(&path, "%s/maillog", tmpdir);
    log_configure("postfix", path.data);
    buf_reset(&path);
    buf_printf(&path, "%s/queue", tmpdir);
    if (queue_dirs_create(path.data, getuid(), getgid(), (gid_t) -1) < 0
        || chdir(path.data) < 0)
        return -1;
    buf_release(&path);
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

#define PAIR_TEST(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PAIR_TEST(test_round_trip),
        PAIR_TEST(test_announcement_first),
        PAIR_TEST(test_request_valid_baseline),
        PAIR_TEST(test_request_missing_attr),
        PAIR_TEST(test_request_extra_attr),
        PAIR_TEST(test_request_bad_values),
        PAIR_TEST(test_request_max_rcpt),
        PAIR_TEST(test_request_bad_rcpt),
        PAIR_TEST(test_results_rejected),
        cmocka_unit_test(test_record_soft_bounce),
        cmocka_unit_test(test_record_sent),
        cmocka_unit_test(test_record_deferred),
        cmocka_unit_test(test_record_bounced),
        cmocka_unit_test(test_record_mark_failure),
        cmocka_unit_test(test_record_success_trace),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
