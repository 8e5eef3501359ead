/* postqueue: the parts of the queue-control command (listing, flushing). */
#ifndef FACTEUR_POSTQUEUE_H
#define FACTEUR_POSTQUEUE_H

/* Every failure a user sees exits with EX_UNAVAILABLE, as Postfix's. */
#define POSTQUEUE_EXIT_FAIL  69

#define SHOW_FORMAT_TEXT  0    /* postqueue -p, mailq */
#define SHOW_FORMAT_JSON  1    /* postqueue -j */

/* Lists the queue (current directory = queue_directory). Returns 0. */
int show_queue(int format);

/* postqueue -f, -i ID, -s site (current directory = queue_directory). */
int flush_all(void);
int flush_one(const char *queue_id);
int flush_site(const char *site);

#endif
