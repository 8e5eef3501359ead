/* forward: the addresses an expansion forwards to leave as NEW messages
 * through cleanup (reference 6.1), one per envelope sender (the original
 * sender, or an owner- alias), with the original arrival time and content
 * and a Delivered-To: header for the recipient on top: when such a
 * message comes back to the same recipient, the header shows the loop.
 * With an owner- alias the sender changes and, as Postfix does, the DSN
 * data of the original (ENVID, RET, ORCPT) is not passed on. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup_client.h"
#include "config.h"
#include "local.h"
#include "log.h"
#include "record.h"

#define CLEANUP_SERVICE  "public/cleanup"

/* address with the unmatched extension put back before its '@'. */
static void with_extension(buf_t *out, const char *address, const local_state_t *st,
                           const char *unmatched)
{
    const char *at = strrchr(address, '@');

    buf_reset(out);
    if (unmatched == NULL || *unmatched == 0 || st->name.delimiter == 0) {
        buf_puts(out, address);
        return;
    }
    buf_append(out, address, at ? (size_t) (at - address) : strlen(address));
    buf_putc(out, st->name.delimiter);
    buf_puts(out, unmatched);
    if (at != NULL)
        buf_puts(out, at);
}

static forward_group_t *group_for(local_state_t *st, const expansion_t *exp)
{
    for (size_t i = 0; i < st->fwd_count; i++)
        if (strcmp(st->fwd[i].sender, exp->sender) == 0 && st->fwd[i].owner == exp->owner)
            return &st->fwd[i];
    st->fwd = xreallocarray(st->fwd, st->fwd_count + 1, sizeof(*st->fwd));
    st->fwd[st->fwd_count].sender = xstrdup(exp->sender);
    st->fwd[st->fwd_count].owner = exp->owner;
    st->fwd[st->fwd_count].rcpts = argv_new();
    return &st->fwd[st->fwd_count++];
}

void forward_add(local_state_t *st, const expansion_t *exp, const char *address)
{
    buf_t addr = BUF_INIT;
    buf_t key = BUF_INIT;

    with_extension(&addr, address, st, exp->unmatched);
    buf_printf(&key, "forward %s %s", exp->sender, buf_str(&addr));
    buf_lower(&key);
    if (destination_new(st, buf_str(&key)))
        argv_add(group_for(st, exp)->rcpts, buf_str(&addr));
    buf_release(&addr);
    buf_release(&key);
}

void forward_free(local_state_t *st)
{
    for (size_t i = 0; i < st->fwd_count; i++) {
        free(st->fwd[i].sender);
        argv_free(st->fwd[i].rcpts);
    }
    free(st->fwd);
    st->fwd = NULL;
    st->fwd_count = 0;
}

/* One text line of content, split into L pieces at line_length_limit. */
static void put_line(stream_t *s, const char *text)
{
    size_t limit = (size_t) config_int("line_length_limit");
    size_t len = strlen(text);

    if (limit < 80)
        limit = 80;
    while (len > limit) {
        rec_put(s, REC_TYPE_CONT, text, limit);
        text += limit;
        len -= limit;
    }
    rec_put(s, REC_TYPE_NORM, text, len);
}

/* The envelope: arrival time, DSN data, sender, recipients. */
static void put_envelope(stream_t *s, const local_state_t *st, const forward_group_t *g)
{
    const delivery_request_t *req = st->msg->req;
    const delivery_rcpt_t *rcpt = st->rcpt;
    long notify = rcpt->notify_flags;

    /* As Postfix: the copies never report success; SUCCESS belongs to the
     * recipient that was expanded. */
    if (notify == DSN_NOTIFY_SUCCESS)
        notify = DSN_NOTIFY_NEVER;
    else
        notify &= ~(long) DSN_NOTIFY_SUCCESS;
    rec_printf(s, REC_TYPE_TIME, "%ld %ld", req->arrival_time, req->arrival_usec);
    if (!g->owner && req->dsn_ret != 0)
        rec_printf(s, REC_TYPE_DSN_RET, "%ld", req->dsn_ret);
    if (!g->owner && *req->envid)
        rec_puts(s, REC_TYPE_DSN_ENVID, req->envid);
    rec_puts(s, REC_TYPE_FROM, g->sender);
    for (size_t i = 0; i < g->rcpts->argc; i++) {
        if (!g->owner) {
            if (*rcpt->dsn_orig_rcpt)
                rec_puts(s, REC_TYPE_DSN_ORCPT, rcpt->dsn_orig_rcpt);
            if (notify != 0)
                rec_printf(s, REC_TYPE_DSN_NOTIFY, "%ld", notify);
            rec_puts(s, REC_TYPE_ORCP, *rcpt->orig_rcpt ? rcpt->orig_rcpt : rcpt->address);
        }
        rec_puts(s, REC_TYPE_RCPT, g->rcpts->argv[i]);
    }
}

/* The content: our Delivered-To: first, then the queued content as it
 * is. 0, or -1 when the queue file's content is malformed. */
static int put_content(stream_t *s, const local_state_t *st)
{
    const local_msg_t *msg = st->msg;
    size_t pos = msg->data_offset;
    buf_t header = BUF_INIT;
    rec_t rec;

    rec_put(s, REC_TYPE_MESG, "", 0);
    if (local_cfg.delivered_hdr & LOCAL_HDR_FORWARD) {
        buf_printf(&header, "Delivered-To: %s", buf_str(&st->name.address));
        put_line(s, buf_str(&header));
        buf_release(&header);
    }
    for (;;) {
        if (rec_parse(msg->map, msg->map_size, &pos, &rec) <= 0)
            return -1;
        if (rec.type == REC_TYPE_XTRA)
            break;
        if (rec.type != REC_TYPE_NORM && rec.type != REC_TYPE_CONT)
            return -1;
        rec_put(s, rec.type, rec.data, rec.len);
    }
    rec_put(s, REC_TYPE_XTRA, "", 0);
    rec_put(s, REC_TYPE_END, "", 0);
    return 0;
}

/* Submits one group as a new message; records its result. */
static void submit_group(local_state_t *st, const forward_group_t *g)
{
    const char *queue_id = st->msg->req->queue_id;
    cleanup_client_t *cl;
    buf_t why = BUF_INIT;
    char new_id[sizeof(cl->queue_id)];
    int status;

    if ((cl = cleanup_open(CLEANUP_SERVICE, CLEANUP_FLAG_NONE, &why)) == NULL) {
        msg_warn("%s: cannot forward: %s", queue_id, buf_str(&why));
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "mail forwarding failed: %s", buf_str(&why));
        buf_release(&why);
        return;
    }
    memcpy(new_id, cl->queue_id, sizeof(new_id));
    put_envelope(cl->s, st, g);
    if (put_content(cl->s, st) < 0) {
        cleanup_abort(cl);
        msg_warn("%s: malformed queue file content", queue_id);
        leaf_result(st, DELIVERY_DEFERRED, "4.3.0", "error reading queue file: malformed content");
        buf_release(&why);
        return;
    }
    if ((status = cleanup_finish(cl, &why)) != CLEANUP_STAT_OK) {
        const char *reply = cleanup_status_reply(status);

        msg_warn("%s: cannot forward: %s", queue_id, why.len ? buf_str(&why) : reply);
        /* A message cleanup refuses for good (too big, content) bounces. */
        leaf_result(st, reply[0] == '5' ? DELIVERY_BOUNCED : DELIVERY_DEFERRED,
                    reply[0] == '5' ? "5.3.0" : "4.3.0", "mail forwarding failed: %s",
                    why.len ? buf_str(&why) : reply + 4);
    } else {
        leaf_result(st, DELIVERY_SENT, "2.0.0", "forwarded as %s", new_id);
    }
    buf_release(&why);
}

void forward_flush(local_state_t *st)
{
    for (size_t i = 0; i < st->fwd_count; i++)
        submit_group(st, &st->fwd[i]);
    forward_free(st);
}
