/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds_imds.c - credentials of the EC2 instance role, IMDSv2
 *
 *   PUT  /latest/api/token   (X-aws-ec2-metadata-token-ttl-seconds: 21600)
 *   GET  /latest/meta-data/iam/security-credentials/        -> role name
 *   GET  /latest/meta-data/iam/security-credentials/ROLE    -> JSON
 * with the token in X-aws-ec2-metadata-token. Only IMDSv2: no fallback to
 * the token-less v1 protocol.
 *
 * The address is AWS_EC2_METADATA_SERVICE_ENDPOINT, else
 * http://[fd00:ec2::254] with AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6,
 * else http://169.254.169.254. AWS_EC2_METADATA_DISABLED=true turns the
 * source off. Timeouts are short - AWS_METADATA_SERVICE_TIMEOUT seconds (1)
 * and AWS_METADATA_SERVICE_NUM_ATTEMPTS tries (1), as in botocore - so on a
 * host outside EC2 the chain ends after about a second instead of stalling
 * every delivery.
 *
 * DIAGNOSTICS
 *   See creds_int.h. An unreachable service or an instance without a role
 *   is "not found" (0), with the reason in err for the final message; a
 *   malformed answer from a reachable service is an error (-1).
 */
#include "config.h"

#include "creds_int.h"
#include "ses_conf.h"
#include "ses_log.h"
#include "ses_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMDS_DEFAULT   "http://169.254.169.254"
#define IMDS_DEFAULT6  "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_ROLES     "/latest/meta-data/iam/security-credentials/"

typedef struct {
    http_t *http;
    char base[1024];
    long timeout_ms;
    int attempts;
} imds_t;

/* One metadata request; the answer's body in resp. 1 when HTTP 200. */
static int imds_req(imds_t *m, const char *method, const char *path,
                    const char *header, http_response_t *resp, char *err,
                    size_t errlen)
{
    char url[2048];
    const char *hdrs[1] = {header};
    status_t st;

    snprintf(url, sizeof(url), "%s%s", m->base, path);
    st = creds_http(m->http, method, url, hdrs, 1, m->timeout_ms, m->attempts,
                    resp);
    if (st != ST_OK) {
        snprintf(err, errlen, "instance metadata at %s: %s", m->base,
                 resp->error);
        return 0;
    }
    if (resp->code != 200) {
        snprintf(err, errlen, "instance metadata %s %s: HTTP %ld", method, path,
                 resp->code);
        return 0;
    }
    return 1;
}

int creds_imds(const creds_ctx_t *ctx, aws_creds_t *out, char *err,
               size_t errlen)
{
    const char *off = getenv("AWS_EC2_METADATA_DISABLED");
    const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    imds_t m = {ctx->http, "", 1000, 1};
    http_response_t resp;
    char *tokhdr = NULL, role[256], path[512], e[256];
    size_t n;
    int rc = 0;

    if (off && str_iequal(off, "true"))
        return 0;
    if (ep && *ep) {
        if (!str_ihas_prefix(ep, "http://") &&
            !str_ihas_prefix(ep, "https://")) {
            snprintf(err, errlen,
                     "AWS_EC2_METADATA_SERVICE_ENDPOINT is not "
                     "an http:// or https:// URL");
            return -1;
        }
        str_copy(m.base, ep, sizeof(m.base));
    } else
        str_copy(m.base,
                 mode && str_iequal(mode, "IPv6") ? IMDS_DEFAULT6
                                                  : IMDS_DEFAULT,
                 sizeof(m.base));
    for (n = strlen(m.base); n > 0 && m.base[n - 1] == '/'; n--)
        m.base[n - 1] = '\0';
    m.timeout_ms =
        creds_env_long("AWS_METADATA_SERVICE_TIMEOUT", 1, 1, 60) * 1000;
    m.attempts =
        (int)creds_env_long("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 1, 10);

    http_response_init(&resp);
    /* 1. the session token */
    if (!imds_req(&m, "PUT", "/latest/api/token",
                  "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL,
                  &resp, err, errlen))
        goto out;
    n = resp.body.len;
    if (n == 0 || n > 4096 || memchr(resp.body.data, '\n', n) ||
        memchr(resp.body.data, '\r', n)) {
        snprintf(err, errlen, "instance metadata token is malformed");
        rc = -1;
        goto out;
    }
    log_secret_add(resp.body.data);
    n += sizeof("X-aws-ec2-metadata-token: ");
    if ((tokhdr = malloc(n)) == NULL) {
        rc = -1;
        goto out;
    }
    snprintf(tokhdr, n, "X-aws-ec2-metadata-token: %s", resp.body.data);

    /* 2. the role name (first line) */
    if (!imds_req(&m, "GET", IMDS_ROLES, tokhdr, &resp, e, sizeof(e))) {
        snprintf(err, errlen, "no instance role (%s)", e);
        goto out;
    }
    str_copy(role, resp.body.data ? resp.body.data : "", sizeof(role));
    role[strcspn(role, "\r\n")] = '\0';
    if (role[0] == '\0' || strchr(role, '/') || strstr(role, "..")) {
        snprintf(err, errlen, "instance metadata names no usable role");
        rc = -1;
        goto out;
    }

    /* 3. the role's credentials */
    snprintf(path, sizeof(path), IMDS_ROLES "%s", role);
    if (!imds_req(&m, "GET", path, tokhdr, &resp, err, errlen)) {
        rc = -1;
        goto out;
    }
    if (creds_from_json(resp.body.data, resp.body.len, out, err, errlen) < 0) {
        rc = -1;
        goto out;
    }
    snprintf(out->source, sizeof(out->source), "instance-metadata:%.40s", role);
    str_sanitize(out->source);
    rc = 1;
out:
    if (tokhdr) {
        secure_zero(tokhdr, strlen(tokhdr));
        free(tokhdr);
    }
    http_response_free(&resp);
    return rc;
}
