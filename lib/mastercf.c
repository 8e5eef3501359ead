/* mastercf: parses master.cf into a table of services (see mastercf.h).
 * Errors name the file and the line: "path, line N: why". */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "mastercf.h"

#define MASTER_CF_MAX  (4 * 1024 * 1024)   /* a larger master.cf is an error */
#define FIELD_COUNT    8

typedef struct parse_ctx {
    const char *path;
    int         line;
    char      **err;
} parse_ctx_t;

static int fail(parse_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parse_ctx_t *ctx, const char *fmt, ...)
{
    buf_t b = BUF_INIT;
    va_list ap;

    buf_printf(&b, "%s, line %d: ", ctx->path, ctx->line);
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    *ctx->err = buf_steal(&b);
    return -1;
}

/* ---- tokens ---- */

/* "{ text }" as one token, braces and surrounding blanks removed. After
 * "-o", "{ name = value }" becomes "name=value". */
static int brace_token(parse_ctx_t *ctx, const char **pp, argv_t *out, int after_o)
{
    const char *p = *pp, *close, *b, *e, *eq;
    int depth = 0;

    for (close = p; *close; close++) {
        if (*close == '{')
            depth++;
        else if (*close == '}' && --depth == 0)
            break;
    }
    if (*close == 0)
        return fail(ctx, "missing '}' in \"%.60s\"", p);
    if (close[1] && !isspace((unsigned char) close[1]))
        return fail(ctx, "text after '}' in \"%.60s\"", p);
    for (b = p + 1; b < close && isspace((unsigned char) *b); b++)
        ;
    for (e = close; e > b && isspace((unsigned char) e[-1]); e--)
        ;
    eq = after_o ? memchr(b, '=', (size_t) (e - b)) : NULL;
    if (eq != NULL) {
        const char *name_end = eq, *value = eq + 1;
        buf_t nv = BUF_INIT;

        while (name_end > b && isspace((unsigned char) name_end[-1]))
            name_end--;
        while (value < e && isspace((unsigned char) *value))
            value++;
        buf_append(&nv, b, (size_t) (name_end - b));
        buf_putc(&nv, '=');
        buf_append(&nv, value, (size_t) (e - value));
        argv_add(out, buf_str(&nv));
        buf_release(&nv);
    } else {
        argv_addn(out, b, (size_t) (e - b));
    }
    *pp = close + 1;
    return 0;
}

/* Splits a logical line into words; "{ ... }" groups stay one word. */
static int split_words(parse_ctx_t *ctx, const char *line, argv_t *out)
{
    const char *p = line;

    while (*p) {
        while (isspace((unsigned char) *p))
            p++;
        if (*p == 0)
            break;
        if (*p == '{') {
            int after_o = out->argc > 0 && strcmp(out->argv[out->argc - 1], "-o") == 0;

            if (brace_token(ctx, &p, out, after_o) < 0)
                return -1;
            continue;
        }
        const char *start = p;

        while (*p && !isspace((unsigned char) *p))
            p++;
        argv_addn(out, start, (size_t) (p - start));
    }
    return 0;
}

/* ---- fields ---- */

static int parse_flag(parse_ctx_t *ctx, const char *field, const char *text, int dflt,
                      int *value)
{
    if (strcmp(text, "-") == 0)
        *value = dflt;
    else if (strcmp(text, "y") == 0)
        *value = 1;
    else if (strcmp(text, "n") == 0)
        *value = 0;
    else
        return fail(ctx, "bad %s field: \"%s\" (use y, n or -)", field, text);
    return 0;
}

static int parse_count(parse_ctx_t *ctx, const char *field, const char *text, int *value)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(text, &end, 10);
    if (!isdigit((unsigned char) *text) || *end != 0 || errno != 0 || n > INT_MAX)
        return fail(ctx, "bad %s field: \"%s\"", field, text);
    *value = (int) n;
    return 0;
}

static int known_type(const char *type)
{
    static const char *const types[] = { "inet", "unix", "unix-dgram", "fifo", "pass" };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

static int parse_wakeup(parse_ctx_t *ctx, const char *text, master_entry_t *m)
{
    size_t n = strlen(text);
    char *digits;
    int rc;

    if (strcmp(text, "-") == 0)
        return 0;
    m->wakeup_on_use = n > 1 && text[n - 1] == '?';
    digits = xstrndup(text, m->wakeup_on_use ? n - 1 : n);
    rc = parse_count(ctx, "wakeup", digits, &m->wakeup);
    free(digits);
    return rc;
}

static void entry_free(master_entry_t *m)
{
    if (m == NULL)
        return;
    free(m->name);
    free(m->type);
    free(m->command);
    argv_free(m->args);
    free(m);
}

static const char *const field_names[FIELD_COUNT] = {
    "service", "type", "private", "unpriv", "chroot", "wakeup", "maxproc", "command",
};

static master_entry_t *parse_entry(parse_ctx_t *ctx, const char *line, int default_process_limit)
{
    argv_t *w = argv_new();
    master_entry_t *m = xcalloc(1, sizeof(*m));
    int ok = split_words(ctx, line, w) == 0;

    m->line = ctx->line;
    m->args = argv_new();
    if (ok && w->argc < FIELD_COUNT)
        ok = fail(ctx, "missing %s field", field_names[w->argc]) == 0;
    /* "{}" gives an empty word: no column may be empty (an empty service
     * or command would name a folder, not a socket or a program). */
    for (size_t i = 0; ok && i < FIELD_COUNT; i++)
        if (w->argv[i][0] == 0)
            ok = fail(ctx, "empty %s field", field_names[i]) == 0;
    if (ok && !known_type(w->argv[1]))
        ok = fail(ctx, "bad transport type: %s", w->argv[1]) == 0;
    if (ok) {
        m->name = xstrdup(w->argv[0]);
        m->type = xstrdup(w->argv[1]);
        m->command = xstrdup(w->argv[7]);
        m->maxproc = default_process_limit;
        ok = parse_flag(ctx, "private", w->argv[2], 1, &m->private_) == 0
            && parse_flag(ctx, "unpriv", w->argv[3], 1, &m->unpriv) == 0
            && parse_flag(ctx, "chroot", w->argv[4], 0, &m->chroot) == 0
            && parse_wakeup(ctx, w->argv[5], m) == 0
            && (strcmp(w->argv[6], "-") == 0
                || parse_count(ctx, "maxproc", w->argv[6], &m->maxproc) == 0);
    }
    if (ok && strcmp(m->type, "inet") == 0) {
        /* An inet service cannot be private: '-' means public here. */
        if (strcmp(w->argv[2], "y") == 0)
            ok = fail(ctx, "inet service %s cannot be private", m->name) == 0;
        m->private_ = 0;
    }
    for (size_t i = FIELD_COUNT; ok && i < w->argc; i++)
        argv_add(m->args, w->argv[i]);
    argv_free(w);
    if (!ok) {
        entry_free(m);
        return NULL;
    }
    return m;
}

/* ---- the table ---- */

static void table_put(master_table_t *t, master_entry_t *m, const char *path)
{
    for (size_t i = 0; i < t->count; i++) {
        master_entry_t *old = t->entries[i];

        if (strcmp(old->name, m->name) == 0 && strcmp(old->type, m->type) == 0) {
            msg_warn("%s, line %d: duplicate service %s/%s replaces the one at line %d",
                     path, m->line, m->name, m->type, old->line);
            entry_free(old);
            t->entries[i] = m;
            return;
        }
    }
    t->entries = xreallocarray(t->entries, size_add(t->count, 1), sizeof(*t->entries));
    t->entries[t->count++] = m;
}

static int add_logical_line(master_table_t *t, parse_ctx_t *ctx, const char *line,
                            int default_process_limit)
{
    master_entry_t *m = parse_entry(ctx, line, default_process_limit);

    if (m == NULL)
        return -1;
    table_put(t, m, ctx->path);
    return 0;
}

/* Logical lines as in main.cf: whitespace at the start continues the
 * entry before; blank lines and '#' lines are skipped. */
static int parse_text(master_table_t *t, const char *path, const char *text, size_t len,
                      int default_process_limit, char **err)
{
    buf_t logical = BUF_INIT;
    const char *p = text, *end = text + len;
    parse_ctx_t ctx = { path, 0, err };
    int line_no = 0, rc = 0;

    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *line_end = nl ? nl : end;
        const char *first = p;

        line_no++;
        while (first < line_end && isspace((unsigned char) *first))
            first++;
        if (memchr(p, 0, (size_t) (line_end - p)) != NULL) {
            ctx.line = line_no;
            rc = fail(&ctx, "NUL character in line");
        } else if (first < line_end && *first != '#') {
            if (first == p) {
                if (ctx.line)
                    rc = add_logical_line(t, &ctx, buf_str(&logical), default_process_limit);
                buf_reset(&logical);
                ctx.line = line_no;
            }
            if (ctx.line == 0) {
                msg_warn("%s, line %d: ignoring a continuation line with no service before it",
                         path, line_no);
            } else {
                buf_putc(&logical, ' ');
                buf_append(&logical, first, (size_t) (line_end - first));
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (rc == 0 && ctx.line)
        rc = add_logical_line(t, &ctx, buf_str(&logical), default_process_limit);
    buf_release(&logical);
    return rc;
}

master_table_t *mastercf_load(const char *path, int default_process_limit, char **err)
{
    master_table_t *t = xcalloc(1, sizeof(*t));
    buf_t text = BUF_INIT;

    *err = NULL;
    if (buf_read_file(&text, path, MASTER_CF_MAX) < 0) {
        buf_t b = BUF_INIT;

        buf_printf(&b, "open %s: %s", path, strerror(errno));
        *err = buf_steal(&b);
        buf_release(&text);
        free(t);
        return NULL;
    }
    if (parse_text(t, path, buf_str(&text), text.len, default_process_limit, err) < 0) {
        mastercf_free(t);
        t = NULL;
    }
    buf_release(&text);
    return t;
}

void mastercf_free(master_table_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++)
        entry_free(t->entries[i]);
    free(t->entries);
    free(t);
}
