/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds_web.c - credentials from STS: a web identity (EKS IRSA, OIDC
 * federation) and a profile's assumed role
 *
 * creds_sts_assume() makes one STS call - AssumeRoleWithWebIdentity, an
 * unsigned query-protocol POST with the token read from its file (again at
 * every refresh: the platform rotates it), or AssumeRole, signed with the
 * source credentials - through aws_call(). The endpoint is
 * https://sts.REGION.amazonaws.com, or AWS_ENDPOINT_URL_STS as in current
 * AWS SDKs (https, or http to a loopback address for tests). The session
 * name is the one given (AWS_ROLE_SESSION_NAME, role_session_name) or
 * "ses-milter-" and the time.
 *
 * creds_web_identity() is the chain's source for AWS_WEB_IDENTITY_TOKEN_FILE
 * and AWS_ROLE_ARN.
 *
 * DIAGNOSTICS
 *   See creds_int.h. The token is registered with log_secret_add() before
 *   it goes anywhere; STS error texts are passed on (they name the role,
 *   never the token).
 */
#include "config.h"

#include "creds_int.h"
#include "ses_aws.h"
#include "ses_log.h"
#include "ses_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STS_RETRY_MS 3000

static bool session_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 2 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_+=,.@-", *s))
            return false;
    return true;
}

/* The <Credentials> of an AssumeRoleWithWebIdentityResponse. */
static int parse_answer(const buf_t *b, aws_creds_t *out, char *err,
                        size_t errlen)
{
    const char *x = b->data ? b->data : "";
    char exp[64];

    if (!aws_xml_text(x, b->len, "AccessKeyId", out->access_key,
                      sizeof(out->access_key)) ||
        !aws_xml_text(x, b->len, "SecretAccessKey", out->secret_key,
                      sizeof(out->secret_key)) ||
        !aws_xml_text(x, b->len, "SessionToken", out->session_token,
                      sizeof(out->session_token)) ||
        !aws_xml_text(x, b->len, "Expiration", exp, sizeof(exp)) ||
        (out->expires_ms = creds_expiry_ms(exp)) < 0) {
        snprintf(err, errlen, "STS answer has no complete Credentials");
        return -1;
    }
    return 0;
}

int creds_sts_assume(const creds_ctx_t *ctx, const sts_assume_t *a,
                     aws_creds_t *out, char *err, size_t errlen)
{
    const char *endpoint = getenv("AWS_ENDPOINT_URL_STS");
    const char *action =
        a->token_file ? "AssumeRoleWithWebIdentity" : "AssumeRole";
    char url[1024], session[80];
    char *token = NULL;
    aws_service_t *sts = NULL;
    creds_provider_t *signer = NULL;
    aws_response_t resp;
    aws_request_t rq;
    buf_t form;
    int rc = -1;

    if (a->session && *a->session) {
        if (!session_name_ok(a->session)) {
            snprintf(err, errlen,
                     "%s: the role session name must be 2-64 of A-Z a-z 0-9 "
                     "_+=,.@-",
                     a->what);
            return -1;
        }
        str_copy(session, a->session, sizeof(session));
    } else
        snprintf(session, sizeof(session), "ses-milter-%lld",
                 (long long)time(NULL));
    if (endpoint && *endpoint)
        str_copy(url, endpoint, sizeof(url));
    else
        aws_default_endpoint("sts", ctx->region, url, sizeof(url));

    aws_response_init(&resp);
    buf_init(&form, 2 * CREDS_MAX_TOKEN + 4096);
    if (a->token_file) {
        if ((token = creds_read_token(a->token_file, "web identity token file",
                                      err, errlen)) == NULL)
            goto out;
        log_secret_add(token);
    } else if ((signer = creds_provider_fixed(a->signer)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    {
        aws_service_config_t cfg = {"STS",  "sts",        ctx->region, url,
                                    signer, STS_RETRY_MS, NULL,        NULL};
        char e[256];
        if ((sts = aws_service_new(&cfg, e, sizeof(e))) == NULL) {
            snprintf(err, errlen, "AWS_ENDPOINT_URL_STS: %s", e);
            goto out;
        }
    }
    if (aws_query_add(&form, "Action", action) < 0 ||
        aws_query_add(&form, "Version", "2011-06-15") < 0 ||
        aws_query_add(&form, "RoleArn", a->role_arn) < 0 ||
        aws_query_add(&form, "RoleSessionName", session) < 0 ||
        (token && aws_query_add(&form, "WebIdentityToken", token) < 0) ||
        (a->external_id && *a->external_id &&
         aws_query_add(&form, "ExternalId", a->external_id) < 0) ||
        (a->duration && *a->duration &&
         aws_query_add(&form, "DurationSeconds", a->duration) < 0)) {
        snprintf(err, errlen, "%s request too long", action);
        goto out;
    }
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.path = "/";
    rq.content_type = "application/x-www-form-urlencoded; charset=utf-8";
    rq.body = form.data;
    rq.body_len = form.len;
    if (aws_call(sts, ctx->http, &rq, &resp) != ST_OK) {
        snprintf(err, errlen, "%s for %s: %s", action, a->role_arn,
                 resp.detail);
        goto out;
    }
    if (parse_answer(&resp.body, out, err, errlen) < 0)
        goto out;
    rc = 1;
out:
    if (token) {
        secure_zero(token, strlen(token));
        free(token);
    }
    buf_free(&form); /* wipes the token's copy */
    aws_response_free(&resp);
    aws_service_free(sts);
    creds_provider_free(signer);
    return rc;
}

int creds_web_identity(const creds_ctx_t *ctx, aws_creds_t *out, char *err,
                       size_t errlen)
{
    const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role = getenv("AWS_ROLE_ARN");
    sts_assume_t a = {.what = "AWS_ROLE_SESSION_NAME",
                      .role_arn = role,
                      .session = getenv("AWS_ROLE_SESSION_NAME"),
                      .token_file = file};

    if (!file || !*file)
        return 0;
    if (!role || !*role) {
        snprintf(err, errlen,
                 "AWS_WEB_IDENTITY_TOKEN_FILE is set but "
                 "AWS_ROLE_ARN is not");
        return -1;
    }
    if (creds_sts_assume(ctx, &a, out, err, errlen) < 0)
        return -1;
    snprintf(out->source, sizeof(out->source), "web-identity");
    return 1;
}
