/* data: the way into the queue. Opens cleanup at the first accepted RCPT,
 * sends the envelope records as they come, then at DATA our Received:
 * header and the content, one record per line, until CRLF.CRLF. The client
 * hears "250 ... queued as" only after cleanup says the file is on disk. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "alloc.h"
#include "delivery.h"
#include "log.h"
#include "maildate.h"
#include "record.h"
#include "smtpd.h"

#define CLEANUP_SERVICE "public/cleanup"

/* ---------- envelope ---------- */

static void put_attr(session_t *s, const char *name, const char *value)
{
    rec_printf(s->cleanup->s, REC_TYPE_ATTR, "%s=%s", name, value);
}

static void send_client_attributes(session_t *s, int local_ctx)
{
    put_attr(s, "rewrite_context", local_ctx ? "local" : "remote");
    put_attr(s, "client_name", s->name);
    put_attr(s, "reverse_client_name", s->reverse_name);
    put_attr(s, "client_address", s->addr);
    put_attr(s, "client_port", s->port);
    if (s->helo_name != NULL)
        put_attr(s, "helo_name", s->helo_name);
    put_attr(s, "protocol_name", s->protocol);
    put_attr(s, "log_client_name", s->name);
    put_attr(s, "log_client_address", s->addr);
    put_attr(s, "log_client_port", s->port);
    put_attr(s, "log_message_origin", s->namaddr);
    if (s->helo_name != NULL)
        put_attr(s, "log_helo_name", s->helo_name);
    put_attr(s, "log_protocol_name", s->protocol);
    if (s->encoding != NULL)
        put_attr(s, "encoding", s->encoding);
}

/* Connects to cleanup and sends everything known before the recipients. */
int smtpd_cleanup_start(session_t *s)
{
    int local_ctx = smtpd_client_local_context(s);
    buf_t why = BUF_INIT;
    stream_t *out;

    s->cleanup = cleanup_open(CLEANUP_SERVICE,
                              local_ctx ? CLEANUP_FLAG_LOCAL_CTX : CLEANUP_FLAG_NONE, &why);
    if (s->cleanup == NULL) {
        msg_warn("%s", buf_str(&why));
        buf_release(&why);
        return -1;
    }
    buf_release(&why);
    if (strlen(s->cleanup->queue_id) >= sizeof(s->queue_id))
        msg_fatal("cleanup sent an over-long queue ID");
    memcpy(s->queue_id, s->cleanup->queue_id, strlen(s->cleanup->queue_id) + 1);
    msg_info("%s: client=%s", s->queue_id, s->namaddr);
    out = s->cleanup->s;
    rec_printf(out, REC_TYPE_TIME, "%ld %ld", (long) s->arrival.tv_sec,
               (long) s->arrival.tv_usec);
    send_client_attributes(s, local_ctx);
    if (s->dsn_ret != 0)
        rec_printf(out, REC_TYPE_DSN_RET, "%d", s->dsn_ret);
    if (s->dsn_envid != NULL)
        rec_puts(out, REC_TYPE_DSN_ENVID, s->dsn_envid);
    rec_puts(out, REC_TYPE_FROM, s->sender);
    return 0;
}

/* HOLD, once: before M, or after X when only smtpd_end_of_data_restrictions
 * asked for it. */
static void send_hold(session_t *s, stream_t *out)
{
    if (!s->hold || s->hold_sent)
        return;
    rec_printf(out, REC_TYPE_FLGS, "%d", CLEANUP_FLAG_HOLD);
    s->hold_sent = 1;
}

/* One recipient; the DSN records come first, as cleanup expects. */
void smtpd_cleanup_recipient(session_t *s, const char *rcpt, const char *orig,
                             const char *dsn_orcpt, int notify)
{
    stream_t *out = s->cleanup->s;

    if (dsn_orcpt != NULL)
        rec_puts(out, REC_TYPE_DSN_ORCPT, dsn_orcpt);
    if (notify != 0)
        rec_printf(out, REC_TYPE_DSN_NOTIFY, "%d", notify);
    rec_puts(out, REC_TYPE_ORCP, orig);
    rec_puts(out, REC_TYPE_RCPT, rcpt);
    /* Keep cleanup busy while the client sends more recipients. */
    (void) stream_flush(out);
}

/* The access-table actions cleanup carries out: HOLD ('f'), REDIRECT
 * ('>') and BCC (one more recipient each, asking for no DSN), sent just
 * before M, when every recipient is known. */
static void send_actions(session_t *s)
{
    stream_t *out = s->cleanup->s;

    for (size_t i = 0; s->bcc != NULL && i < s->bcc->argc; i++) {
        rec_printf(out, REC_TYPE_DSN_NOTIFY, "%d", DSN_NOTIFY_NEVER);
        rec_puts(out, REC_TYPE_RCPT, s->bcc->argv[i]);
    }
    if (s->redirect != NULL)
        rec_puts(out, REC_TYPE_RDR, s->redirect);
    send_hold(s, out);
}

/* ---------- Received: ---------- */

/* Each folded line is its own record; continuation lines start with a tab. */
static void send_received(session_t *s)
{
    stream_t *out = s->cleanup->s;
    buf_t date = BUF_INIT, rcpt = BUF_INIT;

    mail_date(&date, s->arrival.tv_sec);
    /* Access-table PREPEND headers come first, in the order they were added. */
    for (size_t i = 0; s->prepend != NULL && i < s->prepend->argc; i++)
        rec_puts(out, REC_TYPE_NORM, s->prepend->argv[i]);
    rec_printf(out, REC_TYPE_NORM, "Received: from %s (%s [%s])",
               s->helo_name ? s->helo_name : s->name, s->name, s->rfc_addr);
    smtpd_tls_received(s, out);
    if (s->rcpt_count == 1 && s->first_rcpt != NULL) {
        addr_quote(&rcpt, s->first_rcpt);
        rec_printf(out, REC_TYPE_NORM, "\tby %s (%s) with %s id %s",
                   smtpd_var.myhostname, smtpd_var.mail_name, smtpd_received_protocol(s),
                   s->queue_id);
        rec_printf(out, REC_TYPE_NORM, "\tfor <%s>; %s", buf_str(&rcpt), buf_str(&date));
    } else {
        rec_printf(out, REC_TYPE_NORM, "\tby %s (%s) with %s id %s;",
                   smtpd_var.myhostname, smtpd_var.mail_name, smtpd_received_protocol(s),
                   s->queue_id);
        rec_printf(out, REC_TYPE_NORM, "\t%s", buf_str(&date));
    }
    buf_release(&date);
    buf_release(&rcpt);
}

/* ---------- content ---------- */

typedef struct content {
    session_t *s;
    int        err;            /* CLEANUP_STAT_* of our own making */
    long       size;           /* bytes counted against message_size_limit */
    int        first;          /* no content line seen yet */
    int        in_line;        /* the last record was a piece of a long line */
    int        prev_crlf;      /* the last complete line ended in CRLF */
    int        bare_lf;        /* a bare LF was seen */
} content_t;

static void put_content(content_t *c, int type, const char *data, size_t len)
{
    stream_t *out;
    long limit = smtpd_var.message_size_limit;

    if (c->err != CLEANUP_STAT_OK || c->s->cleanup == NULL)
        return;
    out = c->s->cleanup->s;
    /* Count what the client sent, CRLF included, as Postfix does. */
    if (limit > 0 && (long) len + 2 > limit - c->size) {
        c->err = CLEANUP_STAT_SIZE;
        msg_warn("%s: queue file size limit exceeded", c->s->queue_id);
        return;
    }
    c->size += (long) len + 2;
    rec_put(out, type, data, len);
    if (stream_status(out) != STREAM_OK)
        c->err = CLEANUP_STAT_WRITE;
}

/* The first line: a leading "From " line becomes a header, and content
 * starting with white space must not continue our Received: header. */
static int first_line(content_t *c, int type, const char *p, size_t len)
{
    size_t skip = 0;

    while (skip < len && p[skip] == '>')
        skip++;
    if (len - skip >= 5 && memcmp(p + skip, "From ", 5) == 0) {
        buf_t hdr = BUF_INIT;

        buf_puts(&hdr, "X-Mailbox-Line: ");
        buf_append(&hdr, p, len);
        put_content(c, type, buf_str(&hdr), hdr.len);
        buf_release(&hdr);
        return 1;
    }
    c->first = 0;
    if (len > 0 && (p[0] == ' ' || p[0] == '\t'))
        put_content(c, REC_TYPE_NORM, "", 0);
    return 0;
}

/* Is this line the end of DATA? Only CRLF "." CRLF, unless
 * smtpd_forbid_bare_newline=no lets a bare LF end it (the smuggling hole). */
static int end_of_data(const content_t *c, const char *p, size_t len, int crlf)
{
    if (c->in_line || len != 1 || p[0] != '.')
        return 0;
    if (smtpd_var.bare_lf_mode == BARE_LF_NO)
        return 1;
    return crlf && c->prev_crlf;
}

/* Reads content through the final dot. 0 at the end, or END_EOF/END_TIMEOUT. */
static int read_content(content_t *c)
{
    session_t *s = c->s;
    buf_t line = BUF_INIT;
    size_t limit = (size_t) smtpd_var.line_length_limit;
    int held_cr = 0, result = 0;

    for (;;) {
        int r, crlf = 0, complete, type;
        size_t len;
        const char *p;

        buf_reset(&line);
        if (held_cr)
            buf_putc(&line, '\r');
        r = stream_get_line(s->in, &line, held_cr ? limit - 1 : limit);
        s->where_bytes += (long) line.len - held_cr;     /* the held CR was counted */
        held_cr = 0;
        if (r == STREAM_LINE_EOF || r == STREAM_LINE_ERR) {
            result = r == STREAM_LINE_ERR && stream_status(s->in) == STREAM_TIMEOUT
                ? END_TIMEOUT : END_EOF;
            break;
        }
        p = buf_str(&line);
        len = line.len;
        complete = r == STREAM_LINE;
        if (complete) {
            len--;
            if (len > 0 && p[len - 1] == '\r') {
                len--;
                crlf = 1;
            } else {
                c->bare_lf = 1;
                /* Refused at the end anyway: stop feeding cleanup now. */
                if (s->bare_lf_strict && c->err == CLEANUP_STAT_OK)
                    c->err = CLEANUP_STAT_CONT;
            }
        } else if (len > 0 && p[len - 1] == '\r') {
            /* Maybe the CR of a CRLF split across reads: decide next time. */
            len--;
            held_cr = 1;
        }
        if (end_of_data(c, p, len, crlf))
            break;
        type = complete ? REC_TYPE_NORM : REC_TYPE_CONT;
        if (c->first && !c->in_line && first_line(c, type, p, len)) {
            c->in_line = !complete;
            continue;
        }
        if (!c->in_line && len > 0 && p[0] == '.') {
            p++;                                    /* dot-unstuffing */
            len--;
        }
        put_content(c, type, p, len);
        c->in_line = !complete;
        if (complete)
            c->prev_crlf = crlf;
    }
    buf_release(&line);
    return result;
}

/* ---------- the end ---------- */

/* "4.6.0 Alias expansion error": a reason that starts with a 4.X.Y code. */
static int has_soft_dsn(const char *reason)
{
    size_t i = 2, digits;

    if (reason[0] != '4' || reason[1] != '.')
        return 0;
    for (int part = 0; part < 2; part++) {
        for (digits = 0; reason[i] >= '0' && reason[i] <= '9' && digits < 3; digits++)
            i++;
        if (digits == 0 || reason[i] != (part == 0 ? '.' : ' '))
            return 0;
        i++;
    }
    return reason[i] != 0;
}

static void finish_reply(session_t *s, int status, const char *reason)
{
    if (status == CLEANUP_STAT_OK) {
        /* Forgive earlier client errors once a message went through. */
        s->error_count = 0;
        s->junk_count = 0;
        smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
    } else if (status == CLEANUP_STAT_SIZE) {
        smtpd_reply(s, "552 5.3.4 Error: message file too big");
    } else if (status == CLEANUP_STAT_WRITE) {
        smtpd_reply(s, "451 4.3.0 Error: queue file write error");
    } else if ((status & CLEANUP_STAT_DEFER) && has_soft_dsn(reason)) {
        /* cleanup's own words, as Postfix: "451 4.6.0 Alias expansion error". */
        smtpd_reply(s, "451 %s", reason);
    } else {
        smtpd_reply(s, "%s", cleanup_status_reply(status));
    }
}

/* Completes the queue file (X, E) and waits for cleanup's verdict. */
static int commit(session_t *s, content_t *c, buf_t *reason)
{
    cleanup_client_t *cl = s->cleanup;
    int status;

    s->cleanup = NULL;
    if (c->err != CLEANUP_STAT_OK) {
        cleanup_abort(cl);
        return c->err;
    }
    /* DISCARD: the client hears "queued", but cleanup never commits. */
    if (s->discard) {
        cleanup_abort(cl);
        return CLEANUP_STAT_OK;
    }
    rec_puts(cl->s, REC_TYPE_XTRA, "");
    send_hold(s, cl->s);
    rec_puts(cl->s, REC_TYPE_END, "");
    status = cleanup_finish(cl, reason);
    if (status != CLEANUP_STAT_OK)
        msg_info("%s: cleanup status %d: %s", s->queue_id, status, buf_str(reason));
    return status;
}

int smtpd_data(session_t *s)
{
    content_t c;
    int end, status;
    const char *reply;
    buf_t reason = BUF_INIT;

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.first = 1;
    c.prev_crlf = 1;                    /* the DATA command's own line end */
    send_actions(s);
    rec_puts(s->cleanup->s, REC_TYPE_MESG, "");
    send_received(s);
    smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
    /* The client waits for 354 before it sends the message. */
    if (smtpd_flush(s) < 0) {
        s->end = END_EOF;
        return -1;
    }
    s->where = "DATA";
    s->where_bytes = 0;
    end = read_content(&c);
    if (end != 0) {
        s->end = end;               /* session.c logs and says goodbye */
        return -1;
    }
    s->where = "END-OF-MESSAGE";
    s->where_bytes = -1;
    if (c.bare_lf && s->bare_lf_strict) {
        long code = smtpd_var.bare_lf_reject_code;

        msg_warn("bare <LF> received from %s after DATA", s->namaddr);
        smtpd_transaction_reset(s);
        smtpd_reply(s, "%ld 5.5.2 %s Error: bare <LF> received", code, smtpd_var.myhostname);
        if (code == 521)
            s->end = END_DROP;
        return -1;
    }
    if ((reply = smtpd_check_eod(s)) != NULL) {
        smtpd_transaction_reset(s);
        smtpd_reply(s, "%s", reply);
        return -1;
    }
    status = commit(s, &c, &reason);
    finish_reply(s, status, buf_str(&reason));
    buf_release(&reason);
    smtpd_transaction_reset(s);
    return status == CLEANUP_STAT_OK ? 0 : -1;
}
