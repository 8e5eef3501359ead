/* postcat: shows queue files. postcat [-bdehoqrv] [-c config_dir]
 * [-s offset] [files...]; with -q the arguments are queue IDs, looked for
 * in maildrop, incoming, active, deferred, hold and saved. Without -b, -e
 * or -h it prints all three (-beh). Without files it reads stdin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "postcat.h"
#include "queue_file.h"
#include "queue_info.h"

#define DEFAULT_CONFIG_DIR "/etc/postfix"
#define STDIN_MAX          (1UL << 30)
#define READ_CHUNK         65536

static const char usage_text[] =
    "usage: postcat [-b (body)] [-c config_dir] [-d (decimal record type)] "
    "[-e (envelope)] [-h (header)] [-o (offsets)] [-q (access queue)] "
    "[-r (raw record dump)] [-s offset] [-v] [files...]";

static const char *const search_queues[] = {
    QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_SAVED,
};

static void load_config(const char *dir)
{
    const char *maillog;

    if (dir == NULL)
        dir = getenv("MAIL_CONFIG");
    if (dir == NULL || *dir == 0)
        dir = DEFAULT_CONFIG_DIR;
    config_load(dir);
    maillog = config_str("maillog_file");
    if (*maillog != 0 && access(maillog, W_OK) < 0)
        maillog = "";
    log_configure(config_str("syslog_name"), maillog);
}

static void print_view(const char *label, const queue_view_t *view, size_t start, int flags)
{
    if (start > view->size)
        msg_fatal("%s: offset %zu is past the end of the file", label, start);
    postcat_print(label, view->data, view->size, start, flags);
}

static void cat_file(const char *path, size_t start, int flags)
{
    queue_view_t view;

    if (queue_view_open(path, &view) < 0)
        msg_fatal("open %s: %m", path);
    print_view(path, &view, start, flags);
    queue_view_close(&view);
}

/* The first queue that holds the ID; "deferred/5/501F2A724A3" names it. */
static void cat_queue_id(const char *id, size_t start, int flags)
{
    buf_t path = BUF_INIT;
    queue_view_t view;
    int error = ENOENT;
    size_t i;

    if (!queue_id_valid(id)) {
        errno = ENOENT;
        msg_fatal("open queue file %s: %m", id);
    }
    for (i = 0; i < sizeof(search_queues) / sizeof(search_queues[0]); i++) {
        queue_path(&path, search_queues[i], id);
        if (queue_view_open(path.data, &view) == 0) {
            print_view(path.data, &view, start, flags);
            queue_view_close(&view);
            buf_release(&path);
            return;
        }
        if (errno != ENOENT)
            error = errno;
    }
    errno = error;
    msg_fatal("open queue file %s: %m", id);
}

static void cat_stdin(size_t start, int flags)
{
    buf_t data = BUF_INIT;
    char chunk[READ_CHUNK];
    ssize_t n;

    while ((n = read(0, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            msg_fatal("read standard input: %m");
        }
        if (data.len + (size_t) n > STDIN_MAX)
            msg_fatal("standard input: more than %lu bytes", STDIN_MAX);
        buf_append(&data, chunk, (size_t) n);
    }
    if (start > data.len)
        msg_fatal("standard input: offset %zu is past the end", start);
    postcat_print("standard input", buf_str(&data), data.len, start, flags);
    buf_release(&data);
}

static size_t parse_offset(const char *text)
{
    char *end;
    unsigned long value;

    errno = 0;
    value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != 0 || *text == '-')
        msg_fatal("invalid offset: %s", text);
    return (size_t) value;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int flags = 0, by_id = 0, c;
    size_t start = 0;

    log_init("postcat", LOG_FLAG_STDERR | LOG_FLAG_SYSLOG);
    while ((c = getopt(argc, argv, "bc:dehoqrs:v")) != -1) {
        switch (c) {
        case 'b': flags |= PC_PRINT_BODY; break;
        case 'c': dir = optarg; break;
        case 'd': flags |= PC_PRINT_DECIMAL; break;
        case 'e': flags |= PC_PRINT_ENV; break;
        case 'h': flags |= PC_PRINT_HEADER; break;
        case 'o': flags |= PC_PRINT_OFFSET; break;
        case 'q': by_id = 1; break;
        case 'r': flags |= PC_RAW; break;
        case 's': start = parse_offset(optarg); break;
        case 'v': msg_verbose++; break;
        default: msg_fatal("%s", usage_text);
        }
    }
    if ((flags & (PC_PRINT_ENV | PC_PRINT_HEADER | PC_PRINT_BODY)) == 0)
        flags |= PC_PRINT_ENV | PC_PRINT_HEADER | PC_PRINT_BODY;
    load_config(dir);
    if (by_id) {
        if (optind == argc)
            msg_fatal("%s", usage_text);
        /* Queue paths are relative to the queue directory, as in the markers. */
        if (chdir(config_str("queue_directory")) < 0)
            msg_fatal("chdir %s: %m", config_str("queue_directory"));
        for (; optind < argc; optind++)
            cat_queue_id(argv[optind], start, flags);
    } else if (optind == argc) {
        cat_stdin(start, flags);
    } else {
        for (; optind < argc; optind++)
            cat_file(argv[optind], start, flags);
    }
    return 0;
}
