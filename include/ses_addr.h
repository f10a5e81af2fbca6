/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_addr.h - envelope addresses: parsing, the sendable form, the key
 *
 * Every program reads, converts and compares addresses through this one
 * module:
 *   addr_path()      RFC 5321 "<path>" as an SMTP/LMTP command carries it
 *                    (source route dropped, quoted local parts kept);
 *   addr_unwrap()    an address as an MTA hands it to a milter or a mailer
 *                    ("<a@b>" or a bare a@b);
 *   addr_mailbox()   a mailbox as a header or SES's mail.source writes it
 *                    ("Sender Name <sender@example.com>" -> the address);
 *   addr_sendable()  the form sent to Amazon SES: local part exactly as
 *                    written (it must be ASCII: SES has no SMTPUTF8), the
 *                    domain as IDNA A-labels;
 *   addr_key()       the one comparison key (suppression.db, the milter's
 *                    RCPT TO lookup, ses-suppress, the feedback loop, sync);
 *   addr_safe()      fit for a header field, a sendmail argument and a DSN;
 *   addr_is_null()   the null reverse-path in any of its spellings.
 *
 * The comparison key is the address lower-cased with its domain as IDNA
 * A-labels ("User@Bücher.Example" -> "user@xn--bcher-kva.example"), the
 * form SES reports in notifications. Only ASCII letters change case (in
 * the local part too: RFC 5321 lets a local part be case-sensitive, but
 * every mailbox provider SES delivers to and SES's own suppression list
 * compare it without case); non-ASCII bytes of a local part are kept.
 *
 * UTS #46 mode of the domain conversion (src/idna.c): Nontransitional
 * processing (ß, ς, ZWJ and ZWNJ are encoded, not mapped away, as IDNA2008
 * does), with the mapping step limited to what the relay applies to what
 * it sends: ASCII upper case to lower case and the full stops U+3002,
 * U+FF0E, U+FF61 to '.'. No NFC normalisation and no non-ASCII case
 * folding; CheckHyphens, CheckBidi, CheckJoiners and UseSTD3ASCIIRules are
 * off; A-labels given as such are only lower-cased, not decoded. The key
 * of a U-label address is therefore the A-label ses-relay sends for it,
 * which is the address SES writes in a bounce for it.
 *
 * DIAGNOSTICS
 *   The converters return ADDR_OK (out holds the result), ADDR_SYNTAX (not
 *   an address of the form asked for), ADDR_TOO_LONG (over out or over an
 *   IDNA length limit), ADDR_LOCAL_NON_ASCII (addr_sendable() only) or
 *   ADDR_BAD_UTF8 (a domain that is not UTF-8). On an error out is "".
 *   addr_strerror() names each. Nothing logs.
 */
#ifndef SES_ADDR_H
#define SES_ADDR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ADDR_OK = 0,
    ADDR_SYNTAX,
    ADDR_TOO_LONG,
    ADDR_LOCAL_NON_ASCII,
    ADDR_BAD_UTF8,
} addr_status_t;

#define ADDR_MAX_LEN 320 /* bytes of an address we keep or compare */

/* RFC 5321 path at *pp: blanks, '<', an optional source route
 * ("@a,@b:"), the address (quoted strings may hold '>' and blanks,
 * copied as written), '>', then the end or a blank. *pp is advanced past
 * it and the blanks after it. "<>" gives "". */
addr_status_t addr_path(const char **pp, char *out, size_t outlen);

/* An envelope address as Postfix or Sendmail pass it to a milter
 * (argv[0]) or to a pipe(8) mailer: blanks around it dropped, "<path>" as
 * addr_path() (a path it cannot read is taken up to its first '>'), a bare
 * address as it is. */
addr_status_t addr_unwrap(const char *in, char *out, size_t outlen);

/* A mailbox as a header or SES's mail.source writes it: the address
 * inside the last "<...>" outside a quoted display name, else the whole
 * string without blanks around it. ADDR_SYNTAX when the result has no
 * '@'. */
addr_status_t addr_mailbox(const char *in, char *out, size_t outlen);

/* The form sent to SES: an ASCII address and "" come back as they are; a
 * non-ASCII domain becomes A-labels; a non-ASCII local part is
 * ADDR_LOCAL_NON_ASCII (SES cannot take it). */
addr_status_t addr_sendable(const char *addr, char *out, size_t outlen);

/* The comparison key (see above). ADDR_SYNTAX for an empty local part or
 * domain, no '@', a blank, a control character, '<' or '>'. */
addr_status_t addr_key(const char *addr, char *out, size_t outlen);

/* A short text for a status: "non-ASCII local part not supported by
 * Amazon SES", "malformed UTF-8 in the address", ... */
const char *addr_strerror(addr_status_t st);

/* The local part (before the last '@') has a byte outside ASCII. */
bool addr_local_non_ascii(const char *addr);

/* Printable ASCII without blanks or any of <>()[]\,;" , with an '@', not
 * starting with '-', at most ADDR_MAX_LEN bytes: safe to write into a
 * header field and to pass as a sendmail argument. */
bool addr_safe(const char *addr);

/* NULL, "", "<>" or "MAILER-DAEMON" (what pipe(8) and Sendmail write for
 * the null sender unless told otherwise). */
bool addr_is_null(const char *addr);

#endif
