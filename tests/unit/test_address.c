/* Unit tests for lib/address: SMTP path parsing (golden and hostile
 * input), quoting, domain checks and header address lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "address.h"
#include "argv.h"
#include "buf.h"

/* One golden case: input, expected internal address and parameters. */
typedef struct path_case {
    const char *arg;
    const char *addr;
    const char *params;
} path_case_t;

static const path_case_t good_paths[] = {
    { "<user@dom>", "user@dom", "" },
    { "<>", "", "" },
    { " <>", "", "" },
    { "<> SIZE=100", "", "SIZE=100" },
    { "<user@dom> SIZE=1024 BODY=8BITMIME", "user@dom", "SIZE=1024 BODY=8BITMIME" },
    { "<user@dom>  \t NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@dom", "user@dom",
      "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@dom" },
    { "<@a,@b:user@dom>", "user@dom", "" },
    { "<@relay.example:user@dom>", "user@dom", "" },
    { "<\"a b\"@dom>", "a b@dom", "" },
    { "<\"a\\\"b\"@dom>", "a\"b@dom", "" },
    { "<\"a>b\"@dom>", "a>b@dom", "" },
    { " robert@son_domaine.net", "robert@son_domaine.net", "" },
    { "robert@son_domaine.net", "robert@son_domaine.net", "" },
    { "robert@son_domaine.net SIZE=10", "robert@son_domaine.net", "SIZE=10" },
    { "\"a b\"@dom", "a b@dom", "" },
    { "<postmaster>", "postmaster", "" },
    { "<root>", "root", "" },
    { "<user+ext@Dom.Example>", "user+ext@Dom.Example", "" },
    { "<user@[127.0.0.1]>", "user@[127.0.0.1]", "" },
    { "<user@[IPv6:::1]>", "user@[IPv6:::1]", "" },
    { "<o'brien.x@dom>", "o'brien.x@dom", "" },
    { "<user@dom> ", "user@dom", "" },
    { "<j\xc3\xa9r\xc3\xb4me@dom>", "j\xc3\xa9r\xc3\xb4me@dom", "" },
};

static const char *const bad_paths[] = {
    "",
    "   ",
    "<user@dom",
    "user@dom>",
    "<<user@dom>>",
    "<user@dom>>",
    "<user@dom>SIZE=1",
    "<us er@dom>",
    "<user@do main>",
    "john doe@dom",
    "john doe@dom SIZE=1",
    "<user@dom\r>",
    "<user@dom>\r\n",
    "<user\x01@dom>",
    "<user\x7f@dom>",
    "<\"abc@dom>",
    "\"abc@dom",
    "<user@>",
    "<@dom>",
    "<@a:>",
    "<@a,@b>",
    "<@:user@dom>",
    "<user@dom..com>",
    "<user@.dom>",
    "<user@dom.>",
    "<user@[1.2.3]>",
    "<user@[300.1.1.1]>",
    "<user@[IPv6:zz]>",
    "<a(b)@dom>",
    "<a,b@dom>",
    "<a;b@dom>",
    "<a\\b@dom>",
    "<\"a\"x@dom>",
    "<a@b@c>",
    "<@a,b:user@dom>",
};

static void test_path_golden(void **state)
{
    buf_t addr = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < sizeof(good_paths) / sizeof(good_paths[0]); i++) {
        const char *params = NULL, *why = NULL;
        int r = smtp_path_parse(good_paths[i].arg, &addr, &params, &why);

        if (r != 0)
            fail_msg("rejected \"%s\": %s", good_paths[i].arg, why);
        assert_string_equal(buf_str(&addr), good_paths[i].addr);
        assert_string_equal(params, good_paths[i].params);
    }
    buf_release(&addr);
}

static void test_path_rejects(void **state)
{
    buf_t addr = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
        const char *params = NULL, *why = NULL;

        if (smtp_path_parse(bad_paths[i], &addr, &params, &why) == 0)
            fail_msg("accepted \"%s\" as \"%s\"", bad_paths[i], buf_str(&addr));
        assert_non_null(why);
        assert_int_equal(addr.len, 0);      /* nothing half-parsed left behind */
    }
    buf_release(&addr);
}

/* A NUL in the middle of the line cuts the C string: what remains must
 * be judged on its own, never read past. */
static void test_path_embedded_nul(void **state)
{
    static const char line[] = "<user@dom\0> SIZE=1";
    static const char line2[] = "<a@b>\0<c@d>";
    buf_t addr = BUF_INIT;
    const char *params, *why;

    (void) state;
    assert_int_equal(smtp_path_parse(line, &addr, &params, &why), -1);
    assert_int_equal(smtp_path_parse(line2, &addr, &params, &why), 0);
    assert_string_equal(buf_str(&addr), "a@b");
    assert_string_equal(params, "");
    buf_release(&addr);
}

static char *repeated(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static void test_path_long(void **state)
{
    buf_t arg = BUF_INIT, addr = BUF_INIT;
    const char *params, *why;
    char *local = repeated('a', 900), *huge = repeated('x', 1000000);

    (void) state;
    buf_printf(&arg, "<%s@example.com>", local);
    assert_int_equal(smtp_path_parse(buf_str(&arg), &addr, &params, &why), 0);
    assert_int_equal(addr.len, 900 + 12);

    buf_reset(&arg);
    buf_printf(&arg, "<%s%s@example.com>", local, local);
    assert_int_equal(smtp_path_parse(buf_str(&arg), &addr, &params, &why), -1);

    buf_reset(&arg);
    buf_printf(&arg, "<%s", huge);          /* unterminated and huge */
    assert_int_equal(smtp_path_parse(buf_str(&arg), &addr, &params, &why), -1);

    buf_reset(&arg);
    buf_printf(&arg, "<\"%s", huge);
    assert_int_equal(smtp_path_parse(buf_str(&arg), &addr, &params, &why), -1);

    buf_reset(&arg);
    buf_printf(&arg, "<u@%s.com>", huge);   /* domain label too long */
    assert_int_equal(smtp_path_parse(buf_str(&arg), &addr, &params, &why), -1);

    buf_reset(&arg);                        /* deep route, still bounded */
    for (int i = 0; i < 10000; i++)
        buf_puts(&arg, i ? ",@r.example" : "<@r.example");
    buf_puts(&arg, ":u@d>");
    assert_int_equal(smtp_path_parse(buf_str(&arg), &addr, &params, &why), -1);
    free(local);
    free(huge);
    buf_release(&arg);
    buf_release(&addr);
}

/* Every byte value in every position: no crash, and control characters
 * are always refused. */
static void test_path_all_bytes(void **state)
{
    buf_t addr = BUF_INIT;
    const char *params, *why;
    char arg[16];

    (void) state;
    for (int c = 1; c < 256; c++) {
        for (int pos = 0; pos < 8; pos++) {
            memcpy(arg, "<ab@cd.e>", 10);
            arg[pos] = (char) c;
            int r = smtp_path_parse(arg, &addr, &params, &why);

            if ((c < 0x20 && c != '\t') || c == 0x7f)
                assert_int_equal(r, -1);
        }
    }
    buf_release(&addr);
}

static void test_quote(void **state)
{
    static const char *const cases[][2] = {
        { "user@dom", "user@dom" },
        { "a b@dom", "\"a b\"@dom" },
        { "a\"b@dom", "\"a\\\"b\"@dom" },
        { "a\\b@dom", "\"a\\\\b\"@dom" },
        { "a@b@dom", "\"a@b\"@dom" },
        { ".a@dom", "\".a\"@dom" },
        { "a..b@dom", "\"a..b\"@dom" },
        { "a.b@dom", "a.b@dom" },
        { "", "" },
        { "root", "root" },
        { "a b", "\"a b\"" },
        { "@dom", "\"\"@dom" },
        { "j\xc3\xa9@dom", "j\xc3\xa9@dom" },
    };
    buf_t out = BUF_INIT, back = BUF_INIT;

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_puts(&out, "garbage");          /* output is replaced, not appended */
        addr_quote(&out, cases[i][0]);
        assert_string_equal(buf_str(&out), cases[i][1]);
        addr_unquote(&back, buf_str(&out));
        assert_string_equal(buf_str(&back), cases[i][0]);
    }
    buf_release(&out);
    buf_release(&back);
}

static void test_quote_roundtrip_through_parser(void **state)
{
    static const char *const internals[] = {
        "a b@dom", "x\"y@dom", "back\\slash@dom", "a<b>@dom", "plain@dom",
    };
    buf_t quoted = BUF_INIT, line = BUF_INIT, addr = BUF_INIT;
    const char *params, *why;

    (void) state;
    for (size_t i = 0; i < sizeof(internals) / sizeof(internals[0]); i++) {
        addr_quote(&quoted, internals[i]);
        buf_reset(&line);
        buf_printf(&line, "<%s>", buf_str(&quoted));
        if (smtp_path_parse(buf_str(&line), &addr, &params, &why) != 0)
            fail_msg("%s: %s", buf_str(&line), why);
        assert_string_equal(buf_str(&addr), internals[i]);
    }
    buf_release(&quoted);
    buf_release(&line);
    buf_release(&addr);
}

static void test_split(void **state)
{
    buf_t lp = BUF_INIT, dom = BUF_INIT, base = BUF_INIT, ext = BUF_INIT;

    (void) state;
    assert_string_equal(addr_domain("a@b@c.d"), "c.d");
    assert_null(addr_domain("root"));
    assert_string_equal(addr_domain("x@"), "");
    addr_split("a b@dom", &lp, &dom);
    assert_string_equal(buf_str(&lp), "a b");
    assert_string_equal(buf_str(&dom), "dom");
    addr_split("root", &lp, &dom);
    assert_string_equal(buf_str(&lp), "root");
    assert_string_equal(buf_str(&dom), "");

    addr_split_extension("user+foo+bar", "+", &base, &ext);
    assert_string_equal(buf_str(&base), "user");
    assert_string_equal(buf_str(&ext), "foo+bar");
    addr_split_extension("user-foo", "+-", &base, &ext);
    assert_string_equal(buf_str(&base), "user");
    assert_string_equal(buf_str(&ext), "foo");
    addr_split_extension("user+foo", "", &base, &ext);
    assert_string_equal(buf_str(&base), "user+foo");
    assert_string_equal(buf_str(&ext), "");
    addr_split_extension("user+foo", NULL, &base, NULL);
    assert_string_equal(buf_str(&base), "user+foo");
    addr_split_extension("+foo", "+", &base, &ext);
    assert_string_equal(buf_str(&base), "+foo");
    addr_split_extension("user+", "+", &base, &ext);
    assert_string_equal(buf_str(&base), "user");
    assert_string_equal(buf_str(&ext), "");
    buf_release(&lp);
    buf_release(&dom);
    buf_release(&base);
    buf_release(&ext);
}

static void test_valid_domain(void **state)
{
    (void) state;
    assert_true(addr_valid_domain("example.com"));
    assert_true(addr_valid_domain("son_domaine.net"));
    assert_true(addr_valid_domain("localhost"));
    assert_true(addr_valid_domain("a-b.c-d"));
    assert_true(addr_valid_domain("[192.0.2.1]"));
    assert_true(addr_valid_domain("[IPv6:2001:db8::1]"));
    assert_true(addr_valid_domain("[ipv6:::1]"));
    assert_false(addr_valid_domain(""));
    assert_false(addr_valid_domain(NULL));
    assert_false(addr_valid_domain("a..b"));
    assert_false(addr_valid_domain(".a"));
    assert_false(addr_valid_domain("a."));
    assert_false(addr_valid_domain("a b"));
    assert_false(addr_valid_domain("a@b"));
    assert_false(addr_valid_domain("[192.0.2.1"));
    assert_false(addr_valid_domain("[2001:db8::1]"));
    assert_false(addr_valid_domain("[192.0.2.256]"));
    assert_false(addr_valid_domain("\xc3\xa9.fr"));
}

static void assert_addresses(const char *value, const char *const *expected, size_t n)
{
    argv_t *got = header_addresses_parse(value);

    if (got->argc != n) {
        for (size_t i = 0; i < got->argc; i++)
            print_message("  got[%zu] = \"%s\"\n", i, got->argv[i]);
        fail_msg("\"%s\": %zu addresses, expected %zu", value, got->argc, n);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got->argv[i], expected[i]);
    argv_free(got);
}

#define EXPECT(value, ...) do { \
        static const char *const exp_[] = { __VA_ARGS__ }; \
        assert_addresses(value, exp_, sizeof(exp_) / sizeof(exp_[0])); \
    } while (0)

static void test_header_addresses(void **state)
{
    (void) state;
    EXPECT("gaston@example.com", "gaston@example.com");
    EXPECT("Gaston Lagaffe <gaston@example.com>", "gaston@example.com");
    EXPECT("\"Lagaffe, Gaston\" <gaston@example.com>, prunelle@example.com",
           "gaston@example.com", "prunelle@example.com");
    EXPECT("gaston@example.com (Gaston (le) Lagaffe), b@x.y",
           "gaston@example.com", "b@x.y");
    EXPECT("friends: a@x.y, B <b@x.y>;, c@x.y", "a@x.y", "b@x.y", "c@x.y");
    EXPECT("<@route.example:a@x.y>", "a@x.y");
    EXPECT("\"a b\"@x.y", "a b@x.y");
    EXPECT("=?UTF-8?Q?J=C3=A9r=C3=B4me?= <j@x.y>", "j@x.y");
    EXPECT("a@x.y,\r\n\tb@x.y", "a@x.y", "b@x.y");
    EXPECT("user@[192.0.2.1]", "user@[192.0.2.1]");
    EXPECT("root", "root");
    EXPECT("Name <a@x.y> (comment), , ,c@x.y", "a@x.y", "c@x.y");
}

static void test_header_addresses_empty(void **state)
{
    static const char *const empty[] = {
        "", "   ", "undisclosed-recipients:;", "(just a comment)", ",,,", "<>",
        "(unterminated <a@b>", "group:;",
    };

    (void) state;
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        argv_t *got = header_addresses_parse(empty[i]);

        if (got->argc != 0)
            fail_msg("\"%s\" gave \"%s\"", empty[i], got->argv[0]);
        argv_free(got);
    }
}

static void test_header_addresses_hostile(void **state)
{
    buf_t v = BUF_INIT;
    argv_t *got;

    (void) state;
    for (int i = 0; i < 100000; i++)        /* far over the token limit */
        buf_puts(&v, "a@b, ");
    got = header_addresses_parse(buf_str(&v));
    assert_true(got->argc > 0);
    assert_true(got->argc <= 10240);
    argv_free(got);

    buf_reset(&v);
    for (int i = 0; i < 100000; i++)
        buf_putc(&v, '(');
    got = header_addresses_parse(buf_str(&v));
    assert_int_equal(got->argc, 0);
    argv_free(got);

    buf_reset(&v);
    for (int i = 0; i < 50000; i++)
        buf_puts(&v, "<<>>");
    got = header_addresses_parse(buf_str(&v));
    argv_free(got);
    buf_release(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_golden),
        cmocka_unit_test(test_path_rejects),
        cmocka_unit_test(test_path_embedded_nul),
        cmocka_unit_test(test_path_long),
        cmocka_unit_test(test_path_all_bytes),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_quote_roundtrip_through_parser),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_valid_domain),
        cmocka_unit_test(test_header_addresses),
        cmocka_unit_test(test_header_addresses_empty),
        cmocka_unit_test(test_header_addresses_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
