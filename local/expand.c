/* expand: destination lists (an alias value, the lines of a ~/.forward or
 * :include: file) and what each destination is: "|command", "/file",
 * ":include:/file", or an address. An address is forwarded as a new
 * message, except when it names the name being expanded: that means the
 * recipient's own mailbox (an alias that lists itself, a .forward that
 * lists its user). Files named by users are opened as those users, checked
 * (regular, right owner, not world-writable) and read within bounds.
 * Also the per-recipient $name expansion of forward_path. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "privilege.h"
#include "resolve.h"

#define EXPAND_TEXT_DEPTH  8        /* ${a?${b?...}} nesting in forward_path */

/* ---- destination lists ---------------------------------------------- */

/* Adds one destination of a list: surrounding blanks dropped. */
static void add_token(argv_t *tokens, buf_t *tok)
{
    size_t start = 0, end = tok->len;

    while (start < end && (tok->data[start] == ' ' || tok->data[start] == '\t'))
        start++;
    while (end > start && (tok->data[end - 1] == ' ' || tok->data[end - 1] == '\t'
                           || tok->data[end - 1] == '\r'))
        end--;
    if (end > start)
        argv_addn(tokens, tok->data + start, end - start);
    buf_reset(tok);
}

/* Splits a list at commas outside double quotes. The quotes go (they
 * only protect commas and blanks: "|cmd a, b"); inside them a backslash
 * takes the next character as it is. */
static argv_t *split_destinations(const char *list)
{
    argv_t *tokens = argv_new();
    buf_t tok = BUF_INIT;
    int quoted = 0;

    for (const char *p = list; *p; p++) {
        if (quoted && *p == '\\' && p[1] != 0)
            buf_putc(&tok, *++p);
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && (*p == ',' || *p == '\n'))
            add_token(tokens, &tok);
        else
            buf_putc(&tok, *p);
    }
    add_token(tokens, &tok);
    buf_release(&tok);
    return tokens;
}

/* Does addr name the name being expanded (or the recipient itself), in
 * a local domain? Forwarding it would only come back here. */
static int names_self(const local_state_t *st, const expansion_t *exp, const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t local_len = at ? (size_t) (at - addr) : strlen(addr);
    buf_t local = BUF_INIT;
    int self = 0;

    if (exp->from == NULL)
        return 0;
    buf_append(&local, addr, local_len);
    buf_lower(&local);
    if (strcmp(buf_str(&local), exp->from) == 0
        || strcmp(buf_str(&local), buf_str(&st->name.localpart)) == 0)
        self = at == NULL || at[1] == 0 || strcasecmp(at + 1, buf_str(&st->name.domain)) == 0
            || resolve_local_domain(at + 1);
    buf_release(&local);
    return self;
}

static void include_deliver(local_state_t *st, const expansion_t *exp, const char *path);

/* One destination of a list. */
static void deliver_token(local_state_t *st, const expansion_t *exp, const char *token)
{
    if (token[0] == '|') {
        command_deliver(st, exp, token + 1);
    } else if (token[0] == '/') {
        file_deliver(st, exp, token);
    } else if (strncasecmp(token, ":include:", 9) == 0) {
        include_deliver(st, exp, token + 9 + strspn(token + 9, " \t"));
    } else {
        /* "\user" (sendmail's "no further aliasing") is the address "user". */
        if (token[0] == '\\')
            token++;
        if (*token == 0)
            return;
        if (names_self(st, exp, token))
            local_deliver_name(st, exp, exp->skip);
        else
            forward_add(st, exp, token);
    }
}

size_t expand_list(local_state_t *st, const expansion_t *exp, const char *list)
{
    argv_t *tokens = split_destinations(list);
    size_t count = tokens->argc;

    for (size_t i = 0; i < tokens->argc; i++)
        deliver_token(st, exp, tokens->argv[i]);
    argv_free(tokens);
    return count;
}

/* The logical lines of a .forward or :include: file, each a list: '#'
 * starts a comment line, a line that starts with a blank continues the
 * previous one. Returns the number of destinations, or -1 (deferred)
 * when a line is too long. */
static long expand_lines(local_state_t *st, const expansion_t *exp, const char *text,
                         const char *path)
{
    buf_t line = BUF_INIT;
    long count = 0;
    const char *p = text;

    while (*p) {
        size_t len = strcspn(p, "\n");
        const char *next = p + len + (p[len] == '\n');

        if (*p == '#') {
            p = next;
            continue;
        }
        if (*p != ' ' && *p != '\t' && line.len > 0) {
            count += (long) expand_list(st, exp, buf_str(&line));
            buf_reset(&line);
        }
        if (line.len + len > LOCAL_LIST_LINE_MAX) {
            msg_warn("%s: line longer than %d bytes", path, LOCAL_LIST_LINE_MAX);
            leaf_result(st, DELIVERY_DEFERRED, "4.3.5", "mail system configuration error");
            buf_release(&line);
            return -1;
        }
        buf_append(&line, p, len);
        p = next;
    }
    if (line.len > 0)
        count += (long) expand_list(st, exp, buf_str(&line));
    buf_release(&line);
    return count;
}

/* ---- reading files as someone ---------------------------------------- */

/* Opens path for reading as uid/gid (root: 0/0), never following a final
 * symbolic link and never hanging on a FIFO. fd, or -1 with errno. */
static int open_as(const char *path, uid_t uid, gid_t gid, int nofollow)
{
    int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
    int became = local_cfg.started_as_root && uid != 0;
    int fd, saved;

    if (became)
        privilege_become(uid, gid);
    fd = open(path, flags);
    saved = errno;
    if (became)
        privilege_restore();
    errno = saved;
    return fd;
}

/* Reads an open list file whole, at most LOCAL_LIST_FILE_MAX bytes.
 * 0, or -1 with errno (EFBIG when too large). */
static int read_list_fd(int fd, buf_t *text)
{
    char chunk[8192];

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (text->len + (size_t) n > LOCAL_LIST_FILE_MAX) {
            errno = EFBIG;
            return -1;
        }
        buf_append(text, chunk, (size_t) n);
    }
    if (memchr(text->data ? text->data : "", 0, text->len) != NULL) {
        errno = EINVAL;                 /* a NUL byte: not a text file */
        return -1;
    }
    return 0;
}

/* ---- :include: --------------------------------------------------------- */

static void include_fail(local_state_t *st, int result, const char *dsn)
{
    leaf_result(st, result, dsn, "mail system configuration error");
}

/* The identity of an included list: a root-owned alias gives deliveries
 * from a user's include file that user's rights (never more than the
 * file owner has); otherwise the rights stay those of the alias owner or
 * .forward user. -1 (deferred) when the owner has no passwd entry. */
static int include_ident(local_state_t *st, const expansion_t *exp, const struct stat *sb,
                         const char *path, local_ident_t *ident, local_user_t *owner)
{
    memset(owner, 0, sizeof(*owner));
    *ident = *exp->ident;
    if (exp->ident->uid != 0 || sb->st_uid == 0)
        return 0;
    if (local_user_by_uid(sb->st_uid, owner) <= 0) {
        msg_warn("%s: cannot find :include: file owner username (uid %ld)", path,
                 (long) sb->st_uid);
        include_fail(st, DELIVERY_DEFERRED, "4.3.5");
        return -1;
    }
    ident->uid = owner->uid;
    ident->gid = owner->gid;
    ident->home = owner->home;
    ident->shell = owner->shell;
    return 0;
}

/* Opens, checks and reads an include file. 0, or -1 (result recorded). */
static int include_read(local_state_t *st, const expansion_t *exp, const char *path,
                        struct stat *sb, buf_t *text)
{
    int fd = open_as(path, exp->ident->uid, exp->ident->gid, 0);
    int rc = -1;

    if (fd < 0) {
        msg_warn("cannot open include file %s: %s", path, strerror(errno));
        include_fail(st, DELIVERY_BOUNCED, "5.3.5");
        return -1;
    }
    if (fstat(fd, sb) < 0) {
        msg_warn("unable to lookup :include: file %s: %s", path, strerror(errno));
        include_fail(st, DELIVERY_DEFERRED, "4.3.5");
    } else if (!S_ISREG(sb->st_mode)) {
        msg_warn(":include: file %s is not a regular file", path);
        include_fail(st, DELIVERY_BOUNCED, "5.3.5");
    } else if (sb->st_mode & S_IWOTH) {
        msg_warn(":include: file %s is world writable", path);
        include_fail(st, DELIVERY_BOUNCED, "5.3.5");
    } else if (read_list_fd(fd, text) < 0) {
        msg_warn("cannot read include file %s: %s", path, strerror(errno));
        include_fail(st, DELIVERY_DEFERRED, "4.3.5");
    } else {
        rc = 0;
    }
    (void) close(fd);
    return rc;
}

static void include_deliver(local_state_t *st, const expansion_t *exp, const char *path)
{
    buf_t key = BUF_INIT;
    buf_t text = BUF_INIT;
    local_ident_t ident;
    local_user_t owner;
    struct stat sb;
    expansion_t inc;

    memset(&owner, 0, sizeof(owner));
    if (*path != '/') {
        msg_warn(":include:%s uses a relative path", path);
        include_fail(st, DELIVERY_BOUNCED, "5.3.5");
        return;
    }
    if (exp->depth >= LOCAL_EXPANSION_DEPTH) {
        msg_warn(":include: nesting too deep at %s", path);
        leaf_result(st, DELIVERY_BOUNCED, "5.4.6", "alias database loop for %s",
                    exp->from ? exp->from : buf_str(&st->name.user));
        return;
    }
    buf_printf(&key, "include %ld %s", (long) exp->ident->uid, path);
    if (destination_new(st, buf_str(&key))
        && include_read(st, exp, path, &sb, &text) == 0
        && include_ident(st, exp, &sb, path, &ident, &owner) == 0) {
        inc = *exp;
        inc.class = LOCAL_CLASS_INCLUDE;
        inc.ident = &ident;
        inc.depth = exp->depth + 1;
        if (!(local_cfg.propagate_ext & LOCAL_CLASS_INCLUDE))
            inc.unmatched = NULL;
        (void) expand_lines(st, &inc, buf_str(&text), path);
    }
    local_user_free(&owner);
    buf_release(&text);
    buf_release(&key);
}

/* ---- ~/.forward ------------------------------------------------------- */

/* The first forward_path file that exists, as the user sees it. 1 found
 * (path set, *used_ext telling whether its name has the extension). */
static int forward_find(const local_state_t *st, const local_ident_t *ident, buf_t *path,
                        int *used_ext)
{
    argv_t *candidates = argv_split(local_cfg.forward_path, ", \t\r\n");
    int found = 0;

    for (size_t i = 0; i < candidates->argc && !found; i++) {
        struct stat sb;
        int became = local_cfg.started_as_root && ident->uid != 0;

        if (local_expand(path, candidates->argv[i], st, ident, local_cfg.forward_filter,
                         used_ext) < 0 || path->len == 0)
            continue;
        if (buf_str(path)[0] != '/') {
            msg_warn("forward_path: %s is not an absolute path", buf_str(path));
            continue;
        }
        if (became)
            privilege_become(ident->uid, ident->gid);
        found = lstat(buf_str(path), &sb) == 0;
        if (became)
            privilege_restore();
    }
    argv_free(candidates);
    return found;
}

/* Opens a found .forward as its user and checks it the way Postfix does:
 * a regular file (not a symbolic link), owned by the user or root, not
 * world-writable; anything else is ignored with a warning. fd or -1. */
static int forward_open(const char *path, const local_user_t *u)
{
    int fd = open_as(path, u->uid, u->gid, 1);
    struct stat sb;

    if (fd < 0) {
        if (errno == ELOOP)
            msg_warn("file %s is not a regular file", path);
        else
            msg_warn("cannot open file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) < 0)
        msg_warn("cannot stat file %s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        msg_warn("file %s is not a regular file", path);
    else if (sb.st_uid != 0 && sb.st_uid != u->uid)
        msg_warn("file %s has bad owner uid %ld", path, (long) sb.st_uid);
    else if (sb.st_mode & S_IWOTH)
        msg_warn("file %s is world writable", path);
    else
        return fd;
    (void) close(fd);
    return -1;
}

int forward_file_deliver(local_state_t *st, const expansion_t *parent, const local_user_t *u)
{
    local_ident_t ident;
    expansion_t fwd;
    buf_t path = BUF_INIT;
    buf_t text = BUF_INIT;
    int used_ext = 0, fd;
    long count = 0;

    if (*local_cfg.forward_path == 0)
        return 0;
    ident.uid = u->uid;
    ident.gid = u->gid;
    ident.home = u->home;
    ident.shell = u->shell;
    if (forward_find(st, &ident, &path, &used_ext)
        && (fd = forward_open(buf_str(&path), u)) >= 0) {
        if (read_list_fd(fd, &text) < 0) {
            msg_warn("cannot read file %s: %s", buf_str(&path), strerror(errno));
            leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "cannot read forward file %s: %s",
                        buf_str(&path), strerror(errno));
            count = -1;
        } else {
            fwd = *parent;
            fwd.class = LOCAL_CLASS_FORWARD;
            fwd.from = u->name;
            fwd.skip = LOCAL_SKIP_ALIAS | LOCAL_SKIP_FORWARD;
            fwd.ident = &ident;
            fwd.depth = parent->depth + 1;
            fwd.unmatched = !used_ext && st->name.extension.len > 0
                && (local_cfg.propagate_ext & LOCAL_CLASS_FORWARD)
                ? buf_str(&st->name.extension) : NULL;
            count = expand_lines(st, &fwd, buf_str(&text), buf_str(&path));
        }
        (void) close(fd);
    }
    buf_release(&path);
    buf_release(&text);
    /* An empty .forward means "no forwarding": the mailbox. */
    return count != 0;
}

/* ---- $name expansion --------------------------------------------------- */

/* The value of a per-recipient name; NULL when undefined, and *unknown
 * set for names that do not exist at all. */
static const char *attribute(const char *name, size_t len, const local_state_t *st,
                             const local_ident_t *ident, int *unknown, int *is_ext)
{
    static char delimiter[2];
    const rcpt_name_t *n = &st->name;
    int has_ext = n->extension.len > 0;

#define NAME_IS(s) (len == sizeof(s) - 1 && strncmp(name, s, len) == 0)
    *unknown = 0;
    *is_ext = 0;
    if (NAME_IS("user"))
        return buf_str(&n->user);
    if (NAME_IS("home"))
        return ident->home;
    if (NAME_IS("shell"))
        return ident->shell;
    if (NAME_IS("recipient"))
        return st->rcpt->address;
    if (NAME_IS("local"))
        return buf_str(&n->localpart);
    if (NAME_IS("domain"))
        return n->domain.len ? buf_str(&n->domain) : NULL;
    if (NAME_IS("extension") || NAME_IS("recipient_delimiter")) {
        *is_ext = has_ext;
        if (!has_ext)
            return NULL;
        if (NAME_IS("extension"))
            return buf_str(&n->extension);
        delimiter[0] = n->delimiter;
        delimiter[1] = 0;
        return delimiter;
    }
#undef NAME_IS
    *unknown = 1;
    return NULL;
}

/* Appends value with the characters outside filter made '_'. */
static void append_filtered(buf_t *out, const char *value, const char *filter)
{
    for (const char *p = value; *p; p++)
        buf_putc(out, strchr(filter, *p) != NULL ? *p : '_');
}

static int expand_text(buf_t *out, const char *text, size_t len, const local_state_t *st,
                       const local_ident_t *ident, const char *filter, int *used_ext,
                       int depth);

/* "${name?text}", "${name:text}", "${name}", "$(name)", "$name" at *pp
 * (just after the '$'). 0, or -1 for an undefined or unknown name. */
static int expand_reference(buf_t *out, const char **pp, const char *end,
                            const local_state_t *st, const local_ident_t *ident,
                            const char *filter, int *used_ext, int depth)
{
    const char *p = *pp, *name, *name_end, *close = NULL, *cond = NULL;
    int unknown, is_ext, braced = (*p == '{' || *p == '(');
    const char *value;

    if (braced) {
        char open = *p, shut = (open == '{') ? '}' : ')';
        int nest = 0;

        for (const char *q = p; q < end; q++) {
            if (*q == open)
                nest++;
            else if (*q == shut && --nest == 0) {
                close = q;
                break;
            }
        }
        if (close == NULL)
            return -1;
        name = p + 1;
        for (name_end = name; name_end < close && *name_end != '?' && *name_end != ':';)
            name_end++;
        if (name_end < close)
            cond = name_end;
        *pp = close + 1;
    } else {
        name = p;
        for (name_end = p; name_end < end && (*name_end == '_' || (*name_end >= 'a' && *name_end <= 'z')
             || (*name_end >= 'A' && *name_end <= 'Z') || (*name_end >= '0' && *name_end <= '9'));)
            name_end++;
        *pp = name_end;
    }
    value = attribute(name, (size_t) (name_end - name), st, ident, &unknown, &is_ext);
    if (unknown) {
        msg_warn("unknown macro $%.*s in %s", (int) (name_end - name), name,
                 "forward_path or command_execution_directory");
        return -1;
    }
    if (cond == NULL) {
        if (value == NULL)
            return -1;
        append_filtered(out, value, filter);
    } else if ((*cond == '?') == (value != NULL)) {
        if (expand_text(out, cond + 1, (size_t) (close - cond - 1), st, ident, filter,
                        used_ext, depth + 1) < 0)
            return -1;
    }
    if (is_ext && value != NULL && used_ext != NULL)
        *used_ext = 1;
    return 0;
}

static int expand_text(buf_t *out, const char *text, size_t len, const local_state_t *st,
                       const local_ident_t *ident, const char *filter, int *used_ext,
                       int depth)
{
    const char *p = text, *end = text + len;

    if (depth > EXPAND_TEXT_DEPTH)
        return -1;
    while (p < end) {
        if (*p != '$') {
            buf_putc(out, *p++);
            continue;
        }
        p++;
        if (p < end && *p == '$') {
            buf_putc(out, *p++);
            continue;
        }
        if (p >= end || expand_reference(out, &p, end, st, ident, filter, used_ext, depth) < 0)
            return -1;
    }
    return 0;
}

int local_expand(buf_t *out, const char *text, const local_state_t *st,
                 const local_ident_t *ident, const char *filter, int *used_ext)
{
    buf_reset(out);
    if (used_ext != NULL)
        *used_ext = 0;
    return expand_text(out, text, strlen(text), st, ident, filter, used_ext, 0);
}
