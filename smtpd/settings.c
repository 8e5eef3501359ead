/* settings: every main.cf parameter smtpd uses, read once per process.
 * Values come from lib/config (main.cf, -o, the parameter table); a name the
 * table does not know yet falls back to Postfix's default given here. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "smtpd.h"

smtpd_settings_t smtpd_var;

/* The expanded value, or the expanded fallback when the name is unknown. */
static char *setting_text(const char *name, const char *fallback)
{
    const char *value = config_get(name);

    if (value != NULL)
        return xstrdup(value);
    msg_debug("parameter %s unknown to the table; using \"%s\"", name, fallback);
    return config_expand(fallback);
}

static void bad_number(const char *name, const char *value)
{
    msg_fatal("bad numerical configuration: %s = %s", name, value);
}

static long setting_long(const char *name, const char *fallback, long min)
{
    char *text = setting_text(name, fallback);
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != 0 || value < min)
        bad_number(name, text);
    free(text);
    return value;
}

static long setting_time(const char *name, const char *fallback, char unit)
{
    char *text = setting_text(name, fallback);
    long seconds;

    if (config_parse_time(text, unit, &seconds) < 0 || seconds < 0)
        bad_number(name, text);
    free(text);
    return seconds;
}

static int setting_bool(const char *name, const char *fallback)
{
    char *text = setting_text(name, fallback);
    int value;

    if (config_parse_bool(text, &value) < 0)
        msg_fatal("bad boolean configuration: %s = %s", name, text);
    free(text);
    return value;
}

static argv_t *setting_list(const char *name, const char *fallback)
{
    char *text = setting_text(name, fallback);
    argv_t *list = argv_split_list(text);

    free(text);
    return list;
}

/* Restriction lists keep "{ ... }" and "inline:{ ... }" elements whole. */
static argv_t *setting_restrictions(const char *name, const char *fallback)
{
    char *text = setting_text(name, fallback);
    argv_t *list = match_list_split(text);

    free(text);
    return list;
}

static match_list_t *setting_match_list(const char *name, const char *fallback, int kind)
{
    char *text = setting_text(name, fallback);
    match_list_t *list = match_list_open(name, text, kind);

    free(text);
    return list;
}

/* Tables are opened once per process; keys are folded as Postfix does. */
static maps_t *setting_maps(const char *name, const char *fallback)
{
    char *text = setting_text(name, fallback);
    maps_t *maps = maps_open(name, text, TABLE_FLAG_FOLD);

    free(text);
    return maps;
}

static void load_restrictions(smtpd_settings_t *v)
{
    v->delay_reject = setting_bool("smtpd_delay_reject", "yes");
    v->client_restrictions = setting_restrictions("smtpd_client_restrictions", "");
    v->helo_restrictions = setting_restrictions("smtpd_helo_restrictions", "");
    v->sender_restrictions = setting_restrictions("smtpd_sender_restrictions", "");
    v->relay_restrictions = setting_restrictions("smtpd_relay_restrictions",
        "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination");
    v->recipient_restrictions = setting_restrictions("smtpd_recipient_restrictions", "");
    v->data_restrictions = setting_restrictions("smtpd_data_restrictions", "");
    v->eod_restrictions = setting_restrictions("smtpd_end_of_data_restrictions", "");
    v->restriction_classes = setting_list("smtpd_restriction_classes", "");
}

static void load_reply_codes(smtpd_settings_t *v)
{
    v->reject_code = setting_long("reject_code", "554", 400);
    v->defer_code = setting_long("defer_code", "450", 400);
    v->relay_code = setting_long("relay_domains_reject_code", "554", 400);
    v->access_reject_code = setting_long("access_map_reject_code", "554", 400);
    v->access_defer_code = setting_long("access_map_defer_code", "450", 400);
    v->non_fqdn_code = setting_long("non_fqdn_reject_code", "504", 400);
    v->invalid_hostname_code = setting_long("invalid_hostname_reject_code", "501", 400);
    v->unknown_client_code = setting_long("unknown_client_reject_code", "450", 400);
    v->unknown_local_code = setting_long("unknown_local_recipient_reject_code", "550", 400);
    v->unknown_virtual_alias_code = setting_long("unknown_virtual_alias_reject_code", "550", 400);
    v->unknown_virtual_mailbox_code =
        setting_long("unknown_virtual_mailbox_reject_code", "550", 400);
    v->unknown_relay_code = setting_long("unknown_relay_recipient_reject_code", "550", 400);
    v->multi_bounce_code = setting_long("multi_recipient_bounce_reject_code", "550", 400);
    v->soft_bounce = setting_bool("soft_bounce", "no");
}

static void load_recipient_tables(smtpd_settings_t *v)
{
    v->reject_unlisted_recipient = setting_bool("smtpd_reject_unlisted_recipient", "yes");
    v->reject_unlisted_sender = setting_bool("smtpd_reject_unlisted_sender", "no");
    v->show_unknown_table = setting_bool("show_user_unknown_table_name", "yes");
    v->double_bounce_sender = setting_text("double_bounce_sender", "double-bounce");
    v->local_recipient_maps = setting_maps("local_recipient_maps",
                                           "proxy:unix:passwd.byname $alias_maps");
    v->virtual_alias_maps = setting_maps("virtual_alias_maps", "$virtual_maps");
    v->virtual_mailbox_maps = setting_maps("virtual_mailbox_maps", "");
    v->relay_recipient_maps = setting_maps("relay_recipient_maps", "");
    v->canonical_maps = setting_maps("canonical_maps", "");
    v->recipient_canonical_maps = setting_maps("recipient_canonical_maps", "");
    v->sender_canonical_maps = setting_maps("sender_canonical_maps", "");
    v->virtual_alias_domains = setting_match_list("virtual_alias_domains",
                                                  "$virtual_alias_maps", MATCH_LIST_DOMAIN);
    v->virtual_mailbox_domains = setting_match_list("virtual_mailbox_domains",
                                                    "$virtual_mailbox_maps", MATCH_LIST_DOMAIN);
}

static void lower_all(argv_t *list)
{
    for (size_t i = 0; i < list->argc; i++)
        for (char *p = list->argv[i]; *p; p++)
            *p = (char) tolower((unsigned char) *p);
}

static int parse_bare_lf_mode(void)
{
    char *text = setting_text("smtpd_forbid_bare_newline", "normalize");
    int mode;

    if (strcasecmp(text, "normalize") == 0 || strcasecmp(text, "yes") == 0)
        mode = BARE_LF_NORMALIZE;
    else if (strcasecmp(text, "reject") == 0)
        mode = BARE_LF_REJECT;
    else if (strcasecmp(text, "no") == 0)
        mode = BARE_LF_NO;
    else
        msg_fatal("bad configuration: smtpd_forbid_bare_newline = %s", text);
    free(text);
    return mode;
}

void smtpd_settings_load(void)
{
    smtpd_settings_t *v = &smtpd_var;

    v->myhostname = setting_text("myhostname", "localhost");
    v->mail_name = setting_text("mail_name", "Postfix");
    v->banner = setting_text("smtpd_banner", "$myhostname ESMTP $mail_name");
    v->message_size_limit = setting_long("message_size_limit", "10240000", 0);
    v->disable_vrfy = setting_bool("disable_vrfy_command", "no");
    v->helo_required = setting_bool("smtpd_helo_required", "no");
    v->discard_ehlo = setting_list("smtpd_discard_ehlo_keywords", "");
    lower_all(v->discard_ehlo);
    v->recipient_limit = setting_long("smtpd_recipient_limit", "1000", 0);
    v->recipient_overshoot_limit =
        setting_long("smtpd_recipient_overshoot_limit", "1000", 0);
    v->soft_error_limit = setting_long("smtpd_soft_error_limit", "10", 0);
    v->hard_error_limit = setting_long("smtpd_hard_error_limit", "20", 1);
    v->error_sleep_time = setting_time("smtpd_error_sleep_time", "1s", 's');
    v->junk_command_limit = setting_long("smtpd_junk_command_limit", "100", 1);
    v->timeout = setting_time("smtpd_timeout", "300s", 's');
    v->line_length_limit = setting_long("line_length_limit", "2048", 1);
    if (v->line_length_limit < 512)
        v->line_length_limit = 512;            /* room for any SMTP command */
    v->bare_lf_mode = parse_bare_lf_mode();
    v->mynetworks = setting_match_list("mynetworks", "127.0.0.0/8 [::1]/128", MATCH_LIST_HOST);
    v->bare_lf_exclusions = setting_match_list("smtpd_forbid_bare_newline_exclusions",
                                               "$mynetworks", MATCH_LIST_HOST);
    v->bare_lf_reject_code = setting_long("smtpd_forbid_bare_newline_reject_code",
                                          "550", 400);
    v->fast_flush_domains = setting_list("fast_flush_domains", "$relay_domains");
    v->local_rewrite_clients = setting_list("local_header_rewrite_clients",
                                            "permit_inet_interfaces");
    v->inet_interfaces = setting_list("inet_interfaces", "all");
    v->forbidden_commands = setting_list("smtpd_forbidden_commands",
                                         "CONNECT GET POST");
    v->peername_lookup = setting_bool("smtpd_peername_lookup", "yes");
    load_restrictions(v);
    load_reply_codes(v);
    load_recipient_tables(v);
}
