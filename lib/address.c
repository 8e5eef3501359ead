/* address: RFC 5321 path parsing (MAIL FROM / RCPT TO), local-part quoting
 * and RFC 5322 header address lists. Addresses are kept in internal form:
 * the local part unquoted, the null sender "". Output buffers are reset. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "alloc.h"

/* Longest path accepted from a client; Postfix's own ceiling for
 * addresses in tables and aliases is 1000 too. */
#define ADDR_MAX_LEN        1000
/* Upper bound on tokens per header value (header_address_token_limit). */
#define HDR_TOKEN_LIMIT     10240

/* ---------------------------------------------------------------- */
/* Character classes                                                */
/* ---------------------------------------------------------------- */

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 5321 atext; bytes >= 0x80 count as text for SMTPUTF8. */
static int is_atext(unsigned char c)
{
    if (c >= 0x80)
        return 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int is_label_char(unsigned char c, int allow_8bit)
{
    if (c >= 0x80)
        return allow_8bit;
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* ---------------------------------------------------------------- */
/* Domains                                                          */
/* ---------------------------------------------------------------- */

/* "[1.2.3.4]" or "[IPv6:...]". */
static int valid_address_literal(const char *domain, size_t len)
{
    char text[64];
    unsigned char bin[16];
    size_t inner;

    if (len < 3 || domain[0] != '[' || domain[len - 1] != ']')
        return 0;
    inner = len - 2;
    if (inner >= sizeof(text))
        return 0;
    memcpy(text, domain + 1, inner);
    text[inner] = 0;
    if (strncasecmp(text, "ipv6:", 5) == 0)
        return inet_pton(AF_INET6, text + 5, bin) == 1;
    return inet_pton(AF_INET, text, bin) == 1;
}

static int valid_hostname(const char *domain, size_t len, int allow_8bit)
{
    size_t label = 0;

    if (len == 0 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = domain[i];

        if (c == '.') {
            if (label == 0)
                return 0;           /* leading or double dot */
            label = 0;
        } else if (is_label_char(c, allow_8bit)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;               /* no trailing dot */
}

static int domain_ok(const char *domain, size_t len, int allow_8bit)
{
    if (len > 0 && domain[0] == '[')
        return valid_address_literal(domain, len);
    return valid_hostname(domain, len, allow_8bit);
}

int addr_valid_domain(const char *domain)
{
    if (domain == NULL)
        return 0;
    return domain_ok(domain, strlen(domain), 0);
}

const char *addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at ? at + 1 : NULL;
}

void addr_split(const char *addr, buf_t *lp, buf_t *dom)
{
    const char *at = strrchr(addr, '@');

    buf_reset(lp);
    buf_reset(dom);
    if (at == NULL) {
        buf_puts(lp, addr);
        return;
    }
    buf_append(lp, addr, (size_t) (at - addr));
    buf_puts(dom, at + 1);
}

void addr_split_extension(const char *localpart, const char *delims,
                          buf_t *base, buf_t *ext)
{
    size_t cut = (delims && *delims) ? strcspn(localpart, delims) : strlen(localpart);

    buf_reset(base);
    if (ext)
        buf_reset(ext);
    /* A delimiter in first place would leave an empty user: don't split. */
    if (cut == 0 || localpart[cut] == 0) {
        buf_puts(base, localpart);
        return;
    }
    buf_append(base, localpart, cut);
    if (ext)
        buf_puts(ext, localpart + cut + 1);
}

/* ---------------------------------------------------------------- */
/* Quoting                                                          */
/* ---------------------------------------------------------------- */

/* RFC 5321 Dot-string: atoms separated by single dots. */
static int is_dot_string(const char *s, size_t len)
{
    int prev_dot = 1;

    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];

        if (c == '.') {
            if (prev_dot)
                return 0;
            prev_dot = 1;
        } else if (is_atext(c)) {
            prev_dot = 0;
        } else {
            return 0;
        }
    }
    return !prev_dot;
}

void addr_quote(buf_t *out, const char *internal)
{
    const char *at = strrchr(internal, '@');
    size_t lp_len = at ? (size_t) (at - internal) : strlen(internal);

    buf_reset(out);
    if (*internal == 0 || is_dot_string(internal, lp_len)) {
        buf_puts(out, internal);
        return;
    }
    buf_putc(out, '"');
    for (size_t i = 0; i < lp_len; i++) {
        if (internal[i] == '"' || internal[i] == '\\')
            buf_putc(out, '\\');
        buf_putc(out, internal[i]);
    }
    buf_putc(out, '"');
    if (at)
        buf_puts(out, at);
}

void addr_unquote(buf_t *out, const char *external)
{
    int in_quotes = 0;

    buf_reset(out);
    for (const char *p = external; *p; p++) {
        if (*p == '\\' && p[1] != 0) {
            buf_putc(out, *++p);
        } else if (*p == '"') {
            in_quotes = !in_quotes;
        } else {
            buf_putc(out, *p);
        }
    }
}

/* ---------------------------------------------------------------- */
/* SMTP paths                                                       */
/* ---------------------------------------------------------------- */

/* Parses a quoted-string at *pp (on the opening quote) into out, unquoted.
 * Leaves *pp after the closing quote. 0, or -1 on a bad or unterminated one. */
static int parse_quoted(const char **pp, buf_t *out)
{
    const char *p = *pp + 1;

    for (;;) {
        unsigned char c = *p;

        if (c == 0)
            return -1;
        if (c == '"')
            break;
        if (c == '\\') {
            c = *++p;
            if (c == 0)
                return -1;
        }
        if (is_ctl(c))
            return -1;
        buf_putc(out, c);
        p++;
    }
    *pp = p + 1;
    return 0;
}

/* "@a,@b:" before the mailbox: skipped after a light syntax check. */
static int skip_source_route(const char **pp, const char *end)
{
    const char *p = *pp;

    while (p < end && *p == '@') {
        const char *dom = ++p;

        while (p < end && *p != ',' && *p != ':')
            p++;
        if (p == end || !domain_ok(dom, (size_t) (p - dom), 1))
            return -1;
        if (*p++ == ':') {
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Parses mailbox text [p, end) (no brackets, no route) into internal form. */
static int parse_mailbox(const char *p, const char *end, buf_t *addr, const char **why)
{
    const char *dom;

    buf_reset(addr);
    if (p == end)
        return 0;                           /* "<>" */
    if (*p == '"') {
        const char *q = p;

        if (parse_quoted(&q, addr) < 0 || q > end) {
            *why = "malformed quoted local part";
            return -1;
        }
        p = q;
    } else {
        while (p < end && *p != '@') {
            if (!is_atext((unsigned char) *p) && *p != '.') {
                *why = "bad character in address";
                return -1;
            }
            buf_putc(addr, *p++);
        }
        if (addr->len == 0) {
            *why = "empty local part";
            return -1;
        }
    }
    if (p == end)
        return 0;                           /* bare "user" or "\"a b\"" */
    if (*p != '@') {
        *why = "bad character after quoted local part";
        return -1;
    }
    dom = ++p;
    if (!domain_ok(dom, (size_t) (end - dom), 1)) {
        *why = "bad domain syntax";
        return -1;
    }
    buf_putc(addr, '@');
    buf_append(addr, dom, (size_t) (end - dom));
    return 0;
}

/* Finds the end of the path: the '>' that closes a bracketed one, or the
 * first blank outside quotes for a bare one. NULL when unbalanced. */
static const char *path_end(const char *p, int bracketed)
{
    int in_quotes = 0;

    for (; *p; p++) {
        if (in_quotes && *p == '\\' && p[1] != 0) {
            p++;
            continue;
        }
        if (*p == '"')
            in_quotes = !in_quotes;
        else if (in_quotes)
            continue;
        else if (bracketed && *p == '>')
            return p;
        else if (*p == '<' || *p == '>')
            return NULL;
        else if (!bracketed && is_blank((unsigned char) *p))
            return p;
    }
    return (bracketed || in_quotes) ? NULL : p;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if (is_ctl((unsigned char) *s) && *s != '\t')
            return 1;
    return 0;
}

/* An esmtp-keyword with an optional "=value": how every word after a bare
 * address must look, which catches "john doe@x" style addresses. */
static int looks_like_params(const char *p)
{
    while (*p) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
        while (*p && !is_blank((unsigned char) *p) && *p != '=') {
            if (!is_label_char((unsigned char) *p, 0) || *p == '_')
                return 0;
            p++;
        }
        if (*p == '=') {
            for (p++; *p && !is_blank((unsigned char) *p); p++)
                if (*p == '=')
                    return 0;
        }
        while (is_blank((unsigned char) *p))
            p++;
    }
    return 1;
}

int smtp_path_parse(const char *arg, buf_t *addr, const char **params, const char **why)
{
    const char *p = arg, *start, *end, *rest;
    int bracketed;

    buf_reset(addr);
    *params = "";
    if (has_control(arg)) {
        *why = "control character in address";
        return -1;
    }
    while (is_blank((unsigned char) *p))
        p++;
    bracketed = (*p == '<');
    start = bracketed ? p + 1 : p;
    if ((end = path_end(start, bracketed)) == NULL) {
        *why = "unbalanced angle brackets or quotes";
        return -1;
    }
    if (!bracketed && end == start) {
        *why = "missing address";
        return -1;
    }
    if ((size_t) (end - start) > ADDR_MAX_LEN) {
        *why = "address too long";
        return -1;
    }
    rest = bracketed ? end + 1 : end;
    if (*rest && !is_blank((unsigned char) *rest)) {
        *why = "garbage after address";
        return -1;
    }
    while (is_blank((unsigned char) *rest))
        rest++;
    if (!bracketed && !looks_like_params(rest)) {
        *why = "spaces in address";
        return -1;
    }
    if (*start == '@' && skip_source_route(&start, end) < 0) {
        *why = "bad source route";
        return -1;
    }
    if (start == end && start != p + 1 && bracketed) {
        *why = "source route without mailbox";
        return -1;
    }
    if (parse_mailbox(start, end, addr, why) < 0) {
        buf_reset(addr);
        return -1;
    }
    *params = rest;
    return 0;
}

/* ---------------------------------------------------------------- */
/* Header address lists                                             */
/* ---------------------------------------------------------------- */

typedef enum {
    TOK_ATOM,          /* text, also a domain literal "[...]" */
    TOK_QUOTED,        /* quoted-string, stored unquoted */
    TOK_SPECIAL,       /* one of < > @ , ; : . */
} tok_type_t;

typedef struct hdr_tok {
    tok_type_t type;
    char      *text;   /* owned by texts below */
    int        ch;     /* the special character */
} hdr_tok_t;

typedef struct hdr_toks {
    hdr_tok_t *v;
    size_t     n;
    size_t     cap;
    argv_t    *texts;  /* owning copies */
} hdr_toks_t;

static void toks_add(hdr_toks_t *t, tok_type_t type, const char *text, size_t len, int ch)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? size_mul(t->cap, 2) : 16;
        t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
    }
    argv_addn(t->texts, text, len);
    t->v[t->n].type = type;
    t->v[t->n].text = t->texts->argv[t->texts->argc - 1];
    t->v[t->n].ch = ch;
    t->n++;
}

/* Skips a (possibly nested) comment starting at '('. */
static const char *skip_comment(const char *p)
{
    int depth = 0;

    for (; *p; p++) {
        if (*p == '\\' && p[1] != 0)
            p++;
        else if (*p == '(')
            depth++;
        else if (*p == ')' && --depth == 0)
            return p + 1;
    }
    return p;                               /* unterminated: to the end */
}

static const char *scan_quoted(hdr_toks_t *t, const char *p)
{
    buf_t text = BUF_INIT;

    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1] != 0)
            p++;
        if (*p != '\r' && *p != '\n')
            buf_putc(&text, *p);
    }
    toks_add(t, TOK_QUOTED, buf_str(&text), text.len, 0);
    buf_release(&text);
    return *p ? p + 1 : p;
}

static const char *scan_literal(hdr_toks_t *t, const char *p)
{
    const char *start = p;

    while (*p && *p != ']')
        p++;
    if (*p)
        p++;
    toks_add(t, TOK_ATOM, start, (size_t) (p - start), 0);
    return p;
}

static void tokenize(hdr_toks_t *t, const char *s)
{
    static const char specials[] = "<>@,;:.";
    const char *p = s;

    while (*p && t->n < HDR_TOKEN_LIMIT) {
        unsigned char c = *p;

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            p++;
        } else if (c == '(') {
            p = skip_comment(p);
        } else if (c == '"') {
            p = scan_quoted(t, p);
        } else if (c == '[') {
            p = scan_literal(t, p);
        } else if (strchr(specials, c)) {
            toks_add(t, TOK_SPECIAL, p, 1, c);
            p++;
        } else {
            const char *start = p;

            while (*p && !strchr(specials, *p) && !strchr(" \t\r\n()\"[", *p))
                p++;
            if (p == start)
                p++;                        /* a stray ')' or ']' */
            else
                toks_add(t, TOK_ATOM, start, (size_t) (p - start), 0);
        }
    }
}

static int tok_is(const hdr_tok_t *tok, int ch)
{
    return tok->type == TOK_SPECIAL && tok->ch == ch;
}

/* Joins tokens [from, to) into an internal-form address; a leading
 * source route "@a,@b:" is dropped. */
static void emit_addr(argv_t *out, const hdr_tok_t *v, size_t from, size_t to)
{
    buf_t addr = BUF_INIT;

    if (from < to && tok_is(&v[from], '@')) {
        for (size_t i = from; i < to; i++)
            if (tok_is(&v[i], ':')) {
                from = i + 1;
                break;
            }
    }
    for (size_t i = from; i < to; i++) {
        if (v[i].type == TOK_SPECIAL && !tok_is(&v[i], '@') && !tok_is(&v[i], '.'))
            continue;
        buf_puts(&addr, v[i].text);
    }
    if (addr.len > 0 && addr.len <= ADDR_MAX_LEN)
        argv_add(out, buf_str(&addr));
    buf_release(&addr);
}

/* One mailbox: tokens [from, to) between separators. With angle brackets
 * the address is what they hold; otherwise the whole thing (comments
 * are already gone). */
static void parse_mailbox_tokens(argv_t *out, const hdr_tok_t *v, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (tok_is(&v[i], '<')) {
            size_t j = i + 1;

            while (j < to && !tok_is(&v[j], '>'))
                j++;
            emit_addr(out, v, i + 1, j);
            return;
        }
    }
    emit_addr(out, v, from, to);
}

argv_t *header_addresses_parse(const char *value)
{
    hdr_toks_t t = { NULL, 0, 0, argv_new() };
    argv_t *out = argv_new();
    size_t start = 0;
    int in_angle = 0;

    tokenize(&t, value);
    for (size_t i = 0; i <= t.n; i++) {
        if (i < t.n) {
            if (tok_is(&t.v[i], '<'))
                in_angle = 1;
            else if (tok_is(&t.v[i], '>'))
                in_angle = 0;
            if (in_angle)
                continue;
            if (tok_is(&t.v[i], ':')) {     /* "group name:" is dropped */
                start = i + 1;
                continue;
            }
            if (!tok_is(&t.v[i], ',') && !tok_is(&t.v[i], ';'))
                continue;
        }
        parse_mailbox_tokens(out, t.v, start, i);
        start = i + 1;
        in_angle = 0;
    }
    free(t.v);
    argv_free(t.texts);
    return out;
}
