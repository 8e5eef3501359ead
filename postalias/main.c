/* postalias: builds alias tables from aliases(5) files ("name: value, ...")
 * and queries them; invoked as newaliases, rebuilds alias_database. */
#include <string.h>

#include "log.h"
#include "table_build.h"

int main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    const char *name = slash ? slash + 1 : argv[0];

    if (strcmp(name, "newaliases") == 0) {
        log_init("newaliases", LOG_FLAG_STDERR);
        return table_newaliases(argc, argv);
    }
    log_init("postalias", LOG_FLAG_STDERR);
    return table_command(argc, argv, "postalias", table_parse_alias);
}
