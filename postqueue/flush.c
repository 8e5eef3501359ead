/* flush: postqueue -f, -i and -s. -f sends Postfix's "FADI" to qmgr
 * (forget dead sites, ignore retry times, scan deferred and incoming) and
 * "W" to pickup when there is one. facteur has no flush daemon, so -i does
 * here what that daemon does for one file: a deferred message's retry
 * time (its mtime) becomes now, and qmgr is told to scan deferred. -s has
 * no fast-flush logs to work from and says so as Postfix does for a
 * destination it does not serve. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "postqueue.h"
#include "queue_file.h"

#define QMGR_SOCKET    "public/qmgr"
#define PICKUP_SOCKET  "public/pickup"

static void mail_system_down(void)
{
    msg_fatal_status(POSTQUEUE_EXIT_FAIL, "Cannot flush mail queue - mail system is down");
}

int flush_all(void)
{
    static const char qmgr_flush[] = {
        QMGR_TRIGGER_FLUSH_DEAD, QMGR_TRIGGER_SCAN_ALL,
        QMGR_TRIGGER_DEFERRED, QMGR_TRIGGER_INCOMING,
    };
    static const char pickup_wakeup[] = { QMGR_TRIGGER_WAKEUP };

    if (trigger_send(QMGR_SOCKET, qmgr_flush, sizeof(qmgr_flush)) < 0)
        mail_system_down();
    /* facteur has no pickup yet; a Postfix-style one would be woken too. */
    if (access(PICKUP_SOCKET, F_OK) == 0
        && trigger_send(PICKUP_SOCKET, pickup_wakeup, sizeof(pickup_wakeup)) < 0)
        mail_system_down();
    return 0;
}

/* Like Postfix's flush service: only a deferred message is touched, and a
 * queue ID that is not there is not an error. */
int flush_one(const char *queue_id)
{
    static const char qmgr_scan[] = { QMGR_TRIGGER_DEFERRED };
    buf_t path = BUF_INIT;
    struct stat st;

    if (!queue_id_valid(queue_id))
        msg_fatal_status(POSTQUEUE_EXIT_FAIL, "invalid queue ID: \"%s\"", queue_id);
    queue_path(&path, QUEUE_DEFERRED, queue_id);
    if (lstat(path.data, &st) < 0) {
        if (errno != ENOENT)
            msg_fatal_status(POSTQUEUE_EXIT_FAIL, "%s: %m", path.data);
        buf_release(&path);
        return 0;
    }
    if (S_ISREG(st.st_mode) && queue_mode_complete(st.st_mode)) {
        /* The mtime of a deferred file is its next-retry time: now makes
         * it due for the deferred scan the trigger asks for. */
        if (utimes(path.data, NULL) < 0 && errno != ENOENT)
            msg_fatal_status(POSTQUEUE_EXIT_FAIL, "%s: cannot update its retry time: %m", queue_id);
        if (trigger_send(QMGR_SOCKET, qmgr_scan, sizeof(qmgr_scan)) < 0)
            mail_system_down();
    }
    buf_release(&path);
    return 0;
}

int flush_site(const char *site)
{
    msg_fatal_status(POSTQUEUE_EXIT_FAIL,
                     "Flush service is not configured for destination \"%s\"", site);
}
