/* local: the local delivery agent. Serves qmgr's delivery requests on
 * private/local, one connection at a time: aliases, ~/.forward, and mbox or
 * Maildir delivery as the recipient, commands and files as the list's
 * owner. It stays root so it can take each of those identities. */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "local.h"
#include "log.h"
#include "privilege.h"
#include "service.h"

local_settings_t local_cfg;

static void read_lock_methods(void)
{
    argv_t *methods = config_list("mailbox_delivery_lock");

    for (size_t i = 0; i < methods->argc; i++) {
        const char *m = methods->argv[i];

        if (strcmp(m, "fcntl") == 0)
            local_cfg.lock_fcntl = 1;
        else if (strcmp(m, "flock") == 0)
            local_cfg.lock_flock = 1;
        else if (strcmp(m, "dotlock") == 0)
            local_cfg.lock_dotlock = 1;
        else
            msg_fatal("invalid mailbox_delivery_lock setting: %s", m);
    }
    argv_free(methods);
}

/* A list of class names as a mask; an unknown name is a configuration
 * error. Names in ignored are valid but mean nothing to local. */
static int read_class_mask(const char *param, const char *const *names, const int *bits,
                           const char *const *ignored)
{
    argv_t *words = config_list(param);
    int mask = 0;

    for (size_t i = 0; i < words->argc; i++) {
        int known = 0;

        for (int j = 0; names[j] != NULL && !known; j++)
            if (strcasecmp(words->argv[i], names[j]) == 0) {
                mask |= bits[j];
                known = 1;
            }
        for (int j = 0; ignored != NULL && ignored[j] != NULL && !known; j++)
            known = strcasecmp(words->argv[i], ignored[j]) == 0;
        if (!known)
            msg_fatal("unknown %s value \"%s\"", param, words->argv[i]);
    }
    argv_free(words);
    return mask;
}

static void read_expansion_settings(void)
{
    static const char *const classes[] = { "alias", "forward", "include", NULL };
    static const int class_bits[] = { LOCAL_CLASS_ALIAS, LOCAL_CLASS_FORWARD, LOCAL_CLASS_INCLUDE };
    static const char *const other_ext[] = { "canonical", "virtual", "generic", NULL };
    static const char *const headers[] = { "command", "file", "forward", NULL };
    static const int header_bits[] = { LOCAL_HDR_COMMAND, LOCAL_HDR_FILE, LOCAL_HDR_FORWARD };

    local_cfg.allow_commands = read_class_mask("allow_mail_to_commands", classes, class_bits, NULL);
    local_cfg.allow_files = read_class_mask("allow_mail_to_files", classes, class_bits, NULL);
    local_cfg.propagate_ext = read_class_mask("propagate_unmatched_extensions", classes,
                                              class_bits, other_ext);
    local_cfg.delivered_hdr = read_class_mask("prepend_delivered_header", headers,
                                              header_bits, NULL);
    local_cfg.command_time_limit = config_time("command_time_limit");
    if (local_cfg.command_time_limit <= 0)
        local_cfg.command_time_limit = 1;
    local_cfg.owner_request_special = config_bool("owner_request_special");
    local_cfg.expand_owner_alias = config_bool("expand_owner_alias");
    local_cfg.forward_path = config_str("forward_path");
    local_cfg.exec_directory = config_str("command_execution_directory");
    local_cfg.command_shell = config_str("local_command_shell");
    local_cfg.command_filter = config_str("command_expansion_filter");
    local_cfg.forward_filter = config_str("forward_expansion_filter");
    local_cfg.exec_dir_filter = config_str("execution_directory_expansion_filter");
    local_cfg.export_environment = config_list("export_environment");
    if (local_cfg.started_as_root) {
        /* Commands and files never run as root. */
        privilege_lookup(config_str("default_privs"), &local_cfg.default_uid,
                         &local_cfg.default_gid);
        if (local_cfg.default_uid == 0 || local_cfg.default_gid == 0)
            msg_fatal("default_privs: %s: privileged user is not allowed",
                      config_str("default_privs"));
    }
    alias_init();
}

static void read_settings(service_t *svc)
{
    long message_limit;

    (void) svc;
    local_cfg.home_mailbox = config_str("home_mailbox");
    local_cfg.mail_spool_directory = config_str("mail_spool_directory");
    local_cfg.recipient_delimiter = config_str("recipient_delimiter");
    local_cfg.mailbox_size_limit = config_size("mailbox_size_limit");
    local_cfg.lock_attempts = config_int("deliver_lock_attempts");
    local_cfg.lock_delay = config_time("deliver_lock_delay");
    local_cfg.stale_lock_time = config_time("stale_lock_time");
    local_cfg.started_as_root = (geteuid() == 0);
    if (local_cfg.started_as_root)
        privilege_lookup(config_str("mail_owner"), &local_cfg.owner_uid, &local_cfg.owner_gid);
    read_lock_methods();
    read_expansion_settings();
    if (local_cfg.lock_attempts < 1)
        local_cfg.lock_attempts = 1;

    message_limit = config_size("message_size_limit");
    if (local_cfg.mailbox_size_limit > 0 && local_cfg.mailbox_size_limit < message_limit)
        msg_fatal("configuration error: mailbox_size_limit is smaller than message_size_limit");
}

int main(int argc, char **argv)
{
    service_t svc;
    service_opts_t opts = { 0 };

    memset(&svc, 0, sizeof(svc));
    opts.post_init = read_settings;
    opts.privileged = 1;       /* becomes each recipient in turn */
    service_init(&svc, argc, argv, "local", &opts);
    single_server_run(&svc, local_serve);
}
