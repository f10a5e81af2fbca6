/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * identity.c - SES verified identities (VerifiedIdentities)
 *
 * Identities are stored lower-cased in one sorted array, so a check is a
 * binary search for the whole address and then one per domain level
 * ("a@x.mail.example.com" looks up the address, then x.mail.example.com,
 * mail.example.com, example.com, com) - at most a handful of searches
 * whatever the size of the list.
 *
 * DIAGNOSTICS
 *   See ses_identity.h.
 */
#include "config.h"

#include "ses_identity.h"
#include "ses_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IDENTITY_MAX_LEN 320

struct identity {
    size_t n;
    char **v; /* sorted, lower-case */
};

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool valid(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);

    if (n == 0 || n > IDENTITY_MAX_LEN || (at && strchr(at + 1, '@')))
        return false;
    if (at && (at == s || at[1] == '\0'))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
            *s == '<' || *s == '>' || *s == ',')
            return false;
    return true;
}

int identity_parse(const char *const *list, identity_t **out, char *err,
                   size_t errlen)
{
    identity_t *ids;
    size_t n = 0;

    *out = NULL;
    while (list[n])
        n++;
    if (n > IDENTITY_MAX) {
        snprintf(err, errlen, "more than %d identities", IDENTITY_MAX);
        return -1;
    }
    if ((ids = calloc(1, sizeof(*ids))) == NULL ||
        (ids->v = calloc(n + 1, sizeof(char *))) == NULL) {
        free(ids);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!valid(list[i])) {
            snprintf(err, errlen,
                     "\"%.80s\" is not an email address or domain identity",
                     list[i]);
            goto fail;
        }
        if ((ids->v[i] = strdup(list[i])) == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        str_lower(ids->v[i]);
        ids->n++;
    }
    qsort(ids->v, ids->n, sizeof(char *), cmp);
    *out = ids;
    return 0;
fail:
    identity_free(ids);
    return -1;
}

static bool has(const identity_t *ids, const char *key)
{
    return ids && ids->n &&
           bsearch(&key, ids->v, ids->n, sizeof(char *), cmp) != NULL;
}

bool identity_verified(const identity_t *ids, const char *addr)
{
    char buf[IDENTITY_MAX_LEN + 1];
    const char *dom;

    if (addr == NULL || str_copy(buf, addr, sizeof(buf)) >= sizeof(buf))
        return false;
    str_lower(buf);
    if ((dom = strrchr(buf, '@')) == NULL)
        return false;
    if (has(ids, buf))
        return true;
    for (dom++; *dom; dom++) {
        if (has(ids, dom))
            return true;
        if ((dom = strchr(dom, '.')) == NULL)
            break;
    }
    return false;
}

bool identity_sandbox_ok(const identity_t *ids, const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;

    if (at && strcasecmp(at + 1, "simulator.amazonses.com") == 0)
        return true;
    return identity_verified(ids, addr);
}

size_t identity_count(const identity_t *ids)
{
    return ids ? ids->n : 0;
}

void identity_free(identity_t *ids)
{
    if (ids == NULL)
        return;
    for (size_t i = 0; ids->v && i < ids->n; i++)
        free(ids->v[i]);
    free(ids->v);
    free(ids);
}
