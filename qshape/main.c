/* qshape: prints the domain and age distribution of queued mail.
 * qshape [-s] [-p] [-m min_subdomains] [-b bucket_count] [-t bucket_time]
 * [-l] [-w terminal_width] [-N batch_msg_count] [-n batch_top_domains]
 * [-c config_directory] [queue_name ...]; default queues incoming and
 * active, relative names under queue_directory. Ages come from the T
 * arrival record; only complete files with a recipient still to do count,
 * as in Postfix's qshape. On a terminal only the top -n rows are shown
 * (no interim refreshes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "qshape.h"
#include "queue_info.h"
#include "queue_scan.h"

#define DEFAULT_CONFIG_DIR  "/etc/postfix"
#define WIDTH_MIN           80
#define TOP_DEFAULT_TTY     20

static const char usage_text[] =
    "usage: qshape [ -s ] [ -p ] [ -m <min_subdomains> ] [ -l ] "
    "[ -b <bucket_count> ] [ -t <bucket_time> ] [ -w <terminal_width> ] "
    "[ -N <batch_msg_count> ] [ -n <batch_top_domains> ] "
    "[ -c <config_directory> ] [ <queue_name> ... ]";

/* A positive number, or -1: Postfix's qshape ignores other values. */
static long positive(const char *text)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != 0 || value <= 0)
        return -1;
    return value;
}

/* Permission bits of a file qshape counts: complete, and not group or
 * world writable or executable (that also leaves force-expired ones out). */
static int countable_mode(mode_t mode)
{
    return (mode & 0733) == 0700;
}

static void count_file(shape_t *shape, const char *path, const struct stat *st,
                       int by_sender, time_t now)
{
    queue_info_t info;
    int bucket;
    size_t i;

    if (!countable_mode(st->st_mode))
        return;
    if (queue_info_read(path, &info) < 0) {
        if (errno != ENOENT && errno != EINVAL)
            msg_warn("%s: %m", path);
        return;
    }
    if (info.rcpt_todo > 0) {
        bucket = shape_bucket(shape, (long) now - info.arrival);
        if (by_sender) {
            shape_add(shape, info.sender, bucket);
        } else {
            for (i = 0; i < info.rcpt_count; i++)
                if (!info.rcpts[i].done)
                    shape_add(shape, info.rcpts[i].address, bucket);
        }
    }
    queue_info_free(&info);
}

static void count_queue(shape_t *shape, const char *queue, int by_sender, time_t now)
{
    queue_scan_t *scan = queue_scan_open(queue, 0);
    queue_scan_entry_t entry;

    if (queue_scan_error(scan) != 0) {
        errno = queue_scan_error(scan);
        msg_warn("%s: %m", queue);
    }
    while (queue_scan_next(scan, &entry))
        count_file(shape, entry.path, &entry.st, by_sender, now);
    queue_scan_close(scan);
}

static void enter_queue_directory(const char *dir)
{
    if (dir == NULL)
        dir = getenv("MAIL_CONFIG");
    if (dir == NULL || *dir == 0)
        dir = DEFAULT_CONFIG_DIR;
    config_load(dir);
    if (chdir(config_str("queue_directory")) < 0)
        msg_fatal("chdir(%s): %m", config_str("queue_directory"));
}

int main(int argc, char **argv)
{
    static const char *const default_queues[] = { "incoming", "active", NULL };
    shape_opts_t opts = { 10, 5, 0, 0, 5, WIDTH_MIN, 0 };
    const char *dir = NULL;
    const char *const *queues = default_queues;
    long top = -1, v;
    int by_sender = 0, c, i;
    shape_t *shape;
    time_t now;

    log_init("qshape", LOG_FLAG_STDERR);
    while ((c = getopt(argc, argv, "lhc:psw:b:t:m:n:N:")) != -1) {
        switch (c) {
        case 'l': opts.linear = 1; break;
        case 'c': dir = optarg; break;
        case 'p': opts.parents = 1; break;
        case 's': by_sender = 1; break;
        case 'w': if ((v = positive(optarg)) > WIDTH_MIN) opts.width = v; break;
        case 'b': if ((v = positive(optarg)) > 0 && v < 1000) opts.buckets = (int) v; break;
        case 't': if ((v = positive(optarg)) > 0) opts.tick = v; break;
        case 'm': if ((v = positive(optarg)) > 0) opts.min_sub = v; break;
        case 'n': top = positive(optarg); break;
        case 'N': break;                    /* interim results: not shown */
        default: msg_fatal("%s", usage_text);
        }
    }
    if (optind < argc)
        queues = (const char *const *) argv + optind;
    for (i = 0; queues[i] != NULL; i++) {
        if (queues[i][0] != '/') {
            enter_queue_directory(dir);
            break;
        }
    }
    if (isatty(STDOUT_FILENO))
        opts.top = (size_t) (top > 0 ? top : TOP_DEFAULT_TTY);
    shape = shape_new(&opts);
    now = time(NULL);
    for (i = 0; queues[i] != NULL; i++)
        count_queue(shape, queues[i], by_sender, now);
    shape_print(shape);
    shape_free(shape);
    return 0;
}
