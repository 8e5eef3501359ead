/* pickup: the maildrop daemon ("pickup unix n - n 60 1 pickup"). One
 * process, event driven: triggers on public/pickup start scans of
 * maildrop/. Run by hand (no listener) it scans once and exits. */
#include <stdlib.h>

#include "alloc.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "pickup.h"
#include "service.h"

pickup_settings_t pickup_conf;

static void settings_load(void)
{
    long line = config_int("line_length_limit");

    pickup_conf.myhostname = xstrdup(config_str("myhostname"));
    pickup_conf.mail_name = xstrdup(config_str("mail_name"));
    pickup_conf.line_max = line > 0 ? (size_t) line : 2048;
}

static void post_init(service_t *svc)
{
    if (svc->args->argc > 0)
        msg_fatal("unexpected command-line argument: %s", svc->args->argv[0]);
    settings_load();
    if (svc->listen_count == 0) {
        pickup_scan();
        exit(0);
    }
    pickup_trigger_listen(svc->listen_fds[0]);
    service_watch_master(svc);
    /* Mail that arrived while the system was down waits in maildrop/. */
    pickup_scan_request();
}

int main(int argc, char **argv)
{
    static service_t svc;
    static const service_opts_t opts = {
        .pre_jail = NULL,
        .post_init = post_init,
        .privileged = 0,
    };

    service_init(&svc, argc, argv, "pickup", &opts);
    for (;;)
        event_run_once(-1);
}
