/* header_addr: address rewriting in the sender and recipient headers
 * (From, Sender, Reply-To..., To, Cc, Bcc, Resent-*). Only in the local
 * header context, or in the remote one when remote_header_rewrite_domain
 * is set: bare names get their domain, then the canonical maps and
 * masquerading of the header_sender / header_recipient classes apply.
 * Each addr-spec is found by its position and replaced in place; names,
 * comments and folding stay as they were. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "alloc.h"
#include "cleanup.h"
#include "cleanup_client.h"
#include "config.h"
#include "resolve.h"

/* As Postfix's header_address_token_limit: the rest stays unparsed. */
#define HEADER_TOKEN_LIMIT 10240

typedef enum {
    HT_WORD,        /* atoms, dots and '@': "user@example.com" is one word */
    HT_QUOTED,      /* "quoted string", with its quotes */
    HT_LITERAL,     /* [domain literal] */
    HT_SPECIAL,     /* one of < > , ; : */
} htok_type_t;

typedef struct htok {
    htok_type_t type;
    size_t      start;      /* offsets in the header text */
    size_t      end;
    int         ch;         /* the special character */
} htok_t;

typedef struct htoks {
    htok_t *v;
    size_t  n;
    size_t  cap;
} htoks_t;

/* A found address: where it is and what replaces it. */
typedef struct span {
    size_t start;
    size_t end;
    char  *text;
} span_t;

typedef struct spans {
    span_t *v;
    size_t  n;
    size_t  cap;
} spans_t;

static const char *const sender_headers[] = {
    "from", "sender", "reply-to", "errors-to", "return-receipt-to",
    "disposition-notification-to", "resent-from", "resent-sender", "resent-reply-to", NULL,
};
static const char *const recipient_headers[] = {
    "to", "cc", "bcc", "apparently-to", "resent-to", "resent-cc", "resent-bcc", NULL,
};

static int name_in(const char *name, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == len && strncasecmp(name, *list, len) == 0)
            return 1;
    return 0;
}

/* ---- tokens -------------------------------------------------------- */

static void toks_add(htoks_t *t, htok_type_t type, size_t start, size_t end, int ch)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? size_mul(t->cap, 2) : 32;
        t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
    }
    t->v[t->n].type = type;
    t->v[t->n].start = start;
    t->v[t->n].end = end;
    t->v[t->n].ch = ch;
    t->n++;
}

/* End of a comment, quoted string or literal that starts at i. */
static size_t skip_delimited(const char *s, size_t len, size_t i, char open, char close)
{
    int depth = 0;

    for (; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len)
            i++;
        else if (s[i] == open && (open != close || depth == 0))
            depth++;
        else if (s[i] == close && --depth == 0)
            return i + 1;
    }
    return len;
}

static void tokenize(const char *s, size_t from, size_t len, htoks_t *t)
{
    static const char specials[] = "<>,;:";
    size_t i = from;

    while (i < len && t->n < HEADER_TOKEN_LIMIT) {
        char c = s[i];
        size_t start = i;

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
        } else if (c == '(') {
            i = skip_delimited(s, len, i, '(', ')');    /* comments are no tokens */
        } else if (c == '"') {
            i = skip_delimited(s, len, i, '"', '"');
            toks_add(t, HT_QUOTED, start, i, 0);
        } else if (c == '[') {
            i = skip_delimited(s, len, i, '[', ']');
            toks_add(t, HT_LITERAL, start, i, 0);
        } else if (strchr(specials, c) != NULL) {
            toks_add(t, HT_SPECIAL, start, ++i, c);
        } else {
            while (i < len && strchr(" \t\r\n<>,;:()\"[", s[i]) == NULL)
                i++;
            if (i == start)
                i++;                /* a stray ')' */
            else
                toks_add(t, HT_WORD, start, i, 0);
        }
    }
}

static int is_special(const htok_t *tok, int ch)
{
    return tok->type == HT_SPECIAL && tok->ch == ch;
}

/* ---- addresses ----------------------------------------------------- */

/* Rewrites one address; 1 with the new external form in out when it
 * changed. */
static int rewrite_one(cleanup_state_t *st, unsigned cls, const char *domain,
                       const char *raw, size_t len, buf_t *out)
{
    buf_t ext = BUF_INIT, internal = BUF_INIT, addr = BUF_INIT;
    int changed = 0;

    buf_append(&ext, raw, len);
    addr_unquote(&internal, buf_str(&ext));
    if (internal.len > 0) {
        if (domain == NULL) {
            resolve_canonical(&addr, buf_str(&internal));
        } else {
            buf_set(&addr, buf_str(&internal));
            if (strchr(buf_str(&addr), '@') == NULL)
                buf_printf(&addr, "@%s", domain);
        }
        cleanup_rewrite_addr(st, cls, &addr);
        if (strcmp(buf_str(&addr), buf_str(&internal)) != 0) {
            addr_quote(out, buf_str(&addr));
            changed = 1;
        }
    }
    buf_release(&ext);
    buf_release(&internal);
    buf_release(&addr);
    return changed;
}

static void spans_add(spans_t *sp, size_t start, size_t end, const buf_t *text)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? size_mul(sp->cap, 2) : 8;
        sp->v = xreallocarray(sp->v, sp->cap, sizeof(*sp->v));
    }
    sp->v[sp->n].start = start;
    sp->v[sp->n].end = end;
    sp->v[sp->n].text = xstrdup(buf_str(text));
    sp->n++;
}

typedef struct mailbox_ctx {
    cleanup_state_t *st;
    unsigned         cls;
    const char      *domain;    /* remote context domain, NULL = local */
    const char      *text;
    const htoks_t   *toks;
    spans_t         *spans;
} mailbox_ctx_t;

/* The addr-spec of a mailbox is tokens [a, b): either what the angle
 * brackets hold (after a source route) or the whole mailbox. It must be
 * one run of tokens without blanks or specials between them. */
static void mailbox(mailbox_ctx_t *c, size_t a, size_t b)
{
    const htok_t *v = c->toks->v;
    buf_t repl = BUF_INIT;

    if (a < b && v[a].type == HT_WORD && c->text[v[a].start] == '@') {
        for (size_t k = b; k > a; k--)          /* "@a,@b:user@dom" */
            if (is_special(&v[k - 1], ':')) {
                a = k;
                break;
            }
    }
    if (a >= b)
        return;
    for (size_t k = a; k < b; k++)
        if (v[k].type == HT_SPECIAL || (k > a && v[k].start != v[k - 1].end))
            return;
    if (rewrite_one(c->st, c->cls, c->domain, c->text + v[a].start,
                    v[b - 1].end - v[a].start, &repl))
        spans_add(c->spans, v[a].start, v[b - 1].end, &repl);
    buf_release(&repl);
}

/* Walks mailboxes separated by ',' and ';'; "group name:" is skipped. */
static void find_addresses(mailbox_ctx_t *c)
{
    const htoks_t *t = c->toks;
    size_t first = 0, lt = 0, gt = 0;
    int in_angle = 0, have_angle = 0;

    for (size_t k = 0; k <= t->n; k++) {
        if (k < t->n) {
            const htok_t *tok = &t->v[k];

            if (!in_angle && is_special(tok, '<')) {
                in_angle = have_angle = 1;
                lt = k;
                gt = t->n;
                continue;
            }
            if (in_angle) {
                if (is_special(tok, '>')) {
                    in_angle = 0;
                    gt = k;
                }
                continue;
            }
            if (is_special(tok, ':')) {
                first = k + 1;
                have_angle = 0;
                continue;
            }
            if (!is_special(tok, ',') && !is_special(tok, ';'))
                continue;
        }
        if (have_angle)
            mailbox(c, lt + 1, gt < k ? gt : k);
        else
            mailbox(c, first, k);
        first = k + 1;
        have_angle = in_angle = 0;
    }
}

/* Rebuilds the header with the replacements. */
static void apply_spans(buf_t *header, const spans_t *sp)
{
    buf_t out = BUF_INIT;
    size_t at = 0;

    for (size_t i = 0; i < sp->n; i++) {
        buf_append(&out, header->data + at, sp->v[i].start - at);
        buf_puts(&out, sp->v[i].text);
        at = sp->v[i].end;
    }
    buf_append(&out, header->data + at, header->len - at);
    buf_reset(header);
    buf_append(header, out.data, out.len);
    buf_release(&out);
}

void cleanup_header_addresses(cleanup_state_t *st, size_t name_len)
{
    const char *name = st->header.data;
    const char *domain = NULL;
    const char *colon;
    unsigned cls;
    htoks_t toks = { NULL, 0, 0 };
    spans_t spans = { NULL, 0, 0 };
    mailbox_ctx_t c;

    if (name_len == 0 || st->errs != 0)
        return;
    if (name_in(name, name_len, sender_headers))
        cls = REWRITE_HDR_SENDER;
    else if (name_in(name, name_len, recipient_headers))
        cls = REWRITE_HDR_RCPT;
    else
        return;
    if (!(st->flags & CLEANUP_FLAG_LOCAL_CTX)) {
        domain = config_str("remote_header_rewrite_domain");
        if (*domain == 0)
            return;                 /* remote mail: headers are left alone */
    }
    colon = memchr(name + name_len, ':', st->header.len - name_len);
    if (colon == NULL)
        return;
    tokenize(st->header.data, (size_t) (colon + 1 - name), st->header.len, &toks);
    c = (mailbox_ctx_t) { st, cls, domain, st->header.data, &toks, &spans };
    find_addresses(&c);
    if (spans.n > 0)
        apply_spans(&st->header, &spans);
    for (size_t i = 0; i < spans.n; i++)
        free(spans.v[i].text);
    free(spans.v);
    free(toks.v);
}
