/* postfix check and set-permissions: create the missing queue folders
 * (lib/queue_file), warn about wrong owners as postfix-script's check
 * does, and put owners and modes back to Postfix's values. Owners only
 * matter when run as root; an ordinary user's instance is all its own. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "postfix.h"
#include "privilege.h"
#include "queue_file.h"

#define OWNER_MAIL      0   /* mail_owner, its group */
#define OWNER_POSTDROP  1   /* mail_owner, setgid_group */
#define OWNER_ROOT      2   /* root, root */

/* Postfix's queue folders; "recurse": its contents belong to mail_owner. */
static const struct queue_dir {
    const char *name;
    mode_t      mode;
    int         owner;
    int         recurse;
} queue_dirs[] = {
    { QUEUE_ACTIVE,   0700, OWNER_MAIL, 1 },
    { QUEUE_BOUNCE,   0700, OWNER_MAIL, 1 },
    { QUEUE_CORRUPT,  0700, OWNER_MAIL, 1 },
    { QUEUE_DEFER,    0700, OWNER_MAIL, 1 },
    { QUEUE_DEFERRED, 0700, OWNER_MAIL, 1 },
    { "flush",        0700, OWNER_MAIL, 1 },
    { QUEUE_HOLD,     0700, OWNER_MAIL, 1 },
    { QUEUE_INCOMING, 0700, OWNER_MAIL, 1 },
    { QUEUE_SAVED,    0700, OWNER_MAIL, 1 },
    { QUEUE_TRACE,    0700, OWNER_MAIL, 1 },
    { "private",      0700, OWNER_MAIL, 0 },
    { QUEUE_MAILDROP, 01730, OWNER_POSTDROP, 0 },
    { "public",       02710, OWNER_POSTDROP, 0 },
    { "pid",          0755, OWNER_ROOT, 0 },
};
#define QUEUE_DIR_COUNT (sizeof(queue_dirs) / sizeof(queue_dirs[0]))

typedef struct ids {
    uid_t uid;
    gid_t gid;
    gid_t postdrop;
    int   root;          /* run as root: owners are ours to check and set */
} ids_t;

static void lookup_ids(ids_t *ids)
{
    const char *group = config_str("setgid_group");
    struct group *gr;

    ids->root = geteuid() == 0;
    if (!ids->root) {
        ids->uid = getuid();
        ids->gid = ids->postdrop = getgid();
        return;
    }
    privilege_lookup(config_str("mail_owner"), &ids->uid, &ids->gid);
    if (ids->uid == 0)
        script_fatal("mail_owner %s has the privileged user ID 0", config_str("mail_owner"));
    gr = getgrnam(group);
    if (gr == NULL) {
        script_warn("unknown setgid_group %s: using the group of %s", group,
                    config_str("mail_owner"));
        ids->postdrop = ids->gid;
    } else {
        ids->postdrop = gr->gr_gid;
    }
}

static void owner_of(const ids_t *ids, int owner, uid_t *uid, gid_t *gid)
{
    *uid = owner == OWNER_ROOT ? 0 : ids->uid;
    *gid = owner == OWNER_ROOT ? 0 : owner == OWNER_POSTDROP ? ids->postdrop : ids->gid;
}

/* data_directory holds master.lock; Postfix gives it to mail_owner. */
static void make_data_directory(const ids_t *ids)
{
    const char *dir = config_str("data_directory");

    if (mkdir(dir, 0700) < 0) {
        if (errno != EEXIST)
            script_warn("mkdir %s: %s", dir, strerror(errno));
        return;
    }
    if (ids->root && chown(dir, ids->uid, ids->gid) < 0)
        script_warn("chown %s: %s", dir, strerror(errno));
}

static const ids_t *walk_ids;

static int warn_not_owned(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) flag;
    (void) ftw;
    if (st->st_uid != walk_ids->uid)
        script_warn("not owned by %s: %s", config_str("mail_owner"), path);
    return 0;
}

static int fix_owner(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) flag;
    if (ftw->level > 0 && st->st_uid != walk_ids->uid
        && lchown(path, walk_ids->uid, walk_ids->gid) < 0)
        script_warn("chown %s: %s", path, strerror(errno));
    return 0;
}

static void warn_ownership(const ids_t *ids, const char *qdir)
{
    buf_t path = BUF_INIT;
    struct stat st;

    walk_ids = ids;
    for (size_t i = 0; i < QUEUE_DIR_COUNT; i++) {
        const struct queue_dir *d = &queue_dirs[i];
        uid_t uid;
        gid_t gid;

        buf_reset(&path);
        buf_printf(&path, "%s/%s", qdir, d->name);
        if (lstat(path.data, &st) < 0)
            continue;
        owner_of(ids, d->owner, &uid, &gid);
        if (d->recurse)
            (void) nftw(path.data, warn_not_owned, 16, FTW_PHYS);
        else if (st.st_uid != uid)
            script_warn("not owned by %s: %s",
                        uid == 0 ? "root" : config_str("mail_owner"), path.data);
        if (d->owner == OWNER_POSTDROP && st.st_gid != gid)
            script_warn("not owned by group %s: %s", config_str("setgid_group"), path.data);
    }
    buf_release(&path);
}

void dirs_check(void)
{
    const char *qdir = config_str("queue_directory");
    ids_t ids;

    lookup_ids(&ids);
    if (queue_dirs_create(qdir, ids.uid, ids.gid, ids.postdrop) < 0)
        script_warn("could not create every queue folder under %s", qdir);
    make_data_directory(&ids);
    if (ids.root)
        warn_ownership(&ids, qdir);
}

/* One folder: owner first, because chown clears the set-gid bit that
 * public/ needs; then the mode. */
static void reset_dir(const ids_t *ids, const char *path, const struct queue_dir *d)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    uid_t uid;
    gid_t gid;

    if (fd < 0) {
        script_warn("open %s: %s", path, strerror(errno));
        return;
    }
    owner_of(ids, d->owner, &uid, &gid);
    if (ids->root && fchown(fd, uid, gid) < 0)
        script_warn("chown %s: %s", path, strerror(errno));
    if (fchmod(fd, d->mode) < 0)
        script_warn("chmod %s: %s", path, strerror(errno));
    close(fd);
    if (ids->root && d->recurse)
        (void) nftw(path, fix_owner, 16, FTW_PHYS);
}

/* postdrop and postqueue are set-gid setgid_group, as Postfix installs them. */
static void reset_setgid_commands(const ids_t *ids)
{
    static const char *commands[] = { "postdrop", "postqueue" };
    buf_t path = BUF_INIT;

    for (size_t i = 0; i < 2; i++) {
        buf_reset(&path);
        buf_printf(&path, "%s/%s", config_str("command_directory"), commands[i]);
        if (access(path.data, F_OK) < 0)
            continue;
        if (ids->root && chown(path.data, 0, ids->postdrop) < 0)
            script_warn("chown %s: %s", path.data, strerror(errno));
        if (ids->root && chmod(path.data, 02555) < 0)
            script_warn("chmod %s: %s", path.data, strerror(errno));
    }
    buf_release(&path);
}

void dirs_set_permissions(void)
{
    const char *qdir = config_str("queue_directory");
    buf_t path = BUF_INIT;
    ids_t ids;

    lookup_ids(&ids);
    walk_ids = &ids;
    if (queue_dirs_create(qdir, ids.uid, ids.gid, ids.postdrop) < 0)
        script_warn("could not create every queue folder under %s", qdir);
    make_data_directory(&ids);
    for (size_t i = 0; i < QUEUE_DIR_COUNT; i++) {
        buf_reset(&path);
        buf_printf(&path, "%s/%s", qdir, queue_dirs[i].name);
        reset_dir(&ids, path.data, &queue_dirs[i]);
    }
    reset_setgid_commands(&ids);
    buf_release(&path);
}

/* Files in incoming/ that never got their "complete" mark were being
 * written when the system went down; nobody acknowledged them (no 250 was
 * sent), and with master stopped nobody is writing them now. */
static int purge_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode) && !queue_mode_complete(st->st_mode)) {
        if (unlink(path) < 0)
            script_warn("cannot remove incomplete queue file %s: %s", path, strerror(errno));
        else
            script_info("removed incomplete queue file %s", path);
    }
    return 0;
}

void dirs_purge_incomplete(void)
{
    buf_t path = BUF_INIT;

    buf_printf(&path, "%s/%s", config_str("queue_directory"), QUEUE_INCOMING);
    if (nftw(path.data, purge_one, 8, FTW_PHYS) < 0 && errno != ENOENT)
        script_warn("scan %s: %s", path.data, strerror(errno));
    buf_release(&path);
}
