/* master: postconf -M: master.cf entries, one normalised line each, for
 * every service or those named as "service" or "service/type". The fields
 * show the values in effect ('-' resolved), except wakeup 0 shown as '-'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "mastercf.h"
#include "postconf.h"

static int selected(const master_entry_t *m, char **filters, int count)
{
    if (count == 0)
        return 1;
    for (int i = 0; i < count; i++) {
        const char *slash = strchr(filters[i], '/');
        size_t n = slash ? (size_t) (slash - filters[i]) : strlen(filters[i]);

        if (strlen(m->name) == n && strncmp(m->name, filters[i], n) == 0
            && (slash == NULL || strcmp(slash + 1, m->type) == 0))
            return 1;
    }
    return 0;
}

static void print_entry(const master_entry_t *m)
{
    buf_t wakeup = BUF_INIT;
    buf_t maxproc = BUF_INIT;

    if (m->wakeup)
        buf_printf(&wakeup, "%d%s", m->wakeup, m->wakeup_on_use ? "?" : "");
    else
        buf_puts(&wakeup, "-");
    buf_printf(&maxproc, "%d", m->maxproc);
    printf("%-10s %-5s %-7s %-7s %-7s %-7s %-7s %s", m->name, m->type,
           m->private_ ? "y" : "n", m->unpriv ? "y" : "n", m->chroot ? "y" : "n",
           buf_str(&wakeup), buf_str(&maxproc), m->command);
    for (size_t i = 0; i < m->args->argc; i++) {
        const char *a = m->args->argv[i];

        printf(strpbrk(a, " \t") ? " { %s }" : " %s", a);
    }
    printf("\n");
    buf_release(&wakeup);
    buf_release(&maxproc);
}

void postconf_show_master(const char *dir, char **filters, int count)
{
    buf_t path = BUF_INIT;
    master_table_t *t;
    char *err = NULL;

    config_load(dir);
    buf_printf(&path, "%s/master.cf", config_dir());
    t = mastercf_load(buf_str(&path), (int) config_int("default_process_limit"), &err);
    if (t == NULL)
        msg_fatal("%s", err);
    for (size_t i = 0; i < t->count; i++)
        if (selected(t->entries[i], filters, count))
            print_entry(t->entries[i]);
    mastercf_free(t);
    buf_release(&path);
}
