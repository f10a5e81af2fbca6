/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_rules.h - the RulesFile: which mail gets which configuration set,
 * tags and route
 *
 * One rule a line, first match wins:
 *
 *   sender    *@billing.example.com  set=transactional tags=team:billing
 * route=ses recipient *@gmail.com            route=ses:25% header    List-Id:*
 * set=marketing header    Subject:"*weekly digest*"  set=digest route=local
 *
 * A matcher is "sender GLOB" (the envelope sender; "<>" is the null
 * sender), "recipient GLOB" (any envelope recipient) or "header NAME:GLOB"
 * (any instance of header NAME whose unfolded value, leading blanks
 * removed, matches GLOB). Globs use * and ?, match the whole string and
 * are case-insensitive, as Postfix's tables are; a GLOB may be written in
 * double quotes when it contains blanks. Address globs must contain '@'.
 *
 * Actions, each at most once, at least one:
 *   set=NAME          configuration set (SES name rules, at most 64 chars)
 *   tenant=NAME       SES tenant (same rules; the milter adds X-SES-TENANT)
 *   tags=n:v,n2:v2    message tags (SES name rules)
 *   route=ses         send through SES (the milter adds X-SES-Route: ses)
 *   route=ses:N%      send N % (1-100) of the matching mail through SES;
 *                     which mail is picked by a stable hash of the queue id
 *   route=local       leave to Postfix's own routing
 * Blank lines and lines starting with '#' are ignored; " #" starts a
 * trailing comment outside quotes.
 *
 * DIAGNOSTICS
 *   rules_load() returns CONF_OK, CONF_NOFILE or CONF_INVALID with
 *   "file:line: message" in err (the same statuses as conf_load()).
 *   Matching never fails.
 */
#ifndef SES_RULES_H
#define SES_RULES_H

#include "ses_conf.h"
#include "ses_tags.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_MAX 10000

typedef enum {
    ROUTE_UNSET = 0, /* the rule says nothing about the route */
    ROUTE_SES,
    ROUTE_LOCAL,
} route_t;

typedef struct {
    const char *config_set; /* NULL: not set by the rule */
    const char *tenant;     /* tenant=: NULL when not set by the rule */
    const tags_t *tags;     /* NULL: none */
    route_t route;
    int percent; /* ROUTE_SES: share of the mail, 1..100 */
    int line;    /* in the RulesFile */
} rule_action_t;

/* One header instance offered for matching. */
typedef struct {
    const char *name;
    const char *value;
} rules_header_t;

/* What a message offers for matching; addresses without angle brackets,
 * "" for the null sender. */
typedef struct {
    const char *sender;
    const char *const *rcpts;
    size_t nrcpts;
    const rules_header_t *headers; /* only those rules_wants_header() */
    size_t nheaders;
} rules_msg_t;

typedef struct rules rules_t;

conf_status_t rules_load(const char *path, rules_t **out, char *err,
                         size_t errlen);
/* Index of the first matching rule, or -1. */
int rules_match(const rules_t *r, const rules_msg_t *m);
size_t rules_count(const rules_t *r);
const rule_action_t *rules_action(const rules_t *r, size_t i);
bool rules_have_recipient_rules(const rules_t *r);
/* True when some header rule names this header (case-insensitive). */
bool rules_wants_header(const rules_t *r, const char *name);
/* The canary: true for about percent % of queue ids, always the same
 * answer for the same id. */
bool rules_canary_pick(const char *queue_id, int percent);
uint32_t rules_hash(const char *s); /* FNV-1a, exposed for tests */
void rules_free(rules_t *r);        /* NULL is fine */

#endif
