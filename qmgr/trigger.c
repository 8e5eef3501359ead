/* trigger: what the trigger bytes on public/qmgr ask for (lib/trigger_server
 * reads the connections). */
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "qmgr.h"
#include "queue_file.h"
#include "trigger_server.h"

/* What one connection asked for. */
typedef struct trigger_request {
    int scan_all;
    int forget_dead;
    int scan_deferred;
    int scan_incoming;
} trigger_request_t;

/* 'N' ID '\n': returns the index of the byte that ends the ID. */
static size_t parse_new_id(const char *data, size_t len, size_t start, trigger_request_t *req)
{
    const char *nl = memchr(data + start, '\n', len - start);
    size_t end = nl ? (size_t) (nl - data) : len;
    char id[QUEUE_ID_MAX + 1];
    size_t idlen = end - start;

    if (nl == NULL || idlen == 0 || idlen > QUEUE_ID_MAX) {
        /* Cut short or garbled: a scan finds the file anyway. */
        req->scan_incoming = 1;
        return end;
    }
    memcpy(id, data + start, idlen);
    id[idlen] = 0;
    if (queue_id_valid(id))
        scan_add_new(id);
    else
        msg_warn("trigger: ignoring bad queue ID in new-file trigger");
    return end;
}

static void trigger_parse(const char *data, size_t len, trigger_request_t *req)
{
    size_t i;

    for (i = 0; i < len; i++) {
        switch (data[i]) {
        case QMGR_TRIGGER_NEW:
            i = parse_new_id(data, len, i + 1, req);
            break;
        case QMGR_TRIGGER_SCAN_ALL:
            req->scan_all = 1;
            break;
        case QMGR_TRIGGER_FLUSH_DEAD:
            req->forget_dead = 1;
            break;
        case QMGR_TRIGGER_DEFERRED:
            req->scan_deferred = 1;
            break;
        case QMGR_TRIGGER_INCOMING:
        case QMGR_TRIGGER_WAKEUP:
            req->scan_incoming = 1;
            break;
        default:
            break;              /* newlines and unknown bytes */
        }
    }
}

/* A and F act before D and I, whatever order the bytes came in. */
static void trigger_process(const char *data, size_t len)
{
    trigger_request_t req = { 0, 0, 0, 0 };

    trigger_parse(data, len, &req);
    if (req.scan_all)
        scan_ignore_mtime_next();
    if (req.forget_dead)
        sched_forget_dead();
    if (req.scan_deferred)
        scan_request_deferred();
    if (req.scan_incoming)
        scan_request_incoming();
    scan_feed_kick();
}

void trigger_listen(int fd)
{
    trigger_server_listen(fd, trigger_process);
}
