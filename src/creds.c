/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds.c - AWS credentials, found the way the AWS SDKs find them
 *
 * The provider walks the chain (environment, shared files, then the remote
 * sources in creds_web.c, creds_container.c, creds_imds.c) and caches what
 * it found; long-term keys for the life of the provider, temporary ones
 * until five minutes before their Expiration. The helpers the remote
 * sources share (time and JSON parsing, token files, metadata HTTP) live
 * here too.
 *
 * A profile with role_arn is resolved here too: its source credentials
 * (source_profile, recursively, or credential_source) sign an STS
 * AssumeRole call made by creds_sts_assume() in creds_web.c.
 *
 * Shared files are parsed like botocore's configparser: "[section]"
 * headers, "key = value" lines, '#' and ';' full-line comments, indented
 * continuation lines (nested settings such as "s3 =") ignored. Lines over
 * 4 KB and files over 1 MB are refused.
 *
 * DIAGNOSTICS
 *   See ses_creds.h.
 */
#include "config.h"

#include "creds_int.h"
#include "ses_aws.h"
#include "ses_creds.h"
#include "ses_filecheck.h"
#include "ses_jsonlimit.h"
#include "ses_log.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#define CREDS_REFRESH_MS (5 * 60 * 1000) /* refresh this long before expiry */
#define CREDS_VALID_MS   (10 * 1000)     /* still usable this long before */
#define CREDS_SAME_MS    (30 * 1000)     /* source not rotated: ask later */
#define CREDS_MAX_FILE   (1 << 20)

struct creds_provider {
    pthread_mutex_t lock;
    pthread_cond_t done;
    char *profile; /* from the Profile key, or NULL */
    char *credentials_file;
    char region[64];
    bool refreshing;
    bool have;
    int64_t next_refresh_ms; /* no refresh attempt before this */
    aws_creds_t cached;
    aws_creds_t *fixed; /* creds_provider_fixed(): the only source */
};

creds_provider_t *creds_provider_new(const conf_t *conf)
{
    creds_provider_t *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->done, NULL);
    p->profile = str_dup(conf ? conf_str(conf, CK_PROFILE) : NULL);
    p->credentials_file =
        str_dup(conf ? conf_str(conf, CK_CREDENTIALS_FILE) : NULL);
    aws_region(conf, p->region, sizeof(p->region));
    return p;
}

creds_provider_t *creds_provider_fixed(const aws_creds_t *c)
{
    creds_provider_t *p = creds_provider_new(NULL);

    if (p == NULL)
        return NULL;
    if ((p->fixed = malloc(sizeof(*p->fixed))) == NULL) {
        creds_provider_free(p);
        return NULL;
    }
    *p->fixed = *c;
    return p;
}

void creds_wipe(aws_creds_t *c)
{
    secure_zero(c, sizeof(*c));
}

void creds_provider_free(creds_provider_t *p)
{
    if (p == NULL)
        return;
    creds_wipe(&p->cached);
    if (p->fixed) {
        creds_wipe(p->fixed);
        free(p->fixed);
    }
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    free(p->profile);
    free(p->credentials_file);
    free(p);
}

void creds_invalidate(creds_provider_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->have = false;
    p->next_refresh_ms = 0;
    creds_wipe(&p->cached);
    pthread_mutex_unlock(&p->lock);
}

/* ---- helpers shared with the remote sources ---- */

int creds_set(char *dst, size_t dstlen, const char *v)
{
    return v && str_copy(dst, v, dstlen) < dstlen ? 0 : -1;
}

int64_t creds_expiry_ms(const char *iso)
{
    int64_t t = time_parse_iso8601(iso);

    return t < 0 ? -1 : t * 1000;
}

int creds_from_json(const char *body, size_t len, aws_creds_t *out, char *err,
                    size_t errlen)
{
    json_t *j =
        jsonlimit_load(body, len, 0, HTTP_DEFAULT_MAX_RESPONSE, NULL, 0);
    const char *ak, *sk, *tok, *exp, *code;
    int rc = -1;

    if (j == NULL) {
        snprintf(err, errlen, "credentials answer is not JSON");
        return -1;
    }
    ak = json_string_value(json_object_get(j, "AccessKeyId"));
    sk = json_string_value(json_object_get(j, "SecretAccessKey"));
    tok = json_string_value(json_object_get(j, "Token"));
    exp = json_string_value(json_object_get(j, "Expiration"));
    code = json_string_value(json_object_get(j, "Code"));
    if (code && strcmp(code, "Success") != 0) {
        char c[64];
        str_copy(c, code, sizeof(c));
        str_sanitize(c);
        snprintf(err, errlen, "credentials answer has Code \"%s\"", c);
    } else if (!ak || !*ak || !sk || !*sk) {
        snprintf(err, errlen,
                 "credentials answer lacks AccessKeyId or SecretAccessKey");
    } else if (creds_set(out->access_key, sizeof(out->access_key), ak) < 0 ||
               creds_set(out->secret_key, sizeof(out->secret_key), sk) < 0 ||
               creds_set(out->session_token, sizeof(out->session_token),
                         tok ? tok : "") < 0) {
        snprintf(err, errlen, "credentials in the answer are too long");
    } else if (exp && (out->expires_ms = creds_expiry_ms(exp)) < 0) {
        snprintf(err, errlen, "credentials answer has a bad Expiration");
    } else
        rc = 0;
    json_decref(j);
    return rc;
}

char *creds_read_token(const char *path, const char *what, char *err,
                       size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char *buf = NULL, *s;
    size_t n;

    if (fp == NULL) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if ((buf = malloc(CREDS_MAX_TOKEN + 2)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    n = fread(buf, 1, CREDS_MAX_TOKEN + 1, fp);
    if (ferror(fp) || n > CREDS_MAX_TOKEN) {
        snprintf(err, errlen, "%s %s: unreadable or over %d bytes", what, path,
                 CREDS_MAX_TOKEN);
        goto fail;
    }
    buf[n] = '\0';
    s = str_trim(buf);
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f) {
            snprintf(err, errlen, "%s %s: control characters in the token",
                     what, path);
            goto fail;
        }
    if (*s == '\0') {
        snprintf(err, errlen, "%s %s is empty", what, path);
        goto fail;
    }
    memmove(buf, s, strlen(s) + 1);
    fclose(fp);
    return buf;
fail:
    if (buf) {
        secure_zero(buf, CREDS_MAX_TOKEN + 2);
        free(buf);
    }
    fclose(fp);
    return NULL;
}

status_t creds_http(http_t *http, const char *method, const char *url,
                    const char *const *headers, size_t nheaders,
                    long timeout_ms, int attempts, http_response_t *resp)
{
    http_request_t req;
    status_t st = ST_TEMP_UNKNOWN;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = url;
    for (size_t i = 0; i < nheaders && i < HTTP_MAX_HEADERS; i++)
        req.headers[req.nheaders++] = headers[i];
    if (strcmp(method, "PUT") == 0) {
        req.body = ""; /* Content-Length: 0 */
        req.body_len = 0;
    }
    req.max_response = 64 * 1024;
    req.timeout_ms = timeout_ms;
    req.connect_timeout_ms = timeout_ms;
    req.no_proxy = true;
    for (int i = 0; i < (attempts > 0 ? attempts : 1); i++) {
        st = http_perform(http, &req, resp);
        if (st == ST_OK && resp->code < 500)
            break;
    }
    return st;
}

long creds_env_long(const char *name, long dflt, long min, long max)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (v == NULL || *v == '\0')
        return dflt;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return dflt;
    return n;
}

/* ---- 1. environment ---- */

/* AWS_ACCESS_KEY_ID and friends; 1, 0 (none) or -1. */
static int env_keys(aws_creds_t *c, char *err, size_t errlen)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID");
    const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = getenv("AWS_SESSION_TOKEN");

    if (tok == NULL || *tok == '\0')
        tok = getenv("AWS_SECURITY_TOKEN"); /* the older name */
    if (!ak || !*ak || !sk || !*sk) {
        if ((ak && *ak) || (sk && *sk)) {
            snprintf(err, errlen,
                     "environment has only one of AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY");
            return -1;
        }
        return 0;
    }
    if (creds_set(c->access_key, sizeof(c->access_key), ak) < 0 ||
        creds_set(c->secret_key, sizeof(c->secret_key), sk) < 0 ||
        creds_set(c->session_token, sizeof(c->session_token), tok ? tok : "") <
            0) {
        snprintf(err, errlen,
                 "AWS credentials in the environment are too long");
        return -1;
    }
    str_copy(c->source, "environment", sizeof(c->source));
    return 1;
}

/* The chain's first source - except when the Profile key names a profile:
 * then, as botocore does for a profile given to its Session, that
 * profile decides (its credential_source = Environment still reads these
 * variables). */
static int from_env(creds_provider_t *p, const creds_ctx_t *ctx, aws_creds_t *c,
                    char *err, size_t errlen)
{
    (void)ctx;
    if (p->profile)
        return 0;
    return env_keys(c, err, errlen);
}

/* ---- 2. shared credentials and config files ---- */

/* A profile's role settings; the credentials file's win over the config
 * file's (botocore merges the two files' profiles that way). */
typedef struct {
    char role_arn[256];
    char source_profile[128];
    char credential_source[32];
    char session[80];
    char external_id[1300];
    char duration[16];
    char token_file[1024];
    bool mfa; /* mfa_serial: needs a code typed in */
    bool sso; /* sso_*: not supported */
} role_t;

typedef struct {
    aws_creds_t *c;
    role_t *role;
    char process[4096]; /* credential_process */
} profile_t;

/* A credentials file others can read holds secret keys they can use: say
 * so (once per file and process; reading it still works, as the AWS CLI
 * does, since refusing would stop the mail). */
static void warn_loose_mode(const char *path, const struct stat *st)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char warned[4096];

    if (!(st->st_mode & (S_IRWXG | S_IRWXO)))
        return;
    pthread_mutex_lock(&mu);
    if (strcmp(warned, path) != 0) {
        str_copy(warned, path, sizeof(warned));
        log_warning(NULL,
                    "%s: credentials file is accessible by group or others "
                    "(mode %04o): chmod 600 it (or 640 with a group of the "
                    "programs' user only)",
                    path, (unsigned)(st->st_mode & 07777));
    }
    pthread_mutex_unlock(&mu);
}

/* Calls fn for each "key = value" of the sections named by want(). 1 when
 * such a section exists, 0 when not (or no file), -1 on an unreadable or
 * oversized file. */
static int ini_read(const char *path, bool (*want)(const char *, void *),
                    void (*fn)(void *, const char *, const char *), void *ud,
                    char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char line[4096 + 2];
    int in = 0, found = 0, lineno = 0;
    struct stat st;

    if (fp == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size > CREDS_MAX_FILE) {
        snprintf(err, errlen, "%s: not a regular file under 1 MB", path);
        fclose(fp);
        return -1;
    }
    /* a credential_process line in it runs a command, and its keys pick
     * the account: nobody but root and us may change it */
    if (filecheck_writers(path, &st, geteuid(), err, errlen) != FILECHECK_OK) {
        fclose(fp);
        return -1;
    }
    warn_loose_mode(path, &st);
    while (fgets(line, sizeof(line), fp)) {
        char *s, *eq;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            found = -1;
            break;
        }
        if (line[0] == ' ' || line[0] == '\t')
            continue; /* continuation of a nested setting */
        s = str_trim(line);
        if (*s == '#' || *s == ';' || *s == '\0')
            continue;
        if (*s == '[') {
            char *e = strrchr(s, ']');
            if (e == NULL)
                continue;
            *e = '\0';
            in = want(str_trim(s + 1), ud);
            found |= in;
            continue;
        }
        if (!in || (eq = strchr(s, '=')) == NULL)
            continue;
        *eq = '\0';
        fn(ud, str_trim(s), str_trim(eq + 1));
    }
    fclose(fp);
    secure_zero(line, sizeof(line));
    return found;
}

/* Sets a role setting the credentials file has not already set. */
static void role_set(char *dst, size_t dstlen, const char *v)
{
    if (!dst[0])
        str_copy(dst, v, dstlen);
}

static void take_key(void *ud, const char *k, const char *v)
{
    profile_t *pr = ud;
    aws_creds_t *c = pr->c;
    role_t *r = pr->role;

    if (str_iequal(k, "aws_access_key_id"))
        str_copy(c->access_key, v, sizeof(c->access_key));
    else if (str_iequal(k, "aws_secret_access_key"))
        str_copy(c->secret_key, v, sizeof(c->secret_key));
    else if (str_iequal(k, "aws_session_token") ||
             (str_iequal(k, "aws_security_token") && !c->session_token[0]))
        str_copy(c->session_token, v, sizeof(c->session_token));
    else if (str_iequal(k, "credential_process"))
        str_copy(pr->process, v, sizeof(pr->process));
    else if (str_iequal(k, "role_arn"))
        role_set(r->role_arn, sizeof(r->role_arn), v);
    else if (str_iequal(k, "source_profile"))
        role_set(r->source_profile, sizeof(r->source_profile), v);
    else if (str_iequal(k, "credential_source"))
        role_set(r->credential_source, sizeof(r->credential_source), v);
    else if (str_iequal(k, "role_session_name"))
        role_set(r->session, sizeof(r->session), v);
    else if (str_iequal(k, "external_id"))
        role_set(r->external_id, sizeof(r->external_id), v);
    else if (str_iequal(k, "duration_seconds"))
        role_set(r->duration, sizeof(r->duration), v);
    else if (str_iequal(k, "web_identity_token_file"))
        role_set(r->token_file, sizeof(r->token_file), v);
    else if (str_iequal(k, "mfa_serial"))
        r->mfa = true;
    else if (str_ihas_prefix(k, "sso_"))
        r->sso = true;
}

typedef struct {
    const char *profile;
    profile_t *pr;
} want_t;

/* credentials file: "[name]" */
static bool want_plain(const char *section, void *ud)
{
    return strcmp(section, ((want_t *)ud)->profile) == 0;
}

/* config file: "[profile name]", and "[default]" for the default */
static bool want_config(const char *section, void *ud)
{
    const char *profile = ((want_t *)ud)->profile;

    if (strcmp(profile, "default") == 0 && strcmp(section, "default") == 0)
        return true;
    if (strncmp(section, "profile", 7) != 0 ||
        !isspace((unsigned char)section[7]))
        return false;
    section += 7;
    while (isspace((unsigned char)*section))
        section++;
    return strcmp(section, profile) == 0;
}

static void take_key_ud(void *ud, const char *k, const char *v)
{
    take_key(((want_t *)ud)->pr, k, v);
}

static const char *profile_name(const creds_provider_t *p, bool *explicit)
{
    const char *e = getenv("AWS_PROFILE");

    *explicit = true;
    if (p->profile)
        return p->profile;
    if (e && *e)
        return e;
    *explicit = false;
    return "default";
}

static int home_path(const char *rel, char *out, size_t outlen)
{
    const char *home = getenv("HOME");

    if (!home || !*home)
        return -1;
    return (size_t)snprintf(out, outlen, "%s/%s", home, rel) < outlen ? 0 : -1;
}

/* Keys of one file's section into *c; 1 found, 0 none, -1 error. The
 * section's credential_process goes into process (if still empty), its
 * role settings into *role. */
static int profile_from(const char *path, bool config, const char *profile,
                        aws_creds_t *c, role_t *role, bool *seen, char *process,
                        size_t processlen, char *err, size_t errlen)
{
    profile_t pr = {c, role, ""};
    want_t w = {profile, &pr};
    int r;

    memset(c, 0, sizeof(*c));
    r = ini_read(path, config ? want_config : want_plain, take_key_ud, &w, err,
                 errlen);
    if (r < 0)
        return -1;
    *seen |= r > 0;
    if (!process[0])
        str_copy(process, pr.process, processlen);
    secure_zero(pr.process, sizeof(pr.process));
    if (!c->access_key[0] && !c->secret_key[0])
        return 0;
    if (!c->access_key[0] || !c->secret_key[0]) {
        snprintf(err, errlen,
                 "%s: profile \"%s\" has only one of aws_access_key_id and "
                 "aws_secret_access_key",
                 path, profile);
        return -1;
    }
    snprintf(c->source, sizeof(c->source), "shared-file:%.40s", profile);
    return 1;
}

#define ROLE_CHAIN_MAX 5 /* source_profile hops before it is called a loop */

static int profile_creds(creds_provider_t *p, const creds_ctx_t *ctx,
                         const char *profile, bool explicit, int depth,
                         aws_creds_t *c, char *err, size_t errlen);

/* The credentials a role is assumed with: source_profile (that profile's
 * own keys when it names itself, else whatever it resolves to, roles
 * included) or credential_source. 1 or -1. */
static int role_source(creds_provider_t *p, const creds_ctx_t *ctx,
                       const char *profile, const role_t *role,
                       const aws_creds_t *own, int depth, aws_creds_t *src,
                       char *err, size_t errlen)
{
    const char *cs = role->credential_source;
    int r;

    memset(src, 0, sizeof(*src));
    if (role->source_profile[0]) {
        if (strcmp(role->source_profile, profile) == 0) {
            if (!own->access_key[0]) {
                snprintf(err, errlen,
                         "profile \"%s\" is its own source_profile but has "
                         "no aws_access_key_id",
                         profile);
                return -1;
            }
            *src = *own;
            return 1;
        }
        r = profile_creds(p, ctx, role->source_profile, true, depth + 1, src,
                          err, errlen);
        if (r == 0)
            snprintf(err, errlen,
                     "profile \"%s\": source_profile \"%s\" has no "
                     "credentials",
                     profile, role->source_profile);
        return r == 1 ? 1 : -1;
    }
    if (str_iequal(cs, "Environment"))
        r = env_keys(src, err, errlen);
    else if (str_iequal(cs, "Ec2InstanceMetadata"))
        r = creds_imds(ctx, src, err, errlen);
    else if (str_iequal(cs, "EcsContainer"))
        r = creds_container(ctx, src, err, errlen);
    else {
        snprintf(err, errlen,
                 "profile \"%s\": credential_source must be Environment, "
                 "Ec2InstanceMetadata or EcsContainer",
                 profile);
        return -1;
    }
    if (r == 0)
        snprintf(err, errlen,
                 "profile \"%s\": credential_source %s has no credentials",
                 profile, cs);
    return r == 1 ? 1 : -1;
}

/* A profile with role_arn: AssumeRole with its source's credentials, or
 * AssumeRoleWithWebIdentity with its web_identity_token_file. 1 or -1. */
static int assume_role(creds_provider_t *p, const creds_ctx_t *ctx,
                       const char *profile, const role_t *role,
                       const aws_creds_t *own, int depth, aws_creds_t *c,
                       char *err, size_t errlen)
{
    sts_assume_t a = {.what = "role_session_name",
                      .role_arn = role->role_arn,
                      .session = role->session,
                      .external_id = role->external_id,
                      .duration = role->duration};
    aws_creds_t src;
    const char *d;
    int r;

    if (depth >= ROLE_CHAIN_MAX) {
        snprintf(err, errlen,
                 "profile \"%s\": more than %d roles chained through "
                 "source_profile (a loop?)",
                 profile, ROLE_CHAIN_MAX);
        return -1;
    }
    if (role->mfa) {
        snprintf(err, errlen,
                 "profile \"%s\" needs an MFA code (mfa_serial), which a "
                 "mail server cannot type in",
                 profile);
        return -1;
    }
    if (role->source_profile[0] && role->credential_source[0]) {
        snprintf(err, errlen,
                 "profile \"%s\" has both source_profile and "
                 "credential_source",
                 profile);
        return -1;
    }
    for (d = role->duration; *d; d++)
        if (!isdigit((unsigned char)*d) || d - role->duration > 5) {
            snprintf(err, errlen,
                     "profile \"%s\": duration_seconds is not a number of "
                     "seconds",
                     profile);
            return -1;
        }
    if (!role->source_profile[0] && !role->credential_source[0]) {
        if (!role->token_file[0]) {
            snprintf(err, errlen,
                     "profile \"%s\" has role_arn but no source_profile, "
                     "credential_source or web_identity_token_file",
                     profile);
            return -1;
        }
        a.token_file = role->token_file;
        a.external_id = a.duration = NULL;
        if (creds_sts_assume(ctx, &a, c, err, errlen) < 0)
            return -1;
        snprintf(c->source, sizeof(c->source), "web-identity:%.40s", profile);
        return 1;
    }
    if (role_source(p, ctx, profile, role, own, depth, &src, err, errlen) < 0)
        return -1;
    log_secret_add(src.secret_key);
    log_secret_add(src.session_token);
    a.signer = &src;
    r = creds_sts_assume(ctx, &a, c, err, errlen);
    creds_wipe(&src);
    if (r < 0)
        return -1;
    snprintf(c->source, sizeof(c->source), "assume-role:%.40s", profile);
    return 1;
}

/* One profile from the shared files, in botocore's order: a role
 * (role_arn), then (for the profile in use, not a source_profile) the
 * environment's web identity, keys in the credentials file, the profile's
 * credential_process, keys in the config file. Keys are never mixed
 * across files. 1 found, 0 nothing, -1 error. */
static int profile_creds(creds_provider_t *p, const creds_ctx_t *ctx,
                         const char *profile, bool explicit, int depth,
                         aws_creds_t *c, char *err, size_t errlen)
{
    const char *env;
    char cpath[1024] = "", fpath[1024] = "", process[4096] = "";
    bool seen = false;
    aws_creds_t *keys = calloc(2, sizeof(aws_creds_t)); /* file, config */
    role_t *role = calloc(1, sizeof(role_t));
    int r = -1, rc = 0, rf = 0;

    if (keys == NULL || role == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (p->credentials_file)
        str_copy(cpath, p->credentials_file, sizeof(cpath));
    else if ((env = getenv("AWS_SHARED_CREDENTIALS_FILE")) && *env)
        str_copy(cpath, env, sizeof(cpath));
    else
        home_path(".aws/credentials", cpath, sizeof(cpath));
    if ((env = getenv("AWS_CONFIG_FILE")) && *env)
        str_copy(fpath, env, sizeof(fpath));
    else
        home_path(".aws/config", fpath, sizeof(fpath));

    if ((cpath[0] &&
         (rc = profile_from(cpath, false, profile, &keys[0], role, &seen,
                            process, sizeof(process), err, errlen)) < 0) ||
        (fpath[0] &&
         (rf = profile_from(fpath, true, profile, &keys[1], role, &seen,
                            process, sizeof(process), err, errlen)) < 0))
        goto out;
    memset(c, 0, sizeof(*c));
    if (role->role_arn[0])
        r = assume_role(p, ctx, profile, role, rc > 0 ? &keys[0] : &keys[1],
                        depth, c, err, errlen);
    else if (explicit && !seen) {
        snprintf(err, errlen, "profile \"%s\" not found in %s or %s", profile,
                 cpath[0] ? cpath : "(no credentials file)",
                 fpath[0] ? fpath : "(no config file)");
        r = -1;
    } else if (depth == 0 && (r = creds_web_identity(ctx, c, err, errlen)) != 0)
        ; /* the environment's web identity comes before keys in the
           * files, as in botocore (a role profile comes before it) */
    else if (rc > 0 || (rf > 0 && !process[0])) {
        *c = keys[rc > 0 ? 0 : 1];
        r = 1;
    } else if (process[0])
        r = creds_process(process, profile, c, err, errlen);
    else if (role->sso) {
        snprintf(err, errlen,
                 "profile \"%s\" uses sso settings, which ses-milter does "
                 "not support: give it aws_access_key_id and "
                 "aws_secret_access_key, a credential_process or a role_arn, "
                 "or use the environment",
                 profile);
        r = -1;
    } else
        r = 0;
out:
    secure_zero(process, sizeof(process));
    if (keys) {
        creds_wipe(&keys[0]);
        creds_wipe(&keys[1]);
        free(keys);
    }
    free(role);
    return r;
}

static int from_shared_files(creds_provider_t *p, const creds_ctx_t *ctx,
                             aws_creds_t *c, char *err, size_t errlen)
{
    bool explicit;
    const char *profile = profile_name(p, &explicit);

    return profile_creds(p, ctx, profile, explicit, 0, c, err, errlen);
}

/* ---- the chain ---- */

typedef int (*source_fn)(creds_provider_t *, const creds_ctx_t *, aws_creds_t *,
                         char *, size_t);

static int container(creds_provider_t *p, const creds_ctx_t *ctx,
                     aws_creds_t *c, char *err, size_t errlen)
{
    (void)p;
    return creds_container(ctx, c, err, errlen);
}

static int imds(creds_provider_t *p, const creds_ctx_t *ctx, aws_creds_t *c,
                char *err, size_t errlen)
{
    (void)p;
    return creds_imds(ctx, c, err, errlen);
}

/* The environment's web identity is tried inside from_shared_files(),
 * between a role profile and keys in the files, where botocore has it. */
static const source_fn chain[] = {from_env, from_shared_files, container, imds};

/* Runs the chain without the lock held. */
static int resolve(creds_provider_t *p, http_t *http, aws_creds_t *c, char *err,
                   size_t errlen)
{
    creds_ctx_t ctx = {http, p->region};
    http_t *own = NULL;
    int r = 0;

    if (p->fixed) {
        *c = *p->fixed;
        return 1;
    }

    if (ctx.http == NULL && (ctx.http = own = http_new(1000, 10000)) == NULL) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(chain) && r == 0; i++) {
        memset(c, 0, sizeof(*c));
        err[0] = '\0';
        r = chain[i](p, &ctx, c, err, errlen);
    }
    http_free(own);
    if (r == 0) {
        bool explicit;
        snprintf(err, errlen,
                 "no AWS credentials found (environment, shared files for "
                 "profile \"%s\", web identity, container, instance "
                 "metadata)",
                 profile_name(p, &explicit));
    }
    return r;
}

/* Fresh: not within the refresh window. Valid: usable for a request. */
static bool fresh(const aws_creds_t *c, int64_t now)
{
    return c->expires_ms == 0 || c->expires_ms - CREDS_REFRESH_MS > now;
}

static bool valid(const aws_creds_t *c, int64_t now)
{
    return c->expires_ms == 0 || c->expires_ms - CREDS_VALID_MS > now;
}

status_t creds_get(creds_provider_t *p, http_t *http, aws_creds_t *out,
                   char *err, size_t errlen)
{
    aws_creds_t *c;
    int64_t now = clock_wall_ms();
    int r;

    err[0] = '\0';
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->have && (fresh(&p->cached, now) ||
                        (valid(&p->cached, now) &&
                         (p->refreshing || now < p->next_refresh_ms)))) {
            *out = p->cached;
            pthread_mutex_unlock(&p->lock);
            return ST_OK;
        }
        if (!p->refreshing)
            break;
        pthread_cond_wait(&p->done, &p->lock);
        now = clock_wall_ms();
    }
    p->refreshing = true;
    pthread_mutex_unlock(&p->lock);

    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(err, errlen, "out of memory");
        r = -1;
    } else
        r = resolve(p, http, c, err, errlen);

    pthread_mutex_lock(&p->lock);
    p->refreshing = false;
    now = clock_wall_ms();
    if (r == 1 && valid(c, now)) {
        bool rotated =
            !p->have || strcmp(c->access_key, p->cached.access_key) != 0;
        char id[32];
        log_secret_add(c->secret_key);
        log_secret_add(c->session_token);
        /* info for a daemon's refresh; debug for a first load, which
         * pipe mode does once per delivery */
        if (rotated)
            log_msg(p->have ? LOG_INFO : LOG_DEBUG, NULL,
                    "using AWS credentials %s from %s%s",
                    log_redact(c->access_key, id, sizeof(id)), c->source,
                    c->expires_ms ? " (temporary)" : "");
        /* A source that has not rotated yet is asked again later, not on
         * every call. */
        p->next_refresh_ms = fresh(c, now) || rotated ? 0 : now + CREDS_SAME_MS;
        p->cached = *c;
        p->have = true;
        *out = *c;
    } else if (p->have && valid(&p->cached, now)) {
        log_warning(NULL,
                    "cannot refresh AWS credentials (%s); using the "
                    "current ones until they expire",
                    r == 1 ? "they expire too soon" : err);
        p->next_refresh_ms = now + CREDS_SAME_MS;
        *out = p->cached;
        r = 1;
    } else {
        if (r == 1)
            snprintf(err, errlen, "credentials from %s have expired",
                     c->source);
        p->have = false;
        creds_wipe(&p->cached);
        r = -1;
    }
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->lock);
    if (c) {
        creds_wipe(c);
        free(c);
    }
    return r == 1 ? ST_OK : ST_TEMP_CREDENTIALS;
}
