/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds_container.c - credentials from the ECS/EKS container agent
 *
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is a path on
 * http://169.254.170.2 (ECS task roles). AWS_CONTAINER_CREDENTIALS_FULL_URI
 * is a whole URL, accepted like the SDKs accept it: https anywhere, http
 * only to a loopback address or to the agents' link-local addresses
 * (169.254.170.2 for ECS, 169.254.170.23 and fd00:ec2::23 for EKS Pod
 * Identity) - never to an arbitrary host that could harvest the token.
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at every refresh), else
 * AWS_CONTAINER_AUTHORIZATION_TOKEN, is sent as the Authorization header.
 * The answer is the JSON document creds_from_json() reads. Two seconds
 * per try, three tries, as botocore does.
 *
 * DIAGNOSTICS
 *   See creds_int.h.
 */
#include "config.h"

#include "creds_int.h"
#include "ses_conf.h"
#include "ses_log.h"
#include "ses_url.h"
#include "ses_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECS_HOST          "http://169.254.170.2"
#define CONTAINER_TIMEOUT 2000
#define CONTAINER_TRIES   3

/* An http:// URL to one of the hosts the SDKs allow for FULL_URI besides
 * loopback (the ECS and EKS agents), as libcurl reads the URL: a user
 * name that looks like the agent ("http://169.254.170.2:80@evil.example")
 * does not count. */
static bool agent_host(const char *url)
{
    static const char *const hosts[] = {"169.254.170.2", "169.254.170.23",
                                        "[fd00:ec2::23]"};
    char e[128];
    url_t u;

    if (url_parse(url, &u, e, sizeof(e)) < 0 || u.https || u.userinfo)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(hosts); i++)
        if (strcmp(u.host, hosts[i]) == 0)
            return true;
    return false;
}

int creds_container(const creds_ctx_t *ctx, aws_creds_t *out, char *err,
                    size_t errlen)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tokenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char url[2048], e[256];
    char *token = NULL, *auth = NULL;
    const char *hdrs[1];
    size_t nh = 0;
    http_response_t resp;
    status_t st;
    int rc = -1;

    if (rel && *rel) {
        if (*rel != '/' || (size_t)snprintf(url, sizeof(url), ECS_HOST "%s",
                                            rel) >= sizeof(url)) {
            snprintf(err, errlen,
                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                     "must be a path starting with '/'");
            return -1;
        }
    } else if (full && *full) {
        if (str_copy(url, full, sizeof(url)) >= sizeof(url)) {
            snprintf(err, errlen,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
            return -1;
        }
        if (!agent_host(url) && !conf_url_ok(url, e, sizeof(e))) {
            snprintf(err, errlen,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI: %s (https, or http "
                     "to loopback or the container agent)",
                     e);
            return -1;
        }
    } else
        return 0;

    http_response_init(&resp);
    if (tokfile && *tokfile) {
        if ((token =
                 creds_read_token(tokfile, "container authorization token file",
                                  err, errlen)) == NULL)
            goto out;
    } else if (tokenv && *tokenv) {
        if (strpbrk(tokenv, "\r\n") || strlen(tokenv) > CREDS_MAX_TOKEN) {
            snprintf(err, errlen,
                     "AWS_CONTAINER_AUTHORIZATION_TOKEN has a "
                     "line break or is too long");
            goto out;
        }
        token = str_dup(tokenv);
    }
    if (token) {
        size_t n = strlen(token) + sizeof("Authorization: ");
        log_secret_add(token);
        if ((auth = malloc(n)) == NULL)
            goto out;
        snprintf(auth, n, "Authorization: %s", token);
        hdrs[nh++] = auth;
    }
    st = creds_http(ctx->http, "GET", url, hdrs, nh, CONTAINER_TIMEOUT,
                    CONTAINER_TRIES, &resp);
    if (st != ST_OK) {
        snprintf(err, errlen, "container credentials endpoint: %s: %s",
                 status_info(st)->text, resp.error);
        goto out;
    }
    if (resp.code != 200) {
        snprintf(err, errlen,
                 "container credentials endpoint answered HTTP %ld", resp.code);
        goto out;
    }
    if (creds_from_json(resp.body.data, resp.body.len, out, err, errlen) < 0)
        goto out;
    str_copy(out->source, "container", sizeof(out->source));
    rc = 1;
out:
    if (token) {
        secure_zero(token, strlen(token));
        free(token);
    }
    if (auth) {
        secure_zero(auth, strlen(auth));
        free(auth);
    }
    http_response_free(&resp);
    return rc;
}
