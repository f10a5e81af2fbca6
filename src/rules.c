/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rules.c - the RulesFile: which mail gets which configuration set, SES
 * tenant, tags and route
 *
 * rules_load() parses the file once per configuration snapshot into an
 * array of rules; rules_match() walks it in order and returns the first
 * whose matcher accepts the message. Nothing is allocated while matching.
 * The canary share uses FNV-1a over the Postfix queue id: the same message
 * always lands on the same side, and ids spread evenly over 0..99.
 *
 * DIAGNOSTICS
 *   See ses_rules.h. Errors name the file and line and say what is wrong
 *   ("unknown action \"rout=ses\"", "set=... is not a valid SES name").
 */
#include "config.h"

#include "ses_rules.h"
#include "ses_tags.h"
#include "ses_textfile.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RULES_MAX_TOKEN   1024
#define RULES_MATCH_VALUE 4096 /* header bytes compared, after unfolding */

typedef enum { M_SENDER, M_RECIPIENT, M_HEADER } matcher_t;

typedef struct {
    matcher_t kind;
    char *header; /* M_HEADER: the field name */
    char *glob;
    char *set;
    char *tenant;
    tags_t *tags;
    rule_action_t action;
} rule_t;

struct rules {
    size_t n, cap;
    rule_t *v;
    char **hnames; /* distinct header names, NULL-terminated */
    size_t nhnames;
    bool have_rcpt;
};

uint32_t rules_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

bool rules_canary_pick(const char *queue_id, int percent)
{
    if (percent >= 100)
        return true;
    if (percent <= 0 || queue_id == NULL)
        return false;
    return rules_hash(queue_id) % 100 < (uint32_t)percent;
}

/* Reads one blank-separated token from *pp into out; "..." groups blanks
 * (the quotes are dropped, \" and \\ escape inside them). Returns 1 for a
 * token, 0 at the end of the line or a comment, -1 on an error. */
static int next_token(char **pp, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    char *p = *pp;
    size_t n = 0;
    bool quoted = false;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#') {
        *pp = p;
        return 0;
    }
    while (*p && (quoted || !isspace((unsigned char)*p))) {
        char c = *p++;
        if (c == '"') {
            quoted = !quoted;
            continue;
        }
        if (quoted && c == '\\' && (*p == '"' || *p == '\\'))
            c = *p++;
        if (n + 1 >= outlen) {
            snprintf(err, errlen, "word longer than %zu bytes", outlen - 1);
            return -1;
        }
        out[n++] = c;
    }
    if (quoted) {
        snprintf(err, errlen, "unbalanced double quote");
        return -1;
    }
    out[n] = '\0';
    *pp = p;
    return 1;
}

static bool header_name_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || *s == ':')
            return false;
    return true;
}

static bool parse_route(const char *v, rule_action_t *a)
{
    char *end;
    long pct;

    if (strcasecmp(v, "ses") == 0) {
        a->route = ROUTE_SES;
        a->percent = 100;
        return true;
    }
    if (strcasecmp(v, "local") == 0) {
        a->route = ROUTE_LOCAL;
        return true;
    }
    if (strncasecmp(v, "ses:", 4) != 0 || !isdigit((unsigned char)v[4]))
        return false;
    errno = 0;
    pct = strtol(v + 4, &end, 10);
    if (errno || strcmp(end, "%") != 0 || pct < 1 || pct > 100)
        return false;
    a->route = ROUTE_SES;
    a->percent = (int)pct;
    return true;
}

static bool add_hname(rules_t *r, const char *name)
{
    char **nv;

    for (size_t i = 0; i < r->nhnames; i++)
        if (strcasecmp(r->hnames[i], name) == 0)
            return true;
    if ((nv = realloc(r->hnames, (r->nhnames + 2) * sizeof(char *))) == NULL)
        return false;
    r->hnames = nv;
    if ((nv[r->nhnames] = strdup(name)) == NULL)
        return false;
    nv[++r->nhnames] = NULL;
    return true;
}

static void rule_clear(rule_t *ru)
{
    free(ru->header);
    free(ru->glob);
    free(ru->set);
    free(ru->tenant);
    tags_free(ru->tags);
}

/* set=NAME and tenant=NAME: an SES name (1-64 of A-Z a-z 0-9 _ -). */
static bool name_action(const char *what, const char *val, char **out,
                        char *err, size_t errlen)
{
    if (!tags_name_ok(val) || strlen(val) > 64) {
        snprintf(err, errlen,
                 "%s=%.64s is not a valid SES %s name (1-64 of A-Z a-z 0-9 _ "
                 "-)",
                 what, val,
                 strcmp(what, "set") == 0 ? "configuration set" : "tenant");
        return false;
    }
    if ((*out = strdup(val)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    return true;
}

/* Parses one rule line into ru; false with a message in err. */
static bool parse_line(char *line, rule_t *ru, char *err, size_t errlen)
{
    char tok[RULES_MAX_TOKEN], *p = line;
    bool have_set = false, have_tags = false, have_route = false;
    bool have_tenant = false;
    int t;

    if ((t = next_token(&p, tok, sizeof(tok), err, errlen)) <= 0)
        return t == 0; /* empty or comment: caller skips (kind unset) */
    if (strcasecmp(tok, "sender") == 0)
        ru->kind = M_SENDER;
    else if (strcasecmp(tok, "recipient") == 0)
        ru->kind = M_RECIPIENT;
    else if (strcasecmp(tok, "header") == 0)
        ru->kind = M_HEADER;
    else {
        snprintf(err, errlen,
                 "unknown matcher \"%.64s\" (sender, recipient or header)",
                 tok);
        return false;
    }
    if ((t = next_token(&p, tok, sizeof(tok), err, errlen)) < 0)
        return false;
    if (t == 0) {
        snprintf(err, errlen, "%s needs a pattern",
                 ru->kind == M_HEADER ? "header" : "address rule");
        return false;
    }
    if (ru->kind == M_HEADER) {
        char *colon = strchr(tok, ':');
        if (colon == NULL || colon[1] == '\0') {
            snprintf(err, errlen, "header rule needs NAME:GLOB, not \"%.64s\"",
                     tok);
            return false;
        }
        *colon = '\0';
        if (!header_name_ok(tok)) {
            snprintf(err, errlen, "\"%.64s\" is not a header name", tok);
            return false;
        }
        if ((ru->header = strdup(tok)) == NULL ||
            (ru->glob = strdup(colon + 1)) == NULL)
            goto oom;
    } else {
        if (strcmp(tok, "<>") != 0 && strchr(tok, '@') == NULL) {
            snprintf(err, errlen,
                     "address pattern \"%.64s\" has no '@' (write "
                     "*@example.com for a domain, <> for the null sender)",
                     tok);
            return false;
        }
        if ((ru->glob = strdup(strcmp(tok, "<>") == 0 ? "" : tok)) == NULL)
            goto oom;
    }
    while ((t = next_token(&p, tok, sizeof(tok), err, errlen)) > 0) {
        char *eq = strchr(tok, '='), *val;
        if (eq == NULL || eq[1] == '\0') {
            snprintf(err, errlen,
                     "\"%.64s\" is not an action (set=, tenant=, tags=, "
                     "route=)",
                     tok);
            return false;
        }
        *eq = '\0';
        val = eq + 1;
        if (strcasecmp(tok, "set") == 0 && !have_set) {
            if (!name_action("set", val, &ru->set, err, errlen))
                return false;
            have_set = true;
        } else if (strcasecmp(tok, "tenant") == 0 && !have_tenant) {
            if (!name_action("tenant", val, &ru->tenant, err, errlen))
                return false;
            have_tenant = true;
        } else if (strcasecmp(tok, "tags") == 0 && !have_tags) {
            char terr[256];
            if (tags_parse(val, ':', &ru->tags, terr, sizeof(terr)) < 0) {
                snprintf(err, errlen, "tags=: %s", terr);
                return false;
            }
            have_tags = true;
        } else if (strcasecmp(tok, "route") == 0 && !have_route) {
            if (!parse_route(val, &ru->action)) {
                snprintf(err, errlen,
                         "route=%.64s: use ses, ses:N%% (N 1-100) or local",
                         val);
                return false;
            }
            have_route = true;
        } else if (strcasecmp(tok, "set") == 0 ||
                   strcasecmp(tok, "tenant") == 0 ||
                   strcasecmp(tok, "tags") == 0 ||
                   strcasecmp(tok, "route") == 0) {
            snprintf(err, errlen, "%s= is given twice", tok);
            return false;
        } else {
            snprintf(err, errlen, "unknown action \"%.64s=\"", tok);
            return false;
        }
    }
    if (t < 0)
        return false;
    if (!have_set && !have_tenant && !have_tags && !have_route) {
        snprintf(err, errlen,
                 "rule has no action (set=, tenant=, tags= or route=)");
        return false;
    }
    ru->action.config_set = ru->set;
    ru->action.tenant = ru->tenant;
    ru->action.tags = ru->tags;
    return true;
oom:
    snprintf(err, errlen, "out of memory");
    return false;
}

/* textfile_each_line() callback: one line of the RulesFile. */
static bool rules_line(void *ctx, char *line, int lineno, char *msg,
                       size_t msglen)
{
    rules_t *r = ctx;
    rule_t ru = {0};

    ru.kind = (matcher_t)-1;
    if (!parse_line(line, &ru, msg, msglen))
        goto fail;
    if (ru.kind == (matcher_t)-1)
        return true; /* blank or comment */
    if (r->n == RULES_MAX) {
        snprintf(msg, msglen, "more than %d rules", RULES_MAX);
        goto fail;
    }
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        rule_t *nv = realloc(r->v, nc * sizeof(rule_t));
        if (nv == NULL)
            goto oom;
        r->v = nv;
        r->cap = nc;
    }
    if (ru.kind == M_HEADER && !add_hname(r, ru.header))
        goto oom;
    if (ru.kind == M_RECIPIENT)
        r->have_rcpt = true;
    ru.action.line = lineno;
    r->v[r->n++] = ru;
    return true;
oom:
    snprintf(msg, msglen, "out of memory");
fail:
    rule_clear(&ru);
    return false;
}

conf_status_t rules_load(const char *path, rules_t **out, char *err,
                         size_t errlen)
{
    rules_t *r;
    conf_status_t rc;

    *out = NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return CONF_INVALID;
    }
    rc = textfile_each_line(path, rules_line, r, NULL, err, errlen);
    if (rc != CONF_OK) {
        rules_free(r);
        return rc;
    }
    /* The action pointers refer into each rule: set them once the array
     * stopped moving. */
    for (size_t i = 0; i < r->n; i++) {
        r->v[i].action.config_set = r->v[i].set;
        r->v[i].action.tenant = r->v[i].tenant;
        r->v[i].action.tags = r->v[i].tags;
    }
    *out = r;
    return CONF_OK;
}

/* Copies a header value without line folding and leading blanks. */
static void unfold(const char *v, char *out, size_t outlen)
{
    size_t n = 0;

    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    for (; *v && n + 1 < outlen; v++)
        if (*v != '\r' && *v != '\n')
            out[n++] = *v;
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
}

static bool rule_matches(const rule_t *ru, const rules_msg_t *m)
{
    switch (ru->kind) {
    case M_SENDER:
        return str_glob(ru->glob, m->sender ? m->sender : "");
    case M_RECIPIENT:
        for (size_t i = 0; i < m->nrcpts; i++)
            if (str_glob(ru->glob, m->rcpts[i]))
                return true;
        return false;
    case M_HEADER:
        for (size_t i = 0; i < m->nheaders; i++) {
            char v[RULES_MATCH_VALUE];
            if (strcasecmp(m->headers[i].name, ru->header) != 0)
                continue;
            unfold(m->headers[i].value, v, sizeof(v));
            if (str_glob(ru->glob, v))
                return true;
        }
        return false;
    }
    return false;
}

int rules_match(const rules_t *r, const rules_msg_t *m)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (rule_matches(&r->v[i], m))
            return (int)i;
    return -1;
}

size_t rules_count(const rules_t *r)
{
    return r ? r->n : 0;
}

const rule_action_t *rules_action(const rules_t *r, size_t i)
{
    return r && i < r->n ? &r->v[i].action : NULL;
}

bool rules_have_recipient_rules(const rules_t *r)
{
    return r && r->have_rcpt;
}

bool rules_wants_header(const rules_t *r, const char *name)
{
    for (size_t i = 0; r && i < r->nhnames; i++)
        if (strcasecmp(r->hnames[i], name) == 0)
            return true;
    return false;
}

void rules_free(rules_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        rule_clear(&r->v[i]);
    free(r->v);
    for (size_t i = 0; i < r->nhnames; i++)
        free(r->hnames[i]);
    free(r->hnames);
    free(r);
}
