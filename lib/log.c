/* log: syslog, maillog_file and stderr output with Postfix's line shapes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 4096

int msg_verbose;

static char progname[64] = "facteur";
static char tag[128] = "postfix/facteur";
static char hostname[256];
static int log_flags = LOG_FLAG_STDERR;
static int maillog_fd = -1;
static int syslog_open;
static void (*fatal_hook)(void);

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void make_tag(const char *syslog_name)
{
    snprintf(tag, sizeof(tag), "%s/%s", syslog_name, progname);
}

void log_init(const char *name, int flags)
{
    const char *slash = strrchr(name, '/');

    copy_str(progname, sizeof(progname), slash ? slash + 1 : name);
    log_flags = flags;
    make_tag("postfix");
    if (gethostname(hostname, sizeof(hostname) - 1) < 0)
        copy_str(hostname, sizeof(hostname), "localhost");
    hostname[strcspn(hostname, ".")] = 0;
}

void log_configure(const char *syslog_name, const char *maillog_file)
{
    if (syslog_name && *syslog_name) {
        /* A syslog_name that already holds a slash names the whole tag. */
        if (strchr(syslog_name, '/'))
            copy_str(tag, sizeof(tag), syslog_name);
        else
            make_tag(syslog_name);
    }
    if (maillog_fd >= 0) {
        close(maillog_fd);
        maillog_fd = -1;
    }
    if (maillog_file && *maillog_file) {
        maillog_fd = open(maillog_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (maillog_fd < 0)
            msg_warn("open maillog_file %s: %s", maillog_file, strerror(errno));
    }
    if (syslog_open) {
        closelog();
        syslog_open = 0;
    }
}

void log_set_stderr(int on)
{
    if (on)
        log_flags |= LOG_FLAG_STDERR;
    else
        log_flags &= ~LOG_FLAG_STDERR;
}

const char *log_progname(void)
{
    return progname;
}

void log_set_fatal_hook(void (*hook)(void))
{
    fatal_hook = hook;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;                         /* nowhere left to report it */
        }
        p += n;
        len -= (size_t) n;
    }
}

static void emit(int priority, const char *level, const char *fmt, va_list ap)
{
    char text[LOG_LINE_MAX];
    char line[LOG_LINE_MAX + 512];
    int saved_errno = errno;
    int n;

    n = snprintf(text, sizeof(text), "%s", level);
    if (n < 0)
        n = 0;
    vsnprintf(text + n, sizeof(text) - (size_t) n, fmt, ap);
    /* One record per line: never let message text forge extra log lines. */
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';

    if (log_flags & LOG_FLAG_STDERR) {
        n = snprintf(line, sizeof(line), "%s: %s\n", progname, text);
        if (n > 0)
            write_all(2, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
    }
    if (maillog_fd >= 0) {
        struct timespec ts;
        struct tm tm;
        char stamp[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
        n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s\n",
                     stamp, hostname, tag, (long) getpid(), text);
        if (n > 0)
            write_all(maillog_fd, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
    } else if (log_flags & LOG_FLAG_SYSLOG) {
        if (!syslog_open) {
            openlog(tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
            syslog_open = 1;
        }
        syslog(priority, "%s", text);
    }
    errno = saved_errno;
}

void msg_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_INFO, "", fmt, ap);
    va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_WARNING, "warning: ", fmt, ap);
    va_end(ap);
}

void msg_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_ERR, "error: ", fmt, ap);
    va_end(ap);
}

static void run_fatal_hook(void)
{
    void (*hook)(void) = fatal_hook;

    fatal_hook = NULL;                      /* a failing hook must not recurse */
    if (hook)
        hook();
}

void msg_fatal_status(int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_CRIT, "fatal: ", fmt, ap);
    va_end(ap);
    run_fatal_hook();
    exit(status);
}

void msg_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_CRIT, "fatal: ", fmt, ap);
    va_end(ap);
    run_fatal_hook();
    exit(1);
}

void msg_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_CRIT, "panic: ", fmt, ap);
    va_end(ap);
    abort();
}
