/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * keyfile.c - DKIM private key files: read, checked and parsed once
 *
 * A key file is opened once, checked on its descriptor (regular, bounded,
 * and under RequireSafeKeys not open to others), read whole and parsed
 * with OpenSSL. The parsed key is written back as PKCS#8 PEM through a
 * secure-heap BIO: that canonical text is what libopendkim gets, so the
 * key cache (keycache.c) can recognise it byte for byte. Every copy of
 * the key text is wiped before it is freed.
 *
 * DIAGNOSTICS
 *   See ses_keyfile.h.
 */
#include "config.h"

#include "ses_keyfile.h"
#include "ses_daemon.h"
#include "ses_filecheck.h"
#include "ses_log.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

bool keyfile_reader_get(const char *userid, keyfile_reader_t *r, char *err,
                        size_t errlen)
{
    daemon_user_t u;
    char msg[300];

    if (userid == NULL) {
        r->uid = geteuid();
        return true;
    }
    if (daemon_userid_lookup(userid, &u, msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "UserID: %s", msg);
        return false;
    }
    r->uid = u.uid;
    return true;
}

/* opendkim's RequireSafeKeys rule (dkimf_securefile): nobody but root
 * and the milter's user may read or change the key - it belongs to one of
 * them, no read or write bits for every user, none for a group with
 * another member - and no directory above it lets anyone else replace
 * it. */
bool keyfile_safe(const char *path, const struct stat *st,
                  const keyfile_reader_t *r, char *why, size_t whylen)
{
    return filecheck_why(path, st, r->uid, FILECHECK_READ, why, whylen) ==
           FILECHECK_OK;
}

const char *keyfile_type_name(keyfile_type_t t)
{
    return t == KEYFILE_ED25519 ? "Ed25519" : "RSA";
}

void keyfile_free(keyfile_key_t *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    if (k->pem) {
        secure_zero(k->pem, k->pemlen);
        free(k->pem);
    }
    free(k->label);
    free(k);
}

/* The key in text: PEM, or base64 DER as opendkim allows inline. */
static EVP_PKEY *pkey_read(const char *text, size_t len)
{
    EVP_PKEY *pkey = NULL;
    size_t cap = len / 4 * 3 + 3;
    unsigned char *der;
    const unsigned char *p;
    int dl;

    if (len >= 5 && strncmp(text, "-----", 5) == 0) {
        BIO *in = BIO_new_mem_buf(text, (int)len);
        if (in)
            pkey = PEM_read_bio_PrivateKey_ex(in, NULL, NULL, NULL, NULL, NULL);
        BIO_free(in);
        return pkey;
    }
    if ((der = malloc(cap)) == NULL)
        return NULL;
    dl = EVP_DecodeBlock(der, (const unsigned char *)text, (int)len);
    if (dl > 0) {
        /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
        for (size_t i = len; i > 0 && text[i - 1] == '='; i--)
            dl--;
        p = der;
        pkey = d2i_AutoPrivateKey(NULL, &p, dl);
    }
    secure_zero(der, cap);
    free(der);
    return pkey;
}

keyfile_key_t *keyfile_parse(const char *label, const char *text, size_t len,
                             char *err, size_t errlen)
{
    keyfile_key_t *k = calloc(1, sizeof(*k));
    BIO *out = NULL;
    char *pem;
    long n;

    if (k == NULL || (k->label = strdup(label)) == NULL)
        goto oom;
    if ((k->pkey = pkey_read(text, len)) == NULL) {
        snprintf(err, errlen, "%s: not a private key (PEM or base64 DER)",
                 label);
        goto fail;
    }
    switch (EVP_PKEY_get_base_id(k->pkey)) {
    case EVP_PKEY_RSA:
        k->type = KEYFILE_RSA;
        k->bits = EVP_PKEY_get_bits(k->pkey);
        if (k->bits < 1024) {
            snprintf(err, errlen,
                     "%s: RSA key of %d bits; DKIM verifiers need at least "
                     "1024 (2048 recommended)",
                     label, k->bits);
            goto fail;
        }
        break;
    case EVP_PKEY_ED25519:
        k->type = KEYFILE_ED25519;
        k->bits = 256;
        break;
    default:
        snprintf(err, errlen, "%s: neither an RSA nor an Ed25519 key", label);
        goto fail;
    }
    if ((out = BIO_new(BIO_s_secmem())) == NULL ||
        PEM_write_bio_PrivateKey(out, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
        goto oom;
    n = BIO_get_mem_data(out, &pem);
    if (n <= 0 || (k->pem = malloc((size_t)n + 1)) == NULL)
        goto oom;
    memcpy(k->pem, pem, (size_t)n);
    k->pem[n] = '\0';
    k->pemlen = (size_t)n;
    BIO_free(out); /* secure heap: the key text is wiped */
    return k;
oom:
    snprintf(err, errlen, "%s: out of memory", label);
fail:
    BIO_free(out);
    keyfile_free(k);
    return NULL;
}

keyfile_key_t *keyfile_load(const char *path, const keyfile_reader_t *reader,
                            bool require, char *err, size_t errlen)
{
    keyfile_key_t *k = NULL;
    struct stat st;
    char *text = NULL, why[200];
    size_t len = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > KEYFILE_MAX_BYTES) {
        snprintf(err, errlen,
                 "key file %s is not a regular file of at most %d bytes", path,
                 KEYFILE_MAX_BYTES);
        goto out;
    }
    if (!keyfile_safe(path, &st, reader, why, sizeof(why))) {
        if (require) {
            snprintf(err, errlen,
                     "key file %s %s (RequireSafeKeys yes refuses it)", path,
                     why);
            goto out;
        }
        log_warning(NULL, "key file %s %s (RequireSafeKeys no: used anyway)",
                    path, why);
    }
    if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (len < (size_t)st.st_size &&
           ((r = read(fd, text + len, (size_t)st.st_size - len)) > 0 ||
            (r < 0 && errno == EINTR)))
        if (r > 0)
            len += (size_t)r;
    text[len] = '\0';
    k = keyfile_parse(path, text, len, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    if (text) {
        secure_zero(text, len);
        free(text);
    }
    return k;
}
