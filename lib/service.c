/* service: what every daemon does the same way. Parses the arguments
 * master gives (-n -t -u -c -l -z -d -v -s N -o name=value), loads main.cf,
 * settles logging, the queue directory and privileges, then runs the
 * one-client-at-a-time accept loop or watches master for event-driven
 * daemons. See service.h for the fd contract with master. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "privilege.h"
#include "service.h"


/* What the command line says beyond the service_t fields. */
typedef struct service_args {
    argv_t *overrides;      /* name, value, name, value ... */
    int     debug;          /* -d: master runs in the foreground */
    int     bad_option;     /* reported once the mail log is open */
} service_args_t;

static unsigned service_generation;
static int      under_master;   /* -t given: fds 4, 5 and 6+ are master's */

/* Trims ASCII blanks at both ends of s in place; returns s. */
static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = 0;
    return s;
}

/* -o name=value, or the 3.0 long form -o { name = value }. */
static void add_override(service_args_t *a, const char *arg)
{
    char *copy = xstrdup(arg);
    char *text = trim(copy);
    char *eq, *name, *value;

    if (*text == '{') {
        size_t len = strlen(text);

        if (len < 2 || text[len - 1] != '}')
            msg_fatal("-o %s: missing '}'", arg);
        text[len - 1] = 0;
        text = trim(text + 1);
    }
    eq = strchr(text, '=');
    if (eq == NULL)
        msg_fatal("-o %s: expected name=value", arg);
    *eq = 0;
    name = trim(text);
    value = trim(eq + 1);
    if (*name == 0)
        msg_fatal("-o %s: empty parameter name", arg);
    argv_add(a->overrides, name);
    argv_add(a->overrides, value);
    free(copy);
}

static int parse_listen_count(const char *arg)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(arg, &end, 10);
    if (errno != 0 || *end != 0 || n < 1 || n > SERVICE_MAX_LISTEN)
        msg_fatal("-s %s: the listen descriptor count must be 1..%d", arg, SERVICE_MAX_LISTEN);
    return (int) n;
}

static void parse_args(service_t *svc, service_args_t *a, int argc, char **argv)
{
    int c, listen_count = 1;

    a->overrides = argv_new();
    opterr = 0;
    optind = 1;
    /* '+': stop at the first non-option, which starts the master.cf
     * arguments a daemon interprets itself. */
    while ((c = getopt(argc, argv, "+cdDln:o:s:St:uvVz")) != -1) {
        switch (c) {
        case 'c': svc->chrooted = 1; break;
        case 'd': a->debug = 1; break;
        case 'l': svc->single = 1; break;
        case 'n': svc->name = optarg; break;
        case 'o': add_override(a, optarg); break;
        case 's': listen_count = parse_listen_count(optarg); break;
        case 't': svc->type = optarg; break;
        case 'u': svc->unpriv = 1; break;
        case 'v': msg_verbose++; break;
        case 'D': case 'S': case 'V': case 'z': break;   /* accepted, no effect here */
        default:
            a->bad_option = optopt ? optopt : '?';
            break;
        }
    }
    svc->args = argv_new();
    for (int i = optind; i < argc; i++)
        argv_add(svc->args, argv[i]);
    under_master = svc->type != NULL && *svc->type != 0;
    svc->listen_count = under_master ? listen_count : 0;
}

static void read_generation(void)
{
    const char *g = getenv("GENERATION");
    char *end;
    unsigned long v;

    if (g == NULL || *g == 0)
        return;
    errno = 0;
    v = strtoul(g, &end, 8);
    if (errno == 0 && *end == 0)
        service_generation = (unsigned) v;
}

/* The descriptors master passes must exist and must not leak into
 * programs this daemon runs (local's command deliveries). */
static void adopt_master_fds(service_t *svc)
{
    int fds[2 + SERVICE_MAX_LISTEN];
    int n = 0;

    fds[n++] = IPC_ALIVE_FD;
    fds[n++] = IPC_STATUS_FD;
    for (int i = 0; i < svc->listen_count; i++) {
        svc->listen_fds[i] = IPC_LISTEN_FD + i;
        fds[n++] = IPC_LISTEN_FD + i;
    }
    for (int i = 0; i < n; i++) {
        if (fcntl(fds[i], F_GETFD) < 0)
            msg_fatal("descriptor %d from master is not open: %m", fds[i]);
        if (fd_set_cloexec(fds[i], 1) < 0)
            msg_fatal("close-on-exec for descriptor %d: %m", fds[i]);
    }
}

static void load_config(service_t *svc, const service_args_t *a)
{
    config_load(NULL);          /* $MAIL_CONFIG, else the default directory */
    config_set_service(svc->name, log_progname());
    /* master.cf -o settings win over main.cf, so they come after it. */
    for (size_t i = 0; i + 1 < a->overrides->argc; i += 2)
        config_override(a->overrides->argv[i], a->overrides->argv[i + 1]);
}

static void enter_queue_directory(void)
{
    const char *dir = config_str("queue_directory");

    if (chdir(dir) < 0)
        msg_fatal("chdir(%s): %m", dir);
}

/* Becomes mail_owner without any capability, chrooted when -c says so.
 * An ordinary user keeps its identity (privilege_drop only sheds caps). */
static void drop_privileges(service_t *svc)
{
    const char *owner = config_str("mail_owner");
    uid_t uid;
    gid_t gid;

    /* An ordinary user's instance runs as that user, whatever mail_owner
     * says; privilege_drop then only sheds capabilities. */
    if (getuid() != 0 && geteuid() != 0) {
        privilege_drop(getuid(), getgid(), NULL);
        return;
    }
    privilege_lookup(owner, &uid, &gid);
    if (uid == 0)
        msg_fatal("mail_owner %s has the privileged user ID 0", owner);
    /* Time zone data lives outside the chroot: load it while we can. */
    tzset();
    privilege_drop(uid, gid, svc->chrooted ? config_str("queue_directory") : NULL);
}

void service_init(service_t *svc, int argc, char **argv, const char *progname,
                  const service_opts_t *opts)
{
    service_args_t args = { NULL, 0, 0 };

    memset(svc, 0, sizeof(*svc));
    log_init(progname, LOG_FLAG_SYSLOG | LOG_FLAG_STDERR);
    parse_args(svc, &args, argc, argv);
    if (svc->name == NULL)
        svc->name = log_progname();
    if (svc->type == NULL)
        svc->type = "";
    /* Run by hand, errors go to the terminal too; under a detached
     * master, stderr is /dev/null and only the mail log counts. */
    log_set_stderr(!under_master || args.debug);
    if (under_master) {
        adopt_master_fds(svc);
        read_generation();
    }
    load_config(svc, &args);
    log_configure(config_str("syslog_name"), config_str("maillog_file"));
    /* Only now: under master, stderr is /dev/null and the log is where an
     * admin looks for why a service keeps failing. */
    if (args.bad_option)
        msg_fatal("invalid option -- '%c'", args.bad_option);
    /* A client that hangs up must be a write error, not a dead daemon. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        msg_fatal("ignore SIGPIPE: %m");
    enter_queue_directory();
    if (opts && opts->pre_jail)
        opts->pre_jail(svc);
    if (opts == NULL || !opts->privileged)
        drop_privileges(svc);
    else if (svc->chrooted)
        msg_warn("service %s: a privileged daemon is never chrooted; ignoring -c", svc->name);
    if (opts && opts->post_init)
        opts->post_init(svc);
    argv_free(args.overrides);
    msg_debug("service %s type %s: %d listener(s), generation %o",
              svc->name, svc->type, svc->listen_count, service_generation);
}

void service_report(service_t *svc, int avail)
{
    ipc_status_t st;

    (void) svc;
    if (!under_master)
        return;
    memset(&st, 0, sizeof(st));
    st.pid = (int) getpid();
    st.generation = service_generation;
    st.avail = avail ? IPC_STATUS_AVAIL : IPC_STATUS_TAKEN;
    /* One write of a record smaller than PIPE_BUF is atomic, so records
     * of sibling processes never interleave. */
    if (write_all(IPC_STATUS_FD, &st, sizeof(st)) < 0) {
        if (errno == EPIPE) {
            msg_debug("master is gone; exiting");
            exit(0);
        }
        msg_warn("status report to master: %m");
    }
}

/* Whether master closed our alive pipe (exit, or a reload that retired
 * this generation). */
static int master_gone(void)
{
    char c;
    ssize_t n;

    do {
        n = read(IPC_ALIVE_FD, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return 1;
    if (n < 0)
        return errno != EAGAIN && errno != EWOULDBLOCK;
    return 0;                           /* master never writes; ignore */
}

/* Stand-alone (run by hand, no listener): one client on fd 0. */
static void serve_stdin(service_t *svc, void (*serve)(service_t *, stream_t *))
    __attribute__((noreturn));
static void serve_stdin(service_t *svc, void (*serve)(service_t *, stream_t *))
{
    stream_t *client = stream_fdopen(0);

    svc->use_count++;
    serve(svc, client);
    stream_free(client);
    exit(0);
}

/* Accepts one connection on lfd; -1 when another child took it first. */
static int accept_client(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd >= 0)
        return fd;
    switch (errno) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
        return -1;              /* a sibling won, or the client left */
    default:
        msg_fatal("accept connection: %m");
    }
}

static void serve_one(service_t *svc, int fd, void (*serve)(service_t *, stream_t *))
{
    stream_t *client;

    service_report(svc, 0);
    svc->use_count++;
    client = stream_fdopen(fd);
    serve(svc, client);
    stream_close(client);
    service_report(svc, 1);
}

/* Builds the poll set: the alive pipe first, then every listener. */
static nfds_t build_pollset(const service_t *svc, struct pollfd *pfds)
{
    nfds_t n = 0;

    pfds[n].fd = IPC_ALIVE_FD;
    pfds[n++].events = POLLIN;
    for (int i = 0; i < svc->listen_count; i++) {
        pfds[n].fd = svc->listen_fds[i];
        pfds[n++].events = POLLIN;
    }
    return n;
}

void single_server_run(service_t *svc, void (*serve)(service_t *svc, stream_t *client))
{
    struct pollfd pfds[1 + SERVICE_MAX_LISTEN];
    long max_idle = config_time("max_idle");
    long max_use = config_int("max_use");
    int idle_ms = max_idle <= 0 ? -1 : max_idle > 86400 ? 86400 * 1000 : (int) max_idle * 1000;
    nfds_t n;

    if (!under_master || svc->listen_count == 0)
        serve_stdin(svc, serve);
    /* Non-blocking: several children poll the same socket and only one
     * wins each connection; the others must go back to poll. */
    for (int i = 0; i < svc->listen_count; i++)
        if (fd_set_nonblock(svc->listen_fds[i], 1) < 0)
            msg_fatal("set listener non-blocking: %m");
    if (fd_set_nonblock(IPC_ALIVE_FD, 1) < 0)
        msg_fatal("set alive pipe non-blocking: %m");
    n = build_pollset(svc, pfds);
    for (;;) {
        int ready = poll(pfds, n, idle_ms);

        if (ready < 0) {
            if (errno == EINTR)
                continue;
            msg_fatal("poll: %m");
        }
        if (ready == 0) {
            msg_debug("idle for %lds; exiting", max_idle);
            exit(0);
        }
        /* The alive pipe first: a retired child leaves new clients to
         * the new generation. */
        if (pfds[0].revents && master_gone()) {
            msg_debug("master closed our alive pipe; exiting");
            exit(0);
        }
        for (nfds_t i = 1; i < n; i++) {
            int fd;

            if (pfds[i].revents == 0 || (fd = accept_client(pfds[i].fd)) < 0)
                continue;
            serve_one(svc, fd, serve);
            if (max_use > 0 && svc->use_count >= max_use) {
                msg_debug("served %d clients; exiting", svc->use_count);
                exit(0);
            }
            break;              /* poll again: the alive pipe may have closed */
        }
    }
}

static void alive_ready(int fd, void *ctx)
{
    (void) ctx;
    if (master_gone()) {
        msg_debug("master closed our alive pipe; exiting");
        event_unwatch(fd);
        exit(0);
    }
}

void service_watch_master(service_t *svc)
{
    (void) svc;
    if (!under_master)
        return;
    if (fd_set_nonblock(IPC_ALIVE_FD, 1) < 0)
        msg_fatal("set alive pipe non-blocking: %m");
    event_watch(IPC_ALIVE_FD, EVENT_READ, alive_ready, NULL);
}
