/* show: prints parameters for postconf: every effective value, only those
 * set in main.cf (-n), or the built-in defaults (-d); as written or
 * expanded (-x); "name = value", values only (-h) or names only (-H).
 * Also warns, as Postfix does, about main.cf parameters that nothing uses
 * and (with -x) about references to undefined parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "argv.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "mastercf.h"
#include "postconf.h"

/* Parameter names that a master.cf service name gives meaning to,
 * e.g. "relay_destination_concurrency_limit". */
static const char *const service_suffixes[] = {
    "_delivery_slot_cost", "_delivery_slot_discount", "_delivery_slot_loan",
    "_destination_concurrency_failed_cohort_limit", "_destination_concurrency_limit",
    "_destination_concurrency_negative_feedback",
    "_destination_concurrency_positive_feedback", "_destination_rate_delay",
    "_destination_recipient_limit", "_extra_recipient_limit",
    "_initial_destination_concurrency", "_minimum_delivery_slots", "_recipient_limit",
    "_recipient_refill_delay", "_recipient_refill_limit", "_time_limit",
    "_transport_rate_delay",
};

typedef struct usage {
    argv_t *referenced;     /* names some value refers to (sorted once built) */
    argv_t *services;       /* master.cf service names */
} usage_t;

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void sort_argv(argv_t *a)
{
    if (a->argc > 1)
        qsort(a->argv, a->argc, sizeof(char *), compare_strings);
}

static int sorted_contains(const argv_t *a, const char *s)
{
    return a->argc > 0
        && bsearch(&s, a->argv, a->argc, sizeof(char *), compare_strings) != NULL;
}

static void note_reference(const char *name, size_t len, int plain, void *ctx)
{
    (void) plain;
    argv_addn(((usage_t *) ctx)->referenced, name, len);
}

static void note_set_value(const char *name, const char *raw, void *ctx)
{
    (void) name;
    postconf_scan_refs(raw, note_reference, ctx);
}

/* Reads master.cf for service names and -o references; a missing or
 * broken master.cf only means fewer names are known here. */
static void note_master_cf(usage_t *u)
{
    buf_t path = BUF_INIT;
    master_table_t *t;
    char *err = NULL;

    buf_printf(&path, "%s/master.cf", config_dir());
    t = mastercf_load(buf_str(&path), 100, &err);
    free(err);
    buf_release(&path);
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++) {
        argv_add(u->services, t->entries[i]->name);
        for (size_t j = 0; j < t->entries[i]->args->argc; j++)
            postconf_scan_refs(t->entries[i]->args->argv[j], note_reference, u);
    }
    mastercf_free(t);
}

static void usage_init(usage_t *u)
{
    argv_t *classes;

    u->referenced = argv_new();
    u->services = argv_new();
    for (size_t i = 0; param_table[i].name; i++)
        postconf_scan_refs(config_raw(param_table[i].name), note_reference, u);
    config_walk_set(note_set_value, u);
    note_master_cf(u);
    /* User-defined restriction classes are parameters too. */
    classes = config_list("smtpd_restriction_classes");
    for (size_t i = 0; i < classes->argc; i++)
        argv_add(u->referenced, classes->argv[i]);
    argv_free(classes);
    sort_argv(u->referenced);
}

static void usage_free(usage_t *u)
{
    argv_free(u->referenced);
    argv_free(u->services);
}

static int service_parameter(const usage_t *u, const char *name)
{
    for (size_t i = 0; i < u->services->argc; i++) {
        size_t n = strlen(u->services->argv[i]);

        if (strncmp(name, u->services->argv[i], n) != 0)
            continue;
        for (size_t s = 0; s < sizeof(service_suffixes) / sizeof(service_suffixes[0]); s++)
            if (strcmp(name + n, service_suffixes[s]) == 0)
                return 1;
    }
    return 0;
}

/* A main.cf name that is not in the table and that nothing refers to. */
static int is_unused(const usage_t *u, const char *name)
{
    return param_find(name) == NULL && !sorted_contains(u->referenced, name)
        && !service_parameter(u, name);
}

typedef struct unused_ctx {
    const usage_t *usage;
    argv_t        *unused;
} unused_ctx_t;

static void check_unused(const char *name, const char *raw, void *ctx)
{
    unused_ctx_t *c = ctx;

    if (is_unused(c->usage, name)) {
        msg_warn("%s/main.cf: unused parameter: %s=%s", config_dir(), name, raw);
        argv_add(c->unused, name);
    }
}

static void add_set_name(const char *name, const char *raw, void *ctx)
{
    (void) raw;
    argv_add(ctx, name);
}

/* ---- undefined references (-x) ---- */

typedef struct undefined_ctx {
    argv_t *warned;
} undefined_ctx_t;

static void check_defined(const char *name, size_t len, int plain, void *ctx)
{
    undefined_ctx_t *c = ctx;
    char *n;

    if (!plain)
        return;                     /* ${x?...} and ${x:...} test definedness */
    n = xstrndup(name, len);
    if (config_raw(n) == NULL) {
        int seen = 0;

        for (size_t i = 0; i < c->warned->argc && !seen; i++)
            seen = strcmp(c->warned->argv[i], n) == 0;
        if (!seen) {
            msg_warn("%s/main.cf: undefined parameter: %s", config_dir(), n);
            argv_add(c->warned, n);
        }
    }
    free(n);
}

/* ---- printing ---- */

static void print_one(const postconf_opts_t *o, const char *name, const char *value)
{
    if (o->names_only)
        printf("%s\n", name);
    else if (o->values_only)
        printf("%s\n", value);
    else if (*value == 0)
        printf("%s =\n", name);
    else
        printf("%s = %s\n", name, value);
}

static void show_name(const postconf_opts_t *o, const char *name, undefined_ctx_t *undef)
{
    const char *raw = config_raw(name);
    const char *value;

    if (raw == NULL) {
        msg_warn("%s: unknown parameter", name);
        return;
    }
    if (o->nondefault && !config_is_set(name))
        return;
    value = o->expand ? config_get(name) : raw;
    /* Values used as written (forward_path...) name per-message things. */
    if (o->expand && !o->defaults && strcmp(value, raw) != 0)
        postconf_scan_refs(raw, check_defined, undef);
    print_one(o, name, value);
}

/* Every table name, plus main.cf names other than the unused ones. */
static argv_t *all_names(const argv_t *unused)
{
    argv_t *names = argv_new();
    argv_t *set = argv_new();

    for (size_t i = 0; param_table[i].name; i++)
        argv_add(names, param_table[i].name);
    config_walk_set(add_set_name, set);
    for (size_t i = 0; i < set->argc; i++) {
        int skip = param_find(set->argv[i]) != NULL;

        for (size_t j = 0; j < unused->argc && !skip; j++)
            skip = strcmp(unused->argv[j], set->argv[i]) == 0;
        if (!skip)
            argv_add(names, set->argv[i]);
    }
    argv_free(set);
    sort_argv(names);
    return names;
}

void postconf_show(const postconf_opts_t *o, char **names, int count)
{
    undefined_ctx_t undef = { argv_new() };
    argv_t *unused = argv_new();
    argv_t *list;

    /* -d: nothing is read, so every value is the built-in default. */
    if (!o->defaults) {
        usage_t u;
        unused_ctx_t c = { &u, unused };

        config_load(o->config_dir);
        usage_init(&u);
        config_walk_set(check_unused, &c);
        usage_free(&u);
    }
    if (count > 0) {
        list = argv_new();
        for (int i = 0; i < count; i++)
            argv_add(list, names[i]);
    } else if (o->nondefault) {
        list = argv_new();
        config_walk_set(add_set_name, list);
    } else if (o->defaults) {
        list = argv_new();
        for (size_t i = 0; param_table[i].name; i++)
            argv_add(list, param_table[i].name);
    } else {
        list = all_names(unused);
    }
    for (size_t i = 0; i < list->argc; i++)
        show_name(o, list->argv[i], &undef);
    argv_free(list);
    argv_free(unused);
    argv_free(undef.warned);
}
