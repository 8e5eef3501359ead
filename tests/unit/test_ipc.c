/* Unit tests for lib/ipc: UNIX listen/connect (modes, stale sockets,
 * bounded connect), inet listen, socket and fifo triggers, fd helpers.
 * (lib/cleanup_client has its own, test_cleanup_client.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "ipc.h"

static char tmpdir[] = "/tmp/test_ipc.XXXXXX";

static const char *path_in_tmp(buf_t *b, const char *name)
{
    buf_reset(b);
    buf_printf(b, "%s/%s", tmpdir, name);
    return b->data;
}

static void test_unix_listen_connect(void **state)
{
    buf_t path = BUF_INIT;
    struct stat st;
    int lfd, cfd, afd;
    char c = 0;

    (void) state;
    path_in_tmp(&path, "sock");
    lfd = unix_listen(path.data, 0622, 10);
    assert_true(lfd >= 0);
    assert_int_equal(stat(path.data, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0622);
    assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);

    cfd = unix_connect(path.data, 2);
    assert_true(cfd >= 0);
    afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    assert_int_equal(write_all(cfd, "x", 1), 0);
    assert_int_equal(read(afd, &c, 1), 1);
    assert_int_equal(c, 'x');
    close(afd);
    close(cfd);
    close(lfd);

    /* A stale socket from a previous run is replaced. */
    lfd = unix_listen(path.data, 0666, 10);
    assert_true(lfd >= 0);
    close(lfd);
    buf_release(&path);
}

static void test_unix_listen_refuses_non_socket(void **state)
{
    buf_t path = BUF_INIT;
    int fd;

    (void) state;
    path_in_tmp(&path, "plainfile");
    fd = open(path.data, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(unix_listen(path.data, 0666, 10), -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(access(path.data, F_OK), 0);     /* not removed */
    buf_release(&path);
}

static void test_unix_connect_errors(void **state)
{
    buf_t path = BUF_INIT;
    char longpath[200];

    (void) state;
    assert_int_equal(unix_connect(path_in_tmp(&path, "nothing"), 1), -1);
    assert_int_equal(errno, ENOENT);
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
    assert_int_equal(unix_connect(longpath, 1), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    buf_release(&path);
}

/* A server that never accepts: once its backlog is full, a connect with
 * a timeout gives up after about that long instead of hanging. */
static void test_unix_connect_timeout(void **state)
{
    buf_t path = BUF_INIT;
    int lfd, fds[16], n, failed = -1;
    struct timeval t0, t1;

    (void) state;
    lfd = unix_listen(path_in_tmp(&path, "full"), 0666, 0);
    assert_true(lfd >= 0);
    gettimeofday(&t0, NULL);
    for (n = 0; n < 16; n++) {
        fds[n] = unix_connect(path.data, 1);
        if (fds[n] < 0) {
            failed = errno;
            break;
        }
    }
    gettimeofday(&t1, NULL);
    assert_true(n < 16);
    assert_int_equal(failed, ETIMEDOUT);
    assert_true(t1.tv_sec - t0.tv_sec <= 3);
    while (n-- > 0)
        close(fds[n]);
    close(lfd);
    buf_release(&path);
}

static void test_inet_listen(void **state)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd, on = 0;
    socklen_t olen = sizeof(on);

    (void) state;
    fd = inet_listen("127.0.0.1", "0", AF_INET, 10);
    assert_true(fd >= 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    assert_int_equal(sin.sin_family, AF_INET);
    assert_int_equal(ntohl(sin.sin_addr.s_addr), 0x7f000001);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, &olen), 0);
    assert_true(on);
    close(fd);

    fd = inet_listen("all", "0", AF_INET, 10);
    assert_true(fd >= 0);
    len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    assert_int_equal(sin.sin_addr.s_addr, htonl(INADDR_ANY));
    close(fd);

    assert_int_equal(inet_listen("not an address..", "0", AF_INET, 10), -1);
}

static void test_inet6_v6only(void **state)
{
    int fd, on = 0;
    socklen_t olen = sizeof(on);

    (void) state;
    fd = inet_listen("::1", "0", AF_INET6, 10);
    if (fd < 0)
        skip();                               /* no IPv6 here */
    assert_int_equal(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, &olen), 0);
    assert_true(on);
    close(fd);
}

static void test_trigger_socket(void **state)
{
    buf_t path = BUF_INIT;
    char got[16];
    int lfd, afd;

    (void) state;
    lfd = unix_listen(path_in_tmp(&path, "qmgr"), 0666, 10);
    assert_true(lfd >= 0);
    assert_int_equal(trigger_send(path.data, "NABC123\n", 8), 0);
    afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    assert_int_equal(read(afd, got, sizeof(got)), 8);
    assert_memory_equal(got, "NABC123\n", 8);
    assert_int_equal(read(afd, got, sizeof(got)), 0);   /* the client closed */
    close(afd);
    close(lfd);
    assert_int_equal(trigger_send(path_in_tmp(&path, "nosuch"), "W", 1), -1);
    buf_release(&path);
}

static void test_trigger_fifo(void **state)
{
    buf_t path = BUF_INIT;
    char got[4];
    int rfd;

    (void) state;
    assert_int_equal(mkfifo(path_in_tmp(&path, "fifo"), 0622), 0);
    /* No reader: fails at once instead of blocking. */
    assert_int_equal(trigger_send(path.data, "W", 1), -1);
    assert_int_equal(errno, ENXIO);
    rfd = open(path.data, O_RDONLY | O_NONBLOCK);
    assert_true(rfd >= 0);
    assert_int_equal(trigger_send(path.data, "W", 1), 0);
    assert_int_equal(read(rfd, got, sizeof(got)), 1);
    assert_int_equal(got[0], 'W');
    close(rfd);
    buf_release(&path);
}

static void test_fd_helpers(void **state)
{
    int p[2];
    char big[300000];
    ssize_t total = 0, n;

    (void) state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(fd_set_cloexec(p[0], 1), 0);
    assert_true(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
    assert_int_equal(fd_set_cloexec(p[0], 0), 0);
    assert_false(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
    assert_int_equal(fd_set_nonblock(p[0], 1), 0);
    assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    assert_int_equal(read(p[0], big, 1), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(fd_set_nonblock(p[0], 0), 0);
    assert_false(fcntl(p[0], F_GETFL) & O_NONBLOCK);

    /* write_all pushes more than a pipe holds while a child drains it. */
    memset(big, 'z', sizeof(big));
    if (fork() == 0) {
        close(p[0]);
        _exit(write_all(p[1], big, sizeof(big)) == 0 ? 0 : 1);
    }
    close(p[1]);
    while ((n = read(p[0], big, sizeof(big))) > 0)
        total += n;
    assert_int_equal(total, (ssize_t) sizeof(big));
    close(p[0]);
    assert_int_equal(write_all(-1, "x", 1), -1);
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
        cmocka_unit_test(test_unix_listen_connect),
        cmocka_unit_test(test_unix_listen_refuses_non_socket),
        cmocka_unit_test(test_unix_connect_errors),
        cmocka_unit_test(test_unix_connect_timeout),
        cmocka_unit_test(test_inet_listen),
        cmocka_unit_test(test_inet6_v6only),
        cmocka_unit_test(test_trigger_socket),
        cmocka_unit_test(test_trigger_fifo),
        cmocka_unit_test(test_fd_helpers),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
