/* privilege: dropping and switching identities, in one fixed order that a
 * reviewer can read: chroot, supplementary groups, gid, uid, capabilities.
 * Every failure is fatal: a daemon never runs with more rights than meant. */
#ifndef FACTEUR_PRIVILEGE_H
#define FACTEUR_PRIVILEGE_H

#include <sys/types.h>

/* Resolves mail_owner (or any user) to uid/gid; fatal if unknown. */
void privilege_lookup(const char *user, uid_t *uid, gid_t *gid);
/* Permanently becomes uid/gid (after chroot into chroot_dir when not NULL)
 * and drops every capability. When not running as root, only checks and
 * drops capabilities. */
void privilege_drop(uid_t uid, gid_t gid, const char *chroot_dir);
/* Temporarily takes the effective identity of a user (local delivery);
 * privilege_restore() returns to root. No-ops when not started as root. */
void privilege_become(uid_t uid, gid_t gid);
void privilege_restore(void);
/* Drops every capability of the process (libcap). */
void privilege_clear_caps(void);

#endif
