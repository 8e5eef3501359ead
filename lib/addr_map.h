/* addr_map: one lookup of an address in canonical or virtual alias tables
 * (canonical_maps, sender/recipient_canonical_maps, virtual_alias_maps),
 * with Postfix's rules (reference §4, §7):
 *   - search order MAPS_ADDR_VIRTUAL: user+ext@domain, user@domain, then
 *     user+ext and user when the domain is local ($myorigin,
 *     $mydestination, one of our address literals), then @domain;
 *   - the result is a list of addresses separated by commas and/or
 *     whitespace ("quoted strings" and <brackets> respected);
 *   - a first result "@otherdomain" keeps the user part of the address
 *     looked up (without an unmatched extension);
 *   - every result address is made canonical (bare "user" ->
 *     user@$myorigin);
 *   - when asked, an extension that the matching key did not have
 *     (user+ext@domain found as user@domain) is carried over to every
 *     result address (propagate_unmatched_extensions).
 * Addresses are in internal form (unquoted local part). Used by cleanup
 * (canonical maps, lib/virtual_alias). */
#ifndef FACTEUR_ADDR_MAP_H
#define FACTEUR_ADDR_MAP_H

#include "argv.h"
#include "buf.h"
#include "table.h"

/* Is domain local for the search order? 1 yes, 0 no, -1 when a table or
 * file of mydestination could not be searched. NULL (no domain) is local. */
int addr_map_local_domain(const char *domain);

/* Does propagate_unmatched_extensions list cls ("canonical", "virtual")? */
int addr_map_propagates(const char *cls);

/* The bare lookup: TABLE_FOUND with the raw table value in value (and
 * *matched_ext, if not NULL, set when the key matched without the
 * extension), TABLE_NOTFOUND or TABLE_ERROR (also when locality could not
 * be decided). */
int addr_map_find(maps_t *m, const char *addr, buf_t *value, int *matched_ext);

/* The full lookup: on TABLE_FOUND, result (emptied first) holds the
 * canonical result addresses, at least one. A value with no address in it
 * is logged and counts as TABLE_NOTFOUND. */
int addr_map_lookup(maps_t *m, const char *addr, int propagate, argv_t *result);

/* Splits a table value into internal-form addresses (not canonicalised). */
void addr_map_split_result(const char *value, argv_t *out);

#endif
