/* privilege: identity changes in one readable order (chroot, groups, gid,
 * uid, capabilities). Every failure is fatal. Not started as root, the
 * process keeps its identity and only sheds capabilities. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <unistd.h>

#include "log.h"
#include "privilege.h"

void privilege_lookup(const char *user, uid_t *uid, gid_t *gid)
{
    struct passwd *pw;

    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        if (errno != 0)
            msg_fatal("look up user %s: %m", user);
        msg_fatal("unknown user name: %s", user);
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
}

void privilege_clear_caps(void)
{
    cap_t caps = cap_get_proc();

    if (caps == NULL)
        msg_fatal("cap_get_proc: %m");
    /* Empty effective, permitted and inheritable sets: with permitted
     * empty the ambient set is cleared too, and nothing can come back. */
    if (cap_clear(caps) < 0 || cap_set_proc(caps) < 0) {
        int saved = errno;

        cap_free(caps);
        errno = saved;
        msg_fatal("drop capabilities: %m");
    }
    cap_free(caps);
}

static void enter_chroot(const char *dir)
{
    if (chroot(dir) < 0)
        msg_fatal("chroot(%s): %m", dir);
    /* Without this the old working directory could still lead outside. */
    if (chdir("/") < 0)
        msg_fatal("chdir(\"/\") after chroot(%s): %m", dir);
}

/* Checks that the drop holds: ids are what we asked for and uid 0
 * cannot be taken back. */
static void verify_dropped(uid_t uid, gid_t gid)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;

    if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
        msg_fatal("getresuid/getresgid: %m");
    if (ruid != uid || euid != uid || suid != uid
        || rgid != gid || egid != gid || sgid != gid)
        msg_fatal("privilege drop to uid %ld gid %ld did not take effect",
                  (long) uid, (long) gid);
    if (uid != 0 && setuid(0) == 0)
        msg_fatal("privilege drop: uid 0 can still be regained");
}

void privilege_drop(uid_t uid, gid_t gid, const char *chroot_dir)
{
    if (getuid() != 0 && geteuid() != 0) {
        msg_debug("not root: keeping uid %ld, dropping capabilities only", (long) getuid());
        privilege_clear_caps();
        return;
    }
    /* Order matters: chroot and setgroups need root, and setgid must
     * happen while we may still change it, i.e. before setuid. */
    if (chroot_dir != NULL && *chroot_dir != 0)
        enter_chroot(chroot_dir);
    if (setgroups(1, &gid) < 0)
        msg_fatal("setgroups(1, [%ld]): %m", (long) gid);
    if (setresgid(gid, gid, gid) < 0)
        msg_fatal("setgid(%ld): %m", (long) gid);
    if (setresuid(uid, uid, uid) < 0)
        msg_fatal("setuid(%ld): %m", (long) uid);
    privilege_clear_caps();
    verify_dropped(uid, gid);
}

void privilege_become(uid_t uid, gid_t gid)
{
    if (getuid() != 0)
        return;
    /* Back to euid 0 first so that the group changes are allowed, and
     * take the user id last: after it, no group change is possible. */
    if (geteuid() != 0 && seteuid(0) < 0)
        msg_fatal("seteuid(0): %m");
    if (setegid(gid) < 0)
        msg_fatal("setegid(%ld): %m", (long) gid);
    if (setgroups(1, &gid) < 0)
        msg_fatal("setgroups(1, [%ld]): %m", (long) gid);
    if (seteuid(uid) < 0)
        msg_fatal("seteuid(%ld): %m", (long) uid);
}

void privilege_restore(void)
{
    gid_t gid = getgid();

    if (getuid() != 0)
        return;
    if (seteuid(0) < 0)
        msg_fatal("seteuid(0): %m");
    if (setgroups(1, &gid) < 0)
        msg_fatal("setgroups(1, [%ld]): %m", (long) gid);
    if (setegid(gid) < 0)
        msg_fatal("setegid(%ld): %m", (long) gid);
}
