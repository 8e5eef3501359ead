/* enqueue: posts the message on stdin. Runs postdrop (set-gid, the only
 * writer of maildrop/) and streams it typed records: envelope (F, S, R),
 * M, one N per line (L pieces for long lines), X, the recipients that -t
 * found, E. The message is never held in memory. Success is reported only
 * after postdrop says the file is complete and on disk. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "address.h"
#include "alloc.h"
#include "attr.h"
#include "cleanup_client.h"
#include "config.h"
#include "log.h"
#include "queue_file.h"
#include "record.h"
#include "sendmail.h"
#include "stream.h"

#define POSTDROP_PROTOCOL   "postdrop_protocol"
/* postdrop and cleanup refuse longer envelope records. */
#define SM_ENVELOPE_MAX     4096
#define SM_IPC_TIMEOUT      3600

typedef enum { STRIP_CR_DUNNO, STRIP_CR_DO, STRIP_CR_DONT } strip_cr_t;

typedef struct postdrop {
    pid_t     pid;
    stream_t *to;           /* its standard input: our records */
    stream_t *from;         /* its standard output: queue ID, then status */
    char      queue_id[QUEUE_ID_MAX + 1];
} postdrop_t;

/* "sender(uid)", the prefix of Postfix's sendmail error messages. */
static buf_t who = BUF_INIT;

/* ---------- sender and full name ---------- */

/* -f text: "<>" or an address, possibly "Name <addr>"; internal form. */
static char *sender_from_option(const char *text)
{
    argv_t *addrs = header_addresses_parse(text);
    char *sender = xstrdup(addrs->argc > 0 ? addrs->argv[0] : "");

    if (addrs->argc > 1)
        msg_warn("-f option specified malformed sender: %s", text);
    argv_free(addrs);
    return sender;
}

/* The passwd comment's first field, with '&' standing for the login name
 * spelled with a capital. */
static void gecos_name(buf_t *out, const char *gecos, const char *login)
{
    for (const char *p = gecos; *p && *p != ','; p++) {
        if (*p != '&') {
            buf_putc(out, *p);
            continue;
        }
        for (const char *l = login; *l; l++)
            buf_putc(out, l == login && *l >= 'a' && *l <= 'z' ? *l - 'a' + 'A' : *l);
    }
}

/* -F, else $NAME, else the passwd comment field; NULL when none. */
static char *full_name(const sm_opts_t *o)
{
    const char *env = getenv("NAME");
    struct passwd *pw;
    buf_t name = BUF_INIT;

    if (o->full_name != NULL)
        return *o->full_name ? xstrdup(o->full_name) : NULL;
    if (env != NULL && *env)
        return xstrdup(env);
    pw = getpwuid(getuid());
    if (pw != NULL && pw->pw_gecos != NULL)
        gecos_name(&name, pw->pw_gecos, sm_login_name());
    if (name.len == 0) {
        buf_release(&name);
        return NULL;
    }
    return buf_steal(&name);
}

/* ---------- postdrop ---------- */

static int ipc_timeout(void)
{
    const char *text = config_get("ipc_timeout");
    long seconds;

    if (text == NULL || config_parse_time(text, 's', &seconds) < 0
        || seconds <= 0 || seconds > 86400)
        return SM_IPC_TIMEOUT;
    return (int) seconds;
}

static void exec_postdrop(const sm_opts_t *o, int in_fd, int out_fd) __attribute__((noreturn));
static void exec_postdrop(const sm_opts_t *o, int in_fd, int out_fd)
{
    argv_t *args = argv_new();
    buf_t path = BUF_INIT;

    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0)
        msg_fatal_status(EX_OSERR, "dup2: %m");
    buf_printf(&path, "%s/postdrop", config_str("command_directory"));
    argv_add(args, "postdrop");
    argv_add(args, "-r");
    for (int i = 0; i < o->verbose; i++)
        argv_add(args, "-v");
    /* The configuration directory travels in MAIL_CONFIG (see main.c). */
    execv(path.data, args->argv);
    msg_fatal_status(EX_UNAVAILABLE, "%s: unable to execute %s -r: %m", buf_str(&who), path.data);
}

static void postdrop_start(postdrop_t *pd, const sm_opts_t *o)
{
    int in[2], out[2];

    /* Close-on-exec: postdrop gets only its own ends, on 0 and 1. */
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        msg_fatal_status(EX_OSERR, "pipe: %m");
    pd->pid = fork();
    if (pd->pid < 0)
        msg_fatal_status(EX_OSERR, "fork: %m");
    if (pd->pid == 0)
        exec_postdrop(o, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    pd->to = stream_fdopen(in[1]);
    pd->from = stream_fdopen(out[0]);
    stream_set_timeout(pd->from, ipc_timeout());
}

/* Waits for postdrop; returns its exit status (or 128 + signal). */
static int postdrop_wait(postdrop_t *pd)
{
    int status;

    if (pd->to != NULL)
        stream_close(pd->to);
    pd->to = NULL;
    while (waitpid(pd->pid, &status, 0) < 0) {
        if (errno != EINTR)
            return EX_OSERR;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* {protocol=postdrop_protocol, queue_id=ID}: the file exists. */
static void postdrop_greeting(postdrop_t *pd)
{
    static const char *const required[] = { "protocol", "queue_id", NULL };
    attr_list_t *a = attr_list_new();

    if (attr_read(pd->from, a) < 0 || attr_check(a, required, NULL) < 0
        || strcmp(attr_get(a, "protocol"), POSTDROP_PROTOCOL) != 0
        || !queue_id_valid(attr_get(a, "queue_id"))) {
        int status = postdrop_wait(pd);

        /* postdrop has said why on the same standard error. */
        msg_fatal_status(EX_TEMPFAIL, "%s: unable to submit mail: postdrop %s %d",
                         buf_str(&who), status > 128 ? "died with signal" : "exited with status",
                         status > 128 ? status - 128 : status);
    }
    memcpy(pd->queue_id, attr_get(a, "queue_id"), strlen(attr_get(a, "queue_id")) + 1);
    attr_list_free(a);
    msg_debug("postdrop queue file %s", pd->queue_id);
}

static const char *status_text(int status)
{
    if (status & CLEANUP_STAT_BAD)
        return "internal protocol error";
    if (status & CLEANUP_STAT_SIZE)
        return "message file too big";
    if (status & CLEANUP_STAT_RCPT)
        return "no recipients specified";
    if (status & CLEANUP_STAT_CONT)
        return "message content rejected";
    return "queue file write error";
}

/* {status, reason} after E; exits unless the message is safely queued. */
static void postdrop_finish(postdrop_t *pd)
{
    static const char *const required[] = { "status", NULL };
    static const char *const optional[] = { "reason", NULL };
    attr_list_t *a = attr_list_new();
    long status = CLEANUP_STAT_WRITE;
    const char *reason = NULL;

    stream_flush(pd->to);
    stream_close(pd->to);                   /* EOF: nothing follows E */
    pd->to = NULL;
    if (attr_read(pd->from, a) == 0 && attr_check(a, required, optional) == 0
        && attr_get_long(a, "status", &status) == 0) {
        reason = attr_get(a, "reason");
    } else {
        status = CLEANUP_STAT_WRITE;
    }
    (void) postdrop_wait(pd);
    stream_close(pd->from);
    if (status != 0)
        msg_fatal_status((status & CLEANUP_STAT_BAD) ? EX_SOFTWARE
                         : (status & CLEANUP_STAT_WRITE) ? EX_TEMPFAIL : EX_UNAVAILABLE,
                         "%s: %s", buf_str(&who),
                         reason && *reason ? reason : status_text((int) status));
    attr_list_free(a);
}

/* Gives up: postdrop sees input end without E and removes its file. */
static void postdrop_cancel(postdrop_t *pd)
{
    (void) postdrop_wait(pd);
    stream_close(pd->from);
}

/* ---------- envelope ---------- */

static void put_envelope(stream_t *s, int type, const char *text)
{
    if (strlen(text) > SM_ENVELOPE_MAX)
        msg_fatal_status(EX_DATAERR, "%s: envelope record too long: %.100s...",
                         buf_str(&who), text);
    rec_puts(s, type, text);
}

static void put_recipient(stream_t *s, const sm_opts_t *o, const char *addr)
{
    if (o->dsn_notify != 0)
        rec_printf(s, REC_TYPE_DSN_NOTIFY, "%ld", o->dsn_notify);
    put_envelope(s, REC_TYPE_RCPT, addr);
}

/* Each argument is parsed like a To: header: "a, b" and "Name <a>" work. */
static argv_t *command_line_recipients(const sm_opts_t *o)
{
    argv_t *rcpts = argv_new();

    for (char **arg = o->recipients; *arg != NULL; arg++) {
        argv_t *found = header_addresses_parse(*arg);
        size_t before = rcpts->argc;

        for (size_t i = 0; i < found->argc; i++)
            if (*found->argv[i])
                argv_add(rcpts, found->argv[i]);
        if (rcpts->argc == before)
            msg_warn("no address in recipient argument \"%s\" -- ignored", *arg);
        argv_free(found);
    }
    return rcpts;
}

static void send_envelope(stream_t *s, const sm_opts_t *o, const char *sender,
                          const char *fullname, const argv_t *rcpts)
{
    rec_printf(s, REC_TYPE_ATTR, "rewrite_context=%s", o->rewrite_context);
    if (o->encoding != NULL)
        rec_printf(s, REC_TYPE_ATTR, "encoding=%s", o->encoding);
    if (fullname != NULL)
        put_envelope(s, REC_TYPE_FULL, fullname);
    put_envelope(s, REC_TYPE_FROM, sender);
    if (o->dsn_ret != 0)
        rec_printf(s, REC_TYPE_DSN_RET, "%d", o->dsn_ret);
    if (o->dsn_envid != NULL)
        put_envelope(s, REC_TYPE_DSN_ENVID, o->dsn_envid);
    for (size_t i = 0; i < rcpts->argc; i++)
        put_recipient(s, o, rcpts->argv[i]);
}

/* ---------- content ---------- */

static strip_cr_t strip_cr_setting(void)
{
    const char *v = config_str("sendmail_fix_line_endings");

    if (strcmp(v, "always") == 0)
        return STRIP_CR_DO;
    if (strcmp(v, "strict") == 0)
        return STRIP_CR_DUNNO;
    if (strcmp(v, "never") == 0)
        return STRIP_CR_DONT;
    msg_fatal_status(EX_USAGE, "invalid sendmail_fix_line_endings value: %s", v);
}

/* A leading "From " line (mbox style, maybe ">From ") is not mail content. */
static int is_from_line(const buf_t *line)
{
    const char *p = buf_str(line);
    size_t skip = strspn(p, ">");

    return line->len - skip >= 5 && memcmp(p + skip, "From ", 5) == 0;
}

typedef struct content {
    stream_t     *in;
    stream_t     *out;
    sm_extract_t *extract;      /* -t, or NULL */
    int           dot_ends;
    size_t        line_limit;
    strip_cr_t    strip_cr;
} content_t;

/* Reads one piece: REC_TYPE_NORM (a whole line, newline removed),
 * REC_TYPE_CONT (line_limit bytes of a longer line) or REC_EOF. */
static int read_piece(content_t *c, buf_t *line)
{
    int r;

    buf_reset(line);
    r = stream_get_line(c->in, line, c->line_limit);
    switch (r) {
    case STREAM_LINE:
        buf_truncate(line, line->len - 1);
        return REC_TYPE_NORM;
    case STREAM_LINE_PART:
        return REC_TYPE_CONT;
    case STREAM_LINE_EOF:
        return line->len > 0 ? REC_TYPE_NORM : REC_EOF;   /* a last line without newline */
    default:
        msg_fatal_status(EX_DATAERR, "%s: error reading input: %m", buf_str(&who));
    }
}

/* Copies the message; stops early when postdrop stops reading. */
static void copy_content(content_t *c)
{
    buf_t line = BUF_INIT;
    int type, prev_type = 0, skip_from = 1;

    while ((type = read_piece(c, &line)) != REC_EOF) {
        if (c->strip_cr == STRIP_CR_DUNNO && type == REC_TYPE_NORM)
            c->strip_cr = line.len > 0 && line.data[line.len - 1] == '\r'
                          ? STRIP_CR_DO : STRIP_CR_DONT;
        if (skip_from) {
            if (type == REC_TYPE_NORM && is_from_line(&line))
                continue;
            skip_from = 0;
        }
        if (c->strip_cr == STRIP_CR_DO && type == REC_TYPE_NORM)
            while (line.len > 0 && line.data[line.len - 1] == '\r')
                buf_truncate(&line, line.len - 1);
        /* Without -i, a line that is a lone dot ends the message (not
         * the tail of a longer line that happens to be "."). */
        if (c->dot_ends && prev_type != REC_TYPE_CONT && type == REC_TYPE_NORM
            && line.len == 1 && line.data[0] == '.')
            break;
        if (c->extract != NULL && sm_extract_record(c->extract, type, buf_str(&line), line.len) < 0)
            msg_fatal_status(EX_DATAERR, "%s: unable to extract recipients: "
                             "message header length exceeds safety limit", buf_str(&who));
        rec_put(c->out, type, buf_str(&line), line.len);
        if (stream_status(c->out) != STREAM_OK)
            break;                      /* postdrop went away: its status says why */
        prev_type = type;
    }
    buf_release(&line);
}

/* ---------- the whole message ---------- */

void sm_enqueue(const sm_opts_t *o)
{
    char *sender = o->sender != NULL ? sender_from_option(o->sender) : xstrdup(sm_login_name());
    char *fullname = full_name(o);
    argv_t *rcpts = command_line_recipients(o);
    long header_limit = config_size("header_size_limit");
    long line_limit = config_int("line_length_limit");
    content_t c;
    postdrop_t pd;
    argv_t *extracted = NULL;

    buf_printf(&who, "%s(%ld)", sender, (long) getuid());
    if (!o->extract && rcpts->argc == 0)
        msg_fatal_status(EX_USAGE, "%s: Recipient addresses must be specified on the "
                         "command line or via the -t option", buf_str(&who));
    if (line_limit < 1)
        line_limit = 2048;
    /* A postdrop that dies must be a write error here, not our death. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        msg_fatal_status(EX_OSERR, "ignore SIGPIPE: %m");

    memset(&pd, 0, sizeof(pd));
    postdrop_start(&pd, o);
    postdrop_greeting(&pd);
    send_envelope(pd.to, o, sender, fullname, rcpts);
    rec_puts(pd.to, REC_TYPE_MESG, "");

    memset(&c, 0, sizeof(c));
    c.in = stream_fdopen(0);
    c.out = pd.to;
    c.extract = o->extract ? sm_extract_new(header_limit) : NULL;
    c.dot_ends = o->dot_ends;
    c.line_limit = (size_t) line_limit;
    c.strip_cr = strip_cr_setting();
    copy_content(&c);

    rec_puts(pd.to, REC_TYPE_XTRA, "");
    if (c.extract != NULL) {
        extracted = sm_extract_finish(c.extract);
        for (size_t i = 0; i < extracted->argc; i++)
            put_recipient(pd.to, o, extracted->argv[i]);
        if (rcpts->argc + extracted->argc == 0) {
            postdrop_cancel(&pd);
            msg_fatal_status(EX_USAGE, "%s: No recipient addresses found in message header",
                             buf_str(&who));
        }
    }
    rec_puts(pd.to, REC_TYPE_END, "");
    postdrop_finish(&pd);

    stream_free(c.in);
    argv_free(extracted);
    argv_free(rcpts);
    free(fullname);
    free(sender);
}
