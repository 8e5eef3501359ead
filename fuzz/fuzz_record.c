/* fuzz_record: queue-file records read two ways, rec_parse over memory and
 * rec_get over a stream (an in-memory file), as qmgr, postcat and cleanup
 * read them. Properties: both readers see the same records and end the
 * same way; every record lies inside the buffer; a C record that parses
 * formats and parses back to the same fields.
 * Run: build-fuzz/fuzz_record fuzz/corpus/record */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "record.h"
#include "stream.h"

static int input_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_record");
    input_fd = fuzz_memfd("fuzz_record");
    return 0;
}

static void check_size_record(const rec_t *r)
{
    rec_size_info_t info, again;
    buf_t text = BUF_INIT;

    if (rec_size_parse(r->data, r->len, &info) < 0)
        return;
    rec_size_format(&text, &info);
    FUZZ_CHECK(text.len == REC_SIZE_LEN);
    FUZZ_CHECK(rec_size_parse(text.data, text.len, &again) == 0);
    FUZZ_CHECK(memcmp(&info, &again, sizeof(info)) == 0);
    buf_release(&text);
}

/* Reads the whole input both ways, record by record, side by side. */
static void compare_readers(const uint8_t *data, size_t size, size_t maxlen)
{
    stream_t *s;
    buf_t got = BUF_INIT;
    size_t pos = 0;
    rec_t r;

    fuzz_memfd_fill(input_fd, data, size);
    s = stream_fdopen(input_fd);
    for (;;) {
        size_t before = pos;
        int parsed = rec_parse((const char *) data, size, &pos, &r);
        int type = rec_get(s, &got, maxlen);

        if (parsed == 0) {
            FUZZ_CHECK(type == REC_EOF);
            break;
        }
        if (parsed < 0) {
            FUZZ_CHECK(type == REC_ERROR);
            FUZZ_CHECK(pos == before);
            break;
        }
        FUZZ_CHECK(pos > before && pos <= size);
        FUZZ_CHECK(r.offset == before);
        FUZZ_CHECK(r.data >= (const char *) data && r.data + r.len == (const char *) data + pos);
        if (r.len > maxlen) {
            FUZZ_CHECK(type == REC_ERROR);
            break;
        }
        FUZZ_CHECK(type == r.type);
        FUZZ_CHECK(got.len == r.len && memcmp(got.data, r.data, r.len) == 0);
        if (r.type == REC_TYPE_SIZE)
            check_size_record(&r);
    }
    stream_free(s);
    buf_release(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    compare_readers(data, size, (size_t) 1 << 30);
    /* A small limit, as a daemon reading a peer sets one. */
    compare_readers(data, size, size > 0 ? data[0] : 0);
    return 0;
}
