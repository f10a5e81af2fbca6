/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * keycache.c - parsed DKIM keys handed to libopendkim without parsing
 *
 * The key of the signature in progress is a thread-local pointer set by
 * keycache_enter(); keycache_lookup() compares the BIO's bytes with that
 * key's canonical PEM (keyfile.c wrote it, the signer gave exactly that
 * text to libopendkim), so any other PEM_read_bio_PrivateKey() call in the
 * process is left alone. No lock is taken on this path.
 *
 * Ownership probe (keycache_prepare): a copy of the key, known only to
 * libopendkim, carries ex_data whose free callback records its release;
 * one signature with it tells whether libopendkim frees what it gets. When
 * the copy is not taken (no seam in this process) nothing is learned and
 * the copy is freed here.
 *
 * DIAGNOSTICS
 *   See ses_keycache.h.
 */
#include "config.h"

#include "ses_keycache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

/* The signature in progress on this thread. */
static _Thread_local const keyfile_key_t *tls_key;
static _Thread_local bool tls_hit;
/* A key to hand over instead, owned by libopendkim (the probe). */
static _Thread_local EVP_PKEY *tls_probe;

enum { OWN_UNKNOWN = 0, OWN_FREES, OWN_KEEPS };
static atomic_int lib_owns[KEYFILE__TYPES];

static int probe_index = -1;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

void keycache_enter(const keyfile_key_t *k)
{
    tls_hit = false;
    tls_key = k;
}

bool keycache_leave(void)
{
    tls_key = NULL;
    return tls_hit;
}

struct evp_pkey_st *keycache_lookup(struct bio_st *bio)
{
    const keyfile_key_t *k = tls_key;
    EVP_PKEY *probe = tls_probe;
    char *data;
    long n;

    if (k == NULL || BIO_method_type(bio) != BIO_TYPE_MEM)
        return NULL;
    n = BIO_get_mem_data(bio, &data);
    if (n != (long)k->pemlen || memcmp(data, k->pem, k->pemlen) != 0)
        return NULL;
    tls_hit = true;
    if (probe) {
        tls_probe = NULL;
        return probe;
    }
    if (atomic_load(&lib_owns[k->type]) != OWN_KEEPS &&
        EVP_PKEY_up_ref(k->pkey) != 1)
        return NULL;
    return k->pkey;
}

static void probe_freed(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                        long argl, void *argp)
{
    if (ptr)
        *(bool *)ptr = true;
}

static void probe_init(void)
{
    probe_index = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL, probe_freed);
}

bool keycache_reached(void)
{
    for (int t = 0; t < KEYFILE__TYPES; t++)
        if (atomic_load(&lib_owns[t]) != OWN_UNKNOWN)
            return true;
    return false;
}

bool keycache_prepare(const keyfile_key_t *k, keycache_sign_fn sign, void *ctx,
                      char *err, size_t errlen)
{
    bool freed = false, ok;
    EVP_PKEY *p;

    if (atomic_load(&lib_owns[k->type]) != OWN_UNKNOWN)
        return true;
    pthread_once(&probe_once, probe_init);
    if (probe_index < 0 || (p = EVP_PKEY_dup(k->pkey)) == NULL) {
        snprintf(err, errlen, "%s: OpenSSL cannot copy the key", k->label);
        return false;
    }
    if (EVP_PKEY_set_ex_data(p, probe_index, &freed) != 1) {
        EVP_PKEY_free(p);
        snprintf(err, errlen, "%s: OpenSSL cannot copy the key", k->label);
        return false;
    }
    tls_probe = p;
    ok = sign(ctx, err, errlen);
    if (tls_probe != NULL) { /* not taken: no seam */
        tls_probe = NULL;
        EVP_PKEY_free(p);
        return ok;
    }
    if (!freed) {
        EVP_PKEY_set_ex_data(p, probe_index, NULL);
        EVP_PKEY_free(p);
    }
    atomic_store(&lib_owns[k->type], freed ? OWN_FREES : OWN_KEEPS);
    return ok;
}
