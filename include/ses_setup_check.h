/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_setup_check.h - is an SES region ready to take our mail?
 *
 * Every region mail may go to (Region, the FailoverRegion list, the
 * regions of a global endpoint) needs its own setup: sending enabled and
 * out of the sandbox, a quota, verified identities with DKIM, the
 * configuration set. setup_check_region() asks one region with SESv2
 * GetAccount, GetEmailIdentity for each identity and GetConfigurationSet,
 * and reports one finding per check through a callback; ses-suppress
 * regions runs it for each region (setup_check_regions() lists them).
 *
 * DIAGNOSTICS
 *   setup_check_region() returns ST_OK when the region answered every
 *   question (the findings say whether it is ready), else the status of
 *   the call that failed (network, credentials), with the text in err.
 *   Nothing here logs or prints.
 */
#ifndef SES_SETUP_CHECK_H
#define SES_SETUP_CHECK_H

#include "ses_aws.h"
#include "ses_conf.h"
#include "ses_http.h"
#include "ses_status.h"

#include <stdbool.h>
#include <stddef.h>

/* One finding: what ("account", "identity", "configuration-set"), its
 * name ("" for the account), ok or not, and a short text. */
typedef void (*setup_report_fn)(void *ud, const char *region, const char *what,
                                const char *name, bool ok, const char *text);

/* The regions to check: Region (the global endpoint's home region with
 * EndpointId), then FailoverRegion, then extra[] (NULL-terminated, may be
 * NULL); each once. Returns the number written to out (at most max). */
size_t setup_check_regions(const conf_t *conf, const char *const *extra,
                           const char **out, size_t max, char *buf,
                           size_t buflen);

/* The SESv2 URL for region: RegionEndpoint, else Endpoint for the primary
 * Region (without EndpointId), else https://email.REGION.amazonaws.com. */
void setup_check_url(const conf_t *conf, const char *region, char *out,
                     size_t outlen);

/* The identities to check: idents[] when given, else VerifiedIdentities,
 * else the identity names in FromArn/SourceArn/ReturnPathArn. Returns the
 * number written to out (pointers into conf or idents). */
size_t setup_check_identities(const conf_t *conf, const char *const *idents,
                              const char **out, size_t max);

status_t setup_check_region(const aws_service_t *ses, http_t *http,
                            const char *region, const conf_t *conf,
                            const char *const *idents, size_t nidents,
                            setup_report_fn report, void *ud, bool *ready,
                            char *err, size_t errlen);

#endif
