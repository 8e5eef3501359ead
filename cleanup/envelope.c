/* envelope: the envelope and extracted-segment records. Addresses pass
 * through one rewrite step (rewrite_sender / rewrite_recipient: canonical
 * maps, masquerading, virtual aliases, in rewrite.c); each resulting
 * recipient is written once with its DSN and original-recipient records
 * (the original recipient stays the address as received). The envelope's
 * recipients are written at M, after the client's 'f' and '>' records:
 * a REDIRECT replaces them all by its one address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "argv.h"
#include "cleanup.h"
#include "cleanup_client.h"
#include "log.h"
#include "record.h"
#include "resolve.h"

/* ---- recipients already written ------------------------------------- */

static uint64_t seen_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;       /* FNV-1a */

    for (; *key; key++) {
        h ^= (unsigned char) *key;
        h *= 1099511628211ULL;
    }
    return h;
}

static void seen_grow(cleanup_seen_t *seen)
{
    size_t cap = seen->cap ? size_mul(seen->cap, 2) : 64;
    char **slots = xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < seen->cap; i++) {
        if (seen->slots[i] == NULL)
            continue;
        size_t j = (size_t) seen_hash(seen->slots[i]) & (cap - 1);
        while (slots[j] != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = seen->slots[i];
    }
    free(seen->slots);
    seen->slots = slots;
    seen->cap = cap;
}

/* 1 when key is new (and now remembered), 0 when it was seen before. Past
 * duplicate_filter_limit entries nothing more is remembered (as Postfix). */
static int seen_add(cleanup_seen_t *seen, const char *key)
{
    size_t j;

    if (seen->cap != 0) {
        for (j = (size_t) seen_hash(key) & (seen->cap - 1); seen->slots[j] != NULL;
             j = (j + 1) & (seen->cap - 1))
            if (strcmp(seen->slots[j], key) == 0)
                return 0;
    }
    if ((long) seen->count >= cleanup_settings.duplicate_filter_limit)
        return 1;
    if (size_mul(seen->count + 1, 2) > seen->cap)
        seen_grow(seen);
    j = (size_t) seen_hash(key) & (seen->cap - 1);
    while (seen->slots[j] != NULL)
        j = (j + 1) & (seen->cap - 1);
    seen->slots[j] = xstrdup(key);
    seen->count++;
    return 1;
}

void cleanup_seen_free(cleanup_seen_t *seen)
{
    for (size_t i = 0; i < seen->cap; i++)
        free(seen->slots[i]);
    free(seen->slots);
    memset(seen, 0, sizeof(*seen));
}

/* ---- the address-rewrite step --------------------------------------- */

/* Envelope sender: canonical form, then sender_canonical_maps,
 * canonical_maps and masquerading ("" stays ""). */
static void rewrite_sender(cleanup_state_t *st, const char *addr, buf_t *out)
{
    buf_reset(out);
    resolve_canonical(out, addr);
    cleanup_rewrite_addr(st, REWRITE_ENV_SENDER, out);
}

/* Envelope recipient: canonical form, recipient_canonical_maps,
 * canonical_maps, masquerading (only when masquerade_classes has
 * envelope_recipient), then virtual_alias_maps, which may give many
 * addresses or defer the message (cleanup_fail, nothing in out). */
static void rewrite_recipient(cleanup_state_t *st, const char *addr, argv_t *out)
{
    buf_t canon = BUF_INIT;

    resolve_canonical(&canon, addr);
    cleanup_rewrite_addr(st, REWRITE_ENV_RCPT, &canon);
    if (st->errs == 0)
        cleanup_virtual_expand(st, buf_str(&canon), out);
    buf_release(&canon);
}

/* ---- records -------------------------------------------------------- */

static int is_text(const char *data, size_t len)
{
    return memchr(data, '\0', len) == NULL;
}

static int parse_decimal(const char *data, long *value)
{
    char *end;

    if (*data < '0' || *data > '9')
        return -1;
    *value = strtol(data, &end, 10);
    return (*end == '\0' && *value >= 0 && *value < 1000000) ? 0 : -1;
}

static void protocol_error(cleanup_state_t *st, int type, const char *what)
{
    msg_warn("%s: cleanup protocol error: %s record type %d (%c)",
             st->queue_id, what, type, type >= 32 && type < 127 ? type : '?');
    cleanup_fail(st, CLEANUP_STAT_BAD, "internal protocol error");
}

static void out_text(cleanup_state_t *st, int type, const char *text)
{
    cleanup_out(st, type, text, strlen(text));
}

/* ---- final recipients ----------------------------------------------- */

void cleanup_rcpts_free(cleanup_rcpts_t *rcpts)
{
    for (size_t i = 0; i < rcpts->count; i++) {
        free(rcpts->items[i].addr);
        free(rcpts->items[i].orig);
        free(rcpts->items[i].dsn_orcpt);
    }
    free(rcpts->items);
    memset(rcpts, 0, sizeof(*rcpts));
}

static void rcpts_add(cleanup_rcpts_t *rcpts, const cleanup_rcpt_t *r)
{
    cleanup_rcpt_t *item;

    if (rcpts->count == rcpts->cap) {
        rcpts->cap = rcpts->cap ? size_mul(rcpts->cap, 2) : 16;
        rcpts->items = xreallocarray(rcpts->items, rcpts->cap, sizeof(*rcpts->items));
    }
    item = &rcpts->items[rcpts->count++];
    item->addr = xstrdup(r->addr);
    item->orig = xstrdup(r->orig);
    item->dsn_orcpt = xstrdup(r->dsn_orcpt);
    item->dsn_notify = r->dsn_notify;
}

/* Writes one final recipient: o, n, O then R, as a reader expects them. */
static void write_recipient(cleanup_state_t *st, const cleanup_rcpt_t *r)
{
    buf_t *num = &st->scratch;

    if (*r->dsn_orcpt)
        out_text(st, REC_TYPE_DSN_ORCPT, r->dsn_orcpt);
    if (r->dsn_notify != 0) {
        buf_reset(num);
        buf_printf(num, "%ld", r->dsn_notify);
        out_text(st, REC_TYPE_DSN_NOTIFY, buf_str(num));
    }
    out_text(st, REC_TYPE_ORCP, r->orig);
    out_text(st, REC_TYPE_RCPT, r->addr);
    st->rcpt_count++;
}

/* REDIRECT: the redirect address is the message's only recipient. The
 * first recipient's original address (and DSN data) go with it, so that
 * delivery logs orig_to=<what the client asked for>; later recipients
 * are dropped (smtpd has logged each of them with the redirect). */
static void write_redirected(cleanup_state_t *st, const cleanup_rcpt_t *r)
{
    cleanup_rcpt_t target = *r;

    if (st->redirect_written)
        return;
    target.addr = st->redirect.data;      /* set by redirect_record */
    write_recipient(st, &target);
    st->redirect_written = 1;
}

/* A final recipient, once per (address, DSN data, original). Envelope
 * recipients wait for M; extracted ones are written at once. */
static void out_recipient(cleanup_state_t *st, const char *addr, const char *orig)
{
    buf_t *key = &st->scratch;
    cleanup_rcpt_t r = { (char *) addr, (char *) orig, (char *) buf_str(&st->dsn_orcpt),
                         st->dsn_notify };

    buf_reset(key);
    buf_printf(key, "%s\n%ld\n%s\n%s", addr, st->dsn_notify, buf_str(&st->dsn_orcpt), orig);
    if (!seen_add(&st->seen_rcpts, buf_str(key)))
        return;
    if (st->segment == SEG_ENVELOPE)
        rcpts_add(&st->envelope_rcpts, &r);
    else if (st->have_redirect)
        write_redirected(st, &r);
    else
        write_recipient(st, &r);
}

/* M: the envelope's recipients go to the file, or the redirect address
 * alone in their place. */
static void flush_envelope_recipients(cleanup_state_t *st)
{
    for (size_t i = 0; i < st->envelope_rcpts.count; i++) {
        if (st->have_redirect)
            write_redirected(st, &st->envelope_rcpts.items[i]);
        else
            write_recipient(st, &st->envelope_rcpts.items[i]);
    }
    cleanup_rcpts_free(&st->envelope_rcpts);
}

static void add_recipient(cleanup_state_t *st, const char *raw)
{
    argv_t *addrs = argv_new();
    char *orig = xstrdup(st->have_orig_rcpt ? buf_str(&st->orig_rcpt) : raw);

    rewrite_recipient(st, raw, addrs);
    for (size_t i = 0; i < addrs->argc && st->errs == 0; i++)
        out_recipient(st, addrs->argv[i], orig);
    free(orig);
    argv_free(addrs);
    /* o, n and O belong to this R only. */
    buf_reset(&st->dsn_orcpt);
    st->dsn_notify = 0;
    st->have_orig_rcpt = 0;
    buf_reset(&st->orig_rcpt);
}

/* Records shared by the envelope and the extracted segment: per-recipient
 * DSN data, recipients and attributes. Returns 0 when type is not one. */
static int recipient_or_attr_record(cleanup_state_t *st, int type, const char *data, size_t len)
{
    switch (type) {
    case REC_TYPE_DSN_ORCPT:
        buf_set(&st->dsn_orcpt, data);
        return 1;
    case REC_TYPE_DSN_NOTIFY:
        if (parse_decimal(data, &st->dsn_notify) < 0)
            protocol_error(st, type, "bad value in");
        return 1;
    case REC_TYPE_ORCP:
        buf_set(&st->orig_rcpt, data);
        st->have_orig_rcpt = 1;
        return 1;
    case REC_TYPE_RCPT:
        if (!st->seen_sender)
            protocol_error(st, type, "no sender before");
        else
            add_recipient(st, data);
        return 1;
    case REC_TYPE_ATTR: {
        const char *eq = memchr(data, '=', len);

        if (eq == NULL || eq == data)
            protocol_error(st, type, "bad value in");
        else if (!(eq - data == 11 && memcmp(data, "create_time", 11) == 0))
            cleanup_out(st, type, data, len);   /* cleanup sets create_time */
        return 1;
    }
    default:
        return 0;
    }
}

/* f: cleanup flags from the client (HOLD), in the envelope or the
 * extracted segment; bits an 'f' record may not set are ignored. */
static void flags_record(cleanup_state_t *st, const char *data)
{
    long value;

    if (parse_decimal(data, &value) < 0) {
        protocol_error(st, REC_TYPE_FLGS, "bad value in");
        return;
    }
    st->flags |= (int) value & CLEANUP_FLAG_MASK_RECORD;
}

/* >: REDIRECT user@domain. The address is made canonical only (as
 * Postfix's queue manager does with it): no canonical or virtual alias
 * maps. A later '>' replaces an earlier one. */
static void redirect_record(cleanup_state_t *st, const char *data)
{
    if (*data == 0) {
        protocol_error(st, REC_TYPE_RDR, "empty");
        return;
    }
    buf_reset(&st->redirect);
    resolve_canonical(&st->redirect, data);
    st->have_redirect = 1;
}

/* T: "sec usec" arrival time; cleanup adds its own create_time. */
static void time_record(cleanup_state_t *st, const char *data, size_t len)
{
    long sec;
    char *end;
    buf_t *attr = &st->scratch;

    sec = (*data >= '0' && *data <= '9') ? strtol(data, &end, 10) : -1;
    if (sec < 0 || (*end != '\0' && *end != ' ') || st->seen_time) {
        protocol_error(st, REC_TYPE_TIME, "bad or repeated");
        return;
    }
    st->seen_time = 1;
    st->arrival = (time_t) sec;
    cleanup_out(st, REC_TYPE_TIME, data, len);
    buf_reset(attr);
    buf_printf(attr, "create_time=%ld", (long) time(NULL));
    out_text(st, REC_TYPE_ATTR, buf_str(attr));
    /* W: when qmgr owes the sender a "still being retried" notice. Fixed
     * width, because qmgr overwrites it in place once the notice is sent. */
    if (cleanup_settings.delay_warning_time > 0) {
        buf_reset(attr);
        buf_printf(attr, "%15ld", (long) st->arrival + cleanup_settings.delay_warning_time);
        out_text(st, REC_TYPE_WARN, buf_str(attr));
    }
}

static void sender_record(cleanup_state_t *st, const char *data)
{
    if (st->seen_sender) {
        protocol_error(st, REC_TYPE_FROM, "repeated");
        return;
    }
    st->seen_sender = 1;
    rewrite_sender(st, data, &st->sender);
    out_text(st, REC_TYPE_FROM, buf_str(&st->sender));
}

/* M: the envelope is complete; content follows. */
static void message_record(cleanup_state_t *st)
{
    if (!st->seen_sender) {
        protocol_error(st, REC_TYPE_MESG, "no sender before");
        return;
    }
    if (!st->seen_time) {           /* a client without T: arrival is now */
        struct timespec now;
        buf_t *stamp = &st->scratch;

        clock_gettime(CLOCK_REALTIME, &now);
        buf_reset(stamp);
        buf_printf(stamp, "%ld %ld", (long) now.tv_sec, (long) (now.tv_nsec / 1000));
        time_record(st, buf_str(stamp), stamp->len);
        if (st->errs)
            return;
    }
    flush_envelope_recipients(st);
    cleanup_out(st, REC_TYPE_MESG, "", 0);
    st->segment = SEG_CONTENT;
    cleanup_content_start(st);
}

void cleanup_envelope_record(cleanup_state_t *st, int type, const char *data, size_t len)
{
    if (!is_text(data, len)) {
        protocol_error(st, type, "NUL byte in");
        return;
    }
    if (recipient_or_attr_record(st, type, data, len))
        return;
    switch (type) {
    case REC_TYPE_TIME:
        time_record(st, data, len);
        break;
    case REC_TYPE_FULL:
        buf_set(&st->fullname, data);
        cleanup_out(st, type, data, len);
        break;
    case REC_TYPE_FROM:
        sender_record(st, data);
        break;
    case REC_TYPE_DSN_RET:
    case REC_TYPE_DSN_ENVID:
        cleanup_out(st, type, data, len);
        break;
    case REC_TYPE_FLGS:
        flags_record(st, data);
        break;
    case REC_TYPE_RDR:
        redirect_record(st, data);
        break;
    case REC_TYPE_MESG:
        message_record(st);
        break;
    default:
        protocol_error(st, type, "unexpected envelope");
        break;
    }
}

void cleanup_extracted_record(cleanup_state_t *st, int type, const char *data, size_t len)
{
    if (!is_text(data, len)) {
        protocol_error(st, type, "NUL byte in");
        return;
    }
    if (type == REC_TYPE_FLGS)
        flags_record(st, data);
    else if (!recipient_or_attr_record(st, type, data, len))
        protocol_error(st, type, "unexpected extracted");
}
