/* queue_info: a queue file seen by qmgr and the admin tools: mapped
 * read-only, walked record by record in logical order, summarised as its
 * envelope. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "queue_info.h"

#define POINTER_JUMPS_MAX  10000      /* 'p' records followed per walk */

/* ------------------------------------------------------------------ */
/* Read-only map                                                      */
/* ------------------------------------------------------------------ */

int queue_view_open(const char *path, queue_view_t *view)
{
    int saved;

    memset(view, 0, sizeof(*view));
    view->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (view->fd < 0)
        return -1;
    if (fstat(view->fd, &view->st) < 0)
        goto fail;
    if (!S_ISREG(view->st.st_mode)) {
        errno = EINVAL;
        goto fail;
    }
    view->size = (size_t) view->st.st_size;
    if (view->size == 0) {
        view->data = "";
        return 0;
    }
    view->data = mmap(NULL, view->size, PROT_READ, MAP_SHARED, view->fd, 0);
    if (view->data == MAP_FAILED)
        goto fail;
    return 0;

fail:
    saved = errno;
    close(view->fd);
    memset(view, 0, sizeof(*view));
    view->fd = -1;
    errno = saved;
    return -1;
}

void queue_view_close(queue_view_t *view)
{
    if (view->data != NULL && view->size > 0 && munmap((void *) view->data, view->size) < 0)
        msg_warn("munmap: %m");
    if (view->fd >= 0)
        close(view->fd);
    memset(view, 0, sizeof(*view));
    view->fd = -1;
}

/* ------------------------------------------------------------------ */
/* Record walk                                                        */
/* ------------------------------------------------------------------ */

void queue_walk_init(queue_walk_t *walk, const char *data, size_t size, size_t start, int flags)
{
    walk->data = data;
    walk->size = size;
    walk->pos = start;
    walk->flags = flags;
    walk->jumps = 0;
}

/* The whole record as a decimal number (blanks around allowed). */
static int rec_decimal(const rec_t *rec, long *value)
{
    char text[32];
    char *end;
    const char *p;

    if (rec->len == 0 || rec->len >= sizeof(text))
        return -1;
    memcpy(text, rec->data, rec->len);
    text[rec->len] = 0;
    for (p = text; *p == ' '; p++)
        ;
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    *value = strtol(p, &end, 10);
    while (*end == ' ')
        end++;
    return errno == 0 && *end == 0 ? 0 : -1;
}

int queue_walk_next(queue_walk_t *walk, rec_t *rec)
{
    for (;;) {
        long target;
        int got = rec_parse(walk->data, walk->size, &walk->pos, rec);

        if (got <= 0)
            return got;
        if (rec->type != REC_TYPE_PTR || (walk->flags & QUEUE_WALK_RAW))
            return 1;
        if (rec_decimal(rec, &target) < 0)
            return -1;
        if (target == 0)
            continue;                       /* a placeholder */
        if (target < 0 || (size_t) target >= walk->size || ++walk->jumps > POINTER_JUMPS_MAX)
            return -1;
        walk->pos = (size_t) target;
    }
}

/* ------------------------------------------------------------------ */
/* Envelope summary                                                   */
/* ------------------------------------------------------------------ */

/* What precedes a recipient record and belongs to it. */
typedef struct rcpt_pending {
    char *orig_rcpt;        /* 'O' */
    char *dsn_orig_rcpt;    /* 'o' */
    long  notify_flags;     /* 'n' */
} rcpt_pending_t;

typedef struct info_reader {
    queue_info_t   *info;
    const char     *base;       /* the file's bytes: record offsets */
    size_t          cap;
    rcpt_pending_t  pending;
} info_reader_t;

static void pending_clear(rcpt_pending_t *p)
{
    free(p->orig_rcpt);
    free(p->dsn_orig_rcpt);
    memset(p, 0, sizeof(*p));
}

static void replace_str(char **dst, const rec_t *rec)
{
    free(*dst);
    *dst = xstrndup(rec->data, rec->len);
}

static void read_time(queue_info_t *info, const rec_t *rec)
{
    char text[64];
    long sec = 0, usec = 0;

    if (rec->len == 0 || rec->len >= sizeof(text))
        return;
    memcpy(text, rec->data, rec->len);
    text[rec->len] = 0;
    if (sscanf(text, "%ld %ld", &sec, &usec) >= 1 && sec > 0) {
        info->arrival = sec;
        info->arrival_usec = usec >= 0 && usec < 1000000 ? usec : 0;
    }
}

/* The value of "name=value" when the record is that attribute. */
static int attr_value(const rec_t *rec, const char *name, rec_t *value)
{
    size_t nlen = strlen(name);

    if (rec->len <= nlen || memcmp(rec->data, name, nlen) != 0 || rec->data[nlen] != '=')
        return 0;
    value->type = rec->type;
    value->data = rec->data + nlen + 1;
    value->len = rec->len - nlen - 1;
    value->offset = rec->offset;
    return 1;
}

static void read_attr(queue_info_t *info, const rec_t *rec)
{
    rec_t value;
    long t;

    if (attr_value(rec, "create_time", &value)) {
        if (rec_decimal(&value, &t) == 0 && t > 0)
            info->create_time = t;
    } else if (attr_value(rec, "client_name", &value)) {
        replace_str(&info->client_name, &value);
    } else if (attr_value(rec, "client_address", &value)) {
        replace_str(&info->client_address, &value);
    }
}

/* Only the first W counts: it is the one qmgr updates in place. */
static void read_warn(info_reader_t *r, const rec_t *rec)
{
    queue_info_t *info = r->info;
    long t;

    if (info->warn_offset != 0 || rec_decimal(rec, &t) < 0)
        return;
    info->warn_time = t;
    info->warn_offset = (long) (rec->data - r->base);
    info->warn_len = rec->len;
}

static void add_recipient(info_reader_t *r, const rec_t *rec)
{
    queue_info_t *info = r->info;
    queue_info_rcpt_t *rcpt;

    if (info->rcpt_count == r->cap) {
        r->cap = r->cap ? size_mul(r->cap, 2) : 8;
        info->rcpts = xreallocarray(info->rcpts, r->cap, sizeof(*info->rcpts));
    }
    rcpt = &info->rcpts[info->rcpt_count++];
    rcpt->address = xstrndup(rec->data, rec->len);
    rcpt->orig_rcpt = r->pending.orig_rcpt ? r->pending.orig_rcpt : xstrdup("");
    rcpt->dsn_orig_rcpt = r->pending.dsn_orig_rcpt ? r->pending.dsn_orig_rcpt : xstrdup("");
    rcpt->notify_flags = r->pending.notify_flags;
    r->pending.orig_rcpt = NULL;
    r->pending.dsn_orig_rcpt = NULL;
    r->pending.notify_flags = 0;
    rcpt->offset = (long) rec->offset;
    rcpt->done = rec->type != REC_TYPE_RCPT;
    if (!rcpt->done)
        info->rcpt_todo++;
}

/* A record of the envelope or of the extracted segment. */
static void read_envelope_record(info_reader_t *r, const rec_t *rec)
{
    queue_info_t *info = r->info;
    long value;

    switch (rec->type) {
    case REC_TYPE_TIME:
        read_time(info, rec);
        break;
    case REC_TYPE_ATTR:
        read_attr(info, rec);
        break;
    case REC_TYPE_FROM:
        replace_str(&info->sender, rec);
        break;
    case REC_TYPE_WARN:
        read_warn(r, rec);
        break;
    case REC_TYPE_DSN_RET:
        if (rec_decimal(rec, &value) == 0)
            info->dsn_ret = value;
        break;
    case REC_TYPE_DSN_ENVID:
        replace_str(&info->envid, rec);
        break;
    case REC_TYPE_DSN_ORCPT:
        replace_str(&r->pending.dsn_orig_rcpt, rec);
        break;
    case REC_TYPE_DSN_NOTIFY:
        if (rec_decimal(rec, &value) == 0)
            r->pending.notify_flags = value;
        break;
    case REC_TYPE_ORCP:
        replace_str(&r->pending.orig_rcpt, rec);
        break;
    case REC_TYPE_RCPT:
    case REC_TYPE_DONE:
    case REC_TYPE_DRCP:
        add_recipient(r, rec);
        break;
    default:
        break;
    }
}

/* Walks every record; 0 once E is reached, -1 otherwise. */
static int read_records(info_reader_t *r, const char *data, size_t size)
{
    queue_walk_t walk;
    rec_t rec;
    int in_content = 0;
    int first = 1;
    int got;

    queue_walk_init(&walk, data, size, 0, 0);
    while ((got = queue_walk_next(&walk, &rec)) == 1) {
        if (first && rec.type == REC_TYPE_SIZE) {
            if (rec_size_parse(rec.data, rec.len, &r->info->size) < 0)
                return -1;
            r->info->has_size = 1;
        }
        first = 0;
        if (rec.type == REC_TYPE_END)
            return 0;
        if (rec.type == REC_TYPE_MESG)
            in_content = 1;
        else if (rec.type == REC_TYPE_XTRA)
            in_content = 0;
        else if (!in_content)
            read_envelope_record(r, &rec);
    }
    return -1;
}

int queue_info_parse(const char *data, size_t size, const struct stat *st, queue_info_t *info)
{
    info_reader_t r;
    int ok;

    memset(info, 0, sizeof(*info));
    info->st = *st;
    memset(&r, 0, sizeof(r));
    r.info = info;
    r.base = data;
    ok = read_records(&r, data, size) == 0;
    pending_clear(&r.pending);
    if (!ok) {
        queue_info_free(info);
        errno = EINVAL;
        return -1;
    }
    if (info->arrival == 0)
        info->arrival = (long) st->st_mtime;
    if (info->create_time == 0)
        info->create_time = info->arrival;
    if (info->sender == NULL)
        info->sender = xstrdup("");
    if (info->envid == NULL)
        info->envid = xstrdup("");
    if (info->client_name == NULL)
        info->client_name = xstrdup("");
    if (info->client_address == NULL)
        info->client_address = xstrdup("");
    return 0;
}

int queue_info_read(const char *path, queue_info_t *info)
{
    queue_view_t view;
    int ret, saved;

    memset(info, 0, sizeof(*info));
    if (queue_view_open(path, &view) < 0)
        return -1;
    ret = queue_info_parse(view.data, view.size, &view.st, info);
    saved = errno;
    queue_view_close(&view);
    errno = saved;
    return ret;
}

void queue_info_free(queue_info_t *info)
{
    size_t i;

    for (i = 0; i < info->rcpt_count; i++) {
        free(info->rcpts[i].address);
        free(info->rcpts[i].orig_rcpt);
        free(info->rcpts[i].dsn_orig_rcpt);
    }
    free(info->rcpts);
    free(info->sender);
    free(info->envid);
    free(info->client_name);
    free(info->client_address);
    memset(info, 0, sizeof(*info));
}

long queue_info_message_size(const queue_info_t *info)
{
    if (info->has_size && info->size.content_size >= 0)
        return info->size.content_size;
    return (long) info->st.st_size;
}

int queue_info_forced_expire(const queue_info_t *info)
{
    return (info->st.st_mode & QUEUE_MODE_EXPIRE) != 0;
}
