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

/* Parameters may be missing from the table while it grows: fall back to
 * Postfix's defaults instead of dying in the typed getters. */
static long conf_time(const char *name, long def)
{
    return config_get(name) ? config_time(name) : def;
}

static long conf_int(const char *name, long def)
{
    return config_get(name) ? config_int(name) : def;
}

static long conf_size(const char *name, long def)
{
    return config_get(name) ? config_size(name) : def;
}

static char *conf_str(const char *name, const char *def)
{
    const char *v = config_get(name);

    return xstrdup(v && *v ? v : def);
}

void qmgr_settings_load(void)
{
    qmgr_settings_t *c = &qmgr_conf;

    c->queue_run_delay = conf_time("queue_run_delay", 300);
    c->minimal_backoff_time = conf_time("minimal_backoff_time", 300);
    c->maximal_backoff_time = conf_time("maximal_backoff_time", 4000);
    c->maximal_queue_lifetime = conf_time("maximal_queue_lifetime", 5 * 86400);
    c->bounce_queue_lifetime = conf_time("bounce_queue_lifetime", 5 * 86400);
    c->transport_retry_time = conf_time("transport_retry_time", 60);
    c->active_limit = conf_int("qmgr_message_active_limit", 20000);
    c->process_limit = conf_int("default_process_limit", 100);
    c->default_concurrency = conf_int("default_destination_concurrency_limit", 20);
    c->default_rcpt_limit = conf_int("default_destination_recipient_limit", 50);
    c->bounce_size_limit = conf_size("bounce_size_limit", 50000);
    c->agent_timeout = conf_time("daemon_timeout", 18000);
    c->soft_bounce = config_get("soft_bounce") ? config_bool("soft_bounce") : 0;
    c->myhostname = conf_str("myhostname", "localhost");
    c->myorigin = conf_str("myorigin", c->myhostname);
    c->mail_name = conf_str("mail_name", "Postfix");
    c->double_bounce_sender = conf_str("double_bounce_sender", "double-bounce");

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
