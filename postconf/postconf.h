/* postconf: the parts of the postconf command (parameters, main.cf edits,
 * master.cf listing). Internal to this program folder. */
#ifndef FACTEUR_POSTCONF_H
#define FACTEUR_POSTCONF_H

typedef struct postconf_opts {
    const char *config_dir;     /* -c, or NULL: $MAIL_CONFIG or /etc/postfix */
    int         defaults;       /* -d: built-in defaults, main.cf ignored */
    int         nondefault;     /* -n: only what main.cf sets */
    int         values_only;    /* -h */
    int         names_only;     /* -H */
    int         expand;         /* -x */
    int         master;         /* -M */
    int         edit;           /* 'e', 'X', '#', or 0 */
} postconf_opts_t;

/* show.c: prints parameters as the options say ("name = value"). */
void postconf_show(const postconf_opts_t *o, char **names, int count);

/* edit.c: -e "name = value"..., -X name..., -# name... on main.cf. */
void postconf_edit(const char *dir, int mode, char **args, int count);

/* master.c: -M [service[/type]...]: master.cf entries, one a line. */
void postconf_show_master(const char *dir, char **filters, int count);

/* refs.c: calls fn for each parameter name that text refers to with $;
 * plain is 1 for $name, ${name} and $(name), 0 inside ${name?...} forms. */
typedef void (*postconf_ref_fn)(const char *name, size_t len, int plain, void *ctx);
void postconf_scan_refs(const char *text, postconf_ref_fn fn, void *ctx);

#endif
