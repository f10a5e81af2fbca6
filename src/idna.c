/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idna.c - non-ASCII (SMTPUTF8) addresses made acceptable to SES
 *
 * idna_punycode_encode() follows RFC 3492 section 6.3 with the Punycode
 * parameters of section 5 and the overflow checks of section 6.4.
 * idna_domain_to_ascii() decodes UTF-8 strictly, splits labels at '.' and
 * the three IDNA full stops, and encodes each non-ASCII label as
 * "xn--" + Punycode. Whole addresses are ses_addr.h's (src/addr.c).
 *
 * DIAGNOSTICS
 *   See ses_idna.h.
 */
#include "config.h"

#include "ses_idna.h"
#include "ses_util.h"

#include <string.h>

/* RFC 3492 section 5 */
enum {
    PC_BASE = 36,
    PC_TMIN = 1,
    PC_TMAX = 26,
    PC_SKEW = 38,
    PC_DAMP = 700,
    PC_INITIAL_BIAS = 72,
    PC_INITIAL_N = 0x80,
};

#define MAX_LABEL_CP 256 /* code points per label before encoding */

static char pc_digit(uint32_t d)
{
    return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* RFC 3492 section 6.1 */
static uint32_t pc_adapt(uint32_t delta, uint32_t numpoints, int firsttime)
{
    uint32_t k = 0;

    delta = firsttime ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

idna_status_t idna_punycode_encode(const uint32_t *cp, size_t n, char *out,
                                   size_t outlen)
{
    uint32_t nn = PC_INITIAL_N, delta = 0, bias = PC_INITIAL_BIAS, h, b;
    size_t o = 0;

#define EMIT(c)                                                                \
    do {                                                                       \
        if (o + 1 >= outlen)                                                   \
            return IDNA_TOO_LONG;                                              \
        out[o++] = (c);                                                        \
    } while (0)

    if (outlen == 0)
        return IDNA_TOO_LONG;
    if (n > UINT32_MAX / 2)
        return IDNA_TOO_LONG;
    for (size_t i = 0; i < n; i++) {
        if (cp[i] > 0x10FFFF)
            return IDNA_BAD_UTF8;
        if (cp[i] < 0x80)
            EMIT((char)cp[i]);
    }
    h = b = (uint32_t)o;
    if (b > 0)
        EMIT('-');
    while (h < n) {
        uint32_t m = UINT32_MAX;
        for (size_t i = 0; i < n; i++)
            if (cp[i] >= nn && cp[i] < m)
                m = cp[i];
        if (m - nn > (UINT32_MAX - delta) / (h + 1))
            return IDNA_TOO_LONG; /* overflow (6.4) */
        delta += (m - nn) * (h + 1);
        nn = m;
        for (size_t i = 0; i < n; i++) {
            if (cp[i] < nn && ++delta == 0)
                return IDNA_TOO_LONG;
            if (cp[i] == nn) {
                uint32_t q = delta;
                for (uint32_t k = PC_BASE;; k += PC_BASE) {
                    uint32_t t = k <= bias             ? PC_TMIN
                                 : k >= bias + PC_TMAX ? PC_TMAX
                                                       : k - bias;
                    if (q < t)
                        break;
                    EMIT(pc_digit(t + (q - t) % (PC_BASE - t)));
                    q = (q - t) / (PC_BASE - t);
                }
                EMIT(pc_digit(q));
                bias = pc_adapt(delta, h + 1, h == b);
                delta = 0;
                h++;
            }
        }
        delta++;
        nn++;
    }
    out[o] = '\0';
    return IDNA_OK;
#undef EMIT
}

/* Decodes one UTF-8 sequence at *p; advances *p. -1 when malformed. */
static int64_t utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c, min;
    int len;

    if (s[0] < 0x80) {
        *p = s + 1;
        return s[0];
    }
    if ((s[0] & 0xE0) == 0xC0) {
        c = s[0] & 0x1F, len = 2, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        c = s[0] & 0x0F, len = 3, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        c = s[0] & 0x07, len = 4, min = 0x10000;
    } else
        return -1;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1; /* also stops at the NUL */
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *p = s + len;
    return c;
}

static int is_full_stop(uint32_t c)
{
    return c == '.' || c == 0x3002 || c == 0xFF0E || c == 0xFF61;
}

/* Appends one label (code points) to out at *o. */
static idna_status_t put_label(const uint32_t *cp, size_t n, char *out,
                               size_t outlen, size_t *o)
{
    char enc[IDNA_MAX_LABEL + 1];
    uint32_t lower[MAX_LABEL_CP];
    int ascii = 1;
    size_t len;

    for (size_t i = 0; i < n; i++)
        if (cp[i] >= 0x80)
            ascii = 0;
    if (ascii) {
        if (n > IDNA_MAX_LABEL)
            return IDNA_TOO_LONG;
        for (size_t i = 0; i < n; i++)
            enc[i] = (char)cp[i];
        enc[n] = '\0';
    } else {
        for (size_t i = 0; i < n; i++)
            lower[i] = cp[i] >= 'A' && cp[i] <= 'Z' ? cp[i] + 32 : cp[i];
        memcpy(enc, "xn--", 4);
        if (idna_punycode_encode(lower, n, enc + 4, sizeof(enc) - 4) != IDNA_OK)
            return IDNA_TOO_LONG;
    }
    len = strlen(enc);
    if (*o + len + 1 > outlen)
        return IDNA_TOO_LONG;
    memcpy(out + *o, enc, len + 1);
    *o += len;
    return IDNA_OK;
}

idna_status_t idna_domain_to_ascii(const char *domain, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)domain;
    uint32_t label[MAX_LABEL_CP];
    size_t n = 0, o = 0;
    idna_status_t st;

    if (outlen == 0)
        return IDNA_TOO_LONG;
    out[0] = '\0';
    for (;;) {
        int64_t c = *p ? utf8_next(&p) : 0;
        if (c < 0)
            return IDNA_BAD_UTF8;
        if (c == 0 || is_full_stop((uint32_t)c)) {
            if ((st = put_label(label, n, out, outlen, &o)) != IDNA_OK)
                return st;
            n = 0;
            if (c == 0)
                break;
            if (o + 2 > outlen)
                return IDNA_TOO_LONG;
            out[o++] = '.';
            out[o] = '\0';
            continue;
        }
        if (n == MAX_LABEL_CP)
            return IDNA_TOO_LONG;
        label[n++] = (uint32_t)c;
    }
    return o > IDNA_MAX_DOMAIN ? IDNA_TOO_LONG : IDNA_OK;
}

int idna_is_non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 1;
    return 0;
}
