/* params: the one table of every main.cf parameter (name, type, default,
 * default time unit), sorted by name, and the defaults that are computed
 * from the host (myhostname, mydomain, mynetworks). Defaults are Postfix
 * 3.7's effective values at compatibility_level 3.6; lib/config.c applies the
 * legacy values that a lower compatibility_level selects. */
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "log.h"

#define DEFAULT_DOMAIN "localdomain"

/* myhostname: the kernel's host name; a name without a dot gets
 * ".$mydomain" (when main.cf sets mydomain) or ".localdomain". */
static const char *param_default_myhostname(void)
{
    static buf_t result = BUF_INIT;
    char host[256];

    if (gethostname(host, sizeof(host)) < 0) {
        msg_warn("gethostname: %s", strerror(errno));
        host[0] = 0;
    }
    host[sizeof(host) - 1] = 0;
    buf_set(&result, host[0] ? host : "localhost");
    if (strchr(host, '.') == NULL) {
        const char *domain = config_is_set("mydomain") ? config_get("mydomain") : NULL;

        buf_printf(&result, ".%s", domain && *domain ? domain : DEFAULT_DOMAIN);
    }
    return buf_str(&result);
}

/* mydomain: myhostname minus its first label, unless that would leave a
 * single label (a bare top-level domain): then "localdomain". */
static const char *param_default_mydomain(void)
{
    static buf_t result = BUF_INIT;
    const char *host = config_get("myhostname");
    const char *dot = host ? strchr(host, '.') : NULL;

    if (dot == NULL || strchr(dot + 1, '.') == NULL)
        buf_set(&result, DEFAULT_DOMAIN);
    else
        buf_set(&result, dot + 1);
    return buf_str(&result);
}

/* ---- mynetworks from mynetworks_style and the host's interfaces ---- */

enum net_style { NET_HOST, NET_SUBNET, NET_CLASS };

static int mask_prefix_len(const unsigned char *mask, size_t len)
{
    int bits = 0;

    for (size_t i = 0; i < len; i++)
        for (int b = 7; b >= 0; b--)
            if (mask[i] & (1 << b))
                bits++;
    return bits;
}

static void apply_prefix(unsigned char *addr, size_t len, int prefix)
{
    for (size_t i = 0; i < len; i++) {
        int keep = prefix - (int) (i * 8);

        if (keep >= 8)
            continue;
        addr[i] &= keep <= 0 ? 0 : (unsigned char) (0xff << (8 - keep));
    }
}

/* The prefix length for an address under the chosen style. */
static int style_prefix(enum net_style style, int family, const unsigned char *addr,
                        const struct sockaddr *netmask)
{
    int full = family == AF_INET ? 32 : 128;

    if (style == NET_HOST)
        return full;
    if (style == NET_CLASS && family == AF_INET) {
        if (addr[0] < 128)
            return 8;
        if (addr[0] < 192)
            return 16;
        if (addr[0] < 224)
            return 24;
        return 32;
    }
    if (netmask == NULL)
        return full;
    if (family == AF_INET)
        return mask_prefix_len((const unsigned char *)
                               &((const struct sockaddr_in *) netmask)->sin_addr, 4);
    return mask_prefix_len(((const struct sockaddr_in6 *) netmask)->sin6_addr.s6_addr, 16);
}

/* Is this interface address one that inet_interfaces selects? */
static int interface_selected(const argv_t *ifaces, const char *numeric, int loopback)
{
    for (size_t i = 0; i < ifaces->argc; i++) {
        const char *w = ifaces->argv[i];
        size_t n = strlen(w);

        if (strcmp(w, "all") == 0)
            return 1;
        if (loopback && (strcmp(w, "loopback-only") == 0 || strcmp(w, "localhost") == 0))
            return 1;
        if (strcmp(w, numeric) == 0)
            return 1;
        if (n > 2 && w[0] == '[' && w[n - 1] == ']' && strlen(numeric) == n - 2
            && strncmp(w + 1, numeric, n - 2) == 0)
            return 1;
    }
    return 0;
}

static void add_unique(argv_t *list, const char *s)
{
    for (size_t i = 0; i < list->argc; i++)
        if (strcmp(list->argv[i], s) == 0)
            return;
    argv_add(list, s);
}

/* One "net/len" (IPv4) or "[net]/len" (IPv6) entry per selected address. */
static void add_family_networks(argv_t *out, const struct ifaddrs *list, int family,
                                enum net_style style, const argv_t *ifaces)
{
    for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
        unsigned char addr[16];
        char numeric[INET6_ADDRSTRLEN];
        size_t len = family == AF_INET ? 4 : 16;
        buf_t entry = BUF_INIT;
        int prefix;

        if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != family)
            continue;
        if (family == AF_INET)
            memcpy(addr, &((const struct sockaddr_in *) ifa->ifa_addr)->sin_addr, len);
        else
            memcpy(addr, ((const struct sockaddr_in6 *) ifa->ifa_addr)->sin6_addr.s6_addr, len);
        if (inet_ntop(family, addr, numeric, sizeof(numeric)) == NULL)
            continue;
        if (!interface_selected(ifaces, numeric, (ifa->ifa_flags & IFF_LOOPBACK) != 0))
            continue;
        prefix = style_prefix(style, family, addr, ifa->ifa_netmask);
        apply_prefix(addr, len, prefix);
        if (inet_ntop(family, addr, numeric, sizeof(numeric)) == NULL)
            continue;
        buf_printf(&entry, family == AF_INET ? "%s/%d" : "[%s]/%d", numeric, prefix);
        add_unique(out, buf_str(&entry));
        buf_release(&entry);
    }
}

static enum net_style parse_net_style(const char *text)
{
    if (strcasecmp(text, "host") == 0)
        return NET_HOST;
    if (strcasecmp(text, "subnet") == 0)
        return NET_SUBNET;
    if (strcasecmp(text, "class") == 0)
        return NET_CLASS;
    msg_fatal("unknown mynetworks_style parameter value: %s", text);
}

static void protocols_wanted(int *want4, int *want6)
{
    argv_t *protos = config_list("inet_protocols");

    *want4 = *want6 = 0;
    for (size_t i = 0; i < protos->argc; i++) {
        const char *p = protos->argv[i];

        if (strcasecmp(p, "all") == 0 || strcasecmp(p, "any") == 0)
            *want4 = *want6 = 1;
        else if (strcasecmp(p, "ipv4") == 0)
            *want4 = 1;
        else if (strcasecmp(p, "ipv6") == 0)
            *want6 = 1;
    }
    argv_free(protos);
}

/* mynetworks: the networks of the host's own addresses (those selected by
 * inet_interfaces and inet_protocols), as mynetworks_style says. */
static const char *param_default_mynetworks(void)
{
    static buf_t result = BUF_INIT;
    enum net_style style = parse_net_style(config_str("mynetworks_style"));
    argv_t *ifaces = config_list("inet_interfaces");
    argv_t *nets = argv_new();
    struct ifaddrs *list;
    int want4, want6;

    protocols_wanted(&want4, &want6);
    buf_reset(&result);
    if (getifaddrs(&list) < 0) {
        msg_warn("getifaddrs: %s; mynetworks defaults to the loopback networks",
                 strerror(errno));
        if (want4)
            argv_add(nets, "127.0.0.0/8");
        if (want6)
            argv_add(nets, "[::1]/128");
    } else {
        if (want4)
            add_family_networks(nets, list, AF_INET, style, ifaces);
        if (want6)
            add_family_networks(nets, list, AF_INET6, style, ifaces);
        freeifaddrs(list);
    }
    for (size_t i = 0; i < nets->argc; i++)
        buf_printf(&result, "%s%s", i ? " " : "", nets->argv[i]);
    argv_free(nets);
    argv_free(ifaces);
    return buf_str(&result);
}

/* ---- the table ---- */

/* Keep sorted by name (byte order): param_find() uses binary search and
 * tests/unit/test_config.c checks the order. */
const param_def_t param_table[] = {
    { "2bounce_notice_recipient", PARAM_STR, "postmaster", 0, NULL },
    { "access_map_defer_code", PARAM_INT, "450", 0, NULL },
    { "access_map_reject_code", PARAM_INT, "554", 0, NULL },
    { "address_verify_map", PARAM_STR, "btree:$data_directory/verify_cache", 0, NULL },
    { "address_verify_sender", PARAM_STR, "$double_bounce_sender", 0, NULL },
    { "address_verify_service_name", PARAM_STR, "verify", 0, NULL },
    { "alias_database", PARAM_LIST, "hash:/etc/aliases", 0, NULL },
    { "alias_maps", PARAM_LIST, "hash:/etc/aliases, nis:mail.aliases", 0, NULL },
    { "allow_mail_to_commands", PARAM_LIST, "alias, forward", 0, NULL },
    { "allow_mail_to_files", PARAM_LIST, "alias, forward", 0, NULL },
    { "allow_min_user", PARAM_BOOL, "no", 0, NULL },
    { "allow_percent_hack", PARAM_BOOL, "yes", 0, NULL },
    { "allow_untrusted_routing", PARAM_BOOL, "no", 0, NULL },
    { "alternate_config_directories", PARAM_LIST, "", 0, NULL },
    { "always_add_missing_headers", PARAM_BOOL, "no", 0, NULL },
    { "always_bcc", PARAM_STR, "", 0, NULL },
    { "anvil_rate_time_unit", PARAM_TIME, "60s", 's', NULL },
    { "anvil_status_update_time", PARAM_TIME, "600s", 's', NULL },
    { "append_at_myorigin", PARAM_BOOL, "yes", 0, NULL },
    { "append_dot_mydomain", PARAM_BOOL, "no", 0, NULL },
    { "application_event_drain_time", PARAM_TIME, "100s", 's', NULL },
    { "authorized_flush_users", PARAM_LIST, "static:anyone", 0, NULL },
    { "authorized_mailq_users", PARAM_LIST, "static:anyone", 0, NULL },
    { "authorized_submit_users", PARAM_LIST, "static:anyone", 0, NULL },
    { "authorized_verp_clients", PARAM_LIST, "$mynetworks", 0, NULL },
    { "backwards_bounce_logfile_compatibility", PARAM_BOOL, "yes", 0, NULL },
    { "berkeley_db_create_buffer_size", PARAM_INT, "16777216", 0, NULL },
    { "berkeley_db_read_buffer_size", PARAM_INT, "131072", 0, NULL },
    { "best_mx_transport", PARAM_STR, "", 0, NULL },
    { "biff", PARAM_BOOL, "yes", 0, NULL },
    { "body_checks", PARAM_LIST, "", 0, NULL },
    { "body_checks_size_limit", PARAM_INT, "51200", 0, NULL },
    { "bounce_notice_recipient", PARAM_STR, "postmaster", 0, NULL },
    { "bounce_queue_lifetime", PARAM_TIME, "5d", 'd', NULL },
    { "bounce_service_name", PARAM_STR, "bounce", 0, NULL },
    { "bounce_size_limit", PARAM_INT, "50000", 0, NULL },
    { "bounce_template_file", PARAM_STR, "", 0, NULL },
    { "canonical_classes", PARAM_LIST, "envelope_sender, envelope_recipient, header_sender, header_recipient", 0, NULL },
    { "canonical_maps", PARAM_LIST, "", 0, NULL },
    { "cleanup_replace_stray_cr_lf", PARAM_BOOL, "yes", 0, NULL },
    { "cleanup_service_name", PARAM_STR, "cleanup", 0, NULL },
    { "command_directory", PARAM_STR, "/usr/sbin", 0, NULL },
    { "command_execution_directory", PARAM_STR, "", 0, NULL },
    { "command_expansion_filter", PARAM_STR, "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 0, NULL },
    { "command_time_limit", PARAM_TIME, "1000s", 's', NULL },
    { "compatibility_level", PARAM_STR, "0", 0, NULL },
    { "config_directory", PARAM_STR, "/etc/postfix", 0, NULL },
    { "confirm_delay_cleared", PARAM_BOOL, "no", 0, NULL },
    { "connection_cache_service_name", PARAM_STR, "scache", 0, NULL },
    { "content_filter", PARAM_STR, "", 0, NULL },
    { "daemon_directory", PARAM_STR, "/usr/lib/postfix/sbin", 0, NULL },
    { "daemon_table_open_error_is_fatal", PARAM_BOOL, "no", 0, NULL },
    { "daemon_timeout", PARAM_TIME, "18000s", 's', NULL },
    { "data_directory", PARAM_STR, "/var/lib/postfix", 0, NULL },
    { "debug_peer_level", PARAM_INT, "2", 0, NULL },
    { "debug_peer_list", PARAM_LIST, "", 0, NULL },
    { "default_database_type", PARAM_STR, "hash", 0, NULL },
    { "default_delivery_slot_cost", PARAM_INT, "5", 0, NULL },
    { "default_delivery_slot_discount", PARAM_INT, "50", 0, NULL },
    { "default_delivery_slot_loan", PARAM_INT, "3", 0, NULL },
    { "default_delivery_status_filter", PARAM_LIST, "", 0, NULL },
    { "default_destination_concurrency_failed_cohort_limit", PARAM_INT, "1", 0, NULL },
    { "default_destination_concurrency_limit", PARAM_INT, "20", 0, NULL },
    { "default_destination_concurrency_negative_feedback", PARAM_STR, "1", 0, NULL },
    { "default_destination_concurrency_positive_feedback", PARAM_STR, "1", 0, NULL },
    { "default_destination_rate_delay", PARAM_TIME, "0s", 's', NULL },
    { "default_destination_recipient_limit", PARAM_INT, "50", 0, NULL },
    { "default_extra_recipient_limit", PARAM_INT, "1000", 0, NULL },
    { "default_filter_nexthop", PARAM_STR, "", 0, NULL },
    { "default_minimum_delivery_slots", PARAM_INT, "3", 0, NULL },
    { "default_privs", PARAM_STR, "nobody", 0, NULL },
    { "default_process_limit", PARAM_INT, "100", 0, NULL },
    { "default_rbl_reply", PARAM_STR, "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}", 0, NULL },
    { "default_recipient_limit", PARAM_INT, "20000", 0, NULL },
    { "default_recipient_refill_delay", PARAM_TIME, "5s", 's', NULL },
    { "default_recipient_refill_limit", PARAM_INT, "100", 0, NULL },
    { "default_transport", PARAM_STR, "smtp", 0, NULL },
    { "default_transport_rate_delay", PARAM_TIME, "0s", 's', NULL },
    { "default_verp_delimiters", PARAM_STR, "+=", 0, NULL },
    { "defer_code", PARAM_INT, "450", 0, NULL },
    { "defer_service_name", PARAM_STR, "defer", 0, NULL },
    { "defer_transports", PARAM_LIST, "", 0, NULL },
    { "delay_logging_resolution_limit", PARAM_INT, "2", 0, NULL },
    { "delay_notice_recipient", PARAM_STR, "postmaster", 0, NULL },
    { "delay_warning_time", PARAM_TIME, "0h", 'h', NULL },
    { "deliver_lock_attempts", PARAM_INT, "20", 0, NULL },
    { "deliver_lock_delay", PARAM_TIME, "1s", 's', NULL },
    { "detect_8bit_encoding_header", PARAM_BOOL, "yes", 0, NULL },
    { "disable_dns_lookups", PARAM_BOOL, "no", 0, NULL },
    { "disable_mime_input_processing", PARAM_BOOL, "no", 0, NULL },
    { "disable_mime_output_conversion", PARAM_BOOL, "no", 0, NULL },
    { "disable_verp_bounces", PARAM_BOOL, "no", 0, NULL },
    { "disable_vrfy_command", PARAM_BOOL, "no", 0, NULL },
    { "dont_remove", PARAM_BOOL, "no", 0, NULL },
    { "double_bounce_sender", PARAM_STR, "double-bounce", 0, NULL },
    { "duplicate_filter_limit", PARAM_INT, "1000", 0, NULL },
    { "empty_address_recipient", PARAM_STR, "MAILER-DAEMON", 0, NULL },
    { "empty_address_relayhost_maps_lookup_key", PARAM_STR, "<>", 0, NULL },
    { "enable_long_queue_ids", PARAM_BOOL, "no", 0, NULL },
    { "enable_original_recipient", PARAM_BOOL, "yes", 0, NULL },
    { "error_notice_recipient", PARAM_STR, "postmaster", 0, NULL },
    { "error_service_name", PARAM_STR, "error", 0, NULL },
    { "execution_directory_expansion_filter", PARAM_STR, "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 0, NULL },
    { "expand_owner_alias", PARAM_BOOL, "no", 0, NULL },
    { "export_environment", PARAM_LIST, "TZ MAIL_CONFIG LANG", 0, NULL },
    { "fallback_relay", PARAM_LIST, "", 0, NULL },
    { "fallback_transport", PARAM_STR, "", 0, NULL },
    { "fallback_transport_maps", PARAM_LIST, "", 0, NULL },
    { "fast_flush_domains", PARAM_LIST, "$relay_domains", 0, NULL },
    { "fast_flush_purge_time", PARAM_TIME, "7d", 'd', NULL },
    { "fast_flush_refresh_time", PARAM_TIME, "12h", 'h', NULL },
    { "fault_injection_code", PARAM_INT, "0", 0, NULL },
    { "flush_service_name", PARAM_STR, "flush", 0, NULL },
    { "fork_attempts", PARAM_INT, "5", 0, NULL },
    { "fork_delay", PARAM_TIME, "1s", 's', NULL },
    { "forward_expansion_filter", PARAM_STR, "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 0, NULL },
    { "forward_path", PARAM_LIST, "$home/.forward${recipient_delimiter}${extension}, $home/.forward", 0, NULL },
    { "frozen_delivered_to", PARAM_BOOL, "yes", 0, NULL },
    { "hash_queue_depth", PARAM_INT, "1", 0, NULL },
    { "hash_queue_names", PARAM_LIST, "deferred, defer", 0, NULL },
    { "header_address_token_limit", PARAM_INT, "10240", 0, NULL },
    { "header_checks", PARAM_LIST, "", 0, NULL },
    { "header_from_format", PARAM_STR, "standard", 0, NULL },
    { "header_size_limit", PARAM_INT, "102400", 0, NULL },
    { "helpful_warnings", PARAM_BOOL, "yes", 0, NULL },
    { "home_mailbox", PARAM_STR, "", 0, NULL },
    { "hopcount_limit", PARAM_INT, "50", 0, NULL },
    { "html_directory", PARAM_STR, "no", 0, NULL },
    { "ignore_mx_lookup_error", PARAM_BOOL, "no", 0, NULL },
    { "import_environment", PARAM_LIST, "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME", 0, NULL },
    { "in_flow_delay", PARAM_TIME, "1s", 's', NULL },
    { "inet_interfaces", PARAM_LIST, "all", 0, NULL },
    { "inet_protocols", PARAM_LIST, "all", 0, NULL },
    { "info_log_address_format", PARAM_STR, "external", 0, NULL },
    { "initial_destination_concurrency", PARAM_INT, "5", 0, NULL },
    { "internal_mail_filter_classes", PARAM_LIST, "", 0, NULL },
    { "invalid_hostname_reject_code", PARAM_INT, "501", 0, NULL },
    { "ipc_idle", PARAM_TIME, "5s", 's', NULL },
    { "ipc_timeout", PARAM_TIME, "3600s", 's', NULL },
    { "ipc_ttl", PARAM_TIME, "1000s", 's', NULL },
    { "line_length_limit", PARAM_INT, "2048", 0, NULL },
    { "lmdb_map_size", PARAM_SIZE, "16777216", 0, NULL },
    { "lmtp_connect_timeout", PARAM_TIME, "0s", 's', NULL },
    { "lmtp_lhlo_name", PARAM_STR, "$myhostname", 0, NULL },
    { "lmtp_tcp_port", PARAM_STR, "24", 0, NULL },
    { "local_command_shell", PARAM_STR, "", 0, NULL },
    { "local_delivery_status_filter", PARAM_LIST, "$default_delivery_status_filter", 0, NULL },
    { "local_destination_concurrency_limit", PARAM_INT, "2", 0, NULL },
    { "local_destination_recipient_limit", PARAM_INT, "1", 0, NULL },
    { "local_header_rewrite_clients", PARAM_LIST, "permit_inet_interfaces", 0, NULL },
    { "local_login_sender_maps", PARAM_LIST, "static:*", 0, NULL },
    { "local_recipient_maps", PARAM_LIST, "proxy:unix:passwd.byname $alias_maps", 0, NULL },
    { "local_transport", PARAM_STR, "local:$myhostname", 0, NULL },
    { "luser_relay", PARAM_STR, "", 0, NULL },
    { "mail_name", PARAM_STR, "Postfix", 0, NULL },
    { "mail_owner", PARAM_STR, "postfix", 0, NULL },
    { "mail_spool_directory", PARAM_STR, "/var/mail", 0, NULL },
    { "mail_version", PARAM_STR, "3.7.11", 0, NULL },
    { "mailbox_command", PARAM_STR, "", 0, NULL },
    { "mailbox_command_maps", PARAM_LIST, "", 0, NULL },
    { "mailbox_delivery_lock", PARAM_LIST, "fcntl, dotlock", 0, NULL },
    { "mailbox_size_limit", PARAM_SIZE, "51200000", 0, NULL },
    { "mailbox_transport", PARAM_STR, "", 0, NULL },
    { "mailbox_transport_maps", PARAM_LIST, "", 0, NULL },
    { "maillog_file", PARAM_STR, "", 0, NULL },
    { "maillog_file_compressor", PARAM_STR, "gzip", 0, NULL },
    { "maillog_file_prefixes", PARAM_LIST, "/var, /dev/stdout", 0, NULL },
    { "maillog_file_rotate_suffix", PARAM_STR, "%Y%m%d-%H%M%S", 0, NULL },
    { "mailq_path", PARAM_STR, "/usr/bin/mailq", 0, NULL },
    { "manpage_directory", PARAM_STR, "/usr/share/man", 0, NULL },
    { "maps_rbl_reject_code", PARAM_INT, "554", 0, NULL },
    { "masquerade_classes", PARAM_LIST, "envelope_sender, header_sender, header_recipient", 0, NULL },
    { "masquerade_domains", PARAM_LIST, "", 0, NULL },
    { "masquerade_exceptions", PARAM_LIST, "", 0, NULL },
    { "master_service_disable", PARAM_LIST, "", 0, NULL },
    { "max_idle", PARAM_TIME, "100s", 's', NULL },
    { "max_use", PARAM_INT, "100", 0, NULL },
    { "maximal_backoff_time", PARAM_TIME, "4000s", 's', NULL },
    { "maximal_queue_lifetime", PARAM_TIME, "5d", 'd', NULL },
    { "message_drop_headers", PARAM_LIST, "bcc, content-length, resent-bcc, return-path", 0, NULL },
    { "message_reject_characters", PARAM_STR, "", 0, NULL },
    { "message_size_limit", PARAM_SIZE, "10240000", 0, NULL },
    { "message_strip_characters", PARAM_STR, "", 0, NULL },
    { "meta_directory", PARAM_STR, "/etc/postfix", 0, NULL },
    { "milter_command_timeout", PARAM_TIME, "30s", 's', NULL },
    { "milter_connect_timeout", PARAM_TIME, "30s", 's', NULL },
    { "milter_content_timeout", PARAM_TIME, "300s", 's', NULL },
    { "milter_default_action", PARAM_STR, "tempfail", 0, NULL },
    { "milter_header_checks", PARAM_LIST, "", 0, NULL },
    { "milter_macro_daemon_name", PARAM_STR, "$myhostname", 0, NULL },
    { "milter_macro_v", PARAM_STR, "$mail_name $mail_version", 0, NULL },
    { "milter_protocol", PARAM_STR, "6", 0, NULL },
    { "mime_boundary_length_limit", PARAM_INT, "2048", 0, NULL },
    { "mime_header_checks", PARAM_LIST, "$header_checks", 0, NULL },
    { "mime_nesting_limit", PARAM_INT, "100", 0, NULL },
    { "minimal_backoff_time", PARAM_TIME, "300s", 's', NULL },
    { "multi_instance_directories", PARAM_LIST, "", 0, NULL },
    { "multi_instance_enable", PARAM_BOOL, "no", 0, NULL },
    { "multi_instance_group", PARAM_STR, "", 0, NULL },
    { "multi_instance_name", PARAM_STR, "", 0, NULL },
    { "multi_instance_wrapper", PARAM_STR, "", 0, NULL },
    { "multi_recipient_bounce_reject_code", PARAM_INT, "550", 0, NULL },
    { "mydestination", PARAM_LIST, "$myhostname, localhost.$mydomain, localhost", 0, NULL },
    { "mydomain", PARAM_STR, NULL, 0, param_default_mydomain },
    { "myhostname", PARAM_STR, NULL, 0, param_default_myhostname },
    { "mynetworks", PARAM_LIST, NULL, 0, param_default_mynetworks },
    { "mynetworks_style", PARAM_STR, "host", 0, NULL },
    { "myorigin", PARAM_STR, "$myhostname", 0, NULL },
    { "nested_header_checks", PARAM_LIST, "$header_checks", 0, NULL },
    { "newaliases_path", PARAM_STR, "/usr/bin/newaliases", 0, NULL },
    { "non_fqdn_reject_code", PARAM_INT, "504", 0, NULL },
    { "non_smtpd_milters", PARAM_LIST, "", 0, NULL },
    { "notify_classes", PARAM_LIST, "resource, software", 0, NULL },
    { "openssl_path", PARAM_STR, "openssl", 0, NULL },
    { "owner_request_special", PARAM_BOOL, "yes", 0, NULL },
    { "parent_domain_matches_subdomains", PARAM_LIST, "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps", 0, NULL },
    { "permit_mx_backup_networks", PARAM_LIST, "", 0, NULL },
    { "pickup_service_name", PARAM_STR, "pickup", 0, NULL },
    { "plaintext_reject_code", PARAM_INT, "450", 0, NULL },
    { "postlog_service_name", PARAM_STR, "postlog", 0, NULL },
    { "prepend_delivered_header", PARAM_LIST, "command, file, forward", 0, NULL },
    { "process_id_directory", PARAM_STR, "pid", 0, NULL },
    { "propagate_unmatched_extensions", PARAM_LIST, "canonical, virtual", 0, NULL },
    { "proxy_interfaces", PARAM_LIST, "", 0, NULL },
    { "proxy_read_access_list", PARAM_LIST, "reject", 0, NULL },
    { "proxy_write_access_list", PARAM_LIST, "reject", 0, NULL },
    { "proxymap_service_name", PARAM_STR, "proxymap", 0, NULL },
    { "proxywrite_service_name", PARAM_STR, "proxywrite", 0, NULL },
    { "qmgr_clog_warn_time", PARAM_TIME, "300s", 's', NULL },
    { "qmgr_daemon_timeout", PARAM_TIME, "1000s", 's', NULL },
    { "qmgr_fudge_factor", PARAM_INT, "100", 0, NULL },
    { "qmgr_ipc_timeout", PARAM_TIME, "60s", 's', NULL },
    { "qmgr_message_active_limit", PARAM_INT, "20000", 0, NULL },
    { "qmgr_message_recipient_limit", PARAM_INT, "20000", 0, NULL },
    { "qmgr_message_recipient_minimum", PARAM_INT, "10", 0, NULL },
    { "qmqpd_authorized_clients", PARAM_LIST, "", 0, NULL },
    { "queue_directory", PARAM_STR, "/var/spool/postfix", 0, NULL },
    { "queue_file_attribute_count_limit", PARAM_INT, "100", 0, NULL },
    { "queue_minfree", PARAM_SIZE, "0", 0, NULL },
    { "queue_run_delay", PARAM_TIME, "300s", 's', NULL },
    { "queue_service_name", PARAM_STR, "qmgr", 0, NULL },
    { "rbl_reply_maps", PARAM_LIST, "", 0, NULL },
    { "readme_directory", PARAM_STR, "no", 0, NULL },
    { "receive_override_options", PARAM_LIST, "", 0, NULL },
    { "recipient_bcc_maps", PARAM_LIST, "", 0, NULL },
    { "recipient_canonical_classes", PARAM_LIST, "envelope_recipient, header_recipient", 0, NULL },
    { "recipient_canonical_maps", PARAM_LIST, "", 0, NULL },
    { "recipient_delimiter", PARAM_STR, "", 0, NULL },
    { "reject_code", PARAM_INT, "554", 0, NULL },
    { "reject_tempfail_action", PARAM_STR, "defer_if_permit", 0, NULL },
    { "relay_clientcerts", PARAM_LIST, "", 0, NULL },
    { "relay_domains", PARAM_LIST, "", 0, NULL },
    { "relay_domains_reject_code", PARAM_INT, "554", 0, NULL },
    { "relay_recipient_maps", PARAM_LIST, "", 0, NULL },
    { "relay_transport", PARAM_STR, "relay", 0, NULL },
    { "relayhost", PARAM_STR, "", 0, NULL },
    { "relocated_maps", PARAM_LIST, "", 0, NULL },
    { "remote_header_rewrite_domain", PARAM_STR, "", 0, NULL },
    { "require_home_directory", PARAM_BOOL, "no", 0, NULL },
    { "reset_owner_alias", PARAM_BOOL, "no", 0, NULL },
    { "resolve_dequoted_address", PARAM_BOOL, "yes", 0, NULL },
    { "resolve_null_domain", PARAM_BOOL, "no", 0, NULL },
    { "resolve_numeric_domain", PARAM_BOOL, "no", 0, NULL },
    { "respectful_logging", PARAM_BOOL, "yes", 0, NULL },
    { "rewrite_service_name", PARAM_STR, "rewrite", 0, NULL },
    { "sample_directory", PARAM_STR, "/etc/postfix", 0, NULL },
    { "send_cyrus_sasl_authzid", PARAM_BOOL, "no", 0, NULL },
    { "sender_based_routing", PARAM_BOOL, "no", 0, NULL },
    { "sender_bcc_maps", PARAM_LIST, "", 0, NULL },
    { "sender_canonical_classes", PARAM_LIST, "envelope_sender, header_sender", 0, NULL },
    { "sender_canonical_maps", PARAM_LIST, "", 0, NULL },
    { "sender_dependent_default_transport_maps", PARAM_LIST, "", 0, NULL },
    { "sender_dependent_relayhost_maps", PARAM_LIST, "", 0, NULL },
    { "sendmail_fix_line_endings", PARAM_STR, "always", 0, NULL },
    { "sendmail_path", PARAM_STR, "/usr/sbin/sendmail", 0, NULL },
    { "service_throttle_time", PARAM_TIME, "60s", 's', NULL },
    { "setgid_group", PARAM_STR, "postdrop", 0, NULL },
    { "shlib_directory", PARAM_STR, "/usr/lib/postfix", 0, NULL },
    { "show_user_unknown_table_name", PARAM_BOOL, "yes", 0, NULL },
    { "showq_service_name", PARAM_STR, "showq", 0, NULL },
    { "smtp_address_preference", PARAM_STR, "any", 0, NULL },
    { "smtp_always_send_ehlo", PARAM_BOOL, "yes", 0, NULL },
    { "smtp_bind_address", PARAM_STR, "", 0, NULL },
    { "smtp_bind_address6", PARAM_STR, "", 0, NULL },
    { "smtp_body_checks", PARAM_LIST, "", 0, NULL },
    { "smtp_connect_timeout", PARAM_TIME, "30s", 's', NULL },
    { "smtp_connection_cache_destinations", PARAM_LIST, "", 0, NULL },
    { "smtp_connection_cache_on_demand", PARAM_BOOL, "yes", 0, NULL },
    { "smtp_connection_cache_time_limit", PARAM_TIME, "2s", 's', NULL },
    { "smtp_data_done_timeout", PARAM_TIME, "600s", 's', NULL },
    { "smtp_data_init_timeout", PARAM_TIME, "120s", 's', NULL },
    { "smtp_data_xfer_timeout", PARAM_TIME, "180s", 's', NULL },
    { "smtp_defer_if_no_mx_address_found", PARAM_BOOL, "no", 0, NULL },
    { "smtp_delivery_status_filter", PARAM_LIST, "$default_delivery_status_filter", 0, NULL },
    { "smtp_dns_support_level", PARAM_STR, "", 0, NULL },
    { "smtp_enforce_tls", PARAM_BOOL, "no", 0, NULL },
    { "smtp_fallback_relay", PARAM_LIST, "$fallback_relay", 0, NULL },
    { "smtp_generic_maps", PARAM_LIST, "", 0, NULL },
    { "smtp_header_checks", PARAM_LIST, "", 0, NULL },
    { "smtp_helo_name", PARAM_STR, "$myhostname", 0, NULL },
    { "smtp_helo_timeout", PARAM_TIME, "300s", 's', NULL },
    { "smtp_host_lookup", PARAM_LIST, "dns", 0, NULL },
    { "smtp_line_length_limit", PARAM_INT, "998", 0, NULL },
    { "smtp_mail_timeout", PARAM_TIME, "300s", 's', NULL },
    { "smtp_mx_address_limit", PARAM_INT, "5", 0, NULL },
    { "smtp_mx_session_limit", PARAM_INT, "2", 0, NULL },
    { "smtp_never_send_ehlo", PARAM_BOOL, "no", 0, NULL },
    { "smtp_quit_timeout", PARAM_TIME, "300s", 's', NULL },
    { "smtp_quote_rfc821_envelope", PARAM_BOOL, "yes", 0, NULL },
    { "smtp_randomize_addresses", PARAM_BOOL, "yes", 0, NULL },
    { "smtp_rcpt_timeout", PARAM_TIME, "300s", 's', NULL },
    { "smtp_rset_timeout", PARAM_TIME, "20s", 's', NULL },
    { "smtp_sasl_auth_enable", PARAM_BOOL, "no", 0, NULL },
    { "smtp_sasl_mechanism_filter", PARAM_LIST, "", 0, NULL },
    { "smtp_sasl_password_maps", PARAM_LIST, "", 0, NULL },
    { "smtp_sasl_path", PARAM_STR, "", 0, NULL },
    { "smtp_sasl_security_options", PARAM_LIST, "noplaintext, noanonymous", 0, NULL },
    { "smtp_sasl_tls_security_options", PARAM_LIST, "$smtp_sasl_security_options", 0, NULL },
    { "smtp_sasl_type", PARAM_STR, "cyrus", 0, NULL },
    { "smtp_send_xforward_command", PARAM_BOOL, "no", 0, NULL },
    { "smtp_skip_5xx_greeting", PARAM_BOOL, "yes", 0, NULL },
    { "smtp_skip_quit_response", PARAM_BOOL, "yes", 0, NULL },
    { "smtp_starttls_timeout", PARAM_TIME, "300s", 's', NULL },
    { "smtp_tcp_port", PARAM_STR, "smtp", 0, NULL },
    { "smtp_tls_CAfile", PARAM_STR, "", 0, NULL },
    { "smtp_tls_CApath", PARAM_STR, "", 0, NULL },
    { "smtp_tls_cert_file", PARAM_STR, "", 0, NULL },
    { "smtp_tls_fingerprint_digest", PARAM_STR, "sha256", 0, NULL },
    { "smtp_tls_key_file", PARAM_STR, "$smtp_tls_cert_file", 0, NULL },
    { "smtp_tls_loglevel", PARAM_STR, "0", 0, NULL },
    { "smtp_tls_mandatory_protocols", PARAM_LIST, ">=TLSv1", 0, NULL },
    { "smtp_tls_note_starttls_offer", PARAM_BOOL, "no", 0, NULL },
    { "smtp_tls_policy_maps", PARAM_LIST, "", 0, NULL },
    { "smtp_tls_protocols", PARAM_LIST, ">=TLSv1", 0, NULL },
    { "smtp_tls_security_level", PARAM_STR, "", 0, NULL },
    { "smtp_tls_session_cache_database", PARAM_STR, "", 0, NULL },
    { "smtp_use_tls", PARAM_BOOL, "no", 0, NULL },
    { "smtp_xforward_timeout", PARAM_TIME, "300s", 's', NULL },
    { "smtpd_authorized_verp_clients", PARAM_LIST, "$authorized_verp_clients", 0, NULL },
    { "smtpd_authorized_xclient_hosts", PARAM_LIST, "", 0, NULL },
    { "smtpd_authorized_xforward_hosts", PARAM_LIST, "", 0, NULL },
    { "smtpd_banner", PARAM_STR, "$myhostname ESMTP $mail_name", 0, NULL },
    { "smtpd_client_auth_rate_limit", PARAM_INT, "0", 0, NULL },
    { "smtpd_client_connection_count_limit", PARAM_INT, "50", 0, NULL },
    { "smtpd_client_connection_rate_limit", PARAM_INT, "0", 0, NULL },
    { "smtpd_client_event_limit_exceptions", PARAM_LIST, "${smtpd_client_connection_limit_exceptions:$mynetworks}", 0, NULL },
    { "smtpd_client_ipv4_prefix_length", PARAM_INT, "32", 0, NULL },
    { "smtpd_client_ipv6_prefix_length", PARAM_INT, "84", 0, NULL },
    { "smtpd_client_message_rate_limit", PARAM_INT, "0", 0, NULL },
    { "smtpd_client_new_tls_session_rate_limit", PARAM_INT, "0", 0, NULL },
    { "smtpd_client_port_logging", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_client_recipient_rate_limit", PARAM_INT, "0", 0, NULL },
    { "smtpd_client_restrictions", PARAM_LIST, "", 0, NULL },
    { "smtpd_command_filter", PARAM_STR, "", 0, NULL },
    { "smtpd_data_restrictions", PARAM_LIST, "", 0, NULL },
    { "smtpd_delay_open_until_valid_rcpt", PARAM_BOOL, "yes", 0, NULL },
    { "smtpd_delay_reject", PARAM_BOOL, "yes", 0, NULL },
    { "smtpd_discard_ehlo_keyword_address_maps", PARAM_LIST, "", 0, NULL },
    { "smtpd_discard_ehlo_keywords", PARAM_LIST, "", 0, NULL },
    { "smtpd_end_of_data_restrictions", PARAM_LIST, "", 0, NULL },
    { "smtpd_enforce_tls", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_error_sleep_time", PARAM_TIME, "1s", 's', NULL },
    { "smtpd_etrn_restrictions", PARAM_LIST, "", 0, NULL },
    { "smtpd_forbid_bare_newline", PARAM_STR, "normalize", 0, NULL },
    { "smtpd_forbid_bare_newline_exclusions", PARAM_LIST, "$mynetworks", 0, NULL },
    { "smtpd_forbid_bare_newline_reject_code", PARAM_INT, "550", 0, NULL },
    { "smtpd_forbid_unauth_pipelining", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_forbidden_commands", PARAM_LIST, "CONNECT GET POST", 0, NULL },
    { "smtpd_hard_error_limit", PARAM_INT, "${stress?{1}:{20}}", 0, NULL },
    { "smtpd_helo_required", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_helo_restrictions", PARAM_LIST, "", 0, NULL },
    { "smtpd_history_flush_threshold", PARAM_INT, "100", 0, NULL },
    { "smtpd_junk_command_limit", PARAM_INT, "${stress?{1}:{100}}", 0, NULL },
    { "smtpd_log_access_permit_actions", PARAM_LIST, "", 0, NULL },
    { "smtpd_milter_maps", PARAM_LIST, "", 0, NULL },
    { "smtpd_milters", PARAM_LIST, "", 0, NULL },
    { "smtpd_noop_commands", PARAM_LIST, "", 0, NULL },
    { "smtpd_null_access_lookup_key", PARAM_STR, "<>", 0, NULL },
    { "smtpd_peername_lookup", PARAM_BOOL, "yes", 0, NULL },
    { "smtpd_per_record_deadline", PARAM_BOOL, "${stress?{yes}:{no}}", 0, NULL },
    { "smtpd_proxy_ehlo", PARAM_STR, "$myhostname", 0, NULL },
    { "smtpd_proxy_filter", PARAM_STR, "", 0, NULL },
    { "smtpd_proxy_options", PARAM_LIST, "", 0, NULL },
    { "smtpd_proxy_timeout", PARAM_TIME, "100s", 's', NULL },
    { "smtpd_recipient_limit", PARAM_INT, "1000", 0, NULL },
    { "smtpd_recipient_overshoot_limit", PARAM_INT, "1000", 0, NULL },
    { "smtpd_recipient_restrictions", PARAM_LIST, "", 0, NULL },
    { "smtpd_reject_footer", PARAM_STR, "", 0, NULL },
    { "smtpd_reject_footer_maps", PARAM_LIST, "", 0, NULL },
    { "smtpd_reject_unlisted_recipient", PARAM_BOOL, "yes", 0, NULL },
    { "smtpd_reject_unlisted_sender", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_relay_before_recipient_restrictions", PARAM_BOOL, "yes", 0, NULL },
    { "smtpd_relay_restrictions", PARAM_LIST, "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination", 0, NULL },
    { "smtpd_restriction_classes", PARAM_LIST, "", 0, NULL },
    { "smtpd_sasl_auth_enable", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_sasl_authenticated_header", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_sasl_exceptions_networks", PARAM_LIST, "", 0, NULL },
    { "smtpd_sasl_local_domain", PARAM_STR, "", 0, NULL },
    { "smtpd_sasl_path", PARAM_STR, "smtpd", 0, NULL },
    { "smtpd_sasl_response_limit", PARAM_INT, "12288", 0, NULL },
    { "smtpd_sasl_security_options", PARAM_LIST, "noanonymous", 0, NULL },
    { "smtpd_sasl_service", PARAM_STR, "smtp", 0, NULL },
    { "smtpd_sasl_tls_security_options", PARAM_LIST, "$smtpd_sasl_security_options", 0, NULL },
    { "smtpd_sasl_type", PARAM_STR, "cyrus", 0, NULL },
    { "smtpd_sender_login_maps", PARAM_LIST, "", 0, NULL },
    { "smtpd_sender_restrictions", PARAM_LIST, "", 0, NULL },
    { "smtpd_service_name", PARAM_STR, "smtpd", 0, NULL },
    { "smtpd_soft_error_limit", PARAM_INT, "10", 0, NULL },
    { "smtpd_starttls_timeout", PARAM_TIME, "${stress?{10}:{300}}s", 's', NULL },
    { "smtpd_timeout", PARAM_TIME, "${stress?{10}:{300}}s", 's', NULL },
    { "smtpd_tls_CAfile", PARAM_STR, "", 0, NULL },
    { "smtpd_tls_CApath", PARAM_STR, "", 0, NULL },
    { "smtpd_tls_ask_ccert", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_tls_auth_only", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_tls_cert_file", PARAM_STR, "", 0, NULL },
    { "smtpd_tls_chain_files", PARAM_LIST, "", 0, NULL },
    { "smtpd_tls_fingerprint_digest", PARAM_STR, "sha256", 0, NULL },
    { "smtpd_tls_key_file", PARAM_STR, "$smtpd_tls_cert_file", 0, NULL },
    { "smtpd_tls_loglevel", PARAM_STR, "0", 0, NULL },
    { "smtpd_tls_mandatory_protocols", PARAM_LIST, ">=TLSv1", 0, NULL },
    { "smtpd_tls_protocols", PARAM_LIST, ">=TLSv1", 0, NULL },
    { "smtpd_tls_received_header", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_tls_req_ccert", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_tls_security_level", PARAM_STR, "", 0, NULL },
    { "smtpd_tls_session_cache_database", PARAM_STR, "", 0, NULL },
    { "smtpd_tls_wrappermode", PARAM_BOOL, "no", 0, NULL },
    { "smtpd_upstream_proxy_protocol", PARAM_STR, "", 0, NULL },
    { "smtpd_upstream_proxy_timeout", PARAM_TIME, "5s", 's', NULL },
    { "smtpd_use_tls", PARAM_BOOL, "no", 0, NULL },
    { "smtputf8_enable", PARAM_BOOL, "yes", 0, NULL },
    { "soft_bounce", PARAM_BOOL, "no", 0, NULL },
    { "stale_lock_time", PARAM_TIME, "500s", 's', NULL },
    { "stress", PARAM_STR, "", 0, NULL },
    { "strict_7bit_headers", PARAM_BOOL, "no", 0, NULL },
    { "strict_8bitmime", PARAM_BOOL, "no", 0, NULL },
    { "strict_8bitmime_body", PARAM_BOOL, "no", 0, NULL },
    { "strict_mailbox_ownership", PARAM_BOOL, "yes", 0, NULL },
    { "strict_mime_encoding_domain", PARAM_BOOL, "no", 0, NULL },
    { "strict_rfc821_envelopes", PARAM_BOOL, "no", 0, NULL },
    { "strict_smtputf8", PARAM_BOOL, "no", 0, NULL },
    { "sun_mailtool_compatibility", PARAM_BOOL, "no", 0, NULL },
    { "swap_bangpath", PARAM_BOOL, "yes", 0, NULL },
    { "syslog_facility", PARAM_STR, "mail", 0, NULL },
    { "syslog_name", PARAM_STR, "${multi_instance_name?{$multi_instance_name}:{postfix}}", 0, NULL },
    { "tcp_windowsize", PARAM_INT, "0", 0, NULL },
    { "tls_random_source", PARAM_STR, "dev:/dev/urandom", 0, NULL },
    { "trace_service_name", PARAM_STR, "trace", 0, NULL },
    { "transport_maps", PARAM_LIST, "", 0, NULL },
    { "transport_retry_time", PARAM_TIME, "60s", 's', NULL },
    { "trigger_timeout", PARAM_TIME, "10s", 's', NULL },
    { "undisclosed_recipients_header", PARAM_STR, "", 0, NULL },
    { "unknown_address_reject_code", PARAM_INT, "450", 0, NULL },
    { "unknown_client_reject_code", PARAM_INT, "450", 0, NULL },
    { "unknown_hostname_reject_code", PARAM_INT, "450", 0, NULL },
    { "unknown_local_recipient_reject_code", PARAM_INT, "550", 0, NULL },
    { "unknown_relay_recipient_reject_code", PARAM_INT, "550", 0, NULL },
    { "unknown_virtual_alias_reject_code", PARAM_INT, "550", 0, NULL },
    { "unknown_virtual_mailbox_reject_code", PARAM_INT, "550", 0, NULL },
    { "unverified_recipient_defer_code", PARAM_INT, "450", 0, NULL },
    { "unverified_recipient_reject_code", PARAM_INT, "450", 0, NULL },
    { "unverified_sender_defer_code", PARAM_INT, "450", 0, NULL },
    { "unverified_sender_reject_code", PARAM_INT, "450", 0, NULL },
    { "virtual_alias_address_length_limit", PARAM_INT, "1000", 0, NULL },
    { "virtual_alias_domains", PARAM_LIST, "$virtual_alias_maps", 0, NULL },
    { "virtual_alias_expansion_limit", PARAM_INT, "1000", 0, NULL },
    { "virtual_alias_maps", PARAM_LIST, "$virtual_maps", 0, NULL },
    { "virtual_alias_recursion_limit", PARAM_INT, "1000", 0, NULL },
    { "virtual_delivery_status_filter", PARAM_LIST, "$default_delivery_status_filter", 0, NULL },
    { "virtual_gid_maps", PARAM_LIST, "", 0, NULL },
    { "virtual_mailbox_base", PARAM_STR, "", 0, NULL },
    { "virtual_mailbox_domains", PARAM_LIST, "$virtual_mailbox_maps", 0, NULL },
    { "virtual_mailbox_limit", PARAM_SIZE, "51200000", 0, NULL },
    { "virtual_mailbox_lock", PARAM_LIST, "fcntl, dotlock", 0, NULL },
    { "virtual_mailbox_maps", PARAM_LIST, "", 0, NULL },
    { "virtual_maps", PARAM_LIST, "", 0, NULL },
    { "virtual_minimum_uid", PARAM_INT, "100", 0, NULL },
    { "virtual_transport", PARAM_STR, "virtual", 0, NULL },
    { "virtual_uid_maps", PARAM_LIST, "", 0, NULL },
    { NULL, PARAM_STR, NULL, 0, NULL },
};

static int compare_name(const void *key, const void *elem)
{
    return strcmp((const char *) key, ((const param_def_t *) elem)->name);
}

const param_def_t *param_find(const char *name)
{
    static size_t count;

    if (count == 0)
        while (param_table[count].name)
            count++;
    return bsearch(name, param_table, count, sizeof(param_table[0]), compare_name);
}
