/* Unit tests for lib/table*: every table type, the database writer (build
 * aside and rename, duplicates, permissions, Berkeley DB detection), lists
 * of tables, Postfix's search orders, and hostile source files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "table.h"
#include "table_build.h"

static char topdir[] = "/tmp/test_table.XXXXXX";

/* ---------------------------------------------------------------- */
/* Helpers                                                           */
/* ---------------------------------------------------------------- */

static char *path_of(const char *name)
{
    buf_t p = BUF_INIT;

    buf_printf(&p, "%s/%s", topdir, name);
    return buf_steal(&p);
}

static void write_file(const char *name, const char *text)
{
    char *path = path_of(name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(path);
}

static void load_main_cf(const char *text)
{
    write_file("main.cf", text);
    config_load(topdir);
}

/* Runs fn with stderr captured; returns what was written (caller frees). */
static int saved_stderr = -1;
static char *captured_path;

static void capture_start(void)
{
    int fd;

    captured_path = path_of("stderr.txt");
    fd = open(captured_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(void)
{
    FILE *f;
    buf_t text = BUF_INIT;
    char chunk[4096];
    size_t n;

    dup2(saved_stderr, 2);
    close(saved_stderr);
    f = fopen(captured_path, "r");
    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&text, chunk, n);
    fclose(f);
    free(captured_path);
    buf_puts(&text, "");
    return buf_steal(&text);
}

/* Looks key up in spec; returns the value (static storage) or NULL. */
static const char *lookup(const char *spec, int flags, const char *key)
{
    static buf_t value = BUF_INIT;
    buf_t err = BUF_INIT;
    table_t *t = table_open(spec, flags, &err);
    int r;

    if (t == NULL)
        fail_msg("open %s: %s", spec, buf_str(&err));
    r = table_get(t, key, &value);
    table_close(t);
    buf_release(&err);
    assert_true(r != TABLE_ERROR);
    return r == TABLE_FOUND ? buf_str(&value) : NULL;
}

static void build(const char *spec, int flags)
{
    buf_t err = BUF_INIT;

    if (table_build(spec, "hash", flags, table_parse_kv, &err) < 0)
        fail_msg("build %s: %s", spec, buf_str(&err));
    buf_release(&err);
}

static char *spec_of(const char *type, const char *name)
{
    buf_t s = BUF_INIT;

    buf_printf(&s, "%s:%s/%s", type, topdir, name);
    return buf_steal(&s);
}

static int setup(void **state)
{
    (void) state;
    log_init("test_table", LOG_FLAG_STDERR);
    if (mkdtemp(topdir) == NULL)
        return -1;
    load_main_cf("recipient_delimiter = +\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- */
/* Databases                                                         */
/* ---------------------------------------------------------------- */

static void test_hash_build_and_lookup(void **state)
{
    char *spec = spec_of("hash", "spam");
    char *db = path_of("spam.db");
    struct stat st;

    (void) state;
    write_file("spam", "# comment\n"
               "vielle_adresse@mon_domaine.net      REJECT\n"
               "Mixed@Case.Example   OK  \n"
               "\"quoted key\"   value with  spaces\n"
               "cont   first\n"
               "  second\n");
    build(spec, 0);
    assert_int_equal(stat(db, &st), 0);
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "vielle_adresse@mon_domaine.net"), "REJECT");
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "VIELLE_ADRESSE@mon_domaine.net"), "REJECT");
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "mixed@case.example"), "OK");
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "quoted key"), "value with  spaces");
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "cont"), "first  second");
    assert_null(lookup(spec, TABLE_FLAG_FOLD, "nobody@mon_domaine.net"));
    assert_null(lookup(spec, TABLE_FLAG_FOLD, ""));
    /* A key too long for LMDB (a hostile RCPT) is just not there. */
    {
        char longkey[3000];

        memset(longkey, 'a', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = 0;
        assert_null(lookup(spec, TABLE_FLAG_FOLD, longkey));
    }
    /* Stored folded: without folding the mixed-case key is not there. */
    assert_null(lookup(spec, 0, "Mixed@Case.Example"));
    /* btree: is the same file. */
    {
        char *bt = spec_of("btree", "spam");

        assert_string_equal(lookup(bt, TABLE_FLAG_FOLD, "vielle_adresse@mon_domaine.net"), "REJECT");
        free(bt);
    }
    free(spec);
    free(db);
}

static void test_lmdb_suffix_nofold_and_nul(void **state)
{
    char *spec = spec_of("lmdb", "exact");
    char *db = path_of("exact.lmdb");
    char *lock = path_of("exact.lmdb-lock");
    buf_t err = BUF_INIT;

    (void) state;
    write_file("exact", "Key1 v1\nkey2 v2\n");
    build(spec, TABLE_BUILD_NOFOLD | TABLE_BUILD_NUL);
    assert_int_equal(access(db, F_OK), 0);
    assert_int_equal(access(lock, F_OK), -1);          /* no lock file beside it */
    assert_string_equal(lookup(spec, 0, "Key1"), "v1");   /* stored with NUL: found */
    assert_null(lookup(spec, 0, "key1"));
    assert_null(lookup(spec, TABLE_FLAG_FOLD, "Key1"));
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "KEY2"), "v2");
    buf_release(&err);
    free(spec);
    free(db);
    free(lock);
}

static void test_missing_database(void **state)
{
    buf_t err = BUF_INIT;
    char *spec = spec_of("hash", "absent");
    buf_t want = BUF_INIT;

    (void) state;
    assert_null(table_open(spec, TABLE_FLAG_FOLD, &err));
    buf_printf(&want, "open database %s/absent.db: No such file or directory", topdir);
    assert_string_equal(buf_str(&err), buf_str(&want));
    buf_release(&err);
    buf_release(&want);
    free(spec);
}

static void test_berkeley_db_detected(void **state)
{
    static const unsigned char hash_le[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                               0x61, 0x15, 0x06, 0x00 };
    static const unsigned char btree_be[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                0x00, 0x05, 0x31, 0x62 };
    const unsigned char *samples[2] = { hash_le, btree_be };
    char *db = path_of("old.db");
    char *spec = spec_of("hash", "old");
    buf_t err = BUF_INIT, want = BUF_INIT;

    (void) state;
    buf_printf(&want, "%s is a Berkeley DB file left by Postfix: rebuild it with postmap %s",
               db, spec);
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(db, "w");
        char pad[4096] = { 0 };

        assert_non_null(f);
        fwrite(samples[i], 1, 16, f);
        fwrite(pad, 1, sizeof(pad), f);
        fclose(f);
        assert_null(table_open(spec, TABLE_FLAG_FOLD, &err));
        assert_string_equal(buf_str(&err), buf_str(&want));
    }
    /* Not an LMDB file either: a clear error. */
    write_file("old.db", "this is no database at all, just some text......\n");
    assert_null(table_open(spec, TABLE_FLAG_FOLD, &err));
    assert_non_null(strstr(buf_str(&err), "not a database built by postmap"));
    write_file("old.db", "");
    assert_null(table_open(spec, TABLE_FLAG_FOLD, &err));
    assert_non_null(strstr(buf_str(&err), "empty file"));
    /* postmap rebuilds over it. */
    write_file("old", "a b\n");
    build(spec, 0);
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "a"), "b");
    buf_release(&err);
    buf_release(&want);
    free(db);
    free(spec);
}

static void test_source_newer_warning(void **state)
{
    char *spec = spec_of("hash", "aging");
    char *src = path_of("aging");
    struct timeval later[2];
    char *out;
    buf_t want = BUF_INIT;

    (void) state;
    write_file("aging", "k v\n");
    build(spec, 0);
    gettimeofday(&later[0], NULL);
    later[0].tv_sec += 10;
    later[1] = later[0];
    assert_int_equal(utimes(src, later), 0);
    capture_start();
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "k"), "v");
    out = capture_end();
    buf_printf(&want, "database %s/aging.db is older than source file %s", topdir, src);
    assert_non_null(strstr(out, buf_str(&want)));
    free(out);
    /* Edited now and rebuilt: no warning. */
    write_file("aging", "k v\n");
    build(spec, 0);
    capture_start();
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "k"), "v");
    out = capture_end();
    assert_null(strstr(out, "older than"));
    free(out);
    buf_release(&want);
    free(spec);
    free(src);
}

static int count_files_with_prefix(const char *prefix)
{
    DIR *d = opendir(topdir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_reopen_after_rebuild(void **state)
{
    char *spec = spec_of("hash", "live");
    buf_t err = BUF_INIT, value = BUF_INIT;
    table_t *t;

    (void) state;
    write_file("live", "key old\n");
    build(spec, 0);
    t = table_open(spec, TABLE_FLAG_FOLD, &err);
    assert_non_null(t);
    assert_int_equal(table_get(t, "key", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "old");
    write_file("live", "key new\nother x\n");
    build(spec, 0);
    assert_int_equal(table_get(t, "key", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "new");
    assert_int_equal(table_get(t, "other", &value), TABLE_FOUND);
    table_close(t);
    /* Only the source and the database are left: no temporary file. */
    assert_int_equal(count_files_with_prefix("live"), 2);
    buf_release(&err);
    buf_release(&value);
    free(spec);
}

static void test_duplicates_and_bad_lines(void **state)
{
    char *spec = spec_of("hash", "dups");
    char *out;
    buf_t want = BUF_INIT;

    (void) state;
    write_file("dups", "a first\nA second\nnovalue\nb  x\n");
    capture_start();
    build(spec, 0);
    out = capture_end();
    buf_printf(&want, "%s/dups.db: duplicate entry: \"a\"", topdir);
    assert_non_null(strstr(out, buf_str(&want)));
    buf_reset(&want);
    buf_printf(&want, "%s/dups, line 3: expected format: key whitespace value", topdir);
    assert_non_null(strstr(out, buf_str(&want)));
    free(out);
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "a"), "first");
    assert_null(lookup(spec, TABLE_FLAG_FOLD, "novalue"));
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "b"), "x");

    capture_start();
    build(spec, TABLE_BUILD_DUP_REPLACE);
    out = capture_end();
    assert_null(strstr(out, "duplicate"));
    free(out);
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "a"), "second");

    capture_start();
    build(spec, TABLE_BUILD_DUP_IGNORE);
    out = capture_end();
    assert_null(strstr(out, "duplicate"));
    free(out);
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "a"), "first");
    buf_release(&want);
    free(spec);
}

static void test_permissions_follow_source(void **state)
{
    char *spec = spec_of("hash", "perm");
    char *src = path_of("perm");
    char *db = path_of("perm.db");
    struct stat st;

    (void) state;
    write_file("perm", "k v\n");
    assert_int_equal(chmod(src, 0640), 0);
    build(spec, 0);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(chmod(src, 0604), 0);
    build(spec, 0);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0604);
    free(spec);
    free(src);
    free(db);
}

static void test_update_delete_and_walk(void **state)
{
    char *spec = spec_of("hash", "upd");
    argv_t *keys = argv_new();
    buf_t err = BUF_INIT;
    size_t deleted;
    int fds[2];

    (void) state;
    write_file("upd", "one 1\ntwo 2\n");
    build(spec, 0);
    /* -i: entries from a stream are added, old ones kept. */
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "Three 3\none other\n", 18), 18);
    close(fds[1]);
    capture_start();
    assert_int_equal(table_build_add(spec, "hash", 0, table_parse_kv, fds[0], "stdin", &err), 0);
    free(capture_end());
    close(fds[0]);
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "three"), "3");
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "one"), "1");
    /* -d */
    argv_add(keys, "TWO");
    assert_int_equal(table_build_delete(spec, "hash", 0, keys, &deleted, &err), 0);
    assert_int_equal(deleted, 1);
    assert_null(lookup(spec, TABLE_FLAG_FOLD, "two"));
    assert_int_equal(table_build_delete(spec, "hash", 0, keys, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
    argv_free(keys);
    buf_release(&err);
    free(spec);
}

/* ---------------------------------------------------------------- */
/* Text types                                                        */
/* ---------------------------------------------------------------- */

static void test_texthash(void **state)
{
    char *spec = spec_of("texthash", "plain");

    (void) state;
    write_file("plain", "# comment\n"
               "  # indented comment\n"
               "\n"
               "User@Example.COM   one\n"
               "long   part1\n"
               "\tpart2\n"
               "# a comment inside does not end it\n"
               "   part3\n"
               "user@example.com   duplicate\n");
    capture_start();
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "user@example.com"), "one");
    free(capture_end());
    assert_string_equal(lookup(spec, TABLE_FLAG_FOLD, "long"), "part1\tpart2   part3");
    /* Without folding the two spellings are two keys. */
    assert_string_equal(lookup(spec, 0, "user@example.com"), "duplicate");
    assert_string_equal(lookup(spec, 0, "User@Example.COM"), "one");
    free(spec);
}

static void test_inline_and_static(void **state)
{
    buf_t err = BUF_INIT;

    (void) state;
    assert_string_equal(lookup("inline:{ a=1, B=2, { c = three four } }", TABLE_FLAG_FOLD, "b"), "2");
    assert_string_equal(lookup("inline:{ a=1, B=2, { c = three four } }", TABLE_FLAG_FOLD, "C"),
                        "three four");
    assert_null(lookup("inline:{ a=1 }", TABLE_FLAG_FOLD, "z"));
    assert_null(table_open("inline:{ novalue }", 0, &err));
    assert_non_null(strstr(buf_str(&err), "expected key=value"));
    assert_null(table_open("inline:a=b", 0, &err));
    assert_string_equal(lookup("static:OK", 0, "anything"), "OK");
    assert_string_equal(lookup("static:{ reject with text }", 0, "x"), "reject with text");
    assert_string_equal(lookup("proxy:static:relay", 0, "x"), "relay");
    assert_null(table_open("foo:bar", 0, &err));
    assert_string_equal(buf_str(&err), "unsupported dictionary type: foo");
    assert_null(table_open("nocolon", 0, &err));
    assert_null(lookup("nis:mail.aliases", 0, "root"));
    buf_release(&err);
}

static void test_unix_passwd(void **state)
{
    const char *v;

    (void) state;
    v = lookup("unix:passwd.byname", TABLE_FLAG_FOLD, "ROOT");
    assert_non_null(v);
    assert_int_equal(strncmp(v, "root:", 5), 0);
    assert_non_null(strstr(v, ":0:0:"));
    assert_null(lookup("unix:passwd.byname", TABLE_FLAG_FOLD, "no-such-user-xyz"));
    assert_null(lookup("unix:passwd.byname", 0, "ROOT"));
    v = lookup("unix:group.byname", 0, "root");
    assert_non_null(v);
    assert_int_equal(strncmp(v, "root:", 5), 0);
}

static void test_regexp(void **state)
{
    char *spec = spec_of("regexp", "rx");
    char *out;

    (void) state;
    write_file("rx", "# rules\n"
               "/^(.*)@example\\.com$/      local $1\n"
               "/^Exact@Case\\.test$/i      sensitive\n"
               "/^[a-z]+@case\\.test$/      insensitive\n"
               "!/@/                        no-at\n"
               "if /\\.org$/\n"
               "/^admin@/                   org-admin\n"
               "endif\n"
               "/^admin@/                   other-admin\n"
               "/^(a)(b)?c@x$/             [${1}|$2|$$]\n"
               "/(unbalanced/               bad\n"
               "/^(x)@y$/                   $2\n"
               "/^nothing@/\n"
               ",^slash/(.*)$,              path $1\n");
    capture_start();
    assert_string_equal(lookup(spec, 0, "Gaston@EXAMPLE.com"), "local Gaston");
    out = capture_end();
    assert_non_null(strstr(out, "line 11: bad regular expression \"(unbalanced\""));
    assert_non_null(strstr(out, "line 12: out of range replacement index \"2\""));
    assert_non_null(strstr(out, "line 13: no replacement text"));
    free(out);
    capture_start();
    assert_string_equal(lookup(spec, 0, "Exact@Case.test"), "sensitive");
    assert_string_equal(lookup(spec, 0, "exact@case.test"), "insensitive");
    assert_null(lookup(spec, 0, "EXACT@case.test.x"));
    assert_string_equal(lookup(spec, 0, "nobody"), "no-at");
    assert_string_equal(lookup(spec, 0, "admin@site.org"), "org-admin");
    assert_string_equal(lookup(spec, 0, "admin@site.net"), "other-admin");
    assert_string_equal(lookup(spec, 0, "ac@x"), "[a||$]");
    assert_string_equal(lookup(spec, 0, "abc@x"), "[a|b|$]");
    assert_null(lookup(spec, 0, "x@y"));
    assert_null(lookup(spec, 0, "(unbalanced@z"));
    assert_string_equal(lookup(spec, 0, "slash/a@b"), "path a@b");
    free(capture_end());
    free(spec);
}

/* Found by fuzz/fuzz_table_source: regcomp copies a repeated group once
 * per repetition, so 130 bytes of "e\\++++..." needed gigabytes (as do
 * ".{1,20000}" and nested intervals), and it recurses per nested group
 * (100000 "(" crashed on the stack). Such rules are now refused like
 * other bad ones; long but plain patterns and sane repeats still work. */
static void test_regexp_cost_limits(void **state)
{
    char *spec = spec_of("regexp", "rx_cost");
    buf_t text = BUF_INIT;
    char *out;

    (void) state;
    buf_puts(&text, "/^e\\+");
    for (int i = 0; i < 120; i++)
        buf_putc(&text, '+');
    buf_puts(&text, "./ exploding\n/");
    for (int i = 0; i < 100000; i++)
        buf_putc(&text, '(');
    buf_putc(&text, 'a');
    for (int i = 0; i < 100000; i++)
        buf_putc(&text, ')');
    buf_puts(&text, "/ deep\n"
             "/^((x{1,300}){1,300})$/ nested intervals\n"
             "/^(y{1,100}){1,100}$/x basic syntax, literal braces\n"
             "/^z\\{1,300\\}\\(z\\{1,300\\}\\)\\{1,300\\}$/x basic nested intervals\n"
             "/^(a{1,100}){1,100}@b$/ bounded\n"
             "/^(one|two|three|four|five|six|seven|eight|nine|ten)+@");
    for (int i = 0; i < 3000; i++)
        buf_printf(&text, "(d%d)?", i);
    buf_puts(&text, "c$/ long\n"
             "/^w{,3000}$/ open interval\n"
             "/^(v*)++++++++++$/ repeated empty match\n");
    write_file("rx_cost", buf_str(&text));
    capture_start();
    assert_string_equal(lookup(spec, 0, "aaa@b"), "bounded");
    out = capture_end();
    assert_non_null(strstr(out, "line 1: regular expression too costly to compile"));
    assert_non_null(strstr(out, "line 2: regular expression nests groups more than 100 deep"));
    assert_non_null(strstr(out, "line 3: regular expression too costly to compile"));
    assert_null(strstr(out, "line 4:"));
    assert_non_null(strstr(out, "line 5: regular expression too costly to compile"));
    assert_null(strstr(out, "line 6:"));
    assert_null(strstr(out, "line 7:"));
    assert_non_null(strstr(out, "line 8: regular expression too costly to compile"));
    assert_non_null(strstr(out, "line 9: regular expression too costly to compile"));
    free(out);
    capture_start();
    assert_string_equal(lookup(spec, 0, "(y{1,100}){1,100}"), "basic syntax, literal braces");
    assert_string_equal(lookup(spec, 0, "twoone@d7c"), "long");
    free(capture_end());
    buf_release(&text);
    free(spec);
}

static void test_cidr(void **state)
{
    char *spec = spec_of("cidr", "nets");
    char *out;

    (void) state;
    write_file("nets", "192.168.154.0/28     OK\n"
               "127.0.0.0/8          local\n"
               "10.1.2.3             host\n"
               "[2001:db8::]/32      v6\n"
               "::1                  v6-loop\n"
               "10.0.0.0/8           ten\n"
               "192.168.1.1/24       bad-host-bits\n"
               "1.2.3.4/33           bad-prefix\n"
               "not-an-address       junk\n"
               "172.16.0.0/12\n"
               "if 172.16.0.0/12\n"
               "!172.16.1.0/24       outside-172.16.1\n"
               "endif\n"
               "0.0.0.0/0            default4\n");
    capture_start();
    assert_string_equal(lookup(spec, 0, "192.168.154.1"), "OK");
    out = capture_end();
    assert_non_null(strstr(out, "line 7: non-null host address bits in \"192.168.1.1/24\""));
    assert_non_null(strstr(out, "line 8: bad net/mask pattern: \"1.2.3.4/33\""));
    assert_non_null(strstr(out, "line 9: bad address pattern"));
    assert_non_null(strstr(out, "line 10: no lookup result"));
    free(out);
    capture_start();
    assert_string_equal(lookup(spec, 0, "192.168.154.16"), "default4");
    assert_string_equal(lookup(spec, 0, "127.1.2.3"), "local");
    assert_string_equal(lookup(spec, 0, "10.1.2.3"), "host");
    assert_string_equal(lookup(spec, 0, "10.1.2.4"), "ten");
    assert_string_equal(lookup(spec, 0, "2001:DB8:1::5"), "v6");
    assert_string_equal(lookup(spec, 0, "::1"), "v6-loop");
    assert_null(lookup(spec, 0, "2001:db9::1"));
    assert_string_equal(lookup(spec, 0, "::ffff:127.0.0.1"), "local");
    assert_string_equal(lookup(spec, 0, "172.16.2.1"), "outside-172.16.1");
    assert_string_equal(lookup(spec, 0, "172.16.1.1"), "default4");
    assert_null(lookup(spec, 0, "garbage"));
    assert_string_equal(lookup(spec, 0, "192.168.1.1"), "default4");
    free(capture_end());
    free(spec);
}

/* ---------------------------------------------------------------- */
/* Hostile sources                                                   */
/* ---------------------------------------------------------------- */

static void test_hostile_sources(void **state)
{
    char *path = path_of("huge");
    char *spec = spec_of("texthash", "huge");
    buf_t err = BUF_INIT;
    FILE *f = fopen(path, "w");

    (void) state;
    assert_non_null(f);
    fputs("key ", f);
    for (int i = 0; i < TABLE_LINE_MAX / 1000 + 10; i++) {
        char chunk[1001];

        memset(chunk, 'x', 1000);
        chunk[1000] = 0;
        fputs(chunk, f);
    }
    fputs("\n", f);
    fclose(f);
    assert_null(table_open(spec, 0, &err));
    assert_non_null(strstr(buf_str(&err), "line 1: line too long"));
    free(spec);

    /* The same through continuation lines. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("key v\n", f);
    for (int i = 0; i < TABLE_LINE_MAX / 1000 + 10; i++)
        fprintf(f, " %0999d\n", 0);
    fclose(f);
    spec = spec_of("regexp", "huge");
    assert_null(table_open(spec, 0, &err));
    assert_non_null(strstr(buf_str(&err), "line too long"));
    free(spec);
    spec = spec_of("hash", "huge");
    assert_int_equal(table_build(spec, "hash", 0, table_parse_kv, &err), -1);
    assert_non_null(strstr(buf_str(&err), "line too long"));
    free(spec);

    /* A NUL byte in a line. */
    f = fopen(path, "w");
    assert_non_null(f);
    fwrite("a b\0c\n", 1, 6, f);
    fclose(f);
    spec = spec_of("cidr", "huge");
    buf_reset(&err);
    assert_null(table_open(spec, 0, &err));
    assert_non_null(strstr(buf_str(&err), "NUL"));
    free(spec);

    /* A missing source. */
    spec = spec_of("regexp", "absent");
    assert_null(table_open(spec, 0, &err));
    assert_non_null(strstr(buf_str(&err), "No such file or directory"));
    free(spec);
    buf_release(&err);
    free(path);
}

static void test_parse_alias_lines(void **state)
{
    buf_t key = BUF_INIT, value = BUF_INIT;
    const char *why;

    (void) state;
    assert_int_equal(table_parse_alias("root: gaston, robert", &key, &value, &why), 0);
    assert_string_equal(buf_str(&key), "root");
    assert_string_equal(buf_str(&value), "gaston, robert");
    assert_int_equal(table_parse_alias("\"a b\":  |/bin/cat ", &key, &value, &why), 0);
    assert_string_equal(buf_str(&key), "a b");
    assert_string_equal(buf_str(&value), "|/bin/cat");
    assert_int_equal(table_parse_alias("mailer-daemon:postmaster", &key, &value, &why), 0);
    assert_string_equal(buf_str(&value), "postmaster");
    assert_int_equal(table_parse_alias("nocolon value", &key, &value, &why), -1);
    assert_string_equal(why, "need name:value pair");
    assert_int_equal(table_parse_alias("empty:", &key, &value, &why), -1);
    assert_int_equal(table_parse_kv("\"unterminated key", &key, &value, &why), -1);
    assert_int_equal(table_parse_kv("\"k\\\"q\" v", &key, &value, &why), 0);
    assert_string_equal(buf_str(&key), "k\"q");
    buf_release(&key);
    buf_release(&value);
}

/* Found by fuzz/fuzz_table_source: leading \f and \v were skipped but
 * trailing ones kept ("OK\v" stayed "OK\v"). Both ends now trim what
 * isspace() calls space, as Postfix does. */
static void test_trailing_vertical_space(void **state)
{
    buf_t key = BUF_INIT, value = BUF_INIT, err = BUF_INIT;
    const char *why;
    char *spec;
    table_t *t;

    (void) state;
    assert_int_equal(table_parse_kv("user \v OK\v\f", &key, &value, &why), 0);
    assert_string_equal(buf_str(&value), "OK");
    assert_int_equal(table_parse_alias("root\v: alice\v", &key, &value, &why), 0);
    assert_string_equal(buf_str(&key), "root");
    assert_string_equal(buf_str(&value), "alice");
    write_file("vt_source", "a 1\v\nb 2\f\n  continued\f\n");
    spec = spec_of("texthash", "vt_source");
    t = table_open(spec, 0, &err);
    assert_non_null(t);
    assert_int_equal(table_get(t, "a", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "1");
    assert_int_equal(table_get(t, "b", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "2\f  continued");
    table_close(t);
    free(spec);
    buf_release(&key);
    buf_release(&value);
    buf_release(&err);
}

/* ---------------------------------------------------------------- */
/* Lists and search orders                                           */
/* ---------------------------------------------------------------- */

static const char *find(maps_t *m, const char *addr, int order, int local, int *ext)
{
    static buf_t value = BUF_INIT;
    int r = maps_find_addr(m, addr, order, local, &value, ext);

    assert_true(r != TABLE_ERROR);
    return r == TABLE_FOUND ? buf_str(&value) : NULL;
}

static void test_maps_list(void **state)
{
    maps_t *m;
    buf_t value = BUF_INIT;
    char *out;

    (void) state;
    m = maps_open("test_maps", "inline:{ a=first, b=1 },inline:{a=second c=3}  static:last", TABLE_FLAG_FOLD);
    assert_false(maps_empty(m));
    assert_int_equal(maps_get(m, "a", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "first");
    assert_int_equal(maps_get(m, "C", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "3");
    assert_int_equal(maps_get(m, "zzz", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "last");
    maps_free(m);

    m = maps_open("test_maps", "", 0);
    assert_true(maps_empty(m));
    assert_int_equal(maps_get(m, "a", &value), TABLE_NOTFOUND);
    maps_free(m);

    /* A table that cannot be opened: logged once, lookups reaching it fail. */
    capture_start();
    m = maps_open("virtual_alias_maps", "inline:{ a=1 }, hash:/nonexistent/x", TABLE_FLAG_FOLD);
    assert_int_equal(maps_get(m, "a", &value), TABLE_FOUND);
    assert_int_equal(maps_get(m, "b", &value), TABLE_ERROR);
    assert_int_equal(maps_find_addr(m, "b@x", MAPS_ADDR_VIRTUAL, 0, &value, NULL), TABLE_ERROR);
    sleep(1);
    assert_int_equal(maps_get(m, "b", &value), TABLE_ERROR);
    out = capture_end();
    assert_non_null(strstr(out, "hash:/nonexistent/x is unavailable. open database /nonexistent/x.db: No such file or directory"));
    assert_null(strstr(strstr(out, "unavailable") + 1, "unavailable"));
    free(out);
    maps_free(m);
    buf_release(&value);
}

static void test_maps_reopen_when_created(void **state)
{
    char *spec = spec_of("hash", "later");
    maps_t *m;
    buf_t value = BUF_INIT;

    (void) state;
    capture_start();
    m = maps_open("virtual_alias_maps", spec, TABLE_FLAG_FOLD);
    assert_int_equal(maps_get(m, "k", &value), TABLE_ERROR);
    write_file("later", "k v\n");
    build(spec, 0);
    sleep(1);
    assert_int_equal(maps_get(m, "k", &value), TABLE_FOUND);
    assert_string_equal(buf_str(&value), "v");
    free(capture_end());
    maps_free(m);
    buf_release(&value);
    free(spec);
}

static void test_virtual_order(void **state)
{
    char *a = spec_of("hash", "virt_a");
    char *b = spec_of("hash", "virt_b");
    buf_t list = BUF_INIT;
    maps_t *m;
    int ext = -1;

    (void) state;
    load_main_cf("recipient_delimiter = +-\n");
    /* The tutorial's aliases file, and a second table with @domain. */
    write_file("virt_a", "@mon_domaine.net             gaston\n"
               "@mon_second_domaine.net     gaston\n"
               "robert@mon_domaine.net       robert\n"
               "full+ext@x.test              full-ext\n"
               "localonly                    lo\n"
               "localonly+tag                lo-tag\n");
    write_file("virt_b", "user@x.test   user-at-x\n"
               "@x.test   catchall-x\n");
    build(a, 0);
    build(b, 0);
    buf_printf(&list, "%s %s", a, b);
    m = maps_open("virtual_alias_maps", buf_str(&list), TABLE_FLAG_FOLD);
    assert_string_equal(find(m, "robert@mon_domaine.net", MAPS_ADDR_VIRTUAL, 0, &ext), "robert");
    assert_int_equal(ext, 0);
    assert_string_equal(find(m, "Robert@Mon_Domaine.NET", MAPS_ADDR_VIRTUAL, 0, &ext), "robert");
    assert_string_equal(find(m, "gaston@mon_domaine.net", MAPS_ADDR_VIRTUAL, 0, &ext), "gaston");
    assert_string_equal(find(m, "anyone@mon_second_domaine.net", MAPS_ADDR_VIRTUAL, 0, &ext), "gaston");
    assert_null(find(m, "anyone@elsewhere.net", MAPS_ADDR_VIRTUAL, 0, &ext));
    /* user+ext@domain, then user@domain (extension unmatched). */
    assert_string_equal(find(m, "robert+list@mon_domaine.net", MAPS_ADDR_VIRTUAL, 0, &ext), "robert");
    assert_int_equal(ext, 1);
    assert_string_equal(find(m, "robert-list@mon_domaine.net", MAPS_ADDR_VIRTUAL, 0, &ext), "robert");
    assert_string_equal(find(m, "full+ext@x.test", MAPS_ADDR_VIRTUAL, 0, &ext), "full-ext");
    assert_int_equal(ext, 0);
    /* user@domain in the second table beats @domain in the first... */
    assert_string_equal(find(m, "user@x.test", MAPS_ADDR_VIRTUAL, 0, &ext), "user-at-x");
    assert_string_equal(find(m, "user+z@x.test", MAPS_ADDR_VIRTUAL, 0, &ext), "user-at-x");
    assert_string_equal(find(m, "other@x.test", MAPS_ADDR_VIRTUAL, 0, &ext), "catchall-x");
    assert_int_equal(ext, 0);
    /* user and user+ext only for local domains. */
    assert_string_equal(find(m, "localonly@x.test", MAPS_ADDR_VIRTUAL, 0, &ext), "catchall-x");
    assert_string_equal(find(m, "localonly@x.test", MAPS_ADDR_VIRTUAL, 1, &ext), "lo");
    assert_string_equal(find(m, "localonly+tag@x.test", MAPS_ADDR_VIRTUAL, 1, &ext), "lo-tag");
    assert_int_equal(ext, 0);
    assert_string_equal(find(m, "localonly+zz@x.test", MAPS_ADDR_VIRTUAL, 1, &ext), "lo");
    assert_int_equal(ext, 1);
    assert_null(find(m, "localonly@y.test", MAPS_ADDR_VIRTUAL, 0, &ext));
    assert_string_equal(find(m, "localonly", MAPS_ADDR_VIRTUAL, 0, &ext), "lo");
    maps_free(m);

    /* No recipient_delimiter: "robert+list" is a user of its own. */
    load_main_cf("recipient_delimiter =\n");
    m = maps_open("virtual_alias_maps", buf_str(&list), TABLE_FLAG_FOLD);
    assert_string_equal(find(m, "robert+list@mon_domaine.net", MAPS_ADDR_VIRTUAL, 0, &ext), "gaston");
    maps_free(m);
    load_main_cf("recipient_delimiter = +\n");
    buf_release(&list);
    free(a);
    free(b);
}

static void test_virtual_with_regexp(void **state)
{
    char *rx = spec_of("regexp", "virt_rx");
    buf_t list = BUF_INIT;
    maps_t *m;

    (void) state;
    write_file("virt_rx", "/^gaston$/   only-full-key\n/^(.+)@rx\\.test$/  $1@elsewhere\n");
    buf_printf(&list, "%s", rx);
    m = maps_open("virtual_alias_maps", buf_str(&list), TABLE_FLAG_FOLD);
    assert_string_equal(find(m, "Bob+x@rx.test", MAPS_ADDR_VIRTUAL, 1, NULL), "Bob+x@elsewhere");
    /* The walk's partial keys never reach pattern tables. */
    assert_null(find(m, "gaston@local.test", MAPS_ADDR_VIRTUAL, 1, NULL));
    assert_string_equal(find(m, "gaston", MAPS_ADDR_VIRTUAL, 1, NULL), "only-full-key");
    maps_free(m);
    buf_release(&list);
    free(rx);
}

static void test_access_order(void **state)
{
    char *spec = spec_of("hash", "access");
    maps_t *m;
    int ext;

    (void) state;
    write_file("access", "vielle_adresse@mon_domaine.net   REJECT\n"
               "example.com        DUNNO-domain\n"
               ".dot.test          dot-sub\n"
               "postmaster@        OK-local\n"
               "spammer+tag@       tagged-local\n"
               "<>                 null-sender\n"
               "user@x.test        user-x\n"
               "1.2.3              net-1.2.3\n"
               "10                 net-10\n"
               "2001:db8           net6\n"
               "mail.host.test     host\n"
               "parent.test        parent\n");
    build(spec, 0);
    m = maps_open("smtpd_access_maps", spec, TABLE_FLAG_FOLD);
    assert_string_equal(find(m, "vielle_adresse@mon_domaine.net", MAPS_ADDR_ACCESS, 0, NULL), "REJECT");
    assert_string_equal(find(m, "Vielle_Adresse@MON_domaine.net", MAPS_ADDR_ACCESS, 0, NULL), "REJECT");
    assert_null(find(m, "autre@mon_domaine.net", MAPS_ADDR_ACCESS, 0, NULL));
    /* parent_domain_matches_subdomains lists smtpd_access_maps by default. */
    assert_string_equal(find(m, "a@example.com", MAPS_ADDR_ACCESS, 0, NULL), "DUNNO-domain");
    assert_string_equal(find(m, "a@sub.example.com", MAPS_ADDR_ACCESS, 0, NULL), "DUNNO-domain");
    assert_null(find(m, "a@x.dot.test", MAPS_ADDR_ACCESS, 0, NULL));
    assert_string_equal(find(m, "postmaster@anywhere.test", MAPS_ADDR_ACCESS, 0, NULL), "OK-local");
    assert_string_equal(find(m, "user+foo@x.test", MAPS_ADDR_ACCESS, 0, &ext), "user-x");
    assert_int_equal(ext, 1);
    assert_string_equal(find(m, "spammer+tag@y.test", MAPS_ADDR_ACCESS, 0, &ext), "tagged-local");
    assert_int_equal(ext, 0);
    assert_string_equal(find(m, "", MAPS_ADDR_ACCESS, 0, NULL), "null-sender");
    assert_string_equal(find(m, "1.2.3.4", MAPS_ADDR_IP, 0, NULL), "net-1.2.3");
    assert_string_equal(find(m, "10.9.8.7", MAPS_ADDR_IP, 0, NULL), "net-10");
    assert_null(find(m, "11.2.3.4", MAPS_ADDR_IP, 0, NULL));
    assert_string_equal(find(m, "2001:db8::1", MAPS_ADDR_IP, 0, NULL), "net6");
    assert_string_equal(find(m, "mail.host.test", MAPS_ADDR_HOST, 0, NULL), "host");
    assert_string_equal(find(m, "a.b.parent.test", MAPS_ADDR_HOST, 0, NULL), "parent");
    maps_free(m);
    /* smtpd's check_*_access names count as smtpd_access_maps. */
    m = maps_open("check_recipient_access", spec, TABLE_FLAG_FOLD);
    assert_string_equal(find(m, "a@sub.example.com", MAPS_ADDR_ACCESS, 0, NULL), "DUNNO-domain");
    maps_free(m);

    /* Not listed: only ".domain" entries match subdomains. */
    load_main_cf("recipient_delimiter = +\nparent_domain_matches_subdomains =\n");
    m = maps_open("smtpd_access_maps", spec, TABLE_FLAG_FOLD);
    assert_string_equal(find(m, "a@example.com", MAPS_ADDR_ACCESS, 0, NULL), "DUNNO-domain");
    assert_null(find(m, "a@sub.example.com", MAPS_ADDR_ACCESS, 0, NULL));
    assert_string_equal(find(m, "a@x.dot.test", MAPS_ADDR_ACCESS, 0, NULL), "dot-sub");
    assert_string_equal(find(m, "a@y.x.dot.test", MAPS_ADDR_ACCESS, 0, NULL), "dot-sub");
    assert_null(find(m, "a@dot.test", MAPS_ADDR_ACCESS, 0, NULL));
    assert_null(find(m, "a.b.parent.test", MAPS_ADDR_HOST, 0, NULL));
    maps_free(m);
    load_main_cf("recipient_delimiter = +\n");
    free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_build_and_lookup),
        cmocka_unit_test(test_lmdb_suffix_nofold_and_nul),
        cmocka_unit_test(test_missing_database),
        cmocka_unit_test(test_berkeley_db_detected),
        cmocka_unit_test(test_source_newer_warning),
        cmocka_unit_test(test_reopen_after_rebuild),
        cmocka_unit_test(test_duplicates_and_bad_lines),
        cmocka_unit_test(test_permissions_follow_source),
        cmocka_unit_test(test_update_delete_and_walk),
        cmocka_unit_test(test_texthash),
        cmocka_unit_test(test_inline_and_static),
        cmocka_unit_test(test_unix_passwd),
        cmocka_unit_test(test_regexp),
        cmocka_unit_test(test_regexp_cost_limits),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_hostile_sources),
        cmocka_unit_test(test_parse_alias_lines),
        cmocka_unit_test(test_trailing_vertical_space),
        cmocka_unit_test(test_maps_list),
        cmocka_unit_test(test_maps_reopen_when_created),
        cmocka_unit_test(test_virtual_order),
        cmocka_unit_test(test_virtual_with_regexp),
        cmocka_unit_test(test_access_order),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
