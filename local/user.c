/* user: passwd lookups for local delivery (recipients, alias table and
 * :include: file owners), copied out of libc's buffers so that they stay
 * valid across later lookups. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"

#define PASSWD_BUFFER_MAX  (1024 * 1024)

void local_user_free(local_user_t *u)
{
    free(u->name);
    free(u->home);
    free(u->shell);
    memset(u, 0, sizeof(*u));
}

static void user_copy(local_user_t *u, const struct passwd *pw)
{
    u->name = xstrdup(pw->pw_name);
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    u->home = xstrdup(pw->pw_dir ? pw->pw_dir : "");
    u->shell = xstrdup(pw->pw_shell ? pw->pw_shell : "");
}

/* One lookup by name (name != NULL) or by uid, growing the buffer as
 * getpw*_r asks. 1 found, 0 unknown, -1 error (errno). */
static int user_lookup(const char *name, uid_t uid, local_user_t *u)
{
    struct passwd pw, *found = NULL;
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t) hint : 1024;
    char *space = NULL;
    int err;

    memset(u, 0, sizeof(*u));
    for (;;) {
        space = xrealloc(space, size);
        err = name ? getpwnam_r(name, &pw, space, size, &found)
                   : getpwuid_r(uid, &pw, space, size, &found);
        if (err != ERANGE || size >= PASSWD_BUFFER_MAX)
            break;
        size = size_mul(size, 2);
    }
    if (err == 0 && found != NULL)
        user_copy(u, &pw);
    free(space);
    if (err == 0)
        return found != NULL;
    /* Some NSS modules say "no such user" with these. */
    if (err == ENOENT || err == ESRCH || err == EBADF || err == EPERM)
        return 0;
    errno = err;
    return -1;
}

int local_user_by_name(const char *name, local_user_t *u)
{
    return user_lookup(name, 0, u);
}

int local_user_by_uid(uid_t uid, local_user_t *u)
{
    return user_lookup(NULL, uid, u);
}
