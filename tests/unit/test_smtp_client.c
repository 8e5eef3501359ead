/* Unit tests for lib/smtp_client: nexthop forms, content output
 * (dot-stuffing, CRLF, folding), and whole conversations with a scripted
 * server in a child process over a socketpair: pipelining, per-recipient
 * replies, LMTP, refused greetings, HELO fallback, lost connections, SIZE,
 * DSN parameters and Postfix's reason texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "delivery.h"
#include "smtp_client.h"
#include "stream.h"

static smtp_settings_t settings;

static int setup(void **state)
{
    (void) state;
    memset(&settings, 0, sizeof(settings));
    settings.timeouts = (smtp_timeouts_t) { 5, 5, 5, 5, 5, 5, 5, 5 };
    settings.helo_name = "client.example.org";
    settings.line_limit = 998;
    settings.skip_5xx_greeting = 1;
    settings.skip_quit_response = 0;
    return 0;
}

/* ---- Nexthop forms ---- */

static void assert_dest(const char *text, int lmtp, int kind, const char *host, unsigned port)
{
    smtp_dest_t d;
    buf_t why = BUF_INIT;

    assert_int_equal(smtp_dest_parse(text, lmtp, &d, &why), 0);
    assert_int_equal(d.kind, kind);
    assert_string_equal(d.host, host);
    assert_int_equal(d.port, port);
    smtp_dest_free(&d);
    buf_release(&why);
}

static void assert_bad_dest(const char *text, int lmtp)
{
    smtp_dest_t d;
    buf_t why = BUF_INIT;

    assert_int_equal(smtp_dest_parse(text, lmtp, &d, &why), -1);
    assert_true(why.len > 0);
    buf_release(&why);
}

static void test_dest_forms(void **state)
{
    smtp_dest_t d;
    buf_t why = BUF_INIT, t = BUF_INIT;

    (void) state;
    assert_dest("example.com", 0, SMTP_DEST_MX, "example.com", 0);
    assert_dest("example.com:587", 0, SMTP_DEST_MX, "example.com", 587);
    assert_dest("[smtp.free.fr]", 0, SMTP_DEST_HOST, "smtp.free.fr", 0);
    assert_dest("[smtp.isp.test]:submission", 0, SMTP_DEST_HOST, "smtp.isp.test", 587);
    assert_dest("[11.22.33.44]", 0, SMTP_DEST_ADDR, "11.22.33.44", 0);
    assert_dest("[mail.domain_local.org]", 0, SMTP_DEST_HOST, "mail.domain_local.org", 0);
    assert_dest("[127.0.0.1]:2525", 0, SMTP_DEST_ADDR, "127.0.0.1", 2525);
    assert_dest("[ipv6:2001:db8::1]:25", 0, SMTP_DEST_ADDR, "ipv6:2001:db8::1", 25);
    assert_dest("[IPv6:::1]", 0, SMTP_DEST_ADDR, "IPv6:::1", 0);
    assert_int_equal(smtp_dest_parse("[ipv6:2001:db8::1]", 0, &d, &why), 0);
    dns_addr_format(&d.addr, &t);
    assert_string_equal(buf_str(&t), "2001:db8::1");
    smtp_dest_free(&d);
    assert_int_equal(smtp_dest_parse("[192.0.2.1]", 0, &d, &why), 0);
    assert_int_equal(d.addr.family, AF_INET);
    smtp_dest_free(&d);

    /* LMTP: sockets, inet:, and never an MX lookup. */
    assert_dest("unix:private/dovecot-lmtp", 1, SMTP_DEST_UNIX, "private/dovecot-lmtp", 0);
    assert_dest("inet:localhost", 1, SMTP_DEST_HOST, "localhost", 0);
    assert_dest("inet:mail.example:24", 1, SMTP_DEST_HOST, "mail.example", 24);
    assert_dest("inet:[127.0.0.1]:24", 1, SMTP_DEST_ADDR, "127.0.0.1", 24);
    assert_dest("mail.example:lmtp", 1, SMTP_DEST_HOST, "mail.example", 24);

    assert_bad_dest("", 0);
    assert_bad_dest("[unclosed", 0);
    assert_bad_dest("[host]:", 0);
    assert_bad_dest("[host]:99999", 0);
    assert_bad_dest("[host]x", 0);
    assert_bad_dest("example.com:nosuchservice", 0);
    assert_bad_dest("bad host.example", 0);
    assert_bad_dest("[ipv6:not-an-address]", 0);
    assert_bad_dest("unix:", 1);
    assert_bad_dest("unix:/path", 0);          /* not an SMTP form */
    buf_release(&why);
    buf_release(&t);
}

/* ---- Content output ---- */

static void read_all(int fd, buf_t *out)
{
    char tmp[4096];
    ssize_t n;

    while ((n = read(fd, tmp, sizeof(tmp))) > 0)
        buf_append(out, tmp, (size_t) n);
}

static void test_data_put(void **state)
{
    int sv[2];
    smtp_conn_t *c;
    buf_t out = BUF_INIT;
    smtp_settings_t s = settings;

    (void) state;
    s.line_limit = 20;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = smtp_conn_from_fd(sv[0], "h", "a", 0, 0, &s);
    smtp_data_put(c, "Subject: hi", 11, 1);
    smtp_data_put(c, ".", 1, 1);                            /* a lone dot */
    smtp_data_put(c, ".hidden", 7, 1);
    smtp_data_put(c, "a.b", 3, 1);                          /* only a leading dot */
    smtp_data_put(c, "12345678901234567890", 20, 1);        /* exactly the limit */
    smtp_data_put(c, "1234567890", 10, 0);                  /* L record pieces */
    smtp_data_put(c, "abcdefghijKLMNOPQRSTuvwxyz", 26, 0);
    smtp_data_put(c, "", 0, 1);
    smtp_data_put(c, "bare\nlf and\rcr", 14, 1);            /* never a line end */
    smtp_data_put(c, "", 0, 1);
    assert_int_equal(stream_flush(c->stream), 0);
    shutdown(sv[0], SHUT_WR);
    read_all(sv[1], &out);
    assert_string_equal(buf_str(&out),
                        "Subject: hi\r\n"
                        "..\r\n"
                        "..hidden\r\n"
                        "a.b\r\n"
                        "12345678901234567890\r\n"
                        "1234567890abcdefghij\r\n KLMNOPQRSTuvwxyz\r\n"
                        "bare lf and cr\r\n"
                        "\r\n");
    smtp_conn_close(c);
    close(sv[1]);
    buf_release(&out);
}

/* ---- A scripted server ---- */

typedef struct fake {
    const char *greeting;
    const char *ehlo;            /* reply to EHLO or LHLO */
    const char *helo;
    const char *mail;
    const char *data;
    const char *done[4];         /* after the dot: one (SMTP) or per recipient (LMTP) */
    int         close_after_mail;
} fake_t;

typedef struct server {
    pid_t pid;
    int   transcript_fd;         /* read end: everything the server received */
} server_t;

static const char *rcpt_reply(const char *line)
{
    const char *lt = strchr(line, '<');

    if (lt && strncmp(lt + 1, "defer", 5) == 0)
        return "450 4.2.0 <defer@x>: try again later\r\n";
    if (lt && strncmp(lt + 1, "reject", 6) == 0)
        return "550 5.1.1 <reject@x>: User unknown\r\n";
    return "250 2.1.5 Ok\r\n";
}

static void serve_data(stream_t *s, buf_t *log, const fake_t *f, int accepted)
{
    buf_t line = BUF_INIT;

    for (;;) {
        buf_reset(&line);
        if (stream_get_line(s, &line, 100000) != STREAM_LINE)
            break;
        buf_append(log, line.data, line.len);
        if (strcmp(buf_str(&line), ".\r\n") == 0)
            break;
    }
    for (int i = 0; i < accepted && f->done[i] != NULL; i++)
        stream_puts(s, f->done[i]);
    stream_flush(s);
    buf_release(&line);
}

/* The server: answers each command line, notes "[pipelined]" when more
 * commands had already arrived before it answered MAIL. */
static void fake_serve(int fd, int logfd, const fake_t *f)
{
    stream_t *s = stream_fdopen(fd);
    buf_t line = BUF_INIT, log = BUF_INIT;
    int accepted = 0;

    stream_set_timeout(s, 10);
    stream_puts(s, f->greeting);
    stream_flush(s);
    for (;;) {
        const char *reply = NULL;

        buf_reset(&line);
        if (stream_get_line(s, &line, 100000) != STREAM_LINE)
            break;
        buf_append(&log, line.data, line.len);
        if (strncmp(line.data, "EHLO", 4) == 0 || strncmp(line.data, "LHLO", 4) == 0) {
            reply = f->ehlo;
        } else if (strncmp(line.data, "HELO", 4) == 0) {
            reply = f->helo;
        } else if (strncmp(line.data, "MAIL", 4) == 0) {
            if (f->close_after_mail)
                break;
            if (stream_buffered(s) > 0)
                buf_puts(&log, "[pipelined]\n");
            reply = f->mail;
        } else if (strncmp(line.data, "RCPT", 4) == 0) {
            reply = rcpt_reply(line.data);
            accepted += reply[0] == '2';
        } else if (strncmp(line.data, "DATA", 4) == 0) {
            reply = f->data;
            if (reply[0] == '3') {
                stream_puts(s, reply);
                stream_flush(s);
                serve_data(s, &log, f, accepted);
                continue;
            }
        } else if (strncmp(line.data, "QUIT", 4) == 0) {
            stream_puts(s, "221 2.0.0 Bye\r\n");
            stream_flush(s);
            break;
        } else {
            reply = "502 5.5.2 Error: command not recognized\r\n";
        }
        stream_puts(s, reply);
        stream_flush(s);
    }
    if (write(logfd, log.data ? log.data : "", log.len) < 0)
        _exit(2);
    _exit(0);
}

static smtp_conn_t *start_server(const fake_t *f, int lmtp, server_t *srv,
                                 const smtp_settings_t *set)
{
    int sv[2], logp[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pipe(logp), 0);
    srv->pid = fork();
    assert_true(srv->pid >= 0);
    if (srv->pid == 0) {
        close(sv[0]);
        close(logp[0]);
        fake_serve(sv[1], logp[1], f);
    }
    close(sv[1]);
    close(logp[1]);
    srv->transcript_fd = logp[0];
    return smtp_conn_from_fd(sv[0], "mx.test", "192.0.2.1", lmtp ? 0 : 25, lmtp, set);
}

/* Closes the client side and collects what the server received. */
static void finish_server(smtp_conn_t *c, server_t *srv, buf_t *transcript)
{
    int status;

    smtp_conn_close(c);
    read_all(srv->transcript_fd, transcript);
    close(srv->transcript_fd);
    assert_int_equal(waitpid(srv->pid, &status, 0), srv->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static const char EHLO_FULL[] =
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n";
static const char EHLO_PLAIN[] = "250-mx.test\r\n250 8BITMIME\r\n";

static int write_body(smtp_conn_t *c, void *ctx, buf_t *why)
{
    (void) ctx;
    (void) why;
    smtp_data_put(c, "Subject: test", 13, 1);
    smtp_data_put(c, "", 0, 1);
    smtp_data_put(c, ".dot line", 9, 1);
    return 0;
}

static int broken_body(smtp_conn_t *c, void *ctx, buf_t *why)
{
    (void) ctx;
    smtp_data_put(c, "partial", 7, 1);
    buf_set(why, "error reading queue file: malformed content");
    return -1;
}

static void message_init(smtp_message_t *m, smtp_rcpt_t *r, size_t n, const char *const *addrs)
{
    memset(m, 0, sizeof(*m));
    memset(r, 0, n * sizeof(*r));
    for (size_t i = 0; i < n; i++)
        r[i].address = addrs[i];
    m->sender = "robert@example.test";
    m->size = 1234;
    m->rcpts = r;
    m->rcpt_count = n;
    m->content = write_body;
}

static void release_rcpts(smtp_rcpt_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        smtp_reply_release(&r[i].reply);
}

static void test_pipelined_transaction(void **state)
{
    fake_t f = { "220 mx.test ESMTP\r\n", EHLO_FULL, NULL, "250 2.1.0 Ok\r\n",
                 "354 End data with <CR><LF>.<CR><LF>\r\n",
                 { "250 2.0.0 Ok: queued as ABC123\r\n" }, 0 };
    static const char *const addrs[] = { "ok@remote.test", "defer@remote.test",
                                         "reject@remote.test", "a b@remote.test" };
    smtp_rcpt_t r[4];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT, reason = BUF_INIT;
    smtp_conn_t *c;
    smtp_reply_t hr;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    assert_true(c->features & SMTP_FEATURE_PIPELINING);
    assert_true(c->features & SMTP_FEATURE_DSN);
    assert_int_equal(c->size_limit, 10240000);
    message_init(&m, r, 4, addrs);
    m.body_8bit = 1;
    assert_int_equal(smtp_transaction(c, &m), 0);

    assert_int_equal(r[0].reply.code, 250);
    assert_string_equal(r[0].reply.dsn, "2.0.0");
    assert_string_equal(buf_str(&r[0].reply.text), "250 2.0.0 Ok: queued as ABC123");
    assert_string_equal(r[0].command, "end of DATA");
    assert_int_equal(r[1].reply.code, 450);
    assert_string_equal(r[1].reply.dsn, "4.2.0");
    smtp_reply_reason(c, &r[1].reply, r[1].command, &reason);
    assert_string_equal(buf_str(&reason), "host mx.test[192.0.2.1] said: 450 4.2.0 "
                        "<defer@x>: try again later (in reply to RCPT TO command)");
    assert_int_equal(r[2].reply.code, 550);
    assert_string_equal(r[2].reply.dsn, "5.1.1");
    assert_int_equal(r[3].reply.code, 250);
    smtp_quit(c);
    finish_server(c, &srv, &t);
    assert_string_equal(buf_str(&t),
                        "EHLO client.example.org\r\n"
                        "MAIL FROM:<robert@example.test> SIZE=1234 BODY=8BITMIME\r\n"
                        "[pipelined]\n"
                        "RCPT TO:<ok@remote.test>\r\n"
                        "RCPT TO:<defer@remote.test>\r\n"
                        "RCPT TO:<reject@remote.test>\r\n"
                        "RCPT TO:<\"a b\"@remote.test>\r\n"
                        "DATA\r\n"
                        "Subject: test\r\n\r\n..dot line\r\n.\r\n"
                        "QUIT\r\n");
    release_rcpts(r, 4);
    smtp_reply_release(&hr);
    buf_release(&t);
    buf_release(&reason);
}

static void test_one_at_a_time_and_no_data_when_all_rejected(void **state)
{
    fake_t f = { "220 mx.test ESMTP\r\n", EHLO_PLAIN, NULL, "250 2.1.0 Ok\r\n",
                 "354 go\r\n", { "250 2.0.0 Ok\r\n" }, 0 };
    static const char *const addrs[] = { "reject1@remote.test", "defer2@remote.test" };
    smtp_rcpt_t r[2];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t hr;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    assert_false(c->features & SMTP_FEATURE_PIPELINING);
    message_init(&m, r, 2, addrs);
    m.body_8bit = 1;
    m.dsn_ret = 1;
    r[0].notify = DSN_NOTIFY_SUCCESS;           /* DSN not offered: not sent */
    assert_int_equal(smtp_transaction(c, &m), 0);
    assert_int_equal(r[0].reply.code, 550);
    assert_string_equal(r[0].command, "RCPT TO");
    assert_int_equal(r[1].reply.code, 450);
    smtp_quit(c);
    finish_server(c, &srv, &t);
    assert_string_equal(buf_str(&t),
                        "EHLO client.example.org\r\n"
                        "MAIL FROM:<robert@example.test> BODY=8BITMIME\r\n"
                        "RCPT TO:<reject1@remote.test>\r\n"
                        "RCPT TO:<defer2@remote.test>\r\n"
                        "QUIT\r\n");
    release_rcpts(r, 2);
    smtp_reply_release(&hr);
    buf_release(&t);
}

static void test_lmtp_reply_per_recipient(void **state)
{
    fake_t f = { "220 lmtp.test LMTP\r\n", "250-lmtp.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n",
                 NULL, "250 2.1.0 Ok\r\n", "354 go\r\n",
                 { "250 2.0.0 <one@x> Saved\r\n", "452 4.2.2 <two@x> Quota exceeded\r\n",
                   "552 5.2.2 <three@x> Mailbox full\r\n" }, 0 };
    static const char *const addrs[] = { "one@x", "reject@x", "two@x", "three@x" };
    smtp_rcpt_t r[4];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t hr;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 1, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    message_init(&m, r, 4, addrs);
    assert_int_equal(smtp_transaction(c, &m), 0);
    assert_string_equal(buf_str(&r[0].reply.text), "250 2.0.0 <one@x> Saved");
    assert_int_equal(r[1].reply.code, 550);
    assert_string_equal(r[1].command, "RCPT TO");
    assert_int_equal(r[2].reply.code, 452);
    assert_string_equal(r[2].reply.dsn, "4.2.2");
    assert_string_equal(r[2].command, "end of DATA");
    assert_int_equal(r[3].reply.code, 552);
    smtp_quit(c);
    finish_server(c, &srv, &t);
    assert_true(strncmp(buf_str(&t), "LHLO client.example.org\r\n", 25) == 0);
    release_rcpts(r, 4);
    smtp_reply_release(&hr);
    buf_release(&t);
}

static void test_refused_greeting(void **state)
{
    fake_t f = { "554-5.7.1 mx.test\r\n554 5.7.1 go away\r\n", EHLO_FULL, NULL, NULL, NULL,
                 { NULL }, 0 };
    smtp_settings_t strict = settings;
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t r;
    smtp_conn_t *c;

    (void) state;
    smtp_reply_init(&r);
    c = start_server(&f, 0, &srv, &settings);
    assert_int_equal(smtp_handshake(c, &r), -1);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.dsn, "4.7.1");          /* smtp_skip_5xx_greeting */
    assert_string_equal(buf_str(&r.text), "host mx.test[192.0.2.1] refused to talk to me: "
                        "554-5.7.1 mx.test 554 5.7.1 go away");
    smtp_quit(c);
    finish_server(c, &srv, &t);
    assert_string_equal(buf_str(&t), "QUIT\r\n");

    strict.skip_5xx_greeting = 0;
    c = start_server(&f, 0, &srv, &strict);
    assert_int_equal(smtp_handshake(c, &r), -1);
    assert_string_equal(r.dsn, "5.7.1");
    buf_reset(&t);
    finish_server(c, &srv, &t);
    smtp_reply_release(&r);
    buf_release(&t);
}

static void test_helo_fallback(void **state)
{
    fake_t f = { "220 old.test\r\n", "502 5.5.2 Error: command not recognized\r\n",
                 "250 old.test\r\n", "250 Ok\r\n", "354 go\r\n", { "250 Ok\r\n" }, 0 };
    static const char *const addrs[] = { "ok@old.test" };
    smtp_rcpt_t r[1];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t hr;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    assert_int_equal(c->features, 0);
    message_init(&m, r, 1, addrs);
    m.body_8bit = 1;
    assert_int_equal(smtp_transaction(c, &m), 0);
    assert_int_equal(r[0].reply.code, 250);
    assert_string_equal(r[0].reply.dsn, "2.0.0");   /* derived: no enhanced code */
    smtp_quit(c);
    finish_server(c, &srv, &t);
    assert_true(strstr(buf_str(&t), "EHLO client.example.org\r\nHELO client.example.org\r\n"
                       "MAIL FROM:<robert@example.test>\r\n") != NULL);
    release_rcpts(r, 1);
    smtp_reply_release(&hr);
    buf_release(&t);
}

static void test_helo_refused(void **state)
{
    fake_t f = { "220 picky.test\r\n", "550 5.7.1 not you\r\n", "550 5.7.1 not you either\r\n",
                 NULL, NULL, { NULL }, 0 };
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t r;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&r);
    assert_int_equal(smtp_handshake(c, &r), -1);
    assert_string_equal(r.dsn, "5.7.1");
    assert_string_equal(buf_str(&r.text), "host mx.test[192.0.2.1] said: 550 5.7.1 not you "
                        "either (in reply to HELO command)");
    finish_server(c, &srv, &t);
    smtp_reply_release(&r);
    buf_release(&t);
}

static void test_mail_rejected(void **state)
{
    fake_t f = { "220 mx.test\r\n", EHLO_FULL, NULL, "452 4.3.1 Insufficient system storage\r\n",
                 "503 5.5.1 Error: need RCPT command\r\n", { NULL }, 0 };
    static const char *const addrs[] = { "a@x", "b@x" };
    smtp_rcpt_t r[2];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT, reason = BUF_INIT;
    smtp_reply_t hr;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    message_init(&m, r, 2, addrs);
    assert_int_equal(smtp_transaction(c, &m), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].reply.code, 452);
        smtp_reply_reason(c, &r[i].reply, r[i].command, &reason);
        assert_string_equal(buf_str(&reason), "host mx.test[192.0.2.1] said: 452 4.3.1 "
                            "Insufficient system storage (in reply to MAIL FROM command)");
    }
    smtp_quit(c);
    finish_server(c, &srv, &t);
    release_rcpts(r, 2);
    smtp_reply_release(&hr);
    buf_release(&t);
    buf_release(&reason);
}

static void test_lost_connection(void **state)
{
    fake_t f = { "220 mx.test\r\n", EHLO_PLAIN, NULL, "250 Ok\r\n", NULL, { NULL }, 1 };
    static const char *const addrs[] = { "a@x", "b@x" };
    smtp_rcpt_t r[2];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT, reason = BUF_INIT;
    smtp_reply_t hr;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    message_init(&m, r, 2, addrs);
    assert_int_equal(smtp_transaction(c, &m), -1);
    assert_true(c->broken);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].reply.code, 0);
        assert_string_equal(r[i].reply.dsn, "4.4.2");
        smtp_reply_reason(c, &r[i].reply, r[i].command, &reason);
        assert_string_equal(buf_str(&reason),
                            "lost connection with mx.test[192.0.2.1] while sending MAIL FROM");
    }
    smtp_quit(c);                                 /* a no-op on a broken connection */
    finish_server(c, &srv, &t);
    release_rcpts(r, 2);
    smtp_reply_release(&hr);
    buf_release(&t);
    buf_release(&reason);
}

static void test_size_limit_and_dsn_parameters(void **state)
{
    fake_t f = { "220 mx.test\r\n", "250-mx.test\r\n250-SIZE 1000\r\n250-DSN\r\n250 PIPELINING\r\n",
                 NULL, "250 Ok\r\n", "354 go\r\n", { "250 Ok\r\n" }, 0 };
    static const char *const addrs[] = { "a@x", "b@x" };
    smtp_rcpt_t r[2];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t hr;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    message_init(&m, r, 2, addrs);
    m.size = 5000;
    assert_int_equal(smtp_transaction(c, &m), 0);
    assert_string_equal(r[0].reply.dsn, "5.3.4");
    assert_string_equal(buf_str(&r[1].reply.text),
                        "message size 5000 exceeds size limit 1000 of server mx.test[192.0.2.1]");
    release_rcpts(r, 2);

    m.size = 900;
    m.dsn_ret = 2;
    m.envid = "id+1=2";
    r[0].notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE;
    r[0].orcpt = "rfc822;A+B@x";
    r[1].notify = DSN_NOTIFY_NEVER;
    assert_int_equal(smtp_transaction(c, &m), 0);
    assert_int_equal(r[0].reply.code, 250);
    smtp_quit(c);
    finish_server(c, &srv, &t);
    assert_string_equal(buf_str(&t),
                        "EHLO client.example.org\r\n"
                        "MAIL FROM:<robert@example.test> SIZE=900 RET=HDRS ENVID=id+2B1+3D2\r\n"
                        "[pipelined]\n"
                        "RCPT TO:<a@x> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;A+2BB@x\r\n"
                        "RCPT TO:<b@x> NOTIFY=NEVER\r\n"
                        "DATA\r\n"
                        "Subject: test\r\n\r\n..dot line\r\n.\r\n"
                        "QUIT\r\n");
    release_rcpts(r, 2);
    smtp_reply_release(&hr);
    buf_release(&t);
}

static void test_content_error_never_sends_the_dot(void **state)
{
    fake_t f = { "220 mx.test\r\n", EHLO_PLAIN, NULL, "250 Ok\r\n", "354 go\r\n",
                 { "250 Ok\r\n" }, 0 };
    static const char *const addrs[] = { "a@x" };
    smtp_rcpt_t r[1];
    smtp_message_t m;
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t hr;
    smtp_conn_t *c;

    (void) state;
    c = start_server(&f, 0, &srv, &settings);
    smtp_reply_init(&hr);
    assert_int_equal(smtp_handshake(c, &hr), 0);
    message_init(&m, r, 1, addrs);
    m.content = broken_body;
    assert_int_equal(smtp_transaction(c, &m), -1);
    assert_string_equal(r[0].reply.dsn, "4.3.0");
    assert_string_equal(buf_str(&r[0].reply.text), "error reading queue file: malformed content");
    finish_server(c, &srv, &t);
    assert_null(strstr(buf_str(&t), "\r\n.\r\n"));
    release_rcpts(r, 1);
    smtp_reply_release(&hr);
    buf_release(&t);
}

static void test_reply_parsing(void **state)
{
    fake_t f = { "220-mx.test first\r\n220 second\r\n", "250-mx.test\r\n251 wrong code\r\n",
                 NULL, NULL, NULL, { NULL }, 0 };
    server_t srv;
    buf_t t = BUF_INIT;
    smtp_reply_t r;
    smtp_conn_t *c;

    (void) state;
    smtp_reply_init(&r);
    c = start_server(&f, 0, &srv, &settings);
    assert_int_equal(smtp_read_reply(c, 5, "receiving the greeting", &r), 0);
    assert_int_equal(r.code, 220);
    assert_string_equal(r.dsn, "2.0.0");
    assert_string_equal(buf_str(&r.text), "220-mx.test first 220 second");
    stream_puts(c->stream, "EHLO x\r\n");
    assert_int_equal(stream_flush(c->stream), 0);
    /* A code that changes within a reply: out of step, never trusted. */
    assert_int_equal(smtp_read_reply(c, 5, "performing the EHLO handshake", &r), -1);
    assert_true(c->broken);
    assert_string_equal(r.dsn, "4.5.0");
    finish_server(c, &srv, &t);
    smtp_reply_release(&r);
    buf_release(&t);
}

static void test_connect_refused(void **state)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    dns_addr_t a;
    buf_t why = BUF_INIT, expect = BUF_INIT;
    unsigned port;

    (void) state;
    /* A port that was just free: bind, learn it, close. */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    assert_int_equal(dns_addr_parse("127.0.0.1", &a), 0);
    assert_null(smtp_connect_inet("127.0.0.1", &a, port, 0, &settings, &why));
    buf_printf(&expect, "connect to 127.0.0.1[127.0.0.1]:%u: Connection refused", port);
    assert_string_equal(buf_str(&why), buf_str(&expect));
    assert_null(smtp_connect_unix("host.test", "/nonexistent/socket", &settings, &why));
    assert_string_equal(buf_str(&why),
                        "connect to host.test[/nonexistent/socket]: No such file or directory");
    buf_release(&why);
    buf_release(&expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dest_forms),
        cmocka_unit_test(test_data_put),
        cmocka_unit_test(test_pipelined_transaction),
        cmocka_unit_test(test_one_at_a_time_and_no_data_when_all_rejected),
        cmocka_unit_test(test_lmtp_reply_per_recipient),
        cmocka_unit_test(test_refused_greeting),
        cmocka_unit_test(test_helo_fallback),
        cmocka_unit_test(test_helo_refused),
        cmocka_unit_test(test_mail_rejected),
        cmocka_unit_test(test_lost_connection),
        cmocka_unit_test(test_size_limit_and_dsn_parameters),
        cmocka_unit_test(test_content_error_never_sends_the_dot),
        cmocka_unit_test(test_reply_parsing),
        cmocka_unit_test(test_connect_refused),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
