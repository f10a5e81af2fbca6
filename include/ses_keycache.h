/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_keycache.h - parsed DKIM keys handed to libopendkim without parsing
 *
 * libopendkim takes a private key as text and parses it at every
 * signature (PEM_read_bio_PrivateKey() in its dkim_privkey_load()), about
 * a third of a millisecond for RSA-2048, more than the signature itself.
 * The signer (signer.c) brackets each libopendkim call that may load the
 * key with keycache_enter()/keycache_leave(); a replacement of
 * PEM_read_bio_PrivateKey() (the milter's seam, milter/seam.c) asks
 * keycache_lookup(), which returns the key parsed at load time when the
 * BIO holds exactly that key's text. Without the seam libopendkim parses
 * the same text and signs the same way, only slower.
 *
 * keycache_prepare() learns, once per key type and process, whether
 * libopendkim frees the key it signed with (2.11 frees an RSA key, never
 * an Ed25519 one): a key it keeps must not get a reference per signature,
 * a key it frees must.
 *
 * DIAGNOSTICS
 *   keycache_lookup() returns NULL for any BIO it does not recognise (the
 *   caller parses it as usual). keycache_prepare() returns the signing
 *   function's result, or false with a message in err when OpenSSL cannot
 *   copy the key. Nothing here logs, exits, or takes a lock.
 */
#ifndef SES_KEYCACHE_H
#define SES_KEYCACHE_H

#include "ses_keyfile.h"

#include <stdbool.h>
#include <stddef.h>

/* k is the key of the signature this thread is about to make. */
void keycache_enter(const keyfile_key_t *k);
/* Ends keycache_enter(); true when keycache_lookup() handed k over since
 * then. */
bool keycache_leave(void);

/* Signs a test message with the key of the entry in ctx. */
typedef bool (*keycache_sign_fn)(void *ctx, char *err, size_t errlen);
/* Before k is first used: sign() once, with a copy of k that reports its
 * own release, when ownership of k's type is not known yet. */
bool keycache_prepare(const keyfile_key_t *k, keycache_sign_fn sign, void *ctx,
                      char *err, size_t errlen);

/* True once a keycache_prepare() probe was handed to libopendkim: its
 * key parsing reaches the cache in this process. */
bool keycache_reached(void);

/* For a PEM_read_bio_PrivateKey() replacement: a reference to the parsed
 * key when this thread is inside keycache_enter() and bio holds that key's
 * text, else NULL. */
struct bio_st;
struct evp_pkey_st *keycache_lookup(struct bio_st *bio);

#endif
