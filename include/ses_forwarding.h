/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_forwarding.h - does SES also mail bounces to the Return-Path?
 *
 * SES's "email feedback forwarding", on by default for every identity,
 * mails bounces and complaints to the message's Return-Path itself; where
 * ses-feedback writes DSNs the sender then gets two. forwarding_check()
 * asks SESv2 GetEmailIdentity (FeedbackForwardingStatus) about the
 * identity of a notification's mail.sourceArn, once per identity for the
 * life of the handle, so the caller can warn once.
 *
 * DIAGNOSTICS
 *   forwarding_new() returns NULL with the reason in err. forwarding_check()
 *   returns FWD_ON the first time an identity is found forwarding,
 *   FWD_UNKNOWN the first time one cannot be asked (no identity in the
 *   ARN, no permission, no answer: the reason is in err), and FWD_QUIET
 *   otherwise (off, or already reported). Thread-safe; nothing logs.
 */
#ifndef SES_FORWARDING_H
#define SES_FORWARDING_H

#include "ses_conf.h"
#include "ses_creds.h"

#include <stddef.h>

typedef enum {
    FWD_QUIET = 0,
    FWD_ON,
    FWD_UNKNOWN,
} fwd_state_t;

#define FWD_MAX_IDENTITIES 256 /* remembered per handle */

typedef struct forwarding forwarding_t;

forwarding_t *forwarding_new(const conf_t *conf, creds_provider_t *creds,
                             char *err, size_t errlen);
void forwarding_free(forwarding_t *f); /* NULL is fine */

/* source_arn: "arn:aws:ses:REGION:ACCOUNT:identity/IDENTITY"; the
 * identity is copied to identity (for the caller's log line). */
fwd_state_t forwarding_check(forwarding_t *f, const char *source_arn,
                             char *identity, size_t idlen, char *err,
                             size_t errlen);

#endif
