/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * keytable.c - which DKIM key signs for which sender
 *
 * The KeyTable is read first (every key loaded as its line is read), then
 * the SigningTable, whose lines point into it. A "file:" SigningTable is
 * sorted once so each of opendkim's lookup steps is a binary search; a
 * "refile:" one is searched in file order.
 *
 * DIAGNOSTICS
 *   See ses_keytable.h.
 */
#include "config.h"

#include "ses_keytable.h"
#include "ses_textfile.h"
#include "ses_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *pattern; /* lower case */
    char *signer;  /* NULL or the i= value, "%" = From domain */
    const keytable_entry_t *kt;
    int line;
} stentry_t;

struct keytable {
    bool refile;
    keyfile_key_t **keys;
    size_t nkeys;
    keytable_entry_t *kt;
    size_t nkt;
    stentry_t *st;
    size_t nst;
};

typedef struct {
    keytable_t *t;
    const conf_t *conf;
    keyfile_reader_t reader;
    bool safe; /* RequireSafeKeys */
    int want;  /* the keyfile_type_t SignatureAlgorithm names, or -1 */
    bool inline_keys;
} loadctx_t;

void keytable_free(keytable_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nkt; i++) {
        free(t->kt[i].name);
        free(t->kt[i].domain);
        free(t->kt[i].selector);
    }
    free(t->kt);
    for (size_t i = 0; i < t->nst; i++) {
        free(t->st[i].pattern);
        free(t->st[i].signer);
    }
    free(t->st);
    for (size_t i = 0; i < t->nkeys; i++)
        keyfile_free(t->keys[i]);
    free(t->keys);
    free(t);
}

size_t keytable_key_count(const keytable_t *t)
{
    return t ? t->nkeys : 0;
}

size_t keytable_count(const keytable_t *t)
{
    return t ? t->nkt : 0;
}

const keytable_entry_t *keytable_entry(const keytable_t *t, size_t i)
{
    return t && i < t->nkt ? &t->kt[i] : NULL;
}

/* The key a KeyTable line names (a path or inline text); keys named twice
 * are loaded once. */
static const keyfile_key_t *key_get(loadctx_t *lc, const char *spec, int line,
                                    char *err, size_t errlen)
{
    keytable_t *t = lc->t;
    keyfile_key_t *k, **nv;
    bool is_path = spec[0] == '/';

    if (is_path)
        for (size_t i = 0; i < t->nkeys; i++)
            if (strcmp(t->keys[i]->label, spec) == 0)
                return t->keys[i];
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
    if (t->nkeys == KEYTABLE_MAX_KEYS) {
        snprintf(err, errlen, "more than %d keys", KEYTABLE_MAX_KEYS);
        return NULL;
    }
    if (is_path) {
        k = keyfile_load(spec, &lc->reader, lc->safe, err, errlen);
    } else {
        char label[64];
        snprintf(label, sizeof(label), "inline key at line %d", line);
        lc->inline_keys = true;
        k = keyfile_parse(label, spec, strlen(spec), err, errlen);
    }
    if (k == NULL)
        return NULL;
    if (lc->want >= 0 && (int)k->type != lc->want) {
        snprintf(err, errlen, "%s is an %s key but SignatureAlgorithm is %s",
                 k->label, keyfile_type_name(k->type),
                 conf_str(lc->conf, CK_SIGNATURE_ALGORITHM));
        keyfile_free(k);
        return NULL;
    }
    if ((nv = realloc(t->keys, (t->nkeys + 1) * sizeof(*nv))) == NULL) {
        snprintf(err, errlen, "out of memory");
        keyfile_free(k);
        return NULL;
    }
    t->keys = nv;
    t->keys[t->nkeys++] = k;
    return k;
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
    keytable_t *t = lc->t;
    keytable_entry_t *e, *nv;
    const keyfile_key_t *key;

    for (size_t i = 0; i < t->nkt; i++)
        if (strcasecmp(t->kt[i].name, name) == 0) {
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
    if ((nv = realloc(t->kt, (t->nkt + 1) * sizeof(*nv))) == NULL) {
        snprintf(msg, msglen, "out of memory");
        return false;
    }
    t->kt = nv;
    if ((key = key_get(lc, keyspec, line, msg, msglen)) == NULL)
        return false;
    e = &t->kt[t->nkt];
    memset(e, 0, sizeof(*e));
    e->key = key;
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
    t->nkt++;
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

static const keytable_entry_t *kt_find(const keytable_t *t, const char *name)
{
    for (size_t i = 0; i < t->nkt; i++)
        if (strcasecmp(t->kt[i].name, name) == 0)
            return &t->kt[i];
    return NULL;
}

static bool st_add(keytable_t *t, const char *pattern, const char *keyname,
                   const char *signer, int line, char *msg, size_t msglen)
{
    const keytable_entry_t *kt = kt_find(t, keyname);
    stentry_t *nv, *e;

    if (kt == NULL) {
        snprintf(msg, msglen, "key name \"%.80s\" is not in the KeyTable",
                 keyname);
        return false;
    }
    if ((nv = realloc(t->st, (t->nst + 1) * sizeof(*nv))) == NULL)
        goto oom;
    t->st = nv;
    e = &t->st[t->nst];
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
    t->nst++;
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
    if (strlen(pat) > KEYTABLE_ADDR_MAX) {
        snprintf(msg, msglen, "pattern longer than %d bytes",
                 KEYTABLE_ADDR_MAX);
        return false;
    }
    return st_add(lc->t, pat, name, signer, lineno, msg, msglen);
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

/* KeyTable and SigningTable files. */
static conf_status_t tables_load(loadctx_t *lc, const char *kt, const char *st,
                                 char *err, size_t errlen)
{
    const conf_t *c = lc->conf;
    const char *path;
    struct stat kst;
    conf_status_t rc;
    char msg[512];
    bool refile;

    if ((path = dataset_path(kt, &refile)) == NULL || refile) {
        snprintf(err, errlen,
                 "%s: KeyTable must be file:/PATH (an opendkim flat file)",
                 conf_path(c));
        return CONF_INVALID;
    }
    if ((rc = textfile_each_line(path, kt_line, lc, &kst, err, errlen)) !=
        CONF_OK)
        return rc;
    if (lc->inline_keys && lc->safe &&
        !keyfile_safe(path, &kst, &lc->reader, msg, sizeof(msg))) {
        snprintf(err, errlen,
                 "%s holds private keys and %s (RequireSafeKeys yes "
                 "refuses it)",
                 path, msg);
        return CONF_INVALID;
    }
    if ((path = dataset_path(st, &lc->t->refile)) == NULL) {
        snprintf(err, errlen,
                 "%s: SigningTable must be file:/PATH or refile:/PATH",
                 conf_path(c));
        return CONF_INVALID;
    }
    if ((rc = textfile_each_line(path, st_line, lc, NULL, err, errlen)) !=
        CONF_OK)
        return rc;
    if (lc->t->nkt == 0) {
        snprintf(err, errlen, "%s: the KeyTable names no key", kt);
        return CONF_INVALID;
    }
    return CONF_OK;
}

conf_status_t keytable_load(const conf_t *c, keytable_t **out, char *err,
                            size_t errlen)
{
    const char *kt = conf_str(c, CK_KEY_TABLE),
               *st = conf_str(c, CK_SIGNING_TABLE);
    const char *dom = conf_str(c, CK_DOMAIN), *sel = conf_str(c, CK_SELECTOR);
    const char *kf = conf_str(c, CK_KEY_FILE);
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
    if ((lc.t = calloc(1, sizeof(*lc.t))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return CONF_INVALID;
    }
    lc.conf = c;
    lc.safe = conf_bool(c, CK_REQUIRE_SAFE_KEYS);
    lc.want = !conf_is_set(c, CK_SIGNATURE_ALGORITHM) ? -1
              : conf_is(c, CK_SIGNATURE_ALGORITHM, "ed25519-sha256")
                  ? KEYFILE_ED25519
                  : KEYFILE_RSA;
    if (!keyfile_reader_get(conf_str(c, CK_USER_ID), &lc.reader, msg,
                            sizeof(msg))) {
        snprintf(err, errlen, "%s: %s", conf_path(c), msg);
        goto fail;
    }
    if (kf) {
        if (!kt_add(&lc, "default", dom, sel, kf, 0, msg, sizeof(msg)) ||
            !st_add(lc.t, dom, "default", NULL, 0, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: %s", conf_path(c),
                     conf_key_line(c, CK_KEY_FILE), msg);
            goto fail;
        }
    } else if ((rc = tables_load(&lc, kt, st, err, errlen)) != CONF_OK) {
        goto fail;
    }
    rc = CONF_INVALID;
    if (!lc.t->refile) {
        qsort(lc.t->st, lc.t->nst, sizeof(stentry_t), st_cmp);
        for (size_t i = 1; i < lc.t->nst; i++)
            if (strcmp(lc.t->st[i - 1].pattern, lc.t->st[i].pattern) == 0) {
                snprintf(err, errlen, "%s:%d: \"%s\" is listed twice",
                         dataset_path(st, &refile), lc.t->st[i].line,
                         lc.t->st[i].pattern);
                goto fail;
            }
    }
    *out = lc.t;
    return CONF_OK;
fail:
    keytable_free(lc.t);
    return rc;
}

/* ---- lookup ---- */

static const stentry_t *st_exact(const keytable_t *t, const char *key)
{
    stentry_t k = {.pattern = (char *)key};

    return t->nst ? bsearch(&k, t->st, t->nst, sizeof(stentry_t), st_cmp)
                  : NULL;
}

/* opendkim's lookup order (see ses_keytable.h). */
static const stentry_t *st_lookup(const keytable_t *t, const char *user,
                                  const char *host)
{
    char q[KEYTABLE_ADDR_MAX + 4];
    const stentry_t *e;
    const char *d;

    if (t->refile) {
        snprintf(q, sizeof(q), "%s@%s", user, host);
        for (size_t i = 0; i < t->nst; i++)
            if (str_glob(t->st[i].pattern, q))
                return &t->st[i];
        return NULL;
    }
    snprintf(q, sizeof(q), "%s@%s", user, host);
    if ((e = st_exact(t, q)) || (e = st_exact(t, host)))
        return e;
    for (d = strchr(host, '.'); d; d = strchr(d + 1, '.')) {
        snprintf(q, sizeof(q), "%s@%s", user, d);
        if ((e = st_exact(t, q)))
            return e;
    }
    for (d = strchr(host, '.'); d; d = strchr(d + 1, '.'))
        if ((e = st_exact(t, d)))
            return e;
    snprintf(q, sizeof(q), "%s@*", user);
    if ((e = st_exact(t, q)))
        return e;
    return st_exact(t, "*");
}

const keytable_entry_t *keytable_lookup(const keytable_t *t, const char *user,
                                        const char *host, const char **signer)
{
    const stentry_t *e = t ? st_lookup(t, user, host) : NULL;

    *signer = e ? e->signer : NULL;
    return e ? e->kt : NULL;
}
