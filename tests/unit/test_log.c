/* Unit tests for lib/log: Postfix's line shapes in maillog_file and on stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    static char text[8192];
    size_t n;

    if (fp == NULL)
        return NULL;
    n = fread(text, 1, sizeof(text) - 1, fp);
    text[n] = 0;
    fclose(fp);
    return text;
}

static void test_maillog_line_shape(void **state)
{
    char dir[] = "/tmp/facteur-log-XXXXXX";
    char path[256], want[128];
    char *text;

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/mail.log", dir);
    log_init("/usr/lib/postfix/sbin/smtpd", LOG_FLAG_SYSLOG);
    log_configure("postfix", path);
    msg_info("connect from localhost[127.0.0.1]");
    msg_warn("evil\nNov 24 forged line");
    text = slurp(path);
    assert_non_null(text);
    snprintf(want, sizeof(want), " postfix/smtpd[%ld]: connect from localhost[127.0.0.1]\n",
             (long) getpid());
    assert_non_null(strstr(text, want));
    /* Newlines in message text never start a new log line. */
    assert_non_null(strstr(text, "warning: evil Nov 24 forged line\n"));
    log_configure("postfix-test", path);
    msg_info("x");
    assert_non_null(strstr(slurp(path), "postfix-test/smtpd["));
    log_configure("", "");
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maillog_line_shape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
