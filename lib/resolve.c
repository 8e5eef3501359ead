/* resolve: trivial-rewrite folded into the library. Canonical addresses
 * (bare "user" -> user@$myorigin) and recipient -> class/transport/nexthop,
 * with relayhost and transport_maps. Parsed settings are cached until
 * resolve_reset(). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "alloc.h"
#include "argv.h"
#include "config.h"
#include "log.h"
#include "match_list.h"
#include "resolve.h"
#include "table.h"

/* An IPv4 or IPv6 address in network byte order. */
typedef struct ip_addr {
    int           family;
    unsigned char bytes[16];
} ip_addr_t;

typedef struct ip_list {
    ip_addr_t *v;
    size_t     n;
    size_t     cap;
} ip_list_t;

typedef struct resolve_cache {
    int        loaded;
    char      *myorigin;             /* or $mydomain: append_at_myorigin = no */
    char      *myhostname;
    char      *mydomain;
    int        append_dot_mydomain;
    match_list_t *mydestination;
    match_list_t *relay_domains;
    ip_list_t  our_ips;              /* inet_interfaces and proxy_interfaces */
    char      *local_transport;
    char      *relay_transport;
    char      *default_transport;
    char      *relayhost;
    maps_t    *transport_maps;       /* NULL when transport_maps is empty */
    int        transport_parents;    /* "domain" also matches subdomains */
    char      *recipient_delimiter;
} resolve_cache_t;

static resolve_cache_t cache;

/* ---------------------------------------------------------------- */
/* Loading settings                                                 */
/* ---------------------------------------------------------------- */

static void ip_list_add(ip_list_t *l, int family, const void *bytes)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? size_mul(l->cap, 2) : 8;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    l->v[l->n].family = family;
    memcpy(l->v[l->n].bytes, bytes, family == AF_INET ? 4 : 16);
    l->n++;
}

static void ip_list_add_loopback(ip_list_t *l)
{
    struct in_addr v4 = { htonl(INADDR_LOOPBACK) };

    ip_list_add(l, AF_INET, &v4);
    ip_list_add(l, AF_INET6, &in6addr_loopback);
}

static void ip_list_add_interfaces(ip_list_t *l)
{
    struct ifaddrs *ifs, *ifa;

    if (getifaddrs(&ifs) < 0) {
        msg_warn("getifaddrs: %s", strerror(errno));
        ip_list_add_loopback(l);
        return;
    }
    for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr == NULL)
            continue;
        if (ifa->ifa_addr->sa_family == AF_INET)
            ip_list_add(l, AF_INET, &((struct sockaddr_in *) ifa->ifa_addr)->sin_addr);
        else if (ifa->ifa_addr->sa_family == AF_INET6)
            ip_list_add(l, AF_INET6, &((struct sockaddr_in6 *) ifa->ifa_addr)->sin6_addr);
    }
    freeifaddrs(ifs);
}

/* One inet_interfaces / proxy_interfaces entry. Host names would need
 * DNS and are ignored here. */
static void ip_list_add_entry(ip_list_t *l, const char *entry)
{
    unsigned char bin[16];
    char text[64];
    size_t len = strlen(entry);

    if (strcasecmp(entry, "all") == 0) {
        ip_list_add_interfaces(l);
        return;
    }
    if (strcasecmp(entry, "loopback-only") == 0 || strcasecmp(entry, "localhost") == 0) {
        ip_list_add_loopback(l);
        return;
    }
    if (len >= 2 && entry[0] == '[' && entry[len - 1] == ']') {
        entry++;
        len -= 2;
    }
    if (len >= sizeof(text))
        return;
    memcpy(text, entry, len);
    text[len] = 0;
    if (inet_pton(AF_INET, text, bin) == 1)
        ip_list_add(l, AF_INET, bin);
    else if (inet_pton(AF_INET6, text, bin) == 1)
        ip_list_add(l, AF_INET6, bin);
}

static void load_our_ips(ip_list_t *l)
{
    static const char *const params[] = { "inet_interfaces", "proxy_interfaces" };

    for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++) {
        const char *value = config_get(params[p]);
        argv_t *entries;

        if (value == NULL)
            continue;
        entries = argv_split_list(value);
        for (size_t i = 0; i < entries->argc; i++)
            ip_list_add_entry(l, entries->argv[i]);
        argv_free(entries);
    }
}

static int bool_param(const char *name, int fallback)
{
    const char *value = config_get(name);
    int result;

    if (value == NULL || config_parse_bool(value, &result) < 0)
        return fallback;
    return result;
}

/* Whether param is in parent_domain_matches_subdomains. */
static int parent_matches_subdomains(const char *param)
{
    argv_t *names = config_list("parent_domain_matches_subdomains");
    int found = 0;

    for (size_t i = 0; i < names->argc && !found; i++)
        found = strcmp(names->argv[i], param) == 0;
    argv_free(names);
    return found;
}

static void load_transport_maps(void)
{
    const char *value = config_str("transport_maps");
    argv_t *specs = argv_split_list(value);

    if (specs->argc > 0)
        cache.transport_maps = maps_open("transport_maps", value, TABLE_FLAG_FOLD);
    argv_free(specs);
    cache.transport_parents = parent_matches_subdomains("transport_maps");
    cache.recipient_delimiter = xstrdup(config_str("recipient_delimiter"));
}

static void load_settings(void)
{
    if (cache.loaded)
        return;
    cache.myhostname = xstrdup(config_str("myhostname"));
    cache.mydomain = xstrdup(config_str("mydomain"));
    /* config already turns Debian's "myorigin = /etc/mailname" into a name. */
    cache.myorigin = xstrdup(bool_param("append_at_myorigin", 1)
                             ? config_str("myorigin") : cache.mydomain);
    cache.append_dot_mydomain = bool_param("append_dot_mydomain", 0);
    cache.mydestination = match_list_config("mydestination", MATCH_LIST_DOMAIN);
    cache.relay_domains = match_list_config("relay_domains", MATCH_LIST_DOMAIN);
    load_our_ips(&cache.our_ips);
    cache.local_transport = xstrdup(config_str("local_transport"));
    cache.relay_transport = xstrdup(config_str("relay_transport"));
    cache.default_transport = xstrdup(config_str("default_transport"));
    cache.relayhost = xstrdup(config_str("relayhost"));
    load_transport_maps();
    cache.loaded = 1;
}

void resolve_reset(void)
{
    free(cache.myorigin);
    free(cache.myhostname);
    free(cache.mydomain);
    match_list_free(cache.mydestination);
    match_list_free(cache.relay_domains);
    free(cache.our_ips.v);
    free(cache.local_transport);
    free(cache.relay_transport);
    free(cache.default_transport);
    free(cache.relayhost);
    maps_free(cache.transport_maps);
    free(cache.recipient_delimiter);
    memset(&cache, 0, sizeof(cache));
}

/* ---------------------------------------------------------------- */
/* Matching                                                         */
/* ---------------------------------------------------------------- */

/* "[1.2.3.4]" / "[IPv6:::1]" naming one of our interface addresses. */
static int literal_is_ours(const char *domain)
{
    size_t len = strlen(domain);
    unsigned char bin[16];
    char text[64];
    const char *ip = text;
    int family;

    if (len < 3 || domain[0] != '[' || domain[len - 1] != ']' || len - 2 >= sizeof(text))
        return 0;
    memcpy(text, domain + 1, len - 2);
    text[len - 2] = 0;
    if (strncasecmp(text, "ipv6:", 5) == 0) {
        ip = text + 5;
        family = AF_INET6;
    } else {
        family = AF_INET;
    }
    if (inet_pton(family, ip, bin) != 1)
        return 0;
    return resolve_address_is_ours(family, bin);
}

int resolve_address_is_ours(int family, const void *bytes)
{
    load_settings();
    for (size_t i = 0; i < cache.our_ips.n; i++) {
        const ip_addr_t *a = &cache.our_ips.v[i];

        if (a->family == family && memcmp(a->bytes, bytes, family == AF_INET ? 4 : 16) == 0)
            return 1;
    }
    return 0;
}

int resolve_local_domain_status(const char *domain)
{
    if (domain == NULL || *domain == 0)
        return 1;                           /* no domain: a local address */
    load_settings();
    if (domain[0] == '[')
        return literal_is_ours(domain);
    return match_list_domain(cache.mydestination, domain);
}

int resolve_relay_domain_status(const char *domain)
{
    if (domain == NULL || *domain == 0)
        return 0;
    load_settings();
    return match_list_domain(cache.relay_domains, domain);
}

/* The yes/no forms: a list that cannot be searched answers "no". */
int resolve_local_domain(const char *domain)
{
    return resolve_local_domain_status(domain) == MATCH_FOUND;
}

int resolve_relay_domain(const char *domain)
{
    return resolve_relay_domain_status(domain) == MATCH_FOUND;
}

/* ---------------------------------------------------------------- */
/* Canonical form and routing                                       */
/* ---------------------------------------------------------------- */

void resolve_canonical(buf_t *out, const char *addr)
{
    const char *at = strrchr(addr, '@');

    buf_reset(out);
    buf_puts(out, addr);
    if (*addr == 0)
        return;                             /* the null sender stays "" */
    load_settings();
    if (at == NULL || at[1] == 0) {
        if (at == NULL)
            buf_putc(out, '@');
        buf_puts(out, cache.myorigin);
        return;
    }
    if (cache.append_dot_mydomain && at[1] != '[' && strchr(at + 1, '.') == NULL
        && *cache.mydomain != 0) {
        buf_putc(out, '.');
        buf_puts(out, cache.mydomain);
    }
}

/* "transport:nexthop" -> transport and nexthop ("" when absent). */
static void split_transport(const char *spec, buf_t *transport, buf_t *nexthop)
{
    const char *colon = strchr(spec, ':');

    buf_reset(transport);
    buf_reset(nexthop);
    if (colon == NULL) {
        buf_puts(transport, spec);
        return;
    }
    buf_append(transport, spec, (size_t) (colon - spec));
    buf_puts(nexthop, colon + 1);
}

/* The recipient domain as a nexthop: lower case, no trailing dot. */
static void domain_nexthop(buf_t *nexthop, const char *domain)
{
    buf_reset(nexthop);
    buf_puts(nexthop, domain ? domain : "");
    buf_lower(nexthop);
    if (nexthop->len > 0 && nexthop->data[nexthop->len - 1] == '.')
        buf_truncate(nexthop, nexthop->len - 1);
}

/* Nexthop for mail that leaves: the transport's own, else relayhost,
 * else the recipient domain (lower case). */
static void remote_nexthop(buf_t *nexthop, const char *domain)
{
    if (nexthop->len > 0)
        return;
    if (*cache.relayhost != 0) {
        buf_puts(nexthop, cache.relayhost);
        return;
    }
    domain_nexthop(nexthop, domain);
}

/* One transport_maps key; TABLE_* result. */
static int transport_get(const char *key, buf_t *value)
{
    return maps_get(cache.transport_maps, key, value);
}

/* The domain, then its parents: "a.b.c" -> ".b.c", ".c" (or "b.c", "c"
 * when transport_maps is in parent_domain_matches_subdomains). */
static int transport_find_domain(const char *domain, buf_t *value)
{
    buf_t key = BUF_INIT;
    const char *p = domain;
    int rc = transport_get(domain, value);

    if (domain[0] == '[')
        return rc;                          /* an address literal has no parents */
    while (rc == TABLE_NOTFOUND && (p = strchr(p, '.')) != NULL) {
        buf_reset(&key);
        buf_puts(&key, cache.transport_parents ? p + 1 : p);
        p++;
        if (key.len == 0 || (key.len == 1 && key.data[0] == '.'))
            break;
        rc = transport_get(buf_str(&key), value);
    }
    buf_release(&key);
    return rc;
}

/* The search order of transport(5): user+ext@domain, user@domain, domain,
 * its parents, then "*". */
static int transport_find(const char *addr, buf_t *value)
{
    buf_t lp = BUF_INIT, dom = BUF_INIT, base = BUF_INIT, key = BUF_INIT;
    int rc;

    addr_split(addr, &lp, &dom);
    rc = transport_get(addr, value);
    if (rc == TABLE_NOTFOUND && *cache.recipient_delimiter != 0) {
        addr_split_extension(buf_str(&lp), cache.recipient_delimiter, &base, NULL);
        if (base.len != lp.len) {
            buf_printf(&key, "%s@%s", buf_str(&base), buf_str(&dom));
            rc = transport_get(buf_str(&key), value);
        }
    }
    if (rc == TABLE_NOTFOUND && dom.len > 0) {
        buf_t domain = BUF_INIT;

        domain_nexthop(&domain, buf_str(&dom));
        rc = transport_find_domain(buf_str(&domain), value);
        buf_release(&domain);
    }
    if (rc == TABLE_NOTFOUND)
        rc = transport_get("*", value);
    buf_release(&lp);
    buf_release(&dom);
    buf_release(&base);
    buf_release(&key);
    return rc;
}

/* Applies a transport_maps result "transport:nexthop": an empty transport
 * keeps the class's; an empty nexthop keeps the class's when the transport
 * is empty too, else becomes the recipient domain. */
static void transport_apply(const char *result, const char *domain, buf_t *transport,
                            buf_t *nexthop)
{
    buf_t t = BUF_INIT, n = BUF_INIT;

    split_transport(result, &t, &n);
    if (t.len > 0)
        buf_set(transport, buf_str(&t));
    if (n.len > 0)
        buf_set(nexthop, buf_str(&n));
    else if (t.len > 0)
        domain_nexthop(nexthop, domain);
    buf_release(&t);
    buf_release(&n);
}

/* The class defaults. */
static int class_route(const char *domain, buf_t *transport, buf_t *nexthop)
{
    if (resolve_local_domain(domain)) {
        split_transport(cache.local_transport, transport, nexthop);
        if (nexthop->len == 0)
            buf_puts(nexthop, cache.myhostname);
        return ADDR_CLASS_LOCAL;
    }
    if (resolve_relay_domain(domain)) {
        split_transport(cache.relay_transport, transport, nexthop);
        remote_nexthop(nexthop, domain);
        return ADDR_CLASS_RELAY;
    }
    split_transport(cache.default_transport, transport, nexthop);
    remote_nexthop(nexthop, domain);
    return ADDR_CLASS_DEFAULT;
}

int resolve_address(const char *addr, buf_t *transport, buf_t *nexthop)
{
    const char *domain = addr_domain(addr);
    buf_t value = BUF_INIT;
    int class, rc;

    load_settings();
    class = class_route(domain, transport, nexthop);
    if (cache.transport_maps == NULL)
        return class;
    /* transport_maps decide for every class, local domains included. */
    rc = transport_find(addr, &value);
    if (rc == TABLE_FOUND)
        transport_apply(buf_str(&value), domain, transport, nexthop);
    buf_release(&value);
    return rc == TABLE_ERROR ? -1 : class;
}
