/* dns: MX, A and AAAA lookups with glibc's resolver (res_nquery, answers
 * parsed with ns_initparse/ns_parserr), getaddrinfo for "native" lookups,
 * and the MX ordering rules of the SMTP client (preference sort with equal
 * preferences shuffled, loop guard). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "dns.h"
#include "log.h"

#define DNS_ANSWER_MAX   65536    /* a DNS message never exceeds 65535 bytes */
#define DNS_QNAME_MAX    253      /* the longest name a query may carry */

/* ---------------------------------------------------------------- */
/* Lists and addresses                                              */
/* ---------------------------------------------------------------- */

void dns_host_list_init(dns_host_list_t *l)
{
    memset(l, 0, sizeof(*l));
}

void dns_host_list_free(dns_host_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void dns_host_list_add(dns_host_list_t *l, const char *name, unsigned pref,
                       const dns_addr_t *addr)
{
    dns_host_t *h;

    if (l->n == l->cap) {
        l->cap = l->cap ? size_mul(l->cap, 2) : 8;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    h = &l->v[l->n++];
    memset(h, 0, sizeof(*h));
    h->name = xstrdup(name);
    h->pref = pref;
    if (addr != NULL)
        h->addr = *addr;
}

void dns_host_list_move(dns_host_list_t *to, dns_host_list_t *from)
{
    for (size_t i = 0; i < from->n; i++) {
        if (to->n == to->cap) {
            to->cap = to->cap ? size_mul(to->cap, 2) : 8;
            to->v = xreallocarray(to->v, to->cap, sizeof(*to->v));
        }
        to->v[to->n++] = from->v[i];      /* the name moves with it */
    }
    free(from->v);
    memset(from, 0, sizeof(*from));
}

void dns_host_list_truncate(dns_host_list_t *l, size_t n)
{
    while (l->n > n)
        free(l->v[--l->n].name);
}

int dns_addr_parse(const char *text, dns_addr_t *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, text, a->bytes) == 1) {
        a->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, a->bytes) == 1) {
        a->family = AF_INET6;
        return 0;
    }
    memset(a, 0, sizeof(*a));
    return -1;
}

void dns_addr_format(const dns_addr_t *a, buf_t *out)
{
    char text[INET6_ADDRSTRLEN];

    if (a->family == 0 || inet_ntop(a->family, a->bytes, text, sizeof(text)) == NULL) {
        buf_puts(out, "unknown");
        return;
    }
    buf_puts(out, text);
}

/* ---------------------------------------------------------------- */
/* Answer parsing                                                   */
/* ---------------------------------------------------------------- */

static const char *type_name(int type)
{
    switch (type) {
    case ns_t_mx:
        return "MX";
    case ns_t_a:
        return "A";
    case ns_t_aaaa:
        return "AAAA";
    default:
        return "unknown";
    }
}

/* One MX record: 16-bit preference, then the (compressed) exchange name. */
static int parse_mx_rdata(const ns_msg *msg, const ns_rr *rr, dns_host_list_t *out)
{
    const unsigned char *rdata = ns_rr_rdata(*rr);
    char name[DNS_NAME_MAX];
    unsigned pref;

    if (ns_rr_rdlen(*rr) < 3)
        return -1;
    pref = ns_get16(rdata);
    if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), rdata + 2, name, sizeof(name)) < 0)
        return -1;
    dns_host_list_add(out, name, pref, NULL);
    return 0;
}

static int parse_addr_rdata(const ns_rr *rr, int type, const char *name, unsigned pref,
                            dns_host_list_t *out)
{
    dns_addr_t a;
    size_t want = type == ns_t_a ? 4 : 16;

    if (ns_rr_rdlen(*rr) != want)
        return -1;
    memset(&a, 0, sizeof(a));
    a.family = type == ns_t_a ? AF_INET : AF_INET6;
    memcpy(a.bytes, ns_rr_rdata(*rr), want);
    dns_host_list_add(out, name, pref, &a);
    return 0;
}

int dns_parse_answer(const unsigned char *answer, size_t len, int type, const char *name,
                     unsigned pref, dns_host_list_t *out)
{
    ns_msg msg;
    size_t before = out->n;
    int count;

    if (len > DNS_ANSWER_MAX || ns_initparse(answer, (int) len, &msg) < 0)
        return -1;
    count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        int rc;

        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            goto malformed;
        if (ns_rr_class(rr) != ns_c_in || (int) ns_rr_type(rr) != type)
            continue;                   /* CNAME chain, or anything else */
        if (type == ns_t_mx)
            rc = parse_mx_rdata(&msg, &rr, out);
        else
            rc = parse_addr_rdata(&rr, type, name, pref, out);
        if (rc < 0)
            goto malformed;
    }
    return (int) (out->n - before);

malformed:
    dns_host_list_truncate(out, before);
    return -1;
}

/* ---------------------------------------------------------------- */
/* Live lookups                                                     */
/* ---------------------------------------------------------------- */

static void set_why(buf_t *why, const char *name, int type, const char *text)
{
    buf_reset(why);
    buf_printf(why, "Name service error for name=%s type=%s: %s", name, type_name(type), text);
}

/* The resolver's h_errno as a result and Postfix's wording. */
static int map_h_errno(int herr, const char *name, int type, buf_t *why)
{
    switch (herr) {
    case HOST_NOT_FOUND:
        set_why(why, name, type, "Host not found");
        return DNS_NOTFOUND;
    case NO_DATA:
        set_why(why, name, type, "Host found but no data record of requested type");
        return DNS_NOTFOUND;
    case NO_RECOVERY:
        set_why(why, name, type, "Non-recoverable error");
        return DNS_FAIL;
    default:                            /* TRY_AGAIN, NETDB_INTERNAL (no server) */
        set_why(why, name, type, "Host not found, try again");
        return DNS_RETRY;
    }
}

/* A name a query may carry: not empty, not too long, printable. */
static int qname_ok(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > DNS_QNAME_MAX)
        return 0;
    for (const char *p = name; *p; p++)
        if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
            return 0;
    return 1;
}

/* One query; the answer's records of type are appended to out. */
static int query(const char *name, int type, unsigned pref, dns_host_list_t *out, buf_t *why)
{
    struct __res_state res;
    unsigned char *answer;
    int len, rc = DNS_OK, herr;

    if (!qname_ok(name)) {
        set_why(why, name, type, "Host not found");
        return DNS_NOTFOUND;
    }
    /* A fresh state per query: /etc/resolv.conf changes are seen at once,
     * and the search list never applies (names are used as given). */
    memset(&res, 0, sizeof(res));
    if (res_ninit(&res) < 0) {
        set_why(why, name, type, "Host not found, try again");
        return DNS_RETRY;
    }
    res.options &= ~(unsigned long) (RES_DEFNAMES | RES_DNSRCH);
    answer = xmalloc(DNS_ANSWER_MAX);
    len = res_nquery(&res, name, ns_c_in, type, answer, DNS_ANSWER_MAX);
    herr = res.res_h_errno;
    res_nclose(&res);
    if (len < 0) {
        rc = map_h_errno(herr, name, type, why);
    } else {
        int found = dns_parse_answer(answer, (size_t) len, type, name, pref, out);

        if (found < 0) {
            set_why(why, name, type, "Malformed or unexpected name server reply");
            rc = DNS_FAIL;
        } else if (found == 0) {
            set_why(why, name, type, "Host found but no data record of requested type");
            rc = DNS_NOTFOUND;
        }
    }
    free(answer);
    return rc;
}

int dns_lookup_mx(const char *domain, dns_host_list_t *out, buf_t *why)
{
    return query(domain, ns_t_mx, 0, out, why);
}

/* The better of two outcomes: any success wins, then a retry (the other
 * family may come back), then the first failure. */
static int combine(int first, int second)
{
    if (first == DNS_OK || second == DNS_OK)
        return DNS_OK;
    if (first == DNS_RETRY || second == DNS_RETRY)
        return DNS_RETRY;
    return first;
}

int dns_lookup_addr(const char *host, int want, unsigned pref, dns_host_list_t *out,
                    buf_t *why)
{
    int rc = -1;
    buf_t why6 = BUF_INIT;

    if (want & DNS_WANT_V4)
        rc = query(host, ns_t_a, pref, out, why);
    if (want & DNS_WANT_V6) {
        int rc6 = query(host, ns_t_aaaa, pref, out, &why6);

        if (rc < 0) {
            rc = rc6;
            buf_set(why, buf_str(&why6));
        } else {
            rc = combine(rc, rc6);
        }
    }
    buf_release(&why6);
    if (rc < 0) {
        set_why(why, host, ns_t_a, "Host not found");
        rc = DNS_NOTFOUND;
    }
    return rc;
}

int dns_lookup_native(const char *host, int want, unsigned pref, dns_host_list_t *out,
                      buf_t *why)
{
    struct addrinfo hints, *res, *ai;
    size_t before = out->n;
    int err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = want == DNS_WANT_V4 ? AF_INET : want == DNS_WANT_V6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    err = getaddrinfo(host, NULL, &hints, &res);
    if (err != 0) {
        buf_reset(why);
        buf_printf(why, "Name service error for name=%s type=%s: %s", host,
                   want == DNS_WANT_V6 ? "AAAA" : "A",
                   err == EAI_AGAIN ? "Host not found, try again" : "Host not found");
        return err == EAI_AGAIN ? DNS_RETRY : err == EAI_NONAME || err == EAI_NODATA
            ? DNS_NOTFOUND : DNS_FAIL;
    }
    /* IPv4 first, as the DNS lookup orders them. */
    for (int pass = 0; pass < 2; pass++) {
        int family = pass == 0 ? AF_INET : AF_INET6;

        for (ai = res; ai != NULL; ai = ai->ai_next) {
            dns_addr_t a;

            if (ai->ai_family != family)
                continue;
            memset(&a, 0, sizeof(a));
            a.family = family;
            if (family == AF_INET)
                memcpy(a.bytes, &((struct sockaddr_in *) ai->ai_addr)->sin_addr, 4);
            else
                memcpy(a.bytes, &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr, 16);
            dns_host_list_add(out, host, pref, &a);
        }
    }
    freeaddrinfo(res);
    if (out->n == before) {
        buf_reset(why);
        buf_printf(why, "Name service error for name=%s type=A: "
                   "Host found but no data record of requested type", host);
        return DNS_NOTFOUND;
    }
    return DNS_OK;
}

/* ---------------------------------------------------------------- */
/* Ordering                                                         */
/* ---------------------------------------------------------------- */

void dns_sort_mx(dns_host_list_t *l, long (*rand_fn)(void))
{
    if (rand_fn == NULL)
        rand_fn = random;
    /* Shuffle everything, then a stable sort by preference: what is left
     * in random order is exactly the order within one preference. */
    for (size_t i = l->n; i > 1; i--) {
        size_t j = (size_t) ((unsigned long) rand_fn() % i);
        dns_host_t tmp = l->v[i - 1];

        l->v[i - 1] = l->v[j];
        l->v[j] = tmp;
    }
    for (size_t i = 1; i < l->n; i++) {
        dns_host_t cur = l->v[i];
        size_t j = i;

        while (j > 0 && l->v[j - 1].pref > cur.pref) {
            l->v[j] = l->v[j - 1];
            j--;
        }
        l->v[j] = cur;
    }
}

int dns_trim_self(dns_host_list_t *l, int (*is_ours)(const dns_addr_t *a))
{
    size_t i, cut;

    for (i = 0; i < l->n; i++)
        if (l->v[i].addr.family != 0 && is_ours(&l->v[i].addr))
            break;
    if (i == l->n)
        return 0;
    /* Everything as good as or worse than this host would send the mail
     * back to us, or to a host that sends it to us. */
    for (cut = 0; cut < l->n; cut++)
        if (l->v[cut].pref >= l->v[i].pref)
            break;
    dns_host_list_truncate(l, cut);
    return l->n == 0;
}
