/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_keyfile.h - DKIM private key files: read, checked and parsed once
 *
 * keyfile_load() reads a private key file (a regular file of at most
 * KEYFILE_MAX_BYTES), refuses it when RequireSafeKeys applies and anyone
 * but root and the milter's user could read or change it (opendkim's rule,
 * keyfile_safe(): the owner, every user, a group with another member, a
 * directory above it), and parses it with keyfile_parse().
 * keyfile_parse() takes PEM or base64 DER (opendkim's inline KeyTable
 * keys), accepts RSA of at least 1024 bits and Ed25519, and keeps the key
 * both parsed (an EVP_PKEY) and as canonical PKCS#8 PEM, the text handed
 * to libopendkim. keyfile_reader_get() finds who may read key files: the
 * user of UserID, or this process's.
 *
 * Key generation for ses-keygen is another module (ses_dkimkey.h).
 *
 * DIAGNOSTICS
 *   keyfile_load() and keyfile_parse() return NULL with a message naming
 *   the file (or the key's label) in err; keyfile_reader_get() returns
 *   false with "UserID: ..." in err. Key text is wiped after use. Nothing
 *   here logs, exits or aborts.
 */
#ifndef SES_KEYFILE_H
#define SES_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define KEYFILE_MAX_BYTES (64 * 1024)

typedef enum {
    KEYFILE_RSA = 0,
    KEYFILE_ED25519,
    KEYFILE__TYPES,
} keyfile_type_t;

struct evp_pkey_st;

typedef struct {
    char *label;              /* the path, or "inline key at line N" */
    struct evp_pkey_st *pkey; /* parsed once */
    char *pem;                /* canonical PKCS#8 text of pkey */
    size_t pemlen;
    keyfile_type_t type;
    int bits;
} keyfile_key_t;

/* Who may read key files: the user the milter runs as. */
typedef struct {
    uid_t uid;
} keyfile_reader_t;

/* userid: "user[:group]" (UserID), or NULL for this process. */
bool keyfile_reader_get(const char *userid, keyfile_reader_t *r, char *err,
                        size_t errlen);
/* False with the reason in why when anyone but root and r could read or
 * change the file at path (st: its fstat()): opendkim's rule, through
 * filecheck_why(FILECHECK_READ). */
bool keyfile_safe(const char *path, const struct stat *st,
                  const keyfile_reader_t *r, char *why, size_t whylen);

/* path: absolute. reader: the reader the key must be safe from; require
 * (RequireSafeKeys): an unsafe key is refused, else used with a warning
 * logged. */
keyfile_key_t *keyfile_load(const char *path, const keyfile_reader_t *reader,
                            bool require, char *err, size_t errlen);
/* label names the key in messages (it is copied). */
keyfile_key_t *keyfile_parse(const char *label, const char *text, size_t len,
                             char *err, size_t errlen);
const char *keyfile_type_name(keyfile_type_t t); /* "RSA", "Ed25519" */
void keyfile_free(keyfile_key_t *k);             /* NULL is fine */

#endif
