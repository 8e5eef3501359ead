/* qshape: the domain-by-age table of one or more queues. */
#ifndef FACTEUR_QSHAPE_H
#define FACTEUR_QSHAPE_H

#include <stddef.h>

typedef struct shape_opts {
    int    buckets;        /* -b: age columns after T (10) */
    long   tick;           /* -t: minutes of the first bucket (5) */
    int    linear;         /* -l: multiples of tick instead of doubling */
    int    parents;        /* -p: also count parent domains (.example.com) */
    long   min_sub;        /* -m: subdomains a parent row needs (5) */
    long   width;          /* -w: the table is right-justified to this (80) */
    size_t top;            /* rows shown, TOTAL included; 0 = all */
} shape_opts_t;

typedef struct shape shape_t;

shape_t *shape_new(const shape_opts_t *opts);
void     shape_free(shape_t *shape);
/* The age column (1..buckets) of a message that arrived age_seconds ago. */
int      shape_bucket(const shape_t *shape, long age_seconds);
/* Counts one address (a recipient, or the sender with -s; "" counts as
 * MAILER-DAEMON) in column bucket. */
void     shape_add(shape_t *shape, const char *address, int bucket);
/* Prints the heading row, TOTAL, then domains by count. */
void     shape_print(const shape_t *shape);

#endif
