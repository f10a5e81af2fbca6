/*
 * ses.c - the Amazon SES client: send one spooled message
 *
 * ses_send() walks the recipients in batches of RecipientsPerCall. For each
 * batch it builds the request body as three parts: a JSON prefix made with
 * jansson (everything but the message), the base64 of the spooled message
 * produced while libcurl reads, and the JSON suffix. A first pass over the
 * body computes the SHA-256 SigV4 needs; the second pass sends. Neither
 * holds more than one chunk of the message in memory.
 *
 * Transient failures are retried with full-jitter exponential backoff until
 * RetryTime has passed; then the batch's recipients get the last status.
 *
 * DIAGNOSTICS
 *   See ses_ses.h. ses_classify_error() is the only place that reads SES
 *   error codes; statuses then go through status.c.
 */
#include "config.h"

#include "ses_ses.h"
#include "ses_http.h"
#include "ses_log.h"
#include "ses_sigv4.h"
#include "ses_tags.h"
#include "ses_util.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RAW_MARKER "@@ses-milter-raw-data@@"
#define B64_CHUNK  (3 * 16384) /* raw bytes encoded per step */

struct ses_client {
    conf_t *conf;
    creds_provider_t *creds;
    http_t *http;
    char region[64];
    char url[1024];
    char host[256];
    char path[512];
    char query[512];
    char mta_host[256];
};

static time_t fixed_clock;

void ses_set_clock(time_t fixed)
{
    fixed_clock = fixed;
}

static time_t ses_now(void)
{
    return fixed_clock ? fixed_clock : time(NULL);
}

ses_client_t *ses_client_new(conf_t *conf, creds_provider_t *creds, char *err,
                             size_t errlen)
{
    ses_client_t *c = calloc(1, sizeof(*c));
    const char *region = conf_str(conf, CK_REGION);
    const char *endpoint = conf_str(conf, CK_ENDPOINT);
    char hn[256], san[256];

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (region == NULL)
        region = getenv("AWS_REGION");
    if (region == NULL || *region == '\0')
        region = "us-east-1";
    str_copy(c->region, region, sizeof(c->region));
    if (endpoint)
        str_copy(c->url, endpoint, sizeof(c->url));
    else
        snprintf(c->url, sizeof(c->url), "https://email.%s.amazonaws.com",
                 c->region);
    /* trailing slash off: paths are appended */
    for (size_t n = strlen(c->url); n > 8 && c->url[n - 1] == '/'; n--)
        c->url[n - 1] = '\0';
    if (!conf_url_ok(c->url, err, errlen) ||
        http_url_split(c->url, c->host, sizeof(c->host), c->path,
                       sizeof(c->path), c->query, sizeof(c->query)) < 0) {
        if (!*err)
            snprintf(err, errlen, "bad SES endpoint URL");
        free(c);
        return NULL;
    }
    if (c->query[0]) {
        snprintf(err, errlen, "Endpoint must not have a query string");
        free(c);
        return NULL;
    }
    if (strcmp(c->path, "/") == 0)
        c->path[0] = '\0';
    c->http = http_new((long)conf_int(conf, CK_CONNECT_TIMEOUT),
                       (long)conf_int(conf, CK_TIMEOUT));
    if (c->http == NULL) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(c);
        return NULL;
    }
    c->conf = conf_ref(conf);
    c->creds = creds;
    if (gethostname(hn, sizeof(hn)) < 0)
        str_copy(hn, "localhost", sizeof(hn));
    hn[sizeof(hn) - 1] = '\0';
    tags_sanitize_value(hn, san, sizeof(san));
    str_copy(c->mta_host, san, sizeof(c->mta_host));
    return c;
}

void ses_client_free(ses_client_t *c)
{
    if (c == NULL)
        return;
    http_free(c->http);
    conf_unref(c->conf);
    free(c);
}

const char *ses_client_url(const ses_client_t *c)
{
    return c->url;
}

/* ---- error classification ---- */

static const struct {
    const char *code;
    status_t status;
} error_codes[] = {
    {"MessageRejected", ST_PERM_REJECTED},
    {"MailFromDomainNotVerified", ST_PERM_MAILFROM},
    {"MailFromDomainNotVerifiedException", ST_PERM_MAILFROM},
    {"AccountSendingPausedException", ST_TEMP_ACCOUNT_PAUSED},
    {"AccountSendingPaused", ST_TEMP_ACCOUNT_PAUSED},
    {"SendingPausedException", ST_TEMP_ACCOUNT_PAUSED},
    {"ConfigurationSetSendingPausedException", ST_TEMP_CONFIGSET_PAUSED},
    {"ConfigurationSetSendingPaused", ST_TEMP_CONFIGSET_PAUSED},
    {"ConfigurationSetDoesNotExist", ST_TEMP_CONFIGSET_MISSING},
    {"ConfigurationSetDoesNotExistException", ST_TEMP_CONFIGSET_MISSING},
    {"AccountSuspendedException", ST_TEMP_ACCOUNT_SUSPENDED},
    {"AccountSuspended", ST_TEMP_ACCOUNT_SUSPENDED},
    {"Throttling", ST_TEMP_THROTTLED},
    {"ThrottlingException", ST_TEMP_THROTTLED},
    {"TooManyRequestsException", ST_TEMP_THROTTLED},
    {"LimitExceededException", ST_TEMP_QUOTA},
    {"LimitExceeded", ST_TEMP_QUOTA},
    {"SignatureDoesNotMatch", ST_TEMP_AUTH},
    {"InvalidSignatureException", ST_TEMP_AUTH},
    {"IncompleteSignature", ST_TEMP_AUTH},
    {"InvalidClientTokenId", ST_TEMP_AUTH},
    {"UnrecognizedClientException", ST_TEMP_AUTH},
    {"ExpiredToken", ST_TEMP_CREDENTIALS},
    {"ExpiredTokenException", ST_TEMP_CREDENTIALS},
    {"AccessDenied", ST_TEMP_AUTH},
    {"AccessDeniedException", ST_TEMP_AUTH},
    {"MissingAuthenticationToken", ST_TEMP_AUTH},
    {"InternalFailure", ST_TEMP_SERVER},
    {"InternalFailureException", ST_TEMP_SERVER},
    {"ServiceUnavailable", ST_TEMP_SERVER},
    {"ServiceUnavailableException", ST_TEMP_SERVER},
};

status_t ses_classify_error(long http_code, const char *code,
                            const char *message)
{
    const char *msg = message ? message : "";
    char c[128];

    str_copy(c, code ? code : "", sizeof(c));
    c[strcspn(c, ":")] = '\0'; /* "MessageRejected:http://..." */

    /* The text decides where SES reuses one code for several things. */
    if (strcasestr(msg, "Maximum sending rate exceeded"))
        return ST_TEMP_THROTTLED;
    if (strcasestr(msg, "Daily message quota exceeded"))
        return ST_TEMP_QUOTA;
    for (size_t i = 0; i < ARRAY_SIZE(error_codes); i++)
        if (strcmp(c, error_codes[i].code) == 0) {
            if (error_codes[i].status == ST_PERM_REJECTED &&
                strcasestr(msg, "too large"))
                return ST_PERM_TOO_LARGE;
            return error_codes[i].status;
        }
    if (strcmp(c, "InvalidParameterValue") == 0 ||
        strcmp(c, "BadRequestException") == 0) {
        if (strcasestr(msg, "address") || strcasestr(msg, "domain"))
            return ST_PERM_BAD_ADDRESS;
        if (strcasestr(msg, "too large") || strcasestr(msg, "length"))
            return ST_PERM_TOO_LARGE;
        return ST_TEMP_UNKNOWN; /* our request was wrong: never bounce */
    }
    if (http_code == 429)
        return ST_TEMP_THROTTLED;
    if (http_code == 413)
        return ST_PERM_TOO_LARGE;
    if (http_code >= 500)
        return ST_TEMP_SERVER;
    if (http_code == 401 || http_code == 403)
        return ST_TEMP_AUTH;
    return ST_TEMP_UNKNOWN;
}

/* Error code and message from a v2 JSON body or a v1 XML ErrorResponse. */
static void parse_error(const http_response_t *r, char *code, size_t codelen,
                        char *msg, size_t msglen)
{
    json_t *j;
    const char *b = r->body.data ? r->body.data : "";

    str_copy(code, r->error_type, codelen);
    code[strcspn(code, ":")] = '\0'; /* "Code:http://internal..." */
    msg[0] = '\0';
    if ((j = json_loadb(b, r->body.len, 0, NULL)) != NULL) {
        const char *m = json_string_value(json_object_get(j, "message"));
        const char *t = json_string_value(json_object_get(j, "__type"));
        if (m == NULL)
            m = json_string_value(json_object_get(j, "Message"));
        if (m)
            str_copy(msg, m, msglen);
        if (!*code && t)
            str_copy(code, strrchr(t, '#') ? strrchr(t, '#') + 1 : t, codelen);
        json_decref(j);
        return;
    }
    /* <ErrorResponse><Error><Code>X</Code><Message>Y</Message> */
    {
        const char *p, *e;
        if (!*code && (p = strstr(b, "<Code>")) && (e = strstr(p, "</Code>"))) {
            size_t n = (size_t)(e - p - 6);
            if (n < codelen) {
                memcpy(code, p + 6, n);
                code[n] = '\0';
            }
        }
        if ((p = strstr(b, "<Message>")) && (e = strstr(p, "</Message>"))) {
            size_t n = (size_t)(e - p - 9);
            if (n >= msglen)
                n = msglen - 1;
            memcpy(msg, p + 9, n);
            msg[n] = '\0';
        }
    }
}

/* ---- streamed body ---- */

typedef struct {
    spool_t *spool;
    const char *prefix, *suffix;
    size_t plen, slen;
    int phase;      /* 0 prefix, 1 data, 2 suffix, 3 done */
    size_t off;     /* offset within the prefix/suffix */
    size_t raw_off; /* next spool byte to encode */
    unsigned char raw[B64_CHUNK];
    char enc[B64_CHUNK / 3 * 4 + 1];
    size_t enc_len, enc_pos;
    int failed;
} body_t;

static int body_rewind(void *ud)
{
    body_t *b = ud;

    b->phase = 0;
    b->off = b->raw_off = b->enc_len = b->enc_pos = 0;
    b->failed = 0;
    return 0;
}

static ssize_t body_read(void *ud, char *out, size_t len)
{
    body_t *b = ud;
    size_t done = 0;

    while (done < len && b->phase < 3) {
        if (b->phase == 0 || b->phase == 2) {
            const char *src = b->phase == 0 ? b->prefix : b->suffix;
            size_t total = b->phase == 0 ? b->plen : b->slen;
            size_t n = total - b->off;
            if (n > len - done)
                n = len - done;
            memcpy(out + done, src + b->off, n);
            done += n;
            b->off += n;
            if (b->off == total) {
                b->phase++;
                b->off = 0;
            }
            continue;
        }
        if (b->enc_pos == b->enc_len) {
            ssize_t n =
                spool_pread(b->spool, b->raw, sizeof(b->raw), b->raw_off);
            if (n < 0) {
                b->failed = 1;
                return -1;
            }
            if (n == 0) {
                b->phase = 2;
                continue;
            }
            b->raw_off += (size_t)n;
            b->enc_len = (size_t)EVP_EncodeBlock((unsigned char *)b->enc,
                                                 b->raw, (int)n);
            b->enc_pos = 0;
        }
        {
            size_t n = b->enc_len - b->enc_pos;
            if (n > len - done)
                n = len - done;
            memcpy(out + done, b->enc + b->enc_pos, n);
            done += n;
            b->enc_pos += n;
        }
    }
    return (ssize_t)done;
}

/* SHA-256 of the whole body (first pass) and its length. */
static int body_hash(body_t *b, char hex[65], long long *length)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char d[32];
    unsigned int dl = 32;
    char chunk[65536];
    ssize_t n;
    long long total = 0;
    int rc = -1;

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    body_rewind(b);
    while ((n = body_read(b, chunk, sizeof(chunk))) > 0) {
        EVP_DigestUpdate(md, chunk, (size_t)n);
        total += n;
    }
    if (n < 0 || EVP_DigestFinal_ex(md, d, &dl) != 1)
        goto out;
    hex_encode(d, 32, hex);
    *length = total;
    body_rewind(b);
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

/* ---- request building ---- */

typedef struct {
    const char *config_set;
    tags_t *tags;
} send_opts_t;

/* Config set and tags: config defaults, then milter headers. */
static void message_options(ses_client_t *c, const ses_message_t *m, char *cs,
                            size_t cslen, send_opts_t *o)
{
    char hv[2048], err[256];
    const char *v;
    tags_t *t = NULL;

    o->config_set = conf_str(c->conf, CK_CONFIGURATION_SET);
    if ((v = spool_header(m->spool, "X-SES-CONFIGURATION-SET", hv,
                          sizeof(hv))) != NULL) {
        if (conf_ses_name_ok(v) && strlen(v) <= 64) {
            str_copy(cs, v, cslen);
            o->config_set = cs;
        } else
            log_warning(m->queue_id,
                        "ignoring invalid X-SES-CONFIGURATION-SET header");
    }
    o->tags = tags_new();
    if (o->tags == NULL)
        return;
    if ((v = conf_str(c->conf, CK_MESSAGE_TAGS)) != NULL &&
        tags_parse(v, ':', &t, err, sizeof(err)) == 0) {
        tags_merge(o->tags, t);
        tags_free(t);
        t = NULL;
    }
    if ((v = spool_header(m->spool, "X-SES-MESSAGE-TAGS", hv, sizeof(hv))) !=
        NULL) {
        if (tags_parse(v, '=', &t, err, sizeof(err)) == 0)
            tags_merge(o->tags, t);
        else
            log_warning(m->queue_id, "ignoring X-SES-MESSAGE-TAGS: %s", err);
        tags_free(t);
    }
    tags_set(o->tags, "mta-host", c->mta_host);
    if (m->queue_id && *m->queue_id) {
        char q[256];
        tags_sanitize_value(m->queue_id, q, sizeof(q));
        tags_set(o->tags, "mta-queue-id", q);
    }
}

/* JSON around the message for SESv2 SendEmail; prefix/suffix malloc'd. */
static int v2_envelope(ses_client_t *c, const ses_message_t *m,
                       const send_opts_t *o, size_t first, size_t n,
                       char **prefix, char **suffix)
{
    json_t *root = json_object(), *to = json_array(), *tags = json_array();
    char *dump = NULL, *mark;
    const char *v;
    int rc = -1;

    if (!root || !to || !tags)
        goto out;
    if (m->sender && *m->sender)
        json_object_set_new(root, "FromEmailAddress", json_string(m->sender));
    if ((v = conf_str(c->conf, CK_FROM_ARN)) != NULL)
        json_object_set_new(root, "FromEmailAddressIdentityArn",
                            json_string(v));
    if ((v = conf_str(c->conf, CK_FEEDBACK_FORWARDING)) != NULL)
        json_object_set_new(root, "FeedbackForwardingEmailAddress",
                            json_string(v));
    for (size_t i = first; i < first + n; i++)
        json_array_append_new(to, json_string(m->rcpts[i]));
    json_object_set_new(root, "Destination",
                        json_pack("{s:o}", "ToAddresses", json_incref(to)));
    if (o->config_set)
        json_object_set_new(root, "ConfigurationSetName",
                            json_string(o->config_set));
    for (size_t i = 0; i < tags_count(o->tags); i++)
        json_array_append_new(tags, json_pack("{s:s,s:s}", "Name",
                                              tags_name(o->tags, i), "Value",
                                              tags_value(o->tags, i)));
    if (json_array_size(tags))
        json_object_set(root, "EmailTags", tags);
    json_object_set_new(root, "Content",
                        json_pack("{s:{s:s}}", "Raw", "Data", RAW_MARKER));
    if ((dump = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
        goto out;
    /* Content is last, so the marker's last occurrence is the one. */
    mark = NULL;
    for (char *p = dump; (p = strstr(p, "\"" RAW_MARKER "\"")) != NULL; p++)
        mark = p;
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

/* One signed request; fills message_id on success. */
static status_t send_once(ses_client_t *c, const ses_message_t *m, body_t *body,
                          const char *payload_hash, long long length,
                          char *message_id, size_t idlen, char *detail,
                          size_t dlen)
{
    aws_creds_t cr;
    sigv4_result_t sig;
    sigv4_header_t sh[1] = {{"content-type", "application/json"}};
    char path[600], url[1200], h_date[64], h_auth[1600], h_tok[4200],
        h_host[300], err[256], code[128], msg[512];
    http_request_t req;
    http_response_t resp;
    http_body_reader_t rd = {body_read, body_rewind, body, length};
    status_t st;

    if ((st = creds_get(c->creds, c->http, &cr, err, sizeof(err))) != ST_OK) {
        str_copy(detail, err, dlen);
        return st;
    }
    snprintf(path, sizeof(path), "%s/v2/email/outbound-emails", c->path);
    snprintf(url, sizeof(url), "%s/v2/email/outbound-emails", c->url);
    {
        sigv4_request_t sreq = {"POST", c->host, path,        NULL,
                                sh,     1,       payload_hash};
        sigv4_creds_t sc = {cr.access_key, cr.secret_key,
                            cr.session_token[0] ? cr.session_token : NULL};
        if (sigv4_sign(&sreq, &sc, c->region, "ses", ses_now(), &sig) < 0) {
            creds_wipe(&cr);
            str_copy(detail, "cannot sign the request", dlen);
            return ST_TEMP_RESOURCE;
        }
    }
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    snprintf(h_host, sizeof(h_host), "Host: %s", c->host);
    snprintf(h_date, sizeof(h_date), "X-Amz-Date: %s", sig.amz_date);
    snprintf(h_auth, sizeof(h_auth), "Authorization: %s", sig.authorization);
    req.headers[req.nheaders++] = h_host;
    req.headers[req.nheaders++] = "Content-Type: application/json";
    req.headers[req.nheaders++] = h_date;
    req.headers[req.nheaders++] = h_auth;
    if (cr.session_token[0]) {
        snprintf(h_tok, sizeof(h_tok), "X-Amz-Security-Token: %s",
                 cr.session_token);
        req.headers[req.nheaders++] = h_tok;
    }
    req.reader = &rd;
    req.max_response = 64 * 1024;
    creds_wipe(&cr);

    http_response_init(&resp);
    st = http_perform(c->http, &req, &resp);
    secure_zero(h_auth, sizeof(h_auth));
    secure_zero(h_tok, sizeof(h_tok));
    if (st != ST_OK) {
        snprintf(detail, dlen, "%s: %s", status_info(st)->text, resp.error);
        goto out;
    }
    if (resp.code == 200) {
        json_t *j = json_loadb(resp.body.data ? resp.body.data : "",
                               resp.body.len, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "MessageId"));
        if (id && *id && strlen(id) < idlen) {
            str_copy(message_id, id, idlen);
            st = ST_OK;
        } else {
            snprintf(detail, dlen, "SES answered 200 without a MessageId");
            st = ST_TEMP_PROTOCOL;
        }
        json_decref(j);
        goto out;
    }
    parse_error(&resp, code, sizeof(code), msg, sizeof(msg));
    st = ses_classify_error(resp.code, code, msg);
    snprintf(detail, dlen, "SES %ld %s%s%s", resp.code,
             code[0] ? code : "error", msg[0] ? ": " : "", msg);
out:
    http_response_free(&resp);
    return st;
}

static unsigned long jitter(unsigned long max_ms)
{
    unsigned int r = 0;

    if (max_ms == 0)
        return 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (unsigned int)random();
    return r % (max_ms + 1);
}

/* Sends one batch with retries inside RetryTime. */
static status_t send_batch(ses_client_t *c, const ses_message_t *m,
                           const send_opts_t *o, size_t first, size_t n,
                           char *message_id, size_t idlen, char *detail,
                           size_t dlen)
{
    char *prefix = NULL, *suffix = NULL, hash[65];
    body_t *body = calloc(1, sizeof(*body));
    long long length;
    int64_t deadline = clock_mono_ms() + conf_int(c->conf, CK_RETRY_TIME);
    unsigned long backoff = 200;
    status_t st = ST_TEMP_RESOURCE;
    int attempt = 0;

    if (body == NULL || v2_envelope(c, m, o, first, n, &prefix, &suffix) < 0) {
        str_copy(detail, "cannot build the SES request", dlen);
        goto out;
    }
    body->spool = m->spool;
    body->prefix = prefix;
    body->plen = strlen(prefix);
    body->suffix = suffix;
    body->slen = strlen(suffix);
    if (body_hash(body, hash, &length) < 0) {
        str_copy(detail, "cannot read the spooled message", dlen);
        goto out;
    }
    for (;;) {
        int64_t left;
        attempt++;
        st = send_once(c, m, body, hash, length, message_id, idlen, detail,
                       dlen);
        if (st == ST_OK || !status_info(st)->retry)
            break;
        left = deadline - clock_mono_ms();
        if (left <= 0)
            break;
        {
            unsigned long wait = jitter(backoff);
            if ((int64_t)wait > left)
                wait = (unsigned long)left;
            log_info(m->queue_id, "SES attempt %d: %s; retrying in %lu ms",
                     attempt, detail, wait);
            usleep((useconds_t)wait * 1000);
        }
        if (backoff < 10000)
            backoff *= 2;
        body_rewind(body);
    }
out:
    free(prefix);
    free(suffix);
    free(body);
    return st;
}

status_t ses_send(ses_client_t *c, const ses_message_t *m,
                  ses_result_t *results)
{
    size_t per = (size_t)conf_int(c->conf, CK_API_ADDRESS_LIMIT);
    status_t first_bad = ST_OK;
    send_opts_t o;
    char cs[80];

    memset(results, 0, m->nrcpts * sizeof(*results));
    if (m->nrcpts == 0)
        return ST_OK;
    message_options(c, m, cs, sizeof(cs), &o);
    if (o.tags == NULL) {
        for (size_t i = 0; i < m->nrcpts; i++)
            results[i].status = ST_TEMP_RESOURCE;
        return ST_TEMP_RESOURCE;
    }
    for (size_t first = 0; first < m->nrcpts; first += per) {
        size_t n = m->nrcpts - first < per ? m->nrcpts - first : per;
        char id[128] = "", detail[256] = "";
        status_t st = send_batch(c, m, &o, first, n, id, sizeof(id), detail,
                                 sizeof(detail));
        for (size_t i = first; i < first + n; i++) {
            results[i].status = st;
            str_copy(results[i].message_id, id, sizeof(results[i].message_id));
            str_copy(results[i].detail, detail, sizeof(results[i].detail));
        }
        if (st != ST_OK && first_bad == ST_OK)
            first_bad = st;
    }
    tags_free(o.tags);
    return first_bad;
}
