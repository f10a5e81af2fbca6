/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tags.c - SES message tags (name/value pairs)
 *
 * Parses the two textual forms (config "n:v,n2:v2", header "n=v, n2=v2"),
 * validates names and values against SES's character rules, and keeps an
 * ordered list in which a later name replaces an earlier one.
 *
 * DIAGNOSTICS
 *   See ses_tags.h.
 */
#include "config.h"

#include "ses_tags.h"
#include "ses_util.h"

#include <ctype.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tags {
    size_t n;
    char *name[TAGS_MAX];
    char *value[TAGS_MAX];
};

bool tags_name_ok(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return n >= 1 && n <= 256;
}

tags_t *tags_new(void)
{
    return calloc(1, sizeof(tags_t));
}

int tags_set(tags_t *t, const char *name, const char *value)
{
    char *v;

    if (!tags_name_ok(name) || !tags_name_ok(value))
        return -1;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0) {
            if ((v = strdup(value)) == NULL)
                return -1;
            free(t->value[i]);
            t->value[i] = v;
            return 0;
        }
    if (t->n == TAGS_MAX)
        return -1;
    if ((t->name[t->n] = strdup(name)) == NULL)
        return -1;
    if ((t->value[t->n] = strdup(value)) == NULL) {
        free(t->name[t->n]);
        return -1;
    }
    t->n++;
    return 0;
}

int tags_parse(const char *s, char sep, tags_t **out, char *err, size_t errlen)
{
    tags_t *t = tags_new();
    const char *p = s;

    *out = NULL;
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while (*p) {
        char item[600], *eq, *name, *value;
        size_t len;

        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        len = strcspn(p, ",");
        if (len >= sizeof(item)) {
            snprintf(err, errlen, "tag \"%.40s...\" is too long", p);
            goto fail;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        p += len;
        if ((eq = strchr(item, sep)) == NULL) {
            snprintf(err, errlen, "tag \"%s\" is not name%cvalue", item, sep);
            goto fail;
        }
        *eq = '\0';
        name = str_trim(item);
        value = str_trim(eq + 1);
        if (!tags_name_ok(name) || !tags_name_ok(value)) {
            snprintf(err, errlen,
                     "tag \"%s%c%s\": names and values are 1-256 of "
                     "A-Z a-z 0-9 _ -",
                     name, sep, value);
            goto fail;
        }
        if (tags_set(t, name, value) < 0) {
            snprintf(err, errlen, "more than %d tags", TAGS_MAX);
            goto fail;
        }
    }
    *out = t;
    return 0;
fail:
    tags_free(t);
    return -1;
}

int tags_merge(tags_t *dst, const tags_t *src)
{
    for (size_t i = 0; src && i < src->n; i++)
        if (tags_set(dst, src->name[i], src->value[i]) < 0)
            return -1;
    return 0;
}

size_t tags_count(const tags_t *t)
{
    return t ? t->n : 0;
}

const char *tags_name(const tags_t *t, size_t i)
{
    return t->name[i];
}

const char *tags_value(const tags_t *t, size_t i)
{
    return t->value[i];
}

void tags_sanitize_value(const char *in, char *out, size_t outlen)
{
    size_t i;

    if (outlen == 0)
        return;
    for (i = 0; in[i] && i < outlen - 1 && i < 256; i++)
        out[i] = (isalnum((unsigned char)in[i]) || in[i] == '_' || in[i] == '-')
                     ? in[i]
                     : '-';
    out[i] = '\0';
    if (i == 0 && outlen > 1)
        str_copy(out, "unknown", outlen);
}

void tags_host(char *out, size_t outlen)
{
    char hn[256];

    if (gethostname(hn, sizeof(hn)) < 0 || hn[0] == '\0')
        str_copy(hn, "localhost", sizeof(hn));
    hn[sizeof(hn) - 1] = '\0';
    tags_sanitize_value(hn, out, outlen);
}

void tags_free(tags_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->name[i]);
        free(t->value[i]);
    }
    free(t);
}
