/* table_regexp: regexp:/file tables, Postfix's "/pattern/flags result"
 * rules with POSIX extended expressions, case-insensitive by default,
 * "!" negation, if/endif blocks and $1..$9 in results. First match wins.
 * A bad rule is logged with its file and line and skipped, as Postfix does. */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "log.h"
#include "table_impl.h"

#define RX_GROUPS  10               /* $0..$9 */

typedef enum { RX_MATCH, RX_IF, RX_ENDIF } rx_kind_t;

typedef struct rx_rule {
    rx_kind_t kind;
    regex_t   re;
    int       negate;
    char     *result;               /* RX_MATCH */
    size_t    skip_to;              /* RX_IF: the rule after its endif */
} rx_rule_t;

typedef struct rx_table {
    rx_rule_t *rules;
    size_t     count;
    size_t     cap;
} rx_table_t;

/* ---------------------------------------------------------------- */
/* Parsing                                                           */
/* ---------------------------------------------------------------- */

/* "/pattern/flags" at *pp (any non-alphanumeric delimiter): the pattern,
 * with "\<delim>" made plain, and regcomp flags. -1 with why. */
static int parse_pattern(const char **pp, buf_t *pattern, int *cflags, buf_t *why)
{
    const char *p = *pp;
    char delim = *p;

    if (delim == 0 || isalnum((unsigned char) delim) || isspace((unsigned char) delim)
        || delim == '\\') {
        buf_set(why, "expected /pattern/flags");
        return -1;
    }
    buf_reset(pattern);
    for (p++; *p && *p != delim; p++) {
        if (*p == '\\' && p[1] != 0) {
            if (p[1] != delim)
                buf_putc(pattern, '\\');
            p++;
        }
        buf_putc(pattern, *p);
    }
    if (*p != delim) {
        buf_printf(why, "missing closing '%c' in pattern", delim);
        return -1;
    }
    *cflags = REG_EXTENDED | REG_ICASE;
    for (p++; *p && !isspace((unsigned char) *p); p++) {
        if (*p == 'i')
            *cflags ^= REG_ICASE;
        else if (*p == 'x')
            *cflags ^= REG_EXTENDED;
        else if (*p == 'm')
            *cflags ^= REG_NEWLINE;
        else {
            buf_printf(why, "unknown regexp option \"%c\"", *p);
            return -1;
        }
    }
    *pp = p;
    return 0;
}

/* Checks $n references in a result against the pattern's groups. */
static int check_result(const char *result, const regex_t *re, int negate, buf_t *why)
{
    for (const char *p = result; *p; p++) {
        int n;

        if (*p != '$')
            continue;
        if (p[1] == '$') {
            p++;
            continue;
        }
        if (isdigit((unsigned char) p[1]))
            n = p[1] - '0';
        else if (p[1] == '{' && isdigit((unsigned char) p[2]) && p[3] == '}')
            n = p[2] - '0';
        else
            continue;
        if (negate) {
            buf_set(why, "$number found in negative match replacement text");
            return -1;
        }
        if ((size_t) n > re->re_nsub) {
            buf_printf(why, "out of range replacement index \"%d\"", n);
            return -1;
        }
    }
    return 0;
}

static rx_rule_t *rx_add(rx_table_t *rt, rx_kind_t kind)
{
    if (rt->count == rt->cap) {
        rt->cap = rt->cap ? size_mul(rt->cap, 2) : 16;
        rt->rules = xreallocarray(rt->rules, rt->cap, sizeof(*rt->rules));
    }
    memset(&rt->rules[rt->count], 0, sizeof(rx_rule_t));
    rt->rules[rt->count].kind = kind;
    return &rt->rules[rt->count++];
}

static int keyword(const char *p, const char *word)
{
    size_t n = strlen(word);

    return strncasecmp(p, word, n) == 0 && (p[n] == 0 || isspace((unsigned char) p[n]));
}

/* Parses one logical line into a rule: 0, or -1 with why (rule skipped). */
static int rx_parse_line(rx_table_t *rt, const char *line, buf_t *why)
{
    const char *p = line + strspn(line, " \t");
    buf_t pattern = BUF_INIT;
    rx_kind_t kind = RX_MATCH;
    int negate = 0, cflags, rc;
    regex_t re;

    if (keyword(p, "endif")) {
        rx_add(rt, RX_ENDIF);
        return 0;
    }
    if (keyword(p, "if")) {
        kind = RX_IF;
        p += 2;
        p += strspn(p, " \t");
    }
    if (*p == '!') {
        negate = 1;
        p++;
    }
    if (parse_pattern(&p, &pattern, &cflags, why) < 0) {
        buf_release(&pattern);
        return -1;
    }
    p += strspn(p, " \t");
    if (kind == RX_MATCH && *p == 0) {
        buf_set(why, "no replacement text");
        buf_release(&pattern);
        return -1;
    }
    if (kind == RX_IF && *p != 0) {
        buf_set(why, "text after \"if /pattern/\"");
        buf_release(&pattern);
        return -1;
    }
    if ((rc = regcomp(&re, buf_str(&pattern), cflags)) != 0) {
        char text[256];

        regerror(rc, &re, text, sizeof(text));
        buf_printf(why, "bad regular expression \"%s\": %s", buf_str(&pattern), text);
        buf_release(&pattern);
        return -1;
    }
    buf_release(&pattern);
    if (kind == RX_MATCH && check_result(p, &re, negate, why) < 0) {
        regfree(&re);
        return -1;
    }
    rx_rule_t *r = rx_add(rt, kind);

    r->re = re;
    r->negate = negate;
    if (kind == RX_MATCH)
        r->result = xstrdup(p);
    return 0;
}

/* Links each if to the rule after its endif; stray endifs are dropped. */
static void rx_link_blocks(rx_table_t *rt, const char *path)
{
    size_t *stack = xcalloc(rt->count + 1, sizeof(size_t));
    size_t depth = 0, out = 0;

    for (size_t i = 0; i < rt->count; i++) {
        rx_rule_t r = rt->rules[i];

        if (r.kind == RX_ENDIF && depth == 0) {
            msg_warn("regexp map %s: ignoring endif without matching if", path);
            continue;
        }
        rt->rules[out] = r;
        if (r.kind == RX_IF)
            stack[depth++] = out;
        else if (r.kind == RX_ENDIF)
            rt->rules[stack[--depth]].skip_to = out + 1;
        out++;
    }
    rt->count = out;
    if (depth > 0)
        msg_warn("regexp map %s: if without matching endif: the block ends at the end of the file", path);
    while (depth > 0)
        rt->rules[stack[--depth]].skip_to = rt->count;
    free(stack);
}

/* ---------------------------------------------------------------- */
/* Lookups                                                           */
/* ---------------------------------------------------------------- */

static void rx_expand(buf_t *out, const char *result, const char *key, const regmatch_t *m)
{
    buf_reset(out);
    for (const char *p = result; *p; p++) {
        int n = -1;

        if (*p == '$' && p[1] == '$') {
            buf_putc(out, '$');
            p++;
            continue;
        }
        if (*p == '$' && isdigit((unsigned char) p[1])) {
            n = p[1] - '0';
            p += 1;
        } else if (*p == '$' && p[1] == '{' && isdigit((unsigned char) p[2]) && p[3] == '}') {
            n = p[2] - '0';
            p += 3;
        }
        if (n < 0)
            buf_putc(out, *p);
        else if (m[n].rm_so >= 0 && m[n].rm_eo >= m[n].rm_so)
            buf_append(out, key + m[n].rm_so, (size_t) (m[n].rm_eo - m[n].rm_so));
    }
}

/* 1 match, 0 no match, -1 error. */
static int rx_matches(const rx_rule_t *r, const char *key, regmatch_t *m)
{
    int rc = regexec(&r->re, key, RX_GROUPS, m, 0);

    if (rc != 0 && rc != REG_NOMATCH)
        return -1;
    return (rc == 0) != r->negate;
}

static int rx_get(table_t *t, const char *key, buf_t *value)
{
    rx_table_t *rt = t->impl;
    regmatch_t m[RX_GROUPS];
    size_t i = 0;

    while (i < rt->count) {
        const rx_rule_t *r = &rt->rules[i];
        int hit;

        if (r->kind == RX_ENDIF) {
            i++;
            continue;
        }
        if ((hit = rx_matches(r, key, m)) < 0) {
            msg_warn("%s: regexec failed for \"%s\"", t->spec, key);
            return TABLE_ERROR;
        }
        if (r->kind == RX_IF) {
            i = hit ? i + 1 : r->skip_to;
            continue;
        }
        if (hit) {
            rx_expand(value, r->result, key, m);
            return TABLE_FOUND;
        }
        i++;
    }
    return TABLE_NOTFOUND;
}

static void rx_free(rx_table_t *rt)
{
    for (size_t i = 0; i < rt->count; i++) {
        if (rt->rules[i].kind != RX_ENDIF)
            regfree(&rt->rules[i].re);
        free(rt->rules[i].result);
    }
    free(rt->rules);
    free(rt);
}

static void rx_close(table_t *t)
{
    rx_free(t->impl);
}

static const table_ops_t rx_ops = { rx_get, rx_close };

int table_regexp_open(table_t *t, const char *path, buf_t *err)
{
    table_source_t *src = table_source_open(path, err);
    rx_table_t *rt;
    buf_t line = BUF_INIT, why = BUF_INIT;
    int r;

    if (src == NULL)
        return -1;
    rt = xcalloc(1, sizeof(*rt));
    while ((r = table_source_next(src, &line, err)) > 0) {
        buf_reset(&why);
        if (rx_parse_line(rt, buf_str(&line), &why) < 0)
            msg_warn("regexp map %s, line %d: %s: skipping this rule",
                     path, table_source_lineno(src), buf_str(&why));
    }
    table_source_close(src);
    buf_release(&line);
    buf_release(&why);
    if (r < 0) {
        rx_free(rt);
        return -1;
    }
    rx_link_blocks(rt, path);
    t->impl = rt;
    t->ops = &rx_ops;
    return 0;
}
