/* table_lmdb: hash:, btree: and lmdb: tables, stored as single-file LMDB
 * environments (NAME.db, NAME.lmdb). Readers open them read-only without a
 * lock file and reopen when postmap has renamed a new file over the old one;
 * the writer builds aside and renames, so nobody ever sees half a table. */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "table_impl.h"

/* Berkeley DB's magic numbers, 12 bytes into the file's first page. */
#define BDB_MAGIC_OFFSET  12
#define BDB_HASH_MAGIC    0x00061561u
#define BDB_BTREE_MAGIC   0x00053162u

#define DB_FILE_MODE      0644
#define MAPSIZE_MIN       ((size_t) 1 << 20)
#define MAPSIZE_MAX       ((size_t) 1 << 40)

/* ---------------------------------------------------------------- */
/* Where a database lives                                            */
/* ---------------------------------------------------------------- */

static const char *db_suffix(const char *type)
{
    if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
        return ".db";
    if (strcmp(type, "lmdb") == 0)
        return ".lmdb";
    return NULL;
}

void table_spec_with_type(buf_t *out, const char *spec, const char *default_type)
{
    buf_reset(out);
    if (strchr(spec, ':') == NULL)
        buf_printf(out, "%s:", default_type && *default_type ? default_type : "hash");
    buf_puts(out, spec);
}

int table_db_locate(const char *spec, const char *default_type, buf_t *type,
                    buf_t *source, buf_t *db_path, buf_t *err)
{
    buf_t full = BUF_INIT;
    const char *colon, *suffix;
    int rc = 0;

    table_spec_with_type(&full, spec, default_type);
    colon = strchr(buf_str(&full), ':');
    buf_reset(type);
    buf_append(type, full.data, (size_t) (colon - full.data));
    buf_set(source, colon + 1);
    suffix = db_suffix(buf_str(type));
    if (suffix == NULL) {
        buf_printf(err, "unsupported map type for this operation: %s", buf_str(type));
        rc = -1;
    } else if (source->len == 0) {
        buf_printf(err, "%s: no file name", buf_str(&full));
        rc = -1;
    } else {
        buf_set(db_path, buf_str(source));
        buf_puts(db_path, suffix);
    }
    buf_release(&full);
    return rc;
}

static uint32_t read_u32(const unsigned char *p, int big_endian)
{
    if (big_endian)
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
    return (uint32_t) p[3] << 24 | (uint32_t) p[2] << 16 | (uint32_t) p[1] << 8 | p[0];
}

int table_db_check_format(const char *db_path, const char *type, const char *source, buf_t *err)
{
    unsigned char head[BDB_MAGIC_OFFSET + 4];
    int fd = open(db_path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return 0;                           /* the opener reports it */
    do
        n = read(fd, head, sizeof(head));
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0) {
        buf_printf(err, "open database %s: %s", db_path, strerror(errno));
        return -1;
    }
    if (n == 0) {
        buf_printf(err, "open database %s: empty file: rebuild it with postmap %s:%s",
                   db_path, type, source);
        return -1;
    }
    if ((size_t) n < sizeof(head))
        return 0;
    for (int big = 0; big < 2; big++) {
        uint32_t magic = read_u32(head + BDB_MAGIC_OFFSET, big);

        if (magic == BDB_HASH_MAGIC || magic == BDB_BTREE_MAGIC) {
            buf_printf(err, "%s is a Berkeley DB file left by Postfix: rebuild it with postmap %s:%s",
                       db_path, type, source);
            return -1;
        }
    }
    return 0;
}

/* Opens a database read-only; st gets the opened file's identity. */
static MDB_env *db_open_ro(const char *db_path, const char *type, const char *source,
                           MDB_dbi *dbi, struct stat *st, buf_t *err)
{
    MDB_env *env;
    MDB_txn *txn;
    int fd, rc;

    if (table_db_check_format(db_path, type, source, err) < 0)
        return NULL;
    if ((rc = mdb_env_create(&env)) != 0) {
        buf_printf(err, "open database %s: %s", db_path, mdb_strerror(rc));
        return NULL;
    }
    /* No lock file: postmap never changes a database in place (it renames
     * a new file over it), so readers need no reader table. */
    rc = mdb_env_open(env, db_path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, DB_FILE_MODE);
    if (rc == 0 && (rc = mdb_env_get_fd(env, &fd)) == 0 && fstat(fd, st) < 0)
        rc = errno;
    if (rc == 0 && (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0) {
        rc = mdb_dbi_open(txn, NULL, 0, dbi);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (rc != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            buf_printf(err, "open database %s: not a database built by postmap: rebuild it with postmap %s:%s",
                       db_path, type, source);
        else
            buf_printf(err, "open database %s: %s", db_path, mdb_strerror(rc));
        mdb_env_close(env);
        return NULL;
    }
    return env;
}

/* LMDB's longest key; a longer one can be neither stored nor found. */
static size_t max_key_size(void)
{
    static size_t max;
    MDB_env *env;

    if (max == 0 && mdb_env_create(&env) == 0) {
        max = (size_t) mdb_env_get_maxkeysize(env);
        mdb_env_close(env);
    }
    return max ? max : 511;
}

/* Copies an LMDB key or value, without the NUL that -N tables store. */
static void copy_datum(buf_t *out, const MDB_val *v)
{
    size_t len = v->mv_size;

    if (len > 0 && ((const char *) v->mv_data)[len - 1] == 0)
        len--;
    buf_reset(out);
    buf_append(out, v->mv_data, len);
}

typedef int (*db_walk_fn)(const char *key, const char *value, void *ctx);

/* Calls fn for every entry of an open database, in key order. */
static int db_walk_env(MDB_env *env, MDB_dbi dbi, const char *db_path, db_walk_fn fn,
                       void *ctx, buf_t *err)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    buf_t key = BUF_INIT, value = BUF_INIT;
    int rc;

    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
        buf_printf(err, "read database %s: %s", db_path, mdb_strerror(rc));
        return -1;
    }
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            copy_datum(&key, &k);
            copy_datum(&value, &v);
            if (fn(buf_str(&key), buf_str(&value), ctx) != 0)
                break;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    buf_release(&key);
    buf_release(&value);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        buf_printf(err, "read database %s: %s", db_path, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Reader                                                            */
/* ---------------------------------------------------------------- */

typedef struct lmdb_table {
    char   *type;
    char   *source;
    char   *db_path;
    MDB_env *env;
    MDB_dbi dbi;
    struct stat st;             /* the file the env has open */
} lmdb_table_t;

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
        && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void warn_if_older(const lmdb_table_t *lt)
{
    struct stat src;

    if (stat(lt->source, &src) < 0)
        return;
    if (src.st_mtim.tv_sec > lt->st.st_mtim.tv_sec
        || (src.st_mtim.tv_sec == lt->st.st_mtim.tv_sec
            && src.st_mtim.tv_nsec > lt->st.st_mtim.tv_nsec))
        msg_warn("database %s is older than source file %s", lt->db_path, lt->source);
}

/* Reopens the file when postmap has replaced it. -1 (logged) on failure:
 * the lookup then fails rather than answer from a table that is gone. */
static int lmdb_refresh(table_t *t, lmdb_table_t *lt)
{
    struct stat now;
    MDB_env *env;
    MDB_dbi dbi;
    buf_t err = BUF_INIT;

    if (stat(lt->db_path, &now) < 0 || same_file(&now, &lt->st))
        return 0;                           /* removed: keep answering from what we have */
    env = db_open_ro(lt->db_path, lt->type, lt->source, &dbi, &now, &err);
    if (env == NULL) {
        msg_warn("%s: %s", t->spec, buf_str(&err));
        buf_release(&err);
        return -1;
    }
    mdb_env_close(lt->env);
    lt->env = env;
    lt->dbi = dbi;
    lt->st = now;
    warn_if_older(lt);
    return 0;
}

static int lmdb_lookup(table_t *t, lmdb_table_t *lt, const char *key, buf_t *value)
{
    MDB_txn *txn;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_txn_begin(lt->env, NULL, MDB_RDONLY, &txn)) != 0) {
        msg_warn("%s: lookup of \"%s\": %s", t->spec, key, mdb_strerror(rc));
        return TABLE_ERROR;
    }
    /* Keys are stored without their NUL unless built with -N: try both. */
    for (int with_nul = 0; with_nul < 2; with_nul++) {
        k.mv_data = (void *) key;
        k.mv_size = strlen(key) + (size_t) with_nul;
        rc = mdb_get(txn, lt->dbi, &k, &v);
        if (rc != MDB_NOTFOUND)
            break;
    }
    if (rc == 0)
        copy_datum(value, &v);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return TABLE_NOTFOUND;
    if (rc != 0) {
        msg_warn("%s: lookup of \"%s\": %s", t->spec, key, mdb_strerror(rc));
        return TABLE_ERROR;
    }
    return TABLE_FOUND;
}

static int lmdb_get(table_t *t, const char *key, buf_t *value)
{
    lmdb_table_t *lt = t->impl;
    buf_t folded = BUF_INIT;
    int r;

    /* LMDB has no empty keys, nor keys longer than its limit: such a key
     * (a long address from a client) is simply not in the table. */
    if (*key == 0 || strlen(key) + 1 > max_key_size())
        return TABLE_NOTFOUND;
    if (lmdb_refresh(t, lt) < 0)
        return TABLE_ERROR;
    if (t->flags & TABLE_FLAG_FOLD) {
        table_fold(&folded, key);
        key = buf_str(&folded);
    }
    r = lmdb_lookup(t, lt, key, value);
    buf_release(&folded);
    return r;
}

static void lmdb_free(lmdb_table_t *lt)
{
    if (lt->env)
        mdb_env_close(lt->env);
    free(lt->type);
    free(lt->source);
    free(lt->db_path);
    free(lt);
}

static void lmdb_close(table_t *t)
{
    lmdb_free(t->impl);
}

static const table_ops_t lmdb_ops = { lmdb_get, lmdb_close };

int table_lmdb_open(table_t *t, const char *type, const char *name, buf_t *err)
{
    lmdb_table_t *lt = xcalloc(1, sizeof(*lt));
    buf_t path = BUF_INIT;

    if (*name == 0) {
        buf_printf(err, "%s: no file name", t->spec);
        free(lt);
        return -1;
    }
    lt->type = xstrdup(type);
    lt->source = xstrdup(name);
    buf_printf(&path, "%s%s", name, db_suffix(type));
    lt->db_path = buf_steal(&path);
    lt->env = db_open_ro(lt->db_path, type, name, &lt->dbi, &lt->st, err);
    if (lt->env == NULL) {
        lmdb_free(lt);
        return -1;
    }
    warn_if_older(lt);
    t->impl = lt;
    t->ops = &lmdb_ops;
    return 0;
}

/* ---------------------------------------------------------------- */
/* Walking a database (postmap -s)                                   */
/* ---------------------------------------------------------------- */

typedef struct walk_ctx {
    table_walk_fn fn;
    void         *ctx;
} walk_ctx_t;

static int walk_adapter(const char *key, const char *value, void *ctx)
{
    walk_ctx_t *w = ctx;

    w->fn(key, value, w->ctx);
    return 0;
}

int table_db_walk(const char *spec, const char *default_type, table_walk_fn fn,
                  void *ctx, buf_t *err)
{
    buf_t type = BUF_INIT, source = BUF_INIT, db_path = BUF_INIT;
    walk_ctx_t w = { fn, ctx };
    MDB_env *env;
    MDB_dbi dbi;
    struct stat st;
    int rc = -1;

    if (table_db_locate(spec, default_type, &type, &source, &db_path, err) == 0) {
        env = db_open_ro(buf_str(&db_path), buf_str(&type), buf_str(&source), &dbi, &st, err);
        if (env) {
            rc = db_walk_env(env, dbi, buf_str(&db_path), walk_adapter, &w, err);
            mdb_env_close(env);
        }
    }
    buf_release(&type);
    buf_release(&source);
    buf_release(&db_path);
    return rc;
}

/* ---------------------------------------------------------------- */
/* Writer                                                            */
/* ---------------------------------------------------------------- */

struct table_writer {
    char     *db_path;
    char     *tmp_path;
    int       flags;            /* TABLE_BUILD_* */
    memtab_t *entries;
    int       dir_fd;           /* the folder: locked, and fsync'd after rename */
    int       set_mode;         /* chmod the new file to mode */
    mode_t    mode;
    int       set_owner;        /* chown it to uid:gid */
    uid_t     uid;
    gid_t     gid;
    int       committed;
};

/* The temporary file being written, removed if we die meanwhile. */
static const char *tmp_in_progress;

static void remove_tmp_in_progress(void)
{
    if (tmp_in_progress)
        (void) unlink(tmp_in_progress);
}

static int lock_folder(table_writer_t *w, buf_t *err)
{
    const char *slash = strrchr(w->db_path, '/');
    char *dir = slash == NULL ? xstrdup(".")
        : slash == w->db_path ? xstrdup("/") : xstrndup(w->db_path, (size_t) (slash - w->db_path));
    int rc = 0;

    w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dir_fd < 0) {
        buf_printf(err, "open folder %s: %s", dir, strerror(errno));
        rc = -1;
    } else {
        int r;

        /* Two postmaps updating one table must not lose each other's work. */
        while ((r = flock(w->dir_fd, LOCK_EX)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            buf_printf(err, "lock folder %s: %s", dir, strerror(errno));
            rc = -1;
        }
    }
    free(dir);
    return rc;
}

static int load_entry(const char *key, const char *value, void *ctx)
{
    (void) memtab_put(ctx, key, value, 0);
    return 0;
}

/* Update mode: the new file starts with the old one's entries and keeps
 * its permissions. A missing database starts empty. */
static int load_existing(table_writer_t *w, const char *type, const char *source, buf_t *err)
{
    MDB_env *env;
    MDB_dbi dbi;
    struct stat st;
    int rc;

    if (access(w->db_path, F_OK) < 0 && errno == ENOENT)
        return 0;
    env = db_open_ro(w->db_path, type, source, &dbi, &st, err);
    if (env == NULL)
        return -1;
    rc = db_walk_env(env, dbi, w->db_path, load_entry, w->entries, err);
    mdb_env_close(env);
    w->set_mode = 1;
    w->mode = st.st_mode & 07777;
    w->set_owner = 1;
    w->uid = st.st_uid;
    w->gid = st.st_gid;
    return rc;
}

table_writer_t *table_writer_open(const char *type, const char *source, const char *db_path,
                                  int build_flags, int update,
                                  const struct stat *source_st, buf_t *err)
{
    table_writer_t *w = xcalloc(1, sizeof(*w));
    buf_t tmp = BUF_INIT;

    w->db_path = xstrdup(db_path);
    buf_printf(&tmp, "%s.%ld.tmp", db_path, (long) getpid());
    w->tmp_path = buf_steal(&tmp);
    w->flags = build_flags;
    w->entries = memtab_new();
    w->dir_fd = -1;
    if (source_st) {
        /* The table gets the source's group and other permissions. */
        w->set_mode = 1;
        w->mode = 0600 | (source_st->st_mode & 066);
        if (geteuid() == 0) {
            w->set_owner = 1;
            w->uid = source_st->st_uid;
            w->gid = source_st->st_gid;
        }
    }
    if (lock_folder(w, err) < 0 || (update && load_existing(w, type, source, err) < 0)) {
        table_writer_free(w);
        return NULL;
    }
    return w;
}

/* The key as stored: folded unless -f. */
static void stored_key(const table_writer_t *w, const char *key, buf_t *out)
{
    if (w->flags & TABLE_BUILD_NOFOLD)
        buf_set(out, key);
    else
        table_fold(out, key);
}

void table_writer_put(table_writer_t *w, const char *key, const char *value)
{
    buf_t k = BUF_INIT;
    int replace = (w->flags & TABLE_BUILD_DUP_REPLACE) != 0;

    stored_key(w, key, &k);
    if (k.len == 0) {
        msg_warn("%s: empty key: skipped", w->db_path);
    } else if (k.len + 1 > max_key_size()) {
        msg_warn("%s: key too long (more than %zu bytes): skipped: \"%.60s...\"",
                 w->db_path, max_key_size() - 1, buf_str(&k));
    } else if (!memtab_put(w->entries, buf_str(&k), value, replace)
               && !(w->flags & (TABLE_BUILD_DUP_REPLACE | TABLE_BUILD_DUP_IGNORE))) {
        msg_warn("%s: duplicate entry: \"%s\"", w->db_path, buf_str(&k));
    }
    buf_release(&k);
}

int table_writer_delete(table_writer_t *w, const char *key)
{
    buf_t k = BUF_INIT;
    int r;

    stored_key(w, key, &k);
    r = memtab_delete(w->entries, buf_str(&k));
    buf_release(&k);
    return r;
}

typedef struct put_ctx {
    MDB_txn *txn;
    MDB_dbi  dbi;
    int      nul;
} put_ctx_t;

static int put_entry(const char *key, const char *value, void *ctx)
{
    put_ctx_t *p = ctx;
    MDB_val k, v;

    k.mv_data = (void *) key;
    k.mv_size = strlen(key) + (size_t) p->nul;
    v.mv_data = (void *) value;
    v.mv_size = strlen(value) + (size_t) p->nul;
    return mdb_put(p->txn, p->dbi, &k, &v, 0);
}

/* Writes every entry to the temporary file: 0, an LMDB error code
 * (MDB_MAP_FULL: try again bigger), or errno. */
static int write_tmp(table_writer_t *w, size_t mapsize)
{
    MDB_env *env;
    put_ctx_t p;
    int rc;

    if (unlink(w->tmp_path) < 0 && errno != ENOENT)
        return errno;
    if ((rc = mdb_env_create(&env)) != 0)
        return rc;
    rc = mdb_env_set_mapsize(env, mapsize);
    /* Created private; the final permissions are set before the rename. */
    if (rc == 0)
        rc = mdb_env_open(env, w->tmp_path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC,
                          w->set_mode ? 0600 : DB_FILE_MODE);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &p.txn);
    if (rc == 0) {
        p.nul = (w->flags & TABLE_BUILD_NUL) != 0;
        rc = mdb_dbi_open(p.txn, NULL, 0, &p.dbi);
        if (rc == 0)
            rc = memtab_walk(w->entries, put_entry, &p);
        if (rc == 0)
            rc = mdb_txn_commit(p.txn);
        else
            mdb_txn_abort(p.txn);
    }
    /* The data must be on disk before the rename makes it the table. */
    if (rc == 0)
        rc = mdb_env_sync(env, 1);
    mdb_env_close(env);
    return rc;
}

static size_t initial_mapsize(const table_writer_t *w)
{
    size_t need = size_add(memtab_bytes(w->entries), size_mul(memtab_count(w->entries), 64));

    need = size_add(size_mul(need, 2), MAPSIZE_MIN);
    return (need + MAPSIZE_MIN - 1) & ~(MAPSIZE_MIN - 1);
}

static int set_final_attributes(table_writer_t *w, buf_t *err)
{
    if (w->set_owner && chown(w->tmp_path, w->uid, w->gid) < 0 && geteuid() == 0) {
        buf_printf(err, "chown %s: %s", w->tmp_path, strerror(errno));
        return -1;
    }
    /* After chown, which may clear set-id bits. */
    if (w->set_mode && chmod(w->tmp_path, w->mode) < 0) {
        buf_printf(err, "chmod %s: %s", w->tmp_path, strerror(errno));
        return -1;
    }
    return 0;
}

int table_writer_commit(table_writer_t *w, buf_t *err)
{
    size_t mapsize = initial_mapsize(w);
    int rc;

    tmp_in_progress = w->tmp_path;
    log_set_fatal_hook(remove_tmp_in_progress);
    while ((rc = write_tmp(w, mapsize)) == MDB_MAP_FULL && mapsize < MAPSIZE_MAX)
        mapsize = size_mul(mapsize, 2);
    if (rc != 0) {
        buf_printf(err, "write %s: %s", w->tmp_path, mdb_strerror(rc));
    } else if (set_final_attributes(w, err) == 0) {
        /* rename() replaces the table in one step: a reader opens either
         * the old file or the new one, never a file being written. */
        if (rename(w->tmp_path, w->db_path) < 0) {
            buf_printf(err, "rename %s to %s: %s", w->tmp_path, w->db_path, strerror(errno));
        } else {
            w->committed = 1;
            /* The rename itself must survive a crash. */
            if (fsync(w->dir_fd) < 0 && errno != EINVAL)
                msg_warn("fsync folder of %s: %s", w->db_path, strerror(errno));
        }
    }
    log_set_fatal_hook(NULL);
    tmp_in_progress = NULL;
    if (!w->committed)
        (void) unlink(w->tmp_path);
    return w->committed ? 0 : -1;
}

void table_writer_free(table_writer_t *w)
{
    if (w == NULL)
        return;
    if (w->dir_fd >= 0)
        close(w->dir_fd);                   /* releases the lock */
    memtab_free(w->entries);
    free(w->db_path);
    free(w->tmp_path);
    free(w);
}
