/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds_int.h - what creds.c shares with its remote credential sources
 *
 * Each source returns 1 with credentials in *out, 0 when it is not
 * configured or has nothing (the chain goes on), or -1 when it is
 * configured but failed (the chain stops: like the AWS SDKs, a broken
 * source is reported, not silently replaced by the next one). Reasons go
 * into err and never contain a secret.
 *
 *   creds_web_identity()  AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN ->
 *                         STS AssumeRoleWithWebIdentity (creds_web.c);
 *                         creds_sts_assume() there also serves profiles
 *                         with role_arn (AssumeRole)
 *   creds_container()     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI
 *                         (creds_container.c)
 *   creds_imds()          EC2 instance metadata, IMDSv2 (creds_imds.c)
 *   creds_process()       a profile's credential_process (creds_process.c),
 *                         called by the shared-file source
 */
#ifndef SES_CREDS_INT_H
#define SES_CREDS_INT_H

#include "ses_creds.h"
#include "ses_http.h"

#include <stddef.h>
#include <stdint.h>

#define CREDS_MAX_TOKEN (16 * 1024) /* web identity / authorization token */

typedef struct {
    http_t *http;       /* the caller's handle */
    const char *region; /* for the regional STS endpoint */
} creds_ctx_t;

int creds_web_identity(const creds_ctx_t *ctx, aws_creds_t *out, char *err,
                       size_t errlen);

/* One STS call for a role: AssumeRoleWithWebIdentity when token_file is
 * set (unsigned), else AssumeRole signed with *signer. 1 or -1. */
typedef struct {
    const char *what; /* names the session setting in errors */
    const char *role_arn;
    const char *session;     /* RoleSessionName; NULL: ses-milter-TIME */
    const char *external_id; /* AssumeRole ExternalId, or NULL */
    const char *duration;    /* DurationSeconds, or NULL */
    const char *token_file;  /* web identity token file, or NULL */
    const aws_creds_t *signer;
} sts_assume_t;
int creds_sts_assume(const creds_ctx_t *ctx, const sts_assume_t *a,
                     aws_creds_t *out, char *err, size_t errlen);

/* A provider that always hands out *c (signs a call with given keys). */
creds_provider_t *creds_provider_fixed(const aws_creds_t *c);
int creds_container(const creds_ctx_t *ctx, aws_creds_t *out, char *err,
                    size_t errlen);
int creds_imds(const creds_ctx_t *ctx, aws_creds_t *out, char *err,
               size_t errlen);

/* Runs a profile's credential_process command; 1 or -1. */
int creds_process(const char *cmd, const char *profile, aws_creds_t *out,
                  char *err, size_t errlen);

/* Shared by the sources (creds.c). */

/* An Expiration time ("2024-05-01T12:00:00Z", time_parse_iso8601()) in
 * epoch ms; -1 when malformed. */
int64_t creds_expiry_ms(const char *iso);

/* Fills out from the JSON credential document the container agent and
 * IMDS serve: AccessKeyId, SecretAccessKey, Token, Expiration. 0 or -1. */
int creds_from_json(const char *body, size_t len, aws_creds_t *out, char *err,
                    size_t errlen);

/* Copies one credential field, refusing values that do not fit. */
int creds_set(char *dst, size_t dstlen, const char *v);

/* Reads a token file (trimmed, at most CREDS_MAX_TOKEN bytes, no control
 * characters inside) into a malloc'd string; NULL with err on failure. */
char *creds_read_token(const char *path, const char *what, char *err,
                       size_t errlen);

/* A GET/PUT without AWS signing to a metadata endpoint: direct (no proxy),
 * short timeouts, `attempts` tries on transport errors and 5xx. ST_OK
 * when an answer arrived (any HTTP code: the caller looks at resp->code). */
status_t creds_http(http_t *http, const char *method, const char *url,
                    const char *const *headers, size_t nheaders,
                    long timeout_ms, int attempts, http_response_t *resp);

/* Environment variable as a positive integer, else dflt. */
long creds_env_long(const char *name, long dflt, long min, long max);

#endif
