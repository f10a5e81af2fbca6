/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_idna.h - non-ASCII (SMTPUTF8) addresses made acceptable to SES
 *
 * Amazon SES takes only ASCII addresses. A domain written in Unicode can
 * be sent in its ASCII form ("xn--" + RFC 3492 Punycode per label); a
 * non-ASCII local part has no ASCII form and must be refused (5.6.7).
 *
 * idna_punycode_encode() is the RFC 3492 encoder. idna_domain_to_ascii()
 * turns a UTF-8 domain into its ACE form label by label. Whole addresses
 * (the form sent to SES, the comparison key) are ses_addr.h's.
 *
 * What is not done: Unicode normalisation and case folding (UTS #46
 * mapping) of non-ASCII characters. The domain is encoded exactly as the
 * sender wrote it; only ASCII letters in a non-ASCII label are lower-cased.
 * Senders that write non-normalised domains get the A-label of what they
 * wrote, as with any MTA that does not map.
 *
 * DIAGNOSTICS
 *   Every function returns IDNA_OK (out holds the ASCII form), or
 *   IDNA_BAD_UTF8 (malformed UTF-8,
 *   overlong forms, surrogates), IDNA_TOO_LONG (a label over 63 or a
 *   domain over 253 octets once encoded, or out too small). Nothing logs.
 */
#ifndef SES_IDNA_H
#define SES_IDNA_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    IDNA_OK = 0,
    IDNA_BAD_UTF8,
    IDNA_TOO_LONG,
} idna_status_t;

#define IDNA_MAX_LABEL  63
#define IDNA_MAX_DOMAIN 253

/* RFC 3492 section 6.3: code points in, basic (ASCII) string out. */
idna_status_t idna_punycode_encode(const uint32_t *cp, size_t n, char *out,
                                   size_t outlen);

/* "bücher.example" -> "xn--bcher-kva.example". ASCII labels are copied
 * unchanged; the IDNA full stops U+3002, U+FF0E and U+FF61 separate
 * labels like '.'. */
idna_status_t idna_domain_to_ascii(const char *domain, char *out,
                                   size_t outlen);

/* true when s has a byte outside ASCII */
int idna_is_non_ascii(const char *s);

#endif
