/* peer: who the client is. Numeric address, port, and the reverse name,
 * trusted only when it resolves back to the same address ("unknown"
 * otherwise), giving the "host[addr]" of every log line. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "address.h"
#include "alloc.h"
#include "log.h"
#include "smtpd.h"

#define UNKNOWN_NAME "unknown"

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes plain IPv4. */
static void unmap_v4(struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;
    struct sockaddr_in sin;

    if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
        return;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = sin6->sin6_port;
    memcpy(&sin.sin_addr, sin6->sin6_addr.s6_addr + 12, 4);
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, &sin, sizeof(sin));
    *len = sizeof(sin);
}

static int same_address(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *) a)->sin_addr,
                      &((const struct sockaddr_in *) b)->sin_addr, 4) == 0;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
                      &((const struct sockaddr_in6 *) b)->sin6_addr, 16) == 0;
    return 0;
}

/* Does name resolve back to the client's address? */
static int forward_confirmed(session_t *s, const char *name)
{
    struct addrinfo hints, *res, *ai;
    int err, found = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = s->sa.ss_family;
    hints.ai_socktype = SOCK_STREAM;
    if ((err = getaddrinfo(name, NULL, &hints, &res)) != 0) {
        msg_warn("hostname %s does not resolve to address %s: %s",
                 name, s->addr, gai_strerror(err));
        return 0;
    }
    for (ai = res; ai != NULL && !found; ai = ai->ai_next)
        found = same_address(ai->ai_addr, (struct sockaddr *) &s->sa);
    freeaddrinfo(res);
    if (!found)
        msg_warn("hostname %s does not resolve to address %s", name, s->addr);
    return found;
}

/* Looks the name up; a numeric or malformed PTR answer counts as none. */
static void lookup_name(session_t *s)
{
    char host[NI_MAXHOST];
    struct addrinfo hints, *res;

    s->reverse_name = xstrdup(UNKNOWN_NAME);
    s->name = xstrdup(UNKNOWN_NAME);
    if (!smtpd_var.peername_lookup)
        return;
    if (getnameinfo((struct sockaddr *) &s->sa, s->sa_len, host, sizeof(host),
                    NULL, 0, NI_NAMEREQD) != 0)
        return;
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(host, NULL, &hints, &res) == 0) {
        freeaddrinfo(res);
        msg_warn("numeric hostname %s for address %s", host, s->addr);
        return;
    }
    if (!addr_valid_domain(host)) {
        msg_warn("malformed hostname %s for address %s", host, s->addr);
        return;
    }
    free(s->reverse_name);
    s->reverse_name = xstrdup(host);
    if (forward_confirmed(s, host)) {
        free(s->name);
        s->name = xstrdup(host);
    }
}

static void set_numeric(session_t *s)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];

    if (getnameinfo((struct sockaddr *) &s->sa, s->sa_len, host, sizeof(host),
                    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        s->addr = xstrdup("unknown");
        s->port = xstrdup("unknown");
        s->rfc_addr = xstrdup("unknown");
        return;
    }
    s->addr = xstrdup(host);
    s->port = xstrdup(serv);
    if (s->sa.ss_family == AF_INET6) {
        buf_t b = BUF_INIT;

        buf_printf(&b, "IPv6:%s", host);
        s->rfc_addr = buf_steal(&b);
    } else {
        s->rfc_addr = xstrdup(host);
    }
}

/* The address given with -a (tests of -S mode), or loopback. */
static int parse_fake(session_t *s, const char *text)
{
    struct addrinfo hints, *res;

    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(text, NULL, &hints, &res) != 0)
        return -1;
    memcpy(&s->sa, res->ai_addr, res->ai_addrlen);
    s->sa_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void smtpd_peer_init(session_t *s, int fd, const char *fake_addr)
{
    int local_only = 0;

    memset(&s->sa, 0, sizeof(s->sa));
    s->sa_len = sizeof(s->sa);
    if (fake_addr != NULL) {
        if (parse_fake(s, fake_addr) < 0)
            msg_fatal("bad client address: %s", fake_addr);
    } else if (getpeername(fd, (struct sockaddr *) &s->sa, &s->sa_len) < 0
               || (s->sa.ss_family != AF_INET && s->sa.ss_family != AF_INET6)) {
        /* stdin of "smtpd -S", a pipe or a UNIX socket: a local submission. */
        (void) parse_fake(s, "127.0.0.1");
        local_only = 1;
    }
    unmap_v4(&s->sa, &s->sa_len);
    s->local_submission = local_only;
    set_numeric(s);
    if (local_only) {
        s->name = xstrdup("localhost");
        s->reverse_name = xstrdup("localhost");
    } else {
        lookup_name(s);
    }
    {
        buf_t b = BUF_INIT;

        buf_printf(&b, "%s[%s]", s->name, s->addr);
        s->namaddr = buf_steal(&b);
    }
}

void smtpd_peer_free(session_t *s)
{
    free(s->name);
    free(s->reverse_name);
    free(s->addr);
    free(s->rfc_addr);
    free(s->port);
    free(s->namaddr);
    s->name = s->reverse_name = s->addr = s->rfc_addr = s->port = s->namaddr = NULL;
}
