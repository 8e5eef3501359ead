/* config: main.cf and the one table of every parameter.
 * main.cf syntax: "name = value", '#' comments only as the first non-blank
 * character, continuation lines start with whitespace, the last repeat wins
 * (with a warning). Values expand lazily and recursively: $name, ${name},
 * $(name), ${name?value}, ${name:value}, $$; loops are detected.
 * Parameters not in the table are kept, can be referenced, and get a warning. */
#ifndef FACTEUR_CONFIG_H
#define FACTEUR_CONFIG_H

#include "argv.h"

typedef enum {
    PARAM_STR,       /* free text, expanded */
    PARAM_INT,       /* integer */
    PARAM_BOOL,      /* yes / no */
    PARAM_TIME,      /* number + optional unit s m h d w; default unit per param */
    PARAM_SIZE,      /* bytes; optional k/m/g suffix is NOT Postfix: plain number */
    PARAM_LIST,      /* list of words separated by commas and/or whitespace */
} param_type_t;

typedef struct param_def {
    const char   *name;
    param_type_t  type;
    const char   *def;           /* default text (may hold $refs); NULL = computed */
    char          time_unit;     /* for PARAM_TIME: 's', 'm', 'h', 'd' or 'w' */
    const char *(*compute)(void);/* computed default (myhostname, mydomain...) */
} param_def_t;

/* The table, sorted by name; last entry has name == NULL. */
extern const param_def_t param_table[];
const param_def_t *param_find(const char *name);

/* Where main.cf lives: the -c argument if given, else $MAIL_CONFIG,
 * else /etc/postfix. Reads $dir/main.cf; a missing main.cf is fatal
 * ("open /x/main.cf: No such file or directory"). */
void config_load(const char *config_dir);
const char *config_dir(void);
/* Forgets main.cf, overrides and cached values, and frees them all. For
 * tests and fuzzers only: every string returned before is then invalid. */
void config_reset(void);
/* Like a main.cf line that comes last (master.cf -o, postconf tests). */
void config_override(const char *name, const char *value);
/* Makes $service_name and $process_name available for expansion. */
void config_set_service(const char *service_name, const char *process_name);

/* Values. The expanded form is cached per name. A name that is neither in
 * the table nor in main.cf gives NULL from config_get and is fatal in the
 * typed getters (a programming error). Invalid values (e.g. "10x" for a
 * time) are fatal with "bad numerical configuration: name = value"; so
 * is a value below the lower bound of a parameter that several programs
 * read (line_length_limit >= 512, ipc_timeout >= 1...): "invalid name
 * parameter value V < MIN". Per-program bounds stay with the program.
 * As in Postfix, values that their users expand per message come back as
 * written: forward_path, mailbox_command, luser_relay, default_rbl_reply,
 * smtpd_reject_footer, command_execution_directory. Returned strings stay
 * valid for the life of the process (also across config_load/override). */
const char *config_get(const char *name);      /* expanded, NULL if unknown */
const char *config_str(const char *name);      /* expanded */
const char *config_raw(const char *name);      /* unexpanded: main.cf or default */
int         config_is_set(const char *name);   /* present in main.cf or -o */
long        config_int(const char *name);
int         config_bool(const char *name);
long        config_time(const char *name);     /* seconds */
long        config_size(const char *name);     /* bytes */
argv_t     *config_list(const char *name);     /* split with argv_split_list; caller frees */
/* Expands $refs in arbitrary text; caller frees. */
char       *config_expand(const char *text);

/* Parse helpers, shared with postconf: time with default unit, bool. -1 on error. */
int config_parse_time(const char *text, char default_unit, long *seconds);
int config_parse_bool(const char *text, int *value);

/* For postconf: every name set in main.cf (and -o), sorted, with raw values. */
typedef void (*config_walk_fn)(const char *name, const char *raw_value, void *ctx);
void config_walk_set(config_walk_fn fn, void *ctx);

#endif
