/* edit: postconf -e "name = value", -X name, -# name on main.cf. A
 * parameter's line and its continuation lines are replaced, removed or
 * commented out; new parameters go at the end. The new file is written
 * beside the old one, synced, and renamed over it. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "argv.h"
#include "buf.h"
#include "log.h"
#include "postconf.h"

#define MAIN_CF_MAX (16 * 1024 * 1024)

typedef struct edit {
    char *name;
    char *value;        /* -e only */
    int   done;         /* -e: the new line is written */
} edit_t;

typedef struct edit_list {
    edit_t *items;
    size_t  count;
    int     mode;       /* 'e', 'X' or '#' */
} edit_list_t;

static int valid_name(const char *name, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char) name[i]) && name[i] != '_' && name[i] != '-')
            return 0;
    return 1;
}

static void add_edit(edit_list_t *list, const char *name, size_t len, const char *value)
{
    /* A name given twice: the last one counts. */
    for (size_t i = 0; i < list->count; i++)
        if (strlen(list->items[i].name) == len && strncmp(list->items[i].name, name, len) == 0) {
            free(list->items[i].value);
            list->items[i].value = value ? xstrdup(value) : NULL;
            return;
        }
    list->items = xreallocarray(list->items, size_add(list->count, 1), sizeof(*list->items));
    list->items[list->count].name = xstrndup(name, len);
    list->items[list->count].value = value ? xstrdup(value) : NULL;
    list->items[list->count].done = 0;
    list->count++;
}

/* "name = value" or "name=value"; whitespace around '=' and at the ends dropped. */
static void parse_assignment(edit_list_t *list, const char *arg)
{
    const char *eq = strchr(arg, '=');
    const char *name = arg, *name_end, *value;
    buf_t v = BUF_INIT;

    if (eq == NULL)
        msg_fatal("-e: missing '=' in \"%s\"", arg);
    if (strpbrk(arg, "\r\n") != NULL)
        msg_fatal("-e: a value must not contain a line break: \"%s\"", arg);
    while (isspace((unsigned char) *name))
        name++;
    for (name_end = eq; name_end > name && isspace((unsigned char) name_end[-1]); name_end--)
        ;
    if (!valid_name(name, (size_t) (name_end - name)))
        msg_fatal("-e: bad parameter name in \"%s\"", arg);
    for (value = eq + 1; isspace((unsigned char) *value); value++)
        ;
    buf_set(&v, value);
    buf_trim_right(&v);
    add_edit(list, name, (size_t) (name_end - name), buf_str(&v));
    buf_release(&v);
}

static edit_t *find_edit(edit_list_t *list, const char *name, size_t len)
{
    for (size_t i = 0; i < list->count; i++)
        if (strlen(list->items[i].name) == len && strncmp(list->items[i].name, name, len) == 0)
            return &list->items[i];
    return NULL;
}

/* ---- line classes ---- */

static int blank_or_comment(const char *line)
{
    while (isspace((unsigned char) *line))
        line++;
    return *line == 0 || *line == '#';
}

static int continuation(const char *line)
{
    return isspace((unsigned char) *line) && !blank_or_comment(line);
}

/* The parameter a definition line defines, as (start, length); 0 if none. */
static size_t defined_name(const char *line, const char **name)
{
    const char *eq, *end;

    if (blank_or_comment(line) || isspace((unsigned char) *line))
        return 0;
    if ((eq = strchr(line, '=')) == NULL)
        return 0;
    for (end = eq; end > line && isspace((unsigned char) end[-1]); end--)
        ;
    *name = line;
    return (size_t) (end - line);
}

static void emit_edited(buf_t *out, edit_list_t *list, edit_t *e, char **lines,
                        size_t first, size_t last)
{
    for (size_t i = first; i <= last; i++) {
        int part = i == first || continuation(lines[i]);

        if (!part) {
            buf_printf(out, "%s\n", lines[i]);      /* comments in between stay */
        } else if (list->mode == '#') {
            buf_printf(out, "#%s\n", lines[i]);
        } else if (list->mode == 'e' && i == first && !e->done) {
            buf_printf(out, "%s = %s\n", e->name, e->value);
            e->done = 1;
        }
        /* -X, and the old lines of an -e edit, are dropped. */
    }
}

static void apply_edits(buf_t *out, edit_list_t *list, char **lines, size_t n)
{
    size_t i = 0;

    while (i < n) {
        const char *name = NULL;
        size_t len = defined_name(lines[i], &name);
        size_t last = i;
        edit_t *e;

        for (size_t j = i + 1; j < n && (blank_or_comment(lines[j]) || continuation(lines[j])); j++)
            if (continuation(lines[j]))
                last = j;
        if (len > 0 && (e = find_edit(list, name, len)) != NULL) {
            emit_edited(out, list, e, lines, i, last);
        } else {
            for (size_t j = i; j <= last; j++)
                buf_printf(out, "%s\n", lines[j]);
        }
        i = last + 1;
    }
    for (size_t k = 0; list->mode == 'e' && k < list->count; k++)
        if (!list->items[k].done)
            buf_printf(out, "%s = %s\n", list->items[k].name, list->items[k].value);
}

/* ---- files ---- */

static int read_main_cf(const char *path, buf_t *text, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char chunk[8192];
    ssize_t n;

    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0)
        msg_fatal("fstat %s: %s", path, strerror(errno));
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            msg_fatal("read %s: %s", path, strerror(errno));
        if (text->len + (size_t) n > MAIN_CF_MAX)
            msg_fatal("%s: file too large", path);
        buf_append(text, chunk, (size_t) n);
    }
    close(fd);
    return 0;
}

static void write_all(int fd, const char *data, size_t len, const char *path)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            msg_fatal("write %s: %s", path, strerror(errno));
        data += n;
        len -= (size_t) n;
    }
}

/* Replaces path with text: a temporary file beside it, synced and given
 * the old file's mode and owner, then renamed over it, so that readers see
 * either the old or the new main.cf, never a partial one. */
static void replace_file(const char *path, const buf_t *text, const struct stat *old)
{
    buf_t tmp = BUF_INIT;
    int fd;

    buf_printf(&tmp, "%s.tmp", path);
    if (unlink(buf_str(&tmp)) < 0 && errno != ENOENT)
        msg_fatal("remove %s: %s", buf_str(&tmp), strerror(errno));
    fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
              old ? old->st_mode & 07777 : 0644);
    if (fd < 0)
        msg_fatal("create %s: %s", buf_str(&tmp), strerror(errno));
    write_all(fd, text->data ? text->data : "", text->len, buf_str(&tmp));
    if (old) {
        /* open() applied the umask; the old permissions are what count. */
        if (fchmod(fd, old->st_mode & 07777) < 0)
            msg_fatal("chmod %s: %s", buf_str(&tmp), strerror(errno));
        if (fchown(fd, old->st_uid, old->st_gid) < 0 && errno != EPERM)
            msg_fatal("chown %s: %s", buf_str(&tmp), strerror(errno));
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        unlink(buf_str(&tmp));
        msg_fatal("write %s: %s", buf_str(&tmp), strerror(errno));
    }
    if (rename(buf_str(&tmp), path) < 0) {
        unlink(buf_str(&tmp));
        msg_fatal("rename %s to %s: %s", buf_str(&tmp), path, strerror(errno));
    }
    buf_release(&tmp);
}

static argv_t *split_lines(const buf_t *text)
{
    argv_t *lines = argv_new();
    const char *p = buf_str(text), *end = p + text->len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *line_end = nl ? nl : end;

        argv_addn(lines, p, (size_t) (line_end - p));
        p = nl ? nl + 1 : end;
    }
    return lines;
}

void postconf_edit(const char *dir, int mode, char **args, int count)
{
    edit_list_t list = { NULL, 0, mode };
    buf_t path = BUF_INIT, text = BUF_INIT, out = BUF_INIT;
    struct stat st;
    int exists;
    argv_t *lines;

    for (int i = 0; i < count; i++) {
        if (mode == 'e')
            parse_assignment(&list, args[i]);
        else if (valid_name(args[i], strlen(args[i])))
            add_edit(&list, args[i], strlen(args[i]), NULL);
        else
            msg_fatal("-%c: bad parameter name: \"%s\"", mode, args[i]);
    }
    buf_printf(&path, "%s/main.cf", dir);
    exists = read_main_cf(buf_str(&path), &text, &st) == 0;
    if (!exists && (errno != ENOENT || mode != 'e'))
        msg_fatal("open %s: %s", buf_str(&path), strerror(errno));
    lines = split_lines(&text);
    apply_edits(&out, &list, lines->argv, lines->argc);
    replace_file(buf_str(&path), &out, exists ? &st : NULL);
    argv_free(lines);
    for (size_t i = 0; i < list.count; i++) {
        free(list.items[i].name);
        free(list.items[i].value);
    }
    free(list.items);
    buf_release(&path);
    buf_release(&text);
    buf_release(&out);
}
