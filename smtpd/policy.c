/* policy: the restriction lists. Each SMTP command runs its stages (with
 * smtpd_delay_reject=yes the client, helo and sender lists wait for RCPT);
 * in a list the first permit or reject decides, the end of a list permits
 * that list, and the relay and recipient lists must both pass. This file
 * holds the engine: lists, stages, reply texts and their log lines. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "match_list.h"
#include "policy.h"
#include "resolve.h"

#define CHECK_DEPTH_MAX 100       /* restriction classes inside table results... */

/* ---------- subjects ---------- */

subject_t subject_client(const check_t *c)
{
    subject_t who = { c->s->namaddr, "Client host" };

    return who;
}

subject_t subject_helo(const check_t *c)
{
    subject_t who = { c->helo ? c->helo : "", "Helo command" };

    return who;
}

subject_t subject_sender(const check_t *c)
{
    subject_t who = { c->sender ? c->sender : "", "Sender address" };

    return who;
}

subject_t subject_rcpt(const check_t *c)
{
    subject_t who = { c->rcpt ? c->rcpt : "", "Recipient address" };

    return who;
}

const subject_t *check_subject(const check_t *c)
{
    return c->nested ? c->nested : &c->stage;
}

/* ---------- replies ---------- */

/* "CODE D.D.D text": the DSN class follows the code, and soft_bounce
 * turns refusals into deferrals. */
static void format_reply(buf_t *out, int code, const char *dsn, const char *text)
{
    char status[16];
    size_t len = strlen(dsn);

    if (smtpd_var.soft_bounce && code / 100 == 5)
        code -= 100;
    if (len == 0 || len >= sizeof(status))
        dsn = code / 100 == 4 ? "4.0.0" : "5.0.0";
    memcpy(status, dsn, strlen(dsn) + 1);
    status[0] = (char) ('0' + code / 100);
    buf_reset(out);
    buf_printf(out, "%d %s %s", code, status, text);
}

static int finish_reject(check_t *c, int code, const char *dsn, const char *text)
{
    buf_t line = BUF_INIT;
    int r = CHECK_REJECT;

    format_reply(&line, code, dsn, text);
    if (c->warn_now) {
        check_log(c, "reject_warning", buf_str(&line));
        r = CHECK_DUNNO;
    } else if (c->defer_if_reject && line.data[0] == '5') {
        buf_set(c->reply, buf_str(&c->defer_if_reject_reply));
    } else {
        buf_set(c->reply, buf_str(&line));
    }
    buf_release(&line);
    return r;
}

int check_reject(check_t *c, const subject_t *who, int code, const char *dsn,
                 const char *text)
{
    buf_t full = BUF_INIT;
    int r;

    buf_printf(&full, "<%s>: %s rejected: %s", who->name, who->what, text);
    r = finish_reject(c, code, dsn, buf_str(&full));
    buf_release(&full);
    return r;
}

int check_reject_fmt(check_t *c, int code, const char *dsn, const char *fmt, ...)
{
    buf_t text = BUF_INIT;
    va_list ap;
    int r;

    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    r = finish_reject(c, code, dsn, buf_str(&text));
    buf_release(&text);
    return r;
}

void check_defer_if(check_t *c, int if_permit, const subject_t *who, int code,
                    const char *dsn, const char *text)
{
    buf_t full = BUF_INIT;
    int *active = if_permit ? &c->defer_if_permit : &c->defer_if_reject;
    buf_t *reply = if_permit ? &c->defer_if_permit_reply : &c->defer_if_reject_reply;

    if (*active)
        return;                     /* the first one stands */
    buf_printf(&full, "<%s>: %s rejected: %s", who->name, who->what, text);
    format_reply(reply, code, dsn, buf_str(&full));
    *active = 1;
    buf_release(&full);
}

int check_lookup_error(check_t *c, const char *name)
{
    return check_reject_fmt(c, 451, "4.3.0", "<%s>: Temporary lookup failure", name);
}

int check_config_error(check_t *c)
{
    return check_reject_fmt(c, 451, "4.3.5", "Server configuration error");
}

void check_log(check_t *c, const char *action, const char *text)
{
    smtpd_log_action(c->s, action, c->verb, text, c->sender, c->rcpt, c->helo);
}

/* ---------- lists ---------- */

static void warn_unsupported(const char *name)
{
    static argv_t *warned;

    if (warned == NULL)
        warned = argv_new();
    for (size_t i = 0; i < warned->argc; i++)
        if (strcasecmp(warned->argv[i], name) == 0)
            return;
    argv_add(warned, name);
    msg_warn("restriction %s is not supported yet; ignored", name);
}

static int is_restriction_class(const char *name)
{
    for (size_t i = 0; i < smtpd_var.restriction_classes->argc; i++)
        if (strcmp(smtpd_var.restriction_classes->argv[i], name) == 0)
            return 1;
    return 0;
}

static int run_class(check_t *c, const char *name)
{
    const char *value = config_get(name);
    argv_t *list;
    int r;

    if (c->depth >= CHECK_DEPTH_MAX) {
        msg_warn("restriction class %s: nesting too deep", name);
        return check_config_error(c);
    }
    list = match_list_split(value ? value : "");
    c->depth++;
    r = check_list(c, list);
    c->depth--;
    argv_free(list);
    return r;
}

/* Restrictions about something this command does not have are skipped,
 * as check_recipient_access at MAIL time with smtpd_delay_reject=no. */
static int has_subject(const check_t *c, int flags)
{
    if ((flags & NEEDS_HELO) && c->helo == NULL)
        return 0;
    if ((flags & NEEDS_SENDER) && c->sender == NULL)
        return 0;
    if ((flags & NEEDS_RCPT) && c->rcpt == NULL)
        return 0;
    return 1;
}

/* A name that is no built-in restriction. */
static int run_other(check_t *c, const argv_t *list, size_t *i)
{
    const char *name = list->argv[*i];
    int nargs;

    if (is_restriction_class(name))
        return run_class(c, name);
    if ((nargs = restriction_unsupported(name)) >= 0) {
        warn_unsupported(name);
        if (*i + (size_t) nargs < list->argc)
            *i += (size_t) nargs;
        return CHECK_DUNNO;
    }
    msg_warn("unknown smtpd restriction: \"%s\"", name);
    return check_config_error(c);
}

int check_list(check_t *c, const argv_t *list)
{
    for (size_t i = 0; i < list->argc; i++) {
        const restriction_t *rp = restriction_find(list->argv[i]);
        const char *table = NULL;
        int r;

        if (rp == NULL) {
            r = run_other(c, list, &i);
        } else if ((rp->flags & TAKES_TABLE) && i + 1 >= list->argc) {
            msg_warn("restriction %s needs a type:table argument", rp->name);
            r = check_config_error(c);
        } else {
            if (rp->flags & TAKES_TABLE)
                table = list->argv[++i];
            if (!has_subject(c, rp->flags))
                continue;
            c->warn_now = c->warn_next;
            c->warn_next = 0;
            r = rp->fn(c, table);
            c->warn_now = 0;
        }
        if (r != CHECK_DUNNO)
            return r;
    }
    return CHECK_DUNNO;
}

/* ---------- one command's evaluation ---------- */

static void check_init(check_t *c, session_t *s, const char *verb)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->verb = verb;
    c->helo = s->helo_name;
    buf_init(&c->sender_canon);
    buf_init(&c->rcpt_canon);
    buf_init(&c->defer_if_permit_reply);
    buf_init(&c->defer_if_reject_reply);
    c->reply = &s->check_reply;
    buf_reset(c->reply);
}

static void check_set_sender(check_t *c, const char *sender)
{
    c->sender = sender;
    if (sender != NULL)
        resolve_canonical(&c->sender_canon, sender);
}

static void check_set_rcpt(check_t *c, const char *rcpt)
{
    c->rcpt = rcpt;
    if (rcpt != NULL)
        resolve_canonical(&c->rcpt_canon, rcpt);
}

static void check_free(check_t *c)
{
    buf_release(&c->sender_canon);
    buf_release(&c->rcpt_canon);
    buf_release(&c->defer_if_permit_reply);
    buf_release(&c->defer_if_reject_reply);
}

static int run_stage(check_t *c, subject_t stage, const argv_t *list)
{
    c->stage = stage;
    c->nested = NULL;
    c->warn_next = 0;
    return check_list(c, list);
}

/* Stop after a refusal, or once DISCARD has accepted the whole message. */
static int decided(const check_t *c, int r)
{
    return r == CHECK_REJECT || c->s->discard;
}

/* The reply to send (logged), or NULL; a pending defer_if_permit wins
 * over an overall permit. 421 and 521 end the session. */
static const char *check_finish(check_t *c, int r)
{
    const char *reply = NULL;

    if (r != CHECK_REJECT && c->defer_if_permit && !c->s->discard) {
        buf_set(c->reply, buf_str(&c->defer_if_permit_reply));
        r = CHECK_REJECT;
    }
    if (r == CHECK_REJECT) {
        reply = buf_str(c->reply);
        check_log(c, "reject", reply);
        if (strncmp(reply, "421", 3) == 0 || strncmp(reply, "521", 3) == 0)
            c->s->end = END_DROP;
    }
    check_free(c);
    return reply;
}

static int client_stage(check_t *c)
{
    return run_stage(c, subject_client(c), smtpd_var.client_restrictions);
}

static int helo_stage(check_t *c)
{
    if (c->helo == NULL)
        return CHECK_DUNNO;
    return run_stage(c, subject_helo(c), smtpd_var.helo_restrictions);
}

static int sender_stage(check_t *c)
{
    int r;

    if (c->sender == NULL)
        return CHECK_DUNNO;
    r = run_stage(c, subject_sender(c), smtpd_var.sender_restrictions);
    if (!decided(c, r) && smtpd_var.reject_unlisted_sender && !c->sender_checked)
        r = check_unlisted_sender(c);
    return r;
}

/* ---------- the entry points ---------- */

const char *smtpd_check_connect(session_t *s)
{
    check_t c;
    const char *reply;

    if (smtpd_var.delay_reject || s->local_submission
        || smtpd_var.client_restrictions->argc == 0)
        return NULL;
    check_init(&c, s, "CONNECT");
    c.helo = NULL;
    reply = check_finish(&c, client_stage(&c));
    if (reply != NULL)
        s->access_denied = xstrdup(reply);
    return reply;
}

const char *smtpd_check_helo(session_t *s, const char *verb, const char *helo)
{
    check_t c;

    if (smtpd_var.delay_reject || s->local_submission)
        return NULL;
    check_init(&c, s, verb);
    c.helo = helo;
    return check_finish(&c, helo_stage(&c));
}

const char *smtpd_check_mail(session_t *s, const char *sender)
{
    check_t c;

    if (smtpd_var.delay_reject || s->local_submission || s->discard)
        return NULL;
    check_init(&c, s, "MAIL");
    check_set_sender(&c, sender);
    return check_finish(&c, sender_stage(&c));
}

const char *smtpd_check_rcpt(session_t *s, const char *verb, const char *rcpt)
{
    check_t c;
    int r = CHECK_DUNNO;

    if (s->discard)
        return NULL;                /* DISCARD took the whole message */
    check_init(&c, s, verb);
    check_set_sender(&c, s->sender);
    check_set_rcpt(&c, rcpt);
    if (smtpd_var.delay_reject && !s->local_submission) {
        r = client_stage(&c);
        if (!decided(&c, r))
            r = helo_stage(&c);
        if (!decided(&c, r))
            r = sender_stage(&c);
    }
    /* Both lists must pass: relay control first, as Postfix does. */
    if (!decided(&c, r))
        r = run_stage(&c, subject_rcpt(&c), smtpd_var.relay_restrictions);
    if (!decided(&c, r))
        r = run_stage(&c, subject_rcpt(&c), smtpd_var.recipient_restrictions);
    if (!decided(&c, r) && smtpd_var.reject_unlisted_recipient && !c.rcpt_checked)
        r = check_unlisted_recipient(&c);
    return check_finish(&c, r);
}

const char *smtpd_check_data(session_t *s)
{
    static const subject_t stage = { "DATA", "Data command" };
    check_t c;

    if (s->discard || smtpd_var.data_restrictions->argc == 0)
        return NULL;
    check_init(&c, s, "DATA");
    check_set_sender(&c, s->sender);
    check_set_rcpt(&c, s->rcpt_count == 1 ? s->first_rcpt : NULL);
    return check_finish(&c, run_stage(&c, stage, smtpd_var.data_restrictions));
}

const char *smtpd_check_eod(session_t *s)
{
    static const subject_t stage = { "END-OF-MESSAGE", "End-of-data" };
    check_t c;

    if (s->discard || smtpd_var.eod_restrictions->argc == 0)
        return NULL;
    check_init(&c, s, "END-OF-MESSAGE");
    check_set_sender(&c, s->sender);
    check_set_rcpt(&c, s->rcpt_count == 1 ? s->first_rcpt : NULL);
    return check_finish(&c, run_stage(&c, stage, smtpd_var.eod_restrictions));
}

/* ---------- start-up check ---------- */

static int has_relay_restriction(const argv_t *list)
{
    static const char *const names[] = {
        "reject_unauth_destination", "defer_unauth_destination", "reject", "defer",
        "defer_if_permit", "check_relay_domains",
    };

    for (size_t i = 0; i < list->argc; i++)
        for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
            if (strcasecmp(list->argv[i], names[j]) == 0)
                return 1;
    return 0;
}

/* Without one of these, anyone could relay through us. */
void smtpd_check_config(void)
{
    if (!has_relay_restriction(smtpd_var.relay_restrictions)
        && !has_relay_restriction(smtpd_var.recipient_restrictions))
        msg_fatal("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, "
                  "specify at least one working instance of: reject_unauth_destination, "
                  "defer_unauth_destination, reject, defer, defer_if_permit or "
                  "check_relay_domains");
}
