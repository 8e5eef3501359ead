/* recipient: what happens to one local recipient, in Postfix's order
 * (reference 6.1). The local part is folded to lower case and its
 * extension split off; then come alias_maps ("user+ext", then "user"),
 * the passwd entry (unknown: 5.1.1), ~/.forward files from forward_path,
 * and finally the user's mailbox: home_mailbox (Maildir when it ends in
 * '/') or mail_spool_directory/USER. An expansion reaches many
 * destinations (mailboxes, files, commands, forwarded addresses); their
 * results combine into the recipient's one outcome: any deferral defers
 * it (all is tried again), else any bounce bounces it, else it was sent. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "alloc.h"
#include "local.h"
#include "log.h"

/* The "sent" text of a recipient whose expansion reached many places is
 * cut here (the log line and the DSN must stay reasonable). */
#define SENT_TEXT_MAX  1000

/* Splits the extension off at the first recipient_delimiter character,
 * except in first place and, with owner_request_special, at the '-' of
 * "owner-list" and "list-request" (those names are whole). */
static void split_extension(rcpt_name_t *n)
{
    const char *lp = buf_str(&n->localpart);
    const char *delims = local_cfg.recipient_delimiter;
    size_t len = n->localpart.len;
    size_t cut = *delims ? strcspn(lp, delims) : len;
    int special = cut < len && lp[cut] == '-' && local_cfg.owner_request_special
        && (strncmp(lp, "owner-", 6) == 0
            || (len > 8 && strcmp(lp + len - 8, "-request") == 0));

    buf_reset(&n->user);
    buf_reset(&n->extension);
    n->delimiter = 0;
    if (cut == 0 || cut >= len || special) {
        buf_puts(&n->user, lp);
        return;
    }
    buf_append(&n->user, lp, cut);
    buf_puts(&n->extension, lp + cut + 1);
    n->delimiter = lp[cut];
}

static void rcpt_name_init(rcpt_name_t *n, const char *address)
{
    buf_init(&n->address);
    buf_init(&n->localpart);
    buf_init(&n->user);
    buf_init(&n->extension);
    buf_init(&n->domain);
    addr_quote(&n->address, address);
    buf_lower(&n->address);
    addr_split(address, &n->localpart, &n->domain);
    buf_lower(&n->localpart);
    split_extension(n);
}

static void rcpt_name_release(rcpt_name_t *n)
{
    buf_release(&n->address);
    buf_release(&n->localpart);
    buf_release(&n->user);
    buf_release(&n->extension);
    buf_release(&n->domain);
}

/* A name that becomes part of a path must not climb out of its directory
 * or hide as a dot file: such names are never users. */
static int name_is_safe(const char *name)
{
    if (*name == '\0' || *name == '.' || strchr(name, '/') != NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *) name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* The header check for loops: has this message been delivered to this
 * address before (a Delivered-To: header with it)? */
static int seen_before(const local_state_t *st)
{
    argv_t *seen = st->msg->delivered_to;

    for (size_t i = 0; i < seen->argc; i++)
        if (strcasecmp(seen->argv[i], buf_str(&st->name.address)) == 0)
            return 1;
    return 0;
}

void leaf_result(local_state_t *st, int result, const char *dsn, const char *fmt, ...)
{
    buf_t text = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    switch (result) {
    case DELIVERY_SENT:
        if (st->sent_text.len < SENT_TEXT_MAX) {
            if (st->sent > 0)
                buf_puts(&st->sent_text, "; ");
            buf_puts(&st->sent_text, buf_str(&text));
            if (st->sent_text.len > SENT_TEXT_MAX) {
                buf_truncate(&st->sent_text, SENT_TEXT_MAX);
                buf_puts(&st->sent_text, "...");
            }
        }
        st->sent++;
        break;
    case DELIVERY_DEFERRED:
        if (st->deferred++ == 0)
            outcome_set(&st->first_defer, result, dsn, "%s", buf_str(&text));
        break;
    default:
        if (st->bounced++ == 0)
            outcome_set(&st->first_bounce, DELIVERY_BOUNCED, dsn, "%s", buf_str(&text));
        break;
    }
    buf_release(&text);
}

int destination_new(local_state_t *st, const char *key)
{
    for (size_t i = 0; i < st->seen->argc; i++)
        if (strcmp(st->seen->argv[i], key) == 0)
            return 0;
    if (st->destinations >= LOCAL_EXPANSION_LIMIT) {
        if (st->destinations++ == LOCAL_EXPANSION_LIMIT)
            msg_warn("%s: expansion of %s reaches more than %d destinations",
                     st->msg->req->queue_id, st->rcpt->address, LOCAL_EXPANSION_LIMIT);
        leaf_result(st, DELIVERY_BOUNCED, "5.3.0",
                    "alias expansion of %s reaches more than %d destinations",
                    st->rcpt->address, LOCAL_EXPANSION_LIMIT);
        return 0;
    }
    st->destinations++;
    argv_add(st->seen, key);
    return 1;
}

/* dir + "/" + rest, without doubled slashes at the join. */
static void path_join(buf_t *out, const char *dir, const char *rest)
{
    size_t len = strlen(dir);

    while (len > 1 && dir[len - 1] == '/')
        len--;
    buf_reset(out);
    buf_append(out, dir, len);
    while (*rest == '/')
        rest++;
    if (len == 0 || dir[len - 1] != '/')
        buf_putc(out, '/');
    buf_puts(out, rest);
}

void local_delivery_init(local_delivery_t *d, local_outcome_t *out,
                         const local_state_t *st, const expansion_t *exp, int hdr_flag)
{
    const delivery_rcpt_t *rcpt = st->rcpt;

    buf_init(&out->reason);
    outcome_set(out, DELIVERY_DEFERRED, "4.3.0", "internal error");
    memset(d, 0, sizeof(*d));
    d->msg = st->msg;
    d->rcpt = rcpt;
    d->sender = exp->sender;
    d->delivered_to = hdr_flag == 0 || (local_cfg.delivered_hdr & hdr_flag)
        ? buf_str(&st->name.address) : NULL;
    d->original_to = *rcpt->orig_rcpt ? rcpt->orig_rcpt : rcpt->address;
    d->out = out;
}

/* The last steps: home_mailbox, else the spool mailbox. */
static void deliver_mailbox(local_state_t *st, const expansion_t *exp, const local_user_t *u)
{
    const char *home_mailbox = local_cfg.home_mailbox;
    local_outcome_t out;
    local_delivery_t d;
    buf_t path = BUF_INIT;

    buf_printf(&path, "mailbox %s", u->name);
    if (!destination_new(st, buf_str(&path))) {
        buf_release(&path);
        return;
    }
    local_delivery_init(&d, &out, st, exp, 0);
    d.user = u;
    if (*home_mailbox) {
        if (u->home[0] != '/') {
            outcome_set(&out, DELIVERY_DEFERRED, "4.3.0",
                        "home directory of user %s is not an absolute path", u->name);
        } else {
            path_join(&path, u->home, home_mailbox);
            if (home_mailbox[strlen(home_mailbox) - 1] == '/')
                maildir_deliver(&d, buf_str(&path));
            else
                mbox_deliver(&d, buf_str(&path), 0);
        }
    } else {
        path_join(&path, local_cfg.mail_spool_directory, u->name);
        mbox_deliver(&d, buf_str(&path), 1);
    }
    leaf_result(st, out.result, out.dsn, "%s", buf_str(&out.reason));
    buf_release(&out.reason);
    buf_release(&path);
}

/* The steps for the recipient's name, from the first one not in skip:
 *  1. alias_maps, "user+ext" then "user" (skipped when the name's own
 *     alias lists it again);
 *  2. the passwd entry (unknown: 5.1.1);
 *  3. ~/.forward files from forward_path, as the user (skipped when the
 *     user's own .forward lists the user);
 *  4. (mailbox_transport and mailbox_command are not implemented);
 *  5-6. the mailbox. */
void local_deliver_name(local_state_t *st, const expansion_t *exp, int skip)
{
    local_user_t user;
    const char *name = buf_str(&st->name.user);
    int found;

    if (!(skip & LOCAL_SKIP_ALIAS) && alias_deliver(st, exp))
        return;
    if (!name_is_safe(name)) {
        leaf_result(st, DELIVERY_BOUNCED, "5.1.1", "unknown user: \"%s\"", name);
        return;
    }
    found = local_user_by_name(name, &user);
    if (found < 0) {
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0",
                    "error looking up passwd info for %s: %s", name, strerror(errno));
        return;
    }
    if (found == 0 || !name_is_safe(user.name))
        leaf_result(st, DELIVERY_BOUNCED, "5.1.1", "unknown user: \"%s\"", name);
    else if ((skip & LOCAL_SKIP_FORWARD) || !forward_file_deliver(st, exp, &user))
        deliver_mailbox(st, exp, &user);
    local_user_free(&user);
}

/* The recipient's one outcome from its destinations' results. */
static void combine_results(local_state_t *st)
{
    local_outcome_t *out = st->out;

    if (st->deferred > 0)
        outcome_set(out, DELIVERY_DEFERRED, st->first_defer.dsn, "%s",
                    buf_str(&st->first_defer.reason));
    else if (st->bounced > 0)
        outcome_set(out, DELIVERY_BOUNCED, st->first_bounce.dsn, "%s",
                    buf_str(&st->first_bounce.reason));
    else if (st->sent > 0)
        outcome_set(out, DELIVERY_SENT, "2.0.0", "%s", buf_str(&st->sent_text));
    else
        /* Only an empty :include: file, or nothing but duplicates. */
        outcome_set(out, DELIVERY_SENT, "2.0.0", "alias expanded to no destination");
}

static void state_init(local_state_t *st, const local_msg_t *msg, const delivery_rcpt_t *rcpt,
                       local_outcome_t *out)
{
    memset(st, 0, sizeof(*st));
    st->msg = msg;
    st->rcpt = rcpt;
    st->out = out;
    rcpt_name_init(&st->name, rcpt->address);
    buf_init(&st->sent_text);
    buf_init(&st->first_defer.reason);
    buf_init(&st->first_bounce.reason);
    st->seen = argv_new();
}

static void state_release(local_state_t *st)
{
    forward_free(st);
    argv_free(st->seen);
    buf_release(&st->sent_text);
    buf_release(&st->first_defer.reason);
    buf_release(&st->first_bounce.reason);
    rcpt_name_release(&st->name);
}

void recipient_deliver(const local_msg_t *msg, const delivery_rcpt_t *rcpt,
                       local_outcome_t *out)
{
    local_ident_t nobody_yet;
    expansion_t top;
    local_state_t st;

    state_init(&st, msg, rcpt, out);
    if (seen_before(&st)) {
        outcome_set(out, DELIVERY_BOUNCED, "5.4.6", "mail forwarding loop for %s",
                    rcpt->address);
        state_release(&st);
        return;
    }
    memset(&nobody_yet, 0, sizeof(nobody_yet));
    memset(&top, 0, sizeof(top));
    top.ident = &nobody_yet;
    top.sender = msg->req->sender;
    local_deliver_name(&st, &top, 0);
    /* A deferred recipient is tried again whole: forwarding now would
     * send the forwarded copies twice. */
    if (st.deferred == 0)
        forward_flush(&st);
    combine_results(&st);
    state_release(&st);
}
