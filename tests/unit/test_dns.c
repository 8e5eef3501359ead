/* Unit tests for lib/dns: answers built by hand (MX with name compression,
 * A/AAAA behind a CNAME, malformed ones), preference sorting with equal
 * preferences shuffled, the loop guard, address text. The live lookups are
 * tested against a real DNS server in tests/integration/test_smtp_relay.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <cmocka.h>

#include "buf.h"
#include "dns.h"

/* ---- A tiny DNS message writer ---- */

typedef struct pkt {
    unsigned char b[1024];
    size_t len;
} pkt_t;

static void put8(pkt_t *p, unsigned v)
{
    assert_true(p->len < sizeof(p->b));
    p->b[p->len++] = (unsigned char) v;
}

static void put16(pkt_t *p, unsigned v)
{
    put8(p, (v >> 8) & 0xff);
    put8(p, v & 0xff);
}

static void put32(pkt_t *p, unsigned long v)
{
    put16(p, (unsigned) (v >> 16) & 0xffff);
    put16(p, (unsigned) v & 0xffff);
}

/* A name as labels ending with the root, or with a pointer to ptr when
 * ptr != 0 (the labels given come first). */
static void put_name(pkt_t *p, const char *name, unsigned ptr)
{
    const char *s = name;

    while (*s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t) (dot - s) : strlen(s);

        put8(p, (unsigned) n);
        for (size_t i = 0; i < n; i++)
            put8(p, (unsigned char) s[i]);
        s += n;
        if (*s == '.')
            s++;
    }
    if (ptr != 0)
        put16(p, 0xc000 | ptr);
    else
        put8(p, 0);
}

/* Header and question; the question name sits at offset 12. */
static void start(pkt_t *p, const char *qname, unsigned qtype, unsigned ancount)
{
    memset(p, 0, sizeof(*p));
    put16(p, 0x1234);
    put16(p, 0x8180);
    put16(p, 1);
    put16(p, ancount);
    put16(p, 0);
    put16(p, 0);
    put_name(p, qname, 0);
    put16(p, qtype);
    put16(p, ns_c_in);
}

/* A record header owned by the question name; returns where rdlength is. */
static size_t rr_start(pkt_t *p, unsigned type)
{
    size_t at;

    put16(p, 0xc000 | 12);
    put16(p, type);
    put16(p, ns_c_in);
    put32(p, 300);
    at = p->len;
    put16(p, 0);
    return at;
}

static void rr_end(pkt_t *p, size_t at)
{
    size_t n = p->len - at - 2;

    p->b[at] = (unsigned char) (n >> 8);
    p->b[at + 1] = (unsigned char) (n & 0xff);
}

static void add_mx(pkt_t *p, unsigned pref, const char *labels, unsigned ptr)
{
    size_t at = rr_start(p, ns_t_mx);

    put16(p, pref);
    put_name(p, labels, ptr);
    rr_end(p, at);
}

static void add_a(pkt_t *p, const char *text)
{
    size_t at = rr_start(p, ns_t_a);
    unsigned char bin[4];

    assert_int_equal(inet_pton(AF_INET, text, bin), 1);
    for (int i = 0; i < 4; i++)
        put8(p, bin[i]);
    rr_end(p, at);
}

static void add_aaaa(pkt_t *p, const char *text)
{
    size_t at = rr_start(p, ns_t_aaaa);
    unsigned char bin[16];

    assert_int_equal(inet_pton(AF_INET6, text, bin), 1);
    for (int i = 0; i < 16; i++)
        put8(p, bin[i]);
    rr_end(p, at);
}

static void add_cname(pkt_t *p, const char *target)
{
    size_t at = rr_start(p, ns_t_cname);

    put_name(p, target, 0);
    rr_end(p, at);
}

static const char *addr_text(const dns_host_t *h, buf_t *b)
{
    buf_reset(b);
    dns_addr_format(&h->addr, b);
    return buf_str(b);
}

/* ---- Parsing ---- */

static void test_parse_mx_with_compression(void **state)
{
    pkt_t p;
    dns_host_list_t l;

    (void) state;
    start(&p, "example.com", ns_t_mx, 3);
    add_mx(&p, 20, "mx2", 12);                  /* mx2 + pointer to example.com */
    add_mx(&p, 10, "mail.other.net", 0);         /* spelled out */
    add_mx(&p, 10, "", 12);                      /* the domain itself */
    dns_host_list_init(&l);
    assert_int_equal(dns_parse_answer(p.b, p.len, ns_t_mx, NULL, 0, &l), 3);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].name, "mx2.example.com");
    assert_int_equal(l.v[0].pref, 20);
    assert_string_equal(l.v[1].name, "mail.other.net");
    assert_int_equal(l.v[1].pref, 10);
    assert_string_equal(l.v[2].name, "example.com");
    assert_int_equal(l.v[0].addr.family, 0);     /* not resolved yet */
    dns_host_list_free(&l);
}

static void test_parse_null_mx(void **state)
{
    pkt_t p;
    dns_host_list_t l;

    (void) state;
    start(&p, "nomail.example", ns_t_mx, 1);
    add_mx(&p, 0, "", 0);                        /* RFC 7505: MX 0 . */
    dns_host_list_init(&l);
    assert_int_equal(dns_parse_answer(p.b, p.len, ns_t_mx, NULL, 0, &l), 1);
    assert_true(l.v[0].name[0] == 0 || strcmp(l.v[0].name, ".") == 0);
    dns_host_list_free(&l);
}

static void test_parse_addresses_behind_cname(void **state)
{
    pkt_t p;
    dns_host_list_t l;
    buf_t t = BUF_INIT;

    (void) state;
    start(&p, "www.example.com", ns_t_a, 3);
    add_cname(&p, "real.example.com");
    add_a(&p, "192.0.2.1");
    add_a(&p, "192.0.2.2");
    dns_host_list_init(&l);
    assert_int_equal(dns_parse_answer(p.b, p.len, ns_t_a, "mx.example.com", 7, &l), 2);
    assert_string_equal(l.v[0].name, "mx.example.com");
    assert_int_equal(l.v[0].pref, 7);
    assert_int_equal(l.v[0].addr.family, AF_INET);
    assert_string_equal(addr_text(&l.v[0], &t), "192.0.2.1");
    assert_string_equal(addr_text(&l.v[1], &t), "192.0.2.2");

    /* AAAA records are not A records. */
    start(&p, "v6.example.com", ns_t_aaaa, 2);
    add_aaaa(&p, "2001:db8::25");
    add_a(&p, "192.0.2.9");
    assert_int_equal(dns_parse_answer(p.b, p.len, ns_t_aaaa, "v6.example.com", 0, &l), 1);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.v[2].addr.family, AF_INET6);
    assert_string_equal(addr_text(&l.v[2], &t), "2001:db8::25");
    buf_release(&t);
    dns_host_list_free(&l);
}

static void test_parse_malformed(void **state)
{
    pkt_t p;
    dns_host_list_t l;
    size_t at;

    (void) state;
    dns_host_list_init(&l);
    /* Truncated in the middle of a record. */
    start(&p, "example.com", ns_t_mx, 2);
    add_mx(&p, 10, "mx1", 12);
    add_mx(&p, 20, "mx2", 12);
    assert_int_equal(dns_parse_answer(p.b, p.len - 3, ns_t_mx, NULL, 0, &l), -1);
    assert_int_equal(l.n, 0);
    /* An A record of the wrong size. */
    start(&p, "example.com", ns_t_a, 1);
    at = rr_start(&p, ns_t_a);
    put16(&p, 1);
    rr_end(&p, at);
    assert_int_equal(dns_parse_answer(p.b, p.len, ns_t_a, "x", 0, &l), -1);
    /* An MX name pointing outside the message. */
    start(&p, "example.com", ns_t_mx, 1);
    at = rr_start(&p, ns_t_mx);
    put16(&p, 10);
    put16(&p, 0xc000 | 0x3ff);
    rr_end(&p, at);
    assert_int_equal(dns_parse_answer(p.b, p.len, ns_t_mx, NULL, 0, &l), -1);
    /* Too short to be a message; an empty answer is fine. */
    assert_int_equal(dns_parse_answer(p.b, 5, ns_t_mx, NULL, 0, &l), -1);
    start(&p, "example.com", ns_t_mx, 0);
    assert_int_equal(dns_parse_answer(p.b, p.len, ns_t_mx, NULL, 0, &l), 0);
    assert_int_equal(l.n, 0);
    dns_host_list_free(&l);
}

/* ---- Ordering ---- */

static long seq[64];
static size_t seq_pos;

static long scripted_random(void)
{
    return seq[seq_pos++ % 64];
}

static void fill(dns_host_list_t *l)
{
    dns_host_list_init(l);
    dns_host_list_add(l, "c20", 20, NULL);
    dns_host_list_add(l, "a10", 10, NULL);
    dns_host_list_add(l, "b10", 10, NULL);
    dns_host_list_add(l, "d5", 5, NULL);
    dns_host_list_add(l, "e10", 10, NULL);
}

static void test_sort_by_preference(void **state)
{
    dns_host_list_t l;
    int seen_first[3] = { 0, 0, 0 };

    (void) state;
    for (int round = 0; round < 200; round++) {
        fill(&l);
        dns_sort_mx(&l, NULL);
        assert_string_equal(l.v[0].name, "d5");
        assert_string_equal(l.v[4].name, "c20");
        for (int i = 1; i <= 3; i++)
            assert_int_equal(l.v[i].pref, 10);
        seen_first[l.v[1].name[0] - 'a' < 2 ? l.v[1].name[0] - 'a' : 2]++;
        dns_host_list_free(&l);
    }
    /* Equal preferences really are shuffled. */
    for (int i = 0; i < 3; i++)
        assert_true(seen_first[i] > 20);
}

static void test_sort_is_deterministic_with_a_given_random(void **state)
{
    dns_host_list_t l1, l2;

    (void) state;
    for (int i = 0; i < 64; i++)
        seq[i] = (long) (i * 7 + 3);
    seq_pos = 0;
    fill(&l1);
    dns_sort_mx(&l1, scripted_random);
    seq_pos = 0;
    fill(&l2);
    dns_sort_mx(&l2, scripted_random);
    for (size_t i = 0; i < l1.n; i++)
        assert_string_equal(l1.v[i].name, l2.v[i].name);
    for (size_t i = 1; i < l1.n; i++)
        assert_true(l1.v[i - 1].pref <= l1.v[i].pref);
    dns_host_list_free(&l1);
    dns_host_list_free(&l2);
}

static const char *ours_text = "192.0.2.100";

static int is_ours(const dns_addr_t *a)
{
    dns_addr_t mine;

    assert_int_equal(dns_addr_parse(ours_text, &mine), 0);
    return a->family == mine.family && memcmp(a->bytes, mine.bytes, 4) == 0;
}

static void add_host(dns_host_list_t *l, const char *name, unsigned pref, const char *ip)
{
    dns_addr_t a;

    assert_int_equal(dns_addr_parse(ip, &a), 0);
    dns_host_list_add(l, name, pref, &a);
}

static void test_loop_guard(void **state)
{
    dns_host_list_t l;

    (void) state;
    /* We are a backup MX: ourselves and everything as bad or worse go. */
    dns_host_list_init(&l);
    add_host(&l, "primary", 10, "192.0.2.1");
    add_host(&l, "primary", 10, "192.0.2.2");
    add_host(&l, "other20", 20, "192.0.2.3");
    add_host(&l, "us", 20, "192.0.2.100");
    add_host(&l, "worse", 30, "192.0.2.4");
    assert_int_equal(dns_trim_self(&l, is_ours), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "primary");
    assert_string_equal(l.v[1].name, "primary");
    dns_host_list_free(&l);

    /* We are the best MX: nothing is left, the mail loops. */
    dns_host_list_init(&l);
    add_host(&l, "us", 5, "192.0.2.100");
    add_host(&l, "backup", 10, "192.0.2.5");
    assert_int_equal(dns_trim_self(&l, is_ours), 1);
    assert_int_equal(l.n, 0);
    dns_host_list_free(&l);

    /* Equal to the best MX counts as the best. */
    dns_host_list_init(&l);
    add_host(&l, "peer", 10, "192.0.2.6");
    add_host(&l, "us", 10, "192.0.2.100");
    assert_int_equal(dns_trim_self(&l, is_ours), 1);
    dns_host_list_free(&l);

    /* Not in the list: untouched. */
    dns_host_list_init(&l);
    add_host(&l, "a", 10, "192.0.2.7");
    add_host(&l, "b", 20, "192.0.2.8");
    dns_host_list_add(&l, "unresolved", 30, NULL);
    assert_int_equal(dns_trim_self(&l, is_ours), 0);
    assert_int_equal(l.n, 3);
    dns_host_list_free(&l);
}

static void test_addresses_and_lists(void **state)
{
    dns_addr_t a;
    buf_t t = BUF_INIT;
    dns_host_list_t x, y;

    (void) state;
    assert_int_equal(dns_addr_parse("10.1.2.3", &a), 0);
    assert_int_equal(a.family, AF_INET);
    dns_addr_format(&a, &t);
    assert_string_equal(buf_str(&t), "10.1.2.3");
    assert_int_equal(dns_addr_parse("2001:DB8::1", &a), 0);
    assert_int_equal(a.family, AF_INET6);
    buf_reset(&t);
    dns_addr_format(&a, &t);
    assert_string_equal(buf_str(&t), "2001:db8::1");
    assert_int_equal(dns_addr_parse("[10.1.2.3]", &a), -1);
    assert_int_equal(dns_addr_parse("ipv6:::1", &a), -1);
    assert_int_equal(dns_addr_parse("mx.example", &a), -1);
    assert_int_equal(a.family, 0);

    dns_host_list_init(&x);
    dns_host_list_init(&y);
    for (int i = 0; i < 20; i++)
        dns_host_list_add(&x, "x", (unsigned) i, NULL);
    dns_host_list_add(&y, "y", 99, NULL);
    dns_host_list_move(&y, &x);
    assert_int_equal(x.n, 0);
    assert_int_equal(y.n, 21);
    assert_string_equal(y.v[20].name, "x");
    assert_int_equal(y.v[20].pref, 19);
    dns_host_list_truncate(&y, 5);
    assert_int_equal(y.n, 5);
    dns_host_list_free(&y);
    dns_host_list_free(&x);
    buf_release(&t);
}

/* Names the resolver must never be asked. */
static void test_lookup_rejects_bad_names(void **state)
{
    dns_host_list_t l;
    buf_t why = BUF_INIT;
    char longname[300];

    (void) state;
    dns_host_list_init(&l);
    assert_int_equal(dns_lookup_mx("bad name.example", &l, &why), DNS_NOTFOUND);
    assert_string_equal(buf_str(&why),
                        "Name service error for name=bad name.example type=MX: Host not found");
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_int_equal(dns_lookup_addr(longname, DNS_WANT_V4, 0, &l, &why), DNS_NOTFOUND);
    assert_int_equal(dns_lookup_mx("", &l, &why), DNS_NOTFOUND);
    assert_int_equal(l.n, 0);
    buf_release(&why);
}

static void test_native_lookup(void **state)
{
    dns_host_list_t l;
    buf_t why = BUF_INIT, t = BUF_INIT;

    (void) state;
    dns_host_list_init(&l);
    /* A numeric host needs no name service at all. */
    assert_int_equal(dns_lookup_native("127.0.0.1", DNS_WANT_V4, 3, &l, &why), DNS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].pref, 3);
    assert_string_equal(addr_text(&l.v[0], &t), "127.0.0.1");
    /* IPv4 only: an IPv6 literal has no IPv4 address. */
    assert_int_not_equal(dns_lookup_native("::1", DNS_WANT_V4, 0, &l, &why), DNS_OK);
    assert_int_equal(l.n, 1);
    dns_host_list_free(&l);
    buf_release(&why);
    buf_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_mx_with_compression),
        cmocka_unit_test(test_parse_null_mx),
        cmocka_unit_test(test_parse_addresses_behind_cname),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_sort_by_preference),
        cmocka_unit_test(test_sort_is_deterministic_with_a_given_random),
        cmocka_unit_test(test_loop_guard),
        cmocka_unit_test(test_addresses_and_lists),
        cmocka_unit_test(test_lookup_rejects_bad_names),
        cmocka_unit_test(test_native_lookup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
