/* table_maps: lists of tables ("hash:/a, regexp:/b") searched in order, and
 * Postfix's address search orders over them (virtual/canonical, access,
 * host names and IP addresses). A table that cannot be opened answers
 * ERROR, so that the mail is deferred, until it can be opened. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "argv.h"
#include "config.h"
#include "log.h"
#include "table_impl.h"

#define REOPEN_INTERVAL  1          /* seconds between attempts at a failed table */

typedef struct map_entry {
    char    *spec;
    table_t *table;                 /* NULL: could not be opened */
    char    *error;                 /* why, as last logged */
    time_t   tried;
} map_entry_t;

struct maps {
    char        *param;
    int          flags;
    int          parent_style;      /* "example.com" also matches subdomains */
    map_entry_t *v;
    size_t       n;
};

/* Splits a list at commas and whitespace; "{...}" (also inside an element,
 * as in inline:{ a=b, c=d }) stays whole, and an element that is all
 * braces loses them. */
static argv_t *split_maps_list(const char *s)
{
    argv_t *a = argv_new();

    while (*s) {
        const char *start;
        int depth = 0;

        s += strspn(s, LIST_DELIMS);
        if (*s == 0)
            break;
        start = s;
        while (*s && (depth > 0 || !strchr(LIST_DELIMS, *s))) {
            if (*s == '{')
                depth++;
            else if (*s == '}' && depth > 0)
                depth--;
            s++;
        }
        size_t len = (size_t) (s - start);

        if (len >= 2 && start[0] == '{' && start[len - 1] == '}') {
            argv_t *inner = argv_split_list(start);   /* strips the braces */

            for (size_t i = 0; i < inner->argc; i++)
                argv_add(a, inner->argv[i]);
            argv_free(inner);
        } else {
            argv_addn(a, start, len);
        }
    }
    return a;
}

/* smtpd's check_*_access tables count as "smtpd_access_maps". */
static int parent_style_for(const char *param)
{
    const char *list = config_str("parent_domain_matches_subdomains");
    size_t plen = strlen(param);
    int access = strncmp(param, "check_", 6) == 0 && plen > 7
        && strcmp(param + plen - 7, "_access") == 0;
    argv_t *names = argv_split(list, LIST_DELIMS);
    int found = 0;

    for (size_t i = 0; i < names->argc && !found; i++)
        found = strcmp(names->argv[i], param) == 0
            || (access && strcmp(names->argv[i], "smtpd_access_maps") == 0);
    argv_free(names);
    return found;
}

static void try_open(maps_t *m, map_entry_t *e)
{
    buf_t err = BUF_INIT;

    e->tried = time(NULL);
    e->table = table_open(e->spec, m->flags, &err);
    if (e->table) {
        free(e->error);
        e->error = NULL;
    } else if (e->error == NULL || strcmp(e->error, buf_str(&err)) != 0) {
        /* Logged once per reason, not at every lookup. */
        msg_warn("%s is unavailable. %s", e->spec, buf_str(&err));
        free(e->error);
        e->error = buf_steal(&err);
    }
    buf_release(&err);
}

maps_t *maps_open(const char *param, const char *value, int flags)
{
    maps_t *m = xcalloc(1, sizeof(*m));
    argv_t *specs = split_maps_list(value ? value : "");

    m->param = xstrdup(param);
    m->flags = flags;
    m->parent_style = parent_style_for(param);
    m->n = specs->argc;
    m->v = xcalloc(m->n ? m->n : 1, sizeof(*m->v));
    for (size_t i = 0; i < m->n; i++) {
        m->v[i].spec = xstrdup(specs->argv[i]);
        try_open(m, &m->v[i]);
    }
    argv_free(specs);
    return m;
}

void maps_free(maps_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        table_close(m->v[i].table);
        free(m->v[i].spec);
        free(m->v[i].error);
    }
    free(m->v);
    free(m->param);
    free(m);
}

int maps_empty(const maps_t *m)
{
    return m == NULL || m->n == 0;
}

/* Searches the tables in order; fixed_only skips pattern tables. */
static int maps_lookup(maps_t *m, const char *key, int fixed_only, buf_t *value)
{
    for (size_t i = 0; i < m->n; i++) {
        map_entry_t *e = &m->v[i];
        int r;

        if (e->table == NULL && time(NULL) - e->tried >= REOPEN_INTERVAL)
            try_open(m, e);
        if (e->table == NULL) {
            msg_debug("%s: %s lookup of \"%s\": table unavailable", m->param, e->spec, key);
            return TABLE_ERROR;
        }
        if (fixed_only && table_is_pattern(e->table))
            continue;
        r = table_get(e->table, key, value);
        if (r != TABLE_NOTFOUND)
            return r;
    }
    return TABLE_NOTFOUND;
}

int maps_get(maps_t *m, const char *key, buf_t *value)
{
    return maps_lookup(m, key, 0, value);
}

/* ---------------------------------------------------------------- */
/* Search orders                                                     */
/* ---------------------------------------------------------------- */

typedef struct addr_parts {
    buf_t local;                    /* user+ext */
    buf_t base;                     /* user (= local without extension) */
    const char *domain;             /* NULL when there is no '@' */
    int   has_ext;
} addr_parts_t;

/* Splits user+ext@domain; the extension starts at the first
 * recipient_delimiter character (not in first place; with '-', not in
 * owner-x and x-request). */
static void addr_parts(addr_parts_t *a, const char *addr)
{
    const char *at = strrchr(addr, '@');
    const char *delims = config_str("recipient_delimiter");
    size_t cut;

    buf_init(&a->local);
    buf_init(&a->base);
    buf_append(&a->local, addr, at ? (size_t) (at - addr) : strlen(addr));
    a->domain = at ? at + 1 : NULL;
    cut = *delims ? strcspn(buf_str(&a->local), delims) : a->local.len;
    if (cut > 0 && cut < a->local.len) {
        const char *lp = buf_str(&a->local);
        int special = lp[cut] == '-'
            && (strncmp(lp, "owner-", 6) == 0
                || (a->local.len > 8 && strcmp(lp + a->local.len - 8, "-request") == 0));

        if (!special) {
            buf_append(&a->base, lp, cut);
            a->has_ext = 1;
            return;
        }
    }
    a->has_ext = 0;
    buf_set(&a->base, buf_str(&a->local));
}

static void addr_parts_release(addr_parts_t *a)
{
    buf_release(&a->local);
    buf_release(&a->base);
}

/* A result: FOUND/ERROR end the search, NOTFOUND goes on. */
#define DONE(r)  ((r) != TABLE_NOTFOUND)

static int lookup_fmt(maps_t *m, buf_t *key, buf_t *value, const char *a, const char *b)
{
    buf_set(key, a);
    buf_puts(key, b);
    return maps_lookup(m, buf_str(key), 1, value);
}

/* "sub.example.com", then "example.com", "com" (parent style) or
 * ".example.com", ".com". */
static int find_domain(maps_t *m, const char *domain, int first_full, buf_t *key, buf_t *value)
{
    int r;

    if (*domain == 0)
        return TABLE_NOTFOUND;
    r = maps_lookup(m, domain, !first_full, value);
    for (const char *dot = strchr(domain + 1, '.'); !DONE(r) && dot && dot[1];
         dot = strchr(dot + 1, '.'))
        r = lookup_fmt(m, key, value, "", m->parent_style ? dot + 1 : dot);
    return r;
}

static int find_virtual(maps_t *m, const addr_parts_t *a, int local_domain, buf_t *key,
                        buf_t *value, int *matched_ext)
{
    int r = TABLE_NOTFOUND;

    if (a->has_ext && a->domain) {
        buf_reset(key);
        buf_printf(key, "%s@%s", buf_str(&a->base), a->domain);
        if (DONE(r = maps_lookup(m, buf_str(key), 1, value))) {
            *matched_ext = r == TABLE_FOUND;
            return r;
        }
    }
    if (a->domain == NULL || local_domain) {
        if (a->domain && DONE(r = maps_lookup(m, buf_str(&a->local), 1, value)))
            return r;
        if (a->has_ext && DONE(r = maps_lookup(m, buf_str(&a->base), 1, value))) {
            *matched_ext = r == TABLE_FOUND;
            return r;
        }
    }
    if (a->domain)
        r = lookup_fmt(m, key, value, "@", a->domain);
    return r;
}

static int find_access(maps_t *m, const addr_parts_t *a, buf_t *key, buf_t *value,
                       int *matched_ext)
{
    int r = TABLE_NOTFOUND;

    if (a->has_ext && a->domain) {
        buf_reset(key);
        buf_printf(key, "%s@%s", buf_str(&a->base), a->domain);
        if (DONE(r = maps_lookup(m, buf_str(key), 1, value))) {
            *matched_ext = r == TABLE_FOUND;
            return r;
        }
    }
    if (a->domain && DONE(r = find_domain(m, a->domain, 0, key, value)))
        return r;
    if (DONE(r = lookup_fmt(m, key, value, buf_str(&a->local), "@")))
        return r;
    if (a->has_ext && DONE(r = lookup_fmt(m, key, value, buf_str(&a->base), "@")))
        *matched_ext = r == TABLE_FOUND;
    return r;
}

/* "1.2.3.4", "1.2.3", "1.2", "1"; IPv6 cut at ':' the same way. */
static int find_ip(maps_t *m, const char *addr, buf_t *key, buf_t *value)
{
    char delim = strchr(addr, ':') ? ':' : '.';
    int r = maps_lookup(m, addr, 0, value);
    char *cut;

    buf_set(key, addr);
    while (!DONE(r) && (cut = strrchr(key->data, delim)) != NULL && cut > key->data) {
        buf_truncate(key, (size_t) (cut - key->data));
        r = maps_lookup(m, buf_str(key), 1, value);
    }
    return r;
}

int maps_find_addr(maps_t *m, const char *addr, int order, int local_domain,
                   buf_t *value, int *matched_ext)
{
    buf_t key = BUF_INIT;
    addr_parts_t a;
    int ext = 0, r;

    if (m == NULL || m->n == 0)
        return TABLE_NOTFOUND;
    if (order == MAPS_ADDR_HOST)
        r = find_domain(m, addr, 1, &key, value);
    else if (order == MAPS_ADDR_IP)
        r = find_ip(m, addr, &key, value);
    else if (order == MAPS_ADDR_ACCESS && *addr == 0)
        r = maps_lookup(m, "<>", 0, value);
    else if (DONE(r = maps_lookup(m, addr, 0, value)))
        ;                                   /* the full address, in every table */
    else {
        addr_parts(&a, addr);
        if (order == MAPS_ADDR_VIRTUAL)
            r = find_virtual(m, &a, local_domain, &key, value, &ext);
        else
            r = find_access(m, &a, &key, value, &ext);
        addr_parts_release(&a);
    }
    if (matched_ext)
        *matched_ext = r == TABLE_FOUND && ext;
    buf_release(&key);
    return r;
}
