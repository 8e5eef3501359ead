/* table_command: the command line shared by postmap and postalias (they
 * differ only in the source syntax), and newaliases. Output goes to stdout,
 * problems to stderr as "postmap: fatal: ...". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "config.h"
#include "log.h"
#include "stream.h"
#include "table.h"
#include "table_build.h"

typedef struct options {
    int         build_flags;        /* TABLE_BUILD_* */
    const char *config_dir;
    argv_t     *delete_keys;
    const char *query;
    int         dump;
    int         incremental;
} options_t;

static void usage(const char *progname)
{
    msg_fatal("usage: %s [-Nfinorsvw] [-c config_dir] [-d key] [-q key] [map_type:]file...",
              progname);
}

static void check_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal("write to standard output: %s", strerror(errno));
}

/* Reads one key a line from in; 1 with a key, 0 at the end. */
static int next_key(stream_t *in, buf_t *line)
{
    int r;

    do {
        buf_reset(line);
        r = stream_get_line(in, line, TABLE_LINE_MAX + 1);
        if (r == STREAM_LINE_PART)
            msg_fatal("stdin: key too long (more than %d bytes)", TABLE_LINE_MAX);
        if (r == STREAM_LINE_ERR)
            msg_fatal("read stdin: %s", strerror(errno));
        if (line->len && line->data[line->len - 1] == '\n')
            buf_truncate(line, line->len - 1);
        if (line->len && line->data[line->len - 1] == '\r')
            buf_truncate(line, line->len - 1);
    } while (line->len == 0 && r == STREAM_LINE);
    return line->len > 0;
}

/* Reads keys, one a line, from stdin into keys. */
static void read_keys(argv_t *keys)
{
    stream_t *in = stream_fdopen(0);
    buf_t line = BUF_INIT;

    while (next_key(in, &line))
        argv_add(keys, buf_str(&line));
    buf_release(&line);
    stream_free(in);
}

/* The first table that has the key answers: 1 found, 0 not. */
static int query_key(table_t **tables, int ntables, const char *key, int with_key)
{
    buf_t value = BUF_INIT;
    int found = 0;

    for (int i = 0; i < ntables && !found; i++) {
        int r = table_get(tables[i], key, &value);

        if (r == TABLE_ERROR)
            msg_fatal("table %s: query error for \"%s\"", table_spec(tables[i]), key);
        if (r != TABLE_FOUND)
            continue;
        if (with_key)
            printf("%s\t%s\n", key, buf_str(&value));
        else
            printf("%s\n", buf_str(&value));
        found = 1;
    }
    buf_release(&value);
    return found;
}

/* -q: exit 0 found, 1 not. "-q -" answers each key of stdin as it comes,
 * so a long-running reader sees the tables change. */
static int do_query(const options_t *o, char **files, int nfiles, const char *default_type)
{
    table_t **tables = xcalloc((size_t) nfiles, sizeof(*tables));
    buf_t spec = BUF_INIT, err = BUF_INIT, key = BUF_INIT;
    int found = 0, flags = (o->build_flags & TABLE_BUILD_NOFOLD) ? 0 : TABLE_FLAG_FOLD;

    for (int i = 0; i < nfiles; i++) {
        table_spec_with_type(&spec, files[i], default_type);
        if ((tables[i] = table_open(buf_str(&spec), flags, &err)) == NULL)
            msg_fatal("%s", buf_str(&err));
    }
    if (strcmp(o->query, "-") == 0) {
        stream_t *in = stream_fdopen(0);

        while (next_key(in, &key)) {
            found |= query_key(tables, nfiles, buf_str(&key), 1);
            check_stdout();
        }
        stream_free(in);
    } else {
        found = query_key(tables, nfiles, o->query, 0);
    }
    check_stdout();
    for (int i = 0; i < nfiles; i++)
        table_close(tables[i]);
    free(tables);
    buf_release(&spec);
    buf_release(&err);
    buf_release(&key);
    return found ? 0 : 1;
}

static void print_entry(const char *key, const char *value, void *ctx)
{
    (void) ctx;
    printf("%s\t%s\n", key, value);
}

static int do_dump(char **files, int nfiles, const char *default_type)
{
    buf_t err = BUF_INIT;

    for (int i = 0; i < nfiles; i++)
        if (table_db_walk(files[i], default_type, print_entry, NULL, &err) < 0)
            msg_fatal("%s", buf_str(&err));
    check_stdout();
    buf_release(&err);
    return 0;
}

/* -d: exit 0 when something was removed, 1 when no table had the key. */
static int do_delete(const options_t *o, char **files, int nfiles, const char *default_type)
{
    argv_t *keys = argv_new();
    buf_t err = BUF_INIT;
    size_t total = 0, deleted;

    for (size_t i = 0; i < o->delete_keys->argc; i++) {
        if (strcmp(o->delete_keys->argv[i], "-") == 0)
            read_keys(keys);
        else
            argv_add(keys, o->delete_keys->argv[i]);
    }
    for (int i = 0; i < nfiles; i++) {
        if (table_build_delete(files[i], default_type, o->build_flags, keys, &deleted, &err) < 0)
            msg_fatal("%s", buf_str(&err));
        total += deleted;
    }
    argv_free(keys);
    buf_release(&err);
    return total ? 0 : 1;
}

static int do_build(const options_t *o, char **files, int nfiles, const char *default_type,
                    table_parse_fn parse)
{
    buf_t err = BUF_INIT;

    for (int i = 0; i < nfiles; i++) {
        int r = o->incremental
            ? table_build_add(files[i], default_type, o->build_flags, parse, 0, "stdin", &err)
            : table_build(files[i], default_type, o->build_flags, parse, &err);

        if (r < 0)
            msg_fatal("%s", buf_str(&err));
    }
    buf_release(&err);
    return 0;
}

static void parse_options(int argc, char **argv, const char *progname, options_t *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    o->delete_keys = argv_new();
    while ((c = getopt(argc, argv, "Nc:d:finopq:rsuvw")) != -1) {
        switch (c) {
        case 'N': o->build_flags |= TABLE_BUILD_NUL; break;
        case 'n': o->build_flags &= ~TABLE_BUILD_NUL; break;
        case 'c': o->config_dir = optarg; break;
        case 'd': argv_add(o->delete_keys, optarg); break;
        case 'f': o->build_flags |= TABLE_BUILD_NOFOLD; break;
        case 'i': o->incremental = 1; break;
        case 'q': o->query = optarg; break;
        case 'r': o->build_flags |= TABLE_BUILD_DUP_REPLACE; break;
        case 'w': o->build_flags |= TABLE_BUILD_DUP_IGNORE; break;
        case 's': o->dump = 1; break;
        case 'v': msg_verbose++; break;
        case 'o': case 'p': case 'u': break;    /* privileges, umask: nothing to do */
        default: usage(progname);
        }
    }
    if ((o->query != NULL) + (o->dump != 0) + (o->delete_keys->argc > 0) > 1)
        msg_fatal("specify only one of -q, -d or -s");
}

int table_command(int argc, char **argv, const char *progname, table_parse_fn parse)
{
    options_t o;
    const char *default_type;
    int status;

    parse_options(argc, argv, progname, &o);
    if (optind >= argc)
        usage(progname);
    config_load(o.config_dir);
    default_type = config_str("default_database_type");
    if (o.query)
        status = do_query(&o, argv + optind, argc - optind, default_type);
    else if (o.dump)
        status = do_dump(argv + optind, argc - optind, default_type);
    else if (o.delete_keys->argc)
        status = do_delete(&o, argv + optind, argc - optind, default_type);
    else
        status = do_build(&o, argv + optind, argc - optind, default_type, parse);
    argv_free(o.delete_keys);
    return status;
}

int table_newaliases(int argc, char **argv)
{
    const char *config_dir = NULL;
    const char *default_type;
    argv_t *specs;
    buf_t err = BUF_INIT;
    int c;

    /* newaliases is "sendmail -bi": take sendmail's -C and ignore the rest. */
    while ((c = getopt(argc, argv, "C:c:v")) != -1) {
        if (c == 'C' || c == 'c')
            config_dir = optarg;
        else if (c == 'v')
            msg_verbose++;
    }
    config_load(config_dir);
    default_type = config_str("default_database_type");
    specs = config_list("alias_database");
    for (size_t i = 0; i < specs->argc; i++)
        if (table_build(specs->argv[i], default_type, 0, table_parse_alias, &err) < 0)
            msg_fatal("%s", buf_str(&err));
    argv_free(specs);
    buf_release(&err);
    return 0;
}
