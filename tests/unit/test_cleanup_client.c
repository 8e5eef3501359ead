/* Unit tests for lib/cleanup_client against a scripted fake cleanup server
 * (a forked child): the normal conversation, refused greetings, a server
 * that goes away at each step (a status, never a crash or a SIGPIPE
 * death), malformed replies, and the SMTP wording of each status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "attr.h"
#include "buf.h"
#include "cleanup_client.h"
#include "config.h"
#include "ipc.h"
#include "record.h"

static char tmpdir[] = "/tmp/test_cleanup_client.XXXXXX";

/* What the fake server does. */
enum fake_mode {
    FAKE_OK,            /* greeting, reads records through E, status 0 */
    FAKE_TOO_BIG,       /* as OK, but replies status SIZE with a reason */
    FAKE_BAD_PROTO,     /* announces another protocol */
    FAKE_NO_GREETING,   /* accepts and closes at once */
    FAKE_NO_QUEUE_ID,   /* greeting without queue_id */
    FAKE_BAD_QUEUE_ID,  /* a queue ID that could escape the queue directory */
    FAKE_EXTRA_GREET,   /* greeting with an attribute nobody asked for */
    FAKE_SILENT,        /* accepts and says nothing for a few seconds */
    FAKE_HANGUP,        /* closes after the flags */
    FAKE_CLOSE_MID,     /* closes at the first content record, unread data pending */
    FAKE_NO_REPLY,      /* reads through E, closes without a status */
    FAKE_BAD_STATUS,    /* replies status=abc */
    FAKE_EXTRA_REPLY,   /* replies status=0 plus an unknown attribute */
};

#define FAKE_QUEUE_ID "501F2A724A3"
#define BIG_LINES     20000             /* * ~100 bytes: far more than socket buffers */

/* The fake's exit code: 0 when the client behaved as expected. */
static int fake_cleanup(int lfd, enum fake_mode mode)
{
    static const char want[] = "TSRMNXE";
    int fd = accept(lfd, NULL, NULL);
    stream_t *s;
    attr_list_t *a = attr_list_new();
    buf_t data = BUF_INIT, types = BUF_INIT;
    long flags = -1;
    int type;

    if (fd < 0)
        return 20;
    if (mode == FAKE_NO_GREETING)
        return 0;
    if (mode == FAKE_SILENT) {
        sleep(5);
        return 0;
    }
    s = stream_fdopen(fd);
    stream_set_timeout(s, 5);
    attr_put_str(s, "protocol", mode == FAKE_BAD_PROTO ? "other_protocol" : "cleanup_protocol");
    if (mode == FAKE_BAD_QUEUE_ID)
        attr_put_str(s, "queue_id", "../../etc/passwd");
    else if (mode != FAKE_NO_QUEUE_ID)
        attr_put_str(s, "queue_id", FAKE_QUEUE_ID);
    if (mode == FAKE_EXTRA_GREET)
        attr_put_str(s, "color", "red");
    attr_put_end(s);
    if (mode == FAKE_BAD_PROTO || mode == FAKE_BAD_QUEUE_ID
        || mode == FAKE_NO_QUEUE_ID || mode == FAKE_EXTRA_GREET)
        return 0;
    if (attr_read(s, a) < 0 || attr_get_long(a, "flags", &flags) < 0 || flags != 5)
        return 10;
    if (mode == FAKE_HANGUP)
        return 0;
    while ((type = rec_get(s, &data, 1000)) >= 0) {
        buf_putc(&types, type);
        if (mode == FAKE_CLOSE_MID && type == REC_TYPE_NORM)
            return 0;                   /* exit closes with unread data queued */
        if (type == REC_TYPE_END)
            break;
    }
    if (strcmp(buf_str(&types), want) != 0)
        return 11;
    if (mode == FAKE_NO_REPLY)
        return 0;
    if (mode == FAKE_BAD_STATUS) {
        attr_put_str(s, "status", "abc");
    } else {
        attr_put_long(s, "status", mode == FAKE_TOO_BIG ? CLEANUP_STAT_SIZE : 0);
        if (mode == FAKE_TOO_BIG)
            attr_put_str(s, "reason", "message too big");
        if (mode == FAKE_EXTRA_REPLY)
            attr_put_str(s, "bogus", "1");
    }
    attr_put_end(s);
    return stream_status(s) == STREAM_OK ? 0 : 12;
}

static const char *socket_path(buf_t *b)
{
    buf_reset(b);
    buf_printf(b, "%s/cleanup", tmpdir);
    return b->data;
}

/* Starts the fake server on a fresh socket; returns its pid. */
static pid_t start_fake(enum fake_mode mode, buf_t *path)
{
    int lfd = unix_listen(socket_path(path), 0666, 10);
    pid_t pid;

    assert_true(lfd >= 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fake_cleanup(lfd, mode));
    close(lfd);
    return pid;
}

static int wait_fake(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* The client side after a successful open: records as smtpd sends
 * them (content_lines N records), then the final status. */
static int send_message(cleanup_client_t *cl, int content_lines, buf_t *why)
{
    char line[101];

    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = 0;
    rec_printf(cl->s, REC_TYPE_TIME, "%d %d", 1700000000, 0);
    rec_puts(cl->s, REC_TYPE_FROM, "a@example.test");
    rec_puts(cl->s, REC_TYPE_RCPT, "b@example.test");
    rec_put(cl->s, REC_TYPE_MESG, "", 0);
    rec_puts(cl->s, REC_TYPE_NORM, "Subject: x");
    for (int i = 1; i < content_lines; i++)
        rec_puts(cl->s, REC_TYPE_NORM, line);
    rec_put(cl->s, REC_TYPE_XTRA, "", 0);
    rec_put(cl->s, REC_TYPE_END, "", 0);
    return cleanup_finish(cl, why);
}

/* One whole conversation in this process: -1 when cleanup_open fails. */
static int run_cleanup(enum fake_mode mode, buf_t *why, int *fake_status)
{
    buf_t path = BUF_INIT;
    cleanup_client_t *cl;
    int status = -1;
    pid_t pid = start_fake(mode, &path);

    cl = cleanup_open(path.data, 5, why);
    if (cl != NULL) {
        assert_string_equal(cl->queue_id, FAKE_QUEUE_ID);
        status = send_message(cl, 1, why);
    }
    *fake_status = wait_fake(pid);
    buf_release(&path);
    return status;
}

static void test_conversation_ok(void **state)
{
    buf_t why = BUF_INIT;
    int fake;

    (void) state;
    assert_int_equal(run_cleanup(FAKE_OK, &why, &fake), CLEANUP_STAT_OK);
    assert_int_equal(fake, 0);
    assert_string_equal(buf_str(&why), "");
    assert_int_equal(run_cleanup(FAKE_TOO_BIG, &why, &fake), CLEANUP_STAT_SIZE);
    assert_int_equal(fake, 0);
    assert_string_equal(buf_str(&why), "message too big");
    buf_release(&why);
}

static void expect_open_refused(enum fake_mode mode, const char *reason)
{
    buf_t why = BUF_INIT;
    int fake;

    assert_int_equal(run_cleanup(mode, &why, &fake), -1);
    assert_int_equal(fake, 0);
    if (strstr(buf_str(&why), reason) == NULL)
        print_error("why: \"%s\", wanted \"%s\"\n", buf_str(&why), reason);
    assert_non_null(strstr(buf_str(&why), reason));
    /* The reason names the socket, for the warning the caller logs. */
    assert_non_null(strstr(buf_str(&why), tmpdir));
    buf_release(&why);
}

static void test_bad_greetings(void **state)
{
    (void) state;
    expect_open_refused(FAKE_BAD_PROTO, "unexpected greeting");
    expect_open_refused(FAKE_NO_QUEUE_ID, "unexpected greeting");
    expect_open_refused(FAKE_EXTRA_GREET, "unexpected greeting");
    expect_open_refused(FAKE_BAD_QUEUE_ID, "bad queue ID");
    expect_open_refused(FAKE_NO_GREETING, "no greeting from cleanup server");
}

static void test_no_server(void **state)
{
    buf_t why = BUF_INIT, path = BUF_INIT;

    (void) state;
    buf_printf(&path, "%s/no-cleanup", tmpdir);
    assert_null(cleanup_open(path.data, 0, &why));
    assert_non_null(strstr(buf_str(&why), "connect to "));
    assert_non_null(strstr(buf_str(&why), "No such file or directory"));
    cleanup_abort(NULL);                /* allowed, does nothing */
    buf_release(&why);
    buf_release(&path);
}

/* A server that accepts but never greets: the client gives up after
 * ipc_timeout instead of hanging. */
static void test_greeting_timeout(void **state)
{
    buf_t why = BUF_INIT, path = BUF_INIT;
    struct timeval t0, t1;
    pid_t pid;

    (void) state;
    config_override("ipc_timeout", "1s");
    pid = start_fake(FAKE_SILENT, &path);
    gettimeofday(&t0, NULL);
    assert_null(cleanup_open(path.data, 0, &why));
    gettimeofday(&t1, NULL);
    config_override("ipc_timeout", "3600s");
    assert_non_null(strstr(buf_str(&why), "no greeting"));
    /* The fake would close after 5s; well before that means the timeout worked. */
    assert_true(t1.tv_sec - t0.tv_sec <= 3);
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    buf_release(&why);
    buf_release(&path);
}

static void test_server_gone(void **state)
{
    buf_t why = BUF_INIT;
    int fake;

    (void) state;
    assert_int_equal(run_cleanup(FAKE_HANGUP, &why, &fake), CLEANUP_STAT_WRITE);
    assert_int_equal(fake, 0);
    assert_string_equal(buf_str(&why), "lost connection with cleanup server");
    assert_int_equal(run_cleanup(FAKE_NO_REPLY, &why, &fake), CLEANUP_STAT_WRITE);
    assert_int_equal(fake, 0);
    assert_string_equal(buf_str(&why), "lost connection with cleanup server");
    buf_release(&why);
}

/* The client in a child with SIGPIPE at its default action: a server that
 * closes while a big message is being sent must give CLEANUP_STAT_WRITE
 * (exit code 2), not kill the process. Exit 100: open failed; 101: wrong
 * reason text. */
static void test_server_closes_mid_message(void **state)
{
    buf_t path = BUF_INIT;
    pid_t fake, client;
    int status;

    (void) state;
    fake = start_fake(FAKE_CLOSE_MID, &path);
    client = fork();
    assert_true(client >= 0);
    if (client == 0) {
        buf_t why = BUF_INIT;
        cleanup_client_t *cl;
        int st;

        signal(SIGPIPE, SIG_DFL);
        if ((cl = cleanup_open(path.data, 5, &why)) == NULL)
            _exit(100);
        st = send_message(cl, BIG_LINES, &why);
        if (strcmp(buf_str(&why), "lost connection with cleanup server") != 0)
            _exit(101);
        _exit(st);
    }
    assert_int_equal(waitpid(client, &status, 0), client);
    if (WIFSIGNALED(status))
        print_error("client killed by signal %d\n", WTERMSIG(status));
    assert_false(WIFSIGNALED(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CLEANUP_STAT_WRITE);
    assert_int_equal(wait_fake(fake), 0);
    buf_release(&path);
}

static void test_malformed_replies(void **state)
{
    buf_t why = BUF_INIT;
    int fake;

    (void) state;
    assert_int_equal(run_cleanup(FAKE_BAD_STATUS, &why, &fake), CLEANUP_STAT_BAD);
    assert_int_equal(fake, 0);
    assert_string_equal(buf_str(&why), "malformed reply from cleanup server");
    assert_int_equal(run_cleanup(FAKE_EXTRA_REPLY, &why, &fake), CLEANUP_STAT_BAD);
    assert_int_equal(fake, 0);
    assert_string_equal(buf_str(&why), "malformed reply from cleanup server");
    buf_release(&why);
}

static void test_cleanup_replies(void **state)
{
    (void) state;
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_OK), "250 2.0.0 Ok");
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_WRITE),
                        "451 4.3.0 Error: queue file write error");
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_BAD),
                        "451 4.3.0 Error: queue file write error");
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_SIZE),
                        "552 5.3.4 Error: message file too big");
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_HOPS),
                        "554 5.4.0 Error: too many hops");
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_CONT),
                        "550 5.7.1 Error: message content rejected");
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_RCPT),
                        "554 5.5.1 Error: no valid recipients");
    assert_string_equal(cleanup_status_reply(CLEANUP_STAT_SIZE | CLEANUP_STAT_WRITE),
                        "552 5.3.4 Error: message file too big");
    assert_int_equal(cleanup_status_reply(CLEANUP_STAT_DEFER)[0], '4');
    assert_int_equal(cleanup_status_reply(1 << 12)[0], '4');   /* unknown bit: temporary */
}

static int group_setup(void **state)
{
    (void) state;
    return mkdtemp(tmpdir) ? 0 : -1;
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
        cmocka_unit_test(test_conversation_ok),
        cmocka_unit_test(test_bad_greetings),
        cmocka_unit_test(test_no_server),
        cmocka_unit_test(test_greeting_timeout),
        cmocka_unit_test(test_server_gone),
        cmocka_unit_test(test_server_closes_mid_message),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test(test_cleanup_replies),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
