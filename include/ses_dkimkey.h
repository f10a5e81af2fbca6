/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_dkimkey.h - DKIM key pairs and the DNS records that publish them
 *
 * dkimkey_generate() makes an RSA-2048, RSA-3072 or Ed25519 key pair;
 * dkimkey_write_private() stores the private key as PEM (PKCS#8) in a new
 * file of mode 0600 and never replaces an existing one;
 * dkimkey_public() gives the p= value of the DKIM record (RFC 6376: the
 * base64 SubjectPublicKeyInfo for RSA; RFC 8463: the base64 of the raw
 * 32-byte key for Ed25519). dkimkey_txt_quote() splits a TXT value into the
 * quoted character-strings of at most 255 bytes that DNS needs.
 *
 * DIAGNOSTICS
 *   dkimkey_generate() returns NULL with a message in err.
 *   dkimkey_write_private() returns DKIMKEY_OK, DKIMKEY_EXISTS (the file is
 *   there and was left alone) or DKIMKEY_FAIL, with a message in err.
 *   Nothing here logs or exits; private key bytes are wiped after use.
 */
#ifndef SES_DKIMKEY_H
#define SES_DKIMKEY_H

#include "ses_util.h"

#include <stddef.h>

typedef enum {
    DKIMKEY_RSA2048,
    DKIMKEY_RSA3072,
    DKIMKEY_ED25519,
} dkimkey_alg_t;

typedef enum {
    DKIMKEY_OK = 0,
    DKIMKEY_EXISTS,
    DKIMKEY_FAIL,
} dkimkey_status_t;

#define DNS_TXT_CHUNK 255 /* bytes per TXT character-string */

typedef struct dkimkey dkimkey_t;

/* "rsa-2048", "rsa-3072", "ed25519"; -1 when unknown. */
int dkimkey_alg_parse(const char *name, dkimkey_alg_t *out);

dkimkey_t *dkimkey_generate(dkimkey_alg_t alg, char *err, size_t errlen);
void dkimkey_free(dkimkey_t *k); /* NULL is fine */

dkimkey_status_t dkimkey_write_private(const dkimkey_t *k, const char *path,
                                       char *err, size_t errlen);
/* The p= value (base64), NUL-terminated, into out; -1 when it does not
 * fit. */
int dkimkey_public(const dkimkey_t *k, char *out, size_t outlen);
/* "rsa" or "ed25519", the k= tag. */
const char *dkimkey_type(const dkimkey_t *k);
/* The signing algorithm for ses-milter's SignatureAlgorithm key. */
const char *dkimkey_signature_algorithm(const dkimkey_t *k);

/* Appends txt as "..." "..." (chunks of at most DNS_TXT_CHUNK bytes,
 * '"' and '\' escaped) to out; 0, or -1 when out is full. */
int dkimkey_txt_quote(const char *txt, buf_t *out);

#endif
