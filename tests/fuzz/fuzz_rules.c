/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_rules.c - libFuzzer target: the RulesFile
 *
 * The input is a whole RulesFile, loaded with rules_load(); a file that
 * loads is matched against a few messages (headers folded, addresses odd),
 * and every rule's action must be well-formed: a known route, a share of
 * 1..100 for ses, a line number inside the file.
 */
#include "config.h"

#include "fuzz.h"
#include "ses_rules.h"
#include "ses_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const rcpts[] = {"x@example.org", "Y@GMAIL.com", "", "@",
                                        "a@b@c"};
    static const rules_header_t headers[] = {
        {"List-Id", " <news.example>"},
        {"Subject", " Your\r\n\tWeekly Digest\r\n"},
        {"X-Empty", ""},
        {"subject", "\t*?[]\\"},
    };
    static const rules_msg_t msgs[] = {
        {.sender = "ann@billing.example.com"},
        {.sender = "", .rcpts = rcpts, .nrcpts = 5},
        {.sender = "a@x.org", .headers = headers, .nheaders = 4},
        {.sender = "*",
         .rcpts = rcpts,
         .nrcpts = 2,
         .headers = headers,
         .nheaders = 2},
    };
    char err[512] = "";
    rules_t *r = NULL;
    size_t n;

    if (rules_load(fuzz_file(data, size), &r, err, sizeof(err)) != CONF_OK) {
        if (r != NULL || err[0] == '\0')
            abort();
        return 0;
    }
    n = rules_count(r);
    if (n > RULES_MAX)
        abort();
    for (size_t i = 0; i < n; i++) {
        const rule_action_t *a = rules_action(r, i);
        if (a->route != ROUTE_UNSET && a->route != ROUTE_SES &&
            a->route != ROUTE_LOCAL)
            abort();
        if (a->route == ROUTE_SES && (a->percent < 1 || a->percent > 100))
            abort();
        if (a->line < 1 || (size_t)a->line > size)
            abort();
        for (size_t t = 0; t < tags_count(a->tags); t++)
            if (!tags_name(a->tags, t) || !tags_value(a->tags, t))
                abort();
    }
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        int m = rules_match(r, &msgs[i]);
        if (m < -1 || (m >= 0 && (size_t)m >= n))
            abort();
    }
    (void)rules_have_recipient_rules(r);
    (void)rules_wants_header(r, "subject");
    rules_free(r);
    return 0;
}
