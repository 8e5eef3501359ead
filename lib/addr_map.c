/* addr_map: canonical and virtual alias lookups of one address, with
 * Postfix's result rules (@otherdomain, canonical results, unmatched
 * extensions). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr_map.h"
#include "address.h"
#include "alloc.h"
#include "config.h"
#include "log.h"
#include "match_list.h"
#include "resolve.h"

int addr_map_local_domain(const char *domain)
{
    const char *myorigin;
    int r;

    if (domain == NULL)
        return 1;
    myorigin = config_str("myorigin");
    if (strcasecmp(domain, myorigin) == 0)
        return 1;
    r = resolve_local_domain_status(domain);
    if (r == MATCH_ERROR)
        return -1;
    return r == MATCH_FOUND;
}

int addr_map_propagates(const char *cls)
{
    argv_t *list = config_list("propagate_unmatched_extensions");
    int found = 0;

    for (size_t i = 0; i < list->argc && !found; i++)
        found = strcasecmp(list->argv[i], cls) == 0;
    argv_free(list);
    return found;
}

int addr_map_find(maps_t *m, const char *addr, buf_t *value, int *matched_ext)
{
    buf_t key = BUF_INIT;
    int local, r;

    if (matched_ext != NULL)
        *matched_ext = 0;
    if (maps_empty(m))
        return TABLE_NOTFOUND;
    local = addr_map_local_domain(addr_domain(addr));
    if (local < 0) {
        msg_warn("%s: cannot decide whether the domain is local: mydestination lookup error",
                 addr);
        return TABLE_ERROR;
    }
    /* Tables hold keys in external (quoted) form, as postmap reads them. */
    addr_quote(&key, addr);
    r = maps_find_addr(m, buf_str(&key), MAPS_ADDR_VIRTUAL, local, value, matched_ext);
    buf_release(&key);
    return r;
}

/* Ends one result item: "<addr>" loses its brackets, then it is unquoted. */
static void add_item(argv_t *out, const char *text, size_t len)
{
    buf_t raw = BUF_INIT, internal = BUF_INIT;

    if (len >= 2 && text[0] == '<' && text[len - 1] == '>') {
        text++;
        len -= 2;
    }
    if (len > 0) {
        buf_append(&raw, text, len);
        addr_unquote(&internal, buf_str(&raw));
        if (internal.len > 0)
            argv_add(out, buf_str(&internal));
    }
    buf_release(&raw);
    buf_release(&internal);
}

void addr_map_split_result(const char *value, argv_t *out)
{
    const char *p = value, *start = NULL;
    int quoted = 0, angle = 0;

    for (;; p++) {
        int sep = *p == 0 || (!quoted && !angle && strchr(LIST_DELIMS, *p) != NULL);

        if (sep) {
            if (start != NULL)
                add_item(out, start, (size_t) (p - start));
            start = NULL;
            if (*p == 0)
                break;
            continue;
        }
        if (start == NULL)
            start = p;
        if (*p == '\\' && quoted && p[1] != 0)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (*p == '<' && !quoted)
            angle = 1;
        else if (*p == '>' && !quoted)
            angle = 0;
    }
}

/* The extension of addr's local part with its delimiter ("+foo"), or "". */
static void unmatched_extension(const char *addr, buf_t *ext)
{
    const char *at = strrchr(addr, '@');
    const char *delims = config_str("recipient_delimiter");
    size_t lp_len = at ? (size_t) (at - addr) : strlen(addr);
    size_t cut = 0;

    buf_reset(ext);
    if (*delims == 0)
        return;
    while (cut < lp_len && strchr(delims, addr[cut]) == NULL)
        cut++;
    if (cut > 0 && cut < lp_len)
        buf_append(ext, addr + cut, lp_len - cut);
}

/* "@otherdomain" -> "user@otherdomain" (user without the unmatched
 * extension, which propagation may put back). */
static void prepend_user(const char *addr, const buf_t *ext, char **item)
{
    const char *at = strrchr(addr, '@');
    size_t lp_len = at ? (size_t) (at - addr) : strlen(addr);
    buf_t full = BUF_INIT;

    if (ext->len <= lp_len)
        lp_len -= ext->len;
    buf_append(&full, addr, lp_len);
    buf_puts(&full, *item);
    free(*item);
    *item = buf_steal(&full);
}

/* Canonical form, then the extension just before the '@'. */
static void finish_item(char **item, const buf_t *ext)
{
    buf_t canon = BUF_INIT;

    resolve_canonical(&canon, *item);
    if (ext->len > 0) {
        const char *at = strrchr(buf_str(&canon), '@');
        size_t pos = at ? (size_t) (at - canon.data) : canon.len;
        buf_t with_ext = BUF_INIT;

        buf_append(&with_ext, canon.data, pos);
        buf_append(&with_ext, ext->data, ext->len);
        buf_puts(&with_ext, canon.data + pos);
        buf_release(&canon);
        canon = with_ext;
    }
    free(*item);
    *item = buf_steal(&canon);
    buf_release(&canon);
}

int addr_map_lookup(maps_t *m, const char *addr, int propagate, argv_t *result)
{
    buf_t value = BUF_INIT, ext = BUF_INIT;
    int matched_ext = 0, r;

    while (result->argc > 0)
        free(result->argv[--result->argc]);
    result->argv[0] = NULL;
    r = addr_map_find(m, addr, &value, &matched_ext);
    if (r != TABLE_FOUND)
        goto done;
    addr_map_split_result(buf_str(&value), result);
    if (result->argc == 0) {
        msg_warn("lookup of %s: the result \"%s\" holds no address: ignored",
                 addr, buf_str(&value));
        r = TABLE_NOTFOUND;
        goto done;
    }
    if (matched_ext)
        unmatched_extension(addr, &ext);
    if (result->argv[0][0] == '@')
        prepend_user(addr, &ext, &result->argv[0]);
    if (!propagate)
        buf_reset(&ext);
    for (size_t i = 0; i < result->argc; i++)
        finish_item(&result->argv[i], &ext);
done:
    buf_release(&value);
    buf_release(&ext);
    return r;
}
