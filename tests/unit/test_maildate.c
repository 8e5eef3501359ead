/* Unit tests for lib/maildate: RFC 5322 dates in several time zones
 * (POSIX TZ strings, so no tzdata is needed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "maildate.h"

#define NOV_24_2026_070201_UTC  ((time_t) 1795503721)
#define JUL_04_2026_233000_UTC  ((time_t) 1783207800)

static void date_in_zone(buf_t *out, const char *tz, time_t when)
{
    setenv("TZ", tz, 1);
    tzset();
    buf_reset(out);
    mail_date(out, when);
}

static void test_utc(void **state)
{
    buf_t b = BUF_INIT;

    (void) state;
    date_in_zone(&b, "UTC0", NOV_24_2026_070201_UTC);
    assert_string_equal(buf_str(&b), "Tue, 24 Nov 2026 07:02:01 +0000 (UTC)");
    date_in_zone(&b, "UTC0", 0);
    assert_string_equal(buf_str(&b), "Thu,  1 Jan 1970 00:00:00 +0000 (UTC)");
    buf_release(&b);
}

static void test_zones(void **state)
{
    static const char cet[] = "CET-1CEST,M3.5.0,M10.5.0/3";
    static const char est[] = "EST5EDT,M3.2.0,M11.1.0";
    buf_t b = BUF_INIT;

    (void) state;
    date_in_zone(&b, cet, NOV_24_2026_070201_UTC);
    assert_string_equal(buf_str(&b), "Tue, 24 Nov 2026 08:02:01 +0100 (CET)");
    date_in_zone(&b, cet, JUL_04_2026_233000_UTC);
    assert_string_equal(buf_str(&b), "Sun,  5 Jul 2026 01:30:00 +0200 (CEST)");
    date_in_zone(&b, est, NOV_24_2026_070201_UTC);
    assert_string_equal(buf_str(&b), "Tue, 24 Nov 2026 02:02:01 -0500 (EST)");
    date_in_zone(&b, est, JUL_04_2026_233000_UTC);
    assert_string_equal(buf_str(&b), "Sat,  4 Jul 2026 19:30:00 -0400 (EDT)");
    date_in_zone(&b, "IST-5:30", NOV_24_2026_070201_UTC);
    assert_string_equal(buf_str(&b), "Tue, 24 Nov 2026 12:32:01 +0530 (IST)");
    date_in_zone(&b, "NST3:30", NOV_24_2026_070201_UTC);
    assert_string_equal(buf_str(&b), "Tue, 24 Nov 2026 03:32:01 -0330 (NST)");
    buf_release(&b);
}

static void test_appends(void **state)
{
    buf_t b = BUF_INIT;

    (void) state;
    setenv("TZ", "UTC0", 1);
    tzset();
    buf_puts(&b, "Date: ");
    mail_date(&b, NOV_24_2026_070201_UTC);
    assert_string_equal(buf_str(&b), "Date: Tue, 24 Nov 2026 07:02:01 +0000 (UTC)");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_appends),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
