/* master services: master.cf entries turned into services with their
 * listeners, and the reload that keeps what stayed, adds what is new and
 * stops what was removed, without closing a listener that stays. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "master.h"

static const char *mastercf_path(buf_t *path)
{
    buf_reset(path);
    buf_printf(path, "%s/master.cf", master.config_dir);
    return path->data;
}

static argv_t *argv_copy(const argv_t *src)
{
    argv_t *a = argv_new();

    for (size_t i = 0; i < src->argc; i++)
        argv_add(a, src->argv[i]);
    return a;
}

static char *program_path(const char *command)
{
    buf_t path = BUF_INIT;

    if (command[0] == '/')
        buf_puts(&path, command);
    else
        buf_printf(&path, "%s/%s", config_str("daemon_directory"), command);
    return buf_steal(&path);
}

static char *service_key(const master_entry_t *e)
{
    buf_t key = BUF_INIT;

    buf_printf(&key, "%s/%s/%d", e->type, e->name, strcmp(e->type, "inet") ? e->private_ : 0);
    return buf_steal(&key);
}

static int type_supported(const char *type)
{
    return strcmp(type, "inet") == 0 || strcmp(type, "unix") == 0 || strcmp(type, "fifo") == 0;
}

/* A service from a master.cf entry, or NULL (with a warning) when facteur
 * cannot run it: Debian's master.cf lists daemons facteur does not have. */
static mservice_t *service_new(const master_entry_t *e, const char *cf)
{
    mservice_t *s;
    char *path;

    if (!type_supported(e->type)) {
        msg_warn("%s, line %d: service %s: type %s is not supported: skipped",
                 cf, e->line, e->name, e->type);
        return NULL;
    }
    path = program_path(e->command);
    if (access(path, X_OK) < 0) {
        msg_warn("%s, line %d: service %s: %s: %m: skipped", cf, e->line, e->name, path);
        free(path);
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    s->name = xstrdup(e->name);
    s->type = xstrdup(e->type);
    s->private_ = strcmp(e->type, "inet") == 0 ? 0 : e->private_;
    s->unpriv = e->unpriv;
    /* Debian's master.cf chroots nearly every service. Postfix can because
     * proxymap answers passwd lookups from outside the jail; facteur has no
     * such proxy yet, and a jailed smtpd would reject every local user. So
     * the column is read but not acted on, and the admin is told. */
    if (e->chroot)
        msg_warn("%s, line %d: service %s: chroot is not supported yet: running it unchrooted",
                 cf, e->line, e->name);
    s->chroot = 0;
    s->wakeup = e->wakeup;
    s->wakeup_on_use = e->wakeup_on_use;
    s->maxproc = e->maxproc;
    s->command = xstrdup(e->command);
    s->path = path;
    s->args = argv_copy(e->args);
    s->endpoint = listen_endpoint(e);
    s->key = service_key(e);
    s->status_rd = s->status_wr = s->alive_rd = s->alive_wr = -1;
    return s;
}

static void service_free(mservice_t *s)
{
    free(s->name);
    free(s->type);
    free(s->command);
    free(s->path);
    argv_free(s->args);
    free(s->endpoint);
    free(s->key);
    free(s);
}

static void service_append(mservice_t *s)
{
    mservice_t **pp = &master.services;

    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = s;
}

static master_table_t *load_table(int fatal_errors)
{
    buf_t path = BUF_INIT;
    long limit = config_int("default_process_limit");
    char *err = NULL;
    master_table_t *t = mastercf_load(mastercf_path(&path), (int) limit, &err);

    if (t == NULL) {
        if (fatal_errors)
            msg_fatal("%s", err ? err : "master.cf: cannot load");
        msg_warn("%s: keeping the current services", err ? err : "master.cf: cannot load");
    }
    free(err);
    buf_release(&path);
    return t;
}

void services_load(void)
{
    master_table_t *t = load_table(1);
    buf_t path = BUF_INIT;

    mastercf_path(&path);
    for (size_t i = 0; i < t->count; i++) {
        mservice_t *s = service_new(t->entries[i], path.data);

        if (s == NULL)
            continue;
        listen_open(s, 1);
        spawn_service_init(s);
        service_append(s);
    }
    if (master.services == NULL)
        msg_warn("%s: no service to run", path.data);
    mastercf_free(t);
    buf_release(&path);
}

static mservice_t *find_live(const char *key)
{
    for (mservice_t *s = master.services; s != NULL; s = s->next)
        if (!s->removed && strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

/* A kept service takes the new settings; its listeners stay open. */
static void service_update(mservice_t *old, mservice_t *fresh)
{
    old->unpriv = fresh->unpriv;
    old->chroot = fresh->chroot;
    old->wakeup = fresh->wakeup;
    old->wakeup_on_use = fresh->wakeup_on_use;
    old->maxproc = fresh->maxproc;
    free(old->command);
    old->command = fresh->command;
    fresh->command = NULL;
    free(old->path);
    old->path = fresh->path;
    fresh->path = NULL;
    argv_free(old->args);
    old->args = fresh->args;
    fresh->args = argv_new();
    service_free(fresh);
}

/* Pass 1 of a reload: an entry that matches a running service updates
 * it and retires its old children. */
static void reload_keep(const master_entry_t *e, const char *cf)
{
    mservice_t *fresh = service_new(e, cf);
    mservice_t *old;

    if (fresh == NULL)
        return;
    old = find_live(fresh->key);
    if (old == NULL) {
        service_free(fresh);
        return;
    }
    old->seen = 1;
    service_update(old, fresh);
    spawn_retire_generation(old);
}

/* Pass 2, after the removed services let go of their sockets (a new
 * service may reuse a path): an entry matching nothing starts a service. */
static void reload_add(const master_entry_t *e, const char *cf)
{
    mservice_t *fresh = service_new(e, cf);

    if (fresh == NULL)
        return;
    if (find_live(fresh->key) != NULL || listen_open(fresh, 0) < 0) {
        service_free(fresh);
        return;
    }
    fresh->seen = 1;
    spawn_service_init(fresh);
    service_append(fresh);
}

void services_reload(void)
{
    master_table_t *t;
    buf_t path = BUF_INIT;
    mservice_t *s, *next;

    config_load(master.config_dir);
    log_configure(config_str("syslog_name"), config_str("maillog_file"));
    t = load_table(0);
    if (t == NULL)
        return;
    master.generation++;
    mastercf_path(&path);
    for (s = master.services; s != NULL; s = s->next)
        s->seen = 0;
    for (size_t i = 0; i < t->count; i++)
        reload_keep(t->entries[i], path.data);
    for (s = master.services; s != NULL; s = next) {
        next = s->next;         /* a removed service may be freed at once */
        if (!s->removed && !s->seen)
            spawn_service_remove(s);
    }
    for (size_t i = 0; i < t->count; i++)
        reload_add(t->entries[i], path.data);
    for (s = master.services; s != NULL; s = s->next) {
        if (s->removed)
            continue;
        spawn_update_listen(s);
        spawn_start_resident(s);
    }
    mastercf_free(t);
    buf_release(&path);
    msg_info("reload -- version %s, configuration %s",
             config_str("mail_version"),
             master.config_dir);
}

void services_forget(mservice_t *gone)
{
    for (mservice_t **pp = &master.services; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            service_free(gone);
            return;
        }
    }
}
