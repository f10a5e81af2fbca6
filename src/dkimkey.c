/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkimkey.c - DKIM key pairs and the DNS records that publish them
 *
 * Keys come from OpenSSL 3 (EVP_PKEY_Q_keygen). The private key goes
 * through a secure-memory BIO into a file created with O_EXCL and mode
 * 0600, so an existing key - perhaps the one published in DNS - is never
 * replaced.
 *
 * dkimkey_alg_parse() dkimkey_generate() dkimkey_write_private()
 * dkimkey_public() dkimkey_type() dkimkey_signature_algorithm()
 * dkimkey_free() dkimkey_txt_quote()
 *
 * DIAGNOSTICS
 *   See ses_dkimkey.h.
 */
#include "config.h"

#include "ses_dkimkey.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dkimkey {
    dkimkey_alg_t alg;
    EVP_PKEY *pkey;
};

static const struct {
    const char *name;
    dkimkey_alg_t alg;
} algs[] = {
    {"rsa-2048", DKIMKEY_RSA2048},
    {"rsa-3072", DKIMKEY_RSA3072},
    {"ed25519", DKIMKEY_ED25519},
};

int dkimkey_alg_parse(const char *name, dkimkey_alg_t *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
        if (name && str_iequal(name, algs[i].name)) {
            *out = algs[i].alg;
            return 0;
        }
    return -1;
}

static void openssl_error(const char *what, char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    char buf[256];

    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s: %s", what, e ? buf : "unknown OpenSSL error");
    ERR_clear_error();
}

dkimkey_t *dkimkey_generate(dkimkey_alg_t alg, char *err, size_t errlen)
{
    dkimkey_t *k = calloc(1, sizeof(*k));

    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->alg = alg;
    switch (alg) {
    case DKIMKEY_RSA2048:
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case DKIMKEY_RSA3072:
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
        break;
    case DKIMKEY_ED25519:
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    }
    if (k->pkey == NULL) {
        openssl_error("cannot generate the key", err, errlen);
        free(k);
        return NULL;
    }
    return k;
}

void dkimkey_free(dkimkey_t *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

dkimkey_status_t dkimkey_write_private(const dkimkey_t *k, const char *path,
                                       char *err, size_t errlen)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    char *pem = NULL;
    long len;
    int fd = -1;

    if (bio == NULL ||
        !PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL)) {
        openssl_error("cannot encode the private key", err, errlen);
        BIO_free(bio);
        return DKIMKEY_FAIL;
    }
    len = BIO_get_mem_data(bio, &pem);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s%s", path, strerror(e),
                 e == EEXIST ? " (an existing key is never replaced)" : "");
        BIO_free(bio);
        return e == EEXIST ? DKIMKEY_EXISTS : DKIMKEY_FAIL;
    }
    if (fchmod(fd, 0600) < 0 || write_all(fd, pem, (size_t)len) < 0 ||
        fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        BIO_free(bio);
        return DKIMKEY_FAIL;
    }
    BIO_free(bio); /* secure memory: cleared on free */
    if (close(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return DKIMKEY_FAIL;
    }
    return DKIMKEY_OK;
}

int dkimkey_public(const dkimkey_t *k, char *out, size_t outlen)
{
    unsigned char raw[1024], *p = raw;
    size_t n = sizeof(raw);
    int len;

    if (k->alg == DKIMKEY_ED25519) {
        if (!EVP_PKEY_get_raw_public_key(k->pkey, raw, &n))
            return -1;
        len = (int)n;
    } else {
        len = i2d_PUBKEY(k->pkey, NULL);
        if (len <= 0 || (size_t)len > sizeof(raw))
            return -1;
        len = i2d_PUBKEY(k->pkey, &p);
    }
    if (len <= 0 || outlen < 4 * (((size_t)len + 2) / 3) + 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, raw, len);
    return 0;
}

const char *dkimkey_type(const dkimkey_t *k)
{
    return k->alg == DKIMKEY_ED25519 ? "ed25519" : "rsa";
}

const char *dkimkey_signature_algorithm(const dkimkey_t *k)
{
    return k->alg == DKIMKEY_ED25519 ? "ed25519-sha256" : "rsa-sha256";
}

int dkimkey_txt_quote(const char *txt, buf_t *out)
{
    size_t len = strlen(txt);
    int rc = 0;

    if (len == 0)
        return buf_puts(out, "\"\"");
    for (size_t off = 0; off < len; off += DNS_TXT_CHUNK) {
        size_t n = len - off < DNS_TXT_CHUNK ? len - off : DNS_TXT_CHUNK;
        if (off > 0)
            rc |= buf_putc(out, ' ');
        rc |= buf_putc(out, '"');
        for (size_t i = off; i < off + n; i++) {
            if (txt[i] == '"' || txt[i] == '\\')
                rc |= buf_putc(out, '\\');
            rc |= buf_putc(out, txt[i]);
        }
        rc |= buf_putc(out, '"');
    }
    return rc ? -1 : 0;
}
