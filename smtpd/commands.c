/* commands: the SMTP command table. Each verb has a check (state and
 * syntax; refuses with a reply) and an action (does the work and replies),
 * as OpenSMTPD separates them. Reply texts are Postfix's, word for word. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "address.h"
#include "alloc.h"
#include "ipc.h"
#include "log.h"
#include "smtpd.h"

/* ---------- helpers ---------- */

static int no_check(session_t *s, const char *args)
{
    (void) s;
    (void) args;
    return 0;
}

/* The argument after "FROM:" / "TO:" (case-insensitive), or NULL. */
static const char *after_keyword(const char *args, const char *keyword)
{
    size_t n = strlen(keyword);
    const char *rest;

    if (strncasecmp(args, keyword, n) != 0)
        return NULL;
    rest = args + n;
    rest += strspn(rest, " \t");
    return *rest ? rest : NULL;
}

int smtpd_all_digits(const char *p)
{
    if (*p == 0)
        return 0;
    for (; *p; p++)
        if (!isdigit((unsigned char) *p))
            return 0;
    return 1;
}

/* HELO names go into Received: headers: neutralise what could break them. */
static char *neuter_helo(const char *name)
{
    buf_t b = BUF_INIT;

    smtpd_printable(&b, name, strlen(name));
    for (size_t i = 0; i < b.len; i++)
        if (strchr(" <>()\\\";@", b.data[i]) != NULL)
            b.data[i] = '?';
    return buf_steal(&b);
}

static void pending_reset(smtpd_pending_t *p)
{
    buf_reset(&p->addr);
    buf_reset(&p->envid);
    buf_reset(&p->orcpt);
    p->size = 0;
    p->encoding = NULL;
    p->ret = 0;
    p->has_envid = 0;
    p->notify = 0;
    p->has_orcpt = 0;
}

static int dsn_disabled(session_t *s)
{
    if (s->ehlo_discard & EHLO_DSN) {
        smtpd_reply(s, "501 5.7.1 DSN support is disabled");
        return 1;
    }
    return 0;
}

/* Runs the recipient checks (they log); on refusal replies. */
static int refused_by_policy(session_t *s, const char *verb, const char *rcpt)
{
    const char *reply = smtpd_check_rcpt(s, verb, rcpt);

    if (reply != NULL)
        smtpd_reply(s, "%s", reply);
    return reply != NULL;
}

static void warn_illegal_address(session_t *s, const char *verb, const char *text)
{
    buf_t shown = BUF_INIT;

    smtpd_printable(&shown, text, strlen(text));
    msg_warn("Illegal address syntax from %s in %s command: %s", s->namaddr, verb,
             buf_str(&shown));
    buf_release(&shown);
}

/* ---------- HELO / EHLO ---------- */

static void start_conversation(session_t *s, const char *name, const char *protocol)
{
    smtpd_transaction_reset(s);
    free(s->helo_name);
    s->helo_name = neuter_helo(name);
    s->protocol = protocol;
}

static int helo_check(session_t *s, const char *args)
{
    if (*args == 0) {
        smtpd_reply(s, "501 Syntax: HELO hostname");
        return -1;
    }
    return 0;
}

/* smtpd_helo_restrictions, when smtpd_delay_reject=no. */
static int helo_refused(session_t *s, const char *verb, const char *args)
{
    char *name = neuter_helo(args);
    const char *reply = smtpd_check_helo(s, verb, name);

    free(name);
    if (reply != NULL)
        smtpd_reply(s, "%s", reply);
    return reply != NULL;
}

static int helo_action(session_t *s, const char *args)
{
    if (helo_refused(s, "HELO", args))
        return -1;
    start_conversation(s, args, "SMTP");
    smtpd_reply(s, "250 %s", smtpd_var.myhostname);
    return 0;
}

static int ehlo_check(session_t *s, const char *args)
{
    if (*args == 0) {
        smtpd_reply(s, "501 Syntax: EHLO hostname");
        return -1;
    }
    return 0;
}

static void log_discarded_keywords(session_t *s)
{
    static const char *const names[] = {
        "PIPELINING", "SIZE", "VRFY", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
        "STARTTLS",
    };
    buf_t list = BUF_INIT;

    if (s->ehlo_discard == 0)
        return;
    for (size_t i = 0; i < smtpd_var.discard_ehlo->argc; i++)
        if (strcmp(smtpd_var.discard_ehlo->argv[i], "silent-discard") == 0)
            return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (s->ehlo_discard & (1 << i))
            buf_printf(&list, "%s%s", list.len ? " " : "", names[i]);
    msg_info("discarding EHLO keywords: %s", buf_str(&list));
    buf_release(&list);
}

static int ehlo_action(session_t *s, const char *args)
{
    argv_t *lines = argv_new();
    buf_t size = BUF_INIT;
    int hide = s->ehlo_discard;

    if (helo_refused(s, "EHLO", args)) {
        argv_free(lines);
        return -1;
    }
    start_conversation(s, args, "ESMTP");
    argv_add(lines, smtpd_var.myhostname);
    if (!(hide & EHLO_PIPELINING))
        argv_add(lines, "PIPELINING");
    if (!(hide & EHLO_SIZE)) {
        if (smtpd_var.message_size_limit > 0)
            buf_printf(&size, "SIZE %ld", smtpd_var.message_size_limit);
        else
            buf_puts(&size, "SIZE");
        argv_add(lines, buf_str(&size));
    }
    if (!(hide & EHLO_VRFY) && !smtpd_var.disable_vrfy)
        argv_add(lines, "VRFY");
    if (!(hide & EHLO_ETRN))
        argv_add(lines, "ETRN");
    if (smtpd_tls_offered(s))
        argv_add(lines, "STARTTLS");
    if (!(hide & EHLO_ENHANCED))
        argv_add(lines, "ENHANCEDSTATUSCODES");
    if (!(hide & EHLO_8BITMIME))
        argv_add(lines, "8BITMIME");
    if (!(hide & EHLO_DSN))
        argv_add(lines, "DSN");
    log_discarded_keywords(s);
    smtpd_reply_lines(s, lines);
    argv_free(lines);
    buf_release(&size);
    return 0;
}

/* ---------- MAIL ---------- */

static int mail_size_param(session_t *s, const char *value)
{
    unsigned long long size;
    char *end;

    if (!smtpd_all_digits(value)) {
        smtpd_reply(s, "501 5.5.4 Bad message size syntax");
        return -1;
    }
    errno = 0;
    size = strtoull(value, &end, 10);
    if (errno == ERANGE || size > LONG_MAX) {
        smtpd_reply(s, "552 5.3.4 Message size exceeds file system imposed limit");
        return -1;
    }
    s->pending.size = (long) size;
    return 0;
}

static int mail_one_param(session_t *s, const char *param)
{
    smtpd_pending_t *p = &s->pending;

    if (strcasecmp(param, "BODY=8BITMIME") == 0) {
        p->encoding = "8bit";
    } else if (strcasecmp(param, "BODY=7BIT") == 0) {
        p->encoding = "7bit";
    } else if (strncasecmp(param, "SIZE=", 5) == 0) {
        return mail_size_param(s, param + 5);
    } else if (strncasecmp(param, "RET=", 4) == 0) {
        if (dsn_disabled(s))
            return -1;
        if (p->ret != 0 || (p->ret = dsn_ret_parse(param + 4)) == 0) {
            smtpd_reply(s, "501 5.5.4 Bad RET parameter syntax");
            return -1;
        }
    } else if (strncasecmp(param, "ENVID=", 6) == 0) {
        if (dsn_disabled(s))
            return -1;
        if (p->has_envid || xtext_decode(&p->envid, param + 6, strlen(param + 6)) < 0
            || p->envid.len == 0) {
            smtpd_reply(s, "501 5.5.4 Bad ENVID parameter syntax");
            return -1;
        }
        p->has_envid = 1;
    } else {
        smtpd_reply(s, "555 5.5.4 Unsupported option: %s", param);
        return -1;
    }
    return 0;
}

/* Applies fn to every blank-separated parameter; stops at the first refusal. */
static int each_param(session_t *s, const char *params,
                      int (*fn)(session_t *s, const char *param))
{
    argv_t *list = argv_split(params, " \t");
    int r = 0;

    for (size_t i = 0; i < list->argc && r == 0; i++)
        r = fn(s, list->argv[i]);
    argv_free(list);
    return r;
}

static int mail_check(session_t *s, const char *args)
{
    const char *arg, *params = "", *why = "";

    if (smtpd_var.helo_required && s->helo_name == NULL) {
        smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
        return -1;
    }
    if (s->sender != NULL) {
        smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
        return -1;
    }
    if ((arg = after_keyword(args, "FROM:")) == NULL) {
        smtpd_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
        return -1;
    }
    pending_reset(&s->pending);
    if (smtp_path_parse(arg, &s->pending.addr, &params, &why) < 0) {
        warn_illegal_address(s, "MAIL", arg);
        smtpd_reply(s, "501 5.1.7 Bad sender address syntax");
        return -1;
    }
    if (each_param(s, params ? params : "", mail_one_param) < 0)
        return -1;
    if (smtpd_var.message_size_limit > 0 && s->pending.size > smtpd_var.message_size_limit) {
        smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
        return -1;
    }
    return 0;
}

static int mail_action(session_t *s, const char *args)
{
    smtpd_pending_t *p = &s->pending;

    const char *reply;

    (void) args;
    /* smtpd_sender_restrictions, when smtpd_delay_reject=no. */
    if ((reply = smtpd_check_mail(s, buf_str(&p->addr))) != NULL) {
        smtpd_reply(s, "%s", reply);
        /* No transaction: forget what the refused sender's checks set
         * (HOLD, REDIRECT...). The reply is in s->reply already. */
        smtpd_transaction_reset(s);
        return -1;
    }
    gettimeofday(&s->arrival, NULL);
    s->sender = xstrdup(buf_str(&p->addr));
    s->declared_size = p->size;
    s->encoding = p->encoding;
    s->dsn_ret = p->ret;
    s->dsn_envid = p->has_envid ? xstrdup(buf_str(&p->envid)) : NULL;
    smtpd_reply(s, "250 2.1.0 Ok");
    return 0;
}

/* ---------- RCPT ---------- */

static int rcpt_orcpt_param(session_t *s, const char *value)
{
    smtpd_pending_t *p = &s->pending;
    const char *semi = strchr(value, ';');
    buf_t decoded = BUF_INIT;
    int ok;

    ok = !p->has_orcpt && semi != NULL && semi > value
        && xtext_decode(&decoded, semi + 1, strlen(semi + 1)) == 0;
    if (ok) {
        buf_reset(&p->orcpt);
        buf_append(&p->orcpt, value, (size_t) (semi - value + 1));
        buf_append(&p->orcpt, buf_str(&decoded), decoded.len);
        p->has_orcpt = 1;
    }
    buf_release(&decoded);
    if (!ok)
        smtpd_reply(s, "501 5.5.4 Error: Bad ORCPT parameter syntax");
    return ok ? 0 : -1;
}

static int rcpt_one_param(session_t *s, const char *param)
{
    smtpd_pending_t *p = &s->pending;

    if (strncasecmp(param, "NOTIFY=", 7) == 0) {
        if (dsn_disabled(s))
            return -1;
        if (p->notify != 0 || (p->notify = dsn_notify_parse(param + 7)) == 0) {
            smtpd_reply(s, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
            return -1;
        }
        return 0;
    }
    if (strncasecmp(param, "ORCPT=", 6) == 0) {
        if (dsn_disabled(s))
            return -1;
        return rcpt_orcpt_param(s, param + 6);
    }
    smtpd_reply(s, "555 5.5.4 Unsupported option: %s", param);
    return -1;
}

static int rcpt_check(session_t *s, const char *args)
{
    const char *arg, *params = "", *why = "";

    if (s->sender == NULL) {
        smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
        return -1;
    }
    if ((arg = after_keyword(args, "TO:")) == NULL) {
        smtpd_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
        return -1;
    }
    pending_reset(&s->pending);
    if (smtp_path_parse(arg, &s->pending.addr, &params, &why) < 0
        || s->pending.addr.len == 0) {
        warn_illegal_address(s, "RCPT", arg);
        smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
        return -1;
    }
    return each_param(s, params ? params : "", rcpt_one_param);
}

static int rcpt_action(session_t *s, const char *args)
{
    smtpd_pending_t *p = &s->pending;
    const char *rcpt = buf_str(&p->addr);

    (void) args;
    if (smtpd_var.recipient_limit > 0 && s->rcpt_count >= smtpd_var.recipient_limit) {
        smtpd_reply(s, "452 4.5.3 Error: too many recipients");
        /* Not an error until the client keeps going well past the limit. */
        return s->rcpt_overshoot++ < smtpd_var.recipient_overshoot_limit ? 0 : -1;
    }
    if (refused_by_policy(s, "RCPT", rcpt))
        return -1;
    if (s->cleanup == NULL && smtpd_cleanup_start(s) < 0) {
        smtpd_reply(s, "451 4.3.0 Error: queue file write error");
        return -1;
    }
    smtpd_cleanup_recipient(s, rcpt, rcpt, p->has_orcpt ? buf_str(&p->orcpt) : NULL,
                            p->notify);
    if (s->rcpt_count++ == 0)
        s->first_rcpt = xstrdup(rcpt);
    smtpd_reply(s, "250 2.1.5 Ok");
    return 0;
}

/* ---------- DATA, RSET, NOOP, QUIT ---------- */

static int data_check(session_t *s, const char *args)
{
    const char *reply;

    if (s->rcpt_count == 0) {
        if (s->sender == NULL)
            smtpd_reply(s, "503 5.5.1 Error: need RCPT command");
        else
            smtpd_reply(s, "554 5.5.1 Error: no valid recipients");
        return -1;
    }
    if (*args != 0) {
        smtpd_reply(s, "501 5.5.4 Syntax: DATA");
        return -1;
    }
    if ((reply = smtpd_check_data(s)) != NULL) {
        smtpd_reply(s, "%s", reply);
        return -1;
    }
    return 0;
}

static int data_action(session_t *s, const char *args)
{
    (void) args;
    return smtpd_data(s);
}

static int rset_check(session_t *s, const char *args)
{
    if (*args != 0) {
        smtpd_reply(s, "501 5.5.4 Syntax: RSET");
        return -1;
    }
    return 0;
}

static int rset_action(session_t *s, const char *args)
{
    (void) args;
    smtpd_transaction_reset(s);
    smtpd_reply(s, "250 2.0.0 Ok");
    return 0;
}

static int noop_action(session_t *s, const char *args)
{
    (void) args;
    smtpd_reply(s, "250 2.0.0 Ok");
    return 0;
}

static int quit_action(session_t *s, const char *args)
{
    (void) args;
    smtpd_reply(s, "221 2.0.0 Bye");
    /* Out now, so a pipelined "." and QUIT are answered before we tidy up. */
    (void) smtpd_flush(s);
    return 0;
}

/* ---------- VRFY, ETRN ---------- */

static int vrfy_check(session_t *s, const char *args)
{
    if (smtpd_var.disable_vrfy) {
        smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
        return -1;
    }
    if (*args == 0) {
        smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
        return -1;
    }
    return 0;
}

static int vrfy_action(session_t *s, const char *args)
{
    const char *params = "", *why = "";
    buf_t addr = BUF_INIT;
    int r = 0;

    if (smtp_path_parse(args, &addr, &params, &why) < 0 || addr.len == 0) {
        smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
        r = -1;
    } else if (refused_by_policy(s, "VRFY", buf_str(&addr))) {
        r = -1;
    } else {
        smtpd_reply(s, "252 2.0.0 %s", args);
    }
    buf_release(&addr);
    return r;
}

static int etrn_check(session_t *s, const char *args)
{
    if (smtpd_var.helo_required && s->helo_name == NULL) {
        smtpd_reply(s, "503 Error: send HELO/EHLO first");
        return -1;
    }
    if (s->sender != NULL) {
        smtpd_reply(s, "503 Error: MAIL transaction in progress");
        return -1;
    }
    if (*args == 0 || strpbrk(args, " \t") != NULL) {
        smtpd_reply(s, "500 Syntax: ETRN domain");
        return -1;
    }
    if (*args == '@' || *args == '#')
        args++;
    if (!addr_valid_domain(args)) {
        smtpd_reply(s, "501 Error: invalid parameter syntax");
        return -1;
    }
    return 0;
}

/* fast_flush_domains: "example.com" also covers its subdomains. */
static int fast_flush_domain(const char *domain)
{
    const argv_t *list = smtpd_var.fast_flush_domains;
    size_t dlen = strlen(domain);

    for (size_t i = 0; i < list->argc; i++) {
        const char *d = list->argv[i];
        size_t n = strlen(d);

        if (strcasecmp(d, domain) == 0)
            return 1;
        if (dlen > n && domain[dlen - n - 1] == '.' && strcasecmp(domain + dlen - n, d) == 0)
            return 1;
    }
    return 0;
}

static int etrn_action(session_t *s, const char *args)
{
    const char *domain = (*args == '@' || *args == '#') ? args + 1 : args;

    if (s->standalone) {
        msg_warn("do not use ETRN in \"sendmail -bs\" mode");
        smtpd_reply(s, "458 Unable to queue messages");
        return -1;
    }
    if (!fast_flush_domain(domain)) {
        msg_warn("reject: ETRN %.100s... from %s", domain, s->namaddr);
        smtpd_reply(s, "459 <%s>: service unavailable", domain);
        return -1;
    }
    /* No per-site flush service yet: ask qmgr to retry deferred mail now. */
    if (trigger_send("public/qmgr", "D", 1) < 0) {
        msg_warn("unable to talk to the queue manager: %m");
        smtpd_reply(s, "458 Unable to queue messages");
        return -1;
    }
    smtpd_reply(s, "250 Queuing started");
    return 0;
}

/* ---------- AUTH: not offered yet (STARTTLS is in tls.c) ---------- */

static int auth_action(session_t *s, const char *args)
{
    (void) args;
    smtpd_reply(s, "503 5.5.1 Error: authentication not enabled");
    return -1;
}

/* ---------- the table ---------- */

/* In Postfix's order, which is also the order of the disconnect counts.
 * CMD_PRE_TLS: what smtpd_tls_security_level=encrypt allows before TLS. */
const smtpd_cmd_t smtpd_cmd_table[] = {
    { "HELO",     CMD_LIMIT | CMD_PRE_TLS, helo_check, helo_action },
    { "EHLO",     CMD_LIMIT | CMD_PRE_TLS, ehlo_check, ehlo_action },
    { "STARTTLS", CMD_PRE_TLS,             smtpd_starttls_check, smtpd_starttls_action },
    { "AUTH",     0,                       no_check,   auth_action },
    { "MAIL",     0,                       mail_check, mail_action },
    { "RCPT",     0,                       rcpt_check, rcpt_action },
    { "DATA",     0,                       data_check, data_action },
    { "RSET",     CMD_LIMIT,               rset_check, rset_action },
    { "NOOP",     CMD_LIMIT | CMD_PRE_TLS, no_check,   noop_action },
    { "VRFY",     CMD_LIMIT,               vrfy_check, vrfy_action },
    { "ETRN",     CMD_LIMIT,               etrn_check, etrn_action },
    { "QUIT",     CMD_QUIT | CMD_PRE_TLS,  no_check,   quit_action },
    { NULL, 0, NULL, NULL },
};

const smtpd_cmd_t *smtpd_cmd_find(const char *verb, size_t len)
{
    for (const smtpd_cmd_t *c = smtpd_cmd_table; c->verb != NULL; c++)
        if (strlen(c->verb) == len && strncasecmp(c->verb, verb, len) == 0)
            return c;
    return NULL;
}
