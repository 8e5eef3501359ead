/* Unit tests for lib/match_list: domain and host lists with names,
 * subdomains, CIDR blocks, tables, /file includes, negation, and the
 * three-valued answer when a table or file cannot be read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "match_list.h"

static char topdir[] = "/tmp/test_match_list.XXXXXX";

static void write_file(const char *name, const char *text)
{
    buf_t path = BUF_INIT;
    FILE *f;

    buf_printf(&path, "%s/%s", topdir, name);
    f = fopen(buf_str(&path), "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    buf_release(&path);
}

/* A value with every "@" replaced by the test directory. */
static char *at_dir(const char *text)
{
    buf_t b = BUF_INIT;

    for (const char *p = text; *p; p++) {
        if (*p == '@')
            buf_puts(&b, topdir);
        else
            buf_putc(&b, *p);
    }
    return buf_steal(&b);
}

static match_list_t *open_list(const char *param, const char *value, int kind)
{
    char *v = at_dir(value);
    match_list_t *l = match_list_open(param, v, kind);

    free(v);
    return l;
}

static int setup(void **state)
{
    (void) state;
    if (mkdtemp(topdir) == NULL)
        return -1;
    write_file("main.cf", "compatibility_level = 3.6\n");
    config_load(topdir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_domain_names(void **state)
{
    match_list_t *l;

    (void) state;
    /* mydestination is not in parent_domain_matches_subdomains. */
    l = match_list_open("mydestination", "mon_domaine.net, mon_second_domaine.net"
                        "  .wild.test,other.test", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "mon_domaine.net"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "MON_Domaine.NET."), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "mon_second_domaine.net"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "other.test"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "sub.mon_domaine.net"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "a.b.wild.test"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "wild.test"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "xmon_domaine.net"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, ""), MATCH_NONE);
    assert_int_equal(match_list_domain(l, NULL), MATCH_NONE);
    assert_false(match_list_empty(l));
    match_list_free(l);

    /* relay_domains is: example.com covers its subdomains. */
    l = match_list_open("relay_domains", "mon_domaine.net domaine_ami.net", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "domaine_ami.net"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "mx.domaine_ami.net"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "xdomaine_ami.net"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "elsewhere.example"), MATCH_NONE);
    match_list_free(l);

    l = match_list_open("relay_domains", "", MATCH_LIST_DOMAIN);
    assert_true(match_list_empty(l));
    assert_int_equal(match_list_domain(l, "example.com"), MATCH_NONE);
    match_list_free(l);
}

static void test_negation_first_match(void **state)
{
    match_list_t *l;

    (void) state;
    l = match_list_open("relay_domains", "!bad.example.com, example.com", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "example.com"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "good.example.com"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "bad.example.com"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "x.bad.example.com"), MATCH_NONE);
    match_list_free(l);

    /* The first match decides: a later exclusion comes too late. */
    l = match_list_open("relay_domains", "example.com !bad.example.com", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "bad.example.com"), MATCH_FOUND);
    match_list_free(l);

    /* "!!x" is x. */
    l = match_list_open("mydestination", "!!example.com", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "example.com"), MATCH_FOUND);
    match_list_free(l);
}

static void test_domain_tables(void **state)
{
    match_list_t *l;

    (void) state;
    write_file("domains", "# virtual alias domains\nvirt.example  anything\n"
               "Parent.Example x\n.dotted.example x\n");
    l = open_list("mydestination", "texthash:@/domains, inline:{ one.test=1, two.test=2 }",
                  MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "virt.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "VIRT.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "two.test"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "three.test"), MATCH_NONE);
    /* Not parent style: only ".parent" keys cover subdomains. */
    assert_int_equal(match_list_domain(l, "a.parent.example"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "a.b.dotted.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "dotted.example"), MATCH_NONE);
    match_list_free(l);

    l = open_list("relay_domains", "texthash:@/domains", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "a.parent.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "parent.example"), MATCH_FOUND);
    match_list_free(l);

    l = open_list("relay_domains", "!texthash:@/domains example", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "virt.example"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "other.example"), MATCH_FOUND);
    match_list_free(l);
}

static void test_file_includes(void **state)
{
    match_list_t *l;

    char *more = at_dir("# comment line, example.org\n  one.example, two.example\n"
                        "\n   # indented comment\nthree.example @/nested\n");

    (void) state;
    write_file("more", more);
    free(more);
    write_file("nested", "!no.nested.example nested.example\n");
    l = open_list("mydestination", "first.example, @/more last.example", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "first.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "two.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "three.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "last.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "nested.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "comment"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "example.org"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "no.nested.example"), MATCH_NONE);
    match_list_free(l);

    /* "!/file" turns every entry of the file around. */
    l = open_list("mydestination", "!@/nested, .example", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "nested.example"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "no.nested.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "x.example"), MATCH_FOUND);
    match_list_free(l);
}

static void test_host_addresses(void **state)
{
    match_list_t *l;

    (void) state;
    l = match_list_open("mynetworks", "127.0.0.0/8,192.168.154.0/28 [::1]/128 "
                        "[fe80::]/10, 2001:db8::/32 10.1.2.3 [192.0.2.9]", MATCH_LIST_HOST);
    assert_int_equal(match_list_host(l, "localhost", "127.0.0.1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "127.255.0.2"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "192.168.154.15"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "192.168.154.16"), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, "::1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "[::1]"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "IPv6:::1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "::2"), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, "fe80::1234"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "fec0::1"), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, "2001:DB8:1::5"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "10.1.2.3"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "10.1.2.4"), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, "192.0.2.9"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "::ffff:127.0.0.1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, "unknown", "203.0.113.1"), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, NULL), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, "not-an-address"), MATCH_NONE);
    match_list_free(l);

    /* Host bits are masked (with a warning); a bad mask matches nothing. */
    l = match_list_open("mynetworks", "10.0.0.1/8 1.2.3.4/33 [::1]/129", MATCH_LIST_HOST);
    assert_int_equal(match_list_host(l, NULL, "10.200.0.1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, NULL, "1.2.3.4"), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, "::1"), MATCH_NONE);
    match_list_free(l);

    l = match_list_open("mynetworks", "!192.168.1.7 192.168.1.0/24", MATCH_LIST_HOST);
    assert_int_equal(match_list_host(l, NULL, "192.168.1.7"), MATCH_NONE);
    assert_int_equal(match_list_host(l, NULL, "192.168.1.8"), MATCH_FOUND);
    match_list_free(l);
}

static void test_host_names_and_tables(void **state)
{
    match_list_t *l;

    (void) state;
    write_file("clients.cidr", "192.0.2.0/24 OK\n");
    write_file("clients", "trusted.example x\n198.51.100.7 x\n");
    /* mynetworks is parent style; the bare-LF exclusions are not. */
    l = open_list("mynetworks", "example.com cidr:@/clients.cidr texthash:@/clients",
                  MATCH_LIST_HOST);
    assert_int_equal(match_list_host(l, "mail.example.com", "203.0.113.1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, "Example.COM", "203.0.113.1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, "unknown", "192.0.2.77"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, "unknown", "198.51.100.7"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, "a.trusted.example", "203.0.113.1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, "unknown", "203.0.113.1"), MATCH_NONE);
    assert_int_equal(match_list_host(l, "other.test", "203.0.113.1"), MATCH_NONE);
    match_list_free(l);

    l = match_list_open("smtpd_forbid_bare_newline_exclusions", "example.com .example.net",
                        MATCH_LIST_HOST);
    assert_int_equal(match_list_host(l, "example.com", "203.0.113.1"), MATCH_FOUND);
    assert_int_equal(match_list_host(l, "mail.example.com", "203.0.113.1"), MATCH_NONE);
    assert_int_equal(match_list_host(l, "mail.example.net", "203.0.113.1"), MATCH_FOUND);
    /* A domain asked of a host list is matched as a name. */
    assert_int_equal(match_list_domain(l, "x.example.net"), MATCH_FOUND);
    match_list_free(l);
}

static void test_unavailable_entries(void **state)
{
    match_list_t *l;
    buf_t path = BUF_INIT;

    (void) state;
    /* An unreadable table that would say "match": answers that it could
     * change are errors, answers it cannot change stand. */
    l = open_list("mydestination", "first.example hash:@/missing-table .wild.test, "
                  "!no.example.net, example.net", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "first.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "a.wild.test"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "example.net"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "no.example.net"), MATCH_ERROR);
    assert_int_equal(match_list_domain(l, "unlisted.example"), MATCH_ERROR);
    match_list_free(l);

    /* A negated unreadable table: "no match" answers stand. */
    l = open_list("mydestination", "!hash:@/missing-table example.net", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "unlisted.example"), MATCH_NONE);
    assert_int_equal(match_list_domain(l, "example.net"), MATCH_ERROR);
    match_list_free(l);

    /* A missing file is retried and used once it exists. */
    l = open_list("mydestination", "@/later", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "later.example"), MATCH_ERROR);
    write_file("later", "later.example\n");
    sleep(2);
    assert_int_equal(match_list_domain(l, "later.example"), MATCH_FOUND);
    assert_int_equal(match_list_domain(l, "other.example"), MATCH_NONE);
    match_list_free(l);

    /* A file that includes itself stops at the nesting limit. */
    buf_printf(&path, "%s/self", topdir);
    write_file("self", buf_str(&path));
    l = open_list("mydestination", "@/self, ok.example", MATCH_LIST_DOMAIN);
    assert_int_equal(match_list_domain(l, "ok.example"), MATCH_FOUND);
    match_list_free(l);
    buf_release(&path);
}

static void test_split(void **state)
{
    argv_t *a;

    (void) state;
    a = match_list_split("permit_mynetworks,\n permit_sasl_authenticated,\n"
                         " reject_unauth_destination\n check_recipient_access hash:/etc/postfix/spam,\n"
                         " permit");
    assert_int_equal(a->argc, 6);
    assert_string_equal(a->argv[2], "reject_unauth_destination");
    assert_string_equal(a->argv[3], "check_recipient_access");
    assert_string_equal(a->argv[4], "hash:/etc/postfix/spam");
    assert_string_equal(a->argv[5], "permit");
    argv_free(a);

    a = match_list_split("check_client_access inline:{ 1.2.3.4=REJECT, 5.6.7.8 = OK }, "
                         "{ a b }");
    assert_int_equal(a->argc, 3);
    assert_string_equal(a->argv[1], "inline:{ 1.2.3.4=REJECT, 5.6.7.8 = OK }");
    assert_string_equal(a->argv[2], "a b");
    argv_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_names),
        cmocka_unit_test(test_negation_first_match),
        cmocka_unit_test(test_domain_tables),
        cmocka_unit_test(test_file_includes),
        cmocka_unit_test(test_host_addresses),
        cmocka_unit_test(test_host_names_and_tables),
        cmocka_unit_test(test_unavailable_entries),
        cmocka_unit_test(test_split),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
