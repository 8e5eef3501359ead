/* postconf: shows and edits main.cf parameters and lists master.cf, as
 * Postfix's postconf does (-n -d -h -H -x -e -X -# -M -c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "postconf.h"

static void usage(void)
{
    msg_fatal_status(1, "usage: postconf [-dhHnvx] [-c config_dir] [-e|-X|-#] [-M] [name...]");
}

static void set_edit_mode(postconf_opts_t *o, int mode)
{
    if (o->edit && o->edit != mode)
        msg_fatal("options -e, -X and -# are mutually exclusive");
    o->edit = mode;
}

int main(int argc, char **argv)
{
    postconf_opts_t o = { 0 };
    int c;

    log_init("postconf", LOG_FLAG_STDERR);
    while ((c = getopt(argc, argv, "c:dehHMnvxX#")) > 0) {
        switch (c) {
        case 'c': o.config_dir = optarg; break;
        case 'd': o.defaults = 1; break;
        case 'h': o.values_only = 1; break;
        case 'H': o.names_only = 1; break;
        case 'M': o.master = 1; break;
        case 'n': o.nondefault = 1; break;
        case 'v': msg_verbose++; break;
        case 'x': o.expand = 1; break;
        case 'e':
        case 'X':
        case '#': set_edit_mode(&o, c); break;
        default: usage();
        }
    }
    if (o.defaults && o.nondefault)
        msg_fatal("options -d and -n are mutually exclusive");
    if (o.edit) {
        if (optind >= argc)
            msg_fatal("-%c requires at least one parameter", o.edit);
        postconf_edit(o.config_dir ? o.config_dir : config_dir(), o.edit, argv + optind, argc - optind);
    } else if (o.master) {
        postconf_show_master(o.config_dir, argv + optind, argc - optind);
    } else {
        postconf_show(&o, argv + optind, argc - optind);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal("write error on standard output");
    return 0;
}
