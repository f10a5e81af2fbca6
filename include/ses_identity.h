/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_identity.h - SES verified identities (VerifiedIdentities)
 *
 * identity_parse() reads a list of SES identities: entries with an '@' are
 * email address identities, the others domain identities. As in SES, a
 * verified domain covers every address at the domain and at its
 * subdomains ("example.com" covers "a@mail.example.com"). Comparison is
 * case-insensitive. identity_verified() tells whether an address may be
 * used; identity_sandbox_ok() adds what the SES sandbox also allows as a
 * recipient: the mailbox simulator (anything@simulator.amazonses.com).
 *
 * DIAGNOSTICS
 *   identity_parse() returns 0, or -1 with "entry: problem" in err.
 */
#ifndef SES_IDENTITY_H
#define SES_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#define IDENTITY_MAX 10000 /* SES allows 10,000 identities per region */

typedef struct identity identity_t;

int identity_parse(const char *const *list, identity_t **out, char *err,
                   size_t errlen);
/* addr is "user@domain" (no angle brackets). */
bool identity_verified(const identity_t *ids, const char *addr);
bool identity_sandbox_ok(const identity_t *ids, const char *addr);
size_t identity_count(const identity_t *ids);
void identity_free(identity_t *ids); /* NULL is fine */

#endif
