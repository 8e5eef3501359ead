/* alias: the first step for a local name, alias_maps. Each table of the
 * list is opened on its own so that the table that answered is known: its
 * owner decides who |command and /file destinations run as (default_privs
 * when root owns it), and an owner-NAME alias becomes the envelope sender
 * of what NAME's expansion forwards (owner_request_special). A table that
 * cannot be read defers the recipient, never bounces it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "config.h"
#include "local.h"
#include "log.h"
#include "resolve.h"
#include "table.h"

typedef struct alias_table {
    char   *spec;
    maps_t *maps;                  /* this one table */
} alias_table_t;

static alias_table_t *alias_tables;
static size_t alias_table_count;

void alias_init(void)
{
    argv_t *specs = config_list("alias_maps");

    alias_tables = xcalloc(specs->argc ? specs->argc : 1, sizeof(*alias_tables));
    for (size_t i = 0; i < specs->argc; i++) {
        alias_tables[i].spec = xstrdup(specs->argv[i]);
        alias_tables[i].maps = maps_open("alias_maps", specs->argv[i], TABLE_FLAG_FOLD);
    }
    alias_table_count = specs->argc;
    argv_free(specs);
}

/* The file behind a table, whose owner owns the aliases in it: NAME.db or
 * NAME.lmdb for database types, the file itself for file types; "" for
 * tables that are not files (inline:, static:, unix:, proxy:...), which
 * count as root's. */
static void table_file(buf_t *path, const char *spec)
{
    static const char *const file_types[] = { "texthash", "regexp", "pcre", "cidr", NULL };
    const char *colon = strchr(spec, ':');
    size_t type_len = colon ? (size_t) (colon - spec) : 0;

    buf_reset(path);
    if (colon == NULL || colon[1] != '/')
        return;
    if ((type_len == 4 && strncmp(spec, "hash", 4) == 0)
        || (type_len == 5 && strncmp(spec, "btree", 5) == 0)) {
        buf_printf(path, "%s.db", colon + 1);
        return;
    }
    if (type_len == 4 && strncmp(spec, "lmdb", 4) == 0) {
        buf_printf(path, "%s.lmdb", colon + 1);
        return;
    }
    for (int i = 0; file_types[i] != NULL; i++)
        if (strlen(file_types[i]) == type_len && strncmp(spec, file_types[i], type_len) == 0)
            buf_puts(path, colon + 1);
}

/* Who the aliases of a table run as: the table file's owner, or nobody
 * chosen (uid 0: default_privs) for root and for tables that are not
 * files. 0, or -1 when the owner has no passwd entry (defer). */
static int table_ident(const char *spec, local_ident_t *ident, local_user_t *owner)
{
    buf_t path = BUF_INIT;
    struct stat st;
    int found;

    memset(ident, 0, sizeof(*ident));
    memset(owner, 0, sizeof(*owner));
    table_file(&path, spec);
    if (path.len == 0 || stat(buf_str(&path), &st) < 0 || st.st_uid == 0) {
        buf_release(&path);
        return 0;
    }
    buf_release(&path);
    found = local_user_by_uid(st.st_uid, owner);
    if (found <= 0) {
        msg_warn("cannot find alias database owner for %s (uid %ld)", spec, (long) st.st_uid);
        return -1;
    }
    ident->uid = owner->uid;
    ident->gid = owner->gid;
    ident->home = owner->home;
    ident->shell = owner->shell;
    return 0;
}

/* Looks key up in every table in turn; the first that has it answers.
 * *table says which. TABLE_FOUND, TABLE_NOTFOUND or TABLE_ERROR. */
static int alias_lookup(const char *key, buf_t *value, const alias_table_t **table)
{
    for (size_t i = 0; i < alias_table_count; i++) {
        int r = maps_get(alias_tables[i].maps, key, value);

        if (r != TABLE_NOTFOUND) {
            *table = &alias_tables[i];
            return r;
        }
    }
    return TABLE_NOTFOUND;
}

/* The envelope sender for NAME's expansion: with owner_request_special,
 * "owner-NAME" when that alias exists (its value with expand_owner_alias,
 * when it is one address). 1 replaced, 0 kept, -1 table error. */
static int owner_sender(const char *name, buf_t *sender)
{
    buf_t key = BUF_INIT;
    buf_t value = BUF_INIT;
    const alias_table_t *table;
    int r;

    if (!local_cfg.owner_request_special)
        return 0;
    buf_printf(&key, "owner-%s", name);
    r = alias_lookup(buf_str(&key), &value, &table);
    if (r == TABLE_FOUND) {
        buf_trim_right(&value);
        if (local_cfg.expand_owner_alias && value.len > 0
            && strpbrk(buf_str(&value), ", \t|/:\"") == NULL)
            resolve_canonical(sender, buf_str(&value));
        else
            resolve_canonical(sender, buf_str(&key));
    }
    buf_release(&key);
    buf_release(&value);
    return r == TABLE_FOUND ? 1 : r == TABLE_ERROR ? -1 : 0;
}

/* Expands the alias value found for key in table. */
static void expand_alias(local_state_t *st, const expansion_t *parent, const char *key,
                         const char *value, const alias_table_t *table, int unmatched)
{
    local_ident_t ident;
    local_user_t owner_user;
    buf_t sender = BUF_INIT;
    expansion_t exp;
    int owner;

    if (table_ident(table->spec, &ident, &owner_user) < 0) {
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "cannot find alias database owner");
        return;
    }
    if ((owner = owner_sender(key, &sender)) < 0) {
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "alias database unavailable");
        local_user_free(&owner_user);
        return;
    }
    exp = *parent;
    exp.class = LOCAL_CLASS_ALIAS;
    exp.from = key;
    exp.skip = LOCAL_SKIP_ALIAS;
    exp.ident = &ident;
    if (owner) {
        exp.sender = buf_str(&sender);
        exp.owner = 1;
    }
    exp.unmatched = unmatched && (local_cfg.propagate_ext & LOCAL_CLASS_ALIAS)
        ? buf_str(&st->name.extension) : NULL;
    exp.depth = parent->depth + 1;
    if (expand_list(st, &exp, value) == 0) {
        msg_warn("no recipient in alias lookup result for %s", key);
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "alias database unavailable");
    }
    local_user_free(&owner_user);
    buf_release(&sender);
}

int alias_deliver(local_state_t *st, const expansion_t *parent)
{
    const char *keys[2];
    int nkeys = 0, handled = 0;
    buf_t value = BUF_INIT;

    keys[nkeys++] = buf_str(&st->name.localpart);
    if (st->name.delimiter != 0)
        keys[nkeys++] = buf_str(&st->name.user);
    for (int i = 0; i < nkeys && !handled; i++) {
        const alias_table_t *table = NULL;
        int r = alias_lookup(keys[i], &value, &table);

        if (r == TABLE_NOTFOUND)
            continue;
        handled = 1;
        if (r == TABLE_ERROR) {
            leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "alias database unavailable");
        } else if (parent->depth >= LOCAL_EXPANSION_DEPTH) {
            msg_warn("alias database loop for %s", keys[i]);
            leaf_result(st, DELIVERY_BOUNCED, "5.4.6", "alias database loop for %s", keys[i]);
        } else {
            char *found = xstrdup(buf_str(&value));

            expand_alias(st, parent, keys[i], found, table, i > 0);
            free(found);
        }
    }
    buf_release(&value);
    return handled;
}
