/* virtual_alias: recursive virtual_alias_maps expansion with Postfix's
 * limits and "expands to itself" rule. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr_map.h"
#include "alloc.h"
#include "config.h"
#include "log.h"
#include "virtual_alias.h"

#define VA_PARAM "virtual_alias_maps"

struct virtual_alias {
    maps_t *maps;
    long    recursion_limit;
    long    expansion_limit;
    long    length_limit;
    int     propagate;
};

virtual_alias_t *virtual_alias_open(void)
{
    virtual_alias_t *va = xcalloc(1, sizeof(*va));

    va->maps = maps_open(VA_PARAM, config_str(VA_PARAM), TABLE_FLAG_FOLD);
    /* lib/config makes each limit at least 1. */
    va->recursion_limit = config_int("virtual_alias_recursion_limit");
    va->expansion_limit = config_int("virtual_alias_expansion_limit");
    va->length_limit = config_int("virtual_alias_address_length_limit");
    va->propagate = addr_map_propagates("virtual");
    return va;
}

void virtual_alias_free(virtual_alias_t *va)
{
    if (va == NULL)
        return;
    maps_free(va->maps);
    free(va);
}

int virtual_alias_empty(const virtual_alias_t *va)
{
    return va == NULL || maps_empty(va->maps);
}

/* Addresses that expanded to themselves; compared without case. */
static int is_final(const argv_t *final, const char *addr)
{
    for (size_t i = 0; i < final->argc; i++)
        if (strcasecmp(final->argv[i], addr) == 0)
            return 1;
    return 0;
}

static void replace(argv_t *list, size_t i, const char *addr)
{
    char *copy = xstrdup(addr);

    free(list->argv[i]);
    list->argv[i] = copy;
}

/* Looks list->argv[i] up and puts the result in its place (first address)
 * and at the end (the others). 1 when it expanded, 0 when not found, -1 on
 * an error (logged). */
static int expand_once(virtual_alias_t *va, const char *log_id, const char *addr,
                       argv_t *list, size_t i, argv_t *final, argv_t *result)
{
    char *lhs;
    int r = addr_map_lookup(va->maps, list->argv[i], va->propagate, result);

    if (r == TABLE_NOTFOUND)
        return 0;
    if (r == TABLE_ERROR) {
        msg_warn("%s: %s map lookup problem for %s -- message not accepted, try again later",
                 log_id, VA_PARAM, list->argv[i]);
        return -1;
    }
    for (size_t j = 0; j < result->argc; j++) {
        if ((long) strlen(result->argv[j]) > va->length_limit) {
            msg_warn("%s: unreasonable %s result %.300s... -- message not accepted, "
                     "try again later", log_id, VA_PARAM, result->argv[j]);
            return -1;
        }
    }
    /* Checked before the list grows: results replace one address. */
    if ((long) (list->argc - 1) > va->expansion_limit - (long) result->argc) {
        msg_warn("%s: unreasonable %s map expansion size for %s -- message not accepted, "
                 "try again later", log_id, VA_PARAM, addr);
        return -1;
    }
    lhs = xstrdup(list->argv[i]);
    for (size_t j = 0; j < result->argc; j++) {
        if (j == 0)
            replace(list, i, result->argv[j]);
        else
            argv_add(list, result->argv[j]);
        /* The address expands (also) to itself: that copy is final. */
        if (strcasecmp(lhs, result->argv[j]) == 0 && !is_final(final, lhs))
            argv_add(final, lhs);
    }
    free(lhs);
    return 1;
}

/* Expands list->argv[i] until it is final, not found, or too deep. */
static int expand_slot(virtual_alias_t *va, const char *log_id, const char *addr,
                       argv_t *list, size_t i, argv_t *final, argv_t *result)
{
    for (long depth = 0;; depth++) {
        int r;

        if (is_final(final, list->argv[i]))
            return 0;
        if (depth >= va->recursion_limit) {
            msg_warn("%s: unreasonable %s map nesting for %s -- message not accepted, "
                     "try again later", log_id, VA_PARAM, addr);
            return -1;
        }
        if ((r = expand_once(va, log_id, addr, list, i, final, result)) <= 0)
            return r;
    }
}

int virtual_alias_expand(virtual_alias_t *va, const char *log_id, const char *addr,
                         argv_t *out)
{
    argv_t *list, *final, *result;
    int ret = 0;

    if (virtual_alias_empty(va)) {
        argv_add(out, addr);
        return 0;
    }
    list = argv_new();
    final = argv_new();
    result = argv_new();
    argv_add(list, addr);
    /* list grows while it is walked: index it, never keep pointers. */
    for (size_t i = 0; i < list->argc && ret == 0; i++)
        ret = expand_slot(va, log_id, addr, list, i, final, result);
    if (ret == 0)
        for (size_t i = 0; i < list->argc; i++)
            argv_add(out, list->argv[i]);
    argv_free(list);
    argv_free(final);
    argv_free(result);
    return ret;
}
