/* cleanup_client: the client half of the cleanup protocol (greeting check,
 * flags, record stream, final status) and the SMTP wording of a status.
 * Failures to connect or to get a proper greeting are described in "why"
 * as "connect to PATH: text" / "PATH: text"; callers log it as a warning. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "attr.h"
#include "cleanup_client.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "queue_file.h"

#define CLEANUP_PROTOCOL        "cleanup_protocol"
#define CLEANUP_CONNECT_TIMEOUT 10     /* seconds to get into cleanup's backlog */
#define CLEANUP_IPC_TIMEOUT_MAX 86400  /* stream timeouts are int seconds */

/* ipc_timeout (at least 1s: lib/config checks), capped for the stream. */
static int cleanup_timeout(void)
{
    long seconds = config_time("ipc_timeout");

    return (int) (seconds > CLEANUP_IPC_TIMEOUT_MAX ? CLEANUP_IPC_TIMEOUT_MAX : seconds);
}

/* Step 1: {protocol=cleanup_protocol, queue_id=ID}. 0 or -1 with why. */
static int read_greeting(cleanup_client_t *cl, const char *path, buf_t *why)
{
    static const char *const required[] = { "protocol", "queue_id", NULL };
    attr_list_t *a = attr_list_new();
    const char *id;
    int ret = -1;

    if (attr_read(cl->s, a) < 0) {
        buf_printf(why, "%s: no greeting from cleanup server", path);
    } else if (attr_check(a, required, NULL) < 0
               || strcmp(attr_get(a, "protocol"), CLEANUP_PROTOCOL) != 0) {
        buf_printf(why, "%s: unexpected greeting from cleanup server", path);
    } else if (!queue_id_valid(id = attr_get(a, "queue_id"))
               || strlen(id) >= sizeof(cl->queue_id)) {
        buf_printf(why, "%s: bad queue ID from cleanup server", path);
    } else {
        memcpy(cl->queue_id, id, strlen(id) + 1);
        ret = 0;
    }
    attr_list_free(a);
    return ret;
}

cleanup_client_t *cleanup_open(const char *path, int flags, buf_t *why)
{
    cleanup_client_t *cl;
    int fd;

    buf_reset(why);
    fd = unix_connect(path, CLEANUP_CONNECT_TIMEOUT);
    if (fd < 0) {
        buf_printf(why, "connect to %s: %s", path, strerror(errno));
        return NULL;
    }
    cl = xcalloc(1, sizeof(*cl));
    cl->s = stream_fdopen(fd);
    stream_set_timeout(cl->s, cleanup_timeout());
    if (read_greeting(cl, path, why) < 0) {
        cleanup_abort(cl);
        return NULL;
    }
    attr_put_long(cl->s, "flags", flags);
    attr_put_end(cl->s);
    if (stream_status(cl->s) != STREAM_OK) {
        buf_printf(why, "%s: lost connection with cleanup server", path);
        cleanup_abort(cl);
        return NULL;
    }
    return cl;
}

int cleanup_finish(cleanup_client_t *cl, buf_t *reason)
{
    static const char *const required[] = { "status", NULL };
    static const char *const optional[] = { "reason", NULL };
    attr_list_t *a = attr_list_new();
    long status = CLEANUP_STAT_WRITE;

    buf_reset(reason);
    if (stream_flush(cl->s) < 0 || attr_read(cl->s, a) < 0) {
        buf_set(reason, "lost connection with cleanup server");
    } else if (attr_check(a, required, optional) < 0
               || attr_get_long(a, "status", &status) < 0
               || status < 0 || status > 0xffff) {
        buf_set(reason, "malformed reply from cleanup server");
        status = CLEANUP_STAT_BAD;
    } else if (attr_get(a, "reason") != NULL) {
        buf_set(reason, attr_get(a, "reason"));
    }
    attr_list_free(a);
    cleanup_abort(cl);
    return (int) status;
}

void cleanup_abort(cleanup_client_t *cl)
{
    if (cl == NULL)
        return;
    /* Closing without an E record tells cleanup to remove its file. */
    stream_close(cl->s);
    free(cl);
}

/* Most specific first: a permanent refusal beats a write error. */
static const struct {
    int         bit;
    const char *reply;
} cleanup_replies[] = {
    { CLEANUP_STAT_DEFER, "451 4.3.0 Error: queue file write error" },
    { CLEANUP_STAT_BAD,   "451 4.3.0 Error: queue file write error" },
    { CLEANUP_STAT_RCPT,  "554 5.5.1 Error: no valid recipients" },
    { CLEANUP_STAT_HOPS,  "554 5.4.0 Error: too many hops" },
    { CLEANUP_STAT_SIZE,  "552 5.3.4 Error: message file too big" },
    { CLEANUP_STAT_CONT,  "550 5.7.1 Error: message content rejected" },
    { CLEANUP_STAT_WRITE, "451 4.3.0 Error: queue file write error" },
};

const char *cleanup_status_reply(int status)
{
    size_t i;

    if (status == CLEANUP_STAT_OK)
        return "250 2.0.0 Ok";
    for (i = 0; i < sizeof(cleanup_replies) / sizeof(cleanup_replies[0]); i++)
        if (status & cleanup_replies[i].bit)
            return cleanup_replies[i].reply;
    return "451 4.3.0 Error: queue file write error";
}
