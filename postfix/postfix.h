/* postfix: the admin command's parts: messages shaped like Postfix's
 * postfix-script, talking to master, and the queue folder checks. */
#ifndef FACTEUR_POSTFIX_H
#define FACTEUR_POSTFIX_H

#include <sys/types.h>

/* "postfix/postfix-script: text" on stderr and the same text in the mail log. */
void script_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void script_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void script_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void script_log_init(void);

/* master.c: is it running (master -t), its PID, running it. */
int   master_running(void);
pid_t master_pid(void);               /* -1 when unknown */
int   master_run(const char *flag);   /* runs master FLAG, returns its exit status */
void  master_exec(const char *flag) __attribute__((noreturn));
/* Repeats postconf's main.cf warnings (unknown/unused parameters). */
void  config_warnings_report(void);

/* dirs.c: folder creation, ownership warnings, permission resets. */
void dirs_check(void);
void dirs_set_permissions(void);
/* Removes incomplete (crash-left) files from incoming/; master must be down. */
void dirs_purge_incomplete(void);

#endif
