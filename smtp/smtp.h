/* smtp: what the files of the SMTP/LMTP delivery agent share. One binary
 * serves the smtp and relay services and, under the process name lmtp,
 * LMTP. A request is one message and its recipients for one nexthop: the
 * nexthop becomes a list of servers (route.c), the recipients are offered
 * to them in turn (session.c) until each is settled, and the content
 * comes from the mapped queue file (content.c). */
#ifndef FACTEUR_SMTP_SMTP_H
#define FACTEUR_SMTP_SMTP_H

#include <stddef.h>

#include "buf.h"
#include "delivery.h"
#include "dns.h"
#include "service.h"
#include "smtp_client.h"
#include "stream.h"

/* main.cf settings, read once at start-up (main.c). */
typedef struct smtp_agent_cfg {
    int             lmtp;               /* LMTP: LHLO, one reply per recipient */
    const char     *proto;              /* "smtp" or "lmtp": the parameter prefix */
    smtp_settings_t client;
    unsigned        default_port;       /* smtp_tcp_port / lmtp_tcp_port */
    long            mx_address_limit;   /* 0 = none */
    long            mx_session_limit;   /* 0 = none */
    int             want;               /* DNS_WANT_* from inet_protocols */
    int             prefer_v6;          /* smtp_address_preference = ipv6 */
    int             lookup_dns;         /* smtp_host_lookup has dns */
    int             lookup_native;      /* ... and/or native */
    int             native_first;       /* native listed before dns */
    const char     *myhostname;
} smtp_agent_cfg_t;

extern smtp_agent_cfg_t smtp_cfg;

/* One server to try. */
typedef struct server {
    char       *host;       /* name for logs */
    dns_addr_t  addr;       /* family 0 for a UNIX socket */
    unsigned    port;
    char       *path;       /* LMTP UNIX socket, else NULL */
} server_t;

typedef struct server_list {
    server_t *v;
    size_t    n;
    size_t    cap;
} server_list_t;

void server_list_free(server_list_t *l);

/* An outcome that is not a server's reply (routing failures). */
typedef struct agent_outcome {
    int   result;              /* DELIVERY_* */
    char  dsn[16];
    buf_t reason;
} agent_outcome_t;

void outcome_init(agent_outcome_t *o);
void outcome_release(agent_outcome_t *o);
void outcome_set(agent_outcome_t *o, int result, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* route.c: the servers for a nexthop (a list of destinations separated by
 * commas or spaces), best first, within smtp_mx_address_limit. 0, or -1
 * with the outcome for every recipient (DNS failure 4.4.3 / 5.4.4, mail
 * that loops back to myself 5.4.6, null MX 5.1.10, bad nexthop 4.3.5). */
int  route_servers(const char *nexthop, server_list_t *out, agent_outcome_t *fail);

/* One message as the agent sees it. */
typedef struct agent_msg {
    const delivery_request_t *req;
    const char *map;            /* whole queue file, read-only */
    size_t      map_size;
    size_t      data_offset;    /* first content record */
    int         body_8bit;
    int         queue_fd;
    double      start;          /* when the agent took the request */
} agent_msg_t;

/* content.c: the content callback for smtp_message_t, and the scan that
 * finds 8-bit content (BODY=8BITMIME) and checks the records first. */
int  content_write(smtp_conn_t *c, void *ctx, buf_t *why);
/* 0, or -1 when the content records are malformed. */
int  content_scan(agent_msg_t *msg);

/* session.c: delivers every recipient of msg, recording each one's fate
 * (delivery_record) into res. */
void deliver_message(agent_msg_t *msg, delivery_result_t *res);

/* request.c: one connection from qmgr. */
void smtp_serve(service_t *svc, stream_t *client);

double time_now(void);

#endif
