/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf.c - the ses-milter.conf parser and configuration snapshots
 *
 * The file is opendkim style: one "Key value" per line, blank lines and lines
 * whose first non-blank character is '#' are ignored, and " #" starts a
 * trailing comment. Keys are matched case-insensitively against the table
 * generated from ses_conf_keys.h; each key may appear once.
 *
 * conf_load() builds an immutable snapshot; conf_ref()/conf_unref() count
 * its users; conf_current_set()/conf_current() hold the process-wide one.
 *
 * DIAGNOSTICS
 *   conf_load() reports the first problem as "file:line: message" (or
 *   "file: message" for whole-file problems) and returns CONF_NOFILE or
 *   CONF_INVALID. A file every user may write is refused (CONF_INVALID). Lines
 * longer than CONF_MAX_LINE, NUL bytes and files larger than CONF_MAX_FILE are
 * errors, never truncation.
 */
#include "config.h"

#include "ses_conf.h"
#include "ses_tags.h"
#include "ses_textfile.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
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
static bool conf_v_mode(const char *, char *, size_t);
static bool conf_v_url(const char *, char *, size_t);

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
    char **list; /* CT_LIST: NULL-terminated */
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

bool conf_ses_name_ok(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return n >= 1 && n <= 256;
}

bool conf_url_ok(const char *url, char *err, size_t errlen)
{
    const char *host, *end;
    char hostbuf[256];
    size_t n;

    if (str_ihas_prefix(url, "https://"))
        host = url + 8;
    else if (str_ihas_prefix(url, "http://"))
        host = url + 7;
    else {
        snprintf(err, errlen, "\"%s\" is not an http:// or https:// URL", url);
        return false;
    }
    if (*host == '[')
        end = strchr(host, ']') ? strchr(host, ']') + 1 : host + strlen(host);
    else
        end = host + strcspn(host, ":/?#");
    n = (size_t)(end - host);
    if (n == 0 || n >= sizeof(hostbuf)) {
        snprintf(err, errlen, "\"%s\" has no valid host", url);
        return false;
    }
    memcpy(hostbuf, host, n);
    hostbuf[n] = '\0';
    if (str_ihas_prefix(url, "http://") && !host_is_loopback(hostbuf)) {
        snprintf(err, errlen,
                 "plain http:// is allowed only to loopback addresses, not "
                 "\"%s\"; use https://",
                 hostbuf);
        return false;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
            snprintf(err, errlen, "URL contains a blank or non-ASCII byte");
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
    if (!conf_ses_name_ok(v) || strlen(v) > 64) {
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
        break;
    }
    if (d->validate && !d->validate(v, err, errlen))
        return false;

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
    if (c->v[k].set) {
        snprintf(err, errlen, "%s is set twice (first at line %d)",
                 keydefs[k].info.name, c->v[k].line);
        return false;
    }
    if (!value_set(c, (conf_key_t)k, val, err, errlen))
        return false;
    c->v[k].set = true;
    c->v[k].line = lineno;
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
    struct stat st;

    *out = NULL;
    if ((c = conf_new()) == NULL || (c->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        conf_unref(c);
        return CONF_INVALID;
    }
    if ((rc = textfile_each_line(path, conf_textline, c, &st, err, errlen)) !=
        CONF_OK) {
        conf_unref(c);
        return rc;
    }
    if (st.st_mode & S_IWOTH) { /* anyone could point Endpoint elsewhere */
        snprintf(err, errlen,
                 "%s: refused: the file is writable by every user (mode "
                 "%04o); chmod o-w it",
                 path, (unsigned)(st.st_mode & 07777));
        conf_unref(c);
        return CONF_INVALID;
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

const char *const *conf_list(const conf_t *c, conf_key_t k)
{
    return c->v[k].list ? (const char *const *)c->v[k].list : empty_list;
}

bool conf_is_set(const conf_t *c, conf_key_t k)
{
    return c->v[k].set;
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
        [CT_STRING] = "string",     [CT_PATH] = "path",   [CT_INT] = "integer",
        [CT_BOOL] = "boolean",      [CT_ENUM] = "choice", [CT_SIZE] = "size",
        [CT_DURATION] = "duration", [CT_LIST] = "list",
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

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static conf_t *current;

void conf_current_set(conf_t *c)
{
    conf_t *old;

    pthread_mutex_lock(&current_lock);
    old = current;
    current = c;
    pthread_mutex_unlock(&current_lock);
    conf_unref(old);
}

conf_t *conf_current(void)
{
    conf_t *c;

    pthread_mutex_lock(&current_lock);
    c = conf_ref(current);
    pthread_mutex_unlock(&current_lock);
    return c;
}
