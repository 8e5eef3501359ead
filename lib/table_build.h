/* table_build: what postmap and postalias need beyond lookups: source files
 * read as logical lines, and databases (hash:, btree:, lmdb:) built aside in a
 * temporary file and renamed over the old one, so that a reader sees the old
 * table or the new one, never half of one. */
#ifndef FACTEUR_TABLE_BUILD_H
#define FACTEUR_TABLE_BUILD_H

#include "argv.h"
#include "buf.h"

/* Longest logical line (with its continuation lines) of a source file. */
#define TABLE_LINE_MAX  (1024 * 1024)

/* Logical lines of a source file: blank and '#' comment lines skipped, a
 * line that starts with whitespace continues the previous one (newline
 * removed, leading whitespace kept), trailing whitespace dropped. */
typedef struct table_source table_source_t;

/* NULL with "open NAME: reason" in err. */
table_source_t *table_source_open(const char *path, buf_t *err);
/* Reads an already open fd (stdin); name is for messages. */
table_source_t *table_source_fdopen(int fd, const char *name);
/* 1: a logical line is in line; 0: end; -1: err says why (too long, I/O). */
int         table_source_next(table_source_t *s, buf_t *line, buf_t *err);
/* Physical line number where the last logical line started. */
int         table_source_lineno(const table_source_t *s);
const char *table_source_name(const table_source_t *s);
void        table_source_close(table_source_t *s);

/* Parses one logical line into key and value; -1 with *why on bad syntax. */
typedef int (*table_parse_fn)(const char *line, buf_t *key, buf_t *value, const char **why);
/* postmap format: key whitespace value; the key may be "quoted". */
int table_parse_kv(const char *line, buf_t *key, buf_t *value, const char **why);
/* aliases(5) format: name: value, value; the name may be "quoted". */
int table_parse_alias(const char *line, buf_t *key, buf_t *value, const char **why);

/* "hash:/x/spam" or "spam" (default_type) -> type "hash", source "spam" and
 * database "spam.db" (lmdb: "spam.lmdb"). -1 with err for other types. */
int table_db_locate(const char *spec, const char *default_type, buf_t *type,
                    buf_t *source, buf_t *db_path, buf_t *err);
/* "spam" -> "hash:spam"; "regexp:/x" stays. */
void table_spec_with_type(buf_t *out, const char *spec, const char *default_type);

/* Options of postmap and postalias. */
#define TABLE_BUILD_NOFOLD       (1 << 0)  /* -f: keep keys as written */
#define TABLE_BUILD_NUL          (1 << 1)  /* -N: store the terminating NUL */
#define TABLE_BUILD_DUP_REPLACE  (1 << 2)  /* -r: a duplicate replaces, quietly */
#define TABLE_BUILD_DUP_IGNORE   (1 << 3)  /* -w: a duplicate is dropped, quietly */

/* Builds the database of spec from its source file (postmap spam). The new
 * file gets the source's group and other permissions (and owner, as root).
 * Bad lines and duplicates are warnings. -1 with err. */
int table_build(const char *spec, const char *default_type, int flags,
                table_parse_fn parse, buf_t *err);
/* Adds the entries read from fd to the database (postmap -i). */
int table_build_add(const char *spec, const char *default_type, int flags,
                    table_parse_fn parse, int fd, const char *fd_name, buf_t *err);
/* Removes keys (folded unless -f); *deleted counts the entries removed. */
int table_build_delete(const char *spec, const char *default_type, int flags,
                       const argv_t *keys, size_t *deleted, buf_t *err);
/* Every entry of a database, in database order (postmap -s). */
typedef void (*table_walk_fn)(const char *key, const char *value, void *ctx);
int table_db_walk(const char *spec, const char *default_type, table_walk_fn fn,
                  void *ctx, buf_t *err);

/* The postmap and postalias command line (they differ in parse):
 * [-Nfinorsvw] [-c config_dir] [-d key] [-q key] [type:]file...
 * Returns the exit status (-q, -d: 0 found, 1 not found); errors are fatal. */
int table_command(int argc, char **argv, const char *progname, table_parse_fn parse);
/* newaliases (sendmail -bi): rebuilds every table of alias_database. */
int table_newaliases(int argc, char **argv);

#endif
