/* fuzz_main_cf: main.cf parsing (config_load) and the expansion of what it
 * sets ($name, ${name?x}, ${{a} op {b} ? {x} : {y}}, $$...), the typed
 * getters, and config_expand of the input itself.
 *
 * main.cf is a symlink, in a scratch folder, to an in-memory file refilled
 * per input. A bad main.cf ends a real program with msg_fatal; here the
 * fatal hook jumps back, which is a normal outcome. Such a jump strands
 * whatever the frames it skipped had allocated, so LeakSanitizer is held
 * off around each run (and per-input leak checks are off) and leaks are
 * counted here instead: a run that ends normally must free, after
 * config_reset(), every block it allocated.
 * Run: build-fuzz/fuzz_main_cf fuzz/corpus/main_cf */
#include <fcntl.h>
#include <sanitizer/allocator_interface.h>
#include <sanitizer/lsan_interface.h>
#include <string.h>
#include <sys/stat.h>

#include "argv.h"
#include "config.h"
#include "fuzz.h"

static char config_dir_path[64];
static char main_cf_link[96];
static int  input_fd = -1;

/* Blocks allocated minus blocks freed while counting is on. */
static volatile int counting;
static volatile long live_blocks;

static void count_malloc(const volatile void *p, size_t size)
{
    (void) size;
    if (counting && p != NULL)
        live_blocks++;
}

static void count_free(const volatile void *p)
{
    if (counting && p != NULL)
        live_blocks--;
}

static void remove_scratch(void)
{
    (void) unlink(main_cf_link);
    (void) rmdir(config_dir_path);
}

/* libFuzzer reads its flags after this hook: per-input leak checks would
 * flag every fatal input (see above), so they are off unless asked for. */
static void add_default_flag(int *argc, char ***argv, const char *flag)
{
    static char *args[256];
    int n = *argc < 250 ? *argc : 250;

    /* Right after the program name, so that a flag given on the command
     * line, parsed later, still wins. */
    args[0] = (*argv)[0];
    args[1] = (char *) flag;
    for (int i = 1; i < n; i++)
        args[i + 1] = (*argv)[i];
    args[n + 1] = NULL;
    *argc = n + 1;
    *argv = args;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int null_fd = open("/dev/null", O_RDONLY);

    fuzz_quiet("fuzz_main_cf");
    add_default_flag(argc, argv, "-detect_leaks=0");
    /* Nothing a main.cf names may wait for a terminal. */
    if (null_fd < 0 || dup2(null_fd, 0) < 0)
        abort();
    close(null_fd);
    input_fd = fuzz_memfd("main.cf");
    snprintf(config_dir_path, sizeof(config_dir_path), "%s/fuzz_main_cf.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(config_dir_path) == NULL)
        abort();
    snprintf(main_cf_link, sizeof(main_cf_link), "%s/main.cf", config_dir_path);
    {
        char target[64];

        fuzz_fd_path(target, sizeof(target), input_fd);
        if (symlink(target, main_cf_link) < 0)
            abort();
    }
    atexit(remove_scratch);
    /* Computed defaults keep one static buffer each: make them now, so that
     * they are not counted as leaks of the first input that needs them. */
    (void) config_get("myhostname");
    (void) config_get("mydomain");
    (void) config_get("mynetworks");
    config_reset();
    __sanitizer_install_malloc_and_free_hooks(count_malloc, count_free);
    return 0;
}

static void collect_name(const char *name, const char *raw, void *ctx)
{
    (void) raw;
    argv_add(ctx, name);
}

/* Names every program reads through the typed getters. */
static void read_typed_values(void)
{
    argv_t *list;

    (void) config_int("line_length_limit");
    (void) config_time("ipc_timeout");
    (void) config_time("maximal_queue_lifetime");
    (void) config_bool("smtputf8_enable");
    (void) config_size("message_size_limit");
    (void) config_str("myorigin");
    (void) config_str("relay_domains");
    list = config_list("mydestination");
    argv_free(list);
}

/* Everything a daemon could ask of this main.cf. May end in msg_fatal. */
static void exercise(const char *text)
{
    argv_t *names = argv_new();
    char *expanded;

    config_load(config_dir_path);
    config_walk_set(collect_name, names);
    for (size_t i = 0; i < names->argc; i++) {
        (void) config_raw(names->argv[i]);
        (void) config_get(names->argv[i]);
    }
    argv_free(names);
    config_set_service("smtp", "smtpd");
    config_override("fuzz_override", "$service_name/$process_name");
    (void) config_str("fuzz_override");
    read_typed_values();
    expanded = config_expand(text);
    free(expanded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    volatile int fatal = 0;

    fuzz_memfd_fill(input_fd, data, size);
    config_reset();                         /* also what a fatal run left */
    __lsan_disable();
    live_blocks = 0;
    counting = 1;
    if (setjmp(fuzz_fatal_jump) == 0) {
        log_set_fatal_hook(fuzz_fatal_hook);
        exercise(text);
    } else {
        fatal = 1;
    }
    log_set_fatal_hook(NULL);
    if (!fatal) {
        config_reset();
        counting = 0;
        if (live_blocks != 0)
            fprintf(stderr, "fuzz_main_cf: %ld blocks not freed\n", live_blocks);
        FUZZ_CHECK(live_blocks == 0);
    }
    counting = 0;
    __lsan_enable();
    free(text);
    return 0;
}
