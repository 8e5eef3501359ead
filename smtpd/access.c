/* access: check_client_access, check_reverse_client_hostname_access,
 * check_helo_access, check_sender_access and check_recipient_access:
 * Postfix's search orders over an access table, and what its values do
 * (OK, REJECT text, DEFER, DUNNO, 4xx/5xx text, HOLD, DISCARD, REDIRECT,
 * BCC, PREPEND..., or more restrictions to run). The whole-message actions
 * are remembered in the session; data.c hands them to cleanup. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "argv.h"
#include "log.h"
#include "match_list.h"
#include "policy.h"

#define ACCESS_DEPTH_MAX 100

/* ---------- tables, opened once per process ---------- */

typedef struct open_table {
    char   *param;                 /* check_recipient_access... */
    char   *spec;
    maps_t *maps;
} open_table_t;

static open_table_t *opened;
static size_t opened_count;

static const char *param_name(int what)
{
    switch (what) {
    case ACCESS_CLIENT:
        return "check_client_access";
    case ACCESS_REVERSE:
        return "check_reverse_client_hostname_access";
    case ACCESS_HELO:
        return "check_helo_access";
    case ACCESS_SENDER:
        return "check_sender_access";
    default:
        return "check_recipient_access";
    }
}

/* The name starts with check_ and ends with _access, so that lib/table
 * applies parent_domain_matches_subdomains' "smtpd_access_maps". */
static maps_t *access_maps(const char *spec, int what)
{
    const char *param = param_name(what);

    for (size_t i = 0; i < opened_count; i++)
        if (strcmp(opened[i].spec, spec) == 0 && strcmp(opened[i].param, param) == 0)
            return opened[i].maps;
    opened = xreallocarray(opened, size_add(opened_count, 1), sizeof(*opened));
    opened[opened_count].param = xstrdup(param);
    opened[opened_count].spec = xstrdup(spec);
    opened[opened_count].maps = maps_open(param, spec, TABLE_FLAG_FOLD);
    return opened[opened_count++].maps;
}

/* ---------- table values ---------- */

/* A leading "D.D.D " enhanced status code (D from 2, 4, 5): copied to dsn,
 * and *text moved past it. */
static void take_dsn(const char **text, char *dsn, size_t size, const char *fallback)
{
    const char *p = *text;
    size_t n = 0;
    int dots = 0;

    if (*p == '2' || *p == '4' || *p == '5') {
        while (isdigit((unsigned char) p[n]) || p[n] == '.')
            dots += p[n++] == '.';
        if (dots == 2 && p[n - 1] != '.' && p[1] == '.' && (p[n] == ' ' || p[n] == '\t'
                                                            || p[n] == 0) && n < size) {
            memcpy(dsn, p, n);
            dsn[n] = 0;
            p += n;
            *text = p + strspn(p, " \t");
            return;
        }
    }
    snprintf(dsn, size, "%s", fallback);
}

/* Address codes follow the address: X.1.1 (bad recipient) for a sender
 * table is X.1.7 (bad sender), and the other way round. */
static void dsn_for_subject(char *dsn, const subject_t *who)
{
    if (strcmp(who->what, "Sender address") == 0) {
        if (strcmp(dsn + 1, ".1.1") == 0 || strcmp(dsn + 1, ".1.3") == 0)
            dsn[4] = '7';
        else if (strcmp(dsn + 1, ".1.2") == 0)
            dsn[4] = '8';
    } else if (strcmp(who->what, "Recipient address") == 0) {
        if (strcmp(dsn + 1, ".1.7") == 0)
            dsn[4] = '1';
        else if (strcmp(dsn + 1, ".1.8") == 0)
            dsn[4] = '2';
    }
}

static int reply_action(check_t *c, const subject_t *who, int code, const char *text,
                        const char *dsn_fallback, const char *text_fallback)
{
    char dsn[16];

    take_dsn(&text, dsn, sizeof(dsn), dsn_fallback);
    dsn_for_subject(dsn, who);
    return check_reject(c, who, code, dsn, *text ? text : text_fallback);
}

/* HOLD, DISCARD, REDIRECT...: "<name>: what text" in the log. */
static void log_action(check_t *c, const subject_t *who, const char *action,
                       const char *text, const char *fallback)
{
    buf_t line = BUF_INIT;

    buf_printf(&line, "<%s>: %s %s", who->name, who->what, *text ? text : fallback);
    check_log(c, action, buf_str(&line));
    buf_release(&line);
}

static void warn_unsupported_action(const char *action, const char *why)
{
    static argv_t *warned;

    if (warned == NULL)
        warned = argv_new();
    for (size_t i = 0; i < warned->argc; i++)
        if (strcmp(warned->argv[i], action) == 0)
            return;
    argv_add(warned, action);
    msg_warn("access table action %s is not supported %s: the message is queued as usual",
             action, why);
}

/* The actions that change the whole message need a mail transaction: with
 * smtpd_delay_reject=no, client and helo lists run outside one, and VRFY
 * is no transaction either. */
static int can_delegate(check_t *c, const char *spec, const char *action)
{
    if (strcmp(c->verb, "VRFY") == 0)
        return 0;
    if (c->sender != NULL)
        return 1;
    msg_warn("access table %s: with smtpd_delay_reject=no, action %s is always skipped "
             "in smtpd_client_restrictions or smtpd_helo_restrictions", spec, action);
    return 0;
}

/* REDIRECT and BCC name one user@domain. */
static int needs_address(const char *spec, const char *action, const char *text)
{
    if (strchr(text, '@') != NULL && text[strcspn(text, " \t")] == 0)
        return 1;
    msg_warn("access table %s: action %s requires a user@domain target: \"%s\"",
             spec, action, text);
    return 0;
}

static int hold_action(check_t *c, const subject_t *who, const char *text)
{
    /* Once is enough: a second HOLD is not even logged. */
    if (!c->s->hold) {
        log_action(c, who, "hold", text, "triggers HOLD action");
        c->s->hold = 1;
    }
    return CHECK_DUNNO;
}

/* REDIRECT, BCC and FILTER: "<name>: what triggers ACTION text". */
static void log_triggers(check_t *c, const subject_t *who, const char *action,
                         const char *text)
{
    buf_t what = BUF_INIT, lower = BUF_INIT;

    buf_printf(&what, "triggers %s %s", action, text);
    for (const char *p = action; *p; p++)
        buf_putc(&lower, (char) tolower((unsigned char) *p));
    log_action(c, who, buf_str(&lower), "", buf_str(&what));
    buf_release(&what);
    buf_release(&lower);
}

/* At the end of data the recipients are already in the queue file. */
static int too_late(check_t *c, const char *action)
{
    if (strcmp(c->verb, "END-OF-MESSAGE") != 0)
        return 0;
    warn_unsupported_action(action, "in smtpd_end_of_data_restrictions");
    return 1;
}

static int redirect_action(check_t *c, const subject_t *who, const char *spec,
                           const char *text)
{
    if (!needs_address(spec, "REDIRECT", text) || too_late(c, "REDIRECT"))
        return CHECK_DUNNO;
    log_triggers(c, who, "REDIRECT", text);
    free(c->s->redirect);
    c->s->redirect = xstrdup(text);
    return CHECK_DUNNO;
}

static int bcc_action(check_t *c, const subject_t *who, const char *spec, const char *text)
{
    if (!needs_address(spec, "BCC", text) || too_late(c, "BCC"))
        return CHECK_DUNNO;
    log_triggers(c, who, "BCC", text);
    if (c->s->bcc == NULL)
        c->s->bcc = argv_new();
    argv_add(c->s->bcc, text);
    return CHECK_DUNNO;
}

static int filter_action(check_t *c, const subject_t *who, const char *spec,
                         const char *text)
{
    if (*text == 0 || strchr(text, ':') == NULL) {
        msg_warn("access table %s: action FILTER requires transport:destination: \"%s\"",
                 spec, text);
        return CHECK_DUNNO;
    }
    log_triggers(c, who, "FILTER", text);
    warn_unsupported_action("FILTER", "yet (no content filters)");
    return CHECK_DUNNO;
}

/* "Name: value" with a printable field name. */
static int valid_header(const char *text)
{
    size_t n = strcspn(text, ":");

    if (n == 0 || text[n] != ':')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (text[i] <= ' ' || text[i] > '~')
            return 0;
    for (const char *p = text; *p; p++)
        if (*p == '\r' || *p == '\n')
            return 0;
    return 1;
}

static int prepend_action(check_t *c, const char *spec, const char *text)
{
    if (!valid_header(text)) {
        msg_warn("access table %s: PREPEND action without a valid header: %s", spec, text);
        return check_config_error(c);
    }
    if (c->s->prepend == NULL)
        c->s->prepend = argv_new();
    argv_add(c->s->prepend, text);
    return CHECK_DUNNO;
}

/* The actions that affect the whole message (the whole transaction). */
static int whole_message_action(check_t *c, const subject_t *who, const char *spec,
                                const char *action, const char *text)
{
    if (!can_delegate(c, spec, action))
        return CHECK_DUNNO;
    if (strcasecmp(action, "DISCARD") == 0) {
        log_action(c, who, "discard", text, "triggers DISCARD action");
        c->s->discard = 1;
        return CHECK_PERMIT;
    }
    if (strcasecmp(action, "HOLD") == 0)
        return hold_action(c, who, text);
    if (strcasecmp(action, "REDIRECT") == 0)
        return redirect_action(c, who, spec, text);
    if (strcasecmp(action, "BCC") == 0)
        return bcc_action(c, who, spec, text);
    return filter_action(c, who, spec, text);
}

/* The whole-message and informational actions; -1 when action is none. */
static int message_action(check_t *c, const subject_t *who, const char *spec,
                          const char *action, const char *text)
{
    static const char *const whole[] = { "DISCARD", "HOLD", "REDIRECT", "BCC", "FILTER" };

    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
        if (strcasecmp(action, whole[i]) == 0)
            return whole_message_action(c, who, spec, action, text);
    if (strcasecmp(action, "PREPEND") == 0)
        return prepend_action(c, spec, text);
    if (strcasecmp(action, "INFO") == 0 || strcasecmp(action, "WARN") == 0) {
        log_action(c, who, action[0] == 'I' || action[0] == 'i' ? "info" : "warn", text,
                   "triggers action");
        return CHECK_DUNNO;
    }
    return -1;
}

/* "450 text", "521 text": the code as given (421 and 521 hang up). */
static int numeric_action(check_t *c, const subject_t *who, const char *spec,
                          const char *value)
{
    int code = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    const char *text = value + 3 + strspn(value + 3, " \t");

    if (value[0] != '4' && value[0] != '5') {
        msg_warn("access table %s: bad reply code in \"%s\"", spec, value);
        return check_config_error(c);
    }
    return reply_action(c, who, code, text, value[0] == '4' ? "4.7.1" : "5.7.1",
                        "Access denied");
}

static int nested_restrictions(check_t *c, const subject_t *who, const char *value)
{
    const subject_t *saved = c->nested;
    argv_t *list;
    int r;

    if (c->depth >= ACCESS_DEPTH_MAX) {
        msg_warn("access table result \"%s\": restrictions nested too deep", value);
        return check_config_error(c);
    }
    list = match_list_split(value);
    c->depth++;
    c->nested = who;
    r = check_list(c, list);
    c->nested = saved;
    c->depth--;
    argv_free(list);
    return r;
}

static int table_action(check_t *c, const subject_t *who, const char *spec, const char *value)
{
    size_t n;
    char action[32];
    const char *text;
    int r;

    value += strspn(value, " \t");
    n = strcspn(value, " \t");
    text = value + n + strspn(value + n, " \t");
    if (smtpd_all_digits(value) || (n == 2 && strncasecmp(value, "OK", 2) == 0))
        return CHECK_PERMIT;
    if (n == 3 && isdigit((unsigned char) value[0]) && isdigit((unsigned char) value[1])
        && isdigit((unsigned char) value[2]))
        return numeric_action(c, who, spec, value);
    if (n >= sizeof(action))
        return nested_restrictions(c, who, value);
    memcpy(action, value, n);
    action[n] = 0;
    if (strcasecmp(action, "REJECT") == 0)
        return reply_action(c, who, (int) smtpd_var.access_reject_code, text, "5.7.1",
                            "Access denied");
    if (strcasecmp(action, "DEFER") == 0)
        return reply_action(c, who, (int) smtpd_var.access_defer_code, text, "4.7.1",
                            "Access denied");
    if (strcasecmp(action, "DEFER_IF_REJECT") == 0 || strcasecmp(action, "DEFER_IF_PERMIT") == 0) {
        char dsn[16];

        take_dsn(&text, dsn, sizeof(dsn), "4.7.1");
        check_defer_if(c, action[9] == 'P' || action[9] == 'p', who,
                       (int) smtpd_var.access_defer_code, dsn,
                       *text ? text : "Service unavailable");
        return CHECK_DUNNO;
    }
    if (strcasecmp(action, "DUNNO") == 0)
        return CHECK_DUNNO;
    if ((r = message_action(c, who, spec, action, text)) >= 0)
        return r;
    return nested_restrictions(c, who, value);
}

/* ---------- search orders ---------- */

static int lookup(check_t *c, const subject_t *who, const char *spec, int what,
                  const char *key, int order)
{
    buf_t value = BUF_INIT;
    int r;

    if (key == NULL || (order != MAPS_ADDR_ACCESS && (*key == 0 || strcmp(key, "unknown") == 0)))
        return CHECK_DUNNO;
    r = maps_find_addr(access_maps(spec, what), key, order, 0, &value, NULL);
    if (r == TABLE_FOUND)
        r = table_action(c, who, spec, buf_str(&value));
    else if (r == TABLE_ERROR) {
        msg_warn("%s: %s lookup error for \"%s\"", param_name(what), spec, key);
        r = check_lookup_error(c, who->name);
    } else {
        r = CHECK_DUNNO;
    }
    buf_release(&value);
    return r;
}

/* "[1.2.3.4]" or "[IPv6:::1]" -> the address; NULL for anything else. */
static char *literal_address(const char *name)
{
    size_t len = strlen(name);
    buf_t b = BUF_INIT;

    if (len < 3 || name[0] != '[' || name[len - 1] != ']')
        return NULL;
    name++;
    len -= 2;
    if (len > 5 && strncasecmp(name, "ipv6:", 5) == 0) {
        name += 5;
        len -= 5;
    }
    buf_append(&b, name, len);
    return buf_steal(&b);
}

/* A host name (and its parents), then an address (and its networks). */
static int lookup_host(check_t *c, const subject_t *who, const char *spec, int what,
                       const char *name, const char *addr)
{
    int r = lookup(c, who, spec, what, name, MAPS_ADDR_HOST);

    if (r != CHECK_DUNNO || addr == NULL)
        return r;
    return lookup(c, who, spec, what, addr, MAPS_ADDR_IP);
}

int check_access(check_t *c, const char *spec, int what)
{
    subject_t who;
    char *literal;
    int r;

    switch (what) {
    case ACCESS_CLIENT:
        who = subject_client(c);
        return lookup_host(c, &who, spec, what, c->s->name, c->s->addr);
    case ACCESS_REVERSE:
        who = subject_client(c);
        return lookup_host(c, &who, spec, what, c->s->reverse_name, c->s->addr);
    case ACCESS_HELO:
        who = subject_helo(c);
        if ((literal = literal_address(c->helo)) == NULL)
            return lookup_host(c, &who, spec, what, c->helo, NULL);
        r = lookup(c, &who, spec, what, literal, MAPS_ADDR_IP);
        free(literal);
        return r;
    case ACCESS_SENDER:
        who = subject_sender(c);
        return lookup(c, &who, spec, what, buf_str(&c->sender_canon), MAPS_ADDR_ACCESS);
    default:
        who = subject_rcpt(c);
        return lookup(c, &who, spec, what, buf_str(&c->rcpt_canon), MAPS_ADDR_ACCESS);
    }
}
