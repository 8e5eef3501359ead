/* queue_info: reading a queue file, for qmgr and the queue tools (mailq,
 * postcat, qshape, postsuper): a read-only map, a record walk in logical
 * order (following 'p' pointer records), and the envelope summary (size,
 * arrival, create time, sender, DSN and client attributes, the delay
 * warning record, recipients to do and done with their offsets) taken
 * from both the envelope and the extracted segment. Nothing is locked and
 * nothing is written here: qmgr maps the file itself, locked, and parses
 * the bytes with queue_info_parse. */
#ifndef FACTEUR_QUEUE_INFO_H
#define FACTEUR_QUEUE_INFO_H

#include <stddef.h>
#include <sys/stat.h>

#include "record.h"

/* A whole file mapped read-only (O_RDONLY, no symlinks followed). */
typedef struct queue_view {
    int         fd;
    const char *data;
    size_t      size;
    struct stat st;
} queue_view_t;

/* 0, or -1 with errno (EINVAL: not a regular file). */
int  queue_view_open(const char *path, queue_view_t *view);
void queue_view_close(queue_view_t *view);

/* Records in the order a reader sees them. */
#define QUEUE_WALK_RAW  (1 << 0)   /* return 'p' records, never jump */

typedef struct queue_walk {
    const char *data;
    size_t      size;
    size_t      pos;
    int         flags;
    int         jumps;
} queue_walk_t;

void queue_walk_init(queue_walk_t *walk, const char *data, size_t size, size_t start, int flags);
/* 1 with rec filled, 0 at the end of the data, -1 on a malformed record
 * or a bad pointer (out of range, or too many jumps: a loop). A 'p' record
 * with a non-zero target is followed and not returned (unless RAW); a zero
 * one is a placeholder and is skipped. */
int  queue_walk_next(queue_walk_t *walk, rec_t *rec);

typedef struct queue_info_rcpt {
    char *address;
    char *orig_rcpt;        /* "" when there was no 'O' record */
    long  offset;           /* of the 'R' (or 'D', '/') record */
    int   done;             /* delivered, bounced or cancelled */
    char *dsn_orig_rcpt;    /* 'o' record before it: "rfc822;addr", "" without */
    long  notify_flags;     /* 'n' record before it: DSN_NOTIFY_* bits, 0 without */
} queue_info_rcpt_t;

typedef struct queue_info {
    int                has_size;      /* a C record came first */
    rec_size_info_t    size;
    long               arrival;       /* T seconds; the file's mtime without T */
    long               create_time;   /* A create_time=; arrival without it */
    char              *sender;        /* "" for <> (and when missing) */
    queue_info_rcpt_t *rcpts;         /* in file order */
    size_t             rcpt_count;
    size_t             rcpt_todo;     /* how many are not done */
    struct stat        st;
    long               arrival_usec;  /* T microseconds (0 without) */
    char              *envid;         /* 'i' DSN ENVID, "" without */
    long               dsn_ret;       /* '<' DSN RET: 0, 1 = FULL, 2 = HDRS */
    char              *client_name;   /* A client_name=, "" without */
    char              *client_address;/* A client_address=, "" without */
    long               warn_time;     /* first 'W': next delay warning, 0 = none due */
    long               warn_offset;   /* of that W record's data; 0 when there is none */
    size_t             warn_len;      /* its data length (the field width) */
} queue_info_t;

/* Reads and parses path. 0, or -1 with errno: ENOENT when the file went
 * away, EINVAL when it is not a whole queue file (no E record, broken
 * record). info needs queue_info_free() only after success. */
int  queue_info_read(const char *path, queue_info_t *info);
/* The same over bytes already in memory; st gives the mtime and mode. */
int  queue_info_parse(const char *data, size_t size, const struct stat *st, queue_info_t *info);
void queue_info_free(queue_info_t *info);

/* The size mailq shows: the C record's content size, else the file size. */
long queue_info_message_size(const queue_info_t *info);
/* postsuper -e/-f marks: the group-execute mode bit. */
#define QUEUE_MODE_EXPIRE     0010
int  queue_info_forced_expire(const queue_info_t *info);

#endif
