/* fuzz_table_source: table source files (postmap, postalias, texthash:,
 * regexp:, cidr:) from an in-memory file. The first input byte picks the
 * reader, the rest is the file:
 *   0 regexp:  1 cidr:  2 texthash:  3 postmap lines  4 aliases lines
 * Properties: logical lines are non-empty, one line, without leading
 * blanks or trailing whitespace, with rising line numbers; a parsed
 * key/value pair is non-empty and trimmed; texthash: finds every key its
 * file defines, with the value of the first definition; lookups in any
 * table that opened answer FOUND, NOTFOUND or ERROR.
 * Run: build-fuzz/fuzz_table_source fuzz/corpus/table_source */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "table.h"
#include "table_build.h"

#define CHECKED_KEYS_MAX 32   /* texthash keys looked up per input */

static int input_fd = -1;
static char input_path[64];

static const char *const probe_keys[] = {
    "", "user@example.com", "postmaster", "Example.COM", "1.2.3.4", "192.0.2.129",
    "::1", "2001:db8::1", "[2001:db8::1]", "::ffff:10.0.0.1", "a+b@c.d", "$1",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_table_source");
    input_fd = fuzz_memfd("table_source");
    fuzz_fd_path(input_path, sizeof(input_path), input_fd);
    return 0;
}

static void check_logical_line(const buf_t *line)
{
    FUZZ_CHECK(line->len > 0 && memchr(line->data, '\n', line->len) == NULL);
    FUZZ_CHECK(line->data[0] != ' ' && line->data[0] != '\t');
    FUZZ_CHECK(strchr(" \t\r\n\f\v", line->data[line->len - 1]) == NULL);
}

static void check_pair(const buf_t *key, const buf_t *value)
{
    FUZZ_CHECK(key->len > 0 && value->len > 0);
    FUZZ_CHECK(strchr(" \t\r\n\f\v", value->data[0]) == NULL);
    FUZZ_CHECK(strchr(" \t\r\n\f\v", value->data[value->len - 1]) == NULL);
}

/* Reads the file as postmap/postalias do; with texthash set, also checks
 * that the table holds the first value of each key. */
static void read_lines(table_parse_fn parse, table_t *texthash)
{
    table_source_t *src = table_source_fdopen(input_fd, "fuzz");
    buf_t line = BUF_INIT, key = BUF_INIT, value = BUF_INIT, found = BUF_INIT, err = BUF_INIT;
    argv_t *keys = argv_new();
    int last_line = 0, r;

    while ((r = table_source_next(src, &line, &err)) > 0) {
        const char *why = NULL;
        int seen = 0;

        check_logical_line(&line);
        FUZZ_CHECK(table_source_lineno(src) > last_line);
        last_line = table_source_lineno(src);
        if (parse(buf_str(&line), &key, &value, &why) < 0) {
            FUZZ_CHECK(why != NULL);
            continue;
        }
        check_pair(&key, &value);
        if (texthash == NULL || keys->argc >= CHECKED_KEYS_MAX)
            continue;
        for (size_t i = 0; i < keys->argc && !seen; i++)
            seen = strcmp(keys->argv[i], buf_str(&key)) == 0;
        if (seen)
            continue;
        argv_add(keys, buf_str(&key));
        FUZZ_CHECK(table_get(texthash, buf_str(&key), &found) == TABLE_FOUND);
        FUZZ_CHECK(strcmp(buf_str(&found), buf_str(&value)) == 0);
    }
    FUZZ_CHECK(r == 0 || err.len > 0);
    table_source_close(src);
    argv_free(keys);
    buf_release(&line);
    buf_release(&key);
    buf_release(&value);
    buf_release(&found);
    buf_release(&err);
}

static void probe(table_t *t, const char *last_line)
{
    buf_t value = BUF_INIT;

    for (size_t i = 0; i < sizeof(probe_keys) / sizeof(probe_keys[0]); i++) {
        int r = table_get(t, probe_keys[i], &value);

        FUZZ_CHECK(r == TABLE_FOUND || r == TABLE_NOTFOUND || r == TABLE_ERROR);
    }
    (void) table_get(t, last_line, &value);
    buf_release(&value);
}

static void open_and_probe(const char *type, const char *last_line, table_parse_fn check_with)
{
    buf_t spec = BUF_INIT, err = BUF_INIT;
    table_t *t;

    buf_printf(&spec, "%s:%s", type, input_path);
    t = table_open(buf_str(&spec), TABLE_FLAG_NONE, &err);
    if (t == NULL) {
        FUZZ_CHECK(err.len > 0);
    } else {
        probe(t, last_line);
        if (check_with != NULL) {
            FUZZ_CHECK(lseek(input_fd, 0, SEEK_SET) == 0);
            read_lines(check_with, t);
        }
        table_close(t);
    }
    buf_release(&spec);
    buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    const char *last_line;

    if (size == 0)
        return 0;
    fuzz_memfd_fill(input_fd, data + 1, size - 1);
    text = fuzz_text(data + 1, size - 1);
    last_line = strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text;
    switch (data[0] % 5) {
    case 0:
        open_and_probe("regexp", last_line, NULL);
        break;
    case 1:
        open_and_probe("cidr", last_line, NULL);
        break;
    case 2:
        open_and_probe("texthash", last_line, table_parse_kv);
        break;
    case 3:
        read_lines(table_parse_kv, NULL);
        break;
    default:
        read_lines(table_parse_alias, NULL);
        break;
    }
    free(text);
    return 0;
}
