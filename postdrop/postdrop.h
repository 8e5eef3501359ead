/* postdrop: the set-gid gate into maildrop/. main.c settles who may
 * submit and which configuration counts; copy.c checks and copies the
 * caller's records into the new maildrop file. */
#ifndef FACTEUR_POSTDROP_H
#define FACTEUR_POSTDROP_H

#include <sys/types.h>

#include "queue_file.h"
#include "stream.h"

#define POSTDROP_PROTOCOL "postdrop_protocol"

typedef struct postdrop_limits {
    size_t envelope_max;     /* longest envelope/extracted record */
    size_t line_max;         /* longest content record (line_length_limit) */
    long   file_max;         /* message_size_limit over the whole file; 0 = none */
} postdrop_limits_t;

#define POSTDROP_DONE       0   /* E copied: the file may be committed */
#define POSTDROP_CANCELLED  1   /* input ended before E: the caller gave up */

/* Copies records from in to qf until E (written) or until the input
 * ends. *status gets CLEANUP_STAT_* bits for a complete but refused
 * submission (too big, write error, no sender or recipient); input that is
 * not a submission at all is fatal. */
int postdrop_copy(stream_t *in, queue_file_t *qf, const postdrop_limits_t *lim,
                  uid_t uid, int *status);

#endif
