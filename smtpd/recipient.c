/* recipient: reject_unlisted_recipient and reject_unlisted_sender (also
 * run after the lists by smtpd_reject_unlisted_recipient): an address in
 * one of our domains must name a known user. Local domains ask
 * local_recipient_maps; virtual alias, virtual mailbox and relay domains
 * their own tables. A table that cannot be searched defers (451 4.3.0). */
#include <string.h>
#include <strings.h>

#include "address.h"
#include "log.h"
#include "match_list.h"
#include "policy.h"
#include "resolve.h"

#define FOUND    1
#define MISSING  0
#define BROKEN  (-1)

/* Looks addr up with the virtual search order (user@domain, user for
 * local domains, @domain). */
static int find(maps_t *maps, const char *param, const char *addr, int local)
{
    buf_t value = BUF_INIT;
    int r = maps_empty(maps) ? TABLE_NOTFOUND
        : maps_find_addr(maps, addr, MAPS_ADDR_VIRTUAL, local, &value, NULL);

    buf_release(&value);
    if (r == TABLE_ERROR) {
        msg_warn("%s lookup error for \"%s\"", param, addr);
        return BROKEN;
    }
    return r == TABLE_FOUND ? FOUND : MISSING;
}

/* Rewritten by cleanup into something else: not ours to judge. */
static int aliased(const char *addr, int is_sender, int local)
{
    int r;

    if (is_sender)
        r = find(smtpd_var.sender_canonical_maps, "sender_canonical_maps", addr, local);
    else
        r = find(smtpd_var.recipient_canonical_maps, "recipient_canonical_maps", addr, local);
    if (r == MISSING)
        r = find(smtpd_var.canonical_maps, "canonical_maps", addr, local);
    if (r == MISSING)
        r = find(smtpd_var.virtual_alias_maps, "virtual_alias_maps", addr, local);
    return r;
}

/* postmaster, MAILER-DAEMON and the double-bounce sender always exist:
 * mail to them is absorbed by the queue manager and bounce. */
static int always_known(const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t len = at ? (size_t) (at - addr) : strlen(addr);
    const char *names[] = { "postmaster", "mailer-daemon", smtpd_var.double_bounce_sender };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && strncasecmp(addr, names[i], len) == 0)
            return 1;
    return 0;
}

static int unknown_user(check_t *c, const subject_t *who, int is_sender, long code,
                        const char *table)
{
    buf_t text = BUF_INIT;
    int r;

    buf_puts(&text, "User unknown");
    if (smtpd_var.show_unknown_table)
        buf_printf(&text, " in %s", table);
    r = check_reject(c, who, (int) code, is_sender ? "5.1.0" : "5.1.1", buf_str(&text));
    buf_release(&text);
    return r;
}

/* The verdict for a user in a domain class: found, refused or deferred. */
static int verdict(check_t *c, const subject_t *who, int is_sender, int found, long code,
                   const char *table)
{
    if (found == FOUND)
        return CHECK_DUNNO;
    if (found == BROKEN)
        return check_lookup_error(c, who->name);
    return unknown_user(c, who, is_sender, code, table);
}

static int unlisted(check_t *c, const char *addr, const subject_t *who, int is_sender)
{
    const char *domain = addr_domain(addr);
    int local, r;

    if (*addr == 0 || domain == NULL)
        return CHECK_DUNNO;                     /* the null sender */
    if ((local = resolve_local_domain_status(domain)) == MATCH_ERROR)
        return check_lookup_error(c, who->name);
    if ((r = aliased(addr, is_sender, local == MATCH_FOUND)) != MISSING)
        return r == FOUND ? CHECK_DUNNO : check_lookup_error(c, who->name);
    if (local == MATCH_FOUND) {
        if (maps_empty(smtpd_var.local_recipient_maps) || always_known(addr))
            return CHECK_DUNNO;
        return verdict(c, who, is_sender,
                       find(smtpd_var.local_recipient_maps, "local_recipient_maps", addr, 1),
                       smtpd_var.unknown_local_code, "local recipient table");
    }
    if ((r = match_list_domain(smtpd_var.virtual_alias_domains, domain)) != MATCH_NONE)
        return verdict(c, who, is_sender, r == MATCH_FOUND ? MISSING : BROKEN,
                       smtpd_var.unknown_virtual_alias_code, "virtual alias table");
    if ((r = match_list_domain(smtpd_var.virtual_mailbox_domains, domain)) != MATCH_NONE)
        return verdict(c, who, is_sender, r == MATCH_ERROR ? BROKEN
                       : find(smtpd_var.virtual_mailbox_maps, "virtual_mailbox_maps", addr, 0),
                       smtpd_var.unknown_virtual_mailbox_code, "virtual mailbox table");
    if (maps_empty(smtpd_var.relay_recipient_maps))
        return CHECK_DUNNO;
    if ((r = resolve_relay_domain_status(domain)) != MATCH_NONE)
        return verdict(c, who, is_sender, r == MATCH_ERROR ? BROKEN
                       : find(smtpd_var.relay_recipient_maps, "relay_recipient_maps", addr, 0),
                       smtpd_var.unknown_relay_code, "relay recipient table");
    return CHECK_DUNNO;
}

int check_unlisted_recipient(check_t *c)
{
    subject_t who = subject_rcpt(c);

    c->rcpt_checked = 1;
    return unlisted(c, buf_str(&c->rcpt_canon), &who, 0);
}

int check_unlisted_sender(check_t *c)
{
    subject_t who = subject_sender(c);

    c->sender_checked = 1;
    return unlisted(c, buf_str(&c->sender_canon), &who, 1);
}
