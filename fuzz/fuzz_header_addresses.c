/* fuzz_header_addresses: header_addresses_parse, which reads the
 * addresses out of To:/Cc:/From: values of any message. Properties:
 * every address is non-empty and within the 1000-byte ceiling, and the
 * addresses of "a, b" are those of a followed by those of b when neither
 * half holds a separator that groups, brackets or quotes could hide.
 * Run: build-fuzz/fuzz_header_addresses fuzz/corpus/header_addresses */
#include <string.h>

#include "address.h"
#include "argv.h"
#include "buf.h"
#include "fuzz.h"

#define ADDR_MAX_LEN 1000     /* address.c's ceiling */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_header_addresses");
    return 0;
}

static void check_addresses(const argv_t *a)
{
    FUZZ_CHECK(a->argv[a->argc] == NULL);
    for (size_t i = 0; i < a->argc; i++) {
        size_t len = strlen(a->argv[i]);

        FUZZ_CHECK(len > 0 && len <= ADDR_MAX_LEN);
    }
}

/* Plain words only: nothing that could open a group, a bracket, a quote,
 * a comment or a literal across the comma we put between two halves. */
static int plain_half(const char *s)
{
    return strpbrk(s, "<>\"()[]:;,\\") == NULL;
}

static void check_concatenation(const char *text)
{
    const char *mid = text + strlen(text) / 2;
    char *left = strndup(text, (size_t) (mid - text));
    buf_t joined = BUF_INIT;
    argv_t *a, *b, *ab;

    if (left == NULL)
        abort();
    if (plain_half(left) && plain_half(mid)) {
        a = header_addresses_parse(left);
        b = header_addresses_parse(mid);
        buf_printf(&joined, "%s,%s", left, mid);
        ab = header_addresses_parse(buf_str(&joined));
        FUZZ_CHECK(ab->argc == a->argc + b->argc);
        for (size_t i = 0; i < ab->argc; i++)
            FUZZ_CHECK(strcmp(ab->argv[i], i < a->argc ? a->argv[i]
                                                       : b->argv[i - a->argc]) == 0);
        argv_free(a);
        argv_free(b);
        argv_free(ab);
    }
    buf_release(&joined);
    free(left);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    argv_t *addrs = header_addresses_parse(text);

    check_addresses(addrs);
    for (size_t i = 0; i < addrs->argc; i++) {
        buf_t quoted = BUF_INIT;

        addr_quote(&quoted, addrs->argv[i]);   /* how they go back out */
        buf_release(&quoted);
    }
    argv_free(addrs);
    check_concatenation(text);
    free(text);
    return 0;
}
