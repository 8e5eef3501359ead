/* Unit tests for lib/resolve: canonical addresses, local and relay
 * domains, and transport/nexthop choice, from temporary main.cf files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "resolve.h"

static char topdir[] = "/tmp/test_resolve.XXXXXX";

/* Writes main.cf with the given text, loads it and drops resolve's cache. */
static void load_main_cf(const char *text)
{
    buf_t path = BUF_INIT;
    FILE *f;

    buf_printf(&path, "%s/main.cf", topdir);
    f = fopen(buf_str(&path), "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    config_load(topdir);
    resolve_reset();
    buf_release(&path);
}

static const char base_cf[] =
    "myhostname = mail.example.org\n"
    "mydomain = example.org\n"
    "compatibility_level = 3.6\n";

static void load_with(const char *extra)
{
    buf_t text = BUF_INIT;

    buf_puts(&text, base_cf);
    buf_puts(&text, extra);
    load_main_cf(buf_str(&text));
    buf_release(&text);
}

static int setup(void **state)
{
    (void) state;
    return mkdtemp(topdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[256];

    (void) state;
    resolve_reset();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_default_mydestination(void **state)
{
    (void) state;
    load_with("");
    assert_true(resolve_local_domain("mail.example.org"));
    assert_true(resolve_local_domain("MAIL.Example.ORG"));
    assert_true(resolve_local_domain("mail.example.org."));
    assert_true(resolve_local_domain("localhost.example.org"));
    assert_true(resolve_local_domain("localhost"));
    assert_true(resolve_local_domain(""));
    assert_true(resolve_local_domain(NULL));
    assert_false(resolve_local_domain("example.org"));
    assert_false(resolve_local_domain("sub.mail.example.org"));
    assert_false(resolve_local_domain("other.test"));
    assert_false(resolve_relay_domain("other.test"));   /* empty at 3.6 */
}

static void test_listed_mydestination(void **state)
{
    (void) state;
    load_with("mydestination = $myhostname,son_domaine.net  localhost,\n"
              "    hash:/etc/postfix/virtual, /etc/postfix/more-domains\n"
              "    .wild.test, !no.example.net, example.net\n");
    assert_true(resolve_local_domain("son_domaine.net"));
    assert_true(resolve_local_domain("Son_Domaine.Net"));
    assert_true(resolve_local_domain("mail.example.org"));
    assert_true(resolve_local_domain("a.wild.test"));
    assert_false(resolve_local_domain("wild.test"));
    assert_true(resolve_local_domain("example.net"));
    assert_false(resolve_local_domain("no.example.net"));
    assert_false(resolve_local_domain("localhost.example.org"));
    assert_false(resolve_local_domain("hash"));
    assert_false(resolve_local_domain("/etc/postfix/virtual"));
    assert_false(resolve_local_domain("/etc/postfix/more-domains"));
}

static void test_address_literals(void **state)
{
    (void) state;
    load_with("inet_interfaces = loopback-only\n");
    assert_true(resolve_local_domain("[127.0.0.1]"));
    assert_true(resolve_local_domain("[IPv6:::1]"));
    assert_false(resolve_local_domain("[192.0.2.1]"));
    assert_false(resolve_local_domain("[127.0.0.1"));
    assert_false(resolve_local_domain("[garbage]"));

    load_with("inet_interfaces = all\n");
    assert_true(resolve_local_domain("[127.0.0.1]"));
    assert_false(resolve_local_domain("[192.0.2.1]"));

    load_with("inet_interfaces = 192.0.2.7\nproxy_interfaces = 198.51.100.1\n");
    assert_true(resolve_local_domain("[192.0.2.7]"));
    assert_true(resolve_local_domain("[198.51.100.1]"));
    assert_false(resolve_local_domain("[127.0.0.1]"));
}

static void test_canonical(void **state)
{
    buf_t out = BUF_INIT;

    (void) state;
    load_with("");
    resolve_canonical(&out, "gaston");
    assert_string_equal(buf_str(&out), "gaston@mail.example.org");
    resolve_canonical(&out, "");
    assert_string_equal(buf_str(&out), "");
    resolve_canonical(&out, "gaston@");
    assert_string_equal(buf_str(&out), "gaston@mail.example.org");
    resolve_canonical(&out, "gaston@host");
    assert_string_equal(buf_str(&out), "gaston@host");   /* append_dot_mydomain=no */

    load_with("myorigin = son_domaine.net\nappend_dot_mydomain = yes\n");
    resolve_canonical(&out, "robert");
    assert_string_equal(buf_str(&out), "robert@son_domaine.net");
    resolve_canonical(&out, "robert@host");
    assert_string_equal(buf_str(&out), "robert@host.example.org");
    resolve_canonical(&out, "robert@[192.0.2.1]");
    assert_string_equal(buf_str(&out), "robert@[192.0.2.1]");
    resolve_canonical(&out, "a b@x.test");
    assert_string_equal(buf_str(&out), "a b@x.test");

    load_with("myorigin = son_domaine.net\nappend_at_myorigin = no\n");
    resolve_canonical(&out, "robert");
    assert_string_equal(buf_str(&out), "robert@example.org");
    buf_release(&out);
}

/* Debian's myorigin = /etc/mailname: the first line of the file. */
static void test_myorigin_file(void **state)
{
    buf_t out = BUF_INIT, cf = BUF_INIT, mailname = BUF_INIT;
    FILE *f;

    (void) state;
    buf_printf(&mailname, "%s/mailname", topdir);
    f = fopen(buf_str(&mailname), "w");
    assert_non_null(f);
    fputs("origin.example.com\nsecond.line\n", f);
    fclose(f);
    buf_printf(&cf, "myorigin = %s\n", buf_str(&mailname));
    load_with(buf_str(&cf));
    resolve_canonical(&out, "root");
    assert_string_equal(buf_str(&out), "root@origin.example.com");

    buf_reset(&cf);
    buf_printf(&cf, "myorigin = %s/missing\n", topdir);
    load_with(buf_str(&cf));
    resolve_canonical(&out, "root");
    assert_string_equal(buf_str(&out), "root@mail.example.org");
    buf_release(&out);
    buf_release(&cf);
    buf_release(&mailname);
}

static void assert_route(const char *addr, int class, const char *transport,
                         const char *nexthop)
{
    buf_t t = BUF_INIT, n = BUF_INIT;

    buf_puts(&t, "junk");
    buf_puts(&n, "junk");
    assert_int_equal(resolve_address(addr, &t, &n), class);
    assert_string_equal(buf_str(&t), transport);
    assert_string_equal(buf_str(&n), nexthop);
    buf_release(&t);
    buf_release(&n);
}

static void test_route_defaults(void **state)
{
    (void) state;
    load_with("");
    assert_route("root@mail.example.org", ADDR_CLASS_LOCAL, "local", "mail.example.org");
    assert_route("root", ADDR_CLASS_LOCAL, "local", "mail.example.org");
    assert_route("root@localhost", ADDR_CLASS_LOCAL, "local", "mail.example.org");
    assert_route("bob@Remote.Test", ADDR_CLASS_DEFAULT, "smtp", "remote.test");
}

static void test_route_relay_and_relayhost(void **state)
{
    (void) state;
    load_with("relay_domains = backup.test\n"
              "local_transport = mylocal\n");
    assert_route("a@backup.test", ADDR_CLASS_RELAY, "relay", "backup.test");
    assert_route("a@sub.backup.test", ADDR_CLASS_RELAY, "relay", "sub.backup.test");
    assert_route("a@other.test", ADDR_CLASS_DEFAULT, "smtp", "other.test");
    assert_route("root", ADDR_CLASS_LOCAL, "mylocal", "mail.example.org");

    load_with("relay_domains = backup.test\n"
              "relayhost = [smtp.isp.test]:587\n");
    assert_route("a@backup.test", ADDR_CLASS_RELAY, "relay", "[smtp.isp.test]:587");
    assert_route("a@other.test", ADDR_CLASS_DEFAULT, "smtp", "[smtp.isp.test]:587");

    load_with("relayhost = [smtp.isp.test]\n"
              "default_transport = smtp:[forced.test]:25\n"
              "relay_transport = error:relaying disabled\n"
              "relay_domains = backup.test\n");
    assert_route("a@other.test", ADDR_CLASS_DEFAULT, "smtp", "[forced.test]:25");
    assert_route("a@backup.test", ADDR_CLASS_RELAY, "error", "relaying disabled");
}

static void write_file(const char *name, const char *text, buf_t *path)
{
    FILE *f;

    buf_reset(path);
    buf_printf(path, "%s/%s", topdir, name);
    f = fopen(buf_str(path), "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The tutorial's table: a local domain sent away, a friend's domain. */
static void test_transport_maps_tutorial(void **state)
{
    buf_t path = BUF_INIT, cf = BUF_INIT;

    (void) state;
    write_file("transport", "mon_domaine.net           smtp:[11.22.33.44]\n"
               "domaine_ami.net           smtp:[mail.domain_local.org]\n", &path);
    buf_printf(&cf, "mydestination = mon_domaine.net, mon_second_domaine.net\n"
               "relay_domains = $mydestination domaine_ami.net\n"
               "relayhost = smtp.free.fr\n"
               "transport_maps = texthash:%s\n", buf_str(&path));
    load_with(buf_str(&cf));
    assert_route("gaston@mon_domaine.net", ADDR_CLASS_LOCAL, "smtp", "[11.22.33.44]");
    assert_route("Gaston@MON_DOMAINE.NET", ADDR_CLASS_LOCAL, "smtp", "[11.22.33.44]");
    assert_route("x@domaine_ami.net", ADDR_CLASS_RELAY, "smtp", "[mail.domain_local.org]");
    assert_route("x@mon_second_domaine.net", ADDR_CLASS_LOCAL, "local", "mail.example.org");
    /* Not in the table: relayhost as before; subdomains need ".domain"
     * (relay_domains, though, matches them). */
    assert_route("x@sub.mon_domaine.net", ADDR_CLASS_RELAY, "relay", "smtp.free.fr");
    assert_route("x@elsewhere.test", ADDR_CLASS_DEFAULT, "smtp", "smtp.free.fr");
    buf_release(&path);
    buf_release(&cf);
}

static void test_transport_maps_search_order(void **state)
{
    buf_t path = BUF_INIT, cf = BUF_INIT;

    (void) state;
    write_file("transport2",
               "user+ext@ex.test     smtp:[full.test]\n"
               "user@ex.test         smtp:[user.test]\n"
               "ex.test              relay:[domain.test]:2525\n"
               ".ex.test             smtp:[parent.test]\n"
               "keep.test            :\n"
               "onlyhop.test         :[gateway.test]\n"
               "slow.test            slow:\n"
               "err.test             error:mail for err.test is not accepted\n"
               "*                    smtp:[wild.test]\n", &path);
    buf_printf(&cf, "recipient_delimiter = +\nrelay_domains = keep.test\n"
               "transport_maps = texthash:%s\n", buf_str(&path));
    load_with(buf_str(&cf));
    assert_route("user+ext@ex.test", ADDR_CLASS_DEFAULT, "smtp", "[full.test]");
    assert_route("user+other@ex.test", ADDR_CLASS_DEFAULT, "smtp", "[user.test]");
    assert_route("user@ex.test", ADDR_CLASS_DEFAULT, "smtp", "[user.test]");
    assert_route("someone@ex.test", ADDR_CLASS_DEFAULT, "relay", "[domain.test]:2525");
    assert_route("a@deep.sub.ex.test", ADDR_CLASS_DEFAULT, "smtp", "[parent.test]");
    /* ":" changes nothing; an empty transport keeps the class's. */
    assert_route("a@keep.test", ADDR_CLASS_RELAY, "relay", "keep.test");
    assert_route("a@onlyhop.test", ADDR_CLASS_DEFAULT, "smtp", "[gateway.test]");
    /* A transport without nexthop goes to the recipient domain. */
    assert_route("a@Slow.Test", ADDR_CLASS_DEFAULT, "slow", "slow.test");
    assert_route("a@err.test", ADDR_CLASS_DEFAULT, "error", "mail for err.test is not accepted");
    assert_route("a@other.test", ADDR_CLASS_DEFAULT, "smtp", "[wild.test]");
    assert_route("root@mail.example.org", ADDR_CLASS_LOCAL, "smtp", "[wild.test]");

    /* parent_domain_matches_subdomains lists transport_maps: "ex.test"
     * matches its subdomains, ".ex.test" is not consulted. */
    buf_reset(&cf);
    buf_printf(&cf, "parent_domain_matches_subdomains = transport_maps\n"
               "transport_maps = texthash:%s\n", buf_str(&path));
    load_with(buf_str(&cf));
    assert_route("a@deep.sub.ex.test", ADDR_CLASS_DEFAULT, "relay", "[domain.test]:2525");
    /* No recipient_delimiter: "+ext" is part of the name. */
    assert_route("user+other@ex.test", ADDR_CLASS_DEFAULT, "relay", "[domain.test]:2525");
    buf_release(&path);
    buf_release(&cf);
}

static void test_transport_maps_errors(void **state)
{
    buf_t t = BUF_INIT, n = BUF_INIT;

    (void) state;
    load_with("transport_maps = fail:broken\n");
    assert_int_equal(resolve_address("a@x.test", &t, &n), -1);
    load_with("transport_maps = texthash:/nonexistent/transport\n");
    assert_int_equal(resolve_address("a@x.test", &t, &n), -1);
    load_with("transport_maps = inline:{ x.test=smtp:[inline.test] }\n");
    assert_int_equal(resolve_address("a@x.test", &t, &n), ADDR_CLASS_DEFAULT);
    assert_string_equal(buf_str(&n), "[inline.test]");
    buf_release(&t);
    buf_release(&n);
}

/* The loop guard's question: is this address one of ours? */
static void test_address_is_ours(void **state)
{
    unsigned char v4[4] = { 192, 0, 2, 7 }, lo[4] = { 127, 0, 0, 1 };

    (void) state;
    load_with("inet_interfaces = 192.0.2.7\n");
    assert_true(resolve_address_is_ours(AF_INET, v4));
    assert_false(resolve_address_is_ours(AF_INET, lo));
    load_with("inet_interfaces = loopback-only\n");
    assert_true(resolve_address_is_ours(AF_INET, lo));
    assert_false(resolve_address_is_ours(AF_INET, v4));
}

/* The cache holds until resolve_reset. */
static void test_cache_and_reset(void **state)
{
    buf_t path = BUF_INIT;
    FILE *f;

    (void) state;
    load_with("mydestination = one.test\n");
    assert_true(resolve_local_domain("one.test"));
    buf_printf(&path, "%s/main.cf", topdir);
    f = fopen(buf_str(&path), "w");
    assert_non_null(f);
    fprintf(f, "%smydestination = two.test\n", base_cf);
    fclose(f);
    config_load(topdir);
    assert_true(resolve_local_domain("one.test"));     /* still cached */
    resolve_reset();
    assert_false(resolve_local_domain("one.test"));
    assert_true(resolve_local_domain("two.test"));
    buf_release(&path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_mydestination),
        cmocka_unit_test(test_listed_mydestination),
        cmocka_unit_test(test_address_literals),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_myorigin_file),
        cmocka_unit_test(test_route_defaults),
        cmocka_unit_test(test_route_relay_and_relayhost),
        cmocka_unit_test(test_transport_maps_tutorial),
        cmocka_unit_test(test_transport_maps_search_order),
        cmocka_unit_test(test_transport_maps_errors),
        cmocka_unit_test(test_address_is_ours),
        cmocka_unit_test(test_cache_and_reset),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
