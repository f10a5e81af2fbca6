/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addrmatch.c - client address lists (TrustedHosts): addresses and CIDR
 *
 * Every entry is kept as a 16-byte IPv6 address and a prefix length; IPv4
 * entries and addresses are mapped into ::ffff:0:0/96 first, so one
 * comparison serves both families. A list is small and read at every
 * connection, so it is a flat array scanned in order.
 *
 * DIAGNOSTICS
 *   See ses_addrmatch.h.
 */
#include "config.h"

#include "ses_addrmatch.h"
#include "ses_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char addr[16];
    unsigned bits; /* 0..128, counted on the mapped form */
} net_t;

struct addrmatch {
    size_t n;
    net_t net[];
};

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                           0, 0, 0, 0, 0xff, 0xff};

/* Reads an IPv4 or IPv6 address (optionally in brackets) into the mapped
 * form; *is_v4 tells which it was. */
static bool parse_addr(const char *s, size_t len, unsigned char out[16],
                       bool *is_v4)
{
    char buf[INET6_ADDRSTRLEN + 2];
    struct in_addr a4;

    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memcpy(out, v4mapped, 12);
        memcpy(out + 12, &a4, 4);
        *is_v4 = true;
        return true;
    }
    *is_v4 = false;
    return inet_pton(AF_INET6, buf, out) == 1;
}

static bool net_contains(const net_t *n, const unsigned char a[16])
{
    unsigned full = n->bits / 8, rest = n->bits % 8;

    if (memcmp(n->addr, a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((n->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int addrmatch_parse(const char *const *list, addrmatch_t **out, char *err,
                    size_t errlen)
{
    size_t n = 0;
    addrmatch_t *m;

    *out = NULL;
    while (list[n])
        n++;
    if (n > ADDRMATCH_MAX) {
        snprintf(err, errlen, "more than %d entries", ADDRMATCH_MAX);
        return -1;
    }
    if ((m = calloc(1, sizeof(*m) + n * sizeof(net_t))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *e = list[i], *slash = strchr(e, '/');
        size_t alen = slash ? (size_t)(slash - e) : strlen(e);
        net_t *nt = &m->net[i];
        bool v4;

        if (!parse_addr(e, alen, nt->addr, &v4)) {
            snprintf(err, errlen,
                     "\"%.80s\" is not an IP address or network (host names "
                     "are not accepted)",
                     e);
            goto fail;
        }
        nt->bits = 128;
        if (slash) {
            char *end;
            long b = strtol(slash + 1, &end, 10);
            long max = v4 ? 32 : 128;
            if (slash[1] == '\0' || *end || b < 0 || b > max) {
                snprintf(err, errlen, "\"%.80s\": prefix length must be 0-%ld",
                         e, max);
                goto fail;
            }
            nt->bits = (unsigned)(v4 ? 96 + b : b);
        }
        /* Clear host bits so "10.1.2.3/8" means 10.0.0.0/8. */
        for (unsigned b = nt->bits; b < 128; b++)
            nt->addr[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
    }
    m->n = n;
    *out = m;
    return 0;
fail:
    free(m);
    return -1;
}

static bool match_mapped(const addrmatch_t *m, const unsigned char a[16])
{
    for (size_t i = 0; m && i < m->n; i++)
        if (net_contains(&m->net[i], a))
            return true;
    return false;
}

bool addrmatch_sockaddr(const addrmatch_t *m, const struct sockaddr *sa)
{
    unsigned char a[16];

    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        memcpy(a, v4mapped, 12);
        memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    } else {
        return false;
    }
    return match_mapped(m, a);
}

bool addrmatch_string(const addrmatch_t *m, const char *addr)
{
    unsigned char a[16];
    bool v4;

    return addr && parse_addr(addr, strlen(addr), a, &v4) && match_mapped(m, a);
}

size_t addrmatch_count(const addrmatch_t *m)
{
    return m ? m->n : 0;
}

void addrmatch_free(addrmatch_t *m)
{
    free(m);
}
