/* sendmail: the Sendmail-compatible command. One binary that behaves by
 * name (mailq = -bp, newaliases = -bi); it is not set-uid or set-gid: a
 * message goes through postdrop, everything else through other commands. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "config.h"
#include "delivery.h"
#include "log.h"
#include "sendmail.h"

#define SM_ENVID_MAX 100

static const char *progname = "sendmail";

/* Open 0, 1 and 2 on /dev/null when a caller closed them, so that no file
 * we open later becomes "standard output" by accident. */
static void standard_fds(void)
{
    struct stat st;

    for (int fd = 0; fd < 3; fd++) {
        if (fstat(fd, &st) == 0 || errno != EBADF)
            continue;
        if (open("/dev/null", O_RDWR) != fd)
            msg_fatal_status(EX_OSERR, "open /dev/null: %m");
    }
}

/* A set-uid root sendmail would hand root's rights to anyone who can run
 * it; give them back before reading anything. */
static void refuse_setuid(void)
{
    if (geteuid() != 0 || getuid() == 0)
        return;
    msg_warn("the sendmail command has set-uid root file permissions");
    msg_warn("or the command is run from a set-uid root process");
    msg_warn("the sendmail command must be installed without set-uid root file permissions");
    if (setgid(getgid()) < 0 || setuid(getuid()) < 0)
        msg_fatal_status(EX_OSERR, "drop set-uid privileges: %m");
}

const char *sm_login_name(void)
{
    static char *name;
    struct passwd *pw;

    if (name != NULL)
        return name;
    pw = getpwuid(getuid());
    if (pw == NULL || pw->pw_name == NULL || *pw->pw_name == 0)
        msg_fatal_status(EX_OSERR, "no login name found for user ID %lu",
                         (unsigned long) getuid());
    name = xstrdup(pw->pw_name);
    return name;
}

/* -N never | success,delay,failure; 0 when the value is bad. */
static long parse_notify(const char *value)
{
    argv_t *words = argv_split(value, ", \t");
    long mask = 0;

    for (size_t i = 0; i < words->argc; i++) {
        const char *w = words->argv[i];

        if (strcasecmp(w, "never") == 0)
            mask |= DSN_NOTIFY_NEVER;
        else if (strcasecmp(w, "success") == 0)
            mask |= DSN_NOTIFY_SUCCESS;
        else if (strcasecmp(w, "delay") == 0)
            mask |= DSN_NOTIFY_DELAY;
        else if (strcasecmp(w, "failure") == 0)
            mask |= DSN_NOTIFY_FAILURE;
        else
            mask = -1;
        if (mask < 0)
            break;
    }
    argv_free(words);
    /* NEVER goes alone. */
    if (mask <= 0 || ((mask & DSN_NOTIFY_NEVER) && mask != DSN_NOTIFY_NEVER))
        return 0;
    return mask;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
            return 0;
    return 1;
}

static void option_b(sm_opts_t *o, const char *arg)
{
    switch (*arg) {
    case 'd': case 'l': o->mode = SM_MODE_DAEMON; break;
    case 'h': case 'H': o->mode = SM_MODE_IGNORE; break;
    case 'i': o->mode = SM_MODE_NEWALIAS; break;
    case 'm': o->mode = SM_MODE_ENQUEUE; break;
    case 'p': o->mode = SM_MODE_MAILQ; break;
    case 's': o->mode = SM_MODE_USER; break;
    case 'v': o->mode = SM_MODE_VERIFY; break;
    default:
        msg_fatal_status(EX_USAGE, "unsupported: -b%c", *arg);
    }
}

static void option_o(sm_opts_t *o, const char *arg)
{
    switch (*arg) {
    case 'i':
        o->dot_ends = 0;
        break;
    case 'A':
        if (arg[1] == 0)
            msg_fatal_status(EX_USAGE, "-oA requires pathname");
        o->alias_db = arg + 1;
        break;
    default:
        msg_debug("-o%c option ignored", *arg);
        break;
    }
}

static void option_q(sm_opts_t *o, const char *arg)
{
    if (*arg >= '0' && *arg <= '9') {
        o->mode = SM_MODE_IGNORE;           /* a queue run interval: daemon mode only */
    } else if (*arg == 'R') {
        if (arg[1] == 0)
            msg_fatal_status(EX_USAGE, "specify: -qRsitename");
        o->flush_site = arg + 1;
    } else if (*arg == 'I') {
        if (arg[1] == 0)
            msg_fatal_status(EX_USAGE, "specify: -qIqueueid");
        o->flush_id = arg + 1;
    } else {
        msg_fatal_status(EX_USAGE, "-q%c is not implemented", *arg);
    }
}

static void option_value(sm_opts_t *o, int c, const char *arg)
{
    switch (c) {
    case 'B':
        if (strcmp(arg, "8BITMIME") == 0)
            o->encoding = "8bit";
        else if (strcmp(arg, "7BIT") == 0)
            o->encoding = "7bit";
        else
            msg_fatal_status(EX_USAGE, "-B option needs 8BITMIME or 7BIT");
        break;
    case 'C': o->config_dir = arg; break;
    case 'F': o->full_name = arg; break;
    case 'f': case 'r': o->sender = arg; break;
    case 'N':
        if ((o->dsn_notify = parse_notify(arg)) == 0)
            msg_warn("bad -N option value -- ignored");
        break;
    case 'R':
        if (strcasecmp(arg, "full") == 0)
            o->dsn_ret = 1;
        else if (strcasecmp(arg, "hdrs") == 0)
            o->dsn_ret = 2;
        else
            msg_warn("bad -R option value -- ignored");
        break;
    case 'V':
        if (strlen(arg) > SM_ENVID_MAX)
            msg_warn("too long -V option value -- ignored");
        else if (!printable(arg))
            msg_warn("bad syntax in -V option value -- ignored");
        else
            o->dsn_envid = arg;
        break;
    case 'X':
        /* -XV asks for VERP, which the queue does not carry yet. */
        msg_fatal_status(EX_USAGE, "unsupported: -X%c", *arg);
    case 'b': option_b(o, arg); break;
    case 'o': option_o(o, arg); break;
    case 'q': option_q(o, arg); break;
    default:
        msg_debug("-%c option ignored", c);   /* -A -L -O -U -c -e -h -m -n -p -x */
        break;
    }
}

static void parse_options(sm_opts_t *o, int argc, char **argv)
{
    /* '+': options end at the first recipient, as with Sendmail. */
    static const char optstring[] = "+A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx";
    int c;

    opterr = 0;
    optind = 1;
    while (optind < argc) {
        /* "-q" alone has no argument, which getopt cannot say for an
         * option that takes one elsewhere ("-qR site"). */
        if (strcmp(argv[optind], "-q") == 0) {
            o->mode = SM_MODE_FLUSHQ;
            optind++;
            continue;
        }
        if ((c = getopt(argc, argv, optstring)) == -1)
            break;
        switch (c) {
        case 'G': o->rewrite_context = "remote"; break;
        case 'I': o->mode = SM_MODE_NEWALIAS; break;
        case 'i': o->dot_ends = 0; break;
        case 't': o->extract = 1; break;
        case 'v': o->verbose++; msg_verbose++; break;
        case '?':
            msg_fatal_status(EX_USAGE, "usage: %s [options]", progname);
        default:
            option_value(o, c, optarg);
            break;
        }
    }
    /* With an empty argv (argc 0), argv itself is the empty list. */
    o->recipients = argv + (optind <= argc ? optind : argc);
}

/* -C names the configuration directory, or main.cf inside it. Exported
 * so that postdrop, postqueue and smtpd -S read the same one. */
static void use_config_dir(sm_opts_t *o)
{
    static char *dir;           /* for the life of the process */
    size_t len;

    if (o->config_dir == NULL)
        return;
    dir = xstrdup(o->config_dir);
    len = strlen(dir);
    if (len >= 8 && strcmp(dir + len - 8, "/main.cf") == 0)
        dir[len - 8] = 0;
    else if (strcmp(dir, "main.cf") == 0)
        dir[0] = '.', dir[1] = 0;
    if (setenv("MAIL_CONFIG", dir, 1) < 0)
        msg_fatal_status(EX_UNAVAILABLE, "setenv MAIL_CONFIG: %m");
    o->config_dir = dir;
}

/* The mail log when we may write it; syslog otherwise (an ordinary
 * user cannot append to a root-owned maillog_file). */
static void configure_logging(void)
{
    const char *file = config_str("maillog_file");

    if (*file && access(file, W_OK) < 0)
        file = "";
    log_configure(config_str("syslog_name"), file);
}

static void check_conflicts(const sm_opts_t *o)
{
    if (o->extract && o->mode != SM_MODE_ENQUEUE)
        msg_fatal_status(EX_USAGE, "-t can be used only in delivery mode");
    if (o->flush_site && o->mode != SM_MODE_ENQUEUE)
        msg_fatal_status(EX_USAGE, "-qR can be used only in delivery mode");
    if (o->flush_id && o->mode != SM_MODE_ENQUEUE)
        msg_fatal_status(EX_USAGE, "-qI can be used only in delivery mode");
}

int main(int argc, char **argv)
{
    sm_opts_t o;
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;

    if (argc > 0)
        progname = slash && slash[1] ? slash + 1 : argv[0];
    umask(022);
    log_init(progname, LOG_FLAG_STDERR | LOG_FLAG_SYSLOG);
    standard_fds();
    refuse_setuid();

    memset(&o, 0, sizeof(o));
    o.dot_ends = 1;
    o.rewrite_context = "local";
    if (strcmp(progname, "mailq") == 0)
        o.mode = SM_MODE_MAILQ;
    else if (strcmp(progname, "newaliases") == 0)
        o.mode = SM_MODE_NEWALIAS;
    else
        o.mode = SM_MODE_ENQUEUE;
    parse_options(&o, argc, argv);

    use_config_dir(&o);
    config_load(NULL);
    configure_logging();
    check_conflicts(&o);

    if (o.mode == SM_MODE_ENQUEUE && o.flush_site == NULL && o.flush_id == NULL) {
        sm_enqueue(&o);
        return 0;
    }
    sm_run_mode(&o);
}
