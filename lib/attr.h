/* attr: the one IPC protocol. A message is a list of attributes, each
 * "name NUL value NUL", ended by an empty name (one NUL). Every
 * daemon-to-daemon conversation uses it over UNIX stream sockets.
 * Receivers bound everything and check lists field by field. */
#ifndef FACTEUR_ATTR_H
#define FACTEUR_ATTR_H

#include <stddef.h>
#include "stream.h"

#define ATTR_MAX_COUNT     1024
#define ATTR_MAX_NAME      100
#define ATTR_MAX_VALUE     (64 * 1024)
#define ATTR_MAX_TOTAL     (1024 * 1024)   /* bytes in one list, names and values */

void attr_put_str(stream_t *s, const char *name, const char *value);
void attr_put_long(stream_t *s, const char *name, long value);
/* Ends the list and flushes the stream (errors show in stream_status). */
void attr_put_end(stream_t *s);

typedef struct attr_list {
    size_t count;
    char  *names[ATTR_MAX_COUNT];
    char  *values[ATTR_MAX_COUNT];
} attr_list_t;

attr_list_t *attr_list_new(void);
void         attr_list_free(attr_list_t *a);
/* Reads one list (through the empty name) into a (emptied first).
 * 0 on success; -1 on EOF, I/O error, timeout, a repeated name, or a
 * bound exceeded. */
int          attr_read(stream_t *s, attr_list_t *a);
const char  *attr_get(const attr_list_t *a, const char *name);   /* NULL if absent */
/* 0 and *value when present and a whole decimal number; -1 otherwise. */
int          attr_get_long(const attr_list_t *a, const char *name, long *value);
/* Strict shape check: every name in required (NULL-terminated) is present,
 * and every present name is in required or optional. 0 or -1. */
int          attr_check(const attr_list_t *a, const char *const *required,
                        const char *const *optional);

#endif
