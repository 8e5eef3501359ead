/* postdrop: writes a local submission into maildrop/ for pickup. Installed
 * set-gid setgid_group, so that ordinary users can write into maildrop/
 * (mode 1730) without being able to read or change anyone's mail. With -r
 * it tells its caller (sendmail) the queue ID, then the final status.
 * The file is owned by the submitter, created 0644, and marked complete
 * with 0744 only once every record is on disk; it is removed on a signal,
 * on a fatal error, and when the input ends early. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "cleanup_client.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "match_list.h"
#include "postdrop.h"

#define DEFAULT_CONFIG_DIR  "/etc/postfix"
#define PICKUP_SERVICE      "public/pickup"
#define ENVELOPE_RECORD_MAX 4096        /* what cleanup accepts */
#define MAILDROP_MODE       0644        /* readable by pickup, not complete */
#define MAILDROP_DONE_MODE  0744        /* owner execute: complete */

/* The file being written, for the signal handler and the fatal hook;
 * copied into a fixed array so that the handler only calls unlink(). */
static char current_path[PATH_MAX];
static volatile sig_atomic_t have_current_path;

static void remove_partial_file(void)
{
    if (have_current_path)
        (void) unlink(current_path);
    have_current_path = 0;
}

static void on_signal(int sig)
{
    remove_partial_file();
    _exit(128 + sig);
}

static void install_signals(void)
{
    static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };
    struct sigaction sa;

    log_set_fatal_hook(remove_partial_file);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) < 0)
            msg_fatal("sigaction: %m");
    /* A caller that went away must not kill us before we clean up. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}

static void standard_fds(void)
{
    struct stat st;

    for (int fd = 0; fd < 3; fd++)
        if (fstat(fd, &st) < 0 && errno == EBADF && open("/dev/null", O_RDWR) != fd)
            msg_fatal_status(EX_OSERR, "open /dev/null: %m");
}

/* Running with more rights than the caller (set-gid or set-uid)? */
static int privileged_run(void)
{
    return getegid() != getgid() || geteuid() != getuid();
}

static int listed(const char *param, const char *dir)
{
    argv_t *dirs = config_list(param);
    int found = 0;

    for (size_t i = 0; i < dirs->argc && !found; i++)
        found = strcmp(dirs->argv[i], dir) == 0;
    argv_free(dirs);
    return found;
}

/* A set-gid program must not let an ordinary user point it at a
 * configuration of their own (their own queue_directory, say). A
 * directory other than the default counts only when the default main.cf
 * lists it. */
static const char *trusted_config_dir(const char *wanted)
{
    if (wanted == NULL || *wanted == 0)
        wanted = getenv("MAIL_CONFIG");
    if (wanted == NULL || *wanted == 0 || strcmp(wanted, DEFAULT_CONFIG_DIR) == 0)
        return DEFAULT_CONFIG_DIR;
    if (getuid() == 0 || !privileged_run())
        return wanted;
    config_load(DEFAULT_CONFIG_DIR);
    if (listed("alternate_config_directories", wanted)
        || listed("multi_instance_directories", wanted))
        return wanted;
    msg_warn("%s is not listed in alternate_config_directories: using %s",
             wanted, DEFAULT_CONFIG_DIR);
    return DEFAULT_CONFIG_DIR;
}

/* Keeps only what this program needs from an environment it does not
 * trust: the time zone and the configuration directory. */
static void clean_environment(const char *config_dir)
{
    char *tz = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
    char *dir = xstrdup(config_dir);

    if (clearenv() != 0)
        msg_fatal_status(EX_OSERR, "clearenv failed");
    if ((tz && setenv("TZ", tz, 1) < 0) || setenv("MAIL_CONFIG", dir, 1) < 0)
        msg_fatal_status(EX_OSERR, "setenv: %m");
    free(tz);
    free(dir);
}

static void configure_logging(void)
{
    const char *file = config_str("maillog_file");

    /* An ordinary user cannot append to root's maillog_file. */
    if (*file && access(file, W_OK) < 0)
        file = "";
    log_configure(config_str("syslog_name"), file);
}

/* authorized_submit_users. */
static void check_submit_acl(uid_t uid)
{
    struct passwd *pw = getpwuid(uid);
    buf_t name = BUF_INIT;
    match_list_t *acl;
    int found;

    if (pw != NULL && pw->pw_name != NULL)
        buf_set(&name, pw->pw_name);
    else
        buf_printf(&name, "%ld", (long) uid);
    acl = match_list_config("authorized_submit_users", MATCH_LIST_DOMAIN);
    found = match_list_domain(acl, buf_str(&name));
    match_list_free(acl);
    if (found == MATCH_ERROR)
        msg_fatal_status(EX_TEMPFAIL, "authorized_submit_users: table lookup error");
    if (found != MATCH_FOUND)
        msg_fatal_status(EX_NOPERM, "User %s(%ld) is not allowed to submit mail",
                         buf_str(&name), (long) uid);
    buf_release(&name);
}

/* Creates maildrop/ID, with signals held so that no signal can strike
 * between the file's birth and the moment the handler knows its name. */
static queue_file_t *create_file(void)
{
    sigset_t all, old;
    queue_file_t *qf;
    size_t len;

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    qf = queue_file_create(QUEUE_MAILDROP);
    if (qf != NULL && (len = strlen(qf->path)) < sizeof(current_path)) {
        memcpy(current_path, qf->path, len + 1);
        have_current_path = 1;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (qf == NULL)
        msg_fatal_status(EX_TEMPFAIL, "uid=%ld: create file in %s: %m",
                         (long) getuid(), QUEUE_MAILDROP);
    if (!have_current_path)
        msg_fatal_status(EX_SOFTWARE, "queue file path too long: %s", qf->path);
    /* Readable by pickup (which runs as mail_owner, not as the submitter);
     * without the owner-execute bit, so nobody takes it as complete. */
    if (fchmod(qf->fd, MAILDROP_MODE) < 0)
        msg_fatal_status(EX_TEMPFAIL, "chmod %s: %m", qf->path);
    return qf;
}

/* Makes the file complete and durable. 0, or -1 (the file is removed). */
static int commit_file(queue_file_t *qf)
{
    int fd = qf->fd;

    if (stream_flush(qf->out) < 0) {
        msg_warn("uid=%ld: write %s: %m", (long) getuid(), qf->path);
        return -1;
    }
    /* Order matters: the owner-execute bit ("complete") goes on only after
     * every record is written; the fsync after it makes the data and the
     * mode durable together before the caller hears "queued". A crash
     * before the fsync leaves at worst a file pickup ignores. */
    if (fchmod(fd, MAILDROP_DONE_MODE) < 0 || fsync(fd) < 0) {
        msg_warn("uid=%ld: commit %s: %m", (long) getuid(), qf->path);
        return -1;
    }
    stream_free(qf->out);
    qf->out = NULL;
    qf->fd = -1;
    if (close(fd) < 0) {                    /* NFS reports write errors here */
        msg_warn("uid=%ld: close %s: %m", (long) getuid(), qf->path);
        return -1;
    }
    return 0;
}

/* Wakes pickup. A stopped mail system is no error: the file waits. */
static void wake_pickup(void)
{
    struct stat st;

    if (stat(PICKUP_SERVICE, &st) < 0)
        msg_warn("unable to look up %s: %m", PICKUP_SERVICE);
    else if (trigger_send(PICKUP_SERVICE, "W", 1) < 0)
        msg_warn("unable to wake up %s: %m", PICKUP_SERVICE);
}

/* -r: {protocol, queue_id} as soon as the file exists. */
static stream_t *reply_queue_id(const char *id)
{
    stream_t *out = stream_fdopen(1);

    attr_put_str(out, "protocol", POSTDROP_PROTOCOL);
    attr_put_str(out, "queue_id", id);
    attr_put_end(out);
    return out;
}

/* -r: {status, reason} at the end. */
static void reply_status(stream_t *out, int status)
{
    attr_put_long(out, "status", status);
    attr_put_str(out, "reason", "");
    attr_put_end(out);
    if (stream_status(out) != STREAM_OK)
        msg_debug("uid=%ld: the caller went away before hearing the status", (long) getuid());
}

static void load_limits(postdrop_limits_t *lim)
{
    long line = config_int("line_length_limit");

    lim->envelope_max = ENVELOPE_RECORD_MAX;
    lim->line_max = line > 0 ? (size_t) line : 2048;
    lim->file_max = config_size("message_size_limit");
}

static int exit_status(int status)
{
    if (status == 0)
        return 0;
    if (status & CLEANUP_STAT_BAD)
        return EX_SOFTWARE;
    if (status & CLEANUP_STAT_WRITE)
        return EX_TEMPFAIL;
    return EX_UNAVAILABLE;
}

int main(int argc, char **argv)
{
    const char *config_dir = NULL;
    int protocol = 0, c, status = 0;
    stream_t *in, *out = NULL;
    queue_file_t *qf;
    postdrop_limits_t lim;
    struct timeval now;

    umask(077);
    log_init("postdrop", LOG_FLAG_STDERR | LOG_FLAG_SYSLOG);
    standard_fds();
    opterr = 0;
    while ((c = getopt(argc, argv, "c:rv")) != -1) {
        switch (c) {
        case 'c': config_dir = optarg; break;
        case 'r': protocol = 1; break;
        case 'v': msg_verbose++; break;
        default: msg_fatal_status(EX_USAGE, "usage: postdrop [-c config_dir] [-v]");
        }
    }
    config_dir = trusted_config_dir(config_dir);
    clean_environment(config_dir);
    config_load(config_dir);
    configure_logging();
    check_submit_acl(getuid());
    if (chdir(config_str("queue_directory")) < 0)
        msg_fatal_status(EX_TEMPFAIL, "chdir %s: %m", config_str("queue_directory"));
    install_signals();
    load_limits(&lim);

    /* Our clock, never the caller's, dates the message. */
    gettimeofday(&now, NULL);
    qf = create_file();
    if (protocol)
        out = reply_queue_id(qf->id);
    queue_file_printf(qf, REC_TYPE_TIME, "%ld %ld", (long) now.tv_sec, (long) now.tv_usec);
    in = stream_fdopen(0);
    if (postdrop_copy(in, qf, &lim, getuid(), &status) == POSTDROP_CANCELLED) {
        msg_debug("uid=%ld: input ended early: removing %s", (long) getuid(), qf->path);
        remove_partial_file();
        stream_free(in);
        stream_free(out);
        queue_file_free(qf);
        return 0;
    }
    if (status == 0 && commit_file(qf) < 0)
        status = CLEANUP_STAT_WRITE;
    if (status != 0) {
        remove_partial_file();
    } else {
        /* Ours no more: from here on a fatal error must not remove it. */
        have_current_path = 0;
        wake_pickup();
    }
    if (out != NULL) {
        reply_status(out, status);
        stream_free(out);
    }
    stream_free(in);
    queue_file_free(qf);
    return exit_status(status);
}
