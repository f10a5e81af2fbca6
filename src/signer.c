/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * signer.c - DKIM signing with libopendkim, keys loaded once per snapshot
 *
 * Loading (signer_load): the keys and tables come from keytable_load();
 * one DKIM_LIB per snapshot holds the header lists and the allocator.
 * Each key then signs a small test message through libopendkim, which
 * also builds the key's RSA blinding and Montgomery values once, before
 * any thread shares it (keycache_prepare() learns on the first one
 * whether libopendkim frees keys of its type).
 *
 * libopendkim's memory: dkim_init() takes an allocator, called with the
 * closure given to dkim_sign() - the signing job. A job's blocks come from
 * its own arena (ses_arena.h) and all go when the job ends: a signature
 * costs a few mallocs instead of dozens, and what libopendkim forgets to
 * free (its Ed25519 path keeps its key buffers, 64 bytes a message) cannot
 * pile up. Library-wide allocations (no closure) use malloc.
 *
 * Signing: the libopendkim calls that may load the private key (dkim_eoh,
 * dkim_eom) run between keycache_enter() and keycache_leave(), so a seam
 * replacing PEM_read_bio_PrivateKey() can hand over the parsed key.
 *
 * DIAGNOSTICS
 *   See ses_signer.h.
 */
#include "config.h"

#include "ses_arena.h"
#include "ses_keycache.h"
#include "ses_keytable.h"
#include "ses_signer.h"
#include "ses_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

/* Headers signed when present. Date and Message-ID are missing on
 * purpose: Amazon SES replaces them. */
static const char *const sign_headers[] = {
    "from",
    "sender",
    "reply-to",
    "subject",
    "to",
    "cc",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-id",
    "content-description",
    "content-disposition",
    "resent-date",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
};

/* Never signed: Amazon SES rewrites or removes them, or ses-relay renames
 * their repeats (SES refuses a second DKIM-Signature or Delivered-To). */
static const char *const forbidden_headers[] = {
    "message-id", "date",           "return-path",
    "bounces-to", "dkim-signature", "delivered-to",
};

struct signer {
    DKIM_LIB *lib;
    keytable_t *table;
    dkim_canon_t hcanon, bcanon;
    char **signhdrs; /* NULL-terminated, for DKIM_OPTS_SIGNHDRS */
    char **oversign; /* NULL-terminated, for DKIM_OPTS_OVERSIGNHDRS */
};

struct signer_msg {
    const signer_t *signer;
    const keyfile_key_t *key;
    DKIM *dkim;
    arena_t arena; /* libopendkim's allocations for this message */
    buf_t line;
    bool cached;
    char domain[256];
    char selector[64];
    char err[256];
};

static void *job_alloc(void *closure, size_t n)
{
    signer_msg_t *j = closure;

    return j ? arena_alloc(&j->arena, n) : malloc(n);
}

static void job_free(void *closure, void *p)
{
    if (closure == NULL)
        free(p);
    /* else: released with the job's arena */
}

static dkim_alg_t alg_of(const keyfile_key_t *k)
{
    return k->type == KEYFILE_ED25519 ? DKIM_SIGN_ED25519SHA256
                                      : DKIM_SIGN_RSASHA256;
}

bool signer_header_forbidden(const char *name)
{
    if (strncasecmp(name, "x-ses-", 6) == 0)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(forbidden_headers); i++)
        if (strcasecmp(name, forbidden_headers[i]) == 0)
            return true;
    return false;
}

bool signer_header_signed(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(sign_headers); i++)
        if (strcasecmp(name, sign_headers[i]) == 0)
            return true;
    return false;
}

/* ---- loading ---- */

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static char **strv_from(const char *const *a, size_t n)
{
    char **v = calloc(n + 1, sizeof(char *));

    for (size_t i = 0; v && i < n; i++)
        if ((v[i] = strdup(a[i])) == NULL) {
            strv_free(v);
            return NULL;
        }
    return v;
}

void signer_free(signer_t *s)
{
    if (s == NULL)
        return;
    keytable_free(s->table);
    strv_free(s->signhdrs);
    strv_free(s->oversign);
    if (s->lib)
        dkim_close(s->lib);
    free(s);
}

size_t signer_key_count(const signer_t *s)
{
    return s ? keytable_key_count(s->table) : 0;
}

static void canon_parse(const char *v, dkim_canon_t *h, dkim_canon_t *b)
{
    const char *slash = strchr(v, '/');
    size_t hl = slash ? (size_t)(slash - v) : strlen(v);

    *h = hl == 7 && strncasecmp(v, "relaxed", 7) == 0 ? DKIM_CANON_RELAXED
                                                      : DKIM_CANON_SIMPLE;
    *b = slash && strcasecmp(slash + 1, "relaxed") == 0 ? DKIM_CANON_RELAXED
                                                        : DKIM_CANON_SIMPLE;
}

/* Header lists and flags of the snapshot's DKIM_LIB. */
static bool lib_setup(signer_t *s, const conf_t *c, char *err, size_t errlen)
{
    const char *const *over = conf_list(c, CK_OVERSIGN_HEADERS);
    size_t nover = 0, nsign = ARRAY_SIZE(sign_headers);
    unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;

    while (over[nover])
        nover++;
    for (size_t i = 0; i < nover; i++)
        if (signer_header_forbidden(over[i])) {
            snprintf(err, errlen,
                     "%s: OversignHeaders: %s is rewritten, removed or "
                     "renamed on its way through "
                     "Amazon SES and must not be signed",
                     conf_path(c), over[i]);
            return false;
        }
    if ((s->signhdrs = calloc(nsign + nover + 1, sizeof(char *))) == NULL ||
        (s->oversign = strv_from(over, nover)) == NULL)
        goto oom;
    for (size_t i = 0; i < nsign; i++)
        if ((s->signhdrs[i] = strdup(sign_headers[i])) == NULL)
            goto oom;
    /* An oversigned header must also be on the signed list. */
    for (size_t i = 0; i < nover; i++)
        if (!signer_header_signed(over[i]))
            if ((s->signhdrs[nsign++] = strdup(over[i])) == NULL)
                goto oom;
    if ((s->lib = dkim_init(job_alloc, job_free)) == NULL)
        goto oom;
    if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
                     sizeof(flags)) != DKIM_STAT_OK ||
        dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, s->signhdrs,
                     sizeof(char **)) != DKIM_STAT_OK ||
        (nover && dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
                               s->oversign, sizeof(char **)) != DKIM_STAT_OK)) {
        snprintf(err, errlen, "%s: libopendkim refused the header lists",
                 conf_path(c));
        return false;
    }
    canon_parse(conf_str(c, CK_CANONICALIZATION), &s->hcanon, &s->bcanon);
    return true;
oom:
    snprintf(err, errlen, "out of memory");
    return false;
}

static signer_status_t msg_new(const signer_t *s, const keytable_entry_t *kt,
                               const char *domain, const char *queue_id,
                               signer_msg_t **out, char *err, size_t errlen);

typedef struct {
    const signer_t *s;
    const keytable_entry_t *e;
} selftest_t;

/* Signs a test message with the key table entry of ctx (a selftest_t). */
static bool selftest_sign(void *ctx, char *err, size_t errlen)
{
    static const char body[] = "DKIM self-test\r\n";
    const selftest_t *t = ctx;
    const char *dom = t->e->domain ? t->e->domain : "example.com";
    signer_msg_t *j = NULL;
    char sig[SIGNER_SIGNATURE_MAX], from[300], msg[256] = "";
    signer_status_t st;

    snprintf(from, sizeof(from), "<selftest@%s>", dom);
    st = msg_new(t->s, t->e, dom, "selftest", &j, msg, sizeof(msg));
    if (st == SIGNER_OK)
        st = signer_msg_header(j, "From", from, false);
    if (st == SIGNER_OK)
        st = signer_msg_header(j, "Subject", "self-test", false);
    if (st == SIGNER_OK)
        st = signer_msg_eoh(j);
    if (st == SIGNER_OK)
        st = signer_msg_body(j, (const unsigned char *)body, sizeof(body) - 1);
    if (st == SIGNER_OK)
        st = signer_msg_finish(j, sig, sizeof(sig));
    if (j && st != SIGNER_OK)
        str_copy(msg, j->err, sizeof(msg));
    signer_msg_free(j);
    if (st != SIGNER_OK)
        snprintf(err, errlen, "%s: libopendkim cannot sign with it: %s",
                 t->e->key->label, msg);
    return st == SIGNER_OK;
}

/* Signs a test message with every key: libopendkim must accept it, and
 * the key's lazily built values are made before threads share it. */
static bool keys_selftest(const signer_t *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < keytable_count(s->table); i++) {
        selftest_t t = {s, keytable_entry(s->table, i)};
        if (!keycache_prepare(t.e->key, selftest_sign, &t, err, errlen) ||
            !selftest_sign(&t, err, errlen))
            return false;
    }
    return true;
}

conf_status_t signer_load(const conf_t *c, signer_t **out, char *err,
                          size_t errlen)
{
    keytable_t *table = NULL;
    signer_t *s;
    conf_status_t rc;

    *out = NULL;
    if ((rc = keytable_load(c, &table, err, errlen)) != CONF_OK)
        return rc;
    if (table == NULL)
        return CONF_OK; /* no signing configured */
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        keytable_free(table);
        snprintf(err, errlen, "out of memory");
        return CONF_INVALID;
    }
    s->table = table;
    if (!lib_setup(s, c, err, errlen) || !keys_selftest(s, err, errlen)) {
        signer_free(s);
        return CONF_INVALID;
    }
    *out = s;
    return CONF_OK;
}

/* ---- signing ---- */

/* The address in a From header value, lower-cased: user and host. */
static bool from_address(const char *from, char *user, size_t ulen, char *host,
                         size_t hlen)
{
    char buf[1024];
    u_char *u = NULL, *h = NULL;

    if (str_copy(buf, from, sizeof(buf)) >= sizeof(buf))
        return false;
    for (char *p = buf; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
    if (dkim_mail_parse((u_char *)buf, &u, &h) != 0 || u == NULL || h == NULL ||
        *u == '\0' || *h == '\0')
        return false;
    if (str_copy(user, (char *)u, ulen) >= ulen ||
        str_copy(host, (char *)h, hlen) >= hlen)
        return false;
    str_lower(user);
    str_lower(host);
    return true;
}

static signer_status_t fail(signer_msg_t *j, DKIM_STAT st, const char *what)
{
    const char *e = j->dkim ? dkim_geterror(j->dkim) : NULL;

    snprintf(j->err, sizeof(j->err), "%s: %s", what,
             e && *e ? e : dkim_getresultstr(st));
    return SIGNER_FAIL;
}

/* A signing handle for key table entry kt and signing domain. */
static signer_status_t msg_new(const signer_t *s, const keytable_entry_t *kt,
                               const char *domain, const char *queue_id,
                               signer_msg_t **out, char *err, size_t errlen)
{
    signer_msg_t *j;
    DKIM_STAT st = DKIM_STAT_OK;

    *out = NULL;
    if ((j = calloc(1, sizeof(*j))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return SIGNER_FAIL;
    }
    j->signer = s;
    j->key = kt->key;
    buf_init(&j->line, 1024 * 1024);
    str_copy(j->domain, domain, sizeof(j->domain));
    str_copy(j->selector, kt->selector, sizeof(j->selector));
    j->dkim = dkim_sign(
        s->lib, (const u_char *)(queue_id && *queue_id ? queue_id : "unknown"),
        j, (dkim_sigkey_t)j->key->pem, (const u_char *)j->selector,
        (const u_char *)j->domain, s->hcanon, s->bcanon, alg_of(j->key), -1,
        &st);
    if (j->dkim == NULL) {
        snprintf(err, errlen, "dkim_sign(d=%s, s=%s): %s", j->domain,
                 j->selector, dkim_getresultstr(st));
        signer_msg_free(j);
        return SIGNER_FAIL;
    }
    *out = j;
    return SIGNER_OK;
}

signer_status_t signer_msg_start(const signer_t *s, const char *from,
                                 const char *queue_id, signer_msg_t **out,
                                 char *err, size_t errlen)
{
    char user[KEYTABLE_ADDR_MAX], host[256], signer[KEYTABLE_ADDR_MAX + 8];
    const keytable_entry_t *e;
    const char *want;
    signer_msg_t *j;
    DKIM_STAT st;

    *out = NULL;
    if (s == NULL || from == NULL ||
        !from_address(from, user, sizeof(user), host, sizeof(host)))
        return SIGNER_NOKEY;
    if ((e = keytable_lookup(s->table, user, host, &want)) == NULL)
        return SIGNER_NOKEY;
    if (msg_new(s, e, e->domain ? e->domain : host, queue_id, &j, err,
                errlen) != SIGNER_OK)
        return SIGNER_FAIL;
    if (want) {
        const char *pct = strchr(want, '%');
        if (pct)
            snprintf(signer, sizeof(signer), "%.*s%s%s", (int)(pct - want),
                     want, host, pct + 1);
        else
            str_copy(signer, want, sizeof(signer));
        if ((st = dkim_set_signer(j->dkim, (const u_char *)signer)) !=
            DKIM_STAT_OK) {
            fail(j, st, "dkim_set_signer");
            str_copy(err, j->err, errlen);
            signer_msg_free(j);
            return SIGNER_FAIL;
        }
    }
    *out = j;
    return SIGNER_OK;
}

signer_status_t signer_msg_header(signer_msg_t *j, const char *name,
                                  const char *value, bool leadspc)
{
    DKIM_STAT st;

    buf_reset(&j->line);
    if (buf_puts(&j->line, name) < 0 ||
        buf_puts(&j->line, leadspc ? ":" : ": ") < 0 ||
        buf_puts(&j->line, value) < 0) {
        snprintf(j->err, sizeof(j->err), "header %.64s is too long", name);
        return SIGNER_FAIL;
    }
    st = dkim_header(j->dkim, (u_char *)j->line.data, j->line.len);
    return st == DKIM_STAT_OK ? SIGNER_OK : fail(j, st, "dkim_header");
}

signer_status_t signer_msg_eoh(signer_msg_t *j)
{
    DKIM_STAT st;

    keycache_enter(j->key);
    st = dkim_eoh(j->dkim);
    (void)keycache_leave();
    return st == DKIM_STAT_OK ? SIGNER_OK : fail(j, st, "dkim_eoh");
}

signer_status_t signer_msg_body(signer_msg_t *j, const unsigned char *buf,
                                size_t len)
{
    DKIM_STAT st = dkim_body(j->dkim, (u_char *)buf, len);

    return st == DKIM_STAT_OK ? SIGNER_OK : fail(j, st, "dkim_body");
}

signer_status_t signer_msg_finish(signer_msg_t *j, char *out, size_t outlen)
{
    DKIM_STAT st;
    u_char *hdr = NULL;
    size_t len = 0;

    keycache_enter(j->key);
    st = dkim_eom(j->dkim, NULL);
    if (st == DKIM_STAT_OK)
        st = dkim_getsighdr_d(j->dkim, sizeof("DKIM-Signature: ") - 1, &hdr,
                              &len);
    j->cached = keycache_leave();
    if (st != DKIM_STAT_OK)
        return fail(j, st, "signing");
    if (len >= outlen) {
        snprintf(j->err, sizeof(j->err), "signature longer than %zu bytes",
                 outlen);
        return SIGNER_FAIL;
    }
    memcpy(out, hdr, len);
    out[len] = '\0';
    return SIGNER_OK;
}

const char *signer_msg_domain(const signer_msg_t *j)
{
    return j->domain;
}

const char *signer_msg_selector(const signer_msg_t *j)
{
    return j->selector;
}

const char *signer_msg_error(const signer_msg_t *j)
{
    return j->err;
}

bool signer_msg_used_cached_key(const signer_msg_t *j)
{
    return j->cached;
}

void signer_msg_free(signer_msg_t *j)
{
    if (j == NULL)
        return;
    if (j->dkim)
        dkim_free(j->dkim);
    arena_release(&j->arena);
    buf_free(&j->line);
    free(j);
}
