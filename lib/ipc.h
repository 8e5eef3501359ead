/* ipc: UNIX/inet socket helpers, trigger wake-ups, and the fd numbers that
 * master hands to its children. */
#ifndef FACTEUR_IPC_H
#define FACTEUR_IPC_H

#include <stddef.h>
#include <sys/types.h>

/* Descriptors every child of master inherits. */
#define IPC_ALIVE_FD    4      /* read end of a pipe master never writes: EOF
                                  means master died or retired this generation
                                  (reload), so finish the client and exit */
#define IPC_STATUS_FD   5      /* write end of the service's status pipe */
#define IPC_LISTEN_FD   6      /* first listening socket (more follow with -s N) */

/* What a child writes on the status pipe (fixed size, one write). */
typedef struct ipc_status {
    int      pid;
    unsigned generation;
    int      avail;            /* 0 = taken (busy with a client), 1 = available */
} ipc_status_t;

#define IPC_STATUS_TAKEN  0
#define IPC_STATUS_AVAIL  1

/* Binds a UNIX stream socket at path (removing a stale one), chmods it to
 * mode, listens. Returns the fd (close-on-exec) or -1 with errno. */
int  unix_listen(const char *path, mode_t mode, int backlog);
/* Connects to a UNIX stream socket; timeout in seconds (0 = blocking).
 * Returns the fd or -1 with errno. */
int  unix_connect(const char *path, int timeout);
/* Binds host:port ("127.0.0.1", "2525"; host NULL/"" or "all" = wildcard;
 * IPv6 literal without brackets). SO_REUSEADDR. fd or -1 with errno. */
int  inet_listen(const char *host, const char *port, int family, int backlog);

/* qmgr trigger bytes (public/qmgr). Single letters mean what they mean to
 * Postfix's qmgr; facteur adds QMGR_TRIGGER_NEW: 'N', a queue ID, '\n' =
 * "incoming/ID was just committed", so qmgr takes that one file without
 * scanning incoming/ (it still scans at start-up and on 'I'). */
#define QMGR_TRIGGER_SCAN_ALL   'A'   /* ignore deferred mtimes on next scan */
#define QMGR_TRIGGER_FLUSH_DEAD 'F'   /* forget dead destinations */
#define QMGR_TRIGGER_DEFERRED   'D'   /* scan deferred now */
#define QMGR_TRIGGER_INCOMING   'I'   /* scan incoming now */
#define QMGR_TRIGGER_WAKEUP     'W'   /* same as I */
#define QMGR_TRIGGER_NEW        'N'

/* Connects to a UNIX socket (or opens a fifo) at path, writes the bytes,
 * closes. 0 or -1 with errno; never blocks longer than a few seconds. */
int  trigger_send(const char *path, const char *bytes, size_t len);

int  fd_set_nonblock(int fd, int on);
int  fd_set_cloexec(int fd, int on);
/* write() the whole buffer, retrying on EINTR/short writes. 0 or -1. */
int  write_all(int fd, const void *buf, size_t len);

#endif
