/* virtual_alias: virtual_alias_maps expansion (reference §4).
 *
 * Expansion: every address is looked up again (recursion); a result that
 * is the address looked up makes that address final ("expands to itself");
 * virtual_alias_recursion_limit bounds the nesting of one address,
 * virtual_alias_expansion_limit the number of addresses,
 * virtual_alias_address_length_limit the length of each result. Going over
 * a limit or a table lookup error means: defer the whole message
 * ("4.6.0 Alias expansion error", 451), never bounce. */
#ifndef FACTEUR_VIRTUAL_ALIAS_H
#define FACTEUR_VIRTUAL_ALIAS_H

#include "argv.h"
#include "table.h"

/* What the message gets when expansion fails (cleanup's reason text). */
#define VIRTUAL_ALIAS_DEFER_REASON "4.6.0 Alias expansion error"

typedef struct virtual_alias virtual_alias_t;

/* virtual_alias_maps, its limits and propagate_unmatched_extensions, from
 * main.cf. The tables are opened now (a table that cannot be opened makes
 * lookups fail, and so defers mail, until it can be). */
virtual_alias_t *virtual_alias_open(void);
void             virtual_alias_free(virtual_alias_t *va);
/* No virtual_alias_maps: expansion returns the address itself. */
int              virtual_alias_empty(const virtual_alias_t *va);

/* Expands a canonical recipient into out (appended; internal form,
 * canonical, duplicates left in: the caller removes them). 0 on success;
 * -1 when the message must be deferred, with a warning logged as
 * "QUEUE_ID: unreasonable virtual_alias_maps map nesting for ADDR --
 * message not accepted, try again later" (log_id prefixes the lines). */
int virtual_alias_expand(virtual_alias_t *va, const char *log_id, const char *addr,
                         argv_t *out);

#endif
