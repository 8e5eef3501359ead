/* maildate: the RFC 5322 date Postfix writes in Received: and Date:,
 * "Tue,  4 Nov 2026 07:02:01 +0100 (CET)": local time, day of month
 * padded to two characters with a space, numeric zone, then zone name.
 * Names are spelled here, not by strftime, so the locale cannot change them. */
#include <stdlib.h>

#include "log.h"
#include "maildate.h"

static const char *const day_names[7] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const month_names[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* "+hhmm" / "-hhmm" from seconds east of UTC (seconds part dropped). */
static void put_zone_offset(buf_t *out, long gmtoff)
{
    char sign = gmtoff < 0 ? '-' : '+';
    long minutes = labs(gmtoff) / 60;

    buf_printf(out, "%c%02ld%02ld", sign, (minutes / 60) % 100, minutes % 60);
}

void mail_date(buf_t *out, time_t when)
{
    struct tm tm;

    if (localtime_r(&when, &tm) == NULL)
        msg_fatal("mail_date: cannot convert time %lld", (long long) when);
    if (tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
        msg_panic("mail_date: localtime_r returned a bad date");
    buf_printf(out, "%s, %2d %s %d %02d:%02d:%02d ",
               day_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
               tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    put_zone_offset(out, tm.tm_gmtoff);
    if (tm.tm_zone != NULL && *tm.tm_zone != 0)
        buf_printf(out, " (%s)", tm.tm_zone);
}
