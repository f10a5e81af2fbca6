/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_dkim.h - DKIM signing with libopendkim, keys loaded once per snapshot
 *
 * dkim_signer_load() reads the signing setup of a configuration snapshot:
 * either KeyTable + SigningTable in opendkim's syntax (KeyTable file:PATH,
 * lines "NAME DOMAIN:SELECTOR:KEY"; SigningTable file:PATH or refile:PATH,
 * lines "PATTERN NAME [SIGNER]") or the single Domain/Selector/KeyFile. It
 * reads, checks and parses every private key once (RequireSafeKeys refuses
 * key files whose read or write bits are set for others, or for a group the
 * milter's user is not in, as opendkim does), and signs a test message with
 * each through libopendkim, so a key libopendkim cannot use is a
 * configuration error, not a surprise at the first message.
 *
 * Per message: dkim_signing_start() picks the key for the From header
 * (opendkim's SigningTable lookup order), dkim_signing_header()/_eoh()/
 * _body() feed the message, dkim_signing_finish() returns the
 * DKIM-Signature value. libopendkim parses a private key at every
 * signature; ses-milter's interposer (milter/interpose.c) hands it the key
 * parsed at load time instead, through dkim_cached_key(), so a signature
 * costs the RSA or Ed25519 operation and the hashing, nothing more.
 *
 * Signed headers: a fixed list of the headers a verifier cares about
 * (From, To, Subject, MIME headers, List-*, ...), never Message-ID, Date,
 * Return-Path, Bounces-To or any X-SES-* header, which Amazon SES rewrites
 * or removes; OversignHeaders (default From) are signed once more than they
 * occur.
 *
 * DIAGNOSTICS
 *   dkim_signer_load() returns CONF_OK (and a NULL signer when no signing
 *   is configured), CONF_NOFILE or CONF_INVALID with "file:line: message"
 *   in err. dkim_signing_*() return SIGNER_OK, SIGNER_NOKEY (no key for
 *   this sender: the message goes unsigned) or SIGNER_FAIL with a message
 *   in err. Nothing here logs, exits or aborts.
 */
#ifndef SES_DKIM_H
#define SES_DKIM_H

#include "ses_conf.h"

#include <stdbool.h>
#include <stddef.h>

#define DKIM_MAX_KEYS      10000
#define DKIM_MAX_KEY_FILE  (64 * 1024)
#define DKIM_SIGNATURE_MAX 4096 /* bytes of a DKIM-Signature value */

typedef enum {
    SIGNER_OK = 0,
    SIGNER_NOKEY,
    SIGNER_FAIL,
} signer_status_t;

typedef struct dkim_signer dkim_signer_t;   /* per snapshot, immutable */
typedef struct dkim_signing dkim_signing_t; /* one message */

conf_status_t dkim_signer_load(const conf_t *c, dkim_signer_t **out, char *err,
                               size_t errlen);
size_t dkim_signer_key_count(const dkim_signer_t *s);
void dkim_signer_free(dkim_signer_t *s); /* NULL is fine */

/* The headers ses-milter signs and those it never signs. */
bool dkim_header_signed(const char *name);
bool dkim_header_forbidden(const char *name);

/* from: the raw From header value. */
signer_status_t dkim_signing_start(const dkim_signer_t *s, const char *from,
                                   const char *queue_id, dkim_signing_t **out,
                                   char *err, size_t errlen);
/* value as libmilter hands it; leadspc: it still has the blank after the
 * colon (SMFIP_HDR_LEADSPC). */
signer_status_t dkim_signing_header(dkim_signing_t *j, const char *name,
                                    const char *value, bool leadspc);
signer_status_t dkim_signing_eoh(dkim_signing_t *j);
signer_status_t dkim_signing_body(dkim_signing_t *j, const unsigned char *buf,
                                  size_t len);
/* Writes the DKIM-Signature header value (no name) into out. */
signer_status_t dkim_signing_finish(dkim_signing_t *j, char *out,
                                    size_t outlen);
const char *dkim_signing_domain(const dkim_signing_t *j);
const char *dkim_signing_selector(const dkim_signing_t *j);
const char *dkim_signing_error(const dkim_signing_t *j);
/* True when libopendkim signed with the key parsed at load time (the
 * interposer is in place) rather than parsing it again. */
bool dkim_signing_used_cached_key(const dkim_signing_t *j);
void dkim_signing_free(dkim_signing_t *j); /* NULL is fine */

/* For the PEM_read_bio_PrivateKey() interposer: when this thread is inside
 * a libopendkim call for a signature and bio holds that signature's key
 * text, a new reference to the key parsed at load time; else NULL. */
struct bio_st;
struct evp_pkey_st;
struct evp_pkey_st *dkim_cached_key(struct bio_st *bio);

#endif
