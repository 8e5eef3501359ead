/* session: one SMTP conversation. Greets, reads command lines (bounded by
 * line_length_limit), dispatches them through the command table, enforces
 * the error and junk limits, and logs connect/disconnect with per-verb
 * counts. Replies are flushed only when no pipelined input is waiting. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "log.h"
#include "smtpd.h"

#define READ_OK       0
#define READ_EOF     -1
#define READ_TIMEOUT -2

/* Reads the rest of an over-long line and throws it away. */
static int discard_rest_of_line(session_t *s)
{
    buf_t junk = BUF_INIT;
    int r;

    do {
        buf_reset(&junk);
        r = stream_get_line(s->in, &junk, (size_t) smtpd_var.line_length_limit);
    } while (r == STREAM_LINE_PART);
    buf_release(&junk);
    return r;
}

static int read_result(session_t *s, int r)
{
    if (r == STREAM_LINE_EOF)
        return READ_EOF;
    if (r == STREAM_LINE_ERR)
        return stream_status(s->in) == STREAM_TIMEOUT ? READ_TIMEOUT : READ_EOF;
    return READ_OK;
}

/* One command line into s->line, without its line end. *bare_lf tells
 * whether it ended in LF without CR. */
static int read_command(session_t *s, int *bare_lf)
{
    int r;

    *bare_lf = 0;
    buf_reset(&s->line);
    r = stream_get_line(s->in, &s->line, (size_t) smtpd_var.line_length_limit);
    if (r == STREAM_LINE_EOF || r == STREAM_LINE_ERR)
        return read_result(s, r);
    if (r == STREAM_LINE_PART) {
        buf_t head = BUF_INIT;

        smtpd_printable(&head, buf_str(&s->line), s->line.len < 30 ? s->line.len : 30);
        msg_warn("%s: request longer than %ld: %s...", s->namaddr,
                 smtpd_var.line_length_limit, buf_str(&head));
        buf_release(&head);
        r = discard_rest_of_line(s);
        if (r != STREAM_LINE)
            return read_result(s, r);
        if (s->line.len > 0 && s->line.data[s->line.len - 1] == '\r')
            buf_truncate(&s->line, s->line.len - 1);
        return READ_OK;
    }
    buf_truncate(&s->line, s->line.len - 1);           /* the '\n' */
    if (s->line.len > 0 && s->line.data[s->line.len - 1] == '\r')
        buf_truncate(&s->line, s->line.len - 1);
    else
        *bare_lf = 1;
    return READ_OK;
}

/* "Subject:" and the like: someone is feeding us a message, not SMTP. */
static int looks_like_header(const char *verb, size_t len)
{
    if (len < 2 || verb[len - 1] != ':')
        return 0;
    for (size_t i = 0; i + 1 < len; i++)
        if (verb[i] <= ' ' || verb[i] > '~' || verb[i] == ':')
            return 0;
    return 1;
}

static int forbidden_command(const char *verb, size_t len)
{
    const argv_t *list = smtpd_var.forbidden_commands;

    if (looks_like_header(verb, len))
        return 1;
    for (size_t i = 0; i < list->argc; i++)
        if (strlen(list->argv[i]) == len && strncasecmp(list->argv[i], verb, len) == 0)
            return 1;
    return 0;
}

static void count_command(session_t *s, const smtpd_cmd_t *cmd, int ok)
{
    size_t i = (size_t) (cmd - smtpd_cmd_table);

    if (i < SMTPD_CMD_MAX) {
        s->cmd_total[i]++;
        s->cmd_ok[i] += ok;
    }
}

static void run_command(session_t *s, const smtpd_cmd_t *cmd, const char *args)
{
    int r;

    s->where = cmd->verb;
    /* Refused at connect (smtpd_delay_reject=no): only QUIT works. */
    if (s->access_denied != NULL && !(cmd->flags & CMD_QUIT)) {
        smtpd_reply(s, "503 5.7.0 Error: access denied for %s", s->namaddr);
        count_command(s, cmd, 0);
        s->error_count++;
        return;
    }
    /* smtpd_tls_security_level=encrypt: nothing of substance in plaintext. */
    if (smtpd_tls_required(s) && !(cmd->flags & CMD_PRE_TLS)) {
        smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
        count_command(s, cmd, 0);
        s->error_count++;
        return;
    }
    r = cmd->check(s, args);
    if (r == 0)
        r = cmd->action(s, args);
    count_command(s, cmd, r == 0);
    if (r != 0)
        s->error_count++;
    if ((cmd->flags & CMD_LIMIT) && s->junk_count++ > smtpd_var.junk_command_limit)
        s->error_count++;
    if (cmd->flags & CMD_QUIT)
        s->quit = 1;
}

/* Splits the line into verb and arguments and runs it. */
static void dispatch(session_t *s)
{
    const char *line = buf_str(&s->line);
    const char *verb, *args;
    size_t vlen;
    const smtpd_cmd_t *cmd;
    buf_t argbuf = BUF_INIT;

    if (memchr(line, 0, s->line.len) != NULL) {
        smtpd_reply(s, "500 5.5.2 Error: bad syntax");
        s->error_count++;
        return;
    }
    verb = line + strspn(line, " \t");
    vlen = strcspn(verb, " \t");
    if (vlen == 0) {
        smtpd_reply(s, "500 5.5.2 Error: bad syntax");
        s->error_count++;
        return;
    }
    args = verb + vlen;
    args += strspn(args, " \t");
    buf_set(&argbuf, args);
    buf_trim_right(&argbuf);
    if ((cmd = smtpd_cmd_find(verb, vlen)) != NULL) {
        run_command(s, cmd, buf_str(&argbuf));
    } else if (forbidden_command(verb, vlen)) {
        buf_t shown = BUF_INIT;

        smtpd_printable(&shown, line, s->line.len < 100 ? s->line.len : 100);
        msg_warn("non-SMTP command from %s: %s", s->namaddr, buf_str(&shown));
        buf_release(&shown);
        s->where = "UNKNOWN";
        s->unknown_total++;
        smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
        s->end = END_DROP;
    } else {
        s->where = "UNKNOWN";
        s->unknown_total++;
        smtpd_reply(s, "500 5.5.2 Error: command not recognized");
        s->error_count++;
    }
    buf_release(&argbuf);
}

/* A bare LF in a command under smtpd_forbid_bare_newline=reject. */
static void reject_bare_lf(session_t *s)
{
    long code = smtpd_var.bare_lf_reject_code;

    msg_warn("bare <LF> received from %s after %s", s->namaddr, s->where);
    smtpd_reply(s, "%ld 5.5.2 %s Error: bare <LF> received", code, smtpd_var.myhostname);
    s->error_count++;
    if (code == 521)
        s->end = END_DROP;
}

static void log_where(session_t *s, const char *what)
{
    if (s->where_bytes >= 0)
        msg_info("%s after %s (%ld bytes) from %s", what, s->where, s->where_bytes,
                 s->namaddr);
    else
        msg_info("%s after %s from %s", what, s->where, s->namaddr);
}

static void command_loop(session_t *s)
{
    int bare_lf, r;

    while (!s->quit && s->end == END_NONE) {
        /* Pipelining: answer a batch only once it is all read. */
        if (stream_buffered(s->in) == 0 && smtpd_flush(s) < 0) {
            s->end = END_EOF;
            break;
        }
        if ((r = read_command(s, &bare_lf)) == READ_OK) {
            /* The command after the last allowed error gets the 421, as
             * Postfix is seen to do. Answering before reading it would
             * close with unread input, and the kernel would then reset
             * the connection, possibly before the client reads the 421. */
            if (s->error_count >= smtpd_var.hard_error_limit) {
                msg_info("too many errors after %s from %s", s->where, s->namaddr);
                smtpd_reply(s, "421 4.7.0 %s Error: too many errors", smtpd_var.myhostname);
                s->end = END_DROP;
                break;
            }
            if (bare_lf && s->bare_lf_strict)
                reject_bare_lf(s);
            else
                dispatch(s);
        } else {
            s->end = r == READ_TIMEOUT ? END_TIMEOUT : END_EOF;
        }
    }
    if (s->end == END_TIMEOUT) {
        log_where(s, "timeout");
        stream_clear_status(s->in);
        smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", smtpd_var.myhostname);
    } else if (s->end == END_EOF) {
        log_where(s, "lost connection");
    }
}

static void log_disconnect(session_t *s)
{
    buf_t line = BUF_INIT;
    int ok = 0, total = 0;

    buf_printf(&line, "disconnect from %s", s->namaddr);
    for (size_t i = 0; i < SMTPD_CMD_MAX && smtpd_cmd_table[i].verb != NULL; i++) {
        if (s->cmd_total[i] == 0)
            continue;
        buf_putc(&line, ' ');
        for (const char *p = smtpd_cmd_table[i].verb; *p; p++)
            buf_putc(&line, tolower((unsigned char) *p));
        if (s->cmd_ok[i] == s->cmd_total[i])
            buf_printf(&line, "=%d", s->cmd_ok[i]);
        else
            buf_printf(&line, "=%d/%d", s->cmd_ok[i], s->cmd_total[i]);
        ok += s->cmd_ok[i];
        total += s->cmd_total[i];
    }
    if (s->unknown_total > 0)
        buf_printf(&line, " unknown=0/%d", s->unknown_total);
    total += s->unknown_total;
    if (ok == total && total > 0)
        buf_printf(&line, " commands=%d", total);
    else
        buf_printf(&line, " commands=%d/%d", ok, total);
    msg_info("%s", buf_str(&line));
    buf_release(&line);
}

static int ehlo_discard_mask(void)
{
    static const struct { const char *name; int bit; } words[] = {
        { "pipelining", EHLO_PIPELINING }, { "size", EHLO_SIZE },
        { "vrfy", EHLO_VRFY }, { "etrn", EHLO_ETRN },
        { "enhancedstatuscodes", EHLO_ENHANCED }, { "8bitmime", EHLO_8BITMIME },
        { "dsn", EHLO_DSN }, { "starttls", EHLO_STARTTLS },
    };
    int mask = 0;

    for (size_t i = 0; i < smtpd_var.discard_ehlo->argc; i++)
        for (size_t j = 0; j < sizeof(words) / sizeof(words[0]); j++)
            if (strcmp(smtpd_var.discard_ehlo->argv[i], words[j].name) == 0)
                mask |= words[j].bit;
    return mask;
}

static void pending_init(smtpd_pending_t *p)
{
    memset(p, 0, sizeof(*p));
    buf_init(&p->addr);
    buf_init(&p->envid);
    buf_init(&p->orcpt);
}

static void pending_release(smtpd_pending_t *p)
{
    buf_release(&p->addr);
    buf_release(&p->envid);
    buf_release(&p->orcpt);
}

/* Ends the MAIL transaction: forgets the envelope and abandons any open
 * cleanup connection (cleanup then removes its unfinished file). */
void smtpd_transaction_reset(session_t *s)
{
    if (s->cleanup != NULL) {
        cleanup_abort(s->cleanup);
        s->cleanup = NULL;
    }
    s->queue_id[0] = 0;
    free(s->sender);
    free(s->dsn_envid);
    free(s->first_rcpt);
    s->sender = s->dsn_envid = s->first_rcpt = NULL;
    s->declared_size = 0;
    s->encoding = NULL;
    s->dsn_ret = 0;
    s->rcpt_count = 0;
    s->rcpt_overshoot = 0;
    s->discard = 0;
    s->hold = 0;
    s->hold_sent = 0;
    free(s->redirect);
    s->redirect = NULL;
    if (s->bcc != NULL) {
        argv_free(s->bcc);
        s->bcc = NULL;
    }
    if (s->prepend != NULL) {
        argv_free(s->prepend);
        s->prepend = NULL;
    }
}

static void session_init(session_t *s, service_t *svc, stream_t *in, stream_t *out,
                         int standalone)
{
    memset(s, 0, sizeof(*s));
    s->svc = svc;
    s->in = in;
    s->out = out;
    s->standalone = standalone;
    s->protocol = "SMTP";
    s->where = "CONNECT";
    s->where_bytes = -1;
    s->mynetworks_cached = -2;
    buf_init(&s->line);
    buf_init(&s->reply);
    buf_init(&s->check_reply);
    pending_init(&s->pending);
}

static void session_free(session_t *s)
{
    smtpd_transaction_reset(s);
    free(s->helo_name);
    s->helo_name = NULL;
    smtpd_peer_free(s);
    pending_release(&s->pending);
    free(s->access_denied);
    s->access_denied = NULL;
    buf_release(&s->line);
    buf_release(&s->reply);
    buf_release(&s->check_reply);
}

void smtpd_session(service_t *svc, stream_t *in, stream_t *out, int standalone,
                   const char *fake_addr)
{
    session_t s;

    session_init(&s, svc, in, out, standalone);
    stream_set_timeout(in, (int) smtpd_var.timeout);
    if (out != in)
        stream_set_timeout(out, (int) smtpd_var.timeout);
    smtpd_peer_init(&s, stream_fd(in), fake_addr);
    msg_info("connect from %s", s.namaddr);
    s.bare_lf_strict = smtpd_var.bare_lf_mode == BARE_LF_REJECT
        && !smtpd_client_in_list(&s, smtpd_var.bare_lf_exclusions);
    s.ehlo_discard = ehlo_discard_mask();
    /* smtpd_client_restrictions, when smtpd_delay_reject=no: the refusal
     * replaces the greeting, and only QUIT is accepted afterwards. */
    if (smtpd_tls_wrapper_start(&s) < 0) {
        s.end = END_EOF;
        log_where(&s, "lost connection");
    } else {
        if (smtpd_check_connect(&s) != NULL)
            smtpd_reply(&s, "%s", s.access_denied);
        else
            smtpd_reply(&s, "220 %s", smtpd_var.banner);
        command_loop(&s);
    }
    (void) smtpd_flush(&s);
    smtpd_tls_end(&s);
    log_disconnect(&s);
    session_free(&s);
}
