/* postsuper: queue maintenance for the superuser. postsuper [-c dir]
 * [-d ID|ALL|-] [-h ...] [-H ...] [-r ...] [-e ...] [-f ...] [-p] [-s]
 * [-S] [-v] [queue...]. One log line per message acted on, then the
 * summaries of the actions asked for, always, in Postfix's order. Run as
 * root it takes the mail_owner's identity first, so that every file and
 * folder it creates belongs to the mail system; an ordinary user may run
 * it only when the mail system runs as that very user (a test sandbox). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "buf.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "postsuper.h"
#include "privilege.h"
#include "queue_file.h"
#include "queue_scan.h"

#define DEFAULT_CONFIG_DIR "/etc/postfix"
#define STDIN_IDS_MAX      (64UL << 20)

static const char usage_text[] =
    "usage: postsuper [-c config_dir] [-d queue_id (delete)] "
    "[-e queue_id (expire)] [-f queue_id (expire and/or un-hold)] "
    "[-h queue_id (hold)] [-H queue_id (un-hold)] [-p (purge temporary files)] "
    "[-r queue_id (requeue)] [-s (structure fix)] [-S (redundant structure fix)] "
    "[-v (verbose)] [queue...]";

static const char *const q_hold_in_act_def[] = {
    QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL,
};
static const char *const q_in_act_def[] = {
    QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL,
};
static const char *const q_hold[] = { QUEUE_HOLD, NULL };
static const char *const q_known[] = {
    QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_MAILDROP, NULL,
};

/* The actions, in the order they run and their summaries print. */
typedef struct action {
    const char         *summary;
    int               (*op)(const target_t *);
    const char *const  *default_queues;
    int                 requested;
    int                 all;
    argv_t             *ids;
    long                count;
} action_t;

enum { ACT_REQUEUE, ACT_DELETE, ACT_EXPIRE, ACT_HOLD, ACT_RELEASE, ACT_COUNT };

static action_t actions[ACT_COUNT] = {
    { "Requeued", op_requeue, q_hold_in_act_def, 0, 0, NULL, 0 },
    { "Deleted", op_delete, q_hold_in_act_def, 0, 0, NULL, 0 },
    { "Force-expired", op_expire, q_hold_in_act_def, 0, 0, NULL, 0 },
    { "Placed on hold", op_hold, q_in_act_def, 0, 0, NULL, 0 },
    { "Released from hold", op_release, q_hold, 0, 0, NULL, 0 },
};

static argv_t *stdin_ids;           /* read once, for every "-" argument */

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
    msg_fatal("%s", usage_text);
}

static argv_t *read_stdin_ids(void)
{
    buf_t text = BUF_INIT;
    char chunk[8192];
    argv_t *ids;
    ssize_t n;

    while ((n = read(0, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            msg_fatal("read standard input: %m");
        }
        if (text.len + (size_t) n > STDIN_IDS_MAX)
            msg_fatal("standard input: too many queue IDs");
        buf_append(&text, chunk, (size_t) n);
    }
    ids = argv_split(buf_str(&text), " \t\r\n");
    buf_release(&text);
    return ids;
}

/* "ALL" (upper case only), "-" (IDs on stdin) or one queue ID. */
static void request(int which, const char *arg)
{
    action_t *a = &actions[which];
    size_t i;

    a->requested = 1;
    if (a->ids == NULL)
        a->ids = argv_new();
    if (strcmp(arg, "ALL") == 0) {
        a->all = 1;
    } else if (strcmp(arg, "-") == 0) {
        if (stdin_ids == NULL)
            stdin_ids = read_stdin_ids();
        for (i = 0; i < stdin_ids->argc; i++)
            argv_add(a->ids, stdin_ids->argv[i]);
    } else {
        argv_add(a->ids, arg);
    }
}

static int queue_known(const char *name)
{
    const char *const *q;

    for (q = q_known; *q != NULL; q++)
        if (strcmp(*q, name) == 0)
            return 1;
    return 0;
}

/* ---- Finding the messages ---- */

typedef struct target_list {
    target_t *items;
    size_t    count;
    size_t    cap;
} target_list_t;

static void targets_add(target_list_t *list, const char *queue, const char *id, const char *path)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? size_mul(list->cap, 2) : 64;
        list->items = xreallocarray(list->items, list->cap, sizeof(*list->items));
    }
    list->items[list->count].queue = queue;
    list->items[list->count].id = xstrdup(id);
    list->items[list->count].path = xstrdup(path);
    list->count++;
}

static void targets_free(target_list_t *list)
{
    size_t i;

    for (i = 0; i < list->count; i++) {
        free(list->items[i].id);
        free(list->items[i].path);
    }
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static void find_all(target_list_t *list, const char *queue)
{
    queue_scan_t *scan = queue_scan_open(queue, 0);
    queue_scan_entry_t e;

    if (queue_scan_error(scan) != 0) {
        errno = queue_scan_error(scan);
        msg_warn("open directory %s: %m", queue);
    }
    while (queue_scan_next(scan, &e))
        targets_add(list, queue, e.id, e.path);
    queue_scan_close(scan);
}

static void find_named(target_list_t *list, const char *queue, const char *id)
{
    buf_t path = BUF_INIT;
    struct stat st;

    queue_path(&path, queue, id);
    if (lstat(path.data, &st) == 0) {
        if (S_ISREG(st.st_mode) && queue_mode_complete(st.st_mode))
            targets_add(list, queue, id, path.data);
        else
            msg_warn("%s: skipped: %s is not a complete queue file", id, path.data);
    } else if (errno != ENOENT) {
        msg_warn("%s: %s: %m", id, path.data);
    }
    buf_release(&path);
}

/* Every message is found before any is touched: a requeued file lands in
 * incoming/ and must not be met again by the same pass. */
static void run_action(action_t *a, const char *const *queues)
{
    target_list_t list = { NULL, 0, 0 };
    const char *const *q;
    size_t i;

    for (i = 0; i < a->ids->argc; i++)
        if (!queue_id_valid(a->ids->argv[i]))
            msg_warn("invalid mail queue id: %s", a->ids->argv[i]);
    for (q = queues ? queues : a->default_queues; *q != NULL; q++) {
        if (a->all)
            find_all(&list, *q);
        else
            for (i = 0; i < a->ids->argc; i++)
                if (queue_id_valid(a->ids->argv[i]))
                    find_named(&list, *q, a->ids->argv[i]);
    }
    for (i = 0; i < list.count; i++)
        a->count += a->op(&list.items[i]);
    targets_free(&list);
}

/* ---- Set-up ---- */

static void become_mail_owner(void)
{
    uid_t uid;
    gid_t gid;

    privilege_lookup(config_str("mail_owner"), &uid, &gid);
    if (getuid() != 0 && getuid() != uid)
        msg_fatal("use of this command is reserved for the superuser");
    privilege_drop(uid, gid, NULL);
}

static void load_config(const char *dir)
{
    if (dir == NULL)
        dir = getenv("MAIL_CONFIG");
    if (dir == NULL || *dir == 0)
        dir = DEFAULT_CONFIG_DIR;
    config_load(dir);
    /* The log is opened before the identity changes. */
    log_configure(config_str("syslog_name"), config_str("maillog_file"));
    become_mail_owner();
    if (chdir(config_str("queue_directory")) < 0)
        msg_fatal("chdir %s: %m", config_str("queue_directory"));
}

static void print_count(const char *what, long n)
{
    msg_info("%s: %ld message%s", what, n, n == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int structure = 0, purge = 0, any = 0, c, i;
    const char *const *queues = NULL;

    log_init("postsuper", LOG_FLAG_STDERR | LOG_FLAG_SYSLOG);
    while ((c = getopt(argc, argv, "c:d:e:f:h:H:pr:sSv")) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'd': request(ACT_DELETE, optarg); break;
        case 'e': request(ACT_EXPIRE, optarg); break;
        case 'f': request(ACT_EXPIRE, optarg); request(ACT_RELEASE, optarg); break;
        case 'h': request(ACT_HOLD, optarg); break;
        case 'H': request(ACT_RELEASE, optarg); break;
        case 'p': purge = 1; break;
        case 'r': request(ACT_REQUEUE, optarg); break;
        case 's':
        case 'S': structure = 1; break;
        case 'v': msg_verbose++; break;
        default: usage();
        }
    }
    for (i = optind; i < argc; i++)
        if (!queue_known(argv[i]))
            msg_fatal("invalid queue name: %s", argv[i]);
    if (optind < argc)
        queues = (const char *const *) argv + optind;
    for (i = 0; i < ACT_COUNT; i++)
        any |= actions[i].requested;
    if (!any && !structure && !purge)
        structure = purge = 1;
    load_config(dir);

    if (structure) {
        long renamed = structure_fix();

        if (renamed > 0)
            print_count("Renamed to match inode number", renamed);
    }
    if (purge)
        purge_stale();
    for (i = 0; i < ACT_COUNT; i++)
        if (actions[i].requested)
            run_action(&actions[i], queues);
    /* qmgr takes the requeued files now rather than at its next scan; a
     * mail system that is down finds them when it starts. */
    if (actions[ACT_REQUEUE].count > 0 && trigger_send("public/qmgr", "I", 1) < 0)
        msg_debug("trigger qmgr: %m");
    for (i = 0; i < ACT_COUNT; i++)
        if (actions[i].requested)
            print_count(actions[i].summary, actions[i].count);
    return 0;
}
