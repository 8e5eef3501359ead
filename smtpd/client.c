/* client: what the lists say about the client: mynetworks (and other host
 * match lists), this host's own interface addresses, and whether cleanup
 * may add missing headers for it (local_header_rewrite_clients). */
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"
#include "smtpd.h"

int smtpd_client_in_list(session_t *s, match_list_t *list)
{
    return match_list_host(list, s->name, s->addr) == MATCH_FOUND;
}

int smtpd_client_in_mynetworks(session_t *s)
{
    if (s->mynetworks_cached == -2)
        s->mynetworks_cached = match_list_host(smtpd_var.mynetworks, s->name, s->addr);
    return s->mynetworks_cached;
}

static const unsigned char *sockaddr_bytes(const struct sockaddr *sa, int *family)
{
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET)
        return (const unsigned char *) &((const struct sockaddr_in *) sa)->sin_addr;
    if (sa->sa_family == AF_INET6)
        return ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
    return NULL;
}

/* Is the client one of the addresses inet_interfaces names? */
static int client_is_listed_interface(session_t *s)
{
    match_list_t *list;
    int found = 0;

    for (size_t i = 0; i < smtpd_var.inet_interfaces->argc && !found; i++) {
        const char *name = smtpd_var.inet_interfaces->argv[i];

        if (strcasecmp(name, "loopback-only") == 0 || strcasecmp(name, "localhost") == 0)
            name = "127.0.0.0/8 [::1]/128";
        list = match_list_open("inet_interfaces", name, MATCH_LIST_HOST);
        found = match_list_host(list, NULL, s->addr) == MATCH_FOUND;
        match_list_free(list);
    }
    return found;
}

/* Is the client address one of this host's interface addresses? */
static int client_is_interface(session_t *s)
{
    struct ifaddrs *ifa, *p;
    int found = 0, f2;
    const unsigned char *b = sockaddr_bytes((const struct sockaddr *) &s->sa, &f2);

    if (smtpd_var.inet_interfaces->argc > 0
        && strcasecmp(smtpd_var.inet_interfaces->argv[0], "all") != 0)
        return client_is_listed_interface(s);
    if (b == NULL)
        return 0;
    if (getifaddrs(&ifa) < 0) {
        msg_warn("getifaddrs: %m");
        return 0;
    }
    for (p = ifa; p != NULL && !found; p = p->ifa_next) {
        int f1;
        const unsigned char *a;

        if (p->ifa_addr == NULL || (a = sockaddr_bytes(p->ifa_addr, &f1)) == NULL)
            continue;
        found = f1 == f2 && memcmp(a, b, f1 == AF_INET ? 4 : 16) == 0;
    }
    freeifaddrs(ifa);
    return found;
}

/* local_header_rewrite_clients: does cleanup add missing headers? */
int smtpd_client_local_context(session_t *s)
{
    for (size_t i = 0; i < smtpd_var.local_rewrite_clients->argc; i++) {
        const char *r = smtpd_var.local_rewrite_clients->argv[i];

        if (strcasecmp(r, "permit_inet_interfaces") == 0 && client_is_interface(s))
            return 1;
        if (strcasecmp(r, "permit_mynetworks") == 0
            && smtpd_client_in_mynetworks(s) == MATCH_FOUND)
            return 1;
        if (strcasecmp(r, "static:all") == 0)
            return 1;
    }
    return 0;
}
