/* table_impl: private parts shared by the lib/table*.c files: the table
 * object, each type's opener, an in-memory string map, and the LMDB writer.
 * Not for callers outside lib/table*.c: they use table.h and table_build.h. */
#ifndef FACTEUR_TABLE_IMPL_H
#define FACTEUR_TABLE_IMPL_H

#include <sys/stat.h>

#include "buf.h"
#include "table.h"
#include "table_build.h"

typedef struct table_ops {
    int  (*get)(table_t *t, const char *key, buf_t *value);
    void (*close)(table_t *t);
} table_ops_t;

struct table {
    char              *spec;      /* as opened: "proxy:hash:/etc/postfix/spam" */
    const table_ops_t *ops;
    int                flags;     /* TABLE_FLAG_* */
    int                pattern;   /* regexp, cidr: whole-string matches only */
    void              *impl;      /* the type's own state */
};

/* Openers: name is what follows "type:". 0, or -1 with err. */
int table_lmdb_open(table_t *t, const char *type, const char *name, buf_t *err);
int table_regexp_open(table_t *t, const char *name, buf_t *err);
int table_cidr_open(table_t *t, const char *name, buf_t *err);

/* Lower-cases ASCII letters of key into out. */
void table_fold(buf_t *out, const char *key);

/* An in-memory map of strings (texthash, inline, the database writer). */
typedef struct memtab memtab_t;
memtab_t   *memtab_new(void);
void        memtab_free(memtab_t *m);
/* 1 added; 0 key present (value replaced when replace is set). */
int         memtab_put(memtab_t *m, const char *key, const char *value, int replace);
const char *memtab_get(const memtab_t *m, const char *key);
int         memtab_delete(memtab_t *m, const char *key);    /* 1 deleted, 0 absent */
size_t      memtab_count(const memtab_t *m);
size_t      memtab_bytes(const memtab_t *m);                /* keys + values */
/* Calls fn for each entry until it returns nonzero (which is returned). */
typedef int (*memtab_walk_fn)(const char *key, const char *value, void *ctx);
int         memtab_walk(const memtab_t *m, memtab_walk_fn fn, void *ctx);

/* Checks the first bytes of a database file: a Berkeley DB file left by
 * Postfix gives -1 with "FILE is a Berkeley DB file left by Postfix:
 * rebuild it with postmap TYPE:SOURCE". A missing file is not an error here. */
int table_db_check_format(const char *db_path, const char *type, const char *source, buf_t *err);

/* The database writer: entries are gathered in memory, then written to a
 * temporary LMDB file beside the database, synced, and renamed over it.
 * The folder is locked (flock) from open to free, so that two postmaps do
 * not lose each other's updates. */
typedef struct table_writer table_writer_t;
/* update: start from the existing entries (-i, -d). source_st: the source
 * file, for permissions (NULL: keep the old file's, or 0644 & ~umask). */
table_writer_t *table_writer_open(const char *type, const char *source, const char *db_path,
                                  int build_flags, int update,
                                  const struct stat *source_st, buf_t *err);
/* Folds (unless -f) and adds; a duplicate is handled as the flags say. */
void   table_writer_put(table_writer_t *w, const char *key, const char *value);
/* 1 removed, 0 absent. */
int    table_writer_delete(table_writer_t *w, const char *key);
int    table_writer_commit(table_writer_t *w, buf_t *err);
/* Frees; an uncommitted temporary file is removed. */
void   table_writer_free(table_writer_t *w);

#endif
