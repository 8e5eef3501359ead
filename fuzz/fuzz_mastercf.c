/* fuzz_mastercf: mastercf_load on an in-memory master.cf. Properties: it
 * gives a table or an error that names the file and a line, never both;
 * every entry is complete, with a known type and no service/type twice.
 * Run: build-fuzz/fuzz_mastercf fuzz/corpus/mastercf */
#include <string.h>

#include "fuzz.h"
#include "mastercf.h"

#define DEFAULT_PROCESS_LIMIT 100

static int input_fd = -1;
static char input_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_mastercf");
    input_fd = fuzz_memfd("master.cf");
    fuzz_fd_path(input_path, sizeof(input_path), input_fd);
    return 0;
}

static int known_type(const char *type)
{
    return strcmp(type, "inet") == 0 || strcmp(type, "unix") == 0
        || strcmp(type, "unix-dgram") == 0 || strcmp(type, "fifo") == 0
        || strcmp(type, "pass") == 0;
}

static void check_entry(const master_entry_t *m)
{
    FUZZ_CHECK(m->name && *m->name && m->type && m->command && *m->command && m->args);
    FUZZ_CHECK(known_type(m->type));
    FUZZ_CHECK(m->private_ == 0 || m->private_ == 1);
    FUZZ_CHECK(strcmp(m->type, "inet") != 0 || m->private_ == 0);
    FUZZ_CHECK(m->wakeup >= 0 && m->maxproc >= 0 && m->line > 0);
    FUZZ_CHECK(m->args->argv[m->args->argc] == NULL);
}

static void check_table(const master_table_t *t)
{
    for (size_t i = 0; i < t->count; i++) {
        check_entry(t->entries[i]);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(t->entries[i]->name, t->entries[j]->name) != 0
                       || strcmp(t->entries[i]->type, t->entries[j]->type) != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    master_table_t *t;
    char *err = NULL;

    fuzz_memfd_fill(input_fd, data, size);
    t = mastercf_load(input_path, DEFAULT_PROCESS_LIMIT, &err);
    if (t == NULL) {
        FUZZ_CHECK(err != NULL && strncmp(err, input_path, strlen(input_path)) == 0);
        FUZZ_CHECK(strstr(err, ", line ") != NULL);
        free(err);
        return 0;
    }
    FUZZ_CHECK(err == NULL);
    check_table(t);
    mastercf_free(t);
    return 0;
}
