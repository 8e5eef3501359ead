/* ipc: UNIX and inet listening sockets, bounded-time UNIX connects,
 * qmgr/pickup triggers (socket or fifo), and small fd helpers. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

#define TRIGGER_TIMEOUT  3      /* seconds a trigger may take at most */

/* Fills a sockaddr_un; -1 with ENAMETOOLONG when path does not fit. */
static int unix_addr(struct sockaddr_un *sun, const char *path)
{
    size_t len = strlen(path);

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (len == 0 || len >= sizeof(sun->sun_path)) {
        errno = len == 0 ? EINVAL : ENAMETOOLONG;
        return -1;
    }
    memcpy(sun->sun_path, path, len + 1);
    return 0;
}

static int close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
    return -1;
}

/* Removes a socket left by a previous run; anything else at that path is
 * not ours to remove. */
static int remove_stale_socket(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int unix_listen(const char *path, mode_t mode, int backlog)
{
    struct sockaddr_un sun;
    int fd;

    if (unix_addr(&sun, path) < 0 || remove_stale_socket(path) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
        return close_keep_errno(fd);
    /* The mode is what lets unprivileged programs in (public/) or keeps
     * them out (private/); the folder's own mode covers the short window
     * between bind and chmod. */
    if (chmod(path, mode) < 0 || listen(fd, backlog) < 0) {
        int saved = errno;

        (void) unlink(path);
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int set_send_timeout(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int unix_connect(const char *path, int timeout)
{
    struct sockaddr_un sun;
    int fd, r;

    if (unix_addr(&sun, path) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* On Linux a UNIX connect waits for room in the server's backlog for
     * at most the send timeout, then fails with EAGAIN. */
    if (timeout > 0 && set_send_timeout(fd, timeout) < 0)
        return close_keep_errno(fd);
    do {
        r = connect(fd, (struct sockaddr *) &sun, sizeof(sun));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == EAGAIN)
            errno = ETIMEDOUT;
        return close_keep_errno(fd);
    }
    if (timeout > 0 && set_send_timeout(fd, 0) < 0)
        return close_keep_errno(fd);
    return fd;
}

/* Binds one address from getaddrinfo. fd or -1. */
static int inet_bind_one(const struct addrinfo *ai, int backlog)
{
    int on = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        return close_keep_errno(fd);
    /* An IPv6 socket must not also take IPv4: the IPv4 listener of the
     * same port is a separate socket. */
    if (ai->ai_family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
        return close_keep_errno(fd);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog) < 0)
        return close_keep_errno(fd);
    return fd;
}

int inet_listen(const char *host, const char *port, int family, int backlog)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, err, saved = EADDRNOTAVAIL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (host != NULL && (host[0] == 0 || strcmp(host, "all") == 0))
        host = NULL;
    err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) {
        if (err != EAI_SYSTEM) {
            msg_warn("look up %s port %s: %s", host ? host : "*", port, gai_strerror(err));
            errno = EADDRNOTAVAIL;
        }
        return -1;
    }
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = inet_bind_one(ai, backlog);
        if (fd < 0)
            saved = errno;
    }
    freeaddrinfo(res);
    if (fd < 0)
        errno = saved;
    return fd;
}

/* A fifo trigger: a full pipe already holds a wake-up, so EAGAIN is fine. */
static int fifo_trigger(const char *path, const char *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    do {
        n = write(fd, bytes, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN)
        return close_keep_errno(fd);
    close(fd);
    return 0;
}

static int socket_trigger(const char *path, const char *bytes, size_t len)
{
    int fd = unix_connect(path, TRIGGER_TIMEOUT);
    size_t off = 0;

    if (fd < 0)
        return -1;
    if (set_send_timeout(fd, TRIGGER_TIMEOUT) < 0)
        return close_keep_errno(fd);
    while (off < len) {
        /* MSG_NOSIGNAL: a server that went away is an error, not a SIGPIPE. */
        ssize_t n = send(fd, bytes + off, len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno == EAGAIN)
                errno = ETIMEDOUT;
            return close_keep_errno(fd);
        }
        off += (size_t) n;
    }
    close(fd);
    return 0;
}

int trigger_send(const char *path, const char *bytes, size_t len)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -1;
    if (S_ISFIFO(st.st_mode))
        return fifo_trigger(path, bytes, len);
    return socket_trigger(path, bytes, len);
}

static int fd_set_flag(int fd, int get, int set, int flag, int on)
{
    int flags = fcntl(fd, get);

    if (flags < 0)
        return -1;
    flags = on ? flags | flag : flags & ~flag;
    return fcntl(fd, set, flags) < 0 ? -1 : 0;
}

int fd_set_nonblock(int fd, int on)
{
    return fd_set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, on);
}

int fd_set_cloexec(int fd, int on)
{
    return fd_set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on);
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}
