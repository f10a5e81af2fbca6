/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trust.c - whether a message is the site's own mail
 *
 * DIAGNOSTICS
 *   See trust.h.
 */
#include "config.h"

#include "trust.h"

#include <netinet/in.h>
#include <string.h>

/* Postfix's connect step for non_smtpd_milters: "localhost", 127.0.0.1,
 * port 0 (a real TCP peer never has port 0), or no address at all. */
static bool local_submission(const struct sockaddr *sa)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

    if (sa == NULL)
        return true;
    return sa->sa_family == AF_INET && sin->sin_port == 0 &&
           sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
}

trust_t trust_decide(const snapshot_t *s, const struct sockaddr *sa,
                     const char *auth, const char *daemon)
{
    if (s->trust_local && local_submission(sa))
        return TRUST_LOCAL;
    if (sa && addrmatch_sockaddr(s->trusted, sa))
        return TRUST_HOST;
    if (s->trust_auth && auth && *auth)
        return TRUST_AUTH;
    if (daemon && *daemon)
        for (const char *const *d = s->trusted_daemons; *d; d++)
            if (strcmp(*d, daemon) == 0)
                return TRUST_DAEMON;
    return TRUST_NONE;
}

const char *trust_name(trust_t t)
{
    switch (t) {
    case TRUST_LOCAL:
        return "trusted: local submission";
    case TRUST_HOST:
        return "trusted: TrustedHosts";
    case TRUST_AUTH:
        return "trusted: SMTP AUTH";
    case TRUST_DAEMON:
        return "trusted: TrustedDaemonNames";
    case TRUST_NONE:
        break;
    }
    return "untrusted";
}
