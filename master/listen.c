/* master listeners: inet endpoints (per inet_interfaces and
 * inet_protocols when master.cf names no host), UNIX sockets under
 * private/ and public/, and fifos. All paths are relative to the queue
 * directory, master's working directory. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "master.h"

#define UNIX_SOCKET_MODE 0666     /* the private/ and public/ folder modes guard them */
#define FIFO_MODE        0622

/* Which address families inet_protocols enables. */
static void enabled_families(int *v4, int *v6)
{
    argv_t *protos = config_list("inet_protocols");

    *v4 = *v6 = 0;
    for (size_t i = 0; i < protos->argc; i++) {
        const char *p = protos->argv[i];

        if (strcmp(p, "all") == 0)
            *v4 = *v6 = 1;
        else if (strcmp(p, "ipv4") == 0)
            *v4 = 1;
        else if (strcmp(p, "ipv6") == 0)
            *v6 = 1;
        else
            msg_warn("inet_protocols: unknown protocol \"%s\": ignored", p);
    }
    if (!*v4 && !*v6) {
        msg_warn("inet_protocols enables no protocol: using ipv4");
        *v4 = 1;
    }
    argv_free(protos);
}

/* Splits "host:port", "[v6]:port" or "port". host is NULL when absent. */
static void split_inet_name(const char *name, char **host, char **port)
{
    const char *colon;

    *host = NULL;
    if (name[0] == '[') {
        const char *close = strchr(name, ']');

        if (close == NULL || close[1] != ':')
            msg_fatal("master.cf: bad inet service name \"%s\"", name);
        *host = xstrndup(name + 1, (size_t) (close - name - 1));
        *port = xstrdup(close + 2);
        return;
    }
    colon = strrchr(name, ':');
    if (colon == NULL) {
        *port = xstrdup(name);
        return;
    }
    *host = xstrndup(name, (size_t) (colon - name));
    *port = xstrdup(colon + 1);
}

/* A port number in decimal, from digits or a service name. */
static char *resolve_port(const char *port)
{
    static const struct { const char *name; int port; } known[] = {
        { "smtp", 25 }, { "submission", 587 }, { "submissions", 465 },
        { "smtps", 465 }, { "lmtp", 24 },
    };
    struct servent *se;
    buf_t out = BUF_INIT;

    if (port[0] != 0 && strspn(port, "0123456789") == strlen(port)) {
        buf_puts(&out, port);
        return buf_steal(&out);
    }
    se = getservbyname(port, "tcp");
    if (se != NULL) {
        buf_printf(&out, "%d", ntohs((unsigned short) se->s_port));
        return buf_steal(&out);
    }
    /* A minimal system may lack /etc/services. */
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(known[i].name, port) == 0) {
            buf_printf(&out, "%d", known[i].port);
            return buf_steal(&out);
        }
    }
    msg_fatal("unknown service: %s/tcp", port);
}

char *listen_endpoint(const master_entry_t *e)
{
    buf_t out = BUF_INIT;

    if (strcmp(e->type, "inet") == 0) {
        char *host, *port, *num;

        split_inet_name(e->name, &host, &port);
        num = resolve_port(port);
        if (host != NULL)
            buf_printf(&out, "%s:%s", strchr(host, ':') ? e->name : host, num);
        else
            buf_puts(&out, num);
        free(host);
        free(port);
        free(num);
    } else {
        buf_printf(&out, "%s/%s", e->private_ ? "private" : "public", e->name);
    }
    return buf_steal(&out);
}

static int add_fd(mservice_t *s, int fd)
{
    if (s->listen_count >= SERVICE_MAX_LISTEN) {
        close(fd);
        msg_warn("service %s: more than %d listen addresses; ignoring the rest",
                 s->name, SERVICE_MAX_LISTEN);
        return -1;
    }
    s->listen_fds[s->listen_count++] = fd;
    return 0;
}

/* Binds one inet address. soft: a missing address family is a warning. */
static int bind_inet(mservice_t *s, const char *host, const char *port, int family,
                     int soft, int fatal_errors)
{
    int fd = inet_listen(host, port, family, MASTER_BACKLOG);
    const char *shown = host ? host : family == AF_INET6 ? "::" : "0.0.0.0";

    if (fd >= 0)
        return add_fd(s, fd);
    if (soft && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
        msg_warn("bind %s port %s: %m: skipped (inet_protocols)", shown, port);
        return 0;
    }
    if (fatal_errors)
        msg_fatal("bind %s port %s: %m", shown, port);
    msg_warn("bind %s port %s: %m", shown, port);
    return -1;
}

/* One inet_interfaces entry: an address or host name. */
static int bind_interface(mservice_t *s, const char *iface, const char *port,
                          int v4, int v6, int fatal_errors)
{
    char *host = xstrdup(iface);
    size_t len = strlen(host);
    int family = v4 && v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;
    int ret;

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        memmove(host, host + 1, len - 2);
        host[len - 2] = 0;
    }
    if (strchr(host, ':') != NULL)
        family = AF_INET6;
    else if (host[0] != 0 && strspn(host, "0123456789.") == strlen(host))
        family = AF_INET;
    if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6)) {
        msg_warn("inet_interfaces: %s is not enabled by inet_protocols: skipped", iface);
        free(host);
        return 0;
    }
    ret = bind_inet(s, host, port, family, 0, fatal_errors);
    free(host);
    return ret;
}

/* No host in master.cf: every inet_interfaces address. */
static int bind_all_interfaces(mservice_t *s, const char *port, int fatal_errors)
{
    argv_t *ifaces = config_list("inet_interfaces");
    int v4, v6, ret = 0;

    enabled_families(&v4, &v6);
    if (ifaces->argc == 0)
        msg_fatal("inet_interfaces is empty");
    for (size_t i = 0; i < ifaces->argc && ret == 0; i++) {
        const char *iface = ifaces->argv[i];

        if (strcmp(iface, "all") == 0) {
            if (v4)
                ret = bind_inet(s, NULL, port, AF_INET, v6, fatal_errors);
            if (ret == 0 && v6)
                ret = bind_inet(s, NULL, port, AF_INET6, v4, fatal_errors);
        } else if (strcmp(iface, "loopback-only") == 0) {
            if (v4)
                ret = bind_inet(s, "127.0.0.1", port, AF_INET, v6, fatal_errors);
            if (ret == 0 && v6)
                ret = bind_inet(s, "::1", port, AF_INET6, v4, fatal_errors);
        } else {
            ret = bind_interface(s, iface, port, v4, v6, fatal_errors);
        }
    }
    argv_free(ifaces);
    return ret;
}

static int open_inet(mservice_t *s, int fatal_errors)
{
    char *host, *port, *num;
    int ret;

    split_inet_name(s->name, &host, &port);
    num = resolve_port(port);
    if (host != NULL && host[0] != 0)
        ret = bind_inet(s, strcmp(host, "*") == 0 ? NULL : host, num, AF_UNSPEC, 0, fatal_errors);
    else
        ret = bind_all_interfaces(s, num, fatal_errors);
    free(host);
    free(port);
    free(num);
    return ret;
}

static int open_unix(mservice_t *s, int fatal_errors)
{
    int fd = unix_listen(s->endpoint, UNIX_SOCKET_MODE, MASTER_BACKLOG);

    if (fd >= 0)
        return add_fd(s, fd);
    if (fatal_errors)
        msg_fatal("bind %s: %m", s->endpoint);
    msg_warn("bind %s: %m", s->endpoint);
    return -1;
}

/* A fifo is opened read-write so it never reads EOF when writers leave. */
static int open_fifo(mservice_t *s, int fatal_errors)
{
    struct stat st;
    int fd;

    if (lstat(s->endpoint, &st) == 0 && !S_ISFIFO(st.st_mode) && unlink(s->endpoint) < 0)
        goto fail;
    if (mkfifo(s->endpoint, FIFO_MODE) < 0 && errno != EEXIST)
        goto fail;
    if (chmod(s->endpoint, FIFO_MODE) < 0)
        goto fail;
    fd = open(s->endpoint, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        goto fail;
    return add_fd(s, fd);
fail:
    if (fatal_errors)
        msg_fatal("fifo %s: %m", s->endpoint);
    msg_warn("fifo %s: %m", s->endpoint);
    return -1;
}

int listen_open(mservice_t *s, int fatal_errors)
{
    int ret;

    s->listen_count = 0;
    if (strcmp(s->type, "inet") == 0)
        ret = open_inet(s, fatal_errors);
    else if (strcmp(s->type, "unix") == 0)
        ret = open_unix(s, fatal_errors);
    else if (strcmp(s->type, "fifo") == 0)
        ret = open_fifo(s, fatal_errors);
    else
        ret = -1;
    if (ret == 0 && s->listen_count == 0) {
        msg_warn("service %s: no address to listen on", s->name);
        ret = -1;
    }
    if (ret < 0)
        listen_close(s);
    return ret;
}

void listen_close(mservice_t *s)
{
    for (int i = 0; i < s->listen_count; i++) {
        event_unwatch(s->listen_fds[i]);
        close(s->listen_fds[i]);
    }
    s->listen_count = 0;
    s->listening = 0;
}
