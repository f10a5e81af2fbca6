/*
 * creds.c - AWS credentials, found the way the AWS SDKs find them
 *
 * The provider caches the credentials it found; long-term keys are kept for
 * the life of the provider, temporary ones until five minutes before their
 * Expiration. Every secret found is registered with log_secret_add() so it
 * can never reach a log line.
 *
 * Shared files are parsed like the SDKs do: "[name]" sections in the
 * credentials file, "[profile name]" (or "[default]") in the config file,
 * "key = value" lines, '#' and ';' comments. Lines over 4 KB and files over
 * 1 MB are refused.
 *
 * DIAGNOSTICS
 *   See ses_creds.h.
 */
#include "config.h"

#include "ses_creds.h"
#include "ses_log.h"
#include "ses_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CREDS_REFRESH_MS (5 * 60 * 1000)
#define CREDS_MAX_FILE   (1 << 20)

struct creds_provider {
    pthread_mutex_t lock;
    char *profile;
    char *credentials_file;
    int have;
    aws_creds_t cached;
};

creds_provider_t *creds_provider_new(const conf_t *conf)
{
    creds_provider_t *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->profile = str_dup(conf ? conf_str(conf, CK_PROFILE) : NULL);
    p->credentials_file =
        str_dup(conf ? conf_str(conf, CK_CREDENTIALS_FILE) : NULL);
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
    pthread_mutex_destroy(&p->lock);
    free(p->profile);
    free(p->credentials_file);
    free(p);
}

void creds_invalidate(creds_provider_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->have = 0;
    creds_wipe(&p->cached);
    pthread_mutex_unlock(&p->lock);
}

static int set_field(char *dst, size_t len, const char *v)
{
    return str_copy(dst, v, len) < len ? 0 : -1;
}

/* 1 found, 0 not configured, -1 configured but broken (err set). */
static int from_env(aws_creds_t *c, char *err, size_t errlen)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID");
    const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = getenv("AWS_SESSION_TOKEN");

    if (!ak || !*ak || !sk || !*sk) {
        if ((ak && *ak) || (sk && *sk)) {
            snprintf(err, errlen,
                     "environment has only one of AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY");
            return -1;
        }
        return 0;
    }
    if (set_field(c->access_key, sizeof(c->access_key), ak) < 0 ||
        set_field(c->secret_key, sizeof(c->secret_key), sk) < 0 ||
        set_field(c->session_token, sizeof(c->session_token), tok ? tok : "") <
            0) {
        snprintf(err, errlen,
                 "AWS credentials in the environment are too long");
        return -1;
    }
    str_copy(c->source, "environment", sizeof(c->source));
    return 1;
}

/* Reads "key = value" pairs of section `want` from an INI file; calls
 * fn for each. 1 when the section exists, 0 when not (or no file), -1 on
 * an unreadable or oversized file. */
static int ini_section(const char *path, const char *want,
                       void (*fn)(void *, const char *, const char *), void *ud,
                       char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char line[4096 + 2];
    int in = 0, found = 0, lineno = 0;
    struct stat st;

    if (fp == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(fp), &st) < 0 || st.st_size > CREDS_MAX_FILE) {
        snprintf(err, errlen, "%s: not a readable file under 1 MB", path);
        fclose(fp);
        return -1;
    }
    while (fgets(line, sizeof(line), fp)) {
        char *s, *eq;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            fclose(fp);
            return -1;
        }
        s = str_trim(line);
        if (*s == '#' || *s == ';' || *s == '\0')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (e == NULL)
                continue;
            *e = '\0';
            s = str_trim(s + 1);
            in = strcmp(s, want) == 0;
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

static void take_key(void *ud, const char *k, const char *v)
{
    aws_creds_t *c = ud;

    if (str_iequal(k, "aws_access_key_id"))
        str_copy(c->access_key, v, sizeof(c->access_key));
    else if (str_iequal(k, "aws_secret_access_key"))
        str_copy(c->secret_key, v, sizeof(c->secret_key));
    else if (str_iequal(k, "aws_session_token"))
        str_copy(c->session_token, v, sizeof(c->session_token));
}

static const char *profile_name(const creds_provider_t *p)
{
    const char *e = getenv("AWS_PROFILE");

    if (p->profile)
        return p->profile;
    return e && *e ? e : "default";
}

static int home_path(const char *rel, char *out, size_t outlen)
{
    const char *home = getenv("HOME");

    if (!home || !*home)
        return -1;
    return (size_t)snprintf(out, outlen, "%s/%s", home, rel) < outlen ? 0 : -1;
}

static int from_shared_files(creds_provider_t *p, aws_creds_t *c, char *err,
                             size_t errlen)
{
    const char *profile = profile_name(p);
    const char *env;
    char path[1024], section[300];
    int r;

    if (p->credentials_file)
        str_copy(path, p->credentials_file, sizeof(path));
    else if ((env = getenv("AWS_SHARED_CREDENTIALS_FILE")) && *env)
        str_copy(path, env, sizeof(path));
    else if (home_path(".aws/credentials", path, sizeof(path)) < 0)
        path[0] = '\0';
    if (path[0]) {
        r = ini_section(path, profile, take_key, c, err, errlen);
        if (r < 0)
            return -1;
    }
    if (!c->access_key[0] || !c->secret_key[0]) {
        if ((env = getenv("AWS_CONFIG_FILE")) && *env)
            str_copy(path, env, sizeof(path));
        else if (home_path(".aws/config", path, sizeof(path)) < 0)
            return 0;
        snprintf(section, sizeof(section), "%s%s",
                 strcmp(profile, "default") ? "profile " : "", profile);
        if (ini_section(path, section, take_key, c, err, errlen) < 0)
            return -1;
    }
    if (!c->access_key[0] && !c->secret_key[0])
        return 0;
    if (!c->access_key[0] || !c->secret_key[0]) {
        snprintf(err, errlen,
                 "profile \"%s\" has only one of aws_access_key_id and "
                 "aws_secret_access_key",
                 profile);
        return -1;
    }
    snprintf(c->source, sizeof(c->source), "shared-file:%.18s", profile);
    return 1;
}

static int fresh(const aws_creds_t *c)
{
    return c->expires_ms == 0 ||
           c->expires_ms - CREDS_REFRESH_MS > clock_wall_ms();
}

status_t creds_get(creds_provider_t *p, http_t *http, aws_creds_t *out,
                   char *err, size_t errlen)
{
    aws_creds_t c;
    int r;
    status_t st = ST_TEMP_CREDENTIALS;

    (void)http;
    pthread_mutex_lock(&p->lock);
    if (p->have && fresh(&p->cached)) {
        *out = p->cached;
        pthread_mutex_unlock(&p->lock);
        return ST_OK;
    }
    memset(&c, 0, sizeof(c));
    err[0] = '\0';
    if ((r = from_env(&c, err, errlen)) == 0) {
        memset(&c, 0, sizeof(c));
        r = from_shared_files(p, &c, err, errlen);
    }
    if (r == 1) {
        log_secret_add(c.secret_key);
        log_secret_add(c.session_token);
        p->cached = c;
        p->have = 1;
        *out = c;
        st = ST_OK;
    } else if (r == 0) {
        snprintf(err, errlen,
                 "no AWS credentials found (environment, shared credentials "
                 "file for profile \"%s\")",
                 profile_name(p));
    }
    creds_wipe(&c);
    pthread_mutex_unlock(&p->lock);
    return st;
}
