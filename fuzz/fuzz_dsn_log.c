/* fuzz_dsn_log: dsn_log_read, which parses defer/ID and bounce/ID logs back
 * for mailq and bounce notices. The input is written as defer/<id> in a
 * scratch queue folder under /dev/shm (or /tmp). Properties: every entry
 * handed out is complete; appending the entries read to another log and
 * reading that gives them back (CR turned to space, orig_rcpt dropped
 * when it equals the recipient, as the writer does).
 * Run: build-fuzz/fuzz_dsn_log fuzz/corpus/dsn_log */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "buf.h"
#include "dsn_log.h"
#include "fuzz.h"
#include "queue_file.h"

#define INPUT_ID   "FUZZ0001"
#define ECHO_ID    "ECHO0001"
#define ENTRIES_MAX 64        /* entries compared per input */

static char queue_dir[64];
static int  start_dir = -1;     /* libFuzzer's folder: corpus and crash paths are relative */

/* A copy of one entry, owned here. */
typedef struct saved {
    char *recipient, *orig_rcpt, *dsn_orig_rcpt, *status, *action, *reason;
    long  offset, notify_flags;
} saved_t;

typedef struct saved_list {
    saved_t v[ENTRIES_MAX];
    size_t  n;
    size_t  seen;             /* all entries, also those beyond ENTRIES_MAX */
} saved_list_t;

/* Removes one log and the folders above it, up to the queue's own. */
static void remove_log(const char *queue, const char *id)
{
    buf_t path = BUF_INIT;
    char *slash;

    queue_path(&path, queue, id);
    (void) unlink(buf_str(&path));
    while ((slash = strrchr(path.data, '/')) != NULL) {
        *slash = 0;
        (void) rmdir(path.data);
    }
    buf_release(&path);
}

static void remove_scratch(void)
{
    if (chdir(queue_dir) < 0)
        return;
    remove_log(QUEUE_DEFER, INPUT_ID);
    remove_log(QUEUE_BOUNCE, ECHO_ID);
    (void) rmdir(QUEUE_DEFER);
    (void) rmdir(QUEUE_BOUNCE);
    if (chdir("/") == 0)
        (void) rmdir(queue_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_dsn_log");
    snprintf(queue_dir, sizeof(queue_dir), "%s/fuzz_dsn_log.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    start_dir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (start_dir < 0 || mkdtemp(queue_dir) == NULL || chdir(queue_dir) < 0) {
        perror(queue_dir);
        abort();
    }
    /* Hashed queue folders ("defer/F/FUZZ0001") hold one file each here. */
    if (mkdir("defer", 0700) < 0 || mkdir("bounce", 0700) < 0 || fchdir(start_dir) < 0) {
        perror("mkdir");
        abort();
    }
    atexit(remove_scratch);
    return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
    buf_t path = BUF_INIT;
    char *slash;
    int fd;

    queue_path(&path, QUEUE_DEFER, INPUT_ID);
    slash = strrchr(path.data, '/');
    *slash = 0;
    if (mkdir(path.data, 0700) < 0 && errno != EEXIST)
        abort();
    *slash = '/';
    fd = open(buf_str(&path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, data, size) == (ssize_t) size);
    close(fd);
    buf_release(&path);
}

static void save_entry(const dsn_entry_t *e, void *ctx)
{
    saved_list_t *l = ctx;
    saved_t *s;

    FUZZ_CHECK(e->recipient && e->orig_rcpt && e->dsn_orig_rcpt && e->status
               && e->action && e->reason);
    if (l->seen++ >= ENTRIES_MAX)
        return;
    s = &l->v[l->n++];
    s->recipient = xstrdup(e->recipient);
    s->orig_rcpt = xstrdup(e->orig_rcpt);
    s->dsn_orig_rcpt = xstrdup(e->dsn_orig_rcpt);
    s->status = xstrdup(e->status);
    s->action = xstrdup(e->action);
    s->reason = xstrdup(e->reason);
    s->offset = e->offset;
    s->notify_flags = e->notify_flags;
}

static void free_saved(saved_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        saved_t *s = &l->v[i];

        free(s->recipient);
        free(s->orig_rcpt);
        free(s->dsn_orig_rcpt);
        free(s->status);
        free(s->action);
        free(s->reason);
    }
    l->n = l->seen = 0;
}

/* What the writer makes of a value: CR (and LF) become spaces. */
static int same_written(const char *written, const char *original)
{
    for (; *original; original++, written++) {
        char want = (*original == '\r' || *original == '\n') ? ' ' : *original;

        if (*written != want)
            return 0;
    }
    return *written == 0;
}

static void check_echo(const saved_list_t *in)
{
    static saved_list_t out;

    FUZZ_CHECK(dsn_log_remove(QUEUE_BOUNCE, ECHO_ID) == 0);
    for (size_t i = 0; i < in->n; i++) {
        const saved_t *s = &in->v[i];
        dsn_entry_t e = { s->recipient, s->orig_rcpt, s->offset, s->dsn_orig_rcpt,
                          s->notify_flags, s->status, s->action, s->reason };

        FUZZ_CHECK(dsn_log_append(QUEUE_BOUNCE, ECHO_ID, &e) == 0);
    }
    FUZZ_CHECK(dsn_log_read(QUEUE_BOUNCE, ECHO_ID, save_entry, &out) == 0 || in->n == 0);
    FUZZ_CHECK(out.n == in->n);
    for (size_t i = 0; i < in->n; i++) {
        const saved_t *a = &in->v[i], *b = &out.v[i];
        int orig_same = strcmp(a->orig_rcpt, a->recipient) == 0;

        FUZZ_CHECK(same_written(b->recipient, a->recipient));
        FUZZ_CHECK(same_written(b->orig_rcpt, orig_same ? "" : a->orig_rcpt));
        FUZZ_CHECK(same_written(b->dsn_orig_rcpt, a->dsn_orig_rcpt));
        FUZZ_CHECK(same_written(b->status, a->status));
        FUZZ_CHECK(same_written(b->action, a->action));
        FUZZ_CHECK(same_written(b->reason, a->reason));
        FUZZ_CHECK(b->offset == a->offset && b->notify_flags == a->notify_flags);
    }
    free_saved(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static saved_list_t in;

    /* Queue paths are relative, as in a daemon that chdir()s to the queue. */
    FUZZ_CHECK(chdir(queue_dir) == 0);
    write_input(data, size);
    FUZZ_CHECK(dsn_log_read(QUEUE_DEFER, INPUT_ID, save_entry, &in) == 0);
    check_echo(&in);
    free_saved(&in);
    FUZZ_CHECK(fchdir(start_dir) == 0);
    return 0;
}
