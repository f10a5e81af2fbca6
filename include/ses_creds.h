/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_creds.h - AWS credentials, found the way the AWS SDKs find them
 *
 * A creds_provider_t is shared by all threads of a process. creds_get()
 * returns the current credentials, searching the sources in order on first
 * use, and again when temporary credentials come within five minutes of
 * their Expiration or after creds_invalidate():
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN
 *   2. shared files for the profile (Profile key, AWS_PROFILE, "default"):
 *      the credentials file (CredentialsFile key,
 *      AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials; sections "[name]"),
 *      else the config file (AWS_CONFIG_FILE, ~/.aws/config; sections
 *      "[profile name]" and "[default]"). Keys come from one file, never
 *      mixed. botocore's order within a profile: role_arn (STS AssumeRole
 *      signed with source_profile's or credential_source's credentials,
 *      or AssumeRoleWithWebIdentity with web_identity_token_file), keys in
 *      the credentials file, credential_process, keys in the config file.
 *      A profile named explicitly but found in neither file, or one with
 *      sso or mfa_serial settings, is an error, not a reason to fall
 *      through to another identity. With the Profile key set, source 1 is
 *      skipped (botocore does so for a profile given to a Session).
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      [+ AWS_ROLE_SESSION_NAME] -> STS AssumeRoleWithWebIdentity
 *      (unsigned; https://sts.REGION.amazonaws.com, or AWS_ENDPOINT_URL_STS);
 *      tried, as in botocore, after a role_arn profile and before the
 *      shared files' keys and credential_process
 *   4. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (from
 *      http://169.254.170.2) or _FULL_URI (https, loopback, or the ECS/EKS
 *      agent addresses 169.254.170.2, 169.254.170.23, fd00:ec2::23), with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN as Authorization
 *   5. EC2 instance metadata, IMDSv2 only (PUT token, GET role, GET
 *      credentials), at AWS_EC2_METADATA_SERVICE_ENDPOINT or
 *      169.254.169.254; off with AWS_EC2_METADATA_DISABLED=true; 1 s
 *      timeout, 1 attempt (AWS_METADATA_SERVICE_TIMEOUT/_NUM_ATTEMPTS),
 *      so a host outside EC2 does not stall delivery.
 * A source that is configured but fails stops the search (as the SDKs do).
 *
 * Thread safety: one thread refreshes while the others keep using the
 * still-valid cached credentials (or wait when there are none). A failed
 * refresh keeps valid credentials in use. Every secret found - secret key,
 * session token, web identity and authorization tokens - is registered
 * with log_secret_add(), so none can reach a log line.
 *
 * DIAGNOSTICS
 *   creds_get() returns ST_OK, or ST_TEMP_CREDENTIALS with a reason in err
 *   that never contains a secret. Missing credentials are never permanent.
 */
#ifndef SES_CREDS_H
#define SES_CREDS_H

#include "ses_conf.h"
#include "ses_http.h"
#include "ses_status.h"

#include <stdint.h>

typedef struct {
    char access_key[128];
    char secret_key[128];
    char session_token[4096];
    int64_t expires_ms; /* wall clock; 0 for long-term keys */
    char source[64];    /* "environment", "shared-file:PROFILE", ... */
} aws_creds_t;

typedef struct creds_provider creds_provider_t;

creds_provider_t *creds_provider_new(const conf_t *conf);
void creds_provider_free(creds_provider_t *p); /* NULL is fine */

/* http is the caller's per-thread handle (for sources that need HTTP);
 * NULL makes the provider use a temporary one. */
status_t creds_get(creds_provider_t *p, http_t *http, aws_creds_t *out,
                   char *err, size_t errlen);

/* Forget cached credentials (after AWS said they are invalid/expired). */
void creds_invalidate(creds_provider_t *p);

void creds_wipe(aws_creds_t *c);

#endif
