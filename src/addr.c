/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addr.c - envelope addresses: parsing, the sendable form, the key
 *
 * addr_path() is the RFC 5321 path reader of the LMTP server, and
 * addr_unwrap() and addr_mailbox() reuse it for what milters, mailers and
 * SES notifications hand over. addr_sendable() and addr_key() split at the
 * last '@' and convert the domain with idna_domain_to_ascii(); the key is
 * that form lower-cased (see ses_addr.h for the UTS #46 mode).
 *
 * DIAGNOSTICS
 *   See ses_addr.h.
 */
#include "config.h"

#include "ses_addr.h"
#include "ses_idna.h"
#include "ses_util.h"

#include <string.h>
#include <strings.h>

static addr_status_t fail(addr_status_t st, char *out, size_t outlen)
{
    if (outlen)
        out[0] = '\0';
    return st;
}

addr_status_t addr_path(const char **pp, char *out, size_t outlen)
{
    const char *p = *pp;
    size_t n = 0;
    int quoted = 0;

    if (outlen == 0)
        return ADDR_TOO_LONG;
    while (*p == ' ')
        p++;
    if (*p++ != '<')
        return fail(ADDR_SYNTAX, out, outlen);
    if (*p == '@') { /* <@a,@b:user@domain>: the route is ignored */
        const char *colon = strchr(p, ':');
        if (colon == NULL)
            return fail(ADDR_SYNTAX, out, outlen);
        p = colon + 1;
    }
    for (;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\0' || c < 0x20 || c == 0x7f)
            return fail(ADDR_SYNTAX, out, outlen);
        if (!quoted && c == '>')
            break;
        if (c == '"')
            quoted = !quoted;
        else if (c == '\\' && quoted && p[1]) {
            if (n + 1 >= outlen)
                return fail(ADDR_TOO_LONG, out, outlen);
            out[n++] = *p++;
            c = (unsigned char)*p;
        }
        if (n + 1 >= outlen)
            return fail(ADDR_TOO_LONG, out, outlen);
        out[n++] = (char)c;
    }
    out[n] = '\0';
    p++;
    if (*p && *p != ' ')
        return fail(ADDR_SYNTAX, out, outlen);
    while (*p == ' ')
        p++;
    *pp = p;
    return ADDR_OK;
}

/* Copies in[0..n) into out without blanks at either end. */
static addr_status_t copy_trimmed(const char *in, size_t n, char *out,
                                  size_t outlen)
{
    while (n && (*in == ' ' || *in == '\t'))
        in++, n--;
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n >= outlen)
        return fail(ADDR_TOO_LONG, out, outlen);
    memcpy(out, in, n);
    out[n] = '\0';
    return ADDR_OK;
}

addr_status_t addr_unwrap(const char *in, char *out, size_t outlen)
{
    const char *p = in, *colon;
    addr_status_t st;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '<')
        return copy_trimmed(p, strlen(p), out, outlen);
    if ((st = addr_path(&p, out, outlen)) != ADDR_SYNTAX)
        return st;
    /* not a path addr_path() reads (control characters, no '>'): what
     * the MTA accepted, up to its first '>' */
    p++;
    if (*p == '@' && (colon = strchr(p, ':')) != NULL)
        p = colon + 1;
    return copy_trimmed(p, strcspn(p, ">"), out, outlen);
}

addr_status_t addr_mailbox(const char *in, char *out, size_t outlen)
{
    const char *lt = NULL, *p;
    addr_status_t st;
    int quoted = 0;

    for (p = in; *p; p++) {
        if (*p == '\\' && quoted && p[1])
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (*p == '<' && !quoted)
            lt = p;
    }
    if (lt) {
        const char *q = lt;
        st = addr_path(&q, out, outlen);
        if (st == ADDR_SYNTAX) /* "<a@b> (comment)" and the like */
            st = copy_trimmed(lt + 1, strcspn(lt + 1, ">"), out, outlen);
    } else
        st = copy_trimmed(in, strlen(in), out, outlen);
    if (st == ADDR_OK && strchr(out, '@') == NULL)
        return fail(ADDR_SYNTAX, out, outlen);
    return st;
}

const char *addr_strerror(addr_status_t st)
{
    switch (st) {
    case ADDR_OK:
        return "a usable address";
    case ADDR_SYNTAX:
        return "not an email address";
    case ADDR_TOO_LONG:
        return "address or domain too long";
    case ADDR_LOCAL_NON_ASCII:
        return "non-ASCII local part not supported by Amazon SES";
    case ADDR_BAD_UTF8:
        return "malformed UTF-8 in the address";
    }
    return "unusable address";
}

bool addr_local_non_ascii(const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t n = at ? (size_t)(at - addr) : strlen(addr);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)addr[i] >= 0x80)
            return true;
    return false;
}

static addr_status_t of_idna(idna_status_t st)
{
    switch (st) {
    case IDNA_OK:
        return ADDR_OK;
    case IDNA_BAD_UTF8:
        return ADDR_BAD_UTF8;
    case IDNA_TOO_LONG:
        break;
    }
    return ADDR_TOO_LONG;
}

/* local part as written, '@', the domain's A-label form */
static addr_status_t to_ascii_domain(const char *addr, char *out, size_t outlen)
{
    const char *at = strrchr(addr, '@');
    size_t llen = at ? (size_t)(at - addr) : strlen(addr);
    addr_status_t st;

    if (!idna_is_non_ascii(at ? at : "")) {
        if (str_copy(out, addr, outlen) >= outlen)
            return fail(ADDR_TOO_LONG, out, outlen);
        return ADDR_OK;
    }
    if (llen + 2 > outlen)
        return fail(ADDR_TOO_LONG, out, outlen);
    memcpy(out, addr, llen + 1); /* with the '@' */
    st = of_idna(
        idna_domain_to_ascii(at + 1, out + llen + 1, outlen - llen - 1));
    return st == ADDR_OK ? st : fail(st, out, outlen);
}

addr_status_t addr_sendable(const char *addr, char *out, size_t outlen)
{
    if (outlen == 0)
        return ADDR_TOO_LONG;
    if (addr_local_non_ascii(addr))
        return fail(ADDR_LOCAL_NON_ASCII, out, outlen);
    return to_ascii_domain(addr, out, outlen);
}

addr_status_t addr_key(const char *addr, char *out, size_t outlen)
{
    const char *at;
    addr_status_t st;

    if (outlen == 0)
        return ADDR_TOO_LONG;
    if (addr == NULL || (at = strrchr(addr, '@')) == NULL || at == addr ||
        at[1] == '\0')
        return fail(ADDR_SYNTAX, out, outlen);
    for (const char *p = addr; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
            return fail(ADDR_SYNTAX, out, outlen);
    }
    if ((st = to_ascii_domain(addr, out, outlen)) != ADDR_OK)
        return st;
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + ('a' - 'A'));
    return ADDR_OK;
}

bool addr_safe(const char *addr)
{
    size_t n = 0;

    if (addr == NULL || *addr == '-' || *addr == '\0')
        return false;
    for (; addr[n]; n++)
        if (addr[n] <= ' ' || addr[n] > '~' ||
            strchr("<>()[]\\,;\"", addr[n]) || n >= ADDR_MAX_LEN)
            return false;
    return strchr(addr, '@') != NULL;
}

bool addr_is_null(const char *addr)
{
    return addr == NULL || *addr == '\0' || strcmp(addr, "<>") == 0 ||
           strcasecmp(addr, "MAILER-DAEMON") == 0;
}
