/* fuzz_match_list: match lists (mydestination, relay_domains, mynetworks...)
 * parsed from any value and asked about domains and clients. The first
 * input byte picks the kind (even: domain list, odd: host list), the rest
 * is the value. Entries that would read files (/file includes, hash:,
 * regexp:, cidr:, texthash:, unix: tables...) are left out: the input is
 * skipped, so that a fuzzer never opens what it names. Properties: every
 * answer is MATCH_FOUND, MATCH_NONE or MATCH_ERROR, and a list without
 * any table entry never answers MATCH_ERROR.
 * Run: build-fuzz/fuzz_match_list fuzz/corpus/match_list */
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "fuzz.h"
#include "match_list.h"

static const char *const file_table_types[] = {
    "hash", "btree", "lmdb", "texthash", "regexp", "cidr", "unix", "pcre", "sqlite",
};

static const char *const domains[] = {
    "example.com", "Sub.Example.COM.", "localhost", "", "[192.0.2.1]", "a.b.c.d.e",
};

static const struct client {
    const char *name, *addr;
} clients[] = {
    { "mail.example.com", "192.0.2.1" }, { "unknown", "10.1.2.3" },
    { NULL, "::1" }, { "host.example.org", "[2001:db8::25]" },
    { "x", "IPv6:::ffff:127.0.0.1" }, { NULL, NULL },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    fuzz_quiet("fuzz_match_list");
    return 0;
}

/* Would parse_entry open a file for this element? */
static int reads_files(const char *token)
{
    const char *colon;

    token += strspn(token, "!");
    if (*token == '/')
        return 1;
    while (strncasecmp(token, "proxy:", 6) == 0)
        token += 6;
    if ((colon = strchr(token, ':')) == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(file_table_types) / sizeof(file_table_types[0]); i++)
        if ((size_t) (colon - token) == strlen(file_table_types[i])
            && strncmp(token, file_table_types[i], (size_t) (colon - token)) == 0)
            return 1;
    return 0;
}

static void check_answer(int r, int may_fail)
{
    FUZZ_CHECK(r == MATCH_FOUND || r == MATCH_NONE || r == MATCH_ERROR);
    FUZZ_CHECK(may_fail || r != MATCH_ERROR);
}

static void ask(match_list_t *l, const char *last_word, int may_fail)
{
    for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
        check_answer(match_list_domain(l, domains[i]), may_fail);
    check_answer(match_list_domain(l, last_word), may_fail);
    for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++)
        check_answer(match_list_host(l, clients[i].name, clients[i].addr), may_fail);
    check_answer(match_list_host(l, last_word, last_word), may_fail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value;
    argv_t *tokens;
    int safe = 1, may_fail = 0;

    if (size == 0)
        return 0;
    value = fuzz_text(data + 1, size - 1);
    tokens = match_list_split(value);
    for (size_t i = 0; i < tokens->argc && safe; i++) {
        safe = !reads_files(tokens->argv[i]);
        may_fail |= strchr(tokens->argv[i], ':') != NULL;
    }
    if (safe) {
        match_list_t *l = match_list_open("fuzz_list", value,
                                          data[0] & 1 ? MATCH_LIST_HOST : MATCH_LIST_DOMAIN);
        const char *last = tokens->argc ? tokens->argv[tokens->argc - 1] : "";

        FUZZ_CHECK(tokens->argc > 0 || match_list_empty(l));
        ask(l, last, may_fail);
        match_list_free(l);
    }
    argv_free(tokens);
    free(value);
    return 0;
}
