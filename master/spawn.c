/* master children: fork/exec with the fd contract of lib/service.h,
 * status records from the shared status pipe, on-demand spawning within
 * maxproc, resident services, wake-up triggers, reaping and the crash
 * back-off, and generations retired on reload. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "master.h"

#define LIMIT_WARN_INTERVAL_MS (1000LL * 1000)   /* one process-limit warning per 1000s */

/* One child process. */
typedef struct mproc {
    pid_t        pid;
    mservice_t  *serv;
    unsigned     generation;
    int          avail;          /* counted in serv->avail_proc (unless retired) */
    int          taken_once;     /* reported "taken" at least once */
    int          retired;        /* of an older generation: finishing up */
    int          killed;         /* master sent it SIGTERM */
    long long    start_ms;
    struct mproc *next;
} mproc_t;

static mproc_t *procs;

static mproc_t *proc_find(pid_t pid)
{
    for (mproc_t *p = procs; p != NULL; p = p->next)
        if (p->pid == pid)
            return p;
    return NULL;
}

static void proc_unlink(mproc_t *gone)
{
    for (mproc_t **pp = &procs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            return;
        }
    }
}

static int is_resident(const mservice_t *s)
{
    return s->maxproc == 1 && s->wakeup > 0;
}

static long throttle_limit(void)
{
    long t = config_time("service_throttle_time");

    return t > 0 ? t : 1;
}

/* ---- the child side of fork ------------------------------------------ */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* COMMAND [-l] [-z] [-n SERVICE] -t TYPE [-u] [-c] [-d] [-v...] [-s N] args */
static argv_t *child_argv(const mservice_t *s)
{
    argv_t *a = argv_new();
    const char *cmd = base_name(s->command);
    char count[16];

    argv_add(a, cmd);
    if (s->maxproc == 1)
        argv_add(a, "-l");
    if (s->maxproc == 0)
        argv_add(a, "-z");
    if (strcmp(s->name, cmd) != 0) {
        argv_add(a, "-n");
        argv_add(a, s->name);
    }
    argv_add(a, "-t");
    argv_add(a, s->type);
    if (s->unpriv)
        argv_add(a, "-u");
    if (s->chroot)
        argv_add(a, "-c");
    if (master.foreground)
        argv_add(a, "-d");
    for (int i = 0; i < msg_verbose && i < 5; i++)
        argv_add(a, "-v");
    if (s->listen_count > 1) {
        snprintf(count, sizeof(count), "%d", s->listen_count);
        argv_add(a, "-s");
        argv_add(a, count);
    }
    for (size_t i = 0; i < s->args->argc; i++)
        argv_add(a, s->args->argv[i]);
    return a;
}

static void env_add(argv_t *env, const char *name, const char *value)
{
    buf_t b = BUF_INIT;

    buf_printf(&b, "%s=%s", name, value);
    argv_add(env, b.data);
    buf_release(&b);
}

/* A clean environment: MAIL_CONFIG, GENERATION and import_environment
 * (NAME imports a variable when set, NAME=value sets one). */
static argv_t *child_env(void)
{
    static const char *sanitizers[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
    argv_t *imports = config_list("import_environment");
    argv_t *env = argv_new();
    char gen[32];

    env_add(env, "MAIL_CONFIG", master.config_dir);
    snprintf(gen, sizeof(gen), "%o", master.generation);
    env_add(env, "GENERATION", gen);
    for (size_t i = 0; i < imports->argc; i++) {
        const char *item = imports->argv[i];
        const char *value;

        if (strncmp(item, "MAIL_CONFIG", 11) == 0 || strncmp(item, "GENERATION", 10) == 0)
            continue;
        if (strchr(item, '=') != NULL)
            argv_add(env, item);
        else if ((value = getenv(item)) != NULL)
            env_add(env, item, value);
    }
    /* Sanitizer builds keep their settings in every process. */
    for (size_t i = 0; i < sizeof(sanitizers) / sizeof(sanitizers[0]); i++)
        if (getenv(sanitizers[i]) != NULL)
            env_add(env, sanitizers[i], getenv(sanitizers[i]));
    argv_free(imports);
    return env;
}

static void close_from(int first)
{
    long max;

    if (close_range((unsigned) first, ~0U, 0) == 0)
        return;
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = first; fd < max; fd++)
        (void) close(fd);
}

/* Puts the alive pipe on 4, the status pipe on 5 and the listeners on
 * 6... and closes every other descriptor above 2. Sources are first
 * copied above the targets so that no dup2 overwrites one still needed. */
static void child_fds(const mservice_t *s)
{
    int src[2 + SERVICE_MAX_LISTEN], tmp[2 + SERVICE_MAX_LISTEN];
    int n = 0, floor = IPC_LISTEN_FD + s->listen_count;

    src[n++] = s->alive_rd;
    src[n++] = s->status_wr;
    for (int i = 0; i < s->listen_count; i++)
        src[n++] = s->listen_fds[i];
    for (int i = 0; i < n; i++)
        if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, floor)) < 0)
            msg_fatal("spawn %s: dup: %m", s->path);
    for (int i = 0; i < n; i++)
        if (dup2(tmp[i], IPC_ALIVE_FD + i) < 0)     /* 4, 5, 6, ... in order */
            msg_fatal("spawn %s: dup2: %m", s->path);
    (void) close(3);
    close_from(floor);
}

static void child_signals(void)
{
    static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGPIPE, SIGXFSZ };
    sigset_t none;

    /* Ignored signals stay ignored across exec: give the daemon defaults. */
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void child_exec(const mservice_t *s) __attribute__((noreturn));
static void child_exec(const mservice_t *s)
{
    argv_t *args, *env;

    child_signals();
    child_fds(s);
    args = child_argv(s);
    env = child_env();
    execve(s->path, args->argv, env->argv);
    msg_fatal("spawn: exec %s: %m", s->path);
}

/* ---- the master side -------------------------------------------------- */

static void listener_ready(int fd, void *ctx);

void spawn_update_listen(mservice_t *s)
{
    int want = !s->throttled && !s->removed && !master.terminating
               && s->avail_proc < 1 && s->listen_count > 0
               && (s->maxproc == 0 || s->total_proc < s->maxproc);

    if (want == s->listening)
        return;
    for (int i = 0; i < s->listen_count; i++) {
        if (want)
            event_watch(s->listen_fds[i], EVENT_READ, listener_ready, s);
        else
            event_unwatch(s->listen_fds[i]);
    }
    s->listening = want;
}

static void throttle(mservice_t *s);

static void spawn_one(mservice_t *s)
{
    sigset_t all, old;
    mproc_t *p;
    pid_t pid;

    if (s->maxproc > 0 && s->total_proc >= s->maxproc)
        return;
    /* No handler may run in the child before it resets them: it would
     * write into master's signal pipe. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0)
        child_exec(s);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        msg_warn("fork: %m");
        throttle(s);
        return;
    }
    p = xcalloc(1, sizeof(*p));
    p->pid = pid;
    p->serv = s;
    p->generation = master.generation;
    p->avail = 1;               /* new children count as idle until "taken" */
    p->start_ms = event_now_ms();
    p->next = procs;
    procs = p;
    s->total_proc++;
    s->avail_proc++;
    s->used = 1;
    msg_debug("spawned %s pid %ld for service %s", s->path, (long) pid, s->name);
    spawn_update_listen(s);
}

void spawn_start_resident(mservice_t *s)
{
    if (is_resident(s) && s->total_proc == 0 && !s->throttled && !s->removed
        && !master.terminating)
        spawn_one(s);
}

/* A client waits and no child is idle: start one, within maxproc. */
static void listener_ready(int fd, void *ctx)
{
    mservice_t *s = ctx;

    (void) fd;
    if (s->avail_proc < 1 && !s->throttled)
        spawn_one(s);
    spawn_update_listen(s);
}

static void warn_process_limit(mservice_t *s)
{
    long long now = event_now_ms();

    if (s->maxproc <= 1 || s->total_proc < s->maxproc || s->avail_proc > 0
        || now < s->limit_warn_ms)
        return;
    s->limit_warn_ms = now + LIMIT_WARN_INTERVAL_MS;
    msg_warn("service \"%s\" (%s) has reached its process limit \"%d\": "
             "new clients may experience noticeable delays", s->name, s->endpoint, s->maxproc);
    msg_warn("to avoid this condition, increase the process count in master.cf "
             "or reduce the service time per client");
}

static void handle_status(mservice_t *s, const ipc_status_t *st)
{
    mproc_t *p = proc_find((pid_t) st->pid);

    if (p == NULL || p->serv != s || st->generation != p->generation) {
        msg_debug("service %s: status from unknown pid %d ignored", s->name, st->pid);
        return;
    }
    if (st->avail == IPC_STATUS_TAKEN)
        p->taken_once = 1;
    if (p->retired)
        return;
    if (st->avail == IPC_STATUS_TAKEN && p->avail) {
        p->avail = 0;
        s->avail_proc--;
        warn_process_limit(s);
    } else if (st->avail == IPC_STATUS_AVAIL && !p->avail) {
        p->avail = 1;
        s->avail_proc++;
        s->throttle_delay = 1;  /* served a client: a good run */
    } else if (st->avail != IPC_STATUS_TAKEN && st->avail != IPC_STATUS_AVAIL) {
        msg_warn("service %s: pid %d sent bad status %d", s->name, st->pid, st->avail);
    }
}

static void status_ready(int fd, void *ctx)
{
    mservice_t *s = ctx;
    ipc_status_t recs[64];

    for (;;) {
        ssize_t n = read(fd, recs, sizeof(recs));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                msg_warn("service %s: read status pipe: %m", s->name);
            break;
        }
        if ((size_t) n % sizeof(recs[0]) != 0)
            msg_warn("service %s: partial status record ignored", s->name);
        for (size_t i = 0; i < (size_t) n / sizeof(recs[0]); i++)
            handle_status(s, &recs[i]);
        if ((size_t) n < sizeof(recs))
            break;
    }
    spawn_update_listen(s);
}

static void unthrottle(void *ctx)
{
    mservice_t *s = ctx;

    s->throttled = 0;
    spawn_update_listen(s);
    spawn_start_resident(s);
}

/* No new child for throttle_delay seconds; the next delay doubles. */
static void throttle(mservice_t *s)
{
    long limit = throttle_limit();

    if (s->throttle_delay < 1)
        s->throttle_delay = 1;
    if (s->throttle_delay > limit)
        s->throttle_delay = limit;
    s->throttled = 1;
    spawn_update_listen(s);
    event_timer((int) s->throttle_delay * 1000, unthrottle, s);
    s->throttle_delay = s->throttle_delay * 2 > limit ? limit : s->throttle_delay * 2;
}

static void wakeup_fire(void *ctx)
{
    mservice_t *s = ctx;

    if (s->removed || master.terminating)
        return;
    if ((!s->wakeup_on_use || s->used) && strcmp(s->type, "inet") != 0
        && trigger_send(s->endpoint, "W", 1) < 0)
        msg_warn("service %s: wakeup %s: %m", s->name, s->endpoint);
    event_timer(s->wakeup * 1000, wakeup_fire, s);
}

static void rearm_wakeup(mservice_t *s)
{
    event_cancel(wakeup_fire, s);
    if (s->wakeup > 0)
        event_timer(s->wakeup * 1000, wakeup_fire, s);
}

static void make_pipe(int fds[2], const char *what, const char *service)
{
    /* Close-on-exec: a child gets only its own service's pipes, which
     * child_fds copies into place. */
    if (pipe2(fds, O_CLOEXEC) < 0)
        msg_fatal("service %s: %s pipe: %m", service, what);
}

void spawn_service_init(mservice_t *s)
{
    int fds[2];

    make_pipe(fds, "status", s->name);
    s->status_rd = fds[0];
    s->status_wr = fds[1];
    if (fd_set_nonblock(s->status_rd, 1) < 0)
        msg_fatal("service %s: status pipe: %m", s->name);
    event_watch(s->status_rd, EVENT_READ, status_ready, s);
    make_pipe(fds, "alive", s->name);
    s->alive_rd = fds[0];
    s->alive_wr = fds[1];
    s->throttle_delay = 1;
    rearm_wakeup(s);
}

void spawn_retire_generation(mservice_t *s)
{
    int fds[2];

    /* Closing the only write end is the signal: each old child sees EOF
     * on fd 4 and exits once its current client is done. */
    close(s->alive_wr);
    close(s->alive_rd);
    make_pipe(fds, "alive", s->name);
    s->alive_rd = fds[0];
    s->alive_wr = fds[1];
    for (mproc_t *p = procs; p != NULL; p = p->next) {
        if (p->serv != s || p->retired)
            continue;
        p->retired = 1;
        if (p->avail)
            s->avail_proc--;
    }
    rearm_wakeup(s);
    spawn_update_listen(s);
}

static void service_close_pipes(mservice_t *s)
{
    event_unwatch(s->status_rd);
    close(s->status_rd);
    close(s->status_wr);
    close(s->alive_rd);
    close(s->alive_wr);
    s->status_rd = s->status_wr = s->alive_rd = s->alive_wr = -1;
}

void spawn_service_remove(mservice_t *s)
{
    s->removed = 1;
    event_cancel(wakeup_fire, s);
    event_cancel(unthrottle, s);
    if (strcmp(s->type, "inet") != 0)
        (void) unlink(s->endpoint);
    listen_close(s);
    service_close_pipes(s);
    for (mproc_t *p = procs; p != NULL; p = p->next) {
        if (p->serv == s && kill(p->pid, SIGTERM) == 0)
            p->killed = 1;
    }
    if (s->total_proc == 0)
        services_forget(s);
}

void spawn_signal_all(int sig)
{
    for (mproc_t *p = procs; p != NULL; p = p->next)
        if (kill(p->pid, sig) == 0 && sig == SIGTERM)
            p->killed = 1;
}

static void log_exit(const mproc_t *p, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        msg_warn("process %s pid %ld exit status %d",
                 p->serv->path, (long) p->pid, WEXITSTATUS(status));
    else if (WIFSIGNALED(status) && !(p->killed && WTERMSIG(status) == SIGTERM))
        msg_warn("process %s pid %ld killed by signal %d",
                 p->serv->path, (long) p->pid, WTERMSIG(status));
}

/* Bookkeeping for one dead child; may start a replacement. */
static void child_died(mproc_t *p, int status)
{
    mservice_t *s = p->serv;
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    long long lived = event_now_ms() - p->start_ms;

    s->total_proc--;
    if (p->avail && !p->retired)
        s->avail_proc--;
    if (!master.terminating)
        log_exit(p, status);
    if (!clean && !p->killed && !s->removed && !master.terminating) {
        if (!p->taken_once && lived < MASTER_BAD_START_MS)
            msg_warn("%s: bad command startup -- throttling", s->path);
        throttle(s);
    } else if (clean || lived >= throttle_limit() * 1000) {
        s->throttle_delay = 1;
    }
    if (s->removed) {
        if (s->total_proc == 0)
            services_forget(s);
        return;
    }
    spawn_update_listen(s);
    spawn_start_resident(s);
}

void spawn_reap(void)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        mproc_t *p = proc_find(pid);

        if (p == NULL)
            continue;
        proc_unlink(p);
        child_died(p, status);
        free(p);
    }
    if (pid < 0 && errno != ECHILD)
        msg_warn("waitpid: %m");
}
