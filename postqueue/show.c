/* show: postqueue -p / mailq and postqueue -j. facteur has no showq
 * daemon: the queue folders are read directly, which works for root and
 * for the mail_owner; anyone else gets Postfix's "Queue report
 * unavailable" (exit 69). Queues are listed in Postfix's order: maildrop,
 * active, incoming, deferred, hold; each recipient's delay reason comes
 * from defer/ID. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "buf.h"
#include "dsn_log.h"
#include "log.h"
#include "postqueue.h"
#include "queue_file.h"
#include "queue_info.h"
#include "queue_scan.h"

#define REASON_COLUMN   76     /* a reason line "(text)" ends at this column + 2 */
#define RCPT_INDENT     41

static const char *const show_queues[] = {
    QUEUE_MAILDROP, QUEUE_ACTIVE, QUEUE_INCOMING, QUEUE_DEFERRED, QUEUE_HOLD,
};
#define SHOW_QUEUE_COUNT (sizeof(show_queues) / sizeof(show_queues[0]))

/* ---- Delay reasons from defer/ID ---- */

typedef struct reason {
    char *recipient;
    long  offset;
    char *text;
} reason_t;

typedef struct reason_list {
    reason_t *items;
    size_t    count;
    size_t    cap;
} reason_list_t;

/* The log grows with each attempt: a later entry replaces an earlier one
 * for the same recipient record. */
static void reason_collect(const dsn_entry_t *e, void *ctx)
{
    reason_list_t *list = ctx;
    reason_t *r = NULL;
    size_t i;

    for (i = 0; i < list->count && r == NULL; i++)
        if (list->items[i].offset == e->offset && strcmp(list->items[i].recipient, e->recipient) == 0)
            r = &list->items[i];
    if (r == NULL) {
        if (list->count == list->cap) {
            list->cap = list->cap ? size_mul(list->cap, 2) : 8;
            list->items = xreallocarray(list->items, list->cap, sizeof(*list->items));
        }
        r = &list->items[list->count++];
        r->recipient = xstrdup(e->recipient);
        r->offset = e->offset;
        r->text = NULL;
    }
    free(r->text);
    r->text = xstrdup(e->reason ? e->reason : "");
}

static void reasons_release(reason_list_t *list)
{
    size_t i;

    for (i = 0; i < list->count; i++) {
        free(list->items[i].recipient);
        free(list->items[i].text);
    }
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static void reasons_load(reason_list_t *list, const char *queue, const char *id)
{
    memset(list, 0, sizeof(*list));
    if (strcmp(queue, QUEUE_MAILDROP) == 0)
        return;
    if (dsn_log_read(QUEUE_DEFER, id, reason_collect, list) < 0 && errno != ENOENT)
        msg_warn("%s: read defer log: %m", id);
}

/* The reason for one recipient record: same offset first, then same address. */
static const char *reason_for(const reason_list_t *list, const queue_info_rcpt_t *rcpt)
{
    const char *by_address = NULL;
    size_t i;

    for (i = 0; i < list->count; i++) {
        if (strcmp(list->items[i].recipient, rcpt->address) != 0)
            continue;
        if (list->items[i].offset == rcpt->offset)
            return list->items[i].text;
        by_address = list->items[i].text;
    }
    return by_address;
}

/* ---- Text: postqueue -p, mailq ---- */

typedef struct show_totals {
    long messages;
    long bytes;
} show_totals_t;

/* "*" active, "!" on hold, "#" force-expired: glued to the queue ID. */
static const char *status_marker(const char *queue, const queue_info_t *info)
{
    if (strcmp(queue, QUEUE_ACTIVE) == 0)
        return "*";
    if (strcmp(queue, QUEUE_HOLD) == 0)
        return "!";
    if (queue_info_forced_expire(info))
        return "#";
    return "";
}

/* asctime() text, "Tue Nov 24 07:02:01 2026"; the row shows its first 20 bytes. */
static void arrival_text(long when, char *out, size_t size)
{
    time_t t = (time_t) when;
    struct tm tm;
    char text[64];

    if (localtime_r(&t, &tm) == NULL || asctime_r(&tm, text) == NULL)
        snprintf(text, sizeof(text), "%ld", when);
    text[strcspn(text, "\n")] = 0;
    snprintf(out, size, "%s", text);
}

static void print_reason(const char *text)
{
    int pad = REASON_COLUMN - (int) strlen(text);

    printf("%*s(%s)\n", pad > 0 ? pad : 0, "", text);
}

/* Recipients still to do, each after its reason when that changed. */
static void print_recipients(const queue_info_t *info, const reason_list_t *reasons)
{
    const char *last = NULL;
    size_t i;

    for (i = 0; i < info->rcpt_count; i++) {
        const queue_info_rcpt_t *rcpt = &info->rcpts[i];
        const char *reason;

        if (rcpt->done)
            continue;
        reason = reason_for(reasons, rcpt);
        if (reason == NULL && last != NULL)
            reason = "reason unavailable";
        if (reason != NULL && (last == NULL || strcmp(reason, last) != 0))
            print_reason(reason);
        last = reason;
        printf("%*s%s\n", RCPT_INDENT, "", rcpt->address);
    }
}

static void show_text_message(const char *queue, const char *id, const queue_info_t *info,
                              const reason_list_t *reasons, show_totals_t *totals)
{
    buf_t label = BUF_INIT;
    char when[64];
    long size = queue_info_message_size(info);

    if (totals->messages == 0)
        printf("%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--",
               "----Arrival Time----", "-Sender/Recipient-------");
    buf_printf(&label, "%s%s", id, status_marker(queue, info));
    arrival_text(info->arrival, when, sizeof(when));
    printf("%-11s %7ld %20.20s %s\n", label.data, size, when,
           *info->sender ? info->sender : "MAILER-DAEMON");
    print_recipients(info, reasons);
    printf("\n");
    totals->messages++;
    totals->bytes += size;
    buf_release(&label);
}

static void show_text_footer(const show_totals_t *totals)
{
    if (totals->messages == 0)
        printf("Mail queue is empty\n");
    else
        printf("-- %ld Kbytes in %ld Request%s.\n", totals->bytes / 1024,
               totals->messages, totals->messages == 1 ? "" : "s");
}

/* ---- JSON: postqueue -j, one object per line ---- */

static void json_string(buf_t *out, const char *s)
{
    buf_putc(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;

        if (c == '"' || c == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, c);
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(out, "\\u%04x", c);
        } else {
            buf_putc(out, c);
        }
    }
    buf_putc(out, '"');
}

static void show_json_message(const char *queue, const char *id, const queue_info_t *info,
                              const reason_list_t *reasons)
{
    buf_t out = BUF_INIT;
    const char *sep = "";
    size_t i;

    buf_puts(&out, "{\"queue_name\": ");
    json_string(&out, queue);
    buf_puts(&out, ", \"queue_id\": ");
    json_string(&out, id);
    buf_printf(&out, ", \"arrival_time\": %ld, \"message_size\": %ld, \"forced_expire\": %s",
               info->arrival, queue_info_message_size(info),
               queue_info_forced_expire(info) ? "true" : "false");
    buf_puts(&out, ", \"sender\": ");
    json_string(&out, info->sender);
    buf_puts(&out, ", \"recipients\": [");
    for (i = 0; i < info->rcpt_count; i++) {
        const char *reason;

        if (info->rcpts[i].done)
            continue;
        buf_printf(&out, "%s{\"address\": ", sep);
        json_string(&out, info->rcpts[i].address);
        if ((reason = reason_for(reasons, &info->rcpts[i])) != NULL) {
            buf_puts(&out, ", \"delay_reason\": ");
            json_string(&out, reason);
        }
        buf_putc(&out, '}');
        sep = ", ";
    }
    buf_puts(&out, "]}\n");
    fwrite(out.data, 1, out.len, stdout);
    buf_release(&out);
}

/* ---- The walk ---- */

/* All queue folders are opened before anything is printed, so that a user
 * who may not read them gets one clear failure and no partial report. */
static void open_queues(queue_scan_t **scans)
{
    size_t i;

    for (i = 0; i < SHOW_QUEUE_COUNT; i++) {
        scans[i] = queue_scan_open(show_queues[i], 0);
        if (queue_scan_error(scans[i]) != 0) {
            errno = queue_scan_error(scans[i]);
            if (errno == EACCES || errno == EPERM)
                msg_fatal_status(POSTQUEUE_EXIT_FAIL, "Queue report unavailable - mail system is down");
            msg_fatal_status(POSTQUEUE_EXIT_FAIL, "open directory %s: %m", show_queues[i]);
        }
    }
}

static void show_one(int format, const char *queue, const queue_scan_entry_t *entry,
                     show_totals_t *totals)
{
    queue_info_t info;
    reason_list_t reasons;

    if (queue_info_read(entry->path, &info) < 0) {
        /* Moved or removed since the folder was read: qmgr is at work. */
        if (errno != ENOENT)
            msg_warn("%s: skipping unreadable queue file %s: %m", entry->id, entry->path);
        return;
    }
    reasons_load(&reasons, queue, entry->id);
    if (format == SHOW_FORMAT_JSON)
        show_json_message(queue, entry->id, &info, &reasons);
    else
        show_text_message(queue, entry->id, &info, &reasons, totals);
    reasons_release(&reasons);
    queue_info_free(&info);
}

int show_queue(int format)
{
    queue_scan_t *scans[SHOW_QUEUE_COUNT];
    show_totals_t totals = { 0, 0 };
    queue_scan_entry_t entry;
    size_t i;

    open_queues(scans);
    for (i = 0; i < SHOW_QUEUE_COUNT; i++) {
        while (queue_scan_next(scans[i], &entry))
            show_one(format, show_queues[i], &entry, &totals);
        queue_scan_close(scans[i]);
    }
    if (format == SHOW_FORMAT_TEXT)
        show_text_footer(&totals);
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal_status(POSTQUEUE_EXIT_FAIL, "write error: %m");
    return 0;
}
