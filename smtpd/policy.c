/* policy: the recipient checks, one function per restriction, and the
 * client matching they need (mynetworks CIDR lists, our own interfaces).
 * The relay and recipient lists are evaluated in order, first permit or
 * reject wins; then unknown local users are refused. This is the seed of
 * the full restriction-list engine. */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "address.h"
#include "alloc.h"
#include "log.h"
#include "resolve.h"
#include "smtpd.h"

/* ---------- client address matching ---------- */

typedef struct cidr {
    int           family;
    unsigned char bytes[16];
    int           bits;
} cidr_t;

/* Parses "1.2.3.4", "1.2.3.0/24", "[::1]/128", "::1/128", "[fe80::1]". */
static int cidr_parse(const char *pattern, cidr_t *c)
{
    char text[INET6_ADDRSTRLEN + 8];
    const char *slash = strrchr(pattern, '/');
    size_t len = slash ? (size_t) (slash - pattern) : strlen(pattern);
    char *end;
    long bits;

    if (len >= 2 && pattern[0] == '[' && pattern[len - 1] == ']') {
        pattern++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, pattern, len);
    text[len] = 0;
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, text, c->bytes) == 1) {
        c->family = AF_INET;
        c->bits = 32;
    } else if (inet_pton(AF_INET6, text, c->bytes) == 1) {
        c->family = AF_INET6;
        c->bits = 128;
    } else {
        return -1;
    }
    if (slash != NULL) {
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != 0 || bits < 0 || bits > c->bits)
            return -1;
        c->bits = (int) bits;
    }
    return 0;
}

static const unsigned char *sockaddr_bytes(const struct sockaddr_storage *ss, int *family)
{
    *family = ss->ss_family;
    if (ss->ss_family == AF_INET)
        return (const unsigned char *) &((const struct sockaddr_in *) ss)->sin_addr;
    if (ss->ss_family == AF_INET6)
        return ((const struct sockaddr_in6 *) ss)->sin6_addr.s6_addr;
    return NULL;
}

static int cidr_match(const cidr_t *c, const struct sockaddr_storage *ss)
{
    int family, full, rest;
    const unsigned char *a = sockaddr_bytes(ss, &family);

    if (a == NULL || family != c->family)
        return 0;
    full = c->bits / 8;
    rest = c->bits % 8;
    if (memcmp(a, c->bytes, (size_t) full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[full] ^ c->bytes[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Hostname patterns: "example.com" matches it and its subdomains (as
 * parent_domain_matches_subdomains says for mynetworks), ".example.com"
 * only subdomains. */
static int name_match(const char *pattern, const char *name)
{
    size_t plen, nlen = strlen(name);

    if (strcmp(name, "unknown") == 0)
        return 0;
    if (*pattern == '.') {
        plen = strlen(pattern);
        return nlen > plen && strcasecmp(name + nlen - plen, pattern) == 0;
    }
    plen = strlen(pattern);
    if (strcasecmp(name, pattern) == 0)
        return 1;
    return nlen > plen && name[nlen - plen - 1] == '.'
        && strcasecmp(name + nlen - plen, pattern) == 0;
}

/* One element of a client list: 1 match, 0 no match. */
static int client_pattern_match(session_t *s, const char *pattern)
{
    cidr_t c;

    if (cidr_parse(pattern, &c) == 0)
        return cidr_match(&c, &s->sa);
    if (*pattern == '/' || strchr(pattern, ':') != NULL) {
        /* A file or type:table: lookup tables come with a later issue. */
        msg_debug("client list: unsupported pattern %s", pattern);
        return 0;
    }
    return name_match(pattern, s->name);
}

/* Postfix match-list semantics: the first matching pattern decides;
 * "!pattern" means "does not match". */
int smtpd_client_in_list(session_t *s, const argv_t *patterns)
{
    for (size_t i = 0; i < patterns->argc; i++) {
        const char *p = patterns->argv[i];
        int negate = 0;

        while (*p == '!') {
            negate = !negate;
            p++;
        }
        if (*p && client_pattern_match(s, p))
            return !negate;
    }
    return 0;
}

int smtpd_client_in_mynetworks(session_t *s)
{
    if (s->mynetworks_cached < 0)
        s->mynetworks_cached = smtpd_client_in_list(s, smtpd_var.mynetworks);
    return s->mynetworks_cached;
}

/* Is the client address one of this host's interface addresses? */
static int client_is_interface(session_t *s)
{
    struct ifaddrs *ifa, *p;
    int found = 0;

    if (smtpd_var.inet_interfaces->argc > 0
        && strcasecmp(smtpd_var.inet_interfaces->argv[0], "all") != 0) {
        for (size_t i = 0; i < smtpd_var.inet_interfaces->argc; i++) {
            const char *name = smtpd_var.inet_interfaces->argv[i];
            cidr_t c;

            if (strcasecmp(name, "loopback-only") == 0 || strcasecmp(name, "localhost") == 0) {
                if (cidr_parse("127.0.0.0/8", &c) == 0 && cidr_match(&c, &s->sa))
                    return 1;
                if (cidr_parse("::1", &c) == 0 && cidr_match(&c, &s->sa))
                    return 1;
            } else if (cidr_parse(name, &c) == 0 && c.bits == (c.family == AF_INET ? 32 : 128)
                       && cidr_match(&c, &s->sa)) {
                return 1;
            }
        }
        return 0;
    }
    if (getifaddrs(&ifa) < 0) {
        msg_warn("getifaddrs: %m");
        return 0;
    }
    for (p = ifa; p != NULL && !found; p = p->ifa_next) {
        int f1, f2;
        const unsigned char *a, *b;

        if (p->ifa_addr == NULL
            || (p->ifa_addr->sa_family != AF_INET && p->ifa_addr->sa_family != AF_INET6))
            continue;
        a = sockaddr_bytes((const struct sockaddr_storage *) p->ifa_addr, &f1);
        b = sockaddr_bytes(&s->sa, &f2);
        if (b != NULL && f1 == f2)
            found = memcmp(a, b, f1 == AF_INET ? 4 : 16) == 0;
    }
    freeifaddrs(ifa);
    return found;
}

/* local_header_rewrite_clients: does cleanup add missing headers? */
int smtpd_client_local_context(session_t *s)
{
    for (size_t i = 0; i < smtpd_var.local_rewrite_clients->argc; i++) {
        const char *r = smtpd_var.local_rewrite_clients->argv[i];

        if (strcasecmp(r, "permit_inet_interfaces") == 0 && client_is_interface(s))
            return 1;
        if (strcasecmp(r, "permit_mynetworks") == 0 && smtpd_client_in_mynetworks(s))
            return 1;
        if (strcasecmp(r, "static:all") == 0)
            return 1;
    }
    return 0;
}

/* ---------- recipient restrictions ---------- */

#define CHECK_DUNNO   0
#define CHECK_PERMIT  1
#define CHECK_REJECT  2

typedef struct rcpt_ctx {
    const char *given;          /* as the client wrote it (internal form) */
    const char *canonical;      /* with @$myorigin */
    const char *domain;         /* of canonical, "" when none */
    buf_t      *reply;
} rcpt_ctx_t;

/* A local destination, or one we relay for: no relay permission needed. */
static int auth_destination(const rcpt_ctx_t *r)
{
    buf_t lp = BUF_INIT, dom = BUF_INIT;
    int ok;

    if (resolve_local_domain(r->domain))
        return 1;
    if (!resolve_relay_domain(r->domain))
        return 0;
    /* No source routing through a relay domain ("a@b@relay", "a%b@relay"). */
    addr_split(r->canonical, &lp, &dom);
    ok = strpbrk(buf_str(&lp), "@!%") == NULL;
    buf_release(&lp);
    buf_release(&dom);
    return ok;
}

static int permit_mynetworks(session_t *s, rcpt_ctx_t *r)
{
    (void) r;
    return smtpd_client_in_mynetworks(s) ? CHECK_PERMIT : CHECK_DUNNO;
}

static int permit_auth_destination(session_t *s, rcpt_ctx_t *r)
{
    (void) s;
    return auth_destination(r) ? CHECK_PERMIT : CHECK_DUNNO;
}

static int unauth_destination(rcpt_ctx_t *r, int code, const char *dsn)
{
    if (auth_destination(r))
        return CHECK_DUNNO;
    buf_reset(r->reply);
    buf_printf(r->reply, "%d %s <%s>: Relay access denied", code, dsn, r->given);
    return CHECK_REJECT;
}

static int reject_unauth_destination(session_t *s, rcpt_ctx_t *r)
{
    (void) s;
    return unauth_destination(r, 554, "5.7.1");
}

static int defer_unauth_destination(session_t *s, rcpt_ctx_t *r)
{
    (void) s;
    return unauth_destination(r, 454, "4.7.1");
}

static int permit_all(session_t *s, rcpt_ctx_t *r)
{
    (void) s;
    (void) r;
    return CHECK_PERMIT;
}

static int access_denied(rcpt_ctx_t *r, int code, const char *dsn)
{
    buf_reset(r->reply);
    buf_printf(r->reply, "%d %s <%s>: Recipient address rejected: Access denied",
               code, dsn, r->given);
    return CHECK_REJECT;
}

static int reject_all(session_t *s, rcpt_ctx_t *r)
{
    (void) s;
    return access_denied(r, 554, "5.7.1");
}

static int defer_all(session_t *s, rcpt_ctx_t *r)
{
    (void) s;
    return access_denied(r, 450, "4.7.1");
}

static int no_sasl(session_t *s, rcpt_ctx_t *r)
{
    (void) s;
    (void) r;
    return CHECK_DUNNO;             /* SASL comes with a later issue */
}

/* Is base (lower case, no extension) a user in local_recipient_maps? */
static int local_user_known(const char *base)
{
    argv_t *maps = argv_split_list(smtpd_var.local_recipient_maps);
    int known = 0;

    for (size_t i = 0; i < maps->argc && !known; i++) {
        const char *m = maps->argv[i];
        const char *type_end = strrchr(m, ':');

        if (type_end != NULL && strcmp(type_end, ":passwd.byname") == 0)
            known = *base != 0 && getpwnam(base) != NULL;
        else
            msg_debug("local_recipient_maps: table %s not supported yet", m);
    }
    argv_free(maps);
    return known;
}

/* smtpd_reject_unlisted_recipient for local domains. */
static int reject_unlisted_recipient(session_t *s, rcpt_ctx_t *r)
{
    buf_t lp = BUF_INIT, dom = BUF_INIT, base = BUF_INIT;
    int verdict = CHECK_DUNNO;
    long code = smtpd_var.unknown_local_code;

    (void) s;
    if (*smtpd_var.local_recipient_maps == 0 || !resolve_local_domain(r->domain))
        return CHECK_DUNNO;
    addr_split(r->canonical, &lp, &dom);
    buf_lower(&lp);
    addr_split_extension(buf_str(&lp), smtpd_var.recipient_delimiter, &base, NULL);
    /* RFC 5321 4.5.1: postmaster must always be accepted. */
    if (strcmp(buf_str(&base), "postmaster") != 0 && !local_user_known(buf_str(&base))) {
        buf_reset(r->reply);
        buf_printf(r->reply, "%ld %s <%s>: Recipient address rejected: "
                   "User unknown in local recipient table",
                   code, code / 100 == 4 ? "4.1.1" : "5.1.1", r->given);
        verdict = CHECK_REJECT;
    }
    buf_release(&lp);
    buf_release(&dom);
    buf_release(&base);
    return verdict;
}

typedef struct restriction {
    const char *name;
    int       (*check)(session_t *s, rcpt_ctx_t *r);
} restriction_t;

static const restriction_t restrictions[] = {
    { "permit_mynetworks", permit_mynetworks },
    { "permit_sasl_authenticated", no_sasl },
    { "permit_auth_destination", permit_auth_destination },
    { "reject_unauth_destination", reject_unauth_destination },
    { "defer_unauth_destination", defer_unauth_destination },
    { "reject_unlisted_recipient", reject_unlisted_recipient },
    { "permit", permit_all },
    { "reject", reject_all },
    { "defer", defer_all },
    { NULL, NULL },
};

/* Says once per process that a restriction is not implemented yet. */
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

static int run_list(session_t *s, const argv_t *list, rcpt_ctx_t *r)
{
    for (size_t i = 0; i < list->argc; i++) {
        const restriction_t *rp;
        int verdict;

        for (rp = restrictions; rp->name != NULL; rp++)
            if (strcasecmp(rp->name, list->argv[i]) == 0)
                break;
        if (rp->name == NULL) {
            warn_unsupported(list->argv[i]);
            /* check_*_access and friends take a table argument: skip it too. */
            if (strncasecmp(list->argv[i], "check_", 6) == 0 && i + 1 < list->argc)
                i++;
            continue;
        }
        if ((verdict = rp->check(s, r)) != CHECK_DUNNO)
            return verdict;
    }
    return CHECK_DUNNO;
}

const char *smtpd_check_rcpt(session_t *s, const char *rcpt, buf_t *reply)
{
    buf_t canonical = BUF_INIT;
    const char *domain;
    rcpt_ctx_t r;
    int verdict;

    resolve_canonical(&canonical, rcpt);
    domain = addr_domain(buf_str(&canonical));
    r.given = rcpt;
    r.canonical = buf_str(&canonical);
    r.domain = domain ? domain : "";
    r.reply = reply;
    verdict = run_list(s, smtpd_var.relay_restrictions, &r);
    if (verdict != CHECK_REJECT)
        verdict = run_list(s, smtpd_var.recipient_restrictions, &r);
    if (verdict != CHECK_REJECT)
        verdict = reject_unlisted_recipient(s, &r);
    buf_release(&canonical);
    return verdict == CHECK_REJECT ? buf_str(reply) : NULL;
}
