/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_headers.c - libFuzzer target: the message header parser
 *
 * The input is a message as ses-relay reads it (pipe(8) stdin or LMTP
 * DATA): it goes through spool_write() in odd-sized pieces, then through
 * everything that reads its headers - spool_headers_each() and
 * spool_header() (into small and large buffers), a delivery's plan (the
 * SES configuration set, tenant, tags and From headers, the repair of
 * repeated fields), the queue id in Received:, and header rules as the
 * milter matches them. An unfolded value never holds a line feed, and a
 * looked-up value always fits its buffer.
 */
#include "config.h"

#include "fuzz.h"
#include "ses_conf.h"
#include "ses_lmtp.h"
#include "ses_plan.h"
#include "ses_rules.h"
#include "ses_ses.h"
#include "ses_spool.h"
#include "ses_tags.h"

#define MAX_HEADERS 64

typedef struct {
    rules_header_t h[MAX_HEADERS];
    char *copy[MAX_HEADERS][2];
    size_t n;
} seen_t;

static int each(void *ud, const char *name, const char *value)
{
    seen_t *s = ud;

    if (strchr(name, '\n') || strchr(name, ':') || strchr(value, '\n') ||
        strlen(name) >= 256)
        abort();
    if (s->n < MAX_HEADERS) {
        s->copy[s->n][0] = strdup(name);
        s->copy[s->n][1] = strdup(value);
        s->h[s->n].name = s->copy[s->n][0];
        s->h[s->n].value = s->copy[s->n][1];
        s->n++;
    }
    return 0;
}

static rules_t *header_rules(void)
{
    static const char text[] = "header List-Id:*news* set=news\n"
                               "header Subject:\"*digest*\" route=local\n"
                               "header X-SES-Route:ses route=ses:50%\n"
                               "header Received:*id* tags=seen:yes\n";
    static rules_t *r;
    char err[256];

    if (r == NULL &&
        rules_load(fuzz_file((const uint8_t *)text, sizeof(text) - 1), &r, err,
                   sizeof(err)) != CONF_OK) {
        fprintf(stderr, "fuzz_headers: %s\n", err);
        abort();
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"Subject",
                                        "From",
                                        "Received",
                                        "X-SES-CONFIGURATION-SET",
                                        "X-SES-MESSAGE-TAGS",
                                        "Message-ID",
                                        ""};
    static conf_t *conf;
    spool_t *sp = spool_new(1 << 20, 16 * 1024);
    seen_t seen = {.n = 0};
    char small[8], big[2048], id[64], err[256];
    rules_msg_t msg = {.sender = "a@example.org"};
    rules_t *rules = header_rules();
    size_t off = 0, step = 1;
    tags_t *tags = NULL;
    const char *rcpt = "b@example.net";
    ses_message_t m = {"a@example.org", &rcpt, 1, "4ABCDEF", sp, 0};
    plan_t *plan;

    if (conf == NULL)
        conf = conf_defaults();
    if (sp == NULL)
        abort();
    while (off < size) { /* pieces of 1, 2, 4, ... bytes: cuts anywhere */
        size_t n = size - off < step ? size - off : step;
        if (spool_write(sp, data + off, n) < 0)
            abort();
        off += n;
        step = step < 4096 ? step * 2 : 1;
    }
    if (spool_finish(sp) < 0)
        abort();
    spool_headers_each(sp, each, &seen);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (spool_header(sp, names[i], small, sizeof(small)) &&
            strlen(small) >= sizeof(small))
            abort();
        if (spool_header(sp, names[i], big, sizeof(big)) &&
            strlen(big) >= sizeof(big))
            abort();
    }
    if (spool_header(sp, "Received", big, sizeof(big)) &&
        lmtp_received_queue_id(big, id, sizeof(id)) == 0 &&
        strlen(id) >= sizeof(id))
        abort();
    plan = plan_new(conf, &m, "us-east-1", "mx1-example", err, sizeof(err));
    if (plan == NULL || (plan->config_set && strlen(plan->config_set) > 64) ||
        (plan->tenant && strlen(plan->tenant) > 64) ||
        strlen(plan->from_key) >= sizeof(plan->from_key))
        abort();
    plan_free(plan);
    if (spool_header(sp, "X-SES-MESSAGE-TAGS", big, sizeof(big)) &&
        tags_parse(big, '=', &tags, err, sizeof(err)) == 0)
        tags_free(tags);
    msg.headers = seen.h;
    msg.nheaders = seen.n;
    (void)rules_match(rules, &msg);
    for (size_t i = 0; i < seen.n; i++) {
        free(seen.copy[i][0]);
        free(seen.copy[i][1]);
    }
    spool_free(sp);
    return 0;
}
