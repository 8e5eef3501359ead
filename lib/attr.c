/* attr: writes and strictly reads "name NUL value NUL ... NUL" attribute
 * lists, the one encoding of every daemon-to-daemon message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "attr.h"
#include "buf.h"
#include "log.h"

/* Names are ours, so they are plain identifiers; anything else on the
 * wire means the peer is broken or hostile. */
static int name_char_ok(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '_' || c == '-' || c == '.';
}

void attr_put_str(stream_t *s, const char *name, const char *value)
{
    size_t i;

    if (name[0] == 0)
        msg_panic("attr_put_str: empty attribute name");
    for (i = 0; name[i] != 0; i++)
        if (!name_char_ok((unsigned char) name[i]))
            msg_panic("attr_put_str: bad attribute name \"%s\"", name);
    if (value == NULL)
        value = "";
    stream_write(s, name, strlen(name) + 1);
    stream_write(s, value, strlen(value) + 1);
}

void attr_put_long(stream_t *s, const char *name, long value)
{
    buf_t text = BUF_INIT;

    buf_printf(&text, "%ld", value);
    attr_put_str(s, name, text.data);
    buf_release(&text);
}

void attr_put_end(stream_t *s)
{
    stream_putc(s, 0);
    (void) stream_flush(s);
}

attr_list_t *attr_list_new(void)
{
    return xcalloc(1, sizeof(attr_list_t));
}

static void attr_list_clear(attr_list_t *a)
{
    size_t i;

    for (i = 0; i < a->count; i++) {
        free(a->names[i]);
        free(a->values[i]);
    }
    a->count = 0;
}

void attr_list_free(attr_list_t *a)
{
    if (a == NULL)
        return;
    attr_list_clear(a);
    free(a);
}

/* Reads bytes up to a NUL into field (reset first), at most max bytes
 * before the NUL. *budget counts down the bytes left for the whole list.
 * 0, or -1 on EOF/error/bound exceeded/bad name character. */
static int read_field(stream_t *s, buf_t *field, size_t max, size_t *budget, int is_name)
{
    buf_reset(field);
    for (;;) {
        int c = stream_getc(s);

        if (c < 0 || *budget == 0)
            return -1;
        (*budget)--;
        if (c == 0)
            return 0;
        if (field->len >= max || (is_name && !name_char_ok(c)))
            return -1;
        buf_putc(field, c);
    }
}

int attr_read(stream_t *s, attr_list_t *a)
{
    buf_t name = BUF_INIT, value = BUF_INIT;
    size_t budget = ATTR_MAX_TOTAL;
    int ret = -1;

    attr_list_clear(a);
    for (;;) {
        if (read_field(s, &name, ATTR_MAX_NAME, &budget, 1) < 0)
            break;
        if (name.len == 0) {
            ret = 0;
            break;
        }
        if (a->count >= ATTR_MAX_COUNT || attr_get(a, name.data) != NULL)
            break;
        if (read_field(s, &value, ATTR_MAX_VALUE, &budget, 0) < 0)
            break;
        a->names[a->count] = xstrdup(name.data);
        a->values[a->count] = xstrdup(buf_str(&value));
        a->count++;
    }
    buf_release(&name);
    buf_release(&value);
    if (ret < 0)
        attr_list_clear(a);
    return ret;
}

const char *attr_get(const attr_list_t *a, const char *name)
{
    size_t i;

    for (i = 0; i < a->count; i++)
        if (strcmp(a->names[i], name) == 0)
            return a->values[i];
    return NULL;
}

int attr_get_long(const attr_list_t *a, const char *name, long *value)
{
    const char *text = attr_get(a, name);
    const char *digits;
    char *end;
    long v;

    if (text == NULL)
        return -1;
    digits = text[0] == '-' ? text + 1 : text;
    if (digits[0] < '0' || digits[0] > '9')
        return -1;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || *end != 0)
        return -1;
    *value = v;
    return 0;
}

static int name_in(const char *name, const char *const *names)
{
    size_t i;

    if (names == NULL)
        return 0;
    for (i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

int attr_check(const attr_list_t *a, const char *const *required,
               const char *const *optional)
{
    size_t i;

    for (i = 0; required != NULL && required[i] != NULL; i++)
        if (attr_get(a, required[i]) == NULL)
            return -1;
    for (i = 0; i < a->count; i++)
        if (!name_in(a->names[i], required) && !name_in(a->names[i], optional))
            return -1;
    return 0;
}
