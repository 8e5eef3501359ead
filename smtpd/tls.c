/* tls: STARTTLS in smtpd. The keys are loaded before the privilege drop;
 * STARTTLS is offered once a certificate loaded; after the handshake the
 * session starts over from the greeting, and nothing the client sent in
 * plaintext after the STARTTLS line is ever executed (CVE-2011-0411). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "record.h"
#include "smtpd.h"

smtpd_tls_settings_t smtpd_tls;

/* smtpd_tls_security_level, or the older smtpd_use_tls/smtpd_enforce_tls. */
static int configured_level(void)
{
    const char *text = config_str("smtpd_tls_security_level");
    int value = 0, level;

    if (*text == 0) {
        if (config_parse_bool(config_str("smtpd_enforce_tls"), &value) == 0 && value)
            return TLS_LEVEL_ENCRYPT;
        if (config_parse_bool(config_str("smtpd_use_tls"), &value) == 0 && value)
            return TLS_LEVEL_MAY;
        return TLS_LEVEL_NONE;
    }
    level = tls_level_parse(text);
    if (level != TLS_LEVEL_NONE && level != TLS_LEVEL_MAY && level != TLS_LEVEL_ENCRYPT)
        msg_fatal("invalid or unsupported setting: smtpd_tls_security_level = %s", text);
    return level;
}

/* Runs as root, before the privilege drop. A certificate that cannot be
 * used turns STARTTLS off (at level encrypt, mail is then refused with
 * 530 and STARTTLS gets 454, as Postfix does). */
void smtpd_tls_init(void)
{
    const char *cert = config_str("smtpd_tls_cert_file");
    const char *chain = config_str("smtpd_tls_chain_files");
    const char *protocols;
    buf_t why = BUF_INIT;

    memset(&smtpd_tls, 0, sizeof(smtpd_tls));
    smtpd_tls.level = configured_level();
    smtpd_tls.handshake_timeout = config_time("smtpd_starttls_timeout");
    smtpd_tls.received_header = config_bool("smtpd_tls_received_header");
    smtpd_tls.loglevel = atoi(config_str("smtpd_tls_loglevel"));
    smtpd_tls.wrappermode = config_bool("smtpd_tls_wrappermode");
    /* Wrapper mode needs the keys whatever the STARTTLS level says. */
    if (smtpd_tls.level == TLS_LEVEL_NONE && !smtpd_tls.wrappermode)
        return;
    if (*cert == 0 && *chain == 0) {
        msg_warn("No server certs available. TLS won't be enabled");
        return;
    }
    protocols = smtpd_tls.level == TLS_LEVEL_ENCRYPT
        ? config_str("smtpd_tls_mandatory_protocols")
        : config_str("smtpd_tls_protocols");
    smtpd_tls.ctx = tls_server_ctx(cert, config_str("smtpd_tls_key_file"), chain, protocols,
                                   &why);
    if (smtpd_tls.ctx == NULL)
        msg_warn("%s: disabling TLS support", buf_str(&why));
    buf_release(&why);
}

/* TLS needs one socket both ways: never for "smtpd -S" (stdin/stdout). */
static int tls_possible(const session_t *s)
{
    return !s->standalone && s->in == s->out;
}

int smtpd_tls_offered(const session_t *s)
{
    return smtpd_tls.level != TLS_LEVEL_NONE && smtpd_tls.ctx != NULL && s->tls == NULL
        && tls_possible(s) && !(s->ehlo_discard & EHLO_STARTTLS);
}

int smtpd_tls_required(const session_t *s)
{
    return smtpd_tls.level == TLS_LEVEL_ENCRYPT && s->tls == NULL && tls_possible(s);
}

int smtpd_starttls_check(session_t *s, const char *args)
{
    if (*args != 0) {
        smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
        return -1;
    }
    if (s->tls != NULL) {
        smtpd_reply(s, "554 5.5.1 Error: TLS already active");
        return -1;
    }
    if (smtpd_tls.level == TLS_LEVEL_NONE || !tls_possible(s)
        || (s->ehlo_discard & EHLO_STARTTLS)) {
        smtpd_reply(s, "502 5.5.1 Error: command not implemented");
        return -1;
    }
    if (smtpd_tls.ctx == NULL) {
        smtpd_reply(s, "454 4.7.0 TLS not available due to local problem");
        return -1;
    }
    return 0;
}

/* After the handshake the client starts over: EHLO again, no envelope. */
static void reset_to_greeting(session_t *s)
{
    smtpd_transaction_reset(s);
    free(s->helo_name);
    s->helo_name = NULL;
    s->protocol = "SMTP";
}

/* The handshake on the client connection; 0, or -1 (logged). */
static int handshake(session_t *s)
{
    buf_t why = BUF_INIT, summary = BUF_INIT;

    s->tls = tls_server_start(smtpd_tls.ctx, s->in, (int) smtpd_tls.handshake_timeout, &why);
    if (s->tls == NULL)
        msg_info("SSL_accept error from %s: %s", s->namaddr, buf_str(&why));
    else if (smtpd_tls.loglevel >= 1) {
        tls_info_summary(tls_session_info(s->tls), &summary);
        msg_info("Anonymous TLS connection established from %s: %s", s->namaddr,
                 buf_str(&summary));
    }
    buf_release(&why);
    buf_release(&summary);
    return s->tls != NULL ? 0 : -1;
}

int smtpd_starttls_action(session_t *s, const char *args)
{
    size_t dropped;

    (void) args;
    smtpd_reply(s, "220 2.0.0 Ready to start TLS");
    if (smtpd_flush(s) < 0) {
        s->end = END_EOF;
        return -1;
    }
    /* Why first: whatever came after the STARTTLS line was sent in
     * plaintext and would otherwise run as if it had come over TLS. */
    if ((dropped = stream_purge_input(s->in)) > 0)
        msg_warn("%s: discarding %zu bytes of plaintext sent after STARTTLS",
                 s->namaddr, dropped);
    if (handshake(s) < 0) {
        s->end = END_EOF;            /* "lost connection after STARTTLS" */
        return -1;
    }
    reset_to_greeting(s);
    return 0;
}

int smtpd_tls_wrapper_start(session_t *s)
{
    if (!smtpd_tls.wrappermode || !tls_possible(s))
        return 0;
    if (smtpd_tls.ctx == NULL) {
        msg_warn("Wrapper-mode request dropped from %s for service %s. TLS context "
                 "initialization failed. For details see earlier warnings in your logs.",
                 s->namaddr, s->svc->name);
        return -1;
    }
    return handshake(s);
}

void smtpd_tls_received(session_t *s, stream_t *out)
{
    buf_t summary = BUF_INIT;

    if (s->tls == NULL || !smtpd_tls.received_header)
        return;
    tls_info_summary(tls_session_info(s->tls), &summary);
    rec_printf(out, REC_TYPE_NORM, "\t(using %s)", buf_str(&summary));
    rec_puts(out, REC_TYPE_NORM, "\t(No client certificate requested)");
    buf_release(&summary);
}

/* RFC 3848: ESMTPS for ESMTP over TLS. */
const char *smtpd_received_protocol(const session_t *s)
{
    if (s->tls != NULL && strcmp(s->protocol, "ESMTP") == 0)
        return "ESMTPS";
    return s->protocol;
}

void smtpd_tls_end(session_t *s)
{
    tls_end(s->tls);
    s->tls = NULL;
}
