/* table: qshape's counts and their layout. Each row is a domain with a
 * total and one count per age bucket; the buckets double in age (5, 10,
 * 20 ... minutes) unless -l. Columns are as wide as their heading or the
 * TOTAL count, plus one blank (at least 3); the domain column takes what
 * is left of the width (at least 18), right-aligned, with long names cut
 * from the left behind a '+'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "qshape.h"

#define DOMAIN_WIDTH_MIN  18
#define HASH_SIZE_MIN     256

typedef struct shape_row {
    char             *domain;
    long             *counts;        /* [0] all ages, [1..buckets] per bucket */
    long              subdomains;    /* distinct children seen (-p rows) */
    struct shape_row *next;          /* hash chain */
} shape_row_t;

struct shape {
    shape_opts_t  opts;
    shape_row_t   total;
    shape_row_t **hash;
    size_t        hash_size;
    size_t        row_count;
};

static shape_row_t *row_init(shape_row_t *row, const char *domain, int buckets)
{
    row->domain = xstrdup(domain);
    row->counts = xcalloc((size_t) buckets + 1, sizeof(*row->counts));
    row->subdomains = 0;
    row->next = NULL;
    return row;
}

shape_t *shape_new(const shape_opts_t *opts)
{
    shape_t *shape = xcalloc(1, sizeof(*shape));

    shape->opts = *opts;
    row_init(&shape->total, "TOTAL", opts->buckets);
    shape->hash_size = HASH_SIZE_MIN;
    shape->hash = xcalloc(shape->hash_size, sizeof(*shape->hash));
    return shape;
}

void shape_free(shape_t *shape)
{
    size_t i;

    for (i = 0; i < shape->hash_size; i++) {
        shape_row_t *row = shape->hash[i], *next;

        for (; row != NULL; row = next) {
            next = row->next;
            free(row->domain);
            free(row->counts);
            free(row);
        }
    }
    free(shape->hash);
    free(shape->total.domain);
    free(shape->total.counts);
    free(shape);
}

/* ---- Age buckets ---- */

int shape_bucket(const shape_t *shape, long age_seconds)
{
    double m = (double) age_seconds / (60.0 * (double) shape->opts.tick);
    long b;

    if (m < 1)
        return 1;
    if (shape->opts.linear) {
        b = (long) m + 1;
    } else {
        /* 2 + floor(log2(m)), without libm. */
        for (b = 2; m >= 2 && b <= shape->opts.buckets; b++)
            m /= 2;
    }
    return b < shape->opts.buckets ? (int) b : shape->opts.buckets;
}

/* ---- Rows ---- */

static size_t hash_text(const char *s)
{
    size_t h = 5381;

    for (; *s; s++)
        h = h * 33 + (unsigned char) *s;
    return h;
}

static void hash_grow(shape_t *shape)
{
    size_t size = size_mul(shape->hash_size, 2);
    shape_row_t **table = xcalloc(size, sizeof(*table));
    size_t i;

    for (i = 0; i < shape->hash_size; i++) {
        shape_row_t *row = shape->hash[i], *next;

        for (; row != NULL; row = next) {
            size_t slot = hash_text(row->domain) % size;

            next = row->next;
            row->next = table[slot];
            table[slot] = row;
        }
    }
    free(shape->hash);
    shape->hash = table;
    shape->hash_size = size;
}

/* The row of a domain; *created says whether it is new. */
static shape_row_t *row_get(shape_t *shape, const char *domain, int *created)
{
    size_t slot = hash_text(domain) % shape->hash_size;
    shape_row_t *row;

    for (row = shape->hash[slot]; row != NULL; row = row->next) {
        if (strcmp(row->domain, domain) == 0) {
            *created = 0;
            return row;
        }
    }
    if (shape->row_count >= shape->hash_size)
        hash_grow(shape);
    slot = hash_text(domain) % shape->hash_size;
    row = row_init(xmalloc(sizeof(*row)), domain, shape->opts.buckets);
    row->next = shape->hash[slot];
    shape->hash[slot] = row;
    shape->row_count++;
    *created = 1;
    return row;
}

/* Lower case, the part after the last '@', runs of dots made one, and
 * one leading and one trailing dot dropped. */
static void address_domain(buf_t *domain, const char *address)
{
    const char *at = strrchr(address, '@');
    const char *p = at ? at + 1 : address;
    size_t start, end;

    buf_reset(domain);
    if (*address == 0) {
        buf_puts(domain, "MAILER-DAEMON");
        return;
    }
    for (; *p; p++) {
        if (*p == '.' && domain->len > 0 && domain->data[domain->len - 1] == '.')
            continue;
        buf_putc(domain, *p);
    }
    buf_lower(domain);
    if (domain->len < 2)
        return;
    start = domain->data[0] == '.';
    end = domain->len - (domain->data[domain->len - 1] == '.');
    if (end > start) {
        memmove(domain->data, domain->data + start, end - start);
        buf_truncate(domain, end - start);
    }
}

/* ".example.com" for "mx.example.com" or ".mx.example.com": the parent,
 * as long as it still has two labels. 0 when there is none. */
static int parent_domain(buf_t *domain)
{
    const char *s = buf_str(domain);
    const char *label = s + (*s == '.');
    const char *dot = strchr(label, '.');
    buf_t parent = BUF_INIT;

    if (dot == NULL || dot == label || strchr(dot + 1, '.') == NULL)
        return 0;
    buf_putc(&parent, '.');
    buf_puts(&parent, dot + 1);
    buf_set(domain, parent.data);
    buf_release(&parent);
    return 1;
}

static void row_count(shape_row_t *row, int bucket)
{
    row->counts[0]++;
    row->counts[bucket]++;
}

void shape_add(shape_t *shape, const char *address, int bucket)
{
    buf_t domain = BUF_INIT;
    int child_new = 0;

    if (bucket < 1 || bucket > shape->opts.buckets)
        msg_panic("shape_add: bucket %d out of range", bucket);
    row_count(&shape->total, bucket);
    address_domain(&domain, address);
    for (;;) {
        int created;
        shape_row_t *row = row_get(shape, buf_str(&domain), &created);

        row_count(row, bucket);
        /* A parent counts the distinct names seen just below it. */
        if (child_new)
            row->subdomains++;
        child_new = created;
        if (!shape->opts.parents || !parent_domain(&domain))
            break;
    }
    buf_release(&domain);
}

/* ---- Layout ---- */

typedef struct layout {
    int    ncols;
    char **heads;
    int   *widths;
    long   domain_width;
} layout_t;

static void layout_make(const shape_t *shape, layout_t *lay)
{
    const shape_opts_t *o = &shape->opts;
    long t = 0, left = o->width;
    int i;

    lay->ncols = o->buckets + 1;
    lay->heads = xcalloc((size_t) lay->ncols, sizeof(*lay->heads));
    lay->widths = xcalloc((size_t) lay->ncols, sizeof(*lay->widths));
    for (i = 0; i < lay->ncols; i++) {
        buf_t head = BUF_INIT, count = BUF_INIT;
        size_t w;

        if (i == 0)
            buf_puts(&head, "T");
        else if (i < o->buckets)
            buf_printf(&head, "%ld", t);
        else
            buf_printf(&head, "%ld+", t);
        if (i + 1 < o->buckets)
            t += (t != 0 && !o->linear) ? t : o->tick;
        buf_printf(&count, "%ld", shape->total.counts[i]);
        w = head.len > count.len ? head.len : count.len;
        lay->widths[i] = w > 2 ? (int) w + 1 : 3;
        left -= lay->widths[i];
        lay->heads[i] = buf_steal(&head);
        buf_release(&count);
    }
    lay->domain_width = left < DOMAIN_WIDTH_MIN ? DOMAIN_WIDTH_MIN : left;
}

static void layout_free(layout_t *lay)
{
    int i;

    for (i = 0; i < lay->ncols; i++)
        free(lay->heads[i]);
    free(lay->heads);
    free(lay->widths);
}

static void print_domain(const layout_t *lay, const char *domain)
{
    long len = (long) strlen(domain), dw = lay->domain_width;

    if (len <= dw)
        printf("%*s", (int) dw, domain);
    else if (domain[0] == '.')
        printf(".+%s", domain + len - (dw - 2));
    else
        printf("+%s", domain + len - (dw - 1));
}

static void print_row(const layout_t *lay, const shape_row_t *row)
{
    int i;

    print_domain(lay, row->domain);
    for (i = 0; i < lay->ncols; i++)
        printf("%*ld", lay->widths[i], row->counts[i]);
    putchar('\n');
}

static void print_heading(const layout_t *lay)
{
    int i;

    print_domain(lay, "");
    for (i = 0; i < lay->ncols; i++)
        printf("%*s", lay->widths[i], lay->heads[i]);
    putchar('\n');
}

/* Most addresses first; then shorter names; then by name, so that the
 * output never depends on hash order. */
static int row_order(const void *a, const void *b)
{
    const shape_row_t *x = *(const shape_row_t *const *) a;
    const shape_row_t *y = *(const shape_row_t *const *) b;
    size_t xl, yl;

    if (x->counts[0] != y->counts[0])
        return x->counts[0] > y->counts[0] ? -1 : 1;
    xl = strlen(x->domain);
    yl = strlen(y->domain);
    if (xl != yl)
        return xl < yl ? -1 : 1;
    return strcmp(x->domain, y->domain);
}

static shape_row_t **rows_sorted(const shape_t *shape)
{
    shape_row_t **rows = xcalloc(shape->row_count + 1, sizeof(*rows));
    size_t i, n = 0;

    for (i = 0; i < shape->hash_size; i++) {
        shape_row_t *row;

        for (row = shape->hash[i]; row != NULL; row = row->next)
            rows[n++] = row;
    }
    qsort(rows, n, sizeof(*rows), row_order);
    return rows;
}

void shape_print(const shape_t *shape)
{
    layout_t lay;
    shape_row_t **rows = rows_sorted(shape);
    size_t i, shown = 1;

    layout_make(shape, &lay);
    print_heading(&lay);
    print_row(&lay, &shape->total);
    for (i = 0; i < shape->row_count; i++) {
        if (shape->opts.top > 0 && shown >= shape->opts.top)
            break;
        /* Parent rows only when enough distinct subdomains add up. */
        if (rows[i]->domain[0] == '.' && rows[i]->subdomains < shape->opts.min_sub)
            continue;
        print_row(&lay, rows[i]);
        shown++;
    }
    free(rows);
    layout_free(&lay);
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal("write error: %m");
}
