/* recipient: what happens to one local recipient, in Postfix's order
 * (reference 6.1). The local part is folded to lower case and its
 * extension split off; then come aliases, ~/.forward and mailbox_command
 * (to be added here, see deliver_name), and finally the user's mailbox:
 * home_mailbox (Maildir when it ends in '/') or mail_spool_directory/USER. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "alloc.h"
#include "local.h"
#include "log.h"

/* A recipient's name in the forms the steps need. */
typedef struct rcpt_name {
    buf_t address;       /* quoted, lower-cased: the Delivered-To: value */
    buf_t localpart;     /* lower-cased, with its extension */
    buf_t user;          /* localpart without the extension */
    buf_t extension;     /* "" when none */
    buf_t domain;
} rcpt_name_t;

/* One recipient being resolved. Expansion steps (aliases, :include:,
 * .forward) will deliver to files and commands from here, so they share
 * this state; depth bounds nested expansions. */
typedef struct local_state {
    const local_msg_t     *msg;
    const delivery_rcpt_t *rcpt;
    rcpt_name_t            name;
    int                    depth;
    local_outcome_t       *out;
} local_state_t;

static void rcpt_name_init(rcpt_name_t *n, const char *address)
{
    buf_t lp = BUF_INIT;

    buf_init(&n->address);
    buf_init(&n->localpart);
    buf_init(&n->user);
    buf_init(&n->extension);
    buf_init(&n->domain);
    addr_quote(&n->address, address);
    buf_lower(&n->address);
    addr_split(address, &lp, &n->domain);
    buf_lower(&lp);
    buf_set(&n->localpart, buf_str(&lp));
    addr_split_extension(buf_str(&lp), local_cfg.recipient_delimiter, &n->user, &n->extension);
    buf_release(&lp);
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

static void user_free(local_user_t *u)
{
    free(u->name);
    free(u->home);
    free(u->shell);
}

/* Looks name up in the passwd database. 1 found, 0 unknown, -1 error (errno). */
static int user_lookup(const char *name, local_user_t *u)
{
    struct passwd pw, *found = NULL;
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t) hint : 1024;
    char *space = NULL;
    int err;

    for (;;) {
        space = xrealloc(space, size);
        err = getpwnam_r(name, &pw, space, size, &found);
        if (err != ERANGE || size >= 1024 * 1024)
            break;
        size = size_mul(size, 2);
    }
    if (err == 0 && found != NULL) {
        u->name = xstrdup(pw.pw_name);
        u->uid = pw.pw_uid;
        u->gid = pw.pw_gid;
        u->home = xstrdup(pw.pw_dir ? pw.pw_dir : "");
        u->shell = xstrdup(pw.pw_shell ? pw.pw_shell : "");
    }
    free(space);
    if (err == 0)
        return found != NULL;
    /* Some NSS modules say "no such user" with these. */
    if (err == ENOENT || err == ESRCH || err == EBADF || err == EPERM)
        return 0;
    errno = err;
    return -1;
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

/* Step 5 and 6: home_mailbox, else the spool mailbox. */
static void deliver_mailbox(local_state_t *st, const local_user_t *u)
{
    const char *home_mailbox = local_cfg.home_mailbox;
    const delivery_rcpt_t *rcpt = st->rcpt;
    local_delivery_t d;
    buf_t path = BUF_INIT;

    d.msg = st->msg;
    d.rcpt = rcpt;
    d.delivered_to = buf_str(&st->name.address);
    d.original_to = *rcpt->orig_rcpt ? rcpt->orig_rcpt : rcpt->address;
    d.user = u;
    d.out = st->out;
    if (*home_mailbox) {
        if (u->home[0] != '/') {
            outcome_set(st->out, DELIVERY_DEFERRED, "4.3.0",
                        "home directory of user %s is not an absolute path", u->name);
            return;
        }
        path_join(&path, u->home, home_mailbox);
        if (home_mailbox[strlen(home_mailbox) - 1] == '/')
            maildir_deliver(&d, buf_str(&path));
        else
            mbox_deliver(&d, buf_str(&path), 0);
    } else {
        path_join(&path, local_cfg.mail_spool_directory, u->name);
        mbox_deliver(&d, buf_str(&path), 1);
    }
    buf_release(&path);
}

/* The steps for a local name, in order. The next ones slot in here:
 *  1. alias_maps, trying "user+ext" then "user" (addresses are forwarded
 *     through cleanup; /file, |command and :include: delivered from here);
 *  2. the passwd entry (unknown: 5.1.1);
 *  3. ~/.forward files from forward_path, as the user;
 *  4. mailbox_transport / mailbox_command;
 *  5-6. the mailbox. */
static void deliver_name(local_state_t *st)
{
    local_user_t user;
    const char *name = buf_str(&st->name.user);
    int found;

    memset(&user, 0, sizeof(user));
    if (!name_is_safe(name)) {
        outcome_set(st->out, DELIVERY_BOUNCED, "5.1.1", "unknown user: \"%s\"", name);
        return;
    }
    found = user_lookup(name, &user);
    if (found < 0) {
        outcome_set(st->out, DELIVERY_DEFERRED, "4.3.0",
                    "error looking up passwd info for %s: %s", name, strerror(errno));
        return;
    }
    if (found == 0 || !name_is_safe(user.name)) {
        outcome_set(st->out, DELIVERY_BOUNCED, "5.1.1", "unknown user: \"%s\"", name);
    } else {
        deliver_mailbox(st, &user);
    }
    user_free(&user);
}

void recipient_deliver(const local_msg_t *msg, const delivery_rcpt_t *rcpt,
                       local_outcome_t *out)
{
    local_state_t st;

    st.msg = msg;
    st.rcpt = rcpt;
    st.depth = 0;
    st.out = out;
    rcpt_name_init(&st.name, rcpt->address);
    if (seen_before(&st))
        outcome_set(out, DELIVERY_BOUNCED, "5.4.6", "mail forwarding loop for %s",
                    rcpt->address);
    else
        deliver_name(&st);
    rcpt_name_release(&st.name);
}
