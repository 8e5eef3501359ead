/* local: the local delivery agent. Serves qmgr's delivery requests on
 * private/local, one connection at a time, delivering into mbox or Maildir
 * as the recipient. It stays root so it can take each recipient's identity. */
#include <string.h>
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
