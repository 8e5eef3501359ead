/* Unit tests for lib/virtual_alias and lib/addr_map: the tutorial's aliases
 * file, @otherdomain results, extension propagation, the "expands to
 * itself" rule, the three limits and table errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "addr_map.h"
#include "argv.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "resolve.h"
#include "table.h"
#include "virtual_alias.h"

static char topdir[] = "/tmp/test_virtual_alias.XXXXXX";

static const char tutorial_main_cf[] =
    "myhostname = mon_serveur.mon_domaine.net\n"
    "mydomain = mon_domaine.net\n"
    "myorigin = mon_domaine.net\n"
    "mydestination = mon_domaine.net, mon_second_domaine.net\n"
    "recipient_delimiter = +\n";

/* The tutorial's aliases file, word for word. */
static const char tutorial_aliases[] =
    "# tous les courriers pour le domaine mon_domaine.net et mon_second_domaine.net va en "
    "priorité à gaston\n"
    "@mon_domaine.net             gaston\n"
    "@mon_second_domaine.net     gaston\n"
    "\n"
    "# le courrier de robert lui revient\n"
    "robert@mon_domaine.net       robert\n";

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

/* main.cf = the tutorial's lines plus extra; "ALIASES" = texthash of file. */
static void load_config(const char *extra)
{
    buf_t text = BUF_INIT;

    buf_printf(&text, "%s%s", tutorial_main_cf, extra);
    write_file("main.cf", buf_str(&text));
    config_load(topdir);
    resolve_reset();
    buf_release(&text);
}

static maps_t *open_texthash(const char *name, const char *text)
{
    buf_t spec = BUF_INIT;
    maps_t *m;

    write_file(name, text);
    buf_printf(&spec, "texthash:%s/%s", topdir, name);
    m = maps_open("virtual_alias_maps", buf_str(&spec), TABLE_FLAG_FOLD);
    buf_release(&spec);
    return m;
}

/* virtual_alias_maps = texthash:DIR/name with text, plus extra settings. */
static virtual_alias_t *open_virtual(const char *name, const char *text, const char *extra)
{
    buf_t cf = BUF_INIT;

    write_file(name, text);
    buf_printf(&cf, "virtual_alias_maps = texthash:%s/%s\n%s", topdir, name, extra);
    load_config(buf_str(&cf));
    buf_release(&cf);
    return virtual_alias_open();
}

/* The expansion joined with ' ', or "DEFER". Static storage. */
static const char *expand(virtual_alias_t *va, const char *addr)
{
    static buf_t joined = BUF_INIT;
    argv_t *out = argv_new();

    buf_reset(&joined);
    if (virtual_alias_expand(va, "TESTID", addr, out) < 0) {
        buf_puts(&joined, "DEFER");
        assert_int_equal(out->argc, 0);
    }
    for (size_t i = 0; i < out->argc; i++)
        buf_printf(&joined, "%s%s", i ? " " : "", out->argv[i]);
    argv_free(out);
    return buf_str(&joined);
}

static const char *map_lookup(maps_t *m, const char *addr, int propagate)
{
    static buf_t joined = BUF_INIT;
    argv_t *out = argv_new();
    int r = addr_map_lookup(m, addr, propagate, out);

    buf_reset(&joined);
    if (r == TABLE_NOTFOUND)
        buf_puts(&joined, "NOTFOUND");
    else if (r == TABLE_ERROR)
        buf_puts(&joined, "ERROR");
    for (size_t i = 0; i < out->argc; i++)
        buf_printf(&joined, "%s%s", i ? " " : "", out->argv[i]);
    argv_free(out);
    return buf_str(&joined);
}

/* ---------------------------------------------------------------- */

static void test_tutorial_lookups(void **state)
{
    maps_t *m;

    (void) state;
    load_config("");
    m = open_texthash("aliases", tutorial_aliases);
    assert_string_equal(map_lookup(m, "robert@mon_domaine.net", 1), "robert@mon_domaine.net");
    assert_string_equal(map_lookup(m, "Robert@MON_domaine.net", 1), "robert@mon_domaine.net");
    assert_string_equal(map_lookup(m, "random@mon_domaine.net", 1), "gaston@mon_domaine.net");
    assert_string_equal(map_lookup(m, "x@mon_second_domaine.net", 1), "gaston@mon_domaine.net");
    assert_string_equal(map_lookup(m, "robert@elsewhere.example", 1), "NOTFOUND");
    maps_free(m);
}

static void test_tutorial_expansion(void **state)
{
    virtual_alias_t *va = open_virtual("aliases", tutorial_aliases, "");

    (void) state;
    /* robert -> robert@mon_domaine.net: the address itself, so final. */
    assert_string_equal(expand(va, "robert@mon_domaine.net"), "robert@mon_domaine.net");
    /* random -> gaston@mon_domaine.net, which the catch-all maps to itself. */
    assert_string_equal(expand(va, "random@mon_domaine.net"), "gaston@mon_domaine.net");
    assert_string_equal(expand(va, "x@mon_second_domaine.net"), "gaston@mon_domaine.net");
    assert_string_equal(expand(va, "gaston@mon_domaine.net"), "gaston@mon_domaine.net");
    assert_string_equal(expand(va, "someone@elsewhere.example"), "someone@elsewhere.example");
    virtual_alias_free(va);
}

static void test_specific_beats_catch_all_across_tables(void **state)
{
    buf_t cf = BUF_INIT;
    virtual_alias_t *va;

    (void) state;
    write_file("catchall", "@d.example  catch@other.example\n");
    write_file("specific", "joe@d.example  joe@other.example\n");
    buf_printf(&cf, "virtual_alias_maps = texthash:%s/catchall, texthash:%s/specific\n",
               topdir, topdir);
    load_config(buf_str(&cf));
    va = virtual_alias_open();
    assert_string_equal(expand(va, "joe@d.example"), "joe@other.example");
    assert_string_equal(expand(va, "ann@d.example"), "catch@other.example");
    virtual_alias_free(va);
    buf_release(&cf);
}

static void test_otherdomain_and_extensions(void **state)
{
    maps_t *m;

    (void) state;
    load_config("");
    m = open_texthash("ext",
                      "@old.example        @new.example\n"
                      "joe@a.example       @b.example\n"
                      "bob@d.example       bob@e.example, carol\n"
                      "list@d.example      \"a b\"@x.example <c@y.example>  dave\n");
    assert_string_equal(map_lookup(m, "ann@old.example", 1), "ann@new.example");
    /* @domain matches keep the whole local part, extension included. */
    assert_string_equal(map_lookup(m, "ann+x@old.example", 0), "ann+x@new.example");
    /* Matched without its extension: propagated on request only. */
    assert_string_equal(map_lookup(m, "joe+x@a.example", 1), "joe+x@b.example");
    assert_string_equal(map_lookup(m, "joe+x@a.example", 0), "joe@b.example");
    assert_string_equal(map_lookup(m, "bob+tag@d.example", 1),
                        "bob+tag@e.example carol+tag@mon_domaine.net");
    assert_string_equal(map_lookup(m, "bob+tag@d.example", 0),
                        "bob@e.example carol@mon_domaine.net");
    assert_string_equal(map_lookup(m, "list@d.example", 0),
                        "a b@x.example c@y.example dave@mon_domaine.net");
    maps_free(m);
}

static void test_local_part_only_for_local_domains(void **state)
{
    virtual_alias_t *va = open_virtual("bare", "postmaster  admin@ops.example\n", "");

    (void) state;
    assert_string_equal(expand(va, "postmaster@mon_domaine.net"), "admin@ops.example");
    assert_string_equal(expand(va, "postmaster@mon_second_domaine.net"), "admin@ops.example");
    assert_string_equal(expand(va, "postmaster@remote.example"), "postmaster@remote.example");
    virtual_alias_free(va);
}

static void test_one_to_many_and_self(void **state)
{
    virtual_alias_t *va = open_virtual("many",
                                       "team@x.example  ann@x.example, team@x.example, bob\n"
                                       "bob@mon_domaine.net  bob@y.example\n"
                                       "ann@x.example  ann@z.example\n", "");

    (void) state;
    /* team keeps a copy (it expanded to itself); bob is bare -> @myorigin
     * -> expanded again. */
    assert_string_equal(expand(va, "team@x.example"),
                        "ann@z.example team@x.example bob@y.example");
    virtual_alias_free(va);
}

static void test_recursion_loop_defers(void **state)
{
    virtual_alias_t *va = open_virtual("loop", "a@x.example b@x.example\n"
                                               "b@x.example a@x.example\n", "");

    (void) state;
    assert_string_equal(expand(va, "a@x.example"), "DEFER");
    assert_string_equal(expand(va, "c@x.example"), "c@x.example");
    virtual_alias_free(va);
}

static void test_limits(void **state)
{
    static const char chain[] = "a@x.example b@x.example\nb@x.example c@x.example\n"
                                "c@x.example d@x.example\n";
    virtual_alias_t *va;

    (void) state;
    /* Three expansions, and a fourth lookup that finds nothing. */
    va = open_virtual("chain", chain, "virtual_alias_recursion_limit = 4\n");
    assert_string_equal(expand(va, "a@x.example"), "d@x.example");
    virtual_alias_free(va);
    va = open_virtual("chain", chain, "virtual_alias_recursion_limit = 3\n");
    assert_string_equal(expand(va, "a@x.example"), "DEFER");
    virtual_alias_free(va);

    va = open_virtual("fan", "l@x.example p@x.example q@x.example r@x.example\n",
                      "virtual_alias_expansion_limit = 3\n");
    assert_string_equal(expand(va, "l@x.example"), "p@x.example q@x.example r@x.example");
    virtual_alias_free(va);
    va = open_virtual("fan", "l@x.example p@x.example q@x.example r@x.example\n",
                      "virtual_alias_expansion_limit = 2\n");
    assert_string_equal(expand(va, "l@x.example"), "DEFER");
    virtual_alias_free(va);

    va = open_virtual("long", "l@x.example 0123456789@x.example\n",
                      "virtual_alias_address_length_limit = 20\n");
    assert_string_equal(expand(va, "l@x.example"), "0123456789@x.example");
    virtual_alias_free(va);
    va = open_virtual("long", "l@x.example 0123456789@x.example\n",
                      "virtual_alias_address_length_limit = 19\n");
    assert_string_equal(expand(va, "l@x.example"), "DEFER");
    virtual_alias_free(va);
}

static void test_table_error_defers(void **state)
{
    buf_t cf = BUF_INIT;
    virtual_alias_t *va;
    maps_t *m;

    (void) state;
    buf_printf(&cf, "virtual_alias_maps = hash:%s/no-such-table\n", topdir);
    load_config(buf_str(&cf));
    va = virtual_alias_open();
    assert_string_equal(expand(va, "robert@mon_domaine.net"), "DEFER");
    virtual_alias_free(va);
    m = maps_open("canonical_maps", "fail:x", TABLE_FLAG_FOLD);
    assert_string_equal(map_lookup(m, "robert@mon_domaine.net", 1), "ERROR");
    maps_free(m);
    buf_release(&cf);
}

static void test_no_maps_is_identity(void **state)
{
    virtual_alias_t *va;

    (void) state;
    load_config("virtual_alias_maps =\n");
    va = virtual_alias_open();
    assert_true(virtual_alias_empty(va));
    assert_string_equal(expand(va, "anyone@mon_domaine.net"), "anyone@mon_domaine.net");
    virtual_alias_free(va);
}

static void test_split_result(void **state)
{
    argv_t *out = argv_new();

    (void) state;
    addr_map_split_result(" a@b,c@d\te@f ,, \"g h\"@i <j@k>", out);
    assert_int_equal(out->argc, 5);
    assert_string_equal(out->argv[0], "a@b");
    assert_string_equal(out->argv[1], "c@d");
    assert_string_equal(out->argv[2], "e@f");
    assert_string_equal(out->argv[3], "g h@i");
    assert_string_equal(out->argv[4], "j@k");
    argv_free(out);
}

static int setup(void **state)
{
    (void) state;
    log_init("test_virtual_alias", LOG_FLAG_STDERR);
    return mkdtemp(topdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[256];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tutorial_lookups),
        cmocka_unit_test(test_tutorial_expansion),
        cmocka_unit_test(test_specific_beats_catch_all_across_tables),
        cmocka_unit_test(test_otherdomain_and_extensions),
        cmocka_unit_test(test_local_part_only_for_local_domains),
        cmocka_unit_test(test_one_to_many_and_self),
        cmocka_unit_test(test_recursion_loop_defers),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_table_error_defers),
        cmocka_unit_test(test_no_maps_is_identity),
        cmocka_unit_test(test_split_result),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
