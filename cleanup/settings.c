/* settings: the main.cf parameters cleanup uses, read once per process so
 * that a message never pays for a lookup. */
#include "cleanup.h"
#include "config.h"
#include "log.h"

cleanup_settings_t cleanup_settings;

/* Parameters that the table may not list yet fall back to Postfix's default. */
static long setting_int(const char *name, long def)
{
    return config_get(name) != NULL ? config_int(name) : def;
}

static long setting_size(const char *name, long def)
{
    return config_get(name) != NULL ? config_size(name) : def;
}

static long setting_time(const char *name, long def)
{
    return config_get(name) != NULL ? config_time(name) : def;
}

static int setting_bool(const char *name, int def)
{
    return config_get(name) != NULL ? config_bool(name) : def;
}

static argv_t *setting_lower_list(const char *name, const char *def)
{
    const char *value = config_get(name);
    argv_t *list = argv_split_list(value != NULL ? value : def);

    for (size_t i = 0; i < list->argc; i++)
        for (char *p = list->argv[i]; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char) (*p - 'A' + 'a');
    return list;
}

void cleanup_settings_load(void)
{
    cleanup_settings_t *s = &cleanup_settings;
    long timeout;

    s->message_size_limit = setting_size("message_size_limit", 10240000);
    s->header_size_limit = setting_int("header_size_limit", 102400);
    s->hopcount_limit = setting_int("hopcount_limit", 50);
    s->line_length_limit = setting_int("line_length_limit", 2048);
    s->duplicate_filter_limit = setting_int("duplicate_filter_limit", 1000);
    s->always_add_missing_headers = setting_bool("always_add_missing_headers", 0);
    s->replace_stray_cr_lf = setting_bool("cleanup_replace_stray_cr_lf", 1);
    s->drop_headers = setting_lower_list("message_drop_headers",
                                         "bcc, content-length, resent-bcc, return-path");
    s->myhostname = config_str("myhostname");

    if (s->message_size_limit < 0)
        msg_fatal("bad numerical configuration: message_size_limit = %ld",
                  s->message_size_limit);
    if (s->header_size_limit <= 0)
        msg_fatal("bad numerical configuration: header_size_limit = %ld",
                  s->header_size_limit);
    if (s->line_length_limit < 1)
        msg_fatal("bad numerical configuration: line_length_limit = %ld",
                  s->line_length_limit);
    if (s->duplicate_filter_limit < 0)
        s->duplicate_filter_limit = 0;

    /* A stalled client must not hold a process and a partial file forever. */
    timeout = setting_time("ipc_timeout", 3600);
    if (timeout <= 0 || timeout > 86400)
        timeout = 3600;
    s->ipc_timeout = (int) timeout;

    cleanup_rewrite_load();
}
