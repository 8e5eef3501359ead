/* fuzz.h: helpers shared by the libFuzzer targets in fuzz/: quiet logging,
 * an in-memory file (memfd) refilled per input, and a way back from
 * msg_fatal, which the configuration parsers use to reject bad input. */
#ifndef FACTEUR_FUZZ_H
#define FACTEUR_FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Logging goes nowhere: messages are still formatted (which checks their
 * arguments) but a fuzzer must not spend its time writing them. */
static inline void fuzz_quiet(const char *name)
{
    log_init(name, 0);
}

/* A file that lives in memory; /proc/self/fd/N names it for open(). */
static inline int fuzz_memfd(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC);

    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    return fd;
}

/* Replaces the file's content with data and rewinds it. */
static inline void fuzz_memfd_fill(int fd, const uint8_t *data, size_t size)
{
    size_t done = 0;

    if (ftruncate(fd, 0) < 0) {
        perror("ftruncate");
        abort();
    }
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t) done);

        if (n <= 0) {
            perror("pwrite");
            abort();
        }
        done += (size_t) n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        perror("lseek");
        abort();
    }
}

/* The input as a C string (it stops at the first NUL, as C callers would
 * see it); the caller frees. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    return text;
}

/* A property the target checks: a failure is a finding, like a crash. */
#define FUZZ_CHECK(cond) do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

static inline void fuzz_fd_path(char *path, size_t size, int fd)
{
    snprintf(path, size, "/proc/self/fd/%d", fd);
}

/* msg_fatal is how main.cf errors end a real process; here it jumps back
 * to the target, which must have armed fuzz_fatal_jump (setjmp) first.
 * The hook is cleared by each msg_fatal, so arm it before every call. */
static jmp_buf fuzz_fatal_jump __attribute__((unused));

static inline void fuzz_fatal_hook(void)
{
    longjmp(fuzz_fatal_jump, 1);
}

#endif
