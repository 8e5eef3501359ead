/* Unit tests for lib/privilege: user lookup, the permanent drop (ids,
 * supplementary groups, capabilities, chroot), the temporary identity
 * switch of local delivery, and the non-root behaviour. Every identity
 * change happens in a forked child that writes what it observes to a
 * report file; tests that need root skip() without it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "privilege.h"

static char tmpdir[] = "/tmp/test_privilege.XXXXXX";
static uid_t nobody_uid;
static gid_t nobody_gid;
static int have_nobody;

/* ------------------------------------------------------------------ */
/* Child harness                                                       */
/* ------------------------------------------------------------------ */

typedef void (*child_fn)(buf_t *report);

/* Runs fn in a child with stderr captured in err; fn appends what it
 * sees to report, which reaches the parent through a file opened before
 * any identity change. Returns the wait status. */
static int run_child(child_fn fn, buf_t *report, buf_t *err)
{
    char rpath[] = "/tmp/test_privilege.rep.XXXXXX";
    char epath[] = "/tmp/test_privilege.err.XXXXXX";
    int rfd = mkstemp(rpath), efd = mkstemp(epath);
    int status = -1;
    pid_t pid;

    assert_true(rfd >= 0);
    assert_true(efd >= 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        buf_t out = BUF_INIT;

        if (dup2(efd, 2) < 0)
            _exit(90);
        fn(&out);
        if (write(rfd, out.data ? out.data : "", out.len) != (ssize_t) out.len)
            _exit(91);
        /* _exit: no atexit handlers (LeakSanitizer cannot trace a process
         * that changed its uid). */
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    buf_reset(report);
    buf_reset(err);
    assert_int_equal(buf_read_file(report, rpath, 65536), 0);
    assert_int_equal(buf_read_file(err, epath, 65536), 0);
    unlink(rpath);
    unlink(epath);
    close(rfd);
    close(efd);
    return status;
}

/* Runs fn and requires a clean exit; report gets what fn observed. */
static void run_child_ok(child_fn fn, buf_t *report)
{
    buf_t err = BUF_INIT;
    int status = run_child(fn, report, &err);

    if (getenv("TEST_VERBOSE"))
        print_message("report:\n%s", buf_str(report));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_error("child status %#x, stderr: %s\n", status, buf_str(&err));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    buf_release(&err);
}

/* The hex value of a "Name:\tvalue" line of /proc/self/status. */
static void proc_status_field(const char *name, char *value, size_t size)
{
    buf_t text = BUF_INIT;
    const char *p, *end;
    size_t namelen = strlen(name);

    snprintf(value, size, "?");
    if (buf_read_file(&text, "/proc/self/status", 65536) < 0)
        return;
    for (p = buf_str(&text); p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, namelen) == 0 && p[namelen] == ':') {
            p += namelen + 1;
            p += strspn(p, " \t");
            end = p + strcspn(p, "\n");
            snprintf(value, size, "%.*s", (int) (end - p), p);
            break;
        }
    }
    buf_release(&text);
}

/* "uid=r,e,s gid=r,e,s groups=a,b" */
static void report_ids(buf_t *report)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg, groups[64];
    int n;

    getresuid(&ru, &eu, &su);
    getresgid(&rg, &eg, &sg);
    buf_printf(report, "uid=%ld,%ld,%ld gid=%ld,%ld,%ld groups=",
               (long) ru, (long) eu, (long) su, (long) rg, (long) eg, (long) sg);
    n = getgroups(64, groups);
    for (int i = 0; i < n; i++)
        buf_printf(report, "%s%ld", i ? "," : "", (long) groups[i]);
    buf_putc(report, '\n');
}

/* "caps=eff/prm/inh/amb" from the kernel's own view. */
static void report_caps(buf_t *report)
{
    char eff[32], prm[32], inh[32], amb[32];

    proc_status_field("CapEff", eff, sizeof(eff));
    proc_status_field("CapPrm", prm, sizeof(prm));
    proc_status_field("CapInh", inh, sizeof(inh));
    proc_status_field("CapAmb", amb, sizeof(amb));
    buf_printf(report, "caps=%s/%s/%s/%s\n", eff, prm, inh, amb);
}

#define NO_CAPS "caps=0000000000000000/0000000000000000/0000000000000000/0000000000000000\n"

static void expect_line(const buf_t *report, const char *line)
{
    if (strstr(buf_str(report), line) == NULL)
        print_error("report:\n%swanted line: %s", buf_str(report), line);
    assert_non_null(strstr(buf_str(report), line));
}

static void require_root(void)
{
    if (geteuid() != 0 || !have_nobody)
        skip();
}

/* ------------------------------------------------------------------ */
/* privilege_lookup                                                    */
/* ------------------------------------------------------------------ */

static void test_lookup(void **state)
{
    uid_t uid = 12345;
    gid_t gid = 12345;

    (void) state;
    privilege_lookup("root", &uid, &gid);
    assert_int_equal(uid, 0);
    assert_int_equal(gid, 0);
    if (!have_nobody)
        skip();
    privilege_lookup("nobody", &uid, &gid);
    assert_int_equal(uid, nobody_uid);
    assert_int_equal(gid, nobody_gid);
    assert_int_not_equal(uid, 0);
}

static void lookup_unknown(buf_t *report)
{
    uid_t uid;
    gid_t gid;

    privilege_lookup("facteur-no-such-user", &uid, &gid);
    buf_puts(report, "returned\n");
}

static void test_lookup_unknown_is_fatal(void **state)
{
    buf_t report = BUF_INIT, err = BUF_INIT;
    int status;

    (void) state;
    status = run_child(lookup_unknown, &report, &err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_string_equal(buf_str(&report), "");
    assert_non_null(strstr(buf_str(&err), "fatal: unknown user name: facteur-no-such-user"));
    buf_release(&report);
    buf_release(&err);
}

/* ------------------------------------------------------------------ */
/* privilege_drop as root                                              */
/* ------------------------------------------------------------------ */

static void drop_to_nobody(buf_t *report)
{
    static const gid_t extra[] = { 0, 4, 27 };

    /* Start with supplementary groups that the drop must shed. */
    if (setgroups(3, extra) < 0)
        _exit(80);
    privilege_drop(nobody_uid, nobody_gid, NULL);
    report_ids(report);
    report_caps(report);
    buf_printf(report, "setuid0=%s\n", setuid(0) == 0 ? "regained" : "refused");
    buf_printf(report, "chown=%s\n", chown(tmpdir, nobody_uid, nobody_gid) == 0 ? "done" : "refused");
}

static void test_drop_to_nobody(void **state)
{
    buf_t report = BUF_INIT, want = BUF_INIT;

    (void) state;
    require_root();
    run_child_ok(drop_to_nobody, &report);
    buf_printf(&want, "uid=%ld,%ld,%ld gid=%ld,%ld,%ld ",
               (long) nobody_uid, (long) nobody_uid, (long) nobody_uid,
               (long) nobody_gid, (long) nobody_gid, (long) nobody_gid);
    expect_line(&report, want.data);
    /* Supplementary groups: none, or only the primary group. */
    buf_reset(&want);
    buf_printf(&want, "groups=%ld\n", (long) nobody_gid);
    if (strstr(buf_str(&report), "groups=\n") == NULL)
        expect_line(&report, want.data);
    expect_line(&report, NO_CAPS);
    expect_line(&report, "setuid0=refused\n");
    expect_line(&report, "chown=refused\n");
    buf_release(&report);
    buf_release(&want);
}

static void drop_into_chroot(buf_t *report)
{
    char cwd[256];

    privilege_drop(nobody_uid, nobody_gid, tmpdir);
    buf_printf(report, "cwd=%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
    buf_printf(report, "marker=%s\n", access("/marker", R_OK) == 0 ? "visible" : "missing");
    buf_printf(report, "outside=%s\n", access(tmpdir, F_OK) == 0 ? "visible" : "hidden");
    buf_printf(report, "euid=%ld\n", (long) geteuid());
}

static void test_drop_into_chroot(void **state)
{
    buf_t report = BUF_INIT, path = BUF_INIT, want = BUF_INIT;
    int fd;

    (void) state;
    require_root();
    buf_printf(&path, "%s/marker", tmpdir);
    fd = open(path.data, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    run_child_ok(drop_into_chroot, &report);
    expect_line(&report, "cwd=/\n");
    expect_line(&report, "marker=visible\n");
    expect_line(&report, "outside=hidden\n");
    buf_printf(&want, "euid=%ld\n", (long) nobody_uid);
    expect_line(&report, want.data);
    unlink(path.data);
    buf_release(&report);
    buf_release(&path);
    buf_release(&want);
}

/* A uid 0 target is refused by nothing in privilege_drop itself, but a
 * drop must never leave the process with more than it asked for: as root
 * to root, ids stay 0 and every capability is gone. */
static void drop_to_root(buf_t *report)
{
    privilege_drop(0, 0, NULL);
    report_ids(report);
    report_caps(report);
}

static void test_drop_clears_caps_even_for_root(void **state)
{
    buf_t report = BUF_INIT;

    (void) state;
    require_root();
    run_child_ok(drop_to_root, &report);
    expect_line(&report, "uid=0,0,0 gid=0,0,0 ");
    expect_line(&report, NO_CAPS);
    buf_release(&report);
}

static void clear_caps(buf_t *report)
{
    privilege_clear_caps();
    report_caps(report);
    buf_printf(report, "euid=%ld\n", (long) geteuid());
    buf_printf(report, "chown=%s\n", chown(tmpdir, 1, 1) == 0 ? "done" : "refused");
}

static void test_clear_caps(void **state)
{
    buf_t report = BUF_INIT;

    (void) state;
    require_root();
    run_child_ok(clear_caps, &report);
    expect_line(&report, NO_CAPS);
    expect_line(&report, "euid=0\n");
    /* Root without CAP_CHOWN cannot give a file away. */
    expect_line(&report, "chown=refused\n");
    buf_release(&report);
}

/* ------------------------------------------------------------------ */
/* privilege_drop when not root                                        */
/* ------------------------------------------------------------------ */

/* Becomes nobody but keeps permitted capabilities (as a process started
 * with file capabilities would have), then asks privilege_drop for uid 0:
 * identity unchanged, capabilities gone, no fatal. */
static void drop_not_root(buf_t *report)
{
    if (geteuid() == 0) {
        if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0
            || setgroups(1, &nobody_gid) < 0
            || setresgid(nobody_gid, nobody_gid, nobody_gid) < 0
            || setresuid(nobody_uid, nobody_uid, nobody_uid) < 0)
            _exit(80);
        report_caps(report);            /* "before": permitted still set */
    }
    privilege_drop(0, 0, NULL);
    report_ids(report);
    report_caps(report);
}

static void test_drop_not_root(void **state)
{
    buf_t report = BUF_INIT, want = BUF_INIT;
    uid_t uid = geteuid() == 0 ? nobody_uid : getuid();
    gid_t gid = geteuid() == 0 ? nobody_gid : getgid();

    (void) state;
    if (geteuid() == 0 && !have_nobody)
        skip();
    run_child_ok(drop_not_root, &report);
    if (geteuid() == 0) {
        /* The set-up really left capabilities for the drop to remove:
         * the first line, before the drop, is not all zero. */
        assert_int_equal(strncmp(buf_str(&report), "caps=", 5), 0);
        assert_int_not_equal(strncmp(buf_str(&report), NO_CAPS, strlen(NO_CAPS)), 0);
    }
    buf_printf(&want, "uid=%ld,%ld,%ld gid=%ld,%ld,%ld ",
               (long) uid, (long) uid, (long) uid, (long) gid, (long) gid, (long) gid);
    expect_line(&report, want.data);
    /* The last caps line, after the drop, is all zero. */
    assert_non_null(strstr(buf_str(&report), NO_CAPS));
    assert_string_equal(strstr(buf_str(&report), NO_CAPS) + strlen(NO_CAPS), "");
    buf_release(&report);
    buf_release(&want);
}

/* ------------------------------------------------------------------ */
/* privilege_become / privilege_restore                                */
/* ------------------------------------------------------------------ */

static void create_file_as_current(buf_t *report, const char *name)
{
    buf_t path = BUF_INIT;
    struct stat st;
    int fd;

    buf_printf(&path, "%s/%s", tmpdir, name);
    fd = open(path.data, O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0 || fstat(fd, &st) < 0) {
        buf_printf(report, "%s=error %s\n", name, strerror(errno));
    } else {
        buf_printf(report, "%s=%ld:%ld\n", name, (long) st.st_uid, (long) st.st_gid);
    }
    if (fd >= 0)
        close(fd);
    unlink(path.data);
    buf_release(&path);
}

static void become_and_restore(buf_t *report)
{
    buf_puts(report, "[become] ");
    privilege_become(nobody_uid, nobody_gid);
    report_ids(report);
    create_file_as_current(report, "as-user");
    /* Another user straight away, without a restore in between. */
    buf_puts(report, "[again] ");
    privilege_become(1, 1);
    report_ids(report);
    buf_puts(report, "[restore] ");
    privilege_restore();
    report_ids(report);
    create_file_as_current(report, "as-root");
    report_caps(report);
}

static void test_become_and_restore(void **state)
{
    buf_t report = BUF_INIT, want = BUF_INIT;

    (void) state;
    require_root();
    /* World-writable so the temporary identity can create a file. */
    assert_int_equal(chmod(tmpdir, 01777), 0);
    run_child_ok(become_and_restore, &report);
    assert_int_equal(chmod(tmpdir, 0755), 0);

    /* Effective ids switch; real and saved uid stay 0 so root can return. */
    buf_printf(&want, "[become] uid=0,%ld,0 gid=0,%ld,0 groups=%ld\n",
               (long) nobody_uid, (long) nobody_gid, (long) nobody_gid);
    expect_line(&report, want.data);
    buf_reset(&want);
    buf_printf(&want, "as-user=%ld:%ld\n", (long) nobody_uid, (long) nobody_gid);
    expect_line(&report, want.data);
    expect_line(&report, "[again] uid=0,1,0 gid=0,1,0 groups=1\n");
    expect_line(&report, "[restore] uid=0,0,0 gid=0,0,0 groups=0\n");
    expect_line(&report, "as-root=0:0\n");
    /* Switching identity must not have cost root its capabilities. */
    assert_null(strstr(buf_str(&report), NO_CAPS));
    buf_release(&report);
    buf_release(&want);
}

/* Not started as root: both calls change nothing and do not fail. */
static void become_not_root(buf_t *report)
{
    if (geteuid() == 0
        && (setgroups(1, &nobody_gid) < 0
            || setresgid(nobody_gid, nobody_gid, nobody_gid) < 0
            || setresuid(nobody_uid, nobody_uid, nobody_uid) < 0))
        _exit(80);
    report_ids(report);
    privilege_become(0, 0);
    report_ids(report);
    privilege_restore();
    report_ids(report);
}

static void test_become_not_root(void **state)
{
    buf_t report = BUF_INIT;
    const char *first, *second, *third;
    size_t len;

    (void) state;
    if (geteuid() == 0 && !have_nobody)
        skip();
    run_child_ok(become_not_root, &report);
    first = buf_str(&report);
    second = strchr(first, '\n');
    assert_non_null(second);
    len = (size_t) (++second - first);
    third = second + len;
    assert_int_equal(report.len, 3 * len);
    assert_memory_equal(first, second, len);
    assert_memory_equal(first, third, len);
    assert_null(strstr(first, "uid=0"));
    buf_release(&report);
}

/* ------------------------------------------------------------------ */

static int group_setup(void **state)
{
    struct passwd *pw;

    (void) state;
    if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) < 0)
        return -1;
    if ((pw = getpwnam("nobody")) != NULL && pw->pw_uid != 0) {
        nobody_uid = pw->pw_uid;
        nobody_gid = pw->pw_gid;
        have_nobody = 1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    buf_t cmd = BUF_INIT;
    int r;

    (void) state;
    buf_printf(&cmd, "rm -rf %s", tmpdir);
    r = system(cmd.data);
    buf_release(&cmd);
    return r == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_lookup_unknown_is_fatal),
        cmocka_unit_test(test_drop_to_nobody),
        cmocka_unit_test(test_drop_into_chroot),
        cmocka_unit_test(test_drop_clears_caps_even_for_root),
        cmocka_unit_test(test_clear_caps),
        cmocka_unit_test(test_drop_not_root),
        cmocka_unit_test(test_become_and_restore),
        cmocka_unit_test(test_become_not_root),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
