/* command: delivery to a "|command" that an alias, :include: or .forward
 * file names (reference 6.1). The command text is the admin's or user's,
 * never envelope data; it runs with execve, through /bin/sh -c only when
 * it has shell metacharacters (or through local_command_shell), as the
 * list's identity (default_privs instead of root), with a clean
 * environment whose envelope values are censored by
 * command_expansion_filter, within command_time_limit. Its standard input
 * is the message with a From_ line, Return-Path, X-Original-To and
 * Delivered-To, as Postfix gives it. The exit status decides: 0 sent,
 * sysexits codes as Postfix maps them (75 defers), anything else bounces
 * with the first part of its output in the reason. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "local.h"
#include "log.h"
#include "privilege.h"

#define OUTPUT_KEEP      1024     /* bytes of command output kept for the reason */
#define EXEC_PATH        "/bin:/usr/bin"   /* for a bare name, as execvp without PATH */
#define SHELL_PATH       "/bin/sh"
#define SHELL_META       "\"'`\\$&|;<>()[]{}*?~#=^!\n\r"

extern char **environ;

/* sysexits.h codes and what Postfix makes of them. */
static const struct {
    int         code;
    const char *dsn;
    const char *text;
} sysexits[] = {
    { 64, "5.3.0", "command line usage error" },
    { 65, "5.6.0", "data format error" },
    { 66, "5.3.0", "cannot open input" },
    { 67, "5.1.1", "user unknown" },
    { 68, "5.1.2", "host name unknown" },
    { 69, "5.3.0", "service unavailable" },
    { 70, "5.3.0", "internal software error" },
    { 71, "4.3.0", "system resource problem" },
    { 72, "5.3.0", "critical OS file missing" },
    { 73, "5.2.0", "can't create user output file" },
    { 74, "5.3.0", "input/output error" },
    { 75, "4.3.0", "temporary failure" },
    { 76, "5.5.0", "remote error in protocol" },
    { 77, "5.7.0", "permission denied" },
    { 78, "5.3.5", "local configuration error" },
};

/* Shell builtins that only a shell can run. */
static const char *const shell_builtins[] = {
    ".", ":", "alias", "break", "cd", "continue", "eval", "exec", "exit", "export",
    "read", "readonly", "return", "set", "shift", "times", "trap", "ulimit", "umask",
    "unset", "wait", NULL
};

void ident_effective(const local_ident_t *ident, uid_t *uid, gid_t *gid)
{
    if (!local_cfg.started_as_root) {
        *uid = getuid();
        *gid = getgid();
    } else if (ident->uid == 0) {
        *uid = local_cfg.default_uid;
        *gid = local_cfg.default_gid;
    } else {
        *uid = ident->uid;
        *gid = ident->gid;
    }
}

/* ---- the argument vector ----------------------------------------------- */

static int needs_shell(const char *command)
{
    size_t word = strcspn(command, " \t");

    if (command[strcspn(command, SHELL_META)] != 0)
        return 1;
    for (int i = 0; shell_builtins[i] != NULL; i++)
        if (strlen(shell_builtins[i]) == word && strncmp(command, shell_builtins[i], word) == 0)
            return 1;
    return 0;
}

/* local_command_shell words + the command; /bin/sh -c command; or the
 * command's own words. */
static argv_t *command_argv(const char *command)
{
    argv_t *args;

    if (*local_cfg.command_shell) {
        args = argv_split(local_cfg.command_shell, " \t");
        argv_add(args, command);
    } else if (needs_shell(command)) {
        args = argv_new();
        argv_add(args, "sh");
        argv_add(args, "-c");
        argv_add(args, command);
    } else {
        args = argv_split(command, " \t");
    }
    return args;
}

/* The program to execve: the shell, or the first word found in EXEC_PATH. */
static const char *program_of(const char *command, const argv_t *args)
{
    if (!*local_cfg.command_shell && needs_shell(command))
        return SHELL_PATH;
    return args->argv[0];
}

/* ---- the environment ---------------------------------------------------- */

static void env_add(argv_t *env, const char *name, const char *value, int censor)
{
    buf_t entry = BUF_INIT;

    buf_printf(&entry, "%s=", name);
    for (const char *p = value; *p; p++)
        buf_putc(&entry, !censor || strchr(local_cfg.command_filter, *p) ? *p : '_');
    argv_add(env, buf_str(&entry));
    buf_release(&entry);
}

static argv_t *command_env(const local_state_t *st, const expansion_t *exp)
{
    const rcpt_name_t *n = &st->name;
    argv_t *env = argv_new();

    for (size_t i = 0; i < local_cfg.export_environment->argc; i++) {
        const char *name = local_cfg.export_environment->argv[i];
        const char *value = getenv(name);

        if (strchr(name, '=') == NULL && value != NULL)
            env_add(env, name, value, 0);
    }
    if (exp->ident->home != NULL)
        env_add(env, "HOME", exp->ident->home, 1);
    env_add(env, "LOGNAME", buf_str(&n->user), 1);
    env_add(env, "USER", buf_str(&n->user), 1);
    env_add(env, "SENDER", exp->sender, 1);
    env_add(env, "RECIPIENT", st->rcpt->address, 1);
    env_add(env, "LOCAL", buf_str(&n->localpart), 1);
    if (exp->ident->shell != NULL)
        env_add(env, "SHELL", exp->ident->shell, 1);
    if (n->domain.len > 0)
        env_add(env, "DOMAIN", buf_str(&n->domain), 1);
    if (n->extension.len > 0)
        env_add(env, "EXTENSION", buf_str(&n->extension), 1);
    if (*st->rcpt->orig_rcpt)
        env_add(env, "ORIGINAL_RECIPIENT", st->rcpt->orig_rcpt, 1);
    return env;
}

/* ---- running it ----------------------------------------------------------- */

typedef struct command_job {
    const char *program;
    argv_t     *args;
    argv_t     *env;
    const char *cwd;          /* NULL: the home directory, else "/" */
    const char *home;
    uid_t       uid;
    gid_t       gid;
    int         input_fd;     /* the message, at offset 0 */
} command_job_t;

#define RUN_EXITED    0
#define RUN_SIGNALED  1
#define RUN_TIMEOUT   2
#define RUN_FAILED    3       /* fork or pipe failed: errno */

/* In the child: a message for the output, then the exit status. */
static void __attribute__((noreturn)) child_fail(int status, const char *what, int err)
{
    buf_t text = BUF_INIT;

    buf_printf(&text, "%s: %s\n", what, strerror(err));
    if (write(2, text.data, text.len) < 0) {
        /* Nothing more to say: the exit status tells it. */
    }
    _exit(status);
}

static void child_close_fds(void)
{
    long max;

    if (close_range(3, ~0U, 0) == 0)
        return;
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        (void) close(fd);
}

static void child_exec(const command_job_t *job)
{
    argv_t *dirs;
    sigset_t none;
    int err = ENOENT;

    /* A group of its own, so that a time limit kills everything it started. */
    (void) setsid();
    sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    /* Ignored signals stay ignored across execve: give SIGPIPE back. */
    (void) signal(SIGPIPE, SIG_DFL);
    if (dup2(job->input_fd, 0) < 0)
        child_fail(75, "dup2 standard input", errno);
    if (local_cfg.started_as_root)
        privilege_drop(job->uid, job->gid, NULL);
    /* After the drop: the maillog and queue files must not reach the command. */
    child_close_fds();
    if (job->cwd != NULL) {
        if (chdir(job->cwd) < 0)
            child_fail(75, job->cwd, errno);
    } else if (job->home == NULL || chdir(job->home) < 0) {
        if (chdir("/") < 0)
            child_fail(75, "/", errno);
    }
    if (strchr(job->program, '/') != NULL) {
        execve(job->program, job->args->argv, job->env->argv);
        child_fail(errno == ENOENT ? 127 : 126, job->program, errno);
    }
    dirs = argv_split(EXEC_PATH, ":");
    for (size_t i = 0; i < dirs->argc; i++) {
        buf_t path = BUF_INIT;

        buf_printf(&path, "%s/%s", dirs->argv[i], job->program);
        execve(buf_str(&path), job->args->argv, job->env->argv);
        if (errno != ENOENT)
            err = errno;
        buf_release(&path);
    }
    child_fail(err == ENOENT ? 127 : 126, job->program, err);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Reads the output until it ends or the deadline passes, keeping the
 * first OUTPUT_KEEP bytes. 0, or -1 on timeout. */
static int collect_output(int fd, double deadline, buf_t *output)
{
    char chunk[4096];

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        double left = deadline - now();
        ssize_t n;
        int r;

        if (left <= 0)
            return -1;
        r = poll(&pfd, 1, left > 1e6 ? 1000000000 : (int) (left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -1;
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return 0;
        if (output->len < OUTPUT_KEEP)
            buf_append(output, chunk,
                       (size_t) n < OUTPUT_KEEP - output->len ? (size_t) n : OUTPUT_KEEP - output->len);
    }
}

/* Waits for the child until the deadline. 0 with *status, -1 on timeout. */
static int wait_child(pid_t pid, double deadline, int *status)
{
    useconds_t pause = 1000;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now() >= deadline)
            return -1;
        usleep(pause);
        if (pause < 100000)
            pause *= 2;
    }
}

/* Runs the job; *status is the wait status for RUN_EXITED/RUN_SIGNALED. */
static int run_job(const command_job_t *job, buf_t *output, int *status)
{
    double deadline = now() + (double) local_cfg.command_time_limit;
    int out[2];
    pid_t pid;
    int timed_out;

    if (pipe2(out, O_CLOEXEC) < 0)
        return RUN_FAILED;
    if ((pid = fork()) < 0) {
        int saved = errno;

        (void) close(out[0]);
        (void) close(out[1]);
        errno = saved;
        return RUN_FAILED;
    }
    if (pid == 0) {
        if (dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
            _exit(75);
        child_exec(job);
    }
    (void) close(out[1]);
    timed_out = collect_output(out[0], deadline, output) < 0
        || wait_child(pid, deadline, status) < 0;
    (void) close(out[0]);
    if (timed_out) {
        (void) kill(-pid, SIGKILL);
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
            ;
        return RUN_TIMEOUT;
    }
    return WIFSIGNALED(*status) ? RUN_SIGNALED : RUN_EXITED;
}

/* ---- the result -------------------------------------------------------- */

/* Output made fit for one line of a log or a DSN. */
static void clean_output(buf_t *output)
{
    buf_t clean = BUF_INIT;

    for (size_t i = 0; i < output->len; i++) {
        unsigned char c = (unsigned char) output->data[i];

        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        else if (c < 0x20 || c == 0x7f)
            c = '?';
        if (c == ' ' && (clean.len == 0 || clean.data[clean.len - 1] == ' '))
            continue;
        buf_putc(&clean, c);
    }
    buf_trim_right(&clean);
    buf_set(output, buf_str(&clean));
    buf_release(&clean);
}

/* An enhanced status code that opens the output ("4.2.2 mailbox full")
 * takes precedence. 1 when found (copied into dsn). */
static int output_dsn(const char *output, char dsn[16])
{
    const char *p = output;
    size_t len;

    if (*p != '4' && *p != '5')
        return 0;
    if (p[1] != '.')
        return 0;
    len = 2 + strspn(p + 2, "0123456789");
    if (len == 2 || len > 5 || p[len] != '.')
        return 0;
    len++;
    len += strspn(p + len, "0123456789");
    if (p[len - 1] == '.' || (p[len] != 0 && p[len] != ' ') || len >= 16)
        return 0;
    memcpy(dsn, p, len);
    dsn[len] = 0;
    return 1;
}

static void command_result(local_state_t *st, const char *command, int run, int status,
                           buf_t *output)
{
    const char *sep;
    char dsn[16] = "5.3.0";
    buf_t reason = BUF_INIT;

    clean_output(output);
    sep = output->len ? ". Command output: " : "";
    if (run == RUN_EXITED && WEXITSTATUS(status) == 0) {
        leaf_result(st, DELIVERY_SENT, "2.0.0", "delivered to command: %s", command);
        return;
    }
    if (run == RUN_TIMEOUT) {
        buf_printf(&reason, "Command time limit exceeded: \"%s\"%s%s", command, sep,
                   buf_str(output));
    } else if (run == RUN_SIGNALED) {
        buf_printf(&reason, "Command died with signal %d: \"%s\"%s%s", WTERMSIG(status),
                   command, sep, buf_str(output));
    } else {
        size_t i;

        for (i = 0; i < sizeof(sysexits) / sizeof(sysexits[0]); i++)
            if (sysexits[i].code == WEXITSTATUS(status))
                break;
        if (i < sizeof(sysexits) / sizeof(sysexits[0])) {
            memcpy(dsn, sysexits[i].dsn, strlen(sysexits[i].dsn) + 1);
            buf_printf(&reason, "%s%s%s", sysexits[i].text, sep, buf_str(output));
        } else {
            buf_printf(&reason, "Command died with status %d: \"%s\"%s%s",
                       WEXITSTATUS(status), command, sep, buf_str(output));
        }
    }
    (void) output_dsn(buf_str(output), dsn);
    leaf_result(st, dsn[0] == '4' ? DELIVERY_DEFERRED : DELIVERY_BOUNCED, dsn, "%s",
                buf_str(&reason));
    buf_release(&reason);
}

/* ---- delivery ------------------------------------------------------------ */

/* The message as the command reads it, in an anonymous memory file. fd,
 * or -1 (result recorded). */
static int message_input(local_state_t *st, const expansion_t *exp)
{
    local_outcome_t out;
    local_delivery_t d;
    mail_out_t *mo;
    int fd = memfd_create("local-command-input", MFD_CLOEXEC);
    int rc;

    if (fd < 0) {
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "cannot create command input: %s",
                    strerror(errno));
        return -1;
    }
    local_delivery_init(&d, &out, st, exp, LOCAL_HDR_COMMAND);
    mo = xmalloc(sizeof(*mo));
    mail_out_init(mo, fd, 0, 0);
    rc = message_copy(mo, &d, COPY_FROM_LINE);
    if (rc == COPY_OK && lseek(fd, 0, SEEK_SET) < 0) {
        mo->err = errno;
        rc = COPY_WRITE_ERR;
    }
    if (rc != COPY_OK) {
        if (rc == COPY_CORRUPT)
            leaf_result(st, DELIVERY_DEFERRED, "4.3.0",
                        "error reading queue file: malformed content");
        else
            leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "cannot write command input: %s",
                        strerror(mo->err));
        (void) close(fd);
        fd = -1;
    }
    free(mo);
    buf_release(&out.reason);
    return fd;
}

/* command_execution_directory for this recipient. 0, or -1 (deferred). */
static int exec_directory(local_state_t *st, const expansion_t *exp, buf_t *dir)
{
    if (*local_cfg.exec_directory == 0)
        return 0;
    if (local_expand(dir, local_cfg.exec_directory, st, exp->ident,
                     local_cfg.exec_dir_filter, NULL) < 0) {
        msg_warn("bad parameter value syntax for command_execution_directory: %s",
                 local_cfg.exec_directory);
        leaf_result(st, DELIVERY_DEFERRED, "4.3.5", "mail system configuration error");
        return -1;
    }
    return 0;
}

static void run_command(local_state_t *st, const expansion_t *exp, const char *command,
                        uid_t uid, gid_t gid)
{
    command_job_t job;
    buf_t dir = BUF_INIT;
    buf_t output = BUF_INIT;
    int status = 0, run;

    memset(&job, 0, sizeof(job));
    if (exec_directory(st, exp, &dir) < 0 || (job.input_fd = message_input(st, exp)) < 0) {
        buf_release(&dir);
        return;
    }
    job.args = command_argv(command);
    job.program = program_of(command, job.args);
    job.env = command_env(st, exp);
    job.cwd = dir.len ? buf_str(&dir) : NULL;
    job.home = exp->ident->home;
    job.uid = uid;
    job.gid = gid;
    if (job.args->argc == 0) {
        leaf_result(st, DELIVERY_BOUNCED, "5.3.5", "mail system configuration error");
    } else if ((run = run_job(&job, &output, &status)) == RUN_FAILED) {
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "cannot run command: %s",
                    strerror(errno));
    } else {
        command_result(st, command, run, status, &output);
    }
    (void) close(job.input_fd);
    argv_free(job.args);
    argv_free(job.env);
    buf_release(&dir);
    buf_release(&output);
}

void command_deliver(local_state_t *st, const expansion_t *exp, const char *command)
{
    buf_t key = BUF_INIT;
    uid_t uid;
    gid_t gid;

    command += strspn(command, " \t");
    if (!(local_cfg.allow_commands & exp->class)) {
        leaf_result(st, DELIVERY_BOUNCED, "5.7.1", "mail to command is restricted");
        return;
    }
    ident_effective(exp->ident, &uid, &gid);
    buf_printf(&key, "command %ld %s", (long) uid, command);
    if (destination_new(st, buf_str(&key)))
        run_command(st, exp, command, uid, gid);
    buf_release(&key);
}
