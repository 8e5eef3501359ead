/* settings: the main.cf parameters cleanup uses, read once per process so
 * that a message never pays for a lookup. Defaults and shared bounds come
 * from the parameter table (lib/params.c, lib/config.c). */
#include <ctype.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"

/* Stream timeouts are int seconds (times 1000 for poll): keep them small. */
#define IPC_TIMEOUT_MAX 86400

cleanup_settings_t cleanup_settings;

/* Header names compare without case: keep them lower-cased. */
static argv_t *lower_case_list(const char *name)
{
    argv_t *list = config_list(name);

    for (size_t i = 0; i < list->argc; i++)
        for (char *p = list->argv[i]; *p; p++)
            *p = (char) tolower((unsigned char) *p);
    return list;
}

void cleanup_settings_load(void)
{
    cleanup_settings_t *s = &cleanup_settings;
    long timeout;

    s->message_size_limit = config_size("message_size_limit");
    s->header_size_limit = config_int("header_size_limit");
    s->hopcount_limit = config_int("hopcount_limit");
    s->line_length_limit = config_int("line_length_limit");
    s->duplicate_filter_limit = config_int("duplicate_filter_limit");
    s->always_add_missing_headers = config_bool("always_add_missing_headers");
    s->replace_stray_cr_lf = config_bool("cleanup_replace_stray_cr_lf");
    s->drop_headers = lower_case_list("message_drop_headers");
    s->myhostname = config_str("myhostname");
    s->delay_warning_time = config_time("delay_warning_time");

    if (s->header_size_limit <= 0)
        msg_fatal("bad numerical configuration: header_size_limit = %ld",
                  s->header_size_limit);
    if (s->duplicate_filter_limit < 0)
        s->duplicate_filter_limit = 0;

    /* A stalled client must not hold a process and a partial file forever. */
    timeout = config_time("ipc_timeout");
    s->ipc_timeout = (int) (timeout > IPC_TIMEOUT_MAX ? IPC_TIMEOUT_MAX : timeout);

    cleanup_rewrite_load();
}
