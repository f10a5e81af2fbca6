/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_aws.h - one signed call to an AWS service, retried and classified
 *
 * Every AWS API the package talks to goes through aws_call(): SES (v2
 * REST-JSON and v1 query), the SESv2 suppression list, SQS (JSON 1.0
 * protocol with X-Amz-Target), STS. The module signs with SigV4 using the
 * shared credentials provider (SigV4a when the service has a region
 * set), sends on the caller's per-thread http_t,
 * parses AWS error answers of every protocol, classifies them through
 * answer_classify() (ses_answer.h) - the only function in the package that
 * reads AWS error codes - and retries retryable statuses with full-jitter
 * exponential backoff until the service's retry budget is spent.
 *
 * An aws_service_t is immutable once made: one per (service, region,
 * endpoint), shared by all threads of a process. Example, SQS:
 *
 *   aws_service_config_t cfg = {.name = "SQS", .signing_name = "sqs",
 *                               .region = "eu-west-1",
 *                               .endpoint =
 * "https://sqs.eu-west-1.amazonaws.com", .creds = creds, .retry_time_ms =
 * 10000}; aws_service_t *sqs = aws_service_new(&cfg, err, sizeof(err));
 *   aws_request_t rq = {.method = "POST", .path = "/",
 *                       .content_type = "application/x-amz-json-1.0",
 *                       .target = "AmazonSQS.ReceiveMessage",
 *                       .body = json, .body_len = strlen(json),
 *                       .timeout_ms = 30000};
 *   aws_response_t resp;
 *   aws_response_init(&resp);
 *   status_t st = aws_call(sqs, http, &rq, &resp);
 *   ... resp.body holds the answer (2xx) or the error document ...
 *   aws_response_free(&resp);
 *
 * SESv2 suppression list: signing_name "ses", endpoint
 * https://email.REGION.amazonaws.com, e.g. method "GET", path
 * "/v2/email/suppression/addresses", query "PageSize=100&NextToken=..."
 * (already percent-encoded: use aws_query_add()); "PUT" with a JSON body;
 * "DELETE" with path ".../addresses/" + aws_uri_encode(address).
 *
 * Retries: a status whose status_info()->retry is true (throttling, 5xx,
 * timeouts, resets, DNS, TLS, unparseable answers) is retried after a
 * random wait in [0, min(20 s, 250 ms * 2^(attempt-1))] as long as the wait
 * ends before start + retry_time_ms; otherwise the last status is
 * returned. An answer saying the signature or credentials are wrong makes
 * the credentials provider forget its cache; the call is repeated once at
 * once when fresh credentials differ from the ones refused. Each attempt
 * first takes `cost` tokens from the optional rate limiter (waiting for
 * at most max(retry budget, 10 s)).
 *
 * Statuses the operator must hear about (status_info()->loud: paused
 * sending, missing configuration set, refused credentials, ...) are logged
 * once per call at LOG_ERR with the queue id, unless the request says its
 * caller logs them (ses-relay, whose breakers log once per interval);
 * retries at LOG_INFO.
 *
 * A request may carry a deadline (monotonic ms): no attempt starts unless
 * its whole Timeout fits before it, and rate-limit waits end before it, so
 * a caller with a time limit of its own (an LMTP transaction) keeps it.
 *
 * DIAGNOSTICS
 *   aws_call() returns ST_OK for a 2xx answer, else the classified status;
 *   resp->detail is one line for logs and DSNs ("SES 400 MessageRejected:
 *   Email address is not verified."), with the AWS error code and message
 *   also in resp->error_code / resp->error_message and the HTTP code in
 *   resp->http_code (0 when no answer came). No secret - key, token,
 *   signature - is ever part of them. Callers that expect a particular
 *   error (e.g. NotFoundException on a DELETE) test resp->error_code.
 *   aws_service_new() returns NULL with a reason in err for a bad endpoint.
 */
#ifndef SES_AWS_H
#define SES_AWS_H

#include "ses_answer.h"
#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_http.h"
#include "ses_ratelimit.h"
#include "ses_status.h"
#include "ses_util.h"

#include <stddef.h>
#include <time.h>

#define AWS_MAX_EXTRA_HEADERS 4

typedef struct aws_service aws_service_t;
struct aws_response;

typedef struct {
    const char *name;         /* for diagnostics: "SES", "SQS", "STS" */
    const char *signing_name; /* SigV4 service: "ses", "sqs", "sts" */
    const char *region;       /* e.g. "eu-west-1" */
    const char *endpoint;     /* https://host[:port][/prefix]; http:// only
                                 to loopback */
    creds_provider_t *creds;  /* NULL: requests go unsigned */
    long long retry_time_ms;  /* retry budget; 0: a single attempt */
    ratelimit_t *rate;        /* NULL: no pacing */
    const char *region_set;   /* non-NULL: sign with SigV4a for these
                                 regions ("*": all), e.g. for the SESv2
                                 global endpoint; NULL: SigV4 in region */
} aws_service_config_t;

typedef struct {
    const char *method;       /* GET, POST, PUT, DELETE */
    const char *path;         /* below the endpoint's path, percent-encoded,
                                 starting with '/' */
    const char *query;        /* percent-encoded, without '?'; NULL: none */
    const char *content_type; /* NULL when there is no body */
    const char *target;       /* X-Amz-Target (JSON 1.0/1.1 protocols) */
    const char *headers[AWS_MAX_EXTRA_HEADERS]; /* more "Name: value"
                                                   headers, signed */
    const void *body;                           /* a body in memory, or */
    size_t body_len;                            /*   (body_len bytes) */
    const http_body_reader_t *reader; /* a streamed body (must rewind) */
    const char *payload_sha256;       /* hex SHA-256 of the streamed body;
                                         NULL: read it once to hash it */
    size_t max_response;              /* 0: HTTP_DEFAULT_MAX_RESPONSE */
    long timeout_ms;                  /* 0: the http_t's Timeout */
    double cost;                      /* rate-limit tokens; 0 means 1 */
    const char *qid;                  /* queue id for log lines, or NULL */
    /* Optional: called after each failed attempt; true stops the retries
     * there (e.g. to fail over to another region instead). */
    bool (*give_up)(void *ctx, status_t st, const struct aws_response *resp);
    void *give_up_ctx;
    bool caller_logs;                 /* loud statuses: the caller logs */
    int64_t deadline_ms;              /* clock_mono_ms() limit; 0: none */
} aws_request_t;

typedef struct aws_response {
    long http_code;          /* 0 when no HTTP answer arrived */
    buf_t body;              /* the answer: result or error document */
    char error_code[128];    /* AWS error code, "" on success */
    char error_message[512]; /* AWS error message */
    char request_id[128];
    char detail[512]; /* one line for logs and diagnostics */
    int attempts;     /* requests sent (or tried) */
    bool ambiguous;   /* the last attempt failed after the whole request
                         was sent (timeout, reset): it may have been acted
                         on */
    answer_t answer;  /* the classification of the last error answer */
} aws_response_t;

aws_service_t *aws_service_new(const aws_service_config_t *cfg, char *err,
                               size_t errlen);
void aws_service_free(aws_service_t *s); /* NULL is fine */
const char *aws_service_url(const aws_service_t *s);

void aws_response_init(aws_response_t *r);
void aws_response_free(aws_response_t *r); /* NULL is fine */

status_t aws_call(const aws_service_t *s, http_t *http, const aws_request_t *rq,
                  aws_response_t *resp);

/* Fills code/message from an error answer: x-amzn-ErrorType header, JSON
 * "__type"/"code" and "message"/"Message", or a query-protocol XML
 * <ErrorResponse><Error><Code>..<Message>... */
void aws_parse_error(const char *error_type_header, const char *body,
                     size_t len, char *code, size_t codelen, char *msg,
                     size_t msglen);

/* The text of the first <tag>...</tag> in an XML document, entities
 * decoded, into out. Returns 1 when found (and it fits), else 0. */
int aws_xml_text(const char *xml, size_t len, const char *tag, char *out,
                 size_t outlen);

/* Appends "name=value" (both RFC 3986-encoded) to a query string or form
 * body, with '&' when b is not empty. Returns 0 or -1 when b is full. */
int aws_query_add(buf_t *b, const char *name, const char *value);

/* RFC 3986 encoding of s (unreserved characters kept) into out. */
int aws_uri_encode(const char *s, char *out, size_t outlen);

/* Region: the Region key, else AWS_REGION, AWS_DEFAULT_REGION, else
 * "us-east-1". */
void aws_region(const conf_t *conf, char *out, size_t outlen);

/* "https://PREFIX.REGION.amazonaws.com" (amazonaws.com.cn in China). */
void aws_default_endpoint(const char *prefix, const char *region, char *out,
                          size_t outlen);

/* Test hook: a fixed signing clock (0 restores the real one). */
void aws_set_clock(time_t fixed);

#endif
