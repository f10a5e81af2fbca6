/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_signer.h - DKIM signing with libopendkim, keys loaded once per snapshot
 *
 * signer_load() builds the signer of a configuration snapshot: the keys
 * and tables (ses_keytable.h, ses_keyfile.h), one DKIM_LIB holding the
 * header lists, and a test signature through libopendkim with every key,
 * so a key libopendkim cannot use is a configuration error, not a surprise
 * at the first message.
 *
 * Per message: signer_msg_start() picks the key for the From header
 * (opendkim's SigningTable lookup order), signer_msg_header()/_eoh()/
 * _body() feed the message, signer_msg_finish() returns the
 * DKIM-Signature value. The key libopendkim parses at every signature is
 * handed over already parsed when the process has the seam that consults
 * the key cache (ses_keycache.h), so a signature costs the RSA or Ed25519
 * operation and the hashing, nothing more.
 *
 * Signed headers: a fixed list of the headers a verifier cares about
 * (From, To, Subject, MIME headers, List-*, ...), never Message-ID, Date,
 * Return-Path, Bounces-To or any X-SES-* header, which Amazon SES rewrites
 * or removes; OversignHeaders (default From) are signed once more than they
 * occur.
 *
 * DIAGNOSTICS
 *   signer_load() returns CONF_OK (and a NULL signer when no signing is
 *   configured), CONF_NOFILE or CONF_INVALID with "file:line: message" in
 *   err. signer_msg_*() return SIGNER_OK, SIGNER_NOKEY (no key for this
 *   sender: the message goes unsigned) or SIGNER_FAIL with a message in
 *   err or signer_msg_error(). Nothing here logs, exits or aborts.
 */
#ifndef SES_SIGNER_H
#define SES_SIGNER_H

#include "ses_conf.h"

#include <stdbool.h>
#include <stddef.h>

#define SIGNER_SIGNATURE_MAX 4096 /* bytes of a DKIM-Signature value */

typedef enum {
    SIGNER_OK = 0,
    SIGNER_NOKEY,
    SIGNER_FAIL,
} signer_status_t;

typedef struct signer signer_t;         /* per snapshot, immutable */
typedef struct signer_msg signer_msg_t; /* one message */

conf_status_t signer_load(const conf_t *c, signer_t **out, char *err,
                          size_t errlen);
size_t signer_key_count(const signer_t *s);
void signer_free(signer_t *s); /* NULL is fine */

/* The headers ses-milter signs and those it never signs. */
bool signer_header_signed(const char *name);
bool signer_header_forbidden(const char *name);

/* from: the raw From header value. */
signer_status_t signer_msg_start(const signer_t *s, const char *from,
                                 const char *queue_id, signer_msg_t **out,
                                 char *err, size_t errlen);
/* value as libmilter hands it; leadspc: it still has the blank after the
 * colon (SMFIP_HDR_LEADSPC). */
signer_status_t signer_msg_header(signer_msg_t *j, const char *name,
                                  const char *value, bool leadspc);
signer_status_t signer_msg_eoh(signer_msg_t *j);
signer_status_t signer_msg_body(signer_msg_t *j, const unsigned char *buf,
                                size_t len);
/* Writes the DKIM-Signature header value (no name) into out. */
signer_status_t signer_msg_finish(signer_msg_t *j, char *out, size_t outlen);
const char *signer_msg_domain(const signer_msg_t *j);
const char *signer_msg_selector(const signer_msg_t *j);
const char *signer_msg_error(const signer_msg_t *j);
/* True when libopendkim signed with the key parsed at load time (the key
 * cache was reached) rather than parsing it again. */
bool signer_msg_used_cached_key(const signer_msg_t *j);
void signer_msg_free(signer_msg_t *j); /* NULL is fine */

#endif
