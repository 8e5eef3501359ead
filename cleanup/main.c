/* cleanup: the one door into the queue. Each client (smtpd, qmgr's notices)
 * streams one message; cleanup writes incoming/ID durably and wakes qmgr. */
#include <string.h>

#include "cleanup.h"
#include "service.h"

static void post_init(service_t *svc)
{
    (void) svc;
    cleanup_settings_load();
    cleanup_signals_init();
}

int main(int argc, char **argv)
{
    service_t svc;
    service_opts_t opts = { .pre_jail = NULL, .post_init = post_init, .privileged = 0 };

    memset(&svc, 0, sizeof(svc));
    service_init(&svc, argc, argv, "cleanup", &opts);
    single_server_run(&svc, cleanup_serve);
}
