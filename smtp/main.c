/* smtp: the SMTP delivery agent (services smtp and relay) and, under the
 * process name lmtp, the LMTP agent. Serves qmgr's delivery requests on
 * private/<service>, one at a time, as mail_owner. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "service.h"
#include "smtp.h"

smtp_agent_cfg_t smtp_cfg;

/* "<proto>_<name>" when that parameter exists (lmtp_lhlo_name), else the
 * smtp_ one: the lmtp agent shares the smtp client's settings. */
static const char *param_name(const char *name, buf_t *store)
{
    buf_reset(store);
    buf_printf(store, "%s_%s", smtp_cfg.proto, name);
    if (config_get(buf_str(store)) == NULL) {
        buf_reset(store);
        buf_printf(store, "smtp_%s", name);
    }
    return buf_str(store);
}

static int time_param(const char *name)
{
    buf_t store = BUF_INIT;
    long v = config_time(param_name(name, &store));

    buf_release(&store);
    return v > 0 && v < 86400 * 7 ? (int) v : v > 0 ? 86400 * 7 : 0;
}

static int bool_param(const char *name)
{
    buf_t store = BUF_INIT;
    int v = config_bool(param_name(name, &store));

    buf_release(&store);
    return v;
}

static const char *str_param(const char *name)
{
    buf_t store = BUF_INIT;
    const char *v = config_str(param_name(name, &store));

    buf_release(&store);
    return v;
}

static void read_address_settings(void)
{
    argv_t *protos = config_list("inet_protocols");
    argv_t *lookup;
    const char *pref;

    smtp_cfg.want = 0;
    for (size_t i = 0; i < protos->argc; i++) {
        if (strcasecmp(protos->argv[i], "all") == 0)
            smtp_cfg.want |= DNS_WANT_V4 | DNS_WANT_V6;
        else if (strcasecmp(protos->argv[i], "ipv4") == 0)
            smtp_cfg.want |= DNS_WANT_V4;
        else if (strcasecmp(protos->argv[i], "ipv6") == 0)
            smtp_cfg.want |= DNS_WANT_V6;
        else
            msg_fatal("bad inet_protocols value: %s", protos->argv[i]);
    }
    if (smtp_cfg.want == 0)
        smtp_cfg.want = DNS_WANT_V4 | DNS_WANT_V6;
    argv_free(protos);
    pref = config_str("smtp_address_preference");
    smtp_cfg.prefer_v6 = strcasecmp(pref, "ipv6") == 0;

    lookup = config_list("smtp_host_lookup");
    for (size_t i = 0; i < lookup->argc; i++) {
        if (strcasecmp(lookup->argv[i], "dns") == 0) {
            smtp_cfg.lookup_dns = 1;
        } else if (strcasecmp(lookup->argv[i], "native") == 0) {
            smtp_cfg.native_first = !smtp_cfg.lookup_dns;
            smtp_cfg.lookup_native = 1;
        } else {
            msg_fatal("bad smtp_host_lookup value: %s", lookup->argv[i]);
        }
    }
    if (!smtp_cfg.lookup_dns && !smtp_cfg.lookup_native)
        smtp_cfg.lookup_dns = 1;
    argv_free(lookup);
    /* disable_dns_lookups is the old way to say "native". */
    if (config_bool("disable_dns_lookups")) {
        smtp_cfg.lookup_dns = 0;
        smtp_cfg.lookup_native = 1;
    }
}

/* A service named lmtp speaks LMTP whatever the program is called. */
static void detect_lmtp(const service_t *svc)
{
    if (svc->name != NULL && strcmp(svc->name, "lmtp") == 0 && !smtp_cfg.lmtp) {
        smtp_cfg.lmtp = 1;
        smtp_cfg.proto = "lmtp";
    }
}

/* smtp_tls_security_level, or the older smtp_use_tls/smtp_enforce_tls. */
static int tls_level_setting(void)
{
    const char *text = str_param("tls_security_level");
    int value = 0, level;

    if (*text == 0) {
        if (config_parse_bool(config_str("smtp_enforce_tls"), &value) == 0 && value)
            return TLS_LEVEL_ENCRYPT;
        if (config_parse_bool(config_str("smtp_use_tls"), &value) == 0 && value)
            return TLS_LEVEL_MAY;
        return TLS_LEVEL_NONE;
    }
    if ((level = tls_level_parse(text)) < 0)
        msg_fatal("invalid or unsupported setting: %s_tls_security_level = %s",
                  smtp_cfg.proto, text);
    return level;
}

/* Before the privilege drop (trust anchors may sit where only root reads,
 * and a chroot would hide them). LMTP never uses TLS. A context that cannot
 * be made leaves TLS off: "may" then sends in plaintext, "encrypt" and
 * above defer. */
static void tls_setup(service_t *svc)
{
    smtp_settings_t *c = &smtp_cfg.client;
    buf_t why = BUF_INIT;
    const char *protocols;

    detect_lmtp(svc);
    c->tls_level = smtp_cfg.lmtp ? TLS_LEVEL_NONE : tls_level_setting();
    c->tls_timeout = time_param("starttls_timeout");
    c->tls_loglevel = atoi(str_param("tls_loglevel"));
    if (c->tls_level == TLS_LEVEL_NONE)
        return;
    protocols = c->tls_level >= TLS_LEVEL_ENCRYPT
        ? config_str("smtp_tls_mandatory_protocols")
        : config_str("smtp_tls_protocols");
    c->tls_ctx = tls_client_ctx(str_param("tls_CAfile"), str_param("tls_CApath"), protocols,
                                &why);
    if (c->tls_ctx == NULL)
        msg_warn("%s: TLS is disabled", buf_str(&why));
    buf_release(&why);
}

static void read_settings(service_t *svc)
{
    smtp_settings_t *c = &smtp_cfg.client;
    const char *port;

    detect_lmtp(svc);
    c->timeouts.connect = time_param("connect_timeout");
    c->timeouts.helo = time_param("helo_timeout");
    c->timeouts.mail = time_param("mail_timeout");
    c->timeouts.rcpt = time_param("rcpt_timeout");
    c->timeouts.data_init = time_param("data_init_timeout");
    c->timeouts.data_xfer = time_param("data_xfer_timeout");
    c->timeouts.data_done = time_param("data_done_timeout");
    c->timeouts.quit = time_param("quit_timeout");
    c->helo_name = smtp_cfg.lmtp ? config_str("lmtp_lhlo_name") : str_param("helo_name");
    c->line_limit = (int) config_int("smtp_line_length_limit");
    c->skip_5xx_greeting = bool_param("skip_5xx_greeting");
    c->never_send_ehlo = !smtp_cfg.lmtp && bool_param("never_send_ehlo");
    c->skip_quit_response = bool_param("skip_quit_response");
    port = smtp_cfg.lmtp ? config_str("lmtp_tcp_port") : config_str("smtp_tcp_port");
    if (smtp_port_parse(port, &smtp_cfg.default_port) < 0)
        msg_fatal("bad %s_tcp_port value: %s", smtp_cfg.proto, port);
    smtp_cfg.mx_address_limit = config_int("smtp_mx_address_limit");
    smtp_cfg.mx_session_limit = config_int("smtp_mx_session_limit");
    smtp_cfg.myhostname = config_str("myhostname");
    read_address_settings();
}

int main(int argc, char **argv)
{
    service_t svc;
    service_opts_t opts = { 0 };
    char *copy = xstrdup(argc > 0 ? argv[0] : "smtp");
    const char *progname = basename(copy);

    /* One program, two protocols: Postfix installs lmtp as another name
     * of smtp, and the name it runs under decides. */
    smtp_cfg.lmtp = strcmp(progname, "lmtp") == 0;
    smtp_cfg.proto = smtp_cfg.lmtp ? "lmtp" : "smtp";
    memset(&svc, 0, sizeof(svc));
    opts.pre_jail = tls_setup;
    opts.post_init = read_settings;
    opts.privileged = 0;
    service_init(&svc, argc, argv, smtp_cfg.proto, &opts);
    single_server_run(&svc, smtp_serve);
}
