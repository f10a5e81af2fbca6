/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses.c - the Amazon SES client: send one spooled message
 *
 * ses_send() sends one batch of a delivery's plan (ses_plan.h: the
 * addresses, options and batches are decided there) with aws_call(),
 * through the first route that is not failing. A request body is
 * three parts: an envelope prefix (everything but the message), the base64
 * of the spooled message produced while libcurl reads, and a suffix. The
 * two APIs differ only in that envelope, in how the base64 is carried and
 * in the answer, so each is one row of a small table (ses_api_t):
 *
 *   v2  POST /v2/email/outbound-emails, JSON made with jansson, the base64
 *       inside a JSON string, {"MessageId": ...} back;
 *   v1  POST /, Action=SendRawEmail form, the base64 form-encoded ('+',
 *       '/', '=' as %2B %2F %3D), <MessageId> in the XML answer.
 *
 * A message the spool holds in memory (SPOOL_DEFAULT_MEM, 512 KB) is
 * encoded once into a body in memory, which aws_call() hashes for SigV4
 * and libcurl sends as it is, retries included. A larger one streams from
 * its spool file twice: one pass measures the body (its length, which the
 * form encoding changes, and its SHA-256 together), one sends it; neither
 * holds more than one chunk of the message in memory.
 *
 * DIAGNOSTICS
 *   See ses_ses.h. Error answers are classified in aws.c; statuses then go
 *   through status.c.
 */
#include "config.h"

#include "ses_ses.h"
#include "ses_aws.h"
#include "ses_fleetrate.h"
#include "ses_hoststate.h"
#include "ses_http.h"
#include "ses_jsonlimit.h"
#include "ses_log.h"
#include "ses_ratelimit.h"
#include "ses_route.h"
#include "ses_tags.h"
#include "ses_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RAW_MARKER "@@ses-milter-raw-data@@"
#define B64_CHUNK  (3 * 16384) /* raw bytes encoded per step */
/* a SendEmail answer is a few hundred bytes */
#define SES_MAX_ANSWER (64 * 1024)

/* ---- the two APIs ---- */

typedef struct {
    const char *name;
    const char *path;
    const char *content_type;
    bool form_encode;   /* the base64 goes into a form field */
    size_t max_encoded; /* the API's limit on the message after base64 */
    /* The body around the message data for recipients idx[0..n) of p,
     * through route rt (its ARNs); prefix/suffix malloc'd. */
    int (*envelope)(const ses_client_t *c, const plan_t *p,
                    const ses_route_t *rt, const size_t *idx, size_t n,
                    char **prefix, char **suffix);
    /* The MessageId of a 2xx answer; 0, or -1 when there is none. */
    int (*message_id)(const buf_t *answer, char *out, size_t outlen);
} ses_api_t;

struct ses_client {
    conf_t *conf;
    creds_provider_t *creds;
    http_t *http;
    routes_t *routes;
    fleetrate_t *fleet; /* MaxSendRate as SES's answers adapt it; or NULL */
    const ses_api_t *api;
    char mta_host[256];
};

/* ---- MaxSendRate: one bucket per process ---- */

static pthread_once_t rate_once = PTHREAD_ONCE_INIT;
static ratelimit_t *send_rate;

static void rate_init(void)
{
    send_rate = ratelimit_new(0, 1);
}

/* The bucket is shared through DataDirectory/sendrate by every ses-relay
 * on the host: in pipe mode each delivery is a process of its own. Without
 * the file, each process paces alone (said once per process). */
static void rate_share(const conf_t *conf)
{
    static int warned;
    const char *dir = conf_str(conf, CK_DATA_DIRECTORY);
    char path[PATH_MAX], err[PATH_MAX + 64];

    if (conf_int(conf, CK_MAX_SEND_RATE) <= 0 || dir == NULL)
        return;
    snprintf(path, sizeof(path), "%s/%s", dir, SES_SENDRATE_FILE);
    if (ratelimit_share(send_rate, path, err, sizeof(err)) < 0 && !warned) {
        warned = 1;
        log_warning(NULL, "MaxSendRate is paced by this process alone: %s",
                    err);
    }
}

/* ---- failover state: one per process, shared with the host ---- */

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static hoststate_t *host_state;

/* DataDirectory/hoststate, opened once per process; when it cannot be,
 * this process's own memory (said once). */
static hoststate_t *ses_hoststate(const conf_t *conf)
{
    char err[512];

    pthread_mutex_lock(&host_lock);
    if (host_state == NULL &&
        hoststate_open(conf_str(conf, CK_DATA_DIRECTORY), &host_state, err,
                       sizeof(err)) != HOSTSTATE_OK) {
        log_warning(NULL, "failover breakers are this process's alone: %s",
                    err);
        host_state = hoststate_open_private();
    }
    pthread_mutex_unlock(&host_lock);
    return host_state;
}

/* ---- v2 ---- */

static int v2_envelope(const ses_client_t *c, const plan_t *p,
                       const ses_route_t *rt, const size_t *idx, size_t n,
                       char **prefix, char **suffix)
{
    json_t *root = json_object(), *to = json_array(), *tags = json_array();
    const char *from_arn = rt->from_arn;
    const char *feedback = conf_str(c->conf, CK_FEEDBACK_FORWARDING);
    const char *rp_arn = rt->return_path_arn;
    char *dump = NULL, *mark = NULL;
    int rc = -1;

    if (!root || !to || !tags)
        goto out;
    if (from_arn == NULL)
        from_arn = rt->source_arn;
    if (*p->sender_ses)
        json_object_set_new(root, "FromEmailAddress",
                            json_string(p->sender_ses));
    if (from_arn)
        json_object_set_new(root, "FromEmailAddressIdentityArn",
                            json_string(from_arn));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(to, json_string(p->rcpt[idx[i]].ses));
    json_object_set_new(root, "Destination",
                        json_pack("{s:O}", "ToAddresses", to));
    if (feedback) {
        json_object_set_new(root, "FeedbackForwardingEmailAddress",
                            json_string(feedback));
        if (rp_arn)
            json_object_set_new(root,
                                "FeedbackForwardingEmailAddressIdentityArn",
                                json_string(rp_arn));
    }
    if (p->config_set)
        json_object_set_new(root, "ConfigurationSetName",
                            json_string(p->config_set));
    if (p->tenant)
        json_object_set_new(root, "TenantName", json_string(p->tenant));
    for (size_t i = 0; i < tags_count(p->tags); i++)
        json_array_append_new(tags, json_pack("{s:s,s:s}", "Name",
                                              tags_name(p->tags, i), "Value",
                                              tags_value(p->tags, i)));
    if (json_array_size(tags))
        json_object_set(root, "EmailTags", tags);
    /* Content last: the marker's last occurrence is the one to replace. */
    json_object_set_new(root, "Content",
                        json_pack("{s:{s:s}}", "Raw", "Data", RAW_MARKER));
    if ((dump = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
        goto out;
    for (char *q = dump; (q = strstr(q, "\"" RAW_MARKER "\"")) != NULL; q++)
        mark = q;
    if (mark == NULL)
        goto out;
    *prefix = strndup(dump, (size_t)(mark - dump) + 1);
    *suffix = strdup(mark + strlen(RAW_MARKER) + 1);
    if (*prefix == NULL || *suffix == NULL) {
        free(*prefix);
        free(*suffix);
        goto out;
    }
    rc = 0;
out:
    free(dump);
    json_decref(to);
    json_decref(tags);
    json_decref(root);
    return rc;
}

static int v2_message_id(const buf_t *answer, char *out, size_t outlen)
{
    json_t *j =
        jsonlimit_load(answer->data, answer->len, 0, SES_MAX_ANSWER, NULL, 0);
    const char *id = json_string_value(json_object_get(j, "MessageId"));
    int rc = -1;

    if (id && *id && strlen(id) < outlen) {
        str_copy(out, id, outlen);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

/* ---- v1 ---- */

static int v1_envelope(const ses_client_t *c, const plan_t *p,
                       const ses_route_t *rt, const size_t *idx, size_t n,
                       char **prefix, char **suffix)
{
    const struct {
        const char *arn;
        const char *field;
    } arns[] = {{rt->from_arn, "FromArn"},
                {rt->source_arn, "SourceArn"},
                {rt->return_path_arn, "ReturnPathArn"}};
    buf_t f;
    char name[64];
    int bad = 0;

    buf_init(&f, 1 << 20);
    bad |= aws_query_add(&f, "Action", "SendRawEmail");
    bad |= aws_query_add(&f, "Version", "2010-12-01");
    if (*p->sender_ses)
        bad |= aws_query_add(&f, "Source", p->sender_ses);
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "Destinations.member.%zu", i + 1);
        bad |= aws_query_add(&f, name, p->rcpt[idx[i]].ses);
    }
    if (p->config_set)
        bad |= aws_query_add(&f, "ConfigurationSetName", p->config_set);
    for (size_t i = 0; i < tags_count(p->tags); i++) {
        snprintf(name, sizeof(name), "Tags.member.%zu.Name", i + 1);
        bad |= aws_query_add(&f, name, tags_name(p->tags, i));
        snprintf(name, sizeof(name), "Tags.member.%zu.Value", i + 1);
        bad |= aws_query_add(&f, name, tags_value(p->tags, i));
    }
    for (size_t i = 0; i < ARRAY_SIZE(arns); i++)
        if (arns[i].arn)
            bad |= aws_query_add(&f, arns[i].field, arns[i].arn);
    bad |= buf_puts(&f, "&RawMessage.Data=");
    if (bad) {
        buf_free(&f);
        return -1;
    }
    *prefix = buf_steal(&f);
    *suffix = strdup("");
    if (*suffix == NULL) {
        free(*prefix);
        return -1;
    }
    return 0;
}

static int v1_message_id(const buf_t *answer, char *out, size_t outlen)
{
    return aws_xml_text(answer->data ? answer->data : "", answer->len,
                        "MessageId", out, outlen) &&
                   *out
               ? 0
               : -1;
}

int ses_answer_message_id(bool v1, const char *body, size_t len, char *out,
                          size_t outlen)
{
    const buf_t answer = {(char *)body, len, len, 0};

    return v1 ? v1_message_id(&answer, out, outlen)
              : v2_message_id(&answer, out, outlen);
}

static const ses_api_t api_v2 = {.name = "v2",
                                 .path = "/v2/email/outbound-emails",
                                 .content_type = "application/json",
                                 .form_encode = false,
                                 .max_encoded = SES_V2_MAX_ENCODED,
                                 .envelope = v2_envelope,
                                 .message_id = v2_message_id};
static const ses_api_t api_v1 = {
    .name = "v1",
    .path = "/",
    .content_type = "application/x-www-form-urlencoded; charset=utf-8",
    .form_encode = true,
    .max_encoded = SES_V1_MAX_ENCODED,
    .envelope = v1_envelope,
    .message_id = v1_message_id};

/* ---- client ---- */

ses_client_t *ses_client_new(conf_t *conf, creds_provider_t *creds, char *err,
                             size_t errlen)
{
    ses_client_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_once(&rate_once, rate_init);
    if (send_rate == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* A reload may change the rate; every client sees the latest. */
    ratelimit_set(send_rate, (double)conf_int(conf, CK_MAX_SEND_RATE), 1);
    rate_share(conf);
    if ((c->routes = routes_new(conf, creds, send_rate, err, errlen)) == NULL)
        goto fail;
    if (routes_count(c->routes) > 1) /* failover: breakers per region */
        routes_use_state(c->routes, ses_hoststate(conf));
    if (conf_int(conf, CK_MAX_SEND_RATE) > 0) { /* the fleet's share */
        char region[64];
        aws_region(conf, region, sizeof(region));
        c->fleet = fleetrate_new(ses_hoststate(conf), region,
                                 (double)conf_int(conf, CK_MAX_SEND_RATE));
    }
    c->http = http_new((long)conf_int(conf, CK_CONNECT_TIMEOUT),
                       (long)conf_int(conf, CK_TIMEOUT));
    if (c->http == NULL) {
        snprintf(err, errlen, "cannot initialise libcurl");
        goto fail;
    }
    c->api = conf_is(conf, CK_API_VERSION, "v1") ? &api_v1 : &api_v2;
    c->conf = conf_ref(conf);
    c->creds = creds;
    tags_host(c->mta_host, sizeof(c->mta_host));
    return c;
fail:
    routes_free(c->routes);
    fleetrate_free(c->fleet);
    free(c);
    return NULL;
}

void ses_client_free(ses_client_t *c)
{
    if (c == NULL)
        return;
    http_free(c->http);
    routes_free(c->routes);
    fleetrate_free(c->fleet);
    conf_unref(c->conf);
    free(c);
}

const char *ses_client_region(const ses_client_t *c)
{
    return routes_at(c->routes, 0)->region;
}

const char *ses_client_host(const ses_client_t *c)
{
    return c->mta_host;
}

const char *ses_client_url(const ses_client_t *c)
{
    return aws_service_url(routes_at(c->routes, 0)->aws);
}

/* ---- streamed body ---- */

typedef struct {
    spool_t *spool;
    bool form_encode;
    const char *prefix, *suffix;
    size_t plen, slen;
    int phase;      /* 0 prefix, 1 data, 2 suffix, 3 done */
    size_t off;     /* offset within the prefix/suffix */
    size_t raw_off; /* next spool byte to encode */
    unsigned char raw[B64_CHUNK];
    char b64[B64_CHUNK / 3 * 4 + 1];
    char enc[B64_CHUNK / 3 * 4 * 3 + 1]; /* form-encoded base64 */
    const char *out;                     /* b64 or enc */
    size_t out_len, out_pos;
} body_t;

static int body_rewind(void *ud)
{
    body_t *b = ud;

    b->phase = 0;
    b->off = b->raw_off = b->out_len = b->out_pos = 0;
    return 0;
}

/* Fills raw[] from the spool (short reads are completed); bytes or -1. */
static ssize_t fill_raw(body_t *b)
{
    size_t got = 0;

    while (got < sizeof(b->raw)) {
        ssize_t n = spool_pread(b->spool, b->raw + got, sizeof(b->raw) - got,
                                b->raw_off + got);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    b->raw_off += got;
    return (ssize_t)got;
}

/* Encodes the next chunk of the message; 0 at the end, -1 on error. */
static int next_chunk(body_t *b)
{
    ssize_t n = fill_raw(b);
    size_t len;

    if (n <= 0)
        return (int)n;
    len = (size_t)EVP_EncodeBlock((unsigned char *)b->b64, b->raw, (int)n);
    b->out = b->b64;
    if (b->form_encode) {
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            char ch = b->b64[i];
            const char *esc = ch == '+'   ? "%2B"
                              : ch == '/' ? "%2F"
                              : ch == '=' ? "%3D"
                                          : NULL;
            if (esc) {
                memcpy(b->enc + o, esc, 3);
                o += 3;
            } else
                b->enc[o++] = ch;
        }
        b->out = b->enc;
        len = o;
    }
    b->out_len = len;
    b->out_pos = 0;
    return 1;
}

static ssize_t body_read(void *ud, char *out, size_t len)
{
    body_t *b = ud;
    size_t done = 0;

    while (done < len && b->phase < 3) {
        const char *src;
        size_t total, *pos, n;

        if (b->phase == 1) {
            if (b->out_pos == b->out_len) {
                int r = next_chunk(b);
                if (r < 0)
                    return -1;
                if (r == 0) {
                    b->phase = 2;
                    continue;
                }
            }
            src = b->out;
            total = b->out_len;
            pos = &b->out_pos;
        } else {
            src = b->phase == 0 ? b->prefix : b->suffix;
            total = b->phase == 0 ? b->plen : b->slen;
            pos = &b->off;
        }
        n = total - *pos;
        if (n > len - done)
            n = len - done;
        memcpy(out + done, src + *pos, n);
        done += n;
        *pos += n;
        if (b->phase != 1 && *pos == total) {
            b->phase++;
            b->off = 0;
        }
    }
    return (ssize_t)done;
}

/* The exact length and the SHA-256 (hex) of a streamed body, in one pass
 * over the message: SigV4 signs the hash, and the form encoding's length
 * is known only once the base64 is made. 0, or -1. */
static int body_measure(body_t *b, long long *len, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char d[32];
    unsigned int dl = sizeof(d);
    char *chunk = malloc(B64_CHUNK);
    ssize_t n = -1;

    *len = 0;
    if (md == NULL || chunk == NULL ||
        EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    body_rewind(b);
    while ((n = body_read(b, chunk, B64_CHUNK)) > 0) {
        *len += n;
        if (EVP_DigestUpdate(md, chunk, (size_t)n) != 1) {
            n = -1;
            break;
        }
    }
    body_rewind(b);
    if (n == 0 && EVP_DigestFinal_ex(md, d, &dl) == 1)
        hex_encode(d, sizeof(d), hex);
    else
        n = -1;
out:
    free(chunk);
    EVP_MD_CTX_free(md);
    return n == 0 ? 0 : -1;
}

/* ---- a body in memory ---- */

/* The whole body of a message the spool holds in memory: prefix, the
 * base64 of the message (form-encoded for v1), suffix, made in one pass
 * over the message. NULL when memory runs out. */
static char *body_in_memory(const spool_t *sp, bool form_encode,
                            const char *prefix, const char *suffix, size_t *len)
{
    const unsigned char *raw = (const unsigned char *)spool_memory(sp);
    size_t plen = strlen(prefix), slen = strlen(suffix), size = spool_size(sp);
    size_t b64 = (size + 2) / 3 * 4, enc = b64, specials = 0;
    /* room for form encoding's worst case, and EVP_EncodeBlock's NUL */
    char *body = malloc(plen + (form_encode ? 3 * b64 : b64) + slen + 1), *d;

    if (body == NULL)
        return NULL;
    memcpy(body, prefix, plen);
    d = body + plen;
    if (size > 0)
        EVP_EncodeBlock((unsigned char *)d, raw, (int)size);
    if (form_encode) { /* '+', '/', '=' become %2B %2F %3D, from the end */
        for (size_t i = 0; i < b64; i++)
            specials += d[i] == '+' || d[i] == '/' || d[i] == '=';
        enc = b64 + 2 * specials;
        for (size_t i = b64, j = enc; i-- > 0;) {
            char ch = d[i];
            const char *esc = ch == '+'   ? "%2B"
                              : ch == '/' ? "%2F"
                              : ch == '=' ? "%3D"
                                          : NULL;
            if (esc) {
                j -= 3;
                memcpy(d + j, esc, 3);
            } else
                d[--j] = ch;
        }
    }
    memcpy(d + enc, suffix, slen + 1);
    *len = plen + enc + slen;
    return body;
}

/* ---- request building ---- */

/* Failures in a row (or one timeout) after which a failing region is left
 * for the next route. */
#define FAILOVER_ATTEMPTS 2

typedef struct {
    bool can_move;      /* another route can take the message */
    fleetrate_t *fleet; /* or NULL */
} attempt_ctx_t;

/* The pace of this process's MaxSendRate bucket: the host's share of the
 * account's rate as SES's answers have set it (ses_fleetrate.h). */
static void rate_follow(fleetrate_t *fleet)
{
    if (fleet)
        ratelimit_set(send_rate, fleetrate_rate(fleet), 1);
}

/* aws_request_t.give_up, after every failed attempt that may be retried:
 * SES's throttling slows the host down before the retry; a failing region
 * is left when another route can take the message. */
static bool attempt_failed(void *ctx, status_t st, const aws_response_t *resp)
{
    const attempt_ctx_t *a = ctx;

    if (st == ST_TEMP_THROTTLED && resp->http_code != 0 && a->fleet) {
        fleetrate_throttled(a->fleet);
        rate_follow(a->fleet);
    }
    return a->can_move && route_fails_over(st) &&
           (st == ST_TEMP_TIMEOUT || resp->attempts >= FAILOVER_ATTEMPTS);
}

/* One call through route rt for the recipients idx[0..n); fills
 * message_id on success, *ans with the classification of an error answer.
 * *ambiguous: the last attempt may have been taken (a timeout or reset
 * after the whole request was sent). */
static status_t send_call(ses_client_t *c, const plan_t *p,
                          const ses_route_t *rt, const size_t *idx, size_t n,
                          bool can_move, char *message_id, size_t idlen,
                          char *detail, size_t dlen, bool *ambiguous,
                          bool *answered, answer_t *ans)
{
    char *prefix = NULL, *suffix = NULL, *mem = NULL, hash[65];
    body_t *body = NULL;
    http_body_reader_t rd;
    aws_request_t rq;
    aws_response_t resp;
    attempt_ctx_t actx = {can_move, c->fleet};
    status_t st = ST_TEMP_RESOURCE;

    *ambiguous = *answered = false;
    memset(ans, 0, sizeof(*ans));
    aws_response_init(&resp);
    memset(&rq, 0, sizeof(rq));
    if (c->api->envelope(c, p, rt, idx, n, &prefix, &suffix) < 0) {
        str_copy(detail, "cannot build the SES request", dlen);
        goto out;
    }
    if (spool_in_memory(p->spool)) { /* one pass: encode, then hash it */
        if ((mem = body_in_memory(p->spool, c->api->form_encode, prefix, suffix,
                                  &rq.body_len)) == NULL) {
            str_copy(detail, "cannot build the SES request", dlen);
            goto out;
        }
        rq.body = mem;
    } else { /* two passes: measure (length, hash), then send */
        if ((body = malloc(sizeof(*body))) == NULL) {
            str_copy(detail, "cannot build the SES request", dlen);
            goto out;
        }
        body->spool = p->spool;
        body->form_encode = c->api->form_encode;
        body->prefix = prefix;
        body->plen = strlen(prefix);
        body->suffix = suffix;
        body->slen = strlen(suffix);
        rd = (http_body_reader_t){body_read, body_rewind, body, 0};
        if (body_measure(body, &rd.length, hash) < 0) {
            str_copy(detail, "cannot read the spooled message", dlen);
            goto out;
        }
        rq.reader = &rd;
        rq.payload_sha256 = hash;
    }
    rq.method = "POST";
    rq.path = c->api->path;
    rq.content_type = c->api->content_type;
    rq.max_response = SES_MAX_ANSWER;
    rq.cost = (double)n;
    rq.qid = p->queue_id;
    rq.give_up = attempt_failed;
    rq.give_up_ctx = &actx;
    rq.caller_logs = true; /* ses-relay: the breakers log once an interval */
    rq.deadline_ms = p->deadline_ms;
    rq.timeout_ms = (long)conf_int(c->conf, CK_TIMEOUT);
    rate_follow(c->fleet);
    st = aws_call(rt->aws, c->http, &rq, &resp);
    if (st == ST_OK)
        fleetrate_accepted(c->fleet);
    *ambiguous = resp.ambiguous;
    *answered = resp.http_code != 0;
    *ans = resp.answer;
    if (st == ST_OK && c->api->message_id(&resp.body, message_id, idlen) < 0) {
        snprintf(detail, dlen, "SES answered %ld without a MessageId",
                 resp.http_code);
        st = ST_TEMP_PROTOCOL;
    } else if (st != ST_OK)
        str_copy(detail, resp.detail, dlen);
    if (resp.attempts > 1 || st != ST_OK)
        log_debug(p->queue_id,
                  "SES %s call to %s for %zu recipient(s): %d "
                  "attempt(s), %s",
                  c->api->name, rt->name, n, resp.attempts,
                  status_info(st)->name);
out:
    aws_response_free(&resp);
    free(prefix);
    free(suffix);
    free(body);
    free(mem);
    return st;
}

/* One message to the recipients idx[0..n): through the primary route, and
 * while a region is failing (route_fails_over()) through the next one;
 * routes whose host-wide failover breaker is open are skipped (one
 * delivery probes them after FailoverProbeInterval). A message refused,
 * throttled or accepted is never sent elsewhere; after an ambiguous
 * failure (the request was sent, no answer came) the next region may
 * deliver a second copy, which the log line says. */
static status_t send_batch(ses_client_t *c, const plan_t *p, const size_t *idx,
                           size_t n, char *message_id, size_t idlen,
                           char *detail, size_t dlen, answer_t *ans,
                           const char **region)
{
    size_t nroutes = routes_count(c->routes);
    status_t st = ST_TEMP_RESOURCE;

    memset(ans, 0, sizeof(*ans));
    *region = NULL;
    for (size_t i = 0; i < nroutes; i++) {
        bool last = i + 1 == nroutes, ambiguous, answered;
        breaker_info_t info;
        route_verdict_t v = routes_check(c->routes, i, &info);
        const ses_route_t *rt = routes_at(c->routes, i);

        if (v == ROUTE_SKIP) {
            log_debug(p->queue_id,
                      "SES %s skipped: failing since %lld s (%s); next "
                      "probe in %lld ms",
                      rt->name, (long long)(time(NULL) - info.since),
                      info.reason, (long long)info.left_ms);
            continue;
        }
        if (v == ROUTE_PROBE)
            log_info(p->queue_id, "probing SES %s, failing since %lld s",
                     rt->name, (long long)(time(NULL) - info.since));
        *region = rt->region;
        st = send_call(c, p, rt, idx, n, !last, message_id, idlen, detail, dlen,
                       &ambiguous, &answered, ans);
        switch (routes_outcome(c->routes, i, v, st, answered, detail, &info)) {
        case ROUTE_OPENED:
            log_error(p->queue_id,
                      "SES %s is failing (%s): mail goes to %s, and %s is "
                      "probed again in %lld ms",
                      rt->name, detail, routes_at(c->routes, i + 1)->name,
                      rt->name, (long long)info.interval_ms);
            break;
        case ROUTE_RECOVERED:
            log_notice(p->queue_id,
                       "SES %s answers again after %lld s: mail goes there "
                       "again",
                       rt->name, (long long)(time(NULL) - info.since));
            break;
        case ROUTE_QUIET:
            break;
        }
        if (!route_fails_over(st)) {
            if (st == ST_OK && i > 0)
                log_info(p->queue_id, "sent through failover region %s",
                         rt->name);
            break;
        }
        if (last)
            break;
        log_warning(p->queue_id, "SES %s is failing (%s)%s; failing over to %s",
                    rt->name, detail,
                    ambiguous ? "; the request may have been accepted there, "
                                "so the message may be delivered twice"
                              : "",
                    routes_at(c->routes, i + 1)->name);
    }
    return st;
}

static void set_result(ses_result_t *r, status_t st, const char *id,
                       const char *detail, const answer_t *ans,
                       const char *region)
{
    r->status = st;
    str_copy(r->message_id, id, sizeof(r->message_id));
    str_copy(r->detail, detail, sizeof(r->detail));
    r->scope = ans && st != ST_OK ? ans->scope : BREAKER_NONE;
    str_copy(r->identity, ans && st != ST_OK ? ans->identity : "",
             sizeof(r->identity));
    str_copy(r->region, region ? region : "", sizeof(r->region));
}

/* Sends idx[0..n) in one call; when SES refuses it for one bad address,
 * each recipient on its own. */
static void send_group(ses_client_t *c, const plan_t *p, const size_t *idx,
                       size_t n, ses_result_t *results)
{
    char id[128] = "", detail[256] = "";
    const char *region = NULL;
    answer_t ans;
    status_t st;

    st = send_batch(c, p, idx, n, id, sizeof(id), detail, sizeof(detail), &ans,
                    &region);
    if (st == ST_PERM_BAD_ADDRESS && n > 1) {
        log_info(p->queue_id, "%s; sending to each of %zu recipients alone",
                 detail, n);
        for (size_t i = 0; i < n; i++)
            send_group(c, p, idx + i, 1, results);
        return;
    }
    for (size_t i = 0; i < n; i++)
        set_result(&results[idx[i]], st, id, detail, &ans, region);
}

status_t ses_send(ses_client_t *c, const plan_t *p, const size_t *idx, size_t n,
                  ses_result_t *results)
{
    if (n == 0)
        return ST_OK;
    send_group(c, p, idx, n, results);
    for (size_t i = 0; i < n; i++)
        if (results[idx[i]].status != ST_OK)
            return results[idx[i]].status;
    return ST_OK;
}
