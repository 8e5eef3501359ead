/* reply: SMTP replies and the reject log line. Replies are buffered and
 * flushed only when the client has nothing more pipelined (session.c), so
 * a pipelined batch gets its replies in one write. */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"

/* Copies text, replacing control and non-ASCII-unsafe bytes by '?', so that
 * nothing from the client can split a reply or a log line. */
void smtpd_printable(buf_t *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];

        buf_putc(out, (c < 0x20 || c == 0x7f) ? '?' : c);
    }
}

/* Removes " x.y.z" after the code when ENHANCEDSTATUSCODES is discarded. */
static void strip_enhanced_code(buf_t *line)
{
    const char *p = buf_str(line);
    size_t i = 4, dots = 0;

    if (line->len < 6 || (p[3] != ' ' && p[3] != '-'))
        return;
    if (p[4] != '2' && p[4] != '4' && p[4] != '5')
        return;
    for (; i < line->len && (isdigit((unsigned char) p[i]) || p[i] == '.'); i++)
        dots += p[i] == '.';
    if (dots != 2 || i >= line->len || p[i] != ' ')
        return;
    memmove(line->data + 4, line->data + i + 1, line->len - i);
    line->len -= i + 1 - 4;
}

/* Sleeps when the client has made many errors (a tarpit), as Postfix does. */
static void error_tarpit(session_t *s)
{
    if (s->error_count >= smtpd_var.soft_error_limit && smtpd_var.error_sleep_time > 0) {
        (void) smtpd_flush(s);
        sleep((unsigned) smtpd_var.error_sleep_time);
    }
}

static void emit(session_t *s, buf_t *text)
{
    buf_t line = BUF_INIT;

    smtpd_printable(&line, buf_str(text), text->len);
    if (s->ehlo_discard & EHLO_ENHANCED)
        strip_enhanced_code(&line);
    buf_append(&line, "\r\n", 2);
    stream_write(s->out, line.data, line.len);
    buf_release(&line);
}

void smtpd_reply(session_t *s, const char *fmt, ...)
{
    va_list ap;

    buf_reset(&s->reply);
    va_start(ap, fmt);
    buf_vprintf(&s->reply, fmt, ap);
    va_end(ap);
    error_tarpit(s);
    emit(s, &s->reply);
}

/* A multi-line reply: every line but the last gets "250-". */
void smtpd_reply_lines(session_t *s, argv_t *lines)
{
    buf_t text = BUF_INIT;

    error_tarpit(s);
    for (size_t i = 0; i < lines->argc; i++) {
        buf_reset(&text);
        buf_printf(&text, "250%c%s", i + 1 < lines->argc ? '-' : ' ', lines->argv[i]);
        emit(s, &text);
    }
    buf_release(&text);
}

int smtpd_flush(session_t *s)
{
    return stream_flush(s->out);
}

/* Logs, as fail2ban and pflogsumm expect:
 *   ID|NOQUEUE: reject: RCPT from host[addr]: 550 ...; from=<s> to=<r> proto=ESMTP helo=<h> */
void smtpd_log_action(session_t *s, const char *action, const char *verb, const char *text,
                      const char *sender, const char *rcpt, const char *helo)
{
    buf_t line = BUF_INIT;

    buf_printf(&line, "%s: %s: %s from %s: ",
               s->queue_id[0] ? s->queue_id : "NOQUEUE", action, verb, s->namaddr);
    smtpd_printable(&line, text, strlen(text));
    buf_putc(&line, ';');
    if (sender != NULL) {
        buf_puts(&line, " from=<");
        smtpd_printable(&line, sender, strlen(sender));
        buf_putc(&line, '>');
    }
    if (rcpt != NULL) {
        buf_puts(&line, " to=<");
        smtpd_printable(&line, rcpt, strlen(rcpt));
        buf_putc(&line, '>');
    }
    buf_printf(&line, " proto=%s", s->protocol);
    if (helo != NULL)
        buf_printf(&line, " helo=<%s>", helo);
    msg_info("%s", buf_str(&line));
    buf_release(&line);
}

void smtpd_log_reject(session_t *s, const char *stage, const char *reply,
                      const char *rcpt)
{
    smtpd_log_action(s, "reject", stage, reply, s->sender, rcpt, s->helo_name);
}
