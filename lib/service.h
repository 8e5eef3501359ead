/* service: the start-up and main loops every daemon shares, so that a
 * daemon's main() is one call with its callbacks.
 *
 * master runs a child as: PROGRAM -n SERVICE -t TYPE [-u] [-c] [-l] [-z]
 * [-s N] [-v] [master.cf args incl. -o name=value], with MAIL_CONFIG in the
 * environment, the alive pipe on fd 4, the status pipe on fd 5 and the
 * listening sockets from fd 6. Run by hand (no -t), a daemon has no
 * listener; only tests do that. */
#ifndef FACTEUR_SERVICE_H
#define FACTEUR_SERVICE_H

#include "argv.h"
#include "stream.h"

#define SERVICE_MAX_LISTEN 16

typedef struct service {
    const char *name;          /* -n, or the program name */
    const char *type;          /* -t: inet, unix, fifo, pass; "" when standalone */
    int         listen_fds[SERVICE_MAX_LISTEN];
    int         listen_count;
    int         unpriv;        /* -u */
    int         chrooted;      /* -c */
    int         single;        /* -l: maxproc 1 */
    argv_t     *args;          /* master.cf arguments left after -o pairs */
    int         use_count;
} service_t;

typedef struct service_opts {
    /* Runs with full privileges, after main.cf and chdir(queue_directory),
     * before the privilege drop: open what needs privileges here. */
    void (*pre_jail)(service_t *svc);
    /* Runs after the privilege drop, before the first client. */
    void (*post_init)(service_t *svc);
    /* 1: keep root (local delivery switches identity per recipient);
     * 0: become mail_owner (whatever -u says) and drop all capabilities. */
    int privileged;
} service_opts_t;

/* Everything common: argument parsing, config_load($MAIL_CONFIG) plus -o
 * overrides, config_set_service, log_configure(syslog_name, maillog_file),
 * SIGPIPE ignored, chdir(queue_directory), pre_jail, privilege drop,
 * post_init. Fatal on any error. */
void service_init(service_t *svc, int argc, char **argv, const char *progname,
                  const service_opts_t *opts);

/* Tells master this process is busy (0) or idle again (1). */
void service_report(service_t *svc, int avail);

/* The single-server loop: accept one client at a time on any listening
 * socket, report taken/available, call serve() with a stream over the
 * connection (no timeout set), close it. Exits after max_use clients,
 * after max_idle seconds without one, or when master goes away. */
void single_server_run(service_t *svc, void (*serve)(service_t *svc, stream_t *client))
    __attribute__((noreturn));

/* For event-driven daemons (qmgr): watches IPC_ALIVE_FD in the event loop
 * and exits cleanly when master goes away. */
void service_watch_master(service_t *svc);

#endif
