/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sqs.c - the feedback queue: Amazon SQS ReceiveMessage/DeleteMessage
 *
 * sqs_new() splits the queue URL into an endpoint (scheme and host, for
 * the aws module) and a path; sqs_receive() and sqs_delete() build the
 * JSON requests with jansson and parse the answers.
 *
 * DIAGNOSTICS
 *   See ses_sqs.h.
 */
#include "config.h"

#include "ses_aws.h"
#include "ses_jsonlimit.h"
#include "ses_sqs.h"
#include "ses_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQS_MAX_RESPONSE (16 * 1024 * 1024) /* 10 x 256 KB, with room */

struct sqs {
    aws_service_t *aws;
    char *url;  /* the queue URL, as configured */
    char *path; /* its path, e.g. /123456789012/ses-feedback */
};

/* The region in sqs.REGION.amazonaws.com[.cn] or REGION.queue.amazonaws.com
 * (the legacy form); 0 when the host names none. */
static int url_region(const char *host, char *out, size_t outlen)
{
    const char *p, *end;

    if (str_has_prefix(host, "sqs.") &&
        (end = strstr(host, ".amazonaws.com"))) {
        p = host + 4;
    } else if ((end = strstr(host, ".queue.amazonaws.com")) != NULL) {
        p = host;
    } else {
        return 0;
    }
    if (end <= p || (size_t)(end - p) >= outlen)
        return 0;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(out);
}

sqs_t *sqs_new(const conf_t *conf, creds_provider_t *creds,
               const char *queue_url, char *err, size_t errlen)
{
    char host[256], path[1024], query[8], region[64], endpoint[512];
    aws_service_config_t cfg;
    const char *scheme_end;
    sqs_t *q;

    if (queue_url == NULL || *queue_url == '\0') {
        snprintf(err, errlen, "FeedbackQueueUrl is not set");
        return NULL;
    }
    if (http_url_split(queue_url, host, sizeof(host), path, sizeof(path), query,
                       sizeof(query)) < 0 ||
        strlen(path) < 2 || query[0] ||
        (scheme_end = strstr(queue_url, "://")) == NULL) {
        snprintf(err, errlen,
                 "FeedbackQueueUrl \"%s\" is not https://HOST/ACCOUNT/NAME",
                 queue_url);
        return NULL;
    }
    if (!url_region(host, region, sizeof(region)))
        aws_region(conf, region, sizeof(region));
    snprintf(endpoint, sizeof(endpoint), "%.*s%s",
             (int)(scheme_end + 3 - queue_url), queue_url, host);
    if ((q = calloc(1, sizeof(*q))) == NULL ||
        (q->url = strdup(queue_url)) == NULL ||
        (q->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    cfg = (aws_service_config_t){"SQS",    "sqs", region,
                                 endpoint, creds, conf_int(conf, CK_RETRY_TIME),
                                 NULL,     NULL};
    if ((q->aws = aws_service_new(&cfg, err, errlen)) == NULL)
        goto fail;
    return q;
fail:
    sqs_free(q);
    return NULL;
}

void sqs_free(sqs_t *q)
{
    if (q == NULL)
        return;
    aws_service_free(q->aws);
    free(q->url);
    free(q->path);
    free(q);
}

/* A 2xx answer's body as a JSON object into *answer. */
static status_t answer_load(const char *action, const char *data, size_t len,
                            json_t **answer, char *err, size_t errlen)
{
    char why[160];

    if ((*answer = jsonlimit_load(data ? data : "{}", data ? len : 2, 0,
                                  SQS_MAX_RESPONSE, why, sizeof(why))) ==
            NULL ||
        !json_is_object(*answer)) {
        if (*answer)
            snprintf(why, sizeof(why), "not a JSON object");
        json_decref(*answer);
        *answer = NULL;
        snprintf(err, errlen, "SQS %s: answer does not parse: %s", action, why);
        return ST_TEMP_PROTOCOL;
    }
    return ST_OK;
}

/* One JSON call to the queue; *answer gets the parsed 2xx body. */
static status_t call(sqs_t *q, http_t *http, const char *action, json_t *req,
                     long timeout_ms, json_t **answer, char *err, size_t errlen)
{
    char target[64];
    aws_request_t rq;
    aws_response_t resp;
    status_t st;
    char *body;

    *answer = NULL;
    json_object_set_new(req, "QueueUrl", json_string(q->url));
    if ((body = json_dumps(req, JSON_COMPACT)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return ST_TEMP_RESOURCE;
    }
    snprintf(target, sizeof(target), "AmazonSQS.%s", action);
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.path = q->path;
    rq.content_type = "application/x-amz-json-1.0";
    rq.target = target;
    rq.body = body;
    rq.body_len = strlen(body);
    rq.max_response = SQS_MAX_RESPONSE;
    rq.timeout_ms = timeout_ms;
    aws_response_init(&resp);
    st = aws_call(q->aws, http, &rq, &resp);
    free(body);
    if (st != ST_OK)
        snprintf(err, errlen, "%s", resp.detail);
    else
        st = answer_load(action, resp.body.data, resp.body.len, answer, err,
                         errlen);
    aws_response_free(&resp);
    return st;
}

static int md5_matches(const char *body, size_t len, const char *md5hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    if (md5hex == NULL)
        return 1;
    if (EVP_Digest(body, len, md, &mdlen, EVP_md5(), NULL) != 1)
        return 0;
    hex_encode(md, mdlen, hex);
    return strcasecmp(hex, md5hex) == 0;
}

static status_t receive_messages(json_t *answer, sqs_message_t *msgs, size_t *n,
                                 char *err, size_t errlen);

status_t sqs_receive(sqs_t *q, http_t *http, int wait_s, sqs_message_t *msgs,
                     size_t *n, char *err, size_t errlen)
{
    json_t *req, *answer = NULL;
    status_t st;

    *n = 0;
    if (wait_s < 0 || wait_s > 20)
        wait_s = 20;
    req = json_pack("{s:i, s:i, s:[s], s:[s]}", "MaxNumberOfMessages",
                    SQS_MAX_MESSAGES, "WaitTimeSeconds", wait_s,
                    "AttributeNames", "ApproximateReceiveCount",
                    "MessageSystemAttributeNames", "ApproximateReceiveCount");
    if (req == NULL) {
        snprintf(err, errlen, "out of memory");
        return ST_TEMP_RESOURCE;
    }
    st = call(q, http, "ReceiveMessage", req, (wait_s + 15) * 1000L, &answer,
              err, errlen);
    json_decref(req);
    if (st != ST_OK)
        return st;
    st = receive_messages(answer, msgs, n, err, errlen);
    json_decref(answer);
    return st;
}

status_t sqs_receive_parse(const char *body, size_t len, sqs_message_t *msgs,
                           size_t *n, char *err, size_t errlen)
{
    json_t *answer;
    status_t st;

    *n = 0;
    if ((st = answer_load("ReceiveMessage", body, len, &answer, err, errlen)) !=
        ST_OK)
        return st;
    st = receive_messages(answer, msgs, n, err, errlen);
    json_decref(answer);
    return st;
}

/* The Messages of a ReceiveMessage answer into msgs. */
static status_t receive_messages(json_t *answer, sqs_message_t *msgs, size_t *n,
                                 char *err, size_t errlen)
{
    json_t *list = json_object_get(answer, "Messages");
    status_t st = ST_OK;
    size_t i;

    if (list != NULL && !json_is_array(list)) {
        snprintf(err, errlen, "SQS ReceiveMessage: Messages is not a list");
        st = ST_TEMP_PROTOCOL;
        goto out;
    }
    for (i = 0; list && i < json_array_size(list) && *n < SQS_MAX_MESSAGES;
         i++) {
        json_t *m = json_array_get(list, i), *attrs;
        const char *id = json_string_value(json_object_get(m, "MessageId"));
        const char *rh = json_string_value(json_object_get(m, "ReceiptHandle"));
        json_t *body = json_object_get(m, "Body");
        sqs_message_t *o = &msgs[*n];
        if (id == NULL || rh == NULL || !json_is_string(body))
            continue; /* nothing we could delete or read: let it redrive */
        memset(o, 0, sizeof(*o));
        o->message_id = strdup(id);
        o->receipt_handle = strdup(rh);
        o->body_len = json_string_length(body);
        o->body = malloc(o->body_len + 1);
        if (!o->message_id || !o->receipt_handle || !o->body) {
            sqs_message_clear(o);
            snprintf(err, errlen, "out of memory");
            st = ST_TEMP_RESOURCE;
            goto out;
        }
        memcpy(o->body, json_string_value(body), o->body_len + 1);
        o->md5_ok =
            md5_matches(o->body, o->body_len,
                        json_string_value(json_object_get(m, "MD5OfBody")));
        attrs = json_object_get(m, "Attributes");
        if (json_is_object(attrs)) {
            const char *c = json_string_value(
                json_object_get(attrs, "ApproximateReceiveCount"));
            o->receive_count = c ? atoi(c) : 0;
        }
        (*n)++;
    }
out:
    return st;
}

void sqs_message_clear(sqs_message_t *m)
{
    if (m == NULL)
        return;
    free(m->message_id);
    free(m->receipt_handle);
    free(m->body);
    memset(m, 0, sizeof(*m));
}

status_t sqs_delete(sqs_t *q, http_t *http, const char *receipt_handle,
                    char *err, size_t errlen)
{
    json_t *req = json_pack("{s:s}", "ReceiptHandle", receipt_handle);
    json_t *answer = NULL;
    status_t st;

    if (req == NULL) {
        snprintf(err, errlen, "out of memory");
        return ST_TEMP_RESOURCE;
    }
    st = call(q, http, "DeleteMessage", req, 0, &answer, err, errlen);
    json_decref(req);
    json_decref(answer);
    return st;
}
