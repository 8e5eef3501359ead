/* address: RFC 5321 paths and RFC 5322 addresses.
 * facteur keeps addresses in the "internal" form (local part unquoted, as
 * Postfix does) and quotes them when they go back on the wire or in headers.
 * The null sender is the empty string. */
#ifndef FACTEUR_ADDRESS_H
#define FACTEUR_ADDRESS_H

#include "argv.h"
#include "buf.h"

/* Parses what follows "MAIL FROM:" or "RCPT TO:" (leading blanks allowed):
 *   "<user@dom> PARAM=x ..."  or, leniently as Postfix does by default,
 *   "user@dom PARAM=x". A source route "<@a,@b:user@dom>" is dropped.
 * On success the internal-form address is in addr ("" for "<>") and
 * *params points at the ESMTP parameters (possibly ""). On error returns -1
 * and *why says what was wrong. */
int smtp_path_parse(const char *arg, buf_t *addr, const char **params, const char **why);

/* Quotes the local part when needed: internal "a b@x" -> "\"a b\"@x". */
void addr_quote(buf_t *out, const char *internal);
/* Unquotes an external address into internal form. */
void addr_unquote(buf_t *out, const char *external);
/* Points at the domain (after the last '@') or NULL when there is none. */
const char *addr_domain(const char *addr);
/* Local part in lp, domain (maybe empty) in dom. */
void addr_split(const char *addr, buf_t *lp, buf_t *dom);
/* Splits "user+ext" at the first recipient_delimiter character; base gets
 * "user", ext (may be NULL) gets "ext" or "". delims "" = no splitting. */
void addr_split_extension(const char *localpart, const char *delims, buf_t *base, buf_t *ext);
/* A syntactically valid hostname/domain (letters, digits, '-', '_', dots)
 * or address literal "[1.2.3.4]" / "[ipv6:...]". */
int  addr_valid_domain(const char *domain);
/* Extracts every addr-spec (internal form) from a To/Cc/From header value:
 * display names, groups, comments and angle brackets handled. */
argv_t *header_addresses_parse(const char *value);

#endif
