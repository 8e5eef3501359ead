/* fuzz_smtp_path: smtp_path_parse (what follows "MAIL FROM:" / "RCPT TO:")
 * and the local-part quoting it feeds. Properties checked:
 *   - a parsed path's params point into the argument, and a failure says why;
 *   - addr_unquote(addr_quote(a)) == a, for any text whose domain (after the
 *     last '@') holds no quote or backslash (only the local part is quoted);
 *   - "<" addr_quote(a) ">" parses back to a (when it fits the length limit
 *     and the text after a's last '@' is a domain).
 * Run: build-fuzz/fuzz_smtp_path fuzz/corpus/smtp_path */
#include <string.h>

#include "address.h"
#include "buf.h"
#include "fuzz.h"

/* address.c's ADDR_MAX_LEN: the longest path smtp_path_parse accepts. */
#define PATH_MAX_LEN 1000

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_smtp_path");
    return 0;
}

static int domain_is_plain(const char *text)
{
    const char *d = addr_domain(text);

    return d == NULL || strpbrk(d, "\"\\") == NULL;
}

/* Quoting then unquoting gives the internal form back. */
static void check_quote_round_trip(const char *internal)
{
    buf_t quoted = BUF_INIT, back = BUF_INIT;

    addr_quote(&quoted, internal);
    addr_unquote(&back, buf_str(&quoted));
    FUZZ_CHECK(strcmp(buf_str(&back), internal) == 0);
    buf_release(&quoted);
    buf_release(&back);
}

/* Whether the text after the last '@' is a domain a path may carry. The
 * internal form cannot tell "a@b" from the quoted local part "\"a@b\""
 * (Postfix's neither), so only addresses whose tail is a real domain can
 * come back the same. */
static int domain_part_valid(const char *internal)
{
    const char *d = addr_domain(internal);
    buf_t probe = BUF_INIT, out = BUF_INIT;
    const char *params, *why;
    int ok;

    if (d == NULL)
        return 1;
    buf_printf(&probe, "<x@%s>", d);
    ok = smtp_path_parse(buf_str(&probe), &out, &params, &why) == 0 && *params == 0;
    buf_release(&probe);
    buf_release(&out);
    return ok;
}

/* The quoted form, sent back on the wire, parses to the same address. */
static void check_reparse(const char *internal)
{
    buf_t quoted = BUF_INIT, line = BUF_INIT, again = BUF_INIT;
    const char *params = NULL, *why = NULL;

    addr_quote(&quoted, internal);
    if (quoted.len <= PATH_MAX_LEN && domain_part_valid(internal)) {
        buf_printf(&line, "<%s>", buf_str(&quoted));
        FUZZ_CHECK(smtp_path_parse(buf_str(&line), &again, &params, &why) == 0);
        FUZZ_CHECK(strcmp(buf_str(&again), internal) == 0);
        FUZZ_CHECK(*params == 0);
    }
    buf_release(&quoted);
    buf_release(&line);
    buf_release(&again);
}

/* The helpers that split addresses must cope with any text. */
static void exercise_helpers(const char *text)
{
    buf_t lp = BUF_INIT, dom = BUF_INIT, base = BUF_INIT, ext = BUF_INIT;
    const char *d = addr_domain(text);

    FUZZ_CHECK(d == NULL || (d > text && d[-1] == '@'));
    addr_split(text, &lp, &dom);
    FUZZ_CHECK(lp.len + (d ? dom.len + 1 : 0) == strlen(text));
    addr_split_extension(buf_str(&lp), "+-", &base, &ext);
    FUZZ_CHECK(base.len <= lp.len);
    (void) addr_valid_domain(buf_str(&dom));
    buf_release(&lp);
    buf_release(&dom);
    buf_release(&base);
    buf_release(&ext);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    buf_t addr = BUF_INIT;
    const char *params = NULL, *why = NULL;

    if (smtp_path_parse(text, &addr, &params, &why) == 0) {
        FUZZ_CHECK(params >= text && params <= text + strlen(text));
        if (domain_is_plain(buf_str(&addr)))
            check_quote_round_trip(buf_str(&addr));
        check_reparse(buf_str(&addr));
    } else {
        FUZZ_CHECK(why != NULL && *why != 0);
        FUZZ_CHECK(addr.len == 0);
    }
    if (domain_is_plain(text))
        check_quote_round_trip(text);
    addr_unquote(&addr, text);
    FUZZ_CHECK(addr.len <= strlen(text));
    exercise_helpers(text);
    buf_release(&addr);
    free(text);
    return 0;
}
