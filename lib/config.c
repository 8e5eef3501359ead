/* config: reads main.cf into the parameter store and expands values lazily
 * and recursively ($name, ${name}, $(name), ${name?v}, ${name:v},
 * ${name?{v1}:{v2}}, ${{a} op {b} ? {x} : {y}}, $$), with loop detection.
 * Defaults come from the one table in lib/params.c. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "log.h"

#define DEFAULT_CONFIG_DIR  "/etc/postfix"
#define MAIN_CF_MAX         (16 * 1024 * 1024)  /* a larger main.cf is an error */
#define FIRST_LINE_MAX      1024                /* myorigin = /etc/mailname */
#define EXPAND_DEPTH_MAX    100
#define HASH_SIZE           509

typedef struct entry {
    char         *name;
    char         *value;      /* main.cf, -o or service text; NULL = default */
    char         *dflt;       /* cached computed default */
    char         *expanded;   /* cached expansion */
    int           set;        /* from main.cf or config_override */
    int           expanding;  /* set while its value expands: loop detection */
    struct entry *next;       /* hash chain */
} entry_t;

typedef struct slice {
    const char *p;
    size_t      n;
} slice_t;

static entry_t *buckets[HASH_SIZE];
static int      loaded;         /* config_load ran: compatibility defaults apply */
static int      cached;         /* some expansion or default is cached */
static char    *loaded_dir;
static char    *main_cf_path;

/* Callers keep the pointers that config_get/config_raw return, so a value
 * replaced by an override or a reload is parked here, never freed. */
static char   **retired;
static size_t   n_retired, cap_retired;

/* Legacy defaults that a compatibility_level below "level" selects, as
 * Postfix 3.7 does. (smtpd_relay_restrictions keeps its safe default at
 * every level: an empty list would leave relay control to
 * smtpd_recipient_restrictions alone.) */
static const struct compat_default {
    const char *name;
    const char *below_level;
    const char *legacy;
} compat_defaults[] = {
    { "append_dot_mydomain", "1", "yes" },
    { "mynetworks_style", "2", "subnet" },
    { "relay_domains", "2", "$mydestination" },
    { "respectful_logging", "3.6", "no" },
    { "smtp_tls_fingerprint_digest", "3.6", "md5" },
    { "smtpd_relay_before_recipient_restrictions", "3.6", "no" },
    { "smtpd_tls_fingerprint_digest", "3.6", "md5" },
    { "smtputf8_enable", "1", "no" },
};

/* Lower bounds, as Postfix enforces them, for parameters that more than
 * one program (or shared lib/ code) reads: checked here once, so that no
 * reader repeats the check. Below the bound is fatal. */
static const struct param_minimum {
    const char *name;
    long        min;
} param_minimums[] = {
    { "ipc_timeout", 1 },
    { "line_length_limit", 512 },
    { "virtual_alias_address_length_limit", 1 },
    { "virtual_alias_expansion_limit", 1 },
    { "virtual_alias_recursion_limit", 1 },
};

/* Values that their users expand at delivery or reply time, with
 * per-message names ($home, $extension, $rbl_code...): config_get gives
 * them as written, as Postfix does. */
static const char *const raw_parameters[] = {
    "command_execution_directory",
    "default_rbl_reply",
    "forward_path",
    "luser_relay",
    "mailbox_command",
    "postscreen_reject_footer",
    "smtpd_policy_service_policy_context",
    "smtpd_reject_footer",
};

static const char *entry_expanded(entry_t *e, int depth);
static void expand_text(buf_t *out, const char *s, size_t len, int depth);

/* ---- the store ---- */

static void retire(char *s)
{
    if (s == NULL)
        return;
    if (n_retired == cap_retired) {
        cap_retired = cap_retired ? size_mul(cap_retired, 2) : 64;
        retired = xreallocarray(retired, cap_retired, sizeof(*retired));
    }
    retired[n_retired++] = s;
}

static unsigned hash_name(const char *name)
{
    unsigned h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *) name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % HASH_SIZE;
}

static entry_t *entry_find(const char *name)
{
    for (entry_t *e = buckets[hash_name(name)]; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

static entry_t *entry_add(const char *name)
{
    entry_t *e = xcalloc(1, sizeof(*e));
    unsigned h = hash_name(name);

    e->name = xstrdup(name);
    e->next = buckets[h];
    buckets[h] = e;
    return e;
}

/* The entry of a name that main.cf, an override or the table knows. */
static entry_t *entry_get(const char *name)
{
    entry_t *e = entry_find(name);

    if (e == NULL && param_find(name) != NULL)
        e = entry_add(name);
    return e;
}

/* Values depend on each other: after any change, expand everything anew.
 * Nothing is cached while main.cf is read, which keeps a long main.cf
 * linear instead of walking every entry once per line. */
static void forget_expansions(void)
{
    if (!cached)
        return;
    cached = 0;
    for (size_t i = 0; i < HASH_SIZE; i++)
        for (entry_t *e = buckets[i]; e; e = e->next) {
            retire(e->expanded);
            retire(e->dflt);
            e->expanded = e->dflt = NULL;
        }
}

static void reset_store(void)
{
    for (size_t i = 0; i < HASH_SIZE; i++) {
        entry_t *e = buckets[i];

        while (e) {
            entry_t *next = e->next;

            retire(e->value);
            retire(e->dflt);
            retire(e->expanded);
            free(e->name);
            free(e);
            e = next;
        }
        buckets[i] = NULL;
    }
    retire(loaded_dir);
    retire(main_cf_path);
    loaded_dir = main_cf_path = NULL;
    loaded = 0;
    cached = 0;
}

void config_reset(void)
{
    reset_store();
    for (size_t i = 0; i < n_retired; i++)
        free(retired[i]);
    free(retired);
    retired = NULL;
    n_retired = cap_retired = 0;
}

static void store_value(entry_t *e, const char *value, int set)
{
    retire(e->value);
    e->value = xstrdup(value);
    e->set = e->set || set;
    forget_expansions();
}

/* ---- compatibility levels ---- */

/* "3.6" or "2" or "3.6.1" into numbers; -1 when it is not a level. */
static int parse_level(const char *s, long v[3])
{
    v[0] = v[1] = v[2] = 0;
    for (int i = 0; i < 3; i++) {
        char *end;

        if (!isdigit((unsigned char) *s))
            return -1;
        errno = 0;
        v[i] = strtol(s, &end, 10);
        if (errno != 0)
            return -1;
        if (*end == 0)
            return 0;
        if (*end != '.')
            return -1;
        s = end + 1;
    }
    return -1;
}

static int compare_levels(const char *a, const char *b)
{
    long va[3], vb[3];

    if (parse_level(a, va) < 0)
        msg_fatal("bad compatibility level: \"%s\"", a);
    if (parse_level(b, vb) < 0)
        msg_fatal("bad compatibility level: \"%s\"", b);
    for (int i = 0; i < 3; i++)
        if (va[i] != vb[i])
            return va[i] < vb[i] ? -1 : 1;
    return 0;
}

static const char *compat_legacy_value(const char *name)
{
    const char *level;

    if (!loaded)
        return NULL;
    for (size_t i = 0; i < sizeof(compat_defaults) / sizeof(compat_defaults[0]); i++) {
        if (strcmp(compat_defaults[i].name, name) != 0)
            continue;
        level = config_str("compatibility_level");
        if (compare_levels(level, compat_defaults[i].below_level) < 0)
            return compat_defaults[i].legacy;
        return NULL;
    }
    return NULL;
}

/* ---- raw and expanded values ---- */

static const char *entry_default(entry_t *e)
{
    const param_def_t *p = param_find(e->name);
    const char *legacy;

    if (p == NULL)
        return "";
    if ((legacy = compat_legacy_value(e->name)) != NULL)
        return legacy;
    if (p->def)
        return p->def;
    if (e->dflt == NULL) {
        e->dflt = xstrdup(p->compute ? p->compute() : "");
        cached = 1;
    }
    return e->dflt;
}

static const char *entry_raw(entry_t *e)
{
    return e->value ? e->value : entry_default(e);
}

/* The first bytes of a regular file; -1 with errno. A FIFO or a terminal
 * could block every daemon at its first $myorigin: EINVAL for those. */
static ssize_t read_first_line(const char *path, char *line, size_t size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    ssize_t n = -1;
    int saved;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        saved = errno;
    else if (!S_ISREG(st.st_mode))
        saved = EINVAL;
    else if ((n = read(fd, line, size - 1)) < 0)
        saved = errno;
    else
        saved = 0;
    close(fd);
    errno = saved;
    return n;
}

/* Debian: "myorigin = /etc/mailname" means the first line of that file. */
static void origin_from_file(buf_t *origin)
{
    char line[FIRST_LINE_MAX];
    char *path = xstrdup(buf_str(origin));
    ssize_t n = read_first_line(path, line, sizeof(line));
    int saved = errno;

    if (n >= 0) {
        line[n] = 0;
        line[strcspn(line, "\r\n")] = 0;
        buf_set(origin, line);
        buf_trim_right(origin);
    }
    if (n < 0 || origin->len == 0) {
        msg_warn("myorigin: cannot read a name from %s: %s; using $myhostname",
                 path, n < 0 ? (saved == EINVAL ? "not a regular file" : strerror(saved))
                             : "empty first line");
        buf_set(origin, config_str("myhostname"));
    }
    free(path);
}

static int is_raw_parameter(const char *name)
{
    for (size_t i = 0; i < sizeof(raw_parameters) / sizeof(raw_parameters[0]); i++)
        if (strcmp(raw_parameters[i], name) == 0)
            return 1;
    return 0;
}

/* depth counts the values being expanded around this one, so that a long
 * chain of parameters (a = $b, b = $c...) ends like deep nesting does,
 * not by running out of stack. */
static const char *entry_expanded(entry_t *e, int depth)
{
    buf_t out = BUF_INIT;
    const char *raw;

    if (e->expanded)
        return e->expanded;
    if (e->expanding)
        msg_fatal("parameter %s: recursive expansion: its value refers back to $%s",
                  e->name, e->name);
    e->expanding = 1;
    raw = entry_raw(e);
    if (is_raw_parameter(e->name))
        buf_set(&out, raw);
    else
        expand_text(&out, raw, strlen(raw), depth);
    if (strcmp(e->name, "myorigin") == 0 && out.len > 0 && out.data[0] == '/')
        origin_from_file(&out);
    e->expanding = 0;
    e->expanded = buf_steal(&out);
    cached = 1;
    return e->expanded;
}

/* ---- expansion ---- */

static int is_name_char(int c)
{
    return isalnum((unsigned char) c) || c == '_';
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char) *p))
        p++;
    return p;
}

/* p points at an opening bracket; returns its matching close, or NULL. */
static const char *find_close(const char *p, const char *end)
{
    char open = *p, close = open == '{' ? '}' : ')';
    int depth = 0;

    for (; p < end; p++) {
        if (*p == open)
            depth++;
        else if (*p == close && --depth == 0)
            return p;
    }
    return NULL;
}

static void bad_value(const char *why, const char *p, size_t n)
    __attribute__((noreturn));
static void bad_value(const char *why, const char *p, size_t n)
{
    msg_fatal("bad parameter value: %s in \"%.*s\"", why, (int) (n > 200 ? 200 : n), p);
}

static void append_value(buf_t *out, const char *name, size_t len, int depth)
{
    char *n = xstrndup(name, len);
    entry_t *e = entry_get(n);

    if (e != NULL)
        buf_puts(out, entry_expanded(e, depth + 1));
    free(n);
}

static const char *lookup_value(const char *name, size_t len, int depth)
{
    char *n = xstrndup(name, len);
    entry_t *e = entry_get(n);

    free(n);
    return e ? entry_expanded(e, depth + 1) : "";
}

/* Reads "{text}" at p into *group (without braces); returns the position
 * after it, or NULL when p is not at a complete group. */
static const char *read_group(const char *p, const char *end, slice_t *group)
{
    const char *close;

    p = skip_space(p, end);
    if (p >= end || *p != '{' || (close = find_close(p, end)) == NULL)
        return NULL;
    group->p = p + 1;
    group->n = (size_t) (close - p - 1);
    return close + 1;
}

/* The text after '?' or ':': "{a}", "{a}:{b}", or plain text (no braces
 * removed). second is empty when absent. */
static void read_choice(const char *p, const char *end, slice_t *first, slice_t *second)
{
    const char *after;

    second->p = "";
    second->n = 0;
    first->p = p;
    first->n = (size_t) (end - p);
    if ((after = read_group(p, end, first)) == NULL) {
        first->p = p;
        first->n = (size_t) (end - p);
        return;
    }
    after = skip_space(after, end);
    if (after == end)
        return;
    if (*after == ':' && (after = read_group(after + 1, end, second)) != NULL
        && skip_space(after, end) == end)
        return;
    /* Not the brace form after all: the whole text is the value. */
    first->p = p;
    first->n = (size_t) (end - p);
    second->p = "";
    second->n = 0;
}

static int all_digits(const char *s)
{
    if (*s == 0)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char) *s))
            return 0;
    return 1;
}

/* Numbers compare as numbers when both sides are digits, else as text. */
static int compare_plain(const char *a, const char *b)
{
    if (all_digits(a) && all_digits(b)) {
        size_t la, lb;

        while (*a == '0' && a[1])
            a++;
        while (*b == '0' && b[1])
            b++;
        la = strlen(a);
        lb = strlen(b);
        if (la != lb)
            return la < lb ? -1 : 1;
    }
    int c = strcmp(a, b);

    return c < 0 ? -1 : c > 0;
}

static int relation_holds(const char *op, size_t oplen, int cmp)
{
    if (oplen == 2 && memcmp(op, "==", 2) == 0)
        return cmp == 0;
    if (oplen == 2 && memcmp(op, "!=", 2) == 0)
        return cmp != 0;
    if (oplen == 2 && memcmp(op, "<=", 2) == 0)
        return cmp <= 0;
    if (oplen == 2 && memcmp(op, ">=", 2) == 0)
        return cmp >= 0;
    if (oplen == 1 && *op == '<')
        return cmp < 0;
    if (oplen == 1 && *op == '>')
        return cmp > 0;
    return -1;
}

/* "{a} op {b} ? {x} : {y}" (the ": {y}" part is optional). */
static void expand_relational(buf_t *out, const char *start, const char *end, int depth)
{
    slice_t a, b, x, y = { "", 0 };
    buf_t va = BUF_INIT, vb = BUF_INIT;
    const char *p, *op;
    size_t oplen;
    int level = 0, holds;

    if ((p = read_group(start, end, &a)) == NULL)
        bad_value("bad relational expression", start, (size_t) (end - start));
    p = skip_space(p, end);
    for (op = p; p < end && strchr("<>=!", *p); p++)
        ;
    oplen = (size_t) (p - op);
    if ((size_t) (end - p) >= 5 && memcmp(p, "level", 5) == 0) {
        level = 1;
        p += 5;
    }
    if ((p = read_group(p, end, &b)) == NULL)
        bad_value("bad relational expression", start, (size_t) (end - start));
    p = skip_space(p, end);
    if (p >= end || *p != '?' || (p = read_group(p + 1, end, &x)) == NULL)
        bad_value("missing '?' part", start, (size_t) (end - start));
    p = skip_space(p, end);
    if (p < end && (*p != ':' || (p = read_group(p + 1, end, &y)) == NULL))
        bad_value("bad ':' part", start, (size_t) (end - start));
    if (skip_space(p, end) != end)
        bad_value("text after the relational expression", start,
                  (size_t) (end - start));
    expand_text(&va, a.p, a.n, depth + 1);
    expand_text(&vb, b.p, b.n, depth + 1);
    holds = relation_holds(op, oplen, level ? compare_levels(buf_str(&va), buf_str(&vb))
                                            : compare_plain(buf_str(&va), buf_str(&vb)));
    if (holds < 0)
        bad_value("unknown operator", start, (size_t) (end - start));
    if (holds)
        expand_text(out, x.p, x.n, depth + 1);
    else
        expand_text(out, y.p, y.n, depth + 1);
    buf_release(&va);
    buf_release(&vb);
}

/* The inside of ${...} or $(...). */
static void expand_inner(buf_t *out, const char *p, const char *end, int depth)
{
    const char *name = skip_space(p, end), *q;
    const char *value;
    slice_t first, second;

    if (name < end && *name == '{') {
        expand_relational(out, name, end, depth);
        return;
    }
    for (q = name; q < end && is_name_char(*q); q++)
        ;
    if (q == name)
        bad_value("missing parameter name", p, (size_t) (end - p));
    if (q == end) {
        append_value(out, name, (size_t) (q - name), depth);
        return;
    }
    if (*q != '?' && *q != ':')
        bad_value("unexpected character after parameter name", p, (size_t) (end - p));
    value = lookup_value(name, (size_t) (q - name), depth);
    read_choice(q + 1, end, &first, &second);
    if (*q == '?')
        expand_text(out, *value ? first.p : second.p, *value ? first.n : second.n, depth + 1);
    else if (*value == 0)
        expand_text(out, first.p, first.n, depth + 1);
}

static void expand_text(buf_t *out, const char *s, size_t len, int depth)
{
    const char *end = s + len;

    if (depth > EXPAND_DEPTH_MAX)
        bad_value("unreasonable nesting", s, len);
    while (s < end) {
        const char *dollar = memchr(s, '$', (size_t) (end - s));

        if (dollar == NULL) {
            buf_append(out, s, (size_t) (end - s));
            return;
        }
        buf_append(out, s, (size_t) (dollar - s));
        s = dollar + 1;
        if (s < end && *s == '$') {
            buf_putc(out, '$');
            s++;
        } else if (s < end && (*s == '{' || *s == '(')) {
            const char *close = find_close(s, end);

            if (close == NULL)
                bad_value(*s == '{' ? "missing '}'" : "missing ')'", dollar,
                          (size_t) (end - dollar));
            expand_inner(out, s + 1, close, depth);
            s = close + 1;
        } else if (s < end && is_name_char(*s)) {
            const char *name = s;

            while (s < end && is_name_char(*s))
                s++;
            append_value(out, name, (size_t) (s - name), depth);
        } else {
            buf_putc(out, '$');     /* a '$' before nothing nameable stays */
        }
    }
}

/* ---- main.cf ---- */

static void define_parameter(const char *text, const char *path, int line)
{
    const char *eq = strchr(text, '=');
    const char *name_end, *value;
    char *name;
    entry_t *e;

    if (eq == NULL)
        msg_fatal("%s, line %d: missing '=' after parameter name: \"%.100s\"",
                  path, line, text);
    for (name_end = eq; name_end > text && isspace((unsigned char) name_end[-1]); name_end--)
        ;
    value = skip_space(eq + 1, eq + 1 + strlen(eq + 1));
    if (name_end == text)
        msg_fatal("%s, line %d: missing parameter name before '='", path, line);
    for (const char *c = text; c < name_end; c++)
        if (isspace((unsigned char) *c))
            msg_fatal("%s, line %d: whitespace in parameter name: \"%.*s\"",
                      path, line, (int) (name_end - text), text);
    name = xstrndup(text, (size_t) (name_end - text));
    if ((e = entry_find(name)) == NULL)
        e = entry_add(name);
    else if (e->set)
        msg_warn("%s, line %d: overriding earlier entry: %s=%s", path, line, name, value);
    store_value(e, value, 1);
    free(name);
}

/* Logical lines: a line that starts with whitespace continues the one
 * before; blank lines and lines whose first non-blank is '#' are skipped. */
static void parse_main_cf(const char *text, size_t len, const char *path)
{
    buf_t logical = BUF_INIT;
    const char *p = text, *end = text + len;
    int line_no = 0, start_line = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *line_end = nl ? nl : end;
        const char *first;

        line_no++;
        if (memchr(p, 0, (size_t) (line_end - p)) != NULL)
            msg_fatal("%s, line %d: NUL character in line", path, line_no);
        while (line_end > p && isspace((unsigned char) line_end[-1]))
            line_end--;
        first = skip_space(p, line_end);
        if (first < line_end && *first != '#') {
            if (first == p) {
                if (start_line)
                    define_parameter(buf_str(&logical), path, start_line);
                buf_reset(&logical);
                buf_append(&logical, p, (size_t) (line_end - p));
                start_line = line_no;
            } else if (start_line == 0) {
                msg_warn("%s, line %d: ignoring a continuation line with no parameter before it",
                         path, line_no);
            } else {
                buf_putc(&logical, ' ');
                buf_append(&logical, first, (size_t) (line_end - first));
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (start_line)
        define_parameter(buf_str(&logical), path, start_line);
    buf_release(&logical);
}

static const char *choose_dir(const char *dir)
{
    if (dir == NULL || *dir == 0)
        dir = getenv("MAIL_CONFIG");
    if (dir == NULL || *dir == 0)
        dir = DEFAULT_CONFIG_DIR;
    return dir;
}

void config_load(const char *dir)
{
    buf_t text = BUF_INIT;
    buf_t path = BUF_INIT;

    dir = choose_dir(dir);
    reset_store();
    loaded_dir = xstrdup(dir);
    buf_printf(&path, "%s/main.cf", dir);
    main_cf_path = buf_steal(&path);
    if (buf_read_file(&text, main_cf_path, MAIN_CF_MAX) < 0)
        msg_fatal("open %s: %s", main_cf_path, strerror(errno));
    parse_main_cf(buf_str(&text), text.len, main_cf_path);
    buf_release(&text);
    /* Like Postfix, a -c or MAIL_CONFIG directory is config_directory. */
    if (strcmp(dir, DEFAULT_CONFIG_DIR) != 0)
        config_override("config_directory", dir);
    loaded = 1;
}

const char *config_dir(void)
{
    return loaded_dir ? loaded_dir : choose_dir(NULL);
}

void config_override(const char *name, const char *value)
{
    entry_t *e = entry_find(name);

    if (e == NULL)
        e = entry_add(name);
    store_value(e, value, 1);
}

void config_set_service(const char *service_name, const char *process_name)
{
    entry_t *e;

    if ((e = entry_find("service_name")) == NULL)
        e = entry_add("service_name");
    store_value(e, service_name ? service_name : "", 0);
    if ((e = entry_find("process_name")) == NULL)
        e = entry_add("process_name");
    store_value(e, process_name ? process_name : "", 0);
}

/* ---- values ---- */

const char *config_get(const char *name)
{
    entry_t *e = entry_get(name);

    return e ? entry_expanded(e, 0) : NULL;
}

const char *config_str(const char *name)
{
    const char *v = config_get(name);

    if (v == NULL)
        msg_fatal("%s: unknown parameter (not in the parameter table nor in main.cf)", name);
    return v;
}

const char *config_raw(const char *name)
{
    entry_t *e = entry_get(name);

    return e ? entry_raw(e) : NULL;
}

int config_is_set(const char *name)
{
    entry_t *e = entry_find(name);

    return e != NULL && e->set;
}

static void bad_number(const char *name, const char *value)
{
    msg_fatal("bad numerical configuration: %s = %s", name, value);
}

static int parse_long(const char *text, long *value)
{
    char *end;

    if (!isdigit((unsigned char) text[text[0] == '-']))
        return -1;
    errno = 0;
    *value = strtol(text, &end, 10);
    if (errno != 0 || *end != 0)
        return -1;
    return 0;
}

/* Enforces the parameter's lower bound, if it has one; returns value. */
static long check_minimum(const char *name, long value)
{
    for (size_t i = 0; i < sizeof(param_minimums) / sizeof(param_minimums[0]); i++)
        if (strcmp(param_minimums[i].name, name) == 0 && value < param_minimums[i].min)
            msg_fatal("invalid %s parameter value %ld < %ld", name, value,
                      param_minimums[i].min);
    return value;
}

long config_int(const char *name)
{
    const char *v = config_str(name);
    long n;

    if (parse_long(v, &n) < 0)
        bad_number(name, v);
    return check_minimum(name, n);
}

long config_size(const char *name)
{
    const char *v = config_str(name);
    long n;

    if (parse_long(v, &n) < 0 || n < 0)
        bad_number(name, v);
    return check_minimum(name, n);
}

int config_parse_time(const char *text, char default_unit, long *seconds)
{
    char *end;
    long n, unit;
    char u;

    if (!isdigit((unsigned char) text[0]))
        return -1;
    errno = 0;
    n = strtol(text, &end, 10);
    if (errno != 0)
        return -1;
    if (*end == 0)
        u = default_unit ? default_unit : 's';
    else if (end[1] == 0)
        u = *end;
    else
        return -1;
    switch (u) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 604800; break;
    default: return -1;
    }
    if (n > LONG_MAX / unit)
        return -1;
    *seconds = n * unit;
    return 0;
}

long config_time(const char *name)
{
    const char *v = config_str(name);
    const param_def_t *p = param_find(name);
    long seconds;

    if (config_parse_time(v, p && p->time_unit ? p->time_unit : 's', &seconds) < 0)
        bad_number(name, v);
    return check_minimum(name, seconds);
}

int config_parse_bool(const char *text, int *value)
{
    if (strcasecmp(text, "yes") == 0)
        *value = 1;
    else if (strcasecmp(text, "no") == 0)
        *value = 0;
    else
        return -1;
    return 0;
}

int config_bool(const char *name)
{
    const char *v = config_str(name);
    int b;

    if (config_parse_bool(v, &b) < 0)
        msg_fatal("bad boolean configuration: %s = %s", name, v);
    return b;
}

argv_t *config_list(const char *name)
{
    return argv_split_list(config_str(name));
}

char *config_expand(const char *text)
{
    buf_t out = BUF_INIT;

    expand_text(&out, text, strlen(text), 0);
    return buf_steal(&out);
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp((*(entry_t *const *) a)->name, (*(entry_t *const *) b)->name);
}

void config_walk_set(config_walk_fn fn, void *ctx)
{
    entry_t **list = NULL;
    size_t count = 0, cap = 0;

    for (size_t i = 0; i < HASH_SIZE; i++)
        for (entry_t *e = buckets[i]; e; e = e->next) {
            if (!e->set)
                continue;
            if (count == cap) {
                cap = cap ? size_mul(cap, 2) : 64;
                list = xreallocarray(list, cap, sizeof(*list));
            }
            list[count++] = e;
        }
    if (count)
        qsort(list, count, sizeof(*list), compare_entries);
    for (size_t i = 0; i < count; i++)
        fn(list[i]->name, list[i]->value, ctx);
    free(list);
}
