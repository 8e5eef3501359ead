/* route: from a nexthop to the servers to try, best first. A domain means
 * its MX hosts (sorted, equal preferences shuffled, ourselves and every
 * worse host dropped), or its own addresses when it has no MX; [host]
 * means the host's addresses; [1.2.3.4] and unix:path mean themselves. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "argv.h"
#include "log.h"
#include "resolve.h"
#include "smtp.h"

void outcome_init(agent_outcome_t *o)
{
    o->result = DELIVERY_DEFERRED;
    memcpy(o->dsn, "4.3.0", 6);
    buf_init(&o->reason);
}

void outcome_release(agent_outcome_t *o)
{
    buf_release(&o->reason);
}

void outcome_set(agent_outcome_t *o, int result, const char *dsn, const char *fmt, ...)
{
    va_list ap;

    if (strlen(dsn) >= sizeof(o->dsn))
        msg_panic("outcome_set: bad dsn %s", dsn);
    o->result = result;
    memcpy(o->dsn, dsn, strlen(dsn) + 1);
    buf_reset(&o->reason);
    va_start(ap, fmt);
    buf_vprintf(&o->reason, fmt, ap);
    va_end(ap);
}

void server_list_free(server_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].host);
        free(l->v[i].path);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void server_add(server_list_t *l, const char *host, const dns_addr_t *addr,
                       unsigned port, const char *path)
{
    server_t *s;

    if (l->n == l->cap) {
        l->cap = l->cap ? size_mul(l->cap, 2) : 8;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    s = &l->v[l->n++];
    memset(s, 0, sizeof(*s));
    s->host = xstrdup(host);
    if (addr != NULL)
        s->addr = *addr;
    s->port = port;
    s->path = path ? xstrdup(path) : NULL;
}

static int addr_is_ours(const dns_addr_t *a)
{
    return resolve_address_is_ours(a->family, a->bytes);
}

/* smtp_address_preference = ipv6: IPv6 addresses of a host first (the
 * lookups give IPv4 first). Stable within each family. */
static void prefer_family(dns_host_list_t *l, size_t from)
{
    dns_host_list_t v6, v4;

    if (!smtp_cfg.prefer_v6)
        return;
    dns_host_list_init(&v6);
    dns_host_list_init(&v4);
    for (size_t i = from; i < l->n; i++)
        dns_host_list_add(l->v[i].addr.family == AF_INET6 ? &v6 : &v4, l->v[i].name,
                          l->v[i].pref, &l->v[i].addr);
    dns_host_list_truncate(l, from);
    dns_host_list_move(l, &v6);
    dns_host_list_move(l, &v4);
}

/* A host's addresses by smtp_host_lookup (dns, native, or both in the
 * configured order), appended to out. */
static int host_lookup(const char *host, unsigned pref, dns_host_list_t *out, buf_t *why)
{
    size_t before = out->n;
    int rc = DNS_NOTFOUND;

    for (int pass = 0; pass < 2 && out->n == before; pass++) {
        int native = (pass == 0) == smtp_cfg.native_first;

        if (native ? !smtp_cfg.lookup_native : !smtp_cfg.lookup_dns)
            continue;
        if (native)
            rc = dns_lookup_native(host, smtp_cfg.want, pref, out, why);
        else
            rc = dns_lookup_addr(host, smtp_cfg.want, pref, out, why);
    }
    prefer_family(out, before);
    return out->n > before ? DNS_OK : rc;
}

/* A failed name lookup as everyone's outcome: try again later, or the
 * name does not exist (5.4.4). */
static void lookup_failed(int rc, const buf_t *why, agent_outcome_t *fail)
{
    if (rc == DNS_NOTFOUND)
        outcome_set(fail, DELIVERY_BOUNCED, "5.4.4", "Host or domain name not found. %s",
                    buf_str(why));
    else
        outcome_set(fail, DELIVERY_DEFERRED, "4.4.3", "Host or domain name not found. %s",
                    buf_str(why));
}

static int host_route(const char *host, dns_host_list_t *hosts, agent_outcome_t *fail)
{
    buf_t why = BUF_INIT;
    int rc = host_lookup(host, 0, hosts, &why);

    if (rc != DNS_OK)
        lookup_failed(rc, &why, fail);
    buf_release(&why);
    return rc == DNS_OK ? 0 : -1;
}

/* RFC 7505: a single MX "." says the domain takes no mail. */
static int null_mx(const dns_host_list_t *mx)
{
    return mx->n == 1 && (mx->v[0].name[0] == 0 || strcmp(mx->v[0].name, ".") == 0);
}

/* The addresses of every MX host, best first; a host that cannot be
 * looked up is skipped unless none can. */
static int mx_hosts(const char *domain, dns_host_list_t *mx, dns_host_list_t *hosts,
                    agent_outcome_t *fail)
{
    buf_t why = BUF_INIT;
    int last = DNS_NOTFOUND, retry = 0;

    dns_sort_mx(mx, NULL);
    for (size_t i = 0; i < mx->n; i++) {
        int rc = host_lookup(mx->v[i].name, mx->v[i].pref, hosts, &why);

        if (rc != DNS_OK) {
            last = rc;
            retry |= rc != DNS_NOTFOUND;
        }
    }
    if (hosts->n == 0) {
        lookup_failed(retry ? DNS_RETRY : last, &why, fail);
        buf_release(&why);
        return -1;
    }
    buf_release(&why);
    /* The loop guard: we must never hand the mail to ourselves, or to a
     * host that would only hand it back. */
    if (dns_trim_self(hosts, addr_is_ours)) {
        outcome_set(fail, DELIVERY_BOUNCED, "5.4.6", "mail for %s loops back to myself", domain);
        return -1;
    }
    return 0;
}

static int mx_route(const char *domain, dns_host_list_t *hosts, agent_outcome_t *fail)
{
    dns_host_list_t mx;
    buf_t why = BUF_INIT;
    int rc;

    dns_host_list_init(&mx);
    rc = dns_lookup_mx(domain, &mx, &why);
    if (rc == DNS_NOTFOUND) {
        rc = host_route(domain, hosts, fail);       /* no MX: the domain's own address */
    } else if (rc != DNS_OK) {
        lookup_failed(DNS_RETRY, &why, fail);
        rc = -1;
    } else if (null_mx(&mx)) {
        outcome_set(fail, DELIVERY_BOUNCED, "5.1.10", "Domain %s does not accept mail (nullMX)",
                    domain);
        rc = -1;
    } else {
        rc = mx_hosts(domain, &mx, hosts, fail);
    }
    dns_host_list_free(&mx);
    buf_release(&why);
    return rc;
}

/* One destination of the nexthop list; servers appended to out. */
static int route_one(const char *text, server_list_t *out, agent_outcome_t *fail)
{
    smtp_dest_t dest;
    dns_host_list_t hosts;
    buf_t why = BUF_INIT;
    unsigned port;
    int rc = 0;

    if (smtp_dest_parse(text, smtp_cfg.lmtp, &dest, &why) < 0) {
        msg_warn("%s: %s", text, buf_str(&why));
        outcome_set(fail, DELIVERY_DEFERRED, "4.3.5", "mail transport configuration error: %s",
                    buf_str(&why));
        buf_release(&why);
        return -1;
    }
    buf_release(&why);
    port = dest.port ? dest.port : smtp_cfg.default_port;
    dns_host_list_init(&hosts);
    switch (dest.kind) {
    case SMTP_DEST_UNIX:
        server_add(out, smtp_cfg.myhostname, NULL, 0, dest.host);
        break;
    case SMTP_DEST_ADDR: {
        buf_t text_addr = BUF_INIT;

        dns_addr_format(&dest.addr, &text_addr);
        server_add(out, buf_str(&text_addr), &dest.addr, port, NULL);
        buf_release(&text_addr);
        break;
    }
    case SMTP_DEST_HOST:
        rc = host_route(dest.host, &hosts, fail);
        break;
    default:
        rc = mx_route(dest.host, &hosts, fail);
        break;
    }
    for (size_t i = 0; rc == 0 && i < hosts.n; i++)
        server_add(out, hosts.v[i].name, &hosts.v[i].addr, port, NULL);
    dns_host_list_free(&hosts);
    smtp_dest_free(&dest);
    return rc;
}

int route_servers(const char *nexthop, server_list_t *out, agent_outcome_t *fail)
{
    argv_t *dests = argv_split(nexthop, LIST_DELIMS);
    agent_outcome_t one;
    int any_soft = 0, failed = 0;

    outcome_init(&one);
    memset(out, 0, sizeof(*out));
    if (dests->argc == 0)
        outcome_set(fail, DELIVERY_DEFERRED, "4.3.5", "mail transport configuration error: %s",
                    "empty nexthop");
    /* Postfix 3.5+: a list of destinations, tried in order. */
    for (size_t i = 0; i < dests->argc; i++) {
        if (route_one(dests->argv[i], out, &one) == 0)
            continue;
        /* Of several failures, one that may go away decides. */
        if (!failed || (one.result == DELIVERY_DEFERRED && !any_soft))
            outcome_set(fail, one.result, one.dsn, "%s", buf_str(&one.reason));
        any_soft |= one.result == DELIVERY_DEFERRED;
        failed = 1;
    }
    outcome_release(&one);
    argv_free(dests);
    if (out->n == 0)
        return -1;
    if (smtp_cfg.mx_address_limit > 0 && out->n > (size_t) smtp_cfg.mx_address_limit) {
        for (size_t i = (size_t) smtp_cfg.mx_address_limit; i < out->n; i++) {
            free(out->v[i].host);
            free(out->v[i].path);
        }
        out->n = (size_t) smtp_cfg.mx_address_limit;
    }
    return 0;
}
