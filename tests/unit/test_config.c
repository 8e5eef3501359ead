/* Unit tests for lib/config.c and lib/params.c: main.cf syntax, expansion,
 * loops, typed values, compatibility defaults, the parameter table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "log.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";

/* ---- helpers ---- */

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Writes main.cf (always with compatibility_level = 3.6 unless the text
 * sets its own) and loads it. */
static void load_main_cf(const char *text)
{
    write_file("main.cf", text);
    config_load(tmpdir);
}

/* Runs fn in a child; returns its exit status and what it wrote to stderr. */
static int run_child(void (*fn)(const char *), const char *arg, char *err, size_t errlen)
{
    int fds[2];
    pid_t pid;
    size_t got = 0;
    ssize_t n;
    int status;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    while (got + 1 < errlen && (n = read(fds[0], err + got, errlen - 1 - got)) > 0)
        got += (size_t) n;
    err[got] = 0;
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Captures stderr of in-process code into a file. */
static int saved_stderr = -1;
static char capture_path[600];

static void capture_begin(void)
{
    int fd;

    snprintf(capture_path, sizeof(capture_path), "%s/stderr.txt", tmpdir);
    fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(void)
{
    buf_t b = BUF_INIT;
    char chunk[1024];
    ssize_t n;
    int fd;

    dup2(saved_stderr, 2);
    close(saved_stderr);
    fd = open(capture_path, O_RDONLY);
    assert_true(fd >= 0);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        buf_append(&b, chunk, (size_t) n);
    close(fd);
    return buf_steal(&b);
}

/* ---- the table ---- */

static void test_table_sorted_and_found(void **state)
{
    (void) state;
    size_t n = 0;

    for (; param_table[n].name; n++)
        if (n > 0 && strcmp(param_table[n - 1].name, param_table[n].name) >= 0)
            fail_msg("table not sorted at %s", param_table[n].name);
    assert_true(n > 300);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(param_find(param_table[i].name), &param_table[i]);
    assert_null(param_find("no_such_parameter"));
    assert_null(param_find(""));
    assert_string_equal(param_find("smtpd_banner")->def, "$myhostname ESMTP $mail_name");
    assert_string_equal(param_find("maximal_queue_lifetime")->def, "5d");
    assert_int_equal(param_find("maximal_queue_lifetime")->time_unit, 'd');
    assert_int_equal(param_find("delay_warning_time")->time_unit, 'h');
    assert_string_equal(param_find("relay_domains")->def, "");
    assert_non_null(param_find("myhostname")->compute);
}

/* Every default is valid for its type (a bad default would be fatal). */
static void test_defaults_valid(void **state)
{
    (void) state;
    load_main_cf("compatibility_level = 3.6\n");
    for (size_t i = 0; param_table[i].name; i++) {
        const param_def_t *p = &param_table[i];

        assert_non_null(config_raw(p->name));
        switch (p->type) {
        case PARAM_INT:
            (void) config_int(p->name);
            break;
        case PARAM_SIZE:
            assert_true(config_size(p->name) >= 0);
            break;
        case PARAM_BOOL:
            (void) config_bool(p->name);
            break;
        case PARAM_TIME:
            assert_true(p->time_unit != 0);
            assert_true(config_time(p->name) >= 0);
            break;
        default:
            assert_non_null(config_str(p->name));
        }
    }
    assert_int_equal(config_time("smtpd_timeout"), 300);
    assert_int_equal(config_int("smtpd_hard_error_limit"), 20);
    assert_int_equal(config_time("maximal_queue_lifetime"), 5 * 86400);
    assert_int_equal(config_size("message_size_limit"), 10240000);
    assert_string_equal(config_str("syslog_name"), "postfix");
    assert_string_equal(config_str("smtpd_forbid_bare_newline"), "normalize");
}

/* ---- syntax ---- */

static void test_parse_basics(void **state)
{
    (void) state;
    load_main_cf("# a comment\n"
                 "   # an indented comment\n"
                 "\n"
                 "compatibility_level = 3.6\n"
                 "myhostname=mx.example.org\n"
                 "mydomain    =    example.org   \n"
                 "mail_name = Post # not a comment\n"
                 "relayhost =\n"
                 "smtpd_recipient_restrictions =\n"
                 "    permit_mynetworks,\n"
                 "# a comment inside the continuation\n"
                 "\n"
                 "\treject_unauth_destination\n"
                 "unknown_thing = 42\r\n");
    assert_string_equal(config_raw("myhostname"), "mx.example.org");
    assert_string_equal(config_raw("mydomain"), "example.org");
    assert_string_equal(config_raw("mail_name"), "Post # not a comment");
    assert_string_equal(config_raw("relayhost"), "");
    assert_true(config_is_set("relayhost"));
    assert_false(config_is_set("relay_domains"));
    assert_string_equal(config_raw("smtpd_recipient_restrictions"),
                        "permit_mynetworks, reject_unauth_destination");
    assert_string_equal(config_get("unknown_thing"), "42");
    assert_null(config_get("never_heard_of_it"));
    assert_null(config_raw("never_heard_of_it"));
}

static void test_repeat_last_wins(void **state)
{
    (void) state;
    char *err;

    capture_begin();
    load_main_cf("compatibility_level = 3.6\n"
                 "mail_name = first\n"
                 "mail_name = second\n");
    err = capture_end();
    assert_string_equal(config_str("mail_name"), "second");
    assert_non_null(strstr(err, "main.cf, line 3: overriding earlier entry: mail_name=second"));
    free(err);
}

static void load_dir(const char *dir)
{
    config_load(dir);
}

static void test_missing_equal_is_fatal(void **state)
{
    (void) state;
    char err[2048];

    write_file("main.cf", "compatibility_level = 3.6\nthis line has no equal sign\n");
    assert_int_equal(run_child(load_dir, tmpdir, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "main.cf, line 2: missing '=' after parameter name"));

    assert_int_equal(run_child(load_dir, "/nonexistent/dir", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "fatal: open /nonexistent/dir/main.cf: No such file or directory"));
}

static void test_leading_continuation_warns(void **state)
{
    (void) state;
    char *err;

    capture_begin();
    load_main_cf("   orphan continuation\ncompatibility_level = 3.6\n");
    err = capture_end();
    assert_non_null(strstr(err, "main.cf, line 1: ignoring a continuation line"));
    assert_string_equal(config_str("compatibility_level"), "3.6");
    free(err);
}

/* ---- expansion ---- */

static void test_expansion_forms(void **state)
{
    (void) state;
    load_main_cf("compatibility_level = 3.6\n"
                 "myhostname = mx.example.org\n"
                 "a = [$myhostname] [${myhostname}] [$(myhostname)]\n"
                 "empty =\n"
                 "full = yes\n"
                 "q1 = ${full?on} ${empty?on} end\n"
                 "q2 = ${full:off} ${empty:off} end\n"
                 "q3 = ${full?{T}:{F}} ${empty?{T}:{F}}\n"
                 "q4 = ${full?{braced}} ${empty:{alt}}\n"
                 "q5 = ${full?x:y}\n"
                 "dollar = cost $$5 and $$name and a lone $ sign\n"
                 "undef = <$no_such_thing_here>\n"
                 "later = $defined_after\n"
                 "defined_after = $chain1\n"
                 "chain1 = ${chain2}!\n"
                 "chain2 = end\n"
                 "name_then_text = $full.suffix $full-dash\n");
    assert_string_equal(config_str("a"), "[mx.example.org] [mx.example.org] [mx.example.org]");
    assert_string_equal(config_str("q1"), "on  end");
    assert_string_equal(config_str("q2"), " off end");
    assert_string_equal(config_str("q3"), "T F");
    assert_string_equal(config_str("q4"), "braced alt");
    assert_string_equal(config_str("q5"), "x:y");
    assert_string_equal(config_str("dollar"), "cost $5 and $name and a lone $ sign");
    assert_string_equal(config_str("undef"), "<>");
    assert_string_equal(config_str("later"), "end!");
    assert_string_equal(config_str("name_then_text"), "yes.suffix yes-dash");
    /* The raw form stays as written. */
    assert_string_equal(config_raw("later"), "$defined_after");
    assert_string_equal(config_str("smtpd_banner"), "mx.example.org ESMTP Postfix");
    /* Values expanded per message by their users stay as written. */
    assert_string_equal(config_str("forward_path"),
                        "$home/.forward${recipient_delimiter}${extension}, $home/.forward");
    /* Arbitrary text. */
    char *t = config_expand("<$myhostname|${empty:none}>");

    assert_string_equal(t, "<mx.example.org|none>");
    free(t);
}

static void test_relational_expressions(void **state)
{
    (void) state;
    load_main_cf("compatibility_level = 3.6\n"
                 "r1 = ${{$compatibility_level} <level {2} ? {old} : {new}}\n"
                 "r2 = ${{$compatibility_level} <level {3.10} ? {old} : {new}}\n"
                 "r3 = ${{10} > {9} ? {numeric} : {text}}\n"
                 "r4 = ${{abc} == {abc} ? {same}}\n"
                 "r5 = ${{a} != {a} ? {differ}}x\n"
                 "r6 = ${{3.6} >=level {3.6} ? {yes} : {no}}\n");
    assert_string_equal(config_str("r1"), "new");
    assert_string_equal(config_str("r2"), "old");
    assert_string_equal(config_str("r3"), "numeric");
    assert_string_equal(config_str("r4"), "same");
    assert_string_equal(config_str("r5"), "x");
    assert_string_equal(config_str("r6"), "yes");
}

static void get_value(const char *name)
{
    (void) config_get(name);
}

static void test_loops_are_fatal(void **state)
{
    (void) state;
    char err[2048];

    load_main_cf("compatibility_level = 3.6\n"
                 "a = x $b\n"
                 "b = ${c?{$a}}\n"
                 "c = 1\n"
                 "self = $self\n"
                 "broken = ${myhostname\n"
                 "badrel = ${{a} <> {b} ? {x}}\n");
    assert_int_equal(run_child(get_value, "a", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "recursive expansion"));
    assert_int_equal(run_child(get_value, "self", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "parameter self: recursive expansion"));
    assert_int_equal(run_child(get_value, "broken", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "missing '}'"));
    assert_int_equal(run_child(get_value, "badrel", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "unknown operator"));
    /* The same names are fine when there is no loop. */
    assert_string_equal(config_str("c"), "1");
}

/* Found while fuzzing: each parameter reference started the nesting count
 * again, so a long chain (p0 = $p1, p1 = $p2...) could exhaust the stack.
 * As in Postfix, the count runs through references: over 100 is fatal. */
static void test_long_reference_chain(void **state)
{
    (void) state;
    buf_t text = BUF_INIT;
    char err[2048];

    buf_puts(&text, "compatibility_level = 3.6\n");
    for (int i = 0; i < 150; i++)
        buf_printf(&text, "p%d = $p%d\n", i, i + 1);
    buf_puts(&text, "p150 = end\n");
    for (int i = 0; i < 60; i++)
        buf_printf(&text, "q%d = ${q%d}\n", i, i + 1);
    buf_puts(&text, "q60 = end\n");
    load_main_cf(buf_str(&text));
    assert_string_equal(config_str("q0"), "end");
    assert_int_equal(run_child(get_value, "p0", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "unreasonable nesting"));
    buf_release(&text);
}

/* config_reset (for tests and fuzzers) forgets everything; loading works
 * again afterwards. */
static void test_reset(void **state)
{
    (void) state;
    load_main_cf("compatibility_level = 3.6\nfuzz_only = $mail_name\n");
    assert_string_equal(config_str("fuzz_only"), "Postfix");
    config_override("mail_name", "X");
    assert_string_equal(config_str("fuzz_only"), "X");
    config_reset();
    assert_false(config_is_set("fuzz_only"));
    assert_null(config_get("fuzz_only"));
    assert_string_equal(config_str("mail_name"), "Postfix");
    load_main_cf("compatibility_level = 3.6\nfuzz_only = again\n");
    assert_string_equal(config_str("fuzz_only"), "again");
}

/* ---- typed values ---- */

static void get_time(const char *name)
{
    (void) config_time(name);
}

static void get_bool(const char *name)
{
    (void) config_bool(name);
}

static void get_int(const char *name)
{
    (void) config_int(name);
}

static void test_time_values(void **state)
{
    (void) state;
    char err[2048];
    long s;

    load_main_cf("compatibility_level = 3.6\n"
                 "smtpd_timeout = 60\n"
                 "max_idle = 5m\n"
                 "queue_run_delay = 2h\n"
                 "maximal_queue_lifetime = 3\n"
                 "bounce_queue_lifetime = 1w\n"
                 "delay_warning_time = 4\n"
                 "ipc_timeout = 10x\n"
                 "daemon_timeout = 1d\n"
                 "my_own_time = 7\n");
    assert_int_equal(config_time("smtpd_timeout"), 60);
    assert_int_equal(config_time("max_idle"), 300);
    assert_int_equal(config_time("queue_run_delay"), 7200);
    assert_int_equal(config_time("maximal_queue_lifetime"), 3 * 86400);
    assert_int_equal(config_time("bounce_queue_lifetime"), 7 * 86400);
    assert_int_equal(config_time("delay_warning_time"), 4 * 3600);
    assert_int_equal(config_time("daemon_timeout"), 86400);
    assert_int_equal(config_time("my_own_time"), 7);
    assert_int_equal(run_child(get_time, "ipc_timeout", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "bad numerical configuration: ipc_timeout = 10x"));

    assert_int_equal(config_parse_time("15", 'm', &s), 0);
    assert_int_equal(s, 900);
    assert_int_equal(config_parse_time("0", 's', &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(config_parse_time("", 's', &s), -1);
    assert_int_equal(config_parse_time("s", 's', &s), -1);
    assert_int_equal(config_parse_time("10ss", 's', &s), -1);
    assert_int_equal(config_parse_time("-5", 's', &s), -1);
    assert_int_equal(config_parse_time(" 5", 's', &s), -1);
    assert_int_equal(config_parse_time("5y", 's', &s), -1);
    assert_int_equal(config_parse_time("99999999999999999999", 's', &s), -1);
    assert_int_equal(config_parse_time("9223372036854775807w", 's', &s), -1);
}

static void test_int_bool_size(void **state)
{
    (void) state;
    char err[2048];
    int b;

    load_main_cf("compatibility_level = 3.6\n"
                 "biff = No\n"
                 "soft_bounce = yes\n"
                 "smtpd_helo_required = maybe\n"
                 "message_size_limit = 104857600\n"
                 "hopcount_limit = 12abc\n"
                 "smtpd_recipient_limit = ${limit_base}0\n"
                 "limit_base = 50\n");
    assert_int_equal(config_bool("biff"), 0);
    assert_int_equal(config_bool("soft_bounce"), 1);
    assert_int_equal(config_size("message_size_limit"), 104857600);
    assert_int_equal(config_int("smtpd_recipient_limit"), 500);
    assert_int_equal(run_child(get_bool, "smtpd_helo_required", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "bad boolean configuration: smtpd_helo_required = maybe"));
    assert_int_equal(run_child(get_int, "hopcount_limit", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "bad numerical configuration: hopcount_limit = 12abc"));
    assert_int_equal(run_child(get_int, "no_such_parameter_at_all", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "no_such_parameter_at_all: unknown parameter"));
    assert_int_equal(config_parse_bool("YES", &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(config_parse_bool("true", &b), -1);
}

/* Bounds shared by several programs are checked by the getters. */
static void test_lower_bounds(void **state)
{
    (void) state;
    char err[2048];

    load_main_cf("line_length_limit = 512\n"
                 "ipc_timeout = 1\n"
                 "virtual_alias_recursion_limit = 1\n");
    assert_int_equal(config_int("line_length_limit"), 512);
    assert_int_equal(config_time("ipc_timeout"), 1);
    assert_int_equal(config_int("virtual_alias_recursion_limit"), 1);

    load_main_cf("line_length_limit = 100\n"
                 "ipc_timeout = 0s\n"
                 "virtual_alias_expansion_limit = 0\n"
                 "hopcount_limit = 0\n");
    assert_int_equal(run_child(get_int, "line_length_limit", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "invalid line_length_limit parameter value 100 < 512"));
    assert_int_equal(run_child(get_time, "ipc_timeout", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "invalid ipc_timeout parameter value 0 < 1"));
    assert_int_equal(run_child(get_int, "virtual_alias_expansion_limit", err, sizeof(err)), 1);
    assert_non_null(strstr(err, "invalid virtual_alias_expansion_limit parameter value 0 < 1"));
    /* Bounds that only one program needs stay with that program. */
    assert_int_equal(config_int("hopcount_limit"), 0);
}

static void test_lists(void **state)
{
    (void) state;
    argv_t *a;

    load_main_cf("compatibility_level = 3.6\n"
                 "myhostname = mx.example.org\n"
                 "mydestination = $myhostname,localhost  example.org,\n"
                 "   { spaced value } , last\n");
    a = config_list("mydestination");
    assert_int_equal(a->argc, 5);
    assert_string_equal(a->argv[0], "mx.example.org");
    assert_string_equal(a->argv[1], "localhost");
    assert_string_equal(a->argv[2], "example.org");
    assert_string_equal(a->argv[3], "spaced value");
    assert_string_equal(a->argv[4], "last");
    argv_free(a);
    a = config_list("relay_domains");
    assert_int_equal(a->argc, 0);
    argv_free(a);
}

/* ---- defaults that depend on other things ---- */

static void test_myorigin_from_file(void **state)
{
    (void) state;
    char text[1024];
    char *err;

    write_file("mailname", "mail.example.net\nsecond line\n");
    snprintf(text, sizeof(text),
             "compatibility_level = 3.6\n"
             "myhostname = mx.example.org\n"
             "myorigin = %s/mailname\n"
             "origin_user = postmaster@$myorigin\n", tmpdir);
    load_main_cf(text);
    assert_string_equal(config_str("myorigin"), "mail.example.net");
    assert_string_equal(config_str("origin_user"), "postmaster@mail.example.net");
    assert_int_equal(config_raw("myorigin")[0], '/');

    /* An unreadable file: a warning, and $myhostname. */
    capture_begin();
    load_main_cf("compatibility_level = 3.6\n"
                 "myhostname = mx.example.org\n"
                 "myorigin = /nonexistent/mailname\n");
    assert_string_equal(config_str("myorigin"), "mx.example.org");
    err = capture_end();
    assert_non_null(strstr(err, "warning: myorigin: cannot read a name from /nonexistent/mailname"));
    free(err);

    load_main_cf("compatibility_level = 3.6\nmyhostname = mx.example.org\n");
    assert_string_equal(config_str("myorigin"), "mx.example.org");
}

/* Found while fuzzing: a FIFO (or a terminal) as myorigin's file blocked
 * the first expansion of $myorigin for ever. Only a regular file is read. */
static void origin_from_fifo(const char *dir)
{
    alarm(10);                              /* the old code blocked here */
    config_load(dir);
    _exit(strcmp(config_str("myorigin"), "mx.example.org") == 0 ? 0 : 2);
}

static void test_myorigin_not_regular_file(void **state)
{
    (void) state;
    char text[1024], path[700], err[2048];

    snprintf(path, sizeof(path), "%s/mailname.fifo", tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(text, sizeof(text),
             "compatibility_level = 3.6\n"
             "myhostname = mx.example.org\n"
             "myorigin = %s\n", path);
    write_file("main.cf", text);
    assert_int_equal(run_child(origin_from_fifo, tmpdir, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "mailname.fifo: not a regular file; using $myhostname"));
    unlink(path);
}

static void test_computed_hostname_domain(void **state)
{
    (void) state;
    const char *h;

    load_main_cf("compatibility_level = 3.6\n");
    h = config_str("myhostname");
    assert_non_null(strchr(h, '.'));
    assert_string_equal(config_str("mydomain"),
                        strchr(strchr(h, '.') + 1, '.') ? strchr(h, '.') + 1 : "localdomain");

    load_main_cf("compatibility_level = 3.6\nmyhostname = a.b.example.com\n");
    assert_string_equal(config_str("mydomain"), "b.example.com");
    assert_string_equal(config_str("mydestination"),
                        "a.b.example.com, localhost.b.example.com, localhost");
    load_main_cf("compatibility_level = 3.6\nmyhostname = host.lan\n");
    assert_string_equal(config_str("mydomain"), "localdomain");
    assert_string_equal(config_str("local_transport"), "local:host.lan");
}

static void test_computed_mynetworks(void **state)
{
    (void) state;
    load_main_cf("compatibility_level = 3.6\ninet_protocols = ipv4\n");
    assert_string_equal(config_raw("mynetworks_style"), "host");
    assert_non_null(strstr(config_str("mynetworks"), "127.0.0.1/32"));
    assert_null(strchr(config_str("mynetworks"), '['));

    load_main_cf("compatibility_level = 3.6\ninet_protocols = ipv4\nmynetworks_style = subnet\n");
    assert_non_null(strstr(config_str("mynetworks"), "127.0.0.0/8"));

    load_main_cf("compatibility_level = 3.6\ninet_protocols = ipv4\n"
                 "inet_interfaces = loopback-only\nmynetworks_style = class\n");
    assert_string_equal(config_str("mynetworks"), "127.0.0.0/8");

    /* An explicit value wins, and $mynetworks references follow it. */
    load_main_cf("compatibility_level = 3.6\nmynetworks = 10.0.0.0/8\n");
    assert_string_equal(config_str("smtpd_forbid_bare_newline_exclusions"), "10.0.0.0/8");
}

static void test_compatibility_level(void **state)
{
    (void) state;
    load_main_cf("myhostname = mx.example.org\n");
    assert_string_equal(config_str("compatibility_level"), "0");
    assert_string_equal(config_raw("relay_domains"), "$mydestination");
    assert_string_equal(config_raw("mynetworks_style"), "subnet");
    assert_int_equal(config_bool("smtputf8_enable"), 0);
    assert_int_equal(config_bool("append_dot_mydomain"), 1);
    assert_string_equal(config_str("smtpd_relay_restrictions"),
                        "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination");

    load_main_cf("compatibility_level = 2\nmyhostname = mx.example.org\n");
    assert_string_equal(config_raw("relay_domains"), "");
    assert_int_equal(config_bool("smtputf8_enable"), 1);
    assert_string_equal(config_raw("smtpd_tls_fingerprint_digest"), "md5");

    load_main_cf("compatibility_level = 3.6\n");
    assert_string_equal(config_raw("smtpd_tls_fingerprint_digest"), "sha256");
    assert_int_equal(config_bool("append_dot_mydomain"), 0);

    /* An explicit setting beats the legacy default. */
    load_main_cf("relay_domains = example.org\n");
    assert_string_equal(config_str("relay_domains"), "example.org");
}

/* ---- overrides, services, walking ---- */

static void test_override_and_service(void **state)
{
    (void) state;
    load_main_cf("compatibility_level = 3.6\n"
                 "myhostname = mx.example.org\n"
                 "syslog_name = postfix/$service_name\n");
    assert_string_equal(config_str("smtpd_banner"), "mx.example.org ESMTP Postfix");
    config_override("myhostname", "other.example.org");
    assert_string_equal(config_str("smtpd_banner"), "other.example.org ESMTP Postfix");
    assert_true(config_is_set("myhostname"));
    config_override("new_one", "$myhostname");
    assert_string_equal(config_str("new_one"), "other.example.org");
    config_set_service("submission", "smtpd");
    assert_string_equal(config_str("syslog_name"), "postfix/submission");
    assert_string_equal(config_str("process_name"), "smtpd");
    assert_false(config_is_set("service_name"));
}

static void collect(const char *name, const char *raw, void *ctx)
{
    buf_printf((buf_t *) ctx, "%s=%s;", name, raw);
}

static void test_walk_set(void **state)
{
    (void) state;
    buf_t b = BUF_INIT;
    char expect[1024];

    load_main_cf("zeta = 1\ncompatibility_level = 3.6\nalpha = $zeta\nmail_name = X\n");
    config_walk_set(collect, &b);
    snprintf(expect, sizeof(expect),
             "alpha=$zeta;compatibility_level=3.6;config_directory=%s;mail_name=X;zeta=1;",
             tmpdir);
    assert_string_equal(buf_str(&b), expect);
    assert_string_equal(config_dir(), tmpdir);
    assert_string_equal(config_str("config_directory"), tmpdir);
    buf_release(&b);
}

static int setup(void **state)
{
    (void) state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[600];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted_and_found),
        cmocka_unit_test(test_defaults_valid),
        cmocka_unit_test(test_parse_basics),
        cmocka_unit_test(test_repeat_last_wins),
        cmocka_unit_test(test_missing_equal_is_fatal),
        cmocka_unit_test(test_leading_continuation_warns),
        cmocka_unit_test(test_expansion_forms),
        cmocka_unit_test(test_relational_expressions),
        cmocka_unit_test(test_loops_are_fatal),
        cmocka_unit_test(test_long_reference_chain),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_time_values),
        cmocka_unit_test(test_int_bool_size),
        cmocka_unit_test(test_lower_bounds),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_myorigin_from_file),
        cmocka_unit_test(test_myorigin_not_regular_file),
        cmocka_unit_test(test_computed_hostname_domain),
        cmocka_unit_test(test_computed_mynetworks),
        cmocka_unit_test(test_compatibility_level),
        cmocka_unit_test(test_override_and_service),
        cmocka_unit_test(test_walk_set),
    };

    log_init("test_config", LOG_FLAG_STDERR);
    return cmocka_run_group_tests(tests, setup, teardown);
}
