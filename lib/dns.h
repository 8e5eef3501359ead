/* dns: MX and address lookups through the system resolver (res_nquery on
 * /etc/resolv.conf, answers parsed with ns_initparse), and the ordering
 * rules the SMTP client applies to them: MX hosts sorted by preference
 * with equal preferences shuffled, the loop guard that drops ourselves
 * and every less preferred host, and the address limit. */
#ifndef FACTEUR_DNS_H
#define FACTEUR_DNS_H

#include <stddef.h>

#include "buf.h"

/* Lookup results. */
#define DNS_OK        0
#define DNS_NOTFOUND  1     /* NXDOMAIN, or no record of that type: permanent */
#define DNS_RETRY     2     /* SERVFAIL, timeout, no server reached: try later */
#define DNS_FAIL      3     /* refused, malformed answer or bad name: permanent */

/* Address families wanted (inet_protocols). */
#define DNS_WANT_V4   (1 << 0)
#define DNS_WANT_V6   (1 << 1)

#define DNS_NAME_MAX  1025  /* NS_MAXDNAME: a name as text, with its NUL */

/* An IPv4 or IPv6 address in network byte order; family 0 = none yet. */
typedef struct dns_addr {
    int           family;   /* AF_INET, AF_INET6 or 0 */
    unsigned char bytes[16];
} dns_addr_t;

/* One candidate: a host name, its MX preference and (once resolved) one
 * of its addresses. An MX host with three addresses is three entries. */
typedef struct dns_host {
    char       *name;
    unsigned    pref;
    dns_addr_t  addr;
} dns_host_t;

typedef struct dns_host_list {
    dns_host_t *v;
    size_t      n;
    size_t      cap;
} dns_host_list_t;

void dns_host_list_init(dns_host_list_t *l);
void dns_host_list_free(dns_host_list_t *l);          /* contents only */
/* Appends a copy of name (addr may be NULL: not resolved). */
void dns_host_list_add(dns_host_list_t *l, const char *name, unsigned pref,
                       const dns_addr_t *addr);
/* Moves every entry of from to the end of to (from becomes empty). */
void dns_host_list_move(dns_host_list_t *to, dns_host_list_t *from);
/* Keeps only the first n entries. */
void dns_host_list_truncate(dns_host_list_t *l, size_t n);

/* "1.2.3.4" or an IPv6 text (no brackets, no "ipv6:"): 0, or -1. */
int  dns_addr_parse(const char *text, dns_addr_t *a);
/* The address as text ("1.2.3.4", "2001:db8::1"). */
void dns_addr_format(const dns_addr_t *a, buf_t *out);

/* Live lookups. why gets Postfix's wording for what went wrong, as
 * "Name service error for name=example.com type=MX: Host not found, try
 * again". The records found are appended to out.
 * MX: entries carry name and preference but no address. DNS_NOTFOUND
 * when the domain has no MX record (the caller falls back to A/AAAA). */
int  dns_lookup_mx(const char *domain, dns_host_list_t *out, buf_t *why);
/* A and/or AAAA records of host (IPv4 first), each appended with pref. */
int  dns_lookup_addr(const char *host, int want, unsigned pref, dns_host_list_t *out,
                     buf_t *why);
/* The same through getaddrinfo (smtp_host_lookup = native: /etc/hosts,
 * NSS); why in the same style. */
int  dns_lookup_native(const char *host, int want, unsigned pref, dns_host_list_t *out,
                       buf_t *why);

/* Answer parsing (also for tests with hand-made answers). type is
 * ns_t_mx, ns_t_a or ns_t_aaaa; records of other types (the CNAME chain)
 * are skipped. For addresses, name and pref label the appended entries.
 * Returns the number of records appended, or -1 for a malformed answer. */
int  dns_parse_answer(const unsigned char *answer, size_t len, int type, const char *name,
                      unsigned pref, dns_host_list_t *out);

/* Sorts MX records (before their addresses are looked up) by preference;
 * records of equal preference come out in random order, drawn with
 * rand_fn (NULL = random()). */
void dns_sort_mx(dns_host_list_t *l, long (*rand_fn)(void));

/* The loop guard. The first entry whose address is_ours() says is this
 * host cuts the list: it and every entry of equal or higher preference
 * value go. Returns 1 when that leaves nothing (we are the best MX: the
 * mail loops back to myself), else 0. */
int  dns_trim_self(dns_host_list_t *l, int (*is_ours)(const dns_addr_t *a));

#endif
