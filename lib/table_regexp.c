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
/* glibc's regcomp recurses once per nested group (100000 "(" overflow the
 * stack) and copies a repeated subexpression once per repetition ("x+"
 * twice, "x{1,100}" a hundred times); optional copies ("x{1,n}") also cost
 * n * n, and so does repeating what can match empty ("(x*)+"), eight times
 * more. Nested repeats thus grow exponentially: 130 bytes of "a++++..."
 * took gigabytes, ".{1,20000}" 3 GB, "a*++++++++++++" 900 MB. Patterns are
 * priced first, in units of roughly 8 bytes of regcomp's memory (measured
 * with glibc 2.36). */
#define RX_NESTING_MAX   100                /* groups inside groups */
#define RX_ATOM_COST     64                 /* one copy of one atom */
#define RX_NULLABLE_COST 8                  /* per size^2 when repeating "x*" */
#define RX_RULE_COST_MAX 5000000UL          /* about 40 MB: ".{1,2000}" passes */
#define RX_TABLE_COST_MAX 64000000UL        /* all rules of one table */
#define RX_DUP_MAX       32767              /* glibc's RE_DUP_MAX */
#define RX_COST_CAP      ((size_t) 1 << 40)

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
    size_t     cost;                /* of the rules compiled so far */
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

/* ---------------------------------------------------------------- */
/* Pattern cost, before regcomp                                      */
/* ---------------------------------------------------------------- */

typedef struct rx_scan {
    const char *p;
    int         extended;           /* ERE: ( ) | + ? {m,n}; BRE: \( \) \| \+ \? \{m,n\} */
    int         depth;
    int         too_deep;
} rx_scan_t;

typedef struct rx_cost {
    size_t size;                    /* nodes once regcomp has made its copies */
    size_t cost;                    /* regcomp's work, in units */
    int    nullable;                /* can match the empty string */
} rx_cost_t;

static size_t cost_add(size_t a, size_t b)
{
    return a > RX_COST_CAP - b ? RX_COST_CAP : a + b;
}

static size_t cost_mul(size_t a, size_t b)
{
    return b != 0 && a > RX_COST_CAP / b ? RX_COST_CAP : a * b;
}

/* An operator is plain in ERE and backslashed in BRE ("(" or "\\("). */
static int at_operator(const rx_scan_t *sc, char op)
{
    if (sc->extended)
        return sc->p[0] == op;
    return sc->p[0] == '\\' && sc->p[1] == op;
}

static void skip_operator(rx_scan_t *sc)
{
    sc->p += sc->extended ? 1 : 2;
}

/* Reads decimal digits, staying just above RX_DUP_MAX when larger. */
static size_t read_count(const char **pp, int *any)
{
    size_t n = 0;

    for (*any = 0; **pp >= '0' && **pp <= '9'; (*pp)++, *any = 1)
        n = n > RX_DUP_MAX ? n : n * 10 + (size_t) (**pp - '0');
    return n;
}

/* "{m}", "{m,}", "{m,n}", "{,n}" at sc->p: *copies made and *optional
 * ones among them. 0 and nothing consumed when it is no interval. */
static int read_interval(rx_scan_t *sc, size_t *copies, size_t *optional)
{
    const char *p = sc->p + (sc->extended ? 1 : 2);
    size_t m, n = 0;
    int has_m, has_n = 0, has_comma = *p != 0 && p[strspn(p, "0123456789")] == ',';

    *copies = 1;
    *optional = 0;
    m = read_count(&p, &has_m);
    if (!has_m && !has_comma)               /* "{,n}" is "{0,n}" to glibc */
        return 0;
    if (has_comma) {
        p++;
        n = read_count(&p, &has_n);
    }
    if (sc->extended ? *p != '}' : (p[0] != '\\' || p[1] != '}'))
        return 0;
    sc->p = p + (sc->extended ? 1 : 2);
    if (!has_comma) {
        *copies = m;
        *optional = 0;
    } else if (!has_n) {
        *copies = m + 1;                    /* m copies, then "x*" */
        *optional = 1;
    } else {
        *copies = n;
        *optional = n > m ? n - m : 0;
    }
    if (*copies == 0)
        *copies = 1;
    return 1;
}

/* Applies the repetition operators at sc->p to an atom's cost. */
static rx_cost_t apply_repeats(rx_scan_t *sc, rx_cost_t c)
{
    for (;;) {
        size_t copies = 1, optional = 1;
        int maybe_empty = 1, loops = 1;     /* "x*": empty, repeated */

        if (*sc->p == '*') {
            sc->p++;
        } else if (at_operator(sc, '?')) {
            skip_operator(sc);
            loops = 0;
        } else if (at_operator(sc, '+')) {
            skip_operator(sc);
            copies = 2;                     /* "x+" is "xx*" */
            maybe_empty = 0;
        } else if (at_operator(sc, '{') && read_interval(sc, &copies, &optional)) {
            maybe_empty = optional > 0 && optional >= copies;
        } else {
            return c;
        }
        c.cost = cost_add(cost_mul(c.cost, copies),
                          cost_mul(c.size, cost_mul(optional, optional)));
        c.size = cost_mul(c.size, copies);
        if (c.nullable && loops)
            c.cost = cost_add(c.cost, cost_mul(RX_NULLABLE_COST, cost_mul(c.size, c.size)));
        c.nullable = c.nullable || maybe_empty;
    }
}

/* "[...]" with "]" first, "[:class:]", "[.x.]" and "[=x=]" inside. */
static void skip_bracket(rx_scan_t *sc)
{
    const char *p = sc->p + 1;

    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p && *p != ']') {
        if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            char kind = p[1];

            for (p += 2; *p && !(p[0] == kind && p[1] == ']'); p++)
                ;
            if (*p)
                p += 2;
        } else {
            p++;
        }
    }
    sc->p = *p ? p + 1 : p;
}

static rx_cost_t scan_alternatives(rx_scan_t *sc);

/* One atom (a group, a bracket, an escaped or plain character). */
static rx_cost_t scan_atom(rx_scan_t *sc)
{
    rx_cost_t c = { 1, RX_ATOM_COST, 0 };

    if (at_operator(sc, '(')) {
        skip_operator(sc);
        if (++sc->depth > RX_NESTING_MAX) {
            sc->too_deep = 1;
            return c;
        }
        c = scan_alternatives(sc);
        sc->depth--;
        if (at_operator(sc, ')'))
            skip_operator(sc);
        c.size = cost_add(c.size, 2);       /* the group's open and close */
        c.cost = cost_add(c.cost, 2 * RX_ATOM_COST);
    } else if (*sc->p == '[') {
        skip_bracket(sc);
    } else if (*sc->p == '\\' && sc->p[1] != 0) {
        c.nullable = strchr("<>bB`'", sc->p[1]) != NULL;     /* GNU anchors */
        sc->p += 2;
    } else {
        c.nullable = *sc->p == '^' || *sc->p == '$';
        sc->p++;
    }
    return c;
}

/* Branches separated by "|", up to a group's end or the pattern's. */
static rx_cost_t scan_alternatives(rx_scan_t *sc)
{
    rx_cost_t total = { 0, 0, 0 };
    int branch_nullable = 1;                /* an empty branch matches empty */

    while (*sc->p && !sc->too_deep && !at_operator(sc, ')')) {
        rx_cost_t atom;

        if (at_operator(sc, '|')) {
            skip_operator(sc);
            total.nullable |= branch_nullable;
            branch_nullable = 1;
            continue;
        }
        atom = apply_repeats(sc, scan_atom(sc));
        total.size = cost_add(total.size, atom.size);
        total.cost = cost_add(total.cost, atom.cost);
        branch_nullable &= atom.nullable;
    }
    total.nullable |= branch_nullable;
    return total;
}

/* What regcomp would spend on pattern; -1 with why when it nests too
 * deep or costs more than one rule may. */
static int rx_price(const char *pattern, int cflags, size_t *cost, buf_t *why)
{
    rx_scan_t sc = { pattern, (cflags & REG_EXTENDED) != 0, 0, 0 };

    *cost = 0;
    /* A stray ")" is plain text in ERE: go on after it. */
    while (*sc.p && !sc.too_deep) {
        *cost = cost_add(*cost, scan_alternatives(&sc).cost);
        if (at_operator(&sc, ')'))
            skip_operator(&sc);
    }
    if (sc.too_deep) {
        buf_printf(why, "regular expression nests groups more than %d deep", RX_NESTING_MAX);
        return -1;
    }
    if (*cost > RX_RULE_COST_MAX) {
        buf_set(why, "regular expression too costly to compile (nested or long repetitions)");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Rules                                                             */
/* ---------------------------------------------------------------- */

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

/* Prices, then compiles a pattern within the table's budget. 0 or -1. */
static int rx_compile(rx_table_t *rt, const char *pattern, int cflags, regex_t *re,
                      buf_t *why)
{
    size_t cost;
    int rc;

    if (rx_price(pattern, cflags, &cost, why) < 0)
        return -1;
    if (cost > RX_TABLE_COST_MAX - rt->cost) {
        buf_set(why, "regular expressions of this table too costly to compile in total");
        return -1;
    }
    if ((rc = regcomp(re, pattern, cflags)) != 0) {
        char text[256];

        regerror(rc, re, text, sizeof(text));
        buf_printf(why, "bad regular expression \"%s\": %s", pattern, text);
        return -1;
    }
    rt->cost += cost;
    return 0;
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
    rc = rx_compile(rt, buf_str(&pattern), cflags, &re, why);
    buf_release(&pattern);
    if (rc < 0)
        return -1;
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
