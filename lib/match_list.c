/* match_list: Postfix's domain and host match lists (mydestination,
 * relay_domains, mynetworks...): names, .subdomains, CIDR blocks,
 * type:table lookups, /file includes and !negation, first match wins. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "match_list.h"
#include "table.h"

#define REOPEN_INTERVAL   1                 /* seconds between retries */
#define FILE_SIZE_LIMIT   (16L * 1024 * 1024)
#define INCLUDE_DEPTH_MAX 10                /* /file inside /file... */

enum entry_kind { ENTRY_NAME, ENTRY_CIDR, ENTRY_TABLE, ENTRY_FILE, ENTRY_BAD };

typedef struct cidr {
    int           family;                   /* AF_INET or AF_INET6 */
    unsigned char bytes[16];
    int           bits;
} cidr_t;

typedef struct entry {
    enum entry_kind kind;
    int             negate;
    char           *text;                   /* pattern, table spec or file path */
    cidr_t          cidr;
    table_t        *table;                  /* ENTRY_TABLE; NULL while unavailable */
    match_list_t   *sub;                    /* ENTRY_FILE; NULL while unreadable */
    time_t          tried;
    char           *error;                  /* the reason last logged */
} entry_t;

struct match_list {
    char    *param;
    int      kind;
    int      parent_style;                  /* "example.com" covers subdomains */
    int      depth;                         /* include nesting */
    entry_t *v;
    size_t   n;
    size_t   cap;
};

/* Walk results besides MATCH_FOUND / MATCH_NONE / MATCH_ERROR. */
#define WALK_UNDECIDED 2

/* What unreadable entries could have said, for the three-valued answer. */
typedef struct walk {
    int unknown_found;                      /* one could have said "match" */
    int unknown_none;                       /* one could have said "no match" */
} walk_t;

static match_list_t *list_parse(const char *param, const char *value, int kind,
                                int parent_style, int depth);

/* ---------------------------------------------------------------- */
/* Parsing                                                          */
/* ---------------------------------------------------------------- */

static int name_in_param_list(const char *list_param, const char *name)
{
    argv_t *names = argv_split(config_str(list_param), LIST_DELIMS);
    int found = 0;

    for (size_t i = 0; i < names->argc && !found; i++)
        found = strcasecmp(names->argv[i], name) == 0;
    argv_free(names);
    return found;
}

/* Lower case, no trailing dot. */
static void normalize_name(buf_t *out, const char *name)
{
    buf_set(out, name);
    buf_lower(out);
    if (out->len > 1 && out->data[out->len - 1] == '.')
        buf_truncate(out, out->len - 1);
}

/* "1.2.3.4", "1.2.3.0/24", "[::1]/128", "::1/128", "[fe80::1]". 0 when
 * text is an address form (c filled, or c->bits < 0 when the mask is bad),
 * -1 when it is not an address at all. */
static int cidr_parse(const char *text, cidr_t *c)
{
    char addr[INET6_ADDRSTRLEN + 2];
    const char *slash = strrchr(text, '/');
    size_t len = slash ? (size_t) (slash - text) : strlen(text);
    char *end;
    long bits;

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(addr))
        return -1;
    memcpy(addr, text, len);
    addr[len] = 0;
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, addr, c->bytes) == 1) {
        c->family = AF_INET;
        c->bits = 32;
    } else if (inet_pton(AF_INET6, addr, c->bytes) == 1) {
        c->family = AF_INET6;
        c->bits = 128;
    } else {
        return -1;
    }
    if (slash != NULL) {
        errno = 0;
        bits = strtol(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end != 0 || bits < 0 || bits > c->bits)
            c->bits = -1;
        else
            c->bits = (int) bits;
    }
    return 0;
}

/* Clears the bits below the mask; 1 when some were set. */
static int cidr_mask(cidr_t *c)
{
    int size = c->family == AF_INET ? 4 : 16, changed = 0;

    for (int i = 0; i < size; i++) {
        int keep = c->bits - i * 8;
        unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char) (0xff << (8 - keep));

        if (c->bytes[i] & ~mask)
            changed = 1;
        c->bytes[i] &= mask;
    }
    return changed;
}

static void warn_host_bits(const match_list_t *l, const char *text, const cidr_t *c)
{
    char shown[INET6_ADDRSTRLEN];

    if (inet_ntop(c->family, c->bytes, shown, sizeof(shown)) == NULL)
        return;
    msg_warn("%s: non-null host address bits in \"%s\", perhaps you should use "
             "\"%s%s%s/%d\" instead", l->param, text, c->family == AF_INET6 ? "[" : "",
             shown, c->family == AF_INET6 ? "]" : "", c->bits);
}

/* "type:name" with a plain word as the type. */
static int looks_like_table(const char *text)
{
    const char *colon = strchr(text, ':');

    if (colon == NULL || colon == text || colon[1] == 0)
        return 0;
    for (const char *p = text; p < colon; p++)
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
            return 0;
    return 1;
}

static entry_t *entry_add(match_list_t *l, enum entry_kind kind, int negate, const char *text)
{
    entry_t *e;

    if (l->n == l->cap) {
        l->cap = l->cap ? size_mul(l->cap, 2) : 8;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    e = &l->v[l->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->negate = negate;
    e->text = xstrdup(text);
    return e;
}

/* Logs why an entry is unavailable, once per distinct reason. */
static void entry_unavailable(const match_list_t *l, entry_t *e, const char *why)
{
    if (e->error != NULL && strcmp(e->error, why) == 0)
        return;
    msg_warn("%s: %s is unavailable: %s", l->param, e->text, why);
    free(e->error);
    e->error = xstrdup(why);
}

static void entry_available(entry_t *e)
{
    free(e->error);
    e->error = NULL;
}

static void table_try_open(match_list_t *l, entry_t *e)
{
    buf_t err = BUF_INIT;

    e->tried = time(NULL);
    e->table = table_open(e->text, TABLE_FLAG_FOLD, &err);
    if (e->table == NULL)
        entry_unavailable(l, e, buf_str(&err));
    else
        entry_available(e);
    buf_release(&err);
}

/* Reads a whole include file (bounded); -1 with why on failure. */
static int read_small_file(const char *path, buf_t *out, buf_t *why)
{
    struct stat st;
    char chunk[8192];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        buf_printf(why, "open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_SIZE_LIMIT) {
        buf_printf(why, "%s: not a regular file of at most %ld bytes", path, FILE_SIZE_LIMIT);
        close(fd);
        return -1;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            buf_printf(why, "read %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (out->len + (size_t) n > (size_t) FILE_SIZE_LIMIT) {
            buf_printf(why, "%s: larger than %ld bytes", path, FILE_SIZE_LIMIT);
            close(fd);
            return -1;
        }
        buf_append(out, chunk, (size_t) n);
    }
    close(fd);
    return 0;
}

/* The file's entries without its comment lines, as one list value. */
static void strip_comments(buf_t *value, const char *text)
{
    while (*text) {
        size_t len = strcspn(text, "\n");
        const char *first = text + strspn(text, " \t\r");

        if (*first != '#' && first < text + len) {
            buf_append(value, text, len);
            buf_putc(value, '\n');
        }
        text += len;
        if (*text == '\n')
            text++;
    }
}

static void file_try_read(match_list_t *l, entry_t *e)
{
    buf_t text = BUF_INIT, value = BUF_INIT, why = BUF_INIT;

    e->tried = time(NULL);
    if (l->depth >= INCLUDE_DEPTH_MAX) {
        entry_unavailable(l, e, "files included too deeply");
    } else if (read_small_file(e->text, &text, &why) < 0) {
        entry_unavailable(l, e, buf_str(&why));
    } else {
        strip_comments(&value, buf_str(&text));
        e->sub = list_parse(l->param, buf_str(&value), l->kind, l->parent_style, l->depth + 1);
        entry_available(e);
    }
    buf_release(&text);
    buf_release(&value);
    buf_release(&why);
}

static void parse_entry(match_list_t *l, const char *token)
{
    int negate = 0;
    cidr_t c;
    buf_t name = BUF_INIT;
    entry_t *e;

    for (; *token == '!'; token++)
        negate = !negate;
    if (*token == 0) {
        msg_warn("%s: empty negated entry ignored", l->param);
        return;
    }
    if (*token == '/') {
        file_try_read(l, entry_add(l, ENTRY_FILE, negate, token));
    } else if (l->kind == MATCH_LIST_HOST && cidr_parse(token, &c) == 0) {
        e = entry_add(l, ENTRY_CIDR, negate, token);
        if (c.bits < 0) {
            msg_warn("%s: bad net/mask pattern: \"%s\"; it matches nothing", l->param, token);
            e->kind = ENTRY_BAD;
        } else {
            if (cidr_mask(&c))
                warn_host_bits(l, token, &c);
            e->cidr = c;
        }
    } else if (looks_like_table(token)) {
        table_try_open(l, entry_add(l, ENTRY_TABLE, negate, token));
    } else {
        normalize_name(&name, token);
        entry_add(l, ENTRY_NAME, negate, buf_str(&name));
    }
    buf_release(&name);
}

argv_t *match_list_split(const char *s)
{
    argv_t *a = argv_new();

    while (s != NULL && *s) {
        const char *start;
        size_t len;
        int depth = 0;

        s += strspn(s, LIST_DELIMS);
        if (*s == 0)
            break;
        start = s;
        while (*s && (depth > 0 || strchr(LIST_DELIMS, *s) == NULL)) {
            if (*s == '{')
                depth++;
            else if (*s == '}' && depth > 0)
                depth--;
            s++;
        }
        len = (size_t) (s - start);
        if (start[0] == '{' && start[len - 1] == '}') {
            /* "{ a b }": one element, without braces and outer blanks. */
            const char *b = start + 1, *e = start + len - 1;

            while (b < e && strchr(" \t\r\n", *b))
                b++;
            while (e > b && strchr(" \t\r\n", e[-1]))
                e--;
            if (e > b)
                argv_addn(a, b, (size_t) (e - b));
        } else {
            argv_addn(a, start, len);
        }
    }
    return a;
}

static match_list_t *list_parse(const char *param, const char *value, int kind,
                                int parent_style, int depth)
{
    match_list_t *l = xcalloc(1, sizeof(*l));
    argv_t *tokens = match_list_split(value);

    l->param = xstrdup(param);
    l->kind = kind;
    l->parent_style = parent_style;
    l->depth = depth;
    for (size_t i = 0; i < tokens->argc; i++)
        parse_entry(l, tokens->argv[i]);
    argv_free(tokens);
    return l;
}

match_list_t *match_list_open(const char *param, const char *value, int kind)
{
    return list_parse(param, value, kind,
                      name_in_param_list("parent_domain_matches_subdomains", param), 0);
}

match_list_t *match_list_config(const char *param, int kind)
{
    return match_list_open(param, config_str(param), kind);
}

void match_list_free(match_list_t *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++) {
        table_close(l->v[i].table);
        match_list_free(l->v[i].sub);
        free(l->v[i].text);
        free(l->v[i].error);
    }
    free(l->v);
    free(l->param);
    free(l);
}

int match_list_empty(const match_list_t *l)
{
    return l == NULL || l->n == 0;
}

/* ---------------------------------------------------------------- */
/* Matching one entry: 1, 0, or -1 when it cannot tell              */
/* ---------------------------------------------------------------- */

/* name is normalised; "unknown" is no name. */
static int name_matches(const match_list_t *l, const char *name, const char *pattern)
{
    size_t nlen = strlen(name), plen = strlen(pattern);

    if (pattern[0] == '.')
        return nlen > plen && strcmp(name + nlen - plen, pattern) == 0;
    if (strcmp(name, pattern) == 0)
        return 1;
    return l->parent_style && nlen > plen && name[nlen - plen - 1] == '.'
        && strcmp(name + nlen - plen, pattern) == 0;
}

/* Looks key up; 1 found, 0 not, -1 error. */
static int table_has(table_t *t, const char *key)
{
    buf_t value = BUF_INIT;
    int r = table_get(t, key, &value);

    buf_release(&value);
    return r == TABLE_FOUND ? 1 : r == TABLE_NOTFOUND ? 0 : -1;
}

/* "sub.example.com", then "example.com"/".example.com" and so on. */
static int table_has_name(const match_list_t *l, table_t *t, const char *name)
{
    int r = table_has(t, name);

    if (r != 0 || table_is_pattern(t))
        return r;
    for (const char *dot = strchr(name + 1, '.'); dot != NULL && dot[1] != 0;
         dot = strchr(dot + 1, '.')) {
        if ((r = table_has(t, l->parent_style ? dot + 1 : dot)) != 0)
            return r;
    }
    return 0;
}

static int cidr_contains(const cidr_t *c, int family, const unsigned char *addr)
{
    int full = c->bits / 8, rest = c->bits % 8;

    if (family != c->family || memcmp(addr, c->bytes, (size_t) full) != 0)
        return 0;
    return rest == 0 || ((addr[full] ^ c->bytes[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* The subject of one lookup: a name and/or an address. */
typedef struct subject {
    const char   *name;                     /* normalised, or NULL */
    const char   *addr;                     /* printable, or NULL */
    int           family;                   /* 0 when addr did not parse */
    unsigned char bytes[16];
} subject_t;

static int table_entry_match(match_list_t *l, entry_t *e, const subject_t *s)
{
    int by_name = 0, by_addr = 0;

    if (e->table == NULL && time(NULL) - e->tried >= REOPEN_INTERVAL)
        table_try_open(l, e);
    if (e->table == NULL)
        return -1;
    if (s->name != NULL && (by_name = table_has_name(l, e->table, s->name)) == 1)
        return 1;
    if (s->addr != NULL && (by_addr = table_has(e->table, s->addr)) == 1)
        return 1;
    if (by_name < 0 || by_addr < 0) {
        msg_warn("%s: %s: table lookup problem", l->param, e->text);
        return -1;
    }
    return 0;
}

static int entry_match(match_list_t *l, entry_t *e, const subject_t *s)
{
    switch (e->kind) {
    case ENTRY_NAME:
        return s->name != NULL && name_matches(l, s->name, e->text);
    case ENTRY_CIDR:
        return s->family != 0 && cidr_contains(&e->cidr, s->family, s->bytes);
    case ENTRY_TABLE:
        return table_entry_match(l, e, s);
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- */
/* The walk                                                         */
/* ---------------------------------------------------------------- */

static void note_unknown(walk_t *w, int negate)
{
    if (negate)
        w->unknown_none = 1;
    else
        w->unknown_found = 1;
}

/* A decision, unless an earlier unknown entry could have decided otherwise. */
static int decide(const walk_t *w, int found)
{
    if (found && w->unknown_none)
        return MATCH_ERROR;
    if (!found && w->unknown_found)
        return MATCH_ERROR;
    return found ? MATCH_FOUND : MATCH_NONE;
}

static int walk(match_list_t *l, const subject_t *s, int negate, walk_t *w)
{
    for (size_t i = 0; i < l->n; i++) {
        entry_t *e = &l->v[i];
        int neg = negate ^ e->negate, r;

        if (e->kind == ENTRY_FILE) {
            if (e->sub == NULL && time(NULL) - e->tried >= REOPEN_INTERVAL)
                file_try_read(l, e);
            if (e->sub == NULL) {
                /* An unreadable file is taken to hold positive entries. */
                note_unknown(w, neg);
                continue;
            }
            if ((r = walk(e->sub, s, neg, w)) != WALK_UNDECIDED)
                return r;
            continue;
        }
        r = entry_match(l, e, s);
        if (r < 0)
            note_unknown(w, neg);
        else if (r > 0)
            return decide(w, !neg);
    }
    return WALK_UNDECIDED;
}

static int run(match_list_t *l, const subject_t *s)
{
    walk_t w = { 0, 0 };
    int r;

    if (l == NULL)
        return MATCH_NONE;
    r = walk(l, s, 0, &w);
    if (r == WALK_UNDECIDED)
        r = w.unknown_found ? MATCH_ERROR : MATCH_NONE;
    return r;
}

int match_list_domain(match_list_t *l, const char *domain)
{
    buf_t name = BUF_INIT;
    subject_t s;
    int r;

    memset(&s, 0, sizeof(s));
    normalize_name(&name, domain ? domain : "");
    s.name = name.len > 0 ? buf_str(&name) : NULL;
    r = run(l, &s);
    buf_release(&name);
    return r;
}

/* "[::1]", "IPv6:::1", "::1", "1.2.3.4" -> the plain address text. */
static void plain_address(buf_t *out, const char *addr)
{
    size_t len = strlen(addr);

    if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }
    if (len > 5 && strncasecmp(addr, "ipv6:", 5) == 0) {
        addr += 5;
        len -= 5;
    }
    buf_reset(out);
    buf_append(out, addr, len);
    buf_lower(out);
}

/* ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4. */
static void unmap_v4(subject_t *s)
{
    static const unsigned char prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (s->family == AF_INET6 && memcmp(s->bytes, prefix, sizeof(prefix)) == 0) {
        memmove(s->bytes, s->bytes + 12, 4);
        s->family = AF_INET;
    }
}

int match_list_host(match_list_t *l, const char *name, const char *addr)
{
    buf_t norm = BUF_INIT, plain = BUF_INIT;
    subject_t s;
    int r;

    memset(&s, 0, sizeof(s));
    if (name != NULL && *name != 0 && strcasecmp(name, "unknown") != 0) {
        normalize_name(&norm, name);
        s.name = buf_str(&norm);
    }
    if (addr != NULL && *addr != 0 && strcasecmp(addr, "unknown") != 0) {
        plain_address(&plain, addr);
        s.addr = buf_str(&plain);
        if (inet_pton(AF_INET, s.addr, s.bytes) == 1)
            s.family = AF_INET;
        else if (inet_pton(AF_INET6, s.addr, s.bytes) == 1)
            s.family = AF_INET6;
        unmap_v4(&s);
    }
    r = run(l, &s);
    buf_release(&norm);
    buf_release(&plain);
    return r;
}
