/*
 * ses_creds.h - AWS credentials, found the way the AWS SDKs find them
 *
 * A creds_provider_t is shared by all threads of a process. creds_get()
 * returns the current credentials, searching the sources in the SDK order
 * on first use and again when temporary credentials come near their
 * expiry:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN
 *   2. shared files: credentials (CredentialsFile, AWS_SHARED_CREDENTIALS_FILE,
 *      ~/.aws/credentials) and config (AWS_CONFIG_FILE, ~/.aws/config),
 *      profile from Profile, AWS_PROFILE, else "default"
 *   (web identity, container and instance metadata sources are added by
 *   the SES client issue)
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
    char source[32];    /* "environment", "shared-file:PROFILE", ... */
} aws_creds_t;

typedef struct creds_provider creds_provider_t;

creds_provider_t *creds_provider_new(const conf_t *conf);
void creds_provider_free(creds_provider_t *p); /* NULL is fine */

/* http is the caller's per-thread handle (for sources that need HTTP). */
status_t creds_get(creds_provider_t *p, http_t *http, aws_creds_t *out,
                   char *err, size_t errlen);

/* Forget cached credentials (after SES said they are invalid/expired). */
void creds_invalidate(creds_provider_t *p);

void creds_wipe(aws_creds_t *c);

#endif
