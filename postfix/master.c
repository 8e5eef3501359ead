/* postfix and master: whether a master runs (as Postfix's scripts ask it:
 * `master -t`, which tests the lock on master.lock), its PID from
 * pid/master.pid, and running it with -w (start) or -d (start-fg). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "postfix.h"

#define PID_TEXT_MAX 64

static void master_path(buf_t *path)
{
    buf_printf(path, "%s/master", config_str("daemon_directory"));
}

/* Runs master with one flag; MAIL_CONFIG is already in our environment. */
int master_run(const char *flag)
{
    buf_t path = BUF_INIT;
    int status;
    pid_t pid;

    master_path(&path);
    if (access(path.data, X_OK) < 0)
        script_fatal("%s: %s", path.data, strerror(errno));
    pid = fork();
    if (pid < 0)
        script_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        char *argv[] = { path.data, (char *) flag, NULL };

        execv(path.data, argv);
        msg_fatal_status(127, "exec %s: %m", path.data);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            script_fatal("waitpid: %s", strerror(errno));
    }
    buf_release(&path);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void master_exec(const char *flag)
{
    buf_t path = BUF_INIT;
    char *argv[3];

    master_path(&path);
    argv[0] = path.data;
    argv[1] = (char *) flag;
    argv[2] = NULL;
    execv(path.data, argv);
    script_fatal("exec %s: %s", path.data, strerror(errno));
}

int master_running(void)
{
    int status = master_run("-t");

    if (status == 127)
        script_fatal("cannot run %s/master", config_str("daemon_directory"));
    return status != 0;
}

/* The first number in a file such as master.pid; -1 when absent. */
static pid_t pid_from_file(const char *path)
{
    char text[PID_TEXT_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    char *end;
    long pid;

    if (fd < 0)
        return -1;
    n = read(fd, text, PID_TEXT_MAX);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    errno = 0;
    pid = strtol(text, &end, 10);
    if (errno != 0 || end == text || pid <= 1 || (*end != '\n' && *end != 0))
        return -1;
    return (pid_t) pid;
}

pid_t master_pid(void)
{
    buf_t path = BUF_INIT;
    pid_t pid;

    buf_printf(&path, "%s/pid/master.pid", config_str("queue_directory"));
    pid = pid_from_file(path.data);
    if (pid < 0) {
        /* master.lock holds the same text and exists a little earlier. */
        buf_reset(&path);
        buf_printf(&path, "%s/master.lock", config_str("data_directory"));
        pid = pid_from_file(path.data);
    }
    buf_release(&path);
    return pid;
}

/* Runs `postconf -n` (as Postfix's check does with its own tools) so that
 * unknown or unused main.cf parameters are reported: each warning it
 * prints is repeated through script_warn, reaching stderr and the mail log.
 * Never fatal: an unknown parameter is kept, only warned about. */
void config_warnings_report(void)
{
    buf_t path = BUF_INIT, out = BUF_INIT;
    int pipefd[2];
    pid_t pid;
    char chunk[4096];
    ssize_t n;
    int status;

    buf_printf(&path, "%s/postconf", config_str("command_directory"));
    if (access(path.data, X_OK) < 0 || pipe(pipefd) < 0) {
        buf_release(&path);
        return;                         /* no postconf beside us: nothing to add */
    }
    if ((pid = fork()) < 0)
        script_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        char *argv[] = { path.data, (char *) "-c", (char *) config_dir(), (char *) "-n", NULL };
        int devnull = open("/dev/null", O_WRONLY);

        if (devnull < 0 || dup2(devnull, 1) < 0 || dup2(pipefd[1], 2) < 0)
            _exit(127);
        close(pipefd[0]);
        execv(path.data, argv);
        _exit(127);
    }
    close(pipefd[1]);
    /* Bounded: a config with thousands of warnings is cut, not buffered. */
    while ((n = read(pipefd[0], chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (out.len < 64 * 1024)
            buf_append(&out, chunk, (size_t) n);
    }
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    for (char *line = out.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        const char *w;

        if ((nl = strchr(line, '\n')) != NULL)
            *nl = 0;
        if ((w = strstr(line, "warning: ")) != NULL)
            script_warn("%s", w + strlen("warning: "));
    }
    buf_release(&out);
    buf_release(&path);
}
