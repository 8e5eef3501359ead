/* cleanup: the state of one cleanup conversation and the steps that share it
 * (envelope records, content and headers, the final commit). Private to the
 * cleanup program. */
#ifndef FACTEUR_CLEANUP_CLEANUP_H
#define FACTEUR_CLEANUP_CLEANUP_H

#include <stddef.h>
#include <time.h>

#include "argv.h"
#include "buf.h"
#include "queue_file.h"
#include "service.h"
#include "stream.h"

/* Settings read once per process (main.cf plus master.cf -o). */
typedef struct cleanup_settings {
    long        message_size_limit;     /* content bytes, 0 = no limit */
    long        header_size_limit;      /* bytes of the primary header block */
    long        hopcount_limit;         /* Received: headers allowed */
    long        line_length_limit;      /* longest content record */
    long        duplicate_filter_limit; /* recipients remembered for dedup */
    int         always_add_missing_headers;
    int         replace_stray_cr_lf;
    int         ipc_timeout;            /* seconds per client read/write */
    long        delay_warning_time;     /* seconds; 0 = no delay notices */
    argv_t     *drop_headers;           /* lower-case header names */
    const char *myhostname;
} cleanup_settings_t;

extern cleanup_settings_t cleanup_settings;

void cleanup_settings_load(void);

/* Where the records that arrive belong. */
typedef enum {
    SEG_ENVELOPE,
    SEG_CONTENT,
    SEG_EXTRACTED,
} cleanup_segment_t;

/* Header names whose presence decides what gets added (bits of headers_seen). */
#define HDR_SEEN_MESSAGE_ID         (1u << 0)
#define HDR_SEEN_DATE               (1u << 1)
#define HDR_SEEN_FROM               (1u << 2)
#define HDR_SEEN_RESENT_MESSAGE_ID  (1u << 3)
#define HDR_SEEN_RESENT_DATE        (1u << 4)
#define HDR_SEEN_RESENT_FROM        (1u << 5)
#define HDR_SEEN_RESENT_ANY         (1u << 6)

/* Remembered recipients, to write each (recipient, DSN, original) once. */
typedef struct cleanup_seen {
    char  **slots;
    size_t  cap;
    size_t  count;
} cleanup_seen_t;

/* A final recipient waiting for the end of the envelope: the envelope's
 * recipients are written at M, when a REDIRECT ('>') can no longer come. */
typedef struct cleanup_rcpt {
    char   *addr;
    char   *orig;
    char   *dsn_orcpt;                  /* "" = none */
    long    dsn_notify;
} cleanup_rcpt_t;

typedef struct cleanup_rcpts {
    cleanup_rcpt_t *items;
    size_t  count;
    size_t  cap;
} cleanup_rcpts_t;

typedef struct cleanup_state {
    queue_file_t     *qf;
    char              queue_id[QUEUE_ID_MAX + 1];
    int               flags;            /* CLEANUP_FLAG_* from the client */
    int               errs;             /* CLEANUP_STAT_*: once set, nothing more is written */
    buf_t             reason;           /* text for the client when errs != 0 */
    cleanup_segment_t segment;

    /* Envelope. */
    int               seen_time;
    time_t            arrival;
    int               seen_sender;
    buf_t             sender;           /* canonical, "" = null sender */
    buf_t             fullname;         /* F record, for an added From: */
    buf_t             dsn_orcpt;        /* 'o' waiting for its R */
    long              dsn_notify;       /* 'n' waiting for its R, 0 = none */
    int               have_orig_rcpt;
    buf_t             orig_rcpt;        /* 'O' waiting for its R */
    long              rcpt_count;
    cleanup_seen_t    seen_rcpts;
    cleanup_rcpts_t   envelope_rcpts;   /* written at M */
    int               have_redirect;
    buf_t             redirect;         /* '>': canonical, replaces every recipient */
    int               redirect_written; /* its one R record is in the file */

    /* Content. */
    long              data_offset;      /* file offset just after M */
    long              content_size;     /* sum of (len+1) per N and len per L written */
    int               open_line;        /* the last body record written was an L */
    buf_t             clean;            /* a content record after stray CR/LF replacement */

    /* Primary header block. */
    int               in_header;
    buf_t             line;             /* physical line being assembled from L pieces */
    buf_t             header;           /* logical header: physical lines joined by '\n' */
    long              header_bytes;     /* bytes of completed header lines */
    long              hop_count;
    unsigned          headers_seen;

    buf_t             scratch;
} cleanup_state_t;

/* session.c: the conversation with one client. */
void cleanup_serve(service_t *svc, stream_t *client);
void cleanup_signals_init(void);
/* Records an error; the first reason given is kept. */
void cleanup_fail(cleanup_state_t *st, int status, const char *reason);
/* Writes a record to the queue file unless an error was recorded. */
void cleanup_out(cleanup_state_t *st, int type, const void *data, size_t len);

/* envelope.c: envelope and extracted-segment records. */
void cleanup_envelope_record(cleanup_state_t *st, int type, const char *data, size_t len);
void cleanup_extracted_record(cleanup_state_t *st, int type, const char *data, size_t len);
void cleanup_seen_free(cleanup_seen_t *seen);
void cleanup_rcpts_free(cleanup_rcpts_t *rcpts);

/* message.c: content records (N, L) and the end of content. */
void cleanup_content_start(cleanup_state_t *st);
void cleanup_content_record(cleanup_state_t *st, int type, const char *data, size_t len);
void cleanup_content_end(cleanup_state_t *st);
/* Writes one content record, counting its size against message_size_limit. */
void cleanup_out_content(cleanup_state_t *st, int type, const char *data, size_t len);
/* Writes one physical line, split into L pieces at line_length_limit. */
void cleanup_out_line(cleanup_state_t *st, const char *data, size_t len);

/* rewrite.c: address rewriting after the canonical form. Classes of
 * addresses, as in the *_classes parameters. */
#define REWRITE_ENV_SENDER  (1u << 0)
#define REWRITE_ENV_RCPT    (1u << 1)
#define REWRITE_HDR_SENDER  (1u << 2)
#define REWRITE_HDR_RCPT    (1u << 3)

/* Opens the canonical and virtual alias tables (once per process). */
void cleanup_rewrite_load(void);
/* Canonical maps then masquerading, as cls says, in place (internal form,
 * already canonical). A table error defers the message (cleanup_fail). */
void cleanup_rewrite_addr(cleanup_state_t *st, unsigned cls, buf_t *addr);
/* virtual_alias_maps: appends the final recipients for addr to out, or
 * defers the message ("4.6.0 Alias expansion error") and appends nothing. */
void cleanup_virtual_expand(cleanup_state_t *st, const char *addr, argv_t *out);

/* header_addr.c: rewrites the addresses of st->header in place when it is
 * a sender or recipient header and the header context allows it. */
void cleanup_header_addresses(cleanup_state_t *st, size_t name_len);

/* headers.c: the primary header block. */
void cleanup_header_piece(cleanup_state_t *st, int type, const char *data, size_t len);
/* Ends the header block early (end of content with no body). */
void cleanup_header_finish(cleanup_state_t *st);

#endif
