/* postfix messages: what Postfix's postfix-script prints, on stderr with
 * the "postfix/postfix-script: " prefix and in the mail log under the tag
 * postfix/postfix-script. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "postfix.h"

static buf_t prefix = BUF_INIT;

void script_log_init(void)
{
    const char *name = config_str("syslog_name");

    log_init("postfix-script", LOG_FLAG_SYSLOG | LOG_FLAG_STDERR);
    log_configure(name, config_str("maillog_file"));
    buf_reset(&prefix);
    buf_printf(&prefix, "%s/postfix-script: ", *name ? name : "postfix");
}

/* Writes "prefix level text\n" to stderr. */
static void to_stderr(const char *level, const char *text)
{
    buf_t line = BUF_INIT;

    buf_printf(&line, "%s%s%s\n", buf_str(&prefix), level, text);
    if (write(2, line.data, line.len) < 0) {
        /* stderr closed: the mail log still has it */
    }
    buf_release(&line);
}

#define FORMAT(text, fmt) do { \
        va_list ap; \
        va_start(ap, fmt); \
        buf_vprintf(&text, fmt, ap); \
        va_end(ap); \
    } while (0)

void script_info(const char *fmt, ...)
{
    buf_t text = BUF_INIT;

    FORMAT(text, fmt);
    to_stderr("", text.data);
    log_set_stderr(0);
    msg_info("%s", text.data);
    log_set_stderr(1);
    buf_release(&text);
}

void script_warn(const char *fmt, ...)
{
    buf_t text = BUF_INIT;

    FORMAT(text, fmt);
    to_stderr("warning: ", text.data);
    log_set_stderr(0);
    msg_warn("%s", text.data);
    log_set_stderr(1);
    buf_release(&text);
}

void script_fatal(const char *fmt, ...)
{
    buf_t text = BUF_INIT;

    FORMAT(text, fmt);
    to_stderr("fatal: ", text.data);
    log_set_stderr(0);
    msg_fatal_status(1, "%s", text.data);
}
