/* bounce: builds the sender's delivery status notices (RFC 3464
 * multipart/report: a human explanation, a delivery-status part, the
 * original message or its headers): non-delivery, delay warning and
 * successful delivery. Each is submitted through cleanup with the null
 * sender, so that it becomes an ordinary queue file. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "address.h"
#include "alloc.h"
#include "buf.h"
#include "cleanup_client.h"
#include "log.h"
#include "maildate.h"
#include "qmgr.h"
#include "queue_file.h"
#include "record.h"
#include "stream.h"

#define DSN_RET_HDRS     2

/* What differs between the kinds of notice. */
typedef struct notice_style {
    const char *name;                 /* for warnings */
    const char *subject;
    const char *action;               /* RFC 3464 Action: */
    const char *default_status;
    const char *original_part;        /* Content-Description of the original */
    const char *const *explanation;   /* lines after "This is the mail system ..." */
    int         headers_only;         /* never the whole original */
} notice_style_t;

static const char *const failure_text[] = {
    "Your message could not be delivered to one or more of its",
    "recipients. Each failed recipient is listed below with the",
    "reason; your original message is attached at the end.",
    "",
    "If you need help, write to the postmaster of this system and",
    "include this report. You can remove any text you consider",
    "private from the attached copy.",
    NULL,
};

static const char *const delay_text[] = {
    "This is a warning only: you do not need to send your message again.",
    "",
    "Your message has not been delivered yet to the recipients listed",
    "below, for the reason given with each. The mail system keeps trying;",
    "you will be told again only if it finally gives up. The headers of",
    "your message are attached at the end.",
    NULL,
};

static const char *const success_text[] = {
    "Your message was delivered to the recipients listed below, as you",
    "asked. Delivery to a mailbox is final: you will hear nothing more",
    "about it. A system further on may still report trouble with a",
    "message that was passed on to it.",
    NULL,
};

static const notice_style_t styles[] = {
    [NOTICE_FAILURE] = {
        "non-delivery notification", "Undelivered Mail Returned to Sender",
        "failed", "5.0.0", "Undelivered Message", failure_text, 0,
    },
    [NOTICE_DELAY] = {
        "delay notification", "Delayed Mail (still being retried)",
        "delayed", "4.0.0", "Undelivered Message Headers", delay_text, 1,
    },
    [NOTICE_SUCCESS] = {
        "delivery status notification", "Successful Mail Delivery Report",
        "delivered", "2.0.0", "Delivered Message Headers", success_text, 1,
    },
};

typedef struct notice {
    const qmgr_message_t *msg;
    const notice_style_t *style;
    notice_kind_t         kind;
    stream_t             *s;
    buf_t                 boundary;
    buf_t                 line;
} notice_t;

/* Text from logs goes into headers and body lines: no line breaks or
 * other control characters may slip through. */
static void put_clean(buf_t *out, const char *text)
{
    for (; *text; text++)
        buf_putc(out, (unsigned char) *text < 0x20 || *text == 0x7f ? ' ' : *text);
}

static void put_line(notice_t *n, const char *text)
{
    rec_puts(n->s, REC_TYPE_NORM, text);
}

static void put_linef(notice_t *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_linef(notice_t *n, const char *fmt, ...)
{
    va_list ap;

    buf_reset(&n->line);
    va_start(ap, fmt);
    buf_vprintf(&n->line, fmt, ap);
    va_end(ap);
    rec_put(n->s, REC_TYPE_NORM, n->line.data, n->line.len);
}

/* "label" + cleaned value as one line. */
static void put_field(notice_t *n, const char *label, const char *value)
{
    buf_set(&n->line, label);
    put_clean(&n->line, value);
    rec_put(n->s, REC_TYPE_NORM, n->line.data, n->line.len);
}

static void put_date_field(notice_t *n, const char *label, time_t when)
{
    buf_set(&n->line, label);
    mail_date(&n->line, when);
    rec_put(n->s, REC_TYPE_NORM, n->line.data, n->line.len);
}

static void put_headers(notice_t *n, const char *new_id, time_t now)
{
    const qmgr_settings_t *c = &qmgr_conf;
    buf_t to = BUF_INIT;

    /* cleanup counts Received: headers for its hop limit. */
    put_linef(n, "Received: by %s (%s)", c->myhostname, c->mail_name);
    buf_reset(&n->line);
    buf_printf(&n->line, "\tid %s; ", new_id);
    mail_date(&n->line, now);
    rec_put(n->s, REC_TYPE_NORM, n->line.data, n->line.len);
    put_linef(n, "From: Mail Delivery System <MAILER-DAEMON@%s>", c->myorigin);
    put_field(n, "Subject: ", n->style->subject);
    addr_quote(&to, n->msg->env.sender);
    put_field(n, "To: ", buf_str(&to));
    buf_release(&to);
    put_line(n, "Auto-Submitted: auto-replied");
    put_line(n, "MIME-Version: 1.0");
    put_line(n, "Content-Type: multipart/report; report-type=delivery-status;");
    put_linef(n, "\tboundary=\"%s\"", n->boundary.data);
    put_line(n, "Content-Transfer-Encoding: 8bit");
    /* Date: and Message-Id: come from cleanup (local header context). */
    put_line(n, "");
    put_line(n, "This is a MIME-encapsulated message.");
    put_line(n, "");
}

static void put_part_start(notice_t *n, const char *description, const char *type)
{
    put_linef(n, "--%s", n->boundary.data);
    put_linef(n, "Content-Description: %s", description);
    put_linef(n, "Content-Type: %s", type);
}

static void put_explanation(notice_t *n, const notice_rcpt_t *rcpts, size_t count)
{
    const char *const *text;
    size_t i;

    put_part_start(n, "Notification", "text/plain; charset=utf-8");
    put_line(n, "");
    put_linef(n, "This is the mail system at host %s.", qmgr_conf.myhostname);
    put_line(n, "");
    for (text = n->style->explanation; *text != NULL; text++)
        put_line(n, *text);
    for (i = 0; i < count; i++) {
        const notice_rcpt_t *r = &rcpts[i];

        put_line(n, "");
        buf_set(&n->line, "<");
        put_clean(&n->line, r->recipient);
        buf_puts(&n->line, ">");
        if (*r->orig_rcpt && strcasecmp(r->orig_rcpt, r->recipient) != 0) {
            buf_puts(&n->line, " (expanded from <");
            put_clean(&n->line, r->orig_rcpt);
            buf_puts(&n->line, ">)");
        }
        buf_puts(&n->line, ": ");
        put_clean(&n->line, r->reason);
        rec_put(n->s, REC_TYPE_NORM, n->line.data, n->line.len);
    }
    put_line(n, "");
    put_line(n, "                   The mail system");
    put_line(n, "");
}

/* A status of the right class for the action ("2.0.0" delivered, "4.x.y"
 * delayed); the recorded one when it fits. */
static const char *status_for(const notice_t *n, const notice_rcpt_t *r)
{
    if (r->status[0] == 0)
        return n->style->default_status;
    if (n->kind == NOTICE_SUCCESS && r->status[0] != '2')
        return n->style->default_status;
    if (n->kind == NOTICE_DELAY && r->status[0] != '4')
        return n->style->default_status;
    return r->status;
}

static void put_recipient_report(notice_t *n, const notice_rcpt_t *r)
{
    const qmgr_message_t *msg = n->msg;
    long lifetime = *msg->env.sender ? qmgr_conf.maximal_queue_lifetime
                                     : qmgr_conf.bounce_queue_lifetime;

    put_line(n, "");
    put_field(n, "Final-Recipient: rfc822; ", r->recipient);
    if (*r->dsn_orig_rcpt)
        put_field(n, "Original-Recipient: ", r->dsn_orig_rcpt);
    else if (*r->orig_rcpt)
        put_field(n, "Original-Recipient: rfc822;", r->orig_rcpt);
    put_field(n, "Action: ", n->style->action);
    put_field(n, "Status: ", status_for(n, r));
    put_field(n, "Diagnostic-Code: X-Postfix; ", r->reason);
    if (n->kind == NOTICE_DELAY)
        put_date_field(n, "Will-Retry-Until: ", (time_t) (msg->env.create_time + lifetime));
}

static void put_status_report(notice_t *n, const notice_rcpt_t *rcpts, size_t count)
{
    const qmgr_message_t *msg = n->msg;
    size_t i;

    put_part_start(n, "Delivery report", "message/delivery-status");
    put_line(n, "");
    put_field(n, "Reporting-MTA: dns; ", qmgr_conf.myhostname);
    put_field(n, "X-Postfix-Queue-ID: ", msg->id);
    put_field(n, "X-Postfix-Sender: rfc822; ", msg->env.sender);
    if (*msg->env.envid)
        put_field(n, "Original-Envelope-Id: ", msg->env.envid);
    put_date_field(n, "Arrival-Date: ", (time_t) msg->env.arrival);
    for (i = 0; i < count; i++)
        put_recipient_report(n, &rcpts[i]);
    put_line(n, "");
}

/* Finds where content starts when the C record's offset looks wrong. */
static size_t content_start(const queue_map_t *qm, long data_offset)
{
    size_t pos = 0;
    rec_t rec;

    if (data_offset > 0 && (size_t) data_offset < qm->size)
        return (size_t) data_offset;
    while (rec_parse(qm->data, qm->size, &pos, &rec) == 1)
        if (rec.type == REC_TYPE_MESG)
            return pos;
    return qm->size;
}

/* Copies the original content records (N and L, as stored) until X;
 * only the header block when headers_only. */
static void put_original_content(notice_t *n, const queue_map_t *qm, int headers_only)
{
    size_t pos = content_start(qm, n->msg->env.size.data_offset);
    int line_start = 1;
    rec_t rec;

    while (rec_parse(qm->data, qm->size, &pos, &rec) == 1) {
        if (rec.type != REC_TYPE_NORM && rec.type != REC_TYPE_CONT)
            break;
        if (headers_only && line_start && rec.type == REC_TYPE_NORM && rec.len == 0)
            break;
        rec_put(n->s, rec.type, rec.data, rec.len);
        line_start = rec.type == REC_TYPE_NORM;
    }
}

static void put_original(notice_t *n)
{
    const qmgr_message_t *msg = n->msg;
    int headers_only = n->style->headers_only || msg->env.dsn_ret == DSN_RET_HDRS
        || msg->env.size.content_size > qmgr_conf.bounce_size_limit;
    buf_t path = BUF_INIT;
    queue_map_t qm;

    if (headers_only) {
        buf_set(&path, n->style->original_part);
        if (!n->style->headers_only)
            buf_puts(&path, " Headers");
        put_part_start(n, path.data, "text/rfc822-headers");
    } else {
        put_part_start(n, n->style->original_part, "message/rfc822");
    }
    put_line(n, "Content-Transfer-Encoding: 8bit");
    put_line(n, "");
    queue_path(&path, QUEUE_ACTIVE, msg->id);
    if (queue_map_open(path.data, 0, &qm) == 0) {
        put_original_content(n, &qm, headers_only);
        queue_map_close(&qm);
    } else {
        msg_warn("%s: open %s for the notice: %m", msg->id, path.data);
    }
    buf_release(&path);
    put_line(n, "");
    put_linef(n, "--%s--", n->boundary.data);
}

static void put_envelope(notice_t *n)
{
    struct timeval tv;

    if (gettimeofday(&tv, NULL) < 0) {
        tv.tv_sec = time(NULL);
        tv.tv_usec = 0;
    }
    rec_printf(n->s, REC_TYPE_TIME, "%ld %ld", (long) tv.tv_sec, (long) tv.tv_usec);
    rec_put(n->s, REC_TYPE_FROM, "", 0);
    rec_puts(n->s, REC_TYPE_ORCP, n->msg->env.sender);
    rec_puts(n->s, REC_TYPE_RCPT, n->msg->env.sender);
    rec_put(n->s, REC_TYPE_MESG, "", 0);
}

int notice_send(const qmgr_message_t *msg, notice_kind_t kind,
                const notice_rcpt_t *rcpts, size_t count, buf_t *new_id)
{
    notice_t n;
    buf_t why = BUF_INIT;
    cleanup_client_t *cl;
    time_t now = time(NULL);
    int status;

    cl = cleanup_open("public/cleanup", CLEANUP_FLAG_BOUNCE | CLEANUP_FLAG_LOCAL_CTX, &why);
    if (cl == NULL) {
        msg_warn("%s: cannot send %s: %s", msg->id, styles[kind].name, buf_str(&why));
        buf_release(&why);
        return -1;
    }
    buf_set(new_id, cl->queue_id);
    memset(&n, 0, sizeof(n));
    n.msg = msg;
    n.kind = kind;
    n.style = &styles[kind];
    n.s = cl->s;
    buf_printf(&n.boundary, "%s.%ld/%s", msg->id, (long) now, qmgr_conf.myhostname);
    put_envelope(&n);
    put_headers(&n, cl->queue_id, now);
    put_explanation(&n, rcpts, count);
    put_status_report(&n, rcpts, count);
    put_original(&n);
    rec_put(n.s, REC_TYPE_XTRA, "", 0);
    rec_put(n.s, REC_TYPE_END, "", 0);
    buf_release(&n.boundary);
    buf_release(&n.line);
    status = cleanup_finish(cl, &why);
    if (status != CLEANUP_STAT_OK) {
        msg_warn("%s: %s not accepted by cleanup: %s", msg->id, styles[kind].name,
                 why.len ? why.data : cleanup_status_reply(status));
        buf_release(&why);
        return -1;
    }
    buf_release(&why);
    return 0;
}
