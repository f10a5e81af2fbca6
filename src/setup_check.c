/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * setup_check.c - is an SES region ready to take our mail?
 *
 * setup_check_region() = GetAccount (sending enabled, production access,
 * enforcement status, quota), then GetEmailIdentity per identity (verified
 * for sending, DKIM status), then GetConfigurationSet for ConfigurationSet,
 * each reported as one finding. setup_check_regions(), _url() and
 * _identities() say which regions, URLs and identities. See
 * ses_setup_check.h.
 *
 * DIAGNOSTICS
 *   A region that cannot be asked (transport, credentials, an answer that
 *   is not JSON) ends the check of that region with its status and text;
 *   "not found" answers are findings, not failures. Nothing here logs.
 */
#include "config.h"

#include "ses_setup_check.h"
#include "ses_jsonlimit.h"
#include "ses_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETUP_MAX_ANSWER (256 * 1024)

size_t setup_check_regions(const conf_t *conf, const char *const *extra,
                           const char **out, size_t max, char *buf,
                           size_t buflen)
{
    const char *const *fail = conf_list(conf, CK_FAILOVER_REGION);
    const char *cand[64];
    size_t nc = 0, n = 0;

    aws_region(conf, buf, buflen);
    cand[nc++] = buf;
    for (size_t i = 0; fail[i] && nc < ARRAY_SIZE(cand); i++)
        cand[nc++] = fail[i];
    for (size_t i = 0; extra && extra[i] && nc < ARRAY_SIZE(cand); i++)
        cand[nc++] = extra[i];
    for (size_t i = 0; i < nc && n < max; i++) {
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(out[j], cand[i]) == 0;
        if (!seen)
            out[n++] = cand[i];
    }
    return n;
}

void setup_check_url(const conf_t *conf, const char *region, char *out,
                     size_t outlen)
{
    const char *re = conf_map_get(conf, CK_REGION_ENDPOINT, region);
    const char *endpoint = conf_str(conf, CK_ENDPOINT);
    char primary[64];

    aws_region(conf, primary, sizeof(primary));
    if (re)
        str_copy(out, re, outlen);
    else if (endpoint && !conf_str(conf, CK_ENDPOINT_ID) &&
             strcmp(region, primary) == 0)
        str_copy(out, endpoint, outlen);
    else
        aws_default_endpoint("email", region, out, outlen);
}

size_t setup_check_identities(const conf_t *conf, const char *const *idents,
                              const char **out, size_t max)
{
    static const conf_key_t arn_keys[] = {CK_FROM_ARN, CK_SOURCE_ARN,
                                          CK_RETURN_PATH_ARN};
    const char *const *l = conf_list(conf, CK_VERIFIED_IDENTITIES);
    size_t n = 0;

    if (idents && idents[0])
        l = idents;
    for (size_t i = 0; l[i] && n < max; i++)
        out[n++] = l[i];
    if (n > 0)
        return n;
    for (size_t k = 0; k < ARRAY_SIZE(arn_keys); k++) {
        const char *const *arns = conf_list(conf, arn_keys[k]);
        for (size_t i = 0; arns[i] && n < max; i++) {
            const char *id = strstr(arns[i], ":identity/");
            bool seen = false;
            if (id == NULL)
                continue;
            id += strlen(":identity/");
            for (size_t j = 0; j < n && !seen; j++)
                seen = strcmp(out[j], id) == 0;
            if (!seen)
                out[n++] = id;
        }
    }
    return n;
}

/* One GET; *found false (and ST_OK) for a NotFoundException; the parsed
 * answer in *out on 2xx. */
static status_t get_json(const aws_service_t *ses, http_t *http,
                         const char *path, json_t **out, bool *found, char *err,
                         size_t errlen)
{
    aws_request_t rq = {
        .method = "GET", .path = path, .max_response = SETUP_MAX_ANSWER};
    aws_response_t resp;
    status_t st;

    *out = NULL;
    *found = true;
    aws_response_init(&resp);
    st = aws_call(ses, http, &rq, &resp);
    if (st != ST_OK && resp.http_code == 404 &&
        strcmp(resp.error_code, "NotFoundException") == 0) {
        *found = false;
        st = ST_OK;
    } else if (st != ST_OK) {
        str_copy(err, resp.detail, errlen);
    } else if ((*out = jsonlimit_load(resp.body.data, resp.body.len, 0,
                                      SETUP_MAX_ANSWER, NULL, 0)) == NULL) {
        snprintf(err, errlen, "SES answered GET %s with something not JSON",
                 path);
        st = ST_TEMP_PROTOCOL;
    }
    aws_response_free(&resp);
    return st;
}

static bool jbool(json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static status_t check_account(const aws_service_t *ses, http_t *http,
                              const char *region, setup_report_fn report,
                              void *ud, bool *ready, char *err, size_t errlen)
{
    json_t *j = NULL, *q;
    bool found, ok;
    char text[256];
    status_t st =
        get_json(ses, http, "/v2/email/account", &j, &found, err, errlen);

    if (st != ST_OK)
        return st;
    if (!found) {
        report(ud, region, "account", "", false, "GetAccount: not found");
        *ready = false;
        return ST_OK;
    }
    q = json_object_get(j, "SendQuota");
    ok = jbool(j, "SendingEnabled") && jbool(j, "ProductionAccessEnabled") &&
         (!*jstr(j, "EnforcementStatus") ||
          strcmp(jstr(j, "EnforcementStatus"), "HEALTHY") == 0);
    snprintf(text, sizeof(text),
             "sending %s, %s, enforcement %s, quota %.0f per 24 h at %.0f/s",
             jbool(j, "SendingEnabled") ? "enabled" : "DISABLED",
             jbool(j, "ProductionAccessEnabled") ? "production access"
                                                 : "SANDBOX",
             *jstr(j, "EnforcementStatus") ? jstr(j, "EnforcementStatus")
                                           : "unknown",
             json_number_value(json_object_get(q, "Max24HourSend")),
             json_number_value(json_object_get(q, "MaxSendRate")));
    report(ud, region, "account", "", ok, text);
    *ready = *ready && ok;
    json_decref(j);
    return ST_OK;
}

static status_t check_identity(const aws_service_t *ses, http_t *http,
                               const char *region, const char *id,
                               setup_report_fn report, void *ud, bool *ready,
                               char *err, size_t errlen)
{
    char path[600], enc[480], text[256];
    json_t *j = NULL;
    bool found, ok;
    const char *dkim;
    status_t st;

    if (aws_uri_encode(id, enc, sizeof(enc)) < 0) {
        report(ud, region, "identity", id, false, "name too long");
        *ready = false;
        return ST_OK;
    }
    snprintf(path, sizeof(path), "/v2/email/identities/%s", enc);
    if ((st = get_json(ses, http, path, &j, &found, err, errlen)) != ST_OK)
        return st;
    if (!found) {
        report(ud, region, "identity", id, false, "MISSING in this region");
        *ready = false;
        return ST_OK;
    }
    dkim = jstr(json_object_get(j, "DkimAttributes"), "Status");
    ok = jbool(j, "VerifiedForSendingStatus") && strcmp(dkim, "SUCCESS") == 0;
    snprintf(text, sizeof(text), "%s, DKIM %s",
             jbool(j, "VerifiedForSendingStatus") ? "verified for sending"
                                                  : "NOT verified",
             *dkim ? dkim : "not set up");
    report(ud, region, "identity", id, ok, text);
    *ready = *ready && ok;
    json_decref(j);
    return ST_OK;
}

status_t setup_check_region(const aws_service_t *ses, http_t *http,
                            const char *region, const conf_t *conf,
                            const char *const *idents, size_t nidents,
                            setup_report_fn report, void *ud, bool *ready,
                            char *err, size_t errlen)
{
    const char *cs = conf_str(conf, CK_CONFIGURATION_SET);
    status_t st;

    *ready = true;
    if ((st = check_account(ses, http, region, report, ud, ready, err,
                            errlen)) != ST_OK)
        return st;
    for (size_t i = 0; i < nidents; i++)
        if ((st = check_identity(ses, http, region, idents[i], report, ud,
                                 ready, err, errlen)) != ST_OK)
            return st;
    if (cs) {
        char path[200];
        json_t *j = NULL;
        bool found;
        snprintf(path, sizeof(path), "/v2/email/configuration-sets/%s", cs);
        if ((st = get_json(ses, http, path, &j, &found, err, errlen)) != ST_OK)
            return st;
        report(ud, region, "configuration-set", cs, found,
               found ? "exists" : "MISSING in this region");
        *ready = *ready && found;
        json_decref(j);
    }
    return ST_OK;
}
