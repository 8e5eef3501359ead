/* postcat: prints queue files in Postfix's postcat layout. */
#ifndef FACTEUR_POSTCAT_H
#define FACTEUR_POSTCAT_H

#include <stddef.h>

#define PC_PRINT_ENV      (1 << 0)   /* -e */
#define PC_PRINT_HEADER   (1 << 1)   /* -h */
#define PC_PRINT_BODY     (1 << 2)   /* -b */
#define PC_PRINT_OFFSET   (1 << 3)   /* -o */
#define PC_PRINT_DECIMAL  (1 << 4)   /* -d */
#define PC_RAW            (1 << 5)   /* -r: pointer records are shown, not followed */

/* Prints one queue file held in memory; label names it in the "***"
 * markers. start is where reading begins (-s). */
void postcat_print(const char *label, const char *data, size_t size, size_t start, int flags);

#endif
