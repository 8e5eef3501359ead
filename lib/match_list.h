/* match_list: Postfix's match lists, the parameter values that say which
 * domains (mydestination, relay_domains, virtual_alias_domains...) or which
 * clients (mynetworks, smtpd_forbid_bare_newline_exclusions...) a setting
 * covers.
 *
 * Entries are separated by commas and/or whitespace; the first entry that
 * matches decides:
 *   example.com      the domain itself; also its subdomains when the
 *                    parameter is listed in parent_domain_matches_subdomains
 *   .example.com     subdomains only
 *   1.2.3.0/24 1.2.3.4 [::1]/128 [fe80::1] ::1/128   (host lists) addresses
 *   type:table       a lookup of the domain (then its parents, as above:
 *                    "example.com" or ".example.com"), or of the host name
 *                    and then the address; any value found is a match
 *   /file/name       replaced by the file's entries ('#' comments)
 *   !entry           the opposite: a match ends the search with "no match"
 * Host names and domains compare without case and without a trailing dot;
 * the client name "unknown" matches no name pattern.
 *
 * A table or file that cannot be read is retried (at most once a second)
 * and logged once. While it is unreadable its entry is "unknown": the
 * answer is MATCH_ERROR whenever that entry could change it (the caller
 * must then defer, never refuse for good), and a definite answer when a
 * later entry decides the same way the unknown one could have. */
#ifndef FACTEUR_MATCH_LIST_H
#define FACTEUR_MATCH_LIST_H

#include "argv.h"

#define MATCH_LIST_DOMAIN  1        /* subjects are domain names */
#define MATCH_LIST_HOST    2        /* subjects are a client name and address */

#define MATCH_FOUND   1
#define MATCH_NONE    0
#define MATCH_ERROR  (-1)

typedef struct match_list match_list_t;

/* Parses value (already expanded); param names the list in messages and
 * selects the parent-domain style. Bad entries (a malformed CIDR) are
 * logged and never match. */
match_list_t *match_list_open(const char *param, const char *value, int kind);
/* The same, with the value of main.cf parameter param. */
match_list_t *match_list_config(const char *param, int kind);
void          match_list_free(match_list_t *l);
int           match_list_empty(const match_list_t *l);

/* A domain ("Example.COM." works); for host lists it is matched as a name. */
int match_list_domain(match_list_t *l, const char *domain);
/* A client: name (NULL or "unknown" when there is none) and printable
 * address ("1.2.3.4", "::1", "[::1]" or "IPv6:::1"; NULL when unknown). */
int match_list_host(match_list_t *l, const char *name, const char *addr);

/* Postfix's list split, also for restriction lists: commas and/or
 * whitespace separate, "{ text with spaces }" is one element (without its
 * braces), and braces inside an element ("inline:{ a=1, b=2 }") keep it
 * whole. Caller frees. */
argv_t *match_list_split(const char *value);

#endif
