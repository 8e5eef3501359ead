/* argv: a growable, NULL-terminated array of strings, and list splitting. */
#ifndef FACTEUR_ARGV_H
#define FACTEUR_ARGV_H

#include <stddef.h>

typedef struct argv {
    char  **argv;        /* always NULL-terminated */
    size_t  argc;
    size_t  cap;
} argv_t;

argv_t *argv_new(void);
void    argv_add(argv_t *a, const char *s);        /* copies s */
void    argv_addn(argv_t *a, const char *s, size_t len);
void    argv_free(argv_t *a);
/* Splits s at any character of delims, dropping empty fields. */
argv_t *argv_split(const char *s, const char *delims);
/* The Postfix parameter-list split: commas and/or whitespace separate,
 * and a "{ ... }" group (for values with spaces) stays one element,
 * without its braces. */
argv_t *argv_split_list(const char *s);

#define LIST_DELIMS ", \t\r\n"

#endif
