/* print: one queue file in postcat's layout. Envelope records as
 * "name: value" (times as asctime text, attributes as name=value), the
 * content as the message text (N records end a line, L pieces are joined),
 * split into header (-h) and body (-b, from the blank separator line on),
 * and "*** SECTION path ***" markers around the segments with -e. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "postcat.h"
#include "queue_info.h"
#include "record.h"

typedef enum { STATE_ENV, STATE_HEADER, STATE_BODY } pc_state_t;

typedef struct printer {
    const char *label;
    int         flags;
    pc_state_t  state;
    int         prev_type;     /* to join L pieces and keep a header line whole */
} printer_t;

static const struct rec_name {
    int         type;
    const char *name;
} rec_names[] = {
    { REC_TYPE_SIZE, "message_size" },
    { REC_TYPE_TIME, "message_arrival_time" },
    { REC_TYPE_CTIME, "create_time" },
    { REC_TYPE_FULL, "sender_fullname" },
    { REC_TYPE_FROM, "sender" },
    { REC_TYPE_RCPT, "recipient" },
    { REC_TYPE_DONE, "done_recipient" },
    { REC_TYPE_DRCP, "canceled_recipient" },
    { REC_TYPE_ORCP, "original_recipient" },
    { REC_TYPE_ATTR, "named_attribute" },
    { REC_TYPE_WARN, "warning_message_time" },
    { REC_TYPE_DSN_RET, "dsn_return_flags" },
    { REC_TYPE_DSN_ENVID, "dsn_envelope_id" },
    { REC_TYPE_DSN_ORCPT, "dsn_original_recipient" },
    { REC_TYPE_DSN_NOTIFY, "dsn_notify_flags" },
    { REC_TYPE_VERP, "verp_delimiters" },
    { REC_TYPE_FLGS, "cleanup_flags" },
    { REC_TYPE_RDR, "redirect_to" },
    { REC_TYPE_PTR, "pointer_record" },
    { REC_TYPE_PAD, "padding" },
    { REC_TYPE_MESG, "message_content" },
    { REC_TYPE_NORM, "regular_text" },
    { REC_TYPE_CONT, "content_filter" },      /* 'L' in the envelope */
    { REC_TYPE_XTRA, "extracted_info" },
    { REC_TYPE_END, "message_end" },
    { 'I', "inspect_transport" },
    { 'K', "killed" },
    { 'P', "priority" },
    { 'r', "return_receipt" },
    { 'e', "errors_to" },
    { 'd', "deferred_delay" },
    { 0, NULL },
};

static const char *rec_type_name(int type)
{
    const struct rec_name *n;

    for (n = rec_names; n->name != NULL; n++)
        if (n->type == type)
            return n->name;
    return "unknown_record_type";
}

/* Which records may open a queue file: C for cleanup's files, and what a
 * maildrop file or an older Postfix starts with. */
static int plausible_first(int type)
{
    return strchr("CTcFSA", type) != NULL;
}

static void print_prefix(const printer_t *p, size_t offset, int type)
{
    if (p->flags & PC_PRINT_OFFSET)
        printf("%9lu ", (unsigned long) offset);
    if (p->flags & PC_PRINT_DECIMAL)
        printf("%3d ", type);
}

static void print_marker(const printer_t *p, size_t offset, int type, const char *what)
{
    print_prefix(p, offset, type);
    printf("*** %s %s ***\n", what, p->label);
}

/* asctime() text without its newline; the raw value when it is no time. */
static void print_time(const char *name, const rec_t *rec)
{
    char text[64], when[64];
    struct tm tm;
    time_t t;
    long sec;

    if (rec->len > 0 && rec->len < sizeof(text)) {
        memcpy(text, rec->data, rec->len);
        text[rec->len] = 0;
        t = (time_t) (sec = strtol(text, NULL, 10));
        if (sec > 0 && localtime_r(&t, &tm) != NULL && asctime_r(&tm, when) != NULL) {
            when[strcspn(when, "\n")] = 0;
            printf("%s: %s\n", name, when);
            return;
        }
    }
    printf("%s: %.*s\n", name, (int) rec->len, rec->data);
}

static void print_attribute(const rec_t *rec)
{
    static const char create[] = "create_time=";
    size_t clen = sizeof(create) - 1;

    if (memchr(rec->data, '=', rec->len) == NULL) {
        msg_warn("malformed attribute: %.100s", rec->len ? rec->data : "");
        return;
    }
    if (rec->len > clen && memcmp(rec->data, create, clen) == 0) {
        rec_t value = { rec->type, rec->data + clen, rec->len - clen, rec->offset };

        print_time("create_time", &value);
        return;
    }
    printf("%s: %.*s\n", rec_type_name(rec->type), (int) rec->len, rec->data);
}

static void print_envelope_record(const printer_t *p, const rec_t *rec)
{
    print_prefix(p, rec->offset, rec->type);
    switch (rec->type) {
    case REC_TYPE_TIME:
    case REC_TYPE_CTIME:
    case REC_TYPE_WARN:
        print_time(rec_type_name(rec->type), rec);
        break;
    case REC_TYPE_ATTR:
        print_attribute(rec);
        break;
    default:
        printf("%s: ", rec_type_name(rec->type));
        fwrite(rec->data, 1, rec->len, stdout);
        putchar('\n');
        break;
    }
}

/* "Name:" at the start of a line: printable characters, no blank, a colon. */
static int is_header_start(const char *data, size_t len)
{
    const unsigned char *u = (const unsigned char *) data;
    size_t i = 0;

    while (i < len && u[i] > ' ' && u[i] < 0x7f && u[i] != ':')
        i++;
    if (i == 0)
        return 0;
    while (i < len && (u[i] == ' ' || u[i] == '\t'))
        i++;
    return i < len && u[i] == ':';
}

/* The header ends at the first line that is neither a header nor a
 * folded continuation: usually the blank line, which belongs to the body. */
static void print_content_record(printer_t *p, const rec_t *rec)
{
    int wanted;

    if (rec->type != REC_TYPE_NORM && rec->type != REC_TYPE_CONT) {
        if (p->flags & PC_PRINT_ENV)
            print_envelope_record(p, rec);
        return;
    }
    if (p->state == STATE_HEADER && p->prev_type != REC_TYPE_CONT
        && !is_header_start(rec->data, rec->len)
        && !(rec->len > 0 && (rec->data[0] == ' ' || rec->data[0] == '\t')))
        p->state = STATE_BODY;
    wanted = (p->state == STATE_HEADER && (p->flags & PC_PRINT_HEADER))
          || (p->state == STATE_BODY && (p->flags & PC_PRINT_BODY));
    if (wanted) {
        if (p->prev_type != REC_TYPE_CONT)
            print_prefix(p, rec->offset, rec->type);
        fwrite(rec->data, 1, rec->len, stdout);
        if (rec->type == REC_TYPE_NORM)
            putchar('\n');
    }
    p->prev_type = rec->type;
}

static void print_record(printer_t *p, const rec_t *rec)
{
    switch (rec->type) {
    case REC_TYPE_MESG:
        if (p->flags & PC_PRINT_ENV)
            print_marker(p, rec->offset, rec->type, "MESSAGE CONTENTS");
        p->state = STATE_HEADER;
        p->prev_type = 0;
        return;
    case REC_TYPE_XTRA:
        if (p->flags & PC_PRINT_ENV)
            print_marker(p, rec->offset, rec->type, "HEADER EXTRACTED");
        p->state = STATE_ENV;
        return;
    default:
        break;
    }
    if (p->state == STATE_ENV) {
        if (p->flags & PC_PRINT_ENV)
            print_envelope_record(p, rec);
    } else {
        print_content_record(p, rec);
    }
}

void postcat_print(const char *label, const char *data, size_t size, size_t start, int flags)
{
    printer_t p = { label, flags, STATE_ENV, 0 };
    queue_walk_t walk;
    rec_t rec;
    int got;

    if (start == 0 && size > 0 && !plausible_first((unsigned char) data[0])) {
        msg_warn("%s: input is not a valid queue file", label);
        return;
    }
    if (flags & PC_PRINT_ENV)
        print_marker(&p, start, 0, "ENVELOPE RECORDS");
    queue_walk_init(&walk, data, size, start, (flags & PC_RAW) ? QUEUE_WALK_RAW : 0);
    while ((got = queue_walk_next(&walk, &rec)) == 1) {
        if (rec.type == REC_TYPE_END) {
            if (flags & PC_PRINT_ENV)
                print_marker(&p, rec.offset, rec.type, "MESSAGE FILE END");
            break;
        }
        print_record(&p, &rec);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal("write error: %m");
    if (got < 0)
        msg_fatal("record read error");
}
