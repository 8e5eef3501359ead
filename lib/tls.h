/* tls: TLS with OpenSSL over lib/stream, for STARTTLS in smtpd and the smtp
 * client. A context holds the keys or trust anchors (loaded once, before the
 * privilege drop); a session runs the handshake on a connected stream within
 * a deadline and then carries all of that stream's I/O (stream_set_ops). */
#ifndef FACTEUR_TLS_H
#define FACTEUR_TLS_H

#include "buf.h"
#include "stream.h"

/* Security levels (smtpd_tls_security_level, smtp_tls_security_level). */
#define TLS_LEVEL_NONE     0
#define TLS_LEVEL_MAY      1      /* opportunistic */
#define TLS_LEVEL_ENCRYPT  2      /* mandatory, no authentication */
#define TLS_LEVEL_VERIFY   3      /* client: trusted chain, name = server host name */
#define TLS_LEVEL_SECURE   4      /* client: trusted chain, name = nexthop domain */

/* "" and "none" -> NONE, "may", "encrypt", "verify", "secure"; "dane" and
 * "dane-only" are taken as "may" and "encrypt" (no DNSSEC here).
 * -1 for anything else. */
int tls_level_parse(const char *text);

/* Protocol versions, as bits. */
#define TLS_PROTO_TLSv1    (1 << 0)
#define TLS_PROTO_TLSv1_1  (1 << 1)
#define TLS_PROTO_TLSv1_2  (1 << 2)
#define TLS_PROTO_TLSv1_3  (1 << 3)
#define TLS_PROTO_ALL      0x0f

/* Postfix's protocol syntax (smtpd_tls_protocols ...), separated by commas,
 * blanks or colons: ">=TLSv1.2", "<=TLSv1.3", "!TLSv1.1", or plain names
 * (only those). SSLv2/SSLv3 are never enabled; "!SSLv3" is accepted. The
 * empty list is every version. 0 with *mask set, or -1 with why. */
int tls_protocols_parse(const char *spec, unsigned *mask, buf_t *why);

typedef struct tls_ctx tls_ctx_t;

/* A server context. chain_files (a list, may be empty): each file holds a
 * private key and the certificates of its chain, or keys and chains come in
 * separate files in that order; when it is empty, cert_file (with its chain)
 * and key_file are used. NULL with why (OpenSSL's words included). */
tls_ctx_t *tls_server_ctx(const char *cert_file, const char *key_file,
                          const char *chain_files, const char *protocols, buf_t *why);
/* A client context: trust anchors from ca_file and/or ca_path (either may be
 * empty: then no peer is trusted). NULL with why. */
tls_ctx_t *tls_client_ctx(const char *ca_file, const char *ca_path, const char *protocols,
                          buf_t *why);
void       tls_ctx_free(tls_ctx_t *ctx);

/* What the handshake gave. */
typedef struct tls_info {
    char protocol[32];        /* "TLSv1.3" */
    char cipher[96];          /* "TLS_AES_256_GCM_SHA384" */
    int  bits;                /* secret bits */
    int  alg_bits;            /* algorithm bits */
    int  peer_cert;           /* the peer sent a certificate */
    int  peer_trusted;        /* its chain verified against our trust anchors */
    int  peer_name_ok;        /* and it names one of the expected names */
    char verify_error[128];   /* why the chain did not verify, or "" */
} tls_info_t;

typedef struct tls_sess tls_sess_t;

/* The server side of the handshake on s, within timeout seconds (0 = no
 * limit). The caller must already have thrown away any plaintext read
 * ahead (stream_purge_input). On success every later read and write on s
 * goes through TLS. NULL with why ("lost connection", "timed out", or -1
 * after OpenSSL's errors were logged as "TLS library problem" warnings). */
tls_sess_t *tls_server_start(tls_ctx_t *ctx, stream_t *s, int timeout, buf_t *why);
/* The client side. sni: the server name to send (NULL, "" or an address:
 * none). names: NULL-terminated names the certificate is checked against
 * (peer_name_ok); a name starting with '.' matches any subdomain. */
tls_sess_t *tls_client_start(tls_ctx_t *ctx, stream_t *s, int timeout, const char *sni,
                             const char *const *names, buf_t *why);
const tls_info_t *tls_session_info(const tls_sess_t *t);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" */
void tls_info_summary(const tls_info_t *info, buf_t *out);
/* Sends close_notify (best effort, a short wait at most), frees the session
 * and gives s back its plain primitives. The fd stays open. NULL is fine. */
void tls_end(tls_sess_t *t);

#endif
