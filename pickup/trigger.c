/* trigger: the public/pickup listener. Whatever a client wrote ("W"), the
 * answer is a maildrop scan; lib/trigger_server reads the connection. */
#include <stddef.h>

#include "pickup.h"
#include "trigger_server.h"

static void trigger_received(const char *data, size_t len)
{
    (void) data;
    (void) len;
    pickup_scan_request();
}

void pickup_trigger_listen(int fd)
{
    trigger_server_listen(fd, trigger_received);
}
