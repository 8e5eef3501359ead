/* restrictions: the built-in restrictions, one small function each, and
 * the table that names them. Reply texts are Postfix's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "alloc.h"
#include "log.h"
#include "match_list.h"
#include "policy.h"
#include "resolve.h"

/* ---------- generic ---------- */

static int r_permit(check_t *c, const char *table)
{
    (void) c;
    (void) table;
    return CHECK_PERMIT;
}

static int r_dunno(check_t *c, const char *table)
{
    (void) c;
    (void) table;
    return CHECK_DUNNO;
}

static int r_reject(check_t *c, const char *table)
{
    (void) table;
    return check_reject(c, check_subject(c), (int) smtpd_var.reject_code, "5.7.1",
                        "Access denied");
}

static int r_defer(check_t *c, const char *table)
{
    (void) table;
    return check_reject(c, check_subject(c), (int) smtpd_var.defer_code, "4.3.2",
                        "Try again later");
}

static int r_defer_if_permit(check_t *c, const char *table)
{
    (void) table;
    check_defer_if(c, 1, check_subject(c), (int) smtpd_var.defer_code, "4.7.1",
                   "defer_if_permit requested");
    return CHECK_DUNNO;
}

static int r_defer_if_reject(check_t *c, const char *table)
{
    (void) table;
    check_defer_if(c, 0, check_subject(c), (int) smtpd_var.defer_code, "4.7.1",
                   "defer_if_reject requested");
    return CHECK_DUNNO;
}

static int r_warn_if_reject(check_t *c, const char *table)
{
    (void) table;
    c->warn_next = 1;
    return CHECK_DUNNO;
}

/* ---------- client ---------- */

static int r_permit_mynetworks(check_t *c, const char *table)
{
    int r = smtpd_client_in_mynetworks(c->s);

    (void) table;
    if (r == MATCH_FOUND)
        return CHECK_PERMIT;
    if (r == MATCH_ERROR)
        return check_lookup_error(c, c->s->namaddr);
    return CHECK_DUNNO;
}

static int r_reject_unknown_client(check_t *c, const char *table)
{
    (void) table;
    if (strcmp(c->s->name, "unknown") != 0)
        return CHECK_DUNNO;
    return check_reject_fmt(c, (int) smtpd_var.unknown_client_code, "4.7.25",
                            "Client host rejected: cannot find your hostname, [%s]",
                            c->s->addr);
}

static int r_reject_unknown_reverse_client(check_t *c, const char *table)
{
    (void) table;
    if (strcmp(c->s->reverse_name, "unknown") != 0)
        return CHECK_DUNNO;
    return check_reject_fmt(c, (int) smtpd_var.unknown_client_code, "4.7.25",
                            "Client host rejected: cannot find your reverse hostname, [%s]",
                            c->s->addr);
}

/* Commands sent ahead of our reply where the client may not pipeline:
 * without ESMTP PIPELINING, or right after DATA. */
static int r_reject_unauth_pipelining(check_t *c, const char *table)
{
    session_t *s = c->s;
    int may_pipeline = strcmp(s->protocol, "ESMTP") == 0 && !(s->ehlo_discard & EHLO_PIPELINING);

    (void) table;
    if (s->standalone || stream_buffered(s->in) == 0)
        return CHECK_DUNNO;
    if (may_pipeline && strcmp(c->verb, "DATA") != 0)
        return CHECK_DUNNO;
    return check_reject(c, check_subject(c), 503, "5.5.0",
                        "Improper use of SMTP command pipelining");
}

/* ---------- destinations ---------- */

/* "user%host@relay", "host!user@relay": routing through us. */
static int source_routed(const char *canonical)
{
    buf_t lp = BUF_INIT, dom = BUF_INIT;
    int routed;

    addr_split(canonical, &lp, &dom);
    routed = strpbrk(buf_str(&lp), "@!%") != NULL;
    buf_release(&lp);
    buf_release(&dom);
    return routed;
}

int check_auth_destination(check_t *c)
{
    const char *canonical = buf_str(&c->rcpt_canon);
    const char *domain = addr_domain(canonical);
    int unknown = 0, r;

    if (domain == NULL)
        domain = "";
    if ((r = resolve_local_domain_status(domain)) == MATCH_FOUND)
        return 1;
    unknown |= r == MATCH_ERROR;
    if ((r = match_list_domain(smtpd_var.virtual_alias_domains, domain)) == MATCH_FOUND)
        return 1;
    unknown |= r == MATCH_ERROR;
    if ((r = match_list_domain(smtpd_var.virtual_mailbox_domains, domain)) == MATCH_FOUND)
        return 1;
    unknown |= r == MATCH_ERROR;
    if ((r = resolve_relay_domain_status(domain)) == MATCH_FOUND)
        return !source_routed(canonical);
    unknown |= r == MATCH_ERROR;
    return unknown ? -1 : 0;
}

static int r_permit_auth_destination(check_t *c, const char *table)
{
    int r = check_auth_destination(c);

    (void) table;
    if (r < 0)
        return check_lookup_error(c, c->rcpt);
    return r ? CHECK_PERMIT : CHECK_DUNNO;
}

static int unauth_destination(check_t *c, int code, const char *dsn)
{
    int r = check_auth_destination(c);

    if (r < 0)
        return check_lookup_error(c, c->rcpt);
    if (r > 0)
        return CHECK_DUNNO;
    return check_reject_fmt(c, code, dsn, "<%s>: Relay access denied", c->rcpt);
}

static int r_reject_unauth_destination(check_t *c, const char *table)
{
    (void) table;
    return unauth_destination(c, (int) smtpd_var.relay_code, "5.7.1");
}

static int r_defer_unauth_destination(check_t *c, const char *table)
{
    (void) table;
    return unauth_destination(c, 454, "4.7.1");
}

/* The old form: our destinations pass, everything else is refused. */
static int r_check_relay_domains(check_t *c, const char *table)
{
    int r = unauth_destination(c, (int) smtpd_var.relay_code, "5.7.1");

    (void) table;
    return r == CHECK_DUNNO ? CHECK_PERMIT : r;
}

/* ---------- syntax ---------- */

/* A name without its one trailing dot. */
static char *without_dot(const char *name)
{
    size_t len = strlen(name);
    buf_t b = BUF_INIT;

    buf_append(&b, name, len > 1 && name[len - 1] == '.' ? len - 1 : len);
    return buf_steal(&b);
}

/* An address literal, or a valid host name with a dot in it. */
static int fully_qualified(const char *name)
{
    char *plain = without_dot(name);
    int ok;

    if (plain[0] == '[')
        ok = addr_valid_domain(plain);
    else
        ok = addr_valid_domain(plain) && strchr(plain, '.') != NULL;
    free(plain);
    return ok;
}

static int non_fqdn_address(check_t *c, const char *addr, const subject_t *who)
{
    const char *domain = addr_domain(addr);

    if (*addr == 0 || *addr == '@')
        return CHECK_DUNNO;              /* the null sender; route forms */
    if (domain != NULL && fully_qualified(domain))
        return CHECK_DUNNO;
    return check_reject(c, who, (int) smtpd_var.non_fqdn_code, "5.5.2",
                        "need fully-qualified address");
}

static int r_reject_non_fqdn_sender(check_t *c, const char *table)
{
    subject_t who = subject_sender(c);

    (void) table;
    return non_fqdn_address(c, c->sender, &who);
}

static int r_reject_non_fqdn_recipient(check_t *c, const char *table)
{
    subject_t who = subject_rcpt(c);

    (void) table;
    return non_fqdn_address(c, c->rcpt, &who);
}

static int r_reject_non_fqdn_helo(check_t *c, const char *table)
{
    subject_t who = subject_helo(c);

    (void) table;
    if (fully_qualified(c->helo))
        return CHECK_DUNNO;
    return check_reject(c, &who, (int) smtpd_var.non_fqdn_code, "5.5.2",
                        "need fully-qualified hostname");
}

static int r_reject_invalid_helo(check_t *c, const char *table)
{
    subject_t who = subject_helo(c);
    char *plain = without_dot(c->helo);
    int ok = addr_valid_domain(plain);

    (void) table;
    free(plain);
    if (ok)
        return CHECK_DUNNO;
    return check_reject(c, &who, (int) smtpd_var.invalid_hostname_code, "5.5.2",
                        "Invalid name");
}

/* A bounce (null sender) to more than one recipient. */
static int r_reject_multi_recipient_bounce(check_t *c, const char *table)
{
    int count = c->s->rcpt_count + (strcmp(c->verb, "RCPT") == 0);

    (void) table;
    if (*c->sender != 0 || count <= 1)
        return CHECK_DUNNO;
    return check_reject(c, check_subject(c), (int) smtpd_var.multi_bounce_code, "5.5.3",
                        "Multi-recipient bounce");
}

/* ---------- users and tables ---------- */

static int r_reject_unlisted_recipient(check_t *c, const char *table)
{
    (void) table;
    return check_unlisted_recipient(c);
}

static int r_reject_unlisted_sender(check_t *c, const char *table)
{
    (void) table;
    return check_unlisted_sender(c);
}

static int r_check_client_access(check_t *c, const char *table)
{
    return check_access(c, table, ACCESS_CLIENT);
}

static int r_check_reverse_access(check_t *c, const char *table)
{
    return check_access(c, table, ACCESS_REVERSE);
}

static int r_check_helo_access(check_t *c, const char *table)
{
    return check_access(c, table, ACCESS_HELO);
}

static int r_check_sender_access(check_t *c, const char *table)
{
    return check_access(c, table, ACCESS_SENDER);
}

static int r_check_recipient_access(check_t *c, const char *table)
{
    return check_access(c, table, ACCESS_RECIPIENT);
}

/* ---------- the table ---------- */

static const restriction_t restrictions[] = {
    { "permit", 0, r_permit },
    { "dunno", 0, r_dunno },
    { "reject", 0, r_reject },
    { "defer", 0, r_defer },
    { "defer_if_permit", 0, r_defer_if_permit },
    { "defer_if_reject", 0, r_defer_if_reject },
    { "warn_if_reject", 0, r_warn_if_reject },
    { "permit_mynetworks", 0, r_permit_mynetworks },
    /* Until SASL exists nobody is authenticated. */
    { "permit_sasl_authenticated", 0, r_dunno },
    { "reject_unknown_client_hostname", 0, r_reject_unknown_client },
    { "reject_unknown_client", 0, r_reject_unknown_client },
    { "reject_unknown_reverse_client_hostname", 0, r_reject_unknown_reverse_client },
    { "reject_unauth_pipelining", 0, r_reject_unauth_pipelining },
    { "permit_auth_destination", NEEDS_RCPT, r_permit_auth_destination },
    { "reject_unauth_destination", NEEDS_RCPT, r_reject_unauth_destination },
    { "defer_unauth_destination", NEEDS_RCPT, r_defer_unauth_destination },
    { "check_relay_domains", NEEDS_RCPT, r_check_relay_domains },
    { "reject_non_fqdn_sender", NEEDS_SENDER, r_reject_non_fqdn_sender },
    { "reject_non_fqdn_recipient", NEEDS_RCPT, r_reject_non_fqdn_recipient },
    { "reject_non_fqdn_helo_hostname", NEEDS_HELO, r_reject_non_fqdn_helo },
    { "reject_non_fqdn_hostname", NEEDS_HELO, r_reject_non_fqdn_helo },
    { "reject_invalid_helo_hostname", NEEDS_HELO, r_reject_invalid_helo },
    { "reject_invalid_hostname", NEEDS_HELO, r_reject_invalid_helo },
    { "reject_multi_recipient_bounce", NEEDS_SENDER, r_reject_multi_recipient_bounce },
    { "reject_unlisted_recipient", NEEDS_RCPT, r_reject_unlisted_recipient },
    { "check_recipient_maps", NEEDS_RCPT, r_reject_unlisted_recipient },
    { "reject_unlisted_sender", NEEDS_SENDER, r_reject_unlisted_sender },
    { "check_client_access", TAKES_TABLE, r_check_client_access },
    { "check_reverse_client_hostname_access", TAKES_TABLE, r_check_reverse_access },
    { "check_helo_access", TAKES_TABLE | NEEDS_HELO, r_check_helo_access },
    { "check_sender_access", TAKES_TABLE | NEEDS_SENDER, r_check_sender_access },
    { "check_recipient_access", TAKES_TABLE | NEEDS_RCPT, r_check_recipient_access },
    { NULL, 0, NULL },
};

const restriction_t *restriction_find(const char *name)
{
    for (const restriction_t *r = restrictions; r->name != NULL; r++)
        if (strcasecmp(r->name, name) == 0)
            return r;
    return NULL;
}

/* Postfix restrictions that need DNS, SASL, TLS or services facteur does
 * not have yet: skipped with a warning rather than refusing all mail. */
static const char *const unsupported_plain[] = {
    "reject_unknown_sender_domain", "reject_unknown_recipient_domain",
    "reject_unknown_helo_hostname", "reject_unknown_hostname",
    "reject_unknown_forward_client_hostname", "reject_unverified_sender",
    "reject_unverified_recipient", "permit_tls_all_clientcerts", "permit_tls_clientcerts",
    "reject_sender_login_mismatch", "reject_authenticated_sender_login_mismatch",
    "reject_known_sender_login_mismatch", "reject_unauthenticated_sender_login_mismatch",
    "reject_plaintext_session", "permit_mx_backup", "permit_naked_ip_address",
    "reject_maps_rbl",
};

static const char *const unsupported_with_arg[] = {
    "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_sender",
    "reject_rhsbl_recipient", "reject_rhsbl_helo", "reject_rhsbl_reverse_client",
    "permit_dnswl_client", "permit_rhswl_client", "check_policy_service",
    "check_client_mx_access", "check_client_ns_access", "check_client_a_access",
    "check_reverse_client_hostname_mx_access", "check_reverse_client_hostname_ns_access",
    "check_reverse_client_hostname_a_access", "check_helo_mx_access",
    "check_helo_ns_access", "check_helo_a_access", "check_sender_mx_access",
    "check_sender_ns_access", "check_sender_a_access", "check_recipient_mx_access",
    "check_recipient_ns_access", "check_recipient_a_access", "check_sasl_access",
    "check_ccert_access", "sleep",
};

int restriction_unsupported(const char *name)
{
    for (size_t i = 0; i < sizeof(unsupported_plain) / sizeof(unsupported_plain[0]); i++)
        if (strcasecmp(unsupported_plain[i], name) == 0)
            return 0;
    for (size_t i = 0; i < sizeof(unsupported_with_arg) / sizeof(unsupported_with_arg[0]); i++)
        if (strcasecmp(unsupported_with_arg[i], name) == 0)
            return 1;
    return -1;
}
