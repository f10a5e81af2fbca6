/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http.c - HTTPS requests with libcurl
 *
 * http_new() makes an easy handle, reused so connections stay alive; the
 * handles of a process share their TLS sessions (resumed by a new
 * connection) and resolved names (http_global_init()). Each
 * http_perform() resets it and sets every option again: TLS >= 1.2 with
 * peer and host verification, no redirects, no signals (threads), TCP
 * keep-alive, only http and https. Every curl_easy_setopt() result is
 * checked: libcurl keeps its default when it refuses an option, so such a
 * request is not sent at all. It sends the body from memory or a reader,
 * collects the answer up to its bound and the headers SES and the other
 * AWS services use to report errors.
 *
 * DIAGNOSTICS
 *   See ses_http.h. libcurl's error codes are mapped to statuses here and
 *   nowhere else.
 */
#include "config.h"

#include "ses_http.h"
#include "ses_url.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http {
    CURL *curl;
    long connect_timeout_ms;
    long timeout_ms;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct {
    http_response_t *resp;
    size_t max;
    int overflow;
} sink_t;

/* TLS sessions (and resolved names) are shared by every handle of the
 * process: a new connection to SES resumes a session another thread's
 * connection made, instead of a full handshake with the certificate chain
 * parsed and verified again. (libcurl does not support sharing the
 * connections themselves between threads.) */
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access how,
                       void *ud)
{
    (void)c;
    (void)how;
    (void)ud;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *ud)
{
    (void)c;
    (void)ud;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&share_locks[data]);
}

int http_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    if (share == NULL && (share = curl_share_init()) != NULL) {
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_init(&share_locks[i], NULL);
        if (curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock) !=
                CURLSHE_OK ||
            curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
                CURLSHE_OK ||
            curl_share_setopt(share, CURLSHOPT_SHARE,
                              CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
            curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
                CURLSHE_OK) {
            curl_share_cleanup(share); /* each handle keeps its own */
            share = NULL;
        }
    }
    return 0;
}

http_t *http_new(long connect_timeout_ms, long timeout_ms)
{
    http_t *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    if ((h->curl = curl_easy_init()) == NULL) {
        free(h);
        return NULL;
    }
    h->connect_timeout_ms = connect_timeout_ms;
    h->timeout_ms = timeout_ms;
    return h;
}

void http_free(http_t *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

void http_response_init(http_response_t *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, 0);
}

void http_response_free(http_response_t *r)
{
    if (r)
        buf_free(&r->body);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;

    if (s->resp->body.len + n > s->max ||
        buf_append(&s->resp->body, ptr, n) < 0) {
        s->overflow = 1;
        return 0; /* aborts the transfer */
    }
    return n;
}

static void header_value(const char *line, size_t len, const char *name,
                         char *out, size_t outlen)
{
    size_t nl = strlen(name), vl;
    const char *v;

    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    v = line + nl + 1;
    vl = len - nl - 1;
    while (vl && isspace((unsigned char)*v))
        v++, vl--;
    while (vl && isspace((unsigned char)v[vl - 1]))
        vl--;
    if (vl >= outlen)
        vl = outlen - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    http_response_t *r = s->resp;

    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) { /* a new response */
        r->error_type[0] = r->request_id[0] = r->content_type[0] = '\0';
        return n;
    }
    header_value(ptr, n, "x-amzn-ErrorType", r->error_type,
                 sizeof(r->error_type));
    header_value(ptr, n, "x-amzn-RequestId", r->request_id,
                 sizeof(r->request_id));
    header_value(ptr, n, "x-amz-request-id", r->request_id,
                 sizeof(r->request_id));
    header_value(ptr, n, "Content-Type", r->content_type,
                 sizeof(r->content_type));
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    const http_body_reader_t *rd = ud;
    ssize_t n = rd->read(rd->ctx, buf, size * nitems);

    return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    const http_body_reader_t *rd = ud;

    if (offset != 0 || origin != SEEK_SET || rd->rewind == NULL)
        return CURL_SEEKFUNC_CANTSEEK;
    return rd->rewind(rd->ctx) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

/* The host libcurl will connect to for url is a loopback address. */
static bool url_host_is_loopback(const char *url)
{
    char e[128];
    url_t u;

    return url_parse(url, &u, e, sizeof(e)) == 0 && url_is_loopback(&u);
}

static status_t map_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return ST_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return ST_TEMP_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return ST_TEMP_DNS;
    case CURLE_COULDNT_CONNECT:
        return ST_TEMP_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
        return ST_TEMP_TLS;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return ST_TEMP_RESET;
    case CURLE_OUT_OF_MEMORY:
        return ST_TEMP_RESOURCE;
    case CURLE_WRITE_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return ST_TEMP_PROTOCOL;
    default:
        return ST_TEMP_UNKNOWN;
    }
}

/* One option; on failure (the first one counts) the option's name and
 * libcurl's reason go to err and *st gets the status: a TLS option's
 * failure is a TLS error, any other a configuration error. */
#define SET(opt, val, fail_st)                                                 \
    do {                                                                       \
        CURLcode rc_ = curl_easy_setopt(c, opt, val);                          \
        if (rc_ != CURLE_OK) {                                                 \
            snprintf(err, errlen, "libcurl refused %s: %s", #opt,              \
                     curl_easy_strerror(rc_));                                 \
            *st = fail_st;                                                     \
            return false;                                                      \
        }                                                                      \
    } while (0)

/* Every option of one request, each result checked: a request libcurl
 * would send with one of its defaults instead of ours is not sent. */
static bool request_setup(http_t *h, const http_request_t *req,
                          struct curl_slist *hdrs, sink_t *sink, status_t *st,
                          char *err, size_t errlen)
{
    CURL *c = h->curl;

    SET(CURLOPT_ERRORBUFFER, h->errbuf, ST_TEMP_CONFIG);
    if (share)
        SET(CURLOPT_SHARE, share, ST_TEMP_CONFIG);
    SET(CURLOPT_URL, req->url, ST_TEMP_CONFIG);
    SET(CURLOPT_HTTPHEADER, hdrs, ST_TEMP_CONFIG);
    SET(CURLOPT_NOSIGNAL, 1L, ST_TEMP_CONFIG);
    SET(CURLOPT_TCP_KEEPALIVE, 1L, ST_TEMP_CONFIG);
    SET(CURLOPT_TCP_NODELAY, 1L, ST_TEMP_CONFIG);
    SET(CURLOPT_FOLLOWLOCATION, 0L, ST_TEMP_CONFIG);
    /* TLS 1.2 or newer, certificate and name verified: not configurable. */
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2, ST_TEMP_TLS);
    SET(CURLOPT_SSL_VERIFYPEER, 1L, ST_TEMP_TLS);
    SET(CURLOPT_SSL_VERIFYHOST, 2L, ST_TEMP_TLS);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https", ST_TEMP_TLS);
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS),
        ST_TEMP_TLS);
#endif
    if (req->no_proxy || url_host_is_loopback(req->url))
        SET(CURLOPT_NOPROXY, "*", ST_TEMP_CONFIG);
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        req->connect_timeout_ms ? req->connect_timeout_ms
                                : h->connect_timeout_ms,
        ST_TEMP_CONFIG);
    SET(CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : h->timeout_ms,
        ST_TEMP_CONFIG);
    SET(CURLOPT_WRITEFUNCTION, on_body, ST_TEMP_CONFIG);
    SET(CURLOPT_WRITEDATA, sink, ST_TEMP_CONFIG);
    SET(CURLOPT_HEADERFUNCTION, on_header, ST_TEMP_CONFIG);
    SET(CURLOPT_HEADERDATA, sink, ST_TEMP_CONFIG);
    SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION, ST_TEMP_CONFIG);

    if (req->reader) {
        SET(CURLOPT_POST, 1L, ST_TEMP_CONFIG);
        SET(CURLOPT_READFUNCTION, on_read, ST_TEMP_CONFIG);
        SET(CURLOPT_READDATA, req->reader, ST_TEMP_CONFIG);
        SET(CURLOPT_SEEKFUNCTION, on_seek, ST_TEMP_CONFIG);
        SET(CURLOPT_SEEKDATA, req->reader, ST_TEMP_CONFIG);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->reader->length,
            ST_TEMP_CONFIG);
    } else if (req->body || (strcmp(req->method, "GET") != 0 &&
                             strcmp(req->method, "DELETE") != 0)) {
        SET(CURLOPT_POST, 1L, ST_TEMP_CONFIG);
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "", ST_TEMP_CONFIG);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len,
            ST_TEMP_CONFIG);
    } else {
        SET(CURLOPT_HTTPGET, 1L, ST_TEMP_CONFIG);
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        SET(CURLOPT_CUSTOMREQUEST, req->method, ST_TEMP_CONFIG);
    return true;
}
#undef SET

status_t http_perform(http_t *h, const http_request_t *req,
                      http_response_t *resp)
{
    CURL *c = h->curl;
    struct curl_slist *hdrs = NULL, *t;
    sink_t sink = {
        resp, req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE,
        0};
    CURLcode rc;
    long long t0 = clock_mono_ms();
    status_t st = ST_TEMP_RESOURCE;
    bool have_ctype = false;

    buf_reset(&resp->body);
    resp->code = 0;
    resp->request_sent = false;
    resp->error[0] = '\0';
    curl_easy_reset(c);
    h->errbuf[0] = '\0';

    for (size_t i = 0; i < req->nheaders && i < HTTP_MAX_HEADERS; i++) {
        if ((t = curl_slist_append(hdrs, req->headers[i])) == NULL)
            goto out;
        hdrs = t;
        if (str_ihas_prefix(req->headers[i], "Content-Type:"))
            have_ctype = true;
    }
    /* No "Expect: 100-continue" round trip before large bodies, and no
     * form Content-Type the caller did not ask for. */
    if ((t = curl_slist_append(hdrs, "Expect:")) == NULL)
        goto out;
    hdrs = t;
    if (!have_ctype) {
        if ((t = curl_slist_append(hdrs, "Content-Type:")) == NULL)
            goto out;
        hdrs = t;
    }

    if (!request_setup(h, req, hdrs, &sink, &st, resp->error,
                       sizeof(resp->error)))
        goto out;
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->code);
    if (rc == CURLE_WRITE_ERROR && sink.overflow) {
        snprintf(resp->error, sizeof(resp->error),
                 "answer larger than %zu bytes", sink.max);
        st = ST_TEMP_PROTOCOL;
    } else {
        st = map_curl(rc);
        if (st != ST_OK)
            snprintf(resp->error, sizeof(resp->error), "%s",
                     h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
    }
    if (st != ST_OK) {
        /* the whole request was handed over: the server may have acted */
        curl_off_t up = 0, pre = 0;
        long long want =
            req->reader ? req->reader->length : (long long)req->body_len;
        curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
        curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre);
        resp->request_sent = pre > 0 && (long long)up >= want;
    }
out:
    resp->elapsed_ms = clock_mono_ms() - t0;
    /* The handle must not keep pointers into this call's stack. Setting
     * a pointer option to NULL cannot fail; a reset also clears them. */
    if (curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL) != CURLE_OK)
        curl_easy_reset(c);
    curl_slist_free_all(hdrs);
    return st;
}

int http_url_split(const char *url, char *host, size_t hostlen, char *path,
                   size_t pathlen, char *query, size_t querylen)
{
    const char *p, *h, *slash, *q;
    int https;
    size_t hl;

    if (str_ihas_prefix(url, "https://"))
        https = 1, p = url + 8;
    else if (str_ihas_prefix(url, "http://"))
        https = 0, p = url + 7;
    else
        return -1;
    h = p;
    slash = p + strcspn(p, "/?#");
    hl = (size_t)(slash - h);
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    str_lower(host);
    /* drop a default port: the Host header curl sends omits it */
    {
        size_t n = strlen(host);
        const char *dflt = https ? ":443" : ":80";
        size_t dl = strlen(dflt);
        if (n > dl && strcmp(host + n - dl, dflt) == 0)
            host[n - dl] = '\0';
    }
    if (*slash == '/') {
        size_t pl = strcspn(slash, "?#");
        if (pl >= pathlen)
            return -1;
        memcpy(path, slash, pl);
        path[pl] = '\0';
        q = slash + pl;
    } else {
        str_copy(path, "/", pathlen);
        q = slash;
    }
    if (*q == '?') {
        size_t ql = strcspn(q + 1, "#");
        if (ql >= querylen)
            return -1;
        memcpy(query, q + 1, ql);
        query[ql] = '\0';
    } else
        query[0] = '\0';
    return 0;
}
