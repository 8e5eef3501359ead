/* argv: string arrays. */
#include <string.h>
#include <stdlib.h>

#include "alloc.h"
#include "argv.h"

argv_t *argv_new(void)
{
    argv_t *a = xmalloc(sizeof(*a));

    a->cap = 8;
    a->argc = 0;
    a->argv = xcalloc(a->cap, sizeof(char *));
    return a;
}

void argv_addn(argv_t *a, const char *s, size_t len)
{
    if (a->argc + 1 >= a->cap) {
        a->cap = size_mul(a->cap, 2);
        a->argv = xreallocarray(a->argv, a->cap, sizeof(char *));
    }
    a->argv[a->argc++] = xstrndup(s, len);
    a->argv[a->argc] = NULL;
}

void argv_add(argv_t *a, const char *s)
{
    argv_addn(a, s, strlen(s));
}

void argv_free(argv_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    free(a);
}

argv_t *argv_split(const char *s, const char *delims)
{
    argv_t *a = argv_new();

    while (*s) {
        size_t skip = strspn(s, delims);
        size_t len;

        s += skip;
        len = strcspn(s, delims);
        if (len)
            argv_addn(a, s, len);
        s += len;
    }
    return a;
}

/* Adds s[0..len) to a, without its braces when the whole element is one
 * "{ ... }" group, trimming the blanks inside them. */
/* Where the brace at s[0] closes within len bytes; len when it doesn't. */
static size_t matching_brace(const char *s, size_t len)
{
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && --depth == 0)
            return i;
    }
    return len;
}

/* Adds s[0..len) to a; an element that is one "{ ... }" group loses its
 * braces and the blanks inside them (an unterminated one its opening brace). */
static void add_list_element(argv_t *a, const char *s, size_t len)
{
    const char *b = s, *e = s + len;

    if (len > 0 && s[0] == '{') {
        size_t close = matching_brace(s, len);

        if (close != len && close != len - 1) {
            argv_addn(a, s, len);             /* "{a}b": not one group */
            return;
        }
        b = s + 1;
        e = close == len ? s + len : s + close;
        while (b < e && strchr(" \t\r\n", *b))
            b++;
        while (e > b && strchr(" \t\r\n", e[-1]))
            e--;
    }
    argv_addn(a, b, (size_t) (e - b));
}

argv_t *argv_split_list(const char *s)
{
    argv_t *a = argv_new();

    while (*s) {
        const char *p;
        int depth = 0;

        s += strspn(s, LIST_DELIMS);
        if (*s == 0)
            break;
        /* Delimiters inside braces, anywhere in the element (as in
         * "inline:{ a=1, b=2 }"), do not split it. */
        for (p = s; *p; p++) {
            if (*p == '{')
                depth++;
            else if (*p == '}' && depth > 0)
                depth--;
            else if (depth == 0 && strchr(LIST_DELIMS, *p))
                break;
        }
        add_list_element(a, s, (size_t) (p - s));
        s = p;
    }
    return a;
}
