/* table: the one "type:name" lookup interface, and lists of tables (maps).
 * Types: hash: btree: lmdb: (LMDB files built by postmap: hash/btree give
 * NAME.db, lmdb gives NAME.lmdb), texthash:, inline:{k=v, ...}, static:,
 * cidr:, regexp:, unix:passwd.byname, proxy:TYPE:NAME (opened directly).
 * A lookup answers FOUND, NOTFOUND or ERROR; ERROR must make the caller
 * defer (4xx), never bounce. */
#ifndef FACTEUR_TABLE_H
#define FACTEUR_TABLE_H

#include "buf.h"

#define TABLE_FOUND     1
#define TABLE_NOTFOUND  0
#define TABLE_ERROR    (-1)

/* Open flags. */
#define TABLE_FLAG_NONE      0
#define TABLE_FLAG_FOLD      (1 << 0)   /* fold keys to lower case (fixed-string types) */

typedef struct table table_t;

/* Opens spec ("hash:/etc/postfix/spam"). NULL with a clear reason in err
 * ("open database /etc/postfix/spam.db: No such file or directory",
 * "/etc/postfix/spam.db is a Berkeley DB file left by Postfix: rebuild it
 * with postmap hash:/etc/postfix/spam", "unsupported dictionary type: foo").
 * A source file newer than its database is logged as a warning. Database
 * tables notice a rebuild (postmap renames a new file over the old one)
 * and reopen it at the next lookup. "nis:" always answers NOTFOUND (no NIS
 * domain), "fail:" always ERROR. */
table_t    *table_open(const char *spec, int flags, buf_t *err);
/* Looks key up; on FOUND value holds the result. ERROR: reason logged. */
int         table_get(table_t *t, const char *key, buf_t *value);
void        table_close(table_t *t);
const char *table_spec(const table_t *t);
/* Pattern tables (regexp, cidr) match the whole string; the search-order
 * walk uses only the full key with them. */
int         table_is_pattern(const table_t *t);

/* Lists of tables, as in "virtual_alias_maps = hash:/a, regexp:/b". */
typedef struct maps maps_t;

/* Opens every table of a list value; param names it in messages and says
 * whether parent_domain_matches_subdomains applies (smtpd's check_*_access
 * tables: use "smtpd_access_maps"). A table that cannot be opened makes every
 * later lookup that reaches it return ERROR (the mail is deferred); it is
 * logged once and opened again (at most once a second) until it works. */
maps_t     *maps_open(const char *param, const char *value, int flags);
/* First table that has key wins. */
int         maps_get(maps_t *m, const char *key, buf_t *value);
void        maps_free(maps_t *m);
int         maps_empty(const maps_t *m);

/* Postfix's address search orders (reference §7):
 *   MAPS_ADDR_VIRTUAL: user+ext@domain, user@domain, user+ext, user (only
 *     when local_domain), @domain. (virtual, canonical)
 *   MAPS_ADDR_ACCESS: user+ext@domain, user@domain, domain and parents
 *     (with parent_domain_matches_subdomains), user+ext@, user@. "" is "<>".
 * Extensions split at recipient_delimiter (main.cf; "" = none; any of
 * several characters). Fixed-string keys are folded by the tables opened
 * with TABLE_FLAG_FOLD; pattern tables see only the full address. On FOUND,
 * *matched_ext (if not NULL) says the key matched without the extension
 * (for propagate_unmatched_extensions). */
#define MAPS_ADDR_VIRTUAL  1
#define MAPS_ADDR_ACCESS   2
/* Also for access tables (check_client_access, check_helo_access):
 *   MAPS_ADDR_HOST: "sub.example.com", then parents as for ACCESS.
 *   MAPS_ADDR_IP: "1.2.3.4", "1.2.3", "1.2", "1" (IPv6: cut at ':').
 * addr is then the host name or the address; local_domain is unused. */
#define MAPS_ADDR_HOST     3
#define MAPS_ADDR_IP       4
int         maps_find_addr(maps_t *m, const char *addr, int order, int local_domain,
                           buf_t *value, int *matched_ext);

#endif
