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
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
    char user[256], *colon;
    struct passwd *pw;

    if (userid == NULL) {
        r->uid = geteuid();
        r->ngroups = getgroups((int)ARRAY_SIZE(r->groups) - 1, r->groups);
        if (r->ngroups < 0)
            r->ngroups = 0;
        r->groups[r->ngroups++] = getegid();
        return true;
    }
    str_copy(user, userid, sizeof(user));
    if ((colon = strchr(user, ':')) != NULL)
        *colon = '\0';
    if ((pw = getpwnam(user)) == NULL) {
        snprintf(err, errlen, "UserID: no such user \"%s\"", user);
        return false;
    }
    r->uid = pw->pw_uid;
    r->ngroups = (int)ARRAY_SIZE(r->groups) - 1;
    if (getgrouplist(user, pw->pw_gid, r->groups, &r->ngroups) < 0)
        r->ngroups = (int)ARRAY_SIZE(r->groups) - 1;
    if (colon) {
        struct group *gr = getgrnam(colon + 1);
        if (gr == NULL) {
            snprintf(err, errlen, "UserID: no such group \"%s\"", colon + 1);
            return false;
        }
        r->groups[r->ngroups++] = gr->gr_gid;
    }
    return true;
}

/* opendkim's RequireSafeKeys rule: no read or write bits for others, none
 * for a group the milter's user is not in. */
bool keyfile_safe(const struct stat *st, const keyfile_reader_t *r, char *why,
                  size_t whylen)
{
    if (st->st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(why, whylen,
                 "is readable or writable by every user "
                 "(mode %04o; chmod 600 it)",
                 (unsigned)(st->st_mode & 07777));
        return false;
    }
    if (st->st_mode & (S_IRGRP | S_IWGRP)) {
        for (int i = 0; i < r->ngroups; i++)
            if (r->groups[i] == st->st_gid)
                return true;
        snprintf(why, whylen,
                 "is readable or writable by group %lu, which the milter's "
                 "user is not in (mode %04o)",
                 (unsigned long)st->st_gid, (unsigned)(st->st_mode & 07777));
        return false;
    }
    return true;
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

keyfile_key_t *keyfile_load(const char *path, const keyfile_reader_t *safe,
                            char *err, size_t errlen)
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
    if (safe && !keyfile_safe(&st, safe, why, sizeof(why))) {
        snprintf(err, errlen, "key file %s %s (RequireSafeKeys yes refuses it)",
                 path, why);
        goto out;
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
