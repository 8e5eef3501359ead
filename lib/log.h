/* log: the one logging API. Lines look like Postfix's:
 *   maillog_file / syslog:  "Mon DD HH:MM:SS host postfix/smtpd[PID]: text"
 *   stderr:                 "smtpd: warning: text"
 * The tag is syslog_name "/" program name; syslog_name defaults to "postfix". */
#ifndef FACTEUR_LOG_H
#define FACTEUR_LOG_H

#include <stdarg.h>

#define LOG_FLAG_STDERR  (1 << 0)   /* also write to stderr */
#define LOG_FLAG_SYSLOG  (1 << 1)   /* write to syslog unless maillog_file is set */

extern int msg_verbose;

/* Set the program name (e.g. "smtpd") and destinations. Call first. */
void log_init(const char *progname, int flags);
/* After main.cf is read: syslog_name and maillog_file ("" = syslog).
 * The maillog file is opened now, so call before dropping privileges. */
void log_configure(const char *syslog_name, const char *maillog_file);
void log_set_stderr(int on);
const char *log_progname(void);
/* A function run once by msg_fatal before exit (e.g. remove a partial file). */
void log_set_fatal_hook(void (*hook)(void));

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void msg_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Like msg_fatal with a chosen exit status. */
void msg_fatal_status(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
#define msg_debug(...) do { if (msg_verbose) msg_info(__VA_ARGS__); } while (0)

#endif
