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

argv_t *argv_split_list(const char *s)
{
    argv_t *a = argv_new();

    while (*s) {
        s += strspn(s, LIST_DELIMS);
        if (*s == 0)
            break;
        if (*s == '{') {
            /* "{ text }": one element, surrounding blanks trimmed. */
            const char *end = s + 1;
            int depth = 1;

            while (*end && depth) {
                if (*end == '{')
                    depth++;
                else if (*end == '}')
                    depth--;
                if (depth)
                    end++;
            }
            const char *b = s + 1;
            const char *e = end;

            while (b < e && strchr(" \t\r\n", *b))
                b++;
            while (e > b && strchr(" \t\r\n", e[-1]))
                e--;
            argv_addn(a, b, (size_t) (e - b));
            s = *end ? end + 1 : end;
            continue;
        }
        size_t len = strcspn(s, LIST_DELIMS);

        argv_addn(a, s, len);
        s += len;
    }
    return a;
}
