/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_route.h - where SES calls go: the primary endpoint and the failover
 * regions
 *
 * routes_new() turns the configuration into an ordered list of routes, one
 * aws_service_t each:
 *
 *   0   the primary: the SESv2 global endpoint when EndpointId is set
 *       (https://ID.endpoints.email.amazonaws.com, SigV4a over region set
 *       "*", route region "*"), else Region (https://email.REGION.amazon
 *       aws.com, SigV4). Endpoint overrides its URL (tests); without
 *       Endpoint, RegionEndpoint for the primary Region does.
 *   1.. each FailoverRegion in order: RegionEndpoint REGION URL, else
 *       https://email.REGION.amazonaws.com; SigV4 in that region.
 *
 * Identity ARNs carry a region, so FromArn, SourceArn and ReturnPathArn
 * hold one ARN per region: each route uses the ARN whose region field is
 * its own ("*" for the global endpoint, as SES wants for identities
 * replicated by a global endpoint). A key that is set but has no ARN for
 * some route is a configuration error here, not a refused message later.
 *
 * route_fails_over() is the one rule for what moves a message to the next
 * route: the region is failing (connection refused or unreachable, DNS,
 * TLS, timeouts, resets, HTTP 5xx). Throttling, quotas, credentials and
 * every answer about the message or the account stay in the region.
 *
 * Failover breakers. With more than one route, each route but the last
 * has a host-wide breaker (ses_breaker.h, scope BREAKER_REGION, keyed by
 * region, or "*" and the endpoint id for the global endpoint) in the
 * hoststate the caller gives routes_use_state(): every ses-relay of the
 * host, pipe mode or LMTP, shares it. A route whose region failed over is
 * skipped for FailoverProbeInterval; then one delivery of the host probes
 * it (the others keep skipping it until that probe is back or its lease,
 * Timeout twice plus ConnectTimeout, runs out). Any answer from SES that is
 * not a regional failure closes it again - that is the failback; a
 * regional failure opens it for another interval (never longer, so
 * traffic returns within one FailoverProbeInterval of the recovery). The
 * check of a closed breaker is one lock-free read of shared memory.
 *
 * DIAGNOSTICS
 *   routes_new() returns NULL with the reason in err (a bad URL, an ARN
 *   missing for a route, a RegionEndpoint for a region not sent to). The
 *   other functions cannot fail; a breaker that cannot be written simply
 *   does not hold. Nothing here logs: routes_outcome() says what to log.
 */
#ifndef SES_ROUTE_H
#define SES_ROUTE_H

#include "ses_aws.h"
#include "ses_breaker.h"
#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_ratelimit.h"
#include "ses_status.h"

#include <stdbool.h>
#include <stddef.h>

#define ROUTES_MAX 8 /* the primary and up to 7 failover regions */

typedef struct {
    char name[80];        /* for logs: "eu-west-1", "global endpoint ID" */
    char region[64];      /* "eu-west-1"; "*" for the global endpoint */
    char scope[96];       /* host-wide breaker key: "region:eu-west-1",
                             "global:ID" */
    aws_service_t *aws;   /* the endpoint, signed for this route */
    const char *from_arn; /* FromArn for this route, or NULL */
    const char *source_arn;
    const char *return_path_arn;
} ses_route_t;

typedef struct routes routes_t;

routes_t *routes_new(const conf_t *conf, creds_provider_t *creds,
                     ratelimit_t *rate, char *err, size_t errlen);
void routes_free(routes_t *r); /* NULL is fine */

size_t routes_count(const routes_t *r);
const ses_route_t *routes_at(const routes_t *r, size_t i);

/* True when status st (with the answer resp) says the route's region is
 * failing, so the message may go to the next route. */
bool route_fails_over(status_t st);

/* The host-wide state for the failover breakers (not owned; NULL: none,
 * every route is always tried in order). */
void routes_use_state(routes_t *r, hoststate_t *hs);

typedef enum {
    ROUTE_TRY,   /* call it */
    ROUTE_PROBE, /* call it: this delivery probes the failing region */
    ROUTE_SKIP,  /* its region is failing: go on to the next route */
} route_verdict_t;

/* Before a call through route i; info (may be NULL) says why for
 * ROUTE_SKIP and ROUTE_PROBE. The last route is never skipped. */
route_verdict_t routes_check(routes_t *r, size_t i, breaker_info_t *info);

typedef enum {
    ROUTE_QUIET,     /* nothing to log */
    ROUTE_OPENED,    /* this call opened the region's breaker: log it */
    ROUTE_RECOVERED, /* this call closed it: traffic is back */
} route_event_t;

/* After a call through route i that was given verdict v: st its status,
 * answered true when SES sent an HTTP answer, detail the text. */
route_event_t routes_outcome(routes_t *r, size_t i, route_verdict_t v,
                             status_t st, bool answered, const char *detail,
                             breaker_info_t *info);

/* The ARN of `key` (FromArn, SourceArn, ReturnPathArn) for region ("*":
 * the global endpoint), or NULL when the key has none for it. */
const char *route_arn(const conf_t *conf, conf_key_t key, const char *region);

#endif
