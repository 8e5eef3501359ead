/* fuzz_attr: attr_read, the receiving end of every daemon-to-daemon
 * message, over an in-memory file holding what a peer sent. Properties:
 * a list read whole respects the bounds of attr.h, has no repeated name,
 * and written back with attr_put_* reads back the same.
 * Run: build-fuzz/fuzz_attr fuzz/corpus/attr */
#include <string.h>

#include "attr.h"
#include "fuzz.h"
#include "stream.h"

#define LISTS_MAX 8           /* lists read from one input */

static int input_fd = -1;
static int echo_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_attr");
    input_fd = fuzz_memfd("fuzz_attr_in");
    echo_fd = fuzz_memfd("fuzz_attr_echo");
    return 0;
}

static void check_bounds(const attr_list_t *a)
{
    FUZZ_CHECK(a->count <= ATTR_MAX_COUNT);
    for (size_t i = 0; i < a->count; i++) {
        FUZZ_CHECK(*a->names[i] != 0 && strlen(a->names[i]) <= ATTR_MAX_NAME);
        FUZZ_CHECK(strlen(a->values[i]) <= ATTR_MAX_VALUE);
        FUZZ_CHECK(attr_get(a, a->names[i]) == a->values[i]);   /* no repeats */
    }
}

/* Writes a back with the sending API and reads it again. */
static void check_echo(const attr_list_t *a)
{
    attr_list_t *b = attr_list_new();
    stream_t *out, *in;

    fuzz_memfd_fill(echo_fd, NULL, 0);
    out = stream_fdopen(echo_fd);
    for (size_t i = 0; i < a->count; i++)
        attr_put_str(out, a->names[i], a->values[i]);
    attr_put_end(out);
    FUZZ_CHECK(stream_status(out) == STREAM_OK);
    stream_free(out);
    FUZZ_CHECK(lseek(echo_fd, 0, SEEK_SET) == 0);
    in = stream_fdopen(echo_fd);
    FUZZ_CHECK(attr_read(in, b) == 0);
    FUZZ_CHECK(b->count == a->count);
    for (size_t i = 0; i < a->count; i++) {
        FUZZ_CHECK(strcmp(a->names[i], b->names[i]) == 0);
        FUZZ_CHECK(strcmp(a->values[i], b->values[i]) == 0);
    }
    stream_free(in);
    attr_list_free(b);
}

/* The typed getters and the shape check must take any list. */
static void exercise_getters(const attr_list_t *a)
{
    static const char *const required[] = { "status", NULL };
    static const char *const optional[] = { "reason", "queue_id", NULL };
    long value;

    for (size_t i = 0; i < a->count; i++)
        (void) attr_get_long(a, a->names[i], &value);
    (void) attr_check(a, required, optional);
    (void) attr_check(a, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    attr_list_t *a = attr_list_new();
    stream_t *s;

    fuzz_memfd_fill(input_fd, data, size);
    s = stream_fdopen(input_fd);
    for (int n = 0; n < LISTS_MAX; n++) {
        if (attr_read(s, a) < 0) {
            FUZZ_CHECK(a->count == 0);
            break;
        }
        check_bounds(a);
        check_echo(a);
        exercise_getters(a);
    }
    stream_free(s);
    attr_list_free(a);
    return 0;
}
