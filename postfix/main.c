/* postfix: the admin command. postfix [-c dir] [-v] command, where command
 * is start, start-fg, stop, abort, reload, status, check, flush or
 * set-permissions; messages and exit codes as Postfix's postfix-script. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "postfix.h"

#define STOP_WAIT_SECONDS  5
#define STOP_POLL_MS       100

static const char usage_text[] =
    "usage: postfix [-c config_dir] [-v] start (or start-fg, stop, reload, abort, "
    "flush, check, status, set-permissions)";

static pid_t running_pid(void)
{
    pid_t pid;

    if (!master_running())
        return -1;
    pid = master_pid();
    if (pid < 0)
        script_fatal("the Postfix mail system is running but its PID is unknown");
    return pid;
}

static pid_t need_running(void)
{
    pid_t pid = running_pid();

    if (pid < 0)
        script_fatal("the Postfix mail system is not running");
    return pid;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int cmd_start(void)
{
    if (master_running())
        script_fatal("the Postfix mail system is already running");
    config_warnings_report();
    dirs_check();
    dirs_purge_incomplete();
    script_info("starting the Postfix mail system");
    /* master -w reports its own failure ("mail system startup failed"). */
    return master_run("-w") == 0 ? 0 : 1;
}

static int cmd_start_fg(void)
{
    if (master_running())
        script_fatal("the Postfix mail system is already running");
    dirs_check();
    dirs_purge_incomplete();
    script_info("starting the Postfix mail system");
    master_exec("-d");
}

static int cmd_stop(void)
{
    pid_t pid = need_running();

    script_info("stopping the Postfix mail system");
    if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
        script_fatal("kill %ld: %s", (long) pid, strerror(errno));
    for (int waited = 0; waited < STOP_WAIT_SECONDS * 1000; waited += STOP_POLL_MS) {
        if (!master_running())
            return 0;
        if (waited > 0 && waited % 1000 == 0)
            script_info("waiting for the Postfix mail system to terminate");
        sleep_ms(STOP_POLL_MS);
    }
    if (!master_running())
        return 0;
    script_warn("stopping the Postfix mail system with force");
    /* master leads its own process group: this takes its children too. */
    if (kill(-pid, SIGKILL) < 0)
        (void) kill(pid, SIGKILL);
    return 0;
}

static int cmd_abort(void)
{
    pid_t pid = need_running();

    script_info("aborting the Postfix mail system");
    if (kill(pid, SIGTERM) < 0)
        script_fatal("kill %ld: %s", (long) pid, strerror(errno));
    return 0;
}

static int cmd_reload(void)
{
    pid_t pid = need_running();

    script_info("refreshing the Postfix mail system");
    if (kill(pid, SIGHUP) < 0)
        script_fatal("kill %ld: %s", (long) pid, strerror(errno));
    return 0;
}

static int cmd_status(void)
{
    pid_t pid = running_pid();

    if (pid < 0) {
        script_info("the Postfix mail system is not running");
        return 1;
    }
    script_info("the Postfix mail system is running: PID: %ld", (long) pid);
    return 0;
}

static int cmd_check(void)
{
    config_warnings_report();
    dirs_check();
    return 0;
}

static int cmd_set_permissions(void)
{
    dirs_set_permissions();
    return 0;
}

/* Like `postqueue -f`: qmgr forgets dead sites (F), ignores deferred
 * times (A), scans deferred (D) and incoming (I); pickup scans maildrop. */
static int cmd_flush(void)
{
    if (!master_running())
        script_fatal("Cannot flush mail queue - mail system is down");
    if (chdir(config_str("queue_directory")) < 0)
        script_fatal("chdir %s: %s", config_str("queue_directory"), strerror(errno));
    if (trigger_send("public/qmgr", "FADI", 4) < 0)
        script_fatal("Cannot flush mail queue - mail system is down");
    if (access("public/pickup", F_OK) == 0 && trigger_send("public/pickup", "W", 1) < 0)
        script_warn("public/pickup: %s", strerror(errno));
    return 0;
}

static const struct command {
    const char *name;
    int (*run)(void);
} commands[] = {
    { "start", cmd_start },
    { "start-fg", cmd_start_fg },
    { "stop", cmd_stop },
    { "abort", cmd_abort },
    { "reload", cmd_reload },
    { "status", cmd_status },
    { "check", cmd_check },
    { "flush", cmd_flush },
    { "set-permissions", cmd_set_permissions },
};

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int c;

    log_init("postfix", LOG_FLAG_STDERR | LOG_FLAG_SYSLOG);
    while ((c = getopt(argc, argv, "c:Dv")) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'D': break;
        case 'v': msg_verbose++; break;
        default: msg_fatal_status(1, "%s", usage_text);
        }
    }
    if (optind >= argc)
        msg_fatal_status(1, "%s", usage_text);
    config_load(dir);           /* -c, else $MAIL_CONFIG, else the default */
    /* master and its children find the configuration through this. */
    if (setenv("MAIL_CONFIG", config_dir(), 1) < 0)
        msg_fatal("setenv: %m");
    script_log_init();
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[optind], commands[i].name) == 0)
            return commands[i].run();
    script_fatal("unknown command: '%s'. %s", argv[optind], usage_text);
}
