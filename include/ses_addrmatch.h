/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_addrmatch.h - client address lists (TrustedHosts): addresses and CIDR
 *
 * addrmatch_parse() reads a list of IPv4/IPv6 addresses and networks
 * ("127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32", "[::1]") into an
 * immutable matcher; addrmatch_sockaddr() and addrmatch_string() test one
 * client address against it. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
 * match the IPv4 entries. Host names are not accepted: a list that depends
 * on DNS at every connection is slow and spoofable.
 *
 * DIAGNOSTICS
 *   addrmatch_parse() returns 0, or -1 with "entry: problem" in err. The
 *   matchers never fail: an address that cannot be read matches nothing.
 */
#ifndef SES_ADDRMATCH_H
#define SES_ADDRMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ADDRMATCH_MAX 1024 /* entries per list */

typedef struct addrmatch addrmatch_t;

int addrmatch_parse(const char *const *list, addrmatch_t **out, char *err,
                    size_t errlen);
bool addrmatch_sockaddr(const addrmatch_t *m, const struct sockaddr *sa);
bool addrmatch_string(const addrmatch_t *m, const char *addr);
size_t addrmatch_count(const addrmatch_t *m);
void addrmatch_free(addrmatch_t *m); /* NULL is fine */

#endif
