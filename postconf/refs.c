/* refs: finds the parameter names a value refers to ($name, ${name},
 * $(name), ${name?...}, ${name:...}, ${{...} op {...} ? ...}), for the
 * "unused parameter" and "undefined parameter" warnings. */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "postconf.h"

static int is_name_char(int c)
{
    return isalnum((unsigned char) c) || c == '_';
}

/* p at an opening bracket; its matching close, or end when unmatched. */
static const char *match_close(const char *p, const char *end)
{
    char open = *p, close = open == '{' ? '}' : ')';
    int depth = 0;

    for (; p < end; p++) {
        if (*p == open)
            depth++;
        else if (*p == close && --depth == 0)
            return p;
    }
    return end;
}

static void scan(const char *p, const char *end, postconf_ref_fn fn, void *ctx)
{
    while (p < end) {
        const char *dollar = memchr(p, '$', (size_t) (end - p));

        if (dollar == NULL || dollar + 1 >= end)
            return;
        p = dollar + 1;
        if (*p == '$') {
            p++;
        } else if (*p == '{' || *p == '(') {
            const char *close = match_close(p, end);
            const char *name = p + 1, *q;

            while (name < close && isspace((unsigned char) *name))
                name++;
            for (q = name; q < close && is_name_char(*q); q++)
                ;
            if (q > name)
                fn(name, (size_t) (q - name), q == close, ctx);
            scan(q, close, fn, ctx);        /* references inside ?, : and { } parts */
            p = close < end ? close + 1 : end;
        } else if (is_name_char(*p)) {
            const char *name = p;

            while (p < end && is_name_char(*p))
                p++;
            fn(name, (size_t) (p - name), 1, ctx);
        }
    }
}

void postconf_scan_refs(const char *text, postconf_ref_fn fn, void *ctx)
{
    scan(text, text + strlen(text), fn, ctx);
}
