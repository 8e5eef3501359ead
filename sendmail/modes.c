/* modes: every sendmail mode except posting a message. Like Postfix's
 * sendmail, each one hands over to the program that does the work:
 * postqueue (-bp, -q, -qR, -qI), smtpd -S (-bs), postfix start (-bd);
 * -bi rebuilds the alias databases in this process. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "match_list.h"
#include "sendmail.h"
#include "table_build.h"

/* Replaces this process with DIR/program args... (DIR from the parameter
 * dir_param); never returns. */
static void run_program(const char *dir_param, argv_t *args) __attribute__((noreturn));
static void run_program(const char *dir_param, argv_t *args)
{
    buf_t path = BUF_INIT;

    buf_printf(&path, "%s/%s", config_str(dir_param), args->argv[0]);
    msg_debug("running %s", path.data);
    execv(path.data, args->argv);
    msg_fatal_status(EX_UNAVAILABLE, "execute %s: %m", path.data);
}

/* "postqueue [-c dir] FLAG [value] [-v...]". */
static void run_postqueue(const sm_opts_t *o, const char *flag, const char *value)
    __attribute__((noreturn));
static void run_postqueue(const sm_opts_t *o, const char *flag, const char *value)
{
    argv_t *args = argv_new();

    argv_add(args, "postqueue");
    if (o->config_dir != NULL) {
        argv_add(args, "-c");
        argv_add(args, o->config_dir);
    }
    argv_add(args, flag);
    if (value != NULL)
        argv_add(args, value);
    for (int i = 0; i < o->verbose; i++)
        argv_add(args, "-v");
    run_program("command_directory", args);
}

static void no_recipients(const sm_opts_t *o, const char *what)
{
    if (o->recipients[0] != NULL)
        msg_fatal_status(EX_USAGE, "%s requires no recipient", what);
}

/* authorized_submit_users, for -bs (postdrop enforces it for -bm). */
static void check_submit_acl(void)
{
    const char *name = sm_login_name();
    match_list_t *acl = match_list_config("authorized_submit_users", MATCH_LIST_DOMAIN);
    int found = match_list_domain(acl, name);

    match_list_free(acl);
    if (found == MATCH_ERROR)
        msg_fatal_status(EX_TEMPFAIL, "authorized_submit_users: table lookup error");
    if (found != MATCH_FOUND)
        msg_fatal_status(EX_NOPERM, "User %s(%ld) is not allowed to submit mail",
                         name, (long) getuid());
}

static void run_smtpd(const sm_opts_t *o) __attribute__((noreturn));
static void run_smtpd(const sm_opts_t *o)
{
    argv_t *args = argv_new();

    no_recipients(o, "stand-alone mode");
    check_submit_acl();
    argv_add(args, "smtpd");
    argv_add(args, "-S");
    for (int i = 0; i < o->verbose; i++)
        argv_add(args, "-v");
    /* smtpd reads MAIL_CONFIG, which -C has set. */
    run_program("daemon_directory", args);
}

static void run_postfix_start(const sm_opts_t *o) __attribute__((noreturn));
static void run_postfix_start(const sm_opts_t *o)
{
    argv_t *args = argv_new();

    no_recipients(o, "daemon mode");
    argv_add(args, "postfix");
    if (o->config_dir != NULL) {
        argv_add(args, "-c");
        argv_add(args, o->config_dir);
    }
    for (int i = 0; i < o->verbose; i++)
        argv_add(args, "-v");
    argv_add(args, "start");
    run_program("command_directory", args);
}

/* -oA names the alias database for this run only. */
static int build_alias_db(const char *alias_db)
{
    argv_t *specs = argv_split_list(alias_db);
    const char *default_type = config_str("default_database_type");
    buf_t err = BUF_INIT;

    for (size_t i = 0; i < specs->argc; i++)
        if (table_build(specs->argv[i], default_type, 0, table_parse_alias, &err) < 0)
            msg_fatal("%s", buf_str(&err));
    buf_release(&err);
    argv_free(specs);
    return 0;
}

static void run_newaliases(const sm_opts_t *o) __attribute__((noreturn));
static void run_newaliases(const sm_opts_t *o)
{
    argv_t *args;

    no_recipients(o, "alias initialization mode");
    if (o->alias_db != NULL)
        exit(build_alias_db(o->alias_db));
    /* The same code as the newaliases command; it reads MAIL_CONFIG,
     * which -C has set. */
    args = argv_new();
    argv_add(args, "newaliases");
    for (int i = 0; i < o->verbose; i++)
        argv_add(args, "-v");
    optind = 0;                 /* a fresh getopt scan of the new vector */
    exit(table_newaliases((int) args->argc, args->argv));
}

void sm_run_mode(const sm_opts_t *o)
{
    switch (o->mode) {
    case SM_MODE_ENQUEUE:
        /* Only the flush requests get here. */
        if (o->flush_site != NULL) {
            no_recipients(o, "flush site");
            run_postqueue(o, "-s", o->flush_site);
        }
        no_recipients(o, "flush queue_id");
        run_postqueue(o, "-i", o->flush_id);
    case SM_MODE_MAILQ:
        no_recipients(o, "display queue mode");
        run_postqueue(o, "-p", NULL);
    case SM_MODE_FLUSHQ:
        no_recipients(o, "flush queue mode");
        run_postqueue(o, "-f", NULL);
    case SM_MODE_USER:
        run_smtpd(o);
    case SM_MODE_DAEMON:
        run_postfix_start(o);
    case SM_MODE_NEWALIAS:
        run_newaliases(o);
    case SM_MODE_VERIFY:
        msg_fatal_status(EX_USAGE, "unsupported: -bv");
    case SM_MODE_IGNORE:
        exit(0);
    }
    msg_panic("unknown operation mode: %d", (int) o->mode);
}
