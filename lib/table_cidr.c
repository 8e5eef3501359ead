/* table_cidr: cidr:/file tables: "network/prefix result" rules for IPv4
 * and IPv6 (an address alone is a host; [brackets] allowed), "!" negation
 * and if/endif blocks. First match wins. A bad rule is logged with its
 * file and line and skipped, as Postfix does. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "log.h"
#include "table_impl.h"

typedef enum { CIDR_MATCH, CIDR_IF, CIDR_ENDIF } cidr_kind_t;

typedef struct cidr_rule {
    cidr_kind_t   kind;
    int           family;       /* AF_INET or AF_INET6 */
    unsigned char net[16];
    unsigned      prefix;       /* bits */
    int           negate;
    char         *result;       /* CIDR_MATCH */
    size_t        skip_to;      /* CIDR_IF: the rule after its endif */
} cidr_rule_t;

typedef struct cidr_table {
    cidr_rule_t *rules;
    size_t       count;
    size_t       cap;
} cidr_table_t;

/* Parses an address (brackets and "ipv6:" allowed); IPv4-mapped IPv6
 * addresses become IPv4. Returns the family, or 0. */
static int parse_addr(const char *text, size_t len, unsigned char *out)
{
    char tmp[INET6_ADDRSTRLEN + 8];

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (len > 5 && strncasecmp(text, "ipv6:", 5) == 0) {
        text += 5;
        len -= 5;
    }
    if (len == 0 || len >= sizeof(tmp))
        return 0;
    memcpy(tmp, text, len);
    tmp[len] = 0;
    if (inet_pton(AF_INET, tmp, out) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, tmp, out) != 1)
        return 0;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (memcmp(out, mapped, sizeof(mapped)) == 0) {
        memmove(out, out + 12, 4);
        return AF_INET;
    }
    return AF_INET6;
}

/* Does addr fall in net/prefix? */
static int in_network(const unsigned char *addr, const unsigned char *net, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;

    if (memcmp(addr, net, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char) (0xff << (8 - rest));

    return (addr[whole] & mask) == (net[whole] & mask);
}

static int host_bits_clear(const unsigned char *net, unsigned prefix, unsigned bits)
{
    for (unsigned b = prefix; b < bits; b++)
        if (net[b / 8] & (0x80 >> (b % 8)))
            return 0;
    return 1;
}

/* "1.2.3.0/24", "[2001:db8::]/32", "192.168.1.1". -1 with why. */
static int parse_network(const char *text, cidr_rule_t *r, buf_t *why)
{
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t) (slash - text) : strlen(text);
    unsigned bits;

    r->family = parse_addr(text, alen, r->net);
    if (r->family == 0) {
        buf_printf(why, "bad address pattern: \"%s\"", text);
        return -1;
    }
    bits = r->family == AF_INET ? 32 : 128;
    r->prefix = bits;
    if (slash) {
        char *end;
        unsigned long n;

        if (!isdigit((unsigned char) slash[1])) {
            buf_printf(why, "bad net/mask pattern: \"%s\"", text);
            return -1;
        }
        n = strtoul(slash + 1, &end, 10);
        if (*end != 0 || n > bits) {
            buf_printf(why, "bad net/mask pattern: \"%s\"", text);
            return -1;
        }
        r->prefix = (unsigned) n;
    }
    if (!host_bits_clear(r->net, r->prefix, bits)) {
        buf_printf(why, "non-null host address bits in \"%s\"", text);
        return -1;
    }
    return 0;
}

static cidr_rule_t *cidr_add(cidr_table_t *ct, const cidr_rule_t *r)
{
    if (ct->count == ct->cap) {
        ct->cap = ct->cap ? size_mul(ct->cap, 2) : 16;
        ct->rules = xreallocarray(ct->rules, ct->cap, sizeof(*ct->rules));
    }
    ct->rules[ct->count] = *r;
    return &ct->rules[ct->count++];
}

static int keyword(const char *p, const char *word)
{
    size_t n = strlen(word);

    return strncasecmp(p, word, n) == 0 && (p[n] == 0 || isspace((unsigned char) p[n]));
}

static int cidr_parse_line(cidr_table_t *ct, const char *line, buf_t *why)
{
    const char *p = line + strspn(line, " \t");
    cidr_rule_t r;
    char *pattern;
    size_t len;
    int rc;

    memset(&r, 0, sizeof(r));
    if (keyword(p, "endif")) {
        r.kind = CIDR_ENDIF;
        cidr_add(ct, &r);
        return 0;
    }
    r.kind = CIDR_MATCH;
    if (keyword(p, "if")) {
        r.kind = CIDR_IF;
        p += 2;
        p += strspn(p, " \t");
    }
    if (*p == '!') {
        r.negate = 1;
        p++;
    }
    len = strcspn(p, " \t");
    pattern = xstrndup(p, len);
    p += len;
    p += strspn(p, " \t");
    if (r.kind == CIDR_MATCH && *p == 0) {
        buf_set(why, "no lookup result");
        rc = -1;
    } else if (r.kind == CIDR_IF && *p != 0) {
        buf_set(why, "text after \"if network/prefix\"");
        rc = -1;
    } else {
        rc = parse_network(pattern, &r, why);
    }
    free(pattern);
    if (rc < 0)
        return -1;
    if (r.kind == CIDR_MATCH)
        r.result = xstrdup(p);
    cidr_add(ct, &r);
    return 0;
}

/* Links each if to the rule after its endif; stray endifs are dropped. */
static void cidr_link_blocks(cidr_table_t *ct, const char *path)
{
    size_t *stack = xcalloc(ct->count + 1, sizeof(size_t));
    size_t depth = 0, out = 0;

    for (size_t i = 0; i < ct->count; i++) {
        cidr_rule_t r = ct->rules[i];

        if (r.kind == CIDR_ENDIF && depth == 0) {
            msg_warn("cidr map %s: ignoring endif without matching if", path);
            continue;
        }
        ct->rules[out] = r;
        if (r.kind == CIDR_IF)
            stack[depth++] = out;
        else if (r.kind == CIDR_ENDIF)
            ct->rules[stack[--depth]].skip_to = out + 1;
        out++;
    }
    ct->count = out;
    if (depth > 0)
        msg_warn("cidr map %s: if without matching endif: the block ends at the end of the file", path);
    while (depth > 0)
        ct->rules[stack[--depth]].skip_to = ct->count;
    free(stack);
}

static int cidr_rule_matches(const cidr_rule_t *r, int family, const unsigned char *addr)
{
    int in = r->family == family && in_network(addr, r->net, r->prefix);

    return in != r->negate;
}

static int cidr_get(table_t *t, const char *key, buf_t *value)
{
    cidr_table_t *ct = t->impl;
    unsigned char addr[16];
    int family = parse_addr(key, strlen(key), addr);
    size_t i = 0;

    if (family == 0)
        return TABLE_NOTFOUND;
    while (i < ct->count) {
        const cidr_rule_t *r = &ct->rules[i];

        if (r->kind == CIDR_ENDIF) {
            i++;
        } else if (r->kind == CIDR_IF) {
            i = cidr_rule_matches(r, family, addr) ? i + 1 : r->skip_to;
        } else if (cidr_rule_matches(r, family, addr)) {
            buf_set(value, r->result);
            return TABLE_FOUND;
        } else {
            i++;
        }
    }
    return TABLE_NOTFOUND;
}

static void cidr_free(cidr_table_t *ct)
{
    for (size_t i = 0; i < ct->count; i++)
        free(ct->rules[i].result);
    free(ct->rules);
    free(ct);
}

static void cidr_close(table_t *t)
{
    cidr_free(t->impl);
}

static const table_ops_t cidr_ops = { cidr_get, cidr_close };

int table_cidr_open(table_t *t, const char *path, buf_t *err)
{
    table_source_t *src = table_source_open(path, err);
    cidr_table_t *ct;
    buf_t line = BUF_INIT, why = BUF_INIT;
    int r;

    if (src == NULL)
        return -1;
    ct = xcalloc(1, sizeof(*ct));
    while ((r = table_source_next(src, &line, err)) > 0) {
        buf_reset(&why);
        if (cidr_parse_line(ct, buf_str(&line), &why) < 0)
            msg_warn("cidr map %s, line %d: %s: skipping this rule",
                     path, table_source_lineno(src), buf_str(&why));
    }
    table_source_close(src);
    buf_release(&line);
    buf_release(&why);
    if (r < 0) {
        cidr_free(ct);
        return -1;
    }
    cidr_link_blocks(ct, path);
    t->impl = ct;
    t->ops = &cidr_ops;
    return 0;
}
