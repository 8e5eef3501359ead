/* postqueue: Postfix's queue control for users. postqueue [-c dir] [-v]
 * -f | -i queueid | -j | -p | -s site. Invoked as "mailq" it lists the
 * queue like sendmail -bp. There is no -d (the tutorial's postqueue -d is
 * postsuper -d): it is a usage error, exit 69, as in Postfix. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "postqueue.h"

#define DEFAULT_CONFIG_DIR "/etc/postfix"

static const char usage_text[] =
    "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site";

typedef enum { MODE_NONE, MODE_FLUSH, MODE_FLUSH_ID, MODE_JSON, MODE_LIST, MODE_SITE } mode_t_;

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
    msg_fatal_status(POSTQUEUE_EXIT_FAIL, "%s", usage_text);
}

/* getopt's own message would carry the full path of argv[0]. */
static void bad_option(int opt) __attribute__((noreturn));

static void bad_option(int opt)
{
    fprintf(stderr, "%s: invalid option -- '%c'\n", log_progname(), opt);
    usage();
}

/* The maillog file when this user may write it; syslog otherwise, so
 * that a user's mailq never complains about the log. */
static void configure_logging(void)
{
    const char *maillog = config_str("maillog_file");

    if (*maillog != 0 && access(maillog, W_OK) < 0)
        maillog = "";
    log_configure(config_str("syslog_name"), maillog);
}

static void load_config(const char *dir)
{
    if (dir == NULL)
        dir = getenv("MAIL_CONFIG");
    if (dir == NULL || *dir == 0)
        dir = DEFAULT_CONFIG_DIR;
    config_load(dir);
    configure_logging();
    /* Every queue path below is relative to the queue directory. */
    if (chdir(config_str("queue_directory")) < 0)
        msg_fatal_status(POSTQUEUE_EXIT_FAIL, "chdir %s: %m", config_str("queue_directory"));
}

static void set_mode(mode_t_ *mode, mode_t_ want)
{
    if (*mode != MODE_NONE && *mode != want)
        usage();
    *mode = want;
}

/* mailq: sendmail -bp under another name; -C is sendmail's -c. */
static int mailq_main(int argc, char **argv)
{
    const char *dir = NULL;
    int c;

    opterr = 0;
    while ((c = getopt(argc, argv, "c:C:v")) != -1) {
        switch (c) {
        case 'c':
        case 'C': dir = optarg; break;
        case 'v': msg_verbose++; break;
        default: msg_fatal_status(POSTQUEUE_EXIT_FAIL, "usage: mailq [-C config_dir] [-v]");
        }
    }
    load_config(dir);
    return show_queue(SHOW_FORMAT_TEXT);
}

int main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    const char *name = slash ? slash + 1 : argv[0];
    const char *dir = NULL, *arg = NULL;
    mode_t_ mode = MODE_NONE;
    int c;

    log_init(strcmp(name, "mailq") == 0 ? "mailq" : "postqueue", LOG_FLAG_STDERR | LOG_FLAG_SYSLOG);
    if (strcmp(name, "mailq") == 0)
        return mailq_main(argc, argv);
    opterr = 0;
    while ((c = getopt(argc, argv, ":c:fi:jps:v")) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'f': set_mode(&mode, MODE_FLUSH); break;
        case 'i': set_mode(&mode, MODE_FLUSH_ID); arg = optarg; break;
        case 'j': set_mode(&mode, MODE_JSON); break;
        case 'p': set_mode(&mode, MODE_LIST); break;
        case 's': set_mode(&mode, MODE_SITE); arg = optarg; break;
        case 'v': msg_verbose++; break;
        case ':':
            fprintf(stderr, "%s: option requires an argument -- '%c'\n", log_progname(), optopt);
            usage();
        default: bad_option(optopt);
        }
    }
    if (optind < argc || mode == MODE_NONE)
        usage();
    load_config(dir);
    switch (mode) {
    case MODE_FLUSH: return flush_all();
    case MODE_FLUSH_ID: return flush_one(arg);
    case MODE_JSON: return show_queue(SHOW_FORMAT_JSON);
    case MODE_LIST: return show_queue(SHOW_FORMAT_TEXT);
    case MODE_SITE: return flush_site(arg);
    default: usage();
    }
}
