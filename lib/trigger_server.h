/* trigger_server: the listener of a trigger-woken daemon (qmgr, pickup).
 * A client connects, writes a few bytes and closes; each connection is read
 * inside the event loop without blocking it, bounded in bytes, time and
 * number of clients, and read to its end so the writer never sees a reset.
 * Then the daemon's handler gets what was written. */
#ifndef FACTEUR_TRIGGER_SERVER_H
#define FACTEUR_TRIGGER_SERVER_H

#include <stddef.h>

#define TRIGGER_MAX_BYTES    1024

/* Watches the listening socket fd in lib/event; handler runs once per
 * connection with at most TRIGGER_MAX_BYTES bytes (possibly none). */
void trigger_server_listen(int fd, void (*handler)(const char *data, size_t len));

#endif
