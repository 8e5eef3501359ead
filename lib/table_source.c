/* table_source: source files of tables (postmap, postalias, texthash,
 * regexp, cidr) read as logical lines, and the key/value line syntaxes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "stream.h"
#include "table_build.h"

struct table_source {
    stream_t *stream;
    char     *name;
    int       own_fd;         /* close the fd at the end */
    int       lineno;         /* physical lines read so far */
    int       start_line;     /* where the last logical line started */
    buf_t     ahead;          /* a line read ahead: it starts the next logical line */
    int       ahead_lineno;
    int       have_ahead;
};

table_source_t *table_source_fdopen(int fd, const char *name)
{
    table_source_t *s = xcalloc(1, sizeof(*s));

    s->stream = stream_fdopen(fd);
    s->name = xstrdup(name);
    buf_init(&s->ahead);
    return s;
}

table_source_t *table_source_open(const char *path, buf_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    table_source_t *s;

    if (fd < 0) {
        buf_printf(err, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    s = table_source_fdopen(fd, path);
    s->own_fd = 1;
    return s;
}

void table_source_close(table_source_t *s)
{
    if (s == NULL)
        return;
    if (s->own_fd)
        stream_close(s->stream);
    else
        stream_free(s->stream);
    buf_release(&s->ahead);
    free(s->name);
    free(s);
}

int table_source_lineno(const table_source_t *s)
{
    return s->start_line;
}

const char *table_source_name(const table_source_t *s)
{
    return s->name;
}

/* One physical line without its newline: 1, 0 at the end, -1 on error. */
static int read_physical(table_source_t *s, buf_t *line, buf_t *err)
{
    int r;

    buf_reset(line);
    r = stream_get_line(s->stream, line, TABLE_LINE_MAX + 1);
    if (r == STREAM_LINE_ERR) {
        buf_printf(err, "read %s: %s", s->name,
                   stream_status(s->stream) == STREAM_TIMEOUT ? "timeout" : strerror(errno));
        return -1;
    }
    if (r == STREAM_LINE_EOF && line->len == 0)
        return 0;
    s->lineno++;
    if (r == STREAM_LINE_PART) {
        buf_printf(err, "%s, line %d: line too long (more than %d bytes)",
                   s->name, s->lineno, TABLE_LINE_MAX);
        return -1;
    }
    if (line->len > 0 && line->data[line->len - 1] == '\n')
        buf_truncate(line, line->len - 1);
    if (memchr(line->data, 0, line->len) != NULL) {
        buf_printf(err, "%s, line %d: line contains a NUL byte", s->name, s->lineno);
        return -1;
    }
    return 1;
}

#define SPACE_CHARS " \t\r\n\f\v"   /* isspace() in the C locale */

/* Drops trailing whitespace of every kind that leading whitespace skips
 * (buf_trim_right keeps \f and \v), as Postfix trims with isspace(). */
static void trim_space_right(buf_t *b)
{
    size_t len = b->len;

    while (len > 0 && b->data[len - 1] != 0 && strchr(SPACE_CHARS, b->data[len - 1]) != NULL)
        len--;
    if (len < b->len)
        buf_truncate(b, len);
}

static int is_blank_or_comment(const char *p)
{
    p += strspn(p, " \t\r\f\v");
    return *p == 0 || *p == '#';
}

static int starts_with_space(const char *p)
{
    return *p == ' ' || *p == '\t';
}

int table_source_next(table_source_t *s, buf_t *line, buf_t *err)
{
    buf_t phys = BUF_INIT;
    int r, have = 0;

    buf_reset(line);
    if (s->have_ahead) {
        buf_set(line, buf_str(&s->ahead));
        s->start_line = s->ahead_lineno;
        s->have_ahead = 0;
        have = 1;
    }
    while ((r = read_physical(s, &phys, err)) > 0) {
        if (is_blank_or_comment(buf_str(&phys)))
            continue;
        if (starts_with_space(buf_str(&phys))) {
            if (!have) {
                msg_warn("%s, line %d: logical line must not start with whitespace: ignored",
                         s->name, s->lineno);
                continue;
            }
            if (size_add(line->len, phys.len) > TABLE_LINE_MAX) {
                buf_printf(err, "%s, line %d: line too long (more than %d bytes)",
                           s->name, s->start_line, TABLE_LINE_MAX);
                r = -1;
                break;
            }
            buf_append(line, phys.data, phys.len);
            continue;
        }
        if (have) {
            /* This line starts the next logical line: keep it for then. */
            buf_set(&s->ahead, buf_str(&phys));
            s->ahead_lineno = s->lineno;
            s->have_ahead = 1;
            break;
        }
        buf_set(line, buf_str(&phys));
        s->start_line = s->lineno;
        have = 1;
    }
    buf_release(&phys);
    if (r < 0)
        return -1;
    trim_space_right(line);
    return have;
}

/* A "quoted key" with \" and \\ escapes; p points at the opening quote.
 * Returns the position after the closing quote, or NULL. */
static const char *parse_quoted(const char *p, buf_t *key)
{
    buf_reset(key);
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1] != 0)
            p++;
        buf_putc(key, *p);
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *skip_space(const char *p)
{
    return p + strspn(p, SPACE_CHARS);
}

static void value_from(buf_t *value, const char *p)
{
    buf_set(value, skip_space(p));
    trim_space_right(value);
}

int table_parse_kv(const char *line, buf_t *key, buf_t *value, const char **why)
{
    const char *p = skip_space(line);
    static const char format[] = "expected format: key whitespace value";

    if (*p == '"') {
        p = parse_quoted(p, key);
        if (p == NULL || (*p && !strchr(SPACE_CHARS, *p))) {
            *why = format;
            return -1;
        }
    } else {
        size_t len = strcspn(p, SPACE_CHARS);

        buf_reset(key);
        buf_append(key, p, len);
        p += len;
    }
    value_from(value, p);
    if (key->len == 0 || value->len == 0) {
        *why = format;
        return -1;
    }
    return 0;
}

int table_parse_alias(const char *line, buf_t *key, buf_t *value, const char **why)
{
    const char *p = skip_space(line);
    static const char format[] = "need name:value pair";

    if (*p == '"') {
        p = parse_quoted(p, key);
        if (p == NULL) {
            *why = format;
            return -1;
        }
        p = skip_space(p);
    } else {
        size_t len = strcspn(p, ":");

        buf_reset(key);
        buf_append(key, p, len);
        trim_space_right(key);
        p += len;
    }
    if (*p != ':') {
        *why = format;
        return -1;
    }
    value_from(value, p + 1);
    if (key->len == 0 || value->len == 0) {
        *why = format;
        return -1;
    }
    return 0;
}
