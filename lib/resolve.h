/* resolve: what trivial-rewrite does, folded into the library. Makes
 * addresses canonical (bare "user" gets "@$myorigin") and maps a recipient
 * to its address class, transport and nexthop:
 *   local domain (mydestination, $myhostname, localhost, [our IP]) ->
 *       local_transport (local:$myhostname)
 *   relay_domains -> relay_transport, else default_transport (smtp),
 *       nexthop = relayhost when set, else the recipient domain.
 * transport_maps then override every class (local domains too), searched
 * as user+ext@domain, user@domain, domain, parents (".parent", or
 * "parent" with parent_domain_matches_subdomains), "*". A result
 * "transport:nexthop" with an empty transport keeps the class's; an empty
 * nexthop keeps the class's when the transport is empty too, else becomes
 * the recipient domain. */
#ifndef FACTEUR_RESOLVE_H
#define FACTEUR_RESOLVE_H

#include "buf.h"

#define ADDR_CLASS_LOCAL    1
#define ADDR_CLASS_RELAY    2
#define ADDR_CLASS_DEFAULT  3

/* Appends "@$myorigin" to an address without a domain ("" stays ""). */
void resolve_canonical(buf_t *out, const char *addr);
/* Is this domain one of ours (mydestination etc.)? Case-insensitive. */
int  resolve_local_domain(const char *domain);
/* Is the domain in relay_domains? */
int  resolve_relay_domain(const char *domain);
/* As the two above, but MATCH_ERROR (-1, lib/match_list.h) when a table
 * or /file of the list could not be searched: the caller must defer.
 * (The yes/no forms answer "no" then.) */
int  resolve_local_domain_status(const char *domain);
int  resolve_relay_domain_status(const char *domain);
/* Class, transport ("local") and nexthop for a canonical recipient; -1
 * when transport_maps could not be searched (the caller must defer). */
int  resolve_address(const char *addr, buf_t *transport, buf_t *nexthop);
/* Is this address (network byte order, AF_INET/AF_INET6) one of ours
 * (inet_interfaces, proxy_interfaces)? The SMTP client's loop guard. */
int  resolve_address_is_ours(int family, const void *bytes);
/* Drops cached settings (after config changes in tests). */
void resolve_reset(void);

#endif
