/* qmgr: the queue manager. Moves mail from incoming/ and deferred/ into
 * active/, hands it to the delivery agents, and defers, bounces or removes
 * it. One process, event driven: triggers on public/qmgr, a deferred-scan
 * timer, and the agents' replies all arrive through lib/event. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "qmgr.h"
#include "service.h"

qmgr_settings_t qmgr_conf;

void qmgr_settings_load(void)
{
    qmgr_settings_t *c = &qmgr_conf;

    c->queue_run_delay = config_time("queue_run_delay");
    c->minimal_backoff_time = config_time("minimal_backoff_time");
    c->maximal_backoff_time = config_time("maximal_backoff_time");
    c->maximal_queue_lifetime = config_time("maximal_queue_lifetime");
    c->bounce_queue_lifetime = config_time("bounce_queue_lifetime");
    c->transport_retry_time = config_time("transport_retry_time");
    c->active_limit = config_int("qmgr_message_active_limit");
    c->process_limit = config_int("default_process_limit");
    c->default_concurrency = config_int("default_destination_concurrency_limit");
    c->default_rcpt_limit = config_int("default_destination_recipient_limit");
    c->bounce_size_limit = config_size("bounce_size_limit");
    c->delay_warning_time = config_time("delay_warning_time");
    c->agent_timeout = config_time("daemon_timeout");
    c->soft_bounce = config_bool("soft_bounce");
    c->myhostname = xstrdup(config_str("myhostname"));
    c->myorigin = xstrdup(config_str("myorigin"));
    c->mail_name = xstrdup(config_str("mail_name"));
    c->double_bounce_sender = xstrdup(config_str("double_bounce_sender"));

    if (c->queue_run_delay < 1)
        c->queue_run_delay = 1;
    if (c->active_limit < 1)
        c->active_limit = 1;
    if (c->process_limit < 1)
        c->process_limit = 1;
    if (c->minimal_backoff_time < 1)
        c->minimal_backoff_time = 1;
    if (c->maximal_backoff_time < c->minimal_backoff_time)
        c->maximal_backoff_time = c->minimal_backoff_time;
    if (c->transport_retry_time < 1)
        c->transport_retry_time = 1;
}

int qmgr_timer_ms(long seconds)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds > 86400)
        seconds = 86400;
    return (int) seconds * 1000;
}

static void qmgr_post_init(service_t *svc)
{
    qmgr_settings_load();
    if (svc->listen_count > 0)
        trigger_listen(svc->listen_fds[0]);
    else
        msg_warn("no public/qmgr listener: running without triggers");
    service_watch_master(svc);
    scan_startup();
}

int main(int argc, char **argv)
{
    static service_t svc;
    static const service_opts_t opts = {
        .pre_jail = NULL,
        .post_init = qmgr_post_init,
        .privileged = 0,
    };

    service_init(&svc, argc, argv, "qmgr", &opts);
    for (;;)
        event_run_once(-1);
}
