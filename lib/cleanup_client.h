/* cleanup_client: the client side of the cleanup protocol, used by every
 * door into the queue (smtpd, qmgr's notices, later pickup and local).
 *   1. server -> {protocol=cleanup_protocol, queue_id=ID}
 *   2. client -> {flags=N}
 *   3. client -> records, as in a queue file: T, A..., F, S, O/R..., M,
 *      content N/L..., X, A..., E  (no C record: cleanup writes it).
 *      Before M (or in the extracted segment) a client may also send
 *      'f' (REC_TYPE_FLGS, decimal CLEANUP_FLAG_HOLD: commit into hold/)
 *      and, before M only, '>' (REC_TYPE_RDR, an address that replaces
 *      every recipient: the access-table REDIRECT action).
 *   4. server -> {status=N, reason=text}; status 0 = committed to disk.
 * cleanup reads records as they come and writes them to the queue file, so
 * a message is never held in memory whole. */
#ifndef FACTEUR_CLEANUP_CLIENT_H
#define FACTEUR_CLEANUP_CLIENT_H

#include "buf.h"
#include "stream.h"

/* Status bits (0 = success), as Postfix's. */
#define CLEANUP_STAT_OK     0
#define CLEANUP_STAT_BAD    (1 << 0)    /* internal protocol error */
#define CLEANUP_STAT_WRITE  (1 << 1)    /* error writing the queue file */
#define CLEANUP_STAT_SIZE   (1 << 2)    /* message too large */
#define CLEANUP_STAT_CONT   (1 << 3)    /* content rejected */
#define CLEANUP_STAT_HOPS   (1 << 4)    /* too many hops */
#define CLEANUP_STAT_RCPT   (1 << 5)    /* no recipients */
#define CLEANUP_STAT_DEFER  (1 << 7)    /* temporary failure (e.g. alias expansion) */

/* Request flags (client -> server). */
#define CLEANUP_FLAG_NONE      0
#define CLEANUP_FLAG_LOCAL_CTX (1 << 0) /* local header context: add missing
                                           Message-Id/Date/From */
#define CLEANUP_FLAG_BOUNCE    (1 << 1) /* a notice built by qmgr (null sender) */
#define CLEANUP_FLAG_HOLD      (1 << 2) /* commit into hold/, not incoming/, and
                                           do not wake qmgr (HOLD action); also
                                           allowed in an 'f' record */
/* The bits an 'f' record may carry. */
#define CLEANUP_FLAG_MASK_RECORD CLEANUP_FLAG_HOLD

typedef struct cleanup_client {
    stream_t *s;
    char      queue_id[64];
} cleanup_client_t;

/* Connects to path (normally "public/cleanup") and does steps 1 and 2.
 * NULL (errno-style reason in why) when cleanup is unavailable. */
cleanup_client_t *cleanup_open(const char *path, int flags, buf_t *why);
/* Step 4: flushes and waits for the reply. Returns the status bits;
 * reason gets cleanup's text. Frees cl. A lost connection gives
 * CLEANUP_STAT_WRITE. */
int  cleanup_finish(cleanup_client_t *cl, buf_t *reason);
/* Gives up without committing (cleanup removes its file). Frees cl. */
void cleanup_abort(cleanup_client_t *cl);

/* SMTP reply text for a status, as Postfix's smtpd words it, e.g.
 * "451 4.3.0 Error: queue file write error". */
const char *cleanup_status_reply(int status);

#endif
