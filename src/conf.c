/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf.c - the ses-milter.conf parser and configuration snapshots
 *
 * The file is opendkim style: one "Key value" per line, blank lines and lines
 * whose first non-blank character is '#' are ignored, and " #" starts a
 * trailing comment. Keys are matched case-insensitively against the table
 * generated from ses_conf_keys.h; each key may appear once, except the
 * CT_MAP keys (RegionEndpoint REGION URL), once per name. After the last
 * line, conf_combinations() checks what one key alone cannot (EndpointId
 * needs ApiVersion v2, a FailoverRegion is not the primary Region, ...).
 *
 * conf_load() builds an immutable snapshot; conf_ref()/conf_unref() count
 * its users (and serve a holder, conf_holder_ops).
 *
 * DIAGNOSTICS
 *   conf_load() reads the whole file and reports every problem, one
 *   "file:line: message" per line of err (or "file: message" for a
 *   whole-file problem), then refuses the file: CONF_NOFILE or
 *   CONF_INVALID. A file every user may write is refused (CONF_INVALID).
 *   Lines longer than CONF_MAX_LINE, NUL bytes and files larger than
 *   CONF_MAX_FILE are errors, never truncation.
 */
#include "config.h"

#include "ses_conf.h"
#include "ses_addr.h"
#include "ses_url.h"
#include "ses_tags.h"
#include "ses_textfile.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef bool (*conf_validator_t)(const char *value, char *err, size_t errlen);

static bool conf_v_region(const char *, char *, size_t);
static bool conf_v_endpoint(const char *, char *, size_t);
static bool conf_v_ses_name(const char *, char *, size_t);
static bool conf_v_tags(const char *, char *, size_t);
static bool conf_v_arn(const char *, char *, size_t);
static bool conf_v_socket(const char *, char *, size_t);
static bool conf_v_local_socket(const char *, char *, size_t);
static bool conf_v_mode(const char *, char *, size_t);
static bool conf_v_url(const char *, char *, size_t);
static bool conf_v_endpoint_id(const char *, char *, size_t);
static bool conf_v_regions(const char *, char *, size_t);
static bool conf_v_region_url(const char *, char *, size_t);
static bool conf_v_arns(const char *, char *, size_t);
static bool conf_v_sns_topics(const char *, char *, size_t);
static char **split_list(const char *s);
static void list_free(char **list);
static bool conf_v_address(const char *, char *, size_t);

typedef struct {
    conf_keyinfo_t info;
    conf_validator_t validate;
} conf_keydef_t;

static const conf_keydef_t keydefs[CK__COUNT] = {
#define CONF_KEY(id, name, type, def, cons, val, doc)                          \
    [CK_##id] = {{name, type, def, cons, doc}, val},
#include "ses_conf_keys.h"
#undef CONF_KEY
};

typedef struct {
    char *s;     /* the value as written (or the default) */
    long long n; /* numeric types and booleans */
    char **list; /* CT_LIST: NULL-terminated; CT_MAP: name, value, ... */
    bool set;    /* given in the file */
    int line;
} conf_value_t;

struct conf {
    atomic_int refs;
    char *path;
    conf_value_t v[CK__COUNT];
};

static const char *const empty_list[] = {NULL};

/* ---- validators ---- */

bool conf_url_ok(const char *url, char *err, size_t errlen)
{
    url_t u;

    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
            snprintf(err, errlen, "URL contains a blank or non-ASCII byte");
            return false;
        }
    if (url_parse(url, &u, err, errlen) < 0)
        return false;
    /* user:password@ has no use here, and is how a URL's host is made to
     * look like another ("http://127.0.0.1:80@evil.example/") */
    if (u.userinfo) {
        snprintf(err, errlen,
                 "the URL has a user name or password before its host \"%s\" "
                 "(user:password@%s); write it without",
                 u.host, u.host);
        return false;
    }
    if (!u.https && !url_is_loopback(&u)) {
        snprintf(err, errlen,
                 "plain http:// is allowed only to loopback addresses, not "
                 "\"%s\"; use https://",
                 u.host);
        return false;
    }
    return true;
}

static bool conf_v_region(const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);

    for (const char *p = v; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
            *p != '-') {
            snprintf(err, errlen,
                     "region \"%s\" must be lower-case letters, digits and "
                     "dashes, like eu-west-1",
                     v);
            return false;
        }
    if (n < 3 || n > 64) {
        snprintf(err, errlen, "region \"%s\" has an implausible length", v);
        return false;
    }
    return true;
}

static bool conf_v_endpoint(const char *v, char *err, size_t errlen)
{
    return conf_url_ok(v, err, errlen);
}

static bool conf_v_url(const char *v, char *err, size_t errlen)
{
    return conf_url_ok(v, err, errlen);
}

static bool conf_v_ses_name(const char *v, char *err, size_t errlen)
{
    if (!tags_name_ok(v) || strlen(v) > 64) {
        snprintf(err, errlen,
                 "\"%s\" is not a valid SES name (1-64 of A-Z a-z 0-9 _ -)", v);
        return false;
    }
    return true;
}

static bool conf_v_tags(const char *v, char *err, size_t errlen)
{
    tags_t *t = NULL;
    bool ok = tags_parse(v, ':', &t, err, errlen) == 0;

    tags_free(t);
    return ok;
}

static bool conf_v_arn(const char *v, char *err, size_t errlen)
{
    if (!str_has_prefix(v, "arn:") || strlen(v) > 2048 || strchr(v, ' ')) {
        snprintf(err, errlen, "\"%s\" is not an ARN (arn:aws:ses:...)", v);
        return false;
    }
    return true;
}

/* "arn:PARTITION:SERVICE:REGION:..." -> REGION ("*" for every region),
 * or false when s has fewer fields. */
bool conf_arn_region(const char *arn, char *region, size_t regionlen)
{
    const char *p = arn;
    size_t n;

    for (int i = 0; i < 3; i++)
        if ((p = strchr(p, ':')) == NULL)
            return false;
        else
            p++;
    n = strcspn(p, ":");
    if (p[n] != ':' || n >= regionlen)
        return false;
    memcpy(region, p, n);
    region[n] = '\0';
    return true;
}

/* FromArn, SourceArn, ReturnPathArn: ARNs with at most one per region. */
static bool conf_v_arns(const char *v, char *err, size_t errlen)
{
    char **l = split_list(v), r1[64], r2[64];
    bool ok = l != NULL;

    for (size_t i = 0; ok && l[i]; i++) {
        if (!conf_v_arn(l[i], err, errlen))
            ok = false;
        else if (!conf_arn_region(l[i], r1, sizeof(r1)) ||
                 (strcmp(r1, "*") != 0 && *r1 &&
                  !conf_v_region(r1, err, errlen))) {
            snprintf(err, errlen,
                     "\"%.200s\" is not arn:aws:ses:REGION:ACCOUNT:identity/"
                     "NAME (REGION * for the global endpoint)",
                     l[i]);
            ok = false;
        }
        for (size_t j = 0; ok && j < i; j++)
            if (conf_arn_region(l[j], r2, sizeof(r2)) && strcmp(r1, r2) == 0) {
                snprintf(err, errlen,
                         "two ARNs for region %s: give one per region", r1);
                ok = false;
            }
    }
    if (l == NULL)
        snprintf(err, errlen, "out of memory");
    list_free(l);
    return ok;
}

/* SnsTopicArn: SNS topic ARNs, arn:PARTITION:sns:REGION:ACCOUNT:NAME. */
static bool conf_v_sns_topics(const char *v, char *err, size_t errlen)
{
    char **l = split_list(v), region[64];
    bool ok = l != NULL;

    for (size_t i = 0; ok && l[i]; i++) {
        const char *svc =
            strchr(l[i], ':') ? strchr(strchr(l[i], ':') + 1, ':') : NULL;
        if (!str_has_prefix(l[i], "arn:") || svc == NULL ||
            !str_has_prefix(svc, ":sns:") ||
            !conf_arn_region(l[i], region, sizeof(region)) ||
            !conf_v_region(region, err, errlen) ||
            strchr(svc + 5 + strlen(region) + 1, ':') == NULL) {
            snprintf(err, errlen,
                     "\"%.200s\" is not an SNS topic ARN "
                     "(arn:aws:sns:REGION:ACCOUNT:NAME)",
                     l[i]);
            ok = false;
        }
    }
    if (l == NULL)
        snprintf(err, errlen, "out of memory");
    list_free(l);
    return ok;
}

/* A global endpoint id: the first labels of ID.endpoints.email.amazonaws.com */
static bool conf_v_endpoint_id(const char *v, char *err, size_t errlen)
{
    size_t label = 0, n = strlen(v);

    for (const char *p = v; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                break;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-')
            break;
        if (++label > 63)
            break;
    }
    if (n == 0 || n > 128 || label == 0 ||
        strspn(v, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-.") != n) {
        snprintf(err, errlen,
                 "\"%.128s\" is not a multi-region endpoint id (letters, "
                 "digits, '-' and '.', as GetMultiRegionEndpoint shows it)",
                 v);
        return false;
    }
    return true;
}

/* An address SES will be given as it is: a wrong one would make SES
 * refuse every message ("Missing final '@domain'"), which must be a
 * configuration error (mail deferred), never a bounce. */
static bool conf_v_address(const char *v, char *err, size_t errlen)
{
    char key[ADDR_MAX_LEN + 1];

    if (!addr_safe(v) || addr_key(v, key, sizeof(key)) != ADDR_OK) {
        snprintf(err, errlen, "\"%s\" is not an email address", v);
        return false;
    }
    return true;
}

/* FailoverRegion: regions, each once. */
static bool conf_v_regions(const char *v, char *err, size_t errlen)
{
    char **l = split_list(v);
    bool ok = l != NULL;

    for (size_t i = 0; ok && l[i]; i++) {
        ok = conf_v_region(l[i], err, errlen);
        for (size_t j = 0; ok && j < i; j++)
            if (strcmp(l[i], l[j]) == 0) {
                snprintf(err, errlen, "region %s is listed twice", l[i]);
                ok = false;
            }
    }
    if (l == NULL)
        snprintf(err, errlen, "out of memory");
    list_free(l);
    return ok;
}

/* RegionEndpoint: "REGION URL". */
static bool conf_v_region_url(const char *v, char *err, size_t errlen)
{
    char region[80];
    size_t n = strcspn(v, " \t");
    const char *url = v + n + strspn(v + n, " \t");

    if (n == 0 || n >= sizeof(region) || *url == '\0' ||
        url[strcspn(url, " \t")] != '\0') {
        snprintf(err, errlen, "RegionEndpoint needs REGION URL, not \"%.200s\"",
                 v);
        return false;
    }
    memcpy(region, v, n);
    region[n] = '\0';
    return conf_v_region(region, err, errlen) && conf_url_ok(url, err, errlen);
}

static bool conf_v_socket(const char *v, char *err, size_t errlen)
{
    const char *at;
    char *end;
    long port;

    if (str_has_prefix(v, "unix:") || str_has_prefix(v, "local:")) {
        const char *path = strchr(v, ':') + 1;
        if (*path != '/' || strlen(path) >= 108) {
            snprintf(err, errlen,
                     "socket path must be absolute and shorter than 108 bytes");
            return false;
        }
        return true;
    }
    if (str_has_prefix(v, "inet:") || str_has_prefix(v, "inet6:")) {
        const char *p = strchr(v, ':') + 1;
        port = strtol(p, &end, 10);
        at = strchr(p, '@');
        if (end == p || port < 1 || port > 65535 || (*end && *end != '@') ||
            (at && at[1] == '\0')) {
            snprintf(err, errlen, "\"%s\" is not inet:PORT[@ADDRESS]", v);
            return false;
        }
        return true;
    }
    snprintf(err, errlen,
             "\"%s\" is not unix:PATH, local:PATH or inet:PORT@ADDRESS", v);
    return false;
}

/* A socket only this host can reach: what it serves has no
 * authentication of its own (the LMTP relay, the metrics endpoint). */
static bool conf_v_local_socket(const char *v, char *err, size_t errlen)
{
    if (!conf_v_socket(v, err, errlen))
        return false;
    if (!sockspec_is_local(v)) {
        snprintf(err, errlen,
                 "\"%s\": inet sockets are allowed only on loopback "
                 "addresses (127.0.0.1, ::1): whoever can connect is not "
                 "asked who they are",
                 v);
        return false;
    }
    return true;
}

static bool conf_v_mode(const char *v, char *err, size_t errlen)
{
    char *end;
    long m = strtol(v, &end, 8);

    if (*v == '\0' || *end || m < 0 || m > 0777) {
        snprintf(err, errlen, "\"%s\" is not an octal mode like 0660", v);
        return false;
    }
    return true;
}

/* ---- typed values ---- */

static int parse_bool(const char *s)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (str_iequal(s, yes[i]))
            return 1;
        if (str_iequal(s, no[i]))
            return 0;
    }
    return -1;
}

static bool enum_has(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncasecmp(p, v, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static void list_free(char **list)
{
    for (char **l = list; l && *l; l++)
        free(*l);
    free(list);
}

static char **split_list(const char *s)
{
    size_t cap = 4, n = 0;
    char **list = calloc(cap + 1, sizeof(*list));
    const char *p = s;

    if (list == NULL)
        return NULL;
    for (;;) {
        size_t len;
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        len = strcspn(p, ", \t");
        if (n == cap) {
            char **nl = realloc(list, (cap * 2 + 1) * sizeof(*list));
            if (nl == NULL)
                goto fail;
            list = nl;
            cap *= 2;
        }
        if ((list[n] = strndup(p, len)) == NULL)
            goto fail;
        list[++n] = NULL;
        p += len;
    }
    return list;
fail:
    list_free(list);
    return NULL;
}

/* CT_MAP: adds "NAME VALUE" (checked by the key's validator) to the key's
 * list as two entries; a NAME given twice is an error. */
static bool map_add(conf_t *c, conf_key_t k, const char *v, char *err,
                    size_t errlen)
{
    conf_value_t *cv = &c->v[k];
    size_t n = 0, nl = strcspn(v, " \t");
    const char *val = v + nl + strspn(v + nl, " \t");
    char **l;

    while (cv->list && cv->list[n])
        n += 2;
    for (size_t i = 0; i < n; i += 2)
        if (strlen(cv->list[i]) == nl && strncmp(cv->list[i], v, nl) == 0) {
            snprintf(err, errlen, "%s %s is given twice", keydefs[k].info.name,
                     cv->list[i]);
            return false;
        }
    if ((l = realloc(cv->list, (n + 3) * sizeof(*l))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    cv->list = l;
    l[n] = strndup(v, nl);
    l[n + 1] = strdup(val);
    l[n + 2] = NULL;
    if (l[n] == NULL || l[n + 1] == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    free(cv->s);
    cv->s = strdup(v); /* the last line, for conf_str() */
    return cv->s != NULL;
}

/* Sets c->v[k] from the string v; false with a message when it is bad. */
static bool value_set(conf_t *c, conf_key_t k, const char *v, char *err,
                      size_t errlen)
{
    const conf_keydef_t *d = &keydefs[k];
    conf_value_t *cv = &c->v[k];
    long long n = 0;

    switch (d->info.type) {
    case CT_STRING:
    case CT_PATH:
        if (d->info.type == CT_PATH && *v != '/') {
            snprintf(err, errlen, "%s needs an absolute path, not \"%s\"",
                     d->info.name, v);
            return false;
        }
        break;
    case CT_BOOL:
        if ((n = parse_bool(v)) < 0) {
            snprintf(err, errlen, "%s must be yes or no, not \"%s\"",
                     d->info.name, v);
            return false;
        }
        break;
    case CT_ENUM:
        if (!enum_has(d->info.constraint, v)) {
            snprintf(err, errlen, "%s must be one of %s, not \"%s\"",
                     d->info.name, d->info.constraint, v);
            return false;
        }
        break;
    case CT_INT:
    case CT_SIZE:
    case CT_DURATION: {
        long long lo = 0, hi = 0;
        if (d->info.type == CT_INT) {
            char *end;
            errno = 0;
            n = strtoll(v, &end, 10);
            if (errno || end == v || *end)
                n = -1;
        } else if (d->info.type == CT_SIZE)
            n = parse_size(v);
        else
            n = parse_duration(v);
        if (n < 0) {
            snprintf(err, errlen, "%s: \"%s\" is not a valid %s", d->info.name,
                     v, conf_type_name(d->info.type));
            return false;
        }
        if (d->info.constraint &&
            sscanf(d->info.constraint, "%lld..%lld", &lo, &hi) == 2 &&
            (n < lo || n > hi)) {
            snprintf(err, errlen, "%s: \"%s\" is out of range (%s%s)",
                     d->info.name, v, d->info.constraint,
                     d->info.type == CT_DURATION ? " milliseconds"
                     : d->info.type == CT_SIZE   ? " bytes"
                                                 : "");
            return false;
        }
        break;
    }
    case CT_LIST:
    case CT_MAP:
        break;
    }
    if (d->validate && !d->validate(v, err, errlen))
        return false;
    if (d->info.type == CT_MAP)
        return map_add(c, k, v, err, errlen);

    free(cv->s);
    if ((cv->s = strdup(v)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    cv->n = n;
    if (d->info.type == CT_LIST) {
        char **l = split_list(v);
        if (l == NULL) {
            snprintf(err, errlen, "out of memory");
            return false;
        }
        list_free(cv->list); /* the default's, when the file sets it */
        cv->list = l;
    }
    return true;
}

static conf_t *conf_new(void)
{
    conf_t *c = calloc(1, sizeof(*c));
    char err[256];

    if (c == NULL)
        return NULL;
    atomic_init(&c->refs, 1);
    for (int k = 0; k < CK__COUNT; k++) {
        if (keydefs[k].info.def == NULL)
            continue;
        if (!value_set(c, (conf_key_t)k, keydefs[k].info.def, err,
                       sizeof(err))) {
            conf_unref(c); /* a bad default: caught by the unit tests */
            return NULL;
        }
    }
    return c;
}

conf_t *conf_defaults(void)
{
    return conf_new();
}

int conf_key_by_name(const char *name)
{
    for (int k = 0; k < CK__COUNT; k++)
        if (str_iequal(keydefs[k].info.name, name))
            return k;
    return -1;
}

/* Handles one line; false with "message" in err on a problem. */
static bool conf_line(conf_t *c, char *line, int lineno, char *err,
                      size_t errlen)
{
    char *p = str_trim(line), *key, *val, *hash;
    int k;

    if (*p == '\0' || *p == '#')
        return true;
    for (hash = p; (hash = strchr(hash, '#')) != NULL; hash++)
        if (isspace((unsigned char)hash[-1])) {
            *hash = '\0';
            break;
        }
    key = p;
    val = p + strcspn(p, " \t");
    if (*val)
        *val++ = '\0';
    val = str_trim(val);
    if ((k = conf_key_by_name(key)) < 0) {
        snprintf(err, errlen, "unknown key \"%.64s\"", key);
        return false;
    }
    if (*val == '\0') {
        snprintf(err, errlen, "%s needs a value", keydefs[k].info.name);
        return false;
    }
    if (c->v[k].set && keydefs[k].info.type != CT_MAP) {
        snprintf(err, errlen, "%s is set twice (first at line %d)",
                 keydefs[k].info.name, c->v[k].line);
        return false;
    }
    if (!value_set(c, (conf_key_t)k, val, err, errlen))
        return false;
    if (!c->v[k].set)
        c->v[k].line = lineno;
    c->v[k].set = true;
    return true;
}

/* What one key alone cannot tell; "LINE: message" of the key at fault. */
static bool conf_combinations(const conf_t *c, int *line, char *err,
                              size_t errlen)
{
    const char *region = c->v[CK_REGION].s;
    const char *const *fail = conf_list(c, CK_FAILOVER_REGION);

    if (c->v[CK_ENDPOINT_ID].set && conf_is(c, CK_API_VERSION, "v1")) {
        *line = c->v[CK_ENDPOINT_ID].line;
        snprintf(err, errlen,
                 "EndpointId needs ApiVersion v2: the global endpoint is a "
                 "SESv2 feature (ApiVersion v1 is set at line %d)",
                 c->v[CK_API_VERSION].line);
        return false;
    }
    for (size_t i = 0; region && fail[i]; i++)
        if (strcmp(fail[i], region) == 0) {
            *line = c->v[CK_FAILOVER_REGION].line;
            snprintf(err, errlen,
                     "FailoverRegion %s is the primary Region itself", region);
            return false;
        }
    if (c->v[CK_TENANT_NAME].set && conf_is(c, CK_API_VERSION, "v1")) {
        *line = c->v[CK_TENANT_NAME].line;
        snprintf(err, errlen,
                 "TenantName needs ApiVersion v2: SES v1 SendRawEmail has no "
                 "tenant parameter (ApiVersion v1 is set at line %d)",
                 c->v[CK_API_VERSION].line);
        return false;
    }
    return true;
}

/* textfile_each_line() callback: one line of the configuration file. */
static bool conf_textline(void *ctx, char *line, int lineno, char *msg,
                          size_t msglen)
{
    for (char *q = line; *q; q++)
        if ((unsigned char)*q < 0x20 && *q != '\t') {
            snprintf(msg, msglen, "control character 0x%02x",
                     (unsigned char)*q);
            return false;
        }
    return conf_line(ctx, line, lineno, msg, msglen);
}

conf_status_t conf_load(const char *path, conf_t **out, char *err,
                        size_t errlen)
{
    conf_t *c;
    conf_status_t rc;

    *out = NULL;
    if ((c = conf_new()) == NULL || (c->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        conf_unref(c);
        return CONF_INVALID;
    }
    /* textfile_each_line() refuses a file others can change: anyone could
     * point Endpoint elsewhere */
    rc = textfile_each_line(path, conf_textline, c, NULL, err, errlen);
    if (rc == CONF_OK) { /* what one line alone cannot say */
        int line = 0;
        char msg[512];
        if (!conf_combinations(c, &line, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: %s", path, line, msg);
            rc = CONF_INVALID;
        }
    }
    if (rc != CONF_OK) {
        conf_unref(c);
        return rc;
    }
    *out = c;
    return CONF_OK;
}

const char *conf_str(const conf_t *c, conf_key_t k)
{
    return c->v[k].s;
}

long long conf_int(const conf_t *c, conf_key_t k)
{
    return c->v[k].n;
}

bool conf_bool(const conf_t *c, conf_key_t k)
{
    return c->v[k].n != 0;
}

const char *conf_map_get(const conf_t *c, conf_key_t k, const char *name)
{
    const char *const *l = conf_list(c, k);

    for (size_t i = 0; l[i] && l[i + 1]; i += 2)
        if (strcmp(l[i], name) == 0)
            return l[i + 1];
    return NULL;
}

const char *const *conf_list(const conf_t *c, conf_key_t k)
{
    return c->v[k].list ? (const char *const *)c->v[k].list : empty_list;
}

bool conf_is_set(const conf_t *c, conf_key_t k)
{
    return c->v[k].set;
}

int conf_key_line(const conf_t *c, conf_key_t k)
{
    return c->v[k].set ? c->v[k].line : 0;
}

bool conf_is(const conf_t *c, conf_key_t k, const char *value)
{
    return c->v[k].s && str_iequal(c->v[k].s, value);
}

const char *conf_path(const conf_t *c)
{
    return c->path ? c->path : "(defaults)";
}

const conf_keyinfo_t *conf_keyinfo(conf_key_t k)
{
    return (unsigned)k < CK__COUNT ? &keydefs[k].info : NULL;
}

const char *conf_type_name(conf_type_t t)
{
    static const char *const names[] = {
        [CT_STRING] = "string",     [CT_PATH] = "path",
        [CT_INT] = "integer",       [CT_BOOL] = "boolean",
        [CT_ENUM] = "choice",       [CT_SIZE] = "size",
        [CT_DURATION] = "duration", [CT_LIST] = "list",
        [CT_MAP] = "name value",
    };
    return names[t];
}

conf_t *conf_ref(conf_t *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void conf_unref(conf_t *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (int k = 0; k < CK__COUNT; k++) {
        free(c->v[k].s);
        list_free(c->v[k].list);
    }
    free(c->path);
    free(c);
}

static void holder_ref_conf(void *c)
{
    conf_ref(c);
}

static void holder_unref_conf(void *c)
{
    conf_unref(c);
}

const holder_ops_t conf_holder_ops = {holder_ref_conf, holder_unref_conf};
