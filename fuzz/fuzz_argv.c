/* fuzz_argv: the list splitters every parameter value goes through:
 * argv_split_list (main.cf lists), argv_split and match_list_split
 * (restriction and match lists). Properties: arrays are NULL-terminated
 * and counted right; argv_split gives non-empty words free of delimiters
 * whose lengths add up; no element of a brace-free value holds a delimiter
 * and both list splitters then agree with argv_split.
 * Run: build-fuzz/fuzz_argv fuzz/corpus/argv */
#include <string.h>

#include "argv.h"
#include "fuzz.h"
#include "match_list.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_argv");
    return 0;
}

static void check_shape(const argv_t *a)
{
    FUZZ_CHECK(a->argc < a->cap && a->argv[a->argc] == NULL);
    for (size_t i = 0; i < a->argc; i++)
        FUZZ_CHECK(a->argv[i] != NULL);
}

static int same_words(const argv_t *a, const argv_t *b)
{
    if (a->argc != b->argc)
        return 0;
    for (size_t i = 0; i < a->argc; i++)
        if (strcmp(a->argv[i], b->argv[i]) != 0)
            return 0;
    return 1;
}

static void check_plain_split(const char *text, const argv_t *words)
{
    size_t total = 0;

    for (size_t i = 0; i < words->argc; i++) {
        size_t len = strlen(words->argv[i]);

        FUZZ_CHECK(len > 0 && strcspn(words->argv[i], LIST_DELIMS) == len);
        total += len;
    }
    FUZZ_CHECK(total + strspn(text, LIST_DELIMS) <= strlen(text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    argv_t *words = argv_split(text, LIST_DELIMS);
    argv_t *list = argv_split_list(text);
    argv_t *mlist = match_list_split(text);

    check_shape(words);
    check_shape(list);
    check_shape(mlist);
    check_plain_split(text, words);
    if (strpbrk(text, "{}") == NULL) {
        FUZZ_CHECK(same_words(words, list));
        FUZZ_CHECK(same_words(words, mlist));
    }
    argv_free(words);
    argv_free(list);
    argv_free(mlist);
    free(text);
    return 0;
}
