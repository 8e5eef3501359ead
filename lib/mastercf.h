/* mastercf: master.cf parsing. One logical line per service (continuation
 * lines start with whitespace; '#' lines are comments), eight columns:
 * service type private unpriv chroot wakeup maxproc command [args...];
 * '-' means the built-in default. A repeated service/type replaces the
 * earlier one. "{ ... }" groups an argument with spaces. */
#ifndef FACTEUR_MASTERCF_H
#define FACTEUR_MASTERCF_H

#include <stddef.h>
#include "argv.h"

typedef struct master_entry {
    char   *name;          /* "smtp", "127.0.0.1:2525", "cleanup" */
    char   *type;          /* inet unix unix-dgram fifo pass */
    int     private_;      /* 1 = private/, 0 = public/ (inet: always 0) */
    int     unpriv;        /* 1 = run as mail_owner */
    int     chroot;
    int     wakeup;        /* seconds, 0 = none */
    int     wakeup_on_use; /* trailing '?': not before first use */
    int     maxproc;       /* resolved: '-' gives default_process_limit; 0 = unlimited */
    char   *command;       /* program name, e.g. "smtpd" */
    argv_t *args;          /* arguments after the command, as written (-o pairs kept) */
    int     line;          /* line number where the entry starts */
} master_entry_t;

typedef struct master_table {
    master_entry_t **entries;
    size_t           count;
} master_table_t;

/* Parses the file. On error returns NULL and puts "path, line N: why" in err.
 * default_process_limit resolves '-' in the maxproc column. */
master_table_t *mastercf_load(const char *path, int default_process_limit, char **err);
void mastercf_free(master_table_t *t);

#endif
