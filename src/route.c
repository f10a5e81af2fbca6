/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * route.c - where SES calls go: the primary endpoint and the failover
 * regions
 *
 * routes_new() builds the ordered route list from Region/EndpointId,
 * Endpoint, FailoverRegion and RegionEndpoint, with each route's identity
 * ARNs; route_fails_over() is the rule for moving on to the next route;
 * routes_check() and routes_outcome() keep each region's failover breaker
 * (breaker.c, scope BREAKER_REGION). See ses_route.h.
 *
 * DIAGNOSTICS
 *   routes_new() returns NULL and says why in err; nothing here logs.
 */
#include "config.h"

#include "ses_route.h"
#include "ses_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct routes {
    size_t n;
    ses_route_t r[ROUTES_MAX];
    char id[128]; /* EndpointId, "" for none */
    hoststate_t *hs;
    breaker_policy_t policy;
};

static const struct {
    conf_key_t key;
    size_t off;
} arn_keys[] = {
    {CK_FROM_ARN, offsetof(ses_route_t, from_arn)},
    {CK_SOURCE_ARN, offsetof(ses_route_t, source_arn)},
    {CK_RETURN_PATH_ARN, offsetof(ses_route_t, return_path_arn)},
};

const char *route_arn(const conf_t *conf, conf_key_t key, const char *region)
{
    const char *const *l = conf_list(conf, key);
    char r[64];

    for (size_t i = 0; l[i]; i++)
        if (conf_arn_region(l[i], r, sizeof(r)) && strcmp(r, region) == 0)
            return l[i];
    return NULL;
}

bool route_fails_over(status_t st)
{
    switch (st) {
    case ST_TEMP_SERVER:
    case ST_TEMP_TIMEOUT:
    case ST_TEMP_CONNECT:
    case ST_TEMP_RESET:
    case ST_TEMP_DNS:
    case ST_TEMP_TLS:
        return true;
    default:
        return false;
    }
}

/* Fills route i: name, region, URL, ARNs, and its aws_service_t. */
static int route_add(routes_t *rs, const conf_t *conf, const char *name,
                     const char *region, const char *scope, const char *url,
                     const char *region_set, creds_provider_t *creds,
                     ratelimit_t *rate, char *err, size_t errlen)
{
    ses_route_t *r = &rs->r[rs->n];
    aws_service_config_t cfg = {.name = "SES",
                                .signing_name = "ses",
                                .region = region,
                                .endpoint = url,
                                .creds = creds,
                                .retry_time_ms = conf_int(conf, CK_RETRY_TIME),
                                .rate = rate,
                                .region_set = region_set};
    char e[512];

    if (rs->n == ROUTES_MAX) {
        snprintf(err, errlen, "more than %d regions to send to", ROUTES_MAX);
        return -1;
    }
    str_copy(r->name, name, sizeof(r->name));
    str_copy(r->region, region_set ? region_set : region, sizeof(r->region));
    str_copy(r->scope, scope, sizeof(r->scope));
    for (size_t i = 0; i < ARRAY_SIZE(arn_keys); i++) {
        const char *arn = route_arn(conf, arn_keys[i].key, r->region);
        if (arn == NULL && conf_list(conf, arn_keys[i].key)[0]) {
            snprintf(err, errlen,
                     "%s has no ARN for %s (arn:aws:ses:%s:ACCOUNT:identity/"
                     "NAME): give one per region sent to",
                     conf_keyinfo(arn_keys[i].key)->name, r->name, r->region);
            return -1;
        }
        *(const char **)((char *)r + arn_keys[i].off) = arn;
    }
    if ((r->aws = aws_service_new(&cfg, e, sizeof(e))) == NULL) {
        snprintf(err, errlen, "%s: %s", name, e);
        return -1;
    }
    rs->n++;
    return 0;
}

routes_t *routes_new(const conf_t *conf, creds_provider_t *creds,
                     ratelimit_t *rate, char *err, size_t errlen)
{
    routes_t *rs = calloc(1, sizeof(*rs));
    const char *endpoint = conf_str(conf, CK_ENDPOINT);
    const char *id = conf_str(conf, CK_ENDPOINT_ID);
    const char *const *fail = conf_list(conf, CK_FAILOVER_REGION);
    const char *const *rep = conf_list(conf, CK_REGION_ENDPOINT);
    char region[64], url[1024], name[160], scope[96];

    if (rs == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    aws_region(conf, region, sizeof(region));
    str_copy(rs->id, id ? id : "", sizeof(rs->id));
    rs->policy.first_ms = rs->policy.max_ms =
        conf_int(conf, CK_FAILOVER_PROBE_INTERVAL);
    rs->policy.probe_ms =
        2 * conf_int(conf, CK_TIMEOUT) + conf_int(conf, CK_CONNECT_TIMEOUT);
    rs->policy.threshold = 1;
    if (id) {
        snprintf(url, sizeof(url), "https://%s.endpoints.email.amazonaws.com",
                 id);
        snprintf(name, sizeof(name), "global endpoint %s", id);
        snprintf(scope, sizeof(scope), "global:%s", id);
    } else {
        const char *re = conf_map_get(conf, CK_REGION_ENDPOINT, region);
        if (re)
            str_copy(url, re, sizeof(url));
        else
            aws_default_endpoint("email", region, url, sizeof(url));
        str_copy(name, region, sizeof(name));
        snprintf(scope, sizeof(scope), "region:%s", region);
    }
    if (endpoint)
        str_copy(url, endpoint, sizeof(url));
    if (route_add(rs, conf, name, region, scope, url, id ? "*" : NULL, creds,
                  rate, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; fail[i]; i++) {
        const char *re = conf_map_get(conf, CK_REGION_ENDPOINT, fail[i]);
        if (re)
            str_copy(url, re, sizeof(url));
        else
            aws_default_endpoint("email", fail[i], url, sizeof(url));
        snprintf(scope, sizeof(scope), "region:%s", fail[i]);
        if (!id && strcmp(fail[i], region) == 0) {
            snprintf(err, errlen,
                     "FailoverRegion %s is the primary region itself", fail[i]);
            goto fail;
        }
        if (route_add(rs, conf, fail[i], fail[i], scope, url, NULL, creds, rate,
                      err, errlen) < 0)
            goto fail;
    }
    for (size_t i = 0; rep[i] && rep[i + 1]; i += 2) {
        bool used = !id && strcmp(rep[i], region) == 0;
        for (size_t j = 0; fail[j] && !used; j++)
            used = strcmp(rep[i], fail[j]) == 0;
        if (!used) {
            snprintf(err, errlen,
                     "RegionEndpoint %s: mail is not sent to that region "
                     "(neither Region nor a FailoverRegion)",
                     rep[i]);
            goto fail;
        }
    }
    return rs;
fail:
    routes_free(rs);
    return NULL;
}

void routes_free(routes_t *rs)
{
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->n; i++)
        aws_service_free(rs->r[i].aws);
    free(rs);
}

void routes_use_state(routes_t *rs, hoststate_t *hs)
{
    rs->hs = hs;
}

/* Route i's breaker: its region ("*" for the global endpoint, named by its
 * id). */
static breaker_key_t route_key(const routes_t *rs, size_t i)
{
    bool global = strcmp(rs->r[i].region, "*") == 0;

    return (breaker_key_t){rs->r[i].region, BREAKER_REGION,
                           global ? rs->id : ""};
}

route_verdict_t routes_check(routes_t *rs, size_t i, breaker_info_t *info)
{
    breaker_key_t k;

    if (rs->hs == NULL || i + 1 >= rs->n)
        return ROUTE_TRY;
    k = route_key(rs, i);
    switch (breaker_check(rs->hs, &k, &rs->policy, info)) {
    case BREAKER_HOLD:
        return ROUTE_SKIP;
    case BREAKER_PROBE:
        return ROUTE_PROBE;
    case BREAKER_PASS:
        break;
    }
    return ROUTE_TRY;
}

route_event_t routes_outcome(routes_t *rs, size_t i, route_verdict_t v,
                             status_t st, bool answered, const char *detail,
                             breaker_info_t *info)
{
    breaker_key_t k;

    if (rs->hs == NULL || i + 1 >= rs->n || v == ROUTE_SKIP)
        return ROUTE_QUIET;
    k = route_key(rs, i);
    if (route_fails_over(st))
        return breaker_trip(rs->hs, &k, &rs->policy, st, detail, info)
                   ? ROUTE_OPENED
                   : ROUTE_QUIET;
    if (st == ST_OK || answered) /* SES is there and answering */
        return breaker_close(rs->hs, &k, info) ? ROUTE_RECOVERED : ROUTE_QUIET;
    if (v == ROUTE_PROBE) /* said nothing about the region */
        breaker_release(rs->hs, &k);
    return ROUTE_QUIET;
}

size_t routes_count(const routes_t *rs)
{
    return rs->n;
}

const ses_route_t *routes_at(const routes_t *rs, size_t i)
{
    return i < rs->n ? &rs->r[i] : NULL;
}
