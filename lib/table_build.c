/* table_build: the operations of postmap and postalias on a database:
 * build from the source file, add from a stream, delete keys. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "table_impl.h"

typedef struct located {
    buf_t type;
    buf_t source;
    buf_t db_path;
} located_t;

static int locate(located_t *l, const char *spec, const char *default_type, buf_t *err)
{
    buf_init(&l->type);
    buf_init(&l->source);
    buf_init(&l->db_path);
    return table_db_locate(spec, default_type, &l->type, &l->source, &l->db_path, err);
}

static void located_release(located_t *l)
{
    buf_release(&l->type);
    buf_release(&l->source);
    buf_release(&l->db_path);
}

/* Feeds every logical line of src to the writer; bad lines are warnings. */
static int feed(table_writer_t *w, table_source_t *src, table_parse_fn parse, buf_t *err)
{
    buf_t line = BUF_INIT, key = BUF_INIT, value = BUF_INIT;
    const char *why;
    int r;

    while ((r = table_source_next(src, &line, err)) > 0) {
        if (parse(buf_str(&line), &key, &value, &why) < 0)
            msg_warn("%s, line %d: %s", table_source_name(src), table_source_lineno(src), why);
        else
            table_writer_put(w, buf_str(&key), buf_str(&value));
    }
    buf_release(&line);
    buf_release(&key);
    buf_release(&value);
    return r;
}

static int fill_and_commit(table_writer_t *w, table_source_t *src, table_parse_fn parse,
                           buf_t *err)
{
    int rc = feed(w, src, parse, err) < 0 ? -1 : table_writer_commit(w, err);

    table_writer_free(w);
    return rc;
}

int table_build(const char *spec, const char *default_type, int flags,
                table_parse_fn parse, buf_t *err)
{
    located_t l;
    table_source_t *src = NULL;
    table_writer_t *w;
    struct stat st;
    int rc = -1;

    if (locate(&l, spec, default_type, err) == 0
        && (src = table_source_open(buf_str(&l.source), err)) != NULL) {
        if (stat(buf_str(&l.source), &st) < 0) {
            buf_printf(err, "stat %s: %s", buf_str(&l.source), strerror(errno));
        } else {
            w = table_writer_open(buf_str(&l.type), buf_str(&l.source), buf_str(&l.db_path),
                                  flags, 0, &st, err);
            if (w)
                rc = fill_and_commit(w, src, parse, err);
        }
    }
    table_source_close(src);
    located_release(&l);
    return rc;
}

int table_build_add(const char *spec, const char *default_type, int flags,
                    table_parse_fn parse, int fd, const char *fd_name, buf_t *err)
{
    located_t l;
    table_writer_t *w;
    int rc = -1;

    if (locate(&l, spec, default_type, err) == 0) {
        w = table_writer_open(buf_str(&l.type), buf_str(&l.source), buf_str(&l.db_path),
                              flags, 1, NULL, err);
        if (w) {
            table_source_t *src = table_source_fdopen(fd, fd_name);

            rc = fill_and_commit(w, src, parse, err);
            table_source_close(src);
        }
    }
    located_release(&l);
    return rc;
}

int table_build_delete(const char *spec, const char *default_type, int flags,
                       const argv_t *keys, size_t *deleted, buf_t *err)
{
    located_t l;
    table_writer_t *w;
    struct stat st;
    int rc = -1;

    *deleted = 0;
    if (locate(&l, spec, default_type, err) == 0) {
        if (stat(buf_str(&l.db_path), &st) < 0) {
            buf_printf(err, "open database %s: %s", buf_str(&l.db_path), strerror(errno));
        } else if ((w = table_writer_open(buf_str(&l.type), buf_str(&l.source),
                                          buf_str(&l.db_path), flags, 1, NULL, err)) != NULL) {
            for (size_t i = 0; i < keys->argc; i++)
                *deleted += (size_t) table_writer_delete(w, keys->argv[i]);
            /* Nothing removed: leave the file as it is. */
            rc = *deleted ? table_writer_commit(w, err) : 0;
            table_writer_free(w);
        }
    }
    located_release(&l);
    return rc;
}
