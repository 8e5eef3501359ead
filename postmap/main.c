/* postmap: builds lookup tables from "key value" source files
 * (postmap spam -> spam.db) and queries, lists and edits them. */
#include "log.h"
#include "table_build.h"

int main(int argc, char **argv)
{
    log_init("postmap", LOG_FLAG_STDERR);
    return table_command(argc, argv, "postmap", table_parse_kv);
}
