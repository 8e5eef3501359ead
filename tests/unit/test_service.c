/* Unit tests for lib/service: service_init's argument parsing, config and
 * log set-up, queue directory, callbacks and privilege drop, and the
 * single-server loop under a fake master (alive pipe on fd 4, status pipe
 * on fd 5, a UNIX listener on fd 6). service_init changes the whole
 * process, so every case runs in a forked child against a temporary
 * MAIL_CONFIG whose main.cf points queue_directory and maillog_file into
 * a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "service.h"
#include "stream.h"

#define MAX_CASE_ARGS   24
#define CHILD_WAIT_MS   5000            /* how long a child may take to exit */
#define REPORT_FD       100             /* far from the fds master hands over */
#define HIGH_FD         64              /* scratch range while installing 4, 5, 6 */

static char tmpdir[] = "/tmp/test_service.XXXXXX";
static buf_t conf_dir = BUF_INIT;     /* holds main.cf */
static buf_t queue_dir = BUF_INIT;
static buf_t maillog = BUF_INIT;
static buf_t socket_path = BUF_INIT;
static uid_t expect_uid;                /* after the drop: nobody as root, else us */
static pid_t child_pid = -1;            /* killed by the teardown if still running */

/* ------------------------------------------------------------------ */
/* Child harness                                                       */
/* ------------------------------------------------------------------ */

/* One service_init case: the argument vector, how many listen fds the
 * fake master provides (-1: not under master, fds 4+ left closed), and
 * whether the daemon is privileged. */
typedef struct init_case {
    const char *argv[MAX_CASE_ARGS];
    int         listen_fds;
    int         privileged;
    const char *params[8];              /* config values to report afterwards */
} init_case_t;

static const init_case_t *current_case;
static buf_t child_report = BUF_INIT;   /* in the child only */

static int case_argc(const init_case_t *c)
{
    int n = 0;

    while (c->argv[n] != NULL)
        n++;
    return n;
}

/* Moves fd out of the way of 4, 5, 6... */
static int move_high(int fd)
{
    int high = fcntl(fd, F_DUPFD, HIGH_FD);

    if (high < 0)
        _exit(80);
    close(fd);
    return high;
}

static void flush_report(void)
{
    if (write(REPORT_FD, child_report.data ? child_report.data : "", child_report.len)
        != (ssize_t) child_report.len)
        _exit(81);
}

static void report_cwd_euid(const char *label)
{
    char cwd[512];

    buf_printf(&child_report, "%s euid=%ld cwd=%s\n", label, (long) geteuid(),
               getcwd(cwd, sizeof(cwd)) ? cwd : "?");
}

static void on_pre_jail(service_t *svc)
{
    (void) svc;
    report_cwd_euid("pre_jail");
}

static void on_post_init(service_t *svc)
{
    (void) svc;
    report_cwd_euid("post_init");
}

static void report_service(const service_t *svc)
{
    struct sigaction sa;

    buf_printf(&child_report, "name=%s type=%s unpriv=%d chrooted=%d single=%d listen=%d fds=",
               svc->name, svc->type, svc->unpriv, svc->chrooted, svc->single, svc->listen_count);
    for (int i = 0; i < svc->listen_count; i++)
        buf_printf(&child_report, "%s%d", i ? "," : "", svc->listen_fds[i]);
    buf_puts(&child_report, " args=");
    for (size_t i = 0; i < svc->args->argc; i++)
        buf_printf(&child_report, "%s%s", i ? "|" : "", svc->args->argv[i]);
    buf_printf(&child_report, " verbose=%d\n", msg_verbose);
    for (int fd = 4; fd < 6 + svc->listen_count && svc->listen_count > 0; fd++)
        buf_printf(&child_report, "cloexec %d=%d\n", fd, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    sigaction(SIGPIPE, NULL, &sa);
    buf_printf(&child_report, "sigpipe=%s\n", sa.sa_handler == SIG_IGN ? "ignored" : "default");
    report_cwd_euid("after");
}

/* The child of an init case: fake master fds, service_init, report. */
static void init_child(void)
{
    const init_case_t *c = current_case;
    service_opts_t opts = { on_pre_jail, on_post_init, c->privileged };
    char *argv[MAX_CASE_ARGS];
    service_t svc;
    int argc = case_argc(c);

    for (int i = 0; i <= argc; i++)
        argv[i] = (char *) c->argv[i];
    for (int fd = 4; c->listen_fds >= 0 && fd < 6 + c->listen_fds; fd++) {
        int null = open("/dev/null", O_RDWR);

        if (null < 0 || (null != fd && (dup2(null, fd) < 0 || close(null) < 0)))
            _exit(82);
    }
    service_init(&svc, argc, argv, "testd", &opts);
    report_service(&svc);
    msg_info("hello from %s", svc.name);
    for (int i = 0; c->params[i] != NULL; i++)
        buf_printf(&child_report, "param %s=%s\n", c->params[i], config_str(c->params[i]));
    flush_report();
    _exit(0);
}

/* Forks fn with stderr and the report captured; returns the wait status
 * and fills report, err and log (the maillog file). */
static int run_child(void (*fn)(void), buf_t *report, buf_t *err, buf_t *log)
{
    char rpath[] = "/tmp/test_service.rep.XXXXXX";
    char epath[] = "/tmp/test_service.err.XXXXXX";
    int rfd = mkstemp(rpath), efd = mkstemp(epath);
    int status = -1;
    pid_t pid;

    assert_true(rfd >= 0);
    assert_true(efd >= 0);
    unlink(maillog.data);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(rfd, REPORT_FD) < 0 || dup2(efd, 2) < 0)
            _exit(83);
        close(rfd);
        close(efd);
        fn();
        _exit(84);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    buf_reset(report);
    buf_reset(err);
    buf_reset(log);
    assert_int_equal(buf_read_file(report, rpath, 65536), 0);
    assert_int_equal(buf_read_file(err, epath, 65536), 0);
    if (buf_read_file(log, maillog.data, 65536) < 0)
        buf_reset(log);
    unlink(rpath);
    unlink(epath);
    close(rfd);
    close(efd);
    return status;
}

static int run_init_case(const init_case_t *c, buf_t *report, buf_t *err, buf_t *log)
{
    int status;

    current_case = c;
    status = run_child(init_child, report, err, log);
    if (getenv("TEST_VERBOSE"))
        print_message("status %#x\nreport:\n%sstderr:\n%slog:\n%s", status,
                      buf_str(report), buf_str(err), buf_str(log));
    return status;
}

static void expect_in(const buf_t *text, const char *what, const char *where)
{
    if (strstr(buf_str(text), what) == NULL)
        print_error("%s:\n%s\nwanted: %s\n", where, buf_str(text), what);
    assert_non_null(strstr(buf_str(text), what));
}

static void expect_success(const init_case_t *c, buf_t *report, buf_t *log)
{
    buf_t err = BUF_INIT;
    int status = run_init_case(c, report, &err, log);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_error("child status %#x, stderr:\n%s\nlog:\n%s\n", status, buf_str(&err), buf_str(log));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    buf_release(&err);
}

/* Exit status 1 and the message in stderr or (under master) the mail log. */
static void expect_fatal(const init_case_t *c, const char *message, int in_log)
{
    buf_t report = BUF_INIT, err = BUF_INIT, log = BUF_INIT;
    int status = run_init_case(c, &report, &err, &log);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        print_error("child status %#x, stderr:\n%s\n", status, buf_str(&err));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_string_equal(buf_str(&report), "");
    expect_in(in_log ? &log : &err, message, in_log ? "mail log" : "stderr");
    buf_release(&report);
    buf_release(&err);
    buf_release(&log);
}

/* ------------------------------------------------------------------ */
/* service_init                                                        */
/* ------------------------------------------------------------------ */

static void test_init_master_arguments(void **state)
{
    static const init_case_t c = {
        { "testd", "-n", "mysvc", "-t", "unix", "-u", "-l", "-z", "-s", "2",
          "extra1", "-x", "last word", NULL },
        2, 0, { NULL },
    };
    buf_t report = BUF_INIT, log = BUF_INIT, want = BUF_INIT;

    (void) state;
    expect_success(&c, &report, &log);
    /* Options stop at the first non-option: "-x" is a master.cf argument. */
    expect_in(&report, "name=mysvc type=unix unpriv=1 chrooted=0 single=1 listen=2 fds=6,7 "
              "args=extra1|-x|last word verbose=0\n", "report");
    /* Descriptors from master must not leak into programs the daemon runs. */
    expect_in(&report, "cloexec 4=1\ncloexec 5=1\ncloexec 6=1\ncloexec 7=1\n", "report");
    expect_in(&report, "sigpipe=ignored\n", "report");
    buf_printf(&want, "after euid=%ld cwd=%s\n", (long) expect_uid, queue_dir.data);
    expect_in(&report, want.data, "report");
    /* Under master, the mail log gets the daemon's lines with its tag. */
    buf_reset(&want);
    buf_printf(&want, " postfix/testd[");
    expect_in(&log, want.data, "mail log");
    expect_in(&log, "]: hello from mysvc\n", "mail log");
    buf_release(&report);
    buf_release(&log);
    buf_release(&want);
}

static void test_init_overrides(void **state)
{
    static const init_case_t c = {
        { "testd", "-v", "-o", "max_idle=7", "-o", "{ smtpd_banner = hello  world }",
          "-o", "syslog_name=postfix-test/$service_name", "-o", "  max_use = 3 ",
          "-o", "stress=", NULL },
        -1, 0, { "max_idle", "max_use", "smtpd_banner", "syslog_name", "stress", "myhostname", NULL },
    };
    buf_t report = BUF_INIT, log = BUF_INIT;

    (void) state;
    expect_success(&c, &report, &log);
    /* Stand-alone: no type, no listener, the program name as service name. */
    expect_in(&report, "name=testd type= unpriv=0 chrooted=0 single=0 listen=0 fds= args= verbose=1\n",
              "report");
    /* -o wins over main.cf (max_idle = 50 there); both -o forms; blanks trimmed. */
    expect_in(&report, "param max_idle=7\n", "report");
    expect_in(&report, "param max_use=3\n", "report");
    expect_in(&report, "param smtpd_banner=hello  world\n", "report");
    expect_in(&report, "param syslog_name=postfix-test/testd\n", "report");
    expect_in(&report, "param stress=\n", "report");
    /* main.cf values without an override are kept. */
    expect_in(&report, "param myhostname=mail.example.test\n", "report");
    /* The log tag follows the overridden syslog_name. */
    expect_in(&log, " postfix-test/testd[", "mail log");
    expect_in(&log, "]: hello from testd\n", "mail log");
    buf_release(&report);
    buf_release(&log);
}

/* pre_jail runs with full rights in the queue directory, post_init after
 * the drop; a privileged daemon keeps root. */
static void test_init_callbacks_and_privileges(void **state)
{
    static const init_case_t unpriv = { { "testd", NULL }, -1, 0, { NULL } };
    static const init_case_t priv = { { "testd", NULL }, -1, 1, { NULL } };
    buf_t report = BUF_INIT, log = BUF_INIT, want = BUF_INIT;

    (void) state;
    expect_success(&unpriv, &report, &log);
    buf_printf(&want, "pre_jail euid=%ld cwd=%s\npost_init euid=%ld cwd=%s\n",
               (long) geteuid(), queue_dir.data, (long) expect_uid, queue_dir.data);
    expect_in(&report, want.data, "report");

    expect_success(&priv, &report, &log);
    buf_reset(&want);
    buf_printf(&want, "pre_jail euid=%ld cwd=%s\npost_init euid=%ld cwd=%s\n",
               (long) geteuid(), queue_dir.data, (long) geteuid(), queue_dir.data);
    expect_in(&report, want.data, "report");
    buf_release(&report);
    buf_release(&log);
    buf_release(&want);
}

static void test_init_bad_overrides(void **state)
{
    static const init_case_t no_equal = { { "testd", "-o", "novalue", NULL }, -1, 0, { NULL } };
    static const init_case_t no_brace = { { "testd", "-o", "{ a = b", NULL }, -1, 0, { NULL } };
    static const init_case_t no_name = { { "testd", "-o", " = b", NULL }, -1, 0, { NULL } };
    static const init_case_t brace_no_eq = { { "testd", "-o", "{ a }", NULL }, -1, 0, { NULL } };

    (void) state;
    expect_fatal(&no_equal, "fatal: -o novalue: expected name=value", 0);
    expect_fatal(&no_brace, "fatal: -o { a = b: missing '}'", 0);
    expect_fatal(&no_name, "fatal: -o  = b: empty parameter name", 0);
    expect_fatal(&brace_no_eq, "expected name=value", 0);
}

static void test_init_bad_listen_count(void **state)
{
    static const init_case_t zero = { { "testd", "-t", "unix", "-s", "0", NULL }, 1, 0, { NULL } };
    static const init_case_t many = { { "testd", "-t", "unix", "-s", "17", NULL }, 1, 0, { NULL } };
    static const init_case_t text = { { "testd", "-t", "unix", "-s", "2x", NULL }, 1, 0, { NULL } };

    (void) state;
    expect_fatal(&zero, "fatal: -s 0: the listen descriptor count must be 1..16", 0);
    expect_fatal(&many, "fatal: -s 17: the listen descriptor count must be 1..16", 0);
    expect_fatal(&text, "fatal: -s 2x: ", 0);
}

static void test_init_missing_descriptors(void **state)
{
    /* -s 2, but master gave only fd 6. -d (master in the foreground)
     * keeps stderr, where this early error goes. */
    static const init_case_t c = { { "testd", "-d", "-t", "unix", "-s", "2", NULL }, 1, 0, { NULL } };
    static const init_case_t none = { { "testd", "-d", "-t", "unix", NULL }, -1, 0, { NULL } };

    (void) state;
    expect_fatal(&c, "fatal: descriptor 7 from master is not open", 0);
    expect_fatal(&none, "fatal: descriptor 4 from master is not open", 0);
}

/* An unknown option is reported once the mail log is open: under master
 * stderr goes nowhere, so the log is where it must appear. */
static void test_init_bad_option(void **state)
{
    static const init_case_t master = { { "testd", "-t", "unix", "-Q", NULL }, 1, 0, { NULL } };
    static const init_case_t alone = { { "testd", "-Q", NULL }, -1, 0, { NULL } };
    buf_t report = BUF_INIT, err = BUF_INIT, log = BUF_INIT;

    (void) state;
    expect_fatal(&master, "fatal: invalid option -- 'Q'", 1);
    /* ... and not on stderr under master. */
    run_init_case(&master, &report, &err, &log);
    assert_null(strstr(buf_str(&err), "invalid option"));
    expect_fatal(&alone, "fatal: invalid option -- 'Q'", 0);
    buf_release(&report);
    buf_release(&err);
    buf_release(&log);
}

static void test_init_bad_config(void **state)
{
    static const init_case_t root_owner = {
        { "testd", "-o", "mail_owner=root", NULL }, -1, 0, { NULL } };
    static const init_case_t no_queue = {
        { "testd", "-o", "queue_directory=/nonexistent/facteur-queue", NULL }, -1, 0, { NULL } };
    static const init_case_t plain = { { "testd", NULL }, -1, 0, { NULL } };
    buf_t empty = BUF_INIT, want = BUF_INIT;

    (void) state;
    expect_fatal(&no_queue, "fatal: chdir(/nonexistent/facteur-queue): No such file or directory", 0);
    if (geteuid() == 0)
        expect_fatal(&root_owner, "fatal: mail_owner root has the privileged user ID 0", 0);

    /* MAIL_CONFIG naming a directory without main.cf. */
    buf_printf(&empty, "%s/empty", tmpdir);
    assert_int_equal(mkdir(empty.data, 0755), 0);
    assert_int_equal(setenv("MAIL_CONFIG", empty.data, 1), 0);
    buf_printf(&want, "fatal: open %s/main.cf: No such file or directory", empty.data);
    expect_fatal(&plain, want.data, 0);
    assert_int_equal(setenv("MAIL_CONFIG", conf_dir.data, 1), 0);
    rmdir(empty.data);
    buf_release(&empty);
    buf_release(&want);
}

/* ------------------------------------------------------------------ */
/* single_server_run under a fake master                               */
/* ------------------------------------------------------------------ */

/* The fake master's ends: alive pipe write end, status pipe read end. */
typedef struct fake_master {
    pid_t pid;
    int   alive_w;
    int   status_r;
} fake_master_t;

static const char *server_args[MAX_CASE_ARGS];
static int server_alive_r, server_alive_w, server_status_r, server_status_w, server_listen;

/* Answers one line: "pid=P use=N line=TEXT". */
static void serve_echo(service_t *svc, stream_t *client)
{
    buf_t line = BUF_INIT;

    stream_set_timeout(client, 5);
    if (stream_get_line(client, &line, 100) == STREAM_LINE) {
        buf_trim_right(&line);
        stream_printf(client, "pid=%ld use=%d line=%s\n", (long) getpid(), svc->use_count,
                      buf_str(&line));
        (void) stream_flush(client);
    }
    buf_release(&line);
}

/* Installs the fake master's descriptors at 4, 5 and 6, then runs the
 * daemon. */
static void server_child(void)
{
    char *argv[MAX_CASE_ARGS];
    service_opts_t opts = { NULL, NULL, 0 };
    service_t svc;
    int alive = move_high(server_alive_r);
    int status = move_high(server_status_w);
    int lfd = move_high(server_listen);
    int argc = 0;

    /* The child must not hold the master's ends, or EOF never comes. */
    close(server_alive_w);
    close(server_status_r);
    if (dup2(alive, IPC_ALIVE_FD) < 0 || dup2(status, IPC_STATUS_FD) < 0
        || dup2(lfd, IPC_LISTEN_FD) < 0)
        _exit(85);
    close(alive);
    close(status);
    close(lfd);
    while (server_args[argc] != NULL) {
        argv[argc] = (char *) server_args[argc];
        argc++;
    }
    argv[argc] = NULL;
    if (setenv("GENERATION", "017", 1) < 0)
        _exit(86);
    service_init(&svc, argc, argv, "testd", &opts);
    single_server_run(&svc, serve_echo);
}

/* Starts a daemon with "-t unix -n echo" plus extra (NULL-terminated). */
static void start_server(fake_master_t *m, const char *const *extra)
{
    int alive[2], status[2], n = 0;

    server_args[n++] = "testd";
    server_args[n++] = "-t";
    server_args[n++] = "unix";
    server_args[n++] = "-n";
    server_args[n++] = "echo";
    for (int i = 0; extra && extra[i] && n < MAX_CASE_ARGS - 1; i++)
        server_args[n++] = extra[i];
    server_args[n] = NULL;

    server_listen = unix_listen(socket_path.data, 0666, 10);
    assert_true(server_listen >= 0);
    assert_int_equal(pipe(alive), 0);
    assert_int_equal(pipe(status), 0);
    server_alive_r = alive[0];
    server_alive_w = alive[1];
    server_status_r = status[0];
    server_status_w = status[1];
    fflush(stdout);
    fflush(stderr);
    m->pid = fork();
    assert_true(m->pid >= 0);
    if (m->pid == 0)
        server_child();
    child_pid = m->pid;
    /* Only the child keeps the listener: once it exits, connects fail. */
    close(server_listen);
    close(alive[0]);
    close(status[1]);
    m->alive_w = alive[1];
    m->status_r = status[0];
}

/* Waits up to ms for the child; returns its wait status, or -1 if it is
 * still running. */
static int wait_child(fake_master_t *m, int ms)
{
    int status;

    for (int waited = 0; waited <= ms; waited += 10) {
        pid_t r = waitpid(m->pid, &status, WNOHANG);

        assert_true(r >= 0);
        if (r == m->pid) {
            child_pid = -1;
            return status;
        }
        usleep(10000);
    }
    return -1;
}

static void expect_exit_0(fake_master_t *m)
{
    int status = wait_child(m, CHILD_WAIT_MS);

    if (status == -1)
        print_error("the daemon did not exit\n");
    assert_int_not_equal(status, -1);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_error("daemon status %#x\n", status);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void stop_master(fake_master_t *m)
{
    if (m->alive_w >= 0)
        close(m->alive_w);
    if (m->status_r >= 0)
        close(m->status_r);
    m->alive_w = m->status_r = -1;
}

/* One client conversation; returns the reply (caller frees) or NULL. */
static char *talk(const char *text)
{
    int fd = unix_connect(socket_path.data, 2);
    stream_t *s;
    buf_t reply = BUF_INIT;

    if (fd < 0)
        return NULL;
    s = stream_fdopen(fd);
    stream_set_timeout(s, 5);
    stream_printf(s, "%s\n", text);
    if (stream_flush(s) == 0)
        (void) stream_get_line(s, &reply, 200);
    stream_close(s);
    return buf_steal(&reply);
}

/* The next status record, within a few seconds: 0, or -1 on EOF/timeout. */
static int read_status(fake_master_t *m, ipc_status_t *st)
{
    struct pollfd pfd = { m->status_r, POLLIN, 0 };
    size_t got = 0;

    while (got < sizeof(*st)) {
        ssize_t n;

        if (poll(&pfd, 1, CHILD_WAIT_MS) != 1)
            return -1;
        n = read(m->status_r, (char *) st + got, sizeof(*st) - got);
        if (n <= 0)
            return -1;
        got += (size_t) n;
    }
    return 0;
}

static void expect_status(fake_master_t *m, int avail)
{
    ipc_status_t st;

    assert_int_equal(read_status(m, &st), 0);
    assert_int_equal(st.pid, m->pid);
    assert_int_equal(st.generation, 017);
    assert_int_equal(st.avail, avail);
}

static void expect_served(fake_master_t *m, const char *text, int use)
{
    char want[256];
    char *reply = talk(text);

    snprintf(want, sizeof(want), "pid=%ld use=%d line=%s\n", (long) m->pid, use, text);
    assert_non_null(reply);
    assert_string_equal(reply, want);
    free(reply);
}

/* A client is served, with taken/available records around it; closing
 * the alive pipe makes the daemon exit 0. */
static void test_single_server_serves(void **state)
{
    static const char *const extra[] = { "-o", "max_idle=30", NULL };
    fake_master_t m;

    (void) state;
    start_server(&m, extra);
    expect_served(&m, "hello", 1);
    expect_status(&m, IPC_STATUS_TAKEN);
    expect_status(&m, IPC_STATUS_AVAIL);
    expect_served(&m, "again", 2);
    expect_status(&m, IPC_STATUS_TAKEN);
    expect_status(&m, IPC_STATUS_AVAIL);
    assert_int_equal(wait_child(&m, 200), -1);      /* still waiting for clients */
    close(m.alive_w);
    m.alive_w = -1;
    expect_exit_0(&m);
    stop_master(&m);
}

/* max_use=2 from -o: two clients, then exit without master's help. */
static void test_single_server_max_use(void **state)
{
    static const char *const extra[] = { "-o", "max_use=2", "-o", "max_idle=30", NULL };
    fake_master_t m;
    ipc_status_t st;
    char *reply;

    (void) state;
    start_server(&m, extra);
    expect_served(&m, "one", 1);
    expect_status(&m, IPC_STATUS_TAKEN);
    expect_status(&m, IPC_STATUS_AVAIL);
    assert_int_equal(wait_child(&m, 200), -1);      /* one client is not enough */
    expect_served(&m, "two", 2);
    expect_status(&m, IPC_STATUS_TAKEN);
    expect_status(&m, IPC_STATUS_AVAIL);
    expect_exit_0(&m);
    assert_int_equal(read_status(&m, &st), -1);     /* nothing more: EOF */
    /* Nobody listens any more. */
    reply = talk("three");
    assert_null(reply);
    assert_int_equal(errno, ECONNREFUSED);
    stop_master(&m);
}

/* max_idle: no client for that long and the daemon exits 0 by itself. */
static void test_single_server_max_idle(void **state)
{
    static const char *const extra[] = { "-o", "max_idle=1", NULL };
    fake_master_t m;
    ipc_status_t st;
    time_t t0 = time(NULL);

    (void) state;
    start_server(&m, extra);
    expect_exit_0(&m);
    assert_true(time(NULL) - t0 >= 1);
    assert_int_equal(read_status(&m, &st), -1);
    stop_master(&m);
}

/* master gone (status pipe closed): the report fails with EPIPE and the
 * daemon exits 0 instead of dying from SIGPIPE or serving on. */
static void test_single_server_status_pipe_closed(void **state)
{
    static const char *const extra[] = { "-o", "max_idle=30", NULL };
    fake_master_t m;
    char *reply;

    (void) state;
    start_server(&m, extra);
    close(m.status_r);
    m.status_r = -1;
    reply = talk("hello");
    expect_exit_0(&m);
    /* The client got no answer: the daemon left before serving it. */
    assert_true(reply == NULL || *reply == 0);
    free(reply);
    stop_master(&m);
}

/* Run by hand (no -t): one client on fd 0, then exit 0. */
static int standalone_fd;

static void standalone_child(void)
{
    char *argv[] = { "testd", "-o", "max_idle=30", NULL };
    service_opts_t opts = { NULL, NULL, 0 };
    service_t svc;

    if (dup2(standalone_fd, 0) < 0)
        _exit(87);
    service_init(&svc, 3, argv, "testd", &opts);
    single_server_run(&svc, serve_echo);
}

static void test_single_server_standalone(void **state)
{
    fake_master_t m = { -1, -1, -1 };
    int sp[2];
    char want[128], got[128];
    ssize_t n;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    standalone_fd = sp[1];
    fflush(stdout);
    fflush(stderr);
    m.pid = fork();
    assert_true(m.pid >= 0);
    if (m.pid == 0) {
        close(sp[0]);
        standalone_child();
    }
    child_pid = m.pid;
    close(sp[1]);
    /* send(MSG_NOSIGNAL): a daemon that left early must fail the test,
     * not kill it with SIGPIPE. */
    assert_int_equal(send(sp[0], "by hand\n", 8, MSG_NOSIGNAL), 8);
    expect_exit_0(&m);
    n = read(sp[0], got, sizeof(got) - 1);
    assert_true(n > 0);
    got[n] = 0;
    snprintf(want, sizeof(want), "pid=%ld use=1 line=by hand\n", (long) m.pid);
    assert_string_equal(got, want);
    close(sp[0]);
}

/* ------------------------------------------------------------------ */

static int kill_leftover_child(void **state)
{
    (void) state;
    if (child_pid > 0) {
        kill(child_pid, SIGKILL);
        waitpid(child_pid, NULL, 0);
        child_pid = -1;
    }
    return 0;
}

static int write_main_cf(void)
{
    buf_t path = BUF_INIT, text = BUF_INIT;
    FILE *f;
    int ok;

    buf_printf(&path, "%s/main.cf", conf_dir.data);
    buf_printf(&text,
               "# written by test_service\n"
               "queue_directory = %s\n"
               "maillog_file = %s\n"
               "mail_owner = nobody\n"
               "myhostname = mail.example.test\n"
               "max_idle = 50\n",
               queue_dir.data, maillog.data);
    f = fopen(path.data, "w");
    ok = f != NULL && fwrite(text.data, 1, text.len, f) == text.len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    buf_release(&path);
    buf_release(&text);
    return ok ? 0 : -1;
}

static int group_setup(void **state)
{
    struct passwd *pw;

    (void) state;
    if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) < 0)
        return -1;
    buf_printf(&conf_dir, "%s/etc", tmpdir);
    buf_printf(&queue_dir, "%s/queue", tmpdir);
    buf_printf(&maillog, "%s/maillog", tmpdir);
    buf_printf(&socket_path, "%s/queue/echo.sock", tmpdir);
    if (mkdir(conf_dir.data, 0755) < 0 || mkdir(queue_dir.data, 0755) < 0)
        return -1;
    if (write_main_cf() < 0 || setenv("MAIL_CONFIG", conf_dir.data, 1) < 0)
        return -1;
    /* As root the daemon becomes mail_owner (nobody); otherwise it keeps
     * the caller's identity. */
    expect_uid = geteuid();
    if (geteuid() == 0) {
        if ((pw = getpwnam("nobody")) == NULL)
            return -1;
        expect_uid = pw->pw_uid;
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_master_arguments),
        cmocka_unit_test(test_init_overrides),
        cmocka_unit_test(test_init_callbacks_and_privileges),
        cmocka_unit_test(test_init_bad_overrides),
        cmocka_unit_test(test_init_bad_listen_count),
        cmocka_unit_test(test_init_missing_descriptors),
        cmocka_unit_test(test_init_bad_option),
        cmocka_unit_test(test_init_bad_config),
        cmocka_unit_test_teardown(test_single_server_serves, kill_leftover_child),
        cmocka_unit_test_teardown(test_single_server_max_use, kill_leftover_child),
        cmocka_unit_test_teardown(test_single_server_max_idle, kill_leftover_child),
        cmocka_unit_test_teardown(test_single_server_status_pipe_closed, kill_leftover_child),
        cmocka_unit_test_teardown(test_single_server_standalone, kill_leftover_child),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
