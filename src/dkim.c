/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim.c - DKIM signing with libopendkim, keys loaded once per snapshot
 *
 * Loading (dkim_signer_load): the KeyTable names keys; every key file is
 * read once (the same file named twice is one key), checked (RequireSafeKeys,
 * RSA of at least 1024 bits or Ed25519, the type SignatureAlgorithm names
 * when that is set), parsed with OpenSSL into an EVP_PKEY and written back
 * as canonical PKCS#8 PEM - the text handed to libopendkim. The
 * SigningTable is resolved against the KeyTable (an unknown key name is an
 * error with its line). Each key then signs a small test message through
 * libopendkim, which also builds the key's RSA blinding and Montgomery
 * values once, before any thread shares it. One DKIM_LIB per snapshot holds
 * the header lists.
 *
 * Signing: libopendkim reads the private key from its text at every
 * signature (PEM_read_bio_PrivateKey in dkim_privkey_load), about a third
 * of a millisecond for RSA-2048, more than the signature itself.
 * dkim_signing_*() mark the key of the signature in progress in a
 * thread-local variable around each libopendkim call; the interposer in
 * milter/interpose.c asks dkim_cached_key(), which returns a new reference
 * to the parsed key when libopendkim's buffer holds exactly that key's
 * text. Without the interposer libopendkim parses the same text and signs
 * the same way, only slower. No lock is taken on this path.
 *
 * Key selection: the From header's address, looked up as opendkim does:
 * for "file:" tables user@host, host, user@.parent (each parent domain),
 * .parent, user@*, *; for "refile:" tables the patterns (* wildcards,
 * case-insensitive) in file order. "%" as the KeyTable domain or in the
 * SigningTable signer means the From domain.
 *
 * DIAGNOSTICS
 *   See ses_dkim.h.
 */
#include "config.h"

#include "ses_dkim.h"
#include "ses_textfile.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <opendkim/dkim.h>

#define ADDR_MAX 320

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

/* Never signed: Amazon SES rewrites or removes them. */
static const char *const forbidden_headers[] = {
    "message-id",
    "date",
    "return-path",
    "bounces-to",
};

typedef struct {
    char *label; /* file path, or "KeyTable line N" for inline keys */
    EVP_PKEY *pkey;
    char *pem; /* canonical PKCS#8 text given to libopendkim */
    size_t pemlen;
    dkim_alg_t alg;
    int bits;
} dkey_t;

typedef struct {
    char *name;
    char *domain; /* NULL: "%", the From domain */
    char *selector;
    dkey_t *key;
    int line;
} ktentry_t;

typedef struct {
    char *pattern; /* lower case */
    char *signer;  /* NULL or the i= value, "%" = From domain */
    const ktentry_t *kt;
    int line;
} stentry_t;

struct dkim_signer {
    DKIM_LIB *lib;
    dkim_canon_t hcanon, bcanon;
    bool refile;
    dkey_t **keys;
    size_t nkeys;
    ktentry_t *kt;
    size_t nkt;
    stentry_t *st;
    size_t nst;
    char **signhdrs; /* NULL-terminated, for DKIM_OPTS_SIGNHDRS */
    char **oversign; /* NULL-terminated, for DKIM_OPTS_OVERSIGNHDRS */
};

/* Memory libopendkim asks for while signing one message. */
typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    max_align_t data[];
} chunk_t;

struct dkim_signing {
    const dkim_signer_t *signer;
    const dkey_t *key;
    DKIM *dkim;
    chunk_t *chunks; /* libopendkim's allocations for this message */
    buf_t line;
    bool cached;
    char domain[256];
    char selector[64];
    char err[256];
};

/* ---- libopendkim's memory ----
 *
 * dkim_init() takes an allocator, called with the closure given to
 * dkim_sign() - the signing job. A job's blocks come from its own chunks
 * and all go when the job ends: a signature costs a few mallocs instead of
 * dozens, and what libopendkim forgets to free (its Ed25519 path keeps its
 * key buffers, 64 bytes a message) cannot pile up. Library-wide
 * allocations (no closure) use malloc. */
#define CHUNK_MIN (32 * 1024)

static void *job_alloc(void *closure, size_t n)
{
    dkim_signing_t *j = closure;
    chunk_t *c;
    size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);

    if (j == NULL)
        return malloc(n);
    c = j->chunks;
    if (c == NULL || c->size - c->used < need) {
        size_t size = c && c->size * 2 > CHUNK_MIN ? c->size * 2 : CHUNK_MIN;
        if (size < need)
            size = need;
        if ((c = malloc(sizeof(chunk_t) + size)) == NULL)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = j->chunks;
        j->chunks = c;
    }
    c->used += need;
    return (char *)c->data + c->used - need;
}

static void job_free(void *closure, void *p)
{
    if (closure == NULL)
        free(p);
    /* else: released with the job's chunks */
}

static void job_release(dkim_signing_t *j)
{
    for (chunk_t *c = j->chunks, *next; c; c = next) {
        next = c->next;
        secure_zero(c->data, c->used); /* the key text passed through */
        free(c);
    }
    j->chunks = NULL;
}

/* The signature in progress on this thread, for dkim_cached_key(). */
static _Thread_local const dkey_t *tls_key;
static _Thread_local bool tls_hit;
/* A key to hand over instead, owned by libopendkim (see key_ownership). */
static _Thread_local EVP_PKEY *tls_probe;

/* Whether libopendkim frees the key it signed with, by algorithm: 2.11
 * frees an RSA key but never an Ed25519 one. A key it keeps must not get a
 * reference per signature (the count would only grow), a key it frees must.
 * Learned once, with a probe key (key_ownership()). */
enum { OWN_UNKNOWN = 0, OWN_FREES, OWN_KEEPS };
static atomic_int lib_owns[DKIM_SIGN_ED25519SHA256 + 1];

struct evp_pkey_st *dkim_cached_key(struct bio_st *bio)
{
    const dkey_t *k = tls_key;
    EVP_PKEY *probe = tls_probe;
    char *data;
    long n;

    if (k == NULL || BIO_method_type(bio) != BIO_TYPE_MEM)
        return NULL;
    n = BIO_get_mem_data(bio, &data);
    if (n != (long)k->pemlen || memcmp(data, k->pem, k->pemlen) != 0)
        return NULL;
    tls_hit = true;
    if (probe) {
        tls_probe = NULL;
        return probe;
    }
    if (atomic_load(&lib_owns[k->alg]) != OWN_KEEPS &&
        EVP_PKEY_up_ref(k->pkey) != 1)
        return NULL;
    return k->pkey;
}

bool dkim_header_forbidden(const char *name)
{
    if (strncasecmp(name, "x-ses-", 6) == 0)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(forbidden_headers); i++)
        if (strcasecmp(name, forbidden_headers[i]) == 0)
            return true;
    return false;
}

bool dkim_header_signed(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(sign_headers); i++)
        if (strcasecmp(name, sign_headers[i]) == 0)
            return true;
    return false;
}

/* ---- loading ---- */

static void key_free(dkey_t *k)
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

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void dkim_signer_free(dkim_signer_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nkt; i++) {
        free(s->kt[i].name);
        free(s->kt[i].domain);
        free(s->kt[i].selector);
    }
    free(s->kt);
    for (size_t i = 0; i < s->nst; i++) {
        free(s->st[i].pattern);
        free(s->st[i].signer);
    }
    free(s->st);
    for (size_t i = 0; i < s->nkeys; i++)
        key_free(s->keys[i]);
    free(s->keys);
    strv_free(s->signhdrs);
    strv_free(s->oversign);
    if (s->lib)
        dkim_close(s->lib);
    free(s);
}

size_t dkim_signer_key_count(const dkim_signer_t *s)
{
    return s ? s->nkeys : 0;
}

/* Who may read key files: the user the milter runs as (UserID, else this
 * process) and that user's groups. */
typedef struct {
    uid_t uid;
    gid_t groups[256];
    int ngroups;
} runas_t;

static bool runas_get(const conf_t *c, runas_t *ra, char *err, size_t errlen)
{
    const char *uid = conf_str(c, CK_USER_ID);
    char user[256], *colon;
    struct passwd *pw;

    if (uid == NULL) {
        ra->uid = geteuid();
        ra->ngroups = getgroups((int)ARRAY_SIZE(ra->groups) - 1, ra->groups);
        if (ra->ngroups < 0)
            ra->ngroups = 0;
        ra->groups[ra->ngroups++] = getegid();
        return true;
    }
    str_copy(user, uid, sizeof(user));
    if ((colon = strchr(user, ':')) != NULL)
        *colon = '\0';
    if ((pw = getpwnam(user)) == NULL) {
        snprintf(err, errlen, "UserID: no such user \"%s\"", user);
        return false;
    }
    ra->uid = pw->pw_uid;
    ra->ngroups = (int)ARRAY_SIZE(ra->groups) - 1;
    if (getgrouplist(user, pw->pw_gid, ra->groups, &ra->ngroups) < 0)
        ra->ngroups = (int)ARRAY_SIZE(ra->groups) - 1;
    if (colon) {
        struct group *gr = getgrnam(colon + 1);
        if (gr == NULL) {
            snprintf(err, errlen, "UserID: no such group \"%s\"", colon + 1);
            return false;
        }
        ra->groups[ra->ngroups++] = gr->gr_gid;
    }
    return true;
}

/* opendkim's RequireSafeKeys rule: no read or write bits for others, none
 * for a group the milter's user is not in. */
static bool file_safe(const struct stat *st, const runas_t *ra, char *why,
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
        for (int i = 0; i < ra->ngroups; i++)
            if (ra->groups[i] == st->st_gid)
                return true;
        snprintf(why, whylen,
                 "is readable or writable by group %lu, which the milter's "
                 "user is not in (mode %04o)",
                 (unsigned long)st->st_gid, (unsigned)(st->st_mode & 07777));
        return false;
    }
    return true;
}

/* Parses key text (PEM, or base64 DER as opendkim allows inline) into k. */
static bool key_parse(dkey_t *k, const char *text, size_t len, char *err,
                      size_t errlen)
{
    BIO *in = NULL, *out = NULL;
    unsigned char *der = NULL;
    char *pem;
    long n;
    bool ok = false;

    if (len >= 5 && strncmp(text, "-----", 5) == 0) {
        if ((in = BIO_new_mem_buf(text, (int)len)) == NULL)
            goto oom;
        k->pkey = PEM_read_bio_PrivateKey_ex(in, NULL, NULL, NULL, NULL, NULL);
    } else {
        size_t cap = len / 4 * 3 + 3;
        int dl;
        const unsigned char *p;
        if ((der = malloc(cap)) == NULL)
            goto oom;
        dl = EVP_DecodeBlock(der, (const unsigned char *)text, (int)len);
        if (dl > 0) {
            /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
            for (size_t i = len; i > 0 && text[i - 1] == '='; i--)
                dl--;
            p = der;
            k->pkey = d2i_AutoPrivateKey(NULL, &p, dl);
        }
    }
    if (k->pkey == NULL) {
        snprintf(err, errlen, "%s: not a private key (PEM or base64 DER)",
                 k->label);
        goto out;
    }
    switch (EVP_PKEY_get_base_id(k->pkey)) {
    case EVP_PKEY_RSA:
        k->alg = DKIM_SIGN_RSASHA256;
        k->bits = EVP_PKEY_get_bits(k->pkey);
        if (k->bits < 1024) {
            snprintf(err, errlen,
                     "%s: RSA key of %d bits; DKIM verifiers need at least "
                     "1024 (2048 recommended)",
                     k->label, k->bits);
            goto out;
        }
        break;
    case EVP_PKEY_ED25519:
        k->alg = DKIM_SIGN_ED25519SHA256;
        k->bits = 256;
        break;
    default:
        snprintf(err, errlen, "%s: neither an RSA nor an Ed25519 key",
                 k->label);
        goto out;
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
    ok = true;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", k->label);
out:
    BIO_free(out); /* secure heap: the key text is wiped */
    BIO_free(in);
    if (der) {
        secure_zero(der, len / 4 * 3 + 3);
        free(der);
    }
    return ok;
}

typedef struct {
    dkim_signer_t *s;
    const conf_t *conf;
    runas_t runas;
    bool safe;    /* RequireSafeKeys */
    int want_alg; /* -1: any */
    const char *table_path;
    struct stat table_st;
    bool inline_keys;
} loadctx_t;

/* Reads, checks and parses one key file (or inline text); keys named
 * twice are loaded once. */
static dkey_t *key_get(loadctx_t *lc, const char *spec, int line, char *err,
                       size_t errlen)
{
    dkim_signer_t *s = lc->s;
    dkey_t *k;
    char *text = NULL, why[200];
    size_t len = 0;
    bool is_path = spec[0] == '/';

    if (is_path)
        for (size_t i = 0; i < s->nkeys; i++)
            if (strcmp(s->keys[i]->label, spec) == 0)
                return s->keys[i];
    if (strncmp(spec, "./", 2) == 0 || strncmp(spec, "../", 3) == 0) {
        snprintf(err, errlen, "key file \"%s\" must be an absolute path", spec);
        return NULL;
    }
    if (strchr(spec, '%') && is_path) {
        snprintf(err, errlen,
                 "key file \"%s\": %% in key paths is not supported (keys are "
                 "loaded once at start); list one KeyTable line per domain",
                 spec);
        return NULL;
    }
    if (s->nkeys == DKIM_MAX_KEYS) {
        snprintf(err, errlen, "more than %d keys", DKIM_MAX_KEYS);
        return NULL;
    }
    if ((k = calloc(1, sizeof(*k))) == NULL)
        goto oom;
    if (is_path)
        k->label = strdup(spec);
    else if (asprintf(&k->label, "inline key at line %d", line) < 0)
        k->label = NULL;
    if (k->label == NULL)
        goto oom;
    if (is_path) {
        struct stat st;
        int fd = open(spec, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t r;
        if (fd < 0 || fstat(fd, &st) < 0) {
            snprintf(err, errlen, "key file %s: %s", spec, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > DKIM_MAX_KEY_FILE) {
            snprintf(err, errlen,
                     "key file %s is not a regular file of at most %d bytes",
                     spec, DKIM_MAX_KEY_FILE);
            close(fd);
            goto fail;
        }
        if (lc->safe && !file_safe(&st, &lc->runas, why, sizeof(why))) {
            snprintf(err, errlen,
                     "key file %s %s (RequireSafeKeys yes refuses it)", spec,
                     why);
            close(fd);
            goto fail;
        }
        if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
            close(fd);
            goto oom;
        }
        while (len < (size_t)st.st_size &&
               ((r = read(fd, text + len, (size_t)st.st_size - len)) > 0 ||
                (r < 0 && errno == EINTR)))
            if (r > 0)
                len += (size_t)r;
        close(fd);
        text[len] = '\0';
    } else {
        lc->inline_keys = true;
        if ((text = strdup(spec)) == NULL)
            goto oom;
        len = strlen(text);
    }
    if (!key_parse(k, text, len, err, errlen))
        goto fail;
    if (lc->want_alg >= 0 && (int)k->alg != lc->want_alg) {
        snprintf(err, errlen, "%s is an %s key but SignatureAlgorithm is %s",
                 k->label, k->alg == DKIM_SIGN_RSASHA256 ? "RSA" : "Ed25519",
                 conf_str(lc->conf, CK_SIGNATURE_ALGORITHM));
        goto fail;
    }
    {
        dkey_t **nv = realloc(s->keys, (s->nkeys + 1) * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        s->keys = nv;
        s->keys[s->nkeys++] = k;
    }
    secure_zero(text, len);
    free(text);
    return k;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (text) {
        secure_zero(text, len);
        free(text);
    }
    key_free(k);
    return NULL;
}

static bool domain_ok(const char *d)
{
    size_t n = strlen(d);

    if (n == 0 || n > 253)
        return false;
    for (; *d; d++)
        if (!(isalnum((unsigned char)*d) || *d == '-' || *d == '.' ||
              *d == '_'))
            return false;
    return true;
}

static bool kt_add(loadctx_t *lc, const char *name, const char *domain,
                   const char *selector, const char *keyspec, int line,
                   char *msg, size_t msglen)
{
    dkim_signer_t *s = lc->s;
    ktentry_t *e, *nv;

    for (size_t i = 0; i < s->nkt; i++)
        if (strcasecmp(s->kt[i].name, name) == 0) {
            snprintf(msg, msglen, "key name \"%.80s\" is listed twice", name);
            return false;
        }
    if (strcmp(domain, "%") != 0 && !domain_ok(domain)) {
        snprintf(msg, msglen, "\"%.80s\" is not a signing domain", domain);
        return false;
    }
    if (!domain_ok(selector) || strlen(selector) >= 64) {
        snprintf(msg, msglen, "\"%.80s\" is not a DKIM selector", selector);
        return false;
    }
    if ((nv = realloc(s->kt, (s->nkt + 1) * sizeof(*nv))) == NULL) {
        snprintf(msg, msglen, "out of memory");
        return false;
    }
    s->kt = nv;
    e = &s->kt[s->nkt];
    memset(e, 0, sizeof(*e));
    e->line = line;
    if ((e->key = key_get(lc, keyspec, line, msg, msglen)) == NULL)
        return false;
    e->name = strdup(name);
    e->domain = strcmp(domain, "%") == 0 ? NULL : strdup(domain);
    e->selector = strdup(selector);
    if (e->name == NULL || e->selector == NULL ||
        (e->domain == NULL && strcmp(domain, "%") != 0)) {
        free(e->name);
        free(e->domain);
        free(e->selector);
        snprintf(msg, msglen, "out of memory");
        return false;
    }
    if (e->domain)
        str_lower(e->domain);
    s->nkt++;
    return true;
}

/* KeyTable line: NAME DOMAIN:SELECTOR:KEY */
static bool kt_line(void *ctx, char *line, int lineno, char *msg, size_t msglen)
{
    loadctx_t *lc = ctx;
    char *p = line, *name, *val, *sel, *key;

    if ((name = textfile_word(&p)) == NULL)
        return true;
    val = str_trim(p);
    if (*val == '\0' || (sel = strchr(val, ':')) == NULL ||
        (key = strchr(sel + 1, ':')) == NULL) {
        snprintf(msg, msglen, "expected \"NAME DOMAIN:SELECTOR:KEYFILE\"");
        return false;
    }
    *sel++ = '\0';
    *key++ = '\0';
    return kt_add(lc, name, val, sel, str_trim(key), lineno, msg, msglen);
}

static const ktentry_t *kt_find(const dkim_signer_t *s, const char *name)
{
    for (size_t i = 0; i < s->nkt; i++)
        if (strcasecmp(s->kt[i].name, name) == 0)
            return &s->kt[i];
    return NULL;
}

static bool st_add(dkim_signer_t *s, const char *pattern, const char *keyname,
                   const char *signer, int line, char *msg, size_t msglen)
{
    const ktentry_t *kt = kt_find(s, keyname);
    stentry_t *nv, *e;

    if (kt == NULL) {
        snprintf(msg, msglen, "key name \"%.80s\" is not in the KeyTable",
                 keyname);
        return false;
    }
    if ((nv = realloc(s->st, (s->nst + 1) * sizeof(*nv))) == NULL)
        goto oom;
    s->st = nv;
    e = &s->st[s->nst];
    memset(e, 0, sizeof(*e));
    e->kt = kt;
    e->line = line;
    if ((e->pattern = strdup(pattern)) == NULL)
        goto oom;
    if (signer && (e->signer = strdup(signer)) == NULL) {
        free(e->pattern);
        goto oom;
    }
    str_lower(e->pattern);
    s->nst++;
    return true;
oom:
    snprintf(msg, msglen, "out of memory");
    return false;
}

/* SigningTable line: PATTERN KEYNAME [SIGNER] */
static bool st_line(void *ctx, char *line, int lineno, char *msg, size_t msglen)
{
    loadctx_t *lc = ctx;
    char *p = line, *pat, *name, *signer;

    if ((pat = textfile_word(&p)) == NULL)
        return true;
    if ((name = textfile_word(&p)) == NULL) {
        snprintf(msg, msglen, "expected \"PATTERN KEYNAME [SIGNER]\"");
        return false;
    }
    signer = textfile_word(&p);
    if (textfile_word(&p) != NULL) {
        snprintf(msg, msglen, "too many fields (PATTERN KEYNAME [SIGNER])");
        return false;
    }
    if (strlen(pat) > ADDR_MAX) {
        snprintf(msg, msglen, "pattern longer than %d bytes", ADDR_MAX);
        return false;
    }
    return st_add(lc->s, pat, name, signer, lineno, msg, msglen);
}

static int st_cmp(const void *a, const void *b)
{
    return strcmp(((const stentry_t *)a)->pattern,
                  ((const stentry_t *)b)->pattern);
}

/* "file:PATH", "refile:PATH" or a bare absolute path (= file:). */
static const char *dataset_path(const char *spec, bool *refile)
{
    *refile = false;
    if (strncmp(spec, "refile:", 7) == 0) {
        *refile = true;
        return spec + 7;
    }
    if (strncmp(spec, "file:", 5) == 0)
        return spec + 5;
    return spec[0] == '/' ? spec : NULL;
}

static bool canon_parse(const char *v, dkim_canon_t *h, dkim_canon_t *b)
{
    const char *slash = strchr(v, '/');
    size_t hl = slash ? (size_t)(slash - v) : strlen(v);

    *h = hl == 7 && strncasecmp(v, "relaxed", 7) == 0 ? DKIM_CANON_RELAXED
                                                      : DKIM_CANON_SIMPLE;
    *b = slash && strcasecmp(slash + 1, "relaxed") == 0 ? DKIM_CANON_RELAXED
                                                        : DKIM_CANON_SIMPLE;
    return true;
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

/* Header lists and flags of the snapshot's DKIM_LIB. */
static bool lib_setup(dkim_signer_t *s, const conf_t *c, char *err,
                      size_t errlen)
{
    const char *const *over = conf_list(c, CK_OVERSIGN_HEADERS);
    size_t nover = 0, nsign = ARRAY_SIZE(sign_headers);
    unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;

    while (over[nover])
        nover++;
    for (size_t i = 0; i < nover; i++)
        if (dkim_header_forbidden(over[i])) {
            snprintf(err, errlen,
                     "%s: OversignHeaders: %s is rewritten or removed by "
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
        if (!dkim_header_signed(over[i]))
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

static signer_status_t signing_new(const dkim_signer_t *s, const ktentry_t *kt,
                                   const char *domain, const char *queue_id,
                                   dkim_signing_t **out, char *err,
                                   size_t errlen);

/* Signs a test message with key table entry e. */
static bool selftest_sign(dkim_signer_t *s, const ktentry_t *e, char *err,
                          size_t errlen)
{
    static const char body[] = "DKIM self-test\r\n";
    const char *dom = e->domain ? e->domain : "example.com";
    dkim_signing_t *j = NULL;
    char sig[DKIM_SIGNATURE_MAX], from[300], msg[256] = "";
    signer_status_t st;

    snprintf(from, sizeof(from), "<selftest@%s>", dom);
    st = signing_new(s, e, dom, "selftest", &j, msg, sizeof(msg));
    if (st == SIGNER_OK)
        st = dkim_signing_header(j, "From", from, false);
    if (st == SIGNER_OK)
        st = dkim_signing_header(j, "Subject", "self-test", false);
    if (st == SIGNER_OK)
        st = dkim_signing_eoh(j);
    if (st == SIGNER_OK)
        st =
            dkim_signing_body(j, (const unsigned char *)body, sizeof(body) - 1);
    if (st == SIGNER_OK)
        st = dkim_signing_finish(j, sig, sizeof(sig));
    if (j && st != SIGNER_OK)
        str_copy(msg, j->err, sizeof(msg));
    dkim_signing_free(j);
    if (st != SIGNER_OK)
        snprintf(err, errlen, "%s: libopendkim cannot sign with it: %s",
                 e->key->label, msg);
    return st == SIGNER_OK;
}

static int probe_index = -1;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe_freed(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                        long argl, void *argp)
{
    if (ptr)
        *(bool *)ptr = true;
}

static void probe_init(void)
{
    probe_index = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL, probe_freed);
}

/* Learns whether libopendkim frees the key of e's algorithm: it signs once
 * with a copy of the key that only libopendkim holds and that reports its
 * own release. Without the interposer nothing is learned (and the copy is
 * freed here). */
static bool key_ownership(dkim_signer_t *s, const ktentry_t *e, char *err,
                          size_t errlen)
{
    bool freed = false, ok;
    EVP_PKEY *p;

    pthread_once(&probe_once, probe_init);
    if (probe_index < 0 || (p = EVP_PKEY_dup(e->key->pkey)) == NULL ||
        EVP_PKEY_set_ex_data(p, probe_index, &freed) != 1) {
        snprintf(err, errlen, "%s: OpenSSL cannot copy the key", e->key->label);
        return false;
    }
    tls_probe = p;
    ok = selftest_sign(s, e, err, errlen);
    if (tls_probe != NULL) { /* not taken: no interposer */
        tls_probe = NULL;
        EVP_PKEY_free(p);
        return ok;
    }
    if (!freed) {
        EVP_PKEY_set_ex_data(p, probe_index, NULL);
        EVP_PKEY_free(p);
    }
    atomic_store(&lib_owns[e->key->alg], freed ? OWN_FREES : OWN_KEEPS);
    return ok;
}

/* Signs a test message with every key: libopendkim must accept it, and
 * the key's lazily built values are made before threads share it. */
static bool keys_selftest(dkim_signer_t *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->nkt; i++) {
        const ktentry_t *e = &s->kt[i];
        if (atomic_load(&lib_owns[e->key->alg]) == OWN_UNKNOWN &&
            !key_ownership(s, e, err, errlen))
            return false;
        if (!selftest_sign(s, e, err, errlen))
            return false;
    }
    return true;
}

conf_status_t dkim_signer_load(const conf_t *c, dkim_signer_t **out, char *err,
                               size_t errlen)
{
    const char *kt = conf_str(c, CK_KEY_TABLE),
               *st = conf_str(c, CK_SIGNING_TABLE);
    const char *dom = conf_str(c, CK_DOMAIN), *sel = conf_str(c, CK_SELECTOR);
    const char *kf = conf_str(c, CK_KEY_FILE), *path;
    loadctx_t lc = {0};
    conf_status_t rc = CONF_INVALID;
    char msg[512];
    bool refile;

    *out = NULL;
    if (!kt && !st && !dom && !sel && !kf)
        return CONF_OK; /* no signing configured */
    if ((kt || st) && (dom || sel || kf)) {
        snprintf(err, errlen,
                 "%s: use either KeyTable and SigningTable or "
                 "Domain, Selector and KeyFile, not both",
                 conf_path(c));
        return CONF_INVALID;
    }
    if ((kt || st) && !(kt && st)) {
        snprintf(err, errlen, "%s: %s needs %s as well", conf_path(c),
                 kt ? "KeyTable" : "SigningTable",
                 kt ? "SigningTable" : "KeyTable");
        return CONF_INVALID;
    }
    if (!kt && !(dom && sel && kf)) {
        snprintf(err, errlen,
                 "%s: signing with a single key needs Domain, Selector and "
                 "KeyFile",
                 conf_path(c));
        return CONF_INVALID;
    }
    if ((lc.s = calloc(1, sizeof(*lc.s))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return CONF_INVALID;
    }
    lc.conf = c;
    lc.safe = conf_bool(c, CK_REQUIRE_SAFE_KEYS);
    lc.want_alg = !conf_is_set(c, CK_SIGNATURE_ALGORITHM) ? -1
                  : conf_is(c, CK_SIGNATURE_ALGORITHM, "ed25519-sha256")
                      ? DKIM_SIGN_ED25519SHA256
                      : DKIM_SIGN_RSASHA256;
    if (!runas_get(c, &lc.runas, msg, sizeof(msg))) {
        snprintf(err, errlen, "%s: %s", conf_path(c), msg);
        goto fail;
    }
    if (!lib_setup(lc.s, c, err, errlen))
        goto fail;
    if (kf) {
        if (!kt_add(&lc, "default", dom, sel, kf, 0, msg, sizeof(msg)) ||
            !st_add(lc.s, dom, "default", NULL, 0, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s: %s", conf_path(c), msg);
            goto fail;
        }
    } else {
        if ((path = dataset_path(kt, &refile)) == NULL || refile) {
            snprintf(err, errlen,
                     "%s: KeyTable must be file:/PATH (an opendkim flat file)",
                     conf_path(c));
            goto fail;
        }
        lc.table_path = path;
        if ((rc = textfile_each_line(path, kt_line, &lc, &lc.table_st, err,
                                     errlen)) != CONF_OK)
            goto fail;
        rc = CONF_INVALID;
        if (lc.inline_keys && lc.safe &&
            !file_safe(&lc.table_st, &lc.runas, msg, sizeof(msg))) {
            snprintf(err, errlen,
                     "%s holds private keys and %s (RequireSafeKeys yes "
                     "refuses it)",
                     path, msg);
            goto fail;
        }
        if ((path = dataset_path(st, &lc.s->refile)) == NULL) {
            snprintf(err, errlen,
                     "%s: SigningTable must be file:/PATH or refile:/PATH",
                     conf_path(c));
            goto fail;
        }
        if ((rc = textfile_each_line(path, st_line, &lc, NULL, err, errlen)) !=
            CONF_OK)
            goto fail;
        rc = CONF_INVALID;
        if (lc.s->nkt == 0) {
            snprintf(err, errlen, "%s: the KeyTable names no key", kt);
            goto fail;
        }
    }
    if (!lc.s->refile) {
        qsort(lc.s->st, lc.s->nst, sizeof(stentry_t), st_cmp);
        for (size_t i = 1; i < lc.s->nst; i++)
            if (strcmp(lc.s->st[i - 1].pattern, lc.s->st[i].pattern) == 0) {
                snprintf(err, errlen, "%s:%d: \"%s\" is listed twice",
                         dataset_path(st, &refile), lc.s->st[i].line,
                         lc.s->st[i].pattern);
                goto fail;
            }
    }
    if (!keys_selftest(lc.s, err, errlen))
        goto fail;
    *out = lc.s;
    return CONF_OK;
fail:
    dkim_signer_free(lc.s);
    return rc;
}

/* ---- key selection ---- */

static const stentry_t *st_exact(const dkim_signer_t *s, const char *key)
{
    stentry_t k = {.pattern = (char *)key};

    return s->nst ? bsearch(&k, s->st, s->nst, sizeof(stentry_t), st_cmp)
                  : NULL;
}

/* opendkim's lookup order for a "file:" SigningTable. */
static const stentry_t *st_lookup(const dkim_signer_t *s, const char *user,
                                  const char *host)
{
    char q[ADDR_MAX + 4];
    const stentry_t *e;
    const char *d;

    if (s->refile) {
        snprintf(q, sizeof(q), "%s@%s", user, host);
        for (size_t i = 0; i < s->nst; i++)
            if (str_glob(s->st[i].pattern, q))
                return &s->st[i];
        return NULL;
    }
    snprintf(q, sizeof(q), "%s@%s", user, host);
    if ((e = st_exact(s, q)) || (e = st_exact(s, host)))
        return e;
    for (d = strchr(host, '.'); d; d = strchr(d + 1, '.')) {
        snprintf(q, sizeof(q), "%s@%s", user, d);
        if ((e = st_exact(s, q)))
            return e;
    }
    for (d = strchr(host, '.'); d; d = strchr(d + 1, '.'))
        if ((e = st_exact(s, d)))
            return e;
    snprintf(q, sizeof(q), "%s@*", user);
    if ((e = st_exact(s, q)))
        return e;
    return st_exact(s, "*");
}

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

/* ---- signing ---- */

static signer_status_t fail(dkim_signing_t *j, DKIM_STAT st, const char *what)
{
    const char *e = j->dkim ? dkim_geterror(j->dkim) : NULL;

    snprintf(j->err, sizeof(j->err), "%s: %s", what,
             e && *e ? e : dkim_getresultstr(st));
    return SIGNER_FAIL;
}

/* A signing handle for key table entry kt and signing domain. */
static signer_status_t signing_new(const dkim_signer_t *s, const ktentry_t *kt,
                                   const char *domain, const char *queue_id,
                                   dkim_signing_t **out, char *err,
                                   size_t errlen)
{
    dkim_signing_t *j;
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
        (const u_char *)j->domain, s->hcanon, s->bcanon, j->key->alg, -1, &st);
    if (j->dkim == NULL) {
        snprintf(err, errlen, "dkim_sign(d=%s, s=%s): %s", j->domain,
                 j->selector, dkim_getresultstr(st));
        dkim_signing_free(j);
        return SIGNER_FAIL;
    }
    *out = j;
    return SIGNER_OK;
}

signer_status_t dkim_signing_start(const dkim_signer_t *s, const char *from,
                                   const char *queue_id, dkim_signing_t **out,
                                   char *err, size_t errlen)
{
    char user[ADDR_MAX], host[256], signer[ADDR_MAX + 8];
    const stentry_t *e;
    dkim_signing_t *j;
    DKIM_STAT st;

    *out = NULL;
    if (s == NULL || from == NULL ||
        !from_address(from, user, sizeof(user), host, sizeof(host)))
        return SIGNER_NOKEY;
    if ((e = st_lookup(s, user, host)) == NULL)
        return SIGNER_NOKEY;
    if (signing_new(s, e->kt, e->kt->domain ? e->kt->domain : host, queue_id,
                    &j, err, errlen) != SIGNER_OK)
        return SIGNER_FAIL;
    if (e->signer) {
        const char *pct = strchr(e->signer, '%');
        if (pct)
            snprintf(signer, sizeof(signer), "%.*s%s%s", (int)(pct - e->signer),
                     e->signer, host, pct + 1);
        else
            str_copy(signer, e->signer, sizeof(signer));
        if ((st = dkim_set_signer(j->dkim, (const u_char *)signer)) !=
            DKIM_STAT_OK) {
            fail(j, st, "dkim_set_signer");
            str_copy(err, j->err, errlen);
            dkim_signing_free(j);
            return SIGNER_FAIL;
        }
    }
    *out = j;
    return SIGNER_OK;
}

signer_status_t dkim_signing_header(dkim_signing_t *j, const char *name,
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

signer_status_t dkim_signing_eoh(dkim_signing_t *j)
{
    DKIM_STAT st;

    tls_key = j->key;
    st = dkim_eoh(j->dkim);
    tls_key = NULL;
    return st == DKIM_STAT_OK ? SIGNER_OK : fail(j, st, "dkim_eoh");
}

signer_status_t dkim_signing_body(dkim_signing_t *j, const unsigned char *buf,
                                  size_t len)
{
    DKIM_STAT st = dkim_body(j->dkim, (u_char *)buf, len);

    return st == DKIM_STAT_OK ? SIGNER_OK : fail(j, st, "dkim_body");
}

signer_status_t dkim_signing_finish(dkim_signing_t *j, char *out, size_t outlen)
{
    DKIM_STAT st;
    u_char *hdr = NULL;
    size_t len = 0;

    tls_hit = false;
    tls_key = j->key;
    st = dkim_eom(j->dkim, NULL);
    if (st == DKIM_STAT_OK)
        st = dkim_getsighdr_d(j->dkim, sizeof("DKIM-Signature: ") - 1, &hdr,
                              &len);
    tls_key = NULL;
    j->cached = tls_hit;
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

const char *dkim_signing_domain(const dkim_signing_t *j)
{
    return j->domain;
}

const char *dkim_signing_selector(const dkim_signing_t *j)
{
    return j->selector;
}

const char *dkim_signing_error(const dkim_signing_t *j)
{
    return j->err;
}

bool dkim_signing_used_cached_key(const dkim_signing_t *j)
{
    return j->cached;
}

void dkim_signing_free(dkim_signing_t *j)
{
    if (j == NULL)
        return;
    if (j->dkim)
        dkim_free(j->dkim);
    job_release(j);
    buf_free(&j->line);
    free(j);
}
