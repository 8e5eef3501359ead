/* pickup: moves local submissions from maildrop/ into the queue through
 * cleanup. Woken by triggers on public/pickup (postdrop after each file,
 * master every "wakeup" seconds); scans maildrop/ and copies every complete
 * file, then removes it, but only after cleanup has committed the copy. */
#ifndef FACTEUR_PICKUP_H
#define FACTEUR_PICKUP_H

#include <stddef.h>

typedef struct pickup_settings {
    char  *myhostname;
    char  *mail_name;
    size_t line_max;        /* line_length_limit: longest content record to cleanup */
} pickup_settings_t;

extern pickup_settings_t pickup_conf;

/* trigger.c: reads public/pickup without blocking the event loop; every
 * connection asks for a scan. */
void pickup_trigger_listen(int fd);

/* scan.c */
void pickup_scan_request(void);   /* a scan soon (requests coalesce) */
void pickup_scan(void);           /* scans now, until a pass finds nothing */

/* file.c: one maildrop file, by name. */
#define PICKUP_LEFT   0           /* still in maildrop/ (not ready, or retry later) */
#define PICKUP_TAKEN  1           /* gone from maildrop/: queued, or moved aside */
#define PICKUP_STOP   2           /* cleanup is unavailable: end this scan */
int pickup_file(const char *name);

#endif
