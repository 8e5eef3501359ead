/* dsn_log: per-message defer/ID and bounce/ID logs in Postfix's plain
 * format (one block of name=value lines per recipient). An append is one
 * locked write, fsync'd, and cut back to the old size when it fails, so
 * readers never see half a block from a failed writer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "dsn_log.h"
#include "log.h"
#include "queue_file.h"
#include "stream.h"

/* Longest line dsn_log_read accepts; longer ones spoil their entry. */
#define DSN_LINE_MAX   16384

/* ---------------------------------------------------------------- */
/* Paths                                                            */
/* ---------------------------------------------------------------- */

static int log_path(buf_t *path, const char *queue, const char *id)
{
    if (!queue_id_valid(id)) {
        errno = EINVAL;
        return -1;
    }
    queue_path(path, queue, id);
    return 0;
}

/* Creates the missing folders above path ("defer/5"), mode 0700. */
static int make_parent_dirs(const char *path)
{
    buf_t dir = BUF_INIT;
    int result = 0;

    for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
        buf_reset(&dir);
        buf_append(&dir, path, (size_t) (slash - path));
        if (mkdir(buf_str(&dir), 0700) < 0 && errno != EEXIST) {
            result = -1;
            break;
        }
    }
    buf_release(&dir);
    return result;
}

static int open_for_append(const char *path)
{
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
    int fd = open(path, flags, 0600);

    if (fd < 0 && errno == ENOENT) {
        if (make_parent_dirs(path) < 0)
            return -1;
        fd = open(path, flags, 0600);
    }
    return fd;
}

/* ---------------------------------------------------------------- */
/* Writing                                                          */
/* ---------------------------------------------------------------- */

/* Appends text with CR and LF turned into spaces: a value must never
 * start a new line (it could forge attributes of its own). */
static void put_value(buf_t *out, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++)
        buf_putc(out, (*p == '\r' || *p == '\n') ? ' ' : *p);
}

static void put_attr(buf_t *out, const char *name, const char *value)
{
    buf_puts(out, name);
    buf_putc(out, '=');
    put_value(out, value);
    buf_putc(out, '\n');
}

static int is_set(const char *s)
{
    return s != NULL && *s != 0;
}

static void format_entry(buf_t *out, const dsn_entry_t *e)
{
    buf_putc(out, '\n');
    buf_putc(out, '<');
    put_value(out, e->recipient);
    buf_puts(out, ">: ");
    put_value(out, e->reason);
    buf_putc(out, '\n');
    put_attr(out, "recipient", e->recipient);
    if (is_set(e->orig_rcpt) && strcmp(e->orig_rcpt, e->recipient ? e->recipient : "") != 0)
        put_attr(out, "orig_rcpt", e->orig_rcpt);
    buf_printf(out, "offset=%ld\n", e->offset);
    if (is_set(e->dsn_orig_rcpt))
        put_attr(out, "dsn_orig_rcpt", e->dsn_orig_rcpt);
    if (e->notify_flags != 0)
        buf_printf(out, "notify_flags=%ld\n", e->notify_flags);
    put_attr(out, "status", e->status);
    put_attr(out, "action", e->action);
    put_attr(out, "reason", e->reason);
    buf_putc(out, '\n');
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Under the lock: remember the size, write, fsync; on failure cut the
 * file back so that no partial block stays behind. */
static int append_locked(int fd, const buf_t *block)
{
    struct stat st;
    int saved;

    if (fstat(fd, &st) < 0)
        return -1;
    if (write_all(fd, block->data, block->len) == 0 && fsync(fd) == 0)
        return 0;
    saved = errno;
    if (ftruncate(fd, st.st_size) < 0)
        msg_warn("truncate dsn log back to %lld bytes: %s",
                 (long long) st.st_size, strerror(errno));
    errno = saved;
    return -1;
}

int dsn_log_append(const char *queue, const char *id, const dsn_entry_t *e)
{
    buf_t path = BUF_INIT, block = BUF_INIT;
    int fd, result = -1, saved;

    if (log_path(&path, queue, id) < 0)
        goto out;
    if ((fd = open_for_append(buf_str(&path))) < 0)
        goto out;
    format_entry(&block, e);
    if (flock(fd, LOCK_EX) == 0)
        result = append_locked(fd, &block);
    saved = errno;
    close(fd);                              /* also releases the lock */
    errno = saved;
out:
    saved = errno;
    buf_release(&path);
    buf_release(&block);
    errno = saved;
    return result;
}

int dsn_log_remove(const char *queue, const char *id)
{
    buf_t path = BUF_INIT;
    int result = 0, saved;

    if (log_path(&path, queue, id) < 0) {
        buf_release(&path);
        return -1;
    }
    if (unlink(buf_str(&path)) < 0 && errno != ENOENT)
        result = -1;
    saved = errno;
    buf_release(&path);
    errno = saved;
    return result;
}

/* ---------------------------------------------------------------- */
/* Reading                                                          */
/* ---------------------------------------------------------------- */

/* One entry being collected: every value a copy owned here. */
typedef struct entry_acc {
    char *recipient, *orig_rcpt, *dsn_orig_rcpt, *status, *action, *reason;
    long  offset;
    long  notify_flags;
    int   bad;                              /* an over-long or broken line */
    int   any;                              /* at least one attribute */
} entry_acc_t;

static void acc_clear(entry_acc_t *a)
{
    free(a->recipient);
    free(a->orig_rcpt);
    free(a->dsn_orig_rcpt);
    free(a->status);
    free(a->action);
    free(a->reason);
    memset(a, 0, sizeof(*a));
}

static void acc_set(char **field, const char *value)
{
    free(*field);
    *field = xstrdup(value);
}

static int parse_long(const char *text, long *value)
{
    char *end;

    errno = 0;
    *value = strtol(text, &end, 10);
    return (errno == 0 && end != text && *end == 0) ? 0 : -1;
}

/* Takes one "name=value" line; unknown names are ignored (newer writers). */
static void acc_attr(entry_acc_t *a, const char *line)
{
    const char *eq = strchr(line, '=');
    size_t nlen;
    const char *value;

    if (eq == NULL) {
        a->bad = 1;
        return;
    }
    nlen = (size_t) (eq - line);
    value = eq + 1;
    a->any = 1;
#define NAME_IS(s) (nlen == sizeof(s) - 1 && memcmp(line, s, nlen) == 0)
    if (NAME_IS("recipient"))
        acc_set(&a->recipient, value);
    else if (NAME_IS("orig_rcpt"))
        acc_set(&a->orig_rcpt, value);
    else if (NAME_IS("dsn_orig_rcpt"))
        acc_set(&a->dsn_orig_rcpt, value);
    else if (NAME_IS("status"))
        acc_set(&a->status, value);
    else if (NAME_IS("action"))
        acc_set(&a->action, value);
    else if (NAME_IS("reason"))
        acc_set(&a->reason, value);
    else if (NAME_IS("offset") && parse_long(value, &a->offset) < 0)
        a->bad = 1;
    else if (NAME_IS("notify_flags") && parse_long(value, &a->notify_flags) < 0)
        a->bad = 1;
#undef NAME_IS
}

static void acc_emit(entry_acc_t *a, void (*fn)(const dsn_entry_t *, void *), void *ctx)
{
    dsn_entry_t e;

    if (a->any && !a->bad && a->recipient != NULL) {
        e.recipient = a->recipient;
        e.orig_rcpt = a->orig_rcpt ? a->orig_rcpt : "";
        e.offset = a->offset;
        e.dsn_orig_rcpt = a->dsn_orig_rcpt ? a->dsn_orig_rcpt : "";
        e.notify_flags = a->notify_flags;
        e.status = a->status ? a->status : "";
        e.action = a->action ? a->action : "";
        e.reason = a->reason ? a->reason : "";
        fn(&e, ctx);
    } else if (a->any) {
        msg_warn("dsn log: skipping a malformed entry");
    }
    acc_clear(a);
}

/* Reads one line without its '\n' into line. Returns STREAM_LINE for a
 * whole line, STREAM_LINE_PART when it was too long (the rest is skipped),
 * STREAM_LINE_EOF for a final line without '\n' (or nothing), or ERR. */
static int read_line(stream_t *s, buf_t *line)
{
    int r;

    buf_reset(line);
    r = stream_get_line(s, line, DSN_LINE_MAX);
    if (r == STREAM_LINE) {
        buf_truncate(line, line->len - 1);
        return STREAM_LINE;
    }
    if (r != STREAM_LINE_PART)
        return r;
    do {                                    /* drain the rest of a long line */
        buf_t rest = BUF_INIT;

        r = stream_get_line(s, &rest, DSN_LINE_MAX);
        buf_release(&rest);
    } while (r == STREAM_LINE_PART);
    return r == STREAM_LINE_ERR ? r : STREAM_LINE_PART;
}

static int read_entries(stream_t *s, void (*fn)(const dsn_entry_t *, void *), void *ctx)
{
    entry_acc_t acc;
    buf_t line = BUF_INIT;
    int r, result = 0;

    memset(&acc, 0, sizeof(acc));
    for (;;) {
        r = read_line(s, &line);
        if (r == STREAM_LINE_ERR) {
            result = -1;
            break;
        }
        if (r == STREAM_LINE_EOF)
            break;                          /* a last entry without its blank line is dropped */
        if (r == STREAM_LINE_PART)
            acc.bad = acc.any = 1;
        else if (line.len == 0)
            acc_emit(&acc, fn, ctx);
        else if (line.data[0] != '<')       /* the human line is for people */
            acc_attr(&acc, buf_str(&line));
    }
    acc_clear(&acc);
    buf_release(&line);
    return result;
}

int dsn_log_read(const char *queue, const char *id,
                 void (*fn)(const dsn_entry_t *e, void *ctx), void *ctx)
{
    buf_t path = BUF_INIT;
    stream_t *s;
    int fd, result, saved;

    if (log_path(&path, queue, id) < 0) {
        buf_release(&path);
        return -1;
    }
    fd = open(buf_str(&path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    saved = errno;
    buf_release(&path);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    /* A shared lock keeps us from reading a block a writer is appending. */
    if (flock(fd, LOCK_SH) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    s = stream_fdopen(fd);
    result = read_entries(s, fn, ctx);
    saved = errno;
    stream_close(s);
    errno = saved;
    return result;
}
