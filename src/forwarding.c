/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * forwarding.c - does SES also mail bounces to the Return-Path?
 *
 * forwarding_check() takes the identity from a sourceArn, and the first
 * time it meets it calls GET /v2/email/identities/IDENTITY (SESv2
 * GetEmailIdentity) and reads FeedbackForwardingStatus. The identities
 * asked about are kept (at most FWD_MAX_IDENTITIES; after that nothing
 * more is asked). One HTTP handle, used under the handle's mutex.
 *
 * DIAGNOSTICS
 *   See ses_forwarding.h.
 */
#include "config.h"

#include "ses_forwarding.h"
#include "ses_aws.h"
#include "ses_http.h"
#include "ses_jsonlimit.h"
#include "ses_util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define IDENTITY_MAX 320
#define ANSWER_MAX   (64 * 1024)

struct forwarding {
    pthread_mutex_t lock;
    aws_service_t *ses;
    http_t *http;
    char (*seen)[IDENTITY_MAX + 1];
    size_t nseen;
};

forwarding_t *forwarding_new(const conf_t *conf, creds_provider_t *creds,
                             char *err, size_t errlen)
{
    char region[64], url[1024];
    aws_service_config_t cfg;
    forwarding_t *f = calloc(1, sizeof(*f));

    if (f == NULL ||
        (f->seen = calloc(FWD_MAX_IDENTITIES, sizeof(*f->seen))) == NULL) {
        free(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&f->lock, NULL);
    aws_region(conf, region, sizeof(region));
    if (conf_str(conf, CK_ENDPOINT))
        str_copy(url, conf_str(conf, CK_ENDPOINT), sizeof(url));
    else
        aws_default_endpoint("email", region, url, sizeof(url));
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = "SES";
    cfg.signing_name = "ses";
    cfg.region = region;
    cfg.endpoint = url;
    cfg.creds = creds;
    if ((f->ses = aws_service_new(&cfg, err, errlen)) == NULL ||
        (f->http = http_new(conf_int(conf, CK_CONNECT_TIMEOUT),
                            conf_int(conf, CK_TIMEOUT))) == NULL) {
        if (f->ses)
            snprintf(err, errlen, "cannot set up libcurl");
        forwarding_free(f);
        return NULL;
    }
    return f;
}

void forwarding_free(forwarding_t *f)
{
    if (f == NULL)
        return;
    aws_service_free(f->ses);
    http_free(f->http);
    pthread_mutex_destroy(&f->lock);
    free(f->seen);
    free(f);
}

/* Asks SES; FWD_ON, FWD_QUIET (off) or FWD_UNKNOWN with err. */
static fwd_state_t ask(forwarding_t *f, const char *identity, char *err,
                       size_t errlen)
{
    char enc[3 * IDENTITY_MAX + 1], path[sizeof(enc) + 32];
    aws_response_t resp;
    aws_request_t rq;
    fwd_state_t st = FWD_UNKNOWN;
    json_t *root, *v;

    if (aws_uri_encode(identity, enc, sizeof(enc)) < 0) {
        snprintf(err, errlen, "identity too long");
        return FWD_UNKNOWN;
    }
    snprintf(path, sizeof(path), "/v2/email/identities/%s", enc);
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.path = path;
    rq.max_response = ANSWER_MAX;
    aws_response_init(&resp);
    if (aws_call(f->ses, f->http, &rq, &resp) != ST_OK) {
        snprintf(err, errlen, "SES GetEmailIdentity: %s", resp.detail);
        aws_response_free(&resp);
        return FWD_UNKNOWN;
    }
    root = jsonlimit_load(resp.body.data ? resp.body.data : "", resp.body.len,
                          0, ANSWER_MAX, NULL, 0);
    v = json_object_get(root, "FeedbackForwardingStatus");
    if (json_is_boolean(v))
        st = json_is_true(v) ? FWD_ON : FWD_QUIET;
    else
        snprintf(err, errlen,
                 "SES GetEmailIdentity: no FeedbackForwardingStatus");
    json_decref(root);
    aws_response_free(&resp);
    return st;
}

fwd_state_t forwarding_check(forwarding_t *f, const char *source_arn,
                             char *identity, size_t idlen, char *err,
                             size_t errlen)
{
    const char *id = source_arn ? strstr(source_arn, ":identity/") : NULL;
    fwd_state_t st;

    identity[0] = '\0';
    err[0] = '\0';
    if (f == NULL || source_arn == NULL)
        return FWD_QUIET;
    if (id == NULL || strlen(id + 10) == 0 || strlen(id + 10) > IDENTITY_MAX) {
        str_copy(identity, source_arn, idlen);
        snprintf(err, errlen, "no identity in the sourceArn");
        id = NULL;
    } else
        str_copy(identity, id + 10, idlen);
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nseen; i++)
        if (strcmp(f->seen[i], id ? id + 10 : source_arn) == 0) {
            pthread_mutex_unlock(&f->lock);
            return FWD_QUIET;
        }
    if (f->nseen == FWD_MAX_IDENTITIES) {
        pthread_mutex_unlock(&f->lock);
        return FWD_QUIET;
    }
    str_copy(f->seen[f->nseen++], id ? id + 10 : source_arn,
             sizeof(f->seen[0]));
    st = id ? ask(f, id + 10, err, errlen) : FWD_UNKNOWN;
    pthread_mutex_unlock(&f->lock);
    return st;
}
