/* scan: walks maildrop/. Names are read first and handled after the
 * directory is closed (handling renames and removes entries); only names
 * that are queue IDs count, so postdrop's "<usec>.<pid>" birth names and
 * stray files are left alone. Passes repeat until one handles nothing. */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "argv.h"
#include "event.h"
#include "log.h"
#include "pickup.h"
#include "queue_file.h"

/* Names taken per pass; a larger maildrop is finished by later passes. */
#define SCAN_BATCH  10000

static void scan_timer(void *ctx)
{
    (void) ctx;
    pickup_scan();
}

void pickup_scan_request(void)
{
    /* One timer for all requests: a burst of triggers gives one scan. */
    event_timer(0, scan_timer, NULL);
}

/* The queue IDs in maildrop/, at most SCAN_BATCH of them; NULL when the
 * folder cannot be read. */
static argv_t *maildrop_names(void)
{
    DIR *dir = opendir(QUEUE_MAILDROP);
    struct dirent *d;
    argv_t *names;

    if (dir == NULL) {
        msg_warn("open directory %s: %m", QUEUE_MAILDROP);
        return NULL;
    }
    names = argv_new();
    errno = 0;
    while (names->argc < SCAN_BATCH && (d = readdir(dir)) != NULL) {
        if (queue_id_valid(d->d_name))
            argv_add(names, d->d_name);
        errno = 0;
    }
    if (errno != 0)
        msg_warn("read directory %s: %m", QUEUE_MAILDROP);
    closedir(dir);
    return names;
}

/* One pass; returns how many files it took out of maildrop/, or -1 when
 * it had to stop (cleanup unavailable). */
static long scan_pass(void)
{
    argv_t *names = maildrop_names();
    long taken = 0;

    if (names == NULL)
        return -1;
    for (size_t i = 0; i < names->argc; i++) {
        int result = pickup_file(names->argv[i]);

        if (result == PICKUP_STOP) {
            taken = -1;
            break;
        }
        if (result == PICKUP_TAKEN)
            taken++;
    }
    argv_free(names);
    return taken;
}

void pickup_scan(void)
{
    long taken;

    event_cancel(scan_timer, NULL);
    do {
        taken = scan_pass();
    } while (taken > 0);
}
