/* maildate: RFC 5322 dates as Postfix writes them in Received: and Date:
 *   "Tue, 24 Nov 2026 07:02:01 +0000 (UTC)" (local time, numeric zone, zone name). */
#ifndef FACTEUR_MAILDATE_H
#define FACTEUR_MAILDATE_H

#include <time.h>
#include "buf.h"

void mail_date(buf_t *out, time_t when);     /* appends */

#endif
