/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trust.h - whether a message is the site's own mail
 *
 * trust_decide() answers, once per message at MAIL FROM, whether the
 * client is one the site sends mail from, and why. Only such mail is
 * DKIM-signed, routed to SES by the rules, checked against
 * RequireVerifiedSender and Sandbox, and keeps its own X-SES-* headers;
 * mail from anyone else (the internet, in an inbound setup) passes
 * without any of that, the way opendkim's InternalHosts and MTA settings
 * decide what it signs. In the order tried:
 *
 *   TRUST_LOCAL   submitted on this host (TrustLocalSubmission): Postfix
 *                 passes non_smtpd_milters (sendmail(1), pickup) a
 *                 client 127.0.0.1 with port 0, which no TCP client can
 *                 have; Sendmail and Postfix pass no address for a client
 *                 that is not on IPv4 or IPv6 (a local SMTP session on
 *                 stdin, a unix socket).
 *   TRUST_HOST    the client address is in TrustedHosts.
 *   TRUST_AUTH    the client authenticated ({auth_authen} is set) and
 *                 TrustAuthenticated is on.
 *   TRUST_DAEMON  the MTA service that received it ({daemon_name}) is in
 *                 TrustedDaemonNames.
 *
 * DIAGNOSTICS
 *   None: TRUST_NONE is an answer, not an error.
 */
#ifndef SES_MILTER_TRUST_H
#define SES_MILTER_TRUST_H

#include "snapshot.h"

#include <stdbool.h>
#include <sys/socket.h>

typedef enum {
    TRUST_NONE = 0,
    TRUST_LOCAL,
    TRUST_HOST,
    TRUST_AUTH,
    TRUST_DAEMON,
} trust_t;

/* sa: the client's address from the connect step, NULL when the MTA gave
 * none; auth: {auth_authen}; daemon: {daemon_name} (either may be NULL). */
trust_t trust_decide(const snapshot_t *s, const struct sockaddr *sa,
                     const char *auth, const char *daemon);

/* "trusted: local submission", "trusted: TrustedHosts", ..., "untrusted"
 * for log lines. */
const char *trust_name(trust_t t);

#endif
