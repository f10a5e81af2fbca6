/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_keytable.h - which DKIM key signs for which sender
 *
 * keytable_load() reads the signing setup of a configuration: either
 * KeyTable + SigningTable in opendkim's syntax (KeyTable file:PATH, lines
 * "NAME DOMAIN:SELECTOR:KEY"; SigningTable file:PATH or refile:PATH, lines
 * "PATTERN NAME [SIGNER]") or the single Domain/Selector/KeyFile. Every
 * key is loaded once through keyfile_load() (the same file named twice is
 * one key), or parsed inline; SignatureAlgorithm, when set, must match
 * every key's type. An unknown key name in the SigningTable is an error
 * with its line.
 *
 * keytable_lookup() finds the entry for a sender as opendkim does: for
 * "file:" tables user@host, host, user@.parent (each parent domain),
 * .parent, user@*, *; for "refile:" tables the patterns (* wildcards,
 * case-insensitive) in file order. "%" as the KeyTable domain (a NULL
 * domain here) or in the SigningTable signer means the From domain.
 *
 * DIAGNOSTICS
 *   keytable_load() returns CONF_OK (and a NULL table when no signing is
 *   configured), CONF_NOFILE or CONF_INVALID with "file:line: message" or
 *   "file: message" in err. Nothing here logs, exits or aborts.
 */
#ifndef SES_KEYTABLE_H
#define SES_KEYTABLE_H

#include "ses_conf.h"
#include "ses_keyfile.h"

#include <stdbool.h>
#include <stddef.h>

#define KEYTABLE_MAX_KEYS 10000
#define KEYTABLE_ADDR_MAX 320 /* bytes of a SigningTable pattern */

typedef struct keytable keytable_t;

typedef struct {
    char *name;
    char *domain; /* NULL: "%", the From domain */
    char *selector;
    const keyfile_key_t *key;
} keytable_entry_t;

conf_status_t keytable_load(const conf_t *c, keytable_t **out, char *err,
                            size_t errlen);
size_t keytable_key_count(const keytable_t *t); /* distinct keys */
size_t keytable_count(const keytable_t *t);     /* KeyTable entries */
const keytable_entry_t *keytable_entry(const keytable_t *t, size_t i);
/* user and host lower case. NULL when no entry matches; else the entry,
 * and in *signer the SigningTable's SIGNER field (NULL when absent). */
const keytable_entry_t *keytable_lookup(const keytable_t *t, const char *user,
                                        const char *host, const char **signer);
void keytable_free(keytable_t *t); /* NULL is fine */

#endif
