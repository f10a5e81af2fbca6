/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * aws.c - one signed call to an AWS service, retried and classified
 *
 * aws_call() = for each attempt: take rate-limit tokens, get credentials,
 * sign (sigv4.c), perform (http.c), and on an error answer parse it
 * (aws_parse_error) and classify it (answer_classify() in answer.c, the
 * only place in the package that knows AWS error codes); then decide
 * whether and when to try again. Statuses then go through status.c like
 * every other outcome.
 *
 * DIAGNOSTICS
 *   See ses_aws.h. Detail texts are formatted through log_format(), so any
 *   registered secret is replaced by "[redacted]" and control bytes by '?';
 *   AWS error messages are cut at their first line break (SignatureDoesNot
 *   Match answers carry the canonical request, session token included).
 */
#include "config.h"

#include "ses_aws.h"
#include "ses_answer.h"
#include "ses_jsonlimit.h"
#include "ses_log.h"
#include "ses_sigv4.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AWS_BACKOFF_BASE_MS 250
#define AWS_BACKOFF_CAP_MS  20000
#define AWS_PACE_WAIT_MS    10000 /* longest wait for a rate-limit slot */
#define AWS_MAX_ERROR_JSON  (1024 * 1024) /* AWS error documents are tiny */

struct aws_service {
    char name[32];
    char signing_name[32];
    char region[64];
    char region_set[64]; /* SigV4a X-Amz-Region-Set; "" for SigV4 */
    char origin[1024];   /* scheme://host[:port] */
    char host[256];      /* as signed: no default port */
    char prefix[512];    /* path of the endpoint, "" for "/" */
    creds_provider_t *creds;
    long long retry_time_ms;
    ratelimit_t *rate;
};

static time_t fixed_clock;

void aws_set_clock(time_t fixed)
{
    fixed_clock = fixed;
}

static time_t aws_now(void)
{
    return fixed_clock ? fixed_clock : time(NULL);
}

/* Formats a diagnostic the way log lines are: secrets scrubbed. */
static void __attribute__((format(printf, 3, 4)))
detail_printf(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_format(out, outlen, NULL, fmt, ap);
    va_end(ap);
}

/* ---- endpoints and regions ---- */

void aws_region(const conf_t *conf, char *out, size_t outlen)
{
    const char *r = conf ? conf_str(conf, CK_REGION) : NULL;

    if (r == NULL || *r == '\0')
        r = getenv("AWS_REGION");
    if (r == NULL || *r == '\0')
        r = getenv("AWS_DEFAULT_REGION");
    if (r == NULL || *r == '\0')
        r = "us-east-1";
    str_copy(out, r, outlen);
}

void aws_default_endpoint(const char *prefix, const char *region, char *out,
                          size_t outlen)
{
    snprintf(out, outlen, "https://%s.%s.amazonaws.com%s", prefix, region,
             str_has_prefix(region, "cn-") ? ".cn" : "");
}

aws_service_t *aws_service_new(const aws_service_config_t *cfg, char *err,
                               size_t errlen)
{
    aws_service_t *s = calloc(1, sizeof(*s));
    char url[1024], query[8], path[512];
    size_t n;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    err[0] = '\0';
    if (str_copy(url, cfg->endpoint ? cfg->endpoint : "", sizeof(url)) >=
        sizeof(url)) {
        snprintf(err, errlen, "%s endpoint URL is too long", cfg->name);
        goto fail;
    }
    for (n = strlen(url); n > 0 && url[n - 1] == '/'; n--)
        url[n - 1] = '\0';
    if (!conf_url_ok(url, err, errlen))
        goto fail;
    if (strpbrk(url, "?#") != NULL ||
        http_url_split(url, s->host, sizeof(s->host), path, sizeof(path), query,
                       sizeof(query)) < 0) {
        snprintf(err, errlen,
                 "%s endpoint \"%s\" must be scheme://host[:port][/path] "
                 "without query or fragment",
                 cfg->name, url);
        goto fail;
    }
    if (strcmp(path, "/") == 0)
        path[0] = '\0';
    str_copy(s->prefix, path, sizeof(s->prefix));
    n = strlen(url) - strlen(path);
    memcpy(s->origin, url, n);
    s->origin[n] = '\0';
    str_copy(s->name, cfg->name ? cfg->name : "AWS", sizeof(s->name));
    str_copy(s->signing_name, cfg->signing_name ? cfg->signing_name : "",
             sizeof(s->signing_name));
    str_copy(s->region, cfg->region ? cfg->region : "us-east-1",
             sizeof(s->region));
    if (cfg->region_set &&
        str_copy(s->region_set, cfg->region_set, sizeof(s->region_set)) >=
            sizeof(s->region_set)) {
        snprintf(err, errlen, "%s region set is too long", cfg->name);
        goto fail;
    }
    s->creds = cfg->creds;
    s->retry_time_ms = cfg->retry_time_ms > 0 ? cfg->retry_time_ms : 0;
    s->rate = cfg->rate;
    return s;
fail:
    free(s);
    return NULL;
}

void aws_service_free(aws_service_t *s)
{
    free(s);
}

const char *aws_service_url(const aws_service_t *s)
{
    return s->origin;
}

void aws_response_init(aws_response_t *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, 0);
}

void aws_response_free(aws_response_t *r)
{
    if (r)
        buf_free(&r->body);
}

/* ---- encoding helpers ---- */

int aws_uri_encode(const char *s, char *out, size_t outlen)
{
    return sigv4_uri_encode(s, strlen(s), 0, out, outlen);
}

int aws_query_add(buf_t *b, const char *name, const char *value)
{
    size_t nl = strlen(name) * 3 + 1, vl = strlen(value) * 3 + 1;
    char *en = malloc(nl), *ev = malloc(vl);
    int rc = -1;

    if (en && ev && sigv4_uri_encode(name, strlen(name), 0, en, nl) == 0 &&
        sigv4_uri_encode(value, strlen(value), 0, ev, vl) == 0)
        rc = buf_printf(b, "%s%s=%s", b->len ? "&" : "", en, ev);
    free(en);
    free(ev);
    return rc;
}

/* Decodes the five XML entities and numeric references in place. */
static void xml_unescape(char *s)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'},
                {"&lt;", '<'},
                {"&gt;", '>'},
                {"&quot;", '"'},
                {"&apos;", '\''}};
    char *r = s, *w = s;

    while (*r) {
        size_t i;
        if (*r != '&') {
            *w++ = *r++;
            continue;
        }
        for (i = 0; i < ARRAY_SIZE(ents); i++)
            if (str_has_prefix(r, ents[i].ent))
                break;
        if (i < ARRAY_SIZE(ents)) {
            *w++ = ents[i].c;
            r += strlen(ents[i].ent);
        } else if (r[1] == '#') {
            char *end;
            long v =
                r[2] == 'x' ? strtol(r + 3, &end, 16) : strtol(r + 2, &end, 10);
            if (*end == ';' && v > 0 && v < 128) {
                *w++ = (char)v;
                r = end + 1;
            } else
                *w++ = *r++;
        } else
            *w++ = *r++;
    }
    *w = '\0';
}

int aws_xml_text(const char *xml, size_t len, const char *tag, char *out,
                 size_t outlen)
{
    char open[80], close[80];
    const char *p, *q, *end = xml + len;
    size_t ol, n;

    if (outlen == 0 ||
        (size_t)snprintf(open, sizeof(open), "<%s>", tag) >= sizeof(open) ||
        (size_t)snprintf(close, sizeof(close), "</%s>", tag) >= sizeof(close))
        return 0;
    ol = strlen(open);
    for (p = xml; p + ol <= end; p++)
        if (memcmp(p, open, ol) == 0)
            break;
    if (p + ol > end)
        return 0;
    p += ol;
    for (q = p; q + strlen(close) <= end; q++)
        if (memcmp(q, close, strlen(close)) == 0)
            break;
    if (q + strlen(close) > end)
        return 0;
    n = (size_t)(q - p);
    if (n >= outlen)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    xml_unescape(out);
    return 1;
}

/* ---- errors ---- */

void aws_parse_error(const char *error_type_header, const char *body,
                     size_t len, char *code, size_t codelen, char *msg,
                     size_t msglen)
{
    json_t *j;

    answer_code(error_type_header, code, codelen);
    msg[0] = '\0';
    if (body == NULL || len == 0)
        return;
    if ((j = jsonlimit_load(body, len, 0, AWS_MAX_ERROR_JSON, NULL, 0)) !=
        NULL) {
        const char *m = json_string_value(json_object_get(j, "message"));
        const char *t = json_string_value(json_object_get(j, "__type"));
        if (m == NULL)
            m = json_string_value(json_object_get(j, "Message"));
        if (t == NULL)
            t = json_string_value(json_object_get(j, "code"));
        if (t == NULL)
            t = json_string_value(json_object_get(j, "Code"));
        if (m)
            str_copy(msg, m, msglen);
        if (!*code && t)
            answer_code(t, code, codelen);
        json_decref(j);
        return;
    }
    /* <ErrorResponse><Error><Type/><Code/><Message/></Error>...; the
     * S3-style <Error> root has the same children. */
    if (!*code)
        aws_xml_text(body, len, "Code", code, codelen);
    if (!aws_xml_text(body, len, "Message", msg, msglen))
        msg[0] = '\0';
}

/* ---- one attempt ---- */

static int hash_reader(const http_body_reader_t *rd, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char d[32];
    unsigned int dl = 32;
    char *chunk = malloc(65536);
    ssize_t n;
    int rc = -1;

    if (md == NULL || chunk == NULL ||
        EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        rd->rewind(rd->ctx) < 0)
        goto out;
    while ((n = rd->read(rd->ctx, chunk, 65536)) > 0)
        EVP_DigestUpdate(md, chunk, (size_t)n);
    if (n < 0 || EVP_DigestFinal_ex(md, d, &dl) != 1 || rd->rewind(rd->ctx) < 0)
        goto out;
    hex_encode(d, 32, hex);
    rc = 0;
out:
    free(chunk);
    EVP_MD_CTX_free(md);
    return rc;
}

/* "Name: value" -> a signing header pointing into storage. */
static int split_header(const char *line, char *name, size_t namelen,
                        sigv4_header_t *out)
{
    const char *colon = strchr(line, ':');
    size_t n;

    if (colon == NULL || (n = (size_t)(colon - line)) == 0 || n >= namelen)
        return -1;
    memcpy(name, line, n);
    name[n] = '\0';
    out->name = name;
    out->value = colon + 1;
    return 0;
}

typedef struct {
    char h_host[300];
    char h_date[40];
    char h_auth[1600];
    char h_tok[4200];
    char h_rset[100];
    char h_ctype[160];
    char h_target[160];
    char names[AWS_MAX_EXTRA_HEADERS][64];
} attempt_bufs_t;

static status_t attempt(const aws_service_t *s, http_t *http,
                        const aws_request_t *rq, const char *hash,
                        aws_response_t *resp, aws_creds_t *used)
{
    attempt_bufs_t *b = calloc(1, sizeof(*b));
    char *url = NULL, path[1536], err[256], code[128], msg[512];
    sigv4_header_t sh[AWS_MAX_EXTRA_HEADERS + 2];
    size_t nsh = 0, urllen;
    http_request_t req;
    http_response_t hr;
    status_t st = ST_TEMP_RESOURCE;

    http_response_init(&hr);
    memset(&req, 0, sizeof(req));
    resp->ambiguous = false;
    if (b == NULL) {
        detail_printf(resp->detail, sizeof(resp->detail), "out of memory");
        goto out;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s%s", s->prefix,
                         rq->path && *rq->path ? rq->path : "/") >=
        sizeof(path)) {
        detail_printf(resp->detail, sizeof(resp->detail),
                      "%s request path too long", s->name);
        goto out;
    }
    urllen = strlen(s->origin) + strlen(path) +
             (rq->query ? strlen(rq->query) : 0) + 2;
    if ((url = malloc(urllen)) == NULL)
        goto out;
    snprintf(url, urllen, "%s%s%s%s", s->origin, path,
             rq->query && *rq->query ? "?" : "", rq->query ? rq->query : "");

    req.method = rq->method;
    req.url = url;
    req.body = rq->body;
    req.body_len = rq->body_len;
    req.reader = rq->reader;
    req.max_response = rq->max_response;
    req.timeout_ms = rq->timeout_ms;
    snprintf(b->h_host, sizeof(b->h_host), "Host: %s", s->host);
    req.headers[req.nheaders++] = b->h_host;
    if (rq->content_type) {
        snprintf(b->h_ctype, sizeof(b->h_ctype), "Content-Type: %s",
                 rq->content_type);
        req.headers[req.nheaders++] = b->h_ctype;
        sh[nsh++] = (sigv4_header_t){"content-type", rq->content_type};
    }
    if (rq->target) {
        snprintf(b->h_target, sizeof(b->h_target), "X-Amz-Target: %s",
                 rq->target);
        req.headers[req.nheaders++] = b->h_target;
        sh[nsh++] = (sigv4_header_t){"x-amz-target", rq->target};
    }
    for (size_t i = 0; i < AWS_MAX_EXTRA_HEADERS && rq->headers[i]; i++) {
        if (split_header(rq->headers[i], b->names[i], sizeof(b->names[i]),
                         &sh[nsh]) < 0) {
            detail_printf(resp->detail, sizeof(resp->detail),
                          "%s: malformed request header", s->name);
            goto out;
        }
        nsh++;
        req.headers[req.nheaders++] = rq->headers[i];
    }

    if (s->creds) {
        sigv4_result_t sig;
        sigv4_request_t sreq = {.method = rq->method,
                                .host = s->host,
                                .path = path,
                                .query = rq->query,
                                .headers = sh,
                                .nheaders = nsh,
                                .payload_sha256 = hash};
        sigv4_creds_t sc;
        int signed_ok;

        if ((st = creds_get(s->creds, http, used, err, sizeof(err))) != ST_OK) {
            detail_printf(resp->detail, sizeof(resp->detail), "%s", err);
            goto out;
        }
        sc = (sigv4_creds_t){used->access_key, used->secret_key,
                             used->session_token[0] ? used->session_token
                                                    : NULL};
        signed_ok = s->region_set[0]
                        ? sigv4a_sign(&sreq, &sc, s->region_set,
                                      s->signing_name, aws_now(), &sig)
                        : sigv4_sign(&sreq, &sc, s->region, s->signing_name,
                                     aws_now(), &sig);
        if (signed_ok < 0) {
            secure_zero(&sig, sizeof(sig));
            detail_printf(resp->detail, sizeof(resp->detail),
                          "cannot sign the %s request (a header or the "
                          "query is too long)",
                          s->name);
            st = ST_TEMP_RESOURCE;
            goto out;
        }
        snprintf(b->h_date, sizeof(b->h_date), "X-Amz-Date: %s", sig.amz_date);
        snprintf(b->h_auth, sizeof(b->h_auth), "Authorization: %s",
                 sig.authorization);
        secure_zero(&sig, sizeof(sig));
        req.headers[req.nheaders++] = b->h_date;
        req.headers[req.nheaders++] = b->h_auth;
        if (s->region_set[0]) {
            snprintf(b->h_rset, sizeof(b->h_rset), "X-Amz-Region-Set: %s",
                     s->region_set);
            req.headers[req.nheaders++] = b->h_rset;
        }
        if (used->session_token[0]) {
            snprintf(b->h_tok, sizeof(b->h_tok), "X-Amz-Security-Token: %s",
                     used->session_token);
            req.headers[req.nheaders++] = b->h_tok;
        }
    }

    st = http_perform(http, &req, &hr);
    resp->http_code = hr.code;
    resp->ambiguous = st != ST_OK && hr.request_sent;
    str_copy(resp->request_id, hr.request_id, sizeof(resp->request_id));
    buf_free(&resp->body);
    resp->body = hr.body; /* the answer moves to the caller */
    buf_init(&hr.body, 0);
    if (st != ST_OK) {
        detail_printf(resp->detail, sizeof(resp->detail), "%s: %s: %s", s->name,
                      status_info(st)->text, hr.error);
        goto out;
    }
    if (hr.code >= 200 && hr.code < 300) {
        resp->error_code[0] = resp->error_message[0] = '\0';
        resp->detail[0] = '\0';
        goto out;
    }
    aws_parse_error(hr.error_type, resp->body.data, resp->body.len, code,
                    sizeof(code), msg, sizeof(msg));
    answer_classify(hr.code, code, msg, &resp->answer);
    st = resp->answer.status;
    msg[strcspn(msg, "\r\n")] = '\0'; /* the rest may echo the request */
    str_copy(resp->error_code, code, sizeof(resp->error_code));
    str_copy(resp->error_message, msg, sizeof(resp->error_message));
    detail_printf(resp->detail, sizeof(resp->detail), "%s %ld %s%s%s", s->name,
                  hr.code, code[0] ? code : "error", msg[0] ? ": " : "", msg);
out:
    if (b)
        secure_zero(b, sizeof(*b));
    free(b);
    free(url);
    http_response_free(&hr);
    return st;
}

/* ---- retries ---- */

static int64_t jitter(int64_t max_ms)
{
    uint32_t r = 0;

    if (max_ms <= 0)
        return 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (uint32_t)random();
    return (int64_t)(r % (uint32_t)(max_ms + 1));
}

static bool same_creds(const aws_creds_t *a, const aws_creds_t *b)
{
    return strcmp(a->access_key, b->access_key) == 0 &&
           strcmp(a->secret_key, b->secret_key) == 0 &&
           strcmp(a->session_token, b->session_token) == 0;
}

/* After SES refused our credentials: true when the provider now has
 * different ones (rotated keys, refreshed token, fixed file). */
static bool creds_changed(const aws_service_t *s, http_t *http,
                          const aws_creds_t *refused)
{
    aws_creds_t fresh;
    char err[256];
    bool changed;

    creds_invalidate(s->creds);
    changed = creds_get(s->creds, http, &fresh, err, sizeof(err)) == ST_OK &&
              !same_creds(&fresh, refused);
    creds_wipe(&fresh);
    return changed;
}

status_t aws_call(const aws_service_t *s, http_t *http, const aws_request_t *rq,
                  aws_response_t *resp)
{
    int64_t start = clock_mono_ms(), deadline = start + s->retry_time_ms;
    int64_t pace_deadline = deadline > start + AWS_PACE_WAIT_MS
                                ? deadline
                                : start + AWS_PACE_WAIT_MS;
    /* the caller's limit: the last moment an attempt may start */
    int64_t last_start =
        rq->deadline_ms > 0
            ? rq->deadline_ms - (rq->timeout_ms > 0 ? rq->timeout_ms : 0)
            : 0;
    int64_t backoff = AWS_BACKOFF_BASE_MS;
    char hash[65];
    aws_creds_t *used = calloc(1, sizeof(*used));
    bool auth_retried = false;
    status_t st = ST_TEMP_RESOURCE;

    resp->attempts = 0;
    resp->http_code = 0;
    resp->ambiguous = false;
    resp->error_code[0] = resp->error_message[0] = resp->detail[0] = '\0';
    memset(&resp->answer, 0, sizeof(resp->answer));
    if (last_start && deadline > last_start)
        deadline = last_start;
    if (last_start && pace_deadline > last_start)
        pace_deadline = last_start;
    if (used == NULL) {
        detail_printf(resp->detail, sizeof(resp->detail), "out of memory");
        return ST_TEMP_RESOURCE;
    }
    if (rq->reader && rq->payload_sha256)
        str_copy(hash, rq->payload_sha256, sizeof(hash));
    else if (rq->reader) {
        if (hash_reader(rq->reader, hash) < 0) {
            detail_printf(resp->detail, sizeof(resp->detail),
                          "cannot read the %s request body", s->name);
            goto out;
        }
    } else
        sigv4_sha256_hex(rq->body ? rq->body : "", rq->body_len, hash);

    for (;;) {
        int64_t wait, left;

        if (last_start && clock_mono_ms() > last_start) {
            st = ST_TEMP_TIMEOUT;
            detail_printf(resp->detail, sizeof(resp->detail),
                          "%s: not sent: no time left for a request within "
                          "the delivery's time limit",
                          s->name);
            break;
        }
        if (s->rate && ratelimit_acquire(s->rate, rq->cost > 0 ? rq->cost : 1,
                                         pace_deadline, NULL) < 0) {
            st = ST_TEMP_THROTTLED;
            detail_printf(resp->detail, sizeof(resp->detail),
                          "%s: no MaxSendRate slot free within %lld ms",
                          s->name, (long long)(pace_deadline - start));
            break;
        }
        if (rq->reader && resp->attempts > 0 &&
            rq->reader->rewind(rq->reader->ctx) < 0) {
            st = ST_TEMP_RESOURCE;
            detail_printf(resp->detail, sizeof(resp->detail),
                          "cannot rewind the %s request body", s->name);
            break;
        }
        resp->attempts++;
        creds_wipe(used);
        st = attempt(s, http, rq, hash, resp, used);
        if (st == ST_OK)
            break;
        if ((st == ST_TEMP_AUTH || st == ST_TEMP_CREDENTIALS) &&
            resp->http_code != 0 && s->creds && !auth_retried) {
            auth_retried = true;
            if (creds_changed(s, http, used)) {
                log_info(rq->qid,
                         "%s refused the credentials (%s); trying "
                         "again with fresh ones",
                         s->name, resp->detail);
                continue;
            }
        }
        if (!status_info(st)->retry)
            break;
        if (rq->give_up && rq->give_up(rq->give_up_ctx, st, resp))
            break;
        wait = jitter(backoff);
        left = deadline - clock_mono_ms();
        if (wait >= left)
            break;
        log_info(rq->qid, "%s attempt %d: %s; retrying in %lld ms", s->name,
                 resp->attempts, resp->detail, (long long)wait);
        clock_sleep_ms(wait);
        backoff =
            backoff * 2 > AWS_BACKOFF_CAP_MS ? AWS_BACKOFF_CAP_MS : backoff * 2;
    }
    if (st != ST_OK && status_info(st)->loud && !rq->caller_logs)
        log_error(rq->qid, "%s [%s: an operator must act]", resp->detail,
                  status_info(st)->name);
out:
    creds_wipe(used);
    free(used);
    return st;
}
