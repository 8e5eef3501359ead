/* settings: every main.cf parameter smtpd uses, read once per process.
 * Values and defaults come from lib/config (main.cf, -o, the parameter
 * table); the helpers here only add smtpd's own checks and open lists. */
#include <ctype.h>
#include <strings.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "smtpd.h"

#define REPLY_CODE_MIN 400       /* a reject or defer code is never 2xx/3xx */

smtpd_settings_t smtpd_var;

/* An integer that smtpd cannot work with below min. */
static long setting_long(const char *name, long min)
{
    long value = config_int(name);

    if (value < min)
        msg_fatal("invalid %s parameter value %ld < %ld", name, value, min);
    return value;
}

static long setting_reply_code(const char *name)
{
    return setting_long(name, REPLY_CODE_MIN);
}

/* Restriction lists keep "{ ... }" and "inline:{ ... }" elements whole. */
static argv_t *setting_restrictions(const char *name)
{
    return match_list_split(config_str(name));
}

/* Tables are opened once per process; keys are folded as Postfix does. */
static maps_t *setting_maps(const char *name)
{
    return maps_open(name, config_str(name), TABLE_FLAG_FOLD);
}

static void load_restrictions(smtpd_settings_t *v)
{
    v->delay_reject = config_bool("smtpd_delay_reject");
    v->client_restrictions = setting_restrictions("smtpd_client_restrictions");
    v->helo_restrictions = setting_restrictions("smtpd_helo_restrictions");
    v->sender_restrictions = setting_restrictions("smtpd_sender_restrictions");
    v->relay_restrictions = setting_restrictions("smtpd_relay_restrictions");
    v->recipient_restrictions = setting_restrictions("smtpd_recipient_restrictions");
    v->data_restrictions = setting_restrictions("smtpd_data_restrictions");
    v->eod_restrictions = setting_restrictions("smtpd_end_of_data_restrictions");
    v->restriction_classes = config_list("smtpd_restriction_classes");
}

static void load_reply_codes(smtpd_settings_t *v)
{
    v->reject_code = setting_reply_code("reject_code");
    v->defer_code = setting_reply_code("defer_code");
    v->relay_code = setting_reply_code("relay_domains_reject_code");
    v->access_reject_code = setting_reply_code("access_map_reject_code");
    v->access_defer_code = setting_reply_code("access_map_defer_code");
    v->non_fqdn_code = setting_reply_code("non_fqdn_reject_code");
    v->invalid_hostname_code = setting_reply_code("invalid_hostname_reject_code");
    v->unknown_client_code = setting_reply_code("unknown_client_reject_code");
    v->unknown_local_code = setting_reply_code("unknown_local_recipient_reject_code");
    v->unknown_virtual_alias_code = setting_reply_code("unknown_virtual_alias_reject_code");
    v->unknown_virtual_mailbox_code =
        setting_reply_code("unknown_virtual_mailbox_reject_code");
    v->unknown_relay_code = setting_reply_code("unknown_relay_recipient_reject_code");
    v->multi_bounce_code = setting_reply_code("multi_recipient_bounce_reject_code");
    v->soft_bounce = config_bool("soft_bounce");
}

static void load_recipient_tables(smtpd_settings_t *v)
{
    v->reject_unlisted_recipient = config_bool("smtpd_reject_unlisted_recipient");
    v->reject_unlisted_sender = config_bool("smtpd_reject_unlisted_sender");
    v->show_unknown_table = config_bool("show_user_unknown_table_name");
    v->double_bounce_sender = xstrdup(config_str("double_bounce_sender"));
    v->local_recipient_maps = setting_maps("local_recipient_maps");
    v->virtual_alias_maps = setting_maps("virtual_alias_maps");
    v->virtual_mailbox_maps = setting_maps("virtual_mailbox_maps");
    v->relay_recipient_maps = setting_maps("relay_recipient_maps");
    v->canonical_maps = setting_maps("canonical_maps");
    v->recipient_canonical_maps = setting_maps("recipient_canonical_maps");
    v->sender_canonical_maps = setting_maps("sender_canonical_maps");
    v->virtual_alias_domains = match_list_config("virtual_alias_domains", MATCH_LIST_DOMAIN);
    v->virtual_mailbox_domains = match_list_config("virtual_mailbox_domains",
                                                   MATCH_LIST_DOMAIN);
}

static void lower_all(argv_t *list)
{
    for (size_t i = 0; i < list->argc; i++)
        for (char *p = list->argv[i]; *p; p++)
            *p = (char) tolower((unsigned char) *p);
}

static int parse_bare_lf_mode(void)
{
    const char *text = config_str("smtpd_forbid_bare_newline");

    if (strcasecmp(text, "normalize") == 0 || strcasecmp(text, "yes") == 0)
        return BARE_LF_NORMALIZE;
    if (strcasecmp(text, "reject") == 0)
        return BARE_LF_REJECT;
    if (strcasecmp(text, "no") == 0)
        return BARE_LF_NO;
    msg_fatal("bad configuration: smtpd_forbid_bare_newline = %s", text);
}

void smtpd_settings_load(void)
{
    smtpd_settings_t *v = &smtpd_var;

    v->myhostname = xstrdup(config_str("myhostname"));
    v->mail_name = xstrdup(config_str("mail_name"));
    v->banner = xstrdup(config_str("smtpd_banner"));
    v->message_size_limit = config_size("message_size_limit");
    v->disable_vrfy = config_bool("disable_vrfy_command");
    v->helo_required = config_bool("smtpd_helo_required");
    v->discard_ehlo = config_list("smtpd_discard_ehlo_keywords");
    lower_all(v->discard_ehlo);
    v->recipient_limit = setting_long("smtpd_recipient_limit", 0);
    v->recipient_overshoot_limit = setting_long("smtpd_recipient_overshoot_limit", 0);
    v->soft_error_limit = setting_long("smtpd_soft_error_limit", 0);
    v->hard_error_limit = setting_long("smtpd_hard_error_limit", 1);
    v->error_sleep_time = config_time("smtpd_error_sleep_time");
    v->junk_command_limit = setting_long("smtpd_junk_command_limit", 1);
    v->timeout = config_time("smtpd_timeout");
    v->line_length_limit = config_int("line_length_limit");
    v->bare_lf_mode = parse_bare_lf_mode();
    v->mynetworks = match_list_config("mynetworks", MATCH_LIST_HOST);
    v->bare_lf_exclusions = match_list_config("smtpd_forbid_bare_newline_exclusions",
                                              MATCH_LIST_HOST);
    v->bare_lf_reject_code = setting_reply_code("smtpd_forbid_bare_newline_reject_code");
    v->fast_flush_domains = config_list("fast_flush_domains");
    v->local_rewrite_clients = config_list("local_header_rewrite_clients");
    v->inet_interfaces = config_list("inet_interfaces");
    v->forbidden_commands = config_list("smtpd_forbidden_commands");
    v->peername_lookup = config_bool("smtpd_peername_lookup");
    load_restrictions(v);
    load_reply_codes(v);
    load_recipient_tables(v);
}
