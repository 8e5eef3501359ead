/* postsuper: the parts of the queue-maintenance command. Every function
 * works relative to queue_directory (the current directory) and runs with
 * the mail_owner's identity. */
#ifndef FACTEUR_POSTSUPER_H
#define FACTEUR_POSTSUPER_H

/* One message in one queue. */
typedef struct target {
    const char *queue;
    char       *id;
    char       *path;
} target_t;

/* Per-message operations. 1 when done (and logged "ID: removed" ...),
 * 0 when skipped (gone meanwhile, locked by a delivery, wrong queue). */
int op_delete(const target_t *t);
int op_hold(const target_t *t);
int op_release(const target_t *t);
int op_expire(const target_t *t);
int op_requeue(const target_t *t);

/* The file of t opened and locked exclusively without waiting; -1 (and
 * a warning when a delivery agent holds it) otherwise. */
int target_lock(const target_t *t);

/* Renames path into queue under id (hashed as configured), creating the
 * missing hashed folders; never replaces an existing file. 0 or -1. */
int move_to_queue(const char *path, const char *queue, const char *id);

/* -s: rename files whose name does not match their inode and put files
 * back into their hashed folder; returns how many were renamed. */
long structure_fix(void);
/* -p: remove temporary and incomplete files left over by crashes. */
void purge_stale(void);

#endif
