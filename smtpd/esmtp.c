/* esmtp: decoding of ESMTP parameter values (RFC 3461 xtext, NOTIFY, RET). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "delivery.h"
#include "smtpd.h"

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = toupper(c);
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes xtext ("+2B" = '+'); every decoded byte must be printable ASCII.
 * 0 on success, -1 on bad syntax. */
int xtext_decode(buf_t *out, const char *in, size_t len)
{
    buf_reset(out);
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char) in[i];

        if (c == '+') {
            int hi, lo;

            if (len - i < 3)            /* '+' needs two hex digits after it */
                return -1;
            hi = hex_value((unsigned char) in[i + 1]);
            lo = hex_value((unsigned char) in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x21 || c > 0x7e)
            return -1;
        buf_putc(out, c);
    }
    return 0;
}

/* NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY: the DSN_NOTIFY_*
 * bits, or 0 when the value is malformed. */
int dsn_notify_parse(const char *value)
{
    int mask = 0;
    const char *p = value;

    if (*p == 0)
        return 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        int bit;

        if (n == 5 && strncasecmp(p, "NEVER", 5) == 0)
            bit = DSN_NOTIFY_NEVER;
        else if (n == 7 && strncasecmp(p, "SUCCESS", 7) == 0)
            bit = DSN_NOTIFY_SUCCESS;
        else if (n == 7 && strncasecmp(p, "FAILURE", 7) == 0)
            bit = DSN_NOTIFY_FAILURE;
        else if (n == 5 && strncasecmp(p, "DELAY", 5) == 0)
            bit = DSN_NOTIFY_DELAY;
        else
            return 0;
        mask |= bit;
        p += n;
        if (*p == ',' && *++p == 0)
            return 0;                   /* trailing comma */
    }
    /* NEVER excludes every other keyword. */
    if ((mask & DSN_NOTIFY_NEVER) && mask != DSN_NOTIFY_NEVER)
        return 0;
    return mask;
}

/* RET=FULL -> 1, RET=HDRS -> 2, else 0. */
int dsn_ret_parse(const char *value)
{
    if (strcasecmp(value, "FULL") == 0)
        return 1;
    if (strcasecmp(value, "HDRS") == 0)
        return 2;
    return 0;
}
