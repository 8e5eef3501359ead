/* table: opens "type:name" tables and answers lookups; the simple types
 * live here (static, inline, texthash, unix, nis, fail), with the in-memory
 * map they share. Database, regexp and cidr tables have their own files. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "argv.h"
#include "log.h"
#include "table_impl.h"

void table_fold(buf_t *out, const char *key)
{
    buf_set(out, key);
    buf_lower(out);
}

/* ---------------------------------------------------------------- */
/* memtab: chained hash of strings, growing with its contents        */
/* ---------------------------------------------------------------- */

typedef struct mem_entry {
    char             *key;
    char             *value;
    struct mem_entry *next;
} mem_entry_t;

struct memtab {
    mem_entry_t **buckets;
    size_t        size;       /* number of buckets, a power of two */
    size_t        count;
    size_t        bytes;
};

static size_t mem_hash(const char *key)
{
    size_t h = 2166136261u;                 /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *) key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

memtab_t *memtab_new(void)
{
    memtab_t *m = xcalloc(1, sizeof(*m));

    m->size = 64;
    m->buckets = xcalloc(m->size, sizeof(*m->buckets));
    return m;
}

void memtab_free(memtab_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->size; i++) {
        mem_entry_t *e = m->buckets[i];

        while (e) {
            mem_entry_t *next = e->next;

            free(e->key);
            free(e->value);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static mem_entry_t **mem_slot(const memtab_t *m, const char *key)
{
    mem_entry_t **pp = &m->buckets[mem_hash(key) & (m->size - 1)];

    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void mem_grow(memtab_t *m)
{
    size_t size = size_mul(m->size, 2);
    mem_entry_t **buckets = xcalloc(size, sizeof(*buckets));

    for (size_t i = 0; i < m->size; i++) {
        mem_entry_t *e = m->buckets[i];

        while (e) {
            mem_entry_t *next = e->next;
            size_t b = mem_hash(e->key) & (size - 1);

            e->next = buckets[b];
            buckets[b] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->size = size;
}

int memtab_put(memtab_t *m, const char *key, const char *value, int replace)
{
    mem_entry_t **pp = mem_slot(m, key);
    mem_entry_t *e;

    if (*pp) {
        if (replace) {
            m->bytes -= strlen((*pp)->value);
            free((*pp)->value);
            (*pp)->value = xstrdup(value);
            m->bytes = size_add(m->bytes, strlen(value));
        }
        return 0;
    }
    e = xmalloc(sizeof(*e));
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    e->next = NULL;
    *pp = e;
    m->count++;
    m->bytes = size_add(m->bytes, size_add(strlen(key), strlen(value)));
    if (m->count > m->size)
        mem_grow(m);
    return 1;
}

const char *memtab_get(const memtab_t *m, const char *key)
{
    mem_entry_t **pp = mem_slot(m, key);

    return *pp ? (*pp)->value : NULL;
}

int memtab_delete(memtab_t *m, const char *key)
{
    mem_entry_t **pp = mem_slot(m, key);
    mem_entry_t *e = *pp;

    if (e == NULL)
        return 0;
    *pp = e->next;
    m->count--;
    m->bytes -= strlen(e->key) + strlen(e->value);
    free(e->key);
    free(e->value);
    free(e);
    return 1;
}

size_t memtab_count(const memtab_t *m)
{
    return m->count;
}

size_t memtab_bytes(const memtab_t *m)
{
    return m->bytes;
}

int memtab_walk(const memtab_t *m, memtab_walk_fn fn, void *ctx)
{
    for (size_t i = 0; i < m->size; i++)
        for (mem_entry_t *e = m->buckets[i]; e; e = e->next) {
            int r = fn(e->key, e->value, ctx);

            if (r)
                return r;
        }
    return 0;
}

/* ---------------------------------------------------------------- */
/* In-memory tables: inline, texthash                                */
/* ---------------------------------------------------------------- */

static int mem_table_get(table_t *t, const char *key, buf_t *value)
{
    const char *v;

    if (t->flags & TABLE_FLAG_FOLD) {
        buf_t folded = BUF_INIT;

        table_fold(&folded, key);
        v = memtab_get(t->impl, buf_str(&folded));
        buf_release(&folded);
    } else {
        v = memtab_get(t->impl, key);
    }
    if (v == NULL)
        return TABLE_NOTFOUND;
    buf_set(value, v);
    return TABLE_FOUND;
}

static void mem_table_close(table_t *t)
{
    memtab_free(t->impl);
}

static const table_ops_t mem_table_ops = { mem_table_get, mem_table_close };

/* Adds key (folded when the table folds); 0 when it was already there. */
static int mem_table_add(table_t *t, const char *key, const char *value)
{
    buf_t folded = BUF_INIT;
    int added;

    if (t->flags & TABLE_FLAG_FOLD) {
        table_fold(&folded, key);
        key = buf_str(&folded);
    }
    added = memtab_put(t->impl, key, value, 0);
    buf_release(&folded);
    return added;
}

static void trim_into(buf_t *out, const char *p, size_t len)
{
    while (len > 0 && strchr(" \t\r\n", *p)) {
        p++;
        len--;
    }
    while (len > 0 && strchr(" \t\r\n", p[len - 1]))
        len--;
    buf_reset(out);
    buf_append(out, p, len);
}

/* Strips "{ ... }" around text (static:{ a b }, inline:{...}); NULL when
 * the braces are not balanced. Caller frees. */
static char *unbrace(const char *text)
{
    size_t len = strlen(text);
    buf_t out = BUF_INIT;

    if (len < 2 || text[0] != '{' || text[len - 1] != '}')
        return NULL;
    trim_into(&out, text + 1, len - 2);
    return buf_steal(&out);
}

/* inline:{ key=value, { key = value with spaces } } */
static int inline_open(table_t *t, const char *name, buf_t *err)
{
    char *inner = unbrace(name);
    argv_t *items;
    int rc = 0;

    if (inner == NULL) {
        buf_printf(err, "inline:%s: expected \"inline:{ key=value, ... }\"", name);
        return -1;
    }
    items = argv_split_list(inner);
    t->impl = memtab_new();
    t->ops = &mem_table_ops;
    for (size_t i = 0; i < items->argc && rc == 0; i++) {
        const char *eq = strchr(items->argv[i], '=');
        buf_t key = BUF_INIT, value = BUF_INIT;

        if (eq == NULL) {
            buf_printf(err, "inline:%s: expected key=value, found \"%s\"", name, items->argv[i]);
            rc = -1;
        } else {
            trim_into(&key, items->argv[i], (size_t) (eq - items->argv[i]));
            trim_into(&value, eq + 1, strlen(eq + 1));
            if (key.len == 0) {
                buf_printf(err, "inline:%s: empty key in \"%s\"", name, items->argv[i]);
                rc = -1;
            } else {
                (void) mem_table_add(t, buf_str(&key), buf_str(&value));
            }
        }
        buf_release(&key);
        buf_release(&value);
    }
    argv_free(items);
    free(inner);
    return rc;
}

/* texthash:/file: the postmap source format, read into memory. */
static int texthash_open(table_t *t, const char *path, buf_t *err)
{
    table_source_t *src = table_source_open(path, err);
    buf_t line = BUF_INIT, key = BUF_INIT, value = BUF_INIT;
    const char *why;
    int r;

    if (src == NULL)
        return -1;
    t->impl = memtab_new();
    t->ops = &mem_table_ops;
    while ((r = table_source_next(src, &line, err)) > 0) {
        if (table_parse_kv(buf_str(&line), &key, &value, &why) < 0)
            msg_warn("%s, line %d: %s", path, table_source_lineno(src), why);
        else if (!mem_table_add(t, buf_str(&key), buf_str(&value)))
            msg_warn("%s, line %d: duplicate entry: \"%s\"", path,
                     table_source_lineno(src), buf_str(&key));
    }
    table_source_close(src);
    buf_release(&line);
    buf_release(&key);
    buf_release(&value);
    return r < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- */
/* static:, nis:, fail:                                              */
/* ---------------------------------------------------------------- */

static int static_get(table_t *t, const char *key, buf_t *value)
{
    (void) key;
    buf_set(value, t->impl);
    return TABLE_FOUND;
}

static void free_impl(table_t *t)
{
    free(t->impl);
}

static const table_ops_t static_ops = { static_get, free_impl };

static int static_open(table_t *t, const char *name)
{
    char *inner = unbrace(name);

    t->impl = inner ? inner : xstrdup(name);
    t->ops = &static_ops;
    return 0;
}

/* No NIS domain is ever set: Postfix then disables NIS lookups. */
static int nis_get(table_t *t, const char *key, buf_t *value)
{
    (void) t;
    (void) key;
    (void) value;
    return TABLE_NOTFOUND;
}

static int fail_get(table_t *t, const char *key, buf_t *value)
{
    (void) value;
    msg_warn("%s lookup error for \"%s\"", t->spec, key);
    return TABLE_ERROR;
}

static void no_close(table_t *t)
{
    (void) t;
}

static const table_ops_t nis_ops = { nis_get, no_close };
static const table_ops_t fail_ops = { fail_get, no_close };

/* ---------------------------------------------------------------- */
/* unix:passwd.byname, unix:group.byname                             */
/* ---------------------------------------------------------------- */

static void lookup_key(const table_t *t, const char *key, buf_t *out)
{
    if (t->flags & TABLE_FLAG_FOLD)
        table_fold(out, key);
    else
        buf_set(out, key);
}

static int passwd_get(table_t *t, const char *key, buf_t *value)
{
    buf_t name = BUF_INIT;
    struct passwd *pw;

    lookup_key(t, key, &name);
    errno = 0;
    pw = getpwnam(buf_str(&name));
    buf_release(&name);
    if (pw == NULL) {
        /* getpwnam reports "no such user" with 0 or one of these. */
        if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF || errno == EPERM)
            return TABLE_NOTFOUND;
        msg_warn("%s: lookup of \"%s\": %s", t->spec, key, strerror(errno));
        return TABLE_ERROR;
    }
    buf_reset(value);
    buf_printf(value, "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name, pw->pw_passwd,
               (long) pw->pw_uid, (long) pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell);
    return TABLE_FOUND;
}

static int group_get(table_t *t, const char *key, buf_t *value)
{
    buf_t name = BUF_INIT;
    struct group *gr;

    lookup_key(t, key, &name);
    errno = 0;
    gr = getgrnam(buf_str(&name));
    buf_release(&name);
    if (gr == NULL) {
        if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF || errno == EPERM)
            return TABLE_NOTFOUND;
        msg_warn("%s: lookup of \"%s\": %s", t->spec, key, strerror(errno));
        return TABLE_ERROR;
    }
    buf_reset(value);
    buf_printf(value, "%s:%s:%ld:", gr->gr_name, gr->gr_passwd, (long) gr->gr_gid);
    for (char **m = gr->gr_mem; *m; m++)
        buf_printf(value, "%s%s", m == gr->gr_mem ? "" : ",", *m);
    return TABLE_FOUND;
}

static const table_ops_t passwd_ops = { passwd_get, no_close };
static const table_ops_t group_ops = { group_get, no_close };

static int unix_open(table_t *t, const char *name, buf_t *err)
{
    if (strcmp(name, "passwd.byname") == 0)
        t->ops = &passwd_ops;
    else if (strcmp(name, "group.byname") == 0)
        t->ops = &group_ops;
    else {
        buf_printf(err, "unknown table: unix:%s", name);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Opening                                                           */
/* ---------------------------------------------------------------- */

static int open_type(table_t *t, const char *type, const char *name, buf_t *err)
{
    if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0 || strcmp(type, "lmdb") == 0)
        return table_lmdb_open(t, type, name, err);
    if (strcmp(type, "texthash") == 0)
        return texthash_open(t, name, err);
    if (strcmp(type, "inline") == 0)
        return inline_open(t, name, err);
    if (strcmp(type, "static") == 0)
        return static_open(t, name);
    if (strcmp(type, "regexp") == 0) {
        t->pattern = 1;
        return table_regexp_open(t, name, err);
    }
    if (strcmp(type, "cidr") == 0) {
        t->pattern = 1;
        return table_cidr_open(t, name, err);
    }
    if (strcmp(type, "unix") == 0)
        return unix_open(t, name, err);
    if (strcmp(type, "nis") == 0) {
        t->ops = &nis_ops;
        return 0;
    }
    if (strcmp(type, "fail") == 0) {
        t->ops = &fail_ops;
        return 0;
    }
    buf_printf(err, "unsupported dictionary type: %s", type);
    return -1;
}

table_t *table_open(const char *spec, int flags, buf_t *err)
{
    table_t *t = xcalloc(1, sizeof(*t));
    const char *rest = spec;
    const char *colon;
    char *type = NULL;
    int rc;

    buf_reset(err);
    t->spec = xstrdup(spec);
    t->flags = flags;
    /* proxy: would go through proxymap; facteur opens the table itself. */
    while (strncmp(rest, "proxy:", 6) == 0)
        rest += 6;
    colon = strchr(rest, ':');
    if (colon == NULL || colon == rest) {
        buf_printf(err, "need dictionary type:name form: %s", spec);
        rc = -1;
    } else {
        type = xstrndup(rest, (size_t) (colon - rest));
        rc = open_type(t, type, colon + 1, err);
    }
    free(type);
    if (rc < 0) {
        if (t->ops)
            t->ops->close(t);
        free(t->spec);
        free(t);
        return NULL;
    }
    return t;
}

int table_get(table_t *t, const char *key, buf_t *value)
{
    return t->ops->get(t, key, value);
}

void table_close(table_t *t)
{
    if (t == NULL)
        return;
    t->ops->close(t);
    free(t->spec);
    free(t);
}

const char *table_spec(const table_t *t)
{
    return t->spec;
}

int table_is_pattern(const table_t *t)
{
    return t->pattern;
}
