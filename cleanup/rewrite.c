/* rewrite: cleanup's address rewriting after the canonical form (reference
 * §4): sender_canonical_maps / recipient_canonical_maps, then
 * canonical_maps, each for the address classes its *_classes parameter
 * names; then masquerade_domains (masquerade_classes, minus
 * masquerade_exceptions); and virtual_alias_maps for envelope recipients.
 * A table that cannot be searched defers the message (4.6.0). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr_map.h"
#include "alloc.h"
#include "cleanup.h"
#include "cleanup_client.h"
#include "config.h"
#include "log.h"
#include "match_list.h"
#include "table.h"
#include "virtual_alias.h"

/* Postfix stops following canonical results after this many steps. */
#define CANONICAL_NESTING_MAX 10

typedef struct canonical_map {
    const char *param;
    maps_t     *maps;              /* NULL when the parameter is empty */
    unsigned    classes;           /* REWRITE_* the map applies to */
} canonical_map_t;

static struct {
    canonical_map_t  sender;
    canonical_map_t  recipient;
    canonical_map_t  common;
    int              propagate;    /* propagate_unmatched_extensions has canonical */
    argv_t          *masq_domains; /* NULL when empty */
    unsigned         masq_classes;
    match_list_t    *masq_exceptions;  /* NULL when empty */
    virtual_alias_t *virtual_alias;
} rw;

/* ---- settings ------------------------------------------------------ */

static unsigned parse_classes(const char *param)
{
    static const struct {
        const char *name;
        unsigned    bit;
    } names[] = {
        { "envelope_sender", REWRITE_ENV_SENDER },
        { "envelope_recipient", REWRITE_ENV_RCPT },
        { "header_sender", REWRITE_HDR_SENDER },
        { "header_recipient", REWRITE_HDR_RCPT },
    };
    const char *value = config_str(param);
    argv_t *list = argv_split_list(value);
    unsigned classes = 0;

    for (size_t i = 0; i < list->argc; i++) {
        size_t j;

        for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
            if (strcasecmp(list->argv[i], names[j].name) == 0)
                break;
        if (j < sizeof(names) / sizeof(names[0]))
            classes |= names[j].bit;
        else
            msg_warn("unknown %s value \"%s\" in \"%s = %s\"; ignored",
                     param, list->argv[i], param, value);
    }
    argv_free(list);
    return classes;
}

static void canonical_map_open(canonical_map_t *cm, const char *param, const char *classes)
{
    const char *value = config_str(param);

    cm->param = param;
    cm->maps = NULL;
    cm->classes = parse_classes(classes);
    if (*value != 0)
        cm->maps = maps_open(param, value, TABLE_FLAG_FOLD);
}

void cleanup_rewrite_load(void)
{
    const char *masq = config_str("masquerade_domains");
    const char *except = config_str("masquerade_exceptions");

    canonical_map_open(&rw.sender, "sender_canonical_maps", "sender_canonical_classes");
    canonical_map_open(&rw.recipient, "recipient_canonical_maps",
                       "recipient_canonical_classes");
    canonical_map_open(&rw.common, "canonical_maps", "canonical_classes");
    rw.propagate = addr_map_propagates("canonical");
    rw.masq_domains = NULL;
    if (*masq != 0)
        rw.masq_domains = argv_split_list(masq);
    rw.masq_classes = parse_classes("masquerade_classes");
    rw.masq_exceptions = NULL;
    if (*except != 0)
        rw.masq_exceptions = match_list_open("masquerade_exceptions", except,
                                             MATCH_LIST_DOMAIN);
    rw.virtual_alias = virtual_alias_open();
}

static void defer_message(cleanup_state_t *st)
{
    cleanup_fail(st, CLEANUP_STAT_DEFER, VIRTUAL_ALIAS_DEFER_REASON);
}

/* ---- canonical maps ------------------------------------------------ */

/* Replaces addr with its canonical-map result, following results until
 * one maps to itself or nothing more is found. */
static void canonical_map_apply(cleanup_state_t *st, const canonical_map_t *cm, buf_t *addr)
{
    argv_t *result = argv_new();
    int count, r = TABLE_NOTFOUND;

    for (count = 0; count < CANONICAL_NESTING_MAX; count++) {
        int same;

        r = addr_map_lookup(cm->maps, buf_str(addr), rw.propagate, result);
        if (r != TABLE_FOUND)
            break;
        if (result->argc > 1)
            msg_warn("%s: multi-valued %s entry for %s", st->queue_id, cm->param,
                     buf_str(addr));
        same = strcasecmp(buf_str(addr), result->argv[0]) == 0;
        buf_set(addr, result->argv[0]);
        if (same)
            break;
    }
    if (r == TABLE_ERROR) {
        msg_warn("%s: %s map lookup problem for %s -- message not accepted, try again later",
                 st->queue_id, cm->param, buf_str(addr));
        defer_message(st);
    } else if (count == CANONICAL_NESTING_MAX) {
        msg_warn("%s: unreasonable %s map nesting for %s -- message not accepted, "
                 "try again later", st->queue_id, cm->param, buf_str(addr));
    }
    argv_free(result);
}

/* ---- masquerading -------------------------------------------------- */

static int masquerade_excluded(cleanup_state_t *st, const char *addr, size_t lp_len)
{
    char *user;
    int r;

    if (rw.masq_exceptions == NULL)
        return 0;
    user = xstrndup(addr, lp_len);
    r = match_list_domain(rw.masq_exceptions, user);
    free(user);
    if (r == MATCH_ERROR) {
        msg_warn("%s: masquerade_exceptions map lookup problem -- message not accepted, "
                 "try again later", st->queue_id);
        defer_message(st);
    }
    return r == MATCH_FOUND;
}

/* "user@host.sub.example.com" -> "user@example.com" when example.com is
 * listed; the first entry that is the domain or a parent of it decides,
 * and a "!entry" that decides leaves the address alone. */
static void masquerade(cleanup_state_t *st, buf_t *addr)
{
    const char *at = strrchr(buf_str(addr), '@');
    size_t lp_len, dom_len;
    const char *domain;

    if (at == NULL || at[1] == 0)
        return;
    lp_len = (size_t) (at - addr->data);
    if (masquerade_excluded(st, addr->data, lp_len))
        return;
    domain = at + 1;
    dom_len = strlen(domain);
    for (size_t i = 0; i < rw.masq_domains->argc; i++) {
        const char *masq = rw.masq_domains->argv[i];
        int truncate = 1;
        size_t masq_len;

        for (; *masq == '!'; masq++)
            truncate = !truncate;
        if ((masq_len = strlen(masq)) == 0)
            continue;
        if (masq_len == dom_len) {
            if (strcasecmp(masq, domain) == 0)
                return;             /* already the masquerade domain */
        } else if (masq_len < dom_len) {
            const char *parent = domain + dom_len - masq_len;

            if (parent[-1] == '.' && strcasecmp(masq, parent) == 0) {
                if (truncate) {
                    buf_t keep = BUF_INIT;

                    buf_set(&keep, masq);   /* written in lower case, as Postfix does */
                    buf_lower(&keep);
                    buf_truncate(addr, lp_len + 1);
                    buf_puts(addr, buf_str(&keep));
                    buf_release(&keep);
                }
                return;
            }
        }
    }
}

/* ---- the steps, in Postfix's order --------------------------------- */

void cleanup_rewrite_addr(cleanup_state_t *st, unsigned cls, buf_t *addr)
{
    if (addr->len == 0 || st->errs != 0)
        return;                     /* the null sender is never rewritten */
    if ((cls & (REWRITE_ENV_SENDER | REWRITE_HDR_SENDER)) && rw.sender.maps
        && (rw.sender.classes & cls))
        canonical_map_apply(st, &rw.sender, addr);
    if ((cls & (REWRITE_ENV_RCPT | REWRITE_HDR_RCPT)) && rw.recipient.maps
        && (rw.recipient.classes & cls) && st->errs == 0)
        canonical_map_apply(st, &rw.recipient, addr);
    if (rw.common.maps && (rw.common.classes & cls) && st->errs == 0)
        canonical_map_apply(st, &rw.common, addr);
    if (rw.masq_domains && (rw.masq_classes & cls) && st->errs == 0)
        masquerade(st, addr);
}

void cleanup_virtual_expand(cleanup_state_t *st, const char *addr, argv_t *out)
{
    if (virtual_alias_expand(rw.virtual_alias, st->queue_id, addr, out) < 0)
        defer_message(st);
}
